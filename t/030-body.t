# The signature covers the exact raw bytes however nginx holds them, and
# the upstream receives the identical body.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;

repeat_each(1);
no_shuffle();
no_long_string();

our $small = '{"action":"opened","n":1}';
our $four_k = '{"pad":"' . ('x' x 4000) . '"}';
our $four_k2 = "$four_k\n";
our $big = '{"rows":[' . join(",", map { qq({"id":$_,"sku":"SKU-$_"}) } 1 .. 9000) . ']}';
our $big2 = "$big\n";

# A raw HTTP/1.1 request: the signature headers, then the body as chunks
# of the given sizes (or with Content-Length when no sizes are given).
sub raw {
    my ($uri, $headers, $body, @sizes) = @_;
    (my $h = $headers) =~ s/\n/\r\n/g;
    my $req = "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n$h";
    return $req . "Content-Length: " . length($body) . "\r\n\r\n$body"
        unless @sizes;
    $req .= "Transfer-Encoding: chunked\r\n\r\n";
    my $off = 0;
    while ($off < length $body) {
        my $n = shift(@sizes) // length($body) - $off;
        my $chunk = substr($body, $off, $n);
        $req .= sprintf("%x\r\n%s\r\n", length $chunk, $chunk);
        $off += length $chunk;
    }
    return $req . "0\r\n\r\n";
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", "webhook_zone webhook:1m;");
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'CONF');
    client_body_buffer_size 8k;
    location /hook {
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    # the upstream checks the same signature again over what it received
    location = /up {
        webhook_verify github; webhook_secret s;
        webhook_replay off; webhook_label upstream;
        add_header X-Up-Result $webhook_result always;
        add_header X-Up-Sha256 $webhook_body_sha256 always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
CONF
    }

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: small body in one buffer
--- request eval
Webhook::post("/hook", $::small)
--- more_headers eval
Webhook::github("s", $::small)
--- response_headers eval
"X-Up-Result: pass\nX-Up-Sha256: " . Webhook::sha256_of($::small)
--- response_body
stored



=== TEST 2: body across two memory buffers (preread + body buffer)
--- request eval
Webhook::post("/hook", $::four_k)
--- more_headers eval
Webhook::github("s", $::four_k)
--- response_headers eval
"X-Up-Result: pass\nX-Up-Sha256: " . Webhook::sha256_of($::four_k)
--- response_body
stored



=== TEST 3: body spilled to a temporary file
--- request eval
Webhook::post("/hook", $::big)
--- more_headers eval
Webhook::github("s", $::big)
--- response_headers eval
"X-Up-Result: pass\nX-Up-Sha256: " . Webhook::sha256_of($::big)
--- response_body
stored
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



=== TEST 4: chunked transfer encoding, several chunks
--- raw_request eval
::raw("/hook", Webhook::github("s", $::four_k2), $::four_k2, 1, 100, 999, 7)
--- response_headers eval
"X-Up-Result: pass\nX-Up-Sha256: " . Webhook::sha256_of($::four_k2)
--- response_body
stored



=== TEST 5: chunked and spilled to a temporary file
--- raw_request eval
::raw("/hook", Webhook::github("s", $::big2), $::big2, 5000, 3, 70000)
--- response_headers eval
"X-Up-Result: pass\nX-Up-Sha256: " . Webhook::sha256_of($::big2)
--- response_body
stored



=== TEST 6: client_body_in_file_only: the body is only in the file
--- config
    location /hook {
        client_body_in_file_only clean;
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        webhook_verify github; webhook_secret s;
        webhook_replay off; webhook_label upstream;
        add_header X-Up-Sha256 $webhook_body_sha256 always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- request eval
Webhook::post("/hook", $::small . "file-only")
--- more_headers eval
Webhook::github("s", $::small . "file-only")
--- response_headers eval
"X-Up-Sha256: " . Webhook::sha256_of($::small . "file-only")
--- response_body
stored



=== TEST 7: empty body, signed as empty
--- request eval
"POST /hook\n"
--- more_headers eval
Webhook::github("s", "") . "Content-Length: 0\n"
--- response_body
stored



=== TEST 8: one byte changed anywhere in a spilled body fails
--- request eval
my $b = $::big; substr($b, 60000, 1) = "#"; Webhook::post("/hook", $b)
--- more_headers eval
Webhook::github("s", $::big)
--- error_code: 401
--- response_body eval
qq({"error":"invalid_signature","message":"Invalid signature"}\r\n)
--- error_log
webhook rejected: invalid_signature



=== TEST 9: chunked body past client_max_body_size: 413 JSON
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- raw_request eval
::raw("/hook", Webhook::github("s", "y" x 300), "y" x 300, 300)
--- error_code: 413
--- response_body eval
qq({"error":"body_too_large","message":"Request body too large"}\r\n)
--- error_log
webhook rejected: body_too_large (body exceeds client_max_body_size)



=== TEST 10: a stale timestamp is refused before the body is read (no 413)
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify slack; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- raw_request eval
::raw("/hook", Webhook::slack("s", "y" x 300, t => $Webhook::NOW - 3600), "y" x 300, 300)
--- error_code: 401
--- response_body eval
qq({"error":"stale_timestamp","message":"Timestamp outside the tolerance window"}\r\n)
--- error_log
webhook rejected: stale_timestamp



=== TEST 11: Content-Length past client_max_body_size: the module's 413 JSON, nothing upstream
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- request eval
Webhook::post("/hook", "z" x 300)
--- more_headers eval
Webhook::github("s", "z" x 300)
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body eval
qq({"error":"body_too_large","message":"Request body too large"}\r\n)
--- error_log eval
qr/\[error\] .*webhook rejected: body_too_large \(body exceeds client_max_body_size\), label "github"/



=== TEST 12: Content-Length past client_max_body_size from a denied address: 403 first
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify github; webhook_secret s;
        webhook_allow 10.0.0.0/8;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- request eval
Webhook::post("/hook", "z" x 300)
--- more_headers eval
Webhook::github("s", "z" x 300)
--- error_code: 403
--- response_body eval
qq({"error":"ip_denied","message":"IP not allowed"}\r\n)
--- error_log
webhook rejected: ip_denied



=== TEST 13: Content-Length past client_max_body_size without a signature: 400 first
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- request eval
Webhook::post("/hook", "z" x 300)
--- error_code: 400
--- response_body eval
qq({"error":"missing_signature","message":"Signature header is missing"}\r\n)
--- error_log
client intended to send too large body
webhook rejected: missing_signature



=== TEST 14: Content-Length past client_max_body_size, stale timestamp: 401 first
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify slack; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- request eval
Webhook::post("/hook", "y" x 300)
--- more_headers eval
Webhook::slack("s", "y" x 300, t => $Webhook::NOW - 3600)
--- error_code: 401
--- response_body eval
qq({"error":"stale_timestamp","message":"Timestamp outside the tolerance window"}\r\n)
--- error_log
webhook rejected: stale_timestamp



=== TEST 15: a chunked body that grows past the limit while nginx waits for it: 413 JSON
--- config
    location /hook {
        client_max_body_size 100;
        webhook_verify github; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    location = /final { return 200 "stored\n"; }
--- raw_request eval
my $h = Webhook::github("s", "y" x 300); $h =~ s/\n/\r\n/g;
["POST /hook HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n$h"
   . "Transfer-Encoding: chunked\r\n\r\n" . sprintf("%x\r\n%s\r\n", 60, "y" x 60),
 sprintf("%x\r\n%s\r\n", 240, "y" x 240) . "0\r\n\r\n"]
--- raw_request_middle_delay: 0.1
--- error_code: 413
--- response_body eval
qq({"error":"body_too_large","message":"Request body too large"}\r\n)
--- error_log
webhook rejected: body_too_large

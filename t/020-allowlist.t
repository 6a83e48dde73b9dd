# webhook_allow: IPv4, IPv6, IPv4-mapped, file: and env: lists, realip.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use File::Temp qw(tempfile);

repeat_each(1);
no_shuffle();
no_long_string();

our $body = '{"zen":"Keep it logically awesome."}';
our $sig = Webhook::github("s", $body);

my ($fh, $file) = tempfile("webhook-allow-XXXXXX", TMPDIR => 1, UNLINK => 1);
print $fh "# Salesforce egress ranges\n203.0.113.0/24\n\n198.51.100.7, 127.0.0.1\n";
close $fh;
$ENV{TEST_NGINX_ALLOW_FILE} = $file;
$ENV{TEST_NGINX_ALLOW_ENV} = "192.0.2.1,127.0.0.0/8,2001:db8::/32";
$ENV{TEST_NGINX_DENY_ENV} = "192.0.2.1, 198.51.100.0/24";

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: loopback allowed by address
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 127.0.0.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- response_body
upstream got it



=== TEST 2: not in the list: 403 before anything else is looked at
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 10.0.0.0/8 192.0.2.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body eval
qq({"error":"ip_denied","message":"IP not allowed"}\r\n)
--- error_log eval
qr/\[error\] .*webhook rejected: ip_denied \(IP not allowed\), label "github", client: 127\.0\.0\.1/



=== TEST 3: denied before the body is read: no wait for a body never sent
--- config
    lingering_timeout 100ms;
    location /hook {
        webhook_verify github; webhook_secret s;
        webhook_allow 10.0.0.0/8;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- raw_request eval
"POST /hook HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 1000000\r
\r
only the first bytes"
--- error_code: 403
--- timeout: 2
--- error_log
webhook rejected: ip_denied



=== TEST 4: IPv6 client through realip, in the allowed prefix
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 2001:db8::/32;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: 2001:db8::5\n"
--- response_body
upstream got it



=== TEST 5: IPv6 client outside the prefix, address from realip in the log
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 2001:db8::/32;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: 2001:db9::1\n"
--- error_code: 403
--- error_log
client: 2001:db9::1



=== TEST 6: IPv4-mapped IPv6 client matches the IPv4 rule
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 10.1.0.0/16;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: ::ffff:10.1.2.3\n"
--- response_body
upstream got it



=== TEST 7: IPv4-mapped client outside the IPv4 rule
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 10.1.0.0/16;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: ::ffff:10.2.0.1\n"
--- error_code: 403
--- error_log
webhook rejected: ip_denied



=== TEST 8: list from a file (comments, blank lines, commas)
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow file:$TEST_NGINX_ALLOW_FILE;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- response_body
upstream got it



=== TEST 9: CSV list from the environment (SF_WEBHOOK_IP_ALLOWLIST style)
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow env:TEST_NGINX_ALLOW_ENV;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- response_body
upstream got it



=== TEST 10: environment list that leaves the client out
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow env:TEST_NGINX_DENY_ENV;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- error_code: 403
--- error_log
webhook rejected: ip_denied



=== TEST 11: "all" beside other rules lets anyone through
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 10.0.0.0/8;
        webhook_allow all;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- response_body
upstream got it



=== TEST 12: allowed address still needs a valid signature
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow 127.0.0.0/8;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body . " ")
--- more_headers eval
$::sig . Webhook::content_length($::body . " ")
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 13: satisfy any cannot skip verification
--- config
    location /hook {
        satisfy any;
        allow 127.0.0.1;
        webhook_verify github; webhook_secret s; webhook_replay off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", "tampered")
--- more_headers eval
$::sig
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 14: a rule written IPv4-mapped matches the IPv4 client it names
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow ::ffff:127.0.0.0/104;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig
--- response_body
upstream got it



=== TEST 15: a rule written IPv4-mapped matches a mapped client inside it
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow ::ffff:10.1.0.0/112;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: ::ffff:10.1.2.3\n"
--- response_body
upstream got it



=== TEST 16: a rule written IPv4-mapped refuses a mapped client outside it
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow ::ffff:10.1.0.0/112;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: ::ffff:10.2.0.1\n"
--- error_code: 403
--- error_log
webhook rejected: ip_denied



=== TEST 17: ::/0 takes IPv4-mapped clients too
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_allow ::/0;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
$::sig . "X-Forwarded-For: ::ffff:192.0.2.7\n"
--- response_body
upstream got it

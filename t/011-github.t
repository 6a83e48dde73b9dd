# GitHub: "X-Hub-Signature-256: sha256=<hex>" over the raw body; the prefix
# is required; X-GitHub-Delivery is not signed and plays no part (the
# replay key is the matched MAC).

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "gh-secret-one";
our $S2 = "gh-secret-two";
our $BODY = '{"action":"opened","number":7,"repository":{"full_name":"acme/portal"}}';
our $BIG = '{"commits":[' . join(",", map { qq({"id":"$_","message":"commit number $_"}) } 1 .. 700) . ']}';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify github;
        webhook_secret gh-secret-one;
        webhook_secret gh-secret-two;
        client_body_buffer_size 1k;
        client_max_body_size 1m;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid signature passes; no signed id, no timestamp
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::github($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: github
X-Webhook-Secret-Index: 0
!X-Webhook-Id
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BODY)



=== TEST 2: the second secret passes with index 1
--- request eval
Webhook::post("/hook", "[" . $::BODY . "]")
--- more_headers eval
Webhook::github($::S2, "[" . $::BODY . "]")
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Secret-Index: 1



=== TEST 3: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/opened/closed/r)
--- more_headers eval
Webhook::github($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- response_headers
X-Webhook-Result: fail
X-Webhook-Reason: invalid_signature
Content-Type: application/json
--- error_log eval
Webhook::rejected_log("invalid_signature", "github")



=== TEST 4: a secret the location does not list
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::github("not-our-secret", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "github")



=== TEST 5: no signature header
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "github")



=== TEST 6: only the legacy SHA-1 header is not enough
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Hub-Signature: sha1=" . Digest::SHA::hmac_sha1_hex($::BODY, $::S1) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "github")



=== TEST 7: the right hex without the sha256= prefix
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Hub-Signature-256: " . Webhook::hex_sha256($::S1, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 8: a sha1= prefix on the SHA-256 header
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Hub-Signature-256: sha1=" . Webhook::hex_sha256($::S1, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 9: a signature of 40 hex digits (a SHA-1 length)
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Hub-Signature-256: sha256=" . Digest::SHA::hmac_sha1_hex($::BODY, $::S1) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 10: the sha256= prefix and nothing after it
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
X-Hub-Signature-256: sha256=
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 11: the same delivery twice is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":11}"), Webhook::post("/hook", "{\"n\":11}")]
--- more_headers eval
my $h = Webhook::github($::S1, "{\"n\":11}");
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 12: a new X-GitHub-Delivery does not make a captured request new
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":12}"), Webhook::post("/hook", "{\"n\":12}")]
--- more_headers eval
my $sig = "X-Hub-Signature-256: sha256=" . Webhook::hex_sha256($::S1, "{\"n\":12}") . "\n";
[$sig . "X-GitHub-Delivery: d-1\n", $sig . "X-GitHub-Delivery: d-2\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 13: the same MAC in upper-case hex is the same delivery
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":120}"), Webhook::post("/hook", "{\"n\":120}")]
--- more_headers eval
["X-Hub-Signature-256: sha256=" . Webhook::hex_sha256($::S1, "{\"n\":120}") . "\n",
 "X-Hub-Signature-256: sha256=" . uc(Webhook::hex_sha256($::S1, "{\"n\":120}")) . "\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 14: a body spilled to a temp file (larger than client_body_buffer_size)
--- request eval
Webhook::post("/hook", $::BIG)
--- more_headers eval
Webhook::github($::S1, $::BIG)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BIG)



=== TEST 15: a temp-file body with one byte changed at the end
--- request eval
Webhook::post("/hook", substr($::BIG, 0, -1) . "]")
--- more_headers eval
Webhook::github($::S1, $::BIG)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "github")



=== TEST 16: a chunked body in small pieces
--- raw_request eval
Webhook::raw_chunked("POST", "/hook", Webhook::github($::S1, $::BODY . " chunked"), $::BODY . " chunked", 7)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BODY . " chunked")



=== TEST 17: a chunked body larger than the buffer
--- raw_request eval
Webhook::raw_chunked("POST", "/hook", Webhook::github($::S1, $::BIG . " "), $::BIG . " ", 3000)
--- response_body
upstream got it



=== TEST 18: an empty body with its signature
--- raw_request eval
Webhook::raw("POST", "/hook", Webhook::github($::S1, ""), "")
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Body-Sha256: " . Webhook::sha256_of("")



=== TEST 19: a body over client_max_body_size is 413 body_too_large
--- config
    location = /hook {
        webhook_verify github;
        webhook_secret gh-secret-one;
        client_max_body_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::BIG)
--- more_headers eval
Webhook::github($::S1, $::BIG)
--- error_code: 413
--- response_body_unlike: upstream got it
--- error_log
client intended to send too large body

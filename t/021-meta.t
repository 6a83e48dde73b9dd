# Meta (Facebook, Instagram, WhatsApp): "X-Hub-Signature-256: sha256=<hex>"
# over the raw body with the app secret (replay key: the MAC); with
# webhook_verify_token, the subscription handshake
# GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C is answered
# at the edge with exactly C, and never reaches the upstream.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

$ENV{TEST_NGINX_WEBHOOK_META_TOKEN} = "token-from-the-environment";

our $SECRET = "meta-app-secret";
our $BODY = '{"object":"page","entry":[{"id":"1234","time":1700000000,"messaging":[{"sender":{"id":"5678"},"message":{"mid":"m_1","text":"hello"}}]}]}';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /status { webhook_status; }

    location = /unconfigured {
        webhook_verify meta;
        webhook_secret meta-app-secret;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /env {
        webhook_verify meta;
        webhook_secret meta-app-secret;
        webhook_verify_token env:TEST_NGINX_WEBHOOK_META_TOKEN;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /hook {
        webhook_verify meta;
        webhook_secret meta-app-secret;
        webhook_verify_token "my verify token";
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a signed event passes; no id, the MAC is the replay key
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::meta($::SECRET, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: meta
X-Webhook-Secret-Index: 0
!X-Webhook-Id
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BODY)



=== TEST 2: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/hello/HELLO/r)
--- more_headers eval
Webhook::meta($::SECRET, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "meta")



=== TEST 3: signed with another app's secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::meta("another-app", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "meta")



=== TEST 4: an unsigned POST
--- request eval
Webhook::post("/hook", $::BODY)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "meta")



=== TEST 5: the legacy sha1 header alone is not enough
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Hub-Signature: sha1=" . Digest::SHA::hmac_sha1_hex($::BODY, $::SECRET) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "meta")



=== TEST 6: the same event twice is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":6}"), Webhook::post("/hook", "{\"n\":6}")]
--- more_headers eval
my $h = Webhook::meta($::SECRET, "{\"n\":6}");
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 7: the handshake with the right token: exactly the challenge, text/plain, at the edge
--- request
GET /hook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=my+verify+token
--- response_body eval
"1158201444"
--- response_headers
Content-Type: text/plain
Content-Length: 10
X-Content-Type-Options: nosniff
X-Webhook-Result: setup
X-Webhook-Reason: handshake
--- error_log
webhook: setup handshake answered at the edge (Meta hub.challenge), label "meta"
--- no_error_log
[error]



=== TEST 8: the token percent-encoded, the challenge byte for byte after decoding
--- request
GET /hook?hub.verify_token=my%20verify%20token&hub.challenge=a%21b~C_9-.&hub.mode=subscribe
--- response_body eval
"a!b~C_9-."
--- no_error_log
[error]



=== TEST 9: a wrong verify token is 403 invalid_verify_token
--- request
GET /hook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess
--- error_code: 403
--- response_body eval
Webhook::error_body("invalid_verify_token")
--- response_body_unlike: 1158201444
--- error_log eval
[Webhook::rejected_log("invalid_verify_token", "meta"),
 qr/hub\.verify_token differs from webhook_verify_token/]



=== TEST 10: no verify token at all is 403
--- request
GET /hook?hub.mode=subscribe&hub.challenge=1158201444
--- error_code: 403
--- response_body eval
Webhook::error_body("invalid_verify_token")
--- error_log eval
Webhook::rejected_log("invalid_verify_token", "meta")



=== TEST 11: the right token but hub.mode is not subscribe
--- request
GET /hook?hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=my+verify+token
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- error_log eval
Webhook::rejected_log("invalid_challenge", "meta")



=== TEST 12: a challenge with a newline in it is not echoed
--- request
GET /hook?hub.mode=subscribe&hub.challenge=abc%0d%0aSet-Cookie:x=1&hub.verify_token=my+verify+token
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- error_log eval
Webhook::rejected_log("invalid_challenge", "meta")



=== TEST 13: a challenge of 257 bytes is too long
--- request eval
"GET /hook?hub.mode=subscribe&hub.verify_token=my+verify+token&hub.challenge=" . ("7" x 257)
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- error_log eval
Webhook::rejected_log("invalid_challenge", "meta")



=== TEST 14: a challenge of 256 bytes is answered
--- request eval
"GET /hook?hub.mode=subscribe&hub.verify_token=my+verify+token&hub.challenge=" . ("7" x 256)
--- response_body eval
"7" x 256



=== TEST 15: no challenge
--- request
GET /hook?hub.mode=subscribe&hub.verify_token=my+verify+token
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- error_log eval
Webhook::rejected_log("invalid_challenge", "meta")



=== TEST 16: HEAD gets the headers of the answer and no body
--- request
HEAD /hook?hub.mode=subscribe&hub.challenge=42&hub.verify_token=my+verify+token
--- response_headers
Content-Type: text/plain
Content-Length: 2
--- response_body eval
""



=== TEST 17: the token from env:
--- request
GET /env?hub.mode=subscribe&hub.challenge=99&hub.verify_token=token-from-the-environment
--- response_body eval
"99"



=== TEST 18: env: token, wrong value
--- request
GET /env?hub.mode=subscribe&hub.challenge=99&hub.verify_token=TEST_NGINX_WEBHOOK_META_TOKEN
--- error_code: 403
--- response_body eval
Webhook::error_body("invalid_verify_token")
--- error_log eval
Webhook::rejected_log("invalid_verify_token", "meta")



=== TEST 19: without webhook_verify_token the GET is an unsigned request like any other
--- request
GET /unconfigured?hub.mode=subscribe&hub.challenge=99&hub.verify_token=x
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "meta")



=== TEST 20: handshakes and rejections are counted
--- pipelined_requests eval
["GET /hook?hub.mode=subscribe&hub.challenge=7&hub.verify_token=my+verify+token",
 "GET /hook?hub.mode=subscribe&hub.challenge=7&hub.verify_token=nope",
 "GET /status"]
--- error_code eval
[200, 403, 200]
--- response_body_like eval
["^7\$", "invalid_verify_token",
 qr/"meta":\{"passed":0,.*"invalid_verify_token":1,"invalid_challenge":0,"setup_refused":0,"missing_token":0,"invalid_token":0,"handshake":1,/]
--- no_error_log
[alert]
[crit]

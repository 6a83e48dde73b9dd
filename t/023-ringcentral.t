# RingCentral signs nothing. Creating a subscription sends Validation-Token,
# which the edge echoes in a 200 (RingCentral allows 3 s) without asking
# the upstream; every notification must carry Verification-Token equal to
# webhook_verify_token (compared in constant time), else 401 invalid_token.
# The replay key is the body's "uuid".

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $VT = "rc-verification-token-7f3a";
our $BODY = '{"uuid":"5794186355105264737","event":"/restapi/v1.0/account/~/extension/~/message-store","timestamp":"2024-05-20T10:00:00.000Z","subscriptionId":"6a6a4b08-9e7c-4f4d-b0e4-8f8a2b4c1d2e","body":{"extensionId":11112222,"changes":[{"type":"SMS","newCount":1}]}}';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify ringcentral;
        webhook_verify_token rc-verification-token-7f3a;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: the subscription's validation request is answered at the edge
--- raw_request eval
Webhook::raw("POST", "/hook", "Validation-Token: 9f4b3c2a-1d2e-4f5a-8b7c-6d5e4f3a2b1c\nContent-Type: application/json", "")
--- error_code: 200
--- response_headers
Validation-Token: 9f4b3c2a-1d2e-4f5a-8b7c-6d5e4f3a2b1c
Content-Length: 0
X-Webhook-Result: setup
--- response_body_unlike: upstream got it
--- error_log
webhook: setup handshake answered at the edge (RingCentral Validation-Token), label "ringcentral"
--- no_error_log
[error]



=== TEST 2: a validation request with a body is still answered at the edge
--- request eval
Webhook::post("/hook", '{"not":"forwarded"}')
--- more_headers
Validation-Token: abc123
--- response_headers
Validation-Token: abc123
--- response_body eval
""



=== TEST 3: a Validation-Token that is too long is not echoed
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Validation-Token: " . ("v" x 300) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- response_headers
!Validation-Token
--- error_log eval
Webhook::rejected_log("invalid_challenge", "ringcentral")



=== TEST 4: two Validation-Token headers
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
Validation-Token: a
Validation-Token: b
--- error_code: 400
--- response_body eval
Webhook::error_body("invalid_challenge")
--- error_log eval
Webhook::rejected_log("invalid_challenge", "ringcentral")



=== TEST 5: a notification with the right Verification-Token passes; the uuid is its id
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Verification-Token: $::VT\n"
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Provider: ringcentral
X-Webhook-Id: 5794186355105264737
X-Webhook-Secret-Index: 0



=== TEST 6: a wrong Verification-Token
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Verification-Token: " . $::VT . "x\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_token")
--- error_log eval
[Webhook::rejected_log("invalid_token", "ringcentral"),
 qr/Verification-Token differs from webhook_verify_token/]



=== TEST 7: no Verification-Token
--- request eval
Webhook::post("/hook", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_token")
--- error_log eval
Webhook::rejected_log("invalid_token", "ringcentral")



=== TEST 8: a prefix of the token is not the token
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Verification-Token: " . substr($::VT, 0, 10) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_token")
--- error_log eval
Webhook::rejected_log("invalid_token", "ringcentral")



=== TEST 9: a body without uuid
--- request eval
Webhook::post("/hook", '{"event":"/restapi/v1.0/account/~/extension/~/presence"}')
--- more_headers eval
"Verification-Token: $::VT\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
[Webhook::rejected_log("missing_fields", "ringcentral"), qr/body has no uuid/]



=== TEST 10: a uuid with a newline in it (it would go into headers)
--- request eval
Webhook::post("/hook", '{"uuid":"a\r\nX-Injected: 1"}')
--- more_headers eval
"Verification-Token: $::VT\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "ringcentral")



=== TEST 11: the same uuid twice is a replay
--- pipelined_requests eval
[Webhook::post("/hook", '{"uuid":"u-11","event":"x"}'),
 Webhook::post("/hook", '{"uuid":"u-11","event":"y"}')]
--- more_headers eval
["Verification-Token: $::VT\n", "Verification-Token: $::VT\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]

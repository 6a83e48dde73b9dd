# Slack: "X-Slack-Signature: v0=<hex>" over "v0:{ts}:{body}" with
# X-Slack-Request-Timestamp required; 300 s both ways; the replay key is the
# matched MAC, so a body re-signed with a new timestamp is new.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "slack-signing-secret-1";
our $BODY = 'token=xyz&team_id=T1&command=%2Fdeploy&text=portal+now';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify slack;
        webhook_secret slack-signing-secret-0;
        webhook_secret slack-signing-secret-1;
        webhook_label slack-cmd;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid request passes
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n" . Webhook::slack($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: slack
X-Webhook-Secret-Index: 1
X-Webhook-Timestamp: $Webhook::NOW
!X-Webhook-Id"



=== TEST 2: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/now/later/r)
--- more_headers eval
Webhook::slack($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "slack-cmd")



=== TEST 3: the timestamp header changed after signing
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Request-Timestamp: " . ($Webhook::NOW - 1) . "\nX-Slack-Signature: v0="
. Webhook::hex_sha256($::S1, "v0:$Webhook::NOW:$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "slack-cmd")



=== TEST 4: signed the Stripe way ("{ts}.{body}") instead of "v0:{ts}:{body}"
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Request-Timestamp: $Webhook::NOW\nX-Slack-Signature: v0="
. Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "slack-cmd")



=== TEST 5: a wrong secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::slack("8f742231b10e8888abcd99yyyzzz85a5", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "slack-cmd")



=== TEST 6: no X-Slack-Signature
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Request-Timestamp: $Webhook::NOW\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "slack-cmd")



=== TEST 7: no X-Slack-Request-Timestamp
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Signature: v0=" . Webhook::hex_sha256($::S1, "v0:$Webhook::NOW:$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_timestamp")
--- error_log eval
Webhook::rejected_log("missing_timestamp", "slack-cmd")



=== TEST 8: the signature without its v0= prefix
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Request-Timestamp: $Webhook::NOW\nX-Slack-Signature: "
. Webhook::hex_sha256($::S1, "v0:$Webhook::NOW:$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "slack-cmd")



=== TEST 9: a v1= prefix
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Slack-Request-Timestamp: $Webhook::NOW\nX-Slack-Signature: v1="
. Webhook::hex_sha256($::S1, "v0:$Webhook::NOW:$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "slack-cmd")



=== TEST 10: a timestamp six minutes old
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::slack($::S1, $::BODY, t => $Webhook::NOW - 360)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "slack-cmd")



=== TEST 11: a timestamp six minutes ahead
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::slack($::S1, $::BODY, t => $Webhook::NOW + 360)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "slack-cmd")



=== TEST 12: a timestamp that is not a number
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::slack($::S1, $::BODY, t => "yesterday")
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack-cmd")



=== TEST 13: a timestamp with a fraction
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::slack($::S1, $::BODY, t => "$Webhook::NOW.5")
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack-cmd")



=== TEST 14: the same request twice is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "text=14"), Webhook::post("/hook", "text=14")]
--- more_headers eval
my $h = Webhook::slack($::S1, "text=14");
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 15: the same body re-signed with a new timestamp is not a replay
--- pipelined_requests eval
[Webhook::post("/hook", "text=15"), Webhook::post("/hook", "text=15")]
--- more_headers eval
[Webhook::slack($::S1, "text=15", t => $Webhook::NOW - 2),
 Webhook::slack($::S1, "text=15", t => $Webhook::NOW - 1)]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]

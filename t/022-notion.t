# Notion: "X-Notion-Signature: sha256=<hex>", HMAC-SHA256 of the raw body
# keyed with the verification token (webhook_secret). Notion's first POST
# is unsigned and carries {"verification_token":"..."}: refused 403
# setup_refused, unless "webhook_notion_setup on" lets exactly that shape
# through to the upstream so the operator can read the token.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
our $BODY = '{"id":"367cba44-b6f3-4c92-81e7-6a2e9659efd4","timestamp":"2024-12-05T23:57:05.379Z","workspace_id":"13950b26-c203-4f3b-b97d-93ec06319565","type":"page.created","entity":{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"}}';
our $SETUP = qq({"verification_token":"$TOKEN"});

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /setup {
        webhook_verify notion;
        webhook_secret secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl;
        webhook_notion_setup on;
        add_header X-Webhook-Result $webhook_result always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /hook {
        webhook_verify notion;
        webhook_secret secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a signed event passes
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::notion($::TOKEN, $::BODY)
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Provider: notion
X-Webhook-Secret-Index: 0



=== TEST 2: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/page.created/page.deleted/r)
--- more_headers eval
Webhook::notion($::TOKEN, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "notion")



=== TEST 3: the hex without the sha256= prefix
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Notion-Signature: " . Webhook::hex_sha256($::TOKEN, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "notion")



=== TEST 4: the unsigned verification request is refused without webhook_notion_setup
--- request eval
Webhook::post("/hook", $::SETUP)
--- error_code: 403
--- response_body eval
Webhook::error_body("setup_refused")
--- response_body_unlike: upstream got it
--- error_log eval
[Webhook::rejected_log("setup_refused", "notion"),
 qr/Notion verification request; webhook_notion_setup is off/]



=== TEST 5: with webhook_notion_setup on it reaches the upstream, marked setup
--- request eval
Webhook::post("/setup", $::SETUP)
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: setup
--- error_log
webhook: Notion verification request passed to the upstream (webhook_notion_setup on), label "notion"
--- no_error_log
[error]



=== TEST 6: webhook_notion_setup passes that shape only: another key beside it
--- request eval
Webhook::post("/setup", qq({"verification_token":"$::TOKEN","type":"page.created"}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "notion")



=== TEST 7: the token not a string
--- request eval
Webhook::post("/setup", q({"verification_token":12345}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "notion")



=== TEST 8: the token with a control character
--- request eval
Webhook::post("/setup", q({"verification_token":"secret_\n"}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "notion")



=== TEST 9: an unsigned event is missing_signature, also where setup is on
--- request eval
Webhook::post("/setup", $::BODY)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "notion")



=== TEST 10: the verification shape sent chunked is not let through
--- raw_request eval
Webhook::raw_chunked("POST", "/setup", "", $::SETUP, 10)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "notion")



=== TEST 11: a signed event twice is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":11}"), Webhook::post("/hook", "{\"n\":11}")]
--- more_headers eval
my $h = Webhook::notion($::TOKEN, "{\"n\":11}");
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]

# The providers' published examples verify byte for byte. Their timestamps
# are years old, so the timestamped ones run under a clock frozen just after
# each example was made: Debian's libfaketime preloaded into nginx alone,
# its date set per block by "env FAKETIME=<unix time>" in main_config
# (FAKETIME_FMT=%s; FAKETIME_NO_CACHE makes nginx see the value it sets from
# its config; FAKETIME_DONT_FAKE_MONOTONIC keeps its timers running; nginx
# restarts for each block, as the real Test::Nginx does by default and
# t/compat does when the configuration changes). Under the default
# tolerance each example passes 2 s after its timestamp and is stale 301 s
# after it (or before it). Stripe and Shopify publish no complete example.

use lib 't/lib';
use Webhook;
# Both runners start nginx with LD_PRELOAD as it was when Test::Nginx was
# loaded (the real one puts that value back before every start), so it is
# set in a BEGIN block before the "use"; perl has started already: nginx
# (and what the runner spawns) loads the library, this process keeps the
# real clock.
BEGIN { $ENV{LD_PRELOAD} = Webhook::faketime_library() }
use Test::Nginx::Socket 'no_plan';

$ENV{FAKETIME_FMT} = '%s';
$ENV{FAKETIME_NO_CACHE} = 1;
$ENV{FAKETIME_DONT_FAKE_MONOTONIC} = 1;
env_to_nginx('FAKETIME_FMT', 'FAKETIME_NO_CACHE',
             'FAKETIME_DONT_FAKE_MONOTONIC');

# nginx's clock for a block: "--- main_config eval" then ::clock($ts + 2)
sub clock { "env FAKETIME=$_[0];\n" }

repeat_each(1);
no_shuffle();
no_long_string();

# GitHub: docs.github.com, "Validating webhook deliveries"
our $GH_SECRET = "It's a Secret to Everybody";
our $GH_BODY = "Hello, World!";
our $GH_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

# Standard Webhooks / Svix: the specification's and Svix's docs example
our $STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
our $STD_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
our $STD_TS = 1614265330;
our $STD_BODY = '{"test": 2432232314}';
our $STD_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

# Slack: api.slack.com, "Verifying requests from Slack"
our $SL_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
our $SL_TS = 1531420618;
our $SL_BODY = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
our $SL_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

our $GH_HEADERS = "X-Hub-Signature-256: $GH_SIG\n";
our $STD_HEADERS = "webhook-id: $STD_ID\nwebhook-timestamp: $STD_TS\nwebhook-signature: $STD_SIG\n";
our $SVIX_HEADERS = "svix-id: $STD_ID\nsvix-timestamp: $STD_TS\nsvix-signature: $STD_SIG\n";
our $SL_HEADERS = "Content-Type: application/x-www-form-urlencoded\n"
                  . "X-Slack-Request-Timestamp: $SL_TS\nX-Slack-Signature: $SL_SIG\n";

# The signing helper reproduces each published signature.
like(Webhook::github($GH_SECRET, $GH_BODY), qr/^X-Hub-Signature-256: \Q$GH_SIG\E\n/,
     "Webhook::github reproduces GitHub's example");
like(Webhook::standard($STD_SECRET, $STD_BODY, id => $STD_ID, t => $STD_TS),
     qr/^webhook-signature: \Q$STD_SIG\E$/m,
     "Webhook::standard reproduces the Standard Webhooks example");
like(Webhook::slack($SL_SECRET, $SL_BODY, t => $SL_TS),
     qr/^X-Slack-Signature: \Q$SL_SIG\E$/m, "Webhook::slack reproduces Slack's example");

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::UPSTREAM,
    location = /github {
        webhook_verify github;
        webhook_secret "It's a Secret to Everybody";
        webhook_replay off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /standard {
        webhook_verify standard;
        webhook_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        webhook_replay off;
        add_header X-Webhook-Id $webhook_id always;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        add_header X-Webhook-Time $webhook_time always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /slack {
        webhook_verify slack;
        webhook_secret 8f742231b10e8888abcd99yyyzzz85a5;
        webhook_replay off;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        add_header X-Webhook-Time $webhook_time always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: GitHub's example verifies
--- request eval
Webhook::post("/github", $::GH_BODY)
--- more_headers eval
$::GH_HEADERS
--- response_body
upstream got it



=== TEST 2: GitHub's example with the comma dropped fails
--- request eval
Webhook::post("/github", "Hello World!")
--- more_headers eval
$::GH_HEADERS
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "github")



=== TEST 3: the Standard Webhooks example verifies 2 s after its timestamp
--- main_config eval
::clock($::STD_TS + 2)
--- request eval
Webhook::post("/standard", $::STD_BODY)
--- more_headers eval
$::STD_HEADERS
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Id: $::STD_ID
X-Webhook-Timestamp: $::STD_TS
X-Webhook-Time: " . ($::STD_TS + 2)



=== TEST 4: the same example under Svix's header names
--- main_config eval
::clock($::STD_TS + 2)
--- request eval
Webhook::post("/standard", $::STD_BODY)
--- more_headers eval
$::SVIX_HEADERS
--- response_body
upstream got it



=== TEST 5: the Standard Webhooks example with another id fails
--- main_config eval
::clock($::STD_TS + 2)
--- request eval
Webhook::post("/standard", $::STD_BODY)
--- more_headers eval
$::STD_HEADERS =~ s/msg_p5j/msg_p6j/r
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "standard")



=== TEST 6: the Standard Webhooks example is stale 301 s after its timestamp
--- main_config eval
::clock($::STD_TS + 301)
--- request eval
Webhook::post("/standard", $::STD_BODY)
--- more_headers eval
$::STD_HEADERS
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "standard")



=== TEST 7: ...and 301 s before it
--- main_config eval
::clock($::STD_TS - 301)
--- request eval
Webhook::post("/standard", $::STD_BODY)
--- more_headers eval
$::STD_HEADERS
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "standard")



=== TEST 8: Slack's example verifies 2 s after its timestamp
--- main_config eval
::clock($::SL_TS + 2)
--- request eval
Webhook::post("/slack", $::SL_BODY)
--- more_headers eval
$::SL_HEADERS
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $::SL_TS
X-Webhook-Time: " . ($::SL_TS + 2)



=== TEST 9: Slack's example with one byte changed fails
--- main_config eval
::clock($::SL_TS + 2)
--- request eval
Webhook::post("/slack", $::SL_BODY =~ s/roadrunner/roadrunnef/r)
--- more_headers eval
$::SL_HEADERS
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "slack")



=== TEST 10: Slack's example is stale 301 s after its timestamp
--- main_config eval
::clock($::SL_TS + 301)
--- request eval
Webhook::post("/slack", $::SL_BODY)
--- more_headers eval
$::SL_HEADERS
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "slack")

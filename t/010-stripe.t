# Stripe: "Stripe-Signature: t=..,v1=..", HMAC-SHA256 hex over "{t}.{body}",
# the key is the whole whsec_ string; any v1 may match; v0 and unknown keys
# are ignored; tolerance both ways; replay key is the matched MAC.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

$ENV{TEST_NGINX_WEBHOOK_STRIPE_SECRET} = "whsec_from_the_environment";

our $S1 = "whsec_stripe_test_secret_one";
our $S2 = "whsec_stripe_test_secret_two";
our $BODY = '{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":1999}}}';

# The default tolerance in its other two spellings, each in a location under
# a server-wide 10s: a 240 s old t passes only where the location's own
# value took effect, a 310 s old one shows that value is 300 s.
our $TOLERANCE_CONFIG = <<'CONF' . $Webhook::UPSTREAM;
    webhook_tolerance 10s;

    location = /tolerance-ms {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        webhook_tolerance 300000ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    location = /tolerance-min {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        webhook_tolerance 5m;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        webhook_secret whsec_stripe_test_secret_two;
        webhook_label stripe-in;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid signature passes and reaches the upstream
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: stripe
X-Webhook-Secret-Index: 0
X-Webhook-Timestamp: $Webhook::NOW
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BODY)



=== TEST 2: the second secret (rotation) passes, index 1
--- request eval
Webhook::post("/hook", "[" . $::BODY . "]")
--- more_headers eval
Webhook::stripe($::S2, "[" . $::BODY . "]")
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Secret-Index: 1



=== TEST 3: any v1 may match: a wrong v1 first, the right one second
--- request eval
Webhook::post("/hook", "{\"n\":3}")
--- more_headers eval
Webhook::stripe($::S1, "{\"n\":3}", extra_v1 => ["v1=" . ("ab" x 32)])
--- response_body
upstream got it
--- response_headers_like
X-Webhook-Result: pass
X-Webhook-Time: 1[0-9]{9}



=== TEST 4: the right v1 first, a wrong one after it
--- request eval
Webhook::post("/hook", "{\"n\":4}")
--- more_headers eval
my $h = Webhook::stripe($::S1, "{\"n\":4}");
$h =~ s/\n\z//;
"$h,v1=" . ("cd" x 32) . "\n"
--- response_body
upstream got it



=== TEST 5: v0 and unknown keys are ignored
--- request eval
Webhook::post("/hook", "{\"n\":5}")
--- more_headers eval
my $sig = Webhook::hex_sha256($::S1, "$Webhook::NOW.{\"n\":5}");
"Stripe-Signature: foo=bar,t=$Webhook::NOW,v0=" . ("00" x 32) . ",v1=$sig,scheme=x\n"
--- response_body
upstream got it



=== TEST 6: a tampered body is an invalid signature
--- request eval
Webhook::post("/hook", '{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":1}}}')
--- more_headers eval
Webhook::stripe($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- response_headers
X-Webhook-Result: fail
X-Webhook-Reason: invalid_signature
X-Webhook-Provider: stripe
Content-Type: application/json
--- error_log eval
Webhook::rejected_log("invalid_signature", "stripe-in")



=== TEST 7: a secret the location does not list
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe("whsec_someone_else", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "stripe-in")
--- no_error_log eval
[qr/\[(?!debug)\w+\].*whsec_/,
 qr/\[(?!debug)\w+\].*\Q@{[Webhook::hex_sha256("whsec_someone_else", "$Webhook::NOW.$::BODY")]}\E/,
 qr/\[(?!debug)\w+\].*\Q@{[Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY")]}\E/]



=== TEST 8: the key is the whole whsec_ string, not what follows the prefix
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe("stripe_test_secret_one", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "stripe-in")



=== TEST 9: the timestamp is signed: a changed t fails
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
my $sig = Webhook::hex_sha256($::S1, ($Webhook::NOW - 1) . ".$::BODY");
"Stripe-Signature: t=$Webhook::NOW,v1=$sig\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "stripe-in")



=== TEST 10: no Stripe-Signature header
--- request eval
Webhook::post("/hook", $::BODY)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- response_headers
X-Webhook-Reason: missing_signature
Content-Type: application/json
--- error_log eval
Webhook::rejected_log("missing_signature", "stripe-in")



=== TEST 11: a header with t and v0 but no v1
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Stripe-Signature: t=$Webhook::NOW,v0=" . Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe-in")



=== TEST 12: a header with v1 but no t
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Stripe-Signature: v1=" . Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_timestamp")
--- error_log eval
Webhook::rejected_log("missing_timestamp", "stripe-in")



=== TEST 13: a v1 of 63 hex digits
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Stripe-Signature: t=$Webhook::NOW,v1=" . substr(Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY"), 1) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe-in")



=== TEST 14: a v1 of 64 characters that are not all hex
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Stripe-Signature: t=$Webhook::NOW,v1=" . ("zz" x 32) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe-in")



=== TEST 15: a valid v1 next to a v1 that is not hex passes (as Stripe's SDKs decide)
--- request eval
Webhook::post("/hook", $::BODY . " 15")
--- more_headers eval
Webhook::stripe($::S1, $::BODY . " 15", extra_v1 => ["v1=abc", "v1=" . ("zz" x 32)])
--- response_body
upstream got it



=== TEST 16: two t keys
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
my $sig = Webhook::hex_sha256($::S1, "$Webhook::NOW.$::BODY");
"Stripe-Signature: t=$Webhook::NOW,t=$Webhook::NOW,v1=$sig\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe-in")



=== TEST 17: a correctly signed t older than the tolerance
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe($::S1, $::BODY, t => $Webhook::NOW - 400)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- response_headers
X-Webhook-Result: fail
X-Webhook-Reason: stale_timestamp
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe-in")



=== TEST 18: a correctly signed t too far in the future
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe($::S1, $::BODY, t => $Webhook::NOW + 400)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe-in")



=== TEST 19: a t inside the window (4 minutes old, 4 minutes ahead) passes
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":19}"), Webhook::post("/hook", "{\"n\":19}")]
--- more_headers eval
[Webhook::stripe($::S1, "{\"n\":19}", t => $Webhook::NOW - 240),
 Webhook::stripe($::S1, "{\"n\":19}", t => $Webhook::NOW + 240)]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]



=== TEST 20: a t with non-digits is malformed, not stale
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Stripe-Signature: t=12a4,v1=" . Webhook::hex_sha256($::S1, "12a4.$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "stripe-in")



=== TEST 21: a t in milliseconds is not accepted (unix seconds only)
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe($::S1, $::BODY, t => $Webhook::NOW * 1000)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "stripe-in")



=== TEST 22: the same request twice: the second is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":22}"), Webhook::post("/hook", "{\"n\":22}")]
--- more_headers eval
my $h = Webhook::stripe($::S1, "{\"n\":22}");
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 23: a captured header with a bogus v1 put in front is still a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":220}"), Webhook::post("/hook", "{\"n\":220}")]
--- more_headers eval
[Webhook::stripe($::S1, "{\"n\":220}"),
 Webhook::stripe($::S1, "{\"n\":220}", extra_v1 => ["v1=" . ("ef" x 32)])]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 24: the same body re-signed with a new t is not a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":23}"), Webhook::post("/hook", "{\"n\":23}")]
--- more_headers eval
[Webhook::stripe($::S1, "{\"n\":23}", t => $Webhook::NOW - 5),
 Webhook::stripe($::S1, "{\"n\":23}", t => $Webhook::NOW - 4)]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]



=== TEST 25: header names are case-insensitive
--- raw_request eval
my $v = Webhook::stripe($::S1, "{\"n\":24}") =~ s/^Stripe-Signature: (.*)\n$/$1/r;
Webhook::raw("POST", "/hook", "sTRIPE-sIGNATURE: $v", "{\"n\":24}")
--- response_body
upstream got it



=== TEST 26: a chunked body in 5-byte pieces
--- raw_request eval
Webhook::raw_chunked("POST", "/hook", Webhook::stripe($::S1, "[[" . $::BODY . "]]"), "[[" . $::BODY . "]]", 5)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Body-Sha256: " . Webhook::sha256_of("[[" . $::BODY . "]]")



=== TEST 27: a tighter tolerance (10s) rejects a 60 s old t
--- config
    location = /hook {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        webhook_tolerance 10s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::stripe($::S1, $::BODY, t => $Webhook::NOW - 60)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe")



=== TEST 28: webhook_tolerance 300000ms: a 240 s old t passes (60 s of slack for a slow start, valgrind)
--- config eval
$::TOLERANCE_CONFIG
--- request eval
Webhook::post("/tolerance-ms", "{\"n\":\"ms-290\"}")
--- more_headers eval
Webhook::stripe($::S1, "{\"n\":\"ms-290\"}", t => time() - 240)
--- response_body
upstream got it



=== TEST 29: webhook_tolerance 300000ms: a 310 s old t is stale
--- config eval
$::TOLERANCE_CONFIG
--- request eval
Webhook::post("/tolerance-ms", "{\"n\":\"ms-310\"}")
--- more_headers eval
Webhook::stripe($::S1, "{\"n\":\"ms-310\"}", t => time() - 310)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe")



=== TEST 30: webhook_tolerance 5m: a 240 s old t passes (60 s of slack for a slow start, valgrind)
--- config eval
$::TOLERANCE_CONFIG
--- request eval
Webhook::post("/tolerance-min", "{\"n\":\"m-290\"}")
--- more_headers eval
Webhook::stripe($::S1, "{\"n\":\"m-290\"}", t => time() - 240)
--- response_body
upstream got it



=== TEST 31: webhook_tolerance 5m: a 310 s old t is stale
--- config eval
$::TOLERANCE_CONFIG
--- request eval
Webhook::post("/tolerance-min", "{\"n\":\"m-310\"}")
--- more_headers eval
Webhook::stripe($::S1, "{\"n\":\"m-310\"}", t => time() - 310)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe")



=== TEST 32: per-tenant secrets through a map (a secret with variables)
--- http_config
    webhook_zone webhook:1m;
    map $http_x_tenant $stripe_tenant_secret {
        acme   whsec_acme_secret;
        globex whsec_globex_secret;
    }
--- config
    location = /hook {
        webhook_verify stripe;
        webhook_secret $stripe_tenant_secret;
        add_header X-Webhook-Result $webhook_result always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":25}"), Webhook::post("/hook", "{\"n\":25}")]
--- more_headers eval
["X-Tenant: globex\n" . Webhook::stripe("whsec_globex_secret", "{\"n\":25}"),
 "X-Tenant: acme\n" . Webhook::stripe("whsec_globex_secret", "{\"n\":25}", t => $Webhook::NOW - 1)]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("invalid_signature")]
--- no_error_log
[alert]
[crit]



=== TEST 33: webhook_verify off in a nested location lets anything through
--- config
    location /hook {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        location = /hook/open {
            webhook_verify off;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- pipelined_requests eval
[Webhook::post("/hook/open", "{}"), Webhook::post("/hook/closed", "{}")]
--- error_code eval
[200, 400]
--- response_body eval
["upstream got it\n", Webhook::error_body("missing_signature")]
--- no_error_log
[alert]
[crit]



=== TEST 34: a secret from the environment (env:NAME, read at config load)
--- config
    location = /hook {
        webhook_verify stripe;
        webhook_secret env:TEST_NGINX_WEBHOOK_STRIPE_SECRET;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":28}"), Webhook::post("/hook", "{\"n\":28}")]
--- more_headers eval
[Webhook::stripe("whsec_from_the_environment", "{\"n\":28}"),
 Webhook::stripe("TEST_NGINX_WEBHOOK_STRIPE_SECRET", "{\"n\":28}", t => $Webhook::NOW - 1)]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("invalid_signature")]
--- no_error_log
[alert]
[crit]



=== TEST 35: an upstream failure releases the key: the retry passes, a third copy is a replay
--- config
    location = /hook {
        webhook_verify stripe;
        webhook_secret whsec_stripe_test_secret_one;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        if ($http_x_test_fail) {
            return 500 "upstream failed\n";
        }
        return 200 "upstream got it\n";
    }
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":27}"), Webhook::post("/hook", "{\"n\":27}"),
 Webhook::post("/hook", "{\"n\":27}")]
--- more_headers eval
my $h = Webhook::stripe($::S1, "{\"n\":27}");
["X-Test-Fail: 1\n$h", $h, $h]
--- error_code eval
[500, 200, 401]
--- response_body eval
["upstream failed\n", "upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]

# Malformed input of every kind gets a 400 or 401 JSON rejection: never a
# 500, a crash or a pass, nothing reaches the upstream, and nginx logs no
# [alert] or [crit].

# Blocks share one nginx master, reloaded (HUP) before each block so that
# each block's error.log starts empty: a worker that crashed on a block's
# input shows as the master's [alert] in that block, and TEST 62 checks that
# the master TEST 1 started is still the one answering after all the input.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
master_on();
no_shuffle();
no_long_string();

our $K = "malformed-secret";
our $SW = "whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIG9uZS4uLi4=";
our $B = '{"id":"evt_malformed","n":1}';
our $T = $Webhook::NOW;
our $STRIPE_OK = Webhook::hex_sha256($K, "$T.$B");
our $GH_OK = Webhook::hex_sha256($K, $B);
our $LONG = "a" x 5000;

# the master's pid, read from its pid file by TEST 1 and TEST 62
sub master_pid {
    open my $fh, '<', server_root() . "/logs/nginx.pid" or die "pid file: $!";
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub raw { Webhook::raw("POST", @_) }   # (uri, headers, body, %options)
# a Salesforce request whose body is exactly $body, correctly signed
sub sf {
    my ($body, $nonce) = @_;
    raw("/salesforce", "X-SF-Signature: sha256=" . Webhook::hex_sha256($K, $body)
        . "\nX-SF-Timestamp: $T\nX-SF-Nonce: $nonce\nContent-Type: application/json", $body);
}

my $loc = join "", map { <<"LOC" } qw(stripe github slack shopify woocommerce salesforce whmcs hft71);
    location = /$_ {
        webhook_verify $_;
        webhook_secret malformed-secret;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/up;
    }
LOC

my $defaults = Webhook::defaults(
    http_config  => $Webhook::HTTP_CONFIG,
    no_error_log => "[alert]\n[crit]\n[emerg]",
    config       => $loc . <<'CONF' . $Webhook::UPSTREAM,
    location = /standard {
        webhook_verify standard;
        webhook_secret whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIG9uZS4uLi4=;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: stripe: the control request passes (so the rejections below mean something)
--- init
$::first_master = ::master_pid();
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,v1=$::STRIPE_OK", $::B)
--- response_body
upstream got it
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: stripe: the same valid header twice
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,v1=$::STRIPE_OK\nStripe-Signature: t=$::T,v1=$::STRIPE_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 3: stripe: a valid header and a second, bogus one
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,v1=$::STRIPE_OK\nStripe-Signature: t=1,v1=" . ("0" x 64), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 4: stripe: an empty header
--- raw_request eval
::raw("/stripe", "Stripe-Signature: ", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 5: stripe: keys with empty values
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=,v1=", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 6: stripe: nothing but commas
--- raw_request eval
::raw("/stripe", "Stripe-Signature: ,,,,,", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 7: stripe: t and v0 but no v1
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,v0=$::STRIPE_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 8: stripe: an upper-case V1 key is not v1
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,V1=$::STRIPE_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 9: stripe: a 5000-character v1
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,v1=" . ("ab" x 2500), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 10: stripe: a 5000-character header of junk
--- raw_request eval
::raw("/stripe", "Stripe-Signature: $::LONG", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 11: stripe: a tab inside the header
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=$::T,\tv1=$::STRIPE_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 12: stripe: a timestamp past 64 bits
--- raw_request eval
my $t = "99999999999999999999999";
::raw("/stripe", "Stripe-Signature: t=$t,v1=" . Webhook::hex_sha256($::K, "$t.$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "stripe")



=== TEST 13: stripe: a negative timestamp
--- raw_request eval
my $t = "-$::T";
::raw("/stripe", "Stripe-Signature: t=$t,v1=" . Webhook::hex_sha256($::K, "$t.$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "stripe")



=== TEST 14: stripe: a timestamp with a plus sign
--- raw_request eval
my $t = "+$::T";
::raw("/stripe", "Stripe-Signature: t=$t,v1=" . Webhook::hex_sha256($::K, "$t.$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "stripe")



=== TEST 15: stripe: timestamp zero
--- raw_request eval
::raw("/stripe", "Stripe-Signature: t=0,v1=" . Webhook::hex_sha256($::K, "0.$::B"), $::B)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "stripe")



=== TEST 16: github: a valid MAC of another body
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=$::GH_OK", $::B . " ")
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "github")



=== TEST 17: github: a valid header and a bogus duplicate
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=$::GH_OK\nX-Hub-Signature-256: sha256=" . ("0" x 64), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 18: github: a bogus header and a valid duplicate
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=" . ("0" x 64) . "\nX-Hub-Signature-256: sha256=$::GH_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 19: github: an empty header
--- raw_request eval
::raw("/github", "X-Hub-Signature-256:", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 20: github: 65 hex digits
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=" . $::GH_OK . "0", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 21: github: 64 characters, one not hex
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=" . substr($::GH_OK, 0, 63) . "g", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 22: github: a 5000-character signature
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=" . ("0" x 5000), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 23: github: a tab between prefix and digest
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=\t$::GH_OK", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 24: github: a trailing tab after the digest
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=$::GH_OK\t", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "github")



=== TEST 25: slack: a timestamp past 64 bits
--- raw_request eval
my $t = "9" x 25;
::raw("/slack", "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0:$t:$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 26: slack: a 5000-digit timestamp
--- raw_request eval
my $t = "1" x 5000;
::raw("/slack", "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . ("0" x 64), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 27: slack: a negative timestamp
--- raw_request eval
my $t = "-1";
::raw("/slack", "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0:$t:$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 28: slack: a hexadecimal timestamp
--- raw_request eval
my $t = sprintf "0x%x", $::T;
::raw("/slack", "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0:$t:$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 29: slack: an empty timestamp header
--- raw_request eval
::raw("/slack", "X-Slack-Request-Timestamp:\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0::$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 30: slack: a timestamp with a tab inside
--- raw_request eval
my $t = substr($::T, 0, 5) . "\t" . substr($::T, 5);
::raw("/slack", "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0:$t:$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 31: slack: two timestamp headers
--- raw_request eval
::raw("/slack", "X-Slack-Request-Timestamp: $::T\nX-Slack-Request-Timestamp: $::T\nX-Slack-Signature: v0=" . Webhook::hex_sha256($::K, "v0:$::T:$::B"), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "slack")



=== TEST 32: shopify: base64 padding only
--- raw_request eval
::raw("/shopify", "X-Shopify-Hmac-Sha256: ====", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 33: shopify: one base64 character
--- raw_request eval
::raw("/shopify", "X-Shopify-Hmac-Sha256: a", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 34: shopify: 5000 characters of base64
--- raw_request eval
::raw("/shopify", "X-Shopify-Hmac-Sha256: " . Webhook::b64("x" x 3750), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 35: shopify: the right MAC with a bogus duplicate header
--- raw_request eval
::raw("/shopify", "X-Shopify-Hmac-Sha256: " . Webhook::b64_sha256($::K, $::B) . "\nX-Shopify-Hmac-Sha256: " . Webhook::b64("0" x 32), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 36: shopify: the right MAC with junk in the middle
--- raw_request eval
my $s = Webhook::b64_sha256($::K, $::B);
::raw("/shopify", "X-Shopify-Hmac-Sha256: " . substr($s, 0, 20) . "*" . substr($s, 21), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 37: standard: an empty signature after v1,
--- raw_request eval
::raw("/standard", "webhook-id: msg_m37\nwebhook-timestamp: $::T\nwebhook-signature: v1,", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "standard")



=== TEST 38: standard: base64 garbage after v1,
--- raw_request eval
::raw("/standard", "webhook-id: msg_m38\nwebhook-timestamp: $::T\nwebhook-signature: v1,!!!!\$\$\$\$", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "standard")



=== TEST 39: standard: 5000 characters of spaces and commas
--- raw_request eval
::raw("/standard", "webhook-id: msg_m39\nwebhook-timestamp: $::T\nwebhook-signature: v1," . (" ," x 2500) . "x", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "standard")



=== TEST 40: standard: an empty webhook-id
--- raw_request eval
::raw("/standard", "webhook-id:\nwebhook-timestamp: $::T\n" . (Webhook::standard($::SW, $::B, id => "") =~ /(webhook-signature: .*)/)[0], $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- error_log eval
Webhook::rejected_log("missing_nonce", "standard")



=== TEST 41: standard: a valid message with its id header duplicated
--- raw_request eval
my $h = Webhook::standard($::SW, $::B, id => "msg_m41");
::raw("/standard", "$h\nwebhook-id: msg_m41_other", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "standard")



=== TEST 42: standard: a timestamp of 25 nines
--- raw_request eval
my $t = "9" x 25;
::raw("/standard", Webhook::standard($::SW, $::B, id => "msg_m42", t => $t), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "standard")



=== TEST 43: salesforce: JSON nested 100000 levels deep, correctly signed
--- raw_request eval
::sf(("[" x 100000) . ("]" x 100000), "m43")
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "salesforce")



=== TEST 44: salesforce: truncated JSON, correctly signed
--- raw_request eval
::sf(qq({"orderId":"801a","timestamp":$::T,"nonce":"m44"), "m44")
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "salesforce")



=== TEST 45: salesforce: an orderId with an escaped NUL
--- raw_request eval
::sf(qq({"orderId":"801\\u0000a","timestamp":$::T,"nonce":"m45"}), "m45")
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "salesforce")



=== TEST 46: salesforce: invalid UTF-8 in the body, correctly signed
--- raw_request eval
::sf(qq({"orderId":"801\xff\xfe","timestamp":$::T,"nonce":"m46"}), "m46")
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "salesforce")



=== TEST 47: salesforce: an empty body, correctly signed
--- raw_request eval
::sf("", "m47")
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "salesforce")



=== TEST 48: salesforce: an impossible ISO-8601 date
--- raw_request eval
my $b = qq({"orderId":"801a","timestamp":"2026-13-45T99:99:99Z","nonce":"m48"});
::raw("/salesforce", "X-SF-Signature: " . Webhook::hex_sha256($::K, $b) . "\nX-SF-Timestamp: 2026-13-45T99:99:99Z\nX-SF-Nonce: m48", $b)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "salesforce")



=== TEST 49: salesforce: an empty nonce header
--- raw_request eval
my $b = Webhook::salesforce_body(nonce => "");
::raw("/salesforce", "X-SF-Signature: " . Webhook::hex_sha256($::K, $b) . "\nX-SF-Timestamp: $::T\nX-SF-Nonce:", $b)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- error_log eval
Webhook::rejected_log("missing_nonce", "salesforce")



=== TEST 50: whmcs: a 5000-digit hex signature
--- raw_request eval
::raw("/whmcs", "X-WHMCS-Signature: " . ("0" x 5000), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "whmcs")



=== TEST 51: whmcs: a valid signature with a negative timestamp
--- raw_request eval
::raw("/whmcs", "X-WHMCS-Signature: $::GH_OK\nX-WHMCS-Timestamp: -5", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "whmcs")



=== TEST 52: whmcs: a valid signature with an empty timestamp header
--- raw_request eval
::raw("/whmcs", "X-WHMCS-Signature: $::GH_OK\nX-WHMCS-Timestamp:", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "whmcs")



=== TEST 53: hft71: a 5000-character header secret
--- raw_request eval
::raw("/hft71", "X-HFT71-Webhook-Secret: $::LONG", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "hft71")



=== TEST 54: hft71: the right secret and a wrong duplicate header
--- raw_request eval
::raw("/hft71", "X-HFT71-Webhook-Secret: $::K\nX-HFT71-Webhook-Secret: wrong", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "hft71")



=== TEST 55: hft71: a wrong secret and the right duplicate header
--- raw_request eval
::raw("/hft71", "X-HFT71-Webhook-Secret: wrong\nX-HFT71-Webhook-Secret: $::K", $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "hft71")



=== TEST 56: hft71: broken JSON that carries the secret
--- raw_request eval
::raw("/hft71", "Content-Type: application/json", qq({"webhook_secret":"$::K",))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "hft71")



=== TEST 57: hft71: a form secret that is only percent signs
--- raw_request eval
::raw("/hft71", "Content-Type: application/x-www-form-urlencoded", "webhook_secret=%%%%%%%%")
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft71")



=== TEST 58: woocommerce: a 5000-character base64 signature
--- raw_request eval
::raw("/woocommerce", "X-WC-Webhook-Signature: " . Webhook::b64("y" x 3750), $::B)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "woocommerce")



=== TEST 59: a missing signature is answered without waiting for the announced body
--- raw_request eval
::raw("/github", "Content-Length: 1000000", "only the start of it", no_length => 1)
--- timeout: 1
--- abort
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "github")



=== TEST 60: a malformed signature is answered without waiting for the body
--- raw_request eval
::raw("/stripe", "Content-Length: 1000000\nStripe-Signature: t=$::T,v0=00", "only the start of it", no_length => 1)
--- timeout: 1
--- abort
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "stripe")



=== TEST 61: a stale timestamp is answered without waiting for the body
--- raw_request eval
my $t = $::T - 3600;
::raw("/slack", "Content-Length: 1000000\nX-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0=" . ("0" x 64), "only the start of it", no_length => 1)
--- timeout: 1
--- abort
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "slack")



=== TEST 62: the server is still up and verifying after all of the above
--- init
my $now = ::master_pid();
die "nginx master $::first_master was replaced by $now\n"
    unless $now eq $::first_master && kill(0, $now);
--- raw_request eval
::raw("/github", "X-Hub-Signature-256: sha256=$::GH_OK", $::B)
--- response_body
upstream got it
--- no_error_log
[error]
[alert]
[crit]

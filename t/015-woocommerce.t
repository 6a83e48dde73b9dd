# WooCommerce: "X-WC-Webhook-Signature: <base64>" over the raw body; the
# creation ping (an unsigned form POST whose whole body is webhook_id=N)
# is answered 200 at the edge and never reaches the upstream.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "wc-secret-1";
our $BODY = '{"id":727,"status":"processing","line_items":[{"sku":"VPS-1","quantity":1}]}';
our $FORM = "Content-Type: application/x-www-form-urlencoded\n";
our $PING = qq({"result":"ping","message":"Webhook ping accepted"}\r\n);

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify woocommerce;
        webhook_secret wc-secret-1;
        webhook_label shop;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid signature passes
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"Content-Type: application/json\n" . Webhook::woocommerce($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Provider: woocommerce
X-Webhook-Secret-Index: 0



=== TEST 2: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/processing/completed/r)
--- more_headers eval
Webhook::woocommerce($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "shop")



=== TEST 3: a wrong secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::woocommerce("wc-secret-2", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "shop")



=== TEST 4: the creation ping is accepted at the edge
--- request
POST /hook
webhook_id=42
--- more_headers eval
$::FORM
--- response_body eval
$::PING
--- response_headers
Content-Type: application/json



=== TEST 5: a ping with a long id still within 64 bytes
--- request eval
Webhook::post("/hook", "webhook_id=" . ("9" x 53))
--- more_headers eval
$::FORM
--- response_body eval
$::PING



=== TEST 6: "webhook_id=" followed by 54 digits (65 bytes) is no ping
--- request eval
Webhook::post("/hook", "webhook_id=" . ("9" x 54))
--- more_headers eval
$::FORM
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shop")



=== TEST 7: a ping-like body with a second field
--- request
POST /hook
webhook_id=42&topic=order.created
--- more_headers eval
$::FORM
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shop")



=== TEST 8: a ping-like body with a non-numeric id
--- request
POST /hook
webhook_id=abc
--- more_headers eval
$::FORM
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shop")



=== TEST 9: "webhook_id=" with no id
--- request
POST /hook
webhook_id=
--- more_headers eval
$::FORM
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shop")



=== TEST 10: an unsigned JSON order
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shop")



=== TEST 11: a base64 signature of the wrong length
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
X-WC-Webhook-Signature: c2hvcnQ=
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shop")



=== TEST 12: the same delivery twice (new delivery id) is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":12}"), Webhook::post("/hook", "{\"n\":12}")]
--- more_headers eval
my $sig = Webhook::woocommerce_sig($::S1, "{\"n\":12}");
[$sig . "X-WC-Webhook-Delivery-ID: 1\n", $sig . "X-WC-Webhook-Delivery-ID: 2\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]

# WHMCS (our PHP hook): "X-WHMCS-Signature: <hex>" over the raw body.
# X-WHMCS-Timestamp and X-WHMCS-Nonce are optional and not signed. A
# timestamp, when sent, must parse and be inside the tolerance; a nonce,
# when sent, must come once and hold at most 256 bytes (else 400
# malformed_signature) and is not used further. The replay key is the
# matched MAC.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "whmcs-hook-secret";
our $BODY = '{"event":"InvoicePaid","invoiceid":"1001","userid":"7"}';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify whmcs;
        webhook_secret whmcs-hook-secret;
        webhook_label billing;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid signature with no timestamp or nonce passes
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::whmcs($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Provider: whmcs
X-Webhook-Secret-Index: 0



=== TEST 2: with a current timestamp and a nonce
--- request eval
Webhook::post("/hook", "[" . $::BODY . "]")
--- more_headers eval
Webhook::whmcs($::S1, "[" . $::BODY . "]", t => $Webhook::NOW, nonce => "whmcs-n-2")
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 3: a timestamp in milliseconds
--- request eval
Webhook::post("/hook", "[[" . $::BODY . "]]")
--- more_headers eval
Webhook::whmcs($::S1, "[[" . $::BODY . "]]", t => $Webhook::NOW * 1000)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 4: a stale timestamp is rejected when present
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::whmcs($::S1, $::BODY, t => $Webhook::NOW - 3600)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "billing")



=== TEST 5: a timestamp from the future
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::whmcs($::S1, $::BODY, t => $Webhook::NOW + 3600)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "billing")



=== TEST 6: a timestamp that is not one
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::whmcs($::S1, $::BODY, t => "now")
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "billing")



=== TEST 7: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/1001/1002/r)
--- more_headers eval
Webhook::whmcs($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "billing")



=== TEST 8: a wrong secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::whmcs("whmcs-other", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "billing")



=== TEST 9: no signature header
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-WHMCS-Timestamp: $Webhook::NOW\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "billing")



=== TEST 10: a sha256= prefix the scheme does not use
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-WHMCS-Signature: sha256=" . Webhook::hex_sha256($::S1, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "billing")



=== TEST 11: base64 instead of hex
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-WHMCS-Signature: " . Webhook::b64_sha256($::S1, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "billing")



=== TEST 12: the same body and signature under a new nonce is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":12}"), Webhook::post("/hook", "{\"n\":12}")]
--- more_headers eval
[Webhook::whmcs($::S1, "{\"n\":12}", nonce => "a"),
 Webhook::whmcs($::S1, "{\"n\":12}", nonce => "b")]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 13: a nonce of 256 bytes (the most allowed) passes
--- request eval
Webhook::post("/hook", "{\"n\":13}")
--- more_headers eval
Webhook::whmcs($::S1, "{\"n\":13}", nonce => "n" x 256)
--- response_body
upstream got it



=== TEST 14: a nonce of 257 bytes
--- request eval
Webhook::post("/hook", "{\"n\":14}")
--- more_headers eval
Webhook::whmcs($::S1, "{\"n\":14}", nonce => "n" x 257)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "billing")



=== TEST 15: the nonce header twice
--- request eval
Webhook::post("/hook", "{\"n\":15}")
--- more_headers eval
Webhook::whmcs($::S1, "{\"n\":15}", nonce => "whmcs-n-15") . "X-WHMCS-Nonce: whmcs-n-15b\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "billing")

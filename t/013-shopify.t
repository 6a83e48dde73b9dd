# Shopify: "X-Shopify-Hmac-Sha256: <base64>" over the raw body; no
# timestamp; X-Shopify-Webhook-Id is not signed, so the replay key is the
# matched MAC.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "shpss_shop_secret_1";
our $S2 = "shpss_shop_secret_2";
# A secret file written before nginx starts (file: is read at config load).
use File::Temp qw(tempdir);
my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/shopify.secret" or die "$dir: $!";
print $fh "shpss_from_file\n";
close $fh;
$ENV{TEST_NGINX_SHOPIFY_SECRET_FILE} = "$dir/shopify.secret";

our $BODY = '{"id":820982911946154508,"email":"jon@example.com","total_price":"199.00"}';

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify shopify;
        webhook_secret shpss_shop_secret_1;
        webhook_secret shpss_shop_secret_2;
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
Webhook::shopify($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: shopify
X-Webhook-Secret-Index: 0
!X-Webhook-Id
!X-Webhook-Timestamp
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BODY)



=== TEST 2: the second secret, index 1
--- request eval
Webhook::post("/hook", "[" . $::BODY . "]")
--- more_headers eval
Webhook::shopify($::S2, "[" . $::BODY . "]")
--- response_body
upstream got it
--- response_headers
X-Webhook-Secret-Index: 1



=== TEST 3: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/199/1/r)
--- more_headers eval
Webhook::shopify($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "shopify")



=== TEST 4: a wrong secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::shopify("shpss_other", $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "shopify")



=== TEST 5: no signature header
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
X-Shopify-Topic: orders/create
X-Shopify-Webhook-Id: b54557e4-bdd9-4b37-8a5f-bf7d70bcd043
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "shopify")



=== TEST 6: the MAC in hex instead of base64
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Shopify-Hmac-Sha256: " . Webhook::hex_sha256($::S1, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 7: base64 of the wrong length (a SHA-1 MAC)
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Shopify-Hmac-Sha256: " . Webhook::b64(Digest::SHA::hmac_sha1($::BODY, $::S1)) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 8: characters outside the base64 alphabet
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers
X-Shopify-Hmac-Sha256: !!!!not*base64$$$$not*base64%%%%not*base64==
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 9: the right MAC with its padding cut off
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"X-Shopify-Hmac-Sha256: " . (Webhook::b64_sha256($::S1, $::BODY) =~ s/=+$//r) . "X\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "shopify")



=== TEST 10: the same delivery twice, even under a new webhook id, is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":10}"), Webhook::post("/hook", "{\"n\":10}")]
--- more_headers eval
my $sig = Webhook::shopify_sig($::S1, "{\"n\":10}");
[$sig . "X-Shopify-Webhook-Id: a\n", $sig . "X-Shopify-Webhook-Id: b\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 11: a different body is not a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":11}"), Webhook::post("/hook", "{\"n\":111}")]
--- more_headers eval
[Webhook::shopify($::S1, "{\"n\":11}"), Webhook::shopify($::S1, "{\"n\":111}")]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]



=== TEST 12: a secret from a file (one trailing newline dropped)
--- config
    location = /hook {
        webhook_verify shopify;
        webhook_secret file:$TEST_NGINX_SHOPIFY_SECRET_FILE;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "upstream got it\n"; }
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::shopify("shpss_from_file", $::BODY)
--- response_body
upstream got it

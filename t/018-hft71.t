# hft71: a shared secret in the X-HFT71-Webhook-Secret header, or in the
# webhook_secret field of a JSON or form body, compared in constant time;
# the replay key is the body digest.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $PAD = join ",", map { qq("f$_":"value number $_") } 1 .. 100;
our $FORM_PAD = join "&", map { "f$_=value+number+$_" } 1 .. 100;
our $JSON = "Content-Type: application/json\n";
our $FORM = "Content-Type: application/x-www-form-urlencoded\n";

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify hft71;
        webhook_secret hft71-shared-secret;
        webhook_secret "s3cr3t pass+word&more";
        webhook_label hft;
        client_body_buffer_size 1k;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # every body on disk, however small
    location = /hook-file {
        webhook_verify hft71;
        webhook_secret hft71-shared-secret;
        webhook_label hft-file;
        client_body_in_file_only clean;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: the secret in the header passes
--- request
POST /hook
{"event":"trade","id":1}
--- more_headers
X-HFT71-Webhook-Secret: hft71-shared-secret
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Provider: hft71
X-Webhook-Secret-Index: 0



=== TEST 2: the second secret in the header, index 1
--- request
POST /hook
{"event":"trade","id":2}
--- more_headers
X-HFT71-Webhook-Secret: s3cr3t pass+word&more
--- response_body
upstream got it
--- response_headers
X-Webhook-Secret-Index: 1



=== TEST 3: a wrong secret in the header
--- request
POST /hook
{"event":"trade","id":3}
--- more_headers
X-HFT71-Webhook-Secret: hft71-shared-secreT
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft")
--- no_error_log eval
[qr/\[(?!debug)\w+\].*hft71-shared-secre/, qr/\[(?!debug)\w+\].*s3cr3t/]



=== TEST 4: a prefix of the right secret in the header
--- request
POST /hook
{"event":"trade","id":4}
--- more_headers
X-HFT71-Webhook-Secret: hft71-shared
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft")



=== TEST 5: the secret as a JSON body field
--- request
POST /hook
{"event":"trade","id":5,"webhook_secret":"hft71-shared-secret"}
--- more_headers eval
$::JSON
--- response_body
upstream got it



=== TEST 6: a wrong secret as a JSON body field
--- request
POST /hook
{"event":"trade","id":6,"webhook_secret":"guess"}
--- more_headers eval
$::JSON
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft")



=== TEST 7: the secret as a form field
--- request
POST /hook
event=trade&id=7&webhook_secret=hft71-shared-secret
--- more_headers eval
$::FORM
--- response_body
upstream got it



=== TEST 8: a form-encoded secret with a space (+), a plus (%2B) and an ampersand (%26)
--- request
POST /hook
event=trade&id=8&webhook_secret=s3cr3t+pass%2Bword%26more
--- more_headers eval
$::FORM
--- response_body
upstream got it
--- response_headers
X-Webhook-Secret-Index: 1



=== TEST 9: the same secret with the space as %20
--- request
POST /hook
event=trade&id=9&webhook_secret=s3cr3t%20pass%2Bword%26more
--- more_headers eval
$::FORM
--- response_body
upstream got it
--- response_headers
X-Webhook-Secret-Index: 1



=== TEST 10: a wrong secret as a form field
--- request
POST /hook
event=trade&id=9&webhook_secret=hft71
--- more_headers eval
$::FORM
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft")



=== TEST 11: no secret anywhere (JSON body)
--- request
POST /hook
{"event":"trade","id":10}
--- more_headers eval
$::JSON
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "hft")



=== TEST 12: no secret anywhere (form body)
--- request
POST /hook
event=trade&id=11
--- more_headers eval
$::FORM
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "hft")



=== TEST 13: a JSON field whose value is not a string
--- request
POST /hook
{"event":"trade","id":12,"webhook_secret":12345}
--- more_headers eval
$::JSON
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "hft")



=== TEST 14: the same body twice is a replay
--- pipelined_requests eval
["POST /hook\n{\"event\":\"trade\",\"id\":13}", "POST /hook\n{\"event\":\"trade\",\"id\":13}"]
--- more_headers eval
["X-HFT71-Webhook-Secret: hft71-shared-secret\n", "X-HFT71-Webhook-Secret: hft71-shared-secret\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 15: the body is the key: the same body under the other secret is still a replay
--- pipelined_requests eval
["POST /hook\n{\"event\":\"trade\",\"id\":1500}", "POST /hook\n{\"event\":\"trade\",\"id\":1500}"]
--- more_headers eval
["X-HFT71-Webhook-Secret: hft71-shared-secret\n", "X-HFT71-Webhook-Secret: s3cr3t pass+word&more\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 16: different bodies are different events
--- pipelined_requests eval
["POST /hook\n{\"event\":\"trade\",\"id\":14}", "POST /hook\n{\"event\":\"trade\",\"id\":140}"]
--- more_headers eval
["X-HFT71-Webhook-Secret: hft71-shared-secret\n", "X-HFT71-Webhook-Secret: hft71-shared-secret\n"]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]



=== TEST 17: a JSON body on disk with the secret as its last field
--- request eval
"POST /hook-file\n{$::PAD,\"webhook_secret\":\"hft71-shared-secret\"}"
--- more_headers eval
$::JSON
--- response_body
upstream got it



=== TEST 18: a form body on disk with the secret as its last field
--- request eval
"POST /hook-file\n$::FORM_PAD&webhook_secret=hft71-shared-secret"
--- more_headers eval
$::FORM
--- response_body
upstream got it



=== TEST 19: a form body on disk with a wrong secret
--- request eval
"POST /hook-file\n$::FORM_PAD&webhook_secret=hft71-shared-secreX"
--- more_headers eval
$::FORM
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "hft-file")

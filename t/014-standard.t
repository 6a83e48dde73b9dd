# Standard Webhooks (and Svix under its svix-* names): HMAC-SHA256 base64
# over "{id}.{ts}.{body}", "webhook-signature: v1,<b64> [v1,<b64> ...]",
# secret "whsec_<base64 key>" decoded; webhook-id is signed and is the
# replay key.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIG9uZS4uLi4=";
our $S2 = "whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIHR3by4uLi4=";
our $BIG = '{"lines":[' . join(",", map { qq({"line":$_,"text":"invoice line $_"}) } 1 .. 500) . ']}';
our $BODY = '{"type":"invoice.paid","data":{"id":"inv_42","amount":4200}}';

# A signature the helper does not produce: over explicit id/ts.
sub sig { my ($secret, $id, $t, $body) = @_;
          (my $k = $secret) =~ s/^whsec_//;
          Webhook::b64(Digest::SHA::hmac_sha256("$id.$t.$body",
                                                MIME::Base64::decode_base64($k))) }

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify standard;
        webhook_secret whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIG9uZS4uLi4=;
        webhook_secret whsec_c3RhbmRhcmQgdGVzdCBrZXkgbnVtYmVyIHR3by4uLi4=;
        webhook_label std;
        client_body_buffer_size 1k;
CONF
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF2
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: a valid message passes; the id and timestamp are exposed
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_1")
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: standard
X-Webhook-Id: msg_std_1
X-Webhook-Timestamp: $Webhook::NOW
X-Webhook-Secret-Index: 0"



=== TEST 2: the same under Svix's header names, second secret
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S2, $::BODY, id => "msg_std_2", svix => 1)
--- response_body
upstream got it
--- response_headers
X-Webhook-Result: pass
X-Webhook-Id: msg_std_2
X-Webhook-Secret-Index: 1



=== TEST 3: several signatures, the valid one last
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_3",
    extra => ["v1," . Webhook::b64("x" x 32), "v1," . ::sig($::S2, "other", 1, "x")])
--- response_body
upstream got it



=== TEST 4: other versions (v1a, v2) are ignored next to a valid v1
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_4",
    extra => ["v1a,aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29y", "v2,Zm9v"])
--- response_body
upstream got it



=== TEST 5: only v1a signatures: no usable signature
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_5\nwebhook-timestamp: $Webhook::NOW\nwebhook-signature: v1a,"
. ::sig($::S1, "msg_std_5", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "std")



=== TEST 6: the webhook-id is signed: a changed id fails
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_6b\nwebhook-timestamp: $Webhook::NOW\nwebhook-signature: v1,"
. ::sig($::S1, "msg_std_6", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "std")



=== TEST 7: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/4200/1/r)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_7")
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "std")



=== TEST 8: signed with the whsec_ string itself rather than the decoded key
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_8\nwebhook-timestamp: $Webhook::NOW\nwebhook-signature: v1,"
. Webhook::b64(Digest::SHA::hmac_sha256("msg_std_8.$Webhook::NOW.$::BODY", $::S1)) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "std")



=== TEST 9: no webhook-id
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-timestamp: $Webhook::NOW\nwebhook-signature: v1,"
. ::sig($::S1, "", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- response_headers
X-Webhook-Result: fail
X-Webhook-Reason: missing_nonce
--- error_log eval
Webhook::rejected_log("missing_nonce", "std")



=== TEST 10: no svix-id under the Svix names
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"svix-timestamp: $Webhook::NOW\nsvix-signature: v1,"
. ::sig($::S1, "", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- error_log eval
Webhook::rejected_log("missing_nonce", "std")



=== TEST 11: no webhook-timestamp
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_11\nwebhook-signature: v1,"
. ::sig($::S1, "msg_std_11", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_timestamp")
--- error_log eval
Webhook::rejected_log("missing_timestamp", "std")



=== TEST 12: no webhook-signature
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_12\nwebhook-timestamp: $Webhook::NOW\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "std")



=== TEST 13: a signature list with no version prefix at all
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
"webhook-id: msg_std_13\nwebhook-timestamp: $Webhook::NOW\nwebhook-signature: "
. ::sig($::S1, "msg_std_13", $Webhook::NOW, $::BODY) . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "std")



=== TEST 14: a timestamp older than the tolerance
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_14", t => $Webhook::NOW - 301 - 30)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "std")



=== TEST 15: a timestamp too far ahead
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_15", t => $Webhook::NOW + 331)
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "std")



=== TEST 16: a negative timestamp
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::standard($::S1, $::BODY, id => "msg_std_16", t => -$Webhook::NOW)
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "std")



=== TEST 17: the same id re-signed with a new timestamp and body is a replay
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":17}"), Webhook::post("/hook", "{\"n\":170}")]
--- more_headers eval
[Webhook::standard($::S1, "{\"n\":17}", id => "msg_std_17", t => $Webhook::NOW - 1),
 Webhook::standard($::S1, "{\"n\":170}", id => "msg_std_17")]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 18: the same id under the Svix names is the same message
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":18}"), Webhook::post("/hook", "{\"n\":18}")]
--- more_headers eval
[Webhook::standard($::S1, "{\"n\":18}", id => "msg_std_18"),
 Webhook::standard($::S1, "{\"n\":18}", id => "msg_std_18", svix => 1)]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 19: the same body under two ids is two messages
--- pipelined_requests eval
[Webhook::post("/hook", "{\"n\":19}"), Webhook::post("/hook", "{\"n\":19}")]
--- more_headers eval
[Webhook::standard($::S1, "{\"n\":19}", id => "msg_std_19a"),
 Webhook::standard($::S1, "{\"n\":19}", id => "msg_std_19b")]
--- error_code eval
[200, 200]
--- response_body eval
["upstream got it\n", "upstream got it\n"]



=== TEST 20: a body spilled to a temp file verifies ("{id}.{ts}." before it)
--- request eval
Webhook::post("/hook", $::BIG)
--- more_headers eval
Webhook::standard($::S1, $::BIG, id => "msg_std_20")
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BIG)



=== TEST 21: a chunked temp-file body verifies
--- raw_request eval
Webhook::raw_chunked("POST", "/hook", Webhook::standard($::S1, $::BIG, id => "msg_std_21"), $::BIG, 1000)
--- response_body
upstream got it



=== TEST 22: a temp-file body with one byte changed in the middle
--- request eval
my $b = $::BIG;
substr($b, 8000, 1) = "X";
Webhook::post("/hook", $b)
--- more_headers eval
Webhook::standard($::S1, $::BIG, id => "msg_std_22")
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "std")



=== TEST 23: a whsec_ secret that is not base64 fails the config load
--- config
    location = /hook {
        webhook_verify standard;
        webhook_secret whsec_not*valid*base64!;
        webhook_replay off;
        return 200;
    }
--- must_die
--- error_log
is not a valid whsec_<base64> secret for scheme "standard"
--- no_error_log
not*valid*base64!

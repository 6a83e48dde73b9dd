# The custom scheme: webhook_signature HEADER [prefix=] [encoding=]
# [algorithm=] [list=], webhook_signed_payload "TEMPLATE" ({body} once,
# {timestamp} {nonce} {method} {uri}), webhook_timestamp HEADER [format=],
# webhook_nonce HEADER. The replay key is the nonce when {nonce} is in the
# template, else the matched MAC.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';
use POSIX qw(strftime);

repeat_each(1);
no_shuffle();
no_long_string();

our $K = "custom-secret";
our $BODY = '{"event":"order.paid","id":"ord_9"}';
our $NOW_MS = $Webhook::NOW * 1000 + 250;
our $ISO = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime $Webhook::NOW);
our $ISO_OLD = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($Webhook::NOW - 3600));

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::UPSTREAM,
    # hex SHA-256 with a prefix over "{timestamp}.{body}"
    location = /a {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Sig prefix=sha256= encoding=hex algorithm=sha256;
        webhook_signed_payload "{timestamp}.{body}";
        webhook_timestamp X-Ts;
        webhook_label custom-a;
        add_header X-Webhook-Result $webhook_result always;
        add_header X-Webhook-Provider $webhook_provider always;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # base64 SHA-512 over "{method} {uri}|{body}", no timestamp
    location = /b {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Sig encoding=base64 algorithm=sha512;
        webhook_signed_payload "{method} {uri}|{body}";
        webhook_label custom-b;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # hex SHA-1 over the body, a comma-separated list
    location = /c {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Sig algorithm=sha1 list=,;
        webhook_signed_payload "{body}";
        webhook_label custom-c;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # nonce and millisecond timestamp in the signed bytes
    location = /d {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Signature prefix=v1=;
        webhook_signed_payload "{nonce}:{timestamp}:{body}";
        webhook_timestamp X-Ts-Ms format=unix_ms;
        webhook_nonce X-Nonce;
        webhook_label custom-d;
        add_header X-Webhook-Id $webhook_id always;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # an ISO-8601 date header
    location = /e {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Sig;
        webhook_signed_payload "{timestamp}|{body}";
        webhook_timestamp X-Date format=iso8601;
        webhook_label custom-e;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }

    # a nonce header that is not part of the template
    location = /f {
        webhook_verify custom;
        webhook_secret custom-secret;
        webhook_signature X-Sig;
        webhook_signed_payload "{body}";
        webhook_nonce X-Nonce;
        webhook_label custom-f;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
CONF
);
# a literal sub: the real add_block_preprocessor has a (&) prototype
add_block_preprocessor(sub { $defaults->(@_) });

run_tests();

__DATA__

=== TEST 1: /a: a valid signature passes
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
"X-Ts: $Webhook::NOW\nX-Sig: sha256=" . Webhook::mac("sha256", "hex", $::K, "$Webhook::NOW.$::BODY") . "\n"
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: custom
X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 2: /a: the prefix is required
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
"X-Ts: $Webhook::NOW\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "custom-a")



=== TEST 3: /a: the timestamp is signed
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
"X-Ts: " . ($Webhook::NOW - 1) . "\nX-Sig: sha256=" . Webhook::mac("sha256", "hex", $::K, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-a")



=== TEST 4: /a: a tampered body
--- request eval
Webhook::post("/a", '{"event":"order.paid","id":"ord_5"}')
--- more_headers eval
"X-Ts: $Webhook::NOW\nX-Sig: sha256=" . Webhook::mac("sha256", "hex", $::K, qq($Webhook::NOW.{"event":"order.paid","id":"ord_4"})) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-a")



=== TEST 5: /a: a wrong secret
--- request eval
Webhook::post("/a", '{"event":"order.paid","id":"ord_6"}')
--- more_headers eval
"X-Ts: $Webhook::NOW\nX-Sig: sha256=" . Webhook::mac("sha256", "hex", "custom-other", qq($Webhook::NOW.{"event":"order.paid","id":"ord_6"})) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-a")



=== TEST 6: /a: no timestamp header
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
"X-Sig: sha256=" . Webhook::mac("sha256", "hex", $::K, "$Webhook::NOW.$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_timestamp")
--- error_log eval
Webhook::rejected_log("missing_timestamp", "custom-a")



=== TEST 7: /a: a stale timestamp
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
my $t = $Webhook::NOW - 1000;
"X-Ts: $t\nX-Sig: sha256=" . Webhook::mac("sha256", "hex", $::K, "$t.$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "custom-a")



=== TEST 8: /a: no signature header
--- request eval
Webhook::post("/a", $::BODY)
--- more_headers eval
"X-Ts: $Webhook::NOW\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "custom-a")



=== TEST 9: /b: base64 SHA-512 over method and uri passes
--- request eval
Webhook::post("/b", $::BODY)
--- more_headers eval
"X-Sig: " . Webhook::mac("sha512", "base64", $::K, "POST /b|$::BODY") . "\n"
--- response_body
upstream got it



=== TEST 10: /b: a SHA-256 MAC where SHA-512 is configured
--- request eval
Webhook::post("/b", $::BODY)
--- more_headers eval
"X-Sig: " . Webhook::mac("sha256", "base64", $::K, "POST /b|$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "custom-b")



=== TEST 11: /b: the method is signed (signed as PUT, sent as POST)
--- request eval
Webhook::post("/b", $::BODY)
--- more_headers eval
"X-Sig: " . Webhook::mac("sha512", "base64", $::K, "PUT /b|$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-b")



=== TEST 12: /b: the uri is signed (signed for /a, sent to /b)
--- request eval
Webhook::post("/b", $::BODY)
--- more_headers eval
"X-Sig: " . Webhook::mac("sha512", "base64", $::K, "POST /a|$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-b")



=== TEST 13: /c: SHA-1 hex, the valid signature second in the list
--- request eval
Webhook::post("/c", $::BODY)
--- more_headers eval
"X-Sig: " . ("0" x 40) . "," . Webhook::mac("sha1", "hex", $::K, $::BODY) . "\n"
--- response_body
upstream got it



=== TEST 14: /c: a list with no valid signature
--- request eval
Webhook::post("/c", $::BODY)
--- more_headers eval
"X-Sig: " . ("0" x 40) . "," . ("1" x 40) . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "custom-c")



=== TEST 15: /d: nonce and millisecond timestamp pass; the nonce is the id
--- request eval
Webhook::post("/d", $::BODY)
--- more_headers eval
"X-Nonce: cn-13\nX-Ts-Ms: $::NOW_MS\nX-Signature: v1=" . Webhook::mac("sha256", "hex", $::K, "cn-13:$::NOW_MS:$::BODY") . "\n"
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Id: cn-13
X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 16: /d: no nonce header
--- request eval
Webhook::post("/d", $::BODY)
--- more_headers eval
"X-Ts-Ms: $::NOW_MS\nX-Signature: v1=" . Webhook::mac("sha256", "hex", $::K, ":$::NOW_MS:$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- error_log eval
Webhook::rejected_log("missing_nonce", "custom-d")



=== TEST 17: /d: a seconds timestamp where milliseconds are configured
--- request eval
Webhook::post("/d", $::BODY)
--- more_headers eval
"X-Nonce: cn-15\nX-Ts-Ms: $Webhook::NOW\nX-Signature: v1=" . Webhook::mac("sha256", "hex", $::K, "cn-15:$Webhook::NOW:$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "custom-d")



=== TEST 18: /d: a reused nonce on a new body is a replay
--- pipelined_requests eval
[Webhook::post("/d", "{\"n\":16}"), Webhook::post("/d", "{\"n\":160}")]
--- more_headers eval
["X-Nonce: cn-16\nX-Ts-Ms: $::NOW_MS\nX-Signature: v1=" . Webhook::mac("sha256", "hex", $::K, "cn-16:$::NOW_MS:{\"n\":16}") . "\n",
 "X-Nonce: cn-16\nX-Ts-Ms: $::NOW_MS\nX-Signature: v1=" . Webhook::mac("sha256", "hex", $::K, "cn-16:$::NOW_MS:{\"n\":160}") . "\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 19: /e: an ISO-8601 date header passes
--- request eval
Webhook::post("/e", $::BODY)
--- more_headers eval
"X-Date: $::ISO\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "$::ISO|$::BODY") . "\n"
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 20: /e: an hour-old ISO-8601 date
--- request eval
Webhook::post("/e", $::BODY)
--- more_headers eval
"X-Date: $::ISO_OLD\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "$::ISO_OLD|$::BODY") . "\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "custom-e")



=== TEST 21: /e: unix seconds where ISO-8601 is configured
--- request eval
Webhook::post("/e", $::BODY)
--- more_headers eval
"X-Date: $Webhook::NOW\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "$Webhook::NOW|$::BODY") . "\n"
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "custom-e")



=== TEST 22: /f: without {nonce} in the template the MAC is the key: a new nonce is no help
--- pipelined_requests eval
[Webhook::post("/f", "{\"n\":20}"), Webhook::post("/f", "{\"n\":20}")]
--- more_headers eval
["X-Nonce: a\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "{\"n\":20}") . "\n",
 "X-Nonce: b\nX-Sig: " . Webhook::mac("sha256", "hex", $::K, "{\"n\":20}") . "\n"]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 23: a template without {body}
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signature X-Sig;
        webhook_signed_payload "{timestamp}";
        webhook_timestamp X-Ts;
        webhook_replay off;
    }
--- must_die
--- error_log
webhook_signed_payload "{timestamp}" must contain {body} exactly once



=== TEST 24: a template with {body} twice
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signature X-Sig;
        webhook_signed_payload "{body}.{body}";
        webhook_replay off;
    }
--- must_die
--- error_log
must contain {body} exactly once



=== TEST 25: an unknown placeholder
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signature X-Sig;
        webhook_signed_payload "{path}.{body}";
        webhook_replay off;
    }
--- must_die
--- error_log
unknown placeholder "{path}"



=== TEST 26: an unknown algorithm
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signature X-Sig algorithm=md5;
        webhook_signed_payload "{body}";
        webhook_replay off;
    }
--- must_die
--- error_log
invalid webhook_signature parameter "algorithm=md5"



=== TEST 27: an unknown timestamp format
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signature X-Sig;
        webhook_signed_payload "{timestamp}{body}";
        webhook_timestamp X-Ts format=rfc2822;
        webhook_replay off;
    }
--- must_die
--- error_log
invalid webhook_timestamp parameter "format=rfc2822"



=== TEST 28: custom without webhook_signature
--- config
    location = /x {
        webhook_verify custom;
        webhook_secret k;
        webhook_signed_payload "{body}";
        webhook_replay off;
    }
--- must_die
--- error_log
"webhook_verify custom" needs webhook_signature

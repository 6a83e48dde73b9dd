# Salesforce (our Apex sender): "X-SF-Signature: [sha256=]<hex>" over the
# raw JSON body; X-SF-Timestamp (unix s, unix ms or ISO-8601 with a zone)
# and X-SF-Nonce required; the body must be a JSON object with orderId,
# timestamp and nonce equal to the headers; the nonce is the replay key.

use lib 't/lib';
use Webhook;
use Test::Nginx::Socket 'no_plan';
use POSIX qw(strftime);

repeat_each(1);
no_shuffle();
no_long_string();

our $S1 = "sf-apex-secret";
our $BODY = Webhook::salesforce_body(nonce => "sf-nonce-1");
our $ISO_Z = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime $Webhook::NOW);
our $ISO_PLUS2 = strftime("%Y-%m-%dT%H:%M:%S+02:00", gmtime($Webhook::NOW + 7200));
our $ISO_MS = strftime("%Y-%m-%dT%H:%M:%S.123Z", gmtime $Webhook::NOW);
our $ISO_NOZONE = strftime("%Y-%m-%dT%H:%M:%S", gmtime $Webhook::NOW);

# an order with 300 items: larger than client_body_buffer_size, so on disk
our $BIG = qq({"orderId":"801BIG","timestamp":$Webhook::NOW,"nonce":"sf-nonce-big","items":[)
           . join(",", map { qq({"sku":"SKU-$_","qty":$_}) } 1 .. 300) . "]}";
our $BIG_CHUNKED = $BIG =~ s/sf-nonce-big/sf-nonce-big-chunked/r;

# a body with a string timestamp (ISO-8601)
sub iso_body { my ($ts, $nonce) = @_;
               qq({"orderId":"801xx000003GZ8AAAW","timestamp":"$ts","nonce":"$nonce"}) }

my $defaults = Webhook::defaults(
    http_config => $Webhook::HTTP_CONFIG,
    config      => <<'CONF' . $Webhook::VARIABLE_HEADERS . <<'CONF2' . $Webhook::UPSTREAM,
    location = /hook {
        webhook_verify salesforce;
        webhook_secret sf-apex-secret;
        webhook_label sf-orders;
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

=== TEST 1: a valid order passes; the nonce is the id
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::salesforce($::S1, $::BODY)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Result: pass
X-Webhook-Provider: salesforce
X-Webhook-Id: sf-nonce-1
X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 2: the signature without its sha256= prefix
--- request eval
my $b = Webhook::salesforce_body(nonce => "sf-nonce-2");
Webhook::post("/hook", $b)
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-2"), prefix => "")
--- response_body
upstream got it



=== TEST 3: a timestamp in unix milliseconds
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-3", t => $Webhook::NOW * 1000 + 123))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-3", t => $Webhook::NOW * 1000 + 123))
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 4: an ISO-8601 timestamp in UTC
--- request eval
Webhook::post("/hook", ::iso_body($::ISO_Z, "sf-nonce-4"))
--- more_headers eval
Webhook::salesforce($::S1, ::iso_body($::ISO_Z, "sf-nonce-4"))
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 5: an ISO-8601 timestamp with a +02:00 offset
--- request eval
Webhook::post("/hook", ::iso_body($::ISO_PLUS2, "sf-nonce-5"))
--- more_headers eval
Webhook::salesforce($::S1, ::iso_body($::ISO_PLUS2, "sf-nonce-5"))
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 6: an ISO-8601 timestamp with milliseconds (Apex's JSON.serialize of a Datetime)
--- request eval
Webhook::post("/hook", ::iso_body($::ISO_MS, "sf-nonce-6ms"))
--- more_headers eval
Webhook::salesforce($::S1, ::iso_body($::ISO_MS, "sf-nonce-6ms"))
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Timestamp: $Webhook::NOW"



=== TEST 7: an ISO-8601 timestamp without a zone
--- request eval
Webhook::post("/hook", ::iso_body($::ISO_NOZONE, "sf-nonce-6"))
--- more_headers eval
Webhook::salesforce($::S1, ::iso_body($::ISO_NOZONE, "sf-nonce-6"))
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_timestamp")
--- response_headers
X-Webhook-Reason: malformed_timestamp
--- error_log eval
Webhook::rejected_log("malformed_timestamp", "sf-orders")



=== TEST 8: no X-SF-Nonce
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::salesforce($::S1, $::BODY) =~ s/^X-SF-Nonce:.*\n//mr
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_nonce")
--- error_log eval
Webhook::rejected_log("missing_nonce", "sf-orders")



=== TEST 9: no X-SF-Timestamp
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::salesforce($::S1, $::BODY) =~ s/^X-SF-Timestamp:.*\n//mr
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_timestamp")
--- error_log eval
Webhook::rejected_log("missing_timestamp", "sf-orders")



=== TEST 10: no X-SF-Signature
--- request eval
Webhook::post("/hook", $::BODY)
--- more_headers eval
Webhook::salesforce($::S1, $::BODY) =~ s/^X-SF-Signature:.*\n//mr
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_signature")
--- error_log eval
Webhook::rejected_log("missing_signature", "sf-orders")



=== TEST 11: a signature with a non-hex digit
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-nonhex"))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-nonhex")) =~ s/^X-SF-Signature: sha256=\K./g/mr
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "sf-orders")



=== TEST 12: a signature one hex digit short
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-short"))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-short")) =~ s/^X-SF-Signature: .*\K.$//mr
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "sf-orders")



=== TEST 13: a signature under another prefix (sha1=)
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-prefix"))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-prefix"), prefix => "sha1=")
--- error_code: 400
--- response_body eval
Webhook::error_body("malformed_signature")
--- error_log eval
Webhook::rejected_log("malformed_signature", "sf-orders")



=== TEST 14: a tampered body
--- request eval
Webhook::post("/hook", $::BODY =~ s/Activating/Cancelled/r)
--- more_headers eval
Webhook::salesforce($::S1, $::BODY)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "sf-orders")
--- no_error_log eval
[qr/\[(?!debug)\w+\].*sf-apex-secret/,
 qr/\[(?!debug)\w+\].*\Q@{[Webhook::hex_sha256($::S1, $::BODY)]}\E/]



=== TEST 15: a wrong secret
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-secret"))
--- more_headers eval
Webhook::salesforce("sf-other-secret", Webhook::salesforce_body(nonce => "sf-nonce-secret"))
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "sf-orders")



=== TEST 16: a signed body without orderId
--- request eval
Webhook::post("/hook", qq({"timestamp":$Webhook::NOW,"nonce":"sf-nonce-11"}))
--- more_headers eval
Webhook::salesforce($::S1, qq({"timestamp":$Webhook::NOW,"nonce":"sf-nonce-11"}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- response_headers
X-Webhook-Result: fail
X-Webhook-Reason: missing_fields
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 17: a signed body with an empty orderId
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-12", orderId => ""))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-12", orderId => ""))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 18: a signed body whose orderId is a number
--- request eval
Webhook::post("/hook", qq({"orderId":801,"timestamp":$Webhook::NOW,"nonce":"sf-nonce-13"}))
--- more_headers eval
Webhook::salesforce($::S1, qq({"orderId":801,"timestamp":$Webhook::NOW,"nonce":"sf-nonce-13"}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 19: a signed body without the timestamp field
--- request eval
Webhook::post("/hook", qq({"orderId":"801a","nonce":"sf-nonce-14"}))
--- more_headers eval
Webhook::salesforce($::S1, qq({"orderId":"801a","nonce":"sf-nonce-14"}), t => $Webhook::NOW)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 20: a signed body that is not JSON
--- request eval
Webhook::post("/hook", qq({"orderId":"801a","timestamp":$Webhook::NOW,"nonce":"sf-nonce-15"))
--- more_headers eval
Webhook::salesforce($::S1, qq({"orderId":"801a","timestamp":$Webhook::NOW,"nonce":"sf-nonce-15"))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 21: a signed body with a duplicated key
--- request eval
Webhook::post("/hook", qq({"orderId":"801a","orderId":"801b","timestamp":$Webhook::NOW,"nonce":"sf-nonce-16"}))
--- more_headers eval
Webhook::salesforce($::S1, qq({"orderId":"801a","orderId":"801b","timestamp":$Webhook::NOW,"nonce":"sf-nonce-16"}))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 22: a signed JSON array
--- request eval
Webhook::post("/hook", qq([{"orderId":"801a","timestamp":$Webhook::NOW,"nonce":"sf-nonce-17"}]))
--- more_headers eval
Webhook::salesforce($::S1, qq([{"orderId":"801a","timestamp":$Webhook::NOW,"nonce":"sf-nonce-17"}]))
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")



=== TEST 23: a captured body under a fresh nonce header
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-18"))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-18"), nonce => "sf-nonce-18-fresh")
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "sf-orders")



=== TEST 24: a captured body under a fresh timestamp header
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-19", t => $Webhook::NOW - 100))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-19", t => $Webhook::NOW - 100), t => $Webhook::NOW)
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "sf-orders")



=== TEST 25: the signature is checked before the fields: bad MAC and bad JSON
--- request eval
Webhook::post("/hook", "not json at all")
--- more_headers eval
"X-SF-Signature: sha256=" . ("0" x 64) . "\nX-SF-Timestamp: $Webhook::NOW\nX-SF-Nonce: sf-nonce-20\n"
--- error_code: 401
--- response_body eval
Webhook::error_body("invalid_signature")
--- error_log eval
Webhook::rejected_log("invalid_signature", "sf-orders")



=== TEST 26: a stale timestamp
--- request eval
Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-21", t => $Webhook::NOW - 900))
--- more_headers eval
Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-21", t => $Webhook::NOW - 900))
--- error_code: 401
--- response_body eval
Webhook::error_body("stale_timestamp")
--- error_log eval
Webhook::rejected_log("stale_timestamp", "sf-orders")



=== TEST 27: a reused nonce on a new, correctly signed body is a replay
--- pipelined_requests eval
[Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-22", orderId => "801A")),
 Webhook::post("/hook", Webhook::salesforce_body(nonce => "sf-nonce-22", orderId => "801B"))]
--- more_headers eval
[Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-22", orderId => "801A")),
 Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-22", orderId => "801B"))]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 28: the same request twice is a replay
--- pipelined_requests eval
my $b = Webhook::salesforce_body(nonce => "sf-nonce-23");
[Webhook::post("/hook", $b), Webhook::post("/hook", $b)]
--- more_headers eval
my $h = Webhook::salesforce($::S1, Webhook::salesforce_body(nonce => "sf-nonce-23"));
[$h, $h]
--- error_code eval
[200, 401]
--- response_body eval
["upstream got it\n", Webhook::error_body("replay")]
--- no_error_log
[alert]
[crit]



=== TEST 29: a body spilled to a temp file: signature and fields both read it
--- request eval
Webhook::post("/hook", $::BIG)
--- more_headers eval
Webhook::salesforce($::S1, $::BIG)
--- response_body
upstream got it
--- response_headers eval
"X-Webhook-Id: sf-nonce-big
X-Webhook-Body-Sha256: " . Webhook::sha256_of($::BIG)



=== TEST 30: the same order chunked in 700-byte pieces
--- raw_request eval
Webhook::raw_chunked("POST", "/hook", Webhook::salesforce($::S1, $::BIG_CHUNKED), $::BIG_CHUNKED, 700)
--- response_body
upstream got it
--- response_headers
X-Webhook-Id: sf-nonce-big-chunked



=== TEST 31: a temp-file body whose JSON is cut short, correctly signed
--- request eval
Webhook::post("/hook", substr($::BIG, 0, -2) =~ s/sf-nonce-big/sf-nonce-26/r)
--- more_headers eval
Webhook::salesforce($::S1, substr($::BIG, 0, -2) =~ s/sf-nonce-big/sf-nonce-26/r, t => $Webhook::NOW)
--- error_code: 400
--- response_body eval
Webhook::error_body("missing_fields")
--- error_log eval
Webhook::rejected_log("missing_fields", "sf-orders")

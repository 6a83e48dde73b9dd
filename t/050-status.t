# webhook_status: counters per label and outcome, JSON and Prometheus.

# Blocks share the zone's counters: TEST 6 and 7 read the traffic of TEST 2-5.
# nginx is reloaded (HUP) before every block: the zone (and its counters)
# survives a reload, and each block's error.log starts empty.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;

repeat_each(1);
master_on();
no_shuffle();
no_long_string();

our $body = '{"id":"evt_status"}';
# one signature for the delivery and its replay (TEST 2 and 3)
our $stripe_sig = Webhook::stripe("whsec_s", $body);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "webhook_zone webhook:1m;")
        unless defined $block->http_config;

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /stripe {
        webhook_verify stripe; webhook_secret whsec_s; webhook_label stripe-live;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /gh {
        webhook_verify github; webhook_secret s;
        webhook_allow 10.0.0.0/8;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /status { webhook_status; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: before any webhook: every label and outcome at zero
--- request
GET /status
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr/^\{"version":"[0-9.]+","pid":\d+,"locations":\{"stripe-live":\{"passed":0,"ip_denied":0,"missing_signature":0,"malformed_signature":0,"missing_timestamp":0,"malformed_timestamp":0,"missing_nonce":0,"stale_timestamp":0,"body_too_large":0,"invalid_signature":0,"missing_fields":0,"replay":0,"replay_store_unavailable":0,"ping":0,"invalid_verify_token":0,"invalid_challenge":0,"setup_refused":0,"missing_token":0,"invalid_token":0,"handshake":0,"unknown_registration":0,"registration_disabled":0,"event_not_registered":0,"released":0,"kept":0,"redis_fallback_local":0,"redis_fallback_reject":0,"redis_fallback_accept":0,"token_cache_hits":0\},"github":\{"passed":0,.*\}\},"replay":\{"store":"local","zone":"webhook","keys":0,"evicted":0\},"integrations":\{\}\}\r?\n$/



=== TEST 2: traffic of every kind: a delivery passes
--- request eval
Webhook::post("/stripe", $::body)
--- more_headers eval
$::stripe_sig
--- response_body
taken



=== TEST 3: traffic of every kind: its replay
--- request eval
Webhook::post("/stripe", $::body)
--- more_headers eval
$::stripe_sig
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 4: traffic of every kind: a tampered body
--- request eval
Webhook::post("/stripe", "tampered")
--- more_headers eval
$::stripe_sig
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 5: traffic of every kind: an address outside webhook_allow
--- request eval
Webhook::post("/gh", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- error_code: 403
--- error_log
webhook rejected: ip_denied



=== TEST 6: counted as JSON
--- request
GET /status
--- response_body_like eval
qr/"stripe-live":\{"passed":1,"ip_denied":0,"missing_signature":0,"malformed_signature":0,"missing_timestamp":0,"malformed_timestamp":0,"missing_nonce":0,"stale_timestamp":0,"body_too_large":0,"invalid_signature":1,"missing_fields":0,"replay":1,"replay_store_unavailable":0,"ping":0,"invalid_verify_token":0,"invalid_challenge":0,"setup_refused":0,"missing_token":0,"invalid_token":0,"handshake":0,"unknown_registration":0,"registration_disabled":0,"event_not_registered":0,"released":0,"kept":1,"redis_fallback_local":0,"redis_fallback_reject":0,"redis_fallback_accept":0,"token_cache_hits":0\},"github":\{"passed":0,"ip_denied":1,.*"keys":1,/



=== TEST 7: counted in the Prometheus text format
--- request
GET /status?format=prometheus
--- response_headers
Content-Type: text/plain; version=0.0.4
--- response_body_like eval
qr/# TYPE webhook_requests_total counter\n(?:.*\n)*webhook_requests_total\{label="stripe-live",outcome="passed"\} 1\n(?:.*\n)*webhook_requests_total\{label="stripe-live",outcome="replay"\} 1\n(?:.*\n)*webhook_requests_total\{label="github",outcome="ip_denied"\} 1\n(?:.*\n)*webhook_replay_keys\{zone="webhook"\} 1\n/



=== TEST 8: the status page answers GET only
--- request
POST /status
--- error_code: 405



=== TEST 9: without a zone the counters are per worker and still there
--- http_config
--- config
    location /gh {
        webhook_verify github; webhook_secret s; webhook_replay off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /status { webhook_status; }
--- request eval
[Webhook::post("/gh", $::body), "GET /status"]
--- more_headers eval
Webhook::github("s", $::body)
--- response_body_like eval
["taken", qr/"github":\{"passed":1,.*"replay":null/]

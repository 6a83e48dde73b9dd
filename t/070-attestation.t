# $webhook_attestation lets the upstream prove a request came through the edge.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;

repeat_each(1);
no_shuffle();
no_long_string();

our $body = '{"orderId":"801xx000003GZ8AAAW","status":"Activating"}';
our $id = "msg_attest_1";

# The edge's clock is read when the request passes: accept a few seconds.
sub expected {
    my ($provider, $id, $body) = @_;
    my @alts = map {
        my $t = $Webhook::NOW + $_;
        quotemeta(Webhook::attestation("edge-key", $provider, $id, $t, $body))
            . " $t";
    } -2 .. 60;
    my $alt = join "|", @alts;
    return qr/^(?:$alt) $provider \Q$id\E \Q${\ Webhook::sha256_of($body)}\E\n$/;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "webhook_zone webhook:1m;")
        unless defined $block->http_config;

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /standard {
        webhook_verify standard; webhook_secret whsec_c2VjcmV0LWtleQ==;
        webhook_attest_secret edge-key;
        proxy_set_header X-Webhook-Attestation $webhook_attestation;
        proxy_set_header X-Webhook-Edge-Time $webhook_time;
        proxy_set_header X-Webhook-Provider $webhook_provider;
        proxy_set_header X-Webhook-Id $webhook_id;
        proxy_set_header X-Webhook-Body-Sha256 $webhook_body_sha256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /github {
        webhook_verify github; webhook_secret s;
        webhook_attest_secret edge-key;
        proxy_set_header X-Webhook-Attestation $webhook_attestation;
        proxy_set_header X-Webhook-Edge-Time $webhook_time;
        proxy_set_header X-Webhook-Provider $webhook_provider;
        proxy_set_header X-Webhook-Id $webhook_id;
        proxy_set_header X-Webhook-Body-Sha256 $webhook_body_sha256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /unattested {
        webhook_verify github; webhook_secret s;
        proxy_set_header X-Webhook-Attestation $webhook_attestation;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_webhook_attestation $http_x_webhook_edge_time $http_x_webhook_provider $http_x_webhook_id $http_x_webhook_body_sha256\n";
    }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: attestation over provider, signed id, edge time and body digest
--- request eval
Webhook::post("/standard", $::body)
--- more_headers eval
Webhook::standard("whsec_c2VjcmV0LWtleQ==", $::body, id => $::id)
--- response_body_like eval
::expected("standard", $::id, $::body)



=== TEST 2: a scheme without a signed id attests an empty id
--- request eval
Webhook::post("/github", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- response_body_like eval
::expected("github", "", $::body)



=== TEST 3: no webhook_attest_secret: no attestation
--- request eval
Webhook::post("/unattested", $::body . " ")
--- more_headers eval
Webhook::github("s", $::body . " ") . Webhook::content_length($::body . " ")
--- response_body eval
"    \n"

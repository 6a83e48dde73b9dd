# A reload (SIGHUP) keeps the shared-memory replay store and the counters.

BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;

master_on();
workers(2);
repeat_each(1);
no_shuffle();
no_long_string();

our $body = '{"id":"evt_reload","type":"charge.succeeded"}';

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: accepted before the reload
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_label payments;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /status { webhook_status; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- response_body
taken



=== TEST 2: after a reload with a changed config, still a replay
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_label payments;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken after reload\n"; }
    location = /status { webhook_status; }
--- request eval
Webhook::post("/hook", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 3: counters survived the reload too
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_label payments;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken after reload\n"; }
    location = /status { webhook_status; }
--- request
GET /status
--- response_body_like eval
qr/"payments":\{"passed":1,.*"replay":1,.*"kept":1,/

# Redis with AUTH, a non-zero database and a custom key prefix; a wrong
# password degrades to the fallback and never shows up in a log.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use RedisServer;

repeat_each(1);
no_shuffle();
no_long_string();

$ENV{TEST_NGINX_REDIS_PASSWORD} = "redis-pw-" . $$;
our $redis = RedisServer->new(password => $ENV{TEST_NGINX_REDIS_PASSWORD});
$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;

# valgrind slows nginx down ~20 times: give Redis answers time to count
$ENV{TEST_NGINX_REDIS_TIMEOUTS} = $ENV{TEST_NGINX_USE_VALGRIND}
    ? "timeout=3s connect_timeout=5s" : "timeout=200ms connect_timeout=300ms";

our $body = '{"id":"evt_auth_' . $$ . '"}';
our $body2 = '{"id":"evt_auth2_' . $$ . '"}';

sub keys_in { scalar @{ $::redis->command_in($_[0], "KEYS", $_[1]) || [] } }
sub wait_probe { RedisServer::wait_probe($ENV{TEST_NGINX_SERVER_PORT} || 1984, @_) }

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'CONF') unless defined $block->http_config;
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3 password=env:TEST_NGINX_REDIS_PASSWORD prefix=edge1: $TEST_NGINX_REDIS_TIMEOUTS;
CONF

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /status { webhook_status; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n"
                          . $ENV{TEST_NGINX_REDIS_PASSWORD});
    }
});

run_tests();

__DATA__

=== TEST 1: AUTH from the environment, db 3, prefix edge1:
--- init
::wait_probe("up");
--- request eval
[Webhook::post("/hook", $::body), Webhook::post("/hook", $::body)]
--- more_headers eval
Webhook::github("s", $::body)
--- error_code eval
[200, 401]
--- response_body eval
["taken\n", qq({"error":"replay","message":"Nonce already used"}\r\n)]



=== TEST 2: the key sits in db 3 under the prefix, nowhere else
--- init
die "not in db 3 under edge1:" unless ::keys_in(3, "edge1:*") == 1;
die "found in db 0" if ::keys_in(0, "*") != 0;
::wait_probe("up");
--- request
GET /status
--- response_body_like eval
qr/"redis":\{"address":"127\.0\.0\.1:\d+","state":"up","last_error":"[^"]*","rtt_us":\d+,"reconnects":\d+,"timeouts":0,/



=== TEST 3: a wrong password: the fallback decides, the password is not logged
--- http_config
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=wrong-password-123;
--- request eval
Webhook::post("/hook", $::body2)
--- more_headers eval
Webhook::github("s", $::body2)
--- response_body
taken
--- error_log eval
[qr/\[warn\] .*webhook redis 127\.0\.0\.1:\d+: AUTH: WRONGPASS/,
 "the replay check is done in the local store"]
--- no_error_log
wrong-password-123
[error]



=== TEST 4: a wrong password: status says down (or retrying) and why
--- http_config
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=wrong-password-123;
--- init
::wait_probe("down");
--- request
GET /status
--- response_body_like eval
qr/"state":"(?:down|connecting)","last_error":"AUTH: WRONGPASS[^"]*"/
--- no_error_log
wrong-password-123

# The Redis replay store: a real redis-server on a free loopback port, two
# nginx instances sharing it, Redis stopped and restarted. Each block stands
# on its own (Test::Nginx may restart nginx between blocks); what carries
# over between blocks lives in Redis, outside nginx.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use RedisServer;
use EdgeNginx;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

repeat_each(1);
no_shuffle();
no_long_string();

our $redis = RedisServer->new;
$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;

# valgrind slows nginx down ~20 times: give Redis answers time to count
$ENV{TEST_NGINX_REDIS_TIMEOUTS} = $ENV{TEST_NGINX_USE_VALGRIND}
    ? "timeout=3s connect_timeout=5s" : "timeout=200ms connect_timeout=300ms";

our $n = 0;
sub body { '{"id":"evt_redis_' . $$ . '_' . ++$n . '"}' }
our @b = map { body() } 0 .. 20;

# Edge B: another nginx on the same Redis with the same label.
our $edge_b = EdgeNginx->new(http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} $ENV{TEST_NGINX_REDIS_TIMEOUTS};
    server {
        listen 127.0.0.1:$port;
        location /hook {
            webhook_verify github; webhook_secret s; webhook_replay redis;
            webhook_label shared;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /ok { return 200 "edge B took it\\n"; }
        location = /status { webhook_status; }
    }
CONF
});
$ENV{TEST_NGINX_EDGE_B_PORT} = $edge_b->port;

sub wait_probe {
    RedisServer::wait_probe($ENV{TEST_NGINX_SERVER_PORT} || 1984, @_);
}

# An upstream that accepts connections and never answers.
our $blackhole = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'tcp')
    or die "blackhole: $!";
$ENV{TEST_NGINX_BLACKHOLE_PORT} = $blackhole->sockport;

sub keys_under { scalar @{ $::redis->command("KEYS", "$_[0]*") || [] } }

our $replay = qq({"error":"replay","message":"Nonce already used"}\r\n);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'CONF') unless defined $block->http_config;
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT $TEST_NGINX_REDIS_TIMEOUTS;
CONF

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_label shared;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /local {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_redis_down local;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /reject {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_redis_down reject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /accept {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_redis_down accept;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /broken {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_label shared;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fail;
    }
    location /std {
        webhook_verify standard; webhook_secret whsec_c2VjcmV0; webhook_replay redis;
        webhook_label std;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /edge-b/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_EDGE_B_PORT/;
    }
    location /pause {
        # a request that takes its time: an upstream that never answers
        proxy_read_timeout 2s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BLACKHOLE_PORT;
    }
    location = /plain { return 200 "not a webhook\n"; }
    location = /ok { return 200 "taken\n"; }
    location = /fail { return 502 "portal down\n"; }
    location = /status { webhook_status; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: one edge: accepted once, then a replay decided by Redis
--- init
::wait_probe("up");
--- request eval
[Webhook::post("/hook", $::b[1]), Webhook::post("/hook", $::b[1])]
--- more_headers eval
Webhook::github("s", $::b[1])
--- error_code eval
[200, 401]
--- response_body eval
["taken\n", $::replay]



=== TEST 2: the key is in Redis, under the default prefix, with the TTL
--- init
my @keys = @{ $::redis->command("KEYS", "webhook:*") };
die "expected 1 key, got @keys" unless @keys == 1;
die "not a hex SHA-256 key: $keys[0]" unless $keys[0] =~ /^webhook:[0-9a-f]{64}$/;
my $ttl = $::redis->command("PTTL", $keys[0]);
die "TTL $ttl is not about 24h" unless $ttl > 86_000_000 && $ttl <= 86_400_000;
--- request
GET /plain
--- response_body
not a webhook



=== TEST 3: two edges, one Redis: accepted by A, refused by B, and back
--- init
::wait_probe("up");
--- request eval
[Webhook::post("/hook", $::b[3]), Webhook::post("/edge-b/hook", $::b[3]),
 Webhook::post("/edge-b/hook", $::b[4]), Webhook::post("/hook", $::b[4])]
--- more_headers eval
[Webhook::github("s", $::b[3]), Webhook::github("s", $::b[3]),
 Webhook::github("s", $::b[4]), Webhook::github("s", $::b[4])]
--- error_code eval
[200, 401, 200, 401]
--- response_body eval
["taken\n", $::replay, "edge B took it\n", $::replay]



=== TEST 3b: a delivery whose key the next block looks for (one signature)
--- init
::wait_probe("up");
--- request eval
Webhook::post("/hook", $::b[18])
--- more_headers eval
Webhook::github("s", $::b[18])
--- error_code: 200
--- response_body
taken



=== TEST 3c: its key is the prefix and the hex SHA-256 of the label, a NUL, "m" and the MAC
--- init
use Digest::SHA qw(sha256_hex hmac_sha256);
my $key = "webhook:" . sha256_hex("shared\0m" . hmac_sha256($::b[18], "s"));
die "no key $key" unless $::redis->command("EXISTS", $key) =~ /^:?1$/;
--- request
GET /plain
--- response_body
not a webhook



=== TEST 3d: a Standard Webhooks delivery (its id is signed)
--- init
::wait_probe("up");
--- request eval
Webhook::post("/std", $::b[19])
--- more_headers eval
Webhook::standard("whsec_c2VjcmV0", $::b[19], id => "msg_key_$$")
--- error_code: 200
--- response_body
taken



=== TEST 3e: its key is the hex SHA-256 of the label, a NUL, "n" and the id
--- init
use Digest::SHA qw(sha256_hex);
my $key = "webhook:" . sha256_hex("std\0n" . "msg_key_$$");
die "no key $key" unless $::redis->command("EXISTS", $key) =~ /^:?1$/;
--- request
GET /plain
--- response_body
not a webhook



=== TEST 4: the upstream failed: the Redis key is released, the retry passes
--- init
::wait_probe("up");
--- request eval
[Webhook::post("/broken", $::b[5]), Webhook::post("/hook", $::b[5]),
 Webhook::post("/edge-b/hook", $::b[5])]
--- more_headers eval
Webhook::github("s", $::b[5])
--- error_code eval
[502, 200, 401]
--- response_body eval
["portal down\n", "taken\n", $::replay]



=== TEST 5: status: redis up, with address and round trip; probe 200
--- init
::wait_probe("up");
--- request eval
["GET /status", "GET /status?probe=redis", "GET /status?format=prometheus"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/"integrations":\{"redis":\{"address":"127\.0\.0\.1:\d+","state":"up","last_error":"[^"]*","rtt_us":\d+,/,
 qr/^\{"redis":"up"\}$/,
 qr/^webhook_redis_up 1$/m]



=== TEST 6: Redis stopped: each policy answers as documented, others served
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
[Webhook::post("/local", $::b[6]), Webhook::post("/local", $::b[6]),
 Webhook::post("/reject", $::b[7]),
 Webhook::post("/accept", $::b[8]),
 "GET /plain", "GET /status?probe=redis", "GET /status"]
--- more_headers eval
[Webhook::github("s", $::b[6]), Webhook::github("s", $::b[6]),
 Webhook::github("s", $::b[7]), Webhook::github("s", $::b[8]), "", "", ""]
--- error_code eval
[200, 401, 503, 200, 200, 503, 200]
--- response_body_like eval
["taken", "Nonce already used",
 qr/^\{"error":"replay_store_unavailable","message":"Replay store unavailable, retry later"\}\r\n$/,
 "taken", "not a webhook", qr/"redis":"down"/,
 qr/"redis_fallback_local":1,"redis_fallback_reject":1,"redis_fallback_accept":1.*"redis":\{"address":"[^"]+","state":"down","last_error":"[^"]+"/]



=== TEST 7: Redis stopped, local: one [warn] naming the decision
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
Webhook::post("/local", $::b[9])
--- more_headers eval
Webhook::github("s", $::b[9])
--- response_body
taken
--- error_log eval
qr/\[warn\] .*webhook: redis unavailable \([^)]+\): the replay check is done in the local store, label "github"/
--- no_error_log
[error]
[alert]



=== TEST 8: Redis stopped, reject: 503, a [warn] and the rejection line
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
Webhook::post("/reject", $::b[10])
--- more_headers eval
Webhook::github("s", $::b[10])
--- error_code: 503
--- error_log
the request is refused with 503
webhook rejected: replay_store_unavailable



=== TEST 9: Redis stopped, accept: passes, with a [warn]
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
Webhook::post("/accept", $::b[11])
--- more_headers eval
Webhook::github("s", $::b[11])
--- response_body
taken
--- error_log
the request is accepted without a replay check
--- no_error_log
[error]



=== TEST 10: Redis comes back: the same nginx reconnects by itself
--- init
$::redis->stop;
::wait_probe("down");
$::redis->start_later(0.4);
--- request eval
[Webhook::post("/local", $::b[12]),
 "GET /pause",
 "GET /status?probe=redis",
 Webhook::post("/hook", $::b[13])]
--- more_headers eval
[Webhook::github("s", $::b[12]), "", "", Webhook::github("s", $::b[13])]
--- timeout: 4
--- error_code eval
[200, 504, 200, 200]
--- response_body_like eval
["taken", ".", qr/"redis":"up"/, "taken"]



=== TEST 11: ...and the key it took after Redis came back is in Redis: edge B refuses the copy
--- init
# edge B has its own reconnect backoff, grown over the outages above
RedisServer::wait_probe($::edge_b->port, "up", 15);
--- request eval
Webhook::post("/edge-b/hook", $::b[13])
--- more_headers eval
Webhook::github("s", $::b[13])
--- error_code: 401
--- response_body_like eval
qr/Nonce already used/



=== TEST 12: no zone, Redis stopped, accept: no replay check at all
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT $TEST_NGINX_REDIS_TIMEOUTS;
--- config
    location /accept {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_redis_down accept;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /status { webhook_status; }
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
[Webhook::post("/accept", $::b[14]), Webhook::post("/accept", $::b[14])]
--- more_headers eval
Webhook::github("s", $::b[14])
--- error_code eval
[200, 200]
--- response_body eval
["taken\n", "taken\n"]



=== TEST 13: with a zone, a copy this node saw is refused even under accept
--- init
$::redis->stop;
::wait_probe("down");
--- request eval
[Webhook::post("/accept", $::b[15]), Webhook::post("/accept", $::b[15])]
--- more_headers eval
Webhook::github("s", $::b[15])
--- error_code eval
[200, 401]
--- response_body eval
["taken\n", $::replay]



=== TEST 14: no zone: "webhook_redis_down local" cannot load
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
    }
--- must_die
--- error_log
"webhook_redis_down local" (the default) needs a webhook_zone



=== TEST 15: webhook_replay redis without webhook_redis cannot load
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
    }
--- must_die
--- error_log
"webhook_replay redis" needs webhook_redis in the http block



=== TEST 16: bad webhook_redis parameters cannot load
--- http_config
    webhook_redis 127.0.0.1:6379 timeout=soon;
--- config
--- must_die
--- error_log
invalid webhook_redis parameter "timeout=soon"



=== TEST 17: an address that is not one cannot load
--- http_config
    webhook_redis "127.0.0.1:notaport";
--- config
--- must_die
--- error_log
webhook_redis: invalid address "127.0.0.1:notaport"

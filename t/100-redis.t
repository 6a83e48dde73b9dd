# The Redis replay store: a real redis-server on a free loopback port,
# two nginx instances sharing it, Redis stopped, restarted and paused.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use RedisServer;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);

repeat_each(1);
no_shuffle();
no_long_string();

our $redis = RedisServer->new;
$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;

our $n = 0;
sub body { '{"id":"evt_redis_' . $$ . '_' . ++$n . '"}' }

# A second nginx ("edge B") on its own port, same Redis, same label: what
# one edge accepted, the other must refuse.
our $edge_b_port = RedisServer::free_port();
$ENV{TEST_NGINX_EDGE_B_PORT} = $edge_b_port;
our $edge_b_dir = tempdir("webhook-edge-b-XXXXXX", TMPDIR => 1, CLEANUP => 1);
{
    mkdir "$edge_b_dir/logs";
    open my $fh, '>', "$edge_b_dir/nginx.conf" or die $!;
    print $fh join("", map { "load_module $_;\n" }
                       split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '');
    print $fh <<"CONF";
daemon on;
master_process on;
worker_processes 2;
error_log $edge_b_dir/logs/error.log info;
pid $edge_b_dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $edge_b_dir/body;
    proxy_temp_path $edge_b_dir/proxy;
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT};
    server {
        listen 127.0.0.1:$edge_b_port;
        location /hook {
            webhook_verify github; webhook_secret s; webhook_replay redis;
            webhook_label shared;
            proxy_pass http://127.0.0.1:$edge_b_port/ok;
        }
        location = /ok { return 200 "edge B took it\\n"; }
    }
}
CONF
    close $fh;
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    system("$nginx -p $edge_b_dir/ -c $edge_b_dir/nginx.conf -e $edge_b_dir/logs/error.log") == 0
        or die "edge B did not start";
}

END {
    if (open my $fh, '<', "$edge_b_dir/nginx.pid") {
        my $pid = <$fh>; chomp $pid;
        if ($pid) {
            kill 'QUIT', $pid;
            for (1 .. 50) { last unless kill 0, $pid; sleep 0.1 }
        }
    }
}

# Sends a request to this nginx in a child; returns the child's pid.
sub send_in_background {
    my ($uri, $body, $headers) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    return $pid if $pid;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT} || 1984);
    (my $h = $headers) =~ s/\n/\r\n/g;
    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . $h . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    local $/; my $resp = <$s>;
    POSIX::_exit(0);
}

# How many replay keys Redis holds under a prefix.
sub keys_under { scalar @{ $::redis->command("KEYS", "$_[0]*") || [] } }

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'CONF') unless defined $block->http_config;
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=200ms connect_timeout=300ms;
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
    location /edge-b/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_EDGE_B_PORT/;
    }
    location = /plain { return 200 "not a webhook\n"; }
    location = /ok { return 200 "taken\n"; }
    location = /fail { return 502 "portal down\n"; }
    location = /status { webhook_status; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: accepted, and the key is in Redis under the default prefix
--- request eval
Webhook::post("/hook", $::b1 = ::body())
--- more_headers eval
Webhook::github("s", $::b1)
--- response_body
taken
--- wait: 0.1



=== TEST 2: the same delivery again: a replay, decided by Redis
--- init
die "no key in redis" unless ::keys_under("webhook:") == 1;
--- request eval
Webhook::post("/hook", $::b1)
--- more_headers eval
Webhook::github("s", $::b1)
--- error_code: 401
--- response_body eval
qq({"error":"replay","message":"Nonce already used"}\r\n)
--- error_log
webhook rejected: replay
--- no_error_log
redis unavailable



=== TEST 3: two edges, one Redis: accepted by A, refused by B
--- request eval
[Webhook::post("/hook", $::b3 = ::body()), Webhook::post("/edge-b/hook", $::b3)]
--- more_headers eval
Webhook::github("s", $::b3)
--- error_code eval
[200, 401]
--- response_body eval
["taken\n", qq({"error":"replay","message":"Nonce already used"}\r\n)]



=== TEST 4: and the other way round: accepted by B, refused by A
--- request eval
[Webhook::post("/edge-b/hook", $::b4 = ::body()), Webhook::post("/hook", $::b4)]
--- more_headers eval
Webhook::github("s", $::b4)
--- error_code eval
[200, 401]
--- response_body eval
["edge B took it\n", qq({"error":"replay","message":"Nonce already used"}\r\n)]
--- error_log
webhook rejected: replay



=== TEST 5: upstream failure releases the Redis key, the retry passes
--- request eval
[Webhook::post("/broken", $::b5 = ::body()), Webhook::post("/hook", $::b5)]
--- more_headers eval
Webhook::github("s", $::b5)
--- error_code eval
[502, 200]
--- error_log
replay key released



=== TEST 6: status: redis up, probe answers 200
--- request eval
["GET /status", "GET /status?probe=redis"]
--- response_body_like eval
[qr/"integrations":\{"redis":\{"address":"127\.0\.0\.1:\d+","state":"up","last_error":"","rtt_us":\d+,/,
 qr/^\{"redis":"up"\}$/]



=== TEST 7: Redis stopped: local falls back to shared memory
--- init
$::redis->stop;
--- request eval
Webhook::post("/local", $::b7 = ::body())
--- more_headers eval
Webhook::github("s", $::b7)
--- response_body
taken
--- error_log eval
[qr/\[warn\] .*webhook: redis unavailable \(.*\): the replay check is done in the local store, label "github"/]
--- no_error_log
[error]



=== TEST 8: Redis stopped: local still refuses a replay (from shared memory)
--- request eval
Webhook::post("/local", $::b7)
--- more_headers eval
Webhook::github("s", $::b7)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 9: Redis stopped: reject answers 503 so the provider retries later
--- request eval
Webhook::post("/reject", $::b9 = ::body())
--- more_headers eval
Webhook::github("s", $::b9)
--- error_code: 503
--- response_body eval
qq({"error":"replay_store_unavailable","message":"Replay store unavailable, retry later"}\r\n)
--- error_log
the request is refused with 503
webhook rejected: replay_store_unavailable



=== TEST 10: Redis stopped: accept passes without a cluster-wide check
--- request eval
Webhook::post("/accept", $::b10 = ::body())
--- more_headers eval
Webhook::github("s", $::b10)
--- response_body
taken
--- error_log
the request is accepted without a replay check
--- no_error_log
[error]



=== TEST 10b: ...but with a webhook_zone, a copy this node saw is still refused
--- request eval
Webhook::post("/accept", $::b10)
--- more_headers eval
Webhook::github("s", $::b10)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 11: Redis stopped: other locations are served, status says down, probe 503
--- request eval
["GET /plain", "GET /status?probe=redis", "GET /status"]
--- error_code eval
[200, 503, 200]
--- response_body_like eval
["not a webhook", qr/"redis":"down"/,
 qr/"redis_fallback_local":[1-9].*"redis":\{"address":"[^"]+","state":"down","last_error":"[^"]+"/]



=== TEST 12: Redis restarted: the module reconnects by itself
--- init
$::redis->start;
sleep 6;
--- request eval
["GET /status?probe=redis", Webhook::post("/hook", $::b12 = ::body())]
--- more_headers eval
Webhook::github("s", $::b12)
--- error_code eval
[200, 200]
--- error_log eval
qr/webhook redis 127\.0\.0\.1:\d+: up \(was (?:down|connecting)\)/
--- no_error_log
[error]



=== TEST 13: after the restart, replays are refused from Redis again
--- init
die "key not in restarted redis" unless ::keys_under("webhook:") == 1;
--- request eval
[Webhook::post("/hook", $::b12), Webhook::post("/edge-b/hook", $::b12)]
--- more_headers eval
Webhook::github("s", $::b12)
--- error_code eval
[401, 401]
--- error_log
webhook rejected: replay
--- no_error_log
redis unavailable



=== TEST 14: Redis paused: decided within the timeout plus a margin
--- init
$::redis->pause;
$::t0 = time;
--- request eval
Webhook::post("/local", $::b14 = ::body())
--- more_headers eval
Webhook::github("s", $::b14)
--- timeout: 1
--- response_body
taken
--- error_log eval
[qr/no answer within 200ms, degraded/, qr/redis unavailable \(timeout\)/]
--- no_error_log
[error]



=== TEST 15: while degraded, webhooks fall back at once (no 200ms wait each)
--- init
$::t0 = time;
--- request eval
[map { Webhook::post("/local", $_) } map { ::body() } 1 .. 5]
--- more_headers eval
[map { Webhook::github("s", $_) } map { '{"id":"evt_redis_' . $$ . '_' . ($::n - 4 + $_) . '"}' } 0 .. 4]
--- timeout: 1
--- error_code eval
[200, 200, 200, 200, 200]



=== TEST 16: Redis resumed: up again, Redis decides again
--- init
die "5 requests took too long while degraded" if time - $::t0 > 0.9;
$::redis->resume;
sleep 1;
--- request eval
[Webhook::post("/hook", $::b16 = ::body()), Webhook::post("/edge-b/hook", $::b16)]
--- more_headers eval
Webhook::github("s", $::b16)
--- error_code eval
[200, 401]
--- error_log eval
qr/webhook redis 127\.0\.0\.1:\d+: up \(was (?:degraded|down)\)/



=== TEST 17: a webhook waiting on a hung Redis does not delay other requests
--- http_config
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=1500ms connect_timeout=3s;
--- init
sleep 0.3;
$::redis->pause;
$::bg = ::send_in_background("/local", $::b17 = ::body(), Webhook::github("s", $::b17));
sleep 0.2;
$::t0 = time;
--- request
GET /plain
--- timeout: 0.5
--- response_body
not a webhook



=== TEST 18: ...and the waiting webhook is decided at its timeout
--- http_config
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=1500ms connect_timeout=3s;
--- init
waitpid($::bg, 0);
my $took = time - $::t0;
$::redis->resume;
die "background webhook took ${took}s" if $took > 2.5;
--- request
GET /status
--- response_body_like eval
qr/"redis_fallback_local":[1-9]/
--- error_log
no answer within 1500ms, degraded



=== TEST 19: no zone, Redis stopped, accept: passes with no replay check at all
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=200ms connect_timeout=300ms;
--- config
    location /accept {
        webhook_verify github; webhook_secret s; webhook_replay redis;
        webhook_redis_down accept;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
--- init
$::redis->stop;
--- request eval
[Webhook::post("/accept", $::b19 = ::body()), Webhook::post("/accept", $::b19)]
--- more_headers eval
Webhook::github("s", $::b19)
--- error_code eval
[200, 200]
--- error_log
the request is accepted without a replay check
--- no_error_log
[error]



=== TEST 20: no zone: "webhook_redis_down local" cannot load
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
    }
--- must_die
--- error_log
"webhook_redis_down local" (the default) needs a webhook_zone



=== TEST 21: webhook_replay redis without webhook_redis cannot load
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github; webhook_secret s; webhook_replay redis;
    }
--- must_die
--- error_log
"webhook_replay redis" needs webhook_redis in the http block



=== TEST 22: bad webhook_redis parameters cannot load
--- http_config
    webhook_redis 127.0.0.1:6379 timeout=soon;
--- config
--- must_die
--- error_log
invalid webhook_redis parameter "timeout=soon"

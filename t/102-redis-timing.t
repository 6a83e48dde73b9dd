# Redis hangs (SIGSTOP): a webhook is decided within the timeout plus a
# small margin, later ones do not wait at all while Redis is degraded, and
# other requests on the same worker are not delayed. Also: a key won by
# a late reply, a client that goes away while its Redis reply is pending,
# one connection shared by concurrent requests, a lost connection, the
# reconnect backoff, a request held while AUTH/SELECT are answered, and a
# unix socket. Timed here with our own nginx (one worker, so "the same
# worker" is certain).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Webhook;
use RedisServer;
use EdgeNginx;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);
use File::Temp ();

my $redis = RedisServer->new;

# an upstream that takes connections and never answers
my $blackhole = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp')
    or die "blackhole: $!";
my $bh_port = $blackhole->sockport;

# under valgrind nginx runs ~20 times slower: same checks, wider margins
my $slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 20 : 1;
my $timeout_ms = 150 * $slow;

my $edge = EdgeNginx->new(workers => 1, log_level => 'info', http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:@{[ $redis->port ]} timeout=${timeout_ms}ms connect_timeout=2s;
    server {
        listen 127.0.0.1:$port;
        location /hook {
            webhook_verify github; webhook_secret s; webhook_replay redis;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location /hook-slow {
            webhook_verify github; webhook_secret s; webhook_replay redis;
            proxy_pass http://127.0.0.1:$bh_port;
            proxy_read_timeout @{[ 400 * $slow ]}ms;
        }
        location = /ok { return 200 "taken\\n"; }
        location = /plain { return 200 "not a webhook\\n"; }
        location = /status { webhook_status; }
    }
CONF
});


# a second edge: one verifying location on its own zone and Redis address
sub redis_edge {
    my ($zone, $address) = @_;
    return EdgeNginx->new(workers => 1, log_level => 'info', http => sub {
        my ($port) = @_;
        return <<"CONF";
    webhook_zone $zone:1m;
    webhook_redis $address;
    server {
        listen 127.0.0.1:$port;
        location /hook {
            webhook_verify github; webhook_secret s; webhook_replay redis;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /ok { return 200 "taken\\n"; }
        location = /status { webhook_status; }
    }
CONF
    });
}

# POST a signed delivery to an edge's /hook
sub post_hook {
    my ($e, $b, $path, $wait) = @_;
    return $e->request("POST", $path || "/hook", $b, Webhook::github("s", $b),
                       $wait || 5);
}

my $n = 0;
sub hook {
    my $body = '{"id":"evt_timing_' . $$ . '_' . ++$n . '"}';
    return post_hook($edge, $body);
}

RedisServer::wait_probe($edge->port, "up");

my ($st, $body, $took) = hook();
is $st, 200, "Redis up: accepted";
cmp_ok $took, '<', 0.1 * $slow, "Redis up: answered in ${\ sprintf '%.1f', $took * 1000}ms";

# Redis hangs
my $keys = $redis->command("DBSIZE");
$redis->pause;

($st, $body, $took) = hook();
is $st, 200, "Redis paused: decided by the local fallback";
cmp_ok $took, '>=', ($timeout_ms - 20) / 1000, "Redis paused: it did wait for Redis first";
cmp_ok $took, '<', ($timeout_ms + 100 * $slow) / 1000,
       sprintf "Redis paused: decided within the timeout + 100ms (%.0fms)", $took * 1000;

# degraded: no more waiting
my $slowest = 0;
for (1 .. 20) {
    ($st, $body, $took) = hook();
    is $st, 200, "degraded: webhook $_ accepted" if $st != 200;
    $slowest = $took if $took > $slowest;
}
cmp_ok $slowest, '<', 0.05 * $slow,
       sprintf "degraded: 20 webhooks, slowest %.1fms (no %dms wait each)",
               $slowest * 1000, $timeout_ms;

my ($pst, $pbody) = $edge->request("GET", "/status?probe=redis");
is $pst, 503, "degraded: the probe says so";
like $pbody, qr/"redis":"degraded"/, "degraded: state named";

$redis->resume;
RedisServer::wait_probe($edge->port, "up", 5);
pass "resumed: up again";

# the first paused webhook's SET was answered late, after the fallback
# had accepted it with a 200: its key stays, so another edge refuses a
# replay of it (the 20 degraded ones never went to Redis)
sleep 0.1 * $slow;
is $redis->command("DBSIZE"), $keys + 1,
   "a key won late by a delivery the fallback accepted (200) is kept";

# A webhook stuck on a hung Redis does not hold up other requests on the
# same (single) worker: only the webhook waits, for its own timeout.
$redis->pause;
my $bg = fork();
if ($bg == 0) {
    my ($s, undef, $t) = hook();
    POSIX::_exit($s == 200 && $t < ($timeout_ms + 200 * $slow) / 1000 ? 0 : 1);
}
sleep 0.02;
my $worst = 0;
for (1 .. 10) {
    my ($s, $b, $t) = $edge->request("GET", "/plain");
    $worst = $t if $t > $worst;
    is $s, 200, "plain request $_ during the hang" if $s != 200;
}
cmp_ok $worst, '<', 0.05 * $slow,
       sprintf "while a webhook waits on Redis, other requests take %.1fms at most",
               $worst * 1000;
waitpid $bg, 0;
is $? >> 8, 0, "the waiting webhook was decided at its timeout";
$redis->resume;
RedisServer::wait_probe($edge->port, "up", 5);

# A client that goes away while its reply is pending: nginx notices at
# once (499), the reply finds no request, and the key it won is released,
# in Redis and in the zone, so the sender's retry is accepted.
$keys = $redis->command("DBSIZE");
$redis->pause;
my @gone;
for (1 .. 5) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $edge->port);
    my $b = '{"id":"evt_abort_' . $$ . "_$_" . '"}';
    push @gone, $b;
    (my $h = Webhook::github("s", $b)) =~ s/\n/\r\n/g;
    print $s "POST /hook HTTP/1.1\r\nHost: localhost\r\n$h"
             . "Content-Length: " . length($b) . "\r\n\r\n$b";
    close $s;
}
sleep 0.05 * $slow;
my $closed = () = $edge->error_log =~ /client prematurely closed connection/g;
is $closed, 5, "clients gone while Redis hangs: the 5 requests end at once"
    or diag $edge->error_log;
$redis->resume;
sleep 0.3 * $slow;
is $redis->command("DBSIZE"), $keys, "the keys their late replies won were released";
($st) = $edge->request("GET", "/plain");
is $st, 200, "after clients went away with replies pending, nginx serves";
for my $b (@gone) {
    ($st) = post_hook($edge, $b);
    is $st, 200, "the sender's retry of a delivery whose client went away passes";
}
($st) = hook();
is $st, 200, "and verifies";

# Concurrent webhooks share the worker's one connection (pipelined): 40
# of them, 8 at a time, open no connection to Redis
sub conns_received {
    ($redis->command("INFO", "stats") =~ /total_connections_received:(\d+)/)[0];
}
my $c0 = conns_received();
my @kids;
for my $k (1 .. 8) {
    my $pid = fork();
    if ($pid == 0) {
        my $ok = 0;
        for my $i (1 .. 5) {
            my $b = '{"id":"evt_pipe_' . $$ . "_$i" . '"}';
            my ($s) = post_hook($edge, $b);
            $ok++ if $s == 200;
        }
        POSIX::_exit($ok == 5 ? 0 : 1);
    }
    push @kids, $pid;
}
my $kids_ok = 0;
for (@kids) { waitpid $_, 0; $kids_ok++ if $? == 0 }
is $kids_ok, 8, "40 concurrent webhooks accepted";
is conns_received() - $c0, 1,
   "they opened no connection to Redis (the one counted is this check's own)";

# The status page counts the commands this worker sent and the writes
# that carried them: 9 webhooks, 9 SETs, in 1 to 9 writes; the round trip
# is timed
sub redis_counts {
    my (undef, $json) = $edge->request("GET", "/status");
    my ($c) = $json =~ /"commands":(\d+)/;
    my ($b) = $json =~ /"batches":(\d+)/;
    my ($rtt) = $json =~ /"rtt_us":(\d+)/;
    return ($c, $b, $rtt);
}
{
    my ($c0, $b0) = redis_counts();
    ok defined $c0 && defined $b0, "status: commands and batches reported";
    my @kids9;
    for my $k (0 .. 8) {
        my $pid = fork();
        if ($pid == 0) {
            my $b = '{"id":"evt_count_' . $$ . '"}';
            my ($s) = post_hook($edge, $b);
            POSIX::_exit($s == 200 ? 0 : 1);
        }
        push @kids9, $pid;
    }
    my $ok = 0;
    for (@kids9) { waitpid $_, 0; $ok++ if $? == 0 }
    is $ok, 9, "counts: 9 concurrent webhooks accepted";
    my ($c1, $b1, $rtt) = redis_counts();
    is $c1 - $c0, 9, "counts: 9 commands sent";
    cmp_ok $b1 - $b0, '>=', 1, "counts: at least one write";
    cmp_ok $b1 - $b0, '<=', 9, "counts: no more writes than commands";
    cmp_ok $rtt, '>', 0, "counts: a round trip measured (${rtt}us)";
}

# Redis goes away while connected: one [warn] says so
$redis->stop;
RedisServer::wait_probe($edge->port, "down", 5);
like $edge->error_log, qr/\[warn\] .*webhook redis 127\.0\.0\.1:\d+: connection lost: /,
     "a lost connection is logged at [warn]";

# reconnecting backs off: 100ms, doubling, at most 5s (a fixed 100ms
# retry would make ~30 attempts in 3s, this makes about 5)
sub reconnects {
    my (undef, $json) = $edge->request("GET", "/status");
    return ($json =~ /"reconnects":(\d+)/)[0];
}
my $r0 = reconnects();
sleep 3.2;
my $tries = reconnects() - $r0;
cmp_ok $tries, '>=', 3, "Redis down: it keeps trying ($tries attempts in 3.2s)";
cmp_ok $tries, '<=', 7, "Redis down: with a growing delay ($tries attempts in 3.2s)";
$redis->start;
RedisServer::wait_probe($edge->port, "up", 10);

# Redis on a unix socket
my $sockdir = File::Temp::tempdir("webhook-sock-XXXXXX", TMPDIR => 1, CLEANUP => 1);
chmod 0755, $sockdir;
my $redis_unix = RedisServer->new(args => ['--unixsocket', "$sockdir/redis.sock",
                                           '--unixsocketperm', '777']);
my $edge3 = redis_edge("webhook3", "unix:$sockdir/redis.sock");
RedisServer::wait_probe($edge3->port, "up", 5);
my $b3 = '{"id":"evt_unix_' . $$ . '"}';
($st) = post_hook($edge3, $b3);
is $st, 200, "unix socket: accepted";
is $redis_unix->command("DBSIZE"), 1, "unix socket: its key is in that Redis";
($st) = post_hook($edge3, $b3);
is $st, 401, "unix socket: the replay is refused";
$edge3->stop;

# A request that arrives while the connection is being set up waits for
# AUTH/SELECT to be answered: pipelined behind a SELECT that fails, its
# SET would land in database 0. Redis hangs while a new edge connects.
$keys = $redis->command("DBSIZE");
$redis->pause;
my $edge2 = redis_edge("webhook2", "127.0.0.1:" . $redis->port
                       . " db=99 timeout=${timeout_ms}ms connect_timeout=5s");
my $b2 = '{"id":"evt_select_' . $$ . '"}';
($st) = post_hook($edge2, $b2);
is $st, 200, "while connecting: decided by the fallback at the timeout";
$redis->resume;
sleep 0.3 * $slow;
like $edge2->error_log, qr/SELECT: ERR/, "the refused SELECT is logged";
like $edge2->error_log, qr/redis unavailable \(still connecting\)/, "the held request fell back";
is $redis->command("DBSIZE"), $keys, "nothing was written to database 0";
$edge2->stop;

# A delivery whose upstream fails while Redis cannot be reached: its
# release waits in the worker and is sent once Redis is back, so the
# provider's retry is not refused as a replay for the key's whole TTL.
# Redis keeps its data (no restart): it only refuses this edge for a
# while (requirepass, and the edge's connection killed).
$keys = $redis->command("DBSIZE");
my $b4 = '{"id":"evt_release_' . $$ . '"}';
my $slowkid = fork();
if ($slowkid == 0) {
    my ($s) = post_hook($edge, $b4, "/hook-slow", 10 * $slow);
    POSIX::_exit($s == 504 ? 0 : 1);
}
sleep 0.15 * $slow;
is $redis->command("DBSIZE"), $keys + 1, "release: the delivery reserved its key";
$redis->command("CONFIG", "SET", "requirepass", "locked-$$");
$redis->{password} = "locked-$$";
$redis->command("CLIENT", "KILL", "TYPE", "normal");
waitpid $slowkid, 0;
is $? >> 8, 0, "release: the upstream timed out (504)";
sleep 0.1 * $slow;
is $redis->command("DBSIZE"), $keys + 1, "release: Redis unreachable, the key is still there";
my (undef, $sj) = $edge->request("GET", "/status");
like $sj, qr/"releases_waiting":1,/, "release: it waits in the worker (status page)";
$redis->command("CONFIG", "SET", "requirepass", "");
delete $redis->{password};
RedisServer::wait_probe($edge->port, "up", 10);
sleep 0.1 * $slow;
is $redis->command("DBSIZE"), $keys, "release: sent once Redis took the edge back";
like $edge->error_log, qr/1 replay key releases that waited for it sent/,
     "release: logged";
($st) = post_hook($edge, $b4);
is $st, 200, "release: the provider's retry is accepted";

my $log = $edge->error_log;
unlike $log, qr/\[(?:alert|crit|emerg)\]|exited on signal/, "no alert or crash in the log";
like $log, qr/no answer within ${timeout_ms}ms, degraded/, "degradation was logged";

done_testing();

# Redis hangs (SIGSTOP): a webhook is decided within the timeout plus a
# small margin, later ones do not wait at all while Redis is degraded, and
# other requests on the same worker are not delayed. Also a client that
# goes away while its Redis reply is pending. Timed here with our own
# nginx (one worker, so "the same worker" is certain).

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

my $redis = RedisServer->new;

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
        location = /ok { return 200 "taken\\n"; }
        location = /plain { return 200 "not a webhook\\n"; }
        location = /status { webhook_status; }
    }
CONF
});

my $n = 0;
sub hook {
    my $body = '{"id":"evt_timing_' . $$ . '_' . ++$n . '"}';
    return $edge->request("POST", "/hook", $body, Webhook::github("s", $body), 5);
}

RedisServer::wait_probe($edge->port, "up");

my ($st, $body, $took) = hook();
is $st, 200, "Redis up: accepted";
cmp_ok $took, '<', 0.1 * $slow, "Redis up: answered in ${\ sprintf '%.1f', $took * 1000}ms";

# Redis hangs
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

# A client that goes away while its reply is pending: the reply must find
# no request (the pool cleanup detaches it); nginx keeps serving.
$redis->pause;
for (1 .. 5) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $edge->port);
    my $b = '{"id":"evt_abort_' . $$ . "_$_" . '"}';
    (my $h = Webhook::github("s", $b)) =~ s/\n/\r\n/g;
    print $s "POST /hook HTTP/1.1\r\nHost: localhost\r\n$h"
             . "Content-Length: " . length($b) . "\r\n\r\n$b";
    close $s;
}
sleep 0.05 * $slow;
$redis->resume;
sleep 0.3 * $slow;
($st) = $edge->request("GET", "/plain");
is $st, 200, "after clients went away with replies pending, nginx serves";
($st) = hook();
is $st, 200, "and verifies";

my $log = $edge->error_log;
unlike $log, qr/\[(?:alert|crit|emerg)\]|exited on signal/, "no alert or crash in the log";
like $log, qr/no answer within ${timeout_ms}ms, degraded/, "degradation was logged";

done_testing();

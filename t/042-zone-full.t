# A webhook_zone too small for the keys it is given: many keys share a hash
# bucket, the oldest are evicted (with a rate-limited [alert]), and what is
# left still stops replays. Every reservation is accounted for: kept in the
# zone or evicted, none lost.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Webhook;
use EdgeNginx;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time);

my $total = $ENV{TEST_NGINX_USE_VALGRIND} ? 600 : 2000;

my $edge = EdgeNginx->new(workers => 2, http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:64k;
    server {
        listen 127.0.0.1:$port;
        location /hook {
            webhook_verify github; webhook_secret s;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /ok { return 200 "taken\\n"; }
        location = /status { webhook_status; }
    }
CONF
});

my @bodies = map { qq({"id":"evt_full_${$}_$_"}) } 1 .. $total;
my %status;
my $t0 = time;

for my $body (@bodies) {
    my ($code) = $edge->request("POST", "/hook", $body,
                                Webhook::github("s", $body));
    $status{$code}++;
}

is_deeply(\%status, { 200 => $total },
          "a full zone evicts, it never refuses a new delivery");

my ($code, $json) = $edge->request("GET", "/status");
is($code, 200, "status page");
my $replay = decode_json($json)->{replay};

cmp_ok($replay->{evicted}, '>', 0, "the zone filled up and evicted");
cmp_ok($replay->{keys}, '<', $total, "fewer keys than deliveries");
cmp_ok($replay->{keys}, '>', 65536 / 256, "more keys than the zone has "
       . "hash buckets (one per 256 bytes): buckets held chains");
is($replay->{keys} + $replay->{evicted}, $total,
   "every reservation is kept or evicted: $replay->{keys} + "
   . "$replay->{evicted}");

# the newest keys are still there: their replays are refused
my %late;
for my $body (@bodies[-20 .. -1]) {
    my ($c) = $edge->request("POST", "/hook", $body,
                             Webhook::github("s", $body));
    $late{$c}++;
}
is_deeply(\%late, { 401 => 20 }, "replays of the newest deliveries refused");

# the oldest was evicted: the documented cost of a zone that is too small
($code) = $edge->request("POST", "/hook", $bodies[0],
                         Webhook::github("s", $bodies[0]));
is($code, 200, "the oldest key was evicted, so its replay passes");

my $elapsed = time - $t0;
my $log = $edge->error_log;
my $alerts = () = $log =~ /webhook_zone "webhook" is full/g;
cmp_ok($alerts, '>=', 1, "the [alert] says the zone is full");
cmp_ok($alerts, '<=', int($elapsed) + 2, "at most one such [alert] a second "
       . "(got $alerts in ${\ sprintf '%.1f', $elapsed} s for "
       . "$replay->{evicted} evictions)");
unlike($log, qr/\[(?:crit|emerg)\]|exited on signal/, "no crash");

done_testing();

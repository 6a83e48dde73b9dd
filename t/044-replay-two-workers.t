# Two workers hammering one key set at once: several client processes send
# every delivery of the same set, each in its own order, on connections
# the kernel spreads over both workers (listen ... reuseport), so copies of
# one key race on both workers at the same moment. The local store must
# accept each key once and only once, refuse every other copy, release
# what the upstream failed (and only that), and its counters and key count
# must add up to what the clients saw.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Webhook;
use EdgeNginx;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use List::Util qw(shuffle sum0);
use POSIX qw(_exit);

my $valgrind = $ENV{TEST_NGINX_USE_VALGRIND};
my $keys = $valgrind ? 40 : 300;        # kept set
my $flaky = $valgrind ? 20 : 100;       # set the upstream fails
my $clients = 6;

my $edge = EdgeNginx->new(workers => 2, http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:4m;
    server {
        listen 127.0.0.1:$port reuseport;
        add_header X-Worker \$pid always;
        location = /hook {
            webhook_verify github; webhook_secret s; webhook_label hammer;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /flaky {
            webhook_verify github; webhook_secret s; webhook_label flaky;
            proxy_pass http://127.0.0.1:$port/fail;
        }
        location = /flaky-ok {
            webhook_verify github; webhook_secret s; webhook_label flaky;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /short {
            webhook_verify github; webhook_secret s; webhook_label short;
            webhook_replay_ttl 1s;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /ok { return 200 "taken\\n"; }
        location = /fail { return 503 "down\\n"; }
        location = /status { webhook_status; }
    }
CONF
});

# one signed delivery per key, the same headers for every copy
sub deliveries {
    my ($tag, $n) = @_;
    return map {
        my $body = qq({"id":"evt_two_${tag}_${$}_$_"});
        [$body, Webhook::github("s", $body)];
    } 1 .. $n;
}

my @kept = deliveries("kept", $keys);
my @failing = deliveries("flaky", $flaky);

# (status, worker pid) of one request on a connection of its own
sub post {
    my ($uri, $d) = @_;
    my ($body, $headers) = @$d;
    (my $h = $headers) =~ s/\r?\n/\r\n/g;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $edge->port, Timeout => 10)
        or return (0, 0);
    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . $h . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    local $/;
    my $resp = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        my $r = <$s> // "";
        alarm 0;
        $r;
    } // "";
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d+)};
    my ($pid) = $resp =~ /^X-Worker: (\d+)\r$/mi;
    return ($status || 0, $pid || 0);
}

# every client sends every delivery of the set once: half of them in the
# same order, so that copies of one key arrive together, the others each
# in an order of its own; returns [index, status, pid] for each request
sub hammer {
    my ($uri, @set) = @_;
    my $dir = $edge->dir;
    my @pids;
    for my $c (1 .. $clients) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            srand($$ ^ time);
            open my $out, '>', "$dir/hammer.$c" or _exit(2);
            for my $i ($c % 2 ? 0 .. $#set : shuffle 0 .. $#set) {
                my ($st, $w) = post($uri, $set[$i]);
                print $out "$i $st $w\n";
            }
            close $out;
            _exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my @r;
    for my $c (1 .. $clients) {
        open my $in, '<', "$dir/hammer.$c" or die "client $c: $!";
        push @r, map { [split] } <$in>;
        unlink "$dir/hammer.$c";
    }
    return @r;
}

sub status {
    my ($code, $json) = $edge->request("GET", "/status");
    return $code == 200 ? decode_json($json) : {};
}

# -- the kept set: a 2xx keeps the key, so exactly one copy passes ---------

my @r = hammer("/hook", @kept);
is(scalar @r, $keys * $clients, "every client sent every delivery");

my (%by_status, %passed, %workers, %seen_by);
for (@r) {
    my ($i, $st, $w) = @$_;
    $by_status{$st}++;
    $passed{$i}++ if $st == 200;
    $workers{$w}++ if $w;
    $seen_by{$i}{$w} = 1 if $w;
}
is_deeply([sort keys %by_status], [200, 401],
          "every answer was 200 (taken) or 401 (replay)");
is(scalar(grep { ($passed{$_} // 0) == 1 } 0 .. $keys - 1), $keys,
   "each key was accepted exactly once");
is(scalar(grep { $_ > 1 } values %passed), 0, "no key was accepted twice");
is($by_status{401}, $keys * ($clients - 1), "every other copy was refused");
is(scalar keys %workers, 2, "both workers answered (pids "
   . join(", ", map { "$_: $workers{$_}" } sort keys %workers) . ")");
my $both = grep { keys %{ $seen_by{$_} } == 2 } keys %seen_by;
cmp_ok($both, '>', $keys / 2, "copies of most keys ($both of $keys) met "
       . "both workers");

my $s = status();
my $h = $s->{locations}{hammer} || {};
is($h->{passed}, $keys, "status: passed = keys accepted");
is($h->{replay}, $keys * ($clients - 1), "status: replay = copies refused");
is($h->{kept}, $keys, "status: every accepted key kept");
is($h->{released}, 0, "status: none released");
is($s->{replay}{keys}, $keys, "status: the zone holds one key per delivery");
is($s->{replay}{evicted}, 0, "status: nothing evicted");

# -- the failing set: every key is released, so copies pass again ---------

@r = hammer("/flaky", @failing);
%by_status = ();
$by_status{ $_->[1] }++ for @r;
is_deeply([sort keys %by_status], [grep { $by_status{$_} } 401, 503],
          "the failing upstream: every answer 503 (passed, released) or "
          . "401 (a copy in flight): " . ($by_status{503} // 0) . " and "
          . ($by_status{401} // 0));
cmp_ok($by_status{503} // 0, '>=', $flaky, "each key passed at least once");

$s = status();
my $f = $s->{locations}{flaky} || {};
is($f->{passed}, $by_status{503}, "status: passed = the 503s");
is($f->{released}, $by_status{503}, "status: every pass released");
is($f->{kept}, 0, "status: nothing kept");
is($f->{replay}, $by_status{401} // 0, "status: replay = the 401s");
is($s->{replay}{keys}, $keys, "status: no released key left in the zone");

# released keys are free: one more copy of each, to a working upstream
my %after;
$after{ (post("/flaky-ok", $_))[0] }++ for @failing;
is_deeply(\%after, { 200 => $flaky }, "each released key is accepted again");
$s = status();
is($s->{replay}{keys}, $keys + $flaky, "status: and now kept");

# the kept set is still refused, whichever worker is asked
my %again;
$again{ (post("/hook", $_))[0] }++ for @kept[0 .. 19];
is_deeply(\%again, { 401 => 20 }, "kept keys still refused");

# keys whose TTL ran out leave the zone with no request to collect them:
# each worker sweeps the expired keys once a second
my @short = deliveries("short", 50);
my %short;
$short{ (post("/short", $_))[0] }++ for @short;
is_deeply(\%short, { 200 => 50 }, "short-TTL keys accepted");
$s = status();
is($s->{replay}{keys}, $keys + $flaky + 50, "status: and held");
my $held;
for (1 .. 40) {
    select(undef, undef, undef, 0.25);
    $held = status()->{replay}{keys};
    last if $held == $keys + $flaky;
}
is($held, $keys + $flaky, "expired keys swept without a request");
$s = status();
is($s->{replay}{evicted}, 0, "status: swept, not evicted");

unlike($edge->error_log, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       "no alert or crash");

done_testing();

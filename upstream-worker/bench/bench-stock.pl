#!/usr/bin/perl
# make bench-stock: the stock sync at catalogue scale against the fakes.
# SKUS (default 50000) SKUs in WooCommerce, VARIATION_SHARE of them (0.25)
# variations of variable products with PER_PARENT (25) each, the same SKUs
# in HFT71; then a first full sync (the index built from WooCommerce's
# pages, every quantity written) and a resync after CHURN (0.01) of HFT71's
# quantities changed. Prints wall time, the calls each fake counted (per
# endpoint), items written and the worker's peak RSS (VmHWM, reset between
# the runs through /proc/PID/clear_refs) and checks that WooCommerce holds
# HFT71's quantities after each run; then times GET /stock/drift (full and
# ?sample=50). Bounded: DEADLINE_S (600) per run.
# Stack: the e2e harness's Redis, fakes and one worker, on free loopback
# ports; all stopped at the end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/lib";
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);
use WorkerStack;

$| = 1;

my $skus = $ENV{SKUS} || 50000;
my $share = $ENV{VARIATION_SHARE} // 0.25;
my $per_parent = $ENV{PER_PARENT} || 25;
my $churn = $ENV{CHURN} || 0.01;
my $limit = $ENV{DEADLINE_S} || 600;

my $s = WorkerStack->new(commerce => 1, worker_env => {
    JOB_CLAIM_IDLE_MS => 30000, HTTP_TIMEOUT_MS => 10000,
})->start_all;

sub ctl {
    my ($which, $method, $path, %o) = @_;
    my ($st, $d) = $s->request($method => $s->fake_url($which) . $path, %o);
    die "$which $method $path: $st\n" unless $st =~ /^2/;
    return $d;
}

sub vm {
    my ($field) = @_;
    my $pid = $s->{pids}{worker};
    open my $fh, '<', "/proc/$pid/status" or return -1;
    while (<$fh>) { return $1 if /^$field:\s+(\d+) kB/ }
    return -1;
}

sub reset_peak {
    my $pid = $s->{pids}{worker};
    open my $fh, '>', "/proc/$pid/clear_refs" or return 0;
    print $fh "5\n";
    return close $fh;
}

sub unsynced {
    my $h = ctl('hft71', GET => '/__stock')->{stock};
    my $w = ctl('woo', GET => '/__stock_view')->{items};
    return scalar grep { my $i = $w->{$_}; !$i || $i->[0]{stock_quantity} != $h->{$_} } keys %$h;
}

sub run {
    my ($name) = @_;
    ctl('woo', DELETE => '/__stats');
    ctl('hft71', DELETE => '/__stats');
    my $peak_reset = reset_peak();
    my $rss0 = vm('VmRSS');
    my $t0 = time;
    my ($st, $d) = $s->worker(POST => '/stock/sync');
    die "sync: $st\n" unless $st == 202;
    my $run;
    WorkerStack::wait_until("run", $limit, sub {
        (undef, $run) = $s->worker(GET => "/stock/sync/$d->{run_id}");
        $run && $run->{status} =~ /^(succeeded|failed)$/;
    }) or die "$name: not finished in $limit s\n";
    my $wall = time - $t0;
    my $woo = ctl('woo', GET => '/__stats');
    my $hft = ctl('hft71', GET => '/__stats');
    my %calls = (%{ $woo->{calls} }, map { ("hft71 $_" => $hft->{calls}{$_}) } keys %{ $hft->{calls} });
    printf "%s: %s in %.1f s (run %.1f s), items written %d (WooCommerce updated %d), changed %d, item errors %d\n",
        $name, $run->{status}, $wall, ($run->{finished_ms} - $run->{started_ms}) / 1000,
        $run->{written}, $woo->{items_updated}, $run->{changed}, $run->{item_errors};
    printf "  calls: %s (total %d)\n", join(', ', map { "$_ $calls{$_}" } sort keys %calls),
        eval { my $t = 0; $t += $_ for values %calls; $t };
    printf "  worker RSS before %d kB, peak during the run %d kB%s\n", $rss0, vm('VmHWM'),
        $peak_reset ? '' : ' (peak since start: clear_refs refused)';
    my $left = unsynced();
    printf "  SKUs not at HFT71's quantity afterwards: %d\n", $left;
    return $left == 0 && $run->{status} eq 'succeeded';
}

my $t = time;
my $gen = ctl('woo', POST => '/__generate', json => { skus => $skus, variation_share => $share,
                                                     per_parent => $per_parent, stock => 0 });
ctl('hft71', POST => '/__stock', json => { generate => $skus, seed => 1 });
printf "catalogue: %d SKUs: %d products (%d variable), %d variations, %d per parent; made in %.1f s\n",
    $skus, $gen->{products}, $gen->{products} - ($skus - $gen->{variations}), $gen->{variations},
    $per_parent, time - $t;
printf "worker: HFT71_STOCK_PAGE_SIZE %s, RSS at start %d kB\n",
    $s->worker_env->{HFT71_STOCK_PAGE_SIZE} || 500, vm('VmRSS');
my $ok = run('first sync');
my $changed = ctl('hft71', POST => '/__stock', json => { churn => $churn, seed => 2 });
printf "churn: %d SKUs changed in HFT71 (%.1f %%)\n", scalar(@{ $changed->{changed} }), 100 * $churn;
$ok = run('resync') && $ok;

# the drift report over the whole catalogue, and the runbook's sample
my $http = HTTP::Tiny->new(timeout => $limit);
for my $q ('', '?sample=50') {
    my $t0 = time;
    my $res = $http->get($s->worker_url . "/stock/drift$q");
    my $d = eval { JSON::PP->new->decode($res->{content}) } || {};
    printf "drift%s: %s in %.1f s, checked %d, %s\n", $q || ' (full)', $res->{status}, time - $t0,
        $d->{checked}, join(', ', map { "$_ $d->{counts}{$_}" } sort keys %{ $d->{counts} || {} });
    $ok = 0 unless $res->{status} == 200 && !$d->{counts}{quantity_differs};
}
$s->shutdown;
exit($ok ? 0 : 1);

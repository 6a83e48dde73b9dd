#!/usr/bin/perl
# The issue's "Done when" measurement: HFT71 failing for OUTAGE_S seconds
# (default 30) while ORDERS new WooCommerce orders (default 200) arrive as
# signed order webhooks through nginx; afterwards every order must have
# exactly one HFT71 order and its _hft71_order_id written back.
#
#   upstream-worker/scripts/measure-hft71-outage.pl
#   ORDERS=200 OUTAGE_S=30 WORKERS=2 MODE=mixed upstream-worker/scripts/measure-hft71-outage.pl
#
# MODE: mixed (default: lost replies, then 503s, resets and 5 s hangs for
# the whole outage), 503, lost_reply, timeout. The stack (Redis, fakes,
# one or two workers, nginx with the module) is the e2e harness's, on free
# loopback ports; everything stops at the end. Exit 0 when every order has
# exactly one HFT71 order, 1 otherwise.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/lib";
use Time::HiRes qw(time sleep);
use WorkerStack;

my $orders = $ENV{ORDERS} || 200;
my $outage = $ENV{OUTAGE_S} || 30;
my $workers = $ENV{WORKERS} || 2;
my $mode = $ENV{MODE} || 'mixed';
my $limit = $ENV{DEADLINE_S} || 600;

die "no edge module at $WorkerStack::MODULE (make module)\n"
    unless WorkerStack::have_module();
my $s = WorkerStack->new(edge => 1, commerce => 1, worker_env => {
    HFT71_POLL_INTERVAL_S => 3600, HFT71_SWEEP_INTERVAL_S => 10,
    JOB_CLAIM_IDLE_MS => 15000, HTTP_TIMEOUT_MS => 3000,
    RETRY_BASE_MS => 1000, RETRY_MAX_MS => 10000, JOB_MAX_ATTEMPTS => 8,
})->start_all;
$s->start_second_worker if $workers > 1;

my @ids = map { 10000 + $_ } 1 .. $orders;
$s->wc_seed(map { { id => $_, status => 'processing',
                    line_items => [ { sku => "SKU-$_", quantity => 1 } ] } } @ids);

my @rules = $mode eq '503' ? ([ mode => 'status', status => 503 ])
          : $mode eq 'lost_reply' ? ([ mode => 'lost_reply' ])
          : $mode eq 'timeout' ? ([ mode => 'delay', delay_ms => 5000 ])
          : ([ mode => 'lost_reply', count => 20 ],
             [ mode => 'status', status => 503, count => 40 ],
             [ mode => 'reset', count => 20 ],
             [ mode => 'delay', delay_ms => 5000, count => 10 ]);
# the counted rules first, then whatever is left of the outage as 503s
my $t0 = time;
for my $r (@rules) {
    my %r = @$r;
    $s->fail_next('hft71', action => '*', %r, ($r{count} ? () : (for_s => $outage)));
}
$s->fail_next('hft71', action => '*', mode => 'status', status => 503, for_s => $outage)
    if $mode eq 'mixed';

my ($sent, $refused) = (0, 0);
for my $id (@ids) {
    my ($st) = $s->wc_webhook({ id => $id, status => 'processing',
                                line_items => [ { sku => "SKU-$id", quantity => 1 } ] },
                              topic => 'order.created');
    $st == 202 ? $sent++ : $refused++;
}
my $t_in = time - $t0;
printf "queued %d orders through the edge in %.1f s (%d refused)\n", $sent, $t_in, $refused;
sleep 0.5 while time - $t0 < $outage;
$s->reset_faults('hft71');
my $t_up = time - $t0;
printf "HFT71 back after %.1f s\n", $t_up;

my %hft;
my $done = WorkerStack::wait_until('all written back', $limit, sub {
    my @orders = @{ $s->ledger('woo')->{orders} };
    my $n = grep { grep { $_->{key} eq '_hft71_order_id' && $_->{value} } @{ $_->{meta_data} } }
            grep { $_->{id} >= 10001 } @orders;
    return $n == $orders;
});
my $t_all = time - $t0;
my $ledger = $s->ledger('hft71');
$hft{ $_->{reference} }++ for @{ $ledger->{orders} };
my @dups = grep { ($hft{$_} || 0) > 1 } @ids;
my @missing = grep { !$hft{$_} } @ids;
my %meta = map { my $o = $_; ($o->{id} => (map { $_->{value} } grep { $_->{key} eq '_hft71_order_id' } @{ $o->{meta_data} })[0]) }
           @{ $s->ledger('woo')->{orders} };
my %made = map { $_->{order_id} => $_->{reference} } @{ $ledger->{orders} };
my @wrong = grep { !$meta{$_} || ($made{ $meta{$_} } // '') ne "$_" } @ids;
my %calls;
$calls{ $_->{action} . ' ' . ($_->{outcome} || '') }++ for @{ $ledger->{calls} };
my (undef, undef, $res) = $s->request(GET => $s->worker_url . '/metrics');
my ($lookup) = $res->{content} =~ /duplicates_prevented_total\{how="lookup"\} (\d+)/;

printf "all %d orders written back: %s, %.1f s after the outage began (%.1f s after HFT71 came back)\n",
    $orders, $done ? 'yes' : 'NO', $t_all, $t_all - $t_up;
printf "HFT71 orders: %d for %d WooCommerce orders; duplicates %d, missing %d, wrong write-back %d\n",
    scalar(@{ $ledger->{orders} }), $orders, scalar(@dups), scalar(@missing), scalar(@wrong);
printf "found by reference instead of re-sent (first worker's metric): %s\n", $lookup // 0;
print "HFT71 calls by action and outcome:\n";
printf "  %-40s %d\n", $_, $calls{$_} for sort keys %calls;
my $ok = $done && !@dups && !@missing && !@wrong;
print $ok ? "PASS: exactly one HFT71 order per WooCommerce order\n"
          : "FAIL\n";
exit($ok ? 0 : 1);

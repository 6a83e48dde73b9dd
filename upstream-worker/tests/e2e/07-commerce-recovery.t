# The commerce flow when things break, through nginx with the edge module:
# HFT71 down (5xx, lost replies, timeouts) then back, every order queued
# meanwhile gets exactly one HFT71 order; the webhook path broken, polling
# completes the orders; the sweep finds processing orders no webhook
# announced; SIGKILL between HFT71's 201 and the write-back; two workers
# racing on duplicate webhooks; POST /hft71/resend; 401 is not retried.
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use WorkerStack;

plan skip_all => "no edge module at $WorkerStack::MODULE (make -C .. module)"
    unless WorkerStack::have_module();

my $s = WorkerStack->new(edge => 1, commerce => 1, worker_env => {
    HFT71_POLL_INTERVAL_S => 1, HFT71_SWEEP_INTERVAL_S => 2,
    JOB_CLAIM_IDLE_MS => 3000, HTTP_TIMEOUT_MS => 1500,
    RETRY_BASE_MS => 200, RETRY_MAX_MS => 1000, JOB_MAX_ATTEMPTS => 4,
})->start_all;

sub order {
    my ($id, %o) = @_;
    return { id => $id, status => 'processing',
             line_items => [ { sku => 'SKU-A', quantity => 1 } ], %o };
}

sub counts {
    my (@ids) = @_;
    my %n;
    $n{ $_->{reference} }++ for @{ $s->ledger('hft71')->{orders} };
    return map { $n{$_} || 0 } @ids;
}

sub all_written {
    my (@ids) = @_;
    return !(grep { !$s->wc_order($_)->{meta}{_hft71_order_id} } @ids);
}

subtest 'webhook path broken: polling completes the orders' => sub {
    $s->hft71_webhook(0);
    my @ids = (201 .. 203);
    $s->wc_seed(map { order($_) } @ids);
    $s->wc_webhook(order($_)) for @ids;
    ok WorkerStack::wait_until('sent', 30, sub { all_written(@ids) }), 'all sent';
    for my $id (@ids) {
        my $h = $s->wc_order($id)->{meta}{_hft71_order_id};
        $s->hft71_set_status($h, 'shipped', tracking_number => "T$id");
    }
    ok WorkerStack::wait_until('completed', 30, sub {
        !(grep { $s->wc_order($_)->{status} ne 'completed' } @ids) }), 'all completed by polling';
    is_deeply [ map { $s->wc_order($_)->{meta}{_hft71_tracking} } @ids ], [ map { "T$_" } @ids ],
              'tracking numbers';
    is scalar(@{ $s->ledger('hft71')->{deliveries} }), 0, 'no webhook was delivered';
    my (undef, $v) = $s->worker(GET => '/commerce/orders/201');
    ok((grep { $_->{event} eq 'hft71_status' && $_->{source} eq 'poll' } @{ $v->{history} }),
       'history: source poll');
    my (undef, $log) = $s->worker(GET => '/hft71/log?action=get_status&limit=5');
    ok @{ $log->{entries} } > 0, 'get_status calls in the HFT71 log';
    $s->hft71_webhook(1);
};

subtest 'HFT71 down then back: each order gets exactly one HFT71 order' => sub {
    my @ids = (301 .. 320);
    $s->wc_seed(map { order($_) } @ids);
    # lost replies first (the order is made, the answer never comes), then
    # an outage of 503s and timeouts
    $s->fail_next('hft71', action => 'send_order', mode => 'lost_reply', count => 4);
    $s->fail_next('hft71', action => 'send_order', mode => 'status', status => 503, for_s => 4);
    $s->fail_next('hft71', action => '*', mode => 'delay', delay_ms => 2000, count => 3);
    $s->wc_webhook(order($_)) for @ids;
    sleep 4;
    ok WorkerStack::wait_until('all sent', 60, sub { all_written(@ids) }), 'every order written back';
    is_deeply [ counts(@ids) ], [ (1) x @ids ], 'exactly one HFT71 order each';
    my %ids = map { $s->wc_order($_)->{meta}{_hft71_order_id} => 1 } @ids;
    is scalar(keys %ids), scalar(@ids), 'all distinct';
    my (undef, undef, $res) = $s->request(GET => $s->worker_url . '/metrics');
    like $res->{content}, qr/webhook_worker_hft71_duplicates_prevented_total\{how="lookup"\} [1-9]/,
         'lost replies found by reference (duplicates prevented)';
    $s->reset_faults('hft71');
};

subtest 'the sweep sends processing orders no webhook announced' => sub {
    my @ids = (401 .. 405);
    $s->wc_seed(map { order($_) } @ids);
    ok WorkerStack::wait_until('swept', 30, sub { all_written(@ids) }), 'sent by the sweep';
    is_deeply [ counts(@ids) ], [ (1) x @ids ], 'once each';
    like $s->log_text('worker'), qr/"event":"hft71_sweep"/, 'the sweep logs its round';
};

subtest 'SIGKILL between HFT71\'s 201 and the write-back: one HFT71 order' => sub {
    $s->wc_seed(order(501));
    # the write-back PUT hangs; the worker is killed while it waits
    $s->fail_next('woo', action => 'update_order', mode => 'delay', delay_ms => 4000, count => 1,
                  path => '/wp-json/wc/v3/orders/501');
    $s->wc_webhook(order(501));
    ok WorkerStack::wait_until('sent', 20, sub { (counts(501))[0] == 1 }), 'HFT71 has the order';
    $s->kill9('worker');
    ok !$s->wc_order(501)->{meta}{_hft71_order_id}, 'not written back yet';
    $s->redis_cmd('HDEL', 'wh:wc:501', 'hft71_order_id');   # as if the 201 was never recorded
    $s->start_worker;
    ok WorkerStack::wait_until('written back', 40, sub { $s->wc_order(501)->{meta}{_hft71_order_id} }),
       'written back after the restart';
    sleep 1;
    is((counts(501))[0], 1, 'still exactly one HFT71 order');
    my ($h) = $s->hft71_orders_for(501);
    is $s->wc_order(501)->{meta}{_hft71_order_id}, $h->{order_id}, 'the one HFT71 made';
    my $lookups = grep { $_->{action} eq 'find_orders' && $_->{path} eq '/orders' }
                  @{ $s->ledger('hft71')->{calls} };
    ok $lookups >= 1, 'found through GET /orders?reference=';
};

subtest 'SIGKILL while send_order is in flight: one HFT71 order' => sub {
    $s->wc_seed(order(502));
    # HFT71 makes the order after 1 s; the worker is killed before that
    $s->fail_next('hft71', action => 'send_order', mode => 'delay', delay_ms => 1000, count => 1);
    $s->wc_webhook(order(502));
    ok WorkerStack::wait_until('in flight', 20, sub {
        ($s->redis_cmd('HGET', 'wh:wc:502', 'send_state') // '') eq 'sending' }), 'sending';
    $s->kill9('worker');
    ok WorkerStack::wait_until('made', 10, sub { (counts(502))[0] == 1 }), 'HFT71 made it anyway';
    $s->start_worker;
    ok WorkerStack::wait_until('written back', 40, sub { $s->wc_order(502)->{meta}{_hft71_order_id} }),
       'written back after the restart';
    sleep 1;
    is((counts(502))[0], 1, 'exactly one HFT71 order');
};

subtest 'two workers, duplicate webhooks: one HFT71 order each' => sub {
    $s->start_second_worker;
    my @ids = (601 .. 610);
    $s->wc_seed(map { order($_) } @ids);
    for my $n (1 .. 3) {
        $s->wc_webhook(order($_, date_modified_gmt => "2026-02-02T00:00:0$n")) for @ids;
    }
    ok WorkerStack::wait_until('sent', 40, sub { all_written(@ids) }), 'all sent';
    sleep 2;
    is_deeply [ counts(@ids) ], [ (1) x @ids ], 'one HFT71 order each';
    $s->stop('worker2');
};

subtest 'POST /hft71/resend and credentials' => sub {
    $s->fail_next('hft71', action => 'send_order', mode => 'status', status => 401, count => 1);
    $s->wc_seed(order(701));
    $s->wc_webhook(order(701));
    my $failed = WorkerStack::wait_until('401', 20, sub {
        grep { $_->{action} eq 'send_order' && $_->{status} == 401 } @{ $s->ledger('hft71')->{calls} } });
    ok $failed, 'HFT71 answered 401';
    # an order a poll job holds right now is reported busy: ask again
    my ($st, $b, %r);
    for (1 .. 20) {
        ($st, $b) = $s->worker(POST => '/hft71/resend', json => { order_ids => [ 701, 301 ] });
        %r = map { $_->{order_id} => $_ } @{ $b->{orders} };
        last unless grep { $_->{result} eq 'busy' } values %r;
        sleep 0.2;
    }
    is $st, 200, 'resend: 200';
    ok $r{701}{hft71_order_id}, 'resent 701' or diag explain $b;
    is $r{301}{outcome}, 'already_sent', '301 was already sent: reported, not resent';
    is((counts(701))[0], 1, 'one HFT71 order for 701');
    is((counts(301))[0], 1, 'still one for 301');
    ($st, $b) = $s->worker(POST => '/hft71/resend', json => { limit => 0 });
    is $st, 400, 'limit 0: 400';
    ($st, $b) = $s->worker(POST => '/hft71/resend', json => { limit => 10 });
    is $st, 200, 'resend by limit';
    is scalar(@{ $b->{orders} }), 0, 'no processing order without _hft71_order_id left';
    ok !(grep { $_->{result} ne 'done' } @{ $b->{orders} }), 'nothing left to send';
};

done_testing;

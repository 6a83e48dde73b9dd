# The WooCommerce <-> HFT71 order flow with Stripe payments, through nginx
# with the edge module (stripe, woocommerce and hft71 schemes) to the
# worker and its fakes: a payment moves an order to processing, it is sent
# to HFT71 once, HFT71's webhook completes it; Stripe duplicates and
# reordering; unknown orders on the webhook; address and item changes.
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use WorkerStack;

plan skip_all => "no edge module at $WorkerStack::MODULE (make -C .. module)"
    unless WorkerStack::have_module();

my $s = WorkerStack->new(edge => 1, commerce => 1)->start_all;

sub order {
    my ($id, %o) = @_;
    return { id => $id, status => 'pending',
             line_items => [ { sku => 'SKU-A', quantity => 2 },
                             { sku => 'SKU-B', quantity => 1 } ], %o };
}

sub one_hft71 {
    my ($wc) = @_;
    my @h = $s->hft71_orders_for($wc);
    return scalar(@h) == 1 ? $h[0] : undef;
}

subtest 'a Stripe payment: processing, sent once, shipped by webhook, completed' => sub {
    $s->wc_seed(order(101));
    my $ev = WorkerStack::stripe_event('payment_intent.succeeded', 101);
    my ($st, $b) = $s->stripe_post($ev);
    is $st, 200, 'Stripe event: 200 through the edge';
    ok $b->{received}, 'received';
    my $o = $s->wait_wc(101, 20, sub { $_[0]{meta}{_hft71_order_id} });
    is $o->{status}, 'processing', 'WooCommerce order is processing';
    my $h = one_hft71(101);
    ok $h, 'exactly one HFT71 order for the reference';
    is $o->{meta}{_hft71_order_id}, $h->{order_id}, '_hft71_order_id written back';
    my ($sent) = grep { $_->{action} eq 'send_order' && $_->{method} eq 'POST' }
                 @{ $s->ledger('hft71')->{calls} };
    is_deeply [ map { $_->{sku} . 'x' . $_->{quantity} } @{ $sent->{body}{items} } ],
              [ 'SKU-Ax2', 'SKU-Bx1' ], 'items as HFT71 wants them';
    is $sent->{body}{shipping}{name}, 'Test Buyer', 'shipping name';
    is $sent->{body}{reference}, '101', 'reference is the WooCommerce id';

    $s->hft71_set_status($h->{order_id}, 'shipped', tracking_number => 'TRACK-101');
    $o = $s->wait_wc(101, 20, sub { $_[0]{status} eq 'completed' });
    is $o->{status}, 'completed', 'completed by the webhook';
    is $o->{meta}{_hft71_last_status}, 'shipped', '_hft71_last_status';
    is $o->{meta}{_hft71_tracking}, 'TRACK-101', '_hft71_tracking';
    ok((grep { $_->{note} =~ /TRACK-101/ } @{ $o->{notes} }), 'order note with the tracking number');
    my (undef, $view) = $s->worker(GET => '/commerce/orders/101');
    is $view->{hft71_order_id}, $h->{order_id}, 'GET /commerce/orders/101: HFT71 id';
    is $view->{hft71_status}, 'shipped', 'its status';
    ok((grep { $_->{event} eq 'hft71_status' && $_->{source} eq 'webhook' } @{ $view->{history} }),
       'history: the status came by webhook');
    my $deliv = $s->ledger('hft71')->{deliveries};
    is $deliv->[-1]{http_status}, 200, 'HFT71 got 200 for its webhook';

    # delivered is final: an older (replayed) shipped changes nothing
    $s->hft71_set_status($h->{order_id}, 'delivered');
    $s->wait_commerce(101, 20, sub { $_[0]{hft71_status} eq 'delivered' });
    my ($st2, $b2) = $s->hft71_post({ order_id => $h->{order_id}, reference => '101',
        status => 'on_hold', tracking_number => undef,
        updated_at => '2020-01-01T00:00:00Z' });
    is $st2, 200, 'an old update is still acknowledged';
    sleep 1;
    (undef, $view) = $s->worker(GET => '/commerce/orders/101');
    is $view->{hft71_status}, 'delivered', 'an older update changes nothing';
    ok $view->{final}, 'delivered is final';
    is $s->wc_order(101)->{status}, 'completed', 'still completed';
    is scalar($s->hft71_orders_for(101)), 1, 'still one HFT71 order';
};

subtest 'the same Stripe event three times: one job, one HFT71 order' => sub {
    $s->wc_seed(order(102));
    my $ev = WorkerStack::stripe_event('checkout.session.completed', 102,
                                       object => { payment_status => 'paid' });
    # Stripe signs every retry anew (a new t): the edge's replay check
    # stops only a copy of the same signed delivery
    my @res = map { [ $s->stripe_post($ev, time => time - 10 * $_) ] } 1 .. 3;
    is_deeply [ map { $_->[0] } @res ], [ 200, 200, 200 ], 'three 200s';
    is scalar(grep { $_->[1]{duplicate} } @res), 2, 'two answered as duplicates';
    is scalar(keys %{ { map { $_->[1]{job_id} => 1 } @res } }), 1, 'one job';
    my $o = $s->wait_wc(102, 20, sub { $_[0]{meta}{_hft71_order_id} });
    ok one_hft71(102), 'one HFT71 order';
    my $unpaid = WorkerStack::stripe_event('checkout.session.completed', 103,
                                           object => { payment_status => 'unpaid' });
    $s->wc_seed(order(103));
    is(($s->stripe_post($unpaid))[0], 200, 'an unpaid session: 200');
    sleep 1;
    is $s->wc_order(103)->{status}, 'pending', 'unpaid changes nothing';
};

subtest 'Stripe events out of order' => sub {
    $s->wc_seed(order(104));
    my $t = time;
    my $paid = WorkerStack::stripe_event('payment_intent.succeeded', 104, created => $t - 100);
    my $failed = WorkerStack::stripe_event('payment_intent.payment_failed', 104, created => $t - 200);
    my $refund = WorkerStack::stripe_event('charge.refunded', 104, created => $t - 50,
        object => { amount => 1000, amount_refunded => 1000, refunded => JSON::PP::true });
    # the refund arrives first, then the payment, then the older failure
    is(($s->stripe_post($refund))[0], 200, 'refund first');
    $s->wait_wc(104, 20, sub { $_[0]{status} eq 'refunded' });
    is(($s->stripe_post($paid))[0], 200, 'then the payment');
    is(($s->stripe_post($failed))[0], 200, 'then the older failure');
    sleep 2;
    my $o = $s->wc_order(104);
    is $o->{status}, 'refunded', 'a refunded order never goes back';
    is scalar($s->hft71_orders_for(104)), 0, 'and is not sent to HFT71';

    $s->wc_seed(order(105));
    my $paid5 = WorkerStack::stripe_event('charge.succeeded', 105, created => $t - 10);
    my $fail5 = WorkerStack::stripe_event('charge.failed', 105, created => $t - 20);
    $s->stripe_post($paid5);
    $s->wait_wc(105, 20, sub { $_[0]{meta}{_hft71_order_id} });
    $s->stripe_post($fail5);
    sleep 1;
    is $s->wc_order(105)->{status}, 'processing', 'a late failure does not undo a payment';

    $s->wc_seed(order(106));
    $s->stripe_post(WorkerStack::stripe_event('payment_intent.payment_failed', 106, created => $t - 30));
    $s->wait_wc(106, 20, sub { $_[0]{status} eq 'failed' });
    $s->stripe_post(WorkerStack::stripe_event('payment_intent.succeeded', 106, created => $t - 5));
    my $o6 = $s->wait_wc(106, 20, sub { $_[0]{meta}{_hft71_order_id} });
    is $o6->{status}, 'processing', 'paid after a failure: processing';
    ok one_hft71(106), 'and sent once';

    $s->wc_seed(order(107, status => 'processing', meta_data => [ { key => '_hft71_order_id', value => 'H-EXT' } ]));
    $s->stripe_post(WorkerStack::stripe_event('charge.refunded', 107,
        object => { amount => 1000, amount_refunded => 300, refunded => JSON::PP::false }));
    my $o7 = $s->wait_wc(107, 20, sub { grep { $_->{note} =~ /refunded 300/ } @{ $_[0]{notes} } });
    is $o7->{status}, 'processing', 'a partial refund: status kept';
    ok((grep { $_->{note} =~ /refunded 300/ } @{ $o7->{notes} }), 'an order note instead');

    my ($st, $b) = $s->stripe_post(WorkerStack::stripe_event('customer.created', undef,
                                     object => { object => 'customer' }));
    is $st, 200, 'customer.created: 200';
    ok $b->{received}, 'stored';
};

subtest 'the HFT71 webhook for an unknown order: 404' => sub {
    my ($st, $b) = $s->hft71_post({ order_id => 'H999999', reference => '999',
        status => 'shipped', tracking_number => 'X', updated_at => '2026-01-01T00:00:00Z' });
    is $st, 404, 'unknown order: 404';
    is_deeply $b, { success => JSON::PP::false, error => 'unknown_order' }, 'its body';
    ($st) = $s->hft71_post({ order_id => 'H000001', status => 'shipped',
        updated_at => '2026-01-01T00:00:00Z' }, secret => 'wrong');
    is $st, 401, 'a wrong secret stops at the edge';
    ($st, $b) = $s->hft71_post({ order_id => 'H000001', status => 'lost',
        updated_at => '2026-01-01T00:00:00Z' });
    is $st, 400, 'an unknown status: 400';
    like $b->{message}, qr/status must be one of/, 'says why';
    my (undef, $log) = $s->worker(GET => '/hft71/log?action=webhook&limit=5');
    ok((grep { $_->{status} == 404 && $_->{hft71_order_id} eq 'H999999' } @{ $log->{entries} }),
       'GET /hft71/log has the refused webhook');
};

subtest 'WooCommerce webhooks: duplicates, not processing, ping' => sub {
    $s->wc_seed(order(110, status => 'processing'));
    # order.created, then order.updated twice (each body differs, so each
    # is its own signed delivery at the edge)
    my @r = map { [ $s->wc_webhook(order(110, status => 'processing',
                                         date_modified_gmt => "2026-01-01T00:00:0$_"),
                                   topic => $_ == 1 ? 'order.created' : 'order.updated') ] } 1 .. 3;
    ok !(grep { $_->[0] != 202 } @r), 'three deliveries: 202 each';
    my ($first) = $s->wc_webhook(order(110, status => 'processing',
                                       date_modified_gmt => '2026-01-01T00:00:05'),
                                 delivery => 'same-delivery');
    my ($again2) = $s->wc_webhook(order(110, status => 'processing',
                                        date_modified_gmt => '2026-01-01T00:00:09'),
                                  delivery => 'same-delivery');
    is $first, 202, 'a new delivery id: 202';
    is $again2, 200, 'a delivery id seen before: 200, nothing new queued';
    $s->wait_wc(110, 20, sub { $_[0]{meta}{_hft71_order_id} });
    sleep 1;
    is scalar($s->hft71_orders_for(110)), 1, 'three webhooks, one HFT71 order';
    $s->wc_seed(order(111));
    my ($st) = $s->wc_webhook(order(111));
    is $st, 202, 'a pending order is queued';
    sleep 1;
    is scalar($s->hft71_orders_for(111)), 0, 'and not sent';
    ($st, my $b) = $s->request(POST => $s->nginx_url . '/events/woocommerce',
        body => 'webhook_id=12', headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    is $st, 200, 'the creation ping: 200 at the edge';
    ($st) = $s->wc_webhook(order(111), secret => 'nope');
    is $st, 401, 'a bad signature stops at the edge';
};

subtest 'address and item changes before and after shipping' => sub {
    $s->wc_seed(order(120, status => 'processing'));
    $s->wc_webhook(order(120, status => 'processing'));
    my $o = $s->wait_wc(120, 20, sub { $_[0]{meta}{_hft71_order_id} });
    my $hid = $o->{meta}{_hft71_order_id};
    my %ship = (%{ $o->{shipping} }, address_1 => '2 New Road');
    $s->wc_seed(order(120, status => 'processing', shipping => \%ship,
                      meta_data => [ { key => '_hft71_order_id', value => $hid } ]));
    $s->wc_webhook($s->wc_order(120));
    my $ok = WorkerStack::wait_until('address update', 20, sub {
        grep { $_->{action} eq 'update_order_address' && $_->{status} == 200 }
            @{ $s->ledger('hft71')->{calls} } });
    ok $ok, 'update_order_address sent';
    my ($h) = $s->hft71_orders_for(120);
    is $h->{shipping}{address_1}, '2 New Road', 'HFT71 has the new address';

    $s->hft71_set_status($hid, 'shipped', tracking_number => 'T120');
    $s->wait_wc(120, 20, sub { $_[0]{status} eq 'completed' });
    $s->wc_seed(order(120, status => 'completed', shipping => \%ship,
                      line_items => [ { sku => 'SKU-A', quantity => 5 } ],
                      meta_data => [ { key => '_hft71_order_id', value => $hid } ]));
    $s->wc_webhook($s->wc_order(120));
    my $o2 = $s->wait_wc(120, 20, sub { grep { $_->{note} =~ /locked/ } @{ $_[0]{notes} } });
    ok((grep { $_->{note} =~ /locked/ } @{ $o2->{notes} }), 'order_locked: an order note');
    sleep 1;
    is scalar(grep { $_->{action} eq 'update_order' && $_->{status} == 409 }
                   @{ $s->ledger('hft71')->{calls} }), 1, 'and no retry of update_order';
};

subtest 'the operator endpoints' => sub {
    my ($st, $log) = $s->worker(GET => '/hft71/log?action=send_order&limit=3');
    is $st, 200, 'GET /hft71/log';
    ok @{ $log->{entries} } <= 3 && @{ $log->{entries} } >= 1, 'limit honoured';
    ok !(grep { $_->{action} ne 'send_order' } @{ $log->{entries} }), 'filtered by action';
    my $e = $log->{entries}[0];
    ok exists $e->{$_}, "entry has $_" for qw(action order_id hft71_order_id status class ts_ms);
    ($st) = $s->worker(GET => '/hft71/log?action=nope');
    is $st, 400, 'unknown action: 400';
    ($st) = $s->worker(GET => '/commerce/orders/abc');
    is $st, 400, 'bad order id: 400';
    ($st) = $s->worker(GET => '/commerce/orders/424242');
    is $st, 404, 'unknown order: 404';
    my (undef, $h) = $s->worker(GET => '/health');
    ok $h->{last_success}{$_}, "health: last_success $_" for qw(hft71 woocommerce stripe_events);
    my $m = $s->request(GET => $s->worker_url . '/metrics');
    my (undef, undef, $res) = $s->request(GET => $s->worker_url . '/metrics');
    like $res->{content}, qr/webhook_worker_hft71_orders_sent_total\{source="stripe"\} [1-9]/, 'orders sent counted';
    like $res->{content}, qr/webhook_worker_hft71_calls_total\{action="send_order",status_class="2xx"\}/, 'calls by action';
    like $res->{content}, qr/webhook_worker_hft71_status_updates_total\{source="webhook",outcome="applied"\}/, 'webhook updates';
    like $res->{content}, qr/webhook_worker_stripe_events_total\{effect="refunded",outcome="applied"\} 1/, 'stripe events';
    my $direct = WorkerStack::stripe_event('payment_intent.succeeded', 101);
    ($st) = $s->worker(POST => '/events/stripe', json => $direct);
    is $st, 401, 'a Stripe event that skips the edge: 401';
};

done_testing;

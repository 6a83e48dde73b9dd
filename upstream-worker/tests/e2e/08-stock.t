# Stock sync HFT71 -> WooCommerce against the fakes (real Redis, real
# worker processes): the drift report before, a first sync, a resync that
# writes only the changes, a partial sync, per-item errors inside a 200,
# WooCommerce 5xx mid-run (retried; an outage fails the run, the next one
# converges), a run SIGKILLed halfway and resumed by the next worker, two
# workers asked at once (one run), the timer, and the drift report after.
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(:sys_wait_h);
use WorkerStack;

my @PRIORITY = qw(SKU-000599 SKU-000600);
my $s = WorkerStack->new(commerce => 1, worker_env => {
    JOB_CLAIM_IDLE_MS => 3000, HTTP_TIMEOUT_MS => 2000,
    HFT71_STOCK_PAGE_SIZE => 50,
    STOCK_PRIORITY_SKUS => join(',', @PRIORITY),
})->start_all;

sub woo  { my ($m, $p, %o) = @_; $s->request($m => $s->woo_url . $p, %o) }
sub hft  { my ($m, $p, %o) = @_; $s->request($m => $s->hft71_url . $p, %o) }

sub hft71_stock { (hft(GET => '/__stock'))[1]{stock} }
sub wc_view     { (woo(GET => '/__stock_view'))[1]{items} }
sub wc_stats    { (woo(GET => '/__stats'))[1] }
sub clear_stats { woo(DELETE => '/__stats'); hft(DELETE => '/__stats') }

sub set_hft71 {
    my (%stock) = @_;
    my ($st) = hft(POST => '/__stock', json => {
        items => [ map { { sku => $_, available => $stock{$_} } } sort keys %stock ] });
    die "hft71 stock: $st" unless $st == 200;
}

sub churn {
    my ($share, $seed) = @_;
    my ($st, $d) = hft(POST => '/__stock', json => { churn => $share, seed => $seed });
    die "churn: $st" unless $st == 200;
    return @{ $d->{changed} };
}

# SKUs whose WooCommerce items (managed) do not hold HFT71's quantity,
# duplicates left out.
sub unsynced {
    my $h = hft71_stock();
    my $w = wc_view();
    return grep {
        my $items = $w->{$_};
        $items && @$items == 1
            && !($items->[0]{manage_stock} && $items->[0]{manage_stock} ne 'parent'
                 && $items->[0]{stock_quantity} == $h->{$_}
                 # an item already at HFT71's quantity is not written
                 && (!defined $items->[0]{meta} || $items->[0]{meta} eq "$h->{$_}"))
    } sort keys %$h;
}

sub converged {
    my ($name) = @_;
    my @left = unsynced();
    my $h = hft71_stock();
    my $w = wc_view();
    is_deeply \@left, [], $name
        or diag explain [ map { { sku => $_, hft71 => $h->{$_}, wc => $w->{$_} } } @left[0 .. 2] ];
}

sub sync {
    my ($body) = @_;
    my ($st, $d) = $s->worker(POST => '/stock/sync', ($body ? (json => $body) : ()));
    return ($st, $d);
}

sub wait_run {
    my ($id, $timeout, @want) = @_;
    my %want = map { $_ => 1 } (@want ? @want : qw(succeeded failed));
    my $last;
    WorkerStack::wait_until("run $id", $timeout, sub {
        my ($st, $d) = $s->worker(GET => "/stock/sync/$id");
        $last = $d;
        return $st == 200 && $want{ $d->{status} };
    });
    return $last;
}

sub run_sync {
    my ($body, $timeout) = @_;
    my ($st, $d) = sync($body);
    is $st, 202, 'sync accepted' or diag explain $d;
    return wait_run($d->{run_id}, $timeout || 60);
}

sub batch_calls {
    my ($action) = @_;
    return grep { $_->{action} eq $action } @{ $s->ledger('woo')->{calls} };
}

sub log_entries {
    my ($run_id) = @_;
    my (undef, $d) = $s->worker(GET => '/hft71/log?action=stock_sync&limit=1000');
    return grep { !$run_id || $_->{run_id} eq $run_id } @{ $d->{entries} };
}

# -- the catalogue: 600 SKUs (a quarter variations of 6 variable products),
# a SKU twice, one not managed, one only in WooCommerce, one only in HFT71
my ($st, $gen) = woo(POST => '/__generate', json => { skus => 600, variation_share => 0.25,
                                                       per_parent => 25, stock => 0 });
is $st, 200, 'catalogue generated';
is_deeply [ @$gen{qw(products variations)} ], [ 450 + 6, 150 ], '456 products, 150 variations';
($st) = woo(POST => '/__products', json => { products => [
    { sku => 'DUP-1', stock_quantity => 1 }, { sku => 'DUP-1', stock_quantity => 2 },
    { sku => 'UNMANAGED-1', manage_stock => JSON::PP::false, stock_quantity => undef },
    { sku => 'WC-ONLY-1', stock_quantity => 4 },
] });
is $st, 204, 'extra products';
($st) = hft(POST => '/__stock', json => { generate => 600, seed => 11 });
is $st, 200, 'HFT71 stock generated';
set_hft71('DUP-1' => 5, 'UNMANAGED-1' => 7, 'HFT-ONLY-1' => 3);

subtest 'bad requests' => sub {
    my ($st, $d) = sync({ skus => 'SKU-000001' });
    is $st, 400, 'skus not a list';
    ($st) = sync({ skus => [ 'A,B' ] });
    is $st, 400, 'a comma in a SKU';
    ($st) = sync({ skus => [] });
    is $st, 400, 'empty list';
    ($st) = sync({ reindex => 'yes' });
    is $st, 400, 'reindex not a boolean';
    ($st) = $s->worker(POST => '/stock/sync', body => 'not json');
    is $st, 400, 'not JSON';
    ($st, $d) = $s->worker(GET => '/stock/sync/stk_nope');
    is $st, 404, 'unknown run';
    ($st) = $s->worker(GET => '/stock/drift?sample=0');
    is $st, 400, 'sample 0';
    ($st) = $s->worker(GET => '/stock/sync');
    is $st, 405, 'GET /stock/sync';
};

my %before;
subtest 'drift report before the first sync' => sub {
    my $h = hft71_stock();
    my $want_qty = grep { /^SKU-/ && $h->{$_} != 0 } keys %$h;
    my ($st, $d) = $s->worker(GET => '/stock/drift');
    is $st, 200, 'report' or diag explain $d;
    is $d->{mode}, 'full', 'full';
    is $d->{counts}{quantity_differs}, $want_qty + 1, 'quantity differs: the SKUs not at 0, and the unmanaged one';
    is scalar(@{ $d->{quantity_differs} }), 200, 'the list is capped (the count is not)';
    is $d->{list_max}, 200, 'list_max';
    is_deeply $d->{missing_in_woocommerce}, [ 'HFT-ONLY-1' ], 'in HFT71 only';
    is_deeply $d->{missing_in_hft71}, [ { sku => 'WC-ONLY-1', woocommerce => 4 } ], 'in WooCommerce only';
    is scalar(@{ $d->{duplicate_sku} }), 1, 'one duplicate';
    is $d->{duplicate_sku}[0]{sku}, 'DUP-1', 'DUP-1';
    is scalar(@{ $d->{duplicate_sku}[0]{ids} }), 2, 'both ids';
    my (undef, undef, $res) = $s->worker(GET => '/metrics');
    like $res->{content}, qr/webhook_worker_stock_drift_skus\{kind="quantity_differs"\} \Q@{[$want_qty + 1]}\E\.000/,
         'drift gauge';
    %before = %{ $d->{counts} };
};

my $first;
subtest 'first sync' => sub {
    clear_stats();
    my $hseen = scalar @{ $s->ledger('hft71')->{calls} };
    my $want = grep { /^SKU-/ && hft71_stock()->{$_} != 0 } keys %{ hft71_stock() };
    $first = run_sync();
    is $first->{status}, 'succeeded', 'succeeded' or diag explain $first;
    is $first->{kind}, 'full', 'full';
    is $first->{rebuilt_index}, 1, 'index built from WooCommerce';
    is $first->{written}, $want + 1, 'written: every quantity that differed and the unmanaged one';
    is $first->{unmatched}, 1, 'HFT-ONLY-1 unmatched';
    is $first->{duplicates}, 1, 'DUP-1 left alone';
    is $first->{item_errors}, 0, 'no item errors';
    is_deeply [ unsynced() ], [], 'every WooCommerce quantity and meta is HFT71\'s';
    my $v = wc_view();
    is_deeply [ sort map { $_->{stock_quantity} } @{ $v->{'DUP-1'} } ], [ 1, 2 ], 'duplicates not written';
    is $v->{'WC-ONLY-1'}[0]{stock_quantity}, 4, 'WooCommerce-only item untouched';
    my @batches = (batch_calls('batch_products'), batch_calls('batch_variations'));
    ok @batches > 0, scalar(@batches) . ' batch calls';
    is scalar(grep { scalar(@{ $_->{body}{update} }) > 100 } @batches), 0, 'none over 100 items';
    is scalar(grep { $_->{status} != 200 } @batches), 0, 'all 200';
    my %parents = map { $_->{path} => 1 } batch_calls('batch_variations');
    is scalar(keys %parents), 6, 'variations written through their own parent\'s batch endpoint';
    is scalar(batch_calls('batch_variations')), 7,
       'one variations batch per parent (25 each), and one for the priority SKUs (variations)';
    # priority SKUs first: the first stock call names them, the first batch holds them
    my @hcalls = grep { $_->{action} eq 'stock_available' && $_->{seq} > $hseen }
                 @{ $s->ledger('hft71')->{calls} };
    is $hcalls[0]{query}{skus}, join(',', @PRIORITY), 'first HFT71 call: the priority SKUs';
    my ($fb) = grep { $_->{action} =~ /^batch_/ } @{ $s->ledger('woo')->{calls} };
    is $fb->{action}, 'batch_variations', 'the first batch: variations (the priority SKUs are)';
    my $w = wc_view();
    my %first_ids = map { $_->{id} => 1 } @{ $fb->{body}{update} };
    ok((grep { $first_ids{ $w->{$_}[0]{id} } } @PRIORITY), 'first batch: the priority SKUs');
    is scalar(grep { $_->{query}{per_page} && $_->{query}{per_page} > 100 } batch_calls('list_products')), 0,
       'WooCommerce pages of at most 100';
    my @log = log_entries($first->{run_id});
    ok((grep { $_->{detail} eq 'run_started' } @log), 'log: run_started');
    ok((grep { $_->{detail} eq 'run_finished' && $_->{outcome} eq 'succeeded' } @log), 'log: run_finished');
    is scalar(grep { $_->{detail} =~ /_batch$/ } @log), scalar(@batches), 'log: one entry per batch call';
    like $s->log_text('worker'), qr/"event":"stock_sync".*"detail":"products_batch"/, 'stock_sync log lines';
    my (undef, undef, $res) = $s->worker(GET => '/metrics');
    like $res->{content}, qr/webhook_worker_stock_sync_last_success_timestamp_seconds \d{10}\.\d+/,
         'last success gauge';
    like $res->{content}, qr/webhook_worker_stock_sync_runs_total\{outcome="succeeded"\} 1/, 'runs counter';
    like $res->{content}, qr/webhook_worker_hft71_calls_total\{action="stock_sync",status_class="2xx"\} [1-9]/,
         'HFT71 stock calls counted with the other HFT71 calls';
    like $res->{content}, qr/webhook_worker_stock_sync_last_run_items_written \Q$first->{written}\E\.000/,
         'items written by the last run';
};

subtest 'resync writes only the changes' => sub {
    my @changed = churn(0.02, 21);
    is scalar(@changed), 12, '12 SKUs changed in HFT71';
    clear_stats();
    my $r = run_sync();
    is $r->{status}, 'succeeded', 'succeeded';
    is $r->{written}, 12, 'written: the 12 changed';
    is $r->{changed}, 12, 'changed: 12';
    ok !$r->{rebuilt_index}, 'no index rebuild (the unmatched SKU is known to be missing)';
    my $stats = wc_stats();
    is $stats->{items_updated}, 12, 'WooCommerce updated 12 items';
    ok !$stats->{calls}{list_products}, 'no product pages read';
    ok !$stats->{calls}{get_product}, 'no per-SKU reads';
    my $batches = ($stats->{calls}{batch_products} || 0) + ($stats->{calls}{batch_variations} || 0);
    ok $batches >= 1 && $batches <= 7, "$batches batch calls";
    converged('converged');
};

subtest 'partial sync' => sub {
    set_hft71('SKU-000010' => 91, 'SKU-000011' => 92, 'SKU-000500' => 93, 'SKU-000012' => 94);
    clear_stats();
    my $r = run_sync({ skus => [ 'SKU-000010', 'SKU-000011', 'SKU-000500', 'NOPE-1' ] });
    is $r->{status}, 'succeeded', 'succeeded' or diag explain $r;
    is $r->{kind}, 'partial', 'partial';
    is_deeply $r->{skus}, [ 'SKU-000010', 'SKU-000011', 'SKU-000500', 'NOPE-1' ], 'its SKUs';
    is $r->{written}, 3, 'three written';
    my $v = wc_view();
    is_deeply [ map { $v->{$_}[0]{stock_quantity} } qw(SKU-000010 SKU-000011 SKU-000500) ], [ 91, 92, 93 ],
              'the three hold HFT71\'s quantities';
    isnt $v->{'SKU-000012'}[0]{stock_quantity}, 94, 'a SKU not asked for is not written';
    my @h = grep { $_->{action} eq 'stock_available' } @{ $s->ledger('hft71')->{calls} };
    my $last = $h[-1];
    like $last->{query}{skus}, qr/^SKU-000010,SKU-000011,SKU-000500,NOPE-1$/, 'HFT71 asked for those SKUs only';
    ok !(grep { $_->{query}{page} } @h[-2 .. -1]), 'no stock pages read';
};

subtest 'per-item errors inside a 200' => sub {
    set_hft71('SKU-000020' => 71, 'SKU-000021' => 72, 'SKU-000550' => 73);
    woo(POST => '/__item_fail', json => { sku => 'SKU-000020', count => 1 });
    woo(POST => '/__item_fail', json => { sku => 'SKU-000021', count => 10,
                                          code => 'woocommerce_rest_cannot_edit', message => 'locked' });
    woo(POST => '/__item_fail', json => { sku => 'SKU-000550', count => 10 });
    my $r = run_sync();
    is $r->{status}, 'succeeded', 'the run finishes';
    is $r->{item_errors}, 2, 'two reported' or diag explain $r;
    my %err = map { $_->{sku} => $_ } @{ $r->{errors} };
    ok !$err{'SKU-000020'}, 'a single failure was retried and written';
    is $err{'SKU-000021'}{code}, 'woocommerce_rest_cannot_edit', 'SKU-000021 reported with its code';
    is $err{'SKU-000021'}{message}, 'locked', 'and its message';
    ok $err{'SKU-000550'}, 'a variation reported too';
    my $v = wc_view();
    is $v->{'SKU-000020'}[0]{stock_quantity}, 71, 'retried item written';
    isnt $v->{'SKU-000021'}[0]{stock_quantity}, 72, 'failed item not written';
    woo(DELETE => '/__item_fail');
    my $r2 = run_sync();
    is $r2->{written}, 2, 'the next run writes the two that failed (never lost)';
    converged('converged');
};

subtest 'WooCommerce 5xx mid-run' => sub {
    churn(0.05, 31);
    $s->fail_next('woo', action => 'batch_products', mode => 'status', status => 503, count => 2);
    my $r = run_sync();
    is $r->{status}, 'succeeded', 'succeeded after retries' or diag explain $r;
    ok $r->{retries} >= 2, "retries: $r->{retries}";
    converged('converged');
    my @log = log_entries($r->{run_id});
    ok((grep { $_->{detail} eq 'products_batch' && $_->{class} eq 'ok' } @log), 'batches logged');

    churn(0.05, 32);
    $s->fail_next('woo', action => 'batch_products', mode => 'status', status => 502, for_s => 30);
    $s->fail_next('woo', action => 'batch_variations', mode => 'status', status => 502, for_s => 30);
    my $f = run_sync();
    is $f->{status}, 'failed', 'an outage fails the run';
    like $f->{message}, qr/502/, 'saying why';
    ok((grep { $_->{detail} =~ /_batch$/ && $_->{class} eq 'remote_5xx' } log_entries($f->{run_id})),
       'the failed batch call is in the log');
    ok scalar(unsynced()) > 0, 'not converged meanwhile';
    $s->reset_faults('woo');
    my $n = run_sync();
    is $n->{status}, 'succeeded', 'the next run succeeds';
    converged('and converges');
};

subtest 'HFT71 refuses the credentials: not retried, counted as auth' => sub {
    churn(0.01, 35);
    $s->fail_next('hft71', action => 'stock_available', mode => 'status', status => 401, count => 1);
    my $f = run_sync();
    is $f->{status}, 'failed', 'the run fails';
    is $f->{retries}, 0, 'no retry';
    like $f->{message}, qr/401/, 'saying 401';
    ok((grep { $_->{detail} eq 'hft71_stock' && $_->{class} eq 'auth' } log_entries($f->{run_id})),
       'the refused call is in the log');
    my (undef, undef, $res) = $s->worker(GET => '/metrics');
    like $res->{content}, qr/webhook_worker_hft71_calls_total\{action="stock_sync",status_class="auth"\} 1/,
         'counted as auth (the credential-drift alert sees it)';
    my $n = run_sync();
    is $n->{status}, 'succeeded', 'the next run succeeds';
    converged('converged');
};

subtest 'SIGKILL mid-run, resumed by the next worker' => sub {
    my @changed = churn(0.5, 41);
    ok @changed > 250, scalar(@changed) . ' changed';
    $s->fail_next('woo', action => 'batch_products', mode => 'delay', delay_ms => 400, count => 100);
    $s->fail_next('woo', action => 'batch_variations', mode => 'delay', delay_ms => 400, count => 100);
    my ($st, $d) = sync();
    is $st, 202, 'accepted';
    my $id = $d->{run_id};
    ok WorkerStack::wait_until('some written', 30, sub {
        my (undef, $v) = $s->worker(GET => "/stock/sync/$id");
        $v->{written} >= 100;
    }), 'the run has written some';
    $s->kill9('worker');
    my (undef, $mid) = $s->worker(GET => "/stock/sync/$id");
    ok !defined $mid, 'worker gone';
    my $raw = $s->redis_cmd('HGET', "wh:stock:run:$id", 'status');
    is $raw, 'running', 'the run is left running';
    ok scalar(unsynced()) > 0, 'not converged at the kill';
    $s->reset_faults('woo');
    $s->start_worker;
    my $r = wait_run($id, 60);
    is $r->{status}, 'succeeded', 'the same run finished by the restarted worker' or diag explain $r;
    ok $r->{resumed} >= 1, 'resumed';
    ok((grep { $_->{detail} eq 'run_resumed' } log_entries($id)), 'log: run_resumed');
    converged('converged');
};

subtest 'two workers asked at once: one run' => sub {
    churn(0.1, 51);
    $s->start_second_worker;
    my $url2 = $s->worker2_url;
    $s->fail_next('woo', action => 'batch_products', mode => 'delay', delay_ms => 200, count => 100);
    clear_stats();
    pipe(my $rd, my $wr) or die;
    my $pid = fork // die;
    if ($pid == 0) {
        close $rd;
        my ($st, $d) = $s->request(POST => "$url2/stock/sync");
        print $wr encode_json([ $st, $d ]);
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    my ($st1, $d1) = sync();
    my $other = decode_json(do { local $/; <$rd> });
    waitpid($pid, 0);
    my ($st2, $d2) = @$other;
    is_deeply [ sort { $a <=> $b } $st1, $st2 ], [ 200, 202 ], 'one made the run, one got it back';
    is $d1->{run_id}, $d2->{run_id}, 'the same run';
    is scalar(grep { $_->{created} } $d1, $d2), 1, 'created once';
    my $r = wait_run($d1->{run_id}, 60);
    is $r->{status}, 'succeeded', 'succeeded';
    is scalar(grep { $_->{detail} eq 'run_started' } log_entries($r->{run_id})), 1, 'started once';
    is wc_stats()->{items_updated}, $r->{written}, 'each change written once';
    converged('converged');
    $s->reset_faults('woo');
};

subtest 'the timer, with two workers' => sub {
    $s->stop('worker');
    $s->stop('worker2');
    my %timer = (HFT71_STOCK_SYNC_ENABLED => 'true', HFT71_STOCK_INTERVAL_S => 2);
    $s->start_worker(%timer);
    $s->start_second_worker(%timer);
    my @changed = churn(0.03, 61);
    ok WorkerStack::wait_until('timer sync', 30, sub { !unsynced() }), 'converged without a request';
    sleep 5;
    my @log = reverse log_entries();
    my @timer = grep { $_->{detail} eq 'run_started' && $_->{source} eq 'timer' } @log;
    ok @timer >= 2, scalar(@timer) . ' timer runs';
    my ($open, $overlap) = (0, 0);
    for (@log) {
        $overlap++ if $_->{detail} eq 'run_started' && $open;
        $open = 1 if $_->{detail} eq 'run_started' || $_->{detail} eq 'run_resumed';
        $open = 0 if $_->{detail} eq 'run_finished';
    }
    is $overlap, 0, 'never two runs at once';
    my %holders = map { $_->{run_id} => 0 } @timer;
    $holders{ $_->{run_id} }++ for grep { exists $holders{ $_->{run_id} }
                                          && $_->{detail} =~ /^run_(started|resumed)$/ } @log;
    is scalar(grep { $_ != 1 } values %holders), 0, 'each run taken up by one worker, once';
    my @starts = map { $_->{ts_ms} } @timer;
    my @gaps = map { $starts[$_] - $starts[$_ - 1] } 1 .. $#starts;
    is scalar(grep { $_ < 1500 } @gaps), 0, 'timer runs at least the interval apart (both workers)';
    $s->stop('worker2');
    $s->stop('worker');
    $s->start_worker;
};

subtest 'drift report after' => sub {
    my ($st, $d) = $s->worker(GET => '/stock/drift');
    is $st, 200, 'report';
    is $d->{counts}{quantity_differs}, 0, 'no quantity differs' or diag explain $d->{quantity_differs};
    is_deeply $d->{missing_in_woocommerce}, [ 'HFT-ONLY-1' ], 'HFT-ONLY-1 still missing in WooCommerce';
    is_deeply [ map { $_->{sku} } @{ $d->{missing_in_hft71} } ], [ 'WC-ONLY-1' ], 'WC-ONLY-1 still missing in HFT71';
    is_deeply [ map { $_->{sku} } @{ $d->{duplicate_sku} } ], [ 'DUP-1' ], 'DUP-1 still duplicate';
    isnt $before{quantity_differs}, 0, 'it was not 0 before';

    woo(POST => '/__set_stock', json => { sku => 'SKU-000030', stock_quantity => 999 });
    ($st, $d) = $s->worker(GET => '/stock/drift');
    is_deeply [ map { [ $_->{sku}, $_->{woocommerce} ] } @{ $d->{quantity_differs} } ], [ [ 'SKU-000030', 999 ] ],
              'an edit in wp-admin shows';

    woo(POST => '/__set_stock', json => { sku => 'SKU-000600', stock_quantity => 555 });
    my $seen = scalar @{ $s->ledger('woo')->{calls} };
    ($st, $d) = $s->worker(GET => '/stock/drift?sample=20');
    is $st, 200, 'sample report';
    is $d->{mode}, 'sample', 'sample';
    is $d->{checked}, 20 + scalar(@PRIORITY), '20 random and the priority SKUs';
    ok((grep { $_->{sku} eq 'SKU-000600' && $_->{woocommerce} == 555 } @{ $d->{quantity_differs} }),
       'a priority SKU edited in wp-admin shows, read now');
    my @reads = grep { $_->{seq} > $seen } @{ $s->ledger('woo')->{calls} };
    ok @reads > 0 && @reads <= 10, scalar(@reads) . ' WooCommerce calls for the sample';
    is scalar(grep { !$_->{query}{include} } @reads), 0, 'items read by id, no catalogue pages';
};

subtest 'WooCommerce-side changes: seen by a rebuild, not by a plain run' => sub {
    my $plain = run_sync();
    is $plain->{written}, 0, 'a plain run compares with what it wrote: nothing to write';
    my $r = run_sync({ reindex => JSON::PP::true });
    is $r->{status}, 'succeeded', 'reindex run';
    is $r->{rebuilt_index}, 1, 'the index was re-read';
    is $r->{written}, 2, 'the two wp-admin edits corrected';
    converged('converged');
    my ($st, $d) = $s->worker(GET => '/stock/drift?sample=5');
    is $d->{counts}{quantity_differs}, 0, 'the sample agrees';
};

done_testing;

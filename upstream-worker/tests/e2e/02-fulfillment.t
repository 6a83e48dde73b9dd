# The fulfillment job against the fakes: success, idempotency, guard,
# mapping and payment failures, retries with backoff, token re-mint,
# dead letters and POST /jobs/{id}/retry. Every request is a signed
# Salesforce one through nginx with the edge module (the worker requires its
# attestation); job state, retries and /health are asked of the worker.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
no warnings "uninitialized";
use WorkerStack;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

my $s = WorkerStack->new(edge => 1)->start_all;
my @FINAL = qw(SUCCEEDED FAILED SKIPPED NEEDS_REVIEW DEAD);
my $n = 10;

sub new_order_id { sprintf '8010000000%05dAAA', $n++ }

sub add_orders_for {
    my ($order_id) = @_;
    my @calls = $s->calls('whmcs', 'AddOrder', 'ok');
    my %created = map { $_->{id} => 1 } @{ $s->ledger('whmcs')->{orders} };
    return scalar @calls;
}

sub run_job {
    my ($order, $key, %o) = @_;
    my ($st, $b) = $s->fulfill($key, order => $order->{Id},
                               json => { orderId => $order->{Id} });
    is $st, 202, "$key accepted";
    return $s->wait_job($b->{job_id}, $o{timeout} || 20, @FINAL);
}

subtest 'health: last success per integration, at each successful call' => sub {
    my (undef, $h) = $s->worker(GET => '/health');
    is_deeply $h->{last_success}, {}, 'no call yet';
    # a skipped job calls Salesforce only
    my $t0 = int(Time::HiRes::time() * 1000);
    my $o = $s->order(Id => new_order_id(), Provisioning_Status__c => 'Draft');
    $s->seed_sf($o);
    is run_job($o, 'health-1')->{status}, 'SKIPPED', 'a job that only asks Salesforce';
    (undef, $h) = $s->worker(GET => '/health');
    cmp_ok $h->{last_success}{salesforce}, '>=', $t0, 'salesforce: its query';
    ok !exists $h->{last_success}{whmcs}, 'whmcs: never called';
    ok WorkerStack::wait_until('published', 5, sub {
        ($s->redis_cmd('HGET', 'wh:health:last_success', 'salesforce') || 0) >= $t0 }),
        'published to Redis for the other processes';
    # a failed job whose WHMCS calls succeeded
    my $t1 = int(Time::HiRes::time() * 1000);
    my $p = $s->order(Id => new_order_id(), Account => { WHMCS_Client_ID__c => 8 });
    $s->seed_sf($p);
    is run_job($p, 'health-2')->{error_code}, 'PAYMENT_METHOD_MISSING',
        'a job that fails after WHMCS answered';
    (undef, $h) = $s->worker(GET => '/health');
    cmp_ok $h->{last_success}{whmcs}, '>=', $t1, 'whmcs: GetPayMethods';
    cmp_ok $h->{last_success}{salesforce}, '>=', $t1, 'salesforce: the Failed write';
    my (undef, undef, $res) = $s->worker(GET => '/metrics');
    like $res->{content},
        qr/^webhook_worker_last_success_timestamp_seconds\{integration="whmcs"\} \d+\.\d+$/m,
        'and a gauge in /metrics';
};

subtest 'platform event -> Provisioned with the WHMCS order id' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    # CometD's shape, which the edge's salesforce scheme does not sign
    # (04-edge.t posts an event through it): straight to the worker, with
    # the attestation the edge would add
    my $event = JSON::PP->new->canonical->encode({
        data => { schema => 'x', payload => {
            OrderId__c => $o->{Id}, IdemKey__c => 'evt-1',
            CorrelationId__c => 'corr-evt-1', RequestedBy__c => 'ops' },
            event => { replayId => 17 } } });
    my ($st, $b) = $s->worker(POST => '/events/salesforce', body => $event,
                              headers => { WorkerStack::attestation_headers($event) });
    is $st, 202, 'event accepted';
    my $j = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'job succeeded';
    is $j->{type}, 'platform_event', 'job type';
    is $j->{correlation_id}, 'corr-evt-1', 'correlation id kept';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Provisioned', 'Salesforce: Provisioned';
    is $sf->{WHMCS_Order_ID__c}, $j->{whmcs_order_id}, 'Salesforce: WHMCS order id';
    like $sf->{WHMCS_Service_IDs__c}, qr/^\d+,\d+,\d+$/, 'Salesforce: 3 service ids';
    is_deeply $sf->{history}, [ 'Activating', 'Provisioned' ], 'status writes in order';
    my ($add) = grep { $_->{params}{clientid} == 7 } $s->calls('whmcs', 'AddOrder', 'ok');
    is $add->{params}{paymentmethod}, 'stripe', 'gateway from GetPayMethods';
    is_deeply [ @{ $add->{params} }{qw(pid[0] billingcycle[0] qty[0] pid[1] billingcycle[1] qty[1])} ],
        [ 101, 'monthly', 1, 102, 'annually', 2 ], 'mapped items';
    my ($w) = grep { $_->{id} == $j->{whmcs_order_id} } @{ $s->ledger('whmcs')->{orders} };
    is $w->{status}, 'Active', 'WHMCS order accepted';
    my @log = grep { /"correlation_id":"corr-evt-1"/ } split /\n/, $s->log_text('worker');
    ok scalar(grep { /"step":"whmcs_create"/ } @log), 'log lines carry the correlation id';
};

subtest 'duplicate idempotency key and an already Provisioned order' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $before = add_orders_for();
    my $j = run_job($o, 'dup-1');
    is $j->{status}, 'SUCCEEDED', 'first job succeeded';
    my ($st, $b) = $s->fulfill('dup-1', order => $o->{Id});
    is $st, 200, 'same key: 200';
    is $b->{job_id}, $j->{job_id}, 'same job';
    is $b->{status}, 'SUCCEEDED', 'its state';
    my $j2 = run_job($o, 'dup-2');
    is $j2->{status}, 'SKIPPED', 'a new key for a Provisioned order: skipped';
    is $j2->{skip_reason}, 'already_provisioned', 'reason';
    is add_orders_for() - $before, 1, 'exactly one AddOrder';
    is_deeply $s->sf_order($o->{Id})->{history}, [ 'Activating', 'Provisioned' ],
        'no further Salesforce writes';
    my (undef, $po) = $s->worker(GET => "/orders/$o->{Id}");
    is $po->{status}, 'Provisioned', 'portal status still Provisioned';
    is $po->{job_id}, $j->{job_id}, 'from the job that provisioned it';
    is $po->{whmcs_order_id}, $j->{whmcs_order_id}, 'with its WHMCS order id';
};

subtest 'only Activating orders are provisioned' => sub {
    my $o = $s->order(Id => new_order_id(), Provisioning_Status__c => 'Pending Review');
    $s->seed_sf($o);
    my $before = add_orders_for();
    my $j = run_job($o, 'pending-1');
    is $j->{status}, 'SKIPPED', 'skipped';
    is $j->{skip_reason}, 'not_activating', 'reason';
    is add_orders_for(), $before, 'no AddOrder';
    is_deeply $s->sf_order($o->{Id})->{history}, [], 'no Salesforce write';

    my $j2 = run_job({ Id => '801000000000999AAA' }, 'missing-1');
    is $j2->{status}, 'FAILED', 'an order Salesforce does not have fails';
    is $j2->{error_code}, 'ORDER_NOT_FOUND', 'ORDER_NOT_FOUND';
};

subtest 'missing mapping -> Failed MAPPING_MISSING listing the items' => sub {
    my $o = $s->order(Id => new_order_id(), items => [
        { Id => '802000000000011AAA', Quantity => 1,
          Product2 => { Name => 'VPS Small', WH_Product_ID__c => 101, Billing_Cycle__c => 'Monthly' } },
        { Id => '802000000000012AAA', Quantity => 1,
          Product2 => { Name => 'Unmapped Addon', WH_Product_ID__c => undef, Billing_Cycle__c => 'Monthly' } },
        { Id => '802000000000013AAA', Quantity => 1,
          Product2 => { Name => 'Odd Cycle', WH_Product_ID__c => 102, Billing_Cycle__c => 'Fortnightly' } },
    ]);
    $s->seed_sf($o);
    my $before = add_orders_for();
    my $j = run_job($o, 'map-1');
    is $j->{status}, 'FAILED', 'failed';
    is $j->{error_code}, 'MAPPING_MISSING', 'MAPPING_MISSING';
    like $j->{error_message}, qr/2 item\(s\).*Unmapped Addon \(802000000000012AAA.*Odd Cycle \(802000000000013AAA/,
        'lists every unmapped item';
    unlike $j->{error_message}, qr/VPS Small/, 'not the mapped one';
    is $j->{attempts}, 1, 'not retried';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Failed', 'Salesforce: Failed';
    is $sf->{Provisioning_Error_Code__c}, 'MAPPING_MISSING', 'Salesforce: error code';
    like $sf->{Provisioning_Error_Message__c}, qr/Unmapped Addon/, 'Salesforce: message';
    is add_orders_for(), $before, 'no AddOrder';
    my (undef, $po) = $s->worker(GET => "/orders/$o->{Id}");
    is $po->{status}, 'Failed', 'portal: Failed';
    is $po->{error_code}, 'MAPPING_MISSING', 'portal: code';
};

subtest 'no payment method -> Failed PAYMENT_METHOD_MISSING' => sub {
    my $o = $s->order(Id => new_order_id(), Account => { WHMCS_Client_ID__c => 8 });
    $s->seed_sf($o);
    my $before = add_orders_for();
    my $j = run_job($o, 'pay-1');
    is $j->{status}, 'FAILED', 'failed';
    is $j->{error_code}, 'PAYMENT_METHOD_MISSING', 'PAYMENT_METHOD_MISSING';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Failed', 'Salesforce: Failed';
    is $sf->{Provisioning_Error_Code__c}, 'PAYMENT_METHOD_MISSING', 'Salesforce: code';
    is add_orders_for(), $before, 'no AddOrder';
};

subtest 'intake pre-check: a client without a payment method -> 409' => sub {
    my $o = $s->order(Id => new_order_id(), Account => { WHMCS_Client_ID__c => 8 });
    $s->seed_sf($o);
    my $jobs = $s->redis_cmd('XLEN', 'wh:jobs');
    my ($st, $b) = $s->fulfill('pre-1', order => $o->{Id},
                               json => { orderId => $o->{Id}, whmcsClientId => 8 });
    is $st, 409, '409 before queueing';
    is $b->{error}, 'payment_method_missing', 'error code';
    is $s->redis_cmd('XLEN', 'wh:jobs'), $jobs, 'no job';
    # WHMCS unable to tell: the request is queued and the job decides
    $s->fail_next('whmcs', action => 'GetPayMethods', mode => 'status', status => 502);
    ($st, $b) = $s->fulfill('pre-2', order => $o->{Id},
                            json => { orderId => $o->{Id}, whmcsClientId => 8 });
    is $st, 202, 'pre-check unavailable: accepted';
    my $j = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $j->{error_code}, 'PAYMENT_METHOD_MISSING', 'and the job fails it';
    my $ok = $s->order(Id => new_order_id());
    $s->seed_sf($ok);
    ($st, $b) = $s->fulfill('pre-3', order => $ok->{Id},
                            json => { orderId => $ok->{Id}, whmcsClientId => 7 });
    is $st, 202, 'a client with a card: 202';
    is $s->wait_job($b->{job_id}, 20, @FINAL)->{status}, 'SUCCEEDED', 'provisioned';
};

subtest 'a slow pre-check holds one intake thread, not the intake' => sub {
    # WHMCS answers GetPayMethods after 2 s; meanwhile other requests are
    # answered by the other intake threads (WORKER_INTAKE_THREADS, default 8)
    my $slow = $s->order(Id => new_order_id());
    my $fast = $s->order(Id => new_order_id());
    $s->seed_sf($slow, $fast);
    $s->fail_next('whmcs', action => 'GetPayMethods', mode => 'delay', delay_ms => 2000);
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        # its own client: a kept-alive socket must not be shared with the parent
        $s->{http} = HTTP::Tiny->new(timeout => 10);
        my ($st) = $s->fulfill('slow-1', order => $slow->{Id},
                               json => { orderId => $slow->{Id}, whmcsClientId => 7 });
        POSIX::_exit($st == 202 ? 0 : 1);
    }
    # the child's request is in the pre-check by then
    Time::HiRes::sleep(0.3);
    my $t0 = Time::HiRes::time();
    my ($st, $b) = $s->worker(GET => '/health');
    my $health_s = Time::HiRes::time() - $t0;
    is $st, 200, 'health answers during the slow pre-check';
    $t0 = Time::HiRes::time();
    ($st, $b) = $s->fulfill('fast-1', order => $fast->{Id},
                            json => { orderId => $fast->{Id} });
    my $intake_s = Time::HiRes::time() - $t0;
    is $st, 202, 'another intake is accepted during the slow pre-check' or diag explain $b;
    ok $health_s < 1 && $intake_s < 1,
       sprintf('neither waited for WHMCS (health %.3f s, intake %.3f s)',
               $health_s, $intake_s);
    waitpid $pid, 0;
    is $? >> 8, 0, 'the slow request was accepted once WHMCS answered';
    # both jobs end before the next subtest counts AddOrders
    $s->wait_job($b->{job_id}, 20, @FINAL);
    ok WorkerStack::wait_until('the slow job', 20, sub {
        my ($ost, $ob) = $s->worker(GET => "/orders/$slow->{Id}");
        $ost == 200 && $ob->{status} ne 'Activating' }), 'the slow job ended';
};

subtest 'WHMCS 5xx on AddOrder, then recovery -> Provisioned with one order' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $before = add_orders_for();
    my $orders_before = @{ $s->ledger('whmcs')->{orders} };
    $s->fail_next('whmcs', action => 'AddOrder', mode => 'status', status => 503, count => 2);
    my $j = run_job($o, '5xx-1');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    is $j->{attempts}, 3, 'on the third attempt';
    is scalar(grep { $_->{outcome} eq 'injected_status' } $s->calls('whmcs', 'AddOrder')), 2,
        'two 503s were answered';
    is add_orders_for() - $before, 1, 'one AddOrder went through';
    is @{ $s->ledger('whmcs')->{orders} } - $orders_before, 1, 'WHMCS holds one new order';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Provisioned', 'Provisioned';
    like $s->log_text('worker'), qr/"event":"job_retry_scheduled","job_id":"$j->{job_id}","order_id":"$o->{Id}","correlation_id":"$j->{job_id}","step":"whmcs_create".*"class":"remote_5xx"/,
        'the retry is logged with its class, order and correlation ids';
};

subtest 'a request re-sent while the first job waits for a retry: skipped' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $before = add_orders_for();
    # job A has sent AddOrder; AcceptOrder makes it wait (3 s), then fails once more
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'rate_limit', retry_after => 3,
                  count => 1);
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'status', status => 503, count => 1);
    my ($st, $a) = $s->fulfill('busy-a', order => $o->{Id});
    is $st, 202, 'A accepted';
    ok WorkerStack::wait_until('A waits', 15, sub {
        $s->redis_cmd('HGET', "wh:job:$a->{job_id}", 'status') eq 'RETRY_WAIT' }),
        'A waits for a retry after AddOrder';
    my ($st2, $b) = $s->fulfill('busy-b', order => $o->{Id});
    is $st2, 202, 'a new key: a second job B';
    my $jb = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $jb->{status}, 'SKIPPED', 'B is skipped';
    is $jb->{skip_reason}, 'another_job_active', 'because A is still working';
    is $jb->{active_job}, $a->{job_id}, 'and names A';
    is $s->redis_cmd('HGET', "wh:job:$a->{job_id}", 'status'), 'RETRY_WAIT',
        'B ended while A was still waiting';
    my (undef, $po) = $s->worker(GET => "/orders/$o->{Id}");
    is $po->{job_id}, $a->{job_id}, 'GET /orders shows A, not B';
    is $po->{status}, 'Activating', 'still Activating';

    my $ja = $s->wait_job($a->{job_id}, 30, @FINAL);
    is $ja->{status}, 'SUCCEEDED', 'A succeeds';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Provisioned', 'Salesforce: Provisioned';
    is_deeply $sf->{history}, [ 'Activating', 'Provisioned' ],
        'B wrote nothing to Salesforce';
    is add_orders_for() - $before, 1, 'exactly one AddOrder';
    (undef, $po) = $s->worker(GET => "/orders/$o->{Id}");
    is $po->{status}, 'Provisioned', 'GET /orders: Provisioned';
    is $po->{job_id}, $a->{job_id}, 'from A';
    is $po->{whmcs_order_id}, $ja->{whmcs_order_id}, 'with its WHMCS order id';
    is $s->redis_cmd('GET', "wh:active:$o->{Id}"), undef, 'A gave the order back';
};

subtest 'connection reset and 429 with Retry-After are retried' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    $s->fail_next('sf', action => 'query', mode => 'rate_limit', retry_after => 2, count => 1);
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'reset', count => 1);
    my $j = run_job($o, 'rl-1');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    is $j->{attempts}, 3, 'after two retries';
    my @q = grep { $_->{action} eq 'query' } @{ $s->ledger('sf')->{calls} };
    my ($limited) = grep { $_->{outcome} eq 'injected_rate_limit' } @q;
    my ($next) = grep { $_->{seq} > $limited->{seq} } @q;
    cmp_ok $next->{at} - $limited->{at}, '>=', 1.9, 'Retry-After: 2 was honoured';
    is scalar(grep { $_->{params}{clientid} == 7 } $s->calls('whmcs', 'AddOrder', 'ok')),
        scalar(grep { $_->{params}{clientid} == 7 } $s->calls('whmcs', 'AddOrder')),
        'no AddOrder failed or repeated';
};

subtest 'expired Salesforce token is re-minted once' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $tokens = $s->ledger('sf')->{tokens_issued};
    $s->request(POST => $s->sf_url . '/__expire_tokens');
    my $j = run_job($o, 'tok-1');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    is $j->{attempts}, 1, 'in the first attempt';
    is $s->ledger('sf')->{tokens_issued} - $tokens, 1, 'one new token';
    ok scalar(grep { $_->{status} == 401 } $s->calls('sf', 'query')), 'after a 401';
};

subtest 'dead letter after JOB_MAX_ATTEMPTS, POST /jobs/{id}/retry' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    $s->fail_next('whmcs', action => 'GetPayMethods', mode => 'status', status => 500, count => 5);
    my ($st, $b) = $s->fulfill('dead-1', order => $o->{Id},
                               headers => { 'X-Correlation-Id' => 'corr-dead-1' });
    my $j = $s->wait_job($b->{job_id}, 30, @FINAL);
    is $j->{status}, 'DEAD', 'dead-lettered';
    like $s->log_text('worker'),
        qr/"event":"job_dead_lettered","job_id":"$j->{job_id}","order_id":"$o->{Id}","correlation_id":"corr-dead-1"/,
        'job_dead_lettered carries the order and correlation ids';
    is $j->{attempts}, 5, 'after 5 attempts';
    is $j->{error_code}, 'RETRIES_EXHAUSTED', 'RETRIES_EXHAUSTED';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Failed', 'Salesforce: Failed';
    is $sf->{Provisioning_Error_Code__c}, 'RETRIES_EXHAUSTED', 'Salesforce: code';
    is $s->redis_cmd('XLEN', 'wh:dead'), 1, 'one entry in the dead-letter stream';
    my (undef, $h) = $s->worker(GET => '/health');
    is $h->{dead_letters}, 1, 'health counts it';

    ($st) = $s->worker(POST => "/jobs/$j->{job_id}/retry");
    is $st, 202, 'retry accepted';
    my $j2 = $s->wait_job($j->{job_id}, 20, @FINAL);
    is $j2->{status}, 'SUCCEEDED', 'then succeeds';
    is $s->redis_cmd('XLEN', 'wh:dead'), 0, 'gone from the dead-letter stream';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Provisioned', 'Provisioned';
    ($st, $b) = $s->worker(POST => "/jobs/$j->{job_id}/retry");
    is $st, 409, 'retrying a job that is not dead: 409';
    ($st) = $s->worker(POST => '/jobs/job_nope/retry');
    is $st, 404, 'unknown job: 404';
};

my %dead_behind;    # a dead job and the newer one that provisioned its order

subtest 'AddOrder refused until dead: the claim is given back, the order is not blocked' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $before = add_orders_for();
    $s->fail_next('whmcs', action => 'AddOrder', mode => 'status', status => 503, count => 5);
    my ($st, $a) = $s->fulfill('claim-a', order => $o->{Id});
    my $ja = $s->wait_job($a->{job_id}, 30, @FINAL);
    is $ja->{status}, 'DEAD', 'A dead after five 503s on AddOrder';
    is $s->redis_cmd('GET', "wh:addorder:$o->{Id}"), undef,
        'no AddOrder claim is kept: WHMCS created nothing';
    is $s->redis_cmd('GET', "wh:active:$o->{Id}"), undef, 'nor the active marker';
    is add_orders_for(), $before, 'no order in WHMCS';

    # Salesforce says Failed (RETRIES_EXHAUSTED); someone sets it back and re-sends
    $s->seed_sf($o);
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'rate_limit', retry_after => 3,
                  count => 1);
    my ($st2, $b) = $s->fulfill('claim-b', order => $o->{Id});
    is $st2, 202, 'a new request after the dead job';
    ok WorkerStack::wait_until('B waits', 15, sub {
        $s->redis_cmd('HGET', "wh:job:$b->{job_id}", 'status') eq 'RETRY_WAIT' }),
        'B got past AddOrder and waits for AcceptOrder';
    my ($rs, $rb) = $s->worker(POST => "/jobs/$a->{job_id}/retry");
    is $rs, 409, 'retrying the dead A while B works: 409';
    is $rb->{error}, 'order_busy', 'order_busy';
    is $s->redis_cmd('HGET', "wh:job:$a->{job_id}", 'status'), 'DEAD', 'A stays dead';
    my $jb = $s->wait_job($b->{job_id}, 30, @FINAL);
    is $jb->{status}, 'SUCCEEDED', 'B provisions the order';
    is add_orders_for() - $before, 1, 'with one AddOrder';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Provisioned', 'Provisioned';
    %dead_behind = (dead => $a->{job_id}, newer => $b->{job_id}, order => $o->{Id});
};

subtest 'retrying a dead job after a newer job provisioned the order: refused' => sub {
    my ($dead, $newer, $order) = @dead_behind{qw(dead newer order)};
    my $history = $s->sf_order($order)->{history};
    my $before = add_orders_for();
    my ($st, $b) = $s->worker(POST => "/jobs/$dead/retry");
    is $st, 409, 'retry: 409';
    is $b->{error}, 'order_already_provisioned', 'order_already_provisioned';
    like $b->{message}, qr/\Q$newer\E/, 'naming the job that provisioned it';
    is $s->redis_cmd('HGET', "wh:job:$dead", 'status'), 'DEAD', 'the old job stays dead';
    is $s->redis_cmd('XLEN', 'wh:dead'), 1, 'and listed in wh:dead';
    is $s->redis_cmd('GET', "wh:active:$order"), undef, 'it did not take the order';
    # had it resumed, it would have met the AddOrder claim within a second
    sleep 1;
    my $sf = $s->sf_order($order);
    is $sf->{Provisioning_Status__c}, 'Provisioned', 'Salesforce: still Provisioned';
    is_deeply $sf->{history}, $history, 'no Salesforce write';
    is add_orders_for(), $before, 'no AddOrder';
};

subtest 'a retried job checks the order again: provisioned meanwhile -> SKIPPED' => sub {
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $before = add_orders_for();
    $s->fail_next('whmcs', action => 'AddOrder', mode => 'status', status => 503, count => 5);
    my ($st, $a) = $s->fulfill('recheck-a', order => $o->{Id});
    my $ja = $s->wait_job($a->{job_id}, 30, @FINAL);
    is $ja->{status}, 'DEAD', 'dead after the mapping, before AddOrder';
    # provisioned by hand while the job was dead: no job of ours says so
    $s->seed_sf($s->order(Id => $o->{Id}, Provisioning_Status__c => 'Provisioned',
                          WHMCS_Order_ID__c => '4242'));
    my ($rs) = $s->worker(POST => "/jobs/$a->{job_id}/retry");
    is $rs, 202, 'retry accepted (nothing in Redis says the order is provisioned)';
    my $j = $s->wait_job($a->{job_id}, 20, @FINAL);
    is $j->{status}, 'SKIPPED', 'the job checks Salesforce first and stops';
    is $j->{skip_reason}, 'already_provisioned', 'already_provisioned';
    is add_orders_for(), $before, 'no AddOrder';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Provisioned', 'Salesforce: still Provisioned';
    is $sf->{WHMCS_Order_ID__c}, '4242', 'with its WHMCS order id';
    is_deeply $sf->{history}, [], 'no Salesforce write';
    is $s->redis_cmd('GET', "wh:active:$o->{Id}"), undef, 'the order was given back';
};

subtest 'WHMCS refuses AddOrder -> Failed WHMCS_ORDER_REJECTED, no retry' => sub {
    my $o = $s->order(Id => new_order_id(), items => [
        { Id => '802000000000021AAA', Quantity => 1,
          Product2 => { Name => 'Retired', WH_Product_ID__c => 999, Billing_Cycle__c => 'Monthly' } } ]);
    $s->seed_sf($o);
    my $j = run_job($o, 'rej-1');
    is $j->{status}, 'FAILED', 'failed';
    is $j->{error_code}, 'WHMCS_ORDER_REJECTED', 'code';
    like $j->{error_message}, qr/Invalid Product ID/, 'WHMCS message';
    is $j->{attempts}, 1, 'not retried';
};

subtest 'an order with 60 items is sent whole' => sub {
    my @items = map { { Id => sprintf('8020000000%05dAAA', 500 + $_), Quantity => 1,
                        Product2 => { Name => "Seat $_", WH_Product_ID__c => 101,
                                      Billing_Cycle__c => 'Monthly' } } } 0 .. 59;
    my $o = $s->order(Id => new_order_id(), items => \@items);
    $s->seed_sf($o);
    my $j = run_job($o, 'many-1');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    my ($add) = grep { $_->{outcome} eq 'ok' && exists $_->{params}{'pid[59]'} }
                $s->calls('whmcs', 'AddOrder');
    ok $add, 'AddOrder carried pid[59]';
    ok !exists $add->{params}{'pid[60]'}, 'and no more';
    is scalar(split /,/, $s->sf_order($o->{Id})->{WHMCS_Service_IDs__c}), 60, '60 services';
};

subtest 'a key Salesforce does not know: auth failures, retried, then dead' => sub {
    $s->stop('worker');
    my $other = $s->dir . '/other-key.pem';
    system("openssl genrsa -out $other 2048 2>/dev/null") == 0 or die;
    $s->start_worker(SF_PRIVATE_KEY_PATH => $other, JOB_MAX_ATTEMPTS => 2);
    my $o = $s->order(Id => new_order_id());
    $s->seed_sf($o);
    my $j = run_job($o, 'badkey-1');
    is $j->{status}, 'DEAD', 'dead after JOB_MAX_ATTEMPTS';
    is $j->{attempts}, 2, 'two attempts';
    my @tokens = grep { $_->{status} == 400 } $s->calls('sf', 'token');
    cmp_ok scalar(@tokens), '>=', 2, 'the fake refused the JWT each time';
    like $s->log_text('worker'),
        qr/"step":"validation","outcome":"retry".*"message":"token: HTTP 400: invalid assertion \(auth\)"/,
        'classified as auth with the OAuth error';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Activating',
        'nothing could be written to Salesforce';
};

$s->shutdown;
done_testing;

# Crash safety: the worker SIGKILLed mid-job resumes after its last journaled
# step and never sends AddOrder twice; Redis down at intake answers 503 and
# loses nothing that was acknowledged. Requests are signed Salesforce ones
# through nginx with the edge module (the worker requires its attestation).
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use WorkerStack;

# a delayed call must not time out: the restarted worker may meet the delay
my $s = WorkerStack->new(edge => 1, worker_env => { HTTP_TIMEOUT_MS => 6000 })->start_all;
my @FINAL = qw(SUCCEEDED FAILED SKIPPED NEEDS_REVIEW DEAD);
$s->seed_whmcs(clients => [ map { { id => $_, paymethods => [ { gateway_name => 'stripe' } ] } }
                            21 .. 27 ]);

sub add_orders { my ($client) = @_;
    scalar grep { $_->{params}{clientid} == $client } $s->calls('whmcs', 'AddOrder') }

sub job_field { $s->redis_cmd('HGET', "wh:job:$_[0]", $_[1]) }

subtest 'SIGKILL after AddOrder was journaled: resumes, one AddOrder' => sub {
    my $o = $s->order(Id => '801000000000021AAA', Account => { WHMCS_Client_ID__c => 21 });
    $s->seed_sf($o);
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'delay', delay_ms => 2500);
    my ($st, $b) = $s->fulfill('crash-1', order => $o->{Id});
    is $st, 202, 'accepted';
    my $job = $b->{job_id};
    ok WorkerStack::wait_until('whmcs_create journaled', 15,
                               sub { job_field($job, 'last_step') eq '5' }),
        'the worker journaled whmcs_create and is in AcceptOrder';
    $s->kill9('worker');
    is job_field($job, 'status'), 'RUNNING', 'killed mid-job';
    is $s->redis_cmd('GET', "wh:active:$o->{Id}"), $job, 'still the active job of its order';
    is add_orders(21), 1, 'one AddOrder so far';
    $s->start_worker;
    my $j = $s->wait_job($job, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'the restarted worker finished it';
    is $s->redis_cmd('GET', "wh:active:$o->{Id}"), undef, 'and gave the order back';
    is $j->{attempts}, 2, 'in a second run';
    is add_orders(21), 1, 'still exactly one AddOrder';
    my @orders = grep { $_->{userid} == 21 } @{ $s->ledger('whmcs')->{orders} };
    is scalar(@orders), 1, 'WHMCS holds one order for the client';
    is $orders[0]{status}, 'Active', 'and it is accepted';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Provisioned', 'Provisioned';
    like $s->log_text('worker'), qr/"job_id":"$job".*"step":"whmcs_accept","outcome":"resume"/,
        'the log says where it resumed';
};

subtest 'AddOrder answer journaled but not its step: resumes without resending' => sub {
    # the state a crash between recording the answer and the step leaves
    my $job = $s->redis_cmd('GET', 'wh:order:801000000000021AAA');
    $s->redis_cmd('HSET', "wh:job:$job", 'last_step', '4', 'status', 'RUNNING');
    $s->redis_cmd('XADD', 'wh:jobs', '*', 'job', $job);
    ok WorkerStack::wait_until('rerun', 10, sub {
        $s->log_text('worker') =~ /"job_id":"$job".*"step":"whmcs_create","outcome":"resume"/ }),
        'resumed at whmcs_create';
    my $j = $s->wait_job($job, 20, 'SUCCEEDED', 'FAILED', 'NEEDS_REVIEW', 'DEAD');
    is $j->{status}, 'SUCCEEDED', 'succeeded again';
    is add_orders(21), 1, 'no second AddOrder';
    ok scalar(grep { $_->{params}{id} == $j->{whmcs_order_id} } $s->calls('whmcs', 'GetOrders')),
        'AcceptOrder on an accepted order was settled with GetOrders';
};

subtest 'SIGKILL while AddOrder is in flight: NEEDS_REVIEW, never a second AddOrder' => sub {
    my $o = $s->order(Id => '801000000000022AAA', Account => { WHMCS_Client_ID__c => 22 });
    $s->seed_sf($o);
    $s->fail_next('whmcs', action => 'AddOrder', mode => 'delay', delay_ms => 1500);
    my ($st, $b) = $s->fulfill('crash-2', order => $o->{Id});
    my $job = $b->{job_id};
    ok WorkerStack::wait_until('AddOrder sending', 15,
                               sub { job_field($job, 'addorder_state') eq 'sending' }),
        'AddOrder is in flight';
    sleep 0.3;     # journaled just before sending: let the request leave
    $s->kill9('worker');
    # another consumer name: the entry is reclaimed with XAUTOCLAIM once idle
    $s->start_worker(WORKER_CONSUMER => 'e2e-other');
    my $j = $s->wait_job($job, 20, @FINAL);
    is $j->{status}, 'NEEDS_REVIEW', 'needs review';
    is $j->{error_code}, 'ADDORDER_UNCERTAIN', 'ADDORDER_UNCERTAIN';
    sleep 2;   # the fake finishes the delayed AddOrder for the dead worker
    is add_orders(22), 1, 'exactly one AddOrder was sent';
    my $sf = $s->sf_order($o->{Id});
    is $sf->{Provisioning_Status__c}, 'Failed', 'Salesforce: Failed';
    is $sf->{Provisioning_Error_Code__c}, 'ADDORDER_UNCERTAIN', 'Salesforce: code';
    my (undef, $h) = $s->worker(GET => '/health');
    is $h->{queue}{pending}, 0, 'the reclaimed entry was acknowledged';

    # a new request for the same order meets the per-order AddOrder guard
    $s->seed_sf($s->order(Id => $o->{Id}, Account => { WHMCS_Client_ID__c => 22 }));
    ($st, $b) = $s->fulfill('crash-2b', order => $o->{Id});
    my $j2 = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $j2->{status}, 'NEEDS_REVIEW', 'a second job for the order also stops';
    is $j2->{error_code}, 'ADDORDER_ALREADY_SENT', 'ADDORDER_ALREADY_SENT';
    is add_orders(22), 1, 'still one AddOrder';
};

subtest 'Redis down at intake: 503, and nothing acknowledged is lost' => sub {
    my $a = $s->order(Id => '801000000000023AAA', Account => { WHMCS_Client_ID__c => 23 });
    my $b_ = $s->order(Id => '801000000000024AAA', Account => { WHMCS_Client_ID__c => 24 });
    $s->seed_sf($a, $b_);
    # hold job A inside its first Salesforce call while Redis dies
    $s->request(POST => $s->sf_url . '/__expire_tokens');
    $s->fail_next('sf', action => 'token', mode => 'delay', delay_ms => 2500);
    my ($st, $ra) = $s->fulfill('outage-a', order => $a->{Id});
    is $st, 202, 'A accepted';
    $s->kill9('redis');
    my @delivery_b = WorkerStack::sf_signed(order => $b_->{Id});
    my ($st2, $rb, $res) = $s->fulfill('outage-b', order => $b_->{Id},
                                       signed => \@delivery_b);
    is $st2, 503, 'B while Redis is down: 503';
    # the worker's answer, passed on by nginx (its own 503 would be HTML)
    is $rb->{error}, 'queue_unavailable', "the worker's error code";
    is $res->{headers}{'retry-after'}, 5, "the worker's Retry-After";
    like $res->{headers}{'content-type'}, qr{^application/json}, 'its JSON';
    SKIP: {
        skip 'no edge module: sent straight to the worker', 2 unless $s->through_edge;
        like $res->{headers}{server}, qr/^nginx/, 'through nginx';
        ok WorkerStack::wait_until('key released', 5, sub {
            $s->nginx_error_log =~ /final status 503, replay key released/ }),
            'the edge released the nonce: the same delivery may come again';
    }
    my ($hs, $h) = $s->worker(GET => '/health');
    is $hs, 503, 'health 503';
    is $h->{redis}, 'unreachable', 'health says why';

    $s->start_redis;     # same port, same AOF directory
    is job_field($ra->{job_id}, 'order_id'), $a->{Id}, 'A survived the Redis crash (AOF)';
    is $s->redis_cmd('GET', 'wh:idem:outage-b'), undef, 'nothing was stored for B';
    ($st2, $rb) = $s->fulfill('outage-b', order => $b_->{Id}, signed => \@delivery_b);
    is $st2, 202, "Salesforce's retry of the same signed delivery: 202";
    my $ja = $s->wait_job($ra->{job_id}, 20, @FINAL);
    my $jb = $s->wait_job($rb->{job_id}, 20, @FINAL);
    is $ja->{status}, 'SUCCEEDED', 'A provisioned';
    is $jb->{status}, 'SUCCEEDED', 'B provisioned';
    is add_orders(23), 1, 'one AddOrder for A';
    is add_orders(24), 1, 'one AddOrder for B';
};

subtest 'Redis restarted while the worker is idle: the next requests succeed' => sub {
    my ($st) = $s->worker(GET => '/health');
    is $st, 200, 'health before';
    $s->kill9('redis');
    $s->start_redis;
    # the same kept-alive connection, so the same intake thread, whose Redis
    # connection Redis closed while it was idle
    ($st) = $s->worker(GET => '/health');
    is $st, 200, 'health right after the restart: 200, not 503';
    my $o = $s->order(Id => '801000000000027AAA', Account => { WHMCS_Client_ID__c => 27 });
    $s->seed_sf($o);
    # straight to the worker: the point is its kept-alive connection
    my ($st2, $b) = $s->fulfill('idle-restart', order => $o->{Id}, direct => 1);
    is $st2, 202, 'intake right after the restart: 202';
    my $j = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'and the job ran' or diag explain $j;
};

subtest 'two workers: a slow run is reclaimed, AddOrder still once' => sub {
    $s->start_second_worker;
    my $o = $s->order(Id => '801000000000025AAA', Account => { WHMCS_Client_ID__c => 25 });
    $s->seed_sf($o);
    # longer than the 1 s lease: the other worker takes the job over
    $s->fail_next('whmcs', action => 'AcceptOrder', mode => 'delay', delay_ms => 2500);
    my ($st, $b) = $s->fulfill('two-1', order => $o->{Id});
    my $j = $s->wait_job($b->{job_id}, 20, 'SUCCEEDED', 'FAILED', 'NEEDS_REVIEW', 'DEAD');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    ok WorkerStack::wait_until('the slow run gives up', 10, sub {
        ($s->log_text('worker') . $s->log_text('worker2'))
            =~ /"event":"job_abandoned","job_id":"$b->{job_id}"/ }),
        'the run that lost its lease stopped';
    is add_orders(25), 1, 'one AddOrder';
    is $s->sf_order($o->{Id})->{Provisioning_Status__c}, 'Provisioned', 'Provisioned';
};

subtest 'two workers: reclaimed before AddOrder, AddOrder still once' => sub {
    my $o = $s->order(Id => '801000000000026AAA', Account => { WHMCS_Client_ID__c => 26 });
    $s->seed_sf($o);
    $s->fail_next('whmcs', action => 'GetPayMethods', mode => 'delay', delay_ms => 2500);
    my ($st, $b) = $s->fulfill('two-2', order => $o->{Id});
    my $j = $s->wait_job($b->{job_id}, 20, 'SUCCEEDED', 'FAILED', 'NEEDS_REVIEW', 'DEAD');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    ok WorkerStack::wait_until('the slow run gives up', 10, sub {
        ($s->log_text('worker') . $s->log_text('worker2'))
            =~ /"event":"job_abandoned","job_id":"$b->{job_id}"/ }),
        'the run that lost its lease stopped before AddOrder';
    sleep 0.5;
    is add_orders(26), 1, 'one AddOrder';
    is $s->redis_cmd('HGET', "wh:job:$b->{job_id}", 'status'), 'SUCCEEDED',
        'the abandoned run did not touch the state';
    $s->stop('worker2');
};

$s->shutdown;
done_testing;

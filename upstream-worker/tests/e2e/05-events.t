# Platform Events over CometD (SF_EVENTS_ENABLED=true): an event queues a
# job once, the replay cursor survives a restart, and the subscriber comes
# back from "403::Unknown client" and an expired token.
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use WorkerStack;

# a long /meta/connect hold, as Salesforce's 110 s: events still arrive at
# once, and stopping the worker must not wait for the poll to end
my $s = WorkerStack->new(worker_env => { SF_EVENTS_ENABLED => 'true' },
                         cometd_hold_ms => 30000)->start_all;
my @FINAL = qw(SUCCEEDED FAILED SKIPPED NEEDS_REVIEW DEAD);

sub order_job {
    my ($order, $timeout) = @_;
    my $job;
    WorkerStack::wait_until("job for $order", $timeout || 10, sub {
        my ($st, $o) = $s->worker(GET => "/orders/$order");
        $job = $o->{job_id} if $st == 200;
        return $job;
    });
    return $job;
}

sub events_health {
    my (undef, $h) = $s->worker(GET => '/health');
    return $h->{platform_events};
}

sub accepted_for {
    my ($order) = @_;
    scalar grep { /"event":"job_accepted".*"order_id":"$order".*"source":"platform_event"/ }
        split /\n/, $s->log_text('worker');
}

sub intake_lines_for {      # accepted or duplicate: every delivery that was queued
    my ($order) = @_;
    scalar grep { /"event":"job_(accepted|duplicate)".*"order_id":"$order"/ }
        split /\n/, $s->log_text('worker');
}

ok WorkerStack::wait_until('subscribed', 10, sub { events_health()->{state} eq 'connected' }),
    'the subscriber is connected';

subtest 'an event queues and provisions a job' => sub {
    my $order = '801000000000051AAA';
    $s->seed_sf($s->order(Id => $order));
    my $e = $s->publish_event(payload => { OrderId__c => $order, IdemKey__c => 'pe-1',
                                           CorrelationId__c => 'pe-corr-1' });
    my $job = order_job($order);
    ok $job, 'a job appeared for the order';
    my $j = $s->wait_job($job, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'provisioned';
    is $j->{type}, 'platform_event', 'from the event';
    is $j->{correlation_id}, 'pe-corr-1', 'correlation id';
    is $s->sf_order($order)->{Provisioning_Status__c}, 'Provisioned', 'Salesforce: Provisioned';
    ok WorkerStack::wait_until('cursor', 5, sub { events_health()->{replay_id} == $e->{replayId} }),
        'health shows the replay cursor';
    is $s->redis_cmd('HGET', 'wh:events:replay', '/event/OrderProvisionRequested__e'),
        $e->{replayId}, 'the cursor is stored in Redis';
};

subtest 'the same EventUuid twice makes one job' => sub {
    my $order = '801000000000052AAA';
    $s->seed_sf($s->order(Id => $order));
    $s->publish_event(payload => { OrderId__c => $order }, uuid => 'uuid-52');
    $s->publish_event(payload => { OrderId__c => $order }, uuid => 'uuid-52');
    my $job = order_job($order);
    ok WorkerStack::wait_until('second delivery', 10, sub {
        $s->log_text('worker') =~ /"event":"job_duplicate","job_id":"$job"/ }),
        'the second is a duplicate';
    is accepted_for($order), 1, 'one job accepted';
    is $s->wait_job($job, 20, @FINAL)->{status}, 'SUCCEEDED', 'provisioned';
};

subtest 'events published while the worker is down arrive after a restart' => sub {
    $s->stop('worker');
    my $order = '801000000000053AAA';
    $s->seed_sf($s->order(Id => $order));
    $s->publish_event(payload => { OrderId__c => $order, IdemKey__c => 'pe-53' });
    my $before = intake_lines_for('80100000000005[12]AAA');
    $s->start_worker;
    my $job = order_job($order, 15);
    ok $job, 'the missed event was replayed';
    is $s->wait_job($job, 20, @FINAL)->{status}, 'SUCCEEDED', 'and provisioned';
    like $s->log_text('worker'), qr/"event":"events_subscribed","channel":"[^"]+","replay_from":[1-9]/,
        'subscribed from the stored replayId';
    is intake_lines_for('80100000000005[12]AAA'), $before,
        'earlier events were not delivered again';
};

subtest 'Unknown client and an expired token: the subscriber recovers' => sub {
    $s->request(POST => $s->sf_url . '/__drop_clients');
    $s->request(POST => $s->sf_url . '/__expire_tokens');
    my $order = '801000000000054AAA';
    $s->seed_sf($s->order(Id => $order));
    $s->publish_event(payload => { OrderId__c => $order, IdemKey__c => 'pe-54' });
    my $job = order_job($order, 15);
    ok $job, 'the event after the outage arrived';
    is $s->wait_job($job, 20, @FINAL)->{status}, 'SUCCEEDED', 'provisioned';
    like $s->log_text('worker'), qr/"event":"events_reconnect","message":"403::Unknown client"/,
        'it re-handshook after 403::Unknown client';
    is events_health()->{state}, 'connected', 'connected again';
};

subtest 'an unusable event is skipped, not retried forever' => sub {
    my $e = $s->publish_event(payload => { OrderId__c => 'not-an-id' });
    ok WorkerStack::wait_until('rejected', 10, sub {
        $s->log_text('worker') =~ /"event":"event_rejected".*"replay_id":$e->{replayId}/ }),
        'logged as rejected';
    ok WorkerStack::wait_until('cursor', 5, sub { events_health()->{replay_id} == $e->{replayId} }),
        'the cursor moved past it';
};

my $stop = time;
$s->stop('worker');
cmp_ok time - $stop, '<', 4, 'the worker stops promptly during a long poll';
$s->shutdown;
done_testing;

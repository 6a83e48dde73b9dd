# Through nginx with the edge module: a signed Salesforce request is
# verified at the edge, attested to the worker and provisioned; a replay
# stops at the edge; the worker refuses requests that bypass the edge.
use strict;
use warnings;
no warnings 'uninitialized';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use WorkerStack;

plan skip_all => "no edge module at $WorkerStack::MODULE (make -C .. module)"
    unless WorkerStack::have_module();

my $s = WorkerStack->new(edge => 1)->start_all;
my @FINAL = qw(SUCCEEDED FAILED SKIPPED NEEDS_REVIEW DEAD);
my $ORDER = $WorkerStack::ORDER;

sub edge_post { $s->edge_post("/orders/$ORDER/fulfill", @_) }

my ($body, $h) = WorkerStack::sf_signed();
my $job;

subtest 'signed request -> edge -> worker -> fakes -> Provisioned' => sub {
    my ($st, $b) = edge_post($body, $h, 'Idempotency-Key' => 'edge-1');
    is $st, 202, '202 through the edge';
    $job = $b->{job_id};
    my $j = $s->wait_job($job, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'job succeeded';
    my $sf = $s->sf_order;
    is $sf->{Provisioning_Status__c}, 'Provisioned', 'fake Salesforce: Provisioned';
    ok $sf->{WHMCS_Order_ID__c}, 'with a WHMCS order id';
    is $sf->{WHMCS_Order_ID__c}, $j->{whmcs_order_id}, 'the one WHMCS created';
    is scalar($s->calls('whmcs', 'AddOrder', 'ok')), 1, 'one AddOrder';
};

subtest 'a replay is stopped at the edge' => sub {
    my $jobs = $s->redis_cmd('XLEN', 'wh:jobs');
    my ($st, $b) = edge_post($body, $h, 'Idempotency-Key' => 'edge-1-replayed');
    is $st, 401, 'replay: 401';
    is $b->{error}, 'replay', 'error replay';
    is $s->redis_cmd('XLEN', 'wh:jobs'), $jobs, 'no job queued';
    is scalar($s->calls('whmcs', 'AddOrder', 'ok')), 1, 'still one AddOrder';
};

subtest 'a bad signature is stopped at the edge' => sub {
    my ($b2, $h2) = WorkerStack::sf_signed(secret => 'not-the-secret');
    my ($st) = edge_post($b2, $h2, 'Idempotency-Key' => 'edge-bad');
    is $st, 401, 'bad signature: 401';
};

subtest 'duplicate idempotency key through the edge: no second order' => sub {
    my ($b3, $h3) = WorkerStack::sf_signed();     # fresh nonce, same key
    my ($st, $b) = edge_post($b3, $h3, 'Idempotency-Key' => 'edge-1');
    is $st, 200, 'same key: 200 with the existing job';
    is $b->{job_id}, $job, 'same job';
    ok $b->{duplicate}, 'duplicate';
    is scalar($s->calls('whmcs', 'AddOrder', 'ok')), 1, 'still one AddOrder';
};

subtest 'an event posted through the edge' => sub {
    my $order = '801000000000041AAA';
    $s->seed_sf($s->order(Id => $order));
    my ($event, $h5) = WorkerStack::sf_signed(order => $order, fields => {
        idempotencyKey => 'edge-evt-1', correlationId => 'c-41' });
    my ($st, $b) = $s->edge_post('/events/salesforce', $event, $h5);
    is $st, 202, '202 through the edge';
    my $j = $s->wait_job($b->{job_id}, 20, @FINAL);
    is $j->{status}, 'SUCCEEDED', 'provisioned';
    is $j->{type}, 'platform_event', 'as an event';
    is $j->{correlation_id}, 'c-41', 'correlation id from the body';
};

subtest 'bypassing the edge does not work' => sub {
    my ($b4, $h4) = WorkerStack::sf_signed();
    my ($st, $b) = $s->worker(POST => "/orders/$ORDER/fulfill", body => $b4,
                              headers => { %$h4, 'Idempotency-Key' => 'direct-1' });
    is $st, 401, 'straight to the worker with a valid provider signature: 401';
    is $b->{error}, 'attestation_invalid', 'attestation_invalid';
};

$s->shutdown;
done_testing;

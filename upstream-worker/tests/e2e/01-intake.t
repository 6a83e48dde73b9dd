# Intake: validation, durable enqueue, idempotency, state endpoints,
# attestation, metrics, unix socket and start-up configuration errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use IO::Socket::UNIX;
use Test::More;
use WorkerStack;

my $ORDER = $WorkerStack::ORDER;

subtest 'start-up refuses a missing or malformed setting, naming it' => sub {
    my $s = WorkerStack->new;
    $s->{redis_port} = 1;
    $s->{sf_port} = $s->{whmcs_port} = 2;
    $s->gen_key;
    for my $case ([ WHMCS_SECRET => '' ], [ WORKER_LISTEN => 'nonsense' ],
                  [ REDIS_URL => 'http://x' ], [ SF_PRIVATE_KEY_PATH => '/nope' ]) {
        my ($name, $value) = @$case;
        unlink $s->dir . '/worker.log';
        my $env = $s->worker_env($name => $value);
        my $pid = $s->spawn('worker', $env, $WorkerStack::WORKER);
        waitpid($pid, 0);
        delete $s->{pids}{worker};
        is $? >> 8, 2, "$name='$value': exit status 2";
        like $s->log_text('worker'), qr/"config_invalid".*"message":"\Q$name\E /,
            "$name: the message names it";
    }
    # a key file that is not a key is caught before serving
    open my $fh, '>', $s->dir . '/bad.pem'; print $fh "junk\n"; close $fh;
    unlink $s->dir . '/worker.log';
    my $pid = $s->spawn('worker', $s->worker_env(SF_PRIVATE_KEY_PATH => $s->dir . '/bad.pem'),
                        $WorkerStack::WORKER);
    waitpid($pid, 0);
    delete $s->{pids}{worker};
    is $? >> 8, 2, 'unreadable PEM: exit status 2';
    like $s->log_text('worker'), qr/SF_PRIVATE_KEY_PATH is not a PEM private key/,
        'unreadable PEM: named';
};

my $s = WorkerStack->new->start_all;
# keep jobs from running so intake state can be inspected: Salesforce slow
$s->fail_next('sf', action => 'token', mode => 'delay', delay_ms => 1500, count => 1);

subtest 'health and routing' => sub {
    my ($st, $h) = $s->worker(GET => '/health');
    is $st, 200, 'health 200';
    is $h->{redis}, 'connected', 'redis connected';
    is $h->{environment}, 'test', 'environment';
    is $h->{edge_attestation}, 'off', 'attestation off without a secret';
    ok exists $h->{queue}{depth}, 'queue depth reported';
    is $h->{dead_letters}, 0, 'no dead letters';
    ($st) = $s->worker(GET => '/nope');
    is $st, 404, 'unknown path 404';
    ($st) = $s->worker(GET => "/orders/$ORDER/fulfill");
    is $st, 405, 'GET on the intake path 405';
    ($st) = $s->worker(GET => '/jobs/job_unknown');
    is $st, 404, 'unknown job 404';
    ($st) = $s->worker(GET => "/orders/801000000000009AAA");
    is $st, 404, 'order without a job 404';
};

subtest 'intake validation' => sub {
    my ($st, $b) = $s->fulfill(undef);
    is $st, 400, 'no Idempotency-Key: 400';
    is $b->{error}, 'idempotency_key_required', 'error code';
    ($st, $b) = $s->fulfill('k-bad', json => { orderId => '801000000000002AAA' });
    is $st, 400, 'body orderId differs from the path: 400';
    ($st, $b) = $s->worker(POST => '/orders/not-an-id/fulfill',
                           headers => { 'Idempotency-Key' => 'k' });
    is $st, 400, 'malformed order id: 400';
    ($st, $b) = $s->worker(POST => '/events/salesforce',
                           json => { OrderId__c => $ORDER });
    is $st, 400, 'event without IdemKey__c or header: 400';
    ($st, $b) = $s->worker(POST => '/events/salesforce', body => '{"OrderId__c":');
    is $st, 400, 'event that is not JSON: 400';
    ($st) = $s->worker(POST => "/orders/$ORDER/fulfill",
                       headers => { 'Idempotency-Key' => 'big' }, body => 'x' x 70000);
    is $st, 413, 'body over 64 KiB: 413';
};

my $job;
subtest 'enqueue and idempotency' => sub {
    my ($st, $b, $res) = $s->fulfill('key-1');
    is $st, 202, '202 Accepted';
    like $b->{job_id}, qr/^job_[0-9a-f]{32}$/, 'job id';
    is $b->{status}, 'QUEUED', 'queued';
    is $res->{headers}{location}, "/jobs/$b->{job_id}", 'Location header';
    $job = $b->{job_id};
    is $s->redis_cmd('HGET', "wh:job:$job", 'order_id'), $ORDER,
        'the job is in Redis before the answer';
    ok $s->redis_cmd('XLEN', 'wh:jobs') >= 1, 'and on the stream';

    ($st, $b) = $s->fulfill('key-1');
    is $st, 200, 'same key again: 200';
    is $b->{job_id}, $job, 'the same job';
    ok $b->{duplicate}, 'marked duplicate';
    is $s->redis_cmd('XLEN', 'wh:jobs'), 1, 'no second stream entry';

    ($st, $b) = $s->worker(POST => '/events/salesforce',
                           json => { data => { payload => { OrderId__c => $ORDER,
                               IdemKey__c => 'key-1' } } });
    is $st, 200, 'the event path shares the key space';
    is $b->{job_id}, $job, 'same job';

    my ($st2, $order) = $s->worker(GET => "/orders/$ORDER");
    is $st2, 200, 'order status';
    is $order->{job_id}, $job, 'latest job for the order';
};

subtest 'the job runs and the state endpoints show it' => sub {
    my $j = $s->wait_job($job, 20, 'SUCCEEDED', 'FAILED', 'DEAD');
    is $j->{status}, 'SUCCEEDED', 'succeeded';
    is $j->{last_step}, 'sf_success_update', 'last step';
    is_deeply [ map { $_->{step} } @{ $j->{steps} } ],
        [ qw(validation sf_status_update order_details mapping payment_method
             whmcs_create whmcs_accept sf_success_update) ], 'journal of steps';
    my ($st, $o) = $s->worker(GET => "/orders/$ORDER");
    is $o->{status}, 'Provisioned', 'portal status Provisioned';
    is $o->{whmcs_order_id}, '1', 'WHMCS order id';
};

subtest 'metrics' => sub {
    my ($st, undef, $res) = $s->worker(GET => '/metrics');
    is $st, 200, 'metrics 200';
    like $res->{headers}{'content-type'}, qr{^text/plain}, 'text';
    my $m = $res->{content};
    like $m, qr/^webhook_worker_intake_requests_total\{endpoint="fulfill",code="202"\} 1$/m,
        'intake 202 counted';
    like $m, qr/^webhook_worker_intake_requests_total\{endpoint="fulfill",code="400"\} \d+$/m,
        'intake 400 counted';
    like $m, qr/^webhook_worker_jobs_total\{type="quick_action",outcome="succeeded"\} 1$/m,
        'job outcome';
    like $m, qr/^webhook_worker_step_duration_seconds_count\{step="whmcs_create"\} 1$/m,
        'step durations';
    like $m, qr/^webhook_worker_provisioning_latency_seconds_count 1$/m, 'latency';
    like $m, qr/^webhook_worker_outbound_calls_total\{integration="whmcs",status_class="2xx"\} \d+$/m,
        'outbound calls';
};

subtest 'the same Idempotency-Key 20 times at once: one job' => sub {
    my $order = '801000000000002AAA';
    # a few rounds: a check-then-set race would not show in every one
    for my $round (1 .. 5) {
        my $key = "race-$round";
        my $jobs = $s->redis_cmd('XLEN', 'wh:jobs');
        my $body = qq({"orderId":"$order"});
        my $req = "POST /orders/$order/fulfill HTTP/1.1\r\nHost: w\r\n"
                . "Idempotency-Key: $key\r\nContent-Type: application/json\r\n"
                . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n"
                . $body;
        # 20 connections made first, then the 20 requests written back to
        # back: the intake threads meet Redis with them at the same moment
        my @socks = map {
            IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $s->{worker_port},
                                  Timeout => 10) or die "connect: $!"
        } 1 .. 20;
        syswrite $_, $req for @socks;
        my (%status, %job);
        for my $c (@socks) {
            local $/;
            my $res = <$c> // '';
            my ($st) = $res =~ m{^HTTP/1\.1 (\d+)};
            my ($id) = $res =~ /"job_id":"(job_[0-9a-f]+)"/;
            $status{$st // 'none'}++;
            $job{$id}++ if $id;
        }
        is $status{202}, 1, "$key: one request created the job";
        is $status{200}, 19, "$key: the other 19 got it as a duplicate";
        is scalar(keys %job), 1, "$key: all 20 answers name the same job";
        my ($id) = keys %job;
        is $s->redis_cmd('GET', "wh:idem:$key"), $id, "$key: the key names that job";
        is $s->redis_cmd('XLEN', 'wh:jobs') - $jobs, 1, "$key: one stream entry";
    }
};

subtest "libmicrohttpd's own messages are JSON log lines" => sub {
    local $SIG{PIPE} = 'IGNORE';    # it may close before the long header is in
    for my $raw ("GET /health HTTP/1.1\r\nHost: w\r\nno colon here\r\n\r\n",
                 "GET /health HTTP/1.1\r\nHost: w\r\nX-Long: " . ('a' x 40000)
                 . "\r\n\r\n") {
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $s->{worker_port},
                                      Timeout => 5) or die "connect: $!";
        print $c $raw;
        shutdown $c, 1;
        local $/;
        my $res = <$c> // '';
        like $res, qr{^HTTP/1\.1 4\d\d}, 'refused by libmicrohttpd';
    }
    ok WorkerStack::wait_until('MHD messages', 5, sub {
        $s->log_text('worker') =~ /"event":"http_server"/ }), 'logged';
    my @lines = split /\n/, $s->log_text('worker');
    my @bad = grep { !eval { JSON::PP->new->decode($_); 1 } } @lines;
    is scalar(@bad), 0, 'every stderr line is JSON' or diag explain \@bad;
    my @mhd = grep { /"event":"http_server"/ } @lines;
    cmp_ok scalar(@mhd), '>=', 2, 'one line per refused request';
    like $mhd[0], qr/"level":"warn".*"step":"http".*"message":"[^"]*Closing connection/,
        'level warn, step http, the message';
};

subtest 'logs are JSON lines without secrets' => sub {
    my $log = $s->log_text('worker');
    my @lines = split /\n/, $log;
    my $bad = grep { !eval { JSON::PP->new->decode($_); 1 } } @lines;
    is $bad, 0, 'every line is JSON';
    like $log, qr/"event":"job_finished","job_id":"$job","order_id":"$ORDER","correlation_id":"$job","outcome":"succeeded"/,
        'job_finished carries the order and correlation ids';
    for my $step (qw(validation sf_status_update order_details mapping
                     payment_method whmcs_create whmcs_accept sf_success_update)) {
        like $log, qr/"event":"job_step".*"step":"$step","outcome":"ok"/,
            "step $step logged";
    }
    unlike $log, qr/whmcs-secret|whmcs-access|00D[0-9a-f]{40}|BEGIN (RSA )?PRIVATE/,
        'no secret, access key or token in the log';
};
$s->shutdown;

subtest 'edge attestation when EDGE_ATTEST_SECRET is set' => sub {
    my $a = WorkerStack->new->start_all(EDGE_ATTEST_SECRET => $WorkerStack::EDGE_SECRET);
    my $body = qq({"orderId":"$ORDER"});
    my %ok = WorkerStack::attestation_headers($body, id => 'nonce-1');
    my ($st, $b) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body,
                              headers => { 'Idempotency-Key' => 'a1' });
    is $st, 401, 'no attestation: 401';
    is $b->{error}, 'attestation_invalid', 'error code';
    ($st, $b) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body . ' ',
                           headers => { 'Idempotency-Key' => 'a1', %ok });
    is $st, 401, 'attestation for another body: 401';
    my %wrong = WorkerStack::attestation_headers($body, id => 'nonce-1', secret => 'guess');
    ($st) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body,
                       headers => { 'Idempotency-Key' => 'a1', %wrong });
    is $st, 401, 'wrong secret: 401';
    my %old = WorkerStack::attestation_headers($body, id => 'nonce-1', time => time - 301);
    ($st, $b) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body,
                           headers => { 'Idempotency-Key' => 'a1', %old });
    is $st, 401, 'edge time older than 300 s: 401';
    like $b->{message}, qr/too old/, 'says why';
    ($st) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body,
                       headers => { 'Idempotency-Key' => 'a1', %ok,
                                    'X-Webhook-Id' => 'nonce-2' });
    is $st, 401, 'another id than attested: 401';
    is $a->redis_cmd('XLEN', 'wh:jobs'), 0, 'nothing was queued';
    ($st, $b) = $a->worker(POST => "/orders/$ORDER/fulfill", body => $body,
                           headers => { 'Idempotency-Key' => 'a1', %ok });
    is $st, 202, 'a valid attestation: 202';
    my ($hs, $h) = $a->worker(GET => '/health');
    is $h->{edge_attestation}, 'required', 'health says attestation is required';
    $a->shutdown;
};

subtest 'WORKER_LISTEN=unix:/path' => sub {
    my $u = WorkerStack->new;
    $u->start_redis;
    $u->start_fakes;
    my $sock = $u->dir . '/worker.sock';
    $u->start_worker(WORKER_LISTEN => "unix:$sock");
    my $c = IO::Socket::UNIX->new(Peer => $sock) or die "connect: $!";
    print $c "GET /health HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n";
    local $/;
    my $res = <$c>;
    like $res, qr{^HTTP/1.1 200}, 'health over the unix socket';
    like $res, qr/"redis":"connected"/, 'body';
    $u->stop('worker');
    ok !-e $sock, 'socket removed on shutdown';
};

done_testing;

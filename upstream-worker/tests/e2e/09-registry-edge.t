# Webhook registrations through the edge (issue 14, both sides): nginx with
# `webhook_registry redis $reg;` in front of the worker, GitHub-signed
# deliveries. It skips, saying so, while the module has no webhook_registry
# directive (the edge side is built apart; written against contract14 and
# not yet run against it).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use WorkerStack;

my $EDGE = $WorkerStack::EDGE_SECRET;
my $P = 'webhook:';
my $TOKEN = "edge-suite-token-$$";
# how long the edge may keep a registration cached (its TTL) before a
# change made through the API must show: generous, never asserted as speed
my $SETTLE_S = 60;

plan skip_all => "no edge module at $WorkerStack::MODULE" unless WorkerStack::have_module();

my $s = WorkerStack->new;
$s->start_redis;
$s->{nginx_port} = WorkerStack::free_port();
$s->{worker_port} = WorkerStack::free_port();
my $d = $s->dir;
mkdir "$d/nginx";
mkdir "$d/nginx/logs";
my $user = $> == 0 ? "user root;\n" : '';
open my $fh, '>', "$d/nginx/nginx.conf" or die $!;
print $fh <<"CONF";
load_module $WorkerStack::MODULE;
$user
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx/nginx.pid;
error_log $d/nginx/logs/error.log info;
events { worker_connections 256; }
http {
    access_log $d/nginx/logs/access.log;
    client_body_temp_path $d/nginx/client_body;
    proxy_temp_path $d/nginx/proxy;
    fastcgi_temp_path $d/nginx/fastcgi;
    uwsgi_temp_path $d/nginx/uwsgi;
    scgi_temp_path $d/nginx/scgi;
    webhook_zone webhook:4m;
    webhook_redis 127.0.0.1:$s->{redis_port};
    server {
        listen 127.0.0.1:$s->{nginx_port};
        location ~ "^/webhooks/(?<reg>[A-Za-z0-9_-]{1,64})\$" {
            webhook_registry redis \$reg;
            webhook_attest_secret $EDGE;
            proxy_set_header X-Webhook-Attestation  \$webhook_attestation;
            proxy_set_header X-Webhook-Edge-Time    \$webhook_time;
            proxy_set_header X-Webhook-Provider     \$webhook_provider;
            proxy_set_header X-Webhook-Id           \$webhook_id;
            proxy_set_header X-Webhook-Registration \$webhook_registration;
            proxy_set_header X-Webhook-Event-Type   \$webhook_event_type;
            proxy_pass http://127.0.0.1:$s->{worker_port};
        }
    }
}
CONF
close $fh;
my $check = `$WorkerStack::NGINX -t -p $d/nginx -c $d/nginx/nginx.conf -e $d/nginx/logs/error.log 2>&1`;
if ($check =~ /unknown directive "webhook_registry"|unknown "webhook_(registration|event_type)" variable/) {
    plan skip_all => 'the module has no webhook_registry yet (issue 14, edge side)';
}
BAIL_OUT("nginx refuses the registry location:\n$check") unless $check =~ /test is successful/;

$s->start_fakes;
$s->seed_default;
open $fh, '>', "$d/tokens" or die $!;
print $fh "tenant-e ", sha256_hex($TOKEN), "\n";
close $fh;
$s->start_worker(REGISTRY_TOKENS_FILE => "$d/tokens",
                 REGISTRY_PUBLIC_BASE_URL => "http://127.0.0.1:$s->{nginx_port}",
                 EDGE_ATTEST_SECRET => $EDGE);
$s->spawn('nginx', undef, $WorkerStack::NGINX, '-p', "$d/nginx", '-c', "$d/nginx/nginx.conf",
          '-e', "$d/nginx/logs/error.log");
WorkerStack::wait_until('nginx', 10, sub {
    IO::Socket::INET->new(PeerAddr => "127.0.0.1:$s->{nginx_port}", Timeout => 1);
}) or BAIL_OUT('nginx did not start: ' . $s->nginx_error_log);

sub api {
    my ($method, $path, %o) = @_;
    return $s->worker($method, $path, %o, headers => { Authorization => "Bearer $TOKEN" });
}

my $n = 0;
# A GitHub delivery to the webhookUrl: X-Hub-Signature-256 over the raw body.
sub push_event {
    my ($url, $secret, %o) = @_;
    my $body = $o{body} // sprintf('{"ref":"refs/heads/main","n":%d}', ++$n);
    my $sig = hmac_sha256_hex($body, $secret);
    return $s->request(POST => $url, body => $body, headers => {
        'X-Hub-Signature-256' => "sha256=$sig", 'X-GitHub-Event' => $o{event} // 'push',
        'X-GitHub-Delivery' => sprintf('%08x-%d-%d', $$, ++$n, int(rand(1e9))) });
}

sub until_status {
    my ($want, $timeout, $send) = @_;
    my $got;
    WorkerStack::wait_until("status $want", $timeout, sub { ($got) = $send->(); $got == $want });
    return $got;
}

sub health_until {
    my ($id, $cond) = @_;
    my $h;
    WorkerStack::wait_until('health', 10, sub {
        (undef, $h) = api(GET => "/webhooks/$id/health");
        $h && $cond->($h);
    });
    return $h;
}

my ($st, $reg) = api(POST => '/integrations/github/webhooks',
                     json => { connectionId => 'repo-1', events => ['push'] });
is $st, 201, 'registered';
my ($id, $url, $secret) = @$reg{qw(registrationId webhookUrl webhookSecret)};

subtest 'register -> deliver signed through the edge -> 202 -> queued -> healthy' => sub {
    # the edge learns of a new id when it next reads reg:rev (within its TTL)
    my ($st, $b);
    is until_status(202, $SETTLE_S, sub { ($st, $b) = push_event($url, $secret); ($st, $b) }), 202,
        'the edge verified it with the registration secret; the worker queued it';
    is $b->{status}, 'queued', 'queued';
    my $xlen = $s->redis_cmd('XLEN', "${P}deliveries:tenant-e:github");
    is $xlen, 1, 'on deliveries:tenant-e:github';
    ($st, $b) = push_event($url, $secret, event => 'issues');
    is $st, 422, 'an event type not registered: 422 at the edge';
    is $b->{error}, 'event_not_registered', 'event_not_registered';
    is $s->redis_cmd('XLEN', "${P}deliveries:tenant-e:github"), 1, 'not queued';
    push_event($url, $secret) for 1 .. 19;
    my $h = health_until($id, sub { $_[0]{passedCount} >= 20 });
    is $h->{passedCount}, 20, "the edge's counters reached Redis";
    is $h->{status}, 'healthy', 'healthy (1 of 21 failed)';
    ok $h->{lastEventAt}, 'lastEventAt';
};

subtest 'wrong secret: counted, degraded, then failed' => sub {
    my ($st, $b) = push_event($url, 'whsec_not-the-secret');
    is $st, 401, 'wrong secret: 401 at the edge';
    is $b->{error}, 'invalid_signature', 'invalid_signature';
    push_event($url, 'whsec_not-the-secret');
    my $h = health_until($id, sub { $_[0]{failureCount} >= 3 });
    is $h->{status}, 'degraded', 'degraded (3 of 23)';
    is $h->{failuresByReason}{invalid_signature}, 2, 'two invalid_signature';
    push_event($url, 'whsec_not-the-secret') for 1 .. 17;
    $h = health_until($id, sub { $_[0]{failureCount} >= 20 });
    is $h->{status}, 'failed', 'failed (20 of 40)';
    like $h->{recommendations}[0], qr/^invalid_signature/, 'the recommendation names it';
};

subtest 'rotation: both secrets during the grace period, then only the new one' => sub {
    my ($st, $b) = api(POST => "/webhooks/$id/rotate", json => { graceSeconds => 3600 });
    is $st, 200, 'rotated';
    my $new = $b->{webhookSecret};
    is until_status(202, $SETTLE_S, sub { push_event($url, $new) }), 202,
        'the new secret works at the edge without a reload';
    ($st) = push_event($url, $secret);
    is $st, 202, 'the old one still works during the grace period';
    ($st, $b) = api(POST => "/webhooks/$id/rotate", json => { graceSeconds => 0 });
    my $newest = $b->{webhookSecret};
    is until_status(401, $SETTLE_S, sub { push_event($url, $new) }), 401,
        'with no grace, the one before is refused';
    ($st) = push_event($url, $newest);
    is $st, 202, 'only the newest works';
    ($st) = push_event($url, $secret);
    is $st, 401, 'the first one is long gone';
};

subtest 'unknown ids: 404 at the edge, and they do not each reach Redis' => sub {
    sleep 2;                # earlier subtests' counters are flushed
    my $before = redis_commands();
    my %codes;
    for (1 .. 100) {
        my ($st, $b) = push_event(sprintf('%s/webhooks/wh_%024x', $s->nginx_url, int(rand(2**48))),
                                  $secret);
        $codes{"$st " . ($b->{error} // '')}++;
    }
    is_deeply \%codes, { '404 unknown_registration' => 100 }, '100 random ids: 404 unknown_registration';
    my $after = redis_commands();
    # every lookup counts (HMGET, SISMEMBER, EXISTS ...), and unknown ids
    # write no counters
    cmp_ok $after - $before, '<', 20,
        "Redis saw few commands (@{[ $after - $before ]} for 100 ids)";
};

subtest 'delete: 410 at the edge within its TTL' => sub {
    my ($st) = api(DELETE => "/webhooks/$id");
    is $st, 200, 'deleted';
    my $b;
    is until_status(410, $SETTLE_S, sub { my @r = push_event($url, $secret); $b = $r[1]; @r }),
        410, '410 at the edge';
    is $b->{error}, 'registration_disabled', 'registration_disabled';
};

# Commands Redis ran, by INFO commandstats, without the ones the worker's
# job thread sends while idle (eval, xreadgroup, xautoclaim,
# zrangebyscore) and INFO itself.
sub redis_commands {
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$s->{redis_port}", Timeout => 2)
        or return -1;
    print $sock "INFO commandstats\r\n";
    my $len = <$sock>;
    $len =~ /^\$(\d+)/ or return -1;
    read($sock, my $info, $1 + 2);
    my %calls = $info =~ /^cmdstat_(\w+):calls=(\d+)/mg;
    delete @calls{qw(eval evalsha xreadgroup xautoclaim zrangebyscore info)};
    my $sum = 0;
    $sum += $_ for values %calls;
    return $sum;
}

$s->shutdown;
done_testing;

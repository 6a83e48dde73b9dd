package WorkerStack;

# End-to-end harness: starts (and always stops, by PID) redis-server with
# AOF, the Salesforce and WHMCS fakes, the worker and optionally nginx with
# the edge module, each on a free loopback port in a throwaway directory.
#
# WorkerStack->new(edge => 1): the worker requires the edge attestation
# (EDGE_ATTEST_SECRET), start_all starts nginx with the module, and fulfill
# sends a freshly signed Salesforce request through it, as Apex would.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');      # upstream-worker/
our $REPO = abs_path("$ROOT/..");
our $WORKER = "$ROOT/build/webhook-worker";
our $PYTHON = '/usr/bin/python3';
our $MODULE = $ENV{WEBHOOK_MODULE_SO} || "$REPO/build/ngx_http_webhook_module.so";
our $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

our $ORDER = '801000000000001AAA';
our $PRICEBOOK = '01s000000000001AAA';
our $ACCOUNT = '001000000000001AAA';
our $CLIENT_ID = 'test-connected-app';
our $SF_USER = 'integration@example.test';
our $EDGE_SECRET = 'edge-attest-secret-for-tests';
our $SF_WEBHOOK_SECRET = 'sf-webhook-secret-for-tests';
# the commerce flow (WorkerStack->new(commerce => 1))
our $STRIPE_SECRET = 'whsec_stripe_secret_for_tests';
our $WC_SECRET = 'wc-webhook-secret-for-tests';
our $HFT71_SECRET = 'hft71-webhook-secret-for-tests';
our $WC_KEY = 'ck_test_key';
our $WC_CS = 'cs_test_secret';
our $HFT71_USER = 'hft71-user';
our $HFT71_PASS = 'hft71-pass';

my $json = JSON::PP->new->canonical->allow_nonref;
my @all_stacks;
my $nonce_count = 0;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_until {
    my ($what, $timeout, $cond) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.05;
    }
    return undef;
}

sub new {
    my ($class, %opt) = @_;
    my $self = bless {
        dir   => tempdir('worker-e2e-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP_E2E}),
        pids  => {},
        http  => HTTP::Tiny->new(timeout => 10),
        opt   => \%opt,
    }, $class;
    chmod 0755, $self->{dir};
    push @all_stacks, $self;
    diag_dir($self->{dir}) if $ENV{KEEP_E2E};
    if ($opt{edge} && !have_module()) {
        print STDERR "# no edge module at $MODULE (make -C .. module): requests go "
                     . "straight to the worker with an attestation made by the test\n";
    }
    return $self;
}

sub diag_dir { print STDERR "# stack dir: $_[0]\n" }

sub dir { $_[0]{dir} }

sub spawn {
    my ($self, $name, $env, @cmd) = @_;
    my $log = "$self->{dir}/$name.log";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', $log or die;
        open STDERR, '>>', $log or die;
        open STDIN, '<', '/dev/null';
        @ENV{keys %$env} = values %$env if $env;
        { no warnings "exec"; exec @cmd; }
        POSIX::_exit(127);
    }
    $self->{pids}{$name} = $pid;
    return $pid;
}

sub alive {
    my ($self, $name) = @_;
    my $pid = $self->{pids}{$name} or return 0;
    return waitpid($pid, WNOHANG) == 0;
}

# SIGTERM (or the given signal), then SIGKILL after 5 s; by PID only.
sub stop {
    my ($self, $name, $signal) = @_;
    my $pid = delete $self->{pids}{$name} or return;
    kill($signal || 'TERM', $pid);
    my $done = wait_until("$name exit", 5, sub { waitpid($pid, WNOHANG) != 0 });
    unless ($done) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    return $? >> 8;
}

sub kill9 {
    my ($self, $name) = @_;
    my $pid = delete $self->{pids}{$name} or return;
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub log_text {
    my ($self, $name) = @_;
    open my $fh, '<', "$self->{dir}/$name.log" or return '';
    local $/;
    return <$fh>;
}

sub DESTROY { $_[0]->shutdown }

sub shutdown {
    my ($self) = @_;
    for my $name (qw(nginx worker worker2 sf whmcs woo hft71 redis)) {
        $self->stop($name) if $self->{pids}{$name};
    }
    for my $name (keys %{ $self->{pids} || {} }) {
        $self->stop($name);
    }
}

END { $_->shutdown for @all_stacks }

# -- services ---------------------------------------------------------------

sub start_redis {
    my ($self) = @_;
    $self->{redis_port} ||= free_port();
    mkdir "$self->{dir}/redis";
    $self->spawn('redis', undef, 'redis-server', '--port', $self->{redis_port},
                 '--bind', '127.0.0.1', '--dir', "$self->{dir}/redis",
                 '--appendonly', 'yes', '--appendfsync', 'always',
                 '--save', '', '--daemonize', 'no');
    wait_until('redis', 10, sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{redis_port}",
                                      Timeout => 1) or return 0;
        print $s "PING\r\n";
        my $l = <$s>;
        return defined $l && $l =~ /PONG/;
    }) or die "redis did not start:\n" . $self->log_text('redis');
}

sub redis_cmd {
    my ($self, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{redis_port}",
                                  Timeout => 2) or return undef;
    print $s '*' . scalar(@args) . "\r\n"
        . join('', map { '$' . length($_) . "\r\n$_\r\n" } @args);
    my $line = <$s>;
    return undef unless defined $line;
    return $1 if $line =~ /^[:+](.*)\r\n/;
    if ($line =~ /^\$(-?\d+)/) {
        return undef if $1 < 0;
        read($s, my $buf, $1 + 2);
        return substr($buf, 0, $1);
    }
    return $line;
}

sub gen_key {
    my ($self) = @_;
    my $d = $self->{dir};
    system("openssl genrsa -out $d/sf-key.pem 2048 2>/dev/null") == 0
        or die 'openssl genrsa failed';
    system("openssl rsa -in $d/sf-key.pem -pubout -out $d/sf-pub.pem 2>/dev/null") == 0
        or die 'openssl rsa -pubout failed';
}

sub start_fakes {
    my ($self) = @_;
    $self->gen_key unless -f "$self->{dir}/sf-key.pem";
    for my $f (qw(sf whmcs)) { unlink "$self->{dir}/$f.port" }
    $self->spawn('sf', undef, $PYTHON, "$ROOT/fakes/fake_salesforce.py",
                 '--public-key', "$self->{dir}/sf-pub.pem",
                 '--client-id', $CLIENT_ID, '--username', $SF_USER,
                 '--cometd-hold-ms', $self->{opt}{cometd_hold_ms} || 500,
                 '--ready-file', "$self->{dir}/sf.port");
    $self->spawn('whmcs', undef, $PYTHON, "$ROOT/fakes/fake_whmcs.py",
                 '--identifier', 'whmcs-id', '--secret', 'whmcs-secret',
                 '--accesskey', 'whmcs-access',
                 '--ready-file', "$self->{dir}/whmcs.port");
    my @fakes = qw(sf whmcs);
    if ($self->{opt}{commerce}) {
        push @fakes, qw(woo hft71);
        unlink "$self->{dir}/$_.port" for qw(woo hft71);
        $self->{nginx_port} ||= free_port();
        $self->spawn('woo', undef, $PYTHON, "$ROOT/fakes/fake_woocommerce.py",
                     '--consumer-key', $WC_KEY, '--consumer-secret', $WC_CS,
                     '--ready-file', "$self->{dir}/woo.port");
        $self->spawn('hft71', undef, $PYTHON, "$ROOT/fakes/fake_hft71.py",
                     '--username', $HFT71_USER, '--password', $HFT71_PASS,
                     '--webhook-url', "http://127.0.0.1:$self->{nginx_port}"
                                      . '/wp-json/hft71/v1/order-status',
                     '--webhook-secret', $HFT71_SECRET,
                     '--ready-file', "$self->{dir}/hft71.port");
    }
    for my $f (@fakes) {
        my $port = wait_until("$f fake", 10, sub {
            open my $fh, '<', "$self->{dir}/$f.port" or return 0;
            my $p = <$fh>;
            return $p && $p =~ /^(\d+)\n/ ? $1 : 0;
        }) or die "$f fake did not start:\n" . $self->log_text($f);
        $self->{"${f}_port"} = $port;
    }
}

sub sf_url    { "http://127.0.0.1:$_[0]{sf_port}" }
sub woo_url   { "http://127.0.0.1:$_[0]{woo_port}" }
sub hft71_url { "http://127.0.0.1:$_[0]{hft71_port}" }
sub whmcs_url { "http://127.0.0.1:$_[0]{whmcs_port}" }

sub worker_env {
    my ($self, %extra) = @_;
    $self->{worker_port} ||= free_port();
    return {
        SF_LOGIN_URL        => $self->sf_url,
        SF_CLIENT_ID        => $CLIENT_ID,
        SF_USERNAME         => $SF_USER,
        SF_PRIVATE_KEY_PATH => "$self->{dir}/sf-key.pem",
        PORTAL_PRICEBOOK_ID => $PRICEBOOK,
        WHMCS_API_URL       => $self->whmcs_url,
        WHMCS_IDENTIFIER    => 'whmcs-id',
        WHMCS_SECRET        => 'whmcs-secret',
        WHMCS_ACCESS_KEY    => 'whmcs-access',
        REDIS_URL           => "redis://127.0.0.1:$self->{redis_port}",
        WORKER_LISTEN       => "127.0.0.1:$self->{worker_port}",
        WORKER_ENV          => 'test',
        WORKER_CONSUMER     => 'e2e-worker',
        RETRY_BASE_MS       => 200,
        RETRY_MAX_MS        => 1000,
        JOB_CLAIM_IDLE_MS   => 1000,
        HTTP_TIMEOUT_MS     => 3000,
        ($self->{opt}{edge} ? (EDGE_ATTEST_SECRET => $EDGE_SECRET) : ()),
        ($self->{opt}{commerce} ? (
            WOOCOMMERCE_URL             => $self->woo_url,
            WOOCOMMERCE_CONSUMER_KEY    => $WC_KEY,
            WOOCOMMERCE_CONSUMER_SECRET => $WC_CS,
            HFT71_API_URL               => $self->hft71_url,
            HFT71_USERNAME              => $HFT71_USER,
            HFT71_PASSWORD              => $HFT71_PASS,
            HFT71_POLL_INTERVAL_S       => 3600,
            HFT71_SWEEP_INTERVAL_S      => 3600,
            JOB_CLAIM_IDLE_MS           => 8000,
            HTTP_TIMEOUT_MS             => 2000,
        ) : ()),
        %{ $self->{opt}{worker_env} || {} },
        %extra,
    };
}

sub start_worker {
    my ($self, %extra) = @_;
    my $env = $self->worker_env(%extra);
    my @wrap = $ENV{WORKER_VALGRIND}
        ? ('valgrind', '-q', '--error-exitcode=99', '--track-origins=yes',
           ($ENV{WORKER_VALGRIND} eq 'leak' ? ('--leak-check=full', '--show-leak-kinds=definite') : ()),
           '--log-file=' . $self->{dir} . '/valgrind.%p.log')
        : ();
    $self->spawn('worker', $env, @wrap, $WORKER);
    if ($env->{WORKER_LISTEN} =~ /^unix:/) {
        (my $path = $env->{WORKER_LISTEN}) =~ s/^unix://;
        wait_until('worker socket', 10, sub { -S $path })
            or die "worker did not start:\n" . $self->log_text('worker');
        return;
    }
    wait_until('worker', 10, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{worker_port}",
                              Timeout => 1);
    }) or die "worker did not start:\n" . $self->log_text('worker');
}

sub worker_url { "http://127.0.0.1:$_[0]{worker_port}" }
sub worker2_url { "http://127.0.0.1:$_[0]{worker2_port}" }

# Another worker process on the same Redis (its own port and consumer name).
sub start_second_worker {
    my ($self, %extra) = @_;
    my $port = free_port();
    my $env = $self->worker_env(WORKER_LISTEN => "127.0.0.1:$port",
                                WORKER_CONSUMER => 'e2e-second', %extra);
    $self->{worker2_port} = $port;
    $self->spawn('worker2', $env, $WORKER);
    wait_until('worker2', 10, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
    }) or die "second worker did not start:\n" . $self->log_text('worker2');
}

sub start_all {
    my ($self, %worker_env) = @_;
    $self->start_redis;
    $self->start_fakes;
    $self->seed_default;
    $self->start_worker(%worker_env);
    $self->start_nginx if $self->{opt}{edge} && have_module();
    return $self;
}

sub have_module { -f $MODULE && -x $NGINX }

# Requests go through nginx with the module (edge mode, module built).
sub through_edge { $_[0]{pids}{nginx} ? 1 : 0 }

sub start_nginx {
    my ($self) = @_;
    $self->{nginx_port} ||= free_port();
    my $d = $self->{dir};
    mkdir "$d/nginx";
    mkdir "$d/nginx/logs";
    my $user = $> == 0 ? "user root;\n" : '';
    my $conf = do {
        open my $fh, '<', "$ROOT/tests/e2e/nginx.conf.in" or die $!;
        local $/;
        <$fh>;
    };
    my %vars = (MODULE => $MODULE, PORT => $self->{nginx_port},
                WORKER_PORT => $self->{worker_port}, PREFIX => "$d/nginx",
                EDGE_SECRET => $EDGE_SECRET, USER => $user,
                STRIPE_SECRET => $STRIPE_SECRET, WC_SECRET => $WC_SECRET,
                HFT71_SECRET => $HFT71_SECRET);
    $conf =~ s/\@(\w+)\@/exists $vars{$1} ? $vars{$1} : die "no var $1"/ge;
    open my $out, '>', "$d/nginx/nginx.conf" or die $!;
    print $out $conf;
    close $out;
    $self->spawn('nginx', { SF_WEBHOOK_SECRET => $SF_WEBHOOK_SECRET },
                 $NGINX, '-p', "$d/nginx", '-c', "$d/nginx/nginx.conf",
                 '-e', "$d/nginx/logs/error.log");
    wait_until('nginx', 10, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{nginx_port}",
                              Timeout => 1);
    }) or die "nginx did not start:\n" . $self->log_text('nginx')
              . `cat $d/nginx/logs/error.log 2>/dev/null`;
}

sub nginx_url { "http://127.0.0.1:$_[0]{nginx_port}" }

sub nginx_error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/nginx/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

# POST a signed body (sf_signed) through nginx.
sub edge_post {
    my ($self, $path, $body, $signed, %headers) = @_;
    return $self->request(POST => $self->nginx_url . $path, body => $body,
                          headers => { %$signed, %headers });
}

# -- HTTP -------------------------------------------------------------------

sub request {
    my ($self, $method, $url, %o) = @_;
    my $body = $o{json} ? $json->encode($o{json}) : $o{body};
    my $res = $self->{http}->request($method, $url, {
        headers => { 'Content-Type' => 'application/json',
                     %{ $o{headers} || {} } },
        (defined $body ? (content => $body) : ()),
    });
    my $data = eval { $json->decode($res->{content}) };
    return ($res->{status}, $data, $res);
}

sub worker {
    my ($self, $method, $path, %o) = @_;
    return $self->request($method, $self->worker_url . $path, %o);
}

sub sf_order {
    my ($self, $id) = @_;
    my (undef, $data) = $self->request(GET => $self->sf_url . '/__orders/' . ($id || $ORDER));
    return $data;
}

sub ledger {
    my ($self, $which) = @_;
    my $url = $self->fake_url($which);
    my (undef, $data) = $self->request(GET => "$url/__ledger");
    return $data;
}

sub calls {
    my ($self, $which, $action, $outcome) = @_;
    return grep { $_->{action} eq $action
                  && (!$outcome || ($_->{outcome} || '') eq $outcome) }
           @{ $self->ledger($which)->{calls} };
}

sub publish_event {
    my ($self, %event) = @_;
    my ($status, $data) = $self->request(POST => $self->sf_url . '/__publish', json => {
        channel => '/event/OrderProvisionRequested__e', %event });
    die "publish failed: $status" unless $status == 200;
    return $data;
}

sub fake_url {
    my ($self, $which) = @_;
    my $port = $self->{"${which}_port"} or die "no $which fake in this stack";
    return "http://127.0.0.1:$port";
}

sub fail_next {
    my ($self, $which, %rule) = @_;
    my $url = $self->fake_url($which);
    my ($status) = $self->request(POST => "$url/__fail", json => \%rule);
    die "fail rule refused: $status" unless $status == 204;
}

sub reset_faults {
    my ($self, $which) = @_;
    my $url = $self->fake_url($which);
    my ($status) = $self->request(DELETE => "$url/__fail");
    die "clearing faults failed: $status" unless $status == 204;
}

sub order {
    my ($self, %over) = @_;
    my $items = delete $over{items};
    return {
        Id => $ORDER, OrderNumber => '00000100', Status => 'Activated',
        Provisioning_Status__c => 'Activating', Pricebook2Id => $PRICEBOOK,
        AccountId => $ACCOUNT, Account => { WHMCS_Client_ID__c => 7 },
        items => $items || [
            { Id => '802000000000001AAA', Quantity => 1.0,
              Product2 => { Name => 'VPS Small', WH_Product_ID__c => 101,
                            Billing_Cycle__c => 'Monthly' } },
            { Id => '802000000000002AAA', Quantity => 2.0,
              Product2 => { Name => 'Backup', WH_Product_ID__c => 102,
                            Billing_Cycle__c => 'Annually' } },
        ],
        %over,
    };
}

sub seed_sf {
    my ($self, @orders) = @_;
    my ($status) = $self->request(POST => $self->sf_url . '/__seed',
                                  json => { orders => \@orders });
    die "seed failed" unless $status == 204;
}

sub seed_whmcs {
    my ($self, %data) = @_;
    my ($status) = $self->request(POST => $self->whmcs_url . '/__seed',
                                  json => \%data);
    die "seed failed" unless $status == 204;
}

sub seed_default {
    my ($self) = @_;
    $self->seed_sf($self->order);
    $self->seed_whmcs(
        clients  => [ { id => 7, paymethods => [ { gateway_name => 'stripe' } ] },
                      { id => 8, paymethods => [] } ],
        products => [ 101, 102 ]);
}

# POST /orders/{id}/fulfill. In edge mode the body is a Salesforce-signed
# one (o{json}'s other fields added to it; o{signed} re-sends an earlier
# [body, headers] from sf_signed) and goes through nginx; with direct => 1,
# or without the module, it goes to the worker with the attestation the
# edge would add.
sub fulfill {
    my ($self, $key, %o) = @_;
    my $order = $o{order} || $ORDER;
    my %headers = (($key ? ('Idempotency-Key' => $key) : ()), %{ $o{headers} || {} });
    return $self->worker(POST => "/orders/$order/fulfill", headers => \%headers,
                         json => $o{json} || { orderId => $order })
        unless $self->{opt}{edge};
    my %fields = %{ $o{json} || {} };
    delete $fields{orderId};
    my ($body, $signed) = $o{signed} ? @{ $o{signed} }
                                     : sf_signed(order => $order, fields => \%fields);
    return $self->edge_post("/orders/$order/fulfill", $body, $signed, %headers)
        if $self->through_edge && !$o{direct};
    return $self->worker(POST => "/orders/$order/fulfill", body => $body,
                         headers => { attestation_headers($body,
                                          id => $signed->{'X-SF-Nonce'}),
                                      %headers });
}

# Polls GET /jobs/{id} until its status is one of @want (bounded).
sub wait_job {
    my ($self, $job_id, $timeout, @want) = @_;
    my %want = map { $_ => 1 } @want;
    my $last;
    wait_until("job $job_id", $timeout, sub {
        my ($status, $data) = $self->worker(GET => "/jobs/$job_id");
        $last = $data;
        return $status == 200 && $want{ $data->{status} || '' };
    });
    return $last;
}

# -- the commerce flow -------------------------------------------------------

# A WooCommerce order as the fake stores it (o{...} overrides).
sub wc_seed {
    my ($self, @orders) = @_;
    my ($status) = $self->request(POST => $self->woo_url . '/__seed',
                                  json => { orders => \@orders });
    die "woo seed failed: $status" unless $status == 204;
}

sub wc_order {
    my ($self, $id) = @_;
    my (undef, $data) = $self->request(GET => $self->woo_url . "/__orders/$id");
    return $data;
}

# HFT71's orders for a reference (the fake's state, not the API).
sub hft71_orders_for {
    my ($self, $ref) = @_;
    return grep { $_->{reference} eq "$ref" } @{ $self->ledger('hft71')->{orders} };
}

sub hft71_set_status {
    my ($self, $id, $status, %o) = @_;
    my ($st, $data) = $self->request(POST => $self->hft71_url . '/__status',
        json => { order_id => $id, status => $status, %o });
    die "hft71 status failed: $st" unless $st == 200;
    return $data;
}

sub hft71_webhook {
    my ($self, $enabled) = @_;
    my ($st) = $self->request(POST => $self->hft71_url . '/__webhook',
                              json => { enabled => $enabled ? JSON::PP::true : JSON::PP::false });
    die "hft71 webhook switch failed: $st" unless $st == 204;
}

# A Stripe event signed as Stripe does ("t=..,v1=hex(HMAC(secret, t.body))"),
# through nginx. Returns (status, data, body).
sub stripe_post {
    my ($self, $event, %o) = @_;
    my $body = ref $event ? $json->encode($event) : $event;
    my $t = int($o{time} // time);
    my $sig = hmac_sha256_hex("$t.$body", $o{secret} // $STRIPE_SECRET);
    my ($st, $data) = $self->request(POST => $self->nginx_url . '/events/stripe',
        body => $body, headers => { 'Stripe-Signature' => "t=$t,v1=$sig" });
    return ($st, $data, $body);
}

my $evt_count = 0;
# A Stripe event object for order $wc (type, o{object} merged into data.object).
sub stripe_event {
    my ($type, $wc, %o) = @_;
    my $obj = { id => $o{object_id} // 'pi_' . sprintf('%x%06d', $$, ++$evt_count),
                object => ($type =~ /^checkout/ ? 'checkout.session'
                           : $type =~ /^charge\.refund\./ ? 'refund'
                           : $type =~ /^charge/ ? 'charge' : 'payment_intent'),
                amount => 1000, currency => 'eur',
                metadata => (defined $wc ? { order_id => "$wc" } : {}),
                %{ $o{object} || {} } };
    return { id => $o{id} // sprintf('evt_%x%06d', $$, ++$evt_count),
             object => 'event', api_version => '2024-06-20',
             created => $o{created} // int(time), livemode => JSON::PP::false,
             type => $type, data => { object => $obj } };
}

# A WooCommerce order webhook (the order as the body), signed with the
# webhook secret (base64 HMAC-SHA256 of the body), through nginx.
my $delivery = 0;
sub wc_webhook {
    my ($self, $order, %o) = @_;
    my $body = $json->encode($order);
    require MIME::Base64;
    my $sig = MIME::Base64::encode_base64(
        Digest::SHA::hmac_sha256($body, $o{secret} // $WC_SECRET), '');
    return $self->request(POST => $self->nginx_url . '/events/woocommerce',
        body => $body, headers => {
            'X-WC-Webhook-Signature' => $sig,
            'X-WC-Webhook-Topic' => $o{topic} // 'order.updated',
            'X-WC-Webhook-Delivery-ID' => $o{delivery} // sprintf('%d%05d', $$, ++$delivery),
            'X-WC-Webhook-Source' => 'https://shop.example.test/' });
}

# HFT71's status webhook body, as its fake would send it, through nginx.
sub hft71_post {
    my ($self, $payload, %o) = @_;
    return $self->request(POST => $self->nginx_url . '/wp-json/hft71/v1/order-status',
        json => $payload,
        headers => { 'X-HFT71-Webhook-Secret' => $o{secret} // $HFT71_SECRET });
}

# Polls GET /commerce/orders/{id} until cond($view) (bounded).
sub wait_commerce {
    my ($self, $id, $timeout, $cond) = @_;
    my $last;
    wait_until("commerce order $id", $timeout, sub {
        my ($st, $data) = $self->worker(GET => "/commerce/orders/$id");
        $last = $data;
        return $st == 200 && $cond->($data);
    });
    return $last;
}

# Polls the fake WooCommerce order until cond($order).
sub wait_wc {
    my ($self, $id, $timeout, $cond) = @_;
    my $last;
    wait_until("wc order $id", $timeout, sub {
        $last = $self->wc_order($id);
        return $last && $cond->($last);
    });
    return $last;
}

# What the edge module would add after verifying a request.
sub attestation_headers {
    my ($body, %o) = @_;
    my $t = $o{time} // time;
    $t = int($t);
    my $provider = $o{provider} // 'salesforce';
    my $id = $o{id} // '';
    my $mac = hmac_sha256_hex("v1:$provider:$id:$t:" . sha256_hex($body),
                              $o{secret} // $EDGE_SECRET);
    return ('X-Webhook-Attestation' => $mac, 'X-Webhook-Edge-Time' => $t,
            'X-Webhook-Provider' => $provider, 'X-Webhook-Id' => $id);
}

# A Salesforce-scheme signed request (what Apex would send): (body,
# {headers}); o{fields} adds fields to the body after the signed ones.
sub sf_signed {
    my (%o) = @_;
    my $t = int($o{time} // time);
    # the pid and a count: a forked child draws the parent's rand() sequence
    my $nonce = $o{nonce} // sprintf('n%x-%x-%08x', $$, ++$nonce_count, int(rand(2**32)));
    my $order = $o{order} // $ORDER;
    my $extra = join '', map { ',' . $json->encode("$_") . ':' . $json->encode($o{fields}{$_}) }
                         sort keys %{ $o{fields} || {} };
    my $body = qq({"orderId":"$order","timestamp":$t,"nonce":"$nonce"$extra});
    my $sig = hmac_sha256_hex($body, $o{secret} // $SF_WEBHOOK_SECRET);
    return ($body, { 'X-SF-Signature' => "sha256=$sig", 'X-SF-Timestamp' => $t,
                     'X-SF-Nonce' => $nonce });
}

1;

# Webhook registrations (issue 14), the worker's side: the API with
# bearer-token tenants, the records in Redis exactly as the edge reads them
# (contract sections 1 and 3), health derived from the edge's minute
# buckets written here as the edge writes them, the registry delivery path
# with the r1 attestation computed in Perl, and Redis outages.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(floor);
use Test::More;
use Time::HiRes qw(sleep time);
use WorkerStack;

my $EDGE = $WorkerStack::EDGE_SECRET;
my $P = 'webhook:';
my $BASE = 'https://hooks.example.test';
my %TOKEN = (a => 'token-of-tenant-a-' . $$, a2 => 'second-token-of-a-' . $$,
             b => 'token-of-tenant-b-' . $$);
my $json = JSON::PP->new->canonical;

sub tokens_file {
    my ($dir) = @_;
    open my $fh, '>', "$dir/tokens" or die $!;
    print $fh "# tenant  sha256(token)\n\n";
    print $fh "tenant-a ", sha256_hex($TOKEN{a}), "\n";
    print $fh "tenant-a\t", uc(sha256_hex($TOKEN{a2})), "   \r\n";
    print $fh "tenant-b ", sha256_hex($TOKEN{b}), "\n";
    close $fh;
    return "$dir/tokens";
}

subtest 'start-up refuses a bad registry configuration, naming it' => sub {
    my $s = WorkerStack->new;
    $s->{redis_port} = 1;
    $s->{sf_port} = $s->{whmcs_port} = 2;
    $s->gen_key;
    my $good = tokens_file($s->dir);
    open my $fh, '>', $s->dir . '/raw-token'; print $fh "tenant-a $TOKEN{a}\n"; close $fh;
    open $fh, '>', $s->dir . '/empty'; print $fh "# nothing\n"; close $fh;
    for my $case (
        [ { REGISTRY_TOKENS_FILE => $s->dir . '/nope' }, qr/REGISTRY_TOKENS_FILE cannot be read/ ],
        [ { REGISTRY_TOKENS_FILE => $s->dir . '/raw-token' },
          qr/REGISTRY_TOKENS_FILE is malformed: line 1: the hash must be 64 hex/ ],
        [ { REGISTRY_TOKENS_FILE => $s->dir . '/empty' }, qr/REGISTRY_TOKENS_FILE is malformed: lists no token/ ],
        [ { REGISTRY_TOKENS_FILE => $good }, qr/REGISTRY_PUBLIC_BASE_URL is not set/ ],
        [ { REGISTRY_TOKENS_FILE => $good, REGISTRY_PUBLIC_BASE_URL => 'ftp://x' },
          qr/REGISTRY_PUBLIC_BASE_URL is malformed/ ],
        [ { REGISTRY_TOKENS_FILE => $good, REGISTRY_PUBLIC_BASE_URL => $BASE,
            REGISTRY_ROTATE_GRACE_S => 604801 }, qr/REGISTRY_ROTATE_GRACE_S is malformed/ ],
        [ { REGISTRY_TOKENS_FILE => $good, REGISTRY_PUBLIC_BASE_URL => $BASE,
            REGISTRY_HEALTH_WINDOW_S => 10 }, qr/REGISTRY_HEALTH_WINDOW_S is malformed/ ],
        [ { REGISTRY_TOKENS_FILE => $good, REGISTRY_PUBLIC_BASE_URL => $BASE,
            REGISTRY_REDIS_PREFIX => 'a b' }, qr/REGISTRY_REDIS_PREFIX is malformed/ ],
    ) {
        my ($env, $want) = @$case;
        unlink $s->dir . '/worker.log';
        my $pid = $s->spawn('worker', $s->worker_env(%$env), $WorkerStack::WORKER);
        waitpid($pid, 0);
        delete $s->{pids}{worker};
        is $? >> 8, 2, "exit status 2 for $want";
        like $s->log_text('worker'), qr/"config_invalid".*$want/, 'config_invalid names it';
        unlike $s->log_text('worker'), qr/\Q$TOKEN{a}\E/, 'the raw token is not logged';
    }
};

my $s = WorkerStack->new;
$s->start_redis;
$s->start_fakes;
$s->seed_default;
my %REG_ENV = (REGISTRY_TOKENS_FILE => tokens_file($s->dir),
               REGISTRY_PUBLIC_BASE_URL => "$BASE/",
               EDGE_ATTEST_SECRET => $EDGE);
$s->start_worker(%REG_ENV);

# -- helpers --------------------------------------------------------------

sub api {
    my ($who, $method, $path, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{Authorization} = "Bearer $TOKEN{$who}" if defined $who;
    return $s->worker($method, $path, %o, headers => \%h);
}

# Redis with the full reply grammar (arrays, nil), for XRANGE, HGETALL ...
sub read_reply {
    my ($sock) = @_;
    my $line = <$sock>;
    return undef unless defined $line;
    $line =~ s/\r\n\z//;
    my $type = substr($line, 0, 1, '');
    return $line if $type eq '+' || $type eq ':';
    return "ERR:$line" if $type eq '-';
    if ($type eq '$') {
        return undef if $line < 0;
        my $buf = '';
        while (length($buf) < $line + 2) {
            my $n = read($sock, $buf, $line + 2 - length($buf), length($buf));
            last unless $n;
        }
        return substr($buf, 0, $line);
    }
    return undef if $line < 0;
    return [ map { read_reply($sock) } 1 .. $line ];
}

sub rc {
    my (@args) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$s->{redis_port}",
                                     Timeout => 3) or return undef;
    print $sock '*' . scalar(@args) . "\r\n"
        . join('', map { '$' . length($_) . "\r\n$_\r\n" } @args);
    return read_reply($sock);
}

sub hgetall { my %h = @{ rc('HGETALL', $_[0]) || [] }; return \%h }

sub register {
    my ($who, $integration, %body) = @_;
    my ($st, $b) = api($who, POST => "/integrations/$integration/webhooks",
                       json => { connectionId => 'conn-1',
                                 events => ['Contact.created'], %body });
    die "register failed: $st " . ($b ? $json->encode($b) : '') unless $st == 201;
    return $b;
}

# What the edge adds to a verified registry delivery (contract section 4).
sub r1_headers {
    my ($id, $body, %o) = @_;
    my $t = int($o{time} // time);
    my $provider = $o{provider} // 'salesforce';
    my $did = $o{delivery} // 'dlv-' . int(rand(1e9));
    my $mac = hmac_sha256_hex("r1:" . ($o{mac_id} // $id) . ":$provider:$did:$t:"
                              . sha256_hex($body), $o{secret} // $EDGE);
    return ('X-Webhook-Attestation' => $o{mac} // $mac, 'X-Webhook-Edge-Time' => $t,
            'X-Webhook-Provider' => $provider, 'X-Webhook-Id' => $did,
            'X-Webhook-Registration' => $o{reg_header} // $id,
            'X-Webhook-Event-Type' => $o{event} // 'Contact.created');
}

sub deliver {
    my ($id, $body, %o) = @_;
    return $s->worker(POST => "/webhooks/$id", body => $body,
                      headers => { r1_headers($id, $body, %o) });
}

sub minute { floor(($_[0] // time) / 60) }

# What the edge writes per delivery (contract section 3).
sub edge_stat {
    my ($id, $field, $n, %o) = @_;
    my $at = int($o{at} // time);
    my $key = "${P}regstat:$id:" . minute($at);
    rc('HINCRBY', $key, $field, $n);
    rc('EXPIRE', $key, 7200);
    if ($field eq 'passed') {
        rc('HSET', "${P}reglast:$id", 'last_event_at', $at);
    } else {
        rc('HSET', "${P}reglast:$id", 'last_failure_at', $at, 'last_reason', $field);
    }
}

sub health { my ($st, $b) = api('a', GET => "/webhooks/$_[0]/health"); return ($st, $b) }

my @secrets_seen;

# -- tests -----------------------------------------------------------------

subtest 'tokens: missing, wrong or foreign tokens are 401 on every endpoint' => sub {
    my @calls = ([ POST => '/integrations/salesforce/webhooks' ], [ GET => '/webhooks' ],
                 [ GET => '/webhooks/health' ], [ GET => '/webhooks/unhealthy' ],
                 [ GET => '/webhooks/wh_000000000000000000000000' ],
                 [ DELETE => '/webhooks/wh_000000000000000000000000' ],
                 [ POST => '/webhooks/wh_000000000000000000000000/rotate' ],
                 [ GET => '/webhooks/wh_000000000000000000000000/health' ],
                 [ POST => '/webhooks/wh_000000000000000000000000/disable' ],
                 [ POST => '/webhooks/wh_000000000000000000000000/enable' ]);
    for my $c (@calls) {
        my ($m, $path) = @$c;
        for my $auth (undef, 'Bearer wrong-token', "Basic $TOKEN{a}", "Bearer",
                      'Bearer ' . sha256_hex($TOKEN{a})) {
            my ($st, $b, $res) = $s->worker($m, $path, json => {},
                headers => { defined $auth ? (Authorization => $auth) : () });
            is $st, 401, "$m $path with " . ($auth // 'no Authorization') . ': 401';
            is $b->{error}, 'unauthorized', 'error unauthorized';
            like $res->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'WWW-Authenticate: Bearer';
        }
    }
    my ($st) = api('a2', GET => '/webhooks');
    is $st, 200, "the tenant's second token works (upper-case hex, tab, CRLF in the file)";
    ($st) = $s->worker(GET => '/webhooks', headers => { Authorization => "bearer $TOKEN{b}" });
    is $st, 200, 'the scheme name is case-insensitive';
};

my ($r1, $r2, $r3);
subtest 'register: 201 with id, URL and the secret once; the record as the edge reads it' => sub {
    my $rev0 = rc('GET', "${P}reg:rev") // 0;
    my ($st, $b, $res) = api('a', POST => '/integrations/salesforce/webhooks',
        json => { connectionId => 'salesforce-conn-123',
                  events => ['Contact.created', 'Contact.updated', 'Contact.created'] });
    is $st, 201, 'status 201';
    like $b->{registrationId}, qr/^wh_[0-9a-f]{24}\z/, 'id: wh_ + 24 lowercase hex';
    is $b->{webhookUrl}, "$BASE/webhooks/$b->{registrationId}", 'webhookUrl from REGISTRY_PUBLIC_BASE_URL';
    like $b->{webhookSecret}, qr/^whsec_[A-Za-z0-9+\/]{43}=\z/, 'secret: whsec_ + base64';
    is length(decode_base64(substr($b->{webhookSecret}, 6))), 32, '32 random bytes';
    is $b->{status}, 'active', 'active';
    is $b->{provider}, 'salesforce', 'provider defaults to the integrationId';
    is_deeply $b->{events}, ['Contact.created', 'Contact.updated'], 'events, a repeat kept once';
    is $b->{connectionId}, 'salesforce-conn-123', 'connectionId';
    ok abs($b->{createdAt} - time) < 10, 'createdAt is now';
    $r1 = $b;
    push @secrets_seen, $b->{webhookSecret};

    my $h = hgetall("${P}reg:$b->{registrationId}");
    is_deeply [ sort keys %$h ],
        [ sort qw(tenant integration connection provider status events secret
                  created_at updated_at rev) ], 'the hash has the contract fields';
    is $h->{tenant}, 'tenant-a', 'tenant';
    is $h->{integration}, 'salesforce', 'integration';
    is $h->{connection}, 'salesforce-conn-123', 'connection';
    is $h->{provider}, 'salesforce', 'provider';
    is $h->{status}, 'active', 'status';
    is $h->{events}, 'Contact.created,Contact.updated', 'events comma-separated';
    is $h->{secret}, $b->{webhookSecret}, 'secret: exactly the string given to the tenant';
    is $h->{rev}, 1, 'rev 1';
    is $h->{created_at}, $b->{createdAt}, 'created_at unix seconds';
    # the edge's lookup
    my $got = rc('HMGET', "${P}reg:$b->{registrationId}", qw(status provider events secret
                 secret_prev secret_prev_until tenant integration));
    is_deeply $got, ['active', 'salesforce', 'Contact.created,Contact.updated',
                     $b->{webhookSecret}, undef, undef, 'tenant-a', 'salesforce'],
        "the edge's HMGET";
    is rc('SISMEMBER', "${P}reg:ids", $b->{registrationId}), 1, 'in reg:ids';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'reg:rev incremented';

    $r2 = register('a', 'github-prod', provider => 'github', events => ['*'],
                   connectionId => 'gh-conn');
    is $r2->{provider}, 'github', 'explicit provider';
    is_deeply $r2->{events}, ['*'], '"*" alone';
    push @secrets_seen, $r2->{webhookSecret};
    $r3 = register('b', 'stripe', events => ['payment_intent.succeeded']);
    push @secrets_seen, $r3->{webhookSecret};
    is $r3->{provider}, 'stripe', 'stripe by default for integration stripe';
    isnt $r3->{webhookSecret}, $r1->{webhookSecret}, 'secrets differ';
    is rc('GET', "${P}reg:rev"), $rev0 + 3, 'reg:rev incremented on every create';
};

subtest 'register: validation errors are 400 with a reason' => sub {
    my @cases = (
        [ 'salesforce', '{"connectionId":', 'invalid_body', 'not JSON' ],
        [ 'salesforce', '[1,2]', 'invalid_body', 'not an object' ],
        [ 'salesforce', '', 'invalid_body', 'empty' ],
        [ 'salesforce', '{"connectionId":"c","events":["a"],"event":"x"}', 'invalid_body', 'unknown field' ],
        [ 'salesforce', '{"connectionId":"c","connectionId":"d","events":["a"]}', 'invalid_body', 'duplicate key' ],
        [ 'salesforce', '{"events":["a"]}', 'invalid_connection_id', 'no connectionId' ],
        [ 'salesforce', '{"connectionId":"","events":["a"]}', 'invalid_connection_id', 'empty connectionId' ],
        [ 'salesforce', '{"connectionId":7,"events":["a"]}', 'invalid_connection_id', 'numeric connectionId' ],
        [ 'salesforce', '{"connectionId":"' . ('x' x 201) . '","events":["a"]}', 'invalid_connection_id', 'long connectionId' ],
        [ 'salesforce', '{"connectionId":"c"}', 'invalid_events', 'no events' ],
        [ 'salesforce', '{"connectionId":"c","events":[]}', 'invalid_events', 'empty events' ],
        [ 'salesforce', '{"connectionId":"c","events":"Contact.created"}', 'invalid_events', 'events a string' ],
        [ 'salesforce', '{"connectionId":"c","events":["a,b"]}', 'invalid_events', 'comma in an event' ],
        [ 'salesforce', '{"connectionId":"c","events":["a b"]}', 'invalid_events', 'space in an event' ],
        [ 'salesforce', '{"connectionId":"c","events":[1]}', 'invalid_events', 'numeric event' ],
        [ 'salesforce', '{"connectionId":"c","events":["*","a"]}', 'invalid_events', '"*" with others' ],
        [ 'salesforce', '{"connectionId":"c","events":[' . join(',', map { "\"e$_\"" } 1 .. 101) . ']}',
          'invalid_events', '101 events' ],
        [ 'castiel', '{"connectionId":"c","events":["a"]}', 'unsupported_provider', 'integration names no provider' ],
        [ 'salesforce', '{"connectionId":"c","events":["a"],"provider":"pubsub"}', 'unsupported_provider', 'pubsub (not HMAC)' ],
        [ 'salesforce', '{"connectionId":"c","events":["a"],"provider":"Stripe"}', 'unsupported_provider', 'case matters' ],
        [ 'sales.force', '{"connectionId":"c","events":["a"]}', 'invalid_integration', 'integration id with a dot' ],
        [ 'x' x 65, '{"connectionId":"c","events":["a"]}', 'invalid_integration', 'integration id of 65' ],
    );
    my $before = scalar @{ rc('SMEMBERS', "${P}reg:ids") };
    for my $c (@cases) {
        my ($integration, $body, $code, $what) = @$c;
        my ($st, $b) = api('a', POST => "/integrations/$integration/webhooks", body => $body);
        is $st, 400, "$what: 400";
        is $b->{error}, $code, "$what: $code";
        ok length($b->{message} // '') > 10, "$what: a message ($b->{message})";
    }
    is scalar @{ rc('SMEMBERS', "${P}reg:ids") }, $before, 'nothing was stored';
    my ($st, $b) = api('a', POST => '/integrations/salesforce/webhooks', body => 'x' x 70000);
    is $st, 413, 'a body over 64 KiB: 413';
    is $b->{error}, 'body_too_large', 'body_too_large';
    ($st, $b) = api('a', GET => '/integrations/salesforce/webhooks');
    is $st, 405, 'GET on the create path: 405';
    ($st, $b) = api('a', POST => '/integrations/salesforce/other');
    is $st, 404, 'unknown path under /integrations: 404';
    like $s->log_text('worker'), qr/"registry_rejected".*"error":"invalid_events"/, 'one registry_rejected line';
};

subtest 'GET /webhooks/:id never shows a secret; lists filter by integration and status' => sub {
    my ($st, $b, $res) = api('a', GET => "/webhooks/$r1->{registrationId}");
    is $st, 200, 'status 200';
    is $b->{registrationId}, $r1->{registrationId}, 'id';
    is $b->{integrationId}, 'salesforce', 'integrationId';
    is $b->{status}, 'active', 'status';
    is_deeply $b->{events}, ['Contact.created', 'Contact.updated'], 'events';
    is $b->{createdAt}, $r1->{createdAt}, 'createdAt';
    ok defined $b->{updatedAt}, 'updatedAt';
    ok exists $b->{rotationGraceEndsAt} && !defined $b->{rotationGraceEndsAt}, 'no rotation grace';
    is_deeply $b->{recentDeliveries}, [], 'no deliveries yet';
    unlike $res->{content}, qr/whsec_|[Ss]ecret/, 'no secret, no secret field';

    ($st, $b, $res) = api('a', GET => '/webhooks');
    is $st, 200, 'list 200';
    is_deeply [ map { $_->{registrationId} } @{ $b->{webhooks} } ],
        [ map { $_->[1] } sort { $a->[0] <=> $::b->[0] || $a->[1] cmp $::b->[1] }
          map { [ $_->{createdAt}, $_->{registrationId} ] } $r1, $r2 ],
        "tenant a's two, oldest first (then by id)";
    is $b->{count}, 2, 'count';
    unlike $res->{content}, qr/whsec_/, 'no secret in the list';
    ($st, $b) = api('a', GET => '/webhooks?integration=github-prod');
    is_deeply [ map { $_->{registrationId} } @{ $b->{webhooks} } ], [ $r2->{registrationId} ],
        'integration filter';
    ($st, $b) = api('a', GET => '/webhooks?status=deleted');
    is_deeply $b->{webhooks}, [], 'status filter';
    ($st, $b) = api('a', GET => '/webhooks?status=gone');
    is $st, 400, 'unknown status filter: 400';
    is $b->{error}, 'invalid_filter', 'invalid_filter';
    ($st, $b) = api('a', GET => '/webhooks?integration=a:b');
    is $st, 400, 'bad integration filter: 400';
    ($st, $b) = api('b', GET => '/webhooks');
    is_deeply [ map { $_->{registrationId} } @{ $b->{webhooks} } ], [ $r3->{registrationId} ],
        'tenant b sees only its own';
    ($st, $b) = api('a', GET => '/webhooks/wh_ffffffffffffffffffffffff');
    is $st, 404, 'unknown id 404';
    is $b->{error}, 'not_found', 'not_found';
    ($st) = api('a', GET => '/webhooks/bad%20id');
    is $st, 404, 'malformed id 404';
    ($st) = api('a', GET => '/webhooks/' . ('a' x 65));
    is $st, 404, 'id of 65: 404';
    ($st) = api('a', PUT => "/webhooks/$r1->{registrationId}");
    is $st, 405, 'PUT: 405';
    ($st) = api('a', POST => '/webhooks/health');
    is $st, 405, 'POST /webhooks/health: 405 (not a delivery)';
    ($st) = api('a', DELETE => '/webhooks');
    is $st, 405, 'DELETE /webhooks: 405';
};

subtest "another tenant's registration is 404 on every endpoint and stays untouched" => sub {
    my $id = $r1->{registrationId};
    my $before = hgetall("${P}reg:$id");
    my ($st_u, $b_u) = api('b', GET => '/webhooks/wh_ffffffffffffffffffffffff');
    for my $c ([ GET => "/webhooks/$id" ], [ DELETE => "/webhooks/$id" ],
               [ POST => "/webhooks/$id/rotate" ], [ GET => "/webhooks/$id/health" ],
               [ POST => "/webhooks/$id/disable" ], [ POST => "/webhooks/$id/enable" ]) {
        my ($m, $path) = @$c;
        my ($st, $b) = api('b', $m, $path);
        is $st, 404, "tenant b: $m $path 404";
        is_deeply $b, $b_u, 'the same answer as for an id that does not exist';
    }
    is_deeply hgetall("${P}reg:$id"), $before, 'the record is unchanged';
    my ($st, $b) = api('b', GET => "/webhooks?integration=salesforce");
    is_deeply $b->{webhooks}, [], "not in tenant b's list";
    edge_stat($id, 'invalid_signature', 50);
    ($st, $b) = api('b', GET => '/webhooks/unhealthy');
    is_deeply $b->{webhooks}, [], "not in tenant b's unhealthy list";
    ($st, $b) = api('b', GET => '/webhooks/health');
    is $b->{registrations}{active}, 1, "tenant b's summary counts its own";
    is $b->{health}{failed}, 0, "tenant a's failures are not tenant b's";
    ($st, $b) = api('a', GET => '/webhooks/unhealthy');
    is_deeply [ map { $_->{registrationId} } @{ $b->{webhooks} } ], [ $id ],
        "but in tenant a's";
    rc('DEL', "${P}regstat:$id:" . minute(), "${P}reglast:$id");
};

subtest 'rotate: a new secret once, the old one as secret_prev until the grace ends' => sub {
    my $id = $r1->{registrationId};
    my $rev0 = rc('GET', "${P}reg:rev");
    my $t0 = time;
    my ($st, $b) = api('a', POST => "/webhooks/$id/rotate");
    is $st, 200, 'rotate 200';
    like $b->{webhookSecret}, qr/^whsec_[A-Za-z0-9+\/]{43}=\z/, 'new secret';
    isnt $b->{webhookSecret}, $r1->{webhookSecret}, 'a different one';
    push @secrets_seen, $b->{webhookSecret};
    is $b->{graceSeconds}, 86400, 'default grace REGISTRY_ROTATE_GRACE_S';
    ok abs($b->{rotationGraceEndsAt} - ($t0 + 86400)) <= 5, 'grace ends in a day';
    my $h = hgetall("${P}reg:$id");
    is $h->{secret}, $b->{webhookSecret}, 'secret is the new one';
    is $h->{secret_prev}, $r1->{webhookSecret}, 'secret_prev is the old one';
    is $h->{secret_prev_until}, $b->{rotationGraceEndsAt}, 'secret_prev_until';
    is $h->{rev}, 2, 'rev 2';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'reg:rev incremented';
    my ($st2, $v, $res) = api('a', GET => "/webhooks/$id");
    is $v->{rotationGraceEndsAt}, $b->{rotationGraceEndsAt}, 'GET shows the grace end';
    unlike $res->{content}, qr/whsec_/, 'and no secret';

    # a short grace, then only the new secret is left
    my $old = $h->{secret};
    ($st, $b) = api('a', POST => "/webhooks/$id/rotate", json => { graceSeconds => 1 });
    is $st, 200, 'rotate with graceSeconds 1';
    push @secrets_seen, $b->{webhookSecret};
    $h = hgetall("${P}reg:$id");
    is $h->{secret_prev}, $old, 'the rotated-away secret is secret_prev (the oldest dropped)';
    sleep 2.2;
    ($st, $v) = api('a', GET => "/webhooks/$id");
    ok !defined $v->{rotationGraceEndsAt}, 'grace over: no grace end shown';
    $h = hgetall("${P}reg:$id");
    ok !exists $h->{secret_prev} && !exists $h->{secret_prev_until},
        'secret_prev and secret_prev_until are removed once the grace ended';
    is $h->{secret}, $b->{webhookSecret}, 'only the new secret';
    is $h->{rev}, 4, 'the removal is a change: rev 4';

    ($st, $b) = api('a', POST => "/webhooks/$id/rotate", json => { graceSeconds => 0 });
    is $st, 200, 'graceSeconds 0';
    ok !defined $b->{rotationGraceEndsAt}, 'no grace';
    push @secrets_seen, $b->{webhookSecret};
    $h = hgetall("${P}reg:$id");
    ok !exists $h->{secret_prev}, 'no secret_prev at all';
    $r1->{webhookSecret} = $b->{webhookSecret};
    for my $bad ('{"graceSeconds":-1}', '{"graceSeconds":604801}', '{"graceSeconds":"60"}',
                 '{"graceSeconds":1.5}', '{"grace":5}', 'nope') {
        ($st, $b) = api('a', POST => "/webhooks/$id/rotate", body => $bad);
        is $st, 400, "rotate $bad: 400";
        like $b->{error}, qr/^invalid_(grace|body)\z/, "reason $b->{error}";
    }
    is hgetall("${P}reg:$id")->{secret}, $r1->{webhookSecret}, 'refused rotations changed nothing';
    ($st) = api('a', GET => "/webhooks/$id/rotate");
    is $st, 405, 'GET rotate: 405';
};

subtest 'health: healthy -> degraded -> failed as wrong-secret deliveries accumulate' => sub {
    my $id = $r1->{registrationId};
    my ($st, $b) = health($id);
    is $st, 200, 'status 200';
    is $b->{status}, 'healthy', 'no traffic: healthy';
    is $b->{failureCount}, 0, 'no failures';
    ok !defined $b->{lastEventAt}, 'lastEventAt null before any event';
    is_deeply $b->{recommendations}, [], 'nothing to do';
    is $b->{windowSeconds}, 900, 'window REGISTRY_HEALTH_WINDOW_S default';

    my $now = time;
    edge_stat($id, 'passed', 20, at => $now - 120);
    ($st, $b) = health($id);
    is $b->{status}, 'healthy', '20 passed: healthy';
    is $b->{passedCount}, 20, 'passedCount';
    is $b->{lastEventAt}, int($now - 120), 'lastEventAt from reglast';
    edge_stat($id, 'invalid_signature', 1, at => $now - 60);
    ($st, $b) = health($id);
    is $b->{status}, 'healthy', '1 of 21 failed (< 10 %): healthy';
    is $b->{failureCount}, 1, 'failureCount 1';
    like $b->{recommendations}[0], qr/^invalid_signature \(1 in the last 15 min\): .*re-copy webhookSecret/,
        'but the recommendation is there';
    edge_stat($id, 'invalid_signature', 2);
    ($st, $b) = health($id);
    is $b->{status}, 'degraded', '3 of 23 failed (>= 10 %): degraded';
    is $b->{failureCount}, 3, 'failureCount 3';
    is $b->{lastFailureReason}, 'invalid_signature', 'last reason';
    edge_stat($id, 'invalid_signature', 16);
    ($st, $b) = health($id);
    is $b->{status}, 'degraded', '19 of 39 failed (< 50 %): still degraded';
    edge_stat($id, 'invalid_signature', 1);
    ($st, $b) = health($id);
    is $b->{status}, 'failed', '20 of 40 failed (>= 50 %, >= 5): failed';
    is $b->{failureCount}, 20, 'failureCount 20';
    is $b->{failuresByReason}{invalid_signature}, 20, 'by reason';
    like $b->{recommendations}[0], qr/the provider signs with a different secret/, 'operator advice';
    edge_stat($id, 'replay', 2);
    ($st, $b) = health($id);
    is scalar @{ $b->{recommendations} }, 2, 'one recommendation per reason';
    like $b->{recommendations}[1], qr/^replay \(2 in the last 15 min\): the same delivery id/,
        'replay advice, after the most frequent';
    is $b->{failureCount}, 22, 'every reason counts as a failure';

    # few failures and nothing else: degraded, not failed (fewer than 5)
    my $r = register('a', 'slack', events => ['message']);
    push @secrets_seen, $r->{webhookSecret};
    edge_stat($r->{registrationId}, 'invalid_signature', 4);
    (undef, $b) = health($r->{registrationId});
    is $b->{status}, 'degraded', '4 of 4 failed (fewer than 5): degraded';
    edge_stat($r->{registrationId}, 'invalid_signature', 1);
    (undef, $b) = health($r->{registrationId});
    is $b->{status}, 'failed', '5 of 5: failed';

    ($st, $b) = api('a', GET => '/webhooks/unhealthy');
    is $st, 200, 'unhealthy list 200';
    is_deeply [ sort map { $_->{registrationId} } @{ $b->{webhooks} } ],
        [ sort $id, $r->{registrationId} ], 'both failed ones listed';
    ok !grep({ $_->{registrationId} eq $r2->{registrationId} } @{ $b->{webhooks} }),
        'the healthy one is not';
    ok scalar @{ $b->{webhooks}[0]{recommendations} } > 0, 'with recommendations';
    ($st, $b) = api('a', GET => '/webhooks/health');
    is $st, 200, 'service health 200';
    is $b->{status}, 'failed', 'tenant summary: failed';
    is $b->{registrations}{active}, 3, 'three active';
    is $b->{health}{failed}, 2, 'two failed';
    is $b->{health}{healthy}, 1, 'one healthy';
    is $b->{unhealthy}, 2, 'two unhealthy';
    is $b->{redis}, 'connected', 'redis connected';
    rc('DEL', "${P}regstat:$r->{registrationId}:" . minute());
    api('a', DELETE => "/webhooks/$r->{registrationId}");
};

subtest 'health: the window slides over the minute buckets' => sub {
    my $r = register('a', 'notion', events => ['page.created']);
    my $id = $r->{registrationId};
    push @secrets_seen, $r->{webhookSecret};
    my $now = time;
    edge_stat($id, 'invalid_signature', 30, at => $now - 20 * 60);
    edge_stat($id, 'passed', 5, at => $now - 16 * 60);
    my ($st, $b) = health($id);
    is $b->{status}, 'healthy', 'failures 20 min ago are outside the 15 min window';
    is $b->{failureCount}, 0, 'not counted';
    is $b->{passedCount}, 0, 'passes 16 min ago neither';
    edge_stat($id, 'invalid_signature', 6, at => $now - 10 * 60);
    ($st, $b) = health($id);
    is $b->{status}, 'failed', 'failures 10 min ago are inside';
    is $b->{failureCount}, 6, 'only those counted';
    edge_stat($id, 'passed', 100, at => $now - 5 * 60);
    ($st, $b) = health($id);
    is $b->{status}, 'healthy', '6 of 106 (< 10 %): healthy again';

    # silence: the provider stopped sending
    rc('HSET', "${P}reglast:$id", 'last_event_at', int($now - 7 * 3600));
    rc('DEL', map { "${P}regstat:$id:" . minute($now - $_ * 60) } 5, 10, 16, 20);
    ($st, $b) = health($id);
    is $b->{status}, 'healthy', 'no traffic: healthy';
    like $b->{recommendations}[0], qr/^no events for 7 hours: check the provider's webhook config/,
        'but no events for 7 hours is a recommendation';
    api('a', DELETE => "/webhooks/$id");
};

subtest 'delivery: attested by the edge, queued on the tenant stream, shown by GET' => sub {
    my $id = $r1->{registrationId};
    my $stream = "${P}deliveries:tenant-a:salesforce";
    my $body = qq({"action":"created","sobject":{"name":"Contact","fields":{"Id":"003xx000004TMM"}}});
    my ($st, $b) = deliver($id, $body, delivery => 'evt-0001');
    is $st, 202, 'status 202';
    is $b->{status}, 'queued', 'queued';
    like $b->{entryId}, qr/^\d+-\d+\z/, 'the stream entry id';
    my $entries = rc('XRANGE', $stream, '-', '+');
    is scalar @$entries, 1, 'one entry on deliveries:<tenant>:<integration>';
    my %f = @{ $entries->[0][1] };
    is $entries->[0][0], $b->{entryId}, 'the answered entry';
    is $f{body}, $body, 'the body byte for byte';
    is $f{registration}, $id, 'registration';
    is $f{tenant}, 'tenant-a', 'tenant from the record';
    is $f{integration}, 'salesforce', 'integration from the record';
    is $f{provider}, 'salesforce', 'provider';
    is $f{event_type}, 'Contact.created', 'event type from X-Webhook-Event-Type';
    is $f{delivery_id}, 'evt-0001', 'delivery id';
    my ($st2, $v) = api('a', GET => "/webhooks/$id");
    is scalar @{ $v->{recentDeliveries} }, 1, 'GET shows it';
    is $v->{recentDeliveries}[0]{entryId}, $b->{entryId}, 'entry id';
    is $v->{recentDeliveries}[0]{eventType}, 'Contact.created', 'event type';
    is $v->{recentDeliveries}[0]{deliveryId}, 'evt-0001', 'delivery id';
    is $v->{recentDeliveries}[0]{bytes}, length($body), 'size';

    # headers from the edge cannot move a delivery to another tenant
    ($st, $b) = $s->worker(POST => "/webhooks/$id", body => $body,
        headers => { r1_headers($id, $body), 'X-Webhook-Tenant' => 'tenant-b',
                     'X-Webhook-Integration' => 'stripe' });
    is $st, 202, 'extra headers: still 202';
    is rc('XLEN', "${P}deliveries:tenant-b:stripe"), 0, "nothing on tenant b's stream";
    # a body with a NUL byte and non-ASCII bytes is kept exactly
    my $bin = "a\0b\xff\xfe{}";
    ($st) = deliver($id, $bin);
    is $st, 202, 'binary body 202';
    $entries = rc('XREVRANGE', $stream, '+', '-', 'COUNT', 1);
    is { @{ $entries->[0][1] } }->{body}, $bin, 'binary body kept exactly';
    # 25 more: the recent list keeps 20, GET shows 10
    deliver($id, qq({"n":$_})) for 1 .. 25;
    is rc('LLEN', "${P}reg:$id:recent"), 20, 'recent list trimmed to 20';
    (undef, $v) = api('a', GET => "/webhooks/$id");
    is scalar @{ $v->{recentDeliveries} }, 10, 'GET shows the last 10';
    is $v->{recentDeliveries}[0]{bytes}, length('{"n":25}'), 'newest first';
    is rc('XLEN', $stream), 28, 'every delivery is on the stream';
};

subtest 'delivery: refused without a good attestation, for a non-active or unknown registration' => sub {
    my $id = $r1->{registrationId};
    my $stream = "${P}deliveries:tenant-a:salesforce";
    my $n0 = rc('XLEN', $stream);
    my $body = '{"action":"updated","sobject":{"name":"Contact"}}';
    my @bad = (
        [ 'bad MAC', mac => 'f' x 64 ],
        [ 'MAC with another secret', secret => 'not-the-edge-secret' ],
        [ "MAC for another registration's id", mac_id => $r2->{registrationId} ],
        [ 'attested for github, registration is salesforce', provider => 'github' ],
        [ 'edge time 10 min old', time => time - 600 ],
        [ 'X-Webhook-Registration names another id', reg_header => $r2->{registrationId} ],
    );
    for my $c (@bad) {
        my ($what, %o) = @$c;
        my ($st, $b) = deliver($id, $body, %o);
        is $st, 401, "$what: 401";
        is $b->{error}, 'attestation_invalid', "$what: attestation_invalid";
    }
    my ($st, $b) = $s->worker(POST => "/webhooks/$id", body => $body);
    is $st, 401, 'no attestation headers: 401';
    ($st, $b) = $s->worker(POST => "/webhooks/$id", body => $body,
                           headers => { Authorization => "Bearer $TOKEN{a}" });
    is $st, 401, "a tenant's bearer token is no attestation";
    my %h = r1_headers($id, $body);
    ($st) = $s->worker(POST => "/webhooks/$id", body => $body . ' ', headers => \%h);
    is $st, 401, 'body changed after the edge: 401';
    is rc('XLEN', $stream), $n0, 'nothing was queued';
    like $s->log_text('worker'), qr/"attestation_refused".*"endpoint":"registry"/, 'logged';

    ($st, $b) = deliver('wh_ffffffffffffffffffffffff', $body);
    is $st, 404, 'unknown id: 404';
    is $b->{error}, 'unknown_registration', 'unknown_registration';
    rc('HSET', "${P}reg:$r2->{registrationId}", 'status', 'disabled');
    ($st, $b) = deliver($r2->{registrationId}, $body, provider => 'github');
    is $st, 410, 'disabled: 410';
    is $b->{error}, 'registration_disabled', 'registration_disabled';
    rc('HSET', "${P}reg:$r2->{registrationId}", 'status', 'active');
    ($st) = deliver($r2->{registrationId}, $body, provider => 'github', event => 'push');
    is $st, 202, 'active again: 202 (on its own stream)';
    is rc('XLEN', "${P}deliveries:tenant-a:github-prod"), 1, 'deliveries:tenant-a:github-prod';
    ($st, $b) = deliver($id, $body, event => 'x' x 201);
    is $st, 400, 'an event type over 200 bytes: 400';
    is $b->{error}, 'invalid_request', 'invalid_request';
    is rc('XLEN', $stream), $n0, 'still nothing queued on salesforce';
};

subtest 'disable and enable: the edge reads disabled (410), then active again' => sub {
    my $id = $r1->{registrationId};
    my $rev0 = rc('GET', "${P}reg:rev");
    my $hrev = hgetall("${P}reg:$id")->{rev};
    my ($st, $b) = api('b', POST => "/webhooks/$id/disable");
    is $st, 404, "tenant b cannot disable tenant a's";
    is hgetall("${P}reg:$id")->{status}, 'active', 'still active';
    ($st, $b) = api('a', POST => "/webhooks/$id/disable");
    is $st, 200, 'disable: 200';
    is $b->{status}, 'disabled', 'disabled';
    ok $b->{changed}, 'changed';
    my $h = hgetall("${P}reg:$id");
    is $h->{status}, 'disabled', 'status disabled in Redis';
    is $h->{rev}, $hrev + 1, 'rev incremented';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'reg:rev incremented';
    is $h->{secret}, $r1->{webhookSecret}, 'the secret is kept';
    ($st, $b) = deliver($id, '{}');
    is $st, 410, 'a delivery: 410';
    is $b->{error}, 'registration_disabled', 'registration_disabled';
    ($st, $b) = api('a', POST => "/webhooks/$id/disable");
    is $st, 200, 'disable again: 200';
    ok !$b->{changed}, 'not changed';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'reg:rev not moved';
    (undef, $b) = health($id);
    like $b->{recommendations}[0], qr/^the registration is disabled/, 'health says so';
    (undef, $b) = api('a', GET => '/webhooks?status=disabled');
    is_deeply [ map { $_->{registrationId} } @{ $b->{webhooks} } ], [ $id ], 'status=disabled list';
    my (undef, undef, $res) = $s->worker(GET => '/metrics');
    like $res->{content}, qr/^webhook_worker_registry_registrations\{status="disabled"\} 1$/m,
        'the gauge counts it';
    ($st, $b) = api('a', POST => "/webhooks/$id/enable");
    is $st, 200, 'enable: 200';
    is $b->{status}, 'active', 'active';
    ok $b->{changed}, 'changed';
    is rc('GET', "${P}reg:rev"), $rev0 + 2, 'reg:rev incremented';
    ($st) = deliver($id, '{}');
    is $st, 202, 'deliveries again';
    ($st) = api('a', GET => "/webhooks/$id/disable");
    is $st, 405, 'GET disable: 405';
};

subtest 'delete: status deleted, secrets removed, key kept 30 days; the edge reads 410' => sub {
    my $id = $r2->{registrationId};
    my $rev0 = rc('GET', "${P}reg:rev");
    my ($st, $b) = api('b', DELETE => "/webhooks/$id");
    is $st, 404, "tenant b cannot delete tenant a's";
    ($st, $b) = api('a', DELETE => "/webhooks/$id");
    is $st, 200, 'delete 200';
    is $b->{status}, 'deleted', 'deleted';
    ok !$b->{alreadyDeleted}, 'first delete';
    my $h = hgetall("${P}reg:$id");
    is $h->{status}, 'deleted', 'status deleted in Redis';
    ok !exists $h->{secret} && !exists $h->{secret_prev} && !exists $h->{secret_prev_until},
        'no secret left';
    is $h->{rev}, 2, 'rev incremented';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'reg:rev incremented';
    my $ttl = rc('TTL', "${P}reg:$id");
    ok $ttl > 29 * 86400 && $ttl <= 30 * 86400, "key kept with a 30 day TTL ($ttl)";
    is rc('SISMEMBER', "${P}reg:ids", $id), 1, 'still in reg:ids while the key exists';
    my $edge = rc('HMGET', "${P}reg:$id", qw(status provider events secret secret_prev
                  secret_prev_until tenant integration));
    is $edge->[0], 'deleted', "the edge's lookup sees deleted (410), not nothing (404)";
    ($st, $b) = deliver($id, '{}', provider => 'github');
    is $st, 410, 'a delivery to it: 410';
    is $b->{message}, 'The registration is deleted', 'says deleted';
    ($st, $b) = api('a', DELETE => "/webhooks/$id");
    is $st, 200, 'delete again: 200';
    ok $b->{alreadyDeleted}, 'alreadyDeleted';
    is rc('GET', "${P}reg:rev"), $rev0 + 1, 'no second change';
    ($st, $b) = api('a', POST => "/webhooks/$id/rotate");
    is $st, 409, 'rotate a deleted one: 409';
    is $b->{error}, 'registration_deleted', 'registration_deleted';
    ($st, $b) = api('a', POST => "/webhooks/$id/enable");
    is $st, 409, 'enable a deleted one: 409';
    ($st, $b) = api('a', GET => "/webhooks/$id");
    is $b->{status}, 'deleted', 'GET still shows it, deleted';
    ok defined $b->{deletedAt}, 'deletedAt';
    ($st, $b) = api('a', GET => '/webhooks?status=deleted');
    ok grep({ $_->{registrationId} eq $id } @{ $b->{webhooks} }), 'in the deleted list';
    (undef, $b) = health($id);
    like $b->{recommendations}[0], qr/^the registration is deleted/, 'health says so';
    # once Redis drops the key (30 days), the id leaves the sets
    rc('DEL', "${P}reg:$id");
    (undef, $b) = api('a', GET => '/webhooks');
    ok !grep({ $_->{registrationId} eq $id } @{ $b->{webhooks} }), 'purged: not listed';
    is rc('SISMEMBER', "${P}reg:ids", $id), 0, 'SREM from reg:ids';
    is rc('SISMEMBER', "${P}reg:tenant:tenant-a", $id), 0, 'and from the tenant set';
};

subtest 'metrics: registrations by status, deliveries queued, API requests by outcome' => sub {
    my ($st, undef, $res) = $s->worker(GET => '/metrics');
    is $st, 200, 'status 200';
    my $m = $res->{content};
    like $m, qr/^webhook_worker_registry_requests_total\{endpoint="create",code="201"\} [1-9]/m,
        'creates counted';
    like $m, qr/^webhook_worker_registry_requests_total\{endpoint="create",code="400"\} 2[2-9]/m,
        'refusals counted';
    like $m, qr/^webhook_worker_registry_requests_total\{endpoint="get",code="404"\} [1-9]/m, '404s';
    like $m, qr/^webhook_worker_registry_requests_total\{endpoint="delivery",code="401"\} [1-9]/m,
        'refused deliveries';
    like $m, qr/^webhook_worker_registry_deliveries_queued_total\{provider="salesforce"\} 29$/m,
        'deliveries queued by provider';
    like $m, qr/^# TYPE webhook_worker_registry_registrations gauge$/m, 'a gauge';
    my ($active) = $m =~ /^webhook_worker_registry_registrations\{status="active"\} (\d+)$/m;
    is $active, 2, 'two active (r1 of tenant a, r3 of tenant b)';
    like $m, qr/^webhook_worker_registry_registrations\{status="deleted"\} 2$/m,
        'two deleted still kept (slack, notion; github was purged)';
};

subtest 'Redis down: the API and deliveries answer 503 and work again after a restart' => sub {
    my $id = $r1->{registrationId};
    $s->kill9('redis');
    for my $c ([ a => GET => '/webhooks' ], [ a => GET => "/webhooks/$id" ],
               [ a => POST => '/integrations/salesforce/webhooks',
                 json => { connectionId => 'c', events => ['a'] } ],
               [ a => POST => "/webhooks/$id/rotate" ], [ a => GET => "/webhooks/$id/health" ],
               [ a => GET => '/webhooks/health' ], [ a => GET => '/webhooks/unhealthy' ],
               [ a => DELETE => "/webhooks/$id" ]) {
        my ($who, $m, $path, %o) = @$c;
        my ($st, $b, $res) = api($who, $m, $path, %o);
        is $st, 503, "$m $path: 503";
        is $b->{error}, 'queue_unavailable', 'queue_unavailable';
        is $res->{headers}{'retry-after'}, 5, 'Retry-After: 5';
    }
    my ($st, $b) = deliver($id, '{"x":1}');
    is $st, 503, 'delivery: 503';
    is $b->{error}, 'queue_unavailable', 'queue_unavailable';
    ($st) = api(undef, GET => '/webhooks');
    is $st, 401, 'a missing token is still 401 (no Redis needed)';
    like $s->log_text('worker'), qr/"registry_unavailable"/, 'logged';
    $s->start_redis;
    ($st, $b) = api('a', GET => "/webhooks/$id");
    is $st, 200, 'after the restart: 200';
    is $b->{status}, 'active', 'the record survived (AOF)';
    ($st) = deliver($id, '{"x":2}');
    is $st, 202, 'deliveries again';
};

subtest 'Redis restarted mid-traffic: every answer is a 2xx or a 503, every 202 is on the stream' => sub {
    my $id = $r1->{registrationId};
    my $stream = "${P}deliveries:tenant-a:salesforce";
    my $n0 = rc('XLEN', $stream);
    my $out = $s->dir . '/traffic.txt';
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open my $fh, '>', $out or POSIX::_exit(1);
        my $deadline = time + 6;
        my $i = 0;
        while (time < $deadline && $i < 3000) {
            $i++;
            my ($st) = deliver($id, qq({"seq":$i}));
            my ($st2) = api('a', GET => "/webhooks/$id");
            print $fh "d $st\ng $st2\n";
            sleep 0.01;
        }
        close $fh;
        POSIX::_exit(0);
    }
    sleep 1.5;
    $s->kill9('redis');
    sleep 1.5;
    $s->start_redis;
    waitpid($pid, 0);
    open my $fh, '<', $out or die $!;
    my (%d, %g);
    while (<$fh>) {
        my ($k, $st) = split;
        ($k eq 'd' ? \%d : \%g)->{$st}++;
    }
    note 'deliveries: ' . join(', ', map { "$_ x$d{$_}" } sort keys %d);
    note 'GETs: ' . join(', ', map { "$_ x$g{$_}" } sort keys %g);
    is_deeply [ grep { $_ != 202 && $_ != 503 } keys %d ], [], 'deliveries: only 202 or 503';
    is_deeply [ grep { $_ != 200 && $_ != 503 } keys %g ], [], 'GETs: only 200 or 503';
    ok $d{503} && $g{503}, 'the outage was seen';
    ok $d{202} > 5, 'deliveries were accepted before and after';
    is rc('XLEN', $stream) - $n0, $d{202}, 'every 202 is on the stream (none lost, none extra)';
    my ($st) = api('a', GET => '/webhooks');
    is $st, 200, 'the API works after';
};

subtest 'no secret and no token ever reaches the log' => sub {
    my $log = $s->log_text('worker');
    ok length($log) > 1000, 'there is a log';
    my $leaks = grep { index($log, $_) >= 0 } @secrets_seen, $r1->{webhookSecret}, values %TOKEN;
    is $leaks, 0, 'none of ' . scalar(@secrets_seen) . ' secrets or the tokens';
    like $log, qr/"registry_created".*"registration_id":"wh_/, 'registry_created lines';
    like $log, qr/"registry_rotated"/, 'registry_rotated';
    like $log, qr/"registry_deleted"/, 'registry_deleted';
    like $log, qr/"registry_delivery_queued"/, 'registry_delivery_queued';
};

$s->shutdown;
done_testing;

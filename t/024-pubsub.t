# Google Cloud Pub/Sub push with OIDC: "Authorization: Bearer <JWT>", RS256
# only, checked against webhook_jwks (a JWKS, or Google's {kid: PEM
# certificate} map) re-read when the file changes; iss, aud, exp/iat,
# email, email_verified; a verified token is cached until its exp; the
# replay key is the body's message.messageId. Keys and tokens are made
# here with the openssl command line (t/lib/Jwt.pm).
#
# Driven with EdgeNginx (not Test::Nginx sections): the JWKS file is
# replaced while nginx runs, and nginx -t's messages are checked.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use EdgeNginx;
use Jwt;
use JSON::PP;
use Time::HiRes qw(sleep);

my $dir = Jwt::dir();
my ($ka, $kb, $kc) = (Jwt::rsa_key(), Jwt::rsa_key(), Jwt::rsa_key());
my $unknown = Jwt::rsa_key();

Jwt::install("$dir/jwks.json", Jwt::jwks_json(kA => $ka));
Jwt::install("$dir/certs.json", Jwt::pem_map_json(kB => $kb));

my $AUD = "https://edge.example.com/push";
my $EMAIL = 'push@my-project.iam.gserviceaccount.com';

my $edge = EdgeNginx->new(http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:1m;
    server {
        listen 127.0.0.1:$port;
        location = /push {
            webhook_verify pubsub;
            webhook_jwks file:$dir/jwks.json;
            webhook_jwt_audience $AUD;
            webhook_jwt_email $EMAIL;
            add_header X-Webhook-Id \$webhook_id always;
            add_header X-Webhook-Reason \$webhook_reason always;
            add_header X-Worker-Pid \$pid always;
            proxy_pass http://127.0.0.1:$port/up;
        }
        location = /certs {
            webhook_verify pubsub;
            webhook_label pubsub-certs;
            webhook_jwks file:$dir/certs.json;
            webhook_jwt_audience $AUD;
            webhook_jwt_email $EMAIL;
            proxy_pass http://127.0.0.1:$port/up;
        }
        location = /up { return 200 "upstream got it\\n"; }
        location = /status { webhook_status; }
    }
CONF
});

my $seq = 0;

# Google's documented push body, with a message id of our own
sub body {
    my ($id) = @_;
    $id //= "2070443601311540" . ++$seq . $$;
    return qq({"message":{"attributes":{"key":"value"},"data":"SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==","messageId":"$id","message_id":"$id","publishTime":"2021-02-26T19:13:55.749Z","publish_time":"2021-02-26T19:13:55.749Z"},"subscription":"projects/myproject/subscriptions/mysubscription"});
}

sub push_req {
    my ($token, %o) = @_;
    my $h = defined $token ? "Authorization: Bearer $token\n" : "";
    $h = $o{auth} if defined $o{auth};
    my ($status, $content) = $edge->request("POST", $o{uri} // "/push",
                                            $o{body} // body(), $h);
    return ($status, $content);
}

sub tok { Jwt::token(key => $ka, kid => "kA", claims => Jwt::claims(@_)) }

my $log_seen = 0;
sub new_log {
    my $log = $edge->error_log;
    my $new = substr($log, $log_seen);
    $log_seen = length $log;
    return $new;
}

sub rejected {
    my ($name, $token, $status, $reason, $detail, %o) = @_;
    new_log();
    my ($s, $c) = push_req($token, %o);
    is $s, $status, "$name: $status";
    like $c, qr/^\{"error":"\Q$reason\E"/, "$name: $reason";
    sleep 0.05;
    my $log = new_log();
    like $log, qr/\[error\] .*webhook rejected: \Q$reason\E \(\Q$detail\E\), label "pubsub"/,
         "$name: the log says which check failed";
    if (defined $token && length $token > 20) {
        my ($sig) = $token =~ /\.([^.]+)$/;
        unlike $log, qr/\Q$sig\E/, "$name: the token is not logged"
            if defined $sig && length $sig > 10;
    }
}

sub status_json {
    my ($s, $c) = $edge->request("GET", "/status", "", "");
    return decode_json($c);
}

# --- passing ----------------------------------------------------------------

my $good = tok();
my $mid = "msg-" . $$;
my ($s, $c) = push_req($good, body => body($mid));
is $s, 200, 'a valid token passes';
is $c, "upstream got it\n", 'it reached the upstream';
{
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $edge->port);
    my $b = body("hdr-$$");
    print $sock "POST /push HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              . "Authorization: Bearer $good\r\nContent-Length: " . length($b)
              . "\r\n\r\n$b";
    local $/;
    my $resp = <$sock>;
    like $resp, qr/\r\nX-Webhook-Id: hdr-$$\r\n/, '$webhook_id is message.messageId';
}

is status_json()->{locations}{pubsub}{token_cache_hits}, 1,
   'the same token again was not verified again (one cache hit)';

($s, $c) = push_req($good);
is $s, 200, 'the same token, a new message: passes from the cache';
is status_json()->{locations}{pubsub}{token_cache_hits}, 2, 'two cache hits';

($s, $c) = push_req($good, body => body($mid));
is $s, 401, 'the same messageId again is a replay';
like $c, qr/"error":"replay"/, 'replay';

($s, $c) = push_req(tok(iss => "accounts.google.com"));
is $s, 200, 'iss without https:// passes';

($s, $c) = push_req(Jwt::token(key => $kb, kid => "kB", claims => Jwt::claims()),
                    uri => "/certs");
is $s, 200, 'a token checked against the {kid: PEM certificate} map passes';

($s, $c) = push_req(undef, auth => "Authorization: bearer " . tok() . "\n");
is $s, 200, 'the Bearer scheme name in any case';

# --- refused ------------------------------------------------------------------

rejected('no Authorization', undef, 400, 'missing_token', 'no token header');
rejected('Basic credentials', undef, 400, 'missing_token',
         'Authorization is not a Bearer token',
         auth => "Authorization: Basic dXNlcjpwYXNz\n");
rejected('Bearer and nothing', undef, 400, 'missing_token', 'empty Bearer token',
         auth => "Authorization: Bearer \n");

rejected('signed by an unknown key under a known kid',
         Jwt::token(key => $unknown, kid => "kA", claims => Jwt::claims()),
         401, 'invalid_token', 'token signature does not verify');
rejected('an unknown kid',
         Jwt::token(key => $unknown, kid => "k-unknown", claims => Jwt::claims()),
         401, 'invalid_token', 'token kid is not in webhook_jwks');
rejected('no kid', Jwt::token(key => $ka, header => { alg => "RS256" },
                              claims => Jwt::claims()),
         401, 'invalid_token', 'token has no kid');

my $none_input = Jwt::b64url('{"alg":"none","kid":"kA"}') . "."
               . Jwt::b64url(encode_json(Jwt::claims()));
rejected('alg none, empty signature', "$none_input.", 401, 'invalid_token',
         'token is not header.claims.signature');
rejected('alg none with a signature',
         Jwt::token(alg => "none", kid => "kA", claims => Jwt::claims(),
                    sign => sub { "x" x 256 }),
         401, 'invalid_token', 'token alg is not RS256 (none, HS256 and others refused)');
rejected('HS256 keyed with the public key',
         Jwt::token(alg => "HS256", kid => "kA", claims => Jwt::claims(),
                    sign => Jwt::hs256($ka->{pub})),
         401, 'invalid_token', 'token alg is not RS256 (none, HS256 and others refused)');
rejected('RS512',
         Jwt::token(key => $ka, alg => "RS512", kid => "kA", claims => Jwt::claims()),
         401, 'invalid_token', 'token alg is not RS256 (none, HS256 and others refused)');
rejected('a signature of the wrong length',
         Jwt::token(kid => "kA", claims => Jwt::claims(), sign => sub { "abc" }),
         401, 'invalid_token', 'token signature is not an RS256 signature for its key');
rejected('claims changed after signing',
         do { my $t = tok(); my @p = split /\./, $t;
              $p[1] = Jwt::b64url(encode_json(Jwt::claims(email => 'evil@example.com')));
              join ".", @p },
         401, 'invalid_token', 'token signature does not verify');
rejected('expired', tok(iat => time - 7200, exp => time - 3600),
         401, 'invalid_token', 'token expired (exp older than webhook_tolerance)');
rejected('issued in the future', tok(iat => time + 3600, exp => time + 7200),
         401, 'invalid_token', 'token iat is in the future (beyond webhook_tolerance)');
rejected('no exp', tok(exp => undef), 401, 'invalid_token',
         'token has no integer exp and iat');
rejected('wrong audience', tok(aud => "https://other.example.com/push"),
         401, 'invalid_token', 'token aud differs from webhook_jwt_audience');
rejected('audience as a list', tok(aud => [$AUD]),
         401, 'invalid_token', 'token aud differs from webhook_jwt_audience');
rejected('wrong email', tok(email => 'other@my-project.iam.gserviceaccount.com'),
         401, 'invalid_token', 'token email differs from webhook_jwt_email');
rejected('email_verified false', tok(email_verified => JSON::PP::false),
         401, 'invalid_token', 'token email_verified is not true');
rejected('email_verified the string "true"', tok(email_verified => "true"),
         401, 'invalid_token', 'token email_verified is not true');
rejected('another issuer', tok(iss => "https://evil.example.com"),
         401, 'invalid_token', 'token iss is not accounts.google.com');
rejected('not a JWT', "abc.def", 401, 'invalid_token',
         'token is not header.claims.signature');
rejected('junk in base64url', "e+0.e30.abc", 401, 'invalid_token',
         'token header is not base64url JSON');

new_log();
($s, $c) = push_req(tok(), body => '{"message":{"data":"eA=="}}');
is $s, 400, 'a body without message.messageId';
like $c, qr/"error":"missing_fields"/, 'missing_fields';
like new_log(), qr/body has no message\.messageId/, 'the log says so';

# --- the JWKS file replaced while nginx runs ---------------------------------

# Each worker re-reads the file on its own: a step is done when both
# workers (told apart by $pid) have answered, every answer as expected.
# Tokens are all new, so none comes from the cache.
my $jti = 0;
sub both_workers {
    my ($key, $kid, $want) = @_;
    my (%pids, $bad);
    for (1 .. 60) {
        my $t = Jwt::token(key => $key, kid => $kid,
                           claims => Jwt::claims(jti => "w-" . ++$jti));
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $edge->port) or die $!;
        my $b = body();
        print $sock "POST /push HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  . "Authorization: Bearer $t\r\nContent-Length: "
                  . length($b) . "\r\n\r\n$b";
        local $/;
        my $resp = <$sock> // "";
        my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
        my ($pid) = $resp =~ /\r\nX-Worker-Pid: (\d+)/;
        $bad++ if !$status || $status != $want;
        $pids{$pid // 0}++;
        last if keys %pids >= 2 && $_ >= 4;
    }
    return (scalar(keys %pids), $bad // 0);
}

Jwt::install("$dir/jwks.json", Jwt::jwks_json(kC => $kc));
sleep 1.2;
new_log();

my ($workers, $bad) = both_workers($kc, "kC", 200);
is $workers, 2, 'both workers answered';
is $bad, 0, 'after the file was replaced, the new key verifies in every worker';
like new_log(), qr/\[notice\] .*webhook_jwks "\Q$dir\E\/jwks\.json" re-read: 1 keys/,
     'the re-read is logged';

($workers, $bad) = both_workers($ka, "kA", 401);
is $bad, 0, 'a key dropped from the file no longer verifies, in every worker';

Jwt::install("$dir/jwks.json", '{"keys": [ this is not JSON');
sleep 1.2;
new_log();
($workers, $bad) = both_workers($kc, "kC", 200);
is $workers, 2, 'both workers answered';
is $bad, 0, 'a bad file keeps the previous keys in every worker';
my $log = new_log();
like $log, qr/\[error\] .*webhook_jwks "\Q$dir\E\/jwks\.json" is not a JSON object; the previous keys stay in use/,
     'a bad file is an [error]';

Jwt::install("$dir/jwks.json", '{"keys":[{"kid":"kE","kty":"EC","crv":"P-256","x":"a","y":"b"}]}');
sleep 1.2;
new_log();
($workers, $bad) = both_workers($kc, "kC", 200);
is $bad, 0, 'a file with no RSA key keeps the previous keys too';
like new_log(), qr/holds no RSA signing key/, 'and says why';

unlike $edge->error_log, qr/\[(alert|crit|emerg)\]/, 'no alert, crit or emerg';
unlike $edge->error_log, qr/cannot be read/, 'the workers could read the file';

# --- what nginx -t refuses ---------------------------------------------------


my ($rc, $out) = EdgeNginx::nginx_t(undef, "webhook_verify pubsub; webhook_replay off;");
isnt $rc, 0, 'pubsub without its directives fails to load';
like $out, qr/webhook_verify pubsub needs webhook_jwks, webhook_jwt_audience and webhook_jwt_email/,
     'and says what it needs';

Jwt::install("$dir/empty.json", '{}');
($rc, $out) = EdgeNginx::nginx_t(undef, "webhook_jwks file:$dir/empty.json;");
isnt $rc, 0, 'a JWKS file without keys fails to load';
like $out, qr/webhook_jwks "[^"]+empty\.json": holds no RSA signing key/, 'with its reason';

($rc, $out) = EdgeNginx::nginx_t(undef, "webhook_jwks file:$dir/missing.json;");
isnt $rc, 0, 'a missing JWKS file fails to load';
like $out, qr/webhook_jwks "[^"]+missing\.json": cannot be opened/, 'with its reason';

($rc, $out) = EdgeNginx::nginx_t(undef, "webhook_jwks $dir/jwks.json;");
isnt $rc, 0, 'webhook_jwks without file:';

($rc, $out) = EdgeNginx::nginx_t(undef, "webhook_verify ringcentral; webhook_replay off;");
isnt $rc, 0, 'ringcentral without webhook_verify_token fails to load';
like $out, qr/webhook_verify ringcentral needs webhook_verify_token/, 'and says so';

($rc, $out) = EdgeNginx::nginx_t(undef, 'webhook_verify_token $arg_x;');
isnt $rc, 0, 'webhook_verify_token with variables';
like $out, qr/webhook_verify_token takes a literal, file: or env: value, not variables/,
     'is refused';

done_testing();

# HTTP/2 (h2c, prior knowledge, with curl): the body arrives in DATA frames
# and is verified the same way; the upstream gets the identical bytes.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Webhook;
use EdgeNginx;
use File::Temp qw(tempdir);

# make deps installs curl with nghttp2: without it this suite fails rather
# than skips, so HTTP/2 coverage cannot vanish unnoticed
if (`curl --version 2>/dev/null` !~ /^Features:.*\bHTTP2\b/m) {
    plan tests => 1;
    fail('curl with HTTP/2 support is installed (make deps)');
    exit;
}

# the edge speaks h2c on its port; its upstream (the same nginx) HTTP/1.1
my $up = EdgeNginx::free_port();
my $edge = EdgeNginx->new(http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_zone webhook:1m;
    client_body_buffer_size 8k;
    server {
        listen 127.0.0.1:$port http2;
        location /hook {
            webhook_verify github; webhook_secret s;
            proxy_pass http://127.0.0.1:$up/up;
        }
    }
    server {
        listen 127.0.0.1:$up;
        location = /up {
            webhook_verify github; webhook_secret s;
            webhook_replay off; webhook_label upstream;
            add_header X-Up-Sha256 \$webhook_body_sha256 always;
            proxy_pass http://127.0.0.1:$up/final;
        }
        location = /final { return 200 "stored\\n"; }
    }
CONF
});

my $dir = tempdir(CLEANUP => 1);

sub h2_post {
    my ($body, $headers) = @_;
    open my $fh, '>', "$dir/body" or die $!;
    binmode $fh;
    print $fh $body;
    close $fh;
    my @h = map { ('-H', $_) } grep { length } split /\n/, $headers;
    open my $curl, '-|', 'curl', '-s', '-i', '--http2-prior-knowledge',
        '--data-binary', "\@$dir/body", '-H', 'Content-Type: application/json',
        @h, "http://127.0.0.1:" . $edge->port . "/hook"
        or die "curl: $!";
    my $out = do { local $/; <$curl> };
    close $curl;
    my ($proto, $status) = $out =~ m{^(HTTP/[\d.]+) (\d+)};
    my ($sha) = $out =~ /^x-up-sha256: ([0-9a-f]+)/mi;
    my ($content) = $out =~ /\r\n\r\n(.*)$/s;
    return ($proto // '', $status // 0, $sha // '', $content // '');
}

my $small = '{"action":"opened","h2":1}';
my ($proto, $status, $sha, $content) = h2_post($small, Webhook::github("s", $small));
is $proto, 'HTTP/2', 'spoken over HTTP/2';
is $status, 200, 'h2: a signed body passes';
is $sha, Webhook::sha256_of($small), 'h2: the upstream verified the identical body';
is $content, "stored\n", 'h2: the upstream answered';

my $big = '{"rows":[' . join(",", map { qq({"id":$_,"h2":true}) } 1 .. 8000) . ']}';
($proto, $status, $sha) = h2_post($big, Webhook::github("s", $big));
is $status, 200, 'h2: a body spilled to a temporary file passes';
is $sha, Webhook::sha256_of($big), 'h2: and reaches the upstream intact';

($proto, $status, $sha, $content) = h2_post($small . " ", Webhook::github("s", $small));
is $status, 401, 'h2: a changed body fails';
is $content, qq({"error":"invalid_signature","message":"Invalid signature"}\r\n),
   'h2: with the JSON reason';

($proto, $status, $sha, $content) = h2_post($small, Webhook::github("s", $small));
is $status, 401, 'h2: the same delivery again is a replay';
like $content, qr/"error":"replay"/, 'h2: named as such';

unlike $edge->error_log, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alert or crash';

done_testing();

# set_webhook_hmac (ngx_http_webhook_ndk_module, on ngx_devel_kit): HMAC of
# DATA under a literal, env: or file: key, hex, base64 or base64url; its
# use, per-tenant secrets derived from one master key for webhook_secret.
# The main module loads without NDK; this one needs NDK loaded before it.
# Expected values are computed here with Digest::SHA.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use EdgeNginx;
use Webhook;
use Digest::SHA qw(hmac_sha256_hex hmac_sha1 hmac_sha512);
use MIME::Base64 qw(encode_base64);
use File::Temp qw(tempdir);
use File::Basename qw(dirname);

my $NDK = '/usr/lib/nginx/modules/ndk_http_module.so';
my ($main_so) = grep { /ngx_http_webhook_module\.so$/ }
                split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
die "TEST_NGINX_LOAD_MODULES has no ngx_http_webhook_module.so\n" unless $main_so;
my $ndk_so = dirname($main_so) . "/ngx_http_webhook_ndk_module.so";

# make deps installs both: their absence fails, never skips
ok -f $NDK, "$NDK is installed (libnginx-mod-http-ndk)";
ok -f $ndk_so, "$ndk_so is built (make module)";

my $MASTER = "master-key-for-every-tenant";
$ENV{WEBHOOK_TEST_MASTER_KEY} = $MASTER;

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
open my $fh, '>', "$dir/key" or die $!;
print $fh "key-from-a-file\n";
close $fh;

my $edge = EdgeNginx->new(
    main => "load_module $NDK;\nload_module $ndk_so;\n",
    http => sub {
        my ($port) = @_;
        return <<"CONF";
    webhook_zone webhook:1m;
    server {
        listen 127.0.0.1:$port;

        location ~ ^/tenants/(?<tenant>[a-z0-9-]+)/github\$ {
            set_webhook_hmac \$tenant_secret sha256 hex env:WEBHOOK_TEST_MASTER_KEY \$tenant;
            webhook_verify github;
            webhook_secret \$tenant_secret;
            webhook_label tenants;
            rewrite ^ /up break;
            proxy_pass http://127.0.0.1:$port;
        }

        location = /hex    { set_webhook_hmac \$x sha256 hex literal-key "d:\$arg_d"; return 200 \$x; }
        location = /b64    { set_webhook_hmac \$x sha1 base64 literal-key \$arg_d; return 200 \$x; }
        location = /b64url { set_webhook_hmac \$x sha512 base64url file:$dir/key \$arg_d; return 200 \$x; }
        location = /up     { return 200 "upstream got it\\n"; }
    }
CONF
    });

my ($s, $c) = $edge->request("GET", "/hex?d=tenant-a", "", "");
is $c, hmac_sha256_hex("d:tenant-a", "literal-key"), 'sha256 hex of a string with variables';

($s, $c) = $edge->request("GET", "/b64?d=abc", "", "");
is $c, encode_base64(hmac_sha1("abc", "literal-key"), ''), 'sha1 base64';

($s, $c) = $edge->request("GET", "/b64url?d=abc", "", "");
(my $want = encode_base64(hmac_sha512("abc", "key-from-a-file"), '')) =~ tr{+/}{-_};
$want =~ s/=+$//;
is $c, $want, 'sha512 base64url with a file: key (trailing newline dropped)';

($s, $c) = $edge->request("GET", "/b64?d=", "", "");
is $c, encode_base64(hmac_sha1("", "literal-key"), ''), 'empty data';

# per-tenant secrets: the tenant's secret is HMAC(master, tenant)
my $body = '{"action":"opened","number":25}';
my $secret_a = hmac_sha256_hex("acme", $MASTER);
my $secret_b = hmac_sha256_hex("globex", $MASTER);

sub gh { "X-Hub-Signature-256: sha256=" . hmac_sha256_hex($_[1], $_[0]) . "\n" }

($s, $c) = $edge->request("POST", "/tenants/acme/github", $body, gh($secret_a, $body));
is $s, 200, 'a tenant signing with its derived secret passes';
is $c, "upstream got it\n", 'and reaches the upstream';

($s, $c) = $edge->request("POST", "/tenants/acme/github", "$body ", gh($secret_b, "$body "));
is $s, 401, "another tenant's derived secret is refused";

($s, $c) = $edge->request("POST", "/tenants/acme/github", "$body  ", gh($MASTER, "$body  "));
is $s, 401, 'the master key itself is refused';

($s, $c) = $edge->request("POST", "/tenants/globex/github", "$body ", gh($secret_b, "$body "));
is $s, 200, 'the other tenant with its own derived secret passes';

unlike $edge->error_log, qr/\Q$MASTER\E|\Q$secret_a\E/, 'no key or derived secret in the log';

# --- nginx -t ----------------------------------------------------------------


my ($rc, $out) = EdgeNginx::nginx_t([$main_so], "webhook_verify github; webhook_secret s; webhook_replay off;");
is $rc, 0, 'the main module loads without NDK' or diag $out;

($rc, $out) = EdgeNginx::nginx_t([$main_so, $ndk_so], "");
isnt $rc, 0, 'the NDK module without NDK loaded before it fails to load';
like $out, qr/ndk_set_var_value_core/, 'naming the NDK symbol it misses';

my @all = ($NDK, $main_so, $ndk_so);
($rc, $out) = EdgeNginx::nginx_t(\@all, 'set_webhook_hmac $x md5 hex k $uri;');
isnt $rc, 0, 'an unknown algorithm';
like $out, qr/invalid set_webhook_hmac algorithm "md5", expected sha256, sha1 or sha512/, 'is named';

($rc, $out) = EdgeNginx::nginx_t(\@all, 'set_webhook_hmac $x sha256 base32 k $uri;');
like $out, qr/invalid set_webhook_hmac encoding "base32"/, 'an unknown encoding is named';

($rc, $out) = EdgeNginx::nginx_t(\@all, 'set_webhook_hmac $x sha256 hex $arg_k $uri;');
like $out, qr/set_webhook_hmac's key takes a literal, file: or env: value, not variables/,
     'a key with variables is refused';

($rc, $out) = EdgeNginx::nginx_t(\@all, 'set_webhook_hmac $x sha256 hex env:WEBHOOK_TEST_NOT_SET $uri;');
like $out, qr/secret environment variable "WEBHOOK_TEST_NOT_SET" is not set/,
     'an env: key that is not set';

($rc, $out) = EdgeNginx::nginx_t(\@all, 'set_webhook_hmac $x sha256 hex k;');
like $out, qr/invalid number of arguments in "set_webhook_hmac"/, 'five arguments';

done_testing();

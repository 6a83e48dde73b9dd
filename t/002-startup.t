# What `nginx -t` says at start-up: warnings, and that conf.example loads.
# Plain Test::More (no Test::Nginx): start-up messages go to stderr.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Cwd qw(getcwd);
use lib 't/lib';
use Jwt;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');

sub nginx_t {
    my ($http) = @_;
    my $dir = tempdir(CLEANUP => 1);
    mkdir "$dir/logs";
    open my $fh, '>', "$dir/nginx.conf" or die $!;
    print $fh "load_module $_;\n" for @modules;
    print $fh "error_log $dir/logs/error.log;\npid $dir/nginx.pid;\n"
            . "events {}\nhttp {\n$http\n}\n";
    close $fh;
    my $out = `$nginx -t -p $dir/ -c $dir/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = nginx_t(<<'CONF');
    server { listen 127.0.0.1:1; location /hook {
        webhook_verify github; webhook_secret x; } }
CONF
is $rc, 0, 'no replay store: still loads';
like $out, qr/\[warn\].*webhook_verify github has no replay store/,
     'no replay store: start-up warning';

($rc, $out) = nginx_t(<<'CONF');
    server { listen 127.0.0.1:1; location /hook {
        webhook_verify github; webhook_secret x; webhook_replay off; } }
CONF
is $rc, 0, 'replay off: loads';
unlike $out, qr/no replay store/, 'replay off chosen: no warning';

($rc, $out) = nginx_t(<<'CONF');
    webhook_zone webhook:1m;
    server { listen 127.0.0.1:1; location /hook {
        webhook_verify github; webhook_secret x; } }
CONF
is $rc, 0, 'zone: loads';
unlike $out, qr/no replay store/, 'zone present: local store, no warning';

# conf.example as shipped, with this machine's module and writable paths
{
    my $dir = tempdir(CLEANUP => 1);
    mkdir "$dir/logs";
    open my $in, '<', 'conf.example' or die "conf.example: $!";
    my $conf = do { local $/; <$in> };
    close $in;

    like $conf, qr{^load_module /usr/lib/nginx/modules/ngx_http_webhook_module\.so;}m,
         'conf.example loads the installed module';

    my $load = join "", map { "load_module $_;\n" } @modules;
    $conf =~ s{^load_module [^;]+;\n}{$load}m;
    $conf =~ s{/var/log/nginx/}{$dir/logs/}g;
    $conf =~ s{/run/webhook-edge\.pid}{$dir/nginx.pid}g;

    # Google's keys, as cron would have fetched them (t/lib/Jwt.pm)
    like $conf, qr{/etc/nginx/webhook/google-oauth2-certs\.json}, 'conf.example has a pubsub location';
    Jwt::install("$dir/google-oauth2-certs.json",
                 Jwt::pem_map_json(kid1 => Jwt::rsa_key()));
    $conf =~ s{/etc/nginx/webhook/google-oauth2-certs\.json}{$dir/google-oauth2-certs.json}g;

    open my $out, '>', "$dir/nginx.conf" or die $!;
    print $out $conf;
    close $out;

    my $res = `$nginx -t -p $dir/ -c $dir/nginx.conf 2>&1`;
    is $? >> 8, 0, 'conf.example: nginx -t accepts it' or diag $res;
    unlike $res, qr/\[(?:warn|emerg)\]/, 'conf.example: no warning';
}

done_testing();

# The local replay store's default TTL: twice the tolerance where the
# scheme signs a timestamp (stripe; salesforce, whose timestamp is in the
# signed body), since a key need not outlive the window its timestamp is
# accepted in; 24 h where the scheme signs none (github).
#
# nginx runs under libfaketime with its wall clock frozen at $Webhook::NOW
# and its monotonic clock real: timestamps never age, while the keys' TTL,
# counted on nginx's monotonic clock, runs out. webhook_tolerance 1s makes
# the timestamped TTL 2 s. 24 h is too long to wait for: t/100-redis.t reads
# that default off Redis (PTTL), where the same setting goes.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Webhook;
use EdgeNginx;
use Time::HiRes qw(time sleep);

# valgrind slows nginx down ~20 times: stretch the clock with it
my $slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 10 : 1;

my $edge;
{
    # nginx alone gets the library (this process keeps the real clock);
    # "env" keeps FAKETIME for the workers, which drop the rest
    local $ENV{LD_PRELOAD} = Webhook::faketime_library();
    local $ENV{FAKETIME} = $Webhook::NOW;
    local $ENV{FAKETIME_FMT} = '%s';
    local $ENV{FAKETIME_DONT_FAKE_MONOTONIC} = 1;

    $edge = EdgeNginx->new(
        main => "env FAKETIME;\nenv FAKETIME_FMT;\n"
                . "env FAKETIME_DONT_FAKE_MONOTONIC;\n",
        http => sub {
            my ($port) = @_;
            return <<"CONF";
    webhook_zone webhook:1m;
    server {
        listen 127.0.0.1:$port;
        webhook_tolerance ${slow}s;

        location = /stripe {
            webhook_verify stripe; webhook_secret whsec_ttl;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /salesforce {
            webhook_verify salesforce; webhook_secret s;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /github {
            webhook_verify github; webhook_secret s;
            proxy_pass http://127.0.0.1:$port/ok;
        }
        location = /ok { return 200 "taken\\n"; }
        location = /now { return 200 "\$msec\\n"; }
    }
CONF
        });
}

my ($code, $content) = $edge->request("GET", "/now");
is($content, "$Webhook::NOW.000\n", "nginx's wall clock is frozen");

my $stripe = '{"id":"evt_ttl_1"}';
my $github = '{"id":"gh_ttl_1"}';
my $sf = Webhook::salesforce_body(nonce => "sf-ttl-1");

my %delivery = (
    stripe     => ["/stripe", $stripe, Webhook::stripe("whsec_ttl", $stripe)],
    salesforce => ["/salesforce", $sf, Webhook::salesforce("s", $sf)],
    github     => ["/github", $github, Webhook::github("s", $github)],
);

sub deliver {
    my ($uri, $body, $headers) = @{ $delivery{ $_[0] } };
    return $edge->request("POST", $uri, $body, $headers);
}

for my $scheme (qw(stripe salesforce github)) {
    ($code) = deliver($scheme);
    is($code, 200, "$scheme: the first copy passes");
}
my $kept = time;

# returns $_[0] seconds (times $slow) after the first copies were kept
sub after {
    my $left = $_[0] * $slow - (time - $kept);
    sleep $left if $left > 0;
}

after(1.3);

for my $scheme (qw(stripe salesforce)) {
    ($code, $content) = deliver($scheme);
    is($code, 401, "$scheme: 1.3 s later (past the tolerance) a copy is "
                   . "still refused");
    is($content, Webhook::error_body("replay"), "$scheme: as a replay");
}

after(2.5);

for my $scheme (qw(stripe salesforce)) {
    ($code) = deliver($scheme);
    is($code, 200, "$scheme: 2.5 s later (past twice the tolerance) the key "
                   . "is gone");
}

($code, $content) = deliver("github");
is($code, 401, "github (no timestamp): 2.5 s later the key is still kept");
is($content, Webhook::error_body("replay"), "github: as a replay");

unlike($edge->error_log, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       "no alert or crash");

done_testing();

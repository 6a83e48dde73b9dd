# webhook_registry: scheme and secrets from a registration in a real Redis
# (written here with HSET, as the worker's registration API writes it,
# contract 1), looked up over the module's connection and cached in the
# registry zone. Single-request blocks run on Test::Nginx's nginx; what
# needs one nginx over time (the TTL, reg:rev, the flood, the stats batch,
# Redis stopped and restarted) runs on an EdgeNginx of its own, inside an
# "--- init", and reports with Test::More.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use RedisServer;
use EdgeNginx;
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);

repeat_each(1);
no_shuffle();
no_long_string();

our $redis = RedisServer->new;
$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_UPSTREAM_PORT} = EdgeNginx::free_port();

# valgrind slows nginx down ~20 times
$ENV{TEST_NGINX_REDIS_TIMEOUTS} = $ENV{TEST_NGINX_USE_VALGRIND}
    ? "timeout=3s connect_timeout=5s" : "timeout=300ms connect_timeout=500ms";

our $NOW = $Webhook::NOW;
our $n = 0;

# a secret as the worker makes it: whsec_ + base64(32 random bytes)
sub new_secret {
    return "whsec_" . encode_base64(join("", map { chr int rand 256 } 1 .. 32), "");
}

# a registration as the worker writes it (contract 1)
sub register {
    my ($id, %f) = @_;
    my %rec = (tenant => "t1", integration => $f{provider} // "github",
               connection => "conn-1", status => "active", events => "*",
               created_at => $NOW, updated_at => $NOW, rev => 1, %f);
    $::redis->command("DEL", "webhook:reg:$id");
    $::redis->command("HSET", "webhook:reg:$id", %rec);
    $::redis->command("SADD", "webhook:reg:ids", $id);
    $::redis->command("INCR", "webhook:reg:rev");
}

sub change {
    my ($id, @kv) = @_;
    $::redis->command("HSET", "webhook:reg:$id", @kv) if @kv;
    $::redis->command("INCR", "webhook:reg:rev");
}

our %S = map { $_ => new_secret() }
    qw(gh stripe std sf bad rot old off live new stat down slack notion);

sub setup_all {
register("wh_gh", provider => "github", secret => $S{gh},
         events => "push,pull_request");
register("wh_stripe", provider => "stripe", secret => $S{stripe},
         events => "invoice.paid, charge.refunded");
register("wh_std", provider => "standard", secret => $S{std},
         events => "user.created");
register("wh_sf", provider => "salesforce", secret => $S{sf},
         events => "Contact.created");
register("wh_any", provider => "github", secret => $S{gh});
register("wh_off", provider => "github", secret => $S{off},
         status => "disabled");
register("wh_gone", provider => "github", status => "deleted");
$::redis->command("HDEL", "webhook:reg:wh_gone", "secret");
register("wh_rot", provider => "github", secret => $S{rot},
         secret_prev => $S{old}, secret_prev_until => $NOW + 3600);
register("wh_rot_done", provider => "github", secret => $S{rot},
         secret_prev => $S{old}, secret_prev_until => $NOW - 1);
register("wh_paypal", provider => "paypal", secret => $S{bad});
register("wh_live", provider => "github", secret => $S{live});
register("wh_stat", provider => "github", secret => $S{stat},
         events => "push");
register("wh_down", provider => "github", secret => $S{down});
register("wh_exit", provider => "github", secret => $S{stat});
register("wh_slack", provider => "slack", secret => $S{slack},
         events => "app_mention,url_verification");
register("wh_notion", provider => "notion", secret => $S{notion},
         events => "page.created");
}
setup_all();

sub gh_body { '{"id":"evt_' . $$ . '_' . ++$n . '","action":"opened"}' }
our @gh = map { gh_body() } 0 .. 20;

# the Castiel-style Salesforce body of the seed, with our signed fields
sub sf_body {
    my ($object, $action) = @_;
    my $nonce = Webhook::nonce();
    return qq({"action":"$action","sobject":{"name":"$object","fields":)
         . qq({"Id":"003xx000004TMM"}},"timestamp":$NOW,"nonce":"$nonce"});
}
our $sf = sf_body("Contact", "created");
our $sf_other = sf_body("Account", "created");
our $stripe = qq({"id":"evt_s_$$","type":"invoice.paid"});
our $stripe_other = qq({"id":"evt_s2_$$","type":"customer.created"});
our $std = qq({"type":"user.created","data":{"id":"u_$$"}});
our $slack = qq({"token":"x","team_id":"T1","event":{"type":"app_mention",)
           . qq("text":"hi \\"there\\"","ts":"1.2"},"type":"event_callback"});
our $slack_url = qq({"token":"x","challenge":"c_$$","type":"url_verification"});
our $notion = qq({"id":"n_$$","type":"page.created","entity":{"type":"page"}});
our $stripe_esc = qq({"id":"evt_e_$$","type":"invoice\\u002epaid"});
our $stripe_dup = qq({"id":"evt_d_$$","type":"invoice.paid","type":"invoice.paid"});
our $stripe_nested = qq({"id":"evt_n_$$","data":{"type":"invoice.paid"}});

sub r1 {
    my ($id, $provider, $delivery, $time, $body) = @_;
    return hmac_sha256_hex("r1:$id:$provider:$delivery:$time:"
                           . sha256_hex($body), "edge-key");
}

sub err { my ($reason, $msg) = @_; qq({"error":"$reason","message":"$msg"}\r\n) }

our %ERR = (
    unknown => err("unknown_registration", "No such webhook registration"),
    gone => err("registration_disabled",
                "Webhook registration is disabled or deleted"),
    event => err("event_not_registered",
                 "Event type is not among the registration's events"),
    sig => err("invalid_signature", "Invalid signature"),
);

sub rejected {
    my ($reason, $id) = @_;
    return qr/\[error\] .*webhook rejected: \Q$reason\E \(.*\), label "registry", registration "\Q$id\E"/;
}

our $upstream_conf = <<'CONF';
    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        location / {
            return 200 "$request_uri|$http_x_webhook_registration|$http_x_webhook_event_type|$http_x_webhook_provider|$http_x_webhook_id|$http_x_webhook_edge_time|$http_x_webhook_attestation\n";
        }
    }
CONF

# --- one nginx over time: 2 workers sharing the registry zone -------------

our $edge;
our $edge_up = EdgeNginx::free_port();

sub edge {
    return $edge //= EdgeNginx->new(workers => 2, http => sub {
        my ($port) = @_;
        my $loc = sub {
            my ($path, $extra) = @_;
            return <<"LOC";
        location ~ "^/$path/(?<reg>[A-Za-z0-9_-]{1,64})\$" {
            webhook_registry redis \$reg; $extra
            webhook_attest_secret edge-key;
            proxy_set_header X-Webhook-Attestation \$webhook_attestation;
            proxy_set_header X-Webhook-Edge-Time \$webhook_time;
            proxy_set_header X-Webhook-Provider \$webhook_provider;
            proxy_set_header X-Webhook-Id \$webhook_id;
            proxy_set_header X-Webhook-Registration \$webhook_registration;
            proxy_set_header X-Webhook-Event-Type \$webhook_event_type;
            proxy_pass http://127.0.0.1:$edge_up;
        }
LOC
        };
        my $locs = $loc->("webhooks", "") . $loc->("local", "webhook_redis_down local;")
                 . $loc->("reject", "webhook_redis_down reject;");
        (my $up = $upstream_conf) =~ s/\$TEST_NGINX_UPSTREAM_PORT/$edge_up/;
        return <<"CONF";
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} $ENV{TEST_NGINX_REDIS_TIMEOUTS};
    webhook_registry_ttl 2s;
    server {
        listen 127.0.0.1:$port;
$locs
        location = /status { webhook_status; }
    }
$up
CONF
    });
}

# a GitHub delivery to the edge: (status, body)
sub deliver {
    my ($path, $secret, %o) = @_;
    my $b = gh_body();
    my $h = Webhook::github($secret, $b)
          . "X-GitHub-Event: " . ($o{event} // "push") . "\n";
    my ($st, $body) = edge()->request("POST", $path, $b, $h);
    return wantarray ? ($st, $body, $b) : $st;
}

# the first status among @want within $limit seconds, polling
sub until_status {
    my ($limit, $want, @args) = @_;
    my $deadline = time + $limit;
    my $st;
    while (time < $deadline) {
        $st = deliver(@args);
        return $st if $st == $want;
        sleep 0.1;
    }
    return $st;
}

sub edge_status {
    my (undef, $body) = edge()->request("GET", "/status");
    return $body;
}

sub wait_edge {
    my ($re, $limit) = @_;
    my $deadline = time + ($limit || 6);
    while (time < $deadline) {
        return 1 if edge_status() =~ $re;
        sleep 0.1;
    }
    return 0;
}

# the sum of one field over every minute bucket of a registration
sub regstat {
    my ($id, $field) = @_;
    my $sum = 0;
    for my $k (@{ $::redis->command("KEYS", "webhook:regstat:$id:*") || [] }) {
        $sum += $::redis->command("HGET", $k, $field) // 0;
    }
    return $sum;
}

sub hmget_calls {
    my $info = $::redis->command("INFO", "commandstats");
    my ($calls) = $info =~ /cmdstat_hmget:calls=(\d+)/;
    return $calls // 0;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<"CONF") unless defined $block->http_config;
    webhook_zone webhook:1m;
    webhook_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT \$TEST_NGINX_REDIS_TIMEOUTS;
$upstream_conf
CONF

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location ~ "^/webhooks/(?<reg>[A-Za-z0-9_-]{1,64})$" {
        webhook_registry redis $reg;
        webhook_attest_secret edge-key;
        proxy_set_header X-Webhook-Attestation $webhook_attestation;
        proxy_set_header X-Webhook-Edge-Time $webhook_time;
        proxy_set_header X-Webhook-Provider $webhook_provider;
        proxy_set_header X-Webhook-Id $webhook_id;
        proxy_set_header X-Webhook-Registration $webhook_registration;
        proxy_set_header X-Webhook-Event-Type $webhook_event_type;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
    location = /status { webhook_status; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: GitHub: the registration's secret and event, proxied with its id
--- request eval
Webhook::post("/webhooks/wh_gh", $::gh[1])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[1]) . "X-GitHub-Event: push\n"
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_gh\|wh_gh\|push\|github\|\|\d+\|[0-9a-f]{64}\n$}



=== TEST 2: Stripe: the event type from the body's "type"
--- request eval
Webhook::post("/webhooks/wh_stripe", $::stripe)
--- more_headers eval
Webhook::stripe($::S{stripe}, $::stripe)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_stripe\|wh_stripe\|invoice\.paid\|stripe\|\|\d+\|[0-9a-f]{64}\n$}



=== TEST 3: Standard Webhooks: the whsec_ secret decoded, webhook-id is the delivery id
--- request eval
Webhook::post("/webhooks/wh_std", $::std)
--- more_headers eval
Webhook::standard($::S{std}, $::std, id => "msg_std_1")
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_std\|wh_std\|user\.created\|standard\|msg_std_1\|\d+\|[0-9a-f]{64}\n$}



=== TEST 4: Salesforce: sobject.name + "." + action, no orderId needed
--- request eval
Webhook::post("/webhooks/wh_sf", $::sf)
--- more_headers eval
Webhook::salesforce($::S{sf}, $::sf)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_sf\|wh_sf\|Contact\.created\|salesforce\|n[-\d]+\|\d+\|[0-9a-f]{64}\n$}



=== TEST 5: signed with another registration's secret: 401
--- request eval
Webhook::post("/webhooks/wh_gh", $::gh[2])
--- more_headers eval
Webhook::github($::S{stripe}, $::gh[2]) . "X-GitHub-Event: push\n"
--- error_code: 401
--- response_body eval
$::ERR{sig}
--- error_log eval
::rejected("invalid_signature", "wh_gh")



=== TEST 6: an id with no registration: 404
--- request eval
Webhook::post("/webhooks/wh_nobody", $::gh[3])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[3])
--- error_code: 404
--- response_body eval
$::ERR{unknown}
--- error_log eval
::rejected("unknown_registration", "-")



=== TEST 7: a disabled registration: 410, even correctly signed
--- request eval
Webhook::post("/webhooks/wh_off", $::gh[4])
--- more_headers eval
Webhook::github($::S{off}, $::gh[4]) . "X-GitHub-Event: push\n"
--- error_code: 410
--- response_body eval
$::ERR{gone}
--- error_log eval
::rejected("registration_disabled", "wh_off")



=== TEST 8: a deleted registration (no secret left): 410
--- request eval
Webhook::post("/webhooks/wh_gone", $::gh[5])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[5])
--- error_code: 410
--- response_body eval
$::ERR{gone}
--- error_log eval
qr/webhook rejected: registration_disabled \(registration deleted\)/



=== TEST 9: GitHub event not registered: 422
--- request eval
Webhook::post("/webhooks/wh_gh", $::gh[6])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[6]) . "X-GitHub-Event: issues\n"
--- error_code: 422
--- response_body eval
$::ERR{event}
--- error_log eval
::rejected("event_not_registered", "wh_gh")



=== TEST 10: Stripe event not registered: 422
--- request eval
Webhook::post("/webhooks/wh_stripe", $::stripe_other)
--- more_headers eval
Webhook::stripe($::S{stripe}, $::stripe_other)
--- error_code: 422
--- response_body eval
$::ERR{event}
--- error_log eval
qr/event_not_registered \(event type not among the registration's events\), label "registry", registration "wh_stripe"/



=== TEST 10b: no event type at all, and a list to check: 422
--- request eval
Webhook::post("/webhooks/wh_gh", $::gh[7])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[7])
--- error_code: 422
--- response_body eval
$::ERR{event}
--- error_log eval
qr/event_not_registered \(no event type in the delivery\)/



=== TEST 10c: Slack: "event"."type", a nested object skipped with its escapes
--- request eval
Webhook::post("/webhooks/wh_slack", $::slack)
--- more_headers eval
Webhook::slack($::S{slack}, $::slack)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_slack\|wh_slack\|app_mention\|slack\|}



=== TEST 10d: Slack: no "event": the top-level "type" (url_verification)
--- request eval
Webhook::post("/webhooks/wh_slack", $::slack_url)
--- more_headers eval
Webhook::slack($::S{slack}, $::slack_url)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_slack\|wh_slack\|url_verification\|slack\|}



=== TEST 10e: Notion: body "type"
--- request eval
Webhook::post("/webhooks/wh_notion", $::notion)
--- more_headers eval
Webhook::notion($::S{notion}, $::notion)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_notion\|wh_notion\|page\.created\|notion\|}



=== TEST 10f: an escaped "type" is read as JSON says (invoice\u002epaid is invoice.paid)
--- request eval
Webhook::post("/webhooks/wh_stripe", $::stripe_esc)
--- more_headers eval
Webhook::stripe($::S{stripe}, $::stripe_esc)
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_stripe\|wh_stripe\|invoice\.paid\|stripe\|}



=== TEST 10g: a duplicate "type": no event type (422), as a JSON parser refusing duplicates says
--- request eval
Webhook::post("/webhooks/wh_stripe", $::stripe_dup)
--- more_headers eval
Webhook::stripe($::S{stripe}, $::stripe_dup)
--- error_code: 422
--- error_log eval
qr/event_not_registered \(no event type in the delivery\)/



=== TEST 10h: a "type" only inside a nested object is not the event type: 422
--- request eval
Webhook::post("/webhooks/wh_stripe", $::stripe_nested)
--- more_headers eval
Webhook::stripe($::S{stripe}, $::stripe_nested)
--- error_code: 422
--- error_log eval
qr/event_not_registered \(no event type in the delivery\)/



=== TEST 11: Salesforce event not registered: 422
--- request eval
Webhook::post("/webhooks/wh_sf", $::sf_other)
--- more_headers eval
Webhook::salesforce($::S{sf}, $::sf_other)
--- error_code: 422
--- response_body eval
$::ERR{event}
--- error_log eval
::rejected("event_not_registered", "wh_sf")



=== TEST 12: events "*": any event, none needed
--- request eval
Webhook::post("/webhooks/wh_any", $::gh[8])
--- more_headers eval
Webhook::github($::S{gh}, $::gh[8])
--- error_code: 200
--- response_body_like eval
qr{^/webhooks/wh_any\|wh_any\|\|github\|}



=== TEST 13: rotation: the previous secret is valid until secret_prev_until
--- request eval
[Webhook::post("/webhooks/wh_rot", $::gh[9]),
 Webhook::post("/webhooks/wh_rot", $::gh[10])]
--- more_headers eval
[Webhook::github($::S{old}, $::gh[9]), Webhook::github($::S{rot}, $::gh[10])]
--- error_code eval
[200, 200]



=== TEST 14: rotation over: the previous secret is refused
--- request eval
Webhook::post("/webhooks/wh_rot_done", $::gh[11])
--- more_headers eval
Webhook::github($::S{old}, $::gh[11])
--- error_code: 401
--- error_log eval
::rejected("invalid_signature", "wh_rot_done")



=== TEST 14b: rotation over: the new secret is taken
--- request eval
Webhook::post("/webhooks/wh_rot_done", $::gh[12])
--- more_headers eval
Webhook::github($::S{rot}, $::gh[12])
--- error_code: 200



=== TEST 15: a provider the edge does not verify: 410, named in the log
--- request eval
Webhook::post("/webhooks/wh_paypal", $::gh[13])
--- more_headers eval
Webhook::github($::S{bad}, $::gh[13])
--- error_code: 410
--- error_log eval
qr/registration_disabled \(registration's provider is not one the edge verifies\)/



=== TEST 16: no webhook_redis: a clear error at load
--- http_config
--- config
    location ~ ^/webhooks/(?<reg>.+)$ { webhook_registry redis $reg; }
--- must_die
--- error_log
"webhook_registry redis" needs webhook_redis in the http block



=== TEST 17: the id must be a variable
--- config
    location /w { webhook_registry redis wh_fixed; }
--- must_die
--- error_log
webhook_registry: the registration id must be a variable such as $reg, not "wh_fixed"



=== TEST 18: an unknown store
--- config
    location ~ ^/w/(?<reg>.+)$ { webhook_registry memcached $reg; }
--- must_die
--- error_log
webhook_registry: unknown store "memcached", expected "redis"



=== TEST 19: webhook_verify and webhook_registry together
--- config
    location ~ ^/w/(?<reg>.+)$ {
        webhook_registry redis $reg;
        webhook_verify github; webhook_secret s;
    }
--- must_die
--- error_log
webhook_registry takes the scheme and secrets from the registration



=== TEST 20: an undefined variable
--- config
    location /w { webhook_registry redis $no_such_var; }
--- must_die
--- error_log
unknown "no_such_var" variable



=== TEST 21: a webhook_registry_zone too small
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    webhook_registry_zone reg:1k;
--- config
    location = /w { return 200; }
--- must_die
--- error_log
webhook_registry_zone "reg:1k" is too small



=== TEST 21b: a bad webhook_registry_ttl
--- http_config
    webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    webhook_registry_ttl soon;
--- config
    location = /w { return 200; }
--- must_die
--- error_log
"webhook_registry_ttl" has an invalid time "soon"



=== TEST 22: edge: attested as r1, then disabled and deleted within the TTL, no reload
--- init
use Test::More;
my ($st, $body, $b) = ::deliver("/webhooks/wh_live", $::S{live});
is($st, 200, "wh_live delivered");
my ($uri, $reg, $evt, $prov, $id, $time, $att) = split /\|/, $body;
chomp $att;
is($reg, "wh_live", "X-Webhook-Registration");
is($att, ::r1("wh_live", "github", "", $time, $b), "r1 attestation");
::change("wh_live", status => "disabled");
my $t0 = time;
is(::until_status(8, 410, "/webhooks/wh_live", $::S{live}), 410, "disabled: 410");
ok(time - $t0 < 2 * 2 + 1, "within two TTLs (took " . (time - $t0) . "s)");
::change("wh_live", status => "active");
is(::until_status(8, 200, "/webhooks/wh_live", $::S{live}), 200, "active again: 200");
$::redis->command("HDEL", "webhook:reg:wh_live", "secret");
::change("wh_live", status => "deleted");
$t0 = time;
is(::until_status(8, 410, "/webhooks/wh_live", $::S{live}), 410, "deleted: 410");
ok(time - $t0 < 2 * 2 + 1, "within two TTLs (took " . (time - $t0) . "s)");
--- request
GET /status
--- error_code: 200



=== TEST 23: edge: a rotation through Redis: both secrets during the grace, then only the new one
--- init
use Test::More;
is(::deliver("/webhooks/wh_rot", $::S{rot}), 200, "warm");
my $until = int(time) + 3;
::change("wh_rot", secret => $::S{new}, secret_prev => $::S{rot},
         secret_prev_until => $until);
is(::until_status(8, 200, "/webhooks/wh_rot", $::S{new}), 200, "new secret taken");
is(::deliver("/webhooks/wh_rot", $::S{rot}), 200, "old secret in its grace");
sleep 0.2 while time < $until + 0.1;
is(::deliver("/webhooks/wh_rot", $::S{rot}), 401, "old secret after the grace");
is(::deliver("/webhooks/wh_rot", $::S{new}), 200, "new secret still");
--- request
GET /status
--- error_code: 200



=== TEST 24: edge: a flood of random unknown ids does not reach Redis, and records nothing
--- init
use Test::More;
ok(::wait_edge(qr/"ids_complete":true/), "reg:ids loaded") or diag(::edge_status());
$::redis->command("CONFIG", "RESETSTAT");
my $n = 400;
my $not_found = 0;
for my $i (1 .. $n) {
    my $id = sprintf "wh_rand%06x%d", int rand 0xffffff, $i;
    my ($st) = ::edge()->request("POST", "/webhooks/$id", "{}",
                                 "X-Hub-Signature-256: sha256=00\n");
    $not_found++ if $st == 404;
}
is($not_found, $n, "every random id: 404");
my $calls = ::hmget_calls();
ok($calls < $n / 10, "HMGET calls $calls, far fewer than $n");
sleep 1.3;
is(scalar @{ $::redis->command("KEYS", "webhook:reg*:wh_rand*") || [] }, 0,
   "no regstat/reglast key for unknown ids");
like(::edge_status(), qr/"unknown_from_ids":(\d+)/, "counted on the status page");
--- request
GET /status
--- error_code: 200



=== TEST 25: edge: health stats reach Redis in batches, exactly
--- init
use Test::More;
my $t0 = time;
is(::deliver("/webhooks/wh_stat", $::S{stat}), 200, "pass 1") for 1 .. 3;
is(::deliver("/webhooks/wh_stat", $::S{bad}), 401, "bad secret") for 1 .. 2;
sleep 1.5;
is(::deliver("/webhooks/wh_stat", $::S{stat}, event => "issues"), 422,
   "event not registered");
my $t1 = time;
sleep 1.5;
is(::regstat("wh_stat", "passed"), 3, "passed = 3");
is(::regstat("wh_stat", "invalid_signature"), 2, "invalid_signature = 2");
is(::regstat("wh_stat", "event_not_registered"), 1, "event_not_registered = 1");
my @keys = @{ $::redis->command("KEYS", "webhook:regstat:wh_stat:*") };
ok(@keys >= 1 && @keys <= 2, "minute buckets: @keys");
for my $k (@keys) {
    like($k, qr/^webhook:regstat:wh_stat:(\d+)$/, "key name");
    my ($m) = $k =~ /(\d+)$/;
    ok($m >= int($t0 / 60) && $m <= int($t1 / 60), "minute $m");
    my $ttl = $::redis->command("TTL", $k);
    ok($ttl > 7150 && $ttl <= 7200, "EXPIRE 7200 ($ttl)");
}
my %last = @{ $::redis->command("HGETALL", "webhook:reglast:wh_stat") };
ok($last{last_event_at} >= int($t0) && $last{last_event_at} <= $t1 + 1,
   "last_event_at $last{last_event_at}");
ok($last{last_failure_at} >= int($t1) - 1 && $last{last_failure_at} <= $t1 + 1,
   "last_failure_at $last{last_failure_at}");
is($last{last_reason}, "event_not_registered", "last_reason");
--- request
GET /status
--- error_code: 200



=== TEST 25b: a worker that exits sends the counts it holds (no wait for the next batch)
--- init
use Test::More;
my $e2 = EdgeNginx->new(workers => 1, http => sub {
    my ($port) = @_;
    return <<"CONF";
    webhook_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} $ENV{TEST_NGINX_REDIS_TIMEOUTS};
    server {
        listen 127.0.0.1:$port;
        location ~ "^/webhooks/(?<reg>[A-Za-z0-9_-]{1,64})\$" {
            webhook_registry redis \$reg; webhook_replay off;
            proxy_pass http://127.0.0.1:$port/ok\$is_args\$args;
        }
        location = /ok { return 200 "taken\\n"; }
    }
CONF
});
my $b = ::gh_body();
my ($st) = $e2->request("POST", "/webhooks/wh_exit", $b, Webhook::github($::S{stat}, $b));
is($st, 200, "delivered");
$e2->stop;
is(::regstat("wh_exit", "passed"), 1, "passed = 1, written at exit");
--- request
GET /status
--- error_code: 200



=== TEST 26: edge: Redis stopped: the cached entry until its TTL, then webhook_redis_down; restarted
--- init
use Test::More;
is(::deliver("/local/wh_down", $::S{down}), 200, "local: warm");
is(::deliver("/reject/wh_down", $::S{down}), 200, "reject: warm");
my $t0 = time;
$::redis->stop;
is(::deliver("/reject/wh_down", $::S{down}), 200, "reject: cached entry within its TTL");
ok(time - $t0 < 2, "still within the TTL");
sleep 0.1 while time < $t0 + 2.5;
my ($st, $body) = ::deliver("/reject/wh_down", $::S{down});
is($st, 503, "reject: 503 after the TTL");
like($body, qr/"error":"replay_store_unavailable"/, "reason");
is(::deliver("/local/wh_down", $::S{down}), 200, "local: the expired entry");
is(::deliver("/local/wh_down", $::S{bad}), 401, "local: still verified");
sleep 1.3;
like(::edge_status(), qr/"stats_dropped":[1-9]/, "stats dropped while down, counted");
like(::edge()->error_log, qr/\[warn\].*registration "wh_down" verified with its expired cache entry \(webhook_redis_down local\)/,
     "the fallback is logged");
like(::edge()->error_log, qr/\[error\].*webhook rejected: replay_store_unavailable \(registry unavailable, webhook_redis_down reject\), label "registry", registration "-"/,
     "the refusal is logged");
$::redis->start;
::setup_all();
is(::until_status(12, 200, "/reject/wh_down", $::S{down}), 200, "reject: back once Redis is");
--- request
GET /status
--- error_code: 200

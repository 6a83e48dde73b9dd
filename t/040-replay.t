# Replay store semantics (local, shared memory): reserve on verify, keep on
# a 2xx final answer, release otherwise, refuse a copy while one is in flight.

# Blocks share the replay zone: later ones replay/retry earlier deliveries.
# nginx is reloaded (HUP) before every block instead of restarted, as both
# Test::Nginx runners do with TEST_NGINX_USE_HUP: the zone survives a reload,
# and each block's error.log starts empty.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use IO::Socket::INET;
use POSIX ();

repeat_each(1);
master_on();
no_shuffle();
no_long_string();

our $body = '{"id":"evt_replay_1","type":"invoice.paid"}';
our $body2 = '{"id":"evt_replay_2","type":"invoice.paid"}';
our $body3 = '{"id":"evt_replay_3","type":"invoice.paid"}';
our $body4 = '{"id":"evt_replay_4","type":"invoice.paid"}';
# one delivery id for TEST 14 (forged body) and TEST 15 (the real one)
our $unreserved = Webhook::github("s", $body);
our $sfbody = Webhook::salesforce_body(nonce => "nonce-fixed-1");
our $sfbody_other = Webhook::salesforce_body(nonce => "nonce-fixed-1",
                                             orderId => "801xx0000000002");

# An upstream that accepts connections and never answers.
our $blackhole = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'tcp')
    or die "blackhole: $!";
$ENV{TEST_NGINX_BLACKHOLE_PORT} = $blackhole->sockport;

# Sends a request in a child process and returns at once.
sub send_in_background {
    my ($body, $headers) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    return $pid if $pid;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT}
                                              || 1984);
    (my $h = $headers) =~ s/\n/\r\n/g;
    print $s "POST /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . $h . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    local $/; my $resp = <$s>;
    # _exit: a plain exit would run Test::Nginx's END block in this child,
    # and that stops nginx under the test's feet
    POSIX::_exit(0);
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "webhook_zone webhook:1m;")
        unless defined $block->http_config;

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /orders {
        webhook_verify github; webhook_secret s; webhook_label orders;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /orders-broken {
        webhook_verify github; webhook_secret s; webhook_label orders;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fail;
    }
    location /orders-unreachable {
        webhook_verify github; webhook_secret s; webhook_label orders;
        proxy_connect_timeout 1s;
        proxy_pass http://127.0.0.1:1/;
    }
    location /slow {
        webhook_verify github; webhook_secret s; webhook_label orders;
        proxy_read_timeout 1500ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BLACKHOLE_PORT;
    }
    location /other-label {
        webhook_verify github; webhook_secret s; webhook_label billing;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /sf {
        webhook_verify salesforce; webhook_secret s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /no-replay {
        webhook_verify github; webhook_secret s; webhook_replay off;
        webhook_label unguarded;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /short-ttl {
        webhook_verify github; webhook_secret s; webhook_label short;
        webhook_replay_ttl 1s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
    location = /fail { return 503 "portal down\n"; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: first delivery passes
--- request eval
Webhook::post("/orders", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- response_body
taken



=== TEST 2: the same delivery again is a replay
--- request eval
Webhook::post("/orders", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- error_code: 401
--- response_body eval
qq({"error":"replay","message":"Nonce already used"}\r\n)
--- error_log eval
qr/\[error\] .*webhook rejected: replay \(Nonce already used\), label "orders", client: 127\.0\.0\.1/



=== TEST 3: labels are separate replay spaces
--- request eval
Webhook::post("/other-label", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- response_body
taken



=== TEST 4: the upstream failed (503): the key is released...
--- request eval
Webhook::post("/orders-broken", $::body2)
--- more_headers eval
Webhook::github("s", $::body2)
--- error_code: 503
--- response_body
portal down
--- error_log
replay key released
--- no_error_log
[error]



=== TEST 5: ...so the provider's retry is accepted
--- request eval
Webhook::post("/orders", $::body2)
--- more_headers eval
Webhook::github("s", $::body2)
--- response_body
taken



=== TEST 6: ...and kept once it was taken
--- request eval
Webhook::post("/orders", $::body2)
--- more_headers eval
Webhook::github("s", $::body2)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 7: upstream unreachable (502): released too
--- request eval
Webhook::post("/orders-unreachable", $::body3)
--- more_headers eval
Webhook::github("s", $::body3)
--- error_code: 502
--- error_log
replay key released



=== TEST 8: retry after the unreachable upstream passes
--- request eval
Webhook::post("/orders", $::body3)
--- more_headers eval
Webhook::github("s", $::body3)
--- response_body
taken



=== TEST 9: a second copy while the first is still in flight is refused
--- init
$::child = ::send_in_background($::body4, Webhook::github("s", $::body4));
select(undef, undef, undef, 0.4);
--- request eval
Webhook::post("/orders", $::body4)
--- more_headers eval
Webhook::github("s", $::body4)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 10: the first copy timed out upstream (504): its retry passes
--- init
waitpid($::child, 0);
--- request eval
Webhook::post("/orders", $::body4)
--- more_headers eval
Webhook::github("s", $::body4)
--- response_body
taken
--- error_log
upstream timed out
--- no_error_log
webhook rejected



=== TEST 11: salesforce: the key is the signed nonce
--- request eval
Webhook::post("/sf", $::sfbody)
--- more_headers eval
Webhook::salesforce("s", $::sfbody)
--- response_body
taken



=== TEST 12: salesforce: a new body with a used nonce is a replay
--- request eval
Webhook::post("/sf", $::sfbody_other)
--- more_headers eval
Webhook::salesforce("s", $::sfbody_other)
--- error_code: 401
--- error_log
webhook rejected: replay



=== TEST 13: webhook_replay off: duplicates pass (the operator chose it)
--- request eval
[Webhook::post("/no-replay", $::body), Webhook::post("/no-replay", $::body)]
--- more_headers eval
Webhook::github("s", $::body)
--- response_body eval
["taken\n", "taken\n"]



=== TEST 14: a rejected request reserves nothing...
--- request eval
Webhook::post("/short-ttl", "forged")
--- more_headers eval
$::unreserved
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 15: ...so the valid delivery with the same id passes
--- request eval
Webhook::post("/short-ttl", $::body)
--- more_headers eval
$::unreserved
--- response_body
taken



=== TEST 16: a kept key expires after webhook_replay_ttl
--- init
select(undef, undef, undef, 1.3);
--- request eval
Webhook::post("/short-ttl", $::body)
--- more_headers eval
Webhook::github("s", $::body)
--- response_body
taken

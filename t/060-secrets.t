# Secrets: rotation, $webhook_secret_index, file:, env:, per-tenant variables.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Webhook;
use File::Temp qw(tempfile);

repeat_each(1);
no_shuffle();
no_long_string();

my ($fh, $file) = tempfile("webhook-secret-XXXXXX", TMPDIR => 1, UNLINK => 1);
print $fh "from-a-file\n";
close $fh;
$ENV{TEST_NGINX_SECRET_FILE} = $file;
$ENV{TEST_NGINX_SECRET_ENV} = "from-the-env";

our $n = 0;
sub body { '{"id":"evt_secret_' . ++$n . '"}' }

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'CONF') unless defined $block->http_config;
    webhook_zone webhook:1m;
    map $http_x_tenant $tenant_secret {
        acme     "acme-secret";
        globex   "globex-secret";
        default  "";
    }
CONF

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location /rotating {
        webhook_verify github;
        webhook_secret new-secret;
        webhook_secret old-secret;
        add_header X-Secret-Index $webhook_secret_index always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /sources {
        webhook_verify github;
        webhook_secret file:$TEST_NGINX_SECRET_FILE;
        webhook_secret env:TEST_NGINX_SECRET_ENV;
        add_header X-Secret-Index $webhook_secret_index always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /tenant {
        webhook_verify github;
        webhook_secret $tenant_secret;
        add_header X-Secret-Index $webhook_secret_index always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location /standard-tenant {
        webhook_verify standard;
        webhook_secret $http_x_secret_for_test;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "taken\n"; }
CONF

    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]");
    }
});

run_tests();

__DATA__

=== TEST 1: rotation: the new secret matches as #0
--- request eval
Webhook::post("/rotating", $::b1 = ::body())
--- more_headers eval
Webhook::github("new-secret", $::b1)
--- response_headers
X-Secret-Index: 0
--- response_body
taken



=== TEST 2: rotation: a sender still on the old secret matches as #1
--- request eval
Webhook::post("/rotating", $::b2 = ::body())
--- more_headers eval
Webhook::github("old-secret", $::b2)
--- response_headers
X-Secret-Index: 1
--- response_body
taken



=== TEST 3: rotation: neither secret: 401, and the log names neither
--- request eval
Webhook::post("/rotating", $::b3 = ::body())
--- more_headers eval
Webhook::github("retired-secret", $::b3)
--- error_code: 401
--- response_headers
!X-Secret-Index
--- error_log
webhook rejected: invalid_signature
--- no_error_log
new-secret
old-secret
retired-secret



=== TEST 4: secret from a file, its trailing newline dropped
--- request eval
Webhook::post("/sources", $::b4 = ::body())
--- more_headers eval
Webhook::github("from-a-file", $::b4)
--- response_headers
X-Secret-Index: 0
--- response_body
taken



=== TEST 5: the file's newline is not part of the key
--- request eval
Webhook::post("/sources", $::b5 = ::body())
--- more_headers eval
Webhook::github("from-a-file\n", $::b5)
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 6: secret from the environment at config load
--- request eval
Webhook::post("/sources", $::b6 = ::body())
--- more_headers eval
Webhook::github("from-the-env", $::b6)
--- response_headers
X-Secret-Index: 1
--- response_body
taken



=== TEST 7: per-tenant secret through map
--- request eval
[Webhook::post("/tenant", $::b7 = ::body()), Webhook::post("/tenant", $::b8 = ::body())]
--- more_headers eval
[Webhook::github("acme-secret", $::b7) . "X-Tenant: acme\n",
 Webhook::github("globex-secret", $::b8) . "X-Tenant: globex\n"]
--- response_body eval
["taken\n", "taken\n"]



=== TEST 8: one tenant's signature does not pass as another's
--- request eval
Webhook::post("/tenant", $::b9 = ::body())
--- more_headers eval
Webhook::github("acme-secret", $::b9) . "X-Tenant: globex\n"
--- error_code: 401
--- error_log
webhook rejected: invalid_signature



=== TEST 9: an unknown tenant (empty secret) matches nothing
--- request eval
Webhook::post("/tenant", $::b10 = ::body())
--- more_headers eval
Webhook::github("", $::b10) . "X-Tenant: initech\n"
--- error_code: 401
--- error_log
secret #0 is empty or not valid for scheme "github" in this request
webhook rejected: invalid_signature



=== TEST 10: standard scheme decodes a per-request whsec_ secret
--- request eval
Webhook::post("/standard-tenant", $::b11 = ::body())
--- more_headers eval
Webhook::standard("whsec_dGVuYW50LWtleS0xMjM0NTY=", $::b11) . "X-Secret-For-Test: whsec_dGVuYW50LWtleS0xMjM0NTY=\n"
--- response_body
taken



=== TEST 11: standard scheme: a per-request secret that is not base64
--- request eval
Webhook::post("/standard-tenant", $::b12 = ::body())
--- more_headers eval
Webhook::standard("whsec_dGVuYW50LWtleS0xMjM0NTY=", $::b12) . "X-Secret-For-Test: whsec_###\n"
--- error_code: 401
--- error_log
secret #0 is empty or not valid for scheme "standard" in this request

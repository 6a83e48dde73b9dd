# Directive values: what loads, and what fails to load with a clear message.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_shuffle();
no_long_string();

$ENV{TEST_NGINX_WEBHOOK_ENV_SECRET} = "from-the-environment";
delete $ENV{TEST_NGINX_WEBHOOK_UNSET};

run_tests();

__DATA__

=== TEST 1: a complete configuration loads
--- http_config
    webhook_zone webhook:1m;
--- config
    location /hook {
        webhook_verify github;
        webhook_secret "s3cret";
        webhook_secret env:TEST_NGINX_WEBHOOK_ENV_SECRET;
        webhook_tolerance 300000ms;
        webhook_replay_ttl 10y;
        webhook_allow 127.0.0.1 ::1 10.0.0.0/8 2001:db8::/32;
        webhook_label gh;
        webhook_attest_secret edge-key;
        return 200 "loaded\n";
    }
--- request
GET /hook
--- response_body
loaded
--- no_error_log
[error]
[emerg]



=== TEST 2: unknown scheme
--- config
    location /hook { webhook_verify paypal; webhook_secret x; }
--- must_die
--- error_log
unknown webhook scheme "paypal"



=== TEST 3: webhook_verify without any secret
--- config
    location /hook { webhook_verify stripe; webhook_replay off; }
--- must_die
--- error_log
webhook_verify stripe needs at least one webhook_secret



=== TEST 4: duplicate webhook_verify
--- config
    location /hook { webhook_verify stripe; webhook_verify github; }
--- must_die
--- error_log
"webhook_verify" directive is duplicate



=== TEST 5: tolerance that is not a time
--- config
    location /hook { webhook_verify stripe; webhook_secret x;
                     webhook_tolerance soon; }
--- must_die
--- error_log
"webhook_tolerance" has an invalid time "soon"



=== TEST 6: zone without a size
--- http_config
    webhook_zone webhook;
--- config
--- must_die
--- error_log
invalid webhook_zone "webhook", expected NAME:SIZE



=== TEST 7: zone too small
--- http_config
    webhook_zone webhook:1k;
--- config
--- must_die
--- error_log
webhook_zone "webhook:1k" is too small



=== TEST 8: local replay store without a zone
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_replay local; }
--- must_die
--- error_log
"webhook_replay local" needs a webhook_zone in the http block



=== TEST 9: replay mode that does not exist
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_replay memcached; }
--- must_die
--- error_log
invalid value "memcached"



=== TEST 10: secret from an unset environment variable
--- config
    location /hook { webhook_verify github;
                     webhook_secret env:TEST_NGINX_WEBHOOK_UNSET; }
--- must_die
--- error_log
secret environment variable "TEST_NGINX_WEBHOOK_UNSET" is not set



=== TEST 11: secret file that does not exist
--- config
    location /hook { webhook_verify github;
                     webhook_secret file:/nonexistent/webhook.secret; }
--- must_die
--- error_log
cannot open secret file "/nonexistent/webhook.secret"



=== TEST 12: standard scheme with a secret that is not base64
--- config
    location /hook { webhook_verify standard; webhook_secret "whsec_***"; }
--- must_die
--- error_log
webhook_secret #0 is not a valid whsec_<base64> secret for scheme "standard"



=== TEST 13: allowlist entry that is not an address
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_allow 10.0.0.300; }
--- must_die
--- error_log
webhook_allow: invalid address "10.0.0.300"



=== TEST 14: allowlist from an unset environment variable
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_allow env:TEST_NGINX_WEBHOOK_UNSET; }
--- must_die
--- error_log
webhook_allow: environment variable "TEST_NGINX_WEBHOOK_UNSET" is not set



=== TEST 15: custom scheme without webhook_signature
--- config
    location /hook { webhook_verify custom; webhook_secret x; }
--- must_die
--- error_log
"webhook_verify custom" needs webhook_signature



=== TEST 16: custom template with an unknown placeholder
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig;
                     webhook_signed_payload "{id}.{body}"; }
--- must_die
--- error_log
unknown placeholder "{id}" in webhook_signed_payload "{id}.{body}"



=== TEST 17: custom template without the body
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig;
                     webhook_signed_payload "{timestamp}"; }
--- must_die
--- error_log
must contain {body} exactly once



=== TEST 18: custom signature with an unknown algorithm
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig algorithm=md5; }
--- must_die
--- error_log
invalid webhook_signature parameter "algorithm=md5"



=== TEST 19: custom timestamp with an unknown format
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig;
                     webhook_timestamp X-Ts format=rfc822; }
--- must_die
--- error_log
invalid webhook_timestamp parameter "format=rfc822"



=== TEST 20: attestation secret with variables is refused
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_attest_secret $http_x_key; }
--- must_die
--- error_log
webhook_attest_secret takes a literal, file: or env: value, not variables



=== TEST 21: webhook_zone outside the http block
--- config
    location /hook { webhook_zone w:1m; }
--- must_die
--- error_log
"webhook_zone" directive is not allowed here



=== TEST 22: a label with characters that would break the status output
--- config
    location /hook { webhook_verify github; webhook_secret x;
                     webhook_label 'a"b'; }
--- must_die
--- error_log
invalid webhook_label "a"b"



=== TEST 23: custom template with {timestamp} but no webhook_timestamp
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig;
                     webhook_signed_payload "{timestamp}.{body}"; }
--- must_die
--- error_log
webhook_signed_payload "{timestamp}.{body}" uses {timestamp} but no webhook_timestamp is set



=== TEST 24: custom template with {nonce} but no webhook_nonce
--- config
    location /hook { webhook_verify custom; webhook_secret x;
                     webhook_signature X-Sig;
                     webhook_signed_payload "{nonce}.{body}"; }
--- must_die
--- error_log
webhook_signed_payload "{nonce}.{body}" uses {nonce} but no webhook_nonce is set

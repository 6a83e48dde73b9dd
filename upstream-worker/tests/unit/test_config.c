/* Configuration from the environment: every failure names its variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "jobs/fulfill.h"

static const char *env[64][2];


static void
env_reset(void)
{
    static const char *base[][2] = {
        { "SF_LOGIN_URL", "http://127.0.0.1:1" },
        { "SF_CLIENT_ID", "cid" },
        { "SF_USERNAME", "u@example.com" },
        { "SF_PRIVATE_KEY_PATH", "/etc/hostname" },
        { "PORTAL_PRICEBOOK_ID", "01s000000000001AAA" },
        { "WHMCS_API_URL", "https://whmcs.example" },
        { "WHMCS_IDENTIFIER", "id" },
        { "WHMCS_SECRET", "secret" },
        { "REDIS_URL", "redis://127.0.0.1:6380/2" },
        { "WORKER_LISTEN", "127.0.0.1:8081" },
        { NULL, NULL }
    };
    int i;

    memset(env, 0, sizeof(env));
    for (i = 0; base[i][0]; i++) {
        env[i][0] = base[i][0];
        env[i][1] = base[i][1];
    }
}


static void
env_set(const char *name, const char *value)
{
    int i;

    for (i = 0; env[i][0]; i++) {
        if (strcmp(env[i][0], name) == 0) {
            env[i][1] = value;
            return;
        }
    }
    env[i][0] = name;
    env[i][1] = value;
}


static char *
fake_getenv(const char *name)
{
    int i;

    for (i = 0; env[i][0]; i++) {
        if (strcmp(env[i][0], name) == 0) {
            return (char *) env[i][1];
        }
    }
    return NULL;
}


static void
test_complete(void **state)
{
    worker_config cfg;
    char          err[256];

    (void) state;
    env_reset();
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_int_equal(cfg.redis.port, 6380);
    assert_int_equal(cfg.redis.db, 2);
    assert_string_equal(cfg.listen.host, "127.0.0.1");
    assert_int_equal(cfg.listen.port, 8081);
    assert_null(cfg.edge_attest_secret);
    assert_null(cfg.whmcs_access_key);
    assert_int_equal(cfg.max_attempts, 5);
    assert_int_equal(cfg.intake_threads, 8);
    assert_string_equal(cfg.sf_api_version, "60.0");
    assert_int_equal(cfg.events_enabled, 0);
    assert_string_equal(cfg.events_channel, "/event/OrderProvisionRequested__e");
    assert_int_equal(cfg.events_replay_all, 0);
    config_free(&cfg);

    env_set("SF_LOGIN_URL", "https://login.salesforce.com/");
    env_set("WHMCS_API_URL", "https://billing.example//");
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_string_equal(cfg.sf_login_url, "https://login.salesforce.com");
    assert_string_equal(cfg.whmcs_api_url, "https://billing.example");
    config_free(&cfg);
}


static void
expect_failure(const char *name, const char *value, const char *named)
{
    worker_config cfg;
    char          err[256];

    env_reset();
    env_set(name, value);
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), -1);
    if (strncmp(err, named, strlen(named)) != 0) {
        fail_msg("for %s=%s: \"%s\" does not name %s", name,
                 value ? value : "(unset)", err, named);
    }
}


static void
test_missing_and_malformed(void **state)
{
    static const char *required[] = {
        "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_USERNAME", "SF_PRIVATE_KEY_PATH",
        "PORTAL_PRICEBOOK_ID", "WHMCS_API_URL", "WHMCS_IDENTIFIER",
        "WHMCS_SECRET", "REDIS_URL", "WORKER_LISTEN", NULL
    };
    int i;

    (void) state;
    for (i = 0; required[i]; i++) {
        expect_failure(required[i], NULL, required[i]);
        expect_failure(required[i], "", required[i]);
    }
    expect_failure("SF_LOGIN_URL", "login.salesforce.com", "SF_LOGIN_URL");
    expect_failure("SF_PRIVATE_KEY_PATH", "/nonexistent", "SF_PRIVATE_KEY_PATH");
    expect_failure("PORTAL_PRICEBOOK_ID", "01s-bad", "PORTAL_PRICEBOOK_ID");
    expect_failure("WHMCS_API_URL", "ftp://x", "WHMCS_API_URL");
    expect_failure("REDIS_URL", "127.0.0.1:6379", "REDIS_URL");
    expect_failure("REDIS_URL", "redis://host:99999", "REDIS_URL");
    expect_failure("WORKER_LISTEN", "8080", "WORKER_LISTEN");
    expect_failure("WORKER_LISTEN", "127.0.0.1:0", "WORKER_LISTEN");
    expect_failure("WORKER_LISTEN", "unix:relative.sock", "WORKER_LISTEN");
    expect_failure("JOB_MAX_ATTEMPTS", "0", "JOB_MAX_ATTEMPTS");
    expect_failure("JOB_MAX_ATTEMPTS", "five", "JOB_MAX_ATTEMPTS");
    expect_failure("WORKER_INTAKE_THREADS", "0", "WORKER_INTAKE_THREADS");
    expect_failure("WORKER_INTAKE_THREADS", "65", "WORKER_INTAKE_THREADS");
    expect_failure("SF_API_VERSION", "v60", "SF_API_VERSION");
    expect_failure("SF_EVENTS_ENABLED", "maybe", "SF_EVENTS_ENABLED");
    expect_failure("SF_PROVISION_EVENT_CHANNEL", "/topic/x", "SF_PROVISION_EVENT_CHANNEL");
    expect_failure("SF_PROVISION_EVENT_CHANNEL", "/event/a b", "SF_PROVISION_EVENT_CHANNEL");
    expect_failure("SF_EVENTS_REPLAY", "EARLIEST", "SF_EVENTS_REPLAY");
}


static void
test_parsers(void **state)
{
    redis_target  r;
    listen_target l;

    (void) state;
    assert_int_equal(config_parse_redis_url("redis://:pw@h:7000/3", &r), 0);
    assert_string_equal(r.host, "h");
    assert_string_equal(r.password, "pw");
    assert_int_equal(r.port, 7000);
    assert_int_equal(r.db, 3);
    assert_int_equal(config_parse_redis_url("redis://localhost", &r), 0);
    assert_int_equal(r.port, 6379);
    assert_int_equal(config_parse_redis_url("unix:///run/redis.sock", &r), 0);
    assert_string_equal(r.unix_path, "/run/redis.sock");
    assert_int_equal(config_parse_redis_url("redis://", &r), -1);
    assert_int_equal(config_parse_listen("unix:/run/w.sock", &l), 0);
    assert_string_equal(l.unix_path, "/run/w.sock");
    assert_int_equal(config_parse_listen("[::1]:9000", &l), 0);
    assert_string_equal(l.host, "::1");
    assert_int_equal(l.port, 9000);
}


static void
test_billing_cycles(void **state)
{
    (void) state;
    assert_string_equal(fulfill_billing_cycle("Monthly"), "monthly");
    assert_string_equal(fulfill_billing_cycle("Semi-Annually"), "semiannually");
    assert_string_equal(fulfill_billing_cycle("One Time"), "onetime");
    assert_string_equal(fulfill_billing_cycle("Yearly"), "annually");
    assert_null(fulfill_billing_cycle("Fortnightly"));
    assert_null(fulfill_billing_cycle(NULL));
}


static void
commerce_env(void)
{
    env_reset();
    env_set("WOOCOMMERCE_URL", "https://shop.example/");
    env_set("WOOCOMMERCE_CONSUMER_KEY", "ck_abc");
    env_set("WOOCOMMERCE_CONSUMER_SECRET", "cs_def");
    env_set("HFT71_API_URL", "http://127.0.0.1:9999");
    env_set("HFT71_USERNAME", "user");
    env_set("HFT71_PASSWORD", "pw");
}


static void
expect_commerce_failure(const char *name, const char *value,
    const char *named)
{
    worker_config cfg;
    char          err[256];

    commerce_env();
    env_set(name, value);
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), -1);
    assert_non_null(strstr(err, named));
}


static void
test_commerce(void **state)
{
    worker_config cfg;
    char          err[256];

    (void) state;
    env_reset();
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_int_equal(cfg.commerce_enabled, 0);
    config_free(&cfg);

    commerce_env();
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_int_equal(cfg.commerce_enabled, 1);
    assert_string_equal(cfg.wc_url, "https://shop.example");
    assert_int_equal(cfg.hft71_poll_interval_s, 300);
    assert_int_equal(cfg.hft71_sweep_interval_s, 300);
    config_free(&cfg);

    /* one set turns the flow on: the rest is then required */
    env_reset();
    env_set("HFT71_API_URL", "https://hft71.example");
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "WOOCOMMERCE_URL is not set"));

    expect_commerce_failure("WOOCOMMERCE_URL", "http://shop.example",
                            "WOOCOMMERCE_URL must be https://");
    expect_commerce_failure("HFT71_API_URL", "http://10.1.2.3:80",
                            "HFT71_API_URL must be https://");
    expect_commerce_failure("HFT71_API_URL", "ftp://x", "HFT71_API_URL");
    expect_commerce_failure("WOOCOMMERCE_CONSUMER_KEY", "abc",
                            "WOOCOMMERCE_CONSUMER_KEY is malformed");
    expect_commerce_failure("WOOCOMMERCE_CONSUMER_SECRET", "",
                            "WOOCOMMERCE_CONSUMER_SECRET is not set");
    expect_commerce_failure("HFT71_PASSWORD", "", "HFT71_PASSWORD is not set");
    expect_commerce_failure("HFT71_USERNAME", "a:b", "HFT71_USERNAME");
    expect_commerce_failure("HFT71_POLL_INTERVAL_S", "0",
                            "HFT71_POLL_INTERVAL_S is malformed");
    expect_commerce_failure("HFT71_SWEEP_INTERVAL_S", "5m",
                            "HFT71_SWEEP_INTERVAL_S is malformed");

    assert_true(config_url_is_loopback_http("http://127.0.0.1:80/x"));
    assert_true(config_url_is_loopback_http("http://localhost"));
    assert_true(config_url_is_loopback_http("http://[::1]:8080"));
    assert_false(config_url_is_loopback_http("http://127.0.0.1.evil.example"));
    assert_false(config_url_is_loopback_http("http://localhost.evil"));
    assert_false(config_url_is_loopback_http("http://u:p@127.0.0.1"));
    assert_false(config_url_is_loopback_http("https://127.0.0.1"));
}


static void
test_stock(void **state)
{
    worker_config cfg;
    char          err[256];

    (void) state;
    commerce_env();
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_int_equal(cfg.stock_sync_enabled, 0);
    assert_int_equal(cfg.stock_interval_s, 3600);
    assert_int_equal(cfg.stock_page_size, 500);
    assert_int_equal(cfg.stock_index_max_age_s, 86400);
    assert_null(cfg.stock_priority_skus);
    config_free(&cfg);

    commerce_env();
    env_set("HFT71_STOCK_SYNC_ENABLED", "true");
    env_set("HFT71_STOCK_INTERVAL_S", "600");
    env_set("HFT71_STOCK_PAGE_SIZE", "1000");
    env_set("STOCK_PRIORITY_SKUS", "A-1, B 2 ,C");
    assert_int_equal(config_load(&cfg, fake_getenv, err, sizeof(err)), 0);
    assert_int_equal(cfg.stock_sync_enabled, 1);
    assert_int_equal(cfg.stock_interval_s, 600);
    assert_int_equal(cfg.stock_page_size, 1000);
    assert_string_equal(cfg.stock_priority_skus, "A-1, B 2 ,C");
    config_free(&cfg);

    expect_commerce_failure("HFT71_STOCK_SYNC_ENABLED", "maybe",
                            "HFT71_STOCK_SYNC_ENABLED is malformed");
    expect_commerce_failure("HFT71_STOCK_INTERVAL_S", "0",
                            "HFT71_STOCK_INTERVAL_S is malformed");
    expect_commerce_failure("HFT71_STOCK_PAGE_SIZE", "1001",
                            "HFT71_STOCK_PAGE_SIZE is malformed");
    expect_commerce_failure("STOCK_INDEX_MAX_AGE_S", "10",
                            "STOCK_INDEX_MAX_AGE_S is malformed");
    expect_commerce_failure("STOCK_PRIORITY_SKUS", "A,B\tC",
                            "STOCK_PRIORITY_SKUS is malformed");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_missing_and_malformed),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_billing_cycles),
        cmocka_unit_test(test_commerce),
        cmocka_unit_test(test_stock),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

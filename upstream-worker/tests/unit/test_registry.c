/* Webhook registrations: health thresholds, id and secret formats, the
 * tokens file, request bodies, the r1 attestation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "attest.h"
#include "crypto.h"
#include "registry.h"
#include "registry_health.h"
#include "registry_tokens.h"


static registry_health_status
status_of(long long passed, long long failed)
{
    registry_stats s;

    memset(&s, 0, sizeof(s));
    registry_stats_add(&s, "passed", passed);
    registry_stats_add(&s, "invalid_signature", failed);
    return registry_health_of(&s);
}


static void
test_health_thresholds(void **state)
{
    (void) state;
    assert_int_equal(status_of(0, 0), HEALTH_HEALTHY);
    assert_int_equal(status_of(1000, 0), HEALTH_HEALTHY);
    /* degraded from one failure that is at least a tenth */
    assert_int_equal(status_of(10, 1), HEALTH_HEALTHY);    /* 9.1 % */
    assert_int_equal(status_of(9, 1), HEALTH_DEGRADED);    /* 10 % */
    assert_int_equal(status_of(0, 1), HEALTH_DEGRADED);
    /* failed from 5 failures that are at least half */
    assert_int_equal(status_of(0, 4), HEALTH_DEGRADED);
    assert_int_equal(status_of(0, 5), HEALTH_FAILED);
    assert_int_equal(status_of(5, 5), HEALTH_FAILED);
    assert_int_equal(status_of(6, 5), HEALTH_DEGRADED);
    assert_int_equal(status_of(20, 20), HEALTH_FAILED);
    assert_int_equal(status_of(21, 20), HEALTH_DEGRADED);
    assert_string_equal(registry_health_name(HEALTH_FAILED), "failed");
    assert_string_equal(registry_health_name(HEALTH_DEGRADED), "degraded");
    assert_string_equal(registry_health_name(HEALTH_HEALTHY), "healthy");
}


static void
test_stats_and_recommendations(void **state)
{
    registry_stats  s;
    json_t         *r;

    (void) state;
    memset(&s, 0, sizeof(s));
    registry_stats_add(&s, "replay", 2);
    registry_stats_add(&s, "invalid_signature", 3);
    registry_stats_add(&s, "invalid_signature", 4);
    registry_stats_add(&s, "passed", 10);
    registry_stats_add(&s, "passed", -5);          /* ignored */
    registry_stats_add(&s, "stale_timestamp", 0);   /* ignored */
    assert_int_equal(s.passed, 10);
    assert_int_equal(s.failures, 9);
    assert_int_equal(s.n_reasons, 2);
    r = registry_health_recommendations(&s, 1700000000, 900);
    assert_int_equal(json_array_size(r), 2);
    /* the most frequent first */
    assert_non_null(strstr(json_string_value(json_array_get(r, 0)),
                           "invalid_signature (7 in the last 15 min): the "
                           "provider signs with a different secret"));
    assert_non_null(strstr(json_string_value(json_array_get(r, 1)),
                           "replay (2 in the last 15 min)"));
    json_decref(r);

    /* silence: no events for 7 hours; never since a registration of 8 h */
    memset(&s, 0, sizeof(s));
    s.last_event_at = 1700000000 - 7 * 3600;
    r = registry_health_recommendations(&s, 1700000000, 3600);
    assert_int_equal(json_array_size(r), 1);
    assert_non_null(strstr(json_string_value(json_array_get(r, 0)),
                           "no events for 7 hours"));
    json_decref(r);
    memset(&s, 0, sizeof(s));
    s.created_at = 1700000000 - 8 * 3600;
    r = registry_health_recommendations(&s, 1700000000, 3600);
    assert_non_null(strstr(json_string_value(json_array_get(r, 0)),
                           "no events since the registration 8 hours ago"));
    json_decref(r);
    s.last_event_at = 1700000000 - 60;
    r = registry_health_recommendations(&s, 1700000000, 3600);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
}


static void
test_id_and_secret(void **state)
{
    char           id[REGISTRY_ID_LEN + 1], id2[REGISTRY_ID_LEN + 1];
    char           secret[REGISTRY_SECRET_LEN + 1];
    unsigned char  raw[64];
    char           longest[66];
    size_t         i;
    int            n;

    (void) state;
    assert_int_equal(registry_new_id(id), 0);
    assert_int_equal(registry_new_id(id2), 0);
    assert_int_equal(strlen(id), 27);
    assert_memory_equal(id, "wh_", 3);
    for (i = 3; i < 27; i++) {
        assert_non_null(strchr("0123456789abcdef", id[i]));
    }
    assert_string_not_equal(id, id2);
    assert_true(registry_id_valid(id));

    assert_int_equal(registry_new_secret(secret), 0);
    assert_int_equal(strlen(secret), 50);
    assert_memory_equal(secret, "whsec_", 6);
    n = EVP_DecodeBlock(raw, (unsigned char *) secret + 6, 44);
    assert_int_equal(n - 1, 32);            /* one '=' of padding */
    assert_int_equal(secret[49], '=');

    assert_true(registry_id_valid("webhook-abc123"));
    assert_true(registry_id_valid("A_b-9"));
    assert_false(registry_id_valid(""));
    assert_false(registry_id_valid("a.b"));
    assert_false(registry_id_valid("a/b"));
    assert_false(registry_id_valid("a:b"));
    memset(longest, 'a', 65);
    longest[65] = '\0';
    assert_false(registry_id_valid(longest));
    longest[64] = '\0';
    assert_true(registry_id_valid(longest));
}


static void
hash_hex(const char *token, char out[65])
{
    sha256_hex(token, strlen(token), out);
}


static void
test_tokens(void **state)
{
    registry_tokens  t;
    char             err[200], h1[65], h2[65], text[512];

    (void) state;
    hash_hex("tok-a", h1);
    hash_hex("tok-b", h2);
    /* comments, blank lines, tabs, CRLF, upper-case hex */
    snprintf(text, sizeof(text), "# tenants\n\n  tenant-a %s\r\n"
             "tenant.b\t%c%s  \n", h1, h2[0] == 'a' ? 'A' : h2[0], h2 + 1);
    assert_int_equal(registry_tokens_parse(text, strlen(text), &t, err,
                                           sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(registry_tokens_tenant(&t, "Bearer tok-a"),
                        "tenant-a");
    assert_string_equal(registry_tokens_tenant(&t, "bearer  tok-b "),
                        "tenant.b");
    assert_null(registry_tokens_tenant(&t, "Bearer tok-c"));
    assert_null(registry_tokens_tenant(&t, "Basic tok-a"));
    assert_null(registry_tokens_tenant(&t, "Bearer "));
    assert_null(registry_tokens_tenant(&t, NULL));
    assert_null(registry_tokens_tenant(&t, h1));   /* the hash is no token */
    registry_tokens_free(&t);

#define REFUSED(txt, want)                                                    \
    do {                                                                      \
        assert_int_equal(registry_tokens_parse(txt, strlen(txt), &t, err,     \
                                               sizeof(err)), -1);             \
        assert_non_null(strstr(err, want));                                   \
    } while (0)

    REFUSED("tenant-a tok-a\n", "line 1: the hash must be 64 hex");
    snprintf(text, sizeof(text), "\n\nbad/tenant %s\n", h1);
    REFUSED(text, "line 3: tenant must be");
    snprintf(text, sizeof(text), "a %s extra\n", h1);
    REFUSED(text, "line 1: want");
    REFUSED("tenant-only\n", "line 1: want");
    snprintf(text, sizeof(text), "a %.63sg\n", h1);
    REFUSED(text, "64 hex");
    snprintf(text, sizeof(text), "a %s\nb %s\n", h1, h1);
    REFUSED(text, "line 2: this token hash is already listed");
    REFUSED("# only comments\n\n", "lists no token");
#undef REFUSED
}


static void
test_parse_create(void **state)
{
    registry_create_req  r;
    const char          *code;
    char                 msg[256];
    const char          *body;

    (void) state;
    body = "{\"connectionId\":\"c-1\",\"events\":[\"Contact.created\","
           "\"Contact.updated\",\"Contact.created\"]}";
    assert_int_equal(registry_parse_create("salesforce", body, strlen(body),
                                           &r, &code, msg, sizeof(msg)), 0);
    assert_string_equal(r.provider, "salesforce");
    assert_string_equal(r.connection, "c-1");
    assert_string_equal(r.events, "Contact.created,Contact.updated");
    registry_create_req_free(&r);

    body = "{\"connectionId\":\"c\",\"events\":[\"push\"],"
           "\"provider\":\"github\"}";
    assert_int_equal(registry_parse_create("gh-prod", body, strlen(body), &r,
                                           &code, msg, sizeof(msg)), 0);
    assert_string_equal(r.provider, "github");
    registry_create_req_free(&r);

#define REFUSED(integ, b, want)                                               \
    do {                                                                      \
        assert_int_equal(registry_parse_create(integ, b, strlen(b), &r,       \
                                               &code, msg, sizeof(msg)), 400);\
        assert_string_equal(code, want);                                      \
        registry_create_req_free(&r);                                         \
    } while (0)

    REFUSED("gh-prod", "{\"connectionId\":\"c\",\"events\":[\"push\"]}",
            "unsupported_provider");
    REFUSED("x", "{\"connectionId\":\"c\",\"events\":[\"a\"],"
            "\"provider\":\"hft71\"}", "unsupported_provider");
    REFUSED("a b", "{\"connectionId\":\"c\",\"events\":[\"a\"]}",
            "invalid_integration");
    REFUSED("stripe", "", "invalid_body");
    REFUSED("stripe", "{\"connectionId\":\"c\",\"events\":[\"a\"],\"x\":1}",
            "invalid_body");
    REFUSED("stripe", "{\"events\":[\"a\"]}", "invalid_connection_id");
    REFUSED("stripe", "{\"connectionId\":\"c\\n\",\"events\":[\"a\"]}",
            "invalid_connection_id");
    REFUSED("stripe", "{\"connectionId\":\"c\",\"events\":[]}",
            "invalid_events");
    REFUSED("stripe", "{\"connectionId\":\"c\",\"events\":[\"a,b\"]}",
            "invalid_events");
    REFUSED("stripe", "{\"connectionId\":\"c\",\"events\":[\"*\",\"a\"]}",
            "invalid_events");
#undef REFUSED
}


static void
test_parse_rotate(void **state)
{
    const char *code;
    char        msg[256];
    long        grace;

    (void) state;
    assert_int_equal(registry_parse_rotate("", 0, 86400, &grace, &code, msg,
                                           sizeof(msg)), 0);
    assert_int_equal(grace, 86400);
    assert_int_equal(registry_parse_rotate(" \n", 2, 86400, &grace, &code,
                                           msg, sizeof(msg)), 0);
    assert_int_equal(grace, 86400);
    assert_int_equal(registry_parse_rotate("{}", 2, 60, &grace, &code, msg,
                                           sizeof(msg)), 0);
    assert_int_equal(grace, 60);
    assert_int_equal(registry_parse_rotate("{\"graceSeconds\":0}", 18, 60,
                                           &grace, &code, msg, sizeof(msg)),
                     0);
    assert_int_equal(grace, 0);
    assert_int_equal(registry_parse_rotate("{\"graceSeconds\":604800}", 23,
                                           60, &grace, &code, msg,
                                           sizeof(msg)), 0);
    assert_int_equal(grace, 604800);
    assert_int_equal(registry_parse_rotate("{\"graceSeconds\":604801}", 23,
                                           60, &grace, &code, msg,
                                           sizeof(msg)), 400);
    assert_string_equal(code, "invalid_grace");
    assert_int_equal(registry_parse_rotate("{\"graceSeconds\":-1}", 19, 60,
                                           &grace, &code, msg, sizeof(msg)),
                     400);
    assert_int_equal(registry_parse_rotate("[]", 2, 60, &grace, &code, msg,
                                           sizeof(msg)), 400);
    assert_string_equal(code, "invalid_body");
}


static void
test_attest_r1(void **state)
{
    const char      *body = "{\"type\":\"payment_intent.succeeded\"}";
    char             msg[256], body_hex[65], mac[65], out[65];
    attest_headers   h;

    (void) state;
    /* built by hand, independent of attest_compute_registry */
    sha256_hex(body, strlen(body), body_hex);
    snprintf(msg, sizeof(msg), "r1:wh_0123:stripe:evt_1:1700000000:%s",
             body_hex);
    hmac_sha256_hex("edge", 4, msg, strlen(msg), mac);
    assert_int_equal(attest_compute_registry("edge", "wh_0123", "stripe",
                                             "evt_1", "1700000000", body,
                                             strlen(body), out), 0);
    assert_string_equal(out, mac);
    h.attestation = mac;
    h.edge_time = "1700000000";
    h.provider = "stripe";
    h.id = "evt_1";
    assert_int_equal(attest_verify_registry("edge", "wh_0123", &h, body,
                                            strlen(body), 1700000010, 300),
                     ATTEST_OK);
    /* another registration, or the v1 (non-registry) check */
    assert_int_equal(attest_verify_registry("edge", "wh_0124", &h, body,
                                            strlen(body), 1700000010, 300),
                     ATTEST_MISMATCH);
    assert_int_equal(attest_verify("edge", &h, body, strlen(body),
                                   1700000010, 300), ATTEST_MISMATCH);
    assert_int_equal(attest_verify_registry("edge", "wh_0123", &h, body,
                                            strlen(body), 1700000400, 300),
                     ATTEST_STALE);
    h.id = "";
    assert_int_equal(attest_verify_registry("edge", "wh_0123", &h, body,
                                            strlen(body), 1700000010, 300),
                     ATTEST_MISMATCH);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_thresholds),
        cmocka_unit_test(test_stats_and_recommendations),
        cmocka_unit_test(test_id_and_secret),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_parse_create),
        cmocka_unit_test(test_parse_rotate),
        cmocka_unit_test(test_attest_r1),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

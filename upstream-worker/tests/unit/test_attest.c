/* The edge attestation check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "attest.h"
#include "crypto.h"

#define SECRET "edge-secret"
#define BODY   "{\"orderId\":\"801000000000001AAA\"}"


static void
test_known_vector(void **state)
{
    char out[65], body_hex[65], mac[65];
    char msg[256];

    (void) state;
    /* independent of attest_compute: build the message by hand */
    sha256_hex(BODY, strlen(BODY), body_hex);
    snprintf(msg, sizeof(msg), "v1:salesforce:nonce-1:1700000000:%s", body_hex);
    assert_int_equal(hmac_sha256_hex(SECRET, strlen(SECRET), msg, strlen(msg),
                                     mac), 0);
    assert_int_equal(attest_compute(SECRET, "salesforce", "nonce-1",
                                    "1700000000", BODY, strlen(BODY), out), 0);
    assert_string_equal(out, mac);
    /* RFC 4231 test case 2 pins the HMAC itself */
    assert_int_equal(hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?",
                                     28, mac), 0);
    assert_string_equal(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739"
                             "839dec58b964ec3843");
}


static void
test_verify(void **state)
{
    char            good[65];
    attest_headers  h;
    time_t          now = 1700000100;

    (void) state;
    attest_compute(SECRET, "salesforce", "n1", "1700000000", BODY,
                   strlen(BODY), good);
    h.attestation = good;
    h.edge_time = "1700000000";
    h.provider = "salesforce";
    h.id = "n1";
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_OK);
    /* another body, provider, id or secret */
    assert_int_equal(attest_verify(SECRET, &h, "{}", 2, now, 300),
                     ATTEST_MISMATCH);
    h.provider = "github";
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_MISMATCH);
    h.provider = "salesforce";
    h.id = "n2";
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_MISMATCH);
    h.id = "n1";
    assert_int_equal(attest_verify("other", &h, BODY, strlen(BODY), now, 300),
                     ATTEST_MISMATCH);
    /* stale and future edge times */
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY),
                                   1700000301, 300), ATTEST_STALE);
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY),
                                   1700000300, 300), ATTEST_OK);
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY),
                                   1699999000, 300), ATTEST_STALE);
    /* missing and malformed */
    h.edge_time = "17e8";
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_BAD_TIME);
    h.edge_time = "1700000000";
    h.attestation = NULL;
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_MISSING);
    h.attestation = "abc";
    assert_int_equal(attest_verify(SECRET, &h, BODY, strlen(BODY), now, 300),
                     ATTEST_MISMATCH);
}


static void
test_empty_id(void **state)
{
    char            good[65];
    attest_headers  h = { NULL, "1700000000", "github", NULL };

    (void) state;
    attest_compute(SECRET, "github", "", "1700000000", "", 0, good);
    h.attestation = good;
    assert_int_equal(attest_verify(SECRET, &h, "", 0, 1700000000, 300),
                     ATTEST_OK);
    h.id = "";
    assert_int_equal(attest_verify(SECRET, &h, "", 0, 1700000000, 300),
                     ATTEST_OK);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_empty_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Failure classification, Retry-After and backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "retry.h"


static void
test_classify(void **state)
{
    (void) state;
    assert_int_equal(classify_http(CURLE_OK, 200), FAIL_NONE);
    assert_int_equal(classify_http(CURLE_OK, 204), FAIL_NONE);
    assert_int_equal(classify_http(CURLE_COULDNT_CONNECT, 0), FAIL_TRANSPORT);
    assert_int_equal(classify_http(CURLE_RECV_ERROR, 0), FAIL_TRANSPORT);
    assert_int_equal(classify_http(CURLE_OPERATION_TIMEDOUT, 0), FAIL_TIMEOUT);
    assert_int_equal(classify_http(CURLE_OK, 401), FAIL_AUTH);
    assert_int_equal(classify_http(CURLE_OK, 403), FAIL_AUTH);
    assert_int_equal(classify_http(CURLE_OK, 404), FAIL_NOT_FOUND);
    assert_int_equal(classify_http(CURLE_OK, 429), FAIL_RATE_LIMITED);
    assert_int_equal(classify_http(CURLE_OK, 500), FAIL_REMOTE_5XX);
    assert_int_equal(classify_http(CURLE_OK, 503), FAIL_REMOTE_5XX);
    assert_int_equal(classify_http(CURLE_OK, 400), FAIL_REMOTE_ERROR);
    assert_int_equal(classify_http(CURLE_OK, 422), FAIL_REMOTE_ERROR);
}


static void
test_retryable(void **state)
{
    (void) state;
    assert_true(failure_retryable(FAIL_TRANSPORT));
    assert_true(failure_retryable(FAIL_TIMEOUT));
    assert_true(failure_retryable(FAIL_AUTH));
    assert_true(failure_retryable(FAIL_NOT_FOUND));
    assert_true(failure_retryable(FAIL_RATE_LIMITED));
    assert_true(failure_retryable(FAIL_REMOTE_5XX));
    assert_false(failure_retryable(FAIL_NONE));
    assert_false(failure_retryable(FAIL_REMOTE_ERROR));
    assert_false(failure_retryable(FAIL_VALIDATION));
    assert_false(failure_retryable(FAIL_MAPPING));
    assert_true(failure_not_sent(CURLE_COULDNT_CONNECT));
    assert_false(failure_not_sent(CURLE_OPERATION_TIMEDOUT));
    assert_false(failure_not_sent(CURLE_RECV_ERROR));
    assert_string_equal(failure_class_name(FAIL_RATE_LIMITED), "rate_limited");
}


static void
test_retry_after(void **state)
{
    time_t now = 1700000000;   /* Tue, 14 Nov 2023 22:13:20 GMT */

    (void) state;
    assert_int_equal(parse_retry_after("7", now), 7);
    assert_int_equal(parse_retry_after(" 120", now), 120);
    assert_int_equal(parse_retry_after("0", now), 0);
    assert_int_equal(parse_retry_after(NULL, now), -1);
    assert_int_equal(parse_retry_after("", now), -1);
    assert_int_equal(parse_retry_after("soon", now), -1);
    assert_int_equal(parse_retry_after("Tue, 14 Nov 2023 22:14:00 GMT", now),
                     40);
    assert_int_equal(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now),
                     0);
}


static void
test_backoff(void **state)
{
    long d;
    int  attempt;

    (void) state;
    /* equal jitter: [delay/2, delay) around base * 2^(attempt-1) */
    assert_int_equal(backoff_delay_ms(1, 1000, 60000, -1, 0.0), 500);
    assert_in_range(backoff_delay_ms(1, 1000, 60000, -1, 0.999), 990, 999);
    assert_int_equal(backoff_delay_ms(2, 1000, 60000, -1, 0.0), 1000);
    assert_int_equal(backoff_delay_ms(3, 1000, 60000, -1, 0.0), 2000);
    assert_int_equal(backoff_delay_ms(4, 1000, 60000, -1, 0.5), 6000);
    /* capped */
    assert_int_equal(backoff_delay_ms(30, 1000, 60000, -1, 0.0), 30000);
    assert_in_range(backoff_delay_ms(1000, 1000, 60000, -1, 0.999),
                    59000, 60000);
    /* grows monotonically at a fixed jitter draw */
    for (attempt = 1, d = 0; attempt < 12; attempt++) {
        long next = backoff_delay_ms(attempt, 100, 100000, -1, 0.3);

        assert_true(next >= d);
        d = next;
    }
    /* Retry-After wins when longer, even over the cap; shorter is ignored */
    assert_int_equal(backoff_delay_ms(1, 1000, 60000, 5, 0.0), 5000);
    assert_int_equal(backoff_delay_ms(1, 1000, 2000, 5, 0.0), 5000);
    assert_int_equal(backoff_delay_ms(1, 1000, 60000, 7200, 0.0), 3600000);
    assert_int_equal(backoff_delay_ms(3, 1000, 60000, 1, 0.0), 2000);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

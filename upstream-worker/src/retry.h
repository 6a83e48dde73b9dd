/* Failure classification of outbound calls and retry backoff. */
#ifndef WORKER_RETRY_H
#define WORKER_RETRY_H

#include <time.h>

typedef enum {
    FAIL_NONE = 0,
    FAIL_TRANSPORT,     /* connect/reset/DNS */
    FAIL_TIMEOUT,
    FAIL_AUTH,          /* 401/403, invalid_grant */
    FAIL_NOT_FOUND,     /* 404 */
    FAIL_RATE_LIMITED,  /* 429 */
    FAIL_REMOTE_5XX,
    FAIL_REMOTE_ERROR,  /* the API answered but refused (4xx, result=error) */
    FAIL_VALIDATION,
    FAIL_MAPPING
} failure_class;

/* curl_code is a CURLcode (0 = a response arrived with http_status). */
failure_class classify_http(int curl_code, long http_status);
int failure_retryable(failure_class c);
const char *failure_class_name(failure_class c);
/* 1 when the request can not have reached the server (safe to resend). */
int failure_not_sent(int curl_code);

/* Retry-After: delta seconds or an HTTP-date; -1 when absent/invalid. */
long parse_retry_after(const char *value, time_t now);

#define RETRY_AFTER_MAX_S 3600

/*
 * Delay before attempt number `attempt` (1 = the first retry): exponential
 * from base_ms, capped at max_ms, "equal jitter" (half fixed, half random
 * from rand01 in [0,1)); a Retry-After wins when it is longer, even over
 * max_ms (up to RETRY_AFTER_MAX_S).
 */
long backoff_delay_ms(long attempt, long base_ms, long max_ms,
    long retry_after_s, double rand01);

/* A uniform draw in [0,1) from OpenSSL's RNG (0.5 if it fails): the
 * jitter for backoff_delay_ms. */
double retry_random01(void);

#endif

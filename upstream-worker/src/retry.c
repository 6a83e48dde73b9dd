#include "retry.h"

#include <stdint.h>

#include <openssl/rand.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>


failure_class
classify_http(int curl_code, long http_status)
{
    if (curl_code != CURLE_OK) {
        return curl_code == CURLE_OPERATION_TIMEDOUT ? FAIL_TIMEOUT
                                                     : FAIL_TRANSPORT;
    }
    if (http_status >= 200 && http_status < 300) {
        return FAIL_NONE;
    }
    if (http_status == 401 || http_status == 403) {
        return FAIL_AUTH;
    }
    if (http_status == 404) {
        return FAIL_NOT_FOUND;
    }
    if (http_status == 429) {
        return FAIL_RATE_LIMITED;
    }
    if (http_status == 408) {
        return FAIL_TIMEOUT;
    }
    if (http_status >= 500 && http_status < 600) {
        return FAIL_REMOTE_5XX;
    }
    return FAIL_REMOTE_ERROR;
}


int
failure_retryable(failure_class c)
{
    switch (c) {
    case FAIL_TRANSPORT:
    case FAIL_TIMEOUT:
    case FAIL_AUTH:
    case FAIL_NOT_FOUND:
    case FAIL_RATE_LIMITED:
    case FAIL_REMOTE_5XX:
        return 1;
    default:
        return 0;
    }
}


const char *
failure_class_name(failure_class c)
{
    static const char *names[] = {
        "none", "transport", "timeout", "auth", "not_found", "rate_limited",
        "remote_5xx", "remote_error", "validation", "mapping"
    };

    return (unsigned) c < sizeof(names) / sizeof(names[0]) ? names[c]
                                                           : "unknown";
}


int
failure_not_sent(int curl_code)
{
    return curl_code == CURLE_COULDNT_CONNECT
        || curl_code == CURLE_COULDNT_RESOLVE_HOST
        || curl_code == CURLE_COULDNT_RESOLVE_PROXY
        || curl_code == CURLE_UNSUPPORTED_PROTOCOL
        || curl_code == CURLE_URL_MALFORMAT;
}


long
parse_retry_after(const char *value, time_t now)
{
    const char *p;
    time_t      t;
    long        v;

    if (value == NULL) {
        return -1;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (*value == '\0') {
        return -1;
    }
    for (p = value; *p && isdigit((unsigned char) *p); p++) {
        /* void */
    }
    if (*p == '\0' || *p == ' ' || *p == '\r') {
        if (p - value > 9) {
            return -1;
        }
        v = strtol(value, NULL, 10);
        return v;
    }
    t = curl_getdate(value, NULL);
    if (t == (time_t) -1) {
        return -1;
    }
    return t > now ? (long) (t - now) : 0;
}


long
backoff_delay_ms(long attempt, long base_ms, long max_ms, long retry_after_s,
    double rand01)
{
    long  delay = base_ms;
    long  half;
    long  i;

    if (attempt < 1) {
        attempt = 1;
    }
    for (i = 1; i < attempt && delay < max_ms; i++) {
        delay *= 2;
    }
    if (delay > max_ms) {
        delay = max_ms;
    }
    if (rand01 < 0) {
        rand01 = 0;
    }
    if (rand01 >= 1) {
        rand01 = 0.999999;
    }
    half = delay / 2;
    delay = half + (long) ((double) (delay - half) * rand01);
    /* the server's word beats our cap, within reason */
    if (retry_after_s > RETRY_AFTER_MAX_S) {
        retry_after_s = RETRY_AFTER_MAX_S;
    }
    if (retry_after_s >= 0 && retry_after_s * 1000 > delay) {
        delay = retry_after_s * 1000;
    }
    return delay;
}


double
retry_random01(void)
{
    uint32_t v;

    if (RAND_bytes((unsigned char *) &v, sizeof(v)) != 1) {
        return 0.5;
    }
    return (double) v / 4294967296.0;
}

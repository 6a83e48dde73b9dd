#include "attest.h"
#include "crypto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>


int
attest_compute(const char *secret, const char *provider, const char *id,
    const char *edge_time, const void *body, size_t body_len, char *out)
{
    char    body_hex[HEX_SHA256_LEN + 1];
    char   *msg;
    size_t  n;
    int     rc;

    sha256_hex(body, body_len, body_hex);
    n = 3 + strlen(provider) + 1 + strlen(id) + 1 + strlen(edge_time) + 1
        + HEX_SHA256_LEN + 1;
    msg = malloc(n);
    if (msg == NULL) {
        return -1;
    }
    n = (size_t) snprintf(msg, n, "v1:%s:%s:%s:%s", provider, id, edge_time,
                          body_hex);
    rc = hmac_sha256_hex(secret, strlen(secret), msg, n, out);
    free(msg);
    return rc;
}


attest_result
attest_verify(const char *secret, const attest_headers *h, const void *body,
    size_t body_len, time_t now, long max_age_s)
{
    char       expected[HEX_SHA256_LEN + 1];
    char      *end;
    long long  t;

    if (h->attestation == NULL || h->edge_time == NULL || h->provider == NULL
        || h->attestation[0] == '\0' || h->provider[0] == '\0')
    {
        return ATTEST_MISSING;
    }
    errno = 0;
    t = strtoll(h->edge_time, &end, 10);
    if (errno != 0 || end == h->edge_time || *end != '\0'
        || !isdigit((unsigned char) h->edge_time[0]))
    {
        return ATTEST_BAD_TIME;
    }
    /* a little slack for clocks in the future, none for the past */
    if (t < (long long) now - max_age_s || t > (long long) now + 60) {
        return ATTEST_STALE;
    }
    if (strlen(h->attestation) != HEX_SHA256_LEN) {
        return ATTEST_MISMATCH;
    }
    if (attest_compute(secret, h->provider, h->id ? h->id : "", h->edge_time,
                       body, body_len, expected) != 0)
    {
        return ATTEST_MISMATCH;
    }
    if (CRYPTO_memcmp(expected, h->attestation, HEX_SHA256_LEN) != 0) {
        return ATTEST_MISMATCH;
    }
    return ATTEST_OK;
}


const char *
attest_result_message(attest_result r)
{
    switch (r) {
    case ATTEST_OK:
        return "ok";
    case ATTEST_MISSING:
        return "Edge attestation headers are missing";
    case ATTEST_BAD_TIME:
        return "Edge time is malformed";
    case ATTEST_STALE:
        return "Edge attestation is too old";
    case ATTEST_MISMATCH:
        return "Edge attestation does not match the request";
    }
    return "unknown";
}

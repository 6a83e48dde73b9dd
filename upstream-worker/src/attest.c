#include "attest.h"
#include "crypto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>


/* hex HMAC over tag ":" provider ":" id ":" edge_time ":" hex(sha256(body)) */
static int
mac_tagged(const char *secret, const char *tag, const char *provider,
    const char *id, const char *edge_time, const void *body, size_t body_len,
    char *out)
{
    char    body_hex[HEX_SHA256_LEN + 1];
    char   *msg;
    size_t  n;
    int     rc;

    sha256_hex(body, body_len, body_hex);
    n = strlen(tag) + 1 + strlen(provider) + 1 + strlen(id) + 1
        + strlen(edge_time) + 1 + HEX_SHA256_LEN + 1;
    msg = malloc(n);
    if (msg == NULL) {
        return -1;
    }
    n = (size_t) snprintf(msg, n, "%s:%s:%s:%s:%s", tag, provider, id,
                          edge_time, body_hex);
    rc = hmac_sha256_hex(secret, strlen(secret), msg, n, out);
    free(msg);
    return rc;
}


int
attest_compute(const char *secret, const char *provider, const char *id,
    const char *edge_time, const void *body, size_t body_len, char *out)
{
    return mac_tagged(secret, "v1", provider, id, edge_time, body, body_len,
                      out);
}


/* The registry's tag: "r1:" registration. */
static char *
registry_tag(const char *registration)
{
    size_t  n = 3 + strlen(registration) + 1;
    char   *tag = malloc(n);

    if (tag != NULL) {
        snprintf(tag, n, "r1:%s", registration);
    }
    return tag;
}


int
attest_compute_registry(const char *secret, const char *registration,
    const char *provider, const char *id, const char *edge_time,
    const void *body, size_t body_len, char *out)
{
    char *tag = registry_tag(registration);
    int   rc;

    if (tag == NULL) {
        return -1;
    }
    rc = mac_tagged(secret, tag, provider, id, edge_time, body, body_len, out);
    free(tag);
    return rc;
}


static attest_result
verify_tagged(const char *secret, const char *tag, const attest_headers *h,
    const void *body, size_t body_len, time_t now, long max_age_s)
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
    if (mac_tagged(secret, tag, h->provider, h->id ? h->id : "", h->edge_time,
                   body, body_len, expected) != 0)
    {
        return ATTEST_MISMATCH;
    }
    if (CRYPTO_memcmp(expected, h->attestation, HEX_SHA256_LEN) != 0) {
        return ATTEST_MISMATCH;
    }
    return ATTEST_OK;
}


attest_result
attest_verify(const char *secret, const attest_headers *h, const void *body,
    size_t body_len, time_t now, long max_age_s)
{
    return verify_tagged(secret, "v1", h, body, body_len, now, max_age_s);
}


attest_result
attest_verify_registry(const char *secret, const char *registration,
    const attest_headers *h, const void *body, size_t body_len, time_t now,
    long max_age_s)
{
    char          *tag = registry_tag(registration);
    attest_result  r;

    if (tag == NULL) {
        return ATTEST_MISMATCH;
    }
    r = verify_tagged(secret, tag, h, body, body_len, now, max_age_s);
    free(tag);
    return r;
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

/*
 * The edge module's attestation: lowercase hex HMAC-SHA256 keyed with
 * EDGE_ATTEST_SECRET over "v1:" provider ":" id ":" edge_time ":"
 * hex(SHA256(raw body)).
 */
#ifndef WORKER_ATTEST_H
#define WORKER_ATTEST_H

#include <stddef.h>
#include <time.h>

typedef enum {
    ATTEST_OK = 0,
    ATTEST_MISSING,
    ATTEST_BAD_TIME,
    ATTEST_STALE,
    ATTEST_MISMATCH
} attest_result;

typedef struct {
    const char *attestation;    /* X-Webhook-Attestation */
    const char *edge_time;      /* X-Webhook-Edge-Time */
    const char *provider;       /* X-Webhook-Provider */
    const char *id;             /* X-Webhook-Id, may be NULL (= "") */
} attest_headers;

attest_result attest_verify(const char *secret, const attest_headers *h,
    const void *body, size_t body_len, time_t now, long max_age_s);
const char *attest_result_message(attest_result r);
/* The value the edge would send; out has 65 bytes. */
int attest_compute(const char *secret, const char *provider, const char *id,
    const char *edge_time, const void *body, size_t body_len, char *out);

/*
 * A registry delivery (POST /webhooks/<id>, issue 14's contract): the same
 * MAC over "r1:" registration ":" provider ":" id ":" edge_time ":"
 * hex(SHA256(raw body)).
 */
attest_result attest_verify_registry(const char *secret,
    const char *registration, const attest_headers *h, const void *body,
    size_t body_len, time_t now, long max_age_s);
int attest_compute_registry(const char *secret, const char *registration,
    const char *provider, const char *id, const char *edge_time,
    const void *body, size_t body_len, char *out);

#endif

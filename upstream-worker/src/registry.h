/*
 * Webhook registrations (issue 14): ids, secrets and request bodies (pure
 * functions) and the records in Redis that the edge module reads
 * (contract: PREFIX "reg:" <id> hashes, "reg:rev", "reg:ids", the edge's
 * "regstat:" minute buckets and "reglast:" hashes, the tenant's
 * "deliveries:" streams). Every call takes the calling thread's queue
 * (its own Redis connection).
 */
#ifndef WORKER_REGISTRY_H
#define WORKER_REGISTRY_H

#include <stddef.h>

#include <jansson.h>

#include "queue.h"
#include "registry_health.h"

#define REGISTRY_ID_LEN         27          /* "wh_" + 24 hex */
#define REGISTRY_SECRET_LEN     50          /* "whsec_" + base64(32 bytes) */
#define REGISTRY_EVENTS_MAX     100
#define REGISTRY_EVENT_LEN      200
#define REGISTRY_RECENT_KEPT    20
#define REGISTRY_RECENT_SHOWN   10
#define REGISTRY_DELETED_TTL_S  (30 * 86400)
#define REGISTRY_GRACE_MAX_S    604800      /* a rotation's grace: 7 days */

int registry_new_id(char out[REGISTRY_ID_LEN + 1]);
int registry_new_secret(char out[REGISTRY_SECRET_LEN + 1]);
/* [A-Za-z0-9_-]{1,64}: a registration id, an integration id. */
int registry_id_valid(const char *s);
/* The edge's HMAC schemes a registration may name. */
int registry_provider_supported(const char *provider);

typedef struct {
    char   integration[65];
    char   connection[201];
    char   provider[16];
    char  *events;              /* comma-separated, malloc'd */
} registry_create_req;

/*
 * POST /integrations/{integration}/webhooks's body. 0, or 400 with *code
 * (the JSON error) and a message naming the field.
 */
int registry_parse_create(const char *integration, const char *body,
    size_t len, registry_create_req *out, const char **code, char *msg,
    size_t msg_len);
void registry_create_req_free(registry_create_req *r);
/* POST /webhooks/{id}/rotate's body: empty, or {"graceSeconds":N},
 * 0..REGISTRY_GRACE_MAX_S. 0 or 400 as above. */
int registry_parse_rotate(const char *body, size_t len, long def,
    long *grace, const char **code, char *msg, size_t msg_len);

/* -- the records in Redis (-1: Redis failed, queue_error says why) ------ */

/* 0 stored; 1 the id exists already (draw another); -1. */
int registry_create(queue *q, const char *prefix, const char *tenant,
    const registry_create_req *req, const char *id, const char *secret,
    long long now);
/*
 * The record as JSON strings plus "id"; NULL when there is none or it is
 * another tenant's (*failed = 0), or on error (*failed = 1). A secret_prev
 * whose grace has ended is removed from Redis on the way.
 */
json_t *registry_get(queue *q, const char *prefix, const char *tenant,
    const char *id, long long now, int *failed);
/* Every record of the tenant (array, created_at order); NULL on error. */
json_t *registry_list(queue *q, const char *prefix, const char *tenant);
/* 0 deleted; 1 was deleted already; 404; -1. */
int registry_delete(queue *q, const char *prefix, const char *tenant,
    const char *id, long long now);
/* 0 rotated (*grace_ends: 0 when no grace); 404; 409 deleted; -1. */
int registry_rotate(queue *q, const char *prefix, const char *tenant,
    const char *id, const char *secret, long long now, long grace_s,
    long long *grace_ends);
/* status active <-> disabled: 0 changed; 1 it was so already; 404; 409
 * deleted; -1. */
int registry_set_status(queue *q, const char *prefix, const char *tenant,
    const char *id, const char *status, long long now);
/* The newest deliveries' summaries (array), or NULL on error. */
json_t *registry_recent(queue *q, const char *prefix, const char *id,
    int count);
/* Fills stats[i] for ids[i] from the minute buckets inside the window and
 * reglast, pipelined; 0 or -1. */
int registry_stats_get(queue *q, const char *prefix, const char **ids,
    size_t n, long long now, long window_s, registry_stats *stats);
/* Registrations by status: active, disabled, deleted; 0 or -1. */
int registry_counts(queue *q, const char *prefix, long long counts[3]);

typedef struct {
    const char  *id;
    const char  *provider;      /* the attested X-Webhook-Provider, or NULL */
    const char  *event_type;    /* X-Webhook-Event-Type, may be "" */
    const char  *delivery_id;   /* X-Webhook-Id, may be "" */
    const char  *edge_time;     /* X-Webhook-Edge-Time, may be "" */
    const char  *body;
    size_t       len;
} registry_delivery;

/*
 * Checks the record and XADDs the delivery to PREFIX "deliveries:"
 * <tenant> ":" <integration>, then keeps a summary on PREFIX "reg:" <id>
 * ":recent", in one script. 0 queued (entry, provider set); 404 unknown;
 * 410 not active (status set); 409 the provider is not the
 * registration's; -1.
 */
int registry_deliver(queue *q, const char *prefix,
    const registry_delivery *d, long long now, char entry[64],
    char provider[16], char status[16]);

/* -- the API's JSON views ------------------------------------------------ */

/* "a,b" as ["a","b"] (new reference). */
json_t *registry_events_json(const char *events);
json_t *registry_view(const json_t *rec, const char *base_url,
    long long now);
/* st as counted; its created_at is taken from the record. */
json_t *registry_health_view(const json_t *rec, const registry_stats *st,
    long long now, long window_s);

#endif

#include "registry_http.h"
#include "http.h"
#include "attest.h"
#include "log.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

typedef enum {
    RR_CREATE,          /* POST   /integrations/{integrationId}/webhooks */
    RR_LIST,            /* GET    /webhooks */
    RR_SERVICE_HEALTH,  /* GET    /webhooks/health */
    RR_UNHEALTHY,       /* GET    /webhooks/unhealthy */
    RR_GET,             /* GET    /webhooks/{id} */
    RR_DELETE,          /* DELETE /webhooks/{id} */
    RR_DELIVER,         /* POST   /webhooks/{id} (from the edge) */
    RR_ROTATE,          /* POST   /webhooks/{id}/rotate */
    RR_HEALTH,          /* GET    /webhooks/{id}/health */
    RR_DISABLE,         /* POST   /webhooks/{id}/disable */
    RR_ENABLE,          /* POST   /webhooks/{id}/enable */
    RR_OTHER            /* no such path */
} rr_kind;

static const char *const endpoint_names[] = {
    "create", "list", "service_health", "unhealthy", "get", "delete",
    "delivery", "rotate", "health", "disable", "enable", "other"
};

typedef struct {
    const worker_config    *cfg;
    queue                  *q;
    metrics                *m;
    struct MHD_Connection  *conn;
    rr_kind                 kind;
    char                    id[129];    /* registration or integration id */
    const char             *tenant;
    long long               now;
} rr;


int
registry_http_path(const char *url)
{
    return strcmp(url, "/webhooks") == 0
        || strncmp(url, "/webhooks/", 10) == 0
        || strncmp(url, "/integrations/", 14) == 0;
}


static int
segment(const char *s, size_t n, char *out, size_t out_len)
{
    if (n == 0 || n >= out_len || memchr(s, '/', n) != NULL) {
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}


/* 0 with kind and id; 404; 405. */
static int
rr_route(const char *method, const char *url, rr_kind *kind, char *id,
    size_t id_len)
{
    int          get = strcmp(method, "GET") == 0
                       || strcmp(method, "HEAD") == 0;
    int          post = strcmp(method, "POST") == 0;
    const char  *rest, *slash;

    if (strncmp(url, "/integrations/", 14) == 0) {
        rest = url + 14;
        slash = strchr(rest, '/');
        if (slash == NULL || strcmp(slash, "/webhooks") != 0
            || segment(rest, (size_t) (slash - rest), id, id_len) != 0)
        {
            return 404;
        }
        *kind = RR_CREATE;
        return post ? 0 : 405;
    }
    if (strcmp(url, "/webhooks") == 0) {
        *kind = RR_LIST;
        return get ? 0 : 405;
    }
    rest = url + 10;                            /* after "/webhooks/" */
    if (strcmp(rest, "health") == 0) {
        *kind = RR_SERVICE_HEALTH;
        return get ? 0 : 405;
    }
    if (strcmp(rest, "unhealthy") == 0) {
        *kind = RR_UNHEALTHY;
        return get ? 0 : 405;
    }
    slash = strchr(rest, '/');
    if (segment(rest, slash ? (size_t) (slash - rest) : strlen(rest), id,
                id_len) != 0 || !registry_id_valid(id))
    {
        return 404;
    }
    if (slash == NULL) {
        if (get) {
            *kind = RR_GET;
        } else if (strcmp(method, "DELETE") == 0) {
            *kind = RR_DELETE;
        } else if (post) {
            *kind = RR_DELIVER;
        } else {
            *kind = RR_GET;
            return 405;
        }
        return 0;
    }
    if (strcmp(slash, "/rotate") == 0) {
        *kind = RR_ROTATE;
        return post ? 0 : 405;
    }
    if (strcmp(slash, "/health") == 0) {
        *kind = RR_HEALTH;
        return get ? 0 : 405;
    }
    if (strcmp(slash, "/disable") == 0 || strcmp(slash, "/enable") == 0) {
        *kind = slash[1] == 'd' ? RR_DISABLE : RR_ENABLE;
        return post ? 0 : 405;
    }
    return 404;
}


/* Takes body. */
static enum MHD_Result
reply(rr *r, unsigned status, json_t *body)
{
    char code[8];

    snprintf(code, sizeof(code), "%u", status);
    metrics_commerce(r->m, MC_REGISTRY_REQUEST, endpoint_names[r->kind],
                     code);
    if (status == 401 && r->kind != RR_DELIVER) {
        return http_send_json(r->conn, status, body, "WWW-Authenticate",
                              "Bearer realm=\"webhook-registry\"");
    }
    return http_send_json(r->conn, status, body, NULL, NULL);
}


/* A refused request: one log line (never the body, a token or a secret). */
static enum MHD_Result
refuse(rr *r, unsigned status, const char *code, const char *message)
{
    log_json(status >= 500 ? "error" : "warn",
             status >= 500 ? "registry_unavailable" : "registry_rejected",
             json_pack("{s:s,s:i,s:s,s:s,s:s?,s:s?}", "endpoint",
                       endpoint_names[r->kind], "status", (int) status,
                       "error", code, "message", message, "tenant", r->tenant,
                       "registration_id",
                       r->kind >= RR_GET && r->kind != RR_OTHER ? r->id
                                                                : NULL));
    return reply(r, status, json_pack("{s:s,s:s}", "error", code, "message",
                                      message));
}


static enum MHD_Result
unavailable(rr *r)
{
    log_json("error", "registry_unavailable",
             json_pack("{s:s,s:s}", "endpoint", endpoint_names[r->kind],
                       "message", queue_error(r->q)));
    return reply(r, 503, json_pack("{s:s,s:s}", "error", "queue_unavailable",
                                   "message", "The registry store is "
                                   "unreachable; retry later"));
}


static enum MHD_Result
not_found(rr *r)
{
    return refuse(r, 404, "not_found", "No such registration");
}


static const char *
prefix(const rr *r)
{
    return r->cfg->registry_prefix;
}


static const char *
query(const rr *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}


static enum MHD_Result
handle_create(rr *r, const char *body, size_t len)
{
    registry_create_req  req;
    const char          *code;
    char                 msg[256], id[REGISTRY_ID_LEN + 1];
    char                 secret[REGISTRY_SECRET_LEN + 1], url[512];
    int                  rc, tries;
    json_t              *v;
    enum MHD_Result      ret;

    if (registry_parse_create(r->id, body, len, &req, &code, msg,
                              sizeof(msg)) != 0)
    {
        registry_create_req_free(&req);
        return refuse(r, 400, code, msg);
    }
    if (registry_new_secret(secret) != 0) {
        registry_create_req_free(&req);
        return refuse(r, 500, "internal_error", "No randomness for a secret");
    }
    rc = 1;
    for (tries = 0; rc == 1 && tries < 3; tries++) {
        if (registry_new_id(id) != 0) {
            rc = -2;
            break;
        }
        rc = registry_create(r->q, prefix(r), r->tenant, &req, id, secret,
                             r->now);
    }
    if (rc != 0) {
        registry_create_req_free(&req);
        OPENSSL_cleanse(secret, sizeof(secret));
        return rc == -1 ? unavailable(r)
                        : refuse(r, 500, "internal_error",
                                 "Could not draw a free registration id");
    }
    log_json("info", "registry_created",
             json_pack("{s:s,s:s,s:s,s:s,s:s}", "registration_id", id,
                       "tenant", r->tenant, "integration", req.integration,
                       "provider", req.provider, "events", req.events));
    snprintf(url, sizeof(url), "%s/webhooks/%s", r->cfg->registry_base_url,
             id);
    v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}",
                  "registrationId", id, "webhookUrl", url,
                  "webhookSecret", secret, "status", "active",
                  "integrationId", req.integration,
                  "connectionId", req.connection, "provider", req.provider,
                  "createdAt", (json_int_t) r->now);
    json_object_set_new(v, "events", registry_events_json(req.events));
    registry_create_req_free(&req);
    OPENSSL_cleanse(secret, sizeof(secret));
    ret = reply(r, 201, v);
    return ret;
}


/* The record if it exists and is the tenant's; else the answer is queued
 * (*ret) and NULL returned. */
static json_t *
own_record(rr *r, enum MHD_Result *ret)
{
    int     failed;
    json_t *rec = registry_get(r->q, prefix(r), r->tenant, r->id, r->now,
                               &failed);

    if (rec == NULL) {
        *ret = failed ? unavailable(r) : not_found(r);
    }
    return rec;
}


static enum MHD_Result
handle_get(rr *r)
{
    enum MHD_Result  ret;
    json_t          *rec = own_record(r, &ret), *v, *recent;

    if (rec == NULL) {
        return ret;
    }
    recent = registry_recent(r->q, prefix(r), r->id, REGISTRY_RECENT_SHOWN);
    if (recent == NULL) {
        json_decref(rec);
        return unavailable(r);
    }
    v = registry_view(rec, r->cfg->registry_base_url, r->now);
    json_decref(rec);
    json_object_set_new(v, "recentDeliveries", recent);
    return reply(r, 200, v);
}


static enum MHD_Result
handle_list(rr *r)
{
    const char  *integration = query(r, "integration");
    const char  *status = query(r, "status");
    json_t      *all, *out, *rec;
    size_t       i;

    if (integration != NULL && !registry_id_valid(integration)) {
        return refuse(r, 400, "invalid_filter",
                      "integration must be 1-64 of [A-Za-z0-9_-]");
    }
    if (status != NULL && strcmp(status, "active") != 0
        && strcmp(status, "disabled") != 0 && strcmp(status, "deleted") != 0)
    {
        return refuse(r, 400, "invalid_filter",
                      "status must be active, disabled or deleted");
    }
    all = registry_list(r->q, prefix(r), r->tenant);
    if (all == NULL) {
        return unavailable(r);
    }
    out = json_array();
    json_array_foreach(all, i, rec) {
        const char *ri = json_string_value(json_object_get(rec,
                                                           "integration"));
        const char *rs = json_string_value(json_object_get(rec, "status"));

        if ((integration != NULL && (ri == NULL || strcmp(ri, integration)))
            || (status != NULL && (rs == NULL || strcmp(rs, status))))
        {
            continue;
        }
        json_array_append_new(out, registry_view(rec,
                                                 r->cfg->registry_base_url,
                                                 r->now));
    }
    json_decref(all);
    return reply(r, 200, json_pack("{s:I,s:o}", "count",
                                   (json_int_t) json_array_size(out),
                                   "webhooks", out));
}


static enum MHD_Result
handle_delete(rr *r)
{
    int rc = registry_delete(r->q, prefix(r), r->tenant, r->id, r->now);

    if (rc < 0) {
        return unavailable(r);
    }
    if (rc == 404) {
        return not_found(r);
    }
    if (rc == 0) {
        log_json("info", "registry_deleted",
                 json_pack("{s:s,s:s}", "registration_id", r->id, "tenant",
                           r->tenant));
    }
    return reply(r, 200, json_pack("{s:s,s:s,s:b}", "registrationId", r->id,
                                   "status", "deleted", "alreadyDeleted",
                                   rc == 1));
}


static enum MHD_Result
handle_status(rr *r)
{
    const char *status = r->kind == RR_DISABLE ? "disabled" : "active";
    int         rc = registry_set_status(r->q, prefix(r), r->tenant, r->id,
                                         status, r->now);

    if (rc < 0) {
        return unavailable(r);
    }
    if (rc == 404) {
        return not_found(r);
    }
    if (rc == 409) {
        return refuse(r, 409, "registration_deleted",
                      "A deleted registration cannot be enabled or "
                      "disabled");
    }
    if (rc == 0) {
        log_json("info", "registry_status_changed",
                 json_pack("{s:s,s:s,s:s}", "registration_id", r->id,
                           "tenant", r->tenant, "status", status));
    }
    return reply(r, 200, json_pack("{s:s,s:s,s:b}", "registrationId", r->id,
                                   "status", status, "changed", rc == 0));
}


static enum MHD_Result
handle_rotate(rr *r, const char *body, size_t len)
{
    const char  *code;
    char         msg[256], secret[REGISTRY_SECRET_LEN + 1];
    long         grace;
    long long    ends = 0;
    int          rc;
    json_t      *v;

    if (registry_parse_rotate(body, len, r->cfg->registry_rotate_grace_s,
                              &grace, &code, msg, sizeof(msg)) != 0)
    {
        return refuse(r, 400, code, msg);
    }
    if (registry_new_secret(secret) != 0) {
        return refuse(r, 500, "internal_error", "No randomness for a secret");
    }
    rc = registry_rotate(r->q, prefix(r), r->tenant, r->id, secret, r->now,
                         grace, &ends);
    if (rc != 0) {
        OPENSSL_cleanse(secret, sizeof(secret));
        if (rc == 404) {
            return not_found(r);
        }
        if (rc == 409) {
            return refuse(r, 409, "registration_deleted",
                          "A deleted registration cannot be rotated");
        }
        return unavailable(r);
    }
    log_json("info", "registry_rotated",
             json_pack("{s:s,s:s,s:I}", "registration_id", r->id, "tenant",
                       r->tenant, "grace_s", (json_int_t) grace));
    v = json_pack("{s:s,s:s,s:I,s:o}", "registrationId", r->id,
                  "webhookSecret", secret, "graceSeconds", (json_int_t) grace,
                  "rotationGraceEndsAt",
                  ends > 0 ? json_integer(ends) : json_null());
    OPENSSL_cleanse(secret, sizeof(secret));
    return reply(r, 200, v);
}


static enum MHD_Result
handle_health(rr *r)
{
    enum MHD_Result  ret;
    registry_stats   st;
    json_t          *rec = own_record(r, &ret), *v;
    const char      *ids[1] = { r->id };

    if (rec == NULL) {
        return ret;
    }
    if (registry_stats_get(r->q, prefix(r), ids, 1, r->now,
                           r->cfg->registry_health_window_s, &st) != 0)
    {
        json_decref(rec);
        return unavailable(r);
    }
    v = registry_health_view(rec, &st, r->now,
                             r->cfg->registry_health_window_s);
    json_decref(rec);
    return reply(r, 200, v);
}


/* Health of every active registration of the tenant: an array of views,
 * NULL on error. */
static json_t *
tenant_health(rr *r, json_t **all_out)
{
    json_t          *all = registry_list(r->q, prefix(r), r->tenant), *rec;
    json_t          *out;
    const char     **ids;
    registry_stats  *st;
    size_t           i, n = 0;

    *all_out = all;
    if (all == NULL) {
        return NULL;
    }
    ids = calloc(json_array_size(all) + 1, sizeof(*ids));
    st = calloc(json_array_size(all) + 1, sizeof(*st));
    out = json_array();
    if (ids == NULL || st == NULL || out == NULL) {
        free(ids);
        free(st);
        json_decref(out);
        return NULL;
    }
    json_array_foreach(all, i, rec) {
        if (strcmp(json_string_value(json_object_get(rec, "status")) ?: "",
                   "active") == 0)
        {
            ids[n++] = json_string_value(json_object_get(rec, "id"));
        }
    }
    if (registry_stats_get(r->q, prefix(r), ids, n, r->now,
                           r->cfg->registry_health_window_s, st) != 0)
    {
        free(ids);
        free(st);
        json_decref(out);
        return NULL;
    }
    n = 0;
    json_array_foreach(all, i, rec) {
        if (strcmp(json_string_value(json_object_get(rec, "status")) ?: "",
                   "active") != 0)
        {
            continue;
        }
        json_array_append_new(out, registry_health_view(rec, &st[n], r->now,
                                  r->cfg->registry_health_window_s));
        n++;
    }
    free(ids);
    free(st);
    return out;
}


static enum MHD_Result
handle_unhealthy(rr *r)
{
    json_t  *all, *views = tenant_health(r, &all), *out, *v;
    size_t   i;

    json_decref(all);
    if (views == NULL) {
        return unavailable(r);
    }
    out = json_array();
    json_array_foreach(views, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "status")),
                   "healthy") != 0)
        {
            json_array_append(out, v);
        }
    }
    json_decref(views);
    return reply(r, 200, json_pack("{s:I,s:I,s:o}", "count",
                                   (json_int_t) json_array_size(out),
                                   "windowSeconds", (json_int_t)
                                   r->cfg->registry_health_window_s,
                                   "webhooks", out));
}


static enum MHD_Result
handle_service_health(rr *r)
{
    json_t      *all, *views = tenant_health(r, &all), *v, *rec;
    long long    by_health[3] = { 0, 0, 0 }, active = 0, disabled = 0;
    long long    deleted = 0;
    size_t       i;
    const char  *s;

    if (views == NULL) {
        json_decref(all);
        return unavailable(r);
    }
    json_array_foreach(all, i, rec) {
        s = json_string_value(json_object_get(rec, "status"));
        s = s ? s : "";
        active += strcmp(s, "active") == 0;
        disabled += strcmp(s, "disabled") == 0;
        deleted += strcmp(s, "deleted") == 0;
    }
    json_array_foreach(views, i, v) {
        s = json_string_value(json_object_get(v, "status"));
        by_health[strcmp(s, "failed") == 0 ? HEALTH_FAILED
                  : strcmp(s, "degraded") == 0 ? HEALTH_DEGRADED
                  : HEALTH_HEALTHY]++;
    }
    v = json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:I,s:I}",
                  "status", by_health[HEALTH_FAILED] ? "failed"
                            : by_health[HEALTH_DEGRADED] ? "degraded"
                            : "healthy",
                  "redis", "connected", "tenant", r->tenant,
                  "registrations", "active", (json_int_t) active,
                  "disabled", (json_int_t) disabled,
                  "deleted", (json_int_t) deleted,
                  "health", "healthy", (json_int_t) by_health[HEALTH_HEALTHY],
                  "degraded", (json_int_t) by_health[HEALTH_DEGRADED],
                  "failed", (json_int_t) by_health[HEALTH_FAILED],
                  "unhealthy", (json_int_t) (by_health[HEALTH_DEGRADED]
                                             + by_health[HEALTH_FAILED]),
                  "windowSeconds",
                  (json_int_t) r->cfg->registry_health_window_s);
    json_decref(all);
    json_decref(views);
    return reply(r, 200, v);
}


static const char *
header(const rr *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}


/* printable ASCII, at most max bytes; NULL = "" */
static const char *
header_text(const rr *r, const char *name, size_t max, int *bad)
{
    const char *v = header(r, name);
    size_t      i, n;

    if (v == NULL) {
        return "";
    }
    n = strlen(v);
    for (i = 0; i < n; i++) {
        if (v[i] < 0x20 || v[i] > 0x7e) {
            break;
        }
    }
    if (i != n || n > max) {
        *bad = 1;
    }
    return v;
}


static enum MHD_Result
handle_deliver(rr *r, const char *body, size_t len)
{
    registry_delivery  d;
    attest_headers     ah;
    attest_result      ar;
    const char        *reg_header;
    char               entry[64] = "", provider[16] = "", status[16] = "";
    char               msg[160];
    int                rc, bad = 0;

    memset(&d, 0, sizeof(d));
    d.id = r->id;
    d.body = body;
    d.len = len;
    d.event_type = header_text(r, "X-Webhook-Event-Type", 200, &bad);
    d.delivery_id = header_text(r, "X-Webhook-Id", 256, &bad);
    d.edge_time = header_text(r, "X-Webhook-Edge-Time", 20, &bad);
    reg_header = header(r, "X-Webhook-Registration");
    if (r->cfg->edge_attest_secret != NULL) {
        ah.attestation = header(r, "X-Webhook-Attestation");
        ah.edge_time = header(r, "X-Webhook-Edge-Time");
        ah.provider = header(r, "X-Webhook-Provider");
        ah.id = header(r, "X-Webhook-Id");
        ar = attest_verify_registry(r->cfg->edge_attest_secret, r->id, &ah,
                                    body, len, time(NULL),
                                    r->cfg->attest_max_age_s);
        if (ar == ATTEST_OK && reg_header != NULL
            && strcmp(reg_header, r->id) != 0)
        {
            ar = ATTEST_MISMATCH;
        }
        if (ar != ATTEST_OK) {
            log_json("warn", "attestation_refused",
                     json_pack("{s:s,s:s,s:s}", "endpoint", "registry",
                               "registration_id", r->id, "reason",
                               attest_result_message(ar)));
            return reply(r, 401, json_pack("{s:s,s:s}", "error",
                                           "attestation_invalid", "message",
                                           attest_result_message(ar)));
        }
        d.provider = ah.provider;
    }
    if (bad) {
        return refuse(r, 400, "invalid_request",
                      "X-Webhook-Event-Type, X-Webhook-Id or "
                      "X-Webhook-Edge-Time is not short printable text");
    }
    rc = registry_deliver(r->q, prefix(r), &d, r->now, entry, provider,
                          status);
    if (rc < 0) {
        return unavailable(r);
    }
    if (rc == 404) {
        return refuse(r, 404, "unknown_registration",
                      "No such registration");
    }
    if (rc == 410) {
        snprintf(msg, sizeof(msg), "The registration is %s", status);
        return refuse(r, 410, "registration_disabled", msg);
    }
    if (rc == 409) {
        return refuse(r, 401, "attestation_invalid",
                      "the attestation is for another provider than the "
                      "registration's");
    }
    metrics_commerce(r->m, MC_REGISTRY_QUEUED, provider, NULL);
    log_json("info", "registry_delivery_queued",
             json_pack("{s:s,s:s,s:s,s:s}", "registration_id", r->id,
                       "entry_id", entry, "event_type", d.event_type,
                       "delivery_id", d.delivery_id));
    return reply(r, 202, json_pack("{s:s,s:s,s:s}", "status", "queued",
                                   "registrationId", r->id, "entryId",
                                   entry));
}


enum MHD_Result
registry_http_dispatch(const worker_config *cfg, queue *q, metrics *m,
    struct MHD_Connection *conn, const char *method, const char *url,
    const char *body, size_t len, int too_large)
{
    rr   r;
    int  rc;

    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.q = q;
    r.m = m;
    r.conn = conn;
    r.now = (long long) time(NULL);
    r.kind = RR_OTHER;
    rc = rr_route(method, url, &r.kind, r.id, sizeof(r.id));
    if (rc == 404) {
        return refuse(&r, 404, "not_found", "No such endpoint");
    }
    if (rc == 405) {
        return refuse(&r, 405, "method_not_allowed",
                      "Method not allowed here");
    }
    if (too_large) {
        return refuse(&r, 413, "body_too_large",
                      "The body is larger than 64 KiB");
    }
    if (r.kind == RR_DELIVER) {
        /* the edge's attestation, not a tenant's token */
        return handle_deliver(&r, body, len);
    }
    r.tenant = registry_tokens_tenant(&cfg->registry_tokens,
                                      header(&r, "Authorization"));
    if (r.tenant == NULL) {
        return refuse(&r, 401, "unauthorized",
                      header(&r, "Authorization") == NULL
                      ? "Authorization: Bearer <token> is required"
                      : "The bearer token is not valid");
    }
    switch (r.kind) {
    case RR_CREATE:
        return handle_create(&r, body, len);
    case RR_LIST:
        return handle_list(&r);
    case RR_SERVICE_HEALTH:
        return handle_service_health(&r);
    case RR_UNHEALTHY:
        return handle_unhealthy(&r);
    case RR_GET:
        return handle_get(&r);
    case RR_DELETE:
        return handle_delete(&r);
    case RR_ROTATE:
        return handle_rotate(&r, body, len);
    case RR_HEALTH:
        return handle_health(&r);
    case RR_DISABLE:
    case RR_ENABLE:
        return handle_status(&r);
    default:
        return not_found(&r);
    }
}


char *
registry_metrics_append(char *text, const worker_config *cfg, queue *q)
{
    static const char *names[3] = { "active", "disabled", "deleted" };
    long long          counts[3];
    size_t             len, cap;
    char              *grown;
    int                i;

    if (text == NULL || registry_counts(q, cfg->registry_prefix, counts) != 0)
    {
        return text;
    }
    len = strlen(text);
    cap = len + 512;
    grown = realloc(text, cap);
    if (grown == NULL) {
        return text;
    }
    len += (size_t) snprintf(grown + len, cap - len,
        "# HELP webhook_worker_registry_registrations Registrations by "
        "status (all processes, from Redis).\n"
        "# TYPE webhook_worker_registry_registrations gauge\n");
    for (i = 0; i < 3; i++) {
        len += (size_t) snprintf(grown + len, cap - len,
                                 "webhook_worker_registry_registrations"
                                 "{status=\"%s\"} %lld\n", names[i],
                                 counts[i]);
    }
    return grown;
}

#include "http.h"
#include "clock.h"
#include "attest.h"
#include "intake.h"
#include "log.h"
#include "queue.h"
#include "clients/whmcs.h"
#include "events.h"
#include "jobs/fulfill.h"
#include "jobs/commerce.h"
#include "jobs/stock.h"
#include "jobs/stock_plan.h"
#include "commerce_intake.h"
#include "crypto.h"
#include "registry_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <pthread.h>

#define BODY_MAX (64 * 1024)

/*
 * What one of MHD's intake threads works with: its own Redis connection
 * and its own curl handle for the payment-method pre-check, so the
 * threads never wait for each other. With appendfsync always, Redis
 * fsyncs once for all the jobs that arrived in one of its event loop
 * iterations: concurrent intakes share an fsync instead of queueing
 * behind one another.
 */
typedef struct {
    const worker_config *cfg;
    metrics             *metrics;
    queue               *queue;
    outbound            *precheck_http;
    whmcs               *precheck_whmcs;
    commerce_env        *commerce;      /* /hft71/resend, /stock/drift:
                                           made on use */
} intake_thread;

struct http_server {
    const worker_config *cfg;
    intake_thread       *threads;       /* WORKER_INTAKE_THREADS of them */
    size_t               nthreads;
    size_t               claimed;       /* under lock */
    pthread_mutex_t      lock;
    pthread_key_t        key;           /* an MHD thread -> its threads[i] */
    int                  key_made;
    struct MHD_Daemon   *daemon;
    int                  listen_fd;
};

typedef struct {
    char    *body;
    size_t   len;
    size_t   cap;
    int      too_large;
} request_state;



static enum MHD_Result
send_text(struct MHD_Connection *conn, unsigned status, const char *type,
    char *text, const char *retry_after, const char *hname,
    const char *hvalue)
{
    struct MHD_Response *resp;
    enum MHD_Result      rc;

    resp = MHD_create_response_from_buffer(strlen(text), text,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (retry_after != NULL) {
        MHD_add_response_header(resp, "Retry-After", retry_after);
    }
    if (hname != NULL && hvalue != NULL) {
        MHD_add_response_header(resp, hname, hvalue);
    }
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}


/* Takes ownership of body; hname/hvalue: one more header, or NULL. */
static enum MHD_Result
send_json_header(struct MHD_Connection *conn, unsigned status, json_t *body,
    const char *retry_after, const char *hname, const char *hvalue)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(body);
    if (text == NULL) {
        return MHD_NO;
    }
    return send_text(conn, status, "application/json", text, retry_after,
                     hname, hvalue);
}


static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
    const char *retry_after, const char *location)
{
    return send_json_header(conn, status, body, retry_after, "Location",
                            location);
}


enum MHD_Result
http_send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
    const char *hname, const char *hvalue)
{
    return send_json_header(conn, status, body, status == 503 ? "5" : NULL,
                            hname, hvalue);
}


static enum MHD_Result
send_error(struct MHD_Connection *conn, unsigned status, const char *code,
    const char *message)
{
    return send_json(conn, status,
                     json_pack("{s:s,s:s}", "error", code, "message", message),
                     status == 503 ? "5" : NULL, NULL);
}


static const char *
header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}


/* The job hash (strings) as the API's typed JSON view. */
static json_t *
job_view(queue *q, const char *job_id, json_t *h)
{
    static const char *text_fields[] = {
        "status", "type", "order_id", "correlation_id", "whmcs_order_id",
        "service_ids", "invoice_id", "error_code", "error_message",
        "skip_reason", "active_job", NULL
    };
    static const char *int_fields[] = {
        "attempts", "created_ms", "updated_ms", "next_attempt_ms",
        "finished_ms", NULL
    };
    json_t      *v = json_object();
    const char  *s;
    int          i;

    json_object_set_new(v, "job_id", json_string(job_id));
    for (i = 0; text_fields[i]; i++) {
        s = json_string_value(json_object_get(h, text_fields[i]));
        if (s != NULL && s[0] != '\0') {
            json_object_set_new(v, text_fields[i], json_string(s));
        }
    }
    for (i = 0; int_fields[i]; i++) {
        s = json_string_value(json_object_get(h, int_fields[i]));
        if (s != NULL && s[0] != '\0') {
            json_object_set_new(v, int_fields[i],
                                json_integer(strtoll(s, NULL, 10)));
        }
    }
    s = json_string_value(json_object_get(h, "last_step"));
    if (s != NULL && fulfill_step_name(atoi(s)) != NULL) {
        json_object_set_new(v, "last_step", json_string(fulfill_step_name(atoi(s))));
    }
    json_object_set_new(v, "steps", queue_job_steps(q, job_id));
    return v;
}


static const char *
portal_status(const char *job_status, const char *skip_reason)
{
    if (strcmp(job_status, "SUCCEEDED") == 0) {
        return "Provisioned";
    }
    if (strcmp(job_status, "FAILED") == 0 || strcmp(job_status, "DEAD") == 0) {
        return "Failed";
    }
    if (strcmp(job_status, "NEEDS_REVIEW") == 0) {
        return "Needs Review";
    }
    if (strcmp(job_status, "SKIPPED") == 0) {
        if (skip_reason && strcmp(skip_reason, "already_provisioned") == 0) {
            return "Provisioned";
        }
        return skip_reason && strcmp(skip_reason, "another_job_active") == 0
               ? "Activating" : "Not Activating";
    }
    return "Activating";
}


/*
 * The runbook's 409: a customer without a WHMCS payment method is refused
 * before a job exists, when the request names its WHMCS client. 1 refuse,
 * 0 go on (also when WHMCS cannot tell: the job checks again).
 */
static int
payment_method_missing(intake_thread *s, const intake_request *req)
{
    char          client[24];
    const char   *params[] = { "clientid", client, NULL };
    call_outcome  o;
    json_t       *res;
    int           missing = 0;
    size_t        i;
    json_t       *m;

    if (req->whmcs_client_id <= 0) {
        return 0;
    }
    snprintf(client, sizeof(client), "%lld", req->whmcs_client_id);
    o = whmcs_call(s->precheck_whmcs, "GetPayMethods", params, &res);
    if (o.cls != FAIL_NONE) {
        log_json("warn", "precheck_skipped",
                 json_pack("{s:s,s:s}", "order_id", req->order_id, "message",
                           o.message));
        return 0;
    }
    missing = 1;
    json_array_foreach(json_object_get(res, "paymethods"), i, m) {
        const char *g = json_string_value(json_object_get(m, "gateway_name"));

        if (g != NULL && g[0] != '\0') {
            missing = 0;
        }
    }
    json_decref(res);
    return missing;
}


/*
 * With EDGE_ATTEST_SECRET set, an intake request must carry the edge's
 * attestation (for provider, when not NULL). 1 when it does not: the 401
 * is queued in *ret.
 */
static int
refuse_unattested(intake_thread *s, struct MHD_Connection *conn,
    const request_state *st, const char *endpoint, const char *provider,
    enum MHD_Result *ret)
{
    attest_headers  ah;
    attest_result   ar;
    const char     *why;

    if (s->cfg->edge_attest_secret == NULL) {
        return 0;
    }
    ah.attestation = header(conn, "X-Webhook-Attestation");
    ah.edge_time = header(conn, "X-Webhook-Edge-Time");
    ah.provider = header(conn, "X-Webhook-Provider");
    ah.id = header(conn, "X-Webhook-Id");
    ar = attest_verify(s->cfg->edge_attest_secret, &ah, st->body, st->len,
                       time(NULL), s->cfg->attest_max_age_s);
    why = attest_result_message(ar);
    if (ar == ATTEST_OK) {
        if (provider == NULL
            || (ah.provider != NULL && strcmp(ah.provider, provider) == 0))
        {
            return 0;
        }
        why = "the attestation is for another provider";
    }
    log_json("warn", "attestation_refused",
             json_pack("{s:s,s:s}", "endpoint", endpoint, "reason", why));
    metrics_intake(s->metrics, endpoint, 401);
    *ret = send_error(conn, 401, "attestation_invalid", why);
    return 1;
}


static enum MHD_Result
handle_intake(intake_thread *s, struct MHD_Connection *conn, const route *rt,
    request_state *st)
{
    enum MHD_Result ret;
    intake_request  req;
    char            err[256], job_id[64], location[96];
    const char     *endpoint = rt->kind == ROUTE_FULFILL ? "fulfill" : "event";
    int             rc, created, failed;
    json_t         *h, *v;

    if (refuse_unattested(s, conn, st, endpoint, NULL, &ret)) {
        return ret;
    }

    if (rt->kind == ROUTE_FULFILL) {
        rc = intake_parse_fulfill(rt->id, st->body, st->len,
                                  header(conn, "Idempotency-Key"),
                                  header(conn, "X-Correlation-Id"), &req, err,
                                  sizeof(err));
    } else {
        rc = intake_parse_event(st->body, st->len,
                                header(conn, "Idempotency-Key"),
                                header(conn, "X-Correlation-Id"), &req, err,
                                sizeof(err));
    }
    if (rc != 0) {
        metrics_intake(s->metrics, endpoint, 400);
        log_json("warn", "intake_rejected",
                 json_pack("{s:s,s:s}", "endpoint", endpoint, "message", err));
        return send_error(conn, 400,
                          strstr(err, "Idempotency-Key")
                          ? "idempotency_key_required" : "invalid_request",
                          err);
    }

    if (req.whmcs_client_id > 0) {
        rc = queue_idem_job(s->queue, req.idem_key, job_id);
        if (rc == 0 && payment_method_missing(s, &req)) {
            metrics_intake(s->metrics, endpoint, 409);
            log_json("warn", "intake_rejected",
                     json_pack("{s:s,s:s,s:I}", "endpoint", endpoint,
                               "order_id", req.order_id, "whmcs_client_id",
                               (json_int_t) req.whmcs_client_id));
            return send_error(conn, 409, "payment_method_missing",
                              "The WHMCS client has no payment method on "
                              "file");
        }
    }

    if (queue_enqueue(s->queue, &req, clock_now_ms(), job_id, &created) != 0) {
        metrics_intake(s->metrics, endpoint, 503);
        log_json("error", "intake_unavailable",
                 json_pack("{s:s,s:s,s:s}", "endpoint", endpoint, "order_id",
                           req.order_id, "message", queue_error(s->queue)));
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable; retry later");
    }
    snprintf(location, sizeof(location), "/jobs/%s", job_id);
    if (created) {
        metrics_intake(s->metrics, endpoint, 202);
        log_json("info", "job_accepted",
                 json_pack("{s:s,s:s,s:s,s:s,s:s}", "job_id", job_id,
                           "order_id", req.order_id, "correlation_id",
                           req.correlation_id[0] ? req.correlation_id : job_id,
                           "source", req.source, "step", "intake"));
        return send_json(conn, 202,
                         json_pack("{s:s,s:s,s:s}", "job_id", job_id,
                                   "status", "QUEUED", "order_id",
                                   req.order_id), NULL, location);
    }

    h = queue_job_get(s->queue, job_id, &failed);
    if (h == NULL) {
        metrics_intake(s->metrics, endpoint, 503);
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable; retry later");
    }
    v = job_view(s->queue, job_id, h);
    json_decref(h);
    json_object_set_new(v, "duplicate", json_true());
    metrics_intake(s->metrics, endpoint, 200);
    log_json("info", "job_duplicate",
             json_pack("{s:s,s:s}", "job_id", job_id, "order_id",
                       req.order_id));
    return send_json(conn, 200, v, NULL, location);
}


/* -- the commerce flow -------------------------------------------------- */

static enum MHD_Result
intake_400(intake_thread *s, struct MHD_Connection *conn,
    const char *endpoint, const char *err)
{
    metrics_intake(s->metrics, endpoint, 400);
    log_json("warn", "intake_rejected",
             json_pack("{s:s,s:s}", "endpoint", endpoint, "message", err));
    return send_error(conn, 400, "invalid_request", err);
}


static enum MHD_Result
intake_503(intake_thread *s, struct MHD_Connection *conn,
    const char *endpoint)
{
    metrics_intake(s->metrics, endpoint, 503);
    log_json("error", "intake_unavailable",
             json_pack("{s:s,s:s}", "endpoint", endpoint, "message",
                       queue_error(s->queue)));
    return send_error(conn, 503, "queue_unavailable",
                      "The job store is unreachable; retry later");
}


static void
log_queued(const char *endpoint, const char *job_id, long long wc,
    int created)
{
    log_json("info", created ? "job_accepted" : "job_duplicate",
             json_pack("{s:s,s:s,s:I,s:s}", "endpoint", endpoint, "job_id",
                       job_id, "order_id", (json_int_t) wc, "step",
                       "intake"));
}


static enum MHD_Result
handle_stripe(intake_thread *s, struct MHD_Connection *conn,
    request_state *st)
{
    enum MHD_Result  ret;
    json_t          *ev;
    char             err[256], idem[256], job_id[64];
    int              created, rc;
    long long        wc;

    if (refuse_unattested(s, conn, st, "stripe", "stripe", &ret)) {
        return ret;
    }
    if (stripe_parse_event(st->body, st->len, &ev, err, sizeof(err)) != 0) {
        return intake_400(s, conn, "stripe", err);
    }
    wc = strtoll(json_string_value(json_object_get(ev, "order_id")), NULL,
                 10);
    snprintf(idem, sizeof(idem), "stripe:%s",
             json_string_value(json_object_get(ev, "id")));
    rc = commerce_enqueue(s->queue, "stripe", wc, idem, ev, "stripe", job_id,
                          &created);
    if (rc != 0) {
        json_decref(ev);
        return intake_503(s, conn, "stripe");
    }
    metrics_success(s->metrics, "stripe_events", clock_now_ms());
    metrics_intake(s->metrics, "stripe", 200);
    log_queued("stripe", job_id, wc, created);
    ret = send_json(conn, 200,
                    json_pack("{s:b,s:s,s:s,s:b}", "received", 1, "event",
                              json_string_value(json_object_get(ev, "id")),
                              "job_id", job_id, "duplicate", !created),
                    NULL, NULL);
    json_decref(ev);
    return ret;
}


static enum MHD_Result
handle_woocommerce(intake_thread *s, struct MHD_Connection *conn,
    request_state *st)
{
    enum MHD_Result  ret;
    char             err[256], idem[300], job_id[64], digest[HEX_SHA256_LEN + 1];
    const char      *delivery = header(conn, "X-WC-Webhook-Delivery-ID");
    long long        wc = 0;
    int              rc, created;

    if (refuse_unattested(s, conn, st, "woocommerce", "woocommerce", &ret)) {
        return ret;
    }
    rc = wc_parse_webhook(st->body, st->len,
                          header(conn, "X-WC-Webhook-Topic"), &wc, err,
                          sizeof(err));
    if (rc == 1) {
        metrics_intake(s->metrics, "woocommerce", 200);
        return send_json(conn, 200, json_pack("{s:b}", "ignored", 1), NULL,
                         NULL);
    }
    if (rc != 0) {
        return intake_400(s, conn, "woocommerce", err);
    }
    if (delivery != NULL && delivery[0] != '\0' && strlen(delivery) < 100) {
        snprintf(idem, sizeof(idem), "wc:delivery:%s", delivery);
    } else {
        sha256_hex(st->body, st->len, digest);
        snprintf(idem, sizeof(idem), "wc:body:%s", digest);
    }
    if (commerce_enqueue(s->queue, "order", wc, idem, NULL, "webhook", job_id,
                         &created) != 0)
    {
        return intake_503(s, conn, "woocommerce");
    }
    metrics_intake(s->metrics, "woocommerce", created ? 202 : 200);
    log_queued("woocommerce", job_id, wc, created);
    return send_json(conn, created ? 202 : 200,
                     json_pack("{s:s,s:s,s:I,s:b}", "job_id", job_id,
                               "status", "QUEUED", "order_id",
                               (json_int_t) wc, "duplicate", !created),
                     NULL, NULL);
}


static void
log_webhook(intake_thread *s, long long wc, const char *hft71_id, int status,
    const char *outcome)
{
    commerce_log_action(s->queue,
                        json_pack("{s:s,s:I,s:s,s:i,s:s}", "action",
                                  "webhook", "order_id", (json_int_t) wc,
                                  "hft71_order_id", hft71_id, "status",
                                  status, "class", outcome));
}


static enum MHD_Result
handle_hft71_status(intake_thread *s, struct MHD_Connection *conn,
    request_state *st)
{
    enum MHD_Result  ret;
    json_t          *v;
    char             err[256], idem[256], job_id[64];
    const char      *id, *ref;
    long long        wc = 0;
    int              rc, created;

    if (refuse_unattested(s, conn, st, "hft71", "hft71", &ret)) {
        return ret;
    }
    if (hft71_parse_status(st->body, st->len, &v, err, sizeof(err)) != 0) {
        metrics_intake(s->metrics, "hft71", 400);
        log_json("warn", "intake_rejected",
                 json_pack("{s:s,s:s}", "endpoint", "hft71", "message", err));
        return send_json(conn, 400,
                         json_pack("{s:b,s:s,s:s}", "success", 0, "error",
                                   "invalid_request", "message", err),
                         NULL, NULL);
    }
    id = json_string_value(json_object_get(v, "order_id"));
    ref = json_string_value(json_object_get(v, "reference"));
    rc = commerce_map_lookup(s->queue, id, &wc);
    if (rc < 0) {
        json_decref(v);
        return intake_503(s, conn, "hft71");
    }
    if (rc == 0 || (ref[0] != '\0' && strtoll(ref, NULL, 10) != wc)) {
        metrics_intake(s->metrics, "hft71", 404);
        log_json("warn", "hft71_unknown_order",
                 json_pack("{s:s,s:s}", "hft71_order_id", id, "reference",
                           ref));
        log_webhook(s, wc, id, 404, "unknown_order");
        json_decref(v);
        return send_json(conn, 404,
                         json_pack("{s:b,s:s}", "success", 0, "error",
                                   "unknown_order"), NULL, NULL);
    }
    snprintf(idem, sizeof(idem), "hft71:%s:%lld:%s", id,
             (long long) json_integer_value(json_object_get(v, "updated_ms")),
             json_string_value(json_object_get(v, "status")));
    rc = commerce_enqueue(s->queue, "status", wc, idem, v, "webhook", job_id,
                          &created);
    if (rc != 0) {
        json_decref(v);
        return intake_503(s, conn, "hft71");
    }
    metrics_intake(s->metrics, "hft71", 200);
    metrics_success(s->metrics, "hft71_webhook", clock_now_ms());
    log_queued("hft71", job_id, wc, created);
    log_webhook(s, wc, id, 200, "ok");
    json_decref(v);
    return send_json(conn, 200, json_pack("{s:b}", "success", 1), NULL, NULL);
}


static const char *
cj_status_name(cj_status st)
{
    static const char *names[] = { "done", "failed", "retry", "abandoned" };

    return names[st];
}


/* The thread's clients for the operator's calls, made on first use. */
static commerce_env *
thread_commerce(intake_thread *s, char *err, size_t err_len)
{
    if (s->commerce == NULL) {
        s->commerce = commerce_env_new(s->cfg, s->metrics, "operator", err,
                                       err_len);
    }
    return s->commerce;
}


/*
 * POST /hft71/resend {"limit":N} | {"order_ids":[...]}: the runbook's
 * controlled batch, run here one order at a time through send_order's
 * own path (claim, lookup, write-back), so a re-sent order still gets
 * exactly one HFT71 order. The batch stops at the first transient HFT71
 * or WooCommerce failure; the rest is reported not_attempted.
 */
static enum MHD_Result
handle_resend(intake_thread *s, struct MHD_Connection *conn,
    request_state *st)
{
    json_t        *body, *ids = NULL, *report, *v;
    json_error_t   je;
    char           err[256];
    size_t         i;
    int            stopped = 0;
    call_outcome   o;
    cj_result      res;

    body = st->len ? json_loadb(st->body, st->len, 0, &je) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        return send_error(conn, 400, "invalid_request",
                          "want {\"limit\":N} or {\"order_ids\":[...]}");
    }
    if (thread_commerce(s, err, sizeof(err)) == NULL) {
        json_decref(body);
        return send_error(conn, 503, "unavailable", err);
    }
    if (json_is_array(json_object_get(body, "order_ids"))) {
        ids = json_incref(json_object_get(body, "order_ids"));
        if (json_array_size(ids) == 0 || json_array_size(ids) > 100) {
            json_decref(ids);
            json_decref(body);
            return send_error(conn, 400, "invalid_request",
                              "order_ids: 1 to 100 WooCommerce order ids");
        }
        json_array_foreach(ids, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                json_decref(ids);
                json_decref(body);
                return send_error(conn, 400, "invalid_request",
                                  "order_ids must be positive integers");
            }
        }
    } else if (json_is_integer(json_object_get(body, "limit"))) {
        json_int_t limit = json_integer_value(json_object_get(body, "limit"));

        if (limit < 1 || limit > 100) {
            json_decref(body);
            return send_error(conn, 400, "invalid_request",
                              "limit must be 1..100");
        }
        ids = commerce_unsent_orders(s->commerce, (long) limit, &o);
        if (ids == NULL) {
            json_decref(body);
            return send_json(conn, 502,
                             json_pack("{s:s,s:s}", "error",
                                       "woocommerce_unavailable", "message",
                                       o.message), NULL, NULL);
        }
    } else {
        json_decref(body);
        return send_error(conn, 400, "invalid_request",
                          "want {\"limit\":N} or {\"order_ids\":[...]}");
    }
    json_decref(body);

    report = json_array();
    json_array_foreach(ids, i, v) {
        long long wc = json_integer_value(v);
        json_t   *line = json_pack("{s:I}", "order_id", (json_int_t) wc);

        if (stopped) {
            json_object_set_new(line, "result", json_string("not_attempted"));
            json_array_append_new(report, line);
            continue;
        }
        switch (commerce_lease_take(s->commerce, wc)) {
        case 1:
            break;
        case 0:
            json_object_set_new(line, "result", json_string("busy"));
            json_object_set_new(line, "message", json_string(
                "another run is working on this order"));
            json_array_append_new(report, line);
            continue;
        default:
            json_decref(line);
            json_decref(report);
            json_decref(ids);
            return intake_503(s, conn, "resend");
        }
        commerce_send_order(s->commerce, wc, "resend", &res);
        commerce_lease_release(s->commerce, wc);
        json_object_set_new(line, "result",
                            json_string(cj_status_name(res.status)));
        json_object_set_new(line, "outcome", json_string(res.outcome));
        if (res.hft71_order_id[0]) {
            json_object_set_new(line, "hft71_order_id",
                                json_string(res.hft71_order_id));
        }
        json_object_set_new(line, "message", json_string(res.message));
        json_array_append_new(report, line);
        if (res.status == CJ_RETRY) {
            stopped = 1;
        }
    }
    json_decref(ids);
    log_json("info", "hft71_resend",
             json_pack("{s:I,s:b}", "orders", (json_int_t)
                       json_array_size(report), "stopped", stopped));
    return send_json(conn, 200,
                     json_pack("{s:o,s:b}", "orders", report, "stopped",
                               stopped), NULL, NULL);
}


static enum MHD_Result
handle_hft71_log(intake_thread *s, struct MHD_Connection *conn)
{
    static const char *actions[] = {
        "send_order", "get_status", "webhook", "stock_sync", "update_order",
        "update_order_address", NULL
    };
    const char *action = MHD_lookup_connection_value(conn,
                             MHD_GET_ARGUMENT_KIND, "action");
    const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                  "limit");
    long        limit = 100;
    char       *end;
    int         i, known = 0;
    json_t     *entries;

    if (lim != NULL && lim[0] != '\0') {
        limit = strtol(lim, &end, 10);
        if (*end != '\0' || limit < 1 || limit > COMMERCE_LOG_MAX) {
            return send_error(conn, 400, "invalid_request",
                              "limit must be 1..1000");
        }
    }
    if (action != NULL && action[0] != '\0') {
        for (i = 0; actions[i]; i++) {
            known |= strcmp(action, actions[i]) == 0;
        }
        if (!known) {
            return send_error(conn, 400, "invalid_request",
                              "action must be send_order, get_status, "
                              "webhook, stock_sync, update_order or "
                              "update_order_address");
        }
    }
    entries = commerce_log_read(s->queue, action, limit);
    if (entries == NULL) {
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable");
    }
    return send_json(conn, 200, json_pack("{s:o}", "entries", entries), NULL,
                     NULL);
}


/*
 * POST /stock/sync: {} or no body (a full run), {"skus":[...]} (those
 * only), "reindex":true (re-read WooCommerce's catalogue first). One run
 * at a time: while one is queued or running, that one is the answer.
 */
static enum MHD_Result
handle_stock_sync(intake_thread *s, struct MHD_Connection *conn,
    request_state *st)
{
    json_t        *body = NULL, *skus, *v;
    json_error_t   je;
    size_t         i;
    int            rc;
    char           run_id[64], location[96];
    json_t        *reindex;

    if (st->len > 0) {
        body = json_loadb(st->body, st->len, 0, &je);
        if (!json_is_object(body)) {
            json_decref(body);
            return send_error(conn, 400, "invalid_request",
                              "want no body, {} or {\"skus\":[...]}");
        }
    }
    skus = json_object_get(body, "skus");
    reindex = json_object_get(body, "reindex");
    if (skus != NULL) {
        if (!json_is_array(skus) || json_array_size(skus) == 0
            || json_array_size(skus) > STOCK_SKUS_MAX)
        {
            json_decref(body);
            return send_error(conn, 400, "invalid_request",
                              "skus: 1 to 1000 SKUs");
        }
        json_array_foreach(skus, i, v) {
            if (!json_is_string(v) || !stock_sku_valid(json_string_value(v)))
            {
                json_decref(body);
                return send_error(conn, 400, "invalid_request",
                                  "skus: strings of 1 to 100 bytes without "
                                  "commas or control characters");
            }
        }
    }
    if (reindex != NULL && !json_is_boolean(reindex)) {
        json_decref(body);
        return send_error(conn, 400, "invalid_request",
                          "reindex must be true or false");
    }
    rc = stock_request(s->queue, "api", skus, json_is_true(reindex), 0,
                       run_id);
    json_decref(body);
    if (rc < 0) {
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable");
    }
    log_json("info", "stock_sync_requested",
             json_pack("{s:s,s:b}", "run_id", run_id, "created", rc == 1));
    snprintf(location, sizeof(location), "/stock/sync/%s", run_id);
    return send_json(conn, rc == 1 ? 202 : 200,
                     json_pack("{s:s,s:s,s:b}", "run_id", run_id, "status",
                               rc == 1 ? "queued" : "in_progress", "created",
                               rc == 1), NULL, location);
}


static enum MHD_Result
handle_stock_run(intake_thread *s, struct MHD_Connection *conn,
    const route *rt)
{
    int     found;
    json_t *v = stock_run_view(s->queue, rt->id, &found);

    if (v == NULL) {
        return found < 0 ? send_error(conn, 503, "queue_unavailable",
                                      "The job store is unreachable")
                         : send_error(conn, 404, "not_found",
                                      "No stock sync run with this id");
    }
    return send_json(conn, 200, v, NULL, NULL);
}


/* GET /stock/drift[?sample=N]: reads both sides now (can take a while). */
static enum MHD_Result
handle_stock_drift(intake_thread *s, struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                "sample");
    long        sample = 0;
    char       *end, err[600];
    json_t     *report;

    if (v != NULL && v[0] != '\0') {
        sample = strtol(v, &end, 10);
        if (*end != '\0' || sample < 1 || sample > 1000) {
            return send_error(conn, 400, "invalid_request",
                              "sample must be 1..1000");
        }
    }
    if (thread_commerce(s, err, sizeof(err)) == NULL) {
        return send_error(conn, 503, "unavailable", err);
    }
    report = stock_drift(s->commerce, sample, err, sizeof(err));
    if (report == NULL) {
        return send_json(conn, 502,
                         json_pack("{s:s,s:s}", "error", "drift_unavailable",
                                   "message", err), NULL, NULL);
    }
    return send_json(conn, 200, report, NULL, NULL);
}


static enum MHD_Result
handle_commerce_order(intake_thread *s, struct MHD_Connection *conn,
    const route *rt)
{
    int     found;
    json_t *v;

    if (!wc_id_valid(rt->id)) {
        return send_error(conn, 400, "invalid_request",
                          "wooOrderId must be a WooCommerce order id");
    }
    v = commerce_order_view(s->queue, strtoll(rt->id, NULL, 10), &found);
    if (v == NULL) {
        return found < 0 ? send_error(conn, 503, "queue_unavailable",
                                      "The job store is unreachable")
                         : send_error(conn, 404, "not_found",
                                      "The worker has no record of this "
                                      "order");
    }
    return send_json(conn, 200, v, NULL, NULL);
}


static enum MHD_Result
handle_job(intake_thread *s, struct MHD_Connection *conn, const route *rt)
{
    json_t *h;
    int     failed;

    h = queue_job_get(s->queue, rt->id, &failed);
    if (h == NULL) {
        return failed ? send_error(conn, 503, "queue_unavailable",
                                   "The job store is unreachable")
                      : send_error(conn, 404, "not_found", "No such job");
    }
    {
        json_t *v = job_view(s->queue, rt->id, h);

        json_decref(h);
        return send_json(conn, 200, v, NULL, NULL);
    }
}


static enum MHD_Result
handle_order(intake_thread *s, struct MHD_Connection *conn, const route *rt)
{
    char         job_id[64];
    int          rc, failed;
    json_t      *h, *v;
    const char  *status, *skip;

    if (!sf_id_valid(rt->id)) {
        return send_error(conn, 400, "invalid_request",
                          "sfOrderId must be a 15 or 18 character Salesforce id");
    }
    rc = queue_order_job(s->queue, rt->id, job_id);
    if (rc < 0) {
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable");
    }
    if (rc == 0) {
        return send_error(conn, 404, "not_found", "No job for this order");
    }
    h = queue_job_get(s->queue, job_id, &failed);
    status = json_string_value(json_object_get(h, "status"));
    skip = json_string_value(json_object_get(h, "skip_reason"));
    if (h != NULL && status != NULL && strcmp(status, "SKIPPED") == 0
        && skip != NULL && strcmp(skip, "another_job_active") == 0
        && json_string_value(json_object_get(h, "active_job")) != NULL)
    {
        /* a request re-sent while another job works on the order: show
         * that job, whatever it ends with */
        snprintf(job_id, sizeof(job_id), "%s",
                 json_string_value(json_object_get(h, "active_job")));
        json_decref(h);
        h = queue_job_get(s->queue, job_id, &failed);
        status = json_string_value(json_object_get(h, "status"));
    }
    if (h != NULL && status != NULL && strcmp(status, "SKIPPED") == 0
        && queue_provisioned_job(s->queue, rt->id, job_id) == 1)
    {
        /* a re-sent request for a Provisioned order: show the job that
         * provisioned it */
        json_decref(h);
        h = queue_job_get(s->queue, job_id, &failed);
    }
    if (h == NULL) {
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable");
    }
    status = json_string_value(json_object_get(h, "status"));
    skip = json_string_value(json_object_get(h, "skip_reason"));
    v = json_pack("{s:s,s:s,s:s,s:s}", "order_id", rt->id, "status",
                  portal_status(status ? status : "", skip), "job_id", job_id,
                  "job_status", status ? status : "");
    {
        static const char *copy[] = {
            "whmcs_order_id", "service_ids", "error_code", "error_message",
            NULL
        };
        int i;

        for (i = 0; copy[i]; i++) {
            const char *x = json_string_value(json_object_get(h, copy[i]));

            if (x != NULL && x[0] != '\0') {
                json_object_set_new(v, copy[i], json_string(x));
            }
        }
    }
    json_decref(h);
    return send_json(conn, 200, v, NULL, NULL);
}


static enum MHD_Result
handle_retry(intake_thread *s, struct MHD_Connection *conn, const route *rt)
{
    char  other[64] = "", message[160];
    int   rc = queue_retry_dead(s->queue, rt->id, clock_now_ms(), other);

    if (rc < 0) {
        return send_error(conn, 503, "queue_unavailable",
                          "The job store is unreachable");
    }
    if (rc == 404) {
        return send_error(conn, 404, "not_found", "No such job");
    }
    if (rc == 409) {
        return send_error(conn, 409, "not_dead_lettered",
                          "Only a dead-lettered job can be retried");
    }
    if (rc == 423) {
        return send_error(conn, 409, "order_busy",
                          "Another job is still working on this order");
    }
    if (rc == 410) {
        snprintf(message, sizeof(message), "Job %s already provisioned this "
                 "order; this job stays dead", other);
        return send_error(conn, 409, "order_already_provisioned", message);
    }
    log_json("info", "job_requeued", json_pack("{s:s}", "job_id", rt->id));
    return send_json(conn, 202,
                     json_pack("{s:s,s:s}", "job_id", rt->id, "status",
                               "QUEUED"), NULL, NULL);
}


/* The subscriber's state as it last wrote it to Redis. */
static void
health_events(json_t *v, json_t *state, const char *channel)
{
    const char *st = json_string_value(json_object_get(state, "state"));
    const char *replay = json_string_value(json_object_get(state,
                                                           "replay_id"));
    const char *error = json_string_value(json_object_get(state,
                                                          "last_error"));
    json_t     *e = json_pack("{s:s,s:s}", "channel", channel, "state",
                              st ? st : "starting");

    if (replay != NULL && replay[0] != '\0') {
        json_object_set_new(e, "replay_id",
                            json_integer(strtoll(replay, NULL, 10)));
    }
    if (error != NULL && error[0] != '\0') {
        json_object_set_new(e, "last_error", json_string(error));
    }
    json_object_set_new(v, "platform_events", e);
    json_decref(state);
}


/*
 * published: what every process's job thread wrote to Redis. This
 * process's own calls count at once, not only after its next publishing.
 */
static void
newer_success(json_t *published, metrics *m)
{
    json_t      *own = metrics_last_success(m), *t;
    const char  *name;

    json_object_foreach(own, name, t) {
        if (json_integer_value(t)
            > json_integer_value(json_object_get(published, name)))
        {
            json_object_set(published, name, t);
        }
    }
    json_decref(own);
}


static enum MHD_Result
handle_health(intake_thread *s, struct MHD_Connection *conn)
{
    queue_stats  st;
    json_t      *v;
    int          ok = queue_stats_get(s->queue, &st) == 0;

    v = json_pack("{s:s,s:s,s:s}", "status", ok ? "ok" : "degraded",
                  "redis", ok ? "connected" : "unreachable", "environment",
                  s->cfg->environment);
    if (ok) {
        json_object_set_new(v, "queue",
            json_pack("{s:I,s:I,s:I,s:I}",
                      "depth", (json_int_t) (st.pending + (st.lag > 0 ? st.lag : 0)
                                             + st.delayed),
                      "pending", (json_int_t) st.pending,
                      "undelivered", (json_int_t) st.lag,
                      "delayed", (json_int_t) st.delayed));
        json_object_set_new(v, "dead_letters", json_integer(st.dead));
        newer_success(st.last_success, s->metrics);
        if (s->cfg->commerce_enabled) {
            static const char *names[] = {
                "hft71", "woocommerce", "stripe_events", NULL
            };
            int i;

            for (i = 0; names[i]; i++) {
                if (json_object_get(st.last_success, names[i]) == NULL) {
                    json_object_set_new(st.last_success, names[i],
                                        json_null());
                }
            }
        }
        json_object_set_new(v, "last_success", st.last_success);
    }
    json_object_set_new(v, "edge_attestation",
                        json_string(s->cfg->edge_attest_secret ? "required"
                                                               : "off"));
    if (s->cfg->events_enabled) {
        int     failed;
        json_t *ev = ok ? queue_hash_get(s->queue, EVENTS_STATE_KEY, &failed)
                        : NULL;

        health_events(v, ev, s->cfg->events_channel);
    }
    return send_json(conn, ok ? 200 : 503, v, NULL, NULL);
}


static enum MHD_Result
dispatch(intake_thread *s, struct MHD_Connection *conn, const char *method,
    const char *url, request_state *st)
{
    route rt;
    int   rc;

    if (s->cfg->registry_enabled && registry_http_path(url)) {
        return registry_http_dispatch(s->cfg, s->queue, s->metrics, conn,
                                      method, url, st->body, st->len,
                                      st->too_large);
    }
    rc = route_match(method, url, &rt);
    if (rc == 404) {
        return send_error(conn, 404, "not_found", "No such endpoint");
    }
    if (rc == 405) {
        return send_error(conn, 405, "method_not_allowed",
                          "Method not allowed here");
    }
    if (st->too_large) {
        return send_error(conn, 413, "body_too_large",
                          "The body is larger than 64 KiB");
    }
    switch (rt.kind) {
    case ROUTE_FULFILL:
    case ROUTE_EVENT:
        return handle_intake(s, conn, &rt, st);
    case ROUTE_JOB:
        return handle_job(s, conn, &rt);
    case ROUTE_JOB_RETRY:
        return handle_retry(s, conn, &rt);
    case ROUTE_ORDER:
        return handle_order(s, conn, &rt);
    case ROUTE_HEALTH:
        return handle_health(s, conn);
    case ROUTE_STRIPE:
    case ROUTE_WOOCOMMERCE:
    case ROUTE_HFT71_STATUS:
    case ROUTE_HFT71_RESEND:
    case ROUTE_HFT71_LOG:
    case ROUTE_COMMERCE_ORDER:
    case ROUTE_STOCK_SYNC:
    case ROUTE_STOCK_RUN:
    case ROUTE_STOCK_DRIFT:
        if (!s->cfg->commerce_enabled) {
            return send_error(conn, 404, "not_found",
                              "The commerce flow is off (WOOCOMMERCE_URL "
                              "and HFT71_API_URL are not set)");
        }
        switch (rt.kind) {
        case ROUTE_STRIPE:
            return handle_stripe(s, conn, st);
        case ROUTE_WOOCOMMERCE:
            return handle_woocommerce(s, conn, st);
        case ROUTE_HFT71_STATUS:
            return handle_hft71_status(s, conn, st);
        case ROUTE_HFT71_RESEND:
            return handle_resend(s, conn, st);
        case ROUTE_HFT71_LOG:
            return handle_hft71_log(s, conn);
        case ROUTE_STOCK_SYNC:
            return handle_stock_sync(s, conn, st);
        case ROUTE_STOCK_RUN:
            return handle_stock_run(s, conn, &rt);
        case ROUTE_STOCK_DRIFT:
            return handle_stock_drift(s, conn);
        default:
            return handle_commerce_order(s, conn, &rt);
        }
    case ROUTE_METRICS: {
        char *text = metrics_render(s->metrics);

        if (s->cfg->registry_enabled) {
            text = registry_metrics_append(text, s->cfg, s->queue);
        }
        return text ? send_text(conn, 200, "text/plain; version=0.0.4", text,
                                NULL, NULL, NULL)
                    : MHD_NO;
    }
    default:
        return send_error(conn, 404, "not_found", "No such endpoint");
    }
}


/*
 * The calling MHD thread's own intake_thread, given out on its first
 * request. MHD runs exactly nthreads threads that call on_request, so one
 * is always left for a thread that has none yet.
 */
static intake_thread *
intake_thread_of(http_server *s)
{
    intake_thread *t = pthread_getspecific(s->key);

    if (t != NULL) {
        return t;
    }
    pthread_mutex_lock(&s->lock);
    if (s->claimed < s->nthreads) {
        t = &s->threads[s->claimed++];
    }
    pthread_mutex_unlock(&s->lock);
    if (t != NULL && pthread_setspecific(s->key, t) != 0) {
        t = NULL;
    }
    return t;
}


static void
intake_threads_free(http_server *s)
{
    size_t i;

    for (i = 0; s->threads != NULL && i < s->nthreads; i++) {
        whmcs_free(s->threads[i].precheck_whmcs);
        commerce_env_free(s->threads[i].commerce);
        outbound_free(s->threads[i].precheck_http);
        queue_free(s->threads[i].queue);
    }
    free(s->threads);
    if (s->key_made) {
        pthread_key_delete(s->key);
        pthread_mutex_destroy(&s->lock);
    }
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
    http_server   *s = cls;
    request_state *st = *con_cls;

    (void) version;
    if (st == NULL) {
        st = calloc(1, sizeof(*st));
        if (st == NULL) {
            return MHD_NO;
        }
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->too_large) {
            if (st->len + *upload_data_size > BODY_MAX) {
                st->too_large = 1;
            } else {
                if (st->len + *upload_data_size + 1 > st->cap) {
                    size_t  cap = (st->len + *upload_data_size + 1) * 2;
                    char   *b = realloc(st->body, cap);

                    if (b == NULL) {
                        return MHD_NO;
                    }
                    st->body = b;
                    st->cap = cap;
                }
                memcpy(st->body + st->len, upload_data, *upload_data_size);
                st->len += *upload_data_size;
                st->body[st->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    {
        intake_thread *t = intake_thread_of(s);

        if (t == NULL) {
            return send_error(conn, 503, "worker_busy",
                              "No intake thread is free; retry later");
        }
        return dispatch(t, conn, method, url, st);
    }
}


static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    request_state *st = *con_cls;

    (void) cls;
    (void) conn;
    (void) toe;
    if (st != NULL) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}


/* libmicrohttpd's own messages (malformed requests, resource limits) as
 * log lines like every other. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char    buf[1024];
    size_t  n, i;

    (void) cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    for (i = 0; i < n; i++) {
        /* a message may quote request bytes: keep it one valid JSON string */
        if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] > 0x7e) {
            buf[i] = '?';
        }
    }
    log_json("warn", "http_server",
             json_pack("{s:s,s:s}", "step", "http", "message", buf));
}


static int
bind_listener(const listen_target *l, char *err, size_t err_len)
{
    int fd, one = 1;

    if (l->unix_path[0]) {
        struct sockaddr_un sa;

        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (strlen(l->unix_path) >= sizeof(sa.sun_path)) {
            snprintf(err, err_len, "WORKER_LISTEN: unix path too long");
            return -1;
        }
        strcpy(sa.sun_path, l->unix_path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) {
            snprintf(err, err_len, "WORKER_LISTEN: socket: %s", strerror(errno));
            return -1;
        }
        unlink(l->unix_path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
            || chmod(l->unix_path, 0666) != 0 || listen(fd, 128) != 0)
        {
            snprintf(err, err_len, "WORKER_LISTEN: cannot listen on %s: %s",
                     l->unix_path, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }

    {
        struct addrinfo  hints, *res = NULL;
        char             port[8];
        int              rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        snprintf(port, sizeof(port), "%d", l->port);
        rc = getaddrinfo(l->host, port, &hints, &res);
        if (rc != 0 || res == NULL) {
            snprintf(err, err_len, "WORKER_LISTEN: cannot resolve %s: %s",
                     l->host, gai_strerror(rc));
            return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM, 0);
        if (fd < 0
            || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
            || bind(fd, res->ai_addr, res->ai_addrlen) != 0
            || listen(fd, 128) != 0)
        {
            snprintf(err, err_len, "WORKER_LISTEN: cannot listen on %s:%d: %s",
                     l->host, l->port, strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            freeaddrinfo(res);
            return -1;
        }
        freeaddrinfo(res);
        return fd;
    }
}


http_server *
http_start(const worker_config *cfg, metrics *m, char *err, size_t err_len)
{
    http_server *s = calloc(1, sizeof(*s));
    size_t       i;

    if (s == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->listen_fd = -1;
    s->nthreads = (size_t) cfg->intake_threads;
    s->threads = calloc(s->nthreads, sizeof(*s->threads));
    if (s->threads == NULL || pthread_key_create(&s->key, NULL) != 0) {
        snprintf(err, err_len, "out of memory");
        goto failed;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->key_made = 1;
    for (i = 0; i < s->nthreads; i++) {
        intake_thread *t = &s->threads[i];

        t->cfg = cfg;
        t->metrics = m;
        t->queue = queue_new(&cfg->redis, 2000);
        t->precheck_http = outbound_new(m, 2000);
        t->precheck_whmcs = t->precheck_http
                            ? whmcs_new(cfg, t->precheck_http) : NULL;
        if (t->queue == NULL || t->precheck_whmcs == NULL) {
            snprintf(err, err_len, "out of memory");
            goto failed;
        }
    }
    s->listen_fd = bind_listener(&cfg->listen, err, err_len);
    if (s->listen_fd < 0) {
        goto failed;
    }
    /* from here on the daemon owns listen_fd and closes it when it stops */
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO,
        0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 512,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) s->nthreads,
        MHD_OPTION_END);
    if (s->daemon == NULL) {
        snprintf(err, err_len, "WORKER_LISTEN: libmicrohttpd did not start");
        goto failed;
    }
    return s;

failed:
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    intake_threads_free(s);
    free(s);
    return NULL;
}


void
http_stop(http_server *s)
{
    if (s == NULL) {
        return;
    }
    MHD_stop_daemon(s->daemon);
    if (s->cfg->listen.unix_path[0]) {
        unlink(s->cfg->listen.unix_path);
    }
    intake_threads_free(s);
    free(s);
}

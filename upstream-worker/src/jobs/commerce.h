/*
 * The WooCommerce <-> HFT71 order flow with Stripe payment events: jobs on
 * their own stream (wh:commerce, group "commerce"), one at a time per
 * WooCommerce order (a lease on the order), and the Redis records they
 * keep per order (wh:wc:{id}), per HFT71 order (wh:hft71:map:{id}) and for
 * the operator (wh:hft71:log).
 */
#ifndef WORKER_JOBS_COMMERCE_H
#define WORKER_JOBS_COMMERCE_H

#include <jansson.h>

#include "../clients/hft71.h"
#include "../clients/woocommerce.h"
#include "../config.h"
#include "../metrics.h"
#include "../outbound.h"
#include "../queue.h"

extern const queue_names commerce_queue_names;

#define COMMERCE_LOG_KEY  "wh:hft71:log"
#define COMMERCE_LOG_MAX  1000
#define COMMERCE_OPEN_KEY "wh:hft71:open"

typedef struct {
    const worker_config *cfg;
    metrics             *metrics;
    queue               *queue;     /* named commerce_queue_names */
    outbound            *http;
    woocommerce         *wc;
    hft71               *hft;
    char                 token[128];  /* this holder's order leases */
} commerce_env;

commerce_env *commerce_env_new(const worker_config *cfg, metrics *m,
    const char *who, char *err, size_t err_len);
void commerce_env_free(commerce_env *e);

typedef enum {
    CJ_DONE = 0,        /* finished (outcome says how) */
    CJ_FAILED,          /* will not work by retrying (no retry) */
    CJ_RETRY,           /* a transient failure: run again later */
    CJ_ABANDONED        /* the order's lease was lost mid-run */
} cj_status;

typedef struct {
    cj_status      status;
    failure_class  cls;
    long           retry_after_s;
    char           outcome[40];
    char           hft71_order_id[64];
    char           message[512];
} cj_result;

/*
 * Queues a job: kind "order" (send it if due, sync changes), "status" (an
 * HFT71 status, payload the normalized webhook), "poll" (get_status),
 * "stripe" (payload the normalized event). A known idem_key queues
 * nothing: *created = 0 and job_id is the earlier job. -1 on a Redis
 * error.
 */
int commerce_enqueue(queue *q, const char *kind, long long wc_id,
    const char *idem_key, json_t *payload, const char *source,
    char job_id[64], int *created);

/* The WooCommerce order an HFT71 order id belongs to: 1, 0 none, -1. */
int commerce_map_lookup(queue *q, const char *hft71_id, long long *wc_id);

/* Appends to the operator's log (capped); entry is stolen. */
void commerce_log_action(queue *q, json_t *entry);
/* The newest entries first, only action when set. NULL on error. */
json_t *commerce_log_read(queue *q, const char *action, long limit);
/* GET /commerce/orders/{id}: NULL with *found 0 when unknown, NULL with
 * *found -1 on error. */
json_t *commerce_order_view(queue *q, long long wc_id, int *found);

/* webhook_worker_hft71_calls_total{action,status_class} for one call
 * (auth for 401/403, as the runbook's credential drift). */
void commerce_count_hft71_call(commerce_env *e, const char *action,
    const call_outcome *o);

/* Order leases: one run at a time per WooCommerce order. */
int commerce_lease_take(commerce_env *e, long long wc_id);
void commerce_lease_release(commerce_env *e, long long wc_id);

/* Runs one job (its order's lease held). */
void commerce_run_job(commerce_env *e, const char *job_id, json_t *job,
    cj_result *res);
/* send_order's whole path for one order (lease held): POST /hft71/resend
 * and the order job. */
void commerce_send_order(commerce_env *e, long long wc_id,
    const char *source, cj_result *res);

/* The timers: queue order jobs for processing orders without
 * _hft71_order_id (sweep), and poll jobs for sent, not final orders.
 * Both take a Redis lock so that one worker does each round. Return the
 * number of jobs queued, -1 on error. */
int commerce_sweep(commerce_env *e, long long now_ms);
int commerce_poll(commerce_env *e, long long now_ms);

/* Processing orders without _hft71_order_id, oldest first, at most limit
 * (array of ids); NULL with o set on failure. */
json_t *commerce_unsent_orders(commerce_env *e, long limit, call_outcome *o);

#endif

#include "consumer.h"
#include "clock.h"
#include "clients/salesforce.h"
#include "clients/whmcs.h"
#include "crypto.h"
#include "jobs/fulfill.h"
#include "log.h"
#include "outbound.h"
#include "queue.h"
#include "retry.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


struct consumer {
    const worker_config *cfg;
    metrics             *metrics;
    queue               *queue;
    outbound            *http;
    salesforce          *sf;
    whmcs               *whmcs;
    fulfill_env          env;
    char                 lease_token[128];
    json_t              *published;     /* integration -> ms in Redis */
    long long            last_publish_ms;
    pthread_t            thread;
    int                  started;
    int                  stopping;      /* __atomic */
};



consumer *
consumer_new(const worker_config *cfg, metrics *m, char *err, size_t err_len)
{
    consumer *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->metrics = m;
    c->queue = queue_new(&cfg->redis, 5000);
    c->http = outbound_new(m, cfg->http_timeout_ms);
    if (c->queue == NULL || c->http == NULL) {
        snprintf(err, err_len, "out of memory");
        consumer_free(c);
        return NULL;
    }
    c->sf = salesforce_new(cfg, c->http, err, err_len);
    if (c->sf == NULL) {
        consumer_free(c);
        return NULL;
    }
    c->whmcs = whmcs_new(cfg, c->http);
    if (c->whmcs == NULL) {
        snprintf(err, err_len, "out of memory");
        consumer_free(c);
        return NULL;
    }
    c->env.cfg = cfg;
    c->env.queue = c->queue;
    c->env.sf = c->sf;
    c->env.whmcs = c->whmcs;
    c->env.http = c->http;
    c->env.metrics = m;
    {
        char rnd[17];

        if (random_hex(rnd, 8) != 0) {
            snprintf(err, err_len, "no randomness for a lease token");
            consumer_free(c);
            return NULL;
        }
        snprintf(c->lease_token, sizeof(c->lease_token), "%s:%ld:%s",
                 cfg->consumer_name, (long) getpid(), rnd);
    }
    c->env.lease_token = c->lease_token;
    c->env.lease_ms = cfg->claim_idle_ms;
    c->published = json_object();
    if (c->published == NULL) {
        snprintf(err, err_len, "out of memory");
        consumer_free(c);
        return NULL;
    }
    return c;
}


static int
is_final(const char *status)
{
    return strcmp(status, "SUCCEEDED") == 0 || strcmp(status, "FAILED") == 0
        || strcmp(status, "SKIPPED") == 0 || strcmp(status, "DEAD") == 0
        || strcmp(status, "NEEDS_REVIEW") == 0;
}


static void
dead_letter(consumer *c, const queue_entry *e, const char *order_id,
    const char *correlation_id, const char *type, const char *why)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "Gave up after %ld attempts: %s",
             c->cfg->max_attempts, why);
    queue_job_set(c->queue, e->job_id, "error_code", "RETRIES_EXHAUSTED",
                  "error_message", msg, NULL);
    if (queue_dead_letter(c->queue, e, msg) != 0) {
        log_msg("error", "dead_letter_failed", "%s", queue_error(c->queue));
        return;
    }
    metrics_job(c->metrics, type, "dead");
    log_json("error", "job_dead_lettered",
             json_pack("{s:s,s:s,s:s,s:s}", "job_id", e->job_id, "order_id",
                       order_id, "correlation_id", correlation_id,
                       "message", msg));
    fulfill_report_failure(&c->env, order_id, "RETRIES_EXHAUSTED", msg);
}


static int
run_leased(consumer *c, const queue_entry *e, json_t *job,
    const char *order_id, const char *type)
{
    const char      *created, *correlation_id;
    long long        attempts, now;
    fulfill_result   res;
    char             finished[24], attempts_s[24];
    long             delay;

    /* intake stores one (the job id when the request named none) */
    correlation_id = json_string_value(json_object_get(job,
                                                       "correlation_id"));
    if (correlation_id == NULL) {
        correlation_id = e->job_id;
    }

    attempts = queue_job_incr_attempts(c->queue, e->job_id);
    if (attempts < 0) {
        return -1;
    }
    if (attempts > c->cfg->max_attempts) {
        /* a job that keeps the worker from finishing it (crash loop) */
        dead_letter(c, e, order_id, correlation_id, type,
                    "the job never finished a run");
        return 0;
    }
    snprintf(attempts_s, sizeof(attempts_s), "%lld", attempts);
    json_object_set_new(job, "attempts", json_string(attempts_s));
    if (queue_job_set(c->queue, e->job_id, "status", "RUNNING", NULL) != 0) {
        return -1;
    }

    fulfill_run(&c->env, e->job_id, job, &res);

    now = clock_now_ms();
    snprintf(finished, sizeof(finished), "%lld", now);
    switch (res.status) {
    case FULFILL_SUCCEEDED:
        queue_job_set(c->queue, e->job_id, "status", "SUCCEEDED",
                      "finished_ms", finished, NULL);
        queue_set_provisioned_job(c->queue, order_id, e->job_id);
        created = json_string_value(json_object_get(job, "created_ms"));
        if (created != NULL) {
            metrics_provisioning_latency(c->metrics,
                (double) (now - strtoll(created, NULL, 10)) / 1000.0);
        }
        metrics_job(c->metrics, type, "succeeded");
        log_json("info", "job_finished",
                 json_pack("{s:s,s:s,s:s,s:s}", "job_id", e->job_id,
                           "order_id", order_id, "correlation_id",
                           correlation_id, "outcome", "succeeded"));
        break;

    case FULFILL_FAILED:
    case FULFILL_NEEDS_REVIEW:
    case FULFILL_SKIPPED: {
        const char *st = res.status == FULFILL_FAILED ? "FAILED"
                         : res.status == FULFILL_SKIPPED ? "SKIPPED"
                         : "NEEDS_REVIEW";

        queue_job_set(c->queue, e->job_id, "status", st, "finished_ms",
                      finished, "error_code", res.code, "error_message",
                      res.message, "skip_reason", res.skip_reason,
                      "failed_step", res.step, NULL);
        metrics_job(c->metrics, type,
                    res.status == FULFILL_FAILED ? "failed"
                    : res.status == FULFILL_SKIPPED ? "skipped"
                    : "needs_review");
        log_json(res.status == FULFILL_SKIPPED ? "info" : "warn",
                 "job_finished",
                 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "job_id", e->job_id,
                           "order_id", order_id, "correlation_id",
                           correlation_id, "outcome", st, "code", res.code,
                           "message", res.message));
        break;
    }

    case FULFILL_ABANDONED:
        log_json("warn", "job_abandoned",
                 json_pack("{s:s,s:s,s:s,s:s}", "job_id", e->job_id,
                           "order_id", order_id, "correlation_id",
                           correlation_id, "message", res.message));
        return 0;

    case FULFILL_RETRY:
        if (attempts >= c->cfg->max_attempts) {
            dead_letter(c, e, order_id, correlation_id, type, res.message);
            return 0;
        }
        delay = backoff_delay_ms(attempts, c->cfg->retry_base_ms,
                                 c->cfg->retry_max_ms, res.retry_after_s,
                                 retry_random01());
        queue_job_set(c->queue, e->job_id, "error_code", res.code,
                      "error_message", res.message, "failed_step", res.step,
                      NULL);
        if (queue_schedule_retry(c->queue, e, now + delay) != 0) {
            return -1;
        }
        metrics_job(c->metrics, type, "retry");
        log_json("warn", "job_retry_scheduled",
                 json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "job_id",
                           e->job_id, "order_id", order_id, "correlation_id",
                           correlation_id, "step", res.step, "attempt",
                           (json_int_t) attempts, "delay_ms",
                           (json_int_t) delay, "class",
                           failure_class_name(res.cls)));
        return 0;
    }
    /* finished: the next job for the order may start */
    queue_order_end(c->queue, order_id, e->job_id);
    return queue_ack(c->queue, e->entry_id);
}


/*
 * 0 when the entry was settled (or left to another run), 1 when its job is
 * leased by another run, -1 on a job store error (the entry stays pending).
 */
static int
process(consumer *c, const queue_entry *e)
{
    json_t      *job;
    int          failed, rc;
    const char  *status, *order_id, *type;

    if (e->job_id[0] == '\0') {
        return queue_ack(c->queue, e->entry_id);
    }
    switch (queue_lease_take(c->queue, e->job_id, c->lease_token,
                             c->cfg->claim_idle_ms))
    {
    case 1:
        break;
    case 0:
        /* a live run holds it (or a dead one, until its lease expires) */
        return 1;
    default:
        return -1;
    }
    /* read under the lease: a run that just ended has written its state */
    job = queue_job_get(c->queue, e->job_id, &failed);
    if (job == NULL) {
        rc = failed ? -1 : queue_ack(c->queue, e->entry_id);
        queue_lease_release(c->queue, e->job_id, c->lease_token);
        return rc;
    }
    status = json_string_value(json_object_get(job, "status"));
    order_id = json_string_value(json_object_get(job, "order_id"));
    type = json_string_value(json_object_get(job, "type"));
    if (status != NULL && is_final(status)) {
        rc = queue_ack(c->queue, e->entry_id);
    } else {
        rc = run_leased(c, e, job, order_id ? order_id : "",
                        type ? type : "unknown");
    }
    queue_lease_release(c->queue, e->job_id, c->lease_token);
    json_decref(job);
    return rc;
}


/*
 * The last successful call per integration is kept in process (metrics,
 * from every thread's calls) and published here to wh:health:last_success,
 * at most once a second and only when it moved, for /health of every
 * process on the same Redis.
 */
static void
publish_success(consumer *c, long long now)
{
    json_t      *marks, *v;
    const char  *name;
    json_int_t   ms;

    if (now - c->last_publish_ms < 1000) {
        return;
    }
    c->last_publish_ms = now;
    marks = metrics_last_success(c->metrics);
    json_object_foreach(marks, name, v) {
        ms = json_integer_value(v);
        if (ms > json_integer_value(json_object_get(c->published, name))
            && queue_mark_success(c->queue, name, ms) == 0)
        {
            json_object_set_new(c->published, name, json_integer(ms));
        }
    }
    json_decref(marks);
}


static void *
loop(void *arg)
{
    consumer     *c = arg;
    queue_entry   e;
    queue_reader  rd = { 0, 0 };
    long long     last_error_log = 0, now;
    int           got;

    while (!__atomic_load_n(&c->stopping, __ATOMIC_SEQ_CST)) {
        now = clock_now_ms();
        publish_success(c, now);
        /* short blocks: due retries are promoted between them */
        got = queue_next(c->queue, &rd, c->cfg->consumer_name,
                         c->cfg->claim_idle_ms, 200, &e);
        if (got > 0) {
            switch (process(c, &e)) {
            case 0:
                break;
            case 1:
                usleep(200 * 1000);
                break;
            default:
                got = -1;
            }
        }
        if (got < 0) {
            rd.own_checked = 0;
            if (now - last_error_log > 10000) {
                last_error_log = now;
                log_msg("error", "queue_unavailable", "%s",
                        queue_error(c->queue));
            }
            usleep(500 * 1000);
        }
    }
    /* what the last second recorded, before the process goes */
    c->last_publish_ms = 0;
    publish_success(c, clock_now_ms());
    return NULL;
}


int
consumer_start(consumer *c)
{
    if (pthread_create(&c->thread, NULL, loop, c) != 0) {
        return -1;
    }
    c->started = 1;
    return 0;
}


void
consumer_stop(consumer *c)
{
    __atomic_store_n(&c->stopping, 1, __ATOMIC_SEQ_CST);
    if (c->started) {
        pthread_join(c->thread, NULL);
        c->started = 0;
    }
}


void
consumer_free(consumer *c)
{
    if (c == NULL) {
        return;
    }
    salesforce_free(c->sf);
    whmcs_free(c->whmcs);
    outbound_free(c->http);
    queue_free(c->queue);
    json_decref(c->published);
    free(c);
}

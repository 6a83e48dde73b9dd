#include "commerce.h"
#include "clock.h"
#include "jobs/commerce.h"
#include "log.h"
#include "queue.h"
#include "retry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


struct commerce {
    const worker_config *cfg;
    metrics             *metrics;
    commerce_env        *jobs;      /* the job thread's */
    commerce_env        *timer;     /* the timer thread's */
    pthread_t            job_thread, timer_thread;
    int                  started;
    int                  stopping;  /* __atomic */
};


commerce *
commerce_new(const worker_config *cfg, metrics *m, char *err, size_t err_len)
{
    commerce *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->metrics = m;
    c->jobs = commerce_env_new(cfg, m, "jobs", err, err_len);
    c->timer = c->jobs ? commerce_env_new(cfg, m, "timer", err, err_len)
                       : NULL;
    if (c->timer == NULL) {
        commerce_free(c);
        return NULL;
    }
    return c;
}


static int
is_final(const char *s)
{
    return strcmp(s, "SUCCEEDED") == 0 || strcmp(s, "FAILED") == 0
        || strcmp(s, "DEAD") == 0;
}


static void
finish(commerce *c, const queue_entry *e, json_t *job, const char *status,
    const cj_result *res)
{
    char  now[24];

    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    queue_job_set(c->jobs->queue, e->job_id, "status", status, "outcome",
                  res->outcome, "message", res->message, "finished_ms", now,
                  "hft71_order_id", res->hft71_order_id, NULL);
    metrics_job(c->metrics, json_string_value(json_object_get(job, "kind")),
                strcmp(status, "SUCCEEDED") == 0 ? "succeeded" : "failed");
    log_json(strcmp(status, "SUCCEEDED") == 0 ? "info" : "warn",
             "job_finished",
             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "job_id", e->job_id,
                       "kind", json_string_value(json_object_get(job, "kind")),
                       "order_id",
                       json_string_value(json_object_get(job, "wc_id")),
                       "hft71_order_id", res->hft71_order_id,
                       "outcome", res->outcome, "message", res->message));
}


/* 0 settled or left for later, -1 on a Redis error */
static int
process(commerce *c, const queue_entry *e)
{
    commerce_env *env = c->jobs;
    json_t       *job;
    int           failed, rc = 0;
    long long     wc, attempts, now;
    const char   *status;
    cj_result     res;
    long          delay;

    if (e->job_id[0] == '\0') {
        return queue_ack(env->queue, e->entry_id);
    }
    job = queue_job_get(env->queue, e->job_id, &failed);
    if (job == NULL) {
        return failed ? -1 : queue_ack(env->queue, e->entry_id);
    }
    status = json_string_value(json_object_get(job, "status"));
    if (status != NULL && is_final(status)) {
        json_decref(job);
        return queue_ack(env->queue, e->entry_id);
    }
    wc = strtoll(json_string_value(json_object_get(job, "wc_id"))
                 ? json_string_value(json_object_get(job, "wc_id")) : "0",
                 NULL, 10);
    switch (commerce_lease_take(env, wc)) {
    case 1:
        break;
    case 0:
        /* another run works on this order: come back shortly, not
         * counted as an attempt */
        rc = queue_schedule_retry(env->queue, e, clock_now_ms() + 300);
        json_decref(job);
        return rc;
    default:
        json_decref(job);
        return -1;
    }
    /* read again under the lease: a run that just ended wrote its state */
    json_decref(job);
    job = queue_job_get(env->queue, e->job_id, &failed);
    status = job ? json_string_value(json_object_get(job, "status")) : NULL;
    if (job == NULL || (status != NULL && is_final(status))) {
        rc = failed ? -1 : queue_ack(env->queue, e->entry_id);
        goto done;
    }
    attempts = queue_job_incr_attempts(env->queue, e->job_id);
    if (attempts < 0) {
        rc = -1;
        goto done;
    }
    if (attempts > c->cfg->max_attempts) {
        queue_job_set(env->queue, e->job_id, "outcome", "crash_loop", NULL);
        rc = queue_dead_letter(env->queue, e, "the job never finished a run");
        goto done;
    }
    queue_job_set(env->queue, e->job_id, "status", "RUNNING", NULL);
    commerce_run_job(env, e->job_id, job, &res);
    now = clock_now_ms();
    switch (res.status) {
    case CJ_DONE:
        finish(c, e, job, "SUCCEEDED", &res);
        rc = queue_ack(env->queue, e->entry_id);
        break;
    case CJ_FAILED:
        finish(c, e, job, "FAILED", &res);
        rc = queue_ack(env->queue, e->entry_id);
        break;
    case CJ_ABANDONED:
        log_json("warn", "job_abandoned",
                 json_pack("{s:s,s:I,s:s}", "job_id", e->job_id, "order_id",
                           (json_int_t) wc, "message", res.message));
        break;
    case CJ_RETRY:
        queue_job_set(env->queue, e->job_id, "outcome", res.outcome,
                      "message", res.message, NULL);
        if (attempts >= c->cfg->max_attempts) {
            metrics_job(c->metrics, json_string_value(json_object_get(job,
                                                                  "kind")),
                        "dead");
            log_json("error", "job_dead_lettered",
                     json_pack("{s:s,s:I,s:s}", "job_id", e->job_id,
                               "order_id", (json_int_t) wc, "message",
                               res.message));
            rc = queue_dead_letter(env->queue, e, res.message);
            break;
        }
        delay = backoff_delay_ms(attempts, c->cfg->retry_base_ms,
                                 c->cfg->retry_max_ms, res.retry_after_s,
                                 retry_random01());
        metrics_job(c->metrics, json_string_value(json_object_get(job, "kind")),
                    "retry");
        log_json("warn", "job_retry_scheduled",
                 json_pack("{s:s,s:I,s:I,s:I,s:s,s:s}", "job_id", e->job_id,
                           "order_id", (json_int_t) wc, "attempt",
                           (json_int_t) attempts, "delay_ms",
                           (json_int_t) delay, "class",
                           failure_class_name(res.cls), "message",
                           res.message));
        rc = queue_schedule_retry(env->queue, e, now + delay);
        break;
    }

done:
    commerce_lease_release(env, wc);
    json_decref(job);
    return rc;
}


static void *
job_loop(void *arg)
{
    commerce    *c = arg;
    queue        *q = c->jobs->queue;
    queue_entry   e;
    queue_reader  rd = { 0, 0 };
    long long     last_error_log = 0, now;
    int           got;

    while (!__atomic_load_n(&c->stopping, __ATOMIC_SEQ_CST)) {
        now = clock_now_ms();
        got = queue_next(q, &rd, c->cfg->consumer_name, c->cfg->claim_idle_ms,
                         200, &e);
        if (got > 0 && process(c, &e) != 0) {
            got = -1;
        }
        if (got < 0) {
            rd.own_checked = 0;
            if (now - last_error_log > 10000) {
                last_error_log = now;
                log_msg("error", "queue_unavailable", "commerce: %s",
                        queue_error(q));
            }
            usleep(500 * 1000);
        }
    }
    return NULL;
}


static void *
timer_loop(void *arg)
{
    commerce   *c = arg;
    long long   now = clock_now_ms();
    long long   next_sweep = now + c->cfg->hft71_sweep_interval_s * 1000;
    long long   next_poll = now + c->cfg->hft71_poll_interval_s * 1000;

    while (!__atomic_load_n(&c->stopping, __ATOMIC_SEQ_CST)) {
        now = clock_now_ms();
        if (now >= next_sweep) {
            next_sweep = now + c->cfg->hft71_sweep_interval_s * 1000;
            commerce_sweep(c->timer, now);
        }
        if (now >= next_poll) {
            next_poll = now + c->cfg->hft71_poll_interval_s * 1000;
            commerce_poll(c->timer, now);
        }
        usleep(100 * 1000);
    }
    return NULL;
}


int
commerce_start(commerce *c)
{
    if (pthread_create(&c->job_thread, NULL, job_loop, c) != 0) {
        return -1;
    }
    if (pthread_create(&c->timer_thread, NULL, timer_loop, c) != 0) {
        __atomic_store_n(&c->stopping, 1, __ATOMIC_SEQ_CST);
        pthread_join(c->job_thread, NULL);
        return -1;
    }
    c->started = 1;
    return 0;
}


void
commerce_stop(commerce *c)
{
    __atomic_store_n(&c->stopping, 1, __ATOMIC_SEQ_CST);
    if (c->started) {
        pthread_join(c->job_thread, NULL);
        pthread_join(c->timer_thread, NULL);
        c->started = 0;
    }
}


void
commerce_free(commerce *c)
{
    if (c != NULL) {
        commerce_env_free(c->jobs);
        commerce_env_free(c->timer);
        free(c);
    }
}

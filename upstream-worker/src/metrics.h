/* In-process counters rendered as Prometheus text. Thread-safe. */
#ifndef WORKER_METRICS_H
#define WORKER_METRICS_H

#include <stddef.h>

#include <jansson.h>

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);

void metrics_intake(metrics *m, const char *endpoint, int status);
void metrics_job(metrics *m, const char *type, const char *outcome);
void metrics_step(metrics *m, const char *step, double seconds);
void metrics_provisioning_latency(metrics *m, double seconds);
/* status_class: "2xx", "4xx", "5xx", "transport", "timeout" ... */
void metrics_outbound(metrics *m, const char *integration,
    const char *status_class);

/* The commerce flow's counters; labels as named. */
typedef enum {
    MC_HFT71_CALL,          /* action, status_class */
    MC_HFT71_SENT,          /* source */
    MC_HFT71_DUPLICATE,     /* how */
    MC_STATUS_UPDATE,       /* source, outcome */
    MC_STRIPE_EVENT,        /* effect, outcome */
    MC_REGISTRY_REQUEST,    /* endpoint, code (the registration API) */
    MC_REGISTRY_QUEUED,     /* provider (deliveries queued) */
    MC_STOCK_RUN,           /* outcome */
    MC_STOCK_ITEMS          /* endpoint, outcome */
} metrics_counter;
void metrics_commerce(metrics *m, metrics_counter c, const char *a,
    const char *b);

/* Gauges of the stock sync; label as named (NULL when it has none). */
typedef enum {
    MG_STOCK_DRIFT,             /* kind: the last drift report's counts */
    MG_STOCK_LAST_SUCCESS,      /* unix seconds, any worker's (Redis) */
    MG_STOCK_LAST_RUN_WRITTEN,  /* items written by this process's last run */
    MG_STOCK_INTERVAL           /* HFT71_STOCK_INTERVAL_S, when the timer is on */
} metrics_gauge_kind;
void metrics_gauge(metrics *m, metrics_gauge_kind g, const char *label,
    double value);

/* The time of an integration's latest successful call (a 2xx answer, for
 * WHMCS with result=success); at most METRICS_INTEGRATIONS names. */
#define METRICS_INTEGRATIONS 8
void metrics_success(metrics *m, const char *integration, long long now_ms);
/* {integration: unix ms} of the calls above; new reference. */
json_t *metrics_last_success(metrics *m);

/* malloc'd Prometheus exposition text. */
char *metrics_render(metrics *m);

#endif

#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRIC_SERIES_MAX 256

/* One labelled series: a counter, or a sum/count pair for durations. */
typedef struct {
    int     family;
    char    labels[160];
    double  value;      /* counter value or sum of seconds */
    long    count;
} series;

enum {
    FAM_INTAKE,
    FAM_JOBS,
    FAM_STEP,
    FAM_LATENCY,
    FAM_OUTBOUND,
    FAM_HFT71_CALLS,
    FAM_HFT71_SENT,
    FAM_HFT71_DUPS,
    FAM_STATUS_UPDATES,
    FAM_STRIPE,
    FAM_REGISTRY_REQUESTS,
    FAM_REGISTRY_QUEUED,
    FAM_STOCK_RUNS,
    FAM_STOCK_ITEMS,
    FAM_COUNT
};

static const struct {
    const char *name;
    const char *help;
    int         summary;
} families[FAM_COUNT] = {
    { "webhook_worker_intake_requests_total",
      "Intake requests by endpoint and HTTP status.", 0 },
    { "webhook_worker_jobs_total",
      "Finished job runs by type and outcome.", 0 },
    { "webhook_worker_step_duration_seconds",
      "Job step durations.", 1 },
    { "webhook_worker_provisioning_latency_seconds",
      "From intake to Provisioned.", 1 },
    { "webhook_worker_outbound_calls_total",
      "Outbound calls by integration and status class.", 0 },
    { "webhook_worker_hft71_calls_total",
      "HFT71 calls by the runbook's action and status class.", 0 },
    { "webhook_worker_hft71_orders_sent_total",
      "HFT71 orders created by send_order, by trigger.", 0 },
    { "webhook_worker_hft71_duplicates_prevented_total",
      "send_order runs that found the order already sent, by how.", 0 },
    { "webhook_worker_hft71_status_updates_total",
      "HFT71 statuses by source (webhook, poll) and outcome.", 0 },
    { "webhook_worker_stripe_events_total",
      "Stripe events handled, by effect and outcome.", 0 },
    { "webhook_worker_registry_requests_total",
      "Registration API and delivery requests by endpoint and HTTP status.",
      0 },
    { "webhook_worker_registry_deliveries_queued_total",
      "Registry deliveries queued on a tenant's stream, by provider.", 0 },
    { "webhook_worker_stock_sync_runs_total",
      "Finished stock sync runs by outcome.", 0 },
    { "webhook_worker_stock_sync_items_total",
      "Stock items written to WooCommerce (or failed), by endpoint.", 0 },
};

#define METRIC_GAUGES_MAX 12

static const struct {
    const char *name;
    const char *help;
    const char *label;
} gauge_families[] = {
    [MG_STOCK_DRIFT] = { "webhook_worker_stock_drift_skus",
      "SKUs by drift kind in the last GET /stock/drift.", "kind" },
    [MG_STOCK_LAST_SUCCESS] = {
      "webhook_worker_stock_sync_last_success_timestamp_seconds",
      "End of the last successful stock sync run (any worker).", NULL },
    [MG_STOCK_LAST_RUN_WRITTEN] = {
      "webhook_worker_stock_sync_last_run_items_written",
      "Items the last successful run of this process wrote.", NULL },
    [MG_STOCK_INTERVAL] = { "webhook_worker_stock_sync_interval_seconds",
      "HFT71_STOCK_INTERVAL_S (only while the stock sync timer is on).",
      NULL },
};

struct metrics {
    pthread_mutex_t  lock;
    series           s[METRIC_SERIES_MAX];
    size_t           n;
    struct {
        char         integration[32];
        long long    ms;
    }                success[METRICS_INTEGRATIONS];
    size_t           n_success;
    struct {
        int          kind;
        char         label[48];
        double       value;
    }                gauges[METRIC_GAUGES_MAX];
    size_t           n_gauges;
};


metrics *
metrics_new(void)
{
    metrics *m = calloc(1, sizeof(*m));

    if (m != NULL) {
        pthread_mutex_init(&m->lock, NULL);
    }
    return m;
}


void
metrics_free(metrics *m)
{
    if (m != NULL) {
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
}


static void
add(metrics *m, int family, const char *labels, double value)
{
    size_t i;

    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n; i++) {
        if (m->s[i].family == family && strcmp(m->s[i].labels, labels) == 0) {
            break;
        }
    }
    if (i == m->n) {
        if (m->n == METRIC_SERIES_MAX) {
            pthread_mutex_unlock(&m->lock);
            return;
        }
        m->s[i].family = family;
        snprintf(m->s[i].labels, sizeof(m->s[i].labels), "%s", labels);
        m->n++;
    }
    m->s[i].value += value;
    m->s[i].count++;
    pthread_mutex_unlock(&m->lock);
}


void
metrics_intake(metrics *m, const char *endpoint, int status)
{
    char l[160];

    snprintf(l, sizeof(l), "endpoint=\"%s\",code=\"%d\"", endpoint, status);
    add(m, FAM_INTAKE, l, 1);
}


void
metrics_job(metrics *m, const char *type, const char *outcome)
{
    char l[160];

    snprintf(l, sizeof(l), "type=\"%s\",outcome=\"%s\"", type, outcome);
    add(m, FAM_JOBS, l, 1);
}


void
metrics_step(metrics *m, const char *step, double seconds)
{
    char l[160];

    snprintf(l, sizeof(l), "step=\"%s\"", step);
    add(m, FAM_STEP, l, seconds);
}


void
metrics_provisioning_latency(metrics *m, double seconds)
{
    add(m, FAM_LATENCY, "", seconds);
}


void
metrics_outbound(metrics *m, const char *integration, const char *status_class)
{
    char l[160];

    snprintf(l, sizeof(l), "integration=\"%s\",status_class=\"%s\"",
             integration, status_class);
    add(m, FAM_OUTBOUND, l, 1);
}


void
metrics_commerce(metrics *m, metrics_counter c, const char *a, const char *b)
{
    static const struct {
        int         family;
        const char *first;
        const char *second;
    } map[] = {
        [MC_HFT71_CALL] = { FAM_HFT71_CALLS, "action", "status_class" },
        [MC_HFT71_SENT] = { FAM_HFT71_SENT, "source", NULL },
        [MC_HFT71_DUPLICATE] = { FAM_HFT71_DUPS, "how", NULL },
        [MC_STATUS_UPDATE] = { FAM_STATUS_UPDATES, "source", "outcome" },
        [MC_STRIPE_EVENT] = { FAM_STRIPE, "effect", "outcome" },
        [MC_REGISTRY_REQUEST] = { FAM_REGISTRY_REQUESTS, "endpoint", "code" },
        [MC_REGISTRY_QUEUED] = { FAM_REGISTRY_QUEUED, "provider", NULL },
        [MC_STOCK_RUN] = { FAM_STOCK_RUNS, "outcome", NULL },
        [MC_STOCK_ITEMS] = { FAM_STOCK_ITEMS, "endpoint", "outcome" },
    };
    char l[160];

    if (map[c].second != NULL) {
        snprintf(l, sizeof(l), "%s=\"%s\",%s=\"%s\"", map[c].first, a,
                 map[c].second, b ? b : "");
    } else {
        snprintf(l, sizeof(l), "%s=\"%s\"", map[c].first, a);
    }
    add(m, map[c].family, l, 1);
}


void
metrics_gauge(metrics *m, metrics_gauge_kind g, const char *label,
    double value)
{
    size_t i;

    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n_gauges; i++) {
        if (m->gauges[i].kind == (int) g
            && strcmp(m->gauges[i].label, label ? label : "") == 0)
        {
            break;
        }
    }
    if (i == m->n_gauges && i < METRIC_GAUGES_MAX) {
        m->gauges[i].kind = (int) g;
        snprintf(m->gauges[i].label, sizeof(m->gauges[i].label), "%s",
                 label ? label : "");
        m->n_gauges++;
    }
    if (i < m->n_gauges) {
        m->gauges[i].value = value;
    }
    pthread_mutex_unlock(&m->lock);
}


void
metrics_success(metrics *m, const char *integration, long long now_ms)
{
    size_t i;

    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n_success; i++) {
        if (strcmp(m->success[i].integration, integration) == 0) {
            break;
        }
    }
    if (i == m->n_success && i < METRICS_INTEGRATIONS) {
        snprintf(m->success[i].integration,
                 sizeof(m->success[i].integration), "%s", integration);
        m->n_success++;
    }
    if (i < m->n_success && now_ms > m->success[i].ms) {
        m->success[i].ms = now_ms;
    }
    pthread_mutex_unlock(&m->lock);
}


json_t *
metrics_last_success(metrics *m)
{
    json_t *v = json_object();
    size_t  i;

    if (v == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n_success; i++) {
        json_object_set_new(v, m->success[i].integration,
                            json_integer(m->success[i].ms));
    }
    pthread_mutex_unlock(&m->lock);
    return v;
}


char *
metrics_render(metrics *m)
{
    size_t  cap = 4096 + METRIC_SERIES_MAX * 400, len = 0, i;
    char   *out = malloc(cap);
    int     f;

#define EMIT(...) \
    len += (size_t) snprintf(out + len, cap - len, __VA_ARGS__)

    if (out == NULL) {
        return NULL;
    }
    out[0] = '\0';
    pthread_mutex_lock(&m->lock);
    for (f = 0; f < FAM_COUNT; f++) {
        EMIT("# HELP %s %s\n# TYPE %s %s\n", families[f].name,
             families[f].help, families[f].name,
             families[f].summary ? "summary" : "counter");
        for (i = 0; i < m->n && len < cap - 400; i++) {
            series *s = &m->s[i];

            if (s->family != f) {
                continue;
            }
            if (families[f].summary) {
                EMIT("%s_sum%s%s%s %.6f\n", families[f].name,
                     s->labels[0] ? "{" : "", s->labels,
                     s->labels[0] ? "}" : "", s->value);
                EMIT("%s_count%s%s%s %ld\n", families[f].name,
                     s->labels[0] ? "{" : "", s->labels,
                     s->labels[0] ? "}" : "", s->count);
            } else {
                EMIT("%s{%s} %.0f\n", families[f].name, s->labels, s->value);
            }
        }
    }
    EMIT("# HELP webhook_worker_last_success_timestamp_seconds Last "
         "successful call by integration.\n"
         "# TYPE webhook_worker_last_success_timestamp_seconds gauge\n");
    for (i = 0; i < m->n_success && len < cap - 400; i++) {
        EMIT("webhook_worker_last_success_timestamp_seconds"
             "{integration=\"%s\"} %.3f\n", m->success[i].integration,
             (double) m->success[i].ms / 1000.0);
    }
    for (f = 0; f < (int) (sizeof(gauge_families)
                           / sizeof(gauge_families[0])); f++)
    {
        int header = 0;

        for (i = 0; i < m->n_gauges && len < cap - 400; i++) {
            if (m->gauges[i].kind != f) {
                continue;
            }
            if (!header) {
                EMIT("# HELP %s %s\n# TYPE %s gauge\n",
                     gauge_families[f].name, gauge_families[f].help,
                     gauge_families[f].name);
                header = 1;
            }
            if (gauge_families[f].label != NULL) {
                EMIT("%s{%s=\"%s\"} %.3f\n", gauge_families[f].name,
                     gauge_families[f].label, m->gauges[i].label,
                     m->gauges[i].value);
            } else {
                EMIT("%s %.3f\n", gauge_families[f].name,
                     m->gauges[i].value);
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
#undef EMIT
    return out;
}

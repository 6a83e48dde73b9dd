/*
 * A registration's health from the edge's per-minute counters (pure, no
 * I/O). Over the window (REGISTRY_HEALTH_WINDOW_S):
 *   failed    at least REGISTRY_FAILED_MIN failures and at least half of
 *             the window's deliveries failed;
 *   degraded  at least one failure and at least a tenth failed;
 *   healthy   otherwise (no traffic is healthy: silence only adds a
 *             recommendation, after REGISTRY_SILENCE_S).
 */
#ifndef WORKER_REGISTRY_HEALTH_H
#define WORKER_REGISTRY_HEALTH_H

#include <stddef.h>

#include <jansson.h>

#define REGISTRY_FAILED_MIN     5
#define REGISTRY_FAILED_PCT     50
#define REGISTRY_DEGRADED_PCT   10
#define REGISTRY_SILENCE_S      (6 * 3600)
#define REGISTRY_REASONS_MAX    24
#define REGISTRY_REASON_LEN     48

typedef enum {
    HEALTH_HEALTHY = 0,
    HEALTH_DEGRADED,
    HEALTH_FAILED
} registry_health_status;

typedef struct {
    char       name[REGISTRY_REASON_LEN];
    long long  n;
} registry_reason_count;

typedef struct {
    long long              passed;
    long long              failures;         /* every field but "passed" */
    registry_reason_count  reasons[REGISTRY_REASONS_MAX];
    size_t                 n_reasons;
    long long              last_event_at;    /* unix s, 0 = never */
    long long              last_failure_at;
    char                   last_reason[REGISTRY_REASON_LEN];
    long long              created_at;
} registry_stats;

/* One field of a minute bucket: "passed", or a rejection reason. Negative
 * or absurd counts are ignored. */
void registry_stats_add(registry_stats *s, const char *field, long long n);

registry_health_status registry_health_of(const registry_stats *s);
const char *registry_health_name(registry_health_status h);

/* The operator's to-do list, most frequent problem first (new array). */
json_t *registry_health_recommendations(const registry_stats *s,
    long long now, long window_s);

#endif

/* In-process counters rendered as Prometheus text. Thread-safe. */
#ifndef WORKER_METRICS_H
#define WORKER_METRICS_H

#include <stddef.h>

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

/* malloc'd Prometheus exposition text. */
char *metrics_render(metrics *m);

#endif

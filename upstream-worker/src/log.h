/* JSON-lines logging on stderr. Never pass a secret, token or MAC here. */
#ifndef WORKER_LOG_H
#define WORKER_LOG_H

#include <jansson.h>

typedef struct {
    const char *job_id;
    const char *order_id;
    const char *correlation_id;
    const char *hft71_order_id;     /* the commerce flow's, may be NULL */
} log_job;

/* Takes ownership of fields (may be NULL); adds ts, level and event. */
void log_json(const char *level, const char *event, json_t *fields);
void log_msg(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One line per job step: step, outcome, duration; message may be NULL. */
void log_step(const log_job *job, const char *step, const char *outcome,
    long duration_ms, const char *message);

#endif

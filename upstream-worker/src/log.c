#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>


void
log_json(const char *level, const char *event, json_t *fields)
{
    struct timeval  tv;
    struct tm       tm;
    char            ts[96];
    char           *line;
    json_t         *obj;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000));

    obj = json_object();
    if (obj == NULL) {
        json_decref(fields);
        return;
    }
    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(level));
    json_object_set_new(obj, "event", json_string(event));
    if (fields != NULL) {
        json_object_update(obj, fields);
        json_decref(fields);
    }
    line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (line != NULL) {
        /* one fputs per line: stdio's lock keeps threads' lines whole */
        fprintf(stderr, "%s\n", line);
        free(line);
    }
}


void
log_msg(const char *level, const char *event, const char *fmt, ...)
{
    char     buf[1024];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_json(level, event, json_pack("{s:s}", "message", buf));
}


void
log_step(const log_job *job, const char *step, const char *outcome,
    long duration_ms, const char *message)
{
    json_t *f = json_object();

    if (f == NULL) {
        return;
    }
    if (job != NULL) {
        if (job->job_id) {
            json_object_set_new(f, "job_id", json_string(job->job_id));
        }
        if (job->order_id) {
            json_object_set_new(f, "order_id", json_string(job->order_id));
        }
        if (job->correlation_id) {
            json_object_set_new(f, "correlation_id",
                                json_string(job->correlation_id));
        }
    }
    json_object_set_new(f, "step", json_string(step));
    json_object_set_new(f, "outcome", json_string(outcome));
    if (duration_ms >= 0) {
        json_object_set_new(f, "duration_ms", json_integer(duration_ms));
    }
    if (message != NULL) {
        json_object_set_new(f, "message", json_string(message));
    }
    log_json(strcmp(outcome, "ok") == 0 || strcmp(outcome, "skipped") == 0
             ? "info" : "warn", "job_step", f);
}

/* Outbound HTTP (libcurl) with timeouts, classification and a log line. */
#ifndef WORKER_OUTBOUND_H
#define WORKER_OUTBOUND_H

#include <stddef.h>

#include "log.h"
#include "metrics.h"
#include "retry.h"

typedef struct outbound outbound;

typedef struct {
    int            curl_code;
    long           status;
    char          *body;
    size_t         len;
    long           retry_after_s;   /* -1 when absent */
    long           total_pages;     /* X-WP-TotalPages, -1 when absent */
    long           total;           /* X-WP-Total, -1 when absent */
    failure_class  cls;
} http_result;

/* What a client call ended with; cls FAIL_NONE is success. */
typedef struct {
    failure_class  cls;
    long           status;
    long           retry_after_s;
    int            not_sent;        /* the request never reached the server */
    char           code[64];        /* the API's error code, if any */
    char           message[512];
} call_outcome;

outbound *outbound_new(metrics *m, long timeout_ms);
void outbound_free(outbound *o);
/* Keep cookies between calls (CometD's BAYEUX_BROWSER session cookie). */
void outbound_keep_cookies(outbound *o);
/* Abort a call in flight (a long poll) once *flag becomes non-zero. */
void outbound_abort_on(outbound *o, const int *flag);

/* Job context for log lines (may be NULL); not copied. */
void outbound_set_job(outbound *o, const log_job *job);

/* headers: NULL-terminated "Name: value" list. 0 if a response or a
 * transport failure was recorded in res (see res->cls). */
int outbound_call(outbound *o, const char *integration, const char *action,
    const char *method, const char *url, const char *const *headers,
    const char *body, http_result *res);
void http_result_free(http_result *res);
/* "2xx", "4xx", "429", "5xx", "transport", "timeout" (metrics, logs). */
const char *outbound_status_class(const http_result *r);
/* The client saw the API succeed (metrics_success, for GET /health). */
void outbound_success(outbound *o, const char *integration);

/* percent-encoding for form bodies and SOQL; malloc'd */
char *outbound_escape(outbound *o, const char *s);

void call_outcome_set(call_outcome *out, failure_class cls, long status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif

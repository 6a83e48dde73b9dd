#include "outbound.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <curl/curl.h>

struct outbound {
    CURL           *curl;
    metrics        *metrics;
    long            timeout_ms;
    const log_job  *job;
    int             cookies;
    const int      *abort_flag;
};

typedef struct {
    char   *data;
    size_t  len;
    long    retry_after_s;
    long    total_pages;
    long    total;
} sink;


outbound *
outbound_new(metrics *m, long timeout_ms)
{
    outbound *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        return NULL;
    }
    o->curl = curl_easy_init();
    if (o->curl == NULL) {
        free(o);
        return NULL;
    }
    o->metrics = m;
    o->timeout_ms = timeout_ms;
    return o;
}


void
outbound_free(outbound *o)
{
    if (o != NULL) {
        curl_easy_cleanup(o->curl);
        free(o);
    }
}


void
outbound_keep_cookies(outbound *o)
{
    o->cookies = 1;
}


void
outbound_abort_on(outbound *o, const int *flag)
{
    o->abort_flag = flag;
}


static int
on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    const int *flag = clientp;

    (void) dltotal;
    (void) dlnow;
    (void) ultotal;
    (void) ulnow;
    return __atomic_load_n(flag, __ATOMIC_SEQ_CST) ? 1 : 0;
}


void
outbound_set_job(outbound *o, const log_job *job)
{
    o->job = job;
}


static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink   *s = userdata;
    size_t  n = size * nmemb;
    char   *d;

    if (s->len + n > 8 * 1024 * 1024) {
        return 0;
    }
    d = realloc(s->data, s->len + n + 1);
    if (d == NULL) {
        return 0;
    }
    memcpy(d + s->len, ptr, n);
    s->data = d;
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}


static size_t
on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    sink   *s = userdata;
    size_t  n = size * nitems;
    char    line[256];

    if (n > 12 && n < sizeof(line) && strncasecmp(buf, "Retry-After:", 12) == 0)
    {
        memcpy(line, buf + 12, n - 12);
        line[n - 12] = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        s->retry_after_s = parse_retry_after(line, time(NULL));
    } else if (n > 16 && n < sizeof(line)
               && strncasecmp(buf, "X-WP-TotalPages:", 16) == 0)
    {
        memcpy(line, buf + 16, n - 16);
        line[n - 16] = '\0';
        s->total_pages = strtol(line, NULL, 10);
    } else if (n > 11 && n < sizeof(line)
               && strncasecmp(buf, "X-WP-Total:", 11) == 0)
    {
        memcpy(line, buf + 11, n - 11);
        line[n - 11] = '\0';
        s->total = strtol(line, NULL, 10);
    }
    return n;
}


const char *
outbound_status_class(const http_result *r)
{
    if (r->curl_code != CURLE_OK) {
        return r->cls == FAIL_TIMEOUT ? "timeout" : "transport";
    }
    if (r->status >= 200 && r->status < 300) {
        return "2xx";
    }
    if (r->status == 429) {
        return "429";
    }
    if (r->status >= 500) {
        return "5xx";
    }
    if (r->status >= 400) {
        return "4xx";
    }
    return "other";
}


int
outbound_call(outbound *o, const char *integration, const char *action,
    const char *method, const char *url, const char *const *headers,
    const char *body, http_result *res)
{
    struct curl_slist *hl = NULL;
    struct timeval     t0, t1;
    sink               s = { NULL, 0, -1, -1, -1 };
    long               ms;
    json_t            *f;
    size_t             i;

    memset(res, 0, sizeof(*res));
    for (i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
    }
    /* no "Expect: 100-continue" round trip for our small bodies */
    hl = curl_slist_append(hl, "Expect:");

    curl_easy_reset(o->curl);
    curl_easy_setopt(o->curl, CURLOPT_URL, url);
    curl_easy_setopt(o->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(o->curl, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(o->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     o->timeout_ms < 5000 ? o->timeout_ms : 5000L);
    curl_easy_setopt(o->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(o->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(o->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(o->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(o->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(o->curl, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(o->curl, CURLOPT_USERAGENT, "webhook-worker/1");
    if (o->cookies == 1) {
        /* once: the cookie store outlives curl_easy_reset, and each
         * COOKIEFILE would add to a list that is never freed */
        curl_easy_setopt(o->curl, CURLOPT_COOKIEFILE, "");
        o->cookies = 2;
    }
    if (o->abort_flag != NULL) {
        curl_easy_setopt(o->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(o->curl, CURLOPT_XFERINFODATA, o->abort_flag);
        curl_easy_setopt(o->curl, CURLOPT_NOPROGRESS, 0L);
    }
    if (strcmp(method, "GET") != 0) {
        /*
         * curl silently resends a request whose reused connection dies
         * before any answer: for AddOrder that is a second order.
         */
        curl_easy_setopt(o->curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(o->curl, CURLOPT_FORBID_REUSE, 1L);
    }
    if (body != NULL) {
        curl_easy_setopt(o->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(o->curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
    }

    gettimeofday(&t0, NULL);
    res->curl_code = (int) curl_easy_perform(o->curl);
    gettimeofday(&t1, NULL);
    curl_slist_free_all(hl);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;

    if (res->curl_code == CURLE_OK) {
        curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, &res->status);
    }
    res->body = s.data;
    res->len = s.len;
    res->retry_after_s = s.retry_after_s;
    res->total_pages = s.total_pages;
    res->total = s.total;
    res->cls = classify_http(res->curl_code, res->status);
    metrics_outbound(o->metrics, integration, outbound_status_class(res));

    f = json_pack("{s:s,s:s,s:I,s:I,s:s}", "integration", integration,
                  "action", action, "status", (json_int_t) res->status,
                  "duration_ms", (json_int_t) ms, "class",
                  failure_class_name(res->cls));
    if (f != NULL && o->job != NULL) {
        if (o->job->job_id) {
            json_object_set_new(f, "job_id", json_string(o->job->job_id));
        }
        if (o->job->order_id) {
            json_object_set_new(f, "order_id", json_string(o->job->order_id));
        }
        if (o->job->correlation_id) {
            json_object_set_new(f, "correlation_id",
                                json_string(o->job->correlation_id));
        }
        if (o->job->hft71_order_id && o->job->hft71_order_id[0]) {
            json_object_set_new(f, "hft71_order_id",
                                json_string(o->job->hft71_order_id));
        }
    }
    if (f != NULL && res->curl_code != CURLE_OK) {
        json_object_set_new(f, "error",
                            json_string(curl_easy_strerror(res->curl_code)));
    }
    log_json(res->cls == FAIL_NONE ? "info" : "warn", "outbound_call", f);
    return 0;
}


void
http_result_free(http_result *res)
{
    free(res->body);
    res->body = NULL;
}


void
outbound_success(outbound *o, const char *integration)
{
    metrics_success(o->metrics, integration, clock_now_ms());
}


char *
outbound_escape(outbound *o, const char *s)
{
    char *e = curl_easy_escape(o->curl, s, 0);
    char *copy;

    if (e == NULL) {
        return NULL;
    }
    copy = strdup(e);
    curl_free(e);
    return copy;
}


void
call_outcome_set(call_outcome *out, failure_class cls, long status,
    const char *code, const char *fmt, ...)
{
    va_list ap;

    out->cls = cls;
    out->status = status;
    snprintf(out->code, sizeof(out->code), "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}


/*
 * Copyright (C) webhook edge authors
 *
 * webhook_status: counters per label and outcome, as JSON or in the
 * Prometheus text format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"


#define NGX_HTTP_WEBHOOK_LINE  (NGX_HTTP_WEBHOOK_LABEL_LEN + 128)


typedef struct {
    ngx_buf_t   *buf;
    ngx_uint_t   prometheus;
    ngx_uint_t   n;
} ngx_http_webhook_report_t;


static ngx_int_t ngx_http_webhook_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_report_label(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c);
static ngx_int_t ngx_http_webhook_count_label(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c);
static ngx_int_t ngx_http_webhook_status_probe(ngx_http_request_t *r,
    ngx_http_webhook_main_conf_t *wmcf, ngx_str_t *probe);
static ngx_int_t ngx_http_webhook_each_label(ngx_http_request_t *r,
    ngx_int_t (*each)(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c), void *data);


char *
ngx_http_webhook_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->status) {
        return "is duplicate";
    }

    wlcf->status = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_webhook_status_handler;

    return NGX_CONF_OK;
}


void
ngx_http_webhook_count(ngx_http_webhook_loc_conf_t *wlcf, ngx_uint_t counter)
{
    if (wlcf->label && wlcf->label->counters) {
        (void) ngx_atomic_fetch_add(&wlcf->label->counters->count[counter], 1);
    }
}


static ngx_int_t
ngx_http_webhook_each_label(ngx_http_request_t *r,
    ngx_int_t (*each)(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c), void *data)
{
    ngx_uint_t                      i;
    ngx_http_webhook_label_t      **labels;
    ngx_http_webhook_main_conf_t   *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    if (wmcf->zone) {
        /* every label the zone has seen, across reloads and workers */
        return ngx_http_webhook_shm_labels(wmcf->zone, each, data);
    }

    labels = wmcf->labels.elts;

    for (i = 0; i < wmcf->labels.nelts; i++) {
        if (each(data, &labels[i]->name, labels[i]->counters) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_count_label(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c)
{
    ngx_http_webhook_report_t  *rep = data;

    rep->n++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_report_label(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c)
{
    ngx_http_webhook_report_t  *rep = data;

    ngx_uint_t   i;
    ngx_buf_t   *b;

    b = rep->buf;

    if (rep->prometheus) {
        for (i = 0; i < NGX_HTTP_WEBHOOK_NCOUNTERS; i++) {
            b->last = ngx_sprintf(b->last,
                                  "webhook_requests_total{label=\"%V\","
                                  "outcome=\"%V\"} %uA\n",
                                  name, &ngx_http_webhook_counter_names[i],
                                  c->count[i]);
        }

        return NGX_OK;
    }

    b->last = ngx_sprintf(b->last, "%s\"%V\":{", rep->n++ ? "," : "", name);

    for (i = 0; i < NGX_HTTP_WEBHOOK_NCOUNTERS; i++) {
        b->last = ngx_sprintf(b->last, "%s\"%V\":%uA", i ? "," : "",
                              &ngx_http_webhook_counter_names[i],
                              c->count[i]);
    }

    *b->last++ = '}';

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_status_handler(ngx_http_request_t *r)
{
    size_t                         size;
    ngx_int_t                      rc;
    ngx_str_t                      format, probe;
    ngx_uint_t                     entries, evicted;
    ngx_buf_t                     *b;
    ngx_chain_t                    out;
    ngx_http_webhook_report_t      rep;
    ngx_http_webhook_main_conf_t  *wmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    if (ngx_http_arg(r, (u_char *) "probe", 5, &probe) == NGX_OK) {
        return ngx_http_webhook_status_probe(r, wmcf, &probe);
    }

    ngx_memzero(&rep, sizeof(ngx_http_webhook_report_t));

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
        && format.len == 10
        && ngx_strncmp(format.data, "prometheus", 10) == 0)
    {
        rep.prometheus = 1;
    }

    if (ngx_http_webhook_each_label(r, ngx_http_webhook_count_label, &rep)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = 2048 + rep.n * NGX_HTTP_WEBHOOK_NCOUNTERS * NGX_HTTP_WEBHOOK_LINE;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rep.buf = b;
    rep.n = 0;

    entries = 0;
    evicted = 0;

    if (wmcf->zone) {
        entries = ngx_http_webhook_shm_entries(wmcf->zone, &evicted);
    }

    if (rep.prometheus) {
        b->last = ngx_cpymem(b->last,
            "# HELP webhook_requests_total Webhook requests by location "
            "label and outcome.\n"
            "# TYPE webhook_requests_total counter\n",
            sizeof("# HELP webhook_requests_total Webhook requests by "
                   "location label and outcome.\n"
                   "# TYPE webhook_requests_total counter\n") - 1);

    } else {
        b->last = ngx_sprintf(b->last,
                              "{\"version\":\"" NGX_HTTP_WEBHOOK_VERSION "\","
                              "\"pid\":%P,\"locations\":{", ngx_pid);
    }

    if (ngx_http_webhook_each_label(r, ngx_http_webhook_report_label, &rep)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rep.prometheus) {
        if (wmcf->zone) {
            b->last = ngx_sprintf(b->last,
                "# HELP webhook_replay_keys Replay keys held in the zone.\n"
                "# TYPE webhook_replay_keys gauge\n"
                "webhook_replay_keys{zone=\"%V\"} %ui\n"
                "# HELP webhook_replay_evicted_total Live replay keys "
                "evicted because the zone was full.\n"
                "# TYPE webhook_replay_evicted_total counter\n"
                "webhook_replay_evicted_total{zone=\"%V\"} %ui\n",
                &wmcf->zone->shm.name, entries,
                &wmcf->zone->shm.name, evicted);
        }

        if (wmcf->redis) {
            b->last = ngx_sprintf(b->last,
                "# HELP webhook_redis_up Redis replay store reachable "
                "from this worker (1) or not (0).\n"
                "# TYPE webhook_redis_up gauge\n"
                "webhook_redis_up %d\n",
                ngx_http_webhook_redis_up() == NGX_OK ? 1 : 0);
        }

    } else {
        b->last = ngx_sprintf(b->last, "},\"replay\":");

        if (wmcf->zone) {
            b->last = ngx_sprintf(b->last,
                                  "{\"store\":\"local\",\"zone\":\"%V\","
                                  "\"keys\":%ui,\"evicted\":%ui}",
                                  &wmcf->zone->shm.name, entries, evicted);

        } else {
            b->last = ngx_sprintf(b->last, "null");
        }

        if (wmcf->registry_zone) {
            b->last = ngx_sprintf(b->last, ",\"registry\":");
            b->last = ngx_http_webhook_registry_report(wmcf->registry_zone,
                                                       b->last, b->end - 512);
        }

        b->last = ngx_sprintf(b->last, ",\"integrations\":{");

        if (wmcf->redis) {
            b->last = ngx_sprintf(b->last, "\"redis\":");
            b->last = ngx_http_webhook_redis_report(b->last, b->end - 8);
        }

        b->last = ngx_sprintf(b->last, "}}\n");
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (rep.prometheus) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * ?probe=redis: 200 while this worker's Redis connection is up, 503
 * otherwise; small enough for a load balancer's health check.
 */

static ngx_int_t
ngx_http_webhook_status_probe(ngx_http_request_t *r,
    ngx_http_webhook_main_conf_t *wmcf, ngx_str_t *probe)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (probe->len != 5 || ngx_strncmp(probe->data, "redis", 5) != 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    b = ngx_create_temp_buf(r->pool, 64);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (wmcf->redis == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    b->last = ngx_sprintf(b->last, "{\"redis\":\"%s\"}\n",
                          ngx_http_webhook_redis_state_name());

    r->headers_out.status = (ngx_http_webhook_redis_up() == NGX_OK)
                            ? NGX_HTTP_OK : NGX_HTTP_SERVICE_UNAVAILABLE;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}

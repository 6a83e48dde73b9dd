/*
 * The registration API and the registry delivery path on the worker's
 * HTTP server (issue 14): routing, bearer-token tenants, JSON answers.
 */
#ifndef WORKER_REGISTRY_HTTP_H
#define WORKER_REGISTRY_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#include "config.h"
#include "metrics.h"
#include "queue.h"

/* 1 for /webhooks, /webhooks/... and /integrations/...: the registry's. */
int registry_http_path(const char *url);

enum MHD_Result registry_http_dispatch(const worker_config *cfg, queue *q,
    metrics *m, struct MHD_Connection *conn, const char *method,
    const char *url, const char *body, size_t len, int too_large);

/* Appends the registrations-by-status gauge (read from Redis) to the
 * malloc'd metrics text; returns the (maybe moved) text. */
char *registry_metrics_append(char *text, const worker_config *cfg,
    queue *q);

#endif

/* The worker's HTTP API on libmicrohttpd: intake and state endpoints. */
#ifndef WORKER_HTTP_H
#define WORKER_HTTP_H

#include "config.h"
#include "metrics.h"

typedef struct http_server http_server;

/* Binds cfg->listen and starts serving; NULL with err set on failure. */
http_server *http_start(const worker_config *cfg, metrics *m, char *err,
    size_t err_len);
void http_stop(http_server *s);

#endif

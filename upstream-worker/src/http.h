/* The worker's HTTP API on libmicrohttpd: intake and state endpoints. */
#ifndef WORKER_HTTP_H
#define WORKER_HTTP_H

#include "config.h"
#include "metrics.h"

#include <jansson.h>
#include <microhttpd.h>

typedef struct http_server http_server;

/* Binds cfg->listen and starts serving; NULL with err set on failure. */
http_server *http_start(const worker_config *cfg, metrics *m, char *err,
    size_t err_len);
void http_stop(http_server *s);

/* A JSON answer (takes body), with Cache-Control: no-store, Retry-After: 5
 * on a 503, and one more header when hname is not NULL. */
enum MHD_Result http_send_json(struct MHD_Connection *conn, unsigned status,
    json_t *body, const char *hname, const char *hvalue);

#endif

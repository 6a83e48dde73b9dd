/* Routing and intake request parsing (pure functions, no I/O). */
#ifndef WORKER_INTAKE_H
#define WORKER_INTAKE_H

#include <stddef.h>

typedef enum {
    ROUTE_NONE = 0,
    ROUTE_FULFILL,      /* POST /orders/{sfOrderId}/fulfill */
    ROUTE_EVENT,        /* POST /events/salesforce */
    ROUTE_JOB,          /* GET  /jobs/{id} */
    ROUTE_JOB_RETRY,    /* POST /jobs/{id}/retry */
    ROUTE_ORDER,        /* GET  /orders/{sfOrderId} */
    ROUTE_HEALTH,       /* GET  /health */
    ROUTE_METRICS,      /* GET  /metrics */
    ROUTE_STRIPE,       /* POST /events/stripe */
    ROUTE_WOOCOMMERCE,  /* POST /events/woocommerce */
    ROUTE_HFT71_STATUS, /* POST /wp-json/hft71/v1/order-status */
    ROUTE_HFT71_RESEND, /* POST /hft71/resend */
    ROUTE_HFT71_LOG,    /* GET  /hft71/log */
    ROUTE_COMMERCE_ORDER, /* GET /commerce/orders/{wooOrderId} */
    ROUTE_STOCK_SYNC,   /* POST /stock/sync */
    ROUTE_STOCK_RUN,    /* GET  /stock/sync/{runId} */
    ROUTE_STOCK_DRIFT   /* GET  /stock/drift */
} route_kind;

typedef struct {
    route_kind  kind;
    char        id[128];
} route;

/* 0 and *out on a match; 404 for an unknown path; 405 for a wrong method. */
int route_match(const char *method, const char *url, route *out);

#define INTAKE_KEY_MAX 200

typedef struct {
    const char  *source;            /* "quick_action" or "platform_event" */
    char         order_id[19];
    char         idem_key[INTAKE_KEY_MAX + 1];
    char         correlation_id[INTAKE_KEY_MAX + 1];
    char         requested_by[INTAKE_KEY_MAX + 1];
    long long    whmcs_client_id;   /* optional pre-check hint, 0 = none */
} intake_request;

int sf_id_valid(const char *s);

/*
 * Both return 0, or 400 with a message in err. idem_header and corr_header
 * are the request's Idempotency-Key and X-Correlation-Id (may be NULL).
 */
int intake_parse_fulfill(const char *path_order_id, const char *body,
    size_t body_len, const char *idem_header, const char *corr_header,
    intake_request *out, char *err, size_t err_len);
int intake_parse_event(const char *body, size_t body_len,
    const char *idem_header, const char *corr_header, intake_request *out,
    char *err, size_t err_len);

#endif

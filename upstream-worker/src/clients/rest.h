/*
 * JSON-over-HTTPS APIs with HTTP Basic auth (WooCommerce REST v3, HFT71):
 * one call, its answer decoded, its failure classified as retry.h says.
 */
#ifndef WORKER_REST_H
#define WORKER_REST_H

#include <jansson.h>

#include "../outbound.h"

typedef struct rest_api rest_api;

/* base: the API's base URL without a trailing slash. NULL on failure. */
rest_api *rest_new(outbound *http, const char *integration, const char *base,
    const char *user, const char *password);
void rest_free(rest_api *a);
outbound *rest_http(rest_api *a);

typedef struct {
    long  total_pages;      /* X-WP-TotalPages, -1 when absent */
    long  total;            /* X-WP-Total, -1 when absent */
} rest_paging;

/*
 * method path (appended to the base; the caller escapes it) with body
 * (may be NULL; not stolen). On success (cls FAIL_NONE) *out is the
 * decoded answer (NULL for an empty one). A 2xx whose body is not JSON is
 * FAIL_REMOTE_5XX (a proxy's page, not the API). On failure out->code is
 * the API's error code: "error" (HFT71) or "code" (WordPress).
 */
call_outcome rest_call(rest_api *a, const char *action, const char *method,
    const char *path, json_t *body, json_t **out, rest_paging *paging);

#endif

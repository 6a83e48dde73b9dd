/*
 * WooCommerce REST API v3 ({WOOCOMMERCE_URL}/wp-json/wc/v3/), HTTP Basic
 * auth with the consumer key and secret. Errors are WordPress's
 * {"code","message","data":{"status"}}: call_outcome.code is "code".
 */
#ifndef WORKER_WOOCOMMERCE_H
#define WORKER_WOOCOMMERCE_H

#include <jansson.h>

#include "../config.h"
#include "rest.h"

typedef struct woocommerce woocommerce;

woocommerce *woocommerce_new(const worker_config *cfg, outbound *http);
void woocommerce_free(woocommerce *w);

/* GET orders/{id} -> *order */
call_outcome wc_get_order(woocommerce *w, long long id, json_t **order);
/* GET orders?status=S&per_page=N&page=P -> *orders (array), *total_pages */
call_outcome wc_list_orders(woocommerce *w, const char *status, int per_page,
    long page, json_t **orders, long *total_pages);
/* PUT orders/{id} with fields (status, meta_data ...); not stolen. */
call_outcome wc_update_order(woocommerce *w, long long id, json_t *fields);
/* POST orders/{id}/notes {"note":text} */
call_outcome wc_add_note(woocommerce *w, long long id, const char *text);

/* A meta_data value of an order by key (a string), or NULL. */
const char *wc_meta(json_t *order, const char *key);

#endif

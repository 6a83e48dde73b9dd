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

/*
 * The stock sync's calls. Lists ask for id, sku, type, manage_stock and
 * stock_quantity only (_fields), 100 a page, by id ascending.
 */
call_outcome wc_list_products(woocommerce *w, long page, json_t **items,
    long *total_pages);
call_outcome wc_list_variations(woocommerce *w, long long parent, long page,
    json_t **items, long *total_pages);
/* The products (parent 0) or parent's variations with these ids (comma
 * separated, at most 100) as they are now. */
call_outcome wc_read_items(woocommerce *w, long long parent, const char *ids,
    json_t **items);
/* POST products/batch (parent 0) or products/{parent}/variations/batch
 * {"update":updates} (not stolen; at most 100 items: WooCommerce refuses
 * the whole call past that) -> *results, the answer's "update" list, where
 * an item that failed is {"id","error":{"code","message","data"}}. */
call_outcome wc_batch_update(woocommerce *w, long long parent,
    json_t *updates, json_t **results);

/* A meta_data value of an order by key (a string), or NULL. */
const char *wc_meta(json_t *order, const char *key);

#endif

/*
 * HFT71's fulfillment API (the contract is in the worker's README):
 * {HFT71_API_URL}, HTTP Basic auth, JSON both ways, errors
 * {"error":"<code>","message":"..."} (call_outcome.code is "error").
 */
#ifndef WORKER_HFT71_H
#define WORKER_HFT71_H

#include <jansson.h>

#include "../config.h"
#include "rest.h"

typedef struct hft71 hft71;

hft71 *hft71_new(const worker_config *cfg, outbound *http);
void hft71_free(hft71 *h);

/* POST /orders {reference, shipping, items} -> the new order's id */
call_outcome hft71_send_order(hft71 *h, json_t *order, char id[64]);
/* GET /orders?reference=R -> *orders (array of status views) */
call_outcome hft71_find_orders(hft71 *h, const char *reference,
    json_t **orders);
/* GET /orders/{id} -> *view {order_id, reference, status, ...} */
call_outcome hft71_get_status(hft71 *h, const char *id, json_t **view);
/* PUT /orders/{id} {"items"} and PUT /orders/{id}/address {shipping} */
call_outcome hft71_update_order(hft71 *h, const char *id, json_t *items);
call_outcome hft71_update_address(hft71 *h, const char *id,
    json_t *shipping);

/* GET /stock/available?page=N&per_page=M, or ?skus=A,B (skus: escaped,
 * comma separated, at most 100; page and per_page unused) -> *items
 * ([{"sku","available"}], not checked item by item) and *total_pages. */
call_outcome hft71_stock_page(hft71 *h, long page, int per_page,
    const char *skus, json_t **items, long *total_pages);

/* 1 for HFT71's status names */
int hft71_status_valid(const char *s);
/* delivered and cancelled: nothing moves an order out of them */
int hft71_status_final(const char *s);

#endif

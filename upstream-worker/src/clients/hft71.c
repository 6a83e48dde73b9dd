#include "hft71.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hft71 {
    rest_api *api;
};


hft71 *
hft71_new(const worker_config *cfg, outbound *http)
{
    hft71 *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        return NULL;
    }
    h->api = rest_new(http, "hft71", cfg->hft71_url, cfg->hft71_username,
                      cfg->hft71_password);
    if (h->api == NULL) {
        free(h);
        return NULL;
    }
    return h;
}


void
hft71_free(hft71 *h)
{
    if (h != NULL) {
        rest_free(h->api);
        free(h);
    }
}


/* HFT71 ids go into paths: letters, digits, '-', '_' only. */
static int
id_ok(const char *id)
{
    size_t n = strlen(id);

    return n > 0 && n < 64
        && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_") == n;
}


static call_outcome
bad_id(const char *action)
{
    call_outcome o;

    memset(&o, 0, sizeof(o));
    o.retry_after_s = -1;
    o.not_sent = 1;
    call_outcome_set(&o, FAIL_VALIDATION, 0, "invalid_id",
                     "hft71 %s: not a usable HFT71 order id", action);
    return o;
}


call_outcome
hft71_send_order(hft71 *h, json_t *order, char id[64])
{
    json_t       *out = NULL;
    call_outcome  o;
    const char   *v;

    id[0] = '\0';
    o = rest_call(h->api, "send_order", "POST", "/orders", order, &out, NULL);
    if (o.cls == FAIL_NONE) {
        v = json_string_value(json_object_get(out, "order_id"));
        if (v == NULL || !id_ok(v)) {
            /* it answered 2xx: an order may exist that we cannot name */
            call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                             "hft71 send_order: no order_id in the answer");
        } else {
            snprintf(id, 64, "%s", v);
        }
    }
    json_decref(out);
    return o;
}


call_outcome
hft71_find_orders(hft71 *h, const char *reference, json_t **orders)
{
    char          path[160];
    json_t       *out = NULL;
    call_outcome  o;

    *orders = NULL;
    if (!id_ok(reference)) {
        return bad_id("send_order");
    }
    snprintf(path, sizeof(path), "/orders?reference=%s", reference);
    o = rest_call(h->api, "send_order", "GET", path, NULL, &out, NULL);
    if (o.cls == FAIL_NONE) {
        if (!json_is_array(json_object_get(out, "orders"))) {
            call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                             "hft71 lookup: no orders list in the answer");
        } else {
            *orders = json_incref(json_object_get(out, "orders"));
        }
    }
    json_decref(out);
    return o;
}


call_outcome
hft71_get_status(hft71 *h, const char *id, json_t **view)
{
    char path[96];

    *view = NULL;
    if (!id_ok(id)) {
        return bad_id("get_status");
    }
    snprintf(path, sizeof(path), "/orders/%s", id);
    return rest_call(h->api, "get_status", "GET", path, NULL, view, NULL);
}


static call_outcome
put(hft71 *h, const char *action, const char *id, const char *sub,
    json_t *body)
{
    char          path[96];
    json_t       *out = NULL;
    call_outcome  o;

    if (!id_ok(id)) {
        return bad_id(action);
    }
    snprintf(path, sizeof(path), "/orders/%s%s", id, sub);
    o = rest_call(h->api, action, "PUT", path, body, &out, NULL);
    json_decref(out);
    return o;
}


call_outcome
hft71_update_order(hft71 *h, const char *id, json_t *items)
{
    json_t       *body = json_pack("{s:O}", "items", items);
    call_outcome  o = put(h, "update_order", id, "", body);

    json_decref(body);
    return o;
}


call_outcome
hft71_update_address(hft71 *h, const char *id, json_t *shipping)
{
    return put(h, "update_order_address", id, "/address", shipping);
}


call_outcome
hft71_stock_page(hft71 *h, long page, int per_page, const char *skus,
    json_t **items, long *total_pages)
{
    char          *path = NULL;
    json_t        *out = NULL, *tp;
    call_outcome   o;
    int            n;

    *items = NULL;
    *total_pages = 1;
    if (skus != NULL) {
        n = asprintf(&path, "/stock/available?skus=%s", skus);
    } else {
        n = asprintf(&path, "/stock/available?page=%ld&per_page=%d", page,
                     per_page);
    }
    if (n < 0) {
        memset(&o, 0, sizeof(o));
        call_outcome_set(&o, FAIL_TRANSPORT, 0, "", "out of memory");
        o.not_sent = 1;
        return o;
    }
    o = rest_call(h->api, "stock_sync", "GET", path, NULL, &out, NULL);
    free(path);
    if (o.cls == FAIL_NONE) {
        tp = json_object_get(out, "total_pages");
        if (!json_is_array(json_object_get(out, "items"))
            || !json_is_integer(tp) || json_integer_value(tp) < 0)
        {
            call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                             "hft71 stock: no items list or total_pages in "
                             "the answer");
        } else {
            *items = json_incref(json_object_get(out, "items"));
            *total_pages = (long) json_integer_value(tp);
        }
    }
    json_decref(out);
    return o;
}


int
hft71_status_valid(const char *s)
{
    static const char *names[] = {
        "received", "processing", "shipped", "delivered", "cancelled",
        "on_hold", NULL
    };
    int i;

    for (i = 0; s != NULL && names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}


int
hft71_status_final(const char *s)
{
    return strcmp(s, "delivered") == 0 || strcmp(s, "cancelled") == 0;
}

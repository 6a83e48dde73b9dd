#include "woocommerce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct woocommerce {
    rest_api *api;
};


woocommerce *
woocommerce_new(const worker_config *cfg, outbound *http)
{
    woocommerce *w = calloc(1, sizeof(*w));
    char         base[1100];

    if (w == NULL) {
        return NULL;
    }
    snprintf(base, sizeof(base), "%s/wp-json/wc/v3", cfg->wc_url);
    w->api = rest_new(http, "woocommerce", base, cfg->wc_key, cfg->wc_secret);
    if (w->api == NULL) {
        free(w);
        return NULL;
    }
    return w;
}


void
woocommerce_free(woocommerce *w)
{
    if (w != NULL) {
        rest_free(w->api);
        free(w);
    }
}


call_outcome
wc_get_order(woocommerce *w, long long id, json_t **order)
{
    char path[64];

    snprintf(path, sizeof(path), "/orders/%lld", id);
    return rest_call(w->api, "get_order", "GET", path, NULL, order, NULL);
}


/* A GET of one page of a collection: the answer must be a list. */
static call_outcome
list_page(woocommerce *w, const char *action, const char *path,
    json_t **items, long *total_pages)
{
    rest_paging   pg;
    call_outcome  o;

    o = rest_call(w->api, action, "GET", path, NULL, items, &pg);
    *total_pages = pg.total_pages;
    if (o.cls == FAIL_NONE && !json_is_array(*items)) {
        json_decref(*items);
        *items = NULL;
        call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                         "woocommerce %s: the answer is not a list", action);
    }
    return o;
}


call_outcome
wc_list_orders(woocommerce *w, const char *status, int per_page, long page,
    json_t **orders, long *total_pages)
{
    char path[160];

    snprintf(path, sizeof(path), "/orders?status=%s&per_page=%d&page=%ld"
             "&orderby=id&order=asc", status, per_page, page);
    return list_page(w, "list_orders", path, orders, total_pages);
}


#define STOCK_FIELDS "&_fields=id,sku,type,manage_stock,stock_quantity"


call_outcome
wc_list_products(woocommerce *w, long page, json_t **items,
    long *total_pages)
{
    char path[200];

    snprintf(path, sizeof(path), "/products?per_page=100&page=%ld"
             "&orderby=id&order=asc" STOCK_FIELDS, page);
    return list_page(w, "list_products", path, items, total_pages);
}


call_outcome
wc_list_variations(woocommerce *w, long long parent, long page,
    json_t **items, long *total_pages)
{
    char path[200];

    snprintf(path, sizeof(path), "/products/%lld/variations?per_page=100"
             "&page=%ld&orderby=id&order=asc" STOCK_FIELDS, parent, page);
    return list_page(w, "list_variations", path, items, total_pages);
}


call_outcome
wc_read_items(woocommerce *w, long long parent, const char *ids,
    json_t **items)
{
    char          *path = NULL;
    long           pages;
    call_outcome   o;
    int            n;

    if (parent > 0) {
        n = asprintf(&path, "/products/%lld/variations?include=%s"
                     "&per_page=100" STOCK_FIELDS, parent, ids);
    } else {
        n = asprintf(&path, "/products?include=%s&per_page=100" STOCK_FIELDS,
                     ids);
    }
    if (n < 0) {
        memset(&o, 0, sizeof(o));
        call_outcome_set(&o, FAIL_TRANSPORT, 0, "", "out of memory");
        o.not_sent = 1;
        *items = NULL;
        return o;
    }
    o = list_page(w, parent > 0 ? "list_variations" : "list_products", path,
                  items, &pages);
    free(path);
    return o;
}


call_outcome
wc_batch_update(woocommerce *w, long long parent, json_t *updates,
    json_t **results)
{
    char          path[96];
    json_t       *body = json_pack("{s:O}", "update", updates), *out = NULL;
    call_outcome  o;

    if (parent > 0) {
        snprintf(path, sizeof(path), "/products/%lld/variations/batch",
                 parent);
    } else {
        snprintf(path, sizeof(path), "/products/batch");
    }
    *results = NULL;
    o = rest_call(w->api, parent > 0 ? "batch_variations" : "batch_products",
                  "POST", path, body, &out, NULL);
    json_decref(body);
    if (o.cls == FAIL_NONE) {
        if (!json_is_array(json_object_get(out, "update"))) {
            /* a 200 that names no item: nothing can be taken as written */
            call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                             "woocommerce batch: no update list in the "
                             "answer");
        } else {
            *results = json_incref(json_object_get(out, "update"));
        }
    }
    json_decref(out);
    return o;
}


call_outcome
wc_update_order(woocommerce *w, long long id, json_t *fields)
{
    char          path[64];
    json_t       *out = NULL;
    call_outcome  o;

    snprintf(path, sizeof(path), "/orders/%lld", id);
    o = rest_call(w->api, "update_order", "PUT", path, fields, &out, NULL);
    json_decref(out);
    return o;
}


call_outcome
wc_add_note(woocommerce *w, long long id, const char *text)
{
    char          path[64];
    json_t       *body = json_pack("{s:s}", "note", text), *out = NULL;
    call_outcome  o;

    snprintf(path, sizeof(path), "/orders/%lld/notes", id);
    o = rest_call(w->api, "add_note", "POST", path, body, &out, NULL);
    json_decref(body);
    json_decref(out);
    return o;
}


const char *
wc_meta(json_t *order, const char *key)
{
    size_t   i;
    json_t  *m;

    json_array_foreach(json_object_get(order, "meta_data"), i, m) {
        const char *k = json_string_value(json_object_get(m, "key"));
        const char *v = json_string_value(json_object_get(m, "value"));

        if (k != NULL && strcmp(k, key) == 0 && v != NULL && v[0] != '\0') {
            return v;
        }
    }
    return NULL;
}

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


call_outcome
wc_list_orders(woocommerce *w, const char *status, int per_page, long page,
    json_t **orders, long *total_pages)
{
    char          path[160];
    rest_paging   pg;
    call_outcome  o;

    snprintf(path, sizeof(path), "/orders?status=%s&per_page=%d&page=%ld"
             "&orderby=id&order=asc", status, per_page, page);
    o = rest_call(w->api, "list_orders", "GET", path, NULL, orders, &pg);
    *total_pages = pg.total_pages;
    if (o.cls == FAIL_NONE && !json_is_array(*orders)) {
        json_decref(*orders);
        *orders = NULL;
        call_outcome_set(&o, FAIL_REMOTE_5XX, o.status, "",
                         "woocommerce list_orders: the answer is not a list");
    }
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

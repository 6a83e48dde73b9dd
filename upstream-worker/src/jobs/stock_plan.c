#include "stock_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int
stock_ref_parse(const char *v, stock_ref *out)
{
    char       *end;
    const char *p;

    memset(out, 0, sizeof(*out));
    if (v == NULL) {
        return -1;
    }
    if (strcmp(v, "d") == 0) {
        out->type = 'd';
        out->qty = -1;
        return 0;
    }
    if ((v[0] != 's' && v[0] != 'v') || v[1] != ':') {
        return -1;
    }
    out->type = v[0];
    out->product_id = strtoll(v + 2, &end, 10);
    if (*end != ':' || out->product_id <= 0) {
        return -1;
    }
    out->variation_id = strtoll(end + 1, &end, 10);
    if (*end != ':' || out->variation_id < 0
        || (out->type == 'v') != (out->variation_id > 0))
    {
        return -1;
    }
    p = end + 1;
    if (strcmp(p, "-") == 0) {
        out->qty = -1;
        return 0;
    }
    if (*p < '0' || *p > '9') {
        return -1;
    }
    out->qty = strtol(p, &end, 10);
    return *end == '\0' && out->qty >= 0 ? 0 : -1;
}


void
stock_ref_format(const stock_ref *r, char *buf, size_t n)
{
    if (r->type == 'd') {
        snprintf(buf, n, "d");
    } else if (r->qty < 0) {
        snprintf(buf, n, "%c:%lld:%lld:-", r->type, r->product_id,
                 r->variation_id);
    } else {
        snprintf(buf, n, "%c:%lld:%lld:%ld", r->type, r->product_id,
                 r->variation_id, r->qty);
    }
}


int
stock_ref_from_wc(json_t *item, long long parent, stock_ref *out,
    const char **sku)
{
    json_t     *id = json_object_get(item, "id");
    json_t     *q = json_object_get(item, "stock_quantity");
    const char *type = json_string_value(json_object_get(item, "type"));

    *sku = json_string_value(json_object_get(item, "sku"));
    if (!json_is_integer(id) || json_integer_value(id) <= 0
        || *sku == NULL || !stock_sku_valid(*sku)
        || (parent == 0 && type != NULL && strcmp(type, "variable") == 0))
    {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->type = parent > 0 ? 'v' : 's';
    out->product_id = parent > 0 ? parent : json_integer_value(id);
    out->variation_id = parent > 0 ? json_integer_value(id) : 0;
    /* a variation's "parent" (the product manages it) is not the sync's */
    out->qty = json_is_true(json_object_get(item, "manage_stock"))
               && json_is_integer(q) && json_integer_value(q) >= 0
               ? (long) json_integer_value(q) : -1;
    return 0;
}


int
stock_sku_valid(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > STOCK_SKU_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == ',') {
            return 0;
        }
    }
    return 1;
}


int
stock_batcher_init(stock_batcher *b, size_t var_cap)
{
    memset(b, 0, sizeof(*b));
    b->var_cap = var_cap < STOCK_BATCH_MAX ? STOCK_BATCH_MAX : var_cap;
    b->var = calloc(b->var_cap, sizeof(*b->var));
    return b->var ? 0 : -1;
}


void
stock_batcher_free(stock_batcher *b)
{
    free(b->var);
    b->var = NULL;
}


int
stock_batcher_add(stock_batcher *b, const stock_item *it)
{
    if (it->ref.type == 's') {
        if (b->n_simple == STOCK_BATCH_MAX) {
            return -1;
        }
        b->simple[b->n_simple++] = *it;
        return 0;
    }
    if (b->n_var == b->var_cap) {
        return -1;
    }
    b->var[b->n_var++] = *it;
    return 0;
}


/* Moves up to STOCK_BATCH_MAX of parent's variations into out. */
static size_t
take_parent(stock_batcher *b, long long parent, stock_item *out)
{
    size_t i, j = 0, n = 0;

    for (i = 0; i < b->n_var; i++) {
        if (b->var[i].ref.product_id == parent && n < STOCK_BATCH_MAX) {
            out[n++] = b->var[i];
        } else {
            b->var[j++] = b->var[i];
        }
    }
    b->n_var = j;
    return n;
}


size_t
stock_batcher_take(stock_batcher *b, int all, stock_item *out,
    long long *parent)
{
    size_t i, k, count;

    *parent = 0;
    if (b->n_simple == STOCK_BATCH_MAX || (all && b->n_simple > 0)) {
        count = b->n_simple;
        memcpy(out, b->simple, count * sizeof(*out));
        b->n_simple = 0;
        return count;
    }
    if (b->n_var == 0) {
        return 0;
    }
    if (all || b->n_var == b->var_cap) {
        *parent = b->var[0].ref.product_id;
        return take_parent(b, *parent, out);
    }
    /* a parent with a full batch pending */
    for (i = 0; i < b->n_var; i++) {
        count = 0;
        for (k = 0; k < b->n_var; k++) {
            count += b->var[k].ref.product_id == b->var[i].ref.product_id;
        }
        if (count >= STOCK_BATCH_MAX) {
            *parent = b->var[i].ref.product_id;
            return take_parent(b, *parent, out);
        }
    }
    return 0;
}


long
stock_batcher_oldest_page(const stock_batcher *b)
{
    long   low = -1;
    size_t i;

    for (i = 0; i < b->n_simple; i++) {
        if (low < 0 || b->simple[i].page < low) {
            low = b->simple[i].page;
        }
    }
    for (i = 0; i < b->n_var; i++) {
        if (low < 0 || b->var[i].page < low) {
            low = b->var[i].page;
        }
    }
    return low;
}


size_t
stock_batcher_pending(const stock_batcher *b)
{
    return b->n_simple + b->n_var;
}


json_t *
stock_batch_updates(const stock_item *items, size_t n)
{
    json_t *list = json_array();
    size_t  i;
    char    q[24];

    for (i = 0; list != NULL && i < n; i++) {
        snprintf(q, sizeof(q), "%ld", items[i].ref.qty);
        json_array_append_new(list, json_pack(
            "{s:I,s:b,s:I,s:[{s:s,s:s}]}", "id", (json_int_t)
            (items[i].ref.type == 'v' ? items[i].ref.variation_id
                                      : items[i].ref.product_id),
            "manage_stock", 1, "stock_quantity", (json_int_t) items[i].ref.qty,
            "meta_data", "key", STOCK_META_KEY, "value", q));
    }
    return list;
}


size_t
stock_batch_results(json_t *results, const stock_item *items, size_t n,
    int *ok, stock_item_error *errors)
{
    size_t      i, k, written = 0;
    json_t     *r, *err;
    long long   id;
    const char *s;

    for (i = 0; i < n; i++) {
        ok[i] = 0;
        snprintf(errors[i].code, sizeof(errors[i].code), "no_result");
        snprintf(errors[i].message, sizeof(errors[i].message),
                 "the batch answer does not name this item");
        id = items[i].ref.type == 'v' ? items[i].ref.variation_id
                                      : items[i].ref.product_id;
        json_array_foreach(results, k, r) {
            if (json_integer_value(json_object_get(r, "id")) != id) {
                continue;
            }
            err = json_object_get(r, "error");
            if (err == NULL) {
                ok[i] = 1;
                written++;
                break;
            }
            s = json_string_value(json_object_get(err, "code"));
            snprintf(errors[i].code, sizeof(errors[i].code), "%s",
                     s ? s : "error");
            s = json_string_value(json_object_get(err, "message"));
            snprintf(errors[i].message, sizeof(errors[i].message), "%s",
                     s ? s : "");
            break;
        }
    }
    return written;
}


json_t *
stock_priority_list(const char *csv, char *err, size_t err_len)
{
    json_t     *list = json_array();
    const char *p = csv, *end;
    char        sku[STOCK_SKU_MAX + 2];
    size_t      n;

    while (list != NULL && p != NULL && *p != '\0') {
        end = strchr(p, ',');
        n = end ? (size_t) (end - p) : strlen(p);
        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        if (n > STOCK_SKU_MAX) {
            snprintf(err, err_len, "a SKU is longer than %d bytes",
                     STOCK_SKU_MAX);
            json_decref(list);
            return NULL;
        }
        if (json_array_size(list) == STOCK_BATCH_MAX) {
            snprintf(err, err_len, "more than %d SKUs", STOCK_BATCH_MAX);
            json_decref(list);
            return NULL;
        }
        memcpy(sku, p, n);
        sku[n] = '\0';
        if (n > 0) {
            if (!stock_sku_valid(sku)) {
                snprintf(err, err_len, "a SKU has a control character");
                json_decref(list);
                return NULL;
            }
            json_array_append_new(list, json_string(sku));
        }
        p = end ? end + 1 : NULL;
    }
    return list;
}

/*
 * The stock sync's pure parts (no I/O, unit tested): the SKU index entry
 * kept in Redis, what needs writing, and the batches the writes go out in
 * (at most 100 items per WooCommerce call, variations per parent product).
 */
#ifndef WORKER_JOBS_STOCK_PLAN_H
#define WORKER_JOBS_STOCK_PLAN_H

#include <stddef.h>

#include <jansson.h>

#define STOCK_SKU_MAX    100    /* longest SKU the sync takes */
#define STOCK_BATCH_MAX  100    /* WooCommerce refuses a batch past this */
#define STOCK_META_KEY   "_hft71_stock_available"

/*
 * An index entry (wh:stock:index, sku -> "type:product:variation:qty"):
 * type 's' a product, 'v' a variation of product; qty the quantity last
 * written by the sync or read from WooCommerce, -1 ("-") when WooCommerce
 * does not manage the item's stock. "d" marks a SKU that WooCommerce holds
 * more than once (stock_ref.type 'd').
 */
typedef struct {
    char       type;
    long long  product_id;
    long long  variation_id;
    long       qty;
} stock_ref;

/* 0 and *out for a well-formed entry, -1 otherwise. */
int stock_ref_parse(const char *v, stock_ref *out);
void stock_ref_format(const stock_ref *r, char *buf, size_t n);
/* The entry for a WooCommerce product or variation as the API shows it
 * ({id, sku, type, manage_stock, stock_quantity}); parent 0 for products.
 * -1 for items the sync does not index (variable parents, no SKU). */
int stock_ref_from_wc(json_t *item, long long parent, stock_ref *out,
    const char **sku);

/* 1 for a SKU the sync takes: 1..STOCK_SKU_MAX bytes, no control
 * character, no comma (SKU lists are comma separated). */
int stock_sku_valid(const char *s);

/* One pending write. */
typedef struct {
    char       sku[STOCK_SKU_MAX + 1];
    stock_ref  ref;         /* qty: the value to write */
    long       page;        /* where HFT71 listed it (the run's cursor) */
    int        attempt;     /* 0 first write, 1 retried after an item error */
} stock_item;

/*
 * Pending writes: products (flushed at 100) and variations (held until
 * their parent has 100, or var_cap are pending in all, or the end), so a
 * resync's few changes go out in few calls.
 */
typedef struct {
    stock_item  simple[STOCK_BATCH_MAX];
    size_t      n_simple;
    stock_item *var;
    size_t      n_var;
    size_t      var_cap;
} stock_batcher;

int stock_batcher_init(stock_batcher *b, size_t var_cap);
void stock_batcher_free(stock_batcher *b);
/* 0, -1 when it (cannot happen: take due batches after each add) is full */
int stock_batcher_add(stock_batcher *b, const stock_item *it);
/*
 * Moves the next batch into out (at most STOCK_BATCH_MAX items, one
 * endpoint: *parent 0 for products/batch, else that product's variations).
 * all = 0 takes only a batch that is due (100 products, 100 variations of
 * one parent, or the variations at var_cap); all = 1 anything pending.
 * Returns the number of items, 0 when nothing is (due).
 */
size_t stock_batcher_take(stock_batcher *b, int all, stock_item *out,
    long long *parent);
/* The lowest page of a pending write, -1 when none is pending. */
long stock_batcher_oldest_page(const stock_batcher *b);
size_t stock_batcher_pending(const stock_batcher *b);

/* {"update":[{id, manage_stock, stock_quantity, meta_data}]} items. */
json_t *stock_batch_updates(const stock_item *items, size_t n);

/*
 * The batch answer's "update" list matched to the items by id: ok[i] = 1
 * written, 0 failed with code / message (an item the answer does not name
 * failed with "no_result"). Returns the number written.
 */
typedef struct {
    char  code[64];
    char  message[160];
} stock_item_error;

size_t stock_batch_results(json_t *results, const stock_item *items,
    size_t n, int *ok, stock_item_error *errors);

/* A comma-separated SKU list (STOCK_PRIORITY_SKUS; spaces around names
 * dropped, at most STOCK_BATCH_MAX) as a JSON array; NULL csv: empty. NULL
 * with err set when a name is not a SKU the sync takes. */
json_t *stock_priority_list(const char *csv, char *err, size_t err_len);

#endif

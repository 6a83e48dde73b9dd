/* The stock sync's index entries, batching and batch answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobs/stock_plan.h"


static void
test_ref(void **state)
{
    stock_ref  r;
    char       buf[96];
    json_t    *item;
    const char *sku;

    (void) state;
    assert_int_equal(stock_ref_parse("s:10:0:5", &r), 0);
    assert_int_equal(r.type, 's');
    assert_int_equal(r.product_id, 10);
    assert_int_equal(r.variation_id, 0);
    assert_int_equal(r.qty, 5);
    assert_int_equal(stock_ref_parse("v:10:11:-", &r), 0);
    assert_int_equal(r.qty, -1);
    assert_int_equal(r.variation_id, 11);
    stock_ref_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "v:10:11:-");
    assert_int_equal(stock_ref_parse("d", &r), 0);
    assert_int_equal(r.type, 'd');
    /* malformed: a variation without its id, a product with one, junk */
    assert_int_equal(stock_ref_parse("v:10:0:5", &r), -1);
    assert_int_equal(stock_ref_parse("s:10:3:5", &r), -1);
    assert_int_equal(stock_ref_parse("s:10:0:5x", &r), -1);
    assert_int_equal(stock_ref_parse("s:10:0:-3", &r), -1);
    assert_int_equal(stock_ref_parse("x:1:0:1", &r), -1);
    assert_int_equal(stock_ref_parse("", &r), -1);
    assert_int_equal(stock_ref_parse(NULL, &r), -1);

    item = json_pack("{s:i,s:s,s:s,s:b,s:i}", "id", 7, "sku", "A-1", "type",
                     "simple", "manage_stock", 1, "stock_quantity", 3);
    assert_int_equal(stock_ref_from_wc(item, 0, &r, &sku), 0);
    assert_string_equal(sku, "A-1");
    stock_ref_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "s:7:0:3");
    assert_int_equal(stock_ref_from_wc(item, 5, &r, &sku), 0);
    stock_ref_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "v:5:7:3");
    json_decref(item);
    /* not managed (false or "parent"): the quantity is unknown */
    item = json_pack("{s:i,s:s,s:s,s:i}", "id", 7, "sku", "A-1",
                     "manage_stock", "parent", "stock_quantity", 3);
    assert_int_equal(stock_ref_from_wc(item, 5, &r, &sku), 0);
    assert_int_equal(r.qty, -1);
    json_decref(item);
    item = json_pack("{s:i,s:s,s:s}", "id", 8, "sku", "", "type", "simple");
    assert_int_equal(stock_ref_from_wc(item, 0, &r, &sku), -1);
    json_decref(item);
    item = json_pack("{s:i,s:s,s:s}", "id", 8, "sku", "P", "type",
                     "variable");
    assert_int_equal(stock_ref_from_wc(item, 0, &r, &sku), -1);
    json_decref(item);
}


static void
test_sku_valid(void **state)
{
    char long_sku[STOCK_SKU_MAX + 2];

    (void) state;
    assert_true(stock_sku_valid("SKU-1"));
    assert_true(stock_sku_valid("a b/c"));
    assert_false(stock_sku_valid(""));
    assert_false(stock_sku_valid("a,b"));
    assert_false(stock_sku_valid("a\nb"));
    memset(long_sku, 'x', sizeof(long_sku) - 1);
    long_sku[sizeof(long_sku) - 1] = '\0';
    assert_false(stock_sku_valid(long_sku));
    long_sku[STOCK_SKU_MAX] = '\0';
    assert_true(stock_sku_valid(long_sku));
}


static stock_item
item(char type, long long product, long long variation, long qty, long page)
{
    stock_item it;

    memset(&it, 0, sizeof(it));
    snprintf(it.sku, sizeof(it.sku), "S-%lld-%lld", product, variation);
    it.ref.type = type;
    it.ref.product_id = product;
    it.ref.variation_id = variation;
    it.ref.qty = qty;
    it.page = page;
    return it;
}


static void
test_batcher_products(void **state)
{
    stock_batcher  b;
    stock_item     out[STOCK_BATCH_MAX], it;
    long long      parent;
    int            i, batches = 0;
    size_t         n, total = 0;

    (void) state;
    assert_int_equal(stock_batcher_init(&b, 1000), 0);
    for (i = 0; i < 250; i++) {
        it = item('s', 1000 + i, 0, i, 1 + i / 50);
        assert_int_equal(stock_batcher_add(&b, &it), 0);
        while ((n = stock_batcher_take(&b, 0, out, &parent)) > 0) {
            assert_int_equal(n, STOCK_BATCH_MAX);
            assert_int_equal(parent, 0);
            batches++;
            total += n;
        }
    }
    assert_int_equal(batches, 2);
    assert_int_equal(stock_batcher_pending(&b), 50);
    assert_int_equal(stock_batcher_oldest_page(&b), 5);
    n = stock_batcher_take(&b, 1, out, &parent);
    assert_int_equal(n, 50);
    assert_int_equal(out[0].ref.product_id, 1200);
    assert_int_equal(stock_batcher_take(&b, 1, out, &parent), 0);
    assert_int_equal(stock_batcher_oldest_page(&b), -1);
    stock_batcher_free(&b);
}


static void
test_batcher_variations(void **state)
{
    stock_batcher  b;
    stock_item     out[STOCK_BATCH_MAX], it;
    long long      parent;
    int            i;
    size_t         n;

    (void) state;
    assert_int_equal(stock_batcher_init(&b, 300), 0);
    /* two parents interleaved: nothing due until one has 100 */
    for (i = 0; i < 198; i++) {
        it = item('v', i % 2 ? 20 : 10, 5000 + i, 1, 1);
        assert_int_equal(stock_batcher_add(&b, &it), 0);
        assert_int_equal(stock_batcher_take(&b, 0, out, &parent), 0);
    }
    it = item('v', 10, 9999, 1, 2);
    assert_int_equal(stock_batcher_add(&b, &it), 0);
    n = stock_batcher_take(&b, 0, out, &parent);
    assert_int_equal(n, 100);
    assert_int_equal(parent, 10);
    for (i = 0; i < (int) n; i++) {
        assert_int_equal(out[i].ref.product_id, 10);
    }
    assert_int_equal(stock_batcher_pending(&b), 99);
    /* the cap: every pending variation of the first parent goes out */
    for (i = 0; i < 201; i++) {
        it = item('v', 30 + i, 7000 + i, 1, 3);
        assert_int_equal(stock_batcher_add(&b, &it), 0);
    }
    assert_int_equal(stock_batcher_pending(&b), 300);
    assert_int_equal(stock_batcher_add(&b, &it), -1);
    n = stock_batcher_take(&b, 0, out, &parent);
    assert_int_equal(parent, 20);
    assert_int_equal(n, 99);
    assert_int_equal(stock_batcher_take(&b, 0, out, &parent), 0);
    /* the end: one call per parent */
    n = 0;
    while (stock_batcher_take(&b, 1, out, &parent) > 0) {
        n++;
    }
    assert_int_equal(n, 201);
    stock_batcher_free(&b);
}


static void
test_updates_and_results(void **state)
{
    stock_item        items[3];
    json_t           *u, *res;
    int               ok[3];
    stock_item_error  errs[3];
    char             *text;

    (void) state;
    items[0] = item('s', 11, 0, 4, 1);
    items[1] = item('s', 12, 0, 0, 1);
    items[2] = item('s', 13, 0, 9, 1);
    u = stock_batch_updates(items, 3);
    text = json_dumps(json_array_get(u, 0), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"id\":11,\"manage_stock\":true,\"meta_data\":"
                        "[{\"key\":\"_hft71_stock_available\",\"value\":\"4\"}],"
                        "\"stock_quantity\":4}");
    free(text);
    json_decref(u);
    /* WooCommerce's answer order is not relied on; 13 is not named */
    res = json_loads("[{\"id\":12,\"error\":{\"code\":\"woocommerce_rest_"
                     "cannot_edit\",\"message\":\"no\",\"data\":{\"status\":"
                     "403}}},{\"id\":11,\"stock_quantity\":4}]", 0, NULL);
    assert_int_equal(stock_batch_results(res, items, 3, ok, errs), 1);
    assert_int_equal(ok[0], 1);
    assert_int_equal(ok[1], 0);
    assert_string_equal(errs[1].code, "woocommerce_rest_cannot_edit");
    assert_string_equal(errs[1].message, "no");
    assert_int_equal(ok[2], 0);
    assert_string_equal(errs[2].code, "no_result");
    json_decref(res);
    /* a variation is named by its own id */
    items[0] = item('v', 11, 44, 4, 1);
    res = json_loads("[{\"id\":11},{\"id\":44}]", 0, NULL);
    assert_int_equal(stock_batch_results(res, items, 1, ok, errs), 1);
    json_decref(res);
}


static void
test_lists(void **state)
{
    char        err[160];
    json_t     *l;

    (void) state;
    l = stock_priority_list(" A-1 , B-2,,C ", err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(json_array_size(l), 3);
    assert_string_equal(json_string_value(json_array_get(l, 1)), "B-2");
    json_decref(l);
    l = stock_priority_list(NULL, err, sizeof(err));
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    assert_null(stock_priority_list("A\tB", err, sizeof(err)));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref),
        cmocka_unit_test(test_sku_valid),
        cmocka_unit_test(test_batcher_products),
        cmocka_unit_test(test_batcher_variations),
        cmocka_unit_test(test_updates_and_results),
        cmocka_unit_test(test_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

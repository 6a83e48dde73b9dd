/* The commerce flow's inbound bodies: HFT71 status webhooks, Stripe
 * events, WooCommerce order webhooks, RFC 3339 times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "commerce_intake.h"

#define PARSE(fn, text, out, err) fn(text, strlen(text), out, err, sizeof(err))


static void
test_iso8601(void **state)
{
    long long ms;

    (void) state;
    assert_int_equal(iso8601_ms("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(iso8601_ms("2026-12-03T09:24:54.952Z", &ms), 0);
    assert_int_equal(ms, 1796289894952LL);
    assert_int_equal(iso8601_ms("2026-12-03T10:24:54.9+01:00", &ms), 0);
    assert_int_equal(ms, 1796289894900LL);
    assert_int_equal(iso8601_ms("2000-02-29T23:59:59-00:30", &ms), 0);
    assert_int_equal(ms, 951870599000LL);
    assert_int_equal(iso8601_ms("2026-12-03T09:24:54", &ms), -1);
    assert_int_equal(iso8601_ms("2026-13-03T09:24:54Z", &ms), -1);
    assert_int_equal(iso8601_ms("2026-12-03T09:24:54.Z", &ms), -1);
    assert_int_equal(iso8601_ms("2026-12-03T09:24:54Zjunk", &ms), -1);
    assert_int_equal(iso8601_ms("yesterday", &ms), -1);
    assert_int_equal(iso8601_ms(NULL, &ms), -1);
}


static void
test_hft71_status(void **state)
{
    json_t *v;
    char    err[128];

    (void) state;
    assert_int_equal(PARSE(hft71_parse_status,
        "{\"order_id\":\"H000001\",\"reference\":\"42\",\"status\":\"shipped\","
        "\"tracking_number\":\"T1\",\"updated_at\":\"1970-01-01T00:00:01Z\","
        "\"webhook_secret\":\"s3cret\"}", &v, err), 0);
    assert_string_equal(json_string_value(json_object_get(v, "status")),
                        "shipped");
    assert_int_equal(json_integer_value(json_object_get(v, "updated_ms")),
                     1000);
    /* the secret never reaches the stored record */
    assert_null(json_object_get(v, "webhook_secret"));
    json_decref(v);

    assert_int_equal(PARSE(hft71_parse_status,
        "{\"order_id\":\"H1\",\"status\":\"on_hold\",\"tracking_number\":null,"
        "\"updated_at\":\"2026-01-01T00:00:00Z\"}", &v, err), 0);
    assert_string_equal(json_string_value(json_object_get(v, "reference")),
                        "");
    json_decref(v);

    assert_int_equal(PARSE(hft71_parse_status, "{\"order_id\":\"H1\","
        "\"status\":\"lost\",\"updated_at\":\"2026-01-01T00:00:00Z\"}", &v,
        err), 400);
    assert_non_null(strstr(err, "status must be one of"));
    assert_int_equal(PARSE(hft71_parse_status, "{\"order_id\":\"../x\","
        "\"status\":\"shipped\",\"updated_at\":\"2026-01-01T00:00:00Z\"}", &v,
        err), 400);
    assert_int_equal(PARSE(hft71_parse_status, "{\"order_id\":\"H1\","
        "\"status\":\"shipped\",\"updated_at\":\"soon\"}", &v, err), 400);
    assert_int_equal(PARSE(hft71_parse_status, "{\"order_id\":\"H1\","
        "\"reference\":\"x1\",\"status\":\"shipped\","
        "\"updated_at\":\"2026-01-01T00:00:00Z\"}", &v, err), 400);
    assert_int_equal(PARSE(hft71_parse_status, "order_id=H1", &v, err), 400);
    assert_int_equal(hft71_parse_status("", 0, &v, err, sizeof(err)), 400);
}


static const char *
effect(const char *body)
{
    static char  name[32];
    json_t      *v;
    char         err[128];

    if (stripe_parse_event(body, strlen(body), &v, err, sizeof(err)) != 0) {
        return "error";
    }
    snprintf(name, sizeof(name), "%s",
             json_string_value(json_object_get(v, "effect")));
    json_decref(v);
    return name;
}


#define EV(type, obj) \
    "{\"id\":\"evt_1\",\"type\":\"" type "\",\"created\":1700000000," \
    "\"data\":{\"object\":" obj "}}"
#define META "\"metadata\":{\"order_id\":\"77\"}"

static void
test_stripe(void **state)
{
    json_t *v;
    char    err[128];

    (void) state;
    assert_string_equal(effect(EV("payment_intent.succeeded", "{" META "}")),
                        "paid");
    assert_string_equal(effect(EV("charge.succeeded", "{" META "}")), "paid");
    assert_string_equal(effect(EV("checkout.session.completed",
        "{\"payment_status\":\"paid\"," META "}")), "paid");
    assert_string_equal(effect(EV("checkout.session.completed",
        "{\"payment_status\":\"unpaid\"," META "}")), "nothing");
    assert_string_equal(effect(EV("payment_intent.payment_failed",
                                  "{" META "}")), "failed");
    assert_string_equal(effect(EV("charge.failed", "{" META "}")), "failed");
    assert_string_equal(effect(EV("payment_intent.canceled", "{" META "}")),
                        "cancelled");
    assert_string_equal(effect(EV("checkout.session.expired", "{" META "}")),
                        "cancelled");
    assert_string_equal(effect(EV("charge.refunded",
        "{\"amount\":1000,\"amount_refunded\":1000," META "}")), "refunded");
    assert_string_equal(effect(EV("charge.refunded",
        "{\"amount\":1000,\"amount_refunded\":300,\"refunded\":false,"
        META "}")), "note");
    assert_string_equal(effect(EV("charge.refund.created", "{" META "}")),
                        "note");
    assert_string_equal(effect(EV("charge.refund.updated", "{" META "}")),
                        "note");
    assert_string_equal(effect(EV("payment_intent.created", "{" META "}")),
                        "nothing");
    assert_string_equal(effect(EV("customer.created", "{}")), "nothing");
    assert_string_equal(effect(EV("customer.updated", "{}")), "nothing");
    assert_string_equal(effect(EV("customer.deleted", "{}")), "nothing");
    /* no order: stored, nothing changes */
    assert_string_equal(effect(EV("payment_intent.succeeded", "{}")),
                        "nothing");
    assert_string_equal(effect(EV("payment_intent.succeeded",
        "{\"metadata\":{\"order_id\":77}}")), "paid");
    assert_string_equal(effect(EV("payment_intent.succeeded",
        "{\"metadata\":{\"order_id\":\"77; DROP\"}}")), "nothing");

    assert_int_equal(PARSE(stripe_parse_event,
        "{\"id\":\"ev_1\",\"type\":\"x\",\"created\":1,\"data\":{\"object\":{}}}",
        &v, err), 400);
    assert_int_equal(PARSE(stripe_parse_event,
        "{\"id\":\"evt_1\",\"created\":1,\"data\":{\"object\":{}}}", &v, err),
        400);
    assert_int_equal(PARSE(stripe_parse_event,
        "{\"id\":\"evt_1\",\"type\":\"x\",\"created\":\"1\","
        "\"data\":{\"object\":{}}}", &v, err), 400);
    assert_int_equal(PARSE(stripe_parse_event,
        "{\"id\":\"evt_1\",\"type\":\"x\",\"created\":1}", &v, err), 400);
    assert_int_equal(PARSE(stripe_parse_event, "[]", &v, err), 400);
}


static void
test_wc_webhook(void **state)
{
    long long id = 0;
    char      err[128];
    const char *body = "{\"id\":42,\"status\":\"processing\"}";

    (void) state;
    assert_int_equal(wc_parse_webhook(body, strlen(body), "order.updated",
                                      &id, err, sizeof(err)), 0);
    assert_int_equal(id, 42);
    assert_int_equal(wc_parse_webhook("{}", 2, "product.updated", &id, err,
                                      sizeof(err)), 1);
    assert_int_equal(wc_parse_webhook("{\"id\":\"42\"}", 11, "order.created",
                                      &id, err, sizeof(err)), 400);
    assert_int_equal(wc_parse_webhook("nope", 4, NULL, &id, err, sizeof(err)),
                     400);
    assert_true(wc_id_valid("123"));
    assert_false(wc_id_valid("0123"));
    assert_false(wc_id_valid("12a"));
    assert_false(wc_id_valid(""));
    assert_false(wc_id_valid("1234567890123456789"));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_hft71_status),
        cmocka_unit_test(test_stripe),
        cmocka_unit_test(test_wc_webhook),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

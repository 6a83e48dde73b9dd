#include "commerce_intake.h"
#include "clients/hft71.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static long long
days_from_civil(int y, int m, int d)
{
    int       era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (long long) era * 146097 + doe - 719468;
}


static int
digits(const char *s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}


int
iso8601_ms(const char *s, long long *ms)
{
    int        y, mo, d, h, mi, sec, oh, om, frac = 0, fd = 0;
    long long  t;
    const char *p;

    if (s == NULL || strlen(s) < 20
        || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo)
        || s[7] != '-' || digits(s + 8, 2, &d)
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi)
        || s[16] != ':' || digits(s + 17, 2, &sec))
    {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59
        || sec > 60)
    {
        return -1;
    }
    p = s + 19;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char) *p)) {
            if (fd < 3) {
                frac = frac * 10 + (*p - '0');
                fd++;
            }
            p++;
        }
        if (fd == 0) {
            return -1;
        }
        while (fd < 3) {
            frac *= 10;
            fd++;
        }
    }
    t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && !digits(p + 1, 2, &oh)
               && p[3] == ':' && !digits(p + 4, 2, &om) && oh < 24
               && om < 60)
    {
        t -= (*p == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    *ms = t * 1000 + frac;
    return 0;
}


int
wc_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= 18 && strspn(s, "0123456789") == n && s[0] != '0';
}


static int
bad(char *err, size_t err_len, const char *what)
{
    snprintf(err, err_len, "%s", what);
    return 400;
}


static json_t *
load_object(const char *body, size_t len, char *err, size_t err_len)
{
    json_error_t  je;
    json_t       *doc;

    if (body == NULL || len == 0) {
        bad(err, err_len, "the body is empty");
        return NULL;
    }
    doc = json_loadb(body, len, 0, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        bad(err, err_len, "the body is not a JSON object");
        return NULL;
    }
    return doc;
}


int
hft71_parse_status(const char *body, size_t len, json_t **out, char *err,
    size_t err_len)
{
    json_t      *doc = load_object(body, len, err, err_len), *tn;
    const char  *id, *ref, *status, *at;
    long long    ms;
    size_t       n;

    *out = NULL;
    if (doc == NULL) {
        return 400;
    }
    id = json_string_value(json_object_get(doc, "order_id"));
    ref = json_string_value(json_object_get(doc, "reference"));
    status = json_string_value(json_object_get(doc, "status"));
    at = json_string_value(json_object_get(doc, "updated_at"));
    tn = json_object_get(doc, "tracking_number");
    n = id ? strlen(id) : 0;
    if (n == 0 || n >= 64
        || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_") != n)
    {
        json_decref(doc);
        return bad(err, err_len, "order_id must be an HFT71 order id");
    }
    if (json_object_get(doc, "reference") != NULL && !json_is_null(
            json_object_get(doc, "reference")) && !wc_id_valid(ref))
    {
        json_decref(doc);
        return bad(err, err_len, "reference must be a WooCommerce order id");
    }
    if (!hft71_status_valid(status)) {
        json_decref(doc);
        return bad(err, err_len, "status must be one of received, "
                   "processing, shipped, delivered, cancelled, on_hold");
    }
    if (iso8601_ms(at, &ms) != 0) {
        json_decref(doc);
        return bad(err, err_len, "updated_at must be an RFC 3339 time");
    }
    if (tn != NULL && !json_is_null(tn)
        && (!json_is_string(tn) || strlen(json_string_value(tn)) > 128))
    {
        json_decref(doc);
        return bad(err, err_len, "tracking_number must be a string");
    }
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "order_id", id,
                     "reference", ref ? ref : "", "status", status,
                     "tracking_number", json_is_string(tn)
                                        ? json_string_value(tn) : "",
                     "updated_at", at, "updated_ms", (json_int_t) ms);
    json_decref(doc);
    return *out ? 0 : bad(err, err_len, "out of memory");
}


static const char *effect_names[] = {
    "nothing", "paid", "failed", "cancelled", "refunded", "note", NULL
};


const char *
stripe_effect_name(stripe_effect e)
{
    return effect_names[e];
}


stripe_effect
stripe_effect_parse(const char *name)
{
    int i;

    for (i = 0; name != NULL && effect_names[i]; i++) {
        if (strcmp(name, effect_names[i]) == 0) {
            return (stripe_effect) i;
        }
    }
    return STRIPE_NOTHING;
}


static stripe_effect
effect_of(const char *type, json_t *obj)
{
    const char *ps;
    json_int_t  amount, refunded;

    if (strcmp(type, "payment_intent.succeeded") == 0
        || strcmp(type, "charge.succeeded") == 0)
    {
        return STRIPE_PAID;
    }
    if (strcmp(type, "checkout.session.completed") == 0) {
        ps = json_string_value(json_object_get(obj, "payment_status"));
        return ps && strcmp(ps, "paid") == 0 ? STRIPE_PAID : STRIPE_NOTHING;
    }
    if (strcmp(type, "payment_intent.payment_failed") == 0
        || strcmp(type, "charge.failed") == 0)
    {
        return STRIPE_FAILED;
    }
    if (strcmp(type, "payment_intent.canceled") == 0
        || strcmp(type, "checkout.session.expired") == 0)
    {
        return STRIPE_CANCELLED;
    }
    if (strcmp(type, "charge.refunded") == 0) {
        amount = json_integer_value(json_object_get(obj, "amount"));
        refunded = json_integer_value(json_object_get(obj,
                                                      "amount_refunded"));
        if (json_is_true(json_object_get(obj, "refunded"))
            || (amount > 0 && refunded >= amount))
        {
            return STRIPE_REFUNDED;
        }
        return STRIPE_NOTE;
    }
    if (strcmp(type, "charge.refund.created") == 0
        || strcmp(type, "charge.refund.updated") == 0)
    {
        return STRIPE_NOTE;
    }
    /* payment_intent.created, customer.*, anything else */
    return STRIPE_NOTHING;
}


int
stripe_parse_event(const char *body, size_t len, json_t **out, char *err,
    size_t err_len)
{
    json_t      *doc = load_object(body, len, err, err_len), *obj, *oid;
    const char  *id, *type, *object_id, *currency;
    char         order[24] = "";
    json_int_t   created;
    stripe_effect eff;

    *out = NULL;
    if (doc == NULL) {
        return 400;
    }
    id = json_string_value(json_object_get(doc, "id"));
    type = json_string_value(json_object_get(doc, "type"));
    if (id == NULL || strncmp(id, "evt_", 4) != 0 || strlen(id) > 200
        || strspn(id + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                          "yz0123456789_") != strlen(id + 4))
    {
        json_decref(doc);
        return bad(err, err_len, "id must be a Stripe event id (evt_...)");
    }
    if (type == NULL || type[0] == '\0' || strlen(type) > 100) {
        json_decref(doc);
        return bad(err, err_len, "type is required");
    }
    if (!json_is_integer(json_object_get(doc, "created"))) {
        json_decref(doc);
        return bad(err, err_len, "created must be a unix time");
    }
    created = json_integer_value(json_object_get(doc, "created"));
    obj = json_object_get(json_object_get(doc, "data"), "object");
    if (!json_is_object(obj)) {
        json_decref(doc);
        return bad(err, err_len, "data.object is required");
    }
    oid = json_object_get(json_object_get(obj, "metadata"), "order_id");
    if (json_is_string(oid) && wc_id_valid(json_string_value(oid))) {
        snprintf(order, sizeof(order), "%s", json_string_value(oid));
    } else if (json_is_integer(oid) && json_integer_value(oid) > 0) {
        snprintf(order, sizeof(order), "%lld",
                 (long long) json_integer_value(oid));
    }
    eff = order[0] ? effect_of(type, obj) : STRIPE_NOTHING;
    object_id = json_string_value(json_object_get(obj, "id"));
    currency = json_string_value(json_object_get(obj, "currency"));
    *out = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:s}", "id", id,
                     "type", type, "created", created, "order_id", order,
                     "effect", stripe_effect_name(eff), "object_id",
                     object_id ? object_id : "", "amount",
                     json_integer_value(json_object_get(obj, "amount")),
                     "amount_refunded",
                     json_integer_value(json_object_get(obj,
                                                        "amount_refunded")),
                     "currency", currency ? currency : "");
    json_decref(doc);
    return *out ? 0 : bad(err, err_len, "out of memory");
}


int
wc_parse_webhook(const char *body, size_t len, const char *topic,
    long long *wc_id, char *err, size_t err_len)
{
    json_t *doc, *id;

    if (topic != NULL && topic[0] != '\0'
        && strcmp(topic, "order.created") != 0
        && strcmp(topic, "order.updated") != 0)
    {
        return 1;
    }
    doc = load_object(body, len, err, err_len);
    if (doc == NULL) {
        return 400;
    }
    id = json_object_get(doc, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        json_decref(doc);
        return bad(err, err_len, "id must be a WooCommerce order id");
    }
    *wc_id = json_integer_value(id);
    json_decref(doc);
    return 0;
}

#include "commerce.h"
#include "../clock.h"
#include "../commerce_intake.h"
#include "../crypto.h"
#include "../log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

const queue_names commerce_queue_names = {
    "wh:commerce", "commerce", "wh:commerce:delayed", "wh:commerce:dead",
    "wh:cjob:"
};

#define HISTORY_MAX   100
#define IDEM_TTL_S    "604800"      /* Stripe retries for 3 days */


/* -- Redis ------------------------------------------------------------- */

/* A command from NULL-terminated strings; NULL on error. */
static redisReply *
rcmd(queue *q, const char *first, ...)
{
    const char *argv[40];
    int         argc = 0;
    va_list     ap;
    const char *s;

    argv[argc++] = first;
    va_start(ap, first);
    while ((s = va_arg(ap, const char *)) != NULL && argc < 40) {
        argv[argc++] = s;
    }
    va_end(ap);
    return queue_argv(q, argc, argv);
}


/* A reply's string (or integer as text) into out; "" otherwise. */
static void
reply_str(redisReply *r, char *out, size_t n)
{
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        snprintf(out, n, "%s", r->str);
    } else if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        snprintf(out, n, "%lld", r->integer);
    } else if (n > 0) {
        out[0] = '\0';
    }
}


static void
order_key(char *buf, size_t n, long long wc, const char *suffix)
{
    snprintf(buf, n, "wh:wc:%lld%s", wc, suffix);
}


static json_t *
order_hash(commerce_env *e, long long wc, int *failed)
{
    char key[64];

    order_key(key, sizeof(key), wc, "");
    return queue_hash_get(e->queue, key, failed);
}


static const char *
hget(json_t *h, const char *field)
{
    const char *v = json_string_value(json_object_get(h, field));

    return v ? v : "";
}


int
commerce_enqueue(queue *q, const char *kind, long long wc_id,
    const char *idem_key, json_t *payload, const char *source,
    char job_id[64], int *created)
{
    static const char lua[] =
        "local existing = redis.call('GET', KEYS[1])\n"
        "if existing then return {0, existing} end\n"
        "redis.call('HSET', KEYS[2], 'id', ARGV[1], 'kind', ARGV[2],\n"
        "  'wc_id', ARGV[3], 'payload', ARGV[4], 'source', ARGV[5],\n"
        "  'status', 'QUEUED', 'attempts', '0', 'created_ms', ARGV[6],\n"
        "  'updated_ms', ARGV[6])\n"
        "redis.call('XADD', KEYS[3], '*', 'job', ARGV[1])\n"
        "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[7])\n"
        "return {1, ARGV[1]}\n";
    char         hex[33], idem[300], jkey[96], wc[24], now[24], *text;
    redisReply  *r;
    int          rc = -1;

    text = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER)
                   : strdup("");
    if (text == NULL || random_hex(hex, 16) != 0) {
        free(text);
        return -1;
    }
    snprintf(job_id, 64, "cjob_%s", hex);
    snprintf(idem, sizeof(idem), "wh:cidem:%s", idem_key);
    snprintf(jkey, sizeof(jkey), "%s%s", commerce_queue_names.job_prefix,
             job_id);
    snprintf(wc, sizeof(wc), "%lld", wc_id);
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    r = rcmd(q, "EVAL", lua, "3", idem, jkey, commerce_queue_names.stream,
             job_id, kind, wc, text, source, now, IDEM_TTL_S, NULL);
    free(text);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        *created = r->element[0]->integer == 1;
        reply_str(r->element[1], job_id, 64);
        rc = 0;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}


int
commerce_map_lookup(queue *q, const char *hft71_id, long long *wc_id)
{
    char        key[96], v[32];
    redisReply *r;

    snprintf(key, sizeof(key), "wh:hft71:map:%s", hft71_id);
    r = rcmd(q, "GET", key, NULL);
    if (r == NULL) {
        return -1;
    }
    reply_str(r, v, sizeof(v));
    freeReplyObject(r);
    if (v[0] == '\0') {
        return 0;
    }
    *wc_id = strtoll(v, NULL, 10);
    return 1;
}


void
commerce_log_action(queue *q, json_t *entry)
{
    char        *text;
    redisReply  *r;
    char         cap[16];

    if (entry == NULL) {
        return;
    }
    json_object_set_new(entry, "ts_ms", json_integer(clock_now_ms()));
    text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(entry);
    if (text == NULL) {
        return;
    }
    snprintf(cap, sizeof(cap), "%d", COMMERCE_LOG_MAX - 1);
    r = rcmd(q, "LPUSH", COMMERCE_LOG_KEY, text, NULL);
    if (r != NULL) {
        freeReplyObject(r);
        r = rcmd(q, "LTRIM", COMMERCE_LOG_KEY, "0", cap, NULL);
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    free(text);
}


json_t *
commerce_log_read(queue *q, const char *action, long limit)
{
    char        cap[16];
    redisReply *r;
    json_t     *out, *item;
    size_t      i;

    snprintf(cap, sizeof(cap), "%d", COMMERCE_LOG_MAX - 1);
    r = rcmd(q, "LRANGE", COMMERCE_LOG_KEY, "0", cap, NULL);
    if (r == NULL) {
        return NULL;
    }
    out = json_array();
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements
                && (long) json_array_size(out) < limit; i++)
    {
        item = json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL);
        if (item == NULL) {
            continue;
        }
        if (action != NULL && action[0] != '\0'
            && strcmp(hget(item, "action"), action) != 0)
        {
            json_decref(item);
            continue;
        }
        json_array_append_new(out, item);
    }
    freeReplyObject(r);
    return out;
}


static void
history_add(commerce_env *e, long long wc, json_t *entry)
{
    char        key[64], cap[16], *text;
    redisReply *r;

    json_object_set_new(entry, "at_ms", json_integer(clock_now_ms()));
    text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(entry);
    if (text == NULL) {
        return;
    }
    order_key(key, sizeof(key), wc, ":history");
    snprintf(cap, sizeof(cap), "%d", HISTORY_MAX - 1);
    r = rcmd(e->queue, "LPUSH", key, text, NULL);
    if (r != NULL) {
        freeReplyObject(r);
        r = rcmd(e->queue, "LTRIM", key, "0", cap, NULL);
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    free(text);
}


json_t *
commerce_order_view(queue *q, long long wc_id, int *found)
{
    static const char *fields[] = {
        "hft71_order_id", "send_state", "sent_by", "hft71_status",
        "hft71_updated_at", "tracking", "wc_target", "pay_effect",
        "pay_event", "written_back", NULL
    };
    char        key[64];
    int         failed, i;
    json_t     *h, *v, *hist, *item;
    redisReply *r;
    size_t      k;

    order_key(key, sizeof(key), wc_id, "");
    h = queue_hash_get(q, key, &failed);
    if (h == NULL) {
        *found = failed ? -1 : 0;
        return NULL;
    }
    v = json_pack("{s:I}", "order_id", (json_int_t) wc_id);
    for (i = 0; fields[i]; i++) {
        const char *s = hget(h, fields[i]);

        json_object_set_new(v, fields[i], s[0] ? json_string(s) : json_null());
    }
    json_object_set_new(v, "final",
                        json_boolean(strcmp(hget(h, "hft71_final"), "1")
                                     == 0));
    json_decref(h);
    hist = json_array();
    order_key(key, sizeof(key), wc_id, ":history");
    r = rcmd(q, "LRANGE", key, "0", "-1", NULL);
    for (k = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && k < r->elements;
         k++)
    {
        item = json_loadb(r->element[k]->str, r->element[k]->len, 0, NULL);
        if (item != NULL) {
            json_array_append_new(hist, item);
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    json_object_set_new(v, "history", hist);
    *found = 1;
    return v;
}


/* -- environment -------------------------------------------------------- */

commerce_env *
commerce_env_new(const worker_config *cfg, metrics *m, const char *who,
    char *err, size_t err_len)
{
    commerce_env *e = calloc(1, sizeof(*e));
    char          rnd[17];

    if (e == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->metrics = m;
    e->queue = queue_new_named(&cfg->redis, 5000, &commerce_queue_names);
    e->http = outbound_new(m, cfg->http_timeout_ms);
    e->wc = e->http ? woocommerce_new(cfg, e->http) : NULL;
    e->hft = e->http ? hft71_new(cfg, e->http) : NULL;
    if (e->queue == NULL || e->wc == NULL || e->hft == NULL
        || random_hex(rnd, 8) != 0)
    {
        snprintf(err, err_len, "out of memory");
        commerce_env_free(e);
        return NULL;
    }
    snprintf(e->token, sizeof(e->token), "%s:%s:%ld:%s", cfg->consumer_name,
             who, (long) getpid(), rnd);
    return e;
}


void
commerce_env_free(commerce_env *e)
{
    if (e == NULL) {
        return;
    }
    woocommerce_free(e->wc);
    hft71_free(e->hft);
    outbound_free(e->http);
    queue_free(e->queue);
    free(e);
}


static void
lease_name(char *buf, size_t n, long long wc)
{
    snprintf(buf, n, "wc:%lld", wc);
}


int
commerce_lease_take(commerce_env *e, long long wc_id)
{
    char name[40];

    lease_name(name, sizeof(name), wc_id);
    return queue_lease_take(e->queue, name, e->token, e->cfg->claim_idle_ms);
}


static int
lease_renew(commerce_env *e, long long wc_id)
{
    char name[40];

    lease_name(name, sizeof(name), wc_id);
    return queue_lease_renew(e->queue, name, e->token, e->cfg->claim_idle_ms);
}


void
commerce_lease_release(commerce_env *e, long long wc_id)
{
    char name[40];

    lease_name(name, sizeof(name), wc_id);
    queue_lease_release(e->queue, name, e->token);
}


/* -- results and the action log ----------------------------------------- */

static void
result(cj_result *res, cj_status st, failure_class cls, const char *outcome,
    const char *fmt, ...)
{
    va_list ap;

    res->status = st;
    res->cls = cls;
    snprintf(res->outcome, sizeof(res->outcome), "%s", outcome);
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}


/*
 * A failed call's result: retried for the runbook's transient classes;
 * credentials (401/403) and refusals are not (the sweep finds the order
 * again once someone has fixed the cause).
 */
static void
result_from_call(cj_result *res, const call_outcome *o, const char *outcome)
{
    cj_status st = CJ_RETRY;

    if (o->cls == FAIL_AUTH || o->cls == FAIL_REMOTE_ERROR
        || o->cls == FAIL_VALIDATION)
    {
        st = CJ_FAILED;
    }
    result(res, st, o->cls, outcome, "%s", o->message);
    res->retry_after_s = o->retry_after_s;
}


void
commerce_count_hft71_call(commerce_env *e, const char *action,
    const call_outcome *o)
{
    const char *sc;

    if (o->status == 0) {
        sc = o->cls == FAIL_TIMEOUT ? "timeout" : "transport";
    } else if (o->status < 300) {
        sc = "2xx";
    } else if (o->status == 401 || o->status == 403) {
        sc = "auth";                /* the runbook's credential drift */
    } else if (o->status == 429) {
        sc = "429";
    } else if (o->status >= 500) {
        sc = "5xx";
    } else {
        sc = "4xx";
    }
    metrics_commerce(e->metrics, MC_HFT71_CALL, action, sc);
}


/* One line and one log entry per HFT71 call, as the runbook reads them. */
static void
hft71_logged(commerce_env *e, const char *action, long long wc,
    const char *hft71_id, const call_outcome *o, const char *detail)
{
    json_t     *entry;
    const char *cls = o->cls == FAIL_NONE ? "ok" : failure_class_name(o->cls);

    commerce_count_hft71_call(e, action, o);
    entry = json_pack("{s:s,s:I,s:s,s:I,s:s}", "action", action, "order_id",
                      (json_int_t) wc, "hft71_order_id",
                      hft71_id ? hft71_id : "", "status",
                      (json_int_t) o->status, "class", cls);
    if (entry == NULL) {
        return;
    }
    if (detail != NULL) {
        json_object_set_new(entry, "detail", json_string(detail));
    }
    if (o->cls != FAIL_NONE) {
        json_object_set_new(entry, "message", json_string(o->message));
    }
    log_json(o->cls == FAIL_NONE ? "info" : "warn", "hft71_action",
             json_deep_copy(entry));
    commerce_log_action(e->queue, entry);
}


/* -- send_order --------------------------------------------------------- */

/* GET orders/{id}; -1 with res set (404: FAILED unknown_order) */
static int
get_order(commerce_env *e, long long wc, json_t **order, cj_result *res)
{
    call_outcome o = wc_get_order(e->wc, wc, order);

    if (o.cls == FAIL_NONE) {
        return 0;
    }
    result_from_call(res, &o, "woocommerce_unavailable");
    if (o.status == 404) {
        result(res, CJ_FAILED, o.cls, "unknown_order",
               "WooCommerce has no order %lld", wc);
    }
    return -1;
}

/*
 * Records the HFT71 order of a WooCommerce order, once: the id, the
 * reverse mapping for the status webhook, the set the poller reads. An id
 * already recorded wins (returned in id).
 */
static int
record_sent(commerce_env *e, long long wc, char id[64], const char *source)
{
    static const char lua[] =
        "local cur = redis.call('HGET', KEYS[1], 'hft71_order_id')\n"
        "if cur and cur ~= '' then return cur end\n"
        "redis.call('HSET', KEYS[1], 'hft71_order_id', ARGV[1],\n"
        "  'send_state', 'sent', 'sent_ms', ARGV[3], 'sent_by', ARGV[4])\n"
        "redis.call('SET', KEYS[2], ARGV[2])\n"
        "if redis.call('HGET', KEYS[1], 'hft71_final') ~= '1' then\n"
        "  redis.call('SADD', KEYS[3], ARGV[2]) end\n"
        "return ARGV[1]\n";
    char         key[64], map[96], wcs[24], now[24];
    redisReply  *r;

    order_key(key, sizeof(key), wc, "");
    snprintf(map, sizeof(map), "wh:hft71:map:%s", id);
    snprintf(wcs, sizeof(wcs), "%lld", wc);
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    r = rcmd(e->queue, "EVAL", lua, "3", key, map, COMMERCE_OPEN_KEY, id, wcs,
             now, source, NULL);
    if (r == NULL) {
        return -1;
    }
    reply_str(r, id, 64);
    freeReplyObject(r);
    history_add(e, wc, json_pack("{s:s,s:s,s:s}", "event", "hft71_order",
                                 "hft71_order_id", id, "source", source));
    return 0;
}


/*
 * Before POST /orders: 2 the order is already recorded (id set), 1 go on
 * (*lookup = 1 when an earlier attempt may have reached HFT71), -1 error.
 */
static int
begin_send(commerce_env *e, long long wc, char id[64], int *lookup)
{
    static const char lua[] =
        "local cur = redis.call('HGET', KEYS[1], 'hft71_order_id')\n"
        "if cur and cur ~= '' then return {2, cur} end\n"
        "local prev = redis.call('HGET', KEYS[1], 'send_state') or ''\n"
        "redis.call('HSET', KEYS[1], 'send_state', 'sending',\n"
        "  'send_started_ms', ARGV[1])\n"
        "redis.call('HINCRBY', KEYS[1], 'send_attempts', 1)\n"
        "return {1, prev}\n";
    char         key[64], now[24], prev[32];
    redisReply  *r;
    int          rc = -1;

    order_key(key, sizeof(key), wc, "");
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    r = rcmd(e->queue, "EVAL", lua, "1", key, now, NULL);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        rc = (int) r->element[0]->integer;
        if (rc == 2) {
            reply_str(r->element[1], id, 64);
        } else {
            reply_str(r->element[1], prev, sizeof(prev));
            /* "sending": an attempt may have reached HFT71; "sent"
             * without an id: the record was lost. Either way ask. */
            *lookup = prev[0] != '\0';
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}


/* HFT71 cannot have created an order: the next attempt sends without a
 * lookup first. */
static void
send_not_made(commerce_env *e, long long wc)
{
    char        key[64];
    redisReply *r;

    order_key(key, sizeof(key), wc, "");
    r = rcmd(e->queue, "HSET", key, "send_state", "", NULL);
    if (r != NULL) {
        freeReplyObject(r);
    }
}


static int
set_field(commerce_env *e, long long wc, const char *field, const char *v)
{
    char key[64];

    order_key(key, sizeof(key), wc, "");
    return queue_hash_set(e->queue, key, field, v, NULL);
}


/* PUT orders/{id} meta_data _hft71_order_id (and the status known). */
static int
write_back(commerce_env *e, long long wc, const char *id, cj_result *res)
{
    json_t       *h, *body;
    int           failed;
    call_outcome  o;
    const char   *st;

    h = order_hash(e, wc, &failed);
    st = hget(h, "hft71_status");
    body = json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "meta_data", "key",
                     "_hft71_order_id", "value", id, "key",
                     "_hft71_last_status", "value", st[0] ? st : "received");
    json_decref(h);
    o = wc_update_order(e->wc, wc, body);
    json_decref(body);
    if (o.cls != FAIL_NONE) {
        result_from_call(res, &o, "write_back_failed");
        if (res->status == CJ_FAILED && o.cls != FAIL_AUTH) {
            res->status = CJ_RETRY;     /* the HFT71 order exists: keep on */
        }
        return -1;
    }
    set_field(e, wc, "written_back", "1");
    return 0;
}


/* WooCommerce's shipping address as HFT71's */
static json_t *
hft71_shipping(json_t *order)
{
    json_t     *s = json_object_get(order, "shipping");
    const char *first = json_string_value(json_object_get(s, "first_name"));
    const char *last = json_string_value(json_object_get(s, "last_name"));
    char        name[256];
    json_t     *out;
    static const char *copy[] = {
        "address_1", "address_2", "city", "postcode", "country", "phone",
        NULL
    };
    int         i;

    snprintf(name, sizeof(name), "%s%s%s", first ? first : "",
             first && first[0] && last && last[0] ? " " : "",
             last ? last : "");
    out = json_pack("{s:s}", "name", name);
    for (i = 0; copy[i]; i++) {
        const char *v = json_string_value(json_object_get(s, copy[i]));

        json_object_set_new(out, copy[i], json_string(v ? v : ""));
    }
    return out;
}


/* line_items as [{sku, quantity}]; NULL with why set when one has no SKU */
static json_t *
hft71_items(json_t *order, char *why, size_t why_len)
{
    json_t  *out = json_array(), *it;
    size_t   i;

    json_array_foreach(json_object_get(order, "line_items"), i, it) {
        const char *sku = json_string_value(json_object_get(it, "sku"));
        json_int_t  q = json_integer_value(json_object_get(it, "quantity"));

        if (sku == NULL || sku[0] == '\0' || q < 1) {
            snprintf(why, why_len, "line item %zu has no SKU or quantity", i);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:s,s:I}", "sku", sku,
                                             "quantity", q));
    }
    if (json_array_size(out) == 0) {
        snprintf(why, why_len, "the order has no line items");
        json_decref(out);
        return NULL;
    }
    return out;
}


/* sha256 of a JSON value (canonical: keys sorted) */
static void
json_digest(json_t *v, char out[HEX_SHA256_LEN + 1])
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

    sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
    free(text);
}


/*
 * An order already sent: a changed address or item list goes to HFT71
 * (update_order_address / update_order) until it ships; order_locked adds
 * an order note and is not retried. The first sight of an order only
 * records what was sent.
 */
static void
sync_changes(commerce_env *e, long long wc, json_t *order, const char *id,
    cj_result *res)
{
    json_t       *h, *ship, *items;
    char          ds[HEX_SHA256_LEN + 1], di[HEX_SHA256_LEN + 1], why[128];
    char          note[512];
    int           failed;
    call_outcome  o;
    const char   *kinds[2] = { "update_order_address", "update_order" };
    int           k;

    h = order_hash(e, wc, &failed);
    if (h == NULL) {
        return;
    }
    ship = hft71_shipping(order);
    items = hft71_items(order, why, sizeof(why));
    json_digest(ship, ds);
    if (items != NULL) {
        json_digest(items, di);
    } else {
        di[0] = '\0';
    }
    if (hget(h, "ship_digest")[0] == '\0' || hget(h, "items_digest")[0] == '\0')
    {
        set_field(e, wc, "ship_digest", ds);
        set_field(e, wc, "items_digest", di);
        goto done;
    }
    for (k = 0; k < 2; k++) {
        const char *field = k == 0 ? "ship_digest" : "items_digest";
        const char *now = k == 0 ? ds : di;

        if (now[0] == '\0' || strcmp(hget(h, field), now) == 0) {
            continue;
        }
        if (k == 0) {
            json_t *body = json_pack("{s:O}", "shipping", ship);

            o = hft71_update_address(e->hft, id, body);
            json_decref(body);
        } else {
            o = hft71_update_order(e->hft, id, items);
        }
        hft71_logged(e, kinds[k], wc, id, &o, NULL);
        if (o.cls == FAIL_NONE) {
            set_field(e, wc, field, now);
            history_add(e, wc, json_pack("{s:s,s:s}", "event", kinds[k],
                                         "outcome", "ok"));
            continue;
        }
        if (o.status == 409 && strcmp(o.code, "order_locked") == 0) {
            snprintf(note, sizeof(note), "HFT71 did not take the %s change "
                     "for order %s: it is locked (already shipped). Change "
                     "it with HFT71 directly if it still matters.",
                     k == 0 ? "address" : "item", id);
            if (wc_add_note(e->wc, wc, note).cls == FAIL_NONE) {
                /* settled: the next change is compared with this one */
                set_field(e, wc, field, now);
                history_add(e, wc, json_pack("{s:s,s:s}", "event", kinds[k],
                                             "outcome", "order_locked"));
            }
            continue;
        }
        result_from_call(res, &o, kinds[k]);
        break;
    }

done:
    json_decref(ship);
    json_decref(items);
    json_decref(h);
}


void
commerce_send_order(commerce_env *e, long long wc, const char *source,
    cj_result *res)
{
    json_t       *order = NULL, *h = NULL, *body = NULL, *found = NULL;
    json_t       *ship, *items;
    call_outcome  o;
    char          id[64] = "", why[128], refs[24];
    const char   *meta, *status;
    int           failed, lookup = 0, rc;

    memset(res, 0, sizeof(*res));
    res->retry_after_s = -1;
    if (get_order(e, wc, &order, res) != 0) {
        return;
    }
    status = json_string_value(json_object_get(order, "status"));
    if (status != NULL) {
        set_field(e, wc, "wc_status", status);
    }

    /* written back already: record it here too (an order sent before
     * this worker, or by a run whose Redis record was lost) */
    meta = wc_meta(order, "_hft71_order_id");
    if (meta != NULL) {
        snprintf(id, sizeof(id), "%s", meta);
        if (record_sent(e, wc, id, "woocommerce_meta") == 0) {
            set_field(e, wc, "written_back", "1");
        }
        snprintf(res->hft71_order_id, sizeof(res->hft71_order_id), "%s", id);
        result(res, CJ_DONE, FAIL_NONE, "already_sent",
               "the order has _hft71_order_id %s", id);
        sync_changes(e, wc, order, id, res);
        goto done;
    }

    h = order_hash(e, wc, &failed);
    if (h == NULL && failed) {
        result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
               queue_error(e->queue));
        goto done;
    }
    if (hget(h, "hft71_order_id")[0] != '\0') {
        /* sent; the write-back did not happen (or did not finish) */
        snprintf(id, sizeof(id), "%s", hget(h, "hft71_order_id"));
        goto adopt;
    }
    if (status == NULL || strcmp(status, "processing") != 0) {
        result(res, CJ_DONE, FAIL_NONE, "not_processing",
               "the order is %s", status ? status : "(no status)");
        goto done;
    }

    rc = begin_send(e, wc, id, &lookup);
    if (rc < 0) {
        result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
               queue_error(e->queue));
        goto done;
    }
    if (rc == 2) {
        metrics_commerce(e->metrics, MC_HFT71_DUPLICATE, "claim", NULL);
        goto adopt;
    }
    snprintf(refs, sizeof(refs), "%lld", wc);
    if (lookup) {
        /* an earlier attempt may have reached HFT71 (no answer, killed
         * after sending): HFT71 does not deduplicate, so ask first */
        o = hft71_find_orders(e->hft, refs, &found);
        hft71_logged(e, "send_order", wc, NULL, &o, "lookup");
        if (o.cls != FAIL_NONE) {
            result_from_call(res, &o, "lookup_failed");
            goto done;
        }
        if (json_array_size(found) > 0) {
            const char *fid = json_string_value(
                json_object_get(json_array_get(found, 0), "order_id"));

            if (json_array_size(found) > 1) {
                log_json("error", "hft71_duplicates_exist",
                         json_pack("{s:I,s:I}", "order_id", (json_int_t) wc,
                                   "count",
                                   (json_int_t) json_array_size(found)));
            }
            if (fid != NULL && fid[0] != '\0') {
                snprintf(id, sizeof(id), "%s", fid);
                metrics_commerce(e->metrics, MC_HFT71_DUPLICATE, "lookup",
                                 NULL);
                if (record_sent(e, wc, id, "lookup") != 0) {
                    result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
                           queue_error(e->queue));
                    goto done;
                }
                goto adopt;
            }
        }
    }

    ship = hft71_shipping(order);
    items = hft71_items(order, why, sizeof(why));
    if (items == NULL) {
        json_decref(ship);
        send_not_made(e, wc);
        wc_add_note(e->wc, wc, "Not sent to HFT71: every line item needs a "
                    "SKU and a quantity");
        result(res, CJ_FAILED, FAIL_MAPPING, "mapping_missing", "%s", why);
        goto done;
    }
    body = json_pack("{s:s,s:o,s:o}", "reference", refs, "shipping", ship,
                     "items", items);
    /* the lease must still be ours right before sending */
    if (lease_renew(e, wc) != 1) {
        result(res, CJ_ABANDONED, FAIL_NONE, "lease_lost",
               "another run took the order over");
        goto done;
    }
    o = hft71_send_order(e->hft, body, id);
    hft71_logged(e, "send_order", wc, id, &o, NULL);
    if (o.cls != FAIL_NONE) {
        if (o.not_sent || (o.status >= 400 && o.status < 500
                           && o.status != 408))
        {
            /* refused before anything was made: no lookup needed */
            send_not_made(e, wc);
        }
        result_from_call(res, &o, "send_failed");
        if (!o.not_sent && (o.status == 0 || o.status >= 500
                            || o.status == 408))
        {
            /*
             * Uncertain: HFT71 may still be working on the request it
             * never answered. The next attempt looks up the reference
             * first; give HFT71 time to finish before that lookup.
             */
            long settle = (3 * e->cfg->http_timeout_ms + 999) / 1000;

            if (res->retry_after_s < settle) {
                res->retry_after_s = settle;
            }
        }
        if (o.cls == FAIL_REMOTE_ERROR) {
            char note[600];

            snprintf(note, sizeof(note), "HFT71 refused the order: %s",
                     o.message);
            wc_add_note(e->wc, wc, note);
        }
        goto done;
    }
    if (record_sent(e, wc, id, source) != 0) {
        /* the order exists at HFT71; send_state stays "sending", so the
         * next run looks it up instead of sending again */
        result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
               queue_error(e->queue));
        goto done;
    }
    metrics_commerce(e->metrics, MC_HFT71_SENT, source, NULL);
    if (write_back(e, wc, id, res) != 0) {
        goto done;
    }
    snprintf(res->hft71_order_id, sizeof(res->hft71_order_id), "%s", id);
    result(res, CJ_DONE, FAIL_NONE, "sent", "HFT71 order %s", id);
    sync_changes(e, wc, order, id, res);
    goto done;

adopt:
    snprintf(res->hft71_order_id, sizeof(res->hft71_order_id), "%s", id);
    if (write_back(e, wc, id, res) == 0) {
        result(res, CJ_DONE, FAIL_NONE, "duplicate_prevented",
               "already sent as HFT71 order %s", id);
        sync_changes(e, wc, order, id, res);
    }

done:
    json_decref(found);
    json_decref(body);
    json_decref(h);
    json_decref(order);
}


/* -- status updates ----------------------------------------------------- */

static const char *
wc_target_of(const char *hft71_status)
{
    if (strcmp(hft71_status, "shipped") == 0
        || strcmp(hft71_status, "delivered") == 0)
    {
        return "completed";
    }
    if (strcmp(hft71_status, "cancelled") == 0) {
        return "cancelled";
    }
    if (strcmp(hft71_status, "on_hold") == 0) {
        return "on-hold";
    }
    return "";
}


/*
 * The one path for HFT71 statuses (webhook and polling). The update is
 * taken when it is newer (updated_at) than the one applied and the order
 * is not final; then WooCommerce is brought to what Redis holds.
 */
static void
apply_status(commerce_env *e, long long wc, json_t *v, const char *source,
    cj_result *res)
{
    static const char accept_lua[] =
        "local cur = redis.call('HGET', KEYS[1], 'hft71_order_id')\n"
        "if not cur or cur ~= ARGV[1] then return 'other_order' end\n"
        "if redis.call('HGET', KEYS[1], 'hft71_final') == '1' then\n"
        "  return 'final' end\n"
        "local last = tonumber(redis.call('HGET', KEYS[1],\n"
        "  'hft71_updated_ms') or '-1')\n"
        "if tonumber(ARGV[4]) <= last then return 'stale' end\n"
        "redis.call('HSET', KEYS[1], 'hft71_status', ARGV[2],\n"
        "  'hft71_updated_ms', ARGV[4], 'hft71_updated_at', ARGV[5],\n"
        "  'hft71_source', ARGV[6])\n"
        "if ARGV[3] ~= '' then\n"
        "  redis.call('HSET', KEYS[1], 'tracking', ARGV[3]) end\n"
        "if ARGV[8] == '1' then\n"
        "  redis.call('HSET', KEYS[1], 'hft71_final', '1')\n"
        "  redis.call('SREM', KEYS[2], ARGV[7]) end\n"
        "local t = redis.call('HGET', KEYS[1], 'wc_target') or ''\n"
        "if ARGV[9] ~= '' and t ~= 'completed' and t ~= 'cancelled' then\n"
        "  redis.call('HSET', KEYS[1], 'wc_target', ARGV[9]) end\n"
        "return 'applied'\n";
    const char   *id = hget(v, "order_id"), *st = hget(v, "status");
    const char   *tn = hget(v, "tracking_number");
    char          key[64], wcs[24], ms[24], verdict[24], note[400];
    json_t       *h, *body, *meta;
    redisReply   *r;
    int           failed;
    call_outcome  o;
    const char   *target, *synced;

    order_key(key, sizeof(key), wc, "");
    snprintf(wcs, sizeof(wcs), "%lld", wc);
    snprintf(ms, sizeof(ms), "%lld",
             (long long) json_integer_value(json_object_get(v, "updated_ms")));
    r = rcmd(e->queue, "EVAL", accept_lua, "2", key, COMMERCE_OPEN_KEY, id, st,
             tn, ms, hget(v, "updated_at"), source, wcs,
             hft71_status_final(st) ? "1" : "0", wc_target_of(st), NULL);
    if (r == NULL) {
        result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
               queue_error(e->queue));
        return;
    }
    reply_str(r, verdict, sizeof(verdict));
    freeReplyObject(r);
    metrics_commerce(e->metrics, MC_STATUS_UPDATE, source, verdict);
    if (strcmp(verdict, "applied") == 0) {
        history_add(e, wc, json_pack("{s:s,s:s,s:s,s:s,s:s}", "event",
                                     "hft71_status", "status", st,
                                     "updated_at", hget(v, "updated_at"),
                                     "source", source, "tracking_number",
                                     tn));
    }
    snprintf(res->hft71_order_id, sizeof(res->hft71_order_id), "%s", id);

    /* WooCommerce to what Redis holds (also after a stale or repeated
     * update: an earlier run may have stopped before writing it) */
    h = order_hash(e, wc, &failed);
    if (h == NULL) {
        result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
               queue_error(e->queue));
        return;
    }
    synced = hget(h, "wc_synced_ms");
    if (hget(h, "hft71_updated_ms")[0] == '\0'
        || strcmp(synced, hget(h, "hft71_updated_ms")) == 0)
    {
        result(res, CJ_DONE, FAIL_NONE, verdict, "status %s", st);
        json_decref(h);
        return;
    }
    target = hget(h, "wc_target");
    meta = json_pack("[{s:s,s:s}]", "key", "_hft71_last_status", "value",
                     hget(h, "hft71_status"));
    if (hget(h, "tracking")[0] != '\0') {
        json_array_append_new(meta, json_pack("{s:s,s:s}", "key",
                                              "_hft71_tracking", "value",
                                              hget(h, "tracking")));
    }
    body = json_pack("{s:o}", "meta_data", meta);
    if (target[0] != '\0') {
        json_object_set_new(body, "status", json_string(target));
    }
    o = wc_update_order(e->wc, wc, body);
    json_decref(body);
    if (o.cls != FAIL_NONE) {
        result_from_call(res, &o, "woocommerce_update_failed");
        json_decref(h);
        return;
    }
    if (strcmp(target, "completed") == 0
        && strcmp(hget(h, "note_done"), "1") != 0)
    {
        snprintf(note, sizeof(note), "HFT71 order %s %s. Tracking number: "
                 "%s", hget(h, "hft71_order_id"), hget(h, "hft71_status"),
                 hget(h, "tracking")[0] ? hget(h, "tracking") : "(none)");
        o = wc_add_note(e->wc, wc, note);
        if (o.cls != FAIL_NONE) {
            result_from_call(res, &o, "woocommerce_note_failed");
            json_decref(h);
            return;
        }
        set_field(e, wc, "note_done", "1");
    }
    set_field(e, wc, "wc_synced_ms", hget(h, "hft71_updated_ms"));
    json_decref(h);
    result(res, CJ_DONE, FAIL_NONE, verdict, "status %s", st);
}


static void
poll_status(commerce_env *e, long long wc, cj_result *res)
{
    json_t       *h, *view = NULL, *v;
    int           failed;
    char          id[64];
    call_outcome  o;
    long long     ms;
    const char   *st, *at;
    json_t       *tn;

    h = order_hash(e, wc, &failed);
    snprintf(id, sizeof(id), "%s", hget(h, "hft71_order_id"));
    if (id[0] == '\0' || strcmp(hget(h, "hft71_final"), "1") == 0) {
        json_decref(h);
        result(res, CJ_DONE, FAIL_NONE, "nothing_to_poll", "not open");
        return;
    }
    json_decref(h);
    o = hft71_get_status(e->hft, id, &view);
    hft71_logged(e, "get_status", wc, id, &o, NULL);
    if (o.cls != FAIL_NONE) {
        /* the next round polls again: no retry of its own */
        result(res, CJ_DONE, o.cls, "poll_failed", "%s", o.message);
        return;
    }
    st = json_string_value(json_object_get(view, "status"));
    at = json_string_value(json_object_get(view, "updated_at"));
    tn = json_object_get(view, "tracking_number");
    if (!hft71_status_valid(st) || iso8601_ms(at, &ms) != 0) {
        json_decref(view);
        result(res, CJ_DONE, FAIL_REMOTE_5XX, "poll_failed",
               "get_status: unusable answer");
        return;
    }
    v = json_pack("{s:s,s:s,s:s,s:s,s:I}", "order_id", id, "status", st,
                  "tracking_number", json_is_string(tn)
                                     ? json_string_value(tn) : "",
                  "updated_at", at, "updated_ms", (json_int_t) ms);
    json_decref(view);
    apply_status(e, wc, v, "poll", res);
    json_decref(v);
}


/* -- Stripe ------------------------------------------------------------- */

/*
 * The ordering rule for payment events. Each effect has a rank:
 * failed and cancelled 1, paid (processing) 2, refunded 3. An event
 * applies when its rank is above the order's (the higher of the rank of
 * the last applied event and the rank of the WooCommerce status: pending
 * and on-hold 0, failed and cancelled 1, processing and completed 2,
 * refunded 3), or, between failed and cancelled, when it was created
 * later than the one applied. So a refunded order never goes back to
 * processing, a late payment_failed does not undo a payment, and a retry
 * that paid after a failure moves the order on.
 */
static int
effect_rank(stripe_effect eff)
{
    switch (eff) {
    case STRIPE_FAILED:
    case STRIPE_CANCELLED:
        return 1;
    case STRIPE_PAID:
        return 2;
    case STRIPE_REFUNDED:
        return 3;
    default:
        return -1;
    }
}


static int
wc_status_rank(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    if (strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0) {
        return 1;
    }
    if (strcmp(s, "processing") == 0 || strcmp(s, "completed") == 0) {
        return 2;
    }
    if (strcmp(s, "refunded") == 0) {
        return 3;
    }
    return 0;
}


static const char *
effect_wc_status(stripe_effect eff)
{
    switch (eff) {
    case STRIPE_PAID:
        return "processing";
    case STRIPE_FAILED:
        return "failed";
    case STRIPE_CANCELLED:
        return "cancelled";
    case STRIPE_REFUNDED:
        return "refunded";
    default:
        return NULL;
    }
}


static void
stripe_event(commerce_env *e, const char *job_id, json_t *job, long long wc,
    json_t *ev, cj_result *res)
{
    static const char decide_lua[] =
        "local r = tonumber(redis.call('HGET', KEYS[1], 'pay_rank') or '-1')\n"
        "local c = tonumber(redis.call('HGET', KEYS[1], 'pay_created')\n"
        "  or '0')\n"
        "local cur = math.max(r, tonumber(ARGV[5]))\n"
        "local rank, created = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
        "if rank > cur or (rank == 1 and cur == 1 and created > c) then\n"
        "  redis.call('HSET', KEYS[1], 'pay_rank', ARGV[1],\n"
        "    'pay_created', ARGV[2], 'pay_event', ARGV[3],\n"
        "    'pay_effect', ARGV[4])\n"
        "  return 'apply' end\n"
        "return 'ignored'\n";
    stripe_effect  eff = stripe_effect_parse(hget(ev, "effect"));
    const char    *evt = hget(ev, "id"), *target;
    char           key[64], rank[8], created[24], wcrank[8], verdict[16];
    char           note[400], jkey[96];
    json_t        *order = NULL;
    call_outcome   o;
    redisReply    *r;

    (void) job_id;
    if (eff == STRIPE_NOTHING) {
        metrics_commerce(e->metrics, MC_STRIPE_EVENT, "nothing", "stored");
        result(res, CJ_DONE, FAIL_NONE, "stored", "%s changes nothing",
               hget(ev, "type"));
        return;
    }
    if (eff == STRIPE_NOTE) {
        if (strcmp(hget(job, "note_done"), "1") != 0) {
            snprintf(note, sizeof(note), "Stripe %s %s: amount %lld, "
                     "refunded %lld %s (event %s)", hget(ev, "type"),
                     hget(ev, "object_id"),
                     (long long) json_integer_value(json_object_get(ev,
                                                                "amount")),
                     (long long) json_integer_value(json_object_get(ev,
                                                     "amount_refunded")),
                     hget(ev, "currency"), evt);
            o = wc_add_note(e->wc, wc, note);
            if (o.cls != FAIL_NONE) {
                result_from_call(res, &o, "woocommerce_note_failed");
                return;
            }
            snprintf(jkey, sizeof(jkey), "%s", hget(job, "id"));
            queue_job_set(e->queue, jkey, "note_done", "1", NULL);
        }
        metrics_commerce(e->metrics, MC_STRIPE_EVENT, "note", "applied");
        result(res, CJ_DONE, FAIL_NONE, "note_added", "%s", evt);
        return;
    }

    if (get_order(e, wc, &order, res) != 0) {
        return;
    }
    if (strcmp(hget(job, "accepted"), "1") != 0) {
        order_key(key, sizeof(key), wc, "");
        snprintf(rank, sizeof(rank), "%d", effect_rank(eff));
        snprintf(created, sizeof(created), "%lld",
                 (long long) json_integer_value(json_object_get(ev,
                                                                "created")));
        snprintf(wcrank, sizeof(wcrank), "%d", wc_status_rank(
                     json_string_value(json_object_get(order, "status"))));
        r = rcmd(e->queue, "EVAL", decide_lua, "1", key, rank, created, evt,
                 stripe_effect_name(eff), wcrank, NULL);
        if (r == NULL) {
            json_decref(order);
            result(res, CJ_RETRY, FAIL_TRANSPORT, "redis", "%s",
                   queue_error(e->queue));
            return;
        }
        reply_str(r, verdict, sizeof(verdict));
        freeReplyObject(r);
        if (strcmp(verdict, "apply") != 0) {
            const char *st = json_string_value(json_object_get(order,
                                                               "status"));

            json_decref(order);
            metrics_commerce(e->metrics, MC_STRIPE_EVENT,
                             stripe_effect_name(eff), "ignored");
            history_add(e, wc, json_pack("{s:s,s:s,s:s,s:s}", "event",
                                         "stripe", "id", evt, "effect",
                                         stripe_effect_name(eff), "outcome",
                                         "ignored"));
            if (eff == STRIPE_PAID && st != NULL
                && strcmp(st, "processing") == 0)
            {
                /* paid and processing: make sure it reaches HFT71 */
                commerce_send_order(e, wc, "stripe", res);
                if (res->status == CJ_DONE) {
                    snprintf(res->outcome, sizeof(res->outcome), "ignored");
                }
                return;
            }
            result(res, CJ_DONE, FAIL_NONE, "ignored",
                   "%s does not move a %s order (ordering rule)",
                   hget(ev, "type"), st ? st : "?");
            return;
        }
        snprintf(jkey, sizeof(jkey), "%s", hget(job, "id"));
        queue_job_set(e->queue, jkey, "accepted", "1", NULL);
        history_add(e, wc, json_pack("{s:s,s:s,s:s,s:s}", "event", "stripe",
                                     "id", evt, "effect",
                                     stripe_effect_name(eff), "outcome",
                                     "applied"));
    }
    json_decref(order);
    target = effect_wc_status(eff);
    {
        json_t *body = json_pack("{s:s}", "status", target);

        o = wc_update_order(e->wc, wc, body);
        json_decref(body);
    }
    if (o.cls != FAIL_NONE) {
        result_from_call(res, &o, "woocommerce_update_failed");
        return;
    }
    metrics_commerce(e->metrics, MC_STRIPE_EVENT, stripe_effect_name(eff),
                     "applied");
    if (eff == STRIPE_PAID) {
        commerce_send_order(e, wc, "stripe", res);
        return;
    }
    result(res, CJ_DONE, FAIL_NONE, "applied", "order %s", target);
}


/* -- jobs --------------------------------------------------------------- */

void
commerce_run_job(commerce_env *e, const char *job_id, json_t *job,
    cj_result *res)
{
    const char *kind = hget(job, "kind");
    long long   wc = strtoll(hget(job, "wc_id"), NULL, 10);
    json_t     *payload = NULL;
    log_job     lj = { job_id, NULL, NULL, NULL };
    char        wcs[24];

    memset(res, 0, sizeof(*res));
    res->retry_after_s = -1;
    snprintf(wcs, sizeof(wcs), "%lld", wc);
    lj.order_id = wcs;
    outbound_set_job(e->http, &lj);
    if (strcmp(kind, "status") == 0 || strcmp(kind, "stripe") == 0) {
        payload = json_loads(hget(job, "payload"), 0, NULL);
        if (payload == NULL) {
            result(res, CJ_FAILED, FAIL_VALIDATION, "bad_payload",
                   "the job's payload is not JSON");
            outbound_set_job(e->http, NULL);
            return;
        }
    }
    if (strcmp(kind, "order") == 0) {
        commerce_send_order(e, wc, hget(job, "source"), res);
    } else if (strcmp(kind, "status") == 0) {
        lj.hft71_order_id = hget(payload, "order_id");
        apply_status(e, wc, payload, "webhook", res);
    } else if (strcmp(kind, "poll") == 0) {
        poll_status(e, wc, res);
    } else if (strcmp(kind, "stripe") == 0) {
        stripe_event(e, job_id, job, wc, payload, res);
    } else {
        result(res, CJ_FAILED, FAIL_VALIDATION, "unknown_kind",
               "unknown job kind %s", kind);
    }
    json_decref(payload);
    outbound_set_job(e->http, NULL);
}


/* -- timers ------------------------------------------------------------- */

/* One worker per round: 1 taken, 0 another has it, -1 error. */
static int
round_lock(commerce_env *e, const char *name, long interval_s)
{
    char        key[64], ttl[24];
    redisReply *r;
    int         got;

    snprintf(key, sizeof(key), "wh:hft71:%s_lock", name);
    /* a little under the interval, so the next round is not skipped */
    snprintf(ttl, sizeof(ttl), "%ld", interval_s * 900);
    r = rcmd(e->queue, "SET", key, e->token, "NX", "PX", ttl, NULL);
    if (r == NULL) {
        return -1;
    }
    got = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return got;
}


json_t *
commerce_unsent_orders(commerce_env *e, long limit, call_outcome *o)
{
    json_t  *out = json_array(), *page_orders = NULL, *it;
    long     page, pages = 1;
    size_t   i;

    memset(o, 0, sizeof(*o));
    for (page = 1; page <= pages && page <= 1000
                   && (long) json_array_size(out) < limit; page++)
    {
        *o = wc_list_orders(e->wc, "processing", 100, page, &page_orders,
                            &pages);
        if (o->cls != FAIL_NONE) {
            json_decref(out);
            return NULL;
        }
        json_array_foreach(page_orders, i, it) {
            json_int_t id = json_integer_value(json_object_get(it, "id"));

            if (id > 0 && wc_meta(it, "_hft71_order_id") == NULL
                && (long) json_array_size(out) < limit)
            {
                json_array_append_new(out, json_integer(id));
            }
        }
        json_decref(page_orders);
        page_orders = NULL;
        if (pages < 0) {
            pages = 1;      /* no X-WP-TotalPages: this page was all */
        }
    }
    return out;
}


int
commerce_sweep(commerce_env *e, long long now_ms)
{
    call_outcome  o;
    json_t       *ids, *v;
    size_t        i;
    int           queued = 0, created, got;
    char          idem[96], job[64];
    long long     slot = now_ms / (e->cfg->hft71_sweep_interval_s * 1000);

    got = round_lock(e, "sweep", e->cfg->hft71_sweep_interval_s);
    if (got <= 0) {
        return got;
    }
    ids = commerce_unsent_orders(e, 100000, &o);
    if (ids == NULL) {
        log_json("warn", "hft71_sweep_failed",
                 json_pack("{s:s}", "message", o.message));
        return -1;
    }
    json_array_foreach(ids, i, v) {
        long long wc = json_integer_value(v);

        snprintf(idem, sizeof(idem), "sweep:%lld:%lld", wc, slot);
        if (commerce_enqueue(e->queue, "order", wc, idem, NULL, "sweep", job,
                             &created) == 0 && created)
        {
            queued++;
        }
    }
    log_json(queued ? "warn" : "info", "hft71_sweep",
             json_pack("{s:I,s:i}", "unsent", (json_int_t) json_array_size(ids),
                       "queued", queued));
    json_decref(ids);
    return queued;
}


int
commerce_poll(commerce_env *e, long long now_ms)
{
    redisReply  *r;
    size_t       i;
    int          queued = 0, created, got;
    char         idem[96], job[64];
    long long    slot = now_ms / (e->cfg->hft71_poll_interval_s * 1000);

    got = round_lock(e, "poll", e->cfg->hft71_poll_interval_s);
    if (got <= 0) {
        return got;
    }
    r = rcmd(e->queue, "SMEMBERS", COMMERCE_OPEN_KEY, NULL);
    if (r == NULL) {
        return -1;
    }
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        long long wc = strtoll(r->element[i]->str, NULL, 10);

        snprintf(idem, sizeof(idem), "poll:%lld:%lld", wc, slot);
        if (wc > 0 && commerce_enqueue(e->queue, "poll", wc, idem, NULL, "poll",
                                       job, &created) == 0 && created)
        {
            queued++;
        }
    }
    freeReplyObject(r);
    return queued;
}

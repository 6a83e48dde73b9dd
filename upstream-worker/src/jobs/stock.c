#include "stock.h"
#include "stock_plan.h"
#include "../clock.h"
#include "../crypto.h"
#include "../log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#define STOCK_INDEX         "wh:stock:index"
#define STOCK_DUPS          "wh:stock:dups"
#define STOCK_UNMATCHED     "wh:stock:unmatched"
#define STOCK_BUILT         "wh:stock:index_built_ms"
#define STOCK_CURRENT       "wh:stock:current"
#define STOCK_LAST_START    "wh:stock:last_start_ms"
#define STOCK_LAST_OK       "wh:stock:last_success_ms"
#define STOCK_RUN_PREFIX    "wh:stock:run:"
#define STOCK_LEASE         "stock"         /* wh:lease:stock */
#define STOCK_RUN_TTL_S     "604800"
#define STOCK_VAR_CAP       1000
#define STOCK_CALL_ATTEMPTS 4
#define STOCK_ERRORS_KEPT   100
#define STOCK_LIST_MAX      200             /* drift report lists */


/* -- Redis: commands of any length ------------------------------------- */

typedef struct {
    const char  **v;
    char        **own;      /* v[i] when this list made it, else NULL */
    size_t        n, cap;
    int           failed;
} rargs;


static void
ra_push(rargs *a, const char *s, char *owned)
{
    if (a->failed) {
        free(owned);
        return;
    }
    if (a->n == a->cap) {
        size_t       cap = a->cap ? a->cap * 2 : 16;
        const char **v = realloc(a->v, cap * sizeof(*v));
        char       **own = v ? realloc(a->own, cap * sizeof(*own)) : NULL;

        if (v != NULL) {
            a->v = v;
        }
        if (own == NULL) {
            a->failed = 1;
            free(owned);
            return;
        }
        a->own = own;
        a->cap = cap;
    }
    a->v[a->n] = s;
    a->own[a->n] = owned;
    a->n++;
}


static void
ra_add(rargs *a, const char *s)
{
    ra_push(a, s, NULL);
}


static void
ra_addf(rargs *a, const char *fmt, ...)
{
    va_list  ap;
    char    *s = NULL;
    int      n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->failed = 1;
        return;
    }
    ra_push(a, s, s);
}


/* Runs the command and empties the list; NULL on any error. */
static redisReply *
ra_run(queue *q, rargs *a)
{
    redisReply *r = NULL;
    size_t      i;

    if (!a->failed && a->n > 0) {
        r = queue_argv(q, (int) a->n, a->v);
    }
    for (i = 0; i < a->n; i++) {
        free(a->own[i]);
    }
    free(a->v);
    free(a->own);
    memset(a, 0, sizeof(*a));
    return r;
}


/* A short command from NULL-terminated strings; NULL on error. */
static redisReply *
cmd(queue *q, const char *first, ...)
{
    rargs        a = { 0 };
    va_list      ap;
    const char  *s;

    ra_add(&a, first);
    va_start(ap, first);
    while ((s = va_arg(ap, const char *)) != NULL) {
        ra_add(&a, s);
    }
    va_end(ap);
    return ra_run(q, &a);
}


/* A command whose reply does not matter beyond success: 0 or -1. */
static int
cmd_ok(queue *q, const char *first, ...)
{
    rargs        a = { 0 };
    va_list      ap;
    const char  *s;
    redisReply  *r;

    ra_add(&a, first);
    va_start(ap, first);
    while ((s = va_arg(ap, const char *)) != NULL) {
        ra_add(&a, s);
    }
    va_end(ap);
    r = ra_run(q, &a);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


static long long
reply_ll(redisReply *r)
{
    if (r == NULL) {
        return 0;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type == REDIS_REPLY_STRING) {
        return strtoll(r->str, NULL, 10);
    }
    return 0;
}


/* A command answering a number (or a number as text): it, 0 on error. */
static long long
cmd_ll(queue *q, const char *cmd1, const char *key)
{
    redisReply *rep = cmd(q, cmd1, key, NULL);
    long long   v = reply_ll(rep);

    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return v;
}


/* -- run requests and records -------------------------------------------- */

static const char request_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local st = redis.call('HGET', ARGV[4] .. cur, 'status')\n"
    "  if st == 'queued' or st == 'running' then return {0, cur} end\n"
    "end\n"
    "if tonumber(ARGV[3]) > 0 then\n"
    "  local last = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "  if tonumber(ARGV[2]) - last < tonumber(ARGV[3]) then\n"
    "    return {2, ''}\n"
    "  end\n"
    "end\n"
    "local key = ARGV[4] .. ARGV[1]\n"
    "redis.call('HSET', key, unpack(ARGV, 5))\n"
    "redis.call('EXPIRE', key, " STOCK_RUN_TTL_S ")\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return {1, ARGV[1]}\n";


int
stock_request(queue *q, const char *source, json_t *skus, int reindex,
    long long min_gap_ms, char run_id[64])
{
    rargs        a = { 0 };
    redisReply  *r;
    char         rnd[9], *skus_text = NULL;
    long long    now = clock_now_ms();
    int          rc = -1;

    if (random_hex(rnd, 4) != 0) {
        return -1;
    }
    snprintf(run_id, 64, "stk_%lld_%s", now, rnd);
    if (skus != NULL) {
        skus_text = json_dumps(skus, JSON_COMPACT);
        if (skus_text == NULL) {
            return -1;
        }
    }
    ra_add(&a, "EVAL");
    ra_add(&a, request_lua);
    ra_add(&a, "2");
    ra_add(&a, STOCK_CURRENT);
    ra_add(&a, STOCK_LAST_START);
    ra_add(&a, run_id);
    ra_addf(&a, "%lld", now);
    ra_addf(&a, "%lld", min_gap_ms);
    ra_add(&a, STOCK_RUN_PREFIX);
    ra_add(&a, "run_id");
    ra_add(&a, run_id);
    ra_add(&a, "status");
    ra_add(&a, "queued");
    ra_add(&a, "kind");
    ra_add(&a, skus ? "partial" : "full");
    ra_add(&a, "source");
    ra_add(&a, source);
    ra_add(&a, "reindex");
    ra_add(&a, reindex ? "1" : "0");
    ra_add(&a, "requested_ms");
    ra_addf(&a, "%lld", now);
    ra_add(&a, "page");
    ra_add(&a, "0");
    ra_add(&a, "written");
    ra_add(&a, "0");
    ra_add(&a, "item_errors");
    ra_add(&a, "0");
    ra_add(&a, "resumed");
    ra_add(&a, "0");
    if (skus_text != NULL) {
        ra_add(&a, "skus");
        ra_add(&a, skus_text);
    }
    r = ra_run(q, &a);
    free(skus_text);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        rc = (int) r->element[0]->integer;
        if (rc == 0 && r->element[1]->type == REDIS_REPLY_STRING) {
            snprintf(run_id, 64, "%s", r->element[1]->str);
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}


json_t *
stock_run_view(queue *q, const char *run_id, int *found)
{
    static const char *numbers[] = {
        "page", "total_pages", "seen", "changed", "written", "item_errors",
        "unmatched", "duplicates", "invalid", "calls", "retries", "resumed",
        "requested_ms", "started_ms", "finished_ms", "rebuilt_index",
        "priority_done", NULL
    };
    char        key[128];
    int         failed, i;
    json_t     *h, *v, *errors;
    redisReply *r;
    size_t      k;
    const char *name;
    json_t     *val;

    snprintf(key, sizeof(key), STOCK_RUN_PREFIX "%s", run_id);
    h = queue_hash_get(q, key, &failed);
    if (h == NULL) {
        *found = failed ? -1 : 0;
        return NULL;
    }
    v = json_object();
    json_object_foreach(h, name, val) {
        const char *s = json_string_value(val);

        for (i = 0; numbers[i] && strcmp(numbers[i], name) != 0; i++) {
            /* look for it */
        }
        if (numbers[i] != NULL) {
            json_object_set_new(v, name, json_integer(strtoll(s, NULL, 10)));
        } else if (strcmp(name, "skus") == 0) {
            json_object_set_new(v, name, json_loads(s, 0, NULL));
        } else if (strcmp(name, "updated_ms") != 0
                   && strcmp(name, "holder") != 0)
        {
            json_object_set(v, name, val);
        }
    }
    json_decref(h);
    errors = json_array();
    snprintf(key, sizeof(key), STOCK_RUN_PREFIX "%s:errors", run_id);
    r = cmd(q, "LRANGE", key, "0", "-1", NULL);
    for (k = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && k < r->elements;
         k++)
    {
        json_t *e = json_loads(r->element[k]->str, 0, NULL);

        if (e != NULL) {
            json_array_append_new(errors, e);
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    json_object_set_new(v, "errors", errors);
    *found = 1;
    return v;
}


/* -- a run ---------------------------------------------------------------- */

typedef struct {
    commerce_env   *e;
    const int      *stopping;       /* may be NULL */
    char            id[64];
    char            key[128];       /* wh:stock:run:{id} */
    int             holds_lease;    /* renew it (the drift report does not) */
    stock_batcher   b;
    int             rebuilt;        /* the index was rebuilt in this run */
    int             lost;           /* lease lost or stopping: stop quietly */
    long long       seen, changed, unmatched, dups, invalid;
    long long       written, item_errors, calls, retries;
    long long       total_pages;
    char            message[512];
} stock_run;

/* The counts a checkpoint stores and a resumed run starts from (written
 * and item_errors are counted in Redis as they happen). */
static const struct {
    const char  *field;
    size_t       offset;
} run_counts[] = {
    { "total_pages", offsetof(stock_run, total_pages) },
    { "seen", offsetof(stock_run, seen) },
    { "changed", offsetof(stock_run, changed) },
    { "unmatched", offsetof(stock_run, unmatched) },
    { "duplicates", offsetof(stock_run, dups) },
    { "invalid", offsetof(stock_run, invalid) },
    { "calls", offsetof(stock_run, calls) },
    { "retries", offsetof(stock_run, retries) },
};

#define RUN_COUNT(r, i) \
    (*(long long *) ((char *) (r) + run_counts[i].offset))


static int
stopping(const stock_run *r)
{
    return r->stopping != NULL && __atomic_load_n(r->stopping,
                                                  __ATOMIC_SEQ_CST);
}


/* 0 still ours, -1 lost (r->lost set). */
static int
renew(stock_run *r)
{
    if (r->lost) {
        return -1;
    }
    if (stopping(r)) {
        r->lost = 1;
        snprintf(r->message, sizeof(r->message), "worker stopping");
        return -1;
    }
    if (r->holds_lease
        && queue_lease_renew(r->e->queue, STOCK_LEASE, r->e->token,
                             r->e->cfg->claim_idle_ms) != 1)
    {
        r->lost = 1;
        snprintf(r->message, sizeof(r->message), "the stock lease was lost");
        return -1;
    }
    return 0;
}


/* Sets r->message to the queue's error; -1. */
static int
redis_failed(stock_run *r)
{
    snprintf(r->message, sizeof(r->message), "redis: %s",
             queue_error(r->e->queue));
    return -1;
}


/* Runs the command, its reply dropped: 0, or -1 with r->message set. */
static int
run_ok(stock_run *r, rargs *a)
{
    redisReply *rep = ra_run(r->e->queue, a);

    if (rep == NULL) {
        return redis_failed(r);
    }
    freeReplyObject(rep);
    return 0;
}


static int
transient(const call_outcome *o)
{
    return o->cls == FAIL_TRANSPORT || o->cls == FAIL_TIMEOUT
        || o->cls == FAIL_RATE_LIMITED || o->cls == FAIL_REMOTE_5XX;
}


/*
 * After a failed call: 1 to try again (having waited its backoff or
 * Retry-After), 0 to give up (not transient, attempts used, lease lost).
 */
static int
retry_wait(stock_run *r, int attempt, const call_outcome *o,
    const char *what)
{
    long wait_ms = 300L << (attempt - 1);

    r->calls++;
    if (!transient(o) || attempt >= STOCK_CALL_ATTEMPTS) {
        return 0;
    }
    if (o->retry_after_s >= 0) {
        wait_ms = o->retry_after_s * 1000;
    }
    if (wait_ms > 10000) {
        wait_ms = 10000;
    }
    r->retries++;
    log_json("warn", "stock_sync",
             json_pack("{s:s,s:s,s:s,s:i,s:I,s:s}", "run_id", r->id, "step",
                       what, "outcome", "retry", "attempt", attempt,
                       "delay_ms", (json_int_t) wait_ms, "message",
                       o->message));
    while (wait_ms > 0 && !stopping(r)) {
        usleep(100 * 1000);
        wait_ms -= 100;
    }
    return renew(r) == 0;
}


/* One action=stock_sync entry in GET /hft71/log and one log line. */
static void
log_action(stock_run *r, const char *detail, const call_outcome *o,
    json_t *extra)
{
    json_t *entry = json_pack("{s:s,s:s,s:s,s:I,s:s}", "action", "stock_sync",
                              "detail", detail, "run_id", r->id, "status",
                              (json_int_t) (o ? o->status : 0), "class",
                              o == NULL || o->cls == FAIL_NONE
                              ? "ok" : failure_class_name(o->cls));

    if (entry == NULL) {
        json_decref(extra);
        return;
    }
    if (extra != NULL) {
        json_object_update(entry, extra);
        json_decref(extra);
    }
    if (o != NULL && o->cls != FAIL_NONE) {
        json_object_set_new(entry, "message", json_string(o->message));
    }
    log_json(o == NULL || o->cls == FAIL_NONE ? "info" : "warn",
             "stock_sync", json_deep_copy(entry));
    commerce_log_action(r->e->queue, entry);
}


/* -- the SKU index: WooCommerce's catalogue read page by page ------------- */

static const char index_add_lua[] =
    "local n = 0\n"
    "for i = 1, #ARGV, 2 do\n"
    "  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 0 then\n"
    "    local prev = redis.call('HGET', KEYS[1], ARGV[i])\n"
    "    local d = redis.call('HGET', KEYS[2], ARGV[i]) or prev\n"
    "    redis.call('HSET', KEYS[2], ARGV[i], d .. ',' .. ARGV[i + 1])\n"
    "    redis.call('HSET', KEYS[1], ARGV[i], 'd')\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";


/* Adds one WooCommerce page (products of parent 0, or parent's
 * variations) to the index being built; collects variable products. */
static int
index_page(stock_run *r, const char *idx, const char *dups, json_t *items,
    long long parent, json_t *parents, long long *indexed)
{
    rargs        a = { 0 };
    size_t       i;
    json_t      *it;
    stock_ref    ref;
    const char  *sku, *type;
    char         val[96];
    size_t       pairs = 0;

    ra_add(&a, "EVAL");
    ra_add(&a, index_add_lua);
    ra_add(&a, "2");
    ra_add(&a, idx);
    ra_add(&a, dups);
    json_array_foreach(items, i, it) {
        type = json_string_value(json_object_get(it, "type"));
        if (parent == 0 && type != NULL && strcmp(type, "variable") == 0) {
            json_array_append(parents, json_object_get(it, "id"));
            continue;
        }
        if (stock_ref_from_wc(it, parent, &ref, &sku) != 0) {
            continue;
        }
        stock_ref_format(&ref, val, sizeof(val));
        ra_add(&a, sku);
        ra_addf(&a, "%s", val);
        pairs++;
    }
    if (pairs == 0) {
        a.failed = 1;           /* nothing to send: only free the list */
        ra_run(r->e->queue, &a);
        return 0;
    }
    if (run_ok(r, &a) != 0) {
        return -1;
    }
    *indexed += (long long) pairs;
    return 0;
}


/*
 * Reads every product and variation into idx (sku -> entry) and dups
 * (sku -> the entries of a SKU held more than once). 0, or -1 with
 * r->message (or r->lost) set.
 */
static int
scan_catalogue(stock_run *r, const char *idx, const char *dups,
    long long *indexed)
{
    long          page, pages = 1, vpage, vpages;
    json_t       *items = NULL, *parents, *p;
    call_outcome  o;
    size_t        i;
    int           attempt;

    *indexed = 0;
    if (cmd_ok(r->e->queue, "DEL", idx, dups, NULL) != 0) {
        return redis_failed(r);
    }
    for (page = 1; page <= pages; page++) {
        for (attempt = 1;; attempt++) {
            o = wc_list_products(r->e->wc, page, &items, &pages);
            if (o.cls == FAIL_NONE
                || !retry_wait(r, attempt, &o, "list_products"))
            {
                break;
            }
        }
        if (o.cls != FAIL_NONE) {
            snprintf(r->message, sizeof(r->message), "%s", o.message);
            return -1;
        }
        r->calls++;
        if (pages < 0) {
            pages = page;       /* no X-WP-TotalPages: this page was all */
        }
        parents = json_array();
        if (index_page(r, idx, dups, items, 0, parents, indexed) != 0) {
            json_decref(parents);
            json_decref(items);
            return -1;
        }
        json_decref(items);
        items = NULL;
        json_array_foreach(parents, i, p) {
            vpages = 1;
            for (vpage = 1; vpage <= vpages; vpage++) {
                for (attempt = 1;; attempt++) {
                    o = wc_list_variations(r->e->wc, json_integer_value(p),
                                           vpage, &items, &vpages);
                    if (o.cls == FAIL_NONE
                        || !retry_wait(r, attempt, &o, "list_variations"))
                    {
                        break;
                    }
                }
                if (o.cls != FAIL_NONE) {
                    snprintf(r->message, sizeof(r->message), "%s",
                             o.message);
                    json_decref(parents);
                    return -1;
                }
                r->calls++;
                if (vpages < 0) {
                    vpages = vpage;
                }
                if (index_page(r, idx, dups, items, json_integer_value(p),
                               NULL, indexed) != 0)
                {
                    json_decref(items);
                    json_decref(parents);
                    return -1;
                }
                json_decref(items);
                items = NULL;
            }
        }
        json_decref(parents);
        if (renew(r) != 0) {
            return -1;
        }
    }
    return 0;
}


/* Rebuilds wh:stock:index from WooCommerce; 0 or -1. */
static int
rebuild_index(stock_run *r, const char *why)
{
    char        idx[160], dups[160], now[24];
    long long   indexed = 0, t0 = clock_now_ms();
    long long   dup_count = 0;
    int         rc;

    snprintf(idx, sizeof(idx), STOCK_INDEX ":build:%s", r->id);
    snprintf(dups, sizeof(dups), STOCK_DUPS ":build:%s", r->id);
    rc = scan_catalogue(r, idx, dups, &indexed);
    if (rc == 0) {
        dup_count = cmd_ll(r->e->queue, "HLEN", dups);
        snprintf(now, sizeof(now), "%lld", clock_now_ms());
        /* an empty catalogue leaves no key to rename */
        if (cmd_ok(r->e->queue, "DEL", STOCK_INDEX, STOCK_DUPS,
                   STOCK_UNMATCHED, NULL) != 0
            || (indexed > 0
                && cmd_ok(r->e->queue, "RENAME", idx, STOCK_INDEX, NULL)
                   != 0)
            || (dup_count > 0
                && cmd_ok(r->e->queue, "RENAME", dups, STOCK_DUPS, NULL)
                   != 0)
            || cmd_ok(r->e->queue, "SET", STOCK_BUILT, now, NULL) != 0)
        {
            redis_failed(r);
            rc = -1;
        }
    }
    cmd_ok(r->e->queue, "DEL", idx, dups, NULL);
    if (rc == 0) {
        r->rebuilt = 1;
        cmd_ok(r->e->queue, "HSET", r->key, "rebuilt_index", "1", NULL);
    }
    log_action(r, "index_rebuild", NULL,
               json_pack("{s:s,s:s,s:I,s:I,s:I}", "reason", why, "outcome",
                         rc == 0 ? "ok" : "failed", "indexed",
                         (json_int_t) indexed, "duplicates",
                         (json_int_t) dup_count, "duration_ms",
                         (json_int_t) (clock_now_ms() - t0)));
    return rc;
}


/* -- writes ----------------------------------------------------------------- */

static int write_batch(stock_run *r, stock_item *items, size_t n,
    long long parent);


static void
item_failed(stock_run *r, const stock_item *it, const stock_item_error *err)
{
    char     key[160], cap[16], *text;
    json_t  *e;

    r->item_errors++;
    cmd_ok(r->e->queue, "HINCRBY", r->key, "item_errors", "1", NULL);
    metrics_commerce(r->e->metrics, MC_STOCK_ITEMS,
                     it->ref.type == 'v' ? "variations" : "products",
                     "failed");
    e = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s}", "sku", it->sku, "product_id",
                  (json_int_t) it->ref.product_id, "variation_id",
                  (json_int_t) it->ref.variation_id, "quantity",
                  (json_int_t) it->ref.qty, "code", err->code, "message",
                  err->message);
    log_json("warn", "stock_item_failed", json_pack("{s:s,s:O}", "run_id",
                                                    r->id, "item", e));
    text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    snprintf(key, sizeof(key), "%s:errors", r->key);
    snprintf(cap, sizeof(cap), "%d", STOCK_ERRORS_KEPT - 1);
    if (text != NULL && cmd_ok(r->e->queue, "RPUSH", key, text, NULL) == 0) {
        cmd_ok(r->e->queue, "LTRIM", key, "0", cap, NULL);
        cmd_ok(r->e->queue, "EXPIRE", key, STOCK_RUN_TTL_S, NULL);
    }
    free(text);
    /* the item is gone from WooCommerce: the next run re-reads the index */
    if (strstr(err->code, "invalid_id") != NULL) {
        cmd_ok(r->e->queue, "HDEL", STOCK_INDEX, it->sku, NULL);
    }
}


/*
 * One batch call. Written items go into the index with their new
 * quantity; items WooCommerce refused inside the 200 are tried once more
 * in a batch of their own, then reported. 0, or -1 when the call itself
 * failed (r->message) or the lease was lost.
 */
static int
write_batch(stock_run *r, stock_item *items, size_t n, long long parent)
{
    json_t            *updates, *results = NULL;
    call_outcome       o;
    int                attempt, ok[STOCK_BATCH_MAX];
    stock_item_error   errs[STOCK_BATCH_MAX];
    stock_item         again[STOCK_BATCH_MAX];
    size_t             i, k = 0, written;
    rargs              a = { 0 };
    char               val[96];
    const char        *endpoint = parent ? "variations" : "products";

    if (renew(r) != 0) {
        return -1;
    }
    updates = stock_batch_updates(items, n);
    if (updates == NULL) {
        snprintf(r->message, sizeof(r->message), "out of memory");
        return -1;
    }
    for (attempt = 1;; attempt++) {
        o = wc_batch_update(r->e->wc, parent, updates, &results);
        if (o.cls == FAIL_NONE
            || !retry_wait(r, attempt, &o, parent ? "variations_batch"
                                                  : "products_batch"))
        {
            break;
        }
    }
    json_decref(updates);
    if (o.cls != FAIL_NONE) {
        log_action(r, parent ? "variations_batch" : "products_batch", &o,
                   json_pack("{s:I,s:I}", "parent_id", (json_int_t) parent,
                             "items", (json_int_t) n));
        snprintf(r->message, sizeof(r->message), "%s", o.message);
        return -1;
    }
    r->calls++;
    written = stock_batch_results(results, items, n, ok, errs);
    json_decref(results);
    log_action(r, parent ? "variations_batch" : "products_batch", &o,
               json_pack("{s:I,s:I,s:I,s:I,s:s}", "parent_id",
                         (json_int_t) parent, "items", (json_int_t) n,
                         "written", (json_int_t) written, "failed",
                         (json_int_t) (n - written), "first_sku",
                         items[0].sku));
    if (written > 0) {
        ra_add(&a, "HSET");
        ra_add(&a, STOCK_INDEX);
        for (i = 0; i < n; i++) {
            if (ok[i]) {
                stock_ref_format(&items[i].ref, val, sizeof(val));
                ra_add(&a, items[i].sku);
                ra_addf(&a, "%s", val);
            }
        }
        if (run_ok(r, &a) != 0) {
            return -1;
        }
        r->written += (long long) written;
        snprintf(val, sizeof(val), "%zu", written);
        cmd_ok(r->e->queue, "HINCRBY", r->key, "written", val, NULL);
        for (i = 0; i < written; i++) {
            metrics_commerce(r->e->metrics, MC_STOCK_ITEMS, endpoint,
                             "written");
        }
    }
    for (i = 0; i < n; i++) {
        if (ok[i]) {
            continue;
        }
        if (items[i].attempt == 0) {
            again[k] = items[i];
            again[k].attempt = 1;
            k++;
        } else {
            item_failed(r, &items[i], &errs[i]);
        }
    }
    return k > 0 ? write_batch(r, again, k, parent) : 0;
}


/* Sends what is due (all: everything pending). 0 or -1. */
static int
flush(stock_run *r, int all)
{
    stock_item  out[STOCK_BATCH_MAX];
    long long   parent;
    size_t      n;

    while ((n = stock_batcher_take(&r->b, all, out, &parent)) > 0) {
        if (write_batch(r, out, n, parent) != 0) {
            return -1;
        }
    }
    return 0;
}


/* -- comparing one page of HFT71's stock ---------------------------------- */

/* The index entries of skus[0..n) (reply array, NULL elements: unknown). */
static redisReply *
index_get(queue *q, const char *key, const char **skus, size_t n)
{
    rargs   a = { 0 };
    size_t  i;

    ra_add(&a, "HMGET");
    ra_add(&a, key);
    for (i = 0; i < n; i++) {
        ra_add(&a, skus[i]);
    }
    return ra_run(q, &a);
}


/* 1 when the index was built longer than STOCK_INDEX_MAX_AGE_S ago. */
static int
index_stale(stock_run *r)
{
    return clock_now_ms() - cmd_ll(r->e->queue, "GET", STOCK_BUILT)
           > (long long) r->e->cfg->stock_index_max_age_s * 1000;
}


/* Whether SKUs unknown to the index are worth a rebuild of it. */
static int
rebuild_due(stock_run *r, const char **unknown, size_t n)
{
    rargs       a = { 0 };
    redisReply *rep;
    size_t      i;
    int         due = 0;

    if (r->rebuilt || n == 0) {
        return 0;
    }
    if (index_stale(r)) {
        return 1;
    }
    /* a SKU that was not in WooCommerce at the last rebuild is not news */
    ra_add(&a, "SMISMEMBER");
    ra_add(&a, STOCK_UNMATCHED);
    for (i = 0; i < n; i++) {
        ra_add(&a, unknown[i]);
    }
    rep = ra_run(r->e->queue, &a);
    for (i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY
                && i < rep->elements; i++)
    {
        due |= rep->element[i]->integer == 0;
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return due;
}


/*
 * Compares HFT71's items (one page) with the index and queues the writes
 * (flushing what becomes due). 0 or -1.
 */
static int
process_items(stock_run *r, json_t *items, long page)
{
    size_t        n = json_array_size(items), i, k, valid = 0, nu = 0;
    const char  **skus = calloc(n + 1, sizeof(*skus));
    const char  **unknown = calloc(n + 1, sizeof(*unknown));
    long         *avail = calloc(n + 1, sizeof(*avail));
    long         *uavail = calloc(n + 1, sizeof(*uavail));
    redisReply   *rep = NULL;
    stock_item    it;
    stock_ref     ref;
    json_t       *x, *q;
    int           rc = -1, pass;
    const char   *sku;

    if (skus == NULL || unknown == NULL || avail == NULL || uavail == NULL) {
        snprintf(r->message, sizeof(r->message), "out of memory");
        goto done;
    }
    json_array_foreach(items, i, x) {
        sku = json_string_value(json_object_get(x, "sku"));
        q = json_object_get(x, "available");
        if (sku == NULL || !stock_sku_valid(sku) || !json_is_integer(q)
            || json_integer_value(q) < 0)
        {
            r->invalid++;
            continue;
        }
        skus[valid] = sku;
        avail[valid] = (long) json_integer_value(q);
        valid++;
    }
    r->seen += (long long) valid;
    for (pass = 0; pass < 2 && valid > 0; pass++) {
        rep = index_get(r->e->queue, STOCK_INDEX, skus, valid);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
            || rep->elements != valid)
        {
            redis_failed(r);
            goto done;
        }
        nu = 0;
        for (i = 0; i < valid; i++) {
            redisReply *el = rep->element[i];

            if (el->type != REDIS_REPLY_STRING) {
                unknown[nu] = skus[i];
                uavail[nu] = avail[i];
                nu++;
                continue;
            }
            if (stock_ref_parse(el->str, &ref) != 0) {
                r->invalid++;
                continue;
            }
            if (ref.type == 'd') {
                r->dups++;
                continue;
            }
            if (ref.qty == avail[i]) {
                continue;
            }
            memset(&it, 0, sizeof(it));
            snprintf(it.sku, sizeof(it.sku), "%s", skus[i]);
            it.ref = ref;
            it.ref.qty = avail[i];
            it.page = page;
            r->changed++;
            if (stock_batcher_add(&r->b, &it) != 0 || flush(r, 0) != 0) {
                if (r->message[0] == '\0') {
                    snprintf(r->message, sizeof(r->message),
                             "write buffer full");
                }
                goto done;
            }
        }
        freeReplyObject(rep);
        rep = NULL;
        /* the second pass looks at the unknown ones in a rebuilt index */
        if (pass == 0 && rebuild_due(r, unknown, nu)) {
            if (rebuild_index(r, "unknown_sku") != 0) {
                goto done;
            }
            for (k = 0; k < nu; k++) {
                skus[k] = unknown[k];
                avail[k] = uavail[k];
            }
            valid = nu;
            continue;
        }
        break;
    }
    if (nu > 0) {
        rargs a = { 0 };

        r->unmatched += (long long) nu;
        ra_add(&a, "SADD");
        ra_add(&a, STOCK_UNMATCHED);
        for (k = 0; k < nu; k++) {
            ra_add(&a, unknown[k]);
        }
        rep = ra_run(r->e->queue, &a);
    }
    rc = 0;

done:
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    free(skus);
    free(unknown);
    free(avail);
    free(uavail);
    return rc;
}


/* -- the run's pages: HFT71's full list, or SKU lists ---------------------- */

/* list[from .. from + 100) escaped and joined by ',' for ?skus=. */
static char *
skus_query(stock_run *r, json_t *list, size_t from)
{
    size_t   i, len = 0;
    char    *out = NULL, *esc, *grown;

    for (i = from; i < json_array_size(list) && i < from + STOCK_BATCH_MAX;
         i++)
    {
        esc = outbound_escape(r->e->http,
                              json_string_value(json_array_get(list, i)));
        grown = esc ? realloc(out, len + strlen(esc) + 2) : NULL;
        if (grown == NULL) {
            free(esc);
            free(out);
            return NULL;
        }
        out = grown;
        len += (size_t) sprintf(out + len, "%s%s", len ? "," : "", esc);
        free(esc);
    }
    return out ? out : strdup("");
}


/*
 * Page page of the run: full runs page through HFT71; SKU lists (a
 * partial run, the priority SKUs) go 100 a call. *items and *total.
 */
static call_outcome
fetch_page(stock_run *r, json_t *list, long page, json_t **items,
    long *total)
{
    size_t        from = (size_t) (page - 1) * STOCK_BATCH_MAX;
    char         *skus;
    call_outcome  o;
    long          pages;
    int           attempt;

    for (attempt = 1;; attempt++) {
        if (list == NULL) {
            o = hft71_stock_page(r->e->hft, page,
                                 (int) r->e->cfg->stock_page_size, NULL,
                                 items, total);
        } else {
            skus = skus_query(r, list, from);
            if (skus == NULL) {
                memset(&o, 0, sizeof(o));
                call_outcome_set(&o, FAIL_VALIDATION, 0, "", "out of memory");
                return o;
            }
            o = hft71_stock_page(r->e->hft, 1, 0, skus, items, &pages);
            free(skus);
            *total = (long) ((json_array_size(list) + STOCK_BATCH_MAX - 1)
                             / STOCK_BATCH_MAX);
        }
        commerce_count_hft71_call(r->e, "stock_sync", &o);
        if (o.cls == FAIL_NONE || !retry_wait(r, attempt, &o, "hft71_stock")) {
            break;
        }
    }
    if (o.cls != FAIL_NONE) {
        log_action(r, "hft71_stock", &o, json_pack("{s:I}", "page",
                                                   (json_int_t) page));
    } else {
        r->calls++;
    }
    return o;
}


/* The run's counts, and its cursor unless page < 0: the last page whose
 * writes have all gone out. */
static int
checkpoint(stock_run *r, long page)
{
    long         low = stock_batcher_oldest_page(&r->b);
    rargs        a = { 0 };
    redisReply  *rep;
    size_t       i;

    ra_add(&a, "HSET");
    ra_add(&a, r->key);
    if (page >= 0) {
        ra_add(&a, "page");
        ra_addf(&a, "%ld", low < 0 ? page : low - 1);
    }
    for (i = 0; i < sizeof(run_counts) / sizeof(run_counts[0]); i++) {
        ra_add(&a, run_counts[i].field);
        ra_addf(&a, "%lld", RUN_COUNT(r, i));
    }
    rep = ra_run(r->e->queue, &a);
    if (rep == NULL) {
        return -1;
    }
    freeReplyObject(rep);
    return 0;
}


/* Goes through list's pages (NULL: HFT71's) after cursor; 0 or -1. */
static int
sync_pages(stock_run *r, json_t *list, long cursor, int track)
{
    long          page, total = cursor + 1;
    json_t       *items = NULL;
    call_outcome  o;

    for (page = cursor + 1; page <= total; page++) {
        o = fetch_page(r, list, page, &items, &total);
        if (o.cls != FAIL_NONE) {
            snprintf(r->message, sizeof(r->message), "%s", o.message);
            return -1;
        }
        if (track) {
            r->total_pages = total;
        }
        if (process_items(r, items, page) != 0) {
            json_decref(items);
            return -1;
        }
        json_decref(items);
        items = NULL;
        if (renew(r) != 0) {
            return -1;
        }
        if (track && checkpoint(r, page) != 0) {
            return redis_failed(r);
        }
    }
    return 0;
}


static const char finish_lua[] =
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "if redis.call('GET', KEYS[2]) == ARGV[1] then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "end\n"
    "return 1\n";


static void
finish(stock_run *r, const char *status)
{
    rargs        a = { 0 };
    redisReply  *rep;
    long long    now = clock_now_ms();

    checkpoint(r, strcmp(status, "succeeded") == 0 ? r->total_pages : -1);
    ra_add(&a, "EVAL");
    ra_add(&a, finish_lua);
    ra_add(&a, "2");
    ra_add(&a, r->key);
    ra_add(&a, STOCK_CURRENT);
    ra_add(&a, r->id);
    ra_add(&a, "status");
    ra_add(&a, status);
    ra_add(&a, "finished_ms");
    ra_addf(&a, "%lld", now);
    ra_add(&a, "message");
    ra_add(&a, r->message);
    rep = ra_run(r->e->queue, &a);
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    metrics_commerce(r->e->metrics, MC_STOCK_RUN, status, NULL);
    if (strcmp(status, "succeeded") == 0) {
        char t[24];

        snprintf(t, sizeof(t), "%lld", now);
        cmd_ok(r->e->queue, "SET", STOCK_LAST_OK, t, NULL);
        metrics_gauge(r->e->metrics, MG_STOCK_LAST_SUCCESS, NULL,
                      (double) now / 1000.0);
        metrics_gauge(r->e->metrics, MG_STOCK_LAST_RUN_WRITTEN, NULL,
                      (double) r->written);
    }
}


static long long
hash_ll(json_t *h, const char *field)
{
    const char *s = json_string_value(json_object_get(h, field));

    return s ? strtoll(s, NULL, 10) : 0;
}


/* Runs (or resumes) the run in h; the stock lease is held. */
static void
execute(commerce_env *e, const int *stop_flag, json_t *h,
    const char *priority_csv)
{
    stock_run   *r = calloc(1, sizeof(*r));
    const char  *status = json_string_value(json_object_get(h, "status"));
    const char  *kind = json_string_value(json_object_get(h, "kind"));
    const char  *skus_text = json_string_value(json_object_get(h, "skus"));
    json_t      *list = NULL, *priority = NULL;
    int          resumed, rc = -1;
    size_t       i;
    long long    t0 = clock_now_ms(), existing;
    char         now[24], err[160];

    if (r == NULL || stock_batcher_init(&r->b, STOCK_VAR_CAP) != 0) {
        free(r);
        return;
    }
    r->e = e;
    r->stopping = stop_flag;
    r->holds_lease = 1;
    snprintf(r->id, sizeof(r->id), "%s",
             json_string_value(json_object_get(h, "run_id")));
    snprintf(r->key, sizeof(r->key), STOCK_RUN_PREFIX "%s", r->id);
    resumed = status != NULL && strcmp(status, "running") == 0;
    for (i = 0; i < sizeof(run_counts) / sizeof(run_counts[0]); i++) {
        RUN_COUNT(r, i) = hash_ll(h, run_counts[i].field);
    }
    r->written = hash_ll(h, "written");
    r->item_errors = hash_ll(h, "item_errors");
    r->rebuilt = hash_ll(h, "rebuilt_index") != 0;
    snprintf(now, sizeof(now), "%lld", t0);
    cmd_ok(e->queue, "HSET", r->key, "status", "running", "holder", e->token,
           hash_ll(h, "started_ms") ? "last_resumed_ms" : "started_ms", now,
           NULL);
    if (resumed) {
        cmd_ok(e->queue, "HINCRBY", r->key, "resumed", "1", NULL);
    }
    log_action(r, resumed ? "run_resumed" : "run_started", NULL,
               json_pack("{s:s,s:s,s:I}", "kind", kind ? kind : "full",
                         "source", json_string_value(json_object_get(h,
                                                                 "source")),
                         "page", (json_int_t) hash_ll(h, "page")));
    if (skus_text != NULL) {
        list = json_loads(skus_text, 0, NULL);
    }
    priority = stock_priority_list(priority_csv, err, sizeof(err));

    /* no index yet (or asked for): read WooCommerce's catalogue first */
    existing = cmd_ll(e->queue, "EXISTS", STOCK_INDEX);
    /*
     * No index yet, asked for, or (a full run) older than
     * STOCK_INDEX_MAX_AGE_S: read WooCommerce's catalogue first. The
     * refresh brings in what changed on WooCommerce's side (orders taking
     * stock, edits in wp-admin), which comparing with the values last
     * written cannot see.
     */
    if (!r->rebuilt) {
        const char *why = existing == 0 ? "no_index"
                          : hash_ll(h, "reindex") ? "requested"
                          : list == NULL && index_stale(r) ? "max_age"
                          : NULL;

        if (why != NULL && rebuild_index(r, why) != 0) {
            goto done;
        }
    }
    if (json_array_size(priority) > 0 && !hash_ll(h, "priority_done")) {
        if (sync_pages(r, priority, 0, 0) != 0 || flush(r, 1) != 0) {
            goto done;
        }
        cmd_ok(e->queue, "HSET", r->key, "priority_done", "1", NULL);
    }
    if (sync_pages(r, list, hash_ll(h, "page"), 1) != 0 || flush(r, 1) != 0) {
        goto done;
    }
    rc = 0;

done:
    if (r->lost) {
        /* the next holder resumes from the last cursor */
        checkpoint(r, -1);
        log_action(r, "run_stopped", NULL,
                   json_pack("{s:s}", "message", r->message));
    } else {
        finish(r, rc == 0 ? "succeeded" : "failed");
        log_action(r, "run_finished", NULL,
                   json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
                             "outcome", rc == 0 ? "succeeded" : "failed",
                             "seen", (json_int_t) r->seen, "changed",
                             (json_int_t) r->changed, "written",
                             (json_int_t) r->written, "item_errors",
                             (json_int_t) r->item_errors, "unmatched",
                             (json_int_t) r->unmatched, "duplicates",
                             (json_int_t) r->dups, "calls",
                             (json_int_t) r->calls, "duration_ms",
                             (json_int_t) (clock_now_ms() - t0), "message",
                             r->message));
    }
    json_decref(list);
    json_decref(priority);
    stock_batcher_free(&r->b);
    free(r);
}


/* -- the drift report ------------------------------------------------------ */

typedef struct {
    json_t     *lists[4];
    long long   counts[4];
} drift_acc;

enum { D_QTY, D_NOT_WC, D_NOT_HFT71, D_DUP };

static const char *drift_names[] = {
    "quantity_differs", "missing_in_woocommerce", "missing_in_hft71",
    "duplicate_sku"
};


static void
drift_add(drift_acc *d, int kind, json_t *item)
{
    d->counts[kind]++;
    if (json_array_size(d->lists[kind]) < STOCK_LIST_MAX) {
        json_array_append_new(d->lists[kind], item);
    } else {
        json_decref(item);
    }
}


/* Compares HFT71's items with the scanned catalogue (idx); seen SKUs are
 * taken out of idx so that what is left is not in HFT71. */
static int
drift_items(stock_run *r, const char *idx, json_t *items, drift_acc *d,
    long long *checked)
{
    size_t       n = json_array_size(items), i, valid = 0;
    const char **skus = calloc(n + 1, sizeof(*skus));
    long        *avail = calloc(n + 1, sizeof(*avail));
    redisReply  *rep = NULL;
    stock_ref    ref;
    json_t      *x, *q;
    rargs        a = { 0 };
    int          rc = -1;

    if (skus == NULL || avail == NULL) {
        goto done;
    }
    json_array_foreach(items, i, x) {
        const char *sku = json_string_value(json_object_get(x, "sku"));

        q = json_object_get(x, "available");
        if (sku != NULL && stock_sku_valid(sku) && json_is_integer(q)
            && json_integer_value(q) >= 0)
        {
            skus[valid] = sku;
            avail[valid++] = (long) json_integer_value(q);
        }
    }
    if (valid == 0) {
        rc = 0;
        goto done;
    }
    rep = index_get(r->e->queue, idx, skus, valid);
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
        || rep->elements != valid)
    {
        goto done;
    }
    *checked += (long long) valid;
    for (i = 0; i < valid; i++) {
        redisReply *el = rep->element[i];

        if (el->type != REDIS_REPLY_STRING) {
            drift_add(d, D_NOT_WC, json_string(skus[i]));
        } else if (stock_ref_parse(el->str, &ref) == 0 && ref.type != 'd'
                   && ref.qty != avail[i])
        {
            drift_add(d, D_QTY, json_pack(
                "{s:s,s:I,s:o,s:s,s:I,s:I}", "sku", skus[i], "hft71",
                (json_int_t) avail[i], "woocommerce",
                ref.qty < 0 ? json_null() : json_integer(ref.qty), "type",
                ref.type == 'v' ? "variation" : "product", "product_id",
                (json_int_t) ref.product_id, "variation_id",
                (json_int_t) ref.variation_id));
        }
    }
    ra_add(&a, "HDEL");
    ra_add(&a, idx);
    for (i = 0; i < valid; i++) {
        ra_add(&a, skus[i]);
    }
    freeReplyObject(rep);
    rep = ra_run(r->e->queue, &a);
    rc = rep != NULL ? 0 : -1;

done:
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    free(skus);
    free(avail);
    return rc;
}


/* Every entry left in key (HSCAN): f(sku, value). */
static int
scan_hash(queue *q, const char *key, void (*f)(drift_acc *, const char *,
    const char *), drift_acc *d)
{
    char        cursor[32] = "0";
    redisReply *rep, *items;
    size_t      i;

    do {
        rep = cmd(q, "HSCAN", key, cursor, "COUNT", "1000", NULL);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
            || rep->elements != 2)
        {
            if (rep != NULL) {
                freeReplyObject(rep);
            }
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        items = rep->element[1];
        for (i = 0; i + 1 < items->elements; i += 2) {
            f(d, items->element[i]->str, items->element[i + 1]->str);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}


/* f over key's entries: those of the SKUs in list, or all (list NULL). */
static int
leftovers(queue *q, const char *key, json_t *list,
    void (*f)(drift_acc *, const char *, const char *), drift_acc *d)
{
    size_t       i;
    json_t      *sku;
    redisReply  *rep;

    if (list == NULL) {
        return scan_hash(q, key, f, d);
    }
    json_array_foreach(list, i, sku) {
        rep = cmd(q, "HGET", key, json_string_value(sku), NULL);
        if (rep == NULL) {
            return -1;
        }
        if (rep->type == REDIS_REPLY_STRING) {
            f(d, json_string_value(sku), rep->str);
        }
        freeReplyObject(rep);
    }
    return 0;
}


static void
left_in_wc(drift_acc *d, const char *sku, const char *value)
{
    stock_ref ref;

    /* only managed stock is HFT71's to hold */
    if (stock_ref_parse(value, &ref) == 0 && ref.type != 'd' && ref.qty >= 0) {
        drift_add(d, D_NOT_HFT71, json_pack("{s:s,s:I}", "sku", sku,
                                            "woocommerce",
                                            (json_int_t) ref.qty));
    }
}


static void
duplicate(drift_acc *d, const char *sku, const char *value)
{
    json_t     *ids = json_array();
    const char *p = value;
    stock_ref   ref;
    char        one[96];
    size_t      n;

    while (p != NULL && *p) {
        n = strcspn(p, ",");
        snprintf(one, sizeof(one), "%.*s", (int) n, p);
        if (stock_ref_parse(one, &ref) == 0) {
            json_array_append_new(ids, json_integer(ref.type == 'v'
                                                    ? ref.variation_id
                                                    : ref.product_id));
        }
        p = p[n] ? p + n + 1 : NULL;
    }
    drift_add(d, D_DUP, json_pack("{s:s,s:o}", "sku", sku, "ids", ids));
}


/* STOCK_PRIORITY_SKUS and sample random SKUs of the hash key. */
static json_t *
sample_list(stock_run *r, const char *key, long sample)
{
    json_t      *list;
    redisReply  *rep;
    size_t       i;
    char         n[24];

    list = stock_priority_list(r->e->cfg->stock_priority_skus, r->message,
                               sizeof(r->message));
    snprintf(n, sizeof(n), "%ld", sample);
    rep = cmd(r->e->queue, "HRANDFIELD", key, n, NULL);
    if (rep == NULL) {
        json_decref(list);
        redis_failed(r);
        return NULL;
    }
    for (i = 0; list != NULL && rep->type == REDIS_REPLY_ARRAY
                && i < rep->elements; i++)
    {
        json_array_append_new(list, json_string(rep->element[i]->str));
    }
    freeReplyObject(rep);
    return list;
}


/* Reads ids (a JSON array, at most 100) of parent's items now into idx. */
static int
read_now(stock_run *r, const char *idx, const char *dups, long long parent,
    json_t *ids, long long *indexed)
{
    char          *csv = NULL, *grown;
    size_t         i, len = 0;
    json_t        *items = NULL, *v;
    call_outcome   o;
    int            attempt, rc;

    json_array_foreach(ids, i, v) {
        grown = realloc(csv, len + 24);
        if (grown == NULL) {
            free(csv);
            snprintf(r->message, sizeof(r->message), "out of memory");
            return -1;
        }
        csv = grown;
        len += (size_t) sprintf(csv + len, "%s%lld", len ? "," : "",
                                (long long) json_integer_value(v));
    }
    for (attempt = 1;; attempt++) {
        o = wc_read_items(r->e->wc, parent, csv, &items);
        if (o.cls == FAIL_NONE || !retry_wait(r, attempt, &o, "read_items")) {
            break;
        }
    }
    free(csv);
    if (o.cls != FAIL_NONE) {
        snprintf(r->message, sizeof(r->message), "%s", o.message);
        return -1;
    }
    rc = index_page(r, idx, dups, items, parent, NULL, indexed);
    json_decref(items);
    return rc;
}


/*
 * The drift sample: STOCK_PRIORITY_SKUS and sample random SKUs of the
 * sync's index, their WooCommerce items read now by id (products 100 a
 * call, variations per parent) into idx / dups. The SKU list, or NULL.
 */
static json_t *
sample_catalogue(stock_run *r, const char *idx, const char *dups,
    long sample, long long *indexed)
{
    json_t      *list = sample_list(r, STOCK_INDEX, sample);
    json_t      *groups = json_object(), *ids, *v;
    redisReply  *rep;
    stock_ref    ref;
    size_t       i;
    const char  *parent;
    char         key[24];
    int          failed = list == NULL || groups == NULL;

    *indexed = 0;
    json_array_foreach(list, i, v) {
        if (failed) {
            break;
        }
        rep = cmd(r->e->queue, "HGET", STOCK_INDEX, json_string_value(v),
                  NULL);
        if (rep == NULL) {
            failed = redis_failed(r);
            break;
        }
        if (rep->type == REDIS_REPLY_STRING
            && stock_ref_parse(rep->str, &ref) == 0)
        {
            if (ref.type == 'd') {
                /* the duplicate as the last rebuild saw it */
                freeReplyObject(rep);
                rep = cmd(r->e->queue, "HGET", STOCK_DUPS,
                          json_string_value(v), NULL);
                if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
                    cmd_ok(r->e->queue, "HSET", dups, json_string_value(v),
                           rep->str, NULL);
                    cmd_ok(r->e->queue, "HSET", idx, json_string_value(v),
                           "d", NULL);
                }
            } else {
                snprintf(key, sizeof(key), "%lld",
                         ref.type == 'v' ? ref.product_id : 0LL);
                ids = json_object_get(groups, key);
                if (ids == NULL) {
                    ids = json_array();
                    json_object_set_new(groups, key, ids);
                }
                json_array_append_new(ids, json_integer(ref.type == 'v'
                                                        ? ref.variation_id
                                                        : ref.product_id));
            }
        }
        if (rep != NULL) {
            freeReplyObject(rep);
        }
    }
    json_object_foreach(groups, parent, ids) {
        json_t *chunk;
        size_t  from;

        for (from = 0; !failed && from < json_array_size(ids);
             from += STOCK_BATCH_MAX)
        {
            chunk = json_array();
            for (i = from; i < json_array_size(ids)
                           && i < from + STOCK_BATCH_MAX; i++)
            {
                json_array_append(chunk, json_array_get(ids, i));
            }
            failed = read_now(r, idx, dups, strtoll(parent, NULL, 10), chunk,
                              indexed) != 0;
            json_decref(chunk);
        }
    }
    json_decref(groups);
    if (failed) {
        json_decref(list);
        return NULL;
    }
    return list;
}


json_t *
stock_drift(commerce_env *e, long sample, char *err, size_t err_len)
{
    stock_run    *r = calloc(1, sizeof(*r));
    drift_acc     d;
    char          idx[160], dups[160], rnd[9];
    long long     indexed, checked = 0, t0 = clock_now_ms();
    json_t       *items = NULL, *list = NULL, *out = NULL, *counts;
    long          page, total = 1;
    call_outcome  o;
    int           k, failed = 1, has_index;

    memset(&d, 0, sizeof(d));
    if (r == NULL || random_hex(rnd, 4) != 0) {
        free(r);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    r->e = e;
    snprintf(r->id, sizeof(r->id), "drift_%lld_%s", t0, rnd);
    snprintf(idx, sizeof(idx), "wh:stock:drift:%s", rnd);
    snprintf(dups, sizeof(dups), "wh:stock:drift:%s:dups", rnd);
    for (k = 0; k < 4; k++) {
        d.lists[k] = json_array();
    }
    has_index = cmd_ll(e->queue, "EXISTS", STOCK_INDEX) > 0;
    if (sample > 0 && has_index) {
        list = sample_catalogue(r, idx, dups, sample, &indexed);
        if (list == NULL) {
            goto done;
        }
    } else if (scan_catalogue(r, idx, dups, &indexed) != 0) {
        goto done;
    }
    cmd_ok(e->queue, "EXPIRE", idx, "3600", NULL);
    cmd_ok(e->queue, "EXPIRE", dups, "3600", NULL);
    if (sample > 0 && list == NULL) {
        /* no index yet: sample the catalogue just read */
        list = sample_list(r, idx, sample);
        if (list == NULL) {
            goto done;
        }
    }
    for (page = 1; page <= total; page++) {
        o = fetch_page(r, list, page, &items, &total);
        if (o.cls != FAIL_NONE) {
            snprintf(r->message, sizeof(r->message), "%s", o.message);
            goto done;
        }
        if (drift_items(r, idx, items, &d, &checked) != 0) {
            redis_failed(r);
            json_decref(items);
            goto done;
        }
        json_decref(items);
    }
    /* SKUs HFT71 did not name are still in idx after the HDELs */
    if (leftovers(e->queue, idx, list, left_in_wc, &d) != 0
        || leftovers(e->queue, dups, list, duplicate, &d) != 0)
    {
        redis_failed(r);
        goto done;
    }
    if (list != NULL) {
        checked = (long long) json_array_size(list);
    }
    counts = json_object();
    out = json_pack("{s:s,s:I,s:I,s:I}", "mode", sample > 0 ? "sample"
                                                             : "full",
                    "checked", (json_int_t) checked, "woocommerce_items",
                    (json_int_t) indexed, "generated_ms", (json_int_t) t0);
    for (k = 0; k < 4; k++) {
        json_object_set_new(counts, drift_names[k],
                            json_integer(d.counts[k]));
        json_object_set(out, drift_names[k], d.lists[k]);
        metrics_gauge(e->metrics, MG_STOCK_DRIFT, drift_names[k],
                      (double) d.counts[k]);
    }
    json_object_set_new(out, "counts", counts);
    json_object_set_new(out, "list_max", json_integer(STOCK_LIST_MAX));
    json_object_set_new(out, "duration_ms",
                        json_integer(clock_now_ms() - t0));
    failed = 0;
    log_json("info", "stock_drift",
             json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "mode",
                       sample > 0 ? "sample" : "full", "checked",
                       (json_int_t) checked, "quantity_differs",
                       (json_int_t) d.counts[D_QTY], "missing_in_woocommerce",
                       (json_int_t) d.counts[D_NOT_WC], "missing_in_hft71",
                       (json_int_t) d.counts[D_NOT_HFT71], "duplicate_sku",
                       (json_int_t) d.counts[D_DUP]));

done:
    if (failed) {
        snprintf(err, err_len, "%s", r->message[0] ? r->message
                                                   : "drift report failed");
        log_json("warn", "stock_drift",
                 json_pack("{s:s,s:s}", "outcome", "failed", "message", err));
    }
    cmd_ok(e->queue, "DEL", idx, dups, NULL);
    for (k = 0; k < 4; k++) {
        json_decref(d.lists[k]);
    }
    json_decref(list);
    free(r);
    return out;
}


/* -- the runner thread ------------------------------------------------------ */

struct stock_runner {
    const worker_config *cfg;
    commerce_env        *env;
    pthread_t            thread;
    int                  started;
    int                  stopping;      /* __atomic */
};


stock_runner *
stock_runner_new(const worker_config *cfg, metrics *m, char *err,
    size_t err_len)
{
    stock_runner *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->env = commerce_env_new(cfg, m, "stock", err, err_len);
    if (r->env == NULL) {
        free(r);
        return NULL;
    }
    if (cfg->stock_sync_enabled) {
        metrics_gauge(m, MG_STOCK_INTERVAL, NULL,
                      (double) cfg->stock_interval_s);
    }
    return r;
}


/* The gauge shows the last success of any worker (kept in Redis). */
static void
publish_last_success(stock_runner *r)
{
    long long ms = cmd_ll(r->env->queue, "GET", STOCK_LAST_OK);

    if (ms > 0) {
        metrics_gauge(r->env->metrics, MG_STOCK_LAST_SUCCESS, NULL,
                      (double) ms / 1000.0);
    }
}


/* One look: request a timer run when due, run the current one if it is
 * nobody's. */
static void
tick(stock_runner *r)
{
    commerce_env *e = r->env;
    redisReply   *rep;
    char          id[64];
    json_t       *h;
    const char   *st;
    int           failed;

    if (r->cfg->stock_sync_enabled
        && stock_request(e->queue, "timer", NULL, 0,
                         (long long) r->cfg->stock_interval_s * 1000, id) < 0)
    {
        return;
    }
    rep = cmd(e->queue, "GET", STOCK_CURRENT, NULL);
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        if (rep != NULL) {
            freeReplyObject(rep);
        }
        return;
    }
    snprintf(id, sizeof(id), "%s", rep->str);
    freeReplyObject(rep);
    if (queue_lease_take(e->queue, STOCK_LEASE, e->token,
                         e->cfg->claim_idle_ms) != 1)
    {
        return;
    }
    /* read under the lease: the last holder's state is all written */
    {
        char key[128];

        snprintf(key, sizeof(key), STOCK_RUN_PREFIX "%s", id);
        h = queue_hash_get(e->queue, key, &failed);
    }
    st = h ? json_string_value(json_object_get(h, "status")) : NULL;
    if (st != NULL && (strcmp(st, "queued") == 0
                       || strcmp(st, "running") == 0))
    {
        execute(e, &r->stopping, h, r->cfg->stock_priority_skus);
        publish_last_success(r);
    }
    json_decref(h);
    queue_lease_release(e->queue, STOCK_LEASE, e->token);
}


static void *
runner_loop(void *arg)
{
    stock_runner *r = arg;
    int           n = 0;

    publish_last_success(r);
    while (!__atomic_load_n(&r->stopping, __ATOMIC_SEQ_CST)) {
        tick(r);
        if (++n % 20 == 0) {
            publish_last_success(r);
        }
        usleep(250 * 1000);
    }
    return NULL;
}


int
stock_runner_start(stock_runner *r)
{
    if (pthread_create(&r->thread, NULL, runner_loop, r) != 0) {
        return -1;
    }
    r->started = 1;
    return 0;
}


void
stock_runner_stop(stock_runner *r)
{
    __atomic_store_n(&r->stopping, 1, __ATOMIC_SEQ_CST);
    if (r->started) {
        pthread_join(r->thread, NULL);
        r->started = 0;
    }
}


void
stock_runner_free(stock_runner *r)
{
    if (r != NULL) {
        commerce_env_free(r->env);
        free(r);
    }
}

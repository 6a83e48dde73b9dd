#include "registry.h"
#include "crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Commands per pipeline when reading many registrations' buckets. */
#define STATS_PIPELINE_MAX  20000

static const char *const create_fields[] = {
    "connectionId", "events", "provider", NULL
};
static const char *const rotate_fields[] = { "graceSeconds", NULL };

static const char *const providers[] = {
    "salesforce", "github", "slack", "stripe", "shopify", "standard",
    "woocommerce", "notion", NULL
};


int
registry_new_id(char out[REGISTRY_ID_LEN + 1])
{
    char hex[25];

    if (random_hex(hex, 12) != 0) {
        return -1;
    }
    snprintf(out, REGISTRY_ID_LEN + 1, "wh_%s", hex);
    return 0;
}


int
registry_new_secret(char out[REGISTRY_SECRET_LEN + 1])
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }
    memcpy(out, "whsec_", 6);
    EVP_EncodeBlock((unsigned char *) out + 6, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}


int
registry_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > 64) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}


int
registry_provider_supported(const char *provider)
{
    size_t i;

    for (i = 0; providers[i] != NULL; i++) {
        if (strcmp(providers[i], provider) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
refuse(const char **code, const char *c, char *msg, size_t msg_len,
    const char *text)
{
    *code = c;
    snprintf(msg, msg_len, "%s", text);
    return 400;
}


/* printable ASCII without space and comma (events are stored joined) */
static int
event_valid(const char *e)
{
    size_t n = strlen(e), i;

    if (n == 0 || n > REGISTRY_EVENT_LEN) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (e[i] < 0x21 || e[i] > 0x7e || e[i] == ',') {
            return 0;
        }
    }
    return 1;
}


static int
parse_events(json_t *events, registry_create_req *out, const char **code,
    char *msg, size_t msg_len)
{
    size_t       i, j, total = 0;
    json_t      *e;
    const char  *s;
    char        *p;

    if (!json_is_array(events) || json_array_size(events) == 0
        || json_array_size(events) > REGISTRY_EVENTS_MAX)
    {
        return refuse(code, "invalid_events", msg, msg_len,
                      "events must be an array of 1-100 event type "
                      "strings (or [\"*\"] for every event)");
    }
    json_array_foreach(events, i, e) {
        s = json_string_value(e);
        if (s == NULL || !event_valid(s)) {
            snprintf(msg, msg_len, "events[%zu] must be a string of 1-200 "
                     "printable characters without spaces or commas", i);
            *code = "invalid_events";
            return 400;
        }
        if (strcmp(s, "*") == 0 && json_array_size(events) > 1) {
            return refuse(code, "invalid_events", msg, msg_len,
                          "\"*\" (every event) must be the only entry of "
                          "events");
        }
        total += strlen(s) + 1;
    }
    out->events = malloc(total);
    if (out->events == NULL) {
        return refuse(code, "invalid_events", msg, msg_len, "out of memory");
    }
    p = out->events;
    json_array_foreach(events, i, e) {
        s = json_string_value(e);
        for (j = 0; j < i; j++) {       /* a repeated event is kept once */
            if (strcmp(json_string_value(json_array_get(events, j)), s) == 0) {
                break;
            }
        }
        if (j < i) {
            continue;
        }
        if (p != out->events) {
            *p++ = ',';
        }
        memcpy(p, s, strlen(s));
        p += strlen(s);
    }
    *p = '\0';
    return 0;
}


/*
 * The body as a JSON object with no field outside known (NULL-terminated).
 * NULL and 400 (invalid_body) otherwise; not_object is the message then.
 */
static json_t *
load_object(const char *body, size_t len, const char *const *known,
    const char *not_object, const char **code, char *msg, size_t msg_len)
{
    json_t       *root, *v;
    json_error_t  jerr;
    const char   *key;
    size_t        i;

    root = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)
                   : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        refuse(code, "invalid_body", msg, msg_len, not_object);
        return NULL;
    }
    json_object_foreach(root, key, v) {
        for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++) {
            /* look it up */
        }
        if (known[i] == NULL) {
            snprintf(msg, msg_len, "Unknown field \"%.64s\"", key);
            *code = "invalid_body";
            json_decref(root);
            return NULL;
        }
    }
    return root;
}


int
registry_parse_create(const char *integration, const char *body, size_t len,
    registry_create_req *out, const char **code, char *msg, size_t msg_len)
{
    json_t      *root, *v;
    const char  *s;
    size_t       n, i;
    int          rc;

    memset(out, 0, sizeof(*out));
    if (!registry_id_valid(integration)) {
        return refuse(code, "invalid_integration", msg, msg_len,
                      "integrationId must be 1-64 of [A-Za-z0-9_-]");
    }
    snprintf(out->integration, sizeof(out->integration), "%s", integration);
    root = load_object(body, len, create_fields, "The body must be a JSON "
                       "object with connectionId and events", code, msg,
                       msg_len);
    if (root == NULL) {
        return 400;
    }
    s = json_string_value(json_object_get(root, "connectionId"));
    n = s ? strlen(s) : 0;
    for (i = 0; i < n && s[i] >= 0x20 && s[i] <= 0x7e; i++) {
        /* printable */
    }
    if (n == 0 || n >= sizeof(out->connection) || i != n) {
        json_decref(root);
        return refuse(code, "invalid_connection_id", msg, msg_len,
                      "connectionId must be a string of 1-200 printable "
                      "characters");
    }
    memcpy(out->connection, s, n + 1);

    v = json_object_get(root, "provider");
    if (v != NULL && !json_is_null(v)) {
        s = json_string_value(v);
        if (s == NULL || !registry_provider_supported(s)) {
            json_decref(root);
            return refuse(code, "unsupported_provider", msg, msg_len,
                          "provider must be one of salesforce, github, "
                          "slack, stripe, shopify, standard, woocommerce, "
                          "notion (the edge's HMAC schemes)");
        }
    } else if (registry_provider_supported(integration)) {
        s = integration;
    } else {
        json_decref(root);
        return refuse(code, "unsupported_provider", msg, msg_len,
                      "integrationId names no provider the edge verifies: "
                      "give provider (salesforce, github, slack, stripe, "
                      "shopify, standard, woocommerce, notion)");
    }
    snprintf(out->provider, sizeof(out->provider), "%s", s);

    rc = parse_events(json_object_get(root, "events"), out, code, msg,
                      msg_len);
    json_decref(root);
    return rc;
}


void
registry_create_req_free(registry_create_req *r)
{
    free(r->events);
    r->events = NULL;
}


int
registry_parse_rotate(const char *body, size_t len, long def, long *grace,
    const char **code, char *msg, size_t msg_len)
{
    json_t  *root, *v;
    size_t   i;

    *grace = def;
    for (i = 0; i < len && isspace((unsigned char) body[i]); i++) {
        /* an empty body is the default grace */
    }
    if (i == len) {
        return 0;
    }
    root = load_object(body, len, rotate_fields, "The body must be empty or "
                       "a JSON object {\"graceSeconds\":N}", code, msg,
                       msg_len);
    if (root == NULL) {
        return 400;
    }
    v = json_object_get(root, "graceSeconds");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > REGISTRY_GRACE_MAX_S)
        {
            json_decref(root);
            return refuse(code, "invalid_grace", msg, msg_len,
                          "graceSeconds must be an integer 0..604800 (7 "
                          "days)");
        }
        *grace = (long) json_integer_value(v);
    }
    json_decref(root);
    return 0;
}


/* -- Redis ----------------------------------------------------------------- */

static void
key_of(char *out, size_t len, const char *prefix, const char *what,
    const char *id)
{
    snprintf(out, len, "%s%s%s", prefix, what, id);
}


/* KEYS: reg hash, reg:ids, tenant set, reg:rev, reg:count.
 * ARGV: id, tenant, integration, connection, provider, events, secret, now */
static const char create_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
    "redis.call('HSET', KEYS[1], 'tenant', ARGV[2], 'integration', ARGV[3],\n"
    "  'connection', ARGV[4], 'provider', ARGV[5], 'status', 'active',\n"
    "  'events', ARGV[6], 'secret', ARGV[7], 'created_at', ARGV[8],\n"
    "  'updated_at', ARGV[8], 'rev', '1')\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('INCR', KEYS[4])\n"
    "redis.call('HINCRBY', KEYS[5], 'active', 1)\n"
    "return 0\n";

/* KEYS: reg hash, reg:rev, reg:count, recent list. ARGV: tenant, now, ttl */
static const char delete_lua[] =
    "local h = redis.call('HMGET', KEYS[1], 'tenant', 'status')\n"
    "if not h[1] or h[1] ~= ARGV[1] then return 404 end\n"
    "if h[2] == 'deleted' then return 1 end\n"
    "redis.call('HDEL', KEYS[1], 'secret', 'secret_prev',\n"
    "  'secret_prev_until')\n"
    "redis.call('HSET', KEYS[1], 'status', 'deleted', 'updated_at', ARGV[2],\n"
    "  'deleted_at', ARGV[2])\n"
    "redis.call('HINCRBY', KEYS[1], 'rev', 1)\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[4], ARGV[3])\n"
    "redis.call('INCR', KEYS[2])\n"
    "if h[2] then redis.call('HINCRBY', KEYS[3], h[2], -1) end\n"
    "redis.call('HINCRBY', KEYS[3], 'deleted', 1)\n"
    "return 0\n";

/*
 * KEYS: reg hash, reg:rev. ARGV: tenant, secret, now, grace. The current
 * secret becomes secret_prev until now + grace (a rotation during a grace
 * period drops the oldest secret at once).
 */
static const char rotate_lua[] =
    "local h = redis.call('HMGET', KEYS[1], 'tenant', 'status', 'secret')\n"
    "if not h[1] or h[1] ~= ARGV[1] then return {404, 0} end\n"
    "if h[2] == 'deleted' then return {409, 0} end\n"
    "local ends = tonumber(ARGV[3]) + tonumber(ARGV[4])\n"
    "if tonumber(ARGV[4]) > 0 and h[3] then\n"
    "  redis.call('HSET', KEYS[1], 'secret_prev', h[3],\n"
    "    'secret_prev_until', tostring(ends))\n"
    "else\n"
    "  redis.call('HDEL', KEYS[1], 'secret_prev', 'secret_prev_until')\n"
    "  ends = 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'updated_at', ARGV[3],\n"
    "  'rotated_at', ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[1], 'rev', 1)\n"
    "redis.call('INCR', KEYS[2])\n"
    "return {0, ends}\n";

/* KEYS: reg hash, reg:rev, reg:count. ARGV: tenant, status, now */
static const char status_lua[] =
    "local h = redis.call('HMGET', KEYS[1], 'tenant', 'status')\n"
    "if not h[1] or h[1] ~= ARGV[1] then return 404 end\n"
    "if h[2] == 'deleted' then return 409 end\n"
    "if h[2] == ARGV[2] then return 1 end\n"
    "redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[1], 'rev', 1)\n"
    "redis.call('INCR', KEYS[2])\n"
    "if h[2] then redis.call('HINCRBY', KEYS[3], h[2], -1) end\n"
    "redis.call('HINCRBY', KEYS[3], ARGV[2], 1)\n"
    "return 0\n";

/* KEYS: reg hash, reg:rev. ARGV: now. Drops a secret_prev past its grace. */
static const char purge_prev_lua[] =
    "local u = tonumber(redis.call('HGET', KEYS[1], 'secret_prev_until')\n"
    "  or '')\n"
    "if not u or u > tonumber(ARGV[1]) then return 0 end\n"
    "redis.call('HDEL', KEYS[1], 'secret_prev', 'secret_prev_until')\n"
    "redis.call('HINCRBY', KEYS[1], 'rev', 1)\n"
    "redis.call('INCR', KEYS[2])\n"
    "return 1\n";

/*
 * KEYS: reg hash, recent list. ARGV: prefix, id, provider (attested, or
 * ""), event type, delivery id, edge time, now, body. The status is
 * checked in the same script as the XADD, so a delivery never lands after
 * the DELETE that answered.
 */
static const char deliver_lua[] =
    "local h = redis.call('HMGET', KEYS[1], 'status', 'tenant',\n"
    "  'integration', 'provider')\n"
    "if not h[1] then return {404} end\n"
    "if h[1] ~= 'active' then return {410, h[1]} end\n"
    "if ARGV[3] ~= '' and ARGV[3] ~= h[4] then return {409, h[4]} end\n"
    "local stream = ARGV[1] .. 'deliveries:' .. h[2] .. ':' .. h[3]\n"
    "local id = redis.call('XADD', stream, '*', 'registration', ARGV[2],\n"
    "  'tenant', h[2], 'integration', h[3], 'provider', h[4],\n"
    "  'event_type', ARGV[4], 'delivery_id', ARGV[5], 'edge_time', ARGV[6],\n"
    "  'received_at', ARGV[7], 'body', ARGV[8])\n"
    "redis.call('LPUSH', KEYS[2], cjson.encode({entryId = id,\n"
    "  eventType = ARGV[4], deliveryId = ARGV[5],\n"
    "  receivedAt = tonumber(ARGV[7]), bytes = string.len(ARGV[8])}))\n"
    "redis.call('LTRIM', KEYS[2], 0, 19)\n"
    "return {0, id, h[4]}\n";


static redisReply *
eval(queue *q, const char *script, int nkeys, const char **keys, int nargs,
    const char **args, const size_t *arg_lens)
{
    const char  *argv[24];
    size_t       lens[24];
    const char  *const *cmds[1];
    const size_t *lensp[1];
    int          argc = 0, i;
    char         nk[8];
    redisReply  *r;

    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = nk;
    for (i = 0; i < nkeys; i++) {
        argv[argc++] = keys[i];
    }
    for (i = 0; i < nargs; i++) {
        argv[argc++] = args[i];
    }
    for (i = 0; i < argc; i++) {
        int a = i - 3 - nkeys;

        lens[i] = a >= 0 && arg_lens != NULL && arg_lens[a] != (size_t) -1
                  ? arg_lens[a] : strlen(argv[i]);
    }
    cmds[0] = argv;
    lensp[0] = lens;
    if (queue_pipeline(q, 1, &argc, cmds, lensp, &r) != 0) {
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}


/* A script whose reply is an integer: it, or -1. */
static int
eval_int(queue *q, const char *script, int nkeys, const char **keys,
    int nargs, const char **args)
{
    redisReply *r = eval(q, script, nkeys, keys, nargs, args, NULL);
    int         rc;

    if (r == NULL) {
        return -1;
    }
    rc = r->type == REDIS_REPLY_INTEGER ? (int) r->integer : -1;
    freeReplyObject(r);
    return rc;
}


int
registry_create(queue *q, const char *prefix, const char *tenant,
    const registry_create_req *req, const char *id, const char *secret,
    long long now)
{
    char         reg[160], ids[96], tset[192], rev[96], count[96], ts[24];
    const char  *keys[5] = { reg, ids, tset, rev, count };
    const char  *args[8];

    key_of(reg, sizeof(reg), prefix, "reg:", id);
    key_of(ids, sizeof(ids), prefix, "reg:ids", "");
    key_of(tset, sizeof(tset), prefix, "reg:tenant:", tenant);
    key_of(rev, sizeof(rev), prefix, "reg:rev", "");
    key_of(count, sizeof(count), prefix, "reg:count", "");
    snprintf(ts, sizeof(ts), "%lld", now);
    args[0] = id;
    args[1] = tenant;
    args[2] = req->integration;
    args[3] = req->connection;
    args[4] = req->provider;
    args[5] = req->events;
    args[6] = secret;
    args[7] = ts;
    return eval_int(q, create_lua, 5, keys, 8, args);
}


static int
owned_by(const json_t *rec, const char *tenant)
{
    const char *t = json_string_value(json_object_get(rec, "tenant"));

    return t != NULL && strcmp(t, tenant) == 0;
}


json_t *
registry_get(queue *q, const char *prefix, const char *tenant,
    const char *id, long long now, int *failed)
{
    char         reg[160], rev[96], ts[24];
    const char  *keys[2] = { reg, rev };
    const char  *args[1] = { ts };
    const char  *until;
    json_t      *rec;
    redisReply  *r;

    key_of(reg, sizeof(reg), prefix, "reg:", id);
    rec = queue_hash_get(q, reg, failed);
    if (rec == NULL) {
        return NULL;
    }
    if (!owned_by(rec, tenant)) {
        json_decref(rec);
        return NULL;
    }
    json_object_set_new(rec, "id", json_string(id));
    until = json_string_value(json_object_get(rec, "secret_prev_until"));
    if (until != NULL && strtoll(until, NULL, 10) <= now) {
        key_of(rev, sizeof(rev), prefix, "reg:rev", "");
        snprintf(ts, sizeof(ts), "%lld", now);
        r = eval(q, purge_prev_lua, 2, keys, 1, args, NULL);
        if (r != NULL) {
            freeReplyObject(r);
        }
        json_object_del(rec, "secret_prev");
        json_object_del(rec, "secret_prev_until");
    }
    return rec;
}


static long long
created_of(const json_t *rec)
{
    const char *s = json_string_value(json_object_get(rec, "created_at"));

    return s ? strtoll(s, NULL, 10) : 0;
}


static int
by_created(const void *a, const void *b)
{
    json_t * const  *x = a, * const *y = b;
    long long        cx = created_of(*x), cy = created_of(*y);

    if (cx != cy) {
        return cx < cy ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(*x, "id")),
                  json_string_value(json_object_get(*y, "id")));
}


/* Ids whose hash expired (deleted 30 days ago) leave the sets. */
static void
forget(queue *q, const char *prefix, const char *tenant, const char **gone,
    size_t n)
{
    char         ids[96], tset[192], count[96];
    const char  *srem1[3] = { "SREM", ids, NULL };
    const char  *srem2[3] = { "SREM", tset, NULL };
    const char  *decr[4] = { "HINCRBY", count, "deleted", "-1" };
    const char  *const *cmds[3];
    int          argc[3] = { 3, 3, 4 };
    redisReply  *r[3];
    size_t       i, j;

    key_of(ids, sizeof(ids), prefix, "reg:ids", "");
    key_of(tset, sizeof(tset), prefix, "reg:tenant:", tenant);
    key_of(count, sizeof(count), prefix, "reg:count", "");
    for (i = 0; i < n; i++) {
        srem1[2] = gone[i];
        srem2[2] = gone[i];
        cmds[0] = srem1;
        cmds[1] = srem2;
        cmds[2] = decr;
        if (queue_pipeline(q, 3, argc, cmds, NULL, r) != 0) {
            return;
        }
        for (j = 0; j < 3; j++) {
            freeReplyObject(r[j]);
        }
    }
}


json_t *
registry_list(queue *q, const char *prefix, const char *tenant)
{
    char          tset[192], (*keys)[160] = NULL;
    const char   *smembers[2] = { "SMEMBERS", tset };
    const char  **gone = NULL;
    const char *const **cmds = NULL;
    int          *argc = NULL, one = 2;
    redisReply   *members, **replies = NULL;
    json_t       *out = NULL, *rec, **sorted = NULL;
    size_t        n, i, n_gone = 0, n_out = 0;

    key_of(tset, sizeof(tset), prefix, "reg:tenant:", tenant);
    {
        const char *const *c[1] = { smembers };

        if (queue_pipeline(q, 1, &one, c, NULL, &members) != 0) {
            return NULL;
        }
    }
    if (members->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(members);
        return NULL;
    }
    n = members->elements;
    out = json_array();
    if (n == 0) {
        freeReplyObject(members);
        return out;
    }
    keys = calloc(n, sizeof(*keys));
    cmds = calloc(n, sizeof(*cmds));
    argc = calloc(n, sizeof(*argc));
    replies = calloc(n, sizeof(*replies));
    gone = calloc(n, sizeof(*gone));
    sorted = calloc(n, sizeof(*sorted));
    {
        const char **argv = calloc(2 * n, sizeof(*argv));

        if (keys == NULL || cmds == NULL || argc == NULL || replies == NULL
            || gone == NULL || sorted == NULL || argv == NULL || out == NULL)
        {
            free(argv);
            json_decref(out);
            out = NULL;
            goto done;
        }
        for (i = 0; i < n; i++) {
            key_of(keys[i], sizeof(keys[i]), prefix, "reg:",
                   members->element[i]->str);
            argv[2 * i] = "HGETALL";
            argv[2 * i + 1] = keys[i];
            cmds[i] = &argv[2 * i];
            argc[i] = 2;
        }
        if (queue_pipeline(q, n, argc, cmds, NULL, replies) != 0) {
            free(argv);
            json_decref(out);
            out = NULL;
            goto done;
        }
        free(argv);
    }
    for (i = 0; i < n; i++) {
        rec = queue_reply_hash(replies[i]);
        freeReplyObject(replies[i]);
        if (rec == NULL) {
            gone[n_gone++] = members->element[i]->str;
            continue;
        }
        if (!owned_by(rec, tenant)) {
            json_decref(rec);
            continue;
        }
        json_object_set_new(rec, "id", json_string(members->element[i]->str));
        sorted[n_out++] = rec;
    }
    qsort(sorted, n_out, sizeof(*sorted), by_created);
    for (i = 0; i < n_out; i++) {
        json_array_append_new(out, sorted[i]);
    }
    if (n_gone > 0) {
        forget(q, prefix, tenant, gone, n_gone);
    }

done:
    freeReplyObject(members);
    free(keys);
    free(cmds);
    free(argc);
    free(replies);
    free(gone);
    free(sorted);
    return out;
}


int
registry_delete(queue *q, const char *prefix, const char *tenant,
    const char *id, long long now)
{
    char         reg[160], rev[96], count[96], recent[176], ts[24], ttl[24];
    const char  *keys[4] = { reg, rev, count, recent };
    const char  *args[3] = { tenant, ts, ttl };

    key_of(reg, sizeof(reg), prefix, "reg:", id);
    key_of(rev, sizeof(rev), prefix, "reg:rev", "");
    key_of(count, sizeof(count), prefix, "reg:count", "");
    snprintf(recent, sizeof(recent), "%sreg:%s:recent", prefix, id);
    snprintf(ts, sizeof(ts), "%lld", now);
    snprintf(ttl, sizeof(ttl), "%d", REGISTRY_DELETED_TTL_S);
    return eval_int(q, delete_lua, 4, keys, 3, args);
}


int
registry_rotate(queue *q, const char *prefix, const char *tenant,
    const char *id, const char *secret, long long now, long grace_s,
    long long *grace_ends)
{
    char         reg[160], rev[96], ts[24], grace[24];
    const char  *keys[2] = { reg, rev };
    const char  *args[4] = { tenant, secret, ts, grace };
    redisReply  *r;
    int          rc = -1;

    key_of(reg, sizeof(reg), prefix, "reg:", id);
    key_of(rev, sizeof(rev), prefix, "reg:rev", "");
    snprintf(ts, sizeof(ts), "%lld", now);
    snprintf(grace, sizeof(grace), "%ld", grace_s);
    r = eval(q, rotate_lua, 2, keys, 4, args, NULL);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_INTEGER)
    {
        rc = (int) r->element[0]->integer;
        *grace_ends = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}


int
registry_set_status(queue *q, const char *prefix, const char *tenant,
    const char *id, const char *status, long long now)
{
    char         reg[160], rev[96], count[96], ts[24];
    const char  *keys[3] = { reg, rev, count };
    const char  *args[3] = { tenant, status, ts };

    key_of(reg, sizeof(reg), prefix, "reg:", id);
    key_of(rev, sizeof(rev), prefix, "reg:rev", "");
    key_of(count, sizeof(count), prefix, "reg:count", "");
    snprintf(ts, sizeof(ts), "%lld", now);
    return eval_int(q, status_lua, 3, keys, 3, args);
}


json_t *
registry_recent(queue *q, const char *prefix, const char *id, int count)
{
    char          recent[176], stop[16];
    const char   *argv[4] = { "LRANGE", recent, "0", stop };
    const char *const *cmds[1] = { argv };
    int           argc = 4;
    redisReply   *r;
    json_t       *out, *item;
    json_error_t  jerr;
    size_t        i;

    snprintf(recent, sizeof(recent), "%sreg:%s:recent", prefix, id);
    snprintf(stop, sizeof(stop), "%d", count - 1);
    if (queue_pipeline(q, 1, &argc, cmds, NULL, &r) != 0) {
        return NULL;
    }
    out = json_array();
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        item = json_loadb(r->element[i]->str, r->element[i]->len, 0, &jerr);
        if (json_is_object(item)) {
            json_array_append_new(out, item);
        } else {
            json_decref(item);
        }
    }
    freeReplyObject(r);
    return out;
}


/* One registration's bucket and reglast replies into st. */
static void
stats_from(redisReply **buckets, size_t n_buckets, redisReply *last,
    registry_stats *st)
{
    size_t       b, i;
    redisReply  *r;
    json_t      *h;
    const char  *s;

    for (b = 0; b < n_buckets; b++) {
        r = buckets[b];
        for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
             i += 2)
        {
            if (r->element[i]->type == REDIS_REPLY_STRING
                && r->element[i + 1]->type == REDIS_REPLY_STRING)
            {
                registry_stats_add(st, r->element[i]->str,
                                   strtoll(r->element[i + 1]->str, NULL, 10));
            }
        }
    }
    h = queue_reply_hash(last);
    if (h != NULL) {
        s = json_string_value(json_object_get(h, "last_event_at"));
        st->last_event_at = s ? strtoll(s, NULL, 10) : 0;
        s = json_string_value(json_object_get(h, "last_failure_at"));
        st->last_failure_at = s ? strtoll(s, NULL, 10) : 0;
        s = json_string_value(json_object_get(h, "last_reason"));
        snprintf(st->last_reason, sizeof(st->last_reason), "%s", s ? s : "");
        json_decref(h);
    }
}


int
registry_stats_get(queue *q, const char *prefix, const char **ids,
    size_t n, long long now, long window_s, registry_stats *stats)
{
    long long     first = (now - window_s) / 60 + 1, last = now / 60, m;
    size_t        per = (size_t) (last - first + 1) + 1;   /* + reglast */
    size_t        chunk = STATS_PIPELINE_MAX / per, start, i, j, c, ncmd;
    char        (*keys)[200];
    const char  **argv;
    const char *const **cmds;
    int          *argc;
    redisReply  **replies;
    int           rc = 0;

    if (chunk == 0) {
        chunk = 1;
    }
    if (chunk > n) {
        chunk = n;
    }
    memset(stats, 0, n * sizeof(*stats));
    if (n == 0) {
        return 0;
    }
    keys = calloc(chunk * per, sizeof(*keys));
    argv = calloc(chunk * per * 2, sizeof(*argv));
    cmds = calloc(chunk * per, sizeof(*cmds));
    argc = calloc(chunk * per, sizeof(*argc));
    replies = calloc(chunk * per, sizeof(*replies));
    if (keys == NULL || argv == NULL || cmds == NULL || argc == NULL
        || replies == NULL)
    {
        rc = -1;
        goto done;
    }
    for (start = 0; start < n && rc == 0; start += chunk) {
        c = n - start < chunk ? n - start : chunk;
        ncmd = 0;
        for (i = 0; i < c; i++) {
            for (m = first; m <= last + 1; m++, ncmd++) {
                if (m <= last) {
                    snprintf(keys[ncmd], sizeof(keys[ncmd]),
                             "%sregstat:%s:%lld", prefix, ids[start + i], m);
                } else {
                    key_of(keys[ncmd], sizeof(keys[ncmd]), prefix, "reglast:",
                           ids[start + i]);
                }
                argv[2 * ncmd] = "HGETALL";
                argv[2 * ncmd + 1] = keys[ncmd];
                cmds[ncmd] = &argv[2 * ncmd];
                argc[ncmd] = 2;
            }
        }
        if (queue_pipeline(q, ncmd, argc, cmds, NULL, replies) != 0) {
            rc = -1;
            break;
        }
        for (i = 0; i < c; i++) {
            stats_from(&replies[i * per], per - 1, replies[i * per + per - 1],
                       &stats[start + i]);
        }
        for (j = 0; j < ncmd; j++) {
            freeReplyObject(replies[j]);
        }
    }

done:
    free(keys);
    free(argv);
    free(cmds);
    free(argc);
    free(replies);
    return rc;
}


int
registry_counts(queue *q, const char *prefix, long long counts[3])
{
    char         count[96];
    const char  *argv[5] = { "HMGET", count, "active", "disabled",
                             "deleted" };
    const char *const *cmds[1] = { argv };
    int          argc = 5;
    redisReply  *r;
    size_t       i;

    key_of(count, sizeof(count), prefix, "reg:count", "");
    if (queue_pipeline(q, 1, &argc, cmds, NULL, &r) != 0) {
        return -1;
    }
    for (i = 0; i < 3; i++) {
        counts[i] = r->type == REDIS_REPLY_ARRAY && i < r->elements
                    && r->element[i]->type == REDIS_REPLY_STRING
                    ? strtoll(r->element[i]->str, NULL, 10) : 0;
    }
    freeReplyObject(r);
    return 0;
}


int
registry_deliver(queue *q, const char *prefix, const registry_delivery *d,
    long long now, char entry[64], char provider[16], char status[16])
{
    char         reg[160], recent[176], ts[24];
    const char  *keys[2] = { reg, recent };
    const char  *args[8];
    size_t       lens[8] = { -1, -1, -1, -1, -1, -1, -1, d->len };
    redisReply  *r;
    int          rc = -1;

    key_of(reg, sizeof(reg), prefix, "reg:", d->id);
    snprintf(recent, sizeof(recent), "%sreg:%s:recent", prefix, d->id);
    snprintf(ts, sizeof(ts), "%lld", now);
    args[0] = prefix;
    args[1] = d->id;
    args[2] = d->provider ? d->provider : "";
    args[3] = d->event_type;
    args[4] = d->delivery_id;
    args[5] = d->edge_time;
    args[6] = ts;
    args[7] = d->body ? d->body : "";
    r = eval(q, deliver_lua, 2, keys, 8, args, lens);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1
        && r->element[0]->type == REDIS_REPLY_INTEGER)
    {
        rc = (int) r->element[0]->integer;
        if (rc == 0 && r->elements == 3) {
            snprintf(entry, 64, "%s", r->element[1]->str);
            snprintf(provider, 16, "%s", r->element[2]->str);
        } else if (r->elements == 2
                   && r->element[1]->type == REDIS_REPLY_STRING)
        {
            snprintf(rc == 410 ? status : provider, 16, "%s",
                     r->element[1]->str);
        }
    }
    freeReplyObject(r);
    return rc;
}


/* -- views ----------------------------------------------------------------- */

static void
set_time(json_t *v, const char *name, const json_t *rec, const char *field)
{
    const char *s = json_string_value(json_object_get(rec, field));

    if (s != NULL && s[0] != '\0') {
        json_object_set_new(v, name, json_integer(strtoll(s, NULL, 10)));
    }
}


json_t *
registry_events_json(const char *events)
{
    json_t      *arr = json_array();
    const char  *p = events, *comma;

    while (arr != NULL && p != NULL && *p != '\0') {
        comma = strchr(p, ',');
        json_array_append_new(arr, json_stringn(p, comma ? (size_t) (comma - p)
                                                         : strlen(p)));
        p = comma ? comma + 1 : NULL;
    }
    return arr;
}


static const char *
field(const json_t *rec, const char *name)
{
    const char *s = json_string_value(json_object_get(rec, name));

    return s ? s : "";
}


json_t *
registry_view(const json_t *rec, const char *base_url, long long now)
{
    json_t      *v;
    char         url[512];
    const char  *until = json_string_value(json_object_get(rec,
                                                  "secret_prev_until"));

    snprintf(url, sizeof(url), "%s/webhooks/%s", base_url, field(rec, "id"));
    v = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}",
                  "registrationId", field(rec, "id"),
                  "integrationId", field(rec, "integration"),
                  "connectionId", field(rec, "connection"),
                  "provider", field(rec, "provider"),
                  "events", registry_events_json(field(rec, "events")),
                  "status", field(rec, "status"),
                  "webhookUrl", url);
    if (v == NULL) {
        return NULL;
    }
    set_time(v, "createdAt", rec, "created_at");
    set_time(v, "updatedAt", rec, "updated_at");
    set_time(v, "rotatedAt", rec, "rotated_at");
    set_time(v, "deletedAt", rec, "deleted_at");
    json_object_set_new(v, "rotationGraceEndsAt",
                        until != NULL && strtoll(until, NULL, 10) > now
                        ? json_integer(strtoll(until, NULL, 10))
                        : json_null());
    set_time(v, "rev", rec, "rev");
    return v;
}


json_t *
registry_health_view(const json_t *rec, const registry_stats *counted,
    long long now, long window_s)
{
    registry_stats          stats = *counted, *st = &stats;
    registry_health_status  h = registry_health_of(st);
    json_t                 *v, *by, *recs;
    const char             *status = field(rec, "status");
    char                    text[200];
    size_t                  i;

    st->created_at = created_of(rec);
    by = json_object();
    for (i = 0; by != NULL && i < st->n_reasons; i++) {
        json_object_set_new(by, st->reasons[i].name,
                            json_integer(st->reasons[i].n));
    }
    recs = registry_health_recommendations(st, now, window_s);
    if (recs != NULL && strcmp(status, "active") != 0) {
        snprintf(text, sizeof(text), "the registration is %s: the edge "
                 "answers 410 registration_disabled to every delivery",
                 status);
        json_array_insert_new(recs, 0, json_string(text));
    }
    v = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:I}",
                  "registrationId", field(rec, "id"),
                  "integrationId", field(rec, "integration"),
                  "status", registry_health_name(h),
                  "registrationStatus", status,
                  "failureCount", (json_int_t) st->failures,
                  "passedCount", (json_int_t) st->passed,
                  "deliveryCount", (json_int_t) (st->passed + st->failures),
                  "failuresByReason", by,
                  "windowSeconds", (json_int_t) window_s);
    if (v == NULL) {
        json_decref(recs);
        return NULL;
    }
    json_object_set_new(v, "lastEventAt", st->last_event_at > 0
                        ? json_integer(st->last_event_at) : json_null());
    json_object_set_new(v, "lastFailureAt", st->last_failure_at > 0
                        ? json_integer(st->last_failure_at) : json_null());
    json_object_set_new(v, "lastFailureReason", st->last_reason[0]
                        ? json_string(st->last_reason) : json_null());
    json_object_set_new(v, "recommendations", recs ? recs : json_array());
    return v;
}

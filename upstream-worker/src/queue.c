#include "queue.h"
#include "clock.h"
#include "crypto.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

const queue_names queue_jobs_names = {
    QUEUE_STREAM, QUEUE_GROUP, QUEUE_DELAYED, QUEUE_DEAD, "wh:job:"
};

struct queue {
    const queue_names *n;
    redis_target   target;
    int            timeout_ms;
    redisContext  *c;
    int            group_ready;
    char           err[256];
};

static const char enqueue_lua[] =
    "local existing = redis.call('GET', KEYS[1])\n"
    "if existing then return {0, existing} end\n"
    "redis.call('HSET', KEYS[2], 'id', ARGV[1], 'order_id', ARGV[2],\n"
    "  'idem_key', ARGV[3], 'correlation_id', ARGV[4],\n"
    "  'requested_by', ARGV[5], 'type', ARGV[6], 'status', 'QUEUED',\n"
    "  'attempts', '0', 'last_step', '-1', 'created_ms', ARGV[7],\n"
    "  'updated_ms', ARGV[7], 'whmcs_client_hint', ARGV[8])\n"
    "redis.call('XADD', KEYS[4], '*', 'job', ARGV[1])\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('SET', KEYS[3], ARGV[1])\n"
    "return {1, ARGV[1]}\n";

/* KEYS: job hash, delayed zset, stream. ARGV: job, due, entry, group, now */
static const char schedule_lua[] =
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])\n"
    "redis.call('HSET', KEYS[1], 'status', 'RETRY_WAIT',\n"
    "  'next_attempt_ms', ARGV[2], 'updated_ms', ARGV[5])\n"
    "redis.call('XACK', KEYS[3], ARGV[4], ARGV[3])\n"
    "return 1\n";

/* KEYS: delayed zset, stream. ARGV: now, job hash prefix */
static const char promote_lua[] =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
    "  'LIMIT', 0, 50)\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('HSET', ARGV[2] .. id, 'status', 'QUEUED',\n"
    "    'updated_ms', ARGV[1])\n"
    "  redis.call('XADD', KEYS[2], '*', 'job', id)\n"
    "end\n"
    "return #ids\n";

/*
 * The order's active job (wh:active:{order}) blocks another job only while
 * its status is one of these; a holder that finished, or vanished, without
 * giving the marker back (killed in between) is taken over.
 */
#define ACTIVE_HOLDER_BUSY_LUA \
    "local function busy(h)\n" \
    "  local st = redis.call('HGET', 'wh:job:' .. h, 'status')\n" \
    "  return st == 'QUEUED' or st == 'RUNNING' or st == 'RETRY_WAIT'\n" \
    "end\n"

/* KEYS: job hash, dead stream, stream. ARGV: job, entry, group, reason, now */
static const char dead_lua[] =
    "local order = redis.call('HGET', KEYS[1], 'order_id') or ''\n"
    "local id = redis.call('XADD', KEYS[2], '*', 'job', ARGV[1],\n"
    "  'order_id', order, 'reason', ARGV[4])\n"
    "redis.call('HSET', KEYS[1], 'status', 'DEAD', 'dead_entry', id,\n"
    "  'updated_ms', ARGV[5])\n"
    "redis.call('XACK', KEYS[3], ARGV[3], ARGV[2])\n"
    "if redis.call('GET', 'wh:active:' .. order) == ARGV[1] then\n"
    "  redis.call('DEL', 'wh:active:' .. order)\n"
    "end\n"
    "return id\n";

/*
 * KEYS: job hash, dead stream, stream. ARGV: job, now. A job that another
 * job provisioned the order behind (wh:provisioned) stays dead: resumed, it
 * would meet that job's AddOrder claim and report Failed over Provisioned.
 */
static const char retry_dead_lua[] =
    ACTIVE_HOLDER_BUSY_LUA
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {404, ''} end\n"
    "if redis.call('HGET', KEYS[1], 'status') ~= 'DEAD' then\n"
    "  return {409, ''}\n"
    "end\n"
    "local order = redis.call('HGET', KEYS[1], 'order_id') or ''\n"
    "local active = 'wh:active:' .. order\n"
    "local h = redis.call('GET', active)\n"
    "if h and h ~= ARGV[1] and busy(h) then return {423, h} end\n"
    "local p = redis.call('GET', 'wh:provisioned:' .. order)\n"
    "if p and p ~= ARGV[1] then return {410, p} end\n"
    "redis.call('SET', active, ARGV[1])\n"
    "local entry = redis.call('HGET', KEYS[1], 'dead_entry')\n"
    "if entry then redis.call('XDEL', KEYS[2], entry) end\n"
    "redis.call('HDEL', KEYS[1], 'dead_entry', 'error_code',\n"
    "  'error_message')\n"
    "redis.call('HSET', KEYS[1], 'status', 'QUEUED', 'attempts', '0',\n"
    "  'retried', '1', 'updated_ms', ARGV[2])\n"
    "redis.call('XADD', KEYS[3], '*', 'job', ARGV[1])\n"
    "return {0, ''}\n";


queue *
queue_new(const redis_target *target, int command_timeout_ms)
{
    return queue_new_named(target, command_timeout_ms, &queue_jobs_names);
}


queue *
queue_new_named(const redis_target *target, int command_timeout_ms,
    const queue_names *names)
{
    queue *q = calloc(1, sizeof(*q));

    if (q != NULL) {
        q->n = names;
        q->target = *target;
        q->timeout_ms = command_timeout_ms;
    }
    return q;
}


static void
drop(queue *q)
{
    if (q->c != NULL) {
        redisFree(q->c);
        q->c = NULL;
    }
    q->group_ready = 0;
}


void
queue_free(queue *q)
{
    if (q != NULL) {
        drop(q);
        free(q);
    }
}


const char *
queue_error(queue *q)
{
    return q->err;
}


/* A reply, or NULL with q->err set and the connection dropped if broken. */
static redisReply *
check(queue *q, void *r)
{
    redisReply *reply = r;

    if (reply == NULL) {
        snprintf(q->err, sizeof(q->err), "redis: %s",
                 q->c && q->c->errstr[0] ? q->c->errstr : "no reply");
        drop(q);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(q->err, sizeof(q->err), "redis: %s", reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}


/*
 * An idle connection has nothing to read: if its socket is readable, Redis
 * closed it (restarted, killed, timeout, CLIENT KILL) while this thread
 * was not looking. Dropping it here means the next command goes out on a
 * new connection instead of failing on the dead one and answering a 503
 * for an outage that is already over.
 */
static void
drop_if_closed(queue *q)
{
    struct pollfd pfd;

    if (q->c == NULL) {
        return;
    }
    pfd.fd = q->c->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) != 0) {
        drop(q);
    }
}


int
queue_ready(queue *q)
{
    struct timeval  connect_tv = { 0, 500 * 1000 };
    struct timeval  cmd_tv;
    redisReply     *r;

    drop_if_closed(q);
    if (q->c == NULL) {
        if (q->target.unix_path[0]) {
            q->c = redisConnectUnixWithTimeout(q->target.unix_path, connect_tv);
        } else {
            q->c = redisConnectWithTimeout(q->target.host, q->target.port,
                                           connect_tv);
        }
        if (q->c == NULL || q->c->err) {
            snprintf(q->err, sizeof(q->err), "redis connect: %s",
                     q->c ? q->c->errstr : "out of memory");
            drop(q);
            return -1;
        }
        cmd_tv.tv_sec = q->timeout_ms / 1000;
        cmd_tv.tv_usec = (q->timeout_ms % 1000) * 1000;
        redisSetTimeout(q->c, cmd_tv);
        if (q->target.password[0]) {
            r = check(q, redisCommand(q->c, "AUTH %s", q->target.password));
            if (r == NULL) {
                drop(q);
                return -1;
            }
            freeReplyObject(r);
        }
        if (q->target.db) {
            r = check(q, redisCommand(q->c, "SELECT %d", q->target.db));
            if (r == NULL) {
                drop(q);
                return -1;
            }
            freeReplyObject(r);
        }
    }
    if (!q->group_ready) {
        r = redisCommand(q->c, "XGROUP CREATE %s %s 0 MKSTREAM",
                         q->n->stream, q->n->group);
        if (r == NULL) {
            check(q, r);
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "BUSYGROUP") == NULL)
        {
            snprintf(q->err, sizeof(q->err), "redis: %s", r->str);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
        q->group_ready = 1;
    }
    return 0;
}


int
queue_enqueue(queue *q, const intake_request *req, long long now_ms,
    char job_id[64], int *created)
{
    char         id_hex[33], idem[300], job_key[80], order_key[64];
    char         now[24], hint[24];
    redisReply  *r;
    const char  *argv[15];

    if (queue_ready(q) != 0) {
        return -1;
    }
    if (random_hex(id_hex, 16) != 0) {
        snprintf(q->err, sizeof(q->err), "no randomness for a job id");
        return -1;
    }
    snprintf(job_id, 64, "job_%s", id_hex);
    snprintf(idem, sizeof(idem), "wh:idem:%s", req->idem_key);
    snprintf(job_key, sizeof(job_key), "wh:job:%s", job_id);
    snprintf(order_key, sizeof(order_key), "wh:order:%s", req->order_id);
    snprintf(now, sizeof(now), "%lld", now_ms);
    snprintf(hint, sizeof(hint), "%lld", req->whmcs_client_id);

    argv[0] = "EVAL";
    argv[1] = enqueue_lua;
    argv[2] = "4";
    argv[3] = idem;
    argv[4] = job_key;
    argv[5] = order_key;
    argv[6] = QUEUE_STREAM;
    argv[7] = job_id;
    argv[8] = req->order_id;
    argv[9] = req->idem_key;
    argv[10] = req->correlation_id[0] ? req->correlation_id : job_id;
    argv[11] = req->requested_by;
    argv[12] = req->source;
    argv[13] = now;
    argv[14] = hint;
    r = check(q, redisCommandArgv(q->c, 15, argv, NULL));
    if (r == NULL) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        snprintf(q->err, sizeof(q->err), "redis: unexpected enqueue reply");
        freeReplyObject(r);
        return -1;
    }
    *created = r->element[0]->integer == 1;
    snprintf(job_id, 64, "%s", r->element[1]->str);
    freeReplyObject(r);
    return 0;
}


json_t *
queue_hash_get(queue *q, const char *key, int *failed)
{
    redisReply *r;
    json_t     *obj;

    *failed = 0;
    if (queue_ready(q) != 0) {
        *failed = 1;
        return NULL;
    }
    r = check(q, redisCommand(q->c, "HGETALL %s", key));
    if (r == NULL) {
        *failed = 1;
        return NULL;
    }
    obj = queue_reply_hash(r);
    freeReplyObject(r);
    return obj;
}


json_t *
queue_reply_hash(const struct redisReply *r)
{
    json_t *obj;
    size_t  i;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        return NULL;
    }
    obj = json_object();
    for (i = 0; obj && i + 1 < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING
            || r->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }
        json_object_set_new(obj, r->element[i]->str,
                            json_stringn(r->element[i + 1]->str,
                                         r->element[i + 1]->len));
    }
    return obj;
}


json_t *
queue_job_get(queue *q, const char *job_id, int *failed)
{
    char key[96];

    snprintf(key, sizeof(key), "%s%s", q->n->job_prefix, job_id);
    return queue_hash_get(q, key, failed);
}


json_t *
queue_job_steps(queue *q, const char *job_id)
{
    redisReply *r;
    json_t     *arr = json_array(), *item;
    size_t      i;

    if (arr == NULL || queue_ready(q) != 0) {
        return arr;
    }
    r = check(q, redisCommand(q->c, "LRANGE wh:job:%s:steps 0 -1", job_id));
    if (r == NULL) {
        return arr;
    }
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        item = json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL);
        if (item != NULL) {
            json_array_append_new(arr, item);
        }
    }
    freeReplyObject(r);
    return arr;
}


static int
get_job_id(queue *q, const char *prefix, const char *name, char job_id[64])
{
    redisReply *r;
    int         found = 0;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "GET %s%s", prefix, name));
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        snprintf(job_id, 64, "%s", r->str);
        found = 1;
    }
    freeReplyObject(r);
    return found;
}


int
queue_order_job(queue *q, const char *order_id, char job_id[64])
{
    return get_job_id(q, "wh:order:", order_id, job_id);
}


int
queue_idem_job(queue *q, const char *idem_key, char job_id[64])
{
    return get_job_id(q, "wh:idem:", idem_key, job_id);
}


int
queue_provisioned_job(queue *q, const char *order_id, char job_id[64])
{
    return get_job_id(q, "wh:provisioned:", order_id, job_id);
}


int
queue_set_provisioned_job(queue *q, const char *order_id, const char *job_id)
{
    redisReply *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "SET wh:provisioned:%s %s", order_id,
                              job_id));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


static int
hash_set(queue *q, const char *key, va_list ap)
{
    const char   *argv[64];
    size_t        argvlen[64];
    char          now[24];
    const char   *s;
    int           argc = 0, i;
    redisReply   *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    argv[argc++] = "HSET";
    argv[argc++] = key;
    argv[argc++] = "updated_ms";
    argv[argc++] = now;
    while ((s = va_arg(ap, const char *)) != NULL && argc < 62) {
        argv[argc++] = s;
    }
    for (i = 0; i < argc; i++) {
        argvlen[i] = strlen(argv[i]);
    }
    r = check(q, redisCommandArgv(q->c, argc, argv, argvlen));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


int
queue_hash_set(queue *q, const char *key, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, key);
    rc = hash_set(q, key, ap);
    va_end(ap);
    return rc;
}


int
queue_job_set(queue *q, const char *job_id, ...)
{
    char    key[96];
    va_list ap;
    int     rc;

    snprintf(key, sizeof(key), "%s%s", q->n->job_prefix, job_id);
    va_start(ap, job_id);
    rc = hash_set(q, key, ap);
    va_end(ap);
    return rc;
}


int
queue_job_step_done(queue *q, const char *job_id, int index, const char *step,
    const char *outcome, long duration_ms)
{
    char         idx[16], *rec;
    redisReply  *r;
    json_t      *obj;

    obj = json_pack("{s:s,s:s,s:I,s:I}", "step", step, "outcome", outcome,
                    "duration_ms", (json_int_t) duration_ms, "at_ms",
                    (json_int_t) clock_now_ms());
    rec = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (rec == NULL || queue_ready(q) != 0) {
        free(rec);
        return -1;
    }
    snprintf(idx, sizeof(idx), "%d", index);
    /* one MULTI: the resume pointer and the display record agree */
    redisAppendCommand(q->c, "MULTI");
    redisAppendCommand(q->c, "HSET wh:job:%s last_step %s", job_id, idx);
    redisAppendCommand(q->c, "RPUSH wh:job:%s:steps %s", job_id, rec);
    redisAppendCommand(q->c, "EXEC");
    free(rec);
    for (int i = 0; i < 4; i++) {
        void *reply = NULL;

        if (redisGetReply(q->c, &reply) != REDIS_OK) {
            check(q, NULL);
            return -1;
        }
        r = check(q, reply);
        if (r == NULL) {
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}


long long
queue_job_incr_attempts(queue *q, const char *job_id)
{
    redisReply *r;
    long long   n;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "HINCRBY %s%s attempts 1",
                              q->n->job_prefix, job_id));
    if (r == NULL) {
        return -1;
    }
    n = r->integer;
    freeReplyObject(r);
    return n;
}


/* First entry of [[id, [field, value, ...]], ...] into e. */
static int
take_entry(redisReply *entries, queue_entry *e)
{
    redisReply *entry, *fields;
    size_t      i;

    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY
        || entries->elements == 0)
    {
        return 0;
    }
    entry = entries->element[0];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) {
        return 0;
    }
    snprintf(e->entry_id, sizeof(e->entry_id), "%s", entry->element[0]->str);
    e->job_id[0] = '\0';
    fields = entry->element[1];
    for (i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements;
         i += 2)
    {
        if (strcmp(fields->element[i]->str, "job") == 0) {
            snprintf(e->job_id, sizeof(e->job_id), "%s",
                     fields->element[i + 1]->str);
        }
    }
    return 1;
}


static int
read_group(queue *q, const char *consumer, int block_ms, const char *from,
    queue_entry *e)
{
    redisReply *r;
    int         got = 0;

    if (queue_ready(q) != 0) {
        return -1;
    }
    if (block_ms > 0) {
        r = redisCommand(q->c, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d "
                         "STREAMS %s %s", q->n->group, consumer, block_ms,
                         q->n->stream, from);
    } else {
        r = redisCommand(q->c, "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s %s",
                         q->n->group, consumer, q->n->stream, from);
    }
    r = check(q, r);
    if (r == NULL) {
        if (strstr(q->err, "NOGROUP")) {
            q->group_ready = 0;
        }
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0
        && r->element[0]->type == REDIS_REPLY_ARRAY
        && r->element[0]->elements == 2)
    {
        got = take_entry(r->element[0]->element[1], e);
    }
    freeReplyObject(r);
    return got;
}


int
queue_read_own_pending(queue *q, const char *consumer, queue_entry *e)
{
    return read_group(q, consumer, 0, "0", e);
}


int
queue_read_new(queue *q, const char *consumer, int block_ms, queue_entry *e)
{
    return read_group(q, consumer, block_ms, ">", e);
}


int
queue_autoclaim(queue *q, const char *consumer, long min_idle_ms,
    queue_entry *e)
{
    redisReply *r;
    int         got = 0;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "XAUTOCLAIM %s %s %s %ld 0-0 COUNT 1",
                              q->n->stream, q->n->group, consumer,
                              min_idle_ms));
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
        got = take_entry(r->element[1], e);
    }
    freeReplyObject(r);
    return got;
}


int
queue_ack(queue *q, const char *entry_id)
{
    redisReply *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "XACK %s %s %s", q->n->stream,
                              q->n->group, entry_id));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}



int
queue_next(queue *q, queue_reader *rd, const char *consumer,
    long claim_idle_ms, int block_ms, queue_entry *e)
{
    long long now = clock_now_ms();
    int       got = queue_promote_due(q, now) < 0 ? -1 : 0;

    if (got == 0 && !rd->own_checked) {
        got = queue_read_own_pending(q, consumer, e);
        if (got == 0) {
            rd->own_checked = 1;
        }
    }
    if (got == 0 && now - rd->last_claim_ms >= 1000) {
        rd->last_claim_ms = now;
        got = queue_autoclaim(q, consumer, claim_idle_ms, e);
    }
    if (got == 0) {
        got = queue_read_new(q, consumer, block_ms, e);
    }
    if (got < 0) {
        rd->own_checked = 0;
    }
    return got;
}


int
queue_schedule_retry(queue *q, const queue_entry *e, long long due_ms)
{
    char        key[96], due[24], now[24];
    redisReply *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "%s%s", q->n->job_prefix, e->job_id);
    snprintf(due, sizeof(due), "%lld", due_ms);
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    r = check(q, redisCommand(q->c, "EVAL %s 3 %s %s %s %s %s %s %s %s",
                              schedule_lua, key, q->n->delayed, q->n->stream,
                              e->job_id, due, e->entry_id, q->n->group, now));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


int
queue_promote_due(queue *q, long long now)
{
    char        t[24];
    redisReply *r;
    int         n;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(t, sizeof(t), "%lld", now);
    r = check(q, redisCommand(q->c, "EVAL %s 2 %s %s %s %s", promote_lua,
                              q->n->delayed, q->n->stream, t,
                              q->n->job_prefix));
    if (r == NULL) {
        return -1;
    }
    n = (int) r->integer;
    freeReplyObject(r);
    return n;
}


int
queue_dead_letter(queue *q, const queue_entry *e, const char *reason)
{
    char        key[96], now[24];
    redisReply *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "%s%s", q->n->job_prefix, e->job_id);
    snprintf(now, sizeof(now), "%lld", clock_now_ms());
    r = check(q, redisCommand(q->c, "EVAL %s 3 %s %s %s %s %s %s %s %s",
                              dead_lua, key, q->n->dead, q->n->stream,
                              e->job_id, e->entry_id, q->n->group, reason,
                              now));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


int
queue_retry_dead(queue *q, const char *job_id, long long now,
    char other[64])
{
    char        key[80], t[24];
    redisReply *r;
    int         rc = -1;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "wh:job:%s", job_id);
    snprintf(t, sizeof(t), "%lld", now);
    r = check(q, redisCommand(q->c, "EVAL %s 3 %s %s %s %s %s",
                              retry_dead_lua, key, QUEUE_DEAD, QUEUE_STREAM,
                              job_id, t));
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        rc = (int) r->element[0]->integer;
        snprintf(other, 64, "%s", r->element[1]->str ? r->element[1]->str
                                                     : "");
    } else {
        snprintf(q->err, sizeof(q->err), "redis: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}


int
queue_begin_addorder(queue *q, const char *order_id, const char *job_id,
    char holder[64])
{
    /* KEYS: job hash, order claim. ARGV: job id */
    static const char lua[] =
        "local st = redis.call('HGET', KEYS[1], 'addorder_state')\n"
        "if st == 'sending' or st == 'done' then return {2, ''} end\n"
        "local h = redis.call('GET', KEYS[2])\n"
        "if h and h ~= ARGV[1] then return {0, h} end\n"
        "redis.call('SET', KEYS[2], ARGV[1])\n"
        "redis.call('HSET', KEYS[1], 'addorder_state', 'sending')\n"
        "return {1, ARGV[1]}\n";
    char        job_key[80], claim_key[64];
    redisReply *r;
    int         rc = -1;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(job_key, sizeof(job_key), "wh:job:%s", job_id);
    snprintf(claim_key, sizeof(claim_key), "wh:addorder:%s", order_id);
    r = check(q, redisCommand(q->c, "EVAL %s 2 %s %s %s", lua, job_key,
                              claim_key, job_id));
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        rc = (int) r->element[0]->integer;
        snprintf(holder, 64, "%s", r->element[1]->str ? r->element[1]->str
                                                      : "");
    } else {
        snprintf(q->err, sizeof(q->err), "redis: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}


/* Deletes key when it still holds value (a claim given back by its owner). */
static int
release_if_held(queue *q, const char *key, const char *value)
{
    static const char lua[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
        "  return redis.call('DEL', KEYS[1]) end\n"
        "return 0\n";
    redisReply *r;

    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "EVAL %s 1 %s %s", lua, key, value));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


static int
lease_eval(queue *q, const char *lua, const char *job_id, const char *token,
    long ms)
{
    char        key[80], ttl[24];
    redisReply *r;
    int         rc;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "wh:lease:%s", job_id);
    snprintf(ttl, sizeof(ttl), "%ld", ms);
    r = check(q, redisCommand(q->c, "EVAL %s 1 %s %s %s", lua, key, token,
                              ttl));
    if (r == NULL) {
        return -1;
    }
    rc = (int) r->integer;
    freeReplyObject(r);
    return rc;
}


int
queue_lease_take(queue *q, const char *job_id, const char *token, long ms)
{
    static const char lua[] =
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
        "  return 1 end\n"
        "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
        "return 0\n";

    return lease_eval(q, lua, job_id, token, ms);
}


int
queue_lease_renew(queue *q, const char *job_id, const char *token, long ms)
{
    static const char lua[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
        "return 0\n";

    return lease_eval(q, lua, job_id, token, ms);
}


void
queue_lease_release(queue *q, const char *job_id, const char *token)
{
    char key[80];

    snprintf(key, sizeof(key), "wh:lease:%s", job_id);
    (void) release_if_held(q, key, token);
}


int
queue_release_addorder(queue *q, const char *order_id, const char *job_id)
{
    char key[80];

    snprintf(key, sizeof(key), "wh:addorder:%s", order_id);
    return release_if_held(q, key, job_id);
}


int
queue_order_begin(queue *q, const char *order_id, const char *job_id,
    char holder[64])
{
    /* KEYS: the order's active marker. ARGV: job id */
    static const char lua[] =
        ACTIVE_HOLDER_BUSY_LUA
        "local h = redis.call('GET', KEYS[1])\n"
        "if h and h ~= ARGV[1] and busy(h) then return h end\n"
        "redis.call('SET', KEYS[1], ARGV[1])\n"
        "return ARGV[1]\n";
    char        key[80];
    redisReply *r;
    int         rc = -1;

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "wh:active:%s", order_id);
    r = check(q, redisCommand(q->c, "EVAL %s 1 %s %s", lua, key, job_id));
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        snprintf(holder, 64, "%s", r->str);
        rc = strcmp(r->str, job_id) == 0;
    } else {
        snprintf(q->err, sizeof(q->err), "redis: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}


int
queue_order_end(queue *q, const char *order_id, const char *job_id)
{
    char key[80];

    snprintf(key, sizeof(key), "wh:active:%s", order_id);
    return release_if_held(q, key, job_id);
}


redisReply *
queue_argv(queue *q, int argc, const char **argv)
{
    size_t      small[64], *lens = small;
    int         i;
    redisReply *r;

    if (queue_ready(q) != 0) {
        return NULL;
    }
    /* the stock sync sends a page of SKUs in one command */
    if (argc > 64) {
        lens = malloc((size_t) argc * sizeof(*lens));
        if (lens == NULL) {
            snprintf(q->err, sizeof(q->err), "redis: out of memory");
            return NULL;
        }
    }
    for (i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    r = check(q, redisCommandArgv(q->c, argc, argv, lens));
    if (lens != small) {
        free(lens);
    }
    return r;
}


int
queue_pipeline(queue *q, size_t n, const int *argc,
    const char *const *const *argv, const size_t *const *lens,
    struct redisReply **replies)
{
    size_t  i, j;
    void   *r;

    for (i = 0; i < n; i++) {
        replies[i] = NULL;
    }
    if (queue_ready(q) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (redisAppendCommandArgv(q->c, argc[i], (const char **) argv[i],
                                   lens ? lens[i] : NULL) != REDIS_OK)
        {
            snprintf(q->err, sizeof(q->err), "redis: %s", q->c->errstr);
            drop(q);
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        if (redisGetReply(q->c, &r) != REDIS_OK || r == NULL) {
            snprintf(q->err, sizeof(q->err), "redis: %s",
                     q->c->errstr[0] ? q->c->errstr : "no reply");
            for (j = 0; j < i; j++) {
                freeReplyObject(replies[j]);
                replies[j] = NULL;
            }
            drop(q);
            return -1;
        }
        replies[i] = r;
    }
    return 0;
}


int
queue_mark_success(queue *q, const char *integration, long long now)
{
    /* never backwards: another process may have published a later one */
    static const char lua[] =
        "local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')\n"
        "if tonumber(ARGV[2]) > cur then\n"
        "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end\n"
        "return 0\n";
    redisReply *r;
    char        ms[24];

    if (queue_ready(q) != 0) {
        return -1;
    }
    snprintf(ms, sizeof(ms), "%lld", now);
    r = check(q, redisCommand(q->c, "EVAL %s 1 wh:health:last_success %s %s",
                              lua, integration, ms));
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}


static long long
info_field(redisReply *group, const char *name)
{
    size_t i;

    for (i = 0; i + 1 < group->elements; i += 2) {
        if (group->element[i]->type == REDIS_REPLY_STRING
            && strcmp(group->element[i]->str, name) == 0)
        {
            return group->element[i + 1]->type == REDIS_REPLY_INTEGER
                   ? group->element[i + 1]->integer : -1;
        }
    }
    return -1;
}


int
queue_stats_get(queue *q, queue_stats *s)
{
    redisReply *r;
    size_t      i;

    memset(s, 0, sizeof(*s));
    if (queue_ready(q) != 0) {
        return -1;
    }
    r = check(q, redisCommand(q->c, "XINFO GROUPS %s", QUEUE_STREAM));
    if (r == NULL) {
        return -1;
    }
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *g = r->element[i];

        if (g->type == REDIS_REPLY_ARRAY && g->elements >= 2
            && strcmp(g->element[1]->str, QUEUE_GROUP) == 0)
        {
            s->pending = info_field(g, "pending");
            s->lag = info_field(g, "lag");
        }
    }
    freeReplyObject(r);
    r = check(q, redisCommand(q->c, "ZCARD %s", QUEUE_DELAYED));
    if (r == NULL) {
        return -1;
    }
    s->delayed = r->integer;
    freeReplyObject(r);
    r = check(q, redisCommand(q->c, "XLEN %s", QUEUE_DEAD));
    if (r == NULL) {
        return -1;
    }
    s->dead = r->integer;
    freeReplyObject(r);
    r = check(q, redisCommand(q->c, "HGETALL wh:health:last_success"));
    if (r == NULL) {
        return -1;
    }
    s->last_success = json_object();
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        json_object_set_new(s->last_success, r->element[i]->str,
                            json_integer(strtoll(r->element[i + 1]->str,
                                                 NULL, 10)));
    }
    freeReplyObject(r);
    return 0;
}


/*
 * Copyright (C) webhook edge authors
 *
 * webhook_registry: the scheme and secrets of a location come from a
 * registration in Redis (PREFIX "reg:" <id>, written by the worker's
 * registration API), looked up over the module's async connection and
 * cached in a shared memory zone of its own for every worker process.
 *
 * The zone holds, per id, the registration's fields as Redis gave them
 * (or a negative entry), and the set of known ids (PREFIX "reg:ids"),
 * re-read when PREFIX "reg:rev" changes: an id that is not in the set is
 * answered 404 without asking Redis, so a flood of random ids costs no
 * round trip. One worker at a time polls reg:rev, at most once a TTL; an
 * entry is used while its TTL runs and reg:rev is the one it was read at.
 *
 * Health stats (PREFIX "regstat:" / "reglast:") are counted per worker
 * and written at most once a second in one pipelined, unanswered batch.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <jansson.h>
#include <hiredis/hiredis.h>


#define NGX_HTTP_WEBHOOK_REG_ID_MAX       64
#define NGX_HTTP_WEBHOOK_REG_FIELDS       8
#define NGX_HTTP_WEBHOOK_REG_NIL          0xffff
#define NGX_HTTP_WEBHOOK_REG_FIELD_MAX    4096
#define NGX_HTTP_WEBHOOK_REG_ZONE_SIZE    (4 * 1024 * 1024)
#define NGX_HTTP_WEBHOOK_REG_STATS        512
#define NGX_HTTP_WEBHOOK_REG_FLUSH        1000      /* ms between batches */
#define NGX_HTTP_WEBHOOK_REG_EVICT        8         /* per failed alloc */
#define NGX_HTTP_WEBHOOK_REG_KEY_MAX      (NGX_HTTP_WEBHOOK_PREFIX_MAX      \
                                           + NGX_HTTP_WEBHOOK_REG_ID_MAX     \
                                           + 32)


/* the HMGET's fields, in the contract's order */
enum {
    NGX_HTTP_WEBHOOK_REG_STATUS = 0,
    NGX_HTTP_WEBHOOK_REG_PROVIDER,
    NGX_HTTP_WEBHOOK_REG_EVENTS,
    NGX_HTTP_WEBHOOK_REG_SECRET,
    NGX_HTTP_WEBHOOK_REG_SECRET_PREV,
    NGX_HTTP_WEBHOOK_REG_PREV_UNTIL,
    NGX_HTTP_WEBHOOK_REG_TENANT,
    NGX_HTTP_WEBHOOK_REG_INTEGRATION
};


typedef enum {
    NGX_HTTP_WEBHOOK_REG_KNOWN = 0,     /* in reg:ids, not read yet */
    NGX_HTTP_WEBHOOK_REG_LOADED,
    NGX_HTTP_WEBHOOK_REG_NEGATIVE       /* HMGET found no hash */
} ngx_http_webhook_reg_state_e;


typedef struct {
    ngx_str_node_t                sn;       /* sn.str.data: id below */
    ngx_queue_t                   queue;    /* LRU, newest at the head */
    ngx_msec_t                    expire;
    int64_t                       rev;      /* reg:rev it was read at */
    uint32_t                      ids_gen;  /* in the set of that gen */
    ngx_uint_t                    state;
    u_char                       *data;     /* the fields, see _pack */
    size_t                        len;
    u_char                        id[1];
} ngx_http_webhook_reg_node_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   lru;
    int64_t                       rev;      /* -1: not read yet */
    uint32_t                      ids_gen;
    ngx_uint_t                    ids_loaded;
    ngx_uint_t                    ids_complete;
    ngx_uint_t                    ids;
    ngx_uint_t                    nodes;
    ngx_msec_t                    next_poll;

    ngx_atomic_t                  hits;
    ngx_atomic_t                  reads;        /* HMGETs sent */
    ngx_atomic_t                  unknown_set;  /* 404 from reg:ids */
    ngx_atomic_t                  unknown_cached; /* negative entries */
    ngx_atomic_t                  stale_used;
    ngx_atomic_t                  unavailable;
    ngx_atomic_t                  polls;
    ngx_atomic_t                  evicted;
    ngx_atomic_t                  stats_sent;
    ngx_atomic_t                  stats_dropped;
    ngx_atomic_t                  stats_errors;
} ngx_http_webhook_reg_shctx_t;


typedef struct {
    ngx_http_webhook_reg_shctx_t *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_webhook_reg_zone_t;


/* a lookup in flight: outlives its request, hiredis always calls back */
struct ngx_http_webhook_reg_waiter_s {
    ngx_http_request_t           *request;  /* NULL: the request ended */
    ngx_event_t                   timer;
    ngx_http_webhook_reg_t       *stale;    /* in the request's pool */
    ngx_str_t                     stale_fields[NGX_HTTP_WEBHOOK_REG_FIELDS];
    int64_t                       rev;
    size_t                        id_len;
    u_char                        id[NGX_HTTP_WEBHOOK_REG_ID_MAX];
    unsigned                      decided:1;
};


/* this worker's health counts, waiting for the next batch */
typedef struct {
    u_char                        id[NGX_HTTP_WEBHOOK_REG_ID_MAX];
    size_t                        id_len;
    time_t                        minute;
    time_t                        last;
    ngx_uint_t                    reason;
    ngx_uint_t                    n;
} ngx_http_webhook_reg_stat_t;


typedef struct {
    ngx_shm_zone_t               *zone;
    ngx_http_webhook_redis_conf_t *redis;
    ngx_msec_t                    ttl;
    ngx_log_t                    *log;
    ngx_event_t                   poll_timer;
    ngx_event_t                   flush_timer;
    int64_t                       polled_rev;
    ngx_uint_t                    polling;
    ngx_uint_t                    exiting;
    ngx_uint_t                    nstats;
    ngx_http_webhook_reg_stat_t   stats[NGX_HTTP_WEBHOOK_REG_STATS];
} ngx_http_webhook_reg_process_t;


static ngx_int_t ngx_http_webhook_registry_add_zone(ngx_conf_t *cf,
    ngx_http_webhook_main_conf_t *wmcf, ngx_str_t *name, size_t size);
static ngx_int_t ngx_http_webhook_registry_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_webhook_registry_send(
    ngx_http_webhook_reg_process_t *p, const char *cmd, const char *what,
    ngx_http_webhook_redis_reply_pt handler);
static ngx_int_t ngx_http_webhook_registry_valid_id(ngx_str_t *id);
static ngx_http_webhook_reg_node_t *ngx_http_webhook_registry_find(
    ngx_http_webhook_reg_shctx_t *sh, u_char *id, size_t len);
static ngx_http_webhook_reg_node_t *ngx_http_webhook_registry_node(
    ngx_http_webhook_reg_zone_t *z, u_char *id, size_t len);
static void *ngx_http_webhook_registry_alloc(ngx_http_webhook_reg_zone_t *z,
    size_t size, ngx_http_webhook_reg_node_t *keep);
static ngx_http_webhook_reason_e ngx_http_webhook_registry_answer(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reg_waiter_t *w, redisReply *reply);
static void ngx_http_webhook_registry_delete(ngx_http_webhook_reg_zone_t *z,
    ngx_http_webhook_reg_node_t *node);
static void ngx_http_webhook_registry_store(ngx_http_webhook_reg_waiter_t *w,
    redisReply *reply);
static ngx_http_webhook_reg_t *ngx_http_webhook_registry_unpack(
    ngx_pool_t *pool, u_char *data, size_t len, ngx_str_t *fields);
static ngx_http_webhook_reason_e ngx_http_webhook_registry_use(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reg_t *reg, ngx_str_t *fields);
static ngx_http_webhook_reason_e ngx_http_webhook_registry_down(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reg_t *stale, ngx_str_t *fields, const char *why);
static void ngx_http_webhook_registry_reply(void *reply, void *data);
static void ngx_http_webhook_registry_timeout(ngx_event_t *ev);
static void ngx_http_webhook_registry_resume(ngx_http_request_t *r,
    ngx_http_webhook_reason_e reason);
static void ngx_http_webhook_registry_poll(ngx_event_t *ev);
static void ngx_http_webhook_registry_rev_reply(void *reply, void *data);
static void ngx_http_webhook_registry_ids_reply(void *reply, void *data);
static void ngx_http_webhook_registry_flush(ngx_event_t *ev);
static void ngx_http_webhook_registry_stat_reply(void *reply, void *data);
static size_t ngx_http_webhook_registry_key(u_char *buf, const char *what,
    u_char *id, size_t len);
static ngx_int_t ngx_http_webhook_registry_event_listed(ngx_str_t *events,
    ngx_str_t *type);
static ngx_int_t ngx_http_webhook_json_member(u_char *p, u_char *last,
    ngx_str_t *name, u_char **value, u_char **end);
static u_char *ngx_http_webhook_json_skip_string(u_char *p, u_char *last,
    ngx_uint_t *escaped);
static u_char *ngx_http_webhook_json_skip_value(u_char *p, u_char *last);
static u_char *ngx_http_webhook_json_skip_ws(u_char *p, u_char *last);


static ngx_http_webhook_reg_process_t  *ngx_http_webhook_reg;


/* the HMAC schemes a registration may name (contract 1) */
static ngx_str_t  ngx_http_webhook_reg_providers[] = {
    ngx_string("salesforce"),
    ngx_string("github"),
    ngx_string("slack"),
    ngx_string("stripe"),
    ngx_string("shopify"),
    ngx_string("standard"),
    ngx_string("woocommerce"),
    ngx_string("notion"),
    ngx_null_string
};


static const char  *ngx_http_webhook_reg_fields[] = {
    "status", "provider", "events", "secret", "secret_prev",
    "secret_prev_until", "tenant", "integration"
};


/* webhook_registry redis $var; */

char *
ngx_http_webhook_registry_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t                     *value, name;
    ngx_http_webhook_main_conf_t  *wmcf;

    if (wlcf->registry != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len != 5 || ngx_strncmp(value[1].data, "redis", 5) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_registry: unknown store \"%V\", "
                           "expected \"redis\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len < 2 || value[2].data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_registry: the registration id must be "
                           "a variable such as $reg, not \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    wlcf->registry = ngx_pcalloc(cf->pool,
                                 sizeof(ngx_http_webhook_registry_t));
    if (wlcf->registry == NULL) {
        return NGX_CONF_ERROR;
    }

    name.data = value[2].data + 1;
    name.len = value[2].len - 1;

    wlcf->registry->name = name;
    wlcf->registry->index = ngx_http_get_variable_index(cf, &name);

    if (wlcf->registry->index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);
    wmcf->registry_used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webhook_registry_add_zone(ngx_conf_t *cf,
    ngx_http_webhook_main_conf_t *wmcf, ngx_str_t *name, size_t size)
{
    ngx_http_webhook_reg_zone_t  *z;

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_reg_zone_t));
    if (z == NULL) {
        return NGX_ERROR;
    }

    wmcf->registry_zone = ngx_shared_memory_add(cf, name, size,
                                                &ngx_http_webhook_module);
    if (wmcf->registry_zone == NULL) {
        return NGX_ERROR;
    }

    if (wmcf->registry_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already defined", name);
        return NGX_ERROR;
    }

    wmcf->registry_zone->init = ngx_http_webhook_registry_init_zone;
    wmcf->registry_zone->data = z;

    return NGX_OK;
}


/* the zone is added once the whole http block is read */

ngx_int_t
ngx_http_webhook_registry_postconf(ngx_conf_t *cf,
    ngx_http_webhook_main_conf_t *wmcf)
{
    ngx_str_t  name;

    if (wmcf->registry_ttl == NGX_CONF_UNSET_MSEC) {
        wmcf->registry_ttl = 5000;
    }

    if (!wmcf->registry_used || wmcf->registry_zone) {
        return NGX_OK;
    }

    ngx_str_set(&name, "webhook_registry");

    return ngx_http_webhook_registry_add_zone(cf, wmcf, &name,
                                              NGX_HTTP_WEBHOOK_REG_ZONE_SIZE);
}


/* webhook_registry_zone NAME:SIZE; */

char *
ngx_http_webhook_registry_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_main_conf_t *wmcf = conf;

    ssize_t    size;
    ngx_str_t  name;

    if (wmcf->registry_zone) {
        return "is duplicate";
    }

    if (ngx_http_webhook_zone_value(cf, cmd, &name, &size) != NGX_CONF_OK
        || ngx_http_webhook_registry_add_zone(cf, wmcf, &name, size)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webhook_registry_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_webhook_reg_zone_t  *oz = data;

    size_t                        len;
    ngx_http_webhook_reg_zone_t  *z;

    z = zone->data;

    if (oz) {
        /* reload: the cache carries on; reg:rev says what is current */
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_calloc(z->shpool, sizeof(ngx_http_webhook_reg_shctx_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&z->sh->lru);
    z->sh->rev = -1;

    len = sizeof(" in webhook_registry_zone \"\"") + zone->shm.name.len;

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in webhook_registry_zone \"%V\"%Z",
                &zone->shm.name);

    /* a full zone evicts the least recently used entries */
    z->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_registry_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_main_conf_t *wmcf)
{
    ngx_http_webhook_reg_process_t  *p;

    if (wmcf->registry_zone == NULL || wmcf->redis == NULL) {
        return NGX_OK;
    }

    p = ngx_pcalloc(cycle->pool, sizeof(ngx_http_webhook_reg_process_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->zone = wmcf->registry_zone;
    p->redis = wmcf->redis;
    p->ttl = wmcf->registry_ttl;
    p->log = cycle->log;

    p->poll_timer.handler = ngx_http_webhook_registry_poll;
    p->poll_timer.data = p;
    p->poll_timer.log = cycle->log;
    p->poll_timer.cancelable = 1;

    p->flush_timer.handler = ngx_http_webhook_registry_flush;
    p->flush_timer.data = p;
    p->flush_timer.log = cycle->log;
    p->flush_timer.cancelable = 1;

    ngx_http_webhook_reg = p;

    /* the first poll goes out with the connection's PING */
    ngx_add_timer(&p->poll_timer, 1);

    return NGX_OK;
}


void
ngx_http_webhook_registry_exit_process(void)
{
    ngx_http_webhook_reg_process_t  *p;

    p = ngx_http_webhook_reg;

    if (p == NULL) {
        return;
    }

    p->exiting = 1;

    if (p->poll_timer.timer_set) {
        ngx_del_timer(&p->poll_timer);
    }

    /* what is counted goes out while the connection is still there */
    if (p->flush_timer.timer_set) {
        ngx_del_timer(&p->flush_timer);
    }

    ngx_http_webhook_registry_flush(&p->flush_timer);
}


static ngx_int_t
ngx_http_webhook_registry_valid_id(ngx_str_t *id)
{
    size_t  i;
    u_char  c;

    if (id->len == 0 || id->len > NGX_HTTP_WEBHOOK_REG_ID_MAX) {
        return NGX_ERROR;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the zone's tree and queue: every call under the slab mutex */

static ngx_http_webhook_reg_node_t *
ngx_http_webhook_registry_find(ngx_http_webhook_reg_shctx_t *sh, u_char *id,
    size_t len)
{
    ngx_str_t        name;
    ngx_str_node_t  *sn;

    name.data = id;
    name.len = len;

    sn = ngx_str_rbtree_lookup(&sh->rbtree, &name, ngx_crc32_short(id, len));

    return (ngx_http_webhook_reg_node_t *) sn;
}


static void *
ngx_http_webhook_registry_alloc(ngx_http_webhook_reg_zone_t *z, size_t size,
    ngx_http_webhook_reg_node_t *keep)
{
    void                         *p;
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_http_webhook_reg_node_t  *old;

    p = ngx_slab_alloc_locked(z->shpool, size);

    for (i = 0; p == NULL && i < NGX_HTTP_WEBHOOK_REG_EVICT; i++) {

        if (ngx_queue_empty(&z->sh->lru)) {
            return NULL;
        }

        q = ngx_queue_last(&z->sh->lru);
        old = ngx_queue_data(q, ngx_http_webhook_reg_node_t, queue);

        if (old == keep) {
            return NULL;
        }

        /* the set cannot answer 404 for an id it no longer holds */
        if (old->ids_gen == z->sh->ids_gen) {
            z->sh->ids_complete = 0;
        }

        ngx_http_webhook_registry_delete(z, old);
        (void) ngx_atomic_fetch_add(&z->sh->evicted, 1);

        p = ngx_slab_alloc_locked(z->shpool, size);
    }

    return p;
}


static ngx_http_webhook_reg_node_t *
ngx_http_webhook_registry_node(ngx_http_webhook_reg_zone_t *z, u_char *id,
    size_t len)
{
    ngx_http_webhook_reg_node_t  *node;

    node = ngx_http_webhook_registry_find(z->sh, id, len);

    if (node) {
        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&z->sh->lru, &node->queue);
        return node;
    }

    node = ngx_http_webhook_registry_alloc(z,
               offsetof(ngx_http_webhook_reg_node_t, id) + len, NULL);
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, offsetof(ngx_http_webhook_reg_node_t, id));
    ngx_memcpy(node->id, id, len);

    node->sn.str.data = node->id;
    node->sn.str.len = len;
    node->sn.node.key = ngx_crc32_short(id, len);
    node->state = NGX_HTTP_WEBHOOK_REG_KNOWN;

    ngx_rbtree_insert(&z->sh->rbtree, &node->sn.node);
    ngx_queue_insert_head(&z->sh->lru, &node->queue);
    z->sh->nodes++;

    return node;
}


static void
ngx_http_webhook_registry_delete(ngx_http_webhook_reg_zone_t *z,
    ngx_http_webhook_reg_node_t *node)
{
    ngx_queue_remove(&node->queue);
    ngx_rbtree_delete(&z->sh->rbtree, &node->sn.node);

    if (node->data) {
        ngx_slab_free_locked(z->shpool, node->data);
    }

    ngx_slab_free_locked(z->shpool, node);
    z->sh->nodes--;
}


/*
 * A registration's fields as stored: per field a 2-byte length
 * (NGX_HTTP_WEBHOOK_REG_NIL: no such field) and its bytes.
 */

static ngx_http_webhook_reg_t *
ngx_http_webhook_registry_unpack(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_str_t *fields)
{
    u_char                  *p, *last;
    ngx_uint_t               i, n;
    ngx_http_webhook_reg_t  *reg;

    reg = ngx_pcalloc(pool, sizeof(ngx_http_webhook_reg_t));
    if (reg == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, data, len);
    last = p + len;

    for (i = 0; i < NGX_HTTP_WEBHOOK_REG_FIELDS; i++) {
        n = (p[0] << 8) | p[1];
        p += 2;

        if (n == NGX_HTTP_WEBHOOK_REG_NIL) {
            fields[i].data = NULL;
            fields[i].len = 0;
            continue;
        }

        if (p + n > last) {
            return NULL;
        }

        fields[i].data = p;
        fields[i].len = n;
        p += n;
    }

    return reg;
}


/*
 * NGX_OK with *reason: decided now (NGX_HTTP_WEBHOOK_OK: ctx->scheme and
 * ctx->secrets are the registration's); NGX_AGAIN: Redis is asked, the
 * request resumes when it answers or the timeout says.
 */

ngx_int_t
ngx_http_webhook_registry_lookup(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e *reason)
{
    u_char                           key[NGX_HTTP_WEBHOOK_REG_KEY_MAX];
    size_t                           argvlen[2 + NGX_HTTP_WEBHOOK_REG_FIELDS];
    int64_t                          rev;
    ngx_str_t                        id, fields[NGX_HTTP_WEBHOOK_REG_FIELDS];
    ngx_uint_t                       i, fresh, unknown;
    const char                      *argv[2 + NGX_HTTP_WEBHOOK_REG_FIELDS];
    ngx_http_webhook_reg_t          *reg;
    ngx_http_variable_value_t       *v;
    ngx_http_webhook_reg_node_t     *node;
    ngx_http_webhook_reg_zone_t     *z;
    ngx_http_webhook_reg_waiter_t   *w;
    ngx_http_webhook_reg_process_t  *p;

    p = ngx_http_webhook_reg;

    ngx_memzero(fields, sizeof(fields));

    if (p == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webhook: registry used without its zone");
        *reason = NGX_HTTP_WEBHOOK_NREASONS;
        return NGX_OK;
    }

    v = ngx_http_get_indexed_variable(r, wlcf->registry->index);

    if (v == NULL || v->not_found) {
        ngx_str_null(&id);

    } else {
        id.data = v->data;
        id.len = v->len;
    }

    if (ngx_http_webhook_registry_valid_id(&id) != NGX_OK) {
        ctx->detail = "registration id missing or not [A-Za-z0-9_-]{1,64}";
        *reason = NGX_HTTP_WEBHOOK_UNKNOWN_REGISTRATION;
        return NGX_OK;
    }

    z = p->zone->data;

    reg = NULL;
    fresh = 0;
    unknown = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    rev = z->sh->rev;
    node = ngx_http_webhook_registry_find(z->sh, id.data, id.len);

    if (node && node->state == NGX_HTTP_WEBHOOK_REG_LOADED) {
        fresh = (node->rev == rev
                 && (ngx_msec_int_t) (node->expire - ngx_current_msec) > 0);

        /* an expired entry is kept aside: Redis may be down */
        reg = ngx_http_webhook_registry_unpack(r->pool, node->data,
                                               node->len, fields);
        if (reg == NULL) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            *reason = NGX_HTTP_WEBHOOK_NREASONS;
            return NGX_OK;
        }

        if (fresh) {
            ngx_queue_remove(&node->queue);
            ngx_queue_insert_head(&z->sh->lru, &node->queue);
        }

    } else if (node && node->state == NGX_HTTP_WEBHOOK_REG_NEGATIVE
               && node->rev == rev
               && (ngx_msec_int_t) (node->expire - ngx_current_msec) > 0)
    {
        unknown = 1;
        (void) ngx_atomic_fetch_add(&z->sh->unknown_cached, 1);

    } else if (z->sh->ids_complete
               && (node == NULL || node->ids_gen != z->sh->ids_gen))
    {
        unknown = 2;
        (void) ngx_atomic_fetch_add(&z->sh->unknown_set, 1);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (unknown) {
        ctx->detail = (unknown == 1) ? "no such registration (cached)"
                                     : "no such registration (reg:ids)";
        *reason = NGX_HTTP_WEBHOOK_UNKNOWN_REGISTRATION;
        return NGX_OK;
    }

    if (reg) {
        reg->id.data = ngx_pnalloc(r->pool, id.len);
        if (reg->id.data == NULL) {
            *reason = NGX_HTTP_WEBHOOK_NREASONS;
            return NGX_OK;
        }

        ngx_memcpy(reg->id.data, id.data, id.len);
        reg->id.len = id.len;
    }

    if (fresh) {
        (void) ngx_atomic_fetch_add(&z->sh->hits, 1);
        *reason = ngx_http_webhook_registry_use(r, ctx, reg, fields);
        return NGX_OK;
    }

    /* HMGET PREFIX"reg:"<id> status provider ... */

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = (char *) key;
    argvlen[1] = ngx_http_webhook_registry_key(key, "reg:", id.data, id.len);

    for (i = 0; i < NGX_HTTP_WEBHOOK_REG_FIELDS; i++) {
        argv[2 + i] = ngx_http_webhook_reg_fields[i];
        argvlen[2 + i] = ngx_strlen(ngx_http_webhook_reg_fields[i]);
    }

    w = ngx_alloc(sizeof(ngx_http_webhook_reg_waiter_t), r->connection->log);
    if (w == NULL) {
        *reason = NGX_HTTP_WEBHOOK_NREASONS;
        return NGX_OK;
    }

    ngx_memzero(w, sizeof(ngx_http_webhook_reg_waiter_t));

    w->request = r;
    w->stale = reg;
    ngx_memcpy(w->stale_fields, fields, sizeof(fields));
    w->rev = rev;
    w->id_len = id.len;
    ngx_memcpy(w->id, id.data, id.len);

    if (ngx_http_webhook_redis_command(ngx_http_webhook_registry_reply, w,
                                       2 + NGX_HTTP_WEBHOOK_REG_FIELDS,
                                       argv, argvlen)
        != NGX_OK)
    {
        ngx_free(w);
        *reason = ngx_http_webhook_registry_down(r, ctx, reg, fields,
                                                 "not connected");
        return NGX_OK;
    }

    (void) ngx_atomic_fetch_add(&z->sh->reads, 1);

    w->timer.handler = ngx_http_webhook_registry_timeout;
    w->timer.data = w;
    w->timer.log = r->connection->log;
    ngx_add_timer(&w->timer, p->redis->timeout);

    ctx->reg_waiter = w;

    r->read_event_handler = ngx_http_test_reading;

    if (r->connection->read->pending_eof) {
        ngx_post_event(r->connection->read, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


/* what a registration's fields say about this request */

static ngx_http_webhook_reason_e
ngx_http_webhook_registry_use(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reg_t *reg,
    ngx_str_t *fields)
{
    time_t                       until;
    ngx_int_t                    rc;
    ngx_str_t                   *status, material;
    ngx_uint_t                   i, from, to;
    ngx_http_webhook_secret_t   *s;
    ngx_http_webhook_scheme_t   *scheme;

    reg->provider = fields[NGX_HTTP_WEBHOOK_REG_PROVIDER];
    reg->events = fields[NGX_HTTP_WEBHOOK_REG_EVENTS];
    reg->tenant = fields[NGX_HTTP_WEBHOOK_REG_TENANT];
    reg->integration = fields[NGX_HTTP_WEBHOOK_REG_INTEGRATION];

    /* known from here on: counted in the health stats */
    ctx->reg = reg;

    status = &fields[NGX_HTTP_WEBHOOK_REG_STATUS];

    if (status->len != 6 || ngx_strncmp(status->data, "active", 6) != 0) {
        if (status->len == 7
            && ngx_strncmp(status->data, "deleted", 7) == 0)
        {
            ctx->detail = "registration deleted";

        } else if (status->len == 8
                   && ngx_strncmp(status->data, "disabled", 8) == 0)
        {
            ctx->detail = "registration disabled";

        } else {
            ctx->detail = "registration status is not \"active\"";
        }

        return NGX_HTTP_WEBHOOK_REGISTRATION_DISABLED;
    }

    scheme = NULL;

    for (i = 0; ngx_http_webhook_reg_providers[i].len; i++) {
        if (ngx_http_webhook_reg_providers[i].len == reg->provider.len
            && ngx_strncmp(ngx_http_webhook_reg_providers[i].data,
                           reg->provider.data, reg->provider.len) == 0)
        {
            scheme = ngx_http_webhook_find_scheme(&reg->provider);
            break;
        }
    }

    if (scheme == NULL) {
        ctx->detail = "registration's provider is not one the edge verifies";
        return NGX_HTTP_WEBHOOK_REGISTRATION_DISABLED;
    }

    /* the current secret, then the previous one while its grace lasts */

    from = NGX_HTTP_WEBHOOK_REG_SECRET;
    to = NGX_HTTP_WEBHOOK_REG_SECRET;

    if (fields[NGX_HTTP_WEBHOOK_REG_SECRET_PREV].len
        && fields[NGX_HTTP_WEBHOOK_REG_PREV_UNTIL].len)
    {
        until = ngx_atotm(fields[NGX_HTTP_WEBHOOK_REG_PREV_UNTIL].data,
                          fields[NGX_HTTP_WEBHOOK_REG_PREV_UNTIL].len);

        if (until != NGX_ERROR && ngx_time() < until) {
            to = NGX_HTTP_WEBHOOK_REG_SECRET_PREV;
        }
    }

    if (ngx_array_init(&reg->secrets, r->pool, 2,
                       sizeof(ngx_http_webhook_secret_t))
        != NGX_OK)
    {
        return NGX_HTTP_WEBHOOK_NREASONS;
    }

    for (i = from; i <= to; i++) {
        if (fields[i].len == 0) {
            continue;
        }

        rc = ngx_http_webhook_key_material(scheme, r->pool, &fields[i],
                                           &material);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "webhook: registration \"%V\": %s is not a valid "
                          "whsec_<base64> secret for scheme \"%V\"",
                          &reg->id, ngx_http_webhook_reg_fields[i],
                          &scheme->name);
            continue;
        }

        s = ngx_array_push(&reg->secrets);
        if (s == NULL) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        ngx_memzero(s, sizeof(ngx_http_webhook_secret_t));
        s->raw = fields[i];

        s->key = ngx_palloc(r->pool, sizeof(ngx_http_webhook_hmac_key_t));
        if (s->key == NULL) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        ngx_http_webhook_hmac_key_init(s->key, scheme->alg, material.data,
                                       material.len);
    }

    if (reg->secrets.nelts == 0) {
        ctx->detail = "registration has no usable secret";
        return NGX_HTTP_WEBHOOK_REGISTRATION_DISABLED;
    }

    ctx->scheme = scheme;
    ctx->secrets = &reg->secrets;

    return NGX_HTTP_WEBHOOK_OK;
}


/*
 * Redis could not say: an expired entry is used under "local" and
 * "accept" (a registry delivery is never let through unverified: with
 * no entry there is no secret to verify with), else 503.
 */

static ngx_http_webhook_reason_e
ngx_http_webhook_registry_down(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reg_t *stale,
    ngx_str_t *fields, const char *why)
{
    ngx_http_webhook_loc_conf_t  *wlcf;
    ngx_http_webhook_reg_zone_t  *z;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    z = ngx_http_webhook_reg->zone->data;

    ngx_http_webhook_count(wlcf, NGX_HTTP_WEBHOOK_C_FALLBACK
                                 + wlcf->redis_down);

    if (stale && wlcf->redis_down != NGX_HTTP_WEBHOOK_REDIS_DOWN_REJECT) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "webhook: redis unavailable (%s): registration \"%V\" "
                      "verified with its expired cache entry "
                      "(webhook_redis_down %s), label \"%V\"", why,
                      &stale->id,
                      wlcf->redis_down == NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL
                      ? "local" : "accept", &wlcf->label->name);

        (void) ngx_atomic_fetch_add(&z->sh->stale_used, 1);
        stale->stale = 1;

        return ngx_http_webhook_registry_use(r, ctx, stale, fields);
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "webhook: redis unavailable (%s): the registration cannot "
                  "be read, the request is refused with 503, label \"%V\"",
                  why, &wlcf->label->name);

    (void) ngx_atomic_fetch_add(&z->sh->unavailable, 1);

    ctx->detail = stale ? "registry unavailable, webhook_redis_down reject"
                        : "registry unavailable and no cached entry";

    return NGX_HTTP_WEBHOOK_STORE_UNAVAILABLE;
}


/* the HMGET's answer: into the cache, then to the request if it waits */

static void
ngx_http_webhook_registry_reply(void *r, void *data)
{
    redisReply                     *reply = r;
    ngx_http_webhook_reg_waiter_t  *w = data;

    ngx_http_request_t         *req;
    ngx_http_webhook_ctx_t     *ctx;
    ngx_http_webhook_reason_e   reason;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    if (ngx_http_webhook_reg == NULL || ngx_http_webhook_reg->exiting) {
        ngx_free(w);
        return;
    }

    if (reply && (reply->type != REDIS_REPLY_ARRAY
                  || reply->elements != NGX_HTTP_WEBHOOK_REG_FIELDS))
    {
        ngx_log_error(NGX_LOG_WARN, ngx_http_webhook_reg->log, 0,
                      "webhook: registry HMGET answered %s",
                      reply->type == REDIS_REPLY_ERROR ? reply->str
                                                       : "no array of 8");
        reply = NULL;
    }

    if (reply) {
        ngx_http_webhook_registry_store(w, reply);
    }

    req = w->request;

    if (req == NULL || w->decided) {
        ngx_free(w);
        return;
    }

    ctx = ngx_http_webhook_get_ctx(req);
    ctx->reg_waiter = NULL;

    if (reply == NULL) {
        reason = ngx_http_webhook_registry_down(req, ctx, w->stale,
                                                w->stale_fields,
                                                "error or connection lost");

    } else {
        reason = ngx_http_webhook_registry_answer(req, ctx, w, reply);
    }

    ngx_free(w);

    ngx_http_webhook_registry_resume(req, reason);
}


static ngx_http_webhook_reason_e
ngx_http_webhook_registry_answer(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reg_waiter_t *w,
    redisReply *reply)
{
    ngx_str_t                fields[NGX_HTTP_WEBHOOK_REG_FIELDS];
    ngx_uint_t               i, nil;
    redisReply              *e;
    ngx_http_webhook_reg_t  *reg;

    nil = 1;

    for (i = 0; i < NGX_HTTP_WEBHOOK_REG_FIELDS; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            ngx_str_null(&fields[i]);
            continue;
        }

        nil = 0;

        fields[i].data = ngx_pnalloc(r->pool, e->len + 1);
        if (fields[i].data == NULL) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        ngx_memcpy(fields[i].data, e->str, e->len);
        fields[i].len = e->len;
    }

    if (nil) {
        ctx->detail = "no such registration";
        return NGX_HTTP_WEBHOOK_UNKNOWN_REGISTRATION;
    }

    reg = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_reg_t));
    if (reg == NULL) {
        return NGX_HTTP_WEBHOOK_NREASONS;
    }

    reg->id.data = ngx_pnalloc(r->pool, w->id_len);
    if (reg->id.data == NULL) {
        return NGX_HTTP_WEBHOOK_NREASONS;
    }

    ngx_memcpy(reg->id.data, w->id, w->id_len);
    reg->id.len = w->id_len;

    return ngx_http_webhook_registry_use(r, ctx, reg, fields);
}


/* an answer goes into the zone, a request waits for it or not */

static void
ngx_http_webhook_registry_store(ngx_http_webhook_reg_waiter_t *w,
    redisReply *reply)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    i, nil;
    redisReply                   *e;
    ngx_http_webhook_reg_node_t  *node;
    ngx_http_webhook_reg_zone_t  *z;

    nil = 1;
    len = 0;

    for (i = 0; i < NGX_HTTP_WEBHOOK_REG_FIELDS; i++) {
        e = reply->element[i];
        len += 2;

        if (e->type == REDIS_REPLY_STRING) {
            if (e->len > NGX_HTTP_WEBHOOK_REG_FIELD_MAX) {
                return;                 /* used, never cached */
            }

            nil = 0;
            len += e->len;
        }
    }

    z = ngx_http_webhook_reg->zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    node = ngx_http_webhook_registry_node(z, w->id, w->id_len);
    if (node == NULL) {
        goto done;
    }

    if (node->data) {
        ngx_slab_free_locked(z->shpool, node->data);
        node->data = NULL;
        node->len = 0;
    }

    node->rev = w->rev;
    node->expire = ngx_current_msec + ngx_http_webhook_reg->ttl;

    if (nil) {
        node->state = NGX_HTTP_WEBHOOK_REG_NEGATIVE;
        goto done;
    }

    node->data = ngx_http_webhook_registry_alloc(z, len, node);
    if (node->data == NULL) {
        node->state = NGX_HTTP_WEBHOOK_REG_KNOWN;
        goto done;
    }

    p = node->data;

    for (i = 0; i < NGX_HTTP_WEBHOOK_REG_FIELDS; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            *p++ = 0xff;
            *p++ = 0xff;
            continue;
        }

        *p++ = (u_char) (e->len >> 8);
        *p++ = (u_char) (e->len & 0xff);
        p = ngx_cpymem(p, e->str, e->len);
    }

    node->len = len;
    node->state = NGX_HTTP_WEBHOOK_REG_LOADED;

done:

    ngx_shmtx_unlock(&z->shpool->mutex);
}


static void
ngx_http_webhook_registry_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_reg_waiter_t  *w = ev->data;

    ngx_http_request_t         *r;
    ngx_http_webhook_ctx_t     *ctx;
    ngx_http_webhook_reason_e   reason;

    r = w->request;

    if (r == NULL || w->decided) {
        return;
    }

    /* the waiter stays for hiredis's late reply, which frees it */
    w->decided = 1;

    ctx = ngx_http_webhook_get_ctx(r);
    ctx->reg_waiter = NULL;

    ngx_http_webhook_redis_timed_out();

    reason = ngx_http_webhook_registry_down(r, ctx, w->stale, w->stale_fields,
                                            "timeout");

    ngx_http_webhook_registry_resume(r, reason);
}


/* back to the access phase, as limit_req's delay does */

static void
ngx_http_webhook_registry_resume(ngx_http_request_t *r,
    ngx_http_webhook_reason_e reason)
{
    ngx_connection_t        *c;
    ngx_http_webhook_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_webhook_get_ctx(r);

    ctx->looking_up = 0;
    ctx->looked_up = 1;
    ctx->reason = reason;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* the request ends while Redis has not answered */

void
ngx_http_webhook_registry_cancel(ngx_http_webhook_ctx_t *ctx)
{
    ngx_http_webhook_reg_waiter_t  *w;

    w = ctx->reg_waiter;

    if (w == NULL) {
        return;
    }

    ctx->reg_waiter = NULL;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    w->request = NULL;
    w->stale = NULL;
}


/*
 * reg:rev, polled by one worker at a time at most once a TTL (the zone
 * says when the next poll is due); when it changed, reg:ids is read
 * again and every cached entry is stale.
 */

static void
ngx_http_webhook_registry_poll(ngx_event_t *ev)
{
    ngx_http_webhook_reg_process_t  *p = ev->data;

    ngx_uint_t                    due;
    ngx_http_webhook_reg_zone_t  *z;

    if (p->exiting) {
        return;
    }

    ngx_add_timer(&p->poll_timer, ngx_min(p->ttl, 1000));

    if (p->polling) {
        return;
    }

    z = p->zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    due = (ngx_msec_int_t) (ngx_current_msec - z->sh->next_poll) >= 0
          || z->sh->next_poll == 0;

    if (due) {
        z->sh->next_poll = ngx_current_msec + p->ttl;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (!due) {
        return;
    }

    if (ngx_http_webhook_registry_send(p, "GET", "reg:rev",
                                       ngx_http_webhook_registry_rev_reply)
        == NGX_OK)
    {
        p->polling = 1;
        (void) ngx_atomic_fetch_add(&z->sh->polls, 1);
    }
}


/* CMD PREFIX what: the poll's two commands */

static ngx_int_t
ngx_http_webhook_registry_send(ngx_http_webhook_reg_process_t *p,
    const char *cmd, const char *what, ngx_http_webhook_redis_reply_pt handler)
{
    u_char       key[NGX_HTTP_WEBHOOK_REG_KEY_MAX];
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = cmd;
    argvlen[0] = ngx_strlen(cmd);
    argv[1] = (char *) key;
    argvlen[1] = ngx_http_webhook_registry_key(key, what, NULL, 0);

    return ngx_http_webhook_redis_command(handler, p, 2, argv, argvlen);
}


static void
ngx_http_webhook_registry_rev_reply(void *r, void *data)
{
    redisReply                      *reply = r;
    ngx_http_webhook_reg_process_t  *p = data;

    int64_t                       rev;
    ngx_uint_t                    changed;
    ngx_http_webhook_reg_zone_t  *z;

    p->polling = 0;

    if (reply == NULL || p->exiting) {
        return;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        rev = 0;

    } else if (reply->type == REDIS_REPLY_STRING) {
        rev = ngx_atoof((u_char *) reply->str, reply->len);

        if (rev < 0) {
            ngx_log_error(NGX_LOG_WARN, p->log, 0,
                          "webhook: registry reg:rev is not an integer");
            return;
        }

    } else {
        return;
    }

    z = p->zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);
    changed = (rev != z->sh->rev || !z->sh->ids_loaded);
    ngx_shmtx_unlock(&z->shpool->mutex);

    if (!changed) {
        return;
    }

    if (ngx_http_webhook_registry_send(p, "SMEMBERS", "reg:ids",
                                       ngx_http_webhook_registry_ids_reply)
        == NGX_OK)
    {
        p->polling = 1;
        p->polled_rev = rev;
    }
}


static void
ngx_http_webhook_registry_ids_reply(void *r, void *data)
{
    redisReply                      *reply = r;
    ngx_http_webhook_reg_process_t  *p = data;

    size_t                        i;
    uint32_t                      gen;
    ngx_str_t                     id;
    ngx_uint_t                    complete, n;
    redisReply                   *e;
    ngx_queue_t                  *q, *prev;
    ngx_http_webhook_reg_node_t  *node;
    ngx_http_webhook_reg_zone_t  *z;

    p->polling = 0;

    if (reply == NULL || p->exiting || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    z = p->zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    gen = ++z->sh->ids_gen;
    complete = 1;
    n = 0;

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }

        id.data = (u_char *) e->str;
        id.len = e->len;

        if (ngx_http_webhook_registry_valid_id(&id) != NGX_OK) {
            continue;
        }

        node = ngx_http_webhook_registry_node(z, id.data, id.len);
        if (node == NULL) {
            complete = 0;
            continue;
        }

        node->ids_gen = gen;
        n++;
    }

    /* ids no longer in the set, never read: nothing to keep them for */

    for (q = ngx_queue_last(&z->sh->lru);
         q != ngx_queue_sentinel(&z->sh->lru);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        node = ngx_queue_data(q, ngx_http_webhook_reg_node_t, queue);

        if (node->state == NGX_HTTP_WEBHOOK_REG_KNOWN
            && node->ids_gen != gen)
        {
            ngx_http_webhook_registry_delete(z, node);
        }
    }

    if (!complete && z->sh->ids_complete) {
        ngx_log_error(NGX_LOG_WARN, p->log, 0,
                      "webhook: registry zone too small for the %uz ids of "
                      "reg:ids: unknown ids are answered from negative "
                      "entries until it fits", reply->elements);
    }

    z->sh->ids_complete = complete;
    z->sh->ids_loaded = 1;
    z->sh->ids = n;
    z->sh->rev = p->polled_rev;

    ngx_shmtx_unlock(&z->shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, p->log, 0,
                   "webhook: registry rev %L, %ui ids", p->polled_rev, n);
}


/*
 * The event type as the registration's provider names it (README's
 * table); the body is parsed only when a list has to be checked.
 */

ngx_http_webhook_reason_e
ngx_http_webhook_registry_event(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    u_char                  *p;
    json_t                  *root, *obj, *f, *g;
    ngx_int_t                rc;
    ngx_str_t                type, name, body, *scheme;
    ngx_uint_t               any, salesforce;
    ngx_http_webhook_reg_t  *reg;

    reg = ctx->reg;
    scheme = &ctx->scheme->name;
    any = (reg->events.len == 1 && reg->events.data[0] == '*');

    ngx_str_null(&type);
    ngx_str_null(&name);

    if (scheme->len == 6 && ngx_strncmp(scheme->data, "github", 6) == 0) {
        ngx_str_set(&name, "x-github-event");

    } else if (scheme->len == 7
               && ngx_strncmp(scheme->data, "shopify", 7) == 0)
    {
        ngx_str_set(&name, "x-shopify-topic");

    } else if (scheme->len == 11
               && ngx_strncmp(scheme->data, "woocommerce", 11) == 0)
    {
        ngx_str_set(&name, "x-wc-webhook-topic");
    }

    if (name.len) {
        (void) ngx_http_webhook_header(r, &name, &type);
        goto check;
    }

    if (any) {
        goto check;
    }

    salesforce = (scheme->len == 10
                  && ngx_strncmp(scheme->data, "salesforce", 10) == 0);

    /*
     * A scan for the one member, not a parse of the whole body: jansson
     * takes about 12 ns a byte. What the scan does not settle (an escape,
     * a duplicate member, unexpected syntax) jansson decides; Salesforce's
     * body is parsed for its signed fields anyway.
     */

    if (!salesforce && !ctx->body_parsed) {
        if (ngx_http_webhook_body_flat(r, &body) != NGX_OK) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        rc = ngx_http_webhook_registry_scan_type(&body,
                 scheme->len == 5
                 && ngx_strncmp(scheme->data, "slack", 5) == 0,
                 &type);

        if (rc != NGX_AGAIN) {
            goto check;
        }

        ngx_str_null(&type);
    }

    {
        root = ngx_http_webhook_body_json(r, ctx);
        f = NULL;

        if (root == NULL) {
            /* not JSON: no event type */

        } else if (salesforce) {
            obj = json_object_get(root, "sobject");
            f = obj && json_is_object(obj) ? json_object_get(obj, "name")
                                           : NULL;
            g = json_object_get(root, "action");

            if (f && g && json_is_string(f) && json_is_string(g)) {
                type.len = json_string_length(f) + 1 + json_string_length(g);
                type.data = ngx_pnalloc(r->pool, type.len);
                if (type.data == NULL) {
                    return NGX_HTTP_WEBHOOK_NREASONS;
                }

                p = ngx_cpymem(type.data, json_string_value(f),
                               json_string_length(f));
                *p++ = '.';
                ngx_memcpy(p, json_string_value(g), json_string_length(g));
            }

            f = NULL;

        } else if (scheme->len == 5
                   && ngx_strncmp(scheme->data, "slack", 5) == 0)
        {
            obj = json_object_get(root, "event");
            f = obj ? (json_is_object(obj) ? json_object_get(obj, "type")
                                           : NULL)
                    : json_object_get(root, "type");

        } else {
            /* stripe, standard, notion */
            f = json_object_get(root, "type");
        }

        if (f && json_is_string(f)) {
            type.data = (u_char *) json_string_value(f);
            type.len = json_string_length(f);
        }
    }

check:

    /* it goes into $webhook_event_type, and from there into a header */

    if (type.len && ngx_http_webhook_printable_token(&type, 256) != NGX_OK) {
        ngx_str_null(&type);
    }

    reg->event_type = type;

    if (any) {
        return NGX_HTTP_WEBHOOK_OK;
    }

    if (type.len == 0) {
        ctx->detail = "no event type in the delivery";
        return NGX_HTTP_WEBHOOK_EVENT_NOT_REGISTERED;
    }

    if (ngx_http_webhook_registry_event_listed(&reg->events, &type)
        != NGX_OK)
    {
        ctx->detail = "event type not among the registration's events";
        return NGX_HTTP_WEBHOOK_EVENT_NOT_REGISTERED;
    }

    return NGX_HTTP_WEBHOOK_OK;
}


/*
 * The event type of a body that names it in "type" (or Slack's
 * "event"."type", "type" when there is no "event"): NGX_OK, NGX_DECLINED
 * (no such string member), NGX_AGAIN (jansson must decide). The rest of
 * the body is skipped, not validated: it is the registered sender's own,
 * verified just before.
 */

ngx_int_t
ngx_http_webhook_registry_scan_type(ngx_str_t *body, ngx_uint_t slack,
    ngx_str_t *type)
{
    u_char     *v, *e, *last;
    ngx_int_t   rc;
    ngx_str_t   name;

    last = body->data + body->len;

    if (body->len == 0) {
        return NGX_DECLINED;
    }

    if (slack) {
        ngx_str_set(&name, "event");

        rc = ngx_http_webhook_json_member(body->data, last, &name, &v, &e);

        if (rc == NGX_OK) {
            if (*v != '{') {
                return NGX_DECLINED;
            }

            body->data = v;
            last = e;

        } else if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    ngx_str_set(&name, "type");

    rc = ngx_http_webhook_json_member(body->data, last, &name, &v, &e);
    if (rc != NGX_OK) {
        return rc;
    }

    if (*v != '"') {
        return NGX_DECLINED;
    }

    if (ngx_strlchr(v + 1, e - 1, '\\')) {
        return NGX_AGAIN;
    }

    type->data = v + 1;
    type->len = (e - 1) - (v + 1);

    return NGX_OK;
}


#define ngx_http_webhook_json_ws(c)                                          \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')


static u_char *
ngx_http_webhook_json_skip_ws(u_char *p, u_char *last)
{
    while (p < last && ngx_http_webhook_json_ws(*p)) {
        p++;
    }

    return p;
}


/* one member of the object at p, by name: its value's span */

static ngx_int_t
ngx_http_webhook_json_member(u_char *p, u_char *last, ngx_str_t *name,
    u_char **value, u_char **end)
{
    u_char      *k, *ke, *v, *ve;
    ngx_uint_t   found, escaped;

    found = 0;

    p = ngx_http_webhook_json_skip_ws(p, last);

    if (p == last || *p++ != '{') {
        return NGX_AGAIN;
    }

    p = ngx_http_webhook_json_skip_ws(p, last);

    if (p < last && *p == '}') {
        p++;
        goto done;
    }

    for ( ;; ) {
        if (p == last || *p != '"') {
            return NGX_AGAIN;
        }

        escaped = 0;
        k = p + 1;
        ke = ngx_http_webhook_json_skip_string(p, last, &escaped);

        if (ke == NULL || escaped) {
            /* an escaped name may spell the one looked for */
            return NGX_AGAIN;
        }

        p = ngx_http_webhook_json_skip_ws(ke, last);

        if (p == last || *p++ != ':') {
            return NGX_AGAIN;
        }

        p = ngx_http_webhook_json_skip_ws(p, last);

        v = p;
        ve = ngx_http_webhook_json_skip_value(v, last);

        if (ve == NULL) {
            return NGX_AGAIN;
        }

        if ((size_t) (ke - 1 - k) == name->len
            && ngx_strncmp(k, name->data, name->len) == 0)
        {
            if (found) {
                return NGX_AGAIN;       /* a duplicate: jansson refuses */
            }

            found = 1;
            *value = v;
            *end = ve;
        }

        p = ngx_http_webhook_json_skip_ws(ve, last);

        if (p < last && *p == ',') {
            p = ngx_http_webhook_json_skip_ws(p + 1, last);
            continue;
        }

        if (p < last && *p == '}') {
            p++;
            break;
        }

        return NGX_AGAIN;
    }

done:

    p = ngx_http_webhook_json_skip_ws(p, last);

    if (p != last) {
        return NGX_AGAIN;
    }

    return found ? NGX_OK : NGX_DECLINED;
}


/* past the string whose quote p is at; NULL: unterminated or raw control */

static u_char *
ngx_http_webhook_json_skip_string(u_char *p, u_char *last,
    ngx_uint_t *escaped)
{
    for (p++; p < last; p++) {

        if (*p == '"') {
            return p + 1;
        }

        if (*p == '\\') {
            *escaped = 1;
            p++;
            continue;
        }

        if (*p < 0x20) {
            return NULL;
        }
    }

    return NULL;
}


/* past one value: a string, a scalar, or a whole object or array */

static u_char *
ngx_http_webhook_json_skip_value(u_char *p, u_char *last)
{
    u_char      *s;
    ngx_uint_t   depth, escaped;

    if (p == last) {
        return NULL;
    }

    if (*p == '"') {
        return ngx_http_webhook_json_skip_string(p, last, &escaped);
    }

    if (*p != '{' && *p != '[') {
        for (s = p; p < last; p++) {
            if (*p == ',' || *p == '}' || *p == ']'
                || ngx_http_webhook_json_ws(*p))
            {
                break;
            }
        }

        return (p > s) ? p : NULL;
    }

    depth = 0;

    while (p < last) {

        switch (*p) {

        case '"':
            p = ngx_http_webhook_json_skip_string(p, last, &escaped);
            if (p == NULL) {
                return NULL;
            }

            continue;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                return p + 1;
            }

            break;
        }

        p++;
    }

    return NULL;
}


static ngx_int_t
ngx_http_webhook_registry_event_listed(ngx_str_t *events, ngx_str_t *type)
{
    u_char  *p, *last, *q, *s, *e;

    p = events->data;
    last = p + events->len;

    while (p < last) {
        q = ngx_strlchr(p, last, ',');
        if (q == NULL) {
            q = last;
        }

        s = p;
        e = q;

        while (s < e && *s == ' ') {
            s++;
        }

        while (e > s && e[-1] == ' ') {
            e--;
        }

        if ((size_t) (e - s) == type->len
            && ngx_strncmp(s, type->data, type->len) == 0)
        {
            return NGX_OK;
        }

        p = q + 1;
    }

    return NGX_DECLINED;
}


/* PREFIX what [id] */

static size_t
ngx_http_webhook_registry_key(u_char *buf, const char *what, u_char *id,
    size_t len)
{
    u_char                         *p;
    ngx_http_webhook_redis_conf_t  *rc;

    rc = ngx_http_webhook_reg->redis;

    p = ngx_cpymem(buf, rc->prefix.data, rc->prefix.len);
    p = ngx_cpymem(p, what, ngx_strlen(what));
    p = ngx_cpymem(p, id, len);

    return p - buf;
}


/*
 * A registry request's outcome, counted in this worker for the next
 * batch; ids not known (404) are never counted.
 */

void
ngx_http_webhook_registry_record(ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason)
{
    time_t                           now, minute;
    ngx_uint_t                       i;
    ngx_http_webhook_reg_t          *reg;
    ngx_http_webhook_reg_stat_t     *st;
    ngx_http_webhook_reg_zone_t     *z;
    ngx_http_webhook_reg_process_t  *p;

    p = ngx_http_webhook_reg;
    reg = ctx->reg;

    if (p == NULL || reg == NULL || reason >= NGX_HTTP_WEBHOOK_NREASONS
        || reason == NGX_HTTP_WEBHOOK_UNKNOWN_REGISTRATION)
    {
        return;
    }

    now = ngx_time();
    minute = now / 60;

    for (i = 0; i < p->nstats; i++) {
        st = &p->stats[i];

        if (st->reason == reason && st->minute == minute
            && st->id_len == reg->id.len
            && ngx_strncmp(st->id, reg->id.data, reg->id.len) == 0)
        {
            st->n++;
            st->last = now;
            return;
        }
    }

    if (p->nstats == NGX_HTTP_WEBHOOK_REG_STATS) {
        z = p->zone->data;
        (void) ngx_atomic_fetch_add(&z->sh->stats_dropped, 1);
        return;
    }

    st = &p->stats[p->nstats++];

    ngx_memcpy(st->id, reg->id.data, reg->id.len);
    st->id_len = reg->id.len;
    st->minute = minute;
    st->last = now;
    st->reason = reason;
    st->n = 1;

    if (!p->flush_timer.timer_set && !p->exiting) {
        ngx_add_timer(&p->flush_timer, NGX_HTTP_WEBHOOK_REG_FLUSH);
    }
}


/*
 * One pipelined batch, no reply waited for: HINCRBY + EXPIRE per
 * (id, minute, field), HSET reglast per id with its latest outcomes.
 * With Redis down the counts are dropped, and counted as dropped.
 */

static void
ngx_http_webhook_registry_flush(ngx_event_t *ev)
{
    ngx_http_webhook_reg_process_t  *p = ev->data;

    u_char                        key[NGX_HTTP_WEBHOOK_REG_KEY_MAX];
    u_char                        num[NGX_INT64_LEN], t1[NGX_INT64_LEN];
    u_char                        t2[NGX_INT64_LEN];
    size_t                        argvlen[7];
    time_t                        pass, fail;
    ngx_str_t                    *field;
    ngx_uint_t                    i, j, sent, dropped, last_reason, argc;
    const char                   *argv[7];
    ngx_http_webhook_reg_stat_t  *st, *o;
    ngx_http_webhook_reg_zone_t  *z;

    z = p->zone->data;
    sent = 0;
    dropped = 0;

    for (i = 0; i < p->nstats; i++) {
        st = &p->stats[i];
        field = &ngx_http_webhook_counter_names[st->reason];

        argv[0] = "HINCRBY";
        argvlen[0] = 7;
        argv[1] = (char *) key;
        argvlen[1] = ngx_http_webhook_registry_key(key, "regstat:", st->id,
                                                   st->id_len);
        argvlen[1] += ngx_sprintf(key + argvlen[1], ":%T", st->minute)
                      - (key + argvlen[1]);
        argv[2] = (char *) field->data;
        argvlen[2] = field->len;
        argv[3] = (char *) num;
        argvlen[3] = ngx_sprintf(num, "%ui", st->n) - num;

        if (ngx_http_webhook_redis_command(
                ngx_http_webhook_registry_stat_reply, p, 4, argv, argvlen)
            != NGX_OK)
        {
            dropped++;
            continue;
        }

        argv[0] = "EXPIRE";
        argvlen[0] = 6;
        argv[2] = "7200";
        argvlen[2] = 4;

        (void) ngx_http_webhook_redis_command(
                   ngx_http_webhook_registry_stat_reply, p, 3, argv, argvlen);
        sent++;

        /* reglast once per id: its latest pass and its latest failure */

        for (j = 0; j < i; j++) {
            o = &p->stats[j];

            if (o->id_len == st->id_len
                && ngx_strncmp(o->id, st->id, st->id_len) == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        pass = 0;
        fail = 0;
        last_reason = 0;

        for (j = i; j < p->nstats; j++) {
            o = &p->stats[j];

            if (o->id_len != st->id_len
                || ngx_strncmp(o->id, st->id, st->id_len) != 0)
            {
                continue;
            }

            if (o->reason == NGX_HTTP_WEBHOOK_OK) {
                pass = ngx_max(pass, o->last);

            } else if (o->last >= fail) {
                fail = o->last;
                last_reason = o->reason;
            }
        }

        argv[0] = "HSET";
        argvlen[0] = 4;
        argvlen[1] = ngx_http_webhook_registry_key(key, "reglast:", st->id,
                                                   st->id_len);
        argc = 2;

        if (pass) {
            argv[argc] = "last_event_at";
            argvlen[argc++] = 13;
            argv[argc] = (char *) t1;
            argvlen[argc++] = ngx_sprintf(t1, "%T", pass) - t1;
        }

        if (fail) {
            argv[argc] = "last_failure_at";
            argvlen[argc++] = 15;
            argv[argc] = (char *) t2;
            argvlen[argc++] = ngx_sprintf(t2, "%T", fail) - t2;
            argv[argc] = "last_reason";
            argvlen[argc++] = 11;
            argv[argc] = (char *) ngx_http_webhook_reasons[last_reason]
                                      .name.data;
            argvlen[argc++] = ngx_http_webhook_reasons[last_reason].name.len;
        }

        (void) ngx_http_webhook_redis_command(
                   ngx_http_webhook_registry_stat_reply, p, argc, argv,
                   argvlen);
    }

    if (sent) {
        (void) ngx_atomic_fetch_add(&z->sh->stats_sent, sent);
    }

    if (dropped) {
        (void) ngx_atomic_fetch_add(&z->sh->stats_dropped, dropped);
    }

    p->nstats = 0;
}


static void
ngx_http_webhook_registry_stat_reply(void *r, void *data)
{
    redisReply                      *reply = r;
    ngx_http_webhook_reg_process_t  *p = data;

    ngx_http_webhook_reg_zone_t  *z;

    if (ngx_http_webhook_reg == NULL || (reply && reply->type
                                                  != REDIS_REPLY_ERROR))
    {
        return;
    }

    z = p->zone->data;
    (void) ngx_atomic_fetch_add(&z->sh->stats_errors, 1);
}


/* the status page's "registry" object */

u_char *
ngx_http_webhook_registry_report(ngx_shm_zone_t *zone, u_char *p,
    u_char *last)
{
    int64_t                       rev;
    ngx_uint_t                    nodes, ids, complete;
    ngx_http_webhook_reg_zone_t  *z;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);
    rev = z->sh->rev;
    nodes = z->sh->nodes;
    ids = z->sh->ids;
    complete = z->sh->ids_loaded && z->sh->ids_complete;
    ngx_shmtx_unlock(&z->shpool->mutex);

    return ngx_slprintf(p, last,
                        "{\"zone\":\"%V\",\"rev\":%L,\"entries\":%ui,"
                        "\"ids\":%ui,\"ids_complete\":%s,\"hits\":%uA,"
                        "\"reads\":%uA,\"unknown_from_ids\":%uA,"
                        "\"unknown_cached\":%uA,\"stale_used\":%uA,"
                        "\"unavailable\":%uA,\"polls\":%uA,"
                        "\"evicted\":%uA,\"stats_sent\":%uA,"
                        "\"stats_dropped\":%uA,\"stats_errors\":%uA}",
                        &zone->shm.name, rev, nodes, ids,
                        complete ? "true" : "false",
                        z->sh->hits, z->sh->reads, z->sh->unknown_set,
                        z->sh->unknown_cached, z->sh->stale_used,
                        z->sh->unavailable, z->sh->polls, z->sh->evicted,
                        z->sh->stats_sent, z->sh->stats_dropped,
                        z->sh->stats_errors);
}

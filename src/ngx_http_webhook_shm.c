
/*
 * Copyright (C) webhook edge authors
 *
 * webhook_zone: the local replay store and the per-label counters, in
 * shared memory used by every worker and kept across reloads.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"


typedef struct ngx_http_webhook_entry_s  ngx_http_webhook_entry_t;

struct ngx_http_webhook_entry_s {
    ngx_http_webhook_entry_t     *next;     /* in its hash bucket */
    ngx_queue_t                   queue;
    ngx_msec_t                    expire;
    uint64_t                      token;
    ngx_uint_t                    kept;
    u_char                        key[NGX_HTTP_WEBHOOK_KEY_LEN];
};


typedef struct ngx_http_webhook_shm_label_s  ngx_http_webhook_shm_label_t;

struct ngx_http_webhook_shm_label_s {
    ngx_http_webhook_shm_label_t *next;
    ngx_http_webhook_counters_t   counters;
    size_t                        len;
    u_char                        name[NGX_HTTP_WEBHOOK_LABEL_LEN];
};


/*
 * Keys are SHA-256 digests, uniformly spread: a hash table indexed by their
 * first bytes finds one in a bucket read and an entry read, where a tree
 * of a million keys costs some twenty cache misses per descent.
 */

typedef struct {
    ngx_http_webhook_entry_t    **buckets;
    ngx_uint_t                    mask;     /* buckets - 1, a power of 2 */
    ngx_queue_t                   queue;    /* most recent first */
    ngx_uint_t                    entries;
    ngx_uint_t                    evicted;
    ngx_msec_t                    alerted;  /* last "is full" alert */
    ngx_http_webhook_shm_label_t *labels;
} ngx_http_webhook_shctx_t;


typedef struct {
    ngx_http_webhook_shctx_t     *sh;
    ngx_slab_pool_t              *shpool;
    ngx_array_t                  *labels;   /* this cycle's labels */
} ngx_http_webhook_zone_ctx_t;


static ngx_int_t ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_webhook_bind_labels(
    ngx_http_webhook_zone_ctx_t *ctx);
static ngx_http_webhook_entry_t **ngx_http_webhook_bucket(
    ngx_http_webhook_shctx_t *sh, u_char *key);
static ngx_http_webhook_entry_t *ngx_http_webhook_lookup(
    ngx_http_webhook_shctx_t *sh, u_char *key);
static void ngx_http_webhook_delete(ngx_http_webhook_zone_ctx_t *ctx,
    ngx_http_webhook_entry_t *e);
static ngx_uint_t ngx_http_webhook_expire(ngx_http_webhook_zone_ctx_t *ctx,
    ngx_uint_t n, ngx_uint_t force);


ngx_shm_zone_t *
ngx_http_webhook_shm_add(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t                *zone;
    ngx_http_webhook_zone_ctx_t   *ctx;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_zone_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->labels = &wmcf->labels;

    zone = ngx_shared_memory_add(cf, name, size, &ngx_http_webhook_module);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_zone \"%V\" is already defined", name);
        return NULL;
    }

    zone->init = ngx_http_webhook_init_zone;
    zone->data = ctx;

    return zone;
}


static ngx_int_t
ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_webhook_zone_ctx_t  *octx = data;

    size_t                        len;
    ngx_uint_t                    n;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* reload: the replay keys and counters carry on */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return ngx_http_webhook_bind_labels(ctx);
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return ngx_http_webhook_bind_labels(ctx);
    }

    ctx->sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_http_webhook_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(ctx->sh, sizeof(ngx_http_webhook_shctx_t));
    ctx->shpool->data = ctx->sh;

    /*
     * one bucket per 256 bytes of zone: an entry takes a 128-byte slab
     * chunk, so a full zone keeps its chains at half an entry on average
     */

    n = 1;

    while (n < shm_zone->shm.size / 256) {
        n <<= 1;
    }

    ctx->sh->buckets = ngx_slab_calloc(ctx->shpool,
                                       n * sizeof(ngx_http_webhook_entry_t *));
    if (ctx->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    ctx->sh->mask = n - 1;
    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in webhook_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in webhook_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* exhaustion is handled (and logged) by eviction below */
    ctx->shpool->log_nomem = 0;

    return ngx_http_webhook_bind_labels(ctx);
}


static ngx_int_t
ngx_http_webhook_bind_labels(ngx_http_webhook_zone_ctx_t *ctx)
{
    ngx_uint_t                     i;
    ngx_http_webhook_label_t     **labels;
    ngx_http_webhook_shm_label_t  *sl;

    labels = ctx->labels->elts;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < ctx->labels->nelts; i++) {

        for (sl = ctx->sh->labels; sl; sl = sl->next) {
            if (sl->len == labels[i]->name.len
                && ngx_strncmp(sl->name, labels[i]->name.data, sl->len) == 0)
            {
                break;
            }
        }

        if (sl == NULL) {
            sl = ngx_slab_calloc_locked(ctx->shpool,
                                        sizeof(ngx_http_webhook_shm_label_t));
            if (sl == NULL) {
                ngx_shmtx_unlock(&ctx->shpool->mutex);
                return NGX_ERROR;
            }

            sl->len = labels[i]->name.len;
            ngx_memcpy(sl->name, labels[i]->name.data, sl->len);

            /* appended, so the status page keeps the configured order */
            if (ctx->sh->labels == NULL) {
                ctx->sh->labels = sl;

            } else {
                ngx_http_webhook_shm_label_t  *tail;

                for (tail = ctx->sh->labels; tail->next; tail = tail->next) {
                    /* void */
                }

                tail->next = sl;
            }
        }

        labels[i]->counters = &sl->counters;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


static ngx_http_webhook_entry_t **
ngx_http_webhook_bucket(ngx_http_webhook_shctx_t *sh, u_char *key)
{
    uint64_t  hash;

    ngx_memcpy(&hash, key, sizeof(hash));

    return &sh->buckets[hash & sh->mask];
}


static ngx_http_webhook_entry_t *
ngx_http_webhook_lookup(ngx_http_webhook_shctx_t *sh, u_char *key)
{
    ngx_http_webhook_entry_t  *e;

    for (e = *ngx_http_webhook_bucket(sh, key); e; e = e->next) {
        if (ngx_memcmp(key, e->key, NGX_HTTP_WEBHOOK_KEY_LEN) == 0) {
            return e;
        }
    }

    return NULL;
}


static void
ngx_http_webhook_delete(ngx_http_webhook_zone_ctx_t *ctx,
    ngx_http_webhook_entry_t *e)
{
    ngx_http_webhook_entry_t  **pe;

    for (pe = ngx_http_webhook_bucket(ctx->sh, e->key); *pe != e;
         pe = &(*pe)->next)
    {
        /* void */
    }

    *pe = e->next;

    ngx_queue_remove(&e->queue);
    ngx_slab_free_locked(ctx->shpool, e);
    ctx->sh->entries--;
}


/* drops up to n expired entries from the tail; force drops live ones */

static ngx_uint_t
ngx_http_webhook_expire(ngx_http_webhook_zone_ctx_t *ctx, ngx_uint_t n,
    ngx_uint_t force)
{
    ngx_uint_t                 freed;
    ngx_queue_t               *q;
    ngx_http_webhook_entry_t  *e;

    freed = 0;

    while (n-- && !ngx_queue_empty(&ctx->sh->queue)) {
        q = ngx_queue_last(&ctx->sh->queue);
        e = ngx_queue_data(q, ngx_http_webhook_entry_t, queue);

        if (!force && (ngx_msec_int_t) (e->expire - ngx_current_msec) > 0) {
            break;
        }

        if (force) {
            ctx->sh->evicted++;
        }

        ngx_http_webhook_delete(ctx, e);
        freed++;
    }

    return freed;
}


ngx_int_t
ngx_http_webhook_shm_reserve(ngx_shm_zone_t *zone, u_char *key,
    ngx_msec_t ttl, uint64_t token)
{
    ngx_http_webhook_entry_t     *e, **bucket;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ngx_http_webhook_expire(ctx, 2, 0);

    e = ngx_http_webhook_lookup(ctx->sh, key);

    if (e) {
        if ((ngx_msec_int_t) (e->expire - ngx_current_msec) > 0) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }

        /* expired but not yet collected: take it over */
        ngx_queue_remove(&e->queue);
        goto fill;
    }

    e = ngx_slab_alloc_locked(ctx->shpool, sizeof(ngx_http_webhook_entry_t));

    if (e == NULL) {
        ngx_http_webhook_expire(ctx, 64, 0);
        e = ngx_slab_alloc_locked(ctx->shpool,
                                  sizeof(ngx_http_webhook_entry_t));
    }

    if (e == NULL) {
        /*
         * Full of live keys: the oldest goes. Its event is the one least
         * likely to be replayed inside its window; the alert says to
         * grow the zone.
         */
        if (ngx_http_webhook_expire(ctx, 1, 1)
            && ngx_current_msec - ctx->sh->alerted >= 1000)
        {
            /* once a second at most: a full zone stays full under load */
            ctx->sh->alerted = ngx_current_msec;

            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "webhook_zone \"%V\" is full: evicted the oldest "
                          "unexpired replay key (%ui so far); increase its "
                          "size", &zone->shm.name, ctx->sh->evicted);
        }

        e = ngx_slab_alloc_locked(ctx->shpool,
                                  sizeof(ngx_http_webhook_entry_t));
        if (e == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_ERROR;
        }
    }

    ngx_memcpy(e->key, key, NGX_HTTP_WEBHOOK_KEY_LEN);

    bucket = ngx_http_webhook_bucket(ctx->sh, key);
    e->next = *bucket;
    *bucket = e;

    ctx->sh->entries++;

fill:

    e->expire = ngx_current_msec + ttl;
    e->token = token;
    e->kept = 0;
    ngx_queue_insert_head(&ctx->sh->queue, &e->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


/* keep the key for the TTL, or release it: only if it is still ours */

void
ngx_http_webhook_shm_settle(ngx_shm_zone_t *zone, u_char *key,
    uint64_t token, ngx_msec_t ttl, ngx_uint_t keep)
{
    ngx_http_webhook_entry_t     *e;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    e = ngx_http_webhook_lookup(ctx->sh, key);

    if (e && e->token == token) {
        if (keep) {
            e->kept = 1;
            e->expire = ngx_current_msec + ttl;
            ngx_queue_remove(&e->queue);
            ngx_queue_insert_head(&ctx->sh->queue, &e->queue);

        } else {
            ngx_http_webhook_delete(ctx, e);
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


ngx_uint_t
ngx_http_webhook_shm_entries(ngx_shm_zone_t *zone, ngx_uint_t *evicted)
{
    ngx_uint_t                    n;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    n = ctx->sh->entries;
    *evicted = ctx->sh->evicted;
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}


ngx_int_t
ngx_http_webhook_shm_labels(ngx_shm_zone_t *zone,
    ngx_int_t (*each)(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c), void *data)
{
    ngx_str_t                      name;
    ngx_http_webhook_zone_ctx_t   *ctx;
    ngx_http_webhook_shm_label_t  *sl;

    ctx = zone->data;

    for (sl = ctx->sh->labels; sl; sl = sl->next) {
        name.data = sl->name;
        name.len = sl->len;

        if (each(data, &name, &sl->counters) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}

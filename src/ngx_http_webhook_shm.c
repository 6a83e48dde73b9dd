/*
 * Copyright (C) webhook edge authors
 *
 * webhook_zone: the local replay store and the per-label counters, in
 * shared memory used by every worker and kept across reloads.
 *
 * The store is cut into stripes by key: each stripe has its own lock, its
 * own hash buckets, its own entries (a fixed range of a preallocated
 * array, handed out in order and then through a free list) and its own
 * queues for expiry and eviction, one per TTL. A request takes one stripe's lock twice
 * (reserve, settle), for the index update only; nothing else is shared
 * between two requests for different stripes, and no slab allocator runs
 * on the request path. Expired keys are swept by a timer in each worker,
 * and by the stripe itself only when it has no free entry left.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"


#define NGX_HTTP_WEBHOOK_NONE          0         /* no entry: index 0 */
#define NGX_HTTP_WEBHOOK_MAX_STRIPES   64
#define NGX_HTTP_WEBHOOK_STRIPE_MIN    64        /* entries per stripe */
#define NGX_HTTP_WEBHOOK_SWEEP         1000      /* ms between sweeps */
#define NGX_HTTP_WEBHOOK_SWEEP_MAX     4096      /* per stripe and sweep */
#define NGX_HTTP_WEBHOOK_LINE          64
#define NGX_HTTP_WEBHOOK_QUEUES        4         /* TTL classes a stripe */


/* one cache line; entries are found by index, 0 is no entry */

typedef struct {
    u_char                        key[NGX_HTTP_WEBHOOK_KEY_LEN];
    uint64_t                      token;
    ngx_msec_t                    expire;
    uint32_t                      next;     /* in its bucket, or free */
    uint32_t                      newer;    /* the stripe's queue */
    uint32_t                      older;
    uint32_t                      queue;    /* its TTL class */
} ngx_http_webhook_entry_t;


/*
 * A stripe's entries wait for expiry in one queue per TTL (a location's
 * webhook_replay_ttl), so each queue is in expiry order and a short-TTL
 * key never waits behind a 24 h one; the first three TTLs the zone sees
 * have a queue each, any others share the fourth.
 */

typedef struct {
    uint32_t                      newest;
    uint32_t                      oldest;
} ngx_http_webhook_queue_t;


typedef struct {
    ngx_atomic_t                  lock;     /* the holder's pid, or 0 */
    uint32_t                      free;     /* freed entries */
    uint32_t                      unused;   /* next never used entry */
    uint32_t                      end;      /* past the stripe's range */
    uint32_t                      entries;
    uint64_t                      evicted;
    ngx_http_webhook_queue_t      queues[NGX_HTTP_WEBHOOK_QUEUES];
} ngx_http_webhook_stripe_t;


typedef struct ngx_http_webhook_shm_label_s  ngx_http_webhook_shm_label_t;

struct ngx_http_webhook_shm_label_s {
    ngx_http_webhook_shm_label_t *next;
    ngx_http_webhook_counters_t   counters;
    size_t                        len;
    u_char                        name[NGX_HTTP_WEBHOOK_LABEL_LEN];
};


/*
 * Keys are SHA-256 digests, uniformly spread: the first 8 bytes pick a
 * bucket, and the bucket's low bits its stripe, so a key and its bucket
 * chain belong to one stripe.
 */

typedef struct {
    ngx_http_webhook_stripe_t    *stripes;  /* each on its own line */
    uint32_t                     *buckets;
    ngx_http_webhook_entry_t     *entries;  /* entries[0] is never used */
    ngx_uint_t                    nstripes;
    ngx_uint_t                    mask;     /* buckets - 1, a power of 2 */
    ngx_uint_t                    capacity;
    ngx_atomic_t                  alerted;  /* last "is full" alert */
    ngx_atomic_t                  ttls[NGX_HTTP_WEBHOOK_QUEUES - 1];
    ngx_http_webhook_shm_label_t *labels;
} ngx_http_webhook_shctx_t;


typedef struct {
    ngx_http_webhook_shctx_t     *sh;
    ngx_slab_pool_t              *shpool;
    ngx_array_t                  *labels;   /* this cycle's labels */
    ngx_shm_zone_t               *zone;
} ngx_http_webhook_zone_ctx_t;


static ngx_int_t ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_webhook_layout(ngx_http_webhook_zone_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_bind_labels(
    ngx_http_webhook_zone_ctx_t *ctx);
static ngx_http_webhook_stripe_t *ngx_http_webhook_stripe(
    ngx_http_webhook_shctx_t *sh, u_char *key, uint32_t **bucket);
static void ngx_http_webhook_lock(ngx_http_webhook_stripe_t *st);
static uint32_t ngx_http_webhook_lookup(ngx_http_webhook_shctx_t *sh,
    uint32_t *bucket, u_char *key);
static uint32_t ngx_http_webhook_queue(ngx_http_webhook_shctx_t *sh,
    ngx_msec_t ttl);
static void ngx_http_webhook_enqueue(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i);
static void ngx_http_webhook_dequeue(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i);
static void ngx_http_webhook_delete(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i);
static ngx_uint_t ngx_http_webhook_expire(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, ngx_uint_t n, ngx_uint_t force);
static void ngx_http_webhook_sweep(ngx_event_t *ev);


/* this worker's expiry sweep; armed by its first reservation */
static ngx_event_t  ngx_http_webhook_sweep_event;


#define ngx_http_webhook_unlock(st)                                          \
    ngx_memory_barrier();                                                    \
    (st)->lock = 0



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

    ctx->zone = zone;

    zone->init = ngx_http_webhook_init_zone;
    zone->data = ctx;

    return zone;
}


static ngx_int_t
ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_webhook_zone_ctx_t  *octx = data;

    size_t                        len;
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

    ctx->sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_webhook_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    len = sizeof(" in webhook_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in webhook_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* exhaustion is handled (and logged) by eviction below */
    ctx->shpool->log_nomem = 0;

    if (ngx_http_webhook_layout(ctx) != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, ngx_cycle->log, 0,
                      "webhook_zone \"%V\" is too small for a replay store",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    return ngx_http_webhook_bind_labels(ctx);
}


/*
 * The zone's free pages, but for a few kept for the labels (a reload may
 * add some), go to one block: the stripes, the buckets (about one per two
 * entries) and the entries, 64 bytes each. Only the stripes and buckets
 * are written here; the entries' pages are first touched when a stripe
 * hands them out, in order.
 */

static ngx_int_t
ngx_http_webhook_layout(ngx_http_webhook_zone_ctx_t *ctx)
{
    u_char                     *p, *block;
    size_t                      size, head;
    ngx_uint_t                  i, pages, keep, nbuckets, cap, per;
    ngx_http_webhook_stripe_t  *st;
    ngx_http_webhook_shctx_t   *sh;

    sh = ctx->sh;

    /* a label takes a 512-byte chunk: 8 a page */
    keep = 2 + ctx->labels->nelts / 8 + ctx->shpool->pfree / 256;

    if (ctx->shpool->pfree <= keep) {
        return NGX_ERROR;
    }

    block = NULL;
    size = 0;

    for (pages = ctx->shpool->pfree - keep; pages > 0; pages--) {
        size = pages << ngx_pagesize_shift;
        block = ngx_slab_alloc(ctx->shpool, size);
        if (block) {
            break;
        }
    }

    if (block == NULL) {
        return NGX_ERROR;
    }

    /* 64 + 2 bytes an entry, then the buckets rounded up to a power of 2 */
    head = NGX_HTTP_WEBHOOK_MAX_STRIPES * sizeof(ngx_http_webhook_stripe_t)
           + 2 * NGX_HTTP_WEBHOOK_LINE;

    if (size < head + 4 * sizeof(ngx_http_webhook_entry_t)) {
        return NGX_ERROR;
    }

    cap = (size - head) / (sizeof(ngx_http_webhook_entry_t) + 2);

    nbuckets = 1;
    while (nbuckets < cap / 2) {
        nbuckets <<= 1;
    }

    cap = (size - head - nbuckets * sizeof(uint32_t))
          / sizeof(ngx_http_webhook_entry_t);

    if (cap > 0xfffffff0) {
        cap = 0xfffffff0;
    }

    /* at least NGX_HTTP_WEBHOOK_STRIPE_MIN entries a stripe */
    sh->nstripes = 1;
    while (sh->nstripes < NGX_HTTP_WEBHOOK_MAX_STRIPES
           && sh->nstripes * 2 <= nbuckets
           && cap / (sh->nstripes * 2) >= NGX_HTTP_WEBHOOK_STRIPE_MIN)
    {
        sh->nstripes <<= 1;
    }

    if (cap < 2) {
        return NGX_ERROR;
    }

    p = ngx_align_ptr(block, NGX_HTTP_WEBHOOK_LINE);

    /* a stripe (its lock) to a cache line: no two stripes share one */
    sh->stripes = (ngx_http_webhook_stripe_t *) p;
    p += NGX_HTTP_WEBHOOK_MAX_STRIPES * NGX_HTTP_WEBHOOK_LINE;

    sh->buckets = (uint32_t *) p;
    p += nbuckets * sizeof(uint32_t);

    /* entries[0] is "no entry": the array starts one entry early */
    p = ngx_align_ptr(p, NGX_HTTP_WEBHOOK_LINE);
    sh->entries = (ngx_http_webhook_entry_t *) p - 1;

    cap = ((block + size) - p) / sizeof(ngx_http_webhook_entry_t);

    sh->mask = nbuckets - 1;
    sh->capacity = cap;

    ngx_memzero(sh->stripes, NGX_HTTP_WEBHOOK_MAX_STRIPES
                             * NGX_HTTP_WEBHOOK_LINE);
    ngx_memzero(sh->buckets, nbuckets * sizeof(uint32_t));

    per = cap / sh->nstripes;

    for (i = 0; i < sh->nstripes; i++) {
        st = (ngx_http_webhook_stripe_t *)
                 ((u_char *) sh->stripes + i * NGX_HTTP_WEBHOOK_LINE);

        st->unused = 1 + i * per;
        st->end = (i == sh->nstripes - 1) ? cap + 1 : 1 + (i + 1) * per;
    }

    return NGX_OK;
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


#define ngx_http_webhook_stripe_at(sh, i)                                    \
    ((ngx_http_webhook_stripe_t *)                                           \
         ((u_char *) (sh)->stripes + (i) * NGX_HTTP_WEBHOOK_LINE))


static ngx_inline ngx_uint_t
ngx_http_webhook_bucket_of(ngx_http_webhook_shctx_t *sh, u_char *key)
{
    uint64_t  hash;

    ngx_memcpy(&hash, key, sizeof(hash));

    return hash & sh->mask;
}


static ngx_http_webhook_stripe_t *
ngx_http_webhook_stripe(ngx_http_webhook_shctx_t *sh, u_char *key,
    uint32_t **bucket)
{
    ngx_uint_t  b;

    b = ngx_http_webhook_bucket_of(sh, key);
    *bucket = &sh->buckets[b];

#if (defined __GNUC__)
    /*
     * The bucket is a random line of a large array, likely not cached:
     * its load runs while the stripe's lock is taken, not after.
     */
    __builtin_prefetch(*bucket, 0, 3);
#endif

    return ngx_http_webhook_stripe_at(sh, b & (sh->nstripes - 1));
}


/*
 * A spin lock held for an index update only. A holder that is not
 * running makes the others yield the CPU; one that died holding it
 * (it never should: nothing in the section can fail) is found by its
 * pid and the lock taken over, with an alert.
 */

static void
ngx_http_webhook_lock(ngx_http_webhook_stripe_t *st)
{
    ngx_uint_t        i, n;
    ngx_atomic_int_t  holder;

    if (st->lock == 0 && ngx_atomic_cmp_set(&st->lock, 0, ngx_pid)) {
        return;
    }

    for (n = 1; /* void */; n++) {

        if (ngx_ncpu > 1) {
            for (i = 0; i < 1024; i++) {
                ngx_cpu_pause();

                if (st->lock == 0 && ngx_atomic_cmp_set(&st->lock, 0, ngx_pid))
                {
                    return;
                }
            }
        }

        ngx_sched_yield();

        if (st->lock == 0 && ngx_atomic_cmp_set(&st->lock, 0, ngx_pid)) {
            return;
        }

        holder = st->lock;

        if (n % 1000 == 0 && holder != 0
            && kill((ngx_pid_t) holder, 0) == -1 && ngx_errno == NGX_ESRCH
            && ngx_atomic_cmp_set(&st->lock, holder, ngx_pid))
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "webhook_zone: process %P died holding a replay "
                          "store lock; taken over", (ngx_pid_t) holder);
            return;
        }
    }
}


static ngx_inline ngx_uint_t
ngx_http_webhook_key_eq(u_char *a, u_char *b)
{
    uint64_t    x[4], y[4];

    ngx_memcpy(x, a, sizeof(x));
    ngx_memcpy(y, b, sizeof(y));

    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]))
           == 0;
}


static uint32_t
ngx_http_webhook_lookup(ngx_http_webhook_shctx_t *sh, uint32_t *bucket,
    u_char *key)
{
    uint32_t  i;

    for (i = *bucket; i != NGX_HTTP_WEBHOOK_NONE; i = sh->entries[i].next) {
        if (ngx_http_webhook_key_eq(key, sh->entries[i].key)) {
            return i;
        }
    }

    return NGX_HTTP_WEBHOOK_NONE;
}


/* a TTL's queue: claimed by the first request with it, lock free */

static uint32_t
ngx_http_webhook_queue(ngx_http_webhook_shctx_t *sh, ngx_msec_t ttl)
{
    uint32_t      q;
    ngx_atomic_t  t;

    for (q = 0; q < NGX_HTTP_WEBHOOK_QUEUES - 1; q++) {
        t = sh->ttls[q];

        if (t == ttl) {
            return q;
        }

        if (t == 0
            && (ngx_atomic_cmp_set(&sh->ttls[q], 0, ttl) || sh->ttls[q] == ttl))
        {
            return q;
        }
    }

    return NGX_HTTP_WEBHOOK_QUEUES - 1;
}


static void
ngx_http_webhook_enqueue(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i)
{
    ngx_http_webhook_entry_t  *e;
    ngx_http_webhook_queue_t  *q;

    e = &sh->entries[i];
    q = &st->queues[e->queue];

    e->newer = NGX_HTTP_WEBHOOK_NONE;
    e->older = q->newest;

    if (q->newest != NGX_HTTP_WEBHOOK_NONE) {
        sh->entries[q->newest].newer = i;

    } else {
        q->oldest = i;
    }

    q->newest = i;
}


static void
ngx_http_webhook_dequeue(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i)
{
    ngx_http_webhook_entry_t  *e;
    ngx_http_webhook_queue_t  *q;

    e = &sh->entries[i];
    q = &st->queues[e->queue];

    if (e->newer != NGX_HTTP_WEBHOOK_NONE) {
        sh->entries[e->newer].older = e->older;

    } else {
        q->newest = e->older;
    }

    if (e->older != NGX_HTTP_WEBHOOK_NONE) {
        sh->entries[e->older].newer = e->newer;

    } else {
        q->oldest = e->newer;
    }
}


/* out of its bucket and the queue, onto the stripe's free list */

static void
ngx_http_webhook_delete(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, uint32_t i)
{
    uint32_t                  *pi;
    ngx_http_webhook_entry_t  *e;

    e = &sh->entries[i];

    (void) ngx_http_webhook_stripe(sh, e->key, &pi);

    while (*pi != i) {
        pi = &sh->entries[*pi].next;
    }

    *pi = e->next;

    ngx_http_webhook_dequeue(sh, st, i);

    e->next = st->free;
    st->free = i;
    st->entries--;
}


/*
 * Drops up to n expired entries, each queue's oldest first; force drops
 * the one live entry that expires soonest.
 */

static ngx_uint_t
ngx_http_webhook_expire(ngx_http_webhook_shctx_t *sh,
    ngx_http_webhook_stripe_t *st, ngx_uint_t n, ngx_uint_t force)
{
    uint32_t        i, q, victim;
    ngx_uint_t      freed;
    ngx_msec_int_t  left, least;

    freed = 0;

    if (force) {
        victim = NGX_HTTP_WEBHOOK_NONE;
        least = 0;

        for (q = 0; q < NGX_HTTP_WEBHOOK_QUEUES; q++) {
            i = st->queues[q].oldest;

            if (i == NGX_HTTP_WEBHOOK_NONE) {
                continue;
            }

            left = (ngx_msec_int_t) (sh->entries[i].expire - ngx_current_msec);

            if (victim == NGX_HTTP_WEBHOOK_NONE || left < least) {
                victim = i;
                least = left;
            }
        }

        if (victim == NGX_HTTP_WEBHOOK_NONE) {
            return 0;
        }

        st->evicted++;
        ngx_http_webhook_delete(sh, st, victim);

        return 1;
    }

    for (q = 0; q < NGX_HTTP_WEBHOOK_QUEUES; q++) {

        while (freed < n) {
            i = st->queues[q].oldest;

            if (i == NGX_HTTP_WEBHOOK_NONE
                || (ngx_msec_int_t) (sh->entries[i].expire - ngx_current_msec)
                   > 0)
            {
                break;
            }

            ngx_http_webhook_delete(sh, st, i);
            freed++;
        }
    }

    return freed;
}


/*
 * Off the request path: once a second each worker drops the expired
 * keys of every stripe (a stripe out of free entries also does it
 * itself). The timer does not hold up a worker's exit.
 */

static void
ngx_http_webhook_sweep(ngx_event_t *ev)
{
    ngx_uint_t                    i;
    ngx_http_webhook_stripe_t    *st;
    ngx_http_webhook_shctx_t     *sh;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = ev->data;
    sh = ctx->sh;

    for (i = 0; i < sh->nstripes; i++) {
        st = ngx_http_webhook_stripe_at(sh, i);

        if (st->entries == 0) {
            continue;
        }

        ngx_http_webhook_lock(st);
        (void) ngx_http_webhook_expire(sh, st, NGX_HTTP_WEBHOOK_SWEEP_MAX, 0);
        ngx_http_webhook_unlock(st);
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, NGX_HTTP_WEBHOOK_SWEEP);
    }
}


ngx_int_t
ngx_http_webhook_shm_reserve(ngx_shm_zone_t *zone, u_char *key,
    ngx_msec_t ttl, uint64_t token, uint32_t *slot)
{
    uint32_t                      i, queue, *bucket;
    ngx_uint_t                    evicted, n;
    ngx_msec_t                    alerted;
    ngx_event_t                  *ev;
    ngx_http_webhook_entry_t     *e;
    ngx_http_webhook_stripe_t    *st;
    ngx_http_webhook_shctx_t     *sh;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;
    sh = ctx->sh;

    ev = &ngx_http_webhook_sweep_event;

    if (ev->data != ctx) {
        /* this worker's first reservation, or the first of a new cycle */
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }

        ev->handler = ngx_http_webhook_sweep;
        ev->data = ctx;
        ev->log = ngx_cycle->log;
        ev->cancelable = 1;
        ngx_add_timer(ev, NGX_HTTP_WEBHOOK_SWEEP);
    }

    queue = ngx_http_webhook_queue(sh, ttl);

    st = ngx_http_webhook_stripe(sh, key, &bucket);

    evicted = 0;

    ngx_http_webhook_lock(st);

    i = ngx_http_webhook_lookup(sh, bucket, key);

    if (i != NGX_HTTP_WEBHOOK_NONE) {
        e = &sh->entries[i];

        if ((ngx_msec_int_t) (e->expire - ngx_current_msec) > 0) {
            ngx_http_webhook_unlock(st);
            return NGX_DECLINED;
        }

        /* expired but not yet collected: take it over */
        ngx_http_webhook_dequeue(sh, st, i);
        e->queue = queue;
        goto fill;
    }

    if (st->free == NGX_HTTP_WEBHOOK_NONE && st->unused == st->end) {

        if (ngx_http_webhook_expire(sh, st, 64, 0) == 0) {
            /*
             * Full of live keys: the stripe's key nearest its expiry goes
             * (of one TTL, the oldest). Its event is the one least likely
             * to be replayed inside its window; the alert says to grow
             * the zone.
             */
            if (ngx_http_webhook_expire(sh, st, 1, 1) == 0) {
                ngx_http_webhook_unlock(st);
                return NGX_ERROR;
            }

            evicted = 1;
        }
    }

    if (st->free != NGX_HTTP_WEBHOOK_NONE) {
        i = st->free;
        st->free = sh->entries[i].next;

    } else {
        i = st->unused++;
    }

    e = &sh->entries[i];

    ngx_memcpy(e->key, key, NGX_HTTP_WEBHOOK_KEY_LEN);
    e->queue = queue;

    e->next = *bucket;
    *bucket = i;

    st->entries++;

fill:

    e->expire = ngx_current_msec + ttl;
    e->token = token;
    ngx_http_webhook_enqueue(sh, st, i);

    ngx_http_webhook_unlock(st);

    *slot = i;

    if (evicted) {
        /* once a second at most, from any worker: a full zone stays full */
        alerted = sh->alerted;

        if (ngx_current_msec - alerted >= 1000
            && ngx_atomic_cmp_set(&sh->alerted, alerted, ngx_current_msec))
        {
            (void) ngx_http_webhook_shm_entries(zone, &n);

            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "webhook_zone \"%V\" is full: evicted the oldest "
                          "unexpired replay key (%ui so far); increase its "
                          "size", &zone->shm.name, n);
        }
    }

    return NGX_OK;
}


/*
 * Keep the key for the TTL, or release it: only if it is still ours.
 * The entry the reservation took is looked at first: while it holds this
 * key and this token it is ours (an entry freed and taken again holds
 * another key, or this key with another token), and the bucket's chain
 * need not be walked.
 */

void
ngx_http_webhook_shm_settle(ngx_shm_zone_t *zone, u_char *key,
    uint64_t token, ngx_msec_t ttl, ngx_uint_t keep, uint32_t slot)
{
    uint32_t                      i;
    ngx_uint_t                    b;
    ngx_http_webhook_entry_t     *e;
    ngx_http_webhook_stripe_t    *st;
    ngx_http_webhook_shctx_t     *sh;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;
    sh = ctx->sh;

    b = ngx_http_webhook_bucket_of(sh, key);
    st = ngx_http_webhook_stripe_at(sh, b & (sh->nstripes - 1));

    ngx_http_webhook_lock(st);

    i = slot;

    if (i == NGX_HTTP_WEBHOOK_NONE || i > sh->capacity
        || !ngx_http_webhook_key_eq(key, sh->entries[i].key))
    {
        i = ngx_http_webhook_lookup(sh, &sh->buckets[b], key);
    }

    if (i != NGX_HTTP_WEBHOOK_NONE && sh->entries[i].token == token) {
        e = &sh->entries[i];

        if (keep) {
            e->expire = ngx_current_msec + ttl;

            if (st->queues[e->queue].newest != i) {
                ngx_http_webhook_dequeue(sh, st, i);
                ngx_http_webhook_enqueue(sh, st, i);
            }

        } else {
            ngx_http_webhook_delete(sh, st, i);
        }
    }

    ngx_http_webhook_unlock(st);
}


/* a sum over the stripes, without their locks: each figure is one word */

ngx_uint_t
ngx_http_webhook_shm_entries(ngx_shm_zone_t *zone, ngx_uint_t *evicted)
{
    ngx_uint_t                    i, n;
    ngx_http_webhook_stripe_t    *st;
    ngx_http_webhook_shctx_t     *sh;
    ngx_http_webhook_zone_ctx_t  *ctx;

    ctx = zone->data;
    sh = ctx->sh;

    n = 0;
    *evicted = 0;

    for (i = 0; i < sh->nstripes; i++) {
        st = ngx_http_webhook_stripe_at(sh, i);
        n += st->entries;
        *evicted += st->evicted;
    }

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

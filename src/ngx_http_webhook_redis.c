
/*
 * Copyright (C) webhook edge authors
 *
 * The Redis replay store: hiredis's async API driven by nginx's event
 * loop. One connection per worker process, shared (pipelined) by all its
 * requests; our own timers for connect and command timeouts (hiredis 0.14
 * has none); reconnection with backoff; a degraded mode that stops
 * waiting on a Redis that does not answer.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


#define NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MAX   5000
#define NGX_HTTP_WEBHOOK_REDIS_RELEASES_MAX  10000


typedef enum {
    NGX_HTTP_WEBHOOK_REDIS_DOWN = 0,
    NGX_HTTP_WEBHOOK_REDIS_CONNECTING,
    NGX_HTTP_WEBHOOK_REDIS_UP,
    NGX_HTTP_WEBHOOK_REDIS_DEGRADED
} ngx_http_webhook_redis_state_e;


/* one per worker process */
typedef struct {
    ngx_http_webhook_redis_conf_t   *conf;
    redisAsyncContext               *ac;
    ngx_connection_t                *conn;
    ngx_log_t                       *log;
    ngx_http_webhook_redis_state_e   state;

    ngx_event_t                      connect_timer;
    ngx_event_t                      reconnect_timer;
    ngx_event_t                      probe_timer;
    ngx_msec_t                       backoff;
    ngx_msec_t                       degraded_since;

    u_char                           last_error[128];
    size_t                           last_error_len;
    uint64_t                         rtt_us;
    ngx_uint_t                       reconnects;
    ngx_uint_t                       timeouts;
    ngx_uint_t                       errors;
    ngx_uint_t                       commands;  /* sent, since the start */
    ngx_uint_t                       batches;   /* writes that sent them */
    ngx_uint_t                       probe_pending;
    ngx_uint_t                       exiting;
    ngx_uint_t                       writing;   /* in redisAsyncHandleWrite */

    /*
     * Commands queued, commands written and replies read, on this
     * connection; the round trip is timed for one batch (one write) at a
     * time: when it went, and the count its last reply brings answered to
     */
    ngx_uint_t                       issued;
    ngx_uint_t                       flushed;
    ngx_uint_t                       answered;
    uint64_t                         batch_us;
    ngx_uint_t                       batch_end;

    /* requests that came while connecting: sent once AUTH/SELECT held */
    ngx_queue_t                      held;

    /* releases Redis could not take: sent again once it is back */
    ngx_queue_t                      releases;
    ngx_uint_t                       nreleases;
    ngx_uint_t                       releases_dropped;
} ngx_http_webhook_redis_t;


/*
 * A release: compare-and-delete on the token, so sending it again, late,
 * can only ever remove the reservation it was made for.
 */
typedef struct {
    ngx_queue_t                      queue;
    size_t                           key_len;
    u_char                           key[NGX_HTTP_WEBHOOK_REDIS_KEY_MAX];
    u_char                           token[16];
} ngx_http_webhook_redis_release_t;


/*
 * Outlives the request: hiredis calls back even when nobody waits. A
 * request that timed out went on without the reply (decided); one that
 * ended left whether its final answer keeps a key the reply may still win.
 */
struct ngx_http_webhook_redis_waiter_s {
    ngx_http_request_t              *request;   /* NULL: the request ended */
    ngx_event_t                      timer;
    ngx_queue_t                      queue;     /* in rd->held, not sent */
    ngx_msec_t                       ttl;
    u_char                           key[NGX_HTTP_WEBHOOK_REDIS_KEY_MAX];
    size_t                           key_len;
    u_char                           token[16];
    unsigned                         held:1;
    unsigned                         decided:1;
    unsigned                         keep:1;
};


static void ngx_http_webhook_redis_connect(ngx_http_webhook_redis_t *rd);
static void ngx_http_webhook_redis_schedule(ngx_http_webhook_redis_t *rd);
static void ngx_http_webhook_redis_fail(ngx_http_webhook_redis_t *rd,
    const char *what, const char *detail);
static void ngx_http_webhook_redis_add_read(void *privdata);
static void ngx_http_webhook_redis_del_read(void *privdata);
static void ngx_http_webhook_redis_add_write(void *privdata);
static void ngx_http_webhook_redis_del_write(void *privdata);
static void ngx_http_webhook_redis_cleanup(void *privdata);
static void ngx_http_webhook_redis_answered(const redisAsyncContext *ac,
    void *reply);
static void ngx_http_webhook_redis_read_handler(ngx_event_t *ev);
static void ngx_http_webhook_redis_write_handler(ngx_event_t *ev);
static void ngx_http_webhook_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_webhook_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_webhook_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_ping_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_reserve_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_timeout(ngx_event_t *ev);
static void ngx_http_webhook_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_webhook_redis_reconnect(ngx_event_t *ev);
static void ngx_http_webhook_redis_probe(ngx_event_t *ev);
static void ngx_http_webhook_redis_resume(ngx_http_request_t *r,
    ngx_http_webhook_reason_e reason);
static ngx_int_t ngx_http_webhook_redis_send(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_waiter_t *w);
static void ngx_http_webhook_redis_send_held(ngx_http_webhook_redis_t *rd);
static void ngx_http_webhook_redis_release_key(ngx_http_webhook_redis_t *rd,
    u_char *key, size_t key_len, u_char *token);
static void ngx_http_webhook_redis_send_release(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_release_t *rl);
static void ngx_http_webhook_redis_keep_release(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_release_t *rl);
static void ngx_http_webhook_redis_release_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_flush_releases(
    ngx_http_webhook_redis_t *rd);
static void ngx_http_webhook_redis_drop_held(ngx_http_webhook_redis_t *rd,
    const char *why);
static uint64_t ngx_http_webhook_redis_now_us(void);
static size_t ngx_http_webhook_redis_key(ngx_http_webhook_redis_conf_t *conf,
    ngx_http_webhook_ctx_t *ctx, u_char *buf);


static ngx_http_webhook_redis_t  *ngx_http_webhook_redis;


/* compare-and-delete: only the reservation this request made */
static const char  ngx_http_webhook_redis_release_lua[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) end return 0";


static const char  *ngx_http_webhook_redis_states[] = {
    "down", "connecting", "up", "degraded"
};


ngx_int_t
ngx_http_webhook_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_conf_t *conf)
{
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_webhook_redis_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->conf = conf;
    rd->log = cycle->log;
    rd->backoff = NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN;

    rd->connect_timer.handler = ngx_http_webhook_redis_connect_timeout;
    rd->connect_timer.data = rd;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.cancelable = 1;

    rd->reconnect_timer.handler = ngx_http_webhook_redis_reconnect;
    rd->reconnect_timer.data = rd;
    rd->reconnect_timer.log = cycle->log;
    rd->reconnect_timer.cancelable = 1;

    rd->probe_timer.handler = ngx_http_webhook_redis_probe;
    rd->probe_timer.data = rd;
    rd->probe_timer.log = cycle->log;
    rd->probe_timer.cancelable = 1;

    ngx_queue_init(&rd->held);
    ngx_queue_init(&rd->releases);

    ngx_http_webhook_redis = rd;

    ngx_http_webhook_redis_connect(rd);

    return NGX_OK;
}


void
ngx_http_webhook_redis_exit_process(void)
{
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_http_webhook_redis;

    if (rd == NULL) {
        return;
    }

    /* replies that arrive now decide nothing: requests are going away */
    rd->exiting = 1;

    ngx_http_webhook_redis_drop_held(rd, NULL);
    ngx_http_webhook_redis_flush_releases(rd);

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->reconnect_timer.timer_set) {
        ngx_del_timer(&rd->reconnect_timer);
    }

    if (rd->probe_timer.timer_set) {
        ngx_del_timer(&rd->probe_timer);
    }

    if (rd->ac) {
        if (rd->ac->c.flags & REDIS_CONNECTED) {
            /*
             * what was queued last (the registry's last health counts)
             * goes out in one non-blocking write: redisAsyncFree() drops
             * an unwritten buffer
             */
            rd->writing = 1;
            redisAsyncHandleWrite(rd->ac);
            rd->writing = 0;
        }

        redisAsyncFree(rd->ac);
        rd->ac = NULL;
    }

    ngx_http_webhook_redis = NULL;
}


static void
ngx_http_webhook_redis_connect(ngx_http_webhook_redis_t *rd)
{
    ngx_http_webhook_redis_conf_t  *conf;
    redisAsyncContext              *ac;
    ngx_connection_t               *c;

    conf = rd->conf;

    if (conf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) conf->unix_path.data);

    } else {
        ac = redisAsyncConnect((char *) conf->host.data, (int) conf->port);
    }

    if (ac == NULL) {
        ngx_http_webhook_redis_fail(rd, "connect", "out of memory");
        return;
    }

    if (ac->err) {
        ngx_http_webhook_redis_fail(rd, "connect", ac->errstr);
        redisAsyncFree(ac);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        ngx_http_webhook_redis_fail(rd, "connect", "no free connection");
        redisAsyncFree(ac);
        return;
    }

    c->data = rd;
    c->read->handler = ngx_http_webhook_redis_read_handler;
    c->write->handler = ngx_http_webhook_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->ac = ac;
    rd->conn = c;
    rd->state = NGX_HTTP_WEBHOOK_REDIS_CONNECTING;

    rd->issued = 0;
    rd->flushed = 0;
    rd->answered = 0;
    rd->batch_us = 0;

    ac->ev.data = rd;
    ac->ev.addRead = ngx_http_webhook_redis_add_read;
    ac->ev.delRead = ngx_http_webhook_redis_del_read;
    ac->ev.addWrite = ngx_http_webhook_redis_add_write;
    ac->ev.delWrite = ngx_http_webhook_redis_del_write;
    ac->ev.cleanup = ngx_http_webhook_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_webhook_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_webhook_redis_on_disconnect);

    /* queued now, written once the socket connects */

    if (conf->password.len
        && redisAsyncCommand(ac, ngx_http_webhook_redis_setup_reply, "AUTH",
                             "AUTH %b", conf->password.data,
                             conf->password.len)
           == REDIS_OK)
    {
        rd->issued++;
    }

    if (conf->db
        && redisAsyncCommand(ac, ngx_http_webhook_redis_setup_reply, "SELECT",
                             "SELECT %d", (int) conf->db)
           == REDIS_OK)
    {
        rd->issued++;
    }

    rd->probe_pending = 1;

    if (redisAsyncCommand(ac, ngx_http_webhook_redis_ping_reply,
                          (void *) (uintptr_t)
                              ngx_http_webhook_redis_now_us(),
                          "PING")
        == REDIS_OK)
    {
        rd->issued++;
    }

    ngx_add_timer(&rd->connect_timer, conf->connect_timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "webhook redis: connecting to %V", &conf->address);
}


static void
ngx_http_webhook_redis_fail(ngx_http_webhook_redis_t *rd, const char *what,
    const char *detail)
{
    u_char  *p;

    p = ngx_snprintf(rd->last_error, sizeof(rd->last_error), "%s: %s",
                     what, detail);
    rd->last_error_len = p - rd->last_error;
    rd->errors++;

    if (rd->state != NGX_HTTP_WEBHOOK_REDIS_DOWN) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "webhook redis %V: %s: %s; retrying in %Mms",
                      &rd->conf->address, what, detail, rd->backoff);
    }

    rd->state = NGX_HTTP_WEBHOOK_REDIS_DOWN;

    if (rd->ac == NULL) {
        ngx_http_webhook_redis_schedule(rd);
    }
}


static void
ngx_http_webhook_redis_schedule(ngx_http_webhook_redis_t *rd)
{
    if (rd->exiting || rd->reconnect_timer.timer_set) {
        return;
    }

    ngx_add_timer(&rd->reconnect_timer, rd->backoff);

    rd->backoff = ngx_min(rd->backoff * 2,
                          NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MAX);
}


static void
ngx_http_webhook_redis_reconnect(ngx_event_t *ev)
{
    ngx_http_webhook_redis_t  *rd = ev->data;

    if (rd->ac == NULL && !rd->exiting) {
        rd->reconnects++;
        ngx_http_webhook_redis_connect(rd);
    }
}


static void
ngx_http_webhook_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_redis_t  *rd = ev->data;

    if (rd->ac == NULL || rd->state != NGX_HTTP_WEBHOOK_REDIS_CONNECTING) {
        return;
    }

    ngx_http_webhook_redis_fail(rd, "connect", "timed out");

    /* pending commands are called back with no reply: they fall back */
    redisAsyncFree(rd->ac);
}


/* the adapter: level-triggered events, so no reply waits unread */

static void
ngx_http_webhook_redis_add_read(void *privdata)
{
    ngx_http_webhook_redis_t  *rd = privdata;

    if (rd->conn && !rd->conn->read->active) {
        (void) ngx_add_event(rd->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_webhook_redis_del_read(void *privdata)
{
    ngx_http_webhook_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->read->active) {
        (void) ngx_del_event(rd->conn->read, NGX_READ_EVENT, 0);
    }
}


/*
 * A command queued on a connected socket is written at the end of this
 * event loop iteration, in one write with every other command queued in
 * it, without registering for (and waiting on) a writable socket. Only a
 * write that did not finish, or a connect in progress, waits for epoll.
 * (Holding a batch back while the one before waits for its replies was
 * measured twice and not kept: the edge wrote less often, but Redis then
 * read fewer commands per wakeup and spent more per command.)
 */

static void
ngx_http_webhook_redis_add_write(void *privdata)
{
    ngx_http_webhook_redis_t  *rd = privdata;

    ngx_event_t  *wev;

    if (rd->conn == NULL) {
        return;
    }

    wev = rd->conn->write;

    if (!rd->writing && rd->ac && (rd->ac->c.flags & REDIS_CONNECTED)) {
        if (!wev->posted) {
            ngx_post_event(wev, &ngx_posted_events);
        }

        return;
    }

    if (!wev->active) {
        (void) ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_webhook_redis_del_write(void *privdata)
{
    ngx_http_webhook_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->write->active) {
        (void) ngx_del_event(rd->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis closes the socket itself right after this (redisFree): the
 * nginx connection is only given back, never closed, or the fd would be
 * closed twice.
 */

static void
ngx_http_webhook_redis_cleanup(void *privdata)
{
    ngx_http_webhook_redis_t  *rd = privdata;

    ngx_connection_t  *c;

    c = rd->conn;

    if (c) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        /* as ngx_close_connection() does: free first, it looks at c->fd */
        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    /*
     * Called before the disconnect callback: a connection lost while up
     * is logged here, or the [warn] would find the state already down.
     */
    if (rd->state != NGX_HTTP_WEBHOOK_REDIS_DOWN && !rd->exiting) {
        ngx_http_webhook_redis_fail(rd, "connection lost",
                                    rd->ac && rd->ac->errstr[0]
                                    ? rd->ac->errstr : "closed");
    }

    rd->state = NGX_HTTP_WEBHOOK_REDIS_DOWN;
    rd->conn = NULL;
    rd->ac = NULL;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    rd->probe_pending = 0;

    if (!rd->exiting) {
        ngx_http_webhook_redis_drop_held(rd, "connection lost");
    }

    ngx_http_webhook_redis_schedule(rd);
}


static void
ngx_http_webhook_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c = ev->data;
    ngx_http_webhook_redis_t  *rd = c->data;

    if (rd->ac) {
        redisAsyncHandleRead(rd->ac);
    }
}


static void
ngx_http_webhook_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c = ev->data;
    ngx_http_webhook_redis_t  *rd = c->data;

    if (rd->ac) {
        if (rd->batch_us == 0 && rd->issued != rd->flushed) {
            rd->batch_us = ngx_http_webhook_redis_now_us();
            rd->batch_end = rd->issued;
        }

        if (rd->issued != rd->flushed) {
            rd->commands += rd->issued - rd->flushed;
            rd->batches++;
        }

        rd->flushed = rd->issued;
        rd->writing = 1;
        redisAsyncHandleWrite(rd->ac);
        rd->writing = 0;
    }
}


/* every reply callback's first step: the round trip, timed once a batch */

static void
ngx_http_webhook_redis_answered(const redisAsyncContext *ac, void *reply)
{
    ngx_http_webhook_redis_t  *rd = ac->ev.data;

    if (rd == NULL || rd->ac != ac) {
        return;
    }

    rd->answered++;

    if (rd->batch_us && rd->answered == rd->batch_end && reply) {
        rd->rtt_us = ngx_http_webhook_redis_now_us() - rd->batch_us;
        rd->batch_us = 0;
    }
}


static void
ngx_http_webhook_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_webhook_redis_t  *rd = ac->ev.data;

    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns */
        ngx_http_webhook_redis_fail(rd, "connect", ac->errstr);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "webhook redis: connected to %V", &rd->conf->address);
}


/* the adapter's cleanup, called just before, has logged and counted it */

static void
ngx_http_webhook_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP,
                   ((ngx_http_webhook_redis_t *) ac->ev.data)->log, 0,
                   "webhook redis: disconnected, status %d, \"%s\"",
                   status, ac->errstr);
}


static void
ngx_http_webhook_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                *reply = r;
    ngx_http_webhook_redis_t  *rd = ac->ev.data;

    ngx_http_webhook_redis_answered(ac, r);

    if (reply == NULL || rd->exiting) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* AUTH or SELECT refused: no use going on with this connection */
        ngx_http_webhook_redis_fail(rd, privdata, reply->str);
        redisAsyncFree(ac);
    }
}


static void
ngx_http_webhook_redis_ping_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                *reply = r;
    ngx_http_webhook_redis_t  *rd = ac->ev.data;

    ngx_http_webhook_redis_answered(ac, r);

    rd->probe_pending = 0;

    if (reply == NULL || rd->exiting || reply->type == REDIS_REPLY_ERROR) {
        return;
    }

    rd->rtt_us = ngx_http_webhook_redis_now_us() - (uintptr_t) privdata;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->state != NGX_HTTP_WEBHOOK_REDIS_UP) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "webhook redis %V: up (was %s), round trip %uLus",
                      &rd->conf->address,
                      ngx_http_webhook_redis_states[rd->state], rd->rtt_us);
    }

    rd->state = NGX_HTTP_WEBHOOK_REDIS_UP;
    rd->backoff = NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN;

    if (rd->probe_timer.timer_set) {
        ngx_del_timer(&rd->probe_timer);
    }

    /* AUTH and SELECT went through: what waited for them goes out now */
    ngx_http_webhook_redis_send_held(rd);
    ngx_http_webhook_redis_flush_releases(rd);
}


/*
 * Degraded: a command timed out. Requests stop waiting on Redis and fall
 * back at once; a PING asks whether it is back. One that stays
 * unanswered past connect_timeout drops the connection for a new one.
 */

static void
ngx_http_webhook_redis_probe(ngx_event_t *ev)
{
    ngx_http_webhook_redis_t  *rd = ev->data;

    if (rd->ac == NULL || rd->state != NGX_HTTP_WEBHOOK_REDIS_DEGRADED) {
        return;
    }

    if (rd->probe_pending) {
        if (ngx_current_msec - rd->degraded_since
            >= rd->conf->connect_timeout)
        {
            ngx_http_webhook_redis_fail(rd, "no answer",
                                        "dropping the connection");
            redisAsyncFree(rd->ac);
            return;
        }

    } else if (redisAsyncCommand(rd->ac, ngx_http_webhook_redis_ping_reply,
                                 (void *) (uintptr_t)
                                     ngx_http_webhook_redis_now_us(),
                                 "PING")
               == REDIS_OK)
    {
        rd->probe_pending = 1;
        rd->issued++;
    }

    ngx_add_timer(&rd->probe_timer, rd->conf->timeout);
}


static void
ngx_http_webhook_redis_degrade(ngx_http_webhook_redis_t *rd)
{
    rd->timeouts++;

    if (rd->state != NGX_HTTP_WEBHOOK_REDIS_UP
        && rd->state != NGX_HTTP_WEBHOOK_REDIS_CONNECTING)
    {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "webhook redis %V: no answer within %Mms, degraded",
                  &rd->conf->address, rd->conf->timeout);

    rd->last_error_len = ngx_snprintf(rd->last_error, sizeof(rd->last_error),
                                      "timeout after %Mms", rd->conf->timeout)
                         - rd->last_error;

    rd->state = NGX_HTTP_WEBHOOK_REDIS_DEGRADED;
    rd->degraded_since = ngx_current_msec;

    if (!rd->probe_timer.timer_set) {
        ngx_add_timer(&rd->probe_timer, rd->conf->timeout);
    }
}


static uint64_t
ngx_http_webhook_redis_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static size_t
ngx_http_webhook_redis_key(ngx_http_webhook_redis_conf_t *conf,
    ngx_http_webhook_ctx_t *ctx, u_char *buf)
{
    u_char  *p;

    p = ngx_cpymem(buf, conf->prefix.data, conf->prefix.len);
    p = ngx_hex_dump(p, ctx->replay_key, NGX_HTTP_WEBHOOK_KEY_LEN);

    return p - buf;
}


/*
 * NGX_AGAIN: the request waits for the reply; else decided right away.
 * While a connection is being set up the command is held back until its
 * AUTH and SELECT have been answered: pipelined behind a SELECT that
 * fails, a SET would land in database 0.
 */

ngx_int_t
ngx_http_webhook_redis_reserve(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reason_e *reason)
{
    ngx_http_webhook_redis_t         *rd;
    ngx_http_webhook_redis_waiter_t  *w;

    rd = ngx_http_webhook_redis;

    if (rd == NULL || rd->ac == NULL
        || rd->state == NGX_HTTP_WEBHOOK_REDIS_DOWN
        || rd->state == NGX_HTTP_WEBHOOK_REDIS_DEGRADED)
    {
        *reason = ngx_http_webhook_redis_fallback(r, ctx,
                      rd && rd->last_error_len ? (char *) rd->last_error
                                               : "not connected");
        return NGX_OK;
    }

    w = ngx_alloc(sizeof(ngx_http_webhook_redis_waiter_t), r->connection->log);
    if (w == NULL) {
        *reason = NGX_HTTP_WEBHOOK_NREASONS;
        return NGX_OK;
    }

    ngx_memzero(w, sizeof(ngx_http_webhook_redis_waiter_t));

    w->request = r;
    w->ttl = ctx->ttl;
    w->key_len = ngx_http_webhook_redis_key(rd->conf, ctx, w->key);
    ngx_hex_dump(w->token, (u_char *) &ctx->token, sizeof(ctx->token));

    if (rd->state == NGX_HTTP_WEBHOOK_REDIS_CONNECTING) {
        w->held = 1;
        ngx_queue_insert_tail(&rd->held, &w->queue);

    } else if (ngx_http_webhook_redis_send(rd, w) != NGX_OK) {
        ngx_free(w);
        *reason = ngx_http_webhook_redis_fallback(r, ctx,
                                                  "command not queued");
        return NGX_OK;
    }

    w->timer.handler = ngx_http_webhook_redis_timeout;
    w->timer.data = w;
    w->timer.log = r->connection->log;
    ngx_add_timer(&w->timer, rd->conf->timeout);

    ctx->waiter = w;

    /*
     * A client that goes away while Redis answers ends the request (499),
     * as with proxy_pass; one that closed with its request already seen
     * (an edge-triggered EOF nobody looked at) is tested on the next turn.
     */
    r->read_event_handler = ngx_http_test_reading;

    if (r->connection->read->pending_eof) {
        ngx_post_event(r->connection->read, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


/*
 * A command of another part of the module (the registry) on this
 * worker's connection: pipelined with everything else, its reply handed
 * to cb (NULL when the connection went first). While connecting it waits
 * in hiredis's buffer behind AUTH and SELECT: a refused AUTH or SELECT
 * drops the connection before its reply is looked at. NGX_DECLINED:
 * Redis is down or degraded, cb is never called.
 */

typedef struct {
    ngx_http_webhook_redis_reply_pt  handler;
    void                            *data;
} ngx_http_webhook_redis_call_t;


static void
ngx_http_webhook_redis_call_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_webhook_redis_call_t  *call = privdata;

    ngx_http_webhook_redis_call_t   c;

    ngx_http_webhook_redis_answered(ac, r);

    c = *call;
    ngx_free(call);

    c.handler(r, c.data);
}


ngx_int_t
ngx_http_webhook_redis_command(ngx_http_webhook_redis_reply_pt cb,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    ngx_http_webhook_redis_t       *rd;
    ngx_http_webhook_redis_call_t  *call;

    rd = ngx_http_webhook_redis;

    if (rd == NULL || rd->ac == NULL || rd->exiting
        || (rd->state != NGX_HTTP_WEBHOOK_REDIS_UP
            && rd->state != NGX_HTTP_WEBHOOK_REDIS_CONNECTING))
    {
        return NGX_DECLINED;
    }

    call = ngx_alloc(sizeof(ngx_http_webhook_redis_call_t), rd->log);
    if (call == NULL) {
        return NGX_DECLINED;
    }

    call->handler = cb;
    call->data = data;

    if (redisAsyncCommandArgv(rd->ac, ngx_http_webhook_redis_call_reply,
                              call, argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(call);
        return NGX_DECLINED;
    }

    rd->issued++;

    return NGX_OK;
}


/* a command of the registry got no answer in time */

void
ngx_http_webhook_redis_timed_out(void)
{
    if (ngx_http_webhook_redis) {
        ngx_http_webhook_redis_degrade(ngx_http_webhook_redis);
    }
}


/* v in decimal, ending at end: returns where it starts */

static u_char *
ngx_http_webhook_redis_decimal(u_char *end, uint64_t v)
{
    do {
        *--end = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return end;
}


/* "$<len>\r\n<bytes>\r\n": one argument of a command in Redis's protocol */

static u_char *
ngx_http_webhook_redis_arg(u_char *p, u_char *data, size_t len)
{
    u_char   len_buf[NGX_INT64_LEN], *end, *d;

    end = len_buf + sizeof(len_buf);
    d = ngx_http_webhook_redis_decimal(end, len);

    *p++ = '$';
    p = ngx_cpymem(p, d, end - d);
    *p++ = CR; *p++ = LF;
    p = ngx_cpymem(p, data, len);
    *p++ = CR; *p++ = LF;

    return p;
}


/*
 * SET key token NX PX ttl, written here in Redis's protocol: hiredis
 * would build it from a format string or an argument vector through its
 * own formatter and a heap buffer on every request.
 */

#define NGX_HTTP_WEBHOOK_REDIS_SET    "*6\r\n$3\r\nSET\r\n"
#define NGX_HTTP_WEBHOOK_REDIS_NX_PX  "$2\r\nNX\r\n$2\r\nPX\r\n"

static ngx_int_t
ngx_http_webhook_redis_send(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_waiter_t *w)
{
    u_char  *p, *ttl, *end;
    u_char   cmd[NGX_HTTP_WEBHOOK_REDIS_KEY_MAX + 2 * NGX_INT64_LEN + 64];
    u_char   ttl_buf[NGX_INT64_LEN];

    end = ttl_buf + sizeof(ttl_buf);
    ttl = ngx_http_webhook_redis_decimal(end, w->ttl);

    p = ngx_cpymem(cmd, NGX_HTTP_WEBHOOK_REDIS_SET,
                   sizeof(NGX_HTTP_WEBHOOK_REDIS_SET) - 1);
    p = ngx_http_webhook_redis_arg(p, w->key, w->key_len);
    p = ngx_http_webhook_redis_arg(p, w->token, sizeof(w->token));
    p = ngx_cpymem(p, NGX_HTTP_WEBHOOK_REDIS_NX_PX,
                   sizeof(NGX_HTTP_WEBHOOK_REDIS_NX_PX) - 1);
    p = ngx_http_webhook_redis_arg(p, ttl, end - ttl);

    if (redisAsyncFormattedCommand(rd->ac,
                                   ngx_http_webhook_redis_reserve_reply, w,
                                   (char *) cmd, p - cmd)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    rd->issued++;

    return NGX_OK;
}


static void
ngx_http_webhook_redis_send_held(ngx_http_webhook_redis_t *rd)
{
    ngx_queue_t                      *q;
    ngx_http_webhook_redis_waiter_t  *w;

    while (!ngx_queue_empty(&rd->held)) {
        q = ngx_queue_head(&rd->held);
        w = ngx_queue_data(q, ngx_http_webhook_redis_waiter_t, queue);

        if (ngx_http_webhook_redis_send(rd, w) != NGX_OK) {
            ngx_http_webhook_redis_drop_held(rd, "command not queued");
            return;
        }

        ngx_queue_remove(q);
        w->held = 0;
    }
}


/* held commands that will not be sent: their requests fall back now */

static void
ngx_http_webhook_redis_drop_held(ngx_http_webhook_redis_t *rd,
    const char *why)
{
    ngx_queue_t                      *q;
    ngx_http_request_t               *r;
    ngx_http_webhook_ctx_t           *ctx;
    ngx_http_webhook_redis_waiter_t  *w;

    while (!ngx_queue_empty(&rd->held)) {
        q = ngx_queue_head(&rd->held);
        w = ngx_queue_data(q, ngx_http_webhook_redis_waiter_t, queue);

        ngx_queue_remove(q);

        if (w->timer.timer_set) {
            ngx_del_timer(&w->timer);
        }

        r = w->request;
        ngx_free(w);

        ctx = ngx_http_webhook_get_ctx(r);
        ctx->waiter = NULL;

        if (why) {
            ngx_http_webhook_redis_resume(r,
                ngx_http_webhook_redis_fallback(r, ctx, why));
        }
    }
}


static void
ngx_http_webhook_redis_reserve_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                       *reply = r;
    ngx_http_webhook_redis_waiter_t  *w = privdata;

    ngx_http_request_t               *req;
    ngx_http_webhook_ctx_t           *ctx;
    ngx_http_webhook_redis_t         *rd;
    ngx_http_webhook_reason_e         reason;

    ngx_http_webhook_redis_answered(ac, r);

    rd = ngx_http_webhook_redis;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    req = w->request;

    if (rd == NULL || rd->exiting) {
        ngx_free(w);
        return;
    }

    if (req == NULL) {
        /*
         * The request has ended: a key it won late stays only if its
         * final answer was 2xx, as for a key won in time.
         */
        if (!w->keep && reply && reply->type == REDIS_REPLY_STATUS) {
            ngx_http_webhook_redis_release_key(rd, w->key, w->key_len,
                                               w->token);
        }

        ngx_free(w);
        return;
    }

    ctx = ngx_http_webhook_get_ctx(req);
    ctx->waiter = NULL;

    if (w->decided) {
        /*
         * The request went on without this reply (the fallback decided
         * it) and is still running: a key it won is its own now, kept
         * or released by its final answer like any other.
         */
        if (reply && reply->type == REDIS_REPLY_STATUS) {
            ctx->reserved_redis = 1;

        } else if (reply && reply->type == REDIS_REPLY_NIL) {
            ngx_log_error(NGX_LOG_WARN, req->connection->log, 0,
                          "webhook: redis answered late that the key was "
                          "already held; the fallback had decided this "
                          "request");
        }

        ngx_free(w);
        return;
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        reason = ngx_http_webhook_redis_fallback(req, ctx,
                     reply ? reply->str : "connection lost");

    } else if (reply->type == REDIS_REPLY_NIL) {
        reason = NGX_HTTP_WEBHOOK_REPLAY;

    } else {
        ctx->reserved_redis = 1;
        reason = NGX_HTTP_WEBHOOK_OK;
    }

    ngx_free(w);

    ngx_http_webhook_redis_resume(req, reason);
}


static void
ngx_http_webhook_redis_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_redis_waiter_t  *w = ev->data;

    ngx_http_request_t        *r;
    ngx_http_webhook_ctx_t    *ctx;
    ngx_http_webhook_reason_e  reason;

    r = w->request;

    if (r == NULL || w->decided) {
        return;
    }

    ctx = ngx_http_webhook_get_ctx(r);

    if (w->held) {
        /* never sent: no reply will come for it */
        ngx_queue_remove(&w->queue);
        ngx_free(w);
        ctx->waiter = NULL;
        reason = ngx_http_webhook_redis_fallback(r, ctx, "still connecting");

    } else {
        /* the waiter stays for hiredis's late reply, which frees it */
        w->decided = 1;

        if (ngx_http_webhook_redis) {
            ngx_http_webhook_redis_degrade(ngx_http_webhook_redis);
        }

        reason = ngx_http_webhook_redis_fallback(r, ctx, "timeout");
    }

    ngx_http_webhook_redis_resume(r, reason);
}


static void
ngx_http_webhook_redis_resume(ngx_http_request_t *r,
    ngx_http_webhook_reason_e reason)
{
    ngx_connection_t  *c;

    c = r->connection;

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_webhook_decide(r, ngx_http_webhook_get_ctx(r), reason);

    ngx_http_run_posted_requests(c);
}


/*
 * The request ends while its reply is pending: detach, and leave with
 * the waiter what the final answer says about a key the reply may win.
 */

void
ngx_http_webhook_redis_cancel(ngx_http_webhook_ctx_t *ctx, ngx_uint_t keep)
{
    ngx_http_webhook_redis_waiter_t  *w;

    w = ctx->waiter;

    if (w == NULL) {
        return;
    }

    ctx->waiter = NULL;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    if (w->held) {
        ngx_queue_remove(&w->queue);
        ngx_free(w);
        return;
    }

    w->request = NULL;
    w->keep = keep;
}


void
ngx_http_webhook_redis_release(ngx_http_webhook_ctx_t *ctx)
{
    size_t                     key_len;
    u_char                     key[NGX_HTTP_WEBHOOK_REDIS_KEY_MAX];
    u_char                     token[16];
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_http_webhook_redis;

    if (rd == NULL || rd->exiting) {
        /* the key expires with its TTL; nothing better can be done */
        return;
    }

    key_len = ngx_http_webhook_redis_key(rd->conf, ctx, key);
    ngx_hex_dump(token, (u_char *) &ctx->token, sizeof(ctx->token));

    ngx_http_webhook_redis_release_key(rd, key, key_len, token);
}


/*
 * A release Redis cannot take now (down, connecting, or the connection
 * lost before it answered) is kept and sent once Redis is back: else the
 * key would outlive the failed delivery for its whole TTL, and the
 * provider's retries would be refused as replays.
 */

static void
ngx_http_webhook_redis_release_key(ngx_http_webhook_redis_t *rd,
    u_char *key, size_t key_len, u_char *token)
{
    ngx_http_webhook_redis_release_t  *rl;

    rl = ngx_alloc(sizeof(ngx_http_webhook_redis_release_t), rd->log);
    if (rl == NULL) {
        return;
    }

    rl->key_len = key_len;
    ngx_memcpy(rl->key, key, key_len);
    ngx_memcpy(rl->token, token, sizeof(rl->token));

    ngx_http_webhook_redis_send_release(rd, rl);
}


static void
ngx_http_webhook_redis_send_release(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_release_t *rl)
{
    if (rd->ac
        && (rd->state == NGX_HTTP_WEBHOOK_REDIS_UP
            || rd->state == NGX_HTTP_WEBHOOK_REDIS_DEGRADED)
        && redisAsyncCommand(rd->ac, ngx_http_webhook_redis_release_reply,
                             rl, "EVAL %s 1 %b %b",
                             ngx_http_webhook_redis_release_lua,
                             rl->key, rl->key_len,
                             rl->token, sizeof(rl->token))
           == REDIS_OK)
    {
        rd->issued++;
        return;
    }

    ngx_http_webhook_redis_keep_release(rd, rl);
}


static void
ngx_http_webhook_redis_keep_release(ngx_http_webhook_redis_t *rd,
    ngx_http_webhook_redis_release_t *rl)
{
    if (rd->exiting) {
        ngx_free(rl);
        return;
    }

    if (rd->nreleases >= NGX_HTTP_WEBHOOK_REDIS_RELEASES_MAX) {
        if (rd->releases_dropped++ == 0) {
            ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                          "webhook redis %V: %ui releases wait already, "
                          "more keys will stay until their TTL",
                          &rd->conf->address, rd->nreleases);
        }

        ngx_free(rl);
        return;
    }

    ngx_queue_insert_tail(&rd->releases, &rl->queue);
    rd->nreleases++;
}


static void
ngx_http_webhook_redis_release_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_webhook_redis_release_t  *rl = privdata;

    ngx_http_webhook_redis_answered(ac, r);

    if (r == NULL && ngx_http_webhook_redis) {
        /* the connection went before the answer: it may not have run */
        ngx_http_webhook_redis_keep_release(ngx_http_webhook_redis, rl);
        return;
    }

    ngx_free(rl);
}


/* Redis is back (or the worker exits): send (or drop) what waited */

static void
ngx_http_webhook_redis_flush_releases(ngx_http_webhook_redis_t *rd)
{
    ngx_uint_t                         n, sent;
    ngx_queue_t                       *q;
    ngx_http_webhook_redis_release_t  *rl;

    sent = 0;

    /* a release that cannot be sent goes back to the tail: count them */
    for (n = rd->nreleases; n; n--) {
        q = ngx_queue_head(&rd->releases);
        ngx_queue_remove(q);
        rd->nreleases--;

        rl = ngx_queue_data(q, ngx_http_webhook_redis_release_t, queue);

        if (rd->exiting) {
            ngx_free(rl);
            continue;
        }

        ngx_http_webhook_redis_send_release(rd, rl);
        sent++;
    }

    if (sent) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "webhook redis %V: %ui replay key releases that "
                      "waited for it sent", &rd->conf->address, sent);
    }

    rd->releases_dropped = 0;
}


ngx_int_t
ngx_http_webhook_redis_up(void)
{
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_http_webhook_redis;

    return (rd && rd->state == NGX_HTTP_WEBHOOK_REDIS_UP) ? NGX_OK
                                                         : NGX_DECLINED;
}


u_char *
ngx_http_webhook_redis_report(u_char *p, u_char *last)
{
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_http_webhook_redis;

    if (rd == NULL) {
        return ngx_slprintf(p, last, "null");
    }

    /* last_error holds our own text and Redis's: keep it JSON-safe */
    {
        size_t  i;

        for (i = 0; i < rd->last_error_len; i++) {
            if (rd->last_error[i] == '"' || rd->last_error[i] == '\\'
                || rd->last_error[i] < 0x20)
            {
                rd->last_error[i] = ' ';
            }
        }
    }

    return ngx_slprintf(p, last,
                        "{\"address\":\"%V\",\"state\":\"%s\","
                        "\"last_error\":\"%*s\",\"rtt_us\":%uL,"
                        "\"reconnects\":%ui,\"timeouts\":%ui,"
                        "\"errors\":%ui,\"releases_waiting\":%ui,"
                        "\"commands\":%ui,\"batches\":%ui,"
                        "\"pid\":%P}",
                        &rd->conf->address,
                        ngx_http_webhook_redis_states[rd->state],
                        rd->last_error_len, rd->last_error, rd->rtt_us,
                        rd->reconnects, rd->timeouts, rd->errors,
                        rd->nreleases, rd->commands, rd->batches, ngx_pid);
}


const char *
ngx_http_webhook_redis_state_name(void)
{
    ngx_http_webhook_redis_t  *rd;

    rd = ngx_http_webhook_redis;

    return rd ? ngx_http_webhook_redis_states[rd->state] : "off";
}


/*
 * webhook_redis ADDRESS [db=N] [password=VALUE] [connect_timeout=TIME]
 *               [timeout=TIME] [prefix=STR];
 * The address is resolved here, at load: hiredis would resolve a name
 * with a blocking getaddrinfo() on every reconnect.
 */

char *
ngx_http_webhook_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_main_conf_t *wmcf = conf;

    u_char                         *p;
    ngx_int_t                       n;
    ngx_str_t                      *value, v;
    ngx_url_t                       u;
    ngx_uint_t                      i;
    ngx_http_webhook_secret_t       password;
    ngx_http_webhook_redis_conf_t  *rc;

    if (wmcf->redis) {
        return "is duplicate";
    }

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_redis_conf_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    rc->address = value[1];
    rc->connect_timeout = 500;
    rc->timeout = 50;
    ngx_str_set(&rc->prefix, "webhook:");

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        rc->unix_path.len = value[1].len - 5;
        rc->unix_path.data = ngx_pnalloc(cf->pool, rc->unix_path.len + 1);
        if (rc->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rc->unix_path.data, value[1].data + 5,
                    rc->unix_path.len + 1);

    } else {
        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[1];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_redis: invalid address \"%V\"%s%s",
                               &value[1], u.err ? ": " : "",
                               u.err ? u.err : "");
            return NGX_CONF_ERROR;
        }

        rc->port = ngx_inet_get_port(u.addrs[0].sockaddr);

        rc->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rc->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        rc->host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                     u.addrs[0].socklen, rc->host.data,
                                     NGX_SOCKADDR_STRLEN, 0);
        rc->host.data[rc->host.len] = '\0';
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            v.data = value[i].data + 3;
            v.len = value[i].len - 3;

            n = ngx_atoi(v.data, v.len);
            if (n == NGX_ERROR || n > 65535) {
                goto invalid;
            }

            rc->db = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;

            if (ngx_http_webhook_secret_value(cf, &v, &password)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (password.value) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "webhook_redis: password takes a literal, "
                                   "file: or env: value, not variables");
                return NGX_CONF_ERROR;
            }

            rc->password = password.raw;
            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            v.data = value[i].data + 16;
            v.len = value[i].len - 16;

            n = ngx_parse_time(&v, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rc->connect_timeout = (ngx_msec_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;

            n = ngx_parse_time(&v, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rc->timeout = (ngx_msec_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            rc->prefix.data = value[i].data + 7;
            rc->prefix.len = value[i].len - 7;

            if (rc->prefix.len > NGX_HTTP_WEBHOOK_PREFIX_MAX) {
                goto invalid;
            }

            for (p = rc->prefix.data; p < rc->prefix.data + rc->prefix.len;
                 p++)
            {
                if (*p <= ' ' || *p >= 0x7f) {
                    goto invalid;
                }
            }

            continue;
        }

        goto invalid;
    }

    wmcf->redis = rc;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid webhook_redis parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}

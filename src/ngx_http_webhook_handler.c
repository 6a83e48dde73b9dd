
/*
 * Copyright (C) webhook edge authors
 *
 * The access-phase state machine: allowlist, headers, timestamp, body,
 * signature, fields, replay; the answer to a rejected request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"


typedef struct {
    ngx_http_request_t           *request;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;
    ngx_shm_zone_t               *zone;
} ngx_http_webhook_cleanup_t;


static ngx_http_webhook_ctx_t *ngx_http_webhook_new_ctx(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
static ngx_http_webhook_reason_e ngx_http_webhook_check_headers(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx);
static void ngx_http_webhook_body_handler(ngx_http_request_t *r);
static void ngx_http_webhook_pass(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason);
static ngx_http_webhook_reason_e ngx_http_webhook_local_reserve(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_reject(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason);
static ngx_http_webhook_reason_t *ngx_http_webhook_decline(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reason_e reason);
static ngx_buf_t *ngx_http_webhook_json(ngx_http_request_t *r,
    ngx_http_webhook_reason_t *rs);
static ngx_int_t ngx_http_webhook_send_json(ngx_http_request_t *r,
    ngx_buf_t *b);
static void ngx_http_webhook_cleanup(void *data);
static void ngx_http_webhook_sha256_update(void *data, const u_char *p,
    size_t len);


static uint64_t  ngx_http_webhook_token;

static ngx_str_t  ngx_http_webhook_no_reg = ngx_string("-");

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_http_webhook_ctx_t *
ngx_http_webhook_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_webhook_ctx_t      *ctx;
    ngx_http_webhook_cleanup_t  *wc;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_webhook_module);
    if (ctx) {
        return ctx;
    }

    /*
     * An internal redirect (error_page, try_files, a named location)
     * clears module contexts; the pool cleanup still holds ours, so a
     * verified request is not verified twice and its reservation is not
     * mistaken for a replay.
     */

    for (cln = r->main->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_webhook_cleanup) {
            wc = cln->data;
            ngx_http_set_ctx(r->main, wc->ctx, ngx_http_webhook_module);
            return wc->ctx;
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_webhook_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_reason_e      reason;
    ngx_http_webhook_loc_conf_t   *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if ((wlcf->scheme == NULL && wlcf->registry == NULL) || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_webhook_get_ctx(r);

    if (ctx) {
        if (ctx->looking_up) {
            return NGX_AGAIN;
        }

        if (!ctx->looked_up || ctx->done) {
            return ctx->status;
        }

        /* the registry answered: on with the registration's scheme */
        ctx->looked_up = 0;
        reason = ctx->reason;

    } else {
        ctx = ngx_http_webhook_new_ctx(r, wlcf);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        reason = NGX_HTTP_WEBHOOK_OK;

        if (wlcf->registry) {
            /* a denied address costs no lookup */

            if (wlcf->allow
                && ngx_http_webhook_allow_match(wlcf->allow,
                                                r->connection->sockaddr)
                   != NGX_OK)
            {
                reason = NGX_HTTP_WEBHOOK_IP_DENIED;

            } else if (ngx_http_webhook_registry_lookup(r, wlcf, ctx, &reason)
                       == NGX_AGAIN)
            {
                ctx->looking_up = 1;
                return NGX_AGAIN;
            }
        }
    }

    /* checks that need no body come first, and a failure reads none */

    if (reason == NGX_HTTP_WEBHOOK_OK) {
        reason = ngx_http_webhook_check_headers(r, wlcf, ctx);
    }

    if (reason == NGX_HTTP_WEBHOOK_NREASONS) {
        /* our failure, not the client's: logged where it happened */
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (reason == NGX_HTTP_WEBHOOK_HANDSHAKE) {
        /* a provider's setup request: answered here, never upstream */

        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        (void) ngx_http_webhook_decline(r, wlcf, ctx, reason);

        ngx_http_finalize_request(r,
                                  ngx_http_webhook_setup_answer(r, wlcf, ctx));
        return NGX_DONE;
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        goto reject;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_webhook_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        if (rc != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return rc;
        }

        /* the body is half read: this connection cannot be reused */
        r->keepalive = 0;
        ctx->detail = "body exceeds client_max_body_size";
        ngx_http_finalize_request(r,
            ngx_http_webhook_reject(r, wlcf, ctx,
                                    NGX_HTTP_WEBHOOK_BODY_TOO_LARGE));
        return NGX_DONE;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;

reject:

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    ngx_http_finalize_request(r, ngx_http_webhook_reject(r, wlcf, ctx,
                                                         reason));
    return NGX_DONE;
}


static ngx_http_webhook_ctx_t *
ngx_http_webhook_new_ctx(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_cleanup_t    *wc;
    ngx_http_webhook_main_conf_t  *wmcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->secret_index = -1;
    ctx->status = NGX_DONE;
    ctx->scheme = wlcf->scheme;
    ctx->secrets = wlcf->secrets;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_webhook_cleanup_t));
    if (cln == NULL) {
        return NULL;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    wc = cln->data;
    wc->request = r;
    wc->ctx = ctx;
    wc->wlcf = wlcf;
    wc->zone = wmcf->zone;
    cln->handler = ngx_http_webhook_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_webhook_module);

    return ctx;
}


/* allowlist, headers, timestamp: what can be decided before the body */

static ngx_http_webhook_reason_e
ngx_http_webhook_check_headers(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    int64_t                     now;
    ngx_time_t                 *tp;
    ngx_http_webhook_reason_e   reason;

    if (wlcf->allow
        && ngx_http_webhook_allow_match(wlcf->allow, r->connection->sockaddr)
           != NGX_OK)
    {
        return NGX_HTTP_WEBHOOK_IP_DENIED;
    }

    reason = ngx_http_webhook_setup_check(r, wlcf, ctx);

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    reason = ngx_http_webhook_parse_headers(r, ctx->scheme, ctx);

    if (reason == NGX_HTTP_WEBHOOK_MISSING_SIGNATURE
        && ctx->scheme->setup == NGX_HTTP_WEBHOOK_SETUP_NOTION
        && r->headers_in.content_length_n > 0
        && r->headers_in.content_length_n <= 1024)
    {
        /* maybe Notion's unsigned verification request: see the body */
        ctx->setup = 1;
        return NGX_HTTP_WEBHOOK_OK;
    }

    if (reason == NGX_HTTP_WEBHOOK_MISSING_SIGNATURE
        && ctx->scheme->woocommerce_ping
        && r->headers_in.content_length_n > 0
        && r->headers_in.content_length_n <= 64)
    {
        /* maybe WooCommerce's unsigned creation ping: look at the body */
        ctx->ping = 1;
        reason = NGX_HTTP_WEBHOOK_OK;
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    if (ctx->scheme->format == NGX_HTTP_WEBHOOK_SIG_TOKEN) {
        if (ngx_http_webhook_token_equal(&ctx->shared_secret,
                                         wlcf->verify_token)
            != NGX_OK)
        {
            ctx->detail = "Verification-Token differs from "
                          "webhook_verify_token";
            return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
        }

        ctx->secret_index = 0;
    }

    if (ctx->scheme->format == NGX_HTTP_WEBHOOK_SIG_JWT) {
        return ngx_http_webhook_jwt_check(r, wlcf, ctx);
    }

    if (ctx->has_timestamp) {
        tp = ngx_timeofday();
        now = (int64_t) tp->sec * 1000 + tp->msec;

        if (ctx->timestamp_ms < now - (int64_t) wlcf->tolerance
            || ctx->timestamp_ms > now + (int64_t) wlcf->tolerance)
        {
            return NGX_HTTP_WEBHOOK_STALE_TIMESTAMP;
        }
    }

    return NGX_HTTP_WEBHOOK_OK;
}


static void
ngx_http_webhook_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_reason_e      reason;
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_main_conf_t  *wmcf;

    ctx = ngx_http_webhook_get_ctx(r);
    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    if (ctx->setup) {
        rc = ngx_http_webhook_notion_verification(r);

        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (rc == NGX_DECLINED) {
            reason = NGX_HTTP_WEBHOOK_MISSING_SIGNATURE;

        } else if (!wlcf->notion_setup) {
            ctx->detail = "Notion verification request; "
                          "webhook_notion_setup is off";
            reason = NGX_HTTP_WEBHOOK_SETUP_REFUSED;

        } else {
            /* the operator reads the token upstream; nothing is kept */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "webhook: Notion verification request passed to "
                          "the upstream (webhook_notion_setup on), "
                          "label \"%V\"", &wlcf->label->name);
            ngx_http_webhook_pass(r, wlcf, ctx, NGX_HTTP_WEBHOOK_HANDSHAKE);
            return;
        }

        ngx_http_finalize_request(r, ngx_http_webhook_reject(r, wlcf, ctx,
                                                             reason));
        return;
    }

    if (ctx->ping) {
        rc = ngx_http_webhook_woocommerce_ping(r);

        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        reason = (rc == NGX_OK) ? NGX_HTTP_WEBHOOK_PING
                                : NGX_HTTP_WEBHOOK_MISSING_SIGNATURE;

        ngx_http_finalize_request(r, ngx_http_webhook_reject(r, wlcf, ctx,
                                                             reason));
        return;
    }

    reason = ngx_http_webhook_verify_body(r, wlcf, ctx);

    /* a verified delivery of an event the registration did not ask for */

    if (reason == NGX_HTTP_WEBHOOK_OK && ctx->reg) {
        reason = ngx_http_webhook_registry_event(r, ctx);
    }

    if (reason != NGX_HTTP_WEBHOOK_OK
        || wlcf->replay == NGX_HTTP_WEBHOOK_REPLAY_OFF)
    {
        ngx_http_webhook_decide(r, ctx, reason);
        return;
    }

    if (ngx_http_webhook_token == 0) {
        ngx_http_webhook_token = ((uint64_t) ngx_pid << 40)
                                 ^ ((uint64_t) ngx_random() << 8);
    }

    ctx->token = ++ngx_http_webhook_token;
    ctx->ttl = wlcf->replay_ttl;

    if (wlcf->registry && !wlcf->replay_ttl_set) {
        /* the registration's scheme says how long a key must be kept */
        ctx->ttl = ngx_http_webhook_default_replay_ttl(ctx->scheme,
                                                       wlcf->tolerance);
    }

    if (wlcf->replay == NGX_HTTP_WEBHOOK_REPLAY_REDIS) {
        reason = NGX_HTTP_WEBHOOK_OK;

        /*
         * With a zone, the key is reserved in shared memory too: a copy
         * this node has seen is refused without a round trip, and what
         * was accepted locally while Redis was down stays refused here
         * once it is back.
         */
        if (wmcf->zone) {
            reason = ngx_http_webhook_local_reserve(r, ctx);
        }

        if (reason == NGX_HTTP_WEBHOOK_OK
            && ngx_http_webhook_redis_reserve(r, ctx, &reason) == NGX_AGAIN)
        {
            return;                     /* the reply or a timer resumes */
        }

    } else {
        reason = ngx_http_webhook_local_reserve(r, ctx);
    }

    ngx_http_webhook_decide(r, ctx, reason);
}


void
ngx_http_webhook_decide(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason)
{
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (reason == NGX_HTTP_WEBHOOK_NREASONS) {
        /* our failure, not the client's: logged where it happened */
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        ngx_http_finalize_request(r, ngx_http_webhook_reject(r, wlcf, ctx,
                                                             reason));
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook: verified, label \"%V\", secret #%i",
                   &wlcf->label->name, ctx->secret_index);

    ngx_http_webhook_pass(r, wlcf, ctx, NGX_HTTP_WEBHOOK_OK);
}


/* on to the upstream: a verified request, or a setup one let through */

static void
ngx_http_webhook_pass(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason)
{
    ctx->reason = reason;
    ctx->verified_at = ngx_time();
    ctx->done = 1;
    ctx->status = NGX_OK;

    ngx_http_webhook_count(wlcf, reason);

    if (ctx->reg) {
        ngx_http_webhook_registry_record(ctx, reason);
    }

    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_http_webhook_reason_e
ngx_http_webhook_local_reserve(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    rc = ngx_http_webhook_shm_reserve(wmcf->zone, ctx->replay_key, ctx->ttl,
                                      ctx->token, &ctx->slot);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_WEBHOOK_REPLAY;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webhook: replay store \"%V\" could not store a key",
                      &wmcf->zone->shm.name);
        return NGX_HTTP_WEBHOOK_STORE_UNAVAILABLE;
    }

    ctx->reserved = 1;

    return NGX_HTTP_WEBHOOK_OK;
}


/* Redis failed this request: webhook_redis_down says what happens */

ngx_http_webhook_reason_e
ngx_http_webhook_redis_fallback(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, const char *why)
{
    ngx_http_webhook_loc_conf_t  *wlcf;

    static const char  *decisions[] = {
        "the replay check is done in the local store",
        "the request is refused with 503",
        "the request is accepted without a replay check"
    };

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    ngx_http_webhook_count(wlcf, NGX_HTTP_WEBHOOK_C_FALLBACK
                                 + wlcf->redis_down);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "webhook: redis unavailable (%s): %s, label \"%V\"",
                  why, decisions[wlcf->redis_down], &wlcf->label->name);

    switch (wlcf->redis_down) {

    case NGX_HTTP_WEBHOOK_REDIS_DOWN_REJECT:
        ctx->detail = "replay store unavailable, webhook_redis_down reject";
        return NGX_HTTP_WEBHOOK_STORE_UNAVAILABLE;

    case NGX_HTTP_WEBHOOK_REDIS_DOWN_ACCEPT:
        return NGX_HTTP_WEBHOOK_OK;

    default: /* NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL */
        return ctx->reserved ? NGX_HTTP_WEBHOOK_OK
                             : ngx_http_webhook_local_reserve(r, ctx);
    }
}


/* the outcome of the request decides whether its key is kept */

static void
ngx_http_webhook_cleanup(void *data)
{
    ngx_http_webhook_cleanup_t *wc = data;

    ngx_uint_t               keep, status;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = wc->ctx;

    status = wc->request->headers_out.status;
    keep = (status >= 200 && status < 300);

    /*
     * A Redis reply may still come: it must not find this request, and
     * a key it wins is kept or released as this final answer says.
     */
    ngx_http_webhook_redis_cancel(ctx, keep);
    ngx_http_webhook_registry_cancel(ctx);

    if (!ctx->reserved && !ctx->reserved_redis) {
        return;
    }

    if (ctx->reserved) {
        ngx_http_webhook_shm_settle(wc->zone, ctx->replay_key, ctx->token,
                                    ctx->ttl, keep, ctx->slot);
    }

    if (ctx->reserved_redis && !keep) {
        /* the key was set with its TTL: keeping needs no command */
        ngx_http_webhook_redis_release(ctx);
    }

    ctx->reserved = 0;
    ctx->reserved_redis = 0;

    ngx_http_webhook_count(wc->wlcf, keep ? NGX_HTTP_WEBHOOK_C_KEPT
                                          : NGX_HTTP_WEBHOOK_C_RELEASED);

    if (!keep) {
        ngx_log_error(NGX_LOG_INFO, wc->request->connection->log, 0,
                      "webhook: final status %ui, replay key released "
                      "so the sender's retry is accepted", status);
    }
}


static ngx_int_t
ngx_http_webhook_reject(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason)
{
    ngx_buf_t                  *b;
    ngx_http_webhook_reason_t  *rs;

    rs = ngx_http_webhook_decline(r, wlcf, ctx, reason);

    b = ngx_http_webhook_json(r, rs);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_send_json(r, b);
}


/* what every rejection does, however it is answered: counted, logged */

static ngx_http_webhook_reason_t *
ngx_http_webhook_decline(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason)
{
    ngx_http_webhook_reason_t  *rs;

    rs = &ngx_http_webhook_reasons[reason];

    ctx->reason = reason;
    ctx->done = 1;
    ctx->status = rs->status;

    ngx_http_webhook_count(wlcf, reason);

    if (ctx->reg) {
        ngx_http_webhook_registry_record(ctx, reason);
    }

    if (reason == NGX_HTTP_WEBHOOK_PING) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook: WooCommerce ping answered, label \"%V\"",
                      &wlcf->label->name);
        return rs;
    }

    if (reason == NGX_HTTP_WEBHOOK_HANDSHAKE) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook: setup handshake answered at the edge (%s), "
                      "label \"%V\"", ctx->detail, &wlcf->label->name);
        return rs;
    }

    /*
     * Never the secret or a MAC: the reason and the label; nginx adds
     * "client:" (the address realip settled on) and the request line.
     */

    if (wlcf->registry) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook rejected: %V (%s), label \"%V\", "
                      "registration \"%V\"",
                      &rs->name, ctx->detail ? ctx->detail
                                             : (char *) rs->message.data,
                      &wlcf->label->name,
                      ctx->reg ? &ctx->reg->id : &ngx_http_webhook_no_reg);
        return rs;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "webhook rejected: %V (%s), label \"%V\"",
                  &rs->name, ctx->detail ? ctx->detail
                                         : (char *) rs->message.data,
                  &wlcf->label->name);

    return rs;
}


/* the answer's body, and its headers set for it */

static ngx_buf_t *
ngx_http_webhook_json(ngx_http_request_t *r, ngx_http_webhook_reason_t *rs)
{
    size_t        len;
    ngx_buf_t    *b;
    const char   *key;

    key = (rs->status < NGX_HTTP_SPECIAL_RESPONSE) ? "result" : "error";

    len = sizeof("{\"\":\"\",\"message\":\"\"}" CRLF) - 1
          + ngx_strlen(key) + rs->name.len + rs->message.len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_sprintf(b->last, "{\"%s\":\"%V\",\"message\":\"%V\"}" CRLF,
                          key, &rs->name, &rs->message);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = rs->status;
    r->headers_out.status_line.len = 0;

    if (rs->status == 422) {
        /* nginx 1.22 has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return b;
}


static ngx_int_t
ngx_http_webhook_send_json(ngx_http_request_t *r, ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * A 413 nginx answers by itself in a verifying location is answered as
 * the module's own: a Content-Length above client_max_body_size is
 * refused by nginx's core before any phase handler runs, and a chunked
 * body that grows past it while being read is answered by nginx's body
 * reader. The checks that need no body still come first (a denied
 * address gets 403 ip_denied, not 413), and the answer is the JSON, the
 * log line and the counter of any other rejection.
 */

static ngx_int_t
ngx_http_webhook_header_filter(ngx_http_request_t *r)
{
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_reason_t    *rs;
    ngx_http_webhook_reason_e     reason;
    ngx_http_webhook_loc_conf_t  *wlcf;

    if (r->headers_out.status != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
        || r != r->main)
    {
        return ngx_http_next_header_filter(r);
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (wlcf->scheme == NULL && wlcf->registry == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_webhook_get_ctx(r);

    if (ctx && ctx->done) {
        /* the module answered, or the upstream did after a pass */
        return ngx_http_next_header_filter(r);
    }

    reason = NGX_HTTP_WEBHOOK_OK;

    if (ctx == NULL) {
        ctx = ngx_http_webhook_new_ctx(r, wlcf);
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        /* in a registry location no scheme is known before the lookup */
        if (ctx->scheme) {
            reason = ngx_http_webhook_check_headers(r, wlcf, ctx);
        }
    }

    if (reason == NGX_HTTP_WEBHOOK_OK
        || reason == NGX_HTTP_WEBHOOK_HANDSHAKE
        || reason == NGX_HTTP_WEBHOOK_NREASONS)
    {
        reason = NGX_HTTP_WEBHOOK_BODY_TOO_LARGE;
        ctx->detail = "body exceeds client_max_body_size";
    }

    rs = ngx_http_webhook_decline(r, wlcf, ctx, reason);

    ctx->json = ngx_http_webhook_json(r, rs);
    if (ctx->json == NULL) {
        return NGX_ERROR;
    }

    ctx->replace_body = 1;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_webhook_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t              out;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (ctx == NULL || !ctx->replace_body) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's own page is dropped; what is already queued still goes */

    if (ctx->json == NULL) {
        return ngx_http_next_body_filter(r, NULL);
    }

    out.buf = ctx->json;
    out.next = NULL;
    ctx->json = NULL;

    return ngx_http_next_body_filter(r, &out);
}


void
ngx_http_webhook_filter_init(void)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_webhook_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_webhook_body_filter;
}


/* computed on demand: only when a variable or the attestation asks */

static void
ngx_http_webhook_sha256_update(void *data, const u_char *p, size_t len)
{
    SHA256_Update(data, p, len);
}


ngx_int_t
ngx_http_webhook_body_sha256(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    u_char      md[SHA256_DIGEST_LENGTH];
    SHA256_CTX  sha;

    if (ctx->body_hashed) {
        return NGX_OK;
    }

    SHA256_Init(&sha);

    if (ngx_http_webhook_body_walk(r, ngx_http_webhook_sha256_update, &sha)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    SHA256_Final(md, &sha);
    ngx_hex_dump(ctx->body_sha256, md, sizeof(md));
    ctx->body_hashed = 1;

    return NGX_OK;
}


/*
 * HMAC-SHA256 over v1:{provider}:{id}:{edge unix time}:{hex sha256 body},
 * or r1:{registration}:{provider}:... in a registry location
 */

ngx_int_t
ngx_http_webhook_attestation(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    u_char                        mac[SHA256_DIGEST_LENGTH];
    u_char                        head[NGX_INT64_LEN + 2];
    ngx_http_webhook_hmac_t       h;
    ngx_http_webhook_loc_conf_t  *wlcf;

    if (ctx->attestation.len) {
        return NGX_OK;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (wlcf->attest == NULL || ctx->reason != NGX_HTTP_WEBHOOK_OK
        || !ctx->done)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_webhook_body_sha256(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_webhook_hmac_init(&h, wlcf->attest->key);

    if (ctx->reg) {
        /* r1: the registration is attested too (contract 4) */
        ngx_http_webhook_hmac_update(&h, "r1:", 3);
        ngx_http_webhook_hmac_update(&h, ctx->reg->id.data,
                                     ctx->reg->id.len);
        ngx_http_webhook_hmac_update(&h, ":", 1);

    } else {
        ngx_http_webhook_hmac_update(&h, "v1:", 3);
    }

    ngx_http_webhook_hmac_update(&h, ctx->scheme->name.data,
                                 ctx->scheme->name.len);
    ngx_http_webhook_hmac_update(&h, ":", 1);
    ngx_http_webhook_hmac_update(&h, ctx->id.data, ctx->id.len);
    ngx_http_webhook_hmac_update(&h, head,
                                 ngx_sprintf(head, ":%T:", ctx->verified_at)
                                 - head);
    ngx_http_webhook_hmac_update(&h, ctx->body_sha256,
                                 sizeof(ctx->body_sha256));
    ngx_http_webhook_hmac_final(&h, mac);

    ctx->attestation.data = ngx_pnalloc(r->pool, sizeof(mac) * 2);
    if (ctx->attestation.data == NULL) {
        return NGX_ERROR;
    }

    ctx->attestation.len = ngx_hex_dump(ctx->attestation.data, mac,
                                        sizeof(mac))
                           - ctx->attestation.data;

    return NGX_OK;
}

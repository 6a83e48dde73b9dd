
/*
 * Copyright (C) webhook edge authors
 *
 * Providers' setup handshakes, answered at the edge so they never need
 * application code: Meta's GET ?hub.challenge, RingCentral's
 * Validation-Token echo, and the shape of Notion's unsigned first POST.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <jansson.h>


#define NGX_HTTP_WEBHOOK_CHALLENGE_MAX  256


static ngx_int_t ngx_http_webhook_query_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_http_webhook_reason_e ngx_http_webhook_meta_setup(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx);
static ngx_http_webhook_reason_e ngx_http_webhook_ringcentral_setup(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx);


/* 1..max bytes of printable ASCII, no space: safe in a header or a body */

ngx_int_t
ngx_http_webhook_printable_token(ngx_str_t *value, size_t max)
{
    size_t  i;

    if (value->len == 0 || value->len > max) {
        return NGX_ERROR;
    }

    for (i = 0; i < value->len; i++) {
        if (value->data[i] <= 0x20 || value->data[i] >= 0x7f) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* digests of equal length: the comparison time says nothing */

ngx_int_t
ngx_http_webhook_token_equal(ngx_str_t *given, ngx_http_webhook_secret_t *want)
{
    u_char      md[SHA256_DIGEST_LENGTH];
    SHA256_CTX  sha;

    SHA256_Init(&sha);
    SHA256_Update(&sha, given->data, given->len);
    SHA256_Final(md, &sha);

    return CRYPTO_memcmp(md, want->digest, SHA256_DIGEST_LENGTH) == 0
           ? NGX_OK : NGX_DECLINED;
}


/*
 * A request the scheme's setup handshake answers at the edge: returns
 * NGX_HTTP_WEBHOOK_HANDSHAKE (ctx->challenge holds the answer), a
 * rejection, or NGX_HTTP_WEBHOOK_OK for a request that is not one.
 */

ngx_http_webhook_reason_e
ngx_http_webhook_setup_check(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    switch (ctx->scheme->setup) {

    case NGX_HTTP_WEBHOOK_SETUP_META:
        if (wlcf->verify_token == NULL
            || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
        {
            return NGX_HTTP_WEBHOOK_OK;
        }

        return ngx_http_webhook_meta_setup(r, wlcf, ctx);

    case NGX_HTTP_WEBHOOK_SETUP_RINGCENTRAL:
        return ngx_http_webhook_ringcentral_setup(r, ctx);

    default:
        return NGX_HTTP_WEBHOOK_OK;
    }
}


/* an argument of the query string, decoded as a form decodes it */

static ngx_int_t
ngx_http_webhook_query_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *src, *dst;
    size_t      i;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (raw.len > 4 * NGX_HTTP_WEBHOOK_CHALLENGE_MAX) {
        return NGX_ERROR;
    }

    value->data = ngx_pnalloc(r->pool, 2 * raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    src = value->data + raw.len;

    for (i = 0; i < raw.len; i++) {
        src[i] = (raw.data[i] == '+') ? ' ' : raw.data[i];
    }

    dst = value->data;
    ngx_unescape_uri(&dst, &src, raw.len, 0);
    value->len = dst - value->data;

    return NGX_OK;
}


/*
 * Meta: GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C is
 * answered 200 text/plain with exactly C when T is the configured token.
 * The token is checked first: without it nothing else is said.
 */

static ngx_http_webhook_reason_e
ngx_http_webhook_meta_setup(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  token, mode, challenge;

    rc = ngx_http_webhook_query_arg(r, "hub.verify_token", &token);

    if (rc == NGX_DECLINED) {
        ctx->detail = "GET without hub.verify_token";
        return NGX_HTTP_WEBHOOK_INVALID_VERIFY_TOKEN;
    }

    if (rc != NGX_OK
        || ngx_http_webhook_token_equal(&token, wlcf->verify_token) != NGX_OK)
    {
        ctx->detail = "hub.verify_token differs from webhook_verify_token";
        return NGX_HTTP_WEBHOOK_INVALID_VERIFY_TOKEN;
    }

    if (ngx_http_webhook_query_arg(r, "hub.mode", &mode) != NGX_OK
        || mode.len != 9 || ngx_strncmp(mode.data, "subscribe", 9) != 0)
    {
        ctx->detail = "hub.mode is not subscribe";
        return NGX_HTTP_WEBHOOK_INVALID_CHALLENGE;
    }

    if (ngx_http_webhook_query_arg(r, "hub.challenge", &challenge) != NGX_OK
        || ngx_http_webhook_printable_token(&challenge,
                                            NGX_HTTP_WEBHOOK_CHALLENGE_MAX)
           != NGX_OK)
    {
        ctx->detail = "hub.challenge missing, longer than 256 bytes "
                      "or not printable";
        return NGX_HTTP_WEBHOOK_INVALID_CHALLENGE;
    }

    ctx->challenge = challenge;
    ctx->detail = "Meta hub.challenge";

    return NGX_HTTP_WEBHOOK_HANDSHAKE;
}


/*
 * RingCentral: a subscription being created sends Validation-Token and
 * wants it back as a response header within 3 s.
 */

static ngx_http_webhook_reason_e
ngx_http_webhook_ringcentral_setup(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    ngx_uint_t  n;

    static ngx_str_t  name = ngx_string("validation-token");

    n = ngx_http_webhook_header(r, &name, &ctx->challenge);

    if (n == 0) {
        return NGX_HTTP_WEBHOOK_OK;
    }

    if (n > 1
        || ngx_http_webhook_printable_token(&ctx->challenge,
                                            NGX_HTTP_WEBHOOK_CHALLENGE_MAX)
           != NGX_OK)
    {
        ngx_str_null(&ctx->challenge);
        ctx->detail = "Validation-Token sent twice, longer than 256 bytes "
                      "or not printable";
        return NGX_HTTP_WEBHOOK_INVALID_CHALLENGE;
    }

    ctx->detail = "RingCentral Validation-Token";

    return NGX_HTTP_WEBHOOK_HANDSHAKE;
}


ngx_int_t
ngx_http_webhook_setup_answer(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = 0;

    b = NULL;

    if (ctx->scheme->setup == NGX_HTTP_WEBHOOK_SETUP_RINGCENTRAL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Validation-Token");
        h->value = ctx->challenge;

    } else {
        /* Meta: the challenge, byte for byte, and nothing else */

        ngx_str_set(&r->headers_out.content_type, "text/plain");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
        r->headers_out.charset.len = 0;
        r->headers_out.content_length_n = ctx->challenge.len;

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "X-Content-Type-Options");
        ngx_str_set(&h->value, "nosniff");

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = ctx->challenge.data;
        b->last = ctx->challenge.data + ctx->challenge.len;
        b->memory = 1;
        b->last_buf = 1;
        b->last_in_chain = 1;
    }

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (b == NULL) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Notion's first POST is unsigned: {"verification_token":"secret_..."}.
 * NGX_OK for exactly that shape, NGX_DECLINED for anything else.
 */

ngx_int_t
ngx_http_webhook_notion_verification(ngx_http_request_t *r)
{
    json_t     *root, *token;
    ngx_str_t   body, value;

    if (ngx_http_webhook_body_flat(r, &body) != NGX_OK) {
        return NGX_ERROR;
    }

    root = ngx_http_webhook_json_parse(r->pool, r->connection->log,
                                       body.data, body.len);

    if (root == NULL || json_object_size(root) != 1) {
        return NGX_DECLINED;
    }

    token = json_object_get(root, "verification_token");

    if (token == NULL || !json_is_string(token)) {
        return NGX_DECLINED;
    }

    value.data = (u_char *) json_string_value(token);
    value.len = json_string_length(token);

    return ngx_http_webhook_printable_token(&value, 256) == NGX_OK
           ? NGX_OK : NGX_DECLINED;
}

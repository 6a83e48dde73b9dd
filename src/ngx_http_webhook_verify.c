
/*
 * Copyright (C) webhook edge authors
 *
 * Schemes, HMAC over the body chain, signature headers and timestamps.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <jansson.h>


#define NGX_HTTP_WEBHOOK_READ_CHUNK   65536


typedef struct {
    ngx_http_webhook_hmac_t     *macs;
    ngx_uint_t                   n;
} ngx_http_webhook_macs_t;


static ngx_int_t ngx_http_webhook_decode_mac(ngx_str_t *value,
    ngx_http_webhook_encoding_e enc, size_t size, ngx_http_webhook_sig_t *sig);
static ngx_http_webhook_reason_e ngx_http_webhook_parse_stripe(
    ngx_str_t *value, ngx_http_webhook_ctx_t *ctx);
static ngx_http_webhook_reason_e ngx_http_webhook_parse_signature(
    ngx_http_webhook_scheme_t *scheme, ngx_str_t *value,
    ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_parse_iso8601(u_char *p, u_char *last,
    int64_t *ms);
static void ngx_http_webhook_macs_update(void *data, const u_char *p,
    size_t len);
static ngx_int_t ngx_http_webhook_secret_key(ngx_http_request_t *r,
    ngx_http_webhook_scheme_t *scheme, ngx_http_webhook_secret_t *secret,
    ngx_http_webhook_hmac_key_t **key, u_char *digest);
static ngx_http_webhook_reason_e ngx_http_webhook_verify_mac(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx);
static ngx_http_webhook_reason_e ngx_http_webhook_verify_shared(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx);
static ngx_http_webhook_reason_e ngx_http_webhook_salesforce_fields(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx);
static ngx_http_webhook_reason_e ngx_http_webhook_body_id(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx, const char *key,
    const char *inner);
static void ngx_http_webhook_macs_cleanse(ngx_http_webhook_macs_t *macs);
static void ngx_http_webhook_replay_key(ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx, u_char type, u_char *p, size_t len);


ngx_http_webhook_reason_t  ngx_http_webhook_reasons[] = {
    { ngx_string("ok"), NGX_HTTP_OK,
      ngx_string("Verified") },
    { ngx_string("ip_denied"), NGX_HTTP_FORBIDDEN,
      ngx_string("IP not allowed") },
    { ngx_string("missing_signature"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Signature header is missing") },
    { ngx_string("malformed_signature"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Signature header is malformed") },
    { ngx_string("missing_timestamp"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Timestamp is missing") },
    { ngx_string("malformed_timestamp"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Timestamp is malformed") },
    { ngx_string("missing_nonce"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Nonce or message id is missing") },
    { ngx_string("stale_timestamp"), NGX_HTTP_UNAUTHORIZED,
      ngx_string("Timestamp outside the tolerance window") },
    { ngx_string("body_too_large"), NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      ngx_string("Request body too large") },
    { ngx_string("invalid_signature"), NGX_HTTP_UNAUTHORIZED,
      ngx_string("Invalid signature") },
    { ngx_string("missing_fields"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Missing fields") },
    { ngx_string("replay"), NGX_HTTP_UNAUTHORIZED,
      ngx_string("Nonce already used") },
    { ngx_string("replay_store_unavailable"), NGX_HTTP_SERVICE_UNAVAILABLE,
      ngx_string("Replay store unavailable, retry later") },
    { ngx_string("ping"), NGX_HTTP_OK,
      ngx_string("Webhook ping accepted") },
    { ngx_string("invalid_verify_token"), NGX_HTTP_FORBIDDEN,
      ngx_string("Verify token does not match") },
    { ngx_string("invalid_challenge"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Setup challenge is missing or malformed") },
    { ngx_string("setup_refused"), NGX_HTTP_FORBIDDEN,
      ngx_string("Setup request refused at the edge") },
    { ngx_string("missing_token"), NGX_HTTP_BAD_REQUEST,
      ngx_string("Bearer token is missing") },
    { ngx_string("invalid_token"), NGX_HTTP_UNAUTHORIZED,
      ngx_string("Invalid token") },
    { ngx_string("handshake"), NGX_HTTP_OK,
      ngx_string("Setup handshake answered") },
    { ngx_string("unknown_registration"), NGX_HTTP_NOT_FOUND,
      ngx_string("No such webhook registration") },
    { ngx_string("registration_disabled"), 410,
      ngx_string("Webhook registration is disabled or deleted") },
    { ngx_string("event_not_registered"), 422,
      ngx_string("Event type is not among the registration's events") },
};


ngx_str_t  ngx_http_webhook_counter_names[] = {
    ngx_string("passed"),
    ngx_string("ip_denied"),
    ngx_string("missing_signature"),
    ngx_string("malformed_signature"),
    ngx_string("missing_timestamp"),
    ngx_string("malformed_timestamp"),
    ngx_string("missing_nonce"),
    ngx_string("stale_timestamp"),
    ngx_string("body_too_large"),
    ngx_string("invalid_signature"),
    ngx_string("missing_fields"),
    ngx_string("replay"),
    ngx_string("replay_store_unavailable"),
    ngx_string("ping"),
    ngx_string("invalid_verify_token"),
    ngx_string("invalid_challenge"),
    ngx_string("setup_refused"),
    ngx_string("missing_token"),
    ngx_string("invalid_token"),
    ngx_string("handshake"),
    ngx_string("unknown_registration"),
    ngx_string("registration_disabled"),
    ngx_string("event_not_registered"),
    ngx_string("released"),
    ngx_string("kept"),
    ngx_string("redis_fallback_local"),
    ngx_string("redis_fallback_reject"),
    ngx_string("redis_fallback_accept"),
    ngx_string("token_cache_hits"),
};


static ngx_http_webhook_part_t  ngx_http_webhook_body_only[] = {
    { NGX_HTTP_WEBHOOK_PART_BODY, ngx_null_string },
};

static ngx_http_webhook_part_t  ngx_http_webhook_stripe_parts[] = {
    { NGX_HTTP_WEBHOOK_PART_TIMESTAMP, ngx_null_string },
    { NGX_HTTP_WEBHOOK_PART_LITERAL, ngx_string(".") },
    { NGX_HTTP_WEBHOOK_PART_BODY, ngx_null_string },
};

static ngx_http_webhook_part_t  ngx_http_webhook_slack_parts[] = {
    { NGX_HTTP_WEBHOOK_PART_LITERAL, ngx_string("v0:") },
    { NGX_HTTP_WEBHOOK_PART_TIMESTAMP, ngx_null_string },
    { NGX_HTTP_WEBHOOK_PART_LITERAL, ngx_string(":") },
    { NGX_HTTP_WEBHOOK_PART_BODY, ngx_null_string },
};

static ngx_http_webhook_part_t  ngx_http_webhook_standard_parts[] = {
    { NGX_HTTP_WEBHOOK_PART_NONCE, ngx_null_string },
    { NGX_HTTP_WEBHOOK_PART_LITERAL, ngx_string(".") },
    { NGX_HTTP_WEBHOOK_PART_TIMESTAMP, ngx_null_string },
    { NGX_HTTP_WEBHOOK_PART_LITERAL, ngx_string(".") },
    { NGX_HTTP_WEBHOOK_PART_BODY, ngx_null_string },
};


#define ngx_http_webhook_parts(a)  a, sizeof(a) / sizeof(a[0])


static ngx_http_webhook_scheme_t  ngx_http_webhook_schemes[] = {

    { .name = ngx_string("stripe"),
      .format = NGX_HTTP_WEBHOOK_SIG_STRIPE,
      .signature = { ngx_string("stripe-signature"), ngx_null_string },
      .timestamp_required = 1,
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .timestamp_format = NGX_HTTP_WEBHOOK_TS_UNIX,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_stripe_parts) },

    { .name = ngx_string("github"),
      .signature = { ngx_string("x-hub-signature-256"), ngx_null_string },
      .prefix = ngx_string("sha256="),
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only) },

    { .name = ngx_string("slack"),
      .signature = { ngx_string("x-slack-signature"), ngx_null_string },
      .prefix = ngx_string("v0="),
      .timestamp_required = 1,
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .timestamp = { ngx_string("x-slack-request-timestamp"),
                     ngx_null_string },
      .timestamp_format = NGX_HTTP_WEBHOOK_TS_UNIX,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_slack_parts) },

    { .name = ngx_string("shopify"),
      .signature = { ngx_string("x-shopify-hmac-sha256"), ngx_null_string },
      .encoding = NGX_HTTP_WEBHOOK_ENC_BASE64,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only) },

    { .name = ngx_string("standard"),
      .signature = { ngx_string("webhook-signature"),
                     ngx_string("svix-signature") },
      .prefix = ngx_string("v1,"),
      .whsec = 1,
      .timestamp_required = 1,
      .nonce_required = 1,
      .encoding = NGX_HTTP_WEBHOOK_ENC_BASE64,
      .list_separator = ' ',
      .timestamp = { ngx_string("webhook-timestamp"),
                     ngx_string("svix-timestamp") },
      .timestamp_format = NGX_HTTP_WEBHOOK_TS_UNIX,
      .nonce = { ngx_string("webhook-id"), ngx_string("svix-id") },
      .parts = ngx_http_webhook_parts(ngx_http_webhook_standard_parts) },

    { .name = ngx_string("woocommerce"),
      .signature = { ngx_string("x-wc-webhook-signature"), ngx_null_string },
      .woocommerce_ping = 1,
      .encoding = NGX_HTTP_WEBHOOK_ENC_BASE64,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only) },

    { .name = ngx_string("salesforce"),
      .signature = { ngx_string("x-sf-signature"), ngx_null_string },
      .prefix = ngx_string("sha256="),
      .prefix_optional = 1,
      .timestamp_required = 1,
      .nonce_required = 1,
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .timestamp = { ngx_string("x-sf-timestamp"), ngx_null_string },
      .timestamp_format = NGX_HTTP_WEBHOOK_TS_AUTO,
      .nonce = { ngx_string("x-sf-nonce"), ngx_null_string },
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only),
      .fields = NGX_HTTP_WEBHOOK_FIELDS_SALESFORCE },

    { .name = ngx_string("whmcs"),
      .signature = { ngx_string("x-whmcs-signature"), ngx_null_string },
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .timestamp = { ngx_string("x-whmcs-timestamp"), ngx_null_string },
      .timestamp_format = NGX_HTTP_WEBHOOK_TS_AUTO,
      .nonce = { ngx_string("x-whmcs-nonce"), ngx_null_string },
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only) },

    /* Meta (Facebook, Instagram, WhatsApp): the app secret */
    { .name = ngx_string("meta"),
      .signature = { ngx_string("x-hub-signature-256"), ngx_null_string },
      .prefix = ngx_string("sha256="),
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only),
      .setup = NGX_HTTP_WEBHOOK_SETUP_META },

    /* Notion: the verification token is the key */
    { .name = ngx_string("notion"),
      .signature = { ngx_string("x-notion-signature"), ngx_null_string },
      .prefix = ngx_string("sha256="),
      .encoding = NGX_HTTP_WEBHOOK_ENC_HEX,
      .parts = ngx_http_webhook_parts(ngx_http_webhook_body_only),
      .setup = NGX_HTTP_WEBHOOK_SETUP_NOTION },

    /* RingCentral signs nothing: a token chosen at subscription */
    { .name = ngx_string("ringcentral"),
      .format = NGX_HTTP_WEBHOOK_SIG_TOKEN,
      .signature = { ngx_string("verification-token"), ngx_null_string },
      .fields = NGX_HTTP_WEBHOOK_FIELDS_RINGCENTRAL,
      .setup = NGX_HTTP_WEBHOOK_SETUP_RINGCENTRAL },

    /* Google Cloud Pub/Sub push with an OIDC token */
    { .name = ngx_string("pubsub"),
      .format = NGX_HTTP_WEBHOOK_SIG_JWT,
      .signature = { ngx_string("authorization"), ngx_null_string },
      .fields = NGX_HTTP_WEBHOOK_FIELDS_PUBSUB },

    { .name = ngx_string("hft71"),
      .format = NGX_HTTP_WEBHOOK_SIG_SECRET,
      .signature = { ngx_string("x-hft71-webhook-secret"), ngx_null_string },
      .fields = NGX_HTTP_WEBHOOK_FIELDS_HFT71 },

    { .name = ngx_null_string }
};


ngx_http_webhook_scheme_t *
ngx_http_webhook_find_scheme(ngx_str_t *name)
{
    ngx_http_webhook_scheme_t  *s;

    for (s = ngx_http_webhook_schemes; s->name.len; s++) {
        if (s->name.len == name->len
            && ngx_strncmp(s->name.data, name->data, name->len) == 0)
        {
            return s;
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_webhook_parse_template(ngx_conf_t *cf, ngx_str_t *tpl,
    ngx_http_webhook_scheme_t *scheme)
{
    u_char                   *p, *last, *start, *close;
    ngx_str_t                 name;
    ngx_uint_t                i, bodies;
    ngx_array_t               parts;
    ngx_http_webhook_part_t  *part;

    static struct {
        ngx_str_t                name;
        ngx_http_webhook_part_e  type;
    } placeholders[] = {
        { ngx_string("body"), NGX_HTTP_WEBHOOK_PART_BODY },
        { ngx_string("timestamp"), NGX_HTTP_WEBHOOK_PART_TIMESTAMP },
        { ngx_string("nonce"), NGX_HTTP_WEBHOOK_PART_NONCE },
        { ngx_string("method"), NGX_HTTP_WEBHOOK_PART_METHOD },
        { ngx_string("uri"), NGX_HTTP_WEBHOOK_PART_URI },
    };

    if (ngx_array_init(&parts, cf->pool, 4, sizeof(ngx_http_webhook_part_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    bodies = 0;
    p = tpl->data;
    last = p + tpl->len;
    start = p;

    while (p < last) {

        if (*p != '{') {
            p++;
            continue;
        }

        close = ngx_strlchr(p, last, '}');
        if (close == NULL) {
            break;
        }

        name.data = p + 1;
        name.len = close - p - 1;

        for (i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
            if (placeholders[i].name.len == name.len
                && ngx_strncmp(placeholders[i].name.data, name.data, name.len)
                   == 0)
            {
                break;
            }
        }

        if (i == sizeof(placeholders) / sizeof(placeholders[0])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown placeholder \"{%V}\" in "
                               "webhook_signed_payload \"%V\"", &name, tpl);
            return NGX_ERROR;
        }

        if (p > start) {
            part = ngx_array_push(&parts);
            if (part == NULL) {
                return NGX_ERROR;
            }

            part->type = NGX_HTTP_WEBHOOK_PART_LITERAL;
            part->literal.data = start;
            part->literal.len = p - start;
        }

        part = ngx_array_push(&parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->type = placeholders[i].type;
        ngx_str_null(&part->literal);

        if (part->type == NGX_HTTP_WEBHOOK_PART_BODY) {
            bodies++;
        }

        p = close + 1;
        start = p;
    }

    if (last > start) {
        part = ngx_array_push(&parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->type = NGX_HTTP_WEBHOOK_PART_LITERAL;
        part->literal.data = start;
        part->literal.len = last - start;
    }

    if (bodies != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_signed_payload \"%V\" must contain "
                           "{body} exactly once", tpl);
        return NGX_ERROR;
    }

    scheme->parts = parts.elts;
    scheme->nparts = parts.nelts;

    return NGX_OK;
}


/*
 * How long a kept replay key is remembered when webhook_replay_ttl is not
 * set: a signed timestamp bounds it (twice the tolerance), else a day.
 * NULL: the scheme is not known yet (a registry location's, per request).
 */

ngx_msec_t
ngx_http_webhook_default_replay_ttl(ngx_http_webhook_scheme_t *scheme,
    ngx_msec_t tolerance)
{
    ngx_uint_t  i;

    if (scheme != NULL) {
        if (scheme->fields == NGX_HTTP_WEBHOOK_FIELDS_SALESFORCE) {
            return 2 * tolerance;
        }

        for (i = 0; i < scheme->nparts; i++) {
            if (scheme->parts[i].type == NGX_HTTP_WEBHOOK_PART_TIMESTAMP) {
                return 2 * tolerance;
            }
        }
    }

    return 24 * 60 * 60 * 1000;
}


/* the HMAC key a scheme derives from a configured secret */

ngx_int_t
ngx_http_webhook_key_material(ngx_http_webhook_scheme_t *scheme,
    ngx_pool_t *pool, ngx_str_t *secret, ngx_str_t *key)
{
    ngx_str_t  src;

    if (!scheme->whsec) {
        *key = *secret;
        return NGX_OK;
    }

    src = *secret;

    if (src.len > 6 && ngx_strncmp(src.data, "whsec_", 6) == 0) {
        src.data += 6;
        src.len -= 6;
    }

    key->data = ngx_pnalloc(pool, ngx_base64_decoded_length(src.len));
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64(key, &src) != NGX_OK || key->len == 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


size_t
ngx_http_webhook_digest_size(ngx_http_webhook_alg_e alg)
{
    switch (alg) {
    case NGX_HTTP_WEBHOOK_SHA1:
        return SHA_DIGEST_LENGTH;
    case NGX_HTTP_WEBHOOK_SHA512:
        return SHA512_DIGEST_LENGTH;
    default:
        return SHA256_DIGEST_LENGTH;
    }
}


static void
ngx_http_webhook_digest_init(ngx_http_webhook_alg_e alg,
    ngx_http_webhook_digest_ctx_t *c)
{
    switch (alg) {
    case NGX_HTTP_WEBHOOK_SHA1:
        SHA1_Init(&c->sha1);
        break;
    case NGX_HTTP_WEBHOOK_SHA512:
        SHA512_Init(&c->sha512);
        break;
    default:
        SHA256_Init(&c->sha256);
    }
}


static void
ngx_http_webhook_digest_update(ngx_http_webhook_alg_e alg,
    ngx_http_webhook_digest_ctx_t *c, const void *data, size_t len)
{
    switch (alg) {
    case NGX_HTTP_WEBHOOK_SHA1:
        SHA1_Update(&c->sha1, data, len);
        break;
    case NGX_HTTP_WEBHOOK_SHA512:
        SHA512_Update(&c->sha512, data, len);
        break;
    default:
        SHA256_Update(&c->sha256, data, len);
    }
}


static void
ngx_http_webhook_digest_final(ngx_http_webhook_alg_e alg,
    ngx_http_webhook_digest_ctx_t *c, u_char *md)
{
    switch (alg) {
    case NGX_HTTP_WEBHOOK_SHA1:
        SHA1_Final(md, &c->sha1);
        break;
    case NGX_HTTP_WEBHOOK_SHA512:
        SHA512_Final(md, &c->sha512);
        break;
    default:
        SHA256_Final(md, &c->sha256);
    }
}


/*
 * RFC 2104 with the two padded key blocks absorbed once: a request then
 * only copies a digest state, with no allocation and no key schedule.
 */

void
ngx_http_webhook_hmac_key_init(ngx_http_webhook_hmac_key_t *key,
    ngx_http_webhook_alg_e alg, u_char *secret, size_t len)
{
    size_t                         block, i;
    u_char                         k[128], pad[128];
    ngx_http_webhook_digest_ctx_t  c;

    block = (alg == NGX_HTTP_WEBHOOK_SHA512) ? 128 : 64;

    ngx_memzero(k, sizeof(k));

    if (len > block) {
        ngx_http_webhook_digest_init(alg, &c);
        ngx_http_webhook_digest_update(alg, &c, secret, len);
        ngx_http_webhook_digest_final(alg, &c, k);

    } else if (len) {
        ngx_memcpy(k, secret, len);
    }

    key->alg = alg;

    for (i = 0; i < block; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ngx_http_webhook_digest_init(alg, &key->inner);
    ngx_http_webhook_digest_update(alg, &key->inner, pad, block);

    for (i = 0; i < block; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ngx_http_webhook_digest_init(alg, &key->outer);
    ngx_http_webhook_digest_update(alg, &key->outer, pad, block);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&c, sizeof(c));
}


void
ngx_http_webhook_hmac_init(ngx_http_webhook_hmac_t *h,
    ngx_http_webhook_hmac_key_t *key)
{
    h->alg = key->alg;
    h->ctx = key->inner;
    h->key = key;
}


void
ngx_http_webhook_hmac_update(ngx_http_webhook_hmac_t *h, const void *data,
    size_t len)
{
    ngx_http_webhook_digest_update(h->alg, &h->ctx, data, len);
}


size_t
ngx_http_webhook_hmac_final(ngx_http_webhook_hmac_t *h, u_char *mac)
{
    size_t  size;
    u_char  md[NGX_HTTP_WEBHOOK_MAX_MAC];

    size = ngx_http_webhook_digest_size(h->alg);

    ngx_http_webhook_digest_final(h->alg, &h->ctx, md);

    h->ctx = h->key->outer;
    ngx_http_webhook_digest_update(h->alg, &h->ctx, md, size);
    ngx_http_webhook_digest_final(h->alg, &h->ctx, mac);

    return size;
}


/* headers */

typedef struct {
    ngx_str_t   value;
    ngx_uint_t  count;
} ngx_http_webhook_found_t;


static void
ngx_http_webhook_find_header(ngx_table_elt_t *h, ngx_str_t *name,
    ngx_http_webhook_found_t *found)
{
    if (name->len == 0
        || h->key.len != name->len
        || ngx_strncmp(h->lowcase_key, name->data, name->len) != 0)
    {
        return;
    }

    if (found->count++ == 0) {
        found->value = h->value;
    }
}


/* how many times a header came, and the first value */

ngx_uint_t
ngx_http_webhook_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t                 i;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_webhook_found_t   found;

    ngx_memzero(&found, sizeof(found));

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash) {
            ngx_http_webhook_find_header(&h[i], name, &found);
        }
    }

    *value = found.value;

    return found.count;
}


ngx_http_webhook_reason_e
ngx_http_webhook_parse_headers(ngx_http_request_t *r,
    ngx_http_webhook_scheme_t *scheme, ngx_http_webhook_ctx_t *ctx)
{
    ngx_uint_t                 i, alt;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_webhook_found_t   found[6], *sig, *ts, *nonce;
    ngx_http_webhook_reason_e  reason;

    ngx_memzero(found, sizeof(found));

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        ngx_http_webhook_find_header(&h[i], &scheme->signature.name,
                                     &found[0]);
        ngx_http_webhook_find_header(&h[i], &scheme->signature.alt,
                                     &found[1]);
        ngx_http_webhook_find_header(&h[i], &scheme->timestamp.name,
                                     &found[2]);
        ngx_http_webhook_find_header(&h[i], &scheme->timestamp.alt,
                                     &found[3]);
        ngx_http_webhook_find_header(&h[i], &scheme->nonce.name,
                                     &found[4]);
        ngx_http_webhook_find_header(&h[i], &scheme->nonce.alt,
                                     &found[5]);
    }

    /* one naming set for all three headers: webhook-* or svix-* */
    alt = (found[0].count == 0 && found[1].count) ? 1 : 0;

    sig = &found[0 + alt];
    ts = &found[2 + alt];
    nonce = &found[4 + alt];

    if (sig->count > 1) {
        return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
    }

    if (scheme->format == NGX_HTTP_WEBHOOK_SIG_TOKEN
        || scheme->format == NGX_HTTP_WEBHOOK_SIG_JWT)
    {
        if (sig->count == 0) {
            ctx->detail = "no token header";
            return (scheme->format == NGX_HTTP_WEBHOOK_SIG_JWT)
                   ? NGX_HTTP_WEBHOOK_MISSING_TOKEN
                   : NGX_HTTP_WEBHOOK_INVALID_TOKEN;
        }

        if (sig->count > 1) {
            ctx->detail = "token header sent twice";
            return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
        }

        if (sig->value.len > NGX_HTTP_WEBHOOK_MAX_HEADER) {
            ctx->detail = "token header longer than 4096 bytes";
            return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
        }

        ctx->shared_secret = sig->value;
        return NGX_HTTP_WEBHOOK_OK;
    }

    if (scheme->format == NGX_HTTP_WEBHOOK_SIG_SECRET) {
        /* hft71: the secret may come in the body instead */
        if (sig->count && (sig->value.len == 0
                           || sig->value.len > NGX_HTTP_WEBHOOK_MAX_HEADER))
        {
            return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
        }

        ctx->shared_secret = sig->value;
        return NGX_HTTP_WEBHOOK_OK;
    }

    if (sig->count == 0) {
        return NGX_HTTP_WEBHOOK_MISSING_SIGNATURE;
    }

    if (sig->value.len == 0 || sig->value.len > NGX_HTTP_WEBHOOK_MAX_HEADER) {
        return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
    }

    if (scheme->format == NGX_HTTP_WEBHOOK_SIG_STRIPE) {
        reason = ngx_http_webhook_parse_stripe(&sig->value, ctx);

    } else {
        reason = ngx_http_webhook_parse_signature(scheme, &sig->value, ctx);
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    if (scheme->timestamp.name.len) {

        if (ts->count == 0) {
            if (scheme->timestamp_required) {
                return NGX_HTTP_WEBHOOK_MISSING_TIMESTAMP;
            }

        } else if (ts->count > 1) {
            return NGX_HTTP_WEBHOOK_MALFORMED_TIMESTAMP;

        } else {
            ctx->timestamp = ts->value;
        }
    }

    if (ctx->timestamp.data) {
        if (ngx_http_webhook_parse_time(&ctx->timestamp,
                                        scheme->timestamp_format,
                                        &ctx->timestamp_ms)
            != NGX_OK)
        {
            return NGX_HTTP_WEBHOOK_MALFORMED_TIMESTAMP;
        }

        ctx->has_timestamp = 1;

    } else if (scheme->timestamp_required) {
        return NGX_HTTP_WEBHOOK_MISSING_TIMESTAMP;
    }

    if (scheme->nonce.name.len) {

        if (nonce->count == 0 || nonce->value.len == 0) {
            if (scheme->nonce_required) {
                return NGX_HTTP_WEBHOOK_MISSING_NONCE;
            }

        } else if (nonce->count > 1 || nonce->value.len > 256) {
            return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;

        } else {
            ctx->nonce = nonce->value;
        }
    }

    return NGX_HTTP_WEBHOOK_OK;
}


static ngx_int_t
ngx_http_webhook_decode_mac(ngx_str_t *value, ngx_http_webhook_encoding_e enc,
    size_t size, ngx_http_webhook_sig_t *sig)
{
    size_t     i;
    u_char     buf[NGX_HTTP_WEBHOOK_MAX_MAC + 2];
    u_char     hi, lo;
    ngx_str_t  dst;

    /* a hex digit's value plus one; 0 for any other byte */
    static u_char  nibble[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
        ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
        ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16
    };

    if (enc == NGX_HTTP_WEBHOOK_ENC_HEX) {
        if (value->len != size * 2) {
            return NGX_ERROR;
        }

        for (i = 0; i < size; i++) {
            hi = nibble[value->data[2 * i]];
            lo = nibble[value->data[2 * i + 1]];

            if (hi == 0 || lo == 0) {
                return NGX_ERROR;
            }

            sig->mac[i] = (u_char) ((hi - 1) << 4 | (lo - 1));
        }

        sig->len = size;
        return NGX_OK;
    }

    if (value->len != ngx_base64_encoded_length(size)) {
        return NGX_ERROR;
    }

    /*
     * without its padding, the encoded length of a SHA-512 MAC decodes
     * to 66 bytes: decode where that fits, keep only a MAC of the size
     */

    dst.data = buf;

    if (ngx_decode_base64(&dst, value) != NGX_OK || dst.len != size) {
        return NGX_ERROR;
    }

    ngx_memcpy(sig->mac, buf, size);

    sig->len = size;
    return NGX_OK;
}


static ngx_http_webhook_reason_e
ngx_http_webhook_parse_stripe(ngx_str_t *value, ngx_http_webhook_ctx_t *ctx)
{
    u_char     *p, *last, *item, *eq;
    ngx_str_t   k, v;

    p = value->data;
    last = p + value->len;

    while (p < last) {
        item = p;
        p = ngx_strlchr(p, last, ',');
        if (p == NULL) {
            p = last;
        }

        k.data = item;
        while (k.data < p && *k.data == ' ') {
            k.data++;
        }

        eq = ngx_strlchr(k.data, p, '=');
        if (eq == NULL) {
            return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
        }

        k.len = eq - k.data;
        v.data = eq + 1;
        v.len = p - v.data;

        while (v.len && v.data[v.len - 1] == ' ') {
            v.len--;
        }

        p++;

        if (k.len == 1 && k.data[0] == 't') {
            if (ctx->timestamp.data) {
                return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
            }

            ctx->timestamp = v;
            continue;
        }

        if (k.len != 2 || k.data[0] != 'v' || k.data[1] != '1') {
            continue;                   /* v0 (test mode) and future keys */
        }

        if (ctx->nsigs == NGX_HTTP_WEBHOOK_MAX_SIGS) {
            return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
        }

        /*
         * As Stripe's SDKs decide: any v1 that verifies makes the header
         * valid, so a v1 that is not a MAC at all is passed over.
         */

        if (ngx_http_webhook_decode_mac(&v, NGX_HTTP_WEBHOOK_ENC_HEX,
                                        SHA256_DIGEST_LENGTH,
                                        &ctx->sigs[ctx->nsigs])
            != NGX_OK)
        {
            continue;
        }

        ctx->sigs[ctx->nsigs++].value = v;
    }

    if (ctx->nsigs == 0) {
        /* no v1, or none of them hex of the right length */
        return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
    }

    if (ctx->timestamp.data == NULL) {
        return NGX_HTTP_WEBHOOK_MISSING_TIMESTAMP;
    }

    return NGX_HTTP_WEBHOOK_OK;
}


static ngx_http_webhook_reason_e
ngx_http_webhook_parse_signature(ngx_http_webhook_scheme_t *scheme,
    ngx_str_t *value, ngx_http_webhook_ctx_t *ctx)
{
    u_char     *p, *last, *item;
    size_t      size;
    ngx_str_t   v;

    size = ngx_http_webhook_digest_size(scheme->alg);

    p = value->data;
    last = p + value->len;

    while (p < last) {
        item = p;

        if (scheme->list_separator) {
            p = ngx_strlchr(p, last, scheme->list_separator);
            if (p == NULL) {
                p = last;
            }

        } else {
            p = last;
        }

        v.data = item;
        v.len = p - item;
        p++;

        while (v.len && v.data[0] == ' ') {
            v.data++;
            v.len--;
        }

        while (v.len && v.data[v.len - 1] == ' ') {
            v.len--;
        }

        if (v.len == 0) {
            continue;
        }

        if (scheme->prefix.len) {
            if (v.len >= scheme->prefix.len
                && ngx_strncmp(v.data, scheme->prefix.data,
                               scheme->prefix.len) == 0)
            {
                v.data += scheme->prefix.len;
                v.len -= scheme->prefix.len;

            } else if (scheme->list_separator) {
                continue;               /* another version, e.g. v1a */

            } else if (!scheme->prefix_optional) {
                return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
            }
        }

        if (ctx->nsigs == NGX_HTTP_WEBHOOK_MAX_SIGS
            || ngx_http_webhook_decode_mac(&v, scheme->encoding, size,
                                           &ctx->sigs[ctx->nsigs])
               != NGX_OK)
        {
            return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
        }

        ctx->sigs[ctx->nsigs++].value = v;
    }

    if (ctx->nsigs == 0) {
        return NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE;
    }

    return NGX_HTTP_WEBHOOK_OK;
}


/* timestamps */

ngx_int_t
ngx_http_webhook_parse_time(ngx_str_t *value,
    ngx_http_webhook_ts_format_e format, int64_t *ms)
{
    u_char   *p, *last;
    int64_t   n;

    p = value->data;
    last = p + value->len;

    if (value->len == 0 || value->len > 40) {
        return NGX_ERROR;
    }

    if (format == NGX_HTTP_WEBHOOK_TS_ISO8601) {
        return ngx_http_webhook_parse_iso8601(p, last, ms);
    }

    for (n = 0; p < last; p++) {
        if (*p < '0' || *p > '9') {
            if (format == NGX_HTTP_WEBHOOK_TS_AUTO) {
                return ngx_http_webhook_parse_iso8601(value->data, last, ms);
            }

            return NGX_ERROR;
        }

        if (p - value->data == 15) {
            return NGX_ERROR;           /* past year 30000 even in ms */
        }

        n = n * 10 + (*p - '0');
    }

    if (format == NGX_HTTP_WEBHOOK_TS_UNIX_MS
        || (format == NGX_HTTP_WEBHOOK_TS_AUTO && value->len >= 12))
    {
        *ms = n;

    } else {
        if (value->len > 12) {
            return NGX_ERROR;
        }

        *ms = n * 1000;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_digits(u_char **pp, u_char *last, ngx_uint_t n,
    ngx_int_t *value)
{
    u_char  *p;

    p = *pp;

    if (last - p < (ssize_t) n) {
        return NGX_ERROR;
    }

    for (*value = 0; n; n--, p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        *value = *value * 10 + (*p - '0');
    }

    *pp = p;
    return NGX_OK;
}


/* YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|+HHMM]; a zone is required */

static ngx_int_t
ngx_http_webhook_parse_iso8601(u_char *p, u_char *last, int64_t *ms)
{
    int64_t    days, era, yoe, doy, doe, frac_ms;
    ngx_int_t  year, month, day, hour, min, sec, oh, om, sign, digit, scale;

    if (ngx_http_webhook_digits(&p, last, 4, &year) != NGX_OK
        || p == last || *p++ != '-'
        || ngx_http_webhook_digits(&p, last, 2, &month) != NGX_OK
        || p == last || *p++ != '-'
        || ngx_http_webhook_digits(&p, last, 2, &day) != NGX_OK
        || p == last || (*p != 'T' && *p != 't' && *p != ' ')
        || (p++, ngx_http_webhook_digits(&p, last, 2, &hour)) != NGX_OK
        || p == last || *p++ != ':'
        || ngx_http_webhook_digits(&p, last, 2, &min) != NGX_OK
        || p == last || *p++ != ':'
        || ngx_http_webhook_digits(&p, last, 2, &sec) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (month < 1 || month > 12 || day < 1 || day > 31
        || hour > 23 || min > 59 || sec > 60)
    {
        return NGX_ERROR;
    }

    frac_ms = 0;

    if (p < last && *p == '.') {
        p++;
        scale = 100;

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            digit = *p++ - '0';
            frac_ms += digit * scale;
            scale /= 10;
        }
    }

    if (p == last) {
        return NGX_ERROR;
    }

    oh = 0;
    om = 0;
    sign = 0;

    if (*p == 'Z' || *p == 'z') {
        p++;

    } else if (*p == '+' || *p == '-') {
        sign = (*p++ == '-') ? -1 : 1;

        if (ngx_http_webhook_digits(&p, last, 2, &oh) != NGX_OK) {
            return NGX_ERROR;
        }

        if (p < last && *p == ':') {
            p++;
        }

        if (ngx_http_webhook_digits(&p, last, 2, &om) != NGX_OK
            || oh > 23 || om > 59)
        {
            return NGX_ERROR;
        }

    } else {
        return NGX_ERROR;
    }

    if (p != last) {
        return NGX_ERROR;
    }

    /* days since 1970-01-01 in the proleptic Gregorian calendar */
    year -= month <= 2;
    era = (year >= 0 ? year : year - 399) / 400;
    yoe = year - era * 400;
    doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    *ms = ((days * 86400 + hour * 3600 + min * 60 + sec)
           - sign * (oh * 3600 + om * 60)) * 1000 + frac_ms;

    return NGX_OK;
}


/* body */

ngx_int_t
ngx_http_webhook_body_walk(ngx_http_request_t *r,
    void (*update)(void *data, const u_char *p, size_t len), void *data)
{
    off_t         offset;
    size_t        size;
    ssize_t       n;
    u_char       *buf;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    buf = NULL;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (b->last > b->pos) {
                update(data, b->pos, b->last - b->pos);
            }

            continue;
        }

        if (!b->in_file) {
            continue;
        }

        /* spilled to a temporary file: read it back in chunks */

        if (buf == NULL) {
            buf = ngx_pnalloc(r->pool, NGX_HTTP_WEBHOOK_READ_CHUNK);
            if (buf == NULL) {
                return NGX_ERROR;
            }
        }

        for (offset = b->file_pos; offset < b->file_last; offset += n) {
            size = (size_t) ngx_min(b->file_last - offset,
                                    NGX_HTTP_WEBHOOK_READ_CHUNK);

            n = ngx_read_file(b->file, buf, size, offset);

            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            if ((size_t) n != size) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "webhook: short read of \"%V\": %z of %uz",
                              &b->file->name, n, size);
                return NGX_ERROR;
            }

            update(data, buf, size);
        }
    }

    return NGX_OK;
}


static void
ngx_http_webhook_macs_update(void *data, const u_char *p, size_t len)
{
    ngx_uint_t                i;
    ngx_http_webhook_macs_t  *macs = data;

    for (i = 0; i < macs->n; i++) {
        if (macs->macs[i].key) {
            ngx_http_webhook_hmac_update(&macs->macs[i], p, len);
        }
    }
}


static ngx_int_t
ngx_http_webhook_secret_key(ngx_http_request_t *r,
    ngx_http_webhook_scheme_t *scheme, ngx_http_webhook_secret_t *secret,
    ngx_http_webhook_hmac_key_t **key, u_char *digest)
{
    ngx_int_t   rc;
    ngx_str_t   value, material;
    SHA256_CTX  sha;

    if (secret->value == NULL) {
        if (key) {
            *key = secret->key;
        }

        if (digest) {
            ngx_memcpy(digest, secret->digest, SHA256_DIGEST_LENGTH);
        }

        return NGX_OK;
    }

    /* a per-request secret, e.g. per tenant through map */

    if (ngx_http_complex_value(r, secret->value, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 0) {
        return NGX_DECLINED;
    }

    if (digest) {
        SHA256_Init(&sha);
        SHA256_Update(&sha, value.data, value.len);
        SHA256_Final(digest, &sha);
    }

    if (key == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_webhook_key_material(scheme, r->pool, &value, &material);
    if (rc != NGX_OK) {
        return rc;
    }

    *key = ngx_palloc(r->pool, sizeof(ngx_http_webhook_hmac_key_t));
    if (*key == NULL) {
        return NGX_ERROR;
    }

    ngx_http_webhook_hmac_key_init(*key, scheme->alg, material.data,
                                   material.len);

    return NGX_OK;
}


ngx_http_webhook_reason_e
ngx_http_webhook_verify_body(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    ngx_http_webhook_reason_e  reason;

    switch (ctx->scheme->format) {

    case NGX_HTTP_WEBHOOK_SIG_SECRET:
        reason = ngx_http_webhook_verify_shared(r, wlcf, ctx);
        break;

    case NGX_HTTP_WEBHOOK_SIG_TOKEN:
    case NGX_HTTP_WEBHOOK_SIG_JWT:
        reason = NGX_HTTP_WEBHOOK_OK;   /* checked before the body */
        break;

    default:
        reason = ngx_http_webhook_verify_mac(r, wlcf, ctx);
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    switch (ctx->scheme->fields) {

    case NGX_HTTP_WEBHOOK_FIELDS_SALESFORCE:
        reason = ngx_http_webhook_salesforce_fields(r, ctx);
        break;

    case NGX_HTTP_WEBHOOK_FIELDS_RINGCENTRAL:
        reason = ngx_http_webhook_body_id(r, ctx, "uuid", NULL);
        break;

    case NGX_HTTP_WEBHOOK_FIELDS_PUBSUB:
        reason = ngx_http_webhook_body_id(r, ctx, "message", "messageId");
        break;

    default:
        break;
    }

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    /* the replay key is derived from signed data only */

    if (ctx->scheme->fields == NGX_HTTP_WEBHOOK_FIELDS_HFT71) {
        if (ngx_http_webhook_body_sha256(r, ctx) != NGX_OK) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        ngx_http_webhook_replay_key(wlcf, ctx, 'b', ctx->body_sha256,
                                    sizeof(ctx->body_sha256));

    } else if (ctx->id.len) {
        ngx_http_webhook_replay_key(wlcf, ctx, 'n', ctx->id.data, ctx->id.len);

    } else {
        ngx_http_webhook_replay_key(wlcf, ctx, 'm', ctx->mac, ctx->mac_len);
    }

    return NGX_HTTP_WEBHOOK_OK;
}


static ngx_http_webhook_reason_e
ngx_http_webhook_verify_mac(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    size_t                        len;
    u_char                        mac[NGX_HTTP_WEBHOOK_MAX_MAC];
    ngx_int_t                     rc;
    ngx_str_t                    *s;
    ngx_uint_t                    i, j, n, nonce_signed;
    ngx_http_webhook_macs_t       macs;
    ngx_http_webhook_hmac_t       stack[4];
    ngx_http_webhook_part_t      *part;
    ngx_http_webhook_secret_t    *secrets;
    ngx_http_webhook_scheme_t    *scheme;
    ngx_http_webhook_hmac_key_t  *key;

    scheme = ctx->scheme;
    secrets = ctx->secrets->elts;
    n = ctx->secrets->nelts;

    if (n <= sizeof(stack) / sizeof(stack[0])) {
        macs.macs = stack;

    } else {
        macs.macs = ngx_palloc(r->pool, n * sizeof(ngx_http_webhook_hmac_t));
        if (macs.macs == NULL) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }
    }

    macs.n = n;

    for (i = 0; i < n; i++) {
        key = NULL;
        rc = ngx_http_webhook_secret_key(r, scheme, &secrets[i], &key, NULL);

        if (rc == NGX_ERROR) {
            ngx_http_webhook_macs_cleanse(&macs);
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        if (rc == NGX_DECLINED) {
            /* an empty or undecodable per-request secret matches nothing */
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "webhook: secret #%ui is empty or not valid "
                          "for scheme \"%V\" in this request",
                          i, &scheme->name);
            macs.macs[i].key = NULL;
            continue;
        }

        ngx_http_webhook_hmac_init(&macs.macs[i], key);
    }

    /* every secret is hashed in the same single pass over the body */

    nonce_signed = 0;

    for (j = 0; j < scheme->nparts; j++) {
        part = &scheme->parts[j];

        switch (part->type) {

        case NGX_HTTP_WEBHOOK_PART_BODY:
            if (ngx_http_webhook_body_walk(r, ngx_http_webhook_macs_update,
                                           &macs)
                != NGX_OK)
            {
                ngx_http_webhook_macs_cleanse(&macs);
                return NGX_HTTP_WEBHOOK_NREASONS;
            }

            continue;

        case NGX_HTTP_WEBHOOK_PART_TIMESTAMP:
            s = &ctx->timestamp;
            break;

        case NGX_HTTP_WEBHOOK_PART_NONCE:
            s = &ctx->nonce;
            nonce_signed = 1;
            break;

        case NGX_HTTP_WEBHOOK_PART_METHOD:
            s = &r->method_name;
            break;

        case NGX_HTTP_WEBHOOK_PART_URI:
            s = &r->unparsed_uri;
            break;

        default: /* NGX_HTTP_WEBHOOK_PART_LITERAL */
            s = &part->literal;
            break;
        }

        ngx_http_webhook_macs_update(&macs, s->data, s->len);
    }

    for (i = 0; i < n; i++) {
        if (macs.macs[i].key == NULL) {
            continue;
        }

        len = ngx_http_webhook_hmac_final(&macs.macs[i], mac);

        for (j = 0; j < ctx->nsigs; j++) {
            if (ctx->sigs[j].len == len
                && CRYPTO_memcmp(ctx->sigs[j].mac, mac, len) == 0)
            {
                ngx_memcpy(ctx->mac, mac, len);
                ctx->mac_len = len;
                ctx->secret_index = i;

                if (nonce_signed) {
                    ctx->id = ctx->nonce;
                }

                ngx_http_webhook_macs_cleanse(&macs);
                return NGX_HTTP_WEBHOOK_OK;
            }
        }
    }

    ngx_http_webhook_macs_cleanse(&macs);
    return NGX_HTTP_WEBHOOK_INVALID_SIGNATURE;
}


/*
 * The HMAC states derived from the secrets: only the ones used (one
 * secret, one state, not the whole array on the stack), and those in the
 * request's pool too, before the pool gives the memory back.
 */

static void
ngx_http_webhook_macs_cleanse(ngx_http_webhook_macs_t *macs)
{
    OPENSSL_cleanse(macs->macs, macs->n * sizeof(ngx_http_webhook_hmac_t));
}


static ngx_http_webhook_reason_e
ngx_http_webhook_verify_shared(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    u_char                      given[SHA256_DIGEST_LENGTH];
    u_char                      want[SHA256_DIGEST_LENGTH];
    u_char                     *p, *last, *q;
    ngx_int_t                   rc;
    ngx_str_t                   body, provided, v;
    ngx_uint_t                  i;
    json_t                     *root, *field;
    SHA256_CTX                  sha;
    ngx_http_webhook_secret_t  *secrets;

    provided = ctx->shared_secret;

    if (provided.len == 0) {

        /* no header: the secret may be a field of a JSON or form body */

        if (ngx_http_webhook_body_flat(r, &body) != NGX_OK) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        /* no body: body.data is NULL, not a pointer to walk from */

        if (body.len == 0) {
            return NGX_HTTP_WEBHOOK_MISSING_SIGNATURE;
        }

        p = body.data;
        last = p + body.len;

        while (p < last && (*p == ' ' || *p == '\t' || *p == '\r'
                            || *p == '\n'))
        {
            p++;
        }

        if (p < last && *p == '{') {
            root = ngx_http_webhook_body_json(r, ctx);
            field = root ? json_object_get(root, "webhook_secret") : NULL;

            if (field && json_is_string(field)) {
                provided.data = (u_char *) json_string_value(field);
                provided.len = json_string_length(field);
            }

        } else {
            while (p < last) {
                q = ngx_strlchr(p, last, '&');
                if (q == NULL) {
                    q = last;
                }

                if (q - p > 15 && ngx_strncmp(p, "webhook_secret=", 15) == 0) {
                    v.data = p + 15;
                    v.len = q - v.data;

                    /* form encoding: "+" is a space, then %XX */
                    q = ngx_pnalloc(r->pool, 2 * v.len);
                    if (q == NULL) {
                        return NGX_HTTP_WEBHOOK_NREASONS;
                    }

                    for (i = 0; i < v.len; i++) {
                        q[i] = (v.data[i] == '+') ? ' ' : v.data[i];
                    }

                    provided.data = q + v.len;
                    p = provided.data;
                    ngx_unescape_uri(&p, &q, v.len, 0);
                    provided.len = p - provided.data;
                    break;
                }

                p = q + 1;
            }
        }

        if (provided.len == 0) {
            return NGX_HTTP_WEBHOOK_MISSING_SIGNATURE;
        }
    }

    /* digests of equal length: the comparison time says nothing */

    SHA256_Init(&sha);
    SHA256_Update(&sha, provided.data, provided.len);
    SHA256_Final(given, &sha);

    secrets = ctx->secrets->elts;

    for (i = 0; i < ctx->secrets->nelts; i++) {
        rc = ngx_http_webhook_secret_key(r, ctx->scheme, &secrets[i], NULL,
                                         want);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_WEBHOOK_NREASONS;
        }

        if (rc == NGX_OK
            && CRYPTO_memcmp(given, want, SHA256_DIGEST_LENGTH) == 0)
        {
            ctx->secret_index = i;
            return NGX_HTTP_WEBHOOK_OK;
        }
    }

    return NGX_HTTP_WEBHOOK_INVALID_SIGNATURE;
}


/* the body as one piece of memory: a pointer when nginx holds it so */

ngx_int_t
ngx_http_webhook_body_flat(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && ngx_buf_in_memory(b)) {
        body->data = b->pos;
        body->len = b->last - b->pos;
        return NGX_OK;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    body->data = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (b->in_file) {
            if (ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos)
                != (ssize_t) (b->file_last - b->file_pos))
            {
                return NGX_ERROR;
            }

            p += b->file_last - b->file_pos;
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


/*
 * jansson allocates through ngx_http_webhook_json_alloc (set at process
 * start): while a body is parsed the memory comes from the request pool,
 * so a parse costs no heap and no json_decref is ever needed.
 */

static ngx_pool_t  *ngx_http_webhook_json_pool;


void *
ngx_http_webhook_json_alloc(size_t size)
{
    if (ngx_http_webhook_json_pool) {
        return ngx_palloc(ngx_http_webhook_json_pool, size);
    }

    return malloc(size);
}


void
ngx_http_webhook_json_free(void *p)
{
    if (ngx_http_webhook_json_pool == NULL) {
        free(p);
    }
}


/* a JSON object from pool memory (never freed by itself), or NULL */

void *
ngx_http_webhook_json_parse(ngx_pool_t *pool, ngx_log_t *log, u_char *data,
    size_t len)
{
    json_t        *root;
    json_error_t   err;

    ngx_http_webhook_json_pool = pool;

    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES, &err);

    ngx_http_webhook_json_pool = NULL;

    if (root == NULL) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                       "webhook: not JSON: %s at %d:%d",
                       err.text, err.line, err.column);
        return NULL;
    }

    if (!json_is_object(root)) {
        return NULL;
    }

    return root;
}


/* the body as a JSON object, parsed at most once a request */

void *
ngx_http_webhook_body_json(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx)
{
    ngx_str_t  body;

    if (ctx->body_parsed) {
        return ctx->body_json;
    }

    ctx->body_parsed = 1;

    if (ngx_http_webhook_body_flat(r, &body) != NGX_OK || body.len == 0) {
        return NULL;
    }

    ctx->body_json = ngx_http_webhook_json_parse(r->pool, r->connection->log,
                                                 body.data, body.len);

    return ctx->body_json;
}


static ngx_int_t
ngx_http_webhook_json_time(json_t *field, int64_t *ms)
{
    u_char     buf[32];
    ngx_str_t  s;

    if (json_is_string(field)) {
        s.data = (u_char *) json_string_value(field);
        s.len = json_string_length(field);

    } else if (json_is_integer(field)) {
        s.data = buf;
        s.len = ngx_sprintf(buf, "%L", (int64_t) json_integer_value(field))
                - buf;

    } else {
        return NGX_ERROR;
    }

    return ngx_http_webhook_parse_time(&s, NGX_HTTP_WEBHOOK_TS_AUTO, ms);
}


/* the signed body carries orderId, timestamp and nonce: headers must match */

static ngx_http_webhook_reason_e
ngx_http_webhook_salesforce_fields(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    int64_t     ms;
    json_t     *root, *order, *ts, *nonce;

    root = ngx_http_webhook_body_json(r, ctx);
    if (root == NULL) {
        ctx->detail = "body is not a JSON object";
        return NGX_HTTP_WEBHOOK_MISSING_FIELDS;
    }

    order = json_object_get(root, "orderId");
    ts = json_object_get(root, "timestamp");
    nonce = json_object_get(root, "nonce");

    /* a registration's Salesforce events are any sobject's, not orders */

    if ((ctx->reg == NULL
         && (order == NULL || !json_is_string(order)
             || json_string_length(order) == 0))
        || ts == NULL || nonce == NULL || !json_is_string(nonce))
    {
        ctx->detail = ctx->reg ? "body needs timestamp and nonce"
                               : "body needs orderId, timestamp and nonce";
        return NGX_HTTP_WEBHOOK_MISSING_FIELDS;
    }

    if (ngx_http_webhook_json_time(ts, &ms) != NGX_OK
        || ms != ctx->timestamp_ms
        || json_string_length(nonce) != ctx->nonce.len
        || ngx_strncmp(json_string_value(nonce), ctx->nonce.data,
                       ctx->nonce.len) != 0)
    {
        ctx->detail = "timestamp or nonce header differs from the signed body";
        return NGX_HTTP_WEBHOOK_INVALID_SIGNATURE;
    }

    ctx->id = ctx->nonce;

    return NGX_HTTP_WEBHOOK_OK;
}


/*
 * The delivery id of a scheme that signs nothing in the body (RingCentral's
 * "uuid", Pub/Sub's "message.messageId"): the replay key and $webhook_id.
 */

static ngx_http_webhook_reason_e
ngx_http_webhook_body_id(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    const char *key, const char *inner)
{
    json_t     *root, *field;

    root = ngx_http_webhook_body_json(r, ctx);
    field = root ? json_object_get(root, key) : NULL;

    if (field && inner) {
        field = json_is_object(field) ? json_object_get(field, inner) : NULL;
    }

    if (field == NULL || !json_is_string(field)
        || json_string_length(field) == 0
        || json_string_length(field) > 256)
    {
        ctx->detail = inner ? "body has no message.messageId"
                            : "body has no uuid";
        return NGX_HTTP_WEBHOOK_MISSING_FIELDS;
    }

    ctx->id.data = (u_char *) json_string_value(field);
    ctx->id.len = json_string_length(field);

    /* it goes into $webhook_id, and from there into headers */

    if (ngx_http_webhook_printable_token(&ctx->id, 256) != NGX_OK) {
        ngx_str_null(&ctx->id);
        ctx->detail = "body's delivery id is not printable ASCII";
        return NGX_HTTP_WEBHOOK_MISSING_FIELDS;
    }

    return NGX_HTTP_WEBHOOK_OK;
}


static void
ngx_http_webhook_replay_key(ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx, u_char type, u_char *p, size_t len)
{
    SHA256_CTX  sha;

    SHA256_Init(&sha);
    SHA256_Update(&sha, wlcf->label->name.data, wlcf->label->name.len);
    SHA256_Update(&sha, "\0", 1);

    /* two registrations' deliveries never share a key */
    if (ctx->reg) {
        SHA256_Update(&sha, ctx->reg->id.data, ctx->reg->id.len);
        SHA256_Update(&sha, "\0", 1);
    }

    SHA256_Update(&sha, &type, 1);
    SHA256_Update(&sha, p, len);
    SHA256_Final(ctx->replay_key, &sha);
}


/*
 * WooCommerce's creation ping: an unsigned form POST "webhook_id=N".
 * It is answered at the edge and never reaches the upstream.
 */

ngx_int_t
ngx_http_webhook_woocommerce_ping(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t   body;

    if (ngx_http_webhook_body_flat(r, &body) != NGX_OK) {
        return NGX_ERROR;
    }

    if (body.len <= 11 || ngx_strncmp(body.data, "webhook_id=", 11) != 0) {
        return NGX_DECLINED;
    }

    last = body.data + body.len;

    for (p = body.data + 11; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * Copyright (C) webhook edge authors
 *
 * ngx_http_webhook_parse_headers() for every scheme: the signature header
 * (stripe's t=..,v1=.. list, prefixes, hex and base64, lists of
 * candidates), the timestamp and the nonce headers.
 *
 * Input: byte 0 picks the scheme (the built-in ones, then "custom");
 * bytes 1 and 2 pick the custom scheme's webhook_signature and
 * webhook_timestamp/webhook_nonce options; the rest is header lines,
 * "name: value\n".
 */


#include "fuzz.h"


#define NGX_FUZZ_CANARY  ((size_t) 0x5a5a5a5a5a5a5a5aULL)


static char  *ngx_fuzz_schemes[] = {
    "stripe", "github", "slack", "shopify", "standard", "woocommerce",
    "salesforce", "whmcs", "meta", "notion", "ringcentral", "pubsub", "hft71",
    NULL
};


/* what ngx_http_webhook_build_custom() makes of the custom directives */

static void
ngx_fuzz_custom(ngx_http_webhook_scheme_t *s, u_char sig, u_char rest)
{
    static ngx_str_t  prefixes[] = {
        ngx_null_string, ngx_string("sha256="), ngx_string("v1,")
    };
    static u_char     lists[] = { 0, ' ', ',' };

    ngx_memzero(s, sizeof(ngx_http_webhook_scheme_t));

    ngx_str_set(&s->name, "custom");
    s->custom = 1;
    s->format = NGX_HTTP_WEBHOOK_SIG_SINGLE;
    ngx_str_set(&s->signature.name, "x-signature");

    s->alg = sig % 3;                           /* sha256, sha1, sha512 */
    s->encoding = (sig / 3) % 2;                /* hex, base64 */
    s->list_separator = lists[(sig / 6) % 3];
    s->prefix = prefixes[(sig / 18) % 3];

    if (rest & 1) {
        ngx_str_set(&s->timestamp.name, "x-timestamp");
        s->timestamp_required = 1;
        s->timestamp_format = ((rest >> 1) & 3) % 3;   /* unix, ms, iso */
    }

    if (rest & 8) {
        ngx_str_set(&s->nonce.name, "x-nonce");
        s->nonce_required = 1;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t                     ms;
    ngx_int_t                   rc;
    ngx_uint_t                  i, n;
    ngx_fuzz_t                  fz;
    ngx_str_t                   name;
    ngx_http_webhook_ctx_t     *ctx;
    ngx_http_webhook_scheme_t  *scheme, custom;
    ngx_http_webhook_reason_e   reason;

    ngx_fuzz_init();

    if (size < 3) {
        return 0;
    }

    for (n = 0; ngx_fuzz_schemes[n]; n++) { /* void */ }

    i = data[0] % (n + 1);

    if (i < n) {
        name.data = (u_char *) ngx_fuzz_schemes[i];
        name.len = ngx_strlen(ngx_fuzz_schemes[i]);
        scheme = ngx_http_webhook_find_scheme(&name);
        ngx_fuzz_assert(scheme != NULL);

    } else {
        ngx_fuzz_custom(&custom, data[1], data[2]);
        scheme = &custom;
    }

    ngx_fuzz_request(&fz);
    ngx_fuzz_header_lines(&fz, ngx_fuzz_copy(fz.pool, data + 3, size - 3),
                          size - 3);

    ctx = ngx_pcalloc(fz.pool, sizeof(ngx_http_webhook_ctx_t));
    ngx_fuzz_assert(ctx != NULL);

    ctx->secret_index = -1;

    /* a decoder writing past a candidate's mac[] lands on its len */

    for (i = 0; i < NGX_HTTP_WEBHOOK_MAX_SIGS; i++) {
        ctx->sigs[i].len = NGX_FUZZ_CANARY;
    }

    reason = ngx_http_webhook_parse_headers(fz.r, scheme, ctx);

    ngx_fuzz_assert(reason < NGX_HTTP_WEBHOOK_NREASONS);
    ngx_fuzz_assert(ctx->nsigs <= NGX_HTTP_WEBHOOK_MAX_SIGS);

    for (i = ctx->nsigs; i < NGX_HTTP_WEBHOOK_MAX_SIGS; i++) {
        ngx_fuzz_assert(ctx->sigs[i].len == NGX_FUZZ_CANARY);
    }

    for (i = 0; i < ctx->nsigs; i++) {
        ngx_fuzz_assert(ctx->sigs[i].len
                        == ngx_http_webhook_digest_size(scheme->alg));
    }

    if (reason == NGX_HTTP_WEBHOOK_OK) {

        if (scheme->format == NGX_HTTP_WEBHOOK_SIG_SECRET) {
            ngx_fuzz_assert(ctx->nsigs == 0);
            ngx_fuzz_assert(ctx->shared_secret.len
                            <= NGX_HTTP_WEBHOOK_MAX_HEADER);

        } else {
            ngx_fuzz_assert(ctx->nsigs > 0);
        }

        if (scheme->timestamp_required) {
            ngx_fuzz_assert(ctx->has_timestamp);
        }

        if (scheme->nonce_required) {
            ngx_fuzz_assert(ctx->nonce.len > 0 && ctx->nonce.len <= 256);
        }

        if (ctx->has_timestamp) {
            rc = ngx_http_webhook_parse_time(&ctx->timestamp,
                                             scheme->timestamp_format, &ms);
            ngx_fuzz_assert(rc == NGX_OK && ms == ctx->timestamp_ms);
        }
    }

    ngx_fuzz_done(&fz);

    return 0;
}

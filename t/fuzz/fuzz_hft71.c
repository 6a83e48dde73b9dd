
/*
 * Copyright (C) webhook edge authors
 *
 * The hft71 scheme's shared secret: the X-HFT71-Webhook-Secret header, or
 * the webhook_secret field of a JSON or an x-www-form-urlencoded body
 * (with "+" and %XX decoding), compared with the configured secrets.  The
 * same body goes through the WooCommerce creation-ping check, the other
 * form body the module reads.
 *
 * Input: a control byte (header or not, body layout), a line that is the
 * header's value when the control byte says so, then the body.
 */


#include "fuzz.h"

#include <openssl/sha.h>


static char                         *ngx_fuzz_secrets[] = {
    "s3cret", "hunter2 two", NULL
};

static ngx_http_webhook_loc_conf_t  *ngx_fuzz_location;


/* webhook_id=<digits>, the WooCommerce ping */

static ngx_int_t
ngx_fuzz_is_ping(u_char *p, size_t len)
{
    size_t  i;

    if (len <= 11 || ngx_strncmp(p, "webhook_id=", 11) != 0) {
        return NGX_DECLINED;
    }

    for (i = 11; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                       *p, *last, *line, *body;
    u_char                        md[SHA256_DIGEST_LENGTH];
    u_char                        hex[2 * SHA256_DIGEST_LENGTH];
    size_t                        len;
    ngx_int_t                     rc;
    ngx_uint_t                    ctl, flags;
    ngx_fuzz_t                    fz;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_reason_e     reason;
    ngx_http_webhook_loc_conf_t  *wlcf;

    if (ngx_fuzz_location == NULL) {
        ngx_fuzz_location = ngx_fuzz_loc_conf("hft71", ngx_fuzz_secrets);
    }

    wlcf = ngx_fuzz_location;

    if (size < 1) {
        return 0;
    }

    ctl = data[0];

    ngx_fuzz_request(&fz);

    p = ngx_fuzz_copy(fz.pool, data + 1, size - 1);
    last = p + size - 1;

    if (ctl & 0x10) {
        line = ngx_fuzz_line(&p, last, &len);
        if (line) {
            ngx_fuzz_header_value(&fz, "X-HFT71-Webhook-Secret", line, len);

            if (ctl & 0x40) {
                ngx_fuzz_header_value(&fz, "x-hft71-webhook-secret", line,
                                      len);
            }
        }
    }

    body = p;
    len = last - body;

    flags = 0;

    if (ctl & 0x04) {
        flags |= NGX_FUZZ_BODY_EMPTY_BUF;
    }

    if (ctl & 0x08) {
        flags |= NGX_FUZZ_BODY_FILE;
    }

    if (ctl & 0x20) {
        flags |= NGX_FUZZ_BODY_NONE;
        len = 0;
    }

    ngx_fuzz_body(&fz, body, len, 1 + (ctl & 3), flags);

    ctx = ngx_pcalloc(fz.pool, sizeof(ngx_http_webhook_ctx_t));
    ngx_fuzz_assert(ctx != NULL);

    ctx->secret_index = -1;
    ctx->scheme = wlcf->scheme;         /* as ngx_http_webhook_new_ctx() */
    ctx->secrets = wlcf->secrets;

    reason = ngx_http_webhook_parse_headers(fz.r, wlcf->scheme, ctx);

    ngx_fuzz_assert(reason == NGX_HTTP_WEBHOOK_OK
                    || reason == NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE);

    if (reason == NGX_HTTP_WEBHOOK_OK) {
        reason = ngx_http_webhook_verify_body(fz.r, wlcf, ctx);

        ngx_fuzz_assert(reason == NGX_HTTP_WEBHOOK_OK
                        || reason == NGX_HTTP_WEBHOOK_MISSING_SIGNATURE
                        || reason == NGX_HTTP_WEBHOOK_INVALID_SIGNATURE);

        if (reason == NGX_HTTP_WEBHOOK_OK) {

            /* the replay key is the body's digest: over every piece once */

            ngx_fuzz_assert(ctx->secret_index == 0
                            || ctx->secret_index == 1);
            ngx_fuzz_assert(ctx->body_hashed);

            SHA256(body, len, md);
            ngx_hex_dump(hex, md, sizeof(md));

            ngx_fuzz_assert(ngx_memcmp(hex, ctx->body_sha256, sizeof(hex))
                            == 0);
        }
    }

    rc = ngx_http_webhook_woocommerce_ping(fz.r);

    ngx_fuzz_assert(rc == ngx_fuzz_is_ping(body, len));

    ngx_fuzz_done(&fz);

    return 0;
}

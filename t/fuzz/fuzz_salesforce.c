
/*
 * Copyright (C) webhook edge authors
 *
 * The salesforce scheme's body fields: orderId, timestamp and nonce of the
 * signed JSON body against the X-SF-Timestamp and X-SF-Nonce headers.
 * The harness signs each body itself (OpenSSL's HMAC(), not the module's),
 * so every input gets past the signature into the field extraction, and a
 * body walk that lost or repeated a byte would show as a bad signature.
 *
 * Input: a control byte (how the body is laid out), the timestamp header
 * line, the nonce header line, then the body.
 */


#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>


#define NGX_FUZZ_SF_SECRET  "sf-fuzz-secret"


static char                         *ngx_fuzz_secrets[] = {
    NGX_FUZZ_SF_SECRET, NULL
};

static ngx_http_webhook_loc_conf_t  *ngx_fuzz_location;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                        *p, *last, *ts, *nonce, *body, *q;
    u_char                         mac[EVP_MAX_MD_SIZE];
    u_char                         sig[7 + 2 * EVP_MAX_MD_SIZE];
    size_t                         ts_len, nonce_len;
    ngx_uint_t                     ctl, flags;
    unsigned int                   mac_len;
    ngx_fuzz_t                     fz;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_reason_e      reason;
    ngx_http_webhook_loc_conf_t   *wlcf;

    if (ngx_fuzz_location == NULL) {
        ngx_fuzz_location = ngx_fuzz_loc_conf("salesforce", ngx_fuzz_secrets);
    }

    wlcf = ngx_fuzz_location;

    if (size < 1) {
        return 0;
    }

    ctl = data[0];

    ngx_fuzz_request(&fz);

    p = ngx_fuzz_copy(fz.pool, data + 1, size - 1);
    last = p + size - 1;

    ts = ngx_fuzz_line(&p, last, &ts_len);
    nonce = ngx_fuzz_line(&p, last, &nonce_len);
    body = p;

    if (ts == NULL || nonce == NULL) {
        ngx_fuzz_done(&fz);
        return 0;
    }

    if (HMAC(EVP_sha256(), NGX_FUZZ_SF_SECRET, sizeof(NGX_FUZZ_SF_SECRET) - 1,
             body, last - body, mac, &mac_len)
        == NULL)
    {
        ngx_fuzz_fail(__FILE__, __LINE__, "HMAC()");
    }

    /* the prefix is optional for salesforce; either hex case decodes */

    p = sig;

    if (!(ctl & 0x10)) {
        p = ngx_cpymem(p, "sha256=", 7);
    }

    q = p;
    p = ngx_hex_dump(p, mac, mac_len);

    if (ctl & 0x20) {
        for ( /* void */ ; q < p; q++) {
            *q = ngx_toupper(*q);
        }
    }

    ngx_fuzz_header_value(&fz, "X-SF-Signature", sig, p - sig);
    ngx_fuzz_header_value(&fz, "X-SF-Timestamp", ts, ts_len);
    ngx_fuzz_header_value(&fz, "X-SF-Nonce", nonce, nonce_len);

    flags = 0;

    if (ctl & 0x04) {
        flags |= NGX_FUZZ_BODY_EMPTY_BUF;
    }

    if (ctl & 0x08) {
        flags |= NGX_FUZZ_BODY_FILE;
    }

    ngx_fuzz_body(&fz, body, last - body, 1 + (ctl & 3), flags);

    ctx = ngx_pcalloc(fz.pool, sizeof(ngx_http_webhook_ctx_t));
    ngx_fuzz_assert(ctx != NULL);

    ctx->secret_index = -1;
    ctx->scheme = wlcf->scheme;         /* as ngx_http_webhook_new_ctx() */
    ctx->secrets = wlcf->secrets;

    reason = ngx_http_webhook_parse_headers(fz.r, wlcf->scheme, ctx);
    ngx_fuzz_assert(reason < NGX_HTTP_WEBHOOK_NREASONS);

    if (reason == NGX_HTTP_WEBHOOK_OK) {
        reason = ngx_http_webhook_verify_body(fz.r, wlcf, ctx);

        ngx_fuzz_assert(reason == NGX_HTTP_WEBHOOK_OK
                        || reason == NGX_HTTP_WEBHOOK_MISSING_FIELDS
                        || reason == NGX_HTTP_WEBHOOK_INVALID_SIGNATURE);

        /* the MAC is right: a refusal is about the fields */

        if (reason != NGX_HTTP_WEBHOOK_OK) {
            ngx_fuzz_assert(ctx->detail != NULL);
            ngx_fuzz_assert(ctx->secret_index == 0);

        } else {
            ngx_fuzz_assert(ctx->id.data == ctx->nonce.data
                            && ctx->id.len == ctx->nonce.len
                            && ctx->id.len > 0);
        }
    }

    ngx_fuzz_done(&fz);

    return 0;
}

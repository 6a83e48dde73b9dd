
/*
 * Copyright (C) webhook edge authors
 *
 * Pub/Sub OIDC tokens: ngx_http_webhook_jwt_verify() against one RSA key
 * (kid "k1") made at start. Input: a control byte, then either a whole
 * token (odd control byte: the parser over anything; such a token never
 * verifies) or a header line and a claims line that the harness signs
 * with RS256 itself, so every input gets past the signature into the
 * header and claims checks. A token that verifies must have been signed
 * here, and its claims must say what the location wants.
 */


#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <jansson.h>


#define NGX_FUZZ_NOW  1700000000


static ngx_array_t                  *ngx_fuzz_keys;
static EVP_PKEY                     *ngx_fuzz_pkey;
static ngx_http_webhook_jwt_want_t   ngx_fuzz_want;


static void
ngx_fuzz_jwt_init(void)
{
    ngx_http_webhook_jwk_t  *k;

    ngx_fuzz_init();

    ngx_fuzz_pkey = EVP_RSA_gen(2048);
    ngx_fuzz_keys = ngx_array_create(ngx_fuzz_conf_pool(), 1,
                                     sizeof(ngx_http_webhook_jwk_t));
    if (ngx_fuzz_pkey == NULL || ngx_fuzz_keys == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "EVP_RSA_gen()");
    }

    k = ngx_array_push(ngx_fuzz_keys);
    ngx_str_set(&k->kid, "k1");
    k->pkey = ngx_fuzz_pkey;

    ngx_str_set(&ngx_fuzz_want.audience, "https://edge.example.com/push");
    ngx_str_set(&ngx_fuzz_want.email, "push@p.iam.gserviceaccount.com");
    ngx_fuzz_want.now = NGX_FUZZ_NOW;
    ngx_fuzz_want.leeway = 300;
}


static u_char *
ngx_fuzz_b64url(ngx_pool_t *pool, u_char *p, u_char *data, size_t len)
{
    ngx_str_t  src, dst;

    src.data = data;
    src.len = len;
    dst.data = p;

    ngx_encode_base64url(&dst, &src);

    return p + dst.len;
}


static void
ngx_fuzz_check_claims(ngx_pool_t *pool, u_char *claims, size_t len)
{
    json_t        *root, *v;
    json_error_t   err;

    root = json_loadb((const char *) claims, len, JSON_REJECT_DUPLICATES,
                      &err);
    ngx_fuzz_assert(root != NULL);

    v = json_object_get(root, "aud");
    ngx_fuzz_assert(json_is_string(v)
                    && ngx_strcmp(json_string_value(v),
                                  ngx_fuzz_want.audience.data) == 0);

    v = json_object_get(root, "email");
    ngx_fuzz_assert(json_is_string(v)
                    && ngx_strcmp(json_string_value(v),
                                  ngx_fuzz_want.email.data) == 0);

    ngx_fuzz_assert(json_is_true(json_object_get(root, "email_verified")));

    v = json_object_get(root, "exp");
    ngx_fuzz_assert(json_is_integer(v)
                    && json_integer_value(v) > NGX_FUZZ_NOW - 300);

    json_decref(root);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *p, *last, *head, *claims, *tok, *q;
    u_char                      sig[512];
    size_t                      head_len, claims_len, sig_len;
    time_t                      exp;
    ngx_str_t                   token;
    ngx_pool_t                 *pool;
    EVP_MD_CTX                 *md;
    const char                 *detail;
    ngx_http_webhook_reason_e   reason;

    if (ngx_fuzz_keys == NULL) {
        ngx_fuzz_jwt_init();
    }

    if (size < 1 || size > 8192) {
        return 0;
    }

    pool = ngx_fuzz_pool();

    p = ngx_fuzz_copy(pool, data + 1, size - 1);
    last = p + size - 1;

    if (data[0] & 1) {
        token.data = p;
        token.len = last - p;

    } else {
        head = ngx_fuzz_line(&p, last, &head_len);
        claims = p;
        claims_len = last - p;

        if (head == NULL) {
            ngx_destroy_pool(pool);
            return 0;
        }

        tok = ngx_pnalloc(pool, ngx_base64_encoded_length(head_len)
                                + ngx_base64_encoded_length(claims_len)
                                + ngx_base64_encoded_length(sizeof(sig)) + 2);
        if (tok == NULL) {
            ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pnalloc()");
        }

        q = ngx_fuzz_b64url(pool, tok, head, head_len);
        *q++ = '.';
        q = ngx_fuzz_b64url(pool, q, claims, claims_len);

        sig_len = sizeof(sig);
        md = EVP_MD_CTX_new();

        if (md == NULL
            || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
                                  ngx_fuzz_pkey) != 1
            || EVP_DigestSign(md, sig, &sig_len, tok, q - tok) != 1)
        {
            ngx_fuzz_fail(__FILE__, __LINE__, "EVP_DigestSign()");
        }

        EVP_MD_CTX_free(md);

        *q++ = '.';
        q = ngx_fuzz_b64url(pool, q, sig, sig_len);

        token.data = tok;
        token.len = q - tok;
    }

    detail = NULL;
    reason = ngx_http_webhook_jwt_verify(pool, ngx_fuzz_log(), ngx_fuzz_keys,
                                         &token, &ngx_fuzz_want, &exp,
                                         &detail);

    if (reason == NGX_HTTP_WEBHOOK_OK) {
        ngx_fuzz_assert(!(data[0] & 1));
        ngx_fuzz_check_claims(pool, claims, claims_len);
        ngx_fuzz_assert(exp > NGX_FUZZ_NOW - 300);

    } else {
        ngx_fuzz_assert(reason == NGX_HTTP_WEBHOOK_INVALID_TOKEN
                        && detail != NULL);
    }

    ngx_destroy_pool(pool);

    return 0;
}

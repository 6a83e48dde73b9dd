
/*
 * Copyright (C) webhook edge authors
 *
 * webhook_jwks files: ngx_http_webhook_jwks_parse() over any bytes (a
 * JWKS, a {kid: PEM} map, or junk). A file it accepts has at least one
 * key, each with a kid of 1 to 256 bytes and an RSA key of >= 2048 bits;
 * a file it refuses says why. The pool's cleanups free the keys, so
 * LeakSanitizer sees any key or JSON document left behind.
 */


#include "fuzz.h"

#include <openssl/evp.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                  *p;
    ngx_uint_t               i;
    ngx_pool_t              *pool;
    const char              *err;
    ngx_array_t             *keys;
    ngx_http_webhook_jwk_t  *k;

    ngx_fuzz_init();

    pool = ngx_fuzz_pool();
    p = ngx_fuzz_copy(pool, data, size);

    err = NULL;
    keys = ngx_http_webhook_jwks_parse(pool, p, size, &err);

    if (keys == NULL) {
        ngx_fuzz_assert(err != NULL && err[0] != '\0');

    } else {
        ngx_fuzz_assert(keys->nelts > 0);
        k = keys->elts;

        for (i = 0; i < keys->nelts; i++) {
            ngx_fuzz_assert(k[i].kid.len >= 1 && k[i].kid.len <= 256);
            ngx_fuzz_assert(k[i].pkey != NULL);
            ngx_fuzz_assert(EVP_PKEY_base_id(k[i].pkey) == EVP_PKEY_RSA);
            ngx_fuzz_assert(EVP_PKEY_bits(k[i].pkey) >= 2048);
        }
    }

    ngx_destroy_pool(pool);

    return 0;
}

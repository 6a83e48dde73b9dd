/* RS256 JWTs for Salesforce's OAuth 2.0 JWT bearer flow. */
#ifndef WORKER_JWT_H
#define WORKER_JWT_H

#include <stddef.h>

#include <openssl/evp.h>

/* PEM private key (PKCS#1 or PKCS#8, RSA); NULL with err set. */
EVP_PKEY *jwt_load_private_key(const char *path, char *err, size_t err_len);

/* header.claims.signature with {"alg":"RS256"} and iss/sub/aud/exp;
 * malloc'd, NULL on failure. */
char *jwt_build_rs256(EVP_PKEY *key, const char *iss, const char *sub,
    const char *aud, long long exp);

#endif

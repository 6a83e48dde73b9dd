#include "jwt.h"
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>


EVP_PKEY *
jwt_load_private_key(const char *path, char *err, size_t err_len)
{
    FILE     *f = fopen(path, "r");
    EVP_PKEY *key;

    if (f == NULL) {
        snprintf(err, err_len, "cannot open the key file");
        return NULL;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL) {
        snprintf(err, err_len, "is not a PEM private key");
        return NULL;
    }
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        snprintf(err, err_len, "is not an RSA key (RS256 needs one)");
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}


char *
jwt_build_rs256(EVP_PKEY *key, const char *iss, const char *sub,
    const char *aud, long long exp)
{
    static const char  header[] = "{\"alg\":\"RS256\"}";
    json_t            *claims;
    char              *claims_json = NULL, *h64 = NULL, *c64 = NULL;
    char              *s64 = NULL, *signing = NULL, *jwt = NULL;
    unsigned char     *sig = NULL;
    size_t             sig_len = 0, n;
    EVP_MD_CTX        *md = NULL;

    claims = json_pack("{s:s,s:s,s:s,s:I}", "iss", iss, "sub", sub, "aud",
                       aud, "exp", (json_int_t) exp);
    if (claims == NULL) {
        return NULL;
    }
    claims_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(claims);
    if (claims_json == NULL) {
        return NULL;
    }
    h64 = base64url_encode((const unsigned char *) header, strlen(header));
    c64 = base64url_encode((const unsigned char *) claims_json,
                           strlen(claims_json));
    if (h64 == NULL || c64 == NULL) {
        goto done;
    }
    n = strlen(h64) + 1 + strlen(c64) + 1;
    signing = malloc(n);
    if (signing == NULL) {
        goto done;
    }
    snprintf(signing, n, "%s.%s", h64, c64);

    md = EVP_MD_CTX_new();
    if (md == NULL
        || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1
        || EVP_DigestSign(md, NULL, &sig_len, (unsigned char *) signing,
                          strlen(signing)) != 1)
    {
        goto done;
    }
    sig = malloc(sig_len);
    if (sig == NULL
        || EVP_DigestSign(md, sig, &sig_len, (unsigned char *) signing,
                          strlen(signing)) != 1)
    {
        goto done;
    }
    s64 = base64url_encode(sig, sig_len);
    if (s64 == NULL) {
        goto done;
    }
    n = strlen(signing) + 1 + strlen(s64) + 1;
    jwt = malloc(n);
    if (jwt != NULL) {
        snprintf(jwt, n, "%s.%s", signing, s64);
    }

done:
    EVP_MD_CTX_free(md);
    free(claims_json);
    free(h64);
    free(c64);
    free(s64);
    free(signing);
    free(sig);
    return jwt;
}

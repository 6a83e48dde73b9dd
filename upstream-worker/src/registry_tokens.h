/*
 * The registry's tenants: REGISTRY_TOKENS_FILE, one "<tenant> <sha256 hex
 * of the bearer token>" a line ('#' comments, blank lines). Only hashes
 * are kept; a presented token is hashed and compared with every entry in
 * constant time.
 */
#ifndef WORKER_REGISTRY_TOKENS_H
#define WORKER_REGISTRY_TOKENS_H

#include <stddef.h>

#define REGISTRY_TENANT_MAX 64

typedef struct {
    char           tenant[REGISTRY_TENANT_MAX + 1];
    unsigned char  hash[32];
} registry_token;

typedef struct {
    registry_token *entries;
    size_t          n;
} registry_tokens;

/* [A-Za-z0-9_.-]{1,64} */
int registry_tenant_valid(const char *s, size_t len);

/* Parses the file's text; 0, or -1 with "line N: why" in err. */
int registry_tokens_parse(const char *text, size_t len,
    registry_tokens *out, char *err, size_t err_len);
/* Reads and parses the file; 0, or -1 with err naming the problem. */
int registry_tokens_load(const char *path, registry_tokens *out, char *err,
    size_t err_len);
void registry_tokens_free(registry_tokens *t);

/*
 * The tenant an "Authorization" header value ("Bearer <token>") belongs
 * to, or NULL. Every entry is compared (CRYPTO_memcmp), whichever matches.
 */
const char *registry_tokens_tenant(const registry_tokens *t,
    const char *authorization);

#endif

#include "registry_tokens.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#define TOKENS_FILE_MAX (1024 * 1024)


int
registry_tenant_valid(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > REGISTRY_TENANT_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-'
            && s[i] != '.')
        {
            return 0;
        }
    }
    return 1;
}


static int
hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


static int
line_error(char *err, size_t err_len, size_t line, const char *why)
{
    snprintf(err, err_len, "line %zu: %s", line, why);
    return -1;
}


/* One non-comment line: "<tenant> <64 hex>", spaces or tabs between. */
static int
parse_line(const char *p, const char *end, registry_token *tok, size_t line,
    char *err, size_t err_len)
{
    const char *t, *h;
    size_t      tlen, hlen, i;

    t = p;
    while (p < end && *p != ' ' && *p != '\t') {
        p++;
    }
    tlen = (size_t) (p - t);
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    h = p;
    while (p < end && *p != ' ' && *p != '\t') {
        p++;
    }
    hlen = (size_t) (p - h);
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p != end || hlen == 0) {
        return line_error(err, err_len, line,
                          "want \"<tenant> <sha256 hex of the token>\"");
    }
    if (!registry_tenant_valid(t, tlen)) {
        return line_error(err, err_len, line,
                          "tenant must be 1-64 of [A-Za-z0-9_.-]");
    }
    if (hlen != 64) {
        return line_error(err, err_len, line,
                          "the hash must be 64 hex characters (sha256 of "
                          "the token, not the token)");
    }
    for (i = 0; i < 32; i++) {
        int hi = hex_value((unsigned char) h[2 * i]);
        int lo = hex_value((unsigned char) h[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return line_error(err, err_len, line,
                              "the hash must be 64 hex characters");
        }
        tok->hash[i] = (unsigned char) (hi << 4 | lo);
    }
    memcpy(tok->tenant, t, tlen);
    tok->tenant[tlen] = '\0';
    return 0;
}


int
registry_tokens_parse(const char *text, size_t len, registry_tokens *out,
    char *err, size_t err_len)
{
    const char     *p = text, *end = text + len, *eol, *s, *e;
    size_t          line = 0, cap = 0, i;
    registry_token  tok, *grown;

    memset(out, 0, sizeof(*out));
    while (p < end) {
        line++;
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }
        s = p;
        e = eol;
        p = eol < end ? eol + 1 : end;
        if (e > s && e[-1] == '\r') {
            e--;
        }
        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (s == e || *s == '#') {
            continue;
        }
        if (parse_line(s, e, &tok, line, err, err_len) != 0) {
            goto failed;
        }
        for (i = 0; i < out->n; i++) {
            if (memcmp(out->entries[i].hash, tok.hash, 32) == 0) {
                line_error(err, err_len, line,
                           "this token hash is already listed");
                goto failed;
            }
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            grown = realloc(out->entries, cap * sizeof(*grown));
            if (grown == NULL) {
                line_error(err, err_len, line, "out of memory");
                goto failed;
            }
            out->entries = grown;
        }
        out->entries[out->n++] = tok;
    }
    if (out->n == 0) {
        snprintf(err, err_len, "lists no token");
        goto failed;
    }
    return 0;

failed:
    registry_tokens_free(out);
    return -1;
}


int
registry_tokens_load(const char *path, registry_tokens *out, char *err,
    size_t err_len)
{
    FILE   *f = fopen(path, "r");
    char   *buf;
    size_t  n;
    char    why[200];
    int     rc;

    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        snprintf(err, err_len, "cannot be read: %s", strerror(errno));
        return -1;
    }
    buf = malloc(TOKENS_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    n = fread(buf, 1, TOKENS_FILE_MAX + 1, f);
    fclose(f);
    if (n > TOKENS_FILE_MAX) {
        free(buf);
        snprintf(err, err_len, "is larger than 1 MiB");
        return -1;
    }
    rc = registry_tokens_parse(buf, n, out, why, sizeof(why));
    free(buf);
    if (rc != 0) {
        snprintf(err, err_len, "is malformed: %s", why);
    }
    return rc;
}


void
registry_tokens_free(registry_tokens *t)
{
    if (t != NULL) {
        OPENSSL_cleanse(t->entries, t->n * sizeof(*t->entries));
        free(t->entries);
        t->entries = NULL;
        t->n = 0;
    }
}


const char *
registry_tokens_tenant(const registry_tokens *t, const char *authorization)
{
    unsigned char  md[SHA256_DIGEST_LENGTH];
    const char    *token, *found = NULL;
    size_t         i, len;

    if (t == NULL || authorization == NULL
        || strncasecmp(authorization, "Bearer ", 7) != 0)
    {
        return NULL;
    }
    token = authorization + 7;
    while (*token == ' ') {
        token++;
    }
    len = strlen(token);
    while (len > 0 && token[len - 1] == ' ') {
        len--;
    }
    if (len == 0 || len > 4096) {
        return NULL;
    }
    SHA256((const unsigned char *) token, len, md);
    for (i = 0; i < t->n; i++) {
        if (CRYPTO_memcmp(md, t->entries[i].hash, sizeof(md)) == 0) {
            found = t->entries[i].tenant;
        }
    }
    OPENSSL_cleanse(md, sizeof(md));
    return found;
}

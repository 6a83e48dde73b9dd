
/*
 * Copyright (C) webhook edge authors
 *
 * Google Cloud Pub/Sub push: "Authorization: Bearer <JWT>", an RS256 OIDC
 * token checked against the keys of webhook_jwks (a JWKS or Google's
 * {kid: PEM certificate} map), re-read when the file changes. Verified
 * tokens are remembered in a small shared-memory cache until their exp.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <jansson.h>


#define NGX_HTTP_WEBHOOK_JWKS_MAX_SIZE  (1024 * 1024)
#define NGX_HTTP_WEBHOOK_JWT_PART_MAX   4096
#define NGX_HTTP_WEBHOOK_JWT_SLOTS      2048
#define NGX_HTTP_WEBHOOK_JWT_ZONE_SIZE  (256 * 1024)


struct ngx_http_webhook_jwks_s {
    ngx_str_t                     path;
    ngx_array_t                  *keys;     /* ngx_http_webhook_jwk_t */
    ngx_pool_t                   *pool;     /* keys re-read at run time */
    time_t                        checked;
    time_t                        mtime_sec;
    long                          mtime_nsec;
    off_t                         size;
    ngx_file_uniq_t               uniq;
    unsigned                      stat_failed:1;
    ngx_shm_zone_t               *cache;
};


/* one verified token: a hash of it and of the location's checks */
typedef struct {
    u_char                        key[SHA256_DIGEST_LENGTH];
    time_t                        exp;
} ngx_http_webhook_jwt_slot_t;


static ngx_int_t ngx_http_webhook_jwt_cache_init(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_webhook_jwt_cache_get(ngx_shm_zone_t *zone,
    u_char *key, time_t now);
static void ngx_http_webhook_jwt_cache_put(ngx_shm_zone_t *zone, u_char *key,
    time_t exp);
static ngx_array_t *ngx_http_webhook_jwks_read(ngx_str_t *path,
    ngx_pool_t *pool, ngx_log_t *log, ngx_file_info_t *fi, const char **err);
static void ngx_http_webhook_jwks_refresh(ngx_http_webhook_jwks_t *jwks,
    ngx_log_t *log);
static void ngx_http_webhook_jwks_cleanup(void *data);
static void ngx_http_webhook_pkey_cleanup(void *data);
static ngx_int_t ngx_http_webhook_jwk_add(ngx_pool_t *pool, ngx_array_t *keys,
    const char *kid, EVP_PKEY *pkey);
static EVP_PKEY *ngx_http_webhook_jwk_rsa(ngx_pool_t *pool, json_t *jwk);
static EVP_PKEY *ngx_http_webhook_pem_rsa(const char *pem, size_t len);
static ngx_int_t ngx_http_webhook_b64url(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_str_t *out);
static json_t *ngx_http_webhook_jwt_part(ngx_pool_t *pool, ngx_log_t *log,
    u_char *p, size_t len);
static ngx_int_t ngx_http_webhook_json_str_eq(json_t *v, ngx_str_t *want);


static ngx_str_t  ngx_http_webhook_jwt_zone_name =
    ngx_string("webhook_jwt_cache");


/* webhook_jwks file:/path; read now (a bad file fails the load) */

char *
ngx_http_webhook_jwks_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    const char                    *err;
    ngx_str_t                     *value, path;
    ngx_pool_t                    *tmp;
    ngx_array_t                   *keys;
    ngx_file_info_t                fi;
    ngx_pool_cleanup_t            *cln;
    ngx_http_webhook_jwks_t       *jwks, **slot;
    ngx_http_webhook_main_conf_t  *wmcf;

    if (wlcf->jwks != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len <= 5 || ngx_strncmp(value[1].data, "file:", 5) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_jwks \"%V\" must be file:/path",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    path.data = value[1].data + 5;
    path.len = value[1].len - 5;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    jwks = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_jwks_t));
    if (jwks == NULL) {
        return NGX_CONF_ERROR;
    }

    jwks->path = path;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_webhook_jwks_cleanup;
    cln->data = jwks;

    /*
     * Checked now, so a bad file fails the load; the keys themselves are
     * read by each worker at its start (the master never holds them).
     */

    tmp = ngx_create_pool(4096, cf->log);
    if (tmp == NULL) {
        return NGX_CONF_ERROR;
    }

    keys = ngx_http_webhook_jwks_read(&path, tmp, cf->log, &fi, &err);
    ngx_destroy_pool(tmp);

    if (keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "webhook_jwks \"%V\": %s",
                           &path, err);
        return NGX_CONF_ERROR;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    if (wmcf->jwks == NULL) {
        wmcf->jwks = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_webhook_jwks_t *));
        if (wmcf->jwks == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    slot = ngx_array_push(wmcf->jwks);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = jwks;

    jwks->cache = ngx_shared_memory_add(cf, &ngx_http_webhook_jwt_zone_name,
                                        NGX_HTTP_WEBHOOK_JWT_ZONE_SIZE,
                                        &ngx_http_webhook_module);
    if (jwks->cache == NULL) {
        return NGX_CONF_ERROR;
    }

    jwks->cache->init = ngx_http_webhook_jwt_cache_init;

    wlcf->jwks = jwks;

    return NGX_CONF_OK;
}


static void
ngx_http_webhook_jwks_cleanup(void *data)
{
    ngx_http_webhook_jwks_t *jwks = data;

    if (jwks->pool) {
        ngx_destroy_pool(jwks->pool);
        jwks->pool = NULL;
    }
}


static void
ngx_http_webhook_pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
}


/* the whole file, parsed: NULL and *err say why when it is not usable */

static ngx_array_t *
ngx_http_webhook_jwks_read(ngx_str_t *path, ngx_pool_t *pool, ngx_log_t *log,
    ngx_file_info_t *fi, const char **err)
{
    u_char       *buf;
    ssize_t       n;
    ngx_fd_t      fd;
    ngx_file_t    file;
    ngx_array_t  *keys;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        *err = "cannot be opened";
        return NULL;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = log;

    if (ngx_fd_info(fd, fi) == NGX_FILE_ERROR
        || ngx_file_size(fi) > NGX_HTTP_WEBHOOK_JWKS_MAX_SIZE)
    {
        ngx_close_file(fd);
        *err = "is not a readable file of at most 1M";
        return NULL;
    }

    buf = ngx_pnalloc(pool, (size_t) ngx_file_size(fi) + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        *err = "out of memory";
        return NULL;
    }

    n = ngx_read_file(&file, buf, (size_t) ngx_file_size(fi), 0);
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(fi)) {
        *err = "could not be read whole";
        return NULL;
    }

    keys = ngx_http_webhook_jwks_parse(pool, buf, n, err);

    return keys;
}


/*
 * {"keys":[{"kid","kty":"RSA","n","e","alg":"RS256","use":"sig"}, ...]}
 * or {"<kid>": "-----BEGIN CERTIFICATE-----...", ...}: RSA keys of at
 * least 2048 bits; other keys are passed over, none at all is an error.
 */

ngx_array_t *
ngx_http_webhook_jwks_parse(ngx_pool_t *pool, u_char *data, size_t len,
    const char **err)
{
    size_t         i;
    json_t        *root, *list, *jwk, *v;
    EVP_PKEY      *pkey;
    const char    *kid;
    ngx_array_t   *keys;
    json_error_t   jerr;

    keys = ngx_array_create(pool, 4, sizeof(ngx_http_webhook_jwk_t));
    if (keys == NULL) {
        *err = "out of memory";
        return NULL;
    }

    /* plain heap for jansson: the document is freed below */
    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL || !json_is_object(root)) {
        *err = "is not a JSON object";
        goto failed;
    }

    list = json_object_get(root, "keys");

    if (list) {
        if (!json_is_array(list)) {
            *err = "\"keys\" is not an array";
            goto failed;
        }

        json_array_foreach(list, i, jwk) {
            v = json_is_object(jwk) ? json_object_get(jwk, "kid") : NULL;

            if (v == NULL || !json_is_string(v)) {
                continue;
            }

            kid = json_string_value(v);

            pkey = ngx_http_webhook_jwk_rsa(pool, jwk);
            if (pkey == NULL) {
                continue;
            }

            if (ngx_http_webhook_jwk_add(pool, keys, kid, pkey) != NGX_OK) {
                *err = "out of memory";
                goto failed;
            }
        }

    } else {
        json_object_foreach(root, kid, v) {
            if (!json_is_string(v)) {
                continue;
            }

            pkey = ngx_http_webhook_pem_rsa(json_string_value(v),
                                            json_string_length(v));
            if (pkey == NULL) {
                continue;
            }

            if (ngx_http_webhook_jwk_add(pool, keys, kid, pkey) != NGX_OK) {
                *err = "out of memory";
                goto failed;
            }
        }
    }

    if (keys->nelts == 0) {
        *err = "holds no RSA signing key (JWKS or {kid: PEM certificate})";
        goto failed;
    }

    json_decref(root);
    return keys;

failed:

    if (root) {
        json_decref(root);
    }

    return NULL;
}


static ngx_int_t
ngx_http_webhook_jwk_add(ngx_pool_t *pool, ngx_array_t *keys, const char *kid,
    EVP_PKEY *pkey)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_webhook_jwk_t  *k;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(pkey);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_webhook_pkey_cleanup;
    cln->data = pkey;

    if (ngx_strlen(kid) == 0 || ngx_strlen(kid) > 256) {
        return NGX_OK;                  /* freed with the pool */
    }

    k = ngx_array_push(keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    k->kid.len = ngx_strlen(kid);
    k->kid.data = ngx_pnalloc(pool, k->kid.len);
    if (k->kid.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(k->kid.data, kid, k->kid.len);
    k->pkey = pkey;

    return NGX_OK;
}


static EVP_PKEY *
ngx_http_webhook_jwk_rsa(ngx_pool_t *pool, json_t *jwk)
{
    RSA        *rsa;
    BIGNUM     *n, *e;
    json_t     *kty, *alg, *use, *jn, *je;
    EVP_PKEY   *pkey;
    ngx_str_t   nb, eb;

    kty = json_object_get(jwk, "kty");
    alg = json_object_get(jwk, "alg");
    use = json_object_get(jwk, "use");
    jn = json_object_get(jwk, "n");
    je = json_object_get(jwk, "e");

    if (kty == NULL || !json_is_string(kty)
        || ngx_strcmp(json_string_value(kty), "RSA") != 0
        || (alg && (!json_is_string(alg)
                    || ngx_strcmp(json_string_value(alg), "RS256") != 0))
        || (use && (!json_is_string(use)
                    || ngx_strcmp(json_string_value(use), "sig") != 0))
        || jn == NULL || !json_is_string(jn)
        || je == NULL || !json_is_string(je))
    {
        return NULL;
    }

    if (ngx_http_webhook_b64url(pool, (u_char *) json_string_value(jn),
                                json_string_length(jn), &nb)
        != NGX_OK
        || ngx_http_webhook_b64url(pool, (u_char *) json_string_value(je),
                                   json_string_length(je), &eb)
           != NGX_OK
        || nb.len < 256 || nb.len > 1024 || eb.len == 0 || eb.len > 8)
    {
        return NULL;
    }

    n = BN_bin2bn(nb.data, nb.len, NULL);
    e = BN_bin2bn(eb.data, eb.len, NULL);
    rsa = RSA_new();
    pkey = EVP_PKEY_new();

    if (n == NULL || e == NULL || rsa == NULL || pkey == NULL
        || RSA_set0_key(rsa, n, e, NULL) != 1)
    {
        BN_free(n);
        BN_free(e);
        RSA_free(rsa);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    /* n and e belong to rsa now, rsa to pkey */

    if (EVP_PKEY_assign_RSA(pkey, rsa) != 1) {
        RSA_free(rsa);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    if (EVP_PKEY_bits(pkey) < 2048) {
        EVP_PKEY_free(pkey);
        return NULL;
    }

    return pkey;
}


static EVP_PKEY *
ngx_http_webhook_pem_rsa(const char *pem, size_t len)
{
    BIO       *bio;
    X509      *x509;
    EVP_PKEY  *pkey;

    if (len > 65536) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return NULL;
    }

    pkey = NULL;
    x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    if (x509) {
        pkey = X509_get_pubkey(x509);
        X509_free(x509);

    } else if (BIO_reset(bio) == 1) {
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }

    BIO_free(bio);
    ERR_clear_error();

    if (pkey == NULL) {
        return NULL;
    }

    if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA || EVP_PKEY_bits(pkey) < 2048) {
        EVP_PKEY_free(pkey);
        return NULL;
    }

    return pkey;
}


/* base64url without padding, every character checked (nginx's stops) */

static ngx_int_t
ngx_http_webhook_b64url(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_str_t *out)
{
    size_t     i;
    ngx_str_t  src;

    if (len == 0 || len % 4 == 1) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_'))
        {
            return NGX_ERROR;
        }
    }

    out->data = ngx_pnalloc(pool, ngx_base64_decoded_length(len) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    src.data = p;
    src.len = len;

    return ngx_decode_base64url(out, &src);
}


static json_t *
ngx_http_webhook_jwt_part(ngx_pool_t *pool, ngx_log_t *log, u_char *p,
    size_t len)
{
    ngx_str_t  raw;

    if (len > NGX_HTTP_WEBHOOK_JWT_PART_MAX
        || ngx_http_webhook_b64url(pool, p, len, &raw) != NGX_OK)
    {
        return NULL;
    }

    return ngx_http_webhook_json_parse(pool, log, raw.data, raw.len);
}


static ngx_int_t
ngx_http_webhook_json_str_eq(json_t *v, ngx_str_t *want)
{
    return v && json_is_string(v)
           && json_string_length(v) == want->len
           && ngx_strncmp(json_string_value(v), want->data, want->len) == 0;
}


/*
 * A compact JWS: RS256 only (no "none", no HS256 keyed with the public
 * key: the algorithm is never taken from the token), a known kid, the
 * signature, then the claims. *detail says which check failed.
 */

ngx_http_webhook_reason_e
ngx_http_webhook_jwt_verify(ngx_pool_t *pool, ngx_log_t *log,
    ngx_array_t *keys, ngx_str_t *token, ngx_http_webhook_jwt_want_t *want,
    time_t *exp, const char **detail)
{
    int            rc;
    u_char        *p, *last, *dot1, *dot2;
    json_t        *head, *claims, *v, *iat;
    ngx_str_t      sig, kid;
    ngx_uint_t     i;
    EVP_MD_CTX    *md;
    EVP_PKEY      *pkey;
    ngx_http_webhook_jwk_t  *k;

    static ngx_str_t  issuers[] = {
        ngx_string("accounts.google.com"),
        ngx_string("https://accounts.google.com"),
    };

    p = token->data;
    last = p + token->len;

    dot1 = ngx_strlchr(p, last, '.');
    dot2 = dot1 ? ngx_strlchr(dot1 + 1, last, '.') : NULL;

    if (dot2 == NULL || ngx_strlchr(dot2 + 1, last, '.') != NULL
        || dot1 == p || dot2 == dot1 + 1 || dot2 + 1 == last)
    {
        *detail = "token is not header.claims.signature";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    head = ngx_http_webhook_jwt_part(pool, log, p, dot1 - p);
    if (head == NULL) {
        *detail = "token header is not base64url JSON";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    v = json_object_get(head, "alg");

    if (v == NULL || !json_is_string(v)
        || ngx_strcmp(json_string_value(v), "RS256") != 0)
    {
        *detail = "token alg is not RS256 (none, HS256 and others refused)";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (json_object_get(head, "crit")) {
        *detail = "token header has crit extensions";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    v = json_object_get(head, "kid");

    if (v == NULL || !json_is_string(v)) {
        *detail = "token has no kid";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    kid.data = (u_char *) json_string_value(v);
    kid.len = json_string_length(v);

    pkey = NULL;
    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        if (k[i].kid.len == kid.len
            && ngx_strncmp(k[i].kid.data, kid.data, kid.len) == 0)
        {
            pkey = k[i].pkey;
            break;
        }
    }

    if (pkey == NULL) {
        *detail = "token kid is not in webhook_jwks";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (ngx_http_webhook_b64url(pool, dot2 + 1, last - dot2 - 1, &sig)
        != NGX_OK
        || sig.len != (size_t) EVP_PKEY_size(pkey))
    {
        *detail = "token signature is not an RS256 signature for its key";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_HTTP_WEBHOOK_NREASONS;
    }

    rc = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey);

    if (rc == 1) {
        rc = EVP_DigestVerify(md, sig.data, sig.len, p, dot2 - p);
    }

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    if (rc != 1) {
        *detail = "token signature does not verify";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    /* signed by a key we hold: now what it says */

    claims = ngx_http_webhook_jwt_part(pool, log, dot1 + 1, dot2 - dot1 - 1);
    if (claims == NULL) {
        *detail = "token claims are not base64url JSON";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    v = json_object_get(claims, "iss");

    if (!ngx_http_webhook_json_str_eq(v, &issuers[0])
        && !ngx_http_webhook_json_str_eq(v, &issuers[1]))
    {
        *detail = "token iss is not accounts.google.com";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (!ngx_http_webhook_json_str_eq(json_object_get(claims, "aud"),
                                      &want->audience))
    {
        *detail = "token aud differs from webhook_jwt_audience";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    v = json_object_get(claims, "exp");
    iat = json_object_get(claims, "iat");

    if (v == NULL || !json_is_integer(v) || iat == NULL
        || !json_is_integer(iat))
    {
        *detail = "token has no integer exp and iat";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (json_integer_value(v) <= (json_int_t) (want->now - want->leeway)) {
        *detail = "token expired (exp older than webhook_tolerance)";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (json_integer_value(iat) > (json_int_t) (want->now + want->leeway)) {
        *detail = "token iat is in the future (beyond webhook_tolerance)";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (!ngx_http_webhook_json_str_eq(json_object_get(claims, "email"),
                                      &want->email))
    {
        *detail = "token email differs from webhook_jwt_email";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    if (!json_is_true(json_object_get(claims, "email_verified"))) {
        *detail = "token email_verified is not true";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    *exp = (time_t) ngx_min(json_integer_value(v),
                            (json_int_t) (want->now + 86400));

    return NGX_HTTP_WEBHOOK_OK;
}


/* each worker reads its keys at start */

void
ngx_http_webhook_jwks_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_main_conf_t *wmcf)
{
    ngx_uint_t                 i;
    ngx_http_webhook_jwks_t  **jwks;

    if (wmcf->jwks == NULL) {
        return;
    }

    jwks = wmcf->jwks->elts;

    for (i = 0; i < wmcf->jwks->nelts; i++) {
        jwks[i]->checked = 0;
        ngx_http_webhook_jwks_refresh(jwks[i], cycle->log);
    }
}


/* the file is looked at no more than once a second per worker */

static void
ngx_http_webhook_jwks_refresh(ngx_http_webhook_jwks_t *jwks, ngx_log_t *log)
{
    time_t            now;
    const char       *err;
    ngx_pool_t       *pool;
    ngx_array_t      *keys;
    ngx_file_info_t   fi;

    now = ngx_time();

    if (jwks->checked == now) {
        return;
    }

    jwks->checked = now;

    if (ngx_file_info(jwks->path.data, &fi) == NGX_FILE_ERROR) {
        if (!jwks->stat_failed) {
            jwks->stat_failed = 1;
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "webhook_jwks \"%V\" cannot be read; %s",
                          &jwks->path, jwks->keys ? "the previous keys stay "
                                                    "in use"
                                                  : "no keys are in use");
        }

        return;
    }

    jwks->stat_failed = 0;

    if (fi.st_mtim.tv_sec == jwks->mtime_sec
        && fi.st_mtim.tv_nsec == jwks->mtime_nsec
        && ngx_file_size(&fi) == jwks->size
        && ngx_file_uniq(&fi) == jwks->uniq)
    {
        return;
    }

    /* a change, good or bad, is acted on (and reported) once */

    jwks->mtime_sec = fi.st_mtim.tv_sec;
    jwks->mtime_nsec = fi.st_mtim.tv_nsec;
    jwks->size = ngx_file_size(&fi);
    jwks->uniq = ngx_file_uniq(&fi);

    /* the keys outlive the request: the pool logs to the cycle's log */

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    keys = ngx_http_webhook_jwks_read(&jwks->path, pool, log, &fi, &err);

    if (keys == NULL) {
        ngx_destroy_pool(pool);
        ngx_log_error(NGX_LOG_ERR, log, 0, "webhook_jwks \"%V\" %s; %s",
                      &jwks->path, err,
                      jwks->keys ? "the previous keys stay in use"
                                 : "no keys are in use");
        return;
    }

    if (jwks->pool) {
        ngx_destroy_pool(jwks->pool);
    }

    jwks->pool = pool;
    jwks->keys = keys;

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "webhook_jwks \"%V\" re-read: %ui keys",
                  &jwks->path, keys->nelts);
}


ngx_http_webhook_reason_e
ngx_http_webhook_jwt_check(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    u_char                       key[SHA256_DIGEST_LENGTH];
    time_t                       exp;
    ngx_str_t                    token;
    SHA256_CTX                   sha;
    ngx_http_webhook_reason_e    reason;
    ngx_http_webhook_jwt_want_t  want;

    token = ctx->shared_secret;

    /* nginx drops trailing spaces: "Bearer " arrives as "Bearer" */

    if (token.len < 6 || ngx_strncasecmp(token.data, (u_char *) "Bearer", 6)
                         != 0
        || (token.len > 6 && token.data[6] != ' '))
    {
        ctx->detail = "Authorization is not a Bearer token";
        return NGX_HTTP_WEBHOOK_MISSING_TOKEN;
    }

    token.data += 6;
    token.len -= 6;

    while (token.len && token.data[0] == ' ') {
        token.data++;
        token.len--;
    }

    if (token.len == 0) {
        ctx->detail = "empty Bearer token";
        return NGX_HTTP_WEBHOOK_MISSING_TOKEN;
    }

    want.audience = wlcf->jwt_audience;
    want.email = wlcf->jwt_email;
    want.now = ngx_time();
    want.leeway = (time_t) (wlcf->tolerance / 1000);

    /* a token Google reuses costs one RSA verify, not one per push */

    SHA256_Init(&sha);
    SHA256_Update(&sha, wlcf->label->name.data, wlcf->label->name.len);
    SHA256_Update(&sha, "\0", 1);
    SHA256_Update(&sha, want.audience.data, want.audience.len);
    SHA256_Update(&sha, "\0", 1);
    SHA256_Update(&sha, want.email.data, want.email.len);
    SHA256_Update(&sha, "\0", 1);
    SHA256_Update(&sha, token.data, token.len);
    SHA256_Final(key, &sha);

    if (ngx_http_webhook_jwt_cache_get(wlcf->jwks->cache, key, want.now)
        == NGX_OK)
    {
        ngx_http_webhook_count(wlcf, NGX_HTTP_WEBHOOK_C_TOKEN_CACHED);
        ctx->secret_index = 0;
        return NGX_HTTP_WEBHOOK_OK;
    }

    ngx_http_webhook_jwks_refresh(wlcf->jwks, r->connection->log);

    if (wlcf->jwks->keys == NULL) {
        ctx->detail = "no keys could be read from webhook_jwks";
        return NGX_HTTP_WEBHOOK_INVALID_TOKEN;
    }

    reason = ngx_http_webhook_jwt_verify(r->pool, r->connection->log,
                                         wlcf->jwks->keys, &token, &want,
                                         &exp, &ctx->detail);

    if (reason != NGX_HTTP_WEBHOOK_OK) {
        return reason;
    }

    if (exp > want.now) {
        ngx_http_webhook_jwt_cache_put(wlcf->jwks->cache, key, exp);
    }

    ctx->secret_index = 0;

    return NGX_HTTP_WEBHOOK_OK;
}


/*
 * The cache: a direct-mapped table in its own zone. A slot holds only a
 * token that verified; a collision overwrites (the cost is one more RSA
 * verify). A lookup never creates anything, so a token being checked by
 * another worker cannot look verified.
 */

static ngx_int_t
ngx_http_webhook_jwt_cache_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    zone->data = ngx_slab_calloc(shpool, NGX_HTTP_WEBHOOK_JWT_SLOTS
                                         * sizeof(ngx_http_webhook_jwt_slot_t));
    if (zone->data == NULL) {
        return NGX_ERROR;
    }

    shpool->data = zone->data;

    return NGX_OK;
}


static ngx_http_webhook_jwt_slot_t *
ngx_http_webhook_jwt_slot(ngx_shm_zone_t *zone, u_char *key)
{
    ngx_uint_t                    i;
    ngx_http_webhook_jwt_slot_t  *slots;

    slots = zone->data;
    i = ((ngx_uint_t) key[0] << 8 | key[1]) % NGX_HTTP_WEBHOOK_JWT_SLOTS;

    return &slots[i];
}


static ngx_int_t
ngx_http_webhook_jwt_cache_get(ngx_shm_zone_t *zone, u_char *key, time_t now)
{
    ngx_int_t                     rc;
    ngx_slab_pool_t              *shpool;
    ngx_http_webhook_jwt_slot_t  *slot;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    slot = ngx_http_webhook_jwt_slot(zone, key);

    ngx_shmtx_lock(&shpool->mutex);

    rc = (slot->exp > now && ngx_memcmp(slot->key, key, sizeof(slot->key)) == 0)
         ? NGX_OK : NGX_DECLINED;

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


static void
ngx_http_webhook_jwt_cache_put(ngx_shm_zone_t *zone, u_char *key, time_t exp)
{
    ngx_slab_pool_t              *shpool;
    ngx_http_webhook_jwt_slot_t  *slot;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    slot = ngx_http_webhook_jwt_slot(zone, key);

    ngx_shmtx_lock(&shpool->mutex);

    ngx_memcpy(slot->key, key, sizeof(slot->key));
    slot->exp = exp;

    ngx_shmtx_unlock(&shpool->mutex);
}

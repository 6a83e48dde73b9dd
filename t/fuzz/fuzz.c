
/*
 * Copyright (C) webhook edge authors
 *
 * The runtime the fuzz targets share.  nginx's core is the packaged
 * binary itself (see nginx-dso), so only what main() would have set up
 * for the functions the module calls is set up here.
 *
 * Every allocation of a request pool is its own malloc() (pool->max is 0)
 * and every header and body piece is copied into a buffer of its exact
 * size, so AddressSanitizer sees a read past any of them.
 */


#include "fuzz.h"

#include <jansson.h>
#include <sys/mman.h>


static void ngx_fuzz_log_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);


static ngx_log_t        ngx_fuzz_log_obj;
static ngx_open_file_t  ngx_fuzz_log_file;
static ngx_pool_t      *ngx_fuzz_conf;
static ngx_fd_t         ngx_fuzz_body_fd = NGX_INVALID_FILE;
static ngx_uint_t       ngx_fuzz_verbose;


void
ngx_fuzz_init(void)
{
    ngx_uint_t  n;

    if (ngx_fuzz_conf) {
        return;
    }

    ngx_pagesize = getpagesize();
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }

    /* nginx writes WARN and worse to stderr too until a log is opened */
    ngx_use_stderr = 0;

    ngx_time_init();

    /* what the module's init_process does before any request */
    json_set_alloc_funcs(ngx_http_webhook_json_alloc,
                         ngx_http_webhook_json_free);

    ngx_fuzz_verbose = getenv("NGX_FUZZ_LOG") != NULL;

    ngx_fuzz_log_file.fd = NGX_INVALID_FILE;
    ngx_fuzz_log_obj.file = &ngx_fuzz_log_file;
    ngx_fuzz_log_obj.log_level = NGX_LOG_DEBUG_ALL;
    ngx_fuzz_log_obj.writer = ngx_fuzz_log_writer;

    ngx_fuzz_conf = ngx_create_pool(16384, &ngx_fuzz_log_obj);
    if (ngx_fuzz_conf == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "conf pool");
    }

    ngx_fuzz_body_fd = memfd_create("fuzz-body", 0);
    if (ngx_fuzz_body_fd == NGX_INVALID_FILE) {
        ngx_fuzz_fail(__FILE__, __LINE__, "memfd_create()");
    }
}


/* every message is formatted as nginx would; NGX_FUZZ_LOG=1 shows them */

static void
ngx_fuzz_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    if (ngx_fuzz_verbose) {
        (void) ngx_write_fd(ngx_stderr, buf, len);
    }
}


ngx_log_t *
ngx_fuzz_log(void)
{
    return &ngx_fuzz_log_obj;
}


ngx_pool_t *
ngx_fuzz_conf_pool(void)
{
    return ngx_fuzz_conf;
}


ngx_pool_t *
ngx_fuzz_pool(void)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, &ngx_fuzz_log_obj);
    if (pool == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_create_pool()");
    }

    pool->max = 0;

    return pool;
}


void
ngx_fuzz_fail(const char *file, int line, const char *cond)
{
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, cond);
    abort();
}


u_char *
ngx_fuzz_copy(ngx_pool_t *pool, const u_char *p, size_t len)
{
    u_char  *dst;

    dst = ngx_pnalloc(pool, len);
    if (dst == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pnalloc()");
    }

    ngx_memcpy(dst, p, len);

    return dst;
}


u_char *
ngx_fuzz_line(u_char **pp, u_char *last, size_t *len)
{
    u_char  *p, *eol;

    p = *pp;

    if (p >= last) {
        return NULL;
    }

    eol = ngx_strlchr(p, last, '\n');
    if (eol == NULL) {
        eol = last;
    }

    *len = eol - p;
    *pp = (eol < last) ? eol + 1 : last;

    return p;
}


ngx_int_t
ngx_fuzz_request(ngx_fuzz_t *fz)
{
    ngx_pool_t          *pool;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    pool = ngx_fuzz_pool();

    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));

    if (c == NULL || r == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pcalloc()");
    }

    c->log = &ngx_fuzz_log_obj;
    c->pool = pool;
    c->fd = NGX_INVALID_FILE;

    r->pool = pool;
    r->connection = c;
    r->main = r;
    ngx_str_set(&r->method_name, "POST");
    ngx_str_set(&r->unparsed_uri, "/hook");

    /* two headers a part: the module walks a list of several parts */

    if (ngx_list_init(&r->headers_in.headers, pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_list_init()");
    }

    fz->pool = pool;
    fz->r = r;

    return NGX_OK;
}


/*
 * "name:value" as ngx_http_process_request_headers() stores it: key and
 * value NUL-terminated, spaces around the value dropped (tabs kept),
 * lowcase_key of the key's exact length.  A line nginx would not hand
 * over (no colon, an invalid name, NUL or CR) is skipped; a leading "!"
 * makes a header another module removed (hash 0).
 */

ngx_int_t
ngx_fuzz_header(ngx_fuzz_t *fz, u_char *line, size_t len)
{
    u_char           *p, *last, *colon, *v, *vlast;
    ngx_uint_t        removed;
    ngx_table_elt_t  *h;

    p = line;
    last = line + len;
    removed = 0;

    if (p < last && *p == '!') {
        removed = 1;
        p++;
    }

    colon = ngx_strlchr(p, last, ':');
    if (colon == NULL || colon == p) {
        return NGX_DECLINED;
    }

    for (v = p; v < colon; v++) {
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z')
              || (*v >= '0' && *v <= '9') || *v == '-' || *v == '_'))
        {
            return NGX_DECLINED;
        }
    }

    for (v = colon + 1; v < last; v++) {
        if (*v == '\0' || *v == '\r' || *v == '\n') {
            return NGX_DECLINED;
        }
    }

    v = colon + 1;
    vlast = last;

    while (v < vlast && *v == ' ') {
        v++;
    }

    while (vlast > v && vlast[-1] == ' ') {
        vlast--;
    }

    h = ngx_list_push(&fz->r->headers_in.headers);
    if (h == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_list_push()");
    }

    h->key.len = colon - p;
    h->key.data = ngx_pnalloc(fz->pool, h->key.len + 1);
    h->value.len = vlast - v;
    h->value.data = ngx_pnalloc(fz->pool, h->value.len + 1);
    h->lowcase_key = ngx_pnalloc(fz->pool, h->key.len);

    if (h->key.data == NULL || h->value.data == NULL
        || h->lowcase_key == NULL)
    {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pnalloc()");
    }

    *ngx_cpymem(h->key.data, p, h->key.len) = '\0';
    *ngx_cpymem(h->value.data, v, h->value.len) = '\0';

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, h->key.len);

    if (removed) {
        h->hash = 0;

    } else if (h->hash == 0) {
        h->hash = 1;
    }

    return NGX_OK;
}


ngx_int_t
ngx_fuzz_header_value(ngx_fuzz_t *fz, char *name, u_char *value, size_t len)
{
    u_char  *line, *p;
    size_t   n;

    n = ngx_strlen(name);

    line = ngx_pnalloc(fz->pool, n + 1 + len);
    if (line == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pnalloc()");
    }

    p = ngx_cpymem(line, name, n);
    *p++ = ':';
    p = ngx_cpymem(p, value, len);

    return ngx_fuzz_header(fz, line, p - line);
}


ngx_int_t
ngx_fuzz_header_lines(ngx_fuzz_t *fz, u_char *p, size_t len)
{
    u_char  *last, *line;
    size_t   n;

    last = p + len;

    while ((line = ngx_fuzz_line(&p, last, &n)) != NULL) {
        (void) ngx_fuzz_header(fz, line, n);
    }

    return NGX_OK;
}


/* a body in up to four pieces, each in a buffer of its exact size */

ngx_int_t
ngx_fuzz_body(ngx_fuzz_t *fz, u_char *p, size_t len, ngx_uint_t pieces,
    ngx_uint_t flags)
{
    size_t                    size;
    ngx_buf_t                *b;
    ngx_uint_t                i;
    ngx_chain_t              *cl, **ll;
    ngx_http_request_body_t  *rb;

    if (flags & NGX_FUZZ_BODY_NONE) {
        return NGX_OK;
    }

    rb = ngx_pcalloc(fz->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pcalloc()");
    }

    fz->r->request_body = rb;
    ll = &rb->bufs;

    pieces = ngx_max(1, ngx_min(pieces, len));

    for (i = 0; len && i < pieces; i++) {
        size = (i == pieces - 1) ? len : len / pieces;

        b = ngx_calloc_buf(fz->pool);
        cl = ngx_alloc_chain_link(fz->pool);
        if (b == NULL || cl == NULL) {
            ngx_fuzz_fail(__FILE__, __LINE__, "ngx_alloc_chain_link()");
        }

        if (i == pieces - 1 && (flags & NGX_FUZZ_BODY_FILE)) {

            /* spilled: the piece sits at an offset of a file */

            if (ftruncate(ngx_fuzz_body_fd, 0) == -1
                || pwrite(ngx_fuzz_body_fd, "garbage", 7, 0) != 7
                || pwrite(ngx_fuzz_body_fd, p, size, 7) != (ssize_t) size)
            {
                ngx_fuzz_fail(__FILE__, __LINE__, "pwrite()");
            }

            b->file = ngx_pcalloc(fz->pool, sizeof(ngx_file_t));
            if (b->file == NULL) {
                ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pcalloc()");
            }

            b->file->fd = ngx_fuzz_body_fd;
            ngx_str_set(&b->file->name, "fuzz-body");
            b->file->log = &ngx_fuzz_log_obj;
            b->in_file = 1;
            b->file_pos = 7;
            b->file_last = 7 + size;

        } else {
            b->start = ngx_fuzz_copy(fz->pool, p, size);
            b->pos = b->start;
            b->last = b->start + size;
            b->end = b->last;
            b->temporary = 1;
        }

        p += size;
        len -= size;

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    if (flags & NGX_FUZZ_BODY_EMPTY_BUF) {
        b = ngx_calloc_buf(fz->pool);
        cl = ngx_alloc_chain_link(fz->pool);
        if (b == NULL || cl == NULL) {
            ngx_fuzz_fail(__FILE__, __LINE__, "ngx_alloc_chain_link()");
        }

        b->last_buf = 1;
        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    return NGX_OK;
}


void
ngx_fuzz_done(ngx_fuzz_t *fz)
{
    ngx_destroy_pool(fz->pool);
    fz->pool = NULL;
    fz->r = NULL;
}


/* a location as the module's merge leaves it, with literal secrets */

ngx_http_webhook_loc_conf_t *
ngx_fuzz_loc_conf(char *name, char **secrets)
{
    ngx_str_t                     s, material;
    SHA256_CTX                    sha;
    ngx_pool_t                   *pool;
    ngx_http_webhook_secret_t    *secret;
    ngx_http_webhook_loc_conf_t  *wlcf;

    ngx_fuzz_init();

    pool = ngx_fuzz_conf;

    wlcf = ngx_pcalloc(pool, sizeof(ngx_http_webhook_loc_conf_t));
    if (wlcf == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_pcalloc()");
    }

    s.data = (u_char *) name;
    s.len = ngx_strlen(name);

    wlcf->scheme = ngx_http_webhook_find_scheme(&s);
    if (wlcf->scheme == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_http_webhook_find_scheme()");
    }

    wlcf->label = ngx_pcalloc(pool, sizeof(ngx_http_webhook_label_t));
    wlcf->secrets = ngx_array_create(pool, 2,
                                     sizeof(ngx_http_webhook_secret_t));
    if (wlcf->label == NULL || wlcf->secrets == NULL) {
        ngx_fuzz_fail(__FILE__, __LINE__, "ngx_array_create()");
    }

    wlcf->label->name = wlcf->scheme->name;
    wlcf->tolerance = 300000;

    /* what the module's prepare_secret does at load */

    for ( /* void */ ; *secrets; secrets++) {
        secret = ngx_array_push(wlcf->secrets);
        if (secret == NULL) {
            ngx_fuzz_fail(__FILE__, __LINE__, "ngx_array_push()");
        }

        ngx_memzero(secret, sizeof(ngx_http_webhook_secret_t));
        secret->raw.data = (u_char *) *secrets;
        secret->raw.len = ngx_strlen(*secrets);

        SHA256_Init(&sha);
        SHA256_Update(&sha, secret->raw.data, secret->raw.len);
        SHA256_Final(secret->digest, &sha);

        secret->key = ngx_palloc(pool, sizeof(ngx_http_webhook_hmac_key_t));

        if (secret->key == NULL
            || ngx_http_webhook_key_material(wlcf->scheme, pool, &secret->raw,
                                             &material)
               != NGX_OK)
        {
            ngx_fuzz_fail(__FILE__, __LINE__, "key material");
        }

        ngx_http_webhook_hmac_key_init(secret->key, wlcf->scheme->alg,
                                       material.data, material.len);
    }

    return wlcf;
}


/*
 * Copyright (C) webhook edge authors
 *
 * What the fuzz targets share: an nginx runtime without a cycle, and
 * requests made from fuzz input the way nginx would hand them over.
 */


#ifndef _NGX_FUZZ_H_INCLUDED_
#define _NGX_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../../src/ngx_http_webhook_module.h"


/* how a body is laid out in r->request_body->bufs */
#define NGX_FUZZ_BODY_NONE       0x01   /* no request_body at all */
#define NGX_FUZZ_BODY_EMPTY_BUF  0x02   /* an empty memory buffer at the end */
#define NGX_FUZZ_BODY_FILE       0x04   /* the last piece in a file */


typedef struct {
    ngx_pool_t            *pool;
    ngx_http_request_t    *r;
} ngx_fuzz_t;


/* the failure of an invariant: a crash report libFuzzer keeps */
#define ngx_fuzz_assert(cond)                                                 \
    if (!(cond)) {                                                            \
        ngx_fuzz_fail(__FILE__, __LINE__, #cond);                             \
    }


void ngx_fuzz_init(void);
ngx_log_t *ngx_fuzz_log(void);
ngx_pool_t *ngx_fuzz_pool(void);
ngx_pool_t *ngx_fuzz_conf_pool(void);
void ngx_fuzz_fail(const char *file, int line, const char *cond);

ngx_int_t ngx_fuzz_request(ngx_fuzz_t *fz);
ngx_int_t ngx_fuzz_header(ngx_fuzz_t *fz, u_char *line, size_t len);
ngx_int_t ngx_fuzz_header_value(ngx_fuzz_t *fz, char *name, u_char *value,
    size_t len);
ngx_int_t ngx_fuzz_header_lines(ngx_fuzz_t *fz, u_char *p, size_t len);
ngx_int_t ngx_fuzz_body(ngx_fuzz_t *fz, u_char *p, size_t len,
    ngx_uint_t pieces, ngx_uint_t flags);
void ngx_fuzz_done(ngx_fuzz_t *fz);

ngx_http_webhook_loc_conf_t *ngx_fuzz_loc_conf(char *scheme,
    char **secrets);
u_char *ngx_fuzz_copy(ngx_pool_t *pool, const u_char *p, size_t len);
u_char *ngx_fuzz_line(u_char **pp, u_char *last, size_t *len);


#endif /* _NGX_FUZZ_H_INCLUDED_ */

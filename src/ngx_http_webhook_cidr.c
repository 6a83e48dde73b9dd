
/*
 * Copyright (C) webhook edge authors
 *
 * webhook_allow: addresses and CIDR blocks, IPv4 and IPv6, from the
 * directive, a file or an environment variable.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"


static ngx_int_t ngx_http_webhook_allow_token(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_webhook_allow_t *allow, ngx_str_t *token);
static ngx_int_t ngx_http_webhook_allow_inet(ngx_array_t *rules,
    in_addr_t addr);
#if (NGX_HAVE_INET6)
static void ngx_http_webhook_allow_unmap(ngx_cidr_t *cidr);
#endif


char *
ngx_http_webhook_allow_add(ngx_conf_t *cf, ngx_http_webhook_allow_t *allow,
    ngx_str_t *value)
{
    u_char     *p;
    ssize_t     n;
    ngx_fd_t    fd;
    ngx_str_t   name;
    ngx_file_t  file;

    if (value->len > 5 && ngx_strncmp(value->data, "file:", 5) == 0) {
        name.data = value->data + 5;
        name.len = value->len - 5;

        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "webhook_allow: cannot open \"%V\"", &name);
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&file, sizeof(ngx_file_t));
        file.fd = fd;
        file.name = name;
        file.log = cf->log;

        if (ngx_fd_info(fd, &file.info) == NGX_FILE_ERROR
            || ngx_file_size(&file.info) > 1024 * 1024)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_allow: \"%V\" is not a readable "
                               "file of at most 1M", &name);
            ngx_close_file(fd);
            return NGX_CONF_ERROR;
        }

        p = ngx_pnalloc(cf->temp_pool, (size_t) ngx_file_size(&file.info) + 1);
        if (p == NULL) {
            ngx_close_file(fd);
            return NGX_CONF_ERROR;
        }

        n = ngx_read_file(&file, p, (size_t) ngx_file_size(&file.info), 0);
        ngx_close_file(fd);

        if (n == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_webhook_allow_parse_list(cf->pool, cf->log, allow, p, n)
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_allow: invalid list in \"%V\"",
                               &name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (value->len > 4 && ngx_strncmp(value->data, "env:", 4) == 0) {
        p = (u_char *) getenv((char *) value->data + 4);

        if (p == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_allow: environment variable \"%s\" "
                               "is not set", value->data + 4);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_webhook_allow_parse_list(cf->pool, cf->log, allow, p,
                                              ngx_strlen(p))
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_allow: invalid list in \"%V\"",
                               value);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_webhook_allow_token(cf->pool, cf->log, allow, value)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_allow: invalid address \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a comma- or whitespace-separated list; "#" starts a comment line */

ngx_int_t
ngx_http_webhook_allow_parse_list(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_webhook_allow_t *allow, u_char *p, size_t len)
{
    u_char     *last, *start;
    ngx_str_t   token;

    last = p + len;

    while (p < last) {

        if (*p == '#') {
            while (p < last && *p != '\n') {
                p++;
            }

            continue;
        }

        if (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        {
            p++;
            continue;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t'
               && *p != '\r' && *p != '\n')
        {
            p++;
        }

        token.data = start;
        token.len = p - start;

        if (ngx_http_webhook_allow_token(pool, log, allow, &token) != NGX_OK) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "webhook_allow: invalid address \"%V\"", &token);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_allow_token(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_webhook_allow_t *allow, ngx_str_t *token)
{
    ngx_int_t    rc;
    ngx_str_t    s;
    ngx_cidr_t  *cidr;

    if (token->len == 3 && ngx_strncmp(token->data, "all", 3) == 0) {
        allow->all = 1;
        return NGX_OK;
    }

    if (token->len == 5 && ngx_strncmp(token->data, "unix:", 5) == 0) {
        allow->unix_allowed = 1;
        return NGX_OK;
    }

    if (allow->rules == NULL) {
        allow->rules = ngx_array_create(pool, 4, sizeof(ngx_cidr_t));
        if (allow->rules == NULL) {
            return NGX_ERROR;
        }
    }

    cidr = ngx_array_push(allow->rules);
    if (cidr == NULL) {
        return NGX_ERROR;
    }

    /* ngx_ptocidr() may write into the string: give it a copy */
    s.len = token->len;
    s.data = ngx_pstrdup(pool, token);
    if (s.data == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_ptocidr(&s, cidr);

    if (rc == NGX_ERROR) {
        allow->rules->nelts--;
        return NGX_ERROR;
    }

    if (rc == NGX_DONE) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "webhook_allow: low address bits of \"%V\" are "
                      "meaningless", token);
    }

#if (NGX_HAVE_INET6)
    ngx_http_webhook_allow_unmap(cidr);
#endif

    return NGX_OK;
}


#if (NGX_HAVE_INET6)

/*
 * A rule inside ::ffff:0:0/96 names IPv4 addresses: it becomes the IPv4
 * rule it means, so that it matches IPv4 clients and IPv4-mapped ones
 * alike (both are matched against the IPv4 rules).
 */

static void
ngx_http_webhook_allow_unmap(ngx_cidr_t *cidr)
{
    u_char      *a, *m;
    in_addr_t    addr, mask;
    ngx_uint_t   n;

    if (cidr->family != AF_INET6
        || !IN6_IS_ADDR_V4MAPPED(&cidr->u.in6.addr))
    {
        return;
    }

    m = cidr->u.in6.mask.s6_addr;

    for (n = 0; n < 12; n++) {
        if (m[n] != 0xff) {
            return;     /* wider than ::ffff:0:0/96: stays IPv6 */
        }
    }

    a = cidr->u.in6.addr.s6_addr;

    /* u.in and u.in6 share their bytes: read both before writing */
    addr = htonl((in_addr_t) a[12] << 24 | (in_addr_t) a[13] << 16
                 | (in_addr_t) a[14] << 8 | a[15]);
    mask = htonl((in_addr_t) m[12] << 24 | (in_addr_t) m[13] << 16
                 | (in_addr_t) m[14] << 8 | m[15]);

    cidr->family = AF_INET;
    cidr->u.in.addr = addr;
    cidr->u.in.mask = mask;
}

#endif


ngx_int_t
ngx_http_webhook_allow_match(ngx_http_webhook_allow_t *allow,
    struct sockaddr *sa)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    u_char               *p;
    in_addr_t             addr;
    ngx_uint_t            i, n;
    ngx_cidr_t           *rule;
    struct in6_addr      *a6;
    struct sockaddr_in6  *sin6;
#endif

    if (allow->all) {
        return NGX_OK;
    }

    switch (sa->sa_family) {

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        return allow->unix_allowed ? NGX_OK : NGX_DECLINED;
#endif

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        a6 = &sin6->sin6_addr;

        if (allow->rules == NULL) {
            return NGX_DECLINED;
        }

        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            /*
             * ::ffff:a.b.c.d is matched by the IPv4 rules, and by an IPv6
             * rule wider than ::ffff:0:0/96 (such as ::/0)
             */
            p = a6->s6_addr;
            addr = htonl((in_addr_t) p[12] << 24 | (in_addr_t) p[13] << 16
                         | (in_addr_t) p[14] << 8 | p[15]);

            if (ngx_http_webhook_allow_inet(allow->rules, addr) == NGX_OK) {
                return NGX_OK;
            }
        }

        rule = allow->rules->elts;

        for (i = 0; i < allow->rules->nelts; i++) {
            if (rule[i].family != AF_INET6) {
                continue;
            }

            for (n = 0; n < 16; n++) {
                if ((a6->s6_addr[n] & rule[i].u.in6.mask.s6_addr[n])
                    != rule[i].u.in6.addr.s6_addr[n])
                {
                    break;
                }
            }

            if (n == 16) {
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
#endif

    case AF_INET:
        if (allow->rules == NULL) {
            return NGX_DECLINED;
        }

        sin = (struct sockaddr_in *) sa;
        return ngx_http_webhook_allow_inet(allow->rules,
                                           sin->sin_addr.s_addr);

    default:
        return NGX_DECLINED;
    }
}


static ngx_int_t
ngx_http_webhook_allow_inet(ngx_array_t *rules, in_addr_t addr)
{
    ngx_uint_t   i;
    ngx_cidr_t  *rule;

    rule = rules->elts;

    for (i = 0; i < rules->nelts; i++) {
        if (rule[i].family == AF_INET
            && (addr & rule[i].u.in.mask) == rule[i].u.in.addr)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}

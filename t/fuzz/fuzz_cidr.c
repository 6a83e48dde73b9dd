
/*
 * Copyright (C) webhook edge authors
 *
 * webhook_allow lists (what a file: or env: source holds):
 * ngx_http_webhook_allow_parse_list(), then ngx_http_webhook_allow_match()
 * on every parsed rule's own network address, which must match, and on
 * addresses made of the input's last bytes.
 *
 * Input: the list.
 */


#include "fuzz.h"


static void
ngx_fuzz_match(ngx_http_webhook_allow_t *allow, const uint8_t *data,
    size_t size)
{
    u_char               a[16];
    ngx_int_t            rc, v4;
    struct sockaddr     *sa6;
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;
    struct sockaddr_un   sun;

    ngx_memzero(a, sizeof(a));
    ngx_memcpy(a, data + size - ngx_min(size, 16), ngx_min(size, 16));

    ngx_memzero(&sin, sizeof(struct sockaddr_in));
    sin.sin_family = AF_INET;
    ngx_memcpy(&sin.sin_addr, a, 4);

    v4 = ngx_http_webhook_allow_match(allow, (struct sockaddr *) &sin);
    ngx_fuzz_assert(v4 == NGX_OK || v4 == NGX_DECLINED);

    if (allow->all) {
        ngx_fuzz_assert(v4 == NGX_OK);
    }

    sa6 = (struct sockaddr *) &sin6;

    ngx_memzero(&sin6, sizeof(struct sockaddr_in6));
    sin6.sin6_family = AF_INET6;
    ngx_memcpy(&sin6.sin6_addr, a, 16);

    rc = ngx_http_webhook_allow_match(allow, sa6);
    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED);

    /*
     * ::ffff:a.b.c.d is let in wherever a.b.c.d is (an IPv6 rule wider
     * than ::ffff:0:0/96, such as ::/0, may let in the mapped form only)
     */

    ngx_memzero(&sin6.sin6_addr, 10);
    sin6.sin6_addr.s6_addr[10] = 0xff;
    sin6.sin6_addr.s6_addr[11] = 0xff;
    ngx_memcpy(&sin6.sin6_addr.s6_addr[12], a, 4);

    rc = ngx_http_webhook_allow_match(allow, sa6);
    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED);
    ngx_fuzz_assert(v4 != NGX_OK || rc == NGX_OK);

    ngx_memzero(&sun, sizeof(struct sockaddr_un));
    sun.sun_family = AF_UNIX;

    rc = ngx_http_webhook_allow_match(allow, (struct sockaddr *) &sun);
    ngx_fuzz_assert(rc == ((allow->all || allow->unix_allowed)
                           ? NGX_OK : NGX_DECLINED));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_pool_t                *pool;
    ngx_cidr_t                *rule;
    struct sockaddr_in         sin;
    struct sockaddr_in6        sin6;
    ngx_http_webhook_allow_t   allow;

    ngx_fuzz_init();

    pool = ngx_fuzz_pool();

    ngx_memzero(&allow, sizeof(ngx_http_webhook_allow_t));

    rc = ngx_http_webhook_allow_parse_list(pool, ngx_fuzz_log(), &allow,
                                           ngx_fuzz_copy(pool, data, size),
                                           size);

    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_ERROR);

    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        return 0;
    }

    rule = allow.rules ? allow.rules->elts : NULL;

    for (i = 0; allow.rules && i < allow.rules->nelts; i++) {

        if (rule[i].family == AF_INET) {
            ngx_fuzz_assert((rule[i].u.in.addr & ~rule[i].u.in.mask) == 0);

            ngx_memzero(&sin, sizeof(struct sockaddr_in));
            sin.sin_family = AF_INET;
            sin.sin_addr.s_addr = rule[i].u.in.addr;

            rc = ngx_http_webhook_allow_match(&allow,
                                              (struct sockaddr *) &sin);
            ngx_fuzz_assert(rc == NGX_OK);
            continue;
        }

        ngx_fuzz_assert(rule[i].family == AF_INET6);

        /* a v4-mapped rule is never consulted, as in ngx_http_access */

        if (IN6_IS_ADDR_V4MAPPED(&rule[i].u.in6.addr)) {
            continue;
        }

        ngx_memzero(&sin6, sizeof(struct sockaddr_in6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = rule[i].u.in6.addr;

        rc = ngx_http_webhook_allow_match(&allow, (struct sockaddr *) &sin6);
        ngx_fuzz_assert(rc == NGX_OK);
    }

    ngx_fuzz_match(&allow, data, size);

    ngx_destroy_pool(pool);

    return 0;
}

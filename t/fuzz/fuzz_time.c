
/*
 * Copyright (C) webhook edge authors
 *
 * ngx_http_webhook_parse_time() in every format: unix, unix_ms, iso8601
 * and auto (what salesforce and whmcs use), checked against an oracle:
 * a POSIX regex for what may be accepted and timegm() for its value.
 *
 * Input: byte 0 picks the format, the rest is the header value.
 */


#include "fuzz.h"

#include <regex.h>


static regex_t  ngx_fuzz_iso8601;


static ngx_int_t
ngx_fuzz_digits(u_char *p, size_t len, int64_t *n)
{
    size_t  i;

    for (*n = 0, i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_DECLINED;
        }

        if (i < 18) {
            *n = *n * 10 + (p[i] - '0');    /* longer ones are refused */
        }
    }

    return NGX_OK;
}


/* NGX_OK and *ms for what must be accepted, NGX_DECLINED otherwise */

static ngx_int_t
ngx_fuzz_expect_iso8601(u_char *p, size_t len, int64_t *ms)
{
    int         n, frac, scale, oh, om, sign;
    char        buf[48], *z;
    time_t      t;
    struct tm   tm;
    regmatch_t  m[4];

    if (len > 40 || ngx_strlchr(p, p + len, '\0')) {
        return NGX_DECLINED;
    }

    ngx_memcpy(buf, p, len);
    buf[len] = '\0';

    if (regexec(&ngx_fuzz_iso8601, buf, 4, m, 0) != 0) {
        return NGX_DECLINED;
    }

    ngx_memzero(&tm, sizeof(struct tm));

    if (sscanf(buf, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec)
        != 6)
    {
        return NGX_DECLINED;
    }

    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
        || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59
        || tm.tm_sec > 60)
    {
        return NGX_DECLINED;
    }

    frac = 0;

    if (m[1].rm_so != -1) {
        for (n = m[1].rm_so + 1, scale = 100; n < m[1].rm_eo && scale;
             n++, scale /= 10)
        {
            frac += (buf[n] - '0') * scale;
        }
    }

    z = buf + m[2].rm_so;
    oh = 0;
    om = 0;
    sign = 0;

    if (*z == '+' || *z == '-') {
        sign = (*z == '-') ? -1 : 1;
        oh = (z[1] - '0') * 10 + (z[2] - '0');
        z += (z[3] == ':') ? 4 : 3;
        om = (z[0] - '0') * 10 + (z[1] - '0');

        if (oh > 23 || om > 59) {
            return NGX_DECLINED;
        }
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    t = timegm(&tm);

    *ms = ((int64_t) t - sign * (oh * 3600 + om * 60)) * 1000 + frac;

    return NGX_OK;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t                       ms, want, n;
    ngx_int_t                     rc, expect;
    ngx_str_t                     value;
    ngx_pool_t                   *pool;
    ngx_http_webhook_ts_format_e  format;

    if (ngx_fuzz_iso8601.re_nsub == 0) {
        ngx_fuzz_init();

        if (regcomp(&ngx_fuzz_iso8601,
                    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]"
                    "[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
                    "([Zz]|[-+][0-9]{2}:?[0-9]{2})$",
                    REG_EXTENDED)
            != 0)
        {
            ngx_fuzz_fail(__FILE__, __LINE__, "regcomp()");
        }
    }

    if (size < 1) {
        return 0;
    }

    format = data[0] % 4;

    pool = ngx_fuzz_pool();

    value.len = size - 1;
    value.data = ngx_fuzz_copy(pool, data + 1, value.len);

    ms = -1;
    rc = ngx_http_webhook_parse_time(&value, format, &ms);

    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_ERROR);

    want = 0;

    if (value.len == 0) {
        expect = NGX_DECLINED;

    } else if (ngx_fuzz_digits(value.data, value.len, &n) == NGX_OK) {

        switch (format) {

        case NGX_HTTP_WEBHOOK_TS_UNIX:
            expect = (value.len <= 12) ? NGX_OK : NGX_DECLINED;
            want = (expect == NGX_OK) ? n * 1000 : 0;
            break;

        case NGX_HTTP_WEBHOOK_TS_ISO8601:
            expect = NGX_DECLINED;
            break;

        default:
            expect = (value.len <= 15) ? NGX_OK : NGX_DECLINED;

            if (expect == NGX_OK) {
                want = (format == NGX_HTTP_WEBHOOK_TS_UNIX_MS
                        || value.len >= 12) ? n : n * 1000;
            }
        }

    } else if (format == NGX_HTTP_WEBHOOK_TS_ISO8601
               || format == NGX_HTTP_WEBHOOK_TS_AUTO)
    {
        expect = ngx_fuzz_expect_iso8601(value.data, value.len, &want);

    } else {
        expect = NGX_DECLINED;
    }

    if (expect == NGX_OK) {
        ngx_fuzz_assert(rc == NGX_OK);
        ngx_fuzz_assert(ms == want);

    } else {
        ngx_fuzz_assert(rc == NGX_ERROR);
    }

    ngx_destroy_pool(pool);

    return 0;
}

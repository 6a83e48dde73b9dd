
/*
 * Copyright (C) webhook edge authors
 *
 * ngx_http_webhook_registry_scan_type(): the event type of a registry
 * delivery, read from a JSON body without parsing all of it, checked
 * against jansson (duplicates refused, as the module parses bodies).
 * Where jansson takes the body, the scan must find the same "type" (Slack:
 * "event"."type", or "type" with no "event") or hand the body to jansson
 * (NGX_AGAIN); where jansson refuses it, the scan may say anything but
 * must stay inside the input.
 *
 * Input: byte 0 odd for Slack, the rest is the body.
 */


#include "fuzz.h"

#include <jansson.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t        *root, *event, *f;
    ngx_int_t      rc;
    ngx_str_t      body, type;
    ngx_uint_t     slack;
    ngx_pool_t    *pool;
    json_error_t   err;

    ngx_fuzz_init();

    if (size < 1) {
        return 0;
    }

    slack = data[0] & 1;

    pool = ngx_fuzz_pool();

    /* a copy of exactly the body's size: ASan sees any read past it */
    body.len = size - 1;
    body.data = ngx_fuzz_copy(pool, data + 1, body.len);

    ngx_str_null(&type);
    rc = ngx_http_webhook_registry_scan_type(&body, slack, &type);

    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED || rc == NGX_AGAIN);

    if (rc == NGX_OK) {
        ngx_fuzz_assert(ngx_strlchr(type.data, type.data + type.len, '\\')
                        == NULL);
    }

    root = json_loadb((const char *) data + 1, size - 1,
                      JSON_REJECT_DUPLICATES, &err);

    if (root == NULL || !json_is_object(root) || rc == NGX_AGAIN) {
        json_decref(root);
        ngx_destroy_pool(pool);
        return 0;
    }

    f = NULL;

    if (slack) {
        event = json_object_get(root, "event");
        f = event ? (json_is_object(event) ? json_object_get(event, "type")
                                           : NULL)
                  : json_object_get(root, "type");

    } else {
        f = json_object_get(root, "type");
    }

    if (f && json_is_string(f)) {
        ngx_fuzz_assert(rc == NGX_OK);
        ngx_fuzz_assert(type.len == json_string_length(f));
        ngx_fuzz_assert(ngx_memcmp(type.data, json_string_value(f), type.len)
                        == 0);

    } else {
        ngx_fuzz_assert(rc == NGX_DECLINED);
    }

    json_decref(root);
    ngx_destroy_pool(pool);

    return 0;
}

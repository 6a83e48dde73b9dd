
/*
 * Copyright (C) webhook edge authors
 *
 * ngx_http_webhook_ndk_module: set_webhook_hmac on ngx_devel_kit, a
 * second, optional module so that ngx_http_webhook_module itself loads
 * without NDK. Its use: per-tenant secrets derived from one master key,
 *
 *     set_webhook_hmac $tenant_secret sha256 hex env:MASTER_KEY $tenant;
 *     webhook_secret   $tenant_secret;
 *
 * Load order: ndk_http_module.so and ngx_http_webhook_module.so (whose
 * webhook_secret value parsing this module uses), then this one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#define NDK          1
#define NDK_SET_VAR  1
#include <ndk.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>


typedef enum {
    NGX_HTTP_WEBHOOK_NDK_HEX = 0,
    NGX_HTTP_WEBHOOK_NDK_BASE64,
    NGX_HTTP_WEBHOOK_NDK_BASE64URL
} ngx_http_webhook_ndk_enc_e;


typedef struct {
    const EVP_MD                 *md;
    ngx_http_webhook_ndk_enc_e    enc;
    ngx_str_t                     key;
} ngx_http_webhook_ndk_hmac_t;


static char *ngx_http_webhook_ndk_set_hmac(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_webhook_ndk_hmac(ngx_http_request_t *r,
    ngx_str_t *res, ngx_http_variable_value_t *v, void *data);


static ngx_command_t  ngx_http_webhook_ndk_commands[] = {

    { ngx_string("set_webhook_hmac"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_SIF_CONF
          |NGX_HTTP_LOC_CONF|NGX_HTTP_LIF_CONF|NGX_CONF_TAKE5,
      ngx_http_webhook_ndk_set_hmac,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_webhook_ndk_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_webhook_ndk_module = {
    NGX_MODULE_V1,
    &ngx_http_webhook_ndk_module_ctx,      /* module context */
    ngx_http_webhook_ndk_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* set_webhook_hmac $out sha256|sha1|sha512 hex|base64|base64url KEY DATA */

static char *
ngx_http_webhook_ndk_set_hmac(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                         *rv;
    ngx_str_t                    *value;
    ndk_set_var_t                 filter;
    ngx_http_webhook_secret_t     secret;
    ngx_http_webhook_ndk_hmac_t  *h;

    value = cf->args->elts;

    h = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_ndk_hmac_t));
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 6 && ngx_strncmp(value[2].data, "sha256", 6) == 0) {
        h->md = EVP_sha256();

    } else if (value[2].len == 4
               && ngx_strncmp(value[2].data, "sha1", 4) == 0)
    {
        h->md = EVP_sha1();

    } else if (value[2].len == 6
               && ngx_strncmp(value[2].data, "sha512", 6) == 0)
    {
        h->md = EVP_sha512();

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid set_webhook_hmac algorithm \"%V\", "
                           "expected sha256, sha1 or sha512", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (value[3].len == 3 && ngx_strncmp(value[3].data, "hex", 3) == 0) {
        h->enc = NGX_HTTP_WEBHOOK_NDK_HEX;

    } else if (value[3].len == 6
               && ngx_strncmp(value[3].data, "base64", 6) == 0)
    {
        h->enc = NGX_HTTP_WEBHOOK_NDK_BASE64;

    } else if (value[3].len == 9
               && ngx_strncmp(value[3].data, "base64url", 9) == 0)
    {
        h->enc = NGX_HTTP_WEBHOOK_NDK_BASE64URL;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid set_webhook_hmac encoding \"%V\", "
                           "expected hex, base64 or base64url", &value[3]);
        return NGX_CONF_ERROR;
    }

    /* the key: a literal, env:NAME or file:/path, as webhook_secret */

    rv = ngx_http_webhook_secret_value(cf, &value[4], &secret);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (secret.value) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "set_webhook_hmac's key takes a literal, file: "
                           "or env: value, not variables");
        return NGX_CONF_ERROR;
    }

    h->key = secret.raw;

    filter.type = NDK_SET_VAR_VALUE_DATA;
    filter.func = (void *) ngx_http_webhook_ndk_hmac;
    filter.size = 1;
    filter.data = h;

    return ndk_set_var_value_core(cf, &value[1], &value[5], &filter);
}


static ngx_int_t
ngx_http_webhook_ndk_hmac(ngx_http_request_t *r, ngx_str_t *res,
    ngx_http_variable_value_t *v, void *data)
{
    ngx_http_webhook_ndk_hmac_t *h = data;

    u_char        mac[EVP_MAX_MD_SIZE];
    ngx_str_t     src;
    unsigned int  len;

    if (HMAC(h->md, h->key.data, (int) h->key.len, v->data, v->len, mac,
             &len)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "set_webhook_hmac: HMAC() failed");
        return NGX_ERROR;
    }

    src.data = mac;
    src.len = len;

    if (h->enc == NGX_HTTP_WEBHOOK_NDK_HEX) {
        res->data = ngx_pnalloc(r->pool, 2 * len);
        if (res->data == NULL) {
            return NGX_ERROR;
        }

        res->len = ngx_hex_dump(res->data, mac, len) - res->data;
        return NGX_OK;
    }

    res->data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(len));
    if (res->data == NULL) {
        return NGX_ERROR;
    }

    if (h->enc == NGX_HTTP_WEBHOOK_NDK_BASE64) {
        ngx_encode_base64(res, &src);

    } else {
        ngx_encode_base64url(res, &src);
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    return NGX_OK;
}


/*
 * Copyright (C) webhook edge authors
 *
 * ngx_http_webhook_module: verifies signed webhooks before they reach the
 * upstream. Directives, configuration, variables and phase registration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook_module.h"

#include <jansson.h>


static ngx_int_t ngx_http_webhook_add_variables(ngx_conf_t *cf);
static void *ngx_http_webhook_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_webhook_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_webhook_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_webhook_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_webhook_init_process(ngx_cycle_t *cycle);
static void ngx_http_webhook_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_webhook_verify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_attest_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_webhook_verify_token(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_webhook_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_signature(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_timestamp(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_nonce(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_set_time_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static char *ngx_http_webhook_header_name(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_webhook_header_t *h);
static ngx_int_t ngx_http_webhook_prepare_secret(ngx_conf_t *cf,
    ngx_http_webhook_scheme_t *scheme, ngx_http_webhook_secret_t *secret,
    ngx_uint_t index);
static char *ngx_http_webhook_build_custom(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *conf);
static ngx_http_webhook_label_t *ngx_http_webhook_get_label(ngx_conf_t *cf,
    ngx_str_t *name);

static ngx_int_t ngx_http_webhook_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* a marker: "custom" is built at merge time from its own directives */
static ngx_http_webhook_scheme_t  ngx_http_webhook_custom_marker = {
    .name = ngx_string("custom"),
    .custom = 1
};

static ngx_str_t  ngx_http_webhook_off = ngx_string("off");


static ngx_conf_enum_t  ngx_http_webhook_replay_modes[] = {
    { ngx_string("off"), NGX_HTTP_WEBHOOK_REPLAY_OFF },
    { ngx_string("local"), NGX_HTTP_WEBHOOK_REPLAY_LOCAL },
    { ngx_string("redis"), NGX_HTTP_WEBHOOK_REPLAY_REDIS },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_webhook_redis_down_modes[] = {
    { ngx_string("local"), NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL },
    { ngx_string("reject"), NGX_HTTP_WEBHOOK_REDIS_DOWN_REJECT },
    { ngx_string("accept"), NGX_HTTP_WEBHOOK_REDIS_DOWN_ACCEPT },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_webhook_commands[] = {

    { ngx_string("webhook_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_verify,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_tolerance"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_set_time_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, tolerance),
      NULL },

    { ngx_string("webhook_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_replay"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, replay),
      &ngx_http_webhook_replay_modes },

    { ngx_string("webhook_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_redis_down"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, redis_down),
      &ngx_http_webhook_redis_down_modes },

    { ngx_string("webhook_replay_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_set_time_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, replay_ttl),
      NULL },

    { ngx_string("webhook_signature"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_signature,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_signed_payload"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, custom_template),
      NULL },

    { ngx_string("webhook_timestamp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webhook_timestamp,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_nonce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_nonce,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_label"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, label_name),
      NULL },

    { ngx_string("webhook_attest_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_attest_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_verify_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_verify_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_notion_setup"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, notion_setup),
      NULL },

    { ngx_string("webhook_jwks"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_jwks_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, jwt_audience),
      NULL },

    { ngx_string("webhook_jwt_email"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, jwt_email),
      NULL },

    { ngx_string("webhook_registry"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_webhook_registry_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_registry_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_set_time_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_webhook_main_conf_t, registry_ttl),
      NULL },

    { ngx_string("webhook_registry_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_registry_zone_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webhook_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_webhook_module_ctx = {
    ngx_http_webhook_add_variables,        /* preconfiguration */
    ngx_http_webhook_init,                 /* postconfiguration */

    ngx_http_webhook_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_webhook_create_loc_conf,      /* create location configuration */
    ngx_http_webhook_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_webhook_module = {
    NGX_MODULE_V1,
    &ngx_http_webhook_module_ctx,          /* module context */
    ngx_http_webhook_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_webhook_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_webhook_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


typedef enum {
    NGX_HTTP_WEBHOOK_VAR_RESULT = 0,
    NGX_HTTP_WEBHOOK_VAR_REASON,
    NGX_HTTP_WEBHOOK_VAR_PROVIDER,
    NGX_HTTP_WEBHOOK_VAR_ID,
    NGX_HTTP_WEBHOOK_VAR_TIMESTAMP,
    NGX_HTTP_WEBHOOK_VAR_SECRET_INDEX,
    NGX_HTTP_WEBHOOK_VAR_BODY_SHA256,
    NGX_HTTP_WEBHOOK_VAR_ATTESTATION,
    NGX_HTTP_WEBHOOK_VAR_TIME,
    NGX_HTTP_WEBHOOK_VAR_REGISTRATION,
    NGX_HTTP_WEBHOOK_VAR_EVENT_TYPE
} ngx_http_webhook_var_e;


static ngx_http_variable_t  ngx_http_webhook_vars[] = {

    { ngx_string("webhook_result"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_RESULT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_reason"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_provider"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_PROVIDER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_id"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_timestamp"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_TIMESTAMP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_secret_index"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_SECRET_INDEX, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_body_sha256"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_BODY_SHA256, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_attestation"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_ATTESTATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_time"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_TIME, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_registration"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_REGISTRATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_event_type"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_EVENT_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_webhook_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_webhook_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                       *p;
    ngx_str_t                     s;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    ctx = ngx_http_webhook_get_ctx(r);

    if (data == NGX_HTTP_WEBHOOK_VAR_PROVIDER) {
        wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

        if (ctx && ctx->scheme) {
            s = ctx->scheme->name;      /* a registration's, or this */

        } else if (wlcf->scheme) {
            s = wlcf->scheme->name;

        } else {
            v->not_found = 1;
            return NGX_OK;
        }

        goto done;
    }

    /* a registration is known before it is decided (404s have none) */

    if (data == NGX_HTTP_WEBHOOK_VAR_REGISTRATION
        || data == NGX_HTTP_WEBHOOK_VAR_EVENT_TYPE)
    {
        if (ctx == NULL || ctx->reg == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        s = (data == NGX_HTTP_WEBHOOK_VAR_REGISTRATION) ? ctx->reg->id
                                                        : ctx->reg->event_type;
        goto done;
    }

    if (ctx == NULL || !ctx->done) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_str_null(&s);

    switch (data) {

    case NGX_HTTP_WEBHOOK_VAR_RESULT:
        if (ctx->reason == NGX_HTTP_WEBHOOK_OK) {
            ngx_str_set(&s, "pass");

        } else if (ctx->reason == NGX_HTTP_WEBHOOK_HANDSHAKE) {
            ngx_str_set(&s, "setup");

        } else {
            ngx_str_set(&s, "fail");
        }

        break;

    case NGX_HTTP_WEBHOOK_VAR_REASON:
        if (ctx->reason != NGX_HTTP_WEBHOOK_OK
            && ctx->reason < NGX_HTTP_WEBHOOK_NREASONS)
        {
            s = ngx_http_webhook_reasons[ctx->reason].name;
        }

        break;

    case NGX_HTTP_WEBHOOK_VAR_ID:
        s = ctx->id;
        break;

    case NGX_HTTP_WEBHOOK_VAR_TIMESTAMP:
        if (!ctx->has_timestamp) {
            break;
        }

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%L", ctx->timestamp_ms / 1000) - p;
        break;

    case NGX_HTTP_WEBHOOK_VAR_SECRET_INDEX:
        if (ctx->secret_index < 0) {
            break;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%i", ctx->secret_index) - p;
        break;

    case NGX_HTTP_WEBHOOK_VAR_BODY_SHA256:
        if (ctx->reason != NGX_HTTP_WEBHOOK_OK) {
            break;
        }

        if (ngx_http_webhook_body_sha256(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        s.data = ctx->body_sha256;
        s.len = sizeof(ctx->body_sha256);
        break;

    case NGX_HTTP_WEBHOOK_VAR_ATTESTATION:
        switch (ngx_http_webhook_attestation(r, ctx)) {
        case NGX_OK:
            s = ctx->attestation;
            break;
        case NGX_DECLINED:
            break;
        default:
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_WEBHOOK_VAR_TIME:
        if (ctx->verified_at == 0) {
            break;
        }

        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%T", ctx->verified_at) - p;
        break;
    }

done:

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_webhook_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wmcf->zone = NULL;
     *     wmcf->registry_zone = NULL;
     *     wmcf->registry_used = 0;
     */

    wmcf->registry_ttl = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&wmcf->labels, cf->pool, 4,
                       sizeof(ngx_http_webhook_label_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


static void *
ngx_http_webhook_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_webhook_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->label_name = { 0, NULL };
     *     conf->label = NULL;
     *     conf->custom_signature = { ... };
     *     conf->custom_prefix = { 0, NULL };
     *     conf->custom_template = { 0, NULL };
     *     conf->custom_timestamp = { ... };
     *     conf->custom_nonce = { ... };
     *     conf->verify_set = 0;
     *     conf->status = 0;
     */

    conf->scheme = NGX_CONF_UNSET_PTR;
    conf->secrets = NGX_CONF_UNSET_PTR;
    conf->tolerance = NGX_CONF_UNSET_MSEC;
    conf->replay_ttl = NGX_CONF_UNSET_MSEC;
    conf->replay = NGX_CONF_UNSET_UINT;
    conf->redis_down = NGX_CONF_UNSET_UINT;
    conf->allow = NGX_CONF_UNSET_PTR;
    conf->attest = NGX_CONF_UNSET_PTR;
    conf->verify_token = NGX_CONF_UNSET_PTR;
    conf->notion_setup = NGX_CONF_UNSET;
    conf->jwks = NGX_CONF_UNSET_PTR;
    conf->registry = NGX_CONF_UNSET_PTR;
    conf->custom_encoding = NGX_CONF_UNSET;
    conf->custom_alg = NGX_CONF_UNSET;
    conf->custom_list = NGX_CONF_UNSET;
    conf->custom_ts_format = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_webhook_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_webhook_loc_conf_t *prev = parent;
    ngx_http_webhook_loc_conf_t *conf = child;

    char                          *rv;
    ngx_uint_t                     i, replay_implicit;
    ngx_array_t                   *secrets;
    ngx_http_webhook_secret_t     *s, *src;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    ngx_conf_merge_ptr_value(conf->scheme, prev->scheme, NULL);
    ngx_conf_merge_ptr_value(conf->secrets, prev->secrets, NULL);
    ngx_conf_merge_msec_value(conf->tolerance, prev->tolerance, 300000);
    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);
    ngx_conf_merge_ptr_value(conf->attest, prev->attest, NULL);
    ngx_conf_merge_ptr_value(conf->verify_token, prev->verify_token, NULL);
    ngx_conf_merge_value(conf->notion_setup, prev->notion_setup, 0);
    ngx_conf_merge_ptr_value(conf->jwks, prev->jwks, NULL);
    ngx_conf_merge_str_value(conf->jwt_audience, prev->jwt_audience, "");
    ngx_conf_merge_str_value(conf->jwt_email, prev->jwt_email, "");
    ngx_conf_merge_str_value(conf->label_name, prev->label_name, "");

    if (conf->custom_signature.name.len == 0) {
        conf->custom_signature = prev->custom_signature;
        conf->custom_prefix = prev->custom_prefix;
    }

    ngx_conf_merge_value(conf->custom_encoding, prev->custom_encoding,
                         NGX_HTTP_WEBHOOK_ENC_HEX);
    ngx_conf_merge_value(conf->custom_alg, prev->custom_alg,
                         NGX_HTTP_WEBHOOK_SHA256);
    ngx_conf_merge_value(conf->custom_list, prev->custom_list, 0);
    ngx_conf_merge_str_value(conf->custom_template, prev->custom_template,
                             "{body}");

    if (conf->custom_timestamp.name.len == 0) {
        conf->custom_timestamp = prev->custom_timestamp;
        conf->custom_ts_format = prev->custom_ts_format;
    }

    ngx_conf_merge_value(conf->custom_ts_format, prev->custom_ts_format,
                         NGX_HTTP_WEBHOOK_TS_UNIX);

    if (conf->custom_nonce.name.len == 0) {
        conf->custom_nonce = prev->custom_nonce;
    }

    /* merges cascade: whether anybody chose a mode must be carried down */
    conf->replay_chosen = (conf->replay != NGX_CONF_UNSET_UINT
                           || prev->replay_chosen);
    replay_implicit = !conf->replay_chosen;

    ngx_conf_merge_uint_value(conf->replay, prev->replay,
                              wmcf->zone ? NGX_HTTP_WEBHOOK_REPLAY_LOCAL
                                         : NGX_HTTP_WEBHOOK_REPLAY_OFF);

    ngx_conf_merge_ptr_value(conf->registry, prev->registry, NULL);

    if (conf->registry && (conf->scheme || conf->secrets)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_registry takes the scheme and secrets "
                           "from the registration: no webhook_verify or "
                           "webhook_secret here or in an enclosing block");
        return NGX_CONF_ERROR;
    }

    if (conf->registry && wmcf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webhook_registry redis\" needs webhook_redis "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (conf->scheme == NULL && conf->registry == NULL) {
        conf->replay_ttl = (conf->replay_ttl != NGX_CONF_UNSET_MSEC)
                           ? conf->replay_ttl : prev->replay_ttl;
        return NGX_CONF_OK;
    }

    if (conf->scheme && conf->scheme->custom) {
        rv = ngx_http_webhook_build_custom(cf, conf);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (conf->replay == NGX_HTTP_WEBHOOK_REPLAY_LOCAL && wmcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webhook_replay local\" needs a webhook_zone "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_uint_value(conf->redis_down, prev->redis_down,
                              NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL);

    if (conf->replay == NGX_HTTP_WEBHOOK_REPLAY_REDIS) {
        if (wmcf->redis == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webhook_replay redis\" needs webhook_redis "
                               "in the http block");
            return NGX_CONF_ERROR;
        }

        if (conf->redis_down == NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL
            && wmcf->zone == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webhook_redis_down local\" (the default) "
                               "needs a webhook_zone to fall back to; define "
                               "one or choose reject or accept");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->verify_set && replay_implicit
        && conf->replay == NGX_HTTP_WEBHOOK_REPLAY_OFF)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "webhook_verify %V has no replay store: "
                           "define a webhook_zone, or say "
                           "\"webhook_replay off\" to silence this",
                           &conf->scheme->name);
    }

    if (conf->replay_ttl == NGX_CONF_UNSET_MSEC) {
        conf->replay_ttl = prev->replay_ttl;
    }

    conf->replay_ttl_set = (conf->replay_ttl != NGX_CONF_UNSET_MSEC);

    if (conf->replay_ttl == NGX_CONF_UNSET_MSEC) {
        /* a registry location's scheme is known per request (handler.c) */
        conf->replay_ttl = ngx_http_webhook_default_replay_ttl(conf->scheme,
                                                               conf->tolerance);
    }

    if (conf->label_name.len == 0) {
        if (conf->scheme) {
            conf->label_name = conf->scheme->name;

        } else {
            ngx_str_set(&conf->label_name, "registry");
        }
    }

    /* labels go verbatim into JSON, Prometheus and log lines */

    for (i = 0; i < conf->label_name.len; i++) {
        if (!isalnum(conf->label_name.data[i])
            && ngx_strlchr((u_char *) "_.:-", (u_char *) "_.:-" + 4,
                           conf->label_name.data[i]) == NULL)
        {
            break;
        }
    }

    if (i < conf->label_name.len
        || conf->label_name.len >= NGX_HTTP_WEBHOOK_LABEL_LEN)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid webhook_label \"%V\": use at most %d "
                           "letters, digits, \"_\", \".\", \":\" or \"-\"",
                           &conf->label_name, NGX_HTTP_WEBHOOK_LABEL_LEN - 1);
        return NGX_CONF_ERROR;
    }

    conf->label = ngx_http_webhook_get_label(cf, &conf->label_name);
    if (conf->label == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->registry) {
        return NGX_CONF_OK;             /* secrets come per request */
    }

    /* schemes that sign with no shared secret need what replaces it */

    if (conf->scheme->format == NGX_HTTP_WEBHOOK_SIG_TOKEN
        && conf->verify_token == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_verify %V needs webhook_verify_token",
                           &conf->scheme->name);
        return NGX_CONF_ERROR;
    }

    if (conf->scheme->format == NGX_HTTP_WEBHOOK_SIG_JWT) {
        if (conf->jwks == NULL || conf->jwt_audience.len == 0
            || conf->jwt_email.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_verify %V needs webhook_jwks, "
                               "webhook_jwt_audience and webhook_jwt_email",
                               &conf->scheme->name);
            return NGX_CONF_ERROR;
        }
    }

    if (conf->scheme->format == NGX_HTTP_WEBHOOK_SIG_TOKEN
        || conf->scheme->format == NGX_HTTP_WEBHOOK_SIG_JWT)
    {
        return NGX_CONF_OK;             /* no webhook_secret is used */
    }

    if (conf->secrets == NULL) {
        if (conf->verify_set) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_verify %V needs at least one "
                               "webhook_secret", &conf->scheme->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    /* key state depends on the scheme: prepare this level's own copy */

    secrets = ngx_array_create(cf->pool, conf->secrets->nelts,
                               sizeof(ngx_http_webhook_secret_t));
    if (secrets == NULL) {
        return NGX_CONF_ERROR;
    }

    src = conf->secrets->elts;

    for (i = 0; i < conf->secrets->nelts; i++) {
        s = ngx_array_push(secrets);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = src[i];

        if (ngx_http_webhook_prepare_secret(cf, conf->scheme, s, i)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    conf->secrets = secrets;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webhook_prepare_secret(ngx_conf_t *cf,
    ngx_http_webhook_scheme_t *scheme, ngx_http_webhook_secret_t *secret,
    ngx_uint_t index)
{
    ngx_int_t   rc;
    ngx_str_t   material;
    SHA256_CTX  sha;

    if (secret->value) {
        return NGX_OK;                  /* evaluated per request */
    }

    SHA256_Init(&sha);
    SHA256_Update(&sha, secret->raw.data, secret->raw.len);
    SHA256_Final(secret->digest, &sha);

    rc = ngx_http_webhook_key_material(scheme, cf->pool, &secret->raw,
                                       &material);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_secret #%ui is not a valid whsec_<base64> "
                           "secret for scheme \"%V\"", index, &scheme->name);
        return NGX_ERROR;
    }

    secret->key = ngx_palloc(cf->pool, sizeof(ngx_http_webhook_hmac_key_t));
    if (secret->key == NULL) {
        return NGX_ERROR;
    }

    ngx_http_webhook_hmac_key_init(secret->key, scheme->alg, material.data,
                                   material.len);

    return NGX_OK;
}


static char *
ngx_http_webhook_build_custom(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *conf)
{
    ngx_uint_t                  i;
    ngx_http_webhook_scheme_t  *scheme;

    if (conf->custom_signature.name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webhook_verify custom\" needs "
                           "webhook_signature");
        return NGX_CONF_ERROR;
    }

    scheme = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_scheme_t));
    if (scheme == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&scheme->name, "custom");
    scheme->custom = 1;
    scheme->format = NGX_HTTP_WEBHOOK_SIG_SINGLE;
    scheme->signature = conf->custom_signature;
    scheme->prefix = conf->custom_prefix;
    scheme->encoding = conf->custom_encoding;
    scheme->alg = conf->custom_alg;
    scheme->list_separator = (u_char) conf->custom_list;
    scheme->timestamp = conf->custom_timestamp;
    scheme->timestamp_format = conf->custom_ts_format;
    scheme->timestamp_required = conf->custom_timestamp.name.len ? 1 : 0;
    scheme->nonce = conf->custom_nonce;
    scheme->nonce_required = conf->custom_nonce.name.len ? 1 : 0;

    if (ngx_http_webhook_parse_template(cf, &conf->custom_template, scheme)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* a placeholder with no header to fill it would sign an empty value */

    for (i = 0; i < scheme->nparts; i++) {

        if (scheme->parts[i].type == NGX_HTTP_WEBHOOK_PART_TIMESTAMP
            && scheme->timestamp.name.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_signed_payload \"%V\" uses "
                               "{timestamp} but no webhook_timestamp is set",
                               &conf->custom_template);
            return NGX_CONF_ERROR;
        }

        if (scheme->parts[i].type == NGX_HTTP_WEBHOOK_PART_NONCE
            && scheme->nonce.name.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_signed_payload \"%V\" uses "
                               "{nonce} but no webhook_nonce is set",
                               &conf->custom_template);
            return NGX_CONF_ERROR;
        }
    }

    conf->scheme = scheme;

    return NGX_CONF_OK;
}


static ngx_http_webhook_label_t *
ngx_http_webhook_get_label(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_http_webhook_label_t      *label, **labels, **slot;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    labels = wmcf->labels.elts;

    for (i = 0; i < wmcf->labels.nelts; i++) {
        if (labels[i]->name.len == name->len
            && ngx_strncmp(labels[i]->name.data, name->data, name->len) == 0)
        {
            return labels[i];
        }
    }

    label = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_label_t));
    if (label == NULL) {
        return NULL;
    }

    label->name = *name;

    /* per worker until a webhook_zone binds them to shared memory */
    label->counters = ngx_pcalloc(cf->pool,
                                  sizeof(ngx_http_webhook_counters_t));
    if (label->counters == NULL) {
        return NULL;
    }

    slot = ngx_array_push(&wmcf->labels);
    if (slot == NULL) {
        return NULL;
    }

    *slot = label;

    return label;
}


static ngx_int_t
ngx_http_webhook_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * The access phase, after realip has settled the client address and
     * limit_req has had its say. Rejections are answered here (not
     * returned to the phase checker), so "satisfy any" cannot turn a
     * failed verification into a pass.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_webhook_access_handler;

    ngx_http_webhook_filter_init();

    if (ngx_http_webhook_registry_postconf(cf,
            ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_init_process(ngx_cycle_t *cycle)
{
    ngx_http_webhook_main_conf_t  *wmcf;

    json_set_alloc_funcs(ngx_http_webhook_json_alloc,
                         ngx_http_webhook_json_free);

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webhook_module);

    if (wmcf
        && (ngx_process == NGX_PROCESS_WORKER
            || ngx_process == NGX_PROCESS_SINGLE))
    {
        ngx_http_webhook_jwks_init_process(cycle, wmcf);
    }

    if (wmcf == NULL || wmcf->redis == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    if (ngx_http_webhook_redis_init_process(cycle, wmcf->redis) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_webhook_registry_init_process(cycle, wmcf);
}


static void
ngx_http_webhook_exit_process(ngx_cycle_t *cycle)
{
    /* the last health counts go out before the connection is closed */
    ngx_http_webhook_registry_exit_process();
    ngx_http_webhook_redis_exit_process();
}


/* directives */

static char *
ngx_http_webhook_verify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t                  *value;
    ngx_http_webhook_scheme_t  *scheme;

    if (wlcf->scheme != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == ngx_http_webhook_off.len
        && ngx_strncmp(value[1].data, "off", 3) == 0)
    {
        wlcf->scheme = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].len == 6 && ngx_strncmp(value[1].data, "custom", 6) == 0) {
        scheme = &ngx_http_webhook_custom_marker;

    } else {
        scheme = ngx_http_webhook_find_scheme(&value[1]);
    }

    if (scheme == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown webhook scheme \"%V\"; expected stripe, "
                           "github, slack, shopify, standard, woocommerce, "
                           "salesforce, whmcs, meta, notion, ringcentral, "
                           "pubsub, hft71, custom or off",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    wlcf->scheme = scheme;
    wlcf->verify_set = 1;

    return NGX_CONF_OK;
}


/*
 * A secret is a literal, "file:/path" (one trailing newline dropped),
 * "env:NAME", or a value with variables evaluated per request. Error
 * messages name where a secret came from, never what it is.
 */

char *
ngx_http_webhook_secret_value(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_webhook_secret_t *secret)
{
    u_char                            *p;
    ssize_t                            n;
    ngx_fd_t                           fd;
    ngx_str_t                          name;
    ngx_file_t                         file;
    ngx_http_compile_complex_value_t   ccv;

    ngx_memzero(secret, sizeof(ngx_http_webhook_secret_t));

    if (value->len > 5 && ngx_strncmp(value->data, "file:", 5) == 0) {
        name.data = value->data + 5;
        name.len = value->len - 5;

        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "cannot open secret file \"%V\"", &name);
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&file, sizeof(ngx_file_t));
        file.fd = fd;
        file.name = name;
        file.log = cf->log;

        if (ngx_fd_info(fd, &file.info) == NGX_FILE_ERROR
            || ngx_file_size(&file.info) > 64 * 1024)
        {
            ngx_close_file(fd);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "secret file \"%V\" is not a readable file "
                               "of at most 64K", &name);
            return NGX_CONF_ERROR;
        }

        p = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&file.info) + 1);
        if (p == NULL) {
            ngx_close_file(fd);
            return NGX_CONF_ERROR;
        }

        n = ngx_read_file(&file, p, (size_t) ngx_file_size(&file.info), 0);
        ngx_close_file(fd);

        if (n == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (n && p[n - 1] == '\n') {
            n--;
            if (n && p[n - 1] == '\r') {
                n--;
            }
        }

        secret->raw.data = p;
        secret->raw.len = n;

    } else if (value->len > 4 && ngx_strncmp(value->data, "env:", 4) == 0) {
        p = (u_char *) getenv((char *) value->data + 4);

        if (p == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "secret environment variable \"%s\" is not set",
                               value->data + 4);
            return NGX_CONF_ERROR;
        }

        name.data = p;
        name.len = ngx_strlen(p);

        secret->raw.len = name.len;
        secret->raw.data = ngx_pstrdup(cf->pool, &name);
        if (secret->raw.data == NULL) {
            return NGX_CONF_ERROR;
        }

    } else if (ngx_http_script_variables_count(value)) {
        secret->value = ngx_palloc(cf->pool,
                                   sizeof(ngx_http_complex_value_t));
        if (secret->value == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = value;
        ccv.complex_value = secret->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;

    } else {
        secret->raw = *value;
    }

    if (secret->raw.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty secret in \"%V\"",
                           &((ngx_str_t *) cf->args->elts)[0]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t                  *value;
    ngx_http_webhook_secret_t  *secret;

    if (wlcf->secrets == NGX_CONF_UNSET_PTR) {
        wlcf->secrets = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_webhook_secret_t));
        if (wlcf->secrets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    secret = ngx_array_push(wlcf->secrets);
    if (secret == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    return ngx_http_webhook_secret_value(cf, &value[1], secret);
}


/*
 * A value fixed at load (literal, file: or env:, never variables), with
 * its digest for constant-time comparison: the attestation key, the
 * verify token a provider echoes (Meta, RingCentral).
 */

static char *
ngx_http_webhook_fixed_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_webhook_secret_t **slot)
{
    char        *rv;
    ngx_str_t   *value;
    SHA256_CTX   sha;

    if (*slot != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *slot = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_secret_t));
    if (*slot == NULL) {
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_webhook_secret_value(cf, &value[1], *slot);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if ((*slot)->value) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V takes a literal, file: or env: value, "
                           "not variables", &cmd->name);
        return NGX_CONF_ERROR;
    }

    SHA256_Init(&sha);
    SHA256_Update(&sha, (*slot)->raw.data, (*slot)->raw.len);
    SHA256_Final((*slot)->digest, &sha);

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_attest_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    char  *rv;

    rv = ngx_http_webhook_fixed_secret(cf, cmd, &wlcf->attest);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    wlcf->attest->key = ngx_palloc(cf->pool,
                                   sizeof(ngx_http_webhook_hmac_key_t));
    if (wlcf->attest->key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_http_webhook_hmac_key_init(wlcf->attest->key, NGX_HTTP_WEBHOOK_SHA256,
                                   wlcf->attest->raw.data,
                                   wlcf->attest->raw.len);

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_verify_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    return ngx_http_webhook_fixed_secret(cf, cmd, &wlcf->verify_token);
}


static char *
ngx_http_webhook_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    char        *rv;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (wlcf->allow == NGX_CONF_UNSET_PTR) {
        wlcf->allow = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_allow_t));
        if (wlcf->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        rv = ngx_http_webhook_allow_add(cf, wlcf->allow, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


/* NAME:SIZE of a zone directive (webhook_zone, webhook_registry_zone) */

char *
ngx_http_webhook_zone_value(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *name, ssize_t *size)
{
    u_char     *p;
    ngx_str_t  *value, s;

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %V \"%V\", expected NAME:SIZE",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    name->data = value[1].data;
    name->len = p - name->data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    *size = ngx_parse_size(&s);

    if (*size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %V size \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (*size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%V\" is too small", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_main_conf_t *wmcf = conf;

    ssize_t    size;
    ngx_str_t  name;

    if (wmcf->zone) {
        return "is duplicate";
    }

    if (ngx_http_webhook_zone_value(cf, cmd, &name, &size) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    wmcf->zone = ngx_http_webhook_shm_add(cf, &name, size);
    if (wmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_header_name(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_webhook_header_t *h)
{
    size_t  i;

    if (value->len == 0 || value->len > 128) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid header name \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    h->name.data = ngx_pnalloc(cf->pool, value->len);
    if (h->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value->len; i++) {
        if (value->data[i] <= ' ' || value->data[i] == ':'
            || value->data[i] >= 0x7f)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header name \"%V\"", value);
            return NGX_CONF_ERROR;
        }

        h->name.data[i] = ngx_tolower(value->data[i]);
    }

    h->name.len = value->len;
    ngx_str_null(&h->alt);

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook_signature(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t   *value, v;
    ngx_uint_t   i;

    if (wlcf->custom_signature.name.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_webhook_header_name(cf, &value[1], &wlcf->custom_signature)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            wlcf->custom_prefix.data = value[i].data + 7;
            wlcf->custom_prefix.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "encoding=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;

            if (v.len == 3 && ngx_strncmp(v.data, "hex", 3) == 0) {
                wlcf->custom_encoding = NGX_HTTP_WEBHOOK_ENC_HEX;
                continue;
            }

            if (v.len == 6 && ngx_strncmp(v.data, "base64", 6) == 0) {
                wlcf->custom_encoding = NGX_HTTP_WEBHOOK_ENC_BASE64;
                continue;
            }

            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "algorithm=", 10) == 0) {
            v.data = value[i].data + 10;
            v.len = value[i].len - 10;

            if (v.len == 6 && ngx_strncmp(v.data, "sha256", 6) == 0) {
                wlcf->custom_alg = NGX_HTTP_WEBHOOK_SHA256;
                continue;
            }

            if (v.len == 4 && ngx_strncmp(v.data, "sha1", 4) == 0) {
                wlcf->custom_alg = NGX_HTTP_WEBHOOK_SHA1;
                continue;
            }

            if (v.len == 6 && ngx_strncmp(v.data, "sha512", 6) == 0) {
                wlcf->custom_alg = NGX_HTTP_WEBHOOK_SHA512;
                continue;
            }

            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "list=", 5) == 0) {
            if (value[i].len != 6) {
                goto invalid;
            }

            wlcf->custom_list = value[i].data[5];
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid webhook_signature parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_webhook_timestamp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t  *value;

    if (wlcf->custom_timestamp.name.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_webhook_header_name(cf, &value[1], &wlcf->custom_timestamp)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    wlcf->custom_ts_format = NGX_HTTP_WEBHOOK_TS_UNIX;

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[2].data, "format=unix") == 0) {
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[2].data, "format=unix_ms") == 0) {
        wlcf->custom_ts_format = NGX_HTTP_WEBHOOK_TS_UNIX_MS;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[2].data, "format=iso8601") == 0) {
        wlcf->custom_ts_format = NGX_HTTP_WEBHOOK_TS_ISO8601;
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid webhook_timestamp parameter \"%V\", "
                       "expected format=unix, format=unix_ms or "
                       "format=iso8601", &value[2]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_webhook_nonce(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t  *value;

    if (wlcf->custom_nonce.name.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_webhook_header_name(cf, &value[1], &wlcf->custom_nonce);
}


/*
 * nginx time syntax in milliseconds, from "300000ms" up to "10y":
 * ngx_conf_set_msec_slot stops at about 24 days.
 */

static char *
ngx_http_webhook_set_time_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_msec_t  *msp;

    msp = (ngx_msec_t *) (p + cmd->offset);

    if (*msp != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_parse_time(&value[1], 1);

    if (n != NGX_ERROR) {
        *msp = (ngx_msec_t) n * 1000;

    } else {
        n = ngx_parse_time(&value[1], 0);

        if (n == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" has an invalid time \"%V\"",
                               &cmd->name, &value[1]);
            return NGX_CONF_ERROR;
        }

        *msp = (ngx_msec_t) n;
    }

    if (*msp == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be more than zero", &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}

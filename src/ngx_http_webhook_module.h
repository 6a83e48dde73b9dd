
/*
 * Copyright (C) webhook edge authors
 *
 * Types and prototypes shared by the files of ngx_http_webhook_module.
 */


#ifndef _NGX_HTTP_WEBHOOK_MODULE_H_INCLUDED_
#define _NGX_HTTP_WEBHOOK_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>


#define NGX_HTTP_WEBHOOK_VERSION        "0.1.0"

#define NGX_HTTP_WEBHOOK_MAX_MAC        64      /* SHA-512 */
#define NGX_HTTP_WEBHOOK_MAX_SIGS       8       /* candidates per request */
#define NGX_HTTP_WEBHOOK_MAX_HEADER     4096    /* longest header we parse */
#define NGX_HTTP_WEBHOOK_KEY_LEN        32      /* replay key: SHA-256 */
#define NGX_HTTP_WEBHOOK_LABEL_LEN      64
#define NGX_HTTP_WEBHOOK_PREFIX_MAX     64
#define NGX_HTTP_WEBHOOK_REDIS_KEY_MAX  (NGX_HTTP_WEBHOOK_PREFIX_MAX        \
                                         + 2 * NGX_HTTP_WEBHOOK_KEY_LEN)


/* every outcome a request can have; the order is the counters' order */
typedef enum {
    NGX_HTTP_WEBHOOK_OK = 0,
    NGX_HTTP_WEBHOOK_IP_DENIED,
    NGX_HTTP_WEBHOOK_MISSING_SIGNATURE,
    NGX_HTTP_WEBHOOK_MALFORMED_SIGNATURE,
    NGX_HTTP_WEBHOOK_MISSING_TIMESTAMP,
    NGX_HTTP_WEBHOOK_MALFORMED_TIMESTAMP,
    NGX_HTTP_WEBHOOK_MISSING_NONCE,
    NGX_HTTP_WEBHOOK_STALE_TIMESTAMP,
    NGX_HTTP_WEBHOOK_BODY_TOO_LARGE,
    NGX_HTTP_WEBHOOK_INVALID_SIGNATURE,
    NGX_HTTP_WEBHOOK_MISSING_FIELDS,
    NGX_HTTP_WEBHOOK_REPLAY,
    NGX_HTTP_WEBHOOK_STORE_UNAVAILABLE,
    NGX_HTTP_WEBHOOK_PING,
    NGX_HTTP_WEBHOOK_INVALID_VERIFY_TOKEN,
    NGX_HTTP_WEBHOOK_INVALID_CHALLENGE,
    NGX_HTTP_WEBHOOK_SETUP_REFUSED,
    NGX_HTTP_WEBHOOK_MISSING_TOKEN,
    NGX_HTTP_WEBHOOK_INVALID_TOKEN,
    NGX_HTTP_WEBHOOK_HANDSHAKE,
    NGX_HTTP_WEBHOOK_UNKNOWN_REGISTRATION,
    NGX_HTTP_WEBHOOK_REGISTRATION_DISABLED,
    NGX_HTTP_WEBHOOK_EVENT_NOT_REGISTERED,
    NGX_HTTP_WEBHOOK_NREASONS
} ngx_http_webhook_reason_e;


/* counters kept per label beside the outcomes */
#define NGX_HTTP_WEBHOOK_C_RELEASED     NGX_HTTP_WEBHOOK_NREASONS
#define NGX_HTTP_WEBHOOK_C_KEPT         (NGX_HTTP_WEBHOOK_NREASONS + 1)
#define NGX_HTTP_WEBHOOK_C_FALLBACK     (NGX_HTTP_WEBHOOK_NREASONS + 2)
#define NGX_HTTP_WEBHOOK_C_TOKEN_CACHED (NGX_HTTP_WEBHOOK_NREASONS + 5)
#define NGX_HTTP_WEBHOOK_NCOUNTERS      (NGX_HTTP_WEBHOOK_NREASONS + 6)


typedef struct {
    ngx_str_t                     name;
    ngx_uint_t                    status;
    ngx_str_t                     message;
} ngx_http_webhook_reason_t;


typedef enum {
    NGX_HTTP_WEBHOOK_SHA256 = 0,
    NGX_HTTP_WEBHOOK_SHA1,
    NGX_HTTP_WEBHOOK_SHA512
} ngx_http_webhook_alg_e;


/* HMAC with the key already absorbed: copied, never re-keyed, per request */
typedef union {
    SHA_CTX                       sha1;
    SHA256_CTX                    sha256;
    SHA512_CTX                    sha512;
} ngx_http_webhook_digest_ctx_t;


typedef struct {
    ngx_http_webhook_alg_e        alg;
    ngx_http_webhook_digest_ctx_t inner;
    ngx_http_webhook_digest_ctx_t outer;
} ngx_http_webhook_hmac_key_t;


typedef struct {
    ngx_http_webhook_alg_e        alg;
    ngx_http_webhook_digest_ctx_t ctx;
    ngx_http_webhook_hmac_key_t  *key;
} ngx_http_webhook_hmac_t;


/* the pieces a signed payload is made of */
typedef enum {
    NGX_HTTP_WEBHOOK_PART_LITERAL = 0,
    NGX_HTTP_WEBHOOK_PART_BODY,
    NGX_HTTP_WEBHOOK_PART_TIMESTAMP,
    NGX_HTTP_WEBHOOK_PART_NONCE,
    NGX_HTTP_WEBHOOK_PART_METHOD,
    NGX_HTTP_WEBHOOK_PART_URI
} ngx_http_webhook_part_e;


typedef struct {
    ngx_http_webhook_part_e       type;
    ngx_str_t                     literal;
} ngx_http_webhook_part_t;


typedef enum {
    NGX_HTTP_WEBHOOK_SIG_SINGLE = 0,    /* one value, optional list */
    NGX_HTTP_WEBHOOK_SIG_STRIPE,        /* t=..,v1=..,v1=.. */
    NGX_HTTP_WEBHOOK_SIG_SECRET,        /* shared secret, no MAC (hft71) */
    NGX_HTTP_WEBHOOK_SIG_TOKEN,         /* a configured token (ringcentral) */
    NGX_HTTP_WEBHOOK_SIG_JWT            /* Bearer RS256 OIDC JWT (pubsub) */
} ngx_http_webhook_sig_format_e;


/* a provider's setup request, answered (or let through) at the edge */
typedef enum {
    NGX_HTTP_WEBHOOK_SETUP_NONE = 0,
    NGX_HTTP_WEBHOOK_SETUP_META,        /* GET ?hub.mode=subscribe&... */
    NGX_HTTP_WEBHOOK_SETUP_RINGCENTRAL, /* Validation-Token echoed */
    NGX_HTTP_WEBHOOK_SETUP_NOTION       /* unsigned {"verification_token"} */
} ngx_http_webhook_setup_e;


typedef enum {
    NGX_HTTP_WEBHOOK_ENC_HEX = 0,
    NGX_HTTP_WEBHOOK_ENC_BASE64
} ngx_http_webhook_encoding_e;


typedef enum {
    NGX_HTTP_WEBHOOK_TS_UNIX = 0,
    NGX_HTTP_WEBHOOK_TS_UNIX_MS,
    NGX_HTTP_WEBHOOK_TS_ISO8601,
    NGX_HTTP_WEBHOOK_TS_AUTO            /* seconds, milliseconds or ISO */
} ngx_http_webhook_ts_format_e;


typedef enum {
    NGX_HTTP_WEBHOOK_FIELDS_NONE = 0,
    NGX_HTTP_WEBHOOK_FIELDS_SALESFORCE,
    NGX_HTTP_WEBHOOK_FIELDS_HFT71,
    NGX_HTTP_WEBHOOK_FIELDS_RINGCENTRAL,    /* replay key: body uuid */
    NGX_HTTP_WEBHOOK_FIELDS_PUBSUB          /* body message.messageId */
} ngx_http_webhook_fields_e;


/* a header looked for; alt is a second name (svix-* for webhook-*) */
typedef struct {
    ngx_str_t                     name;     /* lowercase */
    ngx_str_t                     alt;
} ngx_http_webhook_header_t;


/*
 * A scheme is data: the built-in ones are static, "custom" is built from
 * the webhook_signature/_signed_payload/_timestamp/_nonce directives.
 */
typedef struct {
    ngx_str_t                     name;
    ngx_http_webhook_sig_format_e format;
    ngx_http_webhook_header_t     signature;
    ngx_str_t                     prefix;
    unsigned                      prefix_optional:1;
    unsigned                      whsec:1;          /* key is whsec_<b64> */
    unsigned                      timestamp_required:1;
    unsigned                      nonce_required:1;
    unsigned                      woocommerce_ping:1;
    unsigned                      custom:1;
    ngx_http_webhook_encoding_e   encoding;
    ngx_http_webhook_alg_e        alg;
    u_char                        list_separator;   /* 0: one value */
    ngx_http_webhook_header_t     timestamp;
    ngx_http_webhook_ts_format_e  timestamp_format;
    ngx_http_webhook_header_t     nonce;
    ngx_http_webhook_part_t      *parts;
    ngx_uint_t                    nparts;
    ngx_http_webhook_fields_e     fields;
    ngx_http_webhook_setup_e      setup;
} ngx_http_webhook_scheme_t;


typedef struct {
    ngx_http_complex_value_t     *value;    /* NULL: resolved at load */
    ngx_str_t                     raw;
    ngx_http_webhook_hmac_key_t  *key;      /* ready key state */
    u_char                        digest[SHA256_DIGEST_LENGTH];
} ngx_http_webhook_secret_t;


typedef struct ngx_http_webhook_label_s  ngx_http_webhook_label_t;

/* per label, in shared memory when a webhook_zone exists */
typedef struct {
    ngx_atomic_t                  count[NGX_HTTP_WEBHOOK_NCOUNTERS];
} ngx_http_webhook_counters_t;

struct ngx_http_webhook_label_s {
    ngx_str_t                     name;
    ngx_http_webhook_counters_t  *counters;
};


typedef struct {
    ngx_array_t                  *rules;    /* ngx_cidr_t; NULL: any */
    unsigned                      unix_allowed:1;
    unsigned                      all:1;
} ngx_http_webhook_allow_t;


typedef enum {
    NGX_HTTP_WEBHOOK_REPLAY_OFF = 0,
    NGX_HTTP_WEBHOOK_REPLAY_LOCAL,
    NGX_HTTP_WEBHOOK_REPLAY_REDIS
} ngx_http_webhook_replay_e;


/* what to do for a request when Redis errors or misses the timeout */
typedef enum {
    NGX_HTTP_WEBHOOK_REDIS_DOWN_LOCAL = 0,
    NGX_HTTP_WEBHOOK_REDIS_DOWN_REJECT,
    NGX_HTTP_WEBHOOK_REDIS_DOWN_ACCEPT
} ngx_http_webhook_redis_down_e;


typedef struct {
    ngx_str_t                     address;  /* as configured, for logs */
    ngx_str_t                     host;     /* resolved at load, no DNS */
    ngx_uint_t                    port;
    ngx_str_t                     unix_path;
    ngx_uint_t                    db;
    ngx_str_t                     password;
    ngx_msec_t                    connect_timeout;
    ngx_msec_t                    timeout;
    ngx_str_t                     prefix;
} ngx_http_webhook_redis_conf_t;


typedef struct ngx_http_webhook_redis_waiter_s
    ngx_http_webhook_redis_waiter_t;

typedef struct ngx_http_webhook_jwks_s  ngx_http_webhook_jwks_t;

typedef struct ngx_http_webhook_reg_waiter_s  ngx_http_webhook_reg_waiter_t;


/* webhook_registry: where the registration id comes from */
typedef struct {
    ngx_int_t                     index;    /* the id's variable */
    ngx_str_t                     name;
} ngx_http_webhook_registry_t;


/* a registration, as the request sees it (copied out of the cache) */
typedef struct {
    ngx_str_t                     id;
    ngx_str_t                     provider;
    ngx_str_t                     events;
    ngx_str_t                     tenant;
    ngx_str_t                     integration;
    ngx_str_t                     event_type;
    ngx_array_t                   secrets;  /* ngx_http_webhook_secret_t */
    unsigned                      stale:1;  /* an expired cache entry */
} ngx_http_webhook_reg_t;


typedef struct {
    ngx_shm_zone_t               *zone;
    ngx_array_t                   labels;   /* ngx_http_webhook_label_t * */
    ngx_http_webhook_redis_conf_t *redis;
    ngx_array_t                  *jwks;     /* ngx_http_webhook_jwks_t * */
    ngx_shm_zone_t               *registry_zone;
    ngx_msec_t                    registry_ttl;
    ngx_uint_t                    registry_used;
} ngx_http_webhook_main_conf_t;


typedef struct {
    ngx_http_webhook_scheme_t    *scheme;   /* NULL: off */
    ngx_array_t                  *secrets;  /* ngx_http_webhook_secret_t */
    ngx_msec_t                    tolerance;
    ngx_msec_t                    replay_ttl;
    ngx_uint_t                    replay;
    ngx_uint_t                    redis_down;
    ngx_http_webhook_allow_t     *allow;
    ngx_str_t                     label_name;
    ngx_http_webhook_label_t     *label;
    ngx_http_webhook_secret_t    *attest;
    ngx_http_webhook_secret_t    *verify_token;     /* meta, ringcentral */
    ngx_flag_t                    notion_setup;
    ngx_http_webhook_jwks_t      *jwks;             /* pubsub */
    ngx_http_webhook_registry_t  *registry;
    ngx_str_t                     jwt_audience;
    ngx_str_t                     jwt_email;

    /* the custom scheme's directives, merged into scheme */
    ngx_http_webhook_header_t     custom_signature;
    ngx_str_t                     custom_prefix;
    ngx_int_t                     custom_encoding;
    ngx_int_t                     custom_alg;
    ngx_int_t                     custom_list;
    ngx_str_t                     custom_template;
    ngx_http_webhook_header_t     custom_timestamp;
    ngx_int_t                     custom_ts_format;
    ngx_http_webhook_header_t     custom_nonce;

    unsigned                      verify_set:1;
    unsigned                      replay_chosen:1;
    unsigned                      replay_ttl_set:1;
    unsigned                      status:1;
} ngx_http_webhook_loc_conf_t;


/* what a request carries and what was decided about it */
typedef struct {
    ngx_str_t                     value;
    u_char                        mac[NGX_HTTP_WEBHOOK_MAX_MAC];
    size_t                        len;
} ngx_http_webhook_sig_t;


typedef struct {
    /* the location's, or the registration's in a registry location */
    ngx_http_webhook_scheme_t    *scheme;
    ngx_array_t                  *secrets;
    ngx_http_webhook_reg_t       *reg;
    ngx_http_webhook_reg_waiter_t *reg_waiter;
    void                         *body_json;        /* parsed once */

    ngx_http_webhook_sig_t        sigs[NGX_HTTP_WEBHOOK_MAX_SIGS];
    ngx_uint_t                    nsigs;
    ngx_str_t                     shared_secret;    /* hft71, tokens */
    ngx_str_t                     challenge;        /* setup answer */

    ngx_str_t                     timestamp;        /* as received */
    int64_t                       timestamp_ms;
    ngx_str_t                     nonce;
    ngx_str_t                     id;               /* $webhook_id */

    u_char                        mac[NGX_HTTP_WEBHOOK_MAX_MAC];
    size_t                        mac_len;
    ngx_int_t                     secret_index;     /* -1: none */

    u_char                        replay_key[NGX_HTTP_WEBHOOK_KEY_LEN];
    uint64_t                      token;
    uint32_t                      slot;             /* its zone entry */
    ngx_msec_t                    ttl;
    ngx_http_webhook_redis_waiter_t *waiter;

    u_char                        body_sha256[SHA256_DIGEST_LENGTH * 2];
    ngx_str_t                     attestation;
    time_t                        verified_at;

    ngx_http_webhook_reason_e     reason;
    const char                   *detail;           /* for the log */
    ngx_buf_t                    *json;             /* replaces a 413 page */
    ngx_int_t                     status;           /* for re-entry */

    unsigned                      has_timestamp:1;
    unsigned                      body_hashed:1;
    unsigned                      done:1;
    unsigned                      reserved:1;
    unsigned                      reserved_redis:1;
    unsigned                      counted:1;
    unsigned                      ping:1;
    unsigned                      setup:1;          /* maybe Notion's */
    unsigned                      replace_body:1;   /* a 413 of nginx's */
    unsigned                      looking_up:1;     /* registry, waiting */
    unsigned                      looked_up:1;      /* registry answered */
    unsigned                      body_parsed:1;
} ngx_http_webhook_ctx_t;


extern ngx_module_t  ngx_http_webhook_module;
extern ngx_http_webhook_reason_t  ngx_http_webhook_reasons[];
extern ngx_str_t  ngx_http_webhook_counter_names[];


/* _handler.c */
ngx_int_t ngx_http_webhook_access_handler(ngx_http_request_t *r);
ngx_http_webhook_ctx_t *ngx_http_webhook_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_webhook_body_sha256(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_attestation(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
void ngx_http_webhook_decide(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reason_e reason);
ngx_http_webhook_reason_e ngx_http_webhook_redis_fallback(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx, const char *why);

/* _registry.c */
char *ngx_http_webhook_registry_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_webhook_registry_zone_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_webhook_registry_postconf(ngx_conf_t *cf,
    ngx_http_webhook_main_conf_t *wmcf);
ngx_int_t ngx_http_webhook_registry_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_main_conf_t *wmcf);
void ngx_http_webhook_registry_exit_process(void);
ngx_int_t ngx_http_webhook_registry_lookup(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e *reason);
void ngx_http_webhook_registry_cancel(ngx_http_webhook_ctx_t *ctx);
ngx_http_webhook_reason_e ngx_http_webhook_registry_event(
    ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_registry_scan_type(ngx_str_t *body,
    ngx_uint_t slack, ngx_str_t *type);
void ngx_http_webhook_registry_record(ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_reason_e reason);
u_char *ngx_http_webhook_registry_report(ngx_shm_zone_t *zone, u_char *p,
    u_char *last);

/* _setup.c */
ngx_http_webhook_reason_e ngx_http_webhook_setup_check(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_setup_answer(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_notion_verification(ngx_http_request_t *r);
ngx_int_t ngx_http_webhook_printable_token(ngx_str_t *value, size_t max);
ngx_int_t ngx_http_webhook_token_equal(ngx_str_t *given,
    ngx_http_webhook_secret_t *want);

/* _jwt.c */
typedef struct {
    ngx_str_t                     kid;
    EVP_PKEY                     *pkey;
} ngx_http_webhook_jwk_t;

typedef struct {
    ngx_str_t                     audience;
    ngx_str_t                     email;
    time_t                        now;
    time_t                        leeway;
} ngx_http_webhook_jwt_want_t;

char *ngx_http_webhook_jwks_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_webhook_reason_e ngx_http_webhook_jwt_check(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);
void ngx_http_webhook_jwks_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_main_conf_t *wmcf);
ngx_array_t *ngx_http_webhook_jwks_parse(ngx_pool_t *pool, u_char *data,
    size_t len, const char **err);
ngx_http_webhook_reason_e ngx_http_webhook_jwt_verify(ngx_pool_t *pool,
    ngx_log_t *log, ngx_array_t *keys, ngx_str_t *token,
    ngx_http_webhook_jwt_want_t *want, time_t *exp, const char **detail);

/* _module.c */
char *ngx_http_webhook_zone_value(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *name, ssize_t *size);
char *ngx_http_webhook_secret_value(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_webhook_secret_t *secret);

/* _redis.c */
typedef void (*ngx_http_webhook_redis_reply_pt)(void *reply, void *data);

ngx_int_t ngx_http_webhook_redis_command(ngx_http_webhook_redis_reply_pt cb,
    void *data, int argc, const char **argv, const size_t *argvlen);
void ngx_http_webhook_redis_timed_out(void);
ngx_int_t ngx_http_webhook_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_conf_t *conf);
void ngx_http_webhook_redis_exit_process(void);
ngx_int_t ngx_http_webhook_redis_reserve(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_reason_e *reason);
void ngx_http_webhook_redis_cancel(ngx_http_webhook_ctx_t *ctx,
    ngx_uint_t keep);
void ngx_http_webhook_redis_release(ngx_http_webhook_ctx_t *ctx);
void ngx_http_webhook_filter_init(void);
ngx_int_t ngx_http_webhook_redis_up(void);
u_char *ngx_http_webhook_redis_report(u_char *p, u_char *last);
const char *ngx_http_webhook_redis_state_name(void);
char *ngx_http_webhook_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* _verify.c */
ngx_http_webhook_scheme_t *ngx_http_webhook_find_scheme(ngx_str_t *name);
ngx_int_t ngx_http_webhook_parse_template(ngx_conf_t *cf, ngx_str_t *tpl,
    ngx_http_webhook_scheme_t *scheme);
ngx_int_t ngx_http_webhook_key_material(ngx_http_webhook_scheme_t *scheme,
    ngx_pool_t *pool, ngx_str_t *secret, ngx_str_t *key);
void ngx_http_webhook_hmac_key_init(ngx_http_webhook_hmac_key_t *key,
    ngx_http_webhook_alg_e alg, u_char *secret, size_t len);
void ngx_http_webhook_hmac_init(ngx_http_webhook_hmac_t *h,
    ngx_http_webhook_hmac_key_t *key);
void ngx_http_webhook_hmac_update(ngx_http_webhook_hmac_t *h,
    const void *data, size_t len);
size_t ngx_http_webhook_hmac_final(ngx_http_webhook_hmac_t *h, u_char *mac);
size_t ngx_http_webhook_digest_size(ngx_http_webhook_alg_e alg);
ngx_uint_t ngx_http_webhook_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value);
ngx_http_webhook_reason_e ngx_http_webhook_parse_headers(
    ngx_http_request_t *r, ngx_http_webhook_scheme_t *scheme,
    ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_parse_time(ngx_str_t *value,
    ngx_http_webhook_ts_format_e format, int64_t *ms);
ngx_http_webhook_reason_e ngx_http_webhook_verify_body(
    ngx_http_request_t *r, ngx_http_webhook_loc_conf_t *wlcf,
    ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_body_walk(ngx_http_request_t *r,
    void (*update)(void *data, const u_char *p, size_t len), void *data);
ngx_int_t ngx_http_webhook_woocommerce_ping(ngx_http_request_t *r);
ngx_int_t ngx_http_webhook_body_flat(ngx_http_request_t *r, ngx_str_t *body);
void *ngx_http_webhook_json_parse(ngx_pool_t *pool, ngx_log_t *log,
    u_char *data, size_t len);
void *ngx_http_webhook_body_json(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
ngx_msec_t ngx_http_webhook_default_replay_ttl(
    ngx_http_webhook_scheme_t *scheme, ngx_msec_t tolerance);
void *ngx_http_webhook_json_alloc(size_t size);
void ngx_http_webhook_json_free(void *p);

/* _cidr.c */
char *ngx_http_webhook_allow_add(ngx_conf_t *cf,
    ngx_http_webhook_allow_t *allow, ngx_str_t *value);
ngx_int_t ngx_http_webhook_allow_match(ngx_http_webhook_allow_t *allow,
    struct sockaddr *sa);
ngx_int_t ngx_http_webhook_allow_parse_list(ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_webhook_allow_t *allow, u_char *p, size_t len);

/* _shm.c */
ngx_shm_zone_t *ngx_http_webhook_shm_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);
ngx_int_t ngx_http_webhook_shm_reserve(ngx_shm_zone_t *zone, u_char *key,
    ngx_msec_t ttl, uint64_t token, uint32_t *slot);
void ngx_http_webhook_shm_settle(ngx_shm_zone_t *zone, u_char *key,
    uint64_t token, ngx_msec_t ttl, ngx_uint_t keep, uint32_t slot);
ngx_uint_t ngx_http_webhook_shm_entries(ngx_shm_zone_t *zone,
    ngx_uint_t *evicted);
ngx_int_t ngx_http_webhook_shm_labels(ngx_shm_zone_t *zone,
    ngx_int_t (*each)(void *data, ngx_str_t *name,
    ngx_http_webhook_counters_t *c), void *data);

/* _status.c */
char *ngx_http_webhook_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_webhook_count(ngx_http_webhook_loc_conf_t *wlcf,
    ngx_uint_t counter);


#endif /* _NGX_HTTP_WEBHOOK_MODULE_H_INCLUDED_ */

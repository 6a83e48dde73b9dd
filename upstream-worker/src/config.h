/* Worker configuration from the environment. */
#ifndef WORKER_CONFIG_H
#define WORKER_CONFIG_H

#include <stddef.h>

#include "registry_tokens.h"

typedef char *(*config_getenv_fn)(const char *name);

typedef struct {
    char  host[256];
    int   port;
    char  unix_path[256];     /* set instead of host/port for unix sockets */
    char  password[256];
    int   db;
} redis_target;

typedef struct {
    char  host[256];
    int   port;
    char  unix_path[256];
} listen_target;

typedef struct {
    char          *sf_login_url;
    char          *sf_client_id;
    char          *sf_username;
    char          *sf_private_key_path;
    char          *sf_api_version;          /* "60.0" */
    char          *portal_pricebook_id;
    char          *whmcs_api_url;
    char          *whmcs_identifier;
    char          *whmcs_secret;
    char          *whmcs_access_key;        /* optional */
    char          *edge_attest_secret;      /* optional: no check when unset */
    char          *environment;
    int            events_enabled;          /* SF_EVENTS_ENABLED */
    char          *events_channel;          /* SF_PROVISION_EVENT_CHANNEL */
    int            events_replay_all;       /* SF_EVENTS_REPLAY=ALL */
    char          *consumer_name;
    redis_target   redis;
    listen_target  listen;
    long           max_attempts;
    long           retry_base_ms;
    long           retry_max_ms;
    long           claim_idle_ms;
    long           http_timeout_ms;
    long           attest_max_age_s;
    long           intake_threads;          /* WORKER_INTAKE_THREADS */
    /* the WooCommerce <-> HFT71 order flow: on when WOOCOMMERCE_URL or
     * HFT71_API_URL is set, and then every one of these is required */
    int            commerce_enabled;
    char          *wc_url;                  /* WOOCOMMERCE_URL, no slash */
    char          *wc_key;                  /* WOOCOMMERCE_CONSUMER_KEY */
    char          *wc_secret;               /* WOOCOMMERCE_CONSUMER_SECRET */
    char          *hft71_url;               /* HFT71_API_URL */
    char          *hft71_username;
    char          *hft71_password;
    long           hft71_poll_interval_s;   /* HFT71_POLL_INTERVAL_S */
    long           hft71_sweep_interval_s;  /* HFT71_SWEEP_INTERVAL_S */
    /* webhook registrations (issue 14): on when REGISTRY_TOKENS_FILE is
     * set, and then REGISTRY_PUBLIC_BASE_URL is required */
    int            registry_enabled;
    char          *registry_tokens_file;    /* REGISTRY_TOKENS_FILE */
    registry_tokens registry_tokens;        /* read from it at start */
    char          *registry_base_url;       /* REGISTRY_PUBLIC_BASE_URL */
    char          *registry_prefix;         /* REGISTRY_REDIS_PREFIX */
    long           registry_rotate_grace_s; /* REGISTRY_ROTATE_GRACE_S */
    long           registry_health_window_s; /* REGISTRY_HEALTH_WINDOW_S */
    /* the stock sync (with the commerce flow) */
    int            stock_sync_enabled;      /* HFT71_STOCK_SYNC_ENABLED */
    long           stock_interval_s;        /* HFT71_STOCK_INTERVAL_S */
    long           stock_page_size;         /* HFT71_STOCK_PAGE_SIZE */
    long           stock_index_max_age_s;   /* STOCK_INDEX_MAX_AGE_S */
    char          *stock_priority_skus;     /* STOCK_PRIORITY_SKUS, or NULL */
} worker_config;

/*
 * Fills cfg from the environment. On a missing or malformed setting returns
 * -1 and writes a message naming it into err.
 */
int config_load(worker_config *cfg, config_getenv_fn get, char *err,
    size_t err_len);
void config_free(worker_config *cfg);

int config_parse_listen(const char *value, listen_target *out);
int config_parse_redis_url(const char *value, redis_target *out);
/* 1 for an http:// URL whose host is loopback (127.0.0.0/8, ::1,
 * localhost), where plain HTTP is allowed for Basic-auth APIs. */
int config_url_is_loopback_http(const char *url);

#endif

#include "config.h"
#include "intake.h"
#include "jobs/stock_plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int
http_url_valid(const char *v)
{
    return (strncmp(v, "http://", 7) == 0 && v[7] != '\0')
        || (strncmp(v, "https://", 8) == 0 && v[8] != '\0');
}


static int
parse_port(const char *s, int *port)
{
    char *end;
    long  v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535) {
        return -1;
    }
    *port = (int) v;
    return 0;
}


int
config_parse_listen(const char *value, listen_target *out)
{
    const char *colon;
    size_t      host_len;

    memset(out, 0, sizeof(*out));
    if (strncmp(value, "unix:", 5) == 0) {
        if (value[5] != '/' || strlen(value + 5) >= sizeof(out->unix_path)) {
            return -1;
        }
        strcpy(out->unix_path, value + 5);
        return 0;
    }
    colon = strrchr(value, ':');
    if (colon == NULL || colon == value) {
        return -1;
    }
    host_len = (size_t) (colon - value);
    if (value[0] == '[' && colon[-1] == ']') {          /* [::1]:8080 */
        value++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(out->host)) {
        return -1;
    }
    memcpy(out->host, value, host_len);
    out->host[host_len] = '\0';
    return parse_port(colon + 1, &out->port);
}


/* redis://[[user]:password@]host[:port][/db] or unix:///path/to.sock */
int
config_parse_redis_url(const char *value, redis_target *out)
{
    const char *p, *at, *slash, *colon, *host_end;
    char        port_buf[8];
    size_t      n;

    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (strncmp(value, "unix://", 7) == 0) {
        p = value + 7;
        if (*p != '/' || strlen(p) >= sizeof(out->unix_path)) {
            return -1;
        }
        strcpy(out->unix_path, p);
        return 0;
    }
    if (strncmp(value, "redis://", 8) != 0) {
        return -1;
    }
    p = value + 8;
    slash = strchr(p, '/');
    at = strchr(p, '@');
    if (at != NULL && (slash == NULL || at < slash)) {
        colon = memchr(p, ':', (size_t) (at - p));
        if (colon != NULL) {
            n = (size_t) (at - colon - 1);
            if (n >= sizeof(out->password)) {
                return -1;
            }
            memcpy(out->password, colon + 1, n);
            out->password[n] = '\0';
        }
        p = at + 1;
    }
    host_end = slash ? slash : p + strlen(p);
    colon = memchr(p, ':', (size_t) (host_end - p));
    n = (size_t) ((colon ? colon : host_end) - p);
    if (n == 0 || n >= sizeof(out->host)) {
        return -1;
    }
    memcpy(out->host, p, n);
    out->host[n] = '\0';
    if (colon != NULL) {
        n = (size_t) (host_end - colon - 1);
        if (n == 0 || n >= sizeof(port_buf)) {
            return -1;
        }
        memcpy(port_buf, colon + 1, n);
        port_buf[n] = '\0';
        if (parse_port(port_buf, &out->port) != 0) {
            return -1;
        }
    }
    if (slash != NULL && slash[1] != '\0') {
        char *end;
        long  db = strtol(slash + 1, &end, 10);

        if (*end != '\0' || db < 0 || db > 1000) {
            return -1;
        }
        out->db = (int) db;
    }
    return 0;
}


static int
fail(char *err, size_t err_len, const char *name, const char *why)
{
    snprintf(err, err_len, "%s %s", name, why);
    return -1;
}


static int
take_string(config_getenv_fn get, const char *name, int required,
    char **out, char *err, size_t err_len)
{
    const char *v = get(name);

    *out = NULL;
    if (v == NULL || v[0] == '\0') {
        if (required) {
            return fail(err, err_len, name, "is not set");
        }
        return 0;
    }
    *out = strdup(v);
    return *out ? 0 : fail(err, err_len, name, "could not be copied");
}


/* "https://x/" and "https://x" name the same base: paths are appended */
static void
trim_slashes(char *url)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/') {
        url[--n] = '\0';
    }
}


static int
take_long(config_getenv_fn get, const char *name, long def, long min,
    long max, long *out, char *err, size_t err_len)
{
    const char *v = get(name);
    char       *end;
    long        n;

    if (v == NULL || v[0] == '\0') {
        *out = def;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        char why[96];

        snprintf(why, sizeof(why), "is malformed: want an integer %ld..%ld",
                 min, max);
        return fail(err, err_len, name, why);
    }
    *out = n;
    return 0;
}


int
config_url_is_loopback_http(const char *url)
{
    const char *h;
    size_t      n;

    if (strncmp(url, "http://", 7) != 0) {
        return 0;
    }
    h = url + 7;
    if (strchr(h, '@') != NULL && strchr(h, '@') < h + strcspn(h, "/")) {
        return 0;                           /* no credentials in the URL */
    }
    if (strncmp(h, "[::1]", 5) == 0) {
        return h[5] == '\0' || h[5] == ':' || h[5] == '/';
    }
    n = strcspn(h, ":/");
    if (n == 9 && strncmp(h, "localhost", 9) == 0) {
        return 1;
    }
    if (n >= 4 && strncmp(h, "127.", 4) == 0) {
        return strspn(h, "0123456789.") == n;
    }
    return 0;
}


/*
 * A Basic-auth base URL: https, or http only to loopback (the credentials
 * would otherwise cross the network in the clear).
 */
static int
take_api_url(config_getenv_fn get, const char *name, char **out, char *err,
    size_t err_len)
{
    if (take_string(get, name, 1, out, err, err_len) != 0) {
        return -1;
    }
    trim_slashes(*out);
    if (!http_url_valid(*out)) {
        return fail(err, err_len, name, "is malformed: want an https URL");
    }
    if (strncmp(*out, "https://", 8) != 0
        && !config_url_is_loopback_http(*out))
    {
        return fail(err, err_len, name,
                    "must be https:// (plain http is allowed to loopback "
                    "only: the credentials are sent with every call)");
    }
    return 0;
}


static int
take_bool(config_getenv_fn get, const char *name, int *out, char *err,
    size_t err_len)
{
    const char *v = get(name);

    if (v == NULL || v[0] == '\0' || strcmp(v, "false") == 0
        || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
    {
        *out = 0;
    } else if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0
               || strcmp(v, "yes") == 0)
    {
        *out = 1;
    } else {
        return fail(err, err_len, name, "is malformed: want true or false");
    }
    return 0;
}


/* The stock sync's settings (read with the commerce flow's). */
static int
stock_load(worker_config *cfg, config_getenv_fn get, char *err,
    size_t err_len)
{
    json_t *list;
    char    why[160];

    if (take_bool(get, "HFT71_STOCK_SYNC_ENABLED", &cfg->stock_sync_enabled,
                  err, err_len) != 0
        || take_long(get, "HFT71_STOCK_INTERVAL_S", 3600, 1, 7 * 86400,
                     &cfg->stock_interval_s, err, err_len) != 0
        || take_long(get, "HFT71_STOCK_PAGE_SIZE", 500, 1, 1000,
                     &cfg->stock_page_size, err, err_len) != 0
        || take_long(get, "STOCK_INDEX_MAX_AGE_S", 86400, 60, 30 * 86400,
                     &cfg->stock_index_max_age_s, err, err_len) != 0
        || take_string(get, "STOCK_PRIORITY_SKUS", 0,
                       &cfg->stock_priority_skus, err, err_len) != 0)
    {
        return -1;
    }
    list = stock_priority_list(cfg->stock_priority_skus, why, sizeof(why));
    if (list == NULL) {
        char msg[200];

        snprintf(msg, sizeof(msg), "is malformed: %s", why);
        return fail(err, err_len, "STOCK_PRIORITY_SKUS", msg);
    }
    json_decref(list);
    return 0;
}


static int
commerce_load(worker_config *cfg, config_getenv_fn get, char *err,
    size_t err_len)
{
    const char *wc = get("WOOCOMMERCE_URL"), *h = get("HFT71_API_URL");

    if ((wc == NULL || wc[0] == '\0') && (h == NULL || h[0] == '\0')) {
        return 0;
    }
    cfg->commerce_enabled = 1;
    if (take_api_url(get, "WOOCOMMERCE_URL", &cfg->wc_url, err, err_len) != 0
        || take_string(get, "WOOCOMMERCE_CONSUMER_KEY", 1, &cfg->wc_key, err,
                       err_len) != 0
        || take_string(get, "WOOCOMMERCE_CONSUMER_SECRET", 1, &cfg->wc_secret,
                       err, err_len) != 0
        || take_api_url(get, "HFT71_API_URL", &cfg->hft71_url, err,
                        err_len) != 0
        || take_string(get, "HFT71_USERNAME", 1, &cfg->hft71_username, err,
                       err_len) != 0
        || take_string(get, "HFT71_PASSWORD", 1, &cfg->hft71_password, err,
                       err_len) != 0
        || take_long(get, "HFT71_POLL_INTERVAL_S", 300, 1, 86400,
                     &cfg->hft71_poll_interval_s, err, err_len) != 0
        || take_long(get, "HFT71_SWEEP_INTERVAL_S", 300, 1, 86400,
                     &cfg->hft71_sweep_interval_s, err, err_len) != 0)
    {
        return -1;
    }
    if (strncmp(cfg->wc_key, "ck_", 3) != 0) {
        return fail(err, err_len, "WOOCOMMERCE_CONSUMER_KEY",
                    "is malformed: want ck_...");
    }
    if (strncmp(cfg->wc_secret, "cs_", 3) != 0) {
        return fail(err, err_len, "WOOCOMMERCE_CONSUMER_SECRET",
                    "is malformed: want cs_...");
    }
    if (strchr(cfg->hft71_username, ':') != NULL) {
        return fail(err, err_len, "HFT71_USERNAME",
                    "is malformed: Basic auth user names have no ':'");
    }
    return stock_load(cfg, get, err, err_len);
}


/* The registry (issue 14): tokens are read (hashes only) at start. */
static int
registry_load(worker_config *cfg, config_getenv_fn get, char *err,
    size_t err_len)
{
    const char *p;
    char        why[256];

    if (take_string(get, "REGISTRY_TOKENS_FILE", 0,
                    &cfg->registry_tokens_file, err, err_len) != 0)
    {
        return -1;
    }
    if (cfg->registry_tokens_file == NULL) {
        return 0;
    }
    cfg->registry_enabled = 1;
    if (registry_tokens_load(cfg->registry_tokens_file,
                             &cfg->registry_tokens, why, sizeof(why)) != 0)
    {
        return fail(err, err_len, "REGISTRY_TOKENS_FILE", why);
    }
    if (take_string(get, "REGISTRY_PUBLIC_BASE_URL", 1,
                    &cfg->registry_base_url, err, err_len) != 0)
    {
        return -1;
    }
    trim_slashes(cfg->registry_base_url);
    if (!http_url_valid(cfg->registry_base_url)) {
        return fail(err, err_len, "REGISTRY_PUBLIC_BASE_URL",
                    "is malformed: want the edge's http(s) base URL");
    }
    p = get("REGISTRY_REDIS_PREFIX");
    cfg->registry_prefix = strdup(p && p[0] ? p : "webhook:");
    if (cfg->registry_prefix == NULL) {
        return fail(err, err_len, "REGISTRY_REDIS_PREFIX", "out of memory");
    }
    if (strlen(cfg->registry_prefix) > 64
        || strspn(cfg->registry_prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "abcdefghijklmnopqrstuvwxyz0123456789:_-.{}")
           != strlen(cfg->registry_prefix))
    {
        return fail(err, err_len, "REGISTRY_REDIS_PREFIX",
                    "is malformed: want up to 64 of [A-Za-z0-9:_.{}-]");
    }
    return take_long(get, "REGISTRY_ROTATE_GRACE_S", 86400, 0, 604800,
                     &cfg->registry_rotate_grace_s, err, err_len) != 0
        || take_long(get, "REGISTRY_HEALTH_WINDOW_S", 900, 60, 86400,
                     &cfg->registry_health_window_s, err, err_len) != 0
        ? -1 : 0;
}


int
config_load(worker_config *cfg, config_getenv_fn get, char *err,
    size_t err_len)
{
    const char *v;
    char        host[200];

    memset(cfg, 0, sizeof(*cfg));

#define REQUIRED(name, field)                                                 \
    if (take_string(get, name, 1, &cfg->field, err, err_len) != 0) {          \
        goto failed;                                                          \
    }

    REQUIRED("SF_LOGIN_URL", sf_login_url);
    trim_slashes(cfg->sf_login_url);
    if (!http_url_valid(cfg->sf_login_url)) {
        fail(err, err_len, "SF_LOGIN_URL", "is malformed: want an http(s) URL");
        goto failed;
    }
    REQUIRED("SF_CLIENT_ID", sf_client_id);
    REQUIRED("SF_USERNAME", sf_username);
    REQUIRED("SF_PRIVATE_KEY_PATH", sf_private_key_path);
    if (access(cfg->sf_private_key_path, R_OK) != 0) {
        fail(err, err_len, "SF_PRIVATE_KEY_PATH", "is not a readable file");
        goto failed;
    }
    REQUIRED("PORTAL_PRICEBOOK_ID", portal_pricebook_id);
    if (!sf_id_valid(cfg->portal_pricebook_id)) {
        fail(err, err_len, "PORTAL_PRICEBOOK_ID",
             "is malformed: want a 15 or 18 character Salesforce id");
        goto failed;
    }
    REQUIRED("WHMCS_API_URL", whmcs_api_url);
    trim_slashes(cfg->whmcs_api_url);
    if (!http_url_valid(cfg->whmcs_api_url)) {
        fail(err, err_len, "WHMCS_API_URL", "is malformed: want an http(s) URL");
        goto failed;
    }
    REQUIRED("WHMCS_IDENTIFIER", whmcs_identifier);
    REQUIRED("WHMCS_SECRET", whmcs_secret);
    if (take_string(get, "WHMCS_ACCESS_KEY", 0, &cfg->whmcs_access_key,
                    err, err_len) != 0
        || take_string(get, "EDGE_ATTEST_SECRET", 0, &cfg->edge_attest_secret,
                       err, err_len) != 0)
    {
        goto failed;
    }

    v = get("REDIS_URL");
    if (v == NULL || v[0] == '\0') {
        fail(err, err_len, "REDIS_URL", "is not set");
        goto failed;
    }
    if (config_parse_redis_url(v, &cfg->redis) != 0) {
        fail(err, err_len, "REDIS_URL",
             "is malformed: want redis://[:password@]host[:port][/db] "
             "or unix:///path");
        goto failed;
    }
    v = get("WORKER_LISTEN");
    if (v == NULL || v[0] == '\0') {
        fail(err, err_len, "WORKER_LISTEN", "is not set");
        goto failed;
    }
    if (config_parse_listen(v, &cfg->listen) != 0) {
        fail(err, err_len, "WORKER_LISTEN",
             "is malformed: want host:port or unix:/path");
        goto failed;
    }

    v = get("SF_API_VERSION");
    if (v == NULL || v[0] == '\0') {
        v = "60.0";
    }
    {
        unsigned major, minor;
        char     tail;

        if (sscanf(v, "%u.%u%c", &major, &minor, &tail) != 2 || major < 20) {
            fail(err, err_len, "SF_API_VERSION", "is malformed: want e.g. 60.0");
            goto failed;
        }
    }
    cfg->sf_api_version = strdup(v);

    v = get("SF_EVENTS_ENABLED");
    if (v == NULL || v[0] == '\0' || strcmp(v, "false") == 0
        || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
    {
        cfg->events_enabled = 0;
    } else if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0
               || strcmp(v, "yes") == 0)
    {
        cfg->events_enabled = 1;
    } else {
        fail(err, err_len, "SF_EVENTS_ENABLED", "is malformed: want true or false");
        goto failed;
    }
    v = get("SF_PROVISION_EVENT_CHANNEL");
    if (v == NULL || v[0] == '\0') {
        v = "/event/OrderProvisionRequested__e";
    }
    if (strncmp(v, "/event/", 7) != 0 || v[7] == '\0'
        || strspn(v + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_") != strlen(v + 7))
    {
        fail(err, err_len, "SF_PROVISION_EVENT_CHANNEL",
             "is malformed: want /event/Name__e");
        goto failed;
    }
    cfg->events_channel = strdup(v);
    v = get("SF_EVENTS_REPLAY");
    if (v == NULL || v[0] == '\0' || strcmp(v, "LATEST") == 0) {
        cfg->events_replay_all = 0;
    } else if (strcmp(v, "ALL") == 0) {
        cfg->events_replay_all = 1;
    } else {
        fail(err, err_len, "SF_EVENTS_REPLAY", "is malformed: want LATEST or ALL");
        goto failed;
    }

    v = get("WORKER_ENV");
    cfg->environment = strdup(v && v[0] ? v : "development");
    v = get("WORKER_CONSUMER");
    if (v == NULL || v[0] == '\0') {
        if (gethostname(host, sizeof(host)) != 0) {
            strcpy(host, "worker");
        }
        host[sizeof(host) - 1] = '\0';
        v = host;
    }
    cfg->consumer_name = strdup(v);
    if (cfg->sf_api_version == NULL || cfg->environment == NULL
        || cfg->consumer_name == NULL || cfg->events_channel == NULL)
    {
        fail(err, err_len, "configuration", "out of memory");
        goto failed;
    }

    if (take_long(get, "JOB_MAX_ATTEMPTS", 5, 1, 100, &cfg->max_attempts,
                  err, err_len) != 0
        || take_long(get, "RETRY_BASE_MS", 1000, 1, 3600000,
                     &cfg->retry_base_ms, err, err_len) != 0
        || take_long(get, "RETRY_MAX_MS", 300000, 1, 86400000,
                     &cfg->retry_max_ms, err, err_len) != 0
        || take_long(get, "JOB_CLAIM_IDLE_MS", 60000, 100, 86400000,
                     &cfg->claim_idle_ms, err, err_len) != 0
        || take_long(get, "HTTP_TIMEOUT_MS", 10000, 100, 600000,
                     &cfg->http_timeout_ms, err, err_len) != 0
        || take_long(get, "EDGE_ATTEST_MAX_AGE", 300, 1, 86400,
                     &cfg->attest_max_age_s, err, err_len) != 0
        || take_long(get, "WORKER_INTAKE_THREADS", 8, 1, 64,
                     &cfg->intake_threads, err, err_len) != 0)
    {
        goto failed;
    }
    if (cfg->retry_max_ms < cfg->retry_base_ms) {
        fail(err, err_len, "RETRY_MAX_MS", "is smaller than RETRY_BASE_MS");
        goto failed;
    }
    if (commerce_load(cfg, get, err, err_len) != 0) {
        goto failed;
    }
    if (registry_load(cfg, get, err, err_len) != 0) {
        goto failed;
    }
#undef REQUIRED
    return 0;

failed:
    config_free(cfg);
    return -1;
}


void
config_free(worker_config *cfg)
{
    free(cfg->sf_login_url);
    free(cfg->sf_client_id);
    free(cfg->sf_username);
    free(cfg->sf_private_key_path);
    free(cfg->sf_api_version);
    free(cfg->portal_pricebook_id);
    free(cfg->whmcs_api_url);
    free(cfg->whmcs_identifier);
    free(cfg->whmcs_secret);
    free(cfg->whmcs_access_key);
    free(cfg->edge_attest_secret);
    free(cfg->environment);
    free(cfg->events_channel);
    free(cfg->consumer_name);
    free(cfg->wc_url);
    free(cfg->wc_key);
    free(cfg->wc_secret);
    free(cfg->hft71_url);
    free(cfg->hft71_username);
    free(cfg->hft71_password);
    free(cfg->registry_tokens_file);
    registry_tokens_free(&cfg->registry_tokens);
    free(cfg->registry_base_url);
    free(cfg->registry_prefix);
    free(cfg->stock_priority_skus);
    memset(cfg, 0, sizeof(*cfg));
}

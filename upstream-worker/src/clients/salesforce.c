#include "salesforce.h"
#include "../jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct salesforce {
    const worker_config *cfg;
    outbound            *http;
    EVP_PKEY            *key;
    char                *access_token;
    char                *instance_url;
};


salesforce *
salesforce_new(const worker_config *cfg, outbound *http, char *err,
    size_t err_len)
{
    salesforce *sf = calloc(1, sizeof(*sf));
    char        why[128];

    if (sf == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    sf->cfg = cfg;
    sf->http = http;
    sf->key = jwt_load_private_key(cfg->sf_private_key_path, why, sizeof(why));
    if (sf->key == NULL) {
        snprintf(err, err_len, "SF_PRIVATE_KEY_PATH %s", why);
        free(sf);
        return NULL;
    }
    return sf;
}


void
salesforce_free(salesforce *sf)
{
    if (sf != NULL) {
        EVP_PKEY_free(sf->key);
        free(sf->access_token);
        free(sf->instance_url);
        free(sf);
    }
}


void
salesforce_forget_token(salesforce *sf)
{
    free(sf->access_token);
    free(sf->instance_url);
    sf->access_token = NULL;
    sf->instance_url = NULL;
}


/* Fills out from a failed response: Salesforce's [{"message","errorCode"}]
 * or the OAuth {"error","error_description"}. */
static void
describe_failure(const http_result *res, const char *what, call_outcome *out)
{
    json_t      *root = NULL, *first;
    const char  *code = NULL, *msg = NULL;

    out->retry_after_s = res->retry_after_s;
    if (res->curl_code != 0) {
        out->not_sent = failure_not_sent(res->curl_code);
        call_outcome_set(out, res->cls, 0, NULL, "%s: %s", what,
                         res->cls == FAIL_TIMEOUT ? "timed out"
                                                  : "transport failure");
        return;
    }
    if (res->body != NULL) {
        root = json_loadb(res->body, res->len, 0, NULL);
    }
    first = json_is_array(root) ? json_array_get(root, 0) : root;
    if (json_is_object(first)) {
        code = json_string_value(json_object_get(first, "errorCode"));
        msg = json_string_value(json_object_get(first, "message"));
        if (code == NULL) {
            code = json_string_value(json_object_get(first, "error"));
            msg = json_string_value(json_object_get(first,
                                                    "error_description"));
        }
    }
    call_outcome_set(out, res->cls, res->status, code, "%s: HTTP %ld%s%s",
                     what, res->status, msg ? ": " : "", msg ? msg : "");
    json_decref(root);
}


static call_outcome
mint_token(salesforce *sf)
{
    call_outcome  out = { 0 };
    http_result   res;
    char         *jwt, *assertion, *form, url[1024];
    json_t       *root;
    const char   *token, *instance;
    const char   *headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json", NULL
    };
    size_t        n;

    out.retry_after_s = -1;
    jwt = jwt_build_rs256(sf->key, sf->cfg->sf_client_id, sf->cfg->sf_username,
                          sf->cfg->sf_login_url, (long long) time(NULL) + 180);
    if (jwt == NULL) {
        call_outcome_set(&out, FAIL_AUTH, 0, "JWT_SIGNING_FAILED",
                         "token: could not sign the JWT");
        return out;
    }
    assertion = outbound_escape(sf->http, jwt);
    free(jwt);
    if (assertion == NULL) {
        call_outcome_set(&out, FAIL_AUTH, 0, NULL, "token: out of memory");
        return out;
    }
    n = strlen(assertion) + 128;
    form = malloc(n);
    if (form == NULL) {
        free(assertion);
        call_outcome_set(&out, FAIL_AUTH, 0, NULL, "token: out of memory");
        return out;
    }
    snprintf(form, n, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
             "%%3Ajwt-bearer&assertion=%s", assertion);
    free(assertion);
    snprintf(url, sizeof(url), "%s/services/oauth2/token",
             sf->cfg->sf_login_url);
    outbound_call(sf->http, "salesforce", "token", "POST", url, headers, form,
                  &res);
    free(form);

    if (res.cls != FAIL_NONE) {
        describe_failure(&res, "token", &out);
        if (res.status == 400) {
            out.cls = FAIL_AUTH;     /* invalid_grant: our credentials */
        }
        http_result_free(&res);
        return out;
    }
    root = json_loadb(res.body ? res.body : "", res.len, 0, NULL);
    token = json_string_value(json_object_get(root, "access_token"));
    instance = json_string_value(json_object_get(root, "instance_url"));
    if (token == NULL || instance == NULL) {
        call_outcome_set(&out, FAIL_REMOTE_5XX, res.status, NULL,
                         "token: answer has no access_token/instance_url");
    } else {
        salesforce_forget_token(sf);
        sf->access_token = strdup(token);
        sf->instance_url = strdup(instance);
        if (sf->access_token == NULL || sf->instance_url == NULL) {
            salesforce_forget_token(sf);
            call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL,
                             "token: out of memory");
        } else {
            outbound_success(sf->http, "salesforce");
        }
    }
    json_decref(root);
    http_result_free(&res);
    return out;
}


/* Calls {instance}{path}, minting a token first if needed and once more
 * after a 401. */
static call_outcome
authed_call(salesforce *sf, const char *action, const char *method,
    const char *path, const char *body, http_result *res)
{
    call_outcome  out = { 0 };
    char         *url, auth[4096];
    int           attempt;
    const char   *headers[] = {
        auth, "Accept: application/json", "Content-Type: application/json",
        NULL
    };

    out.retry_after_s = -1;
    memset(res, 0, sizeof(*res));
    for (attempt = 0; attempt < 2; attempt++) {
        if (sf->access_token == NULL) {
            out = mint_token(sf);
            if (out.cls != FAIL_NONE) {
                return out;
            }
        }
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                 sf->access_token);
        url = malloc(strlen(sf->instance_url) + strlen(path) + 1);
        if (url == NULL) {
            call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "out of memory");
            return out;
        }
        strcpy(url, sf->instance_url);
        strcat(url, path);
        outbound_call(sf->http, "salesforce", action, method, url, headers,
                      body, res);
        free(url);
        if (res->status == 401 && attempt == 0) {
            /* INVALID_SESSION_ID: the token expired or was revoked */
            salesforce_forget_token(sf);
            http_result_free(res);
            continue;
        }
        break;
    }
    if (res->cls != FAIL_NONE) {
        describe_failure(res, action, &out);
    } else {
        outbound_success(sf->http, "salesforce");
    }
    return out;
}


call_outcome
salesforce_query(salesforce *sf, const char *soql, json_t **records)
{
    call_outcome  out;
    http_result   res;
    char         *q, *path;
    json_t       *root;
    size_t        n;

    *records = NULL;
    q = outbound_escape(sf->http, soql);
    if (q == NULL) {
        memset(&out, 0, sizeof(out));
        call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "out of memory");
        return out;
    }
    n = strlen(q) + 64;
    path = malloc(n);
    if (path == NULL) {
        free(q);
        memset(&out, 0, sizeof(out));
        call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "out of memory");
        return out;
    }
    snprintf(path, n, "/services/data/v%s/query?q=%s",
             sf->cfg->sf_api_version, q);
    free(q);
    out = authed_call(sf, "query", "GET", path, NULL, &res);
    free(path);
    if (out.cls == FAIL_NONE) {
        root = json_loadb(res.body ? res.body : "", res.len, 0, NULL);
        if (!json_is_array(json_object_get(root, "records"))) {
            call_outcome_set(&out, FAIL_REMOTE_5XX, res.status, NULL,
                             "query: answer has no records array");
        } else {
            *records = json_incref(json_object_get(root, "records"));
        }
        json_decref(root);
    }
    http_result_free(&res);
    return out;
}


call_outcome
salesforce_update_order(salesforce *sf, const char *order_id, json_t *fields)
{
    call_outcome  out;
    http_result   res;
    char          path[256];
    char         *body = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (body == NULL) {
        memset(&out, 0, sizeof(out));
        call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "out of memory");
        return out;
    }
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/Order/%s",
             sf->cfg->sf_api_version, order_id);
    out = authed_call(sf, "update_order", "PATCH", path, body, &res);
    free(body);
    http_result_free(&res);
    return out;
}


call_outcome
salesforce_cometd(salesforce *sf, const char *action, json_t *messages,
    json_t **reply)
{
    call_outcome  out;
    http_result   res;
    char          path[64];
    char         *body = json_dumps(messages, JSON_COMPACT);
    json_t       *root;

    *reply = NULL;
    if (body == NULL) {
        memset(&out, 0, sizeof(out));
        call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "out of memory");
        return out;
    }
    /* CometD's path takes the bare major version: /cometd/60.0 */
    snprintf(path, sizeof(path), "/cometd/%s", sf->cfg->sf_api_version);
    out = authed_call(sf, action, "POST", path, body, &res);
    free(body);
    if (out.cls == FAIL_NONE) {
        root = json_loadb(res.body ? res.body : "", res.len, 0, NULL);
        if (!json_is_array(root)) {
            json_decref(root);
            call_outcome_set(&out, FAIL_REMOTE_5XX, res.status, NULL,
                             "%s: the answer is not a Bayeux array", action);
        } else {
            *reply = root;
        }
    }
    http_result_free(&res);
    return out;
}

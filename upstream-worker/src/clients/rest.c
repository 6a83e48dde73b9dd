#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct rest_api {
    outbound    *http;
    const char  *integration;
    char        *base;
    char        *auth;          /* "Authorization: Basic ..." */
};


rest_api *
rest_new(outbound *http, const char *integration, const char *base,
    const char *user, const char *password)
{
    rest_api  *a = calloc(1, sizeof(*a));
    size_t     n;
    char      *plain = NULL;
    int        enc;

    if (a == NULL) {
        return NULL;
    }
    a->http = http;
    a->integration = integration;
    a->base = strdup(base);
    n = strlen(user) + strlen(password) + 1;
    plain = malloc(n + 1);
    a->auth = malloc(4 * (n / 3 + 1) + 32);
    if (a->base == NULL || plain == NULL || a->auth == NULL) {
        free(plain);
        rest_free(a);
        return NULL;
    }
    snprintf(plain, n + 1, "%s:%s", user, password);
    strcpy(a->auth, "Authorization: Basic ");
    enc = EVP_EncodeBlock((unsigned char *) a->auth + 21,
                          (const unsigned char *) plain, (int) n);
    a->auth[21 + enc] = '\0';
    OPENSSL_cleanse(plain, n);
    free(plain);
    return a;
}


void
rest_free(rest_api *a)
{
    if (a == NULL) {
        return;
    }
    if (a->auth != NULL) {
        OPENSSL_cleanse(a->auth, strlen(a->auth));
    }
    free(a->auth);
    free(a->base);
    free(a);
}


outbound *
rest_http(rest_api *a)
{
    return a->http;
}


call_outcome
rest_call(rest_api *a, const char *action, const char *method,
    const char *path, json_t *body, json_t **out, rest_paging *paging)
{
    call_outcome  o;
    http_result   res;
    char         *url = NULL, *text = NULL;
    const char   *headers[4];
    json_t       *doc = NULL;
    json_error_t  jerr;
    const char   *code, *msg;

    memset(&o, 0, sizeof(o));
    o.retry_after_s = -1;
    *out = NULL;
    if (paging != NULL) {
        paging->total_pages = -1;
        paging->total = -1;
    }
    if (asprintf(&url, "%s%s", a->base, path) < 0) {
        call_outcome_set(&o, FAIL_TRANSPORT, 0, "", "out of memory");
        o.not_sent = 1;
        return o;
    }
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    headers[0] = a->auth;
    headers[1] = "Accept: application/json";
    headers[2] = body != NULL ? "Content-Type: application/json" : NULL;
    headers[3] = NULL;
    outbound_call(a->http, a->integration, action, method, url, headers, text,
                  &res);
    free(url);
    free(text);

    o.status = res.status;
    o.retry_after_s = res.retry_after_s;
    o.not_sent = failure_not_sent(res.curl_code);
    if (paging != NULL) {
        paging->total_pages = res.total_pages;
        paging->total = res.total;
    }
    if (res.curl_code != 0) {
        call_outcome_set(&o, res.cls, 0, "", "%s %s: no answer (%s)",
                         a->integration, action,
                         res.cls == FAIL_TIMEOUT ? "timeout" : "transport");
        http_result_free(&res);
        return o;
    }
    if (res.len > 0) {
        doc = json_loadb(res.body, res.len, 0, &jerr);
    }
    if (res.cls == FAIL_NONE) {
        if (res.len > 0 && doc == NULL) {
            call_outcome_set(&o, FAIL_REMOTE_5XX, res.status, "",
                             "%s %s: %ld answer is not JSON", a->integration,
                             action, res.status);
        } else {
            outbound_success(a->http, a->integration);
            *out = doc;
            doc = NULL;
            o.cls = FAIL_NONE;
        }
        http_result_free(&res);
        json_decref(doc);
        return o;
    }
    code = json_string_value(json_object_get(doc, "error"));
    if (code == NULL) {
        code = json_string_value(json_object_get(doc, "code"));
    }
    msg = json_string_value(json_object_get(doc, "message"));
    call_outcome_set(&o, res.cls, res.status, code, "%s %s: %ld %s%s%s",
                     a->integration, action, res.status, code ? code : "",
                     msg ? ": " : "", msg ? msg : "");
    json_decref(doc);
    http_result_free(&res);
    return o;
}

#include "whmcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct whmcs {
    const worker_config *cfg;
    outbound            *http;
};


whmcs *
whmcs_new(const worker_config *cfg, outbound *http)
{
    whmcs *w = calloc(1, sizeof(*w));

    if (w != NULL) {
        w->cfg = cfg;
        w->http = http;
    }
    return w;
}


void
whmcs_free(whmcs *w)
{
    free(w);
}


long long
whmcs_id(json_t *v)
{
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_string(v)) {
        return strtoll(json_string_value(v), NULL, 10);
    }
    return 0;
}


/* Appends "&name=value" (escaped) to *form. */
static int
append(whmcs *w, char **form, size_t *len, const char *name, const char *value)
{
    char   *ev = outbound_escape(w->http, value);
    char   *en = outbound_escape(w->http, name);
    size_t  add;
    char   *f;

    if (ev == NULL || en == NULL) {
        free(ev);
        free(en);
        return -1;
    }
    add = strlen(en) + strlen(ev) + 2;
    f = realloc(*form, *len + add + 1);
    if (f == NULL) {
        free(ev);
        free(en);
        return -1;
    }
    *len += (size_t) snprintf(f + *len, add + 1, "%s%s=%s", *len ? "&" : "",
                              en, ev);
    *form = f;
    free(ev);
    free(en);
    return 0;
}


call_outcome
whmcs_call(whmcs *w, const char *action, const char *const *params,
    json_t **result)
{
    call_outcome  out;
    http_result   res;
    char         *form = NULL, url[1024];
    size_t        len = 0, i;
    json_t       *root;
    const char   *r, *msg;
    const char   *headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json", NULL
    };
    int           bad = 0;

    memset(&out, 0, sizeof(out));
    out.retry_after_s = -1;
    *result = NULL;
    bad |= append(w, &form, &len, "action", action);
    bad |= append(w, &form, &len, "identifier", w->cfg->whmcs_identifier);
    bad |= append(w, &form, &len, "secret", w->cfg->whmcs_secret);
    if (w->cfg->whmcs_access_key != NULL) {
        bad |= append(w, &form, &len, "accesskey", w->cfg->whmcs_access_key);
    }
    bad |= append(w, &form, &len, "responsetype", "json");
    for (i = 0; params && params[i] && params[i + 1]; i += 2) {
        bad |= append(w, &form, &len, params[i], params[i + 1]);
    }
    if (bad) {
        free(form);
        call_outcome_set(&out, FAIL_TRANSPORT, 0, NULL, "%s: out of memory",
                         action);
        return out;
    }
    snprintf(url, sizeof(url), "%s/includes/api.php", w->cfg->whmcs_api_url);
    outbound_call(w->http, "whmcs", action, "POST", url, headers, form, &res);
    free(form);

    out.retry_after_s = res.retry_after_s;
    if (res.curl_code != 0) {
        out.not_sent = failure_not_sent(res.curl_code);
        call_outcome_set(&out, res.cls, 0, NULL, "%s: %s", action,
                         res.cls == FAIL_TIMEOUT ? "timed out"
                                                 : "transport failure");
        http_result_free(&res);
        return out;
    }
    root = json_loadb(res.body ? res.body : "", res.len, 0, NULL);
    r = json_string_value(json_object_get(root, "result"));
    msg = json_string_value(json_object_get(root, "message"));
    if (res.cls != FAIL_NONE) {
        call_outcome_set(&out, res.cls, res.status, NULL, "%s: HTTP %ld%s%s",
                         action, res.status, msg ? ": " : "", msg ? msg : "");
    } else if (r == NULL) {
        /* a PHP error page or a proxy's answer, not the API speaking */
        call_outcome_set(&out, FAIL_REMOTE_5XX, res.status, NULL,
                         "%s: the answer is not WHMCS API JSON", action);
    } else if (strcmp(r, "success") != 0) {
        call_outcome_set(&out, FAIL_REMOTE_ERROR, res.status, "error",
                         "%s: %s", action, msg ? msg : "unknown error");
    } else {
        outbound_success(w->http, "whmcs");
        *result = json_incref(root);
    }
    json_decref(root);
    http_result_free(&res);
    return out;
}

/* WHMCS API: POST {WHMCS_API_URL}/includes/api.php, form-encoded,
 * identifier/secret(/accesskey), responsetype=json. */
#ifndef WORKER_WHMCS_H
#define WORKER_WHMCS_H

#include <jansson.h>

#include "../config.h"
#include "../outbound.h"

typedef struct whmcs whmcs;

whmcs *whmcs_new(const worker_config *cfg, outbound *http);
void whmcs_free(whmcs *w);

/*
 * Calls action with params (NULL-terminated name, value, name, value ...).
 * On success *result is the decoded answer (result == "success"); an answer
 * with result "error" is FAIL_REMOTE_ERROR with its message.
 */
call_outcome whmcs_call(whmcs *w, const char *action,
    const char *const *params, json_t **result);

/* WHMCS returns ids as numbers or strings depending on the call/version. */
long long whmcs_id(json_t *v);

#endif

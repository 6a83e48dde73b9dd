#include "intake.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>


static int
copy_segment(const char *start, size_t len, route *out)
{
    if (len == 0 || len >= sizeof(out->id)) {
        return -1;
    }
    memcpy(out->id, start, len);
    out->id[len] = '\0';
    return strchr(out->id, '/') ? -1 : 0;
}


int
route_match(const char *method, const char *url, route *out)
{
    const char *rest, *slash;
    int         is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int         is_post = strcmp(method, "POST") == 0;

    memset(out, 0, sizeof(*out));
    if (strcmp(url, "/health") == 0) {
        out->kind = ROUTE_HEALTH;
        return is_get ? 0 : 405;
    }
    if (strcmp(url, "/metrics") == 0) {
        out->kind = ROUTE_METRICS;
        return is_get ? 0 : 405;
    }
    if (strcmp(url, "/events/salesforce") == 0) {
        out->kind = ROUTE_EVENT;
        return is_post ? 0 : 405;
    }
    if (strcmp(url, "/events/stripe") == 0) {
        out->kind = ROUTE_STRIPE;
        return is_post ? 0 : 405;
    }
    if (strcmp(url, "/events/woocommerce") == 0) {
        out->kind = ROUTE_WOOCOMMERCE;
        return is_post ? 0 : 405;
    }
    if (strcmp(url, "/wp-json/hft71/v1/order-status") == 0) {
        out->kind = ROUTE_HFT71_STATUS;
        return is_post ? 0 : 405;
    }
    if (strcmp(url, "/hft71/resend") == 0) {
        out->kind = ROUTE_HFT71_RESEND;
        return is_post ? 0 : 405;
    }
    if (strcmp(url, "/hft71/log") == 0) {
        out->kind = ROUTE_HFT71_LOG;
        return is_get ? 0 : 405;
    }
    if (strcmp(url, "/stock/sync") == 0) {
        out->kind = ROUTE_STOCK_SYNC;
        return is_post ? 0 : 405;
    }
    if (strncmp(url, "/stock/sync/", 12) == 0) {
        if (copy_segment(url + 12, strlen(url + 12), out) != 0) {
            return 404;
        }
        out->kind = ROUTE_STOCK_RUN;
        return is_get ? 0 : 405;
    }
    if (strcmp(url, "/stock/drift") == 0) {
        out->kind = ROUTE_STOCK_DRIFT;
        return is_get ? 0 : 405;
    }
    if (strncmp(url, "/commerce/orders/", 17) == 0) {
        if (copy_segment(url + 17, strlen(url + 17), out) != 0) {
            return 404;
        }
        out->kind = ROUTE_COMMERCE_ORDER;
        return is_get ? 0 : 405;
    }
    if (strncmp(url, "/orders/", 8) == 0) {
        rest = url + 8;
        slash = strchr(rest, '/');
        if (slash == NULL) {
            if (copy_segment(rest, strlen(rest), out) != 0) {
                return 404;
            }
            out->kind = ROUTE_ORDER;
            return is_get ? 0 : 405;
        }
        if (strcmp(slash, "/fulfill") != 0
            || copy_segment(rest, (size_t) (slash - rest), out) != 0)
        {
            return 404;
        }
        out->kind = ROUTE_FULFILL;
        return is_post ? 0 : 405;
    }
    if (strncmp(url, "/jobs/", 6) == 0) {
        rest = url + 6;
        slash = strchr(rest, '/');
        if (slash == NULL) {
            if (copy_segment(rest, strlen(rest), out) != 0) {
                return 404;
            }
            out->kind = ROUTE_JOB;
            return is_get ? 0 : 405;
        }
        if (strcmp(slash, "/retry") != 0
            || copy_segment(rest, (size_t) (slash - rest), out) != 0)
        {
            return 404;
        }
        out->kind = ROUTE_JOB_RETRY;
        return is_post ? 0 : 405;
    }
    return 404;
}


int
sf_id_valid(const char *s)
{
    size_t n, i;

    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    if (n != 15 && n != 18) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}


/* Printable ASCII, 1..INTAKE_KEY_MAX bytes. */
static int
copy_token(const char *v, char *dst, size_t dst_size)
{
    size_t n, i;

    if (v == NULL) {
        return -1;
    }
    n = strlen(v);
    if (n == 0 || n >= dst_size) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (v[i] < 0x21 || v[i] > 0x7e) {
            return -1;
        }
    }
    memcpy(dst, v, n + 1);
    return 0;
}


static int
bad(char *err, size_t err_len, const char *msg)
{
    snprintf(err, err_len, "%s", msg);
    return 400;
}


static int
take_keys(const char *idem, const char *corr, const char *requested_by,
    intake_request *out, char *err, size_t err_len)
{
    if (idem == NULL || idem[0] == '\0') {
        return bad(err, err_len, "Idempotency-Key is required");
    }
    if (copy_token(idem, out->idem_key, sizeof(out->idem_key)) != 0) {
        return bad(err, err_len,
                   "Idempotency-Key must be 1-200 printable ASCII characters");
    }
    if (corr != NULL && corr[0] != '\0'
        && copy_token(corr, out->correlation_id, sizeof(out->correlation_id))
           != 0)
    {
        return bad(err, err_len,
                   "Correlation id must be 1-200 printable ASCII characters");
    }
    if (requested_by != NULL && requested_by[0] != '\0') {
        if (strlen(requested_by) >= sizeof(out->requested_by)) {
            return bad(err, err_len, "RequestedBy__c is too long");
        }
        strcpy(out->requested_by, requested_by);
    }
    return 0;
}


static const char *
opt_string(json_t *obj, const char *key, int *wrong_type)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v)) {
        *wrong_type = 1;
        return NULL;
    }
    return json_string_value(v);
}


static int
take_client_hint(json_t *obj, intake_request *out, char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, "whmcsClientId");

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        out->whmcs_client_id = json_integer_value(v);
        return 0;
    }
    return bad(err, err_len, "whmcsClientId must be a positive integer");
}


int
intake_parse_fulfill(const char *path_order_id, const char *body,
    size_t body_len, const char *idem_header, const char *corr_header,
    intake_request *out, char *err, size_t err_len)
{
    json_t       *root = NULL;
    json_error_t  jerr;
    const char   *body_order;
    int           wrong = 0, rc;

    memset(out, 0, sizeof(*out));
    out->source = "quick_action";
    if (!sf_id_valid(path_order_id)) {
        return bad(err, err_len,
                   "sfOrderId must be a 15 or 18 character Salesforce id");
    }
    strcpy(out->order_id, path_order_id);

    if (body_len > 0) {
        root = json_loadb(body, body_len, 0, &jerr);
        if (root == NULL || !json_is_object(root)) {
            json_decref(root);
            return bad(err, err_len, "Body must be a JSON object");
        }
        body_order = opt_string(root, "orderId", &wrong);
        if (wrong || (body_order && strcmp(body_order, path_order_id) != 0)) {
            json_decref(root);
            return bad(err, err_len, "orderId in the body does not match the path");
        }
        if (idem_header == NULL || idem_header[0] == '\0') {
            idem_header = opt_string(root, "idempotencyKey", &wrong);
        }
        if (corr_header == NULL || corr_header[0] == '\0') {
            corr_header = opt_string(root, "correlationId", &wrong);
        }
        if (wrong) {
            json_decref(root);
            return bad(err, err_len, "idempotencyKey and correlationId must be strings");
        }
        rc = take_client_hint(root, out, err, err_len);
        if (rc == 0) {
            rc = take_keys(idem_header, corr_header,
                           opt_string(root, "requestedBy", &wrong), out, err,
                           err_len);
        }
        json_decref(root);
        return rc;
    }
    return take_keys(idem_header, corr_header, NULL, out, err, err_len);
}


int
intake_parse_event(const char *body, size_t body_len, const char *idem_header,
    const char *corr_header, intake_request *out, char *err, size_t err_len)
{
    json_t       *root, *payload, *data;
    json_error_t  jerr;
    const char   *order_id, *idem, *corr, *by;
    int           wrong = 0, rc;

    memset(out, 0, sizeof(*out));
    out->source = "platform_event";
    root = json_loadb(body, body_len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return bad(err, err_len, "Body must be a JSON object");
    }
    /* a bare payload, {"payload":{...}} or CometD's {"data":{"payload":..}} */
    payload = root;
    data = json_object_get(root, "data");
    if (json_is_object(data) && json_is_object(json_object_get(data, "payload"))) {
        payload = json_object_get(data, "payload");
    } else if (json_is_object(json_object_get(root, "payload"))) {
        payload = json_object_get(root, "payload");
    }

    /* the event's API names, or the edge salesforce scheme's body names
     * when a Flow callout posts the event through the edge */
    order_id = opt_string(payload, "OrderId__c", &wrong);
    if (order_id == NULL) {
        order_id = opt_string(payload, "orderId", &wrong);
    }
    idem = opt_string(payload, "IdemKey__c", &wrong);
    if (idem == NULL) {
        idem = opt_string(payload, "idempotencyKey", &wrong);
    }
    corr = opt_string(payload, "CorrelationId__c", &wrong);
    if (corr == NULL) {
        corr = opt_string(payload, "correlationId", &wrong);
    }
    by = opt_string(payload, "RequestedBy__c", &wrong);
    if (wrong) {
        json_decref(root);
        return bad(err, err_len, "Event fields must be strings");
    }
    if (!sf_id_valid(order_id)) {
        json_decref(root);
        return bad(err, err_len,
                   "OrderId__c must be a 15 or 18 character Salesforce id");
    }
    strcpy(out->order_id, order_id);
    rc = take_keys(idem_header && idem_header[0] ? idem_header : idem,
                   corr_header && corr_header[0] ? corr_header : corr, by,
                   out, err, err_len);
    json_decref(root);
    return rc;
}

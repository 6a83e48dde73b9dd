#include "fulfill.h"
#include "../clock.h"
#include "../log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *step_names[FULFILL_STEPS] = {
    "validation", "sf_status_update", "order_details", "mapping",
    "payment_method", "whmcs_create", "whmcs_accept", "sf_success_update"
};

typedef struct {
    fulfill_env     *env;
    const char      *job_id;
    const char      *order_id;
    json_t          *job;
    log_job          log;
    fulfill_result  *out;
    int              retried;   /* put back by POST /jobs/{id}/retry */
} run;

typedef int (*step_fn)(run *r);

enum { STEP_OK = 0, STEP_STOP = 1 };


const char *
fulfill_step_name(int index)
{
    return index >= 0 && index < FULFILL_STEPS ? step_names[index] : NULL;
}


static const char *
job_str(run *r, const char *field)
{
    const char *s = json_string_value(json_object_get(r->job, field));

    return s && s[0] ? s : NULL;
}


/* Durable first, then the in-memory copy later steps read. */
static int
remember(run *r, const char *field, const char *value)
{
    if (queue_job_set(r->env->queue, r->job_id, field, value, NULL) != 0) {
        return -1;
    }
    json_object_set_new(r->job, field, json_string(value));
    return 0;
}


static int
stop(run *r, fulfill_status status, failure_class cls, const char *code,
    const char *fmt, ...)
{
    va_list ap;

    r->out->status = status;
    r->out->cls = cls;
    snprintf(r->out->code, sizeof(r->out->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(r->out->message, sizeof(r->out->message), fmt, ap);
    va_end(ap);
    return STEP_STOP;
}


/* A failed outside call: retry what is transient, fail the rest. */
static int
stop_call(run *r, const call_outcome *o, const char *permanent_code)
{
    if (failure_retryable(o->cls)) {
        r->out->retry_after_s = o->retry_after_s;
        return stop(r, FULFILL_RETRY, o->cls, "TRANSIENT_FAILURE", "%s (%s)",
                    o->message, failure_class_name(o->cls));
    }
    return stop(r, FULFILL_FAILED, o->cls, permanent_code, "%s", o->message);
}


static int
stop_redis(run *r)
{
    return stop(r, FULFILL_RETRY, FAIL_TRANSPORT, "TRANSIENT_FAILURE",
                "job store: %s", queue_error(r->env->queue));
}


static json_t *
query_order(run *r, const char *fields, call_outcome *o)
{
    char    soql[1024];
    json_t *records, *rec;

    /* order_id is checked to be alphanumeric: nothing to escape */
    snprintf(soql, sizeof(soql), "SELECT %s FROM Order WHERE Id = '%s'",
             fields, r->order_id);
    *o = salesforce_query(r->env->sf, soql, &records);
    if (o->cls != FAIL_NONE) {
        return NULL;
    }
    rec = json_incref(json_array_get(records, 0));
    json_decref(records);
    return rec;
}


static int
step_validation(run *r)
{
    call_outcome  o;
    json_t       *rec;
    const char   *status;

    if (!sf_id_valid(r->order_id)) {
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "VALIDATION_FAILED",
                    "order id is not a Salesforce id");
    }
    rec = query_order(r, "Id, Provisioning_Status__c", &o);
    if (o.cls != FAIL_NONE) {
        return stop_call(r, &o, "SALESFORCE_ERROR");
    }
    if (rec == NULL) {
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "ORDER_NOT_FOUND",
                    "Salesforce has no Order %s", r->order_id);
    }
    status = json_string_value(json_object_get(rec, "Provisioning_Status__c"));
    /* a retried job finds the Failed its own dead letter wrote */
    if (status == NULL
        || (strcmp(status, "Activating") != 0
            && !(r->retried && strcmp(status, "Failed") == 0)))
    {
        snprintf(r->out->skip_reason, sizeof(r->out->skip_reason), "%s",
                 status && strcmp(status, "Provisioned") == 0
                 ? "already_provisioned" : "not_activating");
        stop(r, FULFILL_SKIPPED, FAIL_NONE, "",
             "Provisioning_Status__c is %s, not Activating",
             status ? status : "empty");
        json_decref(rec);
        return STEP_STOP;
    }
    json_decref(rec);
    if (r->retried) {
        /* checked once per retry: a later crash resumes without it */
        if (remember(r, "retried", "") != 0) {
            return stop_redis(r);
        }
        r->retried = 0;
    }
    return STEP_OK;
}


static int
step_sf_status_update(run *r)
{
    call_outcome  o;
    json_t       *fields;

    fields = json_pack("{s:s,s:n,s:n}", "Provisioning_Status__c", "Activating",
                       "Provisioning_Error_Code__c",
                       "Provisioning_Error_Message__c");
    o = salesforce_update_order(r->env->sf, r->order_id, fields);
    json_decref(fields);
    return o.cls == FAIL_NONE ? STEP_OK : stop_call(r, &o, "SALESFORCE_ERROR");
}


static long long
number_of(json_t *v)
{
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (long long) json_real_value(v);
    }
    if (json_is_string(v)) {
        return strtoll(json_string_value(v), NULL, 10);
    }
    return 0;
}


static int
step_order_details(run *r)
{
    call_outcome  o;
    json_t       *rec, *items;
    const char   *pricebook;
    char         *snapshot, client[32];
    long long     client_id;

    rec = query_order(r,
        "Id, OrderNumber, Status, Provisioning_Status__c, Pricebook2Id, "
        "AccountId, Account.WHMCS_Client_ID__c, "
        "(SELECT Id, Quantity, Product2.Name, Product2.WH_Product_ID__c, "
        "Product2.Billing_Cycle__c FROM OrderItems)", &o);
    if (o.cls != FAIL_NONE) {
        return stop_call(r, &o, "SALESFORCE_ERROR");
    }
    if (rec == NULL) {
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "ORDER_NOT_FOUND",
                    "Salesforce has no Order %s", r->order_id);
    }
    pricebook = json_string_value(json_object_get(rec, "Pricebook2Id"));
    if (pricebook == NULL
        || strcmp(pricebook, r->env->cfg->portal_pricebook_id) != 0)
    {
        json_decref(rec);
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "PRICEBOOK_MISMATCH",
                    "Order is not on the portal price book");
    }
    client_id = number_of(json_object_get(json_object_get(rec, "Account"),
                                          "WHMCS_Client_ID__c"));
    if (client_id <= 0) {
        json_decref(rec);
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "WHMCS_CLIENT_MISSING",
                    "The Order's Account has no WHMCS_Client_ID__c");
    }
    items = json_object_get(json_object_get(rec, "OrderItems"), "records");
    if (json_array_size(items) == 0) {
        json_decref(rec);
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "NO_ORDER_ITEMS",
                    "The Order has no OrderItems");
    }
    snapshot = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    snprintf(client, sizeof(client), "%lld", client_id);
    if (snapshot == NULL || remember(r, "order_json", snapshot) != 0
        || remember(r, "whmcs_client_id", client) != 0)
    {
        free(snapshot);
        return stop_redis(r);
    }
    free(snapshot);
    return STEP_OK;
}


const char *
fulfill_billing_cycle(const char *value)
{
    static const char *cycles[] = {
        "monthly", "quarterly", "semiannually", "annually", "biennially",
        "triennially", "onetime", "free", NULL
    };
    char  norm[32];
    size_t n = 0;
    int   i;

    if (value == NULL) {
        return NULL;
    }
    for (; *value && n < sizeof(norm) - 1; value++) {
        if (isalpha((unsigned char) *value)) {
            norm[n++] = (char) tolower((unsigned char) *value);
        }
    }
    norm[n] = '\0';
    if (strcmp(norm, "yearly") == 0) {
        return "annually";
    }
    for (i = 0; cycles[i]; i++) {
        if (strcmp(norm, cycles[i]) == 0) {
            return cycles[i];
        }
    }
    return NULL;
}


static int
step_mapping(run *r)
{
    json_t      *order, *items, *item, *product, *mapped;
    const char  *snapshot = job_str(r, "order_json"), *cycle, *name, *id;
    char         missing[400] = "", *text;
    size_t       i, n_missing = 0;
    long long    pid, qty;

    order = snapshot ? json_loads(snapshot, 0, NULL) : NULL;
    if (order == NULL) {
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "VALIDATION_FAILED",
                    "The journaled order details are unreadable");
    }
    items = json_object_get(json_object_get(order, "OrderItems"), "records");
    mapped = json_array();
    json_array_foreach(items, i, item) {
        product = json_object_get(item, "Product2");
        pid = number_of(json_object_get(product, "WH_Product_ID__c"));
        cycle = fulfill_billing_cycle(json_string_value(
                    json_object_get(product, "Billing_Cycle__c")));
        qty = number_of(json_object_get(item, "Quantity"));
        if (pid <= 0 || cycle == NULL) {
            name = json_string_value(json_object_get(product, "Name"));
            id = json_string_value(json_object_get(item, "Id"));
            n_missing++;
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
                     "%s%s (%s%s)", n_missing > 1 ? ", " : "",
                     name ? name : "unnamed product", id ? id : "?",
                     pid <= 0 ? ": no WH_Product_ID__c"
                              : ": unknown Billing_Cycle__c");
            continue;
        }
        json_array_append_new(mapped,
            json_pack("{s:I,s:s,s:I}", "pid", (json_int_t) pid,
                      "billingcycle", cycle, "qty",
                      (json_int_t) (qty > 0 ? qty : 1)));
    }
    json_decref(order);
    if (n_missing > 0) {
        log_step(&r->log, "mapping", "report", -1, missing);
        json_decref(mapped);
        return stop(r, FULFILL_FAILED, FAIL_MAPPING, "MAPPING_MISSING",
                    "%zu item(s) without a WHMCS mapping: %s", n_missing,
                    missing);
    }
    text = json_dumps(mapped, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(mapped);
    if (text == NULL || remember(r, "items_json", text) != 0) {
        free(text);
        return stop_redis(r);
    }
    free(text);
    return STEP_OK;
}


static int
step_payment_method(run *r)
{
    call_outcome  o;
    json_t       *res, *methods, *m;
    const char   *client = job_str(r, "whmcs_client_id"), *gateway = NULL;
    const char   *client_params[] = { "clientid", client, "stats", "false",
                                      NULL };
    const char   *pay_params[] = { "clientid", client, NULL };
    size_t        i;
    int           rc;

    if (client == NULL) {
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "WHMCS_CLIENT_MISSING",
                    "No WHMCS client id journaled");
    }
    o = whmcs_call(r->env->whmcs, "GetClientsDetails", client_params, &res);
    if (o.cls != FAIL_NONE) {
        return stop_call(r, &o, "WHMCS_CLIENT_NOT_FOUND");
    }
    json_decref(res);

    o = whmcs_call(r->env->whmcs, "GetPayMethods", pay_params, &res);
    if (o.cls != FAIL_NONE) {
        return stop_call(r, &o, "WHMCS_ERROR");
    }
    methods = json_object_get(res, "paymethods");
    json_array_foreach(methods, i, m) {
        gateway = json_string_value(json_object_get(m, "gateway_name"));
        if (gateway != NULL && gateway[0] != '\0') {
            break;
        }
        gateway = NULL;
    }
    if (gateway == NULL) {
        json_decref(res);
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION,
                    "PAYMENT_METHOD_MISSING",
                    "WHMCS client %s has no payment method on file", client);
    }
    rc = remember(r, "paymethod", gateway);
    json_decref(res);
    return rc == 0 ? STEP_OK : stop_redis(r);
}


/* AddOrder's form fields as a NULL-terminated name, value list; every
 * string is malloc'd (free with free_params). NULL when out of memory. */
static char **
addorder_params(json_t *items, const char *client, const char *gateway)
{
    size_t   n = 0, i, cap = 4 + 6 * json_array_size(items) + 1;
    char   **p = calloc(cap, sizeof(char *));
    json_t  *item;
    char     buf[64];
    int      bad = 0;

    if (p == NULL) {
        return NULL;
    }
#define ADD(s) do { if ((p[n++] = strdup(s)) == NULL) bad = 1; } while (0)
    ADD("clientid");
    ADD(client);
    ADD("paymentmethod");
    ADD(gateway);
    json_array_foreach(items, i, item) {
        const char *cycle = json_string_value(json_object_get(item,
                                                              "billingcycle"));

        snprintf(buf, sizeof(buf), "pid[%zu]", i);
        ADD(buf);
        snprintf(buf, sizeof(buf), "%lld",
                 (long long) json_integer_value(json_object_get(item, "pid")));
        ADD(buf);
        snprintf(buf, sizeof(buf), "billingcycle[%zu]", i);
        ADD(buf);
        ADD(cycle ? cycle : "");
        snprintf(buf, sizeof(buf), "qty[%zu]", i);
        ADD(buf);
        snprintf(buf, sizeof(buf), "%lld",
                 (long long) json_integer_value(json_object_get(item, "qty")));
        ADD(buf);
    }
#undef ADD
    if (bad) {
        for (i = 0; i < n; i++) {
            free(p[i]);
        }
        free(p);
        return NULL;
    }
    return p;
}


static void
free_params(char **p)
{
    size_t i;

    for (i = 0; p != NULL && p[i] != NULL; i++) {
        free(p[i]);
    }
    free(p);
}


static int
step_whmcs_create(run *r)
{
    call_outcome  o;
    json_t       *items, *res;
    char        **params, holder[64] = "";
    const char   *state = job_str(r, "addorder_state");
    const char   *client = job_str(r, "whmcs_client_id");
    const char   *gateway = job_str(r, "paymethod");
    const char   *text = job_str(r, "items_json");
    int           claim;
    char          order_id[32];

    if (state != NULL && strcmp(state, "done") == 0
        && job_str(r, "whmcs_order_id") != NULL)
    {
        /* the answer was journaled, only the step marker was not */
        return STEP_OK;
    }
    if (state != NULL && strcmp(state, "sending") == 0) {
        return stop(r, FULFILL_NEEDS_REVIEW, FAIL_NONE, "ADDORDER_UNCERTAIN",
                    "The worker stopped after sending AddOrder and before "
                    "recording its answer; check WHMCS client %s's orders "
                    "before retrying", client ? client : "?");
    }
    items = text ? json_loads(text, 0, NULL) : NULL;
    if (items == NULL || client == NULL || gateway == NULL) {
        json_decref(items);
        return stop(r, FULFILL_FAILED, FAIL_VALIDATION, "VALIDATION_FAILED",
                    "The journaled mapping is unreadable");
    }
    params = addorder_params(items, client, gateway);
    json_decref(items);
    if (params == NULL) {
        return stop(r, FULFILL_RETRY, FAIL_TRANSPORT, "TRANSIENT_FAILURE",
                    "out of memory");
    }
    claim = queue_begin_addorder(r->env->queue, r->order_id, r->job_id,
                                 holder);
    if (claim < 0) {
        free_params(params);
        return stop_redis(r);
    }
    if (claim == 2) {
        /* another run of this job got this far since ours started */
        free_params(params);
        return stop(r, FULFILL_NEEDS_REVIEW, FAIL_NONE, "ADDORDER_UNCERTAIN",
                    "Another run of this job already sent AddOrder; check "
                    "WHMCS client %s's orders before retrying", client);
    }
    if (claim == 0) {
        free_params(params);
        return stop(r, FULFILL_NEEDS_REVIEW, FAIL_NONE, "ADDORDER_ALREADY_SENT",
                    "Job %s already sent AddOrder for this Salesforce order",
                    holder);
    }
    /* journaled (by the claim): a crash from here on must not resend */
    json_object_set_new(r->job, "addorder_state", json_string("sending"));

    o = whmcs_call(r->env->whmcs, "AddOrder", (const char *const *) params,
                   &res);
    free_params(params);

    if (o.cls == FAIL_NONE) {
        json_t *services = json_object_get(res, "serviceids");
        char    service_ids[512], invoice[32];
        int     failed;

        snprintf(order_id, sizeof(order_id), "%lld",
                 whmcs_id(json_object_get(res, "orderid")));
        snprintf(invoice, sizeof(invoice), "%lld",
                 whmcs_id(json_object_get(res, "invoiceid")));
        if (json_is_string(services)) {
            snprintf(service_ids, sizeof(service_ids), "%s",
                     json_string_value(services));
        } else {
            snprintf(service_ids, sizeof(service_ids), "%lld",
                     whmcs_id(services));
        }
        json_decref(res);
        if (strcmp(order_id, "0") == 0) {
            return stop(r, FULFILL_NEEDS_REVIEW, FAIL_REMOTE_ERROR,
                        "ADDORDER_UNCERTAIN",
                        "AddOrder answered success without an order id; check "
                        "WHMCS client %s's orders", client);
        }
        failed = remember(r, "whmcs_order_id", order_id) != 0
                 || remember(r, "service_ids", service_ids) != 0
                 || remember(r, "invoice_id", invoice) != 0
                 || remember(r, "addorder_state", "done") != 0;
        /* if the answer is not journaled, the resumed job must not guess:
         * addorder_state stays "sending" */
        return failed ? stop_redis(r) : STEP_OK;
    }

    if (o.cls == FAIL_REMOTE_ERROR) {
        /* WHMCS refused the order: nothing was created */
        if (remember(r, "addorder_state", "rejected") != 0) {
            return stop_redis(r);
        }
        queue_release_addorder(r->env->queue, r->order_id, r->job_id);
        return stop(r, FULFILL_FAILED, o.cls, "WHMCS_ORDER_REJECTED", "%s",
                    o.message);
    }
    if (o.not_sent || o.cls == FAIL_RATE_LIMITED || o.status == 503
        || o.cls == FAIL_AUTH || o.cls == FAIL_NOT_FOUND)
    {
        /*
         * refused before any processing: safe to send again later, and
         * nothing exists that the order's claim must guard (kept, a job
         * that then went dead would block every later one for the order)
         */
        if (remember(r, "addorder_state", "") != 0
            || queue_release_addorder(r->env->queue, r->order_id,
                                      r->job_id) != 0)
        {
            return stop_redis(r);
        }
        return stop_call(r, &o, "WHMCS_ERROR");
    }
    return stop(r, FULFILL_NEEDS_REVIEW, o.cls, "ADDORDER_UNCERTAIN",
                "AddOrder may or may not have created an order (%s); check "
                "WHMCS client %s's orders before retrying", o.message, client);
}


/* An earlier run may have accepted the order before the journal caught up. */
static int
order_is_active(run *r, const char *order_id)
{
    const char   *params[] = { "id", order_id, NULL };
    call_outcome  o;
    json_t       *res, *orders;
    const char   *status;
    int           active;

    o = whmcs_call(r->env->whmcs, "GetOrders", params, &res);
    if (o.cls != FAIL_NONE) {
        return 0;
    }
    orders = json_object_get(json_object_get(res, "orders"), "order");
    status = json_string_value(json_object_get(json_array_get(orders, 0),
                                               "status"));
    active = status != NULL && strcmp(status, "Active") == 0;
    json_decref(res);
    return active;
}


static int
step_whmcs_accept(run *r)
{
    const char   *order_id = job_str(r, "whmcs_order_id");
    const char   *params[] = { "orderid", order_id, "autosetup", "true",
                               "sendemail", "true", NULL };
    call_outcome  o;
    json_t       *res;

    if (order_id == NULL) {
        return stop(r, FULFILL_NEEDS_REVIEW, FAIL_NONE, "ADDORDER_UNCERTAIN",
                    "No WHMCS order id journaled for AcceptOrder");
    }
    o = whmcs_call(r->env->whmcs, "AcceptOrder", params, &res);
    if (o.cls == FAIL_NONE) {
        json_decref(res);
        return STEP_OK;
    }
    if (o.cls == FAIL_REMOTE_ERROR && order_is_active(r, order_id)) {
        return STEP_OK;
    }
    return stop_call(r, &o, "WHMCS_ACCEPT_FAILED");
}


static int
step_sf_success_update(run *r)
{
    call_outcome  o;
    json_t       *fields;
    const char   *services = job_str(r, "service_ids");

    fields = json_pack("{s:s,s:s,s:s,s:n,s:n}",
                       "Provisioning_Status__c", "Provisioned",
                       "WHMCS_Order_ID__c", job_str(r, "whmcs_order_id"),
                       "WHMCS_Service_IDs__c", services ? services : "",
                       "Provisioning_Error_Code__c",
                       "Provisioning_Error_Message__c");
    if (fields == NULL) {
        return stop(r, FULFILL_NEEDS_REVIEW, FAIL_NONE, "ADDORDER_UNCERTAIN",
                    "No WHMCS order id journaled");
    }
    o = salesforce_update_order(r->env->sf, r->order_id, fields);
    json_decref(fields);
    return o.cls == FAIL_NONE ? STEP_OK
                              : stop_call(r, &o, "SALESFORCE_REJECTED");
}


/*
 * Before the first step of every run: the job becomes its order's active
 * job, unless another unfinished job is working on the order. Then this one
 * ends SKIPPED without a Salesforce write: it would otherwise rewrite
 * Activating, meet the other job's AddOrder claim and report Failed over
 * the other job's result.
 */
static int
begin_order(run *r)
{
    char holder[64] = "";

    switch (queue_order_begin(r->env->queue, r->order_id, r->job_id, holder)) {
    case 1:
        return STEP_OK;
    case 0:
        if (remember(r, "active_job", holder) != 0) {
            return stop_redis(r);
        }
        snprintf(r->out->skip_reason, sizeof(r->out->skip_reason), "%s",
                 "another_job_active");
        return stop(r, FULFILL_SKIPPED, FAIL_NONE, "",
                    "Job %s is still working on this order", holder);
    default:
        return stop_redis(r);
    }
}


static const step_fn steps[FULFILL_STEPS] = {
    step_validation, step_sf_status_update, step_order_details, step_mapping,
    step_payment_method, step_whmcs_create, step_whmcs_accept,
    step_sf_success_update
};


static const char *
stop_outcome(fulfill_status status)
{
    return status == FULFILL_SKIPPED ? "skipped"
           : status == FULFILL_RETRY ? "retry"
           : status == FULFILL_NEEDS_REVIEW ? "needs_review"
           : "failed";
}


/*
 * A job put back by POST /jobs/{id}/retry resumes after its last finished
 * step, past validation; but while it was dead a newer job, or a person,
 * may have provisioned the order. The guard runs again first, so such a
 * job ends SKIPPED (already_provisioned) instead of meeting the other
 * job's AddOrder claim (or sending a second AddOrder) and writing Failed
 * over Provisioned.
 */
static int
recheck_order(run *r)
{
    long long  t0 = clock_now_ms();
    long       ms;
    int        rc;

    snprintf(r->out->step, sizeof(r->out->step), "%s", step_names[0]);
    rc = step_validation(r);
    ms = (long) (clock_now_ms() - t0);
    metrics_step(r->env->metrics, step_names[0], ms / 1000.0);
    log_step(&r->log, step_names[0],
             rc == STEP_OK ? "ok" : stop_outcome(r->out->status), ms,
             rc == STEP_OK ? "checked again before resuming a retried job"
                           : r->out->message);
    return rc;
}


/* A failure or a review goes to the Order (not to one Salesforce lacks). */
static void
end_run(run *r)
{
    if ((r->out->status == FULFILL_FAILED
         || r->out->status == FULFILL_NEEDS_REVIEW)
        && strcmp(r->out->code, "ORDER_NOT_FOUND") != 0)
    {
        fulfill_report_failure(r->env, r->order_id, r->out->code,
                               r->out->message);
    }
    outbound_set_job(r->env->http, NULL);
}



void
fulfill_run(fulfill_env *env, const char *job_id, json_t *job,
    fulfill_result *out)
{
    run         r;
    const char *last = json_string_value(json_object_get(job, "last_step"));
    int         i, first = last ? atoi(last) + 1 : 0;
    long long   t0;
    long        ms;

    memset(out, 0, sizeof(*out));
    out->retry_after_s = -1;
    r.env = env;
    r.job_id = job_id;
    r.order_id = json_string_value(json_object_get(job, "order_id"));
    r.job = job;
    r.out = out;
    r.retried = job_str(&r, "retried") != NULL;
    r.log.job_id = job_id;
    r.log.order_id = r.order_id;
    r.log.correlation_id = json_string_value(json_object_get(job,
                                                             "correlation_id"));
    r.log.hft71_order_id = NULL;
    if (r.order_id == NULL) {
        stop(&r, FULFILL_FAILED, FAIL_VALIDATION, "VALIDATION_FAILED",
             "job has no order id");
        return;
    }
    outbound_set_job(env->http, &r.log);
    if (first < 0) {
        first = 0;
    }
    if (first < FULFILL_STEPS) {
        snprintf(out->step, sizeof(out->step), "%s", step_names[first]);
        if (begin_order(&r) != STEP_OK) {
            log_step(&r.log, step_names[first],
                     out->status == FULFILL_SKIPPED ? "skipped" : "retry", -1,
                     out->message);
            outbound_set_job(env->http, NULL);
            return;
        }
    }
    if (first > 0 && first < FULFILL_STEPS) {
        if (r.retried && recheck_order(&r) != STEP_OK) {
            end_run(&r);
            return;
        }
        log_step(&r.log, step_names[first], "resume", -1,
                 "resuming after the last journaled step");
    }
    for (i = first; i < FULFILL_STEPS; i++) {
        int lease = queue_lease_renew(env->queue, job_id, env->lease_token,
                                      env->lease_ms);

        if (lease <= 0) {
            if (lease == 0) {
                out->status = FULFILL_ABANDONED;
                snprintf(out->message, sizeof(out->message),
                         "lease lost before %s", step_names[i]);
            } else {
                stop_redis(&r);
            }
            log_step(&r.log, step_names[i], lease == 0 ? "abandoned" : "retry",
                     -1, out->message);
            break;
        }
        t0 = clock_now_ms();
        snprintf(out->step, sizeof(out->step), "%s", step_names[i]);
        if (steps[i](&r) != STEP_OK) {
            ms = (long) (clock_now_ms() - t0);
            metrics_step(env->metrics, step_names[i], ms / 1000.0);
            log_step(&r.log, step_names[i], stop_outcome(out->status), ms,
                     out->message);
            break;
        }
        ms = (long) (clock_now_ms() - t0);
        metrics_step(env->metrics, step_names[i], ms / 1000.0);
        log_step(&r.log, step_names[i], "ok", ms, NULL);
        if (queue_job_step_done(env->queue, job_id, i, step_names[i], "ok", ms)
            != 0)
        {
            stop_redis(&r);
            break;
        }
    }
    if (i == FULFILL_STEPS) {
        out->status = FULFILL_SUCCEEDED;
    }
    end_run(&r);
}


void
fulfill_report_failure(fulfill_env *env, const char *order_id,
    const char *code, const char *message)
{
    call_outcome  o;
    char          msg[256];
    json_t       *fields;

    /* Provisioning_Error_Message__c is a 255-character text field */
    snprintf(msg, sizeof(msg), "%s", message);
    fields = json_pack("{s:s,s:s,s:s}", "Provisioning_Status__c", "Failed",
                       "Provisioning_Error_Code__c", code,
                       "Provisioning_Error_Message__c", msg);
    if (fields == NULL) {
        return;
    }
    o = salesforce_update_order(env->sf, order_id, fields);
    json_decref(fields);
    if (o.cls != FAIL_NONE) {
        log_json("error", "failure_report_failed",
                 json_pack("{s:s,s:s,s:s}", "order_id", order_id, "code", code,
                           "message", o.message));
    }
}

/*
 * The Salesforce -> WHMCS fulfillment job: validation, sf_status_update,
 * order_details, mapping, payment_method, whmcs_create, whmcs_accept,
 * sf_success_update. Each finished step is journaled; a run resumes after
 * the last finished one.
 */
#ifndef WORKER_FULFILL_H
#define WORKER_FULFILL_H

#include <jansson.h>

#include "../clients/salesforce.h"
#include "../clients/whmcs.h"
#include "../config.h"
#include "../metrics.h"
#include "../queue.h"
#include "../retry.h"

typedef struct {
    const worker_config *cfg;
    queue               *queue;
    salesforce          *sf;
    whmcs               *whmcs;
    outbound            *http;
    metrics             *metrics;
    const char          *lease_token;   /* renewed before every step */
    long                 lease_ms;
} fulfill_env;

typedef enum {
    FULFILL_SUCCEEDED = 0,
    FULFILL_FAILED,
    FULFILL_SKIPPED,
    FULFILL_RETRY,
    FULFILL_NEEDS_REVIEW,
    FULFILL_ABANDONED       /* the lease was lost: another run owns the job */
} fulfill_status;

typedef struct {
    fulfill_status  status;
    failure_class   cls;
    long            retry_after_s;
    char            step[32];
    char            code[64];
    char            message[512];
    char            skip_reason[64];
} fulfill_result;

#define FULFILL_STEPS 8

/* NULL when index is not a step. */
const char *fulfill_step_name(int index);

/* Runs job (its Redis hash as JSON strings) from after its last step; a
 * job put back by POST /jobs/{id}/retry passes the validation guard again
 * first. */
void fulfill_run(fulfill_env *env, const char *job_id, json_t *job,
    fulfill_result *out);

/* Provisioning_Status__c = Failed with the code and message (best effort). */
void fulfill_report_failure(fulfill_env *env, const char *order_id,
    const char *code, const char *message);

/* "Monthly" -> "monthly", "Semi-Annually" -> "semiannually"; NULL if none. */
const char *fulfill_billing_cycle(const char *salesforce_value);

#endif

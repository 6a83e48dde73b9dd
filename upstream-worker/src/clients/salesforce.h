/* Salesforce REST: JWT bearer auth (token cached, re-minted once on 401),
 * SOQL queries and Order updates. */
#ifndef WORKER_SALESFORCE_H
#define WORKER_SALESFORCE_H

#include <jansson.h>

#include "../config.h"
#include "../outbound.h"

typedef struct salesforce salesforce;

salesforce *salesforce_new(const worker_config *cfg, outbound *http,
    char *err, size_t err_len);
void salesforce_free(salesforce *sf);

/* *records gets the query's records array (new reference). */
call_outcome salesforce_query(salesforce *sf, const char *soql,
    json_t **records);
/* PATCH sobjects/Order/{id} with fields (a JSON object). */
call_outcome salesforce_update_order(salesforce *sf, const char *order_id,
    json_t *fields);

/* One Bayeux round trip: POST {instance}/cometd/{version} with a JSON array
 * of messages; *reply gets the answer's array. action names it in logs. */
call_outcome salesforce_cometd(salesforce *sf, const char *action,
    json_t *messages, json_t **reply);
/* Drop the cached token (CometD's "401::Authentication invalid"). */
void salesforce_forget_token(salesforce *sf);

#endif

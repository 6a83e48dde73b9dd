/*
 * Salesforce Platform Events over the CometD Streaming API: handshake with
 * replay, subscribe from the stored replayId, long-poll /meta/connect, and
 * queue a job per OrderProvisionRequested__e (deduplicated by IdemKey__c or
 * EventUuid). Runs in its own thread when SF_EVENTS_ENABLED is true.
 */
#ifndef WORKER_EVENTS_H
#define WORKER_EVENTS_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "intake.h"
#include "metrics.h"

#define EVENTS_STATE_KEY   "wh:events:state"
#define EVENTS_REPLAY_KEY  "wh:events:replay"

typedef struct events events;

events *events_new(const worker_config *cfg, metrics *m, char *err,
    size_t err_len);
int events_start(events *ev);
void events_stop(events *ev);
void events_free(events *ev);

/*
 * A delivered event message ({"channel","data":{"payload","event"}}) as an
 * intake request; the key is IdemKey__c, else "sfevt:" EventUuid, else
 * "sfevt:" channel ":" replayId. 0, or 400 with err.
 */
int events_message_request(json_t *message, intake_request *out,
    long long *replay_id, char *err, size_t err_len);

#endif

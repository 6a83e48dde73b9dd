#include "events.h"
#include "clients/salesforce.h"
#include "clock.h"
#include "log.h"
#include "outbound.h"
#include "queue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Salesforce holds a /meta/connect up to 110 s */
#define EVENTS_POLL_TIMEOUT_MS  130000

struct events {
    const worker_config *cfg;
    metrics             *metrics;
    queue               *queue;
    outbound            *http;
    salesforce          *sf;
    char                 client_id[256];
    long long            message_id;
    pthread_t            thread;
    int                  started;
    int                  stopping;      /* __atomic */
};


events *
events_new(const worker_config *cfg, metrics *m, char *err, size_t err_len)
{
    events *ev = calloc(1, sizeof(*ev));

    if (ev == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    ev->cfg = cfg;
    ev->metrics = m;
    ev->queue = queue_new(&cfg->redis, 5000);
    ev->http = outbound_new(m, EVENTS_POLL_TIMEOUT_MS);
    if (ev->queue == NULL || ev->http == NULL) {
        snprintf(err, err_len, "out of memory");
        events_free(ev);
        return NULL;
    }
    outbound_keep_cookies(ev->http);
    outbound_abort_on(ev->http, &ev->stopping);
    ev->sf = salesforce_new(cfg, ev->http, err, err_len);
    if (ev->sf == NULL) {
        events_free(ev);
        return NULL;
    }
    return ev;
}


int
events_message_request(json_t *message, intake_request *out,
    long long *replay_id, char *err, size_t err_len)
{
    json_t      *data = json_object_get(message, "data");
    json_t      *payload = json_object_get(data, "payload");
    json_t      *event = json_object_get(data, "event");
    const char  *channel = json_string_value(json_object_get(message,
                                                             "channel"));
    const char  *uuid = json_string_value(json_object_get(event,
                                                          "EventUuid"));
    const char  *key = json_string_value(json_object_get(payload,
                                                         "IdemKey__c"));
    char         fallback[INTAKE_KEY_MAX + 1];
    char        *text;
    int          rc;

    *replay_id = json_integer_value(json_object_get(event, "replayId"));
    if (!json_is_object(payload)) {
        snprintf(err, err_len, "event without a payload");
        return 400;
    }
    if (key == NULL || key[0] == '\0') {
        if (uuid != NULL && uuid[0] != '\0') {
            snprintf(fallback, sizeof(fallback), "sfevt:%s", uuid);
        } else {
            snprintf(fallback, sizeof(fallback), "sfevt:%s:%lld",
                     channel ? channel : "?", *replay_id);
        }
    }
    text = json_dumps(message, JSON_COMPACT);
    if (text == NULL) {
        snprintf(err, err_len, "out of memory");
        return 400;
    }
    rc = intake_parse_event(text, strlen(text),
                            key && key[0] ? NULL : fallback, NULL, out, err,
                            err_len);
    free(text);
    return rc;
}


static int
stopping(events *ev)
{
    return __atomic_load_n(&ev->stopping, __ATOMIC_SEQ_CST);
}


/* Sleeps ms unless asked to stop. */
static void
pause_ms(events *ev, long ms)
{
    while (ms > 0 && !stopping(ev)) {
        usleep(ms > 100 ? 100 * 1000 : (useconds_t) ms * 1000);
        ms -= 100;
    }
}


static void
set_state(events *ev, const char *state, const char *error)
{
    queue_hash_set(ev->queue, EVENTS_STATE_KEY, "state", state, "channel",
                   ev->cfg->events_channel, "last_error", error ? error : "",
                   NULL);
}


static json_t *
message(events *ev, const char *channel)
{
    char id[24];

    snprintf(id, sizeof(id), "%lld", ++ev->message_id);
    return json_pack("{s:s,s:s}", "channel", channel, "id", id);
}


/* The first reply message for channel, or NULL. */
static json_t *
reply_for(json_t *reply, const char *channel)
{
    size_t  i;
    json_t *m;

    json_array_foreach(reply, i, m) {
        const char *c = json_string_value(json_object_get(m, "channel"));

        if (c != NULL && strcmp(c, channel) == 0) {
            return m;
        }
    }
    return NULL;
}


static int
successful(json_t *m, char *why, size_t why_len)
{
    const char *e;

    if (m != NULL && json_is_true(json_object_get(m, "successful"))) {
        return 1;
    }
    e = json_string_value(json_object_get(m, "error"));
    snprintf(why, why_len, "%s", e ? e : "no answer");
    return 0;
}


/* Handshake and subscribe from the stored replayId; 0 when subscribed. */
static int
handshake(events *ev)
{
    json_t        *msgs, *m, *reply;
    call_outcome   o;
    char           why[256], stored[32] = "";
    long long      from;
    int            failed;
    json_t        *cursor;

    set_state(ev, "handshaking", NULL);
    m = message(ev, "/meta/handshake");
    json_object_set_new(m, "version", json_string("1.0"));
    json_object_set_new(m, "minimumVersion", json_string("1.0"));
    json_object_set_new(m, "supportedConnectionTypes",
                        json_pack("[s]", "long-polling"));
    json_object_set_new(m, "ext", json_pack("{s:b}", "replay", 1));
    msgs = json_pack("[o]", m);
    o = salesforce_cometd(ev->sf, "cometd_handshake", msgs, &reply);
    json_decref(msgs);
    if (o.cls != FAIL_NONE) {
        set_state(ev, "error", o.message);
        return -1;
    }
    m = reply_for(reply, "/meta/handshake");
    if (!successful(m, why, sizeof(why))
        || !json_is_string(json_object_get(m, "clientId")))
    {
        set_state(ev, "error", why);
        json_decref(reply);
        return -1;
    }
    snprintf(ev->client_id, sizeof(ev->client_id), "%s",
             json_string_value(json_object_get(m, "clientId")));
    json_decref(reply);

    cursor = queue_hash_get(ev->queue, EVENTS_REPLAY_KEY, &failed);
    if (failed) {
        set_state(ev, "error", queue_error(ev->queue));
        return -1;
    }
    if (json_is_string(json_object_get(cursor, ev->cfg->events_channel))) {
        snprintf(stored, sizeof(stored), "%s", json_string_value(
                     json_object_get(cursor, ev->cfg->events_channel)));
    }
    json_decref(cursor);
    from = stored[0] ? strtoll(stored, NULL, 10)
                     : ev->cfg->events_replay_all ? -2 : -1;

    m = message(ev, "/meta/subscribe");
    json_object_set_new(m, "clientId", json_string(ev->client_id));
    json_object_set_new(m, "subscription",
                        json_string(ev->cfg->events_channel));
    json_object_set_new(m, "ext",
        json_pack("{s:{s:I}}", "replay", ev->cfg->events_channel,
                  (json_int_t) from));
    msgs = json_pack("[o]", m);
    o = salesforce_cometd(ev->sf, "cometd_subscribe", msgs, &reply);
    json_decref(msgs);
    if (o.cls != FAIL_NONE) {
        set_state(ev, "error", o.message);
        return -1;
    }
    m = reply_for(reply, "/meta/subscribe");
    if (!successful(m, why, sizeof(why))) {
        set_state(ev, "error", why);
        json_decref(reply);
        return -1;
    }
    json_decref(reply);
    set_state(ev, "connected", NULL);
    log_json("info", "events_subscribed",
             json_pack("{s:s,s:I}", "channel", ev->cfg->events_channel,
                       "replay_from", (json_int_t) from));
    return 0;
}


/* 0 queued (or a duplicate, or unusable: skipped), -1 job store down. */
static int
take_event(events *ev, json_t *m)
{
    intake_request  req;
    char            err[256], job_id[64], replay[24];
    long long       replay_id;
    int             created;

    if (events_message_request(m, &req, &replay_id, err, sizeof(err)) != 0) {
        log_json("warn", "event_rejected",
                 json_pack("{s:s,s:I,s:s}", "channel", ev->cfg->events_channel,
                           "replay_id", (json_int_t) replay_id, "message",
                           err));
    } else if (queue_enqueue(ev->queue, &req, clock_now_ms(), job_id,
                             &created) != 0)
    {
        log_json("error", "event_unqueued",
                 json_pack("{s:s,s:I,s:s}", "order_id", req.order_id,
                           "replay_id", (json_int_t) replay_id, "message",
                           queue_error(ev->queue)));
        return -1;
    } else {
        metrics_intake(ev->metrics, "platform_event", created ? 202 : 200);
        log_json("info", created ? "job_accepted" : "job_duplicate",
                 json_pack("{s:s,s:s,s:s,s:s,s:I}", "job_id", job_id,
                           "order_id", req.order_id, "source",
                           "platform_event", "step", "intake", "replay_id",
                           (json_int_t) replay_id));
    }
    /* the cursor moves only past events that are stored or unusable */
    snprintf(replay, sizeof(replay), "%lld", replay_id);
    if (queue_hash_set(ev->queue, EVENTS_REPLAY_KEY, ev->cfg->events_channel,
                       replay, NULL) != 0)
    {
        return -1;
    }
    queue_hash_set(ev->queue, EVENTS_STATE_KEY, "replay_id", replay,
                   NULL);
    return 0;
}


/* One /meta/connect. 0 ok, 1 handshake again, -1 transport trouble. */
static int
poll_once(events *ev)
{
    json_t        *msgs, *m, *reply;
    call_outcome   o;
    size_t         i;
    int            rc = 0;
    char           why[256];

    m = message(ev, "/meta/connect");
    json_object_set_new(m, "clientId", json_string(ev->client_id));
    json_object_set_new(m, "connectionType", json_string("long-polling"));
    msgs = json_pack("[o]", m);
    o = salesforce_cometd(ev->sf, "cometd_connect", msgs, &reply);
    json_decref(msgs);
    if (o.cls != FAIL_NONE) {
        if (!stopping(ev)) {
            set_state(ev, "error", o.message);
        }
        return -1;
    }
    json_array_foreach(reply, i, m) {
        const char *c = json_string_value(json_object_get(m, "channel"));

        if (c == NULL) {
            continue;
        }
        if (strcmp(c, "/meta/connect") == 0) {
            if (!successful(m, why, sizeof(why))) {
                log_json("warn", "events_reconnect",
                         json_pack("{s:s}", "message", why));
                if (strncmp(why, "401::", 5) == 0) {
                    salesforce_forget_token(ev->sf);
                }
                rc = 1;
            }
        } else if (strcmp(c, ev->cfg->events_channel) == 0 && rc == 0) {
            if (take_event(ev, m) != 0) {
                /* resubscribe from the stored cursor once Redis is back */
                rc = -1;
                break;
            }
        }
    }
    json_decref(reply);
    return rc;
}


static void *
loop(void *arg)
{
    events *ev = arg;
    int     subscribed = 0, rc;
    long    backoff = 500;

    while (!stopping(ev)) {
        if (!subscribed) {
            if (handshake(ev) != 0) {
                pause_ms(ev, backoff);
                backoff = backoff < 30000 ? backoff * 2 : 30000;
                continue;
            }
            subscribed = 1;
            backoff = 500;
        }
        rc = poll_once(ev);
        if (rc != 0) {
            subscribed = 0;
            if (rc < 0) {
                pause_ms(ev, backoff);
                backoff = backoff < 30000 ? backoff * 2 : 30000;
            }
        }
    }
    return NULL;
}


int
events_start(events *ev)
{
    if (pthread_create(&ev->thread, NULL, loop, ev) != 0) {
        return -1;
    }
    ev->started = 1;
    return 0;
}


void
events_stop(events *ev)
{
    __atomic_store_n(&ev->stopping, 1, __ATOMIC_SEQ_CST);
    if (ev->started) {
        pthread_join(ev->thread, NULL);
        ev->started = 0;
    }
}


void
events_free(events *ev)
{
    if (ev == NULL) {
        return;
    }
    salesforce_free(ev->sf);
    outbound_free(ev->http);
    queue_free(ev->queue);
    free(ev);
}

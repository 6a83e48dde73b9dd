#include "registry_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void
registry_stats_add(registry_stats *s, const char *field, long long n)
{
    size_t i;

    if (n <= 0 || n > 1000000000LL || field[0] == '\0') {
        return;
    }
    if (strcmp(field, "passed") == 0) {
        s->passed += n;
        return;
    }
    s->failures += n;
    for (i = 0; i < s->n_reasons; i++) {
        if (strcmp(s->reasons[i].name, field) == 0) {
            s->reasons[i].n += n;
            return;
        }
    }
    if (s->n_reasons < REGISTRY_REASONS_MAX
        && strlen(field) < REGISTRY_REASON_LEN)
    {
        snprintf(s->reasons[s->n_reasons].name, REGISTRY_REASON_LEN, "%s",
                 field);
        s->reasons[s->n_reasons++].n = n;
    }
}


registry_health_status
registry_health_of(const registry_stats *s)
{
    long long total = s->passed + s->failures;

    if (s->failures >= REGISTRY_FAILED_MIN
        && s->failures * 100 >= total * REGISTRY_FAILED_PCT)
    {
        return HEALTH_FAILED;
    }
    if (s->failures >= 1
        && s->failures * 100 >= total * REGISTRY_DEGRADED_PCT)
    {
        return HEALTH_DEGRADED;
    }
    return HEALTH_HEALTHY;
}


const char *
registry_health_name(registry_health_status h)
{
    switch (h) {
    case HEALTH_FAILED:
        return "failed";
    case HEALTH_DEGRADED:
        return "degraded";
    default:
        return "healthy";
    }
}


/* What to do about one rejection reason. */
static const char *
advice(const char *reason)
{
    static const struct {
        const char *reason;
        const char *text;
    } table[] = {
        { "invalid_signature",
          "the provider signs with a different secret; re-copy webhookSecret "
          "into the provider's webhook settings, or finish the rotation "
          "(after POST /webhooks/{id}/rotate the old secret stops working "
          "when the grace period ends)" },
        { "missing_signature",
          "deliveries arrive without the provider's signature header; check "
          "that the provider has the secret configured and that no proxy "
          "strips the header" },
        { "malformed_signature",
          "the signature header is not in the provider's format; check that "
          "the registration's provider matches the sender" },
        { "stale_timestamp",
          "the delivery's timestamp is outside the edge's tolerance; check "
          "the sender's and the edge's clocks (NTP), or very late retries" },
        { "missing_timestamp",
          "deliveries carry no timestamp header; check that the "
          "registration's provider matches the sender" },
        { "malformed_timestamp",
          "the timestamp header is not a time; check that the "
          "registration's provider matches the sender" },
        { "replay",
          "the same delivery id arrived more than once; the provider is "
          "retrying (answer 2xx sooner, check the worker's latency) or "
          "captured deliveries are being replayed" },
        { "event_not_registered",
          "the provider sends event types this registration does not list; "
          "register the events you want, or unsubscribe from the others at "
          "the provider" },
        { "body_too_large",
          "deliveries are larger than the edge's client_max_body_size" },
        { "ip_denied",
          "deliveries come from addresses outside the edge's webhook_allow" },
        { "replay_store_unavailable",
          "the edge's replay store (Redis) was unavailable; check Redis" },
        { NULL, NULL }
    };
    size_t i;

    for (i = 0; table[i].reason != NULL; i++) {
        if (strcmp(table[i].reason, reason) == 0) {
            return table[i].text;
        }
    }
    return "see the edge's error log for this reason";
}


static int
by_count_desc(const void *a, const void *b)
{
    const registry_reason_count *x = a, *y = b;

    if (x->n != y->n) {
        return x->n < y->n ? 1 : -1;
    }
    return strcmp(x->name, y->name);
}


static void
span_text(long long seconds, char *out, size_t len)
{
    if (seconds >= 2 * 3600) {
        snprintf(out, len, "%lld hours", seconds / 3600);
    } else if (seconds >= 120) {
        snprintf(out, len, "%lld min", seconds / 60);
    } else {
        snprintf(out, len, "%lld s", seconds);
    }
}


json_t *
registry_health_recommendations(const registry_stats *s, long long now,
    long window_s)
{
    registry_reason_count  sorted[REGISTRY_REASONS_MAX];
    json_t                *out = json_array();
    char                   text[320], window[32], quiet[32];
    size_t                 i;

    if (out == NULL) {
        return NULL;
    }
    span_text(window_s, window, sizeof(window));
    memcpy(sorted, s->reasons, s->n_reasons * sizeof(sorted[0]));
    qsort(sorted, s->n_reasons, sizeof(sorted[0]), by_count_desc);
    for (i = 0; i < s->n_reasons; i++) {
        json_array_append_new(out, json_sprintf("%s (%lld in the last %s): "
                                                "%s", sorted[i].name,
                                                sorted[i].n, window,
                                                advice(sorted[i].name)));
    }
    if (s->last_event_at > 0 && now - s->last_event_at >= REGISTRY_SILENCE_S) {
        span_text(now - s->last_event_at, quiet, sizeof(quiet));
        snprintf(text, sizeof(text), "no events for %s: check the provider's "
                 "webhook config (the URL is webhookUrl, the events are "
                 "subscribed, the webhook is enabled)", quiet);
        json_array_append_new(out, json_string(text));
    } else if (s->last_event_at == 0 && s->created_at > 0
               && now - s->created_at >= REGISTRY_SILENCE_S)
    {
        span_text(now - s->created_at, quiet, sizeof(quiet));
        snprintf(text, sizeof(text), "no events since the registration %s "
                 "ago: check the provider's webhook config (the URL is "
                 "webhookUrl, the events are subscribed, the webhook is "
                 "enabled)", quiet);
        json_array_append_new(out, json_string(text));
    }
    return out;
}

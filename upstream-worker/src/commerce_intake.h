/*
 * The commerce flow's inbound bodies (pure functions, no I/O): HFT71's
 * status webhook, Stripe events and WooCommerce order webhooks, each made
 * into the small normalized record a job stores (never the raw body: an
 * HFT71 body may carry webhook_secret).
 */
#ifndef WORKER_COMMERCE_INTAKE_H
#define WORKER_COMMERCE_INTAKE_H

#include <stddef.h>

#include <jansson.h>

/* RFC 3339 / ISO 8601 UTC or with an offset, optional fraction -> unix ms.
 * 0 on success. */
int iso8601_ms(const char *s, long long *ms);

/* 1 for a WooCommerce order id as HFT71's reference: 1-18 digits */
int wc_id_valid(const char *s);

/*
 * {"order_id","reference","status","tracking_number","updated_at"}:
 * *out = {"order_id","reference","status","tracking_number","updated_at",
 * "updated_ms"}. 0, or 400 with err.
 */
int hft71_parse_status(const char *body, size_t len, json_t **out, char *err,
    size_t err_len);

/* What a Stripe event does to its order. */
typedef enum {
    STRIPE_NOTHING = 0,     /* stored, nothing changed */
    STRIPE_PAID,            /* -> processing */
    STRIPE_FAILED,          /* -> failed */
    STRIPE_CANCELLED,       /* -> cancelled */
    STRIPE_REFUNDED,        /* full refund -> refunded */
    STRIPE_NOTE             /* partial refund, refund object: order note */
} stripe_effect;

const char *stripe_effect_name(stripe_effect e);
stripe_effect stripe_effect_parse(const char *name);

/*
 * A Stripe event: *out = {"id","type","created","order_id" (string, "" when
 * none),"effect","object_id","amount","amount_refunded","currency"}.
 * 0, or 400 with err (not an event: no evt_ id, type or created).
 */
int stripe_parse_event(const char *body, size_t len, json_t **out, char *err,
    size_t err_len);

/*
 * A WooCommerce order webhook (the body is the order): its id. topic is
 * X-WC-Webhook-Topic (may be NULL). 0 with *wc_id; 1 for a topic that is
 * not order.created/order.updated (answered, nothing queued); 400 with err.
 */
int wc_parse_webhook(const char *body, size_t len, const char *topic,
    long long *wc_id, char *err, size_t err_len);

#endif

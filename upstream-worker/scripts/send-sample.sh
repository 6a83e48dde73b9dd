#!/usr/bin/env bash
# Sends a Salesforce-scheme signed fulfillment request through the edge and
# polls the worker for the order's state.
#
#   send-sample.sh [ORDER_ID] [IDEMPOTENCY_KEY]
#   send-sample.sh --event [ORDER_ID]   publish an OrderProvisionRequested__e
#                                       on the fake Salesforce instead (the
#                                       worker needs SF_EVENTS_ENABLED=true)
#   send-sample.sh --stripe [--no-webhook] [WOO_ORDER_ID]
#                                       a pending order in the fake
#                                       WooCommerce, a signed Stripe
#                                       payment_intent.succeeded for it
#                                       through the edge, the worker sends it
#                                       to HFT71, the fake HFT71 ships it and
#                                       its webhook (or, with --no-webhook,
#                                       polling) completes it
#
# Environment: EDGE (default http://127.0.0.1:8080), WORKER (default
# http://127.0.0.1:8088), SF_WEBHOOK_SECRET (default conf.example's demo
# secret), POLLS (default 20, one a second), SF_FAKE (default
# http://127.0.0.1:8091, for --event); for --stripe STRIPE_WEBHOOK_SECRET
# (default conf.example's), WOO_FAKE (http://127.0.0.1:8093), HFT71_FAKE
# (http://127.0.0.1:8094), POLLS (default 40).
set -euo pipefail

edge=${EDGE:-http://127.0.0.1:8080}
worker=${WORKER:-http://127.0.0.1:8088}

if [ "${1:-}" = "--stripe" ]; then
    shift
    webhook=on
    if [ "${1:-}" = "--no-webhook" ]; then
        webhook=off
        shift
    fi
    wc=${1:-$(( 1000 + RANDOM % 90000 ))}
    woo=${WOO_FAKE:-http://127.0.0.1:8093}
    hft=${HFT71_FAKE:-http://127.0.0.1:8094}
    here=$(cd "$(dirname "$0")/.." && pwd)
    secret=${STRIPE_WEBHOOK_SECRET:-$(awk '/location = \/events\/stripe/{f=1}
        f && $1 == "webhook_secret" { sub(/;$/, "", $2); print $2; exit}' \
        "$here/../conf.example")}
    polls=${POLLS:-40}
    # "status hft71_id last_status tracking" of the fake WooCommerce order
    wstatus() { curl -sS "$woo/__orders/$wc" | /usr/bin/python3 -c '
import json, sys
o = json.load(sys.stdin)
m = o["meta"]
print(o["status"], *(m.get(k) or "-" for k in
      ("_hft71_order_id", "_hft71_last_status", "_hft71_tracking")))'; }
    wait_for() {          # sent | completed
        local st hid last track
        for _ in $(seq "$polls"); do
            read -r st hid last track <<<"$(wstatus)"
            if { [ "$1" = sent ] && [ "$hid" != - ]; } \
               || { [ "$1" = completed ] && [ "$st" = completed ]; }; then
                echo "  WooCommerce order $wc: status $st, _hft71_order_id $hid," \
                     "_hft71_last_status $last, _hft71_tracking $track"
                return 0
            fi
            sleep 1
        done
        echo "  gave up waiting for $1 (status $st)"
        exit 1
    }

    curl -sS -X POST "$woo/__seed" -H 'Content-Type: application/json' \
        --data-binary "{\"orders\":[{\"id\":$wc,\"status\":\"pending\",\"line_items\":[{\"sku\":\"DEMO-SKU\",\"quantity\":2}]}]}"
    echo "WooCommerce order $wc: $(wstatus | cut -d' ' -f1)"
    curl -sS -X POST "$hft/__webhook" -H 'Content-Type: application/json' \
        --data-binary "{\"enabled\":$([ $webhook = on ] && echo true || echo false)}"
    echo "HFT71's status webhook: $webhook"

    ts=$(date +%s)
    evt=evt_sample_$(openssl rand -hex 8)
    body="{\"id\":\"$evt\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"created\":$ts,\"livemode\":false,\"data\":{\"object\":{\"id\":\"pi_sample_$wc\",\"object\":\"payment_intent\",\"amount\":2000,\"currency\":\"eur\",\"status\":\"succeeded\",\"metadata\":{\"order_id\":\"$wc\"}}}}"
    sig=$(printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
    echo "POST $edge/events/stripe  ($evt, payment_intent.succeeded)"
    curl -sS -X POST "$edge/events/stripe" -H 'Content-Type: application/json' \
        -H "Stripe-Signature: t=$ts,v1=$sig" --data-binary "$body"
    echo
    wait_for sent
    hid=$(wstatus | cut -d' ' -f2)
    echo "POST $hft/__status  (HFT71 ships $hid)"
    curl -sS -X POST "$hft/__status" -H 'Content-Type: application/json' \
        --data-binary "{\"order_id\":\"$hid\",\"status\":\"shipped\",\"tracking_number\":\"TRACK-$wc\"}"
    echo
    wait_for completed
    echo "GET $worker/commerce/orders/$wc"
    curl -sS "$worker/commerce/orders/$wc"
    echo
    [ $webhook = on ] || curl -sS -X POST "$hft/__webhook" \
        -H 'Content-Type: application/json' --data-binary '{"enabled":true}'
    exit 0
fi

mode=signed
if [ "${1:-}" = "--event" ]; then
    mode=event
    shift
fi

# a new Order each time (the fake Salesforce in run-stack.sh knows them all)
order=${1:-801$(openssl rand -hex 6 | tr 'a-f' 'A-F')AAA}
key=${2:-sample-$(date +%s)-$RANDOM}
secret=${SF_WEBHOOK_SECRET:-demo-salesforce-signing-secret}
polls=${POLLS:-20}

if [ "$mode" = event ]; then
    fake=${SF_FAKE:-http://127.0.0.1:8091}
    echo "POST $fake/__publish  (OrderId__c $order, IdemKey__c $key)"
    curl -sS -X POST "$fake/__publish" -H 'Content-Type: application/json' \
        --data-binary "{\"channel\":\"/event/OrderProvisionRequested__e\",\"payload\":{\"OrderId__c\":\"$order\",\"IdemKey__c\":\"$key\"}}"
    echo
else
ts=$(date +%s)
nonce=$(openssl rand -hex 16)
body="{\"orderId\":\"$order\",\"timestamp\":$ts,\"nonce\":\"$nonce\"}"
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)

echo "POST $edge/orders/$order/fulfill  (Idempotency-Key: $key)"
curl -sS -i -X POST "$edge/orders/$order/fulfill" \
    -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $key" \
    -H "X-SF-Signature: sha256=$sig" \
    -H "X-SF-Timestamp: $ts" \
    -H "X-SF-Nonce: $nonce" \
    --data-binary "$body"
echo
fi

for _ in $(seq "$polls"); do
    state=$(curl -sS "$worker/orders/$order" || true)
    echo "GET $worker/orders/$order -> $state"
    case $state in
        *'"job_status":"SUCCEEDED"'*|*'"job_status":"FAILED"'*|*'"job_status":"SKIPPED"'*|*'"job_status":"NEEDS_REVIEW"'*|*'"job_status":"DEAD"'*)
            exit 0 ;;
    esac
    sleep 1
done

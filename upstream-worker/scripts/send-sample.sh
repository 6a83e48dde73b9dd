#!/usr/bin/env bash
# Sends a Salesforce-scheme signed fulfillment request through the edge and
# polls the worker for the order's state.
#
#   send-sample.sh [ORDER_ID] [IDEMPOTENCY_KEY]
#   send-sample.sh --event [ORDER_ID]   publish an OrderProvisionRequested__e
#                                       on the fake Salesforce instead (the
#                                       worker needs SF_EVENTS_ENABLED=true)
#
# Environment: EDGE (default http://127.0.0.1:8080), WORKER (default
# http://127.0.0.1:8088), SF_WEBHOOK_SECRET (default conf.example's demo
# secret), POLLS (default 20, one a second), SF_FAKE (default
# http://127.0.0.1:8091, for --event).
set -euo pipefail

mode=signed
if [ "${1:-}" = "--event" ]; then
    mode=event
    shift
fi

# a new Order each time (the fake Salesforce in run-stack.sh knows them all)
order=${1:-801$(openssl rand -hex 6 | tr 'a-f' 'A-F')AAA}
key=${2:-sample-$(date +%s)-$RANDOM}
edge=${EDGE:-http://127.0.0.1:8080}
worker=${WORKER:-http://127.0.0.1:8088}
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

#!/usr/bin/env bash
# The whole stack in the foreground on loopback: Redis (AOF, data in
# upstream-worker/run/redis), the worker, nginx with the top-level
# conf.example, and fakes of Salesforce, WHMCS, WooCommerce and HFT71 when
# their credentials are not in the environment. Ctrl-C stops what this script started, by PID.
#
#   upstream-worker/scripts/run-stack.sh        (or: make run)
#
# Environment: the worker's variables (see upstream-worker/README.md), plus
#   RUN_DIR      runtime folder             (default upstream-worker/run)
#   REDIS_PORT   Redis port                 (default 6390)
#   NGINX        nginx binary               (default /usr/sbin/nginx)
#   NO_NGINX=1   skip nginx (worker only)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)        # upstream-worker/
repo=$(cd "$here/.." && pwd)
run=${RUN_DIR:-$here/run}
conf_src=$repo/conf.example
module=$repo/build/ngx_http_webhook_module.so
nginx=${NGINX:-/usr/sbin/nginx}
python=/usr/bin/python3
redis_port=${REDIS_PORT:-6390}
pids=()

say() { printf '[run-stack] %s\n' "$*"; }

stop_all() {
    trap - INT TERM EXIT
    say "stopping ${#pids[@]} process(es)"
    local i
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        for _ in $(seq 50); do
            kill -0 "${pids[$i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${pids[$i]}" 2>/dev/null || true
    done
    say "stopped"
    exit 0
}
trap stop_all INT TERM EXIT

wait_port() {          # name port
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    say "$1 did not come up on port $2; see $run/$1.log"
    exit 1
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

[ -x "$here/build/webhook-worker" ] || make -s -C "$here"
mkdir -p "$run/redis" "$run/logs"

# Ports come from conf.example so nginx and the worker agree.
edge_port=$(sed -n 's/^ *listen *127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$conf_src" | head -n1)
worker_port=$(awk '/upstream worker/{f=1} f && /server 127\.0\.0\.1:/{
    sub(/.*127\.0\.0\.1:/, ""); sub(/;.*/, ""); print; exit}' "$conf_src")
attest_secret=$(awk '$1 == "webhook_attest_secret" {
    sub(/;$/, "", $2); print $2; exit}' "$conf_src")
sf_webhook_secret=$(awk '/location \/orders\//{f=1} f && $1 == "webhook_secret" {
    sub(/;$/, "", $2); print $2; exit}' "$conf_src")
hft71_webhook_secret=$(awk '/location = \/wp-json\/hft71\/v1\/order-status/{f=1}
    f && $1 == "webhook_secret" { sub(/;$/, "", $2); print $2; exit}' "$conf_src")
: "${edge_port:=8080}" "${worker_port:=8088}"

for p in "$redis_port" "$worker_port"; do
    port_free "$p" || { say "port $p is in use; stop what holds it first"; exit 1; }
done

# -- Redis ------------------------------------------------------------------
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$run/redis" \
    --appendonly yes --appendfsync always --save '' --daemonize no \
    >"$run/redis.log" 2>&1 &
pids+=($!)
wait_port redis "$redis_port"
say "redis on 127.0.0.1:$redis_port, AOF in $run/redis"

# -- Salesforce and WHMCS: real ones, or the fakes --------------------------
export SF_API_VERSION=${SF_API_VERSION:-60.0}
if [ -n "${SF_LOGIN_URL:-}" ] && [ -n "${SF_CLIENT_ID:-}" ] \
   && [ -n "${SF_USERNAME:-}" ] && [ -n "${SF_PRIVATE_KEY_PATH:-}" ]; then
    say "Salesforce: $SF_LOGIN_URL (credentials from the environment)"
else
    sf_port=8091
    port_free "$sf_port" || { say "port $sf_port is in use"; exit 1; }
    [ -f "$run/sf-key.pem" ] || openssl genrsa -out "$run/sf-key.pem" 2048 2>/dev/null
    openssl rsa -in "$run/sf-key.pem" -pubout -out "$run/sf-pub.pem" 2>/dev/null
    export SF_LOGIN_URL=http://127.0.0.1:$sf_port SF_CLIENT_ID=demo-connected-app \
           SF_USERNAME=integration@example.test SF_PRIVATE_KEY_PATH=$run/sf-key.pem
    export PORTAL_PRICEBOOK_ID=${PORTAL_PRICEBOOK_ID:-01s000000000001AAA}
    cat >"$run/sf-seed.json" <<JSON
{"orders": [{"Id": "801000000000001AAA", "OrderNumber": "00000100",
  "Status": "Activated", "Provisioning_Status__c": "Activating",
  "Pricebook2Id": "$PORTAL_PRICEBOOK_ID", "AccountId": "001000000000001AAA",
  "Account": {"WHMCS_Client_ID__c": 7},
  "items": [{"Id": "802000000000001AAA", "Quantity": 1,
             "Product2": {"Name": "VPS Small", "WH_Product_ID__c": 101,
                          "Billing_Cycle__c": "Monthly"}}]}]}
JSON
    "$python" "$here/fakes/fake_salesforce.py" --port "$sf_port" \
        --public-key "$run/sf-pub.pem" --client-id "$SF_CLIENT_ID" \
        --username "$SF_USERNAME" --seed "$run/sf-seed.json" --auto-orders \
        >"$run/sf.log" 2>&1 &
    pids+=($!)
    wait_port sf "$sf_port"
    say "Salesforce: no SF_* credentials in the environment, using the FAKE" \
        "on $SF_LOGIN_URL (any Order id is an Activating order)"
fi
if [ -n "${WHMCS_API_URL:-}" ] && [ -n "${WHMCS_IDENTIFIER:-}" ] \
   && [ -n "${WHMCS_SECRET:-}" ]; then
    say "WHMCS: $WHMCS_API_URL (credentials from the environment)"
else
    wh_port=8092
    port_free "$wh_port" || { say "port $wh_port is in use"; exit 1; }
    export WHMCS_API_URL=http://127.0.0.1:$wh_port WHMCS_IDENTIFIER=demo-identifier \
           WHMCS_SECRET=demo-secret
    unset WHMCS_ACCESS_KEY
    echo '{"clients": [{"id": 7, "paymethods": [{"gateway_name": "stripe"}]}],
           "products": [101, 102]}' >"$run/whmcs-seed.json"
    "$python" "$here/fakes/fake_whmcs.py" --port "$wh_port" \
        --identifier "$WHMCS_IDENTIFIER" --secret "$WHMCS_SECRET" \
        --seed "$run/whmcs-seed.json" >"$run/whmcs.log" 2>&1 &
    pids+=($!)
    wait_port whmcs "$wh_port"
    say "WHMCS: no WHMCS_* credentials in the environment, using the FAKE" \
        "on $WHMCS_API_URL (client 7 with a card, products 101, 102)"
fi
# -- WooCommerce and HFT71 (the commerce flow): real ones, or the fakes ------
if [ -n "${WOOCOMMERCE_URL:-}" ] && [ -n "${WOOCOMMERCE_CONSUMER_KEY:-}" ] \
   && [ -n "${WOOCOMMERCE_CONSUMER_SECRET:-}" ]; then
    say "WooCommerce: $WOOCOMMERCE_URL (credentials from the environment)"
else
    wc_port=8093
    port_free "$wc_port" || { say "port $wc_port is in use"; exit 1; }
    export WOOCOMMERCE_URL=http://127.0.0.1:$wc_port \
           WOOCOMMERCE_CONSUMER_KEY=ck_demo_key WOOCOMMERCE_CONSUMER_SECRET=cs_demo_secret
    "$python" "$here/fakes/fake_woocommerce.py" --port "$wc_port" \
        --consumer-key "$WOOCOMMERCE_CONSUMER_KEY" \
        --consumer-secret "$WOOCOMMERCE_CONSUMER_SECRET" >"$run/woocommerce.log" 2>&1 &
    pids+=($!)
    wait_port woocommerce "$wc_port"
    say "WooCommerce: no WOOCOMMERCE_* credentials in the environment, using" \
        "the FAKE on $WOOCOMMERCE_URL"
    export HFT71_POLL_INTERVAL_S=${HFT71_POLL_INTERVAL_S:-5} \
           HFT71_SWEEP_INTERVAL_S=${HFT71_SWEEP_INTERVAL_S:-30}
fi
if [ -n "${HFT71_API_URL:-}" ] && [ -n "${HFT71_USERNAME:-}" ] \
   && [ -n "${HFT71_PASSWORD:-}" ]; then
    say "HFT71: $HFT71_API_URL (credentials from the environment)"
else
    h_port=8094
    port_free "$h_port" || { say "port $h_port is in use"; exit 1; }
    export HFT71_API_URL=http://127.0.0.1:$h_port HFT71_USERNAME=demo-hft71 \
           HFT71_PASSWORD=demo-hft71-password
    # the fake sends its status webhook through the edge, as HFT71 would
    "$python" "$here/fakes/fake_hft71.py" --port "$h_port" \
        --username "$HFT71_USERNAME" --password "$HFT71_PASSWORD" \
        --webhook-url "http://127.0.0.1:$edge_port/wp-json/hft71/v1/order-status" \
        --webhook-secret "$hft71_webhook_secret" >"$run/hft71.log" 2>&1 &
    pids+=($!)
    wait_port hft71 "$h_port"
    say "HFT71: no HFT71_* credentials in the environment, using the FAKE on" \
        "$HFT71_API_URL (its webhook goes to the edge)"
fi

: "${PORTAL_PRICEBOOK_ID:?PORTAL_PRICEBOOK_ID is needed with a real Salesforce}"
export PORTAL_PRICEBOOK_ID

# -- the worker ---------------------------------------------------------------
export REDIS_URL=redis://127.0.0.1:$redis_port
export WORKER_LISTEN=${WORKER_LISTEN:-127.0.0.1:$worker_port}
export WORKER_ENV=${WORKER_ENV:-local}
if [ -z "${NO_NGINX:-}" ]; then
    export EDGE_ATTEST_SECRET=${EDGE_ATTEST_SECRET:-$attest_secret}
fi
# webhook registrations (issue 14): a demo tenant whose token is made once
if [ -z "${REGISTRY_TOKENS_FILE:-}" ]; then
    if [ ! -s "$run/registry-tokens" ]; then
        (umask 077; "$here/scripts/registry-token.sh" demo >"$run/registry-demo-token.txt")
        sed -n 2p "$run/registry-demo-token.txt" >"$run/registry-tokens"
    fi
    export REGISTRY_TOKENS_FILE=$run/registry-tokens
fi
export REGISTRY_PUBLIC_BASE_URL=${REGISTRY_PUBLIC_BASE_URL:-http://127.0.0.1:$edge_port}
"$here/build/webhook-worker" > >(tee -a "$run/worker.log") 2>&1 &
pids+=($!)
wait_port worker "$worker_port"
say "worker on $WORKER_LISTEN (JSON logs also in $run/worker.log)"

# -- nginx with conf.example -----------------------------------------------------
if [ -z "${NO_NGINX:-}" ]; then
    if [ ! -f "$module" ]; then
        say "no $module: run 'make module' at the top level (or NO_NGINX=1)"
        exit 1
    fi
    port_free "$edge_port" || { say "port $edge_port is in use"; exit 1; }
    mkdir -p "$run/nginx"
    # conf.example as is, with the module, logs, pid and temp files local,
    # this stack's Redis, and a keys file with a throwaway certificate in
    # Google's {kid: PEM} format (the Pub/Sub location refuses Google's
    # real tokens until cron puts Google's certificates there)
    if [ ! -f "$run/google-oauth2-certs.json" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=demo \
            -keyout "$run/pubsub-demo-key.pem" -out "$run/pubsub-demo-cert.pem" \
            2>/dev/null
        "$python" -c 'import json,sys; print(json.dumps({"demo": open(sys.argv[1]).read()}))' \
            "$run/pubsub-demo-cert.pem" >"$run/google-oauth2-certs.json"
    fi
    sed -e "s#^load_module .*#load_module $module;#" \
        -e "s#file:/etc/nginx/webhook/google-oauth2-certs.json#file:$run/google-oauth2-certs.json#" \
        -e "s#webhook_redis  *127\.0\.0\.1:6379#webhook_redis 127.0.0.1:$redis_port#" \
        -e "s#/var/log/nginx/#$run/logs/#g" \
        -e "s#^pid .*#pid $run/nginx.pid;#" \
        -e "s#^http {#http {\n    client_body_temp_path $run/nginx/body;\n    proxy_temp_path $run/nginx/proxy;\n    fastcgi_temp_path $run/nginx/fastcgi;\n    uwsgi_temp_path $run/nginx/uwsgi;\n    scgi_temp_path $run/nginx/scgi;#" \
        "$conf_src" >"$run/nginx.conf"
    "$nginx" -p "$run/nginx" -c "$run/nginx.conf" -e "$run/logs/error.log" \
        -g 'daemon off;' >"$run/nginx.log" 2>&1 &
    pids+=($!)
    wait_port nginx "$edge_port"
    say "nginx (edge) on 127.0.0.1:$edge_port with $conf_src"
fi

cat <<MSG

  Stack is up. Send a signed sample order through the edge:

      $here/scripts/send-sample.sh

  (its defaults: SF_WEBHOOK_SECRET=${sf_webhook_secret:-...}
   EDGE=http://127.0.0.1:$edge_port WORKER=http://127.0.0.1:$worker_port)
  With SF_EVENTS_ENABLED=true (and the fake Salesforce), publish a
  Platform Event instead:  $here/scripts/send-sample.sh --event
  A WooCommerce order paid through Stripe, sent to HFT71 and completed by
  HFT71's webhook (--no-webhook: by polling):
      $here/scripts/send-sample.sh --stripe [--no-webhook]
  Webhook registrations: tenant "demo", its token in
      $run/registry-demo-token.txt
  (the API walk: upstream-worker/README.md, "Manual testing: make run")
  Worker state:  curl -s http://127.0.0.1:$worker_port/health
  Ctrl-C stops everything this script started.

MSG
wait -n "${pids[@]}" || true
say "a process exited; see the logs in $run"

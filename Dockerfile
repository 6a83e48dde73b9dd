# webhook edge: the nginx module and the upstream worker, and the stack that
# runs them on loopback (Redis with AOF, the worker, nginx with conf.example,
# and the Salesforce/WHMCS fakes unless credentials are in the environment).
#
#   buildah bud -t webhook-edge .      (or: ../shared/tools/dockerfile-check)
#   podman run --rm -it webhook-edge
#   podman exec -it <ctr> /app/upstream-worker/scripts/send-sample.sh

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        build-essential nginx-dev libssl-dev libpcre2-dev zlib1g-dev \
        libjansson-dev libhiredis-dev libmicrohttpd-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY config Makefile ./
COPY src ./src
COPY upstream-worker ./upstream-worker
# clean first: the context may carry a host build of the worker
RUN make module \
 && make -C upstream-worker clean \
 && make -C upstream-worker

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        nginx redis-server libmicrohttpd12 libhiredis0.14 libcurl4 \
        libjansson4 libssl3 openssl curl ca-certificates \
        python3 python3-cryptography \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY conf.example ./
COPY upstream-worker/scripts ./upstream-worker/scripts
COPY upstream-worker/fakes ./upstream-worker/fakes
COPY --from=build /src/build/ngx_http_webhook_module.so ./build/
COPY --from=build /src/upstream-worker/build/webhook-worker ./upstream-worker/build/
# Redis' AOF, logs and the generated demo key live here
ENV RUN_DIR=/var/lib/webhook-edge
VOLUME ["/var/lib/webhook-edge"]
CMD ["/app/upstream-worker/scripts/run-stack.sh"]

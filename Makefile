# webhook edge: nginx module + upstream worker.
#
#   make deps     install every build/test dependency (Debian packages only)
#   make module   build build/ngx_http_webhook_module.so (and the optional
#                 ngx_http_webhook_ndk_module.so) against Debian's nginx
#   make test     deps + module + worker + every suite (what CI runs)
#   make run      the whole stack in the foreground on loopback

SHELL        := /bin/bash
NGINX        ?= /usr/sbin/nginx
NGINX_SRC    ?= /usr/share/nginx/src
BUILD        := $(CURDIR)/build
NGX_BUILD    := $(BUILD)/nginx
MODULE_SO    := $(BUILD)/ngx_http_webhook_module.so
NDK_SO       := $(BUILD)/ngx_http_webhook_ndk_module.so
MODULE_SRCS  := $(wildcard src/*.c src/*.h) config

# Debian packages: building, testing and running everything in this repo.
DEB_PACKAGES := build-essential nginx-core nginx-dev libssl-dev libpcre3-dev \
    zlib1g-dev libjansson-dev libhiredis-dev redis-server \
    libmicrohttpd-dev libcurl4-openssl-dev libcmocka-dev \
    libtest-base-perl libtext-diff-perl libtest-longstring-perl \
    liblist-moreutils-perl libipc-run-perl liburi-perl libwww-perl \
    libhttp-message-perl libdigest-sha-perl libjson-pp-perl \
    libnginx-mod-http-ndk libnginx-mod-http-ndk-dev \
    libfaketime curl procps iproute2 wrk valgrind clang-14 libclang-rt-14-dev \
    $(shell cat upstream-worker/DEPS 2>/dev/null)

# Use an installed Test::Nginx when there is one, else our own runner.
PROVE_INC := -I t/lib $(shell perl -MTest::Nginx::Socket -e1 2>/dev/null \
                          || echo -I t/compat)

export TEST_NGINX_BINARY       ?= $(NGINX)
export TEST_NGINX_LOAD_MODULES ?= $(MODULE_SO)

.PHONY: all deps module install worker test test-module test-real test-worker \
        test-valgrind test-fuzz fuzz bench bench-deps bench-stock soak run clean

all: module worker

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing $$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	        $$missing >/dev/null; \
	else echo "deps: all installed"; fi

$(NGX_BUILD)/Makefile: config
	rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && . ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) >$(BUILD)/configure.log \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE_SO): $(NGX_BUILD)/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_webhook_module.so $@.tmp && mv -f $@.tmp $@
	if [ -f $(NGX_BUILD)/objs/ngx_http_webhook_ndk_module.so ]; then \
	    cp $(NGX_BUILD)/objs/ngx_http_webhook_ndk_module.so $(NDK_SO).tmp \
	    && mv -f $(NDK_SO).tmp $(NDK_SO); fi

module: $(MODULE_SO)

install: $(MODULE_SO)
	install -D -m 0644 $(MODULE_SO) \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_http_webhook_module.so
	install -D -m 0644 $(NDK_SO) \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_http_webhook_ndk_module.so

worker:
	@if [ -f upstream-worker/Makefile ]; then $(MAKE) -C upstream-worker; fi

test: deps
	$(MAKE) module worker
	$(MAKE) test-module test-worker test-fuzz

test-module: module
	prove $(PROVE_INC) -r t

# t/ under the real Test::Nginx (openresty/test-nginx): TEST_NGINX_LIB names
# its lib/ directory, else ../shared/tools/real-test-nginx is used when it
# is there; skipped, and said so, when neither is.
REAL_TN_RUN := $(abspath $(CURDIR)/../shared/tools/real-test-nginx/run)

test-real: module
	@if [ -n "$$TEST_NGINX_LIB" ]; then \
	    prove -I "$$TEST_NGINX_LIB" -I t/lib -r t; \
	elif [ -x "$(REAL_TN_RUN)" ]; then \
	    "$(REAL_TN_RUN)" . -I t/lib -r t; \
	else \
	    echo "test-real: SKIPPED: no real Test::Nginx (set TEST_NGINX_LIB=/path/to/test-nginx/lib)"; \
	fi

# nginx under valgrind for the module's suites; fails on any invalid access
# and on leaks through the module or hiredis (not part of `make test`)
VALGRIND_DIR  := $(BUILD)/valgrind
VALGRIND_OPTS := --tool=memcheck --leak-check=full \
    --show-leak-kinds=definite,possible --num-callers=40 \
    --log-file=$(VALGRIND_DIR)/%p.log
VALGRIND_SUITES ?= t/0*.t t/100-redis.t t/101-redis-auth.t t/102-redis-timing.t \
                   t/120-registry.t

test-valgrind: deps module
	rm -rf $(VALGRIND_DIR) && mkdir -p $(VALGRIND_DIR)
	TEST_NGINX_USE_VALGRIND="$(VALGRIND_OPTS)" \
	    prove $(PROVE_INC) $(VALGRIND_SUITES)
	perl t/valgrind-report $(VALGRIND_DIR)

test-worker: worker
	@if [ -f upstream-worker/Makefile ]; then \
	    $(MAKE) -C upstream-worker test; fi

# libFuzzer (clang-14) over every parser that sees attacker bytes: the
# module's (t/fuzz/) and the worker's. `test-fuzz` replays the regression
# inputs and runs each target briefly (part of `make test`); `fuzz` runs
# each for FUZZ_SECONDS.
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SECONDS       ?= 120

test-fuzz: deps
	$(MAKE) -C t/fuzz smoke FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
	$(MAKE) -C upstream-worker fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

fuzz: deps
	$(MAKE) -C t/fuzz fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) -C upstream-worker fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# Benchmarks against plain proxying, njs and Lua (not part of `make test`).
BENCH_PACKAGES := libnginx-mod-http-lua libnginx-mod-http-ndk lua-nginx-redis \
    libnginx-mod-http-js gnuplot-nox linux-perf

bench-deps: deps
	@$(MAKE) -s deps DEB_PACKAGES="$(BENCH_PACKAGES)"

bench: bench-deps module worker
	bench/run

# The worker's stock sync at 50,000 SKUs (not part of `make test`).
bench-stock: deps worker
	$(MAKE) -C upstream-worker bench-stock

# 10 minutes of mixed traffic with reloads and Redis restarts (not part of
# `make test`); SOAK_SECONDS shortens it.
soak: deps module
	t/soak/run

run: deps module worker
	upstream-worker/scripts/run-stack.sh

clean:
	rm -rf $(BUILD) t/servroot*
	@if [ -f upstream-worker/Makefile ]; then $(MAKE) -C upstream-worker clean; fi

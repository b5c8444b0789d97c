# Hookline — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PKG_CONFIG_PATH := /usr/local/lib/pkgconfig:$(PKG_CONFIG_PATH)

SWIFT_TEST_FLAGS ?=
# Release builds everywhere (make run, benches, container images) use the same flags, so one
# build serves them all.
RELEASE := swift build -c release --static-swift-stdlib
# Every executable, one product at a time: once a product was built alone (make bench-gateway
# does), a plain build with --static-swift-stdlib also tries to link GRDB's dynamic library
# product, which fails (cannot find -lCoreFoundation).
# The executables are read from Package.swift (each `.executableTarget(` has its `name:` on its
# own line or the next), so a new one needs no second list here.
EXECUTABLES := $(shell awk '/\.executableTarget/ { line = $$0; if (!match(line, /name: "[^"]+"/)) { getline line; if (!match(line, /name: "[^"]+"/)) next } print substr(line, RSTART + 7, RLENGTH - 8) }' Package.swift)
ifeq ($(filter hookline-gateway,$(EXECUTABLES)),)
$(error cannot read the executable targets from Package.swift (found: "$(EXECUTABLES)"))
endif
RELEASE_ALL := for product in $(EXECUTABLES); do $(RELEASE) --product $$product || exit 1; done
# What make run and the compose images run: every executable but the demo and the benchmarks
# (each build of a product costs seconds even when nothing changed).
RELEASE_SERVICES := for product in $(filter-out hookline-demo hookline-bench,$(EXECUTABLES)); do $(RELEASE) --product $$product || exit 1; done
GATEWAYS ?= 3

.PHONY: help setup build test test-asan test-run run chaos demo clean-state bench-kafka bench-gateway bench-instructions bench-forged bench-haproxy-reuse bench-consumers \
        compose-up compose-down test-compose

help:
	@echo "make run          set up, build and start Hookline on this machine: broker, GATEWAYS=3 gateways"
	@echo "                  behind HAProxy on 127.0.0.1:8080, orders, payments, ci, monitor"
	@echo "make clean-state  wipe what make run keeps in .state/ (databases, logs)"
	@echo "make test         set up and run every test"
	@echo "make test-asan    the Kafka module's tests under AddressSanitizer"
	@echo "make test-run     start make run, send webhooks through it, Ctrl-C it; again on its state, SIGTERM it"
	@echo "make chaos        SIGKILL one of three gateways under load; check nothing acknowledged is lost"
	@echo "make compose-up   the compose deployment on this machine's podman (compose-down stops it)"
	@echo "make test-compose bring the compose deployment up, send webhooks, kill a gateway, tear down"
	@echo "make bench-kafka  Swift producer vs librdkafka's rdkafka_performance, same broker"
	@echo "make bench-gateway  the gateway under wrk vs its HTTP, produce and librdkafka ceilings and a Python peer"
	@echo "make bench-instructions  the gateway's instructions a request under callgrind vs its HTTP ceilings (valgrind 3.19 fails on today's binaries)"
	@echo "make bench-forged  the gateway under forged requests: GitHub requests/s beside forged signatures, CPU a forged body"
	@echo "make bench-haproxy-reuse  gateway connections per webhook behind HAProxy when senders close theirs"
	@echo "make bench-consumers  the orders service (durable effects) vs the raw consume rate"
	@echo "make demo         a walk through the Kafka module on the embedded broker"

setup:
	@scripts/setup.sh

build: setup
	swift build

# --browser: the monitor page's tests drive a headless Chromium. check-deploy validates the
# compose files (schema, parity with make run, alert rules, Dockerfile).
test:
	@scripts/setup.sh --browser
	scripts/check-deploy.sh
	swift build --build-tests
	scripts/run-tests.sh $(SWIFT_TEST_FLAGS)

# The Kafka integration tests under AddressSanitizer + LeakSanitizer (handles and messages
# destroyed exactly once, nothing leaked). Separate build folder; takes a few minutes.
test-asan: setup
	swift build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=1 swift test --skip-build --disable-xctest --sanitize=address --scratch-path .build-asan --filter HooklineKafkaTests

# The whole topology on this machine: embedded broker, GATEWAYS gateways behind HAProxy on
# 127.0.0.1:8080, the orders, payments and CI services, the monitor. State in .state/.
run:
	@scripts/setup.sh --run
	@$(RELEASE_SERVICES)
	GATEWAYS=$(GATEWAYS) scripts/run-local.sh

# `make run` as a new user meets it: started in a process group of its own, ready, a GitHub push
# and a Shopify order sent through it (they reach the CI and orders services, lag and the monitor
# see the commit), then Ctrl-C: everything stops in reverse order and nothing is left. Then a
# second run on the same state (the databases kept, a new empty broker), stopped by SIGTERM. Uses
# the same ports as `make run`, with its state in .state/test-run (scripts/lib/run_check.py).
test-run:
	@scripts/setup.sh --run
	python3 scripts/lib/run_check.py

# A short produce/consume walk-through of the Kafka module against the embedded broker.
demo: setup
	$(RELEASE) --product hookline-demo
	.build/release/hookline-demo

# The run topology under load while one of three gateways is SIGKILLed: every acknowledged
# webhook must be in Kafka and applied by the orders service. Stop `make run` first.
chaos:
	@scripts/setup.sh --run
	@$(RELEASE_ALL)
	scripts/chaos.sh

# The compose deployment (deploy/compose.yaml + deploy/compose.local.yaml) on podman, with images
# built here from the release executables (docs/deploy.md).

compose-up:
	@scripts/setup.sh --containers
	@$(RELEASE_SERVICES)
	scripts/compose.sh up

compose-down:
	scripts/compose.sh down

test-compose:
	@scripts/setup.sh --containers
	@$(RELEASE_SERVICES)
	scripts/test-compose.sh

# Wipes what `make run` keeps between runs: the services' databases, logs, generated config.
clean-state:
	rm -rf .state

bench-kafka:
	@scripts/setup.sh --bench
	$(RELEASE) --product hookline-bench
	scripts/bench-kafka.sh

bench-gateway bench-instructions:
	@scripts/setup.sh --bench
	$(RELEASE) --product hookline-gateway
	$(RELEASE) --product hookline-bench
	scripts/$@.sh

bench-forged:
	@scripts/setup.sh --bench
	$(RELEASE) --product hookline-gateway
	scripts/bench-forged.sh

bench-haproxy-reuse:
	@scripts/setup.sh --bench --run
	$(RELEASE) --product hookline-gateway
	scripts/bench-haproxy-reuse.sh

bench-consumers:
	@scripts/setup.sh --bench
	$(RELEASE) --product hookline-bench
	scripts/bench-consumers.sh

# Hookline — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PKG_CONFIG_PATH := /usr/local/lib/pkgconfig:$(PKG_CONFIG_PATH)

SWIFT_TEST_FLAGS ?=

.PHONY: help setup build test test-asan run demo clean-state bench-kafka bench-gateway bench-consumers

help:
	@echo "make run          set up, build and start Hookline on this machine (embedded broker)"
	@echo "make test         set up and run every test"
	@echo "make bench-kafka  Swift producer vs librdkafka's rdkafka_performance, same broker"
	@echo "make bench-gateway  the gateway under wrk vs its HTTP-only and produce-only ceilings and a Python peer"

setup:
	@scripts/setup.sh

build: setup
	swift build

# --browser: the monitor page's tests drive a headless Chromium.
test:
	@scripts/setup.sh --browser
	swift build --build-tests
	scripts/run-tests.sh $(SWIFT_TEST_FLAGS)

# The Kafka integration tests under AddressSanitizer + LeakSanitizer (handles and messages
# destroyed exactly once, nothing leaked). Separate build folder; takes a few minutes.
test-asan: setup
	swift build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=1 swift test --skip-build --sanitize=address --scratch-path .build-asan --filter HooklineKafkaTests

run: setup
	swift build -c release --product hookline-gateway
	scripts/run-local.sh

# A short produce/consume walk-through of the Kafka module against the embedded broker.
demo: setup
	swift build -c release --product hookline-demo
	.build/release/hookline-demo

clean-state:
	rm -rf .state

bench-kafka:
	@scripts/setup.sh --bench
	swift build -c release --product hookline-bench
	scripts/bench-kafka.sh

bench-gateway:
	@scripts/setup.sh --bench
	swift build -c release --product hookline-gateway
	swift build -c release --product hookline-bench
	scripts/bench-gateway.sh

bench-consumers:
	@scripts/setup.sh --bench
	swift build -c release --product hookline-bench
	scripts/bench-consumers.sh

# Hookline — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PKG_CONFIG_PATH := /usr/local/lib/pkgconfig:$(PKG_CONFIG_PATH)

SWIFT_TEST_FLAGS ?=

.PHONY: help setup build test run bench-kafka clean-state

help:
	@echo "make run          set up, build and start Hookline on this machine (embedded broker)"
	@echo "make test         set up and run every test"
	@echo "make bench-kafka  Swift producer vs librdkafka's rdkafka_performance, same broker"

setup:
	@scripts/setup.sh

build: setup
	swift build

test: setup
	swift build --build-tests
	scripts/run-tests.sh $(SWIFT_TEST_FLAGS)

run: setup
	swift build -c release --product hookline-demo
	.build/release/hookline-demo

bench-kafka:
	@scripts/setup.sh --bench
	swift build -c release --product hookline-bench
	scripts/bench-kafka.sh

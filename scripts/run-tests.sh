#!/usr/bin/env bash
# Runs the whole test suite (already built) and makes sure no embedded broker it started outlives it.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
swift test --skip-build "$@" || status=$?
# Brokers are killed at process exit; a crashed test process can leave one behind. Only this
# checkout's: another checkout's tests (or its CI run) may be using theirs right now. SIGKILL:
# Tansu can ignore SIGTERM (seen after a crashed run), and keeps nothing on disk to lose.
pkill -KILL -f "^$PWD/.deps/bin/tansu broker .*--cluster-id hookline-embedded-" 2>/dev/null || true
pkill -f "$PWD/.build/debug/hookline-" 2>/dev/null || true
exit $status

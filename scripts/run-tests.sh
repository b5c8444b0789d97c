#!/usr/bin/env bash
# Runs the whole test suite (already built) and makes sure no embedded broker it started outlives it.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# At most 24 tests at once (Swift Testing starts every one at once otherwise). All 361 at once
# held over 1,600 descriptors and 1,000 threads in the first seconds on 2 cores: deadlines came
# late, and Foundation's Process.run() (Swift 6.3.1) could crash reading /proc/self/fd past
# about 1,350 descriptors (swift-corelibs-foundation#5472), which froze the run for ~10 s while
# the crash was reported. With 24: about 650 descriptors at most, and the run takes as long
# (110-120 s here either way).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-24}"
swift test --skip-build "$@" || status=$?
# Brokers are killed at process exit; a crashed test process can leave one behind. Only this
# checkout's: another checkout's tests (or its CI run) may be using theirs right now. SIGKILL:
# Tansu can ignore SIGTERM (seen after a crashed run), and keeps nothing on disk to lose.
pkill -KILL -f "^$PWD/.deps/bin/tansu broker .*--cluster-id hookline-embedded-" 2>/dev/null || true
pkill -f "$PWD/.build/debug/hookline-" 2>/dev/null || true
exit $status

# Shared pieces of the HTTP gateway benchmarks; source it from bash:
#
#   source scripts/lib/bench.sh
#   trap stop_all EXIT
#   bench_prepare                          # wrk, the peer venv (its Python has confluent-kafka)
#   start_broker                           # sets BROKERS (127.0.0.1:PORT) and BROKER_PORT
#   port=$(free_port)
#   start_bg gateway some-gateway --listen 127.0.0.1:$port --brokers "$BROKERS" ...
#   wait_port "$port" gateway
#   run_wrk "http://127.0.0.1:$port/webhooks/github" 2s >/dev/null   # warm-up
#   before=$(settled_messages webhooks.github.push)
#   line=$(run_wrk "http://127.0.0.1:$port/webhooks/github")         # the RESULT line
#   check_published "$line" "$before" webhooks.github.push
#
# Everything listens on and targets 127.0.0.1 only; every load is bounded by wrk's -d.
#
# or, for a whole gateway (start, warm-up, wrk with its CPU and the broker's, published check, stop):
#   measure_server gateway "$port" webhooks.github.push some-gateway --listen 127.0.0.1:$port ...
#   measure_peer "$port" webhooks.github.push 6                       # the Python peer, likewise
#
# Knobs (environment): WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (15s),
# BENCH_SECRET (bench-secret), BENCH_BODY (bench/github-push.json), BENCH_EVENT (push),
# LINGER_MS (1) and BATCH_MESSAGES (16): the producer settings every benchmarked producer gets,
# by default the gateway's own (WebhookPublisher).

BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$BENCH_ROOT/scripts/lib/broker.sh"
BENCH_TMP=${BENCH_TMP:-$(mktemp -d -t hookline-bench.XXXXXX)}
BENCH_PY="$BENCH_ROOT/.deps/peer-venv/bin/python"
BENCH_SECRET=${BENCH_SECRET:-bench-secret}
BENCH_BODY=${BENCH_BODY:-$BENCH_ROOT/bench/github-push.json}
BENCH_EVENT=${BENCH_EVENT:-push}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-32}
WRK_DURATION=${WRK_DURATION:-15s}
BENCH_LINGER_MS=${LINGER_MS:-1}
BENCH_BATCH_MESSAGES=${BATCH_MESSAGES:-16}
BENCH_PIDS=()
BROKERS= BROKER_PORT=

bench_say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
bench_die() { bench_say "$*"; exit 1; }

# wrk from apt when missing, the peer venv, and the embedded broker's binary.
bench_prepare() {
  if ! command -v wrk >/dev/null; then
    bench_say "installing wrk"
    local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
  fi
  "$BENCH_ROOT/bench/peers/setup.sh"
  [ -x "$BENCH_ROOT/.deps/bin/tansu" ] || "$BENCH_ROOT/scripts/setup.sh"
}

free_port() { free_loopback_port; }

# start_bg NAME CMD...: runs CMD in the background, output in $BENCH_TMP/NAME.log; stop_all ends it.
start_bg() {
  local name=$1; shift
  "$@" >"$BENCH_TMP/$name.log" 2>&1 &
  BENCH_PIDS+=("$!")
  eval "PID_${name//[^A-Za-z0-9_]/_}=$!"
}

# bg_pid NAME: the pid of what start_bg started as NAME (empty if nothing was).
bg_pid() {
  local pid_var="PID_${1//[^A-Za-z0-9_]/_}"
  printf '%s' "${!pid_var:-}"
}

# wait_port PORT NAME [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 name=$2 tries=$((${3:-20} * 10)) pid
  pid=$(bg_pid "$name")
  for _ in $(seq "$tries"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$BENCH_TMP/$name.log" >&2; bench_die "$name exited at start"
    fi
    sleep 0.1
  done
  tail -20 "$BENCH_TMP/$name.log" >&2; bench_die "$name did not listen on 127.0.0.1:$port"
}

# A fresh Tansu broker with memory storage on a free loopback port; ready once it answers a
# metadata request. Sets BROKERS and BROKER_PORT.
start_broker() {
  BROKER_PORT=$(free_port)
  BROKERS="127.0.0.1:$BROKER_PORT"
  start_bg broker tansu_run "$BROKERS" "bench-$BROKER_PORT"
  wait_port "$BROKER_PORT" broker
  "$BENCH_PY" - "$BROKERS" <<'EOF' || bench_die "the broker on $BROKERS does not answer metadata requests"
import sys, time
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
deadline = time.monotonic() + 20
while True:
    try:
        admin.list_topics(timeout=1); break
    except Exception:
        if time.monotonic() > deadline: raise
        time.sleep(0.1)
EOF
  bench_say "broker on $BROKERS (log $BENCH_TMP/broker.log)"
}

# sign_github [FILE] [SECRET]: the X-Hub-Signature-256 value for the file's bytes.
sign_github() {
  "$BENCH_PY" -c 'import hmac,sys; print("sha256=" + hmac.new(sys.argv[2].encode(), open(sys.argv[1],"rb").read(), "sha256").hexdigest())' \
    "${1:-$BENCH_BODY}" "${2:-$BENCH_SECRET}"
}

# run_wrk URL [DURATION]: POSTs the signed payload; wrk's full output goes to
# $BENCH_TMP/wrk.log, the RESULT line to stdout.
run_wrk() {
  local url=$1 duration=${2:-$WRK_DURATION} out
  out=$(WRK_BODY="$BENCH_BODY" WRK_SIGNATURE=$(sign_github) WRK_EVENT="$BENCH_EVENT" \
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$duration" -s "$BENCH_ROOT/bench/wrk/signed-post.lua" "$url")
  printf '%s\n' "$out" >>"$BENCH_TMP/wrk.log"
  printf '%s\n' "$out" | grep '^RESULT ' || bench_die "wrk printed no RESULT line (see $BENCH_TMP/wrk.log)"
}

# run_wrk_cpu URL NAME...: run_wrk, with the CPU time each named process (started with start_bg)
# spent during the run appended to the RESULT line as cpu_us_NAME=… microseconds per request, and
# the whole machine's (wrk, broker and server together) as cpu_us_machine=…, with busy_pct=… the
# share of the cores' time that was not idle, and steal_pct=… the share the hypervisor gave to
# others while this machine had work for it (a virtual machine's cores are not always its own).
run_wrk_cpu() {
  local url=$1 name line requests machine_before machine_after busy_before total_before steal_before busy_after total_after steal_after; shift
  local -A before
  for name in "$@"; do before[$name]=$(cpu_ticks "$name"); done
  machine_before=$(machine_ticks)
  line=$(run_wrk "$url")
  machine_after=$(machine_ticks)
  requests=$(result_field "$line" requests)
  (( requests > 0 )) || requests=1
  for name in "$@"; do
    line+=" cpu_us_$name=$(( ($(cpu_ticks "$name") - ${before[$name]}) * 1000000 / $(getconf CLK_TCK) / requests ))"
  done
  read -r busy_before total_before steal_before <<<"$machine_before"
  read -r busy_after total_after steal_after <<<"$machine_after"
  line+=" cpu_us_machine=$(( (busy_after - busy_before) * 1000000 / $(getconf CLK_TCK) / requests ))"
  line+=" busy_pct=$(( (busy_after - busy_before) * 100 / (total_after - total_before) ))"
  line+=" steal_pct=$(( (steal_after - steal_before) * 100 / (total_after - total_before) ))"
  printf '%s\n' "$line"
}

# machine_ticks: "BUSY TOTAL STEAL", the whole machine's CPU ticks so far from /proc/stat: not idle
# (user, nice, system, irq, softirq), all (idle, I/O wait and steal too), and stolen. As
# Services/Bench/MachineCPU.swift.
machine_ticks() {
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9; exit }' /proc/stat
}

# cpu_ticks NAME: user + system CPU ticks so far of the process start_bg started as NAME.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$(bg_pid "$1")/stat"
}

# result_field LINE NAME: a value from a RESULT line, e.g. result_field "$line" ok.
result_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# topic_partitions TOPIC / topic_messages TOPIC: the topic's partition count / the sum over its
# partitions of (end - low watermark); 0 for a topic that does not exist. The end is read, not
# taken from the high watermark: the embedded broker (Tansu 0.1.2's) reports as high watermark
# the last batch's base offset + 1, short by that batch's size - 1 (12 records in batches of 4:
# offsets 0-11, high watermark 9), so the records from the watermark's last offset on are read.
topic_partitions() {
  "$BENCH_PY" -c '
import sys
from confluent_kafka.admin import AdminClient
t = AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(sys.argv[2], timeout=10).topics[sys.argv[2]]
print(0 if t.error else len(t.partitions))' "$BROKERS" "$1"
}
topic_messages() {
  "$BENCH_PY" -c '
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "bench-count", "enable.auto.commit": False})
t = c.list_topics(sys.argv[2], timeout=10).topics[sys.argv[2]]
total = 0
if not t.error:
    for p in t.partitions:
        low, end = c.get_watermark_offsets(TopicPartition(sys.argv[2], p), timeout=10)
        if end > low:
            c.assign([TopicPartition(sys.argv[2], p, end - 1)])
            while True:
                m = c.poll(1.0)
                if m is None:
                    break
                if not m.error():
                    end = max(end, m.offset() + 1)
        total += end - low
c.close()
print(total)' "$BROKERS" "$1"
}

# settled_messages TOPIC: topic_messages once two reads half a second apart agree: wrk stops at
# its duration without waiting for the requests in flight, whose records land after it returns
# (counted before the run, not as its own).
settled_messages() {
  local last now
  last=$(topic_messages "$1") || return 1
  for _ in $(seq 20); do
    sleep 0.5
    now=$(topic_messages "$1") || return 1
    [ "$now" = "$last" ] && break
    last=$now
  done
  [[ $last =~ ^[0-9]+$ ]] || { echo "could not count the messages of $1: '$last'" >&2; return 1; }
  printf '%s\n' "$last"
}

# require_2xx RESULT_LINE WHAT: fails unless wrk had answers, each a 2xx, and no socket error.
require_2xx() {
  [ "$(result_field "$1" ok)" -gt 0 ] 2>/dev/null && [ "$(result_field "$1" non2xx)" = 0 ] && [ "$(result_field "$1" errors)" = 0 ] ||
    bench_die "FAIL: not every request to $2 was answered 2xx: $1"
}

# check_published RESULT_LINE MESSAGES_BEFORE TOPIC: fails unless every request was answered 2xx
# (requests/s counts every answer: a run of 401s or 503s is fast, and no figure) and the topic
# gained at least as many messages as wrk counted 2xx responses (a 202 is only sent after the
# broker's ack).
check_published() {
  local ok after
  require_2xx "$1" "the gateway publishing to $3"
  ok=$(result_field "$1" ok)
  after=$(topic_messages "$3")
  local gained=$((after - $2))
  if [ "$gained" -lt "$ok" ]; then
    bench_die "FAIL: $3 gained $gained messages but wrk counted $ok accepted requests"
  fi
  bench_say "check: $3 gained $gained messages >= $ok accepted requests ($(topic_partitions "$3") partitions)"
}

# measure_server NAME PORT TOPIC CMD...: starts CMD (a gateway listening on 127.0.0.1:PORT, on the
# broker start_broker started), warms it up, runs wrk with the CPU time of it and of the broker,
# checks that TOPIC gained every 2xx, stops everything. Leaves the RESULT line in $result (it runs
# in the caller's shell, so the EXIT trap stops its processes if it fails).
measure_server() {
  local name=$1 port=$2 topic=$3 before line; shift 3
  start_bg "$name" "$@"
  wait_port "$port" "$name"
  run_wrk "http://127.0.0.1:$port/webhooks/github" "${WARMUP:-2s}" >/dev/null
  before=$(settled_messages "$topic") || bench_die "FAIL: could not count the messages of $topic"
  line=$(run_wrk_cpu "http://127.0.0.1:$port/webhooks/github" "$name" broker)
  check_published "$line" "$before" "$topic"
  stop_processes
  result=$line
}

# measure_peer PORT TOPIC PARTITIONS: measure_server for the Python peer (bench/peers/), with the
# benchmark's producer settings.
measure_peer() {
  measure_server peer "$1" "$2" "$BENCH_PY" "$BENCH_ROOT/bench/peers/github_gateway.py" --listen "127.0.0.1:$1" \
    --brokers "$BROKERS" --secret "$BENCH_SECRET" --partitions "$3" \
    --property linger.ms="$BENCH_LINGER_MS" --property batch.num.messages="$BENCH_BATCH_MESSAGES"
}

# Ends everything start_bg started, newest first, and removes the temp directory.
stop_all() {
  stop_processes
  [ -n "${BENCH_KEEP_LOGS:-}" ] || rm -rf "$BENCH_TMP"
}

# Ends everything start_bg started, newest first (between two measurements).
stop_processes() {
  local i pid
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${BENCH_PIDS[$i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
}

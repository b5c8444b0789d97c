#!/usr/bin/env bash
# `make bench-kafka`: 1.6 KB records, acks=all, idempotent, linger 5 ms, through the Swift
# producer and through librdkafka's own rdkafka_performance (built from the same source).
# Each round starts a fresh embedded broker on loopback (its memory storage slows as it fills)
# and runs the three producers in a rotated order; the medians of the rounds are compared.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/broker.sh
count=${COUNT:-200000}
size=${SIZE:-1600}
rounds=${ROUNDS:-3}

broker=
log=$(mktemp)
trap '[ -n "$broker" ] && kill $broker 2>/dev/null; rm -f "$log"' EXIT

start_broker() {
  port=$(free_loopback_port)
  (tansu_run "127.0.0.1:$port" "hookline-bench-$port") >"$log" 2>&1 &
  broker=$!
  wait_for_port "$port"
}
stop_broker() { kill "$broker"; wait "$broker" 2>/dev/null || true; broker=; }

# Each prints its messages/s, and fails when a record was not delivered (a fast run of failed
# deliveries is no figure).
run_c() {
  local out summary
  out=$(.deps/bin/rdkafka_performance -P -t "bench-c" -b "127.0.0.1:$port" -s "$size" -c "$count" -a -1 \
    -X enable.idempotence=true -X linger.ms=5 2>&1)
  summary=$(printf '%s\n' "$out" | grep 'messages produced' | tail -1)
  # "% N messages produced (B bytes), D delivered (offset O, F failed) in T ms: R msgs/s and ..."
  [[ "$summary" =~ \ ([0-9]+)\ delivered.*\ ([0-9]+)\ failed ]] || { echo "rdkafka_performance: no summary: $out" >&2; return 1; }
  [ "${BASH_REMATCH[1]}" = "$count" ] && [ "${BASH_REMATCH[2]}" = 0 ] || { echo "rdkafka_performance delivered ${BASH_REMATCH[1]} of $count, ${BASH_REMATCH[2]} failed" >&2; return 1; }
  printf '%s\n' "$summary" | sed -E 's/.* ([0-9]+) msgs\/s.*/\1/'
}
run_swift() {
  local out
  out=$(.build/release/hookline-bench produce --brokers "127.0.0.1:$port" --topic "bench-$1" --count "$count" --size "$size" --mode "$1")
  [[ "$out" == *" failures=0 "* ]] || { echo "hookline-bench produce --mode $1: $out" >&2; return 1; }
  printf '%s\n' "$out" | sed -E 's/.*msgs_per_s=([0-9]+).*/\1/'
}

declare -A rates
order=(c send enqueue)
for round in $(seq "$rounds"); do
  start_broker
  line="round $round:"
  for name in "${order[@]}"; do
    if [ "$name" = c ]; then rate=$(run_c); else rate=$(run_swift "$name"); fi
    rates[$name]+="$rate "
    line+=" $name=$rate"
  done
  echo "$line msgs/s"
  stop_broker
  order=("${order[@]:1}" "${order[0]}")
done

median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${rates[c]}") s=$(median "${rates[send]}") e=$(median "${rates[enqueue]}")
echo
echo "median of $rounds rounds, $count records of $size bytes, acks=all, idempotent, linger.ms=5, fresh broker per round:"
printf '  librdkafka rdkafka_performance (C, delivery callbacks)   %8d msgs/s\n' "$c"
percent() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%3.0f", 100 * a / b }'; }
printf '  Swift KafkaProducer.enqueue (delivery callbacks)         %8d msgs/s  %s%% of C\n' "$e" "$(percent "$e" "$c")"
printf '  Swift KafkaProducer.send (async, one task per record)    %8d msgs/s  %s%% of C\n' "$s" "$(percent "$s" "$c")"

#!/usr/bin/env bash
# `make bench-kafka`: 1.6 KB records, acks=all, idempotent, linger 5 ms, through the Swift
# producer and through librdkafka's own rdkafka_performance (built from the same source),
# against one fresh embedded broker on loopback. Alternates the two, three rounds each.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-300000}
size=${SIZE:-1600}
rounds=${ROUNDS:-3}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
.deps/bin/tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ --cluster-id "hookline-bench-$port" >"$log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

c_rates=() swift_rates=() enqueue_rates=()
for round in $(seq "$rounds"); do
  out=$(.deps/bin/rdkafka_performance -P -t "bench-c-$round" -b "127.0.0.1:$port" -s "$size" -c "$count" -a -1 \
        -X enable.idempotence=true -X linger.ms=5 2>&1 | grep 'messages produced' | tail -1)
  c_rate=$(sed -E 's/.* ([0-9]+) msgs\/s.*/\1/' <<<"$out")
  s_rate=$(.build/release/hookline-bench produce --brokers "127.0.0.1:$port" --topic "bench-swift-$round" \
           --count "$count" --size "$size" --mode send | sed -E 's/.*msgs_per_s=([0-9]+).*/\1/')
  e_rate=$(.build/release/hookline-bench produce --brokers "127.0.0.1:$port" --topic "bench-enqueue-$round" \
           --count "$count" --size "$size" --mode enqueue | sed -E 's/.*msgs_per_s=([0-9]+).*/\1/')
  printf 'round %d: rdkafka_performance %s msgs/s, Swift send %s msgs/s, Swift enqueue %s msgs/s\n' "$round" "$c_rate" "$s_rate" "$e_rate"
  c_rates+=("$c_rate") swift_rates+=("$s_rate") enqueue_rates+=("$e_rate")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${c_rates[@]}") s=$(median "${swift_rates[@]}") e=$(median "${enqueue_rates[@]}")
echo
echo "median of $rounds rounds, $count records of $size bytes, acks=all, idempotent, linger.ms=5:"
printf '  librdkafka rdkafka_performance  %8d msgs/s\n' "$c"
printf '  Swift KafkaProducer.send        %8d msgs/s  (%.0f%% of the C tool)\n' "$s" "$(echo "100*$s/$c" | bc -l)"
printf '  Swift KafkaProducer.enqueue     %8d msgs/s  (%.0f%% of the C tool)\n' "$e" "$(echo "100*$e/$c" | bc -l)"

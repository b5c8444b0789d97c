#!/usr/bin/env bash
# `make bench-forged`: what forged public-key signatures cost a gateway's other traffic. One
# gateway serves a GitHub source and a Standard Webhooks source with an Ed25519 public key. wrk
# sends the signed GitHub push (-t1 -c16) alone, then while bench/forged_signatures.py sends
# forged Standard Webhooks deliveries: 860 `v1a` entries each (the 80 KB header limit's worth,
# refused unchecked past 10), then 10 each (checked, every one). Prints GitHub requests/s and p99
# for each and the share of the first left under each attack. Then bench/forged_bodies.py sends
# forged 1 MB bodies of 115,912 form parameters to a Twilio source (whose signature covers the
# sorted parameters) and to the GitHub source, and a forged Slack body, and prints the gateway's
# CPU for each refusal. Every GitHub request must be answered 2xx and every forged one refused.
#
# Knobs: WRK_DURATION (8s), FORGED_FULL_RATE (25/s), FORGED_CHECKED_RATE (200/s), GATEWAY (the
# binary, .build/release/hookline-gateway: another build for a before-and-after).
set -euo pipefail
cd "$(dirname "$0")/.."
WRK_THREADS=${WRK_THREADS:-1} WRK_CONNECTIONS=${WRK_CONNECTIONS:-16} WRK_DURATION=${WRK_DURATION:-8s}
source scripts/lib/bench.sh
trap stop_all EXIT
bench_prepare

openssl genpkey -algorithm ed25519 -out "$BENCH_TMP/key.pem" 2>/dev/null
public=whpk_$(openssl pkey -in "$BENCH_TMP/key.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
start_broker
port=$(free_port)
cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", partitions: 6 }
gateway: { listen: "127.0.0.1:$port" }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
  svix: { provider: standard-webhooks, public_keys: ["$public"] }
  twilio: { provider: twilio, secrets: ["forged-bench"], public_url: "https://hooks.example.com/webhooks/twilio" }
  slack: { provider: slack, secrets: ["forged-bench"] }
YAML
BENCH_SECRET=$BENCH_SECRET start_bg gateway "${GATEWAY:-.build/release/hookline-gateway}" --config "$BENCH_TMP/hookline.yaml" --log-level warning
wait_port "$port" gateway
url="http://127.0.0.1:$port/webhooks/github"
run_wrk "$url" 2s >/dev/null

summary() { printf 'rps=%s p99_ms=%s non2xx=%s' "$(result_field "$1" rps)" "$(result_field "$1" p99_ms)" "$(result_field "$1" non2xx)"; }
alone=$(run_wrk "$url")
require_2xx "$alone" "the GitHub source"
echo "GitHub alone:                  $(summary "$alone")"
seconds=${WRK_DURATION%s}
for attack in "860 ${FORGED_FULL_RATE:-25}" "10 ${FORGED_CHECKED_RATE:-200}"; do
  read -r signatures rate <<<"$attack"
  "$BENCH_PY" bench/forged_signatures.py --port "$port" --signatures "$signatures" --rate "$rate" \
    --seconds $((seconds + 1)) >"$BENCH_TMP/forged.out" &
  forger=$!
  sleep 0.5
  line=$(run_wrk "$url")
  wait "$forger"
  forged=$(cat "$BENCH_TMP/forged.out")
  require_2xx "$line" "the GitHub source under forged deliveries"
  printf 'GitHub, forged %3s x %-4s/s: %s  (%s of alone)\n' "$signatures" "$rate" "$(summary "$line")" \
    "$(awk -v a="$(result_field "$line" rps)" -v b="$(result_field "$alone" rps)" 'BEGIN { printf "%.2f", a / b }')"
  echo "  $forged"
  # Every forged delivery must be refused 401; anything else (a 2xx above all) is a failure.
  grep -q ' statuses=401:[0-9]* ' <<<"$forged" || bench_die "FAIL: not every forged delivery was refused 401: $forged"
done

"$BENCH_PY" bench/forged_bodies.py --port "$port" --pid "$(bg_pid gateway)" | tee "$BENCH_TMP/bodies.out"
# A forged body must be refused (401 unsigned, or 400 for a form of too many parameters).
! grep -q 'status=.*2[0-9][0-9]' "$BENCH_TMP/bodies.out" || bench_die "FAIL: a forged body was accepted"

#!/usr/bin/env bash
# `make run`: Hookline on this machine — the embedded broker and a gateway on 127.0.0.1:8080,
# with deploy/hookline.yaml. Prints how to send a first webhook; Ctrl-C stops everything.
# State (logs) lives in .state/; `make clean-state` wipes it.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.state
mkdir -p "$state/logs"

source scripts/lib/broker.sh
broker_port=$(free_loopback_port 9092)

# Demo secrets, unless the environment already has them.
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-dev-github-secret}
export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_dev-stripe-secret}
export SHOPIFY_WEBHOOK_SECRET=${SHOPIFY_WEBHOOK_SECRET:-dev-shopify-secret}
export GITLAB_WEBHOOK_TOKEN=${GITLAB_WEBHOOK_TOKEN:-dev-gitlab-token}
export LEGACY_WEBHOOK_SECRET=${LEGACY_WEBHOOK_SECRET:-dev-legacy-secret}
export KAFKA_BROKERS="127.0.0.1:$broker_port"

pids=()
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo; echo "stopping…"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

(tansu_run "$KAFKA_BROKERS" hookline-local) >"$state/logs/broker.log" 2>&1 &
pids+=($!)
wait_for_port "$broker_port"

.build/release/hookline-gateway --config deploy/hookline.yaml >"$state/logs/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf http://127.0.0.1:8080/healthz >/dev/null || { tail -20 "$state/logs/gateway.log"; exit 1; }

body='{"zen":"Keep it logically awesome.","hook_id":1,"repository":{"full_name":"octo/hello-world"}}'
signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$GITHUB_WEBHOOK_SECRET" | sed 's/^.* //')
cat <<MSG

Hookline is running (Ctrl-C stops it):
  embedded broker   $KAFKA_BROKERS            logs: $state/logs/broker.log
  gateway           http://127.0.0.1:8080     logs: $state/logs/gateway.log
                    /healthz /readyz /metrics, POST /webhooks/{github,stripe,shop,gitlab,legacy}
  configuration     deploy/hookline.yaml (demo secrets from the environment, e.g. GITHUB_WEBHOOK_SECRET=$GITHUB_WEBHOOK_SECRET)

Send a signed GitHub webhook:
  curl -s -X POST http://127.0.0.1:8080/webhooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' -H "X-GitHub-Delivery: \$(date +%s%N)" -H 'X-Hub-Signature-256: sha256=$signature' -d '$body'
MSG
wait -n "${pids[@]}"

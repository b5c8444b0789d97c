#!/usr/bin/env bash
# make test-compose: the compose deployment end to end, on this machine's podman.
#   1. scripts/compose.sh up: local images, kafka-1 (Tansu), three gateways behind HAProxy,
#      orders, payments, ci and the monitor, every healthcheck passing;
#   2. a signed GitHub push through the load balancer (127.0.0.1) becomes a build in the CI service,
#      and one over HTTPS (HTTP/2, the self-signed certificate trusted) is accepted too;
#      a renewed certificate is loaded into HAProxy without a restart, every https push meanwhile
#      accepted; the monitor reads each gateway replica (dns+), and they count these pushes between them;
#   3. the sources' secrets are files mounted into the gateways (uid 10001, mode 0400), not in their
#      environment or podman-compose's log; a GitHub secret rotated through its file and SIGHUP
#      (scripts/compose.sh secret): new and old accepted, then the new one alone;
#   4. COUNT signed Shopify orders at RATE per second; after a third of them one gateway container
#      is killed (podman kill); every order acknowledged with 2xx must end up in the orders service;
#   5. `hookline lag` in the monitor's container sees the orders group caught up, and sqlite3 in the
#      orders container reads its database (docs/deploy.md, "The CLI");
#   6. everything is torn down, volumes included, whatever happened.
# Environment: COUNT (600), RATE (100 per second), GATEWAYS (3); the host ports as in
# scripts/compose.sh, each replaced by a free one when taken.
set -euo pipefail
cd "$(dirname "$0")/.."
export HOOKLINE_COMPOSE_PROJECT=${HOOKLINE_COMPOSE_PROJECT:-hookline-test}
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-dev-github-secret}
export SHOPIFY_WEBHOOK_SECRET=${SHOPIFY_WEBHOOK_SECRET:-dev-shopify-secret}
count=${COUNT:-600}
rate=${RATE:-100}
state=${HOOKLINE_STATE:-.state}
work=$(mktemp -d)   # request bodies
started=$SECONDS
say() { printf '\033[1mtest-compose:\033[0m %s\n' "$*"; }

finish() {
  local code=$?
  trap - EXIT
  # The https pushes of the certificate renewal, should the script stop during it.
  if [ -n "${pushing:-}" ]; then kill "$pushing" 2>/dev/null || true; wait "$pushing" 2>/dev/null || true; fi
  rm -rf "$work"
  if [ "$code" != 0 ]; then
    say "FAILED; container states and the last lines of each log:"
    scripts/compose.sh ps || true
    for name in $(scripts/compose.sh names 2>/dev/null); do
      echo "--- $name"; scripts/compose.sh logs --tail 10 "$name" 2>&1 || true
    done
  fi
  local down_started=$SECONDS
  scripts/compose.sh down -v || true
  say "torn down in $((SECONDS - down_started)) s; total $((SECONDS - started)) s"
  exit "$code"
}
trap finish EXIT

# A leftover from an interrupted run would hold the ports.
scripts/compose.sh down -v >/dev/null 2>&1 || true

# The usual host ports when free, others when not (a `make run` may hold them on a shared machine).
source scripts/lib/broker.sh   # free_loopback_port
export HOOKLINE_PORT=$(free_loopback_port "${HOOKLINE_PORT:-8080}")
export HOOKLINE_TLS_PORT=$(free_loopback_port "${HOOKLINE_TLS_PORT:-8443}")
export HOOKLINE_ORDERS_PORT=$(free_loopback_port "${HOOKLINE_ORDERS_PORT:-8091}")
export HOOKLINE_PAYMENTS_PORT=$(free_loopback_port "${HOOKLINE_PAYMENTS_PORT:-8092}")
export HOOKLINE_CI_PORT=$(free_loopback_port "${HOOKLINE_CI_PORT:-8093}")
export HOOKLINE_MONITOR_PORT=$(free_loopback_port "${HOOKLINE_MONITOR_PORT:-8099}")
lb=http://127.0.0.1:$HOOKLINE_PORT

up_started=$SECONDS
scripts/compose.sh up
say "stack up and healthy in $((SECONDS - up_started)) s"
ca=$(scripts/compose.sh tls-certificate)   # the load balancer's, self-signed

# push SECRET FILE [SENT]: a GitHub push through the load balancer ($base, else $lb), FILE's bytes
# signed with SECRET and SENT's (FILE's by default) sent; prints the HTTP status (with $write_out,
# what curl's -w makes of it).
push() {
  local signature
  signature=$(openssl dgst -sha256 -hmac "$1" < "$2" | sed 's/^.* //')
  curl -s -o /dev/null -w "${write_out:-%{http_code\}}" -X POST "${base:-$lb}/webhooks/github" -H 'Content-Type: application/json' \
    --cacert "$ca" \
    -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)" \
    -H "X-Hub-Signature-256: sha256=$signature" --data-binary @"${3:-$2}"
}
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# push_body SHA: the file of a push body for the commit SHA.
push_body() {
  printf '{"ref":"refs/heads/main","after":"%s","repository":{"full_name":"octo/hookline-compose"}}' "$1" > "$work/push-$1.json"
  echo "$work/push-$1.json"
}

# --- a GitHub push becomes a CI build ------------------------------------------------------------
sha=$(random_hex 20)
body=$(push_body "$sha")
status=$(push "$GITHUB_WEBHOOK_SECRET" "$body")
[[ $status == 2?? ]] || { say "the signed GitHub push got HTTP $status"; exit 1; }
bad=$(push "$GITHUB_WEBHOOK_SECRET" "$body" "$(push_body "${sha}0")")
[ "$bad" = 401 ] || { say "a push with a wrong signature got HTTP $bad, not 401"; exit 1; }
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$HOOKLINE_CI_PORT/builds?limit=500" | grep -q "$sha" && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$HOOKLINE_CI_PORT/builds?limit=500" | grep -q "$sha" || { say "the push never became a build in the CI service"; exit 1; }
say "signed GitHub push → $status → build $sha in the CI service; a forged one → 401"
# The same over HTTPS (deploy/compose.tls.yaml), HTTP/2 to the load balancer, trusting its certificate.
tls=$(base=https://127.0.0.1:$HOOKLINE_TLS_PORT write_out='%{http_code} HTTP/%{http_version}' push "$GITHUB_WEBHOOK_SECRET" "$(push_body "$(random_hex 20)")")
[[ $tls == "2"??" HTTP/2" ]] || { say "a signed push over https got '$tls', not a 2xx over HTTP/2"; exit 1; }
say "the same over https://127.0.0.1:$HOOKLINE_TLS_PORT → $tls"
# A renewal: a certificate of a new key loaded into the running HAProxy (scripts/compose.sh secret
# hookline_tls.pem, its runtime API) while https pushes, each on a new connection trusting either
# certificate, go on; every one is accepted, and new connections get the new certificate. A key
# that is not the certificate's (refused by compose.sh) and a damaged chain (by HAProxy, the file
# put back) change nothing.
cp "$ca" "$work/old.crt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/renewed.key" -out "$work/renewed.crt" 2>/dev/null
cat "$work/old.crt" "$work/renewed.crt" >"$work/both.crt"
# serves_renewed: whether a new connection to the load balancer gets the renewed certificate.
serves_renewed() {
  [ "$(openssl s_client -connect "127.0.0.1:$HOOKLINE_TLS_PORT" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256)" \
    = "$(openssl x509 -noout -fingerprint -sha256 -in "$work/renewed.crt")" ]
}
(
  export ca=$work/both.crt base=https://127.0.0.1:$HOOKLINE_TLS_PORT
  # Until the renewal is done (at most 300, should this script stop first), then 5 more.
  for _ in $(seq 300); do [ -e "$work/renewed" ] && break; push "$GITHUB_WEBHOOK_SECRET" "$(push_body "$(random_hex 20)")" || true; echo; done
  for _ in 1 2 3 4 5; do push "$GITHUB_WEBHOOK_SECRET" "$(push_body "$(random_hex 20)")" || true; echo; done
) >"$work/during" &
pushing=$!
sleep 1
cat "$work/renewed.crt" "$work/renewed.key" | scripts/compose.sh secret hookline_tls.pem
touch "$work/renewed"
wait "$pushing" || true
pushing=
during=$(wc -l <"$work/during")
[ "$(grep -c '^2' "$work/during")" = "$during" ] || { say "https pushes during the renewal got $(sort "$work/during" | uniq -c | tr -s ' \n' ' '), not all 2xx"; exit 1; }
serves_renewed || { say "the load balancer does not serve the renewed certificate"; exit 1; }
cmp -s "$ca" "$work/renewed.crt" || { say "$ca is not the renewed certificate"; exit 1; }
tls=$(base=https://127.0.0.1:$HOOKLINE_TLS_PORT ca=$work/old.crt push "$GITHUB_WEBHOOK_SECRET" "$(push_body "$(random_hex 20)")" || true)
[ "$tls" = 000 ] || { say "a client trusting only the old certificate got HTTP $tls after the renewal"; exit 1; }
if cat "$work/old.crt" "$work/renewed.key" | scripts/compose.sh secret hookline_tls.pem 2>/dev/null; then
  say "a certificate with another certificate's key was taken"; exit 1
fi
# A damaged chain passes that check; HAProxy refuses it, and the file is put back.
damaged=$(printf -- '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----')
if cat "$work/renewed.crt" "$work/renewed.key" <(echo "$damaged") | scripts/compose.sh secret hookline_tls.pem 2>/dev/null; then
  say "a certificate with a damaged chain was taken"; exit 1
fi
cmp -s <(scripts/compose.sh exec haproxy cat /run/secrets/hookline_tls_pem) <(cat "$work/renewed.crt" "$work/renewed.key") \
  || { say "after HAProxy refused a certificate, its file was not put back"; exit 1; }
serves_renewed || { say "after a refused certificate the load balancer no longer serves the renewed one"; exit 1; }
say "a renewed certificate loaded into HAProxy live: $during https pushes meanwhile all 2xx, new connections get it; a mismatched key refused, a damaged chain refused by HAProxy and the file put back"
for path in /metrics /metrics/ //metrics; do
  metrics=$(curl -s -o /dev/null -w '%{http_code}' "$lb$path")
  [ "$metrics" = 404 ] || { say "the load balancer serves a gateway's $path (HTTP $metrics), where providers reach it"; exit 1; }
done
# A body announced over max_body_bytes: 413 from HAProxy before it asks for the body (curl sends
# Expect: 100-continue for a body this size, and prints each status line it gets).
head -c 2000000 /dev/zero > "$work/oversize"
# (curl may fail to send the body once the answer has come: that is the point.)
curl -s -o /dev/null -D "$work/oversize.head" -X POST -H 'Content-Type: application/json' --data-binary @"$work/oversize" "$lb/webhooks/github" || true
statuses=$(grep '^HTTP/' "$work/oversize.head" | tr -d '\r' | paste -sd' ' || true)
[[ $statuses == "HTTP/1.1 413 "* && $statuses != *"HTTP/1.1 100"* ]] || { say "an announced 2 MB body through the load balancer got: $statuses (want one 413, no 100 Continue)"; exit 1; }
say "an announced 2 MB body: $statuses from the load balancer, before it was sent"

# --- a push near max_body_bytes (1 MiB) goes through the real broker -------------------------------
# Over Kafka's default record limit with its headers: the gateway creates its topics to take it.
big_sha=$(random_hex 20)
big=$work/big.json
python3 -c 'import sys; head = "{\"ref\":\"refs/heads/main\",\"after\":\"%s\",\"repository\":{\"full_name\":\"octo/hookline-compose\"},\"padding\":\"" % sys.argv[1]; sys.stdout.write(head + "x" * (1040000 - len(head) - 2) + "\"}")' "$big_sha" > "$big"
status=$(push "$GITHUB_WEBHOOK_SECRET" "$big")
big_bytes=$(stat -c %s "$big")
[[ $status == 2?? ]] || { say "a signed GitHub push of $big_bytes bytes got HTTP $status"; exit 1; }
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$HOOKLINE_CI_PORT/builds?limit=500" | grep -q "$big_sha" && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$HOOKLINE_CI_PORT/builds?limit=500" | grep -q "$big_sha" || { say "the large push never became a build in the CI service"; exit 1; }
say "a signed push of $big_bytes bytes → $status → build $big_sha in the CI service"

# --- the monitor reads every gateway replica (dns+http://gateway:8080) ------------------------------
# One line per replica in /api/status, each under its own address and answering; together they
# count the pushes above, at least three (a look every 5 s).
replicas() {
  curl -sf "http://127.0.0.1:$HOOKLINE_MONITOR_PORT/api/status" | python3 -c '
import json, sys
gateways = json.load(sys.stdin)["gateways"]
up = [g for g in gateways if g["up"]]
print(len(gateways), len(up), len({g["url"] for g in up}), sum(g["requests"].get("2xx", 0) for g in up))'
}
want="${GATEWAYS:-3} ${GATEWAYS:-3} ${GATEWAYS:-3}"
for _ in $(seq 30); do seen=$(replicas || true); [[ $seen == "$want "* && ${seen##* } -ge 3 ]] && break; sleep 0.5; done
[[ $seen == "$want "* && ${seen##* } -ge 3 ]] \
  || { say "the monitor's /api/status shows gateways, up, distinct, 2xx: '$seen', not ${GATEWAYS:-3} replicas up with 3 pushes between them"; exit 1; }
say "the monitor reads each of the ${GATEWAYS:-3} gateway replicas apart; they answered ${seen##* } requests 2xx"

# --- the sources' secrets: files in the gateways alone, rotated without new containers -------------
gateway_env=$(scripts/compose.sh exec gateway env)
grep -qx 'GITHUB_WEBHOOK_SECRET=file:/run/secrets/github_webhook_secret' <<<"$gateway_env" \
  || { say "the gateway's GITHUB_WEBHOOK_SECRET is not its mounted secret file"; exit 1; }
for value in "$GITHUB_WEBHOOK_SECRET" "$SHOPIFY_WEBHOOK_SECRET"; do
  if grep -qF -- "$value" - "$state/podman/compose.log" <<<"$gateway_env"; then
    say "a secret's value is in the gateway's environment or in $state/podman/compose.log"; exit 1
  fi
done
mode=$(scripts/compose.sh exec gateway stat -c '%u %a' /run/secrets/github_webhook_secret)
[ "$mode" = "10001 400" ] || { say "the gateway's secret file is owned and readable by '$mode', not '10001 400'"; exit 1; }
# expect STATUS SECRET...: pushes signed with each SECRET, two per gateway (the load balancer takes
# turns), all answered STATUS (2xx: any 2xx).
expect() {
  local want=$1 secret got _
  shift
  for secret in "$@"; do
    for _ in $(seq $((2 * ${GATEWAYS:-3}))); do
      got=$(push "$secret" "$rotation_body")
      [[ $got == $want ]] || { say "a push signed with the $( [ "$secret" = "$rotated" ] && echo new || echo old ) secret got HTTP $got, not $want"; exit 1; }
    done
  done
}
rotated=rotated-$(random_hex 12)
rotation_body=$(push_body "$(random_hex 20)")
printf '%s\n%s\n' "$rotated" "$GITHUB_WEBHOOK_SECRET" | scripts/compose.sh secret github_webhook_secret
expect '2??' "$rotated" "$GITHUB_WEBHOOK_SECRET"
printf '%s\n' "$rotated" | scripts/compose.sh secret github_webhook_secret
# Blank input is refused before the file is touched.
if printf ' \n\n' | scripts/compose.sh secret github_webhook_secret 2>/dev/null; then say "a blank secret was written"; exit 1; fi
expect 401 "$GITHUB_WEBHOOK_SECRET"
expect '2??' "$rotated"
say "secrets are files owned by uid 10001, mode 0400, in no environment; a rotation through the file and SIGHUP took the new and old secret, then the new one alone"

# --- orders under load while a gateway dies ------------------------------------------------------
victim=$(scripts/compose.sh names | grep -E "^${HOOKLINE_COMPOSE_PROJECT}_gateway_[0-9]+$" | sed -n 2p)
[ -n "$victim" ] || { say "found no second gateway container to kill"; exit 1; }
say "sending $count Shopify orders at $rate/s; killing $victim after $((count / 3))"
load_started=$SECONDS
if ! python3 scripts/lib/compose_load.py --url "$lb/webhooks/shop" --secret "$SHOPIFY_WEBHOOK_SECRET" \
  --orders-url "http://127.0.0.1:$HOOKLINE_ORDERS_PORT" --count "$count" --rate "$rate" --kill-at $((count / 3)) \
  --kill-cmd "scripts/compose.sh kill $victim" --missing-out "$work/missing"; then
  # Where an acknowledged order the service lacks is: in Kafka (the service did not apply it) or not.
  if [ -s "$work/missing" ]; then
    scripts/compose.sh exec monitor hookline tail shop orders/create --last 10000 --payload > "$work/tail" 2>&1 || true
    scripts/compose.sh exec monitor hookline lag --group hookline-orders || true
    while read -r order; do
      if grep -q "\"id\":$order," "$work/tail"; then
        say "order $order is in Kafka: $(grep -B1 "\"id\":$order," "$work/tail" | head -1)"
      else
        say "order $order is not among the $(grep -c 'orders.create' "$work/tail") records of webhooks.shop.orders.create"
      fi
    done < "$work/missing"
  fi
  exit 1
fi
# Gaps the orders consumer read again: records the embedded broker handed out past one it had not
# stored yet, which a consumer believing the fetch would have skipped (README, the embedded broker).
regaps=$(scripts/compose.sh logs "${HOOKLINE_COMPOSE_PROJECT}_orders_1" 2>&1 | grep -c 'records a fetch had skipped were read again' || true)
say "load and accounting in $((SECONDS - load_started)) s: every acknowledged order is in the orders service ($regaps fetch gap(s) read again)"

# --- the CLI inside the deployment, as docs/deploy.md runs it --------------------------------------
# The orders service's group has committed everything it applied: lag 0 on each of its partitions
# (--max-lag fails on a partition without a commit too), read by `hookline lag` in the monitor's
# container, which is the only way to the brokers from outside the compose network.
in_container() { scripts/compose.sh exec "$@"; }
lag_ok=
for _ in $(seq 30); do
  if in_container monitor hookline lag --group hookline-orders --max-lag 0 >/dev/null 2>&1; then lag_ok=1; break; fi
  sleep 1
done
in_container monitor hookline lag --group hookline-orders || true
[ -n "$lag_ok" ] || { say "hookline lag in the monitor container never showed the orders group caught up"; exit 1; }
offsets=$(in_container orders sqlite3 data/orders.sqlite "SELECT count(*) FROM kafka_offsets") \
  && [ "${offsets:-0}" -gt 0 ] || { say "sqlite3 in the orders container did not read its offsets (${offsets:-nothing})"; exit 1; }
say "hookline lag in the monitor container: hookline-orders caught up; sqlite3 reads the orders database (offsets of $offsets partition(s))"

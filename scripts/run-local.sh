#!/usr/bin/env bash
# `make run`: the whole Hookline topology on this machine, from release binaries:
#   the embedded broker, GATEWAYS gateway replicas behind HAProxy on 127.0.0.1:8080,
#   every consumer service of deploy/hookline.yaml's services: (orders, payments and CI ship)
#   on its listen port, and the lag monitor.
# Every Hookline process reads deploy/hookline.yaml, the same file deploy/compose.yaml mounts.
# State (service databases, logs, generated HAProxy config) lives in $HOOKLINE_STATE (.state/);
# a second run picks up where the first stopped. `make clean-state` wipes it.
# Ctrl-C or SIGTERM stops everything, in reverse order of start, each reported as it stops
# ("stopped NAME (status N)"; `make test-run` checks the order and the statuses).
#
# Environment: GATEWAYS (3), HOOKLINE_PORT (8080, the load balancer), HOOKLINE_STATE (.state),
# HOOKLINE_BIN (.build/release), STOP_SECONDS (30: each process's time to stop before SIGKILL),
# and the sources' secrets (demo values otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)  # as /proc/PID/cwd shows it, symlinks resolved
gateways=${GATEWAYS:-3}
lb_port=${HOOKLINE_PORT:-8080}
bin=${HOOKLINE_BIN:-$root/.build/release}
state=$(mkdir -p "${HOOKLINE_STATE:-.state}" && cd "${HOOKLINE_STATE:-.state}" && pwd -P)
config=$root/deploy/hookline.yaml
mkdir -p "$state/logs" "$state/data"
source scripts/lib/broker.sh
source scripts/lib/haproxy.sh
source scripts/lib/config.sh

# The consumer services: NAME PORT lines, from the configuration.
service_list=$(config_services "$config") || exit 1
services=$(awk '{print $1}' <<<"$service_list")

[[ $gateways =~ ^[1-9][0-9]?$ ]] || { echo "run: GATEWAYS must be 1..99, got $gateways" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "run: haproxy is missing (scripts/setup.sh --run installs it)" >&2; exit 1; }
for role in gateway $services monitor ""; do
  executable=$bin/hookline${role:+-$role}
  [ -x "$executable" ] || { echo "run: $executable is missing (make run builds it)" >&2; exit 1; }
done

# A make run killed outright (SIGKILL, an OOM kill) could not stop what it started, and left its
# pids file. When the run that wrote it is gone, stop what it names that is still its: a process
# started in the state folder (each is) whose command names this checkout or that folder, newest
# first, as a stop does. When that run is still up, this is a second make run.
is_ours() {
  [ "/proc/$1/cwd" -ef "$state" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -e "$root" -e "$state"
}
if [ -f "$state/pids" ]; then
  read -r first earlier <"$state/pids" || true
  if [ "${first:-}" = make-run ] && [ "/proc/${earlier:-0}/cwd" -ef "$root" ] \
     && tr '\0' ' ' <"/proc/$earlier/cmdline" 2>/dev/null | grep -q run-local.sh; then
    echo "run: another \`make run\` (pid $earlier) is up with $state; stop it first" >&2
    exit 1
  fi
  # A file written before runs named themselves in it cannot tell a run still up from a killed
  # one: refuse while what it names lives.
  if [ "${first:-}" != make-run ]; then
    while read -r name pid; do
      if is_ours "$pid"; then
        echo "run: $name (pid $pid), named in $state/pids by an earlier \`make run\`, is still up; stop that run first" >&2
        exit 1
      fi
    done <"$state/pids"
  fi
  left=()
  while read -r name pid; do
    [ "$name" != make-run ] && is_ours "$pid" || continue
    echo "run: stopping $name (pid $pid), left running by a \`make run\` that was killed"
    kill -TERM "$pid" 2>/dev/null && left+=("$pid")
  done < <(tac "$state/pids")
  for _ in $(seq 300); do
    alive=0; for pid in "${left[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$state/pids"
fi

# Ports: the load balancer, the gateways behind it, and what the configuration gives the
# services and the monitor. Refuse to start over a port something else holds.
gateway_port() { echo $((8100 + $1)); }
service_ports=($(awk '{print $2}' <<<"$service_list") 8099)
for port in "$lb_port" $(for i in $(seq "$gateways"); do gateway_port "$i"; done) "${service_ports[@]}"; do
  if [ "$(free_loopback_port "$port")" != "$port" ]; then
    echo "run: 127.0.0.1:$port is taken (is another \`make run\` up?)" >&2
    exit 1
  fi
done

# Demo secrets, unless the environment already has them; written down for `hookline send`.
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-dev-github-secret}
export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_dev-stripe-secret}
export SHOPIFY_WEBHOOK_SECRET=${SHOPIFY_WEBHOOK_SECRET:-dev-shopify-secret}
export GITLAB_WEBHOOK_TOKEN=${GITLAB_WEBHOOK_TOKEN:-dev-gitlab-token}
export LEGACY_WEBHOOK_SECRET=${LEGACY_WEBHOOK_SECRET:-dev-legacy-secret}
broker_port=$(free_loopback_port 9092)
export KAFKA_BROKERS="127.0.0.1:$broker_port"
export HOOKLINE_CONFIG=$config
# Quoted for the shell (a secret may hold `$`, spaces, quotes or `;`), and readable by the owner
# only from the start.
(
  umask 077
  for name in HOOKLINE_CONFIG KAFKA_BROKERS GITHUB_WEBHOOK_SECRET STRIPE_WEBHOOK_SECRET \
    SHOPIFY_WEBHOOK_SECRET GITLAB_WEBHOOK_TOKEN LEGACY_WEBHOOK_SECRET; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done >"$state/env.new"
  # The binaries it runs, `hookline` among them, by their bare names.
  printf 'export PATH=%q:"$PATH"\n' "$bin" >>"$state/env.new"
)
mv "$state/env.new" "$state/env"
chmod 600 "$state/env"

pids=()
# This run first, so that the next can tell whether it is still up.
echo "make-run $$" >"$state/pids"
declare -A gone=()  # pid → status, for what exited by itself while running (reported then)
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # Nothing may end the stop half-way: with the terminal gone (closed, an SSH drop) the messages
  # below fail, and under `set -e` the first would leave every process running. Nor may a second
  # signal: make passes a SIGTERM sent to its process group on to this script as well, which ran
  # `exit` in the middle of the stop, leaving every process running (the traps below now ignore
  # more signals first), or cut a `wait` short (below). Each process gets STOP_SECONDS to exit
  # after its signal, then SIGKILL: with signals ignored, nothing else could end a hung stop.
  set +e
  trap '' INT TERM HUP
  echo; echo "stopping…"
  local i pid name code signal watchdog
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    [ -z "${gone[$pid]:-}" ] || continue
    name=$(awk -v pid="$pid" '$2 == pid {print $1}' "$state/pids")
    # HAProxy stops at once on SIGTERM, cutting the requests it is passing on; SIGUSR1 is its
    # soft stop (HAProxy's management guide): it stops listening, lets those finish
    # (hard-stop-after bounds it) and exits 0.
    signal=TERM; [ "$name" = haproxy ] && signal=USR1
    kill -"$signal" "$pid" 2>/dev/null || true
    # The watchdog: SIGKILL after STOP_SECONDS, unless told (USR1) that the process exited.
    ( sleep "${STOP_SECONDS:-30}" & sleeper=$!
      trap 'kill "$sleeper" 2>/dev/null; exit 0' USR1
      wait "$sleeper" && kill -KILL "$pid" 2>/dev/null ) &
    watchdog=$!
    code=0; wait "$pid" 2>/dev/null || code=$?
    # Bash defers a `trap` change for a signal whose trap is running until that trap returns, and
    # a stop started by a signal runs inside its trap: make's copy of a SIGTERM can still arrive,
    # and cuts `wait` short with 143 while the process runs on. Wait again for its own status.
    while [ "$code" -gt 128 ] && kill -0 "$pid" 2>/dev/null; do
      code=0; wait "$pid" 2>/dev/null || code=$?
    done
    kill -USR1 "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
    [ "$code" = 137 ] && echo "$name did not stop within ${STOP_SECONDS:-30} s of SIG$signal; killed"
    echo "stopped $name (status $code)"
  done
  rm -f "$state/pids"
}
trap stop EXIT
trap 'trap "" INT TERM HUP; exit 130' INT
trap 'trap "" INT TERM HUP; exit 143' TERM
trap 'trap "" INT TERM HUP; exit 129' HUP

# start NAME COMMAND...: runs it from the state folder (so data/*.sqlite lands there), logs to logs/NAME.log.
# Each runs in a session of its own, so Ctrl-C reaches only this script, which then stops them in
# reverse order: the gateways drain and flush, and the services commit, while the broker still runs.
start() {
  local name=$1; shift
  (cd "$state" && exec setsid "$@") >"$state/logs/$name.log" 2>&1 &
  pids+=($!)
  echo "$name $!" >>"$state/pids"
}
# wait_healthy NAME URL: until it answers 200 (30 s at most), else show its log and fail.
wait_healthy() {
  local pid; pid=$(awk -v name="$1" '$1 == name {print $2}' "$state/pids")
  for _ in $(seq 300); do curl -sf -o /dev/null "$2" && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "run: $1 did not become healthy at $2; the end of $state/logs/$1.log:" >&2
  tail -20 "$state/logs/$1.log" >&2
  exit 1
}

# A new cluster id at every start: the memory-only broker comes back empty, and the services
# recognise their stored offsets as another cluster's and read the new log from its beginning.
start broker bash -c "source '$root/scripts/lib/broker.sh'; tansu_run '$KAFKA_BROKERS' hookline-local-$(date +%s)"
wait_for_port "$broker_port"

monitor_gateways=()
backends=""
for i in $(seq "$gateways"); do
  port=$(gateway_port "$i")
  start "gateway-$i" "$bin/hookline-gateway" --config "$config" --listen "127.0.0.1:$port"
  wait_healthy "gateway-$i" "http://127.0.0.1:$port/healthz"
  monitor_gateways+=(--gateway "http://127.0.0.1:$port")
  backends+="    server gateway-$i 127.0.0.1:$port check"$'\n'
done

# HAProxy: round robin over the replicas (scripts/lib/haproxy.sh).
haproxy_config "$lb_port" "$backends" >"$state/haproxy.cfg"
start haproxy haproxy -db -f "$state/haproxy.cfg"
wait_healthy haproxy "http://127.0.0.1:$lb_port/healthz"

for service in $services; do
  start "$service" "$bin/hookline-$service" --config "$config"
done
while read -r service port; do
  wait_healthy "$service" "http://127.0.0.1:$port/healthz"
done <<<"$service_list"
start monitor "$bin/hookline-monitor" --config "$config" "${monitor_gateways[@]}"
wait_healthy monitor http://127.0.0.1:8099/healthz

cat <<MSG

Hookline is running (Ctrl-C stops it). State: $state (make clean-state wipes it)
  load balancer     http://127.0.0.1:$lb_port     HAProxy over $gateways gateway(s): 127.0.0.1:$(gateway_port 1)..$(gateway_port "$gateways")
                    POST /webhooks/{github,stripe,shop,gitlab,legacy}; /healthz /readyz /metrics
$(while read -r service port; do
    case $service in orders) page=/orders ;; payments) page=/payments ;; ci) page=/builds ;; *) page= ;; esac
    printf '  %-17s http://127.0.0.1:%s%s\n' "$service" "$port" "$page"
  done <<<"$service_list")
  monitor           http://127.0.0.1:8099     lag per group, topic and partition; /metrics
  embedded broker   $KAFKA_BROKERS (memory only: empty at each start)
  logs              $state/logs/
  configuration     $config
$(sed -n '/^sources:/,/^services:/p' "$config" | sed '$d' | sed 's/^/                    /')
  demo secrets      $state/env

Send a signed test webhook:
MSG
echo "  source $state/env && $bin/hookline send github push --url http://127.0.0.1:$lb_port"
echo "ready" >"$state/ready"
trap 'trap "" INT TERM HUP; rm -f "$state/ready"; stop' EXIT
# A replica that dies is reported and left out by HAProxy; the rest keep serving. Only the
# broker's exit ends the run, since nothing works without it.
running=("${pids[@]}")
while [ "${#running[@]}" -gt 0 ]; do
  exited=
  wait -n -p exited "${running[@]}" && code=0 || code=$?
  [ -n "$exited" ] || continue
  name=$(awk -v pid="$exited" '$2 == pid {print $1}' "$state/pids")
  echo "run: $name (pid $exited) exited with status $code; see $state/logs/$name.log" >&2
  gone[$exited]=$code
  [ "$name" = broker ] && exit 1
  remaining=()
  for pid in "${running[@]}"; do [ "$pid" = "$exited" ] || remaining+=("$pid"); done
  running=("${remaining[@]}")
done

# The embedded broker (Tansu, memory storage) for scripts; source it from bash.
#
#   port=$(free_loopback_port [PREFERRED])   # PREFERRED when free, else any free port
#   tansu_run 127.0.0.1:$port CLUSTER_ID >log 2>&1 &   # runs the broker in the foreground
#   wait_for_port $port                        # until it accepts connections (10 s at most)

HOOKLINE_ROOT=${HOOKLINE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

free_loopback_port() {
  python3 - "${1:-0}" <<'PY'
import socket, sys
for port in (int(sys.argv[1]), 0):
    try:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port)); print(s.getsockname()[1]); break
    except OSError:
        continue
PY
}

tansu_run() {
  local address=$1 cluster=$2
  RUST_LOG=${RUST_LOG:-warn} exec "$HOOKLINE_ROOT/.deps/bin/tansu" broker --listener-url "tcp://$address" \
    --advertised-listener-url "tcp://$address" --storage-engine memory://tansu/ --cluster-id "$cluster"
}

wait_for_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

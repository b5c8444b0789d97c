# haproxy_config LB_PORT SERVERS [BACKEND_EXTRA]: HAProxy's configuration for gateways on this
# machine, on stdout: deploy/haproxy/haproxy.cfg's settings (round robin over the replicas, each
# checked on /readyz every second and taken out after two failures; a request whose replica died
# before answering goes to another one: it was never acknowledged, so the provider would send it
# again anyway, and event ids absorb it; a body announced over gateway.max_body_bytes refused
# before it is read) with fixed addresses instead of compose's DNS.
# SERVERS are `server NAME HOST:PORT check` lines; BACKEND_EXTRA, more lines for the backend.
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"   # config_max_body_bytes
haproxy_config() {
  local lb_port=$1 servers=$2 extra=${3:-}
  # The gateways' limit, refused here before any of the body is read, as deploy/haproxy/haproxy.cfg does.
  local max_body
  max_body=$(config_max_body_bytes) || return 1
  cat <<CFG
global
    log stderr format short local0 warning
    maxconn 4096
    hard-stop-after 15s
defaults
    mode http
    log global
    option httplog
    option redispatch
    retries 3
    retry-on conn-failure empty-response response-timeout
    timeout connect 1s
    timeout client 30s
    timeout server 10s
    timeout check 1s
frontend webhooks
    bind 127.0.0.1:$lb_port
    http-request return status 413 content-type application/json string '{"error":"body_too_large","message":"The body is larger than the $max_body bytes this gateway accepts."}' if { req.hdr_val(content-length) gt $max_body }
    http-request wait-for-body time 30s
    default_backend gateways
backend gateways
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 1s fall 2 rise 2
$extra
$servers
CFG
}

#!/usr/bin/env bash
# Loads the certificate HAProxy serves on 8443 into the running HAProxy, from its file
# ($HOOKLINE_TLS_CERT, deploy/compose.tls.yaml) once a renewal has rewritten it in place: new
# handshakes use it at once, connections already open keep theirs, nothing restarts. Runs in the
# haproxy container, through the runtime API haproxy.cfg opens on the container's loopback:
#
#   docker compose -f deploy/compose.yaml -f deploy/compose.tls.yaml exec haproxy \
#     bash /usr/local/etc/haproxy/reload-certificate.sh
#
# A file HAProxy cannot use (no certificate, a key of another certificate, a damaged chain) is
# refused whole and the certificate served stays: exit status 1, as for any failure before the
# commit (the file unreadable, the API not answering), which changes nothing either. Prints what
# HAProxy serves afterwards. The API takes a
# payload of up to HAProxy's tune.bufsize (16 KB by default): a chain and key past that need it
# raised in haproxy.cfg.
set -euo pipefail
cert=${HOOKLINE_TLS_CERT:?HOOKLINE_TLS_CERT names no certificate: is deploy/compose.tls.yaml in use?}

# api COMMAND [PAYLOAD]: one runtime API command (a connection each), its answer on stdout.
api() {
  { exec 3<>/dev/tcp/127.0.0.1/9999; } 2>/dev/null || { echo "its runtime API does not answer on 127.0.0.1:9999"; return 0; }
  if [ $# -gt 1 ]; then printf '%s <<\n%s\n\n' "$1" "$2" >&3; else printf '%s\n' "$1" >&3; fi
  cat <&3
  exec 3<&-
}

[ -r "$cert" ] || { echo "reload-certificate: cannot read $cert" >&2; exit 1; }
# The payload ends at its first empty line, so the PEM goes without blank lines or CRs.
pem=$(tr -d '\r' <"$cert" | grep -v '^[[:space:]]*$') || { echo "reload-certificate: $cert is empty" >&2; exit 1; }
answer=$(api "set ssl cert $cert" "$pem")
if [[ $answer != *"Transaction created"* && $answer != *"Transaction updated"* ]]; then
  echo "reload-certificate: HAProxy did not take $cert, and serves the one it had: ${answer//$'\n'/ }" >&2
  exit 1
fi
answer=$(api "commit ssl cert $cert")
if [[ $answer != *"Success!"* ]]; then
  api "abort ssl cert $cert" >/dev/null || true
  echo "reload-certificate: HAProxy did not take $cert, and serves the one it had: ${answer//$'\n'/ }" >&2
  exit 1
fi
# Committed: what follows only reports, and fails nothing.
api "show ssl cert $cert" | grep -E '^(Serial|notAfter|Subject|SHA1 FingerPrint):' || true

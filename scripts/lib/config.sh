# What the scripts read from a Hookline configuration (default deploy/hookline.yaml), in the
# one-line forms the shipped file uses.
config_file() { echo "${1:-$(dirname "${BASH_SOURCE[0]}")/../../deploy/hookline.yaml}"; }

# config_max_body_bytes [FILE]: gateway.max_body_bytes; an error when it is not a number.
config_max_body_bytes() {
  local file value
  file=$(config_file "${1:-}")
  value=$(awk '/^ *max_body_bytes:/ {print $2; exit}' "$file")
  [[ $value =~ ^[0-9]+$ ]] || { echo "config_max_body_bytes: no gateway.max_body_bytes in $file" >&2; return 1; }
  echo "$value"
}

# config_services [FILE]: the consumer services of a Hookline configuration (default
# deploy/hookline.yaml), one "NAME PORT" line each (PORT from its listen), in the file's order.
# Reads the one-line form the shipped file uses: `  name: { ..., listen: "host:port" }`; a service
# written otherwise (or without listen) is an error, not left out.
config_services() {
  local file
  file=$(config_file "${1:-}")
  awk '
    /^services:/ { inside = 1; next }
    /^[^ #]/ { inside = 0 }
    inside && /^  [a-z0-9_-]+:/ {
      name = $1; sub(/:$/, "", name)
      if (match($0, /listen: *"[^"]*:[0-9]+"/)) {
        port = substr($0, RSTART, RLENGTH); sub(/"$/, "", port); sub(/.*:/, "", port)
        print name, port
      } else {
        print "config_services: services." name " in " FILENAME " has no listen: \"host:port\" on its line" > "/dev/stderr"
        failed = 1
      }
    }
    END { exit failed }
  ' "$file"
}

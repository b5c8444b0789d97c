# config_services [FILE]: the consumer services of a Hookline configuration (default
# deploy/hookline.yaml), one "NAME PORT" line each (PORT from its listen), in the file's order.
# Reads the one-line form the shipped file uses: `  name: { ..., listen: "host:port" }`; a service
# written otherwise (or without listen) is an error, not left out.
config_services() {
  local file=${1:-$(dirname "${BASH_SOURCE[0]}")/../../deploy/hookline.yaml}
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

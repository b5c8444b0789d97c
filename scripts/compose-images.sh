#!/usr/bin/env bash
# Builds the images deploy/compose.local.yaml uses, on a machine that cannot pull any:
#   localhost/hookline-base:<hash>  a Debian bookworm minbase root filesystem (debootstrap) with
#                                   the libraries the executables load, curl and haproxy, and a
#                                   non-root user hookline (uid 10001); cached in .state/images
#   localhost/hookline:local        + the release executables (hookline and every hookline-*, the
#                                   demo and benchmarks left out) and librdkafka.so.1
#   localhost/hookline-broker:local + Tansu, the embedded Kafka-compatible broker
# Idempotent: an image is rebuilt only when what goes into it changed (a label records it), so a
# second run takes a few seconds. Needs root (debootstrap, rootful podman), the release build
# (swift build -c release --static-swift-stdlib) and scripts/setup.sh --containers.
#
# Environment: HOOKLINE_BIN (.build/release), HOOKLINE_STATE (.state), CONTAINERS_CONF.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${HOOKLINE_BIN:-$root/.build/release}
state=${HOOKLINE_STATE:-$root/.state}
images=$state/images
mkdir -p "$images"

say() { printf '\033[1mimages:\033[0m %s\n' "$*"; }
fail() { echo "images: $*" >&2; exit 1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
podman() { sudo_if_needed env ${CONTAINERS_CONF:+CONTAINERS_CONF=$CONTAINERS_CONF} podman "$@"; }
label_of() { podman image inspect --format "{{index .Labels \"hookline.content\"}}" "$1" 2>/dev/null || true; }

# --- the base image ------------------------------------------------------------------------------
# What the executables load (ldd): libstdc++, libsqlite3 (GRDB) and, through librdkafka 2.8 built on
# bookworm, libcurl, SASL, OpenSSL, zstd, lz4 and zlib. curl runs the healthchecks; haproxy is the
# load balancer of the local run; bash the TCP healthchecks; sqlite3 is for an operator reprocessing
# a topic (docs/cli.md: deleting a service's offsets).
base_packages=ca-certificates,curl,haproxy,libcurl4,libsasl2-2,libzstd1,liblz4-1,libssl3,libsqlite3-0,sqlite3,zlib1g,libstdc++6,bash
base_recipe="bookworm minbase $base_packages user=hookline:10001 v1"
base_hash=$(printf '%s' "$base_recipe" | sha256sum | cut -c1-12)
base_image=localhost/hookline-base:$base_hash
base_tar=$images/base-$base_hash.tar

if ! podman image exists "$base_image"; then
  if [ ! -s "$base_tar" ]; then
    command -v debootstrap >/dev/null || fail "debootstrap is missing (scripts/setup.sh --containers installs it)"
    rootfs=$images/rootfs-$base_hash
    sudo_if_needed rm -rf "$rootfs"
    say "making the base root filesystem with debootstrap (Debian bookworm minbase, about a minute)"
    mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    sudo_if_needed debootstrap --variant=minbase --include="$base_packages" bookworm "$rootfs" "$mirror" \
      >"$images/debootstrap.log" 2>&1 || { tail -20 "$images/debootstrap.log" >&2; fail "debootstrap failed"; }
    # The runtime user, its home (the services' working directory) and the configuration folder.
    sudo_if_needed sh -c "
      echo 'hookline:x:10001:10001:Hookline:/var/lib/hookline:/usr/sbin/nologin' >>'$rootfs/etc/passwd'
      echo 'hookline:x:10001:' >>'$rootfs/etc/group'
      echo 'hookline:!:19000::::::' >>'$rootfs/etc/shadow'
      mkdir -p '$rootfs/var/lib/hookline/data' '$rootfs/etc/hookline' '$rootfs/usr/local/etc/haproxy'
      chown -R 10001:10001 '$rootfs/var/lib/hookline'
      rm -rf '$rootfs'/var/cache/apt/archives/*.deb '$rootfs'/var/lib/apt/lists/* '$rootfs'/usr/share/doc \
             '$rootfs'/usr/share/man '$rootfs'/usr/share/info '$rootfs'/usr/share/locale
    "
    sudo_if_needed tar -C "$rootfs" -cf "$base_tar.tmp" .
    sudo_if_needed mv "$base_tar.tmp" "$base_tar"
    sudo_if_needed rm -rf "$rootfs"
  fi
  say "importing $base_image"
  podman import --quiet --message "Hookline base: $base_recipe" "$base_tar" "$base_image" >/dev/null
fi

# up_to_date NAME KEY: whether image NAME was built from inputs summarised by KEY (its label).
up_to_date() { [ "$(label_of "$1")" = "$2" ] && say "$1 is up to date"; }
# key FILE...: names, sizes and modification times of the inputs, and of this script.
key() { stat -L -c '%n %s %Y' "$@" "$0" | sha256sum | cut -c1-16; }
# build_image NAME KEY CONTEXT: builds CONTEXT/Containerfile as NAME, labelled with KEY, and
# removes the image NAME named before (a rebuild would otherwise leave it behind, untagged: about
# 750 MB a rebuild). One a container still uses stays.
build_image() {
  local replaced
  replaced=$(podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)
  say "building $1"
  podman build --pull=never --quiet --label "hookline.content=$2" -t "$1" -f "$3/Containerfile" "$3" >/dev/null
  if [ -n "$replaced" ] && [ "$(podman image inspect --format '{{.Id}}' "$1")" != "$replaced" ]; then
    podman rmi "$replaced" >/dev/null 2>&1 || true
  fi
}

# --- the Hookline image ----------------------------------------------------------------------------
executables=()
for file in "$bin"/hookline "$bin"/hookline-*; do
  [ -f "$file" ] && [ -x "$file" ] || continue
  case "$(basename "$file")" in hookline-demo | hookline-bench) continue ;; esac
  executables+=("$file")
done
[ -x "$bin/hookline-gateway" ] || fail "$bin/hookline-gateway is missing: swift build -c release --static-swift-stdlib"
rdkafka=$(ldd "$bin/hookline-gateway" | awk '$1 == "librdkafka.so.1" {print $3}')
[ -n "$rdkafka" ] && [ -f "$rdkafka" ] || fail "cannot find the librdkafka.so.1 hookline-gateway loads"
hookline_key=$(key "${executables[@]}" "$rdkafka")
if ! up_to_date localhost/hookline:local "$hookline_key"; then
  for file in "${executables[@]}"; do
    if ldd "$file" | grep -q 'libswiftCore\.so'; then
      fail "$file links the Swift runtime dynamically; build with: swift build -c release --static-swift-stdlib"
    fi
  done
  context=$images/hookline
  rm -rf "$context" && mkdir -p "$context/bin" "$context/lib"
  # Without symbols the executables are a fraction of their size.
  for file in "${executables[@]}"; do strip --strip-unneeded -o "$context/bin/$(basename "$file")" "$file"; done
  cp -L "$rdkafka" "$context/lib/librdkafka.so.1"
  cat >"$context/Containerfile" <<EOF
FROM $base_image
COPY lib/ /usr/local/lib/
COPY bin/ /usr/local/bin/
ENV LD_LIBRARY_PATH=/usr/local/lib HOOKLINE_CONFIG=/etc/hookline/hookline.yaml
WORKDIR /var/lib/hookline
USER hookline:hookline
EXPOSE 8080 8091 8092 8093 8099
CMD ["hookline-gateway", "--config", "/etc/hookline/hookline.yaml", "--listen", "0.0.0.0:8080"]
EOF
  build_image localhost/hookline:local "$hookline_key" "$context"
  rm -rf "$context"
  # Every executable must find the libraries it loads; an image where one does not is removed.
  for file in "${executables[@]}"; do
    name=$(basename "$file")
    if ! out=$(podman run --rm --network none localhost/hookline:local "$name" --help 2>&1); then
      podman rmi -f localhost/hookline:local >/dev/null 2>&1 || true
      echo "$out" | tail -5 >&2
      fail "$name does not start in localhost/hookline:local"
    fi
  done
fi

# --- the broker image ---------------------------------------------------------------------------------
tansu=$root/.deps/bin/tansu
[ -x "$tansu" ] || fail "$tansu is missing (scripts/setup.sh installs it)"
broker_key=$(key "$tansu")
if ! up_to_date localhost/hookline-broker:local "$broker_key"; then
  context=$images/broker
  rm -rf "$context" && mkdir -p "$context"
  cp -L "$tansu" "$context/tansu"
  cat >"$context/Containerfile" <<EOF
FROM $base_image
COPY tansu /usr/local/bin/tansu
USER hookline:hookline
EXPOSE 9092
CMD ["tansu", "broker"]
EOF
  build_image localhost/hookline-broker:local "$broker_key" "$context"
  rm -rf "$context"
fi

say "ready: localhost/hookline:local ($(printf '%s ' "${executables[@]##*/}")), localhost/hookline-broker:local"

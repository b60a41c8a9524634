#!/usr/bin/env bash
# deps/install.sh -- install the Debian packages Phenix DB needs to build, test and benchmark.
#
# Idempotent: one dpkg-query call finds what is missing; only then does it run
# `apt-get update` once and install the missing packages (no recommends).
# When everything is present it only prints one line and takes well under a second.
# Runs as root, or through sudo when not root. Targets Debian 12 (bookworm);
# deps/README.md says why each package is here.
#
# Usage: deps/install.sh [--check]   (--check: list what is missing, install nothing;
#                                     exit 1 if anything is missing)
set -euo pipefail

# The packages, in the order deps/README.md explains them.
PACKAGES=(
    build-essential gcc make pkg-config
    liburing-dev libjemalloc-dev libssl-dev libxxhash-dev libjansson-dev liblua5.1-0-dev
    lua-cjson-dev lua-bitop-dev
    tcl redis-server redis-tools libhiredis-dev python3 python3-redis
    clang libclang-rt-14-dev
    nodejs npm
    python3-numpy
)

# Some tools are often installed outside dpkg (NodeSource's nodejs bundles npm,
# nvm installs both in $HOME). A working command counts as installed, so we do
# not pull Debian's npm on top of another Node.js.
declare -A PROVIDES_COMMAND=([nodejs]=node [npm]=npm)

check_only=0
if [ "${1:-}" = "--check" ]; then check_only=1; fi

# missing_packages: print the packages of PACKAGES that are not installed.
missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null |
                awk '$2 == "ii" { print $1 }' || true)
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        if grep -qxF "$pkg" <<<"$installed"; then continue; fi
        if [ -n "${PROVIDES_COMMAND[$pkg]:-}" ] && command -v "${PROVIDES_COMMAND[$pkg]}" >/dev/null 2>&1; then
            continue
        fi
        echo "$pkg"
    done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps/install.sh: this script installs Debian packages; dpkg-query was not found." >&2
    echo "Install by hand: ${PACKAGES[*]}" >&2
    exit 1
fi

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -eq 0 ]; then
    echo "deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi
echo "deps: missing: ${MISSING[*]}"
if [ "$check_only" = 1 ]; then exit 1; fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "deps/install.sh: not root and sudo is not available; run as root:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${MISSING[*]}" >&2
        exit 1
    fi
fi

# Was redis-server absent before this run? Debian starts its service on install,
# which would take port 6379 from `make run`; we only need the binary.
redis_was_missing=0
for pkg in "${MISSING[@]}"; do
    if [ "$pkg" = redis-server ]; then redis_was_missing=1; fi
done

APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
     -o Dpkg::Use-Pty=0 -o APT::Color=0)
echo "deps: apt-get update"
"${APT[@]}" -qq update
echo "deps: apt-get install ${MISSING[*]}"
"${APT[@]}" -qq install --no-install-recommends "${MISSING[@]}" >/dev/null

if [ "$redis_was_missing" = 1 ] && command -v systemctl >/dev/null 2>&1 &&
   systemctl is-active --quiet redis-server 2>/dev/null; then
    echo "deps: stopping and disabling the redis-server service Debian just started" \
         "(Phenix uses port 6379; the tests and benchmarks start their own redis-server)"
    "${SUDO[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

mapfile -t STILL < <(missing_packages)
if [ "${#STILL[@]}" -ne 0 ]; then
    echo "deps/install.sh: still missing after install: ${STILL[*]}" >&2
    exit 1
fi
echo "deps: all ${#PACKAGES[@]} packages present"

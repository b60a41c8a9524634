#!/usr/bin/env bash
# utils/bench-graph.sh -- graph benchmark: Phenix DB against networkx on the Debian
# package dependency graph.
#
# Usage: utils/bench-graph.sh [bench_graph.py options...]
#        (`make bench-graph` builds, then runs this)
#
# Saves the input (`apt-cache dumpavail`, the packages known to this machine's apt) to
# BENCH_INPUT, installs what is missing with apt-get (python3-networkx python3-numpy
# python3-redis python3-hiredis), starts phenix-server on a free port of 127.0.0.1
# with --save '' in a temp dir, runs utils/bench_graph.py with /usr/bin/python3
# against it (load, PH.NEIGHBORS depth 1 2 3, PH.PATH unweighted and WEIGHTED,
# PH.SEARCH + EXPAND 1 and 2, each checked against networkx, which is also timed),
# then stops the server. The report goes to stdout and to BENCH_OUT; progress lines
# go to stderr.
#
# Environment:
#   PHENIX_SERVER  server binary (default src/phenix-server)
#   BENCH_INPUT    where the dumpavail text is saved (default build/bench/graph-input.txt);
#                  BENCH_REUSE_INPUT=1 runs on an existing file instead of a new dump
#   BENCH_PIN      1 (default when nproc >= 2): server on CPU 0, Python client and
#                  networkx on CPU 1
#   BENCH_OUT      also write the report here (default build/bench/graph-last.txt)
#   BENCH_NO_APT   1: do not try to install missing packages
# Options of bench_graph.py: --limit N (first N packages only, for a quick run),
# --queries N (per query kind, default 200), --dim D (vector dimension, default 64).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

case "${1:-}" in
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//; /^set -uo/d'; exit 0 ;;
esac

PHENIX_SERVER=${PHENIX_SERVER:-src/phenix-server}
PY=/usr/bin/python3
OUT=${BENCH_OUT:-build/bench/graph-last.txt}
INPUT=${BENCH_INPUT:-build/bench/graph-input.txt}
NPROC=$(nproc)
PIN=${BENCH_PIN:-$([ "$NPROC" -ge 2 ] && echo 1 || echo 0)}

if [ ! -x "$PHENIX_SERVER" ]; then
    echo "bench-graph: $PHENIX_SERVER not found (run make first)" >&2
    exit 1
fi

# --- packages ------------------------------------------------------------------------
PKGS=(python3-networkx python3-numpy python3-redis python3-hiredis)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ] && [ "${BENCH_NO_APT:-0}" != 1 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    echo "bench-graph: installing ${missing[*]}" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
        { $SUDO apt-get update >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
fi
for m in networkx numpy redis; do
    if ! "$PY" -c "import $m" 2>/dev/null; then
        echo "bench-graph: the Python module $m is required (Debian package python3-$m)" >&2
        exit 1
    fi
done

# --- input ---------------------------------------------------------------------------
mkdir -p "$(dirname "$INPUT")" "$(dirname "$OUT")"
if [ "${BENCH_REUSE_INPUT:-0}" != 1 ] || [ ! -s "$INPUT" ]; then
    if ! apt-cache dumpavail >"$INPUT" 2>/dev/null || [ ! -s "$INPUT" ]; then
        echo "bench-graph: apt-cache dumpavail gave nothing (run apt-get update first)" >&2
        exit 1
    fi
fi
echo "bench-graph: input $INPUT ($(grep -c '^Package:' "$INPUT") packages)" >&2

# --- server ----------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/phenix-bench-graph.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SRV_PREFIX=()
PY_PREFIX=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1; then
    SRV_PREFIX=(taskset -c 0)
    PY_PREFIX=(taskset -c 1)
fi

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${SRV_PREFIX[@]}" "$PHENIX_SERVER" --port "$PORT" --bind 127.0.0.1 --save '' \
    --dir "$TMP" --logfile "$TMP/server.log" >"$TMP/stderr" 2>&1 &
SERVER_PID=$!
up=0
for _ in $(seq 1 100); do
    if "$PY" -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $PORT), 0.2); s.sendall(b'PING\r\n'); sys.exit(0 if s.recv(64).startswith(b'+PONG') else 1)" 2>/dev/null; then
        up=1
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" != 1 ]; then
    echo "bench-graph: the server did not start; its log:" >&2
    tail -20 "$TMP/server.log" "$TMP/stderr" >&2 2>/dev/null
    exit 1
fi

echo "command: ${PY_PREFIX[*]} $PY utils/bench_graph.py --port $PORT --input $INPUT $*  (server: ${SRV_PREFIX[*]} $PHENIX_SERVER --save '')" | tee "$OUT"
"${PY_PREFIX[@]}" "$PY" utils/bench_graph.py --port "$PORT" --input "$INPUT" "$@" | tee -a "$OUT"
status=${PIPESTATUS[0]}
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "bench-graph: the server died during the run; its log:" >&2
    tail -30 "$TMP/server.log" >&2
    status=1
fi
echo "report written to $OUT" >&2
exit "$status"

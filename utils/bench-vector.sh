#!/usr/bin/env bash
# utils/bench-vector.sh -- vector search benchmark: Phenix DB against hnswlib and faiss.
#
# Usage: utils/bench-vector.sh [--quick] [bench_vector.py options...]
#        (`make bench-vector` builds, then runs this)
#
# Installs what is missing with apt-get (python3-numpy python3-redis python3-hiredis
# python3-hnswlib python3-faiss dataset-fashion-mnist; a failed install is reported
# and the benchmark runs without that part), starts phenix-server on a free port of
# 127.0.0.1 with --save '' in a temp dir, runs utils/bench_vector.py with
# /usr/bin/python3 against it, then stops the server; once per data set. The report
# goes to stdout and to BENCH_OUT; progress lines go to stderr. Each data set also
# gets a filtered-search section (FIELD indexes, FILTER at 0.1%..50% and a class
# TAG filter, recall against the exact filtered top 10, plans, q/s next to the
# unfiltered query): pass --filtered-only to run just that, --no-filtered to skip it.
# A quantized section (QUANT Q8 / NOEXACT / ONDISK / BIN against fp32 and faiss IndexHNSWSQ
# 8-bit: bytes/vector by part, build time, recall@10, q/s per --quant-ef) follows:
# --quantized-only runs just that (and the IVF-PQ section), --no-quantized skips it;
# --quant-modes picks modes. An IVF-PQ section (INDEX IVFPQ with and without RESCORE 4
# against faiss IndexIVFPQ at the same nlist, m, nbits and nprobe; --nprobe, --ivf-nlist,
# --ivf-m) follows; --no-ivfpq skips it.
#
# Environment:
#   PHENIX_SERVER  server binary (default src/phenix-server)
#   BENCH_N        synthetic set size (default 100000; e.g. 1000000 for the issue's set)
#   BENCH_DATASETS data sets, in order (default "fashion synthetic"); each one runs
#                  against a fresh server
#   BENCH_PIN      1 (default when nproc >= 2): server on CPU 0, the Python client and
#                  the reference libraries on CPU 1
#   BENCH_OUT      also write the report here (default build/bench/vector-last.txt)
#   BENCH_NO_APT   1: do not try to install missing packages
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

case "${1:-}" in
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//; /^set -uo/d'; exit 0 ;;
esac

PHENIX_SERVER=${PHENIX_SERVER:-src/phenix-server}
PY=/usr/bin/python3
OUT=${BENCH_OUT:-build/bench/vector-last.txt}
NPROC=$(nproc)
PIN=${BENCH_PIN:-$([ "$NPROC" -ge 2 ] && echo 1 || echo 0)}

if [ ! -x "$PHENIX_SERVER" ]; then
    echo "bench-vector: $PHENIX_SERVER not found (run make first)" >&2
    exit 1
fi

# --- packages ------------------------------------------------------------------------
PKGS=(python3-numpy python3-redis python3-hiredis python3-hnswlib python3-faiss dataset-fashion-mnist)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ] && [ "${BENCH_NO_APT:-0}" != 1 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    echo "bench-vector: installing ${missing[*]}" >&2
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; then
        # One at a time, so one unavailable package does not block the others.
        for p in "${missing[@]}"; do
            $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$p" >&2 ||
                echo "bench-vector: could not install $p; that part is skipped" >&2
        done
    fi
fi
for p in python3-numpy python3-redis; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" &&
       ! "$PY" -c "import ${p#python3-}" 2>/dev/null; then
        echo "bench-vector: $p is required" >&2
        exit 1
    fi
done

# --- server ----------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/phenix-bench-vector.XXXXXX")
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
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

# Starts a fresh server on a free port (sets PORT and SERVER_PID); 1 if it does not answer.
start_server() {
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -rf "$TMP/srv"; mkdir -p "$TMP/srv"
    "${SRV_PREFIX[@]}" "$PHENIX_SERVER" --port "$PORT" --bind 127.0.0.1 --save '' \
        --dir "$TMP/srv" --logfile "$TMP/srv/server.log" >"$TMP/srv/stderr" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if "$PY" -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $PORT), 0.2); s.sendall(b'PING\r\n'); sys.exit(0 if s.recv(64).startswith(b'+PONG') else 1)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench-vector: the server did not start; its log:" >&2
    tail -20 "$TMP/srv/server.log" "$TMP/srv/stderr" >&2 2>/dev/null
    return 1
}

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
status=0
# One fresh server per data set, so that memory freed by the previous set does not
# hide the next one's growth.
for ds in ${BENCH_DATASETS:-fashion synthetic}; do
    start_server || exit 1
    echo "command: ${PY_PREFIX[*]} $PY utils/bench_vector.py --port $PORT --datasets $ds $*  (server: ${SRV_PREFIX[*]} $PHENIX_SERVER --save '')" | tee -a "$OUT"
    # A fixed mmap threshold: large blocks are mmapped and given back when freed, so the
    # RSS delta of one library's build is not hidden by memory another one freed.
    "${PY_PREFIX[@]}" env MALLOC_MMAP_THRESHOLD_=131072 "$PY" utils/bench_vector.py --port "$PORT" \
        --datasets "$ds" "$@" | tee -a "$OUT"
    st=${PIPESTATUS[0]}
    [ "$st" -ne 0 ] && status=$st
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "bench-vector: the server died during the run; its log:" >&2
        tail -30 "$TMP/srv/server.log" >&2
        status=1
    fi
    stop_server
    echo | tee -a "$OUT"
done
echo "report written to $OUT" >&2
exit "$status"

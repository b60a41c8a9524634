#!/usr/bin/env bash
# utils/bench.sh -- redis-benchmark against phenix-server and redis-server, side by side.
#
# Usage: utils/bench.sh [--quick]          (`make bench` builds first, then runs this)
#
# Starts both servers on free ports of 127.0.0.1 (redis-server with --save ''
# --appendonly no, so neither persists) and runs the same redis-benchmark command
# against each, interleaved (phenix then redis, then redis then phenix, ...), for
# SET, GET, INCR, MSET (10 keys), LPUSH, LPOP, LRANGE_100, SADD, HSET, SPOP, ZADD,
# ZRANGE_100 (WITHSCORES) and an EVALSHA of a one-INCR script, with 50 clients at
# -P 1 and -P 16 and with
# 1,000 clients at -P 1. Each run is repeated BENCH_REPEATS times; the table shows
# the medians and the phenix/redis ratio of the medians, then "paired", the median of
# the per-round ratios (each round runs both servers back to back, so a slow spell of the
# machine hits both sides of a pair), then the machine, the exact commands, every
# single run, and any error redis-benchmark reported (its stderr, a non-zero exit, a
# timeout, a missing result, a server that died). Its warnings (such as "Could not
# fetch server CONFIG") are listed too but do not make the run fail.
#
# Before the table, each server gets an unmeasured warm-up run (SET GET LPUSH LPOP
# SADD HSET ZADD, 50 clients).
#
# -n is sized so one run takes about BENCH_SECONDS: a short calibration run of each
# test against redis-server measures its rate first. Both servers always get the
# same -n.
#
# Environment:
#   PHENIX_SERVER   phenix binary (default src/phenix-server)
#   REDIS_SERVER    redis binary (default: redis-server on PATH, Debian's)
#   BENCH_REQUESTS  fixed -n for the -P 1 runs (the -P 16 runs use 10x); no calibration
#   BENCH_SECONDS   target seconds per run when calibrating (default 2.5; --quick: 0.5)
#   BENCH_REPEATS   runs per server and test (default 3; --quick: 1)
#   BENCH_KEYSPACE  redis-benchmark -r (default 100000 random keys)
#   BENCH_PIN       1 (default when nproc >= 2): servers on CPU 0, redis-benchmark on CPU 1
#   BENCH_OUT       also write the report to this file (default build/bench/last.txt)
#   BENCH_TESTS     the rows to run (default: every row, in the order above)
#   BENCH_MEMORY    0 skips the memory-per-key table (utils/bench_memory.py) at the end
#   BENCH_MEMORY_N  keys per kind for that table (default 1,000,000; --quick: 100,000)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

QUICK=0
case "${1:-}" in
    --quick) QUICK=1 ;;
    "") ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//; /^set -uo/d'; exit 0 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

PHENIX_SERVER=${PHENIX_SERVER:-src/phenix-server}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo redis-server)}
if [ "$QUICK" = 1 ]; then
    BENCH_SECONDS=${BENCH_SECONDS:-0.5}; REPEATS=${BENCH_REPEATS:-1}
else
    BENCH_SECONDS=${BENCH_SECONDS:-2.5}; REPEATS=${BENCH_REPEATS:-3}
fi
KEYSPACE=${BENCH_KEYSPACE:-100000}
NPROC=$(nproc)
PIN=${BENCH_PIN:-$([ "$NPROC" -ge 2 ] && echo 1 || echo 0)}
OUT=${BENCH_OUT:-build/bench/last.txt}

# shellcheck disable=SC2206
TESTS=(${BENCH_TESTS:-set get incr mset lpush lpop lrange_100 sadd hset spop zadd zrange_100 evalsha})
# The evalsha row: a small script (one INCR on a random key) loaded on both servers
# with SCRIPT LOAD, run by redis-benchmark as a custom command.
BENCH_SCRIPT="return redis.call('incr', KEYS[1])"
BENCH_SCRIPT_SHA=
CONFIGS=("50 1" "50 16" "1000 1")      # clients pipeline

for bin in "$PHENIX_SERVER" "$REDIS_SERVER" redis-benchmark redis-cli; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "bench: '$bin' not found (build with make; deps/install.sh installs redis)" >&2
        exit 1
    fi
done

# 1,000 clients need more than the usual 1024 descriptors, for the benchmark
# itself and for each server (maxclients 10000 wants 10032).
ulimit -n 10032 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d)
mkdir -p "$(dirname "$OUT")"
exec > >(tee "$OUT") 2>&1

declare -A PID PORT
cleanup() {
    local s
    for s in "${!PID[@]}"; do
        if kill -0 "${PID[$s]}" 2>/dev/null; then kill -TERM "${PID[$s]}" 2>/dev/null; fi
    done
    sleep 0.2
    rm -rf "$WORK"
}
trap cleanup EXIT

SERVER_PREFIX=()
BENCH_PREFIX=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1; then
    SERVER_PREFIX=(taskset -c 0)
    BENCH_PREFIX=(taskset -c 1)
else
    PIN=0
fi

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME BINARY EXTRA-ARGS...: start a server on a free port; sets PID/PORT[NAME].
start() {
    local name=$1 bin=$2; shift 2
    local port
    for _ in 1 2 3 4 5; do
        port=$((30000 + RANDOM % 2000))
        port_is_free "$port" || continue
        "${SERVER_PREFIX[@]}" "$bin" --port "$port" --bind 127.0.0.1 --dir "$WORK" \
            --logfile "$WORK/$name.log" "$@" >"$WORK/$name.stdout" 2>&1 &
        PID[$name]=$!
        for _ in $(seq 1 100); do
            kill -0 "${PID[$name]}" 2>/dev/null || break
            if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then
                PORT[$name]=$port
                return 0
            fi
            sleep 0.1
        done
        kill -KILL "${PID[$name]}" 2>/dev/null
    done
    echo "bench: could not start $name ($bin); log:" >&2
    tail -n 20 "$WORK/$name.log" "$WORK/$name.stdout" >&2 2>/dev/null
    exit 1
}

ERRORS=()
declare -A WARNINGS=()

# bench_args TEST: set WHAT, redis-benchmark's arguments naming the test (-t, or the
# custom command of the evalsha row).
bench_args() {
    case "$1" in
        evalsha) WHAT=(evalsha "$BENCH_SCRIPT_SHA" 1 "counter:__rand_int__") ;; # not key:*: SET rows store text there
        lrange_100) WHAT=(lrange bench:list 0 99) ;;
        zrange_100) WHAT=(zrange bench:zset 0 99 withscores) ;;
        *) WHAT=(-t "$1") ;;
    esac
}

# bench_once SERVER TEST CLIENTS PIPELINE N: one redis-benchmark run. Sets RPS (empty
# on failure) and appends any error it reports to ERRORS. Not for $(...): it must run
# in this shell to keep ERRORS.
bench_once() {
    local server=$1 t=$2 c=$3 p=$4 n=$5
    local limit rc
    bench_args "$t"
    limit=$(awk -v s="$BENCH_SECONDS" 'BEGIN { v = int(s * 20 + 60); print v }')
    timeout -k 5 "$limit" "${BENCH_PREFIX[@]}" redis-benchmark -h 127.0.0.1 -p "${PORT[$server]}" \
        -c "$c" -P "$p" -n "$n" -r "$KEYSPACE" --csv "${WHAT[@]}" \
        >"$WORK/out" 2>"$WORK/err"
    rc=$?
    RPS=$(awk -F'","' 'NR > 1 && $1 !~ /test/ { print $2; exit }' "$WORK/out")
    if [ "$rc" -ne 0 ]; then
        ERRORS+=("$server $t -c $c -P $p: redis-benchmark exit status $rc$([ "$rc" -eq 124 ] && echo ' (timeout)')")
    fi
    # redis-benchmark warns (without failing) when CONFIG GET save/appendonly does not
    # answer as Redis does; that is a compatibility gap worth showing, not a failed run.
    if grep -q '^WARNING' "$WORK/err"; then
        WARNINGS["$server: $(grep '^WARNING' "$WORK/err" | sort -u | tr '\n' ' ')"]=1
    fi
    if grep -qv '^WARNING' "$WORK/err"; then
        ERRORS+=("$server $t -c $c -P $p: $(grep -v '^WARNING' "$WORK/err" | sort | uniq -c | head -n 5 | tr -s ' ' | tr '\n' ';')")
    fi
    if ! [[ "$RPS" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        ERRORS+=("$server $t -c $c -P $p: no result in redis-benchmark output")
        RPS=""
    fi
    if ! kill -0 "${PID[$server]}" 2>/dev/null; then
        ERRORS+=("$server died during $t -c $c -P $p; log tail: $(tail -n 5 "$WORK/$server.log" | tr '\n' ' ')")
        echo "bench: $server died; stopping. errors:" >&2
        printf '  %s\n' "${ERRORS[@]}" >&2
        exit 1
    fi
}

# requests_for TEST CLIENTS PIPELINE: set REQUESTS, the -n for this test and configuration.
requests_for() {
    local t=$1 c=$2 p=$3
    if [ -n "${BENCH_REQUESTS:-}" ]; then
        REQUESTS=$((p > 1 ? BENCH_REQUESTS * 10 : BENCH_REQUESTS))
        return
    fi
    bench_once redis "$t" "$c" "$p" $((p > 1 ? 200000 : 20000))
    REQUESTS=$(awk -v r="${RPS:-50000}" -v s="$BENCH_SECONDS" -v c="$c" 'BEGIN {
        n = int(r * s / 1000 + 0.5) * 1000; if (n < 10 * c) n = 10 * c; if (n < 10000) n = 10000; print n }')
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

start phenix "$PHENIX_SERVER"
start redis "$REDIS_SERVER" --save '' --appendonly no
# Warm-up, not measured: the first runs of a fresh process (page faults of the
# first buffers, the CPUs' frequency and caches) were the noisiest of the table.
for s in phenix redis; do
    "${BENCH_PREFIX[@]}" redis-benchmark -h 127.0.0.1 -p "${PORT[$s]}" -c 50 -n "$([ "$QUICK" = 1 ] && echo 20000 || echo 200000)" \
        -r "$KEYSPACE" -q -t set,get,lpush,lpop,sadd,hset,zadd >/dev/null 2>&1
    redis-cli -p "${PORT[$s]}" FLUSHALL >/dev/null
done

# The lrange_100 and zrange_100 rows read a 100-element list and sorted set
# (custom commands: redis-benchmark's own lrange_100 row first runs an LPUSH
# row of its own).
for s in phenix redis; do
    BENCH_SCRIPT_SHA=$(redis-cli -p "${PORT[$s]}" SCRIPT LOAD "$BENCH_SCRIPT")
    redis-cli -p "${PORT[$s]}" RPUSH bench:list $(seq -f 'element-%g' 1 100) >/dev/null
    redis-cli -p "${PORT[$s]}" ZADD bench:zset $(seq 1 100 | awk '{ printf "%d member-%d ", $1, $1 }') >/dev/null
done

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Phenix DB benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$QUICK" = 1 ] && echo ' (quick)')"
echo "machine:   $NPROC CPUs, ${cpu_model:-unknown CPU}, Linux $(uname -r)"
echo "phenix:    $("$PHENIX_SERVER" --version 2>&1 | head -n 1) ($PHENIX_SERVER, port ${PORT[phenix]})"
echo "redis:     $("$REDIS_SERVER" --version 2>&1 | head -n 1) ($REDIS_SERVER, port ${PORT[redis]})"
echo "client:    $(redis-benchmark --version 2>&1 | head -n 1)"
echo "pinning:   $([ "$PIN" = 1 ] && echo 'servers on CPU 0, redis-benchmark on CPU 1 (taskset)' || echo none)"
echo "fd limit:  $(ulimit -n); repeats: $REPEATS; target ${BENCH_SECONDS}s per run; keyspace -r $KEYSPACE"
echo

declare -A RUNS N
for cfg in "${CONFIGS[@]}"; do
    read -r c p <<<"$cfg"
    for t in "${TESTS[@]}"; do
        requests_for "$t" "$c" "$p"
        n=$REQUESTS
        N[$t,$c,$p]=$n
        RUNS[phenix,$t,$c,$p]=""
        RUNS[redis,$t,$c,$p]=""
        for ((rep = 1; rep <= REPEATS; rep++)); do
            if ((rep % 2)); then order=(phenix redis); else order=(redis phenix); fi
            for s in "${order[@]}"; do
                bench_once "$s" "$t" "$c" "$p" "$n"
                RUNS[$s,$t,$c,$p]+="${RPS:-0} "
                printf '  %-6s %-5s -c %-4s -P %-2s -n %-8s run %d: %s rps\n' "$s" "$t" "$c" "$p" "$n" "$rep" "${RPS:-error}"
            done
        done
    done
done

echo
printf '%-16s | %7s | %8s | %12s | %12s | %6s | %6s\n' test clients pipeline "phenix rps" "redis rps" ratio paired
printf '%s\n' "-----------------+---------+----------+--------------+--------------+--------+-------"
for cfg in "${CONFIGS[@]}"; do
    read -r c p <<<"$cfg"
    for t in "${TESTS[@]}"; do
        # shellcheck disable=SC2086
        mp=$(median ${RUNS[phenix,$t,$c,$p]})
        # shellcheck disable=SC2086
        mr=$(median ${RUNS[redis,$t,$c,$p]})
        ratio=$(awk -v a="$mp" -v b="$mr" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        # paired: the median of the per-round ratios (a round runs both servers back to back)
        # shellcheck disable=SC2086
        paired=$(median $(paste -d ' ' <(printf '%s\n' ${RUNS[phenix,$t,$c,$p]}) <(printf '%s\n' ${RUNS[redis,$t,$c,$p]}) |
            awk '$2 > 0 { print $1 / $2 }'))
        paired=$(awk -v r="$paired" 'BEGIN { if (r != "") printf "%.2f", r; else print "-" }')
        label=$t; [ "$t" = mset ] && label="mset (10 keys)"; [ "$t" = evalsha ] && label="evalsha (incr)"
        [ "$t" = zrange_100 ] && label="zrange_100 (ws)"
        printf '%-16s | %7s | %8s | %12.0f | %12.0f | %6s | %6s\n' "$label" "$c" "$p" "$mp" "$mr" "$ratio" "$paired"
    done
done

echo
echo "commands (same for both servers; <port> is each server's):"
echo "  ${SERVER_PREFIX[*]}${SERVER_PREFIX[*]:+ }$PHENIX_SERVER --port <port> --bind 127.0.0.1 --dir <tmp> --logfile <tmp>/phenix.log"
echo "  ${SERVER_PREFIX[*]}${SERVER_PREFIX[*]:+ }$REDIS_SERVER --port <port> --bind 127.0.0.1 --dir <tmp> --logfile <tmp>/redis.log --save '' --appendonly no"
for cfg in "${CONFIGS[@]}"; do
    read -r c p <<<"$cfg"
    for t in "${TESTS[@]}"; do
        bench_args "$t"
        echo "  ${BENCH_PREFIX[*]}${BENCH_PREFIX[*]:+ }redis-benchmark -h 127.0.0.1 -p <port> -c $c -P $p -n ${N[$t,$c,$p]} -r $KEYSPACE --csv ${WHAT[*]}"
    done
done
echo
echo "single runs (rps):"
for cfg in "${CONFIGS[@]}"; do
    read -r c p <<<"$cfg"
    for t in "${TESTS[@]}"; do
        printf '  %-5s -c %-4s -P %-2s  phenix: %s  redis: %s\n' "$t" "$c" "$p" \
            "${RUNS[phenix,$t,$c,$p]}" "${RUNS[redis,$t,$c,$p]}"
    done
done
echo
for s in phenix redis; do
    kill -0 "${PID[$s]}" 2>/dev/null || ERRORS+=("$s is not running at the end")
done
for w in "${!WARNINGS[@]}"; do echo "redis-benchmark warning from $w"; done
echo
# Memory per key of small values, both servers (fresh ones: utils/bench_memory.py).
if [ "${BENCH_MEMORY:-1}" = 1 ]; then
    if ! PHENIX_SERVER="$PHENIX_SERVER" REDIS_SERVER="$REDIS_SERVER" \
        /usr/bin/python3 utils/bench_memory.py "${BENCH_MEMORY_N:-$([ "$QUICK" = 1 ] && echo 100000 || echo 1000000)}"; then
        ERRORS+=("the memory benchmark failed")
    fi
    echo
fi
if [ "${#ERRORS[@]}" -eq 0 ]; then
    echo "errors: none"
else
    echo "errors (${#ERRORS[@]}):"
    printf '  %s\n' "${ERRORS[@]}"
fi
echo "report saved to $OUT"
[ "${#ERRORS[@]}" -eq 0 ]

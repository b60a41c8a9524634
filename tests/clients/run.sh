#!/usr/bin/env bash
# tests/clients/run.sh -- real-client compatibility tests.
#
# Usage: tests/clients/run.sh <server-binary> [test-name ...]
#
# Starts <server-binary> (phenix-server, or any Redis-compatible server such as
# Debian's redis-server, to validate the tests themselves) on a free port with
# --port P --bind 127.0.0.1 --dir <tmp> --logfile <tmp>/server.log --pidfile ...,
# runs each client test against it, stops it with SIGTERM and prints the total
# "N passed, N failed" as the last line. Exit status 1 if anything failed.
#
# Tests (names for the optional filter): redis-cli python hiredis ioredis
# node-redis-v4 node-redis-v5 node-redis-v6. Each prints its own checks and ends
# with "N passed, N failed". A test whose client library is missing fails: it
# is never skipped (deps/install.sh installs the Debian packages; this script
# installs the pinned npm packages into tests/clients/node/node_modules).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [ $# -lt 1 ]; then
    echo "usage: $0 <server-binary> [test-name ...]" >&2
    exit 2
fi
SERVER=$1; shift
case "$SERVER" in /*) ;; */*) SERVER="$PWD/$SERVER" ;; *) SERVER=$(command -v "$SERVER" || echo "$SERVER") ;; esac
if [ ! -x "$SERVER" ]; then
    echo "tests/clients: server binary '$SERVER' not found or not executable"
    echo "0 passed, 1 failed"
    exit 1
fi

ALL_TESTS=(redis-cli python hiredis ioredis node-redis-v4 node-redis-v5 node-redis-v6)
if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=("${ALL_TESTS[@]}"); fi

# Debian's python3 holds python3-redis; a python3 earlier on PATH (pyenv, venv)
# may not, so the Python test always runs /usr/bin/python3.
PYTHON=${PYTHON:-/usr/bin/python3}
TEST_TIMEOUT=${CLIENT_TEST_TIMEOUT:-120}

mkdir -p "$ROOT/tests/tmp"
WORK=$(mktemp -d "$ROOT/tests/tmp/clients.XXXXXX")
SERVER_PID=""
PORT=""

total_passed=0
total_failed=0
declare -a SUMMARY=()

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
}
trap cleanup EXIT

# port_is_free PORT: true when nothing accepts connections on 127.0.0.1:PORT.
port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_server: start $SERVER on a free port, wait until it answers PING.
# Sets PORT and SERVER_PID; returns 1 after five failed attempts.
start_server() {
    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$((21000 + RANDOM % 9000))
        port_is_free "$port" || continue
        "$SERVER" --port "$port" --bind 127.0.0.1 --dir "$WORK" \
                  --logfile "$WORK/server.log" --pidfile "$WORK/server.pid" \
                  >"$WORK/server.stdout" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 1 100); do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
            if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then
                PORT=$port
                return 0
            fi
            sleep 0.1
        done
        echo "server did not come up on port $port (attempt $attempt); log tail:"
        tail -n 5 "$WORK/server.log" "$WORK/server.stdout" 2>/dev/null
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    done
    return 1
}

# record NAME PASSED FAILED SECONDS: add a test's counts to the totals.
record() {
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    SUMMARY+=("$(printf '%-16s %6s %6s %5ss' "$1" "$2" "$3" "$4")")
}

# ensure_node_modules: install the pinned npm packages if node_modules is
# missing or older than package.json. Output goes to the log.
ensure_node_modules() {
    local dir="$HERE/node"
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules" -nt "$dir/package.json" ] &&
       [ -d "$dir/node_modules/ioredis" ] && [ -d "$dir/node_modules/redis-v4" ] &&
       [ -d "$dir/node_modules/redis-v5" ] && [ -d "$dir/node_modules/redis-v6" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm not found (deps/install.sh installs it)"
        return 1
    fi
    echo "installing npm packages into tests/clients/node/node_modules"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error 2>&1) || return 1
    touch "$dir/node_modules"
}

# test_command NAME: set CMD to the command line that runs test NAME.
test_command() {
    case "$1" in
        redis-cli)     CMD=(bash "$HERE/redis-cli/test.sh") ;;
        python)        CMD=("$PYTHON" "$HERE/python/test_redis_py.py") ;;
        hiredis)       CMD=(bash "$HERE/hiredis/run.sh" "$WORK") ;;
        ioredis)       CMD=(node "$HERE/node/test_ioredis.js") ;;
        node-redis-v4) CMD=(node "$HERE/node/test_node_redis.js" redis-v4) ;;
        node-redis-v5) CMD=(node "$HERE/node/test_node_redis.js" redis-v5) ;;
        node-redis-v6) CMD=(node "$HERE/node/test_node_redis.js" redis-v6) ;;
        *)             return 1 ;;
    esac
}

# run_test NAME: run one client test, show its output, record its counts.
run_test() {
    local name=$1 out rc line passed failed start
    start=$SECONDS
    echo "=== $name"
    if ! test_command "$name"; then
        echo "unknown client test '$name' (known: ${ALL_TESTS[*]})"
        record "$name" 0 1 0
        return
    fi
    if [[ "$name" == ioredis || "$name" == node-redis-* ]]; then
        if ! ensure_node_modules >"$WORK/npm.log" 2>&1; then
            cat "$WORK/npm.log"
            echo "FAIL: could not install the npm packages"
            record "$name" 0 1 $((SECONDS - start))
            return
        fi
        cat "$WORK/npm.log"
        : >"$WORK/npm.log"
    fi
    out="$WORK/$name.out"
    PHENIX_HOST=127.0.0.1 PHENIX_PORT=$PORT timeout -k 5 "$TEST_TIMEOUT" "${CMD[@]}" >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        passed=${line%% passed*}
        failed=${line#*, }; failed=${failed%% failed*}
    else
        passed=0; failed=0
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        if [ "$rc" -eq 124 ]; then echo "FAIL: $name timed out after ${TEST_TIMEOUT}s"
        else echo "FAIL: $name exited with status $rc without reporting a failure"; fi
        failed=1
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "FAIL: the server died during $name; log tail:"
        tail -n 30 "$WORK/server.log" "$WORK/server.stdout" 2>/dev/null
        failed=$((failed + 1))
    elif ! server_responds; then
        echo "FAIL: the server no longer answers PING after $name"
        failed=$((failed + 1))
    fi
    record "$name" "$passed" "$failed" $((SECONDS - start))
}

# server_responds: true when a new connection gets PONG within 5 seconds.
server_responds() {
    [ "$(timeout 5 redis-cli -p "$PORT" PING 2>/dev/null)" = PONG ]
}

# stop_server: SIGTERM, then expect a clean exit (status 0) within 10 s.
stop_server() {
    local rc
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "FAIL: server still running 10 s after SIGTERM"
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        record shutdown 0 1 0
    else
        wait "$SERVER_PID"; rc=$?
        if [ "$rc" -eq 0 ]; then
            echo "[ok] server exited with status 0 on SIGTERM"
            record shutdown 1 0 0
        else
            echo "FAIL: server exited with status $rc on SIGTERM; log tail:"
            tail -n 30 "$WORK/server.log" "$WORK/server.stdout" 2>/dev/null
            record shutdown 0 1 0
        fi
    fi
    SERVER_PID=""
}

echo "client tests against $SERVER (work dir $WORK)"
if ! start_server; then
    echo "FAIL: could not start $SERVER"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "server pid $SERVER_PID on 127.0.0.1:$PORT"

# Once the server is gone or stops answering, the remaining tests fail without
# running: waiting for each one's timeouts would only make a broken build slow.
for t in "${TESTS[@]}"; do
    if kill -0 "$SERVER_PID" 2>/dev/null && server_responds; then
        run_test "$t"
    else
        echo "=== $t: not run, the server is gone or does not answer"
        record "$t" 0 1 0
    fi
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    stop_server
fi

echo
echo "client test           passed failed  time"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
if [ "$total_failed" -eq 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

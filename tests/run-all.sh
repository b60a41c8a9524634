#!/usr/bin/env bash
# tests/run-all.sh -- every test suite, in order; what `make test` runs after `make deps`.
#
#   1. build (release)             make -j2
#   2. unit tests (release)        make -j2 unit-bins; tests/run-unit.sh build/release/unit
#   3. integration, io_uring       tclsh tests/test_helper.tcl --event-loop uring
#   4. integration, epoll          tclsh tests/test_helper.tcl --event-loop epoll
#   5. client compatibility        tests/clients/run.sh build/release/phenix-server
#   6. fuzz smoke                  make fuzz-smoke (skipped, with a note, until tests/fuzz/run.sh exists)
#   7. build (ASan+UBSan)          make -j2 VARIANT=asan build/asan/phenix-server unit-bins
#   8. unit tests (ASan+UBSan)     tests/run-unit.sh build/asan/unit
#   9. integration (ASan+UBSan)    tclsh tests/test_helper.tcl --event-loop uring (asan binary)
#
# Each stage's output is shown and kept in tests/tmp/run-all/<n>-<stage>.log. A stage's
# counts come from the last "N passed, N failed" line it prints; a stage that prints
# none counts as 1 passed when it exits 0 (builds) and 1 failed otherwise; a stage
# that exits non-zero without reporting a failure (crash, timeout) gets one failure
# added. Every stage runs even after a failure, so one run shows everything.
# The end is a per-stage table and the grand total "N passed, N failed" as the
# last line; the exit status is 1 if anything failed.
#
# Environment: STAGE_TIMEOUT (seconds per stage, default 900), ASAN_OPTIONS and
# UBSAN_OPTIONS (defaults below), RUN_ALL_SKIP_ASAN=1 to leave out stages 7-9 while
# developing (never in CI).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

LOGDIR=tests/tmp/run-all
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
STAGE_TIMEOUT=${STAGE_TIMEOUT:-900}

# 1,000+ clients need more descriptors than the usual soft limit of 1024.
if ! ulimit -n 10032 2>/dev/null; then
    hard=$(ulimit -Hn)
    ulimit -n "$hard" 2>/dev/null || true
    echo "note: could not raise the open-file limit to 10032; it is $(ulimit -n)"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -a ROWS=()
grand_passed=0
grand_failed=0
stage_no=0

# stage NAME COMMAND...: run one stage, tee its output to a log, record its counts.
stage() {
    local name=$1; shift
    stage_no=$((stage_no + 1))
    local log
    log="$LOGDIR/$(printf '%02d' "$stage_no")-$(tr ' /()+,' '______' <<<"$name").log"
    local start=$SECONDS
    echo
    echo "=================== [$stage_no] $name"
    echo "\$ $*"
    timeout -k 10 "$STAGE_TIMEOUT" "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local secs=$((SECONDS - start))
    local line passed=0 failed=0 result
    line=$(grep -aE '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 |
           grep -oE '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -n "$line" ]; then
        passed=${line%% passed*}
        failed=${line#*, }; failed=${failed%% failed*}
        if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    elif [ "$rc" -eq 0 ]; then
        passed=1
    else
        failed=1
    fi
    if [ "$rc" -eq 124 ]; then
        result="TIMEOUT"
        echo "stage '$name' timed out after ${STAGE_TIMEOUT}s"
    elif [ "$failed" -ne 0 ]; then
        result="FAIL"
    else
        result="ok"
    fi
    echo "--- [$stage_no] $name: $result ($passed passed, $failed failed, ${secs}s, exit $rc)"
    ROWS+=("$(printf '%2d  %-30s %-8s %7s %7s %6ss' "$stage_no" "$name" "$result" "$passed" "$failed" "$secs")")
    grand_passed=$((grand_passed + passed))
    grand_failed=$((grand_failed + failed))
}

# skip NAME REASON: show a stage that did not run, without counting it.
skip() {
    stage_no=$((stage_no + 1))
    echo
    echo "=================== [$stage_no] $1: skipped ($2)"
    ROWS+=("$(printf '%2d  %-30s %-8s %7s %7s %6s' "$stage_no" "$1" "skipped" "-" "-" "-")  $2")
}

START=$SECONDS
REL=build/release
# Tests of features the server does not have yet would be tagged and left out
# here (none at the moment).
EXCLUDE_TAGS=""
ASAN=build/asan

stage "build (release)"            make -j2
stage "build unit tests (release)" make -j2 unit-bins
stage "unit (release)"             bash tests/run-unit.sh "$REL/unit"
stage "integration (io_uring)"     tclsh tests/test_helper.tcl --server "$REL/phenix-server" --event-loop uring --tags "$EXCLUDE_TAGS"
stage "integration (epoll)"        tclsh tests/test_helper.tcl --server "$REL/phenix-server" --event-loop epoll --tags "$EXCLUDE_TAGS"
stage "clients"                    bash tests/clients/run.sh "$REL/phenix-server"
if [ -f tests/fuzz/run.sh ]; then
    stage "fuzz smoke"             make fuzz-smoke
else
    skip "fuzz smoke" "tests/fuzz/run.sh does not exist yet"
fi
if [ "${RUN_ALL_SKIP_ASAN:-0}" = 1 ]; then
    skip "ASan stages" "RUN_ALL_SKIP_ASAN=1"
else
    stage "build (ASan+UBSan)"           make -j2 VARIANT=asan "$ASAN/phenix-server" unit-bins
    stage "unit (ASan+UBSan)"            bash tests/run-unit.sh "$ASAN/unit"
    stage "integration (ASan, io_uring)" tclsh tests/test_helper.tcl --server "$ASAN/phenix-server" --event-loop uring --tags "$EXCLUDE_TAGS"
fi

echo
echo "=================== summary ($(( (SECONDS - START) / 60 ))m $(( (SECONDS - START) % 60 ))s; logs in $LOGDIR)"
printf '%2s  %-30s %-8s %7s %7s %7s\n' "#" "stage" "result" "passed" "failed" "time"
for row in "${ROWS[@]}"; do echo "$row"; done
echo "$grand_passed passed, $grand_failed failed"
[ "$grand_failed" -eq 0 ]

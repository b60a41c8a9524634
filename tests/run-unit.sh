#!/usr/bin/env bash
# tests/run-unit.sh -- run every C unit-test binary in a directory.
#
# Usage: tests/run-unit.sh <dir>      (e.g. build/release/unit, build/asan/unit)
#
# Runs each executable test_* in <dir> (sorted by name), shows its output, and
# reads its closing "N passed, N failed" line (src/unit/test.h prints it).
# A binary that exits non-zero without reporting a failure, prints no count
# line, or runs longer than UNIT_TIMEOUT seconds (default 300) crashed: that
# counts as one failed test. An empty or missing <dir> is a failure too.
# The last line is the total "N passed, N failed"; the exit status is 1 if
# anything failed.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 <dir>" >&2
    exit 2
fi
DIR=$1
TIMEOUT=${UNIT_TIMEOUT:-300}

total_passed=0
total_failed=0
binaries=()
if [ -d "$DIR" ]; then
    for f in "$DIR"/test_*; do
        if [ -f "$f" ] && [ -x "$f" ]; then binaries+=("$f"); fi
    done
fi
if [ "${#binaries[@]}" -eq 0 ]; then
    echo "no test_* binaries in $DIR"
    echo "0 passed, 1 failed"
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for bin in "${binaries[@]}"; do
    name=$(basename "$bin")
    echo "--- $name"
    timeout -k 5 "$TIMEOUT" "$bin" >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    passed=0
    failed=0
    if [ -n "$line" ]; then
        passed=${line%% passed*}
        failed=${line#*, }; failed=${failed%% failed*}
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        if [ "$rc" -eq 124 ]; then echo "FAIL: $name timed out after ${TIMEOUT}s"
        elif [ "$rc" -gt 128 ]; then echo "FAIL: $name killed by signal $((rc - 128))"
        else echo "FAIL: $name exited with status $rc without reporting a failure"; fi
        failed=1
    elif [ -z "$line" ]; then
        echo "FAIL: $name printed no 'N passed, N failed' line"
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

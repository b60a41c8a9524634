#!/usr/bin/env bash
# tests/fuzz/run.sh -- build the RESP parser fuzzer and run it for a while.
#
# Usage: tests/fuzz/run.sh <seconds>      (make fuzz-smoke: 20 s; make fuzz: FUZZ_SECONDS)
#
# Builds build/fuzz/fuzz_resp from tests/fuzz/fuzz_resp.c and the pure modules it
# needs (src/resp.c buf.c util.c zmalloc.c, on libc malloc: no jemalloc) with
# clang -fsanitize=fuzzer,address,undefined, copies the seeds of tests/fuzz/corpus
# into the working corpus build/fuzz/corpus (which keeps what earlier runs found;
# the seeds in git stay small), and runs libFuzzer for <seconds> seconds.
#
# The fuzzer's own output goes to build/fuzz/fuzz.log; a summary is shown. The
# last line is "1 passed, 0 failed" when the run ended without a finding, or
# "0 passed, 1 failed" (exit status 1) when the build failed, clang or its
# libFuzzer runtime is missing (deps/install.sh installs clang and
# libclang-rt-14-dev), or the fuzzer found a crash, a leak, undefined behaviour,
# a timeout or a failed invariant; the input that did it is saved as
# build/fuzz/crash-* (or leak-*, timeout-*), replayable with
# build/fuzz/fuzz_resp <file>.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

fail() {
    echo "fuzz: $*"
    echo "0 passed, 1 failed"
    exit 1
}

SECS=${1:-}
if ! [[ "$SECS" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 <seconds>" >&2
    echo "0 passed, 1 failed"
    exit 2
fi

CLANG=${FUZZ_CC:-clang}
OUT=build/fuzz
BIN=$OUT/fuzz_resp
mkdir -p "$OUT" || fail "cannot create $OUT"

if ! command -v "$CLANG" >/dev/null 2>&1; then
    fail "$CLANG not found; run deps/install.sh (installs clang and libclang-rt-14-dev)"
fi

# A one-line fuzz target tells a missing libFuzzer runtime apart from a bug in ours.
probe=$OUT/probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    >"$probe.c"
if ! "$CLANG" -fsanitize=fuzzer,address "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
    cat "$probe.log"
    fail "clang's libFuzzer runtime is missing (libclang_rt.fuzzer); run deps/install.sh (installs libclang-rt-14-dev)"
fi
rm -f "$probe" "$probe.c" "$probe.log"

CFLAGS=(-std=gnu11 -D_GNU_SOURCE -Isrc -g -O1 -fno-omit-frame-pointer
        "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined)
SRCS=(tests/fuzz/fuzz_resp.c src/resp.c src/buf.c src/util.c src/zmalloc.c)
echo "fuzz: building $BIN"
if ! "$CLANG" "${CFLAGS[@]}" "${SRCS[@]}" -o "$BIN" -lm; then
    fail "build failed"
fi

mkdir -p "$OUT/corpus"
if [ -d tests/fuzz/corpus ]; then cp -f tests/fuzz/corpus/* "$OUT/corpus/" 2>/dev/null; fi
rm -f "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-*

echo "fuzz: running $BIN for ${SECS}s on $OUT/corpus ($(find "$OUT/corpus" -type f | wc -l) inputs)"
start=$SECONDS
"$BIN" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" >"$OUT/fuzz.log" 2>&1
rc=$?
elapsed=$((SECONDS - start))

if [ "$rc" -ne 0 ]; then
    echo "fuzz: fuzzer exited with status $rc after ${elapsed}s; end of $OUT/fuzz.log:"
    tail -n 60 "$OUT/fuzz.log"
    for f in "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-*; do
        if [ -f "$f" ]; then echo "fuzz: failing input saved as $f (replay: $BIN $f)"; fi
    done
    echo "0 passed, 1 failed"
    exit 1
fi

runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$OUT/fuzz.log" | grep -oE '[0-9]+$' | tail -n 1)
cov=$(grep -aoE 'cov: [0-9]+' "$OUT/fuzz.log" | tail -n 1)
echo "fuzz: ${runs:-?} inputs in ${elapsed}s, ${cov:-cov: ?} edges, corpus now $(find "$OUT/corpus" -type f | wc -l) inputs; no crash"
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# tests/fuzz/run.sh -- build the fuzzers and run each for a while.
#
# Usage: tests/fuzz/run.sh <seconds>      (make fuzz-smoke: 20 s; make fuzz: FUZZ_SECONDS)
#
# Three targets share the <seconds>, a third each: fuzz_resp (the RESP parser:
# tests/fuzz/fuzz_resp.c with src/resp.c buf.c util.c zmalloc.c),
# fuzz_filter (the filter language: tests/fuzz/fuzz_filter.c with src/filter.c
# zmalloc.c and jansson) and fuzz_restore (RESTORE payloads through the whole
# server: tests/fuzz/fuzz_restore.c with every src/*.c). Each is built as build/fuzz/<target> (libc malloc: no
# jemalloc) with clang -fsanitize=fuzzer,address,undefined; the seeds of its
# corpus in git (tests/fuzz/corpus for resp, tests/fuzz/corpus_filter for
# filter) are copied into its working corpus build/fuzz/corpus or
# build/fuzz/corpus_filter (which keeps what earlier runs found; the seeds in
# git stay small), and libFuzzer runs on it, with tests/fuzz/<target>.dict as
# its dictionary when that file exists.
#
# Each fuzzer's own output goes to build/fuzz/<target>.log; a summary is shown.
# A target passes when its run ended without a finding, and fails when its
# build failed or the fuzzer found a crash, a leak, undefined behaviour, a
# timeout or a failed invariant; the input that did it is saved as
# build/fuzz/<target>-crash-* (or leak-*, timeout-*), replayable with
# build/fuzz/<target> <file>. The last line is "N passed, N failed" over the
# three targets (exit status 1 when one failed); it is "0 passed, 1 failed" when
# clang or its libFuzzer runtime is missing (deps/install.sh installs clang and
# libclang-rt-14-dev).
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

# fuzz_one TARGET SECONDS SEED_DIR CORPUS_DIR SOURCES_AND_LIBS...: build one
# fuzzer and run it; status 0 when it ran without a finding.
fuzz_one() {
    local name=$1 secs=$2 seeds=$3 corpus=$4
    shift 4
    local bin=$OUT/$name log=$OUT/$name.log dict=()
    if [ -f "tests/fuzz/$name.dict" ]; then dict=("-dict=tests/fuzz/$name.dict"); fi
    echo "fuzz: building $bin"
    if ! "$CLANG" "${CFLAGS[@]}" "$@" -o "$bin" -lm; then
        echo "fuzz: $name: build failed"
        return 1
    fi

    mkdir -p "$corpus"
    if [ -d "$seeds" ]; then cp -f "$seeds"/* "$corpus/" 2>/dev/null; fi
    rm -f "$OUT/$name"-crash-* "$OUT/$name"-leak-* "$OUT/$name"-timeout-* "$OUT/$name"-oom-*

    echo "fuzz: running $bin for ${secs}s on $corpus ($(find "$corpus" -type f | wc -l) inputs)"
    local start=$SECONDS
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096 -timeout=10 "${dict[@]}" \
        -print_final_stats=1 -artifact_prefix="$OUT/$name-" "$corpus" >"$log" 2>&1
    local rc=$?
    local elapsed=$((SECONDS - start))

    if [ "$rc" -ne 0 ]; then
        echo "fuzz: $name exited with status $rc after ${elapsed}s; end of $log:"
        tail -n 60 "$log"
        for f in "$OUT/$name"-crash-* "$OUT/$name"-leak-* "$OUT/$name"-timeout-* "$OUT/$name"-oom-*; do
            if [ -f "$f" ]; then echo "fuzz: failing input saved as $f (replay: $bin $f)"; fi
        done
        return 1
    fi

    local runs cov
    runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
    cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1)
    echo "fuzz: $name: ${runs:-?} inputs in ${elapsed}s, ${cov:-cov: ?} edges, corpus now $(find "$corpus" -type f | wc -l) inputs; no crash"
}

# fuzz_restore links the whole server (server.c's main renamed), so its
# objects are compiled two at a time into build/fuzz/restore-objs first.
build_server_objs() {
    local dir=$OUT/restore-objs
    mkdir -p "$dir"
    local srcs=()
    for f in src/*.c; do srcs+=("$f"); done
    printf '%s\n' "${srcs[@]}" | xargs -P 2 -I{} sh -c '
        f={}; o="$0/$(basename "$f" .c).o"
        if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find src -name "*.h" -newer "$o" -print -quit)" ]; then
            '"$CLANG"' '"${CFLAGS[*]}"' -fsanitize=fuzzer-no-link -Dmain=phenix_server_main -c "$f" -o "$o" || exit 255
        fi' "$dir" || return 1
    SERVER_OBJS=("$dir"/*.o)
}

third=$(( (SECS + 2) / 3 ))
first=$third
second=$third
passed=0
failed=0
if fuzz_one fuzz_resp "$first" tests/fuzz/corpus "$OUT/corpus" \
    tests/fuzz/fuzz_resp.c src/resp.c src/buf.c src/util.c src/zmalloc.c; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
if fuzz_one fuzz_filter "$second" tests/fuzz/corpus_filter "$OUT/corpus_filter" \
    tests/fuzz/fuzz_filter.c src/filter.c src/zmalloc.c -ljansson; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
if build_server_objs && fuzz_one fuzz_restore "$third" tests/fuzz/corpus_restore "$OUT/corpus_restore" \
    tests/fuzz/fuzz_restore.c "${SERVER_OBJS[@]}" -luring -lxxhash -ljansson -llua5.1 -llua5.1-cjson \
    -llua5.1-bitop -lcrypto -ldl -lpthread; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

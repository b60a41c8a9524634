#!/usr/bin/env bash
# tests/clients/hiredis/run.sh -- compile test_hiredis.c against the system
# libhiredis in a temporary directory and run it.
#
# Usage: run.sh [work-dir]   (default: a fresh mktemp directory)
# Environment: PHENIX_HOST, PHENIX_PORT. A missing libhiredis is a failure.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"

if pkg-config --exists hiredis 2>/dev/null; then
    read -r -a HIREDIS_FLAGS <<<"$(pkg-config --cflags --libs hiredis)"
elif [ -f /usr/include/hiredis/hiredis.h ]; then
    HIREDIS_FLAGS=(-I/usr/include/hiredis -lhiredis)
else
    echo "FAIL: libhiredis not found (Debian package libhiredis-dev; deps/install.sh installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi

CC=${CC:-gcc}
if ! "$CC" -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
        -o "$WORK/test_hiredis" "$HERE/test_hiredis.c" "${HIREDIS_FLAGS[@]}"; then
    echo "FAIL: test_hiredis.c did not compile"
    echo "0 passed, 1 failed"
    exit 1
fi
exec "$WORK/test_hiredis"

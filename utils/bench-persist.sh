#!/usr/bin/env bash
# utils/bench-persist.sh -- durability benchmarks (utils/bench_persist.py says what and how):
# durable SET / PH.SET throughput next to redis-server under appendfsync always and
# everysec, restart time of a snapshot of 1M x 128 entities against building the index,
# and restart time of 10M small strings against Redis loading its own RDB.
#
# Usage: utils/bench-persist.sh [--quick]     (`make bench-persist` builds first)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
exec /usr/bin/python3 utils/bench_persist.py "$@"

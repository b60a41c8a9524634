#!/bin/bash
# utils/cpu_per_request.sh -- server CPU time per request, Phenix against redis-server.
#
# Throughput at -P 1 on a small VM is set by the client and the scheduler as much as by
# the server, and varies by tens of percent from run to run. This measures what the server
# itself spends: utime + stime of the server process (from /proc/PID/stat) around one
# redis-benchmark run of each command, divided by the number of requests. Both servers are
# pinned to CPU 0 and redis-benchmark to CPU 1, as in utils/bench.sh.
#
# Usage: bash utils/cpu_per_request.sh [ROUNDS]   (env: N requests per run, default 200000;
#        CLIENTS, default 50; PIPELINE, default 1; PHENIX_SERVER, REDIS_SERVER binaries;
#        CMDS, the commands measured, separated by '|', default
#        "zrange bench:zset 0 99 withscores|lrange bench:list 0 99|get foo")
# Prints one line per server, command and round: user, sys and total microseconds of
# server CPU per request, and the requests/s redis-benchmark saw.
set -euo pipefail
ROUNDS=${1:-2}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
CMDS=${CMDS:-zrange bench:zset 0 99 withscores|lrange bench:list 0 99|get foo}
IFS='|' read -r -a CMD_LIST <<<"$CMDS"
PHENIX_SERVER=${PHENIX_SERVER:-src/phenix-server}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d /tmp/phenix-cpu.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

free_port() { python3 -c 'import random; print(random.randint(20000, 32000))'; }

run() {
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  for i in $(seq 1 100); do echo "ZADD bench:zset $i m$i"; echo "RPUSH bench:list v$i"; done |
    redis-cli -p "$port" >/dev/null
  local cmd
  for cmd in "${CMD_LIST[@]}"; do
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    # shellcheck disable=SC2086
    local out
    out=$(taskset -c 1 redis-benchmark -p "$port" -n "$N" -c "$CLIENTS" -P "$PIPELINE" --csv $cmd 2>/dev/null |
      tail -1 | cut -d, -f2 | tr -d '"')
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    awk -v n="$N" -v t="$TCK" -v name="$name" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v cmd="$cmd" -v rps="$out" \
      'BEGIN{printf "%-7s %-36s user %6.2f  sys %6.2f  total %6.2f us/request  (%s requests/s)\n",
             name, cmd, u*1e6/t/n, s*1e6/t/n, (u+s)*1e6/t/n, rps}'
  done
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid"
  wait "$pid" 2>/dev/null || true
}

for r in $(seq 1 "$ROUNDS"); do
  p=$(free_port)
  run phenix "$p" taskset -c 0 "$PHENIX_SERVER" --port "$p" --bind 127.0.0.1 --dir "$TMP" --save ''
  p=$(free_port)
  run redis "$p" taskset -c 0 "$REDIS_SERVER" --port "$p" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no
done

#!/usr/bin/env bash
# tests/clients/redis-cli/test.sh -- redis-cli against a running server.
#
# Environment: PHENIX_HOST, PHENIX_PORT (set by tests/clients/run.sh).
# Covers commands in RESP2 (-2) and RESP3 (-3) mode, the output formats
# (raw, --no-raw, --csv, --json), stdin modes (-x, commands on stdin),
# --pipe mass insertion of 10,000 commands, -n, -r, --scan, --bigkeys,
# --memkeys and INFO. Ends with "N passed, N failed".
set -uo pipefail

HOST=${PHENIX_HOST:-127.0.0.1}
PORT=${PHENIX_PORT:?PHENIX_PORT is not set}
passed=0
failed=0

if ! command -v redis-cli >/dev/null 2>&1; then
    echo "FAIL: redis-cli not found (Debian package redis-tools; deps/install.sh installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "# $(redis-cli --version)"

# cli ARGS...: run redis-cli; a server that does not answer fails the check
# within 10 seconds instead of hanging the suite.
cli() { timeout 10 redis-cli -h "$HOST" -p "$PORT" "$@" 2>&1; }

# check NAME EXPECTED ACTUAL: exact comparison.
check() {
    if [ "$2" == "$3" ]; then
        passed=$((passed + 1)); echo "[ok] $1"
    else
        failed=$((failed + 1))
        printf '[err] %s\n  expected: %q\n  got:      %q\n' "$1" "$2" "$3"
    fi
}

# check_re NAME REGEX ACTUAL: extended-regex match (whole text, multi-line).
check_re() {
    if [[ "$3" =~ $2 ]]; then
        passed=$((passed + 1)); echo "[ok] $1"
    else
        failed=$((failed + 1))
        printf '[err] %s\n  expected to match: %s\n  got: %q\n' "$1" "$2" "$3"
    fi
}

cli FLUSHALL >/dev/null

# --- basic commands, raw output (the default when stdout is not a tty)
check "ping"                    "PONG"  "$(cli PING)"
check "ping with message"       "hi there" "$(cli PING 'hi there')"
check "echo"                    "hello" "$(cli ECHO hello)"
check "set"                     "OK"    "$(cli SET cli:k v1)"
check "get"                     "v1"    "$(cli GET cli:k)"
check "get missing is empty"    ""      "$(cli GET cli:missing)"
check "incr"                    "1"     "$(cli INCR cli:n)"
check "incrby"                  "11"    "$(cli INCRBY cli:n 10)"
check "append returns length"   "4"     "$(cli APPEND cli:k 23)"
check "strlen"                  "4"     "$(cli STRLEN cli:k)"
check "mset"                    "OK"    "$(cli MSET cli:a 1 cli:b 2)"
check "mget raw one per line"   $'1\n2\n\nx' "$(cli MGET cli:a cli:b cli:missing; echo x)"
check "exists counts"           "2"     "$(cli EXISTS cli:a cli:b cli:missing)"
check "type string"             "string" "$(cli TYPE cli:a)"
check "type none"               "none"  "$(cli TYPE cli:missing)"
check "del"                     "1"     "$(cli DEL cli:a)"
check "set with EX"             "OK"    "$(cli SET cli:ttl v EX 100)"
check_re "ttl in range"         '^(99|100)$' "$(cli TTL cli:ttl)"
check "ttl without expiry"      "-1"    "$(cli TTL cli:b)"
check "ttl missing key"         "-2"    "$(cli TTL cli:missing)"
check "binary-safe value with spaces and quotes" "a \"b\" c" \
      "$(cli SET cli:q 'a "b" c' >/dev/null; cli GET cli:q)"

# --- errors
check "wrong arity error" "ERR wrong number of arguments for 'get' command" "$(cli GET)"
check_re "unknown command error" "^ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b'" \
      "$(cli nosuchcmd a b)"
check "not an integer error" "ERR value is not an integer or out of range" \
      "$(cli SET cli:s abc >/dev/null; cli INCR cli:s)"
check "syntax error" "ERR syntax error" "$(cli SET cli:k v NX XX)"
cli -e NOSUCHCMD >/dev/null 2>&1
check "-e makes errors exit non-zero" "1" "$?"

# --- formatted output (--no-raw), RESP2
check "no-raw string"  '"v123"'     "$(cli --no-raw GET cli:k)"
check "no-raw nil"     "(nil)"      "$(cli --no-raw GET cli:missing)"
check "no-raw integer" "(integer) 2" "$(cli --no-raw EXISTS cli:b cli:k)"
check "no-raw status"  "OK"         "$(cli --no-raw SET cli:c 3)"
check "no-raw array"   $'1) "2"\n2) "3"\n3) (nil)' "$(cli --no-raw MGET cli:b cli:c cli:missing)"
check "no-raw error"   "(error) ERR wrong number of arguments for 'get' command" "$(cli --no-raw GET)"
check "no-raw empty array" "(empty array)" "$(cli --no-raw KEYS 'nomatch*')"

# --- RESP2 / RESP3 modes
check "-2 get" "v123" "$(cli -2 GET cli:k)"
check "-3 get" "v123" "$(cli -3 GET cli:k)"
check "-3 nil" "(nil)" "$(cli -3 --no-raw GET cli:missing)"
check "-3 integer" "(integer) 4" "$(cli -3 --no-raw INCR cli:c)"
hello3=$(cli -3 --no-raw HELLO 3)
check_re "-3 HELLO 3 is a map with proto 3" '[0-9]+# "proto" => \(integer\) 3' "$hello3"
check_re "-3 HELLO 3 has server/version/id/mode/role" \
      '"server" =>.*"version" =>.*"id" => \(integer\).*"mode" =>.*"role" =>' "$hello3"
check_re "-2 HELLO 2 is a flat array" '^ *1\) "server"' "$(cli -2 --no-raw HELLO 2)"
check "-3 CONFIG GET is a map" "1# \"port\" => \"$PORT\"" "$(cli -3 --no-raw CONFIG GET port)"
check "-2 CONFIG GET is a flat array" $'port\n'"$PORT" "$(cli -2 CONFIG GET port)"
check_re "-3 CLIENT INFO (verbatim in RESP3)" '^id=[0-9]+ addr=127\.0\.0\.1:[0-9]+ .*resp=3' \
      "$(cli -3 CLIENT INFO)"
check_re "-3 INFO server" $'# Server\r?\n' "$(cli -3 INFO server)"

# --- other output formats
check "--csv array with nil" '"2","4",NULL' "$(cli -2 --csv MGET cli:b cli:c cli:missing)"
check "--csv integer" "5" "$(cli --csv INCR cli:c)"
check "--csv status" '"PONG"' "$(cli --csv PING)"
check "--json array (RESP2)" '["2","5"]' "$(cli -2 --json MGET cli:b cli:c)"
check "--json map (RESP3)" "{\"port\":\"$PORT\"}" "$(cli --json CONFIG GET port)"
check "--raw keeps newlines in values" $'line1\nline2' \
      "$(cli SET cli:nl $'line1\nline2' >/dev/null; cli --raw GET cli:nl)"
check "--no-raw escapes newlines" '"line1\nline2"' "$(cli --no-raw GET cli:nl)"
check "-d delimiter between bulks" "2,5" "$(cli --raw -d , MGET cli:b cli:c)"

# --- stdin modes, -n, -r
check "-x reads the last argument from stdin" $'OK\nfrom\nstdin' \
      "$(printf 'from\nstdin' | cli -x SET cli:x; cli GET cli:x)"
check "commands read from stdin" $'OK\n6\n6' \
      "$(printf 'SET cli:in 5\nINCR cli:in\nGET cli:in\n' | cli)"
check "-n selects a database" $'OK\n0\n1' \
      "$(cli -n 3 SET cli:db3 x; cli -n 0 EXISTS cli:db3; cli -n 3 EXISTS cli:db3)"
check "-r repeats a command" $'PONG\nPONG\nPONG' "$(cli -r 3 PING)"

# --- --pipe mass insertion: 10,000 SET commands in RESP
pipe_in=$(mktemp)
for ((i = 0; i < 10000; i++)); do
    k="pipe:$i"; v="value:$i"
    # shellcheck disable=SC2016 # the $ are RESP bulk-length markers, not expansions
    printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' "${#k}" "$k" "${#v}" "$v"
done >"$pipe_in"
pipe_out=$(timeout 60 redis-cli -h "$HOST" -p "$PORT" --pipe <"$pipe_in" 2>&1)
rm -f "$pipe_in"
check_re "--pipe 10000 commands, no errors" 'errors: 0, replies: 10000' "$pipe_out"
check "--pipe data is there (first)" "value:0" "$(cli GET pipe:0)"
check "--pipe data is there (last)" "value:9999" "$(cli GET pipe:9999)"
check "--pipe data is there (count)" "10000" "$(cli KEYS 'pipe:*' | wc -l)"

# --- keyspace tools that redis-cli builds on SCAN/TYPE/STRLEN/MEMORY USAGE
check "--scan --pattern finds every match" "1111" "$(cli --scan --pattern 'pipe:1*' | sort -u | wc -l)"
check "--scan lists every key (duplicates allowed)" "$(cli DBSIZE)" "$(cli --scan | sort -u | wc -l)"
bigkeys=$(cli --bigkeys)
check_re "--bigkeys scans and summarises" 'Biggest string found' "$bigkeys"
check_re "--bigkeys counts every key" '1001[0-9] keys in the keyspace|100[0-9][0-9] keys in the keyspace' "$bigkeys"
memkeys=$(cli --memkeys)
check_re "--memkeys uses MEMORY USAGE" 'Biggest string found .* has [0-9]+ bytes' "$memkeys"

# --- INFO
info=$(cli INFO)
for section in Server Clients Memory Persistence Stats Replication CPU Keyspace; do
    check_re "INFO has section $section" "# $section"$'\r?\n' "$info"
done
check_re "INFO server tcp_port" "tcp_port:$PORT"$'\r' "$(cli INFO server)"
check_re "INFO server redis_version" $'redis_version:[0-9.]+\r' "$(cli INFO server)"
check_re "INFO clients connected_clients" $'connected_clients:[0-9]+\r' "$(cli INFO clients)"
check_re "INFO memory used_memory" $'used_memory:[0-9]+\r' "$(cli INFO memory)"
check_re "INFO persistence loading" $'loading:0\r' "$(cli INFO persistence)"
check_re "INFO keyspace db0" $'db0:keys=100[0-9][0-9],expires=1,avg_ttl=[0-9]+' "$(cli INFO keyspace)"
check_re "INFO keyspace db3" $'db3:keys=1,expires=0' "$(cli INFO keyspace)"
check_re "INFO commandstats cmdstat_set" 'cmdstat_set:calls=[0-9]+,usec=' "$(cli INFO commandstats)"
check "DBSIZE" "$((10000 + $(cli KEYS 'cli:*' | wc -l)))" "$(cli DBSIZE)"
check_re "COMMAND COUNT is a positive integer" '^[1-9][0-9]*$' "$(cli COMMAND COUNT)"
check_re "--no-raw COMMAND DOCS get (interactive hints)" '"summary"' "$(cli --no-raw COMMAND DOCS get)"

cli FLUSHALL >/dev/null
check "FLUSHALL empties every database" "0 0" "$(cli DBSIZE) $(cli -n 3 DBSIZE)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

# Protocol: inline and multibulk requests, pipelining, protocol abuse (garbage,
# huge declared lengths, unterminated frames, half-closed sockets, query buffer
# limit, output buffer limit), RESP3 through HELLO and the RESP2 degradation.
# After every abuse a fresh client must still get PONG.

proc assert_server_alive {} {
    set c [redis_client]
    set reply [$c ping]
    $c close
    assert_equal PONG $reply "a fresh client must get PONG"
}

# Sends bytes on a fresh connection; returns everything the server sends back
# until it closes the connection (fails if it does not close within 5 s). Then
# checks that the server still answers a fresh client.
proc send_garbage {bytes} {
    set c [redis_client]
    $c write $bytes
    set out [$c read_until_eof 5000]
    $c close
    assert_server_alive
    return $out
}

start_server {tags {protocol}} {
    test "PING as a multibulk request" {
        set c [redis_client]
        $c write "*1\r\n\$4\r\nPING\r\n"
        set reply [$c read]
        $c close
        set reply
    } {PONG}

    test "Inline command" {
        set c [redis_client]
        $c write "PING\r\n"
        set reply [$c read]
        $c close
        set reply
    } {PONG}

    test "Inline command terminated by a bare LF" {
        set c [redis_client]
        $c write "ECHO hello\n"
        set reply [$c read]
        $c close
        set reply
    } {hello}

    test "Inline command with quoted and escaped arguments" {
        set c [redis_client]
        $c write "SET \"key with spaces\" \"a\\x41\\nb\"\r\nGET \"key with spaces\"\r\nSET 'single q' 'x y'\r\nGET 'single q'\r\n"
        set replies [list [$c read] [$c read] [$c read] [$c read]]
        $c close
        set replies
    } [list OK "aA\nb" OK "x y"]

    test "Inline command with many spaces between arguments" {
        set c [redis_client]
        $c write "   ECHO     spaced     \r\n"
        set reply [$c read]
        $c close
        set reply
    } {spaced}

    test "Empty inline lines are ignored" {
        set c [redis_client]
        $c write "\r\n\r\n   \r\nPING\r\n"
        set reply [$c read]
        $c write "ECHO after\r\n"
        lappend reply [$c read]
        $c close
        set reply
    } {PONG after}

    test "Empty and negative multibulk counts are ignored" {
        set c [redis_client]
        $c write "*0\r\n*-1\r\n*1\r\n\$4\r\nPING\r\n"
        set reply [$c read]
        $c close
        set reply
    } {PONG}

    test "Zero-length bulk argument" {
        r del emptyval
        set c [redis_client]
        $c write "*3\r\n\$3\r\nSET\r\n\$8\r\nemptyval\r\n\$0\r\n\r\n*2\r\n\$6\r\nSTRLEN\r\n\$8\r\nemptyval\r\n"
        set reply [list [$c read] [$c read]]
        $c close
        set reply
    } {OK 0}

    test "Bulk arguments are binary safe (CR, LF, NUL, 0xff)" {
        set v "a\r\nb\x00c\xff\r\n"
        r set binkey $v
        assert_equal $v [r get binkey]
        string length [r get binkey]
    } {9}

    test "Command name is case-insensitive" {
        list [r PiNg] [r echo X] [r ECHO y]
    } {PONG X y}

    test "Wrong arity is an error reply, not a protocol error" {
        set c [redis_client]
        $c write "*1\r\n\$3\r\nGET\r\n"
        catch {$c read} err
        set pong [$c ping]
        $c close
        list $err $pong
    } {{ERR wrong number of arguments for 'get' command} PONG}

    test "Empty command name is an unknown command" {
        set c [redis_client]
        $c write "*1\r\n\$0\r\n\r\n"
        catch {$c read} err
        set pong [$c ping]
        $c close
        list $err $pong
    } {{ERR unknown command '', with args beginning with: } PONG}

    test "A request delivered one byte at a time" {
        set c [redis_client]
        set req [::resp::encode {SET bytewise hello}]
        foreach ch [split $req ""] {
            $c write $ch
            after 1
        }
        set reply [$c read]
        $c close
        list $reply [r get bytewise]
    } {OK hello}

    test "A request split across writes inside the CRLF" {
        set c [redis_client]
        $c write "*2\r\n\$4\r\nECHO\r"
        after 50
        $c write "\n\$5\r\nhel"
        after 50
        $c write "lo\r"
        after 50
        $c write "\n"
        set reply [$c read]
        $c close
        set reply
    } {hello}

    test "Pipelining 10,000 commands in one write" {
        r del pipecounter
        set buf ""
        for {set i 0} {$i < 10000} {incr i} {
            switch [expr {$i % 4}] {
                0 { append buf [::resp::encode [list SET pipe:$i v$i]] }
                1 { append buf [::resp::encode [list INCR pipecounter]] }
                2 { append buf [::resp::encode [list GET pipe:[expr {$i - 2}]]] }
                3 { append buf "PING\r\n" }
            }
        }
        set c [redis_client]
        $c write $buf
        set bad 0
        for {set i 0} {$i < 10000} {incr i} {
            set reply [$c read]
            switch [expr {$i % 4}] {
                0 { set want OK }
                1 { set want [expr {$i / 4 + 1}] }
                2 { set want v[expr {$i - 2}] }
                3 { set want PONG }
            }
            if {$reply ne $want} {
                incr bad
                if {$bad == 1} { set first "reply $i: got '$reply', expected '$want'" }
            }
        }
        $c close
        if {$bad} { fail "$bad wrong replies; first: $first" }
        r get pipecounter
    } {2500}

    test "Pipelined replies keep order across mixed errors" {
        set c [redis_client]
        set replies [pipeline_commands $c {{SET a 1} {INCR a} {NOSUCHCMD} {GET} {GET a}}]
        $c close
        set replies
    } {OK 2 {ERR unknown command 'NOSUCHCMD', with args beginning with: } {ERR wrong number of arguments for 'get' command} 2}

    test "Deferred client: write N commands, read N replies" {
        set rd [redis_deferring_client]
        for {set i 0} {$i < 100} {incr i} { $rd echo $i }
        set out {}
        for {set i 0} {$i < 100} {incr i} { lappend out [$rd read] }
        $rd close
        expr {$out eq [lsort -integer $out] && [llength $out] == 100 && [lindex $out 99] == 99}
    } {1}
}

start_server {tags {protocol abuse}} {
    test "Garbage: non-numeric multibulk length" {
        send_garbage "*abc\r\n"
    } "-ERR Protocol error: invalid multibulk length\r\n"

    test "Garbage: multibulk length with a sign or trailing junk" {
        list [send_garbage "*+1\r\n"] [send_garbage "*1x\r\n"]
    } [list "-ERR Protocol error: invalid multibulk length\r\n" \
           "-ERR Protocol error: invalid multibulk length\r\n"]

    test "Huge multibulk count (> 2^31) is refused" {
        set out [send_garbage "*3000000000\r\n"]
        assert_server_alive
        set out
    } "-ERR Protocol error: invalid multibulk length\r\n"

    test "Huge multibulk count in 64-bit overflow range is refused" {
        send_garbage "*99999999999999999999999\r\n"
    } "-ERR Protocol error: invalid multibulk length\r\n"

    test "Garbage: array element that is not a bulk string" {
        list [send_garbage "*1\r\nfoo\r\n"] [send_garbage "*1\r\n*1\r\n"]
    } [list "-ERR Protocol error: expected '\$', got 'f'\r\n" \
           "-ERR Protocol error: expected '\$', got '*'\r\n"]

    test "Garbage: non-numeric or negative bulk length" {
        list [send_garbage "*1\r\n\$abc\r\n"] [send_garbage "*1\r\n\$-5\r\n"] \
             [send_garbage "*1\r\n\$-1\r\n"] [send_garbage "*1\r\n\$1x\r\n"]
    } [lrepeat 4 "-ERR Protocol error: invalid bulk length\r\n"]

    test "Huge declared bulk length (> proto-max-bulk-len) is refused" {
        set a [send_garbage "*1\r\n\$600000000\r\n"]
        set b [send_garbage "*1\r\n\$99999999999999999999\r\n"]
        assert_server_alive
        list $a $b
    } [lrepeat 2 "-ERR Protocol error: invalid bulk length\r\n"]

    test "Bulk length limit follows CONFIG SET proto-max-bulk-len" {
        r config set proto-max-bulk-len 1mb
        set refused [send_garbage "*3\r\n\$3\r\nSET\r\n\$1\r\nk\r\n\$1048577\r\n"]
        set c [redis_client]
        set ok [$c set atlimit [string repeat x 1048576]]
        $c close
        r config set proto-max-bulk-len 512mb
        list $refused $ok [r strlen atlimit]
    } [list "-ERR Protocol error: invalid bulk length\r\n" OK 1048576]

    test "Unbalanced quotes in an inline request" {
        send_garbage "SET \"unbalanced foo\r\n"
    } "-ERR Protocol error: unbalanced quotes in request\r\n"

    test "Too big inline request (64 KB without a newline)" {
        set out [send_garbage [string repeat x 70000]]
        assert_server_alive
        set out
    } "-ERR Protocol error: too big inline request\r\n"

    test "Too big multibulk count string" {
        send_garbage "*[string repeat 1 70000]"
    } "-ERR Protocol error: too big mbulk count string\r\n"

    test "Too big bulk count string" {
        send_garbage "*1\r\n\$[string repeat 1 70000]"
    } "-ERR Protocol error: too big bulk count string\r\n"

    test "Commands before a protocol error are executed and answered" {
        r del beforeerr
        set out [send_garbage "*3\r\n\$3\r\nSET\r\n\$9\r\nbeforeerr\r\n\$1\r\n1\r\n*x\r\n"]
        list $out [r get beforeerr]
    } [list "+OK\r\n-ERR Protocol error: invalid multibulk length\r\n" 1]

    test "Unterminated frames then close leave no trace" {
        r del k partial
        set before [s connected_clients]
        foreach frag [list "*3\r\n\$3\r\nSET\r\n\$1\r\nk\r\n\$3\r\nab" "*2\r\n\$4" "*" "*3\r\n" \
                          "*3\r\n\$3\r\nSET\r\n\$7\r\npartial\r\n" "PIN" "*1\r\n\$4\r\nPING" \
                          "SET partial \"open"] {
            set c [redis_client]
            $c write $frag
            after 20
            $c close
        }
        wait_for {[s connected_clients] == $before} 5000
        assert_server_alive
        list [r exists k] [r exists partial]
    } {0 0}

    test "Unterminated frame: the server keeps waiting for the rest" {
        set c [redis_client]
        $c write "*2\r\n\$4\r\nECHO\r\n\$5\r\nhel"
        after 200
        assert_equal 0 [$c wait_close 100] "the server must not close a slow sender"
        $c write "lo\r\n"
        set reply [$c read]
        $c close
        set reply
    } {hello}

    test "Half-closed socket: the reply to the last command still arrives" {
        set c [redis_client]
        $c write "*2\r\n\$4\r\nECHO\r\n\$4\r\nlast\r\n"
        $c close_write
        set reply [$c read]
        set closed [$c wait_close 5000]
        $c close
        list $reply $closed
    } {last 1}

    test "Half-closed socket after a 1,000-command pipeline: every reply arrives" {
        set c [redis_client]
        set buf ""
        for {set i 0} {$i < 1000} {incr i} { append buf [::resp::encode [list ECHO $i]] }
        $c write $buf
        $c close_write
        set bad 0
        for {set i 0} {$i < 1000} {incr i} {
            if {[$c read] ne $i} { incr bad }
        }
        set closed [$c wait_close 5000]
        $c close
        list $bad $closed
    } {0 1}

    test "Half-closed socket with an incomplete frame: closed without a reply" {
        set c [redis_client]
        $c write "*2\r\n\$4\r\nECHO\r\n\$10\r\nabc"
        $c close_write
        set out [$c read_until_eof 5000]
        $c close
        assert_server_alive
        set out
    } {}

    test "Client closing with unread replies does not hurt the server" {
        set c [redis_client]
        set buf ""
        for {set i 0} {$i < 2000} {incr i} { append buf [::resp::encode [list ECHO [string repeat y 100]]] }
        $c write $buf
        $c close
        assert_server_alive
    }

    test "client-query-buffer-limit closes a client with an oversized query buffer" {
        r config set client-query-buffer-limit 1mb
        r config set proto-max-bulk-len 4mb
        r del qbuf
        set c [redis_client]
        catch {
            $c write "*3\r\n\$3\r\nSET\r\n\$4\r\nqbuf\r\n\$3000000\r\n"
            $c write [string repeat z 1500000]
        }
        set closed [$c wait_close 5000]
        $c close
        r config set client-query-buffer-limit 1gb
        r config set proto-max-bulk-len 512mb
        assert_server_alive
        list $closed [r exists qbuf]
    } {1 0}

    test "Client output buffer limit closes a client that does not read" {
        r config set client-output-buffer-limit "normal 100kb 0 0"
        r set bigval [string repeat b 1000000]
        set c [redis_client]
        set id [$c client id]
        set buf ""
        for {set i 0} {$i < 40} {incr i} { append buf [::resp::encode {GET bigval}] }
        $c write $buf
        wait_for {[client_entry $id] eq ""} 5000 20 "the slow reader must be disconnected"
        $c close
        r config set client-output-buffer-limit "normal 0 0 0"
        r del bigval
        assert_server_alive
    }

    test "Random garbage on 100 connections never kills the server" {
        expr {srand(4242)}
        for {set i 0} {$i < 100} {incr i} {
            set c [redis_client]
            set len [expr {1 + int(rand() * 300)}]
            if {$i % 3 == 0} {
                set payload "*[expr {int(rand() * 5)}]\r\n[randbytes $len]"
            } elseif {$i % 3 == 1} {
                set payload "*2\r\n\$[expr {int(rand() * 100)}]\r\n[randbytes $len]"
            } else {
                set payload [randbytes $len]
            }
            catch {$c write $payload}
            catch {$c wait_close 20}
            $c close
        }
        assert_server_alive
        r dbsize
        r ping
    } {PONG}

    test "The server is still fully usable after the abuse" {
        r set after:abuse ok
        r get after:abuse
    } {ok}
}

start_server {tags {protocol resp3}} {
    test "HELLO 3 answers a map with server, version, proto, id, mode, role, modules" {
        set c [redis_client]
        set hello [$c hello 3]
        set id [$c client id]
        $c close
        foreach k {server version proto id mode role modules} {
            assert {[dict exists $hello $k]} "HELLO reply must have field $k"
        }
        assert_equal 3 [dict get $hello proto]
        assert_equal $id [dict get $hello id]
        assert_equal standalone [dict get $hello mode]
        assert_equal master [dict get $hello role]
        dict size $hello
    } {7}

    test "HELLO 3 reply is a RESP3 map of 7 pairs on the wire" {
        set c [redis_client]
        $c readraw 1
        $c send hello 3
        set first [$c read_line]
        $c close
        set first
    } {%7}

    test "HELLO 2 reply is a flat array of 14 elements on the wire" {
        set c [redis_client]
        $c readraw 1
        $c send hello 2
        set first [$c read_line]
        $c close
        set first
    } {*14}

    test "HELLO without arguments keeps the current protocol" {
        set c [redis_client]
        set p2 [dict get [$c hello] proto]
        $c hello 3
        set p3 [dict get [$c hello] proto]
        $c close
        list $p2 $p3
    } {2 3}

    test "HELLO with an unsupported protocol version" {
        list [catch {r hello 4} e1] $e1 [catch {r hello 1} e2] $e2 [catch {r hello 0} e3] $e3
    } {1 {NOPROTO unsupported protocol version} 1 {NOPROTO unsupported protocol version} 1 {NOPROTO unsupported protocol version}}

    test "HELLO with a non-integer protocol version" {
        catch {r hello abc} e
        set e
    } {ERR Protocol version is not an integer or out of range}

    test "HELLO with an unknown option or a missing option argument" {
        set out {}
        catch {r hello 3 FOO} e; lappend out $e
        catch {r hello 3 SETNAME} e; lappend out $e
        catch {r hello 3 AUTH default} e; lappend out $e
        set out
    } {{ERR Syntax error in HELLO option 'FOO'} {ERR Syntax error in HELLO option 'SETNAME'} {ERR Syntax error in HELLO option 'AUTH'}}

    test "HELLO 3 SETNAME sets the client name" {
        set c [redis_client]
        $c hello 3 setname helloname
        set name [$c client getname]
        $c close
        set name
    } {helloname}

    test "HELLO 2 SETNAME works and keeps RESP2" {
        set c [redis_client]
        set h [$c hello 2 setname n2]
        set name [$c client getname]
        $c close
        list [dict get $h proto] $name
    } {2 n2}

    test "HELLO SETNAME with a space is refused" {
        catch {r hello 3 setname "a b"} e
        set e
    } {ERR Client names cannot contain spaces, newlines or special characters.}

    test "HELLO 3 AUTH with the default user and no password configured succeeds" {
        set c [redis_client]
        set h [$c hello 3 auth default anything]
        $c close
        dict get $h proto
    } {3}

    test "RESP3: CONFIG GET replies with a map" {
        set c [redis_client]
        $c hello 3
        $c readraw 1
        $c send config get maxmemory
        set lines [list [$c read_line] [$c read_line] [$c read_line]]
        $c close
        set lines
    } {%1 {$9} maxmemory}

    test "RESP2: CONFIG GET replies with a flat array" {
        set c [redis_client]
        $c readraw 1
        $c send config get maxmemory
        set first [$c read_line]
        $c close
        set first
    } {*2}

    test "RESP3: missing key is the RESP3 null, RESP2 the null bulk" {
        r del nokey
        set c3 [redis_client]
        $c3 hello 3
        $c3 readraw 1
        $c3 send get nokey
        set n3 [$c3 read_line]
        $c3 send mget nokey nokey
        set m3 [list [$c3 read_line] [$c3 read_line] [$c3 read_line]]
        $c3 close
        set c2 [redis_client]
        $c2 readraw 1
        $c2 send get nokey
        set n2 [$c2 read_line]
        $c2 close
        list $n3 $m3 $n2
    } {_ {*2 _ _} {$-1}}

    test "RESP3: INFO is a verbatim string, RESP2 a bulk string" {
        set c3 [redis_client]
        $c3 hello 3
        set parsed [$c3 info server]
        $c3 readraw 1
        $c3 send info server
        set first3 [string index [$c3 read_line] 0]
        $c3 close
        set c2 [redis_client]
        $c2 readraw 1
        $c2 send info server
        set first2 [string index [$c2 read_line] 0]
        $c2 close
        assert_match "# Server*" $parsed "the client strips the txt: prefix"
        list $first3 $first2
    } {= {$}}

    test "RESP3: MEMORY STATS is a map with double values" {
        set c [redis_client]
        $c hello 3
        set stats [$c memory stats]
        $c readraw 1
        $c send memory stats
        set first [string index [$c read_line] 0]
        $c close
        assert {[dict exists $stats peak.allocated]}
        assert {[string is double -strict [dict get $stats dataset.percentage]]}
        set first
    } {%}

    test "RESP3: COMMAND INFO flags are a set" {
        set c [redis_client]
        $c hello 3
        $c readraw 1
        $c send command info get
        set lines {}
        for {set i 0} {$i < 5} {incr i} { lappend lines [$c read_line] }
        $c close
        lrange $lines 0 4
    } {*1 *10 {$3} get :2}

    test "RESP3 replies decoded: nested map and set values" {
        set c [redis_client]
        $c hello 3
        set info [lindex [$c command info get] 0]
        $c close
        list [lindex $info 0] [lindex $info 1] [lsort [lindex $info 2]]
    } {get 2 {fast readonly}}

    test "After HELLO 3 then HELLO 2 replies are RESP2 again" {
        set c [redis_client]
        $c hello 3
        $c hello 2
        $c readraw 1
        $c send config get maxmemory
        set first [$c read_line]
        $c close
        set first
    } {*2}
}

start_server {tags {protocol resp3 debug-extra}} {
    # DEBUG PROTOCOL emits one reply of each RESP3 type; these tests check the
    # server's encoder and this harness's decoder together.
    test "RESP3 types through DEBUG PROTOCOL (raw)" {
        set c [redis_client]
        $c hello 3
        $c readraw 1
        set out {}
        foreach t {integer double bignum null true false} {
            $c send debug protocol $t
            lappend out [$c read_line]
        }
        $c close
        set out
    } {:12345 ,3.141 (1234567999999999999999999999999999999 _ #t #f}

    test "RESP3 types through DEBUG PROTOCOL (decoded)" {
        set c [redis_client]
        $c hello 3
        set out {}
        foreach t {string integer double bignum null array set map verbatim true false} {
            lappend out [$c debug protocol $t]
        }
        lappend out [$c debug protocol attrib] [$c attributes]
        $c close
        set out
    } [list {Hello World} 12345 3.141 1234567999999999999999999999999999999 {} {0 1 2} {0 1 2} \
            {0 0 1 1 2 0} "This is a verbatim\nstring" 1 0 \
            {Some real reply following the attribute} {key-popularity {key:123 90}}]

    test "RESP3 push message before a reply" {
        set c [redis_client]
        $c hello 3
        $c send debug protocol push
        set push [$c read]
        set reply [$c read]
        $c close
        list $push $reply
    } {{server-cpu-usage 42} {Some real reply following the push reply}}

    test "RESP2 degradation of RESP3 types" {
        set c [redis_client]
        $c readraw 1
        set out {}
        foreach t {double null true false} {
            $c send debug protocol $t
        }
        for {set i 0} {$i < 5} {incr i} { lappend out [$c read_line] }
        $c close
        set out
    } {{$5} 3.141 {$-1} :1 :0}
}

# Introspection and server commands: CLIENT *, CONFIG GET|SET|RESETSTAT|REWRITE,
# COMMAND *, unknown commands, INFO sections and fields, TIME, SLOWLOG, LATENCY,
# MEMORY, DEBUG SLEEP|OBJECT, ECHO, PING, QUIT, RESET, SELECT.

# Milliseconds a script takes.
proc elapsed_ms {script} {
    set t0 [clock milliseconds]
    uplevel 1 $script
    return [expr {[clock milliseconds] - $t0}]
}

start_server {tags {introspection client}} {
    test "CLIENT ID returns a positive integer, distinct per connection" {
        set c1 [redis_client]
        set c2 [redis_client]
        set id0 [r client id]
        set id1 [$c1 client id]
        set id2 [$c2 client id]
        $c1 close
        $c2 close
        assert {$id0 > 0 && $id1 > $id0 && $id2 > $id1}
        expr {[r client id] == $id0}
    } {1}

    test "CLIENT SETNAME and GETNAME" {
        set before [r client getname]
        set res [r client setname myname]
        list $before $res [r client getname]
    } {{} OK myname}

    test "CLIENT SETNAME with an empty name removes the name" {
        r client setname foo
        r client setname {}
        r client getname
    } {}

    test "CLIENT SETNAME refuses spaces and newlines" {
        set out {}
        catch {r client setname "a b"} e; lappend out $e
        catch {r client setname "a\nb"} e; lappend out $e
        set out
    } {{ERR Client names cannot contain spaces, newlines or special characters.} {ERR Client names cannot contain spaces, newlines or special characters.}}

    test "CLIENT LIST shows every client with Redis fields" {
        r client setname lister
        set c [redis_client]
        $c client setname other
        set entries [client_list_dicts [r client list]]
        $c close
        set me {}
        foreach d $entries {
            if {[dict get $d name] eq "lister"} { set me $d }
        }
        assert {[llength $entries] >= 2}
        foreach f {id addr laddr fd name age idle flags db cmd user resp} {
            assert {[dict exists $me $f]} "field $f"
        }
        assert_match "127.0.0.1:*" [dict get $me addr]
        assert_equal "127.0.0.1:[srv port]" [dict get $me laddr]
        list [dict get $me db] [dict get $me cmd] [dict get $me user] [dict get $me resp] [dict get $me flags]
    } {0 client|list default 2 N}

    test "CLIENT LIST TYPE normal and ID filters" {
        set c [redis_client]
        set id [$c client id]
        set myid [r client id]
        set normal [llength [client_list_dicts [r client list type normal]]]
        set byid [client_list_dicts [r client list id $id $myid]]
        $c close
        assert_morethan_equal $normal 2
        set got [lsort -integer [list [dict get [lindex $byid 0] id] [dict get [lindex $byid 1] id]]]
        list [llength $byid] [expr {$got eq [lsort -integer [list $id $myid]]}]
    } {2 1}

    test "CLIENT LIST errors" {
        set out {}
        catch {r client list type foo} e; lappend out $e
        catch {r client list id abc} e; lappend out $e
        catch {r client list foo} e; lappend out $e
        set out
    } {{ERR Unknown client type 'foo'} {ERR Invalid client ID} {ERR syntax error}}

    test "CLIENT INFO describes the calling client" {
        r select 3
        r client setname infoname
        set d [lindex [client_list_dicts [r client info]] 0]
        r select 0
        list [expr {[dict get $d id] == [r client id]}] [dict get $d name] [dict get $d db] [dict get $d cmd]
    } {1 infoname 3 client|info}

    test "CLIENT INFO shows resp=3 after HELLO 3" {
        set c [redis_client]
        $c hello 3
        set d [lindex [client_list_dicts [$c client info]] 0]
        $c close
        dict get $d resp
    } {3}

    test "CLIENT KILL with the old ip:port syntax" {
        set c [redis_client]
        set id [$c client id]
        set addr [dict get [client_entry $id] addr]
        set res [r client kill $addr]
        set closed [$c wait_close 2000]
        $c close
        list $res $closed
    } {OK 1}

    test "CLIENT KILL ip:port of no client" {
        catch {r client kill 1.2.3.4:5} e
        set e
    } {ERR No such client}

    test "CLIENT KILL ID" {
        set c [redis_client]
        set id [$c client id]
        set res [r client kill id $id]
        set closed [$c wait_close 2000]
        $c close
        list $res $closed [r client kill id $id]
    } {1 1 0}

    test "CLIENT KILL ADDR" {
        set c [redis_client]
        set addr [dict get [client_entry [$c client id]] addr]
        set res [r client kill addr $addr]
        set closed [$c wait_close 2000]
        $c close
        list $res $closed
    } {1 1}

    test "CLIENT KILL LADDR kills every client of that listener except me" {
        set c1 [redis_client]
        set c2 [redis_client]
        $c1 ping
        $c2 ping
        set res [r client kill laddr 127.0.0.1:[srv port]]
        set closed [list [$c1 wait_close 2000] [$c2 wait_close 2000]]
        $c1 close
        $c2 close
        assert_morethan_equal $res 2
        list $closed [r ping]
    } {{1 1} PONG}

    test "CLIENT KILL USER default SKIPME yes spares the caller" {
        set c [redis_client]
        $c ping
        set res [r client kill user default skipme yes]
        set closed [$c wait_close 2000]
        $c close
        assert_morethan_equal $res 1
        list $closed [r ping]
    } {1 PONG}

    test "CLIENT KILL TYPE normal kills the other normal clients" {
        set c [redis_client]
        $c ping
        set res [r client kill type normal]
        set closed [$c wait_close 2000]
        $c close
        assert_morethan_equal $res 1
        list $closed [r client kill type pubsub] [r ping]
    } {1 0 PONG}

    test "CLIENT KILL TYPE with an unknown type" {
        catch {r client kill type foo} e
        set e
    } {ERR Unknown client type 'foo'}

    test "CLIENT KILL ID SKIPME no kills the caller itself" {
        set c [redis_client]
        set id [$c client id]
        $c send client kill id $id skipme no
        set out [$c read_until_eof 2000]
        $c close
        set out
    } ":1\r\n"

    test "CLIENT KILL errors" {
        set out {}
        catch {r client kill id abc} e; lappend out $e
        catch {r client kill id 0} e; lappend out $e
        catch {r client kill foo bar} e; lappend out $e
        catch {r client kill id 1 id} e; lappend out $e
        catch {r client kill user nouser} e; lappend out $e
        catch {r client kill skipme maybe} e; lappend out $e
        catch {r client kill} e; lappend out $e
        set out
    } {{ERR client-id should be greater than 0} {ERR client-id should be greater than 0} {ERR syntax error} {ERR syntax error} {ERR No such user 'nouser'} {ERR syntax error} {ERR wrong number of arguments for 'client|kill' command}}

    test "CLIENT KILL with a filter that matches nobody" {
        list [r client kill id 999999999] [r client kill addr 1.2.3.4:5] [r client kill laddr 1.2.3.4:5]
    } {0 0 0}

    test "CLIENT PAUSE ALL delays every command of other clients" {
        set c [redis_client]
        r client pause 400 all
        set ms [elapsed_ms {set reply [$c ping]}]
        $c close
        assert_range $ms 250 3000
        set reply
    } {PONG}

    test "CLIENT PAUSE WRITE delays writes but not reads" {
        r set pk v
        set c [redis_client]
        r client pause 400 write
        set read_ms [elapsed_ms {set got [$c get pk]}]
        set write_ms [elapsed_ms {$c set pk w}]
        $c close
        assert_lessthan $read_ms 200
        assert_range $write_ms 250 3000
        list $got [r get pk]
    } {v w}

    test "CLIENT UNPAUSE releases paused clients at once" {
        set c [redis_deferring_client]
        r client pause 100000 write
        set t0 [clock milliseconds]
        $c set unpaused yes
        after 100
        assert_equal {} [r get unpaused] "the write must wait while paused"
        r client unpause
        set reply [$c read]
        set ms [expr {[clock milliseconds] - $t0}]
        $c close
        assert_lessthan $ms 3000
        list $reply [r get unpaused]
    } {OK yes}

    test "CLIENT PAUSE errors" {
        set out {}
        catch {r client pause abc} e; lappend out $e
        catch {r client pause -1} e; lappend out $e
        catch {r client pause 10 foo} e; lappend out $e
        catch {r client pause} e; lappend out $e
        catch {r client unpause x} e; lappend out $e
        set out
    } {{ERR timeout is not an integer or out of range} {ERR timeout is negative} {ERR CLIENT PAUSE mode must be WRITE or ALL} {ERR wrong number of arguments for 'client|pause' command} {ERR wrong number of arguments for 'client|unpause' command}}

    test "CLIENT NO-EVICT on and off" {
        set c [redis_client]
        set r1 [$c client no-evict on]
        set f1 [dict get [lindex [client_list_dicts [$c client info]] 0] flags]
        set r2 [$c client no-evict off]
        set f2 [dict get [lindex [client_list_dicts [$c client info]] 0] flags]
        $c close
        list $r1 [string match *e* $f1] $r2 [string match *e* $f2]
    } {OK 1 OK 0}

    test "CLIENT NO-EVICT errors" {
        list [catch {r client no-evict maybe} e1] $e1 [catch {r client no-evict} e2] $e2
    } {1 {ERR syntax error} 1 {ERR wrong number of arguments for 'client|no-evict' command}}

    test "CLIENT: unknown subcommand and arity" {
        set out {}
        catch {r client foo} e; lappend out $e
        catch {r client} e; lappend out $e
        catch {r client id x} e; lappend out $e
        catch {r client setname} e; lappend out $e
        catch {r client getname x} e; lappend out $e
        set out
    } {{ERR unknown subcommand 'foo'. Try CLIENT HELP.} {ERR wrong number of arguments for 'client' command} {ERR wrong number of arguments for 'client|id' command} {ERR wrong number of arguments for 'client|setname' command} {ERR wrong number of arguments for 'client|getname' command}}
}

# CLIENT SETINFO appeared in Redis 7.2; Debian's redis-server is 7.0, so these
# run against Phenix only.
start_server {tags {introspection client phenix-only}} {
    test "CLIENT SETINFO LIB-NAME and LIB-VER show in CLIENT INFO" {
        set c [redis_client]
        set r1 [$c client setinfo lib-name mylib]
        set r2 [$c client setinfo lib-ver 1.2.3]
        set d [lindex [client_list_dicts [$c client info]] 0]
        $c close
        list $r1 $r2 [dict get $d lib-name] [dict get $d lib-ver]
    } {OK OK mylib 1.2.3}

    test "CLIENT SETINFO errors" {
        assert_error "ERR *" {r client setinfo foo bar}
        assert_error "ERR *cannot contain spaces*" {r client setinfo lib-name "a b"}
        assert_error "ERR wrong number of arguments for 'client|setinfo' command" {r client setinfo lib-name}
    }
}

start_server {tags {introspection config}} {
    test "CONFIG GET one parameter" {
        r config get maxmemory
    } {maxmemory 0}

    test "CONFIG GET with a glob pattern" {
        set d [r config get maxmemory*]
        assert {[dict exists $d maxmemory]}
        assert {[dict exists $d maxmemory-policy]}
        foreach k [dict keys $d] { assert_match maxmemory* $k }
        dict get $d maxmemory-policy
    } {noeviction}

    test "CONFIG GET with several arguments" {
        set d [r config get maxmemory timeout port]
        list [dict size $d] [dict get $d timeout] [dict get $d port]
    } [list 3 0 [srv port]]

    test "CONFIG GET of an unknown parameter is empty" {
        r config get no-such-parameter
    } {}

    test "CONFIG GET: wrong number of arguments" {
        catch {r config get} e
        set e
    } {ERR wrong number of arguments for 'config|get' command}

    test "CONFIG SET and GET round trip with units" {
        r config set maxmemory 10mb
        set a [r config get maxmemory]
        r config set maxmemory 1gb
        set b [r config get maxmemory]
        r config set maxmemory 0
        list $a $b
    } {{maxmemory 10485760} {maxmemory 1073741824}}

    test "CONFIG SET several pairs at once" {
        set res [r config set timeout 5 hz 20]
        set d [r config get timeout hz]
        r config set timeout 0 hz 10
        list $res [dict get $d timeout] [dict get $d hz]
    } {OK 5 20}

    test "CONFIG SET with several pairs is all or nothing" {
        r config set maxmemory 0
        catch {r config set maxmemory 10mb timeout -1} e
        list $e [r config get maxmemory]
    } {{ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive} {maxmemory 0}}

    test "CONFIG SET bad values" {
        set out {}
        catch {r config set maxmemory abc} e; lappend out $e
        catch {r config set hz abc} e; lappend out $e
        catch {r config set maxclients 0} e; lappend out $e
        catch {r config set protected-mode maybe} e; lappend out $e
        catch {r config set loglevel foo} e; lappend out $e
        set out
    } {{ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value} {ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer} {ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive} {ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'} {ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning}}

    test "CONFIG SET maxmemory-policy with a bad value" {
        catch {r config set maxmemory-policy foo} e
        set e
    } {ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction}

    test "CONFIG SET of an unknown or immutable parameter" {
        set out {}
        catch {r config set nosuch 1} e; lappend out $e
        catch {r config set databases 5} e; lappend out $e
        set out
    } {{ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'} {ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config}}

    test "CONFIG SET the same parameter twice" {
        catch {r config set maxmemory 1mb maxmemory 2mb} e
        set e
    } {ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter}

    test "CONFIG SET: wrong number of arguments" {
        set out {}
        catch {r config set} e; lappend out $e
        catch {r config set maxmemory} e; lappend out $e
        set out
    } {{ERR wrong number of arguments for 'config|set' command} {ERR wrong number of arguments for 'config|set' command}}

    test "CONFIG SET loglevel, timeout, hz, tcp-keepalive apply" {
        r config set loglevel warning timeout 100 tcp-keepalive 60 hz 50
        set d [r config get loglevel timeout tcp-keepalive hz]
        r config set loglevel notice timeout 0 tcp-keepalive 300 hz 10
        list [dict get $d loglevel] [dict get $d timeout] [dict get $d tcp-keepalive] [dict get $d hz]
    } {warning 100 60 50}

    test "CONFIG REWRITE without a config file" {
        catch {r config rewrite} e
        set e
    } {ERR The server is running without a config file}

    test "CONFIG: unknown subcommand" {
        catch {r config foo} e
        set e
    } {ERR unknown subcommand 'foo'. Try CONFIG HELP.}

    test "CONFIG RESETSTAT clears command and error statistics" {
        r set a b
        catch {r nosuchcommand}
        set before [r info commandstats]
        assert_match "*cmdstat_set:*" $before
        set res [r config resetstat]
        set cs [r info commandstats]
        set es [r info errorstats]
        list $res [string match "*cmdstat_set:*" $cs] [string match "*errorstat_ERR*" $es] \
             [expr {[s total_error_replies] == 0}]
    } {OK 0 0 1}

    test "CONFIG RESETSTAT: wrong number of arguments" {
        catch {r config resetstat x} e
        set e
    } {ERR wrong number of arguments for 'config|resetstat' command}
}

start_server {tags {introspection config rewrite} config "# a comment kept by rewrite\nmaxmemory 10mb\ntimeout 0\n"} {
    test "CONFIG GET reflects the config file" {
        r config get maxmemory
    } {maxmemory 10485760}

    test "CONFIG REWRITE updates lines in place, keeps comments, appends new ones" {
        r config set maxmemory 123mb timeout 77 hz 15
        set res [r config rewrite]
        set text [read_file_text [srv config_file]]
        set lines [split $text \n]
        assert {[lsearch -exact $lines "# a comment kept by rewrite"] >= 0} "comment kept"
        assert {[lsearch -exact $lines "maxmemory 123mb"] >= 0} "maxmemory line"
        assert {[lsearch -exact $lines "timeout 77"] >= 0} "timeout line"
        assert {[lsearch -exact $lines "hz 15"] >= 0} "hz line"
        assert {[lsearch -exact $lines "maxmemory 10mb"] < 0} "old maxmemory line gone"
        set res
    } {OK}

    test "A server started with the rewritten file has the new values" {
        set cf [file join [srv dir] rewritten.conf]
        file copy -force [srv config_file] $cf
        start_server [list config_file $cf] {
            set d [r config get maxmemory timeout hz]
        }
        list [dict get $d maxmemory] [dict get $d timeout] [dict get $d hz]
    } {128974848 77 15}
}

start_server {tags {introspection command}} {
    test "COMMAND COUNT matches the length of COMMAND" {
        set n [r command count]
        assert_morethan $n 50
        expr {[llength [r command]] == $n}
    } {1}

    test "COMMAND LIST lists commands and subcommands" {
        set l [r command list]
        set top 0
        foreach c $l { if {[string first | $c] < 0} { incr top } }
        foreach want {get set config config|get config|set client|kill command|docs} {
            assert {[lsearch -exact $l $want] >= 0} "$want in COMMAND LIST"
        }
        expr {$top == [r command count]}
    } {1}

    test "COMMAND INFO of GET and SET" {
        lassign [r command info get set] get set
        list [lrange $get 0 1] [lsort [lindex $get 2]] [lrange $get 3 5] [lrange $set 0 1] \
             [expr {[lsearch [lindex $set 2] write] >= 0}] [expr {[lsearch [lindex $set 2] denyoom] >= 0}] \
             [lrange $set 3 5]
    } {{get 2} {fast readonly} {1 1 1} {set -3} 1 1 {1 1 1}}

    test "COMMAND INFO of MSET, DEL and PING key positions" {
        lassign [r command info mset del ping] mset del ping
        list [lrange $mset 0 1] [lrange $mset 3 5] [lrange $del 0 1] [lrange $del 3 5] \
             [lrange $ping 0 1] [lrange $ping 3 5]
    } {{mset -3} {1 -1 2} {del -2} {1 -1 1} {ping -1} {0 0 0}}

    test "COMMAND INFO ACL categories" {
        set get [lindex [r command info get] 0]
        lsort [lindex $get 6]
    } {@fast @read @string}

    test "COMMAND INFO of an unknown command is nil" {
        r command info get nosuchcmd
    } [list [lindex [r command info get] 0] {}]

    test "COMMAND INFO of a subcommand container lists its subcommands" {
        set cfg [lindex [r command info config] 0]
        set subs {}
        foreach s [lindex $cfg 9] { lappend subs [lindex $s 0] }
        foreach want {config|get config|set config|resetstat config|rewrite} {
            assert {[lsearch -exact $subs $want] >= 0} "subcommand $want"
        }
        lindex $cfg 1
    } {-2}

    # The summary is Redis 7.0's or Redis 7.2's wording.
    test "COMMAND DOCS of GET" {
        set d [dict get [r command docs get] get]
        set summary [dict get $d summary]
        assert {$summary in {{Get the value of a key} {Returns the string value of a key.}}} \
            "summary '$summary'"
        list [dict get $d since] [dict get $d group] [dict get $d complexity]
    } {1.0.0 string O(1)}

    test "COMMAND DOCS describes arguments" {
        set d [dict get [r command docs set] set]
        set names {}
        foreach a [dict get $d arguments] { lappend names [dict get $a name] }
        lrange $names 0 1
    } {key value}

    test "COMMAND DOCS of an unknown command is empty" {
        r command docs nosuchcmd
    } {}

    test "COMMAND GETKEYS" {
        list [r command getkeys set a b] [r command getkeys mset a 1 b 2] \
             [r command getkeys get k] [r command getkeys del x y z]
    } {a {a b} k {x y z}}

    test "COMMAND GETKEYS errors" {
        set out {}
        catch {r command getkeys nosuch a} e; lappend out $e
        catch {r command getkeys ping x} e; lappend out $e
        catch {r command getkeys get a b} e; lappend out $e
        catch {r command getkeys} e; lappend out $e
        set out
    } {{ERR Invalid command specified} {ERR The command has no key arguments} {ERR Invalid number of arguments specified for command} {ERR wrong number of arguments for 'command|getkeys' command}}

    test "COMMAND LIST FILTERBY PATTERN" {
        set l [r command list filterby pattern get*]
        foreach want {get getex getdel getrange getset} {
            assert {[lsearch -exact $l $want] >= 0} "$want in $l"
        }
        foreach c $l { assert_match get* $c }
    }

    test "COMMAND LIST FILTERBY ACLCAT" {
        set l [r command list filterby aclcat string]
        foreach want {get set incr append lcs mset} {
            assert {[lsearch -exact $l $want] >= 0} "$want in $l"
        }
        assert {[lsearch -exact $l ping] < 0}
    }

    test "COMMAND LIST errors" {
        set out {}
        catch {r command list filterby foo x} e; lappend out $e
        catch {r command list foo} e; lappend out $e
        set out
    } {{ERR syntax error} {ERR syntax error}}

    test "COMMAND: unknown subcommand" {
        catch {r command foo} e
        set e
    } {ERR unknown subcommand 'foo'. Try COMMAND HELP.}

    test "Unknown command, with and without arguments" {
        set out {}
        catch {r foo a b} e; lappend out $e
        catch {r foo} e; lappend out $e
        catch {r FooBar "x y"} e; lappend out $e
        set out
    } {{ERR unknown command 'foo', with args beginning with: 'a' 'b' } {ERR unknown command 'foo', with args beginning with: } {ERR unknown command 'FooBar', with args beginning with: 'x y' }}

    test "Unknown subcommand of a command without subcommands is an arity or syntax error" {
        catch {r get} e
        set e
    } {ERR wrong number of arguments for 'get' command}
}

start_server {tags {introspection info}} {
    test "INFO default sections" {
        set secs [info_sections [r info]]
        foreach s {server clients memory persistence stats replication cpu errorstats keyspace} {
            assert {[lsearch -exact $secs $s] >= 0} "section $s in $secs"
        }
        assert {[lsearch -exact $secs commandstats] < 0} "commandstats is not a default section"
    }

    test "INFO ALL and EVERYTHING add commandstats and latencystats" {
        r set a b
        set all [info_sections [r info all]]
        set every [info_sections [r info everything]]
        foreach s {server clients memory persistence stats replication cpu commandstats errorstats latencystats keyspace} {
            assert {[lsearch -exact $all $s] >= 0} "section $s in INFO ALL"
            assert {[lsearch -exact $every $s] >= 0} "section $s in INFO EVERYTHING"
        }
    }

    test "INFO with one section and with several sections" {
        list [info_sections [r info clients]] [info_sections [r info server clients]] \
             [info_sections [r info CPU]]
    } {clients {server clients} cpu}

    test "INFO of an unknown section is empty" {
        r info nosuchsection
    } {}

    test "INFO server fields" {
        set d [info_dict [r info server]]
        foreach f {redis_version redis_mode os arch_bits process_id run_id tcp_port uptime_in_seconds uptime_in_days hz configured_hz executable config_file} {
            assert {[dict exists $d $f]} "field $f"
        }
        assert_match {[0-9]*.[0-9]*.[0-9]*} [dict get $d redis_version]
        list [dict get $d tcp_port] [dict get $d process_id] [dict get $d redis_mode]
    } [list [srv port] [srv pid] standalone]

    test "INFO clients: connected_clients counts connections" {
        set n0 [s connected_clients]
        set c1 [redis_client]
        set c2 [redis_client]
        $c1 ping
        $c2 ping
        set n2 [s connected_clients]
        $c1 close
        $c2 close
        wait_for {[s connected_clients] == $n0} 3000
        list [expr {$n2 - $n0}] [dict exists [info_dict [r info clients]] maxclients]
    } {2 1}

    test "INFO memory fields" {
        set d [info_dict [r info memory]]
        foreach f {used_memory used_memory_human used_memory_rss used_memory_peak used_memory_peak_human maxmemory maxmemory_human maxmemory_policy mem_fragmentation_ratio mem_allocator} {
            assert {[dict exists $d $f]} "field $f"
        }
        assert_morethan [dict get $d used_memory] 0
        list [dict get $d maxmemory] [dict get $d maxmemory_policy]
    } {0 noeviction}

    test "INFO memory: used_memory grows with data" {
        set m0 [s used_memory]
        r set bigmem [string repeat x 2000000]
        set m1 [s used_memory]
        r del bigmem
        assert_morethan [expr {$m1 - $m0}] 1500000
    }

    test "INFO persistence: loading:0" {
        set d [info_dict [r info persistence]]
        list [dict get $d loading] [dict get $d async_loading]
    } {0 0}

    test "INFO stats fields" {
        set d [info_dict [r info stats]]
        foreach f {total_connections_received total_commands_processed instantaneous_ops_per_sec rejected_connections expired_keys evicted_keys keyspace_hits keyspace_misses total_error_replies total_net_input_bytes total_net_output_bytes} {
            assert {[dict exists $d $f]} "field $f"
        }
    }

    test "INFO stats: total_commands_processed counts commands" {
        set a [s total_commands_processed]
        for {set i 0} {$i < 10} {incr i} { r ping }
        set b [s total_commands_processed]
        expr {$b - $a}
    } {11}

    test "INFO stats: keyspace hits and misses" {
        r set hit v
        r del miss
        set h0 [s keyspace_hits]
        set m0 [s keyspace_misses]
        r get hit
        r get hit
        r get miss
        list [expr {[s keyspace_hits] - $h0}] [expr {[s keyspace_misses] - $m0}]
    } {2 1}

    test "INFO stats: total_connections_received" {
        set a [s total_connections_received]
        set c [redis_client]
        $c ping
        $c close
        expr {[s total_connections_received] - $a}
    } {1}

    test "INFO replication: role master" {
        set d [info_dict [r info replication]]
        list [dict get $d role] [dict get $d connected_slaves]
    } {master 0}

    test "INFO cpu fields" {
        set d [info_dict [r info cpu]]
        foreach f {used_cpu_sys used_cpu_user} {
            assert {[string is double -strict [dict get $d $f]]} "field $f"
        }
    }

    test "INFO commandstats: calls, usec, usec_per_call, rejected_calls, failed_calls" {
        r config resetstat
        r set a 1
        r set b 2
        r get a
        set d [info_kv [info_field [r info commandstats] cmdstat_set]]
        list [dict get $d calls] [dict exists $d usec] [dict exists $d usec_per_call] \
             [dict get $d rejected_calls] [dict get $d failed_calls] \
             [dict get [info_kv [info_field [r info commandstats] cmdstat_get]] calls]
    } {2 1 1 0 0 1}

    test "INFO commandstats: rejected and failed calls" {
        r config resetstat
        catch {r set}
        catch {r incr}
        r set s abc
        catch {r incr s}
        list [dict get [info_kv [info_field [r info commandstats] cmdstat_set]] rejected_calls] \
             [dict get [info_kv [info_field [r info commandstats] cmdstat_incr]] failed_calls]
    } {1 1}

    test "INFO commandstats names subcommands with a pipe" {
        r config resetstat
        r client id
        assert_match {calls=1,*} [info_field [r info commandstats] cmdstat_client|id]
    }

    test "INFO errorstats counts errors by prefix" {
        r config resetstat
        catch {r nosuchcmd}
        catch {r get}
        catch {r hello 9}
        set es [r info errorstats]
        list [info_field $es errorstat_ERR] [info_field $es errorstat_NOPROTO] [s total_error_replies]
    } {count=2 count=1 3}

    test "INFO latencystats has percentiles per command" {
        r config resetstat
        r set a b
        assert_match {p50=*,p99=*,p99.9=*} [info_field [r info latencystats] latency_percentiles_usec_set]
    }

    test "INFO keyspace: one line per non-empty database" {
        r flushall
        r set a 1
        r set b 2 ex 100
        r select 5
        r set c 3
        r select 0
        set ks [r info keyspace]
        list [string match "keys=2,expires=1,avg_ttl=*" [info_field $ks db0]] \
             [string match "keys=1,expires=0,avg_ttl=0" [info_field $ks db5]] \
             [info_field $ks db1]
    } {1 1 {}}
}

start_server {tags {introspection misc}} {
    test "TIME returns seconds and microseconds" {
        lassign [r time] sec usec
        assert_range $usec 0 999999
        expr {abs($sec - [clock seconds]) <= 2}
    } {1}

    test "TIME: wrong number of arguments" {
        catch {r time x} e
        set e
    } {ERR wrong number of arguments for 'time' command}

    test "ECHO and PING" {
        list [r echo "hello world"] [r ping] [r ping "hi there"] [r echo ""]
    } {{hello world} PONG {hi there} {}}

    test "ECHO and PING: wrong number of arguments" {
        set out {}
        catch {r echo} e; lappend out $e
        catch {r echo a b} e; lappend out $e
        catch {r ping a b} e; lappend out $e
        set out
    } {{ERR wrong number of arguments for 'echo' command} {ERR wrong number of arguments for 'echo' command} {ERR wrong number of arguments for 'ping' command}}

    test "QUIT answers OK and closes the connection" {
        set c [redis_client]
        $c send quit
        set out [$c read_until_eof 2000]
        $c close
        set out
    } "+OK\r\n"

    test "RESET restores the connection defaults" {
        set c [redis_client]
        $c select 5
        $c client setname before
        $c hello 3
        set res [$c reset]
        set d [lindex [client_list_dicts [$c client info]] 0]
        $c close
        list $res [dict get $d db] [dict get $d name] [dict get $d resp]
    } {RESET 0 {} 2}

    test "RESET: wrong number of arguments" {
        catch {r reset x} e
        set e
    } {ERR wrong number of arguments for 'reset' command}

    test "SELECT out of range and not an integer" {
        set out {}
        catch {r select 16} e; lappend out $e
        catch {r select -1} e; lappend out $e
        catch {r select x} e; lappend out $e
        set out
    } {{ERR DB index is out of range} {ERR DB index is out of range} {ERR value is not an integer or out of range}}

    test "DBSIZE" {
        r flushall
        r mset a 1 b 2
        r dbsize
    } {2}

    test "DEBUG SLEEP blocks the server" {
        set c [redis_deferring_client]
        set t0 [clock milliseconds]
        $c debug sleep 0.5
        after 50
        set ping_ms [elapsed_ms {r ping}]
        set res [$c read]
        $c close
        list $res [expr {$ping_ms >= 300}]
    } {OK 1}

    test "DEBUG SLEEP 0" {
        r debug sleep 0
    } {OK}

    test "DEBUG OBJECT describes a value" {
        r set dbgkey hello
        assert_match {Value at:* refcount:1 encoding:embstr serializedlength:* lru:* lru_seconds_idle:*} \
            [r debug object dbgkey]
    }

    test "DEBUG OBJECT of a missing key" {
        catch {r debug object nokey} e
        set e
    } {ERR no such key}

    test "DEBUG: unknown subcommand" {
        catch {r debug nosuchsub} e
        set e
    } {ERR unknown subcommand or wrong number of arguments for 'nosuchsub'. Try DEBUG HELP.}

    test "MEMORY USAGE grows with the value size" {
        r set small v
        r set large [string repeat x 10000]
        set s [r memory usage small]
        set l [r memory usage large]
        assert_morethan $s 0
        assert_morethan $l 10000
        list [r memory usage nokey] [expr {[r memory usage large samples 5] == $l}]
    } {{} 1}

    test "MEMORY USAGE errors" {
        set out {}
        catch {r memory usage small samples abc} e; lappend out $e
        catch {r memory usage small foo} e; lappend out $e
        catch {r memory usage} e; lappend out $e
        catch {r memory foo} e; lappend out $e
        set out
    } {{ERR value is not an integer or out of range} {ERR syntax error} {ERR wrong number of arguments for 'memory|usage' command} {ERR unknown subcommand 'foo'. Try MEMORY HELP.}}

    test "MEMORY STATS fields" {
        set d [r memory stats]
        foreach f {peak.allocated total.allocated startup.allocated keys.count dataset.bytes} {
            assert {[dict exists $d $f]} "field $f"
        }
        assert_morethan [dict get $d total.allocated] 0
        expr {[dict get $d keys.count] == [r dbsize]}
    } {1}
}

start_server {tags {introspection slowlog} overrides {slowlog-log-slower-than 0}} {
    test "SLOWLOG logs every command with a zero threshold" {
        r slowlog reset
        r set slowkey slowvalue
        set entry [lindex [r slowlog get 10] 0]
        assert {[llength [r slowlog get 10]] >= 1}
        lassign $entry id ts dur argv addr name
        assert {abs($ts - [clock seconds]) <= 2}
        assert {$dur >= 0}
        assert_match "127.0.0.1:*" $addr
        set argv
    } {set slowkey slowvalue}

    test "SLOWLOG LEN and RESET" {
        r slowlog reset
        for {set i 0} {$i < 5} {incr i} { r ping }
        set n [r slowlog len]
        r slowlog reset
        assert_range [r slowlog len] 0 1
        assert_range $n 5 6
    }

    test "SLOWLOG GET count and -1" {
        r slowlog reset
        for {set i 0} {$i < 20} {incr i} { r ping }
        list [llength [r slowlog get 3]] [expr {[llength [r slowlog get -1]] >= 20}] \
             [expr {[llength [r slowlog get]] == 10}]
    } {3 1 1}

    test "SLOWLOG entries are newest first with growing ids" {
        r slowlog reset
        r echo first
        r echo second
        set l [r slowlog get 3]
        set ids {}
        set cmds {}
        foreach e $l { lappend ids [lindex $e 0]; lappend cmds [lindex $e 3] }
        assert {[lindex $ids 0] > [lindex $ids 1]}
        lrange $cmds 0 1
    } {{echo second} {echo first}}

    test "SLOWLOG records the client name" {
        r client setname slowclient
        r slowlog reset
        r echo named
        set e [lindex [r slowlog get 1] 0]
        r client setname {}
        list [lindex $e 3] [lindex $e 5]
    } {{echo named} slowclient}

    test "SLOWLOG trims long argument lists and long arguments" {
        r slowlog reset
        r set longarg [string repeat a 200]
        set argv [lindex [lindex [r slowlog get 1] 0] 3]
        r del {*}[lrepeat 40 k]
        set argv2 [lindex [lindex [r slowlog get 1] 0] 3]
        list [lindex $argv 2] [llength $argv2] [lindex $argv2 end]
    } [list "[string repeat a 128]... (72 more bytes)" 32 "... (10 more arguments)"]

    test "slowlog-max-len bounds the log" {
        r config set slowlog-max-len 5
        for {set i 0} {$i < 20} {incr i} { r ping }
        set n [r slowlog len]
        r config set slowlog-max-len 128
        set n
    } {5}

    test "A negative slowlog-log-slower-than disables the log" {
        r config set slowlog-log-slower-than -1
        r slowlog reset
        for {set i 0} {$i < 5} {incr i} { r ping }
        set n [r slowlog len]
        r config set slowlog-log-slower-than 0
        set n
    } {0}

    test "SLOWLOG errors" {
        set out {}
        catch {r slowlog get abc} e; lappend out $e
        catch {r slowlog get -2} e; lappend out $e
        catch {r slowlog foo} e; lappend out $e
        catch {r slowlog} e; lappend out $e
        set out
    } {{ERR count should be greater than or equal to -1} {ERR count should be greater than or equal to -1} {ERR unknown subcommand 'foo'. Try SLOWLOG HELP.} {ERR wrong number of arguments for 'slowlog' command}}
}

start_server {tags {introspection latency}} {
    test "LATENCY LATEST is empty while monitoring is off" {
        r latency reset
        r debug sleep 0.2
        r latency latest
    } {}

    test "LATENCY LATEST and HISTORY record a slow command" {
        r config set latency-monitor-threshold 100
        r debug sleep 0.2
        set latest [r latency latest]
        set hist [r latency history command]
        r config set latency-monitor-threshold 0
        set ev [lindex $latest 0]
        lassign $ev name ts last max
        assert {abs($ts - [clock seconds]) <= 2}
        assert_range $last 200 1000
        assert_range $max 200 1000
        assert_equal 1 [llength $hist]
        assert_range [lindex $hist 0 1] 200 1000
        set name
    } {command}

    test "LATENCY RESET of one event and of all" {
        r config set latency-monitor-threshold 100
        r debug sleep 0.15
        set one [r latency reset command]
        set after_one [r latency latest]
        r debug sleep 0.15
        set all [r latency reset]
        r config set latency-monitor-threshold 0
        list $one $after_one $all [r latency latest]
    } {1 {} 1 {}}

    test "LATENCY HISTORY of an unknown event is empty" {
        r latency history nosuchevent
    } {}

    test "LATENCY errors" {
        set out {}
        catch {r latency foo} e; lappend out $e
        catch {r latency history} e; lappend out $e
        catch {r latency} e; lappend out $e
        set out
    } {{ERR unknown subcommand 'foo'. Try LATENCY HELP.} {ERR wrong number of arguments for 'latency|history' command} {ERR wrong number of arguments for 'latency' command}}
}

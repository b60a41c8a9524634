# Keyspace: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX MOVE COPY
# SELECT DBSIZE FLUSHDB FLUSHALL TOUCH OBJECT, with their error replies.
# Tests tagged needs-list create a list (LPUSH) to get a key of another type.

start_server {tags {keyspace}} {
    test "DEL against a single key" {
        r set x foo
        list [r del x] [r exists x] [r get x]
    } {1 0 {}}

    test "DEL of several keys counts only existing ones" {
        r mset a 1 b 2 c 3
        list [r del a b c d] [r dbsize]
    } {3 0}

    test "DEL of the same key twice counts it once" {
        r set dup 1
        r del dup dup
    } {1}

    test "UNLINK removes keys and counts them" {
        r mset u1 1 u2 2
        list [r unlink u1 u2 u3] [r exists u1 u2]
    } {2 0}

    test "DEL / UNLINK without keys: wrong number of arguments" {
        list [catch {r del} e1] $e1 [catch {r unlink} e2] $e2
    } {1 {ERR wrong number of arguments for 'del' command} 1 {ERR wrong number of arguments for 'unlink' command}}

    test "EXISTS counts each argument, duplicates included" {
        r set e1 v
        list [r exists e1] [r exists nokey] [r exists e1 e1 nokey e1]
    } {1 0 3}

    test "EXISTS without keys: wrong number of arguments" {
        catch {r exists} e
        set e
    } {ERR wrong number of arguments for 'exists' command}

    test "TYPE of a string and of a missing key" {
        r set t1 v
        list [r type t1] [r type nokey]
    } {string none}

    test "TYPE: wrong number of arguments" {
        list [catch {r type} e] $e [catch {r type a b} e2] $e2
    } {1 {ERR wrong number of arguments for 'type' command} 1 {ERR wrong number of arguments for 'type' command}}

    test "KEYS with glob patterns" {
        r flushdb
        r mset hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 "a*b" 6 "a?b" 7
        set out {}
        lappend out [lsort [r keys *]]
        lappend out [lsort [r keys h?llo]]
        lappend out [lsort [r keys h*llo]]
        lappend out [lsort [r keys {h[ae]llo}]]
        lappend out [lsort [r keys {h[^e]llo}]]
        lappend out [lsort [r keys {h[a-f]llo}]]
        lappend out [lsort [r keys {a\*b}]]
        lappend out [lsort [r keys nomatch*]]
        set out
    } {{a*b a?b hallo heeeello hello hllo hxllo} {hallo hello hxllo} {hallo heeeello hello hllo hxllo} {hallo hello} {hallo hxllo} {hallo hello} a*b {}}

    test "KEYS on an empty database" {
        r flushdb
        r keys *
    } {}

    test "KEYS: wrong number of arguments" {
        catch {r keys} e
        set e
    } {ERR wrong number of arguments for 'keys' command}

    test "DBSIZE counts keys of the selected database only" {
        r flushall
        r mset a 1 b 2 c 3
        r select 1
        r set z 1
        set n1 [r dbsize]
        r select 0
        list [r dbsize] $n1
    } {3 1}

    test "DBSIZE: wrong number of arguments" {
        catch {r dbsize x} e
        set e
    } {ERR wrong number of arguments for 'dbsize' command}

    test "RANDOMKEY on an empty database returns nil" {
        r flushdb
        r randomkey
    } {}

    test "RANDOMKEY returns existing keys and eventually each of them" {
        r flushdb
        r mset k1 1 k2 2 k3 3
        set seen {}
        for {set i 0} {$i < 200} {incr i} { dict set seen [r randomkey] 1 }
        lsort [dict keys $seen]
    } {k1 k2 k3}

    test "RANDOMKEY: wrong number of arguments" {
        catch {r randomkey x} e
        set e
    } {ERR wrong number of arguments for 'randomkey' command}

    test "TOUCH counts existing keys" {
        r flushdb
        r mset t1 1 t2 2
        list [r touch t1 t2 t3] [r touch nokey]
    } {2 0}

    test "TOUCH: wrong number of arguments" {
        catch {r touch} e
        set e
    } {ERR wrong number of arguments for 'touch' command}
}

start_server {tags {keyspace rename}} {
    test "RENAME moves the value" {
        r set src hello
        list [r rename src dst] [r exists src] [r get dst]
    } {OK 0 hello}

    test "RENAME overwrites an existing destination" {
        r set a va
        r set b vb
        r rename a b
        list [r get a] [r get b]
    } {{} va}

    test "RENAME of a missing key" {
        catch {r rename nokey x} e
        set e
    } {ERR no such key}

    test "RENAME onto itself keeps the key" {
        r set self v
        list [r rename self self] [r get self]
    } {OK v}

    test "RENAME keeps the TTL" {
        r set ttlsrc v ex 100
        r rename ttlsrc ttldst
        assert_range [r ttl ttldst] 90 100
    }

    test "RENAME to a key with a TTL drops the old TTL when the source has none" {
        r set plain v
        r set withttl w ex 100
        r rename plain withttl
        list [r get withttl] [r ttl withttl]
    } {v -1}

    test "RENAMENX to a missing destination" {
        r del n1 n2
        r set n1 v
        list [r renamenx n1 n2] [r get n2] [r exists n1]
    } {1 v 0}

    test "RENAMENX to an existing destination does nothing" {
        r set n1 a
        r set n2 b
        list [r renamenx n1 n2] [r get n1] [r get n2]
    } {0 a b}

    test "RENAMENX of a missing key" {
        catch {r renamenx nokey x} e
        set e
    } {ERR no such key}

    test "RENAMENX onto itself" {
        r set same v
        r renamenx same same
    } {0}

    test "RENAME / RENAMENX: wrong number of arguments" {
        list [catch {r rename a} e1] $e1 [catch {r renamenx a b c} e2] $e2
    } {1 {ERR wrong number of arguments for 'rename' command} 1 {ERR wrong number of arguments for 'renamenx' command}}
}

start_server {tags {keyspace move copy select}} {
    test "SELECT switches databases" {
        r select 0
        r set k db0
        r select 9
        r set k db9
        set v9 [r get k]
        r select 0
        list [r get k] $v9
    } {db0 db9}

    test "SELECT out of range" {
        list [catch {r select 16} e1] $e1 [catch {r select -1} e2] $e2
    } {1 {ERR DB index is out of range} 1 {ERR DB index is out of range}}

    test "SELECT with a non-integer index" {
        catch {r select abc} e
        set e
    } {ERR value is not an integer or out of range}

    test "SELECT: wrong number of arguments" {
        catch {r select} e
        set e
    } {ERR wrong number of arguments for 'select' command}

    test "Databases are independent for every command" {
        r flushall
        r select 3
        r set only3 x
        r select 0
        list [r exists only3] [r keys *] [r dbsize]
    } {0 {} 0}

    test "MOVE to another database" {
        r flushall
        r set mk v
        set res [r move mk 1]
        set here [r exists mk]
        r select 1
        set there [r get mk]
        r select 0
        list $res $here $there
    } {1 0 v}

    test "MOVE when the destination already has the key" {
        r flushall
        r set mk here
        r select 1
        r set mk there
        r select 0
        list [r move mk 1] [r get mk]
    } {0 here}

    test "MOVE of a missing key" {
        r move nokey 1
    } {0}

    test "MOVE keeps the TTL" {
        r flushall
        r set mt v ex 100
        r move mt 2
        r select 2
        set ttl [r ttl mt]
        r select 0
        assert_range $ttl 90 100
    }

    test "MOVE errors: same db, out of range, not an integer" {
        r set mk v
        set out {}
        catch {r move mk 0} e; lappend out $e
        catch {r move mk 16} e; lappend out $e
        catch {r move mk -1} e; lappend out $e
        catch {r move mk abc} e; lappend out $e
        catch {r move mk} e; lappend out $e
        set out
    } {{ERR source and destination objects are the same} {ERR DB index is out of range} {ERR DB index is out of range} {ERR value is not an integer or out of range} {ERR wrong number of arguments for 'move' command}}

    test "COPY to a new key" {
        r flushall
        r set c1 hello
        list [r copy c1 c2] [r get c1] [r get c2]
    } {1 hello hello}

    test "COPY is a deep copy" {
        r set c1 hello
        r copy c1 c3
        r append c3 " world"
        list [r get c1] [r get c3]
    } {hello {hello world}}

    test "COPY to an existing key without REPLACE" {
        r set c1 a
        r set c2 b
        list [r copy c1 c2] [r get c2]
    } {0 b}

    test "COPY with REPLACE" {
        r set c1 a
        r set c2 b
        list [r copy c1 c2 replace] [r get c2]
    } {1 a}

    test "COPY of a missing key" {
        r copy nokey dst
    } {0}

    test "COPY keeps the TTL" {
        r set ct v ex 100
        r copy ct ct2
        assert_range [r ttl ct2] 90 100
    }

    test "COPY to another database" {
        r flushall
        r set cdb v
        set res [r copy cdb cdb db 5]
        r select 5
        set there [r get cdb]
        r select 0
        list $res $there [r get cdb]
    } {1 v v}

    test "COPY to another database with REPLACE" {
        r select 5
        r set cdb old
        r select 0
        r set cdb new
        set res [list [r copy cdb cdb db 5] [r copy cdb cdb db 5 replace]]
        r select 5
        lappend res [r get cdb]
        r select 0
        set res
    } {0 1 new}

    test "COPY errors" {
        r set c1 v
        set out {}
        catch {r copy c1 c1} e; lappend out $e
        catch {r copy c1 x db 16} e; lappend out $e
        catch {r copy c1 x db abc} e; lappend out $e
        catch {r copy c1 x foo} e; lappend out $e
        catch {r copy c1 x replace db} e; lappend out $e
        catch {r copy c1} e; lappend out $e
        set out
    } {{ERR source and destination objects are the same} {ERR DB index is out of range} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR wrong number of arguments for 'copy' command}}
}

start_server {tags {keyspace flush}} {
    test "FLUSHDB empties only the selected database" {
        r flushall
        r mset a 1 b 2
        r select 1
        r set c 3
        r select 0
        r flushdb
        r select 1
        set n1 [r dbsize]
        r select 0
        list [r dbsize] $n1
    } {0 1}

    test "FLUSHDB SYNC and ASYNC" {
        r mset a 1 b 2
        set r1 [r flushdb sync]
        set n1 [r dbsize]
        r mset a 1 b 2
        set r2 [r flushdb async]
        list $r1 $n1 $r2 [r dbsize]
    } {OK 0 OK 0}

    test "FLUSHALL empties every database" {
        foreach db {0 1 15} {
            r select $db
            r set k$db v
        }
        r select 0
        r flushall
        set out {}
        foreach db {0 1 15} {
            r select $db
            lappend out [r dbsize]
        }
        r select 0
        set out
    } {0 0 0}

    test "FLUSHALL SYNC and ASYNC" {
        r set a 1
        set r1 [r flushall sync]
        r set a 1
        set r2 [r flushall async]
        list $r1 $r2 [r dbsize]
    } {OK OK 0}

    test "FLUSHDB / FLUSHALL: bad option" {
        list [catch {r flushdb foo} e1] $e1 [catch {r flushall foo} e2] $e2 \
             [catch {r flushdb sync async} e3] $e3
    } {1 {ERR syntax error} 1 {ERR syntax error} 1 {ERR syntax error}}

    test "FLUSHALL frees memory: a large dataset is gone" {
        populate 20000 big: [string repeat x 100]
        set before [r dbsize]
        r flushall
        list $before [r dbsize]
    } {20000 0}
}

start_server {tags {keyspace scan}} {
    test "SCAN on an empty database" {
        r flushdb
        r scan 0
    } {0 {}}

    test "SCAN full iteration returns every key (10,000 keys)" {
        r flushdb
        populate 10000 key:
        set cursor 0
        set seen [dict create]
        set calls 0
        while 1 {
            lassign [r scan $cursor] cursor keys
            incr calls
            foreach k $keys { dict set seen $k 1 }
            if {$cursor == 0} break
            if {$calls > 20000} { fail "SCAN did not terminate" }
        }
        assert_morethan $calls 100
        dict size $seen
    } {10000}

    test "SCAN COUNT returns larger batches" {
        set cursor 0
        set seen [dict create]
        set calls 0
        while 1 {
            lassign [r scan $cursor count 1000] cursor keys
            incr calls
            foreach k $keys { dict set seen $k 1 }
            if {$cursor == 0} break
        }
        assert_lessthan $calls 100
        dict size $seen
    } {10000}

    test "SCAN MATCH filters keys" {
        r flushdb
        populate 1000 key:
        populate 100 other:
        set cursor 0
        set seen [dict create]
        while 1 {
            lassign [r scan $cursor match other:* count 100] cursor keys
            foreach k $keys {
                assert_match other:* $k
                dict set seen $k 1
            }
            if {$cursor == 0} break
        }
        dict size $seen
    } {100}

    test "SCAN TYPE string returns the string keys" {
        set cursor 0
        set n 0
        while 1 {
            lassign [r scan $cursor type string count 100] cursor keys
            incr n [llength $keys]
            if {$cursor == 0} break
        }
        set n
    } {1100}

    test "SCAN keys present for the whole iteration are all returned while others change" {
        r flushdb
        populate 5000 stable:
        populate 2000 churn:
        set cursor 0
        set seen [dict create]
        set round 0
        while 1 {
            lassign [r scan $cursor count 50] cursor keys
            foreach k $keys { dict set seen $k 1 }
            for {set j 0} {$j < 20} {incr j} {
                r del churn:[expr {$round * 20 + $j}]
                r set new:$round:$j v
            }
            incr round
            if {$cursor == 0} break
            if {$round > 10000} { fail "SCAN did not terminate" }
        }
        set missing 0
        for {set i 0} {$i < 5000} {incr i} {
            if {![dict exists $seen stable:$i]} { incr missing }
        }
        set missing
    } {0}

    test "SCAN guarantees hold while the table grows (rehashing)" {
        r flushdb
        populate 1000 base:
        set cursor 0
        set seen [dict create]
        set round 0
        while 1 {
            lassign [r scan $cursor count 10] cursor keys
            foreach k $keys { dict set seen $k 1 }
            if {$round < 60} { populate 200 grow:$round: }
            incr round
            if {$cursor == 0} break
            if {$round > 20000} { fail "SCAN did not terminate" }
        }
        set missing 0
        for {set i 0} {$i < 1000} {incr i} {
            if {![dict exists $seen base:$i]} { incr missing }
        }
        set missing
    } {0}

    test "SCAN guarantees hold while the table shrinks" {
        r flushdb
        populate 500 keep:
        populate 9500 drop:
        set cursor 0
        set seen [dict create]
        set dropped 0
        while 1 {
            lassign [r scan $cursor count 20] cursor keys
            foreach k $keys { dict set seen $k 1 }
            for {set j 0} {$j < 500 && $dropped < 9500} {incr j} {
                r del drop:$dropped
                incr dropped
            }
            if {$cursor == 0} break
        }
        set missing 0
        for {set i 0} {$i < 500} {incr i} {
            if {![dict exists $seen keep:$i]} { incr missing }
        }
        set missing
    } {0}

    test "SCAN errors" {
        set out {}
        catch {r scan abc} e; lappend out $e
        catch {r scan 18446744073709551616} e; lappend out $e
        catch {r scan 0 count 0} e; lappend out $e
        catch {r scan 0 count abc} e; lappend out $e
        catch {r scan 0 foo} e; lappend out $e
        catch {r scan 0 match} e; lappend out $e
        catch {r scan} e; lappend out $e
        set out
    } {{ERR invalid cursor} {ERR invalid cursor} {ERR syntax error} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR wrong number of arguments for 'scan' command}}

    test "SCAN skips expired keys" {
        r flushdb
        for {set i 0} {$i < 100} {incr i} { r psetex exp:$i 1 v }
        r set live v
        after 20
        set cursor 0
        set found {}
        while 1 {
            lassign [r scan $cursor] cursor keys
            lappend found {*}$keys
            if {$cursor == 0} break
        }
        # SCAN may return a key twice when the table shrinks between calls
        # (active expiry deletes the 100 keys meanwhile), as Redis's may
        lsort -unique $found
    } {live}
}

start_server {tags {keyspace object}} {
    test "OBJECT ENCODING of strings: int, embstr, raw" {
        r set i 12345
        r set neg -123
        r set short hello
        r set long [string repeat x 100]
        r set lead 007
        list [r object encoding i] [r object encoding neg] [r object encoding short] \
             [r object encoding long] [r object encoding lead]
    } {int int embstr raw embstr}

    test "OBJECT ENCODING after APPEND is raw" {
        r set ap abc
        r append ap def
        r object encoding ap
    } {raw}

    test "OBJECT ENCODING of a missing key is nil" {
        r object encoding nokey
    } {}

    test "OBJECT REFCOUNT of a fresh string" {
        r set rc "not shared value"
        r object refcount rc
    } {1}

    tags {slow} {
        test "OBJECT IDLETIME grows while a key is not touched" {
            r set idle "some value"
            set t0 [r object idletime idle]
            after 2100
            set t1 [r object idletime idle]
            r get idle
            set t2 [r object idletime idle]
            assert_equal 0 $t0
            assert_range $t1 1 4
            set t2
        } {0}

        test "OBJECT IDLETIME and OBJECT ENCODING do not reset the idle time" {
            r set idle2 "another value"
            after 1100
            r object idletime idle2
            r object encoding idle2
            assert_morethan_equal [r object idletime idle2] 1
        }
    }

    test "OBJECT FREQ without an LFU policy is an error" {
        r set f v
        catch {r object freq f} e
        set e
    } {ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.}

    test "OBJECT on a missing key is nil for every subcommand" {
        list [r object encoding nokey] [r object refcount nokey] [r object idletime nokey]
    } {{} {} {}}

    test "OBJECT errors: unknown subcommand and arity" {
        set out {}
        catch {r object foo k} e; lappend out $e
        catch {r object} e; lappend out $e
        catch {r object encoding} e; lappend out $e
        set out
    } {{ERR unknown subcommand 'foo'. Try OBJECT HELP.} {ERR wrong number of arguments for 'object' command} {ERR wrong number of arguments for 'object|encoding' command}}

    test "OBJECT HELP lists the subcommands" {
        set help [join [r object help] \n]
        foreach sub {ENCODING FREQ IDLETIME REFCOUNT} { assert_match "*$sub*" $help }
    }
}

start_server {tags {keyspace object lfu}} {
    test "OBJECT FREQ with an LFU policy; IDLETIME then errors" {
        r config set maxmemory-policy allkeys-lfu
        r set f v
        for {set i 0} {$i < 100} {incr i} { r get f }
        set freq [r object freq f]
        catch {r object idletime f} e
        r config set maxmemory-policy noeviction
        assert_morethan $freq 0
        set e
    } {ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.}
}

start_server {tags {keyspace needs-list}} {
    test "TYPE of a list" {
        r del l
        r lpush l a
        r type l
    } {list}

    test "SCAN TYPE filters by type" {
        r flushdb
        r set s1 v
        r set s2 v
        r lpush l1 a
        set strings {}
        set lists {}
        set cursor 0
        while 1 {
            lassign [r scan $cursor type string] cursor keys
            lappend strings {*}$keys
            if {$cursor == 0} break
        }
        set cursor 0
        while 1 {
            lassign [r scan $cursor type list] cursor keys
            lappend lists {*}$keys
            if {$cursor == 0} break
        }
        list [lsort $strings] $lists
    } {{s1 s2} l1}

    test "RENAME and COPY work on non-string values" {
        r del l1 l2 l3
        r lpush l1 a b
        r rename l1 l2
        r copy l2 l3
        list [r type l2] [r type l3] [r exists l1]
    } {list list 0}
}

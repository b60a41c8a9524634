# Expiry: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), TTL PTTL EXPIRETIME
# PEXPIRETIME PERSIST, SET EX/PX/EXAT/PXAT/KEEPTTL, GETEX, SETEX/PSETEX, lazy and
# active expiry, and the error replies for bad expire times.

start_server {tags {expire}} {
    test "EXPIRE sets a TTL and returns 1" {
        r set x foo
        set res [r expire x 100]
        list $res [r ttl x]
    } {1 100}

    test "EXPIRE on a missing key returns 0" {
        r del nokey
        r expire nokey 100
    } {0}

    test "EXPIRE again overwrites the TTL" {
        r set x foo
        r expire x 100
        r expire x 200
        r ttl x
    } {200}

    test "Key with a TTL disappears after the TTL (lazy: GET)" {
        r set x foo
        r pexpire x 100
        set before [r get x]
        after 200
        list $before [r get x] [r exists x]
    } {foo {} 0}

    test "EXISTS and TYPE do not see expired keys" {
        r set x foo
        r pexpire x 50
        after 100
        list [r exists x] [r type x] [r ttl x]
    } {0 none -2}

    test "TTL and PTTL of a key without expire and of a missing key" {
        r set noexp v
        r del nokey
        list [r ttl noexp] [r pttl noexp] [r ttl nokey] [r pttl nokey]
    } {-1 -1 -2 -2}

    test "PTTL has millisecond resolution; TTL rounds to the nearest second" {
        r set x v
        r pexpire x 5700
        set pttl [r pttl x]
        assert_range $pttl 5200 5700
        r ttl x
    } {6}

    test "PEXPIRE with milliseconds" {
        r set x v
        set res [r pexpire x 2000]
        assert_range [r pttl x] 1500 2000
        set res
    } {1}

    test "EXPIREAT with an absolute Unix time" {
        r set x v
        set at [expr {[clock seconds] + 100}]
        set res [r expireat x $at]
        assert_range [r ttl x] 98 100
        list $res [expr {[r expiretime x] - $at}]
    } {1 0}

    test "PEXPIREAT with an absolute Unix time in milliseconds" {
        r set x v
        set at [expr {[clock milliseconds] + 100000}]
        r pexpireat x $at
        assert_range [r pttl x] 99000 100000
        expr {[r pexpiretime x] - $at}
    } {0}

    test "EXPIRETIME and PEXPIRETIME agree" {
        r set x v
        r expireat x 4000000000
        list [r expiretime x] [r pexpiretime x]
    } {4000000000 4000000000000}

    test "EXPIRETIME of a key without TTL and of a missing key" {
        r set noexp v
        list [r expiretime noexp] [r pexpiretime noexp] [r expiretime nokey] [r pexpiretime nokey]
    } {-1 -1 -2 -2}

    test "EXPIRE with a past time deletes the key" {
        r set a 1
        r set b 1
        r set c 1
        r set d 1
        list [r expire a 0] [r expire b -1] [r expireat c 1] [r pexpireat d 0] \
             [r exists a b c d]
    } {1 1 1 1 0}

    test "PERSIST removes the TTL" {
        r set x v
        r expire x 100
        list [r persist x] [r ttl x] [r persist x]
    } {1 -1 0}

    test "PERSIST on a missing key" {
        r persist nokey
    } {0}

    test "EXPIRE NX: only when the key has no TTL" {
        r set x v
        list [r expire x 100 nx] [r expire x 200 nx] [r ttl x]
    } {1 0 100}

    test "EXPIRE XX: only when the key has a TTL" {
        r set x v
        list [r expire x 100 xx] [r ttl x] [r expire x 100] [r expire x 200 xx] [r ttl x]
    } {0 -1 1 1 200}

    test "EXPIRE GT: only a greater TTL; no TTL counts as infinite" {
        r set x v
        set out [list [r expire x 100 gt] [r ttl x]]
        r expire x 100
        lappend out [r expire x 50 gt] [r expire x 200 gt] [r ttl x]
    } {0 -1 0 1 200}

    test "EXPIRE LT: only a smaller TTL; no TTL counts as infinite" {
        r set x v
        set out [list [r expire x 100 lt] [r ttl x]]
        lappend out [r expire x 200 lt] [r expire x 50 lt] [r ttl x]
    } {1 100 0 1 50}

    test "PEXPIRE, EXPIREAT, PEXPIREAT accept NX XX GT LT too" {
        r set x v
        set now [clock milliseconds]
        list [r pexpire x 100000 nx] [r pexpire x 200000 nx] \
             [r expireat x [expr {$now / 1000 + 50}] gt] [r expireat x [expr {$now / 1000 + 50}] lt] \
             [r pexpireat x [expr {$now + 300000}] xx] [r pexpireat x [expr {$now + 300000}] gt]
    } {1 0 0 1 1 0}

    test "Options are case-insensitive" {
        r set x v
        r expire x 100 Nx
    } {1}

    test "EXPIRE option errors" {
        r set x v
        set out {}
        catch {r expire x 100 foo} e; lappend out $e
        catch {r expire x 100 nx xx} e; lappend out $e
        catch {r expire x 100 nx gt} e; lappend out $e
        catch {r expire x 100 gt lt} e; lappend out $e
        set out
    } {{ERR Unsupported option foo} {ERR NX and XX, GT or LT options at the same time are not compatible} {ERR NX and XX, GT or LT options at the same time are not compatible} {ERR GT and LT options at the same time are not compatible}}

    test "EXPIRE with a non-integer time" {
        r set x v
        list [catch {r expire x abc} e1] $e1 [catch {r pexpire x 1.5} e2] $e2
    } {1 {ERR value is not an integer or out of range} 1 {ERR value is not an integer or out of range}}

    test "EXPIRE / PEXPIRE / EXPIREAT with overflowing times" {
        r set x v
        set out {}
        catch {r expire x 9223372036854775807} e; lappend out $e
        catch {r expire x 9223372036854770} e; lappend out $e
        catch {r pexpire x 9223372036854775807} e; lappend out $e
        catch {r expireat x 9223372036854775807} e; lappend out $e
        lappend out [r ttl x]
    } {{ERR invalid expire time in 'expire' command} {ERR invalid expire time in 'expire' command} {ERR invalid expire time in 'pexpire' command} {ERR invalid expire time in 'expireat' command} -1}

    test "Expire family: wrong number of arguments" {
        set out {}
        foreach cmd {expire pexpire expireat pexpireat} {
            catch {r $cmd x} e; lappend out $e
        }
        foreach cmd {ttl pttl expiretime pexpiretime persist} {
            catch {r $cmd} e; lappend out $e
        }
        set out
    } {{ERR wrong number of arguments for 'expire' command} {ERR wrong number of arguments for 'pexpire' command} {ERR wrong number of arguments for 'expireat' command} {ERR wrong number of arguments for 'pexpireat' command} {ERR wrong number of arguments for 'ttl' command} {ERR wrong number of arguments for 'pttl' command} {ERR wrong number of arguments for 'expiretime' command} {ERR wrong number of arguments for 'pexpiretime' command} {ERR wrong number of arguments for 'persist' command}}

    test "SET without options removes an existing TTL" {
        r set x v ex 100
        r set x w
        r ttl x
    } {-1}

    test "APPEND, INCR and SETRANGE keep the TTL" {
        r set x 1 ex 100
        r incr x
        r append x 0
        r setrange x 0 9
        list [r get x] [r ttl x]
    } {90 100}

    test "SET EX, PX, EXAT, PXAT" {
        r set a v ex 100
        r set b v px 100000
        r set c v exat [expr {[clock seconds] + 100}]
        r set d v pxat [expr {[clock milliseconds] + 100000}]
        foreach k {a b c d} { assert_range [r ttl $k] 98 100 }
        list [r get a] [r get b] [r get c] [r get d]
    } {v v v v}

    test "SET EXAT / PXAT in the past: the key is gone at once" {
        r set a v exat 1
        r set b v pxat 1
        list [r exists a b] [r get a]
    } {0 {}}

    test "SET KEEPTTL keeps the TTL" {
        r set x v ex 100
        r set x w keepttl
        list [r get x] [r ttl x]
    } {w 100}

    test "SET KEEPTTL on a key without TTL" {
        r set x v
        r set x w keepttl
        r ttl x
    } {-1}

    test "SET with a zero, negative or overflowing expire time" {
        set out {}
        foreach args {{ex 0} {ex -1} {px 0} {px -10} {exat 0} {pxat -1}
                      {ex 9223372036854775807} {px 9223372036854775807}
                      {ex 9223372036854776} {exat 9223372036854775807}} {
            catch {r set y v {*}$args} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR invalid expire time in 'set' command}}

    test "SET with a non-integer expire time" {
        catch {r set y v ex abc} e
        set e
    } {ERR value is not an integer or out of range}

    test "SET with conflicting expire options" {
        set out {}
        foreach args {{ex 10 px 100} {ex 10 keepttl} {px 10 exat 99999999999} {keepttl pxat 1} {ex} {px}} {
            catch {r set y v {*}$args} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR syntax error}}

    test "SETEX and PSETEX" {
        r setex a 100 v1
        r psetex b 100000 v2
        assert_range [r ttl a] 99 100
        assert_range [r pttl b] 99000 100000
        list [r get a] [r get b]
    } {v1 v2}

    test "SETEX / PSETEX with bad expire times" {
        set out {}
        catch {r setex a 0 v} e; lappend out $e
        catch {r setex a -1 v} e; lappend out $e
        catch {r setex a 9223372036854775807 v} e; lappend out $e
        catch {r psetex a 0 v} e; lappend out $e
        catch {r setex a abc v} e; lappend out $e
        catch {r setex a 10} e; lappend out $e
        catch {r psetex a 10} e; lappend out $e
        set out
    } {{ERR invalid expire time in 'setex' command} {ERR invalid expire time in 'setex' command} {ERR invalid expire time in 'setex' command} {ERR invalid expire time in 'psetex' command} {ERR value is not an integer or out of range} {ERR wrong number of arguments for 'setex' command} {ERR wrong number of arguments for 'psetex' command}}

    test "GETEX without options is GET and keeps the TTL" {
        r set x v ex 100
        list [r getex x] [r ttl x]
    } {v 100}

    test "GETEX EX, PX, EXAT, PXAT set the TTL" {
        r set x v
        set out [r getex x ex 100]
        assert_range [r ttl x] 99 100
        r getex x px 200000
        assert_range [r ttl x] 199 200
        r getex x exat [expr {[clock seconds] + 300}]
        assert_range [r ttl x] 298 300
        r getex x pxat [expr {[clock milliseconds] + 400000}]
        assert_range [r ttl x] 398 400
        set out
    } {v}

    test "GETEX PERSIST removes the TTL" {
        r set x v ex 100
        list [r getex x persist] [r ttl x]
    } {v -1}

    test "GETEX on a missing key" {
        r del nokey
        list [r getex nokey] [r getex nokey ex 10] [r exists nokey]
    } {{} {} 0}

    test "GETEX errors" {
        r set x v
        set out {}
        catch {r getex x ex 0} e; lappend out $e
        catch {r getex x px -1} e; lappend out $e
        catch {r getex x exat 0} e; lappend out $e
        catch {r getex x ex 9223372036854775807} e; lappend out $e
        catch {r getex x ex abc} e; lappend out $e
        catch {r getex x ex 10 px 10} e; lappend out $e
        catch {r getex x persist ex 10} e; lappend out $e
        catch {r getex x foo} e; lappend out $e
        catch {r getex x ex} e; lappend out $e
        catch {r getex} e; lappend out $e
        set out
    } {{ERR invalid expire time in 'getex' command} {ERR invalid expire time in 'getex' command} {ERR invalid expire time in 'getex' command} {ERR invalid expire time in 'getex' command} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR wrong number of arguments for 'getex' command}}

    test "GETEX with an EXAT in the past deletes the key" {
        r set x v
        list [r getex x pxat 1] [r exists x]
    } {v 0}

    test "Expired keys are not counted by DBSIZE after access and not listed by KEYS" {
        r flushdb
        r set live v
        for {set i 0} {$i < 10} {incr i} { r psetex short:$i 50 v }
        after 120
        lsort [r keys *]
    } {live}

    test "MGET does not return expired values" {
        r set a v
        r psetex b 50 v
        after 100
        r mget a b
    } {v {}}

    test "INFO keyspace counts keys with an expire" {
        r flushdb
        r set a v
        r set b v ex 100
        r set c v px 100000
        set ks [info_field [r info keyspace] db0]
        assert_match "keys=3,expires=2,avg_ttl=*" $ks
    }

    test "expired_keys statistic grows" {
        r config resetstat
        r flushdb
        r psetex x 10 v
        after 50
        r get x
        wait_for {[s expired_keys] >= 1} 2000
    }
}

start_server {tags {expire active}} {
    test "Active expiry removes 2,000 keys with a short TTL without access" {
        r flushdb
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < 2000} {incr i} { lappend batch [list psetex act:$i 200 v] }
        pipeline_commands $c $batch
        $c close
        r set keeper v
        r set longttl v ex 1000
        assert_equal 2002 [r dbsize]
        wait_for {[r dbsize] == 2} 5000 50 "DBSIZE must drop to the two keys that do not expire"
        assert_match "keys=2,expires=1,avg_ttl=*" [info_field [r info keyspace] db0]
        list [r exists keeper] [r exists longttl]
    } {1 1}

    test "Active expiry works in every database" {
        r select 7
        for {set i 0} {$i < 200} {incr i} { r psetex db7:$i 100 v }
        r select 0
        wait_for {[info_field [r info keyspace] db7] eq ""} 5000 50 "db7 must become empty"
    }

    test "Active expiry after many keys expire at once (mixed with keys that stay)" {
        r flushall
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < 3000} {incr i} {
            if {$i % 3 == 0} {
                lappend batch [list set stay:$i v]
            } else {
                lappend batch [list psetex go:$i 100 v]
            }
        }
        pipeline_commands $c $batch
        $c close
        wait_for {[r dbsize] == 1000} 8000 50
        r keys go:*
    } {}
}

start_server {tags {expire}} {
    test "TTL countdown: TTL decreases over time" {
        r set x v ex 10
        after 1100
        assert_range [r ttl x] 8 9
        assert_range [r pttl x] 8000 8950
    }

    test "A key set with PX 1 is gone shortly after" {
        r set x v px 1
        after 10
        r get x
    } {}

    test "RENAME of a key that has just expired fails" {
        r set x v px 10
        after 50
        catch {r rename x y} e
        set e
    } {ERR no such key}
}

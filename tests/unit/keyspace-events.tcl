# Keyspace notifications: the notify-keyspace-events directive (flag letters,
# CONFIG GET's canonical form, errors), the __keyspace@<db>__:<key> and
# __keyevent@<db>__:<event> channels, class filtering, and the events of the
# generic, string, list, hash, set and sorted-set commands, of expiry (lazy
# and active), of new keys and of writes made by scripts. Runs against
# redis-server 7.0 too.

# Starts a deferring client subscribed to every key event channel.
proc kse_listener {} {
    set rd [redis_deferring_client]
    $rd psubscribe __key*__:*
    $rd read
    return $rd
}

# Reads the listener's frames until the END marker: a list of
# "channel message" pairs, the pattern dropped.
proc kse_collect {rd} {
    r publish __keyspace@0__:END end
    set out {}
    while 1 {
        set m [$rd read]
        if {[lindex $m 2] eq "__keyspace@0__:END"} break
        lappend out [list [lindex $m 2] [lindex $m 3]]
    }
    return $out
}

# Only the keyevent channels' event names, in order.
proc kse_events {frames} {
    set out {}
    foreach f $frames {
        if {[string match __keyevent@* [lindex $f 0]]} {
            lappend out [lindex [split [lindex $f 0] :] end]:[lindex $f 1]
        }
    }
    return $out
}

start_server {tags {keyspace-events}} {
    test "notify-keyspace-events: default empty, canonical CONFIG GET form, errors" {
        set out [list [lindex [r config get notify-keyspace-events] 1]]
        foreach v {KEA Kg$ El AKE Ex {} gKE$lshzxetd Kn KEm} {
            r config set notify-keyspace-events $v
            lappend out [lindex [r config get notify-keyspace-events] 1]
        }
        catch {r config set notify-keyspace-events KEq} e
        lappend out $e
        set out
    } {{} AKE {g$K} lE AKE xE {} AKE nK KEm {ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.}}

    test "K publishes on __keyspace@<db>__:<key>, E on __keyevent@<db>__:<event>" {
        r config set notify-keyspace-events KEA
        set rd [kse_listener]
        r set foo bar
        r select 9
        r del nope
        r set k9 v
        r select 0
        set out [kse_collect $rd]
        $rd close
        set out
    } {{__keyspace@0__:foo set} {__keyevent@0__:set foo} {__keyspace@9__:k9 set} {__keyevent@9__:set k9}}

    test "Without K or E nothing is published; classes filter events" {
        r config set notify-keyspace-events A
        set rd [kse_listener]
        r set a 1
        r config set notify-keyspace-events El
        r set b 1
        r lpush l x
        r config set notify-keyspace-events Kg
        r lpush l y
        r del l
        set out [kse_collect $rd]
        $rd close
        set out
    } {{__keyevent@0__:lpush l} {__keyspace@0__:l del}}

    test "Generic events: del, expire, persist, rename, copy, move" {
        r flushall
        r config set notify-keyspace-events EA
        set rd [kse_listener]
        r set a 1
        r del a nothere
        r set b 1
        r expire b 100
        r persist b
        r rename b c
        r copy c d
        r move d 9
        r expire c 0
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {set:a del:a set:b expire:b persist:b rename_from:b rename_to:c copy_to:d move_from:d move_to:d del:c}

    test "String events" {
        r flushall
        set rd [kse_listener]
        r set s v ex 100
        r setrange s 0 x
        r append s y
        r incr n
        r incrby n 5
        r decr n
        r incrbyfloat f 1.5
        r mset m1 1 m2 2
        r getset m1 3
        r setnx m3 1
        r getdel m3
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {set:s expire:s setrange:s append:s incrby:n incrby:n incrby:n incrbyfloat:f set:m1 set:m2 set:m1 set:m3 del:m3}

    test "List events, with del when a list empties" {
        r flushall
        set rd [kse_listener]
        r rpush l a b c
        r lpush l z
        r linsert l before a y
        r lset l 0 w
        r lrem l 1 y
        r ltrim l 0 2
        r lpop l
        r rpop l
        r lmove l l2 left right
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {rpush:l lpush:l linsert:l lset:l lrem:l ltrim:l lpop:l rpop:l rpush:l2 lpop:l del:l}

    test "Hash events" {
        r flushall
        set rd [kse_listener]
        r hset h a 1 b 2
        r hsetnx h c 3
        r hincrby h a 5
        r hincrbyfloat h b 0.5
        r hdel h a b
        r hdel h c
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {hset:h hset:h hincrby:h hincrbyfloat:h hdel:h hdel:h del:h}

    test "Set events" {
        r flushall
        set rd [kse_listener]
        r sadd s a b c
        r sadd s a
        r srem s a
        r smove s s2 b
        r sinterstore s3 s s2
        r sunionstore s4 s s2
        r spop s
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {sadd:s srem:s srem:s sadd:s2 sunionstore:s4 spop:s del:s}

    test "Sorted set events" {
        r flushall
        set rd [kse_listener]
        r zadd z 1 a 2 b 3 c 4 d
        r zadd z 1 a
        r zincrby z 1 a
        r zrem z b
        r zremrangebyscore z 3 3
        r zunionstore z2 1 z
        r zpopmin z
        r zpopmax z
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {zadd:z zincr:z zrem:z zremrangebyscore:z zunionstore:z2 zpopmin:z zpopmax:z del:z}

    test "expired events, lazily and by the active cycle" {
        r flushall
        set rd [kse_listener]
        r set lazy v px 1
        r set active v px 1
        after 50
        r get lazy
        wait_for {[r dbsize] == 0}
        set out [lsort [kse_events [kse_collect $rd]]]
        $rd close
        set out
    } {expire:active expire:lazy expired:active expired:lazy set:active set:lazy}

    test "new events (n) for keys created" {
        r flushall
        r config set notify-keyspace-events En
        set rd [kse_listener]
        r set a 1
        r set a 2
        r rpush l x
        r rpush l y
        set out [kse_events [kse_collect $rd]]
        $rd close
        r config set notify-keyspace-events EA
        set out
    } {new:a new:l}

    test "keymiss events (m, not part of A) for reads of missing keys" {
        r flushall
        r config set notify-keyspace-events EAm
        set rd [kse_listener]
        r set present v
        r get present
        r get absent
        r hget nohash f
        r llen nolist
        r exists absent
        set out [kse_events [kse_collect $rd]]
        r config set notify-keyspace-events EA
        r get absent
        lappend out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {set:present keymiss:absent keymiss:nohash keymiss:nolist keymiss:absent {}}

    tags {phenix-only} {
        test "Entity events (class p, not part of A): ph.set and ph.patch" {
            r flushall
            r config set notify-keyspace-events EA
            set rd [kse_listener]
            r ph.create ev
            r ph.set ev:e1 META {{"a":1}}
            r config set notify-keyspace-events EAp
            set conf [lindex [r config get notify-keyspace-events] 1]
            r ph.set ev:e1 META {{"a":2}}
            r ph.patch ev:e1 {{"b":3}}
            r del ev:e1
            set out [kse_events [kse_collect $rd]]
            $rd close
            r config set notify-keyspace-events EA
            list $conf $out
        } {ApE {ph.set:ev:e1 ph.patch:ev:e1 del:ev:e1}}
    }

    test "Writes made by scripts notify too" {
        r flushall
        set rd [kse_listener]
        r eval {redis.call('set', KEYS[1], 'v'); redis.call('lpush', KEYS[2], 'x')} 2 sk sl
        set out [kse_events [kse_collect $rd]]
        $rd close
        set out
    } {set:sk lpush:sl}
}

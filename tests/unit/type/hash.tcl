# Hashes: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS
# HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN; every error reply (arity, WRONGTYPE,
# syntax, not an integer, overflow, NaN/Infinity), the listpack -> hashtable
# conversion thresholds (512 fields, 64-byte fields and values: Redis 7's defaults), RESP3 reply
# shapes, the generic key commands on hashes, HSCAN's cursor guarantee across
# rehashing, and random operation sequences checked against a Tcl model.

# The first line of the reply to a command, read raw; resp 3 asks for RESP3.
proc hash_raw_reply {resp args} {
    set c [redis_client]
    if {$resp == 3} { $c hello 3 }
    $c readraw 1
    set line [$c {*}$args]
    $c close
    return $line
}

# Runs a command on a fresh RESP3 client and returns the parsed reply.
proc resp3 {args} {
    set c [redis_client]
    $c hello 3
    set reply [$c {*}$args]
    $c close
    return $reply
}

# Fills hash key with n fields f0..f(n-1) = v0..v(n-1).
proc fill_hash {key n} {
    r del $key
    set args {}
    for {set i 0} {$i < $n} {incr i} { lappend args f$i v$i }
    r hset $key {*}$args
}

# Collects every field HSCAN returns for key, COUNT count.
proc hscan_all {key {count 10} {extra {}}} {
    set cursor 0
    set out {}
    while 1 {
        lassign [r hscan $key $cursor count $count {*}$extra] cursor items
        foreach {f v} $items { dict set out $f $v }
        if {$cursor == 0} break
    }
    return $out
}

start_server {tags {hash}} {
    test "HSET returns the number of new fields" {
        r del h
        list [r hset h a 1] [r hset h a 2 b 3] [r hset h c 4 d 5 a 6] [r hget h a] [r hlen h]
    } {1 1 2 6 4}

    test "HSET and HMSET: wrong number of arguments" {
        set out {}
        foreach cmd {{hset h} {hset h a} {hset h a 1 b} {hmset h a} {hmset h a 1 b}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR wrong number of arguments for 'hset' command} {ERR wrong number of arguments for 'hset' command} {ERR wrong number of arguments for 'hset' command} {ERR wrong number of arguments for 'hmset' command} {ERR wrong number of arguments for 'hmset' command}}

    test "HMSET replies OK" {
        r del h
        list [r hmset h a 1 b 2] [r hmget h a b]
    } {OK {1 2}}

    test "HSETNX sets only a missing field, and creates the key" {
        r del h
        list [r hsetnx h a 1] [r hsetnx h a 2] [r hget h a] [r hsetnx h b 3] [r hlen h]
    } {1 0 1 1 2}

    test "HGET of a missing field or key is nil" {
        r del h nokey
        r hset h a 1
        list [r hget h zz] [r hget nokey a] [hash_raw_reply 2 hget h zz] [hash_raw_reply 3 hget nokey a]
    } {{} {} {$-1} _}

    test "HMGET returns nil for missing fields and keys" {
        r del h nokey
        r hset h a 1 b 2
        list [r hmget h a zz b] [r hmget nokey a b]
    } {{1 {} 2} {{} {}}}

    test "HGETALL, HKEYS, HVALS" {
        r del h
        r hset h a 1 b 2 c 3
        list [lsort [r hkeys h]] [lsort [r hvals h]] [lsort -stride 2 [r hgetall h]] [dict get [r hgetall h] b]
    } {{a b c} {1 2 3} {a 1 b 2 c 3} 2}

    test "HGETALL, HKEYS, HVALS on a missing key are empty" {
        r del nokey
        list [r hgetall nokey] [r hkeys nokey] [r hvals nokey] [hash_raw_reply 2 hgetall nokey] \
            [hash_raw_reply 3 hgetall nokey] [hash_raw_reply 3 hkeys nokey]
    } {{} {} {} *0 %0 *0}

    test "HGETALL is a map in RESP3, an array in RESP2" {
        r del h
        r hset h a 1 b 2
        list [hash_raw_reply 2 hgetall h] [hash_raw_reply 3 hgetall h] [lsort -stride 2 [resp3 hgetall h]]
    } {*4 %2 {a 1 b 2}}

    test "HDEL deletes fields and the key with its last field" {
        r del h
        r hset h a 1 b 2 c 3
        list [r hdel h a zz] [r hdel h b b] [r hlen h] [r hdel h c] [r exists h] [r hdel h c] [r hdel nokey a]
    } {1 1 1 1 0 0 0}

    test "HEXISTS, HLEN and HSTRLEN" {
        r del h
        r hset h a hello n 12345 neg -7 z 007 e ""
        list [r hexists h a] [r hexists h zz] [r hexists nokey a] [r hlen h] [r hlen nokey] \
            [r hstrlen h a] [r hstrlen h n] [r hstrlen h neg] [r hstrlen h z] [r hstrlen h e] \
            [r hstrlen h zz] [r hstrlen nokey a]
    } {1 0 0 5 0 5 5 2 3 0 0 0}

    test "Numbers-like values keep their exact bytes" {
        r del h
        r hset h a 007 b -0 c 1.0 d 9223372036854775808 e -9223372036854775808 f 12 g " 1"
        r hmget h a b c d e f g
    } {007 -0 1.0 9223372036854775808 -9223372036854775808 12 { 1}}

    test "Fields and values are binary safe" {
        r del h
        set bin "a\x00b\r\n\xff"
        r hset h $bin $bin "" empty
        list [expr {[r hget h $bin] eq $bin}] [r hget h ""] [r hexists h "a"] [r hdel h $bin] [r hlen h]
    } {1 empty 0 1 1}
}

start_server {tags {hash}} {
    test "HINCRBY on a new field, an existing one, negative increments" {
        r del h
        list [r hincrby h n 5] [r hincrby h n 10] [r hincrby h n -20] [r hget h n] [r hincrby h m -3]
    } {5 15 -5 -5 -3}

    test "HINCRBY on a key that does not exist creates it" {
        r del h
        list [r hincrby h n 1] [r type h]
    } {1 hash}

    test "HINCRBY errors: a value that is not an integer, a bad increment" {
        r del h
        r hset h s abc f 1.5 sp " 1" big 9223372036854775808
        set out {}
        foreach {f by} {s 1 f 1 sp 1 big 1 n x n 1.5 n 9223372036854775808} {
            catch {r hincrby h $f $by} e
            lappend out $e
        }
        lappend out [r hexists h n]
    } {{ERR hash value is not an integer} {ERR hash value is not an integer} {ERR hash value is not an integer} {ERR hash value is not an integer} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} 0}

    test "HINCRBY overflow in both directions" {
        r del h
        r hset h max 9223372036854775807 min -9223372036854775808
        set out {}
        catch {r hincrby h max 1} e; lappend out $e
        catch {r hincrby h min -1} e; lappend out $e
        lappend out [r hincrby h max -1] [r hincrby h min 1] [r hincrby h max 1]
    } {{ERR increment or decrement would overflow} {ERR increment or decrement would overflow} 9223372036854775806 -9223372036854775807 9223372036854775807}

    test "HINCRBY on a hashtable-encoded hash" {
        fill_hash h 600
        r hset h n 41
        list [r object encoding h] [r hincrby h n 1] [r hincrby h new 7]
    } {hashtable 42 7}

    test "HINCRBYFLOAT" {
        r del h
        list [r hincrbyfloat h f 10.5] [r hincrbyfloat h f 0.1] [r hincrbyfloat h f -5] [r hget h f] \
            [r hincrbyfloat h g 3.0e3] [r hincrbyfloat h g 1] [r hincrbyfloat h i 5]
    } {10.5 10.6 5.6 5.6 3000 3001 5}

    test "HINCRBYFLOAT on an integer value" {
        r del h
        r hset h n 10
        list [r hincrbyfloat h n 0.25] [r hincrby h i 1] [r hincrbyfloat h i 1]
    } {10.25 1 2}

    test "HINCRBYFLOAT errors: NaN, Infinity, values that are not floats" {
        r del h
        r hset h s abc sp " 1"
        set out {}
        foreach {f by} {n nan n inf n -inf n x n "" s 1 sp 1} {
            catch {r hincrbyfloat h $f $by} e
            lappend out $e
        }
        lappend out [r hexists h n]
    } {{ERR value is not a valid float} {ERR value is NaN or Infinity} {ERR value is NaN or Infinity} {ERR value is not a valid float} {ERR value is not a valid float} {ERR hash value is not a float} {ERR hash value is not a float} 0}

    test "HINCRBYFLOAT that would produce Infinity" {
        r del h
        r hset h f 1e4932
        catch {r hincrbyfloat h f 1e4932} e
        list $e [r hget h f]
    } {{ERR increment would produce NaN or Infinity} 1e4932}

    test "HINCRBY and HINCRBYFLOAT against a string: WRONGTYPE" {
        r set s v
        set out {}
        catch {r hincrby s f 1} e; lappend out $e
        catch {r hincrbyfloat s f 1} e; lappend out $e
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "The increment is parsed before the key type is checked" {
        r set s v
        set out {}
        catch {r hincrby s f x} e; lappend out $e
        catch {r hincrbyfloat s f x} e; lappend out $e
    } {{ERR value is not an integer or out of range} {ERR value is not a valid float}}
}

start_server {tags {hash}} {
    test "Small hashes are listpack encoded" {
        r del h
        r hset h a 1 b [string repeat x 64] [string repeat k 64] v
        r object encoding h
    } {listpack}

    test "A hash converts to hashtable above 512 fields" {
        fill_hash h 512
        set a [r object encoding h]
        r hset h f512 v512
        list $a [r object encoding h] [r hlen h] [r hget h f0] [r hget h f512]
    } {listpack hashtable 513 v0 v512}

    test "A single HSET of more than 512 fields converts" {
        fill_hash h 600
        list [r object encoding h] [r hlen h]
    } {hashtable 600}

    test "A hash converts to hashtable with a value or a field over 64 bytes" {
        r del h1 h2 h3
        r hset h1 a 1
        r hset h1 b [string repeat x 65]
        r hset h2 [string repeat k 65] 1
        r hset h3 a 1
        r hincrbyfloat h3 a 1e70
        list [r object encoding h1] [r object encoding h2] [r object encoding h3] [string length [r hget h1 b]] \
            [r hget h2 [string repeat k 65]]
    } {hashtable hashtable hashtable 65 1}

    test "HSETNX and HMSET convert too" {
        r del h1 h2
        r hsetnx h1 a [string repeat x 100]
        r hmset h2 a 1 b [string repeat x 100]
        list [r object encoding h1] [r object encoding h2]
    } {hashtable hashtable}

    test "A hashtable hash does not convert back" {
        fill_hash h 600
        for {set i 0} {$i < 599} {incr i} { r hdel h f$i }
        list [r object encoding h] [r hgetall h]
    } {hashtable {f599 v599}}

    test "Every command works on both encodings" {
        set out {}
        foreach n {10 700} {
            fill_hash h $n
            lappend out [r hget h f5] [r hmget h f1 zz] [r hexists h f9] [r hstrlen h f7] [r hlen h] \
                [llength [r hkeys h]] [llength [r hvals h]] [llength [r hgetall h]] [r hdel h f5 f6] \
                [r hsetnx h f1 x] [r hincrby h cnt 2] [r hincrbyfloat h fl 1.5]
        }
        set out
    } {v5 {v1 {}} 1 2 10 10 10 20 2 0 2 1.5 v5 {v1 {}} 1 2 700 700 700 1400 2 0 2 1.5}
}

start_server {tags {hash}} {
    test "HRANDFIELD without a count" {
        r del h nokey
        r hset h a 1 b 2 c 3
        set seen {}
        for {set i 0} {$i < 100} {incr i} { dict set seen [r hrandfield h] 1 }
        list [lsort [dict keys $seen]] [r hrandfield nokey] [hash_raw_reply 2 hrandfield nokey]
    } {{a b c} {} {$-1}}

    test "HRANDFIELD with count 0, and on a missing key" {
        r del h nokey
        r hset h a 1
        list [hash_raw_reply 2 hrandfield h 0] [hash_raw_reply 2 hrandfield nokey 5] \
            [hash_raw_reply 2 hrandfield nokey -5 withvalues] [hash_raw_reply 3 hrandfield nokey 1]
    } {*0 *0 *0 *0}

    foreach {enc n} {listpack 20 hashtable 1000} {
        test "HRANDFIELD with a positive count returns distinct fields ($enc)" {
            fill_hash h $n
            set ok [expr {[r object encoding h] eq $enc}]
            foreach count [list 1 5 [expr {$n / 2}] [expr {$n - 1}] $n [expr {$n + 10}]] {
                set got [r hrandfield h $count]
                set want [expr {min($count, $n)}]
                if {[llength $got] != $want || [llength [lsort -unique $got]] != $want} { set ok 0 }
                foreach f $got { if {![string match f* $f]} { set ok 0 } }
            }
            set ok
        } {1}

        test "HRANDFIELD with a negative count may repeat fields ($enc)" {
            fill_hash h $n
            set got [r hrandfield h -500]
            set ok [expr {[llength $got] == 500}]
            foreach f $got { if {![r hexists h $f]} { set ok 0 } }
            list $ok [expr {[llength [lsort -unique $got]] < 500 || $n >= 500}]
        } {1 1}

        test "HRANDFIELD WITHVALUES pairs fields with their values ($enc)" {
            fill_hash h $n
            set ok 1
            foreach count {3 -7 100000} {
                set got [r hrandfield h $count withvalues]
                foreach {f v} $got { if {"v[string range $f 1 end]" ne $v} { set ok 0 } }
            }
            set r3 [resp3 hrandfield h 2 withvalues]
            foreach pair $r3 {
                if {[llength $pair] != 2 || "v[string range [lindex $pair 0] 1 end]" ne [lindex $pair 1]} { set ok 0 }
            }
            list $ok [llength $r3] [llength [r hrandfield h -3 withvalues]] [llength [resp3 hrandfield h -3]]
        } {1 2 6 3}

        test "HRANDFIELD with a count covers every field ($enc)" {
            fill_hash h $n
            set seen {}
            for {set i 0} {$i < 500 && [dict size $seen] < $n} {incr i} {
                foreach f [r hrandfield h [expr {min(50, $n / 2)}]] { dict set seen $f 1 }
            }
            expr {[dict size $seen] == $n}
        } {1}
    }

    test "HRANDFIELD keeps integer values apart (listpack)" {
        r del h
        r hset h 1 10 2 20 3 30
        set ok 1
        foreach {f v} [r hrandfield h -50 withvalues] { if {$v != $f * 10} { set ok 0 } }
        foreach {f v} [r hrandfield h 3 withvalues] { if {$v != $f * 10} { set ok 0 } }
        set ok
    } {1}

    test "HRANDFIELD errors" {
        r del h
        r hset h a 1
        set out {}
        foreach args {{x} {1.5} {1 foo} {1 withvalues x} {-9223372036854775808} {9223372036854775808}
                      {9223372036854775807 withvalues} {-4611686018427387904 withvalues}} {
            catch {r hrandfield h {*}$args} e
            lappend out $e
        }
        set out
    } {{ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807} {ERR value is not an integer or out of range} {ERR value is out of range} {ERR value is out of range}}
}

start_server {tags {hash}} {
    test "HSCAN of a listpack hash returns everything with cursor 0" {
        r del h
        r hset h a 1 b 2 c 3
        lassign [r hscan h 0] cursor items
        list $cursor [lsort -stride 2 $items] [lindex [r hscan h 0 match b*] 1] [lindex [r hscan h 0 count 1] 0]
    } {0 {a 1 b 2 c 3} {b 2} 0}

    test "HSCAN of a hashtable hash returns every field" {
        fill_hash h 1000
        set got [hscan_all h 10]
        set ok [expr {[dict size $got] == 1000}]
        dict for {f v} $got { if {"v[string range $f 1 end]" ne $v} { set ok 0 } }
        list $ok [r object encoding h]
    } {1 hashtable}

    test "HSCAN MATCH and COUNT on a hashtable hash" {
        fill_hash h 1000
        set got [hscan_all h 100 {match f1*}]
        set want 0
        for {set i 0} {$i < 1000} {incr i} { if {[string match 1* $i]} { incr want } }
        lassign [r hscan h 0 count 50] cursor items
        list [expr {[dict size $got] == $want}] [lsort -unique [lmap f [dict keys $got] {string match f1* $f}]] \
            [expr {$cursor != 0 && [llength $items] >= 80}]
    } {1 1 1}

    test "HSCAN returns every field present for the whole scan while the hash grows" {
        fill_hash h 1000
        set cursor 0
        set seen {}
        set extra 0
        while 1 {
            lassign [r hscan h $cursor count 20] cursor items
            foreach {f v} $items { dict set seen $f 1 }
            for {set k 0} {$k < 20} {incr k} { r hset h x[incr extra] y }
            if {$cursor == 0} break
        }
        set missing 0
        for {set i 0} {$i < 1000} {incr i} { if {![dict exists $seen f$i]} { incr missing } }
        set missing
    } {0}

    test "HSCAN on a missing key ignores the options; errors" {
        r del nokey h
        r hset h a 1
        set out [list [r hscan nokey 0] [r hscan nokey 0 foo bar] [r hscan h 18446744073709551615]]
        foreach args {{x} {-} {18446744073709551616} {1.5} {0 count 0} {0 count x} {0 foo} {0 match} {0 count}} {
            catch {r hscan h {*}$args} e
            lappend out $e
        }
        set out
    } {{0 {}} {0 {}} {0 {a 1}} {ERR invalid cursor} {ERR invalid cursor} {ERR invalid cursor} {ERR invalid cursor} {ERR syntax error} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR syntax error}}
}

start_server {tags {hash}} {
    test "Hash commands against a string: WRONGTYPE" {
        r set s v
        set out {}
        foreach cmd {{hset s a 1} {hsetnx s a 1} {hget s a} {hmget s a} {hmset s a 1} {hgetall s} {hdel s a}
                     {hexists s a} {hlen s} {hstrlen s a} {hkeys s} {hvals s} {hincrby s a 1}
                     {hincrbyfloat s a 1} {hrandfield s} {hrandfield s 2} {hscan s 0}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list [lsort -unique $out] [r get s]
    } {{{WRONGTYPE Operation against a key holding the wrong kind of value}} v}

    test "Hash commands: wrong number of arguments" {
        set out {}
        foreach cmd {{hsetnx h a} {hget h} {hmget h} {hgetall} {hdel h} {hexists h} {hlen} {hstrlen h}
                     {hkeys} {hvals} {hincrby h a} {hincrbyfloat h a} {hrandfield} {hscan h}} {
            catch {r {*}$cmd} e
            lappend out [string map [list [lindex $cmd 0] X] $e]
        }
        lsort -unique $out
    } {{ERR wrong number of arguments for 'X' command}}

    test "TYPE, SCAN TYPE, DEL and RENAME of a hash" {
        r flushdb
        r hset h a 1
        r set s v
        set out [list [r type h] [lindex [r scan 0 type hash] 1]]
        r rename h h2
        lappend out [r exists h] [r hget h2 a] [r del h2] [r exists h2]
    } {hash h 0 1 1 0}

    test "COPY makes an independent copy of both encodings" {
        set out {}
        foreach n {5 1000} {
            fill_hash h $n
            r del h2
            r copy h h2
            r hset h2 f0 changed
            r hdel h f1
            lappend out [r hget h f0] [r hget h2 f0] [r hlen h] [r hlen h2] [r object encoding h2]
        }
        set out
    } {v0 changed 4 5 listpack v0 changed 999 1000 hashtable}

    test "MEMORY USAGE grows with the hash" {
        r del h
        r hset h a 1
        set small [r memory usage h]
        fill_hash h 1000
        set big [r memory usage h]
        list [expr {$small > 0}] [expr {$big > $small + 10000}]
    } {1 1}

    test "An expired hash is gone for the hash commands" {
        r del h
        r hset h a 1
        r pexpire h 1
        after 20
        list [r hget h a] [r hlen h] [r hsetnx h a 2] [r ttl h]
    } {{} 0 1 -1}
}

start_server {tags {hash}} {
    test "Random operations agree with a Tcl model across the conversion" {
        r del h
        set model {}
        set ok 1
        set why ""
        for {set step 0} {$step < 6000 && $ok} {incr step} {
            set f "f[expr {int(rand() * 900)}]"
            set len [expr {rand() < 0.05 ? 70 : int(rand() * 10)}]
            set v [randstring $len]
            switch [expr {int(rand() * 8)}] {
                0 - 1 {
                    set new [expr {![dict exists $model $f]}]
                    if {[r hset h $f $v] != $new} { set ok 0; set why "hset at $step" }
                    dict set model $f $v
                }
                2 {
                    set had [dict exists $model $f]
                    if {[r hdel h $f] != $had} { set ok 0; set why "hdel at $step" }
                    dict unset model $f
                }
                3 {
                    set want ""
                    if {[dict exists $model $f]} { set want [dict get $model $f] }
                    if {[r hget h $f] ne $want} { set ok 0; set why "hget $f at $step" }
                }
                4 {
                    set i "i[expr {int(rand() * 20)}]"
                    set by [expr {int(rand() * 1000) - 500}]
                    set cur 0
                    if {[dict exists $model $i]} { set cur [dict get $model $i] }
                    dict set model $i [expr {$cur + $by}]
                    if {[r hincrby h $i $by] != [dict get $model $i]} { set ok 0; set why "hincrby at $step" }
                }
                5 {
                    if {[r hlen h] != [dict size $model]} { set ok 0; set why "hlen at $step" }
                }
                6 {
                    set want [expr {[dict exists $model $f] ? 1 : 0}]
                    if {[r hexists h $f] != $want} { set ok 0; set why "hexists at $step" }
                }
                7 {
                    if {rand() < 0.05} {
                        set got [lsort -stride 2 [r hgetall h]]
                        if {$got ne [lsort -stride 2 $model]} { set ok 0; set why "hgetall at $step" }
                    }
                }
            }
        }
        if {$ok && [lsort -stride 2 [r hgetall h]] ne [lsort -stride 2 $model]} { set ok 0; set why "final" }
        list $ok $why
    } {1 {}}
}

# Sorted sets: ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE
# ZMSCORE ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZRANGESTORE
# ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE
# ZREMRANGEBYRANK|SCORE|LEX ZPOPMIN ZPOPMAX ZMPOP ZUNION ZINTER ZDIFF (+STORE)
# ZINTERCARD ZRANDMEMBER ZSCAN, and BZPOPMIN BZPOPMAX BZMPOP when a key holds
# elements. Every error reply (arity, WRONGTYPE, syntax, not a float, out of range,
# NaN), score formatting (RESP2 bulk, RESP3 double), both encodings (listpack,
# skiplist) and their conversion, ranks and ranges on 10k members, and a model test.
#
# Redis 7.0 and 7.2 differ on ZRANK WITHSCORE (7.2 only) and on the text of a
# double (7.0 prints 17 significant digits, 7.2 the shortest round trip), so those
# tests are tagged phenix-only or accept both forms.

# Creates key as a sorted set with the given score/member pairs in the given
# encoding (skiplist: with 200 filler members scored 1000+).
proc create_zset {key enc pairs} {
    r del $key
    if {$enc eq "skiplist"} {
        for {set i 0} {$i < 200} {incr i} { lappend pairs [expr {1000 + $i}] filler:$i }
    }
    r zadd $key {*}$pairs
    assert_encoding $enc $key
}

# The first line of the RESP3 reply to a command (type and length), read raw
# with a fresh client.
proc resp3_header {args} {
    set c [redis_client]
    $c hello 3
    $c readraw 1
    $c send {*}$args
    set line [$c read_line]
    $c close
    return $line
}

# The whole RESP3 reply to a command, as a client in RESP3 reads it.
proc resp3 {args} {
    set c [redis_client]
    $c hello 3
    set v [$c {*}$args]
    $c close
    return $v
}

start_server {tags {zset}} {
    test "ZADD, ZCARD, ZSCORE, ZRANGE on a new sorted set" {
        r del z
        list [r zadd z 3 c 1 a 2 b] [r zcard z] [r zscore z b] [r zrange z 0 -1] [r zrange z 0 -1 withscores]
    } {3 3 2 {a b c} {a 1 b 2 c 3}}

    test "ZADD updates scores and reports only new members" {
        r del z
        list [r zadd z 1 a 2 b] [r zadd z 5 a 3 c] [r zrange z 0 -1 withscores]
    } {2 1 {b 2 c 3 a 5}}

    test "Equal scores order members by bytes" {
        r del z
        r zadd z 0 b 0 a 0 ab 0 B 0 "" 0 "\xff"
        r zrange z 0 -1
    } [list {} B a ab b "\xff"]

    test "Commands on a missing key" {
        r del nokey
        list [r zcard nokey] [r zscore nokey a] [r zmscore nokey a b] [r zrank nokey a] [r zrevrank nokey a] \
            [r zrange nokey 0 -1] [r zrangebyscore nokey -inf +inf] [r zcount nokey -inf +inf] \
            [r zlexcount nokey - +] [r zrem nokey a] [r zpopmin nokey] [r zpopmax nokey 2] \
            [r zremrangebyrank nokey 0 -1] [r zrandmember nokey] [r zrandmember nokey 3] [r zscan nokey 0] \
            [r zmpop 1 nokey min] [r exists nokey]
    } {0 {} {{} {}} {} {} {} {} 0 0 0 {} {} 0 {} {} {0 {}} {} 0}

    test "ZADD XX, NX, GT, LT and CH" {
        r del z
        r zadd z 10 a 20 b
        set out {}
        lappend out [r zadd z xx 11 a 1 c] [r zscore z a] [r exists c] [r zscore z c]
        lappend out [r zadd z nx 99 a 30 c] [r zscore z a] [r zscore z c]
        lappend out [r zadd z gt 5 a 25 b] [r zscore z a] [r zscore z b]
        lappend out [r zadd z lt 50 a 1 b 7 d] [r zscore z a] [r zscore z b] [r zscore z d]
        lappend out [r zadd z ch 12 a 1 b 8 e] [r zadd z xx gt ch 100 a 0 b 9 zz] [r zscore z a] [r zscore z zz]
        lappend out [r zadd z xx lt ch 0 a] [r zscore z a]
    } {0 11 0 {} 1 11 30 0 11 25 1 11 1 7 2 1 100 {} 1 0}

    test "ZADD INCR and ZINCRBY" {
        r del z
        set out [list [r zadd z incr 5 a] [r zadd z incr 2.5 a] [r zincrby z -1 a] [r zincrby z 3 b]]
        lappend out [r zadd z xx incr 1 nope] [r zadd z nx incr 1 a] [r zadd z gt incr -1 a] \
            [r zadd z lt incr -1 a] [r zadd z gt incr 1 a] [r zscore z a] [r exists nope] [r zscore z nope]
    } {5 7.5 6.5 3 {} {} {} 5.5 6.5 6.5 0 {}}

    test "ZADD XX against a missing key does not create it" {
        r del z
        list [r zadd z xx 1 a] [r zadd z xx incr 1 a] [r exists z]
    } {0 {} 0}

    test "ZADD option errors" {
        r del z
        set out {}
        foreach cmd {{zadd z nx xx 1 a} {zadd z gt lt 1 a} {zadd z gt nx 1 a} {zadd z lt nx 1 a}
                     {zadd z incr 1 a 2 b} {zadd z 1} {zadd z 1 a 2} {zadd z nx} {zadd z xx ch}
                     {zadd z foo 1 a}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list $out [r exists z]
    } {{{ERR XX and NX options at the same time are not compatible} {ERR GT, LT, and/or NX options at the same time are not compatible} {ERR GT, LT, and/or NX options at the same time are not compatible} {ERR GT, LT, and/or NX options at the same time are not compatible} {ERR INCR option supports a single increment-element pair} {ERR wrong number of arguments for 'zadd' command} {ERR syntax error} {ERR wrong number of arguments for 'zadd' command} {ERR syntax error} {ERR syntax error}} 0}

    test "Scores that are not valid floats" {
        r del z
        set out {}
        foreach s {nan NaN abc {} { 1} {1 } 1e400 -1e400 1e-400 1.5x} {
            catch {r zadd z $s a} e
            lappend out $e
        }
        catch {r zadd z 1 a 2 b x c} e
        list [lsort -unique $out] $e [r exists z]
    } {{{ERR value is not a valid float}} {ERR value is not a valid float} 0}

    test "Scores Redis accepts: inf, hex, exponents, a sign" {
        r del z
        r zadd z inf a -inf b +inf c 0x10 d 1e3 e +5 f -.5 g 5. h
        r zrange z 0 -1 withscores
    } {b -inf g -0.5 f 5 h 5 d 16 e 1000 a inf c inf}

    test "INCR that would produce NaN is refused" {
        r del z
        r zadd z inf a -inf b
        set out {}
        catch {r zadd z incr -inf a} e; lappend out $e
        catch {r zincrby z inf b} e; lappend out $e
        lappend out [r zscore z a] [r zscore z b]
    } {{ERR resulting score is not a number (NaN)} {ERR resulting score is not a number (NaN)} inf -inf}

    test "ZINCRBY errors" {
        r del z
        set out {}
        catch {r zincrby z abc a} e; lappend out $e
        catch {r zincrby z nan a} e; lappend out $e
        catch {r zincrby z 1} e; lappend out $e
        lappend out [r exists z]
    } {{ERR value is not a valid float} {ERR value is not a valid float} {ERR wrong number of arguments for 'zincrby' command} 0}

    test "Scores as text: integers, halves, infinities, sums and 17 digits" {
        r del z
        r zadd z 3 a -2 b 0.5 c inf d -inf e 1e17 f 0.1 g
        r zincrby z 0.2 g
        list [r zscore z a] [r zscore z b] [r zscore z c] [r zscore z d] [r zscore z e] [r zscore z f] \
            [r zscore z g]
    } {3 -2 0.5 inf -inf 1e+17 0.30000000000000004}

    test "Scores that 7.0 and 7.2 print differently round-trip" {
        r del z
        r zadd z 1.1 a 1e300 b 123456789012345678 c
        set out {}
        lappend out [expr {[r zscore z a] in {1.1 1.1000000000000001}}]
        lappend out [expr {[r zscore z b] in {1e+300 1.0000000000000001e+300}}]
        lappend out [expr {[r zscore z c] == 123456789012345678.0}]
    } {1 1 1}

    test "ZMSCORE" {
        r del z
        r zadd z 1 a 2.5 b
        r zmscore z a nope b
    } {1 {} 2.5}

    test "ZREM removes members and deletes an emptied key" {
        r del z
        r zadd z 1 a 2 b 3 c
        list [r zrem z a nope] [r zrange z 0 -1] [r zrem z b c] [r exists z]
    } {1 {b c} 2 0}
}

start_server {tags {zset}} {
    foreach enc {listpack skiplist} {
        test "ZRANK and ZREVRANK ($enc)" {
            create_zset z $enc {1 a 2 b 3 c}
            set n [r zcard z]
            list [r zrank z a] [r zrank z c] [r zrevrank z c] [expr {[r zrevrank z a] == $n - 1}] \
                [r zrank z nope] [r zrevrank z nope]
        } [list 0 2 [expr {$enc eq "listpack" ? 0 : 200}] 1 {} {}]

        test "ZRANGE by rank, with negative and out-of-range indexes ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d}
            list [r zrange z 0 1] [r zrange z 1 2 withscores] [r zrange z 2 1] [r zrange z -100000 1] \
                [r zrange z 3 3] [lindex [r zrange z -1 -1] 0] [r zrange z 100000 200000] \
                [llength [r zrange z 0 1000000]]
        } [list {a b} {b 2 c 3} {} {a b} d [expr {$enc eq "listpack" ? "d" : "filler:199"}] {} \
            [expr {$enc eq "listpack" ? 4 : 204}]]

        test "ZRANGE REV and ZREVRANGE ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d}
            set n [r zcard z]
            list [r zrange z [expr {$n - 4}] -1 rev] [r zrevrange z -2 -1 withscores] \
                [r zrange z -2 -1 rev withscores]
        } {{d c b a} {b 2 a 1} {b 2 a 1}}

        test "ZRANGE BYSCORE with inclusive and exclusive bounds ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d 5 e}
            list [r zrange z 2 4 byscore] [r zrange z (2 4 byscore] [r zrange z 2 (4 byscore] \
                [r zrange z (2 (4 byscore withscores] [r zrange z -inf 2 byscore] [r zrange z (4 (5 byscore] \
                [r zrange z 4 2 byscore] [r zrange z 3 3 byscore] [r zrange z (3 3 byscore] \
                [r zrange z 5 (1000 byscore]
        } {{b c d} {c d} {b c} {c 3} {a b} {} {} c {} e}

        test "ZRANGE BYSCORE REV takes max first ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d 5 e}
            list [r zrange z 4 2 byscore rev] [r zrange z (4 2 byscore rev withscores] [r zrange z 2 4 byscore rev] \
                [r zrevrangebyscore z 4 2] [r zrevrangebyscore z 5 -inf limit 1 2]
        } {{d c b} {c 3 b 2} {} {d c b} {d c}}

        test "ZRANGE BYSCORE LIMIT ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d 5 e}
            list [r zrange z -inf 5 byscore limit 1 2] [r zrange z -inf 5 byscore limit 3 -1] \
                [r zrange z -inf 5 byscore limit 0 0] [r zrange z -inf 5 byscore limit 10 5] \
                [r zrange z -inf 5 byscore limit -1 5] [r zrangebyscore z 2 5 withscores limit 1 1] \
                [r zrangebyscore z 2 5 limit 1 -5]
        } {{b c} {d e} {} {} {} {c 3} {c d e}}

        test "ZCOUNT ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d 5 e}
            list [r zcount z 2 4] [r zcount z (2 (4] [r zcount z -inf 5] [r zcount z 4 2] [r zcount z (3 3] \
                [r zcount z 10 (1000]
        } {3 1 5 0 0 0}

        test "ZREMRANGEBYSCORE and ZREMRANGEBYRANK ($enc)" {
            create_zset z $enc {1 a 2 b 3 c 4 d 5 e}
            list [r zremrangebyscore z (1 2] [r zrange z 0 2] [r zremrangebyscore z 10 5] \
                [r zremrangebyrank z 0 0] [r zrange z 0 1] [r zremrangebyrank z 1 1] [r zrange z 0 1] \
                [r zremrangebyrank z 5 2]
        } {1 {a c d} 0 1 {c d} 1 {c e} 0}

        test "ZPOPMIN and ZPOPMAX ($enc)" {
            create_zset z $enc {1 a 2 b 3 c}
            set n [r zcard z]
            list [r zpopmin z] [r zpopmin z 2] [lindex [r zpopmax z] 1] [r zpopmin z 0] [r zcard z]
        } [list {a 1} {b 2 c 3} [expr {$enc eq "listpack" ? "" : 1199}] {} [expr {$enc eq "listpack" ? 0 : 199}]]

        test "ZSCAN returns every member with its score ($enc)" {
            create_zset z $enc {1 a 2.5 b -inf c}
            set cur 0
            set got {}
            while 1 {
                lassign [r zscan z $cur count 5] cur items
                lappend got {*}$items
                if {$cur == 0} break
            }
            set d [dict create {*}$got]
            list [dict get $d a] [dict get $d b] [dict get $d c] [expr {[dict size $d] == [r zcard z]}]
        } {1 2.5 -inf 1}

        test "ZRANDMEMBER ($enc)" {
            create_zset z $enc {1 a 2 b 3 c}
            set n [r zcard z]
            set one [r zrandmember z]
            set three [r zrandmember z 3 withscores]
            set all [r zrandmember z [expr {$n + 10}]]
            set neg [r zrandmember z -50]
            set negws [r zrandmember z -5 withscores]
            set ok [expr {[r zscore z $one] ne ""}]
            foreach {m s} [concat $three $negws] { if {[r zscore z $m] != $s} { set ok 0 } }
            list $ok [llength $three] [llength [lsort -unique [dict keys $three]]] [llength $all] \
                [llength [lsort -unique $all]] [llength $neg] [llength $negws] [r zrandmember z 0]
        } [list 1 6 3 [expr {$enc eq "listpack" ? 3 : 203}] [expr {$enc eq "listpack" ? 3 : 203}] 50 10 {}]
    }

    test "ZRANGE BYLEX with inclusive, exclusive, - and + bounds, REV and LIMIT" {
        r del z
        r zadd z 0 a 0 b 0 c 0 d 0 e 0 ab
        list [r zrange z \[a \[c bylex] [r zrange z (a (c bylex] [r zrange z - (b bylex] [r zrange z \[d + bylex] \
            [r zrange z + - bylex] [r zrange z \[c (a bylex rev] [r zrange z - + bylex limit 2 3] \
            [r zrangebylex z - + limit 1 -1] [r zrevrangebylex z + - limit 0 2] [r zrangebylex z \[b \[b] \
            [r zrangebylex z (b \[b] [r zrangebylex z + +] [r zrangebylex z - -]
    } {{a ab b c} {ab b} {a ab} {d e} {} {c b ab} {b c d} {ab b c d e} {e d} b {} {} {}}

    test "ZLEXCOUNT and ZREMRANGEBYLEX" {
        r del z
        r zadd z 0 a 0 b 0 c 0 d 0 e
        list [r zlexcount z - +] [r zlexcount z \[b \[d] [r zlexcount z (b (d] [r zlexcount z (d (b] \
            [r zremrangebylex z \[b (d] [r zrange z 0 -1] [r zremrangebylex z - +] [r exists z]
    } {5 3 1 0 2 {a d e} 3 0}

    test "BYLEX on a big sorted set of equal scores" {
        r del z
        set m {}
        for {set i 0} {$i < 1000} {incr i} { lappend m 0 [format m%04d $i] }
        r zadd z {*}$m
        list [r object encoding z] [r zlexcount z \[m0100 (m0200] [r zrange z (m0500 + bylex limit 0 2] \
            [r zrange z (m0500 - bylex rev limit 0 2] [r zremrangebylex z - (m0990] [r zrange z 0 -1]
    } {skiplist 100 {m0501 m0502} {m0499 m0498} 990 {m0990 m0991 m0992 m0993 m0994 m0995 m0996 m0997 m0998 m0999}}

    test "ZRANGE argument errors" {
        r del z
        r zadd z 1 a 2 b
        set out {}
        foreach cmd {{zrange z 0 1 limit 0 1} {zrange z a b bylex withscores} {zrange z x 1} {zrange z 0 1 foo}
                     {zrange z x 1 byscore} {zrange z 1 (x byscore} {zrange z a c bylex} {zrange z {} + bylex}
                     {zrange z 0 1 byscore bylex} {zrange z 0 1 rev rev} {zrange z 0 1 limit 0}
                     {zrange z 0 1 byscore limit x 1} {zrange z (nan 1 byscore} {zrangebyscore z 0 1 byscore}
                     {zrangebyscore z 0 1 rev} {zrevrange z 0 1 rev} {zrevrange z 0 1 limit 0 1}
                     {zrangebylex z - + withscores} {zrangebylex z -a +} {zrangestore d z 0 1 withscores}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX} {ERR syntax error, WITHSCORES not supported in combination with BYLEX} {ERR value is not an integer or out of range} {ERR syntax error} {ERR min or max is not a float} {ERR min or max is not a float} {ERR min or max not valid string range item} {ERR min or max not valid string range item} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR value is not an integer or out of range} {ERR min or max is not a float} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX} {ERR syntax error, WITHSCORES not supported in combination with BYLEX} {ERR min or max not valid string range item} {ERR syntax error}}

    test "ZRANGE by rank accepts LIMIT 0 -1 (no limit)" {
        r del z
        r zadd z 1 a 2 b
        r zrange z 0 -1 limit 0 -1
    } {a b}

    test "ZCOUNT, ZLEXCOUNT and ZREMRANGEBY* errors" {
        r del z
        r zadd z 1 a
        set out {}
        foreach cmd {{zcount z x 1} {zcount z 1 x} {zcount z (nan 1} {zlexcount z a b} {zlexcount z - +a}
                     {zremrangebyrank z x 1} {zremrangebyrank z 0 1.5} {zremrangebyscore z x 1}
                     {zremrangebylex z x y}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list $out [r zcard z]
    } {{{ERR min or max is not a float} {ERR min or max is not a float} {ERR min or max is not a float} {ERR min or max not valid string range item} {ERR min or max not valid string range item} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR min or max is not a float} {ERR min or max not valid string range item}} 1}

    test "Range bounds read as Redis reads them: an empty or bare ( bound is 0" {
        r del z
        r zadd z -1 a 0 b 1 c
        list [r zcount z {} 1] [r zcount z ( 1] [r zrangebyscore z -inf {}]
    } {2 1 {a b}}

    test "ZRANGESTORE stores a range and deletes the destination on empty" {
        r del z d
        r zadd z 1 a 2 b 3 c 4 d
        set out [list [r zrangestore d z 1 2] [r zrange d 0 -1 withscores] [r object encoding d]]
        lappend out [r zrangestore d z 4 2 byscore rev limit 0 2] [r zrange d 0 -1]
        lappend out [r zrangestore d z \[b (d bylex] [r zrange d 0 -1]
        lappend out [r zrangestore d z 10 20] [r exists d]
        r set d str
        lappend out [r zrangestore d nokey 0 -1] [r exists d]
        lappend out [r zrangestore z z 0 0] [r zrange z 0 -1]
    } {2 {b 2 c 3} listpack 2 {c d} 2 {b c} 0 0 0 0 1 a}

    test "ZRANGESTORE of a big range makes a skiplist, of a small one a listpack" {
        r del z d
        set m {}
        for {set i 0} {$i < 300} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        set out [list [r zrangestore d z 0 199] [r object encoding d]]
        lappend out [r zrangestore d z 0 9] [r object encoding d]
    } {200 skiplist 10 listpack}
}

start_server {tags {zset}} {
    test "Encoding: listpack up to 128 members of up to 64 bytes" {
        r del z
        set m {}
        for {set i 0} {$i < 128} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        set e1 [r object encoding z]
        r zadd z 128 m128
        set e2 [r object encoding z]
        r del z2
        r zadd z2 1 [string repeat x 64]
        set e3 [r object encoding z2]
        r zadd z2 2 [string repeat x 65]
        list $e1 $e2 $e3 [r object encoding z2] [r zcard z] [r zrank z m128] [r zscore z m0]
    } {listpack skiplist listpack skiplist 129 128 0}

    test "Encoding: a new key with many pairs, or a long member, is a skiplist at once" {
        r del z z2
        set m {}
        for {set i 0} {$i < 200} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        r zadd z2 1 [string repeat y 100]
        list [r object encoding z] [r object encoding z2]
    } {skiplist skiplist}

    test "Encoding: removing members does not convert back" {
        r del z
        set m {}
        for {set i 0} {$i < 200} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        r zremrangebyrank z 2 -1
        list [r object encoding z] [r zrange z 0 -1 withscores]
    } {skiplist {m0 0 m1 1}}

    test "Integer-like members and scores survive the listpack" {
        r del z
        r zadd z 1 10 2 -5 3 007 4 9223372036854775807 5 -9223372036854775808 6 1.5
        list [r zrange z 0 -1] [r zscore z 007] [r zscore z 7] [r zrank z 9223372036854775807] [r zscore z 10]
    } {{10 -5 007 9223372036854775807 -9223372036854775808 1.5} 3 {} 3 1}

    test "Binary-safe members" {
        r del z
        set m "a\x00b\r\n"
        r zadd z 1 $m 2 ""
        list [expr {[lindex [r zrange z 0 0] 0] eq $m}] [r zscore z $m] [r zscore z ""] [r zrank z ""]
    } {1 1 2 1}
}

start_server {tags {zset}} {
    test "ZPOPMIN and ZPOPMAX errors and edge cases" {
        r del z
        r zadd z 1 a 2 b
        set out {}
        foreach cmd {{zpopmin z -1} {zpopmin z x} {zpopmax z 1.5} {zpopmin z 1 2}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        lappend out [r zpopmax z 10] [r exists z] [r zpopmin z 5]
    } {{ERR value is out of range, must be positive} {ERR value is out of range, must be positive} {ERR value is out of range, must be positive} {ERR syntax error} {b 2 a 1} 0 {}}

    test "ZMPOP from the first non-empty key" {
        r del z z2
        r zadd z 1 a 2 b 3 c
        r zadd z2 10 x
        list [r zmpop 1 z min] [r zmpop 1 z max count 5] [r exists z] [r zmpop 2 z z2 min count 3] \
            [r zmpop 2 z z2 max] [r exists z2]
    } {{z {{a 1}}} {z {{c 3} {b 2}}} 0 {z2 {{x 10}}} {} 0}

    test "ZMPOP errors" {
        r del z
        r zadd z 1 a
        r set str x
        set out {}
        foreach cmd {{zmpop 0 z min} {zmpop -1 z min} {zmpop x z min} {zmpop 1 z} {zmpop 1 z foo}
                     {zmpop 3 z min} {zmpop 1 z min count 0} {zmpop 1 z min count -1} {zmpop 1 z min count x}
                     {zmpop 1 z min count} {zmpop 1 z min count 1 count 1} {zmpop 1 z min foo} {zmpop 1 str min}
                     {zmpop 2 nokey str min}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list $out [r zcard z]
    } {{{ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR wrong number of arguments for 'zmpop' command} {ERR syntax error} {ERR syntax error} {ERR count should be greater than 0} {ERR count should be greater than 0} {ERR count should be greater than 0} {ERR syntax error} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value}} 1}

    test "BZPOPMIN, BZPOPMAX, BZMPOP serve a key that holds elements" {
        r del z z2
        r zadd z2 1 a 2 b 3 c
        list [r bzpopmin z z2 0] [r bzpopmax z z2 0] [r bzmpop 0 2 z z2 min count 5] [r exists z2]
    } {{z2 a 1} {z2 c 3} {z2 {{b 2}}} 0}

    test "BZPOPMIN, BZPOPMAX, BZMPOP with a short timeout on empty keys reply nil" {
        r del z
        list [r bzpopmin z 0.05] [r bzpopmax z nokey 0.05] [r bzmpop 0.05 1 z max]
    } {{} {} {}}

    test "Blocking pop argument errors" {
        r set str x
        r del z
        r zadd z 1 a
        set out {}
        foreach cmd {{bzpopmin z x} {bzpopmin z -1} {bzpopmax z 1 x} {bzmpop x 1 z min} {bzmpop -1 1 z min}
                     {bzmpop 0 0 z min} {bzmpop 0 1 z foo} {bzpopmin str 0} {bzpopmin nokey str 0}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list $out [r zcard z]
    } {{{ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR numkeys should be greater than 0} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value}} 1}
}

# Sends a blocking command on a new deferring client and waits until the
# server counts one more blocked client. Returns the client.
proc zblock_client {args} {
    set before [s blocked_clients]
    set rd [redis_deferring_client]
    $rd {*}$args
    wait_for {[s blocked_clients] == $before + 1} 5000 20 "blocked_clients == $before + 1"
    return $rd
}

start_server {tags {zset blocking}} {
    test "BZPOPMIN blocks until another client adds" {
        r del bz
        set rd [zblock_client bzpopmin bz 0]
        r zadd bz 2 b 1 a
        list [$rd read] [r zrange bz 0 -1] [s blocked_clients]
    } {{bz a 1} b 0}

    test "BZPOPMAX on several keys is served by the key that gets elements" {
        r del bz1 bz2
        set rd [zblock_client bzpopmax bz1 bz2 0]
        r zadd bz2 1 x 5 y
        list [$rd read] [r zrange bz2 0 -1] [r exists bz1]
    } {{bz2 y 5} x 0}

    test "BZMPOP with COUNT is served as many members as it asks, and the emptied key is deleted" {
        r del bz
        set rd [zblock_client bzmpop 0 1 bz max count 2]
        r zadd bz 1 a 2 b 3 c
        set first [$rd read]
        set rd2 [redis_deferring_client]
        $rd2 bzmpop 0 1 bz min count 5
        list $first [$rd2 read] [r exists bz]
    } {{bz {{c 3} {b 2}}} {bz {{a 1}}} 0}

    test "Waiting clients are served first blocked, first served" {
        r del bz
        set rd1 [zblock_client bzpopmin bz 0]
        set rd2 [zblock_client bzpopmin bz 0]
        r zadd bz 1 a
        set a [$rd1 read]
        set blocked [s blocked_clients]
        r zadd bz 2 b
        list $a $blocked [$rd2 read] [s blocked_clients]
    } {{bz a 1} 1 {bz b 2} 0}

    test "A blocked client is served by ZUNIONSTORE, ZRANGESTORE and RENAME onto its key" {
        r del bz src
        r zadd src 1 a 2 b 3 c
        set rd [zblock_client bzpopmin bz 0]
        r zunionstore bz 1 src
        set a [$rd read]
        r del bz
        set rd [zblock_client bzpopmax bz 0]
        r zrangestore bz src 0 0
        set b [$rd read]
        set rd [zblock_client bzpopmin bz 0]
        r rename src bz
        list $a $b [$rd read] [r zrange bz 0 -1]
    } {{bz a 1} {bz a 1} {bz a 1} {b c}}

    test "BZPOPMIN times out with nil after about its timeout" {
        r del bz
        set rd [redis_deferring_client]
        set t0 [clock milliseconds]
        $rd bzpopmin bz 0.2
        set v [$rd read]
        set ms [expr {[clock milliseconds] - $t0}]
        list $v [expr {$ms >= 150}] [expr {$ms < 3000}]
    } {{} 1 1}

    test "BZMPOP times out with nil" {
        r del bz bz2
        set rd [redis_deferring_client]
        $rd bzmpop 0.1 2 bz bz2 min
        $rd read
    } {}

    test "Inside MULTI a blocking pop on empty keys answers nil at once" {
        r del bz
        r multi
        r bzpopmin bz 0
        r bzmpop 0 1 bz max
        r zadd bz 1 a
        r bzpopmax bz 0
        r exec
    } {{} {} 1 {bz a 1}}

    test "A key of another type does not serve a waiting client; a sorted set later does" {
        r del bz
        set rd [zblock_client bzpopmin bz 0]
        r set bz str
        after 50
        set blocked [s blocked_clients]
        r del bz
        r zadd bz 1 a
        list $blocked [$rd read]
    } {1 {bz a 1}}

    test "A client that disconnects while blocked is forgotten; one still blocked at shutdown is freed" {
        r del bz
        set rd [zblock_client bzpopmin bz 0]
        $rd close
        wait_for {[s blocked_clients] == 0}
        r zadd bz 1 a
        set left [zblock_client bzmpop 0 2 bz-none bz-none2 min count 3]
        list [r zcard bz] [s blocked_clients]
    } {1 1}

    test "RESP3: a served BZPOPMIN has a double score" {
        r del bz
        set rd [redis_deferring_client]
        $rd hello 3
        $rd read
        set before [s blocked_clients]
        $rd bzpopmin bz 0
        wait_for {[s blocked_clients] == $before + 1}
        r zadd bz 1.5 a
        $rd readraw 1
        list [$rd read] [$rd read] [$rd read] [$rd read] [$rd read] [$rd read]
    } {*3 {$2} bz {$1} a ,1.5}
}

start_server {tags {zset}} {
    proc setup_zops {} {
        r del u1 u2 s1 d inf1 inf2
        r zadd u1 1 a 2 b 3 c
        r zadd u2 1 b 2 c 3 d
        r sadd s1 c d e
        r zadd inf1 inf a
        r zadd inf2 -inf a
    }

    test "ZUNION, ZINTER, ZDIFF with and without scores" {
        setup_zops
        list [r zunion 2 u1 u2] [r zunion 2 u1 u2 withscores] [r zinter 2 u1 u2 withscores] \
            [r zdiff 2 u1 u2 withscores] [r zdiff 2 u2 u1] [r zunion 1 u1]
    } {{a b d c} {a 1 b 3 d 3 c 5} {b 3 c 5} {a 1} d {a b c}}

    test "WEIGHTS and AGGREGATE" {
        setup_zops
        list [r zunion 2 u1 u2 weights 2 3 withscores] [r zunion 2 u1 u2 aggregate min withscores] \
            [r zunion 2 u1 u2 aggregate max withscores] [r zinter 2 u1 u2 weights 1 -1 withscores] \
            [r zinter 2 u1 u2 weights 0.5 0.5 aggregate max withscores]
    } {{a 2 b 7 d 9 c 12} {a 1 b 1 c 2 d 3} {a 1 b 2 c 3 d 3} {b 1 c 1} {b 1 c 1.5}}

    test "Plain sets count as sorted sets with score 1" {
        setup_zops
        list [r zunion 2 u1 s1 withscores] [r zinter 2 u2 s1 withscores] [r zdiff 2 u2 s1] [r zdiff 2 s1 u2 withscores] \
            [r zinter 2 s1 s1 weights 2 3 withscores]
    } {{a 1 d 1 e 1 b 2 c 4} {c 3 d 4} b {e 1} {c 5 d 5 e 5}}

    test "Missing keys are empty inputs" {
        setup_zops
        list [r zunion 2 u1 nokey withscores] [r zinter 2 u1 nokey] [r zdiff 2 nokey u1] [r zdiff 2 u1 nokey] \
            [r zunion 1 nokey]
    } {{a 1 b 2 c 3} {} {} {a b c} {}}

    test "inf - inf and 0 * inf aggregate to 0" {
        setup_zops
        list [r zunion 2 inf1 inf2 withscores] [r zinter 2 inf1 inf2 withscores] \
            [r zunion 1 inf1 weights 0 withscores] [r zunion 2 inf1 inf2 aggregate max withscores]
    } {{a 0} {a 0} {a 0} {a inf}}

    test "ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE" {
        setup_zops
        set out [list [r zunionstore d 2 u1 u2] [r zrange d 0 -1 withscores] [r object encoding d]]
        lappend out [r zinterstore d 2 u1 u2 weights 1 2] [r zrange d 0 -1 withscores]
        lappend out [r zdiffstore d 2 u1 u2] [r zrange d 0 -1 withscores]
        lappend out [r zinterstore d 2 u1 nokey] [r exists d]
        r set d str
        lappend out [r zunionstore d 1 u1] [r type d]
        lappend out [r zunionstore u1 2 u1 u2] [r zrange u1 0 -1 withscores]
    } {4 {a 1 b 3 d 3 c 5} listpack 2 {b 4 c 7} 1 {a 1} 0 0 3 zset 4 {a 1 b 3 d 3 c 5}}

    test "ZUNIONSTORE of big inputs makes a skiplist" {
        r del b1 b2 d
        set m1 {}
        set m2 {}
        for {set i 0} {$i < 150} {incr i} {
            lappend m1 $i a$i
            lappend m2 $i b$i
        }
        r zadd b1 {*}$m1
        r zadd b2 {*}$m2
        list [r zunionstore d 2 b1 b2] [r object encoding d] [r zrange d 0 3] [r zinterstore d 2 b1 b2] [r exists d]
    } {300 skiplist {a0 b0 a1 b1} 0 0}

    test "ZINTERCARD" {
        setup_zops
        list [r zintercard 2 u1 u2] [r zintercard 2 u1 u2 limit 1] [r zintercard 2 u1 u2 limit 0] \
            [r zintercard 2 u1 s1] [r zintercard 2 u1 nokey] [r zintercard 1 u1]
    } {2 1 2 1 0 3}

    test "ZUNION, ZINTER, ZDIFF, ZINTERCARD errors" {
        setup_zops
        r set str x
        set out {}
        foreach cmd {{zunion 0 u1} {zunion -1 u1} {zunion x u1} {zunion 3 u1 u2} {zunion 2 u1 u2 weights 2}
                     {zunion 2 u1 u2 weights 2 x} {zunion 2 u1 u2 aggregate foo} {zunion 2 u1 u2 aggregate}
                     {zunion 2 u1 u2 foo} {zdiff 2 u1 u2 weights 1 1} {zdiff 2 u1 u2 aggregate min}
                     {zunionstore d 2 u1 u2 withscores} {zunionstore d 0 u1} {zunion 2 u1 str} {zinter 2 str u1}
                     {zdiff 2 nokey str} {zunionstore d 1 str} {zintercard 0 u1} {zintercard x u1}
                     {zintercard 3 u1 u2} {zintercard 2 u1 u2 limit -1} {zintercard 2 u1 u2 limit x}
                     {zintercard 2 u1 u2 limit} {zintercard 2 u1 u2 weights 1 1} {zintercard 1 str}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list $out [r exists d]
    } {{{ERR at least 1 input key is needed for 'zunion' command} {ERR at least 1 input key is needed for 'zunion' command} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR weight value is not a float} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR at least 1 input key is needed for 'zunionstore' command} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} {ERR at least 1 input key is needed for 'zintercard' command} {ERR value is not an integer or out of range} {ERR syntax error} {ERR LIMIT can't be negative} {ERR LIMIT can't be negative} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value}} 0}

    test "ZRANDMEMBER errors and a huge count" {
        r del z
        r zadd z 1 a 2 b
        set out {}
        foreach cmd {{zrandmember z x} {zrandmember z 1 foo} {zrandmember z 1 withscores foo}
                     {zrandmember z -9223372036854775808} {zrandmember z -9223372036854775807 withscores}
                     {zrandmember z 4611686018427387904 withscores}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        lappend out [lsort [r zrandmember z 9223372036854775807]]
    } {{ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807} {ERR value is out of range} {ERR value is out of range} {a b}}

    test "ZSCAN MATCH, compact cursor 0, and errors" {
        r del z
        r zadd z 1 apple 2 banana 3 avocado
        r set str x
        set out [list [r zscan z 0] [r zscan z 0 match a*]]
        foreach cmd {{zscan z x} {zscan z 0 count 0} {zscan z 0 foo} {zscan str 0}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{0 {apple 1 banana 2 avocado 3}} {0 {apple 1 avocado 3}} {ERR invalid cursor} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "Sorted set commands against a string key: WRONGTYPE" {
        r set str x
        set out {}
        foreach cmd {{zadd str 1 a} {zincrby str 1 a} {zrem str a} {zcard str} {zscore str a} {zmscore str a}
                     {zrank str a} {zrevrank str a} {zcount str 0 1} {zlexcount str - +} {zrange str 0 1}
                     {zrangebyscore str 0 1} {zrevrangebyscore str 1 0} {zrangebylex str - +}
                     {zrevrangebylex str + -} {zrevrange str 0 1} {zrangestore d str 0 1}
                     {zremrangebyrank str 0 1} {zremrangebyscore str 0 1} {zremrangebylex str - +}
                     {zpopmin str} {zpopmax str 2} {zrandmember str} {zrandmember str 2} {zscan str 0}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list [lsort -unique $out] [r get str] [r exists d]
    } {{{WRONGTYPE Operation against a key holding the wrong kind of value}} x 0}

    test "Sorted set commands against a set key: WRONGTYPE, and sets against zset commands" {
        r del s z
        r sadd s a
        r zadd z 1 a
        set out {}
        foreach cmd {{zadd s 1 a} {zrange s 0 1} {zscore s a} {sadd z a} {smembers z} {sismember z a}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        lsort -unique $out
    } {{WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "Sorted set commands: wrong number of arguments" {
        set out {}
        foreach cmd {{zadd z} {zadd z 1} {zincrby z 1} {zrem z} {zcard} {zcount z 0} {zlexcount z -} {zscore z}
                     {zmscore z} {zrank z} {zrevrank z} {zrange z 0} {zrangestore d z 0} {zrangebyscore z 0}
                     {zrevrangebyscore z 0} {zrangebylex z -} {zrevrangebylex z +} {zrevrange z 0}
                     {zremrangebyrank z 0} {zremrangebyscore z 0} {zremrangebylex z -} {zpopmin} {zpopmax}
                     {zmpop 1 z} {bzpopmin z} {bzpopmax z} {bzmpop 0 1 z} {zunion 1} {zinter 1} {zdiff 1}
                     {zunionstore d 1} {zinterstore d 1} {zdiffstore d 1} {zintercard 1} {zrandmember} {zscan z}} {
            catch {r {*}$cmd} e
            lappend out [lindex $e end-1]
        }
        set out
    } {'zadd' 'zadd' 'zincrby' 'zrem' 'zcard' 'zcount' 'zlexcount' 'zscore' 'zmscore' 'zrank' 'zrevrank' 'zrange' 'zrangestore' 'zrangebyscore' 'zrevrangebyscore' 'zrangebylex' 'zrevrangebylex' 'zrevrange' 'zremrangebyrank' 'zremrangebyscore' 'zremrangebylex' 'zpopmin' 'zpopmax' 'zmpop' 'bzpopmin' 'bzpopmax' 'bzmpop' 'zunion' 'zinter' 'zdiff' 'zunionstore' 'zinterstore' 'zdiffstore' 'zintercard' 'zrandmember' 'zscan'}

    test "Generic commands on sorted sets: TYPE, COPY, RENAME, SCAN TYPE, MEMORY USAGE" {
        r flushall
        r zadd z 1 a 2 b
        r set str x
        set out [list [r type z] [r scan 0 type zset] [r copy z z2]]
        r zadd z2 3 c
        r zincrby z2 10 a
        lappend out [r zrange z 0 -1 withscores] [r zrange z2 0 -1 withscores]
        r rename z2 z3
        lappend out [r exists z2] [r zcard z3] [expr {[r memory usage z] > 0}] [r del z z3] [r exists z]
    } {zset {0 z} 1 {a 1 b 2} {b 2 c 3 a 11} 0 3 1 2 0}

    test "COPY of a skiplist is deep" {
        r del z z2
        set m {}
        for {set i 0} {$i < 300} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        r copy z z2
        r zrem z2 m0
        r zincrby z2 1000 m1
        list [r object encoding z2] [r zscore z m1] [r zscore z2 m1] [r zcard z] [r zcard z2] [r zrank z2 m1] \
            [expr {[r memory usage z] > 10000}]
    } {skiplist 1 1001 300 299 298 1}
}

start_server {tags {zset resp3}} {
    test "RESP3: scores are doubles, WITHSCORES pairs are nested" {
        r del z
        r zadd z 1 a 2.5 b
        list [resp3_header zscore z b] [resp3 zscore z b] [resp3 zrange z 0 -1 withscores] \
            [resp3_header zrange z 0 -1 withscores] [resp3 zrangebyscore z -inf +inf withscores] \
            [resp3 zunion 1 z withscores] [lsort [resp3 zrandmember z 5 withscores]] [resp3 zmscore z a nope] \
            [resp3 zincrby z 1 a]
    } {,2.5 2.5 {{a 1} {b 2.5}} *2 {{a 1} {b 2.5}} {{a 1} {b 2.5}} {{a 1} {b 2.5}} {1 {}} 2}

    test "RESP3: ZPOPMIN is flat without count and nested with it" {
        r del z
        r zadd z 1 a 2 b 3 c 4 d
        list [resp3 zpopmin z] [resp3 zpopmax z 1] [resp3 zmpop 1 z min] [resp3 bzpopmin z 0]
    } {{a 1} {{d 4}} {z {{b 2}}} {z c 3}}

    test "RESP3: ZSCAN scores are bulk strings, ZRANGE without scores an array" {
        r del z
        r zadd z 1.5 a
        list [resp3 zscan z 0] [resp3_header zrange z 0 -1] [resp3_header zmpop 1 nokey min]
    } {{0 {a 1.5}} *1 _}
}

start_server {tags {zset phenix-only}} {
    test "ZRANK and ZREVRANK WITHSCORE (Redis 7.2)" {
        r del z
        r zadd z 1 a 2.5 b
        set out [list [r zrank z b withscore] [r zrevrank z b WITHSCORE] [r zrank z nope withscore] \
            [r zrank nokey a withscore] [resp3 zrank z a withscore]]
        catch {r zrank z a foo} e; lappend out $e
        catch {r zrank z a withscore x} e; lappend out $e
    } {{1 2.5} {0 2.5} {} {} {0 1} {ERR syntax error} {ERR wrong number of arguments for 'zrank' command}}

    test "RESP3: a missing member with WITHSCORE is a null" {
        r del z
        r zadd z 1 a
        resp3_header zrank z nope withscore
    } {_}
}

start_server {tags {zset big}} {
    test "Ranks on 10k members: ZRANK, ZREVRANK, ZRANGE slices, ZCOUNT" {
        r del z
        set m {}
        for {set i 0} {$i < 10000} {incr i} { lappend m [expr {$i * 2}] m$i }
        r zadd z {*}$m
        set bad 0
        for {set i 0} {$i < 10000} {incr i 97} {
            if {[r zrank z m$i] != $i} { incr bad }
            if {[r zrevrank z m$i] != 9999 - $i} { incr bad }
            if {[r zrange z $i $i] ne "m$i"} { incr bad }
            if {[r zcount z 0 [expr {$i * 2}]] != $i + 1} { incr bad }
            if {[r zcount z ([expr {$i * 2}] +inf] != 9999 - $i} { incr bad }
        }
        list $bad [r zcard z] [r object encoding z] [r zrange z 5000 5002 withscores] [r zrange z -2 -1]
    } {0 10000 skiplist {m5000 10000 m5001 10002 m5002 10004} {m9998 m9999}}

    test "Deep LIMIT offsets and reverse ranges on 10k members" {
        list [r zrangebyscore z -inf +inf limit 7000 3] [r zrevrangebyscore z +inf -inf limit 7000 3] \
            [r zrange z (100 +inf byscore limit 10 2 withscores] [r zrange z 10000 (9000 byscore rev limit 2 2]
    } {{m7000 m7001 m7002} {m2999 m2998 m2997} {m61 122 m62 124} {m4998 m4997}}

    test "Removing a range in the middle keeps ranks right" {
        set removed [r zremrangebyrank z 1000 1999]
        set bad 0
        foreach i {0 999 2000 5000 9999} {
            set want [expr {$i < 1000 ? $i : $i - 1000}]
            if {[r zrank z m$i] != $want} { incr bad }
        }
        list $removed $bad [r zcard z] [r zrank z m1500] [r zremrangebyscore z (4000 6000] [r zcard z] \
            [r zrange z 1000 1001]
    } {1000 0 9000 {} 1000 8000 {m2000 m3001}}

    test "Score updates move members: ZINCRBY on 10k members" {
        r zincrby z -100000 m9999
        r zincrby z 100000 m0
        list [r zrank z m9999] [r zrevrank z m0] [r zrange z 0 1] [r zscore z m0]
    } {0 0 {m9999 m1} 100000}

    test "ZSCAN of 10k members returns each with its score" {
        r del z
        set m {}
        for {set i 0} {$i < 10000} {incr i} { lappend m $i m$i }
        r zadd z {*}$m
        set cur 0
        unset -nocomplain seen
        set bad 0
        while 1 {
            lassign [r zscan z $cur count 200] cur items
            foreach {k v} $items {
                if {"m$v" ne $k} { incr bad }
                set seen($k) 1
            }
            if {$cur == 0} break
        }
        set res [list $bad [array size seen]]
        unset seen
        set res
    } {0 10000}

    test "ZUNIONSTORE and ZINTERSTORE of 10k-member sets" {
        r del z2 d
        set m {}
        for {set i 5000} {$i < 15000} {incr i} { lappend m 1 m$i }
        r zadd z2 {*}$m
        list [r zunionstore d 2 z z2] [r zscore d m4999] [r zscore d m5000] [r zinterstore d 2 z z2 aggregate max] \
            [r zrange d 0 0 withscores] [r zintercard 2 z z2 limit 100]
    } {15000 4999 5001 5000 {m5000 5000} 100}

    foreach {enc n} {listpack 100 skiplist 1000} {
        test "Random operations against a Tcl model ($enc)" {
            r del z
            unset -nocomplain model
            array set model {}
            set bad 0
            for {set i 0} {$i < 3000} {incr i} {
                set k m[expr {int(rand() * $n)}]
                set s [expr {int(rand() * 40) / 2.0 - 10}]
                switch [expr {int(rand() * 4)}] {
                    0 {
                        set want [expr {![info exists model($k)]}]
                        if {[r zadd z $s $k] != $want} { incr bad }
                        set model($k) $s
                    }
                    1 {
                        set want [info exists model($k)]
                        if {[r zrem z $k] != $want} { incr bad }
                        unset -nocomplain model($k)
                    }
                    2 {
                        set new [r zincrby z $s $k]
                        set model($k) [expr {([info exists model($k)] ? $model($k) : 0) + $s}]
                        if {$new != $model($k)} { incr bad }
                    }
                    3 {
                        set got [r zscore z $k]
                        if {$got ne "" ? ![info exists model($k)] || $got != $model($k) : [info exists model($k)]} {
                            incr bad
                        }
                    }
                }
            }
            # the expected order: by score, then by member bytes
            set pairs {}
            foreach k [array names model] { lappend pairs [list $model($k) $k] }
            set want {}
            foreach p [lsort -command {apply {{a b} {
                set c [expr {[lindex $a 0] < [lindex $b 0] ? -1 : ([lindex $a 0] > [lindex $b 0] ? 1 : 0)}]
                if {$c == 0} { set c [string compare [lindex $a 1] [lindex $b 1]] }
                return $c
            }}} $pairs] { lappend want [lindex $p 1] }
            set ranks_ok 1
            set i 0
            foreach k $want {
                if {$i % 13 == 0 && [r zrank z $k] != $i} { set ranks_ok 0 }
                incr i
            }
            unset model
            list $bad [expr {[r zrange z 0 -1] eq $want}] $ranks_ok [r object encoding z]
        } [list 0 1 1 $enc]
    }
}

# Sets: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
# SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN, every error reply
# (arity, WRONGTYPE, syntax, out of range), the three encodings and their
# conversions, big sets (10k members), RESP3 reply types and the generic key
# commands on sets (TYPE, COPY, RENAME, SCAN TYPE, MEMORY USAGE).
#
# Encodings: Phenix follows Redis 7.2 (intset, listpack for small sets of short
# strings, hashtable); the reference redis-server 7.0 has no set listpack, so the
# expected encoding of a small string set comes from small_set_encoding below and
# tests of listpack-only behaviour are tagged phenix-only.

# The encoding of a small set of short strings: listpack (Redis 7.2, Phenix) or
# hashtable (Redis 7.0).
proc small_set_encoding {} {
    expr {$::redis_mode ? "hashtable" : "listpack"}
}

# Creates key as a set in the given encoding holding members plus, for
# hashtable, enough filler strings to force it; returns the full member list.
proc create_set {key enc members} {
    r del $key
    set all $members
    if {$enc eq "hashtable"} {
        for {set i 0} {$i < 200} {incr i} { lappend all filler:$i }
    }
    r sadd $key {*}$all
    assert_encoding $enc $key
    return $all
}

# The first line of the RESP3 reply to cmd (its type and length), read raw
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

proc set_encodings {} {
    expr {$::redis_mode ? {intset hashtable} : {intset listpack hashtable}}
}

# Members for an encoding: integers for intset, strings otherwise.
proc sample_members {enc} {
    expr {$enc eq "intset" ? {1 2 3 17 -5} : {a b c 17 -5}}
}

start_server {tags {set}} {
    test "SADD, SCARD, SMEMBERS, SISMEMBER on a new set" {
        r del s
        list [r sadd s a b c] [r sadd s c d] [r scard s] [lsort [r smembers s]] \
            [r sismember s a] [r sismember s z]
    } {3 1 4 {a b c d} 1 0}

    test "SADD reports only new members, duplicates in one call count once" {
        r del s
        list [r sadd s x x y x] [r sadd s x y] [r scard s]
    } {2 0 2}

    test "Commands on a missing key" {
        r del nokey
        list [r scard nokey] [r smembers nokey] [r sismember nokey a] [r smismember nokey a b] \
            [r srem nokey a] [r spop nokey] [r srandmember nokey] [r spop nokey 3] \
            [r srandmember nokey 3] [r sinter nokey] [r sunion nokey] [r sdiff nokey] \
            [r sintercard 1 nokey] [r sscan nokey 0] [r exists nokey]
    } {0 {} 0 {0 0} 0 {} {} {} {} {} {} {} 0 {0 {}} 0}

    test "SADD of integers makes an intset" {
        r del s
        r sadd s 1 2 3 -100 9223372036854775807 -9223372036854775808
        list [r object encoding s] [lsort -integer [r smembers s]]
    } {intset {-9223372036854775808 -100 1 2 3 9223372036854775807}}

    test "Non-canonical integers are strings, not intset members" {
        set out {}
        foreach m {01 +1 -0 { 1} 1.0 9223372036854775808 -9223372036854775809} {
            r del s
            r sadd s $m
            lappend out [r object encoding s]
        }
        lsort -unique $out
    } [list [small_set_encoding]]

    test "An intset member and the same digits with a leading zero are distinct" {
        r del s
        r sadd s 1
        list [r sadd s 01] [r sismember s 01] [r sismember s 1] [r scard s] [r srem s 01] [r smembers s]
    } {1 1 1 2 1 1}

    test "SADD of short strings makes a [small_set_encoding]" {
        r del s
        r sadd s a b c
        r object encoding s
    } [small_set_encoding]

    test "An intset converts to hashtable past 512 members" {
        r del s
        set m {}
        for {set i 0} {$i < 512} {incr i} { lappend m $i }
        r sadd s {*}$m
        set e1 [r object encoding s]
        r sadd s 512
        list $e1 [r object encoding s] [r scard s] [r sismember s 511] [r sismember s 512]
    } {intset hashtable 513 1 1}

    test "SADD of more than 512 integers at once makes a hashtable" {
        r del s
        set m {}
        for {set i 0} {$i < 600} {incr i} { lappend m $i }
        r sadd s {*}$m
        list [r object encoding s] [r scard s]
    } {hashtable 600}

    test "A big intset gets a string: hashtable" {
        r del s
        set m {}
        for {set i 0} {$i < 300} {incr i} { lappend m $i }
        r sadd s {*}$m
        r sadd s hello
        list [r object encoding s] [r scard s] [r sismember s hello] [r sismember s 299]
    } {hashtable 301 1 1}

    test "More than 128 short strings make a hashtable" {
        r del s
        set m {}
        for {set i 0} {$i < 129} {incr i} { lappend m m$i }
        r sadd s {*}$m
        list [r object encoding s] [r scard s]
    } {hashtable 129}

    test "A member longer than 64 bytes makes a hashtable" {
        r del s
        r sadd s a [string repeat x 65]
        list [r object encoding s] [r sismember s [string repeat x 65]]
    } {hashtable 1}

    test "Binary-safe members" {
        r del s
        set m "a\x00b\r\nc"
        list [r sadd s $m "\xff" ""] [r sismember s $m] [r sismember s ""] [r sismember s "a"] \
            [expr {[lsearch -exact [r smembers s] $m] >= 0}]
    } {3 1 1 0 1}
}

start_server {tags {set phenix-only}} {
    test "An intset gets a short string: listpack with the integers kept" {
        r del s
        r sadd s 1 2 3
        r sadd s a
        list [r object encoding s] [lsort [r smembers s]] [r sismember s 2] [r sismember s a]
    } {listpack {1 2 3 a} 1 1}

    test "A listpack converts to hashtable at 129 members" {
        r del s
        for {set i 0} {$i < 128} {incr i} { r sadd s m$i }
        set e1 [r object encoding s]
        r sadd s m128
        list $e1 [r object encoding s] [r scard s]
    } {listpack hashtable 129}

    test "A listpack gets a 65-byte member: hashtable" {
        r del s
        r sadd s a b
        set e1 [r object encoding s]
        r sadd s [string repeat y 64]
        set e2 [r object encoding s]
        r sadd s [string repeat y 65]
        list $e1 $e2 [r object encoding s] [r scard s]
    } {listpack listpack hashtable 4}

    test "A 200-member SADD to a small listpack converts it at once" {
        r del s
        r sadd s a
        set m {}
        for {set i 0} {$i < 200} {incr i} { lappend m a }
        r sadd s {*}$m
        list [r object encoding s] [r scard s]
    } {hashtable 1}

    test "A listpack holding integers and strings answers SISMEMBER for both" {
        r del s
        r sadd s x 10 -7 0 y
        list [r sismember s 10] [r sismember s -7] [r sismember s 0] [r sismember s 010] [r sismember s y] \
            [r smismember s 10 x 11]
    } {1 1 1 0 1 {1 1 0}}
}

start_server {tags {set}} {
    foreach enc [set_encodings] {
        test "SISMEMBER, SMISMEMBER, SREM on $enc" {
            set all [create_set s $enc [sample_members $enc]]
            set m [sample_members $enc]
            set out [list [r sismember s [lindex $m 0]] [r sismember s nope] [r sismember s 4] \
                [r smismember s [lindex $m 1] nope [lindex $m 2]]]
            lappend out [r srem s [lindex $m 0] nope [lindex $m 1]] [r scard s] \
                [r sismember s [lindex $m 0]] [expr {[r scard s] == [llength $all] - 2}]
        } [list 1 0 0 {1 0 1} 2 [expr {$enc eq "hashtable" ? 203 : 3}] 0 1]

        test "SREM of every member deletes the key ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            list [r srem s {*}$all nope] [r exists s] [r scard s]
        } [list [llength [create_set tmp $enc [sample_members $enc]]] 0 0]

        test "SMEMBERS returns every member once ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            expr {[lsort [r smembers s]] eq [lsort $all]}
        } {1}

        test "SPOP without count removes one random member ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            set popped {}
            for {set i 0} {$i < [llength $all]} {incr i} { lappend popped [r spop s] }
            list [expr {[lsort $popped] eq [lsort $all]}] [r exists s] [r spop s]
        } {1 0 {}}

        test "SPOP with count ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            set n [llength $all]
            set a [r spop s 2]
            set b [r spop s 0]
            set rest [r spop s [expr {$n * 2}]]
            list [llength $a] $b [expr {[lsort [concat $a $rest]] eq [lsort $all]}] [r exists s]
        } {2 {} 1 0}

        test "SRANDMEMBER without and with count ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            set n [llength $all]
            set one [r srandmember s]
            set three [r srandmember s 3]
            set every [r srandmember s [expr {$n + 5}]]
            set neg [r srandmember s -20]
            set ok [expr {[lsearch -exact $all $one] >= 0}]
            foreach m [concat $three $neg] { if {[lsearch -exact $all $m] < 0} { set ok 0 } }
            list $ok [llength $three] [llength [lsort -unique $three]] \
                [expr {[lsort $every] eq [lsort $all]}] [llength $neg] [r scard s] [r srandmember s 0]
        } [list 1 3 3 1 20 [llength [create_set tmp $enc [sample_members $enc]]] {}]

        test "SRANDMEMBER with a negative count can return every member ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            unset -nocomplain seen
            set seen {}
            for {set i 0} {$i < 50 && [llength $seen] < [llength $all]} {incr i} {
                set seen [lsort -unique [concat $seen [r srandmember s -500]]]
            }
            expr {$seen eq [lsort $all]}
        } {1}

        test "SSCAN returns every member ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            set cur 0
            set got {}
            set calls 0
            while 1 {
                lassign [r sscan s $cur count 7] cur items
                lappend got {*}$items
                incr calls
                if {$cur == 0 || $calls > 1000} break
            }
            expr {[lsort -unique $got] eq [lsort $all]}
        } {1}
    }

    # Popping most of a set rebuilds the rest, which then gets a compact encoding.
    test "SPOP count on a big set: large and small counts, no duplicates" {
        r del s
        set m {}
        for {set i 0} {$i < 1000} {incr i} { lappend m e$i }
        r sadd s {*}$m
        set a [r spop s 900]
        set b [r spop s 10]
        set rest [r smembers s]
        list [llength $a] [llength [lsort -unique $a]] [llength $b] [r scard s] \
            [expr {[lsort [concat $a $b $rest]] eq [lsort $m]}] [r object encoding s]
    } [list 900 900 10 90 1 [small_set_encoding]]

    test "SPOP of everything from a big intset" {
        r del s
        set m {}
        for {set i 0} {$i < 400} {incr i} { lappend m $i }
        r sadd s {*}$m
        set a [r spop s 399]
        set b [r spop s 5]
        list [llength $a] [llength $b] [r exists s] [expr {[lsort -integer [concat $a $b]] eq $m}]
    } {399 1 0 1}

    test "SRANDMEMBER with a count: distribution covers a big set" {
        r del s
        set m {}
        for {set i 0} {$i < 1000} {incr i} { lappend m e$i }
        r sadd s {*}$m
        set few [r srandmember s 10]
        set many [r srandmember s 900]
        list [llength [lsort -unique $few]] [llength [lsort -unique $many]] [r scard s]
    } {10 900 1000}

    test "SPOP and SRANDMEMBER errors" {
        r del s
        r sadd s a b
        set out {}
        foreach cmd {{spop s -1} {spop s x} {spop s 1.5} {spop s 1 2} {srandmember s x} {srandmember s 1 2}
                     {srandmember s -9223372036854775808}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR value is out of range, must be positive} {ERR value is out of range, must be positive} {ERR value is out of range, must be positive} {ERR syntax error} {ERR value is not an integer or out of range} {ERR syntax error} {ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807}}

    test "SRANDMEMBER with a huge positive count returns the set" {
        r del s
        r sadd s a b c
        lsort [r srandmember s 9223372036854775807]
    } {a b c}

    test "SMOVE moves a member and creates the destination" {
        r del src dst
        r sadd src a b 1
        list [r smove src dst a] [r smove src dst nope] [lsort [r smembers src]] [r smembers dst] \
            [r smove src dst 1] [lsort [r smembers dst]]
    } {1 0 {1 b} a 1 {1 a}}

    test "SMOVE of the last member deletes the source" {
        r del src dst
        r sadd src only
        list [r smove src dst only] [r exists src] [r smembers dst]
    } {1 0 only}

    test "SMOVE of a member already in the destination" {
        r del src dst
        r sadd src a b
        r sadd dst a
        list [r smove src dst a] [r smembers src] [r smembers dst]
    } {1 b a}

    test "SMOVE into an intset converts it for a string member" {
        r del src dst
        r sadd src hello
        r sadd dst 1 2
        r smove src dst hello
        list [lsort [r smembers dst]] [r object encoding dst]
    } [list {1 2 hello} [small_set_encoding]]

    test "SMOVE with the same source and destination" {
        r del s
        r sadd s a b
        list [r smove s s a] [r smove s s z] [lsort [r smembers s]]
    } {1 0 {a b}}

    test "SMOVE from a missing key, and WRONGTYPE" {
        r del nokey s
        r set str x
        r sadd s a
        set out [list [r smove nokey s a] [r smove nokey str a]]
        catch {r smove str s a} e; lappend out $e
        catch {r smove s str a} e; lappend out $e
        lappend out [r sismember s a]
    } {0 0 {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} 1}
}

start_server {tags {set}} {
    proc setup_algebra {} {
        r del a b c hs d
        r sadd a 1 2 3 4 5
        r sadd b 3 4 5 6 x
        r sadd c 4 5 x y
        set m {}
        for {set i 0} {$i < 200} {incr i} { lappend m $i }
        r sadd hs {*}$m
    }

    test "SINTER, SUNION, SDIFF" {
        setup_algebra
        list [lsort [r sinter a b]] [lsort [r sinter a b c]] [lsort [r sunion a b c]] \
            [lsort [r sdiff a b]] [lsort [r sdiff b a c]] [lsort [r sinter a hs]] [r sinter a]
    } {{3 4 5} {4 5} {1 2 3 4 5 6 x y} {1 2} 6 {1 2 3 4 5} {1 2 3 4 5}}

    test "Set algebra with missing keys" {
        setup_algebra
        list [r sinter a nokey] [lsort [r sunion a nokey]] [lsort [r sdiff a nokey]] [r sdiff nokey a] \
            [r sinter nokey]
    } {{} {1 2 3 4 5} {1 2 3 4 5} {} {}}

    test "Set algebra with the same key twice" {
        setup_algebra
        list [lsort [r sinter a a]] [r sdiff a a] [lsort [r sunion a a]]
    } {{1 2 3 4 5} {} {1 2 3 4 5}}

    test "SDIFF of a small set against a big one and of a big set against small ones" {
        setup_algebra
        list [r sdiff a hs] [llength [r sdiff hs a b]] [r sismember hs 6]
    } {{} 194 1}

    test "SINTERSTORE, SUNIONSTORE, SDIFFSTORE store and count" {
        setup_algebra
        set out [list [r sinterstore d a b] [lsort [r smembers d]] [r object encoding d]]
        lappend out [r sunionstore d a b c] [lsort [r smembers d]]
        lappend out [r sdiffstore d a b] [lsort [r smembers d]]
    } {3 {3 4 5} intset 8 {1 2 3 4 5 6 x y} 2 {1 2}}

    test "An empty result deletes the destination" {
        setup_algebra
        set out {}
        foreach cmd {{sinterstore d a nokey} {sdiffstore d a a} {sunionstore d nokey}} {
            r sadd d stale
            lappend out [r {*}$cmd] [r exists d]
        }
        set out
    } {0 0 0 0 0 0}

    test "The destination of S*STORE may hold another type, or be a source" {
        setup_algebra
        r set d str
        set out [list [r sunionstore d a] [r type d]]
        lappend out [r sinterstore a a b] [lsort [r smembers a]]
        lappend out [r sdiffstore b b a] [lsort [r smembers b]]
    } {5 set 3 {3 4 5} 2 {6 x}}

    test "A stored result gets the encoding its size calls for" {
        setup_algebra
        r sinterstore d hs a
        set e1 [r object encoding d]
        r sunionstore d b c
        list $e1 [r object encoding d] [r sdiffstore d hs a] [r object encoding d]
    } [list intset [small_set_encoding] 195 intset]

    test "SINTERCARD" {
        setup_algebra
        list [r sintercard 2 a b] [r sintercard 3 a b c] [r sintercard 2 a b limit 2] \
            [r sintercard 2 a b limit 0] [r sintercard 2 a b limit 100] [r sintercard 1 hs] \
            [r sintercard 2 a nokey] [r sintercard 2 a hs limit 3]
    } {3 2 2 3 3 200 0 3}

    test "SINTERCARD errors" {
        setup_algebra
        r set str x
        set out {}
        foreach cmd {{sintercard 0 a} {sintercard -1 a} {sintercard x a} {sintercard 2 a}
                     {sintercard 1 a limit -1} {sintercard 1 a limit x} {sintercard 1 a foo}
                     {sintercard 1 a limit} {sintercard 1 a str} {sintercard 2 a str} {sintercard 2 nokey str}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR Number of keys can't be greater than number of args} {ERR LIMIT can't be negative} {ERR LIMIT can't be negative} {ERR syntax error} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "Set algebra against a key of another type: WRONGTYPE even after a missing key" {
        setup_algebra
        r set str x
        set out {}
        foreach cmd {{sinter a str} {sinter nokey str} {sunion a str} {sdiff str a} {sdiff nokey str}
                     {sinterstore d a str} {sunionstore d str} {sdiffstore d a str}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list [lsort -unique $out] [r exists d]
    } {{{WRONGTYPE Operation against a key holding the wrong kind of value}} 0}
}

start_server {tags {set}} {
    test "SSCAN MATCH and COUNT on a hashtable" {
        r del s
        set m {}
        for {set i 0} {$i < 500} {incr i} { lappend m key:$i other:$i }
        r sadd s {*}$m
        set cur 0
        set got {}
        while 1 {
            lassign [r sscan s $cur match key:1* count 20] cur items
            lappend got {*}$items
            if {$cur == 0} break
        }
        llength [lsort -unique $got]
    } {111}

    test "SSCAN of a compact set returns everything with cursor 0" {
        r del s
        r sadd s 1 2 3 10 20
        list [lindex [r sscan s 0] 0] [lsort -integer [lindex [r sscan s 0] 1]] \
            [lsort -integer [lindex [r sscan s 0 match 1*] 1]]
    } {0 {1 2 3 10 20} {1 10}}

    test "SSCAN errors" {
        r del s
        r sadd s a
        r set str x
        set out {}
        foreach cmd {{sscan s x} {sscan s 18446744073709551616} {sscan s 0 count 0} {sscan s 0 count -1}
                     {sscan s 0 count x} {sscan s 0 foo} {sscan s 0 match} {sscan str 0}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR invalid cursor} {ERR invalid cursor} {ERR syntax error} {ERR syntax error} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "SSCAN accepts the cursors Redis accepts" {
        r del s
        r sadd s a
        list [lindex [r sscan s 18446744073709551615] 0] [lindex [r sscan s -1] 0] [lindex [r sscan s +0] 0]
    } {0 0 0}

    test "Set commands against a string key: WRONGTYPE" {
        r set str x
        set out {}
        foreach cmd {{sadd str a} {srem str a} {smembers str} {sismember str a} {smismember str a} {scard str}
                     {spop str} {spop str 2} {srandmember str} {srandmember str 2} {sinter str} {sunion str}
                     {sdiff str} {sscan str 0} {sintercard 1 str}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list [lsort -unique $out] [r get str]
    } {{{WRONGTYPE Operation against a key holding the wrong kind of value}} x}

    test "Set commands: wrong number of arguments" {
        set out {}
        foreach cmd {{sadd s} {srem s} {smembers} {smembers a b} {sismember s} {sismember s a b} {smismember s}
                     {scard} {spop} {srandmember} {smove a b} {sinter} {sintercard 1} {sinterstore d} {sunion}
                     {sunionstore d} {sdiff} {sdiffstore d} {sscan s}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR wrong number of arguments for 'sadd' command} {ERR wrong number of arguments for 'srem' command} {ERR wrong number of arguments for 'smembers' command} {ERR wrong number of arguments for 'smembers' command} {ERR wrong number of arguments for 'sismember' command} {ERR wrong number of arguments for 'sismember' command} {ERR wrong number of arguments for 'smismember' command} {ERR wrong number of arguments for 'scard' command} {ERR wrong number of arguments for 'spop' command} {ERR wrong number of arguments for 'srandmember' command} {ERR wrong number of arguments for 'smove' command} {ERR wrong number of arguments for 'sinter' command} {ERR wrong number of arguments for 'sintercard' command} {ERR wrong number of arguments for 'sinterstore' command} {ERR wrong number of arguments for 'sunion' command} {ERR wrong number of arguments for 'sunionstore' command} {ERR wrong number of arguments for 'sdiff' command} {ERR wrong number of arguments for 'sdiffstore' command} {ERR wrong number of arguments for 'sscan' command}}

    test "TYPE, EXISTS, DEL, SCAN TYPE on a set" {
        r flushall
        r sadd s a
        r set str x
        list [r type s] [r exists s] [r scan 0 type set] [r del s] [r exists s]
    } {set 1 {0 s} 1 0}

    foreach enc [set_encodings] {
        test "COPY makes an independent copy ($enc)" {
            set all [create_set s $enc [sample_members $enc]]
            r del s2
            r copy s s2
            r srem s2 [lindex $all 0]
            r sadd s2 newmember
            list [r object encoding s2] [r sismember s [lindex $all 0]] [r sismember s newmember] \
                [r scard s] [r scard s2]
        } [list [expr {$enc eq "intset" ? [small_set_encoding] : $enc}] 1 0 \
            [llength [create_set tmp $enc [sample_members $enc]]] [llength [create_set tmp $enc [sample_members $enc]]]]
    }

    test "RENAME keeps the set and its encoding" {
        r del s s2
        r sadd s 1 2 3
        r rename s s2
        list [r exists s] [lsort [r smembers s2]] [r object encoding s2]
    } {0 {1 2 3} intset}

    test "MEMORY USAGE of a set grows with its members" {
        r del s
        r sadd s a
        set small [r memory usage s]
        set m {}
        for {set i 0} {$i < 1000} {incr i} { lappend m member:$i }
        r sadd s {*}$m
        set big [r memory usage s]
        list [expr {$small > 0}] [expr {$big > $small + 10000}]
    } {1 1}
}

start_server {tags {set resp3}} {
    test "RESP3: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with count are sets on the wire" {
        r del s
        r sadd s a b c
        list [resp3_header smembers s] [resp3_header sinter s] [resp3_header sunion s] \
            [resp3_header sdiff s] [resp3_header smembers nokey] [resp3_header spop s 1]
    } {~3 ~3 ~3 ~3 ~0 ~1}

    test "RESP3: SRANDMEMBER with count is an array, SPOP of a missing key a null" {
        r del s
        r sadd s a b c
        list [resp3_header srandmember s 2] [resp3_header srandmember s -5] [resp3_header spop nokey] \
            [resp3_header sismember s a]
    } {*2 *5 _ :1}
}

start_server {tags {set big}} {
    test "A set of 10k members: SCARD, SISMEMBER, SMISMEMBER, SREM" {
        r del big
        set m {}
        for {set i 0} {$i < 10000} {incr i} { lappend m member:$i }
        set added [r sadd big {*}$m]
        set ok 0
        for {set i 0} {$i < 10000} {incr i 37} { incr ok [r sismember big member:$i] }
        list $added [r scard big] [r object encoding big] $ok [r smismember big member:0 member:9999 nope] \
            [r srem big member:0 member:1 nope] [r scard big]
    } {10000 10000 hashtable 271 {1 1 0} 2 9998}

    test "Set algebra on two 10k sets" {
        r del b1 b2
        set m1 {}
        set m2 {}
        for {set i 0} {$i < 10000} {incr i} {
            lappend m1 $i
            lappend m2 [expr {$i + 5000}]
        }
        r sadd b1 {*}$m1
        r sadd b2 {*}$m2
        list [llength [r sinter b1 b2]] [r sintercard 2 b1 b2] [r sintercard 2 b1 b2 limit 10] \
            [llength [r sunion b1 b2]] [r sdiffstore d b1 b2] [r sismember d 4999] [r sismember d 5000] \
            [r sunionstore u b1 b2]
    } {5000 5000 10 15000 5000 1 0 15000}

    test "SSCAN of a 10k set returns every member, also across a growth" {
        r del big
        set m {}
        for {set i 0} {$i < 10000} {incr i} { lappend m m$i }
        r sadd big {*}$m
        set cur 0
        set got {}
        set grown 0
        while 1 {
            lassign [r sscan big $cur count 100] cur items
            lappend got {*}$items
            if {!$grown} {
                set more {}
                for {set i 0} {$i < 10000} {incr i} { lappend more x$i }
                r sadd big {*}$more
                set grown 1
            }
            if {$cur == 0} break
        }
        unset -nocomplain seen
        set seen [lsort -unique $got]
        set missing 0
        foreach x $m { if {[lsearch -sorted -exact $seen $x] < 0} { incr missing } }
        set missing
    } {0}

    test "Random operations against a Tcl model" {
        r del s
        unset -nocomplain model
        array set model {}
        set bad 0
        for {set i 0} {$i < 3000} {incr i} {
            set v [expr {int(rand() * 300)}]
            if {rand() < 0.5} { set v s$v }
            switch [expr {int(rand() * 3)}] {
                0 {
                    set want [expr {![info exists model($v)]}]
                    if {[r sadd s $v] != $want} { incr bad }
                    set model($v) 1
                }
                1 {
                    set want [info exists model($v)]
                    if {[r srem s $v] != $want} { incr bad }
                    unset -nocomplain model($v)
                }
                2 {
                    if {[r sismember s $v] != [info exists model($v)]} { incr bad }
                }
            }
        }
        set res [list $bad [expr {[lsort [r smembers s]] eq [lsort [array names model]]}] \
            [expr {[r scard s] == [array size model]}]]
        unset model
        set res
    } {0 1 1}
}

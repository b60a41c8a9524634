# Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with count) LLEN LRANGE LINDEX LSET
# LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP, every error reply (arity,
# WRONGTYPE, syntax, out of range, not an integer), exact null/empty replies in
# RESP2 and RESP3, the generic key commands on lists (TYPE, OBJECT ENCODING,
# COPY, RENAME, MEMORY USAGE, SCAN TYPE), and random operation sequences checked
# against a Tcl model on lists big enough to span many nodes. Blocking commands
# are in list-blocking.tcl.

# The first line of the reply to a command, read raw: tells a null array (*-1)
# from an empty one (*0) and a null bulk ($-1). resp 3 asks for RESP3 first.
proc list_raw_reply {resp args} {
    set c [redis_client]
    if {$resp == 3} { $c hello 3 }
    $c readraw 1
    set line [$c {*}$args]
    $c close
    return $line
}

# Tcl model of LRANGE's index rules.
proc model_range {l start end} {
    set n [llength $l]
    if {$start < 0} { set start [expr {$n + $start}] }
    if {$end < 0} { set end [expr {$n + $end}] }
    if {$start < 0} { set start 0 }
    if {$start > $end || $start >= $n} { return {} }
    if {$end >= $n} { set end [expr {$n - 1}] }
    return [lrange $l $start $end]
}

start_server {tags {list}} {
    test "LPUSH and RPUSH return the new length and keep the order" {
        r del l
        list [r rpush l a] [r rpush l b c] [r lpush l x y] [r lrange l 0 -1]
    } {1 3 5 {y x a b c}}

    test "LPUSH with several elements pushes them one after the other" {
        r del l
        r lpush l a b c
        r lrange l 0 -1
    } {c b a}

    test "LPUSHX and RPUSHX do nothing on a missing key" {
        r del l
        list [r lpushx l a] [r rpushx l a b] [r exists l]
    } {0 0 0}

    test "LPUSHX and RPUSHX push on an existing list, several elements too" {
        r del l
        r rpush l m
        list [r lpushx l b a] [r rpushx l y z] [r lrange l 0 -1]
    } {3 5 {a b m y z}}

    test "LPOP and RPOP return one element" {
        r del l
        r rpush l a b c
        list [r lpop l] [r rpop l] [r lrange l 0 -1]
    } {a c b}

    test "LPOP and RPOP on a missing key return nil" {
        r del l
        list [r lpop l] [r rpop l] \
            [list_raw_reply 2 lpop l] [list_raw_reply 2 rpop l] [list_raw_reply 3 lpop l]
    } {{} {} {$-1} {$-1} _}

    test "LPOP and RPOP with a count" {
        r del l
        r rpush l a b c d e f
        list [r lpop l 2] [r rpop l 2] [r lpop l 1] [r lrange l 0 -1]
    } {{a b} {f e} c d}

    test "LPOP with a count bigger than the list returns it all and deletes the key" {
        r del l
        r rpush l a b c
        list [r lpop l 10] [r exists l]
    } {{a b c} 0}

    test "RPOP with a count returns the elements from the tail" {
        r del l
        r rpush l a b c
        r rpop l 5
    } {c b a}

    test "LPOP with count 0 replies an empty array on a list, null on a missing key" {
        r del l nol
        r rpush l a
        list [list_raw_reply 2 lpop l 0] [list_raw_reply 2 rpop l 0] [list_raw_reply 2 lpop nol 0] \
            [list_raw_reply 2 lpop nol 3] [list_raw_reply 3 lpop nol 3] [r llen l]
    } {*0 *0 *-1 *-1 _ 1}

    test "LPOP and RPOP count errors" {
        r del l
        r rpush l a
        set out {}
        foreach c {-1 x 1.5 {}} {
            catch {r lpop l $c} e
            lappend out $e
        }
        catch {r rpop l -5} e
        lappend out $e
        lappend out [r llen l]
        lsort -unique $out
    } {1 {ERR value is out of range, must be positive}}

    test "LPOP and RPOP: wrong number of arguments" {
        set out {}
        foreach cmd {{lpop} {lpop l 1 2} {rpop} {rpop l 1 2}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR wrong number of arguments for 'lpop' command} {ERR wrong number of arguments for 'lpop' command} {ERR wrong number of arguments for 'rpop' command} {ERR wrong number of arguments for 'rpop' command}}

    test "Popping the last element deletes the key" {
        r del l
        r rpush l a b
        r lpop l
        r rpop l
        list [r exists l] [r type l]
    } {0 none}

    test "LLEN" {
        r del l
        set a [r llen l]
        r rpush l a b c
        list $a [r llen l]
    } {0 3}

    test "LINDEX with positive and negative indexes" {
        r del l
        r rpush l a b c d
        list [r lindex l 0] [r lindex l 3] [r lindex l -1] [r lindex l -4] [r lindex l 4] [r lindex l -5]
    } {a d d a {} {}}

    test "LINDEX on a missing key and a bad index" {
        r del l nol
        r rpush l a
        set out [list [r lindex nol 0] [r lindex nol x] [list_raw_reply 2 lindex l 5]]
        catch {r lindex l x} e
        lappend out $e
    } {{} {} {$-1} {ERR value is not an integer or out of range}}

    test "LSET sets elements by index, negative too" {
        r del l
        r rpush l a b c
        list [r lset l 0 x] [r lset l -1 z] [r lset l 1 a-much-longer-element-than-before] [r lrange l 0 -1]
    } {OK OK OK {x a-much-longer-element-than-before z}}

    test "LSET errors: no such key, index out of range, not an integer" {
        r del l nol
        r rpush l a b
        set out {}
        catch {r lset nol 0 x} e; lappend out $e
        catch {r lset l 2 x} e; lappend out $e
        catch {r lset l -3 x} e; lappend out $e
        catch {r lset l x x} e; lappend out $e
        lappend out [r lrange l 0 -1]
    } {{ERR no such key} {ERR index out of range} {ERR index out of range} {ERR value is not an integer or out of range} {a b}}

    test "LRANGE index rules" {
        r del l
        r rpush l 0 1 2 3 4 5 6 7 8 9
        set out {}
        foreach {s e} {0 -1 0 0 2 4 -3 -1 -100 2 5 100 -1 -2 3 2 10 20 -20 -11 0 -11 -1 0 9 9} {
            lappend out [r lrange l $s $e]
        }
        set out
    } {{0 1 2 3 4 5 6 7 8 9} 0 {2 3 4} {7 8 9} {0 1 2} {5 6 7 8 9} {} {} {} {} {} {} 9}

    test "LRANGE on a missing key and with bad indexes" {
        r del l nol
        r rpush l a
        set out [list [r lrange nol 0 -1] [list_raw_reply 2 lrange nol 0 -1]]
        catch {r lrange l x 1} e; lappend out $e
        catch {r lrange l 0 y} e; lappend out $e
        catch {r lrange nol x 1} e; lappend out $e
    } {{} *0 {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range}}

    test "LTRIM keeps a range" {
        r del l
        r rpush l 0 1 2 3 4 5 6 7 8 9
        set out [list [r ltrim l 2 -3] [r lrange l 0 -1]]
        r ltrim l -2 100
        lappend out [r lrange l 0 -1]
    } {OK {2 3 4 5 6 7} {6 7}}

    test "LTRIM with an empty range deletes the key" {
        r del l
        r rpush l a b c
        set out [list [r ltrim l 2 1] [r exists l]]
        r rpush l a b c
        r ltrim l 5 10
        lappend out [r exists l]
        r rpush l a b c
        r ltrim l 0 -4
        lappend out [r exists l]
    } {OK 0 0 0}

    test "LTRIM on a missing key and with bad indexes" {
        r del nol
        set out [list [r ltrim nol 0 1] [r exists nol]]
        catch {r ltrim nol x 1} e; lappend out $e
        catch {r ltrim nol 0 1.5} e; lappend out $e
    } {OK 0 {ERR value is not an integer or out of range} {ERR value is not an integer or out of range}}

    test "LREM from the head, from the tail, and all" {
        r del l
        r rpush l a b a c a b a
        set out [list [r lrem l 2 a] [r lrange l 0 -1]]
        lappend out [r lrem l -1 b] [r lrange l 0 -1]
        lappend out [r lrem l 0 a] [r lrange l 0 -1]
        lappend out [r lrem l 0 zz] [r lrem l 5 zz]
    } {2 {b c a b a} 1 {b c a a} 2 {b c} 0 0}

    test "LREM with a negative count removes the last occurrences first" {
        r del l
        r rpush l x a x b x c x
        list [r lrem l -2 x] [r lrange l 0 -1]
    } {2 {x a x b c}}

    test "LREM removing every element deletes the key" {
        r del l
        r rpush l a a a
        list [r lrem l 0 a] [r exists l]
    } {3 0}

    test "LREM on a missing key and with a bad count" {
        r del nol
        set out [list [r lrem nol 1 a]]
        catch {r lrem nol x a} e; lappend out $e
    } {0 {ERR value is not an integer or out of range}}

    test "LINSERT BEFORE and AFTER" {
        r del l
        r rpush l a b c
        list [r linsert l before b x] [r linsert l after c y] [r linsert l BEFORE a z] [r linsert l After a w] \
            [r lrange l 0 -1]
    } {4 5 6 7 {z a w x b c y}}

    test "LINSERT uses the first occurrence of the pivot" {
        r del l
        r rpush l a b a
        r linsert l after a x
        r lrange l 0 -1
    } {a x b a}

    test "LINSERT with a missing pivot, on a missing key, with a bad position" {
        r del l nol
        r rpush l a
        set out [list [r linsert l before zz x] [r linsert nol before a x] [r exists nol]]
        catch {r linsert l middle a x} e; lappend out $e
        catch {r linsert nol middle a x} e; lappend out $e
        lappend out [r lrange l 0 -1]
    } {-1 0 0 {ERR syntax error} {ERR syntax error} a}

    test "LPOS finds the first match" {
        r del l
        r rpush l a b c 1 2 3 c c
        list [r lpos l c] [r lpos l zz] [r lpos l 1]
    } {2 {} 3}

    test "LPOS RANK" {
        r del l
        r rpush l a b c 1 2 3 c c
        list [r lpos l c rank 1] [r lpos l c rank 2] [r lpos l c rank 3] [r lpos l c rank 4] \
            [r lpos l c rank -1] [r lpos l c rank -3] [r lpos l c rank -4] [r lpos l c RANK -9223372036854775808]
    } {2 6 7 {} 7 2 {} 7}

    test "LPOS COUNT" {
        r del l
        r rpush l a b c 1 2 3 c c
        list [r lpos l c count 2] [r lpos l c count 0] [r lpos l c count 10] [r lpos l c rank 2 count 2] \
            [r lpos l c rank -1 count 2] [r lpos l zz count 3] [list_raw_reply 2 lpos l zz count 3]
    } {{2 6} {2 6 7} {2 6 7} {6 7} {7 6} {} *0}

    test "LPOS MAXLEN" {
        r del l
        r rpush l a b c 1 2 3 c c
        list [r lpos l c count 0 maxlen 1] [r lpos l c count 0 maxlen 3] [r lpos l c rank -1 count 0 maxlen 2] \
            [r lpos l c maxlen 0] [r lpos l c rank -1 maxlen 1] [r lpos l a maxlen 1]
    } {{} 2 {7 6} 2 7 0}

    test "LPOS on a missing key" {
        r del nol
        list [r lpos nol a] [list_raw_reply 2 lpos nol a] [list_raw_reply 2 lpos nol a count 0]
    } {{} {$-1} *0}

    test "LPOS errors" {
        r del l
        r rpush l a
        set out {}
        foreach args {{rank 0} {count -1} {maxlen -1} {rank x} {count x} {maxlen x} {foo 1} {rank} {count 1 rank}} {
            catch {r lpos l a {*}$args} e
            lappend out $e
        }
        set out
    } {{ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list} {ERR COUNT can't be negative} {ERR MAXLEN can't be negative} {ERR value is not an integer or out of range} {ERR COUNT can't be negative} {ERR MAXLEN can't be negative} {ERR syntax error} {ERR syntax error} {ERR syntax error}}

    test "LMOVE in every direction" {
        r del src dst
        r rpush src a b c d
        r rpush dst x
        set out {}
        foreach {from to} {left left left right right left right right} {
            lappend out [r lmove src dst $from $to]
        }
        list $out [r lrange dst 0 -1] [r exists src]
    } {{a b d c} {d a x b c} 0}

    test "LMOVE creates the destination and deletes an emptied source" {
        r del src dst
        r rpush src a
        list [r lmove src dst right left] [r lrange dst 0 -1] [r exists src]
    } {a a 0}

    test "LMOVE on the same list rotates it" {
        r del l
        r rpush l a b c
        list [r lmove l l left right] [r lrange l 0 -1] [r lmove l l right left] [r lrange l 0 -1] \
            [r lmove l l left left] [r lrange l 0 -1]
    } {a {b c a} a {a b c} a {a b c}}

    test "LMOVE of a one-element list onto itself keeps it" {
        r del l
        r rpush l a
        list [r lmove l l left right] [r lrange l 0 -1]
    } {a a}

    test "LMOVE with a missing source returns nil and creates nothing" {
        r del src dst
        list [r lmove src dst left left] [list_raw_reply 2 lmove src dst left left] [r exists dst]
    } {{} {$-1} 0}

    test "LMOVE to a key of another type is WRONGTYPE and moves nothing" {
        r del src dst
        r rpush src a b
        r set dst x
        catch {r lmove src dst left left} e
        list $e [r lrange src 0 -1] [r get dst]
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} {a b} x}

    test "LMOVE with a missing source does not check the destination type" {
        r del src
        r set dst x
        r lmove src dst left left
    } {}

    test "LMOVE: syntax errors in the directions" {
        r del src
        r rpush src a
        set out {}
        foreach args {{up left} {left down} {middle middle}} {
            catch {r lmove src dst {*}$args} e
            lappend out $e
        }
        lappend out [r llen src]
    } {{ERR syntax error} {ERR syntax error} {ERR syntax error} 1}

    test "RPOPLPUSH moves from the tail to the head" {
        r del src dst
        r rpush src a b c
        r rpush dst x
        list [r rpoplpush src dst] [r rpoplpush src dst] [r lrange src 0 -1] [r lrange dst 0 -1]
    } {c b a {b c x}}

    test "RPOPLPUSH with the same key rotates the list" {
        r del l
        r rpush l a b c
        list [r rpoplpush l l] [r lrange l 0 -1]
    } {c {c a b}}

    test "RPOPLPUSH with a missing source, and a destination of another type" {
        r del src dst
        set out [list [r rpoplpush src dst]]
        r rpush src a
        r set dst x
        catch {r rpoplpush src dst} e
        lappend out $e [r lrange src 0 -1]
    } {{} {WRONGTYPE Operation against a key holding the wrong kind of value} a}

    test "LMPOP pops from the first non-empty key" {
        r del k1 k2 k3
        r rpush k2 a b c
        r rpush k3 x
        list [r lmpop 3 k1 k2 k3 left] [r lmpop 3 k1 k2 k3 right count 10] [r exists k2] [r lmpop 2 k1 k2 left]
    } {{k2 a} {k2 {c b}} 0 {}}

    test "LMPOP COUNT and the reply shape" {
        r del k1
        r rpush k1 a b c d
        list [r lmpop 1 k1 LEFT COUNT 2] [r lmpop 1 k1 RIGHT count 1] [list_raw_reply 2 lmpop 1 nokey left] \
            [list_raw_reply 3 lmpop 1 nokey left]
    } {{k1 {a b}} {k1 d} *-1 _}

    test "LMPOP errors" {
        r del k1
        r rpush k1 a
        set out {}
        foreach args {{0 k1 left} {-1 k1 left} {x k1 left} {2 k1 left} {5 k1 left} {1 k1 middle}
                      {1 k1 left count 0} {1 k1 left count -1} {1 k1 left count x}
                      {1 k1 left count 1 count 2} {1 k1 left foo} {1 k1 left count}} {
            catch {r lmpop {*}$args} e
            lappend out $e
        }
        lappend out [r llen k1]
    } {{ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR syntax error} {ERR syntax error} {ERR syntax error} {ERR count should be greater than 0} {ERR count should be greater than 0} {ERR count should be greater than 0} {ERR syntax error} {ERR syntax error} {ERR syntax error} 1}

    test "LMPOP stops at a key of another type" {
        r del k1 k2
        r set k1 x
        r rpush k2 a
        catch {r lmpop 2 k1 k2 left} e
        list $e [r llen k2]
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} 1}

    test "List commands against a string: WRONGTYPE" {
        r set s v
        set out {}
        foreach cmd {{lpush s a} {rpush s a} {lpushx s a} {rpushx s a} {lpop s} {rpop s} {lpop s 2}
                     {llen s} {lrange s 0 -1} {lindex s 0} {lset s 0 x} {linsert s before a b}
                     {lrem s 0 a} {ltrim s 0 1} {lpos s a} {lmove s d left left} {rpoplpush s d}
                     {lmpop 1 s left} {blpop s 1} {brpop s 1} {blmove s d left left 1}
                     {brpoplpush s d 1} {blmpop 1 1 s left}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        list [lsort -unique $out] [r get s]
    } {{{WRONGTYPE Operation against a key holding the wrong kind of value}} v}

    test "List commands: wrong number of arguments" {
        set out {}
        foreach cmd {{lpush l} {rpush l} {lpushx l} {rpushx l} {llen} {llen a b} {lrange l 0}
                     {lindex l} {lset l 0} {linsert l before a} {lrem l 0} {ltrim l 0} {lpos l}
                     {lmove a b left} {rpoplpush a} {lmpop 1 a} {blpop l} {brpop l} {blmove a b left left}
                     {brpoplpush a b} {blmpop 1 1 a}} {
            catch {r {*}$cmd} e
            lappend out [string map [list [lindex $cmd 0] X] $e]
        }
        lsort -unique $out
    } {{ERR wrong number of arguments for 'X' command}}

    test "Elements are binary safe, empty ones included" {
        r del l
        set bin "a\x00b\r\n\xff"
        r rpush l $bin "" [string repeat x 200]
        list [expr {[r lindex l 0] eq $bin}] [r lindex l 1] [string length [r lindex l 2]] [r lpos l ""] \
            [r lrem l 1 $bin] [r llen l]
    } {1 {} 200 1 1 2}

    test "Integers are kept as strings" {
        r del l
        r rpush l 1 -1 007 1.0 9223372036854775808
        r lrange l 0 -1
    } {1 -1 007 1.0 9223372036854775808}
}

start_server {tags {list}} {
    test "TYPE, OBJECT ENCODING and SCAN TYPE of a list" {
        r flushdb
        r rpush l a
        r set s v
        list [r type l] [r object encoding l] [lindex [r scan 0 type list] 1]
    } {list quicklist l}

    test "A big list is a quicklist too" {
        r del l
        for {set i 0} {$i < 3000} {incr i} { r rpush l [string repeat x 10]$i }
        list [r object encoding l] [r llen l]
    } {quicklist 3000}

    test "COPY makes an independent copy of a list" {
        r del l l2
        r rpush l a b c
        r copy l l2
        r rpush l2 d
        r lpop l
        list [r lrange l 0 -1] [r lrange l2 0 -1]
    } {{b c} {a b c d}}

    test "COPY of a big list" {
        r del l l2
        set want {}
        for {set i 0} {$i < 2000} {incr i} { lappend want e$i }
        r rpush l {*}$want
        r copy l l2
        r del l
        expr {[r lrange l2 0 -1] eq $want}
    } {1}

    test "RENAME and DEL of a list" {
        r del l l2
        r rpush l a b
        r rename l l2
        list [r exists l] [r lrange l2 0 -1] [r del l2] [r exists l2]
    } {0 {a b} 1 0}

    test "MEMORY USAGE grows with the list" {
        r del l
        r rpush l a
        set small [r memory usage l]
        for {set i 0} {$i < 1000} {incr i} { r rpush l [string repeat y 50] }
        set big [r memory usage l]
        list [expr {$small > 0}] [expr {$big > $small + 50000}]
    } {1 1}

    test "An expired list is gone for the list commands" {
        r del l
        r rpush l a b
        r pexpire l 1
        after 20
        list [r llen l] [r lpop l] [r rpushx l x] [r exists l]
    } {0 {} 0 0}

    test "LPUSH onto a list keeps its TTL" {
        r del l
        r rpush l a
        r expire l 100
        r lpush l b
        r ttl l
    } {100}
}

start_server {tags {list}} {
    test "Big elements (more than a node) mixed with small ones" {
        r del l
        set big1 [string repeat A 20000]
        set big2 [string repeat B 9000]
        r rpush l a $big1 b
        r lpush l $big2 c
        r linsert l after a $big2
        r lset l 1 $big1
        set got [r lrange l 0 -1]
        list [llength $got] [lindex $got 0] [string length [lindex $got 1]] [string length [lindex $got 2]] \
            [string length [lindex $got 3]] [string length [lindex $got 4]] [lindex $got 5] \
            [r lpos l $big2] [r lrem l 0 $big1] [r llen l]
    } {6 c 20000 1 9000 20000 b 3 2 4}

    test "LSET and LINSERT of big elements in the middle of small ones" {
        r del l
        set model {}
        for {set i 0} {$i < 100} {incr i} { lappend model s$i }
        r rpush l {*}$model
        foreach i {50 10 90 0 99 51} {
            set v [string repeat [format %c [expr {65 + $i % 26}]] [expr {9000 + $i}]]
            r lset l $i $v
            lset model $i $v
        }
        foreach {pivot v} [list s20 [string repeat q 12000] s70 tiny s21 [string repeat w 5000]] {
            r linsert l before $pivot $v
            set model [linsert $model [lsearch -exact $model $pivot] $v]
        }
        r lset l 50 small-again
        lset model 50 small-again
        list [expr {[r lrange l 0 -1] eq $model}] [r llen l] [expr {[r lindex l -1] eq [lindex $model end]}]
    } {1 103 1}

    test "LINDEX and LSET across many nodes" {
        r del l
        set n 20000
        set batch {}
        for {set i 0} {$i < $n} {incr i} { lappend batch v$i }
        r rpush l {*}$batch
        set ok 1
        foreach i {0 1 99 5000 9999 10000 10001 15000 19998 19999} {
            if {[r lindex l $i] ne "v$i"} { set ok 0 }
            if {[r lindex l [expr {$i - $n}]] ne "v$i"} { set ok 0 }
        }
        r lset l 12345 changed
        list $ok [r lindex l 12345] [r lindex l 12346] [r llen l] [r lrange l 12344 12346]
    } {1 changed v12346 20000 {v12344 changed v12346}}

    test "LTRIM, LRANGE and LREM across many nodes" {
        r del l
        set model {}
        for {set i 0} {$i < 5000} {incr i} {
            set v [expr {$i % 7 == 0 ? "seven" : "e$i"}]
            lappend model $v
        }
        r rpush l {*}$model
        r ltrim l 100 -101
        set model [lrange $model 100 end-100]
        set n [r lrem l 0 seven]
        set model [lsearch -all -inline -not -exact $model seven]
        list [expr {[r lrange l 0 -1] eq $model}] $n [r llen l] [expr {[r lrange l 1000 1100] eq [lrange $model 1000 1100]}]
    } {1 685 4115 1}

    test "Random operations agree with a Tcl model" {
        r del l
        set model {}
        set ok 1
        set why ""
        for {set step 0} {$step < 4000 && $ok} {incr step} {
            set n [llength $model]
            set len [expr {int(rand() * 4) == 0 ? int(rand() * 300) : int(rand() * 12)}]
            set v [randstring $len]
            switch [expr {int(rand() * 12)}] {
                0 { r lpush l $v; set model [linsert $model 0 $v] }
                1 { r rpush l $v; lappend model $v }
                2 {
                    set got [r lpop l]
                    set want [lindex $model 0]
                    set model [lrange $model 1 end]
                    if {$got ne $want} { set ok 0; set why "lpop at $step" }
                }
                3 {
                    set got [r rpop l]
                    set want [lindex $model end]
                    set model [lrange $model 0 end-1]
                    if {$got ne $want} { set ok 0; set why "rpop at $step" }
                }
                4 {
                    if {$n} {
                        set i [expr {int(rand() * $n)}]
                        set pivot [lindex $model $i]
                        set first [lsearch -exact $model $pivot]
                        if {rand() < 0.5} {
                            r linsert l before $pivot $v
                            set model [linsert $model $first $v]
                        } else {
                            r linsert l after $pivot $v
                            set model [linsert $model [expr {$first + 1}] $v]
                        }
                    }
                }
                5 {
                    if {$n} {
                        set i [expr {int(rand() * $n)}]
                        r lset l $i $v
                        lset model $i $v
                    }
                }
                6 {
                    if {$n} {
                        set e [lindex $model [expr {int(rand() * $n)}]]
                        set cnt [expr {int(rand() * 5) - 2}]
                        set got [r lrem l $cnt $e]
                        set idx [lsearch -all -exact $model $e]
                        if {$cnt < 0} { set idx [lreverse $idx] }
                        if {$cnt != 0} { set idx [lrange $idx 0 [expr {abs($cnt) - 1}]] }
                        foreach j [lsort -integer -decreasing $idx] { set model [lreplace $model $j $j] }
                        if {$got != [llength $idx]} { set ok 0; set why "lrem at $step" }
                    }
                }
                7 {
                    set s [expr {int(rand() * ($n + 4)) - 2}]
                    set e [expr {int(rand() * ($n + 4)) - 2}]
                    if {[r lrange l $s $e] ne [model_range $model $s $e]} { set ok 0; set why "lrange $s $e at $step" }
                }
                8 {
                    if {$n > 50 && rand() < 0.3} {
                        set s [expr {int(rand() * 5)}]
                        set e [expr {-1 - int(rand() * 5)}]
                        r ltrim l $s $e
                        set model [model_range $model $s $e]
                    }
                }
                9 {
                    if {$n} {
                        set i [expr {int(rand() * $n)}]
                        if {[r lindex l $i] ne [lindex $model $i]} { set ok 0; set why "lindex $i at $step" }
                    }
                }
                10 {
                    for {set k 0} {$k < 20} {incr k} {
                        set w [randstring [expr {int(rand() * 20)}]]
                        if {rand() < 0.5} { r rpush l $w; lappend model $w } else { r lpush l $w; set model [linsert $model 0 $w] }
                    }
                }
                11 {
                    if {$n} {
                        set e [lindex $model [expr {int(rand() * $n)}]]
                        set want [lsearch -all -exact $model $e]
                        if {[r lpos l $e count 0] ne $want} { set ok 0; set why "lpos at $step" }
                    }
                }
            }
            if {$ok && [r llen l] != [llength $model]} { set ok 0; set why "llen at $step" }
        }
        if {$ok && [r lrange l 0 -1] ne $model} { set ok 0; set why "final content" }
        list $ok $why
    } {1 {}}
}

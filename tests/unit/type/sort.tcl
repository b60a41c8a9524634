# SORT and SORT_RO: numeric and ALPHA sorts of lists, sets and sorted sets,
# ASC/DESC, LIMIT clamping, BY patterns (string keys, hash fields, missing
# values, nosort), GET patterns (#, missing keys, hash fields), STORE
# (replaces the destination, deletes it for an empty result, keyspace
# event), errors (non-numeric elements, syntax, wrong types, SORT_RO with
# STORE), and a randomized check against a sort done in the test. Runs
# against redis-server 7.0 too.

start_server {tags {sort}} {
    test "SORT of a list, numeric, ASC and DESC" {
        r del l
        r rpush l 3 1 2 10 -1.5 1e2
        list [r sort l] [r sort l desc] [r sort l asc]
    } {{-1.5 1 2 3 10 1e2} {1e2 10 3 2 1 -1.5} {-1.5 1 2 3 10 1e2}}

    test "SORT ALPHA of a set and of a sorted set" {
        r del s z
        r sadd s banana apple cherry 10 9
        r zadd z 1 c 2 b 3 a
        list [r sort s alpha] [r sort s alpha desc] [r sort z alpha] [r sort z by nosort]
    } {{10 9 apple banana cherry} {cherry banana apple 9 10} {a b c} {c b a}}

    test "Equal numbers are ordered by the elements themselves" {
        r del e
        r rpush e 1.0 1 01 1e0
        r sort e
    } {01 1 1.0 1e0}

    test "SORT LIMIT clamps like Redis" {
        r del l
        r rpush l 5 4 3 2 1
        list [r sort l limit 0 2] [r sort l limit 1 -1] [r sort l limit 3 10] [r sort l limit 10 2] \
             [r sort l limit -5 2] [r sort l desc limit 0 1] [r sort l limit 0 0] \
             [r sort l limit 9223372036854775807 9223372036854775807] [r sort l limit 2 9223372036854775807]
    } {{1 2} {2 3 4 5} {4 5} {} {1 2} 5 {} {} {3 4 5}}

    test "SORT BY a string key pattern, missing values count as 0" {
        r del l w_1 w_2 w_3
        r rpush l 1 2 3 4
        r mset w_1 30 w_2 -20 w_3 10
        list [r sort l by w_*] [r sort l by w_* desc]
    } {{2 4 3 1} {1 3 4 2}}

    test "SORT BY a hash field, and ALPHA BY with a missing value first" {
        r del l h_1 h_2 h_3
        r rpush l 1 2 3
        r hset h_1 name carol
        r hset h_2 name alice
        list [r sort l by h_*->name alpha] [r sort l by h_*->name alpha desc]
    } {{3 2 1} {1 2 3}}

    test "SORT GET: #, string keys, hash fields and missing keys" {
        r del l w_1 w_2 w_3 h_1
        r rpush l 2 1 3
        r mset w_1 one w_2 two
        r hset h_1 f x
        list [r sort l get # get w_*] [r sort l get h_*->f] [r sort l get nostar]
    } {{1 one 2 two 3 {}} {x {} {}} {{} {} {}}}

    test "SORT BY nosort keeps list order, reversed by DESC" {
        r del l
        r rpush l c a b
        list [r sort l by nosort] [r sort l by nosort desc] [r sort l by nosort limit 1 1]
    } {{c a b} {b a c} a}

    test "SORT STORE replaces the destination and clears its TTL" {
        r del l dst
        r rpush l 3 1 2
        r set dst old ex 100
        list [r sort l store dst] [r lrange dst 0 -1] [r type dst] [r ttl dst]
    } {3 {1 2 3} list -1}

    test "SORT STORE with GET stores nil as the empty string" {
        r del l dst w_1 w_2
        r rpush l 1 2
        r set w_1 a
        list [r sort l get w_* store dst] [r lrange dst 0 -1]
    } {2 {a {}}}

    test "SORT STORE of an empty result deletes the destination" {
        r del l dst
        r set dst x
        list [r sort l store dst] [r exists dst]
    } {0 0}

    test "SORT STORE of a set BY nosort is sorted (deterministic)" {
        r del s dst
        r sadd s c a b
        r sort s by nosort store dst
        r lrange dst 0 -1
    } {a b c}

    test "SORT errors" {
        r del l str
        r rpush l 1 x
        r set str v
        set out {}
        catch {r sort l} e; lappend out $e
        catch {r sort l limit a 1} e; lappend out $e
        catch {r sort l foo} e; lappend out $e
        catch {r sort l limit 1} e; lappend out $e
        catch {r sort str} e; lappend out $e
        catch {r sort_ro l store x} e; lappend out $e
        catch {r sort_ro l alpha} e; lappend out $e
        lappend out [r sort missing] [r exists x]
        set out
    } {{ERR One or more scores can't be converted into double} {ERR value is not an integer or out of range} {ERR syntax error} {ERR syntax error} {WRONGTYPE Operation against a key holding the wrong kind of value} {ERR syntax error} {1 x} {} 0}

    test "SORT STORE publishes sortstore" {
        r del l dst
        r rpush l 2 1
        r config set notify-keyspace-events El
        set rd [redis_deferring_client]
        $rd subscribe __keyevent@9__:sortstore
        $rd read
        r select 9
        r del l dst
        r rpush l 2 1
        r sort l store dst
        set m [$rd read]
        $rd close
        r select 0
        r config set notify-keyspace-events ""
        lrange $m 1 2
    } {__keyevent@9__:sortstore dst}

    test "SORT matches a sort done in the test (random lists, numeric and ALPHA, BY, LIMIT)" {
        set bad {}
        for {set round 0} {$round < 20} {incr round} {
            r del l
            set vals {}
            set n [expr {1 + int(rand() * 60)}]
            for {set i 0} {$i < $n} {incr i} {
                set v [expr {int(rand() * 50) - 10}]
                lappend vals $v
                r rpush l $v
                r set wt_$v [expr {($v * 7) % 13}]
            }
            set want [lsort -integer $vals]
            if {[r sort l] ne $want} { lappend bad "numeric $vals" }
            if {[r sort l alpha] ne [lsort $vals]} { lappend bad "alpha $vals" }
            # BY weight, ties by the element (as bytes)
            set pairs [lmap v $vals {list [expr {($v * 7) % 13}] $v}]
            set by [lmap p [lsort -index 0 -integer [lsort -index 1 $pairs]] {lindex $p 1}]
            if {[r sort l by wt_*] ne $by} { lappend bad "by $vals" }
            set off [expr {int(rand() * 10)}]
            set cnt [expr {int(rand() * 10)}]
            if {[r sort l limit $off $cnt] ne [lrange $want $off [expr {$off + $cnt - 1}]]} { lappend bad "limit $off $cnt $vals" }
        }
        set bad
    } {}
}

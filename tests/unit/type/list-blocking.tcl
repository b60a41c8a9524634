# Blocking list commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP. Immediate answers,
# blocking and being served by pushes from other clients, timeouts (float
# seconds, 0 = forever, errors), first-blocked-first-served order, several keys
# per client, pipelined commands held until the blocked one is served, clients
# served after each command of another client's pipeline, disconnects and kills
# while blocked, chains of BLMOVEs, keys that change type, RENAME onto a waited
# key, databases, CLIENT LIST flags and INFO counters.

proc wait_blocked {n} {
    wait_for {[s blocked_clients] == $n} 5000 20 "blocked_clients == $n"
}

# Sends a command on a new deferring client and waits until the server counts
# one more blocked client. Returns the client.
proc block_client {args} {
    set before [s blocked_clients]
    set rd [redis_deferring_client]
    $rd {*}$args
    wait_blocked [expr {$before + 1}]
    return $rd
}

start_server {tags {list blocking}} {
    test "BLPOP and BRPOP answer at once when a list has elements" {
        r del l1 l2
        r rpush l2 a b c
        list [r blpop l1 l2 1] [r brpop l1 l2 1] [r llen l2]
    } {{l2 a} {l2 c} 1}

    test "BLPOP takes the first non-empty key in argument order" {
        r del l1 l2
        r rpush l1 x
        r rpush l2 y
        list [r blpop l2 l1 0] [r blpop l2 l1 0] [r exists l1 l2]
    } {{l2 y} {l1 x} 0}

    test "BLPOP blocks until another client pushes" {
        r del bl
        set rd [block_client blpop bl 0]
        set n [r rpush bl a b]
        list $n [$rd read] [r lrange bl 0 -1] [s blocked_clients]
    } {2 {bl a} b 0}

    test "BRPOP takes the tail of the pushed list" {
        r del bl
        set rd [block_client brpop bl 0]
        r rpush bl a b c
        list [$rd read] [r lrange bl 0 -1]
    } {{bl c} {a b}}

    test "BLPOP served by a variadic LPUSH gets the last element pushed" {
        r del bl
        set rd [block_client blpop bl 0]
        r lpush bl foo bar
        list [$rd read] [r lrange bl 0 -1]
    } {{bl bar} foo}

    test "The list emptied by serving a client is deleted" {
        r del bl
        set rd [block_client blpop bl 0]
        r rpush bl only
        list [$rd read] [r exists bl]
    } {{bl only} 0}

    test "BLPOP times out with a null array" {
        r del nokey
        set rd [redis_deferring_client]
        set start [clock milliseconds]
        $rd blpop nokey 0.2
        set reply [$rd read]
        set elapsed [expr {[clock milliseconds] - $start}]
        list $reply [expr {$elapsed >= 150 && $elapsed < 3000}] [s blocked_clients]
    } {{} 1 0}

    test "Timeout replies: a null array for every command (BLMOVE and BRPOPLPUSH too), _ in RESP3" {
        r del nokey
        set out {}
        foreach cmd {{blpop nokey 0.05} {brpop nokey 0.05} {blmpop 0.05 1 nokey left}
                     {blmove nokey d left left 0.05} {brpoplpush nokey d 0.05}} {
            set rd [redis_deferring_client]
            $rd readraw 1
            $rd {*}$cmd
            lappend out [$rd read]
            $rd close
        }
        set rd [redis_deferring_client]
        $rd hello 3
        $rd read
        $rd readraw 1
        $rd blpop nokey 0.05
        lappend out [$rd read]
        $rd blmove nokey d left left 0.05
        lappend out [$rd read]
    } {*-1 *-1 *-1 *-1 *-1 _ _}

    test "A timeout of 0 waits forever" {
        r del bl
        set rd [block_client blpop bl 0]
        after 300
        set still [s blocked_clients]
        r rpush bl v
        list $still [$rd read]
    } {1 {bl v}}

    test "A far timeout (1e15 s) waits like 0 and is served by a push" {
        r del bl
        set rd [block_client blpop bl 1e15]
        after 200
        set still [s blocked_clients]
        r rpush bl v
        list $still [$rd read]
    } {1 {bl v}}

    test "Sub-millisecond timeouts: 0.0001 still times out, -0.0001 is 0 (forever)" {
        r del bl
        set rd [redis_deferring_client]
        $rd blpop bl 0.0001
        set first [$rd read]
        set rd2 [block_client blpop bl -0.0001]
        after 200
        set still [s blocked_clients]
        r rpush bl v
        list $first $still [$rd2 read]
    } {{} 1 {bl v}}

    test "Timeout errors" {
        set out {}
        foreach cmd {{blpop k -1} {blpop k x} {blpop k nan} {blpop k inf} {blpop k 1e16} {blpop k ""}
                     {brpop k -0.5} {blmove a b left left -1} {blmove a b left left x}
                     {brpoplpush a b -1} {brpoplpush a b x} {blmpop -1 1 k left} {blmpop x 1 k left}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is negative} {ERR timeout is not a float or out of range}}

    test "The timeout is checked before the keys" {
        r set s x
        catch {r blpop s -1} e
        set e
    } {ERR timeout is negative}

    test "Timeouts with different deadlines fire in deadline order" {
        r del nokey
        set rd1 [redis_deferring_client]
        set rd2 [redis_deferring_client]
        set start [clock milliseconds]
        $rd1 blpop nokey 0.6
        $rd2 blpop nokey 0.1
        set r2 [$rd2 read]
        set t2 [expr {[clock milliseconds] - $start}]
        set r1 [$rd1 read]
        set t1 [expr {[clock milliseconds] - $start}]
        list $r1 $r2 [expr {$t2 < 500}] [expr {$t1 >= 500}]
    } {{} {} 1 1}
}

start_server {tags {list blocking}} {
    test "The first client that blocked is served first" {
        r del q
        set rd1 [block_client blpop q 0]
        set rd2 [block_client blpop q 0]
        set rd3 [block_client blpop q 0]
        r rpush q a
        set a [$rd1 read]
        r rpush q b
        set b [$rd2 read]
        r rpush q c
        list $a $b [$rd3 read] [r exists q]
    } {{q a} {q b} {q c} 0}

    test "One push of n elements serves n clients in blocking order" {
        r del q
        set rd1 [block_client brpop q 0]
        set rd2 [block_client blpop q 0]
        set rd3 [block_client blpop q 0]
        r rpush q a b
        list [$rd1 read] [$rd2 read] [s blocked_clients] [r exists q] [r rpush q c] [$rd3 read]
    } {{q b} {q a} 1 0 1 {q c}}

    test "Fifty clients are served in the order they blocked" {
        r del q
        set clients {}
        for {set i 0} {$i < 50} {incr i} { lappend clients [block_client blpop q 0] }
        set elements {}
        for {set i 0} {$i < 50} {incr i} { lappend elements e$i }
        r rpush q {*}$elements
        set got {}
        foreach rd $clients { lappend got [lindex [$rd read] 1] }
        list [expr {$got eq $elements}] [s blocked_clients] [r exists q]
    } {1 0 0}

    test "A client blocked on several keys is served by the first that gets data" {
        r del k1 k2 k3
        set rd [block_client blpop k1 k2 k3 0]
        r rpush k2 x
        set got [$rd read]
        r rpush k1 y
        list $got [r lrange k1 0 -1] [s blocked_clients]
    } {{k2 x} y 0}

    test "The same key twice blocks once and is served once" {
        r del k
        set rd [block_client blpop k k 0]
        r rpush k a b
        list [$rd read] [r lrange k 0 -1]
    } {{k a} b}

    test "Commands pipelined after a blocking one run after it is served" {
        r del k after
        set rd [redis_deferring_client]
        $rd write "[::resp::encode {blpop k 0}][::resp::encode {set after 1}][::resp::encode {get after}]"
        wait_blocked 1
        after 100
        set before [r exists after]
        r rpush k v
        list $before [$rd read] [$rd read] [$rd read] [r get after]
    } {0 {k v} OK 1 1}

    test "Input that arrives while a client is blocked waits too" {
        r del k x
        set rd [block_client blpop k 0]
        $rd incr x
        $rd incr x
        after 100
        set before [r exists x]
        r rpush k v
        list $before [$rd read] [$rd read] [$rd read]
    } {0 {k v} 1 2}

    test "A client that blocks again in its pipeline stops there again" {
        r del k1 k2 x
        set rd [redis_deferring_client]
        $rd write "[::resp::encode {blpop k1 0}][::resp::encode {blpop k2 0}][::resp::encode {incr x}]"
        wait_blocked 1
        r rpush k1 a
        set first [$rd read]
        wait_blocked 1
        set mid [r exists x]
        r rpush k2 b
        list $first $mid [$rd read] [$rd read]
    } {{k1 a} 0 {k2 b} 1}

    test "Waiting clients are served after each command of a pipeline" {
        r del k
        set rd [block_client blpop k 0]
        set w [redis_client]
        set replies [pipeline_commands $w {{lpush k x} {llen k} {lpush k y} {llen k}}]
        $w close
        list $replies [$rd read]
    } {{1 0 1 1} {k x}}

    test "Unblocked by its timeout, the client runs its pipelined commands" {
        r del k
        set rd [redis_deferring_client]
        $rd write "[::resp::encode {blpop k 0.1}][::resp::encode {ping}]"
        list [$rd read] [$rd read]
    } {{} PONG}

    test "A client that disconnects while blocked leaves every queue" {
        r del k1 k2
        set rd [block_client blpop k1 k2 0]
        $rd close
        wait_blocked 0
        r rpush k1 a
        r rpush k2 b
        list [r lrange k1 0 -1] [r lrange k2 0 -1]
    } {a b}

    test "A client with a timeout that disconnects does not disturb other timeouts" {
        r del k
        set rd [block_client blpop k 5]
        $rd close
        wait_blocked 0
        set rd2 [redis_deferring_client]
        $rd2 blpop k 0.1
        $rd2 read
    } {}

    test "CLIENT KILL of a blocked client" {
        r del k
        set rd [redis_deferring_client]
        $rd client id
        set id [$rd read]
        $rd blpop k 0
        wait_blocked 1
        r client kill id $id
        wait_blocked 0
        r rpush k a
        r lrange k 0 -1
    } {a}

    test "CLIENT LIST shows flags=b and the blocking command" {
        r del k
        set rd [redis_deferring_client]
        $rd client id
        set id [$rd read]
        $rd brpop k 0
        wait_blocked 1
        set e [client_entry $id]
        set before [list [dict get $e flags] [dict get $e cmd]]
        r rpush k a
        $rd read
        set e [client_entry $id]
        list $before [dict get $e flags]
    } {{b brpop} N}

    test "INFO blocked_clients counts blocked clients" {
        r del k1 k2
        set rd1 [block_client blpop k1 0]
        set rd2 [block_client blpop k1 k2 0]
        set n [s blocked_clients]
        r rpush k1 a b
        $rd1 read
        $rd2 read
        list $n [s blocked_clients]
    } {2 0}
}

start_server {tags {list blocking}} {
    test "BLMOVE and BRPOPLPUSH answer at once when the source has elements" {
        r del src dst
        r rpush src a b c
        list [r blmove src dst left right 1] [r brpoplpush src dst 1] [r lrange dst 0 -1] [r lrange src 0 -1]
    } {a c {c a} b}

    test "BLMOVE blocks and moves the pushed element" {
        r del src dst
        r rpush dst x
        set rd [block_client blmove src dst right left 0]
        r rpush src a b
        list [$rd read] [r lrange src 0 -1] [r lrange dst 0 -1]
    } {b a {b x}}

    test "BRPOPLPUSH blocks and creates the destination" {
        r del src dst
        set rd [block_client brpoplpush src dst 0]
        r rpush src a
        list [$rd read] [r exists src] [r lrange dst 0 -1]
    } {a 0 a}

    test "BRPOPLPUSH to a destination of another type: WRONGTYPE, the element stays" {
        r del src dst
        r set dst x
        set rd [block_client brpoplpush src dst 0]
        r rpush src a
        catch {$rd read} e
        list $e [r lrange src 0 -1] [r get dst] [s blocked_clients]
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} a x 0}

    test "BLMOVE served by a push serves a client blocked on the destination" {
        r del src dst
        set rd1 [block_client blpop dst 0]
        set rd2 [block_client blmove src dst left left 0]
        r rpush src x
        list [$rd2 read] [$rd1 read] [r exists src dst]
    } {x {dst x} 0}

    test "Linked BLMOVEs" {
        r del list1 list2 list3
        set rd1 [block_client blmove list1 list2 right left 0]
        set rd2 [block_client blmove list2 list3 left right 0]
        r rpush list1 foo
        list [$rd1 read] [$rd2 read] [r lrange list1 0 -1] [r lrange list2 0 -1] [r lrange list3 0 -1]
    } {foo foo {} {} foo}

    test "Circular BRPOPLPUSH" {
        r del list1 list2
        set rd1 [block_client brpoplpush list1 list2 0]
        set rd2 [block_client brpoplpush list2 list1 0]
        r rpush list1 foo
        list [$rd1 read] [$rd2 read] [r lrange list1 0 -1] [r lrange list2 0 -1]
    } {foo foo foo {}}

    test "Self-referential BRPOPLPUSH" {
        r del blist
        set rd [block_client brpoplpush blist blist 0]
        r rpush blist foo
        list [$rd read] [r lrange blist 0 -1]
    } {foo foo}

    test "BLMOVE syntax errors come before the timeout" {
        set out {}
        catch {r blmove a b up left 0} e; lappend out $e
        catch {r blmove a b left up -1} e; lappend out $e
    } {{ERR syntax error} {ERR syntax error}}

    test "BLMPOP answers at once, COUNT included" {
        r del k1 k2
        r rpush k2 a b c d
        list [r blmpop 1 2 k1 k2 left count 3] [r blmpop 0 2 k1 k2 right] [r exists k2]
    } {{k2 {a b c}} {k2 d} 0}

    test "BLMPOP blocks and pops up to COUNT from the key that got data" {
        r del k1 k2
        set rd [block_client blmpop 0 2 k1 k2 right count 2]
        r rpush k2 a b c
        list [$rd read] [r lrange k2 0 -1]
    } {{k2 {c b}} a}

    test "BLMPOP errors" {
        set out {}
        foreach args {{0 0 k left} {0 x k left} {0 2 k left} {0 1 k middle} {0 1 k left count 0} {0 1 k left foo}} {
            catch {r blmpop {*}$args} e
            lappend out $e
        }
        set out
    } {{ERR numkeys should be greater than 0} {ERR numkeys should be greater than 0} {ERR syntax error} {ERR syntax error} {ERR count should be greater than 0} {ERR syntax error}}

    test "A key set to another type keeps its clients blocked; a new list serves them" {
        r del k
        set rd [block_client blpop k 0]
        r set k foo
        after 200
        set still [s blocked_clients]
        r del k
        r rpush k x
        list $still [$rd read]
    } {1 {k x}}

    test "RENAME of a list onto a key clients wait for serves them" {
        r del k tmp
        set rd [block_client blpop k 0]
        r rpush tmp a b
        r rename tmp k
        list [$rd read] [r lrange k 0 -1]
    } {{k a} b}

    test "A client blocked in another database is served only by that database" {
        r del k
        set rd [redis_deferring_client]
        $rd select 9
        $rd read
        $rd blpop k 0
        wait_blocked 1
        r rpush k a
        after 100
        set still [s blocked_clients]
        set w [redis_client]
        $w select 9
        $w rpush k b
        set got [$rd read]
        set rest [list [$w exists k] [r lrange k 0 -1]]
        $w close
        list $still $got $rest
    } {1 {k b} {0 a}}
}

start_server {tags {list blocking phenix-only}} {
    test "INFO total_blocking_keys and clients_in_timeout_table" {
        r del k1 k2 k3
        set rd1 [block_client blpop k1 k2 0]
        set rd2 [block_client blpop k2 k3 10]
        set a [list [s blocked_clients] [s total_blocking_keys] [s clients_in_timeout_table]]
        r rpush k2 x y
        $rd1 read
        $rd2 read
        list $a [s blocked_clients] [s total_blocking_keys] [s clients_in_timeout_table]
    } {{2 3 1} 0 0 0}
}

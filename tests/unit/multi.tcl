# Transactions: MULTI EXEC DISCARD WATCH UNWATCH, queued-command errors
# (EXECABORT), run-time errors inside EXEC, WATCH invalidated by every kind
# of change (writes, in-place changes, deletes, expiry, FLUSHDB/FLUSHALL),
# and blocking commands inside EXEC.

start_server {tags {multi}} {
    test "MULTI / EXEC runs the queued commands and replies with an array" {
        r del a b
        set c [redis_client]
        set out [list [$c multi] [$c set a 1] [$c incr a] [$c rpush b x y] [$c exec]]
        $c close
        set out
    } {OK QUEUED QUEUED QUEUED {OK 2 2}}

    test "EXEC of an empty transaction is an empty array" {
        set c [redis_client]
        set out [list [$c multi] [$c exec]]
        $c close
        set out
    } {OK {}}

    test "DISCARD drops the queue" {
        r set a 1
        set c [redis_client]
        set out [list [$c multi] [$c set a 2] [$c discard] [$c get a]]
        $c close
        set out
    } {OK QUEUED OK 1}

    test "EXEC and DISCARD without MULTI, nested MULTI" {
        set out {}
        catch {r exec} e; lappend out $e
        catch {r discard} e; lappend out $e
        set c [redis_client]
        $c multi
        catch {$c multi} e; lappend out $e
        lappend out [$c exec]
        $c close
        set out
    } {{ERR EXEC without MULTI} {ERR DISCARD without MULTI} {ERR MULTI calls can not be nested} {}}

    test "A queued command with a wrong arity or an unknown name aborts EXEC" {
        r set a 1
        set c [redis_client]
        $c multi
        $c set a 2
        catch {$c get} e1
        catch {$c nosuchcommand} e2
        catch {$c exec} e3
        set out [list $e1 [string match "ERR unknown command*" $e2] $e3 [$c get a]]
        $c close
        set out
    } {{ERR wrong number of arguments for 'get' command} 1 {EXECABORT Transaction discarded because of previous errors.} 1}

    test "A run-time error inside EXEC is one reply; the other commands run" {
        r del l
        r set s v
        set c [redis_client]
        $c multi
        $c set x 1
        $c lpush s a
        $c incr x
        set res [$c exec]
        $c close
        list [lindex $res 0] [string match "WRONGTYPE*" [lindex $res 1]] [lindex $res 2]
    } {OK 1 2}

    test "WATCH inside MULTI is refused; UNWATCH works anywhere" {
        set c [redis_client]
        $c multi
        catch {$c watch a} e
        set out [list $e [$c exec] [$c unwatch]]
        $c close
        set out
    } {{ERR WATCH inside MULTI is not allowed} {} OK}

    test "WATCH: an untouched key lets EXEC run" {
        r set w 1
        set c [redis_client]
        $c watch w
        $c multi
        $c incr w
        set out [$c exec]
        $c close
        set out
    } {2}

    foreach {what cmd} {
        "SET" {r set w 5}
        "INCR (in place)" {r incr w}
        "APPEND (in place)" {r append w x}
        "DEL" {r del w}
        "EXPIRE" {r expire w 100}
        "RENAME away" {r rename w w2}
        "FLUSHDB" {r flushdb}
        "FLUSHALL" {r flushall}
    } {
        test "WATCH: a $what by another client makes EXEC fail" {
            r del w w2
            r set w 1
            set c [redis_client]
            $c watch w
            eval $cmd
            $c multi
            $c set w 100
            set res [$c exec]
            $c close
            list $res [expr {[r get w] ne "100"}]
        } {{} 1}
    }

    test "WATCH: a list push by another client makes EXEC fail" {
        r del wl
        set c [redis_client]
        $c watch wl
        r rpush wl a
        $c multi
        $c rpush wl b
        set res [$c exec]
        $c close
        list $res [r llen wl]
    } {{} 1}

    test "WATCH: an expired key makes EXEC fail" {
        r del we
        r set we 1 px 50
        set c [redis_client]
        $c watch we
        after 120
        $c multi
        $c set we 2
        set res [$c exec]
        $c close
        set res
    } {}

    test "WATCH: UNWATCH forgets the keys" {
        r set w 1
        set c [redis_client]
        $c watch w
        r set w 2
        $c unwatch
        $c multi
        $c set w 3
        set res [$c exec]
        $c close
        list $res [r get w]
    } {OK 3}

    test "WATCH: a failed EXEC also forgets the watches" {
        r set w 1
        set c [redis_client]
        $c watch w
        r set w 2
        $c multi
        $c set w 3
        set first [$c exec]
        r set w 4
        $c multi
        $c set w 5
        set second [$c exec]
        $c close
        list $first $second [r get w]
    } {{} OK 5}

    test "A blocking command inside EXEC does not block" {
        r del emptylist
        set c [redis_client]
        $c multi
        $c blpop emptylist 0
        set res [$c exec]
        $c close
        set res
    } {{}}

    test "MULTI state is dropped by RESET" {
        set c [redis_client]
        $c multi
        $c set r1 1
        set out [list [$c reset]]
        catch {$c exec} e
        lappend out $e
        $c close
        set out
    } {RESET {ERR EXEC without MULTI}}

    test "A client that closes inside MULTI leaves nothing behind" {
        set c [redis_client]
        $c watch w
        $c multi
        $c set leftover 1
        $c close
        after 50
        r exists leftover
    } {0}

    test "Transactions in RESP3 (HELLO 3)" {
        set c [redis_client]
        $c hello 3
        $c multi
        $c set a 1
        $c get a
        set res [$c exec]
        $c close
        set res
    } {OK 1}
}

start_server {tags {multi}} {
    test "Transaction commands: arity errors (a refused EXEC is an EXECABORT, as in Redis)" {
        set out {}
        catch {r watch} e; lappend out $e
        catch {r multi x} e; lappend out $e
        catch {r exec x} e; lappend out $e
        catch {r discard x} e; lappend out $e
        catch {r unwatch x} e; lappend out $e
        set out
    } {{ERR wrong number of arguments for 'watch' command} {ERR wrong number of arguments for 'multi' command} {EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command} {ERR wrong number of arguments for 'discard' command} {ERR wrong number of arguments for 'unwatch' command}}
}

# maxmemory with the noeviction policy: once used memory is above maxmemory,
# commands that may grow memory get -OOM, reads and deletes still work, and
# nothing is evicted.

set ::oom_error "OOM command not allowed when used memory > 'maxmemory'."

start_server {tags {maxmemory}} {
    test "maxmemory is 0 (unlimited) and the policy noeviction by default" {
        list [r config get maxmemory] [r config get maxmemory-policy]
    } {{maxmemory 0} {maxmemory-policy noeviction}}

    test "Writes get OOM once used memory is above maxmemory" {
        r flushall
        populate 3000 fill: [string repeat v 1000]
        set used [s used_memory]
        r config set maxmemory [expr {$used / 2}]
        catch {r set newkey v} e
        set e
    } $::oom_error

    test "Every command that may grow memory is refused" {
        set out {}
        foreach cmd {{set a b} {setnx a b} {setex a 10 b} {psetex a 10000 b} {mset a b c d}
                     {msetnx a b} {append fill:1 x} {incr counter} {decr counter}
                     {incrby counter 5} {incrbyfloat counter 1.5} {setrange fill:1 0 x}
                     {getset fill:1 x} {copy fill:1 fill:copy} {set fill:1 x get}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        lsort -unique $out
    } [list $::oom_error]

    test "Reads still work while over maxmemory" {
        list [r get fill:1] [r exists fill:2] [r strlen fill:3] [r dbsize] [r ping] \
             [string length [r getrange fill:4 0 9]] [llength [r mget fill:1 fill:2]]
    } [list [string repeat v 1000] 1 1000 3000 PONG 10 2]

    test "Deletes, expires and other commands that free memory still work" {
        list [r del fill:1] [r unlink fill:2] [r getdel fill:3] [r expire fill:4 1000] \
             [r persist fill:4] [r pexpire fill:5 1]
    } [list 1 1 [string repeat v 1000] 1 1 1]

    test "Nothing was evicted under noeviction" {
        s evicted_keys
    } {0}

    test "OOM rejections are counted in commandstats and errorstats" {
        r config resetstat
        catch {r set a b}
        catch {r set a b}
        list [dict get [info_kv [info_field [r info commandstats] cmdstat_set]] rejected_calls] \
             [info_field [r info errorstats] errorstat_OOM]
    } {2 count=2}

    test "INFO memory reports maxmemory and the policy" {
        set d [info_dict [r info memory]]
        list [expr {[dict get $d maxmemory] == [lindex [r config get maxmemory] 1]}] \
             [dict get $d maxmemory_policy]
    } {1 noeviction}

    test "Writes work again after FLUSHALL" {
        r flushall
        r set after v
        r get after
    } {v}

    test "Writes work again after raising maxmemory" {
        populate 3000 fill: [string repeat v 1000]
        r config set maxmemory [expr {[s used_memory] / 2}]
        assert_error "OOM *" {r set x y}
        r config set maxmemory 0
        r set x y
    } {OK}
}

start_server {tags {maxmemory} overrides {maxmemory 4mb maxmemory-policy noeviction}} {
    test "Filling up to maxmemory from the start: writes stop with OOM" {
        set value [string repeat x 10000]
        set written 0
        set err ""
        for {set i 0} {$i < 2000} {incr i} {
            if {[catch {r set big:$i $value} err]} break
            incr written
        }
        assert_morethan $written 10
        assert_lessthan $written 2000
        assert_equal $::oom_error $err
        expr {[r dbsize] == $written}
    } {1}

    test "Used memory stays near maxmemory" {
        assert_lessthan [s used_memory] [expr {6 * 1024 * 1024}]
    }

    test "A pipeline of writes over the limit gets OOM for each write" {
        set c [redis_client]
        set replies [pipeline_commands $c {{set p1 v} {get big:0} {set p2 v} {ping}}]
        $c close
        list [lindex $replies 0] [string length [lindex $replies 1]] [lindex $replies 2] [lindex $replies 3]
    } [list $::oom_error 10000 $::oom_error PONG]

    test "Deleting keys makes room for writes again" {
        r del {*}[r keys big:*]
        r set fresh v
    } {OK}
}

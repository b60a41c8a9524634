# maxmemory. With noeviction: once used memory is above maxmemory, commands
# that may grow memory get -OOM, reads and deletes still work, and nothing is
# evicted. With the other policies (evict.c): memory is brought back under
# the limit by evicting keys, only keys with a TTL for volatile-*, the least
# recently used first for LRU, the least frequently used for LFU, the
# soonest to expire for volatile-ttl; -OOM only when nothing can be evicted;
# evictions are counted, announced as "evicted" keyspace events and logged
# as DEL (a restart from the log does not bring them back).

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

# Fills the current database with n keys prefix0..prefix<n-1> of 1 KB, then
# waits until the server has closed the filling connection: its query
# buffer (about 500 KB of pipelined commands) must not be in used_memory
# when a test derives maxmemory from it.
proc fill_kb {n prefix {ttl 0}} {
    set clients [s connected_clients]
    set c [redis_client]
    set v [string repeat x 1000]
    set batch {}
    for {set i 0} {$i < $n} {incr i} {
        if {$ttl} { lappend batch [list set $prefix$i $v ex $ttl] } else { lappend batch [list set $prefix$i $v] }
        if {[llength $batch] == 500} { pipeline_commands $c $batch; set batch {} }
    }
    if {[llength $batch]} { pipeline_commands $c $batch }
    $c close
    wait_for {[s connected_clients] == $clients} 5000
}

# 1 when used memory is within maxmemory. INFO's used_memory is measured
# while INFO builds its reply (a few KB that eviction did not see), hence
# the 32 KB of slack: far less than what the tests make eviction free.
proc fits_maxmemory {} {
    expr {[s used_memory] <= [lindex [r config get maxmemory] 1] + 32768}
}

# Keys of the list that still exist.
proc surviving {keys} {
    set n 0
    foreach k $keys { incr n [r exists $k] }
    return $n
}

start_server {tags {maxmemory eviction}} {
    test "Every policy can be set and INFO names it" {
        set out {}
        foreach p {volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru allkeys-lfu allkeys-random noeviction} {
            r config set maxmemory-policy $p
            lappend out [expr {[lindex [r config get maxmemory-policy] 1] eq $p && [s maxmemory_policy] eq $p}]
        }
        lsort -unique $out
    } {1}

    foreach policy {allkeys-random allkeys-lru allkeys-lfu} {
        test "$policy: memory is brought under maxmemory by evicting, writes go on" {
            r flushall
            r config set maxmemory 0
            r config set maxmemory-policy $policy
            fill_kb 2000 a:
            set limit [expr {[s used_memory] - 1000 * 1024}]
            r config set maxmemory $limit
            r set after-limit v
            fill_kb 1000 b:
            r ping
            wait_for {[fits_maxmemory]} 5000
            set evicted [s evicted_keys]
            list [expr {$evicted >= 1000}] [expr {[r dbsize] < 3001}] [r config set maxmemory 0]
        } {1 1 OK}
    }

    test "volatile-*: only keys with a TTL are evicted, then OOM" {
        set out {}
        foreach policy {volatile-lru volatile-lfu volatile-random volatile-ttl} {
            r flushall
            r config set maxmemory 0
            r config set maxmemory-policy $policy
            fill_kb 500 keep:
            fill_kb 1500 vol: 1000
            r config set maxmemory [expr {[s used_memory] - 700 * 1024}]
            r ping
            wait_for {[fits_maxmemory]} 5000
            set kept [surviving [lmap i [lsort -integer [lrange [lsearch -all [lrepeat 500 x] x] 0 end]] {set _ keep:$i}]]
            set vol_left [llength [r keys vol:*]]
            # the persistent keys alone are over a smaller limit: nothing can go
            r config set maxmemory [expr {[s used_memory] - 100 * 1024 - $vol_left * 1100}]
            catch {r set new v} e
            lappend out [list $policy $kept [expr {$vol_left < 1500}] [llength [r keys vol:*]] $e]
            r config set maxmemory 0
        }
        set out
    } [list {volatile-lru 500 1 0 {OOM command not allowed when used memory > 'maxmemory'.}} \
            {volatile-lfu 500 1 0 {OOM command not allowed when used memory > 'maxmemory'.}} \
            {volatile-random 500 1 0 {OOM command not allowed when used memory > 'maxmemory'.}} \
            {volatile-ttl 500 1 0 {OOM command not allowed when used memory > 'maxmemory'.}}]

    test "volatile-ttl evicts the keys that expire soonest" {
        r flushall
        r config set maxmemory-policy volatile-ttl
        fill_kb 1000 soon: 100
        fill_kb 1000 late: 100000
        r config set maxmemory [expr {[s used_memory] - 500 * 1024}]
        r ping
        wait_for {[fits_maxmemory]} 5000
        set soon [llength [r keys soon:*]]
        set late [llength [r keys late:*]]
        r config set maxmemory 0
        # sampling is approximate: nearly all evictions hit the soon keys
        list [expr {$late >= 980}] [expr {$soon <= 600}]
    } {1 1}

    test "allkeys-lru keeps the keys in use" {
        r flushall
        r config set maxmemory-policy allkeys-lru
        fill_kb 2000 cold:
        after 2100
        fill_kb 200 hot:
        set hot [lmap i [lsearch -all [lrepeat 200 x] x] {set _ hot:$i}]
        r config set maxmemory [expr {[s used_memory] - 800 * 1024}]
        r ping
        wait_for {[fits_maxmemory]} 5000
        set left [surviving $hot]
        r config set maxmemory 0
        # the cold keys, idle 2 s longer, go first
        list [expr {$left >= 195}] [expr {[llength [r keys cold:*]] < 2000}]
    } {1 1}

    test "allkeys-lfu keeps the keys read often; OBJECT FREQ grows with reads" {
        r flushall
        r config set maxmemory-policy allkeys-lfu
        fill_kb 2000 once:
        fill_kb 100 often:
        set often [lmap i [lsearch -all [lrepeat 100 x] x] {set _ often:$i}]
        set c [redis_client]
        for {set j 0} {$j < 30} {incr j} { pipeline_commands $c [lmap k $often {list get $k}] }
        $c close
        set freq_often [r object freq often:0]
        set freq_once [r object freq once:0]
        r config set maxmemory [expr {[s used_memory] - 800 * 1024}]
        r ping
        wait_for {[fits_maxmemory]} 5000
        set left [surviving $often]
        r config set maxmemory 0
        list [expr {$freq_often > $freq_once}] [expr {$freq_once >= 1}] [expr {$left >= 95}]
    } {1 1 1}

    test "OBJECT FREQ needs an LFU policy; OBJECT IDLETIME an LRU one" {
        r set k v
        r config set maxmemory-policy allkeys-lru
        catch {r object freq k} e1
        r config set maxmemory-policy allkeys-lfu
        catch {r object idletime k} e2
        set f [r object freq k]
        r config set maxmemory-policy noeviction
        list [string match "ERR An LFU maxmemory policy is not selected*" $e1] \
             [string match "ERR An LFU maxmemory policy is selected, idle time not tracked*" $e2] [string is integer $f]
    } {1 1 1}

    test "RESTORE FREQ sets the counter under LFU" {
        r config set maxmemory-policy allkeys-lfu
        r set src v
        set d [r dump src]
        r restore dst 0 $d freq 100
        set f [r object freq dst]
        r config set maxmemory-policy noeviction
        set f
    } {100}

    test "Evictions are announced as 'evicted' keyspace events" {
        r flushall
        r config set notify-keyspace-events Ee
        set rd [redis_deferring_client]
        $rd subscribe __keyevent@0__:evicted
        $rd read
        r config set maxmemory-policy allkeys-random
        fill_kb 300 e:
        r config set maxmemory [expr {[s used_memory] - 100 * 1024}]
        r ping
        set m [$rd read]
        $rd close
        r config set maxmemory 0
        r config set notify-keyspace-events ""
        list [lindex $m 0] [lindex $m 1] [string match e:* [lindex $m 2]]
    } {message __keyevent@0__:evicted 1}
}

start_server {tags {maxmemory eviction entity phenix-only}} {
    test "Evicted entities leave their index: searches return only live entities" {
        r config set maxmemory-policy allkeys-random
        r ph.create ev DIM 16 M 8
        set clients [s connected_clients]
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < 3000} {incr i} {
            set v {}
            for {set d 0} {$d < 16} {incr d} { lappend v [expr {rand()}] }
            lappend batch [list ph.set ev:$i VECTOR [binary format r* $v] META "{\"i\":$i}"]
            if {[llength $batch] == 500} { pipeline_commands $c $batch; set batch {} }
        }
        $c close
        wait_for {[s connected_clients] == $clients} 5000
        r config set maxmemory [expr {[s used_memory] - 300 * 1024}]
        r ping
        wait_for {[fits_maxmemory]} 5000
        r config set maxmemory 0
        set info [r ph.info ev]
        set live [r dbsize]
        set dead 0
        for {set q 0} {$q < 20} {incr q} {
            set v {}
            for {set d 0} {$d < 16} {incr d} { lappend v [expr {rand()}] }
            foreach k [r ph.search ev VECTOR [binary format r* $v] K 50] { if {![r exists $k]} { incr dead } }
        }
        list [expr {[s evicted_keys] > 0}] [expr {[dict get $info vectors] == $live}] \
             [expr {[dict get $info entities] == $live}] $dead
    } {1 1 1 0}
}

start_server {tags {maxmemory eviction persistence phenix-only} overrides {appendonly yes appendfsync always}} {
    test "Evicted keys are logged as DEL: a restart does not bring them back" {
        r config set maxmemory-policy allkeys-random
        fill_kb 1000 w:
        r config set maxmemory [expr {[s used_memory] - 300 * 1024}]
        r ping
        wait_for {[fits_maxmemory]} 5000
        r config set maxmemory 0
        set before [r dbsize]
        set evicted [s evicted_keys]
        restart_server
        list [expr {$evicted > 0}] [expr {[r dbsize] == $before}] [expr {$before < 1000}]
    } {1 1 1}
}

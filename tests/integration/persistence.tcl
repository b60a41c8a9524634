# Durability (docs/persistence.md is the contract): snapshots (SAVE, BGSAVE,
# save points, the snapshot at shutdown, DEBUG RELOAD) and the write-ahead log
# (appendonly, appendfsync always/everysec, BGREWRITEAOF), round trips of every
# type with TTLs, entities, collections and their HNSW graphs, crash tests with
# SIGKILL at random moments (acknowledged writes must survive under always),
# corruption of logs, snapshots and manifests, -LOADING while loading, and
# phenix-check-aof.
#
# The files are Phenix's own formats, so the whole file is phenix-only.

proc fvec {args} { binary format r* $args }

# A reproducible data set of every type in the current db of `r`.
proc fill_every_type {} {
    r set str hello
    r set int 12345
    r set big [string repeat x 5000]
    r set ttl v PX 600000
    r rpush list a b c 1 2 3
    r sadd set m1 m2 m3 7
    r sadd iset 1 2 3 100000
    r zadd zset 1 a 2.5 b -3 c
    r hset hash f1 v1 f2 2
    for {set i 0} {$i < 200} {incr i} { r hset bighash f$i [string repeat v $i] }
    r ph.create docs DIM 4 METRIC L2 M 8
    r ph.create flat PREFIX fl: DIM 3 METRIC COSINE INDEX FLAT
    for {set i 0} {$i < 300} {incr i} {
        r ph.set docs:$i VECTOR [fvec [expr {sin($i)}] [expr {cos($i)}] [expr {$i % 7}] [expr {$i / 300.0}]] META "{\"i\":$i,\"tag\":\"t[expr {$i % 5}]\"}"
    }
    r ph.set docs:nometa VECTOR [fvec 1 2 3 4]
    r ph.set fl:1 VECTOR [fvec 1 0 0] META {{"a":[1,2,{"b":null}]}}
    r ph.set fl:2 VECTOR [fvec 0 3 4]
    r select 3
    r set in-db3 yes
    r select 0
}

# What every key holds (type, value, TTL presence), as a sorted list.
proc dataset_digest {} {
    set out {}
    foreach db {0 3} {
        r select $db
        foreach k [lsort [r keys *]] {
            set t [r type $k]
            switch $t {
                string { set v [r get $k] }
                list { set v [r lrange $k 0 -1] }
                set { set v [lsort [r smembers $k]] }
                zset { set v [r zrange $k 0 -1 withscores] }
                hash { set v [lsort [r hgetall $k]] }
                entity { set v [r ph.get $k] }
                default { set v ? }
            }
            lappend out [list $db $k $t $v [expr {[r pttl $k] > 0}]]
        }
    }
    r select 0
    return $out
}

proc search_digest {} {
    list [r ph.search docs VECTOR [fvec 0.5 0.5 3 0.5] K 10 WITHSCORES] \
        [r ph.search docs VECTOR [fvec -1 0 6 1] K 5 EF 50 WITHSCORES] \
        [r ph.search flat VECTOR [fvec 1 1 1] K 2 WITHSCORES]
}

# Overwrites bytes of a file at an offset.
proc patch_file {path offset bytes} {
    set f [open $path r+]
    fconfigure $f -translation binary
    seek $f $offset
    puts -nonewline $f $bytes
    close $f
}

proc file_bytes {path} { read_file_text $path }

proc aof_dir {} { file join [srv dir] appendonlydir }

# The newest incr file of the log set.
proc last_incr {} {
    lindex [lsort -dictionary [glob -directory [aof_dir] *.incr.phx]] end
}

tags {phenix-only persistence} {

start_server {} {
    test "SAVE and a restart keep every type, TTLs, entities, collections and HNSW graphs" {
        fill_every_type
        set before [dataset_digest]
        set search [search_digest]
        assert_equal OK [r save]
        assert {[file exists [file join [srv dir] dump.phx]]}
        restart_server term
        wait_done_loading
        assert_equal $before [dataset_digest]
        assert_equal $search [search_digest]
        assert_match "* m 8 *" [r ph.info docs]
    }

    test "DEBUG RELOAD gives back the same data set and the same search results" {
        set before [dataset_digest]
        set search [search_digest]
        assert_equal OK [r debug reload]
        assert_equal $before [dataset_digest]
        assert_equal $search [search_digest]
    }

    test "BGSAVE writes a snapshot in the background; LASTSAVE and INFO follow" {
        set saves [s rdb_saves]
        assert_match "Background saving started" [r bgsave]
        wait_for {[s rdb_bgsave_in_progress] == 0} 10000
        assert_equal ok [s rdb_last_bgsave_status]
        assert_equal [expr {$saves + 1}] [s rdb_saves]
        assert_equal 0 [s rdb_changes_since_last_save]
        assert_range [r lastsave] [expr {[clock seconds] - 5}] [expr {[clock seconds] + 1}]
        r set after-bgsave 1
        assert_equal 1 [s rdb_changes_since_last_save]
    }

    test "BGSAVE with an argument other than SCHEDULE is a syntax error" {
        assert_error "*syntax*" {r bgsave now}
    }

    test "Errors: SAVE and BGREWRITEAOF take no argument; BGREWRITEAOF needs appendonly; DEBUG WAL-* bad values" {
        assert_error "*wrong number of arguments for 'save'*" {r save now}
        assert_error "*wrong number of arguments for 'bgrewriteaof'*" {r bgrewriteaof now}
        assert_error "*append-only file is off*" {r bgrewriteaof}
        assert_error "*out of range*" {r debug wal-fail-writes x}
        assert_error "*out of range*" {r debug wal-fail-fsyncs -1}
        assert_error "*Invalid save parameters*" {r config set save "10"}
        assert_error "*Invalid save parameters*" {r config set save "a 1"}
        assert_error "*appendfsync*" {r config set appendfsync sometimes}
    }

    test "Save points: a background save starts once enough changes happened" {
        r config set save "1 3"
        set saves [s rdb_saves]
        r set sp1 1
        r set sp2 2
        r set sp3 3
        wait_for {[s rdb_saves] > $saves} 10000
        assert_equal {1 3} [lindex [r config get save] 1]
        r config set save ""
    }

    test "SHUTDOWN saves when save points exist, SHUTDOWN NOSAVE does not" {
        r config set save "3600 1"
        r set at-shutdown yes
        catch {r shutdown}
        wait_for_server_exit
        restart_server term
        wait_done_loading
        assert_equal yes [r get at-shutdown]
        r set lost-on-nosave yes
        catch {r shutdown nosave}
        wait_for_server_exit
        restart_server term
        wait_done_loading
        assert_equal {} [r get lost-on-nosave]
        r config set save ""
    }
}

start_server {} {
    test "-LOADING while a snapshot loads; INFO shows the loading fields" {
        for {set i 0} {$i < 3000} {incr i} { r set k$i $i }
        r save
        restart_server term {--key-load-delay 1000} none
        set c {}
        wait_for {[catch {set c [redis_client -register 0 -port [srv port]]}] == 0} 10000
        set seen_loading 0
        set saw_perc 0
        for {set i 0} {$i < 200} {incr i} {
            if {[catch {$c get k1} e]} {
                if {[string match "LOADING Redis is loading the dataset in memory" $e]} { set seen_loading 1 }
                set info [$c info persistence]
                if {[info_field $info loading] == 1 && [info_field $info loading_total_bytes] > 0} { set saw_perc 1 }
            } else {
                break
            }
            after 20
        }
        $c close
        assert_equal 1 $seen_loading "a client got the exact LOADING error"
        assert_equal 1 $saw_perc "INFO showed loading:1 with the total bytes"
        restart_server term
        wait_done_loading
        assert_equal 2999 [r get k2999]
        assert_match "*Loading: * bytes*" [read_file_text [srv log]]
    }
}

start_server {overrides {appendonly yes appendfsync always}} {
    test "appendonly yes creates a manifest, a base and an incr file" {
        assert_equal 1 [s aof_enabled]
        set files [lsort [glob -tails -directory [aof_dir] *]]
        assert_equal {appendonly.aof.1.base.phx appendonly.aof.1.incr.phx appendonly.aof.manifest} $files
    }

    test "Every type, entities and graphs survive SIGKILL through the log alone" {
        fill_every_type
        r spop set
        r multi
        r incr counter
        r lpush list tx
        r exec
        r expire str 100000
        set before [dataset_digest]
        set search [search_digest]
        restart_server kill
        wait_done_loading
        assert_equal $before [dataset_digest]
        assert_equal $search [search_digest] "HNSW insertion levels are reproduced by the replay"
    }

    test "A blocking pop served later is logged as the pop it became" {
        set c [redis_deferring_client]
        $c blpop waitq 0
        wait_for {[s blocked_clients] == 1}
        r rpush waitq a b
        assert_equal {waitq a} [$c read]
        $c close
        restart_server kill
        wait_done_loading
        assert_equal {b} [r lrange waitq 0 -1]
    }

    test "Expired keys are logged as deletions, relative TTLs as absolute times" {
        r set short v PX 50
        r set long v EX 1000
        after 200
        assert_equal 0 [r exists short]
        set ttl [r pttl long]
        restart_server kill
        wait_done_loading
        assert_equal 0 [r exists short]
        assert_range [r pttl long] [expr {$ttl - 5000}] $ttl
    }

    test "BGREWRITEAOF compacts into a new base; the old files go" {
        assert_match "*started*" [r bgrewriteaof]
        wait_for {[s aof_rewrite_in_progress] == 0} 20000
        assert_equal ok [s aof_last_bgrewrite_status]
        set files [lsort [glob -tails -directory [aof_dir] *]]
        assert_equal 3 [llength $files] "one base, one incr, the manifest: $files"
        assert_match "*base*" [lindex $files 0]
        r set after-rewrite 1
        set before [dataset_digest]
        restart_server kill
        wait_done_loading
        assert_equal $before [dataset_digest]
    }

    test "CONFIG GET shows the log's settings" {
        assert_equal {appendonly yes} [r config get appendonly]
        assert_equal {appendfsync always} [r config get appendfsync]
    }
}

# The crash test: a pipelined writer records every acknowledged write; the
# server is killed at a random moment (during writes, right after BGSAVE,
# during a rewrite) and restarted; every acknowledged write must be there.
proc crash_round {policy round extra_cmd} {
    set c [redis_deferring_client]
    set acked -1
    set sent 0
    set total [expr {400 + int(rand() * 600)}]
    set kill_at [expr {int(rand() * $total)}]
    set base [expr {$round * 100000}]
    while {$acked < $total - 1} {
        # keep up to 50 commands in flight
        while {$sent < $total && $sent - $acked <= 50} {
            set i [expr {$base + $sent}]
            $c send multi
            $c send rpush log $i
            $c send set k:$i $i
            $c send ph.set vec:$i VECTOR [fvec $i 1 2 3]
            $c send exec
            incr sent
        }
        for {set j 0} {$j < 4} {incr j} { $c read }
        set r [$c read]
        if {[llength $r] != 3} { error "unexpected EXEC reply: $r" }
        incr acked
        if {$acked == $kill_at} {
            if {$extra_cmd ne ""} { r $extra_cmd; after [expr {int(rand() * 5)}] }
            break
        }
    }
    restart_server kill
    wait_done_loading
    # every acknowledged write is there, and the log is a prefix (no holes)
    set loglen [r llen log]
    set missing 0
    for {set n 0} {$n <= $acked} {incr n} {
        set i [expr {$base + $n}]
        if {[r get k:$i] ne $i || [r exists vec:$i] != 1} { incr missing }
    }
    return [list $acked $missing [r lrange log 0 -1]]
}

start_server {overrides {appendonly yes appendfsync always}} {
    r ph.create vecs PREFIX vec: DIM 4 METRIC L2
    foreach {round extra} {0 {} 1 {} 2 bgsave 3 bgrewriteaof 4 {} 5 bgrewriteaof} {
        test "Crash test (always), round $round [expr {$extra ne {} ? "during $extra" : {during writes}}]: every acknowledged write survives SIGKILL" {
            lassign [crash_round always $round $extra] acked missing items
            assert_equal 0 $missing "acknowledged writes lost (acked [expr {$acked + 1}])"
            # the list holds each round's writes in order, with no hole
            set base [expr {$round * 100000}]
            set mine {}
            foreach v $items { if {$v >= $base && $v < $base + 100000} { lappend mine $v } }
            for {set n 0} {$n < [llength $mine]} {incr n} {
                if {[lindex $mine $n] != $base + $n} { fail "hole in the log at $n: [lrange $mine [expr {$n - 2}] [expr {$n + 2}]]" }
            }
            assert_morethan_equal [llength $mine] [expr {$acked + 1}]
            set res [r ph.search vecs VECTOR [fvec $base 1 2 3] K 1 EXACT]
            assert_equal vec:$base [lindex $res 0]
        }
    }
}

start_server {overrides {appendonly yes appendfsync everysec}} {
    r ph.create vecs PREFIX vec: DIM 4 METRIC L2
    test "Crash test (everysec): the data is a prefix of what was written; the loss window is reported" {
        lassign [crash_round everysec 0 {}] acked missing items
        set mine [llength $items]
        puts "    everysec: [expr {$acked + 1}] acknowledged, $missing lost at SIGKILL (bounded by about one second of writes)"
        for {set n 0} {$n < $mine} {incr n} {
            if {[lindex $items $n] != $n} { fail "hole in the log at $n" }
        }
        assert_morethan_equal $mine [expr {$acked + 1 - $missing}]
    }
}

start_server {overrides {appendonly yes appendfsync everysec}} {
    test "A failed log write refuses writes with -MISCONF until the log works again" {
        r set a 1
        r debug wal-fail-writes 20
        r set b 2
        set refused 0
        for {set i 0} {$i < 100} {incr i} {
            if {[catch {r set c$i x} e]} {
                assert_match "MISCONF*append-only*" $e
                set refused 1
                break
            }
            after 5
        }
        assert_equal 1 $refused
        assert_equal err [s aof_last_write_status]
        wait_for {[s aof_last_write_status] eq "ok"} 10000
        assert_equal OK [r set d 4]
        restart_server kill
        wait_done_loading
        assert_equal {1 2 4} [r mget a b d]
    }
}

start_server {overrides {appendonly yes appendfsync always}} {
    test "A torn last record is truncated with a warning; the writes before it load" {
        for {set i 0} {$i < 50} {incr i} { r set t$i $i }
        set f [last_incr]
        set size [file size $f]
        kill_server
        # a record header and half its payload: what an interrupted write leaves
        set fd [open $f a]
        fconfigure $fd -translation binary
        puts -nonewline $fd [binary format iii 0x52584850 100 51][string repeat \x01 40]
        close $fd
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 49 [r get t49]
        assert_equal 50 [r dbsize]
        assert_match "*torn record*truncating it*" [read_file_text [srv log]]
        assert_equal $size [file size $f]
    }

    test "A zero-filled tail (space allocated, never written) is treated as torn" {
        set f [last_incr]
        set size [file size $f]
        kill_server
        set fd [open $f a]
        fconfigure $fd -translation binary
        puts -nonewline $fd [string repeat \x00 4096]
        close $fd
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 50 [r dbsize]
        assert_equal $size [file size $f]
    }

    test "With aof-load-truncated no a torn tail stops the start with a message" {
        set f [last_incr]
        kill_server
        set fd [open $f a]
        fconfigure $fd -translation binary
        puts -nonewline $fd [binary format iii 0x52584850 100 51]
        close $fd
        assert_equal 0 [restart_server term {--aof-load-truncated no}]
        assert_match "*aof-load-truncated is no*" [read_file_text [srv log]]
        # phenix-check-aof shows what it would cut, then cuts it
        catch {exec $::server_binary --check-aof $f} out
        assert_match "*valid records*partial record header*would be cut*" $out
        catch {exec $::server_binary --check-aof --fix $f} out
        assert_match "*Truncated*" $out
        assert_equal 1 [restart_server term {--aof-load-truncated no}]
        wait_done_loading
        assert_equal 50 [r dbsize]
    }

    test "A flipped byte in the middle of the log stops the start: file, offset and record are named" {
        r set more 1
        r set more2 2
        set f [last_incr]
        kill_server
        # inside the payload of the first record
        patch_file $f 30 \xff
        assert_equal 0 [restart_server term]
        set log [read_file_text [srv log]]
        assert_match "*Bad record in the append-only file*offset 0*checksum mismatch*corruption*phenix-check-aof*" $log
    }
}

start_server {overrides {appendonly yes}} {
    test "A manifest naming a missing file stops the start" {
        r set x 1
        set m [file join [aof_dir] appendonly.aof.manifest]
        kill_server
        # a consistent manifest (valid checksum) that names a file that is gone
        set f [last_incr]
        file rename $f $f.moved
        assert_equal 0 [restart_server term]
        assert_match "*cannot be opened*" [read_file_text [srv log]]
        file rename $f.moved $f
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 1 [r get x]
    }

    test "A damaged manifest (bad checksum) stops the start" {
        set m [file join [aof_dir] appendonly.aof.manifest]
        kill_server
        set text [read_file_text $m]
        write_file_text $m [string map {incr incR} $text]
        assert_equal 0 [restart_server term]
        assert_match "*manifest*damaged*" [read_file_text [srv log]]
        write_file_text $m $text
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 1 [r get x]
    }

    test "A zero-length incr file is an empty log" {
        r bgrewriteaof
        wait_for {[s aof_rewrite_in_progress] == 0} 20000
        kill_server
        assert_equal 0 [file size [last_incr]]
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 1 [r get x]
    }
}

start_server {} {
    test "Snapshot damage is refused: flipped byte, truncation, zero length" {
        for {set i 0} {$i < 100} {incr i} { r set s$i $i }
        r save
        set f [file join [srv dir] dump.phx]
        set good [file_bytes $f]
        kill_server
        patch_file $f 40 \x00\xff
        assert_equal 0 [restart_server term]
        assert_match "*checksum mismatch*block*offset*" [read_file_text [srv log]]
        write_file_text $f [string range $good 0 end-20]
        assert_equal 0 [restart_server term]
        assert_match "*truncated*" [read_file_text [srv log]]
        write_file_text $f ""
        assert_equal 0 [restart_server term]
        assert_match "*not a Phenix snapshot*" [read_file_text [srv log]]
        write_file_text $f $good
        assert_equal 1 [restart_server term]
        wait_done_loading
        assert_equal 100 [r dbsize]
    }
}

start_server {} {
    test "CONFIG SET appendonly yes at run time writes a base of what is in memory" {
        r set before-aof 1
        r ph.create c1 DIM 2 METRIC L2
        r ph.set c1:a VALUES 2 1 2
        assert_equal OK [r config set appendonly yes]
        assert_equal 1 [s aof_enabled]
        r set after-aof 2
        restart_server kill {--appendonly yes}
        wait_done_loading
        assert_equal {1 2} [r mget before-aof after-aof]
        assert_equal {c1:a} [r ph.search c1 VALUES 2 1 2 K 1]
    }

    test "appendonly off and on again under always: writes after it are durable" {
        r config set appendfsync always
        for {set i 0} {$i < 20} {incr i} { r set x$i $i }
        assert_equal OK [r config set appendonly no]
        assert_equal 0 [s aof_enabled]
        r set while-off 1
        assert_equal OK [r config set appendonly yes]
        for {set i 0} {$i < 20} {incr i} { r set y$i $i }
        restart_server kill {--appendonly yes}
        wait_done_loading
        assert_equal {19 1 19} [r mget x19 while-off y19]
    }
}

}

tags {phenix-only persistence} {
start_server {overrides {appendonly yes}} {
    test "Function libraries survive snapshots, rewrites and log replay" {
        r function load {#!lua name=mylib
redis.register_function('myfn', function(keys, args) return redis.call('incr', keys[1]) end)}
        assert_equal 1 [r fcall myfn 1 fk]
        restart_server kill
        wait_done_loading
        assert_equal 2 [r fcall myfn 1 fk]
        r bgrewriteaof
        wait_for {[s aof_rewrite_in_progress] == 0} 20000
        restart_server kill
        wait_done_loading
        assert_equal 3 [r fcall myfn 1 fk]
        r debug reload
        assert_equal 4 [r fcall myfn 1 fk]
        assert_equal mylib [dict get [lindex [r function list] 0] library_name]
    }
}
}

tags {phenix-only persistence} {
start_server {overrides {appendonly yes}} {
    test "Files the manifest does not name (an interrupted rewrite) are removed at start-up" {
        r set k v
        set stale [file join [aof_dir] appendonly.aof.9.base.phx]
        write_file_text $stale "left over"
        write_file_text [file join [aof_dir] appendonly.aof.9.base.phx.tmp-123] "left over"
        restart_server kill
        wait_done_loading
        assert_equal v [r get k]
        assert_equal 0 [file exists $stale]
        assert_equal 3 [llength [glob -directory [aof_dir] *]]
    }
}
}

tags {phenix-only persistence} {
start_server {overrides {appendonly yes appendfsync always}} {
    test "A failed fsync under always: the reply waits, the log is rewritten from memory, then the write is acknowledged" {
        r set before 1
        set rewrites [s aof_rewrites]
        r debug wal-fail-fsyncs 1
        assert_equal OK [r set during 2]
        assert_equal [expr {$rewrites + 1}] [s aof_rewrites]
        assert_match "*Fsync of the append-only file failed*rewritten from memory*" [read_file_text [srv log]]
        assert_match "*writes are accepted again*" [read_file_text [srv log]]
        assert_equal OK [r set after 3]
        restart_server kill
        wait_done_loading
        assert_equal {1 2 3} [r mget before during after]
    }
}
}

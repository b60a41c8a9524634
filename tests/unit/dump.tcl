# DUMP and RESTORE: round trips of every type and encoding, TTL, ABSTTL,
# REPLACE, BUSYKEY, IDLETIME, FREQ, the error replies (checked against Redis
# where the wording is Redis's), entities with vectors and metadata, and a
# fuzz pass: mutated and truncated payloads (checksums skipped so that the
# decoder itself is exercised) are refused or restored, never a crash.

proc fvec {args} { binary format r* $args }

# The value of key k as a comparable Tcl value.
proc value_of {k} {
    switch [r type $k] {
        string { return [r get $k] }
        list { return [r lrange $k 0 -1] }
        set { return [lsort [r smembers $k]] }
        zset { return [r zrange $k 0 -1 withscores] }
        hash { return [lsort [r hgetall $k]] }
        entity { return [r ph.get $k] }
        none { return <none> }
    }
}

start_server {tags {dump}} {
    test "DUMP of a missing key is nil" {
        r dump nosuchkey
    } {}

    test "DUMP / RESTORE round trip of every type and encoding" {
        r set s hello
        r set n 4242
        r set long [string repeat ab 3000]
        r rpush l a b c
        r rpush biglist {*}[lrepeat 300 item]
        r sadd st a b c
        r sadd is 1 2 3
        r zadd z 1 a 2 b 3.5 c
        r zadd bigz {*}[concat {*}[lmap i [lsearch -all [lrepeat 200 x] x] {list $i m$i}]]
        r hset h f v g w
        r hset bigh {*}[concat {*}[lmap i [lsearch -all [lrepeat 600 x] x] {list f$i v$i}]]
        foreach k {s n long l biglist st is z bigz h bigh} {
            set d [r dump $k]
            r restore $k-copy 0 $d
            assert_equal [value_of $k] [value_of $k-copy] "key $k"
            assert_equal [r type $k] [r type $k-copy]
            assert_equal [r object encoding $k] [r object encoding $k-copy] "encoding of $k"
        }
    }

    test "RESTORE on an existing key: BUSYKEY, then REPLACE" {
        set d [r dump s]
        assert_error "BUSYKEY Target key name already exists." {r restore n 0 $d}
        assert_equal OK [r restore n 0 $d replace]
        r get n
    } {hello}

    test "RESTORE with a TTL, with ABSTTL, and with an ABSTTL in the past" {
        set d [r dump s]
        r restore t1 10000 $d
        assert_range [r pttl t1] 9000 10000
        r restore t2 [expr {[clock milliseconds] + 20000}] $d absttl
        assert_range [r pttl t2] 19000 20000
        assert_equal OK [r restore t3 1000 $d absttl]
        r exists t3
    } {0}

    test "RESTORE IDLETIME and FREQ set the object's idle time; both together is an error" {
        set d [r dump s]
        r restore idle 0 $d idletime 1000
        assert_range [r object idletime idle] 1000 1010
        r restore freq 0 $d freq 100
        assert_error "*syntax*" {r restore both 0 $d idletime 1 freq 1}
        assert_error "*Invalid IDLETIME value, must be >= 0*" {r restore x 0 $d idletime -1}
        assert_error "*Invalid FREQ value, must be >= 0 and <= 255*" {r restore x 0 $d freq 256}
    }

    test "RESTORE errors: negative TTL, not an integer, bad payload, unknown option" {
        set d [r dump s]
        assert_error "*Invalid TTL value, must be >= 0*" {r restore x -1 $d}
        assert_error "*not an integer*" {r restore x abc $d}
        assert_error "*DUMP payload version or checksum are wrong*" {r restore x 0 "garbage"}
        assert_error "*DUMP payload version or checksum are wrong*" {r restore x 0 [string range $d 0 end-1]}
        assert_error "*syntax*" {r restore x 0 $d bogus}
        assert_equal 0 [r exists x]
    }

    test "A flipped byte anywhere in a payload is refused" {
        set d [r dump l]
        for {set i 0} {$i < [string length $d]} {incr i} {
            set b [string index $d $i]
            binary scan $b c v
            set bad [string replace $d $i $i [binary format c [expr {$v ^ 0x10}]]]
            assert_error "*DUMP payload version or checksum are wrong*" {r restore flipped 0 $bad}
        }
        r exists flipped
    } {0}

    test "RESTORE of an old key and DUMP keep WATCH semantics (RESTORE touches the key)" {
        set d [r dump s]
        r watch s
        set c [redis_client]
        $c restore s 0 $d replace
        $c close
        r multi
        r get s
        r exec
    } {}
}

start_server {tags {dump phenix-only}} {
    test "Entities: DUMP / RESTORE into the same collection keeps vector and metadata, and indexes them" {
        r ph.create docs DIM 3 METRIC L2
        r ph.set docs:1 VECTOR [fvec 1 2 3] META {{"a":1,"b":[1,2]}}
        set d [r dump docs:1]
        r restore docs:2 0 $d
        assert_equal [r ph.get docs:2] [r ph.get docs:1]
        assert_equal {docs:1 docs:2} [lsort [r ph.search docs VECTOR [fvec 1 2 3] K 5]]
        assert_equal entity [r type docs:2]
    }

    test "Entities: RESTORE into another collection with another DIM is refused, nothing stored" {
        r ph.create other DIM 2 METRIC L2
        set d [r dump docs:1]
        assert_error "*DIM*" {r restore other:1 0 $d}
        r exists other:1
    } {0}

    test "Entities: RESTORE REPLACE of an indexed entity replaces it in the index" {
        r ph.set docs:3 VECTOR [fvec 9 9 9]
        set d [r dump docs:1]
        r restore docs:3 0 $d replace
        assert_equal 3 [llength [r ph.search docs VECTOR [fvec 1 2 3] K 5]]
        assert_equal [r ph.get docs:1] [r ph.get docs:3]
        assert_morethan [lindex [r ph.search docs VECTOR [fvec 9 9 9] K 1 WITHSCORES] 0 3] 1.0
    }

    test "Fuzz: mutated and truncated payloads are refused or restored, never a crash" {
        r ph.create fz DIM 4 METRIC COSINE
        r ph.set fz:src VECTOR [fvec 1 2 3 4] META {{"k":"v","n":[1,2,3]}}
        r rpush fl a b c d
        r sadd fs a b c 1 2 3
        r sadd fi 1 2 3
        r zadd fzs 1 a 2 b
        r hset fh a 1 b 2
        r set fstr abcdef
        set dumps {}
        foreach k {fz:src fl fs fi fzs fh fstr} { lappend dumps [r dump $k] }
        r debug set-skip-checksum-validation 1
        set restored 0
        set refused 0
        expr {srand(42)}
        for {set i 0} {$i < 2000} {incr i} {
            set d [lindex $dumps [expr {$i % [llength $dumps]}]]
            set body [string range $d 0 end-10]
            set foot [string range $d end-9 end]
            set n [string length $body]
            switch [expr {$i % 3}] {
                0 {
                    for {set m 0} {$m < 1 + int(rand() * 3)} {incr m} {
                        set p [expr {int(rand() * $n)}]
                        set body [string replace $body $p $p [binary format c [expr {int(rand() * 256)}]]]
                    }
                }
                1 { set body [string range $body 0 [expr {int(rand() * $n) - 1}]] }
                2 { append body [binary format c [expr {int(rand() * 256)}]] }
            }
            set key fz:[expr {$i % 2 ? "x$i" : "y"}]
            if {[catch {r restore $key 0 $body$foot replace} e]} {
                incr refused
            } else {
                incr restored
                value_of $key
                r del $key
            }
        }
        r debug set-skip-checksum-validation 0
        assert_morethan $refused 500
        assert_equal PONG [r ping]
        # the collection is still consistent: only fz:src is indexed
        r ph.search fz VECTOR [fvec 1 2 3 4] K 10
    } {fz:src}
}

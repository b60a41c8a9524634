# Quantized collections (QUANT Q8 / BIN, NOEXACT, RESCORE) and vector blobs in
# FP16 and INT8 (docs/quantization.md). Recall is checked against EXACT on
# the same collection (EXACT scans the exact vectors, or the decoded codes
# under NOEXACT), before and after deletes and updates and after a reload.

proc fvec {args} { binary format r* $args }

# Fills coll with n random vectors of dim components in [-1, 1) through a
# pipelined client; keys coll:0 .. coll:n-1.
proc fill_random {coll n dim seed} {
    expr {srand($seed)}
    set c [redis_deferring_client]
    for {set i 0} {$i < $n} {incr i} {
        set v {}
        for {set d 0} {$d < $dim} {incr d} { lappend v [expr {rand() * 2 - 1}] }
        $c ph.set $coll:$i VECTOR [fvec {*}$v]
    }
    for {set i 0} {$i < $n} {incr i} { $c read }
    $c close
}

# recall@10 of PH.SEARCH against PH.SEARCH EXACT over nq random queries.
proc quant_recall {coll dim nq args} {
    set hits 0
    set total 0
    for {set t 0} {$t < $nq} {incr t} {
        set v {}
        for {set d 0} {$d < $dim} {incr d} { lappend v [expr {rand() * 2 - 1}] }
        set q [fvec {*}$v]
        set got [r ph.search $coll VECTOR $q K 10 {*}$args]
        set want [r ph.search $coll VECTOR $q K 10 EXACT]
        foreach k $got { if {$k in $want} { incr hits } }
        incr total [llength $want]
    }
    expr {double($hits) / $total}
}

start_server {tags {entity phenix-only quant}} {
    test "QUANT Q8: recall against EXACT, codes counted in PH.INFO" {
        r ph.create q8 DIM 32 METRIC L2 QUANT Q8
        fill_random q8 2000 32 11
        set info [r ph.info q8]
        set bpv [dict get $info bytes_per_vector]
        list [dict get $info quant] [dict get $info exact_vectors] [dict get $info rescore] \
            [expr {[dict get $info memory_codes] >= 2000 * 40}] \
            [expr {[dict get $bpv codes] >= 40 && [dict get $bpv codes] < 60}] \
            [expr {[dict get $bpv exact_vectors] >= 128}] \
            [expr {[quant_recall q8 32 20] >= 0.9}]
    } {Q8 yes 2 1 1 1 1}

    test "QUANT Q8: scores are exact distances after rescoring" {
        set q [fvec {*}[lrepeat 32 0.25]]
        set a [r ph.search q8 VECTOR $q K 5 WITHSCORES]
        set b [r ph.search q8 VECTOR $q K 5 WITHSCORES EXACT]
        set ok [expr {[llength $a] == 5}]
        foreach ra $a rb $b {
            if {[dict get $ra key] ne [dict get $rb key] || abs([dict get $ra score] - [dict get $rb score]) > 1e-4} {
                set ok 0
            }
        }
        set ok
    } {1}

    test "RESCORE per query; bad values are errors" {
        set q [fvec {*}[lrepeat 32 0.1]]
        set r1 [r ph.search q8 VECTOR $q K 10 RESCORE 1]
        set r8 [r ph.search q8 VECTOR $q K 10 RESCORE 8]
        catch {r ph.search q8 VECTOR $q RESCORE 0} e1
        catch {r ph.search q8 VECTOR $q RESCORE 101} e2
        list [llength $r1] [llength $r8] $e1 $e2
    } {10 10 {ERR RESCORE must be between 1 and 100} {ERR RESCORE must be between 1 and 100}}

    test "QUANT Q8 keeps its recall through deletes and updates" {
        for {set i 0} {$i < 2000} {incr i 5} { r del q8:$i }
        expr {srand(3)}
        for {set i 1} {$i < 2000} {incr i 10} {
            set v {}
            for {set d 0} {$d < 32} {incr d} { lappend v [expr {rand() * 2 - 1}] }
            r ph.set q8:$i VECTOR [fvec {*}$v]
        }
        list [dict get [r ph.info q8] vectors] [expr {[quant_recall q8 32 20] >= 0.9}]
    } {1600 1}

    test "QUANT Q8 NOEXACT: no fp32 vectors, decoded values within half a step" {
        r ph.create q8n DIM 16 METRIC COSINE QUANT Q8 NOEXACT
        fill_random q8n 1500 16 12
        r ph.set q8n:x VALUES 16 1 -2 3 -4 5 -6 7 -8 9 -10 11 -12 13 -14 15 -127
        set vals [dict get [r ph.get q8n:x VALUES] values]
        set want {1 -2 3 -4 5 -6 7 -8 9 -10 11 -12 13 -14 15 -127}
        set err 0
        foreach a $vals b $want { set err [expr {max($err, abs($a - $b))}] }
        set info [r ph.info q8n]
        list [dict get $info exact_vectors] [dict get $info memory_vectors] [expr {$err <= 0.5}] \
            [expr {[quant_recall q8n 16 20] >= 0.85}]
    } {no 0 1 1}

    test "QUANT BIN with exact rescoring" {
        r ph.create bin DIM 64 METRIC COSINE QUANT BIN
        fill_random bin 2000 64 13
        set info [r ph.info bin]
        list [dict get $info quant] [dict get $info rescore] \
            [expr {[dict get [dict get $info bytes_per_vector] codes] < 16}] \
            [expr {[quant_recall bin 64 20] >= 0.8}]
    } {BIN 16 1 1}

    test "QUANT BIN NOEXACT answers with estimated distances" {
        r ph.create binn DIM 64 METRIC IP QUANT BIN NOEXACT RESCORE 4
        fill_random binn 500 64 14
        set res [r ph.search binn VECTOR [fvec {*}[lrepeat 64 0.5]] K 5 WITHSCORES]
        set info [r ph.info binn]
        list [llength $res] [dict get $info memory_vectors] [dict get $info rescore]
    } {5 0 4}

    test "QUANT errors say what does not fit" {
        set out {}
        catch {r ph.create e1 DIM 8 METRIC L2 QUANT BIN NOEXACT} e; lappend out $e
        catch {r ph.create e2 DIM 8 INDEX FLAT QUANT Q8} e; lappend out $e
        catch {r ph.create e3 DIM 8 QUANT NONE NOEXACT} e; lappend out $e
        catch {r ph.create e3b DIM 8 METRIC L2 QUANT BIN ONDISK} e; lappend out $e
        catch {r ph.create e4 DIM 8 QUANT Q4} e; lappend out $e
        catch {r ph.create e5 DIM 8 RESCORE 3} e; lappend out $e
        catch {r ph.create e6 DIM 8 QUANT Q8 RESCORE 0} e; lappend out $e
        catch {r ph.create e7 QUANT Q8} e; lappend out $e
        set out
    } {{ERR QUANT BIN NOEXACT or ONDISK needs METRIC COSINE or IP: a graph on signs alone gives no L2 distance} {ERR QUANT needs DIM and INDEX HNSW} {ERR NOEXACT and ONDISK need QUANT Q8 or BIN} {ERR QUANT BIN NOEXACT or ONDISK needs METRIC COSINE or IP: a graph on signs alone gives no L2 distance} {ERR unknown QUANT 'Q4' (Q8, BIN or NONE)} {ERR RESCORE needs QUANT Q8 or BIN, or INDEX IVFPQ} {ERR RESCORE must be between 1 and 100} {ERR QUANT needs DIM and INDEX HNSW}}

    test "Quantized collections come back from DEBUG RELOAD with the same answers" {
        set q [fvec {*}[lrepeat 32 0.3]]
        set q16 [fvec {*}[lrepeat 16 0.3]]
        set q64 [fvec {*}[lrepeat 64 0.3]]
        set before [list [r ph.search q8 VECTOR $q K 10 WITHSCORES] [r ph.search q8n VECTOR $q16 K 10 WITHSCORES] \
                        [r ph.search bin VECTOR $q64 K 10] [r ph.search binn VECTOR $q64 K 10 WITHSCORES] \
                        [r ph.get q8n:x VALUES]]
        assert_equal OK [r debug reload]
        set after [list [r ph.search q8 VECTOR $q K 10 WITHSCORES] [r ph.search q8n VECTOR $q16 K 10 WITHSCORES] \
                       [r ph.search bin VECTOR $q64 K 10] [r ph.search binn VECTOR $q64 K 10 WITHSCORES] \
                       [r ph.get q8n:x VALUES]]
        set i1 [r ph.info q8n]
        list [expr {$before eq $after}] [dict get $i1 quant] [dict get $i1 exact_vectors] [dict get $i1 memory_vectors]
    } {1 Q8 no 0}
}

start_server {tags {entity phenix-only quant}} {
    test "QUANT Q8 ONDISK: codes in memory, exact vectors in a file, exact recall and values" {
        r ph.create qd DIM 32 METRIC L2 QUANT Q8 ONDISK
        fill_random qd 2000 32 21
        r ph.set qd:x VALUES 32 {*}[lrepeat 32 0.123456]
        set info [r ph.info qd]
        set vals [dict get [r ph.get qd:x VALUES] values]
        list [dict get $info exact_vectors] [dict get $info memory_vectors] [dict get $info vector_file_bytes] \
            [expr {abs([lindex $vals 0] - 0.123456) < 1e-7}] \
            [expr {[dict get [dict get $info bytes_per_vector] exact_vectors_on_disk] == 128}] \
            [expr {[quant_recall qd 32 20] >= 0.95}]
    } {disk 0 256128 1 1 1}

    test "QUANT Q8 ONDISK: scores are exact; freed records are reused" {
        set q [fvec {*}[lrepeat 32 0.25]]
        set a [r ph.search qd VECTOR $q K 5 WITHSCORES]
        set b [r ph.search qd VECTOR $q K 5 WITHSCORES EXACT]
        set same 1
        foreach ra $a rb $b {
            if {[dict get $ra key] ne [dict get $rb key] || abs([dict get $ra score] - [dict get $rb score]) > 1e-4} {
                set same 0
            }
        }
        for {set i 0} {$i < 400} {incr i} { r del qd:$i }
        fill_random qd 400 32 22 ;# the same 400 keys again
        for {set i 400} {$i < 600} {incr i} { r ph.set qd:$i VALUES 32 {*}[lrepeat 32 [expr {$i / 1000.0}]] }
        # 2001 records plus one: an update writes its new record before it frees the old one
        list $same [dict get [r ph.info qd] vector_file_bytes] [dict get [r ph.info qd] vectors] \
            [lindex [dict get [r ph.get qd:450 VALUES] values] 5] [expr {[quant_recall qd 32 20] >= 0.95}]
    } {1 256256 2001 0.44999998807907104 1}

    test "QUANT Q8 ONDISK comes back from DEBUG RELOAD and a BGSAVE restart with exact vectors" {
        set q [fvec {*}[lrepeat 32 0.3]]
        set before [list [r ph.search qd VECTOR $q K 10 WITHSCORES] [r ph.get qd:x VALUES] [r ph.get qd:450 VALUES]]
        assert_equal OK [r debug reload]
        set after1 [list [r ph.search qd VECTOR $q K 10 WITHSCORES] [r ph.get qd:x VALUES] [r ph.get qd:450 VALUES]]
        # a background save while the set changes: the child reads the
        # records its copy of the keyspace points at
        r bgsave
        for {set i 600} {$i < 700} {incr i} { r del qd:$i }
        for {set i 700} {$i < 800} {incr i} { r ph.set qd:$i VALUES 32 {*}[lrepeat 32 9] }
        wait_for {[s rdb_bgsave_in_progress] == 0} 10000
        assert_equal ok [s rdb_last_bgsave_status]
        restart_server term {--save ""}
        wait_done_loading
        set after2 [list [r ph.search qd VECTOR $q K 10 WITHSCORES] [r ph.get qd:x VALUES] [r ph.get qd:450 VALUES]]
        list [expr {$before eq $after1}] [expr {$after2 eq $before}] [dict get [r ph.info qd] exact_vectors]
    } {1 1 disk}

    test "VECTOR FP16 and INT8 blobs store the values they encode" {
        r ph.create v DIM 4 METRIC L2
        # binary16: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800, 1024 = 0x6400
        r ph.set v:h VECTOR FP16 [binary format s* {0x3c00 0xc000 0x3800 0x6400}]
        r ph.set v:i VECTOR INT8 [binary format c* {1 -128 127 0}]
        r ph.set v:f VECTOR FP32 [fvec 1 2 3 4]
        list [dict get [r ph.get v:h VALUES] values] [dict get [r ph.get v:i VALUES] values] \
            [dict get [r ph.get v:f VALUES] values]
    } {{1 -2 0.5 1024} {1 -128 127 0} {1 2 3 4}}

    test "PH.GET VECTOR FP16 / INT8 encode the stored vector" {
        r ph.set v:r VALUES 4 1.5 300 -1000 2.5
        set h [dict get [r ph.get v:h VECTOR FP16] vector]
        set i8 [dict get [r ph.get v:r VECTOR INT8] vector]
        binary scan $i8 c* ints
        list [expr {$h eq [binary format s* {0x3c00 0xc000 0x3800 0x6400}]}] [string length $i8] $ints \
            [string length [dict get [r ph.get v:r VECTOR FP32] vector]]
    } {1 4 {2 127 -128 2} 16}

    test "PH.SEARCH takes an FP16 query" {
        r ph.search v VECTOR FP16 [binary format s* {0x3c00 0xc000 0x3800 0x6400}] K 1
    } {v:h}

    test "Blob errors name the format and the sizes" {
        set out {}
        catch {r ph.set v:x VECTOR FP16 abc} e; lappend out $e
        catch {r ph.set v:x VECTOR INT8 abc} e; lappend out $e
        # infinity in binary16 (0x7c00) is not a finite component
        catch {r ph.set v:x VECTOR FP16 [binary format s* {0x7c00 0 0 0}]} e; lappend out $e
        set out
    } {{ERR vector dimension mismatch: expected 4, got a FP16 blob of 3 bytes (8 expected)} {ERR vector dimension mismatch: expected 4, got 3} {ERR vector component 0 is not a finite number}}

    test "A 4-byte FP32 blob that spells a format name is still a vector when last" {
        r ph.create one DIM 1 METRIC L2
        r ph.set one:a VECTOR fp16
        string length [dict get [r ph.get one:a VECTOR] vector]
    } {4}
}

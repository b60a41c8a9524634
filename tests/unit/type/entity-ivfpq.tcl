# INDEX IVFPQ collections (docs/quantization.md): exact answers until the
# collection holds enough vectors to train, training in the background with
# progress in PH.INFO, then IVF-PQ search (NPROBE) with optional exact
# rescoring (RESCORE keeps the exact vectors in the vector file), deletes and
# updates in every state, filters, and the index back from a reload without
# retraining.

proc fvec {args} { binary format r* $args }

proc rand_vec {dim} {
    set v {}
    for {set d 0} {$d < $dim} {incr d} { lappend v [expr {rand() * 2 - 1}] }
    return $v
}

# n random vectors of dim into coll:0..n-1 through a pipelined client, with
# metadata {"odd": true|false}.
proc fill_ivf {coll n dim seed} {
    expr {srand($seed)}
    set c [redis_deferring_client]
    for {set i 0} {$i < $n} {incr i} {
        $c ph.set $coll:$i VECTOR [fvec {*}[rand_vec $dim]] META "{\"odd\":[expr {$i % 2 ? "true" : "false"}]}"
    }
    for {set i 0} {$i < $n} {incr i} { $c read }
    $c close
}

proc ivf_recall {coll dim nq args} {
    set hits 0
    set total 0
    for {set t 0} {$t < $nq} {incr t} {
        set q [fvec {*}[rand_vec $dim]]
        set got [r ph.search $coll VECTOR $q K 10 {*}$args]
        set want [r ph.search $coll VECTOR $q K 10 EXACT]
        foreach k $got { if {$k in $want} { incr hits } }
        incr total [llength $want]
    }
    expr {double($hits) / $total}
}

start_server {tags {entity phenix-only quant ivfpq}} {
    test "IVFPQ before training answers exactly and says so" {
        r ph.create iv DIM 16 METRIC L2 INDEX IVFPQ NLIST 32 PQ_M 8 NPROBE 4 RESCORE 8
        fill_ivf iv 500 16 31
        set info [r ph.info iv]
        set q [fvec {*}[rand_vec 16]]
        list [dict get $info index] [dict get $info index_state] [expr {[dict get $info index_progress] < 100}] \
            [expr {[r ph.search iv VECTOR $q K 10] eq [r ph.search iv VECTOR $q K 10 EXACT]}] \
            [dict get $info nlist] [dict get $info pq_m] [dict get $info nprobe] [dict get $info exact_vectors]
    } {IVFPQ {untrained (exact search)} 1 1 32 8 4 disk}

    test "IVFPQ trains in the background once it has enough vectors, then encodes" {
        fill_ivf iv 10500 16 32
        wait_for {[dict get [r ph.info iv] index_state] eq "ready"} 60000 50 "IVF-PQ did not become ready"
        set info [r ph.info iv]
        list [dict get $info trainings] [dict get $info vectors] [expr {[dict get $info memory_codes] >= 10500 * 8}] \
            [expr {[dict get $info memory_vectors] == 0}] [dict get $info index_progress]
    } {1 10500 1 1 100}

    test "IVFPQ recall grows with NPROBE; RESCORE gives exact scores" {
        set r1 [ivf_recall iv 16 20 NPROBE 1]
        set r32 [ivf_recall iv 16 20 NPROBE 32]
        set q [fvec {*}[rand_vec 16]]
        set a [r ph.search iv VECTOR $q K 3 WITHSCORES NPROBE 32 RESCORE 20]
        # RESCORE 1 still re-ranks its K by the exact vectors: exact scores
        set a1 [r ph.search iv VECTOR $q K 3 WITHSCORES NPROBE 32 RESCORE 1]
        set exact1 1
        foreach ra $a1 {
            set v [dict get [r ph.get [dict get $ra key] VECTOR] vector]
            binary scan $v r* comps
            binary scan $q r* qc
            set d 0
            foreach x $comps y $qc { set d [expr {$d + ($x - $y) * ($x - $y)}] }
            if {abs(sqrt($d) - [dict get $ra score]) > 1e-3} { set exact1 0 }
        }
        set b [r ph.search iv VECTOR $q K 3 WITHSCORES EXACT]
        set same 1
        foreach ra $a rb $b {
            if {abs([dict get $ra score] - [dict get $rb score]) > 1e-4} { set same 0 }
        }
        list [expr {$r32 > $r1}] [expr {$r32 >= 0.9}] $same $exact1
    } {1 1 1 1}

    test "IVFPQ deletes and updates after training" {
        for {set i 0} {$i < 10500} {incr i 3} { r del iv:$i }
        r ph.set iv:1 VALUES 16 {*}[lrepeat 16 5]
        set hit [lindex [r ph.search iv VALUES 16 {*}[lrepeat 16 5] K 1 NPROBE 32] 0]
        set q [fvec {*}[rand_vec 16]]
        set dead 0
        foreach k [r ph.search iv VECTOR $q K 50 NPROBE 32] {
            if {[scan $k iv:%d n] == 1 && $n % 3 == 0} { incr dead }
        }
        list $hit $dead [dict get [r ph.info iv] vectors] [expr {[ivf_recall iv 16 20 NPROBE 32] >= 0.9}]
    } {iv:1 0 7000 1}

    test "IVFPQ with a FILTER returns only matches, K of them" {
        set res [r ph.search iv VECTOR [fvec {*}[rand_vec 16]] K 10 FILTER {.odd} NPROBE 4]
        set ok [expr {[llength $res] == 10}]
        foreach k $res {
            if {[scan $k iv:%d n] != 1 || $n % 2 == 0} { set ok 0 }
        }
        set ok
    } {1}

    test "IVFPQ comes back from DEBUG RELOAD trained, with the same answers" {
        set qs {}
        for {set t 0} {$t < 5} {incr t} { lappend qs [fvec {*}[rand_vec 16]] }
        set before {}
        foreach q $qs { lappend before [r ph.search iv VECTOR $q K 5 WITHSCORES NPROBE 8] }
        assert_equal OK [r debug reload]
        set after {}
        foreach q $qs { lappend after [r ph.search iv VECTOR $q K 5 WITHSCORES NPROBE 8] }
        set info [r ph.info iv]
        list [expr {$before eq $after}] [dict get $info index_state] [dict get $info vectors] \
            [lindex [dict get [r ph.get iv:1 VALUES] values] 0]
    } {1 ready 7000 5}

    test "IVFPQ without RESCORE keeps codes only: PH.GET gives the reconstruction" {
        r ph.create iv2 DIM 8 METRIC L2 INDEX IVFPQ NLIST 4 PQ_M 4
        fill_ivf iv2 10000 8 33
        r ph.set iv2:x VALUES 8 0.5 -0.5 0.25 -0.25 0.1 -0.1 0.2 -0.2
        wait_for {[dict get [r ph.info iv2] index_state] eq "ready"} 60000 50 "IVF-PQ did not become ready"
        set vals [dict get [r ph.get iv2:x VALUES] values]
        set err 0
        foreach a $vals b {0.5 -0.5 0.25 -0.25 0.1 -0.1 0.2 -0.2} { set err [expr {max($err, abs($a - $b))}] }
        set info [r ph.info iv2]
        list [dict get $info exact_vectors] [dict get $info vector_file_bytes] [expr {$err > 0 && $err < 0.5}] \
            [lindex [r ph.search iv2 VALUES 8 0.5 -0.5 0.25 -0.25 0.1 -0.1 0.2 -0.2 K 1 NPROBE 4] 0]
    } {no 0 1 iv2:x}

    test "IVFPQ errors say what does not fit" {
        set out {}
        catch {r ph.create e1 DIM 10 INDEX IVFPQ PQ_M 3} e; lappend out $e
        catch {r ph.create e2 DIM 10 NLIST 3} e; lappend out $e
        catch {r ph.create e3 DIM 10 INDEX IVFPQ PQ_BITS 4} e; lappend out $e
        catch {r ph.create e4 INDEX IVFPQ} e; lappend out $e
        catch {r ph.create e5 DIM 8 INDEX IVFPQ QUANT Q8} e; lappend out $e
        catch {r ph.create e6 DIM 8 INDEX IVFPQ NLIST 0} e; lappend out $e
        catch {r ph.search iv VECTOR [fvec {*}[rand_vec 16]] NPROBE 0} e; lappend out $e
        set out
    } {{ERR PQ_M must divide DIM} {ERR NLIST, PQ_M, PQ_BITS and NPROBE need INDEX IVFPQ} {ERR PQ_BITS must be 8 (8-bit sub-quantizers, 256 centroids each)} {ERR INDEX IVFPQ needs DIM} {ERR QUANT needs DIM and INDEX HNSW} {ERR NLIST must be between 1 and 1048576} {ERR NPROBE must be between 1 and 1048576}}

    test "FLUSHALL during a training leaves nothing behind" {
        r ph.create iv3 DIM 8 METRIC L2 INDEX IVFPQ NLIST 64 PQ_M 4
        fill_ivf iv3 10000 8 34
        r flushall
        set info [r ph.info iv3]
        list [dict get $info vectors] [dict get $info index_state] [r dbsize]
    } {0 {untrained (exact search)} 0}
}

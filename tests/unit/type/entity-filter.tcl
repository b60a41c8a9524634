# PH.SEARCH FILTER: the filter language on metadata (docs/filters.md), the
# planner (exact scan of the matches when they are few, filtered graph walk
# when they are many, exact fallback when a walk ends short) and its
# counters in PH.INFO. The answer must never hold fewer than K results when
# K entities match.

proc fvec {args} { binary format r* $args }

start_server {tags {entity phenix-only filter}} {
    test "FILTER keeps only matching entities, nearest first" {
        r ph.create f DIM 2 METRIC L2
        for {set i 1} {$i <= 30} {incr i} {
            set tag [expr {$i % 3 == 0 ? "red" : "blue"}]
            r ph.set f:$i VALUES 2 $i 0 META "{\"n\":$i,\"tag\":\"$tag\"}"
        }
        r ph.search f VALUES 2 0 0 K 3 FILTER {.tag == "red" and .n > 10}
    } {f:12 f:15 f:18}

    test "FILTER with fewer matches than K returns all the matches" {
        r ph.search f VALUES 2 0 0 K 10 FILTER {.n in [3, 5, 7]}
    } {f:3 f:5 f:7}

    test "FILTER on a missing field matches nothing, == null matches it" {
        list [r ph.search f VALUES 2 0 0 K 3 FILTER {.nosuch > 1}] \
             [r ph.search f VALUES 2 0 0 K 2 FILTER {.nosuch == null}]
    } {{} {f:1 f:2}}

    test "FILTER syntax errors say where" {
        catch {r ph.search f VALUES 2 0 0 FILTER {.n >}} e
        string match "ERR FILTER syntax error at position 4: *" $e
    } {1}

    test "FILTER works with EXACT and on FLAT collections" {
        r ph.create ff DIM 2 METRIC L2 INDEX FLAT
        for {set i 1} {$i <= 20} {incr i} { r ph.set ff:$i VALUES 2 $i 0 META "{\"odd\":[expr {$i % 2 ? "true" : "false"}]}" }
        list [r ph.search ff VALUES 2 0 0 K 3 FILTER {.odd}] \
             [r ph.search f VALUES 2 0 0 K 2 EXACT FILTER {.tag == "blue"}]
    } {{ff:1 ff:3 ff:5} {f:1 f:2}}
}

start_server {tags {entity phenix-only filter}} {
    # 12,000 vectors: above the size under which filtered searches always scan.
    set n 12000
    r ph.create big DIM 8 METRIC L2 M 8 EF_CONSTRUCTION 40
    set c [redis_deferring_client]
    expr {srand(7)}
    for {set i 0} {$i < $n} {incr i} {
        set v {}
        for {set d 0} {$d < 8} {incr d} { lappend v [expr {rand()}] }
        set rare [expr {$i % 400 == 0 ? "true" : "false"}]
        $c ph.set big:$i VECTOR [fvec {*}$v] META "{\"i\":$i,\"even\":[expr {$i % 2 == 0 ? "true" : "false"}],\"rare\":$rare}"
    }
    for {set i 0} {$i < $n} {incr i} { $c read }
    $c close

    test "A selective FILTER is answered by a scan of the matches, exactly" {
        set q [fvec 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5]
        set got [r ph.search big VECTOR $q K 10 FILTER {.rare}]
        set want [r ph.search big VECTOR $q K 10 EXACT FILTER {.rare}]
        set info [r ph.info big]
        list [llength $got] [expr {$got eq $want}] [expr {[dict get $info filtered_scan] >= 1}]
    } {10 1 1}

    test "A broad FILTER walks the graph; every result matches; recall against EXACT" {
        set hits 0
        set total 0
        set allmatch 1
        for {set t 0} {$t < 10} {incr t} {
            set v {}
            for {set d 0} {$d < 8} {incr d} { lappend v [expr {rand()}] }
            set q [fvec {*}$v]
            set got [r ph.search big VECTOR $q K 10 EF 100 FILTER {.even}]
            set want [r ph.search big VECTOR $q K 10 EXACT FILTER {.even}]
            foreach k $got {
                if {[scan $k big:%d i] != 1 || $i % 2} { set allmatch 0 }
                if {$k in $want} { incr hits }
            }
            incr total 10
        }
        set info [r ph.info big]
        list $allmatch [expr {$hits >= 0.9 * $total}] [expr {[dict get $info filtered_graph] >= 10}]
    } {1 1 1}

    test "FILTER never returns fewer than K when K entities match" {
        set q [fvec 0 0 0 0 0 0 0 0]
        set res [r ph.search big VECTOR $q K 30 FILTER {.rare or .i < 3}]
        llength $res
    } {30}

    test "PH.INFO counts the strategies" {
        set info [r ph.info big]
        expr {[dict get $info filtered_scan] + [dict get $info filtered_graph] > 0 &&
              [dict exists $info filtered_fallback]}
    } {1}
}

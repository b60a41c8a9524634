# Field indexes (FIELD <path> NUMERIC|TAG, PH.ALTER), the filtered-search
# planner and PH.EXPLAIN (docs/filters.md). Filtered PH.SEARCH is checked
# against EXACT with the same filter at selectivities from 0.01% to 100%,
# before and after deletes, updates and expiries; every result must match
# and K results must come back whenever K entities match.

proc fvec {args} { binary format r* $args }

proc rand_vec {dim} {
    set v {}
    for {set d 0} {$d < $dim} {incr d} { lappend v [expr {rand()}] }
    fvec {*}$v
}

# A reply map (RESP2 flat list) as a Tcl dict.
proc field_info {coll path} {
    foreach f [dict get [r ph.info $coll] fields] {
        if {[dict get $f path] eq $path} { return $f }
    }
    return {}
}

start_server {tags {entity phenix-only filter}} {
    test "FIELD declarations: errors" {
        set errs {}
        foreach args {
            {FIELD .a}
            {FIELD .a TEXT}
            {FIELD .a NUMBER}
            {FIELD "a b" TAG}
            {FIELD .a TAG FIELD .a NUMERIC}
            {FIELD .a TAG FIELD .b}
        } {
            catch {r ph.create bad {*}$args} e
            lappend errs [lindex [split $e :] 0]
        }
        list [r ph.list] $errs
    } {{} {{ERR FIELD needs a path and a type} {ERR FIELD type must be NUMERIC or TAG, got 'TEXT'} {ERR FIELD type must be NUMERIC or TAG, got 'NUMBER'} {ERR FIELD path 'a b'} {ERR FIELD .a is declared twice} {ERR FIELD needs a path and a type}}}

    test "PH.INFO lists the fields with type, entries, memory and state" {
        r ph.create c DIM 2 METRIC L2 FIELD .price NUMERIC FIELD {.a["b"]} TAG
        r ph.set c:1 VALUES 2 1 0 META {{"price": 10, "a": {"b": ["x", "y"]}}}
        r ph.set c:2 VALUES 2 2 0 META {{"price": [1, 2], "a": {"b": "x"}}}
        r ph.set c:3 VALUES 2 3 0 META {{"price": "n/a"}}
        set p [field_info c .price]
        set t [field_info c .a.b]
        list [dict get $p type] [dict get $p entries] [dict get $p state] [dict get $p progress] \
             [dict get $t type] [dict get $t entries] [expr {[dict get $t memory] > 0}]
    } {NUMERIC 3 ready 100 TAG 3 1}

    test "PH.ALTER ADD FIELD and DROP FIELD, with errors" {
        r ph.alter c ADD FIELD .n NUMERIC FIELD .tags TAG
        wait_for {[dict get [field_info c .tags] state] eq "ready"}
        set paths {}
        foreach f [dict get [r ph.info c] fields] { lappend paths [dict get $f path] }
        r ph.alter c DROP FIELD .n
        set after {}
        foreach f [dict get [r ph.info c] fields] { lappend after [dict get $f path] }
        set e1 [catch {r ph.alter c ADD FIELD .price TAG} m1]
        set e2 [catch {r ph.alter c DROP FIELD .nosuch} m2]
        set e3 [catch {r ph.alter c ADD FIELD .x} m3]
        set e4 [catch {r ph.alter nosuch ADD FIELD .x TAG} m4]
        list $paths $after $m1 $m2 $m3 $m4
    } {{.price .a.b .n .tags} {.price .a.b .tags} {ERR FIELD .price is declared twice} {ERR collection 'c' has no FIELD '.nosuch'} {ERR PH.ALTER needs ADD FIELD <path> NUMERIC|TAG [FIELD ...] or DROP FIELD <path>} {ERR no such collection 'nosuch'}}

    test "Field indexes follow PH.SET META, PH.PATCH, DEL, RENAME, expiry and FLUSHDB" {
        set out {}
        r ph.set c:1 META {{"price": 99}}
        lappend out [dict get [field_info c .price] entries] [dict get [field_info c .a.b] entries]
        r ph.patch c:2 {{"price": 5, "a": null}}
        lappend out [dict get [field_info c .price] entries] [dict get [field_info c .a.b] entries]
        lappend out [r ph.search c VALUES 2 0 0 K 5 FILTER {.price == 5}]
        r rename c:2 c:22
        lappend out [r ph.search c VALUES 2 0 0 K 5 FILTER {.price == 5}]
        r del c:1
        lappend out [dict get [field_info c .price] entries]
        r ph.set c:9 VALUES 2 9 0 META {{"price": 1}}
        r pexpire c:9 1
        after 20
        lappend out [r ph.search c VALUES 2 0 0 K 5 FILTER {.price < 2}]
        wait_for {[dict get [field_info c .price] entries] == 1}
        r flushdb
        lappend out [dict get [field_info c .price] entries] [r ph.list]
    } {3 1 2 0 c:2 c:22 1 {} 0 c}

    test "PH.EXPLAIN: the plan's shape, and ANALYZE" {
        r ph.create e DIM 2 METRIC L2 FIELD .k TAG
        for {set i 0} {$i < 40} {incr i} { r ph.set e:$i VALUES 2 $i 1 META "{\"k\": \"[expr {$i % 4}]\"}" }
        set plan [r ph.explain e VALUES 2 0 0 K 3 FILTER {.k == "1"}]
        set an [r ph.explain e VALUES 2 0 0 K 3 FILTER {.k == "1"} ANALYZE]
        set plain [r ph.explain e VALUES 2 0 0 K 3]
        set sampled [r ph.explain e VALUES 2 0 0 K 3 FILTER {.k + 0 == 1}]
        list [dict keys $plan] [dict get $plan strategy] [dict get $plan estimate_source] \
             [dict get $plan estimated_matches] [dict get $plan index_field] [dict keys [dict get $plan costs]] \
             [dict keys [dict get $an analyze]] [dict get $an analyze results] [dict get $an analyze candidates] \
             [dict get $plain strategy] [dict get $plain estimate_source] [dict get $sampled estimate_source] \
             [dict get $sampled index_field]
    } {{strategy estimate_source estimated_matches selectivity vectors k ef index_field index_candidates costs} index_scan index 10 .k {index_scan full_scan acorn postfilter} {results candidates filter_checks visited distances fallback entry_points timed_out us_plan us_setup us_search us_fallback} 3 10 hnsw none sample {}}

    test "Field indexes on FLAT collections, with LIKE and RADIUS" {
        r ph.create fl DIM 2 METRIC L2 INDEX FLAT FIELD .g TAG FIELD .n NUMERIC
        for {set i 0} {$i < 60} {incr i} { r ph.set fl:$i VALUES 2 $i 0 META "{\"g\": \"g[expr {$i % 3}]\", \"n\": $i}" }
        set a [r ph.search fl VALUES 2 10.1 0 K 3 FILTER {.g == "g1"}]
        set b [r ph.search fl VALUES 2 10.1 0 K 3 FILTER {.g == "g1" or .n < 0}]
        set like [r ph.search fl LIKE fl:10 K 2 FILTER {.g == "g1"}]
        set rad [r ph.search fl VALUES 2 10.1 0 K 10 RADIUS 3.5 FILTER {.n >= 9}]
        set ex [r ph.explain fl VALUES 2 10.1 0 K 3 FILTER {.g == "g1"}]
        list $a [expr {$a eq $b}] [lsort $like] $rad [dict get $ex estimate_source] [dict get $ex estimated_matches]
    } {{fl:10 fl:13 fl:7} 1 {fl:13 fl:7} {fl:10 fl:11 fl:9 fl:12 fl:13} index 20}

    test "PH.EXPLAIN errors like PH.SEARCH; ANALYZE is not a PH.SEARCH option" {
        set a [catch {r ph.explain e VALUES 2 0 0 FILTER {.k ==}} m1]
        set b [catch {r ph.search e VALUES 2 0 0 ANALYZE} m2]
        set c [catch {r ph.explain nosuch VALUES 2 0 0} m3]
        list [string match "ERR FILTER syntax error*" $m1] $m2 $m3
    } {1 {ERR syntax error} {ERR no such collection 'nosuch'}}
}

start_server {tags {entity phenix-only filter}} {
    # 20,000 vectors; .u is a permutation of 0..19999, so `.u < X` matches
    # exactly X entities: selectivity X / 20000. .t is "x" for 10%.
    set n 20000
    r ph.create s DIM 8 METRIC L2 M 8 EF_CONSTRUCTION 40 FIELD .u NUMERIC FIELD .t TAG
    expr {srand(11)}
    set c [redis_deferring_client]
    for {set i 0} {$i < $n} {incr i} {
        set u [expr {($i * 7919) % $n}]
        set ::U($i) $u
        set t [expr {$i % 10 == 0 ? "x" : "y"}]
        set ::T($i) $t
        $c ph.set s:$i VECTOR [rand_vec 8] META "{\"u\":$u,\"t\":\"$t\"}"
    }
    for {set i 0} {$i < $n} {incr i} { $c read }
    $c close

    # Checks one filter: every result matches (by the model in ::U/::T),
    # K results when K match, and returns the hits against EXACT.
    proc check_filter {filter pred k} {
        set matches 0
        foreach i [array names ::U] { if {[apply [list {u t} $pred] $::U($i) $::T($i)]} { incr matches } }
        set hits 0
        set total 0
        for {set q 0} {$q < 5} {incr q} {
            set qv [rand_vec 8]
            set got [r ph.search s VECTOR $qv K $k EF 80 FILTER $filter]
            set want [r ph.search s VECTOR $qv K $k EXACT FILTER $filter]
            set want_n [expr {$matches < $k ? $matches : $k}]
            if {[llength $got] != $want_n} { error "$filter: [llength $got] results, $want_n expected" }
            if {[llength $want] != $want_n} { error "$filter EXACT: [llength $want] results, $want_n expected" }
            foreach key $got {
                scan $key s:%d i
                if {![apply [list {u t} $pred] $::U($i) $::T($i)]} { error "$filter: $key does not match" }
                if {$key in $want} { incr hits }
            }
            incr total $want_n
        }
        list $hits $total
    }

    proc check_selectivities {} {
        set bad {}
        foreach {filter pred} {
            {.u < 2}        {{expr {$u < 2}}}
            {.u < 20}       {{expr {$u < 20}}}
            {.u <= 199}     {{expr {$u <= 199}}}
            {.u >= 18000}   {{expr {$u >= 18000}}}
            {.t == "x"}     {{expr {$t eq "x"}}}
            {.u < 10000}    {{expr {$u < 10000}}}
            {.u >= 0}       {{expr {$u >= 0}}}
            {.t == "x" and .u < 10000} {{expr {$t eq "x" && $u < 10000}}}
            {.t == "y" or .u < 3}      {{expr {$t eq "y" || $u < 3}}}
        } {
            lassign [check_filter $filter [lindex $pred 0] 10] hits total
            if {$total && $hits < 0.9 * $total} { lappend bad "$filter: recall $hits/$total" }
        }
        set bad
    }

    test "Filtered search vs EXACT at selectivities 0.01% to 100%" {
        check_selectivities
    } {}

    test "Filtered search vs EXACT with ACORN walks from one entry point (acorn-entry-points 0)" {
        r config set acorn-entry-points 0
        set bad [check_selectivities]
        r config set acorn-entry-points 64
        list $bad [catch {r config set acorn-entry-points 65}] [lindex [r config get acorn-entry-points] 1]
    } {{} 1 64}

    test "The planner used index scans and graph walks" {
        set info [r ph.info s]
        list [expr {[dict get $info filtered_index_scan] > 0}] \
             [expr {[dict get $info filtered_acorn] + [dict get $info filtered_postfilter] > 0}]
    } {1 1}

    test "EXACT through an index equals EXACT by a full scan" {
        set same 1
        foreach x {3 50 700 5000} {
            set qv [rand_vec 8]
            set a [r ph.search s VECTOR $qv K 10 EXACT FILTER ".u < $x"]
            set b [r ph.search s VECTOR $qv K 10 EXACT FILTER ".u + 0 < $x"]
            if {$a ne $b} { set same 0 }
        }
        list $same [dict get [r ph.explain s VECTOR [rand_vec 8] EXACT FILTER {.u < 50}] strategy] \
             [dict get [r ph.explain s VECTOR [rand_vec 8] EXACT FILTER {.u + 0 < 50}] strategy]
    } {1 index_scan full_scan}

    test "Filtered search vs EXACT after deletes, updates and expiries" {
        set c [redis_deferring_client]
        set sent 0
        for {set i 0} {$i < $n} {incr i} {
            if {$i % 7 == 0} {
                $c del s:$i
                unset ::U($i) ::T($i)
            } elseif {$i % 11 == 0} {
                set ::U($i) [expr {$::U($i) + 100000}]
                $c ph.patch s:$i "{\"u\":$::U($i)}"
            } elseif {$i % 13 == 0} {
                set ::T($i) [expr {$::T($i) eq "x" ? "y" : "x"}]
                $c ph.set s:$i META "{\"u\":$::U($i),\"t\":\"$::T($i)\"}"
            } elseif {$i % 17 == 0} {
                $c pexpire s:$i 1
                unset ::U($i) ::T($i)
            } else {
                continue
            }
            incr sent
        }
        for {set j 0} {$j < $sent} {incr j} { $c read }
        $c close
        after 10
        set bad [check_selectivities]
        wait_for {[dict get [field_info s .u] entries] == [array size ::U]} 10000
        list $bad [expr {[dict get [field_info s .t] entries] == [array size ::T]}]
    } {{} 1}

    test "TIMEOUT stops a full scan with a costly filter" {
        set terms {}
        for {set j 1} {$j <= 3000} {incr j} { lappend terms ".u == -$j" }
        set f [join $terms " or "]
        set an [r ph.explain s VECTOR [rand_vec 8] K 10 TIMEOUT 5 FILTER $f ANALYZE]
        # without TIMEOUT the scan takes about 600 ms (every entity evaluated against 3,000
        # terms); with TIMEOUT 5 it must stop early: compare the filter checks the two scans
        # examined (no wall-clock bound: ASan and a loaded CI machine stretch everything)
        set all [r ph.explain s VECTOR [rand_vec 8] K 10 FILTER $f ANALYZE]
        set res [r ph.search s VECTOR [rand_vec 8] K 10 TIMEOUT 5 FILTER $f]
        set seen [dict get $an analyze filter_checks]
        set total [dict get $all analyze filter_checks]
        list [dict get $an strategy] [dict get $an analyze timed_out] \
             [dict get $all analyze timed_out] [expr {$total >= [array size ::U]}] \
             [expr {$seen < $total / 2}] $res
    } {full_scan 1 0 1 1 {}}

    test "TIMEOUT with an index scan" {
        # one TAG value over ~2,000 entities and a costly second part
        set terms {}
        for {set j 1} {$j <= 3000} {incr j} { lappend terms ".u == -$j" }
        set f ".t == \"x\" and ([join $terms { or }])"
        set an [r ph.explain s VECTOR [rand_vec 8] K 10 EXACT TIMEOUT 3 FILTER $f ANALYZE]
        list [dict get $an strategy] [dict get $an analyze timed_out]
    } {index_scan 1}
}

start_server {tags {entity phenix-only filter}} {
    test "An index scan returns each entity once (IN repeats a value, an array repeats a tag)" {
        r ph.create d PREFIX d: DIM 2 FIELD .g TAG FIELD .tags TAG
        set c [redis_deferring_client]
        for {set i 0} {$i < 2000} {incr i} {
            set n [expr {$i % 200}]
            $c ph.set d:$i VALUES 2 $i 1 META "{\"n\":$n,\"g\":\"g$n\",\"tags\":\[\"t$n\",\"t$n\",\"all\"\]}"
        }
        for {set i 0} {$i < 2000} {incr i} { $c read }
        $c close
        set a [r ph.search d VALUES 2 0 1 K 100 EXACT FILTER {.g in ["g3", "g3", "g5", "g3"]}]
        set pa [dict get [r ph.explain d VALUES 2 0 1 K 100 EXACT FILTER {.g in ["g3", "g3", "g5", "g3"]}] strategy]
        set b [r ph.search d VALUES 2 0 1 K 100 EXACT FILTER {"t7" in .tags}]
        set pb [dict get [r ph.explain d VALUES 2 0 1 K 100 EXACT FILTER {"t7" in .tags}] strategy]
        # the same searches by a full scan (the expression hides the field from the index)
        set fa [r ph.search d VALUES 2 0 1 K 100 EXACT FILTER {.n + 0 in [3, 5]}]
        list $pa [llength $a] [llength [lsort -unique $a]] [expr {$a eq $fa}] \
             $pb [llength $b] [llength [lsort -unique $b]]
    } {index_scan 20 20 1 index_scan 10 10}

    test "PH.ALTER builds in the background while writes go on" {
        set n 40000
        r ph.create m
        set c [redis_deferring_client]
        for {set i 0} {$i < $n} {incr i} { $c ph.set m:$i META "{\"v\":$i,\"g\":\"g[expr {$i % 5}]\"}" }
        for {set i 0} {$i < $n} {incr i} { $c read }
        r ph.alter m ADD FIELD .v NUMERIC FIELD .g TAG
        set f [field_info m .v]
        set state [dict get $f state]
        set progress [dict get $f progress]
        # writes during the build: new entities, deletes, changed values
        for {set i 0} {$i < 2000} {incr i} {
            $c ph.set m:new$i META "{\"v\":-1,\"g\":\"new\"}"
            $c del m:[expr {$i * 3}]
            $c ph.patch m:[expr {$i * 3 + 1}] {{"v": null, "g": "patched"}}
        }
        for {set i 0} {$i < 6000} {incr i} { $c read }
        $c close
        wait_for {[dict get [field_info m .v] state] eq "ready" && [dict get [field_info m .g] state] eq "ready"} 20000
        # .v: n - 2000 deleted - 2000 nulled + 2000 new; .g: n - 2000 + 2000
        list $state [expr {$progress < 100}] [dict get [field_info m .v] entries] [dict get [field_info m .g] entries] \
             [dict get [field_info m .v] progress]
    } {building 1 38000 40000 100}

    test "The server answers during a build" {
        r ph.alter m ADD FIELD .w NUMERIC
        # a PING is answered while the build is still going on (no wall-clock bound)
        set pong [r ping]
        set state [dict get [field_info m .w] state]
        wait_for {[dict get [field_info m .w] state] eq "ready"} 20000
        list $pong $state
    } {PONG building}
}

start_server {tags {entity phenix-only filter persistence}} {
    test "Fields survive a restart: declared by the snapshot, rebuilt from metadata" {
        r ph.create p DIM 2 METRIC L2 FIELD .n NUMERIC
        for {set i 0} {$i < 500} {incr i} { r ph.set p:$i VALUES 2 $i 0 META "{\"n\":$i,\"c\":\"c[expr {$i % 2}]\"}" }
        r ph.alter p ADD FIELD .c TAG
        wait_for {[dict get [field_info p .c] state] eq "ready"}
        r save
        set dir [srv dir]
        start_server [list tags {entity} args [list --dir $dir]] {
            wait_for {![catch {r ph.list}]} 20000
            wait_for {[dict get [field_info p .c] state] eq "ready" && [dict get [field_info p .n] state] eq "ready"}
            set res [list [dict get [field_info p .n] entries] [dict get [field_info p .c] entries] \
                 [r ph.search p VALUES 2 0 0 K 2 FILTER {.c == "c1" and .n > 100}] \
                 [dict get [r ph.explain p VALUES 2 0 0 K 2 FILTER {.n > 100}] estimate_source]]
        }
        set res
    } {500 500 {p:101 p:103} index}
}

start_server {tags {entity phenix-only filter}} {
    # A tag correlated with the vectors: cluster A is "a", clusters B and C
    # are not, except three "islands" in the middle of B, two units apart.
    # From a query beyond C the nearest "a" entities are the islands, which
    # an ACORN walk cannot reach through "a" neighbours (none is within two
    # hops): the walk must start from them (docs/filters.md, islands).
    test "A TAG filter finds the matches that lie among other tags (ACORN islands)" {
        r ph.create isl DIM 2 METRIC L2 M 8 EF_CONSTRUCTION 100 FIELD .c TAG
        expr {srand(5)}
        set c [redis_deferring_client]
        foreach {cluster x0 spread} {b 20 5 a 0 1 c 35 1} {
            for {set i 0} {$i < 400} {incr i} {
                set x [expr {$x0 + $spread * (2 * rand() - 1)}]
                $c ph.set isl:$cluster$i VECTOR [fvec $x [expr {2 * rand() - 1}]] META "{\"c\":\"$cluster\"}"
            }
        }
        foreach i {100 200 300} x {18 20 22} {
            $c ph.set isl:b$i VECTOR [fvec $x 0] META {{"c":"a"}}
        }
        for {set i 0} {$i < 1203} {incr i} { $c read }
        $c close
        set q [fvec 45 0]
        set want [r ph.search isl VECTOR $q K 3 EXACT FILTER {.c == "a"}]
        set got [r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"}]
        set plan [r ph.explain isl VECTOR $q K 3 EF 32 FILTER {.c == "a"} ANALYZE]
        list [lsort $want] [lsort $got] [expr {[dict get $plan strategy] in {acorn postfilter}}]
    } {{isl:b100 isl:b200 isl:b300} {isl:b100 isl:b200 isl:b300} 1}

    # Repeated walks with one constraint check nodes against a bitmap of its
    # slots (docs/filters.md): a change of the tag or of the slots is seen
    test "A repeated TAG filter sees the entities that take or leave the tag" {
        set q [fvec 45 0]
        set nearest [lindex [r ph.search isl VECTOR $q K 1 EXACT] 0]
        for {set i 0} {$i < 3} {incr i} { r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"} }
        r ph.set $nearest META {{"c":"a"}}
        set got1 [lindex [r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"}] 0]
        set got2 [lindex [r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"}] 0]
        r ph.set isl:new VECTOR [fvec 44.9 0] META {{"c":"a"}}
        set got3 [lindex [r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"}] 0]
        r del isl:new
        r ph.set $nearest META {{"c":"c"}}
        set got4 [r ph.search isl VECTOR $q K 3 EF 32 FILTER {.c == "a"}]
        list [expr {$got1 eq $nearest}] [expr {$got2 eq $nearest}] $got3 [lsort $got4]
    } {1 1 isl:new {isl:b100 isl:b200 isl:b300}}

    # DEBUG PLANNER-FORCE acorn: the ACORN walk over a slot map and its list
    # cache (docs/filters.md, "Repeated filters"), on data the planner
    # would answer with index scans; checked against EXACT and against the
    # model of .u, across vector updates (the graph changes, the slots do
    # not: lists are rebuilt) and deletes (the slots move: a new map).
    test "A repeated ACORN filter (slot map, list cache) agrees with EXACT across updates, deletes and new metadata" {
        set n 4000
        r ph.create ac DIM 8 METRIC L2 M 8 EF_CONSTRUCTION 40 FIELD .u NUMERIC
        set c [redis_deferring_client]
        for {set i 0} {$i < $n} {incr i} {
            set ::AU($i) [expr {($i * 7919) % $n}]
            $c ph.set ac:$i VECTOR [rand_vec 8] META "{\"u\":$::AU($i)}"
        }
        for {set i 0} {$i < $n} {incr i} { $c read }
        $c close
        proc acorn_round {lim} {
            set hits 0
            set total 0
            set bad {}
            for {set q 0} {$q < 8} {incr q} {
                set qv [rand_vec 8]
                set got [r ph.search ac VECTOR $qv K 10 EF 40 FILTER ".u < $lim"]
                set want [r ph.search ac VECTOR $qv K 10 EXACT FILTER ".u < $lim"]
                if {[llength $got] != [llength $want]} { lappend bad "[llength $got] of [llength $want]" }
                foreach key $got {
                    scan $key ac:%d i
                    if {![info exists ::AU($i)] || $::AU($i) >= $lim} { lappend bad "$key does not match" }
                    if {$key in $want} { incr hits }
                }
                incr total [llength $want]
            }
            if {$hits < 0.9 * $total} { lappend bad "recall $hits/$total" }
            set bad
        }
        r debug planner-force acorn
        set before [dict get [r ph.info ac] filtered_acorn]
        set fb_before [dict get [r ph.info ac] filtered_fallback]
        set bad [acorn_round 400]
        lappend bad {*}[acorn_round 400]
        # move a third of the vectors (PH.SET with a new vector relinks in place)
        for {set i 0} {$i < $n} {incr i 3} { r ph.set ac:$i VECTOR [rand_vec 8] }
        lappend bad {*}[acorn_round 400]
        # delete a quarter of the matches and some others
        for {set i 0} {$i < $n} {incr i 4} {
            if {$::AU($i) < 400 || $i % 40 == 0} { r del ac:$i; unset ::AU($i) }
        }
        lappend bad {*}[acorn_round 400]
        lappend bad {*}[acorn_round 400]
        # new metadata for every entity: the matches of .u < 400 are now
        # other entities, none of the old ones (a walk on a stale slot map
        # would find none and end short; with the filter answered by the
        # map alone, nothing else would catch it)
        set c [redis_deferring_client]
        set patched 0
        foreach i [array names ::AU] {
            set ::AU($i) [expr {($::AU($i) + 2000) % $n}]
            $c ph.patch ac:$i "{\"u\":$::AU($i)}"
            incr patched
        }
        for {set i 0} {$i < $patched} {incr i} { $c read }
        $c close
        lappend bad {*}[acorn_round 400]
        lappend bad {*}[acorn_round 400]
        set acorn [expr {[dict get [r ph.info ac] filtered_acorn] - $before}]
        # no walk ended short (a short walk is finished by an exact scan,
        # which would hide a walk that lost its way)
        set fallbacks [expr {[dict get [r ph.info ac] filtered_fallback] - $fb_before}]
        r debug planner-force auto
        list $bad $acorn $fallbacks [catch {r debug planner-force fastest} e] $e \
             [catch {r debug planner-force} e2] $e2 [catch {r debug planner-force acorn x} e3] $e3
    } {{} 56 0 1 {ERR unknown strategy: use index_scan, full_scan, acorn, postfilter or auto} 1 {ERR unknown subcommand or wrong number of arguments for 'planner-force'. Try DEBUG HELP.} 1 {ERR unknown subcommand or wrong number of arguments for 'planner-force'. Try DEBUG HELP.}}

    # Several slot maps are kept at once (SLOT_MAPS): filters that take
    # turns each keep their map, so a walk of either is decided by its
    # bitmap (no filter check) once both were seen twice; with a single map
    # every change of constraint would drop it. More constraints than maps
    # evict the least recently planned, and every answer stays right.
    test "Alternating ACORN filters keep a slot map each and agree with EXACT" {
        set n 3000
        r ph.create alt DIM 8 METRIC L2 M 8 EF_CONSTRUCTION 40 FIELD .u NUMERIC FIELD .t TAG
        set c [redis_deferring_client]
        for {set i 0} {$i < $n} {incr i} {
            set ::ALU($i) [expr {($i * 7919) % $n}]
            $c ph.set alt:$i VECTOR [rand_vec 8] META "{\"u\":$::ALU($i),\"t\":\"t[expr {$i % 7}]\"}"
        }
        for {set i 0} {$i < $n} {incr i} { $c read }
        $c close
        proc alt_checks {flt} {
            set an [dict get [r ph.explain alt VECTOR [rand_vec 8] K 10 EF 40 FILTER $flt ANALYZE] analyze]
            dict get $an filter_checks
        }
        proc alt_bad {flt lim} {
            set bad {}
            set qv [rand_vec 8]
            set got [r ph.search alt VECTOR $qv K 10 EF 40 FILTER $flt]
            set want [r ph.search alt VECTOR $qv K 10 EXACT FILTER $flt]
            if {[llength $got] != [llength $want]} { lappend bad "$flt: [llength $got] of [llength $want]" }
            foreach key $got {
                scan $key alt:%d i
                if {$::ALU($i) >= $lim} { lappend bad "$flt: $key does not match" }
            }
            set bad
        }
        r debug planner-force acorn
        set a {.u < 300}
        set b {.t == "t3"}
        # twice each, in turns: from then on both walks are decided by a map
        foreach f [list $a $b $a $b] { alt_checks $f }
        set checks {}
        foreach f [list $a $b $a $b] { lappend checks [alt_checks $f] }
        # ten constraints in turn (more than the table holds): right answers
        set bad {}
        for {set round 0} {$round < 3} {incr round} {
            for {set k 1} {$k <= 10} {incr k} {
                lappend bad {*}[alt_bad ".u < [expr {$k * 100}]" [expr {$k * 100}]]
            }
        }
        # new values for .u: each map over .u is stale and rebuilt
        set c [redis_deferring_client]
        foreach i [array names ::ALU] {
            set ::ALU($i) [expr {($::ALU($i) + 1500) % $n}]
            $c ph.patch alt:$i "{\"u\":$::ALU($i)}"
        }
        foreach i [array names ::ALU] { $c read }
        $c close
        for {set k 1} {$k <= 3} {incr k} {
            for {set j 0} {$j < 3} {incr j} { lappend bad {*}[alt_bad ".u < [expr {$k * 100}]" [expr {$k * 100}]] }
        }
        # dropping the collection drops its maps; a new one of the same
        # name starts without them
        r ph.drop alt
        r ph.create alt DIM 8 METRIC L2 M 8 FIELD .u NUMERIC
        for {set i 0} {$i < 50} {incr i} { r ph.set alt:$i VALUES 8 {*}[lrepeat 8 $i] META "{\"u\":$i}" }
        set again {}
        for {set j 0} {$j < 3} {incr j} { lappend again [llength [r ph.search alt VALUES 8 {*}[lrepeat 8 1] K 5 FILTER {.u < 300}]] }
        r debug planner-force auto
        list $checks $bad $again
    } {{0 0 0 0} {} {5 5 5}}
}

# The graph (docs/graph.md is the contract): PH.EDGE ADD DEL GET LIST, PH.NEIGHBORS,
# PH.PATH, PH.SEARCH ... EXPAND with RERANK RRF|SCORE and WITHPATHS, PH.GET EDGES,
# the INFO graph section and PH.INFO's fields; every error reply; the cascade that
# removes an entity's edges at both ends on DEL, UNLINK, overwrite, lazy and active
# expiry, FLUSHDB, FLUSHALL and PH.DROP DELETEDATA; RENAME keeping edges, COPY
# without them, MOVE refused, DUMP/RESTORE carrying both directions of edges; the server-side
# traversal cap; paths checked against BFS and Bellman-Ford written here; EXPAND on
# a hand-made graph whose reranked orders are worked out in the comments.
#
# Replies are read in RESP2 (maps as flat lists, booleans as 0/1) except where a
# test says RESP3.

# --- helpers -------------------------------------------------------------------

# "from>to:type:weight" for an edge map.
proc ed {m} {
    format "%s>%s:%s:%s" [dict get $m from] [dict get $m to] [dict get $m type] [dict get $m weight]
}

proc edges {key args} {
    set out {}
    foreach m [r ph.edge list $key {*}$args] { lappend out [ed $m] }
    return $out
}

# "key/depth" for every entity of a PH.NEIGHBORS reply, then "truncated=<0|1>".
proc nbrs {args} {
    set rep [r ph.neighbors {*}$args]
    set out {}
    foreach k [dict get $rep keys] d [dict get $rep depths] { lappend out "$k/$d" }
    lappend out "truncated=[dict get $rep truncated]"
    return $out
}

# The entities of a PH.SEARCH ... EXPAND reply as "key/hit/depth", then truncated.
proc expanded {args} {
    set rep [r ph.search {*}$args]
    set out {}
    foreach m [dict get $rep results] { lappend out "[dict get $m key]/[dict get $m hit]/[dict get $m depth]" }
    lappend out "truncated=[dict get $rep truncated]"
    return $out
}

proc err_of {code} {
    if {[catch {uplevel 1 $code} e]} { return $e }
    ::t::fail "Expected an error, got the reply '[::t::clip $e]'"
}

proc mkents {args} { foreach k $args { r ph.set $k } }

tags {graph phenix-only} {

start_server {} {
    test "Arity errors of the graph commands" {
        set out {}
        foreach cmd {{ph.edge add a} {ph.edge del a} {ph.edge get a} {ph.edge list} {ph.neighbors} {ph.path a}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } [list {ERR wrong number of arguments for 'ph.edge|add' command}\
            {ERR wrong number of arguments for 'ph.edge|del' command}\
            {ERR wrong number of arguments for 'ph.edge|get' command}\
            {ERR wrong number of arguments for 'ph.edge|list' command}\
            {ERR wrong number of arguments for 'ph.neighbors' command}\
            {ERR wrong number of arguments for 'ph.path' command}]

    test "COMMAND GETKEYS finds both ends of PH.EDGE and PH.PATH" {
        list [r command getkeys ph.edge add a b TYPE t] [r command getkeys ph.path a b WEIGHTED]\
             [r command getkeys ph.neighbors a DEPTH 2] [r command getkeys ph.edge list a]
    } {{a b} {a b} a a}

    test "PH.EDGE ADD: both ends must exist and be entities" {
        r ph.create g
        mkents g:a g:b
        r set str x
        list [err_of {r ph.edge add g:a g:nope}] [err_of {r ph.edge add g:nope g:a}]\
             [err_of {r ph.edge add g:a str}] [s graph_edges]
    } {{ERR to entity 'g:nope' does not exist} {ERR from entity 'g:nope' does not exist}\
       {WRONGTYPE Operation against a key holding the wrong kind of value} 0}

    test "PH.EDGE ADD creates, then updates (1 then 0); defaults: type \"\", weight 1, no metadata" {
        list [r ph.edge add g:a g:b] [r ph.edge add g:a g:b WEIGHT 2.5] [r ph.edge get g:a g:b]\
             [r ph.edge add g:a g:b TYPE knows META {{"since":2020}}] [r ph.edge get g:a g:b TYPE knows]
    } {1 0 {from g:a to g:b type {} weight 2.5 meta {}} 1 {from g:a to g:b type knows weight 1 meta {{"since":2020}}}}

    test "PH.EDGE GET of a missing edge, type or entity is nil" {
        list [r ph.edge get g:b g:a] [r ph.edge get g:a g:b TYPE other] [r ph.edge get g:a g:missing]\
             [r ph.edge get g:missing g:a]
    } {{} {} {} {}}

    test "PH.EDGE ADD option errors" {
        list [err_of {r ph.edge add g:a g:b WEIGHT abc}] [err_of {r ph.edge add g:a g:b WEIGHT nan}]\
             [err_of {r ph.edge add g:a g:b WEIGHT inf}] [err_of {r ph.edge add g:a g:b META {[1]}}]\
             [string match {ERR META is not valid JSON*} [err_of {r ph.edge add g:a g:b META {{"x":}}}]]\
             [err_of {r ph.edge add g:a g:b TYPE [string repeat t 256]}] [err_of {r ph.edge add g:a g:b BOGUS}]\
             [err_of {r ph.edge add g:a g:b TYPE}] [r ph.edge add g:a g:b TYPE [string repeat t 255]]
    } {{ERR WEIGHT must be a finite number} {ERR WEIGHT must be a finite number} {ERR WEIGHT must be a finite number}\
       {ERR META must be a JSON object} 1 {ERR TYPE must be at most 255 bytes} {ERR syntax error} {ERR syntax error} 1}

    test "PH.EDGE DEL removes one (from, to, type); 0 when absent" {
        list [r ph.edge del g:a g:b TYPE [string repeat t 255]] [r ph.edge del g:a g:b TYPE [string repeat t 255]]\
             [r ph.edge del g:a g:missing] [r ph.edge del g:b g:a] [edges g:a]
    } {1 0 0 0 {g:a>g:b::2.5 g:a>g:b:knows:1}}

    test "UNDIRECTED is a pair of ordinary edges; a self-loop is one edge" {
        mkents g:c
        list [r ph.edge add g:b g:c UNDIRECTED TYPE u WEIGHT 3 META {{"k":1}}] [edges g:b BOTH TYPE u]\
             [r ph.edge get g:c g:b TYPE u] [r ph.edge add g:c g:c UNDIRECTED] [edges g:c OUT]\
             [r ph.edge del g:c g:b TYPE u UNDIRECTED] [edges g:b BOTH TYPE u] [r ph.edge del g:c g:c]
    } {2 {g:b>g:c:u:3 g:c>g:b:u:3} {from g:c to g:b type u weight 3 meta {{"k":1}}} 1 {g:c>g:b:u:3 g:c>g:c::1} 2 {} 1}

    test "PH.EDGE LIST: OUT (default), IN, BOTH, TYPE, LIMIT, WITHMETA; an entity without edges or no key lists nothing" {
        r ph.edge add g:c g:a TYPE t1 WEIGHT 4
        r ph.edge add g:b g:a TYPE t2
        list [edges g:a] [edges g:a IN] [edges g:a BOTH] [edges g:a BOTH TYPE knows] [edges g:a IN TYPE t1 TYPE t2]\
             [llength [r ph.edge list g:a BOTH LIMIT 1]] [r ph.edge list g:a TYPE knows WITHMETA]\
             [r ph.edge list g:nope] [edges g:c IN] [err_of {r ph.edge list g:a LIMIT -1}] [err_of {r ph.edge list str}]
    } {{g:a>g:b::2.5 g:a>g:b:knows:1} {g:c>g:a:t1:4 g:b>g:a:t2:1}\
       {g:a>g:b::2.5 g:a>g:b:knows:1 g:c>g:a:t1:4 g:b>g:a:t2:1} g:a>g:b:knows:1 {g:c>g:a:t1:4 g:b>g:a:t2:1} 1\
       {{from g:a to g:b type knows weight 1 meta {{"since":2020}}}} {} {}\
       {ERR LIMIT must be a non-negative integer} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "PH.EDGE HELP and an unknown subcommand" {
        list [string match "PH.EDGE *" [lindex [r ph.edge help] 0]] [string match "ERR*" [err_of {r ph.edge bogus}]]
    } {1 1}

    test "PH.GET EDGES: out then in edges with metadata; EDGES alone" {
        list [llength [dict get [r ph.get g:a EDGES] edges]] [dict keys [r ph.get g:a META EDGES]]\
             [dict get [r ph.get g:c EDGES] edges] [dict keys [r ph.get g:a]]
    } {4 {meta edges} {{from g:c to g:a type t1 weight 4 meta {}}} {vector meta}}

    test "Edges cross collections; INFO and PH.INFO count them" {
        r ph.create other PREFIX o:
        mkents o:1
        r ph.edge add g:a o:1 TYPE x
        set i [r ph.info g]
        list [edges o:1 IN] [s graph_edges] [s graph_nodes] [expr {[s graph_memory] > 0}]\
             [dict get $i edges] [dict get [r ph.info other] edges]\
             [dict get $i db_graph_edges] [expr {[dict get $i db_graph_memory] > 0}]\
             [string match "*db9:*" [r info graph]] [string match "*db0:edges=5,*" [r info graph]]
    } {g:a>o:1:x:1 5 4 1 5 0 5 1 0 1}
}

start_server {} {
    test "Keyspace events (class p): ph.edge.add and ph.edge.del on both ends" {
        r ph.create g
        mkents g:a g:b
        r config set notify-keyspace-events Ep
        set rd [redis_deferring_client]
        $rd psubscribe __keyevent@0__:*
        $rd read
        r ph.edge add g:a g:b
        r ph.edge add g:a g:a
        r ph.edge del g:a g:b
        r ph.edge del g:a g:b
        r ph.set g:a
        set out {}
        for {set i 0} {$i < 6} {incr i} {
            set m [$rd read]
            lappend out [lindex [split [lindex $m 2] :] end]:[lindex $m 3]
        }
        $rd close
        r config set notify-keyspace-events {}
        set out
    } {ph.edge.add:g:a ph.edge.add:g:b ph.edge.add:g:a ph.edge.del:g:a ph.edge.del:g:b ph.set:g:a}
}

# --- the cascade and the keyspace commands ------------------------------------------

start_server {} {
    r ph.create g
    # hub h: h -> 1..4, 1..4 -> h; plus 1 -> 2
    proc build {} {
        r flushdb
        catch {r ph.create g} ;# FLUSHDB keeps the collections
        mkents g:h g:1 g:2 g:3 g:4
        foreach i {1 2 3 4} {
            r ph.edge add g:h g:$i TYPE out
            r ph.edge add g:$i g:h TYPE back
        }
        r ph.edge add g:1 g:2
    }

    test "DEL removes the entity's edges at both ends" {
        build
        list [r del g:h] [s graph_edges] [edges g:1 BOTH] [edges g:4 BOTH] [s graph_nodes]
    } {1 1 g:1>g:2::1 {} 2}

    test "UNLINK, and SET over an entity key, cascade too" {
        build
        r unlink g:1
        set a [list [s graph_edges] [edges g:2 BOTH]]
        r set g:h plain
        list {*}$a [s graph_edges] [s graph_nodes] [r type g:h]
    } {6 {g:2>g:h:back:1 g:h>g:2:out:1} 0 0 string}

    test "PH.SET on an existing entity updates it in place: its edges stay" {
        build
        r ph.set g:1 META {{"v":2}}
        list [llength [edges g:1 BOTH]] [s graph_edges]
    } {3 9}

    test "RESTORE REPLACE over an entity with edges drops the old value's edges, reconnects the payload's" {
        build
        set payload [r dump g:3]
        r restore g:1 0 $payload REPLACE
        list [edges g:2 IN] [edges g:1 BOTH] [s graph_edges]
    } {g:h>g:2:out:1 {g:1>g:h:back:1 g:h>g:1:out:1} 8}

    test "A lazily expired entity is not traversed nor listed, then its edges go when it is deleted" {
        build
        r debug set-active-expire 0
        r pexpire g:1 1
        after 5
        set a [nbrs g:h DEPTH 2 TYPE out]
        set listed [edges g:2 IN]
        set out [list $a $listed [string match "ERR from entity*" [err_of {r ph.path g:1 g:h}]]]
        r exists g:1
        r debug set-active-expire 1
        lappend out [s graph_edges] [edges g:2 IN]
    } {{g:2/1 g:3/1 g:4/1 truncated=0} g:h>g:2:out:1 1 6 g:h>g:2:out:1}

    test "Active expiry cascades" {
        build
        r pexpire g:h 5
        wait_for {[s graph_edges] == 1}
        list [r exists g:h] [edges g:1 BOTH]
    } {0 g:1>g:2::1}

    test "FLUSHDB and FLUSHALL drop every edge; memory returns to the empty store's" {
        build
        r select 9
        r ph.create g
        mkents g:x g:y
        r ph.edge add g:x g:y
        r select 0
        set before [s graph_edges]
        r flushdb
        set a [list $before [s graph_edges]]
        r flushall
        list {*}$a [s graph_edges] [s graph_nodes] [expr {[s graph_memory] < 2000}]
    } {10 1 0 0 1}

    test "RENAME keeps the edges at both ends (the peers see the new name)" {
        build
        r rename g:1 g:one
        list [edges g:one] [edges g:2 IN] [lindex [nbrs g:h] 0] [r ph.edge get g:one g:2]
    } {{g:one>g:h:back:1 g:one>g:2::1} {g:h>g:2:out:1 g:one>g:2::1} g:one/1 {from g:one to g:2 type {} weight 1 meta {}}}

    test "COPY makes an entity without edges; the original keeps its own" {
        build
        list [r copy g:1 g:copy] [edges g:copy BOTH] [llength [edges g:1 BOTH]] [r del g:copy] [s graph_edges]
    } {1 {} 3 1 9}

    test "MOVE of an entity is refused, so a node never changes database" {
        build
        string match "ERR*" [err_of {r move g:1 3}]
    } {1}

    test "PH.DROP keeps the entities and their edges; DELETEDATA removes both" {
        build
        r ph.drop g
        set a [list [s graph_edges] [lindex [nbrs g:h] 0]]
        r ph.create g
        r ph.drop g DELETEDATA
        list {*}$a [r dbsize] [s graph_edges]
    } {9 g:1/1 0 0}

    test "An entity outside every collection (after PH.DROP) can get new edges" {
        build
        r ph.drop g
        list [r ph.edge add g:3 g:4 TYPE late] [edges g:3 TYPE late]
    } {1 g:3>g:4:late:1}

    test "PH.INFO edges (edges leaving the collection's entities) follows cascades, PH.DROP, adoption and FLUSHDB" {
        build
        set out [list [dict get [r ph.info g] edges]]
        r del g:h
        lappend out [dict get [r ph.info g] edges]
        r ph.drop g
        r ph.create g
        lappend out [dict get [r ph.info g] edges]
        r ph.edge add g:2 g:3
        lappend out [dict get [r ph.info g] edges]
        r flushdb
        lappend out [dict get [r ph.info g] edges]
        mkents g:x g:y
        r ph.edge add g:x g:y
        lappend out [dict get [r ph.info g] edges]
    } {9 1 1 2 0 1}

    test "MEMORY USAGE of an entity grows with its edges" {
        build
        set hub [r memory usage g:h]
        set leaf [r memory usage g:3]
        expr {$hub > $leaf}
    } {1}

    test "DUMP/RESTORE carries outgoing and incoming edges; an edge whose other end is missing is not restored" {
        build
        set payload [r dump g:1]
        r del g:1
        r del g:2
        list [r restore g:1 0 $payload] [edges g:1] [edges g:h IN] [edges g:1 IN]
    } {OK g:1>g:h:back:1 {g:4>g:h:back:1 g:3>g:h:back:1 g:1>g:h:back:1} g:h>g:1:out:1}
}

# --- random churn: every key command mixed with edge commands -------------------------

# Every outgoing edge of every entity is an incoming edge of its peer, and the
# other way round; returns the problems found.
proc check_mirrors {n} {
    # the churn's expiries (at most 4 ms away) all pass first: no entity may
    # expire between the two ends' listings
    after 6
    for {set i 0} {$i < $n} {incr i} { r exists c:$i }
    set bad {}
    for {set i 0} {$i < $n} {incr i} {
        if {[r type c:$i] ne "entity"} continue
        foreach e [r ph.edge list c:$i OUT] {
            set want [list [dict get $e from] [dict get $e type]]
            set ok 0
            foreach x [r ph.edge list [dict get $e to] IN] {
                if {[list [dict get $x from] [dict get $x type]] eq $want} { set ok 1 }
            }
            if {!$ok} { lappend bad "out edge [ed $e] missing at its head" }
        }
        foreach e [r ph.edge list c:$i IN] {
            if {[r ph.edge get [dict get $e from] [dict get $e to] TYPE [dict get $e type]] eq {}} {
                lappend bad "in edge [ed $e] missing at its tail"
            }
        }
    }
    return $bad
}

start_server {} {
    test "Random churn of entities, edges and key commands keeps both ends of every edge consistent" {
        r ph.create c
        expr {srand(11)}
        set n 20
        set bad {}
        for {set step 0} {$step < 3000} {incr step} {
            set a c:[expr {int(rand() * $n)}]
            set b c:[expr {int(rand() * $n)}]
            set t [lindex {{} x y} [expr {int(rand() * 3)}]]
            set op [expr {int(rand() * 100)}]
            catch {
                if {$op < 25} { r ph.set $a META "{\"i\":$step}"
                } elseif {$op < 55} { r ph.edge add $a $b TYPE $t WEIGHT [expr {int(rand() * 5)}] {*}[expr {rand() < 0.2 ? "UNDIRECTED" : ""}]
                } elseif {$op < 63} { r ph.edge del $a $b TYPE $t
                } elseif {$op < 67} { r del $a
                } elseif {$op < 70} { r rename $a $b
                } elseif {$op < 72} { r copy $a $b REPLACE
                } elseif {$op < 74} { r pexpire $a [expr {1 + int(rand() * 4)}]
                } elseif {$op < 76} { r set $a str
                } elseif {$op < 79} { set d [r dump $a]; if {$d ne {}} { r restore $b 0 $d REPLACE }
                } elseif {$op < 85} { r ph.neighbors $a DEPTH 3 [lindex {OUT IN BOTH} [expr {$step % 3}]] WITHPATHS
                } elseif {$op < 92} { r ph.path $a $b [lindex {OUT IN BOTH} [expr {$step % 3}]] {*}[expr {$step % 2 ? "WEIGHTED" : ""}]
                } elseif {$op < 93} { r flushdb
                } else { r ph.edge list $a BOTH WITHMETA }
            }
            if {$step % 500 == 499} { lappend bad {*}[check_mirrors $n] }
        }
        lappend bad {*}[check_mirrors $n]
        r flushdb
        list $bad [s graph_edges] [s graph_nodes]
    } {{} 0 0}
}

# --- durability: snapshots and the write-ahead log -----------------------------------

start_server {overrides {appendonly yes appendfsync always}} {
    test "Edges survive a restart through the write-ahead log (PH.EDGE replayed) and a snapshot" {
        r ph.create g
        mkents g:a g:b g:c
        r ph.edge add g:a g:b TYPE t WEIGHT 2 META {{"x":1}}
        r ph.edge add g:b g:c UNDIRECTED
        r ph.edge del g:c g:b
        r rename g:c g:c2
        r ph.create vv DIM 2
        r ph.set vv:1 VALUES 2 1 0
        r ph.set vv:2 VALUES 2 0 1
        r ph.edge add vv:1 vv:2
        r ph.edge add vv:2 g:a
        restart_server term
        set a [list [edges g:b BOTH] [r ph.edge get g:a g:b TYPE t] [dict get [r ph.info g] edges]]
        r debug reload
        list {*}$a [edges g:b BOTH] [s graph_edges] [dict get [r ph.info g] edges] [dict get [r ph.info vv] edges]\
             [edges vv:2 BOTH]
    } {{g:b>g:c2::1 g:a>g:b:t:2} {from g:a to g:b type t weight 2 meta {{"x":1}}} 2 {g:b>g:c2::1 g:a>g:b:t:2} 4 2 2 {vv:2>g:a::1 vv:1>vv:2::1}}
}

# --- PH.NEIGHBORS ------------------------------------------------------------------

start_server {} {
    # a -> b -> c -> d ; a -> e (type x, weight 5, meta {"w":1}) ; e -> c ; f -> a
    r ph.create n
    mkents n:a n:b n:c n:d n:e n:f
    r ph.set n:c META {{"lang":"en"}}
    r ph.set n:e META {{"lang":"fr"}}
    r ph.edge add n:a n:b
    r ph.edge add n:b n:c
    r ph.edge add n:c n:d
    r ph.edge add n:a n:e TYPE x WEIGHT 5 META {{"w":1}}
    r ph.edge add n:e n:c TYPE x
    r ph.edge add n:f n:a

    test "PH.NEIGHBORS: depth 1 by default, OUT; DEPTH 2 and 3 in BFS order" {
        list [nbrs n:a] [nbrs n:a DEPTH 2] [nbrs n:a DEPTH 3] [nbrs n:d DEPTH 10]
    } {{n:b/1 n:e/1 truncated=0} {n:b/1 n:e/1 n:c/2 truncated=0} {n:b/1 n:e/1 n:c/2 n:d/3 truncated=0} truncated=0}

    test "PH.NEIGHBORS IN and BOTH" {
        list [nbrs n:c IN DEPTH 2] [nbrs n:a BOTH]
    } {{n:b/1 n:e/1 n:a/2 truncated=0} {n:b/1 n:e/1 n:f/1 truncated=0}}

    test "PH.NEIGHBORS TYPE list (one TYPE with several names, or repeated TYPE)" {
        list [nbrs n:a DEPTH 3 TYPE x] [nbrs n:a DEPTH 3 TYPE x {}] [nbrs n:a DEPTH 3 TYPE x TYPE {}]\
             [nbrs n:a DEPTH 3 TYPE nosuch]
    } {{n:e/1 n:c/2 truncated=0} {n:b/1 n:e/1 n:c/2 n:d/3 truncated=0} {n:b/1 n:e/1 n:c/2 n:d/3 truncated=0} truncated=0}

    test "PH.NEIGHBORS FILTER keeps matching entities but walks through the others" {
        list [nbrs n:a DEPTH 3 FILTER {.lang == "en"}] [nbrs n:a DEPTH 3 FILTER {exists(.lang)}]
    } {{n:c/2 truncated=0} {n:e/1 n:c/2 truncated=0}}

    test "PH.NEIGHBORS EDGEFILTER on weight, type and metadata prunes the walk" {
        list [nbrs n:a DEPTH 3 EDGEFILTER {.weight > 2}] [nbrs n:a DEPTH 3 EDGEFILTER {.type == "x"}]\
             [nbrs n:a DEPTH 3 EDGEFILTER {.meta.w == 1}] [nbrs n:a DEPTH 3 EDGEFILTER {.weight < 2}]
    } {{n:e/1 truncated=0} {n:e/1 n:c/2 truncated=0} {n:e/1 truncated=0} {n:b/1 n:c/2 n:d/3 truncated=0}}

    test "PH.NEIGHBORS LIMIT cuts the result and says so only when more remain" {
        list [nbrs n:a DEPTH 3 LIMIT 2] [nbrs n:a DEPTH 3 LIMIT 4] [nbrs n:a DEPTH 3 LIMIT 5]
    } {{n:b/1 n:e/1 truncated=1} {n:b/1 n:e/1 n:c/2 n:d/3 truncated=0} {n:b/1 n:e/1 n:c/2 n:d/3 truncated=0}}

    test "PH.NEIGHBORS WITHPATHS: the edges from the start" {
        set rep [r ph.neighbors n:a DEPTH 3 WITHPATHS]
        set out {}
        foreach k [dict get $rep keys] path [dict get $rep paths] {
            set p {}
            foreach e $path { lappend p [ed $e] }
            lappend out $k $p
        }
        set out
    } {n:b n:a>n:b::1 n:e n:a>n:e:x:5 n:c {n:a>n:b::1 n:b>n:c::1} n:d {n:a>n:b::1 n:b>n:c::1 n:c>n:d::1}}

    test "PH.NEIGHBORS on IN paths shows the edges as stored" {
        set rep [r ph.neighbors n:c IN DEPTH 2 WITHPATHS]
        list [lindex [dict get $rep keys] 2] [lmap e [lindex [dict get $rep paths] 2] {ed $e}]
    } {n:a {n:b>n:c::1 n:a>n:b::1}}

    test "graph-max-traversal caps every walk and the reply says so" {
        r config set graph-max-traversal 2
        set a [nbrs n:a DEPTH 3]
        set b [r config get graph-max-traversal]
        r config set graph-max-traversal 1000000
        list $a $b [s graph_max_traversal]
    } {{n:b/1 n:e/1 truncated=1} {graph-max-traversal 2} 1000000}

    test "PH.NEIGHBORS errors" {
        list [err_of {r ph.neighbors n:zz}] [err_of {r ph.neighbors n:a DEPTH 0}]\
             [string match "ERR FILTER syntax error*" [err_of {r ph.neighbors n:a FILTER {.a ==}}]]\
             [string match "ERR EDGEFILTER *" [err_of {r ph.neighbors n:a EDGEFILTER {)}}]]\
             [err_of {r ph.neighbors n:a LIMIT 0}] [err_of {r ph.neighbors n:a BOGUS}]\
             [err_of {r config set graph-max-traversal 0}]
    } {{ERR start entity 'n:zz' does not exist} {ERR DEPTH must be between 1 and 1000000} 1 1\
       {ERR LIMIT must be a positive integer} {ERR syntax error}\
       {ERR CONFIG SET failed (possibly related to argument 'graph-max-traversal') - argument must be between 1 and 1000000000 inclusive}}

    test "RESP3: PH.NEIGHBORS and PH.PATH are maps, truncated and found are booleans" {
        set c [redis_client]
        $c hello 3
        $c readraw 1
        $c send ph.neighbors n:a
        set out [list [$c read_line]]
        $c readraw 0
        $c close
        set c [redis_client]
        $c hello 3
        set p [$c ph.path n:a n:d]
        set nb [$c ph.neighbors n:a LIMIT 1]
        $c close
        lappend out [dict get $p found] [dict get $p hops] [dict get $nb truncated]
    } {%3 1 3 1}
}

# --- PH.PATH against reference implementations -----------------------------------

# Directed adjacency of the test graph: ::adj(u) = list of {v type weight}.
proc ref_neighbors {u dir types} {
    set out {}
    if {$dir in {OUT BOTH}} {
        foreach e $::adj($u) { lassign $e v t w; if {$types eq {} || $t in $types} { lappend out [list $v $w] } }
    }
    if {$dir in {IN BOTH}} {
        foreach e $::radj($u) { lassign $e v t w; if {$types eq {} || $t in $types} { lappend out [list $v $w] } }
    }
    return $out
}

proc ref_hops {src dst dir types} {
    if {$src eq $dst} { return 0 }
    set dist [dict create $src 0]
    set queue [list $src]
    while {[llength $queue]} {
        set queue [lassign $queue u]
        foreach e [ref_neighbors $u $dir $types] {
            set v [lindex $e 0]
            if {[dict exists $dist $v]} continue
            dict set dist $v [expr {[dict get $dist $u] + 1}]
            if {$v eq $dst} { return [dict get $dist $v] }
            lappend queue $v
        }
    }
    return -1
}

# Least cost with at most k hops (k 0: any), Bellman-Ford.
proc ref_cost {src dst dir types k} {
    set cost [dict create $src 0]
    set rounds [expr {$k ? $k : [llength $::nodes]}]
    for {set r 0} {$r < $rounds} {incr r} {
        set next $cost
        dict for {u c} $cost {
            foreach e [ref_neighbors $u $dir $types] {
                lassign $e v w
                set nc [expr {$c + $w}]
                if {![dict exists $next $v] || $nc < [dict get $next $v]} { dict set next $v $nc }
            }
        }
        set cost $next
    }
    if {[dict exists $cost $dst]} { return [dict get $cost $dst] }
    return -1
}

start_server {} {
    test "PH.PATH on random graphs matches BFS (hops) and Bellman-Ford (costs), paths are real edges" {
        r ph.create p
        expr {srand(7)}
        set ::nodes {}
        for {set i 0} {$i < 25} {incr i} { lappend ::nodes p:$i; r ph.set p:$i; set ::adj(p:$i) {}; set ::radj(p:$i) {} }
        for {set i 0} {$i < 45} {incr i} {
            set u p:[expr {int(rand() * 25)}]
            set v p:[expr {int(rand() * 25)}]
            set t [lindex {a b} [expr {int(rand() * 2)}]]
            set w [expr {int(rand() * 10)}]
            if {[r ph.edge add $u $v TYPE $t WEIGHT $w]} {
                lappend ::adj($u) [list $v $t $w]
                lappend ::radj($v) [list $u $t $w]
            } else {
                # an update: replace the weight in the model
                set ::adj($u) [lmap e $::adj($u) {expr {[lrange $e 0 1] eq [list $v $t] ? [list $v $t $w] : $e}}]
                set ::radj($v) [lmap e $::radj($v) {expr {[lrange $e 0 1] eq [list $u $t] ? [list $u $t $w] : $e}}]
            }
        }
        set bad {}
        set found 0
        for {set q 0} {$q < 120} {incr q} {
            set s p:[expr {int(rand() * 25)}]
            set d p:[expr {int(rand() * 25)}]
            set dir [lindex {OUT IN BOTH} [expr {$q % 3}]]
            set types [lindex {{} a {a b}} [expr {($q / 3) % 3}]]
            set targs [expr {$types eq {} ? {} : [list TYPE {*}$types]}]
            set p [r ph.path $s $d $dir {*}$targs]
            set want [ref_hops $s $d $dir $types]
            if {$want != [dict get $p hops] || ($want >= 0) != [dict get $p found]} { lappend bad "hops $s $d $dir $types: $p want $want" }
            if {$want > 0} {
                incr found
                set keys [dict get $p keys]
                if {[lindex $keys 0] ne $s || [lindex $keys end] ne $d} { lappend bad "ends $p" }
                foreach e [dict get $p edges] a [lrange $keys 0 end-1] b [lrange $keys 1 end] {
                    set f [dict get $e from]; set t [dict get $e to]
                    set ok [expr {($dir ne "IN" && $f eq $a && $t eq $b) || ($dir ne "OUT" && $f eq $b && $t eq $a)}]
                    if {!$ok || [r ph.edge get $f $t TYPE [dict get $e type]] eq {}} { lappend bad "edge $e in $p" }
                }
            }
            set wc [ref_cost $s $d $dir $types 0]
            set pw [r ph.path $s $d $dir {*}$targs WEIGHTED]
            if {($wc >= 0) != [dict get $pw found] || ($wc >= 0 && $wc != [dict get $pw cost])} { lappend bad "cost $s $d $dir $types: $pw want $wc" }
            set wc2 [ref_cost $s $d $dir $types 2]
            set pw2 [r ph.path $s $d $dir {*}$targs WEIGHTED MAXDEPTH 2]
            if {($wc2 >= 0) != [dict get $pw2 found] || ($wc2 >= 0 && ($wc2 != [dict get $pw2 cost] || [dict get $pw2 hops] > 2))} {
                lappend bad "maxdepth cost $s $d $dir: $pw2 want $wc2"
            }
            set h2 [r ph.path $s $d $dir {*}$targs MAXDEPTH 2]
            if {[dict get $h2 found] != ($want >= 0 && $want <= 2)} { lappend bad "maxdepth hops $s $d: $h2 want $want" }
        }
        assert_morethan $found 20
        set bad
    } {}

    test "PH.PATH: to itself, MAXCOST, the weighted path may take more hops" {
        r flushdb
        r ph.create q
        mkents q:a q:b q:c q:d
        r ph.edge add q:a q:d WEIGHT 10
        r ph.edge add q:a q:b WEIGHT 1
        r ph.edge add q:b q:c WEIGHT 1
        r ph.edge add q:c q:d WEIGHT 1
        set self [r ph.path q:a q:a]
        set hops [r ph.path q:a q:d]
        set w [r ph.path q:a q:d WEIGHTED]
        list [dict get $self found] [dict get $self hops] [dict get $self keys]\
             [dict get $hops keys] [dict get $hops cost] [dict get $w keys] [dict get $w cost]\
             [dict get [r ph.path q:a q:d WEIGHTED MAXCOST 3] found] [dict get [r ph.path q:a q:d WEIGHTED MAXCOST 2.5] found]\
             [dict get [r ph.path q:a q:d WEIGHTED MAXDEPTH 2] keys] [dict get [r ph.path q:d q:a] found]\
             [dict get [r ph.path q:d q:a IN] keys]
    } {1 0 q:a {q:a q:d} 10 {q:a q:b q:c q:d} 3 1 0 {q:a q:d} 0 {q:d q:a}}

    test "PH.PATH errors: missing ends, negative weights with WEIGHTED, MAXCOST without WEIGHTED" {
        r ph.edge add q:b q:d WEIGHT -1
        list [err_of {r ph.path q:a q:zz}] [err_of {r ph.path q:zz q:a}]\
             [err_of {r ph.path q:a q:d WEIGHTED}] [dict get [r ph.path q:a q:d] hops]\
             [err_of {r ph.path q:a q:d MAXCOST 3}] [err_of {r ph.path q:a q:d WEIGHTED MAXCOST -1}]\
             [err_of {r ph.path q:a q:d MAXDEPTH 0}]
    } {{ERR to entity 'q:zz' does not exist} {ERR from entity 'q:zz' does not exist}\
       {ERR WEIGHTED needs non-negative weights: an edge on the way has a negative weight} 1\
       {ERR MAXCOST needs WEIGHTED} {ERR MAXCOST must be a non-negative number} {ERR MAXDEPTH must be between 1 and 1000000}}

    test "PH.PATH between entities without edges: not found" {
        mkents q:lonely
        dict get [r ph.path q:a q:lonely] found
    } {0}
}

# --- PH.SEARCH ... EXPAND ---------------------------------------------------------

start_server {} {
    # Vectors on a line (L2 scores are distances): a 0, e 0.2 (a draft, so FILTER
    # keeps it out of the hits), b 1, c 5, d 10; x is a graph-only entity.
    # Edges: a -> c (cites), a -> x (about), b -> d (cites, weight 3), d -> e (cites).
    r ph.create v DIM 2 METRIC L2
    r ph.create n
    r ph.set v:a VALUES 2 0 0
    r ph.set v:b VALUES 2 1 0
    r ph.set v:c VALUES 2 5 0
    r ph.set v:d VALUES 2 10 0
    r ph.set v:e VALUES 2 0.2 0 META {{"draft":true}}
    r ph.set n:x META {{"name":"x"}}
    r ph.edge add v:a v:c TYPE cites
    r ph.edge add v:a n:x TYPE about
    r ph.edge add v:b v:d TYPE cites WEIGHT 3
    r ph.edge add v:d v:e TYPE cites
    set ::q {v VALUES 2 0 0 K 2 EXACT FILTER {not .draft}}

    test "EXPAND 1: hits first in BFS order, then what they reach; RRF order" {
        # BFS order: a b c x d. vrank: a1 b2 c3 d4 (x has no vector).
        # rrf: a 1/61+1/61, b 1/62+1/61, c 1/63+1/62, d 1/64+1/62, x 1/62.
        expanded {*}$::q EXPAND 1
    } {v:a/1/0 v:b/1/0 v:c/0/1 v:d/0/1 n:x/0/1 truncated=0}

    test "EXPAND 2 with RRF ranks e (good vector, 2 hops) between the hits and the far ones" {
        # vrank: a1 e2 b3 c4 d5; rrf: a .032787 b .032266 e .032002 c .031754 d .031514 x .016129
        expanded {*}$::q EXPAND 2
    } {v:a/1/0 v:b/1/0 v:e/0/2 v:c/0/1 v:d/0/1 n:x/0/1 truncated=0}

    test "RERANK SCORE orders by vector score only; no score last" {
        expanded {*}$::q EXPAND 2 RERANK SCORE
    } {v:a/1/0 v:e/0/2 v:b/1/0 v:c/0/1 v:d/0/1 n:x/0/1 truncated=0}

    test "EXPAND scores and rrf values" {
        set rep [r ph.search {*}$::q EXPAND 2]
        set out {}
        foreach m [dict get $rep results] {
            set sc [dict get $m score]
            if {$sc ne {}} { set sc [format %.4f $sc] } else { set sc none }
            lappend out [dict get $m key] $sc [format %.6f [dict get $m rrf]]
        }
        set out
    } {v:a 0.0000 0.032787 v:b 1.0000 0.032266 v:e 0.2000 0.032002 v:c 5.0000 0.031754 v:d 10.0000 0.031514 n:x none 0.016129}

    test "EXPAND TYPE, direction, EDGEFILTER and LIMIT" {
        list [expanded {*}$::q EXPAND 2 TYPE cites] [expanded {*}$::q EXPAND 1 IN]\
             [expanded {*}$::q EXPAND 2 EDGEFILTER {.weight < 2}] [expanded {*}$::q EXPAND 2 LIMIT 2]\
             [expanded {*}$::q EXPAND 2 LIMIT 4]
    } {{v:a/1/0 v:b/1/0 v:e/0/2 v:c/0/1 v:d/0/1 truncated=0} {v:a/1/0 v:b/1/0 truncated=0}\
       {v:a/1/0 v:b/1/0 v:c/0/1 n:x/0/1 truncated=0} {v:a/1/0 v:b/1/0 v:c/0/1 n:x/0/1 truncated=1}\
       {v:a/1/0 v:b/1/0 v:e/0/2 v:c/0/1 v:d/0/1 n:x/0/1 truncated=0}}

    test "EXPAND WITHPATHS and WITHMETA" {
        set rep [r ph.search {*}$::q EXPAND 2 WITHPATHS WITHMETA]
        set out {}
        foreach m [dict get $rep results] {
            lappend out [dict get $m key] [lmap e [dict get $m path] {ed $e}] [dict get $m meta]
        }
        set out
    } {v:a {} {{}} v:b {} {{}} v:e {v:b>v:d:cites:3 v:d>v:e:cites:1} {{"draft":true}} v:c v:a>v:c:cites:1 {{}}\
       v:d v:b>v:d:cites:3 {{}} n:x v:a>n:x:about:1 {{"name":"x"}}}

    test "EXPAND with RADIUS: only the hits within it seed the expansion" {
        expanded {*}$::q RADIUS 0.5 EXPAND 1
    } {v:a/1/0 v:c/0/1 n:x/0/1 truncated=0}

    test "EXPAND option errors" {
        list [err_of {r ph.search {*}$::q RERANK RRF}] [err_of {r ph.search {*}$::q WITHPATHS}]\
             [err_of {r ph.search {*}$::q EXPAND 1 RERANK BEST}] [err_of {r ph.search {*}$::q EXPAND 0}]\
             [err_of {r ph.search {*}$::q EXPAND 1 WITHVECTORS}] [err_of {r ph.search {*}$::q EXPAND 1 EXPAND 2}]\
             [err_of {r ph.search {*}$::q EXPAND 1 LIMIT 0}]
    } {{ERR RERANK needs EXPAND} {ERR WITHPATHS needs EXPAND} {ERR RERANK must be RRF or SCORE}\
       {ERR EXPAND depth must be between 1 and 1000000} {ERR WITHVECTORS and RETURN are not supported with EXPAND}\
       {ERR syntax error} {ERR LIMIT must be a positive integer}}

    test "Deleting a hit's neighbour between searches changes the expansion" {
        r del v:c
        expanded {*}$::q EXPAND 1
    } {v:a/1/0 v:b/1/0 v:d/0/1 n:x/0/1 truncated=0}
}

}

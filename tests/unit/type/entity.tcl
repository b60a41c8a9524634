# Entities and vector search (docs/entities.md is the contract): PH.CREATE PH.DROP
# PH.LIST PH.INFO PH.SET PH.GET PH.PATCH PH.SEARCH, every error reply of the spec,
# the keyspace commands on entities (DEL UNLINK EXPIRE RENAME COPY MOVE TYPE SCAN
# FLUSHDB OBJECT MEMORY) and the index staying consistent with them, scores of the
# three metrics on hand-made vectors, RESP3 maps, FLAT collections, collections per
# database, and the recall of the HNSW search against EXACT through the server.
#
# Vectors travel as fp32 little-endian blobs built with `binary format r*`; NaN and
# infinities are built from their bytes. Metadata replies are compared as JSON (keys
# sorted, whitespace dropped, see json_canon) since the spec does not fix the layout
# of the JSON text.

# --- helpers -------------------------------------------------------------------

# fvec 1 2 3: the fp32 little-endian blob of the numbers.
proc fvec {args} { binary format r* $args }

# The numbers of a blob.
proc unvec {blob} {
    binary scan $blob r* f
    return $f
}

# Blob of d random components in [-1, 1).
proc rand_vec {d} {
    set l {}
    for {set i 0} {$i < $d} {incr i} { lappend l [expr {rand() * 2.0 - 1.0}] }
    # Rounded to fp32, so that Tcl computes on what the server stores.
    binary scan [binary format r* $l] r* l
    return $l
}

proc assert_close {expected got {tol 1e-5} {detail {}}} {
    if {![string is double -strict $got] || abs($expected - $got) > $tol} {
        ::t::fail "Expected '$got' to be within $tol of '$expected' $detail"
    }
}

proc assert_vec_close {expected got {tol 1e-5}} {
    if {[llength $expected] != [llength $got]} {
        ::t::fail "Expected a vector of [llength $expected] components, got '$got'"
    }
    foreach e $expected g $got {
        if {![string is double -strict $g] || abs($e - $g) > $tol * (1.0 + abs($e))} {
            ::t::fail "Expected vector '$expected', got '$got'"
        }
    }
}

# The error raised by code (fails the test when code does not raise one).
proc err_of {code} {
    if {[catch {uplevel 1 $code} e]} { return $e }
    ::t::fail "Expected an error, got the reply '[::t::clip $e]'"
}

# An error reply that is an ERR and names word (case-insensitively): the spec
# asks for "a clear error" without fixing its text for these cases.
proc assert_err_mentions {word code} {
    set e [err_of [list uplevel 1 $code]]
    if {![string match "ERR *" $e] || ![regexp -nocase "\\m$word\\M" $e]} {
        ::t::fail "Expected an ERR naming '$word', got '$e'"
    }
}

# --- JSON canonical form: objects with sorted keys, no whitespace. Enough JSON
# for these tests (strings are kept as written, escapes included).
namespace eval ::jc {}
proc ::jc::ws {s iv} {
    upvar 1 $iv i
    while {$i < [string length $s] && [string is space [string index $s $i]]} { incr i }
}
proc ::jc::str {s iv} {
    upvar 1 $iv i
    if {[string index $s $i] ne "\""} { error "json: string expected at $i in $s" }
    set j [expr {$i + 1}]
    while {$j < [string length $s]} {
        set c [string index $s $j]
        if {$c eq "\\"} { incr j 2; continue }
        if {$c eq "\""} break
        incr j
    }
    if {$j >= [string length $s]} { error "json: unterminated string in $s" }
    set tok [string range $s $i $j]
    set i [expr {$j + 1}]
    return $tok
}
proc ::jc::expect {s iv ch} {
    upvar 1 $iv i
    ::jc::ws $s i
    if {[string index $s $i] ne $ch} { error "json: '$ch' expected at $i in $s" }
    incr i
}
proc ::jc::value {s iv} {
    upvar 1 $iv i
    ::jc::ws $s i
    set c [string index $s $i]
    if {$c eq "\{"} {
        incr i
        set members {}
        ::jc::ws $s i
        if {[string index $s $i] eq "\}"} { incr i; return "{}" }
        while 1 {
            ::jc::ws $s i
            set k [::jc::str $s i]
            ::jc::expect $s i :
            lappend members [list $k [::jc::value $s i]]
            ::jc::ws $s i
            set c [string index $s $i]
            incr i
            if {$c eq ","} continue
            if {$c eq "\}"} break
            error "json: ',' or '\}' expected in $s"
        }
        set parts {}
        foreach m [lsort -index 0 $members] { lappend parts "[lindex $m 0]:[lindex $m 1]" }
        return "\{[join $parts ,]\}"
    } elseif {$c eq "\["} {
        incr i
        set items {}
        ::jc::ws $s i
        if {[string index $s $i] eq "\]"} { incr i; return {[]} }
        while 1 {
            lappend items [::jc::value $s i]
            ::jc::ws $s i
            set c [string index $s $i]
            incr i
            if {$c eq ","} continue
            if {$c eq "\]"} break
            error "json: ',' or '\]' expected in $s"
        }
        return "\[[join $items ,]\]"
    } elseif {$c eq "\""} {
        return [::jc::str $s i]
    }
    set rest [string range $s $i end]
    if {[regexp {^(true|false|null)} $rest -> tok]} {
        incr i [string length $tok]
        return $tok
    }
    if {[regexp {^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?} $rest tok frac ex]} {
        incr i [string length $tok]
        if {$frac eq "" && $ex eq ""} { return $tok }
        return [expr {double($tok)}]
    }
    error "json: unexpected text at $i in $s"
}
proc json_canon {text} {
    set i 0
    set v [::jc::value $text i]
    ::jc::ws $text i
    if {$i != [string length $text]} { error "json: trailing text in $text" }
    return $v
}
proc assert_json {expected got {detail {}}} {
    if {[catch {json_canon $got} g]} { ::t::fail "Expected JSON '$expected', got '$got' ($g)" }
    assert_equal [json_canon $expected] $g $detail
}

# The keys of a PH.SEARCH reply (plain, or one map per result).
proc res_keys {reply} {
    set out {}
    foreach r $reply {
        if {[llength $r] > 1} { lappend out [dict get $r key] } else { lappend out $r }
    }
    return $out
}

# key score key score ... of a WITHSCORES reply.
proc res_scores {reply} {
    set out {}
    foreach r $reply { lappend out [dict get $r key] [dict get $r score] }
    return $out
}

# Checks a WITHSCORES reply: keys in order, scores within tol.
proc assert_ranked {expected reply {tol 1e-5}} {
    set got [res_scores $reply]
    if {[llength $got] != [llength $expected]} {
        ::t::fail "Expected results '$expected', got '$got'"
    }
    foreach {ek es} $expected {gk gs} $got {
        if {$ek ne $gk} { ::t::fail "Expected results '$expected', got '$got'" }
        assert_close $es $gs $tol "(score of $ek in '$got')"
    }
}

# PH.INFO as a dict.
proc phinfo {coll} { r ph.info $coll }

# Every key of the current db whose type is entity, via SCAN TYPE.
proc scan_entities {} {
    set cursor 0
    set out {}
    while 1 {
        lassign [r scan $cursor type entity count 100] cursor keys
        lappend out {*}$keys
        if {$cursor eq "0"} break
    }
    return [lsort -unique $out]
}

set ::NaN [binary format H* 0000c07f]
set ::PInf [binary format H* 0000807f]
set ::NInf [binary format H* 000080ff]

tags {entity phenix-only} {

# --- collections -----------------------------------------------------------------

start_server {} {
    test "Arity errors of every PH command" {
        set out {}
        foreach cmd {{ph.create} {ph.drop} {ph.list x} {ph.info} {ph.info a b} {ph.set}
                     {ph.get} {ph.patch} {ph.patch k} {ph.patch k {} {}} {ph.search}
                     {ph.search c} {ph.search c VECTOR}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } [list {ERR wrong number of arguments for 'ph.create' command} \
            {ERR wrong number of arguments for 'ph.drop' command} \
            {ERR wrong number of arguments for 'ph.list' command} \
            {ERR wrong number of arguments for 'ph.info' command} \
            {ERR wrong number of arguments for 'ph.info' command} \
            {ERR wrong number of arguments for 'ph.set' command} \
            {ERR wrong number of arguments for 'ph.get' command} \
            {ERR wrong number of arguments for 'ph.patch' command} \
            {ERR wrong number of arguments for 'ph.patch' command} \
            {ERR wrong number of arguments for 'ph.patch' command} \
            {ERR wrong number of arguments for 'ph.search' command} \
            {ERR wrong number of arguments for 'ph.search' command} \
            {ERR wrong number of arguments for 'ph.search' command}]

    test "PH.LIST of a database without collections is empty" {
        r ph.list
    } {}

    test "PH.CREATE with defaults: prefix <coll>:, COSINE, HNSW, M 16, EF_CONSTRUCTION 200, EF_RUNTIME 64" {
        assert_equal OK [r ph.create docs]
        set i [phinfo docs]
        # No DIM: the spec does not say how PH.INFO shows it (null or 0).
        list [dict get $i name] [dict get $i prefix] [expr {[dict get $i dim] in {{} 0}}] \
            [string toupper [dict get $i metric]] [string toupper [dict get $i index]] \
            [dict get $i m] [dict get $i ef_construction] [dict get $i ef_runtime] \
            [dict get $i entities] [dict get $i vectors] [dict get $i index_state]
    } {docs docs: 1 COSINE HNSW 16 200 64 0 0 ready}

    test "PH.INFO has every field of the spec" {
        r ph.create fields DIM 4
        set i [phinfo fields]
        set missing {}
        foreach f {name prefix dim metric index m ef_construction ef_runtime entities vectors
                   memory_vectors memory_index memory_other memory_metadata index_state
                   searches exact_searches} {
            if {![dict exists $i $f]} { lappend missing $f }
        }
        list $missing [dict get $i dim] [dict get $i searches] [dict get $i exact_searches]
    } {{} 4 0 0}

    test "PH.CREATE with every option" {
        assert_equal OK [r ph.create full PREFIX item/ DIM 3 METRIC L2 INDEX FLAT M 8 \
            EF_CONSTRUCTION 50 EF_RUNTIME 20]
        set i [phinfo full]
        list [dict get $i prefix] [dict get $i dim] [string toupper [dict get $i metric]] \
            [string toupper [dict get $i index]] [dict get $i m] [dict get $i ef_construction] \
            [dict get $i ef_runtime]
    } {item/ 3 L2 FLAT 8 50 20}

    test "PH.CREATE options are case-insensitive" {
        assert_equal OK [r ph.create ci prefix ci: dim 2 metric ip index hnsw m 4 ef_construction 10 ef_runtime 5]
        set i [phinfo ci]
        list [dict get $i dim] [string toupper [dict get $i metric]] [string toupper [dict get $i index]] [dict get $i m]
    } {2 IP HNSW 4}

    test "PH.LIST lists the collections" {
        lsort [r ph.list]
    } {ci docs fields full}

    test "PH.CREATE of an existing collection" {
        list [err_of {r ph.create docs}] [err_of {r ph.create docs PREFIX zzz:}]
    } {{ERR collection 'docs' already exists} {ERR collection 'docs' already exists}}

    test "PH.CREATE refuses a prefix that overlaps another collection's" {
        set out {}
        lappend out [err_of {r ph.create sub PREFIX docs:sub:}]
        lappend out [err_of {r ph.create sup PREFIX doc}]
        lappend out [err_of {r ph.create same PREFIX docs:}]
        # The empty prefix overlaps every other one.
        assert_match "ERR *" [err_of {r ph.create all PREFIX {}}]
        set out
    } {{ERR prefix 'docs:sub:' overlaps collection 'docs' (prefix 'docs:')} {ERR prefix 'doc' overlaps collection 'docs' (prefix 'docs:')} {ERR prefix 'docs:' overlaps collection 'docs' (prefix 'docs:')}}

    test "PH.CREATE of a prefix that only shares a beginning with another is accepted" {
        # "docsX:" and "docs:" : neither starts with the other.
        list [r ph.create docsx PREFIX docsX:] [lsort [r ph.list]]
    } {OK {ci docs docsx fields full}}

    test "A refused PH.CREATE creates nothing" {
        lsort [r ph.list]
    } {ci docs docsx fields full}

    test "PH.CREATE DIM bounds" {
        set out {}
        foreach d {0 -1 65537 100000000000} { lappend out [err_of {r ph.create bad DIM $d}] }
        foreach d {abc 1.5} { assert_match "ERR*" [err_of {r ph.create bad DIM $d}] }
        lappend out [r ph.create d1 DIM 1] [r ph.create dmax DIM 65536]
        set out
    } {{ERR DIM must be between 1 and 65536} {ERR DIM must be between 1 and 65536} {ERR DIM must be between 1 and 65536} {ERR DIM must be between 1 and 65536} OK OK}

    test "PH.CREATE unknown METRIC" {
        assert_match "ERR*" [err_of {r ph.create bad DIM 2 METRIC}]
        err_of {r ph.create bad DIM 2 METRIC hamming}
    } {ERR unknown METRIC 'hamming'}

    test "PH.CREATE bad INDEX, M, EF_CONSTRUCTION, EF_RUNTIME" {
        assert_err_mentions INDEX {r ph.create bad DIM 2 INDEX IVF}
        foreach m {1 513 0} { assert_err_mentions M {r ph.create bad DIM 2 M $m} }
        foreach n {0 4097 -3} { assert_err_mentions EF_CONSTRUCTION {r ph.create bad DIM 2 EF_CONSTRUCTION $n} }
        foreach n {0 65537} { assert_err_mentions EF_RUNTIME {r ph.create bad DIM 2 EF_RUNTIME $n} }
        # Not a number: any ERR.
        foreach opt {M EF_CONSTRUCTION EF_RUNTIME} {
            assert_match "ERR*" [err_of {r ph.create bad DIM 2 $opt x}]
        }
        list [r ph.create m2 DIM 2 M 2 EF_CONSTRUCTION 1 EF_RUNTIME 1] \
             [r ph.create m512 DIM 2 M 512 EF_CONSTRUCTION 4096 EF_RUNTIME 65536] \
             [lsearch [r ph.list] bad]
    } {OK OK -1}

    test "PH.CREATE unknown option and missing option value" {
        assert_match "ERR*" [err_of {r ph.create bad DIM 2 COLOR red}]
        assert_match "ERR*" [err_of {r ph.create bad DIM}]
        assert_match "ERR*" [err_of {r ph.create bad PREFIX}]
        lsearch [r ph.list] bad
    } {-1}

    test "PH.INFO and PH.DROP of a missing collection" {
        list [err_of {r ph.drop nosuch}] [err_of {r ph.drop nosuch DELETEDATA}] \
             [string match "ERR no such collection*" [err_of {r ph.info nosuch}]]
    } {{ERR no such collection 'nosuch'} {ERR no such collection 'nosuch'} 1}

    test "PH.DROP with a bad option" {
        assert_match "ERR*" [err_of {r ph.drop docs NOW}]
        expr {[lsearch [r ph.list] docs] >= 0}
    } {1}

    test "PH.DROP keeps the entities as unindexed entities" {
        r ph.create keep DIM 2 METRIC L2
        r ph.set keep:a VALUES 2 1 2 META {{"x":1}}
        r ph.set keep:b VALUES 2 3 4
        assert_equal OK [r ph.drop keep]
        set g [r ph.get keep:a]
        list [lsearch [r ph.list] keep] [r exists keep:a keep:b] [r type keep:a] \
             [unvec [dict get $g vector]] [json_canon [dict get $g meta]] \
             [err_of {r ph.set keep:c VALUES 2 1 1}] \
             [string match "ERR no such collection*" [err_of {r ph.search keep VALUES 2 0 0}]]
    } {-1 2 entity {1.0 2.0} {{"x":1}} {ERR key 'keep:c' does not belong to any collection} 1}

    test "PH.CREATE indexes the entities already under its prefix" {
        # keep:a and keep:b survived the drop above.
        r ph.create keep DIM 2 METRIC L2
        set i [phinfo keep]
        list [dict get $i entities] [dict get $i vectors] \
             [r ph.search keep VALUES 2 3 4 K 2] [r ph.search keep VALUES 2 3 4 K 2 EXACT]
    } {2 2 {keep:b keep:a} {keep:b keep:a}}

    test "memory_metadata follows SET META, PATCH, DEL, DROP and re-adoption" {
        r ph.create mb DIM 2
        r ph.set mb:a VALUES 2 1 2 META {{"x":1}}
        r ph.set mb:b VALUES 2 1 2
        r ph.patch mb:a {{"y":"abc"}}
        r ph.set mb:b META {{"z":[1,2]}}
        # compact texts: {"x":1,"y":"abc"} 17 and {"z":[1,2]} 11
        set out [dict get [phinfo mb] memory_metadata]
        r del mb:a
        lappend out [dict get [phinfo mb] memory_metadata]
        r ph.patch mb:b {{"z":null}}
        lappend out [dict get [phinfo mb] memory_metadata]
        r ph.set mb:c VALUES 2 5 5 META {{"k":"v"}}
        r ph.drop mb
        r ph.create mb DIM 2
        lappend out [dict get [phinfo mb] memory_metadata] [dict get [phinfo mb] vectors] \
            [r ph.search mb VALUES 2 5 5 K 1]
        r del mb:b mb:c
        lappend out [dict get [phinfo mb] memory_metadata]
        r ph.drop mb
        set out
    } {28 11 2 11 2 mb:c 0}

    test "PH.DROP DELETEDATA deletes the entities" {
        r set keep_other v
        list [r ph.drop keep DELETEDATA] [r exists keep:a keep:b] [lsearch [r ph.list] keep] \
             [r get keep_other]
    } {OK 0 -1 v}

    test "PH.DROP DELETEDATA leaves non-entity keys under the prefix alone" {
        r ph.create mix DIM 2
        r ph.set mix:e VALUES 2 1 0
        r set mix:s astring
        r ph.drop mix deletedata
        list [r exists mix:e] [r get mix:s]
    } {0 astring}
}

# --- entities ----------------------------------------------------------------------

start_server {} {
    r ph.create l2 DIM 4 METRIC L2
    r ph.create cos DIM 4 METRIC COSINE
    r ph.create ip DIM 4 METRIC IP
    r ph.create meta

    test "PH.SET VECTOR creates (1) then updates (0)" {
        list [r ph.set l2:a VECTOR [fvec 1 2 3 4]] [r ph.set l2:a VECTOR [fvec 4 3 2 1]] [r exists l2:a]
    } {1 0 1}

    test "PH.GET returns the vector blob as given (L2) and {} as metadata" {
        set g [r ph.get l2:a]
        list [lsort [dict keys $g]] [expr {[dict get $g vector] eq [fvec 4 3 2 1]}] \
             [json_canon [dict get $g meta]]
    } {{meta vector} 1 {{}}}

    test "PH.SET VALUES equals the same VECTOR" {
        r ph.set l2:v VALUES 4 0.5 -1.25 3e2 7
        expr {[dict get [r ph.get l2:v VECTOR] vector] eq [fvec 0.5 -1.25 300 7]}
    } {1}

    test "IP vectors are returned exactly, blobs are binary-safe" {
        # Finite components whose bytes include \r \n \0 and a space; -0.0.
        set blob [binary format H* 0d0a00200a0d0a0d0000803f00000080]
        r ph.set ip:bin VECTOR $blob
        expr {[dict get [r ph.get ip:bin vector] vector] eq $blob}
    } {1}

    test "COSINE vectors come back as norm x unit vector, within float rounding" {
        r ph.set cos:a VALUES 4 3 4 0 12
        assert_vec_close {3 4 0 12} [unvec [dict get [r ph.get cos:a] vector]] 1e-6
        r ph.set cos:b VECTOR [fvec 1e-3 -2e3 0.125 7]
        assert_vec_close {1e-3 -2e3 0.125 7} [unvec [dict get [r ph.get cos:b] vector]] 1e-6
    } {}

    test "PH.GET VALUES is an array of doubles, only when asked" {
        r ph.set l2:vals VALUES 4 0.5 -2 3.25 1e-3
        set g [r ph.get l2:vals VALUES]
        assert_equal {values} [dict keys $g]
        assert_vec_close {0.5 -2 3.25 1e-3} [dict get $g values] 1e-6
        set all [r ph.get l2:vals]
        dict exists $all values
    } {0}

    test "PH.GET parts asked for" {
        r ph.set l2:p VALUES 4 1 1 1 1 META {{"k":"v"}}
        set g1 [r ph.get l2:p META]
        set g2 [r ph.get l2:p VECTOR]
        set g3 [r ph.get l2:p VECTOR VALUES META]
        list [dict keys $g1] [json_canon [dict get $g1 meta]] [dict keys $g2] \
             [lsort [dict keys $g3]] [expr {[r ph.get l2:p meta vector values] eq $g3}]
    } {meta {{"k":"v"}} vector {meta values vector} 1}

    test "PH.GET of a missing key is null" {
        r ph.get l2:missing
    } {}

    test "PH.GET with an unknown part" {
        assert_match "ERR*" [err_of {r ph.get l2:p COLOR}]
    } {}

    test "A new entity starts with no vector and {}" {
        list [r ph.set l2:bare] [dict get [r ph.get l2:bare] vector] [json_canon [dict get [r ph.get l2:bare] meta]] \
             [r type l2:bare]
    } {1 {} {{}} entity}

    test "PH.SET META only, in a collection without DIM" {
        list [r ph.set meta:1 META {{"a": 1, "b": [true, null, "s"], "c": {"d": 2.5}}}] \
             [json_canon [dict get [r ph.get meta:1] meta]] [dict get [r ph.get meta:1] vector]
    } {1 {{"a":1,"b":[true,null,"s"],"c":{"d":2.5}}} {}}

    test "A part not given is kept on update" {
        r ph.set l2:k VALUES 4 1 2 3 4 META {{"x":1}}
        assert_equal 0 [r ph.set l2:k META {{"y":2}}]
        set g [r ph.get l2:k]
        assert_equal [fvec 1 2 3 4] [dict get $g vector]
        assert_json {{"y":2}} [dict get $g meta]
        assert_equal 0 [r ph.set l2:k VALUES 4 5 6 7 8]
        set g [r ph.get l2:k]
        assert_equal [fvec 5 6 7 8] [dict get $g vector]
        assert_json {{"y":2}} [dict get $g meta]
        # With nothing at all, an update changes nothing.
        assert_equal 0 [r ph.set l2:k]
        assert_equal $g [r ph.get l2:k]
    } {}

    test "META replaces the whole metadata object" {
        r ph.set meta:r META {{"a":1,"b":{"c":2}}}
        r ph.set meta:r META {{"b":{"d":3}}}
        json_canon [dict get [r ph.get meta:r] meta]
    } {{"b":{"d":3}}}

    test "PH.SET NX only creates, XX only updates; null when they do nothing" {
        r del l2:n
        set out {}
        lappend out [r ph.set l2:n VALUES 4 1 1 1 1 NX]
        lappend out [r ph.set l2:n VALUES 4 2 2 2 2 NX]
        lappend out [unvec [dict get [r ph.get l2:n] vector]]
        lappend out [r ph.set l2:n VALUES 4 3 3 3 3 XX]
        lappend out [unvec [dict get [r ph.get l2:n] vector]]
        lappend out [r ph.set l2:nx VALUES 4 1 1 1 1 XX] [r exists l2:nx]
        lappend out [r ph.set l2:n META {{"m":1}} xx] [r ph.set l2:n2 META {{}} nx]
    } {1 {} {1.0 1.0 1.0 1.0} 0 {3.0 3.0 3.0 3.0} {} 0 0 1}

    test "PH.SET with both NX and XX, or both VECTOR and VALUES, is an error" {
        r del l2:e
        assert_match "ERR*" [err_of {r ph.set l2:e VALUES 4 1 1 1 1 NX XX}]
        assert_match "ERR*" [err_of {r ph.set l2:e VECTOR [fvec 1 1 1 1] VALUES 4 1 1 1 1}]
        assert_match "ERR*" [err_of {r ph.set l2:e VALUES 4 1 1 1 1 BOGUS}]
        assert_match "ERR*" [err_of {r ph.set l2:e VECTOR}]
        assert_match "ERR*" [err_of {r ph.set l2:e META}]
        r exists l2:e
    } {0}

    test "PH.SET of a key outside every collection" {
        list [err_of {r ph.set nowhere:1 VALUES 4 1 2 3 4}] [err_of {r ph.set L2:a META {{}}}] \
             [r exists nowhere:1 L2:a]
    } {{ERR key 'nowhere:1' does not belong to any collection} {ERR key 'L2:a' does not belong to any collection} 0}

    test "Wrong dimension: VALUES, and blobs whose length is not 4*d" {
        r del l2:d
        set out {}
        lappend out [err_of {r ph.set l2:d VALUES 3 1 2 3}]
        lappend out [err_of {r ph.set l2:d VECTOR [fvec 1 2 3]}]
        lappend out [err_of {r ph.set l2:d VECTOR [fvec 1 2 3 4 5]}]
        foreach blob [list [string range [fvec 1 2 3 4] 0 14] "[fvec 1 2 3 4]x" {}] {
            assert_match "ERR vector dimension mismatch: expected 4, got *" [err_of {r ph.set l2:d VECTOR $blob}]
        }
        lappend out [r exists l2:d]
    } {{ERR vector dimension mismatch: expected 4, got 3} {ERR vector dimension mismatch: expected 4, got 3} {ERR vector dimension mismatch: expected 4, got 5} 0}

    test "VALUES count that does not match the numbers given" {
        r del l2:d
        assert_match "ERR*" [err_of {r ph.set l2:d VALUES 4 1 2 3}]
        assert_match "ERR*" [err_of {r ph.set l2:d VALUES 4 1 2 3 META {{}}}]
        assert_match "ERR*" [err_of {r ph.set l2:d VALUES x 1 2 3 4}]
        assert_match "ERR*" [err_of {r ph.set l2:d VALUES -1}]
        assert_match "ERR*" [err_of {r ph.set l2:d VALUES 4 1 2 three 4}]
        r exists l2:d
    } {0}

    test "NaN and infinities are refused in blobs, nothing stored" {
        r del l2:nan
        set out {}
        foreach bad [list $::NaN $::PInf $::NInf] {
            set blob "[fvec 1 2][set bad][fvec 4]"
            set e [err_of {r ph.set l2:nan VECTOR $blob}]
            # Component 2 counting from 0, or 3 counting from 1: either is "clear".
            if {![regexp {^ERR vector component ([23]) is not a finite number$} $e]} {
                ::t::fail "unexpected error for a non-finite component: $e"
            }
        }
        r exists l2:nan
    } {0}

    test "NaN in the first component and in a COSINE collection" {
        r del cos:nan
        set e [err_of {r ph.set cos:nan VECTOR "$::NaN[fvec 1 2 3]"}]
        assert_match {ERR vector component [01] is not a finite number} $e
        r exists cos:nan
    } {0}

    test "NaN and infinities are refused in VALUES" {
        r del l2:nan
        foreach v {nan inf -inf NaN Infinity 1e999} {
            assert_match "ERR*" [err_of {r ph.set l2:nan VALUES 4 1 2 $v 4}]
        }
        r exists l2:nan
    } {0}

    test "A refused update keeps the old entity" {
        r ph.set l2:keep VALUES 4 1 2 3 4 META {{"ok":true}}
        catch {r ph.set l2:keep VECTOR "[fvec 9 9 9]$::NaN" META {{"ok":false}}}
        catch {r ph.set l2:keep VALUES 4 9 9 9 9 META {{"ok":}}}
        catch {r ph.set l2:keep VALUES 3 9 9 9 META {{"ok":false}}}
        set g [r ph.get l2:keep]
        list [unvec [dict get $g vector]] [json_canon [dict get $g meta]]
    } {{1.0 2.0 3.0 4.0} {{"ok":true}}}

    test "A collection without DIM holds no vectors" {
        list [err_of {r ph.set meta:v VALUES 2 1 2}] [err_of {r ph.set meta:v VECTOR [fvec 1 2]}] [r exists meta:v]
    } {{ERR collection 'meta' has no DIM: it holds no vectors} {ERR collection 'meta' has no DIM: it holds no vectors} 0}

    test "META must be a valid JSON object" {
        r del meta:bad
        set out {}
        # (the unbalanced brace is built with format so that Tcl's braces stay balanced)
        foreach j [list {{"a":}} [format %c\"a\":1 123] {not json} {} {{"a":1} x}] {
            set e [err_of {r ph.set meta:bad META $j}]
            if {![regexp {^ERR META is not a valid JSON object: .+ at line [0-9]+ column [0-9]+$} $e]} {
                lappend out $e
            }
        }
        foreach j {{[1,2]} {"s"} 3 null true} {
            assert_match "ERR META is not a valid JSON object*" [err_of {r ph.set meta:bad META $j}]
        }
        lappend out [r exists meta:bad]
    } {0}

    test "The position of a JSON syntax error" {
        assert_match {ERR META is not a valid JSON object: * at line 1 column 6} \
            [err_of {r ph.set meta:bad META {{"a":}}}]
    } {}

    test "WRONGTYPE against a string key, and string commands against an entity" {
        r set l2:str hello
        set out {}
        lappend out [err_of {r ph.set l2:str VALUES 4 1 2 3 4}]
        lappend out [err_of {r ph.get l2:str}]
        lappend out [err_of {r ph.patch l2:str {{"a":1}}}]
        lappend out [r get l2:str]
        lappend out [err_of {r get l2:a}] [err_of {r append l2:a x}]
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value} hello {WRONGTYPE Operation against a key holding the wrong kind of value} {WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "Metadata with unicode, escapes and deep nesting round-trips" {
        set j {{"s":"caf\u00e9 \"q\" \\ \n","n":-12.5,"z":0,"big":12345678901234,"deep":{"a":{"b":{"c":[[[]]]}}}}}
        r ph.set meta:u META $j
        set got [json_canon [dict get [r ph.get meta:u] meta]]
        # String escapes may be re-encoded; compare numbers and structure.
        list [string match {*"n":-12.5,*} $got] [string match {*"big":12345678901234,*} $got] \
             [string match {*"deep":\{"a":\{"b":\{"c":\[\[\[\]\]\]\}\}\}*} $got] \
             [string match {*"z":0\}} $got]
    } {1 1 1 1}

    test "PH.SET of a big vector (DIM 4096)" {
        r ph.create big DIM 4096 METRIC L2
        set v {}
        for {set i 0} {$i < 4096} {incr i} { lappend v [expr {$i * 0.25}] }
        r ph.set big:1 VECTOR [binary format r* $v]
        expr {[dict get [r ph.get big:1 VECTOR] vector] eq [binary format r* $v]}
    } {1}

    # --- PH.PATCH: the examples of RFC 7386 (appendix A) whose target and result are objects.
    set ::rfc7386 {
        {{"a":"b"}} {{"a":"c"}} {{"a":"c"}}
        {{"a":"b"}} {{"b":"c"}} {{"a":"b","b":"c"}}
        {{"a":"b"}} {{"a":null}} {{}}
        {{"a":"b","b":"c"}} {{"a":null}} {{"b":"c"}}
        {{"a":["b"]}} {{"a":"c"}} {{"a":"c"}}
        {{"a":"c"}} {{"a":["b"]}} {{"a":["b"]}}
        {{"a":{"b":"c"}}} {{"a":{"b":"d","c":null}}} {{"a":{"b":"d"}}}
        {{"a":[{"b":"c"}]}} {{"a":[1]}} {{"a":[1]}}
        {{"e":null}} {{"a":1}} {{"e":null,"a":1}}
        {{}} {{"a":{"bb":{"ccc":null}}}} {{"a":{"bb":{}}}}
    }

    set n 0
    foreach {target patch result} $::rfc7386 {
        incr n
        test "PH.PATCH RFC 7386 example $n: $target + $patch" {
            r ph.set meta:p META $target
            assert_equal OK [r ph.patch meta:p $patch]
            json_canon [dict get [r ph.get meta:p] meta]
        } [json_canon $result]
    }

    test "PH.PATCH RFC 7386 section 3 example" {
        r ph.set meta:p META {{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}}
        r ph.patch meta:p {{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}}
        json_canon [dict get [r ph.get meta:p] meta]
    } [json_canon {{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}}]

    test "PH.PATCH leaves the vector untouched" {
        r ph.set l2:pv VALUES 4 1 2 3 4 META {{"a":1}}
        list [r ph.patch l2:pv {{"b":{"c":1}}}] [dict get [r ph.get l2:pv VECTOR] vector] \
             [json_canon [dict get [r ph.get l2:pv META] meta]]
    } [list OK [fvec 1 2 3 4] {{"a":1,"b":{"c":1}}}]

    test "PH.PATCH with malformed JSON changes nothing" {
        r ph.set meta:p META {{"a":1}}
        assert_match "ERR*" [err_of {r ph.patch meta:p {{"a":}}}]
        json_canon [dict get [r ph.get meta:p] meta]
    } {{"a":1}}

    test "PH.PATCH with a patch that is not an object cannot replace the metadata object" {
        # RFC 7386 would replace the whole document, but metadata is always an object.
        r ph.set meta:p META {{"a":1}}
        set out {}
        foreach p {{[1]} {"s"} null 3} {
            lappend out [catch {r ph.patch meta:p $p}]
        }
        lappend out [json_canon [dict get [r ph.get meta:p] meta]]
    } {1 1 1 1 {{"a":1}}}
}

# --- keyspace integration -------------------------------------------------------------

start_server {} {
    r ph.create k DIM 2 METRIC L2
    r ph.create o DIM 2 METRIC L2
    r ph.create o3 DIM 3 METRIC L2

    proc fill_k {} {
        r ph.set k:a VALUES 2 0 0 META {{"n":"a"}}
        r ph.set k:b VALUES 2 1 0
        r ph.set k:c VALUES 2 2 0
        r ph.set k:d VALUES 2 3 0
    }

    test "TYPE, OBJECT ENCODING, EXISTS of an entity" {
        fill_k
        list [r type k:a] [r object encoding k:a] [r exists k:a k:b k:zz]
    } {entity entity 2}

    test "SCAN TYPE entity" {
        r set k:string v
        r set plain v
        r ph.set o:x VALUES 2 5 5
        set out [scan_entities]
        r del k:string plain
        set out
    } {k:a k:b k:c k:d o:x}

    test "MEMORY USAGE of an entity counts its vector and metadata" {
        r ph.create mem DIM 256 METRIC L2
        r ph.set mem:1 VECTOR [binary format r* [rand_vec 256]]
        set m1 [r memory usage mem:1]
        r ph.set mem:2 VECTOR [binary format r* [rand_vec 256]] META "{\"t\":\"[string repeat x 2000]\"}"
        set m2 [r memory usage mem:2]
        assert_morethan_equal $m1 1024
        assert_morethan_equal $m2 [expr {$m1 + 2000}]
        r memory usage mem:none
    } {}

    test "DEL and UNLINK remove the entity from the index" {
        fill_k
        list [r del k:a] [r unlink k:b] [r ph.search k VALUES 2 0 0 K 10] \
             [r ph.search k VALUES 2 0 0 K 10 EXACT] [dict get [phinfo k] entities] [dict get [phinfo k] vectors]
    } {1 1 {k:c k:d} {k:c k:d} 2 2}

    test "An expired entity is never returned by PH.SEARCH, even before it is deleted" {
        fill_k
        r debug set-active-expire 0
        set out {}
        assert_equal 1 [r pexpire k:a 1]
        assert_equal 1 [r pexpire k:c 1]
        after 3
        # Right away, whatever the active expiry did meanwhile.
        lappend out [r ph.search k VALUES 2 0 0 K 10]
        lappend out [r ph.search k VALUES 2 0 0 K 10 EXACT]
        lappend out [res_keys [r ph.search k VALUES 2 0 0 K 10 WITHSCORES]]
        lappend out [r ph.search k VALUES 2 0 0 K 10]
        lappend out [r exists k:a k:c] [r ph.get k:a]
        lappend out [r ph.search k VALUES 2 0 0 K 10]
        r debug set-active-expire 1
        set out
    } {{k:b k:d} {k:b k:d} {k:b k:d} {k:b k:d} 0 {} {k:b k:d}}

    test "An entity with a TTL is searchable until it expires; PERSIST keeps it" {
        fill_k
        list [r expire k:a 100] [r ttl k:a] [lindex [r ph.search k VALUES 2 0 0 K 1] 0] \
             [r persist k:a] [r ttl k:a] [lindex [r ph.search k VALUES 2 0 0 K 1] 0]
    } {1 100 k:a 1 -1 k:a}

    test "LIKE of an expired entity is like a missing key" {
        fill_k
        r pexpire k:b 1
        after 3
        assert_match "ERR*" [err_of {r ph.search k LIKE k:b}]
    } {}

    test "Overwriting an entity with SET makes a string that leaves the index" {
        fill_k
        list [r set k:a astring] [r type k:a] [r ph.search k VALUES 2 0 0 K 10] \
             [r ph.search k VALUES 2 0 0 K 10 EXACT] [dict get [phinfo k] entities]
    } {OK string {k:b k:c k:d} {k:b k:c k:d} 3}

    test "PH.SET over that string key is WRONGTYPE; after DEL it works again" {
        set e [err_of {r ph.set k:a VALUES 2 0 0}]
        r del k:a
        list $e [r ph.set k:a VALUES 2 0 0] [lindex [r ph.search k VALUES 2 0 0 K 1] 0]
    } {{WRONGTYPE Operation against a key holding the wrong kind of value} 1 k:a}

    test "Updating a vector moves the entity in the index" {
        fill_k
        r ph.set k:a VALUES 2 10 10
        set near_old [r ph.search k VALUES 2 0 0 K 4 WITHSCORES]
        set near_new [r ph.search k VALUES 2 10 10 K 1 WITHSCORES]
        assert_ranked {k:b 1 k:c 2 k:d 3 k:a 14.142136} $near_old
        assert_ranked {k:a 0} $near_new
        dict get [phinfo k] vectors
    } {4}

    test "RENAME within the collection keeps the entity searchable under the new name" {
        fill_k
        list [r rename k:a k:z] [r exists k:a] [r ph.search k VALUES 2 0 0 K 2] \
             [r ph.search k VALUES 2 0 0 K 2 EXACT] [json_canon [dict get [r ph.get k:z] meta]] \
             [dict get [phinfo k] entities]
    } {OK 0 {k:z k:b} {k:z k:b} {{"n":"a"}} 4}

    test "RENAME onto an existing entity replaces it in the index" {
        r del k:z
        fill_k
        # k:d (3,0) goes away; k:a takes its name.
        assert_equal OK [r rename k:a k:d]
        assert_ranked {k:d 0 k:b 1 k:c 2} [r ph.search k VALUES 2 0 0 K 10 WITHSCORES]
        list [r ph.search k VALUES 2 0 0 K 10 EXACT] [dict get [phinfo k] entities] \
             [json_canon [dict get [r ph.get k:d META] meta]]
    } {{k:d k:b k:c} 3 {{"n":"a"}}}

    test "RENAME of an entity into another collection or out of every collection is refused" {
        fill_k
        set out {}
        lappend out [err_of {r rename k:a o:a}] [err_of {r rename k:a plainkey}] \
            [err_of {r renamenx k:a o:a}] [err_of {r renamenx k:a plainkey}]
        lappend out [r exists k:a o:a plainkey] [lindex [r ph.search k VALUES 2 0 0 K 1] 0] \
            [r ph.search o VALUES 2 0 0 K 10]
    } {{ERR RENAME of an entity must stay in its collection} {ERR RENAME of an entity must stay in its collection} {ERR RENAME of an entity must stay in its collection} {ERR RENAME of an entity must stay in its collection} 1 k:a o:x}

    test "RENAMENX within the collection" {
        fill_k
        list [r renamenx k:a k:b] [r renamenx k:a k:y] [r ph.search k VALUES 2 0 0 K 2]
    } {0 1 {k:y k:b}}

    test "COPY makes a new entity indexed under the destination's collection" {
        r del k:y
        fill_k
        set out {}
        lappend out [r copy k:a k:a2] [r copy k:a o:a] [r copy k:a k:b] [r copy k:a k:b replace]
        lappend out [lsort [r ph.search k VALUES 2 0 0 K 3]]
        lappend out [r ph.search o VALUES 2 0 0 K 1]
        # The copies are independent.
        r ph.patch k:a2 {{"n":"copy"}}
        lappend out [json_canon [dict get [r ph.get k:a META] meta]] [json_canon [dict get [r ph.get k:a2 META] meta]]
        r del k:a
        lappend out [lsort [r ph.search k VALUES 2 0 0 K 2]] [dict get [phinfo o] entities]
    } {1 1 0 1 {k:a k:a2 k:b} o:a {{"n":"a"}} {{"n":"copy"}} {k:a2 k:b} 2}

    test "MOVE of an entity is refused" {
        fill_k
        list [err_of {r move k:a 1}] [r exists k:a]
    } {{ERR MOVE of an entity is not supported: use COPY ... DB and DEL} 1}

    test "FLUSHDB: flushed entities are never returned" {
        fill_k
        r flushdb
        set out [list [r dbsize]]
        # The collection may or may not survive FLUSHDB; if it does it is empty and works.
        if {[lsearch [r ph.list] k] >= 0} {
            lappend out [r ph.search k VALUES 2 0 0 K 10] [r ph.search k VALUES 2 0 0 K 10 EXACT] \
                [dict get [phinfo k] entities] [dict get [phinfo k] vectors]
            r ph.set k:new VALUES 2 1 1
            lappend out [r ph.search k VALUES 2 0 0 K 10]
        } else {
            r ph.create k DIM 2 METRIC L2
            r ph.set k:new VALUES 2 1 1
            lappend out {} {} 0 0 [r ph.search k VALUES 2 0 0 K 10]
        }
        set out
    } {0 {} {} 0 0 k:new}

    test "FLUSHALL: flushed entities are never returned" {
        if {[lsearch [r ph.list] k] < 0} { r ph.create k DIM 2 METRIC L2 }
        fill_k
        r flushall
        if {[lsearch [r ph.list] k] >= 0} {
            list [r ph.search k VALUES 2 0 0 K 10] [r ph.search k VALUES 2 0 0 K 10 EXACT] [dict get [phinfo k] entities]
        } else {
            list {} {} 0
        }
    } {{} {} 0}
}

# --- search --------------------------------------------------------------------------

start_server {} {
    foreach {coll metric index} {l2 L2 HNSW ip IP HNSW cos COSINE HNSW fl2 L2 FLAT fip IP FLAT fcos COSINE FLAT} {
        r ph.create $coll DIM 2 METRIC $metric INDEX $index
    }
    foreach c {l2 fl2} {
        # Distances from (0,0): a 0, c 1, d 2, b 5.
        r ph.set $c:a VALUES 2 0 0 META {{"name":"a","n":1,"tags":["x","y"],"o":{"p":{"q":7}}}}
        r ph.set $c:b VALUES 2 3 4 META {{"name":"b"}}
        r ph.set $c:c VALUES 2 1 0 META {{"name":"c","n":3}}
        r ph.set $c:d VALUES 2 0 2
        r ph.set $c:nov META {{"name":"no vector"}}
    }
    foreach c {ip fip} {
        # Dots with (1,0): a 1, b 0.5, c 0, d -1 -> scores 0 0.5 1 2.
        r ph.set $c:a VALUES 2 1 0
        r ph.set $c:b VALUES 2 0.5 0
        r ph.set $c:c VALUES 2 0 1
        r ph.set $c:d VALUES 2 -1 0
    }
    foreach c {cos fcos} {
        # Cosines with (10,0): a 1, b 0.70710678, c 0, d -1 -> scores 0 0.29289322 1 2.
        r ph.set $c:a VALUES 2 1 0
        r ph.set $c:b VALUES 2 2 2
        r ph.set $c:c VALUES 2 0 5
        r ph.set $c:d VALUES 2 -3 0
    }

    foreach c {l2 fl2} {
        test "$c: L2 score is the Euclidean distance, best first" {
            assert_ranked [list $c:a 0 $c:c 1 $c:d 2 $c:b 5] [r ph.search $c VECTOR [fvec 0 0] WITHSCORES]
            assert_ranked [list $c:a 0 $c:c 1 $c:d 2 $c:b 5] [r ph.search $c VALUES 2 0 0 WITHSCORES EXACT]
            assert_ranked [list $c:b 0 $c:d 3.6055513 $c:c 4.4721360 $c:a 5] [r ph.search $c VALUES 2 3 4 WITHSCORES]
            r ph.search $c VECTOR [fvec 0 0]
        } [list $c:a $c:c $c:d $c:b]
    }

    foreach c {ip fip} {
        test "$c: IP score is 1 - dot" {
            assert_ranked [list $c:a 0 $c:b 0.5 $c:c 1 $c:d 2] [r ph.search $c VALUES 2 1 0 WITHSCORES]
            assert_ranked [list $c:a 0 $c:b 0.5 $c:c 1 $c:d 2] [r ph.search $c VALUES 2 1 0 WITHSCORES EXACT]
            # Scores can be negative: dot((4,0),(1,0)) = 4.
            assert_ranked [list $c:a -3 $c:b -1 $c:c 1 $c:d 5] [r ph.search $c VALUES 2 4 0 WITHSCORES]
        } {}
    }

    foreach c {cos fcos} {
        test "$c: COSINE score is 1 - cos" {
            assert_ranked [list $c:a 0 $c:b 0.29289322 $c:c 1 $c:d 2] [r ph.search $c VALUES 2 10 0 WITHSCORES]
            assert_ranked [list $c:a 0 $c:b 0.29289322 $c:c 1 $c:d 2] [r ph.search $c VALUES 2 10 0 WITHSCORES EXACT]
            assert_ranked [list $c:c 0 $c:b 0.29289322] [r ph.search $c VALUES 2 0 0.5 K 2 WITHSCORES]
        } {}
    }

    test "Entities without a vector are never returned" {
        set all [concat [r ph.search l2 VALUES 2 0 0 K 100] [r ph.search l2 VALUES 2 0 0 K 100 EXACT] \
                        [r ph.search fl2 VALUES 2 0 0 K 100]]
        list [lsearch -all $all *nov] [dict get [phinfo l2] entities] [dict get [phinfo l2] vectors]
    } {{} 5 4}

    test "K limits the results" {
        list [r ph.search l2 VALUES 2 0 0 K 1] [r ph.search l2 VALUES 2 0 0 K 2 EXACT] \
             [r ph.search fl2 VALUES 2 0 0 K 3] [r ph.search l2 VALUES 2 0 0 K 10000]
    } {l2:a {l2:a l2:c} {fl2:a fl2:c fl2:d} {l2:a l2:c l2:d l2:b}}

    test "K out of range or not a number" {
        foreach k {0 -1 10001 x 1.5} {
            assert_match "ERR*" [err_of {r ph.search l2 VALUES 2 0 0 K $k}]
        }
    } {}

    test "EF: given, smaller than K (raised to K), and out of range" {
        assert_equal {l2:a l2:c l2:d l2:b} [r ph.search l2 VALUES 2 0 0 K 4 EF 1]
        assert_equal {l2:a l2:c l2:d l2:b} [r ph.search l2 VALUES 2 0 0 K 4 EF 500]
        foreach ef {0 -5 x} {
            assert_match "ERR*" [err_of {r ph.search l2 VALUES 2 0 0 EF $ef}]
        }
    } {}

    test "RADIUS keeps results with score <= r" {
        list [r ph.search l2 VALUES 2 0 0 RADIUS 2] [r ph.search l2 VALUES 2 0 0 RADIUS 1.999 EXACT] \
             [r ph.search fl2 VALUES 2 0 0 RADIUS 0] [r ph.search l2 VALUES 2 100 100 RADIUS 1] \
             [r ph.search ip VALUES 2 4 0 RADIUS -2] [r ph.search cos VALUES 2 1 0 RADIUS 0.5]
    } {{l2:a l2:c l2:d} {l2:a l2:c} fl2:a {} ip:a {cos:a cos:b}}

    test "RADIUS that is not a number" {
        assert_match "ERR*" [err_of {r ph.search l2 VALUES 2 0 0 RADIUS far}]
    } {}

    test "LIKE uses an entity's vector and leaves it out" {
        assert_ranked {l2:a 2 l2:c 2.2360680} [r ph.search l2 LIKE l2:d K 2 WITHSCORES EXACT]
        assert_ranked {l2:a 2 l2:c 2.2360680 l2:b 3.6055513} [r ph.search l2 LIKE l2:d WITHSCORES]
        list [r ph.search l2 LIKE l2:a K 2] [r ph.search fl2 LIKE fl2:c]
    } {{l2:c l2:d} {fl2:a fl2:d fl2:b}}

    test "LIKE of a missing key, a key without a vector, a key of another collection, a string" {
        r set l2:str v
        assert_match "ERR*" [err_of {r ph.search l2 LIKE l2:missing}]
        assert_match "ERR*" [err_of {r ph.search l2 LIKE l2:nov}]
        assert_match "*" [err_of {r ph.search l2 LIKE l2:str}]
        assert_match "ERR*" [err_of {r ph.search l2 LIKE o:x}]
        r del l2:str
        r ph.search l2 LIKE l2:a K 1
    } {l2:c}

    test "WITHSCORES WITHMETA WITHVECTORS: one map per result with key, score, meta, vector" {
        set res [r ph.search l2 VALUES 2 0 0 K 2 WITHSCORES WITHMETA WITHVECTORS]
        lassign $res r1 r2
        list [llength $res] [lindex $r1 0] [dict get $r1 key] [lsort [dict keys $r1]] \
             [json_canon [dict get $r1 meta]] [expr {[dict get $r1 vector] eq [fvec 0 0]}] \
             [dict get $r2 key] [expr {[dict get $r2 vector] eq [fvec 1 0]}]
    } {2 key l2:a {key meta score vector} {{"n":1,"name":"a","o":{"p":{"q":7}},"tags":["x","y"]}} 1 l2:c 1}

    test "WITHMETA alone: key and meta, no score" {
        set res [r ph.search l2 VALUES 2 0 0 K 3 WITHMETA]
        set out {}
        foreach m $res { lappend out [lsort [dict keys $m]] [dict get $m key] [json_canon [dict get $m meta]] }
        set out
    } {{key meta} l2:a {{"n":1,"name":"a","o":{"p":{"q":7}},"tags":["x","y"]}} {key meta} l2:c {{"n":3,"name":"c"}} {key meta} l2:d {{}}}

    test "WITHVECTORS alone" {
        set m [lindex [r ph.search l2 VALUES 2 3 4 K 1 WITHVECTORS] 0]
        list [lsort [dict keys $m]] [unvec [dict get $m vector]]
    } {{key vector} {3.0 4.0}}

    test "WITHVECTORS on a COSINE collection returns the vector as given" {
        set m [lindex [r ph.search cos VALUES 2 0 1 K 1 WITHVECTORS] 0]
        assert_equal cos:c [dict get $m key]
        assert_vec_close {0 5} [unvec [dict get $m vector]] 1e-6
    } {}

    test "RETURN paths: one member per path, JSON text, null when missing" {
        set res [r ph.search l2 VALUES 2 0 0 K 3 RETURN .name .n .tags\[1\] .o.p.q .missing]
        set out {}
        foreach m $res {
            set row [list [dict get $m key]]
            foreach p {.name .n .tags[1] .o.p.q .missing} { lappend row [dict get $m $p] }
            lappend out $row
        }
        set out
    } {{l2:a {"a"} 1 {"y"} 7 {}} {l2:c {"c"} 3 {} {} {}} {l2:d {} {} {} {} {}}}

    test "RETURN of an object or array member gives its JSON text" {
        set m [lindex [r ph.search l2 VALUES 2 0 0 K 1 RETURN .o .tags] 0]
        list [json_canon [dict get $m .o]] [json_canon [dict get $m .tags]]
    } {{{"p":{"q":7}}} {["x","y"]}}

    test "RETURN with WITHSCORES" {
        set m [lindex [r ph.search l2 VALUES 2 0 0 K 1 WITHSCORES RETURN .name] 0]
        assert_close 0 [dict get $m score]
        list [lsort [dict keys $m]] [dict get $m key] [dict get $m .name]
    } {{.name key score} l2:a {"a"}}

    test "TIMEOUT: a generous one changes nothing; a bad one is an error" {
        assert_equal {l2:a l2:c l2:d l2:b} [r ph.search l2 VALUES 2 0 0 TIMEOUT 10000]
        assert_equal {fl2:a fl2:c} [r ph.search fl2 VALUES 2 0 0 K 2 TIMEOUT 5000]
        foreach t {-1 x} {
            assert_match "ERR*" [err_of {r ph.search l2 VALUES 2 0 0 TIMEOUT $t}]
        }
    } {}

    test "Options are case-insensitive and can come in any order" {
        assert_ranked {l2:a 0 l2:c 1} [r ph.search l2 values 2 0 0 withscores k 2 exact]
        list [r ph.search l2 VALUES 2 0 0 EF 20 K 2] [r ph.search l2 Vector [fvec 0 0] k 1 Exact]
    } {{l2:a l2:c} l2:a}

    test "PH.SEARCH errors: query dimension, NaN query, unknown collection, unknown option" {
        set out {}
        lappend out [err_of {r ph.search l2 VALUES 3 0 0 0}]
        lappend out [err_of {r ph.search l2 VECTOR [fvec 0 0 0]}]
        assert_match "ERR vector component * is not a finite number" [err_of {r ph.search l2 VECTOR "[fvec 0]$::NaN"}]
        assert_match "ERR vector component * is not a finite number" [err_of {r ph.search l2 VECTOR "$::PInf[fvec 0]"}]
        assert_match "ERR no such collection*" [err_of {r ph.search nosuch VALUES 2 0 0}]
        assert_match "ERR*" [err_of {r ph.search l2 VALUES 2 0 0 SHINY}]
        assert_match "ERR*" [err_of {r ph.search l2 FOO 2 0 0}]
        set out
    } {{ERR vector dimension mismatch: expected 2, got 3} {ERR vector dimension mismatch: expected 2, got 3}}

    test "PH.SEARCH of a collection without DIM is an error" {
        r ph.create nodim
        r ph.set nodim:1 META {{}}
        assert_match "ERR*" [err_of {r ph.search nodim VALUES 2 0 0}]
    } {}

    test "PH.SEARCH of an empty collection" {
        r ph.create empty DIM 2
        list [r ph.search empty VALUES 2 1 0] [r ph.search empty VALUES 2 1 0 EXACT] [r ph.search empty VALUES 2 1 0 WITHSCORES]
    } {{} {} {}}

    test "PH.INFO counts searches and exact searches" {
        r ph.create cnt DIM 2 METRIC L2
        r ph.set cnt:1 VALUES 2 1 1
        r ph.search cnt VALUES 2 0 0
        r ph.search cnt VALUES 2 0 0 K 1
        r ph.search cnt VALUES 2 0 0 EXACT
        set i [phinfo cnt]
        list [expr {[dict get $i searches] in {2 3}}] [dict get $i exact_searches]
    } {1 1}

    test "PH.INFO index parameters and memory by part" {
        set i [phinfo l2]
        foreach f {memory_vectors memory_index memory_other memory_metadata} {
            assert {[string is integer -strict [dict get $i $f]] && [dict get $i $f] >= 0} "$f = [dict get $i $f]"
        }
        assert_morethan_equal [dict get $i memory_vectors] [expr {4 * 2 * 4}]
        assert_morethan [dict get $i memory_metadata] 0
        assert_morethan [dict get $i memory_index] 0
        list [string toupper [dict get $i index]] [dict get $i index_state] [string toupper [dict get [phinfo fl2] index]]
    } {HNSW ready FLAT}

    # The first n protocol lines of the reply to one command, on a new client
    # speaking RESP proto.
    proc raw_lines {proto n args} {
        set c [redis_client]
        if {$proto == 3} { $c hello 3 }
        $c readraw 1
        $c send {*}$args
        set out {}
        for {set i 0} {$i < $n} {incr i} { lappend out [$c read_line] }
        $c close
        return $out
    }

    test "RESP3: PH.SEARCH with WITH* is an array of maps; PH.GET and PH.INFO are maps" {
        list [raw_lines 3 2 ph.search l2 VALUES 2 0 0 K 2 WITHSCORES] \
             [raw_lines 3 1 ph.get l2:a] [raw_lines 3 1 ph.get l2:a META] \
             [string index [raw_lines 3 1 ph.info l2] 0] \
             [raw_lines 3 2 ph.search l2 VALUES 2 0 0 K 2] \
             [raw_lines 3 1 ph.get l2:missing]
    } {{*2 %2} %2 %1 % {*2 {$4}} _}

    test "RESP3 replies read as maps: scores are numbers" {
        set c [redis_client]
        $c hello 3
        set res [$c ph.search l2 VALUES 2 0 0 K 2 WITHSCORES WITHMETA RETURN .name]
        set g [$c ph.get l2:c VALUES]
        $c close
        lassign $res m1 m2
        assert_close 1 [dict get $m2 score]
        assert_vec_close {1 0} [dict get $g values]
        list [dict get $m1 key] [dict get $m2 key] [dict get $m1 .name]
    } {l2:a l2:c {"a"}}

    test "RESP2: PH.GET is a flat array, PH.SEARCH results flat arrays" {
        list [raw_lines 2 1 ph.get l2:a] [raw_lines 2 2 ph.search l2 VALUES 2 0 0 K 1 WITHSCORES WITHMETA] \
             [expr {[lindex [raw_lines 2 1 ph.get l2:missing] 0] in {{$-1} {*-1}}}]
    } {*4 {*1 *6} 1}
}

# --- collections are per database ---------------------------------------------------------

start_server {} {
    test "Collections belong to the database they were created in" {
        r select 0
        r ph.create shared DIM 2 METRIC L2
        r ph.set shared:a VALUES 2 0 0
        r select 9
        set out [list [r ph.list] [err_of {r ph.set shared:a VALUES 2 1 1}] \
                     [string match "ERR no such collection*" [err_of {r ph.search shared VALUES 2 0 0}]]]
        # The same name and prefix can be created again in db 9, independently.
        lappend out [r ph.create shared DIM 3 METRIC IP] [r ph.set shared:b VALUES 3 1 0 0] \
                    [r ph.search shared VALUES 3 1 0 0] [dict get [phinfo shared] dim]
        r select 0
        lappend out [r ph.search shared VALUES 2 0 0] [dict get [phinfo shared] dim] [r ph.list]
    } {{} {ERR key 'shared:a' does not belong to any collection} 1 OK 1 shared:b 3 shared:a 2 shared}

    test "COPY ... DB indexes the copy in the destination database's collection" {
        r select 9
        r ph.drop shared DELETEDATA
        r ph.create shared DIM 2 METRIC L2
        r select 0
        list [r copy shared:a shared:a db 9] [r select 9] [r ph.search shared VALUES 2 0 0] \
             [r select 0] [r ph.search shared VALUES 2 0 0]
    } {1 OK shared:a OK shared:a}

    test "FLUSHDB of one database leaves the other's collection alone" {
        r select 9
        r flushdb
        r select 0
        list [r ph.search shared VALUES 2 0 0] [lsearch [r ph.list] shared]
    } {shared:a 0}

    test "PH.DROP in one database does not drop the other's" {
        r select 9
        if {[lsearch [r ph.list] shared] < 0} { r ph.create shared DIM 2 METRIC L2 }
        r ph.drop shared
        r select 0
        list [r ph.list] [r ph.search shared VALUES 2 0 0]
    } {shared shared:a}
}

# --- recall through the server, and churn -------------------------------------------------

start_server {} {
    set ::rdim 32
    set ::rn 2000
    set ::rvecs {}
    expr {srand(4242)}
    for {set i 0} {$i < $::rn} {incr i} { lappend ::rvecs [rand_vec $::rdim] }
    set ::rqueries {}
    for {set i 0} {$i < 20} {incr i} { lappend ::rqueries [rand_vec $::rdim] }

    proc load_recall_set {coll} {
        set c [redis_client]
        set batch {}
        set i 0
        foreach v $::rvecs {
            lappend batch [list ph.set $coll:$i VECTOR [binary format r* $v]]
            incr i
            if {[llength $batch] == 500} {
                foreach rep [pipeline_commands $c $batch] { assert_equal 1 $rep }
                set batch {}
            }
        }
        if {[llength $batch]} { pipeline_commands $c $batch }
        $c close
    }

    # Brute force in Tcl: the k nearest (L2) keys.
    proc tcl_knn {coll q k} {
        set d {}
        set i 0
        foreach v $::rvecs {
            set s 0.0
            foreach a $v b $q { set s [expr {$s + ($a - $b) * ($a - $b)}] }
            lappend d [list $i $s]
            incr i
        }
        set out {}
        foreach p [lrange [lsort -real -index 1 $d] 0 [expr {$k - 1}]] { lappend out $coll:[lindex $p 0] }
        return $out
    }

    proc recall_at_10 {coll ef {deleted {}}} {
        set hits 0
        set total 0
        foreach q $::rqueries {
            set blob [binary format r* $q]
            set approx [r ph.search $coll VECTOR $blob K 10 EF $ef]
            set exact [r ph.search $coll VECTOR $blob K 10 EXACT]
            foreach key [concat $approx $exact] {
                if {[dict exists $deleted $key]} { ::t::fail "deleted key $key returned" }
            }
            assert_equal 10 [llength $exact]
            foreach key $approx { if {$key in $exact} { incr hits } }
            incr total 10
        }
        return [expr {double($hits) / $total}]
    }

    test "Load $::rn random ${::rdim}-d vectors with pipelining" {
        r ph.create rec DIM $::rdim METRIC L2 M 16 EF_CONSTRUCTION 200
        load_recall_set rec
        set i [phinfo rec]
        list [dict get $i entities] [dict get $i vectors]
    } [list $::rn $::rn]

    test "EXACT is the exact top 10 (checked against a brute force in Tcl)" {
        foreach q [lrange $::rqueries 0 2] {
            assert_equal [tcl_knn rec $q 10] [r ph.search rec VECTOR [binary format r* $q] K 10 EXACT]
        }
    } {}

    test "EXACT scores are the Euclidean distances" {
        set q [lindex $::rqueries 0]
        set res [r ph.search rec VECTOR [binary format r* $q] K 3 EXACT WITHSCORES]
        foreach m $res {
            set v [lindex $::rvecs [lindex [split [dict get $m key] :] 1]]
            set s 0.0
            foreach a $v b $q { set s [expr {$s + ($a - $b) * ($a - $b)}] }
            assert_close [expr {sqrt($s)}] [dict get $m score] 1e-4
        }
    } {}

    test "Recall@10 of the HNSW search against EXACT at EF 200 >= 0.95" {
        set rc [recall_at_10 rec 200]
        assert_morethan_equal $rc 0.95
    } {}

    test "Recall@10 grows with EF (EF 10 <= EF 200 + noise)" {
        set low [recall_at_10 rec 10]
        set high [recall_at_10 rec 200]
        assert_morethan_equal [expr {$high + 0.02}] $low
    } {}

    test "K defaults to 10" {
        set blob [binary format r* [lindex $::rqueries 3]]
        list [llength [r ph.search rec VECTOR $blob]] [llength [r ph.search rec VECTOR $blob EXACT]]
    } {10 10}

    test "HNSW results are sorted by score" {
        set res [r ph.search rec VECTOR [binary format r* [lindex $::rqueries 5]] K 10 EF 100 WITHSCORES]
        set prev -1
        foreach m $res {
            assert_morethan_equal [dict get $m score] $prev
            set prev [dict get $m score]
        }
        llength $res
    } {10}

    test "TIMEOUT 1 on an EXACT search returns at most K existing keys" {
        set res [r ph.search rec VECTOR [binary format r* [lindex $::rqueries 0]] K 10 EXACT TIMEOUT 1]
        assert_lessthan_equal [llength $res] 10
        foreach key $res { assert_equal entity [r type $key] }
    } {}

    test "A FLAT collection gives the EXACT results" {
        r ph.create rflat DIM $::rdim METRIC L2 INDEX FLAT
        load_recall_set rflat
        set ok 0
        foreach q [lrange $::rqueries 0 4] {
            set blob [binary format r* $q]
            set a [r ph.search rflat VECTOR $blob K 10]
            set b [r ph.search rec VECTOR $blob K 10 EXACT]
            if {[string map {rflat: rec:} $a] eq $b} { incr ok }
        }
        r ph.drop rflat DELETEDATA
        set ok
    } {5}

    test "Churn: delete 30%, no deleted key is ever returned, recall stays >= 0.9" {
        set deleted [dict create]
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < $::rn} {incr i} {
            if {$i % 10 < 3} {
                dict set deleted rec:$i 1
                lappend batch [list del rec:$i]
            }
        }
        pipeline_commands $c $batch
        $c close
        set i [phinfo rec]
        assert_equal [expr {$::rn - [dict size $deleted]}] [dict get $i entities]
        assert_equal [expr {$::rn - [dict size $deleted]}] [dict get $i vectors]
        set rc [recall_at_10 rec 200 $deleted]
        assert_morethan_equal $rc 0.9
        # LIKE of surviving keys, and searches at low EF, never return deleted keys.
        foreach k {rec:3 rec:13 rec:1234} {
            if {[dict exists $deleted $k]} continue
            foreach key [r ph.search rec LIKE $k K 50 EF 50] {
                if {[dict exists $deleted $key]} { fail "deleted key $key returned" }
            }
        }
        foreach q $::rqueries {
            foreach key [r ph.search rec VECTOR [binary format r* $q] K 100 EF 10] {
                if {[dict exists $deleted $key]} { fail "deleted key $key returned" }
            }
        }
    } {}

    test "Churn: re-insert the deleted ones with new vectors, then update 10%, recall >= 0.9" {
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < $::rn} {incr i} {
            if {$i % 10 < 3 || $i % 10 == 9} {
                set v [rand_vec $::rdim]
                lset ::rvecs $i $v
                lappend batch [list ph.set rec:$i VECTOR [binary format r* $v]]
            }
        }
        pipeline_commands $c $batch
        $c close
        assert_equal $::rn [dict get [phinfo rec] vectors]
        assert_equal [tcl_knn rec [lindex $::rqueries 7] 10] \
            [r ph.search rec VECTOR [binary format r* [lindex $::rqueries 7]] K 10 EXACT]
        assert_morethan_equal [recall_at_10 rec 200] 0.9
    } {}

    test "Deleting everything empties the index" {
        set c [redis_client]
        set batch {}
        for {set i 0} {$i < $::rn} {incr i} { lappend batch [list unlink rec:$i] }
        pipeline_commands $c $batch
        $c close
        set i [phinfo rec]
        list [dict get $i entities] [dict get $i vectors] \
             [r ph.search rec VECTOR [binary format r* [lindex $::rqueries 0]]] \
             [r ph.search rec VECTOR [binary format r* [lindex $::rqueries 0]] EXACT]
    } {0 0 {} {}}
}

}

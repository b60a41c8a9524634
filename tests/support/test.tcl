# Tests, tags, assertions and counting for the Phenix DB integration harness.
#
# What it is:
#     test "name" {body}              passes unless body raises an error
#     test "name" {body} {expected}   passes when body returns exactly expected
#     tags {t ...} {code}             tags every test inside code
#     assert_equal / assert_match / assert_error / assert / assert_range / ...
#
# A test fails when its body raises any error: assertion failures carry the
# errorcode ASSERTION and a message saying what differed and where; any other
# error (an unexpected error reply, a timeout, a closed connection) is reported
# as an exception with its message. After each test that runs inside a server
# block, the server must still be alive (unless the test said it expected the
# exit), otherwise the test fails and the rest of the block is abandoned.
#
# Tag selection (--tags): "-t" excludes tests tagged t, "t" runs only tests
# tagged t (when at least one such inclusion is given). --redis excludes the
# tag phenix-only. --only <glob> runs only tests whose name matches.
#
# Counting: every test and every server shutdown check counts once as passed
# or failed; skipped tests are counted apart. The runner prints the list of
# failures and ends with the line "N passed, N failed".
#
# Sources: the test/assert vocabulary of Redis's and SQLite's Tcl suites; the
# code is this project's own.

namespace eval ::t {
    variable passed 0
    variable failed 0
    variable skipped 0
    variable failures {}
    variable tag_stack {}
    variable include_tags {}
    variable exclude_tags {}
    variable only_patterns {}
    variable current_file ""
    variable block_seq 0
}

proc ::t::current_file_tail {} {
    variable current_file
    if {$current_file eq ""} { return "?" }
    return [file tail $current_file]
}

# 1 when a test with these tags should run under the --tags selection.
proc ::t::tags_allowed {tags} {
    variable include_tags
    variable exclude_tags
    foreach t $tags {
        if {[lsearch -exact $exclude_tags $t] >= 0} { return 0 }
    }
    if {[llength $include_tags] == 0} { return 1 }
    foreach t $tags {
        if {[lsearch -exact $include_tags $t] >= 0} { return 1 }
    }
    return 0
}

proc ::t::name_allowed {name} {
    variable only_patterns
    if {[llength $only_patterns] == 0} { return 1 }
    foreach p $only_patterns {
        if {[string match $p $name]} { return 1 }
    }
    return 0
}

proc ::t::record_result {name ok msg {ms {}}} {
    variable passed
    variable failed
    variable failures
    set timing [expr {$ms ne "" && $::verbose ? " ($ms ms)" : ""}]
    if {$ok} {
        incr passed
        puts "\[ok\]: $name$timing"
    } else {
        incr failed
        set where [::t::current_file_tail]
        lappend failures [list $where $name $msg]
        puts "\[err\]: $name$timing"
        foreach line [split $msg \n] { puts "    $line" }
    }
    flush stdout
}

proc ::t::record_failure {name msg} {
    ::t::record_result "[::t::current_file_tail]: $name" 0 $msg
}

proc ::t::record_skip {name} {
    variable skipped
    incr skipped
    if {$::verbose} { puts "\[skip\]: $name" }
}

proc tags {taglist code} {
    lappend ::t::tag_stack {*}$taglist
    set status [catch {uplevel 1 $code} err opts]
    set ::t::tag_stack [lrange $::t::tag_stack 0 end-[llength $taglist]]
    return -options $opts $err
}

proc test {name code {expected __PHX_NO_EXPECTED__}} {
    if {![::t::tags_allowed $::t::tag_stack] || ![::t::name_allowed $name]} {
        ::t::record_skip $name
        return
    }
    set start [clock milliseconds]
    set status [catch {uplevel 1 $code} result opts]
    set ms [expr {[clock milliseconds] - $start}]
    set ok 1
    set msg ""
    if {$status == 1} {
        set ok 0
        if {[dict get $opts -errorcode] eq "ASSERTION"} {
            set msg $result
        } else {
            set msg "exception: $result"
            if {$::verbose} { append msg "\n[dict get $opts -errorinfo]" }
        }
    } elseif {$status == 0 && $expected ne "__PHX_NO_EXPECTED__" && $result ne $expected} {
        set ok 0
        set msg "Expected '[::t::clip $result]' to equal '[::t::clip $expected]'"
        append msg [::t::first_difference $expected $result]
    }
    set died 0
    if {[llength $::srv_stack] && ![server_is_alive] && !$::SRV([srv id],expect_exit)} {
        set ok 0
        set died 1
        append msg "\nthe server died during this test (exit status\
            [server_exit_status [srv id]]); see [srv stderr] and [srv log]"
        append msg "\n[tail_text [read_file_text [srv log]] 15]"
    }
    ::t::record_result $name $ok [string trim $msg] $ms
    if {$died} {
        return -code error -errorcode PHX_SERVER_DIED "server died"
    }
    # A failed test may leave the default client with unread replies, in
    # another database or protocol, or dropped after a timeout: start the
    # next test with a fresh one.
    if {[llength $::srv_stack] && [server_is_alive] &&
        (!$ok || ![::resp::usable [srv client]])} {
        catch {reconnect}
    }
}

# When expected and got are lists of the same length, names the first element
# that differs (long lists of error replies are otherwise hard to compare).
proc ::t::first_difference {expected got} {
    if {[catch {llength $expected} n1] || [catch {llength $got} n2] || $n1 != $n2 || $n1 < 2} {
        return ""
    }
    for {set i 0} {$i < $n1} {incr i} {
        if {[lindex $expected $i] ne [lindex $got $i]} {
            return "\nfirst difference at element $i: got '[::t::clip [lindex $got $i]]',\
                expected '[::t::clip [lindex $expected $i]]'"
        }
    }
    return ""
}

# Shortens a value for a failure message.
proc ::t::clip {v} {
    if {[string length $v] > 300} {
        return "[string range $v 0 299]... ([string length $v] chars)"
    }
    return $v
}

# "file:line" of the test code that called an assertion, when Tcl knows it.
proc ::t::caller_location {} {
    for {set level [expr {[info frame] - 2}]} {$level > 0} {incr level -1} {
        set f [info frame $level]
        if {[dict exists $f file] && [dict exists $f line] &&
            ![string match */support/* [dict get $f file]]} {
            return "[file tail [dict get $f file]]:[dict get $f line]"
        }
    }
    return "?"
}

proc ::t::fail {msg} {
    return -code error -errorcode ASSERTION "$msg (at [::t::caller_location])"
}

proc fail {msg} {
    return -code error -errorcode ASSERTION "$msg (at [::t::caller_location])"
}

proc assert {cond {detail {}}} {
    if {![uplevel 1 [list expr $cond]]} {
        set m "Expected \[$cond\] to be true"
        if {$detail ne ""} { append m " ($detail)" }
        ::t::fail $m
    }
}

proc assert_equal {expected value {detail {}}} {
    if {$expected ne $value} {
        set m "Expected '[::t::clip $value]' to equal '[::t::clip $expected]'"
        if {$detail ne ""} { append m " ($detail)" }
        append m [::t::first_difference $expected $value]
        ::t::fail $m
    }
}

proc assert_not_equal {unexpected value {detail {}}} {
    if {$unexpected eq $value} {
        ::t::fail "Expected '[::t::clip $value]' to differ from '[::t::clip $unexpected]' $detail"
    }
}

proc assert_match {pattern value {detail {}}} {
    if {![string match $pattern $value]} {
        set m "Expected '[::t::clip $value]' to match '$pattern'"
        if {$detail ne ""} { append m " ($detail)" }
        ::t::fail $m
    }
}

proc assert_no_match {pattern value} {
    if {[string match $pattern $value]} {
        ::t::fail "Expected '[::t::clip $value]' not to match '$pattern'"
    }
}

# Runs code in the caller's scope; it must raise an error matching pattern.
proc assert_error {pattern code} {
    if {[catch {uplevel 1 $code} err]} {
        if {![string match $pattern $err]} {
            ::t::fail "Expected an error matching '$pattern' but got '[::t::clip $err]'"
        }
        return $err
    }
    ::t::fail "Expected an error matching '$pattern' but got the reply '[::t::clip $err]'"
}

proc assert_range {value min max} {
    if {![string is double -strict $value] || $value < $min || $value > $max} {
        ::t::fail "Expected '$value' to be in \[$min, $max\]"
    }
}

proc assert_lessthan {value limit} {
    if {!($value < $limit)} { ::t::fail "Expected '$value' < '$limit'" }
}

proc assert_morethan {value limit} {
    if {!($value > $limit)} { ::t::fail "Expected '$value' > '$limit'" }
}

proc assert_lessthan_equal {value limit} {
    if {!($value <= $limit)} { ::t::fail "Expected '$value' <= '$limit'" }
}

proc assert_morethan_equal {value limit} {
    if {!($value >= $limit)} { ::t::fail "Expected '$value' >= '$limit'" }
}

proc assert_lsort_equal {expected value} {
    assert_equal [lsort $expected] [lsort $value]
}

proc assert_encoding {enc key} {
    assert_equal $enc [r object encoding $key] "encoding of $key"
}

proc assert_type {type key} {
    assert_equal $type [r type $key] "type of $key"
}

# Phenix DB integration test runner.
#
#   tclsh tests/test_helper.tcl --server <binary> [--redis] [--event-loop uring|epoll]
#         [--single tests/unit/foo.tcl ...] [--tags "-slow tag ..."] [--only <glob>]
#         [--verbose] [--dont-clean] [--timeout ms]
#
# What it is: the entry point of the Tcl integration suites (tests/unit/*.tcl,
# tests/unit/type/*.tcl, tests/integration/*.tcl). Each suite file is sourced at
# global level, in name order; its start_server blocks run real servers (see
# support/server.tcl) and its tests talk to them with the client of
# support/resp.tcl.
#
#   --server PATH      the server binary (default: src/phenix-server)
#   --redis            the binary is a real redis-server: tests tagged
#                      phenix-only are skipped, --event-loop is not passed, and
#                      redis needs `--enable-debug-command yes --save ""`
#   --event-loop X     passed to every phenix server as --event-loop X
#   --single FILE      run only this suite file (repeatable)
#   --tags LIST        "-t" skips tests tagged t; "t" runs only tests tagged t
#   --only GLOB        run only tests whose name matches (repeatable)
#   --verbose          print command lines, timings and Tcl stack traces
#   --dont-clean       keep every temp dir under tests/tmp/
#   --timeout MS       client read timeout (default 10000)
#
# The 1,000-client test needs RLIMIT_NOFILE well above 1,000 for both the
# harness and the server; Tcl cannot raise it, so the calling script runs
# `ulimit -n 4096` first (the test fails with that advice otherwise).
#
# Output: one line per test ("[ok]: name" or "[err]: name" and the reason), a
# summary of the failures, then the last line "N passed, N failed". The exit
# status is 1 when any test failed (or nothing ran, or the arguments were
# wrong: then the last line is "0 passed, 1 failed"), else 0.

set ::tests_dir [file dirname [file normalize [info script]]]
set ::root_dir [file dirname $::tests_dir]

foreach f {test.tcl resp.tcl server.tcl util.tcl} {
    source [file join $::tests_dir support $f]
}

set ::server_binary [file join $::root_dir src phenix-server]
set ::redis_mode 0
set ::event_loop ""
set ::verbose 0
set ::dont_clean 0
set ::single_files {}

# Gives up before running anything; the last line still has the runner format.
proc abort_run {msg} {
    puts stderr $msg
    puts "0 passed, 1 failed"
    exit 1
}

proc usage {} {
    abort_run "usage: tclsh tests/test_helper.tcl --server <binary> \[--redis\]\
        \[--event-loop uring|epoll\] \[--single file ...\] \[--tags \"-slow ...\"\]\
        \[--only glob\] \[--verbose\] \[--dont-clean\] \[--timeout ms\]"
}

proc parse_args {argv} {
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        set v [lindex $argv [expr {$i + 1}]]
        switch -exact -- $a {
            --server { set ::server_binary [file normalize $v]; incr i }
            --redis { set ::redis_mode 1 }
            --event-loop { set ::event_loop $v; incr i }
            --single { lappend ::single_files $v; incr i }
            --tags {
                foreach t $v {
                    if {[string index $t 0] eq "-"} {
                        lappend ::t::exclude_tags [string range $t 1 end]
                    } else {
                        lappend ::t::include_tags $t
                    }
                }
                incr i
            }
            --only { lappend ::t::only_patterns $v; incr i }
            --verbose { set ::verbose 1 }
            --dont-clean { set ::dont_clean 1 }
            --timeout { set ::resp::default_timeout $v; incr i }
            --help - -h { usage }
            default { puts stderr "unknown option $a"; usage }
        }
        if {$a in {--server --event-loop --single --tags --only --timeout} &&
            $i >= [llength $argv]} {
            abort_run "option $a needs a value"
        }
    }
    if {$::event_loop ni {"" uring epoll auto}} {
        abort_run "--event-loop must be uring, epoll or auto"
    }
    if {$::redis_mode} { lappend ::t::exclude_tags phenix-only }
}

proc suite_files {} {
    if {[llength $::single_files]} {
        set out {}
        foreach f $::single_files {
            if {[file exists $f]} {
                lappend out [file normalize $f]
            } elseif {[file exists [file join $::root_dir $f]]} {
                lappend out [file join $::root_dir $f]
            } else {
                abort_run "no such suite file: $f"
            }
        }
        return $out
    }
    set out {}
    foreach dir {unit unit/type integration} {
        lappend out {*}[lsort [glob -nocomplain -directory [file join $::tests_dir $dir] *.tcl]]
    }
    return $out
}

proc run_suites {} {
    if {![file executable $::server_binary]} {
        abort_run "server binary not found or not executable: $::server_binary"
    }
    set mode [expr {$::redis_mode ? "redis-server" : "phenix"}]
    if {$::event_loop ne ""} { append mode ", event loop $::event_loop" }
    puts "Testing $::server_binary ($mode)"
    set start [clock seconds]
    foreach f [suite_files] {
        set ::t::current_file $f
        set ::t::block_seq 0
        puts "=== [file tail [file dirname $f]]/[file tail $f]"
        flush stdout
        set t0 [clock milliseconds]
        if {[catch {uplevel #0 [list source $f]} err opts]} {
            ::t::record_failure "suite" "exception outside a test: $err\n[dict get $opts -errorinfo]"
        }
        while {[llength $::srv_stack]} {
            finish_server [lindex $::srv_stack end] "[file tail $f]: leftover server"
        }
        foreach c $::srv_free_clients { catch {$c close} }
        set ::srv_free_clients {}
        if {$::verbose} { puts "    ([expr {[clock milliseconds] - $t0}] ms)" }
    }
    set elapsed [expr {[clock seconds] - $start}]
    puts ""
    if {[llength $::t::failures]} {
        puts "Failures:"
        foreach f $::t::failures {
            lassign $f file name msg
            puts "  \[$file\] $name"
        }
    }
    puts "$::t::skipped skipped, $elapsed s"
    puts "$::t::passed passed, $::t::failed failed"
    flush stdout
    if {$::t::failed > 0 || $::t::passed == 0} { exit 1 }
    exit 0
}

parse_args $argv
run_suites

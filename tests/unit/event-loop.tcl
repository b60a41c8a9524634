# Event loop backends (Phenix only): `CONFIG GET event-loop` and the INFO server
# field event_loop report the backend actually in use (uring or epoll, never
# "auto"); each backend can be chosen explicitly and carries a small workload.

# Runs a small mixed workload on the innermost server; returns "ok" or a reason.
proc event_loop_workload {} {
    set c [redis_client]
    set cmds {}
    for {set i 0} {$i < 2000} {incr i} { lappend cmds [list set el:$i $i] [list get el:$i] }
    set replies [pipeline_commands $c $cmds]
    for {set i 0} {$i < 2000} {incr i} {
        if {[lindex $replies [expr {2 * $i + 1}]] ne $i} { return "pipelined GET el:$i" }
    }
    set big [string repeat z 3000000]
    $c set big $big
    if {[$c get big] ne $big} { return "3 MB value" }
    $c close
    set cs {}
    for {set i 0} {$i < 200} {incr i} { lappend cs [redis_client] }
    foreach c $cs { $c send incr el:counter }
    set n 0
    foreach c $cs { incr n [expr {[$c read] > 0}] }
    foreach c $cs { $c close }
    if {$n != 200} { return "200 clients" }
    return ok
}

# busy-poll-us (docs/configuration.md): 0 (never poll without sleeping) and
# 10000 (poll up to 10 ms before sleeping). Each must run the workload, and a
# timer (a BLPOP timeout) must still fire while the loop busy-polls; values
# out of range are refused.
proc busy_poll_workloads {} {
    set out {}
    lappend out [expr {[catch {r config set busy-poll-us 10001}] && [catch {r config set busy-poll-us -1}] ? "ok" : "range"}]
    foreach v {0 10000} {
        r config set busy-poll-us $v
        lappend out [event_loop_workload] [lindex [r config get busy-poll-us] 1] [r blpop el:nolist 0.1]
    }
    r config set busy-poll-us 50
    set out
}

set ::auto_backend ""

start_server {tags {event-loop phenix-only}} {
    test "CONFIG GET event-loop reports the backend in use" {
        set v [lindex [r config get event-loop] 1]
        assert {$v in {uring epoll}} "event-loop is '$v'"
        if {$::event_loop ne ""} { assert_equal $::event_loop $v "the backend asked for with --event-loop" }
        set ::auto_backend $v
    }

    test "INFO server event_loop agrees with CONFIG GET" {
        expr {[s event_loop] eq [lindex [r config get event-loop] 1]}
    } {1}

    test "event-loop cannot be changed at run time" {
        assert_error "ERR CONFIG SET failed (possibly related to argument 'event-loop')*" {
            r config set event-loop epoll
        }
    }
}

start_server {tags {event-loop phenix-only} overrides {event-loop epoll}} {
    test "event-loop epoll: reported by CONFIG GET and INFO" {
        list [lindex [r config get event-loop] 1] [s event_loop]
    } {epoll epoll}

    test "event-loop epoll: pipeline, big value and 200 clients" {
        event_loop_workload
    } {ok}

    test "event-loop epoll: the workload and timers with busy polling off and long" {
        busy_poll_workloads
    } {ok ok 0 {} ok 10000 {}}
}

start_server {tags {event-loop phenix-only} overrides {event-loop auto}} {
    test "event-loop auto: resolves to uring or epoll" {
        set v [lindex [r config get event-loop] 1]
        assert {$v in {uring epoll}} "event-loop is '$v'"
        assert_equal $v [s event_loop]
        set ::auto_backend $v
    }
}

if {$::auto_backend eq "uring"} {
    start_server {tags {event-loop phenix-only} overrides {event-loop uring}} {
        test "event-loop uring: reported by CONFIG GET and INFO" {
            list [lindex [r config get event-loop] 1] [s event_loop]
        } {uring uring}

        test "event-loop uring: pipeline, big value and 200 clients" {
            event_loop_workload
        } {ok}

        test "event-loop uring: the workload and timers with busy polling off and long" {
            busy_poll_workloads
        } {ok ok 0 {} ok 10000 {}}
    }
} elseif {!$::redis_mode} {
    ::t::record_skip "event-loop uring tests: io_uring is not available here (auto chose '$::auto_backend')"
}

tags {event-loop phenix-only} {
    test "An unknown event-loop value: the server refuses to start" {
        set res [run_server_once [list --port [find_available_port] --bind 127.0.0.1 --event-loop foo]]
        assert_not_equal 0 [dict get $res status]
        assert_match "*event-loop*" [dict get $res output]
    }
}

# The fallback: where io_uring is refused (seccomp in containers), `auto`
# logs why and runs on epoll, and an explicit `uring` refuses to start. The
# server runs under tests/helpers/no-uring, a seccomp filter that fails
# io_uring_setup with EPERM for that process only.
if {!$::redis_mode} {
    set nu_dir [make_tmp_dir nouring]
    set nu_bin [file join $nu_dir no-uring]
    if {[catch {exec gcc -O1 -o $nu_bin [file join $::root_dir tests helpers no-uring.c]} err]} {
        ::t::record_skip "io_uring fallback tests: could not build tests/helpers/no-uring.c: $err"
    } else {
        proc with_io_uring_refused {body} {
            set real $::server_binary
            set ::env(NO_URING_EXEC) $real
            set ::server_binary $::nu_bin
            set rc [catch {uplevel 1 $body} res opts]
            set ::server_binary $real
            unset ::env(NO_URING_EXEC)
            return -options $opts $res
        }
        tags {event-loop phenix-only} {
            test "event-loop uring refuses to start where io_uring is refused" {
                set res [with_io_uring_refused {
                    run_server_once [list --port [find_available_port] --bind 127.0.0.1 --event-loop uring]
                }]
                assert_not_equal 0 [dict get $res status]
                assert_match "*io_uring is not available*" [dict get $res output]
            }
        }
        with_io_uring_refused {
            start_server {tags {event-loop phenix-only} overrides {event-loop auto}} {
                test "event-loop auto falls back to epoll, with a log line, where io_uring is refused" {
                    set log [read_file_text [srv log]]
                    assert_match "*io_uring is not available*falling back to epoll*" $log
                    list [lindex [r config get event-loop] 1] [s event_loop] [r ping]
                } {epoll epoll PONG}

                test "epoll fallback: pipeline, big value and 200 clients" {
                    event_loop_workload
                } {ok}
            }
        }
    }
    if {!$::dont_clean} { file delete -force $nu_dir }
}

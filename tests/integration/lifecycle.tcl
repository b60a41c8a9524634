# Process life cycle: --version, pid file, Redis-style log lines, clean exit on
# SIGTERM and SIGINT with clients connected, refusing a port in use, the crash
# report (stack trace and last command), and the shipped conf/phenix.conf.

# 1 when a log line has Redis's layout: "pid:role dd Mon yyyy hh:mm:ss.mmm <level> text",
# or is a line logged from a signal handler ("pid:signal-handler (time) text").
proc redis_style_log_line {line} {
    if {[regexp {^[0-9]+:[A-Z] [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} [.*#-] } $line]} {
        return 1
    }
    return [regexp {^[0-9]+:signal-handler } $line]
}

test "--version prints the version and exits 0" {
    set res [run_server_once {--version}]
    assert_equal 0 [dict get $res status]
    assert_match "* v=*" [dict get $res output]
}

start_server {tags {lifecycle}} {
    test "The pid file holds the server's pid" {
        string trim [read_file_text [file join [srv dir] server.pid]]
    } [srv pid]

    test "Every log line has Redis's layout" {
        set bad {}
        foreach line [split [read_file_text [srv log]] \n] {
            if {$line ne "" && ![redis_style_log_line $line]} { lappend bad $line }
        }
        assert_equal {} [lrange $bad 0 4] "log lines with another layout"
        assert_morethan [llength [split [read_file_text [srv log]] \n]] 2
    }

    test "SIGTERM with clients connected: they are closed, the server exits 0" {
        set cs {}
        for {set i 0} {$i < 20} {incr i} {
            set c [redis_client]
            $c ping
            lappend cs $c
        }
        set busy [redis_deferring_client]
        $busy set k v
        $busy read
        exec kill -TERM [srv pid]
        set status [wait_for_server_exit 10000]
        set closed 0
        foreach c $cs { incr closed [$c wait_close 2000] }
        list $status $closed
    } {0 20}

    test "The shutdown is logged and the pid file is removed" {
        set log [read_file_text [srv log]]
        assert_match "*SIGTERM*" $log
        file exists [file join [srv dir] server.pid]
    } {0}
}

start_server {tags {lifecycle}} {
    test "SIGINT: the server exits 0 and logs it" {
        r set k v
        exec kill -INT [srv pid]
        set status [wait_for_server_exit 10000]
        assert_match "*SIGINT*" [read_file_text [srv log]]
        set status
    } {0}
}

start_server {tags {lifecycle}} {
    test "A second server on a port in use refuses to start" {
        set dir [make_tmp_dir busyport]
        try {
            set res [run_server_once [list --port [srv port] --bind 127.0.0.1 --dir $dir]]
        } finally {
            file delete -force $dir
        }
        assert_not_equal 0 [dict get $res status]
        assert_match "*[srv port]*" [dict get $res output]
    }

    test "The first server is unaffected" {
        r ping
    } {PONG}
}

# DEBUG SEGFAULT is outside the DEBUG subcommands issue 2 asks for (tag debug-extra).
start_server {tags {lifecycle debug-extra}} {
    test "A crash logs a stack trace and the last command" {
        server_expect_crash
        r set before crash
        catch {r debug segfault}
        set status [wait_for_server_exit 20000]
        set log [read_file_text [srv log]][read_file_text [srv stderr]]
        assert_not_equal 0 $status
        assert_match "*crashed*" $log
        assert_match "*stack trace*" [string tolower $log]
        assert_match "*segfault*" $log
    }
}

# The shipped configuration file must load as it is (Phenix only: redis-server
# does not know Phenix's own directives).
start_server [list tags {lifecycle phenix-only} config_file [file join $::root_dir conf phenix.conf]] {
    test "conf/phenix.conf loads and the server answers" {
        r ping
    } {PONG}

    test "conf/phenix.conf sets the documented defaults" {
        set d [r config get databases maxmemory-policy]
        list [dict get $d databases] [dict get $d maxmemory-policy]
    } {16 noeviction}
}

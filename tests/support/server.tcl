# Server processes for the Phenix DB integration harness.
#
# What it is: start_server, which runs the server binary under test on a free
# port in a fresh temp directory, runs a block of tests against it and then stops
# it and checks that it stopped cleanly; plus accessors (srv, r, reconnect) and
# helpers for tests that stop or restart servers themselves.
#
#     start_server {overrides {maxmemory 1mb} tags {oom}} {
#         test "..." { r set a b } {OK}
#     }
#
# Options of start_server (a key/value list, all optional):
#     overrides {name value ...}  passed as `--name value` after the harness's own
#                                 arguments (so they win; an empty value is kept)
#     tags {t ...}                tags of every test in the block
#     config text                 written to <dir>/server.conf, passed as first argument
#     config_file path            an existing file passed as first argument
#     args {a ...}                extra raw command-line arguments, last
#
# Invariants: every server runs under a tiny sh wrapper that records its pid
# (<dir>/child.pid) and, when it exits, its exit status (<dir>/exitcode); so the
# harness can tell a live server from a dead one without waitpid. Every server
# started here is stopped here: SIGTERM, up to 10 s, then SIGKILL (a failure).
# After stopping, <dir>/stderr and <dir>/server.log are scanned for sanitizer
# and crash reports; a finding, a non-zero exit status after SIGTERM, a forced
# kill or an unexpected death is recorded as a failed check named
# "<file>: server #N shut down cleanly". A temp dir is removed when the block had
# no failure (unless --dont-clean).
#
# Sources: the idea of Redis's tests/ harness (servers with overrides, tags, a
# client per server); the code is this project's own.

set ::srv_stack {}
set ::srv_seq 0
set ::srv_free_clients {}
array set ::SRV {}
# Test ports lie below the kernel's ephemeral range (ip_local_port_range):
# a connect to a port of that range where nothing listens yet can be given the
# same port as its source and connect to itself (TCP simultaneous open), and a
# harness polling a starting server would then read its own PING back.
proc ephemeral_port_floor {} {
    set floor 32768
    catch {
        set f [open /proc/sys/net/ipv4/ip_local_port_range]
        set floor [lindex [read $f] 0]
        close $f
    }
    return $floor
}
set ::port_floor 20000
set ::port_ceiling [expr {min([ephemeral_port_floor], 60000)}]
if {$::port_ceiling - $::port_floor < 2000} { set ::port_floor [expr {max(1100, $::port_ceiling - 8000)}] }
set ::next_port [expr {$::port_floor + int(rand() * ($::port_ceiling - $::port_floor))}]
set ::crash_patterns {AddressSanitizer LeakSanitizer ThreadSanitizer {runtime error:} crashed {Segmentation fault}}

# Returns a TCP port on 127.0.0.1 that nothing listens on right now.
proc find_available_port {} {
    for {set i 0} {$i < 1000} {incr i} {
        set p [incr ::next_port]
        if {$p >= $::port_ceiling} { set ::next_port $::port_floor; set p $::port_floor }
        if {[catch {socket -server {apply {args {}}} -myaddr 127.0.0.1 $p} s]} { continue }
        close $s
        return $p
    }
    error "no free port found"
}

# srv ?level? key: a property of a running server. level 0 is the innermost,
# -1 the one around it. Keys: host port pid dir stderr log client config_file id.
proc srv {args} {
    if {[llength $args] == 2} {
        lassign $args level key
    } else {
        set level 0
        set key [lindex $args 0]
    }
    set idx [expr {[llength $::srv_stack] - 1 + $level}]
    if {$idx < 0 || $idx >= [llength $::srv_stack]} {
        error "srv: no server at level $level"
    }
    set id [lindex $::srv_stack $idx]
    if {$key eq "id"} { return $id }
    return $::SRV($id,$key)
}

# r ?level? cmd args...: sends a command with the server's default client.
proc r {args} {
    set level 0
    if {[regexp {^-[0-9]+$} [lindex $args 0]]} {
        set level [lindex $args 0]
        set args [lrange $args 1 end]
    }
    [srv $level client] {*}$args
}

# Replaces the default client of a server (after QUIT, CLIENT KILL, RESET ...).
proc reconnect {{level 0}} {
    set id [srv $level id]
    catch {$::SRV($id,client) close}
    set ::SRV($id,client) [redis_client -host $::SRV($id,host) -port $::SRV($id,port)]
}

proc server_register_client {c} {
    if {[llength $::srv_stack] == 0} {
        lappend ::srv_free_clients $c
        return
    }
    lappend ::SRV([lindex $::srv_stack end],clients) $c
}

proc server_unregister_client {c} {
    foreach id $::srv_stack {
        set i [lsearch -exact $::SRV($id,clients) $c]
        if {$i >= 0} { set ::SRV($id,clients) [lreplace $::SRV($id,clients) $i $i] }
    }
}

proc read_file_text {path} {
    if {![file exists $path]} { return "" }
    set f [open $path r]
    fconfigure $f -translation binary
    set d [read $f]
    close $f
    return $d
}

proc write_file_text {path text} {
    set f [open $path w]
    fconfigure $f -translation binary
    puts -nonewline $f $text
    close $f
}

# Exit status of a server process started here, or "" while it runs.
proc server_exit_status {id} {
    set f $::SRV($id,dir)/exitcode
    if {![file exists $f]} { return "" }
    set s [string trim [read_file_text $f]]
    if {$s eq ""} { return "" }
    return $s
}

proc server_is_alive {{id {}}} {
    if {$id eq ""} { set id [srv id] }
    return [expr {[server_exit_status $id] eq ""}]
}

proc make_tmp_dir {prefix} {
    set base [file join $::tests_dir tmp]
    file mkdir $base
    set dir [file join $base $prefix.[pid].[incr ::srv_seq]]
    file delete -force $dir
    file mkdir $dir
    return $dir
}

# Launches `binary args` under the wrapper with its output in dir/stderr.
# Returns the pid of the server process itself.
# A watchdog in the wrapper stops the server if the harness itself dies (killed
# by a timeout, Ctrl-C), so no server outlives the run.
proc spawn_server_process {dir argv} {
    set script {
        d=$1; h=$2; shift 2
        "$@" >"$d/stderr" 2>&1 </dev/null &
        c=$!
        echo $c >"$d/child.pid"
        (
            while kill -0 $c 2>/dev/null; do
                if ! kill -0 $h 2>/dev/null; then
                    kill -TERM $c 2>/dev/null; sleep 5; kill -KILL $c 2>/dev/null; break
                fi
                sleep 1
            done
        ) >/dev/null 2>&1 </dev/null &
        wait $c
        echo $? >"$d/exitcode.tmp"
        mv "$d/exitcode.tmp" "$d/exitcode"
    }
    exec sh -c $script sh $dir [pid] $::server_binary {*}$argv 2>> [file join $dir wrapper.err] &
    set deadline [expr {[clock milliseconds] + 5000}]
    while {![file exists $dir/child.pid] || [string trim [read_file_text $dir/child.pid]] eq ""} {
        if {[clock milliseconds] > $deadline} { error "server wrapper did not start" }
        after 5
    }
    return [string trim [read_file_text $dir/child.pid]]
}

# Tries one PING on a fresh socket. 1 when any reply line (even an error such
# as NOAUTH or LOADING) came back.
proc ping_server {host port} {
    if {[catch {redis_client -host $host -port $port -timeout 1000 -register 0} c]} {
        return 0
    }
    # PONG, or an error reply such as LOADING: a server is there. (A reply of
    # PING would be this socket connected to itself.)
    if {[catch {$c ping} reply] == 0} {
        set ok [expr {$reply eq "PONG"}]
    } else {
        set ok [string match {[A-Z]*} $reply]
        if {[string match "timeout*" $reply] || [string match "connection*" $reply]} { set ok 0 }
    }
    $c close
    return $ok
}

proc server_host_from_bind {bind} {
    set first [lindex $bind 0]
    if {$first eq "" || [string match {*\**} $first] || $first eq "0.0.0.0" ||
        [string match *:* $first]} {
        return 127.0.0.1
    }
    return [string trimleft $first -]
}

# The command line for one server: harness defaults, then overrides, then args.
proc server_command_line {id port dir options} {
    set argv {}
    if {[dict exists $options config]} {
        set cf [file join $dir server.conf]
        write_file_text $cf [dict get $options config]
        lappend argv $cf
        set ::SRV($id,config_file) $cf
    } elseif {[dict exists $options config_file]} {
        lappend argv [dict get $options config_file]
        set ::SRV($id,config_file) [dict get $options config_file]
    }
    lappend argv --port $port --bind 127.0.0.1 --dir $dir \
        --logfile [file join $dir server.log] --pidfile [file join $dir server.pid]
    if {$::redis_mode} {
        lappend argv --save "" --enable-debug-command yes
    } elseif {$::event_loop ne ""} {
        lappend argv --event-loop $::event_loop
    }
    if {[dict exists $options overrides]} {
        foreach {k v} [dict get $options overrides] {
            lappend argv --$k $v
        }
    }
    if {[dict exists $options args]} {
        lappend argv {*}[dict get $options args]
    }
    return $argv
}

# Starts one server; on success pushes it on the server stack and returns its
# id. On failure returns "" after recording the failure.
proc launch_server {options} {
    set overrides {}
    if {[dict exists $options overrides]} { set overrides [dict get $options overrides] }
    for {set attempt 1} {$attempt <= 3} {incr attempt} {
        set id srv[incr ::srv_seq]
        set port [find_available_port]
        if {[dict exists $overrides port]} { set port [dict get $overrides port] }
        set host 127.0.0.1
        if {[dict exists $overrides bind]} {
            set host [server_host_from_bind [dict get $overrides bind]]
        }
        set dir [make_tmp_dir server]
        array set ::SRV [list $id,host $host $id,port $port $id,dir $dir \
            $id,stderr [file join $dir stderr] $id,log [file join $dir server.log] \
            $id,clients {} $id,client {} $id,config_file {} $id,expect_exit 0 \
            $id,expect_crash 0 \
            $id,pid 0]
        set argv [server_command_line $id $port $dir $options]
        set ::SRV($id,argv) $argv
        if {$::verbose} { puts "    starting: $::server_binary $argv" }
        set ::SRV($id,pid) [spawn_server_process $dir $argv]
        lappend ::srv_stack $id
        set deadline [expr {[clock milliseconds] + 10000}]
        set ready 0
        while {[clock milliseconds] < $deadline} {
            if {[ping_server $host $port] &&
                ![catch {redis_client -host $host -port $port} client]} {
                set ready 1
                break
            }
            if {![server_is_alive $id]} break
            after 20
        }
        if {$ready} {
            set ::SRV($id,client) $client
            return $id
        }
        set out "[read_file_text $::SRV($id,stderr)][read_file_text $::SRV($id,log)]"
        stop_server_process $id
        set ::srv_stack [lrange $::srv_stack 0 end-1]
        if {[string match -nocase "*address already in use*" $out] &&
            ![dict exists $overrides port]} {
            file delete -force $dir
            continue
        }
        ::t::record_failure "server start" \
            "server did not answer PING within 10 s (dir $dir)\n[tail_text $out 30]"
        return ""
    }
    ::t::record_failure "server start" "could not find a usable port after 3 attempts"
    return ""
}

proc tail_text {text n} {
    set lines [split [string trimright $text \n] \n]
    return [join [lrange $lines end-[expr {$n - 1}] end] \n]
}

# Sends SIGTERM and waits up to 10 s, then SIGKILL. Returns "ok", "killed" or
# "dead" (the process had already exited).
proc stop_server_process {id} {
    if {![server_is_alive $id]} { return dead }
    catch {exec kill -TERM $::SRV($id,pid)}
    set deadline [expr {[clock milliseconds] + 10000}]
    while {[clock milliseconds] < $deadline} {
        if {![server_is_alive $id]} { return ok }
        after 10
    }
    catch {exec kill -KILL $::SRV($id,pid)}
    set deadline [expr {[clock milliseconds] + 5000}]
    while {[server_is_alive $id] && [clock milliseconds] < $deadline} { after 10 }
    return killed
}

# Scans a server's stderr and log for sanitizer or crash reports. Returns the
# offending lines, or "" when clean.
proc server_crash_report {id} {
    set found {}
    foreach f [list $::SRV($id,stderr) $::SRV($id,log) [file join $::SRV($id,dir) wrapper.err]] {
        foreach line [split [read_file_text $f] \n] {
            foreach p $::crash_patterns {
                if {[string first $p $line] >= 0} {
                    lappend found "[file tail $f]: $line"
                    break
                }
            }
        }
    }
    return [join [lrange $found 0 20] \n]
}

# Closes the server's clients, stops it, records the shutdown check, pops it.
# Returns 1 if the shutdown was clean.
proc finish_server {id block_name} {
    foreach c $::SRV($id,clients) { catch {$c close} }
    set was_alive [server_is_alive $id]
    set how [stop_server_process $id]
    set problems {}
    if {!$was_alive && !$::SRV($id,expect_exit)} {
        lappend problems "the server died during the block (exit status [server_exit_status $id])"
    }
    if {$how eq "killed"} {
        lappend problems "the server did not exit within 10 s of SIGTERM and was killed"
    }
    set status [server_exit_status $id]
    if {$how eq "ok" && $status ne "0"} {
        lappend problems "exit status $status after SIGTERM"
    }
    set report [server_crash_report $id]
    if {$report ne "" && !$::SRV($id,expect_crash)} {
        lappend problems "sanitizer or crash report in the server output:\n$report"
    }
    set ::srv_stack [lrange $::srv_stack 0 end-1]
    set name "$block_name shut down cleanly"
    if {[llength $problems]} {
        ::t::record_result $name 0 "[join $problems \n]\n(server dir kept: $::SRV($id,dir))"
        return 0
    }
    ::t::record_result $name 1 ""
    return 1
}

proc start_server {options code} {
    set tags {}
    if {[dict exists $options tags]} { set tags [dict get $options tags] }
    set blockno [incr ::t::block_seq]
    set block_name "[::t::current_file_tail]: server #$blockno"
    if {![::t::tags_allowed [concat $::t::tag_stack $tags]]} {
        ::t::record_skip "$block_name (tags: [concat $::t::tag_stack $tags])"
        return
    }
    set failures_before $::t::failed
    set id [launch_server $options]
    if {$id eq ""} return
    lappend ::t::tag_stack {*}$tags
    set code_status [catch {uplevel 1 $code} err opts]
    set ::t::tag_stack [lrange $::t::tag_stack 0 end-[llength $tags]]
    if {$code_status == 1 && [dict get $opts -errorcode] ne "PHX_SERVER_DIED"} {
        ::t::record_failure "$block_name" \
            "exception outside a test: $err\n[dict get $opts -errorinfo]"
    }
    set clean [finish_server $id $block_name]
    if {$clean && $::t::failed == $failures_before && !$::dont_clean} {
        file delete -force $::SRV($id,dir)
    }
    array unset ::SRV $id,*
}

# For tests that stop the server on purpose (SHUTDOWN, a killed process): marks
# the innermost server as expected to exit and waits up to ms for it. Returns
# its exit status, or "" if it is still running.
proc wait_for_server_exit {{ms 10000}} {
    set id [srv id]
    set ::SRV($id,expect_exit) 1
    set deadline [expr {[clock milliseconds] + $ms}]
    while {[server_is_alive $id] && [clock milliseconds] < $deadline} { after 10 }
    return [server_exit_status $id]
}

# Stops the innermost server and starts it again with the same command line
# (plus extra arguments), directory and port, for persistence tests.
#   how   kill: SIGKILL at once (a crash); term: SIGTERM and a clean exit
#   wait  ready: until it answers PING (a LOADING error counts) or exits;
#         none: return at once
# Its clients are closed and the default client reconnected (when ready).
# Returns 1 when the new process runs, 0 when it exited (a refused start:
# read [srv log] for why); the block's shutdown check then expects that.
proc restart_server {{how term} {extra {}} {wait ready}} {
    set id [srv id]
    foreach c $::SRV($id,clients) { catch {$c close} }
    set ::SRV($id,clients) {}
    catch {$::SRV($id,client) close}
    if {$how eq "kill"} {
        catch {exec kill -KILL $::SRV($id,pid)}
        set deadline [expr {[clock milliseconds] + 10000}]
        while {[server_is_alive $id] && [clock milliseconds] < $deadline} { after 5 }
    } else {
        set st [stop_server_process $id]
        if {$st eq "killed"} { error "restart_server: the server did not stop on SIGTERM" }
        set code [server_exit_status $id]
        if {$st eq "ok" && $code ne "0"} { error "restart_server: exit status $code after SIGTERM" }
    }
    file delete -force $::SRV($id,dir)/exitcode $::SRV($id,dir)/child.pid
    set ::SRV($id,expect_exit) 0
    set ::SRV($id,pid) [spawn_server_process $::SRV($id,dir) [concat $::SRV($id,argv) $extra]]
    if {$wait ne "ready"} { return 1 }
    # The server listens while it loads (clients get -LOADING), so ready
    # means: done loading, or exited (a refused start).
    set deadline [expr {[clock milliseconds] + 60000}]
    while {[clock milliseconds] < $deadline} {
        if {![server_is_alive $id]} {
            set ::SRV($id,expect_exit) 1
            return 0
        }
        if {![catch {redis_client -host $::SRV($id,host) -port $::SRV($id,port) -timeout 2000} c]} {
            set loading [expr {[catch {info_field [$c info persistence] loading} v] ? 1 : $v}]
            if {$loading == 0} {
                $c timeout $::resp::default_timeout
                set ::SRV($id,client) $c
                return 1
            }
            catch {$c close}
        }
        after 20
    }
    error "restart_server: not ready within 60 s"
}

# Kills the innermost server with SIGKILL (a crash) and waits for it to be
# gone, leaving its files for the test to inspect or damage; restart_server
# starts it again.
proc kill_server {} {
    set id [srv id]
    foreach c $::SRV($id,clients) { catch {$c close} }
    set ::SRV($id,clients) {}
    catch {$::SRV($id,client) close}
    set ::SRV($id,expect_exit) 1
    catch {exec kill -KILL $::SRV($id,pid)}
    set deadline [expr {[clock milliseconds] + 10000}]
    while {[server_is_alive $id] && [clock milliseconds] < $deadline} { after 5 }
}

# Waits until the innermost server has finished loading (INFO loading:0).
proc wait_done_loading {{ms 30000}} {
    wait_for {[catch {s loading} v] == 0 && $v == 0} $ms 20 "the server is still loading"
}

# For tests that crash the server on purpose (DEBUG SEGFAULT): its exit and
# its crash report are then not failures of the shutdown check.
proc server_expect_crash {} {
    set id [srv id]
    set ::SRV($id,expect_exit) 1
    set ::SRV($id,expect_crash) 1
}

# Runs the server binary with argv in a temp dir and waits up to ms for it to
# exit on its own (for --version, bad configurations...). Returns a dict with
# status (exit status, or "timeout" after killing it) and output (stderr+stdout
# and log file if any). The temp dir is removed. Fails the calling test when
# the output holds a sanitizer or crash report (a LeakSanitizer report alone is
# tolerated here: these runs end on fatal-error exit paths).
proc run_server_once {argv {ms 10000}} {
    set dir [make_tmp_dir once]
    set pid [spawn_server_process $dir $argv]
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![file exists $dir/exitcode] && [clock milliseconds] < $deadline} { after 10 }
    if {![file exists $dir/exitcode]} {
        catch {exec kill -KILL $pid}
        while {![file exists $dir/exitcode]} { after 10 }
        set status timeout
    } else {
        set status [string trim [read_file_text $dir/exitcode]]
    }
    set out [read_file_text $dir/stderr]
    foreach f [glob -nocomplain -directory $dir *.log] { append out [read_file_text $f] }
    append out [read_file_text [file join $dir wrapper.err]]
    if {!$::dont_clean} { file delete -force $dir }
    foreach p $::crash_patterns {
        if {$p ne "LeakSanitizer" && [string first $p $out] >= 0} {
            return -code error -errorcode ASSERTION \
                "'$p' in the output of `server $argv`:\n[tail_text $out 20]"
        }
    }
    return [dict create status $status output $out dir $dir]
}

# INFO field of the innermost server (or of client c): `s connected_clients`.
proc s {field {c {}}} {
    if {$c eq ""} { set c [srv client] }
    return [info_field [$c info] $field]
}

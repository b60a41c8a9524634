# Server-wide behaviour: SHUTDOWN, protected-mode, idle timeout, maxclients,
# 1,000 concurrent clients, `databases`, command-line directives, and config
# files (include, quoted strings, size units, last one wins, bad directives).

# The first IPv4 address of this machine that is not a loopback one, or "".
proc non_loopback_ipv4 {} {
    if {[catch {exec sh -c {hostname -I 2>/dev/null || true}} out]} { return "" }
    foreach a [split [string trim $out]] {
        if {[regexp {^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$} $a] && ![string match 127.* $a]} {
            return $a
        }
    }
    return ""
}

start_server {tags {other shutdown}} {
    test "SHUTDOWN with a bad option" {
        catch {r shutdown foo} e
        set e
    } {ERR syntax error}

    test "SHUTDOWN NOSAVE stops the server cleanly without a reply" {
        r set k v
        catch {r shutdown nosave} e
        set status [wait_for_server_exit 10000]
        list [string match "connection closed*" $e] $status
    } {1 0}
}

set ::external_ip [non_loopback_ipv4]
if {$::external_ip eq ""} {
    ::t::record_skip "protected-mode tests: this machine has no non-loopback IPv4 address"
} else {
    start_server [list tags {other protected-mode} overrides [list bind "127.0.0.1 $::external_ip"]] {
        test "protected-mode denies non-loopback clients when no password is set" {
            set c [redis_client -host $::external_ip]
            $c send ping
            set out [$c read_until_eof 3000]
            $c close
            assert_match "-DENIED *protected mode*\r\n" $out
        }

        test "protected-mode still accepts loopback clients" {
            r ping
        } {PONG}

        test "protected-mode no accepts every client" {
            r config set protected-mode no
            set c [redis_client -host $::external_ip]
            set pong [$c ping]
            $c close
            r config set protected-mode yes
            set pong
        } {PONG}

        test "protected-mode does not apply once a password is set" {
            r config set requirepass pw
            set c [redis_client -host $::external_ip]
            catch {$c ping} e
            set ok [$c auth pw]
            $c close
            r auth pw
            r config set requirepass ""
            list $e $ok
        } {{NOAUTH Authentication required.} OK}
    }
}

start_server {tags {other timeout slow} overrides {timeout 1}} {
    test "An idle client is closed after the timeout" {
        set idle [redis_client]
        $idle ping
        set t0 [clock milliseconds]
        set closed [$idle wait_close 5000]
        set ms [expr {[clock milliseconds] - $t0}]
        $idle close
        reconnect
        assert_range $ms 500 4000
        set closed
    } {1}

    test "An active client is not closed by the timeout" {
        set busy [redis_client]
        for {set i 0} {$i < 10} {incr i} {
            $busy ping
            after 300
        }
        set pong [$busy ping]
        $busy close
        reconnect
        set pong
    } {PONG}

    test "CONFIG SET timeout 0 disables the idle timeout" {
        reconnect
        r config set timeout 0
        set idle [redis_client]
        $idle ping
        set closed [$idle wait_close 2500]
        $idle close
        reconnect
        set closed
    } {0}
}

start_server {tags {other maxclients} overrides {maxclients 5}} {
    test "maxclients: the connection over the limit gets an error and is closed" {
        set cs {}
        for {set i 0} {$i < 4} {incr i} {
            set c [redis_client]
            $c ping
            lappend cs $c
        }
        set extra [redis_client]
        $extra send ping
        set out [$extra read_until_eof 3000]
        $extra close
        foreach c $cs { $c close }
        set out
    } "-ERR max number of clients reached\r\n"

    test "maxclients: rejected connections are counted" {
        assert_morethan_equal [s rejected_connections] 1
    }

    test "maxclients: a slot freed by a closing client can be used" {
        set cs {}
        for {set i 0} {$i < 4} {incr i} {
            set c [redis_client]
            $c ping
            lappend cs $c
        }
        [lindex $cs 0] close
        wait_for {[s connected_clients] == 4} 3000
        set c [redis_client]
        set pong [$c ping]
        $c close
        foreach c [lrange $cs 1 end] { $c close }
        set pong
    } {PONG}

    test "maxclients can be raised with CONFIG SET" {
        r config set maxclients 20
        set cs {}
        for {set i 0} {$i < 10} {incr i} {
            set c [redis_client]
            lappend cs [$c ping]
            $c close
        }
        lsort -unique $cs
    } {PONG}
}

start_server {tags {other clients1000}} {
    test "1,000 concurrent clients each run a command" {
        set limit [fd_limit]
        if {$limit ne "unlimited" && $limit < 2100} {
            fail "RLIMIT_NOFILE is $limit: run the suite after `ulimit -n 4096`"
        }
        set cs {}
        for {set i 0} {$i < 1000} {incr i} { lappend cs [redis_client] }
        set i 0
        foreach c $cs {
            $c send set client:$i $i
            incr i
        }
        set ok 0
        foreach c $cs { if {[$c read] eq "OK"} { incr ok } }
        set connected [s connected_clients]
        set i 0
        set right 0
        foreach c $cs {
            if {[$c get client:$i] eq $i} { incr right }
            incr i
        }
        foreach c $cs { $c close }
        list $ok $right [expr {$connected >= 1001}] [r dbsize]
    } {1000 1000 1 1000}

    test "After 1,000 clients disconnect the count returns to one" {
        wait_for {[s connected_clients] == 1} 5000
    }
}

start_server {tags {other databases} overrides {databases 4}} {
    test "databases 4: SELECT 3 works, SELECT 4 is out of range" {
        set ok [r select 3]
        catch {r select 4} e
        r select 0
        list $ok $e [r config get databases]
    } {OK {ERR DB index is out of range} {databases 4}}

    test "databases 4: MOVE and COPY honour the limit" {
        r set k v
        set out {}
        catch {r move k 4} e; lappend out $e
        catch {r copy k k db 4} e; lappend out $e
        lappend out [r move k 3]
    } {{ERR DB index is out of range} {ERR DB index is out of range} 1}
}

start_server {tags {other command-line} overrides {maxmemory 100mb hz 25 timeout 30 loglevel warning}} {
    test "Command-line directives are applied, with size units" {
        set d [r config get maxmemory hz timeout loglevel]
        list [dict get $d maxmemory] [dict get $d hz] [dict get $d timeout] [dict get $d loglevel]
    } {104857600 25 30 warning}
}

start_server {tags {other command-line} args {--maxmemory 1mb --maxmemory 2mb}} {
    test "The same directive twice on the command line: the last one wins" {
        r config get maxmemory
    } {maxmemory 2097152}
}

start_server {tags {other config-file} config "maxmemory 1gb\nclient-query-buffer-limit 100mb\nproto-max-bulk-len 2MB\nhz 12\n"} {
    test "Config file with size units (gb, mb, MB)" {
        set d [r config get maxmemory client-query-buffer-limit proto-max-bulk-len hz]
        list [dict get $d maxmemory] [dict get $d client-query-buffer-limit] \
             [dict get $d proto-max-bulk-len] [dict get $d hz]
    } {1073741824 104857600 2097152 12}
}

start_server {tags {other config-file} config "maxmemory 1k\n"} {
    test "Size unit k is 1000 bytes" {
        r config get maxmemory
    } {maxmemory 1000}
}

start_server {tags {other config-file} config "maxmemory 1kb\n"} {
    test "Size unit kb is 1024 bytes" {
        r config get maxmemory
    } {maxmemory 1024}
}

start_server {tags {other config-file} config "maxmemory 1mb\nhz 11\nmaxmemory 3mb\n"} {
    test "Config file: the last occurrence of a directive wins" {
        r config get maxmemory
    } {maxmemory 3145728}
}

start_server {tags {other config-file} config "maxmemory 1mb\n" overrides {maxmemory 5mb}} {
    test "Command-line directives override the config file" {
        r config get maxmemory
    } {maxmemory 5242880}
}

start_server {tags {other config-file} config "# comment line\n\n   # indented comment\nrequirepass \"pass word\\x41\"\nhz   13   \n"} {
    test "Config file: comments, blank lines, spaces and a double-quoted value with escapes" {
        set c [redis_client]
        catch {$c ping} e
        set ok [$c auth "pass wordA"]
        set d [$c config get requirepass hz]
        $c close
        list $e $ok [dict get $d requirepass] [dict get $d hz]
    } {{NOAUTH Authentication required.} OK {pass wordA} 13}
}

start_server {tags {other config-file} config "requirepass 'single quoted'\n"} {
    test "Config file: a single-quoted value" {
        set c [redis_client]
        set ok [$c auth "single quoted"]
        $c close
        set ok
    } {OK}
}

set ::include_dir [make_tmp_dir include]
write_file_text [file join $::include_dir included.conf] "hz 33\nmaxmemory 7mb\n"
start_server [list tags {other config-file} \
                  config "maxmemory 1mb\ninclude [file join $::include_dir included.conf]\ntimeout 44\n"] {
    test "Config file include: directives from the included file apply" {
        set d [r config get hz timeout]
        list [dict get $d hz] [dict get $d timeout]
    } {33 44}

    test "Config file include: a directive after the include wins over it and vice versa" {
        r config get maxmemory
    } {maxmemory 7340032}
}
file delete -force $::include_dir

proc config_failure {text} {
    set dir [make_tmp_dir badconf]
    set cf [file join $dir bad.conf]
    write_file_text $cf $text
    set port [find_available_port]
    try {
        return [run_server_once [list $cf --port $port --bind 127.0.0.1 --dir $dir]]
    } finally {
        file delete -force $dir
    }
}

test "A config file with an unknown directive: the server refuses to start" {
    set res [config_failure "hz 10\nno-such-directive yes\n"]
    assert_not_equal 0 [dict get $res status]
    assert_match "*no-such-directive*" [dict get $res output]
}

test "A config file with a bad value: the server refuses to start" {
    set res [config_failure "maxmemory lots\n"]
    assert_not_equal 0 [dict get $res status]
    assert_match "*maxmemory*" [dict get $res output]
}

test "A config file with an unbalanced quote: the server refuses to start" {
    set res [config_failure "requirepass \"open\n"]
    assert_not_equal 0 [dict get $res status]
}

test "A missing config file: the server refuses to start" {
    set res [run_server_once [list /nonexistent/dir/server.conf --port [find_available_port]]]
    dict get $res status
} {1}

test "An unknown command-line directive: the server refuses to start" {
    set res [run_server_once [list --port [find_available_port] --no-such-directive yes]]
    assert_not_equal 0 [dict get $res status]
    assert_match "*no-such-directive*" [dict get $res output]
}

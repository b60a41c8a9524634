# RESP client for the Phenix DB integration harness.
#
# What it is: a small RESP2/RESP3 client written for the tests, over a plain Tcl
# socket. Each client is a command created by `redis_client`:
#
#     set c [redis_client]            ;# connects to the innermost server
#     $c set foo bar                  ;# sends SET, returns the reply
#     catch {$c foo} err              ;# error replies are Tcl errors: err = "ERR unknown..."
#
# Replies map to Tcl values: simple strings, integers, doubles and big numbers
# become their text; bulk and verbatim strings their bytes (verbatim without the
# "txt:" prefix); nulls the empty string; booleans 1 or 0; arrays, sets and push
# messages lists; maps flat key/value lists (usable with `dict`). An error at top
# level raises a Tcl error whose message is the error text without the leading '-'
# and whose errorcode is {RESP ERR}; an error nested inside an aggregate becomes
# the element's value (so the rest of the aggregate is still read).
#
# Methods (a client's name followed by one of these words; any other word is sent
# as a command):
#     read             read one reply (deferred clients, or after `send`)
#     send cmd ...     write one command without reading its reply
#     write bytes      write raw bytes (protocol abuse); flush is implicit
#     readraw 0|1      raw mode: `read` returns one protocol line, CRLF stripped
#     read_line        one raw line, CRLF stripped
#     read_bytes n     exactly n raw bytes
#     read_until_eof ?ms?  everything the server sends until it closes (error on timeout)
#     wait_close ?ms?  1 if the server closes the connection within ms, else 0
#     close_write      half-close: shutdown(SHUT_WR) after flushing
#     close            close the connection
#     fd               the underlying Tcl channel
#     timeout ms       set this client's read timeout
#     attributes       the last RESP3 attribute map read (flat list)
#
# Invariants: the socket is non-blocking; reads go through this file's own buffer
# (buf, pos) so a partial frame is never lost; every wait is bounded by the
# client's timeout, so a silent server fails a test instead of hanging the run.
# Arguments are sent as byte strings: characters above \xff are not supported.
#
# Sources: the RESP2 and RESP3 protocol specifications. Written for this project.

namespace eval ::resp {
    variable seq 0
    variable default_timeout 10000
    variable S
    array set S {}
}

# redis_client ?-host h? ?-port p? ?-deferred 0|1? ?-timeout ms? ?-register 0|1?
# Connects and returns the new client's command name. Host and port default to
# the innermost running server, which closes the client when it stops (unless
# -register 0). Raises an error if the connection fails.
proc redis_client {args} {
    set opt [dict create -host {} -port {} -deferred 0 -timeout $::resp::default_timeout \
        -register 1]
    foreach {k v} $args {
        if {![dict exists $opt $k]} { error "redis_client: unknown option $k" }
        dict set opt $k $v
    }
    set host [dict get $opt -host]
    set port [dict get $opt -port]
    if {$host eq ""} { set host [srv host] }
    if {$port eq ""} { set port [srv port] }
    # Tcl 8.6's notifier waits with select(2): a descriptor at or above
    # FD_SETSIZE (1024) would hang the event loop, so refuse to go near it.
    if {[llength [array names ::resp::S *,fd]] >= 1010} {
        error "redis_client: too many open clients for Tcl's select() notifier (at most ~1,000)"
    }
    set fd [socket $host $port]
    # A large channel buffer makes most requests one write(2): a request split
    # into several small writes can stall on Nagle's algorithm against delayed ACKs.
    fconfigure $fd -blocking 0 -translation binary -encoding binary -buffering full \
        -buffersize 262144
    set id ::rc[incr ::resp::seq]
    upvar #0 ::resp::S S
    set S($id,fd) $fd
    set S($id,buf) ""
    set S($id,pos) 0
    set S($id,deferred) [dict get $opt -deferred]
    set S($id,raw) 0
    set S($id,timeout) [dict get $opt -timeout]
    set S($id,attrs) {}
    set S($id,broken) ""
    set S($id,polling) 0
    interp alias {} $id {} ::resp::dispatch $id
    set S($id,registered) [dict get $opt -register]
    if {$S($id,registered)} { server_register_client $id }
    return $id
}

# A client that only writes when called with a command; replies are read with `read`.
proc redis_deferring_client {args} {
    return [redis_client -deferred 1 {*}$args]
}

proc ::resp::dispatch {id cmd args} {
    upvar #0 ::resp::S S
    if {![info exists S($id,fd)]} { error "client $id is closed" }
    if {$S($id,broken) ne "" && $cmd ne "close"} { error "client $id was $S($id,broken)" }
    switch -exact -- $cmd {
        read { return [::resp::read_reply $id] }
        send { ::resp::send_command $id $args; return }
        write { ::resp::write_raw $id [lindex $args 0]; return }
        readraw { set S($id,raw) [lindex $args 0]; return }
        read_line { return [::resp::read_line $id] }
        read_bytes { return [::resp::read_exact $id [lindex $args 0]] }
        read_until_eof { return [::resp::read_until_eof $id {*}$args] }
        wait_close { return [::resp::wait_close $id {*}$args] }
        close_write { ::resp::close_write $id; return }
        close { ::resp::close_client $id; return }
        fd { return $S($id,fd) }
        timeout { set S($id,timeout) [lindex $args 0]; return }
        attributes { return $S($id,attrs) }
    }
    ::resp::send_command $id [linsert $args 0 $cmd]
    if {$S($id,deferred)} { return }
    return [::resp::read_reply $id]
}

# Encodes argv as one RESP multibulk frame.
proc ::resp::encode {argv} {
    set out "*[llength $argv]\r\n"
    foreach a $argv {
        append out "\$[string length $a]\r\n$a\r\n"
    }
    return $out
}

proc ::resp::send_command {id argv} {
    ::resp::write_raw $id [::resp::encode $argv]
}

# Queues bytes on the non-blocking socket; Tcl flushes what the kernel refuses
# in the background while this file waits in the event loop.
proc ::resp::write_raw {id data} {
    upvar #0 ::resp::S S
    set fd $S($id,fd)
    if {[catch {puts -nonewline $fd $data; flush $fd} err]} {
        error "connection error while writing: $err"
    }
}

# Waits until fd is readable or the timeout passes. Returns 1 if readable.
proc ::resp::wait_readable {fd ms} {
    set var ::resp::ev_[string map {: _} $fd]
    set $var ""
    fileevent $fd readable [list set $var r]
    set aid [after $ms [list set $var t]]
    vwait $var
    after cancel $aid
    catch {fileevent $fd readable {}}
    set r [set $var]
    unset $var
    return [expr {$r eq "r"}]
}

# Reads whatever the socket has into the buffer, waiting up to the client's
# timeout for at least one byte. Raises {RESP EOF} when the server closed.
proc ::resp::fill {id} {
    upvar #0 ::resp::S S
    set fd $S($id,fd)
    set deadline [expr {[clock milliseconds] + $S($id,timeout)}]
    while 1 {
        if {[catch {read $fd} data]} {
            return -code error -errorcode {RESP EOF} "connection closed by server ($data)"
        }
        if {$data ne ""} {
            if {$S($id,pos) > 65536} {
                set S($id,buf) [string range $S($id,buf) $S($id,pos) end]
                set S($id,pos) 0
            }
            append S($id,buf) $data
            return
        }
        if {[eof $fd]} {
            return -code error -errorcode {RESP EOF} "connection closed by server"
        }
        set left [expr {$deadline - [clock milliseconds]}]
        if {$left <= 0 || ![::resp::wait_readable $fd $left]} {
            if {[clock milliseconds] >= $deadline} {
                # The late reply would desynchronize the stream: drop the
                # connection so the client cannot be used by mistake (not
                # when merely polling for the server to close it).
                if {!$S($id,polling)} {
                    catch {close $fd}
                    set S($id,broken) "closed after a read timeout"
                }
                return -code error -errorcode {RESP TIMEOUT} \
                    "timeout: no reply from server within $S($id,timeout) ms"
            }
        }
    }
}

proc ::resp::read_line {id} {
    upvar #0 ::resp::S S
    while 1 {
        set i [string first "\r\n" $S($id,buf) $S($id,pos)]
        if {$i >= 0} {
            set line [string range $S($id,buf) $S($id,pos) [expr {$i - 1}]]
            set S($id,pos) [expr {$i + 2}]
            return $line
        }
        ::resp::fill $id
    }
}

proc ::resp::read_exact {id n} {
    upvar #0 ::resp::S S
    while {[string length $S($id,buf)] - $S($id,pos) < $n} {
        ::resp::fill $id
    }
    set end [expr {$S($id,pos) + $n - 1}]
    set data [string range $S($id,buf) $S($id,pos) $end]
    set S($id,pos) [expr {$end + 1}]
    return $data
}

# Reads a bulk payload of n bytes followed by CRLF.
proc ::resp::read_bulk_payload {id n} {
    set data [::resp::read_exact $id $n]
    set crlf [::resp::read_exact $id 2]
    if {$crlf ne "\r\n"} { error "protocol error: bulk payload not followed by CRLF" }
    return $data
}

proc ::resp::read_reply {id} {
    upvar #0 ::resp::S S
    if {$S($id,raw)} { return [::resp::read_line $id] }
    return [::resp::read_value $id 1]
}

# Reads one RESP value. toplevel: raise error replies as Tcl errors.
proc ::resp::read_value {id toplevel} {
    upvar #0 ::resp::S S
    set line [::resp::read_line $id]
    set type [string index $line 0]
    set rest [string range $line 1 end]
    switch -exact -- $type {
        + - : - ( { return $rest }
        , { return $rest }
        - {
            if {$toplevel} { return -code error -errorcode {RESP ERR} $rest }
            return $rest
        }
        $ {
            if {$rest == -1} { return {} }
            return [::resp::read_bulk_payload $id $rest]
        }
        = {
            set data [::resp::read_bulk_payload $id $rest]
            return [string range $data 4 end]
        }
        ! {
            set data [::resp::read_bulk_payload $id $rest]
            if {$toplevel} { return -code error -errorcode {RESP ERR} $data }
            return $data
        }
        _ { return {} }
        "#" { return [expr {$rest eq "t" ? 1 : 0}] }
        * - ~ - > {
            if {$rest == -1} { return {} }
            set out {}
            for {set i 0} {$i < $rest} {incr i} {
                lappend out [::resp::read_value $id 0]
            }
            return $out
        }
        % {
            set out {}
            for {set i 0} {$i < 2 * $rest} {incr i} {
                lappend out [::resp::read_value $id 0]
            }
            return $out
        }
        | {
            set attrs {}
            for {set i 0} {$i < 2 * $rest} {incr i} {
                lappend attrs [::resp::read_value $id 0]
            }
            set S($id,attrs) $attrs
            return [::resp::read_value $id $toplevel]
        }
        default {
            error "protocol error: unexpected reply line '[string range $line 0 60]'"
        }
    }
}

# Reads until the server closes the connection; returns all bytes not yet read.
proc ::resp::read_until_eof {id {ms {}}} {
    upvar #0 ::resp::S S
    if {$ms ne ""} {
        set saved $S($id,timeout)
        set S($id,timeout) $ms
    }
    set S($id,polling) 1
    set code [catch {
        while 1 { ::resp::fill $id }
    } err opts]
    set S($id,polling) 0
    if {$ms ne ""} { set S($id,timeout) $saved }
    if {[lindex [dict get $opts -errorcode] 1] ne "EOF"} {
        return -options $opts $err
    }
    set data [string range $S($id,buf) $S($id,pos) end]
    set S($id,buf) ""
    set S($id,pos) 0
    return $data
}

proc ::resp::wait_close {id {ms 5000}} {
    if {[catch {::resp::read_until_eof $id $ms}]} {
        return 0
    }
    return 1
}

# Waits (bounded) for Tcl's background flush of queued output.
proc ::resp::drain_output {id {ms 5000}} {
    upvar #0 ::resp::S S
    set fd $S($id,fd)
    set deadline [expr {[clock milliseconds] + $ms}]
    while {[catch {chan pending output $fd} n] == 0 && $n > 0} {
        if {[clock milliseconds] > $deadline} { return 0 }
        after 5 set ::resp::tick 1
        vwait ::resp::tick
    }
    return 1
}

proc ::resp::close_write {id} {
    upvar #0 ::resp::S S
    ::resp::drain_output $id
    close $S($id,fd) write
}

# 1 when the client exists and has not been dropped after a timeout.
proc ::resp::usable {id} {
    upvar #0 ::resp::S S
    return [expr {[info exists S($id,fd)] && $S($id,broken) eq ""}]
}

proc ::resp::close_client {id} {
    upvar #0 ::resp::S S
    if {$S($id,broken) eq ""} { ::resp::drain_output $id 1000 }
    catch {close $S($id,fd)}
    set registered $S($id,registered)
    array unset S $id,*
    catch {interp alias {} $id {}}
    if {$registered} { server_unregister_client $id }
}

# Small helpers shared by the Phenix DB integration suites.
#
# What it is: waiting for conditions with a bounded time, reading INFO fields,
# random data, and a few shortcuts the suites use often. Every wait here is
# bounded and fails the test (an ASSERTION error) instead of hanging.
#
# Sources: written for this project.

# wait_for {cond} ?timeout_ms? ?interval_ms? ?message?   (alias wait_for_condition)
# Evaluates the expression cond in the caller's scope until it is true; fails
# the test when timeout_ms passes first.
proc wait_for {cond {timeout_ms 5000} {interval_ms 20} {message {}}} {
    set deadline [expr {[clock milliseconds] + $timeout_ms}]
    while 1 {
        if {[uplevel 1 [list expr $cond]]} { return }
        if {[clock milliseconds] > $deadline} {
            set m "condition \[$cond\] not met within $timeout_ms ms"
            if {$message ne ""} { append m ": $message" }
            return -code error -errorcode ASSERTION "$m (at [::t::caller_location])"
        }
        after $interval_ms
    }
}

# The same, under the name the brief and Redis users know.
interp alias {} wait_for_condition {} wait_for

# The value of field in an INFO reply, or "" when absent.
proc info_field {info field} {
    foreach line [split $info "\r\n"] {
        set i [string first : $line]
        if {$i > 0 && [string range $line 0 [expr {$i - 1}]] eq $field} {
            return [string range $line [expr {$i + 1}] end]
        }
    }
    return ""
}

# Every "field:value" of an INFO reply as a dict (section headers dropped).
proc info_dict {info} {
    set d [dict create]
    foreach line [split $info "\r\n"] {
        if {$line eq "" || [string index $line 0] eq "#"} continue
        set i [string first : $line]
        if {$i > 0} {
            dict set d [string range $line 0 [expr {$i - 1}]] [string range $line [expr {$i + 1}] end]
        }
    }
    return $d
}

# Parses "a=1,b=2" (commandstats, keyspace lines) into a dict.
proc info_kv {value} {
    set d [dict create]
    foreach part [split $value ,] {
        set i [string first = $part]
        if {$i > 0} {
            dict set d [string range $part 0 [expr {$i - 1}]] [string range $part [expr {$i + 1}] end]
        }
    }
    return $d
}

# Section names in an INFO reply, lower case, in order.
proc info_sections {info} {
    set out {}
    foreach line [split $info "\r\n"] {
        if {[string match "# *" $line]} { lappend out [string tolower [string range $line 2 end]] }
    }
    return $out
}

proc randstring {len {alphabet abcdefghijklmnopqrstuvwxyz0123456789}} {
    set n [string length $alphabet]
    set s ""
    for {set i 0} {$i < $len} {incr i} {
        append s [string index $alphabet [expr {int(rand() * $n)}]]
    }
    return $s
}

# len random bytes, any value 0..255.
proc randbytes {len} {
    set s ""
    for {set i 0} {$i < $len} {incr i} {
        append s [format %c [expr {int(rand() * 256)}]]
    }
    return $s
}

# Writes n commands with one client in a single pipeline (one write) and reads
# the n replies; returns the list of replies (errors as their text).
proc pipeline_commands {client commands} {
    set buf ""
    foreach cmd $commands { append buf [::resp::encode $cmd] }
    $client write $buf
    set out {}
    foreach cmd $commands {
        if {[catch {$client read} r]} { lappend out $r } else { lappend out $r }
    }
    return $out
}

# Fills the current db with n string keys prefix0..prefix(n-1) via pipelines.
proc populate {n {prefix key:} {value v}} {
    set c [redis_client]
    set batch {}
    for {set i 0} {$i < $n} {incr i} {
        lappend batch [list set $prefix$i $value]
        if {[llength $batch] == 1000} {
            pipeline_commands $c $batch
            set batch {}
        }
    }
    if {[llength $batch]} { pipeline_commands $c $batch }
    $c close
}

# Sleeps ms milliseconds (while letting Tcl flush background output).
proc sleep_ms {ms} {
    after $ms set ::util_sleep_done 1
    vwait ::util_sleep_done
}

# The number of lines of the innermost server's log matching a glob pattern.
proc count_log_lines {pattern} {
    set n 0
    foreach line [split [read_file_text [srv log]] \n] {
        if {[string match $pattern $line]} { incr n }
    }
    return $n
}

# Wraps CLIENT LIST output into a list of dicts, one per client.
proc client_list_dicts {text} {
    set out {}
    foreach line [split [string trim $text] "\n"] {
        set d [dict create]
        foreach kv [split [string trim $line] " "] {
            set i [string first = $kv]
            if {$i > 0} {
                dict set d [string range $kv 0 [expr {$i - 1}]] [string range $kv [expr {$i + 1}] end]
            }
        }
        lappend out $d
    }
    return $out
}

# The CLIENT LIST entry (a dict) of the client with the given id, or {}.
proc client_entry {id} {
    foreach d [client_list_dicts [r client list]] {
        if {[dict get $d id] eq $id} { return $d }
    }
    return {}
}

# The server's RLIMIT_NOFILE as seen by processes started from this harness.
proc fd_limit {} {
    return [string trim [exec sh -c {ulimit -n}]]
}

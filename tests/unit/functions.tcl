# Functions: FUNCTION LOAD [REPLACE] / LIST / DELETE / FLUSH / DUMP /
# RESTORE / STATS / KILL and FCALL / FCALL_RO: library metadata errors,
# registration errors, flags (no-writes, allow-oom), keys and arguments,
# error suffixes, DUMP/RESTORE round trip and policies, FUNCTION KILL of a
# long function. Runs against redis-server 7.0 too.

set ::fn_lib {#!lua name=mylib
redis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='getit', callback=function(keys, args) return redis.call('get', keys[1]) end,
                        flags={'no-writes'}, description='reads a key'}
redis.register_function('echoargs', function(keys, args) return {#keys, #args, keys[1], args[1]} end)
redis.register_function('fail', function(keys, args)
    error('boom')
end)}

start_server {tags {functions}} {
    test "FUNCTION LOAD returns the library name; FCALL runs with keys and args" {
        r function flush
        set out [list [r function load $::fn_lib] [r fcall setit 1 fk fv] [r fcall getit 1 fk]]
        lappend out [r fcall echoargs 2 k1 k2 a1] [r fcall_ro getit 1 fk]
        set out
    } {mylib OK fv {2 1 k1 a1} fv}

    test "FCALL errors: unknown function, numkeys, write function with FCALL_RO, Lua errors" {
        set out {}
        catch {r fcall nosuch 0} e; lappend out $e
        catch {r fcall setit -1} e; lappend out $e
        catch {r fcall setit 3 a} e; lappend out $e
        catch {r fcall_ro setit 1 k v} e; lappend out $e
        catch {r fcall fail 0} e; lappend out $e
        set out
    } {{ERR Function not found} {ERR Number of keys can't be negative} {ERR Number of keys can't be greater than number of args} {ERR Can not execute a script with write flag using *_ro command.} {ERR user_function:7: boom script: fail, on @user_function:7.}}

    test "A no-writes function cannot write" {
        r function load replace "#!lua name=ro\nredis.register_function{function_name='w', callback=function() return redis.call('set', 'x', 1) end, flags={'no-writes'}}"
        catch {r fcall w 0} e
        r function delete ro
        set e
    } {ERR Write commands are not allowed from read-only scripts. script: w, on @user_function:2.}

    test "Library metadata errors" {
        set out {}
        foreach code [list "return 1" "#!lua" "#!lua name=a-b" "#!foo name=x" "#!lua name=x foo=bar" "#!lua name=x\nreturn 1"] {
            catch {r function load $code} e
            lappend out $e
        }
        set out
    } {{ERR Missing library metadata} {ERR Invalid library metadata} {ERR Invalid library metadata} {ERR Invalid library metadata} {ERR Invalid library metadata} {ERR No functions registered}}

    test "Registration errors leave nothing behind" {
        set out {}
        foreach code [list \
            "#!lua name=y\nredis.register_function('h', function() return 1 end)\nredis.register_function('h', function() return 1 end)" \
            "#!lua name=y\nredis.register_function('h-1', function() return 1 end)" \
            "#!lua name=y\nredis.register_function{function_name='h', callback=function() return 1 end, flags={'bad'}}" \
            "#!lua name=y\nredis.call('ping')" \
            "#!lua name=y\nredis.register_function('h')" \
            "#!lua name=y\nredis.register_function('setit', function() return 1 end)" \
            "#!lua name=y\nthis is not lua"] {
            catch {r function load $code} e
            lappend out [string range $e 0 59]
        }
        lappend out [llength [r function list libraryname y]]
        set out
    } {{ERR Error registering functions: ERR Function already exists} {ERR Error registering functions: ERR Library names can only } {ERR Error registering functions: ERR unknown flag given} {ERR Error registering functions: ERR user_function:2: Script} {ERR Error registering functions: ERR calling redis.register_} {ERR Function setit already exists} {ERR Error compiling function: user_function:2: '=' expected } 0}

    test "LOAD of an existing library needs REPLACE; REPLACE swaps its functions" {
        catch {r function load $::fn_lib} e
        set out [list $e]
        lappend out [r function load replace "#!lua name=mylib\nredis.register_function('only', function() return 'new' end)"]
        lappend out [r fcall only 0]
        catch {r fcall setit 1 a b} e; lappend out $e
        lappend out [r function load replace $::fn_lib]
        set out
    } {{ERR Library 'mylib' already exists} mylib new {ERR Function not found} mylib}

    test "FUNCTION LIST: names, flags, descriptions, LIBRARYNAME and WITHCODE" {
        r function load "#!lua name=other\nredis.register_function('o', function() return 1 end)"
        set all [r function list]
        set one [r function list libraryname my* withcode]
        set lib [lindex $one 0]
        set fns {}
        foreach f [dict get $lib functions] { lappend fns [list [dict get $f name] [dict get $f flags] [dict get $f description]] }
        set out [list [llength $all] [dict get $lib library_name] [dict get $lib engine] [lsort $fns] \
            [expr {[dict get $lib library_code] eq $::fn_lib}] [r function list libraryname nomatch]]
        catch {r function list bogus} e; lappend out $e
        r function delete other
        set out
    } {2 mylib LUA {{echoargs {} {}} {fail {} {}} {getit no-writes {reads a key}} {setit {} {}}} 1 {} {ERR Unknown argument bogus}}

    test "FUNCTION DELETE and FUNCTION FLUSH" {
        r function load "#!lua name=tmp\nredis.register_function('t', function() return 1 end)"
        set out [list [r function delete tmp]]
        catch {r function delete tmp} e; lappend out $e
        catch {r fcall t 0} e; lappend out $e
        catch {r function flush bogus} e; lappend out $e
        set out
    } {OK {ERR Library not found} {ERR Function not found} {ERR FUNCTION FLUSH only supports SYNC|ASYNC option}}

    test "FUNCTION DUMP and RESTORE round trip; APPEND, REPLACE and FLUSH policies" {
        set dump [r function dump]
        set out [list [r function flush] [llength [r function list]] [r function restore $dump] [r fcall setit 1 rk rv]]
        catch {r function restore $dump} e; lappend out $e
        catch {r function restore $dump append} e; lappend out $e
        lappend out [r function restore $dump replace] [r function restore $dump flush] [llength [r function list]]
        catch {r function restore garbage} e; lappend out $e
        catch {r function restore $dump bogus} e; lappend out $e
        set out
    } {OK 0 OK OK {ERR Library mylib already exists} {ERR Library mylib already exists} OK OK 1 {ERR DUMP payload version or checksum are wrong} {ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.}}

    test "FUNCTION STATS with nothing running" {
        set s [r function stats]
        list [dict get $s running_script] [dict get [dict get [dict get $s engines] LUA] libraries_count] \
            [dict get [dict get [dict get $s engines] LUA] functions_count]
    } {{} 1 4}

    test "FUNCTION KILL stops a long function; others get the FUNCTION KILL -BUSY wording" {
        r function load replace "#!lua name=slow\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}"
        r config set busy-reply-threshold 100
        set rd [redis_deferring_client]
        $rd fcall_ro spin 0
        set c [redis_client]
        wait_for {[catch {$c ping} busy] && [string match BUSY* $busy]} 10000
        catch {$c ping} e1
        set st [$c function stats]
        catch {$c script kill} e2
        set k [$c function kill]
        catch {$rd read} e3
        $c close
        $rd close
        r config set busy-reply-threshold 5000
        r function delete slow
        set rs [dict get $st running_script]
        list $e1 [dict get $rs name] [dict get $rs command] $e2 $k [string match "*killed by user*" $e3]
    } {{BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.} spin {fcall_ro spin 0} {BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.} OK 1}

    test "A library's top level is stopped after 500 ms" {
        catch {r function load "#!lua name=forever\nwhile true do end"} e
        list $e [r function list libraryname forever] [r ping]
    } {{ERR Error registering functions: ERR FUNCTION LOAD timeout} {} PONG}

    test "INFO memory has the scripting fields" {
        r eval {return 1} 0
        set info [r info memory]
        list [expr {[info_field $info used_memory_lua] > 0}] [expr {[info_field $info number_of_cached_scripts] >= 1}]
    } {1 1}

    test "FUNCTION KILL with nothing running" {
        catch {r function kill} e
        set e
    } {NOTBUSY No scripts in execution right now.}
}

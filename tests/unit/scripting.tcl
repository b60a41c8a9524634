# Lua scripting: EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD EXISTS FLUSH
# KILL; conversions both ways (RESP2 and RESP3), errors and their suffixes,
# redis.call / redis.pcall / error_reply / status_reply / sha1hex / log /
# setresp, the sandbox (no os, io, loadfile...; read-only globals and
# library tables), scripts calling every data type, atomicity, WATCH and
# commandstats seeing inner commands, the time limit with -BUSY, SCRIPT KILL
# from a second client, -UNKILLABLE and SHUTDOWN NOSAVE. Runs against
# redis-server 7.0 too (phenix-only tests are tagged).

start_server {tags {scripting}} {
    test "EVAL returns integers, strings, arrays, nested arrays; floats truncate" {
        list [r eval {return 1} 0] [r eval {return 'x'} 0] [r eval {return {1, 'two', {3, {'four'}}}} 0] \
            [r eval {return 3.99} 0] [r eval {return -3.99} 0]
    } {1 x {1 two {3 four}} 3 -3}

    test "EVAL booleans and nil: true is 1, false and nil are null, arrays stop at nil" {
        list [r eval {return true} 0] [r eval {return false} 0] [r eval {return nil} 0] \
            [r eval {return {1, false, true, nil, 4}} 0]
    } {1 {} {} {1 {} 1}}

    test "EVAL status and error tables, error_reply and status_reply" {
        set out [list [r eval {return {ok='FINE'}} 0] [r eval {return redis.status_reply('GOOD')} 0]]
        catch {r eval {return {err='MY error'}} 0} e; lappend out $e
        catch {r eval {return redis.error_reply('CODE message')} 0} e; lappend out $e
        lappend out [r eval {return redis.error_reply('word').err} 0]
        lappend out [r eval {return {err=5}} 0]
        set out
    } {FINE GOOD {MY error} {CODE message} {ERR word} {}}

    test "Garbage a big script leaves is collected while small scripts run" {
        set sha [r script load {return redis.call('incr', KEYS[1])}]
        r eval {local t = {} for i = 1, 100000 do t[i] = tostring(i) .. 'x' end return 1} 0
        set big [s used_memory_lua]
        set rd [redis_deferring_client]
        for {set i 0} {$i < 10000} {incr i} { $rd evalsha $sha 1 gc:counter }
        for {set i 0} {$i < 10000} {incr i} { $rd read }
        $rd close
        set small [s used_memory_lua]
        r del gc:counter
        assert_morethan $big 4000000
        assert_lessthan $small 1000000
    }

    test "KEYS and ARGV" {
        r eval {return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}} 2 k1 k2 a1 a2
    } {k1 k2 a1 a2 2 2}

    test "COMMAND GETKEYS knows the keys of EVAL, EVALSHA and FCALL" {
        list [r command getkeys eval {return 1} 2 k1 k2 a1] [r command getkeys eval {return 1} 0 a1] \
            [r command getkeys evalsha_ro abc 1 k] [r command getkeys fcall f 1 k a] [r command getkeys eval x 5 k]
    } {{k1 k2} {} k k {}}

    test "numkeys errors" {
        set out {}
        catch {r eval {return 1} -1} e; lappend out $e
        catch {r eval {return 1} 3 a} e; lappend out $e
        catch {r eval {return 1} x} e; lappend out $e
        set out
    } {{ERR Number of keys can't be negative} {ERR Number of keys can't be greater than number of args} {ERR value is not an integer or out of range}}

    test "redis.call on strings, lists, hashes, sets and sorted sets" {
        r flushall
        set script {
            redis.call('set', 's', 'v')
            redis.call('rpush', 'l', 'a', 'b', 'c')
            redis.call('hset', 'h', 'f', '1')
            redis.call('sadd', 'st', 'm')
            redis.call('zadd', 'z', 1.5, 'x', 2, 'y')
            return {redis.call('get', 's'), redis.call('lrange', 'l', 0, -1), redis.call('hgetall', 'h'),
                    redis.call('smembers', 'st'), redis.call('zrange', 'z', 0, -1, 'withscores'),
                    redis.call('incr', 'n'), redis.call('type', 'l').ok, redis.call('exists', 's', 'nope')}
        }
        r eval $script 0
    } {v {a b c} {f 1} m {x 1.5 y 2} 1 list 1}

    test "A missing key is false in Lua (RESP2 rules); an empty array an empty table" {
        r del nokey
        r eval {
            local v = redis.call('get', 'nokey')
            local a = redis.call('lrange', 'nokey', 0, -1)
            return {type(v), tostring(v), type(a), #a}
        } 0
    } {boolean false table 0}

    test "Blocking commands are refused in scripts (noscript), as in Redis 7.0" {
        catch {r eval {return redis.call('blpop', 'nokey', 1)} 0} e
        regsub {[0-9a-f]{40}} $e SHA
    } {ERR This Redis command is not allowed from script script: SHA, on @user_script:1.}

    test "BLMPOP and BZMPOP inside a script do not block" {
        r del nolist nozset bl
        r rpush bl a
        list [r eval {return redis.call('blmpop', 0, 1, 'nolist', 'left')} 0] \
            [r eval {return redis.call('bzmpop', 0, 1, 'nozset', 'min')} 0] \
            [r eval {return redis.call('blmpop', 0, 1, 'bl', 'left')} 0]
    } {{} {} {bl a}}

    test "Numbers become argument strings with Lua's formatting" {
        r eval {redis.call('set', 'num', 1.5); redis.call('set', 'int', 10); return {redis.call('get', 'num'), redis.call('get', 'int')}} 0
    } {1.5 10}

    test "redis.call errors are raised with the script suffix; redis.pcall returns them" {
        r set str x
        set out {}
        catch {r eval {return redis.call('incr', 'str')} 0} e; lappend out [regsub {[0-9a-f]{40}} $e SHA]
        catch {r eval {return redis.pcall('incr', 'str')} 0} e; lappend out $e
        lappend out [r eval {local t = redis.pcall('incr', 'str'); return {type(t), t.err}} 0]
        lappend out [r eval {local ok, e = pcall(redis.call, 'incr', 'str'); return {tostring(ok), type(e), e}} 0]
        set out
    } {{ERR value is not an integer or out of range script: SHA, on @user_script:1.} {ERR value is not an integer or out of range} {table {ERR value is not an integer or out of range}} {false string {ERR value is not an integer or out of range}}}

    test "Errors of redis.call: unknown command, arity, arguments, noscript" {
        set out {}
        foreach s {
            {return redis.call('nosuchcommand')}
            {return redis.call('get')}
            {return redis.call()}
            {return redis.call('get', {})}
            {return redis.call('multi')}
            {return redis.call('eval', 'return 1', 0)}
            {return redis.call('subscribe', 'x')}
        } {
            catch {r eval $s 0} e
            lappend out [regsub { script: [0-9a-f]+, on @user_script:1\.$} $e {}]
        }
        set out
    } {{ERR Unknown Redis command called from script} {ERR Wrong number of args calling Redis command from script} {ERR Please specify at least one argument for this redis lib call} {ERR Lua redis lib command arguments must be strings or integers} {ERR This Redis command is not allowed from script} {ERR This Redis command is not allowed from script} {ERR This Redis command is not allowed from script}}

    test "Lua errors: error(), error tables, the line of the error" {
        set out {}
        catch {r eval {error('boom')} 0} e; lappend out [regsub {[0-9a-f]{40}} $e SHA]
        catch {r eval "local a = 1\nerror({err='MY boom'})" 0} e; lappend out [regsub {[0-9a-f]{40}} $e SHA]
        catch {r eval "local a = 1\n\nreturn redis.call('nosuch')" 0} e; lappend out [regsub {[0-9a-f]{40}} $e SHA]
        set out
    } {{ERR user_script:1: boom script: SHA, on @user_script:1.} {MY boom script: SHA, on @user_script:2.} {ERR Unknown Redis command called from script script: SHA, on @user_script:3.}}

    test "Compile errors" {
        catch {r eval {this is not lua} 0} e
        set e
    } {ERR Error compiling script (new function): user_script:1: '=' expected near 'is'}

    test "Globals protection: writing or reading undeclared globals fails" {
        set out {}
        catch {r eval {a = 10} 0} e; lappend out [string match "ERR user_script:1: Attempt to modify a readonly table script:*" $e]
        catch {r eval {return undeclared} 0} e
        lappend out [string match "ERR user_script:1: Script attempted to access nonexistent global variable 'undeclared' script:*" $e]
        lappend out [r eval {local x = 5; return x} 0]
        set out
    } {1 1 5}

    test "Library tables are read-only: redis, string, math, table" {
        set out {}
        foreach s {{redis.call = nil} {string.x = 1} {math.pi = 3} {table.insert = nil} {rawset(_G, 'x', 1)}} {
            catch {r eval $s 0} e
            lappend out [string match "*Attempt to modify a readonly table*" $e]
        }
        set out
    } {1 1 1 1 1}

    test "The sandbox has no os, io, loadfile, dofile, require, print, getfenv" {
        set out {}
        foreach g {os io loadfile dofile require print getfenv setfenv module package} {
            catch {r eval "return $g" 0} e
            lappend out [string match "*nonexistent global variable '$g'*" $e]
        }
        set out
    } {1 1 1 1 1 1 1 1 1 1}

    test "The sandbox keeps string, table, math, loadstring, pcall, coroutine" {
        r eval {
            local f = loadstring('return 1 + 1')
            local co = coroutine.create(function() coroutine.yield(7) end)
            local _, y = coroutine.resume(co)
            return {string.format('%d-%s', 5, 'x'), table.concat({'a', 'b'}, ','), math.floor(2.7), f(), y,
                    string.rep('ab', 2), select('#', pcall(error, 'x'))}
        } 0
    } {5-x a,b 2 2 7 abab 2}

    tags {phenix-only} {
        test "cjson and bit are available and read-only" {
        set out [list [r eval {return cjson.encode({1, 2, {a = 3}})} 0] [r eval {return cjson.decode('[1,2,"x"]')} 0]]
        lappend out [r eval {return {bit.band(7, 3), bit.bor(1, 4), bit.tohex(255)}} 0]
        catch {r eval {cjson.encode = nil} 0} e
        lappend out [string match "*Attempt to modify a readonly table*" $e]
    } {{[1,2,{"a":3}]} {1 2 x} {3 5 000000ff} 1}

    test "debug keeps only traceback; precompiled chunks are refused" {
            set out [list [r eval {return {type(debug.traceback), type(debug.getinfo), type(debug.getregistry)}} 0]]
            lappend out [r eval {local f, e = loadstring(string.dump(function() return 1 end)); return {type(f), e}} 0]
            set out
        } {{function nil nil} {nil {loading precompiled chunks is not allowed}}}
    }

    test "Returning the globals or a library table replies an empty array" {
        list [r eval {return _G} 0] [r eval {return redis} 0] [r eval {return {_G, 1}} 0] [r ping]
    } {{} {} {{} 1} PONG}

    test "Scripts leave no state for the next one" {
        catch {r eval {x_leak = 1} 0}
        catch {r eval {string.leak = 1} 0}
        list [catch {r eval {return x_leak} 0}] [r eval {return type(string.leak)} 0]
    } {1 nil}

    test "redis.sha1hex, redis.log, redis.REDIS_VERSION" {
        list [r eval {return redis.sha1hex('')} 0] [r eval {return redis.sha1hex('Pizza & Mandolino')} 0] \
            [r eval {redis.log(redis.LOG_WARNING, 'from a script'); return 1} 0] \
            [regexp {^7\.} [r eval {return redis.REDIS_VERSION} 0]]
    } {da39a3ee5e6b4b0d3255bfef95601890afd80709 74822d82031af7493c20eefa13bd07ec4fada82f 1 1}

    test "EVALSHA, SCRIPT LOAD, SCRIPT EXISTS, SCRIPT FLUSH, NOSCRIPT" {
        r script flush
        set sha [r script load {return 'loaded'}]
        set out [list $sha [r evalsha $sha 0] [r evalsha [string toupper $sha] 0]]
        lappend out [r script exists $sha ffffffffffffffffffffffffffffffffffffffff]
        lappend out [r eval {return 'by eval'} 0]
        lappend out [r evalsha [r eval {return redis.sha1hex("return 'by eval'")} 0] 0]
        lappend out [r script flush] [r script exists $sha]
        catch {r evalsha $sha 0} e; lappend out $e
        catch {r evalsha short 0} e; lappend out $e
        catch {r script flush bogus} e; lappend out $e
        set out
    } {b534286061d4b9e4026607613b95c06c06015ae8 loaded loaded {1 0} {by eval} {by eval} OK 0 {NOSCRIPT No matching script. Please use EVAL.} {NOSCRIPT No matching script. Please use EVAL.} {ERR SCRIPT FLUSH only support SYNC|ASYNC option}}

    test "EVAL_RO and EVALSHA_RO refuse writes; reads run" {
        r set ro v
        set out [list [r eval_ro {return redis.call('get', KEYS[1])} 1 ro]]
        catch {r eval_ro {return redis.call('set', 'ro', 'x')} 0} e
        lappend out [regsub { script: .*} $e {}]
        set sha [r script load {return redis.call('del', 'ro')}]
        catch {r evalsha_ro $sha 0} e
        lappend out [regsub { script: .*} $e {}] [r get ro]
        set out
    } {v {ERR Write commands are not allowed from read-only scripts.} {ERR Write commands are not allowed from read-only scripts.} v}

    test "A #!lua flags=no-writes shebang makes EVAL read-only" {
        catch {r eval "#!lua flags=no-writes\nreturn redis.call('set', 'x', 'y')" 0} e
        list [regsub { script: .*} $e {}] [r eval "#!lua flags=no-writes\nreturn redis.call('get', 'ro')" 0]
    } {{ERR Write commands are not allowed from read-only scripts.} v}

    test "SELECT inside a script changes only the script's database" {
        r select 9
        r set dbkey db9
        r select 0
        r set dbkey db0
        set v [r eval {redis.call('select', 9); return redis.call('get', 'dbkey')} 0]
        list $v [r get dbkey]
    } {db9 db0}

    test "RESP2 caller: map, set, double and big-number tables degrade to arrays and bulks" {
        list [r eval {return {map={a=1}}} 0] [r eval {return {set={x=true}}} 0] [r eval {return {double=3.5}} 0]
    } {{a 1} x 3.5}

    test "RESP3 caller: map, set, double, big number, verbatim and booleans" {
        set c [redis_client]
        $c hello 3
        $c readraw 1
        set out {}
        foreach {s lines} {{return {map={a=1}}} 4 {return {set={x=true}}} 3 {return {double=3.5}} 1
                           {return {big_number='123'}} 1 {return true} 1 {return false} 1} {
            $c send eval $s 0
            for {set i 0} {$i < $lines} {incr i} { lappend out [$c read] }
        }
        $c close
        set out
    } {%1 {$1} a :1 ~1 {$1} x ,3.5 (123 :1 _}

    test "redis.setresp(3): RESP3 replies become typed Lua values" {
        r del h3
        r hset h3 a 1
        set s {
            redis.setresp(3)
            local m = redis.call('hgetall', 'h3')
            local n = redis.call('get', 'nokey3')
            local d = redis.call('zincrby', 'z3', 1.5, 'm')
            local b = redis.call('sismember', 'nokey3', 'x')
            return {type(m.map), m.map.a, type(n), type(d), tostring(d.double), b}
        }
        r eval $s 0
    } {table 1 nil table 1.5 0}

    test "redis.setresp refuses other versions" {
        catch {r eval {redis.setresp(4)} 0} e
        regsub { script: .*} $e {}
    } {ERR RESP version must be 2 or 3.}

    test "Inner commands show in commandstats; the script is atomic" {
        r config resetstat
        r eval {for i = 1, 5 do redis.call('set', 'cs', i) end return 1} 0
        set stats [r info commandstats]
        list [regexp {cmdstat_set:calls=5,} $stats] [regexp {cmdstat_eval:calls=1,} $stats] [r get cs]
    } {1 1 5}

    test "A script's write invalidates a WATCH" {
        r set w 1
        set c [redis_client]
        $c watch w
        r eval {redis.call('incr', 'w')} 0
        $c multi
        $c get w
        set res [$c exec]
        $c close
        set res
    } {}

    test "A script's push serves a client blocked on the key" {
        r del wl
        set rd [redis_deferring_client]
        $rd blpop wl 5
        wait_for {[info_field [r info clients] blocked_clients] == 1}
        set v [r eval {return redis.call('lpush', KEYS[1], 'x')} 1 wl]
        set got [$rd read]
        $rd close
        list $v $got
    } {1 {wl x}}

    test "EVAL inside MULTI runs at EXEC" {
        set c [redis_client]
        set out [list [$c multi] [$c eval {return redis.call('incr', 'mx')} 0] [$c exec]]
        $c close
        set out
    } {OK QUEUED 1}

    test "Deny-oom: writes that may grow memory are refused above maxmemory until the script wrote" {
        r set before v
        r config set maxmemory 1
        catch {r eval {return redis.call('set', 'oomkey', 'v')} 0} e
        set out [list [regsub { script: .*} $e {}] [r eval {return redis.call('get', 'before')} 0]]
        lappend out [r eval {return redis.call('del', 'before')} 0]
        catch {r eval "#!lua\nreturn 1" 0} e
        lappend out $e [r eval "#!lua flags=no-writes\nreturn 2" 0] [r eval "#!lua flags=allow-oom\nreturn 3" 0]
        r config set maxmemory 0
        set out
    } {{OOM command not allowed when used memory > 'maxmemory'.} v 1 {OOM command not allowed when used memory > 'maxmemory'.} 2 3}

    test "SCRIPT KILL with no script running" {
        catch {r script kill} e
        set e
    } {NOTBUSY No scripts in execution right now.}

    test "Other clients get -BUSY after busy-reply-threshold; SCRIPT KILL stops the script" {
        r config set busy-reply-threshold 100
        set rd [redis_deferring_client]
        $rd eval {local i = 0 while true do i = i + 1 end} 0
        set c [redis_client]
        wait_for {[catch {$c ping} busy] && [string match BUSY* $busy]} 10000
        catch {$c ping} e1
        catch {$c get x} e2
        set k [$c script kill]
        catch {$rd read} e3
        set p [$c ping]
        $c close
        $rd close
        r config set busy-reply-threshold 5000
        list $e1 $e2 $k [string match "ERR Script killed by user with SCRIPT KILL... script: *" $e3] $p
    } {{BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.} {BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.} OK 1 PONG}

    test "A busy script sees a frozen clock: a key does not expire under it" {
        r config set busy-reply-threshold 50
        r set frozen v px 150
        set rd [redis_deferring_client]
        # runs 400 ms of real time (TIME is the real clock), past the key's TTL,
        # while other clients' input is read between instructions
        $rd eval {
            local before = redis.call('exists', KEYS[1])
            local t0 = redis.call('time')
            repeat
                local t = redis.call('time')
            until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 400000
            return {before, redis.call('exists', KEYS[1]), redis.call('get', KEYS[1])}
        } 1 frozen
        set c [redis_client]
        catch {$c ping}
        $c close
        set res [$rd read]
        $rd close
        r config set busy-reply-threshold 5000
        list $res [r exists frozen]
    } {{1 1 v} 0}

    test "A killed script cannot catch the kill with pcall" {
        r config set lua-time-limit 100
        set rd [redis_deferring_client]
        $rd eval {while true do pcall(function() local i = 0 while true do i = i + 1 end end) end} 0
        set c [redis_client]
        wait_for {[catch {$c ping} busy] && [string match BUSY* $busy]} 10000
        set k [$c script kill]
        catch {$rd read} e
        $c close
        $rd close
        r config set lua-time-limit 5000
        list $k [string match "*killed by user*" $e]
    } {OK 1}

    test "A script that runs under the threshold is atomic: nobody sees its middle" {
        r del atom1 atom2
        set rd [redis_deferring_client]
        $rd eval {redis.call('set', 'atom1', 'a')
                  local i = 0 while i < 3000000 do i = i + 1 end
                  redis.call('set', 'atom2', 'b')
                  return 1} 0
        set seen {}
        wait_for {[llength [set seen [r mget atom1 atom2]]] == 2 && [lindex $seen 0] ne ""}
        $rd read
        $rd close
        set seen
    } {a b}

    test "busy-reply-threshold and lua-time-limit are one setting" {
        r config set lua-time-limit 1234
        set v [r config get busy-reply-threshold]
        r config set busy-reply-threshold 5000
        list $v [r config get lua-time-limit]
    } {{busy-reply-threshold 1234} {lua-time-limit 5000}}
}

start_server {tags {scripting}} {
    test "A script that wrote is UNKILLABLE; SHUTDOWN NOSAVE ends the server" {
        r config set busy-reply-threshold 100
        set rd [redis_deferring_client]
        $rd eval {redis.call('set', 'w', 1) while true do end} 0
        set c [redis_client]
        wait_for {[catch {$c ping} busy] && [string match BUSY* $busy]} 10000
        catch {$c script kill} e
        catch {$c shutdown nosave}
        set status [wait_for_server_exit 5000]
        list $e [expr {$status ne ""}]
    } {{UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.} 1}
}

# Strings: SET (every option), GET GETSET GETDEL GETEX MGET MSET MSETNX SETNX SETEX
# PSETEX APPEND STRLEN INCR DECR INCRBY DECRBY INCRBYFLOAT GETRANGE SETRANGE LCS,
# big and binary-safe values, and every error reply. WRONGTYPE tests need a key
# of another type and create a list (tag needs-list).

start_server {tags {string}} {
    test "SET and GET an item" {
        r set x foobar
        r get x
    } {foobar}

    test "SET and GET an empty item" {
        r set x {}
        list [r get x] [r exists x] [r strlen x]
    } {{} 1 0}

    test "GET of a missing key is nil" {
        r del nokey
        r get nokey
    } {}

    test "SET overwrites a value" {
        r set x a
        r set x b
        r get x
    } {b}

    test "SET NX sets only a missing key" {
        r del x
        list [r set x 1 nx] [r set x 2 nx] [r get x]
    } {OK {} 1}

    test "SET XX sets only an existing key" {
        r del x
        list [r set x 1 xx] [r exists x] [r set x 1] [r set x 2 xx] [r get x]
    } {{} 0 OK OK 2}

    test "SET GET returns the old value" {
        r del x
        list [r set x 1 get] [r set x 2 get] [r get x]
    } {{} 1 2}

    test "SET GET with XX and NX" {
        r del x
        set out [list [r set x a get xx] [r exists x]]
        r set x b
        lappend out [r set x c get xx] [r get x]
        lappend out [r set x d get nx] [r get x]
        r del x
        lappend out [r set x e nx get] [r get x]
    } {{} 0 b c c c {} e}

    test "SET GET with EX keeps the new TTL" {
        r set x old
        list [r set x new ex 100 get] [r get x] [r ttl x]
    } {old new 100}

    test "SET options are case-insensitive and can come in any order" {
        r del x
        list [r set x v Ex 100 Nx] [r ttl x] [r set x w xX pX 200000] [r get x]
    } {OK 100 OK w}

    test "SET syntax errors" {
        set out {}
        foreach args {{v foo} {v nx xx} {v xx nx} {v ex 10 px 10} {v ex} {v keepttl ex 10} {v extra args}} {
            catch {r set x {*}$args} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR syntax error}}

    test "SET: wrong number of arguments" {
        list [catch {r set} e1] $e1 [catch {r set x} e2] $e2
    } {1 {ERR wrong number of arguments for 'set' command} 1 {ERR wrong number of arguments for 'set' command}}

    test "GET: wrong number of arguments" {
        list [catch {r get} e1] $e1 [catch {r get a b} e2] $e2
    } {1 {ERR wrong number of arguments for 'get' command} 1 {ERR wrong number of arguments for 'get' command}}

    test "SETNX against a missing and an existing key" {
        r del x
        list [r setnx x 1] [r setnx x 2] [r get x]
    } {1 0 1}

    test "SETNX does not touch the TTL of an existing key" {
        r set x v ex 100
        r setnx x w
        list [r get x] [r ttl x]
    } {v 100}

    test "SETNX: wrong number of arguments" {
        catch {r setnx x} e
        set e
    } {ERR wrong number of arguments for 'setnx' command}

    test "GETSET sets and returns the old value" {
        r del x
        list [r getset x a] [r getset x b] [r get x]
    } {{} a b}

    test "GETSET removes the TTL" {
        r set x v ex 100
        r getset x w
        r ttl x
    } {-1}

    test "GETSET: wrong number of arguments" {
        catch {r getset x} e
        set e
    } {ERR wrong number of arguments for 'getset' command}

    test "GETDEL returns and deletes" {
        r set x v
        list [r getdel x] [r exists x] [r getdel x]
    } {v 0 {}}

    test "GETDEL: wrong number of arguments" {
        list [catch {r getdel} e] $e [catch {r getdel a b} e2] $e2
    } {1 {ERR wrong number of arguments for 'getdel' command} 1 {ERR wrong number of arguments for 'getdel' command}}

    test "MSET and MGET" {
        r del a b c
        r mset a 1 b 2 c 3
        r mget a b c nokey a
    } {1 2 3 {} 1}

    test "MSET with a repeated key: the last value wins" {
        r mset k 1 k 2 k 3
        r get k
    } {3}

    test "MSET removes TTLs" {
        r set a v ex 100
        r mset a w
        r ttl a
    } {-1}

    test "MSET / MGET: wrong number of arguments" {
        set out {}
        catch {r mset} e; lappend out $e
        catch {r mset a} e; lappend out $e
        catch {r mset a 1 b} e; lappend out $e
        catch {r mget} e; lappend out $e
        set out
    } {{ERR wrong number of arguments for 'mset' command} {ERR wrong number of arguments for 'mset' command} {ERR wrong number of arguments for 'mset' command} {ERR wrong number of arguments for 'mget' command}}

    test "MSETNX sets all keys when none exists" {
        r del m1 m2 m3
        list [r msetnx m1 a m2 b] [r mget m1 m2]
    } {1 {a b}}

    test "MSETNX sets nothing when one key exists" {
        r del m3
        list [r msetnx m3 c m1 z] [r exists m3] [r get m1]
    } {0 0 a}

    test "MSETNX with the same key twice" {
        r del m4
        list [r msetnx m4 a m4 b] [r get m4]
    } {1 b}

    test "MSETNX: wrong number of arguments" {
        list [catch {r msetnx a} e1] $e1 [catch {r msetnx a 1 b} e2] $e2
    } {1 {ERR wrong number of arguments for 'msetnx' command} 1 {ERR wrong number of arguments for 'msetnx' command}}

    test "SETEX / PSETEX set value and TTL" {
        r setex x 100 v
        r psetex y 100000 w
        list [r get x] [r ttl x] [r get y] [r ttl y]
    } {v 100 w 100}

    test "APPEND to a missing key creates it" {
        r del x
        list [r append x hello] [r get x]
    } {5 hello}

    test "APPEND to an existing key" {
        r set x hello
        list [r append x " world"] [r get x]
    } {11 {hello world}}

    test "APPEND to an integer-encoded value" {
        r set x 123
        list [r append x 456] [r get x] [r incr x]
    } {6 123456 123457}

    test "APPEND many times builds the whole string" {
        r del x
        set want ""
        for {set i 0} {$i < 1000} {incr i} {
            set piece [randstring [expr {1 + $i % 7}]]
            r append x $piece
            append want $piece
        }
        expr {[r get x] eq $want}
    } {1}

    test "APPEND: wrong number of arguments" {
        catch {r append x} e
        set e
    } {ERR wrong number of arguments for 'append' command}

    test "STRLEN of strings, integers and missing keys" {
        r set s hello
        r set n -12345
        r del nokey
        list [r strlen s] [r strlen n] [r strlen nokey]
    } {5 6 0}

    test "STRLEN: wrong number of arguments" {
        catch {r strlen} e
        set e
    } {ERR wrong number of arguments for 'strlen' command}
}

start_server {tags {string incr}} {
    test "INCR against a missing key" {
        r del n
        list [r incr n] [r get n]
    } {1 1}

    test "INCR, DECR, INCRBY, DECRBY" {
        r set n 10
        list [r incr n] [r decr n] [r incrby n 5] [r decrby n 3] [r incrby n -20] [r decrby n -2]
    } {11 10 15 12 -8 -6}

    test "DECR against a missing key" {
        r del n
        r decr n
    } {-1}

    test "INCR of a value stored as a string with digits" {
        r set n 0000
        catch {r incr n} e
        r set n 42
        list [r incr n] [r append n 0] [r incr n]
    } {43 3 431}

    test "INCR keeps the TTL" {
        r set n 5 ex 100
        r incr n
        r ttl n
    } {100}

    test "INCR over the 64-bit range" {
        r set big 9223372036854775807
        r set small -9223372036854775808
        set out {}
        catch {r incr big} e; lappend out $e
        catch {r decr small} e; lappend out $e
        catch {r incrby big 1} e; lappend out $e
        catch {r decrby small 1} e; lappend out $e
        lappend out [r get big] [r get small]
    } {{ERR increment or decrement would overflow} {ERR increment or decrement would overflow} {ERR increment or decrement would overflow} {ERR increment or decrement would overflow} 9223372036854775807 -9223372036854775808}

    test "INCR to the exact 64-bit limits" {
        r set n 9223372036854775806
        r set m -9223372036854775807
        list [r incr n] [r decr m]
    } {9223372036854775807 -9223372036854775808}

    test "DECRBY with the most negative decrement" {
        r set n 1
        catch {r decrby n -9223372036854775808} e
        set e
    } {ERR decrement would overflow}

    test "INCR on values that are not integers" {
        set out {}
        foreach v {abc 1.5 { 1} {1 } {} 12a 0x10 99999999999999999999} {
            r set n $v
            catch {r incr n} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR value is not an integer or out of range}}

    test "INCRBY with an increment that is not an integer" {
        r set n 1
        set out {}
        foreach inc {abc 1.5 {} 99999999999999999999} {
            catch {r incrby n $inc} e
            lappend out $e
        }
        lappend out [r get n]
    } {{ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR value is not an integer or out of range} 1}

    test "INCR family: wrong number of arguments" {
        set out {}
        catch {r incr} e; lappend out $e
        catch {r decr a b} e; lappend out $e
        catch {r incrby a} e; lappend out $e
        catch {r decrby a} e; lappend out $e
        catch {r incrbyfloat a} e; lappend out $e
        set out
    } {{ERR wrong number of arguments for 'incr' command} {ERR wrong number of arguments for 'decr' command} {ERR wrong number of arguments for 'incrby' command} {ERR wrong number of arguments for 'decrby' command} {ERR wrong number of arguments for 'incrbyfloat' command}}

    test "INCRBYFLOAT against a missing key" {
        r del f
        r incrbyfloat f 1.5
    } {1.5}

    test "INCRBYFLOAT on integers and floats" {
        r set f 10.50
        set out [list [r incrbyfloat f 0.1] [r incrbyfloat f -5]]
        r set f 5.0e3
        lappend out [r incrbyfloat f 2.0e2] [r incrbyfloat f 0]
        r set f 1.5
        lappend out [r incrbyfloat f 1.1] [r incrbyfloat f 0.25]
    } {10.6 5.6 5200 5200 2.6 2.85}

    test "INCRBYFLOAT result is stored as a string" {
        r set f 3
        r incrbyfloat f 0.5
        list [r get f] [r type f]
    } {3.5 string}

    test "INCRBYFLOAT of a value that is not a float" {
        set out {}
        foreach v {abc {} 1.5x nan} {
            r set f $v
            catch {r incrbyfloat f 1} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR value is not a valid float}}

    test "INCRBYFLOAT with an increment that is not a float" {
        r set f 1
        set out {}
        foreach inc {abc {} nan} {
            catch {r incrbyfloat f $inc} e
            lappend out $e
        }
        lsort -unique $out
    } {{ERR value is not a valid float}}

    test "INCRBYFLOAT that would produce infinity" {
        r set f 1
        set out {}
        catch {r incrbyfloat f inf} e; lappend out $e
        catch {r incrbyfloat f -inf} e; lappend out $e
        r set g inf
        catch {r incrbyfloat g 1} e; lappend out $e
        lappend out [r get f]
    } {{ERR increment would produce NaN or Infinity} {ERR increment would produce NaN or Infinity} {ERR increment would produce NaN or Infinity} 1}

    test "INCRBYFLOAT keeps the TTL" {
        r set f 1 ex 100
        r incrbyfloat f 1
        r ttl f
    } {100}
}

start_server {tags {string range}} {
    test "GETRANGE" {
        r set s "Hello World"
        list [r getrange s 0 4] [r getrange s -5 -1] [r getrange s 6 100] \
             [r getrange s 0 -1] [r getrange s -100 -1] [r getrange s 5 3] \
             [r getrange s 100 200] [r getrange s -1 -5]
    } {Hello World World {Hello World} {Hello World} {} {} {}}

    test "GETRANGE of a missing key" {
        r getrange nokey 0 10
    } {}

    test "GETRANGE of an integer-encoded value" {
        r set n 123456
        list [r getrange n 1 3] [r getrange n -2 -1]
    } {234 56}

    test "GETRANGE with extreme indexes" {
        r set s "Hello World"
        list [r getrange s 9223372036854775807 9223372036854775807] [r getrange s -9223372036854775808 -1]
    } {{} {Hello World}}

    test "GETRANGE errors" {
        set out {}
        catch {r getrange s a b} e; lappend out $e
        catch {r getrange s 0 1.5} e; lappend out $e
        catch {r getrange s 0} e; lappend out $e
        set out
    } {{ERR value is not an integer or out of range} {ERR value is not an integer or out of range} {ERR wrong number of arguments for 'getrange' command}}

    test "SETRANGE overwrites part of a string" {
        r set s "Hello World"
        list [r setrange s 6 Redis] [r get s]
    } {11 {Hello Redis}}

    test "SETRANGE past the end pads with zero bytes" {
        r set s abc
        list [r setrange s 5 X] [r get s]
    } [list 6 "abc\x00\x00X"]

    test "SETRANGE on a missing key" {
        r del s
        list [r setrange s 3 ab] [r get s]
    } [list 5 "\x00\x00\x00ab"]

    test "SETRANGE with an empty value on a missing key creates nothing" {
        r del s
        list [r setrange s 0 {}] [r setrange s 10 {}] [r exists s]
    } {0 0 0}

    test "SETRANGE with an empty value returns the current length" {
        r set s hello
        list [r setrange s 100 {}] [r get s]
    } {5 hello}

    test "SETRANGE on an integer-encoded value" {
        r set n 1234
        list [r setrange n 1 9] [r get n] [r incr n]
    } {4 1934 1935}

    test "SETRANGE with a negative offset" {
        r set s abc
        catch {r setrange s -1 x} e
        set e
    } {ERR offset is out of range}

    test "SETRANGE beyond proto-max-bulk-len" {
        r set s abc
        set out {}
        catch {r setrange s 536870912 x} e; lappend out $e
        catch {r setrange s 536870911 xy} e; lappend out $e
        lappend out [r strlen s]
    } {{ERR string exceeds maximum allowed size (proto-max-bulk-len)} {ERR string exceeds maximum allowed size (proto-max-bulk-len)} 3}

    test "SETRANGE and APPEND honour a smaller proto-max-bulk-len" {
        r config set proto-max-bulk-len 1mb
        r del s
        set out {}
        catch {r setrange s 1048576 x} e; lappend out $e
        lappend out [r setrange s 1048575 x]
        catch {r append s y} e; lappend out $e
        r config set proto-max-bulk-len 512mb
        lappend out [r strlen s]
    } {{ERR string exceeds maximum allowed size (proto-max-bulk-len)} 1048576 {ERR string exceeds maximum allowed size (proto-max-bulk-len)} 1048576}

    test "SETRANGE errors" {
        set out {}
        catch {r setrange s abc x} e; lappend out $e
        catch {r setrange s 1} e; lappend out $e
        set out
    } {{ERR value is not an integer or out of range} {ERR wrong number of arguments for 'setrange' command}}
}

start_server {tags {string lcs}} {
    test "LCS of two strings" {
        r mset key1 ohmytext key2 mynewtext
        r lcs key1 key2
    } {mytext}

    test "LCS LEN" {
        r lcs key1 key2 len
    } {6}

    test "LCS IDX" {
        r lcs key1 key2 idx
    } {matches {{{4 7} {5 8}} {{2 3} {0 1}}} len 6}

    test "LCS IDX MINMATCHLEN" {
        r lcs key1 key2 idx minmatchlen 4
    } {matches {{{4 7} {5 8}}} len 6}

    test "LCS IDX WITHMATCHLEN" {
        r lcs key1 key2 idx withmatchlen
    } {matches {{{4 7} {5 8} 4} {{2 3} {0 1} 2}} len 6}

    test "LCS IDX MINMATCHLEN WITHMATCHLEN" {
        r lcs key1 key2 idx minmatchlen 4 withmatchlen
    } {matches {{{4 7} {5 8} 4}} len 6}

    test "LCS with missing keys counts them as empty strings" {
        list [r lcs key1 nokey] [r lcs nokey nokey2 len]
    } {{} 0}

    test "LCS of longer strings" {
        r set a "the quick brown fox jumps over the lazy dog"
        r set b "a quick brown dog jumps over the lazy fox"
        list [r lcs a b len] [r lcs a b]
    } {36 { quick brown o jumps over the lazy o}}

    test "LCS errors" {
        set out {}
        catch {r lcs key1 key2 len idx} e; lappend out $e
        catch {r lcs key1 key2 foo} e; lappend out $e
        catch {r lcs key1 key2 minmatchlen} e; lappend out $e
        catch {r lcs key1 key2 minmatchlen abc} e; lappend out $e
        catch {r lcs key1} e; lappend out $e
        set out
    } {{ERR If you want both the length and indexes, please just use IDX.} {ERR syntax error} {ERR syntax error} {ERR value is not an integer or out of range} {ERR wrong number of arguments for 'lcs' command}}
}

start_server {tags {string big}} {
    test "SET and GET a 1 MB value" {
        set v [string repeat "0123456789abcdef" 65536]
        r set big $v
        set got [r get big]
        list [string length $got] [expr {$got eq $v}] [r strlen big]
    } {1048576 1 1048576}

    test "Ten 1 MB values with MSET and MGET" {
        set args {}
        for {set i 0} {$i < 10} {incr i} {
            lappend args big:$i [string repeat [format %c [expr {65 + $i}]] 1048576]
        }
        r mset {*}$args
        set ok 0
        set i 0
        foreach v [r mget big:0 big:1 big:2 big:3 big:4 big:5 big:6 big:7 big:8 big:9] {
            if {$v eq [lindex $args [expr {$i * 2 + 1}]]} { incr ok }
            incr i
        }
        set ok
    } {10}

    test "Binary-safe values with NUL, CR and LF" {
        set v "\x00a\r\nb\x00\r\n\x00\xff\xfe"
        r set bin $v
        list [expr {[r get bin] eq $v}] [r strlen bin] [expr {[r getrange bin 1 4] eq "a\r\nb"}]
    } {1 11 1}

    test "Binary-safe keys" {
        set k "key\x00with\r\nnul"
        r set $k v
        list [r get $k] [r exists $k] [r get "key"] [expr {[lsearch -exact [r keys *] $k] >= 0}]
    } {v 1 {} 1}

    test "Random binary values round-trip" {
        set bad 0
        for {set i 0} {$i < 200} {incr i} {
            set v [randbytes [expr {int(rand() * 2000)}]]
            r set rb:$i $v
            if {[r get rb:$i] ne $v} { incr bad }
        }
        set bad
    } {0}

    test "APPEND binary data" {
        r del ab
        r append ab "\x00\x01"
        r append ab "\r\n"
        expr {[r get ab] eq "\x00\x01\r\n"}
    } {1}
}

start_server {tags {string needs-list}} {
    test "String commands against a list: WRONGTYPE" {
        r del l
        r lpush l a
        set out {}
        foreach cmd {{get l} {getset l x} {getdel l} {getex l} {append l x} {strlen l}
                     {incr l} {decr l} {incrby l 1} {decrby l 1} {incrbyfloat l 1}
                     {getrange l 0 1} {setrange l 0 x} {set l x get}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        lsort -unique $out
    } {{WRONGTYPE Operation against a key holding the wrong kind of value}}

    test "SET overwrites a key of another type" {
        r del l
        r lpush l a
        r set l x
        list [r type l] [r get l]
    } {string x}

    test "MGET returns nil for a key of another type" {
        r set s v
        r lpush l2 a
        r mget s l2
    } {v {}}

    test "SETNX and MSETNX against a key of another type do nothing" {
        r del l3
        r lpush l3 a
        list [r setnx l3 x] [r msetnx l3 x other y] [r type l3] [r exists other]
    } {0 0 list 0}

    test "LCS against a key of another type" {
        r set s v
        r lpush l4 a
        catch {r lcs l4 s} e
        set e
    } {ERR The specified keys must contain string values}
}

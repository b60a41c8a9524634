# Pub/sub: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBE forms,
# PUBLISH / SPUBLISH, PUBSUB CHANNELS NUMSUB NUMPAT SHARDCHANNELS
# SHARDNUMSUB; RESP2 subscribed mode (allowed commands, error wording, PING
# shape, RESET), RESP3 push messages, the pubsub output-buffer class,
# CLIENT LIST and INFO fields. Runs against redis-server 7 too.

# Subscribes the deferring client rd and reads the confirmations.
proc psub_subscribe {rd verb args} {
    $rd $verb {*}$args
    set out {}
    foreach _ $args { lappend out [$rd read] }
    return $out
}

start_server {tags {pubsub}} {
    test "SUBSCRIBE replies one confirmation per channel with the running count" {
        set rd [redis_deferring_client]
        set out [psub_subscribe $rd subscribe ch1 ch2 ch1]
        $rd close
        set out
    } {{subscribe ch1 1} {subscribe ch2 2} {subscribe ch1 2}}

    test "PUBLISH delivers message frames and returns the receiver count" {
        set rd1 [redis_deferring_client]
        set rd2 [redis_deferring_client]
        psub_subscribe $rd1 subscribe news
        psub_subscribe $rd2 subscribe news other
        set n [r publish news hello]
        set m1 [$rd1 read]
        set m2 [$rd2 read]
        set n0 [r publish nobody x]
        $rd1 close
        $rd2 close
        list $n $m1 $m2 $n0
    } {2 {message news hello} {message news hello} 0}

    test "PSUBSCRIBE matches glob patterns and delivers pmessage frames" {
        set rd [redis_deferring_client]
        set conf [psub_subscribe $rd psubscribe news.* h?llo {[ab]x}]
        set out [list $conf]
        lappend out [r publish news.sport goal] [$rd read]
        lappend out [r publish hello world] [$rd read]
        lappend out [r publish bx 1] [$rd read]
        lappend out [r publish cx 1] [r publish news 1]
        $rd close
        set out
    } {{{psubscribe news.* 1} {psubscribe h?llo 2} {psubscribe {[ab]x} 3}} 1 {pmessage news.* news.sport goal} 1 {pmessage h?llo hello world} 1 {pmessage {[ab]x} bx 1} 0 0}

    test "A client subscribed to a channel and a matching pattern gets both frames" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe a.b
        psub_subscribe $rd psubscribe a.*
        set n [r publish a.b m]
        set frames [lsort [list [$rd read] [$rd read]]]
        $rd close
        list $n $frames
    } {2 {{message a.b m} {pmessage a.* a.b m}}}

    test "UNSUBSCRIBE of some channels, of all, and with none left" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe a b c
        psub_subscribe $rd psubscribe p*
        set out {}
        $rd unsubscribe a zz
        lappend out [$rd read] [$rd read]
        $rd unsubscribe
        set u1 [$rd read]
        set u2 [$rd read]
        lappend out [lsort [list [lindex $u1 1] [lindex $u2 1]]] [lindex $u1 2] [lindex $u2 2]
        $rd unsubscribe
        lappend out [$rd read]
        $rd punsubscribe
        lappend out [$rd read]
        $rd punsubscribe
        lappend out [$rd read]
        $rd close
        set out
    } {{unsubscribe a 3} {unsubscribe zz 3} {b c} 2 1 {unsubscribe {} 1} {punsubscribe p* 0} {punsubscribe {} 0}}

    test "RESP2 subscribed mode refuses other commands with Redis's wording" {
        set c [redis_client]
        $c subscribe x
        catch {$c get foo} e1
        catch {$c set foo bar} e2
        $c close
        list $e1 $e2
    } {{ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context} {ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context}}

    test "PING in RESP2 subscribed mode replies \[pong, message\]" {
        set c [redis_client]
        $c subscribe x
        set out [list [$c ping] [$c ping hi]]
        $c unsubscribe x
        lappend out [$c ping]
        $c close
        set out
    } {{pong {}} {pong hi} PONG}

    test "RESET leaves subscribed mode and drops every subscription" {
        set c [redis_deferring_client]
        psub_subscribe $c subscribe x y
        psub_subscribe $c psubscribe p*
        psub_subscribe $c ssubscribe s
        set out {}
        foreach cmd {reset {set k v} {get k}} {
            $c {*}$cmd
            lappend out [$c read]
        }
        lappend out [r pubsub numsub x y] [r pubsub numpat] [r pubsub shardnumsub s]
        $c close
        set out
    } {RESET OK v {x 0 y 0} 0 {s 0}}

    test "A closed subscriber leaves no subscription behind" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe gone
        psub_subscribe $rd psubscribe gone*
        set before [list [r pubsub numsub gone] [r pubsub numpat]]
        $rd close
        wait_for {[lindex [r pubsub numsub gone] 1] == 0}
        list $before [r pubsub numsub gone] [r pubsub numpat] [r publish gone x]
    } {{{gone 1} 1} {gone 0} 0 0}

    test "PUBSUB CHANNELS with and without a pattern, NUMSUB, NUMPAT" {
        set rd1 [redis_deferring_client]
        set rd2 [redis_deferring_client]
        psub_subscribe $rd1 subscribe c.one c.two other
        psub_subscribe $rd2 subscribe c.one
        psub_subscribe $rd2 psubscribe x* y* x*
        set out [list [lsort [r pubsub channels]] [lsort [r pubsub channels c.*]] [r pubsub channels nomatch*]]
        lappend out [r pubsub numsub c.one c.two none] [r pubsub numsub] [r pubsub numpat]
        $rd1 close
        $rd2 close
        set out
    } {{c.one c.two other} {c.one c.two} {} {c.one 2 c.two 1 none 0} {} 2}

    test "SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE and the shard PUBSUB subcommands" {
        set rd [redis_deferring_client]
        set out [list [psub_subscribe $rd ssubscribe s1 s2]]
        lappend out [r spublish s1 hi] [$rd read] [r publish s1 plain]
        lappend out [lsort [r pubsub shardchannels]] [r pubsub shardchannels s1] [r pubsub shardnumsub s1 s3]
        lappend out [r pubsub channels s*]
        $rd sunsubscribe s1
        lappend out [$rd read]
        $rd sunsubscribe
        lappend out [$rd read]
        $rd close
        set out
    } {{{ssubscribe s1 1} {ssubscribe s2 2}} 1 {smessage s1 hi} 0 {s1 s2} s1 {s1 1 s3 0} {} {sunsubscribe s1 1} {sunsubscribe s2 0}}

    test "Pub/sub arity errors" {
        set out {}
        foreach cmd {{subscribe} {psubscribe} {ssubscribe} {publish a} {spublish a} {pubsub numpat x}} {
            catch {r {*}$cmd} e
            lappend out $e
        }
        set out
    } {{ERR wrong number of arguments for 'subscribe' command} {ERR wrong number of arguments for 'psubscribe' command} {ERR wrong number of arguments for 'ssubscribe' command} {ERR wrong number of arguments for 'publish' command} {ERR wrong number of arguments for 'spublish' command} {ERR wrong number of arguments for 'pubsub|numpat' command}}

    test "RESP3: confirmations and messages are push frames; other commands run" {
        set c [redis_client]
        $c hello 3
        set out [list [$c subscribe r3] [$c set k3 v] [$c get k3] [$c ping]]
        r publish r3 payload
        $c readraw 1
        for {set i 0} {$i < 7} {incr i} { lappend out [$c read] }
        $c readraw 0
        lappend out [$c unsubscribe r3]
        $c close
        set out
    } {{subscribe r3 1} OK v PONG >3 {$7} message {$2} r3 {$7} payload {unsubscribe r3 0}}

    test "RESP3 subscribe replies are pushes, RESP2 ones arrays" {
        set c [redis_client]
        $c readraw 1
        $c send subscribe raw2
        set a [$c read]
        $c close
        set c [redis_client]
        $c hello 3
        $c readraw 1
        $c send subscribe raw3
        set b [$c read]
        $c close
        list $a $b
    } {*3 >3}

    test "CLIENT LIST shows sub psub ssub counts and the P flag; TYPE pubsub filters" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe l1 l2
        psub_subscribe $rd psubscribe l*
        psub_subscribe $rd ssubscribe ls
        set list [r client list type pubsub]
        set lines [split [string trim $list] "\n"]
        set line [lindex $lines 0]
        set fields {}
        foreach kv [split $line " "] {
            set i [string first = $kv]
            dict set fields [string range $kv 0 [expr {$i - 1}]] [string range $kv [expr {$i + 1}] end]
        }
        set normal [r client list type normal]
        $rd close
        list [llength $lines] [dict get $fields sub] [dict get $fields psub] [dict get $fields ssub] \
            [string match *P* [dict get $fields flags]] [string match "*sub=2*" $normal]
    } {1 2 1 1 1 0}

    test "INFO counts channels and patterns in use" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe i1 i2
        psub_subscribe $rd psubscribe i*
        set info [r info stats]
        $rd close
        list [info_field $info pubsub_channels] [info_field $info pubsub_patterns]
    } {2 1}

    test "A subscriber over the pubsub output-buffer limit is disconnected" {
        r config set client-output-buffer-limit "pubsub 100kb 0 0"
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe flood
        set big [string repeat x 100000]
        # the subscriber never reads: once the socket buffers are full the
        # replies queue in the server until the limit closes the client
        for {set i 0} {$i < 1000 && [lindex [r pubsub numsub flood] 1] > 0} {incr i} {
            r publish flood $big
        }
        r config set client-output-buffer-limit "pubsub 32mb 8mb 60"
        list [r pubsub numsub flood] [$rd wait_close 5000]
    } {{flood 0} 1}

    test "PUBLISH inside MULTI is queued and delivered at EXEC" {
        set rd [redis_deferring_client]
        psub_subscribe $rd subscribe tx
        set c [redis_client]
        set out [list [$c multi] [$c publish tx one] [$c publish tx two] [$c exec]]
        lappend out [$rd read] [$rd read]
        $c close
        $rd close
        set out
    } {OK QUEUED QUEUED {1 1} {message tx one} {message tx two}}
}

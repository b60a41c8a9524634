# Authentication: AUTH without a configured password, requirepass, NOAUTH before
# authentication, WRONGPASS, HELLO AUTH, RESET dropping authentication, the
# stricter protocol limits for unauthenticated clients, CONFIG SET requirepass.

start_server {tags {auth}} {
    test "AUTH with a password when none is configured" {
        catch {r auth foo} e
        set e
    } {ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?}

    test "AUTH default <anything> succeeds when the default user has no password" {
        r auth default anything
    } {OK}

    test "AUTH with too many arguments" {
        set out {}
        catch {r auth a b c} e; lappend out $e
        catch {r auth} e; lappend out $e
        set out
    } {{ERR syntax error} {ERR wrong number of arguments for 'auth' command}}

    test "Commands work without AUTH when no password is configured" {
        r set open yes
        r get open
    } {yes}
}

start_server {tags {auth} overrides {requirepass secret}} {
    test "Commands before AUTH get NOAUTH" {
        set c [redis_client]
        set out {}
        foreach cmd {{ping} {get x} {set x y} {client id} {echo x} {config get maxmemory}} {
            catch {$c {*}$cmd} e
            lappend out $e
        }
        $c close
        lsort -unique $out
    } {{NOAUTH Authentication required.}}

    test "An unknown command before AUTH is still an unknown command" {
        set c [redis_client]
        catch {$c nosuchcommand} e
        $c close
        set e
    } {ERR unknown command 'nosuchcommand', with args beginning with: }

    test "AUTH with a wrong password" {
        set c [redis_client]
        set out {}
        catch {$c auth wrong} e; lappend out $e
        catch {$c auth default wrong} e; lappend out $e
        catch {$c auth nouser secret} e; lappend out $e
        catch {$c ping} e; lappend out $e
        $c close
        set out
    } {{WRONGPASS invalid username-password pair or user is disabled.} {WRONGPASS invalid username-password pair or user is disabled.} {WRONGPASS invalid username-password pair or user is disabled.} {NOAUTH Authentication required.}}

    test "AUTH <password> then commands work" {
        set c [redis_client]
        set res [$c auth secret]
        $c set k v
        set v [$c get k]
        $c close
        list $res $v
    } {OK v}

    test "AUTH default <password>" {
        set c [redis_client]
        set res [$c auth default secret]
        set pong [$c ping]
        $c close
        list $res $pong
    } {OK PONG}

    test "QUIT and AUTH itself work before authentication" {
        set c [redis_client]
        catch {$c auth bad} e
        $c send quit
        set out [$c read_until_eof 2000]
        $c close
        set out
    } "+OK\r\n"

    # Redis 7.0 says "HELLO AUTH <user> <pass>", Redis 7.2 "HELLO <proto> AUTH <user> <pass>".
    test "HELLO before AUTH is refused" {
        set c [redis_client]
        catch {$c hello 3} e
        $c close
        set e [string map {"HELLO <proto> AUTH" "HELLO AUTH"} $e]
    } {NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time}

    test "HELLO 3 AUTH with the right password authenticates and switches protocol" {
        set c [redis_client]
        set h [$c hello 3 auth default secret]
        set pong [$c ping]
        set resp [dict get [lindex [client_list_dicts [$c client info]] 0] resp]
        $c close
        list [dict get $h proto] $pong $resp
    } {3 PONG 3}

    test "HELLO 2 AUTH SETNAME" {
        set c [redis_client]
        set h [$c hello 2 auth default secret setname authed]
        set name [$c client getname]
        $c close
        list [dict get $h proto] $name
    } {2 authed}

    test "HELLO AUTH with a wrong password" {
        set c [redis_client]
        catch {$c hello 3 auth default wrong} e
        catch {$c ping} e2
        $c close
        list $e $e2
    } {{WRONGPASS invalid username-password pair or user is disabled.} {NOAUTH Authentication required.}}

    test "RESET drops the authentication" {
        set c [redis_client]
        $c auth secret
        $c reset
        catch {$c ping} e
        $c close
        set e
    } {NOAUTH Authentication required.}

    test "Unauthenticated clients: multibulk length above 10 is a protocol error" {
        set c [redis_client]
        $c write "*11\r\n"
        set out [$c read_until_eof 3000]
        $c close
        set out
    } "-ERR Protocol error: unauthenticated multibulk length\r\n"

    test "Unauthenticated clients: bulk length above 16384 is a protocol error" {
        set c [redis_client]
        $c write "*2\r\n\$4\r\nECHO\r\n\$16385\r\n"
        set out [$c read_until_eof 3000]
        $c close
        set out
    } "-ERR Protocol error: unauthenticated bulk length\r\n"

    test "Authenticated clients are not limited" {
        set c [redis_client]
        $c auth secret
        set v [string repeat x 20000]
        $c set big $v
        set args {}
        for {set i 0} {$i < 20} {incr i} { lappend args k$i v$i }
        $c mset {*}$args
        set res [list [expr {[$c get big] eq $v}] [$c get k19]]
        $c close
        set res
    } {1 v19}

    test "CONFIG SET requirepass at run time" {
        set c [redis_client]
        $c auth secret
        $c config set requirepass newpass
        set still [$c ping]
        set d [redis_client]
        catch {$d ping} e1
        catch {$d auth secret} e2
        set ok [$d auth newpass]
        $c config set requirepass ""
        set open [redis_client]
        set pong [$open ping]
        $c config set requirepass secret
        $open close
        $d close
        $c close
        list $still $e1 $e2 $ok $pong
    } {PONG {NOAUTH Authentication required.} {WRONGPASS invalid username-password pair or user is disabled.} OK PONG}

    test "INFO counts rejected authentications in errorstats" {
        set c [redis_client]
        $c auth secret
        $c config resetstat
        catch {$c auth wrong}
        set v [info_field [$c info errorstats] errorstat_WRONGPASS]
        $c close
        set v
    } {count=1}
}

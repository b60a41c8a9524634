"""tests/clients/python/test_redis_py.py -- redis-py (Debian's python3-redis) against a server.

Environment: PHENIX_HOST, PHENIX_PORT (set by tests/clients/run.sh). Run with Debian's
/usr/bin/python3. Covers connection commands, strings, keys, expiry, non-transactional
pipelines, transactions (MULTI/EXEC pipelines, WATCH retries), Lua scripts (register_script's
EVALSHA with EVAL fallback, in a transaction too), pub/sub, error replies, CLIENT
SETNAME/GETNAME/LIST/INFO/ID, SCAN iteration, database selection, binary safety and INFO parsing. RESP3 (protocol=3) is tested when the installed
redis-py supports it (5.0 and later); Debian 12 ships 4.3.4, which is RESP2 only.
Prints one line per check and ends with "N passed, N failed".
"""

import os
import sys
import time
import traceback

try:
    import redis
except ImportError as e:
    print(f"FAIL: cannot import redis ({e}); install Debian's python3-redis "
          f"(deps/install.sh) and run with /usr/bin/python3 (this is {sys.executable})")
    print("0 passed, 1 failed")
    sys.exit(1)

HOST = os.environ.get("PHENIX_HOST", "127.0.0.1")
PORT = int(os.environ["PHENIX_PORT"])
PREFIX = "py:"

passed = 0
failed = 0
TESTS = []


def test(fn):
    """Register a test function; it passes when it returns without raising."""
    TESTS.append(fn)
    return fn


def expect_error(fn, *args, match="", **kwargs):
    """Call fn and require a ResponseError whose text starts with match."""
    try:
        fn(*args, **kwargs)
    except redis.ResponseError as e:
        assert str(e).startswith(match), f"error {str(e)!r} does not start with {match!r}"
        return str(e)
    raise AssertionError(f"{fn.__name__}{args} did not fail")


def version_tuple(v):
    return tuple(int(x) for x in v.split(".")[:3] if x.isdigit())


def client(**kwargs):
    return redis.Redis(host=HOST, port=PORT, socket_timeout=5, socket_connect_timeout=5, **kwargs)


r = client()
rs = client(decode_responses=True)


@test
def ping_echo():
    assert r.ping() is True
    assert r.echo("hello") == b"hello"
    assert rs.echo("héllo") == "héllo"


@test
def strings_set_get():
    assert r.set(PREFIX + "s", "v1") is True
    assert r.get(PREFIX + "s") == b"v1"
    assert r.get(PREFIX + "missing") is None
    assert r.set(PREFIX + "s", "v2", nx=True) is None
    assert r.set(PREFIX + "s", "v2", xx=True) is True
    assert r.set(PREFIX + "new", "x", xx=True) is None
    assert r.set(PREFIX + "s", "v3", get=True) == b"v2"
    assert r.getset(PREFIX + "s", "v4") == b"v3"
    assert r.getdel(PREFIX + "s") == b"v4"
    assert r.exists(PREFIX + "s") == 0


@test
def strings_multi():
    assert r.mset({PREFIX + "a": "1", PREFIX + "b": "2"}) is True
    assert r.mget([PREFIX + "a", PREFIX + "b", PREFIX + "missing"]) == [b"1", b"2", None]
    assert r.msetnx({PREFIX + "a": "9", PREFIX + "c": "3"}) is False
    assert r.get(PREFIX + "c") is None
    assert r.msetnx({PREFIX + "c": "3", PREFIX + "d": "4"}) is True
    assert r.setnx(PREFIX + "a", "x") is False
    assert r.setnx(PREFIX + "e", "x") is True


@test
def strings_counters():
    assert r.incr(PREFIX + "n") == 1
    assert r.incrby(PREFIX + "n", 41) == 42
    assert r.decr(PREFIX + "n") == 41
    assert r.decrby(PREFIX + "n", 40) == 1
    assert r.incrbyfloat(PREFIX + "f", 1.5) == 1.5
    assert r.incrbyfloat(PREFIX + "f", "0.25") == 1.75
    assert r.set(PREFIX + "big", str(2**63 - 1))
    expect_error(r.incr, PREFIX + "big", match="increment or decrement would overflow")


@test
def strings_ranges():
    r.set(PREFIX + "r", "Hello World")
    assert r.append(PREFIX + "r", "!") == 12
    assert r.strlen(PREFIX + "r") == 12
    assert r.getrange(PREFIX + "r", 0, 4) == b"Hello"
    assert r.getrange(PREFIX + "r", -6, -1) == b"World!"
    assert r.setrange(PREFIX + "r", 6, "Redis") == 12
    assert r.get(PREFIX + "r") == b"Hello Redis!"
    assert r.setrange(PREFIX + "pad", 3, "x") == 4
    assert r.get(PREFIX + "pad") == b"\x00\x00\x00x"
    r.mset({PREFIX + "l1": "ohmytext", PREFIX + "l2": "mynewtext"})
    assert r.execute_command("LCS", PREFIX + "l1", PREFIX + "l2") == b"mytext"
    assert r.execute_command("LCS", PREFIX + "l1", PREFIX + "l2", "LEN") == 6


@test
def strings_binary_and_large():
    blob = bytes(range(256)) * 4 + b"\r\n\x00end"
    r.set(PREFIX + "bin", blob)
    assert r.get(PREFIX + "bin") == blob
    big = os.urandom(1 << 20)
    r.set(PREFIX + "big1m", big)
    assert r.get(PREFIX + "big1m") == big
    assert r.strlen(PREFIX + "big1m") == 1 << 20
    rs.set(PREFIX + "uni", "héllo wörld ✓")
    assert rs.get(PREFIX + "uni") == "héllo wörld ✓"


@test
def keys_commands():
    r.mset({PREFIX + "k1": "1", PREFIX + "k2": "2"})
    assert r.exists(PREFIX + "k1", PREFIX + "k2", PREFIX + "missing") == 2
    assert r.type(PREFIX + "k1") == b"string"
    assert r.type(PREFIX + "missing") == b"none"
    assert r.rename(PREFIX + "k1", PREFIX + "k3") is True
    assert r.renamenx(PREFIX + "k3", PREFIX + "k2") is False
    expect_error(r.rename, PREFIX + "missing", PREFIX + "x", match="no such key")
    assert r.copy(PREFIX + "k3", PREFIX + "k4") is True
    assert r.copy(PREFIX + "k3", PREFIX + "k4") is False
    assert r.copy(PREFIX + "k3", PREFIX + "k4", replace=True) is True
    assert r.touch(PREFIX + "k3", PREFIX + "k4", PREFIX + "missing") == 2
    assert r.delete(PREFIX + "k3", PREFIX + "missing") == 1
    assert r.unlink(PREFIX + "k4") == 1
    assert sorted(r.keys(PREFIX + "k*")) == [PREFIX.encode() + b"k2"]
    assert r.randomkey() is not None
    assert r.object("encoding", PREFIX + "k2") in (b"int", b"embstr", b"raw")
    assert r.object("refcount", PREFIX + "k2") >= 1
    assert r.object("idletime", PREFIX + "k2") >= 0


@test
def keys_move_and_select():
    r1 = client(db=1)
    r1.delete(PREFIX + "mv")
    r.set(PREFIX + "mv", "x")
    assert r.move(PREFIX + "mv", 1) is True
    assert r.exists(PREFIX + "mv") == 0
    assert r1.get(PREFIX + "mv") == b"x"
    expect_error(r.execute_command, "SELECT", 99999, match="DB index is out of range")
    r1.close()


@test
def expiry():
    r.set(PREFIX + "e1", "v", ex=100)
    assert 99 <= r.ttl(PREFIX + "e1") <= 100
    assert 99000 <= r.pttl(PREFIX + "e1") <= 100000
    r.set(PREFIX + "e2", "v", px=100000)
    assert 99 <= r.ttl(PREFIX + "e2") <= 100
    assert r.persist(PREFIX + "e2") is True
    assert r.ttl(PREFIX + "e2") == -1
    assert r.ttl(PREFIX + "missing") == -2
    assert r.expire(PREFIX + "e2", 50) is True
    assert r.expire(PREFIX + "e2", 100, nx=True) is False
    assert r.expire(PREFIX + "e2", 100, gt=True) is True
    assert r.expire(PREFIX + "e2", 10, lt=True) is True
    assert r.ttl(PREFIX + "e2") <= 10
    at = int(time.time()) + 1000
    assert r.expireat(PREFIX + "e2", at) is True
    assert r.execute_command("EXPIRETIME", PREFIX + "e2") == at
    assert r.execute_command("PEXPIRETIME", PREFIX + "e2") == at * 1000
    assert r.pexpire(PREFIX + "e2", 200000) is True
    assert r.getex(PREFIX + "e2", persist=True) == b"v"
    assert r.ttl(PREFIX + "e2") == -1
    r.set(PREFIX + "e3", "v", px=100)
    time.sleep(0.3)
    assert r.get(PREFIX + "e3") is None
    assert r.exists(PREFIX + "e3") == 0
    r.set(PREFIX + "e4", "v", ex=100)
    r.set(PREFIX + "e4", "w", keepttl=True)
    assert r.ttl(PREFIX + "e4") > 0
    r.set(PREFIX + "e4", "x")
    assert r.ttl(PREFIX + "e4") == -1
    r.setex(PREFIX + "e5", 100, "v")
    r.psetex(PREFIX + "e6", 100000, "v")
    assert r.ttl(PREFIX + "e5") > 0 and r.ttl(PREFIX + "e6") > 0
    expect_error(r.set, PREFIX + "e7", "v", ex=0, match="invalid expire time in 'set' command")


@test
def pipeline_without_transaction():
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"{PREFIX}p:{i}", i)
    for i in range(1000):
        p.get(f"{PREFIX}p:{i}")
    res = p.execute()
    assert res[:1000] == [True] * 1000
    assert res[1000:] == [str(i).encode() for i in range(1000)]


@test
def pipeline_with_error_inside():
    p = r.pipeline(transaction=False)
    p.set(PREFIX + "pe", "abc")
    p.incr(PREFIX + "pe")
    p.get(PREFIX + "pe")
    res = p.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert res[2] == b"abc"


@test
def errors():
    expect_error(r.execute_command, "NOSUCHCMD", "a",
                 match="unknown command 'NOSUCHCMD', with args beginning with: 'a'")
    expect_error(r.execute_command, "GET", match="wrong number of arguments for 'get' command")
    r.set(PREFIX + "str", "abc")
    expect_error(r.incr, PREFIX + "str", match="value is not an integer or out of range")
    expect_error(r.incrbyfloat, PREFIX + "str", 1, match="value is not a valid float")
    expect_error(r.execute_command, "SET", PREFIX + "x", "v", "NX", "XX", match="syntax error")
    expect_error(r.execute_command, "AUTH", "nopass", match="AUTH <password> called without any password")
    assert r.ping() is True


@test
def client_commands():
    c = client(client_name="py-compat")
    assert c.client_getname() == "py-compat"  # redis-py decodes this reply
    assert c.client_setname("py-renamed") is True
    assert c.client_getname() == "py-renamed"
    cid = c.client_id()
    assert isinstance(cid, int) and cid > 0
    info = c.client_info()
    assert info["id"] == cid and info["name"] == "py-renamed"
    names = [cl["name"] for cl in r.client_list()]
    assert "py-renamed" in names, names
    ids = [int(cl["id"]) for cl in r.client_list(client_id=[str(cid)])]
    assert ids == [cid]
    expect_error(c.client_setname, "has space", match="Client names cannot contain spaces")
    c.close()


@test
def client_kill():
    victim = client(client_name="py-victim")
    vid = victim.client_id()
    assert r.client_kill_filter(_id=vid) == 1
    time.sleep(0.1)
    assert all(int(cl["id"]) != vid for cl in r.client_list())


@test
def hello_and_reset():
    reply = r.execute_command("HELLO", "2")
    fields = dict(zip(reply[::2], reply[1::2]))
    assert fields[b"proto"] == 2
    for key in (b"server", b"version", b"id", b"mode", b"role", b"modules"):
        assert key in fields, key
    expect_error(r.execute_command, "HELLO", "4", match="NOPROTO")
    c = client()
    c.execute_command("SELECT", 2)
    assert c.execute_command("RESET") == "RESET"  # decoded by redis-py
    assert c.client_info()["db"] == 0
    c.close()


@test
def resp3_protocol():
    if version_tuple(redis.__version__) < (5, 0):
        print(f"  note: redis-py {redis.__version__} has no RESP3; protocol=3 not tested")
        return
    c = redis.Redis(host=HOST, port=PORT, protocol=3, decode_responses=True)
    assert c.ping() is True
    c.set(PREFIX + "r3", "v")
    assert c.get(PREFIX + "r3") == "v"
    assert c.config_get("port") == {"port": str(PORT)}
    assert c.client_info()["resp"] == "3"
    c.close()


@test
def scan_iteration():
    keys = {f"{PREFIX}scan:{i}" for i in range(2000)}
    p = r.pipeline(transaction=False)
    for k in keys:
        p.set(k, "1")
    p.execute()
    seen = set(rs.scan_iter(match=PREFIX + "scan:*", count=100))
    assert seen == keys, f"{len(seen)} of {len(keys)}"
    cursor, batch = r.scan(0, match=PREFIX + "scan:1*", count=10)
    assert isinstance(cursor, int)
    total = set(x.decode() for x in batch)
    while cursor != 0:
        cursor, batch = r.scan(cursor, match=PREFIX + "scan:1*", count=10)
        total |= set(x.decode() for x in batch)
    assert total == {k for k in keys if k.startswith(PREFIX + "scan:1")}
    typed = set(rs.scan_iter(match=PREFIX + "scan:*", _type="string"))
    assert typed == keys
    expect_error(r.scan, "notanumber", match="invalid cursor")


@test
def server_commands():
    assert r.dbsize() > 0
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1000000
    info = r.info()
    assert info["tcp_port"] == PORT
    assert "redis_version" in info and "connected_clients" in info
    assert "used_memory" in r.info("memory")
    assert r.info("persistence")["loading"] == 0
    assert r.config_get("port") == {"port": str(PORT)}
    assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert r.config_set("hz", 20) is True
    assert r.config_get("hz") == {"hz": "20"}
    r.config_set("hz", 10)
    expect_error(r.config_set, "no-such-directive", "1", match="Unknown option or number of arguments")
    assert isinstance(r.slowlog_get(), list)
    assert isinstance(r.memory_usage(PREFIX + "big1m"), int)
    assert r.command_count() > 0


@test
def flushdb_scopes_to_one_database():
    r2 = client(db=2)
    r2.set(PREFIX + "db2", "x")
    assert r2.flushdb() is True
    assert r2.dbsize() == 0
    assert r.dbsize() > 0
    r2.close()


@test
def pipeline_with_transaction():
    p = r.pipeline(transaction=True)
    p.set(PREFIX + "tx", 1)
    p.incr(PREFIX + "tx")
    p.lpush(PREFIX + "txl", "a", "b")
    assert p.execute() == [True, 2, 2]


@test
def transaction_with_watch_retries():
    r.set(PREFIX + "w", 10)
    attempts = []

    def bump(pipe):
        attempts.append(1)
        v = int(pipe.get(PREFIX + "w"))
        if len(attempts) == 1:
            rs.set(PREFIX + "w", 100)  # another client changes the watched key
        pipe.multi()
        pipe.set(PREFIX + "w", v + 1)

    r.transaction(bump, PREFIX + "w")
    assert len(attempts) == 2 and r.get(PREFIX + "w") == b"101"


@test
def lua_scripts():
    script = r.register_script("return {KEYS[1], ARGV[1], redis.call('incr', KEYS[1])}")
    r.script_flush()
    assert script(keys=[PREFIX + "lua"], args=["a"]) == [PREFIX.encode() + b"lua", b"a", 1]
    assert script(keys=[PREFIX + "lua"], args=["b"]) == [PREFIX.encode() + b"lua", b"b", 2]
    assert r.script_exists(script.sha) == [True]
    assert r.eval("return redis.call('get', KEYS[1])", 1, PREFIX + "lua") == b"2"
    expect_error(r.eval, "return redis.call('nosuch')", 0, match="Unknown Redis command called from script")
    p = r.pipeline(transaction=True)
    script(keys=[PREFIX + "lua"], args=["c"], client=p)
    p.get(PREFIX + "lua")
    assert p.execute() == [[PREFIX.encode() + b"lua", b"c", 3], b"3"]


@test
def pubsub_messages():
    ps = rs.pubsub()
    ps.subscribe(PREFIX + "chan")
    ps.psubscribe(PREFIX + "pat*")
    deadline = time.time() + 5
    confirmations = []
    while len(confirmations) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=1)
        if m:
            confirmations.append(m["type"])
    assert confirmations == ["subscribe", "psubscribe"]
    assert r.publish(PREFIX + "chan", "hello") == 1
    assert r.publish(PREFIX + "pattern", "world") == 1
    got = []
    while len(got) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=1)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    assert got == [("message", PREFIX + "chan", "hello"), ("pmessage", PREFIX + "pattern", "world")]
    assert rs.pubsub_numsub(PREFIX + "chan") == [(PREFIX + "chan", 1)]
    ps.close()


def main():
    global passed, failed
    print(f"# redis-py {redis.__version__} on Python {sys.version.split()[0]} ({sys.executable})")
    r.flushall()
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"[ok] {fn.__name__}")
        except Exception:
            failed += 1
            print(f"[err] {fn.__name__}")
            traceback.print_exc(limit=3, file=sys.stdout)
    r.flushall()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

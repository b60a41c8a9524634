#!/usr/bin/python3
"""utils/bench_memory.py -- memory per key, Phenix next to Debian's redis-server.

Usage: utils/bench_memory.py [N]     (utils/bench.sh runs it last; N defaults to 1,000,000)

For each of five value kinds (a small string; a hash, a set, a sorted set and a list of
three small elements), loads N keys into an empty server through pipelines, waits for
incremental rehashing to settle, and prints INFO used_memory growth per key for both
servers and the Phenix/Redis ratio. Both servers run with no persistence, pinned to CPU
0 when there are 2+ CPUs. The goal (issue "Redis data types"): ratio <= 1.00.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
PHENIX = os.environ.get("PHENIX_SERVER", os.path.join(ROOT, "src/phenix-server"))
REDIS = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "redis-server")
KINDS = ["string", "hash", "set", "zset", "list"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fill(r, kind):
    pipe = r.pipeline(transaction=False)
    for i in range(N):
        k = f"{kind}:{i}"
        if kind == "string":
            pipe.set(k, f"value:{i}")
        elif kind == "hash":
            pipe.hset(k, mapping={"name": f"n{i}", "age": str(i % 90), "city": "paris"})
        elif kind == "set":
            pipe.sadd(k, "a", "b", "c")
        elif kind == "zset":
            pipe.zadd(k, {"a": 1, "b": 2, "c": 3})
        else:
            pipe.rpush(k, "a", "b", "c")
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def measure(binary):
    d = tempfile.mkdtemp(prefix="bench-mem-")
    port = free_port()
    pin = ["taskset", "-c", "0"] if os.cpu_count() >= 2 else []
    p = subprocess.Popen(pin + [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    while True:
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.01)
    out = {}
    for kind in KINDS:
        r.flushall()
        time.sleep(0.5)
        before = r.info("memory")["used_memory"]
        fill(r, kind)
        time.sleep(1.5)
        out[kind] = (r.info("memory")["used_memory"] - before) / N
    r.shutdown(nosave=True)
    p.wait()
    shutil.rmtree(d, ignore_errors=True)
    return out


if __name__ == "__main__":
    ph = measure(PHENIX)
    rd = measure(REDIS)
    print(f"memory per key after loading {N:,} keys of each kind (INFO used_memory growth / N)")
    print()
    print("| kind (3 small elements) | Phenix B/key | Redis B/key | ratio |")
    print("|---|---:|---:|---:|")
    for k in KINDS:
        print(f"| {k} | {ph[k]:.1f} | {rd[k]:.1f} | {ph[k] / rd[k]:.2f} |")

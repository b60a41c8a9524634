#!/usr/bin/python3
"""utils/bench_persist.py -- durability benchmarks, Phenix next to Debian's redis-server.

Usage: utils/bench-persist.sh [--quick]      (`make bench-persist` builds first)

Three parts, each printing a table with ratios (Phenix / Redis, or restart / build):

 1. Durable write throughput: redis-benchmark SET (16-byte values, 100k random keys) at
    -P 1 and -P 16 with 50 clients, against both servers with appendonly yes and
    appendfsync always, then everysec; and PH.SET of a 128-dim vector (VALUES) against
    Phenix next to HSET of a 512-byte field (the same bytes per write) against Redis,
    as Redis has no vector write of its own in 7.0. Runs are interleaved.
 2. Restart of BENCH_VEC_N (default 1,000,000) 128-dim entities in an HNSW collection:
    the time to build the index from scratch (pipelined PH.SET) against the time to
    restart from the snapshot of it (from process start to `loading:0`). Goal <= 0.05.
    Recall@10 of 200 queries against EXACT is printed before and after the restart (it
    must not change: the graph is loaded, not rebuilt).
 3. Restart of BENCH_STR_N (default 10,000,000) small strings: Phenix loading its
    snapshot against Redis loading its own RDB of the same data. Goal <= 1.0.

Servers run pinned on CPU 0, clients on CPU 1 (when there are 2+ CPUs). Data goes to a
temporary directory on the same disk for both servers.

Environment: PHENIX_SERVER (default src/phenix-server), REDIS_SERVER (redis-server),
BENCH_VEC_N, BENCH_STR_N, BENCH_REQUESTS (SET runs, default 200000), BENCH_OUT (also
write the report there, default build/bench/persist.txt).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
PHENIX = os.environ.get("PHENIX_SERVER", os.path.join(ROOT, "src/phenix-server"))
REDIS = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "redis-server")
VEC_N = int(os.environ.get("BENCH_VEC_N", 20000 if QUICK else 1000000))
STR_N = int(os.environ.get("BENCH_STR_N", 200000 if QUICK else 10000000))
REQS = int(os.environ.get("BENCH_REQUESTS", 20000 if QUICK else 200000))
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "build/bench/persist.txt"))
PIN = os.cpu_count() >= 2
# The vector part pins the server (CPU 0) and the loader (CPU 1) as the others do.
DIM = 128

report = []


def say(line=""):
    print(line, flush=True)
    report.append(line)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if PIN else []


class Server:
    def __init__(self, kind, workdir, extra):
        self.kind = kind
        self.dir = workdir
        self.port = free_port()
        self.extra = extra
        self.proc = None

    def start(self):
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--logfile", os.path.join(self.dir, "server.log")] + self.extra
        if self.kind == "redis":
            args += ["--dbfilename", "dump.rdb", "--appenddirname", "aofdir"]
        binary = PHENIX if self.kind == "phenix" else REDIS
        self.t0 = time.time()
        self.proc = subprocess.Popen(pin(0) + [binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.r = redis.Redis(port=self.port, socket_timeout=600)
        while True:
            try:
                info = self.r.info("persistence")
                if info.get("loading", 0) == 0:
                    break
            except (redis.ConnectionError, redis.BusyLoadingError, redis.ResponseError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited; see {self.dir}/server.log")
            time.sleep(0.005)
        self.ready_s = time.time() - self.t0
        return self

    def stop(self, save=False):
        try:
            self.r.shutdown(save=save, nosave=not save)
        except redis.ConnectionError:
            pass
        self.proc.wait(timeout=600)


def bench_cmd(port, args, n, pipeline):
    cmd = pin(1) + ["redis-benchmark", "-p", str(port), "-n", str(n), "-c", "50", "-P", str(pipeline),
                    "-r", "100000", "--csv"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900).stdout
    rows = [l for l in out.splitlines() if l and not l.startswith('"test"')]
    return float(rows[-1].split(",")[1].strip('"'))


def write_throughput():
    say("## 1. Durable write throughput (requests/s, median of 3, interleaved)")
    say()
    say("| policy | test | pipeline | Phenix | Redis | ratio |")
    say("|---|---|---|---:|---:|---:|")
    vec_args = ["ph.set", "vec:__rand_int__", "VALUES", str(DIM)] + [f"{0.01 * i:.2f}" for i in range(DIM)]
    hset_args = ["hset", "h:__rand_int__", "f", "x" * (DIM * 4)]
    for policy in ("always", "everysec"):
        for name, pargs, rargs in (("SET", ["-t", "set", "-d", "16"], ["-t", "set", "-d", "16"]),
                                   ("PH.SET / HSET 512 B", vec_args, hset_args)):
            for pipeline in (1, 16):
                vals = {"phenix": [], "redis": []}
                n = REQS if pipeline == 1 else REQS * 5
                if name != "SET":
                    n = n // 4
                for rep in range(3):
                    order = ("phenix", "redis") if rep % 2 == 0 else ("redis", "phenix")
                    for kind in order:
                        d = tempfile.mkdtemp(prefix=f"bp-{kind}-", dir=WORK)
                        s = Server(kind, d, ["--appendonly", "yes", "--appendfsync", policy, "--save", ""]).start()
                        if kind == "phenix" and name != "SET":
                            s.r.execute_command("ph.create", "vec", "DIM", DIM, "METRIC", "L2")
                        vals[kind].append(bench_cmd(s.port, pargs if kind == "phenix" else rargs, n, pipeline))
                        s.stop()
                        shutil.rmtree(d, ignore_errors=True)
                p = sorted(vals["phenix"])[1]
                r = sorted(vals["redis"])[1]
                say(f"| {policy} | {name} | {pipeline} | {p:,.0f} | {r:,.0f} | {p / r:.2f} |")
    say()


def vector_write_overhead():
    say("## 1b. What the log costs PH.SET (128-dim, HNSW): Phenix against itself, requests/s, median of 3")
    say()
    say("| pipeline | appendonly no | everysec | always | everysec / no | always / no |")
    say("|---|---:|---:|---:|---:|---:|")
    args = ["ph.set", "vec:__rand_int__", "VALUES", str(DIM)] + [f"{0.01 * i:.2f}" for i in range(DIM)]
    for pipeline in (1, 16):
        vals = {}
        for mode in ("no", "everysec", "always"):
            runs = []
            for _ in range(3):
                d = tempfile.mkdtemp(prefix="bp-vo-", dir=WORK)
                extra = ["--save", ""] + (["--appendonly", "yes", "--appendfsync", mode] if mode != "no" else [])
                s = Server("phenix", d, extra).start()
                s.r.execute_command("ph.create", "vec", "DIM", DIM, "METRIC", "L2")
                runs.append(bench_cmd(s.port, args, REQS // 4, pipeline))
                s.stop()
                shutil.rmtree(d, ignore_errors=True)
            vals[mode] = sorted(runs)[1]
        say(f"| {pipeline} | {vals['no']:,.0f} | {vals['everysec']:,.0f} | {vals['always']:,.0f} | "
            f"{vals['everysec'] / vals['no']:.2f} | {vals['always'] / vals['no']:.2f} |")
    say()


def rand_vecs(n, seed):
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype("<f4")


def recall(r, queries, k=10):
    hit = 0
    for q in queries:
        blob = q.tobytes()
        a = r.execute_command("ph.search", "vec", "VECTOR", blob, "K", k)
        e = r.execute_command("ph.search", "vec", "VECTOR", blob, "K", k, "EXACT")
        hit += len(set(a) & set(e))
    return hit / (k * len(queries))


def vector_restart():
    say(f"## 2. Restart of {VEC_N:,} x {DIM} entities (HNSW, M 16, EF_CONSTRUCTION 200)")
    say()
    d = tempfile.mkdtemp(prefix="bp-vec-", dir=WORK)
    s = Server("phenix", d, ["--save", ""]).start()
    s.r.execute_command("ph.create", "vec", "DIM", DIM, "METRIC", "L2")
    rng = np.random.default_rng(7)
    t0 = time.time()
    batch = 1000
    last = t0
    for start in range(0, VEC_N, batch):
        vecs = rng.standard_normal((min(batch, VEC_N - start), DIM)).astype("<f4")
        p = s.r.pipeline(transaction=False)
        for j, v in enumerate(vecs):
            p.execute_command("ph.set", f"vec:{start + j}", "VECTOR", v.tobytes())
        p.execute()
        if time.time() - last > 10:
            last = time.time()
            print(f"  building: {start + batch:,} / {VEC_N:,} ({(start + batch) / (last - t0):,.0f}/s)", flush=True)
    build = time.time() - t0
    queries = rand_vecs(200, 99)
    rec_before = recall(s.r, queries)
    ts = time.time()
    s.r.save()
    save_s = time.time() - ts
    size = os.path.getsize(os.path.join(d, "dump.phx"))
    s.stop()
    s2 = Server("phenix", d, ["--save", ""]).start()
    restart = s2.ready_s
    rec_after = recall(s2.r, queries)
    s2.stop()
    shutil.rmtree(d, ignore_errors=True)
    say("| build from scratch (s) | SAVE (s) | snapshot (MB) | restart (s) | restart / build | recall@10 before | after |")
    say("|---:|---:|---:|---:|---:|---:|---:|")
    say(f"| {build:.1f} | {save_s:.2f} | {size / 1e6:.0f} | {restart:.2f} | {restart / build:.4f} | "
        f"{rec_before:.3f} | {rec_after:.3f} |")
    say()


def string_restart():
    say(f"## 3. Restart of {STR_N:,} small strings (SET key:<i> val:<i>)")
    say()
    proto = os.path.join(WORK, "strings.resp")
    with open(proto, "wb") as f:
        for i in range(STR_N):
            k = f"key:{i}".encode()
            v = f"val:{i}".encode()
            f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    times = {}
    for kind in ("redis", "phenix"):
        d = tempfile.mkdtemp(prefix=f"bp-str-{kind}-", dir=WORK)
        s = Server(kind, d, ["--save", ""]).start()
        with open(proto, "rb") as f:
            subprocess.run(pin(1) + ["redis-cli", "-p", str(s.port), "--pipe"], stdin=f, stdout=subprocess.DEVNULL,
                           check=True, timeout=1800)
        assert s.r.dbsize() == STR_N
        s.r.save()
        fname = "dump.rdb" if kind == "redis" else "dump.phx"
        size = os.path.getsize(os.path.join(d, fname))
        s.stop()
        runs = []
        for _ in range(3):
            s2 = Server(kind, d, ["--save", ""]).start()
            runs.append(s2.ready_s)
            s2.stop()
        times[kind] = (sorted(runs)[1], size)
        shutil.rmtree(d, ignore_errors=True)
    os.unlink(proto)
    say("| server | file (MB) | restart, median of 3 (s) |")
    say("|---|---:|---:|")
    for kind in ("phenix", "redis"):
        say(f"| {kind} | {times[kind][1] / 1e6:.0f} | {times[kind][0]:.2f} |")
    say(f"\nratio Phenix / Redis: {times['phenix'][0] / times['redis'][0]:.2f} (goal <= 1.0)\n")


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        cpu = m.group(1) if m else "?"
    ver = subprocess.run([REDIS, "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs ({cpu}); {ver}; pinned: {PIN}"


if __name__ == "__main__":
    WORK = tempfile.mkdtemp(prefix="bench-persist-", dir=os.environ.get("BENCH_TMP", "/var/tmp"))
    try:
        say("# Phenix durability benchmark" + (" (quick)" if QUICK else ""))
        say()
        say("machine: " + machine())
        say()
        parts = os.environ.get("BENCH_PARTS", "1,2,3").split(",")  # 1b: only the PH.SET log overhead
        if "1" in parts:
            write_throughput()
        if "1b" in parts or "1" in parts:
            vector_write_overhead()
        if "2" in parts:
            vector_restart()
        if "3" in parts:
            string_restart()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            f.write("\n".join(report) + "\n")

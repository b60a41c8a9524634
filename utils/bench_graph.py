#!/usr/bin/env python3
"""bench_graph.py -- the graph benchmark (run through utils/bench-graph.sh).

Builds the Debian package dependency graph from `apt-cache dumpavail` text:
every package is an entity deb:<name> of collection `deb` (DIM --dim, COSINE)
with its one-line description and section as metadata and a vector made by a
seeded random projection of its words (each word's vector is a fixed
pseudo-random Gaussian vector seeded by the word's CRC32, the package's vector
the normalized sum); every Depends and Recommends item becomes a typed edge
("depends", "recommends") to each alternative that is a real package (weight
1 for the first alternative, 2 for the second, ...; virtual packages are
skipped). The same graph goes into networkx (a DiGraph for directed queries,
an undirected Graph with the smaller weight of the two directions for BOTH),
which is the reference for the answers and for the speed.

Measured, end to end from this client (redis-py + hiredis, one query at a
time; the server on another CPU):
  load         entities/s and edges/s through a pipeline of 1000 commands
  k-hop        PH.NEIGHBORS <k> DEPTH 1|2|3 (OUT)   vs single_source_shortest_path_length(cutoff)
  path         PH.PATH a b BOTH                      vs shortest_path_length (bidirectional BFS)
  path OUT     PH.PATH a b (OUT, reachable pairs)    vs shortest_path_length on the DiGraph
  weighted     PH.PATH a b BOTH WEIGHTED             vs dijkstra_path_length
  expand 1|2   PH.SEARCH deb VECTOR q K 10 EXPAND d  vs numpy exact top-10 + BFS + the same RRF
Answers: every Phenix answer is compared with networkx's (k-hop: the set of
keys and their depths; paths: hop count or cost; EXPAND: hits and expanded
set, with EXACT so that both sides have the same hits). Mismatches are
counted in the report. Also the throughput of pipelined k-hop queries.
"""
import argparse
import json
import random
import re
import statistics
import sys
import time
import zlib

import networkx as nx
import numpy as np
import redis


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_dumpavail(path, limit):
    pkgs = {}
    cur = {}
    field = None

    def flush():
        if "Package" in cur and cur["Package"] not in pkgs:
            pkgs[cur["Package"]] = cur.copy()

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                flush()
                cur.clear()
                field = None
                if limit and len(pkgs) >= limit:
                    break
                continue
            if line[0] in " \t":
                continue  # continuation lines: long descriptions, tags
            k, _, v = line.partition(":")
            field = k
            cur[field] = v.strip()
    flush()
    return pkgs


def dep_targets(text):
    """[(name, alternative index)] of a Depends/Recommends field."""
    out = []
    for item in text.split(","):
        for ai, alt in enumerate(item.split("|")):
            name = alt.strip().split(" ")[0].split("(")[0].split(":")[0].strip()
            if name:
                out.append((name, ai))
    return out


class Embedder:
    def __init__(self, dim, seed):
        self.dim, self.seed, self.cache = dim, seed, {}

    def word(self, w):
        v = self.cache.get(w)
        if v is None:
            rng = np.random.default_rng((zlib.crc32(w.encode()) << 16) ^ self.seed)
            v = rng.standard_normal(self.dim).astype(np.float32)
            self.cache[w] = v
        return v

    def text(self, name, desc):
        words = re.findall(r"[a-z0-9]+", (name + " " + desc).lower()) or [name]
        v = np.sum([self.word(w) for w in words], axis=0)
        n = float(np.linalg.norm(v))
        return (v / n if n > 0 else self.word(name)).astype(np.float32)


def stats_us(xs):
    xs = sorted(xs)
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return statistics.mean(xs) * 1e6, p(0.5) * 1e6, p(0.99) * 1e6


def pairs_of(reply):
    return dict(zip(reply[::2], reply[1::2]))


class ServerTimes:
    """Server-side execution times of the commands between start() and
    stop(), from SLOWLOG (every command logged while measuring)."""

    def __init__(self, r, n):
        self.r, self.n = r, n

    def start(self):
        self.r.config_set("slowlog-max-len", 4 * self.n + 100)
        self.r.config_set("slowlog-log-slower-than", 0)
        self.r.slowlog_reset()

    def stop(self, name):
        entries = self.r.slowlog_get(4 * self.n + 100)
        self.r.config_set("slowlog-log-slower-than", 10000)
        us = [e["duration"] for e in entries
              if e["command"].split(b" ")[0].upper() == name.encode() and b"EXACT" not in e["command"]]
        return [u / 1e6 for u in us] or [0.0]


def timed(fn, *a):
    t = time.perf_counter()
    r = fn(*a)
    return r, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--input", required=True)
    ap.add_argument("--limit", type=int, default=0, help="first N packages only")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    t0 = time.perf_counter()
    pkgs = parse_dumpavail(args.input, args.limit)
    names = sorted(pkgs)
    log(f"parsed {len(names)} packages in {time.perf_counter() - t0:.1f}s")
    emb = Embedder(args.dim, args.seed)
    vecs = {n: emb.text(n, pkgs[n].get("Description", "")) for n in names}
    edges = []  # (from, to, type, weight) in the order both sides add them
    skipped = 0
    for n in names:
        for field, typ in (("Depends", "depends"), ("Recommends", "recommends")):
            for tgt, ai in dep_targets(pkgs[n].get(field, "")):
                if tgt in pkgs:
                    edges.append((n, tgt, typ, float(ai + 1)))
                else:
                    skipped += 1
    log(f"{len(edges)} edges ({skipped} items to virtual or absent packages skipped)")

    r = redis.Redis(port=args.port)
    r.flushall()
    r.execute_command("PH.CREATE", "deb", "DIM", args.dim, "METRIC", "COSINE")

    # --- load ---
    t = time.perf_counter()
    pipe = r.pipeline(transaction=False)
    for i, n in enumerate(names):
        meta = json.dumps({"name": n, "description": pkgs[n].get("Description", ""), "section": pkgs[n].get("Section", "")})
        pipe.execute_command("PH.SET", "deb:" + n, "VECTOR", vecs[n].tobytes(), "META", meta)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    t_ent = time.perf_counter() - t
    t = time.perf_counter()
    for i, (a, b, typ, w) in enumerate(edges):
        pipe.execute_command("PH.EDGE", "ADD", "deb:" + a, "deb:" + b, "TYPE", typ, "WEIGHT", w)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    t_edge = time.perf_counter() - t
    info = r.info("graph")
    mem_edges = info.get("graph_memory", 0)
    n_edges = info.get("graph_edges", 0)

    t = time.perf_counter()
    G = nx.DiGraph()
    G.add_nodes_from(names)
    U = nx.Graph()
    U.add_nodes_from(names)
    for a, b, typ, w in edges:
        if not G.has_edge(a, b) or G[a][b]["weight"] > w:
            G.add_edge(a, b, weight=w)
        if not U.has_edge(a, b) or U[a][b]["weight"] > w:
            U.add_edge(a, b, weight=w)
    t_nx = time.perf_counter() - t

    rows = []
    out = print
    out(f"graph: {len(names)} packages, {n_edges} edges (depends + recommends; {len(edges)} PH.EDGE ADD, "
        f"repeated items update), networkx: {G.number_of_edges()} directed / {U.number_of_edges()} undirected pairs; dim {args.dim}")
    out(f"load: entities {len(names) / t_ent:,.0f}/s ({t_ent:.2f}s), PH.EDGE ADD {len(edges) / t_edge:,.0f}/s ({t_edge:.2f}s); "
        f"graph memory {mem_edges / max(1, n_edges):.1f} B/edge; networkx build {t_nx:.2f}s")

    with_out = [n for n in names if G.out_degree(n) > 0]
    sources = [rnd.choice(with_out) for _ in range(args.queries)]

    st = ServerTimes(r, args.queries)

    def row(name, ph, ref, bad, n, server):
        pm, p50, p99 = stats_us(ph)
        rm, r50, r99 = stats_us(ref)
        _, s50, s99 = stats_us(server)
        rows.append((name, pm, p50, p99, s50, s99, rm, r50, r99, rm / pm if pm else 0, bad, n))

    # --- k-hop ---
    for d in (1, 2, 3):
        ph, ref, bad, sizes = [], [], 0, []
        st.start()
        for s in sources:
            rep, dt = timed(r.execute_command, "PH.NEIGHBORS", "deb:" + s, "DEPTH", d)
            ph.append(dt)
            want, dt = timed(nx.single_source_shortest_path_length, G, s, d)
            ref.append(dt)
            m = pairs_of(rep)
            got = {k.decode()[4:]: int(v) for k, v in zip(m[b"keys"], m[b"depths"])}
            want = dict(want)
            want.pop(s, None)
            sizes.append(len(got))
            if got != want:
                bad += 1
        row(f"k-hop depth {d} (avg {statistics.mean(sizes):.0f} entities)", ph, ref, bad, len(sources), st.stop("PH.NEIGHBORS"))
        pipe = r.pipeline(transaction=False)
        t = time.perf_counter()
        for s in sources:
            pipe.execute_command("PH.NEIGHBORS", "deb:" + s, "DEPTH", d)
        pipe.execute()
        rows.append((f"  pipelined: {len(sources) / (time.perf_counter() - t):,.0f} queries/s", None))

    # --- paths ---
    comp = max(nx.connected_components(U), key=len)
    comp_list = sorted(comp)
    pairs = [(rnd.choice(comp_list), rnd.choice(comp_list)) for _ in range(args.queries)]
    ph, ref, bad = [], [], 0
    st.start()
    for a, b in pairs:
        rep, dt = timed(r.execute_command, "PH.PATH", "deb:" + a, "deb:" + b, "BOTH")
        ph.append(dt)
        want, dt = timed(nx.shortest_path_length, U, a, b)
        ref.append(dt)
        if int(pairs_of(rep)[b"hops"]) != want:
            bad += 1
    row("path BOTH, unweighted", ph, ref, bad, len(pairs), st.stop("PH.PATH"))

    out_pairs = []
    for s in sources:
        reach = [n for n, dd in nx.single_source_shortest_path_length(G, s).items() if dd >= 2]
        if reach:
            out_pairs.append((s, rnd.choice(reach)))
    ph, ref, bad = [], [], 0
    st.start()
    for a, b in out_pairs:
        rep, dt = timed(r.execute_command, "PH.PATH", "deb:" + a, "deb:" + b)
        ph.append(dt)
        want, dt = timed(nx.shortest_path_length, G, a, b)
        ref.append(dt)
        if int(pairs_of(rep)[b"hops"]) != want:
            bad += 1
    if out_pairs:
        row("path OUT, unweighted", ph, ref, bad, len(out_pairs), st.stop("PH.PATH"))

    ph, ref, bad = [], [], 0
    st.start()
    for a, b in pairs:
        rep, dt = timed(r.execute_command, "PH.PATH", "deb:" + a, "deb:" + b, "BOTH", "WEIGHTED")
        ph.append(dt)
        want, dt = timed(nx.dijkstra_path_length, U, a, b)
        ref.append(dt)
        if abs(float(pairs_of(rep)[b"cost"]) - want) > 1e-9:
            bad += 1
    row("path BOTH, WEIGHTED", ph, ref, bad, len(pairs), st.stop("PH.PATH"))

    # --- PH.SEARCH + EXPAND ---
    X = np.stack([vecs[n] for n in names])
    index = {n: i for i, n in enumerate(names)}
    queries = []
    for _ in range(args.queries):
        v = vecs[rnd.choice(names)] + np.random.default_rng(rnd.randrange(1 << 30)).standard_normal(args.dim).astype(np.float32) * 0.05
        queries.append((v / np.linalg.norm(v)).astype(np.float32))

    def ref_expand(q, d, limit):
        """numpy exact top 10, BFS from the hits (OUT), RRF as docs/graph.md defines it."""
        sims = X @ q
        top = np.argpartition(-sims, 10)[:10]
        top = top[np.argsort(-sims[top], kind="stable")]
        hits = [names[i] for i in top]
        depth = {h: 0 for h in hits}
        frontier, order = list(hits), []
        for lvl in range(1, d + 1):
            nxt = []
            for u in frontier:
                for v in G.successors(u):
                    if v not in depth and len(order) < limit:
                        depth[v] = lvl
                        order.append(v)
                        nxt.append(v)
            frontier = nxt
        items = hits + order
        score = {n: 1.0 - float(sims[index[n]]) for n in items}
        byscore = sorted(items, key=lambda n: score[n])
        vrank = {n: i + 1 for i, n in enumerate(byscore)}
        fused = sorted(items, key=lambda n: -(1 / (60 + vrank[n]) + 1 / (61 + depth[n])))
        return hits, set(order), fused

    for d in (1, 2):
        ph, ref, bad = [], [], 0
        st.start()
        for q in queries:
            blob = q.tobytes()
            rep, dt = timed(r.execute_command, "PH.SEARCH", "deb", "VECTOR", blob, "K", 10, "EXPAND", d)
            ph.append(dt)
            (hits, expanded, _), dt = timed(ref_expand, q, d, 100)
            ref.append(dt)
            # answers: EXACT so that both sides have the same hits, no LIMIT
            rep = pairs_of(r.execute_command("PH.SEARCH", "deb", "VECTOR", blob, "K", 10, "EXACT", "EXPAND", d, "LIMIT", 1000000))
            res = [pairs_of(m) for m in rep[b"results"]]
            got_hits = {m[b"key"].decode()[4:] for m in res if int(m[b"hit"])}
            got_exp = {m[b"key"].decode()[4:] for m in res if not int(m[b"hit"])}
            whits, wexp, _ = ref_expand(q, d, 10**9)
            if got_hits != set(whits) or got_exp != wexp:
                bad += 1
        row(f"PH.SEARCH K 10 + EXPAND {d} (LIMIT 100)", ph, ref, bad, len(queries), st.stop("PH.SEARCH"))

    out("")
    out("times in microseconds; phenix: end to end from this client (mean p50 p99), then the server's own")
    out("execution time from SLOWLOG (p50 p99); networkx: the library call (mean p50 p99); speedup: mean / mean")
    out(f"{'query':42} {'phenix mean  p50   p99':>24} {'server p50 p99':>15} {'networkx mean  p50   p99':>26} {'speedup':>8} {'wrong':>7}")
    for rw in rows:
        if rw[1] is None:
            out(rw[0])
            continue
        name, pm, p50, p99, s50, s99, rm, r50, r99, sp, bad, n = rw
        out(f"{name:42} {pm:8.0f} {p50:6.0f} {p99:7.0f} {s50:7.0f} {s99:7.0f} {rm:10.0f} {r50:7.0f} {r99:8.0f} {sp:7.1f}x {bad:3d}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

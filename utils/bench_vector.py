#!/usr/bin/python3
"""utils/bench_vector.py -- vector search benchmark: Phenix DB against hnswlib and faiss.

Usage (normally through utils/bench-vector.sh / `make bench-vector`, which starts the
server and installs the Debian packages):

    /usr/bin/python3 utils/bench_vector.py --port PORT [--host H] [--quick]
        [--datasets fashion,synthetic] [--n N] [--queries Q] [--ef 10,20,...]

For each data set:
  * loads it into a running phenix-server through one redis-py pipeline (PH.SET key
    VECTOR <fp32 blob>, batches of 1000), with a progress line on stderr, and reports
    the insert rate and the memory per vector (INFO used_memory delta / N, and the
    memory fields of PH.INFO);
  * builds the same index with Debian's python3-hnswlib (M=16, ef_construction=200,
    one thread) and python3-faiss IndexHNSWFlat (M=16, efConstruction=200, one
    thread), with insert rate and RSS delta / N (the RSS baseline taken after
    malloc_trim(0), so heap this process freed earlier is not reused uncounted);
  * computes the exact top 10 of every query with faiss IndexFlatL2/IP (numpy when
    faiss is missing);
  * for ef in 10 20 40 80 160 320: recall@10 and queries/s of Phenix (end to end from
    one pipelined client, and server-side microseconds per query from INFO
    commandstats, reset with CONFIG RESETSTAT before each ef), hnswlib and faiss
    (one query per call, one thread);
  * p50/p99 latency at the smallest ef that reaches recall@10 >= 0.95 (Phenix: one
    query per round trip, client-measured, plus the server-side mean);
  * filtered search (PH.SEARCH ... FILTER, docs/filters.md): the set is loaded again
    with metadata {"cls": <class label as a string>, "r": <a permutation of 0..N-1>}
    into a collection declaring FIELD .cls TAG and FIELD .r NUMERIC; for the class
    filter (10%: Fashion-MNIST's label; the synthetic set uses i mod 10) and for
    .r < s*N at s = 0.1%, 1%, 10%, 50%: recall@10 against the exact filtered top 10,
    queries/s and server us/query, the plans chosen (PH.INFO per-strategy counts),
    whether every query got min(K, matches) results, next to the unfiltered query on
    the same collection at the same EF (--filter-ef, default 64). --filtered-only
    runs just this part; --no-filtered skips it.

Data sets:
  fashion    Fashion-MNIST from Debian's dataset-fashion-mnist (60,000 x 784 train
             images as float32 0..255, queries from the 10,000 test images; L2).
  synthetic  clustered Gaussian data, N x 128 (numpy, fixed seed; COSINE); N is
             100,000 by default, BENCH_N or --n to change it (e.g. 1000000).

--quick: N=5000 for both sets and 200 queries (a trial run, seconds).

A reference library that is not installed is reported as "not installed" in its
column; the run goes on. Timings are wall-clock (time.perf_counter).

Written for Phenix DB; uses only the public APIs of redis-py, numpy, hnswlib, faiss.
"""

import argparse
import ctypes
import gzip
import os
import re
import struct
import sys
import time

import numpy as np

try:
    import redis
except ImportError:  # the server side cannot run without it
    redis = None
try:
    import hnswlib
except ImportError:
    hnswlib = None
try:
    import faiss
except ImportError:
    faiss = None

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
M = 16
EF_CONSTRUCTION = 200
K = 10
BATCH = 1000
NOT_INSTALLED = "not installed"


# --------------------------------------------------------------------------- utils

class Progress:
    """A single-line progress indicator on stderr: done/total, rate, ETA."""

    def __init__(self, label, total, unit="vec"):
        self.label = label
        self.total = total
        self.unit = unit
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, done, force=False):
        now = time.perf_counter()
        if not force and now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        el = max(now - self.t0, 1e-9)
        rate = done / el
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        pct = 100.0 * done / self.total if self.total else 100.0
        msg = "  %-28s %9d/%-9d %5.1f%%  %10.0f %s/s  ETA %6.1fs" % (
            self.label, done, self.total, pct, rate, self.unit, eta if eta != float("inf") else 0)
        end = "\r" if self.tty else "\n"
        sys.stderr.write(msg + end)
        sys.stderr.flush()

    def done(self):
        el = time.perf_counter() - self.t0
        self.update(self.total, force=True)
        if self.tty:
            sys.stderr.write("\n")
        sys.stderr.flush()
        return el


def _libc_function(name, restype=None, argtypes=None):
    """glibc's function name through ctypes, or None (another libc, an older glibc)."""
    try:
        f = getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    if restype is not None:
        f.restype = restype
    if argtypes is not None:
        f.argtypes = argtypes
    return f


def _mallinfo2():
    """glibc's mallinfo2 (2.33+), or None."""
    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                     "fsmblks", "uordblks", "fordblks", "keepcost")]
    return _libc_function("mallinfo2", restype=MallInfo2)


_MALLINFO2 = _mallinfo2()


def heap_bytes():
    """Bytes malloc has handed out and not taken back (in-use heap + mmapped chunks):
    the counterpart of the server's used_memory for the in-process libraries."""
    if _MALLINFO2 is None:
        return None
    m = _MALLINFO2()
    return m.uordblks + m.hblkhd


_MALLOC_TRIM = _libc_function("malloc_trim", argtypes=[ctypes.c_size_t])


def rss_baseline():
    """RSS before a reference library builds its index, taken after malloc_trim(0).
    Without the trim, heap pages this process freed earlier (ground truth, data set
    copies) stay resident, the library's small allocations reuse them, and the RSS
    delta counts less than the library allocates: on Fashion-MNIST hnswlib's delta was
    3323 B/vector against 3422 B of its own allocations."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
    return rss_bytes()


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values, p):
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), p))


def recall_at_k(found, truth, k=K):
    """found: list of lists of ids; truth: (q, k) array."""
    hits = 0
    for f, t in zip(found, truth):
        hits += len(set(int(x) for x in f[:k]) & set(int(x) for x in t[:k]))
    return hits / float(k * len(truth))


def fmt(v, spec="%.0f"):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != v:  # NaN
        return "-"
    return spec % v


def ratio(a, b):
    if a is None or b is None or isinstance(a, str) or isinstance(b, str) or not b:
        return "-"
    return "%.2fx" % (a / b)


def print_section(title):
    print()
    print("=" * 100)
    print(title)
    print("=" * 100)
    sys.stdout.flush()


def print_table(title, header, rows):
    print()
    print(title)
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(str(c)))
    line = "  ".join(h.rjust(widths[i]) if i else h.ljust(widths[i]) for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).rjust(widths[i]) if i else str(c).ljust(widths[i])
                        for i, c in enumerate(r)))
    sys.stdout.flush()


# --------------------------------------------------------------------------- data

def read_idx_images(path):
    """An IDX3 ubyte file (gzip): big-endian magic 0x00000803, n, rows, cols, then bytes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803:
        raise ValueError("%s: not an IDX3 ubyte file (magic %#x)" % (path, magic))
    arr = np.frombuffer(data, dtype=np.uint8, count=n * rows * cols, offset=16)
    return arr.reshape(n, rows * cols).astype(np.float32)


def load_fashion(n, nq):
    train = os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")
    test = os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")
    if not (os.path.exists(train) and os.path.exists(test)):
        return None
    base = read_idx_images(train)
    queries = read_idx_images(test)
    if n:
        base = base[:n]
    labels = load_fashion_labels(len(base))
    return {"name": "Fashion-MNIST", "metric": "L2", "base": np.ascontiguousarray(base),
            "queries": np.ascontiguousarray(queries[:nq]), "classes": labels}


def make_synthetic(n, nq, dim=128, seed=1234):
    """Clustered data: centers ~ N(0, 1); points = center + N(0, 0.35^2) per component.
    Queries are drawn the same way (not points of the base set)."""
    rng = np.random.default_rng(seed)
    nclusters = max(10, min(1000, n // 100))
    centers = rng.standard_normal((nclusters, dim), dtype=np.float32)
    base = np.empty((n, dim), dtype=np.float32)
    step = 100000
    for s in range(0, n, step):
        e = min(n, s + step)
        lab = rng.integers(0, nclusters, e - s)
        base[s:e] = centers[lab] + 0.35 * rng.standard_normal((e - s, dim), dtype=np.float32)
    lab = rng.integers(0, nclusters, nq)
    queries = (centers[lab] + 0.35 * rng.standard_normal((nq, dim), dtype=np.float32)).astype(np.float32)
    return {"name": "synthetic clustered", "metric": "COSINE", "base": base, "queries": queries,
            "classes": np.arange(n) % 10}


def load_fashion_labels(n):
    path = os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz")
    if not os.path.exists(path):
        return None
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic != 0x00000801:
        raise ValueError("%s: not an IDX1 ubyte file (magic %#x)" % (path, magic))
    labels = np.frombuffer(data, dtype=np.uint8, count=count, offset=8)
    return labels[:n] if n else labels


def normalized(x):
    nrm = np.linalg.norm(x, axis=1, keepdims=True)
    nrm[nrm == 0] = 1.0
    return np.ascontiguousarray((x / nrm).astype(np.float32))


# --------------------------------------------------------------------------- ground truth

def ground_truth(ds):
    base, q = ds["base"], ds["queries"]
    cosine = ds["metric"] == "COSINE"
    if cosine:
        base, q = normalized(base), normalized(q)
    t0 = time.perf_counter()
    if faiss is not None:
        index = faiss.IndexFlatIP(base.shape[1]) if cosine else faiss.IndexFlatL2(base.shape[1])
        index.add(base)
        out = np.empty((len(q), K), dtype=np.int64)
        p = Progress("exact top-10 (faiss Flat)", len(q), "q")
        for s in range(0, len(q), 50):
            _, ids = index.search(q[s:s + 50], K)
            out[s:s + 50] = ids
            p.update(min(len(q), s + 50))
        p.done()
        del index
        how = "faiss IndexFlat%s" % ("IP on normalized vectors" if cosine else "L2")
    else:
        out = np.empty((len(q), K), dtype=np.int64)
        bn = (base.astype(np.float64) ** 2).sum(1) if not cosine else None
        p = Progress("exact top-10 (numpy)", len(q), "q")
        for s in range(0, len(q), 20):
            qq = q[s:s + 20]
            dots = qq @ base.T
            d = -dots if cosine else bn[None, :] - 2.0 * dots
            part = np.argpartition(d, K, axis=1)[:, :K]
            for i in range(len(qq)):
                out[s + i] = part[i][np.argsort(d[i, part[i]])]
            p.update(min(len(q), s + 20))
        p.done()
        how = "numpy brute force (faiss not installed)"
    return out, how, time.perf_counter() - t0


# --------------------------------------------------------------------------- Phenix

class Phenix:
    def __init__(self, host, port, coll, ds):
        self.r = redis.Redis(host=host, port=port, decode_responses=False,
                             socket_timeout=600)
        self.coll = coll
        self.prefix = coll + ":"
        self.ds = ds
        self.plen = len(self.prefix)

    def used_memory(self):
        m = self.r.info("memory")
        return int(m["used_memory"]), int(m.get("used_memory_rss", 0))

    def ph_info(self):
        raw = self.r.execute_command("PH.INFO", self.coll)
        if isinstance(raw, dict):
            items = raw.items()
        else:
            items = zip(raw[0::2], raw[1::2])
        out = {}
        for k, v in items:
            k = k.decode() if isinstance(k, bytes) else str(k)
            if isinstance(v, bytes):
                v = v.decode()
            out[k] = v
        return out

    def load(self, extra=()):
        base = self.ds["base"]
        n, dim = base.shape
        try:
            self.r.execute_command("PH.DROP", self.coll, "DELETEDATA")
        except redis.ResponseError:
            pass
        mem0 = self.used_memory()
        self.r.execute_command("PH.CREATE", self.coll, "PREFIX", self.prefix, "DIM", dim,
                               "METRIC", self.ds["metric"], "INDEX", "HNSW", "M", M,
                               "EF_CONSTRUCTION", EF_CONSTRUCTION, *extra)
        p = Progress("Phenix load (pipelined)", n)
        t0 = time.perf_counter()
        pipe = self.r.pipeline(transaction=False)
        for s in range(0, n, BATCH):
            e = min(n, s + BATCH)
            for i in range(s, e):
                pipe.execute_command("PH.SET", "%s%d" % (self.prefix, i), "VECTOR",
                                     base[i].tobytes())
            res = pipe.execute(raise_on_error=False)
            for x in res:
                if isinstance(x, Exception):
                    raise RuntimeError("PH.SET failed: %s" % x)
            p.update(e)
        el = time.perf_counter() - t0
        p.done()
        mem1 = self.used_memory()
        info = self.ph_info()
        return {"rate": n / el, "seconds": el, "mem_per_vec": (mem1[0] - mem0[0]) / n,
                "rss_per_vec": (mem1[1] - mem0[1]) / n, "info": info}

    def _ids(self, keys):
        out = []
        for k in keys:
            if isinstance(k, (list, tuple)):  # a map per result (not used: plain keys)
                k = k[1]
            out.append(int(k[self.plen:]))
        return out

    def _server_usec_per_call(self):
        stats = self.r.info("commandstats")
        for name, v in stats.items():
            if name.lower() in ("cmdstat_ph.search", "ph.search"):
                if isinstance(v, dict):
                    return float(v.get("usec_per_call", "nan")), int(v.get("calls", 0))
                m = re.search(r"usec_per_call=([0-9.]+)", str(v))
                c = re.search(r"calls=([0-9]+)", str(v))
                return float(m.group(1)), int(c.group(1)) if c else 0
        # redis-py may have failed to parse the dotted name; read the raw text.
        raw = self.r.execute_command("INFO", "commandstats")
        if isinstance(raw, bytes):
            raw = raw.decode()
        if isinstance(raw, str):
            m = re.search(r"cmdstat_ph\.search:calls=([0-9]+),usec=[0-9]+,usec_per_call=([0-9.]+)", raw)
            if m:
                return float(m.group(2)), int(m.group(1))
        return float("nan"), 0

    def search_pipelined(self, queries, ef, extra=()):
        """All queries through one pipeline: end-to-end q/s, plus server-side usec/query."""
        self.r.execute_command("CONFIG", "RESETSTAT")
        blobs = [q.tobytes() for q in queries]
        found = []
        t0 = time.perf_counter()
        for s in range(0, len(blobs), BATCH):
            pipe = self.r.pipeline(transaction=False)
            for b in blobs[s:s + BATCH]:
                pipe.execute_command("PH.SEARCH", self.coll, "VECTOR", b, "K", K, "EF", ef, *extra)
            for keys in pipe.execute():
                found.append(self._ids(keys))
        el = time.perf_counter() - t0
        usec, calls = self._server_usec_per_call()
        return found, len(queries) / el, usec

    def latencies(self, queries, ef):
        """One query per round trip: client-measured latencies in microseconds."""
        self.r.execute_command("CONFIG", "RESETSTAT")
        lat = []
        for q in queries:
            b = q.tobytes()
            t0 = time.perf_counter()
            self.r.execute_command("PH.SEARCH", self.coll, "VECTOR", b, "K", K, "EF", ef)
            lat.append((time.perf_counter() - t0) * 1e6)
        usec, _ = self._server_usec_per_call()
        return lat, usec

    def drop(self):
        try:
            self.r.execute_command("PH.DROP", self.coll, "DELETEDATA")
        except Exception:
            pass


# --------------------------------------------------------------------------- references

def build_hnswlib(ds):
    if hnswlib is None:
        return None
    base = ds["base"]
    n, dim = base.shape
    space = "cosine" if ds["metric"] == "COSINE" else "l2"
    r0, h0 = rss_baseline(), heap_bytes()
    index = hnswlib.Index(space=space, dim=dim)
    index.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M, random_seed=100)
    index.set_num_threads(1)
    p = Progress("hnswlib build (1 thread)", n)
    t0 = time.perf_counter()
    step = 2000
    for s in range(0, n, step):
        e = min(n, s + step)
        index.add_items(base[s:e], np.arange(s, e), num_threads=1)
        p.update(e)
    el = time.perf_counter() - t0
    p.done()
    r1, h1 = rss_bytes(), heap_bytes()
    return {"index": index, "rate": n / el, "seconds": el, "mem_per_vec": (r1 - r0) / n,
            "heap_per_vec": (h1 - h0) / n if h0 is not None else None}


def search_hnswlib(h, queries, ef):
    index = h["index"]
    index.set_ef(ef)
    found, lat = [], []
    t0 = time.perf_counter()
    for q in queries:
        a = time.perf_counter()
        labels, _ = index.knn_query(q, k=K, num_threads=1)
        lat.append((time.perf_counter() - a) * 1e6)
        found.append(labels[0].tolist())
    el = time.perf_counter() - t0
    return found, len(queries) / el, lat


def build_faiss(ds):
    if faiss is None:
        return None
    faiss.omp_set_num_threads(1)
    base = ds["base"]
    cosine = ds["metric"] == "COSINE"
    if cosine:
        base = normalized(base)
    n, dim = base.shape
    r0, h0 = rss_baseline(), heap_bytes()
    if cosine:
        index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexHNSWFlat(dim, M)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    return faiss_fill(index, base, "faiss HNSWFlat build (1 thr)", r0, h0, cosine, train=False)


def faiss_fill(index, base, label, r0, h0, cosine, train):
    """Trains index (when asked) and adds base with a progress line: the build record of
    build_faiss and build_faiss_sq8 (rate, seconds, RSS and heap deltas from r0/h0 / N)."""
    n = len(base)
    t0 = time.perf_counter()
    if train:
        index.train(base[:min(n, 100000)])
    p = Progress(label, n)
    for s in range(0, n, 2000):
        e = min(n, s + 2000)
        index.add(base[s:e])
        p.update(e)
    el = time.perf_counter() - t0
    p.done()
    r1, h1 = rss_bytes(), heap_bytes()
    return {"index": index, "rate": n / el, "seconds": el, "mem_per_vec": (r1 - r0) / n,
            "heap_per_vec": (h1 - h0) / n if h0 is not None else None, "cosine": cosine}


def search_faiss(f, queries, ef):
    index = f["index"]
    index.hnsw.efSearch = ef
    if f["cosine"]:
        queries = normalized(queries)
    found, lat = [], []
    t0 = time.perf_counter()
    for i in range(len(queries)):
        a = time.perf_counter()
        _, ids = index.search(queries[i:i + 1], K)
        lat.append((time.perf_counter() - a) * 1e6)
        found.append(ids[0].tolist())
    el = time.perf_counter() - t0
    return found, len(queries) / el, lat


# --------------------------------------------------------------------------- one data set

def run_dataset(args, ds, coll):
    base, queries = ds["base"], ds["queries"]
    n, dim = base.shape
    print_section("%s: %d x %d (%s), %d queries, k=%d, M=%d, ef_construction=%d"
                  % (ds["name"], n, dim, ds["metric"], len(queries), K, M, EF_CONSTRUCTION))

    truth, truth_how, truth_s = ground_truth(ds)
    print("ground truth: %s (%.1f s)" % (truth_how, truth_s))

    ph = Phenix(args.host, args.port, coll, ds)
    pl = ph.load()
    hl = build_hnswlib(ds)
    fl = build_faiss(ds)

    info = pl["info"]
    mem_fields = {k: v for k, v in info.items()
                  if k.startswith("memory") or k.endswith("_bytes")}
    rows = [["Phenix (server, 1 pipelined client)", fmt(pl["rate"]), fmt(pl["seconds"], "%.1f"),
             fmt(pl["rss_per_vec"]), fmt(pl["mem_per_vec"])]]
    for label, b in (("hnswlib (1 thread)", hl), ("faiss HNSWFlat (1 thread)", fl)):
        if b is None:
            rows.append([label, NOT_INSTALLED, "-", "-", "-"])
        else:
            rows.append([label, fmt(b["rate"]), fmt(b["seconds"], "%.1f"), fmt(b["mem_per_vec"]),
                         fmt(b["heap_per_vec"])])
    rows.append(["ratio Phenix/hnswlib", ratio(pl["rate"], hl and hl["rate"]), "-",
                 ratio(pl["rss_per_vec"], hl and hl["mem_per_vec"]),
                 ratio(pl["mem_per_vec"], hl and hl["heap_per_vec"])])
    print_table("Insert (bytes/vector: RSS delta / N, and allocated: Phenix INFO used_memory "
                "delta / N, references malloc in-use delta / N)",
                ["", "vectors/s", "seconds", "RSS B/vec", "alloc B/vec"], rows)
    print("Phenix PH.INFO %s: %s" % (coll, ", ".join(
        "%s=%s (%.0f B/vec)" % (k, v, int(v) / n) if str(v).lstrip("-").isdigit() else "%s=%s" % (k, v)
        for k, v in sorted(mem_fields.items()))))
    print("raw vector size: %d bytes" % (4 * dim))

    # Each measurement is repeated args.repeats times, the systems interleaved, and the
    # best run kept (the machine may be shared: the best run is the least disturbed).
    results = {"phenix": {}, "hnswlib": {}, "faiss": {}}
    for ef in args.ef:
        ef_eff = max(ef, K)
        for _ in range(args.repeats):
            f, qps, usec = ph.search_pipelined(queries, ef_eff)
            best = results["phenix"].get(ef)
            if best is None or usec < best["usec"]:
                results["phenix"][ef] = {"recall": recall_at_k(f, truth), "qps": qps, "usec": usec}
            if best is not None:
                results["phenix"][ef]["qps"] = max(qps, best["qps"])
            for lib, built, fn in (("hnswlib", hl, search_hnswlib), ("faiss", fl, search_faiss)):
                if built is None:
                    continue
                f, qps, lat = fn(built, queries, ef_eff)
                best = results[lib].get(ef)
                if best is None or qps > best["qps"]:
                    results[lib][ef] = {"recall": recall_at_k(f, truth), "qps": qps,
                                        "usec": 1e6 / qps, "lat": lat}
        pr = results["phenix"][ef]
        sys.stderr.write("  ef %-4d  Phenix recall %.4f  %.0f q/s  server %.1f us/q\n"
                         % (ef, pr["recall"], pr["qps"], pr["usec"]))
        sys.stderr.flush()

    rows = []
    for ef in args.ef:
        p = results["phenix"][ef]
        row = [str(ef), "%.4f" % p["recall"], fmt(p["qps"]), fmt(p["usec"], "%.1f")]
        for lib in ("hnswlib", "faiss"):
            r = results[lib].get(ef)
            if r is None:
                row += [NOT_INSTALLED, "-", "-"]
            else:
                row += ["%.4f" % r["recall"], fmt(r["qps"]), fmt(r["usec"], "%.1f")]
        h = results["hnswlib"].get(ef)
        row.append(ratio(p["usec"], h and h["usec"]))
        rows.append(row)
    print_table("Search, k=%d, %d queries, best of %d runs (Phenix q/s: end to end, one pipelined "
                "client; Ph srv us/q: INFO commandstats usec_per_call; references: one query per "
                "call from Python, 1 thread, Python call overhead included)"
                % (K, len(queries), args.repeats),
                ["ef", "Ph recall", "Ph q/s", "Ph srv us/q", "hnsw recall", "hnsw q/s",
                 "hnsw us/q", "faiss recall", "faiss q/s", "faiss us/q", "Ph srv/hnsw"],
                rows)

    # Latency at the smallest ef that reaches recall 0.95, per system.
    def first_ef(res):
        for ef in args.ef:
            if ef in res and res[ef]["recall"] >= args.target_recall:
                return ef
        return None

    rows = []
    ph_ef = first_ef(results["phenix"])
    if ph_ef is not None:
        lat, srv = None, None
        for _ in range(args.repeats):
            l, sv = ph.latencies(queries, max(ph_ef, K))
            if lat is None or percentile(l, 50) < percentile(lat, 50):
                lat, srv = l, sv
        rows.append(["Phenix (round trip, 1 query in flight)", str(ph_ef),
                     "%.4f" % results["phenix"][ph_ef]["recall"],
                     fmt(percentile(lat, 50), "%.1f"), fmt(percentile(lat, 99), "%.1f"),
                     fmt(srv, "%.1f")])
    else:
        rows.append(["Phenix", "none reaches %.2f" % args.target_recall, "-", "-", "-", "-"])
    hl_ef = None
    for lib, label in (("hnswlib", "hnswlib (knn_query, 1 thread)"),
                       ("faiss", "faiss HNSWFlat (search, 1 thread)")):
        built = hl if lib == "hnswlib" else fl
        if built is None:
            rows.append([label, NOT_INSTALLED, "-", "-", "-", "-"])
            continue
        ef = first_ef(results[lib])
        if lib == "hnswlib":
            hl_ef = ef
        if ef is None:
            rows.append([label, "none reaches %.2f" % args.target_recall, "-", "-", "-", "-"])
            continue
        lat = results[lib][ef]["lat"]
        rows.append([label, str(ef), "%.4f" % results[lib][ef]["recall"],
                     fmt(percentile(lat, 50), "%.1f"), fmt(percentile(lat, 99), "%.1f"),
                     fmt(results[lib][ef]["usec"], "%.1f")])
    print_table("Latency at the smallest ef with recall@10 >= %.2f (microseconds, best of %d runs)"
                % (args.target_recall, args.repeats),
                ["", "ef", "recall", "p50", "p99", "mean/q (Ph: server)"], rows)

    # The goals of the issue, as measured here.
    print()
    print("Goals (issue 4):")
    if ph_ef is not None and hl_ef is not None:
        h_us = results["hnswlib"][hl_ef]["usec"]
        p_us = results["phenix"][ph_ef]["usec"]
        print("  server time/query at recall %.2f: Phenix %.1f us (ef %d) vs hnswlib %.1f us (ef %d)"
              " = %.2fx (goal <= 0.70x)" % (args.target_recall, p_us, ph_ef, h_us, hl_ef, p_us / h_us))
    else:
        print("  server time/query at recall %.2f: n/a (%s)" % (
            args.target_recall, "hnswlib not installed" if hl is None else "recall not reached"))
    if hl is not None:
        print("  insert rate: Phenix %.0f/s vs hnswlib %.0f/s = %.2fx (goal >= 1.00x)"
              % (pl["rate"], hl["rate"], pl["rate"] / hl["rate"]))
        print("  memory/vector: Phenix used_memory %.0f B vs hnswlib RSS %.0f B = %s (goal <= 1.00x)"
              % (pl["mem_per_vec"], hl["mem_per_vec"], ratio(pl["mem_per_vec"], hl["mem_per_vec"])))
    if ph_ef is not None:
        print("  Phenix p99 round trip at ef %d: see the latency table (goal < 1000 us on 1M x 128)"
              % ph_ef)
    sys.stdout.flush()

    ph.drop()
    return results



# --------------------------------------------------------------------------- quantized

QUANT_MODES = (
    ("fp32", ()),
    ("Q8", ("QUANT", "Q8")),
    ("Q8 NOEXACT", ("QUANT", "Q8", "NOEXACT")),
    ("Q8 ONDISK", ("QUANT", "Q8", "ONDISK")),
    ("BIN", ("QUANT", "BIN")),
    ("BIN ONDISK", ("QUANT", "BIN", "ONDISK")),
)


def build_faiss_sq8(ds):
    """faiss IndexHNSWSQ (QT_8bit: per-dimension min/max, 8 bits), same M and efConstruction."""
    if faiss is None:
        return None
    base = ds["base"]
    cosine = ds["metric"] == "COSINE"
    if cosine:
        base = normalized(base)
    n, dim = base.shape
    r0, h0 = rss_baseline(), heap_bytes()
    metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, M, metric)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    return faiss_fill(index, base, "faiss HNSWSQ8 build (1 thr)", r0, h0, cosine, train=True)


def run_quantized(args, ds, coll):
    """QUANT Q8 / BIN (+ exact rescoring) and NOEXACT against fp32 on the same data, and
    faiss IndexHNSWSQ (8-bit) as the reference: bytes/vector by part, build time,
    recall@10 and queries/s per ef (issue 8)."""
    base, queries = ds["base"], ds["queries"]
    n, dim = base.shape
    print_section("Quantized search: %s, %d x %d (%s), %d queries, k=%d, M=%d, ef_construction=%d"
                  % (ds["name"], n, dim, ds["metric"], len(queries), K, M, EF_CONSTRUCTION))
    truth, truth_how, _ = ground_truth(ds)
    efs = args.quant_ef
    rows, mem_rows, res = [], [], {}
    for label, extra in QUANT_MODES:
        if label.startswith("BIN") and ds["metric"] == "L2" and ("NOEXACT" in extra or "ONDISK" in extra):
            continue
        if args.quant_modes and label not in args.quant_modes:
            continue
        ph = Phenix(args.host, args.port, coll, ds)
        pl = ph.load(extra)
        info = pl["info"]
        bpv = info.get("bytes_per_vector") or {}
        if isinstance(bpv, list):
            bpv = dict(zip(bpv[0::2], bpv[1::2]))
        bpv = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in bpv.items()}
        mem_rows.append([label, fmt(pl["seconds"], "%.1f"), fmt(pl["mem_per_vec"]),
                         fmt(bpv.get("codes", 0)), fmt(bpv.get("exact_vectors", 0)),
                         fmt(bpv.get("graph", 0)), fmt(bpv.get("other", 0)),
                         fmt(bpv.get("exact_vectors_on_disk", 0))])
        res[label] = {"mem": pl["mem_per_vec"], "vecpart": bpv.get("codes", 0) + bpv.get("exact_vectors", 0),
                      "ef": {}}
        for ef in efs:
            best = None
            for _ in range(args.repeats):
                f, qps, usec = ph.search_pipelined(queries, max(ef, K))
                if best is None or usec < best["usec"]:
                    best = {"recall": recall_at_k(f, truth), "qps": qps, "usec": usec}
            res[label]["ef"][ef] = best
            sys.stderr.write("  %-11s ef %-4d recall %.4f  %.0f q/s  server %.1f us/q\n"
                             % (label, ef, best["recall"], best["qps"], best["usec"]))
        res[label]["rescore"] = {}
        for r in (args.quant_rescore if extra else ()):  # a RESCORE sweep at the largest ef
            f, qps, usec = ph.search_pipelined(queries, max(efs), ("RESCORE", r))
            res[label]["rescore"][r] = {"recall": recall_at_k(f, truth), "qps": qps, "usec": usec}
            sys.stderr.write("  %-11s ef %-4d RESCORE %-3d recall %.4f  server %.1f us/q\n"
                             % (label, max(efs), r, res[label]["rescore"][r]["recall"], usec))
        ph.drop()
    fs = build_faiss_sq8(ds) if not args.quant_modes or "faiss SQ8" in args.quant_modes else None
    if fs is not None:
        mem_rows.append(["faiss HNSWSQ8", fmt(fs["seconds"], "%.1f"), fmt(fs["mem_per_vec"]),
                         "-", "-", "-", "-", "-"])
        res["faiss SQ8"] = {"ef": {}}
        for ef in efs:
            best = None
            for _ in range(args.repeats):
                f, qps, lat = search_faiss(fs, queries, max(ef, K))
                if best is None or qps > best["qps"]:
                    best = {"recall": recall_at_k(f, truth), "qps": qps, "usec": 1e6 / qps}
            res["faiss SQ8"]["ef"][ef] = best
    print_table("Build and memory (Phenix: used_memory delta / N and PH.INFO bytes_per_vector; "
                "faiss: RSS delta / N)",
                ["mode", "build s", "B/vec", "codes", "exact vecs", "graph", "other", "on disk"], mem_rows)
    labels = [l for l, _ in QUANT_MODES if l in res] + (["faiss SQ8"] if "faiss SQ8" in res else [])
    for ef in efs:
        rows.append([str(ef)] + ["%.4f / %s / %s" % (res[l]["ef"][ef]["recall"], fmt(res[l]["ef"][ef]["qps"]),
                                                     fmt(res[l]["ef"][ef]["usec"], "%.1f")) for l in labels])
    print_table("recall@10 / q/s / us per query (Phenix: server side, INFO commandstats; faiss: one query "
                "per call, 1 thread), best of %d" % args.repeats, ["ef"] + labels, rows)
    sweep = [[l, str(r), "%.4f" % v["recall"], fmt(v["usec"], "%.1f")]
             for l in labels if l in res and res[l].get("rescore") for r, v in sorted(res[l]["rescore"].items())]
    if sweep:
        print_table("RESCORE sweep at ef %d (the walk keeps max(ef, K x RESCORE) candidates)" % max(efs),
                    ["mode", "RESCORE", "recall@10", "server us/q"], sweep)
    print()
    print("Goals (issue 8):")
    f32 = res.get("fp32")
    for l in ("Q8", "Q8 NOEXACT", "Q8 ONDISK"):
        if l not in res or f32 is None:
            continue
        drops = [f32["ef"][ef]["recall"] - res[l]["ef"][ef]["recall"] for ef in efs]
        print("  %s: recall@10 loss vs fp32 at the same ef: max %.4f (goal <= 0.01); memory "
              "used_memory %.0f vs %.0f B/vec = %.2fx, vector part %.0f vs %.0f B = %.2fx (goal <= 0.35x)"
              % (l, max(drops), res[l]["mem"], f32["mem"], res[l]["mem"] / f32["mem"],
                 res[l]["vecpart"], f32["vecpart"], res[l]["vecpart"] / max(f32["vecpart"], 1)))
    for l in ("BIN", "BIN ONDISK"):
        if l in res:
            best = max([res[l]["ef"][ef]["recall"] for ef in efs] + [v["recall"] for v in res[l]["rescore"].values()])
            print("  %s + rescoring: best recall@10 %.4f (goal >= 0.90 on the 1M x 128 set; this set: %d x %d)"
                  % (l, best, n, dim))
    print("  (ONDISK: the exact vectors are in a file in the server's dir, read back for rescoring;"
          " they cost page cache, not heap: 'exact vecs' above is heap only)")
    if "faiss SQ8" in res and "Q8" in res:
        for ef in efs:
            a, b = res["Q8"]["ef"][ef], res["faiss SQ8"]["ef"][ef]
            print("  ef %d: Q8 recall %.4f vs faiss SQ8 %.4f; server us/q %.1f vs faiss %.1f = %.2fx"
                  % (ef, a["recall"], b["recall"], a["usec"], b["usec"], a["usec"] / b["usec"]))
    sys.stdout.flush()
    return res


# --------------------------------------------------------------------------- IVF-PQ

def ivf_params(ds, args):
    n, dim = ds["base"].shape
    nlist = args.ivf_nlist or (1024 if n >= 50000 else 256)
    m = args.ivf_m or 16
    while dim % m:
        m -= 1
    return nlist, m


def run_ivfpq(args, ds, coll):
    """INDEX IVFPQ against faiss IndexIVFPQ with the same nlist, m, nbits (8) and nprobe:
    train/encode time, bytes/vector, recall@10 and server us/query per nprobe (issue 8)."""
    base, queries = ds["base"], ds["queries"]
    n, dim = base.shape
    nlist, m = ivf_params(ds, args)
    if n < 39 * max(nlist, 256):  # ivfpq_min_train: below it the index never trains
        print()
        print("IVF-PQ: skipped, %d vectors are fewer than the %d an IVFPQ collection with NLIST %d "
              "trains on" % (n, 39 * max(nlist, 256), nlist))
        return {}
    print_section("IVF-PQ: %s, %d x %d (%s), %d queries, k=%d, nlist=%d, m=%d, nbits=8"
                  % (ds["name"], n, dim, ds["metric"], len(queries), K, nlist, m))
    truth, _, _ = ground_truth(ds)
    res = {}
    mem_rows = []
    for label, extra in (("Phenix", ()), ("Phenix RESCORE 4", ("RESCORE", 4))):
        ph = Phenix(args.host, args.port, coll, ds)
        mem0 = ph.used_memory()
        pl = ph.load(("INDEX", "IVFPQ", "NLIST", nlist, "PQ_M", m, "NPROBE", 16) + tuple(extra))
        t0 = time.perf_counter()
        p = Progress("Phenix IVF-PQ training + encoding", 100, "%")
        while True:
            info = ph.ph_info()
            st = info.get("index_state")
            p.update(int(float(info.get("index_progress", 0))) if st != "ready" else 100)
            if st == "ready":
                break
            time.sleep(0.2)
        p.done()
        train_s = time.perf_counter() - t0
        mem1 = ph.used_memory()
        bpv = info.get("bytes_per_vector") or {}
        if isinstance(bpv, list):
            bpv = dict(zip(bpv[0::2], bpv[1::2]))
        bpv = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in bpv.items()}
        per_vec = (mem1[0] - mem0[0]) / n
        mem_rows.append([label, fmt(pl["seconds"], "%.1f"), fmt(train_s, "%.1f"), fmt(per_vec),
                         fmt(bpv.get("codes", 0)), fmt(bpv.get("graph", 0)), fmt(bpv.get("other", 0)),
                         fmt(bpv.get("exact_vectors_on_disk", 0))])
        # the index alone: codes, ids and lists, the model (PH.INFO memory_index + memory_codes +
        # the model's share of memory_other is not separated: codes + ids/lists + model bytes)
        model = (nlist * dim * 4 + 256 * dim * 4) / n
        res[label] = {"mem": per_vec, "index_mem": bpv.get("codes", 0) + bpv.get("graph", 0) + model, "np": {}}
        for nprobe in args.nprobe:
            best = None
            for _ in range(args.repeats):
                f, qps, usec = ph.search_pipelined(queries, 10, ("NPROBE", nprobe))
                if best is None or usec < best["usec"]:
                    best = {"recall": recall_at_k(f, truth), "qps": qps, "usec": usec}
            res[label]["np"][nprobe] = best
            sys.stderr.write("  %-17s nprobe %-4d recall %.4f  server %.1f us/q\n"
                             % (label, nprobe, best["recall"], best["usec"]))
        ph.drop()
    if faiss is not None:
        cosine = ds["metric"] == "COSINE"
        b = normalized(base) if cosine else base
        qs = normalized(queries) if cosine else queries
        r0, h0 = rss_baseline(), heap_bytes()
        metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
        quantizer = faiss.IndexFlatIP(dim) if cosine else faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, 8, metric)
        t0 = time.perf_counter()
        index.train(b[:min(n, 100000)])
        index.add(b)
        fs = time.perf_counter() - t0
        r1, h1 = rss_bytes(), heap_bytes()
        fmem = (h1 - h0) / n if h0 is not None else (r1 - r0) / n
        formula = m + 8 + (nlist * dim * 4 + 256 * dim * 4) / n
        mem_rows.append(["faiss IndexIVFPQ", "-", fmt(fs, "%.1f"), fmt(fmem), fmt(m), "8 (ids)",
                         "-", "-"])
        res["faiss"] = {"mem": fmem, "formula": formula, "np": {}}
        for nprobe in args.nprobe:
            index.nprobe = nprobe
            best = None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                _, ids = index.search(qs, K)  # one batch, one thread: no per-call overhead
                el = time.perf_counter() - t0
                found = [row.tolist() for row in ids]
                cur = {"recall": recall_at_k(found, truth), "qps": len(qs) / el, "usec": el * 1e6 / len(qs)}
                if best is None or cur["usec"] < best["usec"]:
                    best = cur
            res["faiss"]["np"][nprobe] = best
        del index
    print_table("Build and memory (Phenix: load s, training + encoding s after the load, used_memory "
                "delta / N, PH.INFO bytes_per_vector; faiss: train + add s, malloc in-use delta / N)",
                ["", "load s", "train s", "B/vec", "codes", "ids/lists", "other", "on disk"], mem_rows)
    labels = [l for l in ("Phenix", "Phenix RESCORE 4", "faiss") if l in res]
    rows = []
    for nprobe in args.nprobe:
        row = [str(nprobe)]
        for l in labels:
            r = res[l]["np"][nprobe]
            row.append("%.4f / %s" % (r["recall"], fmt(r["usec"], "%.1f")))
        if "faiss" in res:
            row.append("%.2fx" % (res["faiss"]["np"][nprobe]["usec"] / res["Phenix"]["np"][nprobe]["usec"]))
        rows.append(row)
    print_table("recall@10 / us per query (Phenix: server side, INFO commandstats; faiss: all queries in "
                "one search call, 1 thread), best of %d" % args.repeats,
                ["nprobe"] + labels + (["faiss us / Ph us"] if "faiss" in res else []), rows)
    if "faiss" in res:
        print()
        print("Goals (issue 8, IVF-PQ at the same nlist, m, nbits, nprobe):")
        d = max(abs(res["Phenix"]["np"][p]["recall"] - res["faiss"]["np"][p]["recall"]) for p in args.nprobe)
        worst = min(res["faiss"]["np"][p]["usec"] / res["Phenix"]["np"][p]["usec"] for p in args.nprobe)
        print("  recall@10 vs faiss: largest difference %.4f (goal: match)" % d)
        print("  queries/s vs faiss: worst ratio %.2fx (goal >= 1.00x; Phenix server time per query, faiss "
              "batch time per query)" % worst)
        print("  memory, the index alone: Phenix %.1f B/vec (codes + ids/lists + model) vs faiss %.1f B/vec "
              "measured (%.1f by faiss's layout) = %.2fx (goal <= 1.00x)"
              % (res["Phenix"]["index_mem"], res["faiss"]["mem"], res["faiss"]["formula"],
                 res["Phenix"]["index_mem"] / max(res["faiss"]["mem"], 1)))
        print("  memory, the whole database: Phenix %.0f B/vec (keys, entities, metadata included) = %.2fx faiss"
              % (res["Phenix"]["mem"], res["Phenix"]["mem"] / max(res["faiss"]["mem"], 1)))
    sys.stdout.flush()
    return res


# --------------------------------------------------------------------------- filtered

FILTER_SELECTIVITIES = (0.001, 0.01, 0.1, 0.5)


def filtered_truth(ds, mask):
    """Exact top K of every query among the rows where mask is true (ids of the base)."""
    base, q = ds["base"], ds["queries"]
    cosine = ds["metric"] == "COSINE"
    if cosine:
        base, q = normalized(base), normalized(q)
    rows = np.nonzero(mask)[0]
    sub = np.ascontiguousarray(base[rows])
    k = min(K, len(rows))
    out = np.empty((len(q), k), dtype=np.int64)
    if faiss is not None:
        index = faiss.IndexFlatIP(sub.shape[1]) if cosine else faiss.IndexFlatL2(sub.shape[1])
        index.add(sub)
        for s in range(0, len(q), 100):
            _, ids = index.search(q[s:s + 100], k)
            out[s:s + 100] = rows[ids]
        return out
    sn = (sub.astype(np.float64) ** 2).sum(1)
    for s in range(0, len(q), 20):
        qq = q[s:s + 20]
        dots = qq @ sub.T
        d = -dots if cosine else sn[None, :] - 2.0 * dots
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        for i in range(len(qq)):
            out[s + i] = rows[part[i][np.argsort(d[i, part[i]])]]
    return out


def run_filtered(args, ds, coll):
    """Filtered search on a collection with FIELD .cls TAG and FIELD .r NUMERIC."""
    base, queries = ds["base"], ds["queries"]
    n, dim = base.shape
    classes = ds.get("classes")
    if classes is None:
        classes = np.arange(n) % 10
    perm = np.random.default_rng(99).permutation(n)
    ef = args.filter_ef
    print()
    print("-" * 100)
    print("Filtered search on %s: %d x %d, %d queries, k=%d, EF %d; metadata {cls, r}, FIELD .cls TAG, "
          "FIELD .r NUMERIC" % (ds["name"], n, dim, len(queries), K, ef))
    print("-" * 100)
    sys.stdout.flush()
    ph = Phenix(args.host, args.port, coll, ds)
    r = ph.r
    try:
        r.execute_command("PH.DROP", coll, "DELETEDATA")
    except redis.ResponseError:
        pass
    r.execute_command("PH.CREATE", coll, "PREFIX", ph.prefix, "DIM", dim, "METRIC", ds["metric"],
                      "INDEX", "HNSW", "M", M, "EF_CONSTRUCTION", EF_CONSTRUCTION,
                      "FIELD", ".cls", "TAG", "FIELD", ".r", "NUMERIC")
    p = Progress("Phenix load with metadata", n)
    t0 = time.perf_counter()
    for s in range(0, n, BATCH):
        e = min(n, s + BATCH)
        pipe = r.pipeline(transaction=False)
        for i in range(s, e):
            pipe.execute_command("PH.SET", "%s%d" % (ph.prefix, i), "VECTOR", base[i].tobytes(), "META",
                                 '{"cls":"%d","r":%d}' % (int(classes[i]), int(perm[i])))
        for x in pipe.execute(raise_on_error=False):
            if isinstance(x, Exception):
                raise RuntimeError("PH.SET failed: %s" % x)
        p.update(e)
    p.done()
    print("loaded in %.1f s" % (time.perf_counter() - t0))

    filters = [("unfiltered", None, None)]
    cls0 = int(np.bincount(classes.astype(np.int64)).argmax())
    filters.append(('.cls == "%d"' % cls0, classes == cls0, "TAG"))
    for sel in FILTER_SELECTIVITIES:
        lim = max(1, int(round(sel * n)))
        filters.append((".r < %d" % lim, perm < lim, "NUMERIC"))
    blobs = [q.tobytes() for q in queries]

    def counts():
        info = ph.ph_info()
        return {k: int(info.get(k, 0)) for k in ("filtered_index_scan", "filtered_full_scan", "filtered_acorn",
                                                  "filtered_postfilter", "filtered_fallback")}

    rows = []
    unfiltered_qps = unfiltered_us = None
    all_ok = True
    truths = {}
    # the last row: query i with filter i mod 5 (the filters take turns,
    # as in a workload that mixes a few), measured after the others
    mixed = [f for f in filters if f[1] is not None]
    filters = filters + [("mixed (%d in turn)" % len(mixed), None, "mixed")]
    for label, mask, kind in filters:
        is_mixed = kind == "mixed"
        matches = n if mask is None else int(mask.sum())
        if is_mixed:
            truth = [truths[mixed[i % len(mixed)][0]][i] for i in range(len(blobs))]
        else:
            truth = ground_truth(ds)[0] if mask is None else filtered_truth(ds, mask)
            truths[label] = truth
        best = first = None
        worst_short = 0
        for _ in range(args.repeats):
            before = counts()
            r.execute_command("CONFIG", "RESETSTAT")
            found, short = [], 0
            t0 = time.perf_counter()
            for s in range(0, len(blobs), BATCH):
                pipe = r.pipeline(transaction=False)
                for qi, b in enumerate(blobs[s:s + BATCH], s):
                    args_ = ["PH.SEARCH", coll, "VECTOR", b, "K", K, "EF", ef]
                    if is_mixed:
                        args_ += ["FILTER", mixed[qi % len(mixed)][0]]
                    elif mask is not None:
                        args_ += ["FILTER", label]
                    pipe.execute_command(*args_)
                for keys in pipe.execute():
                    ids = ph._ids(keys)
                    if len(ids) < len(truth[len(found)]):  # min(K, the query's filter's matches)
                        short += 1
                    found.append(ids)
            el = time.perf_counter() - t0
            usec, _ = ph._server_usec_per_call()
            after = counts()
            run = {"qps": len(blobs) / el, "usec": usec, "short": short,
                   "recall": recall_filtered(found, truth),
                   "plans": {k.replace("filtered_", ""): after[k] - before[k] for k in after
                             if after[k] - before[k] > 0}}
            if best is None or run["usec"] < best["usec"]:
                best = run
            first = first or run
            worst_short = max(worst_short, short)
        if mask is None and not is_mixed:
            unfiltered_qps, unfiltered_us = best["qps"], best["usec"]
            plans = "hnsw"
        else:
            plans = ", ".join("%s %d" % (k, v) for k, v in sorted(best["plans"].items())) or "-"
        all_ok = all_ok and worst_short == 0
        filtered = mask is not None or is_mixed
        rows.append([label, kind or "-", "-" if is_mixed else "%.2f%%" % (100.0 * matches / n),
                     "-" if is_mixed else str(matches), plans,
                     "%.4f" % best["recall"], fmt(best["qps"]), fmt(best["usec"], "%.1f"),
                     ratio(best["qps"], unfiltered_qps) if filtered else "1.00x",
                     "%.4f" % first["recall"], fmt(first["usec"], "%.1f"),
                     ratio(first["qps"], unfiltered_qps) if filtered else "-",
                     str(worst_short)])
        sys.stderr.write("  %-14s recall %.4f  %.0f q/s  server %.1f us/q  %s (first run: recall %.4f, "
                         "%.1f us/q)\n" % (label, best["recall"], best["qps"], best["usec"], plans,
                                          first["recall"], first["usec"]))
        sys.stderr.flush()
    print_table("Filtered search, k=%d, EF %d, %d queries, best of %d runs (q/s end to end from one "
                "pipelined client; srv us/q from INFO commandstats; plans: PH.INFO strategy counts "
                "during the best run; 1st: the first run, the filter's first %d queries, which build "
                "its slot bitmap and list caches; short: queries with fewer than min(K, matches) "
                "results, worst run)"
                % (K, ef, len(queries), args.repeats, len(queries)),
                ["filter", "field", "selectivity", "matches", "plans", "recall@10", "q/s", "srv us/q",
                 "q/s vs unfiltered", "1st recall", "1st srv us", "1st vs unf.", "short"], rows)
    print()
    print("Goals (issue 5): recall@10 >= 0.95 at every selectivity; filtered q/s >= 0.5x unfiltered; "
          "K results when K match (short = 0): %s" % ("met" if all_ok and all(
              float(rw[5]) >= 0.95 and rw[8] != "-" and float(rw[8].rstrip("x")) >= 0.5 for rw in rows[1:])
              else "see the table"))
    print("The same goals on the first run of each filter (cold caches): %s" % ("met" if all_ok and all(
              float(rw[9]) >= 0.95 and rw[11] != "-" and float(rw[11].rstrip("x")) >= 0.5 for rw in rows[1:])
              else "see the table"))
    sys.stdout.flush()
    ph.drop()


def recall_filtered(found, truth):
    """Mean over queries of |found[:K] & truth| / |truth| (truth may hold fewer than K ids)."""
    hits = total = 0
    for f, t in zip(found, truth):
        ts = set(int(x) for x in t)
        hits += len(ts.intersection(f[:K]))
        total += len(ts)
    return hits / total if total else 1.0


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="Phenix DB vector search benchmark")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--quick", action="store_true", help="N=5000, 200 queries")
    ap.add_argument("--datasets", default="fashion,synthetic")
    ap.add_argument("--n", type=int, default=None,
                    help="synthetic set size (default BENCH_N or 100000; --quick: 5000)")
    ap.add_argument("--fashion-n", type=int, default=None,
                    help="Fashion-MNIST train vectors to load (default all 60000; --quick: 5000)")
    ap.add_argument("--queries", type=int, default=None, help="queries (default 1000; --quick 200)")
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--target-recall", type=float, default=0.95)
    ap.add_argument("--filter-ef", type=int, default=64, help="EF of the filtered-search section")
    ap.add_argument("--filtered-only", action="store_true", help="run only the filtered-search section")
    ap.add_argument("--no-filtered", action="store_true", help="skip the filtered-search section")
    ap.add_argument("--quantized-only", action="store_true", help="run only the quantized section")
    ap.add_argument("--no-quantized", action="store_true", help="skip the quantized section")
    ap.add_argument("--quant-ef", default="40,80,160", help="EF values of the quantized section")
    ap.add_argument("--quant-rescore", default="",
                    help="RESCORE values swept at the largest --quant-ef for every quantized mode")
    ap.add_argument("--quant-modes", default="",
                    help="comma-separated subset of: fp32, Q8, Q8 NOEXACT, Q8 ONDISK, BIN, BIN ONDISK, faiss SQ8")
    ap.add_argument("--nprobe", default="1,4,16,64", help="NPROBE values of the IVF-PQ section")
    ap.add_argument("--ivf-nlist", type=int, default=0, help="IVF-PQ NLIST (default 1024, 256 below 50k)")
    ap.add_argument("--ivf-m", type=int, default=0, help="IVF-PQ PQ_M (default 16, or the next divisor of dim)")
    ap.add_argument("--no-ivfpq", action="store_true", help="skip the IVF-PQ section")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs of each search measurement, best kept (default 3; --quick 1)")
    args = ap.parse_args()
    args.ef = [int(x) for x in args.ef.split(",") if x]
    args.quant_ef = [int(x) for x in args.quant_ef.split(",") if x]
    args.nprobe = [int(x) for x in args.nprobe.split(",") if x]
    args.quant_modes = [x.strip() for x in args.quant_modes.split(",") if x.strip()]
    args.quant_rescore = [int(x) for x in args.quant_rescore.split(",") if x]
    if args.quantized_only:
        args.no_filtered = True

    if args.quick:
        n_syn = args.n or 5000
        n_fm = args.fashion_n or 5000
        nq = args.queries or 200
        args.repeats = args.repeats or 1
    else:
        n_syn = args.n or int(os.environ.get("BENCH_N", "100000"))
        n_fm = args.fashion_n or 0
        nq = args.queries or 1000
        args.repeats = args.repeats or 3

    if redis is None:
        print("bench_vector: python3-redis is not installed; cannot talk to the server",
              file=sys.stderr)
        return 2
    if faiss is not None:
        faiss.omp_set_num_threads(1)

    r = redis.Redis(host=args.host, port=args.port)
    srv = r.info("server")
    print("Phenix vector benchmark")
    print("server: %s:%d phenix_version=%s event_loop=%s" % (
        args.host, args.port, srv.get("phenix_version", "?"), srv.get("event_loop", "?")))
    print("python %s, numpy %s, redis-py %s, hnswlib %s, faiss %s" % (
        sys.version.split()[0], np.__version__, getattr(redis, "__version__", "?"),
        "installed" if hnswlib is not None else NOT_INSTALLED,
        getattr(faiss, "__version__", "installed") if faiss is not None else NOT_INSTALLED))
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        print("cpu: %s x %d" % (cpu[0] if cpu else "?", len(cpu)))
    except OSError:
        pass
    print("mode: %s" % ("quick" if args.quick else "full"))
    sys.stdout.flush()

    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if name == "fashion":
            ds = load_fashion(n_fm, nq)
            if ds is None:
                print()
                print("Fashion-MNIST: %s not found (Debian package dataset-fashion-mnist %s); skipped"
                      % (FASHION_DIR, NOT_INSTALLED))
                continue
            if not args.filtered_only and not args.quantized_only:
                run_dataset(args, ds, "benchfm")
            if not args.no_filtered:
                run_filtered(args, ds, "benchfmf")
            if not args.no_quantized and not args.filtered_only:
                run_quantized(args, ds, "benchfmq")
            if not args.no_ivfpq and not args.filtered_only:
                run_ivfpq(args, ds, "benchfmivf")
        elif name == "synthetic":
            ds = make_synthetic(n_syn, nq)
            if not args.filtered_only and not args.quantized_only:
                run_dataset(args, ds, "benchsyn")
            if not args.no_filtered:
                run_filtered(args, ds, "benchsynf")
            if not args.no_quantized and not args.filtered_only:
                run_quantized(args, ds, "benchsynq")
            if not args.no_ivfpq and not args.filtered_only:
                run_ivfpq(args, ds, "benchsynivf")
        else:
            print("unknown data set %r (fashion, synthetic)" % name, file=sys.stderr)
            return 2
        del ds
    return 0


if __name__ == "__main__":
    sys.exit(main())

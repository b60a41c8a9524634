#!/usr/bin/python3
"""bench_ivfpq.py -- the IVF-PQ library (build/release/bench_ivfpq) next to faiss IndexIVFPQ.

Both sides run single-threaded on the same CPU (taskset -c CPU for the C binary, sched_setaffinity
and omp_set_num_threads(1) for faiss), with the same nlist, m, nbits 8, training rows and nprobe.
Data: the clustered synthetic set of utils/bench_vector.py (COSINE; faiss gets normalized vectors
and METRIC_INNER_PRODUCT) and Fashion-MNIST (L2). Ground truth is exact (faiss IndexFlat).

Printed per data set and nprobe: recall@10 and queries/s of each side and the q/s ratio, then the
training and add times and the bytes per vector by part. faiss memory is counted as its codes, its
8-byte ids, the coarse centroids, the PQ codebooks and, when faiss builds them (L2), its
precomputed tables (nlist x m x 256 floats).

Usage: utils/bench_ivfpq.py [--sets synthetic,fashion] [--n-syn 100000] [--nq 1000] [--cpu 1]
(run `make bench-ivfpq-bin` first).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_vector  # noqa: E402  (make_synthetic, load_fashion, normalized)

import faiss  # noqa: E402

K = 10
BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "release", "bench_ivfpq")


def exact_gt(base, queries, ip):
    index = faiss.IndexFlatIP(base.shape[1]) if ip else faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    _, ids = index.search(queries, K)
    return ids.astype(np.int32)


def run_phenix(tmp, base, queries, gt, metric, nlist, m, train_n, nprobes, cpu):
    paths = {}
    for name, arr in (("base", base), ("queries", queries), ("gt", gt)):
        paths[name] = os.path.join(tmp, name + ".bin")
        np.ascontiguousarray(arr).tofile(paths[name])
    cmd = ["taskset", "-c", str(cpu), BIN, paths["base"], str(len(base)), str(base.shape[1]),
           paths["queries"], str(len(queries)), paths["gt"], metric, str(nlist), str(m), str(train_n),
           ",".join(str(p) for p in nprobes)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_faiss(base, queries, gt, ip, nlist, m, train_n, nprobes):
    d = base.shape[1]
    metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    quantizer = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
    index = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, metric)
    t0 = time.perf_counter()
    index.train(base[:train_n])
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.add(base)
    add_s = time.perf_counter() - t0
    n = len(base)
    table = index.precomputed_table.size() * 4 if hasattr(index, "precomputed_table") else 0
    mem = {"codes": n * index.code_size, "ids": n * 8, "model": (nlist * d + 256 * d) * 4,
           "precomputed_table": table}
    mem["total"] = sum(mem.values())
    runs = []
    for nprobe in nprobes:
        index.nprobe = nprobe
        index.search(queries[:200], K)
        t0 = time.perf_counter()
        _, ids = index.search(queries, K)
        dt = time.perf_counter() - t0
        hits = sum(len(set(ids[i]) & set(gt[i])) for i in range(len(queries)))
        runs.append({"nprobe": nprobe, "recall": hits / (len(queries) * K), "qps": len(queries) / dt})
    return {"train_s": train_s, "add_s": add_s, "bytes": mem, "runs": runs}


def report(title, ph, fa, n):
    print("\n== %s (n=%d) ==" % (title, n))
    print("%7s | %9s %10s | %9s %10s | %8s" % ("nprobe", "recall", "q/s", "faiss rec", "faiss q/s",
                                              "q/s x"))
    for a, b in zip(ph["runs"], fa["runs"]):
        print("%7d | %9.4f %10.0f | %9.4f %10.0f | %7.2fx" % (a["nprobe"], a["recall"], a["qps"],
                                                             b["recall"], b["qps"], a["qps"] / b["qps"]))
    print("train s: phenix %.2f, faiss %.2f; add s: phenix %.2f, faiss %.2f" % (
        ph["train_s"], fa["train_s"], ph["add_s"], fa["add_s"]))
    pb = {k: v / n for k, v in ph["bytes"].items()}
    fb = {k: v / n for k, v in fa["bytes"].items()}
    print("bytes/vector phenix: " + ", ".join("%s %.1f" % kv for kv in pb.items()))
    print("bytes/vector faiss:  " + ", ".join("%s %.1f" % kv for kv in fb.items()))


def bench_set(args, name, ds, nlist, m, tmp):
    cosine = ds["metric"] == "COSINE"
    base, queries = ds["base"], ds["queries"][:args.nq]
    if cosine:
        base, queries = bench_vector.normalized(base), bench_vector.normalized(queries)
    base, queries = np.ascontiguousarray(base, np.float32), np.ascontiguousarray(queries, np.float32)
    gt = exact_gt(base, queries, cosine)
    train_n = min(len(base), 256 * nlist)
    nprobes = [p for p in (1, 2, 4, 8, 16, 32, 64) if p <= nlist]
    ph = run_phenix(tmp, base, queries, gt, "COSINE" if cosine else "L2", nlist, m, train_n, nprobes, args.cpu)
    fa = run_faiss(base, queries, gt, cosine, nlist, m, train_n, nprobes)
    report("%s %s nlist=%d m=%d nbits=8 (%s, isa %s)" % (name, ds["metric"], nlist, m,
                                                       "IP on normalized" if cosine else "L2", ph["isa"]),
           ph, fa, len(base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="synthetic,fashion")
    ap.add_argument("--n-syn", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--m-syn", type=int, default=16)
    ap.add_argument("--m-fashion", type=int, default=16)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        print("build it first: make bench-ivfpq-bin", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {args.cpu})
    faiss.omp_set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            if name == "synthetic":
                bench_set(args, "synthetic", bench_vector.make_synthetic(args.n_syn, args.nq), 1024,
                          args.m_syn, tmp)
            elif name == "fashion":
                ds = bench_vector.load_fashion(0, args.nq)
                if ds is None:
                    print("Fashion-MNIST not installed (dataset-fashion-mnist)", file=sys.stderr)
                    continue
                bench_set(args, "Fashion-MNIST", ds, 256, args.m_fashion, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())

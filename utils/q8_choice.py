#!/usr/bin/python3
"""utils/q8_choice.py -- the measurement behind QUANT Q8's design choice (src/quant.c).

Issue 8 leaves the int8 scheme to a measured choice: one scale per vector (symmetric,
what src/quant.c does) or one range per dimension (faiss's SQ8: min/max per component
over the data, 256 levels). This script compares the two on the benchmark's data sets by
what the HNSW walk depends on, the ranking: for each scheme it decodes every base vector,
ranks the base by distance to each fp32 query (brute force, exact on the decoded
vectors, which is what both kernels compute), and prints

  * recall@10 of that ranking against the exact fp32 top 10 (no rescoring);
  * recall@10 after rescoring the best 10 * R by exact distance, R = 2 (Q8's default)
    and 4;
  * the mean squared reconstruction error relative to the mean squared norm.

Usage: /usr/bin/python3 utils/q8_choice.py [--datasets fashion,synthetic] [--n N]
       [--queries Q]
Data: Fashion-MNIST from Debian's dataset-fashion-mnist (L2) and the benchmark's
synthetic clustered set (COSINE, normalized first, as the server does).
The per-dimension quantizer is fitted on the whole base set (its best case: a real
collection would fit it on a sample and re-fit when ranges move)."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_vector as bv  # noqa: E402  (the benchmark's loaders, same data)


def per_vector(x):
    """Symmetric int8 with one scale per vector: c = round(v * 127 / max|v|)."""
    amax = np.abs(x).max(axis=1, keepdims=True)
    amax[amax == 0] = 1.0
    c = np.clip(np.rint(x * (127.0 / amax)), -127, 127)
    return (c * (amax / 127.0)).astype(np.float32)


def per_dimension(x):
    """faiss SQ8-style: per component min/max over the data, 256 levels."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    c = np.clip(np.rint((x - lo) / span * 255.0), 0, 255)
    return (lo + c * (span / 255.0)).astype(np.float32)


def dists(base, q, metric):
    if metric == "L2":
        return (base * base).sum(axis=1)[None, :] - 2.0 * q @ base.T
    return -(q @ base.T)


def topk(d, k):
    idx = np.argpartition(d, k, axis=1)[:, :k]
    order = np.take_along_axis(d, idx, axis=1).argsort(axis=1)
    return np.take_along_axis(idx, order, axis=1)


def recall(got, truth):
    return float(np.mean([len(set(g[:10]) & set(t)) / 10.0 for g, t in zip(got, truth)]))


def evaluate(ds):
    base, queries, metric = ds["base"], ds["queries"], ds["metric"]
    if metric == "COSINE":
        base, queries = bv.normalized(base), bv.normalized(queries)
    exact_d = dists(base, queries, metric)
    truth = topk(exact_d, 10)
    print("%s: %d x %d (%s), %d queries" % (ds["name"], base.shape[0], base.shape[1], metric, len(queries)))
    print("  %-26s %12s %12s %12s %14s" % ("scheme", "recall@10", "RESCORE 2", "RESCORE 4", "rel. sq. err"))
    sqn = float(np.mean((base * base).sum(axis=1)))
    for name, fn in (("per-vector symmetric int8", per_vector), ("per-dimension min/max", per_dimension)):
        dec = fn(base)
        err = float(np.mean(((dec - base) ** 2).sum(axis=1))) / sqn
        d = dists(dec, queries, metric)
        row = [recall(topk(d, 10), truth)]
        for r in (2, 4):
            cand = topk(d, 10 * r)
            ex = np.take_along_axis(exact_d, cand, axis=1)
            row.append(recall(np.take_along_axis(cand, ex.argsort(axis=1), axis=1), truth))
        print("  %-26s %12.4f %12.4f %12.4f %14.2e" % (name, row[0], row[1], row[2], err))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="fashion,synthetic")
    ap.add_argument("--n", type=int, default=0, help="base vectors (0: 60,000 Fashion / 100,000 synthetic)")
    ap.add_argument("--queries", type=int, default=500)
    a = ap.parse_args()
    for name in a.datasets.split(","):
        if name == "fashion":
            ds = bv.load_fashion(a.n, a.queries)
            if ds is None:
                print("Fashion-MNIST: not installed (apt-get install dataset-fashion-mnist)")
                continue
        else:
            ds = bv.make_synthetic(a.n or 100000, a.queries)
        evaluate(ds)


if __name__ == "__main__":
    main()

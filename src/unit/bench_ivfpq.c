/* bench_ivfpq.c -- single-threaded benchmark of the IVF-PQ library.
 *
 * Built by `make bench-ivfpq-bin` (build/release/bench_ivfpq) and run by
 * utils/bench_ivfpq.py, which writes the inputs and compares with faiss:
 *
 *   bench_ivfpq BASE N DIM QUERIES NQ GT METRIC NLIST M TRAIN_N NPROBES
 *
 * BASE and QUERIES are raw little-endian fp32 rows (N x DIM, NQ x DIM); GT
 * holds NQ x 10 int32 ids of the exact neighbours (row numbers of BASE);
 * METRIC is L2, IP or COSINE; TRAIN_N the number of leading rows of BASE
 * to train on; NPROBES a comma-separated list. Prints one JSON object:
 * train and add seconds, bytes by part, and recall@10 and queries/s per
 * nprobe (every query once, after one warm-up pass). Labels are the row
 * numbers. */
#include "ivfpq.h"
#include "vec_dist.h"
#include "zmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *read_file(const char *path, size_t bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    void *buf = malloc(bytes);
    if (!buf || fread(buf, 1, bytes, f) != bytes) {
        fprintf(stderr, "%s: short file\n", path);
        exit(2);
    }
    fclose(f);
    return buf;
}

static double run_queries(ivfpq_index *idx, const float *q, size_t nq, size_t dim, size_t nprobe,
                          const int32_t *gt, double *recall) {
    ivfpq_search_params sp = {K, nprobe, NULL, NULL};
    uint64_t labels[K];
    size_t hits = 0;
    double t0 = now_sec();
    for (size_t i = 0; i < nq; i++) {
        int n = ivfpq_search(idx, q + i * dim, &sp, labels, NULL, NULL);
        for (int a = 0; a < n; a++)
            for (int b = 0; b < K; b++)
                if ((int64_t)labels[a] == gt[i * K + b]) {
                    hits++;
                    break;
                }
    }
    double dt = now_sec() - t0;
    *recall = (double)hits / (double)(nq * K);
    return (double)nq / dt;
}

/* The locator (ivfpq.h): labels are 0..n-1, so an array of list numbers
 * (the caller's side of the memory, as the server's entities hold it). */
static uint32_t *where;
static uint32_t where_get(uint64_t label, void *ctx) { return where[label]; }
static void where_set(uint64_t label, uint32_t list, void *ctx) { where[label] = list; }

int main(int argc, char **argv) {
    if (argc != 12) {
        fprintf(stderr, "usage: %s BASE N DIM QUERIES NQ GT METRIC NLIST M TRAIN_N NPROBES\n", argv[0]);
        return 2;
    }
    vec_dist_init();
    size_t n = strtoull(argv[2], NULL, 10), dim = strtoull(argv[3], NULL, 10);
    size_t nq = strtoull(argv[5], NULL, 10), train_n = strtoull(argv[10], NULL, 10);
    float *base = read_file(argv[1], n * dim * sizeof(float));
    float *queries = read_file(argv[4], nq * dim * sizeof(float));
    int32_t *gt = read_file(argv[6], nq * K * sizeof(int32_t));
    ivfpq_metric metric = !strcmp(argv[7], "L2") ? IVFPQ_METRIC_L2
                          : !strcmp(argv[7], "IP") ? IVFPQ_METRIC_IP
                                                   : IVFPQ_METRIC_COSINE;
    ivfpq_params p = {(uint32_t)dim, metric, (uint32_t)atoi(argv[8]), (uint32_t)atoi(argv[9]), 8, 42};
    ivfpq_index *idx;
    where = malloc(n * sizeof(uint32_t));
    ivfpq_locator loc = {where_get, where_set, NULL};
    if (!where || ivfpq_create(&p, &loc, &idx) != IVFPQ_OK) {
        fprintf(stderr, "bad parameters\n");
        return 2;
    }
    double t0 = now_sec();
    ivfpq_model *model;
    int rc = ivfpq_train(&p, base, train_n < n ? train_n : n, NULL, &model);
    if (rc != IVFPQ_OK) {
        fprintf(stderr, "train: %s\n", ivfpq_strerror(rc));
        return 1;
    }
    double train_s = now_sec() - t0;
    ivfpq_install_model(idx, model);
    t0 = now_sec();
    for (size_t i = 0; i < n; i++) ivfpq_add(idx, i, base + i * dim);
    ivfpq_shrink(idx);
    double add_s = now_sec() - t0;
    ivfpq_memory mem;
    ivfpq_memory_usage(idx, &mem);
    printf("{\"isa\": \"%s\", \"n\": %zu, \"train_s\": %.3f, \"add_s\": %.3f, ", vec_isa_name(vec_dist_current()), n,
           train_s, add_s);
    printf("\"bytes\": {\"codes\": %zu, \"ids\": %zu, \"terms\": %zu, \"lookup\": %zu, \"model\": %zu, "
           "\"pending\": %zu, \"other\": %zu, \"total\": %zu}, \"runs\": [",
           mem.codes, mem.ids, mem.terms, mem.lookup, mem.model, mem.pending, mem.other, mem.total);
    char *list = strdup(argv[11]);
    int first = 1;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        size_t nprobe = strtoull(tok, NULL, 10);
        double recall;
        run_queries(idx, queries, nq < 200 ? nq : 200, dim, nprobe, gt, &recall);
        double qps = run_queries(idx, queries, nq, dim, nprobe, gt, &recall);
        printf("%s{\"nprobe\": %zu, \"recall\": %.4f, \"qps\": %.1f}", first ? "" : ", ", nprobe, recall, qps);
        first = 0;
    }
    printf("]}\n");
    free(list);
    ivfpq_free(idx);
    free(where);
    free(base);
    free(queries);
    free(gt);
    return 0;
}

/* test_hnsw.c -- unit tests for the HNSW library (hnsw.c).
 *
 * Recall is measured against brute force on uniform random data (recall@10
 * at ef 100 must reach 0.95 for L2, IP and cosine); churn (30% deleted and
 * reinserted, 10% updated) must stay within one point of a fresh build;
 * deleting everything must give the memory back; export/import must give
 * the same answers and refuse corrupted graphs; every allocation failure
 * must leave a valid index. Labels are chosen far from slot numbers
 * (label = 1000003 * i + 7) so that mixing them up cannot pass. */
#include "hnsw.h"
#include "test.h"
#include "vec_dist.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define K 10

#include "test_rng.h"

static uint64_t label_of(size_t i) { return 1000003ULL * i + 7; }

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *random_vectors(size_t n, size_t dim) {
    float *x = malloc(n * dim * sizeof(float));
    for (size_t i = 0; i < n * dim; i++) x[i] = rng_float();
    return x;
}

static hnsw_index *new_index(uint32_t dim, hnsw_metric metric, uint32_t M, uint32_t efc, uint64_t seed) {
    hnsw_params p = {.dim = dim, .metric = metric, .M = M, .ef_construction = efc, .seed = seed};
    hnsw_index *h = NULL;
    if (hnsw_create(&p, &h) != HNSW_OK) return NULL;
    return h;
}

/* Brute-force distance with the index's definitions. */
static float true_dist(hnsw_metric metric, const float *q, const float *v, size_t dim) {
    if (metric == HNSW_METRIC_L2) return vec_l2sq(q, v, dim);
    if (metric == HNSW_METRIC_IP) return 1.0f - vec_dot(q, v, dim);
    return vec_cosine_dist(q, v, dim);
}

typedef struct truth_item {
    float d;
    uint64_t label;
} truth_item;

static int truth_cmp(const void *a, const void *b) {
    const truth_item *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d;
}

/* Exact k nearest labels among the index's current contents (read back
 * from the index itself, so churn tests need no bookkeeping), restricted to
 * labels accepted by filter when given. Returns how many. */
static size_t exact_knn(hnsw_index *h, hnsw_metric metric, const float *q, const float *orig, size_t dim,
                        bool (*filter)(uint64_t, void *), size_t k, uint64_t *out) {
    uint32_t n = hnsw_count(h);
    truth_item *all = malloc((n + 1) * sizeof(*all));
    size_t m = 0;
    for (uint32_t s = 0; s < n; s++) {
        uint64_t label = hnsw_label_at(h, s);
        if (filter && !filter(label, NULL)) continue;
        /* for cosine the index holds unit vectors: cosine distance is unchanged */
        all[m].d = true_dist(metric, q, orig ? orig : hnsw_vector_at(h, s), dim);
        all[m++].label = label;
    }
    qsort(all, m, sizeof(*all), truth_cmp);
    size_t r = m < k ? m : k;
    for (size_t i = 0; i < r; i++) out[i] = all[i].label;
    free(all);
    return r;
}

static size_t overlap(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    size_t hits = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                hits++;
                break;
            }
    return hits;
}

/* recall@K of the index at ef over nq queries; *us gets microseconds per
 * query. */
static double measure_recall(hnsw_index *h, hnsw_metric metric, const float *queries, size_t nq, size_t dim,
                             size_t ef, double *us) {
    uint64_t got[K], want[K];
    size_t hits = 0, total = 0;
    double t = 0;
    for (size_t i = 0; i < nq; i++) {
        const float *q = queries + i * dim;
        double t0 = now_sec();
        int n = hnsw_search(h, q, K, ef, NULL, NULL, got, NULL);
        t += now_sec() - t0;
        size_t nw = exact_knn(h, metric, q, NULL, dim, NULL, K, want);
        if (n < 0) return -1;
        hits += overlap(got, (size_t)n, want, nw);
        total += nw;
    }
    if (us) *us = t * 1e6 / (double)nq;
    return total ? (double)hits / (double)total : 1.0;
}

static hnsw_scratch *cached_scratch;

/* One scratch for the tests' hnsw_search_ex calls, freed at exit. */
static hnsw_scratch *hnsw_scratch_new_cached(void) {
    if (!cached_scratch) cached_scratch = hnsw_scratch_new();
    return cached_scratch;
}

static hnsw_index *build(const float *x, size_t n, size_t dim, hnsw_metric metric, uint64_t seed,
                         double *secs) {
    hnsw_index *h = new_index((uint32_t)dim, metric, 16, 200, seed);
    double t0 = now_sec();
    for (size_t i = 0; i < n; i++)
        if (hnsw_insert(h, label_of(i), x + i * dim) < 0) {
            hnsw_free(h);
            return NULL;
        }
    if (secs) *secs = now_sec() - t0;
    return h;
}

static const char *metric_name(hnsw_metric m) {
    return m == HNSW_METRIC_L2 ? "L2" : m == HNSW_METRIC_IP ? "IP" : "COSINE";
}

/* ------------------------------------------------------------------ tests */

TEST(test_create_and_empty) {
    hnsw_index *h = NULL;
    hnsw_params bad[] = {
        {0, HNSW_METRIC_L2, 16, 100, 1, HNSW_QUANT_NONE, 0, 0}, {HNSW_MAX_DIM + 1, HNSW_METRIC_L2, 16, 100, 1, HNSW_QUANT_NONE, 0, 0},
        {8, HNSW_METRIC_L2, 1, 100, 1, HNSW_QUANT_NONE, 0, 0},  {8, HNSW_METRIC_L2, HNSW_MAX_M + 1, 100, 1, HNSW_QUANT_NONE, 0, 0},
        {8, HNSW_METRIC_L2, 16, 0, 1, HNSW_QUANT_NONE, 0, 0},   {8, (hnsw_metric)9, 16, 100, 1, HNSW_QUANT_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT(hnsw_create(&bad[i], &h) == HNSW_ERR_ARG);
        EXPECT(h == NULL);
    }
    EXPECT(hnsw_create(NULL, &h) == HNSW_ERR_ARG);
    h = new_index(8, HNSW_METRIC_L2, 16, 100, 1);
    ASSERT(h);
    EXPECT(hnsw_get_params(h)->M == 16);
    EXPECT(hnsw_count(h) == 0);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    float q[8] = {0};
    uint64_t labels[4];
    EXPECT(hnsw_search(h, q, 4, 10, NULL, NULL, labels, NULL) == 0);
    EXPECT(hnsw_delete(h, 5) == HNSW_ERR_NOTFOUND);
    EXPECT(hnsw_update(h, 5, q) == HNSW_ERR_NOTFOUND);
    EXPECT(hnsw_get_vector(h, 5) == NULL);
    EXPECT(hnsw_get_level(h, 5) == HNSW_ERR_NOTFOUND);
    EXPECT(hnsw_label_at(h, 0) == 0 && hnsw_vector_at(h, 0) == NULL);
    hnsw_memory m;
    hnsw_memory_usage(h, &m);
    EXPECT(m.total > 0 && m.vectors == 0 && m.links == 0);
    EXPECT(strcmp(hnsw_strerror(HNSW_ERR_CORRUPT), "corrupt graph") == 0);
    hnsw_free(h);
    hnsw_free(NULL);
}

/* Builds n x dim for each metric and checks recall@10 at ef 100. */
static void recall_case(size_t n, size_t dim, hnsw_metric metric) {
    float *x = random_vectors(n, dim), *qs = random_vectors(100, dim);
    double secs = 0, us = 0;
    hnsw_index *h = build(x, n, dim, metric, 42, &secs);
    EXPECT(h != NULL);
    if (!h) goto out;
    EXPECT(hnsw_validate(h) == HNSW_OK);
    double r = measure_recall(h, metric, qs, 100, dim, 100, &us);
    double us10 = 0, r10 = measure_recall(h, metric, qs, 100, dim, 10, &us10);
    hnsw_memory m;
    hnsw_memory_usage(h, &m);
    printf("  %zux%zu %-6s build %.2fs (%.0f inserts/s)  recall@10 ef=100 %.4f (%.1f us/query)  "
           "ef=10 %.4f (%.1f us)  %.0f bytes/vector\n",
           n, dim, metric_name(metric), secs, n / secs, r, us, r10, us10, (double)m.total / n);
    EXPECT(r >= 0.95);
    hnsw_free(h);
out:
    free(x);
    free(qs);
}

TEST(test_recall_5000x32) {
    recall_case(5000, 32, HNSW_METRIC_L2);
    recall_case(5000, 32, HNSW_METRIC_IP);
    recall_case(5000, 32, HNSW_METRIC_COSINE);
}

TEST(test_recall_2000x128) {
    recall_case(2000, 128, HNSW_METRIC_L2);
    recall_case(2000, 128, HNSW_METRIC_IP);
    recall_case(2000, 128, HNSW_METRIC_COSINE);
}

/* Same seed, same inserts: the same graph, link for link. */
static int same_graph(const hnsw_index *a, const hnsw_index *b) {
    hnsw_graph_info ia, ib;
    hnsw_export_info(a, &ia);
    hnsw_export_info(b, &ib);
    if (ia.count != ib.count || ia.entry != ib.entry || ia.max_level != ib.max_level ||
        ia.rng_state != ib.rng_state)
        return 0;
    size_t dim = hnsw_get_params(a)->dim;
    for (uint32_t s = 0; s < ia.count; s++) {
        hnsw_node_view na, nb;
        hnsw_export_node(a, s, &na);
        hnsw_export_node(b, s, &nb);
        if (na.label != nb.label || na.level != nb.level || memcmp(na.vector, nb.vector, dim * sizeof(float)))
            return 0;
        for (uint32_t l = 0; l <= na.level; l++)
            if (na.nlinks[l] != nb.nlinks[l] ||
                memcmp(na.links[l], nb.links[l], na.nlinks[l] * sizeof(uint32_t)))
                return 0;
    }
    return 1;
}

TEST(test_deterministic_build) {
    size_t n = 1500, dim = 16;
    float *x = random_vectors(n, dim);
    hnsw_index *a = build(x, n, dim, HNSW_METRIC_L2, 7, NULL), *b = build(x, n, dim, HNSW_METRIC_L2, 7, NULL);
    hnsw_index *c = build(x, n, dim, HNSW_METRIC_L2, 8, NULL);
    ASSERT(a && b && c);
    EXPECT(same_graph(a, b));
    EXPECT(!same_graph(a, c));
    /* deletes and updates are deterministic too */
    for (size_t i = 0; i < n; i += 3) {
        EXPECT(hnsw_delete(a, label_of(i)) == HNSW_OK);
        EXPECT(hnsw_delete(b, label_of(i)) == HNSW_OK);
    }
    for (size_t i = 1; i < n; i += 30) { /* i % 3 == 1: still present */
        EXPECT(hnsw_update(a, label_of(i), x + ((i * 7) % n) * dim) == HNSW_OK);
        EXPECT(hnsw_update(b, label_of(i), x + ((i * 7) % n) * dim) == HNSW_OK);
    }
    EXPECT(same_graph(a, b));
    /* the level sequence follows the seed, and replaying levels gives the graph */
    hnsw_index *r = new_index((uint32_t)dim, HNSW_METRIC_L2, 16, 200, 99);
    ASSERT(r);
    for (size_t i = 0; i < n; i++) {
        int level = hnsw_get_level(c, label_of(i));
        EXPECT(hnsw_insert_level(r, label_of(i), x + i * dim, level) == level);
    }
    hnsw_set_rng_state(r, hnsw_rng_state(c));
    EXPECT(same_graph(c, r));
    hnsw_free(a);
    hnsw_free(b);
    hnsw_free(c);
    hnsw_free(r);
    free(x);
}

TEST(test_churn_keeps_recall) {
    size_t n = 5000, dim = 32, nq = 100;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim), *upd = random_vectors(n / 10, dim);
    /* final[i] is the vector label_of(i) ends with */
    float *final = malloc(n * dim * sizeof(float));
    memcpy(final, x, n * dim * sizeof(float));
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 3, NULL);
    ASSERT(h);
    double r0 = measure_recall(h, HNSW_METRIC_L2, qs, nq, dim, 100, NULL);
    size_t *perm = malloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_next() % (i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    double t0 = now_sec();
    size_t ndel = n * 3 / 10;
    for (size_t i = 0; i < ndel; i++) EXPECT(hnsw_delete(h, label_of(perm[i])) == HNSW_OK);
    double tdel = now_sec() - t0;
    EXPECT(hnsw_count(h) == n - ndel);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    double rdel = measure_recall(h, HNSW_METRIC_L2, qs, nq, dim, 100, NULL);
    for (size_t i = 0; i < ndel; i++) EXPECT(hnsw_insert(h, label_of(perm[i]), x + perm[i] * dim) >= 0);
    t0 = now_sec();
    for (size_t i = 0; i < n / 10; i++) {
        size_t v = perm[n - 1 - i];
        EXPECT(hnsw_update(h, label_of(v), upd + i * dim) == HNSW_OK);
        memcpy(final + v * dim, upd + i * dim, dim * sizeof(float));
    }
    double tupd = now_sec() - t0;
    EXPECT(hnsw_count(h) == n);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    double rchurn = measure_recall(h, HNSW_METRIC_L2, qs, nq, dim, 100, NULL);
    hnsw_index *fresh = build(final, n, dim, HNSW_METRIC_L2, 3, NULL);
    ASSERT(fresh);
    double rfresh = measure_recall(fresh, HNSW_METRIC_L2, qs, nq, dim, 100, NULL);
    printf("  recall@10 ef=100: initial %.4f, after 30%% deletes %.4f, after reinsert+10%% updates %.4f, "
           "fresh build %.4f; delete %.0f us, update %.0f us each\n",
           r0, rdel, rchurn, rfresh, tdel * 1e6 / ndel, tupd * 1e6 / (n / 10));
    EXPECT(rchurn >= rfresh - 0.01);
    EXPECT(rdel >= 0.95);
    for (size_t i = 0; i < n; i += 97) {
        const float *v = hnsw_get_vector(h, label_of(i));
        EXPECT(v && memcmp(v, final + i * dim, dim * sizeof(float)) == 0);
    }
    hnsw_free(h);
    hnsw_free(fresh);
    free(perm);
    free(x);
    free(qs);
    free(upd);
    free(final);
}

TEST(test_delete_all_returns_memory) {
    size_t n = 3000, dim = 24;
    float *x = random_vectors(n, dim);
    hnsw_index *h = new_index((uint32_t)dim, HNSW_METRIC_COSINE, 8, 64, 5);
    ASSERT(h);
    hnsw_memory empty, full, after;
    hnsw_memory_usage(h, &empty);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < n; i++) EXPECT(hnsw_insert(h, label_of(i), x + i * dim) >= 0);
        hnsw_memory_usage(h, &full);
        EXPECT(full.vectors >= n * dim * sizeof(float) && full.links > 0);
        uint64_t got[K];
        EXPECT(hnsw_search(h, x, K, 50, NULL, NULL, got, NULL) == K);
        /* delete in a scrambled order, checking the graph as it shrinks */
        for (size_t i = 0; i < n; i++) {
            size_t v = (i * 1237) % n; /* 1237 is prime to 3000 */
            EXPECT(hnsw_delete(h, label_of(v)) == HNSW_OK);
            if (i % 500 == 0) EXPECT(hnsw_validate(h) == HNSW_OK);
        }
        EXPECT(hnsw_count(h) == 0);
        EXPECT(hnsw_validate(h) == HNSW_OK);
        hnsw_memory_usage(h, &after);
        EXPECT(after.total == empty.total && after.vectors == 0 && after.links == 0);
        if (round == 0)
            printf("  empty %zu bytes, full %zu bytes (%.0f/vector: vectors %zu, links %zu, other %zu), "
                   "after deleting all %zu bytes\n",
                   empty.total, full.total, (double)full.total / n, full.vectors, full.links, full.other,
                   after.total);
    }
    hnsw_free(h);
    free(x);
}

TEST(test_many_chunks) {
    /* 64 KB vectors: 32 slots per 2 MB chunk, so hundreds of nodes span
     * many chunks, grow the chunk table and trim it again. Each is 2048
     * random values repeated 8 times, so the tests after this one see the
     * same random numbers as with 2048-d vectors. */
    size_t n = 700, dim = 16384, base = 2048;
    float *x0 = random_vectors(n, base), *x = malloc(n * dim * sizeof(float));
    for (size_t i = 0; i < n * dim; i++) x[i] = x0[i / dim * base + i % base];
    free(x0);
    hnsw_index *h = new_index((uint32_t)dim, HNSW_METRIC_L2, 8, 32, 37);
    ASSERT(h);
    hnsw_memory empty;
    hnsw_memory_usage(h, &empty);
    for (size_t i = 0; i < n; i++) EXPECT(hnsw_insert(h, label_of(i), x + i * dim) >= 0);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    hnsw_memory full, part;
    hnsw_memory_usage(h, &full);
    for (size_t i = 0; i < n; i++)
        if (i % 8) EXPECT(hnsw_delete(h, label_of(i)) == HNSW_OK);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    hnsw_memory_usage(h, &part);
    EXPECT(part.vectors < full.vectors / 4);
    size_t found = 0, kept = 0;
    for (size_t i = 0; i < n; i += 8, kept++) {
        const float *v = hnsw_get_vector(h, label_of(i));
        EXPECT(v && memcmp(v, x + i * dim, dim * sizeof(float)) == 0);
        uint64_t got;
        found += hnsw_search(h, x + i * dim, 1, 32, NULL, NULL, &got, NULL) == 1 && got == label_of(i);
    }
    /* 2048-d uniform noise is the hardest case for a graph; most survivors
     * must still find themselves */
    EXPECT(found * 10 >= kept * 9);
    /* the full (huge-page) chunks and the growing last one all come back */
    for (size_t i = 0; i < n; i += 8) EXPECT(hnsw_delete(h, label_of(i)) == HNSW_OK);
    hnsw_memory none;
    hnsw_memory_usage(h, &none);
    EXPECT(none.total == empty.total && none.vectors == 0);
    hnsw_free(h);
    free(x);
}

static bool accept_mod7(uint64_t label, void *ctx) {
    if (ctx) (*(size_t *)ctx)++;
    return (label / 1000003ULL) % 7 == 0;
}
static bool accept_rare(uint64_t label, void *ctx) { return (label / 1000003ULL) % 250 == 0; }
static bool accept_none(uint64_t label, void *ctx) { return false; }
static bool accept_all(uint64_t label, void *ctx) { return true; }

TEST(test_filter) {
    size_t n = 3000, dim = 16, nq = 50;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 11, NULL);
    ASSERT(h);
    size_t hits = 0, total = 0, calls = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t got[K], want[K], plain[K];
        float d[K];
        int r = hnsw_search(h, qs + i * dim, K, 100, accept_mod7, &calls, got, d);
        EXPECT(r == K);
        for (int j = 0; j < r; j++) EXPECT(accept_mod7(got[j], NULL));
        for (int j = 1; j < r; j++) EXPECT(d[j - 1] <= d[j]);
        size_t nw = exact_knn(h, HNSW_METRIC_L2, qs + i * dim, NULL, dim, accept_mod7, K, want);
        hits += overlap(got, r < 0 ? 0 : (size_t)r, want, nw);
        total += nw;
        EXPECT(hnsw_search(h, qs + i * dim, K, 100, accept_none, NULL, got, NULL) == 0);
        int ra = hnsw_search(h, qs + i * dim, K, 100, accept_all, NULL, got, NULL);
        int rp = hnsw_search(h, qs + i * dim, K, 100, NULL, NULL, plain, NULL);
        EXPECT(ra == rp && memcmp(got, plain, sizeof(got)) == 0);
    }
    /* a very selective filter (12 of 3000) still yields k results, the
     * exact ones, because the walk goes on until the list is full */
    for (size_t i = 0; i < nq; i += 10) {
        uint64_t got[K], want[K];
        int r = hnsw_search(h, qs + i * dim, K, 20, accept_rare, NULL, got, NULL);
        size_t nw = exact_knn(h, HNSW_METRIC_L2, qs + i * dim, NULL, dim, accept_rare, K, want);
        EXPECT(r == K && nw == K && overlap(got, K, want, K) == K);
    }
    double recall = (double)hits / total;
    printf("  filtered (1/7 of labels) recall@10 ef=100 %.4f, %.0f filter calls/query\n", recall,
           (double)calls / nq);
    EXPECT(calls > 0);
    EXPECT(recall >= 0.9);
    hnsw_free(h);
    free(x);
    free(qs);
}

/* Counts filter calls per label to check "at most once per node". */
typedef struct call_count {
    unsigned char *seen;
    size_t calls, repeats;
    bool (*inner)(uint64_t, void *);
} call_count;

static bool counting_filter(uint64_t label, void *ctx) {
    call_count *cc = ctx;
    size_t i = (size_t)(label / 1000003ULL);
    cc->calls++;
    if (cc->seen[i]) cc->repeats++;
    cc->seen[i] = 1;
    return cc->inner(label, NULL);
}

static bool accept_mod50(uint64_t label, void *ctx) { return (label / 1000003ULL) % 50 == 0; }
static bool accept_half(uint64_t label, void *ctx) { return (label / 1000003ULL) % 2 == 0; }

/* ACORN mode: every result matches, distances ascend, recall against the
 * filtered brute force at 50%, 1/7 and 2%, the filter runs at most once per
 * node, only matching nodes (plus the entry and transit nodes) get
 * distances, and a filter nothing satisfies gives 0 results. */
TEST(test_filter_acorn) {
    size_t n = 4000, dim = 16, nq = 40;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 17, NULL);
    ASSERT(h);
    hnsw_scratch *s = hnsw_scratch_new();
    bool (*filters[3])(uint64_t, void *) = {accept_half, accept_mod7, accept_mod50};
    double min_recall[3] = {0.95, 0.9, 0.85};
    for (int fi = 0; fi < 3; fi++) {
        size_t hits = 0, total = 0, repeats = 0, distances = 0, plain_distances = 0;
        for (size_t i = 0; i < nq; i++) {
            uint64_t got[K], want[K];
            float d[K];
            call_count cc = {calloc(n, 1), 0, 0, filters[fi]};
            hnsw_search_params sp = {K, 100, counting_filter, &cc, 0, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
            hnsw_search_stats st;
            int r = hnsw_search_ex(h, s, qs + i * dim, &sp, got, d, &st);
            EXPECT(r == K);
            for (int j = 0; j < r; j++) EXPECT(filters[fi](got[j], NULL));
            for (int j = 1; j < r; j++) EXPECT(d[j - 1] <= d[j]);
            size_t nw = exact_knn(h, HNSW_METRIC_L2, qs + i * dim, NULL, dim, filters[fi], K, want);
            hits += overlap(got, r < 0 ? 0 : (size_t)r, want, nw);
            total += nw;
            repeats += cc.repeats;
            distances += st.distances;
            hnsw_search_params plain = {K, 100, NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
            hnsw_search_ex(h, s, qs + i * dim, &plain, got, d, &st);
            plain_distances += st.distances;
            free(cc.seen);
        }
        double recall = (double)hits / total;
        printf("  ACORN filter %d recall@10 ef=100 %.4f, distances %.0f/query (unfiltered %.0f)\n", fi, recall,
               (double)distances / nq, (double)plain_distances / nq);
        EXPECT(recall >= min_recall[fi]);
        EXPECT(repeats == 0);
        /* matching nodes only: no more distances than an unfiltered walk, give or take */
        EXPECT(distances < plain_distances * 2);
    }
    uint64_t got[K];
    hnsw_search_params none = {K, 50, accept_none, NULL, 0, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    EXPECT(hnsw_search_ex(h, s, qs, &none, got, NULL, NULL) == 0);
    /* seeds: extra entry points; absent labels are skipped; the results
     * are the same good ones */
    {
        uint64_t seeds[3] = {label_of(7), 999999999ULL, label_of(49)};
        uint64_t a[K], b[K];
        hnsw_search_params plain = {K, 100, accept_mod7, NULL, 0, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
        hnsw_search_params seeded = {K, 100, accept_mod7, NULL, 0, 1, seeds, 3, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
        int ra = hnsw_search_ex(h, s, qs, &plain, a, NULL, NULL);
        int rb = hnsw_search_ex(h, s, qs, &seeded, b, NULL, NULL);
        EXPECT(ra == K && rb == K && overlap(a, K, b, K) >= K - 1);
    }
    /* a budget stops an ACORN walk too */
    hnsw_search_params budget = {K, 100, accept_mod7, NULL, 30, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    hnsw_search_stats st;
    EXPECT(hnsw_search_ex(h, s, qs, &budget, got, NULL, &st) >= 0 && st.budget_exhausted);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
    free(qs);
}

TEST(test_search_ex_and_budget) {
    size_t n = 2000, dim = 8;
    float *x = random_vectors(n, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 13, NULL);
    ASSERT(h);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(s);
    uint64_t a[K], b[K];
    float da[K], db[K];
    hnsw_search_stats st;
    hnsw_search_params sp = {K, 64, NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    int ra = hnsw_search_ex(h, s, x, &sp, a, da, &st);
    int rb = hnsw_search(h, x, K, 64, NULL, NULL, b, db);
    EXPECT(ra == K && rb == K && memcmp(a, b, sizeof(a)) == 0 && memcmp(da, db, sizeof(da)) == 0);
    EXPECT(a[0] == label_of(0) && da[0] == 0.0f);
    EXPECT(st.distances > 0 && st.visited > 0 && !st.budget_exhausted && st.filtered == 0);
    EXPECT(hnsw_scratch_memory(s) > 0);
    sp.filter = accept_mod7;
    EXPECT(hnsw_search_ex(h, s, x, &sp, a, da, &st) == K);
    EXPECT(st.filtered > 0 && a[0] == label_of(0));
    sp.filter = NULL;
    sp.max_distances = 50;
    EXPECT(hnsw_search_ex(h, s, x, &sp, a, da, &st) >= 0);
    EXPECT(st.budget_exhausted && st.distances < 50 + 2 * 16 * 2);
    EXPECT(hnsw_search_ex(h, NULL, x, &sp, a, da, &st) == HNSW_ERR_ARG);
    float bad[8] = {0, 0, NAN, 0, 0, 0, 0, 0};
    EXPECT(hnsw_search(h, bad, K, 10, NULL, NULL, a, NULL) == HNSW_ERR_ARG);
    /* a huge ef or k is clamped to the index size */
    uint64_t *all = malloc(n * sizeof(uint64_t));
    EXPECT(hnsw_search(h, x, (size_t)1 << 40, (size_t)1 << 40, NULL, NULL, all, NULL) == (int)n);
    free(all);
    hnsw_scratch_free(s);
    hnsw_scratch_free(NULL);
    hnsw_free(h);
    free(x);
}

/* Widened walks (hnsw_search_params.widen): k candidates for a post-filter
 * from an ef walk. They come sorted, once each, accepted by the walk's
 * filter; the work is exactly the ef walk's; and post-filtering them finds
 * far more of the exact filtered top K than post-filtering the walk's own ef
 * results (of which 1 in 7 match: often fewer than K). */
#define WIDEN_EF 60
TEST(test_widen) {
    size_t n = 5000, dim = 32, nq = 50, wide = 200;
    float *x = random_vectors(n, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 21, NULL);
    ASSERT(h);
    hnsw_scratch *s = hnsw_scratch_new_cached();
    uint64_t *got = malloc(wide * sizeof(uint64_t)), *full = malloc(wide * sizeof(uint64_t));
    float *d = malloc(wide * sizeof(float));
    uint64_t want[K], kept[K];
    size_t hits = 0, hits_full = 0, total = 0, sorted = 1, unique = 1, refused = 0, same_head = 1;
    uint64_t dist_wide = 0, dist_full = 0;
    for (size_t qi = 0; qi < nq; qi++) {
        const float *q = x + (qi * 97 % n) * dim;
        hnsw_search_params sp = {.k = wide, .ef = WIDEN_EF, .widen = 1};
        hnsw_search_stats st;
        int r = hnsw_search_ex(h, s, q, &sp, got, d, &st);
        EXPECT(r == (int)wide);
        if (r != (int)wide) break;
        dist_wide += st.distances;
        for (int i = 1; i < r; i++) sorted &= d[i - 1] <= d[i];
        for (int i = 0; i < r; i++)
            for (int j = i + 1; j < r; j++) unique &= got[i] != got[j];
        /* post-filter the widened list: the first K that pass accept_mod7 */
        size_t nk = 0;
        for (int i = 0; i < r && nk < K; i++)
            if (accept_mod7(got[i], NULL)) kept[nk++] = got[i];
        size_t nw = exact_knn(h, HNSW_METRIC_L2, q, NULL, dim, accept_mod7, K, want);
        hits += overlap(kept, nk, want, nw);
        total += nw;
        /* the same work without widening: what a walk of list size ef gives */
        hnsw_search_params fullp = {.k = WIDEN_EF, .ef = WIDEN_EF};
        int rf = hnsw_search_ex(h, s, q, &fullp, full, NULL, &st);
        EXPECT(rf == WIDEN_EF);
        dist_full += st.distances;
        /* the walk's own best are the first of the widened list */
        same_head &= rf == WIDEN_EF && memcmp(got, full, WIDEN_EF * sizeof(uint64_t)) == 0;
        nk = 0;
        for (int i = 0; i < rf && nk < K; i++)
            if (accept_mod7(full[i], NULL)) kept[nk++] = full[i];
        hits_full += overlap(kept, nk, want, nw);
        /* with the walk's filter, every result is accepted */
        hnsw_search_params fp = {.k = wide, .ef = WIDEN_EF, .widen = 1, .filter = accept_half};
        r = hnsw_search_ex(h, s, q, &fp, got, d, NULL);
        EXPECT(r == (int)wide); /* ~1,100 computed, half accepted */
        for (int i = 1; i < r; i++) sorted &= d[i - 1] <= d[i];
        for (int i = 0; i < r; i++) refused += !accept_half(got[i], NULL);
    }
    double recall = total ? (double)hits / (double)total : 0, recall_full = total ? (double)hits_full / (double)total : 0;
    printf("    post-filter (1 in 7), ef %d: recall@%d %.4f from the widened %zu (%.0f distances), %.4f from the walk's "
           "%d (%.0f)\n", WIDEN_EF, K, recall, wide, (double)dist_wide / nq, recall_full, WIDEN_EF, (double)dist_full / nq);
    EXPECT(sorted && unique && refused == 0 && same_head);
    EXPECT(recall >= 0.9 && recall >= recall_full + 0.05);
    EXPECT(dist_wide == dist_full); /* the same walk */
    /* a k beyond every node computed: all of them, sorted */
    uint64_t *many = malloc(n * sizeof(uint64_t));
    float *md = malloc(n * sizeof(float));
    hnsw_search_params big = {.k = n, .ef = 10, .widen = 1};
    hnsw_search_stats st;
    int r = hnsw_search_ex(h, s, x, &big, many, md, &st);
    EXPECT(r > 10 && (uint64_t)r <= st.distances && (size_t)r < n);
    for (int i = 1; i < r; i++) EXPECT(md[i - 1] <= md[i]);
    hnsw_free(h);
    /* crowds of equal distances (the selection's three-way partition) */
    h = new_index((uint32_t)dim, HNSW_METRIC_L2, 16, 200, 5);
    ASSERT(h);
    for (size_t i = 0; i < 600; i++) EXPECT(hnsw_insert(h, label_of(i), x + (i % 3) * dim) >= 0);
    for (size_t kk = 1; kk <= 400; kk += 57) {
        hnsw_search_params eq = {.k = kk, .ef = 10, .widen = 1};
        r = hnsw_search_ex(h, s, x, &eq, many, md, NULL);
        EXPECT(r > 0 && (size_t)r <= kk);
        size_t zero = 0;
        for (int i = 0; i < r; i++) zero += md[i] == 0.0f;
        for (int i = 1; i < r; i++) EXPECT(md[i - 1] <= md[i]);
        /* the copies of x[0] come first: as many as were computed, up to k */
        EXPECT(zero == (size_t)r || (zero > 0 && md[zero] > 0.0f));
    }
    free(many);
    free(md);
    free(got);
    free(full);
    free(d);
    hnsw_free(h);
    free(x);
}

/* Copies of every node's export, owned, so they can be corrupted. */
typedef struct exported {
    hnsw_graph_info info;
    hnsw_node_view *nodes;
    uint32_t *links; /* all link lists back to back */
    float *vectors;
    uint8_t *codes; /* no_exact indexes: the codes */
} exported;

static void export_all(const hnsw_index *h, exported *e) {
    hnsw_export_info(h, &e->info);
    uint32_t n = e->info.count, dim = e->info.params.dim, m = e->info.params.M;
    e->nodes = calloc(n ? n : 1, sizeof(hnsw_node_view));
    e->links = malloc(((size_t)n * (HNSW_MAX_LEVEL + 1) * 2 * m + 1) * sizeof(uint32_t));
    e->vectors = malloc(((size_t)n * dim + 1) * sizeof(float));
    size_t cb = hnsw_code_size(h);
    e->codes = malloc((size_t)n * cb + 1);
    size_t off = 0;
    for (uint32_t s = 0; s < n; s++) {
        hnsw_node_view v;
        hnsw_export_node(h, s, &v);
        hnsw_node_view *o = &e->nodes[s];
        *o = v;
        if (v.vector) {
            memcpy(e->vectors + (size_t)s * dim, v.vector, dim * sizeof(float));
            o->vector = e->vectors + (size_t)s * dim;
        }
        if (v.code) {
            memcpy(e->codes + (size_t)s * cb, v.code, cb);
            o->code = e->codes + (size_t)s * cb;
        }
        for (uint32_t l = 0; l <= v.level; l++) {
            memcpy(e->links + off, v.links[l], v.nlinks[l] * sizeof(uint32_t));
            o->links[l] = e->links + off;
            off += v.nlinks[l];
        }
    }
}

static void exported_free(exported *e) {
    free(e->nodes);
    free(e->links);
    free(e->vectors);
    free(e->codes);
}

/* Imports e; returns the first error or HNSW_OK with *out set. */
static int import_all(const exported *e, hnsw_index **out) {
    int err = hnsw_import_begin(&e->info, out);
    for (uint32_t s = 0; err == HNSW_OK && s < e->info.count; s++) err = hnsw_import_node(*out, &e->nodes[s]);
    if (err == HNSW_OK) err = hnsw_import_finish(*out);
    return err;
}

/* 1 when h and g give the same labels and distances for every query. */
static int same_answers(hnsw_index *h, hnsw_index *g, const float *qs, size_t nq, size_t dim) {
    for (size_t i = 0; i < nq; i++) {
        uint64_t a[K], b[K];
        float da[K], db[K];
        int ra = hnsw_search(h, qs + i * dim, K, 80, NULL, NULL, a, da);
        int rb = hnsw_search(g, qs + i * dim, K, 80, NULL, NULL, b, db);
        if (ra != rb || memcmp(a, b, sizeof(a)) != 0 || memcmp(da, db, sizeof(da)) != 0) return 0;
    }
    return 1;
}

TEST(test_export_import_roundtrip) {
    size_t n = 3000, dim = 24, nq = 100;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_COSINE, 17, NULL);
    ASSERT(h);
    for (size_t i = 0; i < n; i += 5) hnsw_delete(h, label_of(i)); /* exercise moved slots */
    exported e;
    export_all(h, &e);
    hnsw_index *g = NULL;
    double t0 = now_sec();
    EXPECT(import_all(&e, &g) == HNSW_OK);
    double timp = now_sec() - t0;
    ASSERT(g);
    EXPECT(hnsw_validate(g) == HNSW_OK);
    EXPECT(same_graph(h, g));
    EXPECT(hnsw_count(g) == hnsw_count(h));
    EXPECT(same_answers(h, g, qs, nq, dim));
    printf("  imported %u nodes in %.1f ms\n", hnsw_count(g), timp * 1e3);
    /* the imported index keeps working: writes follow the same path */
    EXPECT(hnsw_insert(g, label_of(0), x) >= 0);
    EXPECT(hnsw_insert(h, label_of(0), x) >= 0);
    EXPECT(hnsw_delete(g, label_of(1)) == HNSW_OK);
    EXPECT(hnsw_delete(h, label_of(1)) == HNSW_OK);
    EXPECT(hnsw_validate(g) == HNSW_OK);
    /* empty round trip */
    hnsw_index *empty = new_index(4, HNSW_METRIC_L2, 4, 10, 1), *g2 = NULL;
    exported e2;
    export_all(empty, &e2);
    EXPECT(import_all(&e2, &g2) == HNSW_OK);
    EXPECT(g2 && hnsw_count(g2) == 0 && hnsw_validate(g2) == HNSW_OK);
    exported_free(&e2);
    hnsw_free(g2);
    hnsw_free(empty);
    exported_free(&e);
    hnsw_free(g);
    hnsw_free(h);
    free(x);
    free(qs);
}

/* A caller-side label locator (hnsw_locator) as the server has one: the
 * positions of labels label_of(i), i < LOC_LABELS, live in the table that
 * is the ctx, which starts full of made-up slots (stale positions that name
 * live slots of other labels); any other label gets a made-up slot too. */
#define LOC_LABELS 8192
typedef struct loc_table {
    uint32_t pos[LOC_LABELS];
    size_t bad_sets; /* set() calls for labels the table cannot hold */
} loc_table;

static size_t loc_index(uint64_t label) {
    return label >= 7 && (label - 7) % 1000003ULL == 0 && (label - 7) / 1000003ULL < LOC_LABELS
               ? (size_t)((label - 7) / 1000003ULL)
               : LOC_LABELS;
}

static uint32_t loc_get(uint64_t label, void *ctx) {
    size_t i = loc_index(label);
    return i < LOC_LABELS ? ((loc_table *)ctx)->pos[i] : (uint32_t)(label % 13);
}

static void loc_set(uint64_t label, uint32_t slot, void *ctx) {
    loc_table *t = ctx;
    size_t i = loc_index(label);
    if (i < LOC_LABELS) t->pos[i] = slot;
    else t->bad_sets++;
}

static loc_table *loc_table_new(void) {
    loc_table *t = malloc(sizeof(*t));
    for (size_t i = 0; i < LOC_LABELS; i++) t->pos[i] = (uint32_t)((i * 7) % 50);
    t->bad_sets = 0;
    return t;
}

/* Imports e into an index that finds labels through loc. */
/* Layer-0 links are packed (3-byte ids) while an index holds at most
 * hnsw_test_narrow_slots nodes and widened to 4 bytes once when it grows
 * past that, and an in-list widens its ids when one of at least that bound
 * joins it: the graph, the searches and the export are the same either
 * way, only the link memory differs. */
static hnsw_index *build_small(const float *x, size_t n, size_t dim, uint32_t M, uint64_t seed) {
    hnsw_index *h = new_index((uint32_t)dim, HNSW_METRIC_L2, M, 2 * M, seed);
    for (size_t i = 0; h && i < n; i++)
        if (hnsw_insert(h, label_of(i), x + i * dim) < 0) {
            hnsw_free(h);
            return NULL;
        }
    return h;
}

TEST(test_packed_links) {
    size_t n = 1200, dim = 16, nq = 50;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim);
    hnsw_index *a = build(x, n, dim, HNSW_METRIC_L2, 5, NULL); /* packed throughout */
    hnsw_test_narrow_slots(500);
    hnsw_index *b = build(x, n, dim, HNSW_METRIC_L2, 5, NULL); /* widened at node 501 */
    ASSERT(a && b);
    EXPECT(hnsw_validate(a) == HNSW_OK);
    EXPECT(hnsw_validate(b) == HNSW_OK);
    EXPECT(same_graph(a, b));
    EXPECT(same_answers(a, b, qs, nq, dim));
    hnsw_memory ma, mb;
    hnsw_memory_usage(a, &ma);
    hnsw_memory_usage(b, &mb);
    /* a layer-0 record is 2 + 3 * 32 bytes packed, 4 * 33 wide */
    EXPECT(ma.links < mb.links);
    for (size_t i = 0; i < n; i += 4) {
        EXPECT(hnsw_delete(a, label_of(i)) == HNSW_OK);
        EXPECT(hnsw_delete(b, label_of(i)) == HNSW_OK);
    }
    for (size_t i = 1; i < n; i += 40) {
        EXPECT(hnsw_update(a, label_of(i), x + ((i * 7) % n) * dim) == HNSW_OK);
        EXPECT(hnsw_update(b, label_of(i), x + ((i * 7) % n) * dim) == HNSW_OK);
    }
    EXPECT(hnsw_validate(a) == HNSW_OK);
    EXPECT(hnsw_validate(b) == HNSW_OK);
    EXPECT(same_graph(a, b));
    EXPECT(same_answers(a, b, qs, nq, dim));
    /* an import of more nodes than the packed form names is wide from its
     * first node (links may name any slot below the count); of fewer, packed */
    exported e;
    export_all(a, &e);
    hnsw_index *wide = NULL, *packed = NULL;
    hnsw_memory mw, mp;
    EXPECT(hnsw_import_begin(&e.info, &wide) == HNSW_OK);
    hnsw_test_narrow_slots(SIZE_MAX);
    EXPECT(hnsw_import_begin(&e.info, &packed) == HNSW_OK);
    ASSERT(wide && packed);
    EXPECT(hnsw_import_node(wide, &e.nodes[0]) == HNSW_OK);
    EXPECT(hnsw_import_node(packed, &e.nodes[0]) == HNSW_OK);
    hnsw_memory_usage(wide, &mw);
    hnsw_memory_usage(packed, &mp);
    EXPECT(mp.links < mw.links);
    hnsw_free(wide);
    hnsw_free(packed);
    EXPECT(import_all(&e, &packed) == HNSW_OK);
    hnsw_test_narrow_slots(500);
    EXPECT(import_all(&e, &wide) == HNSW_OK);
    hnsw_test_narrow_slots(SIZE_MAX);
    ASSERT(wide && packed);
    EXPECT(hnsw_validate(wide) == HNSW_OK);
    EXPECT(same_graph(a, wide));
    EXPECT(same_graph(a, packed));
    EXPECT(same_answers(a, wide, qs, nq, dim));
    hnsw_memory_usage(wide, &mw);
    hnsw_memory_usage(packed, &mp);
    EXPECT(mp.links < mw.links);
    exported_free(&e);
    hnsw_free(wide);
    hnsw_free(packed);
    hnsw_free(a);
    hnsw_free(b);
    free(x);
    free(qs);

    /* ids of three significant bytes: 70,000 small nodes, packed and wide */
    n = 70000, dim = 2;
    x = random_vectors(n, dim);
    qs = random_vectors(nq, dim);
    a = build_small(x, n, dim, 4, 9);
    hnsw_test_narrow_slots(0);
    b = build_small(x, n, dim, 4, 9);
    hnsw_test_narrow_slots(SIZE_MAX);
    ASSERT(a && b);
    EXPECT(hnsw_validate(a) == HNSW_OK);
    EXPECT(same_graph(a, b));
    EXPECT(same_answers(a, b, qs, nq, dim));
    for (size_t i = 0; i < n; i += 3) {
        EXPECT(hnsw_delete(a, label_of(i)) == HNSW_OK);
        EXPECT(hnsw_delete(b, label_of(i)) == HNSW_OK);
    }
    EXPECT(hnsw_validate(a) == HNSW_OK);
    EXPECT(same_graph(a, b));
    EXPECT(same_answers(a, b, qs, nq, dim));
    hnsw_free(a);
    hnsw_free(b);
    free(x);
    free(qs);
}

static int import_all_located(const exported *e, const hnsw_locator *loc, hnsw_index **out) {
    int err = hnsw_import_begin(&e->info, out);
    if (err == HNSW_OK) err = hnsw_set_locator(*out, loc);
    for (uint32_t s = 0; err == HNSW_OK && s < e->info.count; s++) err = hnsw_import_node(*out, &e->nodes[s]);
    if (err == HNSW_OK) err = hnsw_import_finish(*out);
    return err;
}

/* An index with a locator makes the same graph as one with its own label
 * hash, keeps the caller's positions equal to its slots through inserts,
 * deletes (the last node moves into the hole), updates and imports, never
 * trusts a stale position, and holds less memory. */
TEST(test_locator) {
    size_t n = 3000, dim = 16, nq = 50;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim);
    loc_table *t = loc_table_new(), *t2 = loc_table_new();
    hnsw_locator loc = {loc_get, loc_set, t}, loc2 = {loc_get, loc_set, t2}, noget = {NULL, loc_set, t};
    hnsw_index *a = new_index((uint32_t)dim, HNSW_METRIC_L2, 16, 100, 41);
    hnsw_index *b = new_index((uint32_t)dim, HNSW_METRIC_L2, 16, 100, 41);
    ASSERT(a && b);
    hnsw_memory empty, ma, mb;
    hnsw_memory_usage(b, &empty);
    EXPECT(hnsw_set_locator(b, NULL) == HNSW_ERR_ARG && hnsw_set_locator(b, &noget) == HNSW_ERR_ARG);
    EXPECT(hnsw_set_locator(b, &loc) == HNSW_OK);
    for (size_t i = 0; i < n; i++) {
        int la = hnsw_insert(a, label_of(i), x + i * dim);
        EXPECT(la >= 0 && hnsw_insert(b, label_of(i), x + i * dim) == la);
    }
    EXPECT(hnsw_insert(b, label_of(7), x) == HNSW_ERR_EXISTS);
    EXPECT(hnsw_set_locator(b, &loc) == HNSW_ERR_STATE);
    EXPECT(same_graph(a, b) && hnsw_validate(b) == HNSW_OK);
    for (uint32_t s = 0; s < hnsw_count(b); s++) EXPECT(t->pos[loc_index(hnsw_label_at(b, s))] == s);
    hnsw_memory_usage(a, &ma);
    hnsw_memory_usage(b, &mb);
    EXPECT(mb.other < ma.other && mb.links == ma.links && mb.vectors == ma.vectors);
    printf("  other memory per node: %.1f B with the label hash, %.1f B with a locator\n",
           (double)ma.other / n, (double)mb.other / n);
    for (size_t i = 0; i < n; i += 3) {
        EXPECT(hnsw_delete(a, label_of(i)) == HNSW_OK && hnsw_delete(b, label_of(i)) == HNSW_OK);
        EXPECT(t->pos[i] == HNSW_NONE);
    }
    for (size_t i = 1; i < n; i += 30) { /* i % 3 == 1: still present */
        EXPECT(hnsw_update(a, label_of(i), x + ((i * 5) % n) * dim) == HNSW_OK);
        EXPECT(hnsw_update(b, label_of(i), x + ((i * 5) % n) * dim) == HNSW_OK);
    }
    EXPECT(same_graph(a, b) && hnsw_validate(b) == HNSW_OK);
    /* a stale position naming a live slot of another label means "absent" */
    t->pos[0] = 5;
    EXPECT(!hnsw_contains(b, label_of(0)) && hnsw_get_vector(b, label_of(0)) == NULL);
    EXPECT(hnsw_delete(b, label_of(0)) == HNSW_ERR_NOTFOUND && hnsw_get_level(b, label_of(0)) == HNSW_ERR_NOTFOUND);
    EXPECT(hnsw_validate(b) == HNSW_OK);
    EXPECT(hnsw_insert(a, label_of(0), x) >= 0 && hnsw_insert(b, label_of(0), x) >= 0);
    EXPECT(hnsw_contains(b, label_of(0)) && same_answers(a, b, qs, nq, dim));
    /* a wrong position for a present label is a broken invariant (I3) */
    uint32_t keep = t->pos[1];
    t->pos[1] = (keep + 1) % hnsw_count(b);
    EXPECT(hnsw_validate(b) == HNSW_ERR_CORRUPT);
    t->pos[1] = keep;
    EXPECT(hnsw_validate(b) == HNSW_OK);
    /* import into a located index sets every position; duplicates are caught */
    exported e;
    export_all(b, &e);
    hnsw_index *g = NULL;
    EXPECT(import_all_located(&e, &loc2, &g) == HNSW_OK);
    ASSERT(g);
    EXPECT(hnsw_validate(g) == HNSW_OK && same_graph(b, g) && same_answers(b, g, qs, nq, dim));
    for (uint32_t s = 0; s < hnsw_count(g); s++) EXPECT(t2->pos[loc_index(hnsw_label_at(g, s))] == s);
    hnsw_free(g);
    g = NULL;
    uint64_t lab = e.nodes[10].label;
    e.nodes[10].label = e.nodes[200].label;
    EXPECT(import_all_located(&e, &loc2, &g) == HNSW_ERR_CORRUPT);
    hnsw_free(g);
    e.nodes[10].label = lab;
    exported_free(&e);
    /* deleting everything gives the memory back */
    for (size_t i = 0; i < n; i++)
        if (hnsw_contains(b, label_of(i))) EXPECT(hnsw_delete(b, label_of(i)) == HNSW_OK);
    hnsw_memory_usage(b, &mb);
    EXPECT(hnsw_count(b) == 0 && hnsw_validate(b) == HNSW_OK && mb.total == empty.total);
    EXPECT(t->bad_sets == 0 && t2->bad_sets == 0);
    hnsw_free(a);
    hnsw_free(b);
    free(t);
    free(t2);
    free(x);
    free(qs);
}

/* The visited set tags slots with a 16-bit search epoch and is cleared when
 * the epoch passes 65535: a search that marked every node, 65534 small
 * searches later, must not make the next search see every node as
 * visited already. */
/* Islands (hnsw.h, hnsw_count_matching_links): clusters A (matching) and
 * C (not) far apart, a long cluster B (not) between them with a few
 * matching points in its middle. From a query beyond C the nearest
 * matches are B's islands, which an ACORN-1 walk started in A (seeds) and
 * at C (the entry) cannot reach: no matching node is within two hops of
 * them. Passed as seeds, they are found. */
static bool accept_cluster_a(uint64_t label, void *ctx) {
    const uint8_t *match = ctx;
    return match[(label - 7) / 1000003ULL];
}

static size_t count_found(const uint64_t *got, int r, const size_t *isl, size_t nisl) {
    size_t found = 0;
    for (int i = 0; i < r; i++)
        for (size_t j = 0; j < nisl; j++) found += got[i] == label_of(isl[j]);
    return found;
}

TEST(test_acorn_islands) {
    enum { PER = 400, NISL = 3 };
    size_t n = 3 * PER, dim = 2;
    float *x = malloc(n * dim * sizeof(float));
    uint8_t *match = calloc(n, 1);
    /* B (x in [15, 25]) first, then A around (0, 0), then C around (35, 0) */
    for (size_t i = 0; i < n; i++) {
        float r = rng_float();
        x[i * dim] = i < PER ? 20.0f + 5.0f * r : i < 2 * PER ? r : 35.0f + r;
        x[i * dim + 1] = rng_float();
        match[i] = i >= PER && i < 2 * PER;
    }
    size_t isl[NISL];
    for (size_t j = 0; j < NISL; j++) { /* two units apart: never neighbours */
        isl[j] = 100 + 100 * j;
        x[isl[j] * dim] = 18.0f + 2.0f * (float)j;
        x[isl[j] * dim + 1] = 0.0f;
        match[isl[j]] = 1;
    }
    hnsw_index *h = new_index((uint32_t)dim, HNSW_METRIC_L2, 8, 100, 5);
    ASSERT(h);
    for (size_t i = 0; i < n; i++) ASSERT(hnsw_insert(h, label_of(i), x + i * dim) >= 0);
    size_t islands = 0, linked = 0;
    for (size_t j = 0; j < NISL; j++)
        islands += hnsw_count_matching_links(h, label_of(isl[j]), accept_cluster_a, match) == 0;
    for (size_t i = PER; i < 2 * PER; i++)
        linked += hnsw_count_matching_links(h, label_of(i), accept_cluster_a, match) > 0;
    EXPECT(islands == NISL);
    EXPECT(linked == PER);
    EXPECT(hnsw_count_matching_links(h, 999999999ULL, accept_cluster_a, match) == HNSW_ERR_NOTFOUND);
    float q[2] = {45.0f, 0.0f};
    uint64_t seeds[8 + NISL], got[NISL];
    for (size_t j = 0; j < 8; j++) seeds[j] = label_of(PER + j * (PER / 8)); /* A */
    hnsw_scratch *s = hnsw_scratch_new();
    hnsw_search_params from_a = {NISL, 32, accept_cluster_a, match, 0, 1, seeds, 8, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    int r = hnsw_search_ex(h, s, q, &from_a, got, NULL, NULL);
    EXPECT(r == NISL && count_found(got, r, isl, NISL) == 0); /* the walk alone stays in A */
    for (size_t j = 0; j < NISL; j++) seeds[8 + j] = label_of(isl[j]);
    hnsw_search_params with_islands = {NISL, 32, accept_cluster_a, match, 0, 1, seeds, 8 + NISL, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    r = hnsw_search_ex(h, s, q, &with_islands, got, NULL, NULL);
    EXPECT(r == NISL && count_found(got, r, isl, NISL) == NISL);
    /* a non-matching seed is skipped, not walked */
    uint64_t bad = label_of(2 * PER + 1);
    hnsw_search_params bad_seed = {NISL, 32, accept_cluster_a, match, 0, 1, &bad, 1, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    r = hnsw_search_ex(h, s, q, &bad_seed, got, NULL, NULL);
    for (int i = 0; i < r; i++) EXPECT(accept_cluster_a(got[i], match));
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
    free(match);
}

/* Entry points (hnsw_search_params.entries): on data made of many small
 * clusters with a filter matching 1% of each (one node per cluster of
 * 100), the true filtered neighbours of a query lie in several clusters
 * near it. One entry point starts the ACORN walk in one place, and the
 * walk, seeing only matching nodes, rarely crosses to the other clusters;
 * entry points from a beam search on layer 1 start it in all of them
 * (this build: recall 0.78 from one entry point, 0.91 from 32). */
static const uint8_t *entries_match; /* exact_knn passes no filter context */
static bool accept_entries_match(uint64_t label, void *ctx) {
    (void)ctx;
    return entries_match[(label - 7) / 1000003ULL];
}

TEST(test_acorn_entries) {
    enum { NC = 200, PER = 100, DIM = 32, NQ = 100, EF = 32 };
    size_t n = (size_t)NC * PER;
    float *centers = malloc(sizeof(float) * NC * DIM), *x = malloc(sizeof(float) * n * DIM);
    float *q = malloc(sizeof(float) * NQ * DIM);
    uint8_t *match = calloc(n, 1);
    ASSERT(centers && x && q && match);
    for (size_t i = 0; i < (size_t)NC * DIM; i++) centers[i] = rng_float();
    for (size_t i = 0; i < n; i++) {
        size_t c = (i * 7919) % NC; /* clusters interleaved in insertion order */
        for (size_t d = 0; d < DIM; d++) x[i * DIM + d] = centers[c * DIM + d] + 0.1f * rng_float();
        match[i] = i % 100 == 0;
    }
    for (size_t i = 0; i < NQ; i++) {
        size_t c = (i * 31) % NC;
        for (size_t d = 0; d < DIM; d++) q[i * DIM + d] = centers[c * DIM + d] + 0.1f * rng_float();
    }
    entries_match = match;
    hnsw_index *h = build(x, n, DIM, HNSW_METRIC_COSINE, 61, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    size_t hits[2] = {0, 0}, total = 0;
    for (size_t i = 0; i < NQ; i++) {
        uint64_t want[K], got[K];
        size_t nw = exact_knn(h, HNSW_METRIC_COSINE, q + i * DIM, NULL, DIM, accept_entries_match, K, want);
        total += nw;
        for (int mode = 0; mode < 2; mode++) {
            hnsw_search_params sp = {.k = K, .ef = EF, .filter = accept_cluster_a, .filter_ctx = match, .acorn = 1,
                                     .entries = mode ? EF : 0};
            int r = hnsw_search_ex(h, s, q + i * DIM, &sp, got, NULL, NULL);
            EXPECT(r >= 0 && r <= K);
            for (int j = 0; j < r; j++) EXPECT(accept_cluster_a(got[j], match));
            if (r > 0) hits[mode] += overlap(got, (size_t)r, want, nw);
        }
    }
    double one = (double)hits[0] / (double)total, many = (double)hits[1] / (double)total;
    printf("    ACORN at 1%% on %d clusters: recall@%d %.3f from one entry point, %.3f from %d\n", NC, K, one, many,
           EF);
    EXPECT(many >= 0.85);
    EXPECT(many >= one + 0.08);
    /* entries above HNSW_MAX_ENTRIES are capped, not an overflow */
    hnsw_search_params big = {.k = K, .ef = 200, .filter = accept_cluster_a, .filter_ctx = match, .acorn = 1,
                              .entries = 100000};
    uint64_t got[K];
    EXPECT(hnsw_search_ex(h, s, q, &big, got, NULL, NULL) == K);
    /* and above ef (the result heap holds ef + 1; ASan sees an overflow) */
    hnsw_search_params narrow = {.k = K, .ef = K, .filter = accept_cluster_a, .filter_ctx = match, .acorn = 1,
                                 .entries = HNSW_MAX_ENTRIES};
    hnsw_scratch *fresh = hnsw_scratch_new();
    ASSERT(fresh);
    EXPECT(hnsw_search_ex(h, fresh, q, &narrow, got, NULL, NULL) >= 0);
    hnsw_scratch_free(fresh);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(centers);
    free(x);
    free(q);
    free(match);
}

/* match_slots: a bitmap of the matching slots gives the same walk while
 * the filter is only called for nodes whose bit is set; a clear bit
 * refuses a node the filter would accept. */
static bool accept_mod7_counted(uint64_t label, void *ctx) {
    size_t *refused_calls = ctx;
    bool ok = accept_mod7(label, NULL);
    if (!ok) (*refused_calls)++;
    return ok;
}

TEST(test_acorn_match_slots) {
    enum { N = 3000, DIM = 8 };
    float *x = random_vectors(N, DIM);
    hnsw_index *h = build(x, N, DIM, HNSW_METRIC_L2, 53, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    size_t words = (N + 63) / 64;
    uint64_t *bits = calloc(words, sizeof(uint64_t));
    for (uint32_t slot = 0; slot < hnsw_count(h); slot++)
        if (accept_mod7(hnsw_label_at(h, slot), NULL)) bits[slot >> 6] |= 1ULL << (slot & 63);
    size_t refused_plain = 0, refused_bits = 0, same = 0;
    for (size_t i = 0; i < 20; i++) {
        uint64_t a[K], b[K];
        hnsw_search_params plain = {K, 64, accept_mod7_counted, &refused_plain, 0, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
        hnsw_search_params mapped = {K, 64, accept_mod7_counted, &refused_bits, 0, 1, NULL, 0, 0, NULL, NULL, bits, words, 0, 0, NULL, 0};
        int ra = hnsw_search_ex(h, s, x + i * 97 * DIM, &plain, a, NULL, NULL);
        int rb = hnsw_search_ex(h, s, x + i * 97 * DIM, &mapped, b, NULL, NULL);
        same += ra == K && rb == K && memcmp(a, b, sizeof(a)) == 0;
    }
    EXPECT(same == 20);
    EXPECT(refused_plain > 0 && refused_bits == 0);
    /* the first result's bit cleared: it is refused */
    uint64_t a[K], b[K];
    hnsw_search_params mapped = {K, 64, accept_mod7, NULL, 0, 1, NULL, 0, 0, NULL, NULL, bits, words, 0, 0, NULL, 0};
    EXPECT(hnsw_search_ex(h, s, x, &mapped, a, NULL, NULL) == K);
    for (uint32_t slot = 0; slot < hnsw_count(h); slot++)
        if (hnsw_label_at(h, slot) == a[0]) bits[slot >> 6] &= ~(1ULL << (slot & 63));
    EXPECT(hnsw_search_ex(h, s, x, &mapped, b, NULL, NULL) == K);
    int gone = 1;
    for (int i = 0; i < K; i++) gone &= b[i] != a[0];
    EXPECT(gone);
    /* a map shorter than the index refuses the slots beyond it */
    hnsw_search_params empty = {K, 64, accept_mod7, NULL, 0, 1, NULL, 0, 0, NULL, NULL, bits, 0, 0, 0, NULL, 0};
    EXPECT(hnsw_search_ex(h, s, x, &empty, b, NULL, NULL) == 0);
    free(bits);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
}

/* The ACORN list cache: walks over the same bitmap with a cache find what
 * walks without one find (a list holds the nodes an uncached expansion
 * chooses from), later walks read the lists instead of building them, a
 * change of the graph has them rebuilt, and a cache is refused over its
 * byte bound or for a bitmap it was not made over. */
static double mod50_recall(const float *x, size_t n, size_t dim, const float *q, const uint64_t *got, int ngot) {
    uint64_t best[K];
    float bd[K];
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (!accept_mod50(label_of(i), NULL)) continue;
        float d = true_dist(HNSW_METRIC_L2, q, x + i * dim, dim);
        size_t j = nb < K ? nb++ : K;
        if (j == K && d >= bd[K - 1]) continue;
        if (j == K) j = K - 1;
        while (j > 0 && bd[j - 1] > d) bd[j] = bd[j - 1], best[j] = best[j - 1], j--;
        bd[j] = d, best[j] = label_of(i);
    }
    return nb ? (double)overlap(best, nb, got, (size_t)ngot) / (double)nb : 1;
}

/* Walks each of nq queries without the cache (plain) and with it
 * (cached, results into first[]); sets the mean recall@K of each and
 * returns 1 when every cached result matches. */
static int mod50_walks(hnsw_index *h, hnsw_scratch *s, const float *x, size_t n, size_t dim, const float *q,
                       size_t nq, const hnsw_search_params *plain, const hnsw_search_params *cached,
                       uint64_t (*first)[K], double *rp, double *rc) {
    int all_match = 1;
    *rp = *rc = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t a[K];
        int na = hnsw_search_ex(h, s, q + i * dim, plain, a, NULL, NULL);
        int nc = hnsw_search_ex(h, s, q + i * dim, cached, first[i], NULL, NULL);
        EXPECT(na == K && nc == K);
        *rp += mod50_recall(x, n, dim, q + i * dim, a, na);
        *rc += mod50_recall(x, n, dim, q + i * dim, first[i], nc);
        for (int j = 0; j < nc; j++) all_match &= accept_mod50(first[i][j], NULL);
    }
    *rp /= (double)nq, *rc /= (double)nq;
    return all_match;
}

/* 1 when walks with params give first[i] again for every query. */
static int same_walks(hnsw_index *h, hnsw_scratch *s, const float *q, size_t nq, size_t dim,
                      const hnsw_search_params *params, uint64_t (*first)[K]) {
    int same = 1;
    for (size_t i = 0; i < nq; i++) {
        uint64_t b[K];
        EXPECT(hnsw_search_ex(h, s, q + i * dim, params, b, NULL, NULL) == K);
        same &= memcmp(b, first[i], sizeof(b)) == 0;
    }
    return same;
}

static bool refuse_counted(uint64_t label, void *ctx) {
    (void)label;
    (*(size_t *)ctx)++;
    return false;
}

TEST(test_acorn_cache) {
    enum { N = 6000, DIM = 16, NQ = 80 };
    float *x = random_vectors(N, DIM), *q = random_vectors(NQ, DIM);
    hnsw_index *h = build(x, N, DIM, HNSW_METRIC_L2, 67, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    size_t words = (N + 63) / 64;
    uint64_t *bits = calloc(words, sizeof(uint64_t)), *other = calloc(words, sizeof(uint64_t));
    ASSERT(bits && other);
    for (uint32_t slot = 0; slot < hnsw_count(h); slot++)
        if (accept_mod50(hnsw_label_at(h, slot), NULL)) bits[slot >> 6] |= 1ULL << (slot & 63);
    memcpy(other, bits, words * sizeof(uint64_t));
    EXPECT(hnsw_acorn_cache_new(h, bits, words, 1000) == NULL); /* over the bound */
    EXPECT(hnsw_acorn_cache_new(h, bits, 0, SIZE_MAX) == NULL);
    hnsw_acorn_cache *c = hnsw_acorn_cache_new(h, bits, words, SIZE_MAX);
    ASSERT(c);
    EXPECT(hnsw_acorn_cache_bytes(c) >= (size_t)(N / 50) * (3 + 32) * sizeof(uint32_t));
    hnsw_search_params plain = {.k = K, .ef = 40, .filter = accept_mod50, .acorn = 1, .match_slots = bits,
                                .match_words = words};
    hnsw_search_params cached = plain;
    cached.acorn_cache = c;
    static uint64_t first[NQ][K];
    double rp, rc;
    int all_match = mod50_walks(h, s, x, N, DIM, q, NQ, &plain, &cached, first, &rp, &rc);
    printf("    ACORN 2%%: recall@%d %.3f without the cache, %.3f with it\n", K, rp, rc);
    EXPECT(all_match);
    EXPECT(rc >= 0.85 && rc >= rp - 0.02);
    uint64_t built, reused, built2, reused2;
    hnsw_acorn_cache_counts(c, &built, &reused);
    EXPECT(built > 0 && built <= (uint64_t)N / 50 && reused > 0);
    /* the same walks again: every list is read back, the results are the same */
    EXPECT(same_walks(h, s, q, NQ, DIM, &cached, first));
    hnsw_acorn_cache_counts(c, &built2, &reused2);
    EXPECT(built2 == built && reused2 > reused);
    /* match_exact: the bitmap is the whole filter, so the walk never calls
     * the filter (here one that refuses everything) and finds the same */
    hnsw_search_params exact = cached;
    size_t calls = 0;
    exact.filter = refuse_counted;
    exact.filter_ctx = &calls;
    exact.match_exact = 1;
    EXPECT(same_walks(h, s, q, NQ, DIM, &exact, first) && calls == 0);
    hnsw_acorn_cache_counts(c, &built2, &reused2);
    /* a cache over another bitmap is not used: the walk is the plain one */
    hnsw_search_params wrong = plain;
    wrong.match_slots = other;
    wrong.acorn_cache = c;
    uint64_t a[K], b[K];
    EXPECT(hnsw_search_ex(h, s, q, &wrong, a, NULL, NULL) == K);
    hnsw_acorn_cache_counts(c, &built, &reused);
    EXPECT(built == built2 && reused == reused2);
    /* a changed graph (vectors moved, slots kept): the lists are rebuilt as
     * the walks need them, and the results are still only matching nodes */
    for (size_t i = 0; i < N; i += 3) EXPECT(hnsw_update(h, label_of(i), q + (i % NQ) * DIM) == HNSW_OK);
    all_match = 1;
    for (size_t i = 0; i < NQ; i++) {
        int nb = hnsw_search_ex(h, s, q + i * DIM, &cached, b, NULL, NULL);
        EXPECT(nb == K);
        for (int j = 0; j < nb; j++) all_match &= accept_mod50(b[j], NULL);
    }
    EXPECT(all_match);
    hnsw_acorn_cache_counts(c, &built, &reused);
    EXPECT(built > built2);
    hnsw_acorn_cache_free(c);
    hnsw_acorn_cache_free(NULL);
    free(bits);
    free(other);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
    free(q);
}

/* Transit lists: a walk with seeds and layer-1 entry points enters layer 0
 * at refused nodes; with a cache their lists of nearby matches are built
 * once and read back by later walks (which then give the same results), a
 * change of the graph has them rebuilt, and the walks find what uncached
 * walks find. */
TEST(test_acorn_transit_lists) {
    enum { N = 6000, DIM = 16, NQ = 80, NSEEDS = 8 };
    float *x = random_vectors(N, DIM), *q = random_vectors(NQ, DIM);
    hnsw_index *h = build(x, N, DIM, HNSW_METRIC_L2, 71, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    size_t words = (N + 63) / 64;
    uint64_t *bits = calloc(words, sizeof(uint64_t)), seeds[NSEEDS];
    ASSERT(bits);
    for (uint32_t slot = 0; slot < hnsw_count(h); slot++)
        if (accept_mod50(hnsw_label_at(h, slot), NULL)) bits[slot >> 6] |= 1ULL << (slot & 63);
    for (size_t j = 0; j < NSEEDS; j++) seeds[j] = label_of(j * 50 * 13);
    hnsw_acorn_cache *c = hnsw_acorn_cache_new(h, bits, words, SIZE_MAX);
    ASSERT(c);
    hnsw_search_params plain = {.k = K, .ef = 40, .filter = accept_mod50, .acorn = 1, .seeds = seeds,
                                .nseeds = NSEEDS, .match_slots = bits, .match_words = words, .entries = 32};
    hnsw_search_params cached = plain;
    cached.acorn_cache = c;
    static uint64_t first[NQ][K];
    double rp, rc;
    int all_match = mod50_walks(h, s, x, N, DIM, q, NQ, &plain, &cached, first, &rp, &rc);
    printf("    ACORN 2%% from 32 entries and %d seeds: recall@%d %.3f without the cache, %.3f with it\n", NSEEDS, K,
           rp, rc);
    EXPECT(all_match);
    EXPECT(rc >= 0.85 && rc >= rp - 0.02);
    uint64_t built, reused, built2, reused2;
    hnsw_acorn_cache_transit_counts(c, &built, &reused);
    printf("    transit lists: %llu built, %llu reused in %d walks\n", (unsigned long long)built,
           (unsigned long long)reused, NQ);
    EXPECT(built > 0 && reused > 0);
    /* the same walks again: the transit lists are read back (but for
     * those of nodes whose set in the four-way table overflowed) */
    EXPECT(same_walks(h, s, q, NQ, DIM, &cached, first));
    hnsw_acorn_cache_transit_counts(c, &built2, &reused2);
    printf("    again: %llu built, %llu reused\n", (unsigned long long)(built2 - built),
           (unsigned long long)(reused2 - reused));
    EXPECT((built2 - built) * 20 < reused2 - reused);
    /* a changed graph: the transit lists are rebuilt as walks need them;
     * the first walk after the change finds every list it needs stale */
    for (size_t i = 0; i < N; i += 3) EXPECT(hnsw_update(h, label_of(i), q + (i % NQ) * DIM) == HNSW_OK);
    uint64_t one[K];
    EXPECT(hnsw_search_ex(h, s, q, &cached, one, NULL, NULL) == K);
    hnsw_acorn_cache_transit_counts(c, &built, &reused);
    EXPECT(built > built2 && reused == reused2);
    all_match = 1;
    for (size_t i = 0; i < NQ; i++) {
        uint64_t b[K];
        int nb = hnsw_search_ex(h, s, q + i * DIM, &cached, b, NULL, NULL);
        EXPECT(nb == K);
        for (int j = 0; j < nb; j++) all_match &= accept_mod50(b[j], NULL);
    }
    EXPECT(all_match);
    hnsw_acorn_cache_free(c);
    free(bits);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
    free(q);
}

/* ACORN walks use four epochs each (refused, transit, entered, via done) in the
 * visited tags: across the wrap of the 16-bit epochs, mixed with plain
 * walks, every walk gives what a fresh scratch gives. */
TEST(test_acorn_epoch_wrap) {
    enum { N = 300, DIM = 8, KK = 3 };
    float *x = random_vectors(N, DIM);
    hnsw_index *h = build(x, N, DIM, HNSW_METRIC_L2, 47, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    hnsw_search_params acorn = {KK, 8, accept_mod7, NULL, 0, 1, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0}, plain = {.k = 1, .ef = 1};
    uint64_t *want = malloc(sizeof(uint64_t) * N * KK), got[KK], one[1];
    for (size_t i = 0; i < N; i++) {
        hnsw_scratch *fresh = hnsw_scratch_new();
        EXPECT(hnsw_search_ex(h, fresh, x + i * DIM, &acorn, want + i * KK, NULL, NULL) == KK);
        hnsw_scratch_free(fresh);
    }
    size_t differ = 0;
    for (size_t i = 0; i < 50000; i++) {
        size_t qi = (i * 7) % N;
        if (i % 4 == 0) {
            hnsw_search_ex(h, s, x + qi * DIM, &plain, one, NULL, NULL);
            continue;
        }
        differ += hnsw_search_ex(h, s, x + qi * DIM, &acorn, got, NULL, NULL) != KK ||
                  memcmp(got, want + qi * KK, sizeof(got)) != 0;
    }
    EXPECT(differ == 0);
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(want);
    free(x);
}

TEST(test_epoch_wrap) {
    size_t n = 300, dim = 8;
    float *x = random_vectors(n, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_L2, 43, NULL);
    hnsw_scratch *s = hnsw_scratch_new();
    ASSERT(h && s);
    hnsw_search_params wide = {.k = K, .ef = n}, narrow = {.k = 1, .ef = 1};
    uint64_t first[K], again[K], one[1];
    EXPECT(hnsw_search_ex(h, s, x, &wide, first, NULL, NULL) == K); /* epoch 1 marks every node */
    for (int i = 0; i < 65534; i++) EXPECT(hnsw_search_ex(h, s, x + dim, &narrow, one, NULL, NULL) == 1);
    EXPECT(hnsw_search_ex(h, s, x, &wide, again, NULL, NULL) == K); /* epoch 1 again */
    EXPECT(memcmp(first, again, sizeof(first)) == 0 && first[0] == label_of(0));
    hnsw_scratch_free(s);
    hnsw_free(h);
    free(x);
}

/* Finds a node with a level-l link list of at least min links. */
static uint32_t node_with_links(const exported *e, uint32_t l, uint32_t min) {
    for (uint32_t s = 0; s < e->info.count; s++)
        if (e->nodes[s].level >= l && e->nodes[s].nlinks[l] >= min) return s;
    return HNSW_NONE;
}

static int import_fails(const exported *e) {
    hnsw_index *g = NULL;
    int err = import_all(e, &g);
    /* after a failure the index refuses further import calls */
    if (g && err != HNSW_OK) EXPECT(hnsw_import_finish(g) == HNSW_ERR_STATE);
    hnsw_free(g);
    return err == HNSW_ERR_CORRUPT;
}

TEST(test_import_rejects_corruption) {
    size_t n = 600, dim = 8;
    float *x = random_vectors(n, dim);
    hnsw_index *h = build(x, n, dim, HNSW_METRIC_COSINE, 19, NULL);
    ASSERT(h);
    exported e;
    export_all(h, &e);
    uint32_t s = node_with_links(&e, 0, 3), u = node_with_links(&e, 1, 1);
    ASSERT(s != HNSW_NONE && u != HNSW_NONE);
    uint32_t *l0 = (uint32_t *)e.nodes[s].links[0];
    uint32_t keep = l0[0];

    l0[0] = e.info.count; /* dangling id */
    EXPECT(import_fails(&e));
    l0[0] = l0[1]; /* duplicate link */
    EXPECT(import_fails(&e));
    l0[0] = s; /* self link */
    EXPECT(import_fails(&e));
    l0[0] = keep;

    uint32_t low = HNSW_NONE; /* a level-0 node linked from level 1: bad level */
    for (uint32_t i = 0; i < n && low == HNSW_NONE; i++)
        if (e.nodes[i].level == 0) low = i;
    uint32_t *l1 = (uint32_t *)e.nodes[u].links[1];
    keep = l1[0];
    l1[0] = low;
    EXPECT(import_fails(&e));
    l1[0] = keep;

    uint32_t lv = e.nodes[s].level;
    e.nodes[s].level = HNSW_MAX_LEVEL + 1; /* level out of range */
    EXPECT(import_fails(&e));
    e.nodes[s].level = lv;

    uint32_t nl = e.nodes[s].nlinks[0];
    e.nodes[s].nlinks[0] = 2 * e.info.params.M + 1; /* too many links */
    EXPECT(import_fails(&e));
    e.nodes[s].nlinks[0] = nl;

    uint64_t lab = e.nodes[s].label;
    e.nodes[s].label = e.nodes[(s + 1) % n].label; /* duplicate label */
    EXPECT(import_fails(&e));
    e.nodes[s].label = lab;

    float *v = (float *)e.nodes[s].vector, v0 = v[0];
    v[0] = NAN;
    EXPECT(import_fails(&e));
    v[0] = v0 * 3 + 1; /* not unit length for a cosine index */
    EXPECT(import_fails(&e));
    v[0] = v0;

    uint32_t entry = e.info.entry;
    e.info.entry = (entry + 1) % e.info.count; /* entry point not at the top level */
    if (e.nodes[e.info.entry].level != e.nodes[entry].level) EXPECT(import_fails(&e));
    e.info.entry = e.info.count + 5; /* entry out of range */
    EXPECT(import_fails(&e));
    e.info.entry = entry;

    e.info.count--; /* one node more than announced */
    {
        hnsw_index *g = NULL;
        int err = hnsw_import_begin(&e.info, &g);
        for (uint32_t i = 0; err == HNSW_OK && i <= e.info.count; i++) err = hnsw_import_node(g, &e.nodes[i]);
        EXPECT(err == HNSW_ERR_CORRUPT);
        hnsw_free(g);
    }
    e.info.count += 2; /* one node fewer than announced */
    {
        hnsw_index *g = NULL;
        int err = hnsw_import_begin(&e.info, &g);
        for (uint32_t i = 0; err == HNSW_OK && i + 1 < e.info.count; i++)
            err = hnsw_import_node(g, &e.nodes[i]);
        EXPECT(err == HNSW_OK);
        EXPECT(hnsw_import_finish(g) == HNSW_ERR_CORRUPT);
        EXPECT(hnsw_import_node(g, &e.nodes[0]) == HNSW_ERR_STATE);
        hnsw_free(g);
    }
    e.info.count--;

    e.info.params.M = 1; /* bad parameters */
    hnsw_index *g = NULL;
    EXPECT(hnsw_import_begin(&e.info, &g) == HNSW_ERR_ARG && g == NULL);
    e.info.params.M = 16;

    EXPECT(import_all(&e, &g) == HNSW_OK); /* and the untouched export still imports */
    EXPECT(hnsw_validate(g) == HNSW_OK);
    EXPECT(hnsw_insert(g, label_of(n), x) >= 0 && hnsw_insert(g, label_of(0), x) == HNSW_ERR_EXISTS);
    hnsw_free(g);
    exported_free(&e);
    hnsw_free(h);
    free(x);
}

TEST(test_edge_cases) {
    /* dim 1 */
    hnsw_index *h = new_index(1, HNSW_METRIC_L2, 4, 20, 1);
    ASSERT(h);
    for (int i = 0; i < 200; i++) {
        float v = (float)i;
        EXPECT(hnsw_insert(h, label_of(i), &v) >= 0);
    }
    float q = 57.2f;
    uint64_t got[300];
    float d[300];
    EXPECT(hnsw_search(h, &q, 3, 20, NULL, NULL, got, d) == 3);
    EXPECT(got[0] == label_of(57) && got[1] == label_of(58) && got[2] == label_of(56));
    /* k > count */
    EXPECT(hnsw_search(h, &q, 300, 10, NULL, NULL, got, d) == 200);
    for (int i = 1; i < 200; i++) EXPECT(d[i - 1] <= d[i]);
    /* k 0 */
    EXPECT(hnsw_search(h, &q, 0, 10, NULL, NULL, got, d) == 0);
    /* existing label, NaN, bad level */
    float v = 3;
    EXPECT(hnsw_insert(h, label_of(3), &v) == HNSW_ERR_EXISTS);
    float nan = NAN, inf = INFINITY;
    EXPECT(hnsw_insert(h, 12345, &nan) == HNSW_ERR_ARG);
    EXPECT(hnsw_insert(h, 12345, &inf) == HNSW_ERR_ARG);
    EXPECT(hnsw_update(h, label_of(3), &nan) == HNSW_ERR_ARG);
    EXPECT(hnsw_insert_level(h, 12345, &v, HNSW_MAX_LEVEL + 1) == HNSW_ERR_ARG);
    EXPECT(hnsw_insert_level(h, 12345, &v, -1) == HNSW_ERR_ARG);
    EXPECT(hnsw_insert_level(h, 12345, &v, HNSW_MAX_LEVEL) == HNSW_MAX_LEVEL);
    EXPECT(hnsw_get_level(h, 12345) == HNSW_MAX_LEVEL);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    EXPECT(hnsw_delete(h, 12345) == HNSW_OK); /* the entry point goes */
    EXPECT(hnsw_validate(h) == HNSW_OK);
    /* update: identical vector is a no-op; a new one moves the node */
    hnsw_memory m1, m2;
    hnsw_memory_usage(h, &m1);
    EXPECT(hnsw_update(h, label_of(3), &v) == HNSW_OK);
    hnsw_memory_usage(h, &m2);
    EXPECT(m1.total == m2.total);
    float far = 1000;
    EXPECT(hnsw_update(h, label_of(3), &far) == HNSW_OK);
    EXPECT(hnsw_search(h, &far, 1, 10, NULL, NULL, got, d) == 1 && got[0] == label_of(3) && d[0] == 0);
    EXPECT(*hnsw_get_vector(h, label_of(3)) == 1000);
    EXPECT(hnsw_contains(h, label_of(3)) && !hnsw_contains(h, 999));
    EXPECT(hnsw_validate(h) == HNSW_OK);
    hnsw_free(h);

    /* duplicate vectors: all at distance 0, all deletable */
    h = new_index(8, HNSW_METRIC_L2, 6, 30, 2);
    ASSERT(h);
    float same[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 0; i < 300; i++) EXPECT(hnsw_insert(h, label_of(i), same) >= 0);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    EXPECT(hnsw_search(h, same, K, 50, NULL, NULL, got, d) == K);
    EXPECT(d[0] == 0 && d[K - 1] == 0);
    for (int i = 0; i < 300; i += 2) EXPECT(hnsw_delete(h, label_of(i)) == HNSW_OK);
    EXPECT(hnsw_validate(h) == HNSW_OK);
    EXPECT(hnsw_search(h, same, K, 50, NULL, NULL, got, d) == K);
    for (int i = 0; i < K; i++) EXPECT((got[i] / 1000003) % 2 == 1);
    hnsw_free(h);

    /* cosine: zero vectors are stored and sit at distance 1 */
    h = new_index(4, HNSW_METRIC_COSINE, 4, 10, 3);
    ASSERT(h);
    float zero[4] = {0}, unit[4] = {3, 0, 0, 4};
    EXPECT(hnsw_insert(h, 1, zero) >= 0);
    EXPECT(hnsw_insert(h, 2, unit) >= 0);
    EXPECT(hnsw_search(h, unit, 2, 10, NULL, NULL, got, d) == 2);
    EXPECT(got[0] == 2 && fabsf(d[0]) < 1e-6f && got[1] == 1 && d[1] == 1.0f);
    const float *stored = hnsw_get_vector(h, 2);
    EXPECT(fabsf(stored[0] - 0.6f) < 1e-6f && fabsf(stored[3] - 0.8f) < 1e-6f);
    hnsw_free(h);

    /* the generator: hnsw_random_level advances it exactly like an insert */
    h = new_index(2, HNSW_METRIC_L2, 2, 4, 77);
    hnsw_index *h2 = new_index(2, HNSW_METRIC_L2, 2, 4, 77);
    ASSERT(h && h2);
    float p[2] = {1, 1};
    int lvl = hnsw_random_level(h);
    EXPECT(hnsw_insert(h2, 5, p) == lvl);
    EXPECT(hnsw_rng_state(h) == hnsw_rng_state(h2));
    EXPECT(hnsw_insert(h2, 5, p) == HNSW_ERR_EXISTS && hnsw_rng_state(h) == hnsw_rng_state(h2));
    int hist[HNSW_MAX_LEVEL + 1] = {0};
    for (int i = 0; i < 20000; i++) hist[hnsw_random_level(h)]++;
    EXPECT(hist[0] > 9000 && hist[0] < 11000 && hist[1] > 4000 && hist[1] < 6000); /* M=2: P(0) = 1/2 */
    hnsw_free(h);
    hnsw_free(h2);
}

/* Runs op with every possible allocation failure point; each failing run
 * must return HNSW_ERR_NOMEM with the index still valid and the count
 * unchanged, or succeed (the link-dropping degradation). */
typedef int (*op_fn)(hnsw_index *h, size_t i);

static float fail_vecs[64 * 8];

static int op_insert(hnsw_index *h, size_t i) {
    return hnsw_insert(h, label_of(100 + i), fail_vecs + (i % 64) * 8);
}
static int op_delete(hnsw_index *h, size_t i) { return hnsw_delete(h, label_of(i % 40)); }
static int op_update(hnsw_index *h, size_t i) {
    return hnsw_update(h, label_of(i % 40), fail_vecs + ((i + 17) % 64) * 8);
}
static int op_search(hnsw_index *h, size_t i) {
    uint64_t got[K];
    return hnsw_search(h, fail_vecs + (i % 64) * 8, K, 40, NULL, NULL, got, NULL);
}

static void fault_sweep(op_fn op, const hnsw_locator *loc, int *worst) {
    int faults = 0;
    for (long n = 0; n < 200; n++) {
        hnsw_index *h = new_index(8, HNSW_METRIC_L2, 4, 16, 23);
        if (loc) EXPECT(hnsw_set_locator(h, loc) == HNSW_OK);
        for (size_t i = 0; i < 40; i++) hnsw_insert(h, label_of(i), fail_vecs + i * 8);
        uint32_t before = hnsw_count(h);
        hnsw_test_fail_alloc_after(n);
        int r = op(h, (size_t)n);
        hnsw_test_fail_alloc_after(-1);
        if (r == HNSW_ERR_NOMEM) {
            faults++;
            EXPECT(hnsw_count(h) == before);
        } else {
            EXPECT(r >= 0);
        }
        EXPECT(hnsw_validate(h) == HNSW_OK);
        int ok = r >= 0;
        hnsw_free(h);
        if (ok && n > 20) break;
    }
    if (faults > *worst) *worst = faults;
}

TEST(test_allocation_failures) {
    for (size_t i = 0; i < sizeof(fail_vecs) / sizeof(float); i++) fail_vecs[i] = rng_float();
    int worst = 0;
    loc_table *t = loc_table_new();
    hnsw_locator loc = {loc_get, loc_set, t};
    for (int located = 0; located < 2; located++) {
        fault_sweep(op_insert, located ? &loc : NULL, &worst);
        fault_sweep(op_delete, located ? &loc : NULL, &worst);
        fault_sweep(op_update, located ? &loc : NULL, &worst);
        fault_sweep(op_search, located ? &loc : NULL, &worst);
    }
    EXPECT(t->bad_sets == 0);
    free(t);
    /* failures while building from nothing: every insert either fails
     * cleanly or succeeds, and the graph stays valid throughout */
    for (long n = 0; n < 120; n += 3) {
        hnsw_index *h = new_index(8, HNSW_METRIC_IP, 4, 16, 29);
        hnsw_memory empty, after;
        hnsw_memory_usage(h, &empty);
        hnsw_test_fail_alloc_after(n);
        for (size_t i = 0; i < 64; i++) {
            int r = hnsw_insert(h, label_of(i), fail_vecs + i * 8);
            EXPECT(r >= 0 || r == HNSW_ERR_NOMEM);
        }
        hnsw_test_fail_alloc_after(-1);
        EXPECT(hnsw_validate(h) == HNSW_OK);
        for (size_t i = 0; i < 64; i++) hnsw_delete(h, label_of(i));
        hnsw_memory_usage(h, &after);
        EXPECT(hnsw_count(h) == 0 && after.total == empty.total);
        hnsw_free(h);
    }
    /* import under failures */
    hnsw_index *h = new_index(8, HNSW_METRIC_L2, 4, 16, 31);
    for (size_t i = 0; i < 64; i++) hnsw_insert(h, label_of(i), fail_vecs + i * 8);
    exported e;
    export_all(h, &e);
    for (long n = 0; n < 400; n++) {
        hnsw_index *g = NULL;
        hnsw_test_fail_alloc_after(n);
        int err = import_all(&e, &g);
        hnsw_test_fail_alloc_after(-1);
        EXPECT(err == HNSW_OK || err == HNSW_ERR_NOMEM);
        if (err == HNSW_OK) EXPECT(hnsw_validate(g) == HNSW_OK && same_graph(h, g));
        hnsw_free(g);
        if (err == HNSW_OK) break;
    }
    exported_free(&e);
    hnsw_free(h);
    EXPECT(worst > 0);
}

/* Regression: deleting a node that has no links at a level (the only node,
 * or the last ones left) must not hand memcpy a NULL scratch pointer (UBSan
 * caught it through the server, not here). */
TEST(test_delete_lone_nodes) {
    hnsw_index *h = new_index(3, HNSW_METRIC_L2, 8, 50, 7);
    ASSERT(h);
    float v[3] = {1, 2, 3};
    EXPECT(hnsw_insert(h, 1, v) >= 0);
    EXPECT(hnsw_delete(h, 1) == HNSW_OK);
    EXPECT(hnsw_count(h) == 0);
    for (uint64_t i = 1; i <= 3; i++) {
        v[0] = (float)i;
        EXPECT(hnsw_insert(h, i, v) >= 0);
    }
    for (uint64_t i = 1; i <= 3; i++) EXPECT(hnsw_delete(h, i) == HNSW_OK);
    EXPECT(hnsw_count(h) == 0 && hnsw_validate(h) == HNSW_OK);
    hnsw_free(h);
}

/* Recall@K of a quantized index against brute force over the original
 * vectors x[0..n) (labels label_of(i) for the live ones: alive[i]). */
static double quant_recall_fn(hnsw_index *h, hnsw_metric metric, const float *x, const char *alive, size_t n,
                              const float *qs, size_t nq, size_t dim, uint32_t rescore, hnsw_vector_fn fn,
                              void *ctx) {
    truth_item *all = malloc(n * sizeof(*all));
    size_t hits = 0, total = 0;
    for (size_t i = 0; i < nq; i++) {
        const float *q = qs + i * dim;
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if (alive[j]) all[m++] = (truth_item){true_dist(metric, q, x + j * dim, dim), label_of(j)};
        qsort(all, m, sizeof(*all), truth_cmp);
        uint64_t got[K], want[K];
        for (size_t j = 0; j < K && j < m; j++) want[j] = all[j].label;
        hnsw_search_params sp = {.k = K, .ef = 100, .rescore = rescore, .exact_vector = fn, .exact_ctx = ctx};
        int r = hnsw_search_ex(h, hnsw_scratch_new_cached(), q, &sp, got, NULL, NULL);
        if (r < 0) r = 0;
        hits += overlap(got, (size_t)r, want, m < K ? m : K);
        total += m < K ? m : K;
    }
    free(all);
    return total ? (double)hits / (double)total : 1.0;
}

static double quant_recall(hnsw_index *h, hnsw_metric metric, const float *x, const char *alive, size_t n,
                           const float *qs, size_t nq, size_t dim, uint32_t rescore) {
    return quant_recall_fn(h, metric, x, alive, n, qs, nq, dim, rescore, NULL, NULL);
}

typedef struct outside_vectors {
    const float *x;
    size_t dim;
    int normalize;
    int calls;
} outside_vectors;

/* hnsw_vector_fn over the test's own array (label_of(i) -> row i). */
static int outside_vector(uint64_t label, void *ctx, float *out) {
    outside_vectors *o = ctx;
    size_t i = (size_t)((label - 7) / 1000003ULL);
    memcpy(out, o->x + i * o->dim, o->dim * sizeof(float));
    if (o->normalize) vec_normalize(out, o->dim);
    o->calls++;
    return 0;
}

/* Q8 and BIN, with and without exact vectors: recall against brute force
 * over the original vectors, before and after churn (deletes and updates),
 * memory by part, decoded vectors, and export/import giving the same
 * answers. The thresholds sit well below what these data give (printed). */
TEST(test_quantized_modes) {
    static const struct {
        hnsw_quant q;
        int no_exact;
        hnsw_metric metric;
        uint32_t rescore;
        double min_recall;
    } modes[] = {
        {HNSW_QUANT_Q8, 0, HNSW_METRIC_L2, 3, 0.93},     {HNSW_QUANT_Q8, 0, HNSW_METRIC_COSINE, 3, 0.93},
        {HNSW_QUANT_Q8, 1, HNSW_METRIC_COSINE, 3, 0.85}, {HNSW_QUANT_Q8, 1, HNSW_METRIC_L2, 3, 0.85},
        {HNSW_QUANT_BIN, 0, HNSW_METRIC_COSINE, 10, 0.80}, {HNSW_QUANT_BIN, 1, HNSW_METRIC_IP, 10, 0.30},
    };
    size_t n = 3000, dim = 64, nq = 50;
    float *x = random_vectors(n, dim), *qs = random_vectors(nq, dim), out[64];
    char *alive = malloc(n);
    for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++) {
        hnsw_params p = {.dim = (uint32_t)dim, .metric = modes[mi].metric, .M = 16, .ef_construction = 200,
                         .seed = 5, .quant = modes[mi].q, .no_exact = modes[mi].no_exact, .rescore = modes[mi].rescore};
        hnsw_index *h = NULL;
        ASSERT(hnsw_create(&p, &h) == HNSW_OK);
        for (size_t i = 0; i < n; i++) {
            ASSERT(hnsw_insert(h, label_of(i), x + i * dim) >= 0);
            alive[i] = 1;
        }
        EXPECT(hnsw_validate(h) == HNSW_OK);
        double r1 = quant_recall(h, p.metric, x, alive, n, qs, nq, dim, 0);
        double r_once = quant_recall(h, p.metric, x, alive, n, qs, nq, dim, 1);
        if (modes[mi].no_exact) { /* exact vectors from outside the index: rescored like the exact modes */
            outside_vectors o = {x, dim, p.metric == HNSW_METRIC_COSINE, 0};
            double r_out = quant_recall_fn(h, p.metric, x, alive, n, qs, nq, dim, 0, outside_vector, &o);
            printf("  %s NOEXACT %s with outside exact vectors: recall@10 %.3f\n",
                   modes[mi].q == HNSW_QUANT_Q8 ? "Q8" : "BIN", metric_name(p.metric), r_out);
            EXPECT(o.calls >= (int)(nq * K));
            if (p.metric != HNSW_METRIC_IP) EXPECT(r_out >= 0.93);
        }
        hnsw_memory m;
        hnsw_memory_usage(h, &m);
        EXPECT(m.codes > 0);
        EXPECT(modes[mi].no_exact ? m.vectors == 0 : m.vectors > 0);
        EXPECT((hnsw_get_vector(h, label_of(1)) != NULL) == !modes[mi].no_exact);
        EXPECT(hnsw_copy_vector(h, label_of(1), out) == 1 && hnsw_copy_vector(h, 12345, out) == 0);
        if (modes[mi].q == HNSW_QUANT_Q8 && p.metric == HNSW_METRIC_L2) {
            double err = 0;
            for (size_t d = 0; d < dim; d++) err = fmax(err, fabs(out[d] - x[dim + d]));
            EXPECT(err <= 1.0 / 127); /* half a step of a range <= 1 would be 1/254 */
        }
        /* churn: a fifth deleted, a tenth moved to fresh vectors */
        for (size_t i = 0; i < n; i += 5) {
            EXPECT(hnsw_delete(h, label_of(i)) == HNSW_OK);
            alive[i] = 0;
        }
        for (size_t i = 1; i < n; i += 10) {
            for (size_t d = 0; d < dim; d++) x[i * dim + d] = rng_float();
            EXPECT(hnsw_update(h, label_of(i), x + i * dim) == HNSW_OK);
        }
        EXPECT(hnsw_validate(h) == HNSW_OK);
        double r2 = quant_recall(h, p.metric, x, alive, n, qs, nq, dim, 0);
        printf("  %s%s %-6s rescore %u: recall@10 %.3f (rescore 1: %.3f), after churn %.3f; "
               "bytes/vector: codes %.0f vectors %.0f links %.0f\n",
               modes[mi].q == HNSW_QUANT_Q8 ? "Q8" : "BIN", modes[mi].no_exact ? " NOEXACT" : "",
               metric_name(p.metric), p.rescore, r1, r_once, r2, (double)m.codes / n, (double)m.vectors / n,
               (double)m.links / n);
        EXPECT(r1 >= modes[mi].min_recall);
        EXPECT(r2 >= modes[mi].min_recall - 0.05);
        /* export and import: same answers, same distances */
        exported e;
        export_all(h, &e);
        hnsw_index *g = NULL;
        EXPECT(import_all(&e, &g) == HNSW_OK);
        EXPECT(g && same_answers(h, g, qs, nq, dim));
        if (modes[mi].no_exact && g) { /* a damaged code is refused */
            hnsw_free(g);
            g = NULL;
            uint8_t *c = (uint8_t *)e.nodes[3].code;
            if (modes[mi].q == HNSW_QUANT_Q8) c[8] = 0x80; /* -128 is never produced */
            else c[8] ^= 1;                               /* BIN: the norm check is Q8's; flip a used bit */
            int err = import_all(&e, &g);
            if (modes[mi].q == HNSW_QUANT_Q8) EXPECT(err == HNSW_ERR_CORRUPT);
            else EXPECT(err == HNSW_OK);
        }
        exported_free(&e);
        hnsw_free(g);
        hnsw_free(h);
    }
    hnsw_params bad = {.dim = 8, .metric = HNSW_METRIC_L2, .M = 8, .ef_construction = 20, .quant = HNSW_QUANT_BIN,
                       .no_exact = 1};
    hnsw_index *h = NULL;
    EXPECT(hnsw_create(&bad, &h) == HNSW_ERR_ARG); /* signs carry no L2 distance */
    bad.quant = HNSW_QUANT_NONE;
    EXPECT(hnsw_create(&bad, &h) == HNSW_ERR_ARG); /* no vectors and no codes */
    bad.no_exact = 0;
    bad.quant = (hnsw_quant)7;
    EXPECT(hnsw_create(&bad, &h) == HNSW_ERR_ARG);
    free(alive);
    free(x);
    free(qs);
}

int main(void) {
    vec_dist_init();
    printf("  distance kernels: %s\n", vec_isa_name(vec_dist_current()));
    RUN(test_create_and_empty);
    RUN(test_recall_5000x32);
    RUN(test_recall_2000x128);
    RUN(test_deterministic_build);
    RUN(test_churn_keeps_recall);
    RUN(test_delete_all_returns_memory);
    RUN(test_many_chunks);
    RUN(test_filter);
    RUN(test_filter_acorn);
    RUN(test_search_ex_and_budget);
    RUN(test_widen);
    RUN(test_export_import_roundtrip);
    RUN(test_packed_links);
    RUN(test_import_rejects_corruption);
    RUN(test_locator);
    RUN(test_epoch_wrap);
    RUN(test_acorn_islands);
    RUN(test_acorn_epoch_wrap);
    RUN(test_acorn_match_slots);
    RUN(test_acorn_cache);
    RUN(test_acorn_transit_lists);
    RUN(test_acorn_entries);
    RUN(test_edge_cases);
    RUN(test_allocation_failures);
    RUN(test_delete_lone_nodes);
    RUN(test_quantized_modes);
    hnsw_scratch_free(cached_scratch);
    return TEST_REPORT();
}

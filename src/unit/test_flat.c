/* test_flat.c -- unit tests for the exact vector index (flat.c): search
 * against a scalar brute force on random data for every metric, updates,
 * deletes with slot moves, filters, errors, and memory back to baseline. */
#include <math.h>
#include <stdlib.h>

#include "flat.h"
#include "test.h"
#include "vec_dist.h"
#include "zmalloc.h"

static float frand(unsigned *s) { return (float)rand_r(s) / (float)RAND_MAX * 2.0f - 1.0f; }

static double ref_dist(hnsw_metric m, const float *a, const float *b, int dim) {
    double dot = 0, na = 0, nb = 0, l2 = 0;
    for (int i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
        l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    if (m == HNSW_METRIC_L2) return l2;
    if (m == HNSW_METRIC_IP) return 1 - dot;
    return 1 - dot / (sqrt(na) * sqrt(nb));
}

/* Checks flat_search's top k equals a reference sort (by distance). */
static int check_metric(hnsw_metric m) {
    enum { N = 500, DIM = 19, K = 10 };
    unsigned seed = 42 + (unsigned)m;
    float *vecs = malloc(sizeof(float) * N * DIM), q[DIM];
    flat_index *f = flat_create(DIM, m);
    for (int i = 0; i < N * DIM; i++) vecs[i] = frand(&seed);
    for (int i = 0; i < N; i++)
        if (flat_insert(f, (uint64_t)i + 100, vecs + i * DIM) != HNSW_OK) return 0;
    for (int i = 0; i < DIM; i++) q[i] = frand(&seed);
    uint64_t labels[K];
    float dists[K];
    int n = flat_search(f, q, K, NULL, NULL, labels, dists);
    int ok = n == K;
    /* every result must be at least as close as every non-result */
    for (int r = 0; ok && r < K; r++) {
        double d = ref_dist(m, q, vecs + (labels[r] - 100) * DIM, DIM);
        if (fabs(d - dists[r]) > 1e-4) ok = 0;
        if (r && dists[r] < dists[r - 1]) ok = 0;
    }
    int better = 0;
    for (int i = 0; ok && i < N; i++) {
        int in = 0;
        for (int r = 0; r < K; r++) in |= labels[r] == (uint64_t)i + 100;
        if (!in && ref_dist(m, q, vecs + i * DIM, DIM) < dists[K - 1] - 1e-4) better++;
    }
    flat_free(f);
    free(vecs);
    return ok && better == 0;
}

TEST(search_matches_brute_force_l2) { EXPECT(check_metric(HNSW_METRIC_L2)); }
TEST(search_matches_brute_force_ip) { EXPECT(check_metric(HNSW_METRIC_IP)); }
TEST(search_matches_brute_force_cosine) { EXPECT(check_metric(HNSW_METRIC_COSINE)); }

TEST(update_delete_and_slot_moves) {
    flat_index *f = flat_create(2, HNSW_METRIC_L2);
    float a[2] = {0, 0}, b[2] = {10, 10}, c[2] = {5, 5}, q[2] = {9, 9};
    EXPECT(flat_insert(f, 1, a) == HNSW_OK);
    EXPECT(flat_insert(f, 2, b) == HNSW_OK);
    EXPECT(flat_insert(f, 3, c) == HNSW_OK);
    EXPECT(flat_insert(f, 3, c) == HNSW_ERR_EXISTS);
    EXPECT(flat_delete(f, 1) == HNSW_OK); /* label 3 moves into slot 0 */
    EXPECT(flat_delete(f, 1) == HNSW_ERR_NOTFOUND);
    EXPECT(flat_count(f) == 2);
    const float *v3 = flat_get_vector(f, 3);
    ASSERT(v3);
    EXPECT(v3[0] == 5 && v3[1] == 5);
    uint64_t l[3];
    float d[3];
    EXPECT(flat_search(f, q, 3, NULL, NULL, l, d) == 2);
    EXPECT(l[0] == 2 && l[1] == 3);
    float nb[2] = {9, 9};
    EXPECT(flat_update(f, 3, nb) == HNSW_OK);
    EXPECT(flat_search(f, q, 1, NULL, NULL, l, d) == 1 && l[0] == 3 && d[0] == 0);
    EXPECT(flat_update(f, 77, nb) == HNSW_ERR_NOTFOUND);
    flat_free(f);
}

static int only_odd(uint64_t label, void *ctx) {
    (void)ctx;
    return label & 1;
}

TEST(filter_and_bad_input) {
    flat_index *f = flat_create(1, HNSW_METRIC_COSINE);
    float one[1] = {1}, zero[1] = {0}, nan_[1] = {NAN}, inf[1] = {INFINITY};
    EXPECT(flat_insert(f, 1, zero) == HNSW_ERR_ARG); /* a zero cosine vector */
    EXPECT(flat_insert(f, 1, nan_) == HNSW_ERR_ARG);
    EXPECT(flat_insert(f, 1, inf) == HNSW_ERR_ARG);
    EXPECT(flat_count(f) == 0);
    for (uint64_t i = 1; i <= 10; i++) EXPECT(flat_insert(f, i, one) == HNSW_OK);
    uint64_t l[10];
    int n = flat_search(f, one, 10, only_odd, NULL, l, NULL);
    EXPECT(n == 5);
    for (int i = 0; i < n; i++) EXPECT(l[i] & 1);
    EXPECT(flat_search(f, one, 0, NULL, NULL, l, NULL) == 0);
    EXPECT(flat_create(0, HNSW_METRIC_L2) == NULL);
    flat_free(f);
}

TEST(memory_returns_to_baseline) {
    size_t before = zmalloc_used_memory();
    flat_index *f = flat_create(64, HNSW_METRIC_L2);
    float v[64] = {0};
    for (uint64_t i = 0; i < 5000; i++) {
        v[0] = (float)i;
        flat_insert(f, i, v);
    }
    for (uint64_t i = 0; i < 5000; i++) flat_delete(f, i);
    EXPECT(flat_count(f) == 0);
    flat_free(f);
    EXPECT(zmalloc_used_memory() == before);
}

int main(void) {
    vec_dist_init();
    RUN(search_matches_brute_force_l2);
    RUN(search_matches_brute_force_ip);
    RUN(search_matches_brute_force_cosine);
    RUN(update_delete_and_slot_moves);
    RUN(filter_and_bad_input);
    RUN(memory_returns_to_baseline);
    return TEST_REPORT();
}

/* test_ivfpq.c -- unit tests for the IVF-PQ library (ivfpq.c).
 *
 * Data is clustered and synthetic (centres uniform in [-1,1]^dim times a
 * spread, points = centre + uniform noise), so k-means has a known answer.
 * Checked: bad parameters rejected; k-means recovers well-separated
 * clusters; PQ reconstruction error is bounded and falls as pq_m grows;
 * the ADC distance equals the distance to the reconstructed vector, and
 * the scalar and AVX2 kernels agree; recall@10 against brute force is high
 * at nprobe = nlist and grows with nprobe; search over pending vectors is
 * exact; add/delete/update work while pending, mid-encode and encoded;
 * training can be cancelled and reports progress; export/import gives
 * identical answers and refuses corrupted data. Labels are 1000003 * i + 7
 * so that mixing them up with positions cannot pass. */
#include "ivfpq.h"
#include "test.h"
#include "vec_dist.h"
#include "zmalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define K 10

#include "test_rng.h"

static uint64_t label_of(size_t i) { return 1000003ULL * i + 7; }

/* The test's locator (ivfpq.h): label -> list in an open-addressing table
 * per index (a removed label keeps its slot with IVFPQ_NO_LIST). Every
 * table is freed by tloc_free_all at the end. */
typedef struct tloc {
    uint64_t *labels;
    uint32_t *lists;
    size_t cap, used;
    struct tloc *next;
} tloc;
static tloc *tlocs;

static size_t tloc_slot(const tloc *t, uint64_t label) {
    size_t i = (size_t)((label * 0x9e3779b97f4a7c15ULL) >> 20) & (t->cap - 1);
    while (t->labels[i] != UINT64_MAX && t->labels[i] != label) i = (i + 1) & (t->cap - 1);
    return i;
}

static uint32_t tloc_get(uint64_t label, void *ctx) {
    tloc *t = ctx;
    if (!t->cap) return IVFPQ_NO_LIST;
    size_t i = tloc_slot(t, label);
    return t->labels[i] == label ? t->lists[i] : IVFPQ_NO_LIST;
}

static void tloc_set(uint64_t label, uint32_t list, void *ctx) {
    tloc *t = ctx;
    if ((t->used + 1) * 2 > t->cap) {
        tloc old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->labels = malloc(t->cap * sizeof(uint64_t));
        t->lists = malloc(t->cap * sizeof(uint32_t));
        for (size_t i = 0; i < t->cap; i++) t->labels[i] = UINT64_MAX;
        for (size_t i = 0; i < old.cap; i++)
            if (old.labels[i] != UINT64_MAX) {
                size_t j = tloc_slot(t, old.labels[i]);
                t->labels[j] = old.labels[i];
                t->lists[j] = old.lists[i];
            }
        free(old.labels);
        free(old.lists);
    }
    size_t i = tloc_slot(t, label);
    if (t->labels[i] != label) t->used++;
    t->labels[i] = label;
    t->lists[i] = list;
}

/* ivfpq_create with a new test locator. */
static int create(const ivfpq_params *p, ivfpq_index **out) {
    tloc *t = calloc(1, sizeof(*t));
    t->next = tlocs;
    tlocs = t;
    ivfpq_locator loc = {tloc_get, tloc_set, t};
    return ivfpq_create(p, &loc, out);
}

static void tloc_free_all(void) {
    while (tlocs) {
        tloc *t = tlocs;
        tlocs = t->next;
        free(t->labels);
        free(t->lists);
        free(t);
    }
}

/* n points around nc centres (spread * U[-1,1]^dim) with noise * U[-1,1];
 * the centre of point i is i % nc. */
static float *clustered(size_t n, size_t dim, size_t nc, float spread, float noise) {
    float *c = malloc(nc * dim * sizeof(float)), *x = malloc(n * dim * sizeof(float));
    for (size_t i = 0; i < nc * dim; i++) c[i] = spread * rng_float();
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < dim; t++) x[i * dim + t] = c[(i % nc) * dim + t] + noise * rng_float();
    free(c);
    return x;
}

static ivfpq_params mkparams(uint32_t dim, ivfpq_metric metric, uint32_t nlist, uint32_t m) {
    ivfpq_params p = {dim, metric, nlist, m, 8, 1234};
    return p;
}

/* A trained index holding x (n rows) encoded. NULL on failure. */
static ivfpq_index *trained_index(const ivfpq_params *p, const float *x, size_t n) {
    ivfpq_index *idx;
    ivfpq_model *md;
    if (create(p, &idx) != IVFPQ_OK) return NULL;
    if (ivfpq_train(p, x, n, NULL, &md) != IVFPQ_OK || ivfpq_install_model(idx, md) != IVFPQ_OK) {
        ivfpq_free(idx);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) ivfpq_add(idx, label_of(i), x + i * p->dim);
    return idx;
}

static float metric_dist(ivfpq_metric metric, const float *a, const float *b, size_t dim) {
    if (metric == IVFPQ_METRIC_L2) return vec_l2sq(a, b, dim);
    if (metric == IVFPQ_METRIC_IP) return 1.0f - vec_dot(a, b, dim);
    return vec_cosine_dist(a, b, dim);
}

/* Exact top K labels of q over x (n rows), into out. */
static void brute_topk(ivfpq_metric metric, const float *x, size_t n, size_t dim, const float *q, uint64_t *out,
                       float *dout) {
    float bd[K];
    for (int i = 0; i < K; i++) bd[i] = INFINITY;
    for (size_t i = 0; i < n; i++) {
        float d = metric_dist(metric, q, x + i * dim, dim);
        if (d >= bd[K - 1]) continue;
        int j = K - 1;
        while (j > 0 && bd[j - 1] > d) {
            bd[j] = bd[j - 1];
            out[j] = out[j - 1];
            j--;
        }
        bd[j] = d;
        out[j] = label_of(i);
    }
    if (dout) memcpy(dout, bd, sizeof bd);
}

static double recall_at(ivfpq_index *idx, ivfpq_metric metric, const float *x, size_t n, size_t dim,
                        const float *qs, size_t nq, size_t nprobe) {
    size_t hits = 0;
    ivfpq_search_params sp = {K, nprobe, NULL, NULL};
    for (size_t i = 0; i < nq; i++) {
        uint64_t truth[K], got[K];
        brute_topk(metric, x, n, dim, qs + i * dim, truth, NULL);
        int r = ivfpq_search(idx, qs + i * dim, &sp, got, NULL, NULL);
        for (int a = 0; a < r; a++)
            for (int b = 0; b < K; b++) hits += got[a] == truth[b];
    }
    return (double)hits / (double)(nq * K);
}

TEST(test_bad_params) {
    ivfpq_index *idx = NULL;
    ivfpq_params p = mkparams(16, IVFPQ_METRIC_L2, 4, 4);
    ivfpq_params bad = p;
    bad.dim = 0;
    EXPECT(create(&bad, &idx) == IVFPQ_ERR_ARG && idx == NULL);
    bad = p;
    bad.pq_m = 5;
    EXPECT(create(&bad, &idx) == IVFPQ_ERR_ARG);
    bad = p;
    bad.pq_bits = 4;
    EXPECT(create(&bad, &idx) == IVFPQ_ERR_ARG);
    bad = p;
    bad.nlist = 0;
    EXPECT(create(&bad, &idx) == IVFPQ_ERR_ARG);
    bad = p;
    bad.metric = (ivfpq_metric)7;
    EXPECT(create(&bad, &idx) == IVFPQ_ERR_ARG);
    ivfpq_locator half = {tloc_get, NULL, NULL};
    EXPECT(ivfpq_create(&p, NULL, &idx) == IVFPQ_ERR_ARG && ivfpq_create(&p, &half, &idx) == IVFPQ_ERR_ARG);
    ASSERT(create(&p, &idx) == IVFPQ_OK);
    float v[16] = {0}, *x = clustered(300, 16, 4, 1, 0.1f);
    ivfpq_model *md = NULL;
    EXPECT(ivfpq_train(&p, x, 255, NULL, &md) == IVFPQ_ERR_ARG && md == NULL); /* < 256 */
    EXPECT(ivfpq_add(idx, 1, v) == IVFPQ_OK);
    EXPECT(ivfpq_add(idx, 1, v) == IVFPQ_ERR_EXISTS);
    v[3] = NAN;
    EXPECT(ivfpq_add(idx, 2, v) == IVFPQ_ERR_ARG);
    EXPECT(ivfpq_update(idx, 1, v) == IVFPQ_ERR_ARG);
    v[3] = 0;
    EXPECT(ivfpq_update(idx, 99, v) == IVFPQ_ERR_NOTFOUND);
    EXPECT(ivfpq_delete(idx, 99) == IVFPQ_ERR_NOTFOUND);
    EXPECT(ivfpq_encode_step(idx, 10) == IVFPQ_ERR_STATE);
    ivfpq_params other = mkparams(16, IVFPQ_METRIC_L2, 8, 4);
    ASSERT(ivfpq_train(&other, x, 300, NULL, &md) == IVFPQ_OK);
    EXPECT(ivfpq_install_model(idx, md) == IVFPQ_ERR_ARG);
    ivfpq_model_free(md);
    ASSERT(ivfpq_train(&p, x, 300, NULL, &md) == IVFPQ_OK);
    EXPECT(ivfpq_install_model(idx, md) == IVFPQ_OK);
    ivfpq_model *md2 = NULL;
    ASSERT(ivfpq_train(&p, x, 300, NULL, &md2) == IVFPQ_OK);
    EXPECT(ivfpq_install_model(idx, md2) == IVFPQ_ERR_STATE);
    ivfpq_model_free(md2);
    float *s;
    size_t ns;
    EXPECT(ivfpq_train_sample(idx, 10, &s, &ns) == IVFPQ_ERR_STATE);
    EXPECT(ivfpq_min_train(&p) == 39 * 256);
    free(x);
    ivfpq_free(idx);
}

TEST(test_kmeans_finds_clusters) {
    size_t n = 16 * 40, dim = 16, nc = 16;
    float *x = clustered(n, dim, nc, 10.0f, 0.1f);
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, (uint32_t)nc, 4);
    ivfpq_index *idx = trained_index(&p, x, n);
    ASSERT(idx);
    long list_of_cluster[16];
    int ok = 1;
    for (size_t c = 0; c < nc; c++) list_of_cluster[c] = ivfpq_list_of(idx, label_of(c));
    for (size_t i = 0; i < n; i++) ok &= ivfpq_list_of(idx, label_of(i)) == list_of_cluster[i % nc];
    EXPECT(ok);
    for (size_t a = 0; a < nc; a++)
        for (size_t b = a + 1; b < nc; b++) ok &= list_of_cluster[a] != list_of_cluster[b];
    EXPECT(ok);
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK);
    free(x);
    ivfpq_free(idx);
}

static double recon_mse(uint32_t m, const float *x, size_t n, size_t dim) {
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, 8, m);
    ivfpq_index *idx = trained_index(&p, x, n);
    if (!idx) return INFINITY;
    double err = 0;
    float *r = malloc(dim * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        ivfpq_get_vector(idx, label_of(i), r);
        err += vec_l2sq(r, x + i * dim, dim);
    }
    free(r);
    ivfpq_free(idx);
    return err / (double)n;
}

TEST(test_pq_roundtrip_error) {
    size_t n = 3000, dim = 32;
    float *x = clustered(n, dim, 8, 1.0f, 0.5f);
    /* noise U[-0.5,0.5] per component: residual energy about dim / 12 */
    double e2 = recon_mse(2, x, n, dim), e8 = recon_mse(8, x, n, dim), e16 = recon_mse(16, x, n, dim);
    printf("  reconstruction mse: m=2 %.4f, m=8 %.4f, m=16 %.4f (residual energy %.4f)\n", e2, e8, e16,
           dim / 12.0);
    EXPECT(e2 < 0.8 * dim / 12.0);
    EXPECT(e8 < 0.75 * e2);
    EXPECT(e16 < 0.75 * e8);
    free(x);
}

/* Searches with k = count at nprobe = nlist and compares each distance to
 * the metric's distance to the reconstruction. Returns max relative error;
 * fills dists (count floats, by label order of x) for kernel comparison. */
static double adc_vs_recon(ivfpq_index *idx, ivfpq_metric metric, const float *q, size_t n, size_t dim,
                           float *by_row) {
    ivfpq_search_params sp = {n, 1u << 20, NULL, NULL};
    uint64_t *labels = malloc(n * sizeof(uint64_t));
    float *d = malloc(n * sizeof(float)), *r = malloc(dim * sizeof(float)), *qn = malloc(dim * sizeof(float));
    memcpy(qn, q, dim * sizeof(float));
    if (metric == IVFPQ_METRIC_COSINE) vec_normalize(qn, dim);
    int got = ivfpq_search(idx, q, &sp, labels, d, NULL);
    double worst = got == (int)n ? 0 : INFINITY;
    for (int i = 0; i < got; i++) {
        ivfpq_get_vector(idx, labels[i], r);
        float e = metric == IVFPQ_METRIC_L2 ? vec_l2sq(qn, r, dim) : 1.0f - vec_dot(qn, r, dim);
        /* the terms summed are of the size of |q|^2 + |r|^2: rounding scales with them */
        double rel = fabs((double)e - d[i]) / (1.0 + vec_dot(qn, qn, dim) + vec_dot(r, r, dim));
        if (rel > worst) worst = rel;
        by_row[(labels[i] - 7) / 1000003ULL] = d[i];
        if (i && d[i] < d[i - 1]) worst = INFINITY; /* best first */
    }
    free(labels);
    free(d);
    free(r);
    free(qn);
    return worst;
}

TEST(test_adc_equals_reconstruction) {
    size_t n = 1500, dim = 48;
    ivfpq_metric metrics[3] = {IVFPQ_METRIC_L2, IVFPQ_METRIC_IP, IVFPQ_METRIC_COSINE};
    float *x = clustered(n, dim, 10, 1.0f, 0.3f), *q = clustered(1, dim, 1, 1.0f, 0.3f);
    float *ds = malloc(n * sizeof(float)), *dv = malloc(n * sizeof(float));
    vec_isa saved = vec_dist_current();
    for (int mi = 0; mi < 3; mi++) {
        /* pq_m 12 (not a multiple of 8) exercises the kernels' tails */
        ivfpq_params p = mkparams((uint32_t)dim, metrics[mi], 16, mi == 0 ? 12 : 16);
        ivfpq_index *idx = trained_index(&p, x, n);
        ASSERT(idx);
        vec_dist_select(VEC_ISA_SCALAR);
        double es = adc_vs_recon(idx, metrics[mi], q, n, dim, ds);
        EXPECT(es < 1e-5);
        if (vec_isa_supported(VEC_ISA_AVX2)) {
            vec_dist_select(VEC_ISA_AVX2);
            double ev = adc_vs_recon(idx, metrics[mi], q, n, dim, dv);
            EXPECT(ev < 1e-5);
            double diff = 0;
            for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(ds[i] - dv[i]) / (1.0 + fabs(ds[i])));
            printf("  metric %d: ADC vs reconstruction %.2g (scalar) %.2g (avx2), kernels differ by %.2g\n", mi,
                   es, ev, diff);
            EXPECT(diff < 1e-5);
        }
        vec_dist_select(saved);
        ivfpq_free(idx);
    }
    free(x);
    free(q);
    free(ds);
    free(dv);
}

TEST(test_recall_grows_with_nprobe) {
    size_t n = 6000, dim = 32, nq = 60;
    float *all = clustered(n + nq, dim, 300, 1.0f, 0.35f);
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, 32, 16);
    ivfpq_index *idx = trained_index(&p, all, n);
    ASSERT(idx);
    const float *qs = all + n * dim;
    double r1 = recall_at(idx, p.metric, all, n, dim, qs, nq, 1);
    double r4 = recall_at(idx, p.metric, all, n, dim, qs, nq, 4);
    double rall = recall_at(idx, p.metric, all, n, dim, qs, nq, 32);
    printf("  recall@10 L2 m=16: nprobe 1 %.3f, 4 %.3f, 32 %.3f\n", r1, r4, rall);
    EXPECT(rall > 0.9);
    EXPECT(r1 < r4 && r4 <= rall);
    ivfpq_free(idx);
    p.metric = IVFPQ_METRIC_COSINE;
    idx = trained_index(&p, all, n);
    ASSERT(idx);
    double rc = recall_at(idx, p.metric, all, n, dim, qs, nq, 32);
    printf("  recall@10 COSINE m=16 nprobe 32: %.3f\n", rc);
    EXPECT(rc > 0.8); /* normalizing this data packs neighbours closer */
    ivfpq_free(idx);
    free(all);
}

TEST(test_pending_search_exact) {
    size_t n = 700, dim = 20;
    ivfpq_metric metrics[3] = {IVFPQ_METRIC_L2, IVFPQ_METRIC_IP, IVFPQ_METRIC_COSINE};
    float *x = clustered(n + 5, dim, 7, 1.0f, 0.5f);
    for (int mi = 0; mi < 3; mi++) {
        ivfpq_params p = mkparams((uint32_t)dim, metrics[mi], 8, 4);
        ivfpq_index *idx;
        ASSERT(create(&p, &idx) == IVFPQ_OK);
        for (size_t i = 0; i < n; i++) ASSERT(ivfpq_add(idx, label_of(i), x + i * dim) == IVFPQ_OK);
        int same = 1;
        for (size_t qi = 0; qi < 5; qi++) {
            const float *q = x + (n + qi) * dim;
            uint64_t truth[K], got[K];
            float td[K], gd[K];
            brute_topk(metrics[mi], x, n, dim, q, truth, td);
            ivfpq_search_params sp = {K, 1, NULL, NULL};
            same &= ivfpq_search(idx, q, &sp, got, gd, NULL) == K;
            for (int i = 0; i < K; i++) same &= got[i] == truth[i] && fabsf(gd[i] - td[i]) <= 1e-5f * (1 + fabsf(td[i]));
        }
        EXPECT(same);
        ivfpq_free(idx);
    }
    free(x);
}

/* Every label in want[0..n) present exactly once among all results. */
static int finds_all(ivfpq_index *idx, size_t dim, const uint64_t *want, size_t n) {
    size_t cnt = ivfpq_count(idx);
    uint64_t *got = malloc((cnt + 1) * sizeof(uint64_t));
    float q[64] = {0};
    (void)dim;
    ivfpq_search_params sp = {cnt + 1, 1u << 20, NULL, NULL};
    int r = ivfpq_search(idx, q, &sp, got, NULL, NULL);
    int ok = r == (int)cnt && cnt == n;
    for (size_t i = 0; ok && i < n; i++) {
        int c = 0;
        for (int j = 0; j < r; j++) c += got[j] == want[i];
        ok &= c == 1;
    }
    free(got);
    return ok;
}

TEST(test_add_delete_update_every_state) {
    size_t n = 600, dim = 16;
    float *x = clustered(n + 200, dim, 6, 1.0f, 0.4f), v[16], r[16];
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, 8, 8);
    ivfpq_index *idx;
    ASSERT(create(&p, &idx) == IVFPQ_OK);
    tloc *where = tlocs;
    uint64_t *live = malloc((n + 200) * sizeof(uint64_t));
    size_t nlive = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT(ivfpq_add(idx, label_of(i), x + i * dim) == IVFPQ_OK);
        live[nlive++] = label_of(i);
    }
    /* pending: delete, update (exact vector back) */
    EXPECT(ivfpq_delete(idx, label_of(0)) == IVFPQ_OK);
    live[0] = live[--nlive];
    memcpy(v, x + (n + 150) * dim, sizeof v);
    EXPECT(ivfpq_update(idx, label_of(1), v) == IVFPQ_OK);
    EXPECT(ivfpq_get_vector(idx, label_of(1), r) == IVFPQ_OK && memcmp(r, v, sizeof v) == 0);
    EXPECT(ivfpq_get_vector(idx, label_of(0), r) == IVFPQ_ERR_NOTFOUND);
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK && finds_all(idx, dim, live, nlive));
    /* train on a sample and install */
    float *s;
    size_t ns;
    ASSERT(ivfpq_train_sample(idx, 400, &s, &ns) == IVFPQ_OK && ns == 400);
    ivfpq_progress prog = {0};
    ivfpq_model *md;
    ASSERT(ivfpq_train(&p, s, ns, &prog, &md) == IVFPQ_OK);
    EXPECT(atomic_load(&prog.phase) == IVFPQ_PHASE_DONE && atomic_load(&prog.done) == atomic_load(&prog.total));
    zfree(s);
    ASSERT(ivfpq_install_model(idx, md) == IVFPQ_OK);
    /* mid-encode: some pending, some encoded, new adds encoded directly */
    EXPECT(ivfpq_encode_step(idx, 250) == (long)(n - 1 - 250));
    for (size_t i = n; i < n + 100; i++) {
        EXPECT(ivfpq_add(idx, label_of(i), x + i * dim) == IVFPQ_OK);
        live[nlive++] = label_of(i);
    }
    EXPECT(ivfpq_pending_count(idx) == n - 1 - 250 && ivfpq_count(idx) == nlive);
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK && finds_all(idx, dim, live, nlive));
    /* delete and update a pending and an encoded vector */
    int deleted_pending = 0, deleted_encoded = 0;
    for (size_t i = 0; i < nlive && !(deleted_pending && deleted_encoded);) {
        int pending = ivfpq_list_of(idx, live[i]) < 0;
        if ((pending && !deleted_pending) || (!pending && !deleted_encoded)) {
            EXPECT(ivfpq_delete(idx, live[i]) == IVFPQ_OK);
            EXPECT(!ivfpq_contains(idx, live[i]));
            deleted_pending |= pending;
            deleted_encoded |= !pending;
            live[i] = live[--nlive];
        } else {
            i++;
        }
    }
    EXPECT(deleted_pending && deleted_encoded);
    size_t up_p = 0, up_e = 0;
    while (ivfpq_list_of(idx, live[up_p]) >= 0) up_p++;
    while (ivfpq_list_of(idx, live[up_e]) < 0) up_e++;
    EXPECT(ivfpq_update(idx, live[up_p], v) == IVFPQ_OK && ivfpq_list_of(idx, live[up_p]) >= 0);
    EXPECT(ivfpq_update(idx, live[up_e], v) == IVFPQ_OK);
    ivfpq_get_vector(idx, live[up_e], r);
    EXPECT(vec_l2sq(r, v, dim) < 0.2f * vec_dot(v, v, dim));
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK && finds_all(idx, dim, live, nlive));
    /* encoded: drain, then churn */
    EXPECT(ivfpq_encode_step(idx, 100000) == 0 && ivfpq_pending_count(idx) == 0);
    for (size_t i = 0; i < nlive / 2; i++) {
        EXPECT(ivfpq_delete(idx, live[i]) == IVFPQ_OK);
        live[i] = live[--nlive];
    }
    for (size_t i = n + 100; i < n + 200; i++) {
        EXPECT(ivfpq_add(idx, label_of(i), x + i * dim) == IVFPQ_OK);
        live[nlive++] = label_of(i);
    }
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK && finds_all(idx, dim, live, nlive));
    /* the locator names each label's list; an encoded duplicate is refused */
    int located = 1;
    for (size_t i = 0; i < nlive; i++) located &= (long)tloc_get(live[i], where) == ivfpq_list_of(idx, live[i]);
    EXPECT(located && ivfpq_add(idx, live[0], v) == IVFPQ_ERR_EXISTS && ivfpq_count(idx) == nlive);
    /* everything deleted: the per-vector parts are empty, the locator says so */
    for (size_t i = 0; i < nlive; i++) EXPECT(ivfpq_delete(idx, live[i]) == IVFPQ_OK);
    EXPECT(tloc_get(live[0], where) == IVFPQ_NO_LIST && ivfpq_delete(idx, live[0]) == IVFPQ_ERR_NOTFOUND);
    ivfpq_memory mem;
    ivfpq_memory_usage(idx, &mem);
    EXPECT(ivfpq_count(idx) == 0 && mem.codes == 0 && mem.ids == 0 && mem.pending == 0 && mem.terms == 0 &&
           mem.lookup == 0);
    EXPECT(ivfpq_validate(idx) == IVFPQ_OK);
    free(live);
    free(x);
    ivfpq_free(idx);
}

TEST(test_train_cancel_and_sample) {
    size_t n = 2000, dim = 16;
    float *x = clustered(n, dim, 10, 1.0f, 0.3f);
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, 16, 4);
    ivfpq_progress prog = {0};
    atomic_store(&prog.cancel, 1);
    ivfpq_model *md = (ivfpq_model *)&prog;
    EXPECT(ivfpq_train(&p, x, n, &prog, &md) == IVFPQ_ERR_CANCELED && md == NULL);
    EXPECT(atomic_load(&prog.phase) != IVFPQ_PHASE_DONE);
    /* the sample is a subset of the pending vectors, without repeats */
    ivfpq_index *idx;
    ASSERT(create(&p, &idx) == IVFPQ_OK);
    for (size_t i = 0; i < 500; i++) ivfpq_add(idx, label_of(i), x + i * dim);
    float *s;
    size_t ns;
    ASSERT(ivfpq_train_sample(idx, 100, &s, &ns) == IVFPQ_OK && ns == 100);
    int ok = 1;
    for (size_t i = 0; i < ns; i++) {
        int found = 0;
        for (size_t j = 0; j < 500; j++) found += memcmp(s + i * dim, x + j * dim, dim * sizeof(float)) == 0;
        ok &= found == 1;
        for (size_t j = 0; j < i; j++) ok &= memcmp(s + i * dim, s + j * dim, dim * sizeof(float)) != 0;
    }
    EXPECT(ok);
    zfree(s);
    ASSERT(ivfpq_train_sample(idx, 1000, &s, &ns) == IVFPQ_OK && ns == 500);
    zfree(s);
    ivfpq_free(idx);
    free(x);
}

/* Builds a copy of src through the export/import API. */
static ivfpq_index *copy_index(const ivfpq_index *src) {
    const ivfpq_params *p = ivfpq_get_params(src);
    ivfpq_index *dst;
    if (create(p, &dst) != IVFPQ_OK) return NULL;
    if (ivfpq_is_trained(src)) {
        float *cent = malloc((size_t)p->nlist * p->dim * sizeof(float));
        float *cb = malloc(256 * (size_t)p->dim * sizeof(float));
        ivfpq_model *md;
        int rc = ivfpq_export_model(src, cent, cb);
        if (rc == IVFPQ_OK) rc = ivfpq_import_model(p, cent, cb, &md);
        if (rc == IVFPQ_OK) rc = ivfpq_install_model(dst, md);
        free(cent);
        free(cb);
        for (uint32_t l = 0; rc == IVFPQ_OK && l < p->nlist; l++) {
            size_t n;
            const uint64_t *labels;
            const uint8_t *codes;
            rc = ivfpq_export_list(src, l, &n, &labels, &codes);
            if (rc == IVFPQ_OK) rc = ivfpq_import_list(dst, l, n, labels, codes);
        }
        if (rc != IVFPQ_OK) {
            ivfpq_free(dst);
            return NULL;
        }
    }
    for (size_t i = 0; i < ivfpq_pending_count(src); i++) {
        uint64_t label;
        const float *v;
        if (ivfpq_export_pending(src, i, &label, &v) != IVFPQ_OK || ivfpq_import_pending(dst, label, v) != IVFPQ_OK) {
            ivfpq_free(dst);
            return NULL;
        }
    }
    return dst;
}

TEST(test_export_import_roundtrip) {
    size_t n = 1200, dim = 24;
    float *x = clustered(n + 10, dim, 12, 1.0f, 0.4f);
    ivfpq_metric metrics[2] = {IVFPQ_METRIC_L2, IVFPQ_METRIC_COSINE};
    for (int mi = 0; mi < 2; mi++) {
        ivfpq_params p = mkparams((uint32_t)dim, metrics[mi], 16, 6);
        ivfpq_index *idx;
        ASSERT(create(&p, &idx) == IVFPQ_OK);
        for (size_t i = 0; i < n; i++) ivfpq_add(idx, label_of(i), x + i * dim);
        ivfpq_index *untrained = copy_index(idx);
        ivfpq_model *md;
        ASSERT(ivfpq_train(&p, x, n, NULL, &md) == IVFPQ_OK);
        ivfpq_install_model(idx, md);
        ivfpq_encode_step(idx, 800); /* 400 stay pending */
        ivfpq_index *trained = copy_index(idx);
        ASSERT(untrained && trained);
        EXPECT(ivfpq_validate(trained) == IVFPQ_OK && ivfpq_count(trained) == n);
        EXPECT(ivfpq_pending_count(trained) == 400 && ivfpq_pending_count(untrained) == n);
        int same = 1;
        for (size_t qi = 0; qi < 10; qi++) {
            const float *q = x + (n + qi) * dim;
            ivfpq_search_params sp = {K, 4, NULL, NULL};
            uint64_t a[K], b[K];
            float da[K], db[K];
            int ra = ivfpq_search(idx, q, &sp, a, da, NULL), rb = ivfpq_search(trained, q, &sp, b, db, NULL);
            same &= ra == K && ra == rb && memcmp(a, b, sizeof a) == 0 && memcmp(da, db, sizeof da) == 0;
        }
        EXPECT(same);
        ivfpq_free(untrained);
        ivfpq_free(trained);
        ivfpq_free(idx);
    }
    free(x);
}

TEST(test_import_rejects_corruption) {
    size_t n = 600, dim = 16;
    float *x = clustered(n, dim, 6, 1.0f, 0.4f);
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_COSINE, 8, 4);
    ivfpq_index *src = trained_index(&p, x, n), *dst;
    ASSERT(src);
    uint64_t labels[2] = {5, 5};
    uint8_t codes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT(create(&p, &dst) == IVFPQ_OK);
    EXPECT(ivfpq_import_list(dst, 0, 1, labels, codes) == IVFPQ_ERR_STATE); /* no model */
    float *cent = malloc(8 * dim * sizeof(float)), *cb = malloc(256 * dim * sizeof(float));
    ASSERT(ivfpq_export_model(src, cent, cb) == IVFPQ_OK);
    ivfpq_model *md;
    cb[77] = NAN;
    EXPECT(ivfpq_import_model(&p, cent, cb, &md) == IVFPQ_ERR_CORRUPT);
    cb[77] = 0;
    cent[3] = INFINITY;
    EXPECT(ivfpq_import_model(&p, cent, cb, &md) == IVFPQ_ERR_CORRUPT);
    cent[3] = 0;
    ASSERT(ivfpq_import_model(&p, cent, cb, &md) == IVFPQ_OK);
    ASSERT(ivfpq_install_model(dst, md) == IVFPQ_OK);
    EXPECT(ivfpq_import_list(dst, 8, 1, labels, codes) == IVFPQ_ERR_CORRUPT);          /* list >= nlist */
    EXPECT(ivfpq_import_list(dst, 1, 2, labels, codes) == IVFPQ_ERR_CORRUPT);          /* duplicate */
    float v[16] = {3, 0};
    EXPECT(ivfpq_import_pending(dst, 5, v) == IVFPQ_ERR_CORRUPT);                      /* label taken */
    EXPECT(ivfpq_import_pending(dst, 6, v) == IVFPQ_ERR_CORRUPT);                      /* not unit */
    v[0] = 1;
    EXPECT(ivfpq_import_pending(dst, 6, v) == IVFPQ_OK);
    v[1] = NAN;
    EXPECT(ivfpq_import_pending(dst, 7, v) == IVFPQ_ERR_CORRUPT);
    ivfpq_params wrong = p;
    wrong.pq_m = 3;
    EXPECT(ivfpq_import_model(&wrong, cent, cb, &md) == IVFPQ_ERR_ARG);
    EXPECT(ivfpq_validate(dst) == IVFPQ_OK);
    free(cent);
    free(cb);
    free(x);
    ivfpq_free(src);
    ivfpq_free(dst);
}

static bool third_only(uint64_t label, void *ctx) {
    (*(int *)ctx)++;
    return ((label - 7) / 1000003ULL) % 3 == 0;
}

TEST(test_filter_and_stats) {
    size_t n = 2000, dim = 16;
    float *x = clustered(n + 1, dim, 10, 1.0f, 0.4f);
    ivfpq_params p = mkparams((uint32_t)dim, IVFPQ_METRIC_L2, 16, 8);
    ivfpq_index *idx = trained_index(&p, x, n);
    ASSERT(idx);
    int calls = 0;
    ivfpq_search_params sp = {K, 16, third_only, &calls};
    uint64_t got[K];
    ivfpq_search_stats st;
    int r = ivfpq_search(idx, x + n * dim, &sp, got, NULL, &st);
    EXPECT(r == K);
    int ok = 1;
    for (int i = 0; i < r; i++) ok &= ((got[i] - 7) / 1000003ULL) % 3 == 0;
    EXPECT(ok);
    printf("  filter: %d calls, %lu rejected, %lu codes, %lu lists\n", calls, (unsigned long)st.filtered,
           (unsigned long)st.codes_scanned, (unsigned long)st.lists_probed);
    EXPECT(st.codes_scanned == n && st.lists_probed <= 16 && st.filtered > 0);
    EXPECT(calls >= (int)st.filtered + K && calls < (int)n);
    sp.k = 0;
    EXPECT(ivfpq_search(idx, x, &sp, got, NULL, NULL) == 0);
    float bad[16] = {NAN};
    sp.k = K;
    EXPECT(ivfpq_search(idx, bad, &sp, got, NULL, NULL) == IVFPQ_ERR_ARG);
    free(x);
    ivfpq_free(idx);
}

int main(void) {
    vec_dist_init();
    printf("  kernels: %s\n", vec_isa_name(vec_dist_current()));
    RUN(test_bad_params);
    RUN(test_kmeans_finds_clusters);
    RUN(test_pq_roundtrip_error);
    RUN(test_adc_equals_reconstruction);
    RUN(test_recall_grows_with_nprobe);
    RUN(test_pending_search_exact);
    RUN(test_add_delete_update_every_state);
    RUN(test_train_cancel_and_sample);
    RUN(test_export_import_roundtrip);
    RUN(test_import_rejects_corruption);
    RUN(test_filter_and_stats);
    tloc_free_all();
    return TEST_REPORT();
}

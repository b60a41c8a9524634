/* ivfpq.c -- IVF-PQ index: coarse k-means, product-quantized residuals, ADC.
 *
 * What it is
 * ----------
 * IVFADC from Jegou, Douze and Schmid, "Product quantization for nearest
 * neighbor search" (TPAMI 2011, section IV): a coarse quantizer of nlist
 * k-means centroids partitions the space into inverted lists; a vector x
 * goes to the list of its nearest centroid c (always by L2, whatever the
 * metric) and is stored as the product-quantizer code of its residual
 * r = x - c: the dim components are cut into pq_m sub-vectors of
 * dsub = dim / pq_m components and each is replaced by the number (one
 * byte) of the nearest of 256 sub-centroids of its sub-space. A search
 * probes the nprobe lists whose centroids are nearest to the query and
 * estimates the distance to each code from lookup tables (asymmetric
 * distance computation: the query stays exact), keeping the best k in a
 * bounded max-heap. Before a model exists, and for vectors not encoded
 * yet, fp32 vectors wait in a pending store that searches scan exactly.
 *
 * Distance decomposition (our choice, named)
 * ------------------------------------------
 * With y the decoded residual, the L2 estimate is
 *   ||q - c - y||^2 = ||q - c||^2  -  2 <q, y>  +  (||y||^2 + 2 <c, y>).
 * The first term is a by-product of choosing the lists to probe; the
 * second is a sum over sub-spaces of one table of pq_m x 256 floats
 * (-2 <q_j, y_jk>) computed once per query, not once per list; the third
 * depends on the vector only and is computed at encoding time and stored
 * with the code as one float ("term"). faiss computes the same sum with a
 * precomputed table of nlist x pq_m x 256 floats (its "precomputed
 * tables", 16 MB for nlist 1024, m 16) plus a per-list table build; the
 * per-vector float costs 4 bytes per vector instead, and makes the cost of
 * a probed list just its scan. IP is 1 - <q, c> - <q, y> with the table
 * -<q_j, y_jk> and no term. COSINE is IP on vectors normalized on add and
 * on search.
 *
 * Memory layout
 * -------------
 * Model (immutable once built): centroids stored transposed, dim rows of
 * nlist_pad (nlist rounded up to 8) floats, so that distances from one
 * vector to all centroids are one pass of 8-wide FMAs over contiguous
 * rows ("dots_t" below); their squared norms; codebooks transposed the
 * same way per sub-space (pq_m blocks of dsub rows of 256 floats) and the
 * 256 squared norms per sub-space. The same kernel serves coarse
 * assignment, encoding, the per-query table and k-means.
 * Lists: per list three parallel arrays grown by doubling: labels
 * (uint64), codes (pq_m bytes per vector, one vector after the other) and,
 * for L2, terms (float). Deleting moves the last entry into the hole.
 * Pending store: labels and dim floats per vector, same discipline.
 * Finding a label: the index keeps no map from label to location for
 * encoded vectors (it would cost 10 bytes per vector, more than half a
 * 16-byte code). The caller's locator (ivfpq.h) remembers each encoded
 * label's list number; the label is then found by scanning that one list
 * (O(n / nlist) expected). Pending vectors, which cost 4 * dim bytes each
 * anyway, have a lookup: open addressing with linear probing, one uint64
 * bucket per pending vector = 8-bit fingerprint of the label hash |
 * 32-bit position in the pending store (the label itself is read from the
 * store). Home bucket by Lemire's multiply-shift range reduction, so the
 * table grows by 1.5x (load kept in (0.53, 0.8]); deletion by Knuth's
 * Algorithm R (TAOCP 6.4), no tombstones; freed when the last pending
 * vector is encoded.
 * Bytes per encoded vector after a shrink: pq_m (code) + 8 (label) + 4
 * (L2 term). faiss IndexIVFPQ holds pq_m + 8 (its remove_ids scans every
 * list) and, for L2, the nlist x pq_m x 256 table instead of the terms.
 *
 * Invariants (checked by ivfpq_validate)
 * --------------------------------------
 *  I1 every pending label has exactly one bucket, whose position points at
 *     the entry holding it, and no other bucket is used; every encoded label
 *     is in the list its locator names; no label is stored twice;
 *  I2 lists exist iff a model is installed; list sizes sum to nencoded;
 *  I3 pending vectors are finite (unit or zero for COSINE); terms finite.
 *
 * Training
 * --------
 * Lloyd's k-means seeded by k-means++ (random seeding, faiss's default,
 * leaves several centroids in one true cluster and one across two, which
 * Lloyd iterations do not repair: test_kmeans_finds_clusters fails with
 * it; the seeding costs about one Lloyd iteration), COARSE_ITERS (15)
 * iterations on at most 256 * nlist points, an empty cluster re-seeded by splitting the largest
 * one (its centroid is copied and both copies are pushed apart by a
 * relative 1/1024, as faiss does), then PQ_ITERS (20) iterations per sub-space
 * on the residuals of at most 65536 points (256 per sub-centroid). Sums
 * are accumulated in double.
 *
 * Complexity
 * ----------
 * add (trained) and encode: O((nlist + 256) * dim). Search: O(nlist * dim)
 * for the probe choice, O(256 * dim) for the table, O(pq_m) per scanned
 * code, O(dim) per pending vector, O(log k) per heap insertion. delete,
 * lookup: O(1) expected. train: O(iters * n * (nlist + 256) * dim).
 *
 * SIMD: dots_t and the ADC scan have an AVX2+FMA version (ADC: one gather
 * of 8 table entries per 8 sub-codes, four codes in flight) and a scalar
 * one, chosen per call from vec_dist_current() (so PHENIX_VEC_ISA=scalar
 * and the tests can force the scalar path).
 *
 * Naming: public names ivfpq_*; file-local helpers without prefix. */
#include "ivfpq.h"

#include "vec_dist.h"
#include "zmalloc.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_AVX2 __attribute__((target("avx2,fma")))

#define COARSE_ITERS      15
#define PQ_ITERS          20
#define MAX_PTS_PER_CENT  256
#define SCAN_BLOCK        256
#define EMPTY_BUCKET      UINT64_MAX
#define FP_SHIFT          56
#define POS_MASK          0xFFFFFFFFULL
#define MAX_COUNT         (UINT32_MAX - 1u)

struct ivfpq_model {
    ivfpq_params p;
    uint32_t dsub, nlist_pad;
    float *cent_t;    /* dim x nlist_pad (padding columns 0) */
    float *cent_norm; /* nlist_pad */
    float *cb_t;      /* pq_m x dsub x 256 */
    float *cb_norm;   /* pq_m x 256 */
};

typedef struct ivf_list {
    uint64_t *labels;
    uint8_t *codes;
    float *terms; /* L2 only */
    uint32_t size, cap;
} ivf_list;

struct ivfpq_index {
    ivfpq_params p;
    uint32_t dsub, nlist_pad;
    ivfpq_model *model;
    ivf_list *lists; /* nlist, once a model is installed */
    size_t nencoded;
    uint64_t *pend_labels;
    float *pend_vecs;
    size_t npend, pend_cap;
    ivfpq_locator loc;
    uint64_t *buckets; /* the pending lookup */
    size_t nbuckets;
    uint64_t rng;
    /* scratch for search and encoding */
    float *s_query, *s_res, *s_coarse, *s_table, *s_tmp, *s_dist;
    uint8_t *s_code;
    uint64_t *s_probe;
    float *s_pdist;
    float *h_dist;
    uint64_t *h_label;
    size_t h_cap;
};

/* ------------------------------------------------------------ small helpers */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash_label(uint64_t label) {
    uint64_t s = label;
    return splitmix64(&s);
}

static int all_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static int simd_on(void) { return vec_dist_current() >= VEC_ISA_AVX2; }

static float exact_dist(ivfpq_metric metric, const float *a, const float *b, size_t dim) {
    if (metric == IVFPQ_METRIC_L2) return vec_l2sq(a, b, dim);
    return 1.0f - vec_dot(a, b, dim);
}

/* ------------------------------------------------------------ kernels */

/* out[k] = sum_i x[i] * ct[i * stride + k] for k < K (K a multiple of 8). */
static void dots_t_scalar(const float *x, const float *ct, size_t d, size_t K, size_t stride, float *out) {
    for (size_t k0 = 0; k0 < K; k0 += 8) {
        float acc[8] = {0};
        for (size_t i = 0; i < d; i++) {
            const float *row = ct + i * stride + k0;
            float xi = x[i];
            for (int l = 0; l < 8; l++) acc[l] += xi * row[l];
        }
        memcpy(out + k0, acc, sizeof acc);
    }
}

TARGET_AVX2 static void dots_t_avx2(const float *x, const float *ct, size_t d, size_t K, size_t stride,
                                    float *out) {
    size_t k0 = 0;
    for (; k0 + 32 <= K; k0 += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (size_t i = 0; i < d; i++) {
            const float *row = ct + i * stride + k0;
            __m256 xb = _mm256_broadcast_ss(x + i);
            a0 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(row), a0);
            a1 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(row + 8), a1);
            a2 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(row + 16), a2);
            a3 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(row + 24), a3);
        }
        _mm256_storeu_ps(out + k0, a0);
        _mm256_storeu_ps(out + k0 + 8, a1);
        _mm256_storeu_ps(out + k0 + 16, a2);
        _mm256_storeu_ps(out + k0 + 24, a3);
    }
    for (; k0 < K; k0 += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (size_t i = 0; i < d; i++)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), _mm256_loadu_ps(ct + i * stride + k0), a0);
        _mm256_storeu_ps(out + k0, a0);
    }
}

static void dots_t(const float *x, const float *ct, size_t d, size_t K, size_t stride, float *out) {
    if (simd_on()) dots_t_avx2(x, ct, d, K, stride, out);
    else dots_t_scalar(x, ct, d, K, stride, out);
}

/* out[i] = base + (terms ? terms[i] : 0) + sum_j tab[j * 256 + codes[i * m + j]]. */
static void adc_scalar(const float *tab, size_t m, const uint8_t *codes, size_t n, float base, const float *terms,
                       float *out) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *c = codes + i * m;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t j = 0; j < m; j++) {
            const float *t = tab + j * IVFPQ_KSUB;
            s0 += t[c[j]];
            s1 += t[c[m + j]];
            s2 += t[c[2 * m + j]];
            s3 += t[c[3 * m + j]];
        }
        out[i] = base + s0;
        out[i + 1] = base + s1;
        out[i + 2] = base + s2;
        out[i + 3] = base + s3;
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + i * m;
        float s = 0;
        for (size_t j = 0; j < m; j++) s += tab[j * IVFPQ_KSUB + c[j]];
        out[i] = base + s;
    }
    if (terms)
        for (i = 0; i < n; i++) out[i] += terms[i];
}

TARGET_AVX2 static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TARGET_AVX2 static inline __m256i code_index(const uint8_t *c, __m256i off) {
    return _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)c)), off);
}

/* As adc_scalar; sub-codes 8 at a time (one gather each), 4 codes in flight. */
TARGET_AVX2 static void adc_avx2(const float *tab, size_t m, const uint8_t *codes, size_t n, float base,
                                 const float *terms, float *out) {
    size_t m8 = m & ~(size_t)7;
    if (m8 == 0) {
        adc_scalar(tab, m, codes, n, base, terms, out);
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
    const __m256i step = _mm256_set1_epi32(8 * IVFPQ_KSUB);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *c = codes + i * m;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        __m256i off = lane;
        for (size_t j = 0; j < m8; j += 8) {
            a0 = _mm256_add_ps(a0, _mm256_i32gather_ps(tab, code_index(c + j, off), 4));
            a1 = _mm256_add_ps(a1, _mm256_i32gather_ps(tab, code_index(c + m + j, off), 4));
            a2 = _mm256_add_ps(a2, _mm256_i32gather_ps(tab, code_index(c + 2 * m + j, off), 4));
            a3 = _mm256_add_ps(a3, _mm256_i32gather_ps(tab, code_index(c + 3 * m + j, off), 4));
            off = _mm256_add_epi32(off, step);
        }
        float s[4] = {hsum_avx2(a0), hsum_avx2(a1), hsum_avx2(a2), hsum_avx2(a3)};
        for (size_t j = m8; j < m; j++)
            for (int v = 0; v < 4; v++) s[v] += tab[j * IVFPQ_KSUB + c[v * m + j]];
        for (int v = 0; v < 4; v++) out[i + v] = base + s[v];
    }
    if (i < n) adc_scalar(tab, m, codes + i * m, n - i, base, NULL, out + i);
    if (terms)
        for (i = 0; i < n; i++) out[i] += terms[i];
}

static void adc_scan(const float *tab, size_t m, const uint8_t *codes, size_t n, float base, const float *terms,
                     float *out) {
    if (simd_on()) adc_avx2(tab, m, codes, n, base, terms, out);
    else adc_scalar(tab, m, codes, n, base, terms, out);
}

/* Index of the smallest norm[k] - 2 * dot[k] for k < K. */
static uint32_t argmin_l2(const float *norm, const float *dot, size_t K) {
    uint32_t best = 0;
    float bd = INFINITY;
    for (size_t k = 0; k < K; k++) {
        float d = norm[k] - 2.0f * dot[k];
        if (d < bd) {
            bd = d;
            best = (uint32_t)k;
        }
    }
    return best;
}

/* ------------------------------------------------------------ model */

static uint32_t pad8(uint32_t n) { return (n + 7u) & ~7u; }

int ivfpq_check_params(const ivfpq_params *p) {
    if (!p || p->dim < 1 || p->dim > IVFPQ_MAX_DIM) return IVFPQ_ERR_ARG;
    if (p->metric != IVFPQ_METRIC_L2 && p->metric != IVFPQ_METRIC_IP && p->metric != IVFPQ_METRIC_COSINE)
        return IVFPQ_ERR_ARG;
    if (p->nlist < 1 || p->nlist > IVFPQ_MAX_NLIST) return IVFPQ_ERR_ARG;
    if (p->pq_m < 1 || p->pq_m > p->dim || p->dim % p->pq_m != 0) return IVFPQ_ERR_ARG;
    if (p->pq_bits != 8) return IVFPQ_ERR_ARG;
    return IVFPQ_OK;
}

static int same_params(const ivfpq_params *a, const ivfpq_params *b) {
    return a->dim == b->dim && a->metric == b->metric && a->nlist == b->nlist && a->pq_m == b->pq_m &&
           a->pq_bits == b->pq_bits;
}

/* Builds a model from row-major centroids (nlist x dim) and natural-order
 * codebooks (pq_m x 256 x dsub); both borrowed. */
static ivfpq_model *model_build(const ivfpq_params *p, const float *cent, const float *cb) {
    ivfpq_model *md = zcalloc(sizeof(*md));
    md->p = *p;
    md->dsub = p->dim / p->pq_m;
    md->nlist_pad = pad8(p->nlist);
    size_t np = md->nlist_pad, dim = p->dim, dsub = md->dsub;
    md->cent_t = zcalloc(dim * np * sizeof(float));
    md->cent_norm = zcalloc(np * sizeof(float));
    for (size_t k = 0; k < p->nlist; k++) {
        double s = 0;
        for (size_t i = 0; i < dim; i++) {
            float v = cent[k * dim + i];
            md->cent_t[i * np + k] = v;
            s += (double)v * v;
        }
        md->cent_norm[k] = (float)s;
    }
    md->cb_t = zmalloc((size_t)p->pq_m * dsub * IVFPQ_KSUB * sizeof(float));
    md->cb_norm = zmalloc((size_t)p->pq_m * IVFPQ_KSUB * sizeof(float));
    for (size_t j = 0; j < p->pq_m; j++) {
        for (size_t c = 0; c < IVFPQ_KSUB; c++) {
            const float *y = cb + (j * IVFPQ_KSUB + c) * dsub;
            double s = 0;
            for (size_t i = 0; i < dsub; i++) {
                md->cb_t[(j * dsub + i) * IVFPQ_KSUB + c] = y[i];
                s += (double)y[i] * y[i];
            }
            md->cb_norm[j * IVFPQ_KSUB + c] = (float)s;
        }
    }
    return md;
}

void ivfpq_model_free(ivfpq_model *md) {
    if (!md) return;
    zfree(md->cent_t);
    zfree(md->cent_norm);
    zfree(md->cb_t);
    zfree(md->cb_norm);
    zfree(md);
}

static float centroid_at(const ivfpq_model *md, uint32_t list, size_t i) {
    return md->cent_t[i * md->nlist_pad + list];
}

static float codeword_at(const ivfpq_model *md, size_t j, uint8_t c, size_t i) {
    return md->cb_t[(j * md->dsub + i) * IVFPQ_KSUB + c];
}

/* Reconstruction of (list, code) into out (dim floats). */
static void decode(const ivfpq_model *md, uint32_t list, const uint8_t *code, float *out) {
    size_t dsub = md->dsub;
    for (size_t j = 0; j < md->p.pq_m; j++)
        for (size_t i = 0; i < dsub; i++)
            out[j * dsub + i] = centroid_at(md, list, j * dsub + i) + codeword_at(md, j, code[j], i);
}

/* ||y||^2 + 2 <c, y> for the decoded residual y of code in list. */
static float l2_term(const ivfpq_model *md, uint32_t list, const uint8_t *code) {
    double s = 0;
    size_t dsub = md->dsub;
    for (size_t j = 0; j < md->p.pq_m; j++)
        for (size_t i = 0; i < dsub; i++) {
            double y = codeword_at(md, j, code[j], i);
            s += y * y + 2.0 * y * centroid_at(md, list, j * dsub + i);
        }
    return (float)s;
}

/* Nearest coarse centroid of x; coarse is nlist_pad floats of scratch. */
static uint32_t assign_list(const ivfpq_model *md, const float *x, float *coarse) {
    dots_t(x, md->cent_t, md->p.dim, md->nlist_pad, md->nlist_pad, coarse);
    return argmin_l2(md->cent_norm, coarse, md->p.nlist);
}

/* PQ code of residual r into code; tmp is 256 floats of scratch. */
static void pq_encode(const ivfpq_model *md, const float *r, uint8_t *code, float *tmp) {
    size_t dsub = md->dsub;
    for (size_t j = 0; j < md->p.pq_m; j++) {
        dots_t(r + j * dsub, md->cb_t + j * dsub * IVFPQ_KSUB, dsub, IVFPQ_KSUB, IVFPQ_KSUB, tmp);
        code[j] = (uint8_t)argmin_l2(md->cb_norm + j * IVFPQ_KSUB, tmp, IVFPQ_KSUB);
    }
}

/* ------------------------------------------------------------ k-means */

typedef struct kmeans_job {
    const float *x; /* n x d */
    size_t n, d, k;
    int iters;
    uint64_t *rng;
    ivfpq_progress *prog;
    float *cent; /* out: k x d */
} kmeans_job;

static int canceled(const ivfpq_progress *prog) { return prog && atomic_load(&prog->cancel); }

/* Assigns every point to its nearest centroid (ct: d x kpad transposed,
 * norms kpad). Returns IVFPQ_ERR_CANCELED or IVFPQ_OK. */
static int kmeans_assign(const kmeans_job *job, const float *ct, const float *norms, size_t kpad, float *dots,
                         uint32_t *assign) {
    for (size_t i = 0; i < job->n; i++) {
        if ((i & 4095) == 0 && canceled(job->prog)) return IVFPQ_ERR_CANCELED;
        dots_t(job->x + i * job->d, ct, job->d, kpad, kpad, dots);
        assign[i] = argmin_l2(norms, dots, job->k);
    }
    return IVFPQ_OK;
}

static void transpose_cent(const float *cent, size_t k, size_t d, size_t kpad, float *ct, float *norms) {
    memset(ct, 0, d * kpad * sizeof(float));
    memset(norms, 0, kpad * sizeof(float));
    for (size_t c = 0; c < k; c++) {
        double s = 0;
        for (size_t i = 0; i < d; i++) {
            ct[i * kpad + c] = cent[c * d + i];
            s += (double)cent[c * d + i] * cent[c * d + i];
        }
        norms[c] = (float)s;
    }
}

/* New centroids = means; an empty cluster takes half of the largest one. */
static void kmeans_update(const kmeans_job *job, const uint32_t *assign, double *sums, size_t *counts) {
    size_t k = job->k, d = job->d;
    memset(sums, 0, k * d * sizeof(double));
    memset(counts, 0, k * sizeof(size_t));
    for (size_t i = 0; i < job->n; i++) {
        const float *x = job->x + i * d;
        double *s = sums + (size_t)assign[i] * d;
        for (size_t t = 0; t < d; t++) s[t] += x[t];
        counts[assign[i]]++;
    }
    for (size_t c = 0; c < k; c++)
        if (counts[c])
            for (size_t t = 0; t < d; t++) job->cent[c * d + t] = (float)(sums[c * d + t] / (double)counts[c]);
    for (size_t c = 0; c < k; c++) {
        if (counts[c]) continue;
        size_t big = 0;
        for (size_t b = 1; b < k; b++)
            if (counts[b] > counts[big]) big = b;
        float *cb = job->cent + big * d, *ce = job->cent + c * d;
        for (size_t t = 0; t < d; t++) {
            float eps = (t & 1) ? -1.0f / 1024 : 1.0f / 1024;
            ce[t] = cb[t] * (1 + eps);
            cb[t] = cb[t] * (1 - eps);
        }
        counts[c] = counts[big] / 2;
        counts[big] -= counts[c];
    }
}

/* k-means++ seeding (Arthur and Vassilvitskii 2007): the first centroid
 * is a random point, each next one a point drawn with probability
 * proportional to its squared distance to the nearest centroid so far.
 * O(k * n * d). */
static void kmeanspp_seed(const kmeans_job *job) {
    size_t n = job->n, d = job->d;
    double *mind = zmalloc(n * sizeof(double));
    size_t pick = splitmix64(job->rng) % n;
    for (size_t c = 0; c < job->k; c++) {
        memcpy(job->cent + c * d, job->x + pick * d, d * sizeof(float));
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            double dist = vec_l2sq(job->x + i * d, job->cent + c * d, d);
            if (c == 0 || dist < mind[i]) mind[i] = dist;
            total += mind[i];
        }
        double r = (double)(splitmix64(job->rng) >> 11) * 0x1.0p-53 * total;
        pick = splitmix64(job->rng) % n; /* all points coincide with centroids: any point */
        for (size_t i = 0; i < n && total > 0; i++) {
            r -= mind[i];
            if (r < 0 || i == n - 1) {
                pick = i;
                break;
            }
        }
    }
    zfree(mind);
}

/* Lloyd's algorithm (see the file header). n >= k. */
static int kmeans_run(const kmeans_job *job) {
    size_t n = job->n, d = job->d, k = job->k, kpad = pad8((uint32_t)k);
    kmeanspp_seed(job);
    uint32_t *assign = zmalloc(n * sizeof(uint32_t));
    float *ct = zmalloc(d * kpad * sizeof(float)), *norms = zmalloc(kpad * sizeof(float));
    float *dots = zmalloc(kpad * sizeof(float));
    double *sums = zmalloc(k * d * sizeof(double));
    size_t *counts = zmalloc(k * sizeof(size_t));
    int rc = IVFPQ_OK;
    for (int it = 0; it < job->iters && rc == IVFPQ_OK; it++) {
        transpose_cent(job->cent, k, d, kpad, ct, norms);
        rc = kmeans_assign(job, ct, norms, kpad, dots, assign);
        if (rc == IVFPQ_OK) kmeans_update(job, assign, sums, counts);
        if (job->prog) atomic_fetch_add(&job->prog->done, 1);
    }
    zfree(assign);
    zfree(ct);
    zfree(norms);
    zfree(dots);
    zfree(sums);
    zfree(counts);
    return rc;
}

/* A random subset of min(n, cap) rows of x (n x d), copied. */
static float *subsample(const float *x, size_t n, size_t d, size_t cap, uint64_t *rng, size_t *n_out) {
    size_t m = n < cap ? n : cap;
    float *out = zmalloc(m * d * sizeof(float));
    if (m == n) {
        memcpy(out, x, n * d * sizeof(float));
    } else {
        uint32_t *perm = zmalloc(n * sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
        for (size_t i = 0; i < m; i++) {
            size_t r = i + splitmix64(rng) % (n - i);
            uint32_t t = perm[i];
            perm[i] = perm[r];
            perm[r] = t;
            memcpy(out + i * d, x + (size_t)perm[i] * d, d * sizeof(float));
        }
        zfree(perm);
    }
    *n_out = m;
    return out;
}

/* Trains the sub-quantizers on the residuals of pts (n x dim, replaced by
 * residuals in place) into cb (pq_m x 256 x dsub). */
static int train_pq(const ivfpq_params *p, const ivfpq_model *coarse, float *pts, size_t n, uint64_t *rng,
                    ivfpq_progress *prog, float *cb) {
    size_t dim = p->dim, dsub = dim / p->pq_m;
    float *scratch = zmalloc(coarse->nlist_pad * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float *x = pts + i * dim;
        uint32_t l = assign_list(coarse, x, scratch);
        for (size_t t = 0; t < dim; t++) x[t] -= centroid_at(coarse, l, t);
    }
    zfree(scratch);
    float *sub = zmalloc(n * dsub * sizeof(float));
    int rc = IVFPQ_OK;
    for (size_t j = 0; j < p->pq_m && rc == IVFPQ_OK; j++) {
        for (size_t i = 0; i < n; i++) memcpy(sub + i * dsub, pts + i * dim + j * dsub, dsub * sizeof(float));
        kmeans_job job = {sub, n, dsub, IVFPQ_KSUB, PQ_ITERS, rng, prog, cb + j * IVFPQ_KSUB * dsub};
        rc = kmeans_run(&job);
    }
    zfree(sub);
    return rc;
}

size_t ivfpq_min_train(const ivfpq_params *p) {
    size_t k = p->nlist > IVFPQ_KSUB ? p->nlist : IVFPQ_KSUB;
    return 39 * k;
}

int ivfpq_train(const ivfpq_params *p, const float *sample, size_t n, ivfpq_progress *prog, ivfpq_model **out) {
    *out = NULL;
    if (ivfpq_check_params(p) != IVFPQ_OK || !sample) return IVFPQ_ERR_ARG;
    size_t need = p->nlist > IVFPQ_KSUB ? p->nlist : IVFPQ_KSUB, dim = p->dim;
    if (n < need || !all_finite(sample, n * dim)) return IVFPQ_ERR_ARG;
    if (prog) {
        atomic_store(&prog->done, 0);
        atomic_store(&prog->total, (uint64_t)COARSE_ITERS + (uint64_t)p->pq_m * PQ_ITERS);
        atomic_store(&prog->phase, IVFPQ_PHASE_COARSE);
    }
    uint64_t rng = p->seed ^ 0x5bd1e995ULL;
    size_t nc, npq;
    float *pts = subsample(sample, n, dim, (size_t)MAX_PTS_PER_CENT * p->nlist, &rng, &nc);
    if (p->metric == IVFPQ_METRIC_COSINE)
        for (size_t i = 0; i < nc; i++) vec_normalize(pts + i * dim, dim);
    float *cent = zmalloc((size_t)p->nlist * dim * sizeof(float));
    kmeans_job job = {pts, nc, dim, p->nlist, COARSE_ITERS, &rng, prog, cent};
    int rc = kmeans_run(&job);
    float *cb = zcalloc((size_t)p->pq_m * IVFPQ_KSUB * (dim / p->pq_m) * sizeof(float));
    ivfpq_model *coarse = NULL;
    if (rc == IVFPQ_OK) {
        if (prog) atomic_store(&prog->phase, IVFPQ_PHASE_PQ);
        coarse = model_build(p, cent, cb);
        float *pq_pts = subsample(pts, nc, dim, (size_t)MAX_PTS_PER_CENT * IVFPQ_KSUB, &rng, &npq);
        rc = train_pq(p, coarse, pq_pts, npq, &rng, prog, cb);
        zfree(pq_pts);
    }
    if (rc == IVFPQ_OK) {
        *out = model_build(p, cent, cb);
        if (prog) atomic_store(&prog->phase, IVFPQ_PHASE_DONE);
    }
    ivfpq_model_free(coarse);
    zfree(pts);
    zfree(cent);
    zfree(cb);
    return rc;
}

/* ------------------------------------------------------------ pending lookup */

static uint32_t bucket_pos(uint64_t b) { return (uint32_t)(b & POS_MASK); }

static size_t home_of(uint64_t h, size_t nb) { return (size_t)(((unsigned __int128)h * nb) >> 64); }

/* Bucket index of pending label, or SIZE_MAX. */
static size_t lookup_find(const ivfpq_index *idx, uint64_t label) {
    if (idx->nbuckets == 0) return SIZE_MAX;
    uint64_t h = hash_label(label), fp = h & 0xFF;
    size_t i = home_of(h, idx->nbuckets);
    for (;;) {
        uint64_t b = idx->buckets[i];
        if (b == EMPTY_BUCKET) return SIZE_MAX;
        if ((b >> FP_SHIFT) == fp && idx->pend_labels[bucket_pos(b)] == label) return i;
        if (++i == idx->nbuckets) i = 0;
    }
}

static void lookup_place(uint64_t *buckets, size_t nb, uint64_t h, uint32_t pos) {
    size_t i = home_of(h, nb);
    while (buckets[i] != EMPTY_BUCKET)
        if (++i == nb) i = 0;
    buckets[i] = ((h & 0xFF) << FP_SHIFT) | pos;
}

static void lookup_resize(ivfpq_index *idx, size_t nb);

/* Records pending label at pos; npend already counts it. */
static void lookup_insert(ivfpq_index *idx, uint64_t label, uint32_t pos) {
    if (idx->npend * 5 > idx->nbuckets * 4)
        lookup_resize(idx, idx->nbuckets < 16 ? 16 : idx->nbuckets + idx->nbuckets / 2);
    lookup_place(idx->buckets, idx->nbuckets, hash_label(label), pos);
}

static void lookup_set_pos(ivfpq_index *idx, uint64_t label, uint32_t pos) {
    size_t i = lookup_find(idx, label);
    idx->buckets[i] = (idx->buckets[i] & ~POS_MASK) | pos;
}

/* Empties bucket i (Knuth's Algorithm R): later buckets of the cluster
 * whose home does not lie cyclically in (i, j] move back into the hole. */
static void lookup_remove_at(ivfpq_index *idx, size_t i) {
    size_t nb = idx->nbuckets, j = i;
    for (;;) {
        idx->buckets[i] = EMPTY_BUCKET;
        size_t r;
        do {
            if (++j == nb) j = 0;
            if (idx->buckets[j] == EMPTY_BUCKET) return;
            r = home_of(hash_label(idx->pend_labels[bucket_pos(idx->buckets[j])]), nb);
        } while (i <= j ? (i < r && r <= j) : (i < r || r <= j));
        idx->buckets[i] = idx->buckets[j];
        i = j;
    }
}

/* Position of encoded label in the list its locator names, or -1 (the
 * list is returned in *list). */
static long find_encoded(const ivfpq_index *idx, uint64_t label, uint32_t *list) {
    if (!idx->model) return -1;
    uint32_t l = idx->loc.get(label, idx->loc.ctx);
    if (l >= idx->p.nlist) return -1;
    const ivf_list *lst = &idx->lists[l];
    for (uint32_t pos = 0; pos < lst->size; pos++)
        if (lst->labels[pos] == label) {
            *list = l;
            return pos;
        }
    return -1;
}

/* ------------------------------------------------------------ storage */

static void list_reserve(const ivfpq_index *idx, ivf_list *l, uint32_t cap) {
    l->labels = zrealloc(l->labels, (size_t)cap * sizeof(uint64_t));
    l->codes = zrealloc(l->codes, (size_t)cap * idx->p.pq_m);
    if (idx->p.metric == IVFPQ_METRIC_L2) l->terms = zrealloc(l->terms, (size_t)cap * sizeof(float));
    l->cap = cap;
}

static void list_release(ivf_list *l) {
    zfree(l->labels);
    zfree(l->codes);
    zfree(l->terms);
    memset(l, 0, sizeof(*l));
}

/* Appends (label, code) to list and tells the locator. */
static void list_append(ivfpq_index *idx, uint32_t list, uint64_t label, const uint8_t *code) {
    ivf_list *l = &idx->lists[list];
    if (l->size == l->cap) list_reserve(idx, l, l->cap ? l->cap * 2 : 4);
    uint32_t pos = l->size++;
    l->labels[pos] = label;
    memcpy(l->codes + (size_t)pos * idx->p.pq_m, code, idx->p.pq_m);
    if (l->terms) l->terms[pos] = l2_term(idx->model, list, code);
    idx->nencoded++;
    idx->loc.set(label, list, idx->loc.ctx);
}

static void list_remove(ivfpq_index *idx, uint32_t list, uint32_t pos) {
    ivf_list *l = &idx->lists[list];
    uint32_t last = --l->size;
    idx->loc.set(l->labels[pos], IVFPQ_NO_LIST, idx->loc.ctx);
    if (pos != last) {
        l->labels[pos] = l->labels[last];
        memcpy(l->codes + (size_t)pos * idx->p.pq_m, l->codes + (size_t)last * idx->p.pq_m, idx->p.pq_m);
        if (l->terms) l->terms[pos] = l->terms[last];
    }
    idx->nencoded--;
    if (l->size == 0) list_release(l);
    else if (l->cap >= 16 && l->size < l->cap / 4) list_reserve(idx, l, l->cap / 2);
}

static void pending_reserve(ivfpq_index *idx, size_t cap) {
    idx->pend_labels = zrealloc(idx->pend_labels, cap * sizeof(uint64_t));
    idx->pend_vecs = zrealloc(idx->pend_vecs, cap * idx->p.dim * sizeof(float));
    idx->pend_cap = cap;
}

/* Appends a pending vector (already normalized for COSINE). */
static void pending_append(ivfpq_index *idx, uint64_t label, const float *vec) {
    if (idx->npend == idx->pend_cap) pending_reserve(idx, idx->pend_cap ? idx->pend_cap * 2 : 16);
    size_t pos = idx->npend++;
    idx->pend_labels[pos] = label;
    memcpy(idx->pend_vecs + pos * idx->p.dim, vec, idx->p.dim * sizeof(float));
    lookup_insert(idx, label, (uint32_t)pos);
}

static void pending_release_all(ivfpq_index *idx) {
    zfree(idx->pend_labels);
    zfree(idx->pend_vecs);
    zfree(idx->buckets);
    idx->pend_labels = NULL;
    idx->pend_vecs = NULL;
    idx->buckets = NULL;
    idx->pend_cap = idx->nbuckets = 0;
}

/* Removes the pending vector of bucket i. */
static void pending_remove(ivfpq_index *idx, size_t i) {
    size_t pos = bucket_pos(idx->buckets[i]);
    lookup_remove_at(idx, i);
    size_t last = --idx->npend, dim = idx->p.dim;
    if (pos != last) {
        idx->pend_labels[pos] = idx->pend_labels[last];
        memcpy(idx->pend_vecs + pos * dim, idx->pend_vecs + last * dim, dim * sizeof(float));
        lookup_set_pos(idx, idx->pend_labels[pos], (uint32_t)pos);
    }
    if (idx->npend == 0) pending_release_all(idx);
    else if (idx->pend_cap >= 64 && idx->npend < idx->pend_cap / 4) pending_reserve(idx, idx->pend_cap / 2);
}

/* Encodes x (normalized for COSINE) and appends it to its list. */
static void encode_append(ivfpq_index *idx, uint64_t label, const float *x) {
    const ivfpq_model *md = idx->model;
    uint32_t list = assign_list(md, x, idx->s_coarse);
    for (size_t t = 0; t < idx->p.dim; t++) idx->s_res[t] = x[t] - centroid_at(md, list, t);
    pq_encode(md, idx->s_res, idx->s_code, idx->s_tmp);
    list_append(idx, list, label, idx->s_code);
}

/* ------------------------------------------------------------ lifetime */

int ivfpq_create(const ivfpq_params *p, const ivfpq_locator *loc, ivfpq_index **out) {
    *out = NULL;
    if (ivfpq_check_params(p) != IVFPQ_OK || !loc || !loc->get || !loc->set) return IVFPQ_ERR_ARG;
    ivfpq_index *idx = zcalloc(sizeof(*idx));
    idx->p = *p;
    idx->loc = *loc;
    idx->dsub = p->dim / p->pq_m;
    idx->nlist_pad = pad8(p->nlist);
    idx->rng = p->seed;
    idx->s_query = zmalloc(p->dim * sizeof(float));
    idx->s_res = zmalloc(p->dim * sizeof(float));
    idx->s_coarse = zmalloc(idx->nlist_pad * sizeof(float));
    idx->s_probe = zmalloc(p->nlist * sizeof(uint64_t));
    idx->s_pdist = zmalloc(p->nlist * sizeof(float));
    idx->s_table = zmalloc((size_t)p->pq_m * IVFPQ_KSUB * sizeof(float));
    idx->s_tmp = zmalloc(IVFPQ_KSUB * sizeof(float));
    idx->s_code = zmalloc(p->pq_m);
    idx->s_dist = zmalloc(SCAN_BLOCK * sizeof(float));
    *out = idx;
    return IVFPQ_OK;
}

void ivfpq_free(ivfpq_index *idx) {
    if (!idx) return;
    if (idx->lists) {
        for (uint32_t l = 0; l < idx->p.nlist; l++) list_release(&idx->lists[l]);
        zfree(idx->lists);
    }
    ivfpq_model_free(idx->model);
    pending_release_all(idx);
    zfree(idx->s_query);
    zfree(idx->s_res);
    zfree(idx->s_coarse);
    zfree(idx->s_probe);
    zfree(idx->s_pdist);
    zfree(idx->s_table);
    zfree(idx->s_tmp);
    zfree(idx->s_code);
    zfree(idx->s_dist);
    zfree(idx->h_dist);
    zfree(idx->h_label);
    zfree(idx);
}

const ivfpq_params *ivfpq_get_params(const ivfpq_index *idx) { return &idx->p; }

const char *ivfpq_strerror(int err) {
    switch (err) {
    case IVFPQ_OK: return "ok";
    case IVFPQ_ERR_ARG: return "invalid argument";
    case IVFPQ_ERR_EXISTS: return "label already present";
    case IVFPQ_ERR_NOTFOUND: return "label not found";
    case IVFPQ_ERR_STATE: return "operation not allowed in this state";
    case IVFPQ_ERR_CANCELED: return "training canceled";
    case IVFPQ_ERR_CORRUPT: return "inconsistent import data";
    case IVFPQ_ERR_FULL: return "index full";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------ writes */

/* Copies vec into s_query, normalized for COSINE. 0 when not finite. */
static int prepare_vector(ivfpq_index *idx, const float *vec) {
    if (!vec || !all_finite(vec, idx->p.dim)) return 0;
    memcpy(idx->s_query, vec, idx->p.dim * sizeof(float));
    if (idx->p.metric == IVFPQ_METRIC_COSINE) vec_normalize(idx->s_query, idx->p.dim);
    return 1;
}

/* 1 when label is stored, pending or encoded. */
static int present(const ivfpq_index *idx, uint64_t label) {
    uint32_t list;
    return lookup_find(idx, label) != SIZE_MAX || find_encoded(idx, label, &list) >= 0;
}

int ivfpq_add(ivfpq_index *idx, uint64_t label, const float *vec) {
    if (!prepare_vector(idx, vec)) return IVFPQ_ERR_ARG;
    if (present(idx, label)) return IVFPQ_ERR_EXISTS;
    if (ivfpq_count(idx) >= MAX_COUNT) return IVFPQ_ERR_FULL;
    if (idx->model) encode_append(idx, label, idx->s_query);
    else pending_append(idx, label, idx->s_query);
    return IVFPQ_OK;
}

int ivfpq_delete(ivfpq_index *idx, uint64_t label) {
    size_t i = lookup_find(idx, label);
    if (i != SIZE_MAX) {
        pending_remove(idx, i);
        return IVFPQ_OK;
    }
    uint32_t list;
    long pos = find_encoded(idx, label, &list);
    if (pos < 0) return IVFPQ_ERR_NOTFOUND;
    list_remove(idx, list, (uint32_t)pos);
    return IVFPQ_OK;
}

int ivfpq_update(ivfpq_index *idx, uint64_t label, const float *vec) {
    if (!prepare_vector(idx, vec)) return IVFPQ_ERR_ARG;
    size_t i = lookup_find(idx, label);
    if (i != SIZE_MAX && !idx->model) {
        memcpy(idx->pend_vecs + (size_t)bucket_pos(idx->buckets[i]) * idx->p.dim, idx->s_query,
               idx->p.dim * sizeof(float));
        return IVFPQ_OK;
    }
    if (ivfpq_delete(idx, label) != IVFPQ_OK) return IVFPQ_ERR_NOTFOUND;
    encode_append(idx, label, idx->s_query);
    return IVFPQ_OK;
}

/* ------------------------------------------------------------ training glue */

int ivfpq_train_sample(ivfpq_index *idx, size_t max_n, float **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (idx->model) return IVFPQ_ERR_STATE;
    if (idx->npend == 0 || max_n == 0) return IVFPQ_OK;
    *out = subsample(idx->pend_vecs, idx->npend, idx->p.dim, max_n, &idx->rng, n_out);
    return IVFPQ_OK;
}

int ivfpq_install_model(ivfpq_index *idx, ivfpq_model *model) {
    if (!model || !same_params(&model->p, &idx->p)) return IVFPQ_ERR_ARG;
    if (idx->model) return IVFPQ_ERR_STATE;
    idx->model = model;
    idx->lists = zcalloc((size_t)idx->p.nlist * sizeof(ivf_list));
    return IVFPQ_OK;
}

int ivfpq_is_trained(const ivfpq_index *idx) { return idx->model != NULL; }

/* Rebuilds the pending lookup with nb buckets (nb * 0.8 >= npend). */
static void lookup_resize(ivfpq_index *idx, size_t nb) {
    uint64_t *nbk = zmalloc(nb * sizeof(uint64_t));
    memset(nbk, 0xFF, nb * sizeof(uint64_t));
    for (size_t i = 0; i < idx->nbuckets; i++) {
        uint64_t b = idx->buckets[i];
        if (b != EMPTY_BUCKET) lookup_place(nbk, nb, hash_label(idx->pend_labels[bucket_pos(b)]), bucket_pos(b));
    }
    zfree(idx->buckets);
    idx->buckets = nbk;
    idx->nbuckets = nb;
}

void ivfpq_shrink(ivfpq_index *idx) {
    for (uint32_t l = 0; idx->lists && l < idx->p.nlist; l++) {
        ivf_list *lst = &idx->lists[l];
        if (lst->size && lst->size < lst->cap) list_reserve(idx, lst, lst->size);
    }
    if (idx->npend && idx->npend < idx->pend_cap) pending_reserve(idx, idx->npend);
    size_t nb = idx->npend * 5 / 4 + 1;
    if (nb < 16) nb = 16;
    if (idx->npend && nb < idx->nbuckets) lookup_resize(idx, nb);
}

long ivfpq_encode_step(ivfpq_index *idx, size_t max_vectors) {
    if (!idx->model) return IVFPQ_ERR_STATE;
    size_t dim = idx->p.dim;
    for (size_t done = 0; done < max_vectors && idx->npend > 0; done++) {
        size_t pos = idx->npend - 1;
        uint64_t label = idx->pend_labels[pos];
        memcpy(idx->s_query, idx->pend_vecs + pos * dim, dim * sizeof(float));
        pending_remove(idx, lookup_find(idx, label));
        encode_append(idx, label, idx->s_query);
        if (idx->npend == 0) ivfpq_shrink(idx);
    }
    return (long)idx->npend;
}

/* ------------------------------------------------------------ search */

/* Bounded max-heap of (dist, label) in idx->h_*, size k. */
typedef struct topk {
    float *d;
    uint64_t *l;
    size_t n, k;
} topk;

static void heap_sift_down(topk *h, size_t i) {
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) return;
        if (c + 1 < h->n && h->d[c + 1] > h->d[c]) c++;
        if (h->d[c] <= h->d[i]) return;
        float td = h->d[i];
        uint64_t tl = h->l[i];
        h->d[i] = h->d[c];
        h->l[i] = h->l[c];
        h->d[c] = td;
        h->l[c] = tl;
        i = c;
    }
}

static void heap_push(topk *h, float d, uint64_t l) {
    if (h->n < h->k) {
        size_t i = h->n++;
        while (i > 0 && h->d[(i - 1) / 2] < d) {
            h->d[i] = h->d[(i - 1) / 2];
            h->l[i] = h->l[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h->d[i] = d;
        h->l[i] = l;
    } else {
        h->d[0] = d;
        h->l[0] = l;
        heap_sift_down(h, 0);
    }
}

static inline int heap_wants(const topk *h, float d) { return h->n < h->k || d < h->d[0]; }

/* Offers a candidate: filtered only when it would enter. */
static void offer(topk *h, float d, uint64_t label, const ivfpq_search_params *sp, ivfpq_search_stats *st) {
    if (!heap_wants(h, d)) return;
    if (sp->filter && !sp->filter(label, sp->filter_ctx)) {
        st->filtered++;
        return;
    }
    heap_push(h, d, label);
}

/* Sorts the heap ascending in place (repeatedly moves the root to the end). */
static void heap_sort(topk *h) {
    size_t n = h->n;
    while (h->n > 1) {
        size_t last = --h->n;
        float td = h->d[0];
        uint64_t tl = h->l[0];
        h->d[0] = h->d[last];
        h->l[0] = h->l[last];
        h->d[last] = td;
        h->l[last] = tl;
        heap_sift_down(h, 0);
    }
    h->n = n;
}

/* Chooses the nprobe nearest lists: s_probe[i] (nearest first) with their
 * distances s_pdist[i] = ||q - c||^2 (L2) or 1 - <q, c>. */
static void choose_lists(ivfpq_index *idx, const float *q, size_t nprobe) {
    const ivfpq_model *md = idx->model;
    dots_t(q, md->cent_t, idx->p.dim, md->nlist_pad, md->nlist_pad, idx->s_coarse);
    topk h = {idx->s_pdist, idx->s_probe, 0, nprobe};
    if (idx->p.metric == IVFPQ_METRIC_L2) {
        float qn = vec_dot(q, q, idx->p.dim);
        for (uint32_t l = 0; l < idx->p.nlist; l++) {
            float d = qn + md->cent_norm[l] - 2.0f * idx->s_coarse[l];
            if (heap_wants(&h, d)) heap_push(&h, d, l);
        }
    } else {
        for (uint32_t l = 0; l < idx->p.nlist; l++) {
            float d = 1.0f - idx->s_coarse[l];
            if (heap_wants(&h, d)) heap_push(&h, d, l);
        }
    }
    heap_sort(&h);
}

/* The per-query table: -2 <q_j, y_jc> (L2) or -<q_j, y_jc> (IP, COSINE). */
static void compute_table(ivfpq_index *idx, const float *q) {
    const ivfpq_model *md = idx->model;
    size_t dsub = md->dsub, mt = (size_t)idx->p.pq_m * IVFPQ_KSUB;
    for (size_t j = 0; j < idx->p.pq_m; j++)
        dots_t(q + j * dsub, md->cb_t + j * dsub * IVFPQ_KSUB, dsub, IVFPQ_KSUB, IVFPQ_KSUB,
               idx->s_table + j * IVFPQ_KSUB);
    float scale = idx->p.metric == IVFPQ_METRIC_L2 ? -2.0f : -1.0f;
    for (size_t t = 0; t < mt; t++) idx->s_table[t] *= scale;
}

static void scan_list(ivfpq_index *idx, uint32_t list, float base, topk *h, const ivfpq_search_params *sp,
                      ivfpq_search_stats *st) {
    const ivf_list *l = &idx->lists[list];
    size_t m = idx->p.pq_m;
    for (size_t b = 0; b < l->size; b += SCAN_BLOCK) {
        size_t cnt = l->size - b < SCAN_BLOCK ? l->size - b : SCAN_BLOCK;
        adc_scan(idx->s_table, m, l->codes + b * m, cnt, base, l->terms ? l->terms + b : NULL, idx->s_dist);
        for (size_t i = 0; i < cnt; i++) offer(h, idx->s_dist[i], l->labels[b + i], sp, st);
    }
    st->codes_scanned += l->size;
}

static void scan_pending(ivfpq_index *idx, const float *q, topk *h, const ivfpq_search_params *sp,
                         ivfpq_search_stats *st) {
    size_t dim = idx->p.dim;
    for (size_t i = 0; i < idx->npend; i++)
        offer(h, exact_dist(idx->p.metric, q, idx->pend_vecs + i * dim, dim), idx->pend_labels[i], sp, st);
    st->pending_scanned += idx->npend;
}

int ivfpq_search(ivfpq_index *idx, const float *query, const ivfpq_search_params *sp, uint64_t *labels,
                 float *dists, ivfpq_search_stats *stats) {
    ivfpq_search_stats local;
    ivfpq_search_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof(*st));
    if (!prepare_vector(idx, query)) return IVFPQ_ERR_ARG;
    if (sp->k == 0) return 0;
    if (sp->k > idx->h_cap) {
        idx->h_dist = zrealloc(idx->h_dist, sp->k * sizeof(float));
        idx->h_label = zrealloc(idx->h_label, sp->k * sizeof(uint64_t));
        idx->h_cap = sp->k;
    }
    topk h = {idx->h_dist, idx->h_label, 0, sp->k};
    const float *q = idx->s_query;
    if (idx->model && idx->nencoded > 0) {
        size_t nprobe = sp->nprobe < 1 ? 1 : sp->nprobe > idx->p.nlist ? idx->p.nlist : sp->nprobe;
        choose_lists(idx, q, nprobe);
        compute_table(idx, q);
        for (size_t i = 0; i < nprobe; i++) {
            uint32_t list = (uint32_t)idx->s_probe[i];
            if (idx->lists[list].size == 0) continue;
            st->lists_probed++;
            scan_list(idx, list, idx->s_pdist[i], &h, sp, st);
        }
    }
    scan_pending(idx, q, &h, sp, st);
    heap_sort(&h);
    memcpy(labels, h.l, h.n * sizeof(uint64_t));
    if (dists) memcpy(dists, h.d, h.n * sizeof(float));
    return (int)h.n;
}

/* ------------------------------------------------------------ reads */

size_t ivfpq_count(const ivfpq_index *idx) { return idx->nencoded + idx->npend; }
size_t ivfpq_pending_count(const ivfpq_index *idx) { return idx->npend; }
int ivfpq_contains(const ivfpq_index *idx, uint64_t label) { return present(idx, label); }

int ivfpq_get_vector(const ivfpq_index *idx, uint64_t label, float *out) {
    size_t i = lookup_find(idx, label);
    if (i != SIZE_MAX) {
        memcpy(out, idx->pend_vecs + (size_t)bucket_pos(idx->buckets[i]) * idx->p.dim, idx->p.dim * sizeof(float));
        return IVFPQ_OK;
    }
    uint32_t list;
    long pos = find_encoded(idx, label, &list);
    if (pos < 0) return IVFPQ_ERR_NOTFOUND;
    decode(idx->model, list, idx->lists[list].codes + (size_t)pos * idx->p.pq_m, out);
    return IVFPQ_OK;
}

long ivfpq_list_of(const ivfpq_index *idx, uint64_t label) {
    uint32_t list;
    return find_encoded(idx, label, &list) < 0 ? -1 : (long)list;
}

void ivfpq_memory_usage(const ivfpq_index *idx, ivfpq_memory *out) {
    memset(out, 0, sizeof(*out));
    if (idx->lists) {
        for (uint32_t l = 0; l < idx->p.nlist; l++) {
            const ivf_list *lst = &idx->lists[l];
            out->codes += zmalloc_size(lst->codes);
            out->ids += zmalloc_size(lst->labels);
            out->terms += zmalloc_size(lst->terms);
        }
        out->other += zmalloc_size(idx->lists);
    }
    out->ids += zmalloc_size(idx->pend_labels);
    out->pending = zmalloc_size(idx->pend_vecs);
    out->lookup = zmalloc_size(idx->buckets);
    if (idx->model) {
        const ivfpq_model *md = idx->model;
        out->model = zmalloc_size(md->cent_t) + zmalloc_size(md->cent_norm) + zmalloc_size(md->cb_t) +
                     zmalloc_size(md->cb_norm) + zmalloc_size(md);
    }
    out->other += zmalloc_size(idx) + zmalloc_size(idx->s_query) + zmalloc_size(idx->s_res) +
                  zmalloc_size(idx->s_coarse) + zmalloc_size(idx->s_probe) + zmalloc_size(idx->s_pdist) +
                  zmalloc_size(idx->s_table) + zmalloc_size(idx->s_tmp) + zmalloc_size(idx->s_code) +
                  zmalloc_size(idx->s_dist) + zmalloc_size(idx->h_dist) + zmalloc_size(idx->h_label);
    out->total = out->codes + out->ids + out->terms + out->lookup + out->model + out->pending + out->other;
}

/* ------------------------------------------------------------ serialization */

int ivfpq_export_model(const ivfpq_index *idx, float *centroids, float *codebooks) {
    const ivfpq_model *md = idx->model;
    if (!md) return IVFPQ_ERR_STATE;
    size_t dim = idx->p.dim, dsub = md->dsub;
    for (uint32_t k = 0; k < idx->p.nlist; k++)
        for (size_t i = 0; i < dim; i++) centroids[k * dim + i] = centroid_at(md, k, i);
    for (size_t j = 0; j < idx->p.pq_m; j++)
        for (size_t c = 0; c < IVFPQ_KSUB; c++)
            for (size_t i = 0; i < dsub; i++)
                codebooks[(j * IVFPQ_KSUB + c) * dsub + i] = codeword_at(md, j, (uint8_t)c, i);
    return IVFPQ_OK;
}

int ivfpq_import_model(const ivfpq_params *p, const float *centroids, const float *codebooks, ivfpq_model **out) {
    *out = NULL;
    if (ivfpq_check_params(p) != IVFPQ_OK || !centroids || !codebooks) return IVFPQ_ERR_ARG;
    if (!all_finite(centroids, (size_t)p->nlist * p->dim) ||
        !all_finite(codebooks, (size_t)IVFPQ_KSUB * p->dim))
        return IVFPQ_ERR_CORRUPT;
    *out = model_build(p, centroids, codebooks);
    return IVFPQ_OK;
}

int ivfpq_export_list(const ivfpq_index *idx, uint32_t list_no, size_t *n, const uint64_t **labels,
                      const uint8_t **codes) {
    if (!idx->model || list_no >= idx->p.nlist) return IVFPQ_ERR_ARG;
    const ivf_list *l = &idx->lists[list_no];
    *n = l->size;
    *labels = l->labels;
    *codes = l->codes;
    return IVFPQ_OK;
}

int ivfpq_export_pending(const ivfpq_index *idx, size_t i, uint64_t *label, const float **vec) {
    if (i >= idx->npend) return IVFPQ_ERR_ARG;
    *label = idx->pend_labels[i];
    *vec = idx->pend_vecs + i * idx->p.dim;
    return IVFPQ_OK;
}

int ivfpq_import_list(ivfpq_index *idx, uint32_t list_no, size_t n, const uint64_t *labels,
                      const uint8_t *codes) {
    if (!idx->model) return IVFPQ_ERR_STATE;
    if (list_no >= idx->p.nlist) return IVFPQ_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        if (present(idx, labels[i])) return IVFPQ_ERR_CORRUPT;
        if (ivfpq_count(idx) >= MAX_COUNT) return IVFPQ_ERR_FULL;
        list_append(idx, list_no, labels[i], codes + i * idx->p.pq_m);
    }
    return IVFPQ_OK;
}

int ivfpq_import_pending(ivfpq_index *idx, uint64_t label, const float *vec) {
    size_t dim = idx->p.dim;
    if (!vec || !all_finite(vec, dim) || present(idx, label)) return IVFPQ_ERR_CORRUPT;
    if (idx->p.metric == IVFPQ_METRIC_COSINE) {
        double nrm = vec_norm(vec, dim);
        if (nrm != 0.0 && fabs(nrm - 1.0) > 1e-3) return IVFPQ_ERR_CORRUPT;
    }
    if (ivfpq_count(idx) >= MAX_COUNT) return IVFPQ_ERR_FULL;
    pending_append(idx, label, vec);
    return IVFPQ_OK;
}

/* ------------------------------------------------------------ checks */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int ivfpq_validate(const ivfpq_index *idx) {
    size_t n = ivfpq_count(idx), k = 0, dim = idx->p.dim, used = 0;
    if ((idx->lists != NULL) != (idx->model != NULL)) return IVFPQ_ERR_CORRUPT;
    uint64_t *all = zmalloc((n ? n : 1) * sizeof(uint64_t));
    int rc = IVFPQ_OK;
    for (size_t i = 0; i < idx->npend && rc == IVFPQ_OK; i++) {
        const float *v = idx->pend_vecs + i * dim;
        size_t b = lookup_find(idx, idx->pend_labels[i]);
        if (b == SIZE_MAX || bucket_pos(idx->buckets[b]) != i || !all_finite(v, dim)) rc = IVFPQ_ERR_CORRUPT;
        double nrm = idx->p.metric == IVFPQ_METRIC_COSINE ? vec_norm(v, dim) : 0.0;
        if (nrm != 0.0 && fabs(nrm - 1.0) > 1e-3) rc = IVFPQ_ERR_CORRUPT;
        all[k++] = idx->pend_labels[i];
    }
    for (size_t i = 0; i < idx->nbuckets; i++) used += idx->buckets[i] != EMPTY_BUCKET;
    if (used != idx->npend) rc = IVFPQ_ERR_CORRUPT;
    size_t seen = 0;
    for (uint32_t l = 0; idx->lists && l < idx->p.nlist && rc == IVFPQ_OK; l++) {
        const ivf_list *lst = &idx->lists[l];
        if (lst->size > lst->cap || seen + lst->size > idx->nencoded) {
            rc = IVFPQ_ERR_CORRUPT;
            break;
        }
        for (uint32_t pos = 0; pos < lst->size; pos++) {
            if (idx->loc.get(lst->labels[pos], idx->loc.ctx) != l) rc = IVFPQ_ERR_CORRUPT;
            if (lst->terms && !isfinite(lst->terms[pos])) rc = IVFPQ_ERR_CORRUPT;
            all[k++] = lst->labels[pos];
        }
        seen += lst->size;
    }
    if (rc == IVFPQ_OK && seen != idx->nencoded) rc = IVFPQ_ERR_CORRUPT;
    if (rc == IVFPQ_OK) {
        qsort(all, k, sizeof(uint64_t), cmp_u64);
        for (size_t i = 1; i < k; i++)
            if (all[i] == all[i - 1]) rc = IVFPQ_ERR_CORRUPT;
    }
    zfree(all);
    return rc;
}

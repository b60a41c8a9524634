/* test_vec_dist.c -- unit tests for the distance kernels (vec_dist.c).
 *
 * Every ISA level this CPU supports is checked against the scalar level
 * and against a double-precision reference, on random vectors of every
 * dimension from 1 to 4096 and on edge cases (zeros, identical vectors,
 * denormals, large values, overflow, unaligned pointers). Tolerances are
 * relative to the sum of the absolute values of the terms, which is the
 * scale that bounds the rounding error of any summation order. */
#include "test.h"
#include "vec_dist.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_DIM 4096

#define TEST_RNG_SEED 0x243f6a8885a308d3ULL
#include "test_rng.h"

/* Double-precision references and the scales of their terms. */
static double ref_l2sq(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

static double ref_dot(const float *a, const float *b, size_t n, double *scale) {
    double s = 0, abs_sum = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
        abs_sum += fabs((double)a[i] * b[i]);
    }
    *scale = abs_sum;
    return s;
}

static double ref_cosine(const float *a, const float *b, size_t n) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    /* Squared norms below FLT_MIN are where fp32 kernels legitimately
     * underflow to a zero vector: no double reference there. */
    if (na < FLT_MIN || nb < FLT_MIN) return NAN;
    double d = 1.0 - dot / (sqrt(na) * sqrt(nb));
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

/* |got - want| <= rel * scale + abs_tol, with infinities and NaNs equal
 * only to themselves. */
static int close_to(double got, double want, double scale, double rel, double abs_tol) {
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
    if (isinf(got) || isinf(want)) return got == want;
    return fabs(got - want) <= rel * scale + abs_tol;
}

/* Checks every supported level on one pair; returns the number of
 * mismatches (and prints the first few). */
static int check_pair(const float *a, const float *b, size_t n, double rel) {
    static int printed;
    const vec_dist_kernels *sc = vec_dist_kernels_for(VEC_ISA_SCALAR);
    double dscale, dref = ref_dot(a, b, n, &dscale);
    double lref = ref_l2sq(a, b, n), cref = ref_cosine(a, b, n);
    int bad = 0;
    for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
        const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
        if (!k) continue;
        float l = k->l2sq(a, b, n), d = k->dot(a, b, n), c = k->cosine_dist(a, b, n);
        int ok =
            close_to(l, lref, lref, rel, 1e-37) && close_to(l, sc->l2sq(a, b, n), lref, 2 * rel, 1e-37) &&
            close_to(d, dref, dscale, rel, 1e-37) && close_to(d, sc->dot(a, b, n), dscale, 2 * rel, 1e-37) &&
            (isnan(cref) || close_to(c, cref, 1, rel, 1e-6)) &&
            close_to(c, sc->cosine_dist(a, b, n), 1, 2 * rel, 1e-6);
        if (!ok) {
            bad++;
            if (printed++ < 5)
                fprintf(stderr, "  mismatch isa=%s dim=%zu l2 %.9g/%.9g dot %.9g/%.9g cos %.9g/%.9g\n",
                        vec_isa_name((vec_isa)isa), n, l, lref, d, dref, c, cref);
        }
    }
    return bad;
}

static float va[MAX_DIM + 16], vb[MAX_DIM + 16];

TEST(test_isa_selection) {
    EXPECT(vec_isa_supported(VEC_ISA_SCALAR));
    EXPECT(!vec_isa_supported(VEC_ISA_COUNT));
    EXPECT(vec_dist_kernels_for(VEC_ISA_SCALAR) != NULL);
    vec_isa best = vec_dist_init();
    EXPECT(vec_isa_supported(best));
    EXPECT(vec_dist_current() == best);
    for (int i = best + 1; i < VEC_ISA_COUNT; i++) EXPECT(!vec_isa_supported((vec_isa)i));
    printf("  cpu level: %s\n", vec_isa_name(best));

    vec_isa p;
    EXPECT(vec_isa_parse("AVX512", &p) == 0 && p == VEC_ISA_AVX512);
    EXPECT(vec_isa_parse("avx2", &p) == 0 && p == VEC_ISA_AVX2);
    EXPECT(vec_isa_parse("scalar", &p) == 0 && p == VEC_ISA_SCALAR);
    EXPECT(vec_isa_parse("sse", &p) == -1);
    EXPECT(vec_isa_parse(NULL, &p) == -1);
    EXPECT(strcmp(vec_isa_name((vec_isa)7), "unknown") == 0);
    EXPECT(vec_dist_select((vec_isa)-1) == -1);

    /* The environment override, and a bad value falling back to the best. */
    setenv("PHENIX_VEC_ISA", "scalar", 1);
    EXPECT(vec_dist_init() == VEC_ISA_SCALAR);
    EXPECT(vec_l2sq == vec_dist_kernels_for(VEC_ISA_SCALAR)->l2sq);
    setenv("PHENIX_VEC_ISA", "bogus", 1);
    EXPECT(vec_dist_init() == best);
    unsetenv("PHENIX_VEC_ISA");
    EXPECT(vec_dist_init() == best);
    EXPECT(vec_dot == vec_dist_kernels_for(best)->dot);
    EXPECT(vec_cosine_dist == vec_dist_kernels_for(best)->cosine_dist);
}

TEST(test_random_every_dim) {
    int bad = 0;
    for (size_t n = 1; n <= MAX_DIM; n++) {
        for (size_t i = 0; i < n; i++) {
            va[i] = rng_float();
            vb[i] = rng_float();
        }
        bad += check_pair(va, vb, n, 1e-5);
    }
    EXPECT(bad == 0);
}

TEST(test_unaligned) {
    /* Offsets of 1..15 floats break every alignment the loops could like. */
    int bad = 0;
    for (size_t off = 1; off < 16; off++) {
        for (size_t n = 1; n <= 300; n += 7) {
            for (size_t i = 0; i < off + n; i++) {
                va[i] = rng_float();
                vb[i] = rng_float();
            }
            bad += check_pair(va + off, vb + off, n, 1e-5);
            bad += check_pair(va + off, vb, n, 1e-5);
        }
    }
    EXPECT(bad == 0);
}

TEST(test_zeros_and_identical) {
    static const size_t dims[] = {1,  2,  3,  7,   8,   15,  16,  17,  31,   32,  33,
                                  63, 64, 65, 127, 128, 129, 783, 784, 4095, 4096};
    int bad = 0;
    for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
        size_t n = dims[d];
        memset(va, 0, sizeof(va));
        memset(vb, 0, sizeof(vb));
        for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
            const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
            if (!k) continue;
            /* both zero */
            bad +=
                k->l2sq(va, vb, n) != 0.0f || k->dot(va, vb, n) != 0.0f || k->cosine_dist(va, vb, n) != 1.0f;
        }
        for (size_t i = 0; i < n; i++) va[i] = rng_float();
        bad += check_pair(va, vb, n, 1e-5); /* one zero vector: cosine 1 */
        for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
            const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
            if (!k) continue;
            bad += k->cosine_dist(va, vb, n) != 1.0f;
            /* identical: l2 exactly 0, cosine about 0 and never negative */
            float c = k->cosine_dist(va, va, n);
            bad += k->l2sq(va, va, n) != 0.0f || c < 0.0f || c > 1e-6f;
            /* opposite: cosine about 2 and never above */
            for (size_t i = 0; i < n; i++) vb[i] = -va[i];
            c = k->cosine_dist(va, vb, n);
            bad += c > 2.0f || c < 2.0f - 1e-6f;
            memset(vb, 0, sizeof(vb));
        }
    }
    EXPECT(bad == 0);
}

TEST(test_denormals) {
    int bad = 0;
    for (size_t n = 1; n <= 200; n += 3) {
        /* all denormal: squares underflow to zero in every level */
        for (size_t i = 0; i < n; i++) {
            va[i] = rng_float() * 1e-39f;
            vb[i] = rng_float() * 1e-39f;
        }
        EXPECT(fpclassify(va[0]) == FP_SUBNORMAL || va[0] == 0);
        bad += check_pair(va, vb, n, 1e-5);
        /* mixed: normal values dominate, denormals must not disturb them */
        for (size_t i = 0; i < n; i += 2) va[i] = rng_float();
        for (size_t i = 1; i < n; i += 3) vb[i] = rng_float();
        bad += check_pair(va, vb, n, 1e-5);
        /* small normal values whose products are denormal */
        for (size_t i = 0; i < n; i++) {
            va[i] = rng_float() * 1e-20f;
            vb[i] = rng_float() * 1e-20f + 1e-19f;
        }
        const vec_dist_kernels *sc = vec_dist_kernels_for(VEC_ISA_SCALAR);
        for (int isa = 1; isa < VEC_ISA_COUNT; isa++) {
            const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
            if (!k) continue;
            /* Denormal sums lose bits in any order: compare with an absolute
             * tolerance of a few denormal quanta per term. */
            bad += !close_to(k->l2sq(va, vb, n), sc->l2sq(va, vb, n), 0, 0, 1e-44 * (double)n + 1e-38 * 1e-5);
            bad += !close_to(k->dot(va, vb, n), sc->dot(va, vb, n), 0, 0, 1e-44 * (double)n + 1e-38 * 1e-5);
        }
    }
    EXPECT(bad == 0);
}

TEST(test_large_values) {
    int bad = 0;
    for (size_t n = 1; n <= 4096; n = n * 2 + 1) {
        for (size_t i = 0; i < n; i++) {
            va[i] = rng_float() * 1e15f;
            vb[i] = rng_float() * 1e15f;
        }
        bad += check_pair(va, vb, n, 1e-5);
        /* beyond FLT_MAX: every level says +inf */
        for (size_t i = 0; i < n; i++) {
            va[i] = 1e20f;
            vb[i] = -1e20f;
        }
        for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
            const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
            if (!k) continue;
            bad += !isinf(k->l2sq(va, vb, n)) || !isinf(k->dot(va, va, n)) || k->dot(va, vb, n) != -INFINITY;
        }
    }
    EXPECT(bad == 0);
}

TEST(test_nan_propagates) {
    int bad = 0;
    for (size_t n = 1; n <= 70; n++) {
        for (size_t i = 0; i < n; i++) va[i] = vb[i] = rng_float();
        va[n - 1] = NAN;
        for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
            const vec_dist_kernels *k = vec_dist_kernels_for((vec_isa)isa);
            if (!k) continue;
            bad +=
                !isnan(k->l2sq(va, vb, n)) || !isnan(k->dot(va, vb, n)) || !isnan(k->cosine_dist(va, vb, n));
        }
    }
    EXPECT(bad == 0);
}

TEST(test_norm_normalize) {
    for (size_t n = 1; n <= 1000; n += 37) {
        for (size_t i = 0; i < n; i++) va[i] = rng_float();
        double s = 0;
        for (size_t i = 0; i < n; i++) s += (double)va[i] * va[i];
        double want = sqrt(s);
        EXPECT(fabs(vec_norm(va, n) - want) <= 1e-12 * want);
        double got = vec_normalize(va, n);
        EXPECT(fabs(got - want) <= 1e-12 * want);
        EXPECT(fabs(vec_norm(va, n) - 1.0) < 1e-6);
    }
    /* zero vector: unchanged, norm 0 */
    memset(va, 0, sizeof(va));
    EXPECT(vec_normalize(va, 64) == 0.0);
    EXPECT(va[0] == 0.0f && va[63] == 0.0f);
    /* huge and tiny finite values do not overflow or underflow */
    for (size_t i = 0; i < 512; i++) va[i] = 3e38f;
    EXPECT(isfinite(vec_norm(va, 512)));
    vec_normalize(va, 512);
    EXPECT(fabs(vec_norm(va, 512) - 1.0) < 1e-6);
    for (size_t i = 0; i < 512; i++) va[i] = 1e-40f;
    EXPECT(vec_norm(va, 512) > 0.0);
    vec_normalize(va, 512);
    EXPECT(fabs(vec_norm(va, 512) - 1.0) < 1e-3); /* denormal inputs carry few bits */
    EXPECT(vec_norm(va, 0) == 0.0);
}

int main(void) {
    RUN(test_isa_selection);
    RUN(test_random_every_dim);
    RUN(test_unaligned);
    RUN(test_zeros_and_identical);
    RUN(test_denormals);
    RUN(test_large_values);
    RUN(test_nan_propagates);
    RUN(test_norm_normalize);
    return TEST_REPORT();
}

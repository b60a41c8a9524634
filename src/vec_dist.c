/* vec_dist.c -- fp32 distance kernels with run-time ISA selection.
 *
 * What it is: squared L2, inner product and cosine distance over fp32
 * vectors, each written three times (portable scalar C, AVX2+FMA with 8
 * lanes, AVX-512F with 16 lanes) and reached through three global function
 * pointers that vec_dist_init() points at the fastest versions this CPU
 * runs. The SIMD versions carry __attribute__((target(...))) so the file
 * builds with the project's default flags and never executes an
 * instruction the CPU lacks: a level is selectable only when
 * __builtin_cpu_supports() says so (which also checks that the OS saves
 * the wide registers).
 *
 * Invariants: the selected pointers always hold a complete set of one
 * level (they are written together, before any other thread starts); the
 * scalar level is always available and is the reference for the tests.
 *
 * Complexity: every kernel is O(dim) with no allocation. The SIMD loops
 * keep four independent accumulators (64 floats per AVX-512 iteration, 32
 * per AVX2 iteration) so that the FMA latency is hidden; the tail that
 * does not fill a register is loaded with a lane mask (AVX-512 k-masks,
 * AVX vmaskmov), so no element is read twice and nothing is read past the
 * end. The scalar version also keeps four accumulators.
 *
 * Numerics: the order of additions differs between levels, so results
 * differ by rounding (see vec_dist.h). Cosine sums dot, |a|^2 and |b|^2 in
 * fp32 and finishes in double; a zero vector has cosine distance 1 (no
 * direction, treated as orthogonal). vec_norm accumulates in double.
 *
 * Naming: public names start with vec_; file-local kernels are
 * <metric>_<level> (l2sq_avx512). Sources: the textbook definitions of
 * the three measures; Intel's intrinsics guide for the instructions; the
 * multi-accumulator reduction is the usual latency-hiding technique for
 * floating-point reductions (e.g. Agner Fog's optimization manuals). */
#include "vec_dist.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#define TARGET_AVX2   __attribute__((target("avx2,fma")))
#define TARGET_AVX512 __attribute__((target("avx512f")))

/* 1 - dot/sqrt(na*nb) in double, clamped to [0,2]; 1 for a zero vector. */
static float cosine_finish(float dot, float na, float nb) {
    if (na == 0.0f || nb == 0.0f) return 1.0f;
    double d = 1.0 - (double)dot / (sqrt((double)na) * sqrt((double)nb));
    if (d < 0.0) d = 0.0;
    if (d > 2.0) d = 2.0;
    return (float)d;
}

/* ---------------------------------------------------------------- scalar */

static float l2sq_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1];
        float d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

static float dot_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float cosine_scalar(const float *a, const float *b, size_t n) {
    float dot0 = 0, dot1 = 0, na0 = 0, na1 = 0, nb0 = 0, nb1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        dot0 += a[i] * b[i];
        dot1 += a[i + 1] * b[i + 1];
        na0 += a[i] * a[i];
        na1 += a[i + 1] * a[i + 1];
        nb0 += b[i] * b[i];
        nb1 += b[i + 1] * b[i + 1];
    }
    if (i < n) {
        dot0 += a[i] * b[i];
        na0 += a[i] * a[i];
        nb0 += b[i] * b[i];
    }
    return cosine_finish(dot0 + dot1, na0 + na1, nb0 + nb1);
}

/* ------------------------------------------------------------ AVX2 + FMA */

/* Lane masks for vmaskmovps: the 8 words starting at tail_mask + 8 - r
 * have their first r lanes set. */
static const int32_t tail_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

TARGET_AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 hi = _mm_movehl_ps(s, s);
    s = _mm_add_ps(s, hi);
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TARGET_AVX2 static inline __m256i avx2_mask(size_t r) {
    return _mm256_loadu_si256((const __m256i *)(tail_mask + 8 - r));
}

TARGET_AVX2 static float l2sq_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
        s2 = _mm256_fmadd_ps(d2, d2, s2);
        s3 = _mm256_fmadd_ps(d3, d3, s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    if (i < n) {
        __m256i m = avx2_mask(n - i);
        __m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
        s1 = _mm256_fmadd_ps(d, d, s1);
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

TARGET_AVX2 static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < n) {
        __m256i m = avx2_mask(n - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

TARGET_AVX2 static float cosine_avx2(const float *a, const float *b, size_t n) {
    __m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
    __m256 na0 = _mm256_setzero_ps(), na1 = _mm256_setzero_ps();
    __m256 nb0 = _mm256_setzero_ps(), nb1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(a + i), y0 = _mm256_loadu_ps(b + i);
        __m256 x1 = _mm256_loadu_ps(a + i + 8), y1 = _mm256_loadu_ps(b + i + 8);
        dot0 = _mm256_fmadd_ps(x0, y0, dot0);
        dot1 = _mm256_fmadd_ps(x1, y1, dot1);
        na0 = _mm256_fmadd_ps(x0, x0, na0);
        na1 = _mm256_fmadd_ps(x1, x1, na1);
        nb0 = _mm256_fmadd_ps(y0, y0, nb0);
        nb1 = _mm256_fmadd_ps(y1, y1, nb1);
    }
    for (; i < n; i += 8) {
        size_t r = n - i < 8 ? n - i : 8;
        __m256i m = avx2_mask(r);
        __m256 x = _mm256_maskload_ps(a + i, m), y = _mm256_maskload_ps(b + i, m);
        dot0 = _mm256_fmadd_ps(x, y, dot0);
        na0 = _mm256_fmadd_ps(x, x, na0);
        nb0 = _mm256_fmadd_ps(y, y, nb0);
    }
    return cosine_finish(hsum256(_mm256_add_ps(dot0, dot1)), hsum256(_mm256_add_ps(na0, na1)),
                         hsum256(_mm256_add_ps(nb0, nb1)));
}

/* ------------------------------------------------------------- AVX-512F */

TARGET_AVX512 static inline __mmask16 avx512_mask(size_t r) { return (__mmask16)((1u << r) - 1u); }

TARGET_AVX512 static float l2sq_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
        s2 = _mm512_fmadd_ps(d2, d2, s2);
        s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    if (i < n) {
        __mmask16 m = avx512_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(d, d, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

TARGET_AVX512 static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = avx512_mask(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

TARGET_AVX512 static float cosine_avx512(const float *a, const float *b, size_t n) {
    __m512 dot0 = _mm512_setzero_ps(), dot1 = _mm512_setzero_ps();
    __m512 na0 = _mm512_setzero_ps(), na1 = _mm512_setzero_ps();
    __m512 nb0 = _mm512_setzero_ps(), nb1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(a + i), y0 = _mm512_loadu_ps(b + i);
        __m512 x1 = _mm512_loadu_ps(a + i + 16), y1 = _mm512_loadu_ps(b + i + 16);
        dot0 = _mm512_fmadd_ps(x0, y0, dot0);
        dot1 = _mm512_fmadd_ps(x1, y1, dot1);
        na0 = _mm512_fmadd_ps(x0, x0, na0);
        na1 = _mm512_fmadd_ps(x1, x1, na1);
        nb0 = _mm512_fmadd_ps(y0, y0, nb0);
        nb1 = _mm512_fmadd_ps(y1, y1, nb1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = avx512_mask(n - i < 16 ? n - i : 16);
        __m512 x = _mm512_maskz_loadu_ps(m, a + i), y = _mm512_maskz_loadu_ps(m, b + i);
        dot0 = _mm512_fmadd_ps(x, y, dot0);
        na0 = _mm512_fmadd_ps(x, x, na0);
        nb0 = _mm512_fmadd_ps(y, y, nb0);
    }
    return cosine_finish(_mm512_reduce_add_ps(_mm512_add_ps(dot0, dot1)),
                         _mm512_reduce_add_ps(_mm512_add_ps(na0, na1)),
                         _mm512_reduce_add_ps(_mm512_add_ps(nb0, nb1)));
}

/* ------------------------------------------------------------- dispatch */

static const vec_dist_kernels kernel_table[VEC_ISA_COUNT] = {
    [VEC_ISA_SCALAR] = {l2sq_scalar, dot_scalar, cosine_scalar},
    [VEC_ISA_AVX2] = {l2sq_avx2, dot_avx2, cosine_avx2},
    [VEC_ISA_AVX512] = {l2sq_avx512, dot_avx512, cosine_avx512},
};

static const char *const isa_names[VEC_ISA_COUNT] = {"scalar", "avx2", "avx512"};

vec_dist_fn vec_l2sq = l2sq_scalar;
vec_dist_fn vec_dot = dot_scalar;
vec_dist_fn vec_cosine_dist = cosine_scalar;
static vec_isa current_isa = VEC_ISA_SCALAR;

int vec_isa_supported(vec_isa isa) {
    switch (isa) {
    case VEC_ISA_SCALAR: return 1;
    case VEC_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case VEC_ISA_AVX512: return __builtin_cpu_supports("avx512f");
    default: return 0;
    }
}

const char *vec_isa_name(vec_isa isa) { return (unsigned)isa < VEC_ISA_COUNT ? isa_names[isa] : "unknown"; }

int vec_isa_parse(const char *name, vec_isa *out) {
    for (int i = 0; i < VEC_ISA_COUNT; i++) {
        if (name && strcasecmp(name, isa_names[i]) == 0) {
            *out = (vec_isa)i;
            return 0;
        }
    }
    return -1;
}

const vec_dist_kernels *vec_dist_kernels_for(vec_isa isa) {
    return vec_isa_supported(isa) ? &kernel_table[isa] : NULL;
}

int vec_dist_select(vec_isa isa) {
    if (!vec_isa_supported(isa)) return -1;
    vec_l2sq = kernel_table[isa].l2sq;
    vec_dot = kernel_table[isa].dot;
    vec_cosine_dist = kernel_table[isa].cosine_dist;
    current_isa = isa;
    return 0;
}

vec_isa vec_dist_current(void) { return current_isa; }

vec_isa vec_dist_init(void) {
    __builtin_cpu_init();
    vec_isa forced;
    if (vec_isa_parse(getenv("PHENIX_VEC_ISA"), &forced) == 0 && vec_dist_select(forced) == 0) return forced;
    for (int i = VEC_ISA_COUNT - 1; i >= 0; i--)
        if (vec_dist_select((vec_isa)i) == 0) return (vec_isa)i;
    return VEC_ISA_SCALAR; /* not reached: scalar always selects */
}

/* ---------------------------------------------------------------- norms */

double vec_norm(const float *v, size_t dim) {
    double s = 0;
    for (size_t i = 0; i < dim; i++) s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

double vec_normalize(float *v, size_t dim) {
    double n = vec_norm(v, dim);
    if (n == 0.0) return 0.0;
    for (size_t i = 0; i < dim; i++) v[i] = (float)((double)v[i] / n);
    return n;
}

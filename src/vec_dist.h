/* vec_dist.h -- fp32 distance kernels (L2, inner product, cosine) with
 * scalar, AVX2+FMA and AVX-512F versions chosen at start-up.
 *
 * The three selected kernels are reached through the global function
 * pointers vec_l2sq, vec_dot and vec_cosine_dist. They point at the scalar
 * versions until vec_dist_init() runs, so calling them early is safe, only
 * slower. Everything here is pure (no server header, no allocation).
 *
 * Conventions: a kernel takes two arrays of dim floats (dim >= 1; dim 0
 * returns the empty sum) with no alignment requirement. Results follow
 * IEEE arithmetic in fp32 (NaN in, NaN out; sums that exceed FLT_MAX give
 * +inf); the SIMD versions add in a different order than the scalar one, so
 * results agree to a relative error of about 1e-6 * sqrt(dim) of the sum of
 * absolute terms, not bit for bit. */
#ifndef PHENIX_VEC_DIST_H
#define PHENIX_VEC_DIST_H

#include <stddef.h>

/* A distance (or similarity) kernel over two vectors of dim floats. */
typedef float (*vec_dist_fn)(const float *a, const float *b, size_t dim);

/* Instruction-set levels, ordered from slowest to fastest. */
typedef enum vec_isa {
    VEC_ISA_SCALAR = 0,
    VEC_ISA_AVX2 = 1,   /* AVX2 + FMA */
    VEC_ISA_AVX512 = 2, /* AVX-512F */
    VEC_ISA_COUNT
} vec_isa;

/* One complete set of kernels for one ISA level. */
typedef struct vec_dist_kernels {
    vec_dist_fn l2sq;        /* sum (a[i]-b[i])^2 */
    vec_dist_fn dot;         /* sum a[i]*b[i] */
    vec_dist_fn cosine_dist; /* 1 - dot/(|a||b|), clamped to [0,2]; 1 when a or b is zero */
} vec_dist_kernels;

/* The selected kernels (scalar until vec_dist_init or vec_dist_select). */
extern vec_dist_fn vec_l2sq;
extern vec_dist_fn vec_dot;
extern vec_dist_fn vec_cosine_dist;

/* Detects the CPU (__builtin_cpu_supports) and selects the fastest supported
 * ISA, unless the environment variable PHENIX_VEC_ISA names one
 * ("scalar", "avx2", "avx512"; an unsupported or unknown name is ignored and
 * the best level is used). Idempotent; call once at start-up before other
 * threads use the kernels. Returns the level selected. */
vec_isa vec_dist_init(void);

/* Selects the given level (configuration or tests). Returns 0 on success,
 * -1 when the CPU lacks it or isa is out of range (selection unchanged). */
int vec_dist_select(vec_isa isa);

/* The level currently selected. */
vec_isa vec_dist_current(void);

/* 1 when this CPU can run the given level, 0 otherwise. */
int vec_isa_supported(vec_isa isa);

/* "scalar", "avx2", "avx512" (or "unknown" for a bad value). */
const char *vec_isa_name(vec_isa isa);

/* Parses a name as accepted by PHENIX_VEC_ISA (case-insensitive). Returns 0
 * and stores *out on success, -1 for an unknown name. */
int vec_isa_parse(const char *name, vec_isa *out);

/* The kernels of one level, whether or not it is selected (tests and
 * benchmarks). Returns NULL when the CPU lacks the level: calling those
 * kernels would raise SIGILL. */
const vec_dist_kernels *vec_dist_kernels_for(vec_isa isa);

/* Euclidean norm of v, accumulated in double so that it neither overflows
 * nor underflows for any finite fp32 input. */
double vec_norm(const float *v, size_t dim);

/* Scales v in place to unit norm and returns its original norm. A zero
 * vector (norm 0) is left unchanged and 0 is returned. */
double vec_normalize(float *v, size_t dim);

#endif

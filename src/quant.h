/* quant.h -- vector quantizers and their distance kernels (pure library).
 *
 * Q8: per-vector symmetric int8. A vector x is stored as a code of
 * quant_q8_size(dim) bytes: a float scale s = max|x_i| / 127, a float
 * n = s^2 * sum c_i^2 (the squared norm of the decoded vector) and the dim
 * int8 values c_i = round(x_i / s). Two codes compare with an integer dot
 * product: dot = s_a s_b sum a_i b_i, L2 = n_a + n_b - 2 dot; every one of
 * these is the exact value for the decoded vectors (up to fp32 rounding).
 *
 * BIN: one bit per dimension, set when x_i > t_i (t a per-dimension
 * threshold the caller keeps, or 0), packed little-endian into 64-bit
 * words (quant_bin_words(dim) of them, unused high bits zero). Codes compare
 * by Hamming distance.
 *
 * FP16 and INT8 blobs: conversions of the wire formats VECTOR FP16 / INT8
 * (IEEE binary16, little-endian; int8 values taken as numbers).
 *
 * Kernels come in a scalar version (the reference) and an AVX2 version
 * selected at start-up by quant_init() when the CPU has AVX2 and POPCNT.
 * Pure: no allocation, no server header. */
#ifndef PHENIX_QUANT_H
#define PHENIX_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ---- Q8 ---- */

/* Bytes of a Q8 code of dim components. */
static inline size_t quant_q8_size(uint32_t dim) { return 8 + (size_t)dim; }

/* Encodes dim finite floats into code (quant_q8_size(dim) bytes, any
 * alignment). A zero vector gets scale 0 and all-zero values. */
void quant_q8_encode(const float *v, uint32_t dim, uint8_t *code);

/* Decodes code into dim floats. */
void quant_q8_decode(const uint8_t *code, uint32_t dim, float *out);

/* Squared norm of the decoded vector (stored in the code). */
float quant_q8_sqnorm(const uint8_t *code);

/* Dot product and squared L2 distance of the decoded vectors of two codes
 * (selected kernel). */
float quant_q8_dot(const uint8_t *a, const uint8_t *b, uint32_t dim);
float quant_q8_l2sq(const uint8_t *a, const uint8_t *b, uint32_t dim);

/* Dot product of the decoded vector of code with the fp32 vector q (the
 * asymmetric form, for rescoring without exact vectors). */
float quant_q8_dot_f32(const uint8_t *code, const float *q, uint32_t dim);

/* The integer sum of a_i * b_i over dim int8 values: scalar reference and
 * the selected kernel (tests compare them). */
int64_t quant_i8_dot_scalar(const int8_t *a, const int8_t *b, uint32_t dim);
extern int64_t (*quant_i8_dot)(const int8_t *a, const int8_t *b, uint32_t dim);

/* ---- BIN ---- */

/* 64-bit words of a BIN code of dim components. */
static inline uint32_t quant_bin_words(uint32_t dim) { return (dim + 63) / 64; }

/* Encodes v into code (quant_bin_words(dim) words): bit i set when
 * v[i] > thresh[i] (thresh may be NULL: 0). */
void quant_bin_encode(const float *v, const float *thresh, uint32_t dim, uint64_t *code);

/* Number of differing bits: scalar reference and the selected kernel. */
uint32_t quant_hamming_scalar(const uint64_t *a, const uint64_t *b, uint32_t words);
extern uint32_t (*quant_hamming)(const uint64_t *a, const uint64_t *b, uint32_t words);

/* Asymmetric BIN distance (the query stays fp32): the dot product of q with
 * the code's sign vector s_i = +-1 is 2 * sum(q_i : bit i set) - sum(q_i),
 * and the partial sum is one table lookup per code byte. The table has
 * quant_bin_table_floats(dim) floats: for each byte j of the code, the 256
 * sums of q[8j..8j+7] over the set bits of the index. */
static inline size_t quant_bin_table_floats(uint32_t dim) { return (size_t)((dim + 7) / 8) * 256; }

/* Fills table for the fp32 query q; returns sum(q_i). */
float quant_bin_query_table(const float *q, uint32_t dim, float *table);

/* sum(q_i : bit i of code set), from the query's table. */
float quant_bin_query_sum(const float *table, const uint64_t *code, uint32_t dim);

/* ---- blobs ---- */

/* IEEE binary16 <-> binary32 (round to nearest even; overflow gives
 * infinity, NaN stays NaN). */
float quant_f16_to_f32(uint16_t h);
uint16_t quant_f32_to_f16(float f);

/* ---- set-up ---- */

/* Selects the fastest kernels this CPU runs (AVX2+POPCNT or scalar).
 * Idempotent; call before other threads use the kernels. Returns 1 when
 * the SIMD kernels were selected. */
int quant_init(void);

/* Selects the scalar kernels (tests). */
void quant_use_scalar(void);

#endif

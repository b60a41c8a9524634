/* test_quant.c -- unit tests for the quantizers and kernels (quant.c).
 *
 * Q8: the round-trip error is bounded by half a quantization step per
 * component; code distances equal the distances of the decoded vectors;
 * the SIMD integer dot product equals the scalar one for every dimension
 * up to 300 and unaligned pointers. BIN: bits follow the thresholds, the
 * unused bits stay zero, SIMD Hamming equals scalar. FP16: every one of the
 * 65536 halves converts to float and back unchanged (NaNs stay NaN), and
 * rounding of floats between halves is to nearest even. */
#include "quant.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "test_rng.h"

static double ref_dot(const float *a, const float *b, uint32_t n) {
    double s = 0;
    for (uint32_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

TEST(test_q8_round_trip_error_bound) {
    float v[300], d[300];
    uint8_t code[8 + 300];
    for (uint32_t dim = 1; dim <= 300; dim += 7) {
        float amax = 0;
        for (uint32_t i = 0; i < dim; i++) {
            v[i] = rng_float() * 10.0f;
            if (fabsf(v[i]) > amax) amax = fabsf(v[i]);
        }
        quant_q8_encode(v, dim, code);
        quant_q8_decode(code, dim, d);
        float step = amax / 127.0f;
        for (uint32_t i = 0; i < dim; i++) ASSERT(fabsf(d[i] - v[i]) <= 0.5f * step * 1.0001f + 1e-7f);
        double n = ref_dot(d, d, dim);
        EXPECT(fabs(quant_q8_sqnorm(code) - n) <= 1e-5 * (n + 1e-9));
    }
}

TEST(test_q8_zero_and_extremes) {
    float z[16] = {0}, d[16];
    uint8_t code[8 + 16];
    quant_q8_encode(z, 16, code);
    quant_q8_decode(code, 16, d);
    for (int i = 0; i < 16; i++) EXPECT(d[i] == 0);
    EXPECT(quant_q8_sqnorm(code) == 0);
    float big[4] = {3e38f, -3e38f, 1.0f, 0};
    quant_q8_encode(big, 4, code);
    quant_q8_decode(code, 4, d);
    EXPECT(d[0] > 2.9e38f && d[1] < -2.9e38f);
}

TEST(test_q8_distances_match_decoded) {
    float a[200], b[200], da[200], db[200];
    uint8_t ca[208], cb[208];
    for (uint32_t dim = 1; dim <= 200; dim += 13) {
        for (uint32_t i = 0; i < dim; i++) {
            a[i] = rng_float();
            b[i] = rng_float() * 3;
        }
        quant_q8_encode(a, dim, ca);
        quant_q8_encode(b, dim, cb);
        quant_q8_decode(ca, dim, da);
        quant_q8_decode(cb, dim, db);
        double dot = ref_dot(da, db, dim), l2 = 0, scale = 0;
        for (uint32_t i = 0; i < dim; i++) {
            l2 += ((double)da[i] - db[i]) * ((double)da[i] - db[i]);
            scale += fabs((double)da[i] * db[i]) + (double)da[i] * da[i] + (double)db[i] * db[i];
        }
        EXPECT(fabs(quant_q8_dot(ca, cb, dim) - dot) <= 1e-5 * scale + 1e-6);
        EXPECT(fabs(quant_q8_l2sq(ca, cb, dim) - l2) <= 1e-5 * scale + 1e-6);
        EXPECT(fabs(quant_q8_dot_f32(ca, b, dim) - ref_dot(da, b, dim)) <= 1e-5 * scale + 1e-6);
    }
}

TEST(test_i8_dot_simd_matches_scalar) {
    int8_t buf_a[400], buf_b[400];
    for (int i = 0; i < 400; i++) {
        buf_a[i] = (int8_t)((int)(rng_next() % 255) - 127);
        buf_b[i] = (int8_t)((int)(rng_next() % 255) - 127);
    }
    for (uint32_t dim = 0; dim <= 300; dim++)
        for (int off = 0; off < 3; off++) ASSERT(quant_i8_dot(buf_a + off, buf_b + off * 2, dim) ==
                                                 quant_i8_dot_scalar(buf_a + off, buf_b + off * 2, dim));
    int8_t mx[256], mn[256];
    for (int i = 0; i < 256; i++) {
        mx[i] = 127;
        mn[i] = -127;
    }
    EXPECT(quant_i8_dot(mx, mn, 256) == -127LL * 127 * 256);
}

TEST(test_bin_encode_and_hamming) {
    float v[130], t[130];
    uint64_t c[3], c2[3];
    for (int i = 0; i < 130; i++) {
        v[i] = rng_float();
        t[i] = rng_float() * 0.5f;
    }
    quant_bin_encode(v, t, 130, c);
    for (int i = 0; i < 130; i++) ASSERT(((c[i >> 6] >> (i & 63)) & 1) == (v[i] > t[i]));
    EXPECT((c[2] >> 2) == 0); /* unused bits are zero */
    quant_bin_encode(v, NULL, 130, c2);
    uint32_t want = 0;
    for (int i = 0; i < 130; i++) want += (v[i] > t[i]) != (v[i] > 0);
    EXPECT(quant_hamming_scalar(c, c2, 3) == want);
    EXPECT(quant_hamming(c, c2, 3) == want);
    uint64_t r1[9], r2[9];
    for (uint32_t w = 0; w <= 9; w++) {
        for (int i = 0; i < 9; i++) {
            r1[i] = rng_next();
            r2[i] = rng_next();
        }
        ASSERT(quant_hamming(r1, r2, w) == quant_hamming_scalar(r1, r2, w));
    }
}

TEST(test_bin_query_table_is_signed_dot) {
    float q[77], v[77], table[10 * 256];
    uint64_t code[2];
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < 77; i++) {
            q[i] = rng_float();
            v[i] = rng_float();
        }
        quant_bin_encode(v, NULL, 77, code);
        float sum = quant_bin_query_table(q, 77, table);
        double want = 0, want_sum = 0;
        for (int i = 0; i < 77; i++) {
            want += v[i] > 0 ? q[i] : -q[i];
            want_sum += q[i];
        }
        EXPECT(fabs(sum - want_sum) < 1e-4);
        EXPECT(fabs(2.0 * quant_bin_query_sum(table, code, 77) - sum - want) < 1e-4);
    }
}

TEST(test_f16_every_half_round_trips) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_f16_to_f32((uint16_t)h);
        uint16_t back = quant_f32_to_f16(f);
        if (isnan(f)) {
            ASSERT((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0);
        } else {
            ASSERT(back == h);
        }
    }
}

TEST(test_f16_known_values_and_rounding) {
    EXPECT(quant_f16_to_f32(0x3c00) == 1.0f);
    EXPECT(quant_f16_to_f32(0xc000) == -2.0f);
    EXPECT(quant_f16_to_f32(0x7bff) == 65504.0f);
    EXPECT(quant_f16_to_f32(0x0001) == 0x1p-24f);
    EXPECT(isinf(quant_f16_to_f32(0x7c00)));
    EXPECT(quant_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);         /* tie: to even (down) */
    EXPECT(quant_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);     /* tie: to even (up) */
    EXPECT(quant_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);
    EXPECT(quant_f32_to_f16(65519.0f) == 0x7bff);
    EXPECT(quant_f32_to_f16(65520.0f) == 0x7c00);
    EXPECT(quant_f32_to_f16(1e-9f) == 0);
    EXPECT(quant_f32_to_f16(-0.0f) == 0x8000);
}

int main(void) {
    int simd = quant_init();
    printf("kernels: %s\n", simd ? "avx2+popcnt" : "scalar");
    RUN(test_q8_round_trip_error_bound);
    RUN(test_q8_zero_and_extremes);
    RUN(test_q8_distances_match_decoded);
    RUN(test_i8_dot_simd_matches_scalar);
    RUN(test_bin_encode_and_hamming);
    RUN(test_bin_query_table_is_signed_dot);
    RUN(test_f16_every_half_round_trips);
    RUN(test_f16_known_values_and_rounding);
    return TEST_REPORT();
}

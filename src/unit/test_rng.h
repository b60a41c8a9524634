/* test_rng.h -- deterministic random numbers for the unit tests.
 *
 * xorshift64 (Marsaglia, "Xorshift RNGs", 2003): the same sequence on every
 * machine, so a failing test fails again. A file may choose its seed by
 * defining TEST_RNG_SEED before including this header. */
#ifndef PHENIX_UNIT_TEST_RNG_H
#define PHENIX_UNIT_TEST_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 0x9e3779b97f4a7c15ULL
#endif

static uint64_t rng_state = TEST_RNG_SEED;

static inline uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [-1, 1). */
static inline float rng_float(void) { return (float)((double)(rng_next() >> 11) / 4503599627370496.0 - 1.0); }

#endif

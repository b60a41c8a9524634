/* util.h -- small pure helpers: number parsing and formatting, glob
 * matching, clocks. No server state. */
#ifndef PHENIX_UTIL_H
#define PHENIX_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses exactly the whole of s[0..len) as a signed 64-bit decimal integer
 * with no spaces, no '+', no leading zeros (except "0"). Returns 1 and
 * stores *out on success, 0 otherwise (overflow included). */
int util_str2ll(const char *s, size_t len, long long *out);
/* Parses s[0..len) as a finite or infinite double the way Redis does for
 * scores and INCRBYFLOAT (strtold on the whole string, no spaces, no NaN).
 * Returns 1 on success. */
int util_str2ld(const char *s, size_t len, long double *out);
int util_str2d(const char *s, size_t len, double *out);
/* Writes the decimal form of v into buf (>= 21 bytes); returns length. */
int util_ll2str(char *buf, size_t cap, long long v);
/* Formats a long double as Redis does for INCRBYFLOAT replies and
 * storage: up to 17 significant digits, no exponent for human-sized
 * values, trailing zeros removed. Returns length written to buf (cap>=64). */
int util_ld2str(char *buf, size_t cap, long double v);
/* Formats a double for a RESP3 double reply / RESP2 bulk ("%.17g" form,
 * "inf", "-inf", "nan"). Returns the length. */
int util_d2str(char *buf, size_t cap, double v);
/* Glob-style match of string against pattern (*, ?, [a-z], [^x], \x);
 * nocase compares ASCII case-insensitively. Returns 1 when it matches. */
int util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase);
/* Wall clock in milliseconds / microseconds since the epoch. */
int64_t util_mstime(void);
int64_t util_ustime(void);
/* Monotonic clock in microseconds. */
int64_t util_monotonic_us(void);
/* A cheap monotonic tick counter for timing commands: the CPU's time-stamp
 * counter where it is invariant (constant_tsc and nonstop_tsc), else
 * CLOCK_MONOTONIC in ns. util_ticks_init() calibrates it (call once at
 * start-up); util_ticks_to_us() converts a difference to microseconds. */
void util_ticks_init(void);
uint64_t util_ticks(void);
int64_t util_ticks_to_us(uint64_t ticks);
/* Fills buf with len random bytes (getrandom, falling back to a
 * time-seeded generator). */
void util_random_bytes(void *buf, size_t len);
/* Parses a memory size like "100mb", "1gb", "512k", "10" into bytes.
 * Returns 1 on success (negative numbers refused). */
int util_parse_memory(const char *s, long long *out);
/* Case-insensitive equality of a counted string with a C string. */
int util_eqi(const char *s, size_t len, const char *lit);

#endif

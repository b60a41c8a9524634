/* util.c -- number parsing/formatting, glob matching and clocks.
 *
 * All functions are pure (no global state but the clock and the random
 * source) and bounded by their inputs' lengths: they never read past the
 * counted string they are given, which need not be NUL-terminated.
 *
 * The glob matcher is iterative with a single backtrack point (the last
 * '*'), so it needs no recursion and runs in O(pattern * string). */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <strings.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

int util_str2ll(const char *s, size_t len, long long *out) {
    if (len == 0 || len > 20) return 0;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (len == 1) return 0;
    }
    if (s[i] == '0' && len > i + 1) return 0;
    if (s[i] == '0' && neg) return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL / 10)) return 0;
        v = v * 10;
        if (v > ~0ULL - d) return 0;
        v += d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1ULL) return 0;
        *out = (long long)(0ULL - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

int util_str2ld(const char *s, size_t len, long double *out) {
    char buf[5120];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return 0;
    /* overflow (to +-inf) and underflow to zero are errors, as in Redis;
     * a subnormal result (ERANGE but non-zero) is accepted */
    if (errno == ERANGE && (isinf(v) || v == 0)) return 0;
    *out = v;
    return 1;
}

int util_str2d(const char *s, size_t len, double *out) {
    char buf[5120];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (isinf(v) || v == 0)) return 0;
    *out = v;
    return 1;
}

/* Decimal digits of u (1 for 0). */
static int count_digits(unsigned long long u) {
    int n = 1;
    for (;;) {
        if (u < 10) return n;
        if (u < 100) return n + 1;
        if (u < 1000) return n + 2;
        if (u < 10000) return n + 3;
        u /= 10000;
        n += 4;
    }
}

/* Two digits per division, from a table of the pairs 00..99, written from
 * the end once the length is known (the digit-pair method described by A.
 * Alexandrescu, "Three Optimization Tips for C++", 2012). Reply headers
 * ($9, *100) call this once per element. */
int util_ll2str(char *buf, size_t cap, long long v) {
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int neg = v < 0, n = count_digits(u) + neg;
    if ((size_t)n >= cap) return 0;
    buf[n] = '\0';
    char *p = buf + n;
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = pairs[i + 1];
        *--p = pairs[i];
    }
    if (u >= 10) {
        *--p = pairs[u * 2 + 1];
        *--p = pairs[u * 2];
    } else {
        *--p = (char)('0' + u);
    }
    if (neg) *--p = '-';
    return n;
}

int util_ld2str(char *buf, size_t cap, long double v) {
    if (isinf(v)) return snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) n = snprintf(buf, cap, "%.17Lg", v);
    if (strchr(buf, '.') && !strchr(buf, 'e')) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
        buf[n] = '\0';
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return n;
}

int util_d2str(char *buf, size_t cap, double v) {
    if (isnan(v)) return snprintf(buf, cap, "nan");
    if (isinf(v)) return snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
    if (fabs(v) < 1e17 && v == (double)(long long)v) return snprintf(buf, cap, "%lld", (long long)v);
    return snprintf(buf, cap, "%.17g", v);
}

static int fold(int c, int nocase) { return nocase ? tolower(c) : c; }

/* Matches one [...] class at pat (after '['); returns 1 on match and sets
 * *consumed to the pattern bytes used including the closing ']'. */
static int match_class(const char *pat, size_t plen, int c, int nocase, size_t *consumed) {
    size_t i = 0;
    int negate = 0, matched = 0;
    if (i < plen && pat[i] == '^') {
        negate = 1;
        i++;
    }
    while (i < plen && pat[i] != ']') {
        if (pat[i] == '\\' && i + 1 < plen) {
            i++;
            if (fold((unsigned char)pat[i], nocase) == fold(c, nocase)) matched = 1;
            i++;
        } else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
            int lo = fold((unsigned char)pat[i], nocase), hi = fold((unsigned char)pat[i + 2], nocase);
            if (lo > hi) { int t = lo; lo = hi; hi = t; }
            int fc = fold(c, nocase);
            if (fc >= lo && fc <= hi) matched = 1;
            i += 3;
        } else {
            if (fold((unsigned char)pat[i], nocase) == fold(c, nocase)) matched = 1;
            i++;
        }
    }
    *consumed = i < plen ? i + 1 : i; /* an unterminated class ends the pattern */
    return negate ? !matched : matched;
}

/* Iterative glob matching with one backtrack point: on a mismatch, retry
 * from the last '*' with one more byte of the string consumed. Only the
 * last star matters (an earlier one can always absorb what a later one
 * would), so this is O(plen * slen) time, O(1) space, no recursion: a
 * client-supplied pattern cannot exhaust the stack. */
int util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase) {
    size_t p = 0, s = 0, star_p = (size_t)-1, star_s = 0;
    while (s < slen) {
        if (p < plen) {
            char pc = pat[p];
            if (pc == '*') {
                while (p < plen && pat[p] == '*') p++;
                if (p == plen) return 1;
                star_p = p;
                star_s = s;
                continue;
            }
            if (pc == '?') {
                p++;
                s++;
                continue;
            }
            if (pc == '[') {
                size_t used;
                if (match_class(pat + p + 1, plen - p - 1, (unsigned char)str[s], nocase, &used)) {
                    p += 1 + used;
                    s++;
                    continue;
                }
            } else {
                size_t q = (pc == '\\' && p + 1 < plen) ? p + 1 : p;
                if (fold((unsigned char)pat[q], nocase) == fold((unsigned char)str[s], nocase)) {
                    p = q + 1;
                    s++;
                    continue;
                }
            }
        }
        if (star_p == (size_t)-1) return 0;
        p = star_p;
        s = ++star_s;
    }
    while (p < plen && pat[p] == '*') p++;
    return p == plen;
}

int64_t util_ustime(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int64_t util_mstime(void) { return util_ustime() / 1000; }

int64_t util_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int use_tsc;
static double ticks_per_us = 1000.0; /* ns ticks until calibrated */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t util_ticks(void) {
#if defined(__x86_64__)
    if (use_tsc) return __builtin_ia32_rdtsc();
#endif
    return mono_ns();
}

/* The TSC is used only when /proc/cpuinfo promises it ticks at a constant
 * rate across frequency changes and sleep states; its rate is measured
 * against CLOCK_MONOTONIC over 20 ms. */
void util_ticks_init(void) {
#if defined(__x86_64__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    int constant = 0, nonstop = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    if (f) fclose(f);
    if (!constant || !nonstop) return;
    uint64_t t0 = mono_ns(), c0 = __builtin_ia32_rdtsc();
    struct timespec d = {0, 20000000};
    nanosleep(&d, NULL);
    uint64_t t1 = mono_ns(), c1 = __builtin_ia32_rdtsc();
    if (t1 <= t0 || c1 <= c0) return;
    ticks_per_us = (double)(c1 - c0) * 1000.0 / (double)(t1 - t0);
    use_tsc = 1;
#endif
}

int64_t util_ticks_to_us(uint64_t ticks) { return (int64_t)((double)ticks / ticks_per_us); }

void util_random_bytes(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0) break;
        p += n;
        len -= (size_t)n;
    }
    if (len) {
        uint64_t x = (uint64_t)util_ustime() ^ (uint64_t)(uintptr_t)buf;
        while (len--) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            *p++ = (unsigned char)x;
        }
    }
}

int util_parse_memory(const char *s, long long *out) {
    size_t len = strlen(s), numlen = len;
    long long mul = 1;
    static const struct { const char *suf; long long mul; } units[] = {
        {"kb", 1024}, {"mb", 1024LL * 1024}, {"gb", 1024LL * 1024 * 1024},
        {"k", 1000}, {"m", 1000000}, {"g", 1000000000}, {"b", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t sl = strlen(units[i].suf);
        if (len > sl && strcasecmp(s + len - sl, units[i].suf) == 0) {
            mul = units[i].mul;
            numlen = len - sl;
            break;
        }
    }
    long long v;
    if (!util_str2ll(s, numlen, &v) || v < 0) return 0;
    if (v > LLONG_MAX / mul) return 0;
    *out = v * mul;
    return 1;
}

int util_eqi(const char *s, size_t len, const char *lit) {
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* test_plist.c -- unit tests for plist.c, the packed list.
 *
 * Checks every encoding class at its boundaries (integers 0..127, 13, 16,
 * 24, 32 and 64 bits; strings of 0, 63, 64, 4095, 4096 and 70000 bytes;
 * floats and doubles), that each decodes to what was inserted, that the
 * list can be walked both ways (backlen), and a random model test of
 * inserts and deletes at random positions. Every byte allocated must be
 * given back. */
#include "plist.h"
#include "test.h"
#include "zmalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int entry_is_int(const unsigned char *p, long long want) {
    pl_val v;
    pl_get(p, &v);
    return v.kind == PL_INT && v.ll == want;
}

static int entry_is_str(const unsigned char *p, const char *s, size_t len) {
    pl_val v;
    pl_get(p, &v);
    return v.kind == PL_STR && v.len == len && memcmp(v.s, s, len) == 0;
}

TEST(test_integers) {
    size_t base = zmalloc_used_memory();
    static const long long vals[] = {0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768,
                                     8388607, -8388608, 8388608, 2147483647, -2147483648LL, 2147483648LL,
                                     INT64_MAX, INT64_MIN};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    unsigned char *pl = pl_new();
    for (size_t i = 0; i < n; i++) pl = pl_insert_int(pl, NULL, vals[i], NULL);
    EXPECT(pl_count(pl) == n);
    unsigned char *p = pl_first(pl);
    for (size_t i = 0; i < n; i++, p = pl_next(pl, p)) {
        ASSERT(p != NULL);
        EXPECT(entry_is_int(p, vals[i]));
    }
    EXPECT(p == NULL);
    /* backwards */
    p = pl_last(pl);
    for (size_t i = n; i-- > 0; p = pl_prev(pl, p)) {
        ASSERT(p != NULL);
        EXPECT(entry_is_int(p, vals[i]));
    }
    EXPECT(p == NULL);
    /* strings that are canonical integers are stored as integers */
    pl = pl_insert_str(pl, NULL, "-77", 3, &p);
    EXPECT(entry_is_int(p, -77));
    pl = pl_insert_str(pl, NULL, "007", 3, &p);
    EXPECT(entry_is_str(p, "007", 3));
    EXPECT(pl_eq(pl_seek(pl, -2), "-77", 3) && !pl_eq(pl_seek(pl, -2), "-077", 4));
    char buf[PL_NUMBUF];
    size_t len;
    const char *s = pl_get_str(pl_seek(pl, -3), buf, &len);
    EXPECT(len == 20 && memcmp(s, "-9223372036854775808", 20) == 0);
    pl_free(pl);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_strings) {
    size_t base = zmalloc_used_memory();
    static const size_t lens[] = {0, 1, 63, 64, 127, 128, 4095, 4096, 16383, 16384, 70000};
    size_t n = sizeof(lens) / sizeof(lens[0]);
    char *big = zmalloc(70000);
    for (size_t i = 0; i < 70000; i++) big[i] = (char)('a' + i % 26);
    unsigned char *pl = pl_new();
    for (size_t i = 0; i < n; i++) pl = pl_insert_str(pl, NULL, big, lens[i], NULL);
    unsigned char *p = pl_first(pl);
    for (size_t i = 0; i < n; i++, p = pl_next(pl, p)) EXPECT(entry_is_str(p, big, lens[i]));
    p = pl_last(pl);
    for (size_t i = n; i-- > 0; p = pl_prev(pl, p)) EXPECT(entry_is_str(p, big, lens[i]));
    EXPECT(pl_find(pl, pl_first(pl), big, 4096, 0) == pl_seek(pl, 7));
    EXPECT(pl_find(pl, pl_first(pl), big, 4097, 0) == NULL);
    EXPECT(pl_find(pl, pl_first(pl), "", 0, 0) == pl_first(pl));
    pl_free(pl);
    zfree(big);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_doubles) {
    static const double vals[] = {0.5, 1.1, -2.25, 1e300, -1e-300, INFINITY, -INFINITY, 3.0, -0.0, 1e18, 1e19};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    unsigned char *pl = pl_new();
    for (size_t i = 0; i < n; i++) pl = pl_insert_double(pl, NULL, vals[i], NULL);
    unsigned char *p = pl_first(pl);
    for (size_t i = 0; i < n; i++, p = pl_next(pl, p)) EXPECT(pl_get_double(p) == vals[i]);
    /* exact integers are stored as integers, halves as floats */
    EXPECT(entry_is_int(pl_seek(pl, 7), 3));
    pl_val v;
    pl_get(pl_seek(pl, 0), &v);
    EXPECT(v.kind == PL_DBL && v.d == 0.5);
    EXPECT(pl_bytes(pl) < 8 + 1 + n * 10);
    pl_free(pl);
}

TEST(test_insert_delete_positions) {
    unsigned char *pl = pl_new(), *p;
    pl = pl_insert_str(pl, NULL, "b", 1, NULL);
    pl = pl_insert_str(pl, pl_first(pl), "a", 1, &p);
    EXPECT(p == pl_first(pl));
    pl = pl_insert_str(pl, NULL, "d", 1, NULL);
    pl = pl_insert_str(pl, pl_seek(pl, 2), "c", 1, NULL);
    const char *want = "abcd";
    for (int i = 0; i < 4; i++) EXPECT(entry_is_str(pl_seek(pl, i), want + i, 1));
    EXPECT(entry_is_str(pl_seek(pl, -1), "d", 1) && pl_seek(pl, 4) == NULL && pl_seek(pl, -5) == NULL);
    EXPECT(pl_find(pl, pl_first(pl), "c", 1, 1) == pl_seek(pl, 2));
    EXPECT(pl_find(pl, pl_first(pl), "b", 1, 1) == NULL); /* skipped */
    pl = pl_delete(pl, pl_seek(pl, 1), 2, &p);
    EXPECT(pl_count(pl) == 2 && entry_is_str(p, "d", 1));
    pl = pl_delete(pl, pl_seek(pl, 1), 5, &p);
    EXPECT(pl_count(pl) == 1 && p == NULL);
    unsigned char *d = pl_dup(pl);
    pl = pl_delete(pl, pl_first(pl), 1, &p);
    EXPECT(pl_count(pl) == 0 && p == NULL && pl_first(pl) == NULL && pl_last(pl) == NULL);
    EXPECT(pl_count(d) == 1 && entry_is_str(pl_first(d), "a", 1));
    pl_free(d);
    pl_free(pl);
}

TEST(test_random_against_model) {
    size_t base = zmalloc_used_memory();
    srand(7);
    enum { MAX = 300 };
    char *model[MAX];
    size_t mlen[MAX];
    int n = 0;
    unsigned char *pl = pl_new();
    for (int round = 0; round < 5000; round++) {
        if (n < MAX && (n == 0 || rand() % 3)) {
            int pos = rand() % (n + 1);
            size_t len = (size_t)(rand() % 5 == 0 ? rand() % 300 : rand() % 10);
            char *s = zmalloc(len + 1);
            for (size_t i = 0; i < len; i++) s[i] = (char)(rand() % 4 == 0 ? '0' + rand() % 10 : rand() % 256);
            pl = pl_insert_str(pl, pos == n ? NULL : pl_seek(pl, pos), s, len, NULL);
            memmove(model + pos + 1, model + pos, (size_t)(n - pos) * sizeof(char *));
            memmove(mlen + pos + 1, mlen + pos, (size_t)(n - pos) * sizeof(size_t));
            model[pos] = s;
            mlen[pos] = len;
            n++;
        } else {
            int pos = rand() % n, cnt = 1 + rand() % 3;
            if (cnt > n - pos) cnt = n - pos;
            pl = pl_delete(pl, pl_seek(pl, pos), (uint32_t)cnt, NULL);
            for (int i = 0; i < cnt; i++) zfree(model[pos + i]);
            memmove(model + pos, model + pos + cnt, (size_t)(n - pos - cnt) * sizeof(char *));
            memmove(mlen + pos, mlen + pos + cnt, (size_t)(n - pos - cnt) * sizeof(size_t));
            n -= cnt;
        }
        ASSERT((int)pl_count(pl) == n);
    }
    unsigned char *p = pl_first(pl);
    for (int i = 0; i < n; i++, p = pl_next(pl, p)) EXPECT(pl_eq(p, model[i], mlen[i]));
    p = pl_last(pl);
    for (int i = n - 1; i >= 0; i--, p = pl_prev(pl, p)) EXPECT(pl_eq(p, model[i], mlen[i]));
    for (int i = 0; i < n; i++) zfree(model[i]);
    pl_free(pl);
    EXPECT(zmalloc_used_memory() == base);
}

int main(void) {
    RUN(test_integers);
    RUN(test_strings);
    RUN(test_doubles);
    RUN(test_insert_delete_positions);
    RUN(test_random_against_model);
    return TEST_REPORT();
}

/* test_buf.c -- unit tests for ds, the dynamic strings of buf.c.
 *
 * The invariants checked after every operation: len <= cap, the byte at
 * s[len] is NUL, the allocation holds header + cap + 1 bytes, and the
 * content is exactly what a plain byte array model says it should be
 * (binary data with NUL and CR LF inside included). Growth must be
 * geometric (few reallocations for many appends) and every byte allocated
 * must be given back (zmalloc_used_memory returns to its baseline). */
#include "buf.h"
#include "test.h"
#include "zmalloc.h"

#include <stdint.h>
#include <stdlib.h>

/* Checks the ds invariants and that s holds exactly want[0..len). */
static int ds_is(const ds s, const void *want, size_t len) {
    if (ds_len(s) != len) {
        fprintf(stderr, "  ds_len %zu, want %zu\n", ds_len(s), len);
        return 0;
    }
    if (ds_cap(s) < ds_len(s)) return 0;
    if (s[len] != '\0') return 0;
    if (ds_alloc_size(s) < ds_hdr_size(s) + ds_cap(s) + 1) return 0;
    return len == 0 || memcmp(s, want, len) == 0;
}

TEST(test_new_and_empty) {
    size_t base = zmalloc_used_memory();
    ds s = ds_new("abc", 3);
    EXPECT(ds_is(s, "abc", 3));
    EXPECT(strcmp(s, "abc") == 0); /* usable as a C string */
    ds_free(s);

    s = ds_new(NULL, 10);
    EXPECT(ds_is(s, "\0\0\0\0\0\0\0\0\0\0", 10));
    ds_free(s);

    s = ds_new("", 0);
    EXPECT(ds_is(s, "", 0));
    EXPECT(ds_avail(s) == 0);
    ds_free(s);

    s = ds_empty(100);
    EXPECT(ds_is(s, "", 0));
    EXPECT(ds_avail(s) >= 100);
    ds_free(s);

    s = ds_from_cstr("hello world");
    EXPECT(ds_is(s, "hello world", 11));
    ds d = ds_dup(s);
    EXPECT(d != s);
    EXPECT(ds_is(d, "hello world", 11));
    ds_free(s);
    ds_free(d);
    ds_free(NULL); /* allowed, like free(NULL) */
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_binary_safety) {
    const char bin[] = "a\0b\r\nc\0\0\xff";
    size_t n = sizeof(bin) - 1;
    ds s = ds_new(bin, n);
    EXPECT(ds_is(s, bin, n));
    ds d = ds_dup(s);
    EXPECT(ds_is(d, bin, n));
    s = ds_cat(s, bin, n);
    char want[64];
    memcpy(want, bin, n);
    memcpy(want + n, bin, n);
    EXPECT(ds_is(s, want, 2 * n));
    ds_consume(s, 1);
    EXPECT(ds_is(s, want + 1, 2 * n - 1));
    ds_free(s);
    ds_free(d);
    /* every byte value survives */
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    s = ds_empty(0);
    for (int i = 0; i < 256; i++) s = ds_cat(s, all + i, 1);
    EXPECT(ds_is(s, all, 256));
    ds_free(s);
}

TEST(test_cat_growth) {
    size_t base = zmalloc_used_memory();
    size_t n = 300000;
    unsigned char *model = malloc(n);
    ds s = ds_empty(0);
    int reallocs = 0;
    size_t cap = ds_cap(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)(i * 131 + 7);
        model[i] = c;
        s = ds_cat(s, &c, 1);
        if (ds_cap(s) != cap) {
            reallocs++;
            cap = ds_cap(s);
        }
        if (s[ds_len(s)] != '\0') {
            EXPECT(s[ds_len(s)] == '\0');
            break;
        }
    }
    EXPECT(ds_is(s, model, n));
    printf("  %zu one-byte appends: %d capacity changes, final cap %zu\n", n, reallocs, cap);
    EXPECT(reallocs <= 25); /* geometric growth, not one step per append */
    EXPECT(ds_cap(s) <= 2 * n + 16);
    ds_free(s);

    /* big appends past 1 MiB grow by at most +1 MiB over what is needed */
    s = ds_empty(0);
    size_t chunk = 64 * 1024, total = 8 * 1024 * 1024;
    char *block = malloc(chunk);
    memset(block, 'z', chunk);
    reallocs = 0;
    cap = ds_cap(s);
    for (size_t done = 0; done < total; done += chunk) {
        s = ds_cat(s, block, chunk);
        if (ds_cap(s) != cap) {
            reallocs++;
            cap = ds_cap(s);
        }
        EXPECT(ds_avail(s) <= 2 * 1024 * 1024);
    }
    EXPECT(ds_len(s) == total && s[total] == '\0');
    EXPECT(s[0] == 'z' && s[total - 1] == 'z');
    EXPECT(reallocs <= 20);
    ds_free(s);
    free(block);
    free(model);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_catfmt) {
    ds s = ds_empty(0);
    s = ds_catfmt(s, "%d-%s-%c", 42, "abc", 'x');
    EXPECT(ds_is(s, "42-abc-x", 8));
    s = ds_catfmt(s, "%s", "");
    EXPECT(ds_is(s, "42-abc-x", 8));
    s = ds_catfmt(s, "|%lld|", -9223372036854775807LL - 1);
    EXPECT(ds_is(s, "42-abc-x|-9223372036854775808|", 30));
    ds_free(s);

    /* outputs around the 256-byte stack buffer, and far beyond it */
    size_t lens[] = {254, 255, 256, 257, 300, 1000, 5000, 100000};
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k];
        char *arg = malloc(n + 1);
        for (size_t i = 0; i < n; i++) arg[i] = (char)('a' + i % 26);
        arg[n] = '\0';
        s = ds_from_cstr("pre:");
        s = ds_catfmt(s, "%s", arg);
        EXPECT(ds_len(s) == n + 4);
        EXPECT(memcmp(s, "pre:", 4) == 0 && memcmp(s + 4, arg, n) == 0);
        EXPECT(s[n + 4] == '\0');
        /* a second long format onto a ds that already holds a lot */
        s = ds_catfmt(s, "[%zu:%s]", n, arg);
        char head[32];
        int hl = snprintf(head, sizeof(head), "[%zu:", n);
        EXPECT(ds_len(s) == 2 * n + 4 + (size_t)hl + 1);
        EXPECT(memcmp(s + n + 4, head, (size_t)hl) == 0);
        EXPECT(memcmp(s + n + 4 + hl, arg, n) == 0);
        EXPECT(s[ds_len(s) - 1] == ']' && s[ds_len(s)] == '\0');
        ds_free(s);
        free(arg);
    }
    /* a long format made of many short pieces */
    s = ds_empty(0);
    s = ds_catfmt(s, "%0300d|%-300s|%300s", 7, "L", "R");
    EXPECT(ds_len(s) == 902);
    EXPECT(s[299] == '7' && s[0] == '0' && s[300] == '|' && s[301] == 'L' && s[901] == 'R');
    EXPECT(s[902] == '\0');
    ds_free(s);
}

TEST(test_consume) {
    ds s = ds_from_cstr("0123456789");
    ds_consume(s, 0);
    EXPECT(ds_is(s, "0123456789", 10));
    ds_consume(s, 3);
    EXPECT(ds_is(s, "3456789", 7));
    ds_consume(s, 6);
    EXPECT(ds_is(s, "9", 1));
    ds_consume(s, 1);
    EXPECT(ds_is(s, "", 0));
    s = ds_cat(s, "abc", 3);
    ds_consume(s, 100); /* more than len empties it */
    EXPECT(ds_is(s, "", 0));
    /* the query-buffer pattern: append, consume a prefix, repeat */
    char model[4096];
    size_t mlen = 0;
    for (int round = 0; round < 2000; round++) {
        char piece[17];
        int pl = snprintf(piece, sizeof(piece), "<%d>", round);
        s = ds_cat(s, piece, (size_t)pl);
        memcpy(model + mlen, piece, (size_t)pl);
        mlen += (size_t)pl;
        size_t eat = (size_t)(round * 7) % (mlen + 1);
        ds_consume(s, eat);
        memmove(model, model + eat, mlen - eat);
        mlen -= eat;
        if (!ds_is(s, model, mlen)) {
            EXPECT(ds_is(s, model, mlen));
            break;
        }
    }
    ds_free(s);
}

TEST(test_make_room_and_setlen) {
    ds s = ds_from_cstr("abc");
    ds t = ds_make_room(s, 0);
    EXPECT(t == s); /* nothing needed: no move */
    s = ds_make_room(s, 1000);
    EXPECT(ds_avail(s) >= 1000);
    EXPECT(ds_is(s, "abc", 3));
    t = ds_make_room(s, 1000);
    EXPECT(t == s); /* room already there */
    /* write into the room directly, then publish with ds_setlen */
    memset(s + 3, 'x', 1000);
    ds_setlen(s, 1003);
    EXPECT(ds_len(s) == 1003 && s[1003] == '\0' && s[1002] == 'x' && s[2] == 'c');
    ds_setlen(s, 2);
    EXPECT(ds_is(s, "ab", 2));
    ds_setlen(s, 0);
    EXPECT(ds_is(s, "", 0));
    ds_free(s);

    s = ds_empty(16);
    size_t cap = ds_cap(s);
    s = ds_cat(s, "0123456789abcdef", 16); /* exactly fills: no growth */
    EXPECT(ds_cap(s) == cap);
    EXPECT(ds_is(s, "0123456789abcdef", 16));
    ds_free(s);
}

TEST(test_shrink) {
    size_t base = zmalloc_used_memory();
    ds s = ds_empty(0);
    for (int i = 0; i < 1000; i++) s = ds_cat(s, "0123456789", 10);
    ds_consume(s, 9990);
    EXPECT(ds_is(s, "0123456789", 10));
    size_t before = ds_alloc_size(s);
    s = ds_shrink(s);
    EXPECT(ds_is(s, "0123456789", 10));
    EXPECT(ds_avail(s) == 0);
    EXPECT(ds_alloc_size(s) < before);
    EXPECT(ds_alloc_size(s) >= ds_hdr_size(s) + 11);
    /* it still grows after a shrink */
    s = ds_cat(s, "!", 1);
    EXPECT(ds_is(s, "0123456789!", 11));
    ds_setlen(s, 0);
    s = ds_shrink(s);
    EXPECT(ds_is(s, "", 0));
    ds_free(s);
    EXPECT(zmalloc_used_memory() == base);
}

/* Short strings carry the 3-byte header; growing past 255 bytes moves to
 * the 32-bit header with the bytes intact, and shrinking moves back. */
TEST(test_header_types) {
    ds s = ds_new("user:123456", 11);
    EXPECT(ds_hdr_size(s) == DS_HDR_5);
    EXPECT(ds_alloc_size(s) <= 16);
    EXPECT(ds_len(s) == 11 && ds_avail(s) == 0);
    s = ds_shrink(s);
    EXPECT(ds_hdr_size(s) == DS_HDR_5 && ds_len(s) == 11);
    ds t = ds_new("user:123456", 11);
    ds_setlen(t, 4);
    EXPECT(ds_len(t) == 4 && memcmp(t, "user", 5) == 0);
    t = ds_cat(t, "!", 1);
    EXPECT(ds_hdr_size(t) == DS_HDR_8 && ds_len(t) == 5 && memcmp(t, "user!", 6) == 0);
    ds_free(t);
    ds e = ds_new("", 0);
    EXPECT(ds_hdr_size(e) == DS_HDR_8 && ds_len(e) == 0);
    ds_free(e);
    for (int i = 0; i < 100; i++) s = ds_cat(s, "0123456789", 10);
    EXPECT(ds_len(s) == 1011);
    EXPECT(ds_hdr_size(s) == DS_HDR_32);
    EXPECT(memcmp(s, "user:1234560123456789", 21) == 0);
    EXPECT(memcmp(s + 1001, "0123456789", 10) == 0 && s[1011] == '\0');
    ds_setlen(s, 200);
    s = ds_shrink(s);
    EXPECT(ds_hdr_size(s) == DS_HDR_8);
    EXPECT(ds_len(s) == 200 && ds_cap(s) == 200 && s[200] == '\0');
    EXPECT(memcmp(s, "user:123456", 11) == 0);
    ds_free(s);
    ds big = ds_empty(300);
    EXPECT(ds_hdr_size(big) == DS_HDR_32 && ds_len(big) == 0 && ds_cap(big) == 300);
    ds_free(big);
    ds edge = ds_new(NULL, 255);
    EXPECT(ds_hdr_size(edge) == DS_HDR_8 && ds_len(edge) == 255);
    edge = ds_cat(edge, "x", 1);
    EXPECT(ds_len(edge) == 256 && edge[255] == 'x' && ds_hdr_size(edge) == DS_HDR_32);
    ds_free(edge);
}

static const char *src_pattern(void) { return "0123456789012345678901234567890123456789"; }

/* A ds built in place (stack views, embedded strings) reads like any other. */
TEST(test_init_in) {
    char mem[DS_HDR_32 + 400];
    ds v = ds_init_in(mem, "key", 3);
    EXPECT(ds_len(v) == 3 && memcmp(v, "key", 4) == 0 && ds_avail(v) == 0);
    EXPECT(ds_embedded_size(3) == DS_HDR_5 + 4);
    ds v2 = ds_init_in(mem, src_pattern(), 40);
    EXPECT(ds_len(v2) == 40 && ds_hdr_size(v2) == DS_HDR_8);
    char src[300];
    memset(src, 'a', sizeof(src));
    ds w = ds_init_in(mem, src, 300);
    EXPECT(ds_len(w) == 300 && w[299] == 'a' && w[300] == '\0' && ds_hdr_size(w) == DS_HDR_32);
    EXPECT(ds_embedded_size(300) == DS_HDR_32 + 301);
}

int main(void) {
    RUN(test_header_types);
    RUN(test_init_in);
    RUN(test_new_and_empty);
    RUN(test_binary_safety);
    RUN(test_cat_growth);
    RUN(test_catfmt);
    RUN(test_consume);
    RUN(test_make_room_and_setlen);
    RUN(test_shrink);
    return TEST_REPORT();
}

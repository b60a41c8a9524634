/* plist.c -- packed list: small strings and numbers in one flat allocation.
 *
 * What it is: the compact encoding of small sets (members) and small
 * sorted sets (member, score, member, score ... in score order), reported
 * by OBJECT ENCODING as "listpack". It trades O(n) operations for memory:
 * one allocation, no pointers, one or two bytes of overhead per entry.
 *
 * Layout:
 *     [total bytes: u32][count: u32] entry entry ... [0xFF]
 *     entry = [encoding + payload][backlen]
 * Encodings (first byte):
 *     0xxxxxxx            integer 0..127, no payload
 *     10xxxxxx            string of 0..63 bytes follows
 *     110xxxxx + 1 byte   13-bit signed integer (high bits first)
 *     1110xxxx + 1 byte   string of 0..4095 bytes follows
 *     0xF0 + u32          string of any length follows
 *     0xF1/F2/F3/F4       16/24/32/64-bit signed integer (little endian)
 *     0xF5                float (4 bytes), 0xF6 double (8 bytes)
 *     0xFF                end of list (never an entry)
 * backlen is the length L of encoding + payload in 1 to 5 bytes laid out so
 * that it is read from its last byte backwards: each byte carries 7 bits,
 * least significant in the last byte; a byte with the 0x80 bit set says
 * one more byte lies to its left. It lets pl_prev step back in O(1).
 *
 * Invariants: the header's byte count is the allocation's logical size;
 * count is the number of entries; the list ends with exactly one 0xFF;
 * every entry's backlen equals its encoding + payload length; a string
 * entry never holds a canonical integer (pl_insert_str stores those as
 * integers), so equality with an integer string needs only integer entries.
 *
 * Complexity: pl_count O(1); first/last/next/prev O(1); seek, find, insert
 * and delete O(n) (a memmove of the tail and a realloc).
 *
 * Naming: pl_* public; static helpers without prefix.
 *
 * Sources: the entry-with-backlen design follows the published listpack
 * specification of Redis (Salvatore Sanfilippo, 2017): self-describing
 * encodings and a reversed length so a flat list can be walked both ways.
 * The byte layout here is this project's own (simpler: no entry-count
 * saturation, no 12-bit string class boundaries of the original). */
#include "plist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zmalloc.h"

#define HDR 8
#define END 0xFF

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

static uint32_t total(const unsigned char *pl) { return get_u32(pl); }
uint32_t pl_count(const unsigned char *pl) { return get_u32(pl + 4); }
size_t pl_bytes(const unsigned char *pl) { return total(pl); }

unsigned char *pl_new(void) {
    unsigned char *pl = zmalloc(HDR + 1);
    put_u32(pl, HDR + 1);
    put_u32(pl + 4, 0);
    pl[HDR] = END;
    return pl;
}

void pl_free(unsigned char *pl) { zfree(pl); }

unsigned char *pl_dup(const unsigned char *pl) {
    unsigned char *d = zmalloc(total(pl));
    memcpy(d, pl, total(pl));
    return d;
}

/* ---------------- entry sizes ---------------- */

static size_t backlen_size(size_t l) {
    if (l < 128) return 1;
    if (l < 16384) return 2;
    if (l < 2097152) return 3;
    if (l < 268435456) return 4;
    return 5;
}

/* Length of an entry's encoding + payload. */
static size_t entry_len(const unsigned char *p) {
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    if ((b & 0xC0) == 0x80) return 1 + (b & 0x3F);
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 2 + (((size_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case 0xF0: return 5 + get_u32(p + 1);
    case 0xF1: return 3;
    case 0xF2: return 4;
    case 0xF3: return 5;
    case 0xF4: return 9;
    case 0xF5: return 5;
    case 0xF6: return 9;
    }
    abort(); /* corrupted list: an invariant, not a user error */
}

static size_t entry_size(const unsigned char *p) {
    size_t l = entry_len(p);
    return l + backlen_size(l);
}

static void write_backlen(unsigned char *w, size_t l) {
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) w[n - 1 - i] = (unsigned char)(((l >> (7 * i)) & 127) | (i + 1 < n ? 0x80 : 0));
}

/* ---------------- navigation ---------------- */

unsigned char *pl_first(unsigned char *pl) { return pl[HDR] == END ? NULL : pl + HDR; }

unsigned char *pl_next(unsigned char *pl, unsigned char *p) {
    (void)pl;
    unsigned char *n = p + entry_size(p);
    return *n == END ? NULL : n;
}

/* The entry that ends just before q (q: an entry or the terminator). */
static unsigned char *entry_before(unsigned char *pl, unsigned char *q) {
    if (q == pl + HDR) return NULL;
    size_t l = 0, shift = 0, n = 0;
    const unsigned char *b = q - 1;
    for (;;) {
        l |= (size_t)(*b & 127) << shift;
        n++;
        if (!(*b & 0x80)) break;
        shift += 7;
        b--;
    }
    return q - n - l;
}

unsigned char *pl_prev(unsigned char *pl, unsigned char *p) { return entry_before(pl, p); }

unsigned char *pl_last(unsigned char *pl) { return entry_before(pl, pl + total(pl) - 1); }

unsigned char *pl_seek(unsigned char *pl, long index) {
    long n = (long)pl_count(pl);
    if (index < 0) index += n;
    if (index < 0 || index >= n) return NULL;
    unsigned char *p;
    if (index <= n / 2) {
        p = pl_first(pl);
        while (index--) p = pl_next(pl, p);
    } else {
        p = pl_last(pl);
        for (long i = n - 1; i > index; i--) p = pl_prev(pl, p);
    }
    return p;
}

/* ---------------- decoding ---------------- */

static long long sign_extend(unsigned long long v, int bits) {
    unsigned long long m = 1ULL << (bits - 1);
    return (long long)((v ^ m) - m);
}

static unsigned long long get_le(const unsigned char *p, int n) {
    unsigned long long v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void pl_get(const unsigned char *p, pl_val *v) {
    unsigned char b = p[0];
    v->kind = PL_INT;
    v->s = NULL;
    v->len = 0;
    v->ll = 0;
    v->d = 0;
    if (b < 0x80) {
        v->ll = b;
    } else if ((b & 0xC0) == 0x80) {
        v->kind = PL_STR;
        v->len = b & 0x3F;
        v->s = p + 1;
    } else if ((b & 0xE0) == 0xC0) {
        v->ll = sign_extend(((unsigned long long)(b & 0x1F) << 8) | p[1], 13);
    } else if ((b & 0xF0) == 0xE0) {
        v->kind = PL_STR;
        v->len = ((uint32_t)(b & 0x0F) << 8) | p[1];
        v->s = p + 2;
    } else if (b == 0xF0) {
        v->kind = PL_STR;
        v->len = get_u32(p + 1);
        v->s = p + 5;
    } else if (b >= 0xF1 && b <= 0xF4) {
        static const int bytes[] = {2, 3, 4, 8};
        int n = bytes[b - 0xF1];
        v->ll = sign_extend(get_le(p + 1, n), n * 8);
    } else if (b == 0xF5) {
        float f;
        memcpy(&f, p + 1, 4);
        v->kind = PL_DBL;
        v->d = f;
    } else {
        v->kind = PL_DBL;
        memcpy(&v->d, p + 1, 8);
    }
}

const char *pl_get_str(const unsigned char *p, char *buf, size_t *len) {
    pl_val v;
    pl_get(p, &v);
    if (v.kind == PL_STR) {
        *len = v.len;
        return (const char *)v.s;
    }
    if (v.kind == PL_INT) *len = (size_t)util_ll2str(buf, PL_NUMBUF, v.ll);
    else *len = (size_t)snprintf(buf, PL_NUMBUF, "%.17g", v.d);
    return buf;
}

double pl_get_double(const unsigned char *p) {
    pl_val v;
    pl_get(p, &v);
    if (v.kind == PL_INT) return (double)v.ll;
    if (v.kind == PL_DBL) return v.d;
    char tmp[64];
    size_t n = v.len < sizeof(tmp) - 1 ? v.len : sizeof(tmp) - 1;
    memcpy(tmp, v.s, n);
    tmp[n] = '\0';
    return strtod(tmp, NULL);
}

/* Equality of entry p with a string whose integer form (when canonical)
 * was parsed already: is_int and ll. */
static int eq_parsed(const unsigned char *p, const char *s, size_t len, int is_int, long long ll) {
    pl_val v;
    pl_get(p, &v);
    if (v.kind == PL_STR) return v.len == len && memcmp(v.s, s, len) == 0;
    if (v.kind == PL_INT) return is_int && v.ll == ll;
    char buf[PL_NUMBUF];
    size_t n;
    const char *t = pl_get_str(p, buf, &n);
    return n == len && memcmp(t, s, len) == 0;
}

int pl_eq(const unsigned char *p, const char *s, size_t len) {
    long long ll = 0;
    int is_int = util_str2ll(s, len, &ll);
    return eq_parsed(p, s, len, is_int, ll);
}

unsigned char *pl_find(unsigned char *pl, unsigned char *p, const char *s, size_t len, uint32_t skip) {
    long long ll = 0;
    int is_int = util_str2ll(s, len, &ll);
    while (p) {
        if (eq_parsed(p, s, len, is_int, ll)) return p;
        p = pl_next(pl, p);
        for (uint32_t i = 0; i < skip && p; i++) p = pl_next(pl, p);
    }
    return NULL;
}

/* ---------------- encoding ---------------- */

/* Writes the encoding + payload of an integer into buf (>= 9 bytes) and
 * returns its length. */
static size_t encode_int(unsigned char *buf, long long v) {
    if (v >= 0 && v <= 127) {
        buf[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        unsigned u = (unsigned)v & 0x1FFF;
        buf[0] = (unsigned char)(0xC0 | (u >> 8));
        buf[1] = (unsigned char)(u & 0xFF);
        return 2;
    }
    int n;
    if (v >= INT16_MIN && v <= INT16_MAX) n = 2, buf[0] = 0xF1;
    else if (v >= -8388608 && v <= 8388607) n = 3, buf[0] = 0xF2;
    else if (v >= INT32_MIN && v <= INT32_MAX) n = 4, buf[0] = 0xF3;
    else n = 8, buf[0] = 0xF4;
    unsigned long long u = (unsigned long long)v;
    for (int i = 0; i < n; i++) buf[1 + i] = (unsigned char)(u >> (8 * i));
    return (size_t)n + 1;
}

static size_t string_hdr(unsigned char *buf, size_t len) {
    if (len < 64) {
        buf[0] = (unsigned char)(0x80 | len);
        return 1;
    }
    if (len < 4096) {
        buf[0] = (unsigned char)(0xE0 | (len >> 8));
        buf[1] = (unsigned char)(len & 0xFF);
        return 2;
    }
    buf[0] = 0xF0;
    put_u32(buf + 1, (uint32_t)len);
    return 5;
}

/* Makes room for `size` bytes before p (NULL: at the end) and returns the
 * new list; *at points to the gap. */
static unsigned char *open_gap(unsigned char *pl, unsigned char *p, size_t size, unsigned char **at) {
    size_t off = p ? (size_t)(p - pl) : total(pl) - 1;
    size_t old = total(pl);
    pl = zrealloc(pl, old + size);
    memmove(pl + off + size, pl + off, old - off);
    put_u32(pl, (uint32_t)(old + size));
    put_u32(pl + 4, pl_count(pl) + 1);
    *at = pl + off;
    return pl;
}

/* Inserts an entry made of hdr[0..hlen) followed by payload[0..plen). */
static unsigned char *insert_raw(unsigned char *pl, unsigned char *p, const unsigned char *hdr, size_t hlen,
                                 const void *payload, size_t plen, unsigned char **newp) {
    size_t l = hlen + plen;
    unsigned char *at;
    pl = open_gap(pl, p, l + backlen_size(l), &at);
    memcpy(at, hdr, hlen);
    if (plen) memcpy(at + hlen, payload, plen);
    write_backlen(at + l, l);
    if (newp) *newp = at;
    return pl;
}

unsigned char *pl_insert_int(unsigned char *pl, unsigned char *p, long long v, unsigned char **newp) {
    unsigned char buf[9];
    size_t n = encode_int(buf, v);
    return insert_raw(pl, p, buf, n, NULL, 0, newp);
}

unsigned char *pl_insert_str(unsigned char *pl, unsigned char *p, const char *s, size_t len, unsigned char **newp) {
    long long v;
    if (util_str2ll(s, len, &v)) return pl_insert_int(pl, p, v, newp);
    unsigned char hdr[5];
    size_t h = string_hdr(hdr, len);
    return insert_raw(pl, p, hdr, h, s, len, newp);
}

unsigned char *pl_insert_double(unsigned char *pl, unsigned char *p, double d, unsigned char **newp) {
    if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d) return pl_insert_int(pl, p, (long long)d, newp);
    float f = (float)d;
    unsigned char hdr[1];
    if ((double)f == d || isnan(d)) {
        hdr[0] = 0xF5;
        return insert_raw(pl, p, hdr, 1, &f, 4, newp);
    }
    hdr[0] = 0xF6;
    return insert_raw(pl, p, hdr, 1, &d, 8, newp);
}

unsigned char *pl_delete(unsigned char *pl, unsigned char *p, uint32_t n, unsigned char **nextp) {
    size_t off = (size_t)(p - pl);
    unsigned char *q = p;
    uint32_t removed = 0;
    while (removed < n && *q != END) {
        q += entry_size(q);
        removed++;
    }
    size_t gap = (size_t)(q - p), old = total(pl);
    memmove(p, q, old - (size_t)(q - pl));
    pl = zrealloc(pl, old - gap);
    put_u32(pl, (uint32_t)(old - gap));
    put_u32(pl + 4, pl_count(pl) - removed);
    if (nextp) *nextp = pl[off] == END ? NULL : pl + off;
    return pl;
}

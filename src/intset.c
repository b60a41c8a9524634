/* intset.c -- a sorted set of 64-bit integers in one flat allocation.
 *
 * Layout: a header {width, len} followed by len elements of `width` bytes
 * (2, 4 or 8, host byte order, read and written with memcpy so unaligned
 * access is never needed), in strictly ascending order. All elements share
 * the width of the widest one: adding a value that does not fit widens
 * every element (an "upgrade", O(n)); removals never narrow it back.
 *
 * Invariants: elements strictly ascending (so no duplicates); every element
 * fits in `width` bytes; the allocation is exactly header + len * width.
 *
 * Complexity: find O(log n) (binary search); add and remove O(n) for the
 * memmove and the realloc, which is why the server only uses this encoding
 * for small sets (it converts to a hash table past a threshold).
 *
 * Naming: intset_* public; static helpers without prefix.
 *
 * Sources: the idea of a width-adaptive sorted integer array for small sets
 * is the "intset" encoding described in Redis's documentation; the code is
 * this project's own. */
#include "intset.h"

#include <string.h>

#include "zmalloc.h"

static uint32_t width_for(int64_t v) {
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t get_w(const intset *is, uint32_t pos, uint32_t width) {
    const uint8_t *p = is->data + (size_t)pos * width;
    if (width == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void set_w(intset *is, uint32_t pos, uint32_t width, int64_t v) {
    uint8_t *p = is->data + (size_t)pos * width;
    if (width == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (width == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

static intset *resize(intset *is, uint32_t len) {
    return zrealloc(is, sizeof(intset) + (size_t)len * is->width);
}

intset *intset_new(void) {
    intset *is = zmalloc(sizeof(intset));
    is->width = 2;
    is->len = 0;
    return is;
}

void intset_free(intset *is) { zfree(is); }

intset *intset_dup(const intset *is) {
    size_t n = sizeof(intset) + (size_t)is->len * is->width;
    intset *d = zmalloc(n);
    memcpy(d, is, n);
    return d;
}

int64_t intset_get(const intset *is, uint32_t pos) { return get_w(is, pos, is->width); }

/* Binary search: returns 1 and *pos = index when v is present, else 0 and
 * *pos = the index where v would be inserted. */
static int search(const intset *is, int64_t v, uint32_t *pos) {
    uint32_t lo = 0, hi = is->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_w(is, mid, is->width);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

int intset_find(const intset *is, int64_t v) {
    uint32_t pos;
    if (width_for(v) > is->width) return 0;
    return search(is, v, &pos);
}

/* Widens every element to hold v (which does not fit) and adds it: v is
 * then either the smallest or the largest element. */
static intset *upgrade_and_add(intset *is, int64_t v) {
    uint32_t old = is->width, len = is->len;
    is->width = width_for(v);
    is = resize(is, len + 1);
    int prepend = v < 0;
    /* back to front, so no element is overwritten before it is read */
    for (uint32_t i = len; i-- > 0;) set_w(is, i + (uint32_t)prepend, is->width, get_w(is, i, old));
    set_w(is, prepend ? 0 : len, is->width, v);
    is->len = len + 1;
    return is;
}

intset *intset_add(intset *is, int64_t v, int *added) {
    if (added) *added = 0;
    if (width_for(v) > is->width) {
        if (added) *added = 1;
        return upgrade_and_add(is, v);
    }
    uint32_t pos;
    if (search(is, v, &pos)) return is;
    is = resize(is, is->len + 1);
    memmove(is->data + (size_t)(pos + 1) * is->width, is->data + (size_t)pos * is->width,
            (size_t)(is->len - pos) * is->width);
    set_w(is, pos, is->width, v);
    is->len++;
    if (added) *added = 1;
    return is;
}

intset *intset_remove_at(intset *is, uint32_t pos) {
    memmove(is->data + (size_t)pos * is->width, is->data + (size_t)(pos + 1) * is->width,
            (size_t)(is->len - pos - 1) * is->width);
    is->len--;
    return resize(is, is->len);
}

intset *intset_remove(intset *is, int64_t v, int *removed) {
    uint32_t pos;
    if (removed) *removed = 0;
    if (width_for(v) > is->width || !search(is, v, &pos)) return is;
    if (removed) *removed = 1;
    return intset_remove_at(is, pos);
}

size_t intset_bytes(const intset *is) { return zmalloc_size(is); }

/* buf.c -- ds dynamic strings (see buf.h for the layout and ownership).
 *
 * Growth is geometric (doubling up to 1 MiB, then +1 MiB steps, the
 * classic amortised-append policy), so n appends cost O(n) in total.
 * All functions abort on impossible sizes (> UINT32_MAX - 1) rather than
 * corrupt memory; callers enforce user-facing limits before calling. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zmalloc.h"

#define DS_MAX ((size_t)UINT32_MAX - 1)

static void hdr_write(char *s, int type, size_t len, size_t cap) {
    if (type == DS_TYPE_5) {
        s[-1] = (char)(unsigned char)(len << 3 | DS_TYPE_5);
        return;
    }
    if (type == DS_TYPE_8) {
        s[-3] = (char)(unsigned char)len;
        s[-2] = (char)(unsigned char)cap;
    } else {
        uint32_t l = (uint32_t)len, c = (uint32_t)cap;
        memcpy(s - DS_HDR_32, &l, 4);
        memcpy(s - DS_HDR_32 + 4, &c, 4);
    }
    s[-1] = (char)type;
}

static size_t hdr_size_of_type(int type) {
    return type == DS_TYPE_5 ? DS_HDR_5 : type == DS_TYPE_8 ? DS_HDR_8 : DS_HDR_32;
}

static void *ds_base(const ds s) { return s - ds_hdr_size(s); }

/* A new ds of the given header type and capacity, length 0. */
static ds ds_alloc_type(int type, size_t cap) {
    if (cap > DS_MAX) abort();
    size_t hs = hdr_size_of_type(type);
    char *m = zmalloc(hs + cap + 1);
    ds s = m + hs;
    hdr_write(s, type, 0, cap);
    s[0] = '\0';
    return s;
}

static ds ds_alloc(size_t cap) { return ds_alloc_type(cap <= 255 ? DS_TYPE_8 : DS_TYPE_32, cap); }

ds ds_init_in(void *mem, const void *p, size_t len) {
    int type = len && len < 32 ? DS_TYPE_5 : len <= 255 ? DS_TYPE_8 : DS_TYPE_32;
    ds s = (char *)mem + hdr_size_of_type(type);
    hdr_write(s, type, len, len);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

ds ds_new(const void *p, size_t len) {
    /* short non-empty strings get the 1-byte header (empty ones are made to
     * be appended to, as sds decides) */
    ds s = len && len < 32 ? ds_alloc_type(DS_TYPE_5, len) : ds_alloc(len);
    if (p) memcpy(s, p, len);
    else memset(s, 0, len);
    ds_setlen(s, len);
    return s;
}

ds ds_empty(size_t cap) { return ds_alloc(cap); }

ds ds_from_cstr(const char *s) { return ds_new(s, strlen(s)); }

ds ds_dup(const ds s) { return ds_new(s, ds_len(s)); }

void ds_free(ds s) {
    if (s) zfree(ds_base(s));
}

/* Reallocates s for capacity cap (>= its length), switching header type
 * when cap crosses 255. */
static ds ds_realloc(ds s, size_t cap) {
    size_t len = ds_len(s);
    int type = (unsigned char)s[-1] & 7, want = cap <= 255 ? DS_TYPE_8 : DS_TYPE_32;
    if (type == want) {
        size_t hs = ds_hdr_size(s);
        char *m = zrealloc(ds_base(s), hs + cap + 1);
        ds n = m + hs;
        hdr_write(n, type, len, cap);
        return n;
    }
    ds n = ds_alloc(cap);
    memcpy(n, s, len + 1);
    hdr_write(n, want, len, cap);
    ds_free(s);
    return n;
}

ds ds_make_room(ds s, size_t add) {
    size_t len = ds_len(s);
    if (ds_avail(s) >= add) return s;
    size_t need = len + add;
    if (need > DS_MAX || need < len) abort();
    size_t cap = need < 1024 * 1024 ? need * 2 : need + 1024 * 1024;
    if (cap > DS_MAX) cap = DS_MAX;
    return ds_realloc(s, cap);
}

ds ds_cat(ds s, const void *p, size_t len) {
    s = ds_make_room(s, len);
    memcpy(s + ds_len(s), p, len);
    ds_setlen(s, ds_len(s) + len);
    return s;
}

ds ds_catfmt(ds s, const char *fmt, ...) {
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return s;
    if ((size_t)n < sizeof(small)) return ds_cat(s, small, (size_t)n);
    s = ds_make_room(s, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s + ds_len(s), (size_t)n + 1, fmt, ap);
    va_end(ap);
    ds_setlen(s, ds_len(s) + (size_t)n);
    return s;
}

void ds_setlen(ds s, size_t len) {
    unsigned t = (unsigned char)s[-1] & 7;
    if (t == DS_TYPE_5) {
        s[-1] = (char)(unsigned char)(len << 3 | DS_TYPE_5);
    } else if (t == DS_TYPE_8) {
        s[-3] = (char)(unsigned char)len;
    } else {
        uint32_t l = (uint32_t)len;
        memcpy(s - DS_HDR_32, &l, 4);
    }
    s[len] = '\0';
}

void ds_consume(ds s, size_t n) {
    size_t len = ds_len(s);
    if (n >= len) {
        ds_setlen(s, 0);
        return;
    }
    memmove(s, s + n, len - n);
    ds_setlen(s, len - n);
}

ds ds_shrink(ds s) {
    if (((unsigned char)s[-1] & 7) == DS_TYPE_5 || ds_avail(s) == 0) return s;
    return ds_realloc(s, ds_len(s));
}

size_t ds_alloc_size(const ds s) { return zmalloc_size(ds_base(s)); }

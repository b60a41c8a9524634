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

static ds ds_alloc(size_t cap) {
    if (cap > DS_MAX) abort();
    ds_hdr *h = zmalloc(sizeof(ds_hdr) + cap + 1);
    h->len = 0;
    h->cap = (uint32_t)cap;
    ds s = (char *)(h + 1);
    s[0] = '\0';
    return s;
}

ds ds_new(const void *p, size_t len) {
    ds s = ds_alloc(len);
    if (p) memcpy(s, p, len);
    else memset(s, 0, len);
    ds_setlen(s, len);
    return s;
}

ds ds_empty(size_t cap) { return ds_alloc(cap); }

ds ds_from_cstr(const char *s) { return ds_new(s, strlen(s)); }

ds ds_dup(const ds s) { return ds_new(s, ds_len(s)); }

void ds_free(ds s) {
    if (s) zfree(DS_HDR(s));
}

ds ds_make_room(ds s, size_t add) {
    size_t len = ds_len(s);
    if (ds_avail(s) >= add) return s;
    size_t need = len + add;
    if (need > DS_MAX || need < len) abort();
    size_t cap = need < 1024 * 1024 ? need * 2 : need + 1024 * 1024;
    if (cap > DS_MAX) cap = DS_MAX;
    ds_hdr *h = zrealloc(DS_HDR(s), sizeof(ds_hdr) + cap + 1);
    h->cap = (uint32_t)cap;
    return (char *)(h + 1);
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
    DS_HDR(s)->len = (uint32_t)len;
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
    ds_hdr *h = zrealloc(DS_HDR(s), sizeof(ds_hdr) + ds_len(s) + 1);
    h->cap = h->len;
    return (char *)(h + 1);
}

size_t ds_alloc_size(const ds s) { return zmalloc_size(DS_HDR(s)); }

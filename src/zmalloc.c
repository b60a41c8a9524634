/* zmalloc.c -- accounted allocation (see zmalloc.h).
 *
 * Invariant: used_memory equals the sum of malloc_usable_size() over live
 * blocks allocated here. O(1) per call. When built with jemalloc
 * (HAVE_JEMALLOC), jemalloc replaces malloc for the whole process, so the
 * same calls are jemalloc calls. */
#include "zmalloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static _Atomic size_t used_memory;

static void oom(size_t size) {
    fprintf(stderr, "zmalloc: out of memory trying to allocate %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *zmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *zmalloc_aligned(size_t size, size_t align) {
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0) oom(size);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *zcalloc(size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (!p) oom(size);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *zrealloc(void *ptr, size_t size) {
    if (!ptr) return zmalloc(size);
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size ? size : 1);
    if (!p) oom(size);
    atomic_fetch_sub_explicit(&used_memory, old, memory_order_relaxed);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void zfree(void *ptr) {
    if (!ptr) return;
    atomic_fetch_sub_explicit(&used_memory, malloc_usable_size(ptr), memory_order_relaxed);
    free(ptr);
}

char *zstrdup(const char *s) { return zmemdup(s, strlen(s)); }

char *zmemdup(const void *p, size_t len) {
    char *d = zmalloc(len + 1);
    if (len) memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

size_t zmalloc_used_memory(void) {
    return atomic_load_explicit(&used_memory, memory_order_relaxed);
}

size_t zmalloc_size(const void *ptr) { return ptr ? malloc_usable_size((void *)ptr) : 0; }

size_t zmalloc_get_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, rss = 0;
    int n = fscanf(f, "%lu %lu", &size, &rss);
    fclose(f);
    return n == 2 ? rss * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

const char *zmalloc_allocator_name(void) {
#ifdef HAVE_JEMALLOC
    static char name[64];
    if (!name[0]) {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v)
            snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(v, "-"), v);
        else
            snprintf(name, sizeof(name), "jemalloc");
    }
    return name;
#else
    return "libc";
#endif
}

/* zmalloc.h -- allocation wrappers that account for used memory.
 *
 * Every allocation Phenix makes for data goes through zmalloc/zcalloc/
 * zrealloc/zfree so that INFO's used_memory and the maxmemory check see it.
 * The count uses malloc_usable_size(), so it is what the allocator really
 * handed out (jemalloc size classes included). Out of memory is fatal: the
 * wrappers never return NULL (the server cannot make progress without
 * memory; maxmemory exists so that it never gets there).
 *
 * The counter is a relaxed atomic so that helper threads (fsync, index
 * builds) may allocate too. */
#ifndef PHENIX_ZMALLOC_H
#define PHENIX_ZMALLOC_H

#include <stddef.h>

void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);
/* zmalloc of a block aligned to align (a power of two, a multiple of
 * sizeof(void *)); freed with zfree. */
void *zmalloc_aligned(size_t size, size_t align);
char *zstrdup(const char *s);
/* Returns a new buffer with a copy of len bytes of p plus a trailing NUL. */
char *zmemdup(const void *p, size_t len);
/* Bytes currently allocated through these wrappers. */
size_t zmalloc_used_memory(void);
/* Usable size of a block returned by zmalloc (0 for NULL). */
size_t zmalloc_size(const void *ptr);
/* Resident set size of the process in bytes, from /proc/self/statm. */
size_t zmalloc_get_rss(void);
/* Name of the allocator linked in: "jemalloc-x.y.z" or "libc". */
const char *zmalloc_allocator_name(void);

#endif

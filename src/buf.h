/* buf.h -- ds: binary-safe dynamic strings.
 *
 * A ds is a char* pointing just after an 8-byte header {len, cap} (both
 * uint32_t, so a ds holds at most 4 GiB - 1 bytes; the server caps values
 * at proto-max-bulk-len and query buffers at client-query-buffer-limit,
 * both below that). The bytes are always followed by a NUL that is not
 * counted in len, so a ds can be passed where a C string is expected when
 * it holds no NUL bytes. Functions that may reallocate return the new
 * pointer; the old one is invalid afterwards (the sds idiom). */
#ifndef PHENIX_BUF_H
#define PHENIX_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef char *ds;

typedef struct ds_hdr {
    uint32_t len;
    uint32_t cap;
} ds_hdr;

#define DS_HDR(s) ((ds_hdr *)((s) - sizeof(ds_hdr)))

static inline size_t ds_len(const ds s) { return DS_HDR(s)->len; }
static inline size_t ds_avail(const ds s) { return DS_HDR(s)->cap - DS_HDR(s)->len; }

/* New ds holding a copy of p[0..len) (p may be NULL: zero-filled). */
ds ds_new(const void *p, size_t len);
/* New empty ds with room for cap bytes without reallocating. */
ds ds_empty(size_t cap);
ds ds_from_cstr(const char *s);
ds ds_dup(const ds s);
void ds_free(ds s);
/* Ensures room for add more bytes; may move s (returns the new pointer). */
ds ds_make_room(ds s, size_t add);
/* Appends p[0..len); may move s. */
ds ds_cat(ds s, const void *p, size_t len);
ds ds_catfmt(ds s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the length (must be <= cap) and writes the terminating NUL. */
void ds_setlen(ds s, size_t len);
/* Removes the first n bytes (memmove). */
void ds_consume(ds s, size_t n);
/* Releases unused capacity; may move s. */
ds ds_shrink(ds s);
/* Bytes allocated for s including header. */
size_t ds_alloc_size(const ds s);

#endif

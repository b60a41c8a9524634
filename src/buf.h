/* buf.h -- ds: binary-safe dynamic strings.
 *
 * A ds is a char* pointing just after a header whose last byte (s[-1])
 * says its type in its low 3 bits, in the sds manner:
 *   DS_TYPE_5   1 byte: length << 3 | type, no spare room (1 to 31 bytes,
 *               made by ds_new: keys, fields and members are never
 *               appended to; an append moves them to a bigger header)
 *   DS_TYPE_8   3 bytes: u8 len, u8 cap, type   (capacity up to 255 bytes)
 *   DS_TYPE_32  9 bytes: u32 len, u32 cap, type (unaligned, read by memcpy)
 * so the short strings that dominate a keyspace carry 1 byte of header,
 * not 8: "user:123456" fits a 16-byte allocation, as in Redis.
 * ds_setlen may shorten a string; lengthening it needs ds_make_room first
 * (a 1-byte header keeps no spare capacity). A ds holds at most 4 GiB - 1 bytes (the server caps values at
 * proto-max-bulk-len and query buffers at client-query-buffer-limit, both
 * below that). The bytes are always followed by a NUL that is not counted
 * in len, so a ds can be passed where a C string is expected when it holds
 * no NUL bytes. Functions that may reallocate return the new pointer; the
 * old one is invalid afterwards (the sds idiom). */
#ifndef PHENIX_BUF_H
#define PHENIX_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef char *ds;

#define DS_TYPE_8 0
#define DS_TYPE_32 1
#define DS_TYPE_5 2
#define DS_HDR_5 1
#define DS_HDR_8 3
#define DS_HDR_32 9

static inline size_t ds_hdr_size(const ds s) {
    unsigned t = (unsigned char)s[-1] & 7;
    return t == DS_TYPE_5 ? DS_HDR_5 : t == DS_TYPE_8 ? DS_HDR_8 : DS_HDR_32;
}

static inline size_t ds_len(const ds s) {
    unsigned char h = (unsigned char)s[-1];
    if ((h & 7) == DS_TYPE_5) return h >> 3;
    if ((h & 7) == DS_TYPE_8) return (unsigned char)s[-3];
    uint32_t v;
    memcpy(&v, s - DS_HDR_32, 4);
    return v;
}

static inline size_t ds_cap(const ds s) {
    unsigned char h = (unsigned char)s[-1];
    if ((h & 7) == DS_TYPE_5) return h >> 3;
    if ((h & 7) == DS_TYPE_8) return (unsigned char)s[-2];
    uint32_t v;
    memcpy(&v, s - DS_HDR_32 + 4, 4);
    return v;
}

static inline size_t ds_avail(const ds s) { return ds_cap(s) - ds_len(s); }

/* Bytes a ds of len bytes takes when built in place (ds_init_in): header,
 * bytes and the NUL. */
static inline size_t ds_embedded_size(size_t len) {
    return (len && len < 32 ? DS_HDR_5 : len <= 255 ? DS_HDR_8 : DS_HDR_32) + len + 1;
}
/* Builds a ds holding p[0..len) in mem (ds_embedded_size(len) bytes) and
 * returns it. It lives as long as mem: never free, grow or shrink it (an
 * embedded string value, a stack view for a lookup). */
ds ds_init_in(void *mem, const void *p, size_t len);

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
/* Bytes allocated for s including header (a ds from ds_new and co). */
size_t ds_alloc_size(const ds s);

#endif

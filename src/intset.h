/* intset.h -- a sorted set of 64-bit integers in one flat allocation.
 *
 * The encoding OBJECT ENCODING reports as "intset": small sets whose
 * members are all integers. See intset.c for the layout. Pure module: no
 * server header. */
#ifndef PHENIX_INTSET_H
#define PHENIX_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct intset {
    uint32_t width; /* bytes per element: 2, 4 or 8 */
    uint32_t len;   /* number of elements */
    uint8_t data[]; /* len elements of width bytes, ascending */
} intset;

/* Returns a new empty intset (width 2); the caller frees it with zfree()
 * or intset_free(). */
intset *intset_new(void);
void intset_free(intset *is);
/* Returns a new intset holding the same elements. */
intset *intset_dup(const intset *is);
/* Adds v. Returns the (possibly moved) intset: the old pointer is invalid
 * afterwards. *added (if not NULL) is 1 when v was absent. O(n) (memmove),
 * O(log n) when v is present. */
intset *intset_add(intset *is, int64_t v, int *added);
/* Removes v. Returns the (possibly moved) intset; *removed (if not NULL) is
 * 1 when v was present. The width never shrinks. */
intset *intset_remove(intset *is, int64_t v, int *removed);
/* 1 when v is an element. O(log n). */
int intset_find(const intset *is, int64_t v);
/* The element at position pos (0 <= pos < len): the pos-th smallest. */
int64_t intset_get(const intset *is, uint32_t pos);
/* Removes the element at position pos; returns the (possibly moved) set. */
intset *intset_remove_at(intset *is, uint32_t pos);
static inline uint32_t intset_len(const intset *is) { return is->len; }
/* Bytes allocated for the intset. */
size_t intset_bytes(const intset *is);

#endif

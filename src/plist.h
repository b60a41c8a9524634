/* plist.h -- packed list: a sequence of small strings and numbers in one
 * flat allocation, walkable in both directions.
 *
 * The compact encoding that OBJECT ENCODING reports as "listpack" for small
 * sets and sorted sets. See plist.c for the byte layout. Pure module: no
 * server header.
 *
 * Entries are addressed by pointers into the list (unsigned char *). Any
 * call that returns a new list pointer (insert, delete) may move the list:
 * every entry pointer taken before it is invalid afterwards, except those
 * the call hands back. */
#ifndef PHENIX_PLIST_H
#define PHENIX_PLIST_H

#include <stddef.h>
#include <stdint.h>

enum { PL_STR = 0, PL_INT = 1, PL_DBL = 2 };

/* An entry's value: a string (s, len: borrowed, valid until the list
 * changes), an integer (ll) or a double (d). */
typedef struct pl_val {
    int kind;
    const unsigned char *s;
    uint32_t len;
    long long ll;
    double d;
} pl_val;

/* Room for the text of any integer or double entry (pl_get_str). */
#define PL_NUMBUF 32

/* Returns a new empty list; free it with pl_free(). */
unsigned char *pl_new(void);
void pl_free(unsigned char *pl);
unsigned char *pl_dup(const unsigned char *pl);
/* Number of entries, O(1). */
uint32_t pl_count(const unsigned char *pl);
/* Bytes the list occupies (header and terminator included). */
size_t pl_bytes(const unsigned char *pl);

/* Navigation: NULL past either end or for an empty list. */
unsigned char *pl_first(unsigned char *pl);
unsigned char *pl_last(unsigned char *pl);
unsigned char *pl_next(unsigned char *pl, unsigned char *p);
unsigned char *pl_prev(unsigned char *pl, unsigned char *p);
/* The entry at index (negative: from the end, -1 the last), or NULL when
 * out of range. O(n). */
unsigned char *pl_seek(unsigned char *pl, long index);

/* Decodes the entry at p. */
void pl_get(const unsigned char *p, pl_val *v);
/* The entry's bytes as a string: strings are returned in place, numbers
 * are formatted into buf (PL_NUMBUF bytes). */
const char *pl_get_str(const unsigned char *p, char *buf, size_t *len);
/* The entry as a double (strings are parsed with strtod; 0 if they do not
 * parse). */
double pl_get_double(const unsigned char *p);
/* 1 when the entry equals the string s[0..len): an integer entry equals
 * the canonical decimal form of its value. */
int pl_eq(const unsigned char *p, const char *s, size_t len);
/* From p on, compares one entry with s then skips `skip` entries, and so
 * on; returns the first equal entry compared, or NULL. */
unsigned char *pl_find(unsigned char *pl, unsigned char *p, const char *s, size_t len, uint32_t skip);

/* Insert before entry p (NULL: append at the end). Strings that are
 * canonical decimal integers are stored as integers; doubles that are
 * exact integers as integers, and as 4 bytes when a float holds them
 * exactly. Return the new list; *newp (if not NULL) points to the new
 * entry. */
unsigned char *pl_insert_str(unsigned char *pl, unsigned char *p, const char *s, size_t len, unsigned char **newp);
unsigned char *pl_insert_int(unsigned char *pl, unsigned char *p, long long v, unsigned char **newp);
unsigned char *pl_insert_double(unsigned char *pl, unsigned char *p, double d, unsigned char **newp);
/* Deletes n entries from p on (fewer if the list ends first). Returns the
 * new list; *nextp (if not NULL) points to the entry that followed the
 * deleted ones, or NULL at the end. */
unsigned char *pl_delete(unsigned char *pl, unsigned char *p, uint32_t n, unsigned char **nextp);

#endif

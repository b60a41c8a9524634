/* fieldidx.h -- secondary indexes on metadata fields for PH.SEARCH FILTER
 * (pure library: no server header).
 *
 * A collection declares fields with `FIELD <path> NUMERIC|TAG`; each is a
 * fieldidx: the path (filter syntax, see filter.h) and one of
 *
 *   NUMERIC  an order-statistics structure over (value, label) pairs: the
 *            number of entries in a value range in O(log n), and the
 *            labels of a range in order;
 *   TAG      a hash of tag -> set of labels: the labels with a given
 *            string, boolean or number in O(1) plus their count.
 *
 * A document (a jansson tree) contributes the value at the path; an array
 * contributes each of its elements (one level). NUMERIC indexes numbers;
 * TAG indexes strings, booleans and numbers (a number by its double value,
 * so 5 and 5.0 are one tag, as they are equal in the filter language).
 * Other values (null, objects, nested arrays) are not indexed. Entries are
 * sets: indexing a pair that is already there changes nothing, so adding a
 * document twice is harmless, and removing a document removes exactly what
 * its values put there. The index knows nothing of documents between calls:
 * the caller removes a document with the same tree it added (before
 * changing it).
 *
 * What the planner gets (fieldidx_count, fieldidx_foreach, fieldidx_probe)
 * is always a *superset* of the documents that satisfy a filter constraint
 * (an array ["red"] is under tag "red" although `.c == "red"` is false for
 * it; int64 values beyond 2^53 share a double), so the caller evaluates the
 * whole filter on each candidate. A constraint the index cannot answer with
 * a superset (`== null`, which missing fields satisfy; `!=`; exists(); a
 * string `in` a TAG field that holds plain strings, since `in` on a string
 * is a substring test; orderings on a TAG field; non-numbers on a NUMERIC
 * field) reports "cannot answer" and the planner uses evaluation.
 *
 * Labels are uint64 chosen by the caller, as in hnsw.h. Memory goes through
 * zmalloc (allocation failure is fatal, as everywhere in the server) and
 * returns to the empty index's size when every entry is removed.
 *
 * Threads: single writer; readers only while nobody writes. */
#ifndef PHENIX_FIELDIDX_H
#define PHENIX_FIELDIDX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "filter.h"

/* ---- a set of labels (open addressing), also used by callers ---- */

typedef struct fieldidx_labelset fieldidx_labelset;

/* A new empty set; the caller frees it with fieldidx_labelset_free. */
fieldidx_labelset *fieldidx_labelset_new(void);
void fieldidx_labelset_free(fieldidx_labelset *s);
/* 1 when label was added, 0 when it was there. Amortized O(1). */
int fieldidx_labelset_add(fieldidx_labelset *s, uint64_t label);
/* 1 when label was removed, 0 when absent. The table shrinks as it empties. */
int fieldidx_labelset_remove(fieldidx_labelset *s, uint64_t label);
/* Empties s. The table is kept (zeroed) when it has at most keep_cap
 * slots, so a scratch set reused across queries does not pay for fresh
 * pages each time; else it is freed. O(table size). */
void fieldidx_labelset_clear(fieldidx_labelset *s, size_t keep_cap);
/* 1 when label is in s (s may be NULL: 0). O(1) expected. */
int fieldidx_labelset_contains(const fieldidx_labelset *s, uint64_t label);
size_t fieldidx_labelset_size(const fieldidx_labelset *s);
size_t fieldidx_labelset_memory(const fieldidx_labelset *s);

/* Visitor for label enumerations: return 0 to go on, non-zero to stop. */
typedef int (*fieldidx_label_fn)(uint64_t label, void *ctx);

/* ---- the numeric order-statistics structure ---- */

typedef struct fieldidx_num fieldidx_num;

fieldidx_num *fieldidx_num_new(void);
void fieldidx_num_free(fieldidx_num *n);
/* Adds (value, label); value must be finite (JSON numbers are). Returns 1
 * when added, 0 when the pair was there. O(log n + B) with B <= 256. */
int fieldidx_num_add(fieldidx_num *n, double value, uint64_t label);
/* Removes (value, label); 1 when removed, 0 when absent. O(log n + B). */
int fieldidx_num_remove(fieldidx_num *n, double value, uint64_t label);
/* Entries whose value lies between lo and hi (each bound inclusive when its
 * flag is 1; -INFINITY / INFINITY for open ends). O(log n). */
size_t fieldidx_num_count(const fieldidx_num *n, double lo, int lo_incl, double hi, int hi_incl);
/* Calls fn(label, ctx) for the entries of that range in ascending value
 * order; stops early when fn returns non-zero. Returns the calls made.
 * O(log n + entries visited). */
size_t fieldidx_num_range(const fieldidx_num *n, double lo, int lo_incl, double hi, int hi_incl,
                          fieldidx_label_fn fn, void *ctx);
size_t fieldidx_num_entries(const fieldidx_num *n);
size_t fieldidx_num_memory(const fieldidx_num *n);
/* Checks the structure's invariants (sorted, unique, chunk sizes, the
 * Fenwick tree); 1 when they hold. For tests. O(n). */
int fieldidx_num_check(const fieldidx_num *n);

/* ---- the tag inverted index ---- */

typedef struct fieldidx_tag fieldidx_tag;

fieldidx_tag *fieldidx_tag_new(void);
void fieldidx_tag_free(fieldidx_tag *t);
/* Adds label under the tag key[0..len) (any bytes). 1 added, 0 present. */
int fieldidx_tag_add(fieldidx_tag *t, const void *key, size_t len, uint64_t label);
/* Removes label from key's set (a tag with no labels left is freed). */
int fieldidx_tag_remove(fieldidx_tag *t, const void *key, size_t len, uint64_t label);
/* The labels under key (borrowed until the next write), or NULL. */
const fieldidx_labelset *fieldidx_tag_get(const fieldidx_tag *t, const void *key, size_t len);
size_t fieldidx_tag_entries(const fieldidx_tag *t); /* (tag, label) pairs */
size_t fieldidx_tag_distinct(const fieldidx_tag *t); /* tags */
size_t fieldidx_tag_memory(const fieldidx_tag *t);
/* Calls fn for every label of set s; stops when fn returns non-zero.
 * Returns the calls made. */
size_t fieldidx_labelset_foreach(const fieldidx_labelset *s, fieldidx_label_fn fn, void *ctx);

/* ---- a declared field ---- */

typedef enum fieldidx_type { FIELDIDX_NUMERIC = 0, FIELDIDX_TAG = 1 } fieldidx_type;

typedef struct fieldidx fieldidx;

/* Parses path (filter syntax: `.price`, `.author.name`) and returns a new
 * empty field index the caller frees with fieldidx_free, or NULL with a
 * NUL-terminated message in err (a path syntax error). */
fieldidx *fieldidx_new(const char *path, size_t len, fieldidx_type type, char *err, size_t errlen);
void fieldidx_free(fieldidx *f);
/* Empties f (FLUSH), keeping its declaration. */
void fieldidx_clear(fieldidx *f);
/* The canonical path text (borrowed), its parsed form, and the type. */
const char *fieldidx_path_text(const fieldidx *f);
const filter_path *fieldidx_path(const fieldidx *f);
fieldidx_type fieldidx_get_type(const fieldidx *f);
const char *fieldidx_type_name(fieldidx_type t); /* "NUMERIC" / "TAG" */

/* Indexes / unindexes the values at f's path in doc (borrowed; NULL is
 * {}). Returns how many entries were added / removed. */
size_t fieldidx_add_doc(fieldidx *f, uint64_t label, const json_t *doc);
size_t fieldidx_remove_doc(fieldidx *f, uint64_t label, const json_t *doc);
size_t fieldidx_entries(const fieldidx *f);
/* A number that changes whenever f's entries may have (a document added or
 * removed, a clear) and that no other index ever had: a cache built from f
 * at version v is current while fieldidx_version(f) == v. */
uint64_t fieldidx_version(const fieldidx *f);
size_t fieldidx_memory(const fieldidx *f);

/* 1 when f can answer constraint c (c's path is f's path, and the index
 * yields a superset of the documents satisfying c), else 0. */
int fieldidx_can_answer(const fieldidx *f, const filter_constraint *c);
/* The number of index entries that may satisfy c: an upper bound on the
 * matching documents when their values are scalars. -1 when f cannot
 * answer c. O(log n) NUMERIC, O(1) per tag TAG. */
double fieldidx_count(const fieldidx *f, const filter_constraint *c);
/* Calls fn for every label that may satisfy c (a label can come more than
 * once: one per matching array element or IN value). Returns the calls
 * made, or -1 when f cannot answer c. */
long long fieldidx_foreach(const fieldidx *f, const filter_constraint *c, fieldidx_label_fn fn, void *ctx);
/* The label sets a TAG constraint reads (one per tag; IN has several), so
 * a caller probing many labels resolves them once: up to max go to out;
 * returns how many there are (a label may satisfy c only when it is in
 * one of them), or -1 when f is not a TAG index or cannot answer c. The
 * sets are borrowed until the next write to f. */
int fieldidx_probe_sets(const fieldidx *f, const filter_constraint *c, const fieldidx_labelset **out, int max);
/* O(1) membership for TAG constraints: 1 when label may satisfy c, 0 when
 * it certainly does not, -1 when f cannot tell in O(1) (NUMERIC, or c not
 * answerable). */
int fieldidx_probe(const fieldidx *f, const filter_constraint *c, uint64_t label);

#endif

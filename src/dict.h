/* dict.h -- chained hash table with incremental rehashing and a stateless
 * SCAN cursor. See dict.c for the design notes. */
#ifndef PHENIX_DICT_H
#define PHENIX_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct dict_entry {
    uintptr_t link; /* the next entry of the bucket | flags (bits 0-2), see below */
    union {
        void *val;
        int64_t s64;
    } v_;       /* read and write it with dict_entry_val() and friends */
    void *key_; /* read it with dict_entry_key(): an embedded key has no pointer */
} dict_entry;

/* In a dict made with dict_embed_keys, an entry is one block holding its
 * key (a ds): 6 bytes of link (the next entry's address: 48 bits, as every
 * x86-64 and AArch64 user address; DICT_EMBEDDED in bit 0 and the ds
 * header's size class in bits 1-2), then the value in 8 unaligned bytes,
 * then the ds (header, bytes, NUL). For a key of up to 16 bytes that is at
 * most 32 bytes, one block instead of a 32-byte entry and a key block. An
 * ordinary entry is the struct above; its link is an address, which leaves
 * bits 0-2 (blocks are 8-aligned) and bits 48-63 clear. */
#define DICT_EMBEDDED   ((uintptr_t)1)
#define DICT_LINK_FLAGS ((uintptr_t)7)
#define DICT_LINK_PTR   ((uintptr_t)0x0000FFFFFFFFFFF8ULL)
#define DICT_EMBED_VAL  6  /* offset of an embedded entry's value */
#define DICT_EMBED_KEY  14 /* offset of an embedded entry's ds header */

/* The entry after e in its bucket's chain, or NULL. */
static inline dict_entry *dict_entry_next(const dict_entry *e) {
    return (dict_entry *)(e->link & DICT_LINK_PTR);
}

static inline void *dict_entry_key(const dict_entry *e) {
    if (!(e->link & DICT_EMBEDDED)) return e->key_;
    static const unsigned char hdr[4] = {1, 3, 9, 0}; /* DS_HDR_5, _8, _32 */
    return (char *)e + DICT_EMBED_KEY + hdr[(e->link >> 1) & 3];
}

static inline void *dict_entry_val(const dict_entry *e) {
    if (!(e->link & DICT_EMBEDDED)) return e->v_.val;
    void *v;
    memcpy(&v, (const char *)e + DICT_EMBED_VAL, sizeof(v));
    return v;
}

static inline void dict_entry_set_val(dict_entry *e, void *v) {
    if (!(e->link & DICT_EMBEDDED)) e->v_.val = v;
    else memcpy((char *)e + DICT_EMBED_VAL, &v, sizeof(v));
}

static inline int64_t dict_entry_s64(const dict_entry *e) {
    if (!(e->link & DICT_EMBEDDED)) return e->v_.s64;
    int64_t v;
    memcpy(&v, (const char *)e + DICT_EMBED_VAL, sizeof(v));
    return v;
}

static inline void dict_entry_set_s64(dict_entry *e, int64_t v) {
    if (!(e->link & DICT_EMBEDDED)) e->v_.s64 = v;
    else memcpy((char *)e + DICT_EMBED_VAL, &v, sizeof(v));
}

typedef struct dict_type {
    uint64_t (*hash)(const void *key);
    int (*key_eq)(const void *a, const void *b); /* 1 when equal */
    void (*key_free)(void *key);                 /* may be NULL */
    void (*val_free)(void *val);                 /* may be NULL */
} dict_type;

typedef struct dict {
    const dict_type *type;
    dict_entry **table[2];
    size_t size[2]; /* power of two, or 0 when the table is absent */
    size_t used[2];
    long rehashidx;  /* -1 when not rehashing */
    int iterators;   /* safe iterators alive: rehash steps are paused */
    int embed_keys;  /* dict_embed_keys: entries hold copies of their (ds) keys */
} dict;

typedef struct dict_iter {
    dict *d;
    int table;
    size_t index;
    dict_entry *entry, *next;
} dict_iter;

typedef void dict_scan_fn(void *privdata, dict_entry *e);

/* Sets the process-wide hash seed (call once at start-up). */
void dict_set_seed(const uint8_t seed[16]);
/* Seeded 64-bit hash of len bytes (XXH3), and a case-insensitive variant. */
uint64_t dict_hash_bytes(const void *p, size_t len);
uint64_t dict_hash_bytes_nocase(const void *p, size_t len);

/* Returns a new empty dict; the caller frees it with dict_release(). */
dict *dict_create(const dict_type *type);
/* Makes the (empty) dict keep a copy of each key inside its entry instead
 * of a pointer: keys must be ds, the dict never takes ownership of the key
 * passed to dict_add_raw/dict_add (the caller frees it; the type's
 * key_free is not called), and a key is read with dict_entry_key() (its
 * address is stable while the entry lives, so it may be borrowed, as the
 * expires dict does). */
void dict_embed_keys(dict *d);
/* Bytes of an entry of a dict_embed_keys dict holding a key of len bytes
 * (before allocator rounding). */
size_t dict_embedded_entry_size(size_t len);
/* Frees every entry (calling the type's destructors) and the dict. */
void dict_release(dict *d);
/* Frees every entry but keeps the dict usable (empty). */
void dict_clear(dict *d);
static inline size_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }
static inline int dict_is_rehashing(const dict *d) { return d->rehashidx != -1; }
/* Returns the entry for key or NULL. O(1) average. */
dict_entry *dict_find(dict *d, const void *key);
/* Adds key if absent and returns its new entry (value unset); when key is
 * present returns NULL and stores the existing entry in *existing (if not
 * NULL). The dict takes ownership of key only when an entry is created
 * (never with dict_embed_keys: it copies the key). */
dict_entry *dict_add_raw(dict *d, void *key, dict_entry **existing);
/* Adds key -> val; returns 1, or 0 (nothing taken) when key exists. */
int dict_add(dict *d, void *key, void *val);
/* Removes key, calling the destructors. Returns 1 if it was present. */
int dict_delete(dict *d, const void *key);
/* Removes key's entry without destructors and returns it (NULL if absent);
 * the caller must pass it to dict_free_entry() later. */
dict_entry *dict_unlink(dict *d, const void *key);
void dict_free_entry(dict *d, dict_entry *e);
/* Returns a random entry (NULL when empty). Not perfectly uniform (bucket
 * then chain position) but good enough for RANDOMKEY and sampling. */
dict_entry *dict_random_entry(dict *d);
/* Up to n entries from consecutive buckets starting at a random one,
 * into out; returns how many (fewer only when the buckets visited, at most
 * 10 * n, held fewer). Cheap and biased (neighbours come together, a
 * sparse table gives fewer): for eviction sampling, not for RANDOMKEY. */
size_t dict_sample(dict *d, dict_entry **out, size_t n);
/* Does up to n bucket moves of an ongoing rehash; returns 1 if more
 * remains. */
int dict_rehash(dict *d, int n);
/* Rehashes for about ms milliseconds; returns buckets moved / 100. */
int dict_rehash_ms(dict *d, int ms);
/* Calls fn for every entry of the bucket(s) the cursor names and returns
 * the next cursor (0 when the iteration is complete). Guarantees: every
 * element present for the whole iteration is returned at least once, even
 * across resizes (reverse-binary cursor, the algorithm Redis uses). */
uint64_t dict_scan(dict *d, uint64_t cursor, dict_scan_fn *fn, void *privdata);
/* Safe iteration: the dict may not be modified except by deleting the
 * entry just returned. Pauses rehashing while alive. */
void dict_iter_init(dict_iter *it, dict *d);
dict_entry *dict_iter_next(dict_iter *it);
void dict_iter_release(dict_iter *it);
/* Bytes used by the tables and entries (not keys/values). */
size_t dict_mem_usage(const dict *d);
/* Grows the table for n entries at once (an empty dict gets it at once,
 * a filled one rehashes incrementally), so that loading n keys does not
 * rehash log(n) times. No-op while rehashing or when already that big. */
void dict_expand(dict *d, size_t n);
/* Shrinks the table when it is mostly empty (call from cron). */
void dict_maybe_shrink(dict *d);

#endif

/* fieldidx.c -- NUMERIC and TAG field indexes (see fieldidx.h).
 *
 * Label sets: open addressing with linear probing over uint64 keys, the
 * slot value 0 meaning empty (label 0 itself is kept in a flag), Knuth's
 * Algorithm R (TAOCP vol. 3, 6.4) for deletion so there are no tombstones;
 * the table doubles above 3/4 load and halves below 1/8, and an empty set
 * holds no table at all.
 *
 * NUMERIC: a two-level sorted list (the layout of Grant Jenks'
 * sortedcontainers SortedList): entries (value, label), ordered by value
 * then label and unique, live in chunks of at most NUM_CHUNK_MAX entries,
 * the chunks in order in one array. A Fenwick tree (Fenwick 1994) over the
 * chunk sizes gives the number of entries before any chunk in O(log C), so
 * the rank of a value -- and the count in a range -- is O(log n): a binary
 * search over the chunks' last entries, a Fenwick prefix sum and a binary
 * search inside one chunk. An insert into a full chunk splits it in halves;
 * a chunk that falls under a quarter merges with a neighbour when the two
 * fit in three quarters; an empty chunk is freed. Splits and merges rebuild
 * the Fenwick tree (O(C), once per ~B/4 writes at least); plain inserts and
 * removes update it in O(log C). Chunks grow by doubling up to the maximum,
 * so a small index is small. Memory: 16 bytes per entry plus slack below
 * 2x, plus 8+8 bytes per chunk.
 *
 * TAG: an open-addressing table (linear probing, Algorithm R deletion) of
 * tag records {hash, label set, key bytes}; a tag whose set empties is
 * freed. Keys are typed byte strings built here: 's' + the string's bytes,
 * 'b' + '0'/'1', 'n' + the 8 bytes of the double (-0 folded into 0).
 *
 * Invariants (fieldidx_num_check tests the NUMERIC ones): chunks are
 * non-empty and within capacity, entries strictly increasing across the
 * whole array, fen[] the Fenwick sums of the chunk sizes, total = sum of
 * sizes; every label set holds each label once, sizes match; a tag table
 * holds no empty tag.
 *
 * Versions: every index gets a new version from one counter when it is
 * created, cleared or changed by a document, so (index, version) names
 * its contents for caches built from it; the counter is not atomic (an
 * index is used by one thread at a time, like everything here).
 *
 * Naming: public fieldidx_*; static helpers are named after what they
 * touch (set_*, num_*, tag_*). */
#include "fieldidx.h"

#include <math.h>
#include <string.h>

#include "zmalloc.h"

/* ------------------------------------------------------------ label sets */

struct fieldidx_labelset {
    uint64_t *slots; /* 0 = empty */
    size_t cap;      /* power of two, or 0 */
    size_t used;     /* non-zero labels in slots */
    int has_zero;
};

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

fieldidx_labelset *fieldidx_labelset_new(void) { return zcalloc(sizeof(fieldidx_labelset)); }

void fieldidx_labelset_free(fieldidx_labelset *s) {
    if (!s) return;
    zfree(s->slots);
    zfree(s);
}

static void set_rehash(fieldidx_labelset *s, size_t cap) {
    uint64_t *old = s->slots;
    size_t ocap = s->cap;
    s->slots = cap ? zcalloc(sizeof(uint64_t) * cap) : NULL;
    s->cap = cap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i]) continue;
        size_t j = mix64(old[i]) & (cap - 1);
        while (s->slots[j]) j = (j + 1) & (cap - 1);
        s->slots[j] = old[i];
    }
    zfree(old);
}

int fieldidx_labelset_add(fieldidx_labelset *s, uint64_t label) {
    if (label == 0) {
        if (s->has_zero) return 0;
        s->has_zero = 1;
        return 1;
    }
    if ((s->used + 1) * 4 > s->cap * 3) set_rehash(s, s->cap ? s->cap * 2 : 8);
    size_t j = mix64(label) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == label) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = label;
    s->used++;
    return 1;
}

void fieldidx_labelset_clear(fieldidx_labelset *s, size_t keep_cap) {
    s->has_zero = 0;
    if (s->cap > keep_cap) {
        zfree(s->slots);
        s->slots = NULL;
        s->cap = 0;
    } else if (s->used) {
        memset(s->slots, 0, sizeof(uint64_t) * s->cap);
    }
    s->used = 0;
}

int fieldidx_labelset_contains(const fieldidx_labelset *s, uint64_t label) {
    if (!s) return 0;
    if (label == 0) return s->has_zero;
    if (!s->cap) return 0;
    size_t j = mix64(label) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == label) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

int fieldidx_labelset_remove(fieldidx_labelset *s, uint64_t label) {
    if (label == 0) {
        int had = s->has_zero;
        s->has_zero = 0;
        return had;
    }
    if (!s->cap) return 0;
    size_t mask = s->cap - 1, i = mix64(label) & mask;
    while (s->slots[i] != label) {
        if (!s->slots[i]) return 0;
        i = (i + 1) & mask;
    }
    /* Algorithm R: move later members of the cluster back into the hole
     * when their home position does not lie cyclically in (i, j]. */
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (!s->slots[j]) break;
        size_t h = mix64(s->slots[j]) & mask;
        int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays) continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i] = 0;
    s->used--;
    if (s->used == 0) set_rehash(s, 0);
    else if (s->cap > 8 && s->used * 8 < s->cap) set_rehash(s, s->cap / 2);
    return 1;
}

size_t fieldidx_labelset_size(const fieldidx_labelset *s) { return s ? s->used + (size_t)s->has_zero : 0; }

size_t fieldidx_labelset_memory(const fieldidx_labelset *s) {
    return s ? sizeof(*s) + s->cap * sizeof(uint64_t) : 0;
}

size_t fieldidx_labelset_foreach(const fieldidx_labelset *s, fieldidx_label_fn fn, void *ctx) {
    size_t calls = 0;
    if (!s) return 0;
    if (s->has_zero) {
        calls++;
        if (fn(0, ctx)) return calls;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i]) continue;
        calls++;
        if (fn(s->slots[i], ctx)) break;
    }
    return calls;
}

/* --------------------------------------------------------------- numeric */

#define NUM_CHUNK_MAX 256
#define NUM_CHUNK_MIN 8 /* first capacity of a chunk */

typedef struct num_entry {
    double v;
    uint64_t label;
} num_entry;

typedef struct num_chunk {
    uint32_t n, cap;
    num_entry e[];
} num_chunk;

struct fieldidx_num {
    num_chunk **chunks;
    size_t nchunks, cap;
    size_t *fen; /* Fenwick tree over chunk sizes, 1-based, nchunks + 1 cells */
    size_t total;
};

static inline int entry_cmp(double v, uint64_t l, const num_entry *e) {
    if (v < e->v) return -1;
    if (v > e->v) return 1;
    return l < e->label ? -1 : l > e->label ? 1 : 0;
}

fieldidx_num *fieldidx_num_new(void) { return zcalloc(sizeof(fieldidx_num)); }

void fieldidx_num_free(fieldidx_num *n) {
    if (!n) return;
    for (size_t i = 0; i < n->nchunks; i++) zfree(n->chunks[i]);
    zfree(n->chunks);
    zfree(n->fen);
    zfree(n);
}

static void fen_rebuild(fieldidx_num *n) {
    zfree(n->fen);
    n->fen = NULL;
    if (!n->nchunks) return;
    n->fen = zcalloc(sizeof(size_t) * (n->nchunks + 1));
    for (size_t i = 1; i <= n->nchunks; i++) {
        n->fen[i] += n->chunks[i - 1]->n;
        size_t p = i + (i & -i);
        if (p <= n->nchunks) n->fen[p] += n->fen[i];
    }
}

static void fen_add(fieldidx_num *n, size_t chunk, long delta) {
    for (size_t i = chunk + 1; i <= n->nchunks; i += i & -i) n->fen[i] = (size_t)((long)n->fen[i] + delta);
}

/* Entries in chunks [0, chunk). */
static size_t fen_prefix(const fieldidx_num *n, size_t chunk) {
    size_t s = 0;
    for (size_t i = chunk; i > 0; i -= i & -i) s += n->fen[i];
    return s;
}

/* First chunk whose last entry is >= (v, l), or nchunks when none. */
static size_t num_find_chunk(const fieldidx_num *n, double v, uint64_t l) {
    size_t lo = 0, hi = n->nchunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const num_chunk *c = n->chunks[mid];
        if (entry_cmp(v, l, &c->e[c->n - 1]) > 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* First position in c whose entry is >= (v, l). */
static uint32_t chunk_lower(const num_chunk *c, double v, uint64_t l) {
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (entry_cmp(v, l, &c->e[mid]) > 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void chunks_insert_at(fieldidx_num *n, size_t at, num_chunk *c) {
    if (n->nchunks == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 4;
        n->chunks = zrealloc(n->chunks, sizeof(num_chunk *) * n->cap);
    }
    memmove(n->chunks + at + 1, n->chunks + at, sizeof(num_chunk *) * (n->nchunks - at));
    n->chunks[at] = c;
    n->nchunks++;
}

static void chunks_remove_at(fieldidx_num *n, size_t at) {
    zfree(n->chunks[at]);
    memmove(n->chunks + at, n->chunks + at + 1, sizeof(num_chunk *) * (n->nchunks - at - 1));
    n->nchunks--;
    if (n->nchunks == 0) {
        zfree(n->chunks);
        n->chunks = NULL;
        n->cap = 0;
    } else if (n->cap > 4 && n->nchunks * 4 < n->cap) {
        n->cap /= 2;
        n->chunks = zrealloc(n->chunks, sizeof(num_chunk *) * n->cap);
    }
}

static num_chunk *chunk_new(uint32_t cap) {
    num_chunk *c = zmalloc(sizeof(num_chunk) + sizeof(num_entry) * cap);
    c->n = 0;
    c->cap = cap;
    return c;
}

int fieldidx_num_add(fieldidx_num *n, double value, uint64_t label) {
    if (value == 0) value = 0; /* -0 and 0 are one value */
    if (!n->nchunks) {
        num_chunk *c = chunk_new(NUM_CHUNK_MIN);
        c->e[0] = (num_entry){value, label};
        c->n = 1;
        chunks_insert_at(n, 0, c);
        n->total = 1;
        fen_rebuild(n);
        return 1;
    }
    size_t ci = num_find_chunk(n, value, label);
    if (ci == n->nchunks) ci--; /* past the last entry: append to the last chunk */
    num_chunk *c = n->chunks[ci];
    uint32_t pos = chunk_lower(c, value, label);
    if (pos < c->n && entry_cmp(value, label, &c->e[pos]) == 0) return 0;
    int rebuild = 0;
    if (c->n == NUM_CHUNK_MAX) {
        /* split in halves, then insert into the half that covers pos */
        num_chunk *r = chunk_new(NUM_CHUNK_MAX);
        uint32_t half = c->n / 2;
        r->n = c->n - half;
        memcpy(r->e, c->e + half, sizeof(num_entry) * r->n);
        c->n = half;
        chunks_insert_at(n, ci + 1, r);
        rebuild = 1;
        if (pos > half) {
            pos -= half;
            c = r;
            ci++;
        }
    } else if (c->n == c->cap) {
        c->cap *= 2;
        c = zrealloc(c, sizeof(num_chunk) + sizeof(num_entry) * c->cap);
        n->chunks[ci] = c;
    }
    memmove(c->e + pos + 1, c->e + pos, sizeof(num_entry) * (c->n - pos));
    c->e[pos] = (num_entry){value, label};
    c->n++;
    n->total++;
    if (rebuild) fen_rebuild(n);
    else fen_add(n, ci, 1);
    return 1;
}

/* Merges chunk ci into its right neighbour or its left one when it is
 * small and they fit in three quarters of a chunk. Returns 1 if merged. */
static int num_maybe_merge(fieldidx_num *n, size_t ci) {
    num_chunk *c = n->chunks[ci];
    if (c->n >= NUM_CHUNK_MAX / 4 || n->nchunks < 2) return 0;
    size_t li = ci + 1 < n->nchunks ? ci : ci - 1; /* merge chunks li and li+1 */
    num_chunk *a = n->chunks[li], *b = n->chunks[li + 1];
    if (a->n + b->n > NUM_CHUNK_MAX * 3 / 4) return 0;
    if (a->cap < a->n + b->n) {
        a->cap = NUM_CHUNK_MAX;
        a = zrealloc(a, sizeof(num_chunk) + sizeof(num_entry) * a->cap);
        n->chunks[li] = a;
    }
    memcpy(a->e + a->n, b->e, sizeof(num_entry) * b->n);
    a->n += b->n;
    chunks_remove_at(n, li + 1);
    return 1;
}

int fieldidx_num_remove(fieldidx_num *n, double value, uint64_t label) {
    if (value == 0) value = 0;
    size_t ci = num_find_chunk(n, value, label);
    if (ci == n->nchunks) return 0;
    num_chunk *c = n->chunks[ci];
    uint32_t pos = chunk_lower(c, value, label);
    if (pos >= c->n || entry_cmp(value, label, &c->e[pos]) != 0) return 0;
    memmove(c->e + pos, c->e + pos + 1, sizeof(num_entry) * (c->n - pos - 1));
    c->n--;
    n->total--;
    if (c->n == 0) {
        chunks_remove_at(n, ci);
        fen_rebuild(n);
    } else if (num_maybe_merge(n, ci)) {
        fen_rebuild(n);
    } else {
        if (c->cap > NUM_CHUNK_MIN && c->n * 4 <= c->cap) {
            c->cap /= 2;
            n->chunks[ci] = zrealloc(c, sizeof(num_chunk) + sizeof(num_entry) * c->cap);
        }
        fen_add(n, ci, -1);
    }
    return 1;
}

/* Number of entries with value < v (strict) or <= v (incl). O(log n). */
static size_t num_rank(const fieldidx_num *n, double v, int incl, size_t *chunk, uint32_t *pos) {
    /* (v, 0) is the first possible entry of value v, (v, UINT64_MAX) the last */
    uint64_t l = incl ? UINT64_MAX : 0;
    size_t ci = num_find_chunk(n, v, l);
    uint32_t p = 0;
    if (ci < n->nchunks) {
        p = chunk_lower(n->chunks[ci], v, l);
        /* (v, UINT64_MAX) itself counts as <= v */
        if (incl && p < n->chunks[ci]->n && entry_cmp(v, l, &n->chunks[ci]->e[p]) == 0) p++;
    }
    if (chunk) *chunk = ci;
    if (pos) *pos = p;
    return (ci < n->nchunks ? fen_prefix(n, ci) : n->total) + p;
}

size_t fieldidx_num_count(const fieldidx_num *n, double lo, int lo_incl, double hi, int hi_incl) {
    if (!n->total || isnan(lo) || isnan(hi)) return 0;
    size_t a = num_rank(n, lo, !lo_incl, NULL, NULL), b = num_rank(n, hi, hi_incl, NULL, NULL);
    return b > a ? b - a : 0;
}

size_t fieldidx_num_range(const fieldidx_num *n, double lo, int lo_incl, double hi, int hi_incl,
                          fieldidx_label_fn fn, void *ctx) {
    if (!n->total || isnan(lo) || isnan(hi)) return 0;
    size_t ci, calls = 0;
    uint32_t p;
    num_rank(n, lo, !lo_incl, &ci, &p);
    if (ci < n->nchunks && p == n->chunks[ci]->n) {
        ci++;
        p = 0;
    }
    for (; ci < n->nchunks; ci++, p = 0) {
        const num_chunk *c = n->chunks[ci];
        for (; p < c->n; p++) {
            double v = c->e[p].v;
            if (hi_incl ? v > hi : v >= hi) return calls;
            calls++;
            if (fn(c->e[p].label, ctx)) return calls;
        }
    }
    return calls;
}

size_t fieldidx_num_entries(const fieldidx_num *n) { return n->total; }

size_t fieldidx_num_memory(const fieldidx_num *n) {
    size_t m = sizeof(*n) + n->cap * sizeof(num_chunk *) + (n->fen ? (n->nchunks + 1) * sizeof(size_t) : 0);
    for (size_t i = 0; i < n->nchunks; i++) m += sizeof(num_chunk) + n->chunks[i]->cap * sizeof(num_entry);
    return m;
}

int fieldidx_num_check(const fieldidx_num *n) {
    size_t total = 0;
    const num_entry *prev = NULL;
    for (size_t i = 0; i < n->nchunks; i++) {
        const num_chunk *c = n->chunks[i];
        if (c->n == 0 || c->n > c->cap || c->cap > NUM_CHUNK_MAX) return 0;
        for (uint32_t j = 0; j < c->n; j++) {
            if (prev && entry_cmp(c->e[j].v, c->e[j].label, prev) <= 0) return 0;
            prev = &c->e[j];
        }
        if (fen_prefix(n, i) != total) return 0;
        total += c->n;
    }
    return total == n->total && (n->nchunks == 0) == (n->chunks == NULL);
}

/* ------------------------------------------------------------------- tags */

typedef struct tag_rec {
    uint64_t hash;
    fieldidx_labelset set; /* embedded: one allocation per tag */
    size_t len;
    char key[];
} tag_rec;

struct fieldidx_tag {
    tag_rec **slots;
    size_t cap, used;
    size_t entries;
};

static uint64_t bytes_hash(const void *p, size_t len) {
    /* FNV-1a, then a 64-bit finalizer to spread the low bits */
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return mix64(h);
}

fieldidx_tag *fieldidx_tag_new(void) { return zcalloc(sizeof(fieldidx_tag)); }

void fieldidx_tag_free(fieldidx_tag *t) {
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i]) continue;
        zfree(t->slots[i]->set.slots);
        zfree(t->slots[i]);
    }
    zfree(t->slots);
    zfree(t);
}

static void tag_rehash(fieldidx_tag *t, size_t cap) {
    tag_rec **old = t->slots;
    size_t ocap = t->cap;
    t->slots = cap ? zcalloc(sizeof(tag_rec *) * cap) : NULL;
    t->cap = cap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i]) continue;
        size_t j = old[i]->hash & (cap - 1);
        while (t->slots[j]) j = (j + 1) & (cap - 1);
        t->slots[j] = old[i];
    }
    zfree(old);
}

/* Slot of key, or the empty slot where it would go (cap > 0). */
static size_t tag_slot(const fieldidx_tag *t, const void *key, size_t len, uint64_t h) {
    size_t j = h & (t->cap - 1);
    for (tag_rec *r; (r = t->slots[j]); j = (j + 1) & (t->cap - 1))
        if (r->hash == h && r->len == len && memcmp(r->key, key, len) == 0) break;
    return j;
}

int fieldidx_tag_add(fieldidx_tag *t, const void *key, size_t len, uint64_t label) {
    if ((t->used + 1) * 4 > t->cap * 3) tag_rehash(t, t->cap ? t->cap * 2 : 8);
    uint64_t h = bytes_hash(key, len);
    size_t j = tag_slot(t, key, len, h);
    tag_rec *r = t->slots[j];
    if (!r) {
        r = zcalloc(sizeof(tag_rec) + len);
        r->hash = h;
        r->len = len;
        memcpy(r->key, key, len);
        t->slots[j] = r;
        t->used++;
    }
    int added = fieldidx_labelset_add(&r->set, label);
    t->entries += (size_t)added;
    return added;
}

static void tag_delete_slot(fieldidx_tag *t, size_t i) {
    size_t mask = t->cap - 1;
    zfree(t->slots[i]);
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (!t->slots[j]) break;
        size_t h = t->slots[j]->hash & mask;
        int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays) continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i] = NULL;
    t->used--;
    if (t->used == 0) tag_rehash(t, 0);
    else if (t->cap > 8 && t->used * 8 < t->cap) tag_rehash(t, t->cap / 2);
}

int fieldidx_tag_remove(fieldidx_tag *t, const void *key, size_t len, uint64_t label) {
    if (!t->cap) return 0;
    size_t j = tag_slot(t, key, len, bytes_hash(key, len));
    tag_rec *r = t->slots[j];
    if (!r || !fieldidx_labelset_remove(&r->set, label)) return 0;
    t->entries--;
    if (fieldidx_labelset_size(&r->set) == 0) tag_delete_slot(t, j);
    return 1;
}

const fieldidx_labelset *fieldidx_tag_get(const fieldidx_tag *t, const void *key, size_t len) {
    if (!t->cap) return NULL;
    tag_rec *r = t->slots[tag_slot(t, key, len, bytes_hash(key, len))];
    return r ? &r->set : NULL;
}

size_t fieldidx_tag_entries(const fieldidx_tag *t) { return t->entries; }
size_t fieldidx_tag_distinct(const fieldidx_tag *t) { return t->used; }

size_t fieldidx_tag_memory(const fieldidx_tag *t) {
    size_t m = sizeof(*t) + t->cap * sizeof(tag_rec *);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) m += sizeof(tag_rec) + t->slots[i]->len + t->slots[i]->set.cap * sizeof(uint64_t);
    return m;
}

/* ------------------------------------------------------------ the fields */

struct fieldidx {
    filter_path *path;
    fieldidx_type type;
    fieldidx_num *num;
    fieldidx_tag *tag;
    size_t plain_strings; /* TAG: documents whose value is a string, not an array */
    uint64_t version;     /* see "Versions" above */
};

static uint64_t fieldidx_clock; /* the last version given */

#define TAG_KEY_MAX 4096 /* longer strings are keyed by their first bytes: a superset */

/* Builds the typed key of a scalar into buf; returns its length, or 0 when
 * the value is not a tag (null, object, array). */
static size_t tag_key_json(const json_t *v, char *buf) {
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        if (len > TAG_KEY_MAX - 1) len = TAG_KEY_MAX - 1;
        buf[0] = 's';
        memcpy(buf + 1, json_string_value(v), len);
        return len + 1;
    }
    if (json_is_boolean(v)) {
        buf[0] = 'b';
        buf[1] = json_is_true(v) ? '1' : '0';
        return 2;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d == 0) d = 0;
        buf[0] = 'n';
        memcpy(buf + 1, &d, sizeof(d));
        return 1 + sizeof(d);
    }
    return 0;
}

/* The same for a filter constant. */
static size_t tag_key_value(const filter_value *v, char *buf) {
    double d;
    switch (v->type) {
    case FILTER_STRING: {
        size_t len = v->str.len > TAG_KEY_MAX - 1 ? TAG_KEY_MAX - 1 : v->str.len;
        buf[0] = 's';
        memcpy(buf + 1, v->str.ptr, len);
        return len + 1;
    }
    case FILTER_BOOL:
        buf[0] = 'b';
        buf[1] = v->b ? '1' : '0';
        return 2;
    case FILTER_INT: d = (double)v->i; break;
    case FILTER_DOUBLE: d = v->d; break;
    default: return 0;
    }
    if (d == 0) d = 0;
    buf[0] = 'n';
    memcpy(buf + 1, &d, sizeof(d));
    return 1 + sizeof(d);
}

fieldidx *fieldidx_new(const char *path, size_t len, fieldidx_type type, char *err, size_t errlen) {
    filter_path *p = filter_path_parse(path, len, err, errlen, NULL);
    if (!p) return NULL;
    fieldidx *f = zcalloc(sizeof(*f));
    f->path = p;
    f->type = type;
    f->version = ++fieldidx_clock;
    if (type == FIELDIDX_NUMERIC) f->num = fieldidx_num_new();
    else f->tag = fieldidx_tag_new();
    return f;
}

void fieldidx_free(fieldidx *f) {
    if (!f) return;
    filter_path_free(f->path);
    fieldidx_num_free(f->num);
    fieldidx_tag_free(f->tag);
    zfree(f);
}

void fieldidx_clear(fieldidx *f) {
    if (f->num) {
        fieldidx_num_free(f->num);
        f->num = fieldidx_num_new();
    } else {
        fieldidx_tag_free(f->tag);
        f->tag = fieldidx_tag_new();
    }
    f->plain_strings = 0;
    f->version = ++fieldidx_clock;
}

const char *fieldidx_path_text(const fieldidx *f) { return f->path->text; }
const filter_path *fieldidx_path(const fieldidx *f) { return f->path; }
fieldidx_type fieldidx_get_type(const fieldidx *f) { return f->type; }
const char *fieldidx_type_name(fieldidx_type t) { return t == FIELDIDX_NUMERIC ? "NUMERIC" : "TAG"; }

/* Adds (add = 1) or removes one scalar; returns the entries changed. */
static size_t index_scalar(fieldidx *f, uint64_t label, const json_t *v, int add) {
    if (f->num) {
        if (!json_is_number(v)) return 0;
        double d = json_number_value(v);
        return (size_t)(add ? fieldidx_num_add(f->num, d, label) : fieldidx_num_remove(f->num, d, label));
    }
    char buf[TAG_KEY_MAX];
    size_t len = tag_key_json(v, buf);
    if (!len) return 0;
    return (size_t)(add ? fieldidx_tag_add(f->tag, buf, len, label) : fieldidx_tag_remove(f->tag, buf, len, label));
}

static size_t index_doc(fieldidx *f, uint64_t label, const json_t *doc, int add) {
    const json_t *v = filter_path_get(f->path, doc);
    if (!v) return 0;
    if (!json_is_array(v)) {
        size_t changed = index_scalar(f, label, v, add);
        if (f->tag && changed && json_is_string(v)) f->plain_strings += add ? 1 : (size_t)-1;
        return changed;
    }
    size_t n = 0, i;
    const json_t *el;
    json_array_foreach(v, i, el) n += index_scalar(f, label, el, add);
    return n;
}

size_t fieldidx_add_doc(fieldidx *f, uint64_t label, const json_t *doc) {
    size_t n = index_doc(f, label, doc, 1);
    if (n) f->version = ++fieldidx_clock;
    return n;
}

size_t fieldidx_remove_doc(fieldidx *f, uint64_t label, const json_t *doc) {
    size_t n = index_doc(f, label, doc, 0);
    if (n) f->version = ++fieldidx_clock;
    return n;
}

uint64_t fieldidx_version(const fieldidx *f) { return f->version; }

size_t fieldidx_entries(const fieldidx *f) {
    return f->num ? fieldidx_num_entries(f->num) : fieldidx_tag_entries(f->tag);
}

size_t fieldidx_memory(const fieldidx *f) {
    return sizeof(*f) + (f->num ? fieldidx_num_memory(f->num) : fieldidx_tag_memory(f->tag));
}

static int is_number(const filter_value *v) { return v->type == FILTER_INT || v->type == FILTER_DOUBLE; }

/* A constant as a double bound. Integers beyond 2^53 lose precision in the
 * index (both sides round), so a strict bound is widened to an inclusive
 * one there: the range stays a superset. */
static double bound_of(const filter_value *v, int *strict_ok) {
    double d = v->type == FILTER_INT ? (double)v->i : v->d;
    *strict_ok = fabs(d) < 9007199254740992.0;
    return d;
}

/* The value range of a NUMERIC constraint; 0 when not a range. */
static int num_range_of(const filter_constraint *c, double *lo, int *lo_incl, double *hi, int *hi_incl) {
    if (!is_number(&c->value)) return 0;
    int strict_ok;
    double d = bound_of(&c->value, &strict_ok);
    *lo = -INFINITY;
    *hi = INFINITY;
    *lo_incl = *hi_incl = 1;
    switch (c->op) {
    case FILTER_OP_EQ:
    case FILTER_OP_CONTAINS: *lo = *hi = d; break;
    case FILTER_OP_LT: *hi = d; *hi_incl = !strict_ok; break;
    case FILTER_OP_LE: *hi = d; break;
    case FILTER_OP_GT: *lo = d; *lo_incl = !strict_ok; break;
    case FILTER_OP_GE: *lo = d; break;
    default: return 0;
    }
    return 1;
}

int fieldidx_can_answer(const fieldidx *f, const filter_constraint *c) {
    if (strcmp(c->path->text, f->path->text) != 0) return 0;
    switch (c->op) {
    case FILTER_OP_EQ:
    case FILTER_OP_CONTAINS:
        if (f->num) return is_number(&c->value);
        if (c->op == FILTER_OP_CONTAINS && c->value.type == FILTER_STRING && f->plain_strings) return 0;
        return c->value.type != FILTER_NULL && c->value.type != FILTER_ARRAY;
    case FILTER_OP_LT:
    case FILTER_OP_LE:
    case FILTER_OP_GT:
    case FILTER_OP_GE: return f->num && is_number(&c->value);
    case FILTER_OP_IN:
        if (c->value.type != FILTER_ARRAY) return 0;
        for (size_t i = 0; i < c->value.arr.len; i++) {
            const filter_value *e = &c->value.arr.items[i];
            if (f->num ? !is_number(e) : e->type == FILTER_NULL) return 0;
        }
        return 1;
    default: return 0;
    }
}

/* Forwards to the caller's visitor and remembers whether it stopped. */
typedef struct stop_watch {
    fieldidx_label_fn fn;
    void *ctx;
    int stopped;
} stop_watch;

static int watch_fn(uint64_t label, void *p) {
    stop_watch *w = p;
    w->stopped = w->fn(label, w->ctx) != 0;
    return w->stopped;
}

/* Calls fn (or just counts when fn is NULL) for the labels under one
 * scalar constant; adds to *count and *calls. Returns non-zero when fn
 * stopped. */
static int visit_value(const fieldidx *f, const filter_constraint *c, const filter_value *v, fieldidx_label_fn fn,
                       void *ctx, double *count, long long *calls) {
    stop_watch w = {fn, ctx, 0};
    if (f->num) {
        double lo, hi;
        int lo_incl, hi_incl;
        filter_constraint eq = {c->path, FILTER_OP_EQ, *v};
        if (!num_range_of(c->op == FILTER_OP_IN ? &eq : c, &lo, &lo_incl, &hi, &hi_incl)) return 0;
        if (!fn) *count += (double)fieldidx_num_count(f->num, lo, lo_incl, hi, hi_incl);
        else *calls += (long long)fieldidx_num_range(f->num, lo, lo_incl, hi, hi_incl, watch_fn, &w);
        return w.stopped;
    }
    char buf[TAG_KEY_MAX];
    size_t len = tag_key_value(v, buf);
    const fieldidx_labelset *s = len ? fieldidx_tag_get(f->tag, buf, len) : NULL;
    if (!fn) *count += (double)fieldidx_labelset_size(s);
    else *calls += (long long)fieldidx_labelset_foreach(s, watch_fn, &w);
    return w.stopped;
}

static long long visit(const fieldidx *f, const filter_constraint *c, fieldidx_label_fn fn, void *ctx, double *count) {
    if (!fieldidx_can_answer(f, c)) return -1;
    long long calls = 0;
    if (c->op == FILTER_OP_IN) {
        for (size_t i = 0; i < c->value.arr.len; i++)
            if (visit_value(f, c, &c->value.arr.items[i], fn, ctx, count, &calls)) break;
    } else {
        visit_value(f, c, &c->value, fn, ctx, count, &calls);
    }
    return calls;
}

double fieldidx_count(const fieldidx *f, const filter_constraint *c) {
    double count = 0;
    return visit(f, c, NULL, NULL, &count) < 0 ? -1 : count;
}

long long fieldidx_foreach(const fieldidx *f, const filter_constraint *c, fieldidx_label_fn fn, void *ctx) {
    double count = 0;
    return visit(f, c, fn, ctx, &count);
}

int fieldidx_probe(const fieldidx *f, const filter_constraint *c, uint64_t label) {
    if (!f->tag || !fieldidx_can_answer(f, c)) return -1;
    char buf[TAG_KEY_MAX];
    if (c->op != FILTER_OP_IN) {
        size_t len = tag_key_value(&c->value, buf);
        return fieldidx_labelset_contains(fieldidx_tag_get(f->tag, buf, len), label);
    }
    for (size_t i = 0; i < c->value.arr.len; i++) {
        size_t len = tag_key_value(&c->value.arr.items[i], buf);
        if (fieldidx_labelset_contains(fieldidx_tag_get(f->tag, buf, len), label)) return 1;
    }
    return 0;
}

int fieldidx_probe_sets(const fieldidx *f, const filter_constraint *c, const fieldidx_labelset **out, int max) {
    if (!f->tag || !fieldidx_can_answer(f, c)) return -1;
    char buf[TAG_KEY_MAX];
    size_t nv = c->op == FILTER_OP_IN ? c->value.arr.len : 1;
    int n = 0;
    for (size_t i = 0; i < nv; i++) {
        const filter_value *v = c->op == FILTER_OP_IN ? &c->value.arr.items[i] : &c->value;
        const fieldidx_labelset *set = fieldidx_tag_get(f->tag, buf, tag_key_value(v, buf));
        if (!set) continue;
        if (n < max) out[n] = set;
        n++;
    }
    return n;
}

/* dict.c -- chained hash table with incremental rehashing.
 *
 * Two tables: table[0] is live; while growing or shrinking, table[1] is the
 * new one and entries move bucket by bucket (rehashidx is the next bucket
 * of table[0] to move). Every find/add/delete moves one bucket, and the
 * server cron moves more with dict_rehash_ms(), so a resize never stalls
 * the event loop (the incremental-rehash idea of Redis's dict.c).
 *
 * Invariants: sizes are powers of two; when not rehashing table[1] is
 * absent; used[i] counts table[i]'s entries; lookups during a rehash probe
 * table[0] then table[1]; new entries go to table[1] while rehashing.
 *
 * Growth at load factor 1 (forced at 5 while safe iterators pause the
 * rehash), shrink when below 1/8 (from dict_maybe_shrink). O(1) average
 * per operation.
 *
 * SCAN uses the reverse-binary cursor (described by Pieter Noordhuis for
 * Redis): incrementing the cursor's bit-reversed value visits the buckets
 * so that a bucket's children in a bigger table, or its parent in a
 * smaller one, are visited consistently, which gives the "every element
 * present for the whole scan is returned" guarantee across resizes.
 *
 * Embedded keys (dict_embed_keys, the keyspace): an entry is one block,
 * a 48-bit next pointer, the value, then the key's ds, with bit 0 of the
 * link saying so (layout in dict.h). A short key costs no
 * allocation of its own (the idea of Redis 7.2's embedded keys and
 * Valkey 8's key-in-object, no code taken).
 *
 * Hashing is XXH3 from Debian's libxxhash with a random 64-bit seed per
 * process, so clients cannot pre-compute colliding keys.
 *
 * Naming: dict_* public, file-local helpers are static without prefix. */
#include "dict.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "buf.h"
#include "util.h"
#include "zmalloc.h"

#define next_of dict_entry_next
static inline void set_next(dict_entry *e, dict_entry *n) { e->link = (uintptr_t)n | (e->link & ~DICT_LINK_PTR); }

static uint64_t hash_seed = 0x9e3779b97f4a7c15ULL;

void dict_set_seed(const uint8_t seed[16]) {
    uint64_t s;
    memcpy(&s, seed, sizeof(s));
    hash_seed = s;
}

uint64_t dict_hash_bytes(const void *p, size_t len) {
    return XXH3_64bits_withSeed(p, len, hash_seed);
}

uint64_t dict_hash_bytes_nocase(const void *p, size_t len) {
    unsigned char buf[128];
    const unsigned char *s = p;
    XXH3_state_t st;
    XXH3_64bits_reset_withSeed(&st, hash_seed);
    while (len) {
        size_t n = len < sizeof(buf) ? len : sizeof(buf);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)tolower(s[i]);
        XXH3_64bits_update(&st, buf, n);
        s += n;
        len -= n;
    }
    return XXH3_64bits_digest(&st);
}

static void reset_table(dict *d, int t) {
    d->table[t] = NULL;
    d->size[t] = 0;
    d->used[t] = 0;
}

dict *dict_create(const dict_type *type) {
    dict *d = zmalloc(sizeof(*d));
    d->type = type;
    reset_table(d, 0);
    reset_table(d, 1);
    d->rehashidx = -1;
    d->iterators = 0;
    d->embed_keys = 0;
    return d;
}

void dict_embed_keys(dict *d) {
    if (dict_size(d) == 0) d->embed_keys = 1;
}

/* An embedded entry: link and value in 14 bytes, then the ds (header,
 * bytes, NUL); see dict.h. */
size_t dict_embedded_entry_size(size_t len) { return DICT_EMBED_KEY + ds_embedded_size(len); }

static void free_entry_parts(dict *d, dict_entry *e) {
    if (d->type->key_free && !(e->link & DICT_EMBEDDED)) d->type->key_free(e->key_);
    if (d->type->val_free) d->type->val_free(dict_entry_val(e));
}

void dict_clear(dict *d) {
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < d->size[t] && d->used[t]; i++) {
            dict_entry *e = d->table[t][i];
            while (e) {
                dict_entry *next = next_of(e);
                free_entry_parts(d, e);
                zfree(e);
                d->used[t]--;
                e = next;
            }
        }
        zfree(d->table[t]);
        reset_table(d, t);
    }
    d->rehashidx = -1;
}

void dict_release(dict *d) {
    if (!d) return;
    dict_clear(d);
    zfree(d);
}

static void start_resize(dict *d, size_t want) {
    size_t size = 4;
    while (size < want && size < ((size_t)1 << 62)) size <<= 1;
    if (size == d->size[0]) return;
    d->table[1] = zcalloc(size * sizeof(dict_entry *));
    d->size[1] = size;
    d->used[1] = 0;
    d->rehashidx = 0;
    if (d->size[0] == 0) { /* first allocation: nothing to move */
        d->table[0] = d->table[1];
        d->size[0] = size;
        reset_table(d, 1);
        d->rehashidx = -1;
    }
}

int dict_rehash(dict *d, int n) {
    if (!dict_is_rehashing(d)) return 0;
    int empty_visits = n * 10;
    while (n-- && d->used[0]) {
        while (d->table[0][d->rehashidx] == NULL) {
            d->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        dict_entry *e = d->table[0][d->rehashidx];
        while (e) {
            dict_entry *next = next_of(e);
            size_t h = d->type->hash(dict_entry_key(e)) & (d->size[1] - 1);
            set_next(e, d->table[1][h]);
            d->table[1][h] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->table[0][d->rehashidx] = NULL;
        d->rehashidx++;
    }
    if (d->used[0] == 0) {
        zfree(d->table[0]);
        d->table[0] = d->table[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        reset_table(d, 1);
        d->rehashidx = -1;
        return 0;
    }
    return 1;
}

int dict_rehash_ms(dict *d, int ms) {
    if (d->iterators) return 0;
    int64_t start = util_monotonic_us();
    int rounds = 0;
    while (dict_rehash(d, 100)) {
        rounds++;
        if (util_monotonic_us() - start > (int64_t)ms * 1000) break;
    }
    return rounds;
}

static void rehash_step(dict *d) {
    if (d->iterators == 0) dict_rehash(d, 1);
}

static void maybe_expand(dict *d) {
    if (dict_is_rehashing(d)) return;
    if (d->size[0] == 0) {
        start_resize(d, 4);
        return;
    }
    size_t used = d->used[0];
    if (used >= d->size[0] && (d->iterators == 0 || used / d->size[0] >= 5))
        start_resize(d, used + 1);
}

void dict_expand(dict *d, size_t n) {
    if (dict_is_rehashing(d) || n <= d->size[0]) return;
    start_resize(d, n);
}

void dict_maybe_shrink(dict *d) {
    if (dict_is_rehashing(d) || d->iterators || d->size[0] <= 4) return;
    if (d->used[0] * 8 < d->size[0]) start_resize(d, d->used[0] ? d->used[0] : 4);
}

dict_entry *dict_find(dict *d, const void *key) {
    if (dict_size(d) == 0) return NULL;
    if (dict_is_rehashing(d)) rehash_step(d);
    uint64_t h = d->type->hash(key);
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0) continue;
        for (dict_entry *e = d->table[t][h & (d->size[t] - 1)]; e; e = next_of(e)) {
            void *k = dict_entry_key(e);
            if (k == key || d->type->key_eq(k, key)) return e;
        }
        if (!dict_is_rehashing(d)) break;
    }
    return NULL;
}

dict_entry *dict_add_raw(dict *d, void *key, dict_entry **existing) {
    if (dict_is_rehashing(d)) rehash_step(d);
    maybe_expand(d);
    dict_entry *found = dict_find(d, key);
    if (found) {
        if (existing) *existing = found;
        return NULL;
    }
    int t = dict_is_rehashing(d) ? 1 : 0;
    size_t h = d->type->hash(key) & (d->size[t] - 1);
    dict_entry *e;
    if (d->embed_keys) {
        size_t len = ds_len(key), ds_size = ds_embedded_size(len);
        e = zmalloc(dict_embedded_entry_size(len));
        size_t hdr = ds_size - len - 1;
        e->link = DICT_EMBEDDED | (uintptr_t)(hdr == DS_HDR_5 ? 0 : hdr == DS_HDR_8 ? 2 : 4);
        ds_init_in((char *)e + DICT_EMBED_KEY, key, len);
    } else {
        e = zmalloc(sizeof(*e));
        e->key_ = key;
        e->link = 0;
    }
    /* a link holds 48 bits of an 8-aligned address (dict.h): anything
     * else would corrupt the chain, so stop here rather than later */
    if (((uintptr_t)e & ~DICT_LINK_PTR) != 0) abort();
    dict_entry_set_val(e, NULL);
    set_next(e, d->table[t][h]);
    d->table[t][h] = e;
    d->used[t]++;
    return e;
}

int dict_add(dict *d, void *key, void *val) {
    dict_entry *e = dict_add_raw(d, key, NULL);
    if (!e) return 0;
    dict_entry_set_val(e, val);
    return 1;
}

dict_entry *dict_unlink(dict *d, const void *key) {
    if (dict_size(d) == 0) return NULL;
    if (dict_is_rehashing(d)) rehash_step(d);
    uint64_t h = d->type->hash(key);
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0) continue;
        dict_entry **bucket = &d->table[t][h & (d->size[t] - 1)], *prev = NULL;
        for (dict_entry *e = *bucket; e; prev = e, e = next_of(e)) {
            void *k = dict_entry_key(e);
            if (k == key || d->type->key_eq(k, key)) {
                if (prev) set_next(prev, next_of(e));
                else *bucket = next_of(e);
                d->used[t]--;
                set_next(e, NULL);
                return e;
            }
        }
        if (!dict_is_rehashing(d)) break;
    }
    return NULL;
}

void dict_free_entry(dict *d, dict_entry *e) {
    if (!e) return;
    free_entry_parts(d, e);
    zfree(e);
}

int dict_delete(dict *d, const void *key) {
    dict_entry *e = dict_unlink(d, key);
    if (!e) return 0;
    dict_free_entry(d, e);
    return 1;
}

/* xorshift64* (Vigna), seeded once from the system's random source:
 * sampling must not cost a system call per draw. */
static uint64_t fast_random(void) {
    static uint64_t st;
    if (!st) {
        util_random_bytes(&st, sizeof(st));
        st |= 1;
    }
    st ^= st >> 12;
    st ^= st << 25;
    st ^= st >> 27;
    return (st * 2685821657736338717ULL) >> 11; /* the high bits are the good ones */
}

#define RANDOM_CHAIN_BOUND 8

/* Uniform over entries by rejection: pick a bucket slot and a position in
 * [0, RANDOM_CHAIN_BOUND); retry when the slot is empty or the chain is
 * shorter. Every entry then has the same probability, unlike "bucket, then
 * a position in its chain" (which favours entries in short chains). Chains
 * longer than the bound are vanishingly rare at load factor <= 1; an entry
 * beyond the bound is reached by the fallback after many misses. */
dict_entry *dict_random_entry(dict *d) {
    if (dict_size(d) == 0) return NULL;
    if (dict_is_rehashing(d)) rehash_step(d);
    for (int tries = 0;; tries++) {
        uint64_t r = fast_random();
        dict_entry *e;
        if (dict_is_rehashing(d)) {
            /* buckets below rehashidx in table[0] are empty */
            size_t span = d->size[0] + d->size[1] - (size_t)d->rehashidx;
            size_t i = (size_t)d->rehashidx + r % span;
            e = i >= d->size[0] ? d->table[1][i - d->size[0]] : d->table[0][i];
        } else {
            e = d->table[0][r & (d->size[0] - 1)];
        }
        if (!e) continue;
        size_t len = 0;
        for (dict_entry *x = e; x; x = next_of(x)) len++;
        uint64_t k = fast_random() % (tries < 1000 ? RANDOM_CHAIN_BOUND : len);
        if (k >= len) continue;
        while (k--) e = next_of(e);
        return e;
    }
}

size_t dict_sample(dict *d, dict_entry **out, size_t n) {
    if (dict_size(d) == 0 || n == 0) return 0;
    if (dict_is_rehashing(d)) rehash_step(d);
    size_t got = 0, total = d->size[0] + (dict_is_rehashing(d) ? d->size[1] : 0);
    size_t i = (size_t)(fast_random() % total);
    /* consecutive buckets from a random start, at most 10 per entry wanted
     * (or the whole table), so a sparse table does not make it loop */
    size_t budget = n * 10 < total ? n * 10 : total;
    for (size_t step = 0; step < budget && got < n; step++, i = i + 1 == total ? 0 : i + 1) {
        if (dict_is_rehashing(d) && i < (size_t)d->rehashidx) continue; /* moved to table 1 */
        dict_entry *e = i >= d->size[0] ? d->table[1][i - d->size[0]] : d->table[0][i];
        for (; e && got < n; e = next_of(e)) out[got++] = e;
    }
    return got;
}

/* Bit reversal of a 64-bit word (swap ever larger groups, then bytes). */
static uint64_t rev64(uint64_t x) {
    x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
    x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
    x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(x);
}

static void scan_bucket(dict_entry *e, dict_scan_fn *fn, void *privdata) {
    while (e) {
        dict_entry *next = next_of(e);
        fn(privdata, e);
        e = next;
    }
}

uint64_t dict_scan(dict *d, uint64_t v, dict_scan_fn *fn, void *privdata) {
    if (dict_size(d) == 0) return 0;
    if (!dict_is_rehashing(d)) {
        uint64_t m0 = d->size[0] - 1;
        scan_bucket(d->table[0][v & m0], fn, privdata);
        v |= ~m0;
        v = rev64(v);
        v++;
        v = rev64(v);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1, big = 1 - small;
        uint64_t m0 = d->size[small] - 1, m1 = d->size[big] - 1;
        scan_bucket(d->table[small][v & m0], fn, privdata);
        do {
            scan_bucket(d->table[big][v & m1], fn, privdata);
            v |= ~m1;
            v = rev64(v);
            v++;
            v = rev64(v);
        } while (v & (m0 ^ m1));
    }
    return v;
}

void dict_iter_init(dict_iter *it, dict *d) {
    it->d = d;
    it->table = 0;
    it->index = 0;
    it->entry = NULL;
    it->next = NULL;
    d->iterators++;
}

dict_entry *dict_iter_next(dict_iter *it) {
    dict *d = it->d;
    for (;;) {
        if (it->next) {
            it->entry = it->next;
            it->next = next_of(it->entry);
            return it->entry;
        }
        if (it->table > 1) return NULL;
        if (it->index >= d->size[it->table]) {
            it->table++;
            it->index = 0;
            if (it->table > 1) return NULL;
            continue;
        }
        it->next = d->table[it->table][it->index++];
    }
}

void dict_iter_release(dict_iter *it) {
    if (it->d) it->d->iterators--;
    it->d = NULL;
}

size_t dict_mem_usage(const dict *d) {
    return (d->size[0] + d->size[1]) * sizeof(dict_entry *) + dict_size(d) * sizeof(dict_entry) +
           sizeof(*d);
}

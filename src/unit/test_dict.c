/* test_dict.c -- unit tests for the hash table of dict.c.
 *
 * Keys are ds strings ("k:<id>") with a dict_type shaped like the
 * keyspace's (hash of the bytes, byte equality, ds_free as destructor) but
 * with no server dependency; the value slot holds the id, so callbacks can
 * tell which key they were handed without parsing it.
 *
 * What is checked: the basic operations and their ownership rules
 * (a key is owned by the dict only when an entry is created), every key
 * stays findable at every point of an incremental rehash (a safe iterator
 * pauses rehashing so a state can be inspected without moving it on),
 * dict_scan's guarantee that every element present for the whole scan is
 * returned at least once while the table grows, shrinks and churns between
 * calls (also with a weak hash that piles keys into few buckets), random
 * entries, safe iteration with deletion of the current entry, shrinking,
 * the memory estimate, and that every byte comes back after release. */
#include "buf.h"
#include "dict.h"
#include "test.h"
#include "zmalloc.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ------------------------------------------------------------ types */

static uint64_t key_hash(const void *k) { return dict_hash_bytes(k, ds_len((ds)k)); }

static int key_eq(const void *a, const void *b) {
    size_t la = ds_len((ds)a), lb = ds_len((ds)b);
    return la == lb && memcmp(a, b, la) == 0;
}

static void key_free(void *k) { ds_free(k); }

static long vals_freed;

static void val_free(void *v) {
    vals_freed++;
    zfree(v);
}

/* Keys with ids as values (no value destructor). */
static const dict_type id_type = {key_hash, key_eq, key_free, NULL};
/* Keys with zmalloc'd values, destructors counted. */
static const dict_type owned_type = {key_hash, key_eq, key_free, val_free};

/* Only 64 distinct hash values: long chains, most buckets empty. */
static uint64_t weak_hash(const void *k) { return key_hash(k) & 63; }
static const dict_type weak_type = {weak_hash, key_eq, key_free, NULL};

static ds mkkey(long id) { return ds_catfmt(ds_empty(16), "k:%ld", id); }

static dict_entry *find_id(dict *d, long id) {
    ds k = mkkey(id);
    dict_entry *e = dict_find(d, k);
    ds_free(k);
    return e;
}

static int add_id(dict *d, long id) {
    ds k = mkkey(id);
    dict_entry *e = dict_add_raw(d, k, NULL);
    if (!e) {
        ds_free(k);
        return 0;
    }
    dict_entry_set_s64(e, id);
    return 1;
}

static int del_id(dict *d, long id) {
    ds k = mkkey(id);
    int r = dict_delete(d, k);
    ds_free(k);
    return r;
}

/* ------------------------------------------------------------ basics */

TEST(test_add_find_delete_replace) {
    size_t base = zmalloc_used_memory();
    vals_freed = 0;
    dict *d = dict_create(&owned_type);
    EXPECT(dict_size(d) == 0);
    EXPECT(find_id(d, 1) == NULL);
    EXPECT(del_id(d, 1) == 0);
    ds k = ds_from_cstr("alpha");
    char *v = zmemdup("one", 3);
    EXPECT(dict_add(d, k, v) == 1);
    EXPECT(dict_size(d) == 1);
    ds probe = ds_from_cstr("alpha");
    dict_entry *e = dict_find(d, probe);
    ASSERT(e != NULL);
    EXPECT(dict_entry_key(e) == k && dict_entry_val(e) == v);

    /* adding an existing key takes nothing: the caller still owns both */
    ds k2 = ds_from_cstr("alpha");
    char *v2 = zmemdup("two", 3);
    EXPECT(dict_add(d, k2, v2) == 0);
    dict_entry *existing = NULL;
    EXPECT(dict_add_raw(d, k2, &existing) == NULL);
    EXPECT(existing == e);
    /* replace: swap the value of the existing entry, free the old one */
    val_free(dict_entry_val(existing));
    dict_entry_set_val(existing, v2);
    ds_free(k2);
    EXPECT(vals_freed == 1);
    e = dict_find(d, probe);
    ASSERT(e != NULL);
    EXPECT(memcmp(dict_entry_val(e), "two", 3) == 0);

    /* binary keys: NUL and CR LF inside, and the empty key */
    ds b1 = ds_new("a\0b", 3), b2 = ds_new("a\0c", 3), b3 = ds_new("", 0);
    EXPECT(dict_add(d, b1, zmemdup("x", 1)) == 1);
    EXPECT(dict_add(d, b2, zmemdup("y", 1)) == 1);
    EXPECT(dict_add(d, b3, zmemdup("z", 1)) == 1);
    ds q = ds_new("a\0c", 3);
    e = dict_find(d, q);
    EXPECT(e && dict_entry_key(e) == b2);
    ds_free(q);
    q = ds_new("a", 1);
    EXPECT(dict_find(d, q) == NULL);
    ds_free(q);
    EXPECT(dict_size(d) == 4);

    EXPECT(dict_delete(d, probe) == 1);
    EXPECT(vals_freed == 2);
    EXPECT(dict_find(d, probe) == NULL);
    EXPECT(dict_delete(d, probe) == 0);
    EXPECT(dict_size(d) == 3);
    ds_free(probe);
    dict_release(d);
    EXPECT(vals_freed == 5);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_unlink_and_free_entry) {
    size_t base = zmalloc_used_memory();
    vals_freed = 0;
    dict *d = dict_create(&owned_type);
    for (long i = 0; i < 100; i++) EXPECT(dict_add(d, mkkey(i), zmalloc(8)) == 1);
    ds k = mkkey(42);
    dict_entry *e = dict_unlink(d, k);
    ASSERT(e != NULL);
    EXPECT(vals_freed == 0); /* no destructor yet */
    EXPECT(dict_find(d, k) == NULL);
    EXPECT(dict_size(d) == 99);
    EXPECT(key_eq(dict_entry_key(e), k));
    EXPECT(dict_unlink(d, k) == NULL);
    dict_free_entry(d, e);
    EXPECT(vals_freed == 1);
    dict_free_entry(d, NULL);
    ds_free(k);
    dict_release(d);
    dict_release(NULL);
    EXPECT(vals_freed == 100);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_clear) {
    size_t base = zmalloc_used_memory();
    vals_freed = 0;
    dict *d = dict_create(&owned_type);
    for (long i = 0; i < 1000; i++) dict_add(d, mkkey(i), zmalloc(16));
    dict_clear(d);
    EXPECT(vals_freed == 1000);
    EXPECT(dict_size(d) == 0);
    EXPECT(!dict_is_rehashing(d));
    EXPECT(find_id(d, 5) == NULL);
    /* usable again after a clear */
    EXPECT(dict_add(d, mkkey(5), zmalloc(16)) == 1);
    EXPECT(find_id(d, 5) != NULL);
    dict_release(d);
    EXPECT(vals_freed == 1001);
    EXPECT(zmalloc_used_memory() == base);
}

/* ------------------------------------------------------------ rehashing */

/* With rehashing paused by a safe iterator: every id in [0, n) except the
 * deleted ones (id % del_mod == 0 when del_mod) is found, and iteration
 * returns each live entry exactly once. */
static int check_all_findable(dict *d, long n, long del_mod) {
    dict_iter it;
    dict_iter_init(&it, d);
    long rehashidx = d->rehashidx;
    int ok = 1;
    for (long j = 0; j < n && ok; j++) {
        dict_entry *e = find_id(d, j);
        int gone = del_mod && j % del_mod == 0;
        if (gone ? e != NULL : (e == NULL || dict_entry_s64(e) != j)) {
            fprintf(stderr, "  key %ld %s mid-rehash (rehashidx %ld, sizes %zu/%zu)\n", j,
                    gone ? "still present" : "not found", d->rehashidx, d->size[0], d->size[1]);
            ok = 0;
        }
    }
    unsigned char *seen = calloc((size_t)n, 1);
    size_t count = 0;
    dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        if (dict_entry_s64(e) < 0 || dict_entry_s64(e) >= n || seen[dict_entry_s64(e)]) ok = 0;
        else seen[dict_entry_s64(e)] = 1;
        count++;
    }
    if (count != dict_size(d)) ok = 0;
    if (d->rehashidx != rehashidx) ok = 0; /* paused: nothing moved */
    free(seen);
    dict_iter_release(&it);
    return ok;
}

TEST(test_rehash_keeps_keys_findable) {
    size_t base = zmalloc_used_memory();
    dict *d = dict_create(&id_type);
    long n = 5000, checks = 0, mid = 0;
    for (long i = 0; i < n; i++) {
        ASSERT(add_id(d, i));
        if (dict_is_rehashing(d) && i % 13 == 0) {
            checks++;
            if (d->rehashidx > 0) mid++;
            if (!check_all_findable(d, i + 1, 0)) {
                EXPECT(!"key lost during rehash");
                break;
            }
        }
        /* ordinary finds, which move the rehash on, also see every key */
        ASSERT(find_id(d, (long)(rng_next() % (uint64_t)(i + 1))) != NULL);
    }
    printf("  %ld mid-rehash checks (%ld with buckets already moved)\n", checks, mid);
    EXPECT(checks > 50 && mid > 10);
    EXPECT(dict_size(d) == (size_t)n);
    for (long i = 0; i < n; i++) EXPECT(find_id(d, i) != NULL);
    dict_release(d);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_delete_during_rehash) {
    dict *d = dict_create(&id_type);
    long n = 0;
    /* grow until a rehash has just started with plenty left to move */
    while (!(dict_is_rehashing(d) && d->size[0] >= 1024)) add_id(d, n++);
    EXPECT(d->rehashidx >= 0 && (size_t)d->rehashidx < d->size[0] / 2);
    for (long j = 0; j < n; j += 3) EXPECT(del_id(d, j) == 1);
    EXPECT(check_all_findable(d, n, 3));
    while (dict_rehash(d, 10)) {
    }
    EXPECT(!dict_is_rehashing(d));
    EXPECT(check_all_findable(d, n, 3));
    EXPECT(dict_size(d) == (size_t)(n - (n + 2) / 3));
    dict_release(d);
}

TEST(test_rehash_steps_and_ms) {
    dict *d = dict_create(&id_type);
    EXPECT(dict_rehash(d, 10) == 0); /* not rehashing */
    long n = 0;
    while (!(dict_is_rehashing(d) && d->size[0] >= 4096)) add_id(d, n++);
    size_t target = d->size[1];
    EXPECT(target > d->size[0]);
    /* a paused dict does not rehash from the cron */
    dict_iter it;
    dict_iter_init(&it, d);
    EXPECT(dict_rehash_ms(d, 10) == 0);
    EXPECT(dict_is_rehashing(d));
    dict_iter_release(&it);
    dict_rehash_ms(d, 1000);
    EXPECT(!dict_is_rehashing(d));
    EXPECT(d->size[0] == target && d->size[1] == 0 && d->table[1] == NULL);
    EXPECT(d->used[0] == (size_t)n && d->used[1] == 0);
    for (long i = 0; i < n; i++) EXPECT(find_id(d, i) != NULL);
    dict_release(d);
}

/* ------------------------------------------------------------ scan */

typedef struct scan_seen {
    unsigned *count; /* per id */
    long n;
    long bad;
} scan_seen;

static void count_cb(void *priv, dict_entry *e) {
    scan_seen *s = priv;
    if (dict_entry_s64(e) < 0 || dict_entry_s64(e) >= s->n) s->bad++;
    else s->count[dict_entry_s64(e)]++;
}

TEST(test_scan_empty) {
    dict *d = dict_create(&id_type);
    scan_seen s = {NULL, 0, 0};
    EXPECT(dict_scan(d, 0, count_cb, &s) == 0);
    EXPECT(dict_scan(d, 12345, count_cb, &s) == 0);
    add_id(d, 1);
    del_id(d, 1);
    EXPECT(dict_scan(d, 0, count_cb, &s) == 0); /* emptied dict */
    EXPECT(s.bad == 0);
    dict_release(d);
}

/* Without resizes each element is returned exactly once. */
TEST(test_scan_stable_exactly_once) {
    const dict_type *types[] = {&id_type, &weak_type};
    for (int t = 0; t < 2; t++) {
        dict *d = dict_create(types[t]);
        long n = 3000;
        for (long i = 0; i < n; i++) add_id(d, i);
        while (dict_rehash(d, 100)) {
        }
        scan_seen s = {calloc((size_t)n, sizeof(unsigned)), n, 0};
        uint64_t cur = 0;
        long calls = 0;
        do {
            cur = dict_scan(d, cur, count_cb, &s);
            calls++;
        } while (cur != 0 && calls < 1000000);
        EXPECT(cur == 0);
        EXPECT(calls == (long)d->size[0]);
        long wrong = 0;
        for (long i = 0; i < n; i++) wrong += s.count[i] != 1;
        EXPECT(wrong == 0 && s.bad == 0);
        free(s.count);
        dict_release(d);
    }
}

/* Runs a scan over d with churn(d, step) called between every two calls;
 * returns how many of the ids for which stable(id) holds were never
 * returned. Ids must stay below n. */
static long scan_with_churn(dict *d, long n, int (*stable)(long), void (*churn)(dict *, long),
                            long *calls_out) {
    scan_seen s = {calloc((size_t)n, sizeof(unsigned)), n, 0};
    uint64_t cur = 0;
    long calls = 0;
    do {
        cur = dict_scan(d, cur, count_cb, &s);
        calls++;
        if (cur) churn(d, calls);
    } while (cur != 0 && calls < 10000000);
    long missed = 0;
    for (long i = 0; i < n; i++)
        if (stable(i) && s.count[i] == 0) missed++;
    if (s.bad) missed += s.bad;
    free(s.count);
    if (calls_out) *calls_out = calls;
    return missed;
}

#define GROW_IDS 2000000
static long next_id; /* churn state */

static int stable_below_500(long id) { return id < 500; }

/* Five inserts per call: the table keeps growing, yet the scan (which
 * covers 1/size of the cursor space per call) still ends. */
static void churn_grow(dict *d, long step) {
    for (int i = 0; i < 5 && next_id < GROW_IDS; i++) add_id(d, next_id++);
    if (step % 3 == 0) del_id(d, next_id - 7); /* some of the new ones go */
}

TEST(test_scan_while_growing) {
    dict *d = dict_create(&id_type);
    for (long i = 0; i < 500; i++) add_id(d, i);
    while (dict_rehash(d, 100)) {
    }
    size_t start = d->size[0];
    next_id = 500;
    long calls = 0;
    long missed = scan_with_churn(d, GROW_IDS, stable_below_500, churn_grow, &calls);
    printf("  grew %zu -> %zu buckets during a %ld-call scan\n", start, d->size[0], calls);
    EXPECT(missed == 0);
    EXPECT(d->size[0] >= 16 * start);
    dict_release(d);
}

static int stable_mul_100(long id) { return id % 100 == 0; }

static long shrink_next; /* next id to delete */

static void churn_shrink(dict *d, long step) {
    for (int i = 0; i < 150 && shrink_next < 40000; i++, shrink_next++)
        if (shrink_next % 100) del_id(d, shrink_next);
    dict_maybe_shrink(d);
    if (step % 5 == 0) dict_rehash(d, 3);
}

TEST(test_scan_while_shrinking) {
    dict *d = dict_create(&id_type);
    for (long i = 0; i < 40000; i++) add_id(d, i);
    while (dict_rehash(d, 100)) {
    }
    size_t start = d->size[0];
    shrink_next = 0;
    long calls = 0;
    long missed = scan_with_churn(d, 40000, stable_mul_100, churn_shrink, &calls);
    printf("  shrank %zu -> %zu buckets during a %ld-call scan\n", start, d->size[0], calls);
    EXPECT(missed == 0);
    EXPECT(d->size[0] < start);
    EXPECT(dict_size(d) == 400 || shrink_next < 40000);
    dict_release(d);
}

#define CHURN_IDS 8000

static int stable_mod_3(long id) { return id % 3 == 0 && id < 900; }

static long churn_resizes; /* table size changes seen between scan calls */
static size_t churn_last_size;

/* Alternates 300-call phases of net growth and of mass deletion with
 * shrinking, so a scan runs through several resizes both ways. */
static void churn_random(dict *d, long step) {
    int shrinking = (int)((step / 300) % 2);
    int ops = (int)(rng_next() % 48);
    for (int i = 0; i < ops; i++) {
        uint64_t r = rng_next();
        long id = (long)(r % CHURN_IDS);
        unsigned kind = (unsigned)((r >> 32) % 8);
        if (kind < (shrinking ? 1u : 5u)) {
            add_id(d, id);
        } else if (kind < 7) {
            if (!stable_mod_3(id)) del_id(d, id);
        } else {
            find_id(d, id);
        }
    }
    if (shrinking && step % 11 == 0)
        for (long id = (long)(rng_next() % CHURN_IDS), k = 0; k < 400; k++, id = (id + 1) % CHURN_IDS)
            if (!stable_mod_3(id)) del_id(d, id);
    if (step % 7 == 0) dict_maybe_shrink(d);
    if (step % 13 == 0) dict_rehash(d, 5);
    if (d->size[0] != churn_last_size) {
        churn_resizes++;
        churn_last_size = d->size[0];
    }
}

TEST(test_scan_random_churn) {
    const dict_type *types[] = {&id_type, &weak_type};
    long total_calls = 0;
    churn_resizes = 0;
    for (int seed = 1; seed <= 8; seed++) {
        rng_state = 0x9e3779b97f4a7c15ULL * (uint64_t)seed;
        dict *d = dict_create(types[seed % 2]);
        long n0 = (long)(rng_next() % 6000);
        for (long i = 0; i < n0; i++) add_id(d, i);
        for (long i = 0; i < 900; i += 3) add_id(d, i); /* the stable ones */
        long calls = 0;
        churn_last_size = d->size[0];
        long missed = scan_with_churn(d, CHURN_IDS, stable_mod_3, churn_random, &calls);
        total_calls += calls;
        if (missed) fprintf(stderr, "  seed %d: %ld stable keys missed\n", seed, missed);
        EXPECT(missed == 0);
        dict_release(d);
    }
    printf("  8 churned scans, %ld calls, %ld table resizes in all\n", total_calls, churn_resizes);
    EXPECT(churn_resizes >= 16);
}

/* ------------------------------------------------------------ random entry */

TEST(test_random_entry) {
    dict *d = dict_create(&id_type);
    EXPECT(dict_random_entry(d) == NULL);
    add_id(d, 7);
    dict_entry *e = dict_random_entry(d);
    EXPECT(e && dict_entry_s64(e) == 7);
    long n = 1000;
    for (long i = 0; i < n; i++) add_id(d, i);
    unsigned char *seen = calloc((size_t)n, 1);
    long distinct = 0, bad = 0, during_rehash = 0;
    for (int k = 0; k < 30000; k++) {
        if (dict_is_rehashing(d)) during_rehash++;
        e = dict_random_entry(d);
        if (!e || dict_entry_s64(e) < 0 || dict_entry_s64(e) >= n || find_id(d, dict_entry_s64(e)) != e) {
            bad++;
            continue;
        }
        if (!seen[dict_entry_s64(e)]) {
            seen[dict_entry_s64(e)] = 1;
            distinct++;
        }
    }
    printf("  30000 draws over %ld keys: %ld distinct (%ld draws while rehashing)\n", n, distinct,
           during_rehash);
    EXPECT(bad == 0);
    EXPECT(distinct >= 950);
    /* while a rehash is in progress, on a weakly hashed dict too */
    dict *w = dict_create(&weak_type);
    long m = 0;
    while (!dict_is_rehashing(w) || m < 100) add_id(w, m++);
    for (int k = 0; k < 200; k++) {
        e = dict_random_entry(w);
        EXPECT(e && find_id(w, dict_entry_s64(e)) == e);
    }
    free(seen);
    dict_release(w);
    dict_release(d);
}

TEST(test_sample) {
    dict *d = dict_create(&id_type);
    dict_entry *out[16];
    EXPECT(dict_sample(d, out, 16) == 0);
    long n = 5000;
    for (long i = 0; i < n; i++) add_id(d, i);
    long bad = 0, total = 0, rounds = 2000;
    unsigned char *seen = calloc((size_t)n, 1);
    long distinct = 0;
    for (long r = 0; r < rounds; r++) {
        size_t got = dict_sample(d, out, 16);
        total += (long)got;
        for (size_t j = 0; j < got; j++) {
            if (dict_entry_s64(out[j]) < 0 || dict_entry_s64(out[j]) >= n || find_id(d, dict_entry_s64(out[j])) != out[j]) {
                bad++;
                continue;
            }
            for (size_t k = 0; k < j; k++) bad += out[k] == out[j]; /* no entry twice */
            if (!seen[dict_entry_s64(out[j])]) {
                seen[dict_entry_s64(out[j])] = 1;
                distinct++;
            }
        }
    }
    printf("  %ld samples of 16 over %ld keys: %ld entries, %ld distinct\n", rounds, n, total, distinct);
    EXPECT(bad == 0 && total >= rounds * 15 && distinct >= n * 9 / 10);
    /* a sparse table (most keys deleted, not shrunk) still answers */
    for (long i = 0; i < n; i++)
        if (i % 100) del_id(d, i);
    size_t got = 0;
    for (int r = 0; r < 200; r++) got += dict_sample(d, out, 4);
    EXPECT(dict_size(d) == 50 && got > 0);
    free(seen);
    dict_release(d);
}

/* ------------------------------------------------------------ iteration */

TEST(test_safe_iter_delete_current) {
    size_t base = zmalloc_used_memory();
    for (int mode = 0; mode < 3; mode++) {
        dict *d = dict_create(mode == 2 ? &weak_type : &id_type);
        long n = 5000;
        for (long i = 0; i < n; i++) add_id(d, i);
        /* mode 1: iterate in the middle of a rehash */
        if (mode == 1)
            while (!dict_is_rehashing(d)) add_id(d, n++);
        long rehashidx = d->rehashidx;
        unsigned char *seen = calloc((size_t)n, 1);
        long visited = 0, dup = 0;
        dict_iter it;
        dict_iter_init(&it, d);
        dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            long id = dict_entry_s64(e);
            if (seen[id]) dup++;
            seen[id] = 1;
            visited++;
            if (id % 2 == 0) EXPECT(dict_delete(d, dict_entry_key(e)) == 1); /* e is gone now */
        }
        dict_iter_release(&it);
        EXPECT(d->rehashidx == rehashidx);
        EXPECT(visited == n && dup == 0);
        EXPECT(dict_size(d) == (size_t)(n / 2));
        for (long i = 0; i < n; i++) EXPECT((find_id(d, i) != NULL) == (i % 2 == 1));
        /* delete everything through an iterator */
        dict_iter_init(&it, d);
        visited = 0;
        while ((e = dict_iter_next(&it)) != NULL) {
            visited++;
            dict_delete(d, dict_entry_key(e));
        }
        dict_iter_release(&it);
        EXPECT(visited == n / 2);
        EXPECT(dict_size(d) == 0);
        free(seen);
        dict_release(d);
    }
    /* an empty dict iterates nothing */
    dict *d = dict_create(&id_type);
    dict_iter it;
    dict_iter_init(&it, d);
    EXPECT(dict_iter_next(&it) == NULL);
    EXPECT(dict_iter_next(&it) == NULL);
    dict_iter_release(&it);
    EXPECT(d->iterators == 0);
    dict_release(d);
    EXPECT(zmalloc_used_memory() == base);
}

/* ------------------------------------------------------------ shrink */

TEST(test_maybe_shrink) {
    size_t base = zmalloc_used_memory();
    dict *d = dict_create(&id_type);
    long n = 10000;
    for (long i = 0; i < n; i++) add_id(d, i);
    while (dict_rehash(d, 100)) {
    }
    size_t big = d->size[0];
    EXPECT(big >= (size_t)n);
    dict_maybe_shrink(d); /* dense: nothing to do */
    EXPECT(!dict_is_rehashing(d) && d->size[0] == big);
    for (long i = 0; i < n; i++)
        if (i % 100) del_id(d, i);
    EXPECT(dict_size(d) == 100);
    /* not while a safe iterator is alive */
    dict_iter it;
    dict_iter_init(&it, d);
    dict_maybe_shrink(d);
    EXPECT(!dict_is_rehashing(d) && d->size[0] == big);
    dict_iter_release(&it);
    size_t mem_before = dict_mem_usage(d);
    dict_maybe_shrink(d);
    EXPECT(dict_is_rehashing(d));
    while (dict_rehash(d, 100)) {
    }
    printf("  100 keys left of %ld: %zu -> %zu buckets\n", n, big, d->size[0]);
    EXPECT(d->size[0] >= 100 && d->size[0] <= 256);
    EXPECT(dict_mem_usage(d) < mem_before);
    for (long i = 0; i < n; i++) EXPECT((find_id(d, i) != NULL) == (i % 100 == 0));
    /* emptied completely: down to the minimum table */
    for (long i = 0; i < n; i += 100) del_id(d, i);
    dict_maybe_shrink(d);
    while (dict_rehash(d, 100)) {
    }
    EXPECT(dict_size(d) == 0 && d->size[0] == 4);
    dict_maybe_shrink(d); /* at the minimum: no-op */
    EXPECT(!dict_is_rehashing(d) && d->size[0] == 4);
    EXPECT(add_id(d, 1) && find_id(d, 1));
    dict_release(d);
    EXPECT(zmalloc_used_memory() == base);
}

/* ------------------------------------------------------------ embedded keys */

static long keys_freed;
static void key_free_counted(void *k) {
    keys_freed++;
    ds_free(k);
}
static const dict_type counted_type = {key_hash, key_eq, key_free_counted, NULL};

/* A key of n bytes, the id in front: lengths cross every ds header size. */
static ds long_key(long id, size_t n) {
    ds k = ds_catfmt(ds_empty(n + 24), "%ld:", id);
    while (ds_len(k) < n) k = ds_cat(k, "x", 1);
    return k;
}

/* A value using all 64 bits: an embedded entry's value shares its first two
 * bytes with the link word, so every byte must survive relinking. */
static int64_t mixed(long i) { return (int64_t)((uint64_t)i * 0x9E3779B97F4A7C15ULL); }

TEST(test_embedded_keys) {
    size_t base = zmalloc_used_memory();
    dict *d = dict_create(&counted_type);
    dict_embed_keys(d);
    static const size_t lens[] = {1, 8, 30, 31, 32, 255, 256, 1000};
    long n = 4000;
    keys_freed = 0;
    for (long i = 0; i < n; i++) {
        ds k = long_key(i, lens[i % 8] < 4 ? 4 : lens[i % 8]);
        dict_entry *e = dict_add_raw(d, k, NULL);
        ASSERT(e);
        dict_entry_set_s64(e, mixed(i));
        /* a copy in the entry, the caller keeps its key */
        EXPECT(dict_entry_key(e) != (void *)k && key_eq(dict_entry_key(e), k));
        EXPECT(dict_add_raw(d, k, NULL) == NULL);
        ds_free(k);
    }
    EXPECT(dict_size(d) == (size_t)n);
    /* found by value at every step of the growth's rehash, keys intact */
    int ok = 1;
    for (long i = 0; i < n; i++) {
        ds k = long_key(i, lens[i % 8] < 4 ? 4 : lens[i % 8]);
        dict_entry *e = dict_find(d, k);
        ok &= e && dict_entry_s64(e) == mixed(i) && key_eq(dict_entry_key(e), k);
        ds_free(k);
    }
    EXPECT(ok);
    /* a key of up to 16 bytes takes one 32-byte block with its entry */
    for (size_t len = 4; len <= 17; len++) {
        ds shortk = long_key(999999, len);
        dict_entry *se = dict_add_raw(d, shortk, NULL);
        ASSERT(se);
        dict_entry_set_val(se, (void *)(uintptr_t)0xFFFFFFFFFFFFFFF8ULL);
        EXPECT(zmalloc_size(se) >= dict_embedded_entry_size(len));
        EXPECT(len <= 16 ? zmalloc_size(se) <= 32 : zmalloc_size(se) > 32);
        EXPECT(dict_find(d, shortk) == se && dict_entry_val(se) == (void *)(uintptr_t)0xFFFFFFFFFFFFFFF8ULL);
        EXPECT(dict_delete(d, shortk) == 1);
        ds_free(shortk);
    }
    /* iteration, scan and delete see the same keys */
    long seen = 0;
    dict_iter it;
    dict_iter_init(&it, d);
    for (dict_entry *e; (e = dict_iter_next(&it));) seen += ds_len(dict_entry_key(e)) > 0;
    dict_iter_release(&it);
    EXPECT(seen == n);
    for (long i = 0; i < n; i += 2) {
        ds k = long_key(i, lens[i % 8] < 4 ? 4 : lens[i % 8]);
        EXPECT(dict_delete(d, k) == 1);
        ds_free(k);
    }
    while (dict_rehash(d, 100)) {
    }
    dict_maybe_shrink(d);
    while (dict_rehash(d, 100)) {
    }
    ok = 1;
    for (long i = 0; i < n; i++) {
        ds k = long_key(i, lens[i % 8] < 4 ? 4 : lens[i % 8]);
        dict_entry *e = dict_find(d, k);
        ok &= i % 2 ? e && dict_entry_s64(e) == mixed(i) && key_eq(dict_entry_key(e), k) : e == NULL;
        ds_free(k);
    }
    EXPECT(ok);
    /* the dict never frees a key it did not take */
    EXPECT(keys_freed == 0);
    dict_release(d);
    EXPECT(keys_freed == 0);
    EXPECT(zmalloc_used_memory() == base);
}

/* ------------------------------------------------------------ memory */

TEST(test_mem_usage) {
    dict *d = dict_create(&id_type);
    EXPECT(dict_mem_usage(d) == sizeof(dict));
    size_t before = zmalloc_used_memory(), keys = 0;
    long n = 20000;
    for (long i = 0; i < n; i++) {
        ds k = mkkey(i);
        keys += ds_alloc_size(k);
        dict_entry *e = dict_add_raw(d, k, NULL);
        dict_entry_set_s64(e, i);
    }
    while (dict_rehash(d, 100)) {
    }
    size_t est = dict_mem_usage(d);
    size_t real = zmalloc_used_memory() - before - keys;
    printf("  %ld keys: estimate %zu bytes, allocator %zu bytes (tables and entries)\n", n, est, real);
    EXPECT(est >= (size_t)n * sizeof(dict_entry) + d->size[0] * sizeof(dict_entry *));
    EXPECT(est <= real * 2 && real <= est * 2);
    dict_clear(d);
    EXPECT(dict_mem_usage(d) == sizeof(dict));
    dict_release(d);
}

TEST(test_100k_keys) {
    size_t base = zmalloc_used_memory();
    vals_freed = 0;
    dict *d = dict_create(&owned_type);
    long n = 100000;
    for (long i = 0; i < n; i++) {
        long *v = zmalloc(sizeof(long));
        *v = i;
        if (dict_add(d, mkkey(i), v) != 1) {
            EXPECT(!"add failed");
            break;
        }
    }
    EXPECT(dict_size(d) == (size_t)n);
    long wrong = 0;
    for (long i = 0; i < n; i++) {
        dict_entry *e = find_id(d, i);
        if (!e || *(long *)dict_entry_val(e) != i) wrong++;
    }
    EXPECT(wrong == 0);
    EXPECT(find_id(d, n) == NULL && find_id(d, -1) == NULL);
    for (long i = 0; i < n; i += 2) EXPECT(del_id(d, i));
    EXPECT(dict_size(d) == (size_t)n / 2);
    EXPECT(vals_freed == n / 2);
    wrong = 0;
    for (long i = 0; i < n; i++) wrong += (find_id(d, i) != NULL) != (i % 2 == 1);
    EXPECT(wrong == 0);
    dict_release(d);
    EXPECT(vals_freed == n);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_hash_functions) {
    EXPECT(dict_hash_bytes("hello", 5) == dict_hash_bytes("hello", 5));
    EXPECT(dict_hash_bytes("hello", 5) != dict_hash_bytes("hellp", 5));
    EXPECT(dict_hash_bytes_nocase("HeLLo", 5) == dict_hash_bytes_nocase("hello", 5));
    EXPECT(dict_hash_bytes_nocase("hello", 5) != dict_hash_bytes_nocase("hellp", 5));
    /* longer than the 128-byte folding buffer */
    char a[1000], b[1000];
    for (int i = 0; i < 1000; i++) {
        a[i] = (char)('a' + i % 26);
        b[i] = (char)((i % 3) ? 'A' + i % 26 : 'a' + i % 26);
    }
    EXPECT(dict_hash_bytes_nocase(a, 1000) == dict_hash_bytes_nocase(b, 1000));
    EXPECT(dict_hash_bytes_nocase(a, 1000) != dict_hash_bytes_nocase(a, 999));
    EXPECT(dict_hash_bytes_nocase(a, 0) == dict_hash_bytes_nocase(b, 0));
    /* the seed changes the hash */
    uint64_t h1 = dict_hash_bytes("key", 3);
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    dict_set_seed(seed);
    EXPECT(dict_hash_bytes("key", 3) != h1);
    /* a dict built after the seed change works as before */
    dict *d = dict_create(&id_type);
    for (long i = 0; i < 1000; i++) add_id(d, i);
    for (long i = 0; i < 1000; i++) EXPECT(find_id(d, i) != NULL);
    dict_release(d);
}

int main(void) {
    RUN(test_add_find_delete_replace);
    RUN(test_unlink_and_free_entry);
    RUN(test_clear);
    RUN(test_rehash_keeps_keys_findable);
    RUN(test_delete_during_rehash);
    RUN(test_rehash_steps_and_ms);
    RUN(test_scan_empty);
    RUN(test_scan_stable_exactly_once);
    RUN(test_scan_while_growing);
    RUN(test_scan_while_shrinking);
    RUN(test_scan_random_churn);
    RUN(test_random_entry);
    RUN(test_sample);
    RUN(test_safe_iter_delete_current);
    RUN(test_maybe_shrink);
    RUN(test_embedded_keys);
    RUN(test_mem_usage);
    RUN(test_100k_keys);
    RUN(test_hash_functions);
    return TEST_REPORT();
}

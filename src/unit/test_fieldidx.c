/* test_fieldidx.c -- unit tests for the field indexes (fieldidx.c): label
 * sets against a reference, the numeric order-statistics structure against
 * a brute-force model through random adds, removes and range queries
 * (splits, merges, duplicates, -0), tag sets, documents with arrays and
 * nested paths, which constraints an index can answer (always a superset
 * of the filter's matches), and memory back to the empty size after
 * removing everything. */
#include <math.h>
#include <stdlib.h>

#include "fieldidx.h"
#include "filter.h"
#include "test.h"
#include "zmalloc.h"

static json_t *doc(const char *text) {
    json_error_t e;
    return json_loads(text, 0, &e);
}

TEST(labelset_model) {
    fieldidx_labelset *s = fieldidx_labelset_new();
    size_t base = zmalloc_used_memory();
    enum { U = 3000 };
    static unsigned char in[U];
    memset(in, 0, sizeof(in));
    unsigned seed = 1;
    for (int step = 0; step < 40000; step++) {
        uint64_t l = (uint64_t)(rand_r(&seed) % U);
        int add = rand_r(&seed) % 3 != 0;
        int r = add ? fieldidx_labelset_add(s, l) : fieldidx_labelset_remove(s, l);
        EXPECT(r == (add ? !in[l] : in[l]));
        in[l] = (unsigned char)add;
    }
    size_t n = 0;
    for (int l = 0; l < U; l++) {
        n += in[l];
        EXPECT(fieldidx_labelset_contains(s, (uint64_t)l) == in[l]);
    }
    EXPECT(fieldidx_labelset_size(s) == n);
    for (int l = 0; l < U; l++) fieldidx_labelset_remove(s, (uint64_t)l);
    EXPECT(fieldidx_labelset_size(s) == 0);
    EXPECT(zmalloc_used_memory() == base);
    /* clear keeps a small table (zeroed) and frees a big one */
    for (int l = 0; l < 100; l++) fieldidx_labelset_add(s, (uint64_t)l);
    size_t mem = fieldidx_labelset_memory(s);
    fieldidx_labelset_clear(s, 1024);
    EXPECT(fieldidx_labelset_size(s) == 0 && fieldidx_labelset_memory(s) == mem);
    EXPECT(!fieldidx_labelset_contains(s, 5) && fieldidx_labelset_add(s, 5) == 1);
    fieldidx_labelset_clear(s, 8);
    EXPECT(fieldidx_labelset_size(s) == 0 && zmalloc_used_memory() == base);
    fieldidx_labelset_free(s);
}

typedef struct ref_entry {
    double v;
    uint64_t label;
    int live;
} ref_entry;

static size_t ref_count(const ref_entry *r, int n, double lo, int li, double hi, int hi_i) {
    size_t c = 0;
    for (int i = 0; i < n; i++) {
        if (!r[i].live) continue;
        double v = r[i].v;
        if ((li ? v >= lo : v > lo) && (hi_i ? v <= hi : v < hi)) c++;
    }
    return c;
}

static int collect(uint64_t label, void *ctx) {
    size_t *n = ctx;
    (void)label;
    (*n)++;
    return 0;
}

TEST(numeric_model) {
    size_t base = zmalloc_used_memory();
    fieldidx_num *x = fieldidx_num_new();
    size_t empty = zmalloc_used_memory();
    enum { U = 5000 };
    static ref_entry ref[U];
    unsigned seed = 7;
    for (int i = 0; i < U; i++) {
        ref[i].v = (double)(rand_r(&seed) % 200) - 100; /* many duplicates of value */
        ref[i].label = (uint64_t)i * 7919;
        ref[i].live = 0;
    }
    for (int step = 0; step < 60000; step++) {
        int i = rand_r(&seed) % U;
        int add = rand_r(&seed) % 4 != 0;
        int r = add ? fieldidx_num_add(x, ref[i].v, ref[i].label) : fieldidx_num_remove(x, ref[i].v, ref[i].label);
        EXPECT(r == (add ? !ref[i].live : ref[i].live));
        ref[i].live = add;
        if (step % 997 == 0) {
            ASSERT(fieldidx_num_check(x));
            for (int q = 0; q < 20; q++) {
                double lo = (double)(rand_r(&seed) % 220) - 110, hi = lo + (double)(rand_r(&seed) % 80);
                int li = rand_r(&seed) & 1, hi_i = rand_r(&seed) & 1;
                size_t want = ref_count(ref, U, lo, li, hi, hi_i), seen = 0;
                EXPECT(fieldidx_num_count(x, lo, li, hi, hi_i) == want);
                EXPECT(fieldidx_num_range(x, lo, li, hi, hi_i, collect, &seen) == want);
                EXPECT(seen == want);
            }
            EXPECT(fieldidx_num_count(x, -INFINITY, 1, INFINITY, 1) == ref_count(ref, U, -1e9, 1, 1e9, 1));
        }
    }
    EXPECT(fieldidx_num_check(x));
    for (int i = 0; i < U; i++)
        if (ref[i].live) EXPECT(fieldidx_num_remove(x, ref[i].v, ref[i].label) == 1);
    EXPECT(fieldidx_num_entries(x) == 0);
    EXPECT(fieldidx_num_check(x));
    EXPECT(zmalloc_used_memory() == empty);
    fieldidx_num_free(x);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(numeric_sorted_inserts_split_and_merge) {
    fieldidx_num *x = fieldidx_num_new();
    enum { N = 20000 };
    for (int i = 0; i < N; i++) EXPECT(fieldidx_num_add(x, i * 0.5, (uint64_t)i) == 1);
    EXPECT(fieldidx_num_add(x, 0.0, 0) == 0);
    EXPECT(fieldidx_num_add(x, -0.0, 0) == 0); /* -0 is 0 */
    EXPECT(fieldidx_num_check(x));
    EXPECT(fieldidx_num_count(x, 100, 1, 200, 0) == 200);
    EXPECT(fieldidx_num_count(x, 100, 0, 200, 1) == 200);
    EXPECT(fieldidx_num_count(x, 200, 1, 100, 1) == 0);
    EXPECT(fieldidx_num_count(x, NAN, 1, 100, 1) == 0);
    size_t mem = fieldidx_num_memory(x);
    EXPECT(mem < (size_t)N * 16 * 2 + 4096);
    for (int i = 0; i < N; i += 2) fieldidx_num_remove(x, i * 0.5, (uint64_t)i);
    EXPECT(fieldidx_num_check(x));
    EXPECT(fieldidx_num_entries(x) == N / 2);
    EXPECT(fieldidx_num_count(x, 0, 1, 10, 1) == 10);
    for (int i = 1; i < N; i += 2) fieldidx_num_remove(x, i * 0.5, (uint64_t)i);
    EXPECT(fieldidx_num_entries(x) == 0);
    EXPECT(fieldidx_num_memory(x) == sizeof(void *) * 2 + sizeof(size_t) * 3); /* the empty struct */
    fieldidx_num_free(x);
}

static int stop_after_three(uint64_t label, void *ctx) {
    int *n = ctx;
    (void)label;
    return ++*n == 3;
}

TEST(numeric_range_stops) {
    fieldidx_num *x = fieldidx_num_new();
    for (int i = 0; i < 100; i++) fieldidx_num_add(x, i, (uint64_t)i);
    int n = 0;
    EXPECT(fieldidx_num_range(x, 10, 1, 50, 1, stop_after_three, &n) == 3);
    fieldidx_num_free(x);
}

TEST(tag_index) {
    size_t base = zmalloc_used_memory();
    fieldidx_tag *t = fieldidx_tag_new();
    char key[16];
    for (int i = 0; i < 5000; i++) {
        int len = snprintf(key, sizeof(key), "t%d", i % 37);
        EXPECT(fieldidx_tag_add(t, key, (size_t)len, (uint64_t)i) == 1);
    }
    EXPECT(fieldidx_tag_add(t, "t0", 2, 0) == 0);
    EXPECT(fieldidx_tag_distinct(t) == 37);
    EXPECT(fieldidx_tag_entries(t) == 5000);
    EXPECT(fieldidx_labelset_size(fieldidx_tag_get(t, "t3", 2)) == 136);
    EXPECT(fieldidx_labelset_contains(fieldidx_tag_get(t, "t3", 2), 40));
    EXPECT(!fieldidx_labelset_contains(fieldidx_tag_get(t, "t3", 2), 41));
    EXPECT(fieldidx_tag_get(t, "nope", 4) == NULL);
    EXPECT(fieldidx_tag_remove(t, "nope", 4, 1) == 0);
    for (int i = 0; i < 5000; i++) {
        int len = snprintf(key, sizeof(key), "t%d", i % 37);
        EXPECT(fieldidx_tag_remove(t, key, (size_t)len, (uint64_t)i) == 1);
    }
    EXPECT(fieldidx_tag_distinct(t) == 0 && fieldidx_tag_entries(t) == 0);
    fieldidx_tag_free(t);
    EXPECT(zmalloc_used_memory() == base);
}

/* Compiles src and returns its only constraint (the filter is kept). */
static const filter_constraint *one(const char *src, filter_expr **keep) {
    size_t n = 0;
    *keep = filter_compile(src, strlen(src), NULL, 0, NULL);
    if (!*keep) return NULL;
    const filter_constraint *c = filter_constraints(*keep, &n, NULL);
    return n == 1 ? c : NULL;
}

static double count_of(fieldidx *f, const char *src) {
    filter_expr *e;
    const filter_constraint *c = one(src, &e);
    double r = c ? fieldidx_count(f, c) : -2;
    filter_free(e);
    return r;
}

static int probe_of(fieldidx *f, const char *src, uint64_t label) {
    filter_expr *e;
    const filter_constraint *c = one(src, &e);
    int r = c ? fieldidx_probe(f, c, label) : -2;
    filter_free(e);
    return r;
}

TEST(fields_documents_and_constraints) {
    size_t base = zmalloc_used_memory();
    char err[128];
    fieldidx *price = fieldidx_new(".price", 6, FIELDIDX_NUMERIC, err, sizeof(err));
    fieldidx *color = fieldidx_new(".a.color", 8, FIELDIDX_TAG, err, sizeof(err));
    ASSERT(price && color);
    EXPECT(fieldidx_new(".a b", 4, FIELDIDX_TAG, err, sizeof(err)) == NULL);
    EXPECT(strcmp(fieldidx_path_text(color), ".a.color") == 0);
    const char *docs[] = {
        "{\"price\": 10, \"a\": {\"color\": \"red\"}}",
        "{\"price\": 20.5, \"a\": {\"color\": [\"red\", \"blue\", \"red\"]}}",
        "{\"price\": [1, 2, 3], \"a\": {\"color\": 5}}",
        "{\"price\": \"cheap\", \"a\": {\"color\": true}}",
        "{\"a\": {\"color\": null}}",
        "{}",
    };
    json_t *d[6];
    for (int i = 0; i < 6; i++) {
        d[i] = doc(docs[i]);
        fieldidx_add_doc(price, (uint64_t)i + 1, d[i]);
        fieldidx_add_doc(color, (uint64_t)i + 1, d[i]);
        fieldidx_add_doc(color, (uint64_t)i + 1, d[i]); /* twice: no change */
    }
    EXPECT(fieldidx_entries(price) == 5);
    EXPECT(fieldidx_entries(color) == 5); /* red, red+blue, 5, true */
    EXPECT(count_of(price, ".price >= 10") == 2);
    EXPECT(count_of(price, ".price < 3") == 2);
    EXPECT(count_of(price, ".price == 20.5") == 1);
    EXPECT(count_of(price, "2 in .price") == 1);
    EXPECT(count_of(price, ".price in [1, 10, 99]") == 2);
    EXPECT(count_of(price, ".price == \"cheap\"") == -1); /* a string: not in a NUMERIC index */
    EXPECT(count_of(price, ".price in [1, \"x\"]") == -1);
    EXPECT(count_of(price, ".price != 10") == -1);
    EXPECT(count_of(price, ".price == null") == -1);
    EXPECT(count_of(price, "exists(.price)") == -1);
    EXPECT(count_of(price, ".other > 1") == -1);
    EXPECT(count_of(color, ".a.color == \"red\"") == 2);
    EXPECT(count_of(color, ".a.color == 5.0") == 1);
    EXPECT(count_of(color, ".a.color == true") == 1);
    EXPECT(count_of(color, ".a.color in [\"blue\", true]") == 2);
    EXPECT(count_of(color, ".a.color < \"z\"") == -1);
    EXPECT(count_of(color, ".a.color == null") == -1);
    EXPECT(count_of(color, "\"red\" in .a.color") == -1); /* "red" is a plain string: substring test */
    EXPECT(probe_of(color, ".a.color == \"blue\"", 2) == 1);
    EXPECT(probe_of(color, ".a.color == \"blue\"", 1) == 0);
    EXPECT(probe_of(color, ".a.color in [\"nope\", 5]", 3) == 1);
    EXPECT(probe_of(price, ".price == 10", 1) == -1);
    {
        filter_expr *e;
        const filter_constraint *k = one(".a.color in [\"blue\", \"nope\", 5]", &e);
        const fieldidx_labelset *sets[4];
        EXPECT(k && fieldidx_probe_sets(color, k, sets, 4) == 2);
        EXPECT(fieldidx_labelset_contains(sets[0], 2) && fieldidx_labelset_contains(sets[1], 3));
        EXPECT(fieldidx_probe_sets(price, k, sets, 4) == -1);
        filter_free(e);
    }
    /* without plain strings, `in` on the tag field is answerable */
    fieldidx_remove_doc(color, 1, d[0]);
    EXPECT(count_of(color, "\"red\" in .a.color") == 1);
    for (int i = 0; i < 6; i++) {
        fieldidx_remove_doc(price, (uint64_t)i + 1, d[i]);
        fieldidx_remove_doc(color, (uint64_t)i + 1, d[i]);
        json_decref(d[i]);
    }
    EXPECT(fieldidx_entries(price) == 0 && fieldidx_entries(color) == 0);
    fieldidx_free(price);
    fieldidx_free(color);
    EXPECT(zmalloc_used_memory() == base);
}

static int add_to_set(uint64_t label, void *ctx) {
    fieldidx_labelset_add(ctx, label);
    return 0;
}

/* Random documents and filters: every document that satisfies a
 * constraint the index can answer is among the labels it enumerates, and
 * the count is at least the number of matching documents. */
/* Versions change with every change of the entries and are never shared:
 * caches built from an index (the server's match sets) rely on it. */
TEST(versions) {
    char err[128];
    fieldidx *a = fieldidx_new(".x", 2, FIELDIDX_NUMERIC, err, sizeof(err));
    fieldidx *b = fieldidx_new(".x", 2, FIELDIDX_TAG, err, sizeof(err));
    ASSERT(a && b);
    json_t *one = doc("{\"x\": 1}"), *none = doc("{\"y\": 1}");
    uint64_t v0 = fieldidx_version(a);
    EXPECT(v0 != fieldidx_version(b));
    EXPECT(fieldidx_add_doc(a, 10, none) == 0 && fieldidx_version(a) == v0); /* nothing indexed */
    EXPECT(fieldidx_add_doc(a, 10, one) == 1);
    uint64_t v1 = fieldidx_version(a);
    EXPECT(v1 != v0 && v1 != fieldidx_version(b));
    EXPECT(fieldidx_remove_doc(a, 10, one) == 1);
    uint64_t v2 = fieldidx_version(a);
    EXPECT(v2 != v1 && v2 != v0);
    fieldidx_clear(a);
    EXPECT(fieldidx_version(a) != v2);
    fieldidx *c = fieldidx_new(".x", 2, FIELDIDX_NUMERIC, err, sizeof(err));
    EXPECT(fieldidx_version(c) != fieldidx_version(a) && fieldidx_version(c) != v0 && fieldidx_version(c) != v1);
    json_decref(one);
    json_decref(none);
    fieldidx_free(a);
    fieldidx_free(b);
    fieldidx_free(c);
}

TEST(fields_superset_property) {
    size_t base = zmalloc_used_memory();
    char err[128];
    fieldidx *num = fieldidx_new(".x", 2, FIELDIDX_NUMERIC, err, sizeof(err));
    fieldidx *tag = fieldidx_new(".x", 2, FIELDIDX_TAG, err, sizeof(err));
    enum { N = 400 };
    json_t *d[N];
    unsigned seed = 3;
    const char *vals[] = {"1", "2", "2.0", "-0.0", "0", "\"a\"", "\"b\"", "true", "false", "null", "[1,\"a\"]",
                          "[2,2,\"b\",true]", "{}", "[[1]]", "9007199254740993", "9007199254740992"};
    int nv = (int)(sizeof(vals) / sizeof(vals[0]));
    for (int i = 0; i < N; i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"x\": %s}", vals[rand_r(&seed) % nv]);
        d[i] = doc(buf);
        if (!d[i]) d[i] = json_object();
        fieldidx_add_doc(num, (uint64_t)i, d[i]);
        fieldidx_add_doc(tag, (uint64_t)i, d[i]);
    }
    const char *filters[] = {".x == 2", ".x > 1", ".x >= 9007199254740992", ".x < 9007199254740993", ".x <= 0",
                             ".x == 0", ".x in [2, \"a\"]", ".x == \"a\"", ".x == true", "2 in .x", "\"a\" in .x",
                             ".x in [1]", ".x > 9007199254740992", "true in .x"};
    for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++) {
        filter_expr *e;
        const filter_constraint *c = one(filters[fi], &e);
        ASSERT(c);
        fieldidx *both[2] = {num, tag};
        for (int w = 0; w < 2; w++) {
            if (!fieldidx_can_answer(both[w], c)) continue;
            fieldidx_labelset *got = fieldidx_labelset_new();
            fieldidx_foreach(both[w], c, add_to_set, got);
            double matches = 0;
            for (int i = 0; i < N; i++) {
                if (!filter_eval(e, d[i])) continue;
                matches++;
                if (!fieldidx_labelset_contains(got, (uint64_t)i)) {
                    fprintf(stderr, "  missing doc %d for %s on %s\n", i, filters[fi], w ? "TAG" : "NUMERIC");
                    EXPECT(0);
                }
                if (w == 1) EXPECT(fieldidx_probe(tag, c, (uint64_t)i) == 1);
            }
            EXPECT(fieldidx_count(both[w], c) >= matches);
            fieldidx_labelset_free(got);
        }
        filter_free(e);
    }
    for (int i = 0; i < N; i++) {
        fieldidx_remove_doc(num, (uint64_t)i, d[i]);
        fieldidx_remove_doc(tag, (uint64_t)i, d[i]);
        json_decref(d[i]);
    }
    EXPECT(fieldidx_entries(num) == 0 && fieldidx_entries(tag) == 0);
    fieldidx_free(num);
    fieldidx_free(tag);
    EXPECT(zmalloc_used_memory() == base);
}

static void *json_zmalloc(size_t n) { return zmalloc(n); }
static void json_zfree(void *p) { zfree(p); }

int main(void) {
    json_set_alloc_funcs(json_zmalloc, json_zfree);
    RUN(labelset_model);
    RUN(numeric_model);
    RUN(numeric_sorted_inserts_split_and_merge);
    RUN(numeric_range_stops);
    RUN(tag_index);
    RUN(fields_documents_and_constraints);
    RUN(fields_superset_property);
    RUN(versions);
    return TEST_REPORT();
}

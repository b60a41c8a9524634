/* fuzz_filter.c -- libFuzzer target for the filter language (src/filter.c).
 *
 * Input: an expression, optionally followed by a NUL byte and a JSON text
 * (any JSON value) that becomes one more document to evaluate on. The
 * expression is compiled from an exactly-sized heap copy, so ASan sees any
 * read past its end.
 *
 * When it does not compile: the position is within the input and the
 * message is "syntax error at position <that position>: ..." and fits the
 * buffer; a 1-byte buffer and no buffer at all give the same verdict.
 *
 * When it compiles, on each document (the fuzzer's, NULL, an object with
 * every type, non-object roots, nestings deeper than equality follows):
 * filter_eval() is 0 or 1 and the same on a second compilation; on a match
 * every constraint of filter_constraints() holds, and when the constraints
 * are exact and all hold the filter matches; every path of filter_paths()
 * re-parses from its canonical text to the same text and finds the same
 * value; filter_memory() accounts for what zmalloc handed out; evaluation
 * allocates nothing. A failed check aborts, which libFuzzer reports as a
 * crash with the input saved.
 *
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "zmalloc.h"

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz_filter: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

enum { NDOCS = 8 };
static json_t *docs[NDOCS];

/* Nested arrays or objects (member "a") depth levels deep around leaf. */
static json_t *nest(int depth, int objects, json_t *leaf) {
    json_t *j = leaf;
    for (int i = 0; i < depth; i++) {
        json_t *outer = objects ? json_object() : json_array();
        if (objects) json_object_set_new(outer, "a", j);
        else json_array_append_new(outer, j);
        j = outer;
    }
    return j;
}

static void init_docs(void) {
    static const char *texts[] = {
        "{\"a\":1,\"b\":\"x\",\"c\":[1,\"x\",null,true,2.5,[1]],\"o\":{\"x\":{\"y\":[0,{\"z\":\"deep\"}]}},"
        "\"n\":null,\"t\":true,\"f\":false,\"s\":\"\",\"big\":9223372036854775807,"
        "\"neg\":-9223372036854775808,\"d\":1e300,\"h\":0.5,\"tags\":[\"ai\",\"db\"],\"first-name\":\"Bo\","
        "\"e\":{},\"year\":2021,\"lang\":\"en\",\"price\":9.99,\"0\":\"zero\",\"u\":\"\\u00e9\\u0000x\"}",
        "[1,2,3]",
        "\"str\"",
        "{\"a\":0,\"b\":\"\",\"c\":[],\"o\":{\"x\":null},\"n\":1,\"tags\":\"ai\",\"price\":10}",
    };
    for (int i = 0; i < 4; i++) {
        json_error_t e;
        docs[i] = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        CHECK(docs[i] != NULL);
    }
    docs[4] = NULL;
    json_t *deep = json_object(); /* .a and .b: equal objects 100 levels deep */
    json_object_set_new(deep, "a", nest(100, 1, json_integer(1)));
    json_object_set_new(deep, "b", nest(100, 1, json_integer(1)));
    json_object_set_new(deep, "c", nest(100, 0, json_string("x")));
    json_object_set_new(deep, "d", nest(100, 0, json_string("x")));
    docs[5] = deep;
    docs[6] = json_integer(0);
    docs[7] = NULL; /* the fuzzer's own document, when there is one */
}

static void check_error(const char *src, size_t len, const char *err, size_t pos) {
    char prefix[64];
    CHECK(pos <= len);
    CHECK(memchr(err, '\0', 256) != NULL);
    int n = snprintf(prefix, sizeof(prefix), "syntax error at position %zu: ", pos);
    CHECK(strncmp(err, prefix, (size_t)n) == 0 && strlen(err) > (size_t)n);
    char one[1] = {'x'};
    size_t pos1 = 0;
    CHECK(filter_compile(src, len, one, 1, &pos1) == NULL && one[0] == '\0' && pos1 == pos);
    CHECK(filter_compile(src, len, NULL, 0, NULL) == NULL);
}

static void check_paths(const filter_expr *f) {
    size_t n;
    const filter_path *p = filter_paths(f, &n);
    for (size_t i = 0; i < n; i++) {
        CHECK(strlen(p[i].text) == p[i].text_len && p[i].nsteps > 0);
        char err[256];
        size_t pos;
        filter_path *q = filter_path_parse(p[i].text, p[i].text_len, err, sizeof(err), &pos);
        if (!q) fprintf(stderr, "fuzz_filter: path %s does not re-parse: %s\n", p[i].text, err);
        CHECK(q != NULL);
        CHECK(strcmp(q->text, p[i].text) == 0 && q->nsteps == p[i].nsteps);
        for (int d = 0; d < NDOCS; d++) CHECK(filter_path_get(q, docs[d]) == filter_path_get(&p[i], docs[d]));
        filter_path_free(q);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(p[j].text, p[i].text) != 0); /* distinct */
    }
}

static void check_compiled(filter_expr *f, filter_expr *again) {
    size_t nc;
    int exact;
    const filter_constraint *c = filter_constraints(f, &nc, &exact);
    CHECK(exact == 0 || exact == 1);
    size_t used = zmalloc_used_memory();
    for (int d = 0; d < NDOCS; d++) {
        int r = filter_eval(f, docs[d]);
        CHECK(r == 0 || r == 1);
        CHECK(filter_eval(again, docs[d]) == r);
        int all = 1;
        for (size_t i = 0; i < nc; i++) {
            int k = filter_constraint_eval(&c[i], docs[d]);
            CHECK(k == 0 || k == 1);
            all &= k;
        }
        CHECK(!r || all);
        CHECK(!exact || !all || r);
    }
    CHECK(zmalloc_used_memory() == used);
    check_paths(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!docs[0]) init_docs();
    const uint8_t *nul = memchr(data, '\0', size);
    size_t len = nul ? (size_t)(nul - data) : size;
    if (nul) {
        json_error_t e;
        docs[7] = json_loadb((const char *)nul + 1, size - len - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    }
    char *src = malloc(len ? len : 1);
    memcpy(src, data, len);
    char err[256];
    size_t pos = 12345;
    size_t before = zmalloc_used_memory();
    filter_expr *f = filter_compile(src, len, err, sizeof(err), &pos);
    if (!f) {
        CHECK(zmalloc_used_memory() == before);
        check_error(src, len, err, pos);
    } else {
        CHECK(pos == 0 && err[0] == '\0');
        CHECK(filter_memory(f) == zmalloc_used_memory() - before);
        filter_expr *again = filter_compile(src, len, NULL, 0, NULL);
        CHECK(again != NULL);
        check_compiled(f, again);
        filter_free(again);
        filter_free(f);
    }
    CHECK(zmalloc_used_memory() == before);
    free(src);
    json_decref(docs[7]);
    docs[7] = NULL;
    return 0;
}

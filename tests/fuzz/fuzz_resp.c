/* fuzz_resp.c -- libFuzzer target for the RESP request parser (src/resp.c).
 *
 * Each input is a byte stream as a client would send it. It is parsed
 * three ways and the results must agree:
 *
 *   whole    the complete input in one exactly-sized heap block;
 *   growing  a prefix that grows by steps derived from the input, the
 *            parser resuming on the same (copied) buffer each time;
 *   server   chunks derived from the input, handled like networking.c
 *            received(): parse from the chunk while the query buffer is
 *            empty, keep the tail in a ds, consume parsed prefixes and call
 *            resp_parser_shift(), size the buffer with resp_parser_bulk_hint().
 *
 * After every call: pos <= len. After every command: argc matches the
 * "*<n>" header (or the inline line), every argument lies inside the
 * buffer (multibulk: right after its own "$<len>\r\n" header, in order) or
 * inside the scratch space (inline), lengths respect max_bulk_len, and pos
 * is just past the command. Every buffer is its exact size, so ASan sees
 * any read past the end. The limits (max_bulk_len, max_multibulk_len,
 * unauthenticated) are small and derived from a hash of the input, so the
 * error paths are reached with short inputs. A failed check aborts, which
 * libFuzzer reports as a crash with the input saved.
 *
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "resp.h"
#include "util.h"
#include "zmalloc.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_resp: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

typedef struct fuzz_cfg {
    long long max_bulk, max_mbulk;
    int unauth;
} fuzz_cfg;

/* xorshift64 stream seeded from the input, for chunk sizes. */
typedef struct fuzz_rng {
    uint64_t s;
} fuzz_rng;

static uint64_t rng_next(fuzz_rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static uint64_t fnv1a(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 0x100000001b3ULL;
    return h;
}

static char *heap_copy(const char *p, size_t n) {
    char *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    if (n) memcpy(c, p, n);
    return c;
}

static void setup(resp_parser *p, const fuzz_cfg *cfg) {
    resp_parser_init(p);
    p->max_bulk_len = cfg->max_bulk;
    p->max_multibulk_len = cfg->max_mbulk;
    p->unauthenticated = cfg->unauth;
}

/* Checks a multibulk command found at buf[start..p->pos). */
static void check_multibulk(const resp_parser *p, const char *buf, size_t len, size_t start) {
    CHECK(p->kind == '*');
    const char *cr = memmem(buf + start, p->pos - start, "\r\n", 2);
    CHECK(cr != NULL);
    long long declared = 0;
    CHECK(util_str2ll(buf + start + 1, (size_t)(cr - buf - start - 1), &declared));
    CHECK(declared <= p->max_multibulk_len);
    CHECK(p->argc == (size_t)(declared > 0 ? declared : 0));
    if (p->unauthenticated) CHECK(declared <= 10);
    const char *next = cr + 2; /* where the next "$<len>\r\n" header starts */
    for (size_t i = 0; i < p->argc; i++) {
        const resp_arg *a = &p->argv[i];
        CHECK(a->off <= len && a->len <= len - a->off);
        CHECK(a->ptr == buf + a->off);
        CHECK((long long)a->len <= p->max_bulk_len);
        if (p->unauthenticated) CHECK(a->len <= 16384);
        CHECK(a->ptr >= next + 4 && next[0] == '$');
        CHECK(a->ptr[-2] == '\r' && a->ptr[-1] == '\n');
        long long hdr = -1;
        CHECK(util_str2ll(next + 1, (size_t)(a->ptr - 2 - next - 1), &hdr));
        CHECK(hdr == (long long)a->len);
        next = a->ptr + a->len + 2;
    }
    CHECK(buf + p->pos == next);
}

/* Checks an inline command found at buf[start..p->pos). */
static void check_inline(const resp_parser *p, const char *buf, size_t len, size_t start) {
    CHECK(p->kind == 0);
    const char *nl = memchr(buf + start, '\n', len - start);
    CHECK(nl != NULL);
    CHECK(buf + p->pos == nl + 1);
    CHECK(p->argc <= (size_t)(nl - buf - start));
    size_t cap = p->scratch ? ds_len(p->scratch) : 0;
    for (size_t i = 0; i < p->argc; i++) {
        const resp_arg *a = &p->argv[i];
        CHECK(a->off <= cap && a->len <= cap - a->off);
        CHECK(a->ptr == p->scratch + a->off);
        CHECK(a->off == (i ? p->argv[i - 1].off + p->argv[i - 1].len : 0));
    }
}

static void record(ds *out, const resp_parser *p) {
    *out = ds_catfmt(*out, "%zu", p->argc);
    for (size_t i = 0; i < p->argc; i++) {
        *out = ds_catfmt(*out, " %zu:", p->argv[i].len);
        *out = ds_cat(*out, p->argv[i].ptr, p->argv[i].len);
    }
    *out = ds_cat(*out, "\n", 1);
}

/* Parses every command of buf[0..len) with p, checking and recording each.
 * Returns RESP_INCOMPLETE or RESP_ERROR; *used is the end of the last
 * complete command. */
static int run(resp_parser *p, const char *buf, size_t len, ds *out, size_t *used) {
    *used = 0;
    for (;;) {
        const char *err = NULL;
        size_t before = p->pos;
        /* a command starts where the previous one ended */
        size_t start = p->kind == 0 && p->argc == 0 ? p->pos : (size_t)-1;
        int r = resp_parse(p, buf, len, &err);
        CHECK(p->pos <= len);
        if (r == RESP_OK) {
            CHECK(p->pos > before);
            CHECK(p->argc <= p->argv_cap);
            if (start != (size_t)-1) {
                if (buf[start] == '*') check_multibulk(p, buf, len, start);
                else check_inline(p, buf, len, start);
            }
            record(out, p);
            *used = p->pos;
            resp_parser_next(p);
            continue;
        }
        if (r == RESP_ERROR) {
            CHECK(err != NULL && strncmp(err, "Protocol error: ", 16) == 0);
            *out = ds_catfmt(*out, "!%s\n", err);
            return r;
        }
        CHECK(r == RESP_INCOMPLETE);
        if (p->bulklen >= 0) CHECK(p->kind == '*' && p->bulklen <= p->max_bulk_len);
        return r;
    }
}

static ds parse_whole(const char *data, size_t n, const fuzz_cfg *cfg) {
    resp_parser p;
    setup(&p, cfg);
    char *buf = heap_copy(data, n);
    ds out = ds_empty(64);
    size_t used;
    if (run(&p, buf, n, &out, &used) == RESP_INCOMPLETE) out = ds_catfmt(out, "~%zu\n", n - used);
    free(buf);
    resp_parser_free(&p);
    return out;
}

static ds parse_growing(const char *data, size_t n, const fuzz_cfg *cfg, fuzz_rng *rng) {
    resp_parser p;
    setup(&p, cfg);
    ds out = ds_empty(64);
    size_t len = 0, done = 0, maxstep = n / 24 + 1;
    int failed = 0;
    while (len < n && !failed) {
        len += 1 + (size_t)(rng_next(rng) % maxstep);
        if (len > n) len = n;
        char *buf = heap_copy(data, len);
        size_t used;
        failed = run(&p, buf, len, &out, &used) == RESP_ERROR;
        if (used) done = used;
        free(buf);
    }
    if (!failed) out = ds_catfmt(out, "~%zu\n", n - done);
    resp_parser_free(&p);
    return out;
}

static ds parse_server(const char *data, size_t n, const fuzz_cfg *cfg, fuzz_rng *rng) {
    resp_parser p;
    setup(&p, cfg);
    ds out = ds_empty(64), qbuf = ds_empty(0);
    size_t off = 0, maxchunk = 1 + (size_t)(rng_next(rng) % 64);
    int failed = 0;
    while (off < n && !failed) {
        size_t clen = 1 + (size_t)(rng_next(rng) % maxchunk), used;
        if (clen > n - off) clen = n - off;
        char *chunk = heap_copy(data + off, clen);
        off += clen;
        if (ds_len(qbuf) == 0) {
            failed = run(&p, chunk, clen, &out, &used) == RESP_ERROR;
            CHECK(used <= clen);
            resp_parser_shift(&p, used);
            if (!failed && used < clen) qbuf = ds_cat(qbuf, chunk + used, clen - used);
        } else {
            size_t hint = resp_parser_bulk_hint(&p, ds_len(qbuf));
            if (hint) CHECK(p.kind == '*' && p.bulklen >= 0 && hint <= (size_t)p.bulklen + 2);
            qbuf = ds_make_room(qbuf, hint > clen ? hint : clen);
            qbuf = ds_cat(qbuf, chunk, clen);
            char *exact = heap_copy(qbuf, ds_len(qbuf));
            failed = run(&p, exact, ds_len(qbuf), &out, &used) == RESP_ERROR;
            free(exact);
            if (used) {
                ds_consume(qbuf, used);
                resp_parser_shift(&p, used);
            }
        }
        free(chunk);
    }
    if (!failed) out = ds_catfmt(out, "~%zu\n", ds_len(qbuf));
    ds_free(qbuf);
    resp_parser_free(&p);
    return out;
}

static void same(const ds a, const ds b, const char *what) {
    if (ds_len(a) == ds_len(b) && memcmp(a, b, ds_len(a)) == 0) return;
    fprintf(stderr, "fuzz_resp: %s parse differs from whole-buffer parse\n  whole: %.200s\n  other: %.200s\n",
            what, a, b);
    abort();
}

/* resp_split_inline on the whole input taken as one line. */
static void split_whole(const char *data, size_t n) {
    char *line = heap_copy(data, n);
    ds scratch = ds_empty(0);
    resp_arg *argv = NULL;
    size_t cap = 0;
    long argc = resp_split_inline(line, n, &scratch, &argv, &cap);
    CHECK(argc >= -1);
    if (argc > 0) {
        CHECK((size_t)argc <= cap && (size_t)argc <= n);
        for (long i = 0; i < argc; i++)
            CHECK(argv[i].off <= ds_len(scratch) && argv[i].len <= ds_len(scratch) - argv[i].off);
    }
    CHECK(ds_len(scratch) <= n);
    zfree(argv);
    ds_free(scratch);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const long long bulk_limits[] = {512LL * 1024 * 1024, 0, 1, 3, 8, 64, 1000, 16};
    static const long long mbulk_limits[] = {1024LL * 1024 * 1024, 0, 1, 2, 3, 5, 16, 100};
    uint64_t h = fnv1a(data, size);
    fuzz_cfg cfg = {bulk_limits[h & 7], mbulk_limits[(h >> 3) & 7], ((h >> 6) & 3) == 0};
    fuzz_rng rng = {h | 1};
    const char *in = (const char *)data;

    ds whole = parse_whole(in, size, &cfg);
    ds grow = parse_growing(in, size, &cfg, &rng);
    same(whole, grow, "growing-buffer");
    ds serv = parse_server(in, size, &cfg, &rng);
    same(whole, serv, "chunked (server-style)");
    split_whole(in, size);
    ds_free(whole);
    ds_free(grow);
    ds_free(serv);
    return 0;
}

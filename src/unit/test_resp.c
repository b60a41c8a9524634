/* test_resp.c -- unit tests for the RESP request parser (resp.c).
 *
 * The central check is that the way bytes arrive never changes what is
 * parsed. Each input is run through three feeders and their transcripts
 * (every command with its arguments, then how the input ended: incomplete
 * with how many bytes left over, or the error message) must be identical:
 *
 *   whole    the complete input in one buffer;
 *   growing  one buffer that grows one byte (or n bytes) at a time, the
 *            parser resuming where it stopped (resp.h's contract);
 *   server   the owner loop of networking.c received(): parse straight
 *            from each arriving chunk while the query buffer is empty,
 *            keep the unparsed tail in a ds, consume parsed prefixes and
 *            tell the parser with resp_parser_shift(), size the buffer
 *            with resp_parser_bulk_hint().
 *
 * Every buffer handed to the parser is an exactly-sized heap block, so a
 * read past its end is caught under ASan. Arguments are checked to lie
 * inside the buffer (multibulk) or the scratch space (inline) before they
 * are read. Error texts are compared with Redis 7's exact wording. */
#include "buf.h"
#include "resp.h"
#include "test.h"
#include "zmalloc.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *heap_copy(const char *p, size_t n) {
    char *c = malloc(n ? n : 1);
    if (n) memcpy(c, p, n);
    return c;
}

/* ------------------------------------------------------------ feeders */

typedef struct parse_cfg {
    long long max_bulk;  /* 0: default */
    long long max_mbulk; /* 0: default */
    int unauth;
} parse_cfg;

static void parser_setup(resp_parser *p, const parse_cfg *cfg) {
    resp_parser_init(p);
    if (!cfg) return;
    if (cfg->max_bulk) p->max_bulk_len = cfg->max_bulk;
    if (cfg->max_mbulk) p->max_multibulk_len = cfg->max_mbulk;
    p->unauthenticated = cfg->unauth;
}

static int bounds_failures;

/* Appends the command p holds (just returned RESP_OK on buf[0..len)) to
 * *out as "<argc>[ <len>:<bytes>]...\n", after checking every argument
 * lies inside buf (multibulk) or p->scratch (inline). */
static void record_cmd(ds *out, const resp_parser *p, const char *buf, size_t len) {
    if (p->argc > p->argv_cap || p->pos > len) bounds_failures++;
    *out = ds_catfmt(*out, "%zu", p->argc);
    for (size_t i = 0; i < p->argc; i++) {
        const resp_arg *a = &p->argv[i];
        const char *lo = p->kind == '*' ? buf : p->scratch;
        size_t cap = p->kind == '*' ? len : (p->scratch ? ds_len(p->scratch) : 0);
        if (a->ptr != lo + a->off || a->off > cap || a->len > cap - a->off) {
            bounds_failures++;
            *out = ds_catfmt(*out, " <out of bounds>");
            continue;
        }
        *out = ds_catfmt(*out, " %zu:", a->len);
        *out = ds_cat(*out, a->ptr, a->len);
    }
    *out = ds_cat(*out, "\n", 1);
}

/* Parses every command in buf[0..len) with p; records them. Returns
 * RESP_INCOMPLETE or RESP_ERROR (error recorded); *used gets the end of
 * the last complete command. */
static int run_parser(resp_parser *p, const char *buf, size_t len, ds *out, size_t *used) {
    *used = 0;
    for (;;) {
        const char *err = NULL;
        size_t before = p->pos;
        int r = resp_parse(p, buf, len, &err);
        if (p->pos > len) bounds_failures++;
        if (r == RESP_OK) {
            if (p->pos <= before) bounds_failures++; /* a command is at least one byte */
            record_cmd(out, p, buf, len);
            *used = p->pos;
            resp_parser_next(p);
            continue;
        }
        if (r == RESP_ERROR) {
            *out = ds_catfmt(*out, "!%s\n", err ? err : "(null)");
            return r;
        }
        if (r != RESP_INCOMPLETE) bounds_failures++;
        return r;
    }
}

/* Transcript of data parsed from one buffer. Caller frees. */
static ds feed_whole(const char *data, size_t n, const parse_cfg *cfg) {
    resp_parser p;
    parser_setup(&p, cfg);
    char *buf = heap_copy(data, n);
    ds out = ds_empty(64);
    size_t used;
    if (run_parser(&p, buf, n, &out, &used) == RESP_INCOMPLETE)
        out = ds_catfmt(out, "~incomplete %zu\n", n - used);
    free(buf);
    resp_parser_free(&p);
    return out;
}

/* Transcript of data arriving as a growing prefix, step bytes more each
 * time (step 0: random steps of 1..16); the owner never consumes. */
static ds feed_growing(const char *data, size_t n, size_t step, const parse_cfg *cfg) {
    resp_parser p;
    parser_setup(&p, cfg);
    ds out = ds_empty(64);
    size_t done = 0, len = 0;
    int failed = 0;
    while (len < n) {
        len += step ? step : 1 + (size_t)(rng_next() % 16);
        if (len > n) len = n;
        char *buf = heap_copy(data, len);
        size_t used;
        int r = run_parser(&p, buf, len, &out, &used);
        if (used) done = used;
        free(buf);
        if (r == RESP_ERROR) {
            failed = 1;
            break;
        }
    }
    if (!failed) out = ds_catfmt(out, "~incomplete %zu\n", n - done);
    resp_parser_free(&p);
    return out;
}

/* Transcript of data arriving in the given chunks, handled as
 * networking.c received() does. */
static ds feed_server(const char *data, const size_t *chunks, size_t nchunks, const parse_cfg *cfg) {
    resp_parser p;
    parser_setup(&p, cfg);
    ds out = ds_empty(64), qbuf = ds_empty(0);
    size_t off = 0;
    int failed = 0;
    for (size_t k = 0; k < nchunks && !failed; k++) {
        size_t clen = chunks[k], used;
        char *chunk = heap_copy(data + off, clen);
        off += clen;
        if (ds_len(qbuf) == 0) {
            failed = run_parser(&p, chunk, clen, &out, &used) == RESP_ERROR;
            resp_parser_shift(&p, used);
            if (!failed && used < clen) qbuf = ds_cat(qbuf, chunk + used, clen - used);
        } else {
            size_t hint = resp_parser_bulk_hint(&p, ds_len(qbuf));
            qbuf = ds_make_room(qbuf, hint > clen ? hint : clen);
            qbuf = ds_cat(qbuf, chunk, clen);
            char *exact = heap_copy(qbuf, ds_len(qbuf));
            failed = run_parser(&p, exact, ds_len(qbuf), &out, &used) == RESP_ERROR;
            free(exact);
            if (used) {
                ds_consume(qbuf, used);
                resp_parser_shift(&p, used);
            }
        }
        free(chunk);
    }
    if (!failed) out = ds_catfmt(out, "~incomplete %zu\n", ds_len(qbuf));
    ds_free(qbuf);
    resp_parser_free(&p);
    return out;
}

/* Server feeder with chunks of a fixed size (the last one shorter). */
static ds feed_server_fixed(const char *data, size_t n, size_t size, const parse_cfg *cfg) {
    size_t nch = n / size + 1, k = 0;
    size_t *ch = malloc(nch * sizeof(size_t));
    for (size_t off = 0; off < n; off += size) ch[k++] = n - off < size ? n - off : size;
    ds t = feed_server(data, ch, k, cfg);
    free(ch);
    return t;
}

static void show_diff(const char *what, const ds want, const ds got) {
    fprintf(stderr, "  %s differs:\n  want: %.300s\n  got:  %.300s\n", what, want, got);
}

/* Whole vs byte-by-byte growing vs byte-by-byte server chunks. */
static int same_every_way(const char *data, size_t n, const parse_cfg *cfg) {
    ds whole = feed_whole(data, n, cfg);
    ds grow = feed_growing(data, n, 1, cfg);
    ds serv = feed_server_fixed(data, n, 1, cfg);
    int ok = 1;
    if (strcmp(whole, grow) != 0) {
        show_diff("byte-by-byte growing buffer", whole, grow);
        ok = 0;
    }
    if (strcmp(whole, serv) != 0) {
        show_diff("one-byte server chunks", whole, serv);
        ok = 0;
    }
    ds_free(whole);
    ds_free(grow);
    ds_free(serv);
    return ok;
}

/* The whole-buffer transcript of s equals want. */
static int parses_to(const char *s, size_t n, const parse_cfg *cfg, const char *want) {
    ds got = feed_whole(s, n, cfg);
    int ok = strcmp(got, want) == 0;
    if (!ok) fprintf(stderr, "  input \"%.60s\"\n  want: %s  got:  %s", s, want, got);
    ds_free(got);
    return ok;
}

#define PARSES_TO(lit, want) parses_to(lit, sizeof(lit) - 1, NULL, want)

/* ------------------------------------------------------------ multibulk */

TEST(test_multibulk_whole) {
    const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    size_t n = sizeof(in) - 1;
    char *buf = heap_copy(in, n);
    resp_parser p;
    resp_parser_init(&p);
    const char *err = NULL;
    EXPECT(resp_parse(&p, buf, n, &err) == RESP_OK);
    EXPECT(p.pos == n);
    ASSERT(p.argc == 3);
    EXPECT(p.argv[0].len == 3 && memcmp(p.argv[0].ptr, "SET", 3) == 0);
    EXPECT(p.argv[1].len == 3 && memcmp(p.argv[1].ptr, "key", 3) == 0);
    EXPECT(p.argv[2].len == 5 && memcmp(p.argv[2].ptr, "value", 5) == 0);
    /* arguments point into the buffer: no copy */
    for (size_t i = 0; i < 3; i++) EXPECT(p.argv[i].ptr == buf + p.argv[i].off);
    EXPECT(p.argv[0].off == 8 && p.argv[1].off == 17 && p.argv[2].off == 26);
    resp_parser_next(&p);
    EXPECT(p.argc == 0 && p.pos == n);
    EXPECT(resp_parse(&p, buf, n, &err) == RESP_INCOMPLETE);
    resp_parser_free(&p);
    resp_parser_free(&p); /* idempotent */
    free(buf);
    EXPECT(PARSES_TO("*1\r\n$4\r\nPING\r\n", "1 4:PING\n~incomplete 0\n"));
    EXPECT(PARSES_TO("*2\r\n$0\r\n\r\n$1\r\nx\r\n", "2 0: 1:x\n~incomplete 0\n"));
    EXPECT(PARSES_TO("*1\r\n$3\r\nfoo\r\n*1\r\n$3\r\nba", "1 3:foo\n~incomplete 10\n"));
}

TEST(test_byte_by_byte) {
    static const char *inputs[] = {
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
        "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n",
        "PING\r\nset a b\r\n*1\r\n$4\r\nPING\r\n\r\n*0\r\n",
        "*2\r\n$3\r\nGET\r\n$10\r\n\r\n*1\r\n$1\r\n\r\n",
        "*1\r\n$3\r\nfoo\r\n*abc\r\n",
        "*2\r\n$3\r\nfoo\r\nx",
        "set \"a b\" 'c d' \"\\x41\\n\"\r\nget a\n",
        "get \"unbalanced\r\n",
        "*1\r\n$-5\r\n",
        "*2\r\n$3\r\nfoo\r\n$3\r\nba",
        "*-1\r\n*0\r\n\n\r\n   \r\nPING\n",
        "*1\r\r\n",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        EXPECT(same_every_way(inputs[i], strlen(inputs[i]), NULL));
    parse_cfg small = {16, 4, 0}, unauth = {0, 0, 1};
    const char big[] = "*4\r\n$1\r\na\r\n$16\r\n0123456789abcdef\r\n$17\r\n";
    EXPECT(same_every_way(big, sizeof(big) - 1, &small));
    const char many[] = "*11\r\n$1\r\na\r\n";
    EXPECT(same_every_way(many, sizeof(many) - 1, &unauth));
}

/* A pipeline of several commands split at every point into two chunks,
 * and a shorter one at every pair of points into three. */
TEST(test_every_split) {
    const char pipe[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\0x\r\n"
                        "PING\r\n"
                        "*0\r\n"
                        "\r\n"
                        "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
                        "echo \"q \\x41\" 'z'\n"
                        "*1\r\n$4\r\nQUIT\r\n"
                        "*2\r\n$3\r\nGET";
    size_t n = sizeof(pipe) - 1;
    ds want = feed_whole(pipe, n, NULL);
    const char first[] = "3 3:SET 1:k 5:v\r\n\0x\n1 4:PING\n0\n0\n2 4:ECHO 0:\n3 4:echo 3:q A 1:z\n";
    EXPECT(ds_len(want) > sizeof(first) && memcmp(want, first, sizeof(first) - 1) == 0);
    EXPECT(memmem(want, ds_len(want), "1 4:QUIT\n~incomplete 11\n", 24) != NULL);
    long bad = 0;
    for (size_t s = 0; s <= n; s++) {
        size_t ch[2] = {s, n - s};
        ds got = feed_server(pipe, ch, 2, NULL);
        if (strcmp(got, want) != 0) {
            if (!bad) show_diff("two-chunk split", want, got);
            bad++;
        }
        ds_free(got);
    }
    EXPECT(bad == 0);
    const char shorter[] = "*2\r\n$3\r\nGET\r\n$2\r\nab\r\nPING x\r\n*1\r\n$0\r\n\r\n";
    size_t m = sizeof(shorter) - 1;
    ds want2 = feed_whole(shorter, m, NULL);
    bad = 0;
    for (size_t a = 0; a <= m; a++)
        for (size_t b = a; b <= m; b++) {
            size_t ch[3] = {a, b - a, m - b};
            ds got = feed_server(shorter, ch, 3, NULL);
            if (strcmp(got, want2) != 0) {
                if (!bad) show_diff("three-chunk split", want2, got);
                bad++;
            }
            ds_free(got);
        }
    EXPECT(bad == 0);
    EXPECT(bounds_failures == 0);
    ds_free(want);
    ds_free(want2);
}

TEST(test_binary_bulks) {
    /* NUL, CR LF and protocol-looking bytes inside bulks are data */
    const char in[] = "*3\r\n$5\r\na\0b\0c\r\n$8\r\n\r\n*1\r\n$1\r\n$0\r\n\r\n";
    size_t n = sizeof(in) - 1;
    char *buf = heap_copy(in, n);
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    EXPECT(resp_parse(&p, buf, n, &err) == RESP_OK);
    ASSERT(p.argc == 3);
    EXPECT(p.argv[0].len == 5 && memcmp(p.argv[0].ptr, "a\0b\0c", 5) == 0);
    EXPECT(p.argv[1].len == 8 && memcmp(p.argv[1].ptr, "\r\n*1\r\n$1", 8) == 0);
    EXPECT(p.argv[2].len == 0);
    EXPECT(p.pos == n);
    resp_parser_free(&p);
    free(buf);
    EXPECT(same_every_way(in, n, NULL));
    /* every byte value in one bulk */
    char all[256 + 32];
    int h = snprintf(all, sizeof(all), "*1\r\n$256\r\n");
    for (int i = 0; i < 256; i++) all[h + i] = (char)i;
    memcpy(all + h + 256, "\r\n", 2);
    ds t = feed_whole(all, (size_t)h + 258, NULL);
    EXPECT(ds_len(t) > 256 && memcmp(t, "1 256:", 6) == 0 && memcmp(t + 6, all + h, 256) == 0);
    ds_free(t);
}

/* Redis does not check the two bytes after a bulk's data; neither does
 * the parser (documented in resp.c): they are skipped. */
TEST(test_bulk_trailer_not_checked) {
    EXPECT(PARSES_TO("*1\r\n$3\r\nfooXY*1\r\n$4\r\nPING\r\n", "1 3:foo\n1 4:PING\n~incomplete 0\n"));
}

/* ------------------------------------------------------------ inline */

TEST(test_inline) {
    EXPECT(PARSES_TO("PING\r\n", "1 4:PING\n~incomplete 0\n"));
    EXPECT(PARSES_TO("PING\n", "1 4:PING\n~incomplete 0\n"));
    EXPECT(PARSES_TO("set a b\r\n", "3 3:set 1:a 1:b\n~incomplete 0\n"));
    EXPECT(PARSES_TO("  set\t a   b  \r\n", "3 3:set 1:a 1:b\n~incomplete 0\n"));
    EXPECT(PARSES_TO("PING", "~incomplete 4\n"));
    EXPECT(PARSES_TO("PING\r", "~incomplete 5\n"));
    EXPECT(PARSES_TO("a\r\nb\nc", "1 1:a\n1 1:b\n~incomplete 1\n"));
    /* a lone CR inside the line is a separator, as in sdssplitargs */
    EXPECT(PARSES_TO("a\rb\r\n", "2 1:a 1:b\n~incomplete 0\n"));
    /* inline arguments live in the parser's scratch space */
    const char in[] = "get \"k\\x41\"\r\n";
    char *buf = heap_copy(in, sizeof(in) - 1);
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    EXPECT(resp_parse(&p, buf, sizeof(in) - 1, &err) == RESP_OK);
    ASSERT(p.argc == 2);
    EXPECT(p.argv[1].ptr == p.scratch + p.argv[1].off);
    EXPECT(p.argv[1].len == 2 && memcmp(p.argv[1].ptr, "kA", 2) == 0);
    resp_parser_free(&p);
    free(buf);
}

TEST(test_inline_quotes_and_escapes) {
    EXPECT(PARSES_TO("set \"a b\" 'c d'\r\n", "3 3:set 3:a b 3:c d\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\"\\x41\\x42\" \"\\x4a\\x4A\"\r\n", "2 2:AB 2:JJ\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", "1 7:\n\r\t\b\a\\\"\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\"\\xZZ\" \"\\x4\"\r\n", "2 3:xZZ 2:x4\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\"\\q\"\r\n", "1 1:q\n~incomplete 0\n"));
    EXPECT(PARSES_TO("'it\\'s' 'a\\nb'\r\n", "2 4:it's 4:a\\nb\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\"\" ''\r\n", "2 0: 0:\n~incomplete 0\n"));
    EXPECT(PARSES_TO("foo\"bar baz\"\r\n", "1 10:foobar baz\n~incomplete 0\n"));
    /* binary through \x escapes, NUL included */
    ds t = feed_whole("\"a\\x00b\"\n", 9, NULL);
    EXPECT(ds_len(t) == 22 && memcmp(t, "1 3:a\0b\n~incomplete 0\n", 22) == 0);
    ds_free(t);
}

TEST(test_inline_unbalanced) {
    const char *want = "!Protocol error: unbalanced quotes in request\n";
    EXPECT(PARSES_TO("set \"foo\r\n", want));
    EXPECT(PARSES_TO("set 'foo\r\n", want));
    EXPECT(PARSES_TO("\"foo\"bar\r\n", want));
    EXPECT(PARSES_TO("'foo'bar\r\n", want));
    EXPECT(PARSES_TO("\"\\\"\r\n", want));
    EXPECT(PARSES_TO("\"a\\\r\n", want));
    EXPECT(PARSES_TO("PING\r\n\"x\r\n", "1 4:PING\n!Protocol error: unbalanced quotes in request\n"));
}

TEST(test_empty_commands) {
    EXPECT(PARSES_TO("\r\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("   \t \r\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("*0\r\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("*-1\r\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("*-5\r\n", "0\n~incomplete 0\n"));
    EXPECT(PARSES_TO("\r\n\r\n*0\r\nPING\r\n", "0\n0\n0\n1 4:PING\n~incomplete 0\n"));
    /* the position moves past each empty command */
    const char in[] = "\r\n*0\r\n\n";
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    char *buf = heap_copy(in, 7);
    EXPECT(resp_parse(&p, buf, 7, &err) == RESP_OK && p.argc == 0 && p.pos == 2);
    resp_parser_next(&p);
    EXPECT(resp_parse(&p, buf, 7, &err) == RESP_OK && p.argc == 0 && p.pos == 6);
    resp_parser_next(&p);
    EXPECT(resp_parse(&p, buf, 7, &err) == RESP_OK && p.argc == 0 && p.pos == 7);
    resp_parser_next(&p);
    EXPECT(resp_parse(&p, buf, 7, &err) == RESP_INCOMPLETE);
    resp_parser_free(&p);
    free(buf);
}

/* ------------------------------------------------------------ errors */

TEST(test_error_wording) {
    static const struct {
        const char *in, *err;
    } cases[] = {
        {"*abc\r\n", "Protocol error: invalid multibulk length"},
        {"*\r\n", "Protocol error: invalid multibulk length"},
        {"*1x\r\n", "Protocol error: invalid multibulk length"},
        {"*+1\r\n", "Protocol error: invalid multibulk length"},
        {"*01\r\n", "Protocol error: invalid multibulk length"},
        {"* 1\r\n", "Protocol error: invalid multibulk length"},
        {"*2147483648\r\n", "Protocol error: invalid multibulk length"},
        {"*99999999999999999999\r\n", "Protocol error: invalid multibulk length"},
        {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$-0\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$+3\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$03\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$3x\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$ 3\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$99999999999999999999\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$9223372036854775807\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\nx", "Protocol error: expected '$', got 'x'"},
        {"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
        {"*2\r\n$1\r\na\r\n+ok\r\n", "Protocol error: expected '$', got '+'"},
        {"*2\r\n$1\r\na\r\n*1\r\n", "Protocol error: expected '$', got '*'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "!%s\n", cases[i].err);
        const char *in = cases[i].in;
        size_t n = strlen(in);
        ds got = feed_whole(in, n, NULL);
        /* the error ends the transcript; commands before it may precede */
        size_t wl = strlen(want);
        int ok = ds_len(got) >= wl && strcmp(got + ds_len(got) - wl, want) == 0;
        if (!ok) fprintf(stderr, "  input \"%s\": want %s  got %s", in, want, got);
        EXPECT(ok);
        ds_free(got);
        EXPECT(same_every_way(in, n, NULL));
    }
    /* the largest allowed lengths (the defaults: 1 G arguments, 512 MB
     * bulks) are not errors */
    EXPECT(PARSES_TO("*1073741824\r\n", "~incomplete 13\n"));
    EXPECT(PARSES_TO("*1073741825\r\n", "!Protocol error: invalid multibulk length\n"));
    EXPECT(PARSES_TO("*1\r\n$536870912\r\n", "~incomplete 16\n"));
}

/* "*1073741824" must not make the parser allocate for the declared count:
 * argv grows with the arguments actually received. */
TEST(test_declared_count_does_not_allocate) {
    size_t base = zmalloc_used_memory();
    const char in[] = "*1073741824\r\n$1\r\na\r\n$1\r\nb\r\n";
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    char *buf = heap_copy(in, sizeof(in) - 1);
    EXPECT(resp_parse(&p, buf, sizeof(in) - 1, &err) == RESP_INCOMPLETE);
    EXPECT(p.argc == 2);
    EXPECT(zmalloc_used_memory() - base < 4096);
    resp_parser_free(&p);
    free(buf);
    EXPECT(zmalloc_used_memory() == base);
}

/* Builds c followed by n copies of fill (and tail) in a heap block. */
static char *make_run(const char *head, char fill, size_t n, const char *tail, size_t *len) {
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = malloc(hl + n + tl);
    memcpy(b, head, hl);
    memset(b + hl, fill, n);
    memcpy(b + hl + n, tail, tl);
    *len = hl + n + tl;
    return b;
}

static int big_case(const char *head, char fill, size_t n, const char *tail, const char *want_end) {
    size_t len;
    char *b = make_run(head, fill, n, tail, &len);
    ds whole = feed_whole(b, len, NULL);
    ds chunked = feed_server_fixed(b, len, 1000, NULL);
    ds grown = feed_growing(b, len, 4093, NULL);
    size_t wl = strlen(want_end);
    int ok = ds_len(whole) >= wl && strcmp(whole + ds_len(whole) - wl, want_end) == 0;
    if (!ok)
        fprintf(stderr, "  \"%s\" + %zu x '%c': want ...%s  got %.200s\n", head, n, fill, want_end, whole);
    if (strcmp(whole, chunked) != 0 || strcmp(whole, grown) != 0) {
        show_diff("chunked big input", whole, strcmp(whole, chunked) ? chunked : grown);
        ok = 0;
    }
    ds_free(whole);
    ds_free(chunked);
    ds_free(grown);
    free(b);
    return ok;
}

TEST(test_too_big_errors) {
    /* count lines: more than 64 KB without CR LF */
    EXPECT(big_case("*", '1', 65536, "", "!Protocol error: too big mbulk count string\n"));
    EXPECT(big_case("*", '1', 65535, "", "~incomplete 65536\n"));
    EXPECT(big_case("*1\r\n$", '1', 65536, "", "!Protocol error: too big bulk count string\n"));
    EXPECT(big_case("*1\r\n$", '1', 65535, "", "~incomplete 65540\n"));
    /* inline lines */
    EXPECT(big_case("", 'a', 65537, "", "!Protocol error: too big inline request\n"));
    EXPECT(big_case("", 'a', 65536, "", "~incomplete 65536\n"));
    EXPECT(big_case("", 'a', 65537, "\n", "!Protocol error: too big inline request\n"));
    EXPECT(big_case("x ", 'a', 65533, "\r\n", "~incomplete 0\n"));
    /* a bulk may be far bigger than a line */
    EXPECT(big_case("*1\r\n$200000\r\n", 'v', 200000, "\r\n", "~incomplete 0\n"));
}

TEST(test_unauthenticated_limits) {
    parse_cfg un = {0, 0, 1}, au = {0, 0, 0};
    EXPECT(parses_to("*11\r\n", 5, &un, "!Protocol error: unauthenticated multibulk length\n"));
    EXPECT(parses_to("*10\r\n", 5, &un, "~incomplete 5\n"));
    EXPECT(parses_to("*11\r\n", 5, &au, "~incomplete 5\n"));
    EXPECT(parses_to("*1\r\n$16385\r\n", 13, &un, "!Protocol error: unauthenticated bulk length\n"));
    EXPECT(parses_to("*1\r\n$16384\r\n", 13, &un, "~incomplete 13\n"));
    EXPECT(parses_to("*1\r\n$16385\r\n", 13, &au, "~incomplete 13\n"));
    /* the generic checks come first, as in Redis */
    EXPECT(parses_to("*abc\r\n", 6, &un, "!Protocol error: invalid multibulk length\n"));
    EXPECT(parses_to("*2147483648\r\n", 13, &un, "!Protocol error: invalid multibulk length\n"));
    EXPECT(parses_to("*1\r\n$-1\r\n", 9, &un, "!Protocol error: invalid bulk length\n"));
    /* inline commands have no extra limit */
    EXPECT(parses_to("AUTH a b c d e f g h i j k\r\n", 28, &un,
                     "12 4:AUTH 1:a 1:b 1:c 1:d 1:e 1:f 1:g 1:h 1:i 1:j 1:k\n~incomplete 0\n"));
    const char in[] = "*11\r\n$1\r\na\r\n";
    EXPECT(same_every_way(in, sizeof(in) - 1, &un));
}

TEST(test_configured_limits) {
    parse_cfg c = {10, 5, 0};
    EXPECT(parses_to("*1\r\n$10\r\n0123456789\r\n", 21, &c, "1 10:0123456789\n~incomplete 0\n"));
    EXPECT(parses_to("*1\r\n$11\r\n", 9, &c, "!Protocol error: invalid bulk length\n"));
    EXPECT(parses_to("*5\r\n", 4, &c, "~incomplete 4\n"));
    EXPECT(parses_to("*6\r\n", 4, &c, "!Protocol error: invalid multibulk length\n"));
    parse_cfg one = {1, 0, 0};
    EXPECT(parses_to("*2\r\n$0\r\n\r\n$1\r\nx\r\n", 17, &one, "2 0: 1:x\n~incomplete 0\n"));
    EXPECT(parses_to("*1\r\n$2\r\n", 8, &one, "!Protocol error: invalid bulk length\n"));
}

/* ------------------------------------------------------------ owner API */

/* The owner consumes the completed commands and appends what arrives
 * next: argument offsets of the half-parsed command must follow. */
TEST(test_shift_semantics) {
    const char a[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nfoo\r\n$3\r\nba";
    size_t na = sizeof(a) - 1;
    char *buf = heap_copy(a, na);
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    EXPECT(resp_parse(&p, buf, na, &err) == RESP_OK && p.argc == 1);
    size_t used = p.pos;
    EXPECT(used == 14);
    resp_parser_next(&p);
    EXPECT(resp_parse(&p, buf, na, &err) == RESP_INCOMPLETE);
    EXPECT(p.argc == 1 && p.argv[0].off == 22); /* foo already read */
    EXPECT(p.pos == 31 && p.bulklen == 3);      /* inside the second argument's data */
    /* consume the first command, append the rest of the second */
    size_t nb = na - used + 3;
    char *buf2 = malloc(nb);
    memcpy(buf2, buf + used, na - used);
    memcpy(buf2 + na - used, "r\r\n", 3);
    free(buf);
    resp_parser_shift(&p, used);
    EXPECT(p.pos == 17 && p.argv[0].off == 8);
    EXPECT(resp_parse(&p, buf2, nb, &err) == RESP_OK);
    ASSERT(p.argc == 2);
    EXPECT(p.argv[0].ptr == buf2 + 8 && memcmp(p.argv[0].ptr, "foo", 3) == 0);
    EXPECT(p.argv[1].len == 3 && memcmp(p.argv[1].ptr, "bar", 3) == 0);
    EXPECT(p.pos == nb);
    resp_parser_next(&p);
    /* shift everything away: back to an empty buffer */
    resp_parser_shift(&p, p.pos);
    EXPECT(p.pos == 0);
    resp_parser_shift(&p, 0);
    EXPECT(p.pos == 0);
    EXPECT(resp_parse(&p, buf2, 0, &err) == RESP_INCOMPLETE);
    free(buf2);
    resp_parser_free(&p);

    /* shifting in the middle of a bulk's data, as the fast path does */
    const char c[] = "*2\r\n$1\r\nx\r\n$10\r\n01234";
    size_t nc = sizeof(c) - 1;
    buf = heap_copy(c, nc);
    resp_parser_init(&p);
    EXPECT(resp_parse(&p, buf, nc, &err) == RESP_INCOMPLETE);
    EXPECT(p.argc == 1 && p.bulklen == 10);
    size_t hint = resp_parser_bulk_hint(&p, nc);
    EXPECT(hint == 7); /* "56789\r\n" */
    resp_parser_shift(&p, 0);
    EXPECT(resp_parser_bulk_hint(&p, nc) == hint);
    char *buf3 = malloc(nc + 7);
    memcpy(buf3, buf, nc);
    memcpy(buf3 + nc, "56789\r\n", 7);
    free(buf);
    EXPECT(resp_parse(&p, buf3, nc + 7, &err) == RESP_OK);
    EXPECT(p.argc == 2 && p.argv[1].len == 10 && memcmp(p.argv[1].ptr, "0123456789", 10) == 0);
    EXPECT(p.argv[0].ptr == buf3 + 8);
    free(buf3);
    resp_parser_free(&p);
}

TEST(test_bulk_hint) {
    resp_parser p;
    resp_parser_init(&p);
    EXPECT(resp_parser_bulk_hint(&p, 0) == 0);
    const char *err;
    const char a[] = "*1\r\n$100\r\n0123456789";
    char *buf = heap_copy(a, 20);
    EXPECT(resp_parse(&p, buf, 20, &err) == RESP_INCOMPLETE);
    EXPECT(p.pos == 10);
    EXPECT(resp_parser_bulk_hint(&p, 20) == 92);
    EXPECT(resp_parser_bulk_hint(&p, 111) == 1);
    EXPECT(resp_parser_bulk_hint(&p, 112) == 0);
    EXPECT(resp_parser_bulk_hint(&p, 500) == 0);
    resp_parser_free(&p);
    free(buf);
    /* a header not yet complete, or an inline line: unknown */
    resp_parser_init(&p);
    buf = heap_copy("*1\r\n$10", 7);
    EXPECT(resp_parse(&p, buf, 7, &err) == RESP_INCOMPLETE);
    EXPECT(resp_parser_bulk_hint(&p, 7) == 0);
    free(buf);
    resp_parser_free(&p);
    resp_parser_init(&p);
    buf = heap_copy("PIN", 3);
    EXPECT(resp_parse(&p, buf, 3, &err) == RESP_INCOMPLETE);
    EXPECT(resp_parser_bulk_hint(&p, 3) == 0);
    free(buf);
    resp_parser_free(&p);
}

/* A 1 MB value arriving in 16 KB reads: the owner's buffer is sized in one
 * step from the hint, and the value comes out intact. */
TEST(test_big_value_in_pieces) {
    size_t vlen = 1 << 20;
    size_t len;
    char head[32];
    snprintf(head, sizeof(head), "*2\r\n$3\r\nSET\r\n$%zu\r\n", vlen);
    char *in = make_run(head, 'v', vlen, "\r\n", &len);
    for (size_t i = 0; i < vlen; i += 4099) in[strlen(head) + i] = (char)('a' + i % 26);
    resp_parser p;
    resp_parser_init(&p);
    ds qbuf = ds_empty(0);
    size_t off = 0, grows = 0, got_len = 0;
    int ok_count = 0, identical = 0;
    const char *err;
    while (off < len) {
        size_t clen = len - off < 16384 ? len - off : 16384;
        size_t hint = resp_parser_bulk_hint(&p, ds_len(qbuf));
        size_t cap = ds_cap(qbuf);
        qbuf = ds_make_room(qbuf, hint > clen ? hint : clen);
        qbuf = ds_cat(qbuf, in + off, clen);
        if (ds_cap(qbuf) != cap) grows++;
        off += clen;
        int r = resp_parse(&p, qbuf, ds_len(qbuf), &err);
        EXPECT(r != RESP_ERROR);
        if (r == RESP_OK) {
            ok_count++;
            got_len = p.argv[1].len;
            identical = got_len == vlen && memcmp(p.argv[1].ptr, in + strlen(head), vlen) == 0;
            ds_consume(qbuf, p.pos);
            resp_parser_shift(&p, p.pos);
            resp_parser_next(&p);
        }
    }
    printf("  1 MB value in 16 KB pieces: query buffer grew %zu times\n", grows);
    EXPECT(ok_count == 1 && identical);
    EXPECT(grows <= 3);
    EXPECT(ds_len(qbuf) == 0);
    ds_free(qbuf);
    resp_parser_free(&p);
    free(in);
}

/* ------------------------------------------------------------ volume */

TEST(test_10000_pipelined) {
    size_t base = zmalloc_used_memory();
    ds in = ds_empty(0), want = ds_empty(0);
    for (int i = 0; i < 10000; i++) {
        char key[32], val[64];
        int kl = snprintf(key, sizeof(key), "key:%d", i);
        int vl = snprintf(val, sizeof(val), "value-%d-%s", i * 7, (i % 3) ? "x" : "\r\n");
        if (i % 3 == 0) { /* binary tail: CR LF NUL y */
            val[vl++] = '\0';
            val[vl++] = 'y';
        }
        if (i % 10 == 9) {
            in = ds_catfmt(in, "SET %s v%d\r\n", key, i);
            want = ds_catfmt(want, "3 3:SET %d:%s %d:v%d\n", kl, key, (int)snprintf(NULL, 0, "v%d", i), i);
            continue;
        }
        in = ds_catfmt(in, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", kl, key, vl);
        in = ds_cat(in, val, (size_t)vl);
        in = ds_cat(in, "\r\n", 2);
        want = ds_catfmt(want, "3 3:SET %d:%s %d:", kl, key, vl);
        want = ds_cat(want, val, (size_t)vl);
        want = ds_cat(want, "\n", 1);
    }
    want = ds_cat(want, "~incomplete 0\n", 14);
    ds whole = feed_whole(in, ds_len(in), NULL);
    EXPECT(ds_len(whole) == ds_len(want) && memcmp(whole, want, ds_len(want)) == 0);
    size_t sizes[] = {4096, 16384, 7, 1};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        ds got = feed_server_fixed(in, ds_len(in), sizes[k], NULL);
        if (ds_len(got) != ds_len(want) || memcmp(got, want, ds_len(want)) != 0) {
            fprintf(stderr, "  chunks of %zu differ\n", sizes[k]);
            EXPECT(!"pipelined transcript differs");
        }
        ds_free(got);
    }
    printf("  10000 commands, %zu bytes\n", ds_len(in));
    ds_free(whole);
    ds_free(want);
    ds_free(in);
    EXPECT(bounds_failures == 0);
    EXPECT(zmalloc_used_memory() == base);
}

/* Random pipelines (multibulk with binary args, inline with quotes, empty
 * commands, sometimes garbage) under random limits and random chunking. */
static void random_command(ds *s) {
    uint64_t r = rng_next();
    switch (r % 10) {
    case 0: *s = ds_cat(*s, "*0\r\n", 4); break;
    case 1: *s = ds_cat(*s, "\r\n", 2); break;
    case 2:
    case 3: {
        int words = (int)(r >> 8) % 5;
        for (int w = 0; w < words; w++) {
            uint64_t x = rng_next();
            if (w) *s = ds_cat(*s, " ", 1);
            if (x % 4 == 0)
                *s = ds_catfmt(*s, "\"q\\x%02x%c\"", (unsigned)(x >> 8) & 0xff, 'a' + (int)(x >> 16) % 26);
            else if (x % 4 == 1) *s = ds_catfmt(*s, "'s\\'%d'", (int)(x >> 20) % 100);
            else *s = ds_catfmt(*s, "w%d", (int)(x >> 8) % 1000);
        }
        *s = ds_cat(*s, (r >> 40) & 1 ? "\r\n" : "\n", (r >> 40) & 1 ? 2 : 1);
        break;
    }
    case 4: { /* garbage that may or may not be an error */
        static const char *junk[] = {"*x\r\n", "*1\r\n:", "*1\r\n$-2\r\n", "\"open\r\n", "*1\r\n$99\r\n",
                                     "*12\r\n", "*1\r\n$20000\r\n"};
        const char *j = junk[(r >> 8) % 7];
        *s = ds_cat(*s, j, strlen(j));
        break;
    }
    default: {
        int argc = (int)((r >> 8) % 6);
        *s = ds_catfmt(*s, "*%d\r\n", argc);
        for (int a = 0; a < argc; a++) {
            int len = (int)(rng_next() % 24);
            *s = ds_catfmt(*s, "$%d\r\n", len);
            for (int i = 0; i < len; i++) {
                char c = (char)(rng_next() & 0xff);
                *s = ds_cat(*s, &c, 1);
            }
            *s = ds_cat(*s, "\r\n", 2);
        }
    }
    }
}

TEST(test_random_streams) {
    size_t base = zmalloc_used_memory();
    int mismatches = 0, errors = 0;
    for (int iter = 0; iter < 400; iter++) {
        ds in = ds_empty(0);
        int ncmd = 1 + (int)(rng_next() % 12);
        for (int c = 0; c < ncmd; c++) random_command(&in);
        if (rng_next() % 3 == 0) ds_setlen(in, (size_t)(rng_next() % (ds_len(in) + 1))); /* cut short */
        parse_cfg cfg = {(long long)(rng_next() % 3 ? 0 : 8 + rng_next() % 32),
                         (long long)(rng_next() % 3 ? 0 : 1 + rng_next() % 6), (int)(rng_next() % 4 == 0)};
        size_t n = ds_len(in);
        ds want = feed_whole(in, n, &cfg);
        if (strchr(want, '!')) errors++;
        for (int k = 0; k < 4; k++) {
            size_t ch[64], nch = 0, left = n;
            while (left && nch < 63) {
                size_t c = 1 + (size_t)(rng_next() % (k == 0 ? 3 : 40));
                if (c > left) c = left;
                ch[nch++] = c;
                left -= c;
            }
            if (left) ch[nch++] = left;
            ds got = feed_server(in, ch, nch, &cfg);
            if (ds_len(got) != ds_len(want) || memcmp(got, want, ds_len(want)) != 0) {
                if (!mismatches) show_diff("random chunking", want, got);
                mismatches++;
            }
            ds_free(got);
        }
        ds grow = feed_growing(in, n, 0, &cfg);
        if (ds_len(grow) != ds_len(want) || memcmp(grow, want, ds_len(want)) != 0) {
            if (!mismatches) show_diff("random growing", want, grow);
            mismatches++;
        }
        ds_free(grow);
        ds_free(want);
        ds_free(in);
    }
    printf("  400 random pipelines, %d ended in a protocol error\n", errors);
    EXPECT(mismatches == 0);
    EXPECT(errors > 20);
    EXPECT(bounds_failures == 0);
    EXPECT(zmalloc_used_memory() == base);
}

/* ------------------------------------------------------------ helpers */

TEST(test_fmt_header) {
    char out[32];
    EXPECT(resp_fmt_header(out, '*', 3) == 4 && memcmp(out, "*3\r\n", 4) == 0);
    EXPECT(resp_fmt_header(out, '$', -1) == 5 && memcmp(out, "$-1\r\n", 5) == 0);
    EXPECT(resp_fmt_header(out, ':', 0) == 4 && memcmp(out, ":0\r\n", 4) == 0);
    EXPECT(resp_fmt_header(out, '$', 512LL * 1024 * 1024) == 12 && memcmp(out, "$536870912\r\n", 12) == 0);
    EXPECT(resp_fmt_header(out, ':', LLONG_MAX) == 22 && memcmp(out, ":9223372036854775807\r\n", 22) == 0);
    EXPECT(resp_fmt_header(out, ':', LLONG_MIN) == 23 && memcmp(out, ":-9223372036854775808\r\n", 23) == 0);
    EXPECT(resp_fmt_header(out, '%', 2) == 4 && memcmp(out, "%2\r\n", 4) == 0);
    /* what it writes parses back */
    for (long long v = -1000; v <= 1000; v += 37) {
        int n = resp_fmt_header(out, '*', v);
        EXPECT(n > 3 && out[n - 2] == '\r' && out[n - 1] == '\n');
    }
}

/* resp_split_inline on an exactly-sized copy of line. */
static long split(const char *line, ds *scratch, resp_arg **argv, size_t *cap) {
    size_t n = strlen(line);
    char *copy = heap_copy(line, n);
    long argc = resp_split_inline(copy, n, scratch, argv, cap);
    free(copy);
    return argc;
}

TEST(test_split_inline_direct) {
    size_t base = zmalloc_used_memory();
    ds scratch = ds_from_cstr("XYZ");
    resp_arg *argv = NULL;
    size_t cap = 0;
    EXPECT(split("a bb", &scratch, &argv, &cap) == 2);
    EXPECT(argv[0].off == 3 && argv[0].len == 1); /* offsets follow what scratch held */
    EXPECT(argv[1].off == 4 && argv[1].len == 2);
    EXPECT(ds_len(scratch) == 6 && memcmp(scratch, "XYZabb", 6) == 0);
    ds_setlen(scratch, 0);
    EXPECT(split("", &scratch, &argv, &cap) == 0);
    EXPECT(split(" \t  ", &scratch, &argv, &cap) == 0);
    EXPECT(split("\"x", &scratch, &argv, &cap) == -1);
    EXPECT(split("'x", &scratch, &argv, &cap) == -1);
    EXPECT(split("\"x\"y", &scratch, &argv, &cap) == -1);
    /* many arguments: argv grows */
    ds line = ds_empty(0);
    for (int i = 0; i < 100; i++) line = ds_catfmt(line, "%sa%d", i ? "  " : "", i);
    ds_setlen(scratch, 0);
    long argc = split(line, &scratch, &argv, &cap);
    EXPECT(argc == 100 && cap >= 100);
    int wrong = 0;
    for (long i = 0; i < argc; i++) {
        char w[16];
        int wl = snprintf(w, sizeof(w), "a%ld", i);
        if (argv[i].len != (size_t)wl || memcmp(scratch + argv[i].off, w, (size_t)wl) != 0) wrong++;
    }
    EXPECT(wrong == 0);
    ds_setlen(scratch, 0);
    EXPECT(split("\"\\x41\\x00\\xff\" '\\x41'", &scratch, &argv, &cap) == 2);
    EXPECT(argv[0].len == 3 && memcmp(scratch + argv[0].off, "A\0\xff", 3) == 0);
    EXPECT(argv[1].len == 4 && memcmp(scratch + argv[1].off, "\\x41", 4) == 0);
    ds_free(line);
    ds_free(scratch);
    zfree(argv);
    EXPECT(zmalloc_used_memory() == base);
}

int main(void) {
    RUN(test_multibulk_whole);
    RUN(test_byte_by_byte);
    RUN(test_every_split);
    RUN(test_binary_bulks);
    RUN(test_bulk_trailer_not_checked);
    RUN(test_inline);
    RUN(test_inline_quotes_and_escapes);
    RUN(test_inline_unbalanced);
    RUN(test_empty_commands);
    RUN(test_error_wording);
    RUN(test_declared_count_does_not_allocate);
    RUN(test_too_big_errors);
    RUN(test_unauthenticated_limits);
    RUN(test_configured_limits);
    RUN(test_shift_semantics);
    RUN(test_bulk_hint);
    RUN(test_big_value_in_pieces);
    RUN(test_10000_pipelined);
    RUN(test_random_streams);
    RUN(test_fmt_header);
    RUN(test_split_inline_direct);
    return TEST_REPORT();
}

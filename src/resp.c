/* resp.c -- incremental RESP request parser (see resp.h for contracts).
 *
 * The RESP protocol (redis.io/docs/reference/protocol-spec) sends a
 * command as "*<argc>\r\n" followed by argc bulk strings "$<len>\r\n<bytes>\r\n",
 * or as one inline line of space-separated words. The parser is a small
 * state machine over a caller-owned buffer: it never copies multibulk
 * arguments (argv entries are offsets into the buffer, turned into
 * pointers when the command is complete) and remembers how far it got,
 * so a 512 MB value arriving in 16 KB pieces is scanned once, not
 * quadratically.
 *
 * Invariants: p->pos <= len of the buffer it was last called with;
 * argv[0..argc) are complete arguments of the current command; bulklen is
 * -1 or the length of the bulk whose data starts at pos.
 *
 * Safety: every read is bounded by len; declared lengths are checked
 * against the limits before any arithmetic that could overflow; argv grows
 * with the arguments actually received, never with the declared count, so
 * a client cannot make the server allocate by lying about "*<n>".
 *
 * Error wording matches Redis 7 (networking.c) because clients and tests
 * match on it. */
#include "resp.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "zmalloc.h"

#define INLINE_MAX (64 * 1024)       /* longest inline request / count line */
#define UNAUTH_MAX_MULTIBULK 10
#define UNAUTH_MAX_BULK 16384

void resp_parser_init(resp_parser *p) {
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = 512LL * 1024 * 1024;
    p->max_multibulk_len = 1024LL * 1024 * 1024;
    p->bulklen = -1;
}

void resp_parser_free(resp_parser *p) {
    zfree(p->argv);
    p->argv = NULL;
    p->argv_cap = 0;
    if (p->scratch) ds_free(p->scratch);
    p->scratch = NULL;
}

static void push_arg(resp_parser *p, size_t off, size_t len) {
    if (p->argc == p->argv_cap) {
        p->argv_cap = p->argv_cap ? p->argv_cap * 2 : 8;
        p->argv = zrealloc(p->argv, p->argv_cap * sizeof(resp_arg));
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argv[p->argc].ptr = NULL;
    p->argc++;
}

void resp_parser_next(resp_parser *p) {
    p->kind = 0;
    p->argc = 0;
    p->args_left = 0;
    p->bulklen = -1;
}

void resp_parser_shift(resp_parser *p, size_t n) {
    p->pos -= n;
    if (p->kind == '*')
        for (size_t i = 0; i < p->argc; i++) p->argv[i].off -= n;
}

size_t resp_parser_bulk_hint(const resp_parser *p, size_t buffered) {
    if (p->kind != '*' || p->bulklen < 0) return 0;
    size_t need = p->pos + (size_t)p->bulklen + 2;
    return need > buffered ? need - buffered : 0;
}

/* Finds "\r\n" at or after from; returns the offset of '\r' or -1. */
static long find_crlf(const char *buf, size_t from, size_t len) {
    while (from < len) {
        const char *cr = memchr(buf + from, '\r', len - from);
        if (!cr) return -1;
        size_t at = (size_t)(cr - buf);
        if (at + 1 >= len) return -1;
        if (buf[at + 1] == '\n') return (long)at;
        from = at + 1;
    }
    return -1;
}

static int parse_inline(resp_parser *p, const char *buf, size_t len, const char **err) {
    const char *start = buf + p->pos;
    const char *nl = memchr(start, '\n', len - p->pos);
    if (!nl) {
        if (len - p->pos > INLINE_MAX) {
            *err = "Protocol error: too big inline request";
            return RESP_ERROR;
        }
        return RESP_INCOMPLETE;
    }
    size_t linelen = (size_t)(nl - start);
    if (linelen > INLINE_MAX) {
        *err = "Protocol error: too big inline request";
        return RESP_ERROR;
    }
    size_t eff = linelen;
    if (eff && start[eff - 1] == '\r') eff--;
    if (!p->scratch) p->scratch = ds_empty(64);
    ds_setlen(p->scratch, 0);
    long argc = resp_split_inline(start, eff, &p->scratch, &p->argv, &p->argv_cap);
    if (argc < 0) {
        *err = "Protocol error: unbalanced quotes in request";
        return RESP_ERROR;
    }
    p->argc = (size_t)argc;
    for (size_t i = 0; i < p->argc; i++) p->argv[i].ptr = p->scratch + p->argv[i].off;
    p->pos += linelen + 1;
    return RESP_OK;
}

/* Reads "<c><number>\r\n" at pos. Returns RESP_OK with *out set,
 * RESP_INCOMPLETE, or RESP_ERROR (bad number handled by caller). */
static int read_count_line(resp_parser *p, const char *buf, size_t len, long long *out, int *bad) {
    long cr = find_crlf(buf, p->pos, len);
    if (cr < 0) return len - p->pos > INLINE_MAX ? RESP_ERROR : RESP_INCOMPLETE;
    *bad = !util_str2ll(buf + p->pos + 1, (size_t)cr - p->pos - 1, out);
    p->pos = (size_t)cr + 2;
    return RESP_OK;
}

static int parse_multibulk(resp_parser *p, const char *buf, size_t len, const char **err) {
    int bad = 0;
    if (p->kind == 0) {
        long long n;
        int r = read_count_line(p, buf, len, &n, &bad);
        if (r == RESP_INCOMPLETE) return r;
        if (r == RESP_ERROR) {
            *err = "Protocol error: too big mbulk count string";
            return r;
        }
        if (bad || n > p->max_multibulk_len || n > 0x7fffffffLL) {
            *err = "Protocol error: invalid multibulk length";
            return RESP_ERROR;
        }
        if (p->unauthenticated && n > UNAUTH_MAX_MULTIBULK) {
            *err = "Protocol error: unauthenticated multibulk length";
            return RESP_ERROR;
        }
        p->kind = '*';
        p->args_left = n > 0 ? n : 0;
        p->argc = 0;
        p->bulklen = -1;
    }
    while (p->args_left > 0) {
        if (p->bulklen < 0) {
            if (p->pos >= len) return RESP_INCOMPLETE;
            if (buf[p->pos] != '$') {
                snprintf(p->errbuf, sizeof(p->errbuf), "Protocol error: expected '$', got '%c'",
                         buf[p->pos]);
                *err = p->errbuf;
                return RESP_ERROR;
            }
            size_t save = p->pos;
            long long n;
            int r = read_count_line(p, buf, len, &n, &bad);
            if (r == RESP_INCOMPLETE) {
                p->pos = save;
                return r;
            }
            if (r == RESP_ERROR) {
                *err = "Protocol error: too big bulk count string";
                return r;
            }
            if (bad || n < 0 || n > p->max_bulk_len) {
                *err = "Protocol error: invalid bulk length";
                return RESP_ERROR;
            }
            if (p->unauthenticated && n > UNAUTH_MAX_BULK) {
                *err = "Protocol error: unauthenticated bulk length";
                return RESP_ERROR;
            }
            p->bulklen = n;
        }
        if (len - p->pos < (size_t)p->bulklen + 2) return RESP_INCOMPLETE;
        push_arg(p, p->pos, (size_t)p->bulklen);
        p->pos += (size_t)p->bulklen + 2; /* the trailing CRLF is not checked, as Redis */
        p->bulklen = -1;
        p->args_left--;
    }
    for (size_t i = 0; i < p->argc; i++) p->argv[i].ptr = buf + p->argv[i].off;
    return RESP_OK;
}

int resp_parse(resp_parser *p, const char *buf, size_t len, const char **err) {
    if (p->pos >= len) return RESP_INCOMPLETE;
    if (p->kind == 0 && buf[p->pos] != '*') return parse_inline(p, buf, len, err);
    return parse_multibulk(p, buf, len, err);
}

int resp_fmt_header(char *out, char prefix, long long n) {
    out[0] = prefix;
    int l = util_ll2str(out + 1, 24, n);
    out[l + 1] = '\r';
    out[l + 2] = '\n';
    return l + 3;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

long resp_split_inline(const char *line, size_t len, ds *scratch, resp_arg **argv, size_t *cap) {
    size_t i = 0;
    long argc = 0;
    for (;;) {
        while (i < len && is_space(line[i])) i++;
        if (i >= len) return argc;
        size_t start = ds_len(*scratch);
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (inq) {
                if (i >= len) return -1;
                if (line[i] == '\\' && i + 3 < len && line[i + 1] == 'x' && hexval(line[i + 2]) >= 0 &&
                    hexval(line[i + 3]) >= 0) {
                    char c = (char)(hexval(line[i + 2]) * 16 + hexval(line[i + 3]));
                    *scratch = ds_cat(*scratch, &c, 1);
                    i += 3;
                } else if (line[i] == '\\' && i + 1 < len) {
                    char c;
                    i++;
                    switch (line[i]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = line[i]; break;
                    }
                    *scratch = ds_cat(*scratch, &c, 1);
                } else if (line[i] == '"') {
                    if (i + 1 < len && !is_space(line[i + 1])) return -1;
                    done = 1;
                } else {
                    *scratch = ds_cat(*scratch, &line[i], 1);
                }
            } else if (insq) {
                if (i >= len) return -1;
                if (line[i] == '\\' && i + 1 < len && line[i + 1] == '\'') {
                    i++;
                    *scratch = ds_cat(*scratch, "'", 1);
                } else if (line[i] == '\'') {
                    if (i + 1 < len && !is_space(line[i + 1])) return -1;
                    done = 1;
                } else {
                    *scratch = ds_cat(*scratch, &line[i], 1);
                }
            } else {
                if (i >= len) {
                    done = 1;
                    break;
                }
                switch (line[i]) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = 1;
                    break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: *scratch = ds_cat(*scratch, &line[i], 1); break;
                }
            }
            if (i < len) i++;
        }
        if ((size_t)argc == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *argv = zrealloc(*argv, *cap * sizeof(resp_arg));
        }
        (*argv)[argc].off = start;
        (*argv)[argc].len = ds_len(*scratch) - start;
        argc++;
    }
}

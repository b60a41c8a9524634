/* resp.h -- incremental RESP2/RESP3 request parser and reply-header
 * formatting. Pure: no server header, no I/O, no allocation outside the
 * parser's own argv array and inline scratch buffer. */
#ifndef PHENIX_RESP_H
#define PHENIX_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct resp_arg {
    const char *ptr; /* valid once resp_parse() returned RESP_OK */
    size_t off;      /* offset into the buffer (multibulk) or scratch (inline) */
    size_t len;
} resp_arg;

enum { RESP_OK = 0, RESP_INCOMPLETE = 1, RESP_ERROR = 2 };

typedef struct resp_parser {
    /* limits, set by the owner */
    long long max_bulk_len;      /* proto-max-bulk-len */
    long long max_multibulk_len; /* cap on "*<n>" */
    int unauthenticated;         /* tighter limits before AUTH, as Redis */
    /* state of the command being parsed */
    int kind;                  /* 0 none yet, '*' multibulk, 'i' inline */
    long long args_left;       /* multibulk args still to read */
    long long bulklen;         /* -1 while reading a "$<n>" header */
    size_t pos;                /* next byte to parse, relative to the buffer */
    size_t argc, argv_cap;
    resp_arg *argv;
    ds scratch; /* unescaped inline arguments */
    char errbuf[64];
} resp_parser;

/* Initialises p with Redis's default limits. */
void resp_parser_init(resp_parser *p);
/* Frees the parser's argv array and scratch space (not p itself). */
void resp_parser_free(resp_parser *p);
/* Parses the next command from buf[p->pos .. len). Returns:
 *  RESP_OK: p->argc/p->argv hold the command (argc may be 0 for an empty
 *    inline line or "*0": skip it); p->pos is just past it. Arguments point
 *    into buf (or into p->scratch) and stay valid until buf changes or
 *    the next call.
 *  RESP_INCOMPLETE: need more bytes; state is kept, so the next call with
 *    the same buffer plus more data resumes without rescanning.
 *  RESP_ERROR: *err is a static message in Redis's wording ("Protocol
 *    error: invalid bulk length"); the connection should be closed. */
int resp_parse(resp_parser *p, const char *buf, size_t len, const char **err);
/* Tells the parser that the owner removed the first n bytes of the
 * buffer (n <= p->pos and no command half-consumed before pos is lost). */
void resp_parser_shift(resp_parser *p, size_t n);
/* Resets per-command state after a RESP_OK (keeps pos). */
void resp_parser_next(resp_parser *p);
/* Bytes still needed to complete the bulk being read, or 0 if unknown:
 * lets the owner size its buffer for large values in one step. */
size_t resp_parser_bulk_hint(const resp_parser *p, size_t buffered);

/* Writes "<prefix><n>\r\n" into out (cap >= 32); returns the length. */
int resp_fmt_header(char *out, char prefix, long long n);

/* Splits an inline line into arguments the way redis-cli and Redis do
 * (whitespace separated; "double quotes" with \n \r \t \b \a \\ \" \xHH
 * escapes; 'single quotes' with \' only). Appends unescaped args to
 * *scratch and fills argv[] (offsets into scratch). Returns argc, or -1
 * for unbalanced quotes. argv grows as needed (owned by caller). */
long resp_split_inline(const char *line, size_t len, ds *scratch, resp_arg **argv, size_t *cap);

#endif

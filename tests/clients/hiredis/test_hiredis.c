/* test_hiredis.c -- hiredis (Debian's libhiredis) against a running server.
 *
 * Built and run by tests/clients/hiredis/run.sh; reads PHENIX_HOST and
 * PHENIX_PORT. Covers synchronous commands and every RESP2 reply type,
 * binary-safe arguments (%b and redisCommandArgv), a 10,000-command pipeline
 * (redisAppendCommand + redisGetReply), a 1 MB value, error replies that
 * leave the connection usable, and, when the library is hiredis 1.0 or later,
 * RESP3: HELLO 3 and CONFIG GET as maps and nil as the RESP3 null. Push
 * messages need pub/sub or client tracking, which come later.
 *
 * Each check prints "[ok] name" or "[err] name: why"; the last line is
 * "N passed, N failed" and the exit status is 1 when anything failed. */
#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* check: record one check; on failure print the formatted reason. */
static void check(int ok, const char *name, const char *fmt, ...) {
    if (ok) {
        passed++;
        printf("[ok] %s\n", name);
        return;
    }
    failed++;
    printf("[err] %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* reply_is: true when r has type `type` and, for string-like types, the
 * payload equals `str` (str may be NULL to skip the comparison). */
static int reply_is(const redisReply *r, int type, const char *str) {
    if (r == NULL || r->type != type) return 0;
    if (str == NULL) return 1;
    return r->len == strlen(str) && memcmp(r->str, str, r->len) == 0;
}

/* describe: a short text for failure messages; borrowed until the next call. */
static const char *describe(const redisReply *r) {
    static char buf[160];
    if (r == NULL) return "no reply (connection error)";
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        snprintf(buf, sizeof(buf), "type %d \"%.100s\"", r->type, r->str);
        break;
    case REDIS_REPLY_INTEGER:
        snprintf(buf, sizeof(buf), "integer %lld", r->integer);
        break;
    default:
        snprintf(buf, sizeof(buf), "type %d with %zu elements", r->type, r->elements);
    }
    return buf;
}

/* cmd: run a command, returning a reply the caller frees (NULL on I/O error). */
static redisReply *cmd(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return r;
}

/* expect_simple: run a command and check its reply type and string payload. */
static void expect_simple(redisContext *c, const char *name, int type, const char *str,
                          const char *command) {
    redisReply *r = cmd(c, command);
    check(reply_is(r, type, str), name, "%s", describe(r));
    if (r) freeReplyObject(r);
}

static void test_basic(redisContext *c) {
    expect_simple(c, "ping status", REDIS_REPLY_STATUS, "PONG", "PING");
    expect_simple(c, "set status", REDIS_REPLY_STATUS, "OK", "SET hi:k value");
    expect_simple(c, "get bulk", REDIS_REPLY_STRING, "value", "GET hi:k");
    expect_simple(c, "get missing nil", REDIS_REPLY_NIL, NULL, "GET hi:missing");

    redisReply *r = cmd(c, "INCRBY hi:n 42");
    check(r && r->type == REDIS_REPLY_INTEGER && r->integer == 42, "incrby integer", "%s",
          describe(r));
    freeReplyObject(r);

    r = cmd(c, "MGET hi:k hi:missing hi:n");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
             reply_is(r->element[0], REDIS_REPLY_STRING, "value") &&
             reply_is(r->element[1], REDIS_REPLY_NIL, NULL) &&
             reply_is(r->element[2], REDIS_REPLY_STRING, "42");
    check(ok, "mget array with nil", "%s", describe(r));
    freeReplyObject(r);

    r = cmd(c, "KEYS hi:nomatch*");
    check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 0, "empty array", "%s",
          describe(r));
    freeReplyObject(r);
}

static void test_errors(redisContext *c) {
    expect_simple(c, "unknown command error", REDIS_REPLY_ERROR,
                  "ERR unknown command 'nosuch', with args beginning with: 'x' ", "nosuch x");
    expect_simple(c, "arity error", REDIS_REPLY_ERROR,
                  "ERR wrong number of arguments for 'get' command", "GET");
    expect_simple(c, "not an integer error", REDIS_REPLY_ERROR,
                  "ERR value is not an integer or out of range", "INCR hi:k");
    expect_simple(c, "connection usable after errors", REDIS_REPLY_STATUS, "PONG", "PING");
}

static void test_binary(redisContext *c) {
    const char val[] = "a\0b\r\nc \"quoted\" \xff";
    size_t vlen = sizeof(val) - 1;
    redisReply *r = cmd(c, "SET %b %b", "hi:bin\0key", (size_t)10, val, vlen);
    check(reply_is(r, REDIS_REPLY_STATUS, "OK"), "set binary %b", "%s", describe(r));
    freeReplyObject(r);
    r = cmd(c, "GET %b", "hi:bin\0key", (size_t)10);
    check(r && r->type == REDIS_REPLY_STRING && r->len == vlen && !memcmp(r->str, val, vlen),
          "get binary round trip", "%s", describe(r));
    freeReplyObject(r);

    const char *argv[] = {"SET", "hi:argv", "with space"};
    size_t argvlen[] = {3, 7, 10};
    r = redisCommandArgv(c, 3, argv, argvlen);
    check(reply_is(r, REDIS_REPLY_STATUS, "OK"), "redisCommandArgv", "%s", describe(r));
    freeReplyObject(r);
    expect_simple(c, "argv value", REDIS_REPLY_STRING, "with space", "GET hi:argv");

    size_t big_len = 1 << 20;
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)(i * 31 + 7);
    r = cmd(c, "SET hi:big %b", big, big_len);
    freeReplyObject(r);
    r = cmd(c, "GET hi:big");
    check(r && r->type == REDIS_REPLY_STRING && r->len == big_len && !memcmp(r->str, big, big_len),
          "1 MB value round trip", "%s", describe(r));
    freeReplyObject(r);
    free(big);
}

static void test_pipeline(redisContext *c) {
    enum { N = 10000 };
    for (int i = 0; i < N; i++) redisAppendCommand(c, "SET hi:p:%d %d", i, i);
    for (int i = 0; i < N; i++) redisAppendCommand(c, "GET hi:p:%d", i);
    int bad = 0, first_bad = -1;
    for (int i = 0; i < 2 * N; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            check(0, "pipeline of 20000 commands", "I/O error at reply %d: %s", i, c->errstr);
            return;
        }
        redisReply *r = reply;
        char want[32];
        snprintf(want, sizeof(want), "%d", i - N);
        int ok = i < N ? reply_is(r, REDIS_REPLY_STATUS, "OK") : reply_is(r, REDIS_REPLY_STRING, want);
        if (!ok && first_bad < 0) first_bad = i;
        bad += !ok;
        freeReplyObject(r);
    }
    check(bad == 0, "pipeline of 20000 commands", "%d wrong replies, first at %d", bad, first_bad);
}

#if HIREDIS_MAJOR >= 1
static void test_resp3(redisContext *c) {
    redisReply *r = cmd(c, "HELLO 3");
    int ok = r && r->type == REDIS_REPLY_MAP && r->elements >= 2 && r->elements % 2 == 0;
    check(ok, "HELLO 3 is a map", "%s", describe(r));
    long long proto = 0;
    for (size_t i = 0; ok && i + 1 < r->elements; i += 2)
        if (reply_is(r->element[i], REDIS_REPLY_STRING, "proto")) proto = r->element[i + 1]->integer;
    check(proto == 3, "HELLO 3 proto field is 3", "proto=%lld", proto);
    freeReplyObject(r);

    r = cmd(c, "CONFIG GET maxmemory-policy");
    ok = r && r->type == REDIS_REPLY_MAP && r->elements == 2 &&
         reply_is(r->element[1], REDIS_REPLY_STRING, "noeviction");
    check(ok, "CONFIG GET is a map in RESP3", "%s", describe(r));
    freeReplyObject(r);
    expect_simple(c, "RESP3 null", REDIS_REPLY_NIL, NULL, "GET hi:missing");
    expect_simple(c, "RESP3 get", REDIS_REPLY_STRING, "value", "GET hi:k");
    expect_simple(c, "back to RESP2", REDIS_REPLY_ARRAY, NULL, "HELLO 2");
}
#endif

int main(void) {
    const char *host = getenv("PHENIX_HOST") ? getenv("PHENIX_HOST") : "127.0.0.1";
    const char *port = getenv("PHENIX_PORT");
    if (port == NULL) {
        fprintf(stderr, "PHENIX_PORT is not set\n");
        return 2;
    }
    printf("# hiredis %d.%d.%d\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, atoi(port), tv);
    if (c == NULL || c->err) {
        printf("[err] connect: %s\n0 passed, 1 failed\n", c ? c->errstr : "out of memory");
        return 1;
    }
    redisSetTimeout(c, (struct timeval){10, 0});
    freeReplyObject(cmd(c, "FLUSHALL"));

    test_basic(c);
    test_errors(c);
    test_binary(c);
    test_pipeline(c);
#if HIREDIS_MAJOR >= 1
    test_resp3(c);
#else
    printf("  note: hiredis %d.%d has no RESP3 reader; map/null/push not tested\n",
           HIREDIS_MAJOR, HIREDIS_MINOR);
#endif

    freeReplyObject(cmd(c, "FLUSHALL"));
    redisFree(c);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* test_filter.c -- unit tests for the filter language (filter.c).
 *
 * Tables of expressions with their expected result on small documents
 * cover every operator, precedence and associativity, types, null and
 * missing fields, nested paths and indexes, `in`, exists(), string order
 * and int64 exactness; tables of malformed inputs check each error's
 * message and position; the limits (length, nesting, array literals) are
 * refused cleanly. The introspection (paths, constraints, standalone
 * paths) is checked on examples. Finally random expression trees are
 * printed with as few parentheses as precedence allows (sometimes more,
 * sometimes fewer blanks), compiled, and evaluated on random documents
 * against a slow tree-walking reference interpreter written here from the
 * rules in filter.h (it compares numbers as long doubles and computes
 * integer arithmetic in 128 bits, so it shares no code with filter.c); the
 * constraints of each expression must hold on every match, and be enough
 * when they are exact. Mutated expressions must fail or compile cleanly. */
#include "filter.h"
#include "test.h"
#include "zmalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned rnd(unsigned n) { return (unsigned)(rng_next() % n); }

static json_t *J(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
        abort();
    }
    return j;
}

/* Result of expr on doc (JSON text, or NULL for no document): 1, 0, or -1
 * when expr does not compile (the error is printed). */
static int ev(const char *expr, const char *doc) {
    char err[256];
    size_t pos;
    filter_expr *f = filter_compile(expr, strlen(expr), err, sizeof(err), &pos);
    if (!f) {
        fprintf(stderr, "  compile failed: %s: %s\n", expr, err);
        return -1;
    }
    json_t *j = doc ? J(doc) : NULL;
    int r = filter_eval(f, j);
    json_decref(j);
    filter_free(f);
    return r;
}

#define MATCH(expr, doc) EXPECT(ev(expr, doc) == 1)
#define NOMATCH(expr, doc) EXPECT(ev(expr, doc) == 0)

TEST(test_arithmetic) {
    const char *yes[] = {
        "1 + 2 == 3", "7 - 10 == -3", "6 * 7 == 42", "7 / 2 == 3.5", "8 / 2 == 4", "7 % 3 == 1",
        "-7 % 3 == -1", "7 % -3 == 1", "7.5 % 2 == 1.5", "-7.5 % 2 == -1.5", "2 ** 10 == 1024",
        "2 ** 0.5 > 1.414 and 2 ** 0.5 < 1.415", "2 ** -1 == 0.5", "1e3 == 1000", "1.5e-3 == 0.0015",
        "2E2 == 200", "2e+2 == 200", "0.1 + 0.2 != 0.3", "-(3) == -3", "- -3 == 3", "--3 == 3", "1-2 == -1",
        "1--2 == 3", "0.5 * 4 == 2", "10 / 4 * 2 == 5", "007 == 7", "1 + 2.5 == 3.5", "3 - 0.5 == 2.5",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], NULL);
}

TEST(test_precedence_and_associativity) {
    const char *yes[] = {
        "1 + 2 * 3 == 7", "(1 + 2) * 3 == 9", "10 - 4 - 3 == 3", "10 - (4 - 3) == 9", "100 / 10 / 5 == 2",
        "2 * 3 % 4 == 2", "2 ** 3 ** 2 == 512", "(2 ** 3) ** 2 == 64", "-2 ** 2 == 4", "-(2 ** 2) == -4",
        "2 * 3 ** 2 == 18", "2 ** 2 * 3 == 12", "1 + 1 == 2 and 3 > 2", "true or false and false",
        "!((true or false) and false)", "false and true or true", "!(not false and false)",
        "not (false and false)", "not 1 == 2", "!0", "not not 1", "!!1", "!(1 == 2)", "1 + 2 in [3]",
        "not 3 in [1, 2]", "true || false && false", "false && true || true", "(!1) == false",
        "not .x and not .y", "(1 < 2) == true", "2 ** -1 ** 2 == 2",
        "2 * -3 == -6", "-.missing == null", "!1 == false",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], NULL);
    const char *no[] = {
        "(true or false) and false", "not false and false", "!1 == 2", "not 1 == 1",
        "(1 + 2 in [3]) == false",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], NULL);
}

TEST(test_comparisons_and_types) {
    const char *doc = "{\"n\":5,\"f\":2.5,\"s\":\"abc\",\"t\":true,\"z\":null,\"a\":[1,2],\"o\":{\"k\":1,\"l\":[1]}}";
    const char *yes[] = {
        "5 == 5.0", ".n == 5", ".n == 5.0", ".f == 2.5", ".n != 6", ".n > 4", ".n >= 5", ".n < 6", ".n <= 5",
        ".f < .n", ".n != '5'", ".t != 1", ".t == true", ".t != false", "'abc' < 'abd'", "'ab' < 'abc'",
        "'' < 'a'", "'B' < 'a'", "'\xc3\xa9' > 'z'", ".s >= 'abc'", ".s <= 'abc'", "'a\\u0000b' > 'a'",
        "'a\\u0000b' != 'a'", ".a == [1, 2]", ".a == [1.0, 2]", ".a != [1]", ".a != [2, 1]", ".o == .o",
        ".o != .a", ".z == null", "null == null", ".s == \"abc\"", ".s == 'abc'", ".o.l == [1]",
        "true == true", "false != true", ".a != 'x'", "[1, 'a'] == [1, 'a']",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], doc);
    const char *no[] = {
        ".n > 5", ".n == '5'", ".n < '6'", ".t == 1", ".t > false", ".s > 1", ".s < 'abc'", ".a == [2, 1]",
        ".a == [1]", ".o == .a", ".z != null", "null != null", ".z < 1", "null < null", ".t < true",
        ".a < [3]", ".o > .o", "'a' == 'A'", ".s == 'abc '",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], doc);
}

TEST(test_missing_and_null) {
    const char *doc = "{\"x\":null,\"y\":0,\"s\":\"\"}";
    const char *yes[] = {
        ".missing == null", ".x == null", ".y != null", "null == .missing", ".missing == .x", "not .missing",
        "!.missing", "not .x", ".s != null", ".s == ''", ".missing.deeper == null", ".x.y == null",
        ".y + 1 == 1", ".missing + 1 == null", ".x != 0", ".x != ''",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], doc);
    const char *no[] = {
        ".missing == 1", ".missing != 1", ".missing < 1", ".missing > 1", ".missing <= 1", ".missing >= 1",
        ".missing != null", ".x != null", ".y == null", ".missing == .missing2", ".missing != .missing2",
        ".missing", ".x", ".y", ".s", ".missing + 1 > 0", ".missing + 1 != 0", ".missing == ''",
        ".missing < 'a'", ".x == 0", ".x == false", ".x < 1",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], doc);
    /* No document is the empty object. */
    MATCH(".a == null", NULL);
    NOMATCH("exists(.a)", NULL);
    NOMATCH(".a == 1", NULL);
    /* A root that is not an object makes member paths missing. */
    MATCH(".[0] == 1", "[1,2]");
    MATCH(".[-1] == 2", "[1,2]");
    NOMATCH(".a == 1", "[1,2]");
    NOMATCH("exists(.a)", "\"str\"");
    NOMATCH(".a", "3");
}

TEST(test_paths) {
    const char *doc = "{\"author\":{\"name\":\"Ann\",\"tags\":[\"x\",\"y\"]},\"tags\":[\"ai\",\"db\"],"
                      "\"m\":[[1,2],[3]],\"first-name\":\"Bo\",\"a b\":1,\"\":2,\"\xc3\xbc\":3,\"5\":\"five\","
                      "\"q\\\"x\":4,\"_u_1\":6}";
    const char *yes[] = {
        ".author.name == 'Ann'", ".tags[0] == 'ai'", ".tags[1] == 'db'", ".tags[-1] == 'db'",
        ".tags[-2] == 'ai'", ".m[0][1] == 2", ".m[1][0] == 3", ".m[-1][-1] == 3", ".author.tags[1] == 'y'",
        ".author[\"name\"] == 'Ann'", ".author.\"name\" == 'Ann'", ".author['name'] == 'Ann'",
        ".\"first-name\" == 'Bo'", ".['first-name'] == 'Bo'", ".[\"first-name\"] == 'Bo'", ".\"a b\" == 1",
        ".\"\" == 2", ".\xc3\xbc == 3", ".\"\\u00fc\" == 3", ".5 == 'five'", ".\"q\\\"x\" == 4",
        "._u_1 == 6", ".author.tags == ['x', 'y']", "exists(.m[0])",
        ".first-.tags[0] == null", /* `.first - .tags[0]`: unquoted names stop at '-' */
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], doc);
    const char *no[] = {
        "exists(.tags[2])", "exists(.tags[-3])", "exists(.tags.name)", "exists(.author[0])",
        "exists(.author.name.x)", "exists(.tags[9223372036854775807])", "exists(.tags[-9223372036854775807])",
        "exists(.Author)", "exists(.k)", "exists(.m[0][2])",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], doc);
}

TEST(test_in) {
    const char *yes0[] = {
        "3 in [1, 2, 3]", "3 in [1.5, 3.0]", "'a' in ['b', 'a']", "null in [1, null]", "true in [false, true]",
        "-1 in [-1]", "-1.5 in [2, -1.5]", "'b' in 'abc'", "'' in ''", "not 4 in [1, 2, 3]", "!(4 in [])",
    };
    for (size_t i = 0; i < sizeof(yes0) / sizeof(yes0[0]); i++) MATCH(yes0[i], NULL);
    const char *doc = "{\"tags\":[\"ai\",\"ml\",3,null,true,[1]],\"title\":\"hello world\",\"n\":2,\"e\":[]}";
    const char *yes[] = {
        "'ai' in .tags", "3 in .tags", "3.0 in .tags", "null in .tags", "true in .tags", ".n in [1, 2]",
        "'world' in .title", "'' in .title", ".title in ['hello world', 'x']", "'lo w' in .title",
        ".missing in [null]", "[1] in .tags",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], doc);
    EXPECT(ev(".n in [.n]", doc) == -1); /* array literals hold constants only */
    const char *no[] = {
        "'x' in .tags", "'3' in .tags", ".n in ['2']", "'World' in .title", ".missing in [1]", "1 in .missing",
        "1 in .n", "'ai' in .n", "2 in .title", "'a' in .e", "false in .tags", "'hello world!' in .title",
        ".title in .tags", "[2] in .tags",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], doc);
}

TEST(test_exists) {
    const char *doc = "{\"a\":null,\"b\":{\"c\":0},\"e\":[]}";
    MATCH("exists(.a)", doc);
    MATCH("exists(.b.c)", doc);
    MATCH("exists(.e)", doc);
    MATCH("exists( .a )", doc);
    MATCH("exists (.b)", doc);
    MATCH("not exists(.x)", doc);
    MATCH("exists(.b) and exists(.b.c) and !exists(.b.d)", doc);
    NOMATCH("exists(.b.d)", doc);
    NOMATCH("exists(.x)", doc);
    NOMATCH("exists(.e[0])", doc);
    MATCH("exists(.a) == true", doc);
}

TEST(test_truthiness) {
    const char *doc = "{\"o\":{},\"a\":[],\"s\":\"x\",\"z\":0.0}";
    const char *yes[] = {
        "1", "-1", "0.5", "'a'", "true", "[]", "[0]", ".o", ".a", ".s", "not ''", "!0", "not 0.0",
        "not null", "1 and 'x'", "0 or 'x'", "(1 and 2) == true", "(0 or 'x') == true", "(0 or 0) == false",
        "(.missing or 0) == false", "not .z",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], doc);
    const char *no[] = {"0", "0.0", "''", "null", "false", ".missing", ".z", "1 and ''", "(1 and 2) == 1"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], doc);
}

TEST(test_int64_exactness) {
    const char *yes[] = {
        "9007199254740993 == 9007199254740993", "9007199254740993 != 9007199254740992",
        "9007199254740993 != 9007199254740992.0", "9007199254740993 > 9007199254740992.0",
        "9223372036854775807 == 9223372036854775807", "9223372036854775807 != 9223372036854775806",
        "9223372036854775807 < 9223372036854775808", "-9223372036854775808 < -9223372036854775807",
        "9223372036854775807 + 1 > 9223372036854775807", "9223372036854775807 * 2 > 9223372036854775807",
        "3 ** 40 > 1e19", "2 ** 62 == 4611686018427387904", "2 ** 63 == 9223372036854775808",
        "-9223372036854775807 - 1 == -9223372036854775808", "(-9223372036854775807 - 1) % -1 == 0",
        "(-9223372036854775807 - 1) / -1 == 9223372036854775808", "-(-9223372036854775807 - 1) > 0",
        "1e300 > 9223372036854775807", "-1e300 < -9223372036854775807", "5 < 5.5", "5 > 4.5", "-5 < -4.5",
        "-5 > -5.5", "0 == -0.0", "18446744073709551616 == 2 ** 64",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], NULL);
    NOMATCH("9007199254740993 == 9007199254740992.0", NULL);
    const char *doc = "{\"n\":9007199254740993,\"big\":9223372036854775807}";
    MATCH(".n == 9007199254740993", doc);
    NOMATCH(".n == 9007199254740992", doc);
    NOMATCH(".n == 9007199254740993.0", doc); /* that literal rounds to 2^53 */
    MATCH(".n > 9007199254740992.0", doc);
    MATCH(".n - 1 == 9007199254740992", doc);
    MATCH(".n * 1 == 9007199254740993", doc);
    MATCH(".n / 1 == 9007199254740993", doc);
    MATCH(".n % 2 == 1", doc);
    MATCH(".n in [1, 9007199254740993]", doc);
    NOMATCH(".n in [9007199254740992]", doc);
    MATCH(".big == 9223372036854775807", doc);
    MATCH(".big - 1 < .big", doc);
}

TEST(test_arithmetic_gives_missing) {
    const char *yes[] = {
        "'a' + 1 == null", "-'a' == null", "1 / 0 == null", "1 / 0.0 == null", "1 % 0 == null",
        "1e308 * 10 == null", "(-8) ** 0.5 == null", "0 ** -1 == null", "true + 1 == null", "[1] * 2 == null",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) MATCH(yes[i], NULL);
    const char *no[] = {
        "'a' + 1 == 1", "'a' + 1 != 1", "true + 1 > 0", "null * 2 == 0", "-'a' == 0", "1 / 0 > 0", "1 / 0 < 0",
        "1 % 0 == 0", "0 / 0 == 0", "1e308 * 10 > 0", "(-8) ** 0.5 == (-8) ** 0.5", "'1' + 1 == 2",
        "'a' + 'b' == 'ab'", "1 / 0",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) NOMATCH(no[i], NULL);
    MATCH(".s * 2 == null and .n * 2 == 4", "{\"s\":\"x\",\"n\":2}");
}

typedef struct err_case {
    const char *expr;
    size_t pos;
    const char *msg;
} err_case;

/* Compiles src[0..len) expecting an error at pos whose message contains
 * msg; 1 when so. */
static int check_error(const char *src, size_t len, size_t pos, const char *msg) {
    char err[256], prefix[64];
    size_t at = 12345;
    filter_expr *f = filter_compile(src, len, err, sizeof(err), &at);
    if (f) {
        fprintf(stderr, "  expected an error for [%.*s]\n", (int)len, src);
        filter_free(f);
        return 0;
    }
    snprintf(prefix, sizeof(prefix), "syntax error at position %zu: ", pos);
    if (at != pos || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, msg)) {
        fprintf(stderr, "  [%.*s]: got position %zu \"%s\", wanted %zu \"%s\"\n", (int)len, src, at, err, pos, msg);
        return 0;
    }
    return 1;
}

TEST(test_errors) {
    static const err_case cases[] = {
        {"", 0, "empty expression"},
        {"   ", 3, "empty expression"},
        {".a ==", 5, "expected an operand but found the end of the expression"},
        {".a == )", 6, "expected an operand but found ')'"},
        {"(.a == 1", 8, "expected ')' to close the '(' at position 0 but found the end"},
        {"((1)", 4, "expected ')' to close the '(' at position 0"},
        {".a == 1)", 7, "unbalanced ')'"},
        {".a = 1", 3, "'=' is not an operator: compare with '=='"},
        {".a & .b", 3, "'&' is not an operator: use '&&' or 'and'"},
        {".a | .b", 3, "'|' is not an operator: use '||' or 'or'"},
        {"'abc", 0, "unterminated string"},
        {".a == 'x", 6, "unterminated string"},
        {".a == \"x\\q\"", 8, "invalid escape"},
        {"'x\\", 2, "invalid escape"},
        {"'\\u12'", 1, "four hex digits"},
        {"'\\ud800'", 1, "unpaired surrogate \\ud800"},
        {"'\\ud800\\u0041'", 1, "unpaired surrogate"},
        {"'\\udc00'", 1, "unpaired surrogate \\udc00"},
        {"1 < 2 < 3", 6, "comparisons do not chain"},
        {".a == .b != .c", 9, "comparisons do not chain"},
        {".a in [1] in [true]", 10, "comparisons do not chain"},
        {".a == not .b", 6, "'not' needs parentheses here"},
        {"- not .b", 2, "'not' needs parentheses"},
        {"foo == 1", 0, "unknown word 'foo' (paths start with a dot, as in .foo)"},
        {"len(.a) > 1", 0, "unknown function 'len'"},
        {".a AND .b", 3, "keywords are lower case: and"},
        {"NOT .b", 0, "keywords are lower case: not"},
        {".a .b", 3, "expected an operator or the end of the expression but found '.b'"},
        {".a 1", 3, "expected an operator or the end of the expression but found '1'"},
        {"1.5.3", 0, "invalid number"},
        {"1.", 0, "digits after its decimal point"},
        {"1.e5", 0, "digits after its decimal point"},
        {"1e", 0, "digits in its exponent"},
        {"1e+", 0, "digits in its exponent"},
        {"5abc", 0, "invalid number"},
        {"0x10", 0, "invalid number"},
        {"1e999", 0, "number out of range"},
        {". a", 0, "expected a member name after '.'"},
        {".", 0, "expected a member name after '.'"},
        {".a..b", 2, "expected a member name after '.'"},
        {".a.[0]", 2, "expected a member name after '.'"},
        {".a[x]", 2, "expected an array index or a quoted member name"},
        {".a[]", 2, "expected an array index"},
        {".a[-]", 2, "expected an array index"},
        {".a[1", 4, "expected ']' to close the '[' at position 2"},
        {".a[ 1]", 2, "expected an array index"},
        {".a['x'", 6, "expected ']'"},
        {".a[99999999999999999999]", 2, "array index out of range"},
        {"[1, .a]", 4, "array literals hold constants only"},
        {"[1, 2", 5, "expected ',' or ']' in the array literal opened at position 0"},
        {"[1 2]", 3, "expected ',' or ']'"},
        {"[1,]", 3, "array literals hold constants only (numbers, strings, true, false, null), found ']'"},
        {"[[1]]", 1, "array literals hold constants only"},
        {"[-'a']", 2, "array literals hold constants only"},
        {"exists(1)", 7, "exists() takes one path"},
        {"exists .a", 7, "exists() takes one path"},
        {"exists(.a", 9, "expected ')'"},
        {"exists(.a, .b)", 9, "expected ')'"},
        {"exists", 6, "exists() takes one path"},
        {".a == 1 #", 8, "unexpected '#'"},
        {"\x01", 0, "unexpected byte 0x01"},
        {".a ! .b", 3, "expected an operator or the end of the expression but found '!'"},
        {"()", 1, "expected an operand but found ')'"},
        {"- ", 2, "expected an operand"},
        {"not", 3, "expected an operand"},
        {".a in", 5, "expected an operand"},
        {"* 2", 0, "expected an operand but found '*'"},
        {"1 +* 2", 3, "expected an operand but found '*'"},
        {".a == 1 and", 11, "expected an operand"},
        {"and", 0, "expected an operand but found 'and'"},
        {"{\"a\":1}", 0, "unexpected '{'"},
        {".a >== 1", 5, "'=' is not an operator"},
        {".a => 1", 3, "'=' is not an operator"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        EXPECT(check_error(cases[i].expr, strlen(cases[i].expr), cases[i].pos, cases[i].msg));
    /* A NUL byte is an ordinary (invalid) byte of the input. */
    EXPECT(check_error("1 ==\0 1", 7, 4, "unexpected byte 0x00"));
    /* Tiny or absent error buffers. */
    char small[12];
    size_t pos;
    EXPECT(filter_compile(".a ==", 5, small, sizeof(small), &pos) == NULL);
    EXPECT(strlen(small) == sizeof(small) - 1 && pos == 5);
    EXPECT(filter_compile(".a ==", 5, NULL, 0, NULL) == NULL);
    char one[1] = {'x'};
    EXPECT(filter_compile(")", 1, one, 1, NULL) == NULL && one[0] == '\0');
    /* Success leaves an empty message and position 0. */
    char err[64] = "junk";
    pos = 99;
    filter_expr *f = filter_compile("1", 1, err, sizeof(err), &pos);
    EXPECT(f && err[0] == '\0' && pos == 0);
    filter_free(f);
}

/* Returns a new string of n copies of s. */
static char *repeat(const char *s, size_t n, const char *tail) {
    size_t l = strlen(s), t = strlen(tail);
    char *out = malloc(l * n + t + 1);
    for (size_t i = 0; i < n; i++) memcpy(out + i * l, s, l);
    memcpy(out + l * n, tail, t + 1);
    return out;
}

static int deep_error(const char *prefix, size_t n, const char *tail) {
    char *s = repeat(prefix, n, tail);
    char err[256];
    size_t pos = 0;
    filter_expr *f = filter_compile(s, strlen(s), err, sizeof(err), &pos);
    int ok = !f && strstr(err, "nested too deeply") && pos < strlen(s);
    if (!ok) fprintf(stderr, "  %zu x '%s': %s\n", n, prefix, f ? "compiled" : err);
    filter_free(f);
    free(s);
    return ok;
}

TEST(test_limits) {
    /* Parentheses: 200 levels are fine, 300 are refused. */
    char *s = malloc(1000);
    memset(s, '(', 200);
    strcpy(s + 200, "1");
    memset(s + 201, ')', 200);
    s[401] = '\0';
    EXPECT(ev(s, NULL) == 1);
    free(s);
    EXPECT(deep_error("(", 300, "1"));
    EXPECT(deep_error("-", 10000, "1"));
    EXPECT(deep_error("!", 10000, "1"));
    EXPECT(deep_error("not ", 10000, "1"));
    EXPECT(deep_error("2 ** ", 1000, "2"));
    EXPECT(deep_error("(.a + ", 300, ".a"));
    EXPECT(deep_error(".a == 1 or (", 300, "1"));
    /* Long left-associative chains are flat. */
    s = repeat("1+", 30000, "1 == 30001");
    EXPECT(ev(s, NULL) == 1);
    free(s);
    s = repeat(".a+", 20000, ".a == 20001");
    EXPECT(ev(s, "{\"a\":1}") == 1);
    free(s);
    s = repeat(".a and ", 9000, ".a");
    EXPECT(ev(s, "{\"a\":1}") == 1);
    EXPECT(ev(s, "{\"a\":0}") == 0);
    free(s);
    s = repeat(".b or ", 9000, ".a");
    EXPECT(ev(s, "{\"a\":1}") == 1);
    EXPECT(ev(s, "{\"b\":0}") == 0);
    free(s);
    /* Length: FILTER_MAX_LEN bytes compile, one more does not. */
    s = malloc(FILTER_MAX_LEN + 2);
    memset(s, ' ', FILTER_MAX_LEN + 1);
    s[0] = '1';
    s[FILTER_MAX_LEN + 1] = '\0';
    filter_expr *f = filter_compile(s, FILTER_MAX_LEN, NULL, 0, NULL);
    EXPECT(f != NULL);
    filter_free(f);
    EXPECT(check_error(s, FILTER_MAX_LEN + 1, FILTER_MAX_LEN, "expression longer than 65536 bytes"));
    free(s);
    /* Array literals: FILTER_MAX_ARRAY elements, not one more. */
    s = repeat("7, ", FILTER_MAX_ARRAY - 1, "8]");
    char *expr = malloc(strlen(s) + 16);
    sprintf(expr, "8 in [%s", s);
    EXPECT(ev(expr, NULL) == 1);
    free(s);
    free(expr);
    s = repeat("7, ", FILTER_MAX_ARRAY, "8]");
    expr = malloc(strlen(s) + 16);
    sprintf(expr, "8 in [%s", s);
    EXPECT(check_error(expr, strlen(expr), 6 + 3 * FILTER_MAX_ARRAY, "array literal longer than 1024 elements"));
    free(s);
    free(expr);
}

TEST(test_paths_introspection) {
    const char *src = ".b > 1 and .a.x == 2 or exists(.b) and .tags[0] == 'x' and .a[\"x\"] < 3 and "
                      ".['a b'] == 1 and .\"q\\\"\\u0001\" and .t[-1]";
    filter_expr *f = filter_compile(src, strlen(src), NULL, 0, NULL);
    ASSERT(f != NULL);
    size_t n;
    const filter_path *p = filter_paths(f, &n);
    ASSERT(n == 6);
    EXPECT(strcmp(p[0].text, ".b") == 0 && p[0].nsteps == 1 && p[0].text_len == 2);
    EXPECT(strcmp(p[1].text, ".a.x") == 0 && p[1].nsteps == 2);
    EXPECT(strcmp(p[1].steps[0].name, "a") == 0 && p[1].steps[1].len == 1);
    EXPECT(strcmp(p[2].text, ".tags[0]") == 0 && p[2].steps[1].name == NULL && p[2].steps[1].index == 0);
    EXPECT(strcmp(p[3].text, ".\"a b\"") == 0);
    EXPECT(strcmp(p[4].text, ".\"q\\\"\\u0001\"") == 0 && p[4].steps[0].len == 3);
    EXPECT(strcmp(p[5].text, ".t[-1]") == 0 && p[5].steps[1].index == -1);
    EXPECT(filter_memory(f) > sizeof(void *) * 4);
    filter_free(f);
    /* Canonical texts parse back to themselves. */
    const char *texts[] = {".a",   ".a.b[3]", ".\"a b\"",        ".\"q\\\"\\u0001\"", ".t[-1]",
                           ".\"\"", ".5.x",    ".\xc3\xbc", ".[1]",              ".[0].a[2]"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        filter_path *fp = filter_path_parse(texts[i], strlen(texts[i]), NULL, 0, NULL);
        EXPECT(fp && strcmp(fp->text, texts[i]) == 0);
        filter_path_free(fp);
    }
}

/* Compiles src and checks its constraints: want is a list of "path op
 * value" strings, written as describe() below writes them. */
static void describe(const filter_constraint *c, char *buf, size_t n) {
    static const char *ops[] = {"==", "!=", "<", "<=", ">", ">=", "in", "contains", "exists"};
    char v[64] = "";
    const filter_value *x = &c->value;
    switch (x->type) {
    case FILTER_NULL: snprintf(v, sizeof(v), "null"); break;
    case FILTER_BOOL: snprintf(v, sizeof(v), "%s", x->b ? "true" : "false"); break;
    case FILTER_INT: snprintf(v, sizeof(v), "%lld", (long long)x->i); break;
    case FILTER_DOUBLE: snprintf(v, sizeof(v), "%gd", x->d); break;
    case FILTER_STRING: snprintf(v, sizeof(v), "'%.*s'", (int)x->str.len, x->str.ptr); break;
    case FILTER_ARRAY: snprintf(v, sizeof(v), "[%zu]", x->arr.len); break;
    }
    if (c->op == FILTER_OP_EXISTS) snprintf(buf, n, "%s exists", c->path->text);
    else snprintf(buf, n, "%s %s %s", c->path->text, ops[c->op], v);
}

static int check_constraints(const char *src, int want_exact, const char *want) {
    filter_expr *f = filter_compile(src, strlen(src), NULL, 0, NULL);
    if (!f) return 0;
    size_t n;
    int exact;
    const filter_constraint *c = filter_constraints(f, &n, &exact);
    char got[512] = "", one[128];
    for (size_t i = 0; i < n; i++) {
        describe(&c[i], one, sizeof(one));
        if (i) strcat(got, "; ");
        strcat(got, one);
    }
    int ok = exact == want_exact && strcmp(got, want) == 0;
    if (!ok) fprintf(stderr, "  %s: got [%s] exact %d\n", src, got, exact);
    filter_free(f);
    return ok;
}

TEST(test_constraints) {
    EXPECT(check_constraints(".price < 10 and .color == \"red\"", 1, ".price < 10; .color == 'red'"));
    EXPECT(check_constraints("10 > .price", 1, ".price < 10"));
    EXPECT(check_constraints("10 <= .price", 1, ".price >= 10"));
    EXPECT(check_constraints("'x' != .s", 1, ".s != 'x'"));
    EXPECT(check_constraints(".price >= -1.5", 1, ".price >= -1.5d"));
    EXPECT(check_constraints(".price < 10 * 2 + 1", 1, ".price < 21"));
    EXPECT(check_constraints(".price < -(2 ** 3)", 1, ".price < -8"));
    EXPECT(check_constraints(".color in ['red', 'blue']", 1, ".color in [2]"));
    EXPECT(check_constraints("'ai' in .tags", 1, ".tags contains 'ai'"));
    EXPECT(check_constraints("3 in .tags && exists(.x)", 1, ".tags contains 3; .x exists"));
    EXPECT(check_constraints(".a == null", 1, ".a == null"));
    EXPECT(check_constraints(".a == true", 1, ".a == true"));
    EXPECT(check_constraints("(.a > 1 and .b < 2) and (.c == 3 and exists(.d))", 1,
                             ".a > 1; .b < 2; .c == 3; .d exists"));
    EXPECT(check_constraints(".a > 1 and (.b or .c)", 0, ".a > 1"));
    EXPECT(check_constraints(".a > 1 or .b < 2", 0, ""));
    EXPECT(check_constraints(".a == .b", 0, ""));
    EXPECT(check_constraints(".name in 'abc'", 0, ""));
    EXPECT(check_constraints("1 < 2", 0, ""));
    EXPECT(check_constraints("not .a == 1", 0, ""));
    EXPECT(check_constraints(".a + 1 > 2 and .b.c[0] <= 'z'", 0, ".b.c[0] <= 'z'"));
    EXPECT(check_constraints(".x / 0 > 1", 0, ""));
    /* The constraints, evaluated alone, agree with the filter. */
    const char *src = ".p < 10 and 'a' in .t and .c in ['x', 'y'] and exists(.e)";
    filter_expr *f = filter_compile(src, strlen(src), NULL, 0, NULL);
    ASSERT(f != NULL);
    size_t n;
    int exact;
    const filter_constraint *c = filter_constraints(f, &n, &exact);
    ASSERT(n == 4 && exact);
    json_t *yes = J("{\"p\":9.5,\"t\":[\"a\"],\"c\":\"y\",\"e\":null}");
    json_t *no = J("{\"p\":10,\"t\":\"bab\",\"c\":\"z\"}");
    EXPECT(filter_eval(f, yes) && !filter_eval(f, no));
    for (size_t i = 0; i < n; i++) EXPECT(filter_constraint_eval(&c[i], yes));
    EXPECT(!filter_constraint_eval(&c[0], no) && filter_constraint_eval(&c[1], no));
    EXPECT(!filter_constraint_eval(&c[2], no) && !filter_constraint_eval(&c[3], no));
    EXPECT(!filter_constraint_eval(&c[0], NULL));
    json_decref(yes);
    json_decref(no);
    filter_free(f);
}

TEST(test_path_parse) {
    char err[128];
    size_t pos;
    filter_path *p = filter_path_parse(".author.tags[-1]", 16, err, sizeof(err), &pos);
    ASSERT(p != NULL);
    EXPECT(strcmp(p->text, ".author.tags[-1]") == 0 && p->nsteps == 3 && pos == 0);
    json_t *doc = J("{\"author\":{\"tags\":[\"a\",\"b\"]}}");
    const json_t *v = filter_path_get(p, doc);
    EXPECT(v && json_is_string(v) && strcmp(json_string_value(v), "b") == 0);
    EXPECT(filter_path_get(p, NULL) == NULL);
    filter_path_free(p);
    p = filter_path_parse(".[\"author\"]", 11, NULL, 0, NULL);
    ASSERT(p != NULL);
    EXPECT(strcmp(p->text, ".author") == 0 && json_is_object(filter_path_get(p, doc)));
    filter_path_free(p);
    json_decref(doc);
    doc = J("{\"n\":null}");
    p = filter_path_parse(".n", 2, NULL, 0, NULL);
    EXPECT(json_is_null(filter_path_get(p, doc)));
    filter_path_free(p);
    json_decref(doc);
    static const err_case bad[] = {
        {"author", 0, "a path starts with a dot"},
        {"", 0, "a path starts with a dot"},
        {".a b", 2, "unexpected characters after the path"},
        {".a ", 2, "unexpected characters after the path"},
        {".a[", 2, "expected an array index"},
        {".a.", 2, "expected a member name"},
        {".'x", 1, "unterminated string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pos = 999;
        p = filter_path_parse(bad[i].expr, strlen(bad[i].expr), err, sizeof(err), &pos);
        EXPECT(p == NULL && pos == bad[i].pos && strstr(err, bad[i].msg));
        if (p || pos != bad[i].pos) fprintf(stderr, "  path [%s]: %zu %s\n", bad[i].expr, pos, err);
        filter_path_free(p);
    }
}

TEST(test_memory) {
    size_t before = zmalloc_used_memory();
    const char *src = ".a > 1 and 'x' in .tags or .b.c[0] == 'long string constant' and .d in [1, 2, 3]";
    filter_expr *f = filter_compile(src, strlen(src), NULL, 0, NULL);
    ASSERT(f != NULL);
    size_t after = zmalloc_used_memory();
    EXPECT(filter_memory(f) == after - before); /* the compiler's scratch is all freed */
    json_t *doc = J("{\"a\":2,\"tags\":[\"x\"],\"b\":{\"c\":[\"long string constant\"]},\"d\":3}");
    for (int i = 0; i < 1000; i++) EXPECT(filter_eval(f, doc) == 1);
    EXPECT(zmalloc_used_memory() == after); /* evaluation allocates nothing */
    json_decref(doc);
    filter_free(f);
    EXPECT(zmalloc_used_memory() == before);
    /* Failed compilations free everything. */
    const char *bad1 = ".a == [1, 'x', .b]", *bad2 = ".a.b.c == 'x' and .d[";
    EXPECT(filter_compile(bad1, strlen(bad1), NULL, 0, NULL) == NULL);
    EXPECT(filter_compile(bad2, strlen(bad2), NULL, 0, NULL) == NULL);
    EXPECT(zmalloc_used_memory() == before);
}

/* ------------------------------------------------------------------ */
/* Random expressions against a reference interpreter                  */
/* ------------------------------------------------------------------ */

enum { R_CONST, R_PATH, R_EXISTS, R_NEG, R_BANG, R_NOT, R_OR, R_AND, R_EQ, R_NE, R_LT, R_LE, R_GT, R_GE, R_IN,
       R_ADD, R_SUB, R_MUL, R_DIV, R_MOD, R_POW };

static const char *r_opname[] = {"", "", "", "-", "!", "not ", "or", "and", "==", "!=", "<", "<=", ">", ">=",
                                 "in", "+", "-", "*", "/", "%", "**"};

typedef struct rnode {
    int kind;
    struct rnode *l, *r;
    json_t *k;   /* R_CONST: the constant (arrays of scalars too) */
    int path;    /* R_PATH, R_EXISTS: index into r_paths */
} rnode;

/* Reference paths: text and steps (name, or index when name is NULL). */
static const struct {
    const char *text;
    const char *name[2];
    int index[2];
    int nsteps;
} r_paths[] = {
    {".a", {"a"}, {0}, 1},          {".b", {"b"}, {0}, 1},
    {".c", {"c"}, {0}, 1},          {".o.x", {"o", "x"}, {0}, 2},
    {".arr[0]", {"arr", NULL}, {0, 0}, 2}, {".arr[-1]", {"arr", NULL}, {0, -1}, 2},
    {".nope", {"nope"}, {0}, 1},    {".arr", {"arr"}, {0}, 1},
    {".o", {"o"}, {0}, 1},
};
#define R_NPATHS (sizeof(r_paths) / sizeof(r_paths[0]))

static int r_prec(const rnode *n) {
    switch (n->kind) {
    case R_OR: return 1;
    case R_AND: return 2;
    case R_NOT: return 3;
    case R_EQ: case R_NE: case R_LT: case R_LE: case R_GT: case R_GE: case R_IN: return 4;
    case R_ADD: case R_SUB: return 5;
    case R_MUL: case R_DIV: case R_MOD: return 6;
    case R_POW: return 7;
    case R_NEG: case R_BANG: return 8;
    case R_CONST:
        return json_is_number(n->k) && json_number_value(n->k) < 0 ? 8 : 9; /* printed with a prefix - */
    default: return 9;
    }
}

static json_t *r_scalar(void) {
    static const char *strs[] = {"", "a", "ab", "b", "abc", "x y", "\xc3\xa9"};
    switch (rnd(9)) {
    case 0: return json_integer((json_int_t)rnd(7) - 3);
    case 1: return json_integer(rnd(2) ? 9007199254740993LL : 9007199254740992LL);
    case 2: return json_real((double)((int)rnd(9) - 4) / 2.0);
    case 3: return json_real(9007199254740992.0);
    case 4: case 5: return json_string(strs[rnd(7)]);
    case 6: return json_boolean(rnd(2));
    case 7: return json_null();
    default: return json_integer(rnd(2) ? INT64_MAX : INT64_MIN + 1);
    }
}

static json_t *r_array(void) {
    json_t *a = json_array();
    unsigned n = rnd(4);
    for (unsigned i = 0; i < n; i++) json_array_append_new(a, r_scalar());
    return a;
}

static rnode *r_new(int kind) {
    rnode *n = calloc(1, sizeof(*n));
    n->kind = kind;
    return n;
}

static rnode *r_gen(int depth) {
    if (depth <= 0 || rnd(10) < 3) {
        unsigned w = rnd(10);
        rnode *n;
        if (w < 4) {
            n = r_new(R_PATH);
            n->path = (int)rnd(R_NPATHS);
        } else if (w < 5) {
            n = r_new(R_EXISTS);
            n->path = (int)rnd(R_NPATHS);
        } else {
            n = r_new(R_CONST);
            n->k = rnd(6) == 0 ? r_array() : r_scalar();
        }
        return n;
    }
    int kind = R_NEG + (int)rnd(R_POW - R_NEG + 1);
    rnode *n = r_new(kind);
    n->l = r_gen(depth - 1);
    if (kind >= R_OR) n->r = r_gen(depth - 1);
    return n;
}

/* An arithmetic tree over small numbers (and sometimes a path), so that
 * the value check sees precedence and associativity of + - * / % **. */
static rnode *r_gen_arith(int depth) {
    static const int ops[] = {R_NEG, R_ADD, R_SUB, R_MUL, R_DIV, R_MOD, R_POW, R_POW};
    if (depth <= 0 || rnd(10) < 2) {
        rnode *n;
        if (rnd(8) == 0) {
            n = r_new(R_PATH);
            n->path = (int)rnd(3);
        } else {
            n = r_new(R_CONST);
            n->k = rnd(4) ? json_integer((json_int_t)rnd(9) - 3) : json_real(((int)rnd(9) - 4) / 2.0);
        }
        return n;
    }
    rnode *n = r_new(ops[rnd(8)]);
    n->l = r_gen_arith(depth - 1);
    if (n->kind != R_NEG) n->r = r_gen_arith(depth - 1);
    return n;
}

static void r_free(rnode *n) {
    if (!n) return;
    r_free(n->l);
    r_free(n->r);
    json_decref(n->k);
    free(n);
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
    if (b->n + len + 1 > b->cap) {
        b->cap = (b->n + len + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void r_print_scalar(sbuf *b, const json_t *k) {
    char buf[64];
    if (json_is_integer(k)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(k));
    } else if (json_is_real(k)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(k));
        if (!strpbrk(buf, ".e")) strcat(buf, ".0");
    } else if (json_is_string(k)) {
        int single = rnd(2);
        sb_str(b, single ? "'" : "\"");
        for (const char *s = json_string_value(k); *s; s++) {
            int two = (unsigned char)*s == 0xc3; /* the only non-ASCII letter used: \xc3\xa9 */
            if (rnd(8) == 0) snprintf(buf, sizeof(buf), "\\u%04x", two ? 0xe9 : *s);
            else snprintf(buf, sizeof(buf), two ? "%c%c" : "%c", s[0], s[1]);
            sb_str(b, buf);
            s += two;
        }
        sb_str(b, single ? "'" : "\"");
        return;
    } else {
        snprintf(buf, sizeof(buf), "%s", json_is_true(k) ? "true" : json_is_false(k) ? "false" : "null");
    }
    sb_str(b, buf);
}

static void r_print(sbuf *b, const rnode *n);

/* Prints child c of an operator with precedence p, in parentheses when
 * needed (below min) or at random. */
static void r_print_child(sbuf *b, const rnode *c, int min) {
    int paren = r_prec(c) < min || rnd(12) == 0;
    if (paren) sb_str(b, "(");
    r_print(b, c);
    if (paren) sb_str(b, ")");
}

static void r_print(sbuf *b, const rnode *n) {
    const char *sp = rnd(2) ? " " : "";
    int p = r_prec(n);
    switch (n->kind) {
    case R_CONST:
        if (json_is_array(n->k)) {
            sb_str(b, "[");
            for (size_t i = 0; i < json_array_size(n->k); i++) {
                if (i) sb_str(b, rnd(2) ? ", " : ",");
                r_print_scalar(b, json_array_get(n->k, i));
            }
            sb_str(b, "]");
        } else {
            r_print_scalar(b, n->k);
        }
        break;
    case R_PATH: sb_str(b, r_paths[n->path].text); break;
    case R_EXISTS:
        sb_str(b, "exists(");
        sb_str(b, r_paths[n->path].text);
        sb_str(b, ")");
        break;
    case R_NEG:
    case R_BANG:
        sb_str(b, r_opname[n->kind]);
        r_print_child(b, n->l, 8);
        break;
    case R_NOT:
        sb_str(b, "not ");
        r_print_child(b, n->l, 3);
        break;
    default: {
        int word = n->kind == R_OR || n->kind == R_AND || n->kind == R_IN;
        const char *name = r_opname[n->kind];
        if (n->kind == R_OR && rnd(2)) name = "||";
        if (n->kind == R_AND && rnd(2)) name = "&&";
        /* left-assoc: left >= p, right > p; ** right-assoc: left > p, right >= p;
         * comparisons do not chain: both > p. */
        int lmin = n->kind == R_POW || p == 4 ? p + 1 : p, rmin = n->kind == R_POW ? p : p + 1;
        r_print_child(b, n->l, lmin);
        sb_str(b, word ? " " : sp);
        sb_str(b, name);
        sb_str(b, word ? " " : sp);
        r_print_child(b, n->r, rmin);
    }
    }
}

/* Reference values. Numbers are compared as long doubles, which hold
 * every int64 and every double exactly. */
enum { RV_MISS, RV_NULL, RV_BOOL, RV_INT, RV_DBL, RV_STR, RV_ARR, RV_OBJ };

typedef struct rv {
    int t;
    int64_t i;
    double d;
    const json_t *j; /* strings, arrays, objects */
} rv;

static rv rv_of(const json_t *j) {
    rv v = {RV_MISS, 0, 0, j};
    if (!j) return v;
    if (json_is_null(j)) v.t = RV_NULL;
    else if (json_is_boolean(j)) v.t = RV_BOOL, v.i = json_is_true(j);
    else if (json_is_integer(j)) v.t = RV_INT, v.i = json_integer_value(j);
    else if (json_is_real(j)) v.t = RV_DBL, v.d = json_real_value(j);
    else if (json_is_string(j)) v.t = RV_STR;
    else if (json_is_array(j)) v.t = RV_ARR;
    else v.t = RV_OBJ;
    return v;
}

static rv rv_bool(int b) { return (rv){RV_BOOL, b != 0, 0, NULL}; }
static rv rv_miss(void) { return (rv){RV_MISS, 0, 0, NULL}; }
static int rv_isnum(rv v) { return v.t == RV_INT || v.t == RV_DBL; }
static long double rv_ld(rv v) { return v.t == RV_INT ? (long double)v.i : (long double)v.d; }

static int rv_truthy(rv v) {
    switch (v.t) {
    case RV_MISS: case RV_NULL: return 0;
    case RV_BOOL: case RV_INT: return v.i != 0;
    case RV_DBL: return v.d != 0;
    case RV_STR: return json_string_length(v.j) > 0;
    default: return 1;
    }
}

static int rv_same(rv a, rv b) {
    if (rv_isnum(a) && rv_isnum(b)) return rv_ld(a) == rv_ld(b);
    if (a.t != b.t) return 0;
    switch (a.t) {
    case RV_NULL: return 1;
    case RV_BOOL: return a.i == b.i;
    case RV_STR:
        return json_string_length(a.j) == json_string_length(b.j) &&
               memcmp(json_string_value(a.j), json_string_value(b.j), json_string_length(a.j)) == 0;
    case RV_ARR:
        if (json_array_size(a.j) != json_array_size(b.j)) return 0;
        for (size_t i = 0; i < json_array_size(a.j); i++)
            if (!rv_same(rv_of(json_array_get(a.j, i)), rv_of(json_array_get(b.j, i)))) return 0;
        return 1;
    case RV_OBJ: {
        if (json_object_size(a.j) != json_object_size(b.j)) return 0;
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)a.j, key, x) {
            json_t *y = json_object_get(b.j, key);
            if (!y || !rv_same(rv_of(x), rv_of(y))) return 0;
        }
        return 1;
    }
    default: return 0;
    }
}

static int rv_eq(rv a, rv b) {
    if (a.t == RV_MISS || b.t == RV_MISS) return (a.t == RV_NULL) + (b.t == RV_NULL) == 1;
    return rv_same(a, b);
}

static int rv_cmp(int kind, rv a, rv b) {
    int c;
    if (rv_isnum(a) && rv_isnum(b)) {
        long double x = rv_ld(a), y = rv_ld(b);
        c = x < y ? -1 : x > y;
    } else if (a.t == RV_STR && b.t == RV_STR) {
        const unsigned char *x = (const unsigned char *)json_string_value(a.j);
        const unsigned char *y = (const unsigned char *)json_string_value(b.j);
        size_t lx = json_string_length(a.j), ly = json_string_length(b.j), i = 0;
        while (i < lx && i < ly && x[i] == y[i]) i++;
        c = i < lx && i < ly ? (x[i] < y[i] ? -1 : 1) : (lx < ly ? -1 : lx > ly);
    } else {
        return 0;
    }
    switch (kind) {
    case R_LT: return c < 0;
    case R_LE: return c <= 0;
    case R_GT: return c > 0;
    default: return c >= 0;
    }
}

static int rv_in(rv x, rv y) {
    if (y.t == RV_ARR) {
        for (size_t i = 0; i < json_array_size(y.j); i++)
            if (rv_eq(x, rv_of(json_array_get(y.j, i)))) return 1;
        return 0;
    }
    if (x.t != RV_STR || y.t != RV_STR) return 0;
    size_t lx = json_string_length(x.j), ly = json_string_length(y.j);
    for (size_t i = 0; i + lx <= ly; i++)
        if (memcmp(json_string_value(y.j) + i, json_string_value(x.j), lx) == 0) return 1;
    return 0;
}

static rv rv_num_result(double d) { return isfinite(d) ? (rv){RV_DBL, 0, d, NULL} : rv_miss(); }

static rv rv_int_result(__int128 r, double fallback) {
    if (r >= INT64_MIN && r <= INT64_MAX) return (rv){RV_INT, (int64_t)r, 0, NULL};
    return rv_num_result(fallback);
}

static rv rv_arith(int kind, rv a, rv b) {
    if (!rv_isnum(a) || !rv_isnum(b)) return rv_miss();
    double x = a.t == RV_INT ? (double)a.i : a.d, y = b.t == RV_INT ? (double)b.i : b.d;
    int ints = a.t == RV_INT && b.t == RV_INT;
    __int128 p = a.i, q = b.i;
    switch (kind) {
    case R_ADD: return ints ? rv_int_result(p + q, x + y) : rv_num_result(x + y);
    case R_SUB: return ints ? rv_int_result(p - q, x - y) : rv_num_result(x - y);
    case R_MUL: return ints ? rv_int_result(p * q, x * y) : rv_num_result(x * y);
    case R_DIV:
        if (y == 0) return rv_miss();
        if (ints && p % q == 0) return rv_int_result(p / q, x / y);
        return rv_num_result(x / y);
    case R_MOD:
        if (y == 0) return rv_miss();
        return ints ? rv_int_result(p % q, 0) : rv_num_result(fmod(x, y));
    default: /* R_POW */
        if (ints && q >= 0) {
            __int128 r = 1;
            int over = 0;
            if (p == 0) r = q == 0;
            else if (p == 1) r = 1;
            else if (p == -1) r = q % 2 ? -1 : 1;
            else /* |p| >= 2: at most 64 steps before leaving int64 */
                for (__int128 k = 0; k < q && !over; k++) {
                    r *= p;
                    over = r > INT64_MAX || r < INT64_MIN;
                }
            if (!over) return (rv){RV_INT, (int64_t)r, 0, NULL};
        }
        return rv_num_result(pow(x, y));
    }
}

static const json_t *r_walk(int path, const json_t *doc) {
    const json_t *j = doc;
    for (int s = 0; s < r_paths[path].nsteps && j; s++) {
        if (r_paths[path].name[s]) {
            j = json_is_object(j) ? json_object_get(j, r_paths[path].name[s]) : NULL;
        } else {
            if (!json_is_array(j)) return NULL;
            int k = r_paths[path].index[s];
            if (k < 0) k += (int)json_array_size(j);
            j = k < 0 ? NULL : json_array_get(j, (size_t)k);
        }
    }
    return j;
}

static rv r_eval(const rnode *n, const json_t *doc) {
    rv a, b;
    switch (n->kind) {
    case R_CONST: return rv_of(n->k);
    case R_PATH: return rv_of(r_walk(n->path, doc));
    case R_EXISTS: return rv_bool(r_walk(n->path, doc) != NULL);
    case R_NEG:
        a = r_eval(n->l, doc);
        if (a.t == RV_INT) return rv_int_result(-(__int128)a.i, -(double)a.i);
        return a.t == RV_DBL ? rv_num_result(-a.d) : rv_miss();
    case R_BANG:
    case R_NOT: return rv_bool(!rv_truthy(r_eval(n->l, doc)));
    case R_AND: return rv_bool(rv_truthy(r_eval(n->l, doc)) && rv_truthy(r_eval(n->r, doc)));
    case R_OR: return rv_bool(rv_truthy(r_eval(n->l, doc)) || rv_truthy(r_eval(n->r, doc)));
    default: break;
    }
    a = r_eval(n->l, doc);
    b = r_eval(n->r, doc);
    switch (n->kind) {
    case R_EQ: return rv_bool(rv_eq(a, b));
    case R_NE: return rv_bool(a.t != RV_MISS && b.t != RV_MISS && !rv_same(a, b));
    case R_LT: case R_LE: case R_GT: case R_GE: return rv_bool(rv_cmp(n->kind, a, b));
    case R_IN: return rv_bool(rv_in(a, b));
    default: return rv_arith(n->kind, a, b);
    }
}

static json_t *r_doc(void) {
    json_t *d = json_object();
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        unsigned w = rnd(8);
        if (w == 0) continue; /* missing */
        json_object_set_new(d, names[i], w == 1 ? r_array() : r_scalar());
    }
    if (rnd(3)) {
        json_t *o = json_object();
        if (rnd(3)) json_object_set_new(o, "x", r_scalar());
        json_object_set_new(d, "o", o);
    }
    if (rnd(3)) json_object_set_new(d, "arr", r_array());
    return d;
}

/* Checks the value of expression src, not only its truthiness: `(src) ==
 * v` must match when v is a scalar (null when v is missing). */
static int value_agrees(const char *src, rv v, const json_t *doc) {
    json_t *k;
    switch (v.t) {
    case RV_MISS: case RV_NULL: k = json_null(); break;
    case RV_BOOL: k = json_boolean(v.i); break;
    case RV_INT: k = json_integer(v.i); break;
    case RV_DBL: k = json_real(v.d); break;
    case RV_STR: k = json_incref((json_t *)v.j); break;
    default: return 1;
    }
    sbuf b = {0};
    sb_str(&b, "(");
    sb_str(&b, src);
    sb_str(&b, ") == ");
    r_print_scalar(&b, k);
    json_decref(k);
    filter_expr *f = filter_compile(b.p, b.n, NULL, 0, NULL);
    int ok = f && filter_eval(f, doc);
    if (!ok) {
        char *dj = json_dumps(doc, JSON_COMPACT);
        fprintf(stderr, "  value differs: %s on %s\n", b.p, dj);
        free(dj);
    }
    filter_free(f);
    free(b.p);
    return ok;
}

TEST(test_random_against_reference) {
    enum { EXPRS = 3000, DOCS = 24 };
    json_t *docs[DOCS];
    for (int i = 0; i < DOCS; i++) docs[i] = r_doc();
    int mismatches = 0, matches = 0, constrained = 0;
    sbuf b = {0};
    for (int e = 0; e < EXPRS && mismatches < 5; e++) {
        rnode *n = e % 3 == 0 ? r_gen_arith(1 + (int)rnd(5)) : r_gen(1 + (int)rnd(5));
        if (rnd(3) == 0) { /* a conjunction of comparisons, for the constraints */
            rnode *x = r_new(R_AND);
            x->l = n;
            x->r = r_new(R_EQ + (int)rnd(7));
            x->r->l = r_new(R_PATH);
            x->r->l->path = (int)rnd(R_NPATHS);
            x->r->r = r_new(R_CONST);
            x->r->r->k = rnd(4) == 0 ? r_array() : r_scalar();
            n = x;
        }
        b.n = 0;
        r_print(&b, n);
        char err[256];
        filter_expr *f = filter_compile(b.p, b.n, err, sizeof(err), NULL);
        if (!f) {
            fprintf(stderr, "  does not compile: %s: %s\n", b.p, err);
            mismatches++;
            r_free(n);
            continue;
        }
        size_t nc;
        int exact;
        const filter_constraint *c = filter_constraints(f, &nc, &exact);
        constrained += nc > 0;
        for (int d = 0; d < DOCS; d++) {
            int want = rv_truthy(r_eval(n, docs[d])), got = filter_eval(f, docs[d]);
            matches += got;
            int all = 1;
            for (size_t i = 0; i < nc; i++) all &= filter_constraint_eval(&c[i], docs[d]);
            if (!value_agrees(b.p, r_eval(n, docs[d]), docs[d])) {
                mismatches++;
                break;
            }
            if (want != got || (got && !all) || (exact && all && !got)) {
                char *dj = json_dumps(docs[d], JSON_COMPACT);
                fprintf(stderr, "  %s on %s: filter %d, reference %d, constraints %d (exact %d)\n", b.p, dj, got,
                        want, all, exact);
                free(dj);
                mismatches++;
                break;
            }
        }
        filter_free(f);
        r_free(n);
    }
    EXPECT(mismatches == 0);
    EXPECT(matches > EXPRS * DOCS / 10 && matches < EXPRS * DOCS * 9 / 10); /* both outcomes well exercised */
    EXPECT(constrained > EXPRS / 4);
    for (int i = 0; i < DOCS; i++) json_decref(docs[i]);
    free(b.p);
}

TEST(test_mutations_fail_cleanly) {
    static const char *seeds[] = {
        ".year >= 2020 and .lang == \"en\" and (\"ai\" in .tags or not exists(.draft))",
        ".a.b[0] ** -2 % 3 != [1, 'x', null] || !.c", "'\\u00e9\\n' in .t && .p[-1] <= 1.5e3",
    };
    char buf[256], err[128];
    json_t *doc = J("{\"year\":2021,\"lang\":\"en\",\"tags\":[\"ai\"],\"a\":{\"b\":[2]}}");
    int compiled = 0, failed = 0;
    for (int i = 0; i < 20000; i++) {
        const char *s = seeds[rnd(3)];
        size_t len = strlen(s);
        memcpy(buf, s, len);
        for (unsigned m = 1 + rnd(3); m > 0; m--) {
            size_t at = rnd((unsigned)len);
            switch (rnd(3)) {
            case 0: buf[at] = "().[]'\"\\!=<>*-, aeu0119"[rnd(23)]; break;
            case 1: if (len > 1) { memmove(buf + at, buf + at + 1, len - at - 1); len--; } break;
            default: buf[at] = (char)rnd(256); break;
            }
        }
        size_t pos = 99999;
        filter_expr *f = filter_compile(buf, len, err, sizeof(err), &pos);
        if (f) {
            compiled++;
            int r = filter_eval(f, doc);
            EXPECT(r == 0 || r == 1);
            filter_free(f);
        } else {
            failed++;
            EXPECT(pos <= len && strncmp(err, "syntax error at position ", 25) == 0);
        }
    }
    EXPECT(compiled > 100 && failed > 100);
    json_decref(doc);
}

TEST(test_speed) {
    /* Not a benchmark: prints the cost of one evaluation for the record. */
    const char *src = ".year >= 2020 and .lang == \"en\" and (\"ai\" in .tags or not exists(.draft))";
    filter_expr *f = filter_compile(src, strlen(src), NULL, 0, NULL);
    ASSERT(f != NULL);
    json_t *doc = J("{\"year\":2021,\"lang\":\"en\",\"tags\":[\"db\",\"ai\"],\"title\":\"x\",\"n\":1}");
    struct timespec t0, t1;
    int n = 200000, hits = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) hits += filter_eval(f, doc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
    printf("  filter_eval: %.0f ns per document (%zu bytes compiled)\n", ns, filter_memory(f));
    EXPECT(hits == n);
    json_decref(doc);
    filter_free(f);
}

int main(void) {
    RUN(test_arithmetic);
    RUN(test_precedence_and_associativity);
    RUN(test_comparisons_and_types);
    RUN(test_missing_and_null);
    RUN(test_paths);
    RUN(test_in);
    RUN(test_exists);
    RUN(test_truthiness);
    RUN(test_int64_exactness);
    RUN(test_arithmetic_gives_missing);
    RUN(test_errors);
    RUN(test_limits);
    RUN(test_paths_introspection);
    RUN(test_constraints);
    RUN(test_path_parse);
    RUN(test_memory);
    RUN(test_random_against_reference);
    RUN(test_mutations_fail_cleanly);
    RUN(test_speed);
    return TEST_REPORT();
}

/* filter.h -- the filter language of PH.SEARCH FILTER (and EDGEFILTER):
 * compile an expression such as
 *
 *     .year >= 2020 and .lang == "en" and ("ai" in .tags or not exists(.draft))
 *
 * once, evaluate it on any number of JSON documents (parsed jansson trees,
 * never re-parsed), and describe it to the planner (the paths it reads and
 * the simple constraints of its top-level AND). Pure module: no server
 * header. docs/filters.md is the language reference for users; the rules
 * in brief:
 *
 *   values      missing (a path that leads nowhere), null, true/false,
 *               numbers (int64 when integral and in range, else double),
 *               strings, arrays, objects. No implicit conversions.
 *   missing     every comparison with a missing value is false, except
 *               that == and != treat missing as null when the other side
 *               is null: `.x == null` is true when .x is missing or null,
 *               `.x != null` when .x is present and not null. A missing
 *               value is never an error.
 *   types       values of different types are never equal (== false,
 *               != true) and never ordered (< <= > >= false). Numbers
 *               compare exactly (int64 with int64, int64 with double
 *               without rounding), strings bytewise, arrays element-wise.
 *   arithmetic  + - * / % ** and unary - on numbers only; anything else,
 *               division or modulo by zero, and results that are not
 *               finite give missing. Integer + - * % ** stay exact int64
 *               while they fit; / is exact when it divides evenly.
 *   in          `x in array`: some element == x; `s in string`: substring.
 *   truthiness  (and, or, not, !, and the filter's result) as in Redis 8
 *               vector sets: missing, null, false, 0 and "" are false;
 *               every other value (non-empty strings, arrays, objects)
 *               is true. and/or short-circuit and give booleans.
 *
 * Precedence, loosest first: or ||; and &&; not; == != < <= > >= in (these
 * do not chain); + -; * / %; ** (right-associative); prefix - and !.
 *
 * Threads: a compiled filter is read-only after filter_compile(), so any
 * number of threads may call filter_eval() and the introspection functions
 * on it at once; filter_free() needs exclusive ownership. Evaluation never
 * allocates and uses about 6 KB of C stack. */
#ifndef PHENIX_FILTER_H
#define PHENIX_FILTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FILTER_MAX_LEN 65536 /* bytes of source text */
#define FILTER_MAX_DEPTH 256 /* nesting levels: parentheses, prefix operators,
                              * operands of tighter operators, ** right operands */
#define FILTER_MAX_ARRAY 1024 /* elements of one array literal */

typedef struct filter_expr filter_expr;

/* A constant of the expression, as the planner sees it. Strings are not
 * NUL-terminated in general (they may hold NUL bytes); arrays hold scalars
 * only (array literals cannot nest). */
typedef enum filter_value_type {
    FILTER_NULL,
    FILTER_BOOL,
    FILTER_INT,
    FILTER_DOUBLE,
    FILTER_STRING,
    FILTER_ARRAY,
} filter_value_type;

typedef struct filter_value {
    filter_value_type type;
    union {
        int b;    /* FILTER_BOOL: 0 or 1 */
        int64_t i; /* FILTER_INT */
        double d; /* FILTER_DOUBLE: always finite */
        struct {
            const char *ptr;
            size_t len;
        } str; /* FILTER_STRING */
        struct {
            const struct filter_value *items;
            size_t len;
        } arr; /* FILTER_ARRAY */
    };
} filter_value;

/* One step of a path: a member name (name != NULL, len bytes, NUL-terminated
 * too) or an array index (name == NULL; index >= 0 counts from the start,
 * index < 0 from the end: -1 is the last element). */
typedef struct filter_step {
    const char *name;
    size_t len;
    int64_t index;
} filter_step;

/* A path such as .author.name or .tags[0]. text is its canonical spelling
 * (NUL-terminated): member names that are not plain words are quoted,
 * `."first-name"`; two spellings of one path (`.a["b"]`, `.a.b`) have the
 * same text, so the planner matches paths by comparing texts. */
typedef struct filter_path {
    const char *text;
    size_t text_len;
    const filter_step *steps;
    size_t nsteps;
} filter_path;

/* The form of a constraint `path op value`. CONTAINS is `value in path`
 * (path's array has an element == value, or path's string contains the
 * string value); IN is `path in value` with value an array constant;
 * EXISTS is exists(path) and has no value. */
typedef enum filter_op {
    FILTER_OP_EQ,
    FILTER_OP_NE,
    FILTER_OP_LT,
    FILTER_OP_LE,
    FILTER_OP_GT,
    FILTER_OP_GE,
    FILTER_OP_IN,
    FILTER_OP_CONTAINS,
    FILTER_OP_EXISTS,
} filter_op;

/* A simple conjunct of the filter's top-level AND, with the path on the
 * left (`10 > .price` is reported as `.price < 10`). It means exactly what
 * the language says: FILTER_OP_EQ with a null value also matches documents
 * where the path is missing; an INT value 5 matches 5 and 5.0. */
typedef struct filter_constraint {
    const filter_path *path;
    filter_op op;
    filter_value value;
} filter_constraint;

/* Compiles src[0..len) (NUL bytes included; no terminator needed). Returns
 * a new filter the caller frees with filter_free(), or NULL on a syntax
 * error or a limit exceeded (FILTER_MAX_*): then err (when errlen > 0)
 * receives a NUL-terminated message such as "syntax error at position 7:
 * expected an operand but found ')'" and *errpos (when errpos != NULL) the
 * 0-based byte offset it refers to (len for the end of the input).
 * Allocation failure is fatal (zmalloc). O(len) time and memory; recursion
 * depth is bounded by FILTER_MAX_DEPTH. */
filter_expr *filter_compile(const char *src, size_t len, char *err, size_t errlen, size_t *errpos);

/* Frees f and everything it owns; NULL is a no-op. Pointers returned by the
 * introspection functions below die with it. */
void filter_free(filter_expr *f);

/* 1 when doc satisfies f, else 0. doc is borrowed for the call; NULL means
 * the empty object {}; any JSON value is safe (a non-object root just makes
 * every path missing). No allocation; O(size of the compiled program) plus
 * the path walks (O(1) per step: jansson hashes object members). */
int filter_eval(const filter_expr *f, const json_t *doc);

/* The distinct paths the filter reads (exists() included), in order of
 * first appearance; *n receives how many. Borrowed until filter_free(). */
const filter_path *filter_paths(const filter_expr *f, size_t *n);

/* The simple conjuncts of the filter's top-level AND (nested ANDs and
 * parentheses included): path op constant, constant op path, path in
 * [array], constant in path, exists(path). *n receives how many; *exact
 * (when not NULL) is 1 when the filter is exactly the AND of them (every
 * conjunct was simple), else 0: then a document must satisfy every
 * constraint to match, but that is not enough. A filter with no AND (one
 * comparison) has one conjunct. Borrowed until filter_free(). */
const filter_constraint *filter_constraints(const filter_expr *f, size_t *n, int *exact);

/* 1 when doc satisfies the single constraint c (same semantics as the
 * language), else 0. For index maintenance and for checking a plan. */
int filter_constraint_eval(const filter_constraint *c, const json_t *doc);

/* Bytes allocated for f (program, constants, paths, strings). */
size_t filter_memory(const filter_expr *f);

/* Parses one path in filter syntax (`.price`, `.author.name`, `.tags[-1]`,
 * `."first-name"`), the whole of src[0..len) with no surrounding blanks.
 * Returns a new path the caller frees with filter_path_free(), or NULL with
 * err and *errpos as filter_compile() sets them. For FIELD and RETURN
 * arguments: compare its text with filter_paths()' texts. */
filter_path *filter_path_parse(const char *src, size_t len, char *err, size_t errlen, size_t *errpos);
void filter_path_free(filter_path *p);

/* The value at path p in doc (borrowed from doc), or NULL when missing
 * (NULL doc, a member absent, a step on the wrong type, an index out of
 * range). JSON null is returned as jansson's null, not as NULL. */
const json_t *filter_path_get(const filter_path *p, const json_t *doc);

#endif

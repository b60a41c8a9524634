/* t_zset.c -- sorted set commands: ZADD ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT
 * ZSCORE ZMSCORE ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES)
 * ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREVRANGE ZREMRANGEBYRANK|SCORE|LEX ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN
 * BZPOPMAX BZMPOP ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE
 * ZINTERCARD ZRANDMEMBER ZSCAN, with Redis 7 semantics and error wording.
 *
 * Encodings (OBJECT ENCODING):
 *  listpack  at most ZSET_MAX_LISTPACK_ENTRIES members of at most
 *            ZSET_MAX_LISTPACK_VALUE bytes: a plist (plist.c) of member,
 *            score, member, score ... in (score, member) order;
 *  skiplist  a skip list with spans (skiplist.c) for order and ranks, plus a
 *            dict whose keys are the skip list nodes, hashed and compared by
 *            member, for O(1) lookups by member. A node holds its member's
 *            bytes, so an element is one node and one dict entry.
 * A listpack becomes a skiplist when a threshold is passed; it never goes
 * back, except that results stored by Z*STORE get the encoding their size
 * calls for. An empty sorted set is never stored (the key is deleted).
 *
 * Every range operation is reduced to ranks: a score or lex range is the
 * rank interval [count below min, count up to max), computed in O(log n)
 * on a skiplist (O(n) on a listpack, n <= 128), and the elements of a rank
 * interval are read by an iterator positioned at a rank, in either
 * direction. So ZCOUNT/ZLEXCOUNT are O(log n), and LIMIT offsets cost
 * O(log n) instead of O(offset).
 *
 * Scores: parsed like Redis (strtod on the whole argument, no NaN, no
 * overflow); a NaN produced by INCR is refused; ZUNION/ZINTER turn NaN
 * (inf - inf, 0 * inf) into 0 as Redis does. Replies use add_reply_double
 * (RESP3 double, RESP2 bulk "%.17g" like Redis 7.0); WITHSCORES pairs are
 * nested arrays in RESP3.
 *
 * Blocking: BZPOPMIN, BZPOPMAX and BZMPOP answer at once when a key holds
 * elements; otherwise they block through blocked.c, which calls zset_serve()
 * when one of the keys gets a sorted set (a key is created by db_add, which
 * signals it; the STORE commands also signal the key they replace). Inside
 * MULTI (CLIENT_DENY_BLOCKING) they answer as on timeout at once.
 *
 * Naming: zs_* work on a sorted set value of either encoding, zl_* on the
 * listpack form only; *Command the commands, *_generic shared workers.
 *
 * Sources: the commands' documented behaviour (redis.io) with replies and
 * error texts checked against redis-server 7.0 (ZRANK WITHSCORE and the
 * creation-by-size rule follow the 7.2 documentation); Pugh's skip list
 * with spans (see skiplist.c). The code is this project's own. */
#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "blocked.h"
#include "plist.h"
#include "persist.h"
#include "server.h"
#include "skiplist.h"

#define ZSET_MAX_LISTPACK_ENTRIES 128
#define ZSET_MAX_LISTPACK_VALUE 64

typedef struct zset {
    dict *dict; /* keys: the sl_node of each member; no values */
    skiplist *sl;
} zset;

static uint64_t node_hash(const void *k) {
    const sl_node *n = k;
    return dict_hash_bytes(sl_ele(n), n->elelen);
}
static int node_eq(const void *a, const void *b) {
    const sl_node *x = a, *y = b;
    return x->elelen == y->elelen && memcmp(sl_ele(x), sl_ele(y), x->elelen) == 0;
}
static const dict_type zset_dict_type = {node_hash, node_eq, NULL, NULL};

/* A lookup key for the member dict: a node with no levels followed by
 * the member, on the stack when short (else on the heap, freed by
 * node_view_done). */
typedef struct node_view {
    _Alignas(sl_node) unsigned char buf[sizeof(sl_node) + 128];
    sl_node *heap;
} node_view;

static sl_node *node_view_of(node_view *v, const char *m, size_t len) {
    sl_node *n = (sl_node *)v->buf;
    v->heap = NULL;
    if (len > sizeof(v->buf) - sizeof(sl_node)) n = v->heap = zmalloc(sizeof(sl_node) + len);
    n->nlevels = 0;
    n->elelen = (uint32_t)len;
    if (len) memcpy((char *)sl_ele(n), m, len);
    return n;
}

static void node_view_done(node_view *v) {
    if (v->heap) zfree(v->heap);
}

static uint64_t member_hash(const void *k) { return dict_hash_bytes(k, ds_len((ds)k)); }
static int member_eq(const void *a, const void *b) {
    size_t la = ds_len((ds)a), lb = ds_len((ds)b);
    return la == lb && memcmp(a, b, la) == 0;
}

/* A ds view of bytes for lookups in ds-keyed dicts (ZUNION's accumulator):
 * on the stack for short members. */
typedef struct member_view {
    char buf[DS_HDR_8 + 128];
    ds heap;
} member_view;

static ds view_of(member_view *v, const char *p, size_t len) {
    if (len < 128) {
        v->heap = NULL;
        return ds_init_in(v->buf, p, len);
    }
    v->heap = ds_new(p, len);
    return v->heap;
}

static void view_done(member_view *v) { ds_free(v->heap); }

static int member_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* ---------------- score parsing ---------------- */

/* Parses the whole of p[0..len) with strtod into *out; 0 on failure. When
 * strict (scores, weights), leading spaces, overflow and underflow to zero
 * are refused as Redis's getDoubleFromObject does; range bounds are read
 * leniently as Redis's range parser does. NaN is always refused. */
static int parse_double(const char *p, size_t len, double *out, int strict) {
    char small[128], *buf = len < sizeof(small) ? small : zmalloc(len + 1);
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v);
    if (strict && (len == 0 || isspace((unsigned char)buf[0]) ||
                   (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO))))
        ok = 0;
    if (buf != small) zfree(buf);
    if (ok) *out = v;
    return ok;
}

static int arg_score(client *c, int i, double *out, const char *msg) {
    if (parse_double(c->argv[i].ptr, c->argv[i].len, out, 1)) return 0;
    add_reply_error(c, msg ? msg : "value is not a valid float");
    return -1;
}

typedef struct score_range {
    double min, max;
    int minex, maxex;
} score_range;

static int parse_range_item(const resp_arg *a, double *v, int *ex) {
    *ex = a->len > 0 && a->ptr[0] == '(';
    return parse_double(a->ptr + *ex, a->len - (size_t)*ex, v, 0);
}

/* Replies the error and returns -1 when min or max is not a float. */
static int parse_score_range(client *c, int imin, int imax, score_range *r) {
    if (!parse_range_item(&c->argv[imin], &r->min, &r->minex) ||
        !parse_range_item(&c->argv[imax], &r->max, &r->maxex)) {
        add_reply_error(c, "min or max is not a float");
        return -1;
    }
    return 0;
}

static int parse_lex_item(const resp_arg *a, sl_lexbound *b) {
    if (a->len == 0) return 0;
    b->s = NULL;
    b->len = 0;
    b->exclusive = 1;
    switch (a->ptr[0]) {
    case '+': b->kind = 1; return a->len == 1;
    case '-': b->kind = -1; return a->len == 1;
    case '(': break;
    case '[': b->exclusive = 0; break;
    default: return 0;
    }
    b->kind = 0;
    b->s = a->ptr + 1;
    b->len = a->len - 1;
    return 1;
}

typedef struct lex_range {
    sl_lexbound min, max;
} lex_range;

static int parse_lex_range(client *c, int imin, int imax, lex_range *r) {
    if (!parse_lex_item(&c->argv[imin], &r->min) || !parse_lex_item(&c->argv[imax], &r->max)) {
        add_reply_error(c, "min or max not valid string range item");
        return -1;
    }
    return 0;
}

/* ---------------- the listpack form ---------------- */

/* The member entry of m, or NULL. */
static unsigned char *zl_find(unsigned char *pl, const char *m, size_t len) {
    return pl_find(pl, pl_first(pl), m, len, 1);
}

/* Inserts (m, score) at its place in (score, member) order. */
static unsigned char *zl_insert(unsigned char *pl, const char *m, size_t len, double score) {
    unsigned char *p = pl_first(pl), *newp;
    char buf[PL_NUMBUF];
    while (p) {
        unsigned char *sp = pl_next(pl, p);
        double s = pl_get_double(sp);
        if (s > score) break;
        if (s == score) {
            size_t elen;
            const char *e = pl_get_str(p, buf, &elen);
            if (member_cmp(e, elen, m, len) > 0) break;
        }
        p = pl_next(pl, sp);
    }
    pl = pl_insert_str(pl, p, m, len, &newp);
    return pl_insert_double(pl, pl_next(pl, newp), score, NULL);
}

/* ---------------- a sorted set of either encoding ---------------- */

#define ZS(o) ((zset *)(o)->v.p)

static size_t zs_len(const pobj *o) {
    if (o->enc == ENC_LISTPACK) return pl_count(o->v.p) / 2;
    return ZS(o)->sl->length;
}

static zset *zset_new(void) {
    zset *z = zmalloc(sizeof(*z));
    z->dict = dict_create(&zset_dict_type);
    z->sl = sl_create();
    return z;
}

static void zset_free_value(pobj *o) {
    if (o->enc == ENC_LISTPACK) {
        pl_free(o->v.p);
        return;
    }
    dict_release(ZS(o)->dict);
    sl_free(ZS(o)->sl);
    zfree(o->v.p);
}

/* A new empty sorted set encoded for about size_hint members of at most
 * maxlen bytes. */
static pobj *zs_create(size_t size_hint, size_t maxlen) {
    if (size_hint <= ZSET_MAX_LISTPACK_ENTRIES && maxlen <= ZSET_MAX_LISTPACK_VALUE)
        return obj_new(OBJ_ZSET, ENC_LISTPACK, pl_new());
    return obj_new(OBJ_ZSET, ENC_SKIPLIST, zset_new());
}

pobj *zset_new_object(void) { return zs_create(0, 0); }

static void sk_insert(zset *z, double score, const char *m, size_t len) {
    dict_add(z->dict, sl_insert(z->sl, score, m, len), NULL);
}

static void zs_convert_to_skiplist(pobj *o) {
    if (o->enc == ENC_SKIPLIST) return;
    unsigned char *pl = o->v.p;
    zset *z = zset_new();
    char buf[PL_NUMBUF];
    for (unsigned char *p = pl_first(pl); p; p = pl_next(pl, pl_next(pl, p))) {
        size_t len;
        const char *m = pl_get_str(p, buf, &len);
        sk_insert(z, pl_get_double(pl_next(pl, p)), m, len);
    }
    pl_free(pl);
    o->enc = ENC_SKIPLIST;
    o->v.p = z;
}

static sl_node *sk_find(zset *z, const char *m, size_t len) {
    node_view nv;
    dict_entry *e = dict_find(z->dict, node_view_of(&nv, m, len));
    node_view_done(&nv);
    return e ? dict_entry_key(e) : NULL;
}

/* 1 and *score when m is a member, else 0. */
static int zs_score(const pobj *o, const char *m, size_t len, double *score) {
    if (o->enc == ENC_LISTPACK) {
        unsigned char *p = zl_find(o->v.p, m, len);
        if (!p) return 0;
        *score = pl_get_double(pl_next(o->v.p, p));
        return 1;
    }
    sl_node *n = sk_find(ZS(o), m, len);
    if (!n) return 0;
    *score = n->score;
    return 1;
}

/* Inserts a member known to be absent, converting the encoding when a
 * threshold would be passed. */
static void zs_insert_new(pobj *o, double score, const char *m, size_t len) {
    if (o->enc == ENC_LISTPACK) {
        if (zs_len(o) < ZSET_MAX_LISTPACK_ENTRIES && len <= ZSET_MAX_LISTPACK_VALUE) {
            o->v.p = zl_insert(o->v.p, m, len, score);
            return;
        }
        zs_convert_to_skiplist(o);
    }
    sk_insert(ZS(o), score, m, len);
}

/* Changes the score of an existing member. */
static void zs_update(pobj *o, const char *m, size_t len, double score) {
    if (o->enc == ENC_LISTPACK) {
        unsigned char *p = zl_find(o->v.p, m, len);
        ds copy = ds_new(m, len); /* m may point into the list */
        o->v.p = pl_delete(o->v.p, p, 2, NULL);
        o->v.p = zl_insert(o->v.p, copy, len, score);
        ds_free(copy);
        return;
    }
    sl_update_score(ZS(o)->sl, sk_find(ZS(o), m, len), score);
}

/* Removes m; returns 1 if it was a member. */
static int zs_delete(pobj *o, const char *m, size_t len) {
    if (o->enc == ENC_LISTPACK) {
        unsigned char *p = zl_find(o->v.p, m, len);
        if (!p) return 0;
        o->v.p = pl_delete(o->v.p, p, 2, NULL);
        return 1;
    }
    zset *z = ZS(o);
    node_view nv;
    dict_entry *e = dict_unlink(z->dict, node_view_of(&nv, m, len));
    node_view_done(&nv);
    if (!e) return 0;
    sl_node *n = dict_entry_key(e);
    dict_free_entry(z->dict, e);
    sl_free_node(sl_unlink(z->sl, n->score, sl_ele(n), n->elelen));
    dict_maybe_shrink(z->dict);
    return 1;
}

#define ZADD_NX (1 << 0)
#define ZADD_XX (1 << 1)
#define ZADD_GT (1 << 2)
#define ZADD_LT (1 << 3)
#define ZADD_INCR (1 << 4)

#define ZADD_ADDED (1 << 0)
#define ZADD_UPDATED (1 << 1)
#define ZADD_NOP (1 << 2)

/* Adds or updates m as ZADD does with the ZADD_* flags. *out gets
 * ZADD_ADDED, ZADD_UPDATED or ZADD_NOP and *newscore the resulting score.
 * Returns 0 (nothing changed) when INCR would produce NaN, else 1. */
static int zs_add(pobj *o, double score, const char *m, size_t len, int flags, int *out, double *newscore) {
    double cur;
    *out = 0;
    if (zs_score(o, m, len, &cur)) {
        if (flags & ZADD_NX) {
            *out = ZADD_NOP;
            return 1;
        }
        if (flags & ZADD_INCR) {
            score += cur;
            if (isnan(score)) return 0;
        }
        if (((flags & ZADD_LT) && score >= cur) || ((flags & ZADD_GT) && score <= cur)) {
            *out = ZADD_NOP;
            return 1;
        }
        *newscore = score;
        if (score != cur) {
            zs_update(o, m, len, score);
            *out = ZADD_UPDATED;
        }
        return 1;
    }
    if (flags & ZADD_XX) {
        *out = ZADD_NOP;
        return 1;
    }
    zs_insert_new(o, score, m, len);
    *newscore = score;
    *out = ZADD_ADDED;
    return 1;
}

/* 0-based rank of m (from the top when rev), or -1 when absent. */
static long zs_rank(const pobj *o, const char *m, size_t len, int rev, double *score) {
    size_t n = zs_len(o);
    long rank = -1;
    if (o->enc == ENC_LISTPACK) {
        unsigned char *pl = o->v.p;
        long i = 0;
        for (unsigned char *p = pl_first(pl); p; p = pl_next(pl, pl_next(pl, p)), i++) {
            if (pl_eq(p, m, len)) {
                *score = pl_get_double(pl_next(pl, p));
                rank = i;
                break;
            }
        }
    } else {
        sl_node *node = sk_find(ZS(o), m, len);
        if (node) {
            *score = node->score;
            rank = (long)sl_rank(ZS(o)->sl, node->score, m, len) - 1;
        }
    }
    if (rank >= 0 && rev) rank = (long)n - 1 - rank;
    return rank;
}

/* Members with a score below v (at or below when inclusive). */
static size_t zs_count_below_score(const pobj *o, double v, int inclusive) {
    if (o->enc == ENC_SKIPLIST) return sl_count_below_score(ZS(o)->sl, v, inclusive);
    unsigned char *pl = o->v.p;
    size_t n = 0;
    for (unsigned char *p = pl_first(pl); p; p = pl_next(pl, pl_next(pl, p)), n++) {
        double s = pl_get_double(pl_next(pl, p));
        if (inclusive ? s > v : s >= v) break;
    }
    return n;
}

/* Members sorting before the bound (or at it too when `at`). */
static size_t zs_count_below_lex(const pobj *o, const sl_lexbound *b, int at) {
    if (o->enc == ENC_SKIPLIST) return sl_count_below_lex(ZS(o)->sl, b, at);
    if (b->kind < 0) return 0;
    if (b->kind > 0) return zs_len(o);
    unsigned char *pl = o->v.p;
    char buf[PL_NUMBUF];
    size_t n = 0;
    for (unsigned char *p = pl_first(pl); p; p = pl_next(pl, pl_next(pl, p)), n++) {
        size_t len;
        const char *m = pl_get_str(p, buf, &len);
        int c = sl_lex_cmp(m, len, b);
        if (!(c < 0 || (at && c == 0))) break;
    }
    return n;
}

/* The rank interval [*lo, *hi) of a score range; empty when *hi <= *lo. */
static void score_range_ranks(const pobj *o, const score_range *r, size_t *lo, size_t *hi) {
    *lo = zs_count_below_score(o, r->min, r->minex);
    *hi = zs_count_below_score(o, r->max, !r->maxex);
}

static void lex_range_ranks(const pobj *o, const lex_range *r, size_t *lo, size_t *hi) {
    *lo = zs_count_below_lex(o, &r->min, r->min.exclusive);
    *hi = zs_count_below_lex(o, &r->max, !r->max.exclusive);
}

/* Reads members in order from a rank on, forwards or backwards (rev:
 * rank 0 is the highest). The sorted set must not change meanwhile. */
typedef struct zs_iter {
    const pobj *o;
    int rev;
    unsigned char *p;
    sl_node *n;
    char buf[PL_NUMBUF];
} zs_iter;

static void zs_iter_init(zs_iter *it, const pobj *o, size_t rank, int rev) {
    size_t len = zs_len(o);
    it->o = o;
    it->rev = rev;
    it->p = NULL;
    it->n = NULL;
    if (rank >= len) return;
    size_t idx = rev ? len - 1 - rank : rank;
    if (o->enc == ENC_LISTPACK) it->p = pl_seek(o->v.p, (long)idx * 2);
    else it->n = sl_by_rank(ZS(o)->sl, idx + 1);
}

static int zs_iter_next(zs_iter *it, const char **m, size_t *len, double *score) {
    if (it->o->enc == ENC_LISTPACK) {
        unsigned char *pl = it->o->v.p, *p = it->p;
        if (!p) return 0;
        *m = pl_get_str(p, it->buf, len);
        *score = pl_get_double(pl_next(pl, p));
        if (it->rev) {
            unsigned char *prev_score = pl_prev(pl, p);
            it->p = prev_score ? pl_prev(pl, prev_score) : NULL;
        } else {
            it->p = pl_next(pl, pl_next(pl, p));
        }
        return 1;
    }
    sl_node *n = it->n;
    if (!n) return 0;
    *m = sl_ele(n);
    *len = n->elelen;
    *score = n->score;
    it->n = it->rev ? n->backward : n->level[0].forward;
    return 1;
}

static void forget_node(void *priv, sl_node *n) { dict_delete(priv, n); }

/* Deletes the members of forward ranks start..end (inclusive). */
static size_t zs_delete_ranks(pobj *o, size_t start, size_t end) {
    if (o->enc == ENC_LISTPACK) {
        o->v.p = pl_delete(o->v.p, pl_seek(o->v.p, (long)start * 2), (uint32_t)((end - start + 1) * 2), NULL);
        return end - start + 1;
    }
    zset *z = ZS(o);
    size_t n = sl_delete_rank_range(z->sl, start + 1, end + 1, forget_node, z->dict);
    dict_maybe_shrink(z->dict);
    return n;
}

/* ---------------- type operations ---------------- */

static void *zset_dup_value(const pobj *o) {
    if (o->enc == ENC_LISTPACK) return pl_dup(o->v.p);
    zset *z = zset_new();
    for (sl_node *n = sl_by_rank(ZS(o)->sl, 1); n; n = n->level[0].forward)
        sk_insert(z, n->score, sl_ele(n), n->elelen);
    return z;
}

static size_t zset_mem_value(const pobj *o) {
    if (o->enc == ENC_LISTPACK) return zmalloc_size(o->v.p);
    return zmalloc_size(o->v.p) + dict_mem_usage(ZS(o)->dict) + sl_mem_usage(ZS(o)->sl);
}

const obj_type_ops zset_type_ops = {"zset", zset_free_value, zset_dup_value, zset_mem_value};

size_t zset_size(const pobj *o) { return zs_len(o); }

int zset_score(const pobj *o, const char *m, size_t len, double *score) { return zs_score(o, m, len, score); }

void zset_foreach(const pobj *o, zset_visit_fn *fn, void *priv) {
    zs_iter it;
    const char *m;
    size_t len;
    double score;
    zs_iter_init(&it, o, 0, 0);
    while (zs_iter_next(&it, &m, &len, &score)) fn(priv, m, len, score);
}

int zset_add_member(pobj *o, const char *m, size_t len, double score) {
    int out;
    double ns;
    if (isnan(score)) return 0;
    zs_add(o, score, m, len, 0, &out, &ns);
    return (out & ZADD_ADDED) != 0;
}

/* ---------------- lookups and replies ---------------- */

static int lookup_zset(client *c, resp_arg *k, int write, pobj **out) {
    return db_lookup_typed(c, k, OBJ_ZSET, write, out);
}

static void delete_if_empty(client *c, resp_arg *k, pobj *o) {
    if (zs_len(o) == 0 && db_delete(c->db, k->ptr, k->len))
        notify_keyspace_event(NOTIFY_GENERIC, "del", k->ptr, k->len, c->db->id);
}

/* The array header of n members, with scores as flat pairs (RESP2) or
 * nested pairs (RESP3). */
static void reply_range_len(client *c, long long n, int withscores) {
    add_reply_array_len(c, withscores && c->resp < 3 ? n * 2 : n);
}

static void reply_element(client *c, const char *m, size_t len, double score, int withscores) {
    if (withscores && c->resp >= 3) add_reply_array_len(c, 2);
    add_reply_bulk(c, m, len);
    if (withscores) add_reply_double(c, score);
}

/* ---------------- ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE ---------------- */

static void zadd_generic(client *c, int flags) {
    resp_arg *k = &c->argv[1];
    int ch = 0, idx = 2;
    for (; idx < c->argc; idx++) {
        if (arg_is(c, idx, "nx")) flags |= ZADD_NX;
        else if (arg_is(c, idx, "xx")) flags |= ZADD_XX;
        else if (arg_is(c, idx, "ch")) ch = 1;
        else if (arg_is(c, idx, "incr")) flags |= ZADD_INCR;
        else if (arg_is(c, idx, "gt")) flags |= ZADD_GT;
        else if (arg_is(c, idx, "lt")) flags |= ZADD_LT;
        else break;
    }
    int elements = c->argc - idx;
    if (elements == 0 || elements % 2) {
        add_reply_err_syntax(c);
        return;
    }
    elements /= 2;
    if ((flags & ZADD_NX) && (flags & ZADD_XX)) {
        add_reply_error(c, "XX and NX options at the same time are not compatible");
        return;
    }
    if (((flags & ZADD_NX) && (flags & (ZADD_GT | ZADD_LT))) || ((flags & ZADD_GT) && (flags & ZADD_LT))) {
        add_reply_error(c, "GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((flags & ZADD_INCR) && elements > 1) {
        add_reply_error(c, "INCR option supports a single increment-element pair");
        return;
    }
    /* every score is checked before anything changes */
    double *scores = zmalloc(sizeof(double) * (size_t)elements);
    size_t maxlen = 0;
    for (int j = 0; j < elements; j++) {
        if (arg_score(c, idx + 2 * j, &scores[j], NULL) < 0) goto done;
        if (c->argv[idx + 2 * j + 1].len > maxlen) maxlen = c->argv[idx + 2 * j + 1].len;
    }
    pobj *o;
    if (lookup_zset(c, k, 1, &o) < 0) goto done;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!o && !(flags & ZADD_XX)) {
        o = zs_create((size_t)elements, maxlen);
        db_add(c->db, k->ptr, k->len, o);
    } else if (o && o->enc == ENC_LISTPACK &&
               ((size_t)elements > ZSET_MAX_LISTPACK_ENTRIES || maxlen > ZSET_MAX_LISTPACK_VALUE)) {
        zs_convert_to_skiplist(o);
    }
    for (int j = 0; o && j < elements; j++) {
        int out;
        resp_arg *m = &c->argv[idx + 2 * j + 1];
        if (!zs_add(o, scores[j], m->ptr, m->len, flags, &out, &score)) {
            add_reply_error(c, "resulting score is not a number (NaN)");
            goto done;
        }
        added += (out & ZADD_ADDED) != 0;
        updated += (out & ZADD_UPDATED) != 0;
        processed += !(out & ZADD_NOP);
    }
    server_incr_dirty(added + updated);
    if (added + updated)
        notify_keyspace_event(NOTIFY_ZSET, (flags & ZADD_INCR) ? "zincr" : "zadd", c->argv[1].ptr, c->argv[1].len, c->db->id);
    if (flags & ZADD_INCR) {
        if (processed) add_reply_double(c, score);
        else add_reply_null(c);
    } else {
        add_reply_long(c, ch ? added + updated : added);
    }
done:
    zfree(scores);
}

void zaddCommand(client *c) { zadd_generic(c, 0); }
void zincrbyCommand(client *c) { zadd_generic(c, ZADD_INCR); }

void zremCommand(client *c) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_zset(c, k, 1, &o) < 0) return;
    long long removed = 0;
    for (int i = 2; o && i < c->argc && zs_len(o); i++) removed += zs_delete(o, c->argv[i].ptr, c->argv[i].len);
    if (removed) notify_keyspace_event(NOTIFY_ZSET, "zrem", k->ptr, k->len, c->db->id);
    if (o) delete_if_empty(c, k, o);
    server_incr_dirty(removed);
    add_reply_long(c, removed);
}

void zcardCommand(client *c) {
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    add_reply_long(c, o ? (long long)zs_len(o) : 0);
}

void zscoreCommand(client *c) {
    pobj *o;
    double score;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    if (o && zs_score(o, c->argv[2].ptr, c->argv[2].len, &score)) add_reply_double(c, score);
    else add_reply_null(c);
}

void zmscoreCommand(client *c) {
    pobj *o;
    double score;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    add_reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        if (o && zs_score(o, c->argv[i].ptr, c->argv[i].len, &score)) add_reply_double(c, score);
        else add_reply_null(c);
    }
}

/* ZRANK/ZREVRANK key member [WITHSCORE] */
static void zrank_generic(client *c, int rev) {
    int withscore = 0;
    if (c->argc > 4) {
        add_reply_err_arity(c);
        return;
    }
    if (c->argc == 4) {
        if (!arg_is(c, 3, "withscore")) {
            add_reply_err_syntax(c);
            return;
        }
        withscore = 1;
    }
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    double score = 0;
    long rank = o ? zs_rank(o, c->argv[2].ptr, c->argv[2].len, rev, &score) : -1;
    if (rank < 0) {
        if (withscore) add_reply_null_array(c);
        else add_reply_null(c);
        return;
    }
    if (withscore) add_reply_array_len(c, 2);
    add_reply_long(c, rank);
    if (withscore) add_reply_double(c, score);
}

void zrankCommand(client *c) { zrank_generic(c, 0); }
void zrevrankCommand(client *c) { zrank_generic(c, 1); }

/* ---------------- counts ---------------- */

void zcountCommand(client *c) {
    score_range r;
    if (parse_score_range(c, 2, 3, &r) < 0) return;
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    size_t lo = 0, hi = 0;
    if (o) score_range_ranks(o, &r, &lo, &hi);
    add_reply_long(c, hi > lo ? (long long)(hi - lo) : 0);
}

void zlexcountCommand(client *c) {
    lex_range r;
    if (parse_lex_range(c, 2, 3, &r) < 0) return;
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    size_t lo = 0, hi = 0;
    if (o) lex_range_ranks(o, &r, &lo, &hi);
    add_reply_long(c, hi > lo ? (long long)(hi - lo) : 0);
}

/* ---------------- ZRANGE and friends ---------------- */

enum { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };
enum { ZD_AUTO, ZD_FORWARD, ZD_REVERSE };

/* Normalizes a rank range against len as ZRANGE does; returns 0 when it
 * selects nothing, else 1 with 0 <= *start <= *end < len. */
static int clamp_ranks(long long *start, long long *end, long long len) {
    if (*start < 0) *start += len;
    if (*end < 0) *end += len;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= len) return 0;
    if (*end >= len) *end = len - 1;
    return 1;
}

/* Stores the elements read by it (count of them) in a new sorted set at
 * dst, replacing it, or deletes dst when count is 0. */
static long long store_range(client *c, resp_arg *dst, zs_iter *it, long long count, size_t maxlen) {
    if (count == 0) {
        if (db_delete(c->db, dst->ptr, dst->len)) {
            server_incr_dirty(1);
            notify_keyspace_event(NOTIFY_GENERIC, "del", dst->ptr, dst->len, c->db->id);
        }
        return 0;
    }
    pobj *out = zs_create((size_t)count, maxlen);
    const char *m;
    size_t len;
    double score;
    for (long long i = 0; i < count && zs_iter_next(it, &m, &len, &score); i++) zs_insert_new(out, score, m, len);
    db_set(c->db, dst->ptr, dst->len, out, 0);
    blocked_signal_key(c->db, dst->ptr, dst->len);
    server_incr_dirty(1);
    notify_keyspace_event(NOTIFY_ZSET, "zrangestore", dst->ptr, dst->len, c->db->id);
    return count;
}

/* The longest member among count elements read from a copy of it. */
static size_t longest_member(const zs_iter *it, long long count) {
    zs_iter copy = *it;
    const char *m;
    size_t len, max = 0;
    double score;
    for (long long i = 0; i < count && zs_iter_next(&copy, &m, &len, &score); i++)
        if (len > max) max = len;
    return max;
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
 * [WITHSCORES] and the older forms (type and direction preset), and
 * ZRANGESTORE dst src ... (dst != NULL, first = index of src). */
static void zrange_generic(client *c, int first, resp_arg *dst, int type, int dir) {
    int withscores = 0;
    long long offset = 0, limit = -1;
    for (int j = first + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!dst && arg_is(c, j, "withscores")) {
            withscores = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (arg_long(c, j + 1, &offset, NULL) < 0 || arg_long(c, j + 2, &limit, NULL) < 0) return;
            j += 2;
        } else if (dir == ZD_AUTO && arg_is(c, j, "rev")) {
            dir = ZD_REVERSE;
        } else if (type == ZR_AUTO && arg_is(c, j, "bylex")) {
            type = ZR_LEX;
        } else if (type == ZR_AUTO && arg_is(c, j, "byscore")) {
            type = ZR_SCORE;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (dir == ZD_AUTO) dir = ZD_FORWARD;
    if (type == ZR_AUTO) type = ZR_RANK;
    if (limit != -1 && type == ZR_RANK) {
        add_reply_error(c, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == ZR_LEX) {
        add_reply_error(c, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = dir == ZD_REVERSE;
    /* the reverse forms of BYSCORE and BYLEX take max before min */
    int imin = first + 1, imax = first + 2;
    if (rev && type != ZR_RANK) {
        imin = first + 2;
        imax = first + 1;
    }
    long long start = 0, end = 0;
    score_range sr;
    lex_range lr;
    if (type == ZR_RANK) {
        if (arg_long(c, imin, &start, NULL) < 0 || arg_long(c, imax, &end, NULL) < 0) return;
    } else if (type == ZR_SCORE) {
        if (parse_score_range(c, imin, imax, &sr) < 0) return;
    } else if (parse_lex_range(c, imin, imax, &lr) < 0) {
        return;
    }
    pobj *o;
    if (lookup_zset(c, &c->argv[first], 0, &o) < 0) return;
    /* the selection as a count of elements from a rank in direction dir */
    size_t from = 0;
    long long count = 0;
    if (o && type == ZR_RANK) {
        if (clamp_ranks(&start, &end, (long long)zs_len(o))) {
            from = (size_t)start;
            count = end - start + 1;
        }
    } else if (o) {
        size_t lo, hi;
        if (type == ZR_SCORE) score_range_ranks(o, &sr, &lo, &hi);
        else lex_range_ranks(o, &lr, &lo, &hi);
        if (hi > lo && offset >= 0 && (size_t)offset < hi - lo) {
            from = (rev ? zs_len(o) - hi : lo) + (size_t)offset;
            count = (long long)(hi - lo) - offset;
            if (limit >= 0 && limit < count) count = limit;
        }
    }
    zs_iter it;
    if (o) zs_iter_init(&it, o, from, rev);
    if (dst) {
        add_reply_long(c, store_range(c, dst, &it, count, count ? longest_member(&it, count) : 0));
        return;
    }
    reply_range_len(c, count, withscores);
    const char *m;
    size_t len;
    double score;
    for (long long i = 0; i < count && zs_iter_next(&it, &m, &len, &score); i++)
        reply_element(c, m, len, score, withscores);
}

void zrangeCommand(client *c) { zrange_generic(c, 1, NULL, ZR_AUTO, ZD_AUTO); }
void zrangestoreCommand(client *c) { zrange_generic(c, 2, &c->argv[1], ZR_AUTO, ZD_AUTO); }
void zrevrangeCommand(client *c) { zrange_generic(c, 1, NULL, ZR_RANK, ZD_REVERSE); }
void zrangebyscoreCommand(client *c) { zrange_generic(c, 1, NULL, ZR_SCORE, ZD_FORWARD); }
void zrevrangebyscoreCommand(client *c) { zrange_generic(c, 1, NULL, ZR_SCORE, ZD_REVERSE); }
void zrangebylexCommand(client *c) { zrange_generic(c, 1, NULL, ZR_LEX, ZD_FORWARD); }
void zrevrangebylexCommand(client *c) { zrange_generic(c, 1, NULL, ZR_LEX, ZD_REVERSE); }

/* ZREMRANGEBYRANK|SCORE|LEX key min max */
static void zremrange_generic(client *c, int type) {
    long long start = 0, end = 0;
    score_range sr;
    lex_range lr;
    if (type == ZR_RANK) {
        if (arg_long(c, 2, &start, NULL) < 0 || arg_long(c, 3, &end, NULL) < 0) return;
    } else if (type == ZR_SCORE) {
        if (parse_score_range(c, 2, 3, &sr) < 0) return;
    } else if (parse_lex_range(c, 2, 3, &lr) < 0) {
        return;
    }
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_zset(c, k, 1, &o) < 0) return;
    size_t removed = 0;
    if (o) {
        size_t lo = 0, hi = 0;
        if (type == ZR_RANK) {
            if (clamp_ranks(&start, &end, (long long)zs_len(o))) {
                lo = (size_t)start;
                hi = (size_t)end + 1;
            }
        } else if (type == ZR_SCORE) {
            score_range_ranks(o, &sr, &lo, &hi);
        } else {
            lex_range_ranks(o, &lr, &lo, &hi);
        }
        if (hi > lo) removed = zs_delete_ranks(o, lo, hi - 1);
        if (removed) notify_keyspace_event(NOTIFY_ZSET, c->cmd->name, k->ptr, k->len, c->db->id);
        delete_if_empty(c, k, o);
    }
    server_incr_dirty((long long)removed);
    add_reply_long(c, (long long)removed);
}

void zremrangebyrankCommand(client *c) { zremrange_generic(c, ZR_RANK); }
void zremrangebyscoreCommand(client *c) { zremrange_generic(c, ZR_SCORE); }
void zremrangebylexCommand(client *c) { zremrange_generic(c, ZR_LEX); }

/* ---------------- pops ---------------- */

enum { POP_FLAT, POP_NESTED, POP_KEYED_FLAT, POP_KEYED_NESTED };

/* Pops up to count members of o (at key k) from the low end (or the high
 * end when max) and replies them in the given style:
 *   POP_FLAT          m, s, m, s ...           (ZPOPMIN without count)
 *   POP_NESTED        like ZPOPMIN with count: pairs nested in RESP3
 *   POP_KEYED_FLAT    key, m, s                (BZPOPMIN)
 *   POP_KEYED_NESTED  key, [[m, s] ...]        (ZMPOP)
 * Deletes the key when it becomes empty. */
static void pop_and_reply(client *c, resp_arg *k, pobj *o, int max, long long count, int style) {
    size_t len = zs_len(o);
    if ((unsigned long long)count > len) count = (long long)len;
    int nested = style == POP_KEYED_NESTED || (style == POP_NESTED && c->resp >= 3);
    if (style == POP_KEYED_FLAT) {
        add_reply_array_len(c, 3);
        add_reply_bulk(c, k->ptr, k->len);
    } else if (style == POP_KEYED_NESTED) {
        add_reply_array_len(c, 2);
        add_reply_bulk(c, k->ptr, k->len);
        add_reply_array_len(c, count);
    } else {
        add_reply_array_len(c, nested ? count : count * 2);
    }
    zs_iter it;
    const char *m;
    size_t mlen;
    double score;
    zs_iter_init(&it, o, 0, max);
    for (long long i = 0; i < count && zs_iter_next(&it, &m, &mlen, &score); i++) {
        if (nested) add_reply_array_len(c, 2);
        add_reply_bulk(c, m, mlen);
        add_reply_double(c, score);
    }
    if (count) zs_delete_ranks(o, max ? len - (size_t)count : 0, max ? len - 1 : (size_t)count - 1);
    if (count) notify_keyspace_event(NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", k->ptr, k->len, c->db->id);
    server_incr_dirty(count);
    delete_if_empty(c, k, o);
}

static void zpop_generic(client *c, int max) {
    long long count = 1;
    if (c->argc > 3) {
        add_reply_err_syntax(c);
        return;
    }
    if (c->argc == 3 && (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0)) {
        add_reply_error(c, "value is out of range, must be positive");
        return;
    }
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_zset(c, k, 1, &o) < 0) return;
    if (!o || count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    pop_and_reply(c, k, o, max, count, c->argc == 3 ? POP_NESTED : POP_FLAT);
}

void zpopminCommand(client *c) { zpop_generic(c, 0); }
void zpopmaxCommand(client *c) { zpop_generic(c, 1); }

/* What a client blocked by BZPOPMIN/BZPOPMAX/BZMPOP waits to do. */
typedef struct zset_wait {
    int max;
    int style; /* POP_KEYED_FLAT (BZPOP*) or POP_KEYED_NESTED (BZMPOP) */
    long long count;
} zset_wait;

static int zset_serve(client *c, const char *key, size_t klen, pobj *o, void *arg) {
    zset_wait *w = arg;
    resp_arg k = {key, 0, klen};
    char cnt[24];
    int n = snprintf(cnt, sizeof(cnt), "%lld", w->count > 0 ? w->count : 1LL);
    const char *argv[3] = {w->max ? "ZPOPMAX" : "ZPOPMIN", key, cnt};
    size_t lens[3] = {7, klen, (size_t)n};
    propagate_command(c->db->id, 3, argv, lens); /* the log holds the pop it became */
    multi_touch_key(c->db, key, klen);
    pop_and_reply(c, &k, o, w->max, w->count, w->style);
    return 1;
}

static void zset_wait_timeout(client *c, void *arg) { add_reply_null_array(c); }

static void zset_wait_free(void *arg) { zfree(arg); }

static const blocked_ops zset_blocked_ops = {OBJ_ZSET, zset_serve, zset_wait_timeout, zset_wait_free};

/* Blocks c on keys[0..nkeys) until one holds a sorted set, or answers as
 * on timeout at once when c may not block (MULTI). */
static void block_or_reply(client *c, const resp_arg *keys, int nkeys, int64_t deadline, int max, int style,
                           long long count) {
    if (c->flags & CLIENT_DENY_BLOCKING) {
        add_reply_null_array(c);
        return;
    }
    zset_wait *w = zmalloc(sizeof(*w));
    w->max = max;
    w->style = style;
    w->count = count;
    blocked_block(c, keys, nkeys, deadline, &zset_blocked_ops, w);
}

/* BZPOPMIN/BZPOPMAX key [key ...] timeout: pops from the first non-empty
 * key, else blocks. */
static void bzpop_generic(client *c, int max) {
    int64_t deadline;
    if (blocked_parse_timeout(c, c->argc - 1, &deadline) < 0) return;
    for (int i = 1; i < c->argc - 1; i++) {
        pobj *o;
        if (lookup_zset(c, &c->argv[i], 1, &o) < 0) return;
        if (o) {
            pop_and_reply(c, &c->argv[i], o, max, 1, POP_KEYED_FLAT);
            return;
        }
    }
    block_or_reply(c, &c->argv[1], c->argc - 2, deadline, max, POP_KEYED_FLAT, 1);
}

void bzpopminCommand(client *c) { bzpop_generic(c, 0); }
void bzpopmaxCommand(client *c) { bzpop_generic(c, 1); }

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP (the
 * timeout at argv[1], numkeys at argv[2]). */
static void zmpop_generic(client *c, int first, int64_t deadline) {
    long long numkeys, count = -1;
    if (!util_str2ll(c->argv[first].ptr, c->argv[first].len, &numkeys) || numkeys <= 0) {
        add_reply_error(c, "numkeys should be greater than 0");
        return;
    }
    long long where = first + numkeys + 1;
    if (where >= c->argc) {
        add_reply_err_syntax(c);
        return;
    }
    int max;
    if (arg_is(c, (int)where, "min")) max = 0;
    else if (arg_is(c, (int)where, "max")) max = 1;
    else {
        add_reply_err_syntax(c);
        return;
    }
    for (int j = (int)where + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            j++;
            if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &count) || count <= 0) {
                add_reply_error(c, "count should be greater than 0");
                return;
            }
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (count == -1) count = 1;
    for (int i = first + 1; i < where; i++) {
        pobj *o;
        if (lookup_zset(c, &c->argv[i], 1, &o) < 0) return;
        if (o) {
            pop_and_reply(c, &c->argv[i], o, max, count, POP_KEYED_NESTED);
            return;
        }
    }
    if (deadline < 0) add_reply_null_array(c);
    else block_or_reply(c, &c->argv[first + 1], (int)numkeys, deadline, max, POP_KEYED_NESTED, count);
}

void zmpopCommand(client *c) { zmpop_generic(c, 1, -1); }

void bzmpopCommand(client *c) {
    int64_t deadline;
    if (blocked_parse_timeout(c, 1, &deadline) < 0) return;
    zmpop_generic(c, 2, deadline);
}

/* ---------------- ZUNION, ZINTER, ZDIFF ---------------- */

enum { AGG_SUM, AGG_MIN, AGG_MAX };
enum { ZOP_UNION, ZOP_INTER, ZOP_DIFF };

/* One input: a sorted set, a set (every score 1), or a missing key. */
typedef struct zinput {
    pobj *o;
    double weight;
} zinput;

static size_t input_len(const zinput *in) {
    if (!in->o) return 0;
    return in->o->type == OBJ_SET ? set_size(in->o) : zs_len(in->o);
}

static int input_score(const zinput *in, const char *m, size_t len, double *score) {
    if (!in->o) return 0;
    if (in->o->type == OBJ_SET) {
        *score = 1.0;
        return set_is_member(in->o, m, len);
    }
    return zs_score(in->o, m, len, score);
}

static void aggregate(double *target, double v, int agg) {
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target)) *target = 0;
    } else if (agg == AGG_MIN) {
        if (v < *target) *target = v;
    } else if (v > *target) {
        *target = v;
    }
}

static double weighted(double score, double weight) {
    double v = score * weight;
    return isnan(v) ? 0 : v;
}

/* The accumulated result: member (ds, owned) -> score bits in v.s64. */
static void ds_free_key(void *k) { ds_free(k); }
static const dict_type acc_dict_type = {member_hash, member_eq, ds_free_key, NULL};

static double acc_get(const dict_entry *e) {
    double d;
    int64_t bits = dict_entry_s64(e);
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void acc_set(dict_entry *e, double d) {
    int64_t bits;
    memcpy(&bits, &d, sizeof(d));
    dict_entry_set_s64(e, bits);
}

typedef struct zop_state {
    zinput *in;
    int n, op, agg;
    dict *acc;
    long long card, limit; /* ZINTERCARD: count only, stop at limit (0: none) */
    int cardinality_only;
    const zinput *cur; /* the input being visited */
} zop_state;

/* Visits one member of the input st->cur (the first for inter/diff). */
static void visit_member(void *priv, const char *m, size_t len, double score) {
    zop_state *st = priv;
    double v = weighted(score, st->cur->weight), other;
    if (st->op == ZOP_UNION) {
        member_view mv;
        dict_entry *e = dict_find(st->acc, view_of(&mv, m, len));
        view_done(&mv);
        if (e) {
            double t = acc_get(e);
            aggregate(&t, v, st->agg);
            acc_set(e, t);
        } else {
            acc_set(dict_add_raw(st->acc, ds_new(m, len), NULL), v);
        }
        return;
    }
    for (int j = 1; j < st->n; j++) {
        int found = st->in[j].o == st->in[0].o ? (other = score, 1) : input_score(&st->in[j], m, len, &other);
        if (st->op == ZOP_DIFF) {
            if (found) return;
            continue;
        }
        if (!found) return;
        aggregate(&v, weighted(other, st->in[j].weight), st->agg);
    }
    if (st->cardinality_only) {
        if (st->limit == 0 || st->card < st->limit) st->card++;
        return;
    }
    acc_set(dict_add_raw(st->acc, ds_new(m, len), NULL), v);
}

static void visit_set_member(void *priv, const char *m, size_t len) { visit_member(priv, m, len, 1.0); }

static void visit_input(zop_state *st, const zinput *in) {
    st->cur = in;
    if (!in->o) return;
    if (in->o->type == OBJ_SET) set_foreach(in->o, visit_set_member, st);
    else zset_foreach(in->o, visit_member, st);
}

static int by_cardinality(const void *a, const void *b) {
    size_t x = input_len(a), y = input_len(b);
    return (x > y) - (x < y);
}

/* Runs the operation over st->in; fills st->acc (or st->card). */
static void zop_compute(zop_state *st) {
    if (st->op == ZOP_DIFF) {
        if (input_len(&st->in[0])) visit_input(st, &st->in[0]);
        return;
    }
    /* smallest first, as Redis does (it also fixes the order of sums) */
    for (int i = 1; i < st->n; i++) { /* stable insertion sort */
        zinput x = st->in[i];
        int j = i;
        while (j > 0 && by_cardinality(&st->in[j - 1], &x) > 0) {
            st->in[j] = st->in[j - 1];
            j--;
        }
        st->in[j] = x;
    }
    if (st->op == ZOP_INTER) {
        if (input_len(&st->in[0])) visit_input(st, &st->in[0]);
        return;
    }
    for (int i = 0; i < st->n; i++) visit_input(st, &st->in[i]);
}

/* Builds a sorted set from the accumulated members; NULL when empty. */
static pobj *zop_result(dict *acc) {
    if (dict_size(acc) == 0) return NULL;
    size_t maxlen = 0;
    dict_iter it;
    dict_iter_init(&it, acc);
    for (dict_entry *e; (e = dict_iter_next(&it));)
        if (ds_len(dict_entry_key(e)) > maxlen) maxlen = ds_len(dict_entry_key(e));
    dict_iter_release(&it);
    pobj *o = zs_create(dict_size(acc), maxlen);
    dict_iter_init(&it, acc);
    for (dict_entry *e; (e = dict_iter_next(&it));) zs_insert_new(o, acc_get(e), dict_entry_key(e), ds_len(dict_entry_key(e)));
    dict_iter_release(&it);
    return o;
}

/* ZUNION/ZINTER/ZDIFF numkeys key ... and the STORE forms (dst != NULL,
 * numkeys at argv[2]); ZINTERCARD when card is set. */
static void zop_generic(client *c, int numidx, resp_arg *dst, int op, int card) {
    long long n;
    if (arg_long(c, numidx, &n, NULL) < 0) return;
    if (n < 1) {
        add_reply_errorf(c, "at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (n > c->argc - numidx - 1) {
        add_reply_err_syntax(c);
        return;
    }
    zinput *in = zmalloc(sizeof(zinput) * (size_t)n);
    int j = numidx + 1;
    for (long long i = 0; i < n; i++, j++) {
        resp_arg *k = &c->argv[j];
        pobj *o = dst ? db_lookup_write(c->db, k->ptr, k->len) : db_lookup_read(c->db, k->ptr, k->len);
        if (o && o->type != OBJ_ZSET && o->type != OBJ_SET) {
            add_reply_err_wrongtype(c);
            zfree(in);
            return;
        }
        in[i].o = o;
        in[i].weight = 1.0;
    }
    int agg = AGG_SUM, withscores = 0;
    long long limit = 0;
    while (j < c->argc) {
        int left = c->argc - j;
        if (card && arg_is(c, j, "limit") && left >= 2) {
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &limit) || limit < 0) {
                add_reply_error(c, "LIMIT can't be negative");
                goto done;
            }
            j += 2;
        } else if (!card && op != ZOP_DIFF && left >= n + 1 && arg_is(c, j, "weights")) {
            j++;
            for (long long i = 0; i < n; i++, j++)
                if (arg_score(c, j, &in[i].weight, "weight value is not a float") < 0) goto done;
        } else if (!card && op != ZOP_DIFF && left >= 2 && arg_is(c, j, "aggregate")) {
            if (arg_is(c, j + 1, "sum")) agg = AGG_SUM;
            else if (arg_is(c, j + 1, "min")) agg = AGG_MIN;
            else if (arg_is(c, j + 1, "max")) agg = AGG_MAX;
            else {
                add_reply_err_syntax(c);
                goto done;
            }
            j += 2;
        } else if (!card && !dst && arg_is(c, j, "withscores")) {
            withscores = 1;
            j++;
        } else {
            add_reply_err_syntax(c);
            goto done;
        }
    }
    zop_state st = {in, (int)n, op, agg, dict_create(&acc_dict_type), 0, limit, card, NULL};
    zop_compute(&st);
    if (card) {
        add_reply_long(c, st.card);
    } else {
        pobj *res = zop_result(st.acc);
        if (dst) {
            if (res) {
                db_set(c->db, dst->ptr, dst->len, res, 0);
                blocked_signal_key(c->db, dst->ptr, dst->len);
                server_incr_dirty(1);
                notify_keyspace_event(NOTIFY_ZSET, c->cmd->name, dst->ptr, dst->len, c->db->id);
            } else if (db_delete(c->db, dst->ptr, dst->len)) {
                server_incr_dirty(1);
                notify_keyspace_event(NOTIFY_GENERIC, "del", dst->ptr, dst->len, c->db->id);
            }
            add_reply_long(c, res ? (long long)zs_len(res) : 0);
        } else {
            long long count = res ? (long long)zs_len(res) : 0;
            reply_range_len(c, count, withscores);
            if (res) {
                zs_iter it;
                const char *m;
                size_t len;
                double score;
                zs_iter_init(&it, res, 0, 0);
                while (zs_iter_next(&it, &m, &len, &score)) reply_element(c, m, len, score, withscores);
                obj_free(res);
            }
        }
    }
    dict_release(st.acc);
done:
    zfree(in);
}

void zunionCommand(client *c) { zop_generic(c, 1, NULL, ZOP_UNION, 0); }
void zinterCommand(client *c) { zop_generic(c, 1, NULL, ZOP_INTER, 0); }
void zdiffCommand(client *c) { zop_generic(c, 1, NULL, ZOP_DIFF, 0); }
void zunionstoreCommand(client *c) { zop_generic(c, 2, &c->argv[1], ZOP_UNION, 0); }
void zinterstoreCommand(client *c) { zop_generic(c, 2, &c->argv[1], ZOP_INTER, 0); }
void zdiffstoreCommand(client *c) { zop_generic(c, 2, &c->argv[1], ZOP_DIFF, 0); }
void zintercardCommand(client *c) { zop_generic(c, 1, NULL, ZOP_INTER, 1); }

/* ---------------- ZRANDMEMBER ---------------- */

static uint64_t random_below(uint64_t n) { return set_rand64() % n; }

static void reply_random_element(client *c, const pobj *o, int withscores) {
    zs_iter it;
    const char *m;
    size_t len;
    double score;
    zs_iter_init(&it, o, (size_t)random_below(zs_len(o)), 0);
    zs_iter_next(&it, &m, &len, &score);
    reply_element(c, m, len, score, withscores);
}

static int by_rank(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void zrandmember_with_count(client *c, long long count, int withscores) {
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    if (!o || count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    size_t size = zs_len(o);
    if (count < 0) {
        reply_range_len(c, -count, withscores);
        for (long long i = 0; i < -count && !(c->flags & CLIENT_CLOSE_ASAP); i++)
            reply_random_element(c, o, withscores);
        return;
    }
    if ((unsigned long long)count > size) count = (long long)size;
    /* choose count distinct ranks (partial Fisher-Yates over 0..size-1,
     * or random draws with a seen-set when few of many are wanted) */
    size_t *p = zmalloc(sizeof(size_t) * (size_t)count);
    if ((unsigned long long)count * 3 > size) {
        size_t *all = zmalloc(sizeof(size_t) * size);
        for (size_t i = 0; i < size; i++) all[i] = i;
        for (long long i = 0; i < count; i++) {
            size_t j = (size_t)i + (size_t)random_below(size - (size_t)i), t = all[i];
            all[i] = all[j];
            all[j] = t;
            p[i] = all[i];
        }
        zfree(all);
    } else {
        dict *seen = dict_create(&acc_dict_type);
        long long got = 0;
        while (got < count) {
            size_t r = (size_t)random_below(size);
            char buf[24];
            int n = util_ll2str(buf, sizeof(buf), (long long)r);
            ds key = ds_new(buf, (size_t)n);
            if (dict_add(seen, key, NULL)) p[got++] = r;
            else ds_free(key);
        }
        dict_release(seen);
    }
    if (count == (long long)size) qsort(p, (size_t)count, sizeof(size_t), by_rank);
    reply_range_len(c, count, withscores);
    for (long long i = 0; i < count; i++) {
        zs_iter it;
        const char *m;
        size_t len;
        double score;
        zs_iter_init(&it, o, p[i], 0);
        zs_iter_next(&it, &m, &len, &score);
        reply_element(c, m, len, score, withscores);
    }
    zfree(p);
}

void zrandmemberCommand(client *c) {
    if (c->argc >= 3) {
        long long count;
        if (arg_long(c, 2, &count, NULL) < 0) return;
        if (count == LLONG_MIN) {
            add_reply_error(c, "value is out of range, value must between -9223372036854775807 and "
                               "9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withscores"))) {
            add_reply_err_syntax(c);
            return;
        }
        int withscores = c->argc == 4;
        if (withscores && (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2)) {
            add_reply_error(c, "value is out of range");
            return;
        }
        zrandmember_with_count(c, count, withscores);
        return;
    }
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    if (!o) add_reply_null(c);
    else reply_random_element(c, o, 0);
}

/* ---------------- ZSCAN ---------------- */

typedef struct node_batch {
    sl_node **nodes;
    size_t n, cap;
} node_batch;

static void collect_node(void *priv, dict_entry *e) {
    node_batch *b = priv;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->nodes = zrealloc(b->nodes, b->cap * sizeof(sl_node *));
    }
    b->nodes[b->n++] = dict_entry_key(e);
}

static void reply_scan_pair(client *c, const char *m, size_t len, double score) {
    char buf[64];
    add_reply_bulk(c, m, len);
    add_reply_bulk(c, buf, (size_t)util_d2str(buf, sizeof(buf), score));
}

void zscanCommand(client *c) {
    uint64_t cursor;
    long long count;
    const char *pat;
    size_t patlen;
    if (set_scan_parse_args(c, 2, &cursor, &count, &pat, &patlen) < 0) return;
    pobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) < 0) return;
    long long n = 0;
    if (!o || o->enc == ENC_LISTPACK) {
        /* a compact sorted set is returned whole in one call, cursor 0 */
        set_scan_reply_cursor(c, 0);
        void *h = add_reply_deferred_len(c);
        if (o) {
            zs_iter it;
            const char *m;
            size_t len;
            double score;
            zs_iter_init(&it, o, 0, 0);
            while (zs_iter_next(&it, &m, &len, &score)) {
                if (pat && !util_glob_match(pat, patlen, m, len, 0)) continue;
                reply_scan_pair(c, m, len, score);
                n += 2;
            }
        }
        set_deferred_array_len(c, h, n);
        return;
    }
    node_batch b = {NULL, 0, 0};
    long long maxiter = count * 10;
    do {
        cursor = dict_scan(ZS(o)->dict, cursor, collect_node, &b);
    } while (cursor && maxiter-- && (long long)b.n < count);
    set_scan_reply_cursor(c, cursor);
    void *h = add_reply_deferred_len(c);
    for (size_t i = 0; i < b.n; i++) {
        sl_node *node = b.nodes[i];
        if (pat && !util_glob_match(pat, patlen, sl_ele(node), node->elelen, 0)) continue;
        reply_scan_pair(c, sl_ele(node), node->elelen, node->score);
        n += 2;
    }
    set_deferred_array_len(c, h, n);
    zfree(b.nodes);
}

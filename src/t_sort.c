/* t_sort.c -- SORT and SORT_RO.
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
 * [ALPHA] [STORE destination], with Redis's semantics:
 *  - the elements of a list, set or sorted set are sorted as numbers
 *    (an element that is not a number: "ERR One or more scores can't be
 *    converted into double"), or with ALPHA as byte strings;
 *  - BY pattern sorts by the value of another key: the first '*' of the
 *    pattern is replaced by the element, "key->field" reads a hash field;
 *    a missing value counts as 0 (numeric) or sorts first (ALPHA). A
 *    pattern without '*' means "do not sort": the elements keep the order
 *    of the value (a list or sorted set read backwards with DESC), except
 *    that a set stored with STORE is sorted as ALPHA so that the stored
 *    list (and its replay from the log) is deterministic;
 *  - equal sort keys are ordered by the elements themselves (as bytes), so
 *    the result never depends on the input order;
 *  - LIMIT applies after the sort (negative count: to the end);
 *  - GET pattern returns the value of another key per element ("#": the
 *    element itself; missing: nil); several GETs give that many values
 *    per element;
 *  - STORE writes the result as a list (nil as the empty string), replacing
 *    the destination (deleted when the result is empty), and replies its
 *    length. SORT_RO is SORT without STORE.
 * Complexity: O(N log N) comparisons plus one key lookup per element and
 * pattern; the elements are copied first, so the lookups may expire keys
 * (the sorted key included) without harm. */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sort_item {
    ds elem;
    double score; /* numeric sort key */
    ds by;        /* ALPHA with BY: the BY value (NULL: missing) */
} sort_item;

typedef struct sort_items {
    sort_item *v;
    size_t n, cap;
} sort_items;

static void collect(void *priv, const char *p, size_t len) {
    sort_items *it = priv;
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = zrealloc(it->v, it->cap * sizeof(sort_item));
    }
    it->v[it->n++] = (sort_item){ds_new(p, len), 0, NULL};
}

static void collect_zset(void *priv, const char *m, size_t len, double score) {
    (void)score;
    collect(priv, m, len);
}

/* The value pattern names for element e, copied into a new ds, or NULL
 * (no '*' in the pattern, missing key, wrong type, missing field). */
static ds lookup_by_pattern(client *c, const resp_arg *pat, const ds e) {
    const char *p = pat->ptr, *star = memchr(p, '*', pat->len);
    if (pat->len == 1 && p[0] == '#') return ds_new(e, ds_len(e));
    if (!star) return NULL;
    size_t plen = pat->len;
    const char *field = NULL;
    size_t flen = 0;
    for (const char *a = star + 1; a + 1 < p + plen; a++)
        if (a[0] == '-' && a[1] == '>') {
            if (a + 2 < p + plen) {
                field = a + 2;
                flen = (size_t)(p + plen - field);
                plen = (size_t)(a - p);
            }
            break;
        }
    ds key = ds_empty(plen + ds_len(e));
    key = ds_cat(key, p, (size_t)(star - p));
    key = ds_cat(key, e, ds_len(e));
    key = ds_cat(key, star + 1, plen - (size_t)(star - p) - 1);
    pobj *o = db_lookup_read(c->db, key, ds_len(key));
    ds_free(key);
    if (!o) return NULL;
    char buf[HASH_NUMBUF > 32 ? HASH_NUMBUF : 32];
    const char *v;
    size_t vlen;
    if (field) {
        if (o->type != OBJ_HASH || !hash_get_field(o, field, flen, &v, &vlen, buf)) return NULL;
    } else {
        if (o->type != OBJ_STRING) return NULL;
        v = obj_str(o, buf, &vlen);
    }
    return ds_new(v, vlen);
}

/* Whole-string decimal: 1 with *out, or 0. */
static int parse_score(const char *p, size_t len, double *out) {
    char buf[128];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end || errno == ERANGE || isnan(d)) return 0;
    *out = d;
    return 1;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int r = memcmp(a, b, al < bl ? al : bl);
    return r ? r : (al > bl) - (al < bl);
}

static int sort_alpha, sort_by, sort_desc; /* the comparator's options */

static int item_cmp(const void *x, const void *y) {
    const sort_item *a = x, *b = y;
    int r = 0;
    if (!sort_alpha) {
        r = (a->score > b->score) - (a->score < b->score);
    } else if (sort_by) {
        if (!a->by || !b->by) r = (a->by != NULL) - (b->by != NULL);
        else r = bytes_cmp(a->by, ds_len(a->by), b->by, ds_len(b->by));
    }
    if (r == 0) r = bytes_cmp(a->elem, ds_len(a->elem), b->elem, ds_len(b->elem));
    return sort_desc ? -r : r;
}

static void items_free(sort_items *it) {
    for (size_t i = 0; i < it->n; i++) {
        ds_free(it->v[i].elem);
        ds_free(it->v[i].by);
    }
    zfree(it->v);
}

static void sort_generic(client *c, int readonly) {
    resp_arg *by = NULL, *store = NULL;
    resp_arg **gets = zmalloc(sizeof(resp_arg *) * (size_t)c->argc);
    int ngets = 0, desc = 0, alpha = 0;
    long long off = 0, count = -1;
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "asc")) {
            desc = 0;
        } else if (arg_is(c, j, "desc")) {
            desc = 1;
        } else if (arg_is(c, j, "alpha")) {
            alpha = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &off) ||
                !util_str2ll(c->argv[j + 2].ptr, c->argv[j + 2].len, &count)) {
                add_reply_err_not_int(c);
                zfree(gets);
                return;
            }
            j += 2;
        } else if (arg_is(c, j, "store") && left >= 1 && !readonly) {
            store = &c->argv[++j];
        } else if (arg_is(c, j, "by") && left >= 1) {
            by = &c->argv[++j];
        } else if (arg_is(c, j, "get") && left >= 1) {
            gets[ngets++] = &c->argv[++j];
        } else {
            add_reply_err_syntax(c);
            zfree(gets);
            return;
        }
    }
    pobj *o = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    if (o && o->type != OBJ_LIST && o->type != OBJ_SET && o->type != OBJ_ZSET) {
        add_reply_err_wrongtype(c);
        zfree(gets);
        return;
    }
    sort_items it = {0};
    if (o && o->type == OBJ_LIST) list_foreach(o, collect, &it);
    else if (o && o->type == OBJ_SET) set_foreach(o, collect, &it);
    else if (o) zset_foreach(o, collect_zset, &it);
    int dontsort = by && !memchr(by->ptr, '*', by->len);
    if (dontsort && o && o->type == OBJ_SET && store) { /* deterministic for the log */
        dontsort = 0;
        by = NULL;
        alpha = 1;
    }
    if (dontsort) {
        if (desc && o && o->type != OBJ_SET)
            for (size_t i = 0; i < it.n / 2; i++) {
                sort_item t = it.v[i];
                it.v[i] = it.v[it.n - 1 - i];
                it.v[it.n - 1 - i] = t;
            }
    } else {
        for (size_t i = 0; i < it.n; i++) {
            sort_item *s = &it.v[i];
            ds val = by ? lookup_by_pattern(c, by, s->elem) : NULL;
            if (alpha) {
                s->by = val;
                continue;
            }
            const ds src = by ? val : s->elem;
            if (src && !parse_score(src, ds_len(src), &s->score)) {
                ds_free(val);
                items_free(&it);
                zfree(gets);
                add_reply_error(c, "One or more scores can't be converted into double");
                return;
            }
            ds_free(val);
        }
        sort_alpha = alpha;
        sort_by = by != NULL;
        sort_desc = desc;
        if (it.n > 1) qsort(it.v, it.n, sizeof(sort_item), item_cmp);
    }
    /* LIMIT, as Redis clamps it (start < n before end is computed: no overflow) */
    long long n = (long long)it.n, start = off < 0 ? 0 : off, end;
    if (start >= n) {
        start = n - 1;
        end = n - 2;
    } else {
        end = count < 0 || count > n ? n - 1 : start + count - 1;
        if (end >= n) end = n - 1;
    }
    long long outn = end >= start ? end - start + 1 : 0;
    long long per = ngets ? ngets : 1;
    if (store) {
        pobj *l = list_new_object();
        for (long long i = start; i < start + outn; i++) {
            if (!ngets) list_push_tail(l, it.v[i].elem, ds_len(it.v[i].elem));
            for (int g = 0; g < ngets; g++) {
                ds v = lookup_by_pattern(c, gets[g], it.v[i].elem);
                list_push_tail(l, v ? v : "", v ? ds_len(v) : 0);
                ds_free(v);
            }
        }
        long long stored = outn * per;
        if (stored) {
            db_set(c->db, store->ptr, store->len, l, 0);
            server_incr_dirty(stored);
            notify_keyspace_event(NOTIFY_LIST, "sortstore", store->ptr, store->len, c->db->id);
        } else {
            obj_free(l);
            if (db_delete(c->db, store->ptr, store->len)) {
                server_incr_dirty(1);
                notify_keyspace_event(NOTIFY_GENERIC, "del", store->ptr, store->len, c->db->id);
            }
        }
        add_reply_long(c, stored);
    } else {
        add_reply_array_len(c, outn * per);
        for (long long i = start; i < start + outn; i++) {
            if (!ngets) add_reply_bulk(c, it.v[i].elem, ds_len(it.v[i].elem));
            for (int g = 0; g < ngets; g++) {
                ds v = lookup_by_pattern(c, gets[g], it.v[i].elem);
                if (v) add_reply_bulk(c, v, ds_len(v));
                else add_reply_null(c);
                ds_free(v);
            }
        }
    }
    items_free(&it);
    zfree(gets);
}

void sortCommand(client *c) { sort_generic(c, 0); }
void sort_roCommand(client *c) { sort_generic(c, 1); }

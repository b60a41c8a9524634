/* t_set.c -- set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD
 * SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE
 * SDIFF SDIFFSTORE SSCAN, with Redis 7 semantics and error wording.
 *
 * Encodings (OBJECT ENCODING), chosen as Redis 7.2 does:
 *  intset     every member is a canonical integer and there are at most
 *             SET_MAX_INTSET_ENTRIES of them (intset.c: sorted array);
 *  listpack   at most SET_MAX_LISTPACK_ENTRIES members of at most
 *             SET_MAX_LISTPACK_VALUE bytes (plist.c: flat list, linear scans);
 *  hashtable  anything bigger: a dict of members (hmember: length-prefixed
 *             bytes, one allocation each) with no values.
 * Conversions only go towards hashtable (intset -> listpack when a small
 * intset gets a short non-integer, either -> hashtable when a threshold is
 * passed); a set never shrinks back to a compact encoding, except that a
 * result stored by S*STORE is built afresh and so gets the encoding its size
 * calls for. A set that becomes empty is deleted from the keyspace: no
 * empty set is ever stored.
 *
 * Invariants: o->type == OBJ_SET; intset and listpack never exceed their
 * thresholds; a listpack holds no duplicate; a hashtable member is an
 * hmember owned by the dict.
 *
 * Complexity: SADD/SREM/SISMEMBER O(1) on a hashtable, O(log n) lookups
 * (O(n) inserts) on an intset, O(n) on a listpack (n <= 128); set algebra
 * as documented by Redis (SINTER O(N*M) worst case with N the smallest
 * set, SUNION/SDIFF O(total members)).
 *
 * Naming: set_* functions are this file's API (server.h) for other
 * families (ZUNION with set inputs, SORT, DUMP); *Command are the commands;
 * other helpers are static.
 *
 * Sources: the commands' documented behaviour (redis.io command pages) and
 * replies checked against redis-server 7.0; the encoding thresholds and
 * conversion rules of Redis 7.2's documentation (set-max-intset-entries,
 * set-max-listpack-entries, set-max-listpack-value). */
#include "intset.h"
#include "plist.h"
#include "persist.h"
#include "server.h"

#define SET_MAX_INTSET_ENTRIES 512
#define SET_MAX_LISTPACK_ENTRIES 128
#define SET_MAX_LISTPACK_VALUE 64

/* ---------------- hash table members ---------------- */

/* A member of a hashtable set is one allocation: its length in one byte
 * (or 0xFF then 4 bytes from 255 bytes on), then its bytes. A short member
 * so costs 8 bytes less than a ds (8-byte header and NUL), which puts most
 * members in a smaller allocator size class. */
typedef unsigned char hmember;

static size_t hm_hdr(size_t len) { return len < 255 ? 1 : 5; }

static size_t hm_len(const hmember *m) {
    if (m[0] < 255) return m[0];
    uint32_t l;
    memcpy(&l, m + 1, 4);
    return l;
}

static const char *hm_bytes(const hmember *m) { return (const char *)m + (m[0] < 255 ? 1 : 5); }

static void hm_write(hmember *m, const char *p, size_t len) {
    if (len < 255) {
        m[0] = (unsigned char)len;
    } else {
        uint32_t l = (uint32_t)len;
        m[0] = 255;
        memcpy(m + 1, &l, 4);
    }
    if (len) memcpy(m + hm_hdr(len), p, len);
}

static hmember *hm_new(const char *p, size_t len) {
    hmember *m = zmalloc(hm_hdr(len) + len);
    hm_write(m, p, len);
    return m;
}

static uint64_t hm_hash(const void *k) { return dict_hash_bytes(hm_bytes(k), hm_len(k)); }

static int hm_eq(const void *a, const void *b) {
    size_t la = hm_len(a);
    return la == hm_len(b) && memcmp(hm_bytes(a), hm_bytes(b), la) == 0;
}

static void hm_free(void *k) { zfree(k); }

static const dict_type hm_dict_type = {hm_hash, hm_eq, hm_free, NULL};

/* A member as a lookup key, on the stack when short (else on the heap,
 * freed by view_done). */
typedef struct member_view {
    hmember buf[128];
    hmember *heap;
} member_view;

static const hmember *view_of(member_view *v, const char *p, size_t len) {
    v->heap = NULL;
    if (len + 5 <= sizeof(v->buf)) {
        hm_write(v->buf, p, len);
        return v->buf;
    }
    v->heap = hm_new(p, len);
    return v->heap;
}

static void view_done(member_view *v) {
    if (v->heap) zfree(v->heap);
}

/* ---------------- encodings ---------------- */

static dict *new_hashtable(void) { return dict_create(&hm_dict_type); }

static void set_free_value(pobj *o) {
    if (o->enc == ENC_INTSET) intset_free(o->v.p);
    else if (o->enc == ENC_LISTPACK) pl_free(o->v.p);
    else dict_release(o->v.p);
}

size_t set_size(const pobj *o) {
    if (o->enc == ENC_INTSET) return intset_len(o->v.p);
    if (o->enc == ENC_LISTPACK) return pl_count(o->v.p);
    return dict_size((dict *)o->v.p);
}

/* Iteration over any encoding. The member returned by set_iter_next is
 * valid until the next call (numbers are formatted into it->buf). The set
 * must not change during the iteration. */
typedef struct set_iter {
    const pobj *o;
    uint32_t pos;
    unsigned char *p;
    dict_iter di;
    char buf[PL_NUMBUF];
} set_iter;

static void set_iter_init(set_iter *it, const pobj *o) {
    it->o = o;
    it->pos = 0;
    it->p = o->enc == ENC_LISTPACK ? pl_first(o->v.p) : NULL;
    if (o->enc == ENC_HASHTABLE) dict_iter_init(&it->di, o->v.p);
}

static int set_iter_next(set_iter *it, const char **p, size_t *len) {
    const pobj *o = it->o;
    if (o->enc == ENC_INTSET) {
        if (it->pos >= intset_len(o->v.p)) return 0;
        *len = (size_t)util_ll2str(it->buf, sizeof(it->buf), intset_get(o->v.p, it->pos++));
        *p = it->buf;
        return 1;
    }
    if (o->enc == ENC_LISTPACK) {
        if (!it->p) return 0;
        *p = pl_get_str(it->p, it->buf, len);
        it->p = pl_next(o->v.p, it->p);
        return 1;
    }
    dict_entry *e = dict_iter_next(&it->di);
    if (!e) return 0;
    *p = hm_bytes(dict_entry_key(e));
    *len = hm_len(dict_entry_key(e));
    return 1;
}

static void set_iter_done(set_iter *it) {
    if (it->o->enc == ENC_HASHTABLE) dict_iter_release(&it->di);
}

void set_foreach(const pobj *o, set_visit_fn *fn, void *priv) {
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) fn(priv, p, len);
    set_iter_done(&it);
}

static void convert_to_hashtable(pobj *o) {
    if (o->enc == ENC_HASHTABLE) return;
    dict *d = new_hashtable();
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) dict_add(d, hm_new(p, len), NULL);
    set_iter_done(&it);
    set_free_value(o);
    o->enc = ENC_HASHTABLE;
    o->v.p = d;
}

static void intset_to_listpack(pobj *o) {
    intset *is = o->v.p;
    unsigned char *pl = pl_new();
    for (uint32_t i = 0; i < intset_len(is); i++) pl = pl_insert_int(pl, NULL, intset_get(is, i), NULL);
    intset_free(is);
    o->enc = ENC_LISTPACK;
    o->v.p = pl;
}

int set_is_member(const pobj *o, const char *p, size_t len) {
    long long v;
    if (o->enc == ENC_INTSET) return util_str2ll(p, len, &v) && intset_find(o->v.p, v);
    if (o->enc == ENC_LISTPACK) return pl_find(o->v.p, pl_first(o->v.p), p, len, 0) != NULL;
    member_view mv;
    int r = dict_find(o->v.p, (void *)view_of(&mv, p, len)) != NULL;
    view_done(&mv);
    return r;
}

int set_add_member(pobj *o, const char *p, size_t len) {
    long long v;
    if (o->enc == ENC_INTSET) {
        if (util_str2ll(p, len, &v)) {
            int added;
            o->v.p = intset_add(o->v.p, v, &added);
            if (added && intset_len(o->v.p) > SET_MAX_INTSET_ENTRIES) convert_to_hashtable(o);
            return added;
        }
        if (intset_len(o->v.p) < SET_MAX_LISTPACK_ENTRIES && len <= SET_MAX_LISTPACK_VALUE) intset_to_listpack(o);
        else convert_to_hashtable(o);
    }
    if (o->enc == ENC_LISTPACK) {
        if (pl_find(o->v.p, pl_first(o->v.p), p, len, 0)) return 0;
        if (pl_count(o->v.p) < SET_MAX_LISTPACK_ENTRIES && len <= SET_MAX_LISTPACK_VALUE) {
            o->v.p = pl_insert_str(o->v.p, NULL, p, len, NULL);
            return 1;
        }
        convert_to_hashtable(o);
    }
    member_view mv;
    dict_entry *e = dict_find(o->v.p, (void *)view_of(&mv, p, len));
    view_done(&mv);
    if (e) return 0;
    dict_add(o->v.p, hm_new(p, len), NULL);
    return 1;
}

/* Removes a member; returns 1 if it was there. */
static int set_remove_member(pobj *o, const char *p, size_t len) {
    long long v;
    if (o->enc == ENC_INTSET) {
        int removed = 0;
        if (util_str2ll(p, len, &v)) o->v.p = intset_remove(o->v.p, v, &removed);
        return removed;
    }
    if (o->enc == ENC_LISTPACK) {
        unsigned char *e = pl_find(o->v.p, pl_first(o->v.p), p, len, 0);
        if (!e) return 0;
        o->v.p = pl_delete(o->v.p, e, 1, NULL);
        return 1;
    }
    member_view mv;
    int r = dict_delete(o->v.p, (void *)view_of(&mv, p, len));
    view_done(&mv);
    if (r) dict_maybe_shrink(o->v.p);
    return r;
}

/* An empty set in the encoding Redis would pick for a first member
 * looking like `first` and about size_hint members in all. */
static pobj *set_create_for(const char *first, size_t len, size_t size_hint) {
    long long v;
    if (first && util_str2ll(first, len, &v) && size_hint <= SET_MAX_INTSET_ENTRIES)
        return obj_new(OBJ_SET, ENC_INTSET, intset_new());
    if (size_hint <= SET_MAX_LISTPACK_ENTRIES) return obj_new(OBJ_SET, ENC_LISTPACK, pl_new());
    return obj_new(OBJ_SET, ENC_HASHTABLE, new_hashtable());
}

pobj *set_new_object(void) { return obj_new(OBJ_SET, ENC_INTSET, intset_new()); }

uint64_t set_rand64(void) {
    static uint64_t state;
    if (state == 0) {
        util_random_bytes(&state, sizeof(state));
        state |= 1;
    }
    /* xorshift64* (Marsaglia's xorshift with Vigna's multiplier) */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

/* A random entry of a non-empty dict: a random non-empty bucket, then a
 * random entry of its chain (the sampling of dict_random_entry, with the
 * fast generator instead of a system call per draw). */
static dict_entry *random_entry(dict *d) {
    if (dict_is_rehashing(d) && d->iterators == 0) dict_rehash(d, 1);
    dict_entry *e;
    do {
        uint64_t r = set_rand64();
        if (dict_is_rehashing(d)) {
            /* buckets of table[0] below rehashidx are empty */
            size_t span = d->size[0] + d->size[1] - (size_t)d->rehashidx;
            size_t i = (size_t)d->rehashidx + (size_t)(r % span);
            e = i >= d->size[0] ? d->table[1][i - d->size[0]] : d->table[0][i];
        } else {
            e = d->table[0][r & (d->size[0] - 1)];
        }
    } while (!e);
    size_t n = 0;
    for (dict_entry *x = e; x; x = dict_entry_next(x)) n++;
    for (size_t k = (size_t)(set_rand64() % n); k; k--) e = dict_entry_next(e);
    return e;
}

/* A random member, formatted into buf (PL_NUMBUF bytes) when needed. The
 * set must not be empty. */
static const char *set_random(const pobj *o, char *buf, size_t *len) {
    if (o->enc == ENC_HASHTABLE) {
        dict_entry *e = random_entry(o->v.p);
        *len = hm_len(dict_entry_key(e));
        return hm_bytes(dict_entry_key(e));
    }
    uint64_t r = set_rand64();
    if (o->enc == ENC_INTSET) {
        intset *is = o->v.p;
        *len = (size_t)util_ll2str(buf, PL_NUMBUF, intset_get(is, (uint32_t)(r % intset_len(is))));
        return buf;
    }
    unsigned char *pl = o->v.p;
    return pl_get_str(pl_seek(pl, (long)(r % pl_count(pl))), buf, len);
}

static void *set_dup_value(const pobj *o) {
    if (o->enc == ENC_INTSET) return intset_dup(o->v.p);
    if (o->enc == ENC_LISTPACK) return pl_dup(o->v.p);
    dict *d = new_hashtable();
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) dict_add(d, hm_new(p, len), NULL);
    set_iter_done(&it);
    return d;
}

/* MEMORY USAGE: exact for the flat encodings; for a hashtable the table
 * plus the average of up to 32 members' sizes times the count. */
static size_t set_mem_value(const pobj *o) {
    if (o->enc == ENC_INTSET) return intset_bytes(o->v.p);
    if (o->enc == ENC_LISTPACK) return zmalloc_size(o->v.p);
    dict *d = o->v.p;
    size_t n = dict_mem_usage(d), sampled = 0, bytes = 0;
    dict_iter it;
    dict_iter_init(&it, d);
    for (dict_entry *e; sampled < 32 && (e = dict_iter_next(&it)); sampled++) bytes += zmalloc_size(dict_entry_key(e));
    dict_iter_release(&it);
    if (sampled) n += bytes * dict_size(d) / sampled;
    return n;
}

const obj_type_ops set_type_ops = {"set", set_free_value, set_dup_value, set_mem_value};

/* ---------------- lookups ---------------- */

/* Looks key up; replies WRONGTYPE and returns -1 when it holds another
 * type. *out is NULL when the key is absent. */
static int lookup_set(client *c, resp_arg *k, int write, pobj **out) {
    return db_lookup_typed(c, k, OBJ_SET, write, out);
}

static void delete_if_empty(client *c, resp_arg *k, pobj *o) {
    if (set_size(o) == 0 && db_delete(c->db, k->ptr, k->len))
        notify_keyspace_event(NOTIFY_GENERIC, "del", k->ptr, k->len, c->db->id);
}

/* Replies with every member of o as a set (RESP3) or array (RESP2). */
static void reply_members(client *c, const pobj *o) {
    set_iter it;
    const char *p;
    size_t len;
    add_reply_set_len(c, (long long)set_size(o));
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) add_reply_bulk(c, p, len);
    set_iter_done(&it);
}

/* ---------------- basic commands ---------------- */

void saddCommand(client *c) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_set(c, k, 1, &o) < 0) return;
    size_t hint = (size_t)c->argc - 2;
    if (!o) {
        o = set_create_for(c->argv[2].ptr, c->argv[2].len, hint);
        db_add(c->db, k->ptr, k->len, o);
    } else if ((o->enc == ENC_INTSET && hint > SET_MAX_INTSET_ENTRIES) ||
               (o->enc == ENC_LISTPACK && hint > SET_MAX_LISTPACK_ENTRIES)) {
        convert_to_hashtable(o);
    }
    long long added = 0;
    for (int i = 2; i < c->argc; i++) added += set_add_member(o, c->argv[i].ptr, c->argv[i].len);
    server_incr_dirty(added);
    if (added) notify_keyspace_event(NOTIFY_SET, "sadd", k->ptr, k->len, c->db->id);
    add_reply_long(c, added);
}

void sremCommand(client *c) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_set(c, k, 1, &o) < 0) return;
    long long removed = 0;
    for (int i = 2; o && i < c->argc; i++) {
        removed += set_remove_member(o, c->argv[i].ptr, c->argv[i].len);
        if (set_size(o) == 0) break;
    }
    if (removed) notify_keyspace_event(NOTIFY_SET, "srem", k->ptr, k->len, c->db->id);
    if (o) delete_if_empty(c, k, o);
    server_incr_dirty(removed);
    add_reply_long(c, removed);
}

void smembersCommand(client *c) {
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    if (!o) add_reply_set_len(c, 0);
    else reply_members(c, o);
}

void sismemberCommand(client *c) {
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    add_reply_long(c, o && set_is_member(o, c->argv[2].ptr, c->argv[2].len));
}

void smismemberCommand(client *c) {
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    add_reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) add_reply_long(c, o && set_is_member(o, c->argv[i].ptr, c->argv[i].len));
}

void scardCommand(client *c) {
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    add_reply_long(c, o ? (long long)set_size(o) : 0);
}

void smoveCommand(client *c) {
    resp_arg *sk = &c->argv[1], *dk = &c->argv[2], *m = &c->argv[3];
    pobj *src = db_lookup_write(c->db, sk->ptr, sk->len);
    pobj *dst = db_lookup_write(c->db, dk->ptr, dk->len);
    if (!src) {
        add_reply_long(c, 0);
        return;
    }
    if (src->type != OBJ_SET || (dst && dst->type != OBJ_SET)) {
        add_reply_err_wrongtype(c);
        return;
    }
    if (src == dst) {
        add_reply_long(c, set_is_member(src, m->ptr, m->len));
        return;
    }
    if (!set_remove_member(src, m->ptr, m->len)) {
        add_reply_long(c, 0);
        return;
    }
    notify_keyspace_event(NOTIFY_SET, "srem", sk->ptr, sk->len, c->db->id);
    delete_if_empty(c, sk, src);
    if (!dst) {
        dst = set_create_for(m->ptr, m->len, 1);
        db_add(c->db, dk->ptr, dk->len, dst);
    }
    set_add_member(dst, m->ptr, m->len);
    server_incr_dirty(1);
    notify_keyspace_event(NOTIFY_SET, "sadd", dk->ptr, dk->len, c->db->id);
    add_reply_long(c, 1);
}

/* ---------------- random members ---------------- */

/* Every member of o copied out (numbers formatted), in iteration order. */
static ds *set_members_array(const pobj *o, size_t *n) {
    size_t cap = set_size(o), i = 0;
    ds *a = zmalloc((cap ? cap : 1) * sizeof(ds));
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) a[i++] = ds_new(p, len);
    set_iter_done(&it);
    *n = i;
    return a;
}

static void free_members_array(ds *a, size_t n) {
    for (size_t i = 0; i < n; i++) ds_free(a[i]);
    zfree(a);
}

static uint64_t random_below(uint64_t n) { return set_rand64() % n; }

/* Moves k uniformly chosen members of a[0..n) to a[0..k) (a partial
 * Fisher-Yates shuffle). */
static void pick_random_prefix(ds *a, size_t n, size_t k) {
    for (size_t i = 0; i < k && i + 1 < n; i++) {
        size_t j = i + (size_t)random_below(n - i);
        ds t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* SPOP is logged as what it removed (wal.c): SREM key m1 .. mn. */
static void propagate_srem(client *c, ds *members, size_t n) {
    const char **argv = zmalloc(sizeof(char *) * (n + 2));
    size_t *lens = zmalloc(sizeof(size_t) * (n + 2));
    argv[0] = "SREM";
    lens[0] = 4;
    argv[1] = c->argv[1].ptr;
    lens[1] = c->argv[1].len;
    for (size_t i = 0; i < n; i++) {
        argv[i + 2] = members[i];
        lens[i + 2] = ds_len(members[i]);
    }
    propagate_command(c->db->id, (int)(n + 2), argv, lens);
    zfree(argv);
    zfree(lens);
}

static void spop_with_count(client *c, long long count) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_set(c, k, 1, &o) < 0) return;
    if (!o || count == 0) {
        add_reply_set_len(c, 0);
        return;
    }
    size_t size = set_size(o);
    server_incr_dirty(count < (long long)size ? count : (long long)size);
    notify_keyspace_event(NOTIFY_SET, "spop", k->ptr, k->len, c->db->id);
    if ((unsigned long long)count >= size) {
        reply_members(c, o);
        const char *argv[2] = {"DEL", k->ptr};
        size_t lens[2] = {3, k->len};
        propagate_command(c->db->id, 2, argv, lens);
        db_delete(c->db, k->ptr, k->len);
        notify_keyspace_event(NOTIFY_GENERIC, "del", k->ptr, k->len, c->db->id);
        return;
    }
    add_reply_set_len(c, count);
    if ((unsigned long long)count * 5 > size) {
        /* most of the set goes: shuffle it once, rebuild the rest */
        size_t n;
        ds *a = set_members_array(o, &n);
        pick_random_prefix(a, n, (size_t)count);
        pobj *rest = set_create_for(a[count], ds_len(a[count]), n - (size_t)count);
        for (size_t i = (size_t)count; i < n; i++) set_add_member(rest, a[i], ds_len(a[i]));
        for (size_t i = 0; i < (size_t)count; i++) add_reply_bulk(c, a[i], ds_len(a[i]));
        propagate_srem(c, a, (size_t)count);
        free_members_array(a, n);
        set_free_value(o);
        o->enc = rest->enc;
        o->v.p = rest->v.p;
        rest->v.p = NULL;
        obj_free(rest);
        return;
    }
    char buf[PL_NUMBUF];
    ds *popped = zmalloc(sizeof(ds) * (size_t)count);
    for (long long i = 0; i < count; i++) {
        size_t len;
        const char *p = set_random(o, buf, &len);
        ds m = ds_new(p, len);
        add_reply_bulk(c, m, len);
        set_remove_member(o, m, len);
        popped[i] = m;
    }
    propagate_srem(c, popped, (size_t)count);
    for (long long i = 0; i < count; i++) ds_free(popped[i]);
    zfree(popped);
}

void spopCommand(client *c) {
    if (c->argc > 3) {
        add_reply_err_syntax(c);
        return;
    }
    if (c->argc == 3) {
        long long count;
        if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0) {
            add_reply_error(c, "value is out of range, must be positive");
            return;
        }
        spop_with_count(c, count);
        return;
    }
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_set(c, k, 1, &o) < 0) return;
    if (!o) {
        add_reply_null(c);
        return;
    }
    char buf[PL_NUMBUF];
    size_t len;
    const char *p = set_random(o, buf, &len);
    ds m = ds_new(p, len);
    add_reply_bulk(c, m, len);
    set_remove_member(o, m, len);
    propagate_srem(c, &m, 1);
    ds_free(m);
    notify_keyspace_event(NOTIFY_SET, "spop", k->ptr, k->len, c->db->id);
    delete_if_empty(c, k, o);
    server_incr_dirty(1);
}

/* SRANDMEMBER with a count: negative counts may repeat members. */
static void srandmember_with_count(client *c, long long count) {
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    if (!o || count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    char buf[PL_NUMBUF];
    size_t len, size = set_size(o);
    if (count < 0) {
        add_reply_array_len(c, -count);
        for (long long i = 0; i < -count && !(c->flags & CLIENT_CLOSE_ASAP); i++) {
            const char *p = set_random(o, buf, &len);
            add_reply_bulk(c, p, len);
        }
        return;
    }
    if ((unsigned long long)count >= size) {
        set_iter it;
        const char *p;
        add_reply_array_len(c, (long long)size);
        set_iter_init(&it, o);
        while (set_iter_next(&it, &p, &len)) add_reply_bulk(c, p, len);
        set_iter_done(&it);
        return;
    }
    add_reply_array_len(c, count);
    if ((unsigned long long)count * 3 > size || o->enc != ENC_HASHTABLE) {
        size_t n;
        ds *a = set_members_array(o, &n);
        pick_random_prefix(a, n, (size_t)count);
        for (size_t i = 0; i < (size_t)count; i++) add_reply_bulk(c, a[i], ds_len(a[i]));
        propagate_srem(c, a, (size_t)count);
        free_members_array(a, n);
        return;
    }
    /* few of many: draw until count distinct members were seen */
    dict *seen = dict_create(&ds_set_type);
    while (dict_size(seen) < (size_t)count) {
        const char *p = set_random(o, buf, &len);
        ds m = ds_new(p, len);
        if (dict_add(seen, m, NULL)) add_reply_bulk(c, m, len);
        else ds_free(m);
    }
    dict_release(seen);
}

void srandmemberCommand(client *c) {
    if (c->argc > 3) {
        add_reply_err_syntax(c);
        return;
    }
    if (c->argc == 3) {
        long long count;
        if (arg_long(c, 2, &count, NULL) < 0) return;
        if (count == LLONG_MIN) {
            add_reply_error(c, "value is out of range, value must between -9223372036854775807 and "
                               "9223372036854775807");
            return;
        }
        srandmember_with_count(c, count);
        return;
    }
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    if (!o) {
        add_reply_null(c);
        return;
    }
    char buf[PL_NUMBUF];
    size_t len;
    const char *p = set_random(o, buf, &len);
    add_reply_bulk(c, p, len);
}

/* ---------------- set algebra ---------------- */

/* Looks up argv[first .. first+n) as sets (NULL for missing keys); replies
 * WRONGTYPE and returns NULL on a key of another type. The caller frees
 * the returned array. */
static pobj **lookup_sets(client *c, int first, int n, int write) {
    pobj **sets = zmalloc(sizeof(pobj *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        if (lookup_set(c, &c->argv[first + i], write, &sets[i]) < 0) {
            zfree(sets);
            return NULL;
        }
    }
    return sets;
}

static int by_size(const void *a, const void *b) {
    size_t x = set_size(*(pobj *const *)a), y = set_size(*(pobj *const *)b);
    return (x > y) - (x < y);
}

/* Calls fn for each member of the intersection of sets[0..n) (all
 * present), stopping early when fn returns 0. Sorts sets by size. */
static void intersect(pobj **sets, int n, int (*fn)(void *priv, const char *p, size_t len), void *priv) {
    qsort(sets, (size_t)n, sizeof(pobj *), by_size);
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, sets[0]);
    while (set_iter_next(&it, &p, &len)) {
        int j = 1;
        while (j < n && (sets[j] == sets[0] || set_is_member(sets[j], p, len))) j++;
        if (j == n && !fn(priv, p, len)) break;
    }
    set_iter_done(&it);
}

static int add_to_result(void *priv, const char *p, size_t len) {
    set_add_member(priv, p, len);
    return 1;
}

static void add_visit(void *priv, const char *p, size_t len) { set_add_member(priv, p, len); }

/* Members of sets[0] in none of sets[1..n): either test each member of
 * the first against the others, or copy the first and remove the others'
 * members, whichever touches fewer elements. */
static void difference(pobj **sets, int n, pobj *out) {
    size_t cost1 = set_size(sets[0]) * (size_t)n, cost2 = 0;
    for (int i = 0; i < n; i++) cost2 += sets[i] ? set_size(sets[i]) : 0;
    set_iter it;
    const char *p;
    size_t len;
    if (cost1 <= cost2) {
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &p, &len)) {
            int j = 1;
            while (j < n && !(sets[j] && set_is_member(sets[j], p, len))) j++;
            if (j == n) set_add_member(out, p, len);
        }
        set_iter_done(&it);
        return;
    }
    set_foreach(sets[0], add_visit, out);
    for (int i = 1; i < n && set_size(out); i++) {
        if (!sets[i]) continue;
        set_iter_init(&it, sets[i]);
        while (set_iter_next(&it, &p, &len)) set_remove_member(out, p, len);
        set_iter_done(&it);
    }
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* SINTER/SUNION/SDIFF and their STORE forms: keys are argv[first..argc);
 * dst is NULL for the forms that reply with the members. */
static void set_algebra(client *c, int first, resp_arg *dst, int op) {
    int n = c->argc - first;
    pobj **sets = lookup_sets(c, first, n, dst != NULL);
    if (!sets) return;
    pobj *out = set_new_object();
    int missing = 0;
    for (int i = 0; i < n; i++) missing += sets[i] == NULL;
    if (op == OP_INTER && !missing) {
        intersect(sets, n, add_to_result, out);
    } else if (op == OP_UNION) {
        for (int i = 0; i < n; i++)
            if (sets[i]) set_foreach(sets[i], add_visit, out);
    } else if (op == OP_DIFF && sets[0]) {
        difference(sets, n, out);
    }
    zfree(sets);
    if (!dst) {
        reply_members(c, out);
        obj_free(out);
        return;
    }
    long long size = (long long)set_size(out);
    if (size == 0) {
        obj_free(out);
        if (db_delete(c->db, dst->ptr, dst->len)) {
            server_incr_dirty(1);
            notify_keyspace_event(NOTIFY_GENERIC, "del", dst->ptr, dst->len, c->db->id);
        }
    } else {
        db_set(c->db, dst->ptr, dst->len, out, 0);
        server_incr_dirty(1);
        notify_keyspace_event(NOTIFY_SET, c->cmd->name, dst->ptr, dst->len, c->db->id);
    }
    add_reply_long(c, size);
}

void sinterCommand(client *c) { set_algebra(c, 1, NULL, OP_INTER); }
void sunionCommand(client *c) { set_algebra(c, 1, NULL, OP_UNION); }
void sdiffCommand(client *c) { set_algebra(c, 1, NULL, OP_DIFF); }
void sinterstoreCommand(client *c) { set_algebra(c, 2, &c->argv[1], OP_INTER); }
void sunionstoreCommand(client *c) { set_algebra(c, 2, &c->argv[1], OP_UNION); }
void sdiffstoreCommand(client *c) { set_algebra(c, 2, &c->argv[1], OP_DIFF); }

typedef struct card_state {
    long long count, limit;
} card_state;

static int count_member(void *priv, const char *p, size_t len) {
    card_state *s = priv;
    s->count++;
    return s->limit == 0 || s->count < s->limit;
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void sintercardCommand(client *c) {
    long long numkeys, limit = 0;
    if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys <= 0) {
        add_reply_error(c, "numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        add_reply_error(c, "Number of keys can't be greater than number of args");
        return;
    }
    for (int i = 2 + (int)numkeys; i < c->argc; i++) {
        if (arg_is(c, i, "limit") && i + 1 < c->argc) {
            if (!util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &limit) || limit < 0) {
                add_reply_error(c, "LIMIT can't be negative");
                return;
            }
            i++;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    pobj **sets = lookup_sets(c, 2, (int)numkeys, 0);
    if (!sets) return;
    card_state s = {0, limit};
    int missing = 0;
    for (int i = 0; i < numkeys; i++) missing += sets[i] == NULL;
    if (!missing) intersect(sets, (int)numkeys, count_member, &s);
    zfree(sets);
    add_reply_long(c, s.count);
}

/* ---------------- SSCAN ---------------- */

int set_scan_parse_args(client *c, int first, uint64_t *cursor, long long *count, const char **pat, size_t *patlen) {
    const char *p = c->argv[first].ptr;
    size_t len = c->argv[first].len, i = 0;
    int neg = 0;
    uint64_t v = 0;
    /* the cursor is read the way strtoul reads it: a sign is allowed and a
     * negative value wraps around */
    if (len && (p[0] == '-' || p[0] == '+')) neg = p[i++] == '-';
    if (i == len) goto bad;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') goto bad;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) goto bad;
        v = v * 10 + d;
    }
    *cursor = neg ? 0 - v : v;
    *count = 10;
    *pat = NULL;
    *patlen = 0;
    for (int j = first + 1; j < c->argc; j++) {
        if (arg_is(c, j, "count") && j + 1 < c->argc) {
            if (arg_long(c, j + 1, count, NULL) < 0) return -1;
            if (*count < 1) {
                add_reply_err_syntax(c);
                return -1;
            }
            j++;
        } else if (arg_is(c, j, "match") && j + 1 < c->argc) {
            *pat = c->argv[j + 1].ptr;
            *patlen = c->argv[j + 1].len;
            if (*patlen == 1 && (*pat)[0] == '*') *pat = NULL;
            j++;
        } else {
            add_reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
bad:
    add_reply_error(c, "invalid cursor");
    return -1;
}

void set_scan_reply_cursor(client *c, uint64_t cursor) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cursor);
    add_reply_array_len(c, 2);
    add_reply_bulk(c, buf, (size_t)n);
}

typedef struct key_batch {
    const hmember **keys;
    size_t n, cap;
} key_batch;

static void collect_key(void *priv, dict_entry *e) {
    key_batch *b = priv;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->keys = zrealloc(b->keys, b->cap * sizeof(hmember *));
    }
    b->keys[b->n++] = dict_entry_key(e);
}

void sscanCommand(client *c) {
    uint64_t cursor;
    long long count;
    const char *pat;
    size_t patlen;
    if (set_scan_parse_args(c, 2, &cursor, &count, &pat, &patlen) < 0) return;
    pobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) < 0) return;
    if (!o) {
        set_scan_reply_cursor(c, 0);
        add_reply_array_len(c, 0);
        return;
    }
    if (o->enc != ENC_HASHTABLE) {
        /* a compact set is returned whole in one call, cursor 0 */
        set_iter it;
        const char *p;
        size_t len;
        long long n = 0;
        set_scan_reply_cursor(c, 0);
        void *h = add_reply_deferred_len(c);
        set_iter_init(&it, o);
        while (set_iter_next(&it, &p, &len)) {
            if (pat && !util_glob_match(pat, patlen, p, len, 0)) continue;
            add_reply_bulk(c, p, len);
            n++;
        }
        set_iter_done(&it);
        set_deferred_array_len(c, h, n);
        return;
    }
    key_batch b = {NULL, 0, 0};
    long long maxiter = count * 10;
    do {
        cursor = dict_scan(o->v.p, cursor, collect_key, &b);
    } while (cursor && maxiter-- && (long long)b.n < count);
    set_scan_reply_cursor(c, cursor);
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        const char *m = hm_bytes(b.keys[i]);
        size_t len = hm_len(b.keys[i]);
        if (pat && !util_glob_match(pat, patlen, m, len, 0)) continue;
        add_reply_bulk(c, m, len);
        n++;
    }
    set_deferred_array_len(c, h, n);
    zfree(b.keys);
}

/* db.c -- the keyspace: databases, lookups with lazy expiry, active expiry,
 * and the generic key commands (DEL, EXISTS, SCAN, RENAME, EXPIRE ...).
 *
 * Each database has two dicts: keys (ds -> pobj*) and expires (the same ds
 * pointer -> absolute unix time in ms). A key's ds is owned by `keys`; the
 * expires entry borrows it, so every delete removes the expire first.
 *
 * Expiry is lazy (a lookup of an expired key deletes it and reports it
 * absent) and active: db_active_expire_cycle() walks each database's
 * expires dict with a SCAN cursor kept between calls, deleting what has
 * expired, until its CPU budget is spent or a walk finds few expired keys
 * (the adaptive idea of Redis's activeExpireCycle). Relative TTLs are
 * turned into absolute times when set, so logging them later is
 * deterministic.
 *
 * Lookups build the key on the stack (keys up to 255 bytes) so that a GET
 * allocates nothing. */
#include "blocked.h"
#include "persist.h"
#include "server.h"

/* ---------------- dict types ---------------- */

uint64_t ds_dict_hash(const void *k) { return dict_hash_bytes(k, ds_len((ds)k)); }
int ds_dict_eq(const void *a, const void *b) {
    size_t la = ds_len((ds)a), lb = ds_len((ds)b);
    return la == lb && memcmp(a, b, la) == 0;
}
void ds_dict_free(void *k) { ds_free(k); }
static uint64_t ds_hash_nocase(const void *k) { return dict_hash_bytes_nocase(k, ds_len((ds)k)); }
static int ds_eq_nocase(const void *a, const void *b) {
    size_t la = ds_len((ds)a), lb = ds_len((ds)b);
    return la == lb && strncasecmp(a, b, la) == 0;
}

const dict_type keyspace_dict_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, obj_free_void};
const dict_type expires_dict_type = {ds_dict_hash, ds_dict_eq, NULL, NULL};
const dict_type ds_set_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, NULL};
const dict_type command_dict_type = {ds_hash_nocase, ds_eq_nocase, ds_dict_free, NULL};

typedef struct keybuf {
    char buf[DS_HDR_8 + 256];
} keybuf;

/* Returns a ds view of key: on the stack when short, else in *heap (which
 * the caller frees with ds_free; NULL otherwise). */
static ds key_view(keybuf *kb, const char *p, size_t len, ds *heap) {
    if (len <= 255) {
        *heap = NULL;
        return ds_init_in(kb->buf, p, len);
    }
    *heap = ds_new(p, len);
    return *heap;
}

void db_init_all(void) {
    server.dbs = zcalloc(sizeof(db) * (size_t)server.dbnum);
    for (int i = 0; i < server.dbnum; i++) {
        server.dbs[i].keys = dict_create(&keyspace_dict_type);
        dict_embed_keys(server.dbs[i].keys); /* a key in its entry: 16 bytes less per key */
        server.dbs[i].expires = dict_create(&expires_dict_type);
        server.dbs[i].id = i;
    }
}

void db_free_all(void) {
    if (!server.dbs) return;
    for (int i = 0; i < server.dbnum; i++) {
        dict_release(server.dbs[i].expires);
        dict_release(server.dbs[i].keys);
        entity_free_db(&server.dbs[i]); /* after the entities that point at it */
        multi_free_db(&server.dbs[i]);
    }
    zfree(server.dbs);
    server.dbs = NULL;
}

dict_entry *ds_dict_find(dict *d, const char *p, size_t len) {
    keybuf kb;
    ds heap;
    ds k = key_view(&kb, p, len, &heap);
    dict_entry *e = dict_find(d, k);
    ds_free(heap);
    return e;
}

static dict_entry *find_entry(db *d, const char *key, size_t len) { return ds_dict_find(d->keys, key, len); }

int64_t db_get_expire(db *d, const char *key, size_t len) {
    if (dict_size(d->expires) == 0) return -1;
    keybuf kb;
    ds heap;
    ds k = key_view(&kb, key, len, &heap);
    dict_entry *e = dict_find(d->expires, k);
    ds_free(heap);
    return e ? dict_entry_s64(e) : -1;
}

static int delete_entry_key(db *d, ds k) {
    multi_touch_key(d, k, ds_len(k));
    if (dict_size(d->expires)) dict_delete(d->expires, k);
    return dict_delete(d->keys, k);
}

int db_delete(db *d, const char *key, size_t len) {
    keybuf kb;
    ds heap;
    ds k = key_view(&kb, key, len, &heap);
    int r = delete_entry_key(d, k);
    ds_free(heap);
    return r;
}

int db_key_expired(db *d, const char *key, size_t len) {
    if (server.loading) return 0; /* the log says when keys went (wal.c) */
    int64_t when = db_get_expire(d, key, len);
    return when >= 0 && when <= server_mstime();
}

/* Deletes key if it has expired; returns 1 if it did. */
static int expire_if_needed(db *d, const char *key, size_t len) {
    if (!db_key_expired(d, key, len)) return 0;
    propagate_expired(d->id, key, len);
    db_delete(d, key, len);
    server.stat_expiredkeys++;
    notify_keyspace_event(NOTIFY_EXPIRED, "expired", key, len, d->id);
    return 1;
}

pobj *db_lookup_write(db *d, const char *key, size_t len) {
    if (dict_size(d->expires)) expire_if_needed(d, key, len);
    dict_entry *e = find_entry(d, key, len);
    if (!e) return NULL;
    pobj *o = dict_entry_val(e);
    if (evict_lfu_enabled()) evict_lfu_touch(o);
    o->lru = lru_clock();
    return o;
}

int db_lookup_typed(client *c, const resp_arg *k, int type, int for_write, pobj **out) {
    pobj *o = for_write ? db_lookup_write(c->db, k->ptr, k->len) : db_lookup_read(c->db, k->ptr, k->len);
    if (o && o->type != type) {
        add_reply_err_wrongtype(c);
        return -1;
    }
    *out = o;
    return 0;
}

pobj *db_lookup_read(db *d, const char *key, size_t len) {
    pobj *o = db_lookup_write(d, key, len);
    if (o) {
        server.stat_keyspace_hits++;
    } else {
        server.stat_keyspace_misses++;
        notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", key, len, d->id);
    }
    return o;
}

ds db_add(db *d, const char *key, size_t len, pobj *val) {
    multi_touch_key(d, key, len);
    blocked_signal_key(d, key, len); /* a list arriving by RENAME/COPY/MOVE serves waiters now */
    keybuf kb;
    ds heap;
    ds k = key_view(&kb, key, len, &heap); /* the dict keeps a copy in the entry */
    dict_entry *e = dict_add_raw(d->keys, k, NULL);
    ds_free(heap);
    if (!e) abort(); /* caller checked absence */
    dict_entry_set_val(e, val);
    notify_keyspace_event(NOTIFY_NEW, "new", key, len, d->id);
    return dict_entry_key(e);
}

void db_set(db *d, const char *key, size_t len, pobj *val, int keep_ttl) {
    dict_entry *e = find_entry(d, key, len);
    if (e) multi_touch_key(d, key, len);
    if (!e) {
        db_add(d, key, len, val);
        return;
    }
    obj_free(dict_entry_val(e));
    dict_entry_set_val(e, val);
    if (!keep_ttl && dict_size(d->expires)) dict_delete(d->expires, dict_entry_key(e));
}

void db_set_expire(db *d, const char *key, size_t len, int64_t when_ms) {
    multi_touch_key(d, key, len);
    dict_entry *ke = find_entry(d, key, len);
    if (!ke) return;
    dict_entry *existing;
    dict_entry *e = dict_add_raw(d->expires, dict_entry_key(ke), &existing);
    if (e) dict_entry_set_s64(e, when_ms);
    else dict_entry_set_s64(existing, when_ms);
    propagate_post_expire(d->id, key, len, when_ms);
}

int db_remove_expire(db *d, const char *key, size_t len) {
    keybuf kb;
    ds heap;
    ds k = key_view(&kb, key, len, &heap);
    int r = dict_delete(d->expires, k);
    ds_free(heap);
    return r;
}

long long db_flush(db *d) {
    long long n = (long long)dict_size(d->keys);
    multi_touch_db(d);
    entity_flush_db(d); /* empty the indexes at once instead of per entity */
    dict_clear(d->expires);
    dict_clear(d->keys);
    d->expire_cursor = 0;
    return n;
}

/* ---------------- active expiry ---------------- */

typedef struct expire_sample {
    ds keys[64];
    int n;
    int checked;
    int64_t now;
} expire_sample;

static void collect_expired(void *priv, dict_entry *e) {
    expire_sample *s = priv;
    s->checked++;
    if (dict_entry_s64(e) <= s->now && s->n < 64) s->keys[s->n++] = dict_entry_key(e);
}

void db_active_expire_cycle(int64_t budget_us) {
    int64_t start = util_monotonic_us();
    for (int i = 0; i < server.dbnum; i++) {
        db *d = &server.dbs[i];
        int rounds = 0;
        while (dict_size(d->expires)) {
            expire_sample s = {.n = 0, .checked = 0, .now = util_mstime()};
            /* visit buckets until ~20 keys were checked (or the walk wrapped) */
            do {
                d->expire_cursor = dict_scan(d->expires, d->expire_cursor, collect_expired, &s);
            } while (d->expire_cursor && s.checked < 20 && s.n < 64);
            for (int k = 0; k < s.n; k++) {
                notify_keyspace_event(NOTIFY_EXPIRED, "expired", s.keys[k], ds_len(s.keys[k]), d->id);
                propagate_expired(d->id, s.keys[k], ds_len(s.keys[k]));
                delete_entry_key(d, s.keys[k]);
                server.stat_expiredkeys++;
            }
            rounds++;
            if (util_monotonic_us() - start > budget_us) {
                server.stat_expired_time_cap_reached++;
                return;
            }
            /* stop when few keys were expired, or the walk completed */
            if (s.checked == 0 || s.n * 10 < s.checked || d->expire_cursor == 0) break;
        }
        (void)rounds;
    }
}

/* ---------------- key commands ---------------- */

static void del_generic(client *c) {
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        if (dict_size(c->db->expires)) expire_if_needed(c->db, c->argv[i].ptr, c->argv[i].len);
        if (!db_delete(c->db, c->argv[i].ptr, c->argv[i].len)) continue;
        notify_keyspace_event(NOTIFY_GENERIC, "del", c->argv[i].ptr, c->argv[i].len, c->db->id);
        n++;
    }
    server_incr_dirty(n);
    add_reply_long(c, n);
}

void delCommand(client *c) { del_generic(c); }
void unlinkCommand(client *c) { del_generic(c); }

void existsCommand(client *c) {
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (db_lookup_read(c->db, c->argv[i].ptr, c->argv[i].len)) n++; /* hits, misses, keymiss: as Redis */
    add_reply_long(c, n);
}

void touchCommand(client *c) { existsCommand(c); }

void typeCommand(client *c) {
    pobj *o = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    add_reply_status(c, o ? obj_type_name(o) : "none");
}

void keysCommand(client *c) {
    dict_iter it;
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    int64_t now = util_mstime();
    int all = c->argv[1].len == 1 && c->argv[1].ptr[0] == '*';
    dict_iter_init(&it, c->db->keys);
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        ds k = dict_entry_key(e);
        if (!all && !util_glob_match(c->argv[1].ptr, c->argv[1].len, k, ds_len(k), 0)) continue;
        if (dict_size(c->db->expires)) {
            dict_entry *x = dict_find(c->db->expires, k);
            if (x && dict_entry_s64(x) <= now) continue;
        }
        add_reply_bulk(c, k, ds_len(k));
        n++;
    }
    dict_iter_release(&it);
    set_deferred_array_len(c, h, n);
}

typedef struct scan_acc {
    ds *keys;
    size_t n, cap;
} scan_acc;

static void scan_collect(void *priv, dict_entry *e) {
    scan_acc *a = priv;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->keys = zrealloc(a->keys, a->cap * sizeof(ds));
    }
    a->keys[a->n++] = dict_entry_key(e);
}

/* Parses a SCAN cursor: an unsigned 64-bit decimal. */
static int parse_cursor(client *c, int i, uint64_t *out) {
    const char *p = c->argv[i].ptr;
    size_t len = c->argv[i].len;
    uint64_t v = 0;
    if (len == 0 || len > 20) goto bad;
    for (size_t k = 0; k < len; k++) {
        if (p[k] < '0' || p[k] > '9') goto bad;
        uint64_t nv = v * 10 + (uint64_t)(p[k] - '0');
        if (nv / 10 != v) goto bad;
        v = nv;
    }
    *out = v;
    return 0;
bad:
    add_reply_error(c, "invalid cursor");
    return -1;
}

void scanCommand(client *c) {
    uint64_t cursor;
    if (parse_cursor(c, 1, &cursor) < 0) return;
    long long count = 10;
    const char *pat = NULL, *type = NULL;
    size_t patlen = 0, typelen = 0;
    for (int i = 2; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (arg_is(c, i, "count") && more) {
            if (arg_long(c, i + 1, &count, NULL) < 0) return;
            if (count < 1) {
                add_reply_err_syntax(c);
                return;
            }
            i++;
        } else if (arg_is(c, i, "match") && more) {
            pat = c->argv[i + 1].ptr;
            patlen = c->argv[i + 1].len;
            i++;
        } else if (arg_is(c, i, "type") && more) {
            type = c->argv[i + 1].ptr;
            typelen = c->argv[i + 1].len;
            i++;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    scan_acc acc = {NULL, 0, 0};
    long long maxiter = count * 10;
    do {
        cursor = dict_scan(c->db->keys, cursor, scan_collect, &acc);
    } while (cursor && maxiter-- && (long long)acc.n < count);
    int64_t now = util_mstime();
    add_reply_array_len(c, 2);
    char cbuf[32];
    int cl = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
    add_reply_bulk(c, cbuf, (size_t)cl);
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (size_t i = 0; i < acc.n; i++) {
        ds k = acc.keys[i];
        if (pat && !(patlen == 1 && pat[0] == '*') && !util_glob_match(pat, patlen, k, ds_len(k), 0)) continue;
        if (dict_size(c->db->expires)) {
            dict_entry *x = dict_find(c->db->expires, k);
            if (x && dict_entry_s64(x) <= now) continue;
        }
        if (type) {
            dict_entry *e = dict_find(c->db->keys, k);
            if (!e || !util_eqi(type, typelen, obj_type_name(dict_entry_val(e)))) continue;
        }
        add_reply_bulk(c, k, ds_len(k));
        n++;
    }
    set_deferred_array_len(c, h, n);
    zfree(acc.keys);
}

void randomkeyCommand(client *c) {
    for (int tries = 0; tries < 100; tries++) {
        dict_entry *e = dict_random_entry(c->db->keys);
        if (!e) break;
        ds k = dict_entry_key(e);
        if (db_key_expired(c->db, k, ds_len(k))) {
            if (tries < 99) continue; /* keep looking for a live key */
        }
        add_reply_bulk(c, k, ds_len(k));
        return;
    }
    add_reply_null(c);
}

static void rename_generic(client *c, int nx) {
    resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    pobj *o = db_lookup_write(c->db, src->ptr, src->len);
    if (!o) {
        add_reply_error(c, "no such key");
        return;
    }
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        if (nx) add_reply_long(c, 0);
        else add_reply_ok(c);
        return;
    }
    if (nx && db_lookup_write(c->db, dst->ptr, dst->len)) {
        add_reply_long(c, 0);
        return;
    }
    if (o->type == OBJ_ENTITY) {
        const char *err = entity_rename_check(c->db, o, dst->ptr, dst->len);
        if (err) {
            add_reply_error(c, err);
            return;
        }
    }
    int64_t when = db_get_expire(c->db, src->ptr, src->len);
    /* take the value out of the old entry without freeing it */
    dict_entry *e = find_entry(c->db, src->ptr, src->len);
    dict_entry_set_val(e, NULL);
    db_delete(c->db, src->ptr, src->len);
    db_delete(c->db, dst->ptr, dst->len);
    ds nk = db_add(c->db, dst->ptr, dst->len, o);
    if (o->type == OBJ_ENTITY) entity_key_changed(o, nk);
    if (when >= 0) db_set_expire(c->db, dst->ptr, dst->len, when);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_from", src->ptr, src->len, c->db->id);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_to", dst->ptr, dst->len, c->db->id);
    server_incr_dirty(1);
    if (nx) add_reply_long(c, 1);
    else add_reply_ok(c);
}

void renameCommand(client *c) { rename_generic(c, 0); }
void renamenxCommand(client *c) { rename_generic(c, 1); }

static int parse_db_index(client *c, int i, db **out) {
    long long id;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &id)) {
        add_reply_err_not_int(c);
        return -1;
    }
    if (id < 0 || id >= server.dbnum) {
        add_reply_error(c, "DB index is out of range");
        return -1;
    }
    *out = &server.dbs[id];
    return 0;
}

void moveCommand(client *c) {
    db *dst;
    if (parse_db_index(c, 2, &dst) < 0) return;
    if (dst == c->db) {
        add_reply_error(c, "source and destination objects are the same");
        return;
    }
    resp_arg *k = &c->argv[1];
    pobj *o = db_lookup_write(c->db, k->ptr, k->len);
    if (!o || db_lookup_write(dst, k->ptr, k->len)) {
        add_reply_long(c, 0);
        return;
    }
    if (o->type == OBJ_ENTITY) {
        add_reply_error(c, "MOVE of an entity is not supported: use COPY ... DB and DEL");
        return;
    }
    int64_t when = db_get_expire(c->db, k->ptr, k->len);
    dict_entry_set_val(find_entry(c->db, k->ptr, k->len), NULL);
    db_delete(c->db, k->ptr, k->len);
    db_add(dst, k->ptr, k->len, o);
    if (when >= 0) db_set_expire(dst, k->ptr, k->len, when);
    notify_keyspace_event(NOTIFY_GENERIC, "move_from", k->ptr, k->len, c->db->id);
    notify_keyspace_event(NOTIFY_GENERIC, "move_to", k->ptr, k->len, dst->id);
    server_incr_dirty(1);
    add_reply_long(c, 1);
}

void copyCommand(client *c) {
    db *dst = c->db;
    int replace = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "replace")) {
            replace = 1;
        } else if (arg_is(c, i, "db") && i + 1 < c->argc) {
            if (parse_db_index(c, ++i, &dst) < 0) return;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    resp_arg *s = &c->argv[1], *d = &c->argv[2];
    if (dst == c->db && s->len == d->len && memcmp(s->ptr, d->ptr, s->len) == 0) {
        add_reply_error(c, "source and destination objects are the same");
        return;
    }
    pobj *o = db_lookup_write(c->db, s->ptr, s->len);
    if (!o) {
        add_reply_long(c, 0);
        return;
    }
    int exists = db_lookup_write(dst, d->ptr, d->len) != NULL;
    if (exists) {
        if (!replace) {
            add_reply_long(c, 0);
            return;
        }
    }
    pobj *copy;
    if (o->type == OBJ_ENTITY) {
        const char *err = NULL;
        copy = entity_copy(dst, o, d->ptr, d->len, &err);
        if (!copy) {
            add_reply_error(c, err);
            return;
        }
    } else {
        copy = obj_dup(o);
    }
    if (exists) db_delete(dst, d->ptr, d->len); /* only once the copy exists */
    int64_t when = db_get_expire(c->db, s->ptr, s->len);
    ds nk = db_add(dst, d->ptr, d->len, copy);
    if (copy->type == OBJ_ENTITY) entity_key_changed(copy, nk);
    if (when >= 0) db_set_expire(dst, d->ptr, d->len, when);
    notify_keyspace_event(NOTIFY_GENERIC, "copy_to", d->ptr, d->len, dst->id);
    server_incr_dirty(1);
    add_reply_long(c, 1);
}

/* EXPIRE family: unit is 1000 for seconds; absolute for *AT forms. */
static void expire_generic(client *c, int64_t base_ms, int unit_ms) {
    long long v;
    if (arg_long(c, 2, &v, NULL) < 0) return;
    int nx = 0, xx = 0, gt = 0, lt = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "nx")) nx = 1;
        else if (arg_is(c, i, "xx")) xx = 1;
        else if (arg_is(c, i, "gt")) gt = 1;
        else if (arg_is(c, i, "lt")) lt = 1;
        else {
            add_reply_errorf(c, "Unsupported option %.*s", (int)c->argv[i].len, c->argv[i].ptr);
            return;
        }
    }
    if (nx && (xx || gt || lt)) {
        add_reply_error(c, "NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if (gt && lt) {
        add_reply_error(c, "GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (__builtin_mul_overflow(v, (long long)unit_ms, &when) || __builtin_add_overflow(when, base_ms, &when)) {
        add_reply_errorf(c, "invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    resp_arg *k = &c->argv[1];
    if (!db_lookup_write(c->db, k->ptr, k->len)) {
        add_reply_long(c, 0);
        return;
    }
    int64_t cur = db_get_expire(c->db, k->ptr, k->len);
    if ((nx && cur >= 0) || (xx && cur < 0) || (gt && (cur < 0 || when <= cur)) || (lt && cur >= 0 && when >= cur)) {
        add_reply_long(c, 0);
        return;
    }
    if (when <= server_mstime()) {
        db_delete(c->db, k->ptr, k->len);
        notify_keyspace_event(NOTIFY_GENERIC, "del", k->ptr, k->len, c->db->id);
        server_incr_dirty(1);
        add_reply_long(c, 1);
        return;
    }
    db_set_expire(c->db, k->ptr, k->len, when);
    notify_keyspace_event(NOTIFY_GENERIC, "expire", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_long(c, 1);
}

void expireCommand(client *c) { expire_generic(c, server_mstime(), 1000); }
void pexpireCommand(client *c) { expire_generic(c, server_mstime(), 1); }
void expireatCommand(client *c) { expire_generic(c, 0, 1000); }
void pexpireatCommand(client *c) { expire_generic(c, 0, 1); }

/* TTL family: output_ms selects ms; absolute returns the unix time. */
static void ttl_generic(client *c, int output_ms, int absolute) {
    resp_arg *k = &c->argv[1];
    if (!db_lookup_read(c->db, k->ptr, k->len)) {
        add_reply_long(c, -2);
        return;
    }
    int64_t when = db_get_expire(c->db, k->ptr, k->len);
    if (when < 0) {
        add_reply_long(c, -1);
        return;
    }
    if (absolute) {
        add_reply_long(c, output_ms ? when : when / 1000);
        return;
    }
    int64_t ttl = when - server_mstime();
    if (ttl < 0) ttl = 0;
    add_reply_long(c, output_ms ? ttl : (ttl + 500) / 1000);
}

void ttlCommand(client *c) { ttl_generic(c, 0, 0); }
void pttlCommand(client *c) { ttl_generic(c, 1, 0); }
void expiretimeCommand(client *c) { ttl_generic(c, 0, 1); }
void pexpiretimeCommand(client *c) { ttl_generic(c, 1, 1); }

void persistCommand(client *c) {
    resp_arg *k = &c->argv[1];
    if (!db_lookup_write(c->db, k->ptr, k->len)) {
        add_reply_long(c, 0);
        return;
    }
    int r = db_remove_expire(c->db, k->ptr, k->len);
    if (r) notify_keyspace_event(NOTIFY_GENERIC, "persist", k->ptr, k->len, c->db->id);
    if (r) server_incr_dirty(1);
    add_reply_long(c, r);
}

void objectCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
        return;
    }
    resp_arg *k = &c->argv[2];
    dict_entry *e = NULL;
    if (dict_size(c->db->expires)) expire_if_needed(c->db, k->ptr, k->len);
    e = find_entry(c->db, k->ptr, k->len);
    if (!e) {
        add_reply_null(c);
        return;
    }
    pobj *o = dict_entry_val(e);
    if (!strcmp(sub, "encoding")) {
        add_reply_bulk_cstr(c, obj_enc_name(o));
    } else if (!strcmp(sub, "refcount")) {
        add_reply_long(c, 1);
    } else if (!strcmp(sub, "idletime")) {
        if (evict_lfu_enabled()) {
            add_reply_error(c, "An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                               "switching between policies at runtime LRU and LFU data will take some time to adjust.");
            return;
        }
        add_reply_long(c, (long long)(lru_clock() - o->lru));
    } else if (!strcmp(sub, "freq")) {
        if (evict_lfu_enabled()) {
            add_reply_long(c, evict_lfu_value(o));
            return;
        }
        add_reply_error(c, "An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                           "that when switching between policies at runtime LRU and LFU data will take some "
                           "time to adjust.");
    }
}

void selectCommand(client *c) {
    long long id;
    if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &id)) {
        add_reply_err_not_int(c);
        return;
    }
    if (id < 0 || id >= server.dbnum) {
        add_reply_error(c, "DB index is out of range");
        return;
    }
    c->db = &server.dbs[id];
    add_reply_ok(c);
}

void dbsizeCommand(client *c) { add_reply_long(c, (long long)dict_size(c->db->keys)); }

static int parse_flush_mode(client *c) {
    if (c->argc > 2) {
        add_reply_err_syntax(c);
        return -1;
    }
    if (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async")) {
        add_reply_err_syntax(c);
        return -1;
    }
    return 0;
}

void flushdbCommand(client *c) {
    if (parse_flush_mode(c) < 0) return;
    server_incr_dirty(db_flush(c->db));
    add_reply_ok(c);
}

void flushallCommand(client *c) {
    if (parse_flush_mode(c) < 0) return;
    for (int i = 0; i < server.dbnum; i++) server_incr_dirty(db_flush(&server.dbs[i]));
    add_reply_ok(c);
}

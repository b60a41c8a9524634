/* t_string.c -- string commands.
 *
 * Values are pobj strings (object.c). Commands follow Redis 7 semantics and
 * error wording; one generic worker per family (set_generic, incr_generic,
 * getex-style TTL parsing) with thin command wrappers, the t_string.c idiom
 * of Redis. Sizes are bounded by proto-max-bulk-len (SETRANGE, APPEND).
 * LCS is the classic O(n*m) dynamic program (Wagner-Fischer style table)
 * whose memory is bounded by proto-max-bulk-len too. */
#include <math.h>

#include "server.h"

#define OBJ_SET_NX (1 << 0)
#define OBJ_SET_XX (1 << 1)
#define OBJ_EX (1 << 2)
#define OBJ_PX (1 << 3)
#define OBJ_EXAT (1 << 4)
#define OBJ_PXAT (1 << 5)
#define OBJ_KEEPTTL (1 << 6)
#define OBJ_GET (1 << 7)
#define OBJ_PERSIST (1 << 8)

static int check_string_length(client *c, long long size) {
    if (size > server.proto_max_bulk_len) {
        add_reply_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* Parses SET/GETEX options from argv[start..]; for GETEX (is_getex) only
 * the TTL options and PERSIST are allowed. Returns 0, or -1 after replying. */
static int parse_extended(client *c, int start, int is_getex, int *flags, int *expire_arg) {
    *flags = 0;
    *expire_arg = -1;
    for (int i = start; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (!is_getex && arg_is(c, i, "nx") && !(*flags & OBJ_SET_XX)) *flags |= OBJ_SET_NX;
        else if (!is_getex && arg_is(c, i, "xx") && !(*flags & OBJ_SET_NX)) *flags |= OBJ_SET_XX;
        else if (!is_getex && arg_is(c, i, "get")) *flags |= OBJ_GET;
        else if (!is_getex && arg_is(c, i, "keepttl") && !(*flags & (OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT)))
            *flags |= OBJ_KEEPTTL;
        else if (is_getex && arg_is(c, i, "persist") && !(*flags & (OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT)))
            *flags |= OBJ_PERSIST;
        else if (more && !(*flags & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT)) &&
                 (arg_is(c, i, "ex") || arg_is(c, i, "px") || arg_is(c, i, "exat") || arg_is(c, i, "pxat"))) {
            if (arg_is(c, i, "ex")) *flags |= OBJ_EX;
            else if (arg_is(c, i, "px")) *flags |= OBJ_PX;
            else if (arg_is(c, i, "exat")) *flags |= OBJ_EXAT;
            else *flags |= OBJ_PXAT;
            *expire_arg = ++i;
        } else {
            add_reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Turns the TTL argument into an absolute ms time; -1 after replying. */
static int expire_from_arg(client *c, int flags, int arg, int64_t *when) {
    long long v;
    if (!util_str2ll(c->argv[arg].ptr, c->argv[arg].len, &v)) {
        add_reply_err_not_int(c);
        return -1;
    }
    if (v <= 0) {
        add_reply_errorf(c, "invalid expire time in '%s' command", c->cmd->name);
        return -1;
    }
    long long unit = (flags & (OBJ_EX | OBJ_EXAT)) ? 1000 : 1;
    long long base = (flags & (OBJ_EX | OBJ_PX)) ? server_mstime() : 0;
    long long ms;
    if (__builtin_mul_overflow(v, unit, &ms) || __builtin_add_overflow(ms, base, &ms)) {
        add_reply_errorf(c, "invalid expire time in '%s' command", c->cmd->name);
        return -1;
    }
    *when = ms;
    return 0;
}

static void set_generic(client *c, int flags, resp_arg *key, resp_arg *val, int expire_arg) {
    int64_t when = -1;
    if (expire_arg >= 0 && expire_from_arg(c, flags, expire_arg, &when) < 0) return;
    pobj *old = db_lookup_write(c->db, key->ptr, key->len);
    if ((flags & OBJ_GET) && old && old->type != OBJ_STRING) {
        add_reply_err_wrongtype(c);
        return;
    }
    if ((flags & OBJ_SET_NX && old) || (flags & OBJ_SET_XX && !old)) {
        if (flags & OBJ_GET) {
            if (old) add_reply_bulk_obj(c, old);
            else add_reply_null(c);
        } else {
            add_reply_null(c);
        }
        return;
    }
    if (flags & OBJ_GET) {
        if (old) add_reply_bulk_obj(c, old);
        else add_reply_null(c);
    }
    db_set(c->db, key->ptr, key->len, obj_new_string(val->ptr, val->len), (flags & OBJ_KEEPTTL) != 0);
    if (when >= 0) db_set_expire(c->db, key->ptr, key->len, when);
    notify_keyspace_event(NOTIFY_STRING, "set", key->ptr, key->len, c->db->id);
    if (when >= 0) notify_keyspace_event(NOTIFY_GENERIC, "expire", key->ptr, key->len, c->db->id);
    server_incr_dirty(1);
    if (!(flags & OBJ_GET)) add_reply_ok(c);
}

void setCommand(client *c) {
    int flags, expire_arg;
    if (parse_extended(c, 3, 0, &flags, &expire_arg) < 0) return;
    set_generic(c, flags, &c->argv[1], &c->argv[2], expire_arg);
}

void setnxCommand(client *c) {
    resp_arg *k = &c->argv[1];
    if (db_lookup_write(c->db, k->ptr, k->len)) {
        add_reply_long(c, 0);
        return;
    }
    db_add(c->db, k->ptr, k->len, obj_new_string(c->argv[2].ptr, c->argv[2].len));
    notify_keyspace_event(NOTIFY_STRING, "set", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_long(c, 1);
}

static void setex_generic(client *c, int flags) {
    set_generic(c, flags, &c->argv[1], &c->argv[3], 2);
}
void setexCommand(client *c) { setex_generic(c, OBJ_EX); }
void psetexCommand(client *c) { setex_generic(c, OBJ_PX); }

/* Replies with key's string value; returns the object, or NULL (replied
 * null or WRONGTYPE; *wrongtype tells which). */
static pobj *get_string_or_reply(client *c, resp_arg *k, int *wrongtype) {
    pobj *o = db_lookup_read(c->db, k->ptr, k->len);
    *wrongtype = 0;
    if (!o) {
        add_reply_null(c);
        return NULL;
    }
    if (o->type != OBJ_STRING) {
        *wrongtype = 1;
        add_reply_err_wrongtype(c);
        return NULL;
    }
    add_reply_bulk_obj(c, o);
    return o;
}

void getCommand(client *c) {
    int wt;
    get_string_or_reply(c, &c->argv[1], &wt);
}

void getsetCommand(client *c) {
    int wt;
    get_string_or_reply(c, &c->argv[1], &wt);
    if (wt) return;
    db_set(c->db, c->argv[1].ptr, c->argv[1].len, obj_new_string(c->argv[2].ptr, c->argv[2].len), 0);
    notify_keyspace_event(NOTIFY_STRING, "set", c->argv[1].ptr, c->argv[1].len, c->db->id);
    server_incr_dirty(1);
}

void getdelCommand(client *c) {
    int wt;
    if (get_string_or_reply(c, &c->argv[1], &wt)) {
        db_delete(c->db, c->argv[1].ptr, c->argv[1].len);
        notify_keyspace_event(NOTIFY_GENERIC, "del", c->argv[1].ptr, c->argv[1].len, c->db->id);
        server_incr_dirty(1);
    }
}

void getexCommand(client *c) {
    int flags, expire_arg;
    if (parse_extended(c, 2, 1, &flags, &expire_arg) < 0) return;
    int64_t when = -1;
    if (expire_arg >= 0 && expire_from_arg(c, flags, expire_arg, &when) < 0) return;
    int wt;
    resp_arg *k = &c->argv[1];
    if (!get_string_or_reply(c, k, &wt)) return;
    if (when >= 0) {
        if (when <= server_mstime()) db_delete(c->db, k->ptr, k->len);
        else db_set_expire(c->db, k->ptr, k->len, when);
        notify_keyspace_event(NOTIFY_GENERIC, when <= server_mstime() ? "del" : "expire", k->ptr, k->len, c->db->id);
        server_incr_dirty(1);
    } else if (flags & OBJ_PERSIST) {
        if (db_remove_expire(c->db, k->ptr, k->len)) {
            notify_keyspace_event(NOTIFY_GENERIC, "persist", k->ptr, k->len, c->db->id);
            server_incr_dirty(1);
        }
    }
}

void mgetCommand(client *c) {
    add_reply_array_len(c, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        pobj *o = db_lookup_read(c->db, c->argv[i].ptr, c->argv[i].len);
        if (!o || o->type != OBJ_STRING) add_reply_null(c);
        else add_reply_bulk_obj(c, o);
    }
}

static void mset_generic(client *c, int nx) {
    if (c->argc % 2 == 0) {
        add_reply_err_arity(c);
        return;
    }
    if (nx) {
        for (int i = 1; i < c->argc; i += 2)
            if (db_lookup_write(c->db, c->argv[i].ptr, c->argv[i].len)) {
                add_reply_long(c, 0);
                return;
            }
    }
    for (int i = 1; i < c->argc; i += 2) {
        db_set(c->db, c->argv[i].ptr, c->argv[i].len, obj_new_string(c->argv[i + 1].ptr, c->argv[i + 1].len), 0);
        notify_keyspace_event(NOTIFY_STRING, "set", c->argv[i].ptr, c->argv[i].len, c->db->id);
    }
    server_incr_dirty((c->argc - 1) / 2);
    if (nx) add_reply_long(c, 1);
    else add_reply_ok(c);
}

void msetCommand(client *c) { mset_generic(c, 0); }
void msetnxCommand(client *c) { mset_generic(c, 1); }

/* Looks key up for a write that needs a string; replies WRONGTYPE and
 * returns -1 when it holds another type; *out is NULL when absent. */
static int lookup_string_for_write(client *c, resp_arg *k, pobj **out) {
    return db_lookup_typed(c, k, OBJ_STRING, 1, out);
}

void appendCommand(client *c) {
    pobj *o;
    resp_arg *k = &c->argv[1], *v = &c->argv[2];
    if (lookup_string_for_write(c, k, &o) < 0) return;
    if (!o) {
        db_add(c->db, k->ptr, k->len, obj_new_string(v->ptr, v->len));
        notify_keyspace_event(NOTIFY_STRING, "append", k->ptr, k->len, c->db->id);
        server_incr_dirty(1);
        add_reply_long(c, (long long)v->len);
        return;
    }
    char buf[32];
    size_t cur;
    obj_str(o, buf, &cur);
    if (check_string_length(c, (long long)(cur + v->len)) < 0) return;
    ds s = obj_str_unshare(o);
    s = ds_cat(s, v->ptr, v->len);
    o->v.s = s;
    notify_keyspace_event(NOTIFY_STRING, "append", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_long(c, (long long)ds_len(s));
}

void strlenCommand(client *c) {
    pobj *o = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    if (!o) {
        add_reply_long(c, 0);
        return;
    }
    if (o->type != OBJ_STRING) {
        add_reply_err_wrongtype(c);
        return;
    }
    char buf[32];
    size_t len;
    obj_str(o, buf, &len);
    add_reply_long(c, (long long)len);
}

static void incr_generic(client *c, long long by) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    if (lookup_string_for_write(c, k, &o) < 0) return;
    long long cur = 0;
    if (o) {
        if (o->enc == ENC_INT) cur = o->v.i;
        else if (!util_str2ll(o->v.s, ds_len(o->v.s), &cur)) {
            add_reply_err_not_int(c);
            return;
        }
    }
    long long nv;
    if (__builtin_add_overflow(cur, by, &nv)) {
        add_reply_error(c, "increment or decrement would overflow");
        return;
    }
    if (o && o->enc == ENC_INT) {
        o->v.i = nv;
    } else if (o) {
        db_set(c->db, k->ptr, k->len, obj_new_int(nv), 1);
    } else {
        db_add(c->db, k->ptr, k->len, obj_new_int(nv));
    }
    notify_keyspace_event(NOTIFY_STRING, "incrby", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_long(c, nv);
}

void incrCommand(client *c) { incr_generic(c, 1); }
void decrCommand(client *c) { incr_generic(c, -1); }

void incrbyCommand(client *c) {
    long long by;
    if (arg_long(c, 2, &by, NULL) < 0) return;
    incr_generic(c, by);
}

void decrbyCommand(client *c) {
    long long by;
    if (arg_long(c, 2, &by, NULL) < 0) return;
    if (by == LLONG_MIN) {
        add_reply_error(c, "decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

void incrbyfloatCommand(client *c) {
    pobj *o;
    resp_arg *k = &c->argv[1];
    long double by, cur = 0;
    if (!util_str2ld(c->argv[2].ptr, c->argv[2].len, &by)) {
        add_reply_error(c, "value is not a valid float");
        return;
    }
    if (lookup_string_for_write(c, k, &o) < 0) return;
    if (o) {
        char buf[32];
        size_t len;
        const char *p = obj_str(o, buf, &len);
        if (!util_str2ld(p, len, &cur)) {
            add_reply_error(c, "value is not a valid float");
            return;
        }
    }
    long double nv = cur + by;
    if (isnan(nv) || isinf(nv)) {
        add_reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char out[128];
    int n = util_ld2str(out, sizeof(out), nv);
    db_set(c->db, k->ptr, k->len, obj_new_string(out, (size_t)n), 1);
    notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_bulk(c, out, (size_t)n);
}

void getrangeCommand(client *c) {
    long long start, end;
    if (arg_long(c, 2, &start, NULL) < 0 || arg_long(c, 3, &end, NULL) < 0) return;
    pobj *o = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    if (!o) {
        add_reply_bulk(c, "", 0);
        return;
    }
    if (o->type != OBJ_STRING) {
        add_reply_err_wrongtype(c);
        return;
    }
    char buf[32];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    long long slen = (long long)len;
    if (start < 0 && end < 0 && start > end) {
        add_reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start = slen + start;
    if (end < 0) end = slen + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= slen) end = slen - 1;
    if (start > end || slen == 0) {
        add_reply_bulk(c, "", 0);
        return;
    }
    add_reply_bulk(c, p + start, (size_t)(end - start + 1));
}

void setrangeCommand(client *c) {
    long long offset;
    if (arg_long(c, 2, &offset, NULL) < 0) return;
    if (offset < 0) {
        add_reply_error(c, "offset is out of range");
        return;
    }
    resp_arg *k = &c->argv[1], *v = &c->argv[3];
    pobj *o;
    if (lookup_string_for_write(c, k, &o) < 0) return;
    char buf[32];
    size_t cur = 0;
    if (o) obj_str(o, buf, &cur);
    if (v->len == 0) {
        add_reply_long(c, (long long)cur);
        return;
    }
    if (check_string_length(c, offset + (long long)v->len) < 0) return;
    if (!o) {
        o = obj_new_string_ds(ds_new(NULL, 0));
        db_add(c->db, k->ptr, k->len, o);
    }
    ds s = obj_str_unshare(o);
    size_t need = (size_t)offset + v->len;
    if (need > ds_len(s)) {
        size_t old = ds_len(s);
        s = ds_make_room(s, need - old);
        memset(s + old, 0, need - old);
        ds_setlen(s, need);
    }
    memcpy(s + offset, v->ptr, v->len);
    o->v.s = s;
    notify_keyspace_event(NOTIFY_STRING, "setrange", k->ptr, k->len, c->db->id);
    server_incr_dirty(1);
    add_reply_long(c, (long long)ds_len(s));
}

void lcsCommand(client *c) {
    int getlen = 0, getidx = 0, withmatchlen = 0;
    long long minmatchlen = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "idx")) getidx = 1;
        else if (arg_is(c, i, "len")) getlen = 1;
        else if (arg_is(c, i, "withmatchlen")) withmatchlen = 1;
        else if (arg_is(c, i, "minmatchlen") && i + 1 < c->argc) {
            if (arg_long(c, ++i, &minmatchlen, NULL) < 0) return;
            if (minmatchlen < 0) minmatchlen = 0;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (getlen && getidx) {
        add_reply_error(c, "If you want both the length and indexes, please just use IDX.");
        return;
    }
    pobj *oa = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    pobj *ob = db_lookup_read(c->db, c->argv[2].ptr, c->argv[2].len);
    if ((oa && oa->type != OBJ_STRING) || (ob && ob->type != OBJ_STRING)) {
        add_reply_error(c, "The specified keys must contain string values");
        return;
    }
    char ba[32], bb[32];
    size_t la = 0, lb = 0;
    const char *a = oa ? obj_str(oa, ba, &la) : "";
    const char *b = ob ? obj_str(ob, bb, &lb) : "";
    unsigned long long cells = (unsigned long long)(la + 1) * (lb + 1);
    if (cells > (unsigned long long)server.proto_max_bulk_len / sizeof(uint32_t) || la >= UINT32_MAX || lb >= UINT32_MAX) {
        add_reply_error(c, "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = zmalloc((size_t)cells * sizeof(uint32_t));
#define LCS(i, j) t[(size_t)(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++) {
        for (size_t j = 0; j <= lb; j++) {
            if (i == 0 || j == 0) LCS(i, j) = 0;
            else if (a[i - 1] == b[j - 1]) LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else LCS(i, j) = LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
        }
    }
    uint32_t idx = LCS(la, lb);
    if (getlen) {
        add_reply_long(c, idx);
        zfree(t);
        return;
    }
    char *result = getidx ? NULL : zmalloc(idx + 1);
    void *arr = NULL;
    long long nmatches = 0;
    if (getidx) {
        add_reply_map_len(c, 2);
        add_reply_bulk_cstr(c, "matches");
        arr = add_reply_deferred_len(c);
    }
    /* Walk back from (la, lb): a diagonal step is a matched byte; a run of
     * diagonal steps is one match range, emitted when the run ends. */
    size_t i = la, j = lb, pos = idx;
    long long as = -1, ae = -1, bs = -1, be = -1;
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result) result[--pos] = a[i - 1];
            if (as == -1) {
                as = ae = (long long)i - 1;
                bs = be = (long long)j - 1;
            } else {
                as--;
                bs--;
            }
            if (as == 0 || bs == 0) emit = 1;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1)) i--;
            else j--;
            if (as != -1) emit = 1;
        }
        if (emit) {
            long long mlen = ae - as + 1;
            if (getidx && mlen >= minmatchlen) {
                add_reply_array_len(c, 2 + withmatchlen);
                add_reply_array_len(c, 2);
                add_reply_long(c, as);
                add_reply_long(c, ae);
                add_reply_array_len(c, 2);
                add_reply_long(c, bs);
                add_reply_long(c, be);
                if (withmatchlen) add_reply_long(c, mlen);
                nmatches++;
            }
            as = -1;
        }
    }
#undef LCS
    if (getidx) {
        set_deferred_array_len(c, arr, nmatches);
        add_reply_bulk_cstr(c, "len");
        add_reply_long(c, idx);
    } else {
        add_reply_bulk(c, result, idx);
        zfree(result);
    }
    zfree(t);
}

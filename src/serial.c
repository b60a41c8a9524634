/* serial.c -- the value codec (DUMP/RESTORE, snapshots, log rewrites).
 *
 * Format of one value (all integers little-endian; varint = LEB128, at
 * most 10 bytes; bytes = varint length + the bytes; f64/f32 = IEEE 754):
 *
 *   u8 type   SER_STRING  bytes
 *             SER_LIST    varint n, n x bytes (head to tail)
 *             SER_SET     varint n, n x bytes
 *             SER_ZSET    varint n, n x (bytes member, f64 score), by score
 *             SER_HASH    varint n, n x (bytes field, bytes value)
 *             SER_ENTITY  the entity record (t_entity.c: entity_encode),
 *                         then in DUMP mode its outgoing edges and its
 *                         incoming edges, each list as varint e, e x (bytes
 *                         other end's key, bytes type, f64 weight, bytes
 *                         meta JSON or ""); RESTORE reconnects the edges
 *                         whose other end exists and logs the others
 *
 * A DUMP payload is the value, u16 SERIAL_VERSION, then u64 XXH3-64 of all
 * the bytes before it (the idea of Redis's RDB version + CRC64 footer; the
 * encoding is Phenix's own and not compatible with Redis's).
 *
 * Decoding never trusts the input: every length is checked against what
 * is left before anything is allocated for it, counts are bounded by the
 * bytes that remain (each element needs at least one byte), NaN scores and
 * non-finite vector components are refused, duplicate set members, hash
 * fields and zset members are refused (they would break the types'
 * invariants), and a value must end exactly where its payload ends. A
 * refused payload changes nothing in the keyspace.
 *
 * Complexity: O(size of the value) both ways. */
#include <math.h>
#include <xxhash.h>

#include "serial.h"

/* ---------------- writer ---------------- */

void ser_put_u8(ds *out, uint8_t v) { *out = ds_cat(*out, &v, 1); }

void ser_put_u32(ds *out, uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    *out = ds_cat(*out, b, 4);
}

void ser_put_u64(ds *out, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    *out = ds_cat(*out, b, 8);
}

void ser_put_varint(ds *out, uint64_t v) {
    unsigned char b[10];
    int n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    *out = ds_cat(*out, b, (size_t)n);
}

void ser_put_f64(ds *out, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    ser_put_u64(out, u);
}

void ser_put_f32s(ds *out, const float *v, size_t n) {
    /* the server runs on little-endian machines only (x86-64, arm64) */
    *out = ds_cat(*out, v, n * sizeof(float));
}

void ser_put_bytes(ds *out, const void *p, size_t len) {
    ser_put_varint(out, len);
    *out = ds_cat(*out, p, len);
}

/* ---------------- reader ---------------- */

void ser_reader_init(ser_reader *r, const void *p, size_t len) {
    r->p = p;
    r->end = r->p + len;
    r->err = 0;
}

static int need(ser_reader *r, size_t n) {
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = 1;
        return 0;
    }
    return 1;
}

int ser_get_u8(ser_reader *r, uint8_t *v) {
    if (!need(r, 1)) return 0;
    *v = *r->p++;
    return 1;
}

int ser_get_u32(ser_reader *r, uint32_t *v) {
    if (!need(r, 4)) return 0;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    *v = x;
    return 1;
}

int ser_get_u64(ser_reader *r, uint64_t *v) {
    if (!need(r, 8)) return 0;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    *v = x;
    return 1;
}

int ser_get_varint(ser_reader *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (!ser_get_u8(r, &b)) return 0;
        if (shift == 63 && (b & 0x7e)) break; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    r->err = 1;
    return 0;
}

int ser_get_f64(ser_reader *r, double *v) {
    uint64_t u;
    if (!ser_get_u64(r, &u)) return 0;
    memcpy(v, &u, 8);
    return 1;
}

int ser_get_f32s(ser_reader *r, float *out, size_t n) {
    if (n > SIZE_MAX / sizeof(float) || !need(r, n * sizeof(float))) return 0;
    memcpy(out, r->p, n * sizeof(float));
    r->p += n * sizeof(float);
    return 1;
}

int ser_get_bytes(ser_reader *r, const char **p, size_t *len) {
    uint64_t n;
    if (!ser_get_varint(r, &n) || !need(r, n)) return 0;
    *p = (const char *)r->p;
    *len = (size_t)n;
    r->p += n;
    return 1;
}

/* ---------------- values ---------------- */

static void put_member(void *priv, const char *p, size_t len) { ser_put_bytes(priv, p, len); }

static void put_zmember(void *priv, const char *m, size_t len, double score) {
    ser_put_bytes(priv, m, len);
    ser_put_f64(priv, score);
}

static void put_field(void *priv, const char *f, size_t fl, const char *v, size_t vl) {
    ser_put_bytes(priv, f, fl);
    ser_put_bytes(priv, v, vl);
}

typedef struct edge_buf {
    ds out;
    uint64_t n;
} edge_buf;

static void put_edge(void *priv, const char *to, size_t tl, const char *type, size_t tyl, double w,
                     const char *meta, size_t ml) {
    edge_buf *b = priv;
    ser_put_bytes(&b->out, to, tl);
    ser_put_bytes(&b->out, type, tyl);
    ser_put_f64(&b->out, w);
    ser_put_bytes(&b->out, meta ? meta : "", meta ? ml : 0);
    b->n++;
}

void serial_encode_value(ds *out, const pobj *o, int mode) {
    switch (o->type) {
    case OBJ_STRING: {
        char nb[32];
        size_t len;
        const char *p = obj_str(o, nb, &len);
        ser_put_u8(out, SER_STRING);
        ser_put_bytes(out, p, len);
        break;
    }
    case OBJ_LIST:
        ser_put_u8(out, SER_LIST);
        ser_put_varint(out, list_size(o));
        list_foreach(o, put_member, out);
        break;
    case OBJ_SET:
        ser_put_u8(out, SER_SET);
        ser_put_varint(out, set_size(o));
        set_foreach(o, put_member, out);
        break;
    case OBJ_ZSET:
        ser_put_u8(out, SER_ZSET);
        ser_put_varint(out, zset_size(o));
        zset_foreach(o, put_zmember, out);
        break;
    case OBJ_HASH:
        ser_put_u8(out, SER_HASH);
        ser_put_varint(out, hash_size(o));
        hash_foreach(o, put_field, out);
        break;
    case OBJ_ENTITY:
        ser_put_u8(out, SER_ENTITY);
        entity_encode(out, o, mode);
        if (mode == SER_MODE_DUMP) {
            edge_buf b = {ds_empty(0), 0}, in = {ds_empty(0), 0};
            graph_foreach_out_edge((pobj *)o, put_edge, &b);
            graph_foreach_in_edge((pobj *)o, put_edge, &in);
            ser_put_varint(out, b.n);
            *out = ds_cat(*out, b.out, ds_len(b.out));
            ser_put_varint(out, in.n);
            *out = ds_cat(*out, in.out, ds_len(in.out));
            ds_free(b.out);
            ds_free(in.out);
        }
        break;
    default:
        break;
    }
}

/* Edges read from a DUMP payload, added once the key exists. */
typedef struct pending_edge {
    const char *other, *type, *meta; /* other: the far end's key */
    size_t ol, tyl, ml;
    double w;
    int incoming; /* other -> this key */
} pending_edge;
static pending_edge *pedges;
static size_t npedges, pedges_cap;

static int decode_edge_list(ser_reader *r, int incoming) {
    uint64_t n;
    if (!ser_get_varint(r, &n) || n > ser_remaining(r)) return -1;
    for (uint64_t i = 0; i < n; i++) {
        pending_edge e;
        e.incoming = incoming;
        ser_get_bytes(r, &e.other, &e.ol);
        ser_get_bytes(r, &e.type, &e.tyl);
        ser_get_f64(r, &e.w);
        if (!ser_get_bytes(r, &e.meta, &e.ml) || isnan(e.w)) return -1;
        if (npedges == pedges_cap) {
            pedges_cap = pedges_cap ? pedges_cap * 2 : 16;
            pedges = zrealloc(pedges, pedges_cap * sizeof(*pedges));
        }
        pedges[npedges++] = e;
    }
    return 0;
}

static int decode_edges(ser_reader *r) {
    npedges = 0;
    return decode_edge_list(r, 0) == 0 && decode_edge_list(r, 1) == 0 ? 0 : -1;
}

/* Adds the edges of the last decoded DUMP entity from key (now in d);
 * returns how many could not be added (other end missing...). The edges
 * point into the payload, which must still be alive. */
static size_t restore_pending_edges(db *d, const char *key, size_t klen) {
    size_t failed = 0;
    for (size_t i = 0; i < npedges; i++) {
        pending_edge *e = &pedges[i];
        const char *err = NULL;
        const char *from = e->incoming ? e->other : key, *to = e->incoming ? key : e->other;
        size_t fl = e->incoming ? e->ol : klen, tl = e->incoming ? klen : e->ol;
        if (graph_restore_edge(d, from, fl, to, tl, e->type, e->tyl, e->w, e->ml ? e->meta : NULL, e->ml, &err) !=
            0) {
            failed++;
            server_log(LL_NOTICE, "RESTORE %.*s: edge %.*s -> %.*s not restored: %s", (int)klen, key, (int)fl, from,
                       (int)tl, to, err);
        }
    }
    npedges = 0;
    return failed;
}

pobj *serial_decode_value(ser_reader *r, db *d, const char *key, size_t klen, int mode, const char **err) {
    uint8_t type;
    uint64_t n;
    const char *p, *q;
    size_t len, qlen;
    pobj *o = NULL;
    *err = "Bad data format";
    if (!ser_get_u8(r, &type)) return NULL;
    switch (type) {
    case SER_STRING:
        if (!ser_get_bytes(r, &p, &len)) return NULL;
        return obj_new_string(p, len);
    case SER_LIST:
        if (!ser_get_varint(r, &n) || n == 0 || n > ser_remaining(r)) return NULL;
        o = list_new_object();
        for (uint64_t i = 0; i < n; i++) {
            if (!ser_get_bytes(r, &p, &len)) goto bad;
            list_push_tail(o, p, len);
        }
        return o;
    case SER_SET:
        if (!ser_get_varint(r, &n) || n == 0 || n > ser_remaining(r)) return NULL;
        o = set_new_object();
        for (uint64_t i = 0; i < n; i++)
            if (!ser_get_bytes(r, &p, &len) || !set_add_member(o, p, len)) goto bad;
        return o;
    case SER_ZSET:
        if (!ser_get_varint(r, &n) || n == 0 || n > ser_remaining(r)) return NULL;
        o = zset_new_object();
        for (uint64_t i = 0; i < n; i++) {
            double s;
            ser_get_bytes(r, &p, &len);
            if (!ser_get_f64(r, &s) || isnan(s) || !zset_add_member(o, p, len, s)) goto bad;
        }
        return o;
    case SER_HASH:
        if (!ser_get_varint(r, &n) || n == 0 || n > ser_remaining(r)) return NULL;
        o = hash_new_object();
        for (uint64_t i = 0; i < n; i++) {
            ser_get_bytes(r, &p, &len);
            if (!ser_get_bytes(r, &q, &qlen) || !hash_set_field(o, p, len, q, qlen)) goto bad;
        }
        return o;
    case SER_ENTITY:
        o = entity_decode(r, d, key, klen, mode, err);
        if (!o) return NULL;
        if (mode == SER_MODE_DUMP && decode_edges(r) != 0) {
            *err = "Bad data format";
            goto bad;
        }
        return o;
    default:
        return NULL;
    }
bad:
    r->err = 1;
    obj_free(o);
    return NULL;
}

/* ---------------- DUMP payloads ---------------- */

ds serial_dump_payload(const pobj *o) {
    ds out = ds_empty(64);
    serial_encode_value(&out, o, SER_MODE_DUMP);
    unsigned char v[2] = {SERIAL_VERSION & 0xff, SERIAL_VERSION >> 8};
    out = ds_cat(out, v, 2);
    ser_put_u64(&out, XXH3_64bits(out, ds_len(out)));
    return out;
}

static int skip_checksum; /* DEBUG SET-SKIP-CHECKSUM-VALIDATION (fuzz tests of the decoder) */

void serial_set_skip_checksum(int on) { skip_checksum = on; }

int serial_check_payload(const char *p, size_t len, const char **body, size_t *blen) {
    if (len < 11) return -1;
    const unsigned char *f = (const unsigned char *)p + len - 10;
    unsigned version = f[0] | (unsigned)f[1] << 8;
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum |= (uint64_t)f[2 + i] << (8 * i);
    if (version == 0 || version > SERIAL_VERSION) return -1;
    if (!skip_checksum && XXH3_64bits(p, len - 8) != sum) return -1;
    *body = p;
    *blen = len - 10;
    return 0;
}

/* ---------------- commands ---------------- */

void dumpCommand(client *c) {
    pobj *o = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    if (!o) {
        add_reply_null(c);
        return;
    }
    ds p = serial_dump_payload(o);
    add_reply_bulk(c, p, ds_len(p));
    ds_free(p);
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] */
void restoreCommand(client *c) {
    resp_arg *k = &c->argv[1];
    int replace = 0, absttl = 0;
    long long ttl, idle = -1, freq = -1;
    for (int i = 4; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (arg_is(c, i, "replace")) replace = 1;
        else if (arg_is(c, i, "absttl")) absttl = 1;
        else if (arg_is(c, i, "idletime") && more && freq == -1) {
            if (arg_long(c, ++i, &idle, NULL) < 0) return;
            if (idle < 0) {
                add_reply_error(c, "Invalid IDLETIME value, must be >= 0");
                return;
            }
        } else if (arg_is(c, i, "freq") && more && idle == -1) {
            if (arg_long(c, ++i, &freq, NULL) < 0) return;
            if (freq < 0 || freq > 255) {
                add_reply_error(c, "Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (arg_long(c, 2, &ttl, NULL) < 0) return;
    if (ttl < 0) {
        add_reply_error(c, "Invalid TTL value, must be >= 0");
        return;
    }
    if (!replace && db_lookup_write(c->db, k->ptr, k->len)) {
        add_reply_error(c, "-BUSYKEY Target key name already exists.");
        return;
    }
    const char *body, *err;
    size_t blen;
    if (serial_check_payload(c->argv[3].ptr, c->argv[3].len, &body, &blen) != 0) {
        add_reply_error(c, "DUMP payload version or checksum are wrong");
        return;
    }
    ser_reader r;
    ser_reader_init(&r, body, blen);
    pobj *o = serial_decode_value(&r, c->db, k->ptr, k->len, SER_MODE_DUMP, &err);
    if (o && ser_remaining(&r) != 0) {
        obj_free(o);
        o = NULL;
        err = "Bad data format";
    }
    if (!o) {
        npedges = 0;
        add_reply_error(c, err);
        return;
    }
    int64_t when = -1;
    if (ttl > 0) when = absttl ? ttl : server_mstime() + ttl;
    int deleted = replace && db_delete(c->db, k->ptr, k->len);
    if (when >= 0 && when <= server_mstime() && !server.loading) {
        /* already expired: nothing to create (the old key went with REPLACE) */
        obj_free(o);
        npedges = 0;
        if (deleted) server_incr_dirty(1);
        add_reply_ok(c);
        return;
    }
    ds key = db_add(c->db, k->ptr, k->len, o);
    if (o->type == OBJ_ENTITY) {
        entity_key_changed(o, key);
        restore_pending_edges(c->db, k->ptr, k->len);
    }
    if (when >= 0) db_set_expire(c->db, k->ptr, k->len, when);
    if (idle >= 0) o->lru = lru_clock() - (uint32_t)(idle > UINT32_MAX ? UINT32_MAX : idle);
    if (freq >= 0) o->lfu = (uint16_t)freq;
    server_incr_dirty(1);
    add_reply_ok(c);
}

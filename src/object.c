/* object.c -- values (pobj): construction, encodings, sizes.
 *
 * Strings use three encodings, reported by OBJECT ENCODING as Redis does:
 *  int     the value is a decimal integer that round-trips (no leading
 *          zeros or '+'): 8 bytes in the object, no string allocated;
 *  embstr  up to EMBSTR_MAX bytes: object and ds in one allocation;
 *  raw     a separate ds (big values, or values modified in place).
 * A string object is never shared between keys, so it may be modified in
 * place after obj_str_unshare(). The lru field is a seconds clock used by
 * OBJECT IDLETIME. */
#include "server.h"

uint32_t lru_clock(void) { return (uint32_t)(util_mstime() / 1000); }

static pobj *alloc_obj(int type, int enc) {
    pobj *o = zmalloc(sizeof(*o));
    o->type = (uint8_t)type;
    o->enc = (uint8_t)enc;
    o->lfu = OBJ_LFU_INIT;
    o->lru = lru_clock();
    o->v.p = NULL;
    return o;
}

pobj *obj_new_int(long long v) {
    pobj *o = alloc_obj(OBJ_STRING, ENC_INT);
    o->v.i = v;
    return o;
}

pobj *obj_new_string(const char *p, size_t len) {
    long long v;
    if (len <= 20 && util_str2ll(p, len, &v)) return obj_new_int(v);
    if (len <= EMBSTR_MAX) {
        pobj *o = zmalloc(sizeof(pobj) + ds_embedded_size(len));
        o->type = OBJ_STRING;
        o->enc = ENC_EMBSTR;
        o->lfu = OBJ_LFU_INIT;
        o->lru = lru_clock();
        o->v.s = ds_init_in(o + 1, p, len);
        return o;
    }
    pobj *o = alloc_obj(OBJ_STRING, ENC_RAW);
    o->v.s = ds_new(p, len);
    return o;
}

pobj *obj_new_string_ds(ds s) {
    pobj *o = alloc_obj(OBJ_STRING, ENC_RAW);
    o->v.s = s;
    return o;
}

static const obj_type_ops *type_ops(int type) {
    switch (type) {
    case OBJ_LIST: return &list_type_ops;
    case OBJ_HASH: return &hash_type_ops;
    case OBJ_SET: return &set_type_ops;
    case OBJ_ZSET: return &zset_type_ops;
    case OBJ_ENTITY: return &entity_type_ops;
    }
    return NULL;
}

pobj *obj_new(int type, int enc, void *ptr) {
    pobj *o = alloc_obj(type, enc);
    o->v.p = ptr;
    return o;
}

void obj_free(pobj *o) {
    if (!o) return;
    if (o->type == OBJ_STRING) {
        if (o->enc == ENC_RAW) ds_free(o->v.s);
    } else {
        const obj_type_ops *ops = type_ops(o->type);
        if (ops && o->v.p) ops->free(o);
    }
    zfree(o);
}

void obj_free_void(void *o) { obj_free(o); }

pobj *obj_dup(const pobj *o) {
    if (o->type != OBJ_STRING) return obj_new(o->type, o->enc, type_ops(o->type)->dup(o));
    if (o->enc == ENC_INT) return obj_new_int(o->v.i);
    pobj *d = obj_new_string(o->v.s, ds_len(o->v.s));
    return d;
}

const char *obj_str(const pobj *o, char *buf, size_t *len) {
    if (o->enc == ENC_INT) {
        *len = (size_t)util_ll2str(buf, 24, o->v.i);
        return buf;
    }
    *len = ds_len(o->v.s);
    return o->v.s;
}

ds obj_str_unshare(pobj *o) {
    if (o->enc == ENC_RAW) return o->v.s;
    char buf[32];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    ds s = ds_new(p, len);
    /* an embstr object is one allocation: the new ds lives beside it and
     * the inline bytes are simply no longer used */
    o->enc = ENC_RAW;
    o->v.s = s;
    return s;
}

size_t obj_mem_usage(const pobj *o) {
    size_t n = zmalloc_size(o);
    if (o->type == OBJ_STRING && o->enc == ENC_RAW) n += ds_alloc_size(o->v.s);
    else if (o->type != OBJ_STRING) n += type_ops(o->type)->mem(o);
    return n;
}

const char *obj_type_name(const pobj *o) {
    if (o->type == OBJ_STRING) return "string";
    const obj_type_ops *ops = type_ops(o->type);
    return ops ? ops->name : "unknown";
}

const char *obj_enc_name(const pobj *o) {
    switch (o->enc) {
    case ENC_INT: return "int";
    case ENC_EMBSTR: return "embstr";
    case ENC_RAW: return "raw";
    case ENC_HASHTABLE: return "hashtable";
    case ENC_LINKEDLIST: return "linkedlist";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_LISTPACK: return "listpack";
    case ENC_ENTITY: return "entity";
    }
    return "unknown";
}

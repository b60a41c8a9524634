/* t_entity.c -- entities, collections and vector search (PH.* commands).
 *
 * A collection (per database) owns a key prefix, a vector schema (dim,
 * metric) and an index: an HNSW graph (hnsw.c) or an exact FLAT store
 * (flat.c). An entity is a value of type OBJ_ENTITY: JSON metadata (parsed
 * once, kept as a jansson tree) and, when it has a vector, a node in its
 * collection's index under a numeric label.
 *
 * Invariants:
 *  - an entity attached to a collection (e->coll set, same epoch) has a
 *    vector in coll's index, under its own address as the label, exactly
 *    when e->has_vec; FLUSH bumps the collection's epoch so the entities
 *    freed next skip the index that was emptied at once;
 *  - e->coll == NULL (collection dropped, or copied out of every
 *    collection) means the entity keeps its own vector in e->vec;
 *  - e->meta is NULL for the empty object {} (saves an empty hash table
 *    per entity that has no metadata);
 *  - e->key equals the keyspace name of the entity (kept on RENAME), so a
 *    search can name its results.
 * The keyspace calls back through entity_type_ops.free (DEL, overwrite,
 * expiry, FLUSH), and through the entity_* hooks for RENAME, COPY and
 * FLUSH, so no path leaves an index pointing at a missing entity. A
 * lazily-expired entity (expired but not yet deleted) is skipped by the
 * search filter, so it is never returned.
 *
 * Vectors are stored once, inside the index (COSINE: normalized, with the
 * norm kept in the entity so PH.GET returns norm x unit vector).
 *
 * Complexity: PH.SET is an HNSW insert (O(log N) expected), PH.SEARCH an
 * HNSW search (about O(ef log N)) or an O(N dim) scan with EXACT/FLAT.
 *
 * TIMEOUT: HNSW searches get a budget of distance computations derived from
 * the measured cost of one distance in this collection (an average kept
 * per collection); FLAT/EXACT scans check the clock as they go.
 *
 * JSON comes from Debian's libjansson (parsed trees with hashed objects and
 * 64-bit integers; deps/README.md says why); its allocations go through
 * zmalloc so used_memory counts them. The merge patch is RFC 7386. */
#include <jansson.h>
#include <math.h>
#include <strings.h>

#include "filter.h"
#include "flat.h"
#include "hnsw.h"
#include "serial.h"
#include "server.h"
#include "vec_dist.h"

#define MAX_K 10000
#define MAX_EF 65536
#define MAX_COLLECTIONS 1024

enum { INDEX_HNSW = 0, INDEX_FLAT = 1 };

typedef struct entity entity;

typedef struct collection {
    ds name, prefix;
    db *db;
    uint32_t dim; /* 0: no vectors */
    hnsw_metric metric;
    int index;
    uint32_t M, ef_construction, ef_runtime;
    hnsw_index *hnsw;
    flat_index *flat;
    hnsw_scratch *scratch;
    uint32_t epoch;     /* bumped by FLUSH: entities of older epochs are not indexed */
    long long entities; /* entities attached in the current epoch */
    long long vectors;
    long long metadata_bytes;
    long long searches, exact_searches;
    long long filtered_scan, filtered_graph, filtered_fallback; /* FILTER plans */
    double ns_per_distance; /* measured average, for TIMEOUT budgets */
} collection;

struct entity {
    collection *coll;
    ds key;       /* borrowed: the keyspace's own key string */
    json_t *meta; /* NULL means {} */
    float *vec;   /* own copy only while detached (coll == NULL) */
    uint32_t dim;
    float norm;   /* COSINE: norm of the vector given */
    uint32_t meta_bytes;
    uint32_t epoch; /* coll->epoch when attached */
    uint8_t has_vec;
};

/* An entity's label in its collection's index is its own address: a search
 * result leads straight to the entity, with no label map to keep. This is
 * safe because an entity leaves the index before its memory is freed. */
#define LABEL(e) ((uint64_t)(uintptr_t)(e))
#define ENTITY_OF(label) ((entity *)(uintptr_t)(label))

/* 1 when e is in its collection's current index generation. */
static inline int attached(const entity *e) { return e->coll && e->epoch == e->coll->epoch; }

/* ---------------- small helpers ---------------- */


static const char *metric_name(hnsw_metric m) {
    return m == HNSW_METRIC_L2 ? "L2" : m == HNSW_METRIC_IP ? "IP" : "COSINE";
}

static void *json_zmalloc(size_t n) { return zmalloc(n); }
static void json_zfree(void *p) { zfree(p); }

void entity_init(void) {
    json_set_alloc_funcs(json_zmalloc, json_zfree);
    vec_dist_init();
}

static size_t json_text_len(const json_t *j) { return json_dumpb(j, NULL, 0, JSON_COMPACT); }

/* Converts an index distance to the documented score. */
static double score_of(const collection *c, float d) {
    if (c->metric == HNSW_METRIC_L2) return sqrt(d > 0 ? d : 0);
    return d;
}

/* ---------------- collections ---------------- */

static collection *coll_find(db *d, const char *name, size_t len) {
    for (int i = 0; i < d->ncolls; i++)
        if (ds_len(d->colls[i]->name) == len && memcmp(d->colls[i]->name, name, len) == 0) return d->colls[i];
    return NULL;
}

static collection *coll_for_key(db *d, const char *key, size_t len) {
    for (int i = 0; i < d->ncolls; i++) {
        collection *c = d->colls[i];
        size_t pl = ds_len(c->prefix);
        if (len >= pl && memcmp(key, c->prefix, pl) == 0) return c;
    }
    return NULL;
}

/* Creates the empty index of c (when it has vectors). */
static int coll_make_index(collection *c) {
    if (!c->dim) return 0;
    if (c->index == INDEX_FLAT) {
        c->flat = flat_create(c->dim, c->metric);
        return c->flat ? 0 : -1;
    }
    hnsw_params p = {.dim = c->dim, .metric = c->metric, .M = c->M, .ef_construction = c->ef_construction,
                     .seed = 0x5eed0000ULL + (uint64_t)c->db->id};
    return hnsw_create(&p, &c->hnsw) == HNSW_OK ? 0 : -1;
}

static void coll_free_index(collection *c) {
    hnsw_free(c->hnsw);
    flat_free(c->flat);
    c->hnsw = NULL;
    c->flat = NULL;
}

static const float *coll_get_vector(const collection *c, uint64_t label) {
    return c->hnsw ? hnsw_get_vector(c->hnsw, label) : c->flat ? flat_get_vector(c->flat, label) : NULL;
}

static int index_insert(collection *c, uint64_t label, const float *v) {
    int r = c->hnsw ? hnsw_insert(c->hnsw, label, v) : flat_insert(c->flat, label, v);
    return r < 0 ? r : 0;
}

static int index_update(collection *c, uint64_t label, const float *v) {
    return c->hnsw ? hnsw_update(c->hnsw, label, v) : flat_update(c->flat, label, v);
}

static void index_delete(collection *c, uint64_t label) {
    if (c->hnsw) hnsw_delete(c->hnsw, label);
    else if (c->flat) flat_delete(c->flat, label);
}

/* Writes e's vector (as given, up to COSINE rounding) into out. */
static int entity_vector(const entity *e, float *out) {
    if (!e->has_vec) return 0;
    int indexed = attached(e);
    const float *v = indexed ? coll_get_vector(e->coll, LABEL(e)) : e->vec;
    if (!v) return 0;
    float scale = indexed && e->coll->metric == HNSW_METRIC_COSINE ? e->norm : 1.0f;
    for (uint32_t i = 0; i < e->dim; i++) out[i] = v[i] * scale;
    return 1;
}

/* Removes e from its collection (index and counts). */
static void coll_remove(entity *e) {
    collection *c = e->coll;
    if (!c) return;
    if (attached(e)) {
        if (e->has_vec) {
            index_delete(c, LABEL(e));
            c->vectors--;
        }
        c->entities--;
        c->metadata_bytes -= e->meta_bytes;
    }
    e->coll = NULL;
}

/* Adds e (detached, with its own vector in e->vec if any) to c. Returns 0 or
 * -1 when the vector does not fit c (wrong dim): e stays detached. */
static int coll_attach(collection *c, entity *e) {
    if (e->has_vec && e->dim != c->dim) return -1;
    if (e->has_vec) {
        if (c->metric == HNSW_METRIC_COSINE) e->norm = (float)vec_norm(e->vec, e->dim);
        if (index_insert(c, LABEL(e), e->vec) != 0) return -1;
        c->vectors++;
        zfree(e->vec);
        e->vec = NULL;
    }
    e->coll = c;
    e->epoch = c->epoch;
    c->entities++;
    c->metadata_bytes += e->meta_bytes;
    return 0;
}

/* Gives e its own vector and leaves c (drop without DELETEDATA). */
static void entity_detach(entity *e) {
    if (e->has_vec && !e->vec) {
        e->vec = zmalloc(sizeof(float) * e->dim);
        entity_vector(e, e->vec);
    }
    coll_remove(e);
}

static void coll_free(collection *c) {
    coll_free_index(c);
    hnsw_scratch_free(c->scratch);
    ds_free(c->name);
    ds_free(c->prefix);
    zfree(c);
}

/* ---------------- entity values ---------------- */

/* A new detached entity; its key is set once it is in the keyspace. */
static entity *entity_new(void) {
    entity *e = zcalloc(sizeof(*e));
    e->meta = NULL; /* {} until metadata is set: most of the memory of an empty object */
    e->meta_bytes = 2;
    return e;
}

static void entity_free_value(pobj *o) {
    entity *e = o->v.p;
    coll_remove(e);
    json_decref(e->meta);
    zfree(e->vec);
    zfree(e);
}

static void *entity_dup_value(const pobj *o) {
    const entity *e = o->v.p;
    entity *d = entity_new();
    d->meta = e->meta ? json_deep_copy(e->meta) : NULL;
    d->meta_bytes = e->meta_bytes;
    d->dim = e->dim;
    d->has_vec = e->has_vec;
    if (e->has_vec) {
        d->vec = zmalloc(sizeof(float) * e->dim);
        entity_vector(e, d->vec);
    }
    return d;
}

static size_t entity_mem(const pobj *o) {
    const entity *e = o->v.p;
    size_t n = zmalloc_size(e) + e->meta_bytes * 2;
    if (e->has_vec) n += sizeof(float) * e->dim;
    return n;
}

const obj_type_ops entity_type_ops = {"entity", entity_free_value, entity_dup_value, entity_mem};

/* ---------------- keyspace hooks ---------------- */

void entity_flush_db(db *d) {
    for (int i = 0; i < d->ncolls; i++) {
        collection *c = d->colls[i];
        /* the entities freed next belong to an old epoch: they skip the index */
        c->epoch++;
        coll_free_index(c);
        coll_make_index(c);
        c->entities = 0;
        c->vectors = 0;
        c->metadata_bytes = 0;
    }
}

void entity_free_db(db *d) {
    for (int i = 0; i < d->ncolls; i++) coll_free(d->colls[i]);
    zfree(d->colls);
    d->colls = NULL;
    d->ncolls = 0;
}

const char *entity_rename_check(db *d, pobj *o, const char *newkey, size_t len) {
    entity *e = o->v.p;
    if (coll_for_key(d, newkey, len) != e->coll) return "RENAME of an entity must stay in its collection";
    return NULL;
}

void entity_key_changed(pobj *o, ds key) {
    entity *e = o->v.p;
    e->key = key;
}

pobj *entity_copy(db *dst, pobj *o, const char *key, size_t len, const char **err) {
    entity *d = entity_dup_value(o);
    collection *c = coll_for_key(dst, key, len);
    if (c && coll_attach(c, d) != 0) {
        *err = "the destination collection has another DIM";
        pobj tmp = {.type = OBJ_ENTITY, .v.p = d};
        entity_free_value(&tmp);
        return NULL;
    }
    return obj_new(OBJ_ENTITY, ENC_ENTITY, d);
}

/* ---------------- argument parsing ---------------- */

/* Parses "VECTOR blob" or "VALUES d v1..vd" at argv[*i] into a new float
 * array (caller frees). Returns the dimension, or -1 after replying. */
static int parse_vector(client *c, int *i, float **out, uint32_t want_dim) {
    int at = *i;
    if (arg_is(c, at, "vector")) {
        if (at + 1 >= c->argc) {
            add_reply_err_syntax(c);
            return -1;
        }
        resp_arg *b = &c->argv[at + 1];
        if (b->len == 0 || b->len % 4 != 0 || b->len / 4 > HNSW_MAX_DIM) {
            if (want_dim)
                add_reply_errorf(c, "vector dimension mismatch: expected %u, got a blob of %zu bytes (%u expected)",
                                 want_dim, b->len, want_dim * 4);
            else
                add_reply_errorf(c, "VECTOR must be a blob of little-endian float32 values (4 bytes each), got %zu bytes", b->len);
            return -1;
        }
        int dim = (int)(b->len / 4);
        float *v = zmalloc(sizeof(float) * (size_t)dim);
        memcpy(v, b->ptr, b->len);
        *out = v;
        *i = at + 2;
        return dim;
    }
    if (arg_is(c, at, "values")) {
        long long dim;
        if (at + 1 >= c->argc || !util_str2ll(c->argv[at + 1].ptr, c->argv[at + 1].len, &dim) || dim < 1 ||
            dim > HNSW_MAX_DIM) {
            add_reply_error(c, "VALUES needs a dimension between 1 and 65536");
            return -1;
        }
        if (at + 2 + dim > c->argc) {
            add_reply_errorf(c, "VALUES %lld needs %lld numbers, got %d", dim, dim, c->argc - at - 2);
            return -1;
        }
        float *v = zmalloc(sizeof(float) * (size_t)dim);
        for (long long k = 0; k < dim; k++) {
            double x;
            resp_arg *a = &c->argv[at + 2 + k];
            if (!util_str2d(a->ptr, a->len, &x)) {
                add_reply_errorf(c, "vector component %lld is not a number", k);
                zfree(v);
                return -1;
            }
            v[k] = (float)x;
        }
        *out = v;
        *i = (int)(at + 2 + dim);
        return (int)dim;
    }
    return 0;
}

/* Checks every component is finite (and a cosine vector is not zero);
 * replies and returns -1 otherwise. */
static int check_vector(client *c, const collection *coll, const float *v, int dim) {
    if ((uint32_t)dim != coll->dim) {
        add_reply_errorf(c, "vector dimension mismatch: expected %u, got %d", coll->dim, dim);
        return -1;
    }
    for (int k = 0; k < dim; k++) {
        if (!isfinite(v[k])) {
            add_reply_errorf(c, "vector component %d is not a finite number", k);
            return -1;
        }
    }
    if (coll->metric == HNSW_METRIC_COSINE && vec_norm(v, (size_t)dim) == 0) {
        add_reply_error(c, "a COSINE vector must not be all zeros");
        return -1;
    }
    return 0;
}

static json_t *parse_json_object(client *c, resp_arg *a, const char *what) {
    json_error_t jerr;
    json_t *j = json_loadb(a->ptr, a->len, 0, &jerr);
    if (!j) {
        add_reply_errorf(c, "%s is not a valid JSON object: %s at line %d column %d", what, jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        add_reply_errorf(c, "%s is not a valid JSON object: the value is not an object", what);
        json_decref(j);
        return NULL;
    }
    return j;
}

static entity *lookup_entity(client *c, resp_arg *k, int write, int *wrongtype) {
    pobj *o = write ? db_lookup_write(c->db, k->ptr, k->len) : db_lookup_read(c->db, k->ptr, k->len);
    *wrongtype = 0;
    if (!o) return NULL;
    if (o->type != OBJ_ENTITY) {
        *wrongtype = 1;
        add_reply_err_wrongtype(c);
        return NULL;
    }
    return o->v.p;
}

/* ---------------- PH.CREATE / DROP / LIST / INFO ---------------- */

static int parse_u32_opt(client *c, int i, long long min, long long max, const char *name, uint32_t *out) {
    long long v;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &v) || v < min || v > max) {
        add_reply_errorf(c, "%s must be between %lld and %lld", name, min, max);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Indexes the entities that already exist under a new collection's prefix. */
static void coll_adopt_existing(collection *c) {
    dict_iter it;
    dict_iter_init(&it, c->db->keys);
    for (dict_entry *de; (de = dict_iter_next(&it));) {
        pobj *o = de->v.val;
        ds k = de->key;
        if (o->type != OBJ_ENTITY || ds_len(k) < ds_len(c->prefix) || memcmp(k, c->prefix, ds_len(c->prefix))) continue;
        entity *e = o->v.p;
        if (!e->coll) coll_attach(c, e); /* a vector of another dim stays unindexed */
    }
    dict_iter_release(&it);
}

void phCreateCommand(client *c) {
    resp_arg *name = &c->argv[1];
    if (coll_find(c->db, name->ptr, name->len)) {
        add_reply_errorf(c, "collection '%.*s' already exists", (int)name->len, name->ptr);
        return;
    }
    if (c->db->ncolls >= MAX_COLLECTIONS) {
        add_reply_error(c, "too many collections in this database");
        return;
    }
    ds prefix = NULL;
    uint32_t dim = 0, M = 16, efc = 200, efr = 64;
    hnsw_metric metric = HNSW_METRIC_COSINE;
    int index = INDEX_HNSW, rc = 0;
    for (int i = 2; i < c->argc && rc == 0; i += 2) {
        if (i + 1 >= c->argc) {
            add_reply_err_syntax(c);
            rc = -1;
        } else if (arg_is(c, i, "prefix")) {
            ds_free(prefix);
            prefix = ds_new(c->argv[i + 1].ptr, c->argv[i + 1].len);
        } else if (arg_is(c, i, "dim")) {
            rc = parse_u32_opt(c, i + 1, 1, HNSW_MAX_DIM, "DIM", &dim);
        } else if (arg_is(c, i, "metric")) {
            if (arg_is(c, i + 1, "cosine")) metric = HNSW_METRIC_COSINE;
            else if (arg_is(c, i + 1, "l2")) metric = HNSW_METRIC_L2;
            else if (arg_is(c, i + 1, "ip")) metric = HNSW_METRIC_IP;
            else {
                add_reply_errorf(c, "unknown METRIC '%.*s'", (int)c->argv[i + 1].len, c->argv[i + 1].ptr);
                rc = -1;
            }
        } else if (arg_is(c, i, "index")) {
            if (arg_is(c, i + 1, "hnsw")) index = INDEX_HNSW;
            else if (arg_is(c, i + 1, "flat")) index = INDEX_FLAT;
            else {
                add_reply_errorf(c, "unknown INDEX '%.*s'", (int)c->argv[i + 1].len, c->argv[i + 1].ptr);
                rc = -1;
            }
        } else if (arg_is(c, i, "m")) {
            rc = parse_u32_opt(c, i + 1, 2, HNSW_MAX_M, "M", &M);
        } else if (arg_is(c, i, "ef_construction")) {
            rc = parse_u32_opt(c, i + 1, 1, 4096, "EF_CONSTRUCTION", &efc);
        } else if (arg_is(c, i, "ef_runtime")) {
            rc = parse_u32_opt(c, i + 1, 1, MAX_EF, "EF_RUNTIME", &efr);
        } else {
            add_reply_err_syntax(c);
            rc = -1;
        }
    }
    if (rc != 0) {
        ds_free(prefix);
        return;
    }
    if (!prefix) prefix = ds_catfmt(ds_new(name->ptr, name->len), ":");
    for (int i = 0; i < c->db->ncolls; i++) {
        collection *o = c->db->colls[i];
        size_t a = ds_len(prefix), b = ds_len(o->prefix), n = a < b ? a : b;
        if (memcmp(prefix, o->prefix, n) == 0) {
            add_reply_errorf(c, "prefix '%s' overlaps collection '%s' (prefix '%s')", prefix, o->name, o->prefix);
            ds_free(prefix);
            return;
        }
    }
    collection *coll = zcalloc(sizeof(*coll));
    coll->name = ds_new(name->ptr, name->len);
    coll->prefix = prefix;
    coll->db = c->db;
    coll->dim = dim;
    coll->metric = metric;
    coll->index = index;
    coll->M = M;
    coll->ef_construction = efc;
    coll->ef_runtime = efr;
    coll->scratch = hnsw_scratch_new();
    if (coll_make_index(coll) != 0) {
        add_reply_error(c, "could not create the index with these parameters");
        coll_free(coll);
        return;
    }
    c->db->colls = zrealloc(c->db->colls, sizeof(collection *) * (size_t)(c->db->ncolls + 1));
    c->db->colls[c->db->ncolls++] = coll;
    coll_adopt_existing(coll);
    server_incr_dirty(1);
    add_reply_ok(c);
}

static collection *coll_or_reply(client *c, resp_arg *name) {
    collection *coll = coll_find(c->db, name->ptr, name->len);
    if (!coll) add_reply_errorf(c, "no such collection '%.*s'", (int)(name->len > 128 ? 128 : name->len), name->ptr);
    return coll;
}

void phDropCommand(client *c) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    int deletedata = 0;
    if (c->argc == 3 && arg_is(c, 2, "deletedata")) deletedata = 1;
    else if (c->argc != 2) {
        add_reply_err_syntax(c);
        return;
    }
    /* collect the members first (a walk of the keyspace: PH.DROP is rare),
     * since deleting changes the dict being walked */
    size_t n = (size_t)coll->entities, k = 0;
    entity **list = zmalloc(sizeof(entity *) * (n ? n : 1));
    dict_iter it;
    dict_iter_init(&it, c->db->keys);
    for (dict_entry *de; (de = dict_iter_next(&it)) && k < n;) {
        pobj *o = de->v.val;
        if (o->type == OBJ_ENTITY && attached(o->v.p) && ((entity *)o->v.p)->coll == coll) list[k++] = o->v.p;
    }
    dict_iter_release(&it);
    for (size_t i = 0; i < k; i++) {
        if (deletedata) {
            ds key = ds_dup(list[i]->key);
            db_delete(c->db, key, ds_len(key));
            ds_free(key);
        } else {
            entity_detach(list[i]);
        }
    }
    zfree(list);
    for (int i = 0; i < c->db->ncolls; i++) {
        if (c->db->colls[i] != coll) continue;
        c->db->colls[i] = c->db->colls[--c->db->ncolls];
        break;
    }
    coll_free(coll);
    server_incr_dirty(1);
    add_reply_ok(c);
}

void phListCommand(client *c) {
    add_reply_array_len(c, c->db->ncolls);
    for (int i = 0; i < c->db->ncolls; i++) add_reply_bulk(c, c->db->colls[i]->name, ds_len(c->db->colls[i]->name));
}

static void reply_kv_long(client *c, const char *k, long long v) {
    add_reply_bulk_cstr(c, k);
    add_reply_long(c, v);
}

static void reply_kv_str(client *c, const char *k, const char *v) {
    add_reply_bulk_cstr(c, k);
    add_reply_bulk_cstr(c, v);
}

void phInfoCommand(client *c) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    size_t mvec = 0, mlinks = 0, mother = 0;
    if (coll->hnsw) {
        hnsw_memory m;
        hnsw_memory_usage(coll->hnsw, &m);
        mvec = m.vectors;
        mlinks = m.links;
        mother = m.other;
    } else if (coll->flat) {
        flat_memory(coll->flat, &mvec, &mother);
    }
    mother += sizeof(*coll) + (size_t)coll->entities * sizeof(entity);
    add_reply_map_len(c, 21);
    reply_kv_str(c, "name", coll->name);
    reply_kv_str(c, "prefix", coll->prefix);
    reply_kv_long(c, "dim", coll->dim);
    reply_kv_str(c, "metric", metric_name(coll->metric));
    reply_kv_str(c, "index", coll->index == INDEX_FLAT ? "FLAT" : "HNSW");
    reply_kv_long(c, "m", coll->M);
    reply_kv_long(c, "ef_construction", coll->ef_construction);
    reply_kv_long(c, "ef_runtime", coll->ef_runtime);
    reply_kv_long(c, "entities", coll->entities);
    reply_kv_long(c, "vectors", coll->vectors);
    reply_kv_long(c, "memory_vectors", (long long)mvec);
    reply_kv_long(c, "memory_index", (long long)mlinks);
    reply_kv_long(c, "memory_other", (long long)mother);
    reply_kv_long(c, "memory_metadata", coll->metadata_bytes);
    reply_kv_str(c, "index_state", "ready");
    reply_kv_str(c, "simd", vec_isa_name(vec_dist_current()));
    reply_kv_long(c, "searches", coll->searches);
    reply_kv_long(c, "exact_searches", coll->exact_searches);
    reply_kv_long(c, "filtered_scan", coll->filtered_scan);
    reply_kv_long(c, "filtered_graph", coll->filtered_graph);
    reply_kv_long(c, "filtered_fallback", coll->filtered_fallback);
}

/* ---------------- PH.SET / GET / PATCH ---------------- */

void phSetCommand(client *c) {
    resp_arg *k = &c->argv[1];
    collection *kcoll = coll_for_key(c->db, k->ptr, k->len);
    uint32_t want_dim = kcoll ? kcoll->dim : 0;
    float *vec = NULL;
    int dim = 0, nx = 0, xx = 0;
    json_t *meta = NULL;
    for (int i = 2; i < c->argc;) {
        if (arg_is(c, i, "vector") || arg_is(c, i, "values")) {
            if (vec) {
                add_reply_err_syntax(c);
                goto done;
            }
            dim = parse_vector(c, &i, &vec, want_dim);
            if (dim < 0) goto done;
        } else if (arg_is(c, i, "meta") && i + 1 < c->argc && !meta) {
            meta = parse_json_object(c, &c->argv[i + 1], "META");
            if (!meta) goto done;
            i += 2;
        } else if (arg_is(c, i, "nx")) {
            nx = 1;
            i++;
        } else if (arg_is(c, i, "xx")) {
            xx = 1;
            i++;
        } else {
            add_reply_err_syntax(c);
            goto done;
        }
    }
    if (nx && xx) {
        add_reply_error(c, "NX and XX options at the same time are not compatible");
        goto done;
    }
    collection *coll = coll_for_key(c->db, k->ptr, k->len);
    if (!coll) {
        add_reply_errorf(c, "key '%.*s' does not belong to any collection", (int)(k->len > 128 ? 128 : k->len), k->ptr);
        goto done;
    }
    if (vec && !coll->dim) {
        add_reply_errorf(c, "collection '%s' has no DIM: it holds no vectors", coll->name);
        goto done;
    }
    if (vec && check_vector(c, coll, vec, dim) < 0) goto done;
    int wrongtype;
    entity *e = lookup_entity(c, k, 1, &wrongtype);
    if (wrongtype) goto done;
    if ((nx && e) || (xx && !e)) {
        add_reply_null(c);
        goto done;
    }
    int created = 0;
    if (!e) {
        e = entity_new();
        if (vec) {
            e->vec = vec;
            e->dim = (uint32_t)dim;
            e->has_vec = 1;
            vec = NULL;
        }
        if (meta) {
            json_decref(e->meta);
            e->meta = meta;
            e->meta_bytes = (uint32_t)json_text_len(meta);
            meta = NULL;
        }
        if (coll_attach(coll, e) != 0) {
            add_reply_error(c, "the index refused the vector");
            pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
            entity_free_value(&tmp);
            goto done;
        }
        e->key = db_add(c->db, k->ptr, k->len, obj_new(OBJ_ENTITY, ENC_ENTITY, e));
        created = 1;
    } else {
        if (vec) {
            if (e->coll != coll) { /* detached entity under a new collection: cannot happen, keys stay put */
                add_reply_error(c, "entity is not in its collection");
                goto done;
            }
            int r;
            if (e->has_vec) r = index_update(coll, LABEL(e), vec);
            else r = index_insert(coll, LABEL(e), vec);
            if (r < 0) {
                add_reply_errorf(c, "the index refused the vector: %s", hnsw_strerror(r));
                goto done;
            }
            if (!e->has_vec) coll->vectors++;
            e->has_vec = 1;
            e->dim = (uint32_t)dim;
            if (coll->metric == HNSW_METRIC_COSINE) e->norm = (float)vec_norm(vec, (size_t)dim);
        }
        if (meta) {
            json_decref(e->meta);
            e->meta = meta;
            if (e->coll) e->coll->metadata_bytes -= e->meta_bytes;
            e->meta_bytes = (uint32_t)json_text_len(meta);
            if (e->coll) e->coll->metadata_bytes += e->meta_bytes;
            meta = NULL;
        }
    }
    server_incr_dirty(1);
    add_reply_long(c, created);
done:
    zfree(vec);
    if (meta) json_decref(meta);
}

static void reply_vector_blob(client *c, const entity *e) {
    if (!e->has_vec) {
        add_reply_null(c);
        return;
    }
    float *v = zmalloc(sizeof(float) * e->dim);
    entity_vector(e, v);
    add_reply_bulk(c, (const char *)v, sizeof(float) * e->dim);
    zfree(v);
}

static void reply_meta(client *c, const entity *e) {
    if (!e->meta) {
        add_reply_bulk(c, "{}", 2);
        return;
    }
    char *s = json_dumps(e->meta, JSON_COMPACT);
    add_reply_bulk_cstr(c, s ? s : "{}");
    if (s) json_zfree(s);
}

void phGetCommand(client *c) {
    int want_vec = 0, want_values = 0, want_meta = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "vector")) want_vec = 1;
        else if (arg_is(c, i, "values")) want_values = 1;
        else if (arg_is(c, i, "meta")) want_meta = 1;
        else if (arg_is(c, i, "edges")) {
            add_reply_error(c, "EDGES: the graph is not implemented yet in this version of Phenix");
            return;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (c->argc == 2) want_vec = want_meta = 1;
    int wrongtype;
    entity *e = lookup_entity(c, &c->argv[1], 0, &wrongtype);
    if (wrongtype) return;
    if (!e) {
        add_reply_null(c);
        return;
    }
    add_reply_map_len(c, want_vec + want_values + want_meta);
    if (want_vec) {
        add_reply_bulk_cstr(c, "vector");
        reply_vector_blob(c, e);
    }
    if (want_values) {
        add_reply_bulk_cstr(c, "values");
        if (!e->has_vec) {
            add_reply_null(c);
        } else {
            float *v = zmalloc(sizeof(float) * e->dim);
            entity_vector(e, v);
            add_reply_array_len(c, e->dim);
            for (uint32_t i = 0; i < e->dim; i++) add_reply_double(c, v[i]);
            zfree(v);
        }
    }
    if (want_meta) {
        add_reply_bulk_cstr(c, "meta");
        reply_meta(c, e);
    }
}

/* RFC 7386 JSON merge patch applied to target (an object) in place. */
static void merge_patch(json_t *target, json_t *patch) {
    const char *key;
    json_t *val;
    json_object_foreach(patch, key, val) {
        if (json_is_null(val)) {
            json_object_del(target, key);
        } else if (json_is_object(val)) {
            json_t *cur = json_object_get(target, key);
            if (!json_is_object(cur)) {
                cur = json_object();
                json_object_set_new(target, key, cur);
            }
            merge_patch(cur, val);
        } else {
            json_object_set(target, key, val);
        }
    }
}

void phPatchCommand(client *c) {
    int wrongtype;
    entity *e = lookup_entity(c, &c->argv[1], 1, &wrongtype);
    if (wrongtype) return;
    if (!e) {
        add_reply_error(c, "no such key");
        return;
    }
    json_error_t jerr;
    json_t *patch = json_loadb(c->argv[2].ptr, c->argv[2].len, 0, &jerr);
    if (!patch) {
        add_reply_errorf(c, "patch is not valid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return;
    }
    if (!json_is_object(patch)) {
        /* RFC 7386: a non-object patch replaces the target; metadata must stay an object */
        add_reply_error(c, "patch must be a JSON object (the metadata is an object)");
        json_decref(patch);
        return;
    }
    if (!e->meta) e->meta = json_object();
    merge_patch(e->meta, patch);
    json_decref(patch);
    if (e->coll) e->coll->metadata_bytes -= e->meta_bytes;
    e->meta_bytes = (uint32_t)json_text_len(e->meta);
    if (e->coll) e->coll->metadata_bytes += e->meta_bytes;
    server_incr_dirty(1);
    add_reply_ok(c);
}

/* ---------------- PH.SEARCH ---------------- */

typedef struct search_ctx {
    collection *coll;
    const filter_expr *filter; /* FILTER, or NULL */
    db *db;
    int64_t now_ms;
    uint64_t exclude; /* LIKE: the query entity's label (0: none) */
    int64_t deadline_us;
    uint32_t calls;
    int timed_out;
} search_ctx;

/* Accepts a label unless it is the LIKE entity, or an entity that has
 * expired but was not deleted yet, or the deadline passed (FLAT scans). */
static int accept_label(uint64_t label, void *p) {
    search_ctx *s = p;
    if (label == s->exclude) return 0;
    if (s->deadline_us && (++s->calls & 255) == 0 && util_monotonic_us() > s->deadline_us) s->timed_out = 1;
    if (s->timed_out) return 0;
    if (dict_size(s->db->expires)) {
        dict_entry *x = dict_find(s->db->expires, ENTITY_OF(label)->key);
        if (x && x->v.s64 <= s->now_ms) return 0;
    }
    if (s->filter && !filter_eval(s->filter, ENTITY_OF(label)->meta)) return 0;
    return 1;
}

static bool accept_label_bool(uint64_t label, void *p) { return accept_label(label, p) != 0; }

typedef struct search_opts {
    size_t k, ef;
    int exact, withscores, withmeta, withvectors;
    double radius;
    int has_radius;
    long long timeout_ms;
    int ret_first, ret_count; /* RETURN paths: argv[ret_first .. +ret_count) */
    filter_expr *filter;      /* FILTER, owned */
    filter_path **ret;        /* RETURN paths parsed, owned (ret_count of them) */
} search_opts;

static void search_opts_free(search_opts *o) {
    filter_free(o->filter);
    for (int r = 0; r < o->ret_count; r++) filter_path_free(o->ret[r]);
    zfree(o->ret);
}

static int parse_search_opts(client *c, int i, collection *coll, search_opts *o) {
    memset(o, 0, sizeof(*o));
    o->k = 10;
    o->ef = coll->ef_runtime;
    for (; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        long long v;
        if (arg_is(c, i, "k") && more) {
            if (arg_long_range(c, ++i, 1, MAX_K, &v, "K must be between 1 and 10000") < 0) return -1;
            o->k = (size_t)v;
        } else if (arg_is(c, i, "ef") && more) {
            if (arg_long_range(c, ++i, 1, MAX_EF, &v, "EF must be between 1 and 65536") < 0) return -1;
            o->ef = (size_t)v;
        } else if (arg_is(c, i, "exact")) {
            o->exact = 1;
        } else if (arg_is(c, i, "radius") && more) {
            if (!util_str2d(c->argv[i + 1].ptr, c->argv[i + 1].len, &o->radius) || isnan(o->radius)) {
                add_reply_error(c, "RADIUS must be a number");
                return -1;
            }
            o->has_radius = 1;
            i++;
        } else if (arg_is(c, i, "timeout") && more) {
            if (arg_long_range(c, ++i, 0, LLONG_MAX, &o->timeout_ms, "TIMEOUT must be a non-negative number of milliseconds") < 0)
                return -1;
        } else if (arg_is(c, i, "withscores")) {
            o->withscores = 1;
        } else if (arg_is(c, i, "withmeta")) {
            o->withmeta = 1;
        } else if (arg_is(c, i, "withvectors")) {
            o->withvectors = 1;
        } else if (arg_is(c, i, "return") && more && !o->ret) {
            o->ret_first = i + 1;
            while (i + 1 < c->argc && c->argv[i + 1].len && c->argv[i + 1].ptr[0] == '.') {
                o->ret_count++;
                i++;
            }
            if (!o->ret_count) {
                add_reply_error(c, "RETURN needs one or more paths such as .title or .author.name");
                return -1;
            }
            o->ret = zcalloc(sizeof(filter_path *) * (size_t)o->ret_count);
            for (int r = 0; r < o->ret_count; r++) {
                resp_arg *pa = &c->argv[o->ret_first + r];
                char err[256];
                o->ret[r] = filter_path_parse(pa->ptr, pa->len, err, sizeof(err), NULL);
                if (!o->ret[r]) {
                    add_reply_errorf(c, "RETURN path '%.*s': %s", (int)(pa->len > 64 ? 64 : pa->len), pa->ptr, err);
                    return -1;
                }
            }
        } else if (arg_is(c, i, "filter") && more) {
            char err[256];
            size_t pos = 0;
            filter_free(o->filter);
            o->filter = filter_compile(c->argv[i + 1].ptr, c->argv[i + 1].len, err, sizeof(err), &pos);
            if (!o->filter) {
                add_reply_errorf(c, "FILTER %s", err);
                return -1;
            }
            i++;
        } else if (arg_is(c, i, "expand")) {
            add_reply_errorf(c, "%.*s is not implemented yet in this version of Phenix", (int)c->argv[i].len, c->argv[i].ptr);
            return -1;
        } else {
            add_reply_err_syntax(c);
            return -1;
        }
    }
    if (o->ef < o->k) o->ef = o->k;
    return 0;
}

static void reply_results(client *c, collection *coll, search_opts *o, uint64_t *labels, float *dists, int n) {
    int rich = o->withscores || o->withmeta || o->withvectors || o->ret_count;
    void *h = add_reply_deferred_len(c);
    long long out = 0;
    for (int i = 0; i < n; i++) {
        double score = score_of(coll, dists[i]);
        if (o->has_radius && score > o->radius) continue;
        entity *e = ENTITY_OF(labels[i]);
        out++;
        if (!rich) {
            add_reply_bulk(c, e->key, ds_len(e->key));
            continue;
        }
        add_reply_map_len(c, 1 + o->withscores + o->withmeta + o->withvectors + o->ret_count);
        reply_kv_str(c, "key", e->key);
        if (o->withscores) {
            add_reply_bulk_cstr(c, "score");
            add_reply_double(c, score);
        }
        if (o->withmeta) {
            add_reply_bulk_cstr(c, "meta");
            reply_meta(c, e);
        }
        if (o->withvectors) {
            add_reply_bulk_cstr(c, "vector");
            reply_vector_blob(c, e);
        }
        for (int r = 0; r < o->ret_count; r++) {
            resp_arg *p = &c->argv[o->ret_first + r];
            add_reply_bulk(c, p->ptr, p->len);
            const json_t *v = filter_path_get(o->ret[r], e->meta);
            if (!v) {
                add_reply_null(c);
            } else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                add_reply_bulk_cstr(c, s ? s : "null");
                if (s) json_zfree(s);
            }
        }
    }
    set_deferred_array_len(c, h, out);
}

/* Collections this small are always scanned when filtered. */
#define SCAN_MAX_SMALL 10000
/* Scan when the estimated matches are at most this many per EF. */
#define SCAN_MATCHES_PER_EF 50.0
#define SELECTIVITY_SAMPLES 256

/* Exact top k of the accepted vectors of an HNSW or FLAT collection. */
static int exact_scan(collection *coll, const float *q, size_t k, search_ctx *sctx, uint64_t *labels, float *dists) {
    if (coll->flat) return flat_search(coll->flat, q, k, accept_label, sctx, labels, dists);
    uint32_t cnt = hnsw_count(coll->hnsw);
    float *qq = zmalloc(sizeof(float) * coll->dim);
    memcpy(qq, q, sizeof(float) * coll->dim);
    if (coll->metric == HNSW_METRIC_COSINE) vec_normalize(qq, coll->dim);
    flat_topk t;
    flat_topk_init(&t, k);
    for (uint32_t s = 0; s < cnt; s++) {
        uint64_t label = hnsw_label_at(coll->hnsw, s);
        if (!accept_label(label, sctx)) continue;
        const float *v = hnsw_vector_at(coll->hnsw, s);
        flat_topk_push(&t, label, coll->metric == HNSW_METRIC_L2 ? vec_l2sq(qq, v, coll->dim) : 1.0f - vec_dot(qq, v, coll->dim));
    }
    zfree(qq);
    return (int)flat_topk_finish(&t, labels, dists);
}

/* Fraction of the collection's vectors whose metadata matches f, estimated
 * from up to SELECTIVITY_SAMPLES entities spread evenly over the index's
 * dense slots (a systematic sample), with add-one smoothing. */
static double estimate_selectivity(collection *coll, const filter_expr *f) {
    uint32_t cnt = coll->hnsw ? hnsw_count(coll->hnsw) : 0;
    if (!cnt) return 0;
    uint32_t samples = cnt < SELECTIVITY_SAMPLES ? cnt : SELECTIVITY_SAMPLES, hits = 0;
    for (uint32_t i = 0; i < samples; i++) {
        uint32_t slot = (uint32_t)((uint64_t)i * cnt / samples);
        hits += (uint32_t)filter_eval(f, ENTITY_OF(hnsw_label_at(coll->hnsw, slot))->meta);
    }
    return ((double)hits + 0.5) / ((double)samples + 1.0);
}

void phSearchCommand(client *c) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    if (!coll->dim) {
        add_reply_errorf(c, "collection '%s' has no DIM: it holds no vectors", coll->name);
        return;
    }
    int i = 2, dim;
    float *q = NULL;
    search_ctx sctx = {.coll = coll, .db = c->db, .now_ms = server_mstime()};
    if (arg_is(c, 2, "like")) {
        int wrongtype;
        entity *e = lookup_entity(c, &c->argv[3], 0, &wrongtype);
        if (wrongtype) return;
        if (!e || !e->has_vec || e->coll != coll) {
            add_reply_errorf(c, "LIKE needs an entity of collection '%s' that has a vector", coll->name);
            return;
        }
        q = zmalloc(sizeof(float) * coll->dim);
        entity_vector(e, q);
        dim = (int)coll->dim;
        sctx.exclude = LABEL(e);
        i = 4;
    } else {
        dim = parse_vector(c, &i, &q, coll->dim);
        if (dim < 0) return;
        if (dim == 0) {
            add_reply_error(c, "PH.SEARCH needs VECTOR, VALUES or LIKE after the collection name");
            return;
        }
        if (check_vector(c, coll, q, dim) < 0) {
            zfree(q);
            return;
        }
    }
    search_opts o;
    if (parse_search_opts(c, i, coll, &o) < 0) {
        search_opts_free(&o);
        zfree(q);
        return;
    }
    sctx.filter = o.filter;
    int64_t start = util_monotonic_us();
    if (o.timeout_ms) sctx.deadline_us = start + o.timeout_ms * 1000;
    uint64_t *labels = zmalloc(sizeof(uint64_t) * o.k);
    float *dists = zmalloc(sizeof(float) * o.k);
    int n;
    coll->searches++;
    int exact = coll->flat || o.exact;
    if (!exact && o.filter) {
        /* the planner: scan the matches exactly when they are few, walk the
         * graph with the filter when they are many */
        double sel = estimate_selectivity(coll, o.filter);
        double matches = sel * (double)coll->vectors;
        if (coll->vectors <= SCAN_MAX_SMALL || matches <= SCAN_MATCHES_PER_EF * (double)o.ef) {
            exact = 1;
            coll->filtered_scan++;
        } else {
            coll->filtered_graph++;
        }
    }
    if (exact) {
        coll->exact_searches++;
        n = exact_scan(coll, q, o.k, &sctx, labels, dists);
    } else {
        hnsw_search_params sp = {.k = o.k, .ef = o.ef, .filter = NULL, .filter_ctx = &sctx, .max_distances = 0};
        if (sctx.exclude || sctx.filter || dict_size(c->db->expires)) sp.filter = accept_label_bool;
        if (o.timeout_ms && coll->ns_per_distance > 0)
            sp.max_distances = (uint64_t)((double)o.timeout_ms * 1e6 / coll->ns_per_distance) + 1;
        hnsw_search_stats st;
        n = hnsw_search_ex(coll->hnsw, coll->scratch, q, &sp, labels, dists, &st);
        int64_t took = util_monotonic_us() - start;
        if (st.distances > 100) {
            double ns = (double)took * 1000.0 / (double)st.distances;
            coll->ns_per_distance = coll->ns_per_distance > 0 ? 0.9 * coll->ns_per_distance + 0.1 * ns : ns;
        }
        if (n < 0) {
            add_reply_errorf(c, "search failed: %s", hnsw_strerror(n));
            goto done;
        }
        if (sctx.filter && (size_t)n < o.k && !sctx.timed_out && !st.budget_exhausted) {
            /* the filtered walk ended short: K matches may still exist */
            coll->filtered_fallback++;
            n = exact_scan(coll, q, o.k, &sctx, labels, dists);
        }
    }
    reply_results(c, coll, &o, labels, dists, n);
done:
    search_opts_free(&o);
    zfree(labels);
    zfree(dists);
    zfree(q);
}

/* ---------------- persistence (serial.c, snapshot.c) ----------------
 *
 * An entity record: u8 flags (1 has a vector, 2 the vector is in the
 * collection's HNSW graph section of the snapshot), then with a vector its
 * dim and either the f32 norm (in graph: the graph holds the stored unit
 * or raw vector exactly) or the dim floats as given; then the metadata as
 * compact JSON text ("" for {}). Entities whose vector is in the graph are
 * attached without an insert; entities with an inline vector bound for an
 * HNSW collection wait (detached, on the collection's pending list) until
 * that collection's graph is imported, so the import never overwrites
 * them. entity_load_finish_db attaches them. */

#define ENT_F_VEC 1
#define ENT_F_IN_GRAPH 2

void entity_encode(ds *out, const pobj *o, int mode) {
    const entity *e = o->v.p;
    int in_graph = mode == SER_MODE_SNAPSHOT && e->has_vec && attached(e) && e->coll->hnsw;
    ser_put_u8(out, (uint8_t)((e->has_vec ? ENT_F_VEC : 0) | (in_graph ? ENT_F_IN_GRAPH : 0)));
    if (e->has_vec) {
        ser_put_varint(out, e->dim);
        if (in_graph) {
            ser_put_f32s(out, &e->norm, 1);
        } else {
            float *v = zmalloc(sizeof(float) * e->dim);
            entity_vector(e, v);
            ser_put_f32s(out, v, e->dim);
            zfree(v);
        }
    }
    if (!e->meta) {
        ser_put_bytes(out, "", 0);
    } else {
        size_t n = json_text_len(e->meta);
        char *buf = zmalloc(n + 1);
        json_dumpb(e->meta, buf, n, JSON_COMPACT);
        ser_put_bytes(out, buf, n);
        zfree(buf);
    }
}

typedef struct pending_attach {
    entity *e;
    struct pending_attach *next;
} pending_attach;
static pending_attach *pending_attaches;

pobj *entity_decode(ser_reader *r, db *d, const char *key, size_t klen, int mode, const char **err) {
    uint8_t flags;
    uint64_t dim = 0;
    float norm = 1.0f, *vec = NULL;
    *err = "Bad data format";
    if (!ser_get_u8(r, &flags) || (flags & ~(ENT_F_VEC | ENT_F_IN_GRAPH))) return NULL;
    if ((flags & ENT_F_IN_GRAPH) && (mode != SER_MODE_SNAPSHOT || !(flags & ENT_F_VEC))) return NULL;
    if (flags & ENT_F_VEC) {
        if (!ser_get_varint(r, &dim) || dim < 1 || dim > HNSW_MAX_DIM) return NULL;
        if (flags & ENT_F_IN_GRAPH) {
            if (!ser_get_f32s(r, &norm, 1) || !isfinite(norm)) return NULL;
        } else {
            if (ser_remaining(r) < dim * 4) return NULL;
            vec = zmalloc(sizeof(float) * dim);
            ser_get_f32s(r, vec, dim);
            for (uint64_t i = 0; i < dim; i++)
                if (!isfinite(vec[i])) goto bad;
        }
    }
    const char *mj;
    size_t mlen;
    if (!ser_get_bytes(r, &mj, &mlen)) goto bad;
    json_t *meta = NULL;
    if (mlen) {
        json_error_t jerr;
        meta = json_loadb(mj, mlen, 0, &jerr);
        if (!meta || !json_is_object(meta)) {
            json_decref(meta);
            goto bad;
        }
        if (json_object_size(meta) == 0) {
            json_decref(meta);
            meta = NULL;
        }
    }
    entity *e = entity_new();
    e->meta = meta;
    e->meta_bytes = meta ? (uint32_t)json_text_len(meta) : 2;
    e->dim = (uint32_t)dim;
    e->has_vec = (flags & ENT_F_VEC) != 0;
    e->vec = vec;
    collection *c = coll_for_key(d, key, klen);
    if (flags & ENT_F_IN_GRAPH) {
        if (!c || !c->hnsw || c->dim != dim) {
            *err = "an entity's vector is in a graph its collection does not have";
            pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
            entity_free_value(&tmp);
            return NULL;
        }
        /* attached now; its node comes with the collection's graph */
        e->norm = norm;
        e->coll = c;
        e->epoch = c->epoch;
        c->entities++;
        c->vectors++;
        c->metadata_bytes += e->meta_bytes;
    } else if (c && mode == SER_MODE_SNAPSHOT && c->hnsw && e->has_vec) {
        pending_attach *p = zmalloc(sizeof(*p));
        p->e = e;
        p->next = pending_attaches;
        pending_attaches = p;
    } else if (c && coll_attach(c, e) != 0) {
        *err = e->has_vec && e->dim != c->dim ? "the entity's vector does not fit its collection's DIM"
                                              : "the entity could not be indexed";
        pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
        entity_free_value(&tmp);
        return NULL;
    }
    return obj_new(OBJ_ENTITY, ENC_ENTITY, e);
bad:
    zfree(vec);
    return NULL;
}

void entity_set_key(pobj *o, ds key) { entity_key_changed(o, key); }

int entity_load_finish(void) {
    int rc = 0;
    while (pending_attaches) {
        pending_attach *p = pending_attaches;
        pending_attaches = p->next;
        /* the key may have been replaced since (log replay): only a value
         * still detached with its own vector is attached */
        if (p->e->coll == NULL && p->e->key) {
            db *d = NULL;
            for (int i = 0; i < server.dbnum && !d; i++) {
                dict_entry *de = ds_dict_find(server.dbs[i].keys, p->e->key, ds_len(p->e->key));
                if (de && ((pobj *)de->v.val)->v.p == p->e) d = &server.dbs[i];
            }
            collection *c = d ? coll_for_key(d, p->e->key, ds_len(p->e->key)) : NULL;
            if (c && coll_attach(c, p->e) != 0) rc = -1;
        }
        zfree(p);
    }
    for (int i = 0; i < server.dbnum; i++)
        for (int k = 0; k < server.dbs[i].ncolls; k++) {
            collection *c = server.dbs[i].colls[k];
            if (c->hnsw && (long long)hnsw_count(c->hnsw) != c->vectors) rc = -1;
        }
    return rc;
}

void entity_load_abort(void) {
    while (pending_attaches) {
        pending_attach *p = pending_attaches;
        pending_attaches = p->next;
        zfree(p);
    }
}

/* Collections of d with the PH.CREATE arguments that recreate them. */
int entity_collection_count(db *d) { return d->ncolls; }

void entity_collection_args(db *d, int i, ds *out) {
    collection *c = d->colls[i];
    ds a[16];
    int n = 0;
    a[n++] = ds_new(c->name, ds_len(c->name));
    a[n++] = ds_from_cstr("PREFIX");
    a[n++] = ds_new(c->prefix, ds_len(c->prefix));
    if (c->dim) {
        a[n++] = ds_from_cstr("DIM");
        a[n++] = ds_catfmt(ds_empty(8), "%u", c->dim);
        a[n++] = ds_from_cstr("METRIC");
        a[n++] = ds_from_cstr(metric_name(c->metric));
        a[n++] = ds_from_cstr("INDEX");
        a[n++] = ds_from_cstr(c->index == INDEX_FLAT ? "FLAT" : "HNSW");
        a[n++] = ds_from_cstr("M");
        a[n++] = ds_catfmt(ds_empty(8), "%u", c->M);
        a[n++] = ds_from_cstr("EF_CONSTRUCTION");
        a[n++] = ds_catfmt(ds_empty(8), "%u", c->ef_construction);
        a[n++] = ds_from_cstr("EF_RUNTIME");
        a[n++] = ds_catfmt(ds_empty(8), "%u", c->ef_runtime);
    }
    ser_put_varint(out, (uint64_t)n);
    for (int k = 0; k < n; k++) {
        ser_put_bytes(out, a[k], ds_len(a[k]));
        ds_free(a[k]);
    }
}

/* The HNSW graph of collection i of d, if it has one: name, graph info,
 * then every node (key, level, vector, links per level). Returns 0 when
 * the collection has no graph (nothing written). */
int entity_collection_graph(db *d, int i, ds *out) {
    collection *c = d->colls[i];
    if (!c->hnsw) return 0;
    hnsw_graph_info gi;
    hnsw_export_info(c->hnsw, &gi);
    ser_put_bytes(out, c->name, ds_len(c->name));
    ser_put_u32(out, gi.params.dim);
    ser_put_u8(out, (uint8_t)gi.params.metric);
    ser_put_u32(out, gi.params.M);
    ser_put_u32(out, gi.params.ef_construction);
    ser_put_u64(out, gi.params.seed);
    ser_put_u32(out, gi.count);
    ser_put_u32(out, gi.entry);
    ser_put_u32(out, (uint32_t)gi.max_level);
    ser_put_u64(out, gi.rng_state);
    for (uint32_t s = 0; s < gi.count; s++) {
        hnsw_node_view nv;
        hnsw_export_node(c->hnsw, s, &nv);
        entity *e = ENTITY_OF(nv.label);
        ser_put_bytes(out, e->key, ds_len(e->key));
        ser_put_u8(out, (uint8_t)nv.level);
        ser_put_f32s(out, nv.vector, gi.params.dim);
        for (uint32_t l = 0; l <= nv.level; l++) {
            ser_put_varint(out, nv.nlinks[l]);
            for (uint32_t k = 0; k < nv.nlinks[l]; k++) ser_put_varint(out, nv.links[l][k]);
        }
    }
    return 1;
}

int entity_import_graph(db *d, ser_reader *r, const char **err) {
    const char *name;
    size_t nlen;
    hnsw_graph_info gi;
    uint8_t metric;
    uint32_t ml;
    *err = "bad graph section";
    ser_get_bytes(r, &name, &nlen);
    ser_get_u32(r, &gi.params.dim);
    ser_get_u8(r, &metric);
    ser_get_u32(r, &gi.params.M);
    ser_get_u32(r, &gi.params.ef_construction);
    ser_get_u64(r, &gi.params.seed);
    ser_get_u32(r, &gi.count);
    ser_get_u32(r, &gi.entry);
    ser_get_u32(r, &ml);
    if (!ser_get_u64(r, &gi.rng_state)) return -1;
    gi.params.metric = (hnsw_metric)metric;
    gi.max_level = (int32_t)ml;
    collection *c = coll_find(d, name, nlen);
    if (!c || !c->hnsw || c->dim != gi.params.dim || c->metric != gi.params.metric || c->M != gi.params.M) {
        *err = "a graph section does not match its collection";
        return -1;
    }
    if ((long long)gi.count != c->vectors) {
        *err = "a graph's node count differs from its collection's entities";
        return -1;
    }
    hnsw_index *h = NULL;
    if (hnsw_import_begin(&gi, &h) != HNSW_OK) {
        hnsw_free(h);
        return -1;
    }
    float *vec = zmalloc(sizeof(float) * gi.params.dim);
    uint32_t *links = zmalloc(sizeof(uint32_t) * (2 * (size_t)HNSW_MAX_M + 1) * (HNSW_MAX_LEVEL + 1));
    int rc = 0;
    for (uint32_t s = 0; s < gi.count && rc == 0; s++) {
        hnsw_node_view nv;
        memset(&nv, 0, sizeof(nv));
        const char *k;
        size_t kl;
        uint8_t level;
        ser_get_bytes(r, &k, &kl);
        ser_get_u8(r, &level);
        if (!ser_get_f32s(r, vec, gi.params.dim) || level > HNSW_MAX_LEVEL) {
            rc = -1;
            break;
        }
        dict_entry *de = ds_dict_find(d->keys, k, kl);
        pobj *o = de ? de->v.val : NULL;
        entity *e = o && o->type == OBJ_ENTITY ? o->v.p : NULL;
        if (!e || e->coll != c || !e->has_vec) {
            *err = "a graph node names a key that is not an entity of its collection";
            rc = -1;
            break;
        }
        nv.label = LABEL(e);
        nv.level = level;
        nv.vector = vec;
        uint32_t *at = links;
        for (uint32_t l = 0; l <= level && rc == 0; l++) {
            uint64_t n;
            if (!ser_get_varint(r, &n) || n > 2 * (uint64_t)HNSW_MAX_M) {
                rc = -1;
                break;
            }
            nv.nlinks[l] = (uint32_t)n;
            nv.links[l] = at;
            for (uint64_t x = 0; x < n; x++) {
                uint64_t v;
                if (!ser_get_varint(r, &v) || v >= gi.count) {
                    rc = -1;
                    break;
                }
                *at++ = (uint32_t)v;
            }
        }
        if (rc == 0 && hnsw_import_node(h, &nv) != HNSW_OK) {
            *err = "a graph failed validation (links, levels or vectors)";
            rc = -1;
        }
    }
    if (rc == 0 && hnsw_import_finish(h) != HNSW_OK) {
        *err = "a graph failed validation (links, levels or entry point)";
        rc = -1;
    }
    zfree(vec);
    zfree(links);
    if (rc != 0) {
        hnsw_free(h);
        return -1;
    }
    hnsw_free(c->hnsw);
    c->hnsw = h;
    return 0;
}

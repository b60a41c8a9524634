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
 *    collection) means the entity keeps its own vector, in the side table
 *    of detached vectors (own_vec_of); an entity with e->coll set has none
 *    there;
 *  - e->meta is NULL for the empty object {} (saves an empty hash table
 *    per entity that has no metadata);
 *  - e->key equals the keyspace name of the entity (kept on RENAME), so a
 *    search can name its results;
 *  - every FIELD index of a collection holds exactly the values of its
 *    attached entities' metadata at the field's path, except that a field
 *    whose background build is running may still miss entities it has not
 *    reached (see "field indexes" below; the planner ignores it meanwhile).
 * The keyspace calls back through entity_type_ops.free (DEL, overwrite,
 * expiry, FLUSH), and through the entity_* hooks for RENAME, COPY and
 * FLUSH, so no path leaves an index pointing at a missing entity. A
 * lazily-expired entity (expired but not yet deleted) is skipped by the
 * search filter, so it is never returned.
 *
 * Vectors are stored once, inside the index (COSINE: normalized, with the
 * norm kept in the entity so PH.GET returns norm x unit vector); a QUANT
 * ... ONDISK collection keeps them in its vector file (vecfile.c) instead,
 * the index holding only codes, and each attached entity knows its record.
 *
 * Complexity: PH.SET is an HNSW insert (O(log N) expected), PH.SEARCH an
 * HNSW search (about O(ef log N)) or an O(N dim) scan with EXACT/FLAT.
 *
 * FILTER: a cost-based planner (planner.c; the section "the filtered-search
 * planner" below) runs a filtered search as an index scan, a full scan, an
 * ACORN walk (hnsw.c) or an over-fetching post-filter walk, with an exact
 * fallback when a walk ends short; PH.EXPLAIN shows the plan.
 *
 * TIMEOUT: HNSW searches get a budget of distance computations derived from
 * the measured cost of one distance in this collection (an average kept
 * per collection); scans and filtered walks check the clock as they go.
 *
 * JSON comes from Debian's libjansson (parsed trees with hashed objects and
 * 64-bit integers; deps/README.md says why); its allocations go through
 * zmalloc so used_memory counts them. The merge patch is RFC 7386. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>

#include "fieldidx.h"
#include "filter.h"
#include "flat.h"
#include "hnsw.h"
#include "ivfpq.h"
#include "persist.h"
#include "planner.h"
#include "quant.h"
#include "serial.h"
#include "server.h"
#include "vec_dist.h"
#include "vecfile.h"

#define MAX_K 10000
#define MAX_EF 65536
#define MAX_COLLECTIONS 1024

long long acorn_entry_points = 64;
int planner_force = -1;
_Static_assert(HNSW_MAX_ENTRIES == 64, "config acorn-entry-points allows 0..64");

enum { INDEX_HNSW = 0, INDEX_FLAT = 1, INDEX_IVFPQ = 2 };

typedef struct ivf_job ivf_job;

typedef struct entity entity;
typedef struct coll_field coll_field;

typedef struct collection {
    ds name, prefix;
    db *db;
    uint32_t dim; /* 0: no vectors */
    hnsw_metric metric;
    int index;
    uint32_t M, ef_construction, ef_runtime;
    hnsw_quant quant;  /* QUANT: HNSW walks on Q8 or BIN codes */
    int no_exact;      /* QUANT ... NOEXACT or ONDISK: no fp32 vectors in the index */
    int ondisk;        /* QUANT ... ONDISK */
    vecfile *vf;       /* QUANT ... ONDISK: the exact vectors (unit length for COSINE) */
    uint32_t rescore;  /* RESCORE: default over-fetch of quantized walks */
    float *decoded;    /* NOEXACT, ONDISK, IVFPQ: one vector read back (coll_get_vector) */
    uint32_t nlist, pq_m, nprobe; /* INDEX IVFPQ */
    ivfpq_index *ivf;
    ivf_job *job;      /* IVFPQ: the training under way, or NULL */
    long long trainings;
    size_t train_retry_at; /* after a failed training: retry once this many vectors exist */
    hnsw_index *hnsw;
    flat_index *flat;
    hnsw_scratch *scratch;
    uint32_t epoch;     /* bumped by FLUSH: entities of older epochs are not indexed */
    long long entities; /* entities attached in the current epoch */
    long long edges;    /* edges leaving them (kept by t_graph.c's hook) */
    long long vectors;
    long long metadata_bytes;
    long long searches, exact_searches;
    long long filtered_scan, filtered_graph, filtered_fallback; /* FILTER plans */
    long long filtered_index_scan, filtered_full_scan, filtered_acorn, filtered_postfilter;
    double ns_per_distance; /* measured average, for TIMEOUT budgets */
    double ns_per_check;    /* measured filter evaluation, for the planner */
    double plan_factor[PLAN_COUNT]; /* measured / predicted time per strategy */
    double post_fallback; /* fraction of POSTFILTER walks finished by ACORN */
    double graph_distances_per_ef; /* distances of unfiltered walks / EF */
    coll_field *fields;     /* FIELD indexes */
    int nfields;
} collection;

/* 48 bytes, one allocator class below 64: per entity, what is not needed
 * while attached lives elsewhere. The dimension is the collection's (a
 * detached entity's own vector carries its own, own_vec), the size of the
 * metadata text is measured when needed (entity_meta_bytes). */
struct entity {
    collection *coll;
    ds key;       /* borrowed: the keyspace's own key string */
    json_t *meta; /* NULL means {} */
    struct graph_node *edges; /* t_graph.c: NULL while the entity has no edges */
    float norm;   /* COSINE: norm of the vector given */
    uint32_t epoch : 31; /* coll->epoch when attached */
    uint32_t has_vec : 1;
    uint32_t ix_pos; /* attached: where the index keeps the vector, its HNSW slot (hnsw_locator) or its
                        IVF-PQ list (ivfpq_locator); HNSW_NONE = IVFPQ_NO_LIST otherwise */
    uint32_t disk_rec; /* ONDISK collection, attached: record of the exact vector in coll->vf */
};

#define EPOCH_MASK 0x7fffffffu /* collection epochs wrap within entity.epoch's 31 bits */

_Static_assert(HNSW_NONE == IVFPQ_NO_LIST, "one 'nowhere' value for entity.ix_pos");
_Static_assert(sizeof(struct entity) == 48, "an entity is 48 bytes");

/* An entity's label in its collection's index is its own address: a search
 * result leads straight to the entity, with no label map to keep. This is
 * safe because an entity leaves the index before its memory is freed. */
#define LABEL(e) ((uint64_t)(uintptr_t)(e))
#define ENTITY_OF(label) ((entity *)(uintptr_t)(label))

/* 1 when e is in its collection's current index generation. */
static inline int attached(const entity *e) { return e->coll && e->epoch == e->coll->epoch; }

/* ---- vectors of detached entities ----
 * An entity out of every collection (e->coll NULL: its collection was
 * dropped, or it was copied, restored or loaded outside one) keeps its own
 * vector here, under its address, with the vector's dimension. Entities in
 * a collection, nearly all of them, pay nothing for it. */
typedef struct own_vec {
    uint32_t dim;
    float v[];
} own_vec;

static dict *own_vecs;

static uint64_t own_vec_hash(const void *k) {
    uintptr_t p = (uintptr_t)k;
    return dict_hash_bytes(&p, sizeof(p));
}
static int own_vec_eq(const void *a, const void *b) { return a == b; }
static void own_vec_free(void *v) { zfree(v); }
static const dict_type own_vec_type = {own_vec_hash, own_vec_eq, NULL, own_vec_free};

/* e's own vector, or NULL (attached, or no vector). */
static own_vec *own_vec_of(const entity *e) {
    if (!own_vecs || e->coll || !e->has_vec) return NULL;
    dict_entry *de = dict_find(own_vecs, e);
    return de ? dict_entry_val(de) : NULL;
}

/* Gives detached e a copy of v[0..dim) as its own vector (replacing any). */
static void own_vec_set(entity *e, const float *v, uint32_t dim) {
    own_vec *o = zmalloc(sizeof(*o) + sizeof(float) * dim);
    o->dim = dim;
    memcpy(o->v, v, sizeof(float) * dim);
    if (!own_vecs) own_vecs = dict_create(&own_vec_type);
    dict_entry *old = NULL, *de = dict_add_raw(own_vecs, e, &old);
    if (de) {
        dict_entry_set_val(de, o);
    } else {
        zfree(dict_entry_val(old));
        dict_entry_set_val(old, o);
    }
}

static void own_vec_drop(entity *e) {
    if (!own_vecs || !dict_delete(own_vecs, e)) return;
    if (dict_size(own_vecs) == 0) { /* all attached again (or freed): no table left behind */
        dict_release(own_vecs);
        own_vecs = NULL;
    } else {
        dict_maybe_shrink(own_vecs);
    }
}

/* The dimension of e's vector (0 without one). */
static uint32_t entity_dim(const entity *e) {
    if (!e->has_vec) return 0;
    if (e->coll) return e->coll->dim;
    const own_vec *o = own_vec_of(e);
    return o ? o->dim : 0;
}

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

/* Bytes of e's metadata as compact JSON text (2 for {}), what a
 * collection's metadata_bytes adds up: measured when needed, O(size of
 * the metadata), rather than kept in every entity. */
static long long entity_meta_bytes(const entity *e) { return e->meta ? (long long)json_text_len(e->meta) : 2; }

/* Converts an index distance to the documented score. */
static double score_of(const collection *c, float d) {
    if (c->metric == HNSW_METRIC_L2) return sqrt(d > 0 ? d : 0);
    return d;
}

/* ---------------- IVF-PQ training ----------------
 *
 * An IVFPQ collection answers exactly until it holds ivfpq_min_train
 * vectors. Then the main thread copies a sample and queues a job for the
 * training thread: one thread for the whole server, started with the first
 * job, one job at a time (training is rare and long; two jobs on two cores
 * would starve the event loop). The thread reads only its job's sample and
 * writes only the job's model, result and progress (atomics). The main
 * thread polls the jobs from a 10 ms timer, installs a finished model, and
 * then encodes the pending vectors a bounded slice per tick
 * (ivfpq_encode_step), so the loop never stalls; searches meanwhile scan
 * the lists plus the pending vectors exactly. A collection freed, dropped
 * or flushed abandons its job (cancel flag, coll = NULL); the timer frees
 * abandoned jobs once the thread is done with them. */
struct ivf_job {
    ivfpq_params params;
    float *sample;
    size_t n;
    ivfpq_progress prog;
    ivfpq_model *model;
    int rc;
    _Atomic int finished;
    collection *coll; /* NULL once abandoned */
    int64_t start_us;
    int logged_pct;
    ivf_job *next_queued, *next;
};

#define IVF_TICK_MS 10
#define IVF_ENCODE_SLICE_US 2000
#define IVF_SAMPLE_MAX 100000 /* vectors trained on, at most */

static struct {
    pthread_t thread;
    int started, timer_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ivf_job *queue; /* waiting for the thread (under mu) */
    ivf_job *jobs;  /* every job not yet freed (main thread only) */
} ivft = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *ivf_thread_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&ivft.mu);
        while (!ivft.queue) pthread_cond_wait(&ivft.cv, &ivft.mu);
        ivf_job *j = ivft.queue;
        ivft.queue = j->next_queued;
        pthread_mutex_unlock(&ivft.mu);
        j->rc = ivfpq_train(&j->params, j->sample, j->n, &j->prog, &j->model);
        atomic_store(&j->finished, 1);
    }
    return NULL;
}

static int ivf_timer(el_loop *loop, long long id, void *ud);

/* Makes sure the IVF timer runs (it stops by itself when no IVFPQ
 * collection is left). */
static void ivf_schedule(void) {
    if (ivft.timer_on || !server.loop) return;
    ivft.timer_on = 1;
    el_timer_add(server.loop, IVF_TICK_MS, ivf_timer, NULL);
}

/* Detaches c from its running training, which is cancelled. */
static void ivf_abandon_job(collection *c) {
    if (!c->job) return;
    atomic_store(&c->job->prog.cancel, 1);
    c->job->coll = NULL;
    c->job = NULL;
}

/* Queues a training of c's index on a sample of its vectors. */
static void ivf_start_job(collection *c) {
    ivf_job *j = zcalloc(sizeof(*j));
    j->params = *ivfpq_get_params(c->ivf);
    if (ivfpq_train_sample(c->ivf, IVF_SAMPLE_MAX, &j->sample, &j->n) != IVFPQ_OK) {
        zfree(j);
        return;
    }
    j->coll = c;
    j->start_us = util_monotonic_us();
    j->next = ivft.jobs;
    ivft.jobs = j;
    c->job = j;
    server_log(LL_NOTICE, "collection %s: IVF-PQ training started on %zu vectors (nlist %u, pq_m %u)", c->name, j->n,
               c->nlist, c->pq_m);
    pthread_mutex_lock(&ivft.mu);
    ivf_job **tail = &ivft.queue;
    while (*tail) tail = &(*tail)->next_queued;
    *tail = j;
    pthread_cond_signal(&ivft.cv);
    pthread_mutex_unlock(&ivft.mu);
    if (!ivft.started) {
        if (pthread_create(&ivft.thread, NULL, ivf_thread_main, NULL) != 0) {
            server_log(LL_WARNING, "IVF-PQ: cannot start the training thread; collections stay exact");
            return;
        }
        pthread_detach(ivft.thread);
        ivft.started = 1;
    }
}

/* A finished job: its model goes to its collection (if still there). */
static void ivf_finish_job(ivf_job *j) {
    collection *c = j->coll;
    zfree(j->sample);
    j->sample = NULL;
    if (!c) {
        ivfpq_model_free(j->model);
        return;
    }
    c->job = NULL;
    if (j->rc == IVFPQ_OK && ivfpq_install_model(c->ivf, j->model) == IVFPQ_OK) {
        c->trainings++;
        server_log(LL_NOTICE, "collection %s: IVF-PQ trained in %.1f s; encoding %zu vectors", c->name,
                   (double)(util_monotonic_us() - j->start_us) / 1e6, ivfpq_pending_count(c->ivf));
    } else {
        ivfpq_model_free(j->model);
        c->train_retry_at = ivfpq_count(c->ivf) + ivfpq_count(c->ivf) / 10 + 1;
        server_log(LL_WARNING, "collection %s: IVF-PQ training failed: %s; retrying at %zu vectors", c->name,
                   ivfpq_strerror(j->rc), c->train_retry_at);
    }
}

/* One collection's share of a tick: start a training when due, log its
 * progress, encode a slice of pending vectors once trained. */
static void ivf_collection_tick(collection *c, int64_t end_us) {
    ivfpq_index *x = c->ivf;
    if (c->job) {
        uint64_t total = atomic_load(&c->job->prog.total), done = atomic_load(&c->job->prog.done);
        int pct = total ? (int)(100 * done / total) : 0;
        if (pct >= c->job->logged_pct + 20 && pct < 100) {
            c->job->logged_pct = pct;
            server_log(LL_NOTICE, "collection %s: IVF-PQ training %d%% done", c->name, pct);
        }
        return;
    }
    if (!ivfpq_is_trained(x)) {
        size_t n = ivfpq_count(x);
        if (n >= ivfpq_min_train(ivfpq_get_params(x)) && n >= c->train_retry_at) ivf_start_job(c);
        return;
    }
    long left = (long)ivfpq_pending_count(x);
    if (left == 0) return;
    while (left > 0 && util_monotonic_us() < end_us) left = ivfpq_encode_step(x, 256);
    if (left == 0) server_log(LL_NOTICE, "collection %s: IVF-PQ encoding done, %zu vectors", c->name, ivfpq_count(x));
}

static int ivf_timer(el_loop *loop, long long id, void *ud) {
    (void)loop;
    (void)id;
    (void)ud;
    for (ivf_job **pj = &ivft.jobs; *pj;) {
        ivf_job *j = *pj;
        if (!atomic_load(&j->finished)) {
            pj = &j->next;
            continue;
        }
        *pj = j->next;
        ivf_finish_job(j);
        zfree(j);
    }
    int64_t end = util_monotonic_us() + IVF_ENCODE_SLICE_US;
    int any = ivft.jobs != NULL;
    for (int d = 0; d < server.dbnum; d++)
        for (int i = 0; i < server.dbs[d].ncolls; i++) {
            collection *c = server.dbs[d].colls[i];
            if (!c->ivf) continue;
            any = 1;
            ivf_collection_tick(c, end);
        }
    if (any) return IVF_TICK_MS;
    ivft.timer_on = 0;
    return -1;
}

/* PH.INFO's index_state of an IVFPQ collection and its progress (%). */
static const char *ivf_state(const collection *c, double *progress) {
    *progress = 100;
    if (c->job) {
        uint64_t total = atomic_load(&c->job->prog.total), done = atomic_load(&c->job->prog.done);
        *progress = total ? 100.0 * (double)done / (double)total : 0;
        return "training";
    }
    if (!ivfpq_is_trained(c->ivf)) {
        size_t need = ivfpq_min_train(ivfpq_get_params(c->ivf)), have = ivfpq_count(c->ivf);
        *progress = need ? 100.0 * (double)(have < need ? have : need) / (double)need : 0;
        return "untrained (exact search)";
    }
    size_t pend = ivfpq_pending_count(c->ivf), n = ivfpq_count(c->ivf);
    if (pend) {
        *progress = n ? 100.0 * (double)(n - pend) / (double)n : 0;
        return "encoding";
    }
    return "ready";
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

/* The locators of every index (ivfpq_locator, hnsw_locator): each entity
 * holds its position, the IVF-PQ list its code is in or its HNSW slot, so
 * the indexes keep no label map of their own (a collection has one index,
 * so one field serves both). */
static uint32_t ix_pos_get(uint64_t label, void *ctx) { return ENTITY_OF(label)->ix_pos; }

/* Bumped whenever an index gives a label a slot or takes it (see the ACORN
 * slot maps, which depend on slots). */
static uint64_t slot_moves;

static void ix_pos_set(uint64_t label, uint32_t pos, void *ctx) {
    ENTITY_OF(label)->ix_pos = pos;
    slot_moves++;
}

static const ivfpq_locator ivf_locator = {ix_pos_get, ix_pos_set, NULL};
static const hnsw_locator hnsw_loc = {ix_pos_get, ix_pos_set, NULL};

/* Creates the empty index of c (when it has vectors). */
static int coll_make_index(collection *c) {
    if (!c->dim) return 0;
    if (c->index == INDEX_IVFPQ) {
        ivfpq_params ip = {.dim = c->dim, .metric = (ivfpq_metric)c->metric, .nlist = c->nlist, .pq_m = c->pq_m,
                           .pq_bits = 8, .seed = 0x1f5eed00ULL + (uint64_t)c->db->id};
        if (!c->decoded) c->decoded = zmalloc(sizeof(float) * c->dim);
        if (c->ondisk && !c->vf && !(c->vf = vecfile_open(server.dir, c->dim))) return -1;
        if (ivfpq_create(&ip, &ivf_locator, &c->ivf) != IVFPQ_OK) return -1;
        ivf_schedule();
        return 0;
    }
    if (c->index == INDEX_FLAT) {
        c->flat = flat_create(c->dim, c->metric);
        return c->flat ? 0 : -1;
    }
    hnsw_params p = {.dim = c->dim, .metric = c->metric, .M = c->M, .ef_construction = c->ef_construction,
                     .seed = 0x5eed0000ULL + (uint64_t)c->db->id, .quant = c->quant, .no_exact = c->no_exact,
                     .rescore = c->rescore};
    if (c->no_exact && !c->decoded) c->decoded = zmalloc(sizeof(float) * c->dim);
    if (c->ondisk && !c->vf && !(c->vf = vecfile_open(server.dir, c->dim))) {
        server_log(LL_WARNING, "collection %s: cannot open a vector file in %s: %s", c->name, server.dir,
                   strerror(errno));
        return -1;
    }
    return hnsw_create(&p, &c->hnsw) == HNSW_OK && hnsw_set_locator(c->hnsw, &hnsw_loc) == HNSW_OK ? 0 : -1;
}

static void slot_maps_forget(const hnsw_index *h);

static void coll_free_index(collection *c) {
    slot_maps_forget(c->hnsw);
    ivf_abandon_job(c);
    ivfpq_free(c->ivf);
    c->ivf = NULL;
    hnsw_free(c->hnsw);
    flat_free(c->flat);
    vecfile_close(c->vf); /* a snapshot child keeps its own descriptor */
    c->hnsw = NULL;
    c->flat = NULL;
    c->vf = NULL;
}

/* The vector of label as the index holds it, or NULL. A NOEXACT index
 * decodes its code into c->decoded: valid until the next call. */
static const float *coll_get_vector(const collection *c, uint64_t label) {
    if (c->flat) return flat_get_vector(c->flat, label);
    if (c->vf) return vecfile_get(c->vf, ENTITY_OF(label)->disk_rec, c->decoded) == 0 ? c->decoded : NULL;
    if (c->ivf) return ivfpq_get_vector(c->ivf, label, c->decoded) == IVFPQ_OK ? c->decoded : NULL;
    if (!c->hnsw) return NULL;
    if (!c->no_exact) return hnsw_get_vector(c->hnsw, label);
    return hnsw_copy_vector(c->hnsw, label, c->decoded) ? c->decoded : NULL;
}

/* ONDISK: a snapshot child may read the vector file; while one runs, freed
 * records are not reused (vecfile.h). */
static int vector_file_deferred(collection *c) {
    int child = snapshot_child_running() || wal_rewrite_running();
    if (!child) vecfile_release_pending(c->vf);
    return child;
}

#define INDEX_ERR_FILE (-100) /* the vector file refused a write */
#define INDEX_ERR_IVF (-200)  /* IVF-PQ errors are -200 + their code */

static const char *index_strerror(int r) {
    if (r == INDEX_ERR_FILE) return "could not write the vector file";
    if (r < INDEX_ERR_IVF + 50 && r > INDEX_ERR_IVF - 50) return ivfpq_strerror(r - INDEX_ERR_IVF);
    return hnsw_strerror(r);
}

/* An ivfpq result in index_* terms (0, or an error index_strerror names). */
static int ivf_result(int r) { return r == IVFPQ_OK ? 0 : INDEX_ERR_IVF + r; }

/* ONDISK: writes v (normalized for COSINE, as the index compares it) to the
 * vector file. Returns the record, or 0 (logged). */
static uint32_t vector_file_put(collection *c, const float *v) {
    const float *w = v;
    if (c->metric == HNSW_METRIC_COSINE) {
        memcpy(c->decoded, v, sizeof(float) * c->dim);
        vec_normalize(c->decoded, c->dim);
        w = c->decoded;
    }
    vector_file_deferred(c);
    uint32_t rec = vecfile_put(c->vf, w);
    if (!rec) server_log(LL_WARNING, "collection %s: writing the vector file failed: %s", c->name, strerror(errno));
    return rec;
}

static int index_insert(collection *c, entity *e, const float *v) {
    uint32_t rec = 0;
    if (c->vf && !(rec = vector_file_put(c, v))) return INDEX_ERR_FILE;
    int r = c->ivf ? ivf_result(ivfpq_add(c->ivf, LABEL(e), v))
            : c->hnsw ? hnsw_insert(c->hnsw, LABEL(e), v) : flat_insert(c->flat, LABEL(e), v);
    if (r < 0) {
        if (rec) vecfile_free(c->vf, rec, 0); /* never referenced */
        return r;
    }
    e->disk_rec = rec;
    return 0;
}

static int index_update(collection *c, entity *e, const float *v) {
    uint32_t rec = 0;
    if (c->vf && !(rec = vector_file_put(c, v))) return INDEX_ERR_FILE;
    int r = c->ivf ? ivf_result(ivfpq_update(c->ivf, LABEL(e), v))
            : c->hnsw ? hnsw_update(c->hnsw, LABEL(e), v) : flat_update(c->flat, LABEL(e), v);
    if (c->vf) {
        if (r < 0) {
            vecfile_free(c->vf, rec, 0);
        } else {
            vecfile_free(c->vf, e->disk_rec, vector_file_deferred(c));
            e->disk_rec = rec;
        }
    }
    return r;
}

static void index_delete(collection *c, entity *e) {
    if (c->ivf) ivfpq_delete(c->ivf, LABEL(e));
    else if (c->hnsw) hnsw_delete(c->hnsw, LABEL(e));
    else if (c->flat) flat_delete(c->flat, LABEL(e));
    if (c->vf) {
        vecfile_free(c->vf, e->disk_rec, vector_file_deferred(c));
        e->disk_rec = 0;
    }
}

/* hnsw_vector_fn of ONDISK collections: the exact vector from the file. */
static int vector_file_read(uint64_t label, void *ctx, float *out) {
    collection *c = ctx;
    return vecfile_get(c->vf, ENTITY_OF(label)->disk_rec, out);
}

/* Writes e's vector (as given, up to COSINE rounding) into out. */
static int entity_vector(const entity *e, float *out) {
    if (!e->has_vec) return 0;
    int indexed = attached(e);
    const own_vec *o = indexed ? NULL : own_vec_of(e);
    const float *v = indexed ? coll_get_vector(e->coll, LABEL(e)) : o ? o->v : NULL;
    if (!v) return 0;
    float scale = indexed && e->coll->metric == HNSW_METRIC_COSINE ? e->norm : 1.0f;
    uint32_t dim = indexed ? e->coll->dim : o->dim;
    for (uint32_t i = 0; i < dim; i++) out[i] = v[i] * scale;
    return 1;
}

/* ---------------- field indexes (FIELD, PH.ALTER) ---------------- */

/* A declared field of a collection: its index (fieldidx.c) and the state of
 * its background build. Writes keep every field current whatever its state
 * (coll_attach, coll_remove, PH.SET META and PH.PATCH add and remove an
 * entity's values; adding values twice changes nothing and removing values
 * never added neither), so a build only has to visit once each entity that
 * existed when it started: it walks the keyspace with the dict's SCAN cursor
 * (every key present for the whole walk is returned at least once) from a
 * 1 ms timer that works about 1 ms per firing, indexing the collection's
 * entities. The planner uses a field only once its build is over. Field
 * indexes are not in snapshots: a collection is recreated from its PH.CREATE
 * arguments (FIELD clauses included) and its fields rebuilt from the
 * entities' metadata once the load is over (entity_load_finish). */
/* A TAG field's ACORN islands for one tag (see island_seeds). */
typedef struct island_list {
    const fieldidx_labelset *set; /* the tag's label set, for identity only */
    size_t set_size;              /* its size when the list was built */
    long long vectors;            /* the collection's vectors then */
    uint64_t *labels;
    size_t n;
} island_list;

struct coll_field {
    fieldidx *idx;
    island_list *islands; /* TAG: the last ISLAND_CACHE tags walks probed */
    int nislands;
    int building;
    uint64_t cursor;          /* dict_scan cursor over the db's keys */
    long long scanned, total; /* keys visited / keys when the build started */
    double plan_factor[PLAN_COUNT]; /* the planner's corrections for filters
                                       whose index constraint is on this field */
    double post_fallback;           /* and their post-filter walks' fallback rate */
};

#define MAX_FIELDS 64
#define FIELD_BUILD_SLICE_US 1000

static void fields_add_entity(collection *c, const entity *e) {
    for (int i = 0; i < c->nfields; i++) fieldidx_add_doc(c->fields[i].idx, LABEL(e), e->meta);
}

static void fields_remove_entity(collection *c, const entity *e) {
    for (int i = 0; i < c->nfields; i++) fieldidx_remove_doc(c->fields[i].idx, LABEL(e), e->meta);
}

static void islands_free(coll_field *f);

static void fields_free(collection *c) {
    for (int i = 0; i < c->nfields; i++) {
        fieldidx_free(c->fields[i].idx);
        islands_free(&c->fields[i]);
    }
    zfree(c->fields);
    c->fields = NULL;
    c->nfields = 0;
}

/* The field of c whose path text is text, or -1. */
static int field_find(const collection *c, const char *text) {
    for (int i = 0; i < c->nfields; i++)
        if (strcmp(fieldidx_path_text(c->fields[i].idx), text) == 0) return i;
    return -1;
}

typedef struct field_build_ctx {
    collection *c;
    coll_field *f;
} field_build_ctx;

static void field_build_visit(void *priv, dict_entry *de) {
    field_build_ctx *b = priv;
    pobj *o = dict_entry_val(de);
    b->f->scanned++;
    if (!o || o->type != OBJ_ENTITY) return;
    entity *e = o->v.p;
    if (e->coll == b->c && attached(e)) fieldidx_add_doc(b->f->idx, LABEL(e), e->meta);
}

/* Advances every running build for about budget_us in all. Returns 1 when
 * some build is not finished. */
static int fields_build_step(int64_t budget_us) {
    int64_t end = util_monotonic_us() + budget_us;
    int more = 0;
    for (int d = 0; d < server.dbnum; d++) {
        db *dbp = &server.dbs[d];
        for (int i = 0; i < dbp->ncolls; i++) {
            collection *c = dbp->colls[i];
            for (int j = 0; j < c->nfields; j++) {
                coll_field *f = &c->fields[j];
                field_build_ctx b = {c, f};
                while (f->building && util_monotonic_us() < end) {
                    for (int s = 0; s < 32 && f->building; s++) {
                        f->cursor = dict_scan(dbp->keys, f->cursor, field_build_visit, &b);
                        if (f->cursor == 0) f->building = 0;
                    }
                }
                more |= f->building;
            }
        }
    }
    return more;
}

static int field_build_timer_on;

static int fields_build_timer(el_loop *loop, long long id, void *ud) {
    (void)loop;
    (void)id;
    (void)ud;
    if (fields_build_step(FIELD_BUILD_SLICE_US)) return 1;
    field_build_timer_on = 0;
    return -1;
}

/* Makes sure running builds progress: from a timer when the event loop
 * exists, else (loading at start-up) at once. */
static void fields_schedule_builds(void) {
    if (!server.loop) {
        while (fields_build_step(1000000)) {}
        return;
    }
    if (!field_build_timer_on) {
        field_build_timer_on = 1;
        el_timer_add(server.loop, 1, fields_build_timer, NULL);
    }
}

/* Starts a build of field f of c from nothing (the index is emptied). */
static void field_start_build(collection *c, coll_field *f) {
    fieldidx_clear(f->idx);
    f->building = 1;
    f->cursor = 0;
    f->scanned = 0;
    f->total = (long long)dict_size(c->db->keys);
}

/* Appends a field to c (takes idx). With build, it is built in the
 * background from the entities c already has. */
static void coll_add_field(collection *c, fieldidx *idx, int build) {
    c->fields = zrealloc(c->fields, sizeof(coll_field) * (size_t)(c->nfields + 1));
    coll_field *f = &c->fields[c->nfields++];
    memset(f, 0, sizeof(*f));
    f->idx = idx;
    if (build && c->entities) {
        field_start_build(c, f);
        fields_schedule_builds();
    }
}

/* Parses "FIELD <path> NUMERIC|TAG" with argv[i] the FIELD token into a new
 * field index, refusing a path c (may be NULL) or pending[0..npending)
 * already has. Returns NULL after replying. */
static fieldidx *parse_field_decl(client *cl, int i, const collection *c, fieldidx **pending, int npending) {
    if (i + 2 >= cl->argc) {
        add_reply_error(cl, "FIELD needs a path and a type: FIELD <path> NUMERIC|TAG");
        return NULL;
    }
    fieldidx_type type;
    resp_arg *p = &cl->argv[i + 1], *t = &cl->argv[i + 2];
    if (arg_is(cl, i + 2, "numeric")) {
        type = FIELDIDX_NUMERIC;
    } else if (arg_is(cl, i + 2, "tag")) {
        type = FIELDIDX_TAG;
    } else {
        add_reply_errorf(cl, "FIELD type must be NUMERIC or TAG, got '%.*s'", (int)(t->len > 32 ? 32 : t->len), t->ptr);
        return NULL;
    }
    char err[256];
    fieldidx *f = fieldidx_new(p->ptr, p->len, type, err, sizeof(err));
    if (!f) {
        add_reply_errorf(cl, "FIELD path '%.*s': %s", (int)(p->len > 64 ? 64 : p->len), p->ptr, err);
        return NULL;
    }
    int dup = c && field_find(c, fieldidx_path_text(f)) >= 0;
    for (int k = 0; k < npending && !dup; k++)
        dup = strcmp(fieldidx_path_text(pending[k]), fieldidx_path_text(f)) == 0;
    if (dup || (c ? c->nfields : 0) + npending >= MAX_FIELDS) {
        if (dup) add_reply_errorf(cl, "FIELD %s is declared twice", fieldidx_path_text(f));
        else add_reply_errorf(cl, "a collection has at most %d fields", MAX_FIELDS);
        fieldidx_free(f);
        return NULL;
    }
    return f;
}

/* After a load: every field is rebuilt from the entities' metadata. */
static void fields_rebuild_all(void) {
    for (int d = 0; d < server.dbnum; d++)
        for (int i = 0; i < server.dbs[d].ncolls; i++) {
            collection *c = server.dbs[d].colls[i];
            for (int j = 0; j < c->nfields; j++) field_start_build(c, &c->fields[j]);
        }
    fields_schedule_builds();
}

/* PH.INFO's "fields": one map per field. */
static void reply_fields(client *c, const collection *coll) {
    add_reply_array_len(c, coll->nfields);
    for (int i = 0; i < coll->nfields; i++) {
        const coll_field *f = &coll->fields[i];
        add_reply_map_len(c, 6);
        add_reply_bulk_cstr(c, "path");
        add_reply_bulk_cstr(c, fieldidx_path_text(f->idx));
        add_reply_bulk_cstr(c, "type");
        add_reply_bulk_cstr(c, fieldidx_type_name(fieldidx_get_type(f->idx)));
        add_reply_bulk_cstr(c, "entries");
        add_reply_long(c, (long long)fieldidx_entries(f->idx));
        add_reply_bulk_cstr(c, "memory");
        add_reply_long(c, (long long)fieldidx_memory(f->idx));
        add_reply_bulk_cstr(c, "state");
        add_reply_bulk_cstr(c, f->building ? "building" : "ready");
        add_reply_bulk_cstr(c, "progress");
        double pct = !f->building ? 100.0 : f->total ? 100.0 * (double)f->scanned / (double)f->total : 0;
        add_reply_double(c, pct > 99.9 && f->building ? 99.9 : pct);
    }
}

/* Removes e from its collection (index and counts). */
static void coll_remove(entity *e) {
    collection *c = e->coll;
    if (!c) return;
    if (attached(e)) {
        if (e->has_vec) {
            index_delete(c, e);
            c->vectors--;
        }
        c->entities--;
        c->edges -= (long long)graph_entity_out_degree(e->edges);
        c->metadata_bytes -= entity_meta_bytes(e);
        fields_remove_entity(c, e);
    }
    e->coll = NULL;
}

/* Adds detached e to c, with the vector vec[0..dim) when e->has_vec.
 * Returns 0, or -1 when the vector does not fit c (wrong dim) or the index
 * refuses it: e stays detached. */
static int coll_attach_vec(collection *c, entity *e, const float *vec, uint32_t dim) {
    if (e->has_vec && (!vec || dim != c->dim)) return -1;
    if (e->has_vec) {
        if (c->metric == HNSW_METRIC_COSINE) e->norm = (float)vec_norm(vec, dim);
        if (index_insert(c, e, vec) != 0) return -1;
        c->vectors++;
    }
    own_vec_drop(e);
    e->coll = c;
    e->epoch = c->epoch;
    c->entities++;
    c->edges += (long long)graph_entity_out_degree(e->edges);
    c->metadata_bytes += entity_meta_bytes(e);
    fields_add_entity(c, e);
    return 0;
}

/* Adds detached e, with its own vector if any, to c (coll_attach_vec). */
static int coll_attach(collection *c, entity *e) {
    const own_vec *o = own_vec_of(e);
    return coll_attach_vec(c, e, o ? o->v : NULL, o ? o->dim : 0);
}

/* Gives e its own vector and leaves c (drop without DELETEDATA). */
static void entity_detach(entity *e) {
    float *v = NULL;
    uint32_t dim = entity_dim(e);
    if (e->has_vec && e->coll) {
        v = zmalloc(sizeof(float) * (dim ? dim : 1));
        if (!entity_vector(e, v)) e->has_vec = 0; /* an older epoch's: its index is gone */
    }
    coll_remove(e);
    if (e->has_vec && v) own_vec_set(e, v, dim);
    zfree(v);
}

static void coll_free(collection *c) {
    fields_free(c);
    coll_free_index(c);
    hnsw_scratch_free(c->scratch);
    zfree(c->decoded);
    ds_free(c->name);
    ds_free(c->prefix);
    zfree(c);
}

/* ---------------- entity values ---------------- */

/* A new detached entity; its key is set once it is in the keyspace. */
static entity *entity_new(void) {
    entity *e = zcalloc(sizeof(*e));
    e->meta = NULL; /* {} until metadata is set: most of the memory of an empty object */
    e->ix_pos = HNSW_NONE;
    return e;
}

static void entity_free_value(pobj *o) {
    entity *e = o->v.p;
    graph_entity_free(e->edges); /* both ends of every edge: no peer keeps a pointer to e */
    coll_remove(e);
    json_decref(e->meta);
    own_vec_drop(e);
    zfree(e);
}

static void *entity_dup_value(const pobj *o) {
    const entity *e = o->v.p;
    entity *d = entity_new();
    d->meta = e->meta ? json_deep_copy(e->meta) : NULL;
    uint32_t dim = entity_dim(e);
    if (e->has_vec && dim) {
        float *v = zmalloc(sizeof(float) * dim);
        if (entity_vector(e, v)) {
            d->has_vec = 1;
            own_vec_set(d, v, dim);
        }
        zfree(v);
    }
    return d;
}

static size_t entity_mem(const pobj *o) {
    const entity *e = o->v.p;
    size_t n = zmalloc_size(e) + (size_t)entity_meta_bytes(e) * 2;
    if (e->has_vec) n += sizeof(float) * entity_dim(e);
    return n + graph_entity_memory(e->edges);
}

const obj_type_ops entity_type_ops = {"entity", entity_free_value, entity_dup_value, entity_mem};

/* The graph's view of an entity (t_graph.c). A copy (entity_dup_value)
 * starts without edges. */
struct graph_node **entity_graph_slot(void *e) { return &((entity *)e)->edges; }
ds entity_graph_key(const void *e) { return ((const entity *)e)->key; }
const struct json_t *entity_graph_meta(const void *e) { return ((const entity *)e)->meta; }
void entity_graph_out_changed(void *e, int delta) {
    entity *x = e;
    if (attached(x)) x->coll->edges += delta;
}

/* ---------------- keyspace hooks ---------------- */

void entity_flush_db(db *d) {
    for (int i = 0; i < d->ncolls; i++) {
        collection *c = d->colls[i];
        /* the entities freed next belong to an old epoch: they skip the index */
        c->epoch = (c->epoch + 1) & EPOCH_MASK;
        coll_free_index(c);
        coll_make_index(c);
        c->entities = 0;
        c->edges = 0;
        c->vectors = 0;
        c->metadata_bytes = 0;
        for (int j = 0; j < c->nfields; j++) {
            fieldidx_clear(c->fields[j].idx);
            c->fields[j].building = 0;
        }
    }
}

void entity_free_db(db *d) {
    graph_free_db(d);
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

/* Blob formats of VECTOR [FP32|FP16|INT8] <blob> and PH.GET ... VECTOR
 * [FP32|FP16|INT8]: little-endian IEEE binary32, binary16, or int8 values
 * taken as numbers. */
enum { VFMT_FP32 = 0, VFMT_FP16 = 1, VFMT_INT8 = 2 };
static const char *const vfmt_names[] = {"FP32", "FP16", "INT8"};
static const size_t vfmt_bytes[] = {4, 2, 1};

/* The blob format named by argv[at], or -1. */
static int vector_format_at(client *c, int at) {
    for (int f = 0; f < 3; f++)
        if (at < c->argc && arg_is(c, at, vfmt_names[f])) return f;
    return -1;
}

/* Converts a blob of n values in format fmt into v. */
static void vector_from_blob(const unsigned char *p, int fmt, size_t n, float *v) {
    if (fmt == VFMT_FP32) {
        memcpy(v, p, n * 4);
    } else if (fmt == VFMT_FP16) {
        for (size_t k = 0; k < n; k++) v[k] = quant_f16_to_f32((uint16_t)(p[2 * k] | (p[2 * k + 1] << 8)));
    } else {
        for (size_t k = 0; k < n; k++) v[k] = (float)(int8_t)p[k];
    }
}

/* Parses "VECTOR [FP32|FP16|INT8] blob" or "VALUES d v1..vd" at argv[*i]
 * into a new float array (caller frees). A type name is read as such when
 * another argument follows it (a 4-byte FP32 blob that spells one needs the
 * explicit FP32). Returns the dimension, or -1 after replying. */
static int parse_vector(client *c, int *i, float **out, uint32_t want_dim) {
    int at = *i;
    if (arg_is(c, at, "vector")) {
        int fmt = at + 2 < c->argc ? vector_format_at(c, at + 1) : -1, bi = at + 1;
        if (fmt >= 0) bi++;
        else fmt = VFMT_FP32;
        if (bi >= c->argc) {
            add_reply_err_syntax(c);
            return -1;
        }
        resp_arg *b = &c->argv[bi];
        size_t eb = vfmt_bytes[fmt];
        if (b->len == 0 || b->len % eb != 0 || b->len / eb > HNSW_MAX_DIM) {
            if (want_dim)
                add_reply_errorf(c, "vector dimension mismatch: expected %u, got a %s blob of %zu bytes (%zu expected)",
                                 want_dim, vfmt_names[fmt], b->len, want_dim * eb);
            else
                add_reply_errorf(c, "VECTOR %s must be a blob of %zu-byte values, got %zu bytes", vfmt_names[fmt], eb,
                                 b->len);
            return -1;
        }
        int dim = (int)(b->len / eb);
        float *v = zmalloc(sizeof(float) * (size_t)dim);
        vector_from_blob((const unsigned char *)b->ptr, fmt, (size_t)dim, v);
        *out = v;
        *i = bi + 1;
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
        pobj *o = dict_entry_val(de);
        ds k = dict_entry_key(de);
        if (o->type != OBJ_ENTITY || ds_len(k) < ds_len(c->prefix) || memcmp(k, c->prefix, ds_len(c->prefix))) continue;
        entity *e = o->v.p;
        if (!e->coll) coll_attach(c, e); /* a vector of another dim stays unindexed */
    }
    dict_iter_release(&it);
}

/* The vector and index options of PH.CREATE. */
typedef struct coll_spec {
    uint32_t dim, M, efc, efr, rescore, nlist, pq_m, nprobe;
    hnsw_metric metric;
    hnsw_quant quant;
    int index, no_exact, ondisk, ivf_option; /* ivf_option: NLIST, PQ_M, PQ_BITS or NPROBE given */
} coll_spec;

/* The position of argv[at] among names[0..n) (case-insensitive), or -1. */
static int arg_choice(client *c, int at, const char *const *names, int n) {
    for (int k = 0; k < n; k++)
        if (arg_is(c, at, names[k])) return k;
    return -1;
}

/* Parses one vector or index option at argv[*i] (a name and its value;
 * QUANT <type> may be followed by NOEXACT or ONDISK). Returns 1 and
 * advances *i past it, 0 when argv[*i] is no such option, -1 after
 * replying. */
static int parse_index_option(client *c, int *i, coll_spec *sp) {
    int at = *i;
    resp_arg *v = &c->argv[at + 1];
    int rc = 0;
    static const char *const metrics[] = {"l2", "ip", "cosine"}; /* in hnsw_metric order */
    static const char *const indexes[] = {"hnsw", "flat", "ivfpq"}; /* INDEX_* order */
    static const char *const quants[] = {"none", "q8", "bin"};      /* hnsw_quant order */
    int choice;
    if (arg_is(c, at, "dim")) {
        rc = parse_u32_opt(c, at + 1, 1, HNSW_MAX_DIM, "DIM", &sp->dim);
    } else if (arg_is(c, at, "metric")) {
        if ((choice = arg_choice(c, at + 1, metrics, 3)) >= 0) sp->metric = (hnsw_metric)choice;
        else rc = -1, add_reply_errorf(c, "unknown METRIC '%.*s'", (int)(v->len > 32 ? 32 : v->len), v->ptr);
    } else if (arg_is(c, at, "index")) {
        if ((choice = arg_choice(c, at + 1, indexes, 3)) >= 0) sp->index = choice;
        else rc = -1, add_reply_errorf(c, "unknown INDEX '%.*s'", (int)(v->len > 32 ? 32 : v->len), v->ptr);
    } else if (arg_is(c, at, "m")) {
        rc = parse_u32_opt(c, at + 1, 2, HNSW_MAX_M, "M", &sp->M);
    } else if (arg_is(c, at, "ef_construction")) {
        rc = parse_u32_opt(c, at + 1, 1, 4096, "EF_CONSTRUCTION", &sp->efc);
    } else if (arg_is(c, at, "ef_runtime")) {
        rc = parse_u32_opt(c, at + 1, 1, MAX_EF, "EF_RUNTIME", &sp->efr);
    } else if (arg_is(c, at, "quant")) {
        if ((choice = arg_choice(c, at + 1, quants, 3)) >= 0) sp->quant = (hnsw_quant)choice;
        else rc = -1, add_reply_errorf(c, "unknown QUANT '%.*s' (Q8, BIN or NONE)", (int)(v->len > 32 ? 32 : v->len), v->ptr);
        if (at + 2 < c->argc && (arg_is(c, at + 2, "noexact") || arg_is(c, at + 2, "ondisk"))) {
            sp->no_exact = 1;
            sp->ondisk = arg_is(c, at + 2, "ondisk");
            (*i)++; /* QUANT <type> NOEXACT|ONDISK: three arguments */
        }
    } else if (arg_is(c, at, "rescore")) {
        rc = parse_u32_opt(c, at + 1, 1, 100, "RESCORE", &sp->rescore);
    } else if (arg_is(c, at, "nlist")) {
        rc = parse_u32_opt(c, at + 1, 1, IVFPQ_MAX_NLIST, "NLIST", &sp->nlist);
        sp->ivf_option = 1;
    } else if (arg_is(c, at, "pq_m")) {
        rc = parse_u32_opt(c, at + 1, 1, HNSW_MAX_DIM, "PQ_M", &sp->pq_m);
        sp->ivf_option = 1;
    } else if (arg_is(c, at, "pq_bits")) {
        if (!arg_is(c, at + 1, "8")) rc = -1, add_reply_error(c, "PQ_BITS must be 8 (8-bit sub-quantizers, 256 centroids each)");
        sp->ivf_option = 1;
    } else if (arg_is(c, at, "nprobe")) {
        rc = parse_u32_opt(c, at + 1, 1, IVFPQ_MAX_NLIST, "NPROBE", &sp->nprobe);
        sp->ivf_option = 1;
    } else {
        return 0;
    }
    *i += 2;
    return rc < 0 ? -1 : 1;
}

/* Default over-fetch of quantized walks, from the benchmark (docs/quantization.md). */
#define RESCORE_DEFAULT_Q8 2
#define RESCORE_DEFAULT_BIN 16
#define IVF_NLIST_DEFAULT 1024
#define IVF_NPROBE_DEFAULT 16

/* The largest divisor of dim that is at most dim / 4 (IVF-PQ's default
 * PQ_M: sub-vectors of 4 components or more, 1 byte each). */
static uint32_t default_pq_m(uint32_t dim) {
    for (uint32_t m = dim / 4 ? dim / 4 : 1; m > 1; m--)
        if (dim % m == 0) return m;
    return 1;
}

/* Checks the options against each other and fills the defaults that depend
 * on others; replies and returns -1 when they do not fit. */
static int check_spec(client *c, coll_spec *sp) {
    const char *err = NULL;
    int ivf = sp->index == INDEX_IVFPQ;
    if (sp->quant && (!sp->dim || sp->index != INDEX_HNSW)) err = "QUANT needs DIM and INDEX HNSW";
    else if (sp->no_exact && !sp->quant) err = "NOEXACT and ONDISK need QUANT Q8 or BIN";
    else if (sp->rescore && !sp->quant && !ivf) err = "RESCORE needs QUANT Q8 or BIN, or INDEX IVFPQ";
    else if (sp->quant == HNSW_QUANT_BIN && sp->no_exact && sp->metric == HNSW_METRIC_L2)
        err = "QUANT BIN NOEXACT or ONDISK needs METRIC COSINE or IP: a graph on signs alone gives no L2 distance";
    else if (sp->ivf_option && !ivf) err = "NLIST, PQ_M, PQ_BITS and NPROBE need INDEX IVFPQ";
    else if (ivf && !sp->dim) err = "INDEX IVFPQ needs DIM";
    if (!err && ivf) {
        if (!sp->nlist) sp->nlist = IVF_NLIST_DEFAULT;
        if (!sp->pq_m) sp->pq_m = default_pq_m(sp->dim);
        if (!sp->nprobe) sp->nprobe = IVF_NPROBE_DEFAULT;
        if (sp->dim % sp->pq_m) err = "PQ_M must divide DIM";
        sp->ondisk = sp->rescore > 0; /* IVFPQ rescores from exact vectors kept in the vector file */
    }
    if (err) add_reply_error(c, err);
    return err ? -1 : 0;
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
    coll_spec sp = {.M = 16, .efc = 200, .efr = 64, .metric = HNSW_METRIC_COSINE, .index = INDEX_HNSW};
    int rc = 0, nfields = 0;
    fieldidx *fields[MAX_FIELDS];
    for (int i = 2; i < c->argc && rc == 0;) {
        if (i + 1 >= c->argc) {
            add_reply_err_syntax(c);
            rc = -1;
        } else if (arg_is(c, i, "field")) {
            fields[nfields] = parse_field_decl(c, i, NULL, fields, nfields);
            if (fields[nfields]) nfields++;
            else rc = -1;
            i += 3; /* FIELD <path> <type> */
        } else if (arg_is(c, i, "prefix")) {
            ds_free(prefix);
            prefix = ds_new(c->argv[i + 1].ptr, c->argv[i + 1].len);
            i += 2;
        } else if ((rc = parse_index_option(c, &i, &sp)) == 0) {
            add_reply_err_syntax(c);
            rc = -1;
        } else if (rc > 0) {
            rc = 0;
        }
    }
    if (rc == 0) rc = check_spec(c, &sp);
    if (rc != 0) {
        ds_free(prefix);
        while (nfields) fieldidx_free(fields[--nfields]);
        return;
    }
    if (!prefix) prefix = ds_catfmt(ds_new(name->ptr, name->len), ":");
    for (int i = 0; i < c->db->ncolls; i++) {
        collection *o = c->db->colls[i];
        size_t a = ds_len(prefix), b = ds_len(o->prefix), n = a < b ? a : b;
        if (memcmp(prefix, o->prefix, n) == 0) {
            add_reply_errorf(c, "prefix '%s' overlaps collection '%s' (prefix '%s')", prefix, o->name, o->prefix);
            ds_free(prefix);
            while (nfields) fieldidx_free(fields[--nfields]);
            return;
        }
    }
    collection *coll = zcalloc(sizeof(*coll));
    coll->name = ds_new(name->ptr, name->len);
    coll->prefix = prefix;
    coll->db = c->db;
    coll->dim = sp.dim;
    coll->metric = sp.metric;
    coll->index = sp.index;
    coll->M = sp.M;
    coll->ef_construction = sp.efc;
    coll->ef_runtime = sp.efr;
    coll->quant = sp.quant;
    coll->no_exact = sp.no_exact;
    coll->ondisk = sp.ondisk;
    coll->nlist = sp.nlist;
    coll->pq_m = sp.pq_m;
    coll->nprobe = sp.nprobe;
    coll->rescore = sp.rescore       ? sp.rescore
                    : sp.quant == HNSW_QUANT_Q8 ? RESCORE_DEFAULT_Q8
                    : sp.quant      ? RESCORE_DEFAULT_BIN
                                    : 1;
    coll->scratch = hnsw_scratch_new();
    for (int k = 0; k < nfields; k++) coll_add_field(coll, fields[k], 0); /* filled by the adoption below */
    if (coll_make_index(coll) != 0) {
        if (coll->ondisk) add_reply_errorf(c, "could not open a vector file in the server's dir: %s", strerror(errno));
        else add_reply_error(c, "could not create the index with these parameters");
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
        pobj *o = dict_entry_val(de);
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

/* PH.ALTER <coll> ADD FIELD <path> NUMERIC|TAG [FIELD ...] | DROP FIELD <path> */
void phAlterCommand(client *c) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    if (arg_is(c, 2, "drop") && c->argc == 5 && arg_is(c, 3, "field")) {
        char err[256];
        filter_path *p = filter_path_parse(c->argv[4].ptr, c->argv[4].len, err, sizeof(err), NULL);
        int at = p ? field_find(coll, p->text) : -1;
        filter_path_free(p);
        if (at < 0) {
            add_reply_errorf(c, "collection '%s' has no FIELD '%.*s'", coll->name, (int)(c->argv[4].len > 64 ? 64 : c->argv[4].len),
                             c->argv[4].ptr);
            return;
        }
        fieldidx_free(coll->fields[at].idx);
        islands_free(&coll->fields[at]);
        memmove(coll->fields + at, coll->fields + at + 1, sizeof(coll_field) * (size_t)(coll->nfields - at - 1));
        coll->nfields--;
        server_incr_dirty(1);
        add_reply_ok(c);
        return;
    }
    if (!arg_is(c, 2, "add") || c->argc < 6 || (c->argc - 3) % 3 != 0) {
        add_reply_error(c, "PH.ALTER needs ADD FIELD <path> NUMERIC|TAG [FIELD ...] or DROP FIELD <path>");
        return;
    }
    int n = (c->argc - 3) / 3;
    fieldidx **list = zcalloc(sizeof(fieldidx *) * (size_t)n);
    for (int k = 0; k < n; k++) {
        int i = 3 + 3 * k;
        if (!arg_is(c, i, "field")) {
            add_reply_err_syntax(c);
            n = k;
            goto fail;
        }
        if (!(list[k] = parse_field_decl(c, i, coll, list, k))) {
            n = k;
            goto fail;
        }
    }
    for (int k = 0; k < n; k++) coll_add_field(coll, list[k], 1);
    zfree(list);
    server_incr_dirty(1);
    add_reply_ok(c);
    return;
fail:
    for (int k = 0; k < n; k++) fieldidx_free(list[k]);
    zfree(list);
}

void phListCommand(client *c) {
    add_reply_array_len(c, c->db->ncolls);
    for (int i = 0; i < c->db->ncolls; i++) add_reply_bulk(c, c->db->colls[i]->name, ds_len(c->db->colls[i]->name));
}

static void reply_kv_long(client *c, const char *k, long long v) {
    add_reply_bulk_cstr(c, k);
    add_reply_long(c, v);
}

static void reply_kv_double(client *c, const char *k, double v) {
    add_reply_bulk_cstr(c, k);
    add_reply_double(c, v);
}

static void reply_kv_str(client *c, const char *k, const char *v) {
    add_reply_bulk_cstr(c, k);
    add_reply_bulk_cstr(c, v);
}

static const char *quant_name(hnsw_quant q) { return q == HNSW_QUANT_Q8 ? "Q8" : q == HNSW_QUANT_BIN ? "BIN" : "NONE"; }

/* PH.INFO's bytes_per_vector: each part of the memory over the vectors. */
static void reply_bytes_per_vector(client *c, const collection *coll, size_t codes, size_t graph, size_t vectors,
                                   size_t other, uint64_t on_disk) {
    double n = coll->vectors > 0 ? (double)coll->vectors : 1;
    add_reply_map_len(c, 6);
    add_reply_bulk_cstr(c, "codes");
    add_reply_double(c, (double)codes / n);
    add_reply_bulk_cstr(c, "graph");
    add_reply_double(c, (double)graph / n);
    add_reply_bulk_cstr(c, "exact_vectors");
    add_reply_double(c, (double)vectors / n);
    add_reply_bulk_cstr(c, "metadata");
    add_reply_double(c, (double)coll->metadata_bytes / n);
    add_reply_bulk_cstr(c, "other");
    add_reply_double(c, (double)other / n);
    add_reply_bulk_cstr(c, "exact_vectors_on_disk");
    add_reply_double(c, (double)on_disk / n);
}

void phInfoCommand(client *c) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    size_t mvec = 0, mlinks = 0, mother = 0, mcodes = 0;
    if (coll->hnsw) {
        hnsw_memory m;
        hnsw_memory_usage(coll->hnsw, &m);
        mvec = m.vectors;
        mcodes = m.codes;
        mlinks = m.links;
        mother = m.other;
    } else if (coll->flat) {
        flat_memory(coll->flat, &mvec, &mother);
    } else if (coll->ivf) {
        ivfpq_memory m;
        ivfpq_memory_usage(coll->ivf, &m);
        mcodes = m.codes;
        mlinks = m.ids + m.lookup + m.terms;
        mvec = m.pending;
        mother = m.model + m.other;
    }
    double progress = 100;
    const char *state = coll->ivf ? ivf_state(coll, &progress) : "ready";
    mother += sizeof(*coll) + (size_t)coll->entities * sizeof(entity);
    long long gedges, gmem;
    graph_db_stats(c->db, &gedges, &gmem); /* edges may cross collections: the database's */
    add_reply_map_len(c, 40);
    reply_kv_str(c, "name", coll->name);
    reply_kv_str(c, "prefix", coll->prefix);
    reply_kv_long(c, "dim", coll->dim);
    reply_kv_str(c, "metric", metric_name(coll->metric));
    reply_kv_str(c, "index", coll->index == INDEX_FLAT ? "FLAT" : coll->index == INDEX_IVFPQ ? "IVFPQ" : "HNSW");
    reply_kv_long(c, "m", coll->M);
    reply_kv_long(c, "ef_construction", coll->ef_construction);
    reply_kv_long(c, "ef_runtime", coll->ef_runtime);
    reply_kv_long(c, "nlist", coll->nlist);
    reply_kv_long(c, "pq_m", coll->pq_m);
    reply_kv_long(c, "nprobe", coll->nprobe);
    reply_kv_long(c, "trainings", coll->trainings);
    reply_kv_str(c, "quant", quant_name(coll->quant));
    reply_kv_str(c, "exact_vectors", coll->vf ? "disk" : coll->no_exact || coll->ivf ? "no" : "yes");
    reply_kv_long(c, "rescore", coll->rescore);
    reply_kv_long(c, "entities", coll->entities);
    reply_kv_long(c, "vectors", coll->vectors);
    reply_kv_long(c, "memory_vectors", (long long)mvec);
    reply_kv_long(c, "memory_index", (long long)mlinks);
    reply_kv_long(c, "memory_other", (long long)mother);
    reply_kv_long(c, "memory_metadata", coll->metadata_bytes);
    reply_kv_long(c, "memory_codes", (long long)mcodes);
    vecfile_stats vs = {0, 0, 0, 0};
    if (coll->vf) vecfile_get_stats(coll->vf, &vs);
    mother += vs.memory;
    reply_kv_long(c, "vector_file_bytes", (long long)vs.file_bytes);
    add_reply_bulk_cstr(c, "bytes_per_vector");
    reply_bytes_per_vector(c, coll, mcodes, mlinks, mvec, mother, vs.file_bytes);
    reply_kv_str(c, "index_state", state);
    reply_kv_double(c, "index_progress", progress);
    reply_kv_str(c, "simd", vec_isa_name(vec_dist_current()));
    reply_kv_long(c, "searches", coll->searches);
    reply_kv_long(c, "exact_searches", coll->exact_searches);
    reply_kv_long(c, "filtered_scan", coll->filtered_scan);
    reply_kv_long(c, "filtered_graph", coll->filtered_graph);
    reply_kv_long(c, "filtered_fallback", coll->filtered_fallback);
    reply_kv_long(c, "filtered_index_scan", coll->filtered_index_scan);
    reply_kv_long(c, "filtered_full_scan", coll->filtered_full_scan);
    reply_kv_long(c, "filtered_acorn", coll->filtered_acorn);
    reply_kv_long(c, "filtered_postfilter", coll->filtered_postfilter);
    add_reply_bulk_cstr(c, "fields");
    reply_fields(c, coll);
    reply_kv_long(c, "edges", coll->edges);
    reply_kv_long(c, "db_graph_edges", gedges);
    reply_kv_long(c, "db_graph_memory", gmem);
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
        e->has_vec = vec != NULL;
        if (meta) {
            json_decref(e->meta);
            e->meta = meta;
            meta = NULL;
        }
        if (coll_attach_vec(coll, e, vec, (uint32_t)dim) != 0) {
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
            if (e->has_vec) r = index_update(coll, e, vec);
            else r = index_insert(coll, e, vec);
            if (r < 0) {
                add_reply_errorf(c, "the index refused the vector: %s", index_strerror(r));
                goto done;
            }
            if (!e->has_vec) coll->vectors++;
            e->has_vec = 1;
            if (coll->metric == HNSW_METRIC_COSINE) e->norm = (float)vec_norm(vec, (size_t)dim);
        }
        if (meta) {
            if (attached(e)) fields_remove_entity(e->coll, e);
            if (e->coll) e->coll->metadata_bytes -= entity_meta_bytes(e);
            json_decref(e->meta);
            e->meta = meta;
            if (e->coll) e->coll->metadata_bytes += entity_meta_bytes(e);
            if (attached(e)) fields_add_entity(e->coll, e);
            meta = NULL;
        }
    }
    server_incr_dirty(1);
    notify_keyspace_event(NOTIFY_ENTITY, "ph.set", c->argv[1].ptr, c->argv[1].len, c->db->id);
    add_reply_long(c, created);
done:
    zfree(vec);
    if (meta) json_decref(meta);
}

/* e's vector as a blob of format fmt (VFMT_*): FP16 rounds to nearest
 * even (beyond 65504: infinity), INT8 rounds to the nearest integer and
 * clamps to [-128, 127]. */
static void reply_vector_blob(client *c, const entity *e, int fmt) {
    uint32_t dim = entity_dim(e);
    float *v = dim ? zmalloc(sizeof(float) * dim) : NULL;
    if (!v || !entity_vector(e, v)) {
        zfree(v);
        add_reply_null(c);
        return;
    }
    if (fmt == VFMT_FP16) {
        unsigned char *b = (unsigned char *)v; /* 2 bytes out per 4 in: converts in place, front to back */
        for (uint32_t k = 0; k < dim; k++) {
            uint16_t h = quant_f32_to_f16(v[k]);
            b[2 * k] = (unsigned char)h;
            b[2 * k + 1] = (unsigned char)(h >> 8);
        }
    } else if (fmt == VFMT_INT8) {
        signed char *b = (signed char *)v;
        for (uint32_t k = 0; k < dim; k++) {
            float x = nearbyintf(v[k]);
            b[k] = (signed char)(x > 127 ? 127 : x < -128 ? -128 : x);
        }
    }
    add_reply_bulk(c, (const char *)v, vfmt_bytes[fmt] * dim);
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
    int want_vec = 0, want_values = 0, want_meta = 0, want_edges = 0, fmt = VFMT_FP32;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "vector")) {
            want_vec = 1;
            if (vector_format_at(c, i + 1) >= 0) fmt = vector_format_at(c, ++i);
        } else if (arg_is(c, i, "values")) want_values = 1;
        else if (arg_is(c, i, "meta")) want_meta = 1;
        else if (arg_is(c, i, "edges")) want_edges = 1;
        else {
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
    add_reply_map_len(c, want_vec + want_values + want_meta + want_edges);
    if (want_vec) {
        add_reply_bulk_cstr(c, "vector");
        reply_vector_blob(c, e, fmt);
    }
    if (want_values) {
        add_reply_bulk_cstr(c, "values");
        uint32_t dim = entity_dim(e);
        float *v = dim ? zmalloc(sizeof(float) * dim) : NULL;
        if (!v || !entity_vector(e, v)) {
            add_reply_null(c);
        } else {
            add_reply_array_len(c, dim);
            for (uint32_t i = 0; i < dim; i++) add_reply_double(c, v[i]);
        }
        zfree(v);
    }
    if (want_meta) {
        add_reply_bulk_cstr(c, "meta");
        reply_meta(c, e);
    }
    if (want_edges) {
        add_reply_bulk_cstr(c, "edges");
        graph_reply_entity_edges(c, e->edges);
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
    if (e->coll) e->coll->metadata_bytes -= entity_meta_bytes(e);
    if (!e->meta) e->meta = json_object();
    if (attached(e)) fields_remove_entity(e->coll, e);
    merge_patch(e->meta, patch);
    if (attached(e)) fields_add_entity(e->coll, e);
    json_decref(patch);
    if (e->coll) e->coll->metadata_bytes += entity_meta_bytes(e);
    server_incr_dirty(1);
    notify_keyspace_event(NOTIFY_ENTITY, "ph.patch", c->argv[1].ptr, c->argv[1].len, c->db->id);
    add_reply_ok(c);
}

/* ---------------- PH.SEARCH ---------------- */

#define ACORN_SEEDS 16 /* entry points an ACORN walk takes from an index */
#define ACORN_SEED_SAMPLE 64 /* matches the seeds are chosen from */
#define ACORN_SEED_SAMPLE_FAR 256 /* the same after a short post-filter walk */
#define ISLAND_SEEDS 8 /* entry points it takes among a tag's islands */

typedef struct search_ctx {
    collection *coll;
    const filter_expr *filter; /* FILTER, or NULL */
    db *db;
    int64_t now_ms;
    uint64_t exclude; /* LIKE: the query entity's label (0: none) */
    int64_t deadline_us;
    uint32_t calls;
    int timed_out;
    long long checks;              /* walk node checks (ANALYZE) */
    long long accepted;            /* scans: vectors accepted (distances computed) */
    fieldidx_labelset *matchset;   /* walks: the labels that may match, or NULL */
    const fieldidx_labelset *probe_sets[8]; /* walks: a TAG constraint's sets */
    int nprobe;                    /* -1: no probe; else a label must be in one */
    int probe_decides;             /* a probe (or matchset) decides; results verified */
    const uint64_t *slot_bits;     /* ACORN: the constraint's slots (slot_map), or NULL */
    size_t slot_words;
    hnsw_acorn_cache *acorn_lists; /* ACORN: the slot map's list cache, or NULL */
    struct slot_map_entry *slot_map; /* ACORN: the slot map in use, or NULL */
    uint64_t seeds[ACORN_SEEDS + ISLAND_SEEDS]; /* ACORN: matching entities to start from */
    size_t nseeds;
    long long seed_distances;      /* ACORN: distances computed to choose them */
    int64_t us_map;                /* ACORN: building a slot map (once per map,
                                      not charged to the plan's factor) */
    int warming;                   /* ACORN: the walk built more cached lists
                                      than it reused (not measured either) */
    int slot_decides;              /* ACORN: slot_bits is exactly the filter's matches */
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
        if (x && dict_entry_s64(x) <= s->now_ms) return 0;
    }
    if (s->filter) {
        s->checks++;
        if (!filter_eval(s->filter, ENTITY_OF(label)->meta)) return 0;
    }
    s->accepted++;
    return 1;
}

static bool accept_label_bool(uint64_t label, void *p) { return accept_label(label, p) != 0; }

typedef struct search_opts {
    size_t k, ef;
    uint32_t rescore; /* RESCORE: over-fetch of a quantized walk (0: the collection's) */
    uint32_t nprobe;  /* NPROBE: IVF-PQ lists scanned (0: the collection's) */
    int exact, withscores, withmeta, withvectors;
    double radius;
    int has_radius;
    long long timeout_ms;
    int ret_first, ret_count; /* RETURN paths: argv[ret_first .. +ret_count) */
    filter_expr *filter;      /* FILTER, owned */
    filter_path **ret;        /* RETURN paths parsed, owned (ret_count of them) */
    int explain, analyze;     /* PH.EXPLAIN, and its ANALYZE */
    graph_expand_opts *expand; /* EXPAND, RERANK, WITHPATHS (t_graph.c), owned */
} search_opts;

static void search_opts_free(search_opts *o) {
    graph_expand_opts_free(o->expand);
    filter_free(o->filter);
    for (int r = 0; r < o->ret_count; r++) filter_path_free(o->ret[r]);
    zfree(o->ret);
}

static int parse_search_opts(client *c, int i, collection *coll, search_opts *o) {
    int explain = o->explain;
    memset(o, 0, sizeof(*o));
    o->explain = explain;
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
        } else if (arg_is(c, i, "rescore") && more) {
            if (arg_long_range(c, ++i, 1, 100, &v, "RESCORE must be between 1 and 100") < 0) return -1;
            o->rescore = (uint32_t)v;
        } else if (arg_is(c, i, "nprobe") && more) {
            if (arg_long_range(c, ++i, 1, IVFPQ_MAX_NLIST, &v, "NPROBE must be between 1 and 1048576") < 0) return -1;
            o->nprobe = (uint32_t)v;
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
        } else if (o->explain && arg_is(c, i, "analyze")) {
            o->analyze = 1;
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
        } else if ((v = graph_search_option(c, &i, &o->expand)) != 0) {
            if (v < 0) return -1;
        } else {
            add_reply_err_syntax(c);
            return -1;
        }
    }
    if (o->ef < o->k) o->ef = o->k;
    return graph_search_validate(c, o->expand, o->withvectors || o->ret_count);
}

/* EXPAND: the vector score of an entity reached through the graph (NAN
 * unless it has a vector in the searched collection). */
typedef struct expand_score_ctx {
    collection *coll;
    float *q; /* the query, normalized for COSINE */
} expand_score_ctx;

static double expand_score(void *priv, void *ent) {
    expand_score_ctx *x = priv;
    entity *e = ent;
    if (!e->has_vec || !attached(e) || e->coll != x->coll) return NAN;
    const float *v = coll_get_vector(x->coll, LABEL(e));
    if (!v) return NAN;
    uint32_t dim = x->coll->dim;
    return score_of(x->coll, x->coll->metric == HNSW_METRIC_L2 ? vec_l2sq(x->q, v, dim) : 1.0f - vec_dot(x->q, v, dim));
}

/* PH.SEARCH ... EXPAND: the hits within RADIUS seed the graph expansion,
 * which replies (t_graph.c). */
static void reply_expanded(client *c, collection *coll, search_opts *o, const float *q, uint64_t *labels, float *dists,
                           int n) {
    void **hits = zmalloc(sizeof(void *) * (size_t)(n ? n : 1));
    double *scores = zmalloc(sizeof(double) * (size_t)(n ? n : 1));
    int nh = 0;
    for (int i = 0; i < n; i++) {
        double score = score_of(coll, dists[i]);
        if (o->has_radius && score > o->radius) continue;
        hits[nh] = ENTITY_OF(labels[i]);
        scores[nh++] = score;
    }
    expand_score_ctx x = {.coll = coll, .q = zmalloc(sizeof(float) * coll->dim)};
    memcpy(x.q, q, sizeof(float) * coll->dim);
    if (coll->metric == HNSW_METRIC_COSINE) vec_normalize(x.q, coll->dim);
    graph_search_reply(c, o->expand, hits, scores, nh, expand_score, &x, o->withmeta);
    zfree(x.q);
    zfree(hits);
    zfree(scores);
}

static void reply_results(client *c, collection *coll, search_opts *o, uint64_t *labels, float *dists, int n) {
    int rich = o->withscores || o->withmeta || o->withvectors || o->ret_count;
    /* Each result is two dependent cache misses (entity, then its key
     * string): fetch all entities, then all keys, so that they overlap
     * instead of coming one after the other (5% of a query at 100k). */
    for (int i = 0; i < n; i++) __builtin_prefetch(ENTITY_OF(labels[i]));
    for (int i = 0; i < n; i++) __builtin_prefetch(ENTITY_OF(labels[i])->key - 1);
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
            reply_vector_blob(c, e, VFMT_FP32);
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

/* ---------------- the filtered-search planner ---------------- */

/* How a filtered search runs (planner.h has the cost model):
 *  1. estimate the matches: when constraints of the filter's top-level AND
 *     hit ready FIELD indexes, the product of their selectivities (the
 *     "index" source; "index+sample" when the filter has other parts too,
 *     then the smaller of that and the sample), else a sample of up to 256
 *     vectors ("sample");
 *  2. the planner picks the cheapest of: index scan (the labels of the
 *     most selective indexed constraint, filter evaluated on each, exact
 *     distances), full scan, ACORN walk (hnsw.c's ACORN mode), post-filter
 *     walk (hnsw.c's default filtered mode). EXACT and FLAT collections
 *     choose between the two scans only;
 *  3. walks check a node with an index probe when one decides the filter:
 *     a TAG constraint's label set, or, for one NUMERIC constraint, a set
 *     of its labels built first (its cost is part of the plan; kept for
 *     the next walk with the same constraint). Results of a probe-only
 *     walk are verified with the whole filter. ACORN walks start from
 *     seeds too (the nearest of sampled matches and of a tag's islands)
 *     and, when their constraint repeats on an unchanged collection, test
 *     a bitmap of its slots before any probe (ACORN slot maps below);
 *  4. a walk that ends with fewer than K results although it was not cut
 *     short (TIMEOUT) falls back to an exact scan, so K results come back
 *     whenever K entities match.
 * PH.EXPLAIN shows steps 1-2; with ANALYZE it runs the search and adds what
 * happened (candidates, filter checks, nodes visited, distances, fallback,
 * microseconds per stage). */

#define SELECTIVITY_SAMPLES 256
/* Unit costs in ns of the planner's model: ns_per_distance is measured
 * from unfiltered walks (all of a walk's work per distance), ns_per_check
 * from sampling; the others are constants. A check reads the node's label
 * and metadata out of cache, which dominates: memory latencies more than
 * computation. What the model misses (cache behaviour, filters correlated
 * with the vectors, walks that fall back) is learned per collection and
 * strategy, and per field for filters whose best index constraint is on a
 * declared field (a filter correlated with the vectors, such as a class
 * label, behaves unlike a random one): the ratio of measured to predicted
 * time (plan_factor) scales the strategy's next predictions. A factor
 * above 1 drifts back toward 1 while its strategy is not chosen, so a
 * strategy that was slow once is tried again later. A factor below 1
 * stays: it says the strategy beats the model (an ACORN walk over a slot
 * map checks nodes by a bit test, ~15 times under its modelled cost), and
 * letting it drift up would hand its queries to slower strategies, whose
 * own factors then say little (1M x 128 at 1%: runs of hundreds of
 * post-filter walks at 1-6 ms instead of ACORN walks at 0.35 ms). A
 * strategy whose factor is too low is measured when next chosen. */
#define NS_PROBE_DEFAULT 80.0  /* a walk's node check by index probe */
#define NS_SET_ADD 12.0        /* one label added to a match set */
#define NS_LINK 60.0           /* one link list out of cache */
#define NS_EVAL_DEFAULT 150.0  /* filter evaluation on metadata out of cache */
#define NS_SCAN_DEFAULT 100.0  /* an index-scan candidate: entity and vector lookups */
#define NS_FULL_SLOT 10.0      /* a full-scan slot: its label, in slot order */
#define NS_BIT 2.0             /* a walk's node refused by a slot bitmap */
#define NS_BIT_MATCH 15.0      /* one it lets through: its label (no metadata) */

/* Folds a measurement into an average (the first one sets it). */
static void ewma(double *avg, double x) {
    if (!(x > 0) || !isfinite(x)) return;
    *avg = *avg > 0 ? 0.8 * *avg + 0.2 * x : x;
}
/* Label sets reused by every search (searches run one at a time on the
 * main thread): a fresh table per query would pay for fresh pages each
 * time, which costs more than the work. Tables up to SEARCH_SET_KEEP slots
 * (1 MB) are kept between queries. */
#define SEARCH_SET_KEEP (1u << 17)
static fieldidx_labelset *search_seen_set, *search_match_set;

static fieldidx_labelset *search_set(fieldidx_labelset **s) {
    if (!*s) *s = fieldidx_labelset_new();
    return *s;
}

/* Strategies besides the planner's: an unfiltered walk and EXACT scans. */
enum { STRAT_HNSW = PLAN_COUNT, STRAT_EXACT, STRAT_IVFPQ };

static const char *strategy_name(int s) {
    return s == STRAT_HNSW    ? "hnsw"
           : s == STRAT_EXACT ? "exact"
           : s == STRAT_IVFPQ ? "ivfpq"
                              : planner_strategy_name((planner_strategy)s);
}

typedef struct search_plan {
    int strategy;
    int planned; /* pp holds the planner's costs */
    planner_plan pp;
    double est_matches, est_low; /* est_low: a lower bound (sampling error) */
    const char *est_source;
    const coll_field *enum_field; /* the most selective indexed constraint */
    const filter_constraint *enum_c;
    double enum_candidates;
    const coll_field *probe_field; /* a TAG constraint that walks can probe */
    const filter_constraint *probe_c;
    int probe_decides; /* the filter is exactly the probed (or set) constraint */
    int use_matchset;  /* build a label set of enum_c for a walk */
    int enum_decides;  /* the filter is exactly enum_c (an indexed constraint) */
    /* ANALYZE */
    long long candidates, checks, visited, distances;
    int fallback, timed_out;
    int entry_points; /* of the last ACORN walk (hnsw_search_params.entries; 0: one) */
    int64_t us_plan, us_setup, us_search, us_fallback;
} search_plan;

/* What search_match_set holds after a walk: the labels of one numeric
 * constraint (op, number) of field index idx at version `version`, or
 * nothing (idx NULL). A walk with the same constraint on the unchanged
 * index (fieldidx_version) reuses the set instead of building it again:
 * repeated filters cost no set-up. */
static struct {
    const fieldidx *idx;
    uint64_t version;
    filter_op op;
    filter_value value;
} match_key;

/* 1 when constraint c has a scalar number, the only constraints cached. */
static int numeric_constraint(const filter_constraint *c) {
    return (c->value.type == FILTER_INT || c->value.type == FILTER_DOUBLE) && c->op != FILTER_OP_IN &&
           c->op != FILTER_OP_CONTAINS && c->op != FILTER_OP_EXISTS;
}

/* 1 when search_match_set holds the labels of plan p's index constraint. */
static int matchset_current(const search_plan *p) {
    const filter_constraint *c = p->enum_c;
    if (!match_key.idx || match_key.idx != p->enum_field->idx || !numeric_constraint(c)) return 0;
    if (match_key.version != fieldidx_version(match_key.idx) || match_key.op != c->op) return 0;
    if (match_key.value.type != c->value.type) return 0;
    return c->value.type == FILTER_INT ? match_key.value.i == c->value.i : match_key.value.d == c->value.d;
}

static void matchset_remember(const search_plan *p) {
    if (!numeric_constraint(p->enum_c)) return;
    match_key.idx = p->enum_field->idx;
    match_key.version = fieldidx_version(match_key.idx);
    match_key.op = p->enum_c->op;
    match_key.value = p->enum_c->value;
}

/* Fraction of the collection's vectors whose metadata matches f, estimated
 * from up to SELECTIVITY_SAMPLES entities spread evenly over the index's
 * dense slots (a systematic sample), with add-half smoothing; *low gets a
 * lower bound (hits minus two standard deviations). Also updates the
 * collection's measured cost of one filter evaluation. */
static double estimate_selectivity(collection *coll, const filter_expr *f, double *low) {
    uint32_t cnt = coll->hnsw ? hnsw_count(coll->hnsw) : 0;
    *low = 0;
    if (!cnt) return coll->vectors ? 0.5 : 0;
    uint32_t samples = cnt < SELECTIVITY_SAMPLES ? cnt : SELECTIVITY_SAMPLES, hits = 0;
    int64_t t0 = util_monotonic_us();
    for (uint32_t i = 0; i < samples; i++) {
        uint32_t slot = (uint32_t)((uint64_t)i * cnt / samples);
        hits += (uint32_t)filter_eval(f, ENTITY_OF(hnsw_label_at(coll->hnsw, slot))->meta);
    }
    double ns = (double)(util_monotonic_us() - t0) * 1000.0 / samples;
    if (samples >= 64) ewma(&coll->ns_per_check, ns);
    double lo = (double)hits - 2.0 * sqrt((double)hits);
    *low = lo > 0 ? lo / (double)samples : 0;
    if (samples == cnt) *low = (double)hits / (double)samples; /* the whole collection: exact */
    return ((double)hits + 0.5) / ((double)samples + 1.0);
}

/* A ready field of coll that can answer constraint k, or NULL. */
static const coll_field *field_for(const collection *coll, const filter_constraint *k) {
    for (int i = 0; i < coll->nfields; i++) {
        const coll_field *f = &coll->fields[i];
        if (!f->building && fieldidx_can_answer(f->idx, k)) return f;
    }
    return NULL;
}

/* Step 1: the estimated matches, and the index constraints usable. */
static void plan_estimate(collection *coll, const filter_expr *f, search_plan *p) {
    size_t nc = 0;
    int exact = 0, answered = 0, all;
    const filter_constraint *cs = filter_constraints(f, &nc, &exact);
    double ents = coll->entities > 0 ? (double)coll->entities : 1, sel = 1, probe_count = 0;
    all = exact;
    for (size_t i = 0; i < nc; i++) {
        const coll_field *cf = field_for(coll, &cs[i]);
        if (!cf) {
            all = 0;
            continue;
        }
        double cnt = fieldidx_count(cf->idx, &cs[i]);
        answered++;
        sel *= cnt < ents ? cnt / ents : 1;
        if (!p->enum_field || cnt < p->enum_candidates) {
            p->enum_field = cf;
            p->enum_c = &cs[i];
            p->enum_candidates = cnt;
        }
        if (fieldidx_get_type(cf->idx) == FIELDIDX_TAG && (!p->probe_field || cnt < probe_count)) {
            p->probe_field = cf;
            p->probe_c = &cs[i];
            probe_count = cnt;
        }
    }
    double n = (double)coll->vectors, low;
    if (answered && all) {
        p->est_matches = p->est_low = sel * n;
        p->est_source = "index";
    } else if (answered) {
        double s2 = estimate_selectivity(coll, f, &low);
        p->est_matches = (s2 < sel ? s2 : sel) * n;
        p->est_low = (low < sel ? low : sel) * n;
        p->est_source = "index+sample";
    } else {
        p->est_matches = estimate_selectivity(coll, f, &low) * n;
        p->est_low = low * n;
        p->est_source = "sample";
    }
    if (all && nc == 1 && p->probe_field) p->probe_decides = 1;
    else if (all && nc == 1 && p->enum_field) p->use_matchset = 1;
    if (all && nc == 1 && p->enum_field) p->enum_decides = 1;
}

/* The estimated fraction of the collection's vectors that match plan p's
 * filter (1 for an empty collection). */
static double plan_selectivity(const collection *coll, const search_plan *p) {
    return coll->vectors ? p->est_matches / (double)coll->vectors : 1;
}

/* The planner's corrections that apply to plan p: its index field's, else
 * the collection's. */
static double *plan_factors(collection *coll, const search_plan *p) {
    return p->enum_field ? ((coll_field *)p->enum_field)->plan_factor : coll->plan_factor;
}

/* 1 when POSTFILTER walks are widened: fp32 HNSW walks (a quantized walk
 * keeps its candidates for rescoring instead). */
static int post_widened(const collection *coll) { return coll->hnsw && coll->quant == HNSW_QUANT_NONE; }

/* The fraction of post-filter walks finished by an ACORN walk, for plan p
 * (planner_input.post_fallback): its index field's, else the collection's. */
static double *plan_post_fallback(collection *coll, const search_plan *p) {
    return p->enum_field ? &((coll_field *)p->enum_field)->post_fallback : &coll->post_fallback;
}

static void slot_map_plan(collection *coll, const search_plan *p, int *mapped, int *listed);

/* Step 2: the strategy. */
static void plan_search(collection *coll, const search_opts *o, search_plan *p) {
    int exact_only = coll->flat || o->exact;
    if (coll->ivf) { /* the probed lists, filtered as they are scanned; exact when that falls short */
        p->strategy = exact_only ? STRAT_EXACT : STRAT_IVFPQ;
        p->est_source = "none";
        p->est_matches = (double)coll->vectors;
        return;
    }
    if (!o->filter) {
        p->strategy = exact_only ? STRAT_EXACT : STRAT_HNSW;
        p->est_source = "none";
        p->est_matches = (double)coll->vectors;
        return;
    }
    plan_estimate(coll, o->filter, p);
    double ns_eval = coll->ns_per_check > 0 ? coll->ns_per_check : NS_EVAL_DEFAULT;
    double ns_probe = NS_PROBE_DEFAULT, ns_scan = NS_SCAN_DEFAULT;
    double ns_dist = coll->ns_per_distance > 0 ? coll->ns_per_distance : 5.0 + 0.05 * coll->dim;
    planner_input in = {
        .vectors = (double)coll->vectors, .matches = p->est_matches, .matches_low = p->est_low,
        .candidates = p->enum_field ? p->enum_candidates : -1, .k = (double)o->k, .ef = (double)o->ef,
        .m0 = 2.0 * coll->M, .graph_distances = coll->graph_distances_per_ef * (double)o->ef,
        .ns_distance = ns_dist, .ns_check = ns_eval, .ns_scan_check = ns_scan + ns_eval,
        .ns_full_check = NS_FULL_SLOT + ns_eval, .ns_link = NS_LINK,
    };
    double *factors = plan_factors(coll, p);
    memcpy(in.factor, factors, sizeof(in.factor));
    in.post_fallback = *plan_post_fallback(coll, p);
    in.widen = post_widened(coll);
    if (p->probe_decides) {
        in.ns_check = ns_probe;
    } else if (p->probe_field) {
        double ps = plan_selectivity(coll, p);
        in.ns_check = ns_probe + (ps < 1 ? ps : 1) * ns_eval;
    }
    /* an ACORN walk of a repeated constraint tests a slot bitmap: a refused
     * node costs a bit test, and when the filter is just that constraint a
     * passing node needs no set, probe or metadata (acorn_setup); its
     * second hops may come from the list cache */
    int mapped, listed;
    slot_map_plan(coll, p, &mapped, &listed);
    if (mapped) {
        in.ns_refuse = NS_BIT;
        in.listed = listed;
        if (p->enum_decides) {
            in.ns_check = NS_BIT_MATCH;
            p->use_matchset = 0;
        }
    }
    planner_choose(&in, &p->pp);
    if (p->use_matchset) {
        /* walks may check nodes against a set of the constraint's labels
         * built first, or evaluate the filter: whichever plan is cheaper */
        planner_plan with_set;
        in.ns_check = ns_probe;
        in.walk_setup = matchset_current(p) ? 0 : p->enum_candidates * NS_SET_ADD;
        planner_choose(&in, &with_set);
        if (with_set.cost[with_set.strategy] < p->pp.cost[p->pp.strategy]) p->pp = with_set;
        else p->use_matchset = 0;
        if (p->pp.strategy == PLAN_INDEX_SCAN || p->pp.strategy == PLAN_FULL_SCAN) p->use_matchset = 0;
    }
    p->planned = 1;
    for (int i = 0; i < PLAN_COUNT; i++) /* unchosen slow strategies drift back toward 1 */
        if (i != (int)p->pp.strategy && factors[i] > 1) factors[i] = 1 + (factors[i] - 1) * 0.995;
    if (p->pp.strategy != PLAN_POSTFILTER) *plan_post_fallback(coll, p) *= 0.995; /* and toward 0 */
    if (planner_force >= 0 && planner_force < PLAN_COUNT && p->pp.cost[planner_force] >= 0)
        p->pp.strategy = (planner_strategy)planner_force;
    if (exact_only) {
        double a = p->pp.cost[PLAN_INDEX_SCAN], b = p->pp.cost[PLAN_FULL_SCAN];
        p->strategy = a >= 0 && a <= b ? PLAN_INDEX_SCAN : PLAN_FULL_SCAN;
    } else {
        p->strategy = p->pp.strategy;
    }
}

/* ---------------- PH.SEARCH execution ---------------- */

static inline float query_distance(const collection *coll, const float *qq, const float *v) {
    return coll->metric == HNSW_METRIC_L2 ? vec_l2sq(qq, v, coll->dim) : 1.0f - vec_dot(qq, v, coll->dim);
}

/* The query as the index compares it (COSINE: normalized); caller frees. */
static float *index_query(const collection *coll, const float *q) {
    float *qq = zmalloc(sizeof(float) * coll->dim);
    memcpy(qq, q, sizeof(float) * coll->dim);
    if (coll->metric == HNSW_METRIC_COSINE) vec_normalize(qq, coll->dim);
    return qq;
}

/* IVFPQ's exact scan: every list and the pending vectors, each vector as
 * the collection holds it (the file with RESCORE, else the reconstruction;
 * pending ones as given). */
static int ivf_exact_scan(collection *coll, const float *qq, size_t k, search_ctx *sctx, uint64_t *labels,
                          float *dists) {
    flat_topk t;
    flat_topk_init(&t, k);
    uint32_t nl = ivfpq_is_trained(coll->ivf) ? coll->nlist : 0;
    for (uint32_t l = 0; l < nl; l++) {
        size_t n;
        const uint64_t *ids;
        const uint8_t *codes;
        if (ivfpq_export_list(coll->ivf, l, &n, &ids, &codes) != IVFPQ_OK) continue;
        for (size_t i = 0; i < n; i++) {
            if (!accept_label(ids[i], sctx)) continue;
            const float *v = coll_get_vector(coll, ids[i]);
            if (v) flat_topk_push(&t, ids[i], query_distance(coll, qq, v));
        }
    }
    size_t np = ivfpq_pending_count(coll->ivf);
    for (size_t i = 0; i < np; i++) {
        uint64_t label;
        const float *v;
        if (ivfpq_export_pending(coll->ivf, i, &label, &v) != IVFPQ_OK || !accept_label(label, sctx)) continue;
        flat_topk_push(&t, label, query_distance(coll, qq, v));
    }
    return (int)flat_topk_finish(&t, labels, dists);
}

/* IVF-PQ search: nprobe lists by ADC (plus the vectors not encoded yet,
 * exactly); with RESCORE, k * rescore candidates re-ranked by their exact
 * vectors from the vector file. Returns the results or an index error. */
static int ivf_search(collection *coll, const float *q, const search_opts *o, search_ctx *sctx, uint64_t *labels,
                      float *dists) {
    size_t k = o->k, keep = coll->vf ? k * (o->rescore ? o->rescore : coll->rescore) : k;
    uint64_t *cl = coll->vf ? zmalloc(sizeof(uint64_t) * keep) : labels;
    float *cd = coll->vf ? zmalloc(sizeof(float) * keep) : dists;
    /* the filter callback also checks expiry, LIKE's own entity and TIMEOUT */
    int needs_filter = sctx->filter || sctx->exclude || dict_size(sctx->db->expires) || sctx->deadline_us;
    ivfpq_search_params sp = {.k = keep, .nprobe = o->nprobe ? o->nprobe : coll->nprobe,
                              .filter = needs_filter ? accept_label_bool : NULL, .filter_ctx = sctx};
    int n = ivfpq_search(coll->ivf, q, &sp, cl, cd, NULL);
    if (n >= 0 && coll->vf) { /* re-ranked by exact distance, also with RESCORE 1 */
        float *qq = index_query(coll, q);
        flat_topk t;
        flat_topk_init(&t, k);
        for (int i = 0; i < n; i++) {
            const float *v = coll_get_vector(coll, cl[i]);
            flat_topk_push(&t, cl[i], v ? query_distance(coll, qq, v) : cd[i]);
        }
        n = (int)flat_topk_finish(&t, labels, dists);
        zfree(qq);
    }
    if (coll->vf) {
        zfree(cl);
        zfree(cd);
    }
    return n < 0 ? ivf_result(n) : n;
}

/* Exact top k of the accepted vectors of an HNSW, FLAT or IVFPQ collection. */
static int exact_scan(collection *coll, const float *q, size_t k, search_ctx *sctx, uint64_t *labels, float *dists) {
    if (coll->flat) return flat_search(coll->flat, q, k, accept_label, sctx, labels, dists);
    if (coll->ivf) {
        float *qq = index_query(coll, q);
        int n = ivf_exact_scan(coll, qq, k, sctx, labels, dists);
        zfree(qq);
        return n;
    }
    uint32_t cnt = hnsw_count(coll->hnsw);
    float *qq = index_query(coll, q);
    flat_topk t;
    flat_topk_init(&t, k);
    for (uint32_t s = 0; s < cnt; s++) {
        uint64_t label = hnsw_label_at(coll->hnsw, s);
        if (!accept_label(label, sctx)) continue;
        const float *v = hnsw_vector_at(coll->hnsw, s);
        if (!v) v = coll_get_vector(coll, label); /* ONDISK: the file; NOEXACT: the decoded code */
        if (v) flat_topk_push(&t, label, query_distance(coll, qq, v));
    }
    zfree(qq);
    return (int)flat_topk_finish(&t, labels, dists);
}

typedef struct index_scan_ctx {
    search_ctx *sctx;
    fieldidx_labelset *seen;
    uint64_t *labels; /* the constraint's candidates, each once */
    size_t n, cap;
} index_scan_ctx;

/* Collects the candidates; stops (the scan then finds nothing more) when
 * TIMEOUT passes, checked every 4096 labels. */
static int index_scan_collect(uint64_t label, void *p) {
    index_scan_ctx *x = p;
    search_ctx *s = x->sctx;
    if (s->deadline_us && (x->n & 4095) == 4095 && util_monotonic_us() > s->deadline_us) s->timed_out = 1;
    if (s->timed_out) return 1;
    if (!fieldidx_labelset_add(x->seen, label)) return 0; /* an array or IN gave it twice */
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 256;
        x->labels = zrealloc(x->labels, x->cap * sizeof(uint64_t));
    }
    x->labels[x->n++] = label;
    return 0;
}

/* How far ahead index_scan prefetches: the entity of the candidate
 * 2 * INDEX_SCAN_AHEAD ahead, then that candidate's metadata and vector
 * once its entity has arrived. The candidates come in value order, so
 * each one is a few cache misses in random places (entity, metadata,
 * vector); without prefetching the scan waits for them one at a time. */
#define INDEX_SCAN_AHEAD 6

static void index_scan_prefetch(const collection *coll, uint64_t label) {
    const entity *e = ENTITY_OF(label);
    if (e->meta) __builtin_prefetch(e->meta);
    if (coll->hnsw && e->coll == coll && e->ix_pos != HNSW_NONE) {
        /* NULL when the slot is out of range or the index keeps no exact vectors */
        const char *v = (const char *)hnsw_vector_at(coll->hnsw, e->ix_pos);
        if (v) {
            __builtin_prefetch(v);
            __builtin_prefetch(v + 64);
        }
    }
}

/* Exact top k among the candidates of the plan's index constraint: the
 * candidates are collected first (deduplicated), then checked and
 * measured with the next ones' memory already on its way. */
static int index_scan(collection *coll, const float *q, size_t k, search_ctx *sctx, search_plan *p, uint64_t *labels,
                      float *dists) {
    flat_topk t;
    flat_topk_init(&t, k);
    float *qq = index_query(coll, q);
    index_scan_ctx x = {sctx, search_set(&search_seen_set), NULL, 0, 0};
    fieldidx_foreach(p->enum_field->idx, p->enum_c, index_scan_collect, &x);
    fieldidx_labelset_clear(x.seen, SEARCH_SET_KEEP);
    for (size_t i = 0; i < x.n && i < 2 * INDEX_SCAN_AHEAD; i++) __builtin_prefetch(ENTITY_OF(x.labels[i]));
    for (size_t i = 0; i < x.n && !sctx->timed_out; i++) {
        if (i + 2 * INDEX_SCAN_AHEAD < x.n) __builtin_prefetch(ENTITY_OF(x.labels[i + 2 * INDEX_SCAN_AHEAD]));
        if (i + INDEX_SCAN_AHEAD < x.n) index_scan_prefetch(coll, x.labels[i + INDEX_SCAN_AHEAD]);
        uint64_t label = x.labels[i];
        entity *e = ENTITY_OF(label);
        if (e->coll != coll || !attached(e) || !e->has_vec) continue;
        p->candidates++;
        if (!accept_label(label, sctx)) continue;
        const float *v = coll_get_vector(coll, label);
        if (!v) continue;
        p->distances++;
        flat_topk_push(&t, label, query_distance(coll, qq, v));
    }
    zfree(x.labels);
    zfree(qq);
    return (int)flat_topk_finish(&t, labels, dists);
}

/* Adds a label to the walk's match set; stops (the walk then finds
 * nothing) when TIMEOUT passes, checked every 4096 labels. */
static int matchset_add(uint64_t label, void *p) {
    search_ctx *s = p;
    fieldidx_labelset_add(s->matchset, label);
    if (s->deadline_us && (fieldidx_labelset_size(s->matchset) & 4095) == 0 && util_monotonic_us() > s->deadline_us)
        s->timed_out = 1;
    return s->timed_out;
}

/* 0 when the TAG probe of sctx (if any) rules label out. */
static inline int probe_passes(const search_ctx *s, uint64_t label) {
    if (s->nprobe < 0) return 1;
    for (int i = 0; i < s->nprobe; i++)
        if (fieldidx_labelset_contains(s->probe_sets[i], label)) return 1;
    return 0;
}

/* The node check of a filtered walk: index probes first, then (unless a
 * probe decides) the filter on the metadata. */
static bool walk_accept(uint64_t label, void *p) {
    search_ctx *s = p;
    s->checks++;
    if (label == s->exclude) return false;
    if (s->deadline_us && (++s->calls & 255) == 0 && util_monotonic_us() > s->deadline_us) s->timed_out = 1;
    if (s->timed_out) return false;
    if (s->matchset && !fieldidx_labelset_contains(s->matchset, label)) return false;
    if (!probe_passes(s, label)) return false;
    if (dict_size(s->db->expires)) {
        dict_entry *x = dict_find(s->db->expires, ENTITY_OF(label)->key);
        if (x && dict_entry_s64(x) <= s->now_ms) return false;
    }
    if (s->filter && !s->probe_decides && !filter_eval(s->filter, ENTITY_OF(label)->meta)) return false;
    return true;
}

/* Keeps the results that satisfy the whole filter (after a walk that
 * checked nodes by index probes only). Returns the new count. */
static int verify_results(const filter_expr *f, uint64_t *labels, float *dists, int n) {
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (!filter_eval(f, ENTITY_OF(labels[i])->meta)) continue;
        labels[out] = labels[i];
        dists[out++] = dists[i];
    }
    return out;
}

/* Lists of matching nodes and transit lists a cache built and reused. */
static void acorn_lists_made(const hnsw_acorn_cache *c, uint64_t *built, uint64_t *reused) {
    uint64_t tb, tr;
    hnsw_acorn_cache_counts(c, built, reused);
    hnsw_acorn_cache_transit_counts(c, &tb, &tr);
    *built += tb, *reused += tr;
}

/* Runs an HNSW walk (unfiltered, ACORN or post-filter). Returns the results
 * or a negative hnsw error; *cut is set when TIMEOUT stopped it. */
static int graph_walk(collection *coll, const float *q, const search_opts *o, search_ctx *sctx, search_plan *p,
                      int strategy, uint64_t *labels, float *dists, int *cut) {
    hnsw_search_params sp = {.k = o->k, .ef = o->ef, .filter = NULL, .filter_ctx = sctx,
                             .acorn = strategy == PLAN_ACORN, .rescore = o->rescore,
                             .exact_vector = coll->vf ? vector_file_read : NULL, .exact_ctx = coll};
    const filter_expr *post = NULL; /* POSTFILTER: evaluated on the fetched results */
    if (strategy == PLAN_ACORN) {
        sp.filter = walk_accept;
        sp.seeds = sctx->seeds;
        sp.nseeds = sctx->nseeds;
        sp.match_slots = sctx->slot_bits;
        sp.match_words = sctx->slot_words;
        sp.acorn_cache = sctx->acorn_lists;
        /* walk_accept would only read each label to find it matches: with
         * no LIKE entity, deadline or expiring key to check, a set bit of
         * a deciding map is the answer */
        sp.match_exact = sctx->slot_decides && !sctx->exclude && !sctx->deadline_us && !dict_size(sctx->db->expires);
        /* entry points pay when the matches are too sparse for their
         * subgraph to hang together: fewer than one matching neighbour
         * per node (2M x selectivity < 1); denser matches are reached
         * from one start, and the beam on layer 1 would only add time */
        if (plan_selectivity(coll, p) * 2.0 * coll->M < 1.0)
            sp.entries = (uint32_t)((size_t)acorn_entry_points < o->ef ? (size_t)acorn_entry_points : o->ef);
        p->entry_points = (int)sp.entries;
    } else {
        if (strategy == PLAN_POSTFILTER) {
            double ef2, s = plan_selectivity(coll, p);
            sp.widen = post_widened(coll);
            sp.k = (size_t)planner_overfetch((double)o->k, (double)o->ef, s, MAX_K, &sp.widen, &ef2);
            sp.ef = ef2 > MAX_EF ? MAX_EF : (size_t)ef2;
            post = sctx->filter;
            sctx->filter = NULL; /* the walk checks only LIKE and expiry */
        }
        if (sctx->exclude || dict_size(sctx->db->expires)) sp.filter = accept_label_bool;
    }
    if (o->timeout_ms && coll->ns_per_distance > 0)
        sp.max_distances = (uint64_t)((double)o->timeout_ms * 1e6 / coll->ns_per_distance) + 1;
    hnsw_search_stats st;
    int64_t t0 = util_monotonic_us();
    uint64_t *l = labels;
    float *d = dists;
    if (post) {
        l = zmalloc(sizeof(uint64_t) * sp.k);
        d = zmalloc(sizeof(float) * sp.k);
    }
    /* a walk that built more cached lists than it reused did one-time work
     * (sctx->warming) */
    uint64_t built0, reused0, built1, reused1;
    acorn_lists_made(sp.acorn_cache, &built0, &reused0);
    int n = hnsw_search_ex(coll->hnsw, coll->scratch, q, &sp, l, d, &st);
    int64_t took = util_monotonic_us() - t0;
    acorn_lists_made(sp.acorn_cache, &built1, &reused1);
    if (built1 - built0 > reused1 - reused0) sctx->warming = 1;
    if (post) {
        /* the first K fetched results that match, in distance order; a TAG
         * probe rules most out without touching the entity, and the
         * entities are fetched ahead (each evaluation is a chain of cache
         * misses: entity, object, hash table, value) */
        int kept = 0;
        for (int i = 0; i < n && i < 16; i++) __builtin_prefetch(ENTITY_OF(l[i]));
        for (int i = 0; i < n && (size_t)kept < o->k; i++) {
            if (i + 16 < n) __builtin_prefetch(ENTITY_OF(l[i + 16]));
            if (i + 8 < n) __builtin_prefetch(ENTITY_OF(l[i + 8])->meta);
            sctx->checks++;
            if (!probe_passes(sctx, l[i]) || !filter_eval(post, ENTITY_OF(l[i])->meta)) continue;
            labels[kept] = l[i];
            dists[kept++] = d[i];
        }
        if (n >= 0) n = kept;
        sctx->filter = post;
        zfree(l);
        zfree(d);
    }
    p->visited += (long long)st.visited;
    p->distances += (long long)st.distances;
    if (strategy == STRAT_HNSW && st.distances > 100) {
        double ns = (double)took * 1000.0 / (double)st.distances;
        coll->ns_per_distance = coll->ns_per_distance > 0 ? 0.9 * coll->ns_per_distance + 0.1 * ns : ns;
        double per_ef = (double)st.distances / (double)o->ef;
        coll->graph_distances_per_ef =
            coll->graph_distances_per_ef > 0 ? 0.9 * coll->graph_distances_per_ef + 0.1 * per_ef : per_ef;
    }
    *cut = sctx->timed_out || st.budget_exhausted;
    if (n > 0 && sctx->probe_decides) n = verify_results(o->filter, labels, dists, n);
    return n;
}

typedef struct seed_ctx {
    collection *coll;
    search_ctx *sctx;
    uint64_t *labels;
    size_t n, max, seen, stride;
} seed_ctx;

/* Collects every stride-th candidate of the index constraint, up to max. */
static int seed_visit(uint64_t label, void *p) {
    seed_ctx *x = p;
    entity *e = ENTITY_OF(label);
    if (x->seen++ % x->stride || e->coll != x->coll || !attached(e) || !e->has_vec || label == x->sctx->exclude)
        return 0;
    x->labels[x->n++] = label;
    return x->n == x->max;
}

/* Pushes into t the distance from qq (an index_query) to the vector of
 * each of labels[0..n), skipping labels without one; returns the
 * distances computed. The vectors are cold: when their addresses are
 * stable (an HNSW index keeping fp32 vectors) all are located first and
 * each is fetched whole while the distance two before it is computed. */
static size_t push_distances(collection *coll, const float *qq, const uint64_t *labels, size_t n, flat_topk *t) {
    size_t done = 0;
    if (!coll->hnsw || coll->no_exact || coll->vf) {
        for (size_t i = 0; i < n; i++) {
            const float *v = coll_get_vector(coll, labels[i]);
            if (!v) continue;
            flat_topk_push(t, labels[i], query_distance(coll, qq, v));
            done++;
        }
        return done;
    }
    const float **v = zmalloc(sizeof(*v) * (n ? n : 1));
    size_t bytes = sizeof(float) * coll->dim;
    for (size_t i = 0; i < n; i++) v[i] = hnsw_get_vector(coll->hnsw, labels[i]);
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && v[i + 2])
            for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch((const char *)v[i + 2] + off);
        if (!v[i]) continue;
        flat_topk_push(t, labels[i], query_distance(coll, qq, v[i]));
        done++;
    }
    zfree(v);
    return done;
}

/* ---- ACORN islands ----
 * An ACORN-1 walk reaches a matching node only from a matching neighbour
 * or through one non-matching node (hnsw.c). A member of a tag whose
 * layer-0 neighbours all lack the tag (an "island": an odd item among
 * items of other classes, when the tag correlates with the vectors) is
 * unreachable unless the walk starts there, so the walks of a TAG filter
 * also start from the ISLAND_SEEDS islands nearest the query. A field
 * keeps the island list of the last ISLAND_CACHE tag sets walks probed,
 * built on first use (one neighbour-list read per member: sets of more
 * than ISLAND_MAX_SET members get none) and rebuilt once the set or the
 * collection grew or shrank by 1/16 since. A list may be stale: a label is
 * used only while the tag's set still holds it, and it is a seed only, so
 * it costs recall at worst, never a wrong result. */
#define ISLAND_MAX_SET 65536
#define ISLAND_CACHE 8

typedef struct island_build {
    collection *coll;
    const fieldidx_labelset *set;
    island_list *list;
    size_t cap;
} island_build;

static bool island_in_set(uint64_t label, void *p) {
    return fieldidx_labelset_contains(((island_build *)p)->set, label);
}

static int island_visit(uint64_t label, void *p) {
    island_build *b = p;
    if (hnsw_count_matching_links(b->coll->hnsw, label, island_in_set, b) != 0) return 0; /* linked, or no vector */
    if (b->list->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->list->labels = zrealloc(b->list->labels, sizeof(uint64_t) * b->cap);
    }
    b->list->labels[b->list->n++] = label;
    return 0;
}

/* Frees a field's island lists. */
static void islands_free(coll_field *f) {
    for (int i = 0; i < f->nislands; i++) zfree(f->islands[i].labels);
    zfree(f->islands);
    f->islands = NULL;
    f->nislands = 0;
}

static int drifted(double now, double then) { return fabs(now - then) > then / 16 + 1; }

/* The island list of tag set `set` of field f, built or rebuilt as needed;
 * NULL when the set is too large. */
static const island_list *islands_of(collection *coll, coll_field *f, const fieldidx_labelset *set) {
    size_t size = fieldidx_labelset_size(set);
    if (size > ISLAND_MAX_SET) return NULL;
    island_list *l = NULL;
    for (int i = 0; i < f->nislands && !l; i++)
        if (f->islands[i].set == set) l = &f->islands[i];
    if (l && !drifted((double)size, (double)l->set_size) && !drifted((double)coll->vectors, (double)l->vectors))
        return l;
    if (!l) {
        if (f->nislands == ISLAND_CACHE) { /* forget the oldest */
            zfree(f->islands[0].labels);
            memmove(f->islands, f->islands + 1, sizeof(island_list) * (ISLAND_CACHE - 1));
            f->nislands--;
        }
        f->islands = zrealloc(f->islands, sizeof(island_list) * (size_t)(f->nislands + 1));
        l = &f->islands[f->nislands++];
        l->labels = NULL;
    }
    zfree(l->labels);
    *l = (island_list){set, size, coll->vectors, NULL, 0};
    island_build b = {coll, set, l, 0};
    fieldidx_labelset_foreach(set, island_visit, &b);
    return l;
}

/* Adds the ISLAND_SEEDS islands of the walk's one probed tag set nearest
 * to q to sctx's seeds. */
static void island_seeds(collection *coll, coll_field *f, search_ctx *sctx, const float *q) {
    const fieldidx_labelset *set = sctx->probe_sets[0];
    const island_list *l = islands_of(coll, f, set);
    if (!l || !l->n) return;
    uint64_t *live = zmalloc(sizeof(uint64_t) * l->n);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (fieldidx_labelset_contains(set, l->labels[i])) live[n++] = l->labels[i]; /* else left the tag */
    float *qq = index_query(coll, q);
    flat_topk t;
    flat_topk_init(&t, ISLAND_SEEDS);
    sctx->seed_distances += (long long)push_distances(coll, qq, live, n, &t);
    float d[ISLAND_SEEDS];
    sctx->nseeds += flat_topk_finish(&t, sctx->seeds + sctx->nseeds, d);
    zfree(qq);
    zfree(live);
}

/* ---- ACORN slot maps ----
 * A bitmap over the HNSW slots of the entities of the plan's index
 * constraint, which ACORN walks test before calling walk_accept
 * (hnsw_search_params.match_slots): most nodes a selective walk meets are
 * refused by one bit test instead of a label read and a set probe (the
 * bitmap of a 60,000-vector collection is 7.5 KB: it stays in cache).
 * Building it reads each candidate's entity for its slot, which costs
 * more than one walk saves, so a map is built when the planner sees a
 * constraint (field index, operator, value) for the second time while it
 * holds one of the SLOT_MAPS entries (the last constraints planned), and
 * neither the field index (fieldidx_version) nor any slot (slot_moves)
 * changed in between, and kept while that holds: repeated filters on a
 * stable collection, a few of them mixed. Constraints on arrays (IN) get none.
 * The planner prices ACORN with the map (a refused node is a bit test)
 * and its lists when they exist or may be made (slot_map_plan). When the
 * filter is just the map's constraint, a node the map lets through
 * matches: the walk reads no metadata for it (acorn_setup).
 * With the map comes a cache of the walks' ACORN neighbour lists over it
 * (hnsw_acorn_cache): a list is built the first time a walk expands its
 * node and read back by later walks, which then skip the link records of
 * the node's non-matching neighbours, the cost of a selective walk. It is
 * dropped with the map, and takes at most ACORN_CACHE_MAX bytes (about
 * 140 B per match at M 16) or is not made. */
#define ACORN_CACHE_MAX ((size_t)64 << 20)
/* The list caches of all the maps together; a map whose lists would pass
 * this takes the lists of the least recently planned maps away (they go
 * on without lists until their map is rebuilt). */
#define ACORN_CACHE_TOTAL ((size_t)128 << 20)
/* Maps kept at once: a workload that mixes a few filters (a tenant or a
 * category per query) keeps one per constraint instead of rebuilding a
 * single map at every change (two 1M x 128 filters alternating, 1% and a
 * 10% TAG: 1.1-1.5 ms per query with one map, as without maps). */
#define SLOT_MAPS 8
typedef struct slot_map_entry {
    const hnsw_index *h; /* NULL: an empty entry */
    uint64_t moves;
    const fieldidx *idx;
    uint64_t version;
    filter_op op;
    filter_value value; /* a string's bytes point into str */
    char *str;
    uint64_t *bits; /* NULL: the key was seen once, no map yet */
    size_t words;
    hnsw_acorn_cache *lists; /* over bits, or NULL */
    int lists_tried;         /* hnsw_acorn_cache_new was called for these bits */
    int sightings;           /* plans of this key while in the table (2 and more: a map) */
    uint64_t used;           /* slot_map_clock at its last plan */
    uint64_t *seed_labels;   /* acorn_setup's seed sample of the key, kept with
                                the map (it does not depend on the query) */
    size_t nseed_labels;
    int seeds_sampled;
} slot_map_entry;
static slot_map_entry slot_maps[SLOT_MAPS];
static uint64_t slot_map_clock;

typedef struct slot_map_build {
    const collection *coll;
    slot_map_entry *m;
} slot_map_build;

static int slot_map_visit(uint64_t label, void *p) {
    const slot_map_build *b = p;
    const entity *e = ENTITY_OF(label);
    if (e->coll != b->coll || !attached(e) || !e->has_vec || (size_t)(e->ix_pos >> 6) >= b->m->words) return 0;
    b->m->bits[e->ix_pos >> 6] |= 1ULL << (e->ix_pos & 63);
    return 0;
}

/* 1 when map m's key is constraint c of index idx over h, unchanged (idx
 * is live: m->idx is compared before its version is read). */
static int slot_map_matches(const slot_map_entry *m, const hnsw_index *h, const fieldidx *idx,
                            const filter_constraint *c) {
    const filter_value *a = &m->value, *b = &c->value;
    if (!m->h || m->h != h || m->moves != slot_moves || m->idx != idx || m->version != fieldidx_version(idx) ||
        m->op != c->op || a->type != b->type)
        return 0;
    switch (a->type) {
    case FILTER_INT: return a->i == b->i;
    case FILTER_DOUBLE: return a->d == b->d;
    case FILTER_BOOL: return a->b == b->b;
    case FILTER_STRING: return a->str.len == b->str.len && memcmp(a->str.ptr, b->str.ptr, a->str.len) == 0;
    default: return 0;
    }
}

static slot_map_entry *slot_map_find(const collection *coll, const search_plan *p) {
    for (int i = 0; i < SLOT_MAPS; i++)
        if (slot_map_matches(&slot_maps[i], coll->hnsw, p->enum_field->idx, p->enum_c)) return &slot_maps[i];
    return NULL;
}

/* 1 when plan p's index constraint can have a slot map. */
static int slot_map_keyable(const collection *coll, const search_plan *p) {
    if (!p->enum_field || !coll->hnsw) return 0;
    const filter_constraint *c = p->enum_c;
    int scalar = c->value.type == FILTER_INT || c->value.type == FILTER_DOUBLE || c->value.type == FILTER_BOOL ||
                 c->value.type == FILTER_STRING;
    return scalar && c->op != FILTER_OP_EXISTS;
}

static void slot_map_drop_lists(slot_map_entry *m) {
    hnsw_acorn_cache_free(m->lists);
    m->lists = NULL;
}

/* Frees map m and empties its entry. */
static void slot_map_drop(slot_map_entry *m) {
    slot_map_drop_lists(m);
    zfree(m->bits);
    zfree(m->str);
    zfree(m->seed_labels);
    memset(m, 0, sizeof(*m));
}

/* Drops the maps over index h (it is being freed or replaced). */
static void slot_maps_forget(const hnsw_index *h) {
    for (int i = 0; h && i < SLOT_MAPS; i++)
        if (slot_maps[i].h == h) slot_map_drop(&slot_maps[i]);
}

/* Makes an entry plan p's constraint's (seen once): an empty one, else
 * one whose slots moved, else the least recently planned. */
static slot_map_entry *slot_map_rekey(collection *coll, const search_plan *p) {
    slot_map_entry *m = &slot_maps[0];
    for (int i = 0; i < SLOT_MAPS; i++) {
        slot_map_entry *x = &slot_maps[i];
        if (!x->h) {
            m = x;
            break;
        }
        if (x->moves != slot_moves && m->moves == slot_moves) m = x;
        else if ((x->moves != slot_moves) == (m->moves != slot_moves) && x->used < m->used) m = x;
    }
    slot_map_drop(m);
    const filter_constraint *c = p->enum_c;
    const fieldidx *idx = p->enum_field->idx;
    m->h = coll->hnsw;
    m->moves = slot_moves;
    m->idx = idx;
    m->version = fieldidx_version(idx);
    m->op = c->op;
    m->value = c->value;
    if (c->value.type == FILTER_STRING) {
        m->str = zmalloc(c->value.str.len ? c->value.str.len : 1);
        memcpy(m->str, c->value.str.ptr, c->value.str.len);
        m->value.str.ptr = m->str;
    }
    m->sightings = 1;
    return m;
}

/* About the bytes of a list cache for plan p's index constraint
 * (hnsw_acorn_cache_new: a rank word per bitmap word, 3 + 2M words per
 * candidate). */
static double slot_map_list_bytes(const collection *coll, const search_plan *p) {
    return ((double)hnsw_count(coll->hnsw) / 64 + 1) * 4 + p->enum_candidates * (3 + 2.0 * coll->M) * 4;
}

/* For the planner (plan_search, before the walk): counts plan p's index
 * constraint as seen once more, and says whether an ACORN walk of it would
 * have a slot map (*mapped: from its second plan on while it keeps an
 * entry) and a list cache (*listed: made, or not tried yet and within
 * ACORN_CACHE_MAX for the constraint's candidates). */
static void slot_map_plan(collection *coll, const search_plan *p, int *mapped, int *listed) {
    *mapped = *listed = 0;
    if (!slot_map_keyable(coll, p)) return;
    slot_map_entry *m = slot_map_find(coll, p);
    if (!m) {
        slot_map_rekey(coll, p)->used = ++slot_map_clock;
        return;
    }
    m->used = ++slot_map_clock;
    if (m->sightings < 2) m->sightings++;
    *mapped = 1;
    *listed = m->lists ? 1 : !m->lists_tried && slot_map_list_bytes(coll, p) <= (double)ACORN_CACHE_MAX;
}

/* Takes list caches from the least recently planned maps other than m
 * until `bytes` more fit within ACORN_CACHE_TOTAL. */
static void slot_map_make_room(const slot_map_entry *m, size_t bytes) {
    for (;;) {
        size_t total = 0;
        slot_map_entry *lru = NULL;
        for (int i = 0; i < SLOT_MAPS; i++) {
            slot_map_entry *x = &slot_maps[i];
            if (!x->lists) continue;
            total += hnsw_acorn_cache_bytes(x->lists);
            if (x != m && (!lru || x->used < lru->used)) lru = x;
        }
        if (total + bytes <= ACORN_CACHE_TOTAL || !lru) return;
        slot_map_drop_lists(lru);
    }
}

/* Points sctx at the slot map of plan p's index constraint when it was
 * planned twice while in the table (building it then). The key is
 * slot_map_plan's business: every filtered plan passes there before its
 * walk. */
static void slot_map_use(collection *coll, search_ctx *sctx, const search_plan *p) {
    if (!slot_map_keyable(coll, p)) return;
    slot_map_entry *m = slot_map_find(coll, p);
    if (!m || m->sightings < 2) return;
    if (!m->bits) {
        int64_t t0 = util_monotonic_us();
        m->words = ((size_t)hnsw_count(coll->hnsw) + 63) / 64;
        m->bits = zcalloc(sizeof(uint64_t) * (m->words ? m->words : 1));
        slot_map_build b = {coll, m};
        fieldidx_foreach(p->enum_field->idx, p->enum_c, slot_map_visit, &b);
        sctx->us_map += util_monotonic_us() - t0;
    }
    if (!m->lists_tried) {
        double want = slot_map_list_bytes(coll, p);
        slot_map_make_room(m, want < (double)ACORN_CACHE_MAX ? (size_t)want : ACORN_CACHE_MAX);
        m->lists = hnsw_acorn_cache_new(coll->hnsw, m->bits, m->words, ACORN_CACHE_MAX);
        m->lists_tried = 1;
    }
    sctx->slot_map = m;
    sctx->slot_bits = m->bits;
    sctx->slot_words = m->words;
    sctx->acorn_lists = m->lists;
}

/* Prepares the node checks of an ACORN walk (a set of the index
 * constraint's labels, or the label sets of a TAG constraint) and its
 * seeds: the ACORN_SEEDS entities closest to the query among `sample`
 * matches spread over the index constraint's candidates, so that a walk
 * whose query lies away from the matches (a filter correlated with the
 * vectors) also starts among the nearest of them. */
static void acorn_setup(collection *coll, search_ctx *sctx, const search_plan *p, const float *q, size_t sample) {
    sctx->nseeds = 0;
    if (p->enum_field && coll->hnsw) slot_map_use(coll, sctx, p);
    if (p->enum_field && sample) {
        /* the sample depends on the constraint, not on the query: with a
         * slot map (a repeated constraint, unchanged since) it is taken
         * once and kept with the map, and later walks only compute its
         * distances (1M x 128 at 1%: 38 us of a 354 us walk was this) */
        slot_map_entry *m = sctx->slot_bits && sample == ACORN_SEED_SAMPLE && !sctx->exclude ? sctx->slot_map : NULL;
        seed_ctx x = {coll, sctx, NULL, 0, sample, 0, 1};
        if (m && m->seeds_sampled) {
            x.labels = m->seed_labels;
            x.n = m->nseed_labels;
        } else {
            x.labels = zmalloc(sizeof(uint64_t) * sample);
            /* a stride spreads the sample over the candidates, within a
             * bounded walk of the index (at most 8 x sample entries) */
            if (p->enum_candidates > (double)sample) x.stride = (size_t)(p->enum_candidates / (double)sample);
            if (x.stride > 8) x.stride = 8;
            fieldidx_foreach(p->enum_field->idx, p->enum_c, seed_visit, &x);
            if (m) {
                m->seed_labels = x.labels;
                m->nseed_labels = x.n;
                m->seeds_sampled = 1;
            }
        }
        float *qq = index_query(coll, q);
        flat_topk t;
        flat_topk_init(&t, ACORN_SEEDS);
        sctx->seed_distances += (long long)push_distances(coll, qq, x.labels, x.n, &t);
        float d[ACORN_SEEDS];
        sctx->nseeds = flat_topk_finish(&t, sctx->seeds, d);
        zfree(qq);
        if (!m) zfree(x.labels); /* else the map keeps them */
    }
    /* the slot map is exact for enum_c (slot_map_matches: the same
     * constraint on the same index version), so when the filter is just
     * that constraint a node the bitmap lets through matches: the walk's
     * check needs no label set, probe or metadata (the results are still
     * verified; 1M x 128 at 1%: the filter's evaluation was 16% of the
     * walk's time) */
    int decided = sctx->slot_bits && p->enum_decides;
    if (p->use_matchset && !decided) {
        sctx->matchset = search_set(&search_match_set);
        if (!matchset_current(p)) {
            fieldidx_labelset_clear(sctx->matchset, SEARCH_SET_KEEP);
            match_key.idx = NULL;
            fieldidx_foreach(p->enum_field->idx, p->enum_c, matchset_add, sctx);
            if (!sctx->timed_out) matchset_remember(p);
        }
        sctx->probe_decides = 1;
    } else if (p->probe_field) {
        sctx->nprobe = fieldidx_probe_sets(p->probe_field->idx, p->probe_c, sctx->probe_sets, 8);
        if (sctx->nprobe > 8) sctx->nprobe = -1; /* too many tags: evaluate instead */
        sctx->probe_decides = sctx->nprobe >= 0 && p->probe_decides;
        if (sctx->nprobe == 1) island_seeds(coll, (coll_field *)p->probe_field, sctx, q);
    }
    if (decided) {
        sctx->nprobe = -1;
        sctx->probe_decides = 1;
        sctx->slot_decides = 1;
    }
}

static void acorn_teardown(search_ctx *sctx) {
    /* the match set stays for the next walk with the same constraint
     * (matchset_key) when its table is small enough to keep */
    if (sctx->matchset && (!match_key.idx || fieldidx_labelset_size(sctx->matchset) > SEARCH_SET_KEEP / 2)) {
        fieldidx_labelset_clear(sctx->matchset, SEARCH_SET_KEEP);
        match_key.idx = NULL;
    }
    sctx->matchset = NULL;
    sctx->slot_map = NULL;
    sctx->slot_bits = NULL;
    sctx->acorn_lists = NULL;
    sctx->nprobe = -1;
    sctx->probe_decides = 0;
    sctx->slot_decides = 0;
}

/* The exact scan that finishes a walk that ended short. */
static int exact_fallback(collection *coll, const float *q, const search_opts *o, search_ctx *sctx, search_plan *p,
                          uint64_t *labels, float *dists) {
    if (p->enum_field) return index_scan(coll, q, o->k, sctx, p, labels, dists);
    sctx->accepted = 0;
    int n = exact_scan(coll, q, o->k, sctx, labels, dists);
    p->candidates += coll->vectors;
    p->distances += sctx->accepted;
    return n;
}

/* Runs the plan; returns the number of results or a negative hnsw error.
 * A walk that ends with fewer than K results (and was not cut short by
 * TIMEOUT) is finished another way: a POSTFILTER walk by an ACORN walk
 * (its shortfall usually means the filter is correlated with the vectors,
 * which ACORN handles), an ACORN walk by an exact scan. Each strategy's
 * measured time over its predicted cost feeds the planner (plan_factor),
 * except the one-time work of a slot map and of its first lists, which
 * later walks of the same filter do not repeat. */
static int search_execute(collection *coll, const float *q, const search_opts *o, search_ctx *sctx, search_plan *p,
                          uint64_t *labels, float *dists) {
    int n, cut = 0, strategy = p->strategy;
    int64_t start = util_monotonic_us(), t0 = start;
    if (strategy == STRAT_IVFPQ) {
        n = ivf_search(coll, q, o, sctx, labels, dists);
        if (n >= 0 && o->filter && (size_t)n < o->k) { /* the probed lists held too few matches */
            p->fallback = 2;
            n = exact_fallback(coll, q, o, sctx, p, labels, dists);
        }
    } else if (strategy == PLAN_INDEX_SCAN) {
        n = index_scan(coll, q, o->k, sctx, p, labels, dists);
    } else if (strategy == PLAN_FULL_SCAN || strategy == STRAT_EXACT) {
        n = exact_scan(coll, q, o->k, sctx, labels, dists);
        p->candidates += coll->vectors;
        p->distances += sctx->accepted;
    } else {
        if (strategy == PLAN_ACORN) {
            acorn_setup(coll, sctx, p, q, ACORN_SEED_SAMPLE);
            p->us_setup = util_monotonic_us() - t0;
            t0 += p->us_setup;
        } else if (strategy == PLAN_POSTFILTER && p->probe_field) {
            sctx->nprobe = fieldidx_probe_sets(p->probe_field->idx, p->probe_c, sctx->probe_sets, 8);
            if (sctx->nprobe > 8) sctx->nprobe = -1;
        }
        n = graph_walk(coll, q, o, sctx, p, strategy, labels, dists, &cut);
        acorn_teardown(sctx);
        p->us_search = util_monotonic_us() - t0;
        t0 += p->us_search;
        if (n >= 0 && o->filter && (size_t)n < o->k && !cut && strategy == PLAN_POSTFILTER && coll->hnsw) {
            p->fallback = 1;
            acorn_setup(coll, sctx, p, q, ACORN_SEED_SAMPLE_FAR);
            n = graph_walk(coll, q, o, sctx, p, PLAN_ACORN, labels, dists, &cut);
            acorn_teardown(sctx);
        }
        if (n >= 0 && o->filter && (size_t)n < o->k && !cut) {
            p->fallback = 2;
            n = exact_fallback(coll, q, o, sctx, p, labels, dists);
        }
        p->us_fallback = util_monotonic_us() - t0;
    }
    p->checks = sctx->checks;
    p->distances += sctx->seed_distances;
    if (!p->fallback) p->us_search = util_monotonic_us() - start - p->us_setup;
    p->timed_out = sctx->timed_out || cut;
    if (p->planned && strategy < PLAN_COUNT && !p->timed_out && !sctx->warming && p->pp.cost[strategy] > 0) {
        /* a post-filter walk is measured without the ACORN walk that
         * finished it, which its fallback rate accounts for */
        int post = strategy == PLAN_POSTFILTER && p->pp.post_walk > 0;
        int64_t took = util_monotonic_us() - start - (post && p->fallback == 1 ? p->us_fallback : 0) - sctx->us_map;
        double f = (double)took * 1000.0 / (post ? p->pp.post_walk : p->pp.cost[strategy]);
        ewma(&plan_factors(coll, p)[strategy], f < 0.05 ? 0.05 : f > 20 ? 20 : f);
        if (post) {
            double *pf = plan_post_fallback(coll, p);
            *pf = 0.8 * *pf + (p->fallback == 1 ? 0.2 : 0);
        }
    }
    return n;
}

static void count_strategy(collection *coll, const search_plan *p) {
    coll->searches++;
    switch (p->strategy) {
    case STRAT_EXACT: coll->exact_searches++; break;
    case PLAN_INDEX_SCAN: coll->filtered_index_scan++; coll->filtered_scan++; coll->exact_searches++; break;
    case PLAN_FULL_SCAN: coll->filtered_full_scan++; coll->filtered_scan++; coll->exact_searches++; break;
    case PLAN_ACORN: coll->filtered_acorn++; coll->filtered_graph++; break;
    case PLAN_POSTFILTER: coll->filtered_postfilter++; coll->filtered_graph++; break;
    default: break;
    }
    if (p->fallback) coll->filtered_fallback++;
}


/* PH.EXPLAIN's reply: the plan, and with ANALYZE what the run did. */
static void reply_plan(client *c, collection *coll, const search_opts *o, const search_plan *p, int n) {
    add_reply_map_len(c, 10 + (o->analyze ? 1 : 0));
    reply_kv_str(c, "strategy", strategy_name(p->strategy));
    reply_kv_str(c, "estimate_source", p->est_source);
    reply_kv_double(c, "estimated_matches", p->est_matches);
    reply_kv_double(c, "selectivity", coll->vectors ? p->est_matches / (double)coll->vectors : 0);
    reply_kv_long(c, "vectors", coll->vectors);
    reply_kv_long(c, "k", (long long)o->k);
    reply_kv_long(c, "ef", (long long)o->ef);
    add_reply_bulk_cstr(c, "index_field");
    if (p->enum_field) add_reply_bulk_cstr(c, fieldidx_path_text(p->enum_field->idx));
    else add_reply_null(c);
    reply_kv_double(c, "index_candidates", p->enum_field ? p->enum_candidates : -1);
    add_reply_bulk_cstr(c, "costs");
    add_reply_map_len(c, p->planned ? PLAN_COUNT : 0);
    for (int i = 0; p->planned && i < PLAN_COUNT; i++) {
        add_reply_bulk_cstr(c, planner_strategy_name((planner_strategy)i));
        if (p->pp.cost[i] < 0) add_reply_null(c); /* not possible for this query */
        else add_reply_double(c, p->pp.cost[i] / 1000.0); /* estimated microseconds */
    }
    if (!o->analyze) return;
    add_reply_bulk_cstr(c, "analyze");
    add_reply_map_len(c, 12);
    reply_kv_long(c, "results", n);
    reply_kv_long(c, "candidates", p->candidates);
    reply_kv_long(c, "filter_checks", p->checks);
    reply_kv_long(c, "visited", p->visited);
    reply_kv_long(c, "distances", p->distances);
    reply_kv_long(c, "fallback", p->fallback);
    reply_kv_long(c, "entry_points", p->entry_points);
    reply_kv_long(c, "timed_out", p->timed_out);
    reply_kv_long(c, "us_plan", p->us_plan);
    reply_kv_long(c, "us_setup", p->us_setup);
    reply_kv_long(c, "us_search", p->us_search);
    reply_kv_long(c, "us_fallback", p->us_fallback);
}

/* PH.SEARCH and PH.EXPLAIN: parse, plan, run (unless a plain EXPLAIN),
 * reply. */
static void search_generic(client *c, int explain) {
    collection *coll = coll_or_reply(c, &c->argv[1]);
    if (!coll) return;
    if (!coll->dim) {
        add_reply_errorf(c, "collection '%s' has no DIM: it holds no vectors", coll->name);
        return;
    }
    int i = 2, dim;
    float *q = NULL;
    search_ctx sctx = {.coll = coll, .db = c->db, .now_ms = server_mstime(), .nprobe = -1};
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
            add_reply_errorf(c, "%s needs VECTOR, VALUES or LIKE after the collection name",
                             explain ? "PH.EXPLAIN" : "PH.SEARCH");
            return;
        }
        if (check_vector(c, coll, q, dim) < 0) {
            zfree(q);
            return;
        }
    }
    search_opts o;
    memset(&o, 0, sizeof(o));
    o.explain = explain;
    if (parse_search_opts(c, i, coll, &o) < 0) {
        search_opts_free(&o);
        zfree(q);
        return;
    }
    sctx.filter = o.filter;
    int64_t start = util_monotonic_us();
    if (o.timeout_ms) sctx.deadline_us = start + o.timeout_ms * 1000;
    search_plan plan;
    memset(&plan, 0, sizeof(plan));
    plan_search(coll, &o, &plan);
    plan.us_plan = util_monotonic_us() - start;
    uint64_t *labels = NULL;
    float *dists = NULL;
    int n = 0;
    if (!explain || o.analyze) {
        labels = zmalloc(sizeof(uint64_t) * o.k);
        dists = zmalloc(sizeof(float) * o.k);
        n = search_execute(coll, q, &o, &sctx, &plan, labels, dists);
        if (n < 0) {
            add_reply_errorf(c, "search failed: %s", index_strerror(n));
            goto done;
        }
        if (!explain) count_strategy(coll, &plan);
    }
    if (explain) reply_plan(c, coll, &o, &plan, n);
    else if (o.expand) reply_expanded(c, coll, &o, q, labels, dists, n);
    else reply_results(c, coll, &o, labels, dists, n);
done:
    search_opts_free(&o);
    zfree(labels);
    zfree(dists);
    zfree(q);
}

void phSearchCommand(client *c) { search_generic(c, 0); }

void phExplainCommand(client *c) { search_generic(c, 1); }

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
#define ENT_F_EXACT 4 /* in a graph of an ONDISK collection: the exact vector follows the norm */

/* ONDISK: the exact vector of e into the snapshot; a failed read writes NaN,
 * which the loader refuses, so the damage cannot go unnoticed. */
static void encode_file_vector(ds *out, const entity *e) {
    uint32_t dim = entity_dim(e);
    float *v = zmalloc(sizeof(float) * dim);
    if (vecfile_get(e->coll->vf, e->disk_rec, v) != 0) {
        server_log(LL_WARNING, "snapshot: reading the vector of %s from the vector file failed", e->key);
        for (uint32_t i = 0; i < dim; i++) v[i] = NAN;
    }
    ser_put_f32s(out, v, dim);
    zfree(v);
}

void entity_encode(ds *out, const pobj *o, int mode) {
    const entity *e = o->v.p;
    int in_graph = mode == SER_MODE_SNAPSHOT && e->has_vec && attached(e) && (e->coll->hnsw || e->coll->ivf);
    int exact = in_graph && e->coll->vf;
    ser_put_u8(out, (uint8_t)((e->has_vec ? ENT_F_VEC : 0) | (in_graph ? ENT_F_IN_GRAPH : 0) | (exact ? ENT_F_EXACT : 0)));
    uint32_t dim = entity_dim(e);
    if (e->has_vec) {
        ser_put_varint(out, dim);
        if (in_graph) {
            ser_put_f32s(out, &e->norm, 1);
            if (exact) encode_file_vector(out, e);
        } else {
            float *v = zmalloc(sizeof(float) * dim);
            entity_vector(e, v);
            ser_put_f32s(out, v, dim);
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
    if (!ser_get_u8(r, &flags) || (flags & ~(ENT_F_VEC | ENT_F_IN_GRAPH | ENT_F_EXACT))) return NULL;
    if ((flags & ENT_F_IN_GRAPH) && (mode != SER_MODE_SNAPSHOT || !(flags & ENT_F_VEC))) return NULL;
    if ((flags & ENT_F_EXACT) && !(flags & ENT_F_IN_GRAPH)) return NULL;
    if (flags & ENT_F_VEC) {
        if (!ser_get_varint(r, &dim) || dim < 1 || dim > HNSW_MAX_DIM) return NULL;
        if (flags & ENT_F_IN_GRAPH) {
            if (!ser_get_f32s(r, &norm, 1) || !isfinite(norm)) return NULL;
        }
        if (!(flags & ENT_F_IN_GRAPH) || (flags & ENT_F_EXACT)) {
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
    e->has_vec = (flags & ENT_F_VEC) != 0;
    if (vec && !(flags & ENT_F_IN_GRAPH)) own_vec_set(e, vec, (uint32_t)dim);
    collection *c = coll_for_key(d, key, klen);
    if (flags & ENT_F_IN_GRAPH) {
        int has_index = c && (c->hnsw || c->ivf) && c->dim == dim;
        if (!has_index || !(flags & ENT_F_EXACT) != !c->vf) {
            *err = !has_index ? "an entity's vector is in an index its collection does not have"
                                                   : "an entity's exact vector does not match its collection's ONDISK";
            pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
            entity_free_value(&tmp);
            zfree(vec);
            return NULL;
        }
        if (c->vf) { /* ONDISK: the exact vector goes to the file, the node comes with the graph */
            e->disk_rec = vecfile_put(c->vf, vec);
            if (!e->disk_rec) {
                *err = "could not write the vector file";
                pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
                entity_free_value(&tmp);
                zfree(vec);
                return NULL;
            }
        }
        /* attached now; its node comes with the collection's graph */
        e->norm = norm;
        e->coll = c;
        e->epoch = c->epoch;
        c->entities++;
        c->vectors++;
        c->metadata_bytes += entity_meta_bytes(e);
    } else if (c && mode == SER_MODE_SNAPSHOT && (c->hnsw || c->ivf) && e->has_vec) {
        pending_attach *p = zmalloc(sizeof(*p));
        p->e = e;
        p->next = pending_attaches;
        pending_attaches = p;
    } else if (c && coll_attach(c, e) != 0) {
        *err = e->has_vec && entity_dim(e) != c->dim ? "the entity's vector does not fit its collection's DIM"
                                                     : "the entity could not be indexed";
        pobj tmp = {.type = OBJ_ENTITY, .v.p = e};
        entity_free_value(&tmp);
        zfree(vec);
        return NULL;
    }
    zfree(vec);
    return obj_new(OBJ_ENTITY, ENC_ENTITY, e);
bad:
    zfree(vec);
    return NULL;
}

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
                if (de && ((pobj *)dict_entry_val(de))->v.p == p->e) d = &server.dbs[i];
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
            if (c->ivf && (long long)ivfpq_count(c->ivf) != c->vectors) rc = -1;
        }
    fields_rebuild_all(); /* field indexes are not in snapshots */
    return rc;
}

void entity_load_abort(void) {
    while (pending_attaches) {
        pending_attach *p = pending_attaches;
        pending_attaches = p->next;
        zfree(p);
    }
}

/* The FIELD clauses of c's PH.CREATE arguments (3 per field). */
static void coll_append_field_args(const collection *c, ds *out) {
    for (int i = 0; i < c->nfields; i++) {
        const char *path = fieldidx_path_text(c->fields[i].idx);
        const char *type = fieldidx_type_name(fieldidx_get_type(c->fields[i].idx));
        ser_put_bytes(out, "FIELD", 5);
        ser_put_bytes(out, path, strlen(path));
        ser_put_bytes(out, type, strlen(type));
    }
}

/* Appends "NAME value" to the argument array a (at *n). */
static void arg_str(ds *a, int *n, const char *name, const char *v) {
    a[(*n)++] = ds_from_cstr(name);
    a[(*n)++] = ds_from_cstr(v);
}

static void arg_u32(ds *a, int *n, const char *name, uint32_t v) {
    a[(*n)++] = ds_from_cstr(name);
    a[(*n)++] = ds_catfmt(ds_empty(8), "%u", v);
}

/* Collections of d with the PH.CREATE arguments that recreate them. */
int entity_collection_count(db *d) { return d->ncolls; }

void entity_collection_args(db *d, int i, ds *out) {
    collection *c = d->colls[i];
    ds a[32];
    int n = 0;
    a[n++] = ds_new(c->name, ds_len(c->name));
    a[n++] = ds_from_cstr("PREFIX");
    a[n++] = ds_new(c->prefix, ds_len(c->prefix));
    if (c->dim) {
        arg_u32(a, &n, "DIM", c->dim);
        arg_str(a, &n, "METRIC", metric_name(c->metric));
        arg_str(a, &n, "INDEX", c->index == INDEX_FLAT ? "FLAT" : c->index == INDEX_IVFPQ ? "IVFPQ" : "HNSW");
        arg_u32(a, &n, "M", c->M);
        arg_u32(a, &n, "EF_CONSTRUCTION", c->ef_construction);
        arg_u32(a, &n, "EF_RUNTIME", c->ef_runtime);
        if (c->ivf) {
            arg_u32(a, &n, "NLIST", c->nlist);
            arg_u32(a, &n, "PQ_M", c->pq_m);
            arg_u32(a, &n, "NPROBE", c->nprobe);
            if (c->vf) arg_u32(a, &n, "RESCORE", c->rescore);
        }
        if (c->quant) {
            arg_str(a, &n, "QUANT", quant_name(c->quant));
            if (c->no_exact) a[n++] = ds_from_cstr(c->ondisk ? "ONDISK" : "NOEXACT");
            arg_u32(a, &n, "RESCORE", c->rescore);
        }
    }
    ser_put_varint(out, (uint64_t)n + 3 * (uint64_t)c->nfields);
    for (int k = 0; k < n; k++) {
        ser_put_bytes(out, a[k], ds_len(a[k]));
        ds_free(a[k]);
    }
    coll_append_field_args(c, out);
}

/* The HNSW graph of collection i of d, streamed: the header (name, graph
 * info) and then nodes [from, to) in slot order (key, level, vector, links
 * per level), so a snapshot writes a large graph in bounded blocks.
 * export_begin returns the node count, or -1 when the collection has no
 * graph (nothing written). */
/* The IVF-PQ section of collection c: header (name, dim, whether trained;
 * then the model), then units: each list (its number, its entries as key
 * and code) and each pending vector (key, vector as stored). Returns the
 * number of units. */
static long long ivf_export_begin(collection *c, ds *out) {
    int trained = ivfpq_is_trained(c->ivf);
    ser_put_bytes(out, c->name, ds_len(c->name));
    ser_put_u32(out, c->dim);
    ser_put_u8(out, (uint8_t)trained);
    if (trained) {
        size_t nc = (size_t)c->nlist * c->dim, nb = (size_t)256 * c->dim;
        float *cent = zmalloc(sizeof(float) * nc), *books = zmalloc(sizeof(float) * nb);
        ivfpq_export_model(c->ivf, cent, books);
        ser_put_f32s(out, cent, nc);
        ser_put_f32s(out, books, nb);
        zfree(cent);
        zfree(books);
    }
    return (long long)(trained ? c->nlist : 0) + (long long)ivfpq_pending_count(c->ivf);
}

static void ivf_export_units(collection *c, uint32_t from, uint32_t to, ds *out) {
    uint32_t nl = ivfpq_is_trained(c->ivf) ? c->nlist : 0;
    for (uint32_t u = from; u < to; u++) {
        if (u < nl) {
            size_t n;
            const uint64_t *ids;
            const uint8_t *codes;
            ivfpq_export_list(c->ivf, u, &n, &ids, &codes);
            ser_put_varint(out, n);
            for (size_t i = 0; i < n; i++) {
                entity *e = ENTITY_OF(ids[i]);
                ser_put_bytes(out, e->key, ds_len(e->key));
                ser_put_bytes(out, codes + i * c->pq_m, c->pq_m);
            }
        } else {
            uint64_t label;
            const float *v;
            ivfpq_export_pending(c->ivf, u - nl, &label, &v);
            entity *e = ENTITY_OF(label);
            ser_put_bytes(out, e->key, ds_len(e->key));
            ser_put_f32s(out, v, c->dim);
        }
    }
}

long long entity_graph_export_begin(db *d, int i, ds *out) {
    collection *c = d->colls[i];
    if (c->ivf) return ivf_export_begin(c, out);
    if (!c->hnsw) return -1;
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
    return gi.count;
}

void entity_graph_export_nodes(db *d, int i, uint32_t from, uint32_t to, ds *out) {
    collection *c = d->colls[i];
    if (c->ivf) {
        ivf_export_units(c, from, to, out);
        return;
    }
    for (uint32_t s = from; s < to; s++) {
        hnsw_node_view nv;
        if (hnsw_export_node(c->hnsw, s, &nv) != HNSW_OK) break;
        entity *e = ENTITY_OF(nv.label);
        ser_put_bytes(out, e->key, ds_len(e->key));
        ser_put_u8(out, (uint8_t)nv.level);
        if (nv.vector) ser_put_f32s(out, nv.vector, c->dim);
        else ser_put_bytes(out, nv.code, hnsw_code_size(c->hnsw)); /* NOEXACT: the code */
        for (uint32_t l = 0; l <= nv.level; l++) {
            ser_put_varint(out, nv.nlinks[l]);
            for (uint32_t k = 0; k < nv.nlinks[l]; k++) ser_put_varint(out, nv.links[l][k]);
        }
    }
}

static struct {
    collection *c;
    db *d;
    hnsw_index *h;
    ivfpq_index *ivf; /* an IVFPQ section instead of a graph */
    uint32_t nl;      /* IVFPQ: units that are lists (the rest are pending vectors) */
    uint32_t count, next, dim;
    float *vec;
    uint32_t *links;
} gimp;

void entity_graph_import_abort(void) {
    hnsw_free(gimp.h);
    ivfpq_free(gimp.ivf);
    zfree(gimp.vec);
    zfree(gimp.links);
    memset(&gimp, 0, sizeof(gimp));
}

/* The header of an IVFPQ section for c (name already read): a new index
 * with the model installed. */
static int ivf_import_begin(collection *c, ser_reader *r, const char **err) {
    uint32_t dim;
    uint8_t trained;
    *err = "bad IVF-PQ section";
    if (!ser_get_u32(r, &dim) || !ser_get_u8(r, &trained) || dim != c->dim || trained > 1) return -1;
    if (ivfpq_create(ivfpq_get_params(c->ivf), &ivf_locator, &gimp.ivf) != IVFPQ_OK) return -1;
    if (trained) {
        size_t nc = (size_t)c->nlist * c->dim, nb = (size_t)256 * c->dim;
        if (ser_remaining(r) != (nc + nb) * sizeof(float)) return -1;
        float *cent = zmalloc(sizeof(float) * nc), *books = zmalloc(sizeof(float) * nb);
        ser_get_f32s(r, cent, nc);
        ser_get_f32s(r, books, nb);
        ivfpq_model *m = NULL;
        int rc = ivfpq_import_model(ivfpq_get_params(c->ivf), cent, books, &m);
        zfree(cent);
        zfree(books);
        if (rc != IVFPQ_OK || ivfpq_install_model(gimp.ivf, m) != IVFPQ_OK) {
            ivfpq_model_free(m);
            *err = "an IVF-PQ model failed validation";
            return -1;
        }
    } else if (ser_remaining(r)) {
        return -1;
    }
    gimp.c = c;
    gimp.nl = trained ? c->nlist : 0;
    gimp.dim = c->dim;
    gimp.vec = zmalloc(sizeof(float) * c->dim);
    return 0;
}

/* Resolves a key of an IVFPQ section to its entity's label, or 0. */
static uint64_t ivf_import_label(ser_reader *r) {
    const char *k;
    size_t kl;
    if (!ser_get_bytes(r, &k, &kl)) return 0;
    dict_entry *de = ds_dict_find(gimp.d->keys, k, kl);
    pobj *o = de ? dict_entry_val(de) : NULL;
    entity *e = o && o->type == OBJ_ENTITY ? o->v.p : NULL;
    return e && e->coll == gimp.c && e->has_vec ? LABEL(e) : 0; /* in a collection: no own vector */
}

/* One unit of an IVFPQ section: a list, or a pending vector. */
static int ivf_import_unit(ser_reader *r, const char **err) {
    *err = "bad IVF-PQ section";
    if (gimp.next < gimp.nl) {
        uint64_t n;
        if (!ser_get_varint(r, &n) || n > UINT32_MAX) return -1;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t label = ivf_import_label(r);
            const char *code;
            size_t cl;
            if (!label || !ser_get_bytes(r, &code, &cl) || cl != gimp.c->pq_m ||
                ivfpq_import_list(gimp.ivf, gimp.next, 1, &label, (const uint8_t *)code) != IVFPQ_OK)
                return -1;
        }
    } else {
        uint64_t label = ivf_import_label(r);
        if (!label || !ser_get_f32s(r, gimp.vec, gimp.dim) || ivfpq_import_pending(gimp.ivf, label, gimp.vec) != IVFPQ_OK)
            return -1;
    }
    gimp.next++;
    return 0;
}

int entity_graph_import_begin(db *d, ser_reader *r, const char **err) {
    const char *name;
    size_t nlen;
    hnsw_graph_info gi;
    uint8_t metric;
    uint32_t ml;
    entity_graph_import_abort();
    *err = "bad graph section";
    ser_get_bytes(r, &name, &nlen);
    collection *ic = coll_find(d, name, nlen);
    if (ic && ic->ivf) {
        gimp.d = d;
        gimp.count = UINT32_MAX; /* units are counted by the section's blocks */
        return ivf_import_begin(ic, r, err);
    }
    ser_get_u32(r, &gi.params.dim);
    ser_get_u8(r, &metric);
    ser_get_u32(r, &gi.params.M);
    ser_get_u32(r, &gi.params.ef_construction);
    ser_get_u64(r, &gi.params.seed);
    ser_get_u32(r, &gi.count);
    ser_get_u32(r, &gi.entry);
    ser_get_u32(r, &ml);
    if (!ser_get_u64(r, &gi.rng_state) || ser_remaining(r)) return -1;
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
    gi.params.quant = c->quant; /* from the collection's PH.CREATE arguments */
    gi.params.no_exact = c->no_exact;
    gi.params.rescore = c->rescore;
    if (hnsw_import_begin(&gi, &gimp.h) != HNSW_OK || hnsw_set_locator(gimp.h, &hnsw_loc) != HNSW_OK) {
        entity_graph_import_abort();
        return -1;
    }
    gimp.c = c;
    gimp.d = d;
    gimp.count = gi.count;
    gimp.dim = gi.params.dim;
    gimp.vec = zmalloc(sizeof(float) * gi.params.dim);
    gimp.links = zmalloc(sizeof(uint32_t) * (2 * (size_t)HNSW_MAX_M) * (HNSW_MAX_LEVEL + 1));
    return 0;
}

static int import_one_node(ser_reader *r, const char **err) {
    hnsw_node_view nv;
    memset(&nv, 0, sizeof(nv));
    const char *k;
    size_t kl;
    uint8_t level;
    *err = "bad graph node";
    ser_get_bytes(r, &k, &kl);
    ser_get_u8(r, &level);
    if (gimp.c->no_exact) {
        size_t cl;
        const char *code;
        if (!ser_get_bytes(r, &code, &cl) || cl != hnsw_code_size(gimp.h)) return -1;
        nv.code = (const uint8_t *)code;
    } else if (!ser_get_f32s(r, gimp.vec, gimp.dim)) {
        return -1;
    } else {
        nv.vector = gimp.vec;
    }
    if (level > HNSW_MAX_LEVEL || gimp.next >= gimp.count) return -1;
    dict_entry *de = ds_dict_find(gimp.d->keys, k, kl);
    pobj *o = de ? dict_entry_val(de) : NULL;
    entity *e = o && o->type == OBJ_ENTITY ? o->v.p : NULL;
    if (!e || e->coll != gimp.c || !e->has_vec) {
        *err = "a graph node names a key that is not an entity of its collection";
        return -1;
    }
    nv.label = LABEL(e);
    nv.level = level;
    uint32_t *at = gimp.links;
    for (uint32_t l = 0; l <= level; l++) {
        uint64_t n;
        if (!ser_get_varint(r, &n) || n > 2 * (uint64_t)HNSW_MAX_M) return -1;
        nv.nlinks[l] = (uint32_t)n;
        nv.links[l] = at;
        for (uint64_t x = 0; x < n; x++) {
            uint64_t v;
            if (!ser_get_varint(r, &v) || v >= gimp.count) return -1;
            *at++ = (uint32_t)v;
        }
    }
    if (hnsw_import_node(gimp.h, &nv) != HNSW_OK) {
        *err = "a graph failed validation (links, levels or vectors)";
        return -1;
    }
    gimp.next++;
    return 0;
}

int entity_graph_import_nodes(ser_reader *r, const char **err) {
    if (!gimp.h && !gimp.ivf) {
        *err = "graph nodes without a graph header";
        return -1;
    }
    while (ser_remaining(r))
        if ((gimp.ivf ? ivf_import_unit(r, err) : import_one_node(r, err)) != 0) return -1;
    return 0;
}

int entity_graph_import_finish(const char **err) {
    if (gimp.ivf) {
        if ((long long)ivfpq_count(gimp.ivf) != gimp.c->vectors || gimp.next < gimp.nl) {
            *err = "an IVF-PQ section does not hold every vector of its collection";
            return -1;
        }
        ivfpq_free(gimp.c->ivf);
        gimp.c->ivf = gimp.ivf;
        gimp.ivf = NULL;
        ivf_schedule();
        entity_graph_import_abort();
        return 0;
    }
    if (!gimp.h || gimp.next != gimp.count) {
        *err = "a graph section ended before all its nodes";
        return -1;
    }
    if (hnsw_import_finish(gimp.h) != HNSW_OK) {
        *err = "a graph failed validation (links, levels or entry point)";
        return -1;
    }
    slot_maps_forget(gimp.c->hnsw);
    hnsw_free(gimp.c->hnsw);
    gimp.c->hnsw = gimp.h;
    gimp.h = NULL;
    entity_graph_import_abort();
    return 0;
}

/* graph.c -- the edge store and its traversals (see graph.h for the model).
 *
 * Layout. A node keeps two dense arrays:
 *   out[]  one 32-byte record per outgoing edge: peer node, type id, weight,
 *          metadata, and `mirror`, the position of the same edge in the
 *          peer's in[] array;
 *   in[]   one 16-byte record per incoming edge: peer node, type id, and
 *          `mirror`, the position of the edge in the peer's out[] array.
 * An edge's weight and metadata live once, in the tail's out record; an IN
 * walk reads them through the mirror (peer->out[mirror]), one indirection.
 * Deleting moves the last record of an array into the hole and fixes the
 * mirror of the record moved, so both ends are updated in O(1) and the
 * arrays stay dense. Finding an edge by (from, to, type) scans out[] while
 * a node has at most GRAPH_HASH_MIN out edges (compact: no index at all),
 * and beyond that probes a hash index over out[] (open addressing, linear
 * probing, backward-shift deletion, load <= 1/2): O(1) average for hubs
 * with millions of edges. in[] is never searched by key: a deletion
 * reaches it through the mirror.
 *
 * Invariants:
 *  - for every out record r at a->out[i]: r.peer->in[r.mirror] has peer a,
 *    the same type, and mirror i; and the converse for every in record;
 *  - a node exists exactly while nout + nin > 0, and *slot == the node;
 *  - idx != NULL exactly when nout > GRAPH_HASH_MIN/2 once it was built (it
 *    is built above GRAPH_HASH_MIN and dropped at or below GRAPH_HASH_MIN/2),
 *    and then it holds position+1 of every out record, 0 for empty slots;
 *  - arrays shrink by half when a quarter full and are freed when empty, so
 *    memory returns to its baseline after deletes;
 *  - a type id is live while refs (the number of edges of that type) > 0.
 *
 * Traversals keep their visited sets in a private open-addressing map keyed
 * by node pointer (and a small tag: the hop count of Dijkstra over
 * (node, hops) states), so nodes carry no per-traversal fields and any
 * number of walks may exist at once on an unchanging store. A visit records
 * the index of the edge that reached it among its parent's edges, not the
 * edge (looked up again only for the paths replied), and walks that need
 * no weight or metadata (no edge_ok) read only the node's own arrays, so a
 * hub's incoming edges cost no mirror indirection.
 *
 * Complexity: add, delete and lookup of an edge O(1) average (O(8) scans
 * below the index threshold); removing a node O(its degree); a walk
 * O(V + E) of what it visits; Dijkstra O((V + E) log V).
 *
 * Algorithms: breadth-first search; bidirectional BFS (expand the frontier
 * level with fewer edges to scan, stop at the first meeting, which is a
 * shortest path: see bidi_level);
 * Dijkstra's algorithm with a binary heap and lazy deletion, from both ends
 * at once (stopping when the two heads add up to the best meeting); for a
 * hop bound, one-sided Dijkstra over the product graph (node, hops <= k),
 * which is exact where a plain Dijkstra with a hop cut-off is not.
 *
 * Naming: graph_* public; node_*, idx_*, type_*, vmap_*, heap_*, walk_*,
 * side_* (a path search's side), dside_* (a Dijkstra side), bidi* file-local. */
#include "graph.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "dict.h"
#include "zmalloc.h"

#define GRAPH_HASH_MIN 8

typedef struct out_rec {
    graph_node *peer;
    uint32_t type;
    uint32_t mirror;
    double weight;
    json_t *meta;
} out_rec;

typedef struct in_rec {
    graph_node *peer;
    uint32_t type;
    uint32_t mirror;
} in_rec;

struct graph_node {
    graph_store *store;
    void *owner;
    graph_node **slot;
    out_rec *out;
    in_rec *in;
    uint32_t *idx; /* hash index over out[] (see the header comment) */
    uint32_t nout, capout, nin, capin;
    uint32_t idxmask;
    uint32_t meta_bytes; /* compact JSON text of the out edges' metadata */
};

typedef struct gtype {
    char *name; /* NUL-terminated copy */
    uint32_t len;
    uint32_t refs;
    json_t *json; /* lazily made JSON string of the name */
} gtype;

struct graph_store {
    gtype **types; /* by id; NULL for free ids */
    uint32_t ntypes, captypes;
    uint32_t *free_ids;
    uint32_t nfree;
    dict *by_name; /* gtype* -> id (v.s64) */
    uint64_t edges, nodes, live_types, memory;
    graph_out_hook *out_hook; /* or NULL */
};

/* ---------------- types ---------------- */

static uint64_t type_hash(const void *k) {
    const gtype *t = k;
    return dict_hash_bytes(t->name, t->len);
}
static int type_eq(const void *a, const void *b) {
    const gtype *x = a, *y = b;
    return x->len == y->len && memcmp(x->name, y->name, x->len) == 0;
}
static const dict_type type_dict_type = {type_hash, type_eq, NULL, NULL};

int graph_type_find(const graph_store *g, const char *name, size_t len, uint32_t *id) {
    if (len > GRAPH_TYPE_MAX_LEN) return 0;
    gtype probe = {.name = (char *)name, .len = (uint32_t)len};
    dict_entry *e = dict_find(g->by_name, &probe);
    if (!e) return 0;
    *id = (uint32_t)dict_entry_s64(e);
    return 1;
}

const char *graph_type_name(const graph_store *g, uint32_t id, size_t *len) {
    const gtype *t = g->types[id];
    *len = t->len;
    return t->name;
}

json_t *graph_type_json(graph_store *g, uint32_t id) {
    gtype *t = g->types[id];
    if (!t->json) t->json = json_stringn(t->name, t->len);
    return t->json;
}

/* The id of name, created with no references when new. */
static uint32_t type_intern(graph_store *g, const char *name, size_t len) {
    uint32_t id;
    if (graph_type_find(g, name, len, &id)) return id;
    gtype *t = zmalloc(sizeof(*t));
    t->name = zmalloc(len + 1);
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->len = (uint32_t)len;
    t->refs = 0;
    t->json = NULL;
    if (g->nfree) {
        id = g->free_ids[--g->nfree];
    } else {
        if (g->ntypes == g->captypes) {
            g->captypes = g->captypes ? g->captypes * 2 : 8;
            g->types = zrealloc(g->types, sizeof(gtype *) * g->captypes);
            g->free_ids = zrealloc(g->free_ids, sizeof(uint32_t) * g->captypes);
        }
        id = g->ntypes++;
    }
    g->types[id] = t;
    dict_entry_set_s64(dict_add_raw(g->by_name, t, NULL), id);
    g->live_types++;
    g->memory += sizeof(*t) + len + 1;
    return id;
}

static void type_unref(graph_store *g, uint32_t id) {
    gtype *t = g->types[id];
    if (--t->refs) return;
    dict_delete(g->by_name, t);
    g->memory -= sizeof(*t) + t->len + 1;
    g->live_types--;
    if (t->json) json_decref(t->json);
    zfree(t->name);
    zfree(t);
    g->types[id] = NULL;
    g->free_ids[g->nfree++] = id;
}

/* ---------------- store ---------------- */

graph_store *graph_store_new(void) {
    graph_store *g = zcalloc(sizeof(*g));
    g->by_name = dict_create(&type_dict_type);
    return g;
}

void graph_store_set_out_hook(graph_store *g, graph_out_hook *fn) { g->out_hook = fn; }

void graph_store_free(graph_store *g) {
    if (!g) return;
    assert(g->edges == 0 && g->nodes == 0);
    dict_release(g->by_name);
    zfree(g->types);
    zfree(g->free_ids);
    zfree(g);
}

void graph_store_get_stats(const graph_store *g, graph_stats *st) {
    st->edges = g->edges;
    st->nodes = g->nodes;
    st->types = g->live_types;
    st->memory = g->memory + sizeof(*g) + (uint64_t)g->captypes * (sizeof(gtype *) + sizeof(uint32_t)) +
                 dict_mem_usage(g->by_name);
}

void *graph_node_owner(const graph_node *n) { return n->owner; }

graph_store *graph_node_store(const graph_node *n) { return n->store; }

size_t graph_node_memory(const graph_node *n) {
    if (!n) return 0;
    return sizeof(*n) + (size_t)n->capout * sizeof(out_rec) + (size_t)n->capin * sizeof(in_rec) +
           (n->idx ? ((size_t)n->idxmask + 1) * sizeof(uint32_t) : 0) + n->meta_bytes;
}

static graph_node *node_new(graph_store *g, graph_node **slot, void *owner) {
    graph_node *n = zcalloc(sizeof(*n));
    n->store = g;
    n->owner = owner;
    n->slot = slot;
    *slot = n;
    g->nodes++;
    g->memory += sizeof(*n);
    return n;
}

/* Frees n if it has no edge left. */
static void node_maybe_free(graph_store *g, graph_node *n) {
    if (n->nout || n->nin) return;
    *n->slot = NULL;
    g->memory -= graph_node_memory(n);
    g->nodes--;
    zfree(n->out);
    zfree(n->in);
    zfree(n->idx);
    zfree(n);
}

/* ---------------- the out[] hash index ---------------- */

static inline uint32_t key_hash(const graph_node *peer, uint32_t type) {
    uint64_t x = (uint64_t)(uintptr_t)peer ^ ((uint64_t)type * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static void idx_put(graph_node *n, uint32_t pos) {
    uint32_t s = key_hash(n->out[pos].peer, n->out[pos].type) & n->idxmask;
    while (n->idx[s]) s = (s + 1) & n->idxmask;
    n->idx[s] = pos + 1;
}

/* Rebuilds the index with size slots (a power of two), or drops it (0). */
static void idx_rebuild(graph_store *g, graph_node *n, uint32_t size) {
    if (n->idx) g->memory -= ((size_t)n->idxmask + 1) * sizeof(uint32_t);
    zfree(n->idx);
    n->idx = NULL;
    n->idxmask = 0;
    if (!size) return;
    n->idx = zcalloc(sizeof(uint32_t) * size);
    n->idxmask = size - 1;
    g->memory += (size_t)size * sizeof(uint32_t);
    for (uint32_t i = 0; i < n->nout; i++) idx_put(n, i);
}

/* Table slot holding position pos (which must be indexed). */
static uint32_t idx_slot_of(const graph_node *n, uint32_t pos) {
    uint32_t s = key_hash(n->out[pos].peer, n->out[pos].type) & n->idxmask;
    while (n->idx[s] != pos + 1) s = (s + 1) & n->idxmask;
    return s;
}

/* Empties table slot s, shifting back the entries of its probe run. */
static void idx_clear_slot(graph_node *n, uint32_t s) {
    uint32_t j = s;
    for (;;) {
        j = (j + 1) & n->idxmask;
        uint32_t v = n->idx[j];
        if (!v) break;
        uint32_t home = key_hash(n->out[v - 1].peer, n->out[v - 1].type) & n->idxmask;
        /* the entry at j may move to s when its home is not in (s, j] cyclically */
        int between = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!between) {
            n->idx[s] = v;
            s = j;
        }
    }
    n->idx[s] = 0;
}

/* Position of the out edge (peer, type) of n, or -1. */
static int64_t out_find(const graph_node *n, const graph_node *peer, uint32_t type) {
    if (!n) return -1;
    if (n->idx) {
        uint32_t s = key_hash(peer, type) & n->idxmask;
        for (uint32_t v; (v = n->idx[s]); s = (s + 1) & n->idxmask)
            if (n->out[v - 1].peer == peer && n->out[v - 1].type == type) return v - 1;
        return -1;
    }
    for (uint32_t i = 0; i < n->nout; i++)
        if (n->out[i].peer == peer && n->out[i].type == type) return i;
    return -1;
}

/* ---------------- arrays ---------------- */

static void out_reserve(graph_store *g, graph_node *n) {
    if (n->nout < n->capout) return;
    uint32_t cap = n->capout ? n->capout * 2 : 1;
    n->out = zrealloc(n->out, sizeof(out_rec) * cap);
    g->memory += (size_t)(cap - n->capout) * sizeof(out_rec);
    n->capout = cap;
}

static void in_reserve(graph_store *g, graph_node *n) {
    if (n->nin < n->capin) return;
    uint32_t cap = n->capin ? n->capin * 2 : 1;
    n->in = zrealloc(n->in, sizeof(in_rec) * cap);
    g->memory += (size_t)(cap - n->capin) * sizeof(in_rec);
    n->capin = cap;
}

static void out_shrink(graph_store *g, graph_node *n) {
    if (n->nout == 0) {
        g->memory -= (size_t)n->capout * sizeof(out_rec);
        zfree(n->out);
        n->out = NULL;
        n->capout = 0;
    } else if (n->capout >= 8 && n->nout <= n->capout / 4) {
        uint32_t cap = n->capout / 2;
        n->out = zrealloc(n->out, sizeof(out_rec) * cap);
        g->memory -= (size_t)(n->capout - cap) * sizeof(out_rec);
        n->capout = cap;
    }
    if (n->idx) {
        if (n->nout <= GRAPH_HASH_MIN / 2) idx_rebuild(g, n, 0);
        else if ((size_t)n->nout * 8 < (size_t)n->idxmask + 1 && n->idxmask + 1 > 32)
            idx_rebuild(g, n, (n->idxmask + 1) / 2);
    }
}

static void in_shrink(graph_store *g, graph_node *n) {
    if (n->nin == 0) {
        g->memory -= (size_t)n->capin * sizeof(in_rec);
        zfree(n->in);
        n->in = NULL;
        n->capin = 0;
    } else if (n->capin >= 8 && n->nin <= n->capin / 4) {
        uint32_t cap = n->capin / 2;
        n->in = zrealloc(n->in, sizeof(in_rec) * cap);
        g->memory -= (size_t)(n->capin - cap) * sizeof(in_rec);
        n->capin = cap;
    }
}

static uint32_t meta_text_len(const json_t *m) { return m ? (uint32_t)json_dumpb(m, NULL, 0, JSON_COMPACT) : 0; }

/* Removes the out edge at a->out[i] and its in record at the head. Frees
 * no node: the caller does (node_maybe_free) once it is done with them. */
static void edge_remove_at(graph_store *g, graph_node *a, uint32_t i) {
    out_rec r = a->out[i];
    graph_node *b = r.peer;
    /* the head's in record */
    uint32_t j = r.mirror, lastin = b->nin - 1;
    if (j != lastin) {
        in_rec moved = b->in[lastin];
        b->in[j] = moved;
        moved.peer->out[moved.mirror].mirror = j;
    }
    b->nin--;
    /* the tail's out record */
    uint32_t lastout = a->nout - 1;
    if (a->idx) idx_clear_slot(a, idx_slot_of(a, i));
    if (i != lastout) {
        if (a->idx) a->idx[idx_slot_of(a, lastout)] = i + 1;
        out_rec moved = a->out[lastout];
        a->out[i] = moved;
        moved.peer->in[moved.mirror].mirror = i;
    }
    a->nout--;
    uint32_t mb = meta_text_len(r.meta);
    a->meta_bytes -= mb;
    g->memory -= mb;
    if (r.meta) json_decref(r.meta);
    type_unref(g, r.type);
    g->edges--;
    if (g->out_hook) g->out_hook(a->owner, -1);
    in_shrink(g, b);
    out_shrink(g, a);
}

/* ---------------- edges ---------------- */

int graph_edge_set(graph_store *g, graph_node **from_slot, void *from_owner, graph_node **to_slot, void *to_owner,
                   const char *type, size_t tlen, double weight, json_t *meta, int *created) {
    int rc = GRAPH_OK;
    if (tlen > GRAPH_TYPE_MAX_LEN) rc = GRAPH_ERR_TYPE;
    else if (!isfinite(weight)) rc = GRAPH_ERR_WEIGHT;
    uint32_t tid;
    int have_type = rc == GRAPH_OK && graph_type_find(g, type, tlen, &tid);
    int64_t pos = have_type && *to_slot ? out_find(*from_slot, *to_slot, tid) : -1;
    if (rc == GRAPH_OK && pos < 0 &&
        ((*from_slot && (*from_slot)->nout >= GRAPH_MAX_DEGREE) || (*to_slot && (*to_slot)->nin >= GRAPH_MAX_DEGREE)))
        rc = GRAPH_ERR_DEGREE;
    if (rc != GRAPH_OK) {
        if (meta) json_decref(meta);
        return rc;
    }
    if (pos >= 0) {
        graph_node *a = *from_slot;
        out_rec *r = &a->out[pos];
        uint32_t oldb = meta_text_len(r->meta), newb = meta_text_len(meta);
        if (r->meta) json_decref(r->meta);
        r->meta = meta;
        r->weight = weight;
        a->meta_bytes = a->meta_bytes - oldb + newb;
        g->memory = g->memory - oldb + newb;
        if (created) *created = 0;
        return GRAPH_OK;
    }
    graph_node *a = *from_slot ? *from_slot : node_new(g, from_slot, from_owner);
    graph_node *b = *to_slot ? *to_slot : node_new(g, to_slot, to_owner);
    tid = type_intern(g, type, tlen);
    g->types[tid]->refs++;
    out_reserve(g, a);
    in_reserve(g, b);
    uint32_t i = a->nout++, j = b->nin++;
    a->out[i] = (out_rec){.peer = b, .type = tid, .mirror = j, .weight = weight, .meta = meta};
    b->in[j] = (in_rec){.peer = a, .type = tid, .mirror = i};
    uint32_t mb = meta_text_len(meta);
    a->meta_bytes += mb;
    g->memory += mb;
    if (a->idx && (size_t)a->nout * 2 > (size_t)a->idxmask + 1) idx_rebuild(g, a, (a->idxmask + 1) * 2);
    else if (a->idx) idx_put(a, i);
    else if (a->nout > GRAPH_HASH_MIN) idx_rebuild(g, a, 32);
    g->edges++;
    if (g->out_hook) g->out_hook(a->owner, 1);
    if (created) *created = 1;
    return GRAPH_OK;
}

int graph_edge_del(graph_store *g, graph_node *from, graph_node *to, const char *type, size_t tlen) {
    uint32_t tid;
    if (!from || !to || !graph_type_find(g, type, tlen, &tid)) return 0;
    int64_t pos = out_find(from, to, tid);
    if (pos < 0) return 0;
    edge_remove_at(g, from, (uint32_t)pos);
    if (to != from) node_maybe_free(g, to);
    node_maybe_free(g, from);
    return 1;
}

int graph_edge_get(const graph_store *g, const graph_node *from, const graph_node *to, const char *type, size_t tlen,
                   graph_edge *e) {
    uint32_t tid;
    if (!from || !to || !graph_type_find(g, type, tlen, &tid)) return 0;
    int64_t pos = out_find(from, to, tid);
    if (pos < 0) return 0;
    graph_edge_at(from, GRAPH_OUT, (size_t)pos, e);
    return 1;
}

void graph_node_remove(graph_node *n) {
    if (!n) return;
    graph_store *g = n->store;
    while (n->nout) {
        graph_node *peer = n->out[n->nout - 1].peer;
        edge_remove_at(g, n, n->nout - 1);
        if (peer != n) node_maybe_free(g, peer);
    }
    while (n->nin) {
        in_rec r = n->in[n->nin - 1];
        edge_remove_at(g, r.peer, r.mirror);
        if (r.peer != n) node_maybe_free(g, r.peer);
    }
    node_maybe_free(g, n);
}

size_t graph_degree(const graph_node *n, graph_dir d) {
    if (!n) return 0;
    return (d & GRAPH_OUT ? n->nout : 0) + (d & GRAPH_IN ? n->nin : 0);
}

void graph_edge_at(const graph_node *n, graph_dir d, size_t i, graph_edge *e) {
    if ((d & GRAPH_OUT) && i < n->nout) {
        const out_rec *r = &n->out[i];
        *e = (graph_edge){.from = (graph_node *)n, .to = r->peer, .type = r->type, .weight = r->weight, .meta = r->meta};
        return;
    }
    if (d & GRAPH_OUT) i -= n->nout;
    const in_rec *r = &n->in[i];
    const out_rec *o = &r->peer->out[r->mirror];
    *e = (graph_edge){.from = r->peer, .to = (graph_node *)n, .type = r->type, .weight = o->weight, .meta = o->meta};
}

/* ---------------- visited maps ---------------- */

typedef struct vmap {
    const graph_node **keys;
    uint32_t *tags;
    int64_t *vals;
    size_t used, mask; /* mask + 1 slots */
} vmap;

#define VMAP_ABSENT INT64_MIN

static void vmap_init(vmap *m) {
    m->mask = 63;
    m->used = 0;
    m->keys = zcalloc(sizeof(*m->keys) * 64);
    m->tags = zmalloc(sizeof(*m->tags) * 64);
    m->vals = zmalloc(sizeof(*m->vals) * 64);
}

static void vmap_free(vmap *m) {
    zfree(m->keys);
    zfree(m->tags);
    zfree(m->vals);
}

static inline size_t vmap_home(const vmap *m, const graph_node *n, uint32_t tag) { return key_hash(n, tag) & m->mask; }

static int64_t vmap_get(const vmap *m, const graph_node *n, uint32_t tag) {
    for (size_t s = vmap_home(m, n, tag); m->keys[s]; s = (s + 1) & m->mask)
        if (m->keys[s] == n && m->tags[s] == tag) return m->vals[s];
    return VMAP_ABSENT;
}

static void vmap_put(vmap *m, const graph_node *n, uint32_t tag, int64_t val);

static void vmap_grow(vmap *m) {
    vmap old = *m;
    size_t size = (old.mask + 1) * 2;
    m->mask = size - 1;
    m->used = 0;
    m->keys = zcalloc(sizeof(*m->keys) * size);
    m->tags = zmalloc(sizeof(*m->tags) * size);
    m->vals = zmalloc(sizeof(*m->vals) * size);
    for (size_t s = 0; s <= old.mask; s++)
        if (old.keys[s]) vmap_put(m, old.keys[s], old.tags[s], old.vals[s]);
    vmap_free(&old);
}

/* Sets n's value (adding n when absent). */
static void vmap_put(vmap *m, const graph_node *n, uint32_t tag, int64_t val) {
    size_t s = vmap_home(m, n, tag);
    for (; m->keys[s]; s = (s + 1) & m->mask) {
        if (m->keys[s] == n && m->tags[s] == tag) {
            m->vals[s] = val;
            return;
        }
    }
    m->keys[s] = n;
    m->tags[s] = tag;
    m->vals[s] = val;
    if (++m->used * 2 > m->mask + 1) vmap_grow(m);
}

/* ---------------- walks ---------------- */

#define REJECTED (-1) /* vmap value of a node node_ok refused */

static inline int type_listed(const graph_walk_opts *o, uint32_t type) {
    if (!o->ntypes) return 1;
    size_t t = 0;
    while (t < o->ntypes && o->types[t] != type) t++;
    return t < o->ntypes;
}

static int edge_follows(const graph_walk_opts *o, const graph_edge *e) {
    return type_listed(o, e->type) && (!o->edge_ok || o->edge_ok(o->priv, e));
}

/* The peer of n's k-th edge in direction d, and the edge's type; reads
 * only n's own arrays (no mirror), for walks that need no weight. */
static inline graph_node *adj_peer(const graph_node *n, graph_dir d, size_t k, uint32_t *type) {
    if ((d & GRAPH_OUT) && k < n->nout) {
        *type = n->out[k].type;
        return n->out[k].peer;
    }
    if (d & GRAPH_OUT) k -= n->nout;
    *type = n->in[k].type;
    return n->in[k].peer;
}


/* Peer of n along e (e is one of n's edges). */
static inline graph_node *edge_peer(const graph_node *n, const graph_edge *e) { return e->from == n ? e->to : e->from; }

struct graph_walk {
    graph_store *g;
    graph_walk_opts o;
    graph_visit *v;
    size_t n, cap;
    size_t cursor;    /* next visit next() returns */
    size_t expanding; /* visit whose edges are being scanned */
    size_t edge_i;    /* next edge of it to scan */
    vmap seen;
    int truncated, done;
};

graph_walk *graph_walk_new(graph_store *g, const graph_walk_opts *o) {
    graph_walk *w = zcalloc(sizeof(*w));
    w->g = g;
    w->o = *o;
    vmap_init(&w->seen);
    return w;
}

void graph_walk_free(graph_walk *w) {
    if (!w) return;
    vmap_free(&w->seen);
    zfree(w->v);
    zfree(w);
}

/* Appends a visit; 0 when the cap refused it (the walk is then done). */
static int walk_append(graph_walk *w, const graph_visit *v) {
    if (w->o.max_nodes && w->n >= w->o.max_nodes) {
        w->truncated = 1;
        w->done = 1;
        return 0;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->v = zrealloc(w->v, sizeof(graph_visit) * w->cap);
    }
    w->v[w->n] = *v;
    vmap_put(&w->seen, v->node, 0, (int64_t)w->n);
    w->n++;
    return 1;
}

int graph_walk_add_source(graph_walk *w, graph_node *n) {
    if (!n || w->done || vmap_get(&w->seen, n, 0) != VMAP_ABSENT) return 0;
    if (w->o.node_ok && !w->o.node_ok(w->o.priv, n)) {
        vmap_put(&w->seen, n, 0, REJECTED);
        return 0;
    }
    graph_visit v = {.node = n, .depth = 0, .parent = -1, .seed = (uint32_t)w->n};
    return walk_append(w, &v);
}

/* Scans edges of the node being expanded until one new node is added;
 * returns 1 when it added one, 0 when the walk has nothing more. */
static int walk_discover(graph_walk *w) {
    while (!w->done && w->expanding < w->n) {
        const graph_visit *u = &w->v[w->expanding];
        size_t deg = u->depth < w->o.max_depth ? graph_degree(u->node, w->o.dir) : 0;
        while (w->edge_i < deg) {
            size_t k = w->edge_i++;
            graph_node *p;
            if (w->o.edge_ok) {
                graph_edge e;
                graph_edge_at(u->node, w->o.dir, k, &e);
                if (!edge_follows(&w->o, &e)) continue;
                p = edge_peer(u->node, &e);
            } else {
                uint32_t type;
                p = adj_peer(u->node, w->o.dir, k, &type);
                if (!type_listed(&w->o, type)) continue;
            }
            if (vmap_get(&w->seen, p, 0) != VMAP_ABSENT) continue;
            if (w->o.node_ok && !w->o.node_ok(w->o.priv, p)) {
                vmap_put(&w->seen, p, 0, REJECTED);
                continue;
            }
            graph_visit v = {.node = p, .parent = (int64_t)w->expanding, .depth = u->depth + 1, .seed = u->seed, .k = (uint32_t)k};
            return walk_append(w, &v);
        }
        w->expanding++;
        w->edge_i = 0;
    }
    return 0;
}

const graph_visit *graph_walk_next(graph_walk *w) {
    if (w->cursor < w->n) return &w->v[w->cursor++];
    if (!walk_discover(w)) return NULL;
    return &w->v[w->cursor++];
}

const graph_visit *graph_walk_visit(const graph_walk *w, int64_t i) { return &w->v[i]; }

void graph_walk_via(const graph_walk *w, const graph_visit *v, graph_edge *e) {
    graph_edge_at(w->v[v->parent].node, w->o.dir, v->k, e);
}

int graph_walk_truncated(const graph_walk *w) { return w->truncated; }

/* ---------------- paths ---------------- */

void graph_path_free(graph_path *p) {
    zfree(p->nodes);
    zfree(p->edges);
    p->nodes = NULL;
    p->edges = NULL;
}

/* A node reached by a path search: its parent visit (-1 for the start)
 * and the index k of the edge that reached it among the parent's edges in
 * the side's direction (the edge itself is looked up again only for the
 * path found: 24 bytes per visit instead of a whole graph_edge). */
typedef struct svisit {
    graph_node *node;
    int64_t parent;
    uint32_t depth;
    uint32_t k;
} svisit;

/* One side of a search: its direction, visits, and the map node -> visit. */
typedef struct side {
    graph_dir dir;
    svisit *v;
    size_t n, cap;
    vmap seen;
} side;

static void side_init(side *s, graph_dir dir) {
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    vmap_init(&s->seen);
}

static void side_free(side *s) {
    vmap_free(&s->seen);
    zfree(s->v);
}

static size_t side_append(side *s, graph_node *node, int64_t parent, uint32_t depth, uint32_t k, uint32_t tag) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = zrealloc(s->v, sizeof(svisit) * s->cap);
    }
    s->v[s->n] = (svisit){.node = node, .parent = parent, .depth = depth, .k = k};
    vmap_put(&s->seen, node, tag, (int64_t)s->n);
    return s->n++;
}

/* The edge that reached visit i of s. */
static void side_via(const side *s, int64_t i, graph_edge *e) {
    graph_edge_at(s->v[s->v[i].parent].node, s->dir, s->v[i].k, e);
}


static graph_dir dir_reverse(graph_dir d) { return d == GRAPH_OUT ? GRAPH_IN : d == GRAPH_IN ? GRAPH_OUT : GRAPH_BOTH; }

/* Sets p to the path src .. meet (following parents of side f from fi)
 * then meet .. dst (following parents of side b from bi; b may be NULL). */
static void path_build(graph_path *p, const side *f, int64_t fi, const side *b, int64_t bi) {
    size_t hf = 0, hb = 0;
    for (int64_t i = fi; f->v[i].parent >= 0; i = f->v[i].parent) hf++;
    if (b)
        for (int64_t i = bi; b->v[i].parent >= 0; i = b->v[i].parent) hb++;
    p->found = 1;
    p->hops = hf + hb;
    p->nodes = zmalloc(sizeof(graph_node *) * (p->hops + 1));
    p->edges = zmalloc(sizeof(graph_edge) * (p->hops ? p->hops : 1));
    p->cost = 0;
    size_t k = hf;
    for (int64_t i = fi;; i = f->v[i].parent) {
        p->nodes[k] = f->v[i].node;
        if (f->v[i].parent < 0) break;
        side_via(f, i, &p->edges[k - 1]);
        k--;
    }
    k = hf;
    if (b) {
        for (int64_t i = bi; b->v[i].parent >= 0; i = b->v[i].parent) {
            side_via(b, i, &p->edges[k]);
            p->nodes[++k] = b->v[b->v[i].parent].node;
        }
    }
    for (size_t h = 0; h < p->hops; h++) p->cost += p->edges[h].weight;
}

/* Expands the level [lo, hi) of side s in direction d until a node seen by
 * side t is reached: then *bs / *bt get the meeting's indexes in s and t and
 * it returns 1. The first meeting is a shortest path: every node of t at a
 * depth below t's frontier was expanded, so a meeting through one of them
 * would have been seen when its neighbour on s's side was added. Returns 0
 * when the level ends without meeting, -1 when the cap stopped it. */
static int bidi_level(const graph_walk_opts *o, side *s, graph_dir d, size_t lo, size_t hi, const side *t,
                      int64_t *bs, int64_t *bt) {
    for (size_t i = lo; i < hi; i++) {
        graph_node *u = s->v[i].node;
        size_t deg = graph_degree(u, d);
        for (size_t k = 0; k < deg; k++) {
            graph_node *p;
            if (o->edge_ok) {
                graph_edge e;
                graph_edge_at(u, d, k, &e);
                if (!edge_follows(o, &e)) continue;
                p = edge_peer(u, &e);
            } else {
                uint32_t type;
                p = adj_peer(u, d, k, &type);
                if (!type_listed(o, type)) continue;
            }
            if (vmap_get(&s->seen, p, 0) != VMAP_ABSENT) continue;
            if (o->node_ok && !o->node_ok(o->priv, p)) {
                vmap_put(&s->seen, p, 0, REJECTED);
                continue;
            }
            if (o->max_nodes && s->n + t->n >= o->max_nodes) return -1;
            size_t at = side_append(s, p, (int64_t)i, s->v[i].depth + 1, (uint32_t)k, 0);
            int64_t other = vmap_get(&t->seen, p, 0);
            if (other >= 0) {
                *bs = (int64_t)at;
                *bt = other;
                return 1;
            }
        }
    }
    return 0;
}

/* Edges a level would scan: the cost of expanding it. */
static size_t level_cost(const side *s, graph_dir d, size_t lo, size_t hi) {
    size_t c = 0;
    for (size_t i = lo; i < hi; i++) c += graph_degree(s->v[i].node, d);
    return c;
}

static int path_bfs(graph_node *src, graph_node *dst, const graph_walk_opts *o, graph_path *p) {
    graph_dir back = dir_reverse(o->dir);
    side f, b;
    side_init(&f, o->dir);
    side_init(&b, back);
    side_append(&f, src, -1, 0, 0, 0);
    side_append(&b, dst, -1, 0, 0, 0);
    size_t flo = 0, fhi = 1, blo = 0, bhi = 1; /* current frontiers */
    uint32_t fdepth = 0, bdepth = 0;
    int64_t bf = -1, bb = -1;
    while (flo < fhi && blo < bhi && (!o->max_depth || fdepth + bdepth < o->max_depth)) {
        int rc;
        /* expand the side whose level has fewer edges to scan (hubs are costly) */
        if (level_cost(&f, o->dir, flo, fhi) <= level_cost(&b, back, blo, bhi)) {
            rc = bidi_level(o, &f, o->dir, flo, fhi, &b, &bf, &bb);
            flo = fhi;
            fhi = f.n;
            fdepth++;
        } else {
            rc = bidi_level(o, &b, back, blo, bhi, &f, &bb, &bf);
            blo = bhi;
            bhi = b.n;
            bdepth++;
        }
        if (rc > 0) {
            path_build(p, &f, bf, &b, bb);
            break;
        }
        if (rc < 0) {
            p->truncated = 1;
            break;
        }
    }
    side_free(&f);
    side_free(&b);
    return GRAPH_OK;
}

/* Binary min-heap of (dist, visit index), lazy deletion. */
typedef struct heap_item {
    double d;
    size_t i;
} heap_item;

typedef struct heap {
    heap_item *a;
    size_t n, cap;
} heap;

static void heap_push(heap *h, double d, size_t i) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->a = zrealloc(h->a, sizeof(heap_item) * h->cap);
    }
    size_t k = h->n++;
    while (k && h->a[(k - 1) / 2].d > d) {
        h->a[k] = h->a[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    h->a[k] = (heap_item){d, i};
}

static heap_item heap_pop(heap *h) {
    heap_item top = h->a[0], last = h->a[--h->n];
    size_t k = 0;
    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d) c++;
        if (h->a[c].d >= last.d) break;
        h->a[k] = h->a[c];
        k = c;
    }
    if (h->n) h->a[k] = last;
    return top;
}

/* One side of a Dijkstra search: visits, tentative distances, settled
 * flags and the heap. */
typedef struct dside {
    side s;
    double *dist;
    uint8_t *settled;
    size_t dcap;
    heap h;
} dside;

static void dside_init(dside *x, graph_node *start, graph_dir dir) {
    side_init(&x->s, dir);
    x->dcap = 64;
    x->dist = zmalloc(sizeof(double) * x->dcap);
    x->settled = zcalloc(x->dcap);
    memset(&x->h, 0, sizeof(x->h));
    side_append(&x->s, start, -1, 0, 0, 0);
    x->dist[0] = 0;
    heap_push(&x->h, 0, 0);
}

static void dside_free(dside *x) {
    side_free(&x->s);
    zfree(x->dist);
    zfree(x->settled);
    zfree(x->h.a);
}

/* Pops the closest unsettled visit of x and settles it; -1 when none. */
static int64_t dside_settle(dside *x) {
    while (x->h.n) {
        heap_item it = heap_pop(&x->h);
        if (x->settled[it.i] || it.d > x->dist[it.i]) continue;
        x->settled[it.i] = 1;
        return (int64_t)it.i;
    }
    return -1;
}

/* The smallest tentative distance in x's heap (stale entries included,
 * which only makes it a lower bound), or INFINITY. */
static double dside_top(const dside *x) { return x->h.n ? x->h.a[0].d : INFINITY; }

/* Relaxes the edges of visit i of x in x's direction (tag: the hop count of
 * the (node, hops) states when bounded, else 0). Calls back meet(priv, at)
 * for every visit whose distance improved. Returns GRAPH_OK,
 * GRAPH_ERR_NEGATIVE, or 1 when the cap stopped it. */
static int dside_relax(dside *x, size_t i, const graph_walk_opts *o, int bounded, graph_node *exempt,
                       void (*meet)(void *, size_t), void *priv) {
    graph_dir d = x->s.dir;
    graph_node *u = x->s.v[i].node;
    uint32_t hops = x->s.v[i].depth;
    double du = x->dist[i];
    size_t deg = graph_degree(u, d);
    for (size_t k = 0; k < deg; k++) {
        graph_edge e;
        graph_edge_at(u, d, k, &e);
        if (!edge_follows(o, &e)) continue;
        if (e.weight < 0) return GRAPH_ERR_NEGATIVE;
        graph_node *q = edge_peer(u, &e);
        uint32_t tag = bounded ? hops + 1 : 0;
        double nd = du + e.weight;
        int64_t at = vmap_get(&x->s.seen, q, tag);
        if (at == REJECTED || (at >= 0 && (x->settled[at] || nd >= x->dist[at]))) continue;
        if (at == VMAP_ABSENT) {
            if (o->node_ok && q != exempt && !o->node_ok(o->priv, q)) {
                vmap_put(&x->s.seen, q, tag, REJECTED);
                continue;
            }
            if (o->max_nodes && x->s.n >= o->max_nodes) return 1;
            at = (int64_t)side_append(&x->s, q, (int64_t)i, hops + 1, (uint32_t)k, tag);
            if (x->s.n > x->dcap) {
                x->dist = zrealloc(x->dist, sizeof(double) * x->dcap * 2);
                x->settled = zrealloc(x->settled, x->dcap * 2);
                memset(x->settled + x->dcap, 0, x->dcap);
                x->dcap *= 2;
            }
        } else {
            x->s.v[at].parent = (int64_t)i;
            x->s.v[at].k = (uint32_t)k;
        }
        x->dist[at] = nd;
        heap_push(&x->h, nd, (size_t)at);
        if (meet) meet(priv, (size_t)at);
    }
    return GRAPH_OK;
}

/* Dijkstra from src, one side; with o->max_depth over (node, hops) states.
 * Stops when dst is settled (optimal) or max_cost is passed. */
static int path_dijkstra(graph_node *src, graph_node *dst, const graph_walk_opts *o, double max_cost, graph_path *p) {
    dside x;
    dside_init(&x, src, o->dir);
    int rc = GRAPH_OK, bounded = o->max_depth > 0;
    for (int64_t i; (i = dside_settle(&x)) >= 0;) {
        if (max_cost >= 0 && x.dist[i] > max_cost) break;
        if (x.s.v[i].node == dst) {
            path_build(p, &x.s, i, NULL, 0);
            break;
        }
        if (bounded && x.s.v[i].depth >= o->max_depth) continue;
        rc = dside_relax(&x, (size_t)i, o, bounded, dst, NULL, NULL);
        if (rc != GRAPH_OK) break;
    }
    if (rc == 1) {
        p->truncated = 1;
        rc = GRAPH_OK;
    }
    dside_free(&x);
    return rc;
}

/* Bidirectional Dijkstra: the best meeting seen so far (mu, through the
 * visits mf of the forward side and mb of the backward side). */
typedef struct bidij {
    dside f, b;
    dside *self, *other; /* the side relaxing now, and the other */
    double mu;
    int64_t mf, mb;
} bidij;

static void bidij_meet(void *priv, size_t at) {
    bidij *z = priv;
    int64_t o = vmap_get(&z->other->s.seen, z->self->s.v[at].node, 0);
    if (o < 0) return;
    double c = z->self->dist[at] + z->other->dist[o];
    if (c >= z->mu) return;
    z->mu = c;
    z->mf = z->self == &z->f ? (int64_t)at : o;
    z->mb = z->self == &z->f ? o : (int64_t)at;
}

/* Least-cost path without a hop bound: Dijkstra from both ends at once,
 * settling on the side whose next distance is smaller, and stopping when
 * the two smallest tentative distances add up to at least the best
 * meeting mu (the classic criterion: no path left can be cheaper). */
static int path_dijkstra_bidi(graph_node *src, graph_node *dst, const graph_walk_opts *o, double max_cost,
                              graph_path *p) {
    bidij z = {.mu = INFINITY, .mf = -1, .mb = -1};
    graph_dir back = dir_reverse(o->dir);
    dside_init(&z.f, src, o->dir);
    dside_init(&z.b, dst, back);
    graph_walk_opts oo = *o;
    int rc = GRAPH_OK;
    for (;;) {
        double tf = dside_top(&z.f), tb = dside_top(&z.b);
        if (isinf(tf) || isinf(tb) || tf + tb >= z.mu) break;
        if (max_cost >= 0 && tf + tb > max_cost) break;
        int fwd = tf <= tb;
        z.self = fwd ? &z.f : &z.b;
        z.other = fwd ? &z.b : &z.f;
        int64_t i = dside_settle(z.self);
        if (i < 0) continue;
        /* the cap counts both sides */
        oo.max_nodes = o->max_nodes ? (z.other->s.n < o->max_nodes ? o->max_nodes - z.other->s.n : 1) : 0;
        rc = dside_relax(z.self, (size_t)i, &oo, 0, fwd ? dst : src, bidij_meet, &z);
        if (rc != GRAPH_OK) break;
    }
    if (rc == 1) {
        p->truncated = 1;
        rc = GRAPH_OK;
    } else if (rc == GRAPH_OK && z.mf >= 0 && (max_cost < 0 || z.mu <= max_cost)) {
        path_build(p, &z.f.s, z.mf, &z.b.s, z.mb);
    }
    dside_free(&z.f);
    dside_free(&z.b);
    return rc;
}

int graph_path_find(graph_store *g, graph_node *src, graph_node *dst, const graph_walk_opts *o, int weighted,
                    double max_cost, graph_path *p) {
    (void)g;
    memset(p, 0, sizeof(*p));
    if (!src || !dst) return GRAPH_OK;
    if (src == dst) {
        p->found = 1;
        p->nodes = zmalloc(sizeof(graph_node *));
        p->nodes[0] = src;
        p->edges = zmalloc(sizeof(graph_edge));
        return GRAPH_OK;
    }
    if (!weighted) return path_bfs(src, dst, o, p);
    return o->max_depth ? path_dijkstra(src, dst, o, max_cost, p) : path_dijkstra_bidi(src, dst, o, max_cost, p);
}

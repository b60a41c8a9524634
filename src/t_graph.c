/* t_graph.c -- the graph commands: PH.EDGE, PH.NEIGHBORS, PH.PATH, the
 * GraphRAG expansion of PH.SEARCH ... EXPAND, PH.GET EDGES, the INFO graph
 * section, and the entity-side glue that keeps edges consistent with the
 * keyspace. docs/graph.md is the user's reference.
 *
 * Storage: one edge store (graph.c) per database, created on the first
 * edge. Every entity that has edges owns one graph_node, reached from the
 * entity's `edges` slot (t_entity.c), and the node points back at the
 * entity; edges are node-to-node pointers. Edges never cross databases
 * (both ends are looked up in the client's database), they may cross
 * collections, and an entity outside every collection may have edges.
 *
 * No dangling pointer, by construction:
 *  - an entity is freed only through entity_type_ops.free (DEL, UNLINK,
 *    overwrite by SET/PH.SET on another type/RESTORE REPLACE, expiry,
 *    FLUSHDB/FLUSHALL, PH.DROP DELETEDATA, shutdown), which calls
 *    graph_entity_free(): every edge of the entity goes at both ends, and
 *    peers left without edges lose their node (their slot is cleared);
 *  - RENAME moves the same entity value to a new key: the node still points
 *    at it and replies read the entity's current key, so edges follow;
 *  - COPY duplicates the entity without its edges (the copy's slot is NULL);
 *  - MOVE of an entity is refused by the keyspace (db.c), so a node never
 *    changes database.
 *
 * Bounds: every traversal (PH.NEIGHBORS, PH.PATH, EXPAND) records at most
 * graph_max_traversal nodes (config graph-max-traversal); the reply says
 * when that cap, LIMIT or a path search's cap cut the result short.
 *
 * Determinism: PH.EDGE writes depend only on their arguments and the
 * existing edges (an ADD of an existing (from, to, type) updates it), so
 * logging the commands replays them exactly. Replies list edges in
 * adjacency order, which depends only on the sequence of writes.
 *
 * Complexity: PH.EDGE ADD/DEL/GET O(1) average; LIST O(degree); NEIGHBORS
 * O(nodes + edges visited); PATH O(nodes + edges visited) unweighted, and
 * O((V + E) log V) weighted (times MAXDEPTH with a hop bound). */
#include <jansson.h>
#include <math.h>

#include "filter.h"
#include "graph.h"
#include "server.h"

#define RRF_K 60.0               /* the constant of reciprocal rank fusion (Cormack et al., 2009) */
#define EXPAND_DEFAULT_LIMIT 100 /* entities reached by EXPAND beyond the hits */
#define MAX_DEPTH 1000000

long long graph_max_traversal = 1000000;

static graph_store **stores; /* per database, created on the first edge */

static graph_store *store_of(db *d) {
    if (!stores) stores = zcalloc(sizeof(graph_store *) * (size_t)server.dbnum);
    if (!stores[d->id]) {
        stores[d->id] = graph_store_new();
        graph_store_set_out_hook(stores[d->id], entity_graph_out_changed);
    }
    return stores[d->id];
}

/* ---------------- keyspace glue ---------------- */

void graph_entity_free(struct graph_node *n) { graph_node_remove(n); }

size_t graph_entity_memory(const struct graph_node *n) { return graph_node_memory(n); }

size_t graph_entity_out_degree(const struct graph_node *n) { return graph_degree(n, GRAPH_OUT); }

void graph_free_db(db *d) {
    if (!stores) return;
    graph_store_free(stores[d->id]);
    stores[d->id] = NULL;
    for (int i = 0; i < server.dbnum; i++)
        if (stores[i]) return;
    zfree(stores);
    stores = NULL;
}

ds graph_info(ds s) {
    graph_stats total = {0};
    s = ds_catfmt(s, "# Graph\r\n");
    for (int i = 0; stores && i < server.dbnum; i++) {
        if (!stores[i]) continue;
        graph_stats st;
        graph_store_get_stats(stores[i], &st);
        total.edges += st.edges;
        total.nodes += st.nodes;
        total.memory += st.memory;
    }
    s = ds_catfmt(s, "graph_edges:%llu\r\ngraph_nodes:%llu\r\ngraph_memory:%llu\r\ngraph_max_traversal:%lld\r\n",
                  (unsigned long long)total.edges, (unsigned long long)total.nodes,
                  (unsigned long long)total.memory, graph_max_traversal);
    for (int i = 0; stores && i < server.dbnum; i++) {
        if (!stores[i]) continue;
        graph_stats st;
        graph_store_get_stats(stores[i], &st);
        s = ds_catfmt(s, "db%d:edges=%llu,nodes=%llu,types=%llu,memory=%llu\r\n", i, (unsigned long long)st.edges,
                      (unsigned long long)st.nodes, (unsigned long long)st.types, (unsigned long long)st.memory);
    }
    return s;
}

void graph_db_stats(db *d, long long *edges, long long *memory) {
    graph_stats st = {0};
    if (stores && stores[d->id]) graph_store_get_stats(stores[d->id], &st);
    *edges = (long long)st.edges;
    *memory = (long long)st.memory;
}

/* ---------------- small helpers ---------------- */

/* Frees JSON text from json_dumps (jansson allocates through zmalloc,
 * see entity_init). */
static void free_json_text(char *s) {
    if (s) zfree(s);
}

static ds key_of(const graph_node *n) { return entity_graph_key(graph_node_owner(n)); }

static void reply_key(client *c, const graph_node *n) {
    ds k = key_of(n);
    add_reply_bulk(c, k, ds_len(k));
}

static void reply_json_or_null(client *c, const json_t *j) {
    if (!j) {
        add_reply_null(c);
        return;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    add_reply_bulk_cstr(c, s ? s : "null");
    free_json_text(s);
}

/* One edge as a map: from, to, type, weight (and meta). */
static void reply_edge(client *c, graph_store *g, const graph_edge *e, int withmeta) {
    size_t tl;
    const char *tn = graph_type_name(g, e->type, &tl);
    add_reply_map_len(c, 4 + withmeta);
    add_reply_bulk_cstr(c, "from");
    reply_key(c, e->from);
    add_reply_bulk_cstr(c, "to");
    reply_key(c, e->to);
    add_reply_bulk_cstr(c, "type");
    add_reply_bulk(c, tn, tl);
    add_reply_bulk_cstr(c, "weight");
    add_reply_double(c, e->weight);
    if (withmeta) {
        add_reply_bulk_cstr(c, "meta");
        reply_json_or_null(c, e->meta);
    }
}

/* The entity at key k: NULL with *err 0 when absent, NULL with *err 1 after
 * replying WRONGTYPE. */
static pobj *entity_at(client *c, const resp_arg *k, int *err) {
    pobj *o;
    *err = db_lookup_typed(c, k, OBJ_ENTITY, 1, &o) < 0;
    return *err ? NULL : o;
}

static pobj *entity_or_reply(client *c, const resp_arg *k, const char *what) {
    int err;
    pobj *o = entity_at(c, k, &err);
    if (!o && !err)
        add_reply_errorf(c, "%s entity '%.*s' does not exist", what, (int)(k->len > 128 ? 128 : k->len), k->ptr);
    return o;
}

static struct graph_node **slot_of(pobj *o) { return entity_graph_slot(o->v.p); }

static int parse_dir(client *c, int i, graph_dir *d) {
    if (arg_is(c, i, "out")) *d = GRAPH_OUT;
    else if (arg_is(c, i, "in")) *d = GRAPH_IN;
    else if (arg_is(c, i, "both")) *d = GRAPH_BOTH;
    else return 0;
    return 1;
}

static int parse_type_arg(client *c, int i, const resp_arg **out) {
    if (c->argv[i].len > GRAPH_TYPE_MAX_LEN) {
        add_reply_errorf(c, "TYPE must be at most %d bytes", GRAPH_TYPE_MAX_LEN);
        return -1;
    }
    *out = &c->argv[i];
    return 0;
}

static json_t *parse_meta(client *c, const resp_arg *a) {
    json_error_t jerr;
    json_t *j = json_loadb(a->ptr, a->len, 0, &jerr);
    if (!j) {
        add_reply_errorf(c, "META is not valid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        add_reply_error(c, "META must be a JSON object");
        json_decref(j);
        return NULL;
    }
    return j;
}

static filter_expr *parse_filter(client *c, int i, const char *what) {
    char err[256];
    filter_expr *f = filter_compile(c->argv[i].ptr, c->argv[i].len, err, sizeof(err), NULL);
    if (!f) add_reply_errorf(c, "%s %s", what, err);
    return f;
}

/* A list of type names given with TYPE (several TYPE options, and several
 * names after one TYPE until the next keyword of the command). */
typedef struct type_list {
    const resp_arg **names;
    int n;
} type_list;

static void type_list_add(type_list *t, const resp_arg *a) {
    t->names = zrealloc(t->names, sizeof(*t->names) * (size_t)(t->n + 1));
    t->names[t->n++] = a;
}

/* Resolves names to ids into ids (ntypes of them). Names no edge has are
 * dropped; when every name is unknown no edge can match: *none = 1. */
static size_t type_list_resolve(graph_store *g, const type_list *t, uint32_t *ids, int *none) {
    size_t n = 0;
    for (int i = 0; i < t->n; i++)
        if (graph_type_find(g, t->names[i]->ptr, t->names[i]->len, &ids[n])) n++;
    *none = t->n > 0 && n == 0;
    return n;
}

/* ---------------- traversal callbacks ---------------- */

typedef struct trav_ctx {
    db *db;
    int64_t now_ms;
    graph_store *g;
    filter_expr *edgefilter;
    json_t *edge_doc; /* {"weight": w, "type": t, "meta": {...}}, reused */
    json_t *weight_val;
    json_t *empty;
} trav_ctx;

/* Entities that expired but were not deleted yet are not entered. */
static int node_alive(void *priv, const graph_node *n) {
    trav_ctx *t = priv;
    if (!dict_size(t->db->expires)) return 1;
    dict_entry *x = dict_find(t->db->expires, key_of(n));
    return !x || dict_entry_s64(x) > t->now_ms;
}

static int edge_passes(void *priv, const graph_edge *e) {
    trav_ctx *t = priv;
    json_real_set(t->weight_val, e->weight);
    json_object_set(t->edge_doc, "type", graph_type_json(t->g, e->type));
    json_object_set(t->edge_doc, "meta", e->meta ? (json_t *)e->meta : t->empty);
    return filter_eval(t->edgefilter, t->edge_doc);
}

static void trav_init(trav_ctx *t, client *c, graph_store *g, filter_expr *edgefilter) {
    memset(t, 0, sizeof(*t));
    t->db = c->db;
    t->now_ms = server_mstime();
    t->g = g;
    t->edgefilter = edgefilter;
    if (edgefilter) {
        t->edge_doc = json_object();
        t->weight_val = json_real(0);
        t->empty = json_object();
        json_object_set(t->edge_doc, "weight", t->weight_val);
    }
}

static void trav_free(trav_ctx *t) {
    if (!t->edge_doc) return;
    json_decref(t->edge_doc);
    json_decref(t->weight_val);
    json_decref(t->empty);
}

static void walk_opts_init(graph_walk_opts *wo, trav_ctx *t, graph_dir dir, const uint32_t *ids, size_t nids) {
    memset(wo, 0, sizeof(*wo));
    wo->dir = dir;
    wo->types = ids;
    wo->ntypes = nids;
    wo->node_ok = node_alive;
    wo->edge_ok = t->edgefilter ? edge_passes : NULL;
    wo->priv = t;
    wo->max_nodes = (size_t)graph_max_traversal;
}

/* The hops from the walk's source to visit v, as an array of edge maps. */
static void reply_walk_path(client *c, graph_store *g, graph_walk *w, const graph_visit *v) {
    add_reply_array_len(c, v->depth);
    graph_edge *hops = zmalloc(sizeof(graph_edge) * (v->depth ? v->depth : 1));
    uint32_t k = v->depth;
    for (const graph_visit *x = v; x->parent >= 0; x = graph_walk_visit(w, x->parent)) graph_walk_via(w, x, &hops[--k]);
    for (uint32_t h = 0; h < v->depth; h++) reply_edge(c, g, &hops[h], 0);
    zfree(hops);
}

/* ---------------- PH.EDGE ---------------- */

/* Keyspace events (class p) on both ends of a changed edge. */
static void notify_ends(client *c, const char *event) {
    notify_keyspace_event(NOTIFY_ENTITY, event, c->argv[2].ptr, c->argv[2].len, c->db->id);
    if (c->argv[2].len != c->argv[3].len || memcmp(c->argv[2].ptr, c->argv[3].ptr, c->argv[2].len))
        notify_keyspace_event(NOTIFY_ENTITY, event, c->argv[3].ptr, c->argv[3].len, c->db->id);
}

static void edge_add(client *c) {
    const resp_arg *type = NULL;
    double weight = 1.0;
    json_t *meta = NULL;
    int undirected = 0;
    for (int i = 4; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (arg_is(c, i, "type") && more) {
            if (parse_type_arg(c, ++i, &type) < 0) goto err;
        } else if (arg_is(c, i, "weight") && more) {
            if (!util_str2d(c->argv[i + 1].ptr, c->argv[i + 1].len, &weight) || !isfinite(weight)) {
                add_reply_error(c, "WEIGHT must be a finite number");
                goto err;
            }
            i++;
        } else if (arg_is(c, i, "meta") && more && !meta) {
            if (!(meta = parse_meta(c, &c->argv[++i]))) goto err;
        } else if (arg_is(c, i, "undirected")) {
            undirected = 1;
        } else {
            add_reply_err_syntax(c);
            goto err;
        }
    }
    pobj *a = entity_or_reply(c, &c->argv[2], "from");
    if (!a) goto err;
    pobj *b = entity_or_reply(c, &c->argv[3], "to");
    if (!b) goto err;
    graph_store *g = store_of(c->db);
    const char *tp = type ? type->ptr : "";
    size_t tl = type ? type->len : 0;
    int created = 0, created2 = 0;
    json_t *meta2 = undirected && a != b && meta ? json_deep_copy(meta) : NULL;
    int rc = graph_edge_set(g, slot_of(a), a->v.p, slot_of(b), b->v.p, tp, tl, weight, meta, &created);
    if (rc == GRAPH_OK) {
        server_incr_dirty(1); /* even if the reverse edge fails below: this one is written */
        notify_ends(c, "ph.edge.add");
        if (undirected && a != b) {
            rc = graph_edge_set(g, slot_of(b), b->v.p, slot_of(a), a->v.p, tp, tl, weight, meta2, &created2);
            meta2 = NULL; /* taken over */
        }
    }
    if (meta2) json_decref(meta2);
    if (rc != GRAPH_OK) {
        add_reply_error(c, "an entity has too many edges");
        return;
    }
    add_reply_long(c, created + created2);
    return;
err:
    if (meta) json_decref(meta);
}

/* Parses [TYPE t] [UNDIRECTED] (UNDIRECTED only when allow_undirected). */
static int parse_pair_opts(client *c, const resp_arg **type, int *undirected, int allow_undirected) {
    *type = NULL;
    *undirected = 0;
    for (int i = 4; i < c->argc; i++) {
        if (arg_is(c, i, "type") && i + 1 < c->argc) {
            if (parse_type_arg(c, ++i, type) < 0) return -1;
        } else if (allow_undirected && arg_is(c, i, "undirected")) {
            *undirected = 1;
        } else {
            add_reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

static void edge_del(client *c) {
    const resp_arg *type;
    int undirected, err;
    if (parse_pair_opts(c, &type, &undirected, 1) < 0) return;
    pobj *a = entity_at(c, &c->argv[2], &err);
    if (err) return;
    pobj *b = entity_at(c, &c->argv[3], &err);
    if (err) return;
    long long n = 0;
    if (a && b && stores && stores[c->db->id]) {
        graph_store *g = stores[c->db->id];
        const char *tp = type ? type->ptr : "";
        size_t tl = type ? type->len : 0;
        n += graph_edge_del(g, *slot_of(a), *slot_of(b), tp, tl);
        if (undirected && a != b) n += graph_edge_del(g, *slot_of(b), *slot_of(a), tp, tl);
    }
    if (n) {
        server_incr_dirty(1);
        notify_ends(c, "ph.edge.del");
    }
    add_reply_long(c, n);
}

static void edge_get(client *c) {
    const resp_arg *type;
    int undirected, err;
    if (parse_pair_opts(c, &type, &undirected, 0) < 0) return;
    pobj *a = entity_at(c, &c->argv[2], &err);
    if (err) return;
    pobj *b = entity_at(c, &c->argv[3], &err);
    if (err) return;
    graph_edge e;
    if (!a || !b || !stores || !stores[c->db->id] ||
        !graph_edge_get(stores[c->db->id], *slot_of(a), *slot_of(b), type ? type->ptr : "", type ? type->len : 0, &e)) {
        add_reply_null(c);
        return;
    }
    reply_edge(c, stores[c->db->id], &e, 1);
}

/* Replies the edges of n in direction d whose type is one of ids (nids 0:
 * any; none: no edge matches), at most limit (0: all). Edges to a peer that
 * has expired but was not deleted yet are left out, as traversals leave
 * the peer out. */
static void reply_edge_list(client *c, graph_store *g, struct graph_node *n, graph_dir d, const uint32_t *ids,
                            size_t nids, int none, long long limit, int withmeta) {
    size_t deg = none ? 0 : graph_degree(n, d);
    trav_ctx t = {.db = c->db, .now_ms = server_mstime()};
    void *h = add_reply_deferred_len(c);
    long long out = 0;
    for (size_t i = 0; i < deg && (!limit || out < limit); i++) {
        graph_edge e;
        graph_edge_at(n, d, i, &e);
        if (nids) {
            size_t k = 0;
            while (k < nids && ids[k] != e.type) k++;
            if (k == nids) continue;
        }
        if (!node_alive(&t, e.from == n ? e.to : e.from)) continue;
        reply_edge(c, g, &e, withmeta);
        out++;
    }
    set_deferred_array_len(c, h, out);
}

static void edge_list(client *c) {
    graph_dir d = GRAPH_OUT;
    type_list types = {0};
    int withmeta = 0, err;
    long long limit = 0;
    for (int i = 3; i < c->argc; i++) {
        const resp_arg *t;
        if (parse_dir(c, i, &d)) continue;
        if (arg_is(c, i, "type") && i + 1 < c->argc) {
            if (parse_type_arg(c, ++i, &t) < 0) goto done;
            type_list_add(&types, t);
        } else if (arg_is(c, i, "withmeta")) {
            withmeta = 1;
        } else if (arg_is(c, i, "limit") && i + 1 < c->argc) {
            if (arg_long_range(c, ++i, 0, LLONG_MAX, &limit, "LIMIT must be a non-negative integer") < 0) goto done;
        } else {
            add_reply_err_syntax(c);
            goto done;
        }
    }
    pobj *o = entity_at(c, &c->argv[2], &err);
    if (err) goto done;
    if (!o || !*slot_of(o)) {
        add_reply_array_len(c, 0);
        goto done;
    }
    graph_store *g = stores[c->db->id];
    uint32_t *ids = zmalloc(sizeof(uint32_t) * (size_t)(types.n ? types.n : 1));
    int none;
    size_t nids = type_list_resolve(g, &types, ids, &none);
    reply_edge_list(c, g, *slot_of(o), d, ids, nids, none, limit, withmeta);
    zfree(ids);
done:
    zfree(types.names);
}

static const char *edge_help[] = {
    "PH.EDGE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADD <from> <to> [TYPE <t>] [WEIGHT <w>] [META <json>] [UNDIRECTED]",
    "    Add (or update) the edge from -> to; UNDIRECTED adds to -> from too.",
    "DEL <from> <to> [TYPE <t>] [UNDIRECTED]",
    "    Delete the edge from -> to (and to -> from with UNDIRECTED).",
    "GET <from> <to> [TYPE <t>]",
    "    Return the edge from -> to: from, to, type, weight, meta.",
    "LIST <key> [OUT|IN|BOTH] [TYPE <t> ...] [WITHMETA] [LIMIT <n>]",
    "    List the edges of an entity.",
    NULL,
};

void phEdgeCommand(client *c) {
    if (arg_is(c, 1, "add")) edge_add(c);
    else if (arg_is(c, 1, "del")) edge_del(c);
    else if (arg_is(c, 1, "get")) edge_get(c);
    else if (arg_is(c, 1, "list")) edge_list(c);
    else add_reply_help(c, edge_help);
}

void graph_reply_entity_edges(client *c, struct graph_node *n) {
    if (!n) {
        add_reply_array_len(c, 0);
        return;
    }
    reply_edge_list(c, stores[c->db->id], n, GRAPH_BOTH, NULL, 0, 0, 0, 1);
}

/* ---------------- PH.NEIGHBORS ---------------- */

/* Option of PH.NEIGHBORS / PH.PATH / EXPAND that ends a TYPE list. */
static int is_keyword(client *c, int i) {
    static const char *kw[] = {"depth", "out", "in", "both", "type", "filter", "edgefilter", "limit", "withpaths",
                               "weighted", "maxdepth", "maxcost", "rerank", "withscores", "withmeta", "withvectors",
                               "return", "k", "ef", "exact", "radius", "timeout", "expand", NULL};
    for (int k = 0; kw[k]; k++)
        if (arg_is(c, i, kw[k])) return 1;
    return 0;
}

/* TYPE t [t ...] at argv[*i] (the word TYPE): adds the names, leaves *i on
 * the last one. */
static int parse_type_list(client *c, int *i, type_list *t) {
    if (*i + 1 >= c->argc) {
        add_reply_err_syntax(c);
        return -1;
    }
    const resp_arg *a;
    if (parse_type_arg(c, ++*i, &a) < 0) return -1;
    type_list_add(t, a);
    while (*i + 1 < c->argc && !is_keyword(c, *i + 1)) {
        if (parse_type_arg(c, ++*i, &a) < 0) return -1;
        type_list_add(t, a);
    }
    return 0;
}

void phNeighborsCommand(client *c) {
    long long depth = 1, limit = 0;
    graph_dir dir = GRAPH_OUT;
    type_list types = {0};
    filter_expr *filter = NULL, *edgefilter = NULL;
    int withpaths = 0;
    for (int i = 2; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (parse_dir(c, i, &dir)) continue;
        if (arg_is(c, i, "depth") && more) {
            if (arg_long_range(c, ++i, 1, MAX_DEPTH, &depth, "DEPTH must be between 1 and 1000000") < 0) goto done;
        } else if (arg_is(c, i, "type")) {
            if (parse_type_list(c, &i, &types) < 0) goto done;
        } else if (arg_is(c, i, "filter") && more && !filter) {
            if (!(filter = parse_filter(c, ++i, "FILTER"))) goto done;
        } else if (arg_is(c, i, "edgefilter") && more && !edgefilter) {
            if (!(edgefilter = parse_filter(c, ++i, "EDGEFILTER"))) goto done;
        } else if (arg_is(c, i, "limit") && more) {
            if (arg_long_range(c, ++i, 1, LLONG_MAX, &limit, "LIMIT must be a positive integer") < 0) goto done;
        } else if (arg_is(c, i, "withpaths")) {
            withpaths = 1;
        } else {
            add_reply_err_syntax(c);
            goto done;
        }
    }
    pobj *o = entity_or_reply(c, &c->argv[1], "start");
    if (!o) goto done;
    graph_store *g = store_of(c->db);
    uint32_t *ids = zmalloc(sizeof(uint32_t) * (size_t)(types.n ? types.n : 1));
    int none;
    size_t nids = type_list_resolve(g, &types, ids, &none);
    trav_ctx t;
    trav_init(&t, c, g, edgefilter);
    graph_walk_opts wo;
    walk_opts_init(&wo, &t, dir, ids, nids);
    wo.max_depth = (uint32_t)depth;
    wo.max_nodes = (size_t)graph_max_traversal + 1; /* the start is not counted */
    graph_walk *w = graph_walk_new(g, &wo);
    if (!none) graph_walk_add_source(w, *slot_of(o));
    int64_t *res = NULL, vi = -1; /* visit indexes: visits move as the walk grows */
    size_t n = 0, cap = 0;
    int truncated = 0;
    for (const graph_visit *v; (v = graph_walk_next(w));) {
        vi++;
        if (v->depth == 0) continue;
        if (filter && !filter_eval(filter, entity_graph_meta(graph_node_owner(v->node)))) continue;
        if (limit && n == (size_t)limit) {
            truncated = 1; /* one more result exists */
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            res = zrealloc(res, sizeof(*res) * cap);
        }
        res[n++] = vi;
    }
    truncated |= graph_walk_truncated(w);
    /* columns: one array of keys, one of depths (cheaper to build and to
     * parse than a map per entity), and the paths with WITHPATHS */
    add_reply_map_len(c, 3 + withpaths);
    add_reply_bulk_cstr(c, "keys");
    add_reply_array_len(c, (long long)n);
    for (size_t k = 0; k < n; k++) reply_key(c, graph_walk_visit(w, res[k])->node);
    add_reply_bulk_cstr(c, "depths");
    add_reply_array_len(c, (long long)n);
    for (size_t k = 0; k < n; k++) add_reply_long(c, graph_walk_visit(w, res[k])->depth);
    if (withpaths) {
        add_reply_bulk_cstr(c, "paths");
        add_reply_array_len(c, (long long)n);
        for (size_t k = 0; k < n; k++) reply_walk_path(c, g, w, graph_walk_visit(w, res[k]));
    }
    add_reply_bulk_cstr(c, "truncated");
    add_reply_bool(c, truncated);
    zfree(res);
    graph_walk_free(w);
    trav_free(&t);
    zfree(ids);
done:
    zfree(types.names);
    filter_free(filter);
    filter_free(edgefilter);
}

/* ---------------- PH.PATH ---------------- */

static void reply_path(client *c, graph_store *g, const graph_path *p, pobj *from) {
    add_reply_map_len(c, 6);
    add_reply_bulk_cstr(c, "found");
    add_reply_bool(c, p->found);
    add_reply_bulk_cstr(c, "hops");
    add_reply_long(c, p->found ? (long long)p->hops : -1);
    add_reply_bulk_cstr(c, "cost");
    add_reply_double(c, p->found ? p->cost : 0);
    add_reply_bulk_cstr(c, "keys");
    if (!p->found) {
        add_reply_array_len(c, 0);
    } else if (p->hops == 0) {
        add_reply_array_len(c, 1);
        ds k = entity_graph_key(from->v.p);
        add_reply_bulk(c, k, ds_len(k));
    } else {
        add_reply_array_len(c, (long long)p->hops + 1);
        for (size_t h = 0; h <= p->hops; h++) reply_key(c, p->nodes[h]);
    }
    add_reply_bulk_cstr(c, "edges");
    add_reply_array_len(c, p->found ? (long long)p->hops : 0);
    for (size_t h = 0; p->found && h < p->hops; h++) reply_edge(c, g, &p->edges[h], 0);
    add_reply_bulk_cstr(c, "truncated");
    add_reply_bool(c, p->truncated);
}

void phPathCommand(client *c) {
    graph_dir dir = GRAPH_OUT;
    type_list types = {0};
    int weighted = 0;
    long long maxdepth = 0;
    double maxcost = -1;
    for (int i = 3; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (parse_dir(c, i, &dir)) continue;
        if (arg_is(c, i, "type")) {
            if (parse_type_list(c, &i, &types) < 0) goto done;
        } else if (arg_is(c, i, "weighted")) {
            weighted = 1;
        } else if (arg_is(c, i, "maxdepth") && more) {
            if (arg_long_range(c, ++i, 1, MAX_DEPTH, &maxdepth, "MAXDEPTH must be between 1 and 1000000") < 0) goto done;
        } else if (arg_is(c, i, "maxcost") && more) {
            if (!util_str2d(c->argv[i + 1].ptr, c->argv[i + 1].len, &maxcost) || !(maxcost >= 0)) {
                add_reply_error(c, "MAXCOST must be a non-negative number");
                goto done;
            }
            i++;
        } else {
            add_reply_err_syntax(c);
            goto done;
        }
    }
    if (maxcost >= 0 && !weighted) {
        add_reply_error(c, "MAXCOST needs WEIGHTED");
        goto done;
    }
    pobj *a = entity_or_reply(c, &c->argv[1], "from");
    if (!a) goto done;
    pobj *b = entity_or_reply(c, &c->argv[2], "to");
    if (!b) goto done;
    graph_store *g = store_of(c->db);
    uint32_t *ids = zmalloc(sizeof(uint32_t) * (size_t)(types.n ? types.n : 1));
    int none;
    size_t nids = type_list_resolve(g, &types, ids, &none);
    trav_ctx t;
    trav_init(&t, c, g, NULL);
    graph_walk_opts wo;
    walk_opts_init(&wo, &t, dir, ids, nids);
    wo.max_depth = (uint32_t)maxdepth;
    graph_path p = {0};
    int rc = GRAPH_OK;
    if (a == b) {
        p.found = 1;
    } else if (!none) {
        rc = graph_path_find(g, *slot_of(a), *slot_of(b), &wo, weighted, maxcost, &p);
    }
    if (rc == GRAPH_ERR_NEGATIVE) add_reply_error(c, "WEIGHTED needs non-negative weights: an edge on the way has a negative weight");
    else reply_path(c, g, &p, a);
    graph_path_free(&p);
    trav_free(&t);
    zfree(ids);
done:
    zfree(types.names);
}

/* ---------------- PH.SEARCH ... EXPAND ---------------- */

enum { RERANK_RRF = 0, RERANK_SCORE = 1 };

struct graph_expand_opts {
    int expand; /* EXPAND given */
    long long depth, limit;
    graph_dir dir;
    type_list types;
    filter_expr *edgefilter;
    int rerank, rerank_given, withpaths;
};

void graph_expand_opts_free(graph_expand_opts *o) {
    if (!o) return;
    zfree(o->types.names);
    filter_free(o->edgefilter);
    zfree(o);
}

/* EXPAND <depth> [TYPE t ..] [OUT|IN|BOTH] [EDGEFILTER expr] [LIMIT n] */
static int parse_expand(client *c, int *i, graph_expand_opts *o) {
    if (o->expand || *i + 1 >= c->argc) {
        add_reply_err_syntax(c);
        return -1;
    }
    if (arg_long_range(c, ++*i, 1, MAX_DEPTH, &o->depth, "EXPAND depth must be between 1 and 1000000") < 0) return -1;
    o->expand = 1;
    for (;;) {
        int j = *i + 1, more = j + 1 < c->argc;
        if (j >= c->argc) break;
        if (parse_dir(c, j, &o->dir)) {
            *i = j;
        } else if (arg_is(c, j, "type")) {
            *i = j;
            if (parse_type_list(c, i, &o->types) < 0) return -1;
        } else if (arg_is(c, j, "edgefilter") && more && !o->edgefilter) {
            if (!(o->edgefilter = parse_filter(c, j + 1, "EDGEFILTER"))) return -1;
            *i = j + 1;
        } else if (arg_is(c, j, "limit") && more) {
            if (arg_long_range(c, j + 1, 1, LLONG_MAX, &o->limit, "LIMIT must be a positive integer") < 0) return -1;
            *i = j + 1;
        } else {
            break;
        }
    }
    return 0;
}

int graph_search_option(client *c, int *i, graph_expand_opts **opts) {
    int is_expand = arg_is(c, *i, "expand"), is_rerank = arg_is(c, *i, "rerank"), is_paths = arg_is(c, *i, "withpaths");
    if (!is_expand && !is_rerank && !is_paths) return 0;
    if (!*opts) {
        *opts = zcalloc(sizeof(graph_expand_opts));
        (*opts)->dir = GRAPH_OUT;
        (*opts)->limit = EXPAND_DEFAULT_LIMIT;
    }
    graph_expand_opts *o = *opts;
    if (is_expand) return parse_expand(c, i, o) < 0 ? -1 : 1;
    if (is_paths) {
        o->withpaths = 1;
        return 1;
    }
    if (*i + 1 < c->argc && arg_is(c, *i + 1, "rrf")) o->rerank = RERANK_RRF;
    else if (*i + 1 < c->argc && arg_is(c, *i + 1, "score")) o->rerank = RERANK_SCORE;
    else {
        add_reply_error(c, "RERANK must be RRF or SCORE");
        return -1;
    }
    o->rerank_given = 1;
    ++*i;
    return 1;
}

int graph_search_validate(client *c, graph_expand_opts *o, int has_vectors_or_return) {
    if (!o) return 0;
    if (!o->expand) {
        add_reply_error(c, o->rerank_given ? "RERANK needs EXPAND" : "WITHPATHS needs EXPAND");
        return -1;
    }
    if (has_vectors_or_return) {
        add_reply_error(c, "WITHVECTORS and RETURN are not supported with EXPAND");
        return -1;
    }
    return 0;
}

typedef struct expand_item {
    void *entity;
    struct graph_node *node;
    int64_t visit;   /* index in the walk, -1 for a hit without edges */
    uint32_t depth;
    uint32_t order;  /* position in BFS order: hits first, in rank order */
    int hit;
    double score;    /* vector score, NAN when the entity has none */
    double rrf;
} expand_item;

static int cmp_score(const void *pa, const void *pb) {
    const expand_item *a = pa, *b = pb;
    int na = isnan(a->score), nb = isnan(b->score);
    if (na != nb) return na - nb;
    if (!na && a->score != b->score) return a->score < b->score ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_rrf(const void *pa, const void *pb) {
    const expand_item *a = pa, *b = pb;
    if (a->rrf != b->rrf) return a->rrf > b->rrf ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Orders items as RERANK says (docs/graph.md, "Reranking"):
 *   RRF    rrf(d) = 1/(60 + vrank(d)) + 1/(60 + 1 + depth(d)), where vrank
 *          is d's rank (1-based, by vector score, ties in BFS order) among
 *          the items that have a vector score (no term when d has none),
 *          and depth(d) its hops from the nearest hit (0 for hits);
 *          highest first, ties in BFS order;
 *   SCORE  by vector score, best first; items without one last, in BFS
 *          order. */
static void expand_rank(expand_item *it, size_t n, int rerank) {
    qsort(it, n, sizeof(*it), cmp_score);
    if (rerank == RERANK_SCORE) return;
    for (size_t k = 0; k < n; k++)
        it[k].rrf = (isnan(it[k].score) ? 0 : 1.0 / (RRF_K + (double)(k + 1))) + 1.0 / (RRF_K + 1.0 + it[k].depth);
    qsort(it, n, sizeof(*it), cmp_rrf);
}

static void reply_expand_item(client *c, graph_store *g, graph_walk *w, const expand_item *x, int rrf, int withmeta,
                              int withpaths) {
    add_reply_map_len(c, 4 + rrf + withmeta + withpaths);
    add_reply_bulk_cstr(c, "key");
    ds k = entity_graph_key(x->entity);
    add_reply_bulk(c, k, ds_len(k));
    add_reply_bulk_cstr(c, "hit");
    add_reply_bool(c, x->hit);
    add_reply_bulk_cstr(c, "depth");
    add_reply_long(c, x->depth);
    add_reply_bulk_cstr(c, "score");
    if (isnan(x->score)) add_reply_null(c);
    else add_reply_double(c, x->score);
    if (rrf) {
        add_reply_bulk_cstr(c, "rrf");
        add_reply_double(c, x->rrf);
    }
    if (withmeta) {
        add_reply_bulk_cstr(c, "meta");
        const json_t *m = entity_graph_meta(x->entity);
        if (m) reply_json_or_null(c, m);
        else add_reply_bulk(c, "{}", 2);
    }
    if (withpaths) {
        add_reply_bulk_cstr(c, "path");
        if (x->visit < 0) add_reply_array_len(c, 0);
        else reply_walk_path(c, g, w, graph_walk_visit(w, x->visit));
    }
}

void graph_search_reply(client *c, graph_expand_opts *o, void **hits, const double *scores, int nhits,
                        graph_score_fn *score, void *priv, int withmeta) {
    graph_store *g = store_of(c->db);
    uint32_t *ids = zmalloc(sizeof(uint32_t) * (size_t)(o->types.n ? o->types.n : 1));
    int none;
    size_t nids = type_list_resolve(g, &o->types, ids, &none);
    trav_ctx t;
    trav_init(&t, c, g, o->edgefilter);
    graph_walk_opts wo;
    walk_opts_init(&wo, &t, o->dir, ids, nids);
    wo.max_depth = none ? 0 : (uint32_t)o->depth;
    wo.max_nodes = (size_t)graph_max_traversal + (size_t)nhits;
    graph_walk *w = graph_walk_new(g, &wo);
    size_t cap = (size_t)nhits + 16, n = 0;
    expand_item *it = zmalloc(sizeof(*it) * cap);
    int64_t vi = 0; /* visits are numbered in the order next() returns them, sources first */
    for (int h = 0; h < nhits; h++) {
        struct graph_node *node = *entity_graph_slot(hits[h]);
        it[n++] = (expand_item){.entity = hits[h], .node = node, .visit = -1, .hit = 1, .score = scores[h]};
        if (graph_walk_add_source(w, node)) it[n - 1].visit = vi++;
    }
    int truncated = 0;
    long long reached = 0;
    vi = -1;
    for (const graph_visit *v; (v = graph_walk_next(w));) {
        vi++;
        if (v->depth == 0) continue;
        if (reached == o->limit) {
            truncated = 1;
            break;
        }
        if (n == cap) {
            cap *= 2;
            it = zrealloc(it, sizeof(*it) * cap);
        }
        void *e = graph_node_owner(v->node);
        it[n++] = (expand_item){.entity = e, .node = v->node, .visit = vi, .depth = v->depth, .score = score(priv, e)};
        reached++;
    }
    truncated |= graph_walk_truncated(w);
    for (size_t k = 0; k < n; k++) it[k].order = (uint32_t)k;
    expand_rank(it, n, o->rerank);
    add_reply_map_len(c, 2);
    add_reply_bulk_cstr(c, "results");
    add_reply_array_len(c, (long long)n);
    for (size_t k = 0; k < n; k++) reply_expand_item(c, g, w, &it[k], o->rerank == RERANK_RRF, withmeta, o->withpaths);
    add_reply_bulk_cstr(c, "truncated");
    add_reply_bool(c, truncated);
    zfree(it);
    graph_walk_free(w);
    trav_free(&t);
    zfree(ids);
}

/* ---------------- durability interface ---------------- */

/* Calls fn for each edge of o in direction dir with the key at its other end. */
static void foreach_edge(pobj *o, int dir, graph_edge_visit_fn *fn, void *priv) {
    struct graph_node *n = *slot_of(o);
    size_t deg = graph_degree(n, dir);
    for (size_t i = 0; i < deg; i++) {
        graph_edge e;
        graph_edge_at(n, dir, i, &e);
        ds peer = key_of(dir == GRAPH_OUT ? e.to : e.from);
        size_t tl;
        const char *tn = graph_type_name(graph_node_store(n), e.type, &tl);
        char *m = e.meta ? json_dumps(e.meta, JSON_COMPACT) : NULL;
        fn(priv, peer, ds_len(peer), tn, tl, e.weight, m, m ? strlen(m) : 0);
        free_json_text(m);
    }
}

void graph_foreach_out_edge(pobj *o, graph_edge_visit_fn *fn, void *priv) { foreach_edge(o, GRAPH_OUT, fn, priv); }

void graph_foreach_in_edge(pobj *o, graph_edge_visit_fn *fn, void *priv) { foreach_edge(o, GRAPH_IN, fn, priv); }

int graph_restore_edge(db *d, const char *from, size_t flen, const char *to, size_t tlen, const char *type,
                       size_t tylen, double weight, const char *meta_json, size_t mlen, const char **err) {
    dict_entry *fa = ds_dict_find(d->keys, from, flen), *fb = ds_dict_find(d->keys, to, tlen);
    pobj *a = fa ? dict_entry_val(fa) : NULL, *b = fb ? dict_entry_val(fb) : NULL;
    if (!a || !b || a->type != OBJ_ENTITY || b->type != OBJ_ENTITY) {
        *err = "an end of the edge is not an entity";
        return -1;
    }
    json_t *meta = NULL;
    if (mlen) {
        meta = json_loadb(meta_json, mlen, 0, NULL);
        if (!meta || !json_is_object(meta)) {
            if (meta) json_decref(meta);
            *err = "the edge metadata is not a JSON object";
            return -1;
        }
    }
    int rc = graph_edge_set(store_of(d), slot_of(a), a->v.p, slot_of(b), b->v.p, type, tylen, weight, meta, NULL);
    if (rc == GRAPH_ERR_TYPE) *err = "the edge type is too long";
    else if (rc == GRAPH_ERR_WEIGHT) *err = "the edge weight is not a finite number";
    else if (rc != GRAPH_OK) *err = "an entity has too many edges";
    return rc == GRAPH_OK ? 0 : -1;
}

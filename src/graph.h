/* graph.h -- the edge store: typed, weighted, directed edges between nodes,
 * with outgoing and incoming adjacency per node, and the traversals the
 * graph commands run on it (breadth-first walks, shortest paths by
 * bidirectional BFS and by Dijkstra). Pure module: no server header; the
 * server (t_graph.c) gives every entity that has edges one graph_node.
 *
 * Model:
 *  - a node belongs to an owner (an opaque pointer: the entity) and is
 *    reachable from a slot the owner holds (graph_node **). The store
 *    creates the node when the owner gets its first edge and frees it, and
 *    sets *slot to NULL, the moment its last edge (in or out) goes, so an
 *    owner without edges pays one NULL pointer;
 *  - an edge is identified by (from, to, type); adding it again updates its
 *    weight and metadata. Types are byte strings of at most
 *    GRAPH_TYPE_MAX_LEN bytes, interned per store as small ids (refcounted:
 *    a type no edge uses any more is forgotten);
 *  - an edge carries a weight (a finite double) and optional JSON metadata
 *    (a jansson tree the store owns).
 *
 * Threads: none; the caller serializes every call on a store. */
#ifndef PHENIX_GRAPH_H
#define PHENIX_GRAPH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define GRAPH_TYPE_MAX_LEN 255
#define GRAPH_MAX_DEGREE 0xFFFFFFF0u /* edges in or out of one node */

typedef enum graph_dir { GRAPH_OUT = 1, GRAPH_IN = 2, GRAPH_BOTH = 3 } graph_dir;

enum {
    GRAPH_OK = 0,
    GRAPH_ERR_DEGREE = -1,   /* a node would exceed GRAPH_MAX_DEGREE edges */
    GRAPH_ERR_TYPE = -2,     /* type name longer than GRAPH_TYPE_MAX_LEN */
    GRAPH_ERR_WEIGHT = -3,   /* weight not finite */
    GRAPH_ERR_NEGATIVE = -4, /* Dijkstra met a negative weight */
};

typedef struct graph_store graph_store;
typedef struct graph_node graph_node;

/* An edge as the store shows it: borrowed until the next write. For an
 * edge seen from its head (IN), from is the peer and to the node asked. */
typedef struct graph_edge {
    graph_node *from, *to;
    uint32_t type;
    double weight;
    const json_t *meta; /* NULL: none */
} graph_edge;

typedef struct graph_stats {
    uint64_t edges;  /* directed edges */
    uint64_t nodes;  /* nodes that have at least one edge */
    uint64_t types;  /* distinct edge types in use */
    uint64_t memory; /* bytes: nodes, adjacency arrays, hash indexes, types,
                      * and the metadata's compact JSON text length */
} graph_stats;

/* A new empty store; free it with graph_store_free() once it has no edges
 * (graph_store_free asserts it). */
graph_store *graph_store_new(void);
/* Optional: fn(owner, +1 or -1) is called every time an edge leaving
 * owner's node is added or removed, cascades of graph_node_remove
 * included (for per-owner-group edge counts). fn must not call back into
 * the store. */
typedef void graph_out_hook(void *owner, int delta);
void graph_store_set_out_hook(graph_store *g, graph_out_hook *fn);
void graph_store_free(graph_store *g);
void graph_store_get_stats(const graph_store *g, graph_stats *st);

/* The owner of node n (what was given when it was created), and its store. */
void *graph_node_owner(const graph_node *n);
graph_store *graph_node_store(const graph_node *n);

/* Adds the edge from -> to (or updates its weight and metadata when it
 * exists). *from_slot / *to_slot are the owners' node slots: a NULL slot
 * gets a new node owned by from_owner / to_owner. meta (may be NULL) is
 * taken over by the store in every case, even on error. *created (when not
 * NULL) receives 1 for a new edge, 0 for an update. Returns GRAPH_OK,
 * GRAPH_ERR_TYPE, GRAPH_ERR_WEIGHT or GRAPH_ERR_DEGREE (nothing changed).
 * O(1) average. */
int graph_edge_set(graph_store *g, graph_node **from_slot, void *from_owner, graph_node **to_slot, void *to_owner,
                   const char *type, size_t tlen, double weight, json_t *meta, int *created);

/* Removes the edge (from, to, type); returns 1 if it existed, else 0. Nodes
 * left without edges are freed and their slots cleared. O(1) average. */
int graph_edge_del(graph_store *g, graph_node *from, graph_node *to, const char *type, size_t tlen);

/* Finds the edge (from, to, type) into *e; returns 1, or 0 when absent. */
int graph_edge_get(const graph_store *g, const graph_node *from, const graph_node *to, const char *type, size_t tlen,
                   graph_edge *e);

/* Removes every edge of n (NULL: nothing) at both ends and frees n
 * (clearing its slot), as well as the peers left without edges, in n's
 * store. O(degree of n) average. */
void graph_node_remove(graph_node *n);

/* Edges of n in a direction: out edges are indexed 0 .. out-1, and for
 * BOTH the in edges follow them. graph_edge_at fills *e for index i <
 * graph_degree(n, d). n may be NULL (no edges). */
size_t graph_degree(const graph_node *n, graph_dir d);
void graph_edge_at(const graph_node *n, graph_dir d, size_t i, graph_edge *e);

/* Type names: the id of name (1 and *id, or 0 when no edge has that type)
 * and the name of an id in use (borrowed until its last edge goes). */
int graph_type_find(const graph_store *g, const char *name, size_t len, uint32_t *id);
const char *graph_type_name(const graph_store *g, uint32_t id, size_t *len);
/* A JSON string of the type's name (borrowed, same lifetime). */
json_t *graph_type_json(graph_store *g, uint32_t id);

/* Bytes the store attributes to n (0 for NULL): node, arrays, index, and
 * its out edges' metadata text. O(1). */
size_t graph_node_memory(const graph_node *n);

/* ---- traversals ----
 * The options every traversal takes. An edge is followed when its type is
 * one of types (ntypes 0: any) and edge_ok accepts it (NULL: all); a node
 * is entered when node_ok accepts it (NULL: all). max_nodes caps the nodes
 * a traversal records (sources included; 0: no cap): reaching it stops the
 * traversal with its truncated flag set. */
typedef struct graph_walk_opts {
    graph_dir dir;
    const uint32_t *types;
    size_t ntypes;
    int (*edge_ok)(void *priv, const graph_edge *e);
    int (*node_ok)(void *priv, const graph_node *n);
    void *priv;
    uint32_t max_depth; /* hops from the nearest source; 0 means sources only */
    size_t max_nodes;
} graph_walk_opts;

/* One node reached by a walk. parent is the index (in visiting order) of
 * the node it was reached from, -1 for a source; seed the index of the
 * source it descends from; k the index of the edge that reached it among
 * the parent's edges in the walk's direction (graph_walk_via gives it). */
typedef struct graph_visit {
    graph_node *node;
    int64_t parent;
    uint32_t depth;
    uint32_t seed;
    uint32_t k;
} graph_visit;

typedef struct graph_walk graph_walk;

/* A breadth-first walk over g with options o (copied, but types, priv and
 * the callbacks are borrowed for the walk's life). Add the sources, then
 * call graph_walk_next() until it returns NULL. Nodes come in BFS order:
 * the sources (depth 0) in the order added, then by depth, a node coming
 * from the earliest node of the previous level that reaches it. The walk
 * discovers nodes only as next() needs them, so stopping early is cheap.
 * The store must not change while the walk lives. */
graph_walk *graph_walk_new(graph_store *g, const graph_walk_opts *o);
/* Adds a source at depth 0 (before the first next(); a node already added,
 * or refused by node_ok, is skipped). Returns 1 if added. */
int graph_walk_add_source(graph_walk *w, graph_node *n);
/* The next node, or NULL when the walk is complete or hit max_nodes. The
 * pointer is valid until the next call. */
const graph_visit *graph_walk_next(graph_walk *w);
/* The i-th node visited so far (for following parents). */
const graph_visit *graph_walk_visit(const graph_walk *w, int64_t i);
/* The edge that reached v (not a source), as stored: its from may be v's
 * node when walking IN. */
void graph_walk_via(const graph_walk *w, const graph_visit *v, graph_edge *e);
/* 1 when max_nodes stopped the walk with nodes left undiscovered. */
int graph_walk_truncated(const graph_walk *w);
void graph_walk_free(graph_walk *w);

/* A path found by graph_path(): hops edges (as stored, so a hop walked
 * against its direction has to == the node before it), nodes[0..hops]. */
typedef struct graph_path {
    int found;
    int truncated; /* max_nodes stopped the search before it was decided */
    size_t hops;
    double cost; /* sum of the weights */
    graph_node **nodes;
    graph_edge *edges;
} graph_path;

/* Shortest path from src to dst under o (o->max_depth bounds the hops; 0
 * means no bound here, unlike walks). weighted 0: fewest hops, by
 * bidirectional BFS (ties: deterministic, the first meeting found);
 * weighted 1: least total weight by Dijkstra with binary heaps, from both
 * ends at once, or from src over (node, hops) states when max_depth is set
 * so that the bound is exact;
 * max_cost (< 0: none) bounds the cost. src == dst gives a path of 0 hops;
 * a NULL src or dst (an owner without edges) gives no path.
 * Returns GRAPH_OK (found or not: see *p) or GRAPH_ERR_NEGATIVE when a
 * followed edge has a negative weight (weighted only). Free *p with
 * graph_path_free(). */
int graph_path_find(graph_store *g, graph_node *src, graph_node *dst, const graph_walk_opts *o, int weighted,
                    double max_cost, graph_path *p);
void graph_path_free(graph_path *p);

#endif

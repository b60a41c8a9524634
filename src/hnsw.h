/* hnsw.h -- Hierarchical Navigable Small World graph index (pure library).
 *
 * An approximate nearest-neighbour index over fp32 vectors of one fixed
 * dimension, after Malkov and Yashunin, "Efficient and robust approximate
 * nearest neighbor search using Hierarchical Navigable Small World graphs"
 * (arXiv 1603.09320, 2016; IEEE TPAMI 2018). hnsw.c's header lists every
 * way it differs from the paper.
 *
 * Identity: the caller names each vector with a uint64 label (unique within
 * the index). Internally nodes live in dense slots 0..count-1; a delete
 * moves the last node into the freed slot, so slots are only meaningful
 * until the next insert, update or delete (iteration and export use them).
 *
 * Distances (smaller is closer): L2 is the squared Euclidean distance; IP
 * is 1 - dot(a,b); COSINE is 1 - cos(a,b), computed as 1 - dot on vectors
 * the index normalizes on insert (so hnsw_get_vector returns the unit
 * vector; a zero vector stays zero and is at distance 1 from everything).
 *
 * Errors: functions that can fail return an int, HNSW_OK (0) or a negative
 * HNSW_ERR_* code; bad input never aborts. Allocation goes through zmalloc
 * (accounted in used_memory), which aborts when memory is exhausted, as
 * everywhere in the server; the library still handles a failed allocation
 * (seen through hnsw_test_fail_alloc_after): the operation returns
 * HNSW_ERR_NOMEM having changed nothing, or, inside linking, completes
 * with a link fewer. Either way the index stays valid.
 *
 * Threads: an index is single-writer. Searches through hnsw_search_ex()
 * with a caller-owned hnsw_scratch only read the index, so several threads
 * may search concurrently while nobody writes. hnsw_search() uses the
 * index's own scratch and counts as a write for this purpose. */
#ifndef PHENIX_HNSW_H
#define PHENIX_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNSW_OK           0
#define HNSW_ERR_NOMEM    (-1) /* allocation failed; nothing changed */
#define HNSW_ERR_ARG      (-2) /* bad parameter, NaN/Inf component, bad level */
#define HNSW_ERR_EXISTS   (-3) /* insert of a label already present */
#define HNSW_ERR_NOTFOUND (-4) /* update/delete/get of an absent label */
#define HNSW_ERR_FULL     (-5) /* 2^32 - 2 nodes already */
#define HNSW_ERR_CORRUPT  (-6) /* import found an inconsistent graph */
#define HNSW_ERR_STATE    (-7) /* call not allowed now (e.g. during import) */

#define HNSW_MAX_LEVEL 16         /* levels 0..16; drawn levels are capped here */
#define HNSW_MAX_M     512        /* M in [2, 512]; level 0 keeps up to 2M links */
#define HNSW_MAX_DIM   65536      /* dim in [1, 65536] */
#define HNSW_NONE      UINT32_MAX /* "no slot" (entry point of an empty index) */

typedef enum hnsw_metric { HNSW_METRIC_L2 = 0, HNSW_METRIC_IP = 1, HNSW_METRIC_COSINE = 2 } hnsw_metric;

/* Quantized walks (quant.h has the codes): searches walk the graph on Q8 or
 * BIN codes of the vectors and rescore the best candidates with the exact
 * fp32 vectors (or, without them, Q8 codes against the fp32 query). With
 * exact vectors kept, the graph is built on them; with no_exact it is built
 * on the codes and no fp32 vector is stored. */
typedef enum hnsw_quant { HNSW_QUANT_NONE = 0, HNSW_QUANT_Q8 = 1, HNSW_QUANT_BIN = 2 } hnsw_quant;

typedef struct hnsw_params {
    uint32_t dim;
    hnsw_metric metric;
    uint32_t M;               /* links per node per level (2M at level 0) */
    uint32_t ef_construction; /* >= 1; searches during inserts use max(this, M) */
    uint64_t seed;            /* seeds the level generator */
    hnsw_quant quant;         /* HNSW_QUANT_NONE: walk on the fp32 vectors */
    int no_exact;             /* with quant: keep no fp32 vectors (BIN needs IP or COSINE) */
    uint32_t rescore;         /* with quant: default over-fetch factor, 1..100 (0 means 1) */
} hnsw_params;

typedef struct hnsw_index hnsw_index;
typedef struct hnsw_scratch hnsw_scratch;

/* Search filter: return true to accept the node with this label. Called at
 * most once per node visited at level 0; it must not modify or search the
 * index it is called from. */
typedef bool (*hnsw_filter_fn)(uint64_t label, void *ctx);

/* Rescoring of an index with no_exact from vectors kept elsewhere (a file):
 * writes label's exact vector (unit length for COSINE) into out and returns
 * 0, or -1 to fall back to the code's own estimate. */
typedef int (*hnsw_vector_fn)(uint64_t label, void *ctx, float *out);

/* Label locator: a caller that can keep one 32-bit number with each label
 * (the server keeps it in the entity) finds labels for the index, which
 * then keeps no label hash of its own (4 to 11 bytes per node less). The
 * index calls set(label, slot) whenever label's node takes a slot (insert,
 * import, the move that keeps slots dense after a delete) and
 * set(label, HNSW_NONE) when it leaves. get must return the last value set
 * for a label that is in the index, and may return anything for another
 * label: the index checks that the slot holds the label, so a stale value
 * only means "absent". Callbacks must not call into the index. */
typedef struct hnsw_locator {
    uint32_t (*get)(uint64_t label, void *ctx);
    void (*set)(uint64_t label, uint32_t slot, void *ctx);
    void *ctx;
} hnsw_locator;

typedef struct hnsw_search_params {
    size_t k;              /* results wanted; 0 gives 0 results */
    size_t ef;             /* candidate list size; raised to k when smaller */
    hnsw_filter_fn filter; /* NULL: every node qualifies */
    void *filter_ctx;
    uint64_t max_distances; /* stop after this many distance computations
                               (0 = no limit); stats say when it hit */
    int acorn; /* with a filter: walk only matching nodes on layer 0,
                  reaching them through non-matching ones (ACORN-1, see
                  hnsw.c); 0: traverse every node, keep matching results */
    const uint64_t *seeds; /* ACORN: labels to start from besides the entry
                              point (absent and non-matching labels are
                              skipped), or NULL; when one matches the walk takes
                              no transit nodes */
    size_t nseeds;
    uint32_t rescore; /* quantized index: the walk keeps k*rescore candidates
                         (ef raised to match) and the k best by exact distance
                         are returned; 0: the index's default */
    hnsw_vector_fn exact_vector; /* no_exact: where rescoring reads vectors, or NULL */
    void *exact_ctx;
    const uint64_t *match_slots; /* ACORN: a bitmap over slots (bit s of word s/64)
                                    holding at least every matching node, or NULL:
                                    a node whose bit is clear (or beyond the map) is
                                    refused without calling filter. Slots are those
                                    of the caller's locator (hnsw_set_locator). */
    size_t match_words;
    uint32_t entries; /* ACORN: start from the nearest `entries` nodes of layer 1
                         (at most HNSW_MAX_ENTRIES and ef; layer 0 in a one-layer graph),
                         found by an unfiltered beam search there, instead of the
                         one node the greedy descent ends on; 0: that one node */
    int widen; /* not ACORN, fp32 walk: the k results are the k nearest (that the filter
                  accepts) of every node the layer-0 walk computed a distance to, and ef
                  is not raised to k: ef bounds the walk's work, k may exceed it. A
                  post-filter over-fetch gets its k candidates from an ef walk instead
                  of a k walk (see hnsw.c, "Widened results") */
    struct hnsw_acorn_cache *acorn_cache; /* ACORN with match_slots: the neighbour lists of
                                             earlier walks over the same bitmap (created
                                             with hnsw_acorn_cache_new over it), or NULL */
    int match_exact; /* ACORN: match_slots holds exactly the matching nodes: a set
                        bit accepts the node without calling filter (nor reading
                        its label) */
} hnsw_search_params;
#define HNSW_MAX_ENTRIES 64

typedef struct hnsw_search_stats {
    uint64_t distances;   /* distance computations, all levels */
    uint64_t visited;     /* nodes expanded (neighbour lists read) */
    uint64_t filtered;    /* nodes the filter rejected */
    int budget_exhausted; /* max_distances cut the search short */
} hnsw_search_stats;

typedef struct hnsw_memory {
    size_t vectors; /* the fp32 vector arena */
    size_t codes;   /* the quantized codes (Q8, BIN) */
    size_t links;   /* level-0 link arena, upper-level blocks, in-link lists */
    size_t other;   /* node metadata, label hash, scratch, the struct */
    size_t total;
} hnsw_memory;

/* Graph-wide state for export and import (snapshots). */
typedef struct hnsw_graph_info {
    hnsw_params params;
    uint32_t count;
    uint32_t entry;     /* slot of the entry point, HNSW_NONE when empty */
    int32_t max_level;  /* level of the entry point, -1 when empty */
    uint64_t rng_state; /* level generator state */
} hnsw_graph_info;

/* One node for export and import. links[l] holds nlinks[l] slot numbers for
 * each level l <= level; entries above level are ignored. */
typedef struct hnsw_node_view {
    uint64_t label;
    uint32_t level;
    const float *vector; /* dim floats, as stored (unit length for COSINE);
                            NULL for an index with no_exact */
    const uint8_t *code; /* no_exact: the code (hnsw_code_size bytes); on
                            import ignored when the index keeps vectors */
    uint32_t nlinks[HNSW_MAX_LEVEL + 1];
    const uint32_t *links[HNSW_MAX_LEVEL + 1];
    uint32_t layer0[2 * HNSW_MAX_M]; /* export: where links[0] is unpacked when the
                                        index keeps layer 0 packed (links may point here) */
} hnsw_node_view;

/* ---- lifetime ---- */

/* Creates an empty index. Returns HNSW_OK and stores a new index the caller
 * frees with hnsw_free in *out; HNSW_ERR_ARG for parameters out of range. */
int hnsw_create(const hnsw_params *params, hnsw_index **out);
/* Frees the index and everything it owns. NULL is a no-op. */
void hnsw_free(hnsw_index *h);
/* The parameters the index was created with (borrowed). */
const hnsw_params *hnsw_get_params(const hnsw_index *h);
/* A static English description of an HNSW_* code. */
const char *hnsw_strerror(int err);
/* Makes the index find labels through loc (copied; its ctx must outlive
 * the index) instead of its own label hash. Allowed only while the index
 * has no node (right after hnsw_create or hnsw_import_begin). Returns
 * HNSW_OK, HNSW_ERR_ARG (loc or a callback NULL) or HNSW_ERR_STATE (the
 * index holds nodes). */
int hnsw_set_locator(hnsw_index *h, const hnsw_locator *loc);

/* ---- writes ---- */

/* Inserts vec (dim floats, copied) under label at a level drawn from the
 * seeded generator. Returns the level (>= 0) or HNSW_ERR_EXISTS /
 * HNSW_ERR_ARG (non-finite component) / HNSW_ERR_FULL / HNSW_ERR_NOMEM /
 * HNSW_ERR_STATE. The generator advances only on success. */
int hnsw_insert(hnsw_index *h, uint64_t label, const float *vec);
/* Same with a given level in [0, HNSW_MAX_LEVEL] (log replay); the
 * generator does not advance. Returns the level or an error as above. */
int hnsw_insert_level(hnsw_index *h, uint64_t label, const float *vec, int level);
/* Replaces the vector of label: the node is unlinked with neighbour repair
 * and linked again at its old level. An identical vector is a no-op.
 * Returns HNSW_OK, HNSW_ERR_NOTFOUND, HNSW_ERR_ARG, HNSW_ERR_NOMEM. */
int hnsw_update(hnsw_index *h, uint64_t label, const float *vec);
/* Removes label for good: every node that linked to it is relinked among
 * its own and the deleted node's neighbours, the slot is reused and its
 * memory released. Returns HNSW_OK or HNSW_ERR_NOTFOUND (or
 * HNSW_ERR_NOMEM, before anything changed). */
int hnsw_delete(hnsw_index *h, uint64_t label);

/* Level generator: the next level hnsw_insert would draw (advances the
 * state), and the state itself for snapshots. */
int hnsw_random_level(hnsw_index *h);
uint64_t hnsw_rng_state(const hnsw_index *h);
void hnsw_set_rng_state(hnsw_index *h, uint64_t state);

/* ---- reads ---- */

/* k nearest neighbours of query (dim floats), best first, into labels[k]
 * and dists[k] (dists may be NULL). Returns the number found (<= k, fewer
 * only when fewer nodes qualify or are reachable) or HNSW_ERR_ARG (NaN in
 * query) / HNSW_ERR_NOMEM / HNSW_ERR_STATE. Uses the index's own scratch. */
int hnsw_search(hnsw_index *h, const float *query, size_t k, size_t ef, hnsw_filter_fn filter,
                void *filter_ctx, uint64_t *labels, float *dists);
/* The general form: scratch is required (from hnsw_scratch_new), stats may
 * be NULL. Reads h only. Returns as hnsw_search. */
int hnsw_search_ex(const hnsw_index *h, hnsw_scratch *scratch, const float *query,
                   const hnsw_search_params *params, uint64_t *labels, float *dists,
                   hnsw_search_stats *stats);

/* Per-searcher working memory (visited set, heaps), reusable across
 * searches and indexes. Returns NULL when out of memory. */
hnsw_scratch *hnsw_scratch_new(void);
void hnsw_scratch_free(hnsw_scratch *s);
/* Bytes a scratch holds. */
size_t hnsw_scratch_memory(const hnsw_scratch *s);

/* Number of nodes. */
uint32_t hnsw_count(const hnsw_index *h);
/* 1 when label is present. */
int hnsw_contains(const hnsw_index *h, uint64_t label);
/* The stored vector of label (borrowed until the next write), or NULL
 * (also for an index with no_exact: use hnsw_copy_vector). */
const float *hnsw_get_vector(const hnsw_index *h, uint64_t label);
/* Writes label's vector into out (dim floats): the stored one, or with
 * no_exact the decoded code (Q8: s*c; BIN: +-1/sqrt(dim) per sign).
 * Returns 1, or 0 when label is absent. */
int hnsw_copy_vector(const hnsw_index *h, uint64_t label, float *out);
/* The same for a slot; 0 when out of range. */
int hnsw_copy_vector_at(const hnsw_index *h, uint32_t slot, float *out);
/* Bytes of one node's code (0 without quantization). */
size_t hnsw_code_size(const hnsw_index *h);
/* The level of label, or HNSW_ERR_NOTFOUND. */
int hnsw_get_level(const hnsw_index *h, uint64_t label);
/* How many of label's layer-0 neighbours fn accepts (fn is called once per
 * neighbour, as a search filter). Returns the count, or HNSW_ERR_NOTFOUND.
 * An ACORN walk cannot reach a matching node with no matching neighbour
 * (an "island": two hops from any other match at best) except as a seed. */
int hnsw_count_matching_links(const hnsw_index *h, uint64_t label, hnsw_filter_fn fn, void *ctx);
/* Iteration: for slot in [0, hnsw_count): label and stored vector. Any
 * write renumbers slots. Out-of-range slots give 0 / NULL. */
uint64_t hnsw_label_at(const hnsw_index *h, uint32_t slot);
const float *hnsw_vector_at(const hnsw_index *h, uint32_t slot);
/* Bytes held, by part. */
void hnsw_memory_usage(const hnsw_index *h, hnsw_memory *out);

/* ---- ACORN list cache ----
 * For a caller that runs ACORN walks with the same match_slots bitmap again
 * and again (a repeated filter): each node's ACORN neighbour list (its
 * matching nodes within two hops, see hnsw.c item 11) is built on the
 * node's first expansion and read back by later walks instead of the link
 * records of its non-matching neighbours; so is the transit list (its first
 * M/2 matches within two hops) of a refused node a walk enters layer 0 at,
 * in a table of twice the nodes above layer 0. Lists built before the graph
 * changed (any insert, update or delete) are rebuilt when next needed. The
 * cache reads the bitmap, which must stay unchanged and alive while the
 * cache is used, and the index, which must outlive it. */
typedef struct hnsw_acorn_cache hnsw_acorn_cache;
/* A cache over bitmap slots[0..words) of index h, or NULL when it would
 * take more than max_bytes or memory runs out. */
hnsw_acorn_cache *hnsw_acorn_cache_new(const hnsw_index *h, const uint64_t *slots, size_t words, size_t max_bytes);
void hnsw_acorn_cache_free(hnsw_acorn_cache *c);
/* Bytes the cache holds; lists of matching nodes, and transit lists,
 * built and reused by walks so far. */
size_t hnsw_acorn_cache_bytes(const hnsw_acorn_cache *c);
void hnsw_acorn_cache_counts(const hnsw_acorn_cache *c, uint64_t *built, uint64_t *reused);
void hnsw_acorn_cache_transit_counts(const hnsw_acorn_cache *c, uint64_t *built, uint64_t *reused);

/* ---- serialization ---- */

/* Fills *out with the graph-wide state. */
void hnsw_export_info(const hnsw_index *h, hnsw_graph_info *out);
/* Fills *out with node slot's label, level, vector and links (pointers
 * borrowed until the next write). Returns HNSW_OK or HNSW_ERR_ARG. */
int hnsw_export_node(const hnsw_index *h, uint32_t slot, hnsw_node_view *out);
/* Import: begin with the info, add info->count nodes in slot order, then
 * finish. Nothing is recomputed; the graph is validated (parameters, link
 * targets in range, no self-links or duplicate links, list lengths within
 * M/2M, link targets present at the level, unique labels, finite vectors,
 * unit or zero vectors for COSINE, entry point at the top level).
 * begin returns HNSW_OK and a new index in *out (free it with hnsw_free,
 * also after a failure), or HNSW_ERR_ARG / HNSW_ERR_NOMEM. node and finish
 * return HNSW_OK, HNSW_ERR_CORRUPT, HNSW_ERR_NOMEM or HNSW_ERR_STATE
 * (wrong order); after an error the index is unusable except for free. */
int hnsw_import_begin(const hnsw_graph_info *info, hnsw_index **out);
int hnsw_import_node(hnsw_index *h, const hnsw_node_view *node);
int hnsw_import_finish(hnsw_index *h);

/* ---- checks and tests ---- */

/* Checks every invariant of hnsw.c's header (slow: O(n * M^2)). Returns
 * HNSW_OK or HNSW_ERR_CORRUPT. */
int hnsw_validate(const hnsw_index *h);
/* Test hook: the next n allocations made by this library succeed and every
 * later one fails, until called again; n < 0 turns it off. Not
 * thread-safe. */
void hnsw_test_fail_alloc_after(long n);
/* Test hook: layer-0 links stay packed (3-byte ids) while an index holds
 * at most n nodes (default 2^24, every slot that 24 bits name); an index
 * that grows past n widens them to 4 bytes once, and an in-link list
 * widens its ids when a slot >= n joins it. n is capped at 2^24. Takes
 * effect at an index's next insert or import. Not thread-safe. */
void hnsw_test_narrow_slots(size_t n);

#endif

/* hnsw.c -- HNSW approximate nearest-neighbour graph with true deletion.
 *
 * What it is
 * ----------
 * A multi-layer proximity graph (Malkov and Yashunin 2016/2018, "HNSW"):
 * every node has a level drawn from an exponential distribution; layer l
 * links the nodes of level >= l to up to M close neighbours (2M on layer 0)
 * chosen by the paper's neighbour-selection heuristic (Algorithm 4). A
 * search walks greedily down from the entry point (the node of the highest
 * level) and runs a best-first search with a candidate list of size ef on
 * layer 0 (Algorithms 2 and 5). Inserts are Algorithm 1. Deletes and
 * updates are not in the paper; see "Deletion" below.
 *
 * Memory layout
 * -------------
 * Nodes occupy dense slots 0..count-1. Per-slot records live in three
 * "columns", each a table of 2 MB chunks (the last chunk grows, one
 * allocator size class and at most 256 KB at a time, until it is full
 * size, then a new one is started; no chunk is
 * ever moved once full, so growing never copies the arena, and a full
 * chunk is one allocator size class and one transparent huge page):
 *   vecs    dim floats per slot, 64-byte aligned chunks;
 *   links0  the layer-0 link record: [count, id_1 .. id_2M], a 16-bit
 *           count and 3-byte ids while every slot fits in 24 bits, uint32
 *           words once the index grows past that (see lrec);
 *   meta    label, then one word: the layer-0 in-link list of a level-0
 *           node, or (tagged in bit 0) the upper block of a node of
 *           level L > 0 (16 bytes per node).
 * The upper block holds its level, L + 1 in-link list pointers (layers 0
 * to L), and L link records [count, id_1 .. id_M] (uint32). An in-link
 * list is one block [n, cap, ids] of 3-byte ids (4 once one needs it) that
 * grows one allocator size class at a time and uses all of it (cap comes
 * from the block's usable size). Labels are
 * found by an open-addressing hash (linear probing, buckets hold slot
 * numbers, the label is read from meta) with Knuth's Algorithm R deletion,
 * so no tombstones; or, when the caller can keep a number with each label
 * (hnsw_set_locator: the server keeps it in the entity), by asking the
 * caller, who is told every slot a label takes, so no hash at all. Either
 * way a lookup is checked against meta's label. There are no per-node
 * visited flags: a search uses a scratch with one 16-bit "epoch" per slot;
 * a slot is visited iff its entry equals the search's epoch, so clearing is
 * one increment (a full clear only when the epoch passes 65535).
 *
 * Deletion and in-links
 * ---------------------
 * HNSW links are directed and the pruning heuristic drops reverse links, so
 * a node does not know who points at it. To delete for real, every node
 * keeps, per level, the list of its *unidirectional* in-neighbours: nodes
 * a with a->b whose link is not returned (b->a absent). The in-neighbours of
 * b are then { a in out(b) : a->b } plus in(b): no scan, and the lists are
 * short because most HNSW links are mutual. Deleting x at level l: drop
 * x's out-links; for every in-neighbour a, remove a->x and re-select a's
 * links with the heuristic from out(a) plus out(x) (the repair used by
 * hnswlib's update path and by FreshDiskANN's delete consolidation). If x
 * was the entry point, another node of the new top level takes over. The
 * last slot then moves into x's slot (its neighbours' links and in-lists
 * are renamed: they are all known), so slots stay dense and memory shrinks.
 * An update unlinks the node the same way, stores the new vector and links
 * it again at the same level (Algorithm 1 with a given level).
 *
 * Reachability. HNSW gives no connectivity guarantee and deletions make
 * orphans likely, so three local rules keep every node linked from
 * somewhere: (a) when a list is re-selected, a link that is its target's
 * last in-link is kept while the list has room; (b) an inserted node that
 * no neighbour kept a reverse link to is linked from the closest candidate
 * with room, or by a neighbour giving up a link that is not its target's
 * last; (c) after a delete, each out-neighbour of x left without an
 * in-link is adopted the same way, preferring x's in-neighbours and their
 * neighbours (which reached x, so are reachable). These keep in-degree >=
 * 1, not global reachability: in sparse graphs (M=4, thousands of
 * dimensions) or crowds of identical vectors, a few percent of the nodes
 * can end up in islands after heavy deletion, as in any HNSW.
 *
 * Invariants (checked by hnsw_validate)
 * -------------------------------------
 *  I1 every link a->b at level l: a != b, b < count, level(b) >= l, no
 *     duplicates in a list, count <= M (l > 0) or 2M (l = 0);
 *  I2 for every link a->b at level l: exactly one of "b->a at level l" and
 *     "a in in(b, l)" holds; every entry of in(b, l) is such an a, once;
 *  I3 the label hash (or the caller's locator) maps each node's label to
 *     its slot; the hash holds nothing else;
 *  I4 entry is HNSW_NONE iff count == 0; otherwise level(entry) ==
 *     max_level == the highest level of any node; level_count[l] counts the
 *     nodes of level exactly l.
 *
 * Complexity
 * ----------
 * Search: O(log n) expected hops above layer 0 plus O(ef * M) distance
 * computations on layer 0 (the paper's analysis). Insert: the same with
 * ef_construction per layer, plus O(M^2) distances for the heuristic per
 * neighbour list that overflows. Delete: for each level, O(in-degree)
 * repairs of O(M^2) distances each, plus O(M^2) link checks per
 * out-neighbour for the reachability rules. Memory per node: dim*4 + 2 + 6M + 16
 * bytes plus, on average, the in-lists (a few ids; on clustered data about
 * 30% of the nodes have one, 12 bytes per node on average), one label
 * bucket (4 bytes at load <= 3/4, so 5.3 to 10.7 per node; none with a
 * locator), 1/(M-1) upper blocks and the 2-byte visited epoch of each
 * scratch (its arrays grow by doubling: up to 4 bytes per node).
 *
 * Deviations from the paper (all of them)
 * ---------------------------------------
 *  1. Levels are floor(-ln(U) * mL) with mL = 1/ln(M), U uniform in (0,1]
 *     from splitmix64 (Vigna) seeded by the caller, capped at
 *     HNSW_MAX_LEVEL (16); the paper does not cap.
 *  2. Upper layers during search and insert use a greedy walk to the
 *     closest neighbour (equivalent to the paper's SEARCH-LAYER with ef=1).
 *  3. Insert passes the whole result set W of one layer as entry points of
 *     the next (as the paper says), M neighbours per level as in the paper,
 *     with Mmax = M on upper levels and Mmax0 = 2M on layer 0 (the paper's
 *     recommended values). The heuristic runs with extendCandidates = false
 *     and keepPrunedConnections = false (the paper's defaults for most
 *     data), also when an overflowing list is shrunk.
 *  4. The search loop stops when the closest candidate is farther than the
 *     worst of ef results *and* the result list is full; with no filter this
 *     is the paper's rule, with a filter only accepted nodes enter the
 *     result list while every node may be traversed (hnswlib's filtered
 *     search), so selective filters explore more; max_distances bounds it.
 *  5. Deletion, update, the unidirectional in-link lists, the slot
 *     compaction and the reachability rules are additions (see above).
 *     Layer-0 neighbour prefetching and the epoch visited set are
 *     implementation choices.
 *  6. Identical vectors: the paper's strict test keeps every copy of a point
 *     (they all tie), so a crowd of copies fills lists with the same few
 *     nodes and newer copies become unreachable. Here a candidate that
 *     coincides with an already selected one (distance <= 0 for L2, <= 1e-6
 *     for COSINE; never for IP) is dropped, except that up to m/2 copies of
 *     the base point itself are kept; ties in distance are ordered by a
 *     hash of (id, base) rather than by id, so copies are not ranked alike
 *     from every node.
 *  7. IP uses 1 - dot as the distance (not a metric; HNSW works with it in
 *     practice, as hnswlib does). COSINE normalizes vectors on insert and
 *     queries on search and then uses 1 - dot.
 *  8. Under allocation failure inside linking (an in-list that cannot grow)
 *     the link concerned is dropped instead of failing the operation, so
 *     the graph stays consistent with one edge fewer; every allocation that
 *     an operation needs up front is made before it changes anything.
 *  9. Filtered search has two modes. The default traverses every node and
 *     lets only accepted ones into the results (item 4). The ACORN mode
 *     (hnsw_search_params.acorn) follows ACORN-1 (Patel et al., "ACORN:
 *     Performant and Predicate-Agnostic Search Over Vector Embeddings and
 *     Structured Data", SIGMOD 2024) on layer 0: a node's neighbour list is
 *     its matching neighbours plus the matching neighbours of its
 *     non-matching ones (two hops), truncated at M, so distances are only
 *     computed for matching nodes. Differences from ACORN: the graph is the
 *     ordinary HNSW one (ACORN-gamma builds a denser graph; ACORN-1 does
 *     not), the upper layers are descended without the filter, a walk
 *     without seeds also walks non-matching neighbours as transit nodes
 *     (at most ef of them) until M matches are found instead of stopping,
 *     the caller may pass seeds: matching nodes to start from besides
 *     the entry point, and entry points (hnsw_search_params.entries): the
 *     descent stops at layer 1 and a beam search there of that width gives
 *     the walk that many starting nodes instead of one. At ~1% selectivity
 *     on data of many small clusters, the filtered neighbours of a query
 *     lie in several clusters around it, and a walk that sees only
 *     matching nodes seldom crosses from one to the next (1M x 128, 1,000
 *     clusters, 1%: recall@10 0.72 from one node, 0.95 from 64, at twice
 *     the time). A second hop that has been read in full is tagged, so
 *     the walk reads no node's links twice as a second hop. The server's seeds include "islands", matching
 *     nodes with no matching neighbour, which no ACORN-1 walk can reach
 *     (hnsw_count_matching_links finds them).
 * 10. Widened results (hnsw_search_params.widen), for a caller that
 *     post-filters: the k results are the k nearest of every node the
 *     layer-0 walk computed a distance to, while ef alone bounds the walk;
 *     the paper returns the k best of the ef kept (and needs ef >= k).
 * 11. ACORN list cache (hnsw_acorn_cache): a caller that walks the same
 *     match_slots bitmap again and again may keep each matching node's
 *     ACORN list (its matching nodes within two hops, direct ones first,
 *     up to m0), built on the node's first expansion and read back later
 *     instead of the link records of its non-matching neighbours; lists
 *     built before the graph changed (h->changes) are rebuilt when next
 *     needed. ACORN-gamma stores denser lists for all predicates at build
 *     time; this stores ACORN-1's lists for one predicate, on demand.
 *     Transit nodes (refused ones a walk passes through) gather M/4
 *     matches instead of M. A walk with seeds enters layer 0 at refused
 *     entry points, nodes of layer 1 that most queries near them share:
 *     their transit lists (the first M/2 matches within two hops, of
 *     which a walk takes M/4 not yet visited) are kept in a four-way
 *     set associative table sized for the nodes above layer 0 (1M x 128 at
 *     1%: 300-355 us per query without them, 150-210 us once the table
 *     is warm, recall@10 unchanged).
 *
 * Naming: public hnsw_*; static helpers are verbs on what they touch
 * (links_at, idlist_add, col_reserve, label_find). "slot" is an internal
 * node number, "label" the caller's id. Sources: the HNSW paper above;
 * Knuth TAOCP vol. 3 6.4 Algorithm R; Williams' binary heap (1964);
 * splitmix64 (Steele, Lea, Flood 2014; Vigna's constants); FreshDiskANN
 * (Singh et al. 2021) for delete repair by re-pruning; Redis vector sets
 * and RedisAI VectorSimilarity for the idea that true deletion needs
 * known in-links (no code taken). */
#include "hnsw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "quant.h"
#include "vec_dist.h"
#include "zmalloc.h"

/* ------------------------------------------------------------ allocation */

enum { MEM_VECTORS, MEM_CODES, MEM_LINKS, MEM_OTHER, MEM_PARTS };

static long alloc_fail_countdown = -1;

void hnsw_test_fail_alloc_after(long n) { alloc_fail_countdown = n; }

static int alloc_should_fail(void) {
    if (alloc_fail_countdown < 0) return 0;
    if (alloc_fail_countdown == 0) return 1;
    alloc_fail_countdown--;
    return 0;
}

/* Allocates n bytes and adds their usable size to *acct; NULL on failure. */
static void *mem_alloc(size_t *acct, size_t n) {
    if (alloc_should_fail()) return NULL;
    void *p = zmalloc(n);
    *acct += zmalloc_size(p);
    return p;
}

static void *mem_calloc(size_t *acct, size_t n) {
    if (alloc_should_fail()) return NULL;
    void *p = zcalloc(n);
    *acct += zmalloc_size(p);
    return p;
}

/* Resizes p (may be NULL) to n bytes; on failure p is untouched. */
static void *mem_realloc(size_t *acct, void *p, size_t n) {
    if (alloc_should_fail()) return NULL;
    size_t old = zmalloc_size(p);
    void *q = zrealloc(p, n);
    *acct = *acct - old + zmalloc_size(q);
    return q;
}

static void mem_free(size_t *acct, void *p) {
    if (!p) return;
    *acct -= zmalloc_size(p);
    zfree(p);
}

/* --------------------------------------------------------------- columns */

/* A full chunk is at most this big: a power of two, so that it is exactly
 * one allocator size class (jemalloc rounds other sizes up by up to 25%),
 * and the size of an x86-64 huge page: a full chunk is allocated aligned to
 * it and asked to be backed by a transparent huge page (MADV_HUGEPAGE), so
 * that a search's random reads of vectors and links cost one TLB entry per
 * 2 MB, not per 4 KB (10 to 20% of the query time on 1M x 128). Where THP
 * is off (transparent_hugepage=never) the advice is ignored. */
#define CHUNK_TARGET_BYTES (2u * 1024 * 1024)
#define COL_ALIGN          64
#define COL_FIRST_CAP      16

/* A block of n bytes (a multiple of CHUNK_TARGET_BYTES) aligned to
 * CHUNK_TARGET_BYTES and advised to be backed by transparent huge pages,
 * before anything touches it, so the first write faults in a huge page
 * rather than waiting for khugepaged. */
static void *mem_alloc_huge(size_t *acct, size_t n) {
    if (alloc_should_fail()) return NULL;
    void *p = zmalloc_aligned(n, CHUNK_TARGET_BYTES);
    madvise(p, n, MADV_HUGEPAGE);
    *acct += zmalloc_size(p);
    return p;
}

typedef struct column {
    uint8_t **chunk; /* aligned start of each chunk */
    uint8_t **raw;   /* what was allocated, for freeing */
    uint32_t nchunks, table_cap;
    uint32_t per_chunk; /* slots in a full chunk (>= 2) */
    uint64_t div_magic; /* ceil(2^64 / per_chunk) */
    size_t stride;      /* bytes per slot */
    size_t pad;         /* bytes after a chunk's last slot (packed links0 reads past a record) */
    size_t cap;         /* slots available */
    int part;           /* MEM_* the chunks are accounted to */
} column;

static void col_init(column *c, size_t stride, size_t pad, int part) {
    memset(c, 0, sizeof(*c));
    c->stride = stride;
    c->pad = pad;
    c->part = part;
    c->per_chunk = stride * 2 + pad <= CHUNK_TARGET_BYTES ? (uint32_t)((CHUNK_TARGET_BYTES - pad) / stride) : 2;
    c->div_magic = UINT64_MAX / c->per_chunk + 1;
}

/* Record of slot: chunk slot / per_chunk, computed with Lemire, Kaser and
 * Kurz's multiply-by-reciprocal ("Faster remainder by direct computation",
 * 2019), exact for every 32-bit slot with a 64-bit magic, so chunks need
 * not hold a power-of-two number of slots. */
static inline void *col_at(const column *c, uint32_t slot) {
    uint32_t ci = (uint32_t)(((unsigned __int128)slot * c->div_magic) >> 64);
    return c->chunk[ci] + (size_t)(slot - ci * c->per_chunk) * c->stride;
}

/* Allocates a 64-byte aligned chunk of at least n slots into
 * chunk[i]/raw[i] (left untouched on failure) and returns how many slots it
 * holds, or 0: a full chunk is one huge-page block; a smaller one is sized
 * by the allocator's size class (the exact size first: large blocks come
 * page-aligned from jemalloc; padded only when a block came misaligned),
 * all of which it uses, so no class is partly empty. */
static size_t col_alloc_chunk(column *c, size_t *mem, uint32_t i, size_t n) {
    if (n == c->per_chunk && n * c->stride + c->pad <= CHUNK_TARGET_BYTES) {
        uint8_t *raw = mem_alloc_huge(&mem[c->part], CHUNK_TARGET_BYTES);
        if (!raw) return 0;
        c->raw[i] = c->chunk[i] = raw;
        return n;
    }
    uint8_t *raw = mem_alloc(&mem[c->part], n * c->stride + c->pad);
    if (raw && ((uintptr_t)raw & (COL_ALIGN - 1))) {
        mem_free(&mem[c->part], raw);
        raw = mem_alloc(&mem[c->part], n * c->stride + c->pad + COL_ALIGN - 1);
    }
    if (!raw) return 0;
    c->raw[i] = raw;
    c->chunk[i] = (uint8_t *)(((uintptr_t)raw + COL_ALIGN - 1) & ~(uintptr_t)(COL_ALIGN - 1));
    size_t fit = (zmalloc_size(raw) - (size_t)(c->chunk[i] - raw) - c->pad) / c->stride;
    return fit < c->per_chunk ? fit : c->per_chunk;
}

/* Slots in the last chunk (0 without chunks): every other chunk is full. */
static size_t col_last_cap(const column *c) {
    return c->nchunks ? c->cap - (size_t)(c->nchunks - 1) * c->per_chunk : 0;
}

/* The next size of a last chunk of n slots: an eighth more (about the
 * next allocator size class, whose whole room col_alloc_chunk uses), and
 * at most an eighth of a full chunk (256 KB) more, so the chunk being
 * filled leaves little unused; the copies this costs are a few bytes per
 * byte stored, nothing beside an insert's distance work. */
static size_t col_next_cap(const column *c, size_t n) {
    size_t step = n / 8, most = c->per_chunk / 8;
    if (step > most) step = most;
    return n + (step ? step : 1);
}

/* Makes room for need slots. The last chunk grows (col_next_cap, from
 * COL_FIRST_CAP slots, straight to what need asks for) until it is full,
 * and a full chunk is the huge-page block of col_alloc_chunk. Returns 0 or
 * -1 (nothing changed). */
static int col_reserve(column *c, size_t *mem, size_t need) {
    size_t full = c->per_chunk;
    while (c->cap < need) {
        size_t last = col_last_cap(c);
        int adds_chunk = c->nchunks == 0 || last >= full;
        if (adds_chunk && c->nchunks == c->table_cap) {
            uint32_t tcap = c->table_cap ? c->table_cap * 2 : 4;
            uint8_t **t = mem_realloc(&mem[MEM_OTHER], c->chunk, tcap * sizeof(*t));
            if (!t) return -1;
            c->chunk = t;
            t = mem_realloc(&mem[MEM_OTHER], c->raw, tcap * sizeof(*t));
            if (!t) return -1;
            c->raw = t;
            c->table_cap = tcap;
        }
        size_t base = c->cap - (adds_chunk ? 0 : last), ncap = adds_chunk ? COL_FIRST_CAP : col_next_cap(c, last);
        while (ncap < full && base + ncap < need) ncap = col_next_cap(c, ncap);
        if (ncap > full) ncap = full;
        uint32_t i = adds_chunk ? c->nchunks : c->nchunks - 1;
        uint8_t *old_raw = adds_chunk ? NULL : c->raw[i], *old = adds_chunk ? NULL : c->chunk[i];
        if (!(ncap = col_alloc_chunk(c, mem, i, ncap))) return -1; /* chunk i untouched */
        if (old) memcpy(c->chunk[i], old, last * c->stride);
        mem_free(&mem[c->part], old_raw);
        if (adds_chunk) c->nchunks++;
        c->cap = base + ncap;
    }
    return 0;
}

/* Releases chunks beyond what count slots need, keeping one spare chunk;
 * everything when count is 0. */
static void col_trim(column *c, size_t *mem, size_t count) {
    size_t full = c->per_chunk;
    if (count == 0) {
        for (uint32_t i = 0; i < c->nchunks; i++) mem_free(&mem[c->part], c->raw[i]);
        mem_free(&mem[MEM_OTHER], c->chunk);
        mem_free(&mem[MEM_OTHER], c->raw);
        c->chunk = c->raw = NULL;
        c->nchunks = c->table_cap = 0;
        c->cap = 0;
        return;
    }
    size_t needed = (count + full - 1) / full;
    while (c->nchunks > needed + 1) {
        c->cap -= col_last_cap(c);
        mem_free(&mem[c->part], c->raw[--c->nchunks]);
    }
}

/* --------------------------------------------------------- the index */

typedef struct cand {
    float d;
    uint32_t id;
} cand;

/* A visited-set entry: the epoch of the last search that saw the slot.
 * 16 bits, as in hnswlib: the arrays are cleared once per 65535 searches. */
typedef uint16_t epoch_tag;
#define EPOCH_MAX UINT16_MAX

/* A growable list of slot numbers: unidirectional in-neighbours. Ids take
 * 3 bytes each, or 4 once the list has had to hold one of 2^24 or more
 * (wide; idlist_add widens a list when such an id joins it, and the test
 * hook hnsw_test_narrow_slots lowers that bound): a quarter less than
 * words in the common case, and no limit. */
typedef struct idlist {
    uint32_t n;
    uint32_t cap : 31, wide : 1;
    uint8_t id[];
} idlist;

/* Upper-level block of a node of level >= 1: in[l] is the in-list of
 * level l (0..level), then level link records of (1 + M) words follow
 * in[level]. */
typedef struct upper_block {
    uint32_t level;
    idlist *in[];
} upper_block;

/* A node's record: its label, and one word that is the layer-0 in-list of
 * a level-0 node (NULL when empty) or, tagged with bit 0, the upper block
 * of a node of level >= 1 (which then holds the layer-0 in-list). Blocks
 * are at least 8-byte aligned, so bit 0 of an in-list pointer is 0. */
typedef struct node_meta {
    uint64_t label;
    union {
        idlist *in0;
        uintptr_t upper_tagged;
    } side;
} node_meta;

#define SIDE_UPPER ((uintptr_t)1)

struct hnsw_scratch {
    epoch_tag *visited; /* epoch per slot */
    size_t visited_cap;
    uint32_t epoch;
    cand *cands; /* min-heap of candidates */
    size_t ncands, cands_cap;
    cand *res; /* max-heap of results */
    size_t nres, res_cap;
    uint32_t *todo; /* unvisited neighbours of the node being expanded */
    size_t todo_cap;
    float *qbuf; /* normalized query (COSINE) */
    size_t qbuf_cap;
    float *xbuf; /* an exact vector read through hnsw_vector_fn */
    size_t xbuf_cap;
    cand *all; /* widened walks: every node given a distance on layer 0 */
    size_t nall, all_cap;
    int collect; /* the running layer-0 walk appends to all */
    uint8_t *qcode; /* the query's code (quantized walks) */
    size_t qcode_cap;
    int kind;       /* representation the running walk compares (KIND_*) */
    int oom;    /* a candidate could not be queued */
    size_t mem; /* bytes held */
    hnsw_search_stats stats;
};

struct hnsw_index {
    hnsw_params p;
    uint32_t m0;  /* max links at level 0 (2M) */
    uint32_t w0;  /* bytes per layer-0 link id: 3 (packed) or 4 (see lrec) */
    uint32_t efc; /* max(ef_construction, M) */
    double level_mult;
    uint64_t rng;
    uint32_t count;
    uint32_t entry;
    int max_level;
    float same_point; /* distances <= this mean "the same point" */
    uint32_t level_count[HNSW_MAX_LEVEL + 1];
    column vecs, codes, links0, meta;
    int walk_kind, build_kind; /* KIND_* searches walk on / inserts link with */
    int has_exact;             /* the vecs column holds fp32 vectors */
    uint32_t bin_words;        /* BIN: 64-bit words per code */
    uint8_t *cbuf;             /* incoming vector's code */
    uint32_t *lm; /* label hash: slot or HNSW_NONE (unused with a locator) */
    size_t lm_cap;
    hnsw_locator loc; /* loc.get != NULL: the caller finds labels (hnsw_set_locator) */
    hnsw_scratch scratch; /* the index's own searcher */
    cand *eps;            /* entry points between layers of an insert (efc) */
    cand *work;           /* heuristic candidates (4M + 1) */
    uint32_t *sel, *old;  /* selected / previous link lists (2M) */
    uint32_t *ids;        /* out- and in-neighbours of a node being unlinked */
    size_t ids_cap;
    float *vbuf; /* incoming vector, normalized for COSINE */
    size_t mem[MEM_PARTS];
    int importing; /* 1 between import_begin and a successful finish */
    uint64_t changes; /* bumped by every change of the graph (hnsw_acorn_cache) */
    int import_error;
    uint32_t import_expected;
};

static inline float *vec_at(const hnsw_index *h, uint32_t s) { return col_at(&h->vecs, s); }
static inline node_meta *meta_at(const hnsw_index *h, uint32_t s) { return col_at(&h->meta, s); }
static inline size_t vec_bytes(const hnsw_index *h) { return (size_t)h->p.dim * sizeof(float); }
static inline uint32_t mmax(const hnsw_index *h, int level) { return level ? h->p.M : h->m0; }

/* The upper block of a node, or NULL for a node of level 0. */
static inline upper_block *meta_upper(const node_meta *m) {
    return m->side.upper_tagged & SIDE_UPPER ? (upper_block *)(m->side.upper_tagged & ~SIDE_UPPER) : NULL;
}

static inline int node_level(const hnsw_index *h, uint32_t s) {
    const upper_block *u = meta_upper(meta_at(h, s));
    return u ? (int)u->level : 0;
}

/* A link record: [count, id_1 .. id_count]. Records of the upper layers
 * are uint32 words. Layer-0 records are packed while every slot fits in 24
 * bits (h->w0 == 3): a 16-bit count, then 3-byte ids, 2 + 6M bytes in all
 * (98 at M 16 instead of 132). The first node beyond 2^24 (or an import
 * of more) widens the column to words (w0 == 4, widen_links0), so the
 * packing costs no capacity. An lrec names one record of either
 * form; ids are numbered 1..count. A packed id is one unaligned 32-bit
 * load masked to 24 bits, which may read one byte past the record: the
 * column pads its chunks (col_init). Little-endian only, as x86-64 and
 * arm64 are. */
typedef struct lrec {
    uint8_t *p;
    uint32_t w; /* bytes per id: 3 or 4 */
} lrec;

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "packed link ids are little-endian");

#define NARROW_MAX ((size_t)1 << 24)
static size_t narrow_slots = NARROW_MAX;
void hnsw_test_narrow_slots(size_t n) { narrow_slots = n < NARROW_MAX ? n : NARROW_MAX; }

static inline uint32_t lr_load(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint32_t lr_n(lrec r) { return lr_load(r.p) & (r.w == 4 ? UINT32_MAX : 0xffffu); }
/* id i (1..count) is at byte 4i of a word record, 3i - 1 of a packed one */
static inline uint32_t lr_id(lrec r, uint32_t i) {
    return lr_load(r.p + (size_t)r.w * i - (r.w & 1)) & (r.w == 4 ? UINT32_MAX : 0xffffffu);
}
static inline void lr_set_n(lrec r, uint32_t n) { memcpy(r.p, &n, r.w == 4 ? 4 : 2); }
static inline void lr_set_id(lrec r, uint32_t i, uint32_t id) { memcpy(r.p + (size_t)r.w * i - (r.w & 1), &id, r.w); }

/* Link record of slot s at level l (l <= level(s)). */
static inline lrec links_at(const hnsw_index *h, uint32_t s, int l) {
    if (l == 0) return (lrec){col_at(&h->links0, s), h->w0};
    upper_block *u = meta_upper(meta_at(h, s));
    return (lrec){(uint8_t *)((uint32_t *)(u->in + u->level + 1) + (size_t)(l - 1) * (h->p.M + 1)), 4};
}

static inline idlist **inlist_ref(const hnsw_index *h, uint32_t s, int l) {
    node_meta *m = meta_at(h, s);
    upper_block *u = meta_upper(m);
    return u ? &u->in[l] : &m->side.in0;
}

/* The record of a new node: no in-lists yet, upper block (NULL at level 0). */
static inline node_meta meta_new(uint64_t label, upper_block *upper) {
    node_meta m = {.label = label};
    if (upper) m.side.upper_tagged = (uintptr_t)upper | SIDE_UPPER;
    else m.side.in0 = NULL;
    return m;
}

static inline float dist_q(const hnsw_index *h, const float *q, const float *v) {
    return h->p.metric == HNSW_METRIC_L2 ? vec_l2sq(q, v, h->p.dim) : 1.0f - vec_dot(q, v, h->p.dim);
}

/* Node representations: the fp32 vector, or its Q8 or BIN code. A walk
 * compares one kind throughout (scratch->kind); inserts link with
 * build_kind (fp32 when the exact vectors are kept). Two codes compare as
 * codes (Q8 integer dot, BIN Hamming); a BIN search compares the fp32 query
 * with the codes instead (KIND_BINQ: the query "representation" is its
 * byte table, quant.h), ranking by -dot(q, signs): far finer than the
 * Hamming distance of the query's own signs. */
enum { KIND_F32 = 0, KIND_Q8 = 1, KIND_BIN = 2, KIND_BINQ = 3 };

static inline const void *rep_at(const hnsw_index *h, int kind, uint32_t s) {
    /* KIND_BINQ compares a query table with the codes */
    return kind == KIND_F32 ? (const void *)vec_at(h, s) : (const void *)col_at(&h->codes, s);
}

static inline float rep_dist(const hnsw_index *h, int kind, const void *a, const void *b) {
    switch (kind) {
    case KIND_Q8:
        return h->p.metric == HNSW_METRIC_L2 ? quant_q8_l2sq(a, b, h->p.dim) : 1.0f - quant_q8_dot(a, b, h->p.dim);
    case KIND_BIN: return (float)quant_hamming(a, b, h->bin_words);
    case KIND_BINQ: {
        const float *t = a; /* table, then sum(q) */
        return t[quant_bin_table_floats(h->p.dim)] - 2.0f * quant_bin_query_sum(t, b, h->p.dim);
    }
    default: return dist_q(h, a, b);
    }
}

/* Distance from the walk's query representation q to node id. */
static inline float node_dist(const hnsw_index *h, const hnsw_scratch *s, const void *q, uint32_t id) {
    return rep_dist(h, s->kind, q, rep_at(h, s->kind, id));
}

static inline float dist_slots(const hnsw_index *h, uint32_t a, uint32_t b) {
    return rep_dist(h, h->build_kind, rep_at(h, h->build_kind, a), rep_at(h, h->build_kind, b));
}

static inline size_t code_bytes(const hnsw_index *h) {
    return h->p.quant == HNSW_QUANT_Q8 ? quant_q8_size(h->p.dim) : (size_t)h->bin_words * 8;
}

/* Encodes the fp32 vector v (normalized for COSINE) into code. */
static void encode_vector(const hnsw_index *h, const float *v, uint8_t *code) {
    if (h->p.quant == HNSW_QUANT_Q8) quant_q8_encode(v, h->p.dim, code);
    else quant_bin_encode(v, NULL, h->p.dim, (uint64_t *)code);
}

static int vector_finite(const float *v, uint32_t dim) {
    for (uint32_t i = 0; i < dim; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* ------------------------------------------------------- link records */

static inline int rec_contains(lrec rec, uint32_t id) {
    uint32_t n = lr_n(rec);
    for (uint32_t i = 1; i <= n; i++)
        if (lr_id(rec, i) == id) return 1;
    return 0;
}

/* Removes id from a link record (order not kept). Returns 1 if found. */
static int rec_remove(lrec rec, uint32_t id) {
    uint32_t n = lr_n(rec);
    for (uint32_t i = 1; i <= n; i++) {
        if (lr_id(rec, i) == id) {
            lr_set_id(rec, i, lr_id(rec, n));
            lr_set_n(rec, n - 1);
            return 1;
        }
    }
    return 0;
}

static int rec_replace(lrec rec, uint32_t from, uint32_t to) {
    uint32_t n = lr_n(rec);
    for (uint32_t i = 1; i <= n; i++) {
        if (lr_id(rec, i) == from) {
            lr_set_id(rec, i, to);
            return 1;
        }
    }
    return 0;
}

/* Appends id (the record has room). */
static inline void rec_push(lrec rec, uint32_t id) {
    uint32_t n = lr_n(rec) + 1;
    lr_set_id(rec, n, id);
    lr_set_n(rec, n);
}

/* Copies the ids into out (room for the record's mmax); returns how many. */
static uint32_t rec_read(lrec rec, uint32_t *out) {
    uint32_t n = lr_n(rec);
    for (uint32_t i = 1; i <= n; i++) out[i - 1] = lr_id(rec, i);
    return n;
}

/* Makes the record ids[0..n). */
static void rec_write(lrec rec, const uint32_t *ids, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) lr_set_id(rec, i + 1, ids[i]);
    lr_set_n(rec, n);
}

static int ids_contain(const uint32_t *ids, uint32_t n, uint32_t id) {
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

/* ------------------------------------------------------------ in-lists */

static inline uint32_t il_width(const idlist *l) { return l->wide ? 4 : 3; }

/* Id i of l (3-byte ids read byte by byte: no load past the block). */
static inline uint32_t il_get(const idlist *l, uint32_t i) {
    const uint8_t *p = l->id + (size_t)i * il_width(l);
    return l->wide ? lr_load(p) : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline void il_set(idlist *l, uint32_t i, uint32_t id) {
    memcpy(l->id + (size_t)i * il_width(l), &id, il_width(l));
}

static inline size_t il_bytes(uint32_t cap, int wide) { return sizeof(idlist) + (size_t)cap * (wide ? 4 : 3); }

/* Capacity of an in-list block: every id the allocator's size class holds
 * (a list grows one size class at a time, so no class is half empty). */
static uint32_t idlist_fit(const idlist *l) {
    return (uint32_t)((zmalloc_size(l) - sizeof(idlist)) / il_width(l));
}

static int idlist_add(hnsw_index *h, idlist **ref, uint32_t id) {
    idlist *l = *ref;
    int wide = (l && l->wide) || id >= narrow_slots; /* narrow_slots <= 2^24 */
    if (!l || l->n == l->cap || wide != l->wide) {
        /* geometric whatever the allocator */
        uint32_t want = !l ? 2 : l->n == l->cap ? l->cap + l->cap / 4 + 1 : l->cap;
        idlist *nl;
        if (l && wide != l->wide) { /* a bigger id: a new block of 4-byte ids */
            nl = mem_alloc(&h->mem[MEM_LINKS], il_bytes(want, 1));
            if (!nl) return -1;
            nl->n = l->n;
            nl->wide = 1;
            for (uint32_t i = 0; i < l->n; i++) il_set(nl, i, il_get(l, i));
            mem_free(&h->mem[MEM_LINKS], l);
        } else {
            nl = mem_realloc(&h->mem[MEM_LINKS], l, il_bytes(want, wide));
            if (!nl) return -1;
            if (!l) {
                nl->n = 0;
                nl->wide = (uint32_t)wide;
            }
        }
        nl->cap = idlist_fit(nl);
        *ref = l = nl;
    }
    il_set(l, l->n++, id);
    return 0;
}

static void idlist_remove(hnsw_index *h, idlist **ref, uint32_t id) {
    idlist *l = *ref;
    if (!l) return;
    uint32_t i = 0;
    while (i < l->n && il_get(l, i) != id) i++;
    if (i == l->n) return;
    l->n--;
    il_set(l, i, il_get(l, l->n));
    if (l->n == 0) {
        mem_free(&h->mem[MEM_LINKS], l);
        *ref = NULL;
    } else if (l->cap >= 8 && l->n <= l->cap / 4) {
        idlist *nl = mem_realloc(&h->mem[MEM_LINKS], l, il_bytes(l->cap / 2, l->wide));
        if (nl) {
            nl->cap = idlist_fit(nl);
            *ref = nl;
        }
    }
}

static void idlist_replace(idlist *l, uint32_t from, uint32_t to) {
    for (uint32_t i = 0; l && i < l->n; i++) {
        if (il_get(l, i) == from) {
            il_set(l, i, to);
            return;
        }
    }
}

/* Bookkeeping after a->b was added at level l (I2). On allocation failure
 * the new link is taken back out of a's record. */
static void edge_added(hnsw_index *h, uint32_t a, uint32_t b, int l) {
    if (rec_contains(links_at(h, b, l), a))
        idlist_remove(h, inlist_ref(h, a, l), b); /* b->a was one-way, now mutual */
    else if (idlist_add(h, inlist_ref(h, b, l), a) != 0)
        rec_remove(links_at(h, a, l), b);
}

/* Bookkeeping after a->b was removed at level l (I2). On allocation failure
 * the reverse link b->a is dropped too. */
static void edge_removed(hnsw_index *h, uint32_t a, uint32_t b, int l) {
    lrec rb = links_at(h, b, l);
    if (rec_contains(rb, a)) {
        if (idlist_add(h, inlist_ref(h, a, l), b) != 0) rec_remove(rb, a);
    } else {
        idlist_remove(h, inlist_ref(h, b, l), a);
    }
}

/* 1 if a node other than except links to o at level l. Cheap in the usual
 * case: the first mutual neighbour answers. */
static int has_inlink(const hnsw_index *h, uint32_t o, int l, uint32_t except) {
    const idlist *in = *inlist_ref(h, o, l);
    for (uint32_t i = 0; in && i < in->n; i++)
        if (il_get(in, i) != except) return 1;
    lrec ro = links_at(h, o, l);
    for (uint32_t i = 1; i <= lr_n(ro); i++)
        if (lr_id(ro, i) != except && rec_contains(links_at(h, lr_id(ro, i), l), o)) return 1;
    return 0;
}

/* Replaces a's links at level l with nw[0..nn) (nw has room for mmax
 * entries) and keeps I2. A link the new list drops is kept anyway, while
 * there is room, when it is its target's last in-link: pruning never
 * orphans a node that it does not have to. */
static void set_links(hnsw_index *h, uint32_t a, int l, uint32_t *nw, uint32_t nn) {
    lrec rec = links_at(h, a, l);
    uint32_t nold = rec_read(rec, h->old);
    for (uint32_t i = 0; i < nold && nn < mmax(h, l); i++)
        if (!ids_contain(nw, nn, h->old[i]) && !has_inlink(h, h->old[i], l, a)) nw[nn++] = h->old[i];
    rec_write(rec, nw, nn);
    for (uint32_t i = 0; i < nold; i++)
        if (!ids_contain(nw, nn, h->old[i])) edge_removed(h, a, h->old[i], l);
    for (uint32_t i = 0; i < nn; i++)
        if (!ids_contain(h->old, nold, nw[i])) edge_added(h, a, nw[i], l);
}

/* ---------------------------------------------------------- label hash */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Bucket holding label, or the empty bucket where it would go. */
static size_t label_bucket(const hnsw_index *h, uint64_t label) {
    size_t mask = h->lm_cap - 1, i = mix64(label) & mask;
    while (h->lm[i] != HNSW_NONE && meta_at(h, h->lm[i])->label != label) i = (i + 1) & mask;
    return i;
}

static uint32_t label_find(const hnsw_index *h, uint64_t label) {
    if (h->loc.get) {
        uint32_t s = h->loc.get(label, h->loc.ctx);
        return s < h->count && meta_at(h, s)->label == label ? s : HNSW_NONE;
    }
    return h->lm_cap ? h->lm[label_bucket(h, label)] : HNSW_NONE;
}

/* Records that label's node now lives in slot (hash or locator). With the
 * hash, the bucket must already be reserved and label not present. */
static void label_store(hnsw_index *h, uint64_t label, uint32_t slot) {
    if (h->loc.set) h->loc.set(label, slot, h->loc.ctx);
    else h->lm[label_bucket(h, label)] = slot;
}

/* Rebuilds the hash with cap buckets (a power of two). */
static int label_rehash(hnsw_index *h, size_t cap) {
    uint32_t *t = mem_alloc(&h->mem[MEM_OTHER], cap * sizeof(uint32_t));
    if (!t) return -1;
    memset(t, 0xff, cap * sizeof(uint32_t));
    uint32_t *old = h->lm;
    size_t old_cap = h->lm_cap;
    h->lm = t;
    h->lm_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != HNSW_NONE) h->lm[label_bucket(h, meta_at(h, old[i])->label)] = old[i];
    mem_free(&h->mem[MEM_OTHER], old);
    return 0;
}

/* Makes room for n labels at load <= 3/4 (nothing to do with a locator). */
static int label_reserve(hnsw_index *h, size_t n) {
    if (h->loc.get) return 0;
    size_t cap = h->lm_cap ? h->lm_cap : 16;
    while (n * 4 > cap * 3) cap *= 2;
    return cap == h->lm_cap ? 0 : label_rehash(h, cap);
}

/* Removes the bucket at i, shifting later members of its probe run back
 * (Knuth's Algorithm R). */
static void label_remove_at(hnsw_index *h, size_t i) {
    size_t mask = h->lm_cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (h->lm[j] == HNSW_NONE) break;
        size_t k = mix64(meta_at(h, h->lm[j])->label) & mask;
        /* the entry at j may move to i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
            h->lm[i] = h->lm[j];
            i = j;
        }
    }
    h->lm[i] = HNSW_NONE;
}

/* Forgets label (present in the index). */
static void label_remove(hnsw_index *h, uint64_t label) {
    if (h->loc.set) h->loc.set(label, HNSW_NONE, h->loc.ctx);
    else label_remove_at(h, label_bucket(h, label));
}

/* ------------------------------------------------------------- scratch */

static int scratch_grow(size_t *mem, void **p, size_t *cap, size_t need, size_t elem, int zero) {
    if (*cap >= need) return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    void *q;
    if (ncap * elem >= CHUNK_TARGET_BYTES) { /* 2 MB or more (the visited set of a big index): huge pages, as the columns */
        size_t bytes = (ncap * elem + CHUNK_TARGET_BYTES - 1) & ~(size_t)(CHUNK_TARGET_BYTES - 1);
        ncap = bytes / elem;
        if (!(q = mem_alloc_huge(mem, bytes))) return -1;
        if (*cap) memcpy(q, *p, *cap * elem);
        mem_free(mem, *p);
    } else if (!(q = mem_realloc(mem, *p, ncap * elem))) {
        return -1;
    }
    if (zero) memset((char *)q + *cap * elem, 0, (ncap - *cap) * elem);
    *p = q;
    *cap = ncap;
    return 0;
}

/* Sizes s for a search over count slots with list size ef, fan-out m0 and
 * dimension dim. Returns 0 or -1 (s unchanged in meaning). */
static int scratch_prepare(hnsw_scratch *s, size_t count, size_t ef, size_t m0, size_t dim) {
    if (scratch_grow(&s->mem, (void **)&s->visited, &s->visited_cap, count, sizeof(epoch_tag), 1) ||
        scratch_grow(&s->mem, (void **)&s->res, &s->res_cap, ef + 1, sizeof(cand), 0) ||
        scratch_grow(&s->mem, (void **)&s->cands, &s->cands_cap, ef + 1, sizeof(cand), 0) ||
        scratch_grow(&s->mem, (void **)&s->todo, &s->todo_cap, m0, sizeof(uint32_t), 0) ||
        scratch_grow(&s->mem, (void **)&s->qbuf, &s->qbuf_cap, dim, sizeof(float), 0) ||
        scratch_grow(&s->mem, (void **)&s->xbuf, &s->xbuf_cap, dim, sizeof(float), 0))
        return -1;
    return 0;
}

static void scratch_release(hnsw_scratch *s) {
    mem_free(&s->mem, s->visited);
    mem_free(&s->mem, s->cands);
    mem_free(&s->mem, s->res);
    mem_free(&s->mem, s->todo);
    mem_free(&s->mem, s->all);
    s->all = NULL;
    s->nall = s->all_cap = 0;
    mem_free(&s->mem, s->qbuf);
    mem_free(&s->mem, s->qcode);
    s->qcode = NULL;
    s->qcode_cap = 0;
    mem_free(&s->mem, s->xbuf);
    s->xbuf = NULL;
    s->xbuf_cap = 0;
    s->visited = NULL;
    s->cands = s->res = NULL;
    s->todo = NULL;
    s->qbuf = NULL;
    s->visited_cap = s->cands_cap = s->res_cap = s->todo_cap = s->qbuf_cap = 0;
    s->epoch = 0;
}

static uint32_t next_epoch(hnsw_scratch *s) {
    if (++s->epoch > EPOCH_MAX) {
        memset(s->visited, 0, s->visited_cap * sizeof(epoch_tag));
        s->epoch = 1;
    }
    return s->epoch;
}

hnsw_scratch *hnsw_scratch_new(void) {
    size_t mem = 0;
    hnsw_scratch *s = mem_calloc(&mem, sizeof(*s));
    if (s) s->mem = mem;
    return s;
}

void hnsw_scratch_free(hnsw_scratch *s) {
    if (!s) return;
    scratch_release(s);
    zfree(s);
}

size_t hnsw_scratch_memory(const hnsw_scratch *s) { return s ? s->mem : 0; }

/* ------------------------------------------------------- binary heaps */

static void minheap_push(cand *a, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (a[p].d <= c.d) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = c;
}

static void maxheap_push(cand *a, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (a[p].d >= c.d) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = c;
}

/* Pops the root; is_max selects the heap order. */
static cand heap_pop(cand *a, size_t *n, int is_max) {
    cand top = a[0], last = a[--(*n)];
    size_t i = 0, len = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) break;
        if (c + 1 < len && (is_max ? a[c + 1].d > a[c].d : a[c + 1].d < a[c].d)) c++;
        if (is_max ? a[c].d <= last.d : a[c].d >= last.d) break;
        a[i] = a[c];
        i = c;
    }
    if (len) a[i] = last;
    return top;
}

/* ------------------------------------------------------------- search */

static inline void prefetch_vector(const hnsw_index *h, int kind, uint32_t s) {
    const char *p = rep_at(h, kind, s);
    size_t n = kind == KIND_F32 ? vec_bytes(h) : code_bytes(h);
    if (n > 256) n = 256; /* the hardware prefetcher follows the rest */
    for (size_t off = 0; off < n; off += 64) __builtin_prefetch(p + off);
}

/* Greedy walk at level l from *ep (distance *d) to a local minimum. */
static void greedy_walk(const hnsw_index *h, hnsw_scratch *s, const void *q, uint32_t *ep, float *d, int l) {
    int moved = 1;
    while (moved) {
        moved = 0;
        lrec rec = links_at(h, *ep, l);
        const uint32_t nrec = lr_n(rec);
        s->stats.visited++;
        for (uint32_t i = 1; i <= nrec; i++) prefetch_vector(h, s->kind, lr_id(rec, i));
        for (uint32_t i = 1; i <= nrec; i++) {
            float dn = node_dist(h, s, q, lr_id(rec, i));
            s->stats.distances++;
            if (dn < *d) {
                *d = dn;
                *ep = lr_id(rec, i);
                moved = 1;
            }
        }
    }
}

typedef struct layer_filter {
    hnsw_filter_fn fn;
    void *ctx;
    uint64_t budget; /* 0: none */
    const uint64_t *slots; /* ACORN: hnsw_search_params.match_slots */
    size_t words;
    int exact; /* hnsw_search_params.match_exact */
} layer_filter;

static inline int accepts(const hnsw_index *h, hnsw_scratch *s, const layer_filter *f, uint32_t id) {
    if (!f || !f->fn) return 1;
    if (f->fn(meta_at(h, id)->label, f->ctx)) return 1;
    s->stats.filtered++;
    return 0;
}

static inline void queue_candidate(hnsw_scratch *s, cand c) {
    if (s->ncands == s->cands_cap &&
        scratch_grow(&s->mem, (void **)&s->cands, &s->cands_cap, s->ncands + 1, sizeof(cand), 0)) {
        s->oom = 1;
        return;
    }
    minheap_push(s->cands, &s->ncands, c);
}

/* A widened walk remembers every node it gave a distance to. */
static inline void collect_node(hnsw_scratch *s, cand c) {
    if (s->nall == s->all_cap &&
        scratch_grow(&s->mem, (void **)&s->all, &s->all_cap, s->nall + 1, sizeof(cand), 0)) {
        s->oom = 1;
        return;
    }
    s->all[s->nall++] = c;
}

static inline void offer_result(hnsw_scratch *s, size_t ef, cand c) {
    maxheap_push(s->res, &s->nres, c);
    if (s->nres > ef) heap_pop(s->res, &s->nres, 1);
}

/* Expands node c at level l: distances to its unvisited neighbours, which
 * join the candidates and (if accepted) the results. */
static void expand_node(const hnsw_index *h, hnsw_scratch *s, const void *q, uint32_t c, int l, size_t ef,
                        const layer_filter *f, uint32_t epoch) {
    lrec rec = links_at(h, c, l);
    const uint32_t nrec = lr_n(rec);
    uint32_t m = 0;
    for (uint32_t i = 1; i <= nrec; i++) {
        uint32_t id = lr_id(rec, i);
        if (s->visited[id] == epoch) continue;
        s->visited[id] = epoch;
        s->todo[m++] = id;
        prefetch_vector(h, s->kind, id);
    }
    s->stats.visited++;
    s->stats.distances += m;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t id = s->todo[i];
        float d = node_dist(h, s, q, id);
        if (s->collect) collect_node(s, (cand){d, id});
        if (s->nres < ef || d < s->res[0].d) {
            queue_candidate(s, (cand){d, id});
            if (accepts(h, s, f, id)) offer_result(s, ef, (cand){d, id});
        }
    }
}

/* Best-first search of layer l from the entry points eps (the paper's
 * SEARCH-LAYER). The results are left in s->res, a max-heap of <= ef. */
static void search_layer(const hnsw_index *h, hnsw_scratch *s, const void *q, const cand *eps, size_t neps,
                         size_t ef, int l, const layer_filter *f) {
    uint32_t epoch = next_epoch(s);
    s->nres = s->ncands = 0;
    for (size_t i = 0; i < neps; i++) {
        if (s->visited[eps[i].id] == epoch) continue;
        s->visited[eps[i].id] = epoch;
        if (s->collect) collect_node(s, eps[i]);
        queue_candidate(s, eps[i]);
        if (accepts(h, s, f, eps[i].id)) offer_result(s, ef, eps[i]);
    }
    while (s->ncands) {
        cand c = heap_pop(s->cands, &s->ncands, 0);
        if (s->nres >= ef && c.d > s->res[0].d) break;
        expand_node(h, s, q, c.id, l, ef, f, epoch);
        if (f && f->budget && s->stats.distances >= f->budget) {
            s->stats.budget_exhausted = 1;
            break;
        }
        if (s->ncands) __builtin_prefetch(links_at(h, s->cands[0].id, l).p);
    }
}

/* ACORN walks keep one tag per slot in s->visited, from four consecutive
 * epochs: REFUSED (the filter said no), TRANSIT (refused, then walked
 * through), ENTERED (accepted: has a distance, may be a result) and
 * VIA_DONE (refused, not walked through, and every neighbour of it has
 * been checked as a second hop: a later expansion gains nothing by reading
 * its links again; it may still become a transit node).
 * Any tag >= the walk's REFUSED epoch means "checked by this walk", so a
 * node costs one lookup in one array. */
enum { ACORN_REFUSED = 0, ACORN_TRANSIT = 1, ACORN_ENTERED = 2, ACORN_VIA_DONE = 3, ACORN_EPOCHS = 4 };

/* ACORN_EPOCHS fresh consecutive epochs; returns the first. */
static uint32_t next_acorn_epochs(hnsw_scratch *s) {
    if (s->epoch + ACORN_EPOCHS > EPOCH_MAX) {
        memset(s->visited, 0, s->visited_cap * sizeof(epoch_tag));
        s->epoch = 0;
    }
    uint32_t e = s->epoch + 1;
    s->epoch += ACORN_EPOCHS;
    return e;
}

/* Checks node id (not seen by this walk yet) and tags it: 1 when it
 * matches (tagged ENTERED), 0 when refused. */
/* 1 when the caller's slot bitmap refuses node id (a clear bit, or beyond
 * the map): refused without reading its label or its visited tag. */
static inline int bitmap_refuses(const layer_filter *f, uint32_t id) {
    return f->slots && ((size_t)id >> 6 >= f->words || !(f->slots[id >> 6] >> (id & 63) & 1));
}

static inline int acorn_check(const hnsw_index *h, hnsw_scratch *s, const layer_filter *f, uint32_t id,
                              uint32_t e) {
    /* a clear bit of the caller's bitmap refuses the node without reading
     * its label: most checks of a selective filter end here */
    int ok = bitmap_refuses(f, id) ? (s->stats.filtered++, 0) : f->exact || accepts(h, s, f, id);
    s->visited[id] = (epoch_tag)(e + (ok ? ACORN_ENTERED : ACORN_REFUSED));
    return ok;
}

/* The end of an ACORN expansion: distances to the m matches in s->todo,
 * which join the candidates and the results. */
static inline void enter_matches(const hnsw_index *h, hnsw_scratch *s, const void *q, size_t ef, uint32_t m) {
    s->stats.visited++;
    s->stats.distances += m;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t id = s->todo[i];
        float d = node_dist(h, s, q, id);
        if (s->nres < ef || d < s->res[0].d) {
            queue_candidate(s, (cand){d, id});
            offer_result(s, ef, (cand){d, id});
        }
    }
}

/* ACORN-1 expansion of node c on layer 0 (Patel et al., SIGMOD 2024):
 * c's neighbour list for the walk is its matching neighbours plus the
 * matching neighbours of its non-matching ones (the second hop),
 * truncated once it holds M matches (ACORN-1's list size M, although
 * layer 0 keeps 2M links: 40% fewer distances than a 2M list at
 * broad selectivities for the same recall in test_hnsw; counted with the
 * matches already entered, as the paper builds the list before dropping
 * visited nodes), so the walk stays inside the matching subgraph
 * yet crosses gaps of non-matching nodes. The filter runs once per node.
 * While *transit is not exhausted and fewer than transit_until results
 * were found, refused direct neighbours also join the candidates as
 * transit nodes, so a walk that enters the layer among non-matching nodes
 * (a filter correlated with the vectors, far from the query) can move
 * toward the matching region; the caller gives no transit budget when it
 * passes seeds (they start the walk among the matches). */
static void expand_acorn(const hnsw_index *h, hnsw_scratch *s, const void *q, uint32_t c, size_t ef,
                         const layer_filter *f, uint32_t e, size_t *transit, size_t transit_until) {
    lrec rec = links_at(h, c, 0);
    const uint32_t nrec = lr_n(rec);
    /* a transit node (refused, walked through) only has to lead the walk
     * into the matching subgraph: M/4 matches (at least 1) are enough,
     * and it reads fewer second-hop link records for them (1M x 128 at
     * 1% with 64 entry points, mostly transit: 9% less time, recall@10
     * 0.9503 against 0.9508) */
    uint32_t m = 0, want = s->visited[c] == e + ACORN_TRANSIT ? (h->p.M + 3) / 4 : h->p.M, met = 0, nrej = 0;
    /* the filter reads each node's label: fetch them together, so the
     * cache misses overlap instead of coming one after the other */
    if (!f->exact)
        for (uint32_t i = 1; i <= nrec; i++)
            if (s->visited[lr_id(rec, i)] < e) __builtin_prefetch(meta_at(h, lr_id(rec, i)));
    for (uint32_t i = 1; i <= nrec; i++) {
        uint32_t id = lr_id(rec, i), t = s->visited[id];
        if (t == e + ACORN_ENTERED) met++;
        else if (t >= e) nrej++;
        else if (acorn_check(h, s, f, id, e)) s->todo[m++] = id, prefetch_vector(h, s->kind, id);
        else nrej++;
    }
    want = met >= want ? 0 : want - met;
    if (m < want && nrej)
        for (uint32_t i = 1; i <= nrec; i++)
            if (s->visited[lr_id(rec, i)] - e < ACORN_ENTERED) __builtin_prefetch(links_at(h, lr_id(rec, i), 0).p);
    for (uint32_t i = 1; i <= nrec && m < want; i++) {
        uint32_t via = lr_id(rec, i);
        if (s->visited[via] - e >= ACORN_ENTERED) continue; /* not a refused node, or done */
        lrec rec2 = links_at(h, via, 0);
        const uint32_t nrec2 = lr_n(rec2);
        /* the second hop is where a selective filter spends its time (up
         * to 2M x 2M nodes per expansion): with a bitmap, a clear bit ends
         * the check before the node's visited tag or label is touched
         * (the bitmap is n/8 bytes and stays in cache; the tags and labels
         * are random reads), and only the survivors are prefetched */
        if (!f->exact)
            for (uint32_t j = 1; j <= nrec2; j++)
                if (!bitmap_refuses(f, lr_id(rec2, j)) && s->visited[lr_id(rec2, j)] < e) __builtin_prefetch(meta_at(h, lr_id(rec2, j)));
        uint32_t j = 1;
        for (; j <= nrec2 && m < want; j++) {
            uint32_t id = lr_id(rec2, j);
            if (bitmap_refuses(f, id)) {
                s->stats.filtered++;
                continue;
            }
            if (s->visited[id] >= e) continue;
            if (acorn_check(h, s, f, id, e)) s->todo[m++] = id, prefetch_vector(h, s->kind, id);
        }
        /* all of via's neighbours are checked now (a node the bitmap
         * refuses is refused again whenever it is met): at 1% selectivity
         * most expansions share vias, and their link records are the
         * walk's cache misses */
        if (j > nrec2 && s->visited[via] == e + ACORN_REFUSED) s->visited[via] = (epoch_tag)(e + ACORN_VIA_DONE);
    }
    enter_matches(h, s, q, ef, m);
    if (s->nres >= transit_until) return;
    for (uint32_t i = 1; i <= nrec && *transit; i++) {
        uint32_t id = lr_id(rec, i);
        uint32_t t = s->visited[id];
        if (t != e + ACORN_REFUSED && t != e + ACORN_VIA_DONE) continue;
        s->visited[id] = (epoch_tag)(e + ACORN_TRANSIT);
        (*transit)--;
        s->stats.distances++;
        queue_candidate(s, (cand){node_dist(h, s, q, id), id});
    }
}

/* ---- ACORN list cache (item 11) ----
 * One list per set bit of the caller's bitmap, at the bit's rank: two
 * words of generation (h->changes + 1 when built; 0: never built), one of
 * count | direct << 16, then up to m0 slots: the node's neighbours whose
 * bit is set (the first `direct`), then the set-bit neighbours of its
 * clear-bit neighbours, in link order, without repeats. */
struct hnsw_acorn_cache {
    const hnsw_index *h;
    const uint64_t *slots;
    size_t words;
    uint32_t *rank;  /* set bits in the words before word w */
    uint32_t width;  /* uint32_t per list: 3 + m0 */
    uint32_t *lists;
    size_t bytes, max_bytes;
    uint64_t built, reused;
    /* transit lists: a four-way set associative table of 2^(34 - tshift)
     * records, allocated on the first transit expansion (NULL before, or
     * when it would pass max_bytes): ttag[r] is record r's node slot + 1
     * (0: empty); a record is twidth words: two of generation, one of
     * count | direct << 16, then up to twidth - 3 ids */
    uint32_t *transit, *ttag;
    uint32_t twidth, tshift;
    int transit_tried;
    uint64_t tbuilt, treused;
};

hnsw_acorn_cache *hnsw_acorn_cache_new(const hnsw_index *h, const uint64_t *slots, size_t words, size_t max_bytes) {
    if (!h || !slots || !words) return NULL;
    size_t nset = 0;
    for (size_t w = 0; w < words; w++) nset += (size_t)__builtin_popcountll(slots[w]);
    uint32_t width = 3 + h->m0;
    size_t bytes = sizeof(hnsw_acorn_cache) + words * sizeof(uint32_t) + nset * width * sizeof(uint32_t);
    if (nset > UINT32_MAX || bytes > max_bytes) return NULL;
    size_t acct = 0;
    hnsw_acorn_cache *c = mem_calloc(&acct, sizeof(*c));
    if (!c) return NULL;
    c->rank = mem_alloc(&acct, words * sizeof(uint32_t));
    c->lists = mem_calloc(&acct, (nset ? nset : 1) * width * sizeof(uint32_t));
    c->bytes = acct;
    if (!c->rank || !c->lists) {
        hnsw_acorn_cache_free(c);
        return NULL;
    }
    uint32_t r = 0;
    for (size_t w = 0; w < words; w++) {
        c->rank[w] = r;
        r += (uint32_t)__builtin_popcountll(slots[w]);
    }
    c->h = h;
    c->slots = slots;
    c->words = words;
    c->width = width;
    c->max_bytes = max_bytes;
    return c;
}

void hnsw_acorn_cache_free(hnsw_acorn_cache *c) {
    if (!c) return;
    mem_free(&c->bytes, c->rank);
    mem_free(&c->bytes, c->lists);
    mem_free(&c->bytes, c->transit);
    mem_free(&c->bytes, c->ttag);
    size_t rest = c->bytes;
    mem_free(&rest, c);
}

size_t hnsw_acorn_cache_bytes(const hnsw_acorn_cache *c) { return c ? c->bytes : 0; }

void hnsw_acorn_cache_counts(const hnsw_acorn_cache *c, uint64_t *built, uint64_t *reused) {
    *built = c ? c->built : 0;
    *reused = c ? c->reused : 0;
}

void hnsw_acorn_cache_transit_counts(const hnsw_acorn_cache *c, uint64_t *built, uint64_t *reused) {
    *built = c ? c->tbuilt : 0;
    *reused = c ? c->treused : 0;
}

/* A list record starts with two words of generation (h->changes + 1 when
 * built, so 0 is never current). */
static inline int list_current(const uint32_t *l, uint64_t gen) {
    return l[0] == (uint32_t)gen && l[1] == (uint32_t)(gen >> 32);
}
static inline void list_stamp(uint32_t *l, uint64_t gen) {
    l[0] = (uint32_t)gen;
    l[1] = (uint32_t)(gen >> 32);
}

/* The list record of node x, whose bit must be set. */
static inline uint32_t *acorn_list_at(const hnsw_acorn_cache *c, uint32_t x) {
    uint64_t w = c->slots[x >> 6] & ((2ULL << (x & 63)) - 1); /* bits up to x's */
    size_t rank = c->rank[x >> 6] + (size_t)__builtin_popcountll(w) - 1;
    return c->lists + rank * c->width;
}

/* Writes into ids[0..cap) node c's matching neighbours (the bitmap's set
 * bits), then the set-bit neighbours of its clear-bit neighbours, in link
 * order, without repeats, until cap are found: the link records an
 * uncached expansion reads, read once. Returns count | direct << 16. */
static uint32_t fill_acorn_list(const hnsw_index *h, const layer_filter *f, uint32_t c, uint32_t *ids, uint32_t cap) {
    lrec rec = links_at(h, c, 0);
    const uint32_t nrec = lr_n(rec);
    uint32_t n = 0;
    for (uint32_t i = 1; i <= nrec; i++)
        if (bitmap_refuses(f, lr_id(rec, i))) __builtin_prefetch(links_at(h, lr_id(rec, i), 0).p);
        else if (n < cap) ids[n++] = lr_id(rec, i);
    uint32_t direct = n;
    for (uint32_t i = 1; i <= nrec && n < cap; i++) {
        if (!bitmap_refuses(f, lr_id(rec, i))) continue;
        lrec rec2 = links_at(h, lr_id(rec, i), 0);
        const uint32_t nrec2 = lr_n(rec2);
        for (uint32_t j = 1; j <= nrec2 && n < cap; j++) {
            uint32_t id = lr_id(rec2, j), k = 0;
            if (id == c || bitmap_refuses(f, id)) continue;
            while (k < n && ids[k] != id) k++;
            if (k == n) ids[n++] = id;
        }
    }
    return n | direct << 16;
}

/* Node c's list, built now when it was not built since the graph last
 * changed: the same link records an uncached expansion reads (c's, then
 * those of its clear-bit neighbours until the list is full), read once. */
static const uint32_t *acorn_list(const hnsw_index *h, hnsw_acorn_cache *ac, const layer_filter *f, uint32_t c) {
    uint32_t *l = acorn_list_at(ac, c);
    uint64_t gen = h->changes + 1;
    if (list_current(l, gen)) {
        ac->reused++;
        return l;
    }
    list_stamp(l, gen);
    l[2] = fill_acorn_list(h, f, c, l + 3, ac->width - 3);
    ac->built++;
    return l;
}

/* The transit list of refused node c, built now when missing or built
 * before the graph last changed; NULL when the cache keeps no transit
 * table. A transit node is an entry point of the walk (in the upper layers
 * a walk descends unfiltered, so at a selective filter most entry points
 * are refused): the same nodes of layer 1 lead most queries near them
 * into layer 0, and without a list each of them reads the link records of
 * its neighbours again. Four ways per set over twice the nodes above
 * layer 0: about 3% of them find their set full (Poisson, 1.9 per set) and
 * replace a list, a stale one first. */
static const uint32_t *acorn_transit_list(const hnsw_index *h, hnsw_acorn_cache *ac, const layer_filter *f,
                                          uint32_t c) {
    if (!ac->transit) {
        if (ac->transit_tried) return NULL;
        ac->transit_tried = 1;
        /* the entry points come from layer 1: at least 1,024 records */
        size_t upper = h->count - h->level_count[0], want = 1024;
        uint32_t bits = 10;
        while (want < 2 * upper && bits < 30) want <<= 1, bits++;
        ac->twidth = 3 + (h->p.M + 1) / 2;
        size_t bytes = want * (ac->twidth + 1) * sizeof(uint32_t);
        if (ac->bytes + bytes > ac->max_bytes) return NULL;
        ac->transit = mem_alloc(&ac->bytes, want * ac->twidth * sizeof(uint32_t));
        ac->ttag = mem_calloc(&ac->bytes, want * sizeof(uint32_t));
        if (!ac->transit || !ac->ttag) {
            mem_free(&ac->bytes, ac->transit);
            mem_free(&ac->bytes, ac->ttag);
            ac->transit = ac->ttag = NULL;
            return NULL;
        }
        ac->tshift = 32 - (bits - 2);
    }
    uint64_t gen = h->changes + 1;
    /* Fibonacci hashing (Knuth, TAOCP vol. 3 6.4): the product's top bits
     * name the set */
    uint32_t set = ((c * 0x9E3779B1u) >> ac->tshift) << 2, at = set + 4, *l;
    for (uint32_t k = set; k < set + 4; k++)
        if (ac->ttag[k] == c + 1) {
            at = k;
            break;
        }
    if (at < set + 4) {
        l = ac->transit + (size_t)at * ac->twidth;
        if (list_current(l, gen)) {
            ac->treused++;
            return l;
        }
    } else {
        /* an empty way, else a stale list, else one in turn */
        for (uint32_t k = set; k < set + 4 && at == set + 4; k++)
            if (!ac->ttag[k]) at = k;
        for (uint32_t k = set; k < set + 4 && at == set + 4; k++)
            if (!list_current(ac->transit + (size_t)k * ac->twidth, gen)) at = k;
        if (at == set + 4) at = set + (uint32_t)(ac->tbuilt & 3);
        ac->ttag[at] = c + 1;
        l = ac->transit + (size_t)at * ac->twidth;
    }
    list_stamp(l, gen);
    l[2] = fill_acorn_list(h, f, c, l + 3, ac->twidth - 3);
    ac->tbuilt++;
    return l;
}

/* expand_acorn with node c's cached list: the same choice of nodes (every
 * matching direct neighbour; then, while fewer than M direct neighbours
 * are entered and found, matching second-hop ones), without reading the
 * link records of c's non-matching neighbours. Takes no transit nodes. */
static void expand_acorn_listed(const hnsw_index *h, hnsw_scratch *s, const void *q, size_t ef,
                                const layer_filter *f, uint32_t e, uint32_t nd, const uint32_t *ids, uint32_t want) {
    uint32_t n = nd & 0xffff, direct = nd >> 16, m = 0, met = 0;
    if (!f->exact)
        for (uint32_t i = 0; i < n; i++)
            if (s->visited[ids[i]] < e) __builtin_prefetch(meta_at(h, ids[i]));
    uint32_t i = 0;
    for (; i < direct; i++) {
        uint32_t id = ids[i], t = s->visited[id];
        if (t == e + ACORN_ENTERED) met++;
        else if (t < e && acorn_check(h, s, f, id, e)) s->todo[m++] = id, prefetch_vector(h, s->kind, id);
    }
    want = met >= want ? 0 : want - met;
    for (; i < n && m < want; i++) {
        uint32_t id = ids[i];
        if (s->visited[id] < e && acorn_check(h, s, f, id, e)) s->todo[m++] = id, prefetch_vector(h, s->kind, id);
    }
    enter_matches(h, s, q, ef, m);
}

/* The filtered layer-0 search of an ACORN walk from the entry points
 * eps[0..neps) (with their distances) and the caller's seeds: only
 * matching nodes get distances and enter the candidates (besides the
 * entries, the seeds and the transit nodes of expand_acorn); results are
 * left in s->res. */
static void search_layer_acorn(const hnsw_index *h, hnsw_scratch *s, const void *q, const cand *eps, size_t neps,
                               size_t ef, const layer_filter *f, const hnsw_search_params *sp) {
    uint32_t e = next_acorn_epochs(s);
    s->nres = s->ncands = 0;
    for (size_t i = 0; i < neps; i++) {
        cand ep = eps[i];
        if (s->visited[ep.id] >= e) continue;
        queue_candidate(s, ep);
        if (acorn_check(h, s, f, ep.id, e)) offer_result(s, ef, ep);
        else s->visited[ep.id] = (epoch_tag)(e + ACORN_TRANSIT);
    }
    /* the caller's seeds: more entry points, for filters whose matches lie
     * away from the query (the walk then reaches them from both sides) */
    size_t nseeds = 0;
    for (size_t i = 0; i < sp->nseeds; i++) {
        uint32_t id = label_find(h, sp->seeds[i]);
        if (id == HNSW_NONE || s->visited[id] >= e || !acorn_check(h, s, f, id, e)) continue;
        cand c = {node_dist(h, s, q, id), id};
        s->stats.distances++;
        queue_candidate(s, c);
        offer_result(s, ef, c);
        nseeds++;
    }
    /* without seeds the walk starts among whatever the query is near: up to
     * ef refused nodes lead it on until M matches are found */
    size_t transit = nseeds ? 0 : ef, transit_until = h->p.M;
    hnsw_acorn_cache *ac = sp->acorn_cache;
    if (ac && (ac->h != h || ac->slots != f->slots || ac->words != f->words)) ac = NULL;
    while (s->ncands) {
        cand c = heap_pop(s->cands, &s->ncands, 0);
        if (s->nres >= ef && c.d > s->res[0].d) break;
        /* a listed expansion takes no transit nodes: only once none are
         * due, and for nodes with a list (a set bit) */
        const uint32_t *tl;
        if (ac && (!transit || s->nres >= transit_until) && !bitmap_refuses(f, c.id)) {
            const uint32_t *l = acorn_list(h, ac, f, c.id);
            expand_acorn_listed(h, s, q, ef, f, e, l[2], l + 3, h->p.M);
            if (s->ncands && !bitmap_refuses(f, s->cands[0].id)) __builtin_prefetch(acorn_list_at(ac, s->cands[0].id));
        } else if (ac && !transit && s->visited[c.id] == e + ACORN_TRANSIT && (tl = acorn_transit_list(h, ac, f, c.id))) {
            expand_acorn_listed(h, s, q, ef, f, e, tl[2], tl + 3, (h->p.M + 3) / 4);
        } else {
            expand_acorn(h, s, q, c.id, ef, f, e, &transit, transit_until);
        }
        if (f->budget && s->stats.distances >= f->budget) {
            s->stats.budget_exhausted = 1;
            break;
        }
    }
}

/* Empties the result heap into out[] in ascending distance order. */
static size_t drain_sorted(hnsw_scratch *s, cand *out) {
    size_t n = s->nres;
    for (size_t i = n; i > 0; i--) out[i - 1] = heap_pop(s->res, &s->nres, 1);
    return n;
}

/* The exact distance of query qf (normalized for COSINE) to node id for a
 * quantized walk's rescoring: against the fp32 vector when kept, else the
 * asymmetric Q8 form (the decoded code against the fp32 query); a BIN
 * index without vectors reports 1 - dot(q, s / sqrt(dim)), the distance
 * to the unit vector of the code's signs (walked = -dot(q, s)). */
static float exact_dist(const hnsw_index *h, const float *qf, float qsq, uint32_t id, float walked) {
    if (h->has_exact) return dist_q(h, qf, vec_at(h, id));
    if (h->p.quant == HNSW_QUANT_BIN) return 1.0f + walked / sqrtf((float)h->p.dim);
    const uint8_t *code = col_at(&h->codes, id);
    float dot = quant_q8_dot_f32(code, qf, h->p.dim);
    if (h->p.metric != HNSW_METRIC_L2) return 1.0f - dot;
    float d = qsq + quant_q8_sqnorm(code) - 2.0f * dot;
    return d > 0 ? d : 0;
}

static int cand_dist_cmp(const void *x, const void *y) {
    const cand *a = x, *b = y;
    return a->d < b->d ? -1 : a->d > b->d ? 1 : (a->id > b->id) - (a->id < b->id);
}

/* Quantized walk: the best n of the walk's results get exact distances
 * (from sp->exact_vector when the index keeps no vectors and the caller
 * has them) and are sorted by them into out[]. Returns how many (fewer
 * than n when the walk found fewer). */
static size_t rescore_results(const hnsw_index *h, hnsw_scratch *s, const hnsw_search_params *sp, const float *qf,
                              cand *out, size_t n) {
    float qsq = h->p.metric == HNSW_METRIC_L2 ? vec_dot(qf, qf, h->p.dim) : 0;
    while (s->nres > n) heap_pop(s->res, &s->nres, 1);
    n = s->nres;
    for (size_t i = 0; i < n; i++) {
        cand c = heap_pop(s->res, &s->nres, 1);
        if (!h->has_exact && sp->exact_vector &&
            sp->exact_vector(meta_at(h, c.id)->label, sp->exact_ctx, s->xbuf) == 0)
            out[i] = (cand){dist_q(h, qf, s->xbuf), c.id};
        else
            out[i] = (cand){exact_dist(h, qf, qsq, c.id, c.d), c.id};
    }
    qsort(out, n, sizeof(cand), cand_dist_cmp);
    return n;
}

/* Moves the k smallest (by distance) of a[0..n) to a[0..k), in no order:
 * Hoare's FIND (quickselect), median-of-three pivot, three-way partition
 * (Dijkstra's Dutch national flag) so equal distances cannot stall it. */
static void select_smallest(cand *a, size_t n, size_t k) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        float x = a[lo].d, y = a[lo + (hi - lo) / 2].d, z = a[hi - 1].d;
        float piv = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            cand t = a[i];
            if (t.d < piv) {
                a[i++] = a[lt];
                a[lt++] = t;
            } else if (t.d > piv) {
                a[i] = a[--gt];
                a[gt] = t;
            } else {
                i++;
            }
        }
        /* [lo, lt) < piv, [lt, gt) == piv (not empty), [gt, hi) > piv */
        if (k < lt) hi = lt;
        else if (k <= gt) return;
        else lo = gt;
    }
}

/* Widened results. A walk with list size ef computes distances to many
 * more nodes than the ef it keeps: every unvisited neighbour of each node
 * it expands (on clustered data about 15 ef), the nearest of them around
 * the query. Keeping the k nearest of all of them, rather than walking
 * with a list of k, gives a post-filter search the k candidates it
 * over-fetches (k = several K / selectivity) for the work of an ef walk.
 * They are not the exact k nearest: a node no expansion reached is
 * missing, which is why the caller checks recall against EXACT and keeps
 * ef large enough for it. Writes the k nearest accepted ones, best first,
 * and returns how many: a selection and a sort of k, O(n + k log k). */
static int widened_results(const hnsw_index *h, hnsw_scratch *s, const layer_filter *f, size_t k,
                           uint64_t *labels, float *dists) {
    /* the nearest chunk of what is still needed, sorted, then the filter
     * on it alone: a refused node (an expired key) costs one more chunk,
     * not a filter call on every node computed */
    size_t n = s->nall, lo = 0, kept = 0;
    while (kept < k && lo < n) {
        size_t want = k - kept, end = n - lo > want ? lo + want : n;
        if (end < n) select_smallest(s->all + lo, n - lo, want);
        qsort(s->all + lo, end - lo, sizeof(cand), cand_dist_cmp);
        for (size_t i = lo; i < end; i++) {
            if (!accepts(h, s, f, s->all[i].id)) continue;
            labels[kept] = meta_at(h, s->all[i].id)->label;
            if (dists) dists[kept] = s->all[i].d;
            kept++;
        }
        lo = end;
    }
    return (int)kept;
}

int hnsw_search_ex(const hnsw_index *h, hnsw_scratch *s, const float *query, const hnsw_search_params *sp,
                   uint64_t *labels, float *dists, hnsw_search_stats *stats) {
    if (!s || !sp) return HNSW_ERR_ARG;
    memset(&s->stats, 0, sizeof(s->stats));
    s->oom = 0;
    if (h->importing) return HNSW_ERR_STATE;
    if (!vector_finite(query, h->p.dim)) return HNSW_ERR_ARG;
    /* No more results or candidates than nodes: also bounds the memory a
     * huge k or ef could ask for. A quantized walk keeps k * rescore
     * candidates for the exact rescoring. */
    size_t k = sp->k < h->count ? sp->k : h->count;
    size_t keep = k;
    if (h->p.quant) keep = k * (sp->rescore ? (sp->rescore > 100 ? 100 : sp->rescore) : h->p.rescore);
    if (keep > h->count) keep = h->count;
    size_t ef = sp->ef < h->count ? sp->ef : h->count;
    int widen = sp->widen && !sp->acorn && !h->p.quant;
    if (ef < keep && !widen) ef = keep;
    if (ef < 1) ef = 1;
    int found = 0;
    if (k && h->count) {
        if (scratch_prepare(s, h->count, ef, h->m0, h->p.dim) != 0) return HNSW_ERR_NOMEM;
        const float *qf = query;
        if (h->p.metric == HNSW_METRIC_COSINE) {
            memcpy(s->qbuf, query, vec_bytes(h));
            vec_normalize(s->qbuf, h->p.dim);
            qf = s->qbuf;
        }
        const void *q = qf;
        s->kind = h->walk_kind;
        if (h->p.quant == HNSW_QUANT_Q8) {
            if (scratch_grow(&s->mem, (void **)&s->qcode, &s->qcode_cap, code_bytes(h), 1, 0)) return HNSW_ERR_NOMEM;
            encode_vector(h, qf, s->qcode);
            q = s->qcode;
        } else if (h->p.quant == HNSW_QUANT_BIN) {
            size_t nt = quant_bin_table_floats(h->p.dim);
            if (scratch_grow(&s->mem, (void **)&s->qcode, &s->qcode_cap, (nt + 1) * sizeof(float), 1, 0))
                return HNSW_ERR_NOMEM;
            float *t = (float *)(void *)s->qcode;
            t[nt] = quant_bin_query_table(qf, h->p.dim, t);
            q = t;
        }
        uint32_t ep = h->entry;
        float d = node_dist(h, s, q, ep);
        s->stats.distances++;
        /* ACORN with entries: the greedy descent stops at layer 1, where a
         * beam search finds the entry points (see search_layer_acorn) */
        size_t nentries = sp->acorn && sp->filter ? sp->entries : 0;
        if (nentries > HNSW_MAX_ENTRIES) nentries = HNSW_MAX_ENTRIES;
        if (nentries > ef) nentries = ef; /* the scratch's result heap holds ef + 1 */
        int entry_layer = nentries && h->max_level > 0 ? 1 : 0;
        for (int l = h->max_level; l > entry_layer; l--) greedy_walk(h, s, q, &ep, &d, l);
        layer_filter f = {sp->filter, sp->filter_ctx, sp->max_distances, sp->match_slots, sp->match_words,
                          sp->acorn && sp->match_slots && sp->match_exact};
        cand start = {d, ep};
        if (sp->acorn && sp->filter) {
            cand eps[HNSW_MAX_ENTRIES];
            size_t neps = 0;
            if (nentries) {
                search_layer(h, s, q, &start, 1, nentries, entry_layer, NULL);
                neps = drain_sorted(s, eps);
            } else {
                eps[neps++] = start;
            }
            search_layer_acorn(h, s, q, eps, neps, ef, &f, sp);
        } else {
            s->nall = 0;
            s->collect = widen;
            search_layer(h, s, q, &start, 1, ef, 0, &f);
            s->collect = 0;
        }
        if (widen) {
            found = widened_results(h, s, &f, k, labels, dists);
        } else if (h->p.quant) {
            /* the candidate heap is free now and holds ef + 1 >= keep entries */
            size_t n = rescore_results(h, s, sp, qf, s->cands, keep);
            found = (int)(n < k ? n : k);
            for (int i = 0; i < found; i++) {
                labels[i] = meta_at(h, s->cands[i].id)->label;
                if (dists) dists[i] = s->cands[i].d;
            }
        } else {
            while (s->nres > k) heap_pop(s->res, &s->nres, 1);
            found = (int)s->nres;
            for (int i = found - 1; i >= 0; i--) {
                cand c = heap_pop(s->res, &s->nres, 1);
                labels[i] = meta_at(h, c.id)->label;
                if (dists) dists[i] = c.d;
            }
        }
    }
    if (stats) *stats = s->stats;
    return s->oom ? HNSW_ERR_NOMEM : found;
}

int hnsw_search(hnsw_index *h, const float *query, size_t k, size_t ef, hnsw_filter_fn filter,
                void *filter_ctx, uint64_t *labels, float *dists) {
    hnsw_search_params sp = {.k = k, .ef = ef, .filter = filter, .filter_ctx = filter_ctx};
    return hnsw_search_ex(h, &h->scratch, query, &sp, labels, dists, NULL);
}

/* ------------------------------------------------------------- linking */

/* The paper's Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC) without extension
 * or kept pruned connections: walking c[0..n) in ascending distance to the
 * base element, keep a candidate when it is closer to the base than to
 * every candidate kept so far, up to m. One addition for crowds of
 * identical vectors: with the paper's strict test copies of one point all
 * tie and all stay, filling every list with the same few copies, so a
 * candidate that coincides with a kept one (distance <= h->same_point) is
 * dropped, except that up to m/2 copies of the base itself are kept
 * (enough to keep a crowd of copies connected, leaving room for real
 * neighbours). Returns how many went to out. */
static uint32_t select_heuristic(const hnsw_index *h, const cand *c, size_t n, uint32_t m, uint32_t *out) {
    uint32_t r = 0, same = 0;
    for (size_t i = 0; i < n && r < m; i++) {
        int keep = 1, copy_of_base = c[i].d <= h->same_point;
        if (copy_of_base && same < m / 2) {
            same++;
        } else {
            for (uint32_t j = 0; j < r && keep; j++) {
                float d = dist_slots(h, c[i].id, out[j]);
                if (d < c[i].d || d <= h->same_point) keep = 0;
            }
        }
        if (keep) out[r++] = c[i].id;
    }
    return r;
}

/* Orders candidates by distance; ties by a hash of the id mixed with the
 * base element (arg), so that copies of one point are not always ranked
 * the same way from every node. */
static int cand_cmp(const void *x, const void *y, void *arg) {
    const cand *a = x, *b = y;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    uint64_t base = *(const uint32_t *)arg, ka = mix64(a->id ^ (base << 32)),
             kb = mix64(b->id ^ (base << 32));
    return ka < kb ? -1 : ka > kb;
}

/* Re-selects a's links at level l among its current links and extra[]
 * (slots other than a), then installs them with set_links. */
static void reselect_links(hnsw_index *h, uint32_t a, int l, const uint32_t *extra, uint32_t nextra) {
    hnsw_scratch *s = &h->scratch;
    uint32_t epoch = next_epoch(s);
    lrec rec = links_at(h, a, l);
    size_t n = 0;
    s->visited[a] = epoch;
    for (uint32_t i = 1; i <= lr_n(rec); i++) {
        s->visited[lr_id(rec, i)] = epoch;
        h->work[n++] = (cand){dist_slots(h, a, lr_id(rec, i)), lr_id(rec, i)};
    }
    for (uint32_t i = 0; i < nextra; i++) {
        if (s->visited[extra[i]] == epoch) continue;
        s->visited[extra[i]] = epoch;
        h->work[n++] = (cand){dist_slots(h, a, extra[i]), extra[i]};
    }
    qsort_r(h->work, n, sizeof(cand), cand_cmp, &a);
    uint32_t nsel = select_heuristic(h, h->work, n, mmax(h, l), h->sel);
    set_links(h, a, l, h->sel, nsel);
}

/* Makes by link to o at level l (by's list is full) in place of a link
 * whose target has another in-link. Returns 1 on success, 0 if every
 * link of by is its target's last. */
static int link_by_replacing(hnsw_index *h, uint32_t by, uint32_t o, int l) {
    lrec rb = links_at(h, by, l);
    if (rec_contains(rb, o)) return 1;
    for (uint32_t i = 1; i <= lr_n(rb); i++) {
        uint32_t v = lr_id(rb, i);
        if (!has_inlink(h, v, l, by)) continue;
        lr_set_id(rb, i, o);
        edge_removed(h, by, v, l);
        edge_added(h, by, o, l);
        return 1;
    }
    return 0;
}

/* Connects slot at level l to the neighbours chosen from w[0..n) (sorted)
 * and adds the reverse links, shrinking full lists with the heuristic. */
static void connect_level(hnsw_index *h, uint32_t slot, int l, const cand *w, size_t n) {
    lrec rs = links_at(h, slot, l);
    uint32_t chosen[HNSW_MAX_M];
    uint32_t nsel = select_heuristic(h, w, n, h->p.M, chosen);
    rec_write(rs, chosen, nsel);
    for (uint32_t i = 0; i < nsel; i++) {
        uint32_t e = chosen[i];
        lrec re = links_at(h, e, l);
        if (lr_n(re) < mmax(h, l))
            rec_push(re, slot);
        else
            reselect_links(h, e, l, &slot, 1);
    }
    /* slot->e stays one-way where e did not keep slot: record it (I2). */
    for (uint32_t i = 0; i < nsel; i++) {
        uint32_t e = chosen[i];
        if (rec_contains(links_at(h, e, l), slot)) continue;
        if (rec_contains(rs, e) && idlist_add(h, inlist_ref(h, e, l), slot) != 0) rec_remove(rs, e);
    }
    /* Nobody kept the reverse link (a crowd of near-identical vectors):
     * the closest candidate with room links to slot, or else a chosen
     * neighbour gives up a link that is not its target's last, so slot
     * stays reachable. */
    if (has_inlink(h, slot, l, HNSW_NONE)) return;
    for (size_t i = 0; i < n; i++) {
        lrec rw = links_at(h, w[i].id, l);
        if (lr_n(rw) < mmax(h, l)) {
            rec_push(rw, slot);
            edge_added(h, w[i].id, slot, l);
            return;
        }
    }
    for (uint32_t i = 0; i < nsel; i++)
        if (link_by_replacing(h, chosen[i], slot, l)) return;
}

/* Reorders each run of equal distances in the sorted c[0..n) by cand_cmp's
 * hashed tie-break for base, so copies of one point are not ranked the
 * same way for every inserted node. */
static void shuffle_ties(cand *c, size_t n, uint32_t base) {
    for (size_t i = 0; i + 1 < n;) {
        size_t j = i + 1;
        while (j < n && c[j].d == c[i].d) j++;
        if (j - i > 1) qsort_r(c + i, j - i, sizeof(cand), cand_cmp, &base);
        i = j;
    }
}

/* Algorithm 1 for a node already stored in slot with its level: finds its
 * neighbours from the entry point and links it on levels min(level,
 * max_level)..0. Needs scratch and work arrays reserved. */
static void link_node(hnsw_index *h, uint32_t slot, int level) {
    h->changes++;
    if (h->entry == HNSW_NONE) {
        h->entry = slot;
        h->max_level = level;
        return;
    }
    hnsw_scratch *s = &h->scratch;
    s->kind = h->build_kind;
    const void *q = rep_at(h, h->build_kind, slot);
    uint32_t ep = h->entry;
    float d = node_dist(h, s, q, ep);
    for (int l = h->max_level; l > level; l--) greedy_walk(h, s, q, &ep, &d, l);
    h->eps[0] = (cand){d, ep};
    size_t neps = 1;
    for (int l = level < h->max_level ? level : h->max_level; l >= 0; l--) {
        search_layer(h, s, q, h->eps, neps, h->efc, l, NULL);
        neps = drain_sorted(s, h->eps);
        shuffle_ties(h->eps, neps, slot);
        connect_level(h, slot, l, h->eps, neps);
    }
    if (level > h->max_level) {
        h->entry = slot;
        h->max_level = level;
    }
}

/* ----------------------------------------------------------- unlinking */

static int top_level(const hnsw_index *h) {
    for (int l = HNSW_MAX_LEVEL; l >= 0; l--)
        if (h->level_count[l]) return l;
    return -1;
}

/* x (the entry point, already uncounted in level_count) is being unlinked:
 * pick a node of the new top level, preferring x's neighbours there. */
static void replace_entry(hnsw_index *h, uint32_t x) {
    int top = top_level(h);
    h->max_level = top;
    h->entry = HNSW_NONE;
    if (top < 0) return;
    lrec rec = links_at(h, x, top);
    for (uint32_t i = 1; i <= lr_n(rec); i++) {
        if (node_level(h, lr_id(rec, i)) == top) {
            h->entry = lr_id(rec, i);
            return;
        }
    }
    for (uint32_t s = 0; s < h->count; s++) {
        if (s != x && node_level(h, s) == top) {
            h->entry = s;
            return;
        }
    }
}

/* Size of the id buffer unlinking x needs: out-links plus in-neighbours. */
static size_t unlink_ids_needed(const hnsw_index *h, uint32_t x) {
    size_t need = 0;
    for (int l = 0; l <= node_level(h, x); l++) {
        const idlist *in = *inlist_ref(h, x, l);
        size_t n = 2 * (size_t)lr_n(links_at(h, x, l)) + (in ? in->n : 0);
        if (n > need) need = n;
    }
    return need;
}

/* Closest node among ids[0..n) (other than o) whose level-l list has
 * room and does not hold o yet, or HNSW_NONE. */
static uint32_t closest_with_room(const hnsw_index *h, uint32_t o, int l, const uint32_t *ids, uint32_t n) {
    uint32_t best = HNSW_NONE;
    float bd = INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        lrec r = links_at(h, ids[i], l);
        if (ids[i] == o || lr_n(r) >= mmax(h, l) || rec_contains(r, o)) continue;
        float d = dist_slots(h, o, ids[i]);
        if (d < bd) bd = d, best = ids[i];
    }
    return best;
}

/* o lost its last in-link at level l when x was unlinked. Link to it from
 * a node with room that is reachable: the closest of x's former
 * in-neighbours (they reached x), else the closest in the first of their
 * link lists that has one, else the closest of o's own neighbours; failing
 * all, one of those gives up a link that is not its target's last. */
static void adopt_orphan(hnsw_index *h, uint32_t o, int l, const uint32_t *ins, uint32_t nin) {
    lrec ro = links_at(h, o, l);
    uint32_t ids[2 * HNSW_MAX_M];
    uint32_t by = closest_with_room(h, o, l, ins, nin);
    for (uint32_t i = 0; i < nin && by == HNSW_NONE; i++) {
        uint32_t n = rec_read(links_at(h, ins[i], l), ids);
        by = closest_with_room(h, o, l, ids, n);
    }
    if (by == HNSW_NONE) {
        uint32_t n = rec_read(ro, ids);
        by = closest_with_room(h, o, l, ids, n);
    }
    if (by != HNSW_NONE) {
        rec_push(links_at(h, by, l), o);
        edge_added(h, by, o, l);
        return;
    }
    for (uint32_t i = 0; i < nin; i++)
        if (ins[i] != o && link_by_replacing(h, ins[i], o, l)) return;
    for (uint32_t i = 1; i <= lr_n(ro); i++)
        if (link_by_replacing(h, lr_id(ro, i), o, l)) return;
}

/* Removes every link to and from x at level l and repairs x's
 * in-neighbours by re-selecting among their links and x's out-links. */
static void unlink_level(hnsw_index *h, uint32_t x, int l) {
    lrec rx = links_at(h, x, l);
    uint32_t nout = lr_n(rx), nin = 0;
    uint32_t *outs = h->ids, *ins = h->ids ? h->ids + nout : NULL; /* no arithmetic on NULL (empty index) */
    if (nout) rec_read(rx, outs); /* ids may be NULL when empty */
    lr_set_n(rx, 0);
    for (uint32_t i = 0; i < nout; i++) {
        if (rec_contains(links_at(h, outs[i], l), x))
            ins[nin++] = outs[i];
        else
            idlist_remove(h, inlist_ref(h, outs[i], l), x);
    }
    idlist **inref = inlist_ref(h, x, l);
    if (*inref) {
        for (uint32_t i = 0; i < (*inref)->n; i++) ins[nin++] = il_get(*inref, i);
        mem_free(&h->mem[MEM_LINKS], *inref);
        *inref = NULL;
    }
    for (uint32_t i = 0; i < nin; i++) {
        rec_remove(links_at(h, ins[i], l), x);
        reselect_links(h, ins[i], l, outs, nout);
    }
    for (uint32_t i = 0; i < nout; i++)
        if (!has_inlink(h, outs[i], l, HNSW_NONE)) adopt_orphan(h, outs[i], l, ins, nin);
}

/* Detaches x from the graph at every level (x keeps its slot and level).
 * Needs h->ids sized by unlink_ids_needed and the scratch prepared. */
static void unlink_node(hnsw_index *h, uint32_t x) {
    h->changes++;
    int level = node_level(h, x);
    h->level_count[level]--;
    if (h->entry == x) replace_entry(h, x);
    for (int l = level; l >= 0; l--) unlink_level(h, x, l);
}

/* Moves the node in slot from to the free slot to, renaming it in its
 * neighbours' link records and in-lists, the label hash (or locator) and
 * the entry. */
static void move_node(hnsw_index *h, uint32_t from, uint32_t to) {
    h->changes++;
    if (h->has_exact) memcpy(vec_at(h, to), vec_at(h, from), vec_bytes(h));
    if (h->p.quant) memcpy(col_at(&h->codes, to), col_at(&h->codes, from), code_bytes(h));
    memcpy(col_at(&h->links0, to), col_at(&h->links0, from), h->links0.stride);
    *meta_at(h, to) = *meta_at(h, from);
    for (int l = 0; l <= node_level(h, to); l++) {
        lrec rec = links_at(h, to, l);
        for (uint32_t i = 1; i <= lr_n(rec); i++)
            if (!rec_replace(links_at(h, lr_id(rec, i), l), from, to))
                idlist_replace(*inlist_ref(h, lr_id(rec, i), l), from, to);
        const idlist *in = *inlist_ref(h, to, l);
        for (uint32_t i = 0; in && i < in->n; i++) rec_replace(links_at(h, il_get(in, i), l), from, to);
    }
    label_store(h, meta_at(h, to)->label, to);
    if (h->entry == from) h->entry = to;
}

/* -------------------------------------------------------- reservations */

/* Everything a write needs before it changes anything: work arrays, the
 * index's scratch for count slots, the id buffer. */
static int reserve_work(hnsw_index *h, size_t count, size_t ids_need) {
    size_t *mo = &h->mem[MEM_OTHER];
    if (!h->eps) {
        h->eps = mem_alloc(mo, (h->efc + 1) * sizeof(cand));
        if (!h->eps) return -1;
    }
    if (!h->work) {
        h->work = mem_alloc(mo, (2 * (size_t)h->m0 + 1) * sizeof(cand));
        if (!h->work) return -1;
    }
    if (!h->sel) {
        h->sel = mem_alloc(mo, (size_t)h->m0 * sizeof(uint32_t));
        if (!h->sel) return -1;
    }
    if (!h->old) {
        h->old = mem_alloc(mo, (size_t)h->m0 * sizeof(uint32_t));
        if (!h->old) return -1;
    }
    if (!h->vbuf) {
        h->vbuf = mem_alloc(mo, vec_bytes(h));
        if (!h->vbuf) return -1;
    }
    if (h->p.quant && !h->cbuf) {
        h->cbuf = mem_alloc(mo, code_bytes(h));
        if (!h->cbuf) return -1;
    }
    if (ids_need > h->ids_cap &&
        scratch_grow(mo, (void **)&h->ids, &h->ids_cap, ids_need, sizeof(uint32_t), 0) != 0)
        return -1;
    return scratch_prepare(&h->scratch, count, h->efc, h->m0, h->p.dim);
}

/* Frees every buffer an empty index does not need, so that its memory is
 * back to what hnsw_create left. */
static void release_storage(hnsw_index *h) {
    size_t *mo = &h->mem[MEM_OTHER];
    col_trim(&h->vecs, h->mem, 0);
    col_trim(&h->codes, h->mem, 0);
    col_trim(&h->links0, h->mem, 0);
    col_trim(&h->meta, h->mem, 0);
    mem_free(mo, h->lm);
    h->lm = NULL;
    h->lm_cap = 0;
    mem_free(mo, h->eps);
    mem_free(mo, h->work);
    mem_free(mo, h->sel);
    mem_free(mo, h->old);
    mem_free(mo, h->vbuf);
    mem_free(mo, h->cbuf);
    h->cbuf = NULL;
    mem_free(mo, h->ids);
    h->eps = h->work = NULL;
    h->sel = h->old = h->ids = NULL;
    h->vbuf = NULL;
    h->ids_cap = 0;
    scratch_release(&h->scratch);
}

/* Copies vec into h->vbuf, normalized for COSINE, and its code into
 * h->cbuf (quantized index). */
static void prepare_vector(hnsw_index *h, const float *vec) {
    memcpy(h->vbuf, vec, vec_bytes(h));
    if (h->p.metric == HNSW_METRIC_COSINE) vec_normalize(h->vbuf, h->p.dim);
    if (h->p.quant) encode_vector(h, h->vbuf, h->cbuf);
}

/* Stores the prepared vector (h->vbuf, h->cbuf) in slot. */
static void store_prepared(hnsw_index *h, uint32_t slot) {
    if (h->has_exact) memcpy(vec_at(h, slot), h->vbuf, vec_bytes(h));
    if (h->p.quant) memcpy(col_at(&h->codes, slot), h->cbuf, code_bytes(h));
}

/* 1 when the prepared vector equals what slot stores. */
static int prepared_equals(const hnsw_index *h, uint32_t slot) {
    if (h->has_exact) return memcmp(h->vbuf, vec_at(h, slot), vec_bytes(h)) == 0;
    return memcmp(h->cbuf, col_at(&h->codes, slot), code_bytes(h)) == 0;
}

static upper_block *upper_alloc(hnsw_index *h, int level) {
    if (level == 0) return NULL;
    size_t bytes = sizeof(upper_block) + (size_t)(level + 1) * sizeof(idlist *) +
                   (size_t)level * (h->p.M + 1) * sizeof(uint32_t);
    upper_block *u = mem_calloc(&h->mem[MEM_LINKS], bytes);
    if (u) u->level = (uint32_t)level;
    return u;
}

/* Frees x's upper block and in-lists (its links must be gone). */
static void free_node_blocks(hnsw_index *h, uint32_t x) {
    node_meta *m = meta_at(h, x);
    upper_block *u = meta_upper(m);
    if (u) {
        for (uint32_t l = 0; l <= u->level; l++) mem_free(&h->mem[MEM_LINKS], u->in[l]);
        mem_free(&h->mem[MEM_LINKS], u);
    } else {
        mem_free(&h->mem[MEM_LINKS], m->side.in0);
    }
    *m = meta_new(m->label, NULL);
}

/* ------------------------------------------------------------ lifetime */

static int params_valid(const hnsw_params *p) {
    return p && p->dim >= 1 && p->dim <= HNSW_MAX_DIM && p->M >= 2 && p->M <= HNSW_MAX_M &&
           p->ef_construction >= 1 && p->ef_construction <= (1u << 20) &&
           (p->metric == HNSW_METRIC_L2 || p->metric == HNSW_METRIC_IP || p->metric == HNSW_METRIC_COSINE) &&
           (p->quant == HNSW_QUANT_NONE || p->quant == HNSW_QUANT_Q8 || p->quant == HNSW_QUANT_BIN) &&
           (!p->no_exact || p->quant != HNSW_QUANT_NONE) && p->rescore <= 100 &&
           !(p->quant == HNSW_QUANT_BIN && p->no_exact && p->metric == HNSW_METRIC_L2);
}

int hnsw_create(const hnsw_params *params, hnsw_index **out) {
    *out = NULL;
    if (!params_valid(params)) return HNSW_ERR_ARG;
    size_t other = 0;
    hnsw_index *h = mem_calloc(&other, sizeof(*h));
    if (!h) return HNSW_ERR_NOMEM;
    h->mem[MEM_OTHER] = other;
    h->p = *params;
    h->m0 = 2 * params->M;
    h->efc = params->ef_construction < params->M ? params->M : params->ef_construction;
    h->level_mult = 1.0 / log((double)params->M);
    h->rng = params->seed;
    h->entry = HNSW_NONE;
    h->max_level = -1;
    /* L2 of identical vectors is exactly 0; 1 - dot of identical unit
     * vectors is rounding noise around 0; IP has no "same point" test. */
    h->same_point = params->metric == HNSW_METRIC_L2       ? 0.0f
                    : params->metric == HNSW_METRIC_COSINE ? 1e-6f
                                                           : -INFINITY;
    if (!h->p.quant) h->p.no_exact = 0;
    if (!h->p.rescore) h->p.rescore = 1;
    h->has_exact = !h->p.no_exact;
    h->bin_words = quant_bin_words(params->dim);
    h->walk_kind = params->quant == HNSW_QUANT_Q8 ? KIND_Q8 : params->quant == HNSW_QUANT_BIN ? KIND_BINQ : KIND_F32;
    h->build_kind = h->has_exact ? KIND_F32 : h->walk_kind == KIND_BINQ ? KIND_BIN : h->walk_kind;
    if (h->p.quant) quant_init();
    col_init(&h->codes, h->p.quant ? code_bytes(h) : 8, 0, MEM_CODES); /* stays empty without quant */
    col_init(&h->vecs, vec_bytes(h), 0, MEM_VECTORS);
    h->w0 = 3;
    col_init(&h->links0, 2 + 3 * (size_t)h->m0, 1, MEM_LINKS);
    col_init(&h->meta, sizeof(node_meta), 0, MEM_OTHER);
    *out = h;
    return HNSW_OK;
}

void hnsw_free(hnsw_index *h) {
    if (!h) return;
    for (uint32_t s = 0; s < h->count; s++) free_node_blocks(h, s);
    release_storage(h);
    zfree(h);
}

const hnsw_params *hnsw_get_params(const hnsw_index *h) { return &h->p; }

int hnsw_set_locator(hnsw_index *h, const hnsw_locator *loc) {
    if (!loc || !loc->get || !loc->set) return HNSW_ERR_ARG;
    if (h->count) return HNSW_ERR_STATE;
    mem_free(&h->mem[MEM_OTHER], h->lm);
    h->lm = NULL;
    h->lm_cap = 0;
    h->loc = *loc;
    return HNSW_OK;
}

const char *hnsw_strerror(int err) {
    switch (err) {
    case HNSW_OK: return "ok";
    case HNSW_ERR_NOMEM: return "out of memory";
    case HNSW_ERR_ARG: return "invalid argument";
    case HNSW_ERR_EXISTS: return "label already present";
    case HNSW_ERR_NOTFOUND: return "label not found";
    case HNSW_ERR_FULL: return "index full";
    case HNSW_ERR_CORRUPT: return "corrupt graph";
    case HNSW_ERR_STATE: return "operation not allowed in this state";
    default: return "unknown error";
    }
}

/* -------------------------------------------------------------- writes */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    return mix64(z);
}

static int draw_level(const hnsw_index *h, uint64_t *state) {
    double u = (double)((splitmix64(state) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double l = -log(u) * h->level_mult;
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)l;
}

int hnsw_random_level(hnsw_index *h) { return draw_level(h, &h->rng); }
uint64_t hnsw_rng_state(const hnsw_index *h) { return h->rng; }
void hnsw_set_rng_state(hnsw_index *h, uint64_t state) { h->rng = state; }

/* Rewrites the packed layer-0 column with uint32 words (w0 4): the index
 * is about to hold more slots than 24 bits name. O(count), once in the
 * index's life; the old column is freed after the copy. Returns 0 or -1
 * (nothing changed). */
static int widen_links0(hnsw_index *h) {
    column nc;
    col_init(&nc, ((size_t)h->m0 + 1) * sizeof(uint32_t), 0, MEM_LINKS);
    if (col_reserve(&nc, h->mem, h->links0.cap)) {
        col_trim(&nc, h->mem, 0);
        return -1;
    }
    for (uint32_t s = 0; s < h->count; s++) {
        lrec from = links_at(h, s, 0), to = {col_at(&nc, s), 4};
        uint32_t n = lr_n(from);
        for (uint32_t i = 1; i <= n; i++) lr_set_id(to, i, lr_id(from, i));
        lr_set_n(to, n);
    }
    col_trim(&h->links0, h->mem, 0);
    h->links0 = nc;
    h->w0 = 4;
    return 0;
}

/* Makes room for n nodes in every column. Returns 0 or -1. */
static int reserve_storage(hnsw_index *h, size_t n) {
    if (h->w0 == 3 && n > narrow_slots && widen_links0(h)) return -1;
    return (h->has_exact && col_reserve(&h->vecs, h->mem, n)) ||
           (h->p.quant && col_reserve(&h->codes, h->mem, n)) || col_reserve(&h->links0, h->mem, n) ||
           col_reserve(&h->meta, h->mem, n);
}

/* Checks and reserves everything an insert of one node at level needs. */
static int insert_prepare(hnsw_index *h, uint64_t label, const float *vec, int level, upper_block **upper) {
    if (h->importing) return HNSW_ERR_STATE;
    if (level < 0 || level > HNSW_MAX_LEVEL || !vector_finite(vec, h->p.dim)) return HNSW_ERR_ARG;
    if (label_find(h, label) != HNSW_NONE) return HNSW_ERR_EXISTS;
    if (h->count >= UINT32_MAX - 1) return HNSW_ERR_FULL;
    size_t n = (size_t)h->count + 1;
    if (label_reserve(h, n) || reserve_storage(h, n) || reserve_work(h, n, 0)) return HNSW_ERR_NOMEM;
    *upper = upper_alloc(h, level);
    if (level && !*upper) return HNSW_ERR_NOMEM;
    return HNSW_OK;
}

int hnsw_insert_level(hnsw_index *h, uint64_t label, const float *vec, int level) {
    upper_block *upper = NULL;
    int err = insert_prepare(h, label, vec, level, &upper);
    if (err != HNSW_OK) {
        if (h->count == 0 && !h->importing) release_storage(h);
        return err;
    }
    uint32_t slot = h->count++;
    prepare_vector(h, vec);
    store_prepared(h, slot);
    lr_set_n(links_at(h, slot, 0), 0);
    *meta_at(h, slot) = meta_new(label, upper);
    label_store(h, label, slot);
    h->level_count[level]++;
    link_node(h, slot, level);
    return level;
}

int hnsw_insert(hnsw_index *h, uint64_t label, const float *vec) {
    uint64_t state = h->rng;
    int level = draw_level(h, &state);
    int ret = hnsw_insert_level(h, label, vec, level);
    if (ret >= 0) h->rng = state;
    return ret;
}

int hnsw_update(hnsw_index *h, uint64_t label, const float *vec) {
    if (h->importing) return HNSW_ERR_STATE;
    if (!vector_finite(vec, h->p.dim)) return HNSW_ERR_ARG;
    uint32_t x = label_find(h, label);
    if (x == HNSW_NONE) return HNSW_ERR_NOTFOUND;
    if (reserve_work(h, h->count, unlink_ids_needed(h, x)) != 0) return HNSW_ERR_NOMEM;
    prepare_vector(h, vec);
    if (prepared_equals(h, x)) return HNSW_OK;
    int level = node_level(h, x);
    unlink_node(h, x);
    store_prepared(h, x);
    h->level_count[level]++;
    link_node(h, x, level);
    return HNSW_OK;
}

int hnsw_delete(hnsw_index *h, uint64_t label) {
    if (h->importing) return HNSW_ERR_STATE;
    uint32_t x = label_find(h, label);
    if (x == HNSW_NONE) return HNSW_ERR_NOTFOUND;
    if (reserve_work(h, h->count, unlink_ids_needed(h, x)) != 0) return HNSW_ERR_NOMEM;
    unlink_node(h, x);
    free_node_blocks(h, x);
    label_remove(h, label);
    uint32_t last = --h->count;
    if (x != last) move_node(h, last, x);
    if (h->count == 0) {
        release_storage(h);
        return HNSW_OK;
    }
    col_trim(&h->vecs, h->mem, h->count);
    col_trim(&h->codes, h->mem, h->count);
    col_trim(&h->links0, h->mem, h->count);
    col_trim(&h->meta, h->mem, h->count);
    if (h->lm_cap > 64 && (size_t)h->count * 8 < h->lm_cap) label_rehash(h, h->lm_cap / 2);
    return HNSW_OK;
}

/* --------------------------------------------------------------- reads */

uint32_t hnsw_count(const hnsw_index *h) { return h->importing ? 0 : h->count; }

int hnsw_contains(const hnsw_index *h, uint64_t label) {
    return !h->importing && label_find(h, label) != HNSW_NONE;
}

const float *hnsw_get_vector(const hnsw_index *h, uint64_t label) {
    uint32_t s = h->importing || !h->has_exact ? HNSW_NONE : label_find(h, label);
    return s == HNSW_NONE ? NULL : vec_at(h, s);
}

int hnsw_copy_vector_at(const hnsw_index *h, uint32_t slot, float *out) {
    if (h->importing || slot >= h->count) return 0;
    if (h->has_exact) {
        memcpy(out, vec_at(h, slot), vec_bytes(h));
    } else if (h->p.quant == HNSW_QUANT_Q8) {
        quant_q8_decode(col_at(&h->codes, slot), h->p.dim, out);
    } else {
        const uint64_t *c = col_at(&h->codes, slot);
        float one = (float)(1.0 / sqrt((double)h->p.dim));
        for (uint32_t i = 0; i < h->p.dim; i++) out[i] = (c[i >> 6] >> (i & 63)) & 1 ? one : -one;
    }
    return 1;
}

int hnsw_copy_vector(const hnsw_index *h, uint64_t label, float *out) {
    return h->importing ? 0 : hnsw_copy_vector_at(h, label_find(h, label), out);
}

size_t hnsw_code_size(const hnsw_index *h) { return h->p.quant ? code_bytes(h) : 0; }

int hnsw_get_level(const hnsw_index *h, uint64_t label) {
    uint32_t s = h->importing ? HNSW_NONE : label_find(h, label);
    return s == HNSW_NONE ? HNSW_ERR_NOTFOUND : node_level(h, s);
}

int hnsw_count_matching_links(const hnsw_index *h, uint64_t label, hnsw_filter_fn fn, void *ctx) {
    uint32_t s = h->importing ? HNSW_NONE : label_find(h, label);
    if (s == HNSW_NONE) return HNSW_ERR_NOTFOUND;
    lrec rec = links_at(h, s, 0);
    int n = 0;
    for (uint32_t i = 1; i <= lr_n(rec); i++) n += fn(meta_at(h, lr_id(rec, i))->label, ctx);
    return n;
}

uint64_t hnsw_label_at(const hnsw_index *h, uint32_t slot) {
    return slot < h->count ? meta_at(h, slot)->label : 0;
}

const float *hnsw_vector_at(const hnsw_index *h, uint32_t slot) {
    return slot < h->count && h->has_exact ? vec_at(h, slot) : NULL;
}

void hnsw_memory_usage(const hnsw_index *h, hnsw_memory *out) {
    out->vectors = h->mem[MEM_VECTORS];
    out->codes = h->mem[MEM_CODES];
    out->links = h->mem[MEM_LINKS];
    out->other = h->mem[MEM_OTHER] + h->scratch.mem;
    out->total = out->vectors + out->codes + out->links + out->other;
}

/* ------------------------------------------------------- serialization */

void hnsw_export_info(const hnsw_index *h, hnsw_graph_info *out) {
    out->params = h->p;
    out->count = h->count;
    out->entry = h->entry;
    out->max_level = h->max_level;
    out->rng_state = h->rng;
}

int hnsw_export_node(const hnsw_index *h, uint32_t slot, hnsw_node_view *out) {
    if (slot >= h->count) return HNSW_ERR_ARG;
    memset(out, 0, offsetof(hnsw_node_view, layer0));
    out->label = meta_at(h, slot)->label;
    out->level = (uint32_t)node_level(h, slot);
    out->vector = h->has_exact ? vec_at(h, slot) : NULL;
    out->code = h->p.quant ? col_at(&h->codes, slot) : NULL;
    for (uint32_t l = 0; l <= out->level; l++) {
        lrec rec = links_at(h, slot, (int)l);
        if (rec.w == 4) {
            out->nlinks[l] = lr_n(rec);
            out->links[l] = (const uint32_t *)rec.p + 1;
        } else {
            out->nlinks[l] = rec_read(rec, out->layer0);
            out->links[l] = out->layer0;
        }
    }
    return HNSW_OK;
}

int hnsw_import_begin(const hnsw_graph_info *info, hnsw_index **out) {
    *out = NULL;
    if (!info || info->count >= UINT32_MAX - 1) return HNSW_ERR_ARG;
    int err = hnsw_create(&info->params, out);
    if (err != HNSW_OK) return err;
    hnsw_index *h = *out;
    h->importing = 1;
    h->import_expected = info->count;
    /* imported links may name any slot below count from the first node on */
    if (info->count > narrow_slots && widen_links0(h)) {
        hnsw_free(h);
        *out = NULL;
        return HNSW_ERR_NOMEM;
    }
    h->rng = info->rng_state;
    h->entry = info->entry;
    h->max_level = info->max_level;
    /* Storage grows as nodes arrive, so a corrupt count costs nothing. */
    return reserve_work(h, 0, 0) == 0 ? HNSW_OK : HNSW_ERR_NOMEM;
}

static int u32_cmp(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Checks one imported link list: length, range, no self-link, no
 * duplicate (on a sorted copy in h->old). */
static int import_list_valid(hnsw_index *h, uint32_t self, int l, const uint32_t *ids, uint32_t n) {
    if (n > mmax(h, l) || (n && !ids)) return 0;
    memcpy(h->old, ids, n * sizeof(uint32_t));
    qsort(h->old, n, sizeof(uint32_t), u32_cmp);
    for (uint32_t i = 0; i < n; i++)
        if (h->old[i] >= h->import_expected || h->old[i] == self || (i && h->old[i] == h->old[i - 1]))
            return 0;
    return 1;
}

/* A code as hnsw would have made it: Q8 with a finite scale >= 0, values in
 * [-127, 127] and the squared norm they give; BIN with zero unused bits. */
static int import_code_valid(const hnsw_index *h, const uint8_t *code) {
    if (!code) return 0;
    if (h->p.quant == HNSW_QUANT_BIN) {
        uint32_t used = h->p.dim & 63;
        uint64_t last;
        memcpy(&last, code + (h->bin_words - 1) * 8, 8);
        return used == 0 || (last >> used) == 0;
    }
    float sc, n;
    memcpy(&sc, code, 4);
    memcpy(&n, code + 4, 4);
    if (!isfinite(sc) || sc < 0 || !isfinite(n)) return 0;
    const int8_t *c = (const int8_t *)(code + 8);
    int64_t sq = 0;
    for (uint32_t i = 0; i < h->p.dim; i++) {
        if (c[i] == -128) return 0;
        sq += (int32_t)c[i] * c[i];
    }
    return n == (float)((double)sc * sc * (double)sq);
}

static int import_vector_valid(const hnsw_index *h, const float *v) {
    if (!v || !vector_finite(v, h->p.dim)) return 0;
    if (h->p.metric != HNSW_METRIC_COSINE) return 1;
    double n = vec_norm(v, h->p.dim);
    return n == 0.0 || fabs(n - 1.0) < 1e-3;
}

static int import_fail(hnsw_index *h, int err) {
    h->import_error = err;
    return err;
}

int hnsw_import_node(hnsw_index *h, const hnsw_node_view *nv) {
    if (!h->importing || h->import_error) return HNSW_ERR_STATE;
    h->changes++;
    if (h->count >= h->import_expected) return import_fail(h, HNSW_ERR_CORRUPT);
    if (!nv || nv->level > HNSW_MAX_LEVEL ||
        !(h->has_exact ? import_vector_valid(h, nv->vector) : import_code_valid(h, nv->code)))
        return import_fail(h, HNSW_ERR_CORRUPT);
    uint32_t slot = h->count;
    for (uint32_t l = 0; l <= nv->level; l++)
        if (!import_list_valid(h, slot, (int)l, nv->links[l], nv->nlinks[l]))
            return import_fail(h, HNSW_ERR_CORRUPT);
    size_t n = (size_t)slot + 1;
    if (reserve_storage(h, n)) return import_fail(h, HNSW_ERR_NOMEM);
    upper_block *upper = upper_alloc(h, (int)nv->level);
    if (nv->level && !upper) return import_fail(h, HNSW_ERR_NOMEM);
    h->count++;
    if (h->has_exact) memcpy(vec_at(h, slot), nv->vector, vec_bytes(h));
    if (h->has_exact && h->p.quant) encode_vector(h, nv->vector, col_at(&h->codes, slot));
    else if (h->p.quant) memcpy(col_at(&h->codes, slot), nv->code, code_bytes(h));
    *meta_at(h, slot) = meta_new(nv->label, upper);
    for (uint32_t l = 0; l <= nv->level; l++) {
        rec_write(links_at(h, slot, (int)l), nv->links[l], nv->nlinks[l]);
    }
    h->level_count[nv->level]++;
    return HNSW_OK;
}

/* Import checks that need every node: labels unique, link targets exist at
 * the level, the entry point. */
static int import_check_graph(hnsw_index *h) {
    for (uint32_t s = 0; s < h->count; s++) {
        uint64_t label = meta_at(h, s)->label;
        if (h->loc.get) { /* an earlier slot holding the label is a duplicate */
            uint32_t prev = h->loc.get(label, h->loc.ctx);
            if (prev < s && meta_at(h, prev)->label == label) return HNSW_ERR_CORRUPT;
            h->loc.set(label, s, h->loc.ctx);
        } else {
            size_t b = label_bucket(h, label);
            if (h->lm[b] != HNSW_NONE) return HNSW_ERR_CORRUPT;
            h->lm[b] = s;
        }
        for (int l = 0; l <= node_level(h, s); l++) {
            lrec rec = links_at(h, s, l);
            for (uint32_t i = 1; i <= lr_n(rec); i++)
                if (node_level(h, lr_id(rec, i)) < l) return HNSW_ERR_CORRUPT;
        }
    }
    int top = top_level(h);
    if (h->count == 0) return h->entry == HNSW_NONE && h->max_level == -1 ? HNSW_OK : HNSW_ERR_CORRUPT;
    if (h->entry >= h->count || h->max_level != top || node_level(h, h->entry) != top)
        return HNSW_ERR_CORRUPT;
    return HNSW_OK;
}

/* Builds the unidirectional in-lists from the imported links (I2). */
static int import_build_inlists(hnsw_index *h) {
    for (uint32_t a = 0; a < h->count; a++) {
        for (int l = 0; l <= node_level(h, a); l++) {
            lrec rec = links_at(h, a, l);
            for (uint32_t i = 1; i <= lr_n(rec); i++) {
                uint32_t b = lr_id(rec, i);
                if (!rec_contains(links_at(h, b, l), a) && idlist_add(h, inlist_ref(h, b, l), a) != 0)
                    return HNSW_ERR_NOMEM;
            }
        }
    }
    return HNSW_OK;
}

int hnsw_import_finish(hnsw_index *h) {
    if (!h->importing || h->import_error) return HNSW_ERR_STATE;
    if (h->count != h->import_expected) return import_fail(h, HNSW_ERR_CORRUPT);
    if (h->count && label_reserve(h, h->count) != 0) return import_fail(h, HNSW_ERR_NOMEM);
    int err = import_check_graph(h);
    if (err == HNSW_OK) err = import_build_inlists(h);
    if (err != HNSW_OK) return import_fail(h, err);
    h->importing = 0;
    if (h->count == 0) release_storage(h);
    return HNSW_OK;
}

/* ---------------------------------------------------------- validation */

/* I1 and I2 for node a at level l. */
static int node_level_valid(const hnsw_index *h, uint32_t a, int l) {
    lrec rec = links_at(h, a, l);
    if (lr_n(rec) > mmax(h, l)) return 0;
    for (uint32_t i = 1; i <= lr_n(rec); i++) {
        uint32_t b = lr_id(rec, i);
        if (b == a || b >= h->count || node_level(h, b) < l) return 0;
        for (uint32_t j = i + 1; j <= lr_n(rec); j++)
            if (lr_id(rec, j) == b) return 0;
        const idlist *inb = *inlist_ref(h, b, l);
        int mutual = rec_contains(links_at(h, b, l), a), listed = 0;
        for (uint32_t j = 0; inb && j < inb->n; j++) listed += il_get(inb, j) == a;
        if (mutual + listed != 1) return 0;
    }
    const idlist *in = *inlist_ref(h, a, l);
    for (uint32_t j = 0; in && j < in->n; j++) {
        uint32_t b = il_get(in, j);
        if (b >= h->count || node_level(h, b) < l || !rec_contains(links_at(h, b, l), a) ||
            rec_contains(rec, b))
            return 0;
    }
    return !in || in->n > 0;
}

int hnsw_validate(const hnsw_index *h) {
    if (h->importing) return HNSW_ERR_STATE;
    uint32_t counts[HNSW_MAX_LEVEL + 1] = {0};
    size_t labels = 0;
    for (size_t i = 0; i < h->lm_cap; i++) {
        if (h->lm[i] == HNSW_NONE) continue;
        if (h->lm[i] >= h->count || label_find(h, meta_at(h, h->lm[i])->label) != h->lm[i])
            return HNSW_ERR_CORRUPT;
        labels++;
    }
    if (h->loc.get) {
        for (uint32_t s = 0; s < h->count; s++)
            if (h->loc.get(meta_at(h, s)->label, h->loc.ctx) != s) return HNSW_ERR_CORRUPT;
        labels = h->count;
    }
    if (labels != h->count) return HNSW_ERR_CORRUPT;
    for (uint32_t s = 0; s < h->count; s++) {
        int level = node_level(h, s);
        if (level > HNSW_MAX_LEVEL) return HNSW_ERR_CORRUPT;
        counts[level]++;
        for (int l = 0; l <= level; l++)
            if (!node_level_valid(h, s, l)) return HNSW_ERR_CORRUPT;
    }
    if (memcmp(counts, h->level_count, sizeof(counts)) != 0) return HNSW_ERR_CORRUPT;
    if (h->count == 0) return h->entry == HNSW_NONE && h->max_level == -1 ? HNSW_OK : HNSW_ERR_CORRUPT;
    if (h->entry >= h->count || node_level(h, h->entry) != h->max_level || h->max_level != top_level(h))
        return HNSW_ERR_CORRUPT;
    return HNSW_OK;
}

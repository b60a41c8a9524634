/* ivfpq.h -- IVF-PQ approximate nearest-neighbour index (pure library).
 *
 * An inverted file over a coarse k-means quantizer whose lists hold
 * product-quantized residuals, searched with asymmetric distance
 * computation (Jegou, Douze, Schmid, "Product quantization for nearest
 * neighbor search", IEEE TPAMI 33(1), 2011, section IV "IVFADC"). ivfpq.c's
 * header describes the layout, the distance decomposition and every
 * deviation from the paper.
 *
 * Lifecycle (what the server does, in order):
 *  1. ivfpq_create: an untrained index. ivfpq_add keeps fp32 vectors in a
 *     pending store and ivfpq_search is exact (brute force) over them.
 *  2. When ivfpq_count reaches ivfpq_min_train(params), the main thread
 *     copies a sample with ivfpq_train_sample and hands it to a background
 *     thread, which runs ivfpq_train on it: a pure function of (params,
 *     sample) that touches no index and reports progress through an
 *     ivfpq_progress that the main thread may read at any time (and use to
 *     cancel). The index stays fully usable meanwhile.
 *  3. Back on the main thread, ivfpq_install_model (cheap) gives the model
 *     to the index; from then on ivfpq_add encodes new vectors directly.
 *     The vectors still pending are encoded by ivfpq_encode_step, a bounded
 *     batch per call (from the server's cron), which returns how many
 *     remain. Searches meanwhile scan the probed lists and, exactly, the
 *     pending store, so no vector is ever missing from the results.
 *  delete, update, get_vector, search, export work in every state.
 *
 * Identity: the caller names each vector with a uint64 label, unique
 * within the index (the server uses entity pointers), and keeps, through
 * an ivfpq_locator, the number of the list each encoded label is in: the
 * index itself keeps no label map for encoded vectors (it would cost more
 * memory than the codes; the server stores the list number in the entity
 * at no cost). Finding an encoded label (delete, update, get) scans that
 * one list.
 *
 * Distances (smaller is closer): L2 is the squared Euclidean distance; IP
 * is 1 - dot(a,b); COSINE is 1 - cos(a,b), computed as IP on vectors the
 * index normalizes on add and on search (a zero vector stays zero, at
 * distance 1 from everything). Once encoded, a vector's distance is the
 * ADC estimate: the exact distance from the query to its reconstruction
 * (coarse centroid + decoded residual), up to float rounding.
 *
 * Errors: functions that can fail return IVFPQ_OK (0) or a negative
 * IVFPQ_ERR_* code; bad input never aborts. Memory comes from zmalloc
 * (counted in used_memory; out of memory is fatal there, as in the rest of
 * the server).
 *
 * Threads: an index is single-writer and ivfpq_search counts as a write
 * (it uses the index's scratch). ivfpq_train touches only its arguments,
 * so it may run on any thread; ivfpq_progress fields are atomics. */
#ifndef PHENIX_IVFPQ_H
#define PHENIX_IVFPQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IVFPQ_OK           0
#define IVFPQ_ERR_ARG      (-1) /* bad parameter, NaN/Inf component, sample too small */
#define IVFPQ_ERR_EXISTS   (-2) /* add of a label already present */
#define IVFPQ_ERR_NOTFOUND (-3) /* update/delete/get of an absent label */
#define IVFPQ_ERR_STATE    (-4) /* not allowed now (model already installed, none yet, ...) */
#define IVFPQ_ERR_CANCELED (-5) /* ivfpq_train saw the cancel flag */
#define IVFPQ_ERR_CORRUPT  (-6) /* import data inconsistent with the index */
#define IVFPQ_ERR_FULL     (-7) /* 2^32 - 2 vectors already */

#define IVFPQ_MAX_DIM   65536
#define IVFPQ_MAX_NLIST 1048576 /* nlist in [1, 2^20] */
#define IVFPQ_KSUB      256     /* centroids per sub-quantizer (pq_bits 8) */

typedef enum ivfpq_metric { IVFPQ_METRIC_L2 = 0, IVFPQ_METRIC_IP = 1, IVFPQ_METRIC_COSINE = 2 } ivfpq_metric;

typedef struct ivfpq_params {
    uint32_t dim;        /* [1, IVFPQ_MAX_DIM] */
    ivfpq_metric metric;
    uint32_t nlist;      /* coarse centroids (inverted lists), [1, IVFPQ_MAX_NLIST] */
    uint32_t pq_m;       /* sub-quantizers; must divide dim; code = pq_m bytes */
    uint32_t pq_bits;    /* bits per sub-code; only 8 is supported */
    uint64_t seed;       /* seeds sampling and k-means initialisation */
} ivfpq_params;

/* The list number of a label that is in no list. */
#define IVFPQ_NO_LIST UINT32_MAX

/* The caller's record of where each label is encoded. The index calls set
 * (label, list) whenever it puts label into a list (add, update,
 * encode_step, import_list) and set(label, IVFPQ_NO_LIST) when it takes
 * it out (delete, update); get(label) must return the list last set for a
 * label (any value for a label never set: the index checks by scanning,
 * so a wrong answer costs a scan, never a wrong result). Callbacks must
 * not call into the index. */
typedef struct ivfpq_locator {
    uint32_t (*get)(uint64_t label, void *ctx);
    void (*set)(uint64_t label, uint32_t list, void *ctx);
    void *ctx;
} ivfpq_locator;

typedef struct ivfpq_index ivfpq_index;
typedef struct ivfpq_model ivfpq_model; /* trained quantizers; immutable */

/* Training phases reported in ivfpq_progress.phase. */
typedef enum ivfpq_phase {
    IVFPQ_PHASE_IDLE = 0,
    IVFPQ_PHASE_COARSE = 1, /* k-means of the coarse quantizer */
    IVFPQ_PHASE_PQ = 2,     /* k-means of each sub-quantizer on residuals */
    IVFPQ_PHASE_DONE = 3
} ivfpq_phase;

/* Shared between the training thread (writes phase/done/total, reads
 * cancel) and any other thread (reads, sets cancel to non-zero). done and
 * total count k-means iterations over all phases (total is fixed when
 * training starts), so done/total is the fraction completed. */
typedef struct ivfpq_progress {
    _Atomic int phase;
    _Atomic uint64_t done;
    _Atomic uint64_t total;
    _Atomic int cancel;
} ivfpq_progress;

/* Search filter: return true to accept label. Called only for candidates
 * that would enter the current top k; must not modify the index. Same
 * shape as hnsw_filter_fn. */
typedef bool (*ivfpq_filter_fn)(uint64_t label, void *ctx);

typedef struct ivfpq_search_params {
    size_t k;               /* results wanted; 0 gives 0 results */
    size_t nprobe;          /* lists scanned; clamped to [1, nlist] */
    ivfpq_filter_fn filter; /* NULL: every vector qualifies */
    void *filter_ctx;
} ivfpq_search_params;

typedef struct ivfpq_search_stats {
    uint64_t lists_probed;
    uint64_t codes_scanned;   /* encoded vectors whose ADC distance was computed */
    uint64_t pending_scanned; /* pending vectors compared exactly */
    uint64_t filtered;        /* candidates the filter rejected */
} ivfpq_search_stats;

/* Bytes held by part (allocator usable sizes, so spare capacity counts). */
typedef struct ivfpq_memory {
    size_t codes;   /* PQ codes in the lists */
    size_t ids;     /* labels in the lists and in the pending store */
    size_t terms;   /* L2 only: one float per encoded vector (see ivfpq.c) */
    size_t lookup;  /* label -> position hash of the pending vectors */
    size_t model;   /* centroids, codebooks and their norms */
    size_t pending; /* fp32 vectors not encoded yet */
    size_t other;   /* list headers, search scratch, the struct */
    size_t total;
} ivfpq_memory;

/* ---- lifetime ---- */

/* Checks params: returns IVFPQ_OK or IVFPQ_ERR_ARG (dim/nlist out of range,
 * pq_m 0 or not dividing dim, pq_bits != 8, metric unknown). */
int ivfpq_check_params(const ivfpq_params *params);
/* Creates an empty, untrained index whose encoded labels are tracked by
 * loc (copied; its ctx must outlive the index). Returns IVFPQ_OK and a new
 * index the caller frees with ivfpq_free in *out, or IVFPQ_ERR_ARG (bad
 * params, loc or one of its callbacks NULL). */
int ivfpq_create(const ivfpq_params *params, const ivfpq_locator *loc, ivfpq_index **out);
/* Frees the index and everything it owns (its model too). NULL is a no-op. */
void ivfpq_free(ivfpq_index *idx);
/* The parameters (borrowed). */
const ivfpq_params *ivfpq_get_params(const ivfpq_index *idx);
/* A static English description of an IVFPQ_* code. */
const char *ivfpq_strerror(int err);
/* The number of vectors at which the server should start training:
 * 39 * max(nlist, 256) (faiss warns below 39 training points per
 * centroid; 256 is the sub-quantizer size). ivfpq_train itself accepts any
 * sample of at least max(nlist, 256) vectors. */
size_t ivfpq_min_train(const ivfpq_params *params);

/* ---- writes (every state) ---- */

/* Adds vec (dim floats, copied) under label: pending while no model is
 * installed, encoded into its list otherwise. Returns IVFPQ_OK,
 * IVFPQ_ERR_EXISTS, IVFPQ_ERR_ARG (non-finite component), IVFPQ_ERR_FULL. */
int ivfpq_add(ivfpq_index *idx, uint64_t label, const float *vec);
/* Replaces the vector of label (a pending vector is encoded if a model is
 * installed). Returns IVFPQ_OK, IVFPQ_ERR_NOTFOUND, IVFPQ_ERR_ARG. */
int ivfpq_update(ivfpq_index *idx, uint64_t label, const float *vec);
/* Removes label. Returns IVFPQ_OK or IVFPQ_ERR_NOTFOUND. O(1) expected
 * while pending, O(size of its list) once encoded. */
int ivfpq_delete(ivfpq_index *idx, uint64_t label);

/* ---- training ---- */

/* Copies up to max_n pending vectors (a uniform random subset drawn with
 * the index's seeded generator; all of them when fewer) into a new array
 * of *n_out * dim floats that the caller frees with zfree. With no pending
 * vector, *out is NULL and *n_out 0. Returns IVFPQ_OK, or IVFPQ_ERR_STATE
 * when a model is already installed. */
int ivfpq_train_sample(ivfpq_index *idx, size_t max_n, float **out, size_t *n_out);
/* Trains a model on sample (n * dim floats, borrowed; normalized here for
 * COSINE): k-means of nlist coarse centroids, then one k-means of 256
 * centroids per sub-space on the residuals (ivfpq.c says how). Pure: any
 * thread. prog may be NULL. Returns IVFPQ_OK and a new model in *out (give
 * it to ivfpq_install_model or free it with ivfpq_model_free),
 * IVFPQ_ERR_ARG (bad params, n < max(nlist, 256), non-finite values) or
 * IVFPQ_ERR_CANCELED. Time O(iterations * n * (nlist + 256) * dim). */
int ivfpq_train(const ivfpq_params *params, const float *sample, size_t n, ivfpq_progress *prog,
                ivfpq_model **out);
void ivfpq_model_free(ivfpq_model *model);
/* Gives model to idx (ownership passes on success; on error the caller
 * still owns it). Returns IVFPQ_OK, IVFPQ_ERR_ARG (model made for other
 * params) or IVFPQ_ERR_STATE (a model is already installed). O(1). */
int ivfpq_install_model(ivfpq_index *idx, ivfpq_model *model);
/* 1 when a model is installed. */
int ivfpq_is_trained(const ivfpq_index *idx);
/* Encodes up to max_vectors pending vectors into the lists, freeing their
 * fp32 copies; when the last one is encoded, it calls ivfpq_shrink. Returns the number still pending, or
 * IVFPQ_ERR_STATE without a model. O(max_vectors * (nlist + 256) * dim). */
long ivfpq_encode_step(ivfpq_index *idx, size_t max_vectors);

/* Releases spare capacity: lists and pending store trimmed to their
 * sizes, the pending lookup rebuilt at load 0.8. O(n). Worth calling after a bulk
 * load (ivfpq_encode_step does it when the last pending vector is
 * encoded); later adds grow the arrays again by doubling. */
void ivfpq_shrink(ivfpq_index *idx);

/* ---- reads ---- */

/* The k nearest of query (dim floats), best first, into labels[k] and
 * dists[k] (dists may be NULL, stats may be NULL). Trained: the nprobe
 * lists whose centroids are nearest to the query, by ADC, plus every
 * pending vector exactly. Untrained: exact over everything. Returns the
 * number found (<= k), or IVFPQ_ERR_ARG (non-finite query). For exact
 * rescoring the caller asks for a larger k and rescores. */
int ivfpq_search(ivfpq_index *idx, const float *query, const ivfpq_search_params *sp, uint64_t *labels,
                 float *dists, ivfpq_search_stats *stats);
/* Vectors in the index, and how many of them are pending. */
size_t ivfpq_count(const ivfpq_index *idx);
size_t ivfpq_pending_count(const ivfpq_index *idx);
/* 1 when label is present. */
int ivfpq_contains(const ivfpq_index *idx, uint64_t label);
/* Writes label's vector into out (dim floats): the stored one while
 * pending (unit length for COSINE), the reconstruction once encoded.
 * Returns IVFPQ_OK or IVFPQ_ERR_NOTFOUND. */
int ivfpq_get_vector(const ivfpq_index *idx, uint64_t label, float *out);
/* Bytes held, by part. */
void ivfpq_memory_usage(const ivfpq_index *idx, ivfpq_memory *out);

/* ---- serialization (snapshots) ----
 *
 * Export: the model with ivfpq_export_model (when trained), each list
 * 0..nlist-1 with ivfpq_export_list, each pending slot 0..pending_count-1
 * with ivfpq_export_pending. Import: ivfpq_create, then ivfpq_import_model
 * + ivfpq_install_model when there was a model, then ivfpq_import_list for
 * each list and ivfpq_import_pending for each pending vector, in any
 * order. Nothing is retrained or re-encoded. Import calls validate
 * (dimensions, list numbers, finite values, unique labels; with 8-bit
 * codes every byte is a valid code) and return IVFPQ_ERR_CORRUPT on bad
 * data; after an error the index holds what was imported before it (free
 * it). Pointers given out by exports are borrowed until the next write. */

/* Copies the model into centroids (nlist * dim floats, row-major) and
 * codebooks (pq_m * 256 * (dim / pq_m) floats: sub-quantizer j, centroid
 * c, component). Returns IVFPQ_OK or IVFPQ_ERR_STATE (no model). */
int ivfpq_export_model(const ivfpq_index *idx, float *centroids, float *codebooks);
/* Builds a model from the arrays above (copied). Returns IVFPQ_OK and a new
 * model in *out, IVFPQ_ERR_ARG (params) or IVFPQ_ERR_CORRUPT (non-finite). */
int ivfpq_import_model(const ivfpq_params *params, const float *centroids, const float *codebooks,
                       ivfpq_model **out);
/* List list_no: *n entries, labels[n] and codes[n * pq_m] (borrowed).
 * Returns IVFPQ_OK or IVFPQ_ERR_ARG (list_no >= nlist or no model). */
int ivfpq_export_list(const ivfpq_index *idx, uint32_t list_no, size_t *n, const uint64_t **labels,
                      const uint8_t **codes);
/* Pending slot i: its label and vector (borrowed). IVFPQ_OK or
 * IVFPQ_ERR_ARG when i >= ivfpq_pending_count. */
int ivfpq_export_pending(const ivfpq_index *idx, size_t i, uint64_t *label, const float **vec);
/* Appends n entries to list list_no. Returns IVFPQ_OK, IVFPQ_ERR_STATE (no
 * model installed), IVFPQ_ERR_CORRUPT (list_no >= nlist, duplicate
 * label), IVFPQ_ERR_FULL. */
int ivfpq_import_list(ivfpq_index *idx, uint32_t list_no, size_t n, const uint64_t *labels,
                      const uint8_t *codes);
/* Adds a pending vector as is, whatever the state (not encoded). Returns
 * IVFPQ_OK, IVFPQ_ERR_CORRUPT (duplicate label, non-finite component, not
 * unit or zero for COSINE), IVFPQ_ERR_FULL. */
int ivfpq_import_pending(ivfpq_index *idx, uint64_t label, const float *vec);

/* ---- checks and tests ---- */

/* Checks the invariants of ivfpq.c's header (O(n)). IVFPQ_OK or
 * IVFPQ_ERR_CORRUPT. */
int ivfpq_validate(const ivfpq_index *idx);
/* The number of the list label is encoded in, or -1 when pending/absent. */
long ivfpq_list_of(const ivfpq_index *idx, uint64_t label);

#endif

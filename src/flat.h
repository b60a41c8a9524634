/* flat.h -- exact (brute-force) vector index: contiguous fp32 vectors and
 * their labels, searched with the SIMD kernels of vec_dist. Used for FLAT
 * collections and as the ground truth of EXACT searches. Pure module. */
#ifndef PHENIX_FLAT_H
#define PHENIX_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "hnsw.h" /* hnsw_metric and the error codes, shared by both indexes */

typedef struct flat_index flat_index;

/* Creates an empty index for dim-dimensional vectors. Returns NULL for a
 * dim outside [1, HNSW_MAX_DIM]. COSINE vectors are normalized on insert. */
flat_index *flat_create(uint32_t dim, hnsw_metric metric);
void flat_free(flat_index *f);
/* Adds label -> vec. HNSW_OK, HNSW_ERR_EXISTS, or HNSW_ERR_ARG (NaN/Inf, or
 * a zero vector in a COSINE index). */
int flat_insert(flat_index *f, uint64_t label, const float *vec);
/* Replaces label's vector. HNSW_OK, HNSW_ERR_NOTFOUND or HNSW_ERR_ARG. */
int flat_update(flat_index *f, uint64_t label, const float *vec);
/* Removes label (the last vector moves into its slot). HNSW_OK or
 * HNSW_ERR_NOTFOUND. */
int flat_delete(flat_index *f, uint64_t label);
/* Stored vector of label (normalized for COSINE), or NULL. Borrowed until
 * the next write. */
const float *flat_get_vector(const flat_index *f, uint64_t label);
uint32_t flat_count(const flat_index *f);
/* The k best of the vectors accepted by filter (NULL: all), best first, into
 * labels/dists. Distances as hnsw's: squared L2, 1 - dot, 1 - cos. Returns
 * the number found. O(n * dim). */
int flat_search(const flat_index *f, const float *query, size_t k, int (*filter)(uint64_t, void *),
                void *ctx, uint64_t *labels, float *dists);
/* Bounded top-k selection (a max-heap of the k best so far), shared with
 * the exact scan of HNSW collections. O(log k) per push. */
typedef struct flat_topk {
    size_t k, n;
    float *d;
    uint64_t *l;
} flat_topk;
void flat_topk_init(flat_topk *t, size_t k);
/* Offers (label, dist); keeps it when it is among the k smallest so far. */
void flat_topk_push(flat_topk *t, uint64_t label, float dist);
/* Writes the kept results best first and returns how many; frees t. */
size_t flat_topk_finish(flat_topk *t, uint64_t *labels, float *dists);

/* Bytes used: vectors, and the rest (labels, label map, struct). */
void flat_memory(const flat_index *f, size_t *vectors, size_t *other);

#endif

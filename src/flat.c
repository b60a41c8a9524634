/* flat.c -- exact vector index (see flat.h).
 *
 * Layout: vectors in one contiguous array (slot i at vecs + i*dim), labels
 * in a parallel array, and a dict label -> slot. Deletion moves the last
 * slot into the hole, so the arrays stay dense and a scan touches only live
 * vectors. Search keeps the k best in a bounded max-heap: O(n*dim + n log k).
 * Invariants: count <= cap; map holds exactly the labels[0..count) with
 * their slots; COSINE vectors are unit length. */
#include "flat.h"

#include <math.h>
#include <string.h>

#include "dict.h"
#include "vec_dist.h"
#include "zmalloc.h"

struct flat_index {
    uint32_t dim;
    hnsw_metric metric;
    uint32_t count, cap;
    float *vecs;
    uint64_t *labels;
    dict *map; /* label (as the key pointer) -> slot (v.s64) */
};

static uint64_t label_hash(const void *k) {
    uint64_t x = (uint64_t)(uintptr_t)k;
    return dict_hash_bytes(&x, sizeof(x));
}
static int label_eq(const void *a, const void *b) { return a == b; }
static const dict_type label_map_type = {label_hash, label_eq, NULL, NULL};

flat_index *flat_create(uint32_t dim, hnsw_metric metric) {
    if (dim < 1 || dim > HNSW_MAX_DIM) return NULL;
    flat_index *f = zcalloc(sizeof(*f));
    f->dim = dim;
    f->metric = metric;
    f->map = dict_create(&label_map_type);
    return f;
}

void flat_free(flat_index *f) {
    if (!f) return;
    zfree(f->vecs);
    zfree(f->labels);
    dict_release(f->map);
    zfree(f);
}

/* Copies vec into dst, normalizing for COSINE; HNSW_ERR_ARG for a
 * non-finite component or a zero cosine vector. */
static int store(flat_index *f, float *dst, const float *vec) {
    for (uint32_t i = 0; i < f->dim; i++)
        if (!isfinite(vec[i])) return HNSW_ERR_ARG;
    memcpy(dst, vec, sizeof(float) * f->dim);
    if (f->metric == HNSW_METRIC_COSINE && vec_normalize(dst, f->dim) == 0) return HNSW_ERR_ARG;
    return HNSW_OK;
}

int flat_insert(flat_index *f, uint64_t label, const float *vec) {
    if (dict_find(f->map, (void *)(uintptr_t)label)) return HNSW_ERR_EXISTS;
    if (f->count == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 64;
        f->vecs = zrealloc(f->vecs, (size_t)cap * f->dim * sizeof(float));
        f->labels = zrealloc(f->labels, (size_t)cap * sizeof(uint64_t));
        f->cap = cap;
    }
    int r = store(f, f->vecs + (size_t)f->count * f->dim, vec);
    if (r != HNSW_OK) return r;
    f->labels[f->count] = label;
    dict_entry *e = dict_add_raw(f->map, (void *)(uintptr_t)label, NULL);
    dict_entry_set_s64(e, f->count);
    f->count++;
    return HNSW_OK;
}

int flat_update(flat_index *f, uint64_t label, const float *vec) {
    dict_entry *e = dict_find(f->map, (void *)(uintptr_t)label);
    if (!e) return HNSW_ERR_NOTFOUND;
    float tmp[f->dim > 4096 ? 1 : f->dim];
    float *buf = f->dim > 4096 ? zmalloc(sizeof(float) * f->dim) : tmp;
    int r = store(f, buf, vec);
    if (r == HNSW_OK) memcpy(f->vecs + (size_t)dict_entry_s64(e) * f->dim, buf, sizeof(float) * f->dim);
    if (buf != tmp) zfree(buf);
    return r;
}

int flat_delete(flat_index *f, uint64_t label) {
    dict_entry *e = dict_unlink(f->map, (void *)(uintptr_t)label);
    if (!e) return HNSW_ERR_NOTFOUND;
    uint32_t slot = (uint32_t)dict_entry_s64(e), last = f->count - 1;
    dict_free_entry(f->map, e);
    if (slot != last) {
        memcpy(f->vecs + (size_t)slot * f->dim, f->vecs + (size_t)last * f->dim, sizeof(float) * f->dim);
        f->labels[slot] = f->labels[last];
        dict_entry_set_s64(dict_find(f->map, (void *)(uintptr_t)f->labels[slot]), slot);
    }
    f->count--;
    if (f->count < f->cap / 4 && f->cap > 64) {
        f->cap /= 2;
        f->vecs = zrealloc(f->vecs, (size_t)f->cap * f->dim * sizeof(float));
        f->labels = zrealloc(f->labels, (size_t)f->cap * sizeof(uint64_t));
    }
    return HNSW_OK;
}

const float *flat_get_vector(const flat_index *f, uint64_t label) {
    dict_entry *e = dict_find(f->map, (void *)(uintptr_t)label);
    return e ? f->vecs + (size_t)dict_entry_s64(e) * f->dim : NULL;
}

uint32_t flat_count(const flat_index *f) { return f->count; }

static float distance(const flat_index *f, const float *q, const float *v) {
    switch (f->metric) {
    case HNSW_METRIC_L2: return vec_l2sq(q, v, f->dim);
    case HNSW_METRIC_IP: return 1.0f - vec_dot(q, v, f->dim);
    case HNSW_METRIC_COSINE: return 1.0f - vec_dot(q, v, f->dim); /* both unit length */
    }
    return 0;
}

/* Max-heap on dists of size n (the worst kept result on top). */
static void sift_down(float *d, uint64_t *l, size_t n, size_t i) {
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < n && d[a] > d[m]) m = a;
        if (b < n && d[b] > d[m]) m = b;
        if (m == i) return;
        float td = d[i]; d[i] = d[m]; d[m] = td;
        uint64_t tl = l[i]; l[i] = l[m]; l[m] = tl;
        i = m;
    }
}

static void sift_up(float *d, uint64_t *l, size_t i) {
    while (i) {
        size_t p = (i - 1) / 2;
        if (d[p] >= d[i]) return;
        float td = d[i]; d[i] = d[p]; d[p] = td;
        uint64_t tl = l[i]; l[i] = l[p]; l[p] = tl;
        i = p;
    }
}

void flat_topk_init(flat_topk *t, size_t k) {
    t->k = k;
    t->n = 0;
    t->d = zmalloc(sizeof(float) * (k ? k : 1));
    t->l = zmalloc(sizeof(uint64_t) * (k ? k : 1));
}

void flat_topk_push(flat_topk *t, uint64_t label, float dist) {
    if (t->n < t->k) {
        t->d[t->n] = dist;
        t->l[t->n] = label;
        sift_up(t->d, t->l, t->n++);
    } else if (t->k && dist < t->d[0]) {
        t->d[0] = dist;
        t->l[0] = label;
        sift_down(t->d, t->l, t->n, 0);
    }
}

size_t flat_topk_finish(flat_topk *t, uint64_t *labels, float *dists) {
    size_t found = t->n, n = t->n;
    while (n) { /* pop the worst first, filling from the back */
        labels[n - 1] = t->l[0];
        if (dists) dists[n - 1] = t->d[0];
        n--;
        t->d[0] = t->d[n];
        t->l[0] = t->l[n];
        sift_down(t->d, t->l, n, 0);
    }
    zfree(t->d);
    zfree(t->l);
    return found;
}

int flat_search(const flat_index *f, const float *query, size_t k, int (*filter)(uint64_t, void *),
                void *ctx, uint64_t *labels, float *dists) {
    if (k == 0 || f->count == 0) return 0;
    float qbuf[f->dim > 4096 ? 1 : f->dim];
    float *q = f->dim > 4096 ? zmalloc(sizeof(float) * f->dim) : qbuf;
    memcpy(q, query, sizeof(float) * f->dim);
    if (f->metric == HNSW_METRIC_COSINE) vec_normalize(q, f->dim);
    flat_topk t;
    flat_topk_init(&t, k);
    for (uint32_t i = 0; i < f->count; i++) {
        if (filter && !filter(f->labels[i], ctx)) continue;
        flat_topk_push(&t, f->labels[i], distance(f, q, f->vecs + (size_t)i * f->dim));
    }
    if (q != qbuf) zfree(q);
    return (int)flat_topk_finish(&t, labels, dists);
}

void flat_memory(const flat_index *f, size_t *vectors, size_t *other) {
    *vectors = zmalloc_size(f->vecs);
    *other = zmalloc_size(f->labels) + dict_mem_usage(f->map) + sizeof(*f);
}

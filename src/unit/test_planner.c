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
    in.matches_low = -1;
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

TEST(broad_filters_post_filter) {
    /* at 50% and 100% an unfiltered walk over-fetching a few results and
     * evaluating the filter on them is the cheapest */
    EXPECT(choose(typical(0.5, 1)) == PLAN_POSTFILTER);
    EXPECT(choose(typical(1.0, 0)) == PLAN_POSTFILTER);
    EXPECT(choose(typical(0.1, 1)) == PLAN_POSTFILTER);
}

TEST(middle_selectivity_with_costly_distances_walks_acorn) {
    /* high dimension (300 ns distances), index probes (20 ns): at 10% the
     * ACORN walk computes few distances, post-filtering 2.5x a walk's, the
     * index scan 10,000 of them */
    planner_input in = typical(0.1, 1);
    in.ns_distance = 300;
    in.ns_check = 20;
    in.ns_scan_check = 250;
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.strategy == PLAN_ACORN);
    EXPECT(p.cost[PLAN_ACORN] < p.cost[PLAN_POSTFILTER] && p.cost[PLAN_POSTFILTER] < p.cost[PLAN_INDEX_SCAN]);
    /* the same at 1%: ~1,000 candidates, the index scan wins */
    in.matches = in.candidates = 1000;
    EXPECT(choose(in) == PLAN_INDEX_SCAN);
}

TEST(strategies_move_with_selectivity) {
    /* from scans to walks as the filter broadens, never back */
    double sels[] = {0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0};
    int walked = 0;
    for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        planner_input in = typical(sels[i], 1);
        in.ns_distance = 300;
        in.ns_check = 20;
        in.ns_scan_check = 250;
        planner_strategy st = choose(in);
        int walk = st == PLAN_ACORN || st == PLAN_POSTFILTER;
        EXPECT(!walked || walk);
        walked |= walk;
    }
    EXPECT(walked);
}

TEST(overfetch) {
    double ef;
    int w = 0;
    EXPECT(planner_overfetch(10, 64, 0.5, 10000, &w, &ef) == 40 && ef == 64 && !w);
    EXPECT(planner_overfetch(10, 64, 0.1, 10000, &w, &ef) == 160 && ef == 160);
    EXPECT(planner_overfetch(10, 64, 1e-6, 10000, &w, &ef) == 10000 && ef == 10000);
    EXPECT(planner_overfetch(10, 64, 0, 500, &w, &ef) == 500);
    EXPECT(planner_overfetch(10, 64, 1.0, 10000, &w, &ef) == 25 && ef == 64);
    /* widened: a larger fetch from a walk of EF max(ef, k / s) */
    w = 1;
    EXPECT(planner_overfetch(10, 64, 0.1, 10000, &w, &ef) == 310 && ef == 100 && w);
    EXPECT(planner_overfetch(10, 64, 0.5, 10000, &w, &ef) == 70 && ef == 64 && w);
    EXPECT(planner_overfetch(10, 200, 0.1, 10000, &w, &ef) == 310 && ef == 200 && w);
    /* k / s = 256 = 4 ef: still widened; sparser: the plain walk */
    EXPECT(planner_overfetch(10, 64, 10.0 / 256, 10000, &w, &ef) == 778 && ef == 256 && w);
    EXPECT(planner_overfetch(10, 64, 0.01, 10000, &w, &ef) == 1510 && ef == 1510 && !w);
    w = 1;
    EXPECT(planner_overfetch(10, 64, 1e-6, 10000, &w, &ef) == 10000 && ef == 10000 && !w);
    w = 1;
    EXPECT(planner_overfetch(10, 64, 0, 500, &w, &ef) == 500 && ef == 500 && !w);
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

TEST(small_collections_walks_are_bounded) {
    /* 300 vectors: no walk is estimated above one distance per vector */
    planner_input in = typical(0.5, 0);
    in.vectors = 300;
    in.matches = 150;
    in.graph_distances = 0; /* unknown: the formula (64 * 10 > 300) */
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_POSTFILTER] <= 300 * in.ns_distance + 40 * in.ns_scan_check);
    EXPECT(p.cost[PLAN_FULL_SCAN] == 300 * in.ns_scan_check + 150 * in.ns_distance);
}

TEST(walk_setup_counts) {
    /* building a match set for an ACORN walk costs: a big enough setup
     * makes another strategy win where ACORN won */
    planner_input in = typical(0.1, 1);
    in.ns_distance = 300;
    in.ns_check = 20;
    in.ns_scan_check = 250;
    EXPECT(choose(in) == PLAN_ACORN);
    in.walk_setup = 1e8;
    EXPECT(choose(in) != PLAN_ACORN);
}

TEST(slot_bitmaps_and_list_caches_cheapen_acorn) {
    /* a refused node costs a bit test instead of a check, and a listed
     * walk reads one list per expansion: both lower ACORN's cost, most at
     * 1%, where the second hops are most of it */
    planner_input in = typical(0.01, 1);
    planner_plan plain, bits, listed;
    planner_choose(&in, &plain);
    in.ns_refuse = 2;
    planner_choose(&in, &bits);
    in.listed = 1;
    planner_choose(&in, &listed);
    EXPECT(plain.cost[PLAN_ACORN] > 0 && bits.cost[PLAN_ACORN] > 0 && listed.cost[PLAN_ACORN] > 0);
    EXPECT(bits.cost[PLAN_ACORN] < 0.5 * plain.cost[PLAN_ACORN]);
    EXPECT(listed.cost[PLAN_ACORN] < 0.5 * bits.cost[PLAN_ACORN]);
    /* ns_refuse 0 is ns_check: the model of a walk without a bitmap */
    in = typical(0.01, 1);
    in.ns_refuse = in.ns_check;
    planner_choose(&in, &bits);
    EXPECT(fabs(bits.cost[PLAN_ACORN] - plain.cost[PLAN_ACORN]) < 1e-9 * plain.cost[PLAN_ACORN]);
    /* at 10% with cached lists the walk beats post-filtering */
    in = typical(0.1, 1);
    EXPECT(choose(in) == PLAN_POSTFILTER);
    in.ns_refuse = 2;
    in.ns_check = 15;
    in.listed = 1;
    EXPECT(choose(in) == PLAN_ACORN);
}

TEST(sparse_matches_never_walk_acorn_when_an_index_can_scan) {
    /* at 0.1% a node has about one match within two hops (32 x 33 x
     * 0.001): an ACORN walk misses results however cheap it is, so the
     * exact index scan is chosen; without an index ACORN stays possible */
    planner_input in = typical(0.001, 1);
    in.ns_refuse = 2;
    in.ns_check = 15;
    in.listed = 1;
    in.ns_scan_check = 1e6; /* even when scanning is dear */
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_ACORN] < 0);
    EXPECT(p.strategy != PLAN_ACORN);
    in.candidates = -1;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_ACORN] > 0);
    /* at 1% (10 within two hops) it is a choice again */
    in = typical(0.01, 1);
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_ACORN] > 0);
}

TEST(post_filter_fallbacks_add_acorn_cost) {
    /* a filter correlated with the vectors: most post-filter walks end
     * short and an ACORN walk finishes them; post-filtering then costs its
     * walk plus that share of ACORN's, and loses (checks by a 10 ns probe:
     * ACORN costs 1.6x the post-filter walk) */
    planner_input in = typical(0.1, 1);
    in.ns_check = 10;
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.strategy == PLAN_POSTFILTER);
    EXPECT(p.post_walk == p.cost[PLAN_POSTFILTER]);
    double walk = p.cost[PLAN_POSTFILTER], acorn = p.cost[PLAN_ACORN];
    in.post_fallback = 0.9;
    planner_choose(&in, &p);
    EXPECT(p.post_walk == walk);
    EXPECT(fabs(p.cost[PLAN_POSTFILTER] - (walk + 0.9 * acorn)) < 1e-6 * walk);
    EXPECT(p.strategy == PLAN_ACORN);
    /* a rare fallback changes nothing */
    in.post_fallback = 0.01;
    EXPECT(choose(in) == PLAN_POSTFILTER);
}

TEST(measured_factors_scale_costs) {
    /* a strategy that ran 10x slower than predicted loses to the next one */
    planner_input in = typical(0.5, 1);
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.strategy == PLAN_POSTFILTER);
    double post = p.cost[PLAN_POSTFILTER];
    in.factor[PLAN_POSTFILTER] = 10;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_POSTFILTER] == post * 10);
    EXPECT(p.strategy != PLAN_POSTFILTER);
}

TEST(uncertain_estimates_do_not_walk) {
    /* a sample that saw 1 match in 256 may mean 0.05% or 2%: no walk */
    planner_input in = typical(0.004, 0);
    in.matches_low = 0;
    planner_plan p;
    planner_choose(&in, &p);
    EXPECT(p.cost[PLAN_ACORN] < 0 && p.cost[PLAN_POSTFILTER] < 0 && p.strategy == PLAN_FULL_SCAN);
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
    RUN(broad_filters_post_filter);
    RUN(middle_selectivity_with_costly_distances_walks_acorn);
    RUN(strategies_move_with_selectivity);
    RUN(overfetch);
    RUN(no_index_means_full_scan_or_walk);
    RUN(too_few_matches_for_a_walk);
    RUN(small_collections_walks_are_bounded);
    RUN(walk_setup_counts);
    RUN(measured_factors_scale_costs);
    RUN(slot_bitmaps_and_list_caches_cheapen_acorn);
    RUN(sparse_matches_never_walk_acorn_when_an_index_can_scan);
    RUN(post_filter_fallbacks_add_acorn_cost);
    RUN(uncertain_estimates_do_not_walk);
    RUN(degenerate_inputs);
    return TEST_REPORT();
}

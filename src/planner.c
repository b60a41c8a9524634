/* planner.c -- cost model for filtered vector search (see planner.h).
 *
 * All costs are estimated nanoseconds. The model of an ACORN-1 walk: an
 * unfiltered walk expands about G / m0 nodes; the filtered walk expands as
 * many matching nodes, and each expansion reads the node's m0 links
 * (m0 filter checks, m0*s matches found directly) and, while fewer than
 * m0/2 = M matches were found (ACORN's truncated neighbour list), the link
 * lists of non-matching neighbours (m0 checks and one cache miss each,
 * m0*s matches each). A check the filter refuses may cost less (ns_refuse:
 * a slot bitmap's bit test); with a list cache (listed) an expansion
 * reads one list of matches instead of the second-hop links. ACORN is no
 * choice when an index can scan and a node has too few matches within two
 * hops for the walk to find them (below 0.76% at M 16). A POSTFILTER walk
 * is an unfiltered walk at a larger EF (its distances grow about linearly
 * with EF) plus one filter evaluation per fetched result, plus the learned
 * fraction of post-filter walks that fall back times the cost of the
 * ACORN walk that finishes them. Ties go to the exact strategies (listed
 * first), since they cannot miss a result. Complexity O(1). */
#include "planner.h"

#include <math.h>

const char *planner_strategy_name(planner_strategy s) {
    switch (s) {
    case PLAN_INDEX_SCAN: return "index_scan";
    case PLAN_FULL_SCAN: return "full_scan";
    case PLAN_ACORN: return "acorn";
    case PLAN_POSTFILTER: return "postfilter";
    default: return "?";
    }
}

static double acorn_cost(const planner_input *in, double g, double s) {
    double m0 = in->m0 >= 2 ? in->m0 : 32, want = m0 / 2; /* the list is truncated at M */
    double direct = m0 * s, lists = 0;
    if (direct < want) {
        lists = (want - direct) / (m0 * s); /* second-hop lists read to fill the list */
        if (lists > m0 * (1 - s)) lists = m0 * (1 - s);
    }
    double found = direct + lists * m0 * s;
    if (found > want) found = want;
    if (found < 1) found = 1;
    /* expansions: the walk needs about as many distances as an unfiltered
     * one, `found` per expansion */
    double expansions = g / found;
    /* a cached list holds only matches: one list read and a check of each */
    if (in->listed) return expansions * (found * (in->ns_distance + in->ns_check) + in->ns_link);
    /* second-hop nodes are often met again from the next expansion, when
     * their verdict is remembered: about half of them cost a check, which
     * for a refused node may be a bit test (ns_refuse) */
    double checks = m0 + 0.5 * lists * m0, refuse = in->ns_refuse > 0 ? in->ns_refuse : in->ns_check;
    return expansions * (found * in->ns_distance + checks * (s * in->ns_check + (1 - s) * refuse) +
                         (1 + lists) * in->ns_link);
}

double planner_overfetch(double k, double ef, double s, double max_k, int *widen, double *ef_out) {
    if (*widen && !(s > 0 && k / s <= 4 * ef)) *widen = 0;
    double want = s > 0 ? ceil((*widen ? 3.0 : 1.5) * k / s) + k : max_k;
    if (want > max_k) want = max_k;
    if (want < k) want = k;
    double walk = *widen ? ceil(k / s) : want;
    if (walk > want) walk = want;
    *ef_out = ef > walk ? ef : walk;
    return want;
}

void planner_choose(const planner_input *in, planner_plan *out) {
    double n = in->vectors > 0 ? in->vectors : 0;
    double m = in->matches < 0 ? 0 : in->matches > n ? n : in->matches;
    double s = n > 0 ? m / n : 0;
    out->selectivity = s;
    double ef = in->ef > in->k ? in->ef : in->k;
    double g = in->graph_distances > 0 ? in->graph_distances : ef * (2 + log2(n > 2 ? n : 2));
    if (g > n) g = n; /* a walk computes at most one distance per vector */
    out->cost[PLAN_INDEX_SCAN] = in->candidates >= 0 ? in->candidates * in->ns_scan_check + m * in->ns_distance : -1;
    out->cost[PLAN_FULL_SCAN] = n * (in->ns_full_check > 0 ? in->ns_full_check : in->ns_scan_check) + m * in->ns_distance;
    /* a walk needs at least K matches to be worth starting, and ef's worth
     * of matches to find a good K (else it ends short and falls back) */
    int walk = n > 0 && (in->matches_low >= 0 ? in->matches_low : m) >= ef;
    double sw = s > 1e-9 ? s : 1e-9;
    /* ACORN's matching subgraph hangs together when a node has matches
     * within two hops: with fewer than m0/4 of them on average
     * (m0 s (1 + m0) < m0 / 4, s < 0.76% at M 16) the walk misses results
     * (1M x 128 at 0.1%: recall@10 0.27 however cheap its cached lists),
     * so where an index scan can answer exactly, ACORN is not a choice */
    double m0 = in->m0 >= 2 ? in->m0 : 32;
    int sparse = in->candidates >= 0 && sw * (1 + m0) < 0.25;
    out->cost[PLAN_ACORN] = walk && !sparse ? in->walk_setup + acorn_cost(in, g, sw) : -1;
    int widen = in->widen;
    double ef2, k2 = planner_overfetch(in->k, ef, sw, n, &widen, &ef2);
    double g2 = g * (ef2 / ef) < n ? g * (ef2 / ef) : n;
    out->cost[PLAN_POSTFILTER] = walk ? g2 * in->ns_distance + k2 * in->ns_scan_check : -1;
    for (int i = 0; i < PLAN_COUNT; i++)
        if (out->cost[i] > 0 && in->factor[i] > 0) out->cost[i] *= in->factor[i];
    /* a post-filter walk that ends short is finished by an ACORN walk */
    out->post_walk = out->cost[PLAN_POSTFILTER];
    if (out->cost[PLAN_POSTFILTER] >= 0 && in->post_fallback > 0)
        out->cost[PLAN_POSTFILTER] += in->post_fallback * (out->cost[PLAN_ACORN] >= 0 ? out->cost[PLAN_ACORN]
                                                                                       : out->cost[PLAN_FULL_SCAN]);
    planner_strategy best = PLAN_FULL_SCAN;
    for (int i = 0; i < PLAN_COUNT; i++)
        if (out->cost[i] >= 0 && out->cost[i] < out->cost[best]) best = (planner_strategy)i;
    out->strategy = best;
}

/* planner.h -- the cost model that picks how PH.SEARCH ... FILTER runs
 * (pure library: no server header; the server measures the inputs).
 *
 * Strategies, for a collection of N vectors and a filter that an
 * estimated M of them satisfy (selectivity s = M / N):
 *
 *   INDEX_SCAN  enumerate the candidates of one field index constraint,
 *               evaluate the filter on each, exact distances on the
 *               matches: cost C*check + M*dist (C candidates);
 *   FULL_SCAN   the same over every vector: N*check + M*dist;
 *   ACORN       a walk of the HNSW graph that only enters matching nodes,
 *               reaching them through non-matching neighbours (two hops),
 *               as ACORN-1 does (Patel et al., "ACORN: Performant and
 *               Predicate-Agnostic Search Over Vector Embeddings and
 *               Structured Data", SIGMOD 2024): about the distances of an
 *               unfiltered walk, plus the filter checks and link-list reads
 *               of the second hop, which grow as s falls;
 *   POSTFILTER  over-fetching: an unfiltered walk for K' = 1.5 K / s + K
 *               results (EF raised to K'), then the filter on those K'
 *               only, keeping the first K that match: G*(EF'/EF)*dist +
 *               K'*check (broad filters: a few evaluations, no walk
 *               overhead).
 *
 * G, the distances of an unfiltered walk at the query's EF, comes from the
 * server's measurements (or ef * (2 + log2 N) before any). The cheapest
 * strategy wins; a plan is only as good as M, so the server still falls
 * back to an exact scan when a walk ends with fewer than K results. */
#ifndef PHENIX_PLANNER_H
#define PHENIX_PLANNER_H

#include <stddef.h>

typedef enum planner_strategy {
    PLAN_INDEX_SCAN = 0,
    PLAN_FULL_SCAN = 1,
    PLAN_ACORN = 2,
    PLAN_POSTFILTER = 3,
    PLAN_COUNT
} planner_strategy;

typedef struct planner_input {
    double vectors;     /* N, vectors in the collection */
    double matches;     /* estimated matching vectors (clamped to [0, N]) */
    double matches_low; /* a lower bound of the matches (a sample's error):
                           walks need EF of them; < 0: use matches */
    double candidates;  /* labels an index constraint enumerates; < 0: no index */
    double k, ef;       /* the query's K and EF (EF >= K) */
    double m0;          /* links per node on HNSW layer 0 (2M) */
    double graph_distances; /* distances of an unfiltered walk at this EF; 0: unknown */
    double ns_distance; /* one distance computation */
    double ns_check;    /* one filter check during a walk */
    double ns_scan_check; /* one candidate of an index scan: entity, filter, vector lookup */
    double ns_full_check; /* one vector of a full scan (0: ns_scan_check) */
    double ns_link;     /* reading one node's link list out of cache */
    double ns_refuse;   /* a walk's check of a node the filter refuses; 0:
                           ns_check (a slot bitmap refuses in a bit test) */
    int listed;         /* ACORN walks read their second hops from a list
                           cache (hnsw_acorn_cache): one list per expansion
                           instead of the non-matching neighbours' links */
    double walk_setup;  /* ns spent before a walk (building a match set) */
    double factor[PLAN_COUNT]; /* per strategy: measured / predicted time of
                                  past runs, scaling its cost (0: 1) */
    int widen;            /* POSTFILTER walks are widened (planner_overfetch) */
    double post_fallback; /* the fraction of past POSTFILTER walks that ended
                             short and were finished by an ACORN walk (a filter
                             correlated with the vectors): that fraction of the
                             ACORN cost is added to POSTFILTER's */
} planner_input;

typedef struct planner_plan {
    planner_strategy strategy;
    double selectivity;     /* matches / vectors */
    double cost[PLAN_COUNT]; /* estimated ns per strategy; < 0: not possible */
    double post_walk;        /* POSTFILTER's cost without its fallbacks' share */
} planner_plan;

/* Fills *out with the cheapest strategy for in and every strategy's cost.
 * Never fails: degenerate inputs (N = 0, no matches) choose a scan. */
void planner_choose(const planner_input *in, planner_plan *out);

/* The over-fetch of a POSTFILTER plan: the K' results to ask the walk for
 * (K' >= k, at most max_k) at selectivity s; *ef_out gets the EF to use.
 * A plain walk returns its own best results, so its EF is max(ef, K'), with
 * K' = 1.5 k / s + k. A widened walk (hnsw_search_params.widen) returns the
 * K' nearest of every node it computed, so its EF only needs to hold k
 * matches on average, max(ef, k / s), and K' = 3 k / s + k costs nothing
 * more: the margin that keeps walks from ending short. *widen says whether
 * the walk may be widened and gets whether it is: only while k / s <= 4 ef.
 * Sparser matches lie too far apart around the query for any post-filter
 * (1M x 128 at 1%: recall@10 0.91 at twice the time of an ACORN walk), and
 * the plain walk's cost keeps the planner away from it. */
double planner_overfetch(double k, double ef, double s, double max_k, int *widen, double *ef_out);

/* "index_scan", "full_scan", "acorn", "postfilter". */
const char *planner_strategy_name(planner_strategy s);

#endif

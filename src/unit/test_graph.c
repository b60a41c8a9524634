/* test_graph.c -- unit tests of the edge store (graph.c): edges added,
 * updated, looked up and deleted against a reference model under random
 * churn (mirrors and degrees checked after every step), hubs with hundreds
 * of thousands of edges in and out, memory returning to its baseline after
 * deletes, walks checked against a plain BFS, and shortest paths checked
 * against reference algorithms written here (BFS distances, Bellman-Ford
 * for weights, hop-bounded Bellman-Ford for MAXDEPTH + WEIGHTED). */
#include <math.h>
#include <stdlib.h>

#include "graph.h"
#include "test.h"
#include "zmalloc.h"

typedef struct owner {
    graph_node *node;
    int id;
} owner;

static void *jz_malloc(size_t n) { return zmalloc(n); }
static void jz_free(void *p) { zfree(p); }

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static const char *type_names[] = {"", "dep", "rec", "cites"};

static int add(graph_store *g, owner *o, int a, int b, int t, double w) {
    int created = -1;
    int rc = graph_edge_set(g, &o[a].node, &o[a], &o[b].node, &o[b], type_names[t], strlen(type_names[t]), w, NULL,
                            &created);
    return rc == GRAPH_OK ? created : rc;
}

static int del(graph_store *g, owner *o, int a, int b, int t) {
    return graph_edge_del(g, o[a].node, o[b].node, type_names[t], strlen(type_names[t]));
}

static int owner_id(const graph_node *n) { return ((owner *)graph_node_owner(n))->id; }

TEST(test_basic_edges) {
    graph_store *g = graph_store_new();
    owner o[3] = {{NULL, 0}, {NULL, 1}, {NULL, 2}};
    EXPECT(add(g, o, 0, 1, 1, 2.5) == 1);
    EXPECT(o[0].node && o[1].node && !o[2].node);
    EXPECT(add(g, o, 0, 1, 1, 3.5) == 0); /* update */
    EXPECT(add(g, o, 0, 1, 0, 1.0) == 1); /* same pair, another type */
    EXPECT(add(g, o, 2, 2, 0, 1.0) == 1); /* self loop */
    graph_edge e;
    EXPECT(graph_edge_get(g, o[0].node, o[1].node, "dep", 3, &e) && e.weight == 3.5);
    EXPECT(!graph_edge_get(g, o[1].node, o[0].node, "dep", 3, &e));
    EXPECT(!graph_edge_get(g, o[0].node, o[1].node, "nope", 4, &e));
    EXPECT(graph_degree(o[0].node, GRAPH_OUT) == 2 && graph_degree(o[1].node, GRAPH_IN) == 2);
    EXPECT(graph_degree(o[2].node, GRAPH_BOTH) == 2);
    graph_stats st;
    graph_store_get_stats(g, &st);
    EXPECT(st.edges == 3 && st.nodes == 3 && st.types == 2);
    EXPECT(graph_edge_set(g, &o[0].node, &o[0], &o[1].node, &o[1], "x", 1, NAN, NULL, NULL) == GRAPH_ERR_WEIGHT);
    char longtype[300];
    memset(longtype, 'a', sizeof(longtype));
    EXPECT(graph_edge_set(g, &o[0].node, &o[0], &o[1].node, &o[1], longtype, 256, 1, NULL, NULL) == GRAPH_ERR_TYPE);
    EXPECT(del(g, o, 0, 1, 1) == 1);
    EXPECT(del(g, o, 0, 1, 1) == 0);
    graph_store_get_stats(g, &st);
    EXPECT(st.types == 1); /* "dep" is forgotten with its last edge */
    EXPECT(del(g, o, 0, 1, 0) == 1);
    EXPECT(!o[0].node && !o[1].node); /* nodes without edges are freed */
    graph_node_remove(o[2].node);
    EXPECT(!o[2].node);
    graph_store_get_stats(g, &st);
    EXPECT(st.edges == 0 && st.nodes == 0 && st.types == 0);
    graph_store_free(g);
}

static long long hook_count[3];
static void count_out(void *who, int delta) { hook_count[((owner *)who)->id] += delta; }

TEST(test_out_hook_follows_cascades) {
    graph_store *g = graph_store_new();
    graph_store_set_out_hook(g, count_out);
    owner o[3] = {{NULL, 0}, {NULL, 1}, {NULL, 2}};
    add(g, o, 0, 1, 0, 1);
    add(g, o, 0, 2, 0, 1);
    add(g, o, 0, 2, 0, 5); /* an update: no change */
    add(g, o, 1, 0, 1, 1);
    add(g, o, 2, 2, 1, 1);
    EXPECT(hook_count[0] == 2 && hook_count[1] == 1 && hook_count[2] == 1);
    graph_node_remove(o[0].node); /* its own out edges and the peers' edges into it */
    EXPECT(hook_count[0] == 0 && hook_count[1] == 0 && hook_count[2] == 1);
    del(g, o, 2, 2, 1);
    EXPECT(hook_count[2] == 0);
    graph_store_free(g);
}

TEST(test_metadata_and_types) {
    graph_store *g = graph_store_new();
    owner o[2] = {{NULL, 0}, {NULL, 1}};
    json_t *m = json_pack("{s:i}", "since", 2020);
    EXPECT(graph_edge_set(g, &o[0].node, &o[0], &o[1].node, &o[1], "knows", 5, 1, m, NULL) == GRAPH_OK);
    graph_edge e;
    ASSERT(graph_edge_get(g, o[0].node, o[1].node, "knows", 5, &e));
    EXPECT(e.meta && json_integer_value(json_object_get(e.meta, "since")) == 2020);
    uint32_t id;
    ASSERT(graph_type_find(g, "knows", 5, &id));
    size_t len = 0;
    EXPECT(!strcmp(graph_type_name(g, id, &len), "knows") && len == 5);
    EXPECT(json_is_string(graph_type_json(g, id)));
    /* the IN side sees the same weight and metadata */
    graph_edge_at(o[1].node, GRAPH_IN, 0, &e);
    EXPECT(e.from == o[0].node && e.to == o[1].node && e.meta && e.weight == 1);
    /* replacing the metadata with none */
    EXPECT(graph_edge_set(g, &o[0].node, &o[0], &o[1].node, &o[1], "knows", 5, 2, NULL, NULL) == GRAPH_OK);
    graph_edge_at(o[1].node, GRAPH_IN, 0, &e);
    EXPECT(!e.meta && e.weight == 2);
    graph_node_remove(o[0].node);
    EXPECT(!graph_type_find(g, "knows", 5, &id));
    graph_store_free(g);
}

/* Reference model: a dense matrix of edges [a][b][t] -> weight (NAN: none). */
#define CN 40
#define CT 4
static double model[CN][CN][CT];

static int check_against_model(graph_store *g, owner *o) {
    uint64_t total = 0;
    for (int a = 0; a < CN; a++) {
        size_t out = 0, in = 0;
        for (int b = 0; b < CN; b++) {
            for (int t = 0; t < CT; t++) {
                graph_edge e;
                int have = !isnan(model[a][b][t]);
                int got = graph_edge_get(g, o[a].node, o[b].node, type_names[t], strlen(type_names[t]), &e);
                if (have != got || (have && e.weight != model[a][b][t])) return 0;
                out += (size_t)have;
                in += (size_t)!isnan(model[b][a][t]);
            }
        }
        total += out;
        if (graph_degree(o[a].node, GRAPH_OUT) != out || graph_degree(o[a].node, GRAPH_IN) != in) return 0;
        if ((out + in == 0) != (o[a].node == NULL)) return 0;
        /* every edge listed IN is the mirror of an out edge of its tail */
        for (size_t i = 0; i < in; i++) {
            graph_edge e;
            graph_edge_at(o[a].node, GRAPH_IN, i, &e);
            if (e.to != o[a].node) return 0;
            graph_edge f;
            size_t tl;
            const char *tn = graph_type_name(g, e.type, &tl);
            if (!graph_edge_get(g, e.from, e.to, tn, tl, &f) || f.weight != e.weight) return 0;
        }
    }
    graph_stats st;
    graph_store_get_stats(g, &st);
    return st.edges == total;
}

TEST(test_churn_against_model) {
    size_t base = zmalloc_used_memory();
    graph_store *g = graph_store_new();
    owner o[CN];
    for (int i = 0; i < CN; i++) o[i] = (owner){NULL, i};
    for (int a = 0; a < CN; a++)
        for (int b = 0; b < CN; b++)
            for (int t = 0; t < CT; t++) model[a][b][t] = NAN;
    int bad = 0;
    for (int step = 0; step < 60000 && !bad; step++) {
        int a = (int)(rnd() % CN), b = (int)(rnd() % CN), t = (int)(rnd() % CT);
        uint64_t op = rnd() % 100;
        if (op < 55) {
            double w = (double)(rnd() % 1000) / 10.0;
            int r = add(g, o, a, b, t, w);
            if (r != (isnan(model[a][b][t]) ? 1 : 0)) bad = 1;
            model[a][b][t] = w;
        } else if (op < 97) {
            int r = del(g, o, a, b, t);
            if (r != !isnan(model[a][b][t])) bad = 1;
            model[a][b][t] = NAN;
        } else {
            graph_node_remove(o[a].node);
            for (int x = 0; x < CN; x++)
                for (int y = 0; y < CT; y++) model[a][x][y] = model[x][a][y] = NAN;
        }
        if (step % 500 == 0 && !check_against_model(g, o)) bad = 1;
    }
    EXPECT(!bad);
    EXPECT(check_against_model(g, o));
    for (int i = 0; i < CN; i++) graph_node_remove(o[i].node);
    graph_stats st;
    graph_store_get_stats(g, &st);
    EXPECT(st.edges == 0 && st.nodes == 0 && st.types == 0);
    graph_store_free(g);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_hub) {
    size_t base = zmalloc_used_memory();
    graph_store *g = graph_store_new();
    enum { N = 200000 };
    owner *o = zmalloc(sizeof(owner) * (N + 1));
    for (int i = 0; i <= N; i++) o[i] = (owner){NULL, i};
    /* the hub (0) points at every node and every node points back */
    for (int i = 1; i <= N; i++) {
        EXPECT(add(g, o, 0, i, 1, i) == 1);
        EXPECT(add(g, o, i, 0, 2, i) == 1);
    }
    EXPECT(graph_degree(o[0].node, GRAPH_OUT) == N && graph_degree(o[0].node, GRAPH_IN) == N);
    graph_stats st;
    graph_store_get_stats(g, &st);
    EXPECT(st.edges == 2 * N);
    /* compact: well under 100 bytes per edge, both ends and the index included */
    EXPECT(st.memory / st.edges < 100);
    int bad = 0;
    for (int i = 1; i <= N; i += 7) {
        graph_edge e;
        if (!graph_edge_get(g, o[0].node, o[i].node, "dep", 3, &e) || e.weight != i) bad++;
        if (graph_edge_get(g, o[0].node, o[i].node, "rec", 3, &e)) bad++;
    }
    EXPECT(bad == 0);
    /* delete every other edge out of the hub, then check the rest */
    for (int i = 2; i <= N; i += 2) EXPECT(del(g, o, 0, i, 1) == 1);
    for (int i = 1; i <= N; i += 1) {
        graph_edge e;
        if (graph_edge_get(g, o[0].node, o[i].node, "dep", 3, &e) != (i % 2)) bad++;
    }
    EXPECT(bad == 0);
    EXPECT(graph_degree(o[0].node, GRAPH_OUT) == N / 2);
    /* deleting the hub cascades to both ends of all its edges */
    graph_node_remove(o[0].node);
    EXPECT(!o[0].node);
    for (int i = 1; i <= N; i++)
        if (o[i].node) bad++;
    EXPECT(bad == 0);
    graph_store_get_stats(g, &st);
    EXPECT(st.edges == 0 && st.nodes == 0);
    graph_store_free(g);
    zfree(o);
    EXPECT(zmalloc_used_memory() == base);
}

TEST(test_memory_baseline_with_metadata) {
    size_t base = zmalloc_used_memory();
    graph_store *g = graph_store_new();
    enum { N = 2000 };
    owner o[N];
    for (int i = 0; i < N; i++) o[i] = (owner){NULL, i};
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N * 5; i++) {
            int a = (int)(rnd() % N), b = (int)(rnd() % N);
            json_t *m = json_pack("{s:i,s:s}", "i", i, "s", "some text");
            graph_edge_set(g, &o[a].node, &o[a], &o[b].node, &o[b], type_names[i % CT], strlen(type_names[i % CT]),
                           1.0, m, NULL);
        }
        for (int i = 0; i < N; i++) {
            while (o[i].node && graph_degree(o[i].node, GRAPH_OUT)) {
                graph_edge e;
                graph_edge_at(o[i].node, GRAPH_OUT, 0, &e);
                size_t tl;
                const char *tn = graph_type_name(g, e.type, &tl);
                graph_edge_del(g, e.from, e.to, tn, tl);
            }
        }
        graph_stats st;
        graph_store_get_stats(g, &st);
        EXPECT(st.edges == 0 && st.nodes == 0);
    }
    graph_store_free(g);
    EXPECT(zmalloc_used_memory() == base);
}

/* ---- traversals against references ---- */

#define RN 60
static double radj[RN][RN][2]; /* weight of edge a->b of type t (NAN: none) */

static void random_graph(graph_store *g, owner *o, int edges, int negative) {
    for (int a = 0; a < RN; a++)
        for (int b = 0; b < RN; b++) radj[a][b][0] = radj[a][b][1] = NAN;
    for (int i = 0; i < RN; i++) o[i] = (owner){NULL, i};
    for (int i = 0; i < edges; i++) {
        int a = (int)(rnd() % RN), b = (int)(rnd() % RN), t = (int)(rnd() % 2);
        double w = (double)(rnd() % 100) / 4.0;
        if (negative && rnd() % 50 == 0) w = -1;
        radj[a][b][t] = w;
        add(g, o, a, b, t, w);
    }
}

/* Whether the reference follows a -> b for direction d and type mask. */
static double ref_edge(int u, int v, graph_dir d, int tmask) {
    double best = NAN;
    for (int t = 0; t < 2; t++) {
        if (!(tmask & (1 << t))) continue;
        double w1 = (d & GRAPH_OUT) ? radj[u][v][t] : NAN, w2 = (d & GRAPH_IN) ? radj[v][u][t] : NAN;
        if (!isnan(w1) && (isnan(best) || w1 < best)) best = w1;
        if (!isnan(w2) && (isnan(best) || w2 < best)) best = w2;
    }
    return best;
}

static void ref_bfs(int src, graph_dir d, int tmask, int *dist) {
    int q[RN], qh = 0, qt = 0;
    for (int i = 0; i < RN; i++) dist[i] = -1;
    dist[src] = 0;
    q[qt++] = src;
    while (qh < qt) {
        int u = q[qh++];
        for (int v = 0; v < RN; v++)
            if (dist[v] < 0 && !isnan(ref_edge(u, v, d, tmask))) {
                dist[v] = dist[u] + 1;
                q[qt++] = v;
            }
    }
}

/* Least cost with at most k hops (k < 0: any), Bellman-Ford. */
static double ref_cost(int src, int dst, graph_dir d, int tmask, int k) {
    double cost[RN], next[RN];
    for (int i = 0; i < RN; i++) cost[i] = INFINITY;
    cost[src] = 0;
    int rounds = k < 0 ? RN : k;
    for (int r = 0; r < rounds; r++) {
        memcpy(next, cost, sizeof(cost));
        for (int u = 0; u < RN; u++) {
            if (isinf(cost[u])) continue;
            for (int v = 0; v < RN; v++) {
                double w = ref_edge(u, v, d, tmask);
                if (!isnan(w) && cost[u] + w < next[v]) next[v] = cost[u] + w;
            }
        }
        memcpy(cost, next, sizeof(cost));
    }
    return cost[dst];
}

static int tmask_types(graph_store *g, int tmask, uint32_t *ids) {
    int n = 0;
    for (int t = 0; t < 2; t++)
        if ((tmask & (1 << t)) && graph_type_find(g, type_names[t], strlen(type_names[t]), &ids[n])) n++;
    return n;
}

/* Checks a path's edges are real, chain from src to dst, and match hops. */
static int path_valid(const graph_path *p, graph_node *src, graph_node *dst, graph_dir d) {
    if (p->nodes[0] != src || p->nodes[p->hops] != dst) return 0;
    for (size_t h = 0; h < p->hops; h++) {
        const graph_edge *e = &p->edges[h];
        int fwd = e->from == p->nodes[h] && e->to == p->nodes[h + 1];
        int back = e->to == p->nodes[h] && e->from == p->nodes[h + 1];
        if (!((fwd && (d & GRAPH_OUT)) || (back && (d & GRAPH_IN)))) return 0;
    }
    return 1;
}

TEST(test_walks_and_paths_against_reference) {
    int bad_walk = 0, bad_path = 0, bad_cost = 0, bad_bounded = 0;
    for (int round = 0; round < 30; round++) {
        graph_store *g = graph_store_new();
        owner o[RN];
        random_graph(g, o, 40 + round * 6, 0);
        for (int q = 0; q < 20; q++) {
            graph_dir d = (graph_dir)(1 + rnd() % 3);
            int tmask = 1 + (int)(rnd() % 3);
            uint32_t ids[2];
            int nt = tmask_types(g, tmask, ids);
            int src = (int)(rnd() % RN), dst = (int)(rnd() % RN);
            int dist[RN];
            ref_bfs(src, d, tmask, dist);
            graph_walk_opts wo = {.dir = d, .types = ids, .ntypes = (size_t)nt, .max_depth = 3};
            if (nt == 0 || !o[src].node) continue;
            /* walk: exactly the nodes within 3 hops, at their BFS depth, in depth order */
            graph_walk *w = graph_walk_new(g, &wo);
            graph_walk_add_source(w, o[src].node);
            int seen = 0, last_depth = 0;
            for (const graph_visit *v; (v = graph_walk_next(w));) {
                int id = owner_id(v->node);
                if (dist[id] != (int)v->depth || (int)v->depth < last_depth) bad_walk++;
                last_depth = (int)v->depth;
                seen++;
            }
            int expect = 0;
            for (int i = 0; i < RN; i++) expect += dist[i] >= 0 && dist[i] <= 3;
            if (seen != expect) bad_walk++;
            graph_walk_free(w);
            /* unweighted path */
            graph_path p;
            wo.max_depth = 0;
            graph_path_find(g, o[src].node, o[dst].node, &wo, 0, -1, &p);
            int want = o[dst].node ? dist[dst] : -1;
            if (src == dst) want = 0;
            if (p.found != (want >= 0) || (p.found && ((int)p.hops != want || !path_valid(&p, o[src].node, o[dst].node, d))))
                bad_path++;
            graph_path_free(&p);
            if (!o[dst].node) continue;
            /* weighted, unbounded and bounded by 2 hops */
            double c = ref_cost(src, dst, d, tmask, -1);
            EXPECT(graph_path_find(g, o[src].node, o[dst].node, &wo, 1, -1, &p) == GRAPH_OK);
            if (p.found != !isinf(c) || (p.found && (fabs(p.cost - c) > 1e-9 || !path_valid(&p, o[src].node, o[dst].node, d))))
                bad_cost++;
            graph_path_free(&p);
            wo.max_depth = 2;
            c = ref_cost(src, dst, d, tmask, 2);
            graph_path_find(g, o[src].node, o[dst].node, &wo, 1, -1, &p);
            if (p.found != !isinf(c) || (p.found && (fabs(p.cost - c) > 1e-9 || p.hops > 2))) bad_bounded++;
            graph_path_free(&p);
            /* MAXCOST just below the best cost finds nothing */
            if (!isinf(c) && c > 0) {
                graph_path_find(g, o[src].node, o[dst].node, &wo, 1, c - 0.01, &p);
                if (p.found) bad_bounded++;
                graph_path_free(&p);
            }
        }
        for (int i = 0; i < RN; i++) graph_node_remove(o[i].node);
        graph_store_free(g);
    }
    EXPECT(bad_walk == 0);
    EXPECT(bad_path == 0);
    EXPECT(bad_cost == 0);
    EXPECT(bad_bounded == 0);
}

static int reject_odd(void *priv, const graph_node *n) { return owner_id(n) % 2 == 0; }
static int heavy_only(void *priv, const graph_edge *e) { return e->weight >= *(double *)priv; }

TEST(test_walk_filters_caps_and_order) {
    graph_store *g = graph_store_new();
    owner o[10];
    for (int i = 0; i < 10; i++) o[i] = (owner){NULL, i};
    /* 0 -> 1..8 (weights 1..8), 2 -> 9 */
    for (int i = 1; i <= 8; i++) add(g, o, 0, i, 0, i);
    add(g, o, 2, 9, 0, 1);
    graph_walk_opts wo = {.dir = GRAPH_OUT, .max_depth = 5, .node_ok = reject_odd};
    graph_walk *w = graph_walk_new(g, &wo);
    graph_walk_add_source(w, o[0].node);
    int ids[10], n = 0;
    for (const graph_visit *v; (v = graph_walk_next(w));) ids[n++] = owner_id(v->node);
    EXPECT(n == 5 && ids[0] == 0 && ids[1] == 2 && ids[2] == 4 && ids[3] == 6 && ids[4] == 8);
    graph_walk_free(w);
    double minw = 5;
    wo = (graph_walk_opts){.dir = GRAPH_OUT, .max_depth = 5, .edge_ok = heavy_only, .priv = &minw};
    w = graph_walk_new(g, &wo);
    graph_walk_add_source(w, o[0].node);
    n = 0;
    while (graph_walk_next(w)) n++;
    EXPECT(n == 5); /* 0 and 5..8 */
    graph_walk_free(w);
    /* the cap */
    wo = (graph_walk_opts){.dir = GRAPH_OUT, .max_depth = 5, .max_nodes = 4};
    w = graph_walk_new(g, &wo);
    graph_walk_add_source(w, o[0].node);
    n = 0;
    while (graph_walk_next(w)) n++;
    EXPECT(n == 4 && graph_walk_truncated(w));
    graph_walk_free(w);
    /* IN from 9 reaches 2 then 0, with parents */
    wo = (graph_walk_opts){.dir = GRAPH_IN, .max_depth = 5};
    w = graph_walk_new(g, &wo);
    graph_walk_add_source(w, o[9].node);
    const graph_visit *v = graph_walk_next(w);
    v = graph_walk_next(w);
    graph_edge via;
    ASSERT(v);
    graph_walk_via(w, v, &via);
    EXPECT(owner_id(v->node) == 2 && v->depth == 1 && via.from == o[2].node && via.to == o[9].node);
    v = graph_walk_next(w);
    EXPECT(v && owner_id(v->node) == 0 && v->depth == 2 && owner_id(graph_walk_visit(w, v->parent)->node) == 2);
    EXPECT(!graph_walk_next(w) && !graph_walk_truncated(w));
    graph_walk_free(w);
    /* several sources: each node keeps the earliest source that reaches it */
    wo = (graph_walk_opts){.dir = GRAPH_OUT, .max_depth = 1};
    w = graph_walk_new(g, &wo);
    graph_walk_add_source(w, o[2].node);
    graph_walk_add_source(w, o[0].node);
    EXPECT(!graph_walk_add_source(w, o[2].node));
    n = 0;
    int seed_of_9 = -1;
    for (const graph_visit *x; (x = graph_walk_next(w));) {
        n++;
        if (owner_id(x->node) == 9) seed_of_9 = (int)x->seed;
    }
    EXPECT(n == 10 && seed_of_9 == 0);
    graph_walk_free(w);
    /* negative weights are refused by Dijkstra only */
    add(g, o, 9, 3, 0, -2);
    graph_path p;
    wo = (graph_walk_opts){.dir = GRAPH_BOTH};
    EXPECT(graph_path_find(g, o[2].node, o[3].node, &wo, 1, -1, &p) == GRAPH_ERR_NEGATIVE);
    graph_path_free(&p);
    EXPECT(graph_path_find(g, o[2].node, o[3].node, &wo, 0, -1, &p) == GRAPH_OK && p.found && p.hops == 2);
    graph_path_free(&p);
    /* the cap stops a path search */
    wo = (graph_walk_opts){.dir = GRAPH_OUT, .max_nodes = 3};
    EXPECT(graph_path_find(g, o[0].node, o[9].node, &wo, 0, -1, &p) == GRAPH_OK);
    EXPECT(!p.found && p.truncated);
    graph_path_free(&p);
    for (int i = 0; i < 10; i++) graph_node_remove(o[i].node);
    graph_store_free(g);
}

int main(void) {
    json_set_alloc_funcs(jz_malloc, jz_free);
    RUN(test_basic_edges);
    RUN(test_out_hook_follows_cascades);
    RUN(test_metadata_and_types);
    RUN(test_churn_against_model);
    RUN(test_hub);
    RUN(test_memory_baseline_with_metadata);
    RUN(test_walks_and_paths_against_reference);
    RUN(test_walk_filters_caps_and_order);
    return TEST_REPORT();
}

/* evict.c -- maxmemory: eviction by sampling, and the LFU access counter.
 *
 * What it does: when used memory (zmalloc_used_memory) is above maxmemory,
 * evict_to_fit deletes keys chosen by maxmemory-policy until it is not, or
 * until no key qualifies, for at most EVICT_BUDGET_US per call. server.c
 * calls it before every command (a command flagged denyoom is refused
 * with -OOM when memory is above the limit and nothing can be evicted;
 * while eviction is only cut short by its time budget, commands run, as
 * in Redis) and from the cron, so a lowered maxmemory is reached even
 * without traffic.
 *
 * Policies (Redis's names and meaning): allkeys-* choose among all keys,
 * volatile-* among keys with a TTL; lru evicts the key idle longest
 * (pobj.lru, the seconds clock of its last access), lfu the key with the
 * lowest access-frequency counter, random any key, ttl the key that
 * expires soonest; noeviction never evicts.
 *
 * Approximation: exact LRU or LFU would need an ordered structure over all
 * keys. Instead each round samples maxmemory-samples keys per database
 * into a pool of the POOL_SIZE best candidates seen so far; the pool
 * survives between rounds and calls, so it converges on keys that are
 * good candidates across many samples (the sampling-with-pool scheme
 * Redis documents in "Key eviction"; the code is ours). The best pool
 * entry that still exists is evicted; an entry whose key has gone (or,
 * under a volatile policy, lost its TTL) is dropped. Entries are not
 * rescored: a pooled key touched since it was sampled may still go first,
 * as in Redis.
 *
 * LFU counter: Morris's approximate counting (R. Morris, "Counting large
 * numbers of events in small registers", CACM 21(10), 1978), as Redis's LFU
 * uses it: pobj.lfu (0..255, new keys start at LFU_INIT) grows by one with
 * probability 1 / ((counter - LFU_INIT) * lfu-log-factor + 1), and loses
 * one for every lfu-decay-time minutes the key was idle, applied at its
 * next access (and when read by OBJECT FREQ). Unlike Redis, which keeps a
 * separate decrement time, the decay is measured from the last access
 * (pobj.lru stays the access clock under every policy); OBJECT IDLETIME
 * still refuses under LFU policies, with Redis's error.
 *
 * Evictions are logged and replicated as DEL (propagate_expired), counted
 * in INFO evicted_keys and announced as the keyspace event "evicted".
 *
 * Complexity: a round costs O(dbnum * maxmemory-samples) dictionary samples
 * plus one key deletion; evict_to_fit runs rounds until memory fits, at
 * most EVICT_BUDGET_US per call (the cron continues the work). */
#include "persist.h"
#include "server.h"

#include <math.h>
#include <string.h>

#define POOL_SIZE       16
#define LFU_INIT        OBJ_LFU_INIT
#define EVICT_BUDGET_US 25000

typedef struct pool_entry {
    double score; /* higher evicts first */
    int dbid;
    ds key;       /* own copy; NULL: empty slot */
} pool_entry;

static pool_entry pool[POOL_SIZE]; /* sorted by score, best last; empty slots first */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64* (Vigna): the coin flips of the LFU counter. */
static double rand_unit(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

const char *evict_policy_name(int policy) {
    switch (policy) {
    case MAXMEMORY_ALLKEYS_LRU: return "allkeys-lru";
    case MAXMEMORY_VOLATILE_LRU: return "volatile-lru";
    case MAXMEMORY_ALLKEYS_LFU: return "allkeys-lfu";
    case MAXMEMORY_VOLATILE_LFU: return "volatile-lfu";
    case MAXMEMORY_ALLKEYS_RANDOM: return "allkeys-random";
    case MAXMEMORY_VOLATILE_RANDOM: return "volatile-random";
    case MAXMEMORY_VOLATILE_TTL: return "volatile-ttl";
    default: return "noeviction";
    }
}

static int policy_is_lfu(int p) { return p == MAXMEMORY_ALLKEYS_LFU || p == MAXMEMORY_VOLATILE_LFU; }
static int policy_is_volatile(int p) {
    return p == MAXMEMORY_VOLATILE_LRU || p == MAXMEMORY_VOLATILE_LFU || p == MAXMEMORY_VOLATILE_RANDOM ||
           p == MAXMEMORY_VOLATILE_TTL;
}

int evict_lfu_enabled(void) { return policy_is_lfu(server.maxmemory_policy); }

/* o's counter decayed by its idle time (lfu-decay-time 0: no decay). */
static unsigned lfu_decayed(const pobj *o) {
    unsigned c = o->lfu;
    if (server.lfu_decay_time <= 0) return c;
    uint32_t now = lru_clock(), idle = now > o->lru ? now - o->lru : 0;
    unsigned long periods = idle / 60u / (unsigned)server.lfu_decay_time;
    return periods >= c ? 0 : c - (unsigned)periods;
}

long long evict_lfu_value(const pobj *o) { return lfu_decayed(o); }

void evict_lfu_touch(pobj *o) {
    unsigned c = lfu_decayed(o);
    if (c < 255) {
        double base = c > LFU_INIT ? (double)(c - LFU_INIT) : 0.0;
        if (rand_unit() < 1.0 / (base * server.lfu_log_factor + 1.0)) c++;
    }
    o->lfu = (uint16_t)c;
}

/* The eviction score of key (value o) in d under policy p: higher goes first. */
static double score_of(db *d, ds key, const pobj *o, int p) {
    switch (p) {
    case MAXMEMORY_ALLKEYS_LFU:
    case MAXMEMORY_VOLATILE_LFU: return 255.0 - lfu_decayed(o);
    case MAXMEMORY_VOLATILE_TTL: return -(double)db_get_expire(d, key, ds_len(key));
    default: {
        uint32_t now = lru_clock();
        return now > o->lru ? (double)(now - o->lru) : 0.0;
    }
    }
}

static void pool_clear_slot(int i) {
    ds_free(pool[i].key);
    pool[i].key = NULL;
}

void evict_pool_reset(void) {
    for (int i = 0; i < POOL_SIZE; i++) pool_clear_slot(i);
}

/* Puts (score, dbid, key) into the pool if it beats the worst entry. */
static void pool_offer(double score, int dbid, ds key) {
    for (int i = 0; i < POOL_SIZE; i++)
        if (pool[i].key && pool[i].dbid == dbid && ds_len(pool[i].key) == ds_len(key) &&
            memcmp(pool[i].key, key, ds_len(key)) == 0)
            return; /* already a candidate */
    if (pool[0].key && score <= pool[0].score) return;
    pool_clear_slot(0); /* the worst (or an empty) slot goes */
    int i = 0;
    while (i + 1 < POOL_SIZE && (!pool[i + 1].key || pool[i + 1].score < score)) {
        pool[i] = pool[i + 1];
        i++;
    }
    pool[i] = (pool_entry){score, dbid, ds_new(key, ds_len(key))};
}

/* Samples each database into the pool. Returns the number of keys seen. */
static int pool_fill(int p) {
    int seen = 0;
    for (int j = 0; j < server.dbnum; j++) {
        db *d = &server.dbs[j];
        dict *from = policy_is_volatile(p) ? d->expires : d->keys;
        dict_entry *sample[64];
        size_t n = dict_sample(from, sample, (size_t)server.maxmemory_samples);
        if (n == 0 && dict_size(from)) { /* a sparse table: the window saw nothing */
            sample[0] = dict_random_entry(from);
            n = 1;
        }
        for (size_t s = 0; s < n; s++) {
            dict_entry *ke = from == d->keys ? sample[s] : dict_find(d->keys, dict_entry_key(sample[s]));
            if (!ke) continue;
            pool_offer(score_of(d, dict_entry_key(ke), dict_entry_val(ke), p), j, dict_entry_key(ke));
            seen++;
        }
    }
    return seen;
}

/* Deletes key from d as an eviction. */
static void evict_key(db *d, const char *key, size_t len) {
    propagate_expired(d->id, key, len);
    db_delete(d, key, len);
    server.stat_evictedkeys++;
    notify_keyspace_event(NOTIFY_EVICTED, "evicted", key, len, d->id);
}

/* One eviction under policy p. Returns 1 when a key went, 0 when none qualifies. */
static int evict_one(int p) {
    if (p == MAXMEMORY_ALLKEYS_RANDOM || p == MAXMEMORY_VOLATILE_RANDOM) {
        for (int j = 0; j < server.dbnum; j++) {
            db *d = &server.dbs[j];
            dict_entry *e = dict_random_entry(p == MAXMEMORY_ALLKEYS_RANDOM ? d->keys : d->expires);
            if (!e) continue;
            ds k = ds_new(dict_entry_key(e), ds_len(dict_entry_key(e)));
            evict_key(d, k, ds_len(k));
            ds_free(k);
            return 1;
        }
        return 0;
    }
    for (int tries = 0; tries < 4; tries++) {
        if (!pool_fill(p) && !pool[POOL_SIZE - 1].key) return 0;
        for (int i = POOL_SIZE - 1; i >= 0 && pool[i].key; i--) {
            db *d = &server.dbs[pool[i].dbid];
            ds k = pool[i].key;
            pool[i].key = NULL;
            memmove(&pool[1], &pool[0], sizeof(pool_entry) * (size_t)i); /* keep empty slots first */
            pool[0].key = NULL;
            dict_entry *ke = dict_find(d->keys, k);
            int fits = ke && (!policy_is_volatile(p) || db_get_expire(d, k, ds_len(k)) >= 0);
            if (fits) {
                evict_key(d, k, ds_len(k));
                ds_free(k);
                return 1;
            }
            ds_free(k);
            i = POOL_SIZE; /* the pool moved: start again from its best entry */
        }
    }
    return 0;
}

int evict_to_fit(void) {
    /* not while loading, nor inside a running command (a busy script's
     * nested event processing): keys must not vanish under it */
    if (!server.maxmemory || server.loading || server.call_depth > 0) return 0;
    if ((long long)zmalloc_used_memory() <= server.maxmemory) return 0;
    int p = server.maxmemory_policy;
    if (p == MAXMEMORY_NOEVICTION) return -1;
    int64_t end = util_monotonic_us() + EVICT_BUDGET_US;
    while ((long long)zmalloc_used_memory() > server.maxmemory) {
        if (!evict_one(p)) return -1;
        if (util_monotonic_us() > end) return (long long)zmalloc_used_memory() > server.maxmemory;
    }
    return 0;
}

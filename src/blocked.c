/* blocked.c -- clients blocked on keys (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP,
 * and any later blocking family that fills in a blocked_ops table).
 *
 * A blocked client has CLIENT_BLOCKED set and a blocking_state: its
 * database, one waiter per key (duplicates dropped), its deadline, and what
 * its command wants (the type module's blocked_ops and argument). It runs
 * no further command until it is served, times out or is closed: the loop
 * in networking.c stops at a blocked client and keeps its unread bytes in
 * its query buffer; once the client is unblocked, blocked_before_sleep()
 * runs them (or the next bytes that arrive do).
 *
 * Structures:
 *  - per database, a dict key -> wait_queue, a FIFO of waiters; a client
 *    blocked on n keys is in n queues;
 *  - the ready list: keys signalled by pushes (blocked_signal_key), each
 *    listed once until served (the queue's ready flag);
 *  - a binary min-heap of the clients that have a deadline, with one loop
 *    timer armed for the earliest deadline;
 *  - the resume list: clients unblocked since the last loop turn, whose
 *    buffered input still has to run.
 *
 * Serving (blocked_handle_ready_keys): networking.c calls it after every
 * top-level command, so waiting clients are served before the next command
 * of a pipeline, as in Redis (and after EXEC as a whole, once MULTI exists).
 * For each ready key, while the key holds a value of the type a waiter
 * wants, the first such waiter in the queue is served (ops->serve pops and
 * replies) and unblocked: the client that blocked first is served first,
 * and a push of n elements serves up to n clients. A serve that pushes
 * elsewhere (BLMOVE) signals that key, which is served in the same call.
 * The same client is never served twice: serving unblocks it.
 *
 * Keys made ready by commands that do not signal (RENAME, COPY, MOVE onto a
 * key clients wait for) are found by blocked_cron(), at most 1/hz s late.
 *
 * Invariants: a queue exists only while it has waiters; a client is in a
 * queue at most once; heap[i]->bstate->heap_idx == i; nblocked counts the
 * clients with CLIENT_BLOCKED; the per-database dicts and the heap are freed
 * when the last blocked client goes, so nothing is left at shutdown.
 *
 * Complexity: blocking O(keys + log B) for B blocked clients; signalling
 * O(1); serving or unblocking a client O(its keys + log B); a timeout
 * O(log B); blocked_cron O(blocked keys).
 *
 * Naming: blocked_* public; static helpers without prefix; heap_* the
 * deadline heap.
 *
 * Sources: the design of Redis's blocking operations as documented for
 * BLPOP (FIFO service per key, serving after each command, the timeout
 * semantics of Redis 7, checked against redis-server 7.0). The code is this
 * project's own. */
#include <math.h>

#include "blocked.h"
#include "persist.h"

typedef struct wait_queue wait_queue;

typedef struct waiter {
    struct waiter *prev, *next;
    client *c;
    wait_queue *q;
} waiter;

struct wait_queue {
    waiter *head, *tail;
    ds key; /* the dict's key (borrowed) */
    int ready;
};

typedef struct blocking_state {
    db *db;
    int nwaiters;
    waiter *waiters;
    int64_t deadline; /* unix ms, 0: none */
    size_t heap_idx;  /* SIZE_MAX: not in the heap */
    const blocked_ops *ops;
    void *arg;
} blocking_state;

typedef struct ready_key {
    int dbid;
    ds key;
} ready_key;

static dict **blocking; /* per database; NULL while nobody blocks */
static size_t nblocked;
static ready_key *ready;
static size_t nready, ready_cap;
int blocked_ready_pending;
static int serving;
static client **heap;
static size_t heap_n, heap_cap;
static long long timer_id;
static int64_t timer_when;
static client **resume, **resuming;
static size_t nresume, resume_cap, nresuming;

/* ---------------- key dicts ---------------- */

static void queue_free(void *q) { zfree(q); }

static const dict_type blocking_dict_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, queue_free};

/* The queue entry of key in bk, or NULL. */
static dict_entry *find_queue(dict *bk, const char *key, size_t len) { return ds_dict_find(bk, key, len); }

/* ---------------- the deadline heap ---------------- */

static int64_t deadline_at(size_t i) { return heap[i]->bstate->deadline; }

static void heap_set(size_t i, client *c) {
    heap[i] = c;
    c->bstate->heap_idx = i;
}

static void heap_up(size_t i) {
    client *c = heap[i];
    int64_t d = c->bstate->deadline;
    while (i > 0 && deadline_at((i - 1) / 2) > d) {
        heap_set(i, heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, c);
}

static void heap_down(size_t i) {
    client *c = heap[i];
    int64_t d = c->bstate->deadline;
    for (;;) {
        size_t m = 2 * i + 1;
        if (m >= heap_n) break;
        if (m + 1 < heap_n && deadline_at(m + 1) < deadline_at(m)) m++;
        if (deadline_at(m) >= d) break;
        heap_set(i, heap[m]);
        i = m;
    }
    heap_set(i, c);
}

static void heap_push(client *c) {
    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 16;
        heap = zrealloc(heap, heap_cap * sizeof(*heap));
    }
    heap[heap_n++] = c;
    heap_up(heap_n - 1);
}

static void heap_remove(size_t i) {
    client *c = heap[i];
    c->bstate->heap_idx = SIZE_MAX;
    client *last = heap[--heap_n];
    if (i == heap_n) return;
    heap_set(i, last);
    heap_down(i);
    heap_up(last->bstate->heap_idx);
}

/* ---------------- blocking and unblocking ---------------- */

static void resume_push(client *c) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    if (nresume == resume_cap) {
        resume_cap = resume_cap ? resume_cap * 2 : 16;
        resume = zrealloc(resume, resume_cap * sizeof(*resume));
    }
    resume[nresume++] = c;
}

/* Frees what only exists while clients are blocked. */
static void release_all(void) {
    for (int i = 0; blocking && i < server.dbnum; i++) dict_release(blocking[i]);
    zfree(blocking);
    blocking = NULL;
    zfree(heap);
    heap = NULL;
    heap_n = heap_cap = 0;
}

/* Takes c out of every queue and the heap, without a reply. */
static void unblock(client *c) {
    blocking_state *bs = c->bstate;
    dict *bk = blocking[bs->db->id];
    for (int i = 0; i < bs->nwaiters; i++) {
        waiter *w = &bs->waiters[i];
        wait_queue *q = w->q;
        if (w->prev) w->prev->next = w->next;
        else q->head = w->next;
        if (w->next) w->next->prev = w->prev;
        else q->tail = w->prev;
        if (!q->head) dict_free_entry(bk, dict_unlink(bk, q->key));
    }
    if (bs->heap_idx != SIZE_MAX) heap_remove(bs->heap_idx);
    if (bs->ops->free) bs->ops->free(bs->arg);
    zfree(bs->waiters);
    zfree(bs);
    c->bstate = NULL;
    c->flags &= ~CLIENT_BLOCKED;
    if (--nblocked == 0) release_all();
}

static int timeout_fire(el_loop *loop, long long id, void *ud) {
    (void)loop;
    (void)id;
    (void)ud;
    int64_t now = util_mstime();
    while (heap_n && deadline_at(0) <= now) {
        client *c = heap[0];
        blocking_state *bs = c->bstate;
        bs->ops->timeout(c, bs->arg);
        unblock(c);
        resume_push(c);
    }
    if (!heap_n) {
        timer_id = 0;
        return -1;
    }
    timer_when = deadline_at(0);
    int64_t delay = timer_when - now;
    return delay > 3600000 ? 3600000 : (int)delay; /* far deadlines: check hourly */
}

static void arm_timer(int64_t deadline) {
    if (timer_id && timer_when <= deadline) return;
    if (timer_id) el_timer_del(server.loop, timer_id);
    int64_t delay = deadline - util_mstime();
    if (delay > 3600000) delay = 3600000;
    timer_id = el_timer_add(server.loop, delay < 1 ? 1 : delay, timeout_fire, NULL);
    timer_when = deadline;
}

int blocked_parse_timeout(client *c, int i, int64_t *deadline_ms) {
    long double secs;
    if (!util_str2ld(c->argv[i].ptr, c->argv[i].len, &secs)) {
        add_reply_error(c, "timeout is not a float or out of range");
        return -1;
    }
    long double ms = ceill(secs * 1000.0L);
    /* beyond the range of a long long counts as negative, as in Redis 7.0
     * whose conversion wraps there */
    if (ms < 0 || !(ms < 9223372036854775808.0L)) {
        add_reply_error(c, "timeout is negative");
        return -1;
    }
    long long t = (long long)ms;
    if (t == 0) {
        *deadline_ms = 0;
        return 0;
    }
    int64_t now = util_mstime();
    *deadline_ms = t > INT64_MAX - now ? 0 : now + t;
    return 0;
}

void blocked_block(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms, const blocked_ops *ops,
                   void *arg) {
    if (!blocking) blocking = zcalloc(sizeof(dict *) * (size_t)server.dbnum);
    dict **bk = &blocking[c->db->id];
    if (!*bk) *bk = dict_create(&blocking_dict_type);
    blocking_state *bs = zcalloc(sizeof(*bs));
    bs->db = c->db;
    bs->waiters = zcalloc(sizeof(waiter) * (size_t)nkeys);
    bs->deadline = deadline_ms;
    bs->heap_idx = SIZE_MAX;
    bs->ops = ops;
    bs->arg = arg;
    for (int i = 0; i < nkeys; i++) {
        dict_entry *e = find_queue(*bk, keys[i].ptr, keys[i].len);
        wait_queue *q;
        if (e) {
            q = dict_entry_val(e);
        } else {
            q = zcalloc(sizeof(*q));
            q->key = ds_new(keys[i].ptr, keys[i].len);
            dict_add(*bk, q->key, q);
        }
        if (q->tail && q->tail->c == c) continue; /* the same key twice */
        waiter *w = &bs->waiters[bs->nwaiters++];
        w->c = c;
        w->q = q;
        w->prev = q->tail;
        if (q->tail) q->tail->next = w;
        else q->head = w;
        q->tail = w;
    }
    c->bstate = bs;
    c->flags |= CLIENT_BLOCKED;
    nblocked++;
    if (deadline_ms) {
        heap_push(c);
        arm_timer(deadline_ms);
    }
}

void blocked_client_closing(client *c) {
    if (c->flags & CLIENT_BLOCKED) unblock(c);
    for (size_t i = 0; i < nresume; i++)
        if (resume[i] == c) resume[i] = NULL;
    for (size_t i = 0; i < nresuming; i++)
        if (resuming[i] == c) resuming[i] = NULL;
}

/* ---------------- serving ---------------- */

void blocked_signal_key(db *d, const char *key, size_t len) {
    if (!nblocked || !blocking[d->id]) return;
    dict_entry *e = find_queue(blocking[d->id], key, len);
    if (!e) return;
    wait_queue *q = dict_entry_val(e);
    if (q->ready) return;
    q->ready = 1;
    if (nready == ready_cap) {
        ready_cap = ready_cap ? ready_cap * 2 : 16;
        ready = zrealloc(ready, ready_cap * sizeof(*ready));
    }
    ready[nready].dbid = d->id;
    ready[nready].key = ds_new(key, len);
    nready++;
    blocked_ready_pending = 1;
}

/* Serves the waiters of one ready key, first come first served, while the
 * key holds a value one of them wants. */
static void serve_key(int dbid, ds key) {
    db *d = &server.dbs[dbid];
    for (;;) {
        if (!nblocked || !blocking[dbid]) return;
        dict_entry *e = dict_find(blocking[dbid], key);
        if (!e) return;
        wait_queue *q = dict_entry_val(e);
        q->ready = 0;
        pobj *o = db_lookup_write(d, key, ds_len(key));
        if (!o) return;
        waiter *w = q->head;
        while (w && w->c->bstate->ops->type != o->type) w = w->next;
        if (!w) return;
        client *c = w->c, *saved = server.current_client;
        blocking_state *bs = c->bstate;
        server.current_client = c;
        int served = bs->ops->serve(c, key, ds_len(key), o, bs->arg);
        server.current_client = saved;
        if (server.call_depth == 0) propagate_flush(); /* the pop it became is one log record */
        if (!served) return;
        if (c->flags & CLIENT_BLOCKED) unblock(c); /* a serve may have closed it */
        resume_push(c);
    }
}

void blocked_handle_ready_keys(void) {
    if (serving) return;
    serving = 1;
    while (nready) {
        ready_key *list = ready;
        size_t n = nready;
        ready = NULL;
        nready = ready_cap = 0;
        for (size_t i = 0; i < n; i++) {
            serve_key(list[i].dbid, list[i].key);
            ds_free(list[i].key);
        }
        zfree(list);
    }
    blocked_ready_pending = 0;
    serving = 0;
}

void blocked_before_sleep(void) {
    if (blocked_ready_pending) blocked_handle_ready_keys();
    while (nresume) {
        resuming = resume;
        nresuming = nresume;
        resume = NULL;
        nresume = resume_cap = 0;
        for (size_t i = 0; i < nresuming; i++)
            if (resuming[i]) client_process_buffered(resuming[i]);
        zfree(resuming);
        resuming = NULL;
        nresuming = 0;
    }
}

void blocked_cron(void) {
    for (int i = 0; nblocked && i < server.dbnum; i++) {
        if (!blocking[i]) continue;
        dict_iter it;
        dict_iter_init(&it, blocking[i]);
        for (dict_entry *e; (e = dict_iter_next(&it));) {
            wait_queue *q = dict_entry_val(e);
            if (q->ready) continue;
            dict_entry *ke = dict_find(server.dbs[i].keys, q->key);
            if (!ke) continue;
            pobj *o = dict_entry_val(ke);
            for (waiter *w = q->head; w; w = w->next) {
                if (w->c->bstate->ops->type == o->type) {
                    blocked_signal_key(&server.dbs[i], q->key, ds_len(q->key));
                    break;
                }
            }
        }
        dict_iter_release(&it);
    }
}

/* ---------------- INFO ---------------- */

size_t blocked_count_clients(void) { return nblocked; }

size_t blocked_count_keys(void) {
    size_t n = 0;
    for (int i = 0; blocking && i < server.dbnum; i++)
        if (blocking[i]) n += dict_size(blocking[i]);
    return n;
}

size_t blocked_count_timeouts(void) { return heap_n; }

/* blocked.h -- clients blocked on keys (BLPOP and the other blocking
 * commands): the API the data-type modules and networking.c use.
 * See blocked.c for the design. */
#ifndef PHENIX_BLOCKED_H
#define PHENIX_BLOCKED_H

#include "server.h"

/* What a family of blocking commands plugs in (t_list.c has one for
 * lists; sorted sets can add theirs). */
typedef struct blocked_ops {
    /* A key is ready for a waiting client when it holds a value of this
     * type (OBJ_LIST ...). */
    int type;
    /* Serves c from the ready key: o is its value (of `type`, not empty).
     * Pops, replies, signals the keys it pushed to. Returns 1 when c got
     * its reply (blocked.c then unblocks it), 0 to keep it waiting. */
    int (*serve)(client *c, const char *key, size_t klen, pobj *o, void *arg);
    /* Replies what the command answers on timeout (a null). */
    void (*timeout)(client *c, void *arg);
    /* Frees arg (may be NULL). */
    void (*free)(void *arg);
} blocked_ops;

/* Parses argv[i] as a timeout in seconds (a float; 0 waits forever) the
 * way Redis 7 does, and stores the absolute deadline in unix ms (0: none).
 * Replies "timeout is not a float or out of range" or "timeout is negative"
 * and returns -1 on error, else 0. */
int blocked_parse_timeout(client *c, int i, int64_t *deadline_ms);

/* Blocks c on keys[0..nkeys) of c->db (duplicates are ignored) until one
 * of them is ready and ops->serve() answers, or deadline_ms passes (0:
 * never) and ops->timeout() answers. Takes ownership of arg. The caller
 * must have replied nothing; c stops processing its input until then. */
void blocked_block(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms, const blocked_ops *ops,
                   void *arg);

/* Tells blocked.c that key of d may now serve waiting clients (a push).
 * O(1); does nothing when nobody waits for the key. */
void blocked_signal_key(db *d, const char *key, size_t len);

/* Non-zero when signalled keys wait to be served. */
extern int blocked_ready_pending;

/* Serves the clients waiting for the keys signalled so far, first blocked
 * first served, until no signalled key can serve anyone. Called after each
 * top-level command (networking.c) and before the loop sleeps. */
void blocked_handle_ready_keys(void);

/* Removes c from every wait queue without a reply (c is being closed). */
void blocked_client_closing(client *c);

/* Once per loop turn: serves ready keys, then runs the input that clients
 * unblocked since the last turn had buffered. */
void blocked_before_sleep(void);

/* Once per cron tick: signals blocked keys that hold a value of the
 * waited-for type although no list command signalled them (RENAME, COPY,
 * MOVE ... onto a key clients wait for). */
void blocked_cron(void);

/* INFO clients figures. */
size_t blocked_count_clients(void);
size_t blocked_count_keys(void);
size_t blocked_count_timeouts(void);

#endif

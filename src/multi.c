/* multi.c -- transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * MULTI makes a client queue its commands (copies of their arguments)
 * instead of running them; EXEC runs the queue as one uninterrupted unit
 * (the event loop is single-threaded, so nothing interleaves) and replies
 * with an array of the replies, as Redis does.
 *
 * Errors while queueing (unknown command, wrong arity, OOM, a command not
 * allowed in a transaction) flag the transaction, and EXEC then refuses it
 * with EXECABORT. Errors while running (WRONGTYPE...) are just replies in
 * the array; the other commands still run.
 *
 * WATCH is optimistic locking: each database keeps a dict of watched keys
 * (key -> the clients watching it). A key counts as touched when the
 * keyspace adds, replaces, deletes (also by expiry) or re-times it (db.c
 * calls multi_touch_key), when a write command that changed data names it
 * in its arguments (call_command calls multi_after_write: this covers
 * in-place changes such as INCR, APPEND or LPUSH), or when its database is
 * flushed. A touched watch makes EXEC reply a null array. Matching every
 * argument of a write (not only its key positions) can only over-report,
 * never miss a change.
 *
 * Blocking commands inside EXEC do not block (CLIENT_DENY_BLOCKING): they
 * answer as on timeout, as in Redis.
 *
 * Costs: queueing copies the arguments, O(size); a touch is one dict
 * lookup when the database has watched keys, nothing otherwise. */
#include "server.h"

typedef struct queued_cmd {
    command *cmd;
    int argc;
    ds *argv;
} queued_cmd;

struct multi_state {
    queued_cmd *cmds;
    int count, cap;
};

struct watched_key {
    db *db;
    ds key;
};

/* Per-db value of watched_keys: the clients watching one key. */
typedef struct watchers {
    client **v;
    int n, cap;
} watchers;

static void watchers_free(void *p) {
    watchers *w = p;
    zfree(w->v);
    zfree(w);
}

static const dict_type watched_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, watchers_free};

/* ---------------- queueing ---------------- */

static void free_queue(client *c) {
    struct multi_state *m = c->mstate;
    if (!m) return;
    for (int i = 0; i < m->count; i++) {
        for (int j = 0; j < m->cmds[i].argc; j++) ds_free(m->cmds[i].argv[j]);
        zfree(m->cmds[i].argv);
    }
    zfree(m->cmds);
    zfree(m);
    c->mstate = NULL;
}

void multi_queue_command(client *c) {
    struct multi_state *m = c->mstate;
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->cmds = zrealloc(m->cmds, sizeof(queued_cmd) * (size_t)m->cap);
    }
    queued_cmd *q = &m->cmds[m->count++];
    q->cmd = c->cmd;
    q->argc = c->argc;
    q->argv = zmalloc(sizeof(ds) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) q->argv[i] = ds_new(c->argv[i].ptr, c->argv[i].len);
    add_reply_raw(c, "+QUEUED\r\n", 9);
}

void multi_flag_error(client *c) {
    if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
}

/* Commands that run at once even inside MULTI. */
int multi_runs_now(const command *cmd) {
    return cmd->proc == execCommand || cmd->proc == discardCommand || cmd->proc == multiCommand ||
           cmd->proc == watchCommand || cmd->proc == quitCommand || cmd->proc == resetCommand;
}

/* ---------------- watching ---------------- */

static int is_watching(client *c, db *d, const char *key, size_t len) {
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched[i].db == d && ds_len(c->watched[i].key) == len && !memcmp(c->watched[i].key, key, len))
            return 1;
    return 0;
}

static void watch_key(client *c, db *d, const char *key, size_t len) {
    if (is_watching(c, d, key, len)) return;
    if (!d->watched_keys) d->watched_keys = dict_create(&watched_type);
    ds k = ds_new(key, len);
    dict_entry *existing, *e = dict_add_raw(d->watched_keys, k, &existing);
    watchers *w;
    if (e) {
        w = zcalloc(sizeof(*w));
        dict_entry_set_val(e, w);
    } else {
        ds_free(k);
        w = dict_entry_val(existing);
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->v = zrealloc(w->v, sizeof(client *) * (size_t)w->cap);
    }
    w->v[w->n++] = c;
    c->watched = zrealloc(c->watched, sizeof(*c->watched) * (size_t)(c->nwatched + 1));
    c->watched[c->nwatched].db = d;
    c->watched[c->nwatched].key = ds_new(key, len);
    c->nwatched++;
}

void multi_unwatch_all(client *c) {
    for (int i = 0; i < c->nwatched; i++) {
        db *d = c->watched[i].db;
        dict_entry *e = d->watched_keys ? dict_find(d->watched_keys, c->watched[i].key) : NULL;
        if (e) {
            watchers *w = dict_entry_val(e);
            for (int k = 0; k < w->n; k++) {
                if (w->v[k] != c) continue;
                w->v[k] = w->v[--w->n];
                break;
            }
            if (w->n == 0) dict_delete(d->watched_keys, c->watched[i].key);
        }
        ds_free(c->watched[i].key);
    }
    zfree(c->watched);
    c->watched = NULL;
    c->nwatched = 0;
    c->flags &= ~CLIENT_DIRTY_CAS;
}

void multi_touch_key(db *d, const char *key, size_t len) {
    if (!d->watched_keys || dict_size(d->watched_keys) == 0) return;
    dict_entry *e = ds_dict_find(d->watched_keys, key, len);
    if (e) {
        watchers *w = dict_entry_val(e);
        for (int i = 0; i < w->n; i++) w->v[i]->flags |= CLIENT_DIRTY_CAS;
    }
}

void multi_touch_db(db *d) {
    if (!d->watched_keys) return;
    dict_iter it;
    dict_iter_init(&it, d->watched_keys);
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        watchers *w = dict_entry_val(e);
        for (int i = 0; i < w->n; i++) w->v[i]->flags |= CLIENT_DIRTY_CAS;
    }
    dict_iter_release(&it);
}

void multi_after_write(client *c) {
    if (!c->db->watched_keys || dict_size(c->db->watched_keys) == 0) return;
    for (int i = 1; i < c->argc; i++) multi_touch_key(c->db, c->argv[i].ptr, c->argv[i].len);
}

void multi_free_db(db *d) {
    dict_release(d->watched_keys);
    d->watched_keys = NULL;
}

/* Clears the transaction and the watches (EXEC, DISCARD, RESET, close). */
void multi_reset_client(client *c) {
    free_queue(c);
    multi_unwatch_all(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
}

/* ---------------- commands ---------------- */

void multiCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        add_reply_error(c, "MULTI calls can not be nested");
        return;
    }
    c->mstate = zcalloc(sizeof(struct multi_state));
    c->flags |= CLIENT_MULTI;
    add_reply_ok(c);
}

void discardCommand(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        add_reply_error(c, "DISCARD without MULTI");
        return;
    }
    multi_reset_client(c);
    add_reply_ok(c);
}

/* A watched key that expired since WATCH counts as changed. */
static int watched_key_expired(client *c) {
    for (int i = 0; i < c->nwatched; i++)
        if (db_key_expired(c->watched[i].db, c->watched[i].key, ds_len(c->watched[i].key))) return 1;
    return 0;
}

void execCommand(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        add_reply_error(c, "EXEC without MULTI");
        return;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        add_reply_error(c, "-EXECABORT Transaction discarded because of previous errors.");
        multi_reset_client(c);
        return;
    }
    if ((c->flags & CLIENT_DIRTY_CAS) || watched_key_expired(c)) {
        add_reply_null_array(c);
        multi_reset_client(c);
        return;
    }
    struct multi_state *m = c->mstate;
    c->mstate = NULL;
    multi_unwatch_all(c);
    c->flags &= ~CLIENT_MULTI;
    command *exec_cmd = c->cmd;
    int exec_argc = c->argc;
    resp_arg *exec_argv = c->argv;
    c->flags |= CLIENT_DENY_BLOCKING;
    add_reply_array_len(c, m->count);
    for (int i = 0; i < m->count; i++) {
        queued_cmd *q = &m->cmds[i];
        resp_arg *args = zmalloc(sizeof(resp_arg) * (size_t)q->argc);
        for (int j = 0; j < q->argc; j++) {
            args[j].ptr = q->argv[j];
            args[j].len = ds_len(q->argv[j]);
            args[j].off = 0;
        }
        c->argc = q->argc;
        c->argv = args;
        c->cmd = q->cmd;
        call_command(c);
        zfree(args);
    }
    c->flags &= ~CLIENT_DENY_BLOCKING;
    c->cmd = exec_cmd;
    c->argc = exec_argc;
    c->argv = exec_argv;
    struct multi_state *keep = c->mstate;
    c->mstate = m;
    free_queue(c);
    c->mstate = keep;
}

void watchCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        add_reply_error(c, "WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) watch_key(c, c->db, c->argv[i].ptr, c->argv[i].len);
    add_reply_ok(c);
}

void unwatchCommand(client *c) {
    multi_unwatch_all(c);
    add_reply_ok(c);
}

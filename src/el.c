/* el.c -- the backend-independent part of the event loop: creation with
 * backend selection (io_uring first, epoll fallback), timers, and the run
 * loop. See el.h for the contract the backends keep.
 *
 * Timers live in a small unsorted array: the server uses a handful (the
 * cron, blocked-client timeouts come later through one cron-driven
 * structure), so a linear scan per loop turn is cheaper than a heap.
 *
 * One loop turn: before_sleep (the server queues its sends), then the
 * backend's poll, which submits everything queued and waits for
 * completions with one system call (io_uring_submit_and_wait_timeout or
 * epoll_wait) up to the next timer, then due timers. */
#include "el.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "zmalloc.h"

el_loop *el_create(const char *mode, const el_callbacks *cb, void *ud, char *err, size_t errlen,
                   char *note, size_t notelen) {
    el_loop *loop = zcalloc(sizeof(*loop));
    loop->cb = *cb;
    loop->ud = ud;
    loop->next_timer_id = 1;
    if (note && notelen) note[0] = '\0';
    if (strcmp(mode, "epoll") == 0) {
        loop->be = &el_epoll_backend;
    } else if (strcmp(mode, "uring") == 0 || strcmp(mode, "auto") == 0) {
        loop->be = &el_uring_backend;
        char why[256];
        if (loop->be->init(loop, why, sizeof(why)) == 0) return loop;
        if (strcmp(mode, "uring") == 0) {
            snprintf(err, errlen, "io_uring is not available: %s", why);
            zfree(loop);
            return NULL;
        }
        if (note) snprintf(note, notelen, "io_uring is not available (%s), falling back to epoll", why);
        loop->be = &el_epoll_backend;
    } else {
        snprintf(err, errlen, "unknown event-loop '%s' (expected auto, uring or epoll)", mode);
        zfree(loop);
        return NULL;
    }
    if (loop->be->init(loop, err, errlen) != 0) {
        zfree(loop);
        return NULL;
    }
    return loop;
}

int el_watch_readable(el_loop *loop, int fd, void (*fn)(void *ud), void *ud) {
    el_watch *w = zcalloc(sizeof(*w));
    w->fd = fd;
    w->fn = fn;
    w->ud = ud;
    int r = loop->be->watch(loop, w);
    if (r < 0) {
        zfree(w);
        return r;
    }
    w->next = loop->watches;
    loop->watches = w;
    return 0;
}

void el_free(el_loop *loop) {
    if (!loop) return;
    loop->be->fini(loop);
    while (loop->watches) {
        el_watch *w = loop->watches;
        loop->watches = w->next;
        zfree(w);
    }
    zfree(loop->timers);
    zfree(loop);
}

const char *el_backend_name(const el_loop *loop) { return loop->be->name; }
void *el_userdata(const el_loop *loop) { return loop->ud; }
int el_listen(el_loop *loop, int fd) { return loop->be->listen(loop, fd); }

int el_conn_start(el_loop *loop, el_conn *c, int fd) {
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    int r = loop->be->conn_start(loop, c);
    if (r == 0) loop->live_conns++;
    return r;
}

int el_conn_send(el_loop *loop, el_conn *c, struct iovec *iov, int cnt) {
    if (c->el_flags & (EL_F_SENDING | EL_F_CLOSING)) return -EBUSY;
    return loop->be->conn_send(loop, c, iov, cnt);
}

void el_conn_close(el_loop *loop, el_conn *c) {
    if (c->el_flags & EL_F_CLOSING) return;
    c->el_flags |= EL_F_CLOSING;
    loop->be->conn_close(loop, c);
}

void el_release(el_loop *loop, el_conn *c) {
    loop->live_conns--;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    loop->cb.released(c);
}

long long el_timer_add(el_loop *loop, long long ms, el_timer_fn *fn, void *ud) {
    if (loop->ntimers == loop->timers_cap) {
        loop->timers_cap = loop->timers_cap ? loop->timers_cap * 2 : 8;
        loop->timers = zrealloc(loop->timers, loop->timers_cap * sizeof(*loop->timers));
    }
    struct el_timer *t = &loop->timers[loop->ntimers++];
    t->id = loop->next_timer_id++;
    t->when_ms = util_monotonic_us() / 1000 + ms;
    t->fn = fn;
    t->ud = ud;
    return t->id;
}

void el_timer_del(el_loop *loop, long long id) {
    for (size_t i = 0; i < loop->ntimers; i++) {
        if (loop->timers[i].id == id) {
            loop->timers[i] = loop->timers[--loop->ntimers];
            return;
        }
    }
}

static long long next_timeout_ms(el_loop *loop) {
    if (loop->ntimers == 0) return -1;
    int64_t now = util_monotonic_us() / 1000, best = INT64_MAX;
    for (size_t i = 0; i < loop->ntimers; i++)
        if (loop->timers[i].when_ms < best) best = loop->timers[i].when_ms;
    return best <= now ? 0 : best - now;
}

static void run_timers(el_loop *loop) {
    int64_t now = util_monotonic_us() / 1000;
    for (size_t i = 0; i < loop->ntimers;) {
        struct el_timer *t = &loop->timers[i];
        if (t->when_ms > now) {
            i++;
            continue;
        }
        long long id = t->id;
        int next = t->fn(loop, id, t->ud);
        /* the callback may have added or removed timers: find ours again */
        size_t j;
        for (j = 0; j < loop->ntimers && loop->timers[j].id != id; j++) {}
        if (j == loop->ntimers) continue;
        if (next < 0) {
            loop->timers[j] = loop->timers[--loop->ntimers];
        } else {
            loop->timers[j].when_ms = util_monotonic_us() / 1000 + (next > 0 ? next : 1);
        }
        i = 0; /* restart: the array may have been reordered */
        now = util_monotonic_us() / 1000;
    }
}

long long el_busy_poll_us = 50;

void el_run(el_loop *loop) {
    loop->stop = 0;
    while (!loop->stop) {
        if (loop->cb.before_sleep) loop->cb.before_sleep(loop);
        if (loop->stop) break;
        long long timeout = next_timeout_ms(loop);
        int n = 0;
        if (el_busy_poll_us > 0 && loop->spin && timeout != 0) {
            /* the last events came sooner than the budget: look for the
             * next ones without sleeping, so that nobody has to wake us */
            int64_t end = util_monotonic_us() + el_busy_poll_us;
            do {
                n = loop->be->poll(loop, 0);
            } while (n == 0 && !loop->stop && util_monotonic_us() < end);
        }
        if (n == 0 && !loop->stop) {
            int64_t t0 = util_monotonic_us();
            n = loop->be->poll(loop, timeout);
            loop->spin = n > 0 && util_monotonic_us() - t0 < el_busy_poll_us;
        } else {
            loop->spin = 1;
        }
        run_timers(loop);
    }
}

void el_stop(el_loop *loop) { loop->stop = 1; }

void el_poll_nested(el_loop *loop) {
    loop->nesting++;
    loop->be->poll(loop, 0);
    loop->nesting--;
}

void el_drain(el_loop *loop, long long timeout_ms) {
    int64_t end = util_monotonic_us() / 1000 + timeout_ms;
    while (loop->live_conns > 0 && util_monotonic_us() / 1000 < end) loop->be->poll(loop, 10);
}

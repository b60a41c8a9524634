/* el_epoll.c -- epoll backend of the event loop (see el.h), used where
 * io_uring is refused (seccomp in containers, old kernels) or chosen with
 * `event-loop epoll`.
 *
 * It presents the same completion-style contract as the io_uring backend:
 *  - readable sockets are read (level-triggered) into one loop-owned 64 KB
 *    buffer and handed to the received callback;
 *  - el_conn_send() writes at once with writev(); the result is queued
 *    and reported through the sent callback from the loop, never from
 *    inside el_conn_send(); when the socket buffer is full (EAGAIN) the
 *    send waits for EPOLLOUT and is retried then;
 *  - closing removes the fd from epoll and releases after the current
 *    dispatch (a queued send result for a closing connection is dropped).
 * epoll's data.ptr is the el_conn, a listener fd tagged in bit 0, or an
 * el_watch tagged in bit 1. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "el.h"
#include "zmalloc.h"

#define READ_BUF (64 * 1024)
#define MAX_EVENTS 1024

typedef struct epoll_state {
    int epfd;
    char *rbuf;
    char *rbuf_nested; /* reads inside el_poll_nested: rbuf may be in use */
    el_conn *done;      /* connections with a send result to report */
    el_conn *releasing; /* closed connections to release this turn */
    int listeners[16];
    int nlisteners;
} epoll_state;

static int ep_init(el_loop *loop, char *err, size_t errlen) {
    epoll_state *s = zcalloc(sizeof(*s));
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        zfree(s);
        return -1;
    }
    s->rbuf = zmalloc(READ_BUF);
    loop->be_state = s;
    return 0;
}

static void ep_fini(el_loop *loop) {
    epoll_state *s = loop->be_state;
    if (!s) return;
    close(s->epfd);
    zfree(s->rbuf);
    zfree(s->rbuf_nested);
    zfree(s);
    loop->be_state = NULL;
}

static int ep_listen(el_loop *loop, int fd) {
    epoll_state *s = loop->be_state;
    if (s->nlisteners == 16) return -ENOSPC;
    s->listeners[s->nlisteners++] = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)(unsigned)fd << 1) | 1};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int ep_conn_start(el_loop *loop, el_conn *c) {
    epoll_state *s = loop->be_state;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) return -errno;
    c->el_flags |= EL_F_READING;
    return 0;
}

static void update_events(epoll_state *s, el_conn *c) {
    struct epoll_event ev = {.events = 0, .data.ptr = c};
    if (c->el_flags & EL_F_READING) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (c->el_flags & EL_F_WANTOUT) ev.events |= EPOLLOUT;
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Tries the write; returns 1 when a result is ready to report. */
static int try_write(el_conn *c) {
    ssize_t n = sendmsg(c->fd, &c->el_msg, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    c->el_send_result = n < 0 ? -errno : n;
    return 1;
}

static void push_done(epoll_state *s, el_conn *c) {
    c->el_next_done = s->done;
    s->done = c;
}

static int ep_conn_send(el_loop *loop, el_conn *c, struct iovec *iov, int cnt) {
    epoll_state *s = loop->be_state;
    memset(&c->el_msg, 0, sizeof(c->el_msg));
    c->el_msg.msg_iov = iov;
    c->el_msg.msg_iovlen = (size_t)cnt;
    c->el_flags |= EL_F_SENDING;
    if (try_write(c)) {
        push_done(s, c);
    } else {
        c->el_flags |= EL_F_WANTOUT;
        update_events(s, c);
    }
    return 0;
}

static void ep_conn_close(el_loop *loop, el_conn *c) {
    epoll_state *s = loop->be_state;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    shutdown(c->fd, SHUT_RDWR);
    c->el_inflight = 1; /* held until the release list is processed */
    c->el_next_done = s->releasing;
    s->releasing = c;
}

static void report_done(el_loop *loop, epoll_state *s) {
    while (s->done) {
        el_conn *c = s->done;
        s->done = c->el_next_done;
        c->el_flags &= ~EL_F_SENDING;
        if (!(c->el_flags & EL_F_CLOSING)) loop->cb.sent(c, c->el_send_result);
    }
}

static void release_closed(el_loop *loop, epoll_state *s) {
    while (s->releasing) {
        el_conn *c = s->releasing;
        s->releasing = c->el_next_done;
        c->el_inflight = 0;
        el_release(loop, c);
    }
}

static void do_accept(el_loop *loop, int lfd) {
    for (int i = 0; i < 1000; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        loop->cb.accepted(loop, fd);
    }
}

static void do_read(el_loop *loop, epoll_state *s, el_conn *c) {
    char *buf = s->rbuf;
    if (loop->nesting) {
        if (!s->rbuf_nested) s->rbuf_nested = zmalloc(READ_BUF);
        buf = s->rbuf_nested;
    }
    ssize_t n = read(c->fd, buf, READ_BUF);
    if (n > 0) {
        loop->cb.received(c, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    c->el_flags &= ~EL_F_READING;
    update_events(s, c);
    loop->cb.read_ended(c, n == 0 ? 0 : -errno);
}

static int ep_watch(el_loop *loop, el_watch *w) {
    epoll_state *s = loop->be_state;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(uintptr_t)w | 2};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

static int ep_poll(el_loop *loop, long long timeout_ms) {
    epoll_state *s = loop->be_state;
    struct epoll_event evs[MAX_EVENTS];
    if (s->done || s->releasing) timeout_ms = 0;
    report_done(loop, s);
    release_closed(loop, s);
    int n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout_ms > 0x7fffffff ? 0x7fffffff : (int)timeout_ms);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 & 1) {
            do_accept(loop, (int)(evs[i].data.u64 >> 1));
            continue;
        }
        if (evs[i].data.u64 & 2) {
            el_watch *w = (el_watch *)(uintptr_t)(evs[i].data.u64 & ~(uint64_t)3);
            w->fn(w->ud);
            continue;
        }
        el_conn *c = evs[i].data.ptr;
        if (c->el_flags & EL_F_CLOSING) continue;
        if ((evs[i].events & EPOLLOUT) && (c->el_flags & EL_F_WANTOUT)) {
            if (try_write(c)) {
                c->el_flags &= ~EL_F_WANTOUT;
                update_events(s, c);
                push_done(s, c);
            }
        }
        if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && (c->el_flags & EL_F_READING) &&
            !(c->el_flags & EL_F_CLOSING))
            do_read(loop, s, c);
    }
    report_done(loop, s);
    release_closed(loop, s);
    return n > 0 ? n : 0;
}

const el_backend el_epoll_backend = {
    .name = "epoll",
    .init = ep_init,
    .fini = ep_fini,
    .listen = ep_listen,
    .conn_start = ep_conn_start,
    .conn_send = ep_conn_send,
    .conn_close = ep_conn_close,
    .poll = ep_poll,
    .watch = ep_watch,
};

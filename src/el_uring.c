/* el_uring.c -- io_uring backend of the event loop (see el.h).
 *
 * The shape follows liburing's examples (echo-server, proxy):
 *  - one multishot accept per listener (re-armed when a CQE lacks
 *    IORING_CQE_F_MORE);
 *  - one multishot recv per connection drawing from a provided-buffer
 *    ring (IORING_REGISTER_PBUF_RING): no buffer is pinned per idle
 *    connection, and a buffer goes back to the ring right after the
 *    received callback copied or parsed it;
 *  - one SENDMSG per connection in flight, covering all the reply blocks
 *    queued during the turn (batched sends);
 *  - everything queued during a turn is submitted by one
 *    io_uring_submit_and_wait_timeout() call, which also waits; CQEs are
 *    consumed in a batch and the CQ advanced once.
 *
 * user_data is the el_conn (or listener record) pointer with the
 * operation kind in its low 3 bits (structures are 8-byte aligned).
 *
 * Closing: shutdown(2) makes the pending recv complete with 0 and any
 * send fail; the fd is closed and released() called only when the
 * connection's in-flight count reaches zero, so the kernel never
 * completes into freed memory and an fd number is never reused while an
 * old operation still refers to it.
 *
 * ENOBUFS (all provided buffers in use) just re-arms the recv: buffers come
 * back as soon as the callbacks of this batch return. */
#include <errno.h>
#include <poll.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "el.h"
#include "zmalloc.h"

#define RING_ENTRIES 4096
#define BUF_COUNT 1024 /* power of two */
#define BUF_SIZE (16 * 1024)
#define BUF_GROUP 0

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3, OP_WATCH = 4 };

typedef struct listener {
    int fd;
    uint32_t pad;
} listener;

typedef struct uring_state {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    listener *listeners[16];
    int nlisteners;
} uring_state;

static inline uint64_t tag(void *p, int op) { return (uint64_t)(uintptr_t)p | (uint64_t)op; }

static struct io_uring_sqe *get_sqe(uring_state *s) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    return sqe;
}

static int uring_init(el_loop *loop, char *err, size_t errlen) {
    uring_state *s = zcalloc(sizeof(*s));
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    /* Only this thread submits, and completions are reaped only when it
     * waits: DEFER_TASKRUN runs the kernel's task work at that moment
     * instead of interrupting the loop (Linux 6.1+). Older kernels retry
     * with fewer flags. */
    static const unsigned flag_sets[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int r = -EINVAL;
    for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]) && r < 0; i++) {
        memset(&p, 0, sizeof(p));
        p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = RING_ENTRIES * 4;
        r = io_uring_queue_init_params(RING_ENTRIES, &s->ring, &p);
    }
    if (r < 0) {
        snprintf(err, errlen, "io_uring_queue_init: %s", strerror(-r));
        zfree(s);
        return -1;
    }
    if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_FAST_POLL)) {
        snprintf(err, errlen, "kernel lacks IORING_FEAT_EXT_ARG/FAST_POLL");
        io_uring_queue_exit(&s->ring);
        zfree(s);
        return -1;
    }
    size_t brsize = BUF_COUNT * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, brsize, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED) {
        snprintf(err, errlen, "mmap buffer ring: %s", strerror(errno));
        io_uring_queue_exit(&s->ring);
        zfree(s);
        return -1;
    }
    s->br = br;
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    r = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (r < 0) {
        snprintf(err, errlen, "provided buffer rings unsupported: %s", strerror(-r));
        munmap(br, brsize);
        io_uring_queue_exit(&s->ring);
        zfree(s);
        return -1;
    }
    s->bufs = mmap(NULL, (size_t)BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (s->bufs == MAP_FAILED) {
        snprintf(err, errlen, "mmap buffers: %s", strerror(errno));
        io_uring_unregister_buf_ring(&s->ring, BUF_GROUP);
        munmap(br, brsize);
        io_uring_queue_exit(&s->ring);
        zfree(s);
        return -1;
    }
    io_uring_buf_ring_init(s->br);
    for (int i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUF_COUNT), i);
    io_uring_buf_ring_advance(s->br, BUF_COUNT);
    loop->be_state = s;
    return 0;
}

static void uring_fini(el_loop *loop) {
    uring_state *s = loop->be_state;
    if (!s) return;
    io_uring_unregister_buf_ring(&s->ring, BUF_GROUP);
    io_uring_queue_exit(&s->ring);
    munmap(s->br, BUF_COUNT * sizeof(struct io_uring_buf));
    munmap(s->bufs, (size_t)BUF_COUNT * BUF_SIZE);
    for (int i = 0; i < s->nlisteners; i++) zfree(s->listeners[i]);
    zfree(s);
    loop->be_state = NULL;
}

static void arm_accept(uring_state *s, listener *l) {
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(l, OP_ACCEPT));
}

static int uring_listen(el_loop *loop, int fd) {
    uring_state *s = loop->be_state;
    if (s->nlisteners == (int)(sizeof(s->listeners) / sizeof(s->listeners[0]))) return -ENOSPC;
    listener *l = zcalloc(sizeof(*l));
    l->fd = fd;
    s->listeners[s->nlisteners++] = l;
    arm_accept(s, l);
    return 0;
}

static void arm_recv(uring_state *s, el_conn *c) {
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, tag(c, OP_RECV));
    c->el_inflight++;
    c->el_flags |= EL_F_READING;
}

static int uring_conn_start(el_loop *loop, el_conn *c) {
    arm_recv(loop->be_state, c);
    return 0;
}

static int uring_conn_send(el_loop *loop, el_conn *c, struct iovec *iov, int cnt) {
    uring_state *s = loop->be_state;
    memset(&c->el_msg, 0, sizeof(c->el_msg));
    c->el_msg.msg_iov = iov;
    c->el_msg.msg_iovlen = (size_t)cnt;
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_sendmsg(sqe, c->fd, &c->el_msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(c, OP_SEND));
    c->el_inflight++;
    c->el_flags |= EL_F_SENDING;
    return 0;
}

static void uring_conn_close(el_loop *loop, el_conn *c) {
    shutdown(c->fd, SHUT_RDWR);
    if (c->el_inflight == 0) el_release(loop, c);
}

static void recycle_buffer(uring_state *s, unsigned bid) {
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(s->br, 1);
}

static void handle_recv(el_loop *loop, uring_state *s, el_conn *c, struct io_uring_cqe *cqe) {
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (!more) c->el_inflight--;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && !(c->el_flags & EL_F_CLOSING))
            loop->cb.received(c, s->bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
        recycle_buffer(s, bid);
    }
    if (c->el_flags & EL_F_CLOSING) {
        if (c->el_inflight == 0) el_release(loop, c);
        return;
    }
    if (more) return;
    if (cqe->res > 0 || cqe->res == -ENOBUFS) {
        arm_recv(s, c); /* the multishot ended but the socket is still open */
        return;
    }
    c->el_flags &= ~EL_F_READING;
    loop->cb.read_ended(c, cqe->res);
}

static void handle_send(el_loop *loop, el_conn *c, struct io_uring_cqe *cqe) {
    c->el_inflight--;
    c->el_flags &= ~EL_F_SENDING;
    if (c->el_flags & EL_F_CLOSING) {
        if (c->el_inflight == 0) el_release(loop, c);
        return;
    }
    loop->cb.sent(c, cqe->res);
}

static void handle_accept(el_loop *loop, uring_state *s, listener *l, struct io_uring_cqe *cqe) {
    if (cqe->res >= 0) loop->cb.accepted(loop, cqe->res);
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(s, l);
}

static void arm_watch(uring_state *s, el_watch *w) {
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_poll_multishot(sqe, w->fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(w, OP_WATCH));
}

static int uring_watch(el_loop *loop, el_watch *w) {
    arm_watch(loop->be_state, w);
    return 0;
}

static void handle_watch(uring_state *s, el_watch *w, struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_watch(s, w);
    if (cqe->res >= 0) w->fn(w->ud);
}

static int uring_poll(el_loop *loop, long long timeout_ms) {
    uring_state *s = loop->be_state;
    struct io_uring_cqe *cqe;
    if (timeout_ms == 0) {
        /* no waiting at all (a zero timeout would still enter the wait
         * path, registering as a waiter that senders then wake): submit,
         * run the deferred completions, take what is there */
        io_uring_submit_and_get_events(&s->ring);
    } else if (timeout_ms < 0) {
        io_uring_submit_and_wait(&s->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000};
        io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
    }
    /* Each completion is consumed (CQ head advanced) before it is
     * dispatched, so a callback may poll again (el_poll_nested) without
     * seeing the same completion twice. */
    int n = 0;
    while (io_uring_peek_cqe(&s->ring, &cqe) == 0 && cqe) {
        n++;
        struct io_uring_cqe copy = *cqe;
        io_uring_cqe_seen(&s->ring, cqe);
        void *p = (void *)(uintptr_t)(copy.user_data & ~(uint64_t)7);
        switch ((int)(copy.user_data & 7)) {
        case OP_ACCEPT: handle_accept(loop, s, p, &copy); break;
        case OP_RECV: handle_recv(loop, s, p, &copy); break;
        case OP_SEND: handle_send(loop, p, &copy); break;
        case OP_WATCH: handle_watch(s, p, &copy); break;
        default: break;
        }
    }
    return n;
}

const el_backend el_uring_backend = {
    .name = "uring",
    .init = uring_init,
    .fini = uring_fini,
    .listen = uring_listen,
    .conn_start = uring_conn_start,
    .conn_send = uring_conn_send,
    .conn_close = uring_conn_close,
    .poll = uring_poll,
    .watch = uring_watch,
};

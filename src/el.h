/* el.h -- the event loop API: completion-style connection I/O over two
 * backends, io_uring (el_uring.c) and epoll (el_epoll.c).
 *
 * The server sees completions, not readiness: "these bytes arrived",
 * "this send finished with n bytes", "reading ended". Both backends give
 * the same guarantees:
 *  - at most one send is in flight per connection; the iovecs passed to
 *    el_conn_send() must stay valid (and their bytes unchanged) until the
 *    sent callback for it runs;
 *  - callbacks for a connection stop after el_conn_close(); the released
 *    callback then runs exactly once, when no operation is in flight any
 *    more, and only then may the connection's memory be freed (io_uring
 *    may still be using buffers until that point);
 *  - callbacks never run from inside el_conn_send()/el_conn_close():
 *    they run from el_run()'s loop, so the server never re-enters itself;
 *  - before_sleep runs once per loop turn before the loop waits; it is
 *    where the server starts the sends of the replies it queued.
 * Timers fire on the loop thread with millisecond resolution. */
#ifndef PHENIX_EL_H
#define PHENIX_EL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct el_loop el_loop;

typedef struct el_conn {
    int fd;
    /* backend-private state below: the server must not touch it */
    uint32_t el_flags;
    uint32_t el_inflight;
    ssize_t el_send_result;
    struct msghdr el_msg;
    struct el_conn *el_next_done;
} el_conn;

typedef struct el_callbacks {
    /* A new connection was accepted on a listener (fd is non-blocking). */
    void (*accepted)(el_loop *loop, int fd);
    /* len > 0 bytes arrived; buf is valid only during the call. */
    void (*received)(el_conn *c, const char *buf, size_t len);
    /* Reading ended: err is 0 when the peer closed, otherwise -errno. No
     * more received callbacks follow; sends still work until close. */
    void (*read_ended)(el_conn *c, int err);
    /* The send started by el_conn_send() finished: n >= 0 bytes were
     * written (may be fewer than asked), or n is -errno. */
    void (*sent)(el_conn *c, ssize_t n);
    /* After el_conn_close(): nothing is in flight, the fd is closed. */
    void (*released)(el_conn *c);
    /* Once per loop turn, before waiting. */
    void (*before_sleep)(el_loop *loop);
} el_callbacks;

typedef int el_timer_fn(el_loop *loop, long long id, void *ud);

/* Creates a loop. mode is "auto", "uring" or "epoll"; auto tries io_uring
 * and falls back to epoll (the reason goes to *note). Returns NULL with a
 * message in err on failure. */
el_loop *el_create(const char *mode, const el_callbacks *cb, void *ud, char *err, size_t errlen,
                   char *note, size_t notelen);
void el_free(el_loop *loop);
/* "uring" or "epoll". */
const char *el_backend_name(const el_loop *loop);
void *el_userdata(const el_loop *loop);
/* Accepts connections on a listening socket. Returns 0 or -errno. */
int el_listen(el_loop *loop, int fd);
/* Starts reading from fd, which c now wraps. Returns 0 or -errno. */
int el_conn_start(el_loop *loop, el_conn *c, int fd);
/* Starts sending iov[0..cnt). One send at a time. Returns 0 or -errno. */
int el_conn_send(el_loop *loop, el_conn *c, struct iovec *iov, int cnt);
/* Closes c: shuts the socket down, stops callbacks, and later calls
 * released. Safe to call once. */
void el_conn_close(el_loop *loop, el_conn *c);
/* Adds a timer firing in ms; fn returns the next delay in ms or -1 to
 * stop. Returns the timer id. */
long long el_timer_add(el_loop *loop, long long ms, el_timer_fn *fn, void *ud);
void el_timer_del(el_loop *loop, long long id);
/* After el_stop(): runs the loop until every closed connection has been
 * released (in-flight operations completed), for at most timeout_ms. */
void el_drain(el_loop *loop, long long timeout_ms);
/* Watches fd (an eventfd or pipe another thread writes to): fn(ud) runs
 * on the loop thread each time fd becomes readable; fn must drain fd.
 * Returns 0 or -errno. The watch lasts as long as the loop. */
int el_watch_readable(el_loop *loop, int fd, void (*fn)(void *ud), void *ud);
/* Polls once without waiting and dispatches the completions found, from
 * inside a callback (a long command or loading keeps serving sockets: see
 * server_process_events_while_blocked). Timers and before_sleep do not
 * run. Callbacks may run for any connection, including the one whose
 * callback is running: the server must cope (networking.c holds that
 * input). Buffers handed to an outer received callback stay valid. */
void el_poll_nested(el_loop *loop);
/* Runs until el_stop(). */
void el_run(el_loop *loop);
void el_stop(el_loop *loop);

/* ---- backend interface (el.c <-> el_uring.c / el_epoll.c) ---- */
struct el_watch;
typedef struct el_backend {
    const char *name;
    int (*init)(el_loop *loop, char *err, size_t errlen);
    void (*fini)(el_loop *loop);
    int (*listen)(el_loop *loop, int fd);
    int (*conn_start)(el_loop *loop, el_conn *c);
    int (*conn_send)(el_loop *loop, el_conn *c, struct iovec *iov, int cnt);
    void (*conn_close)(el_loop *loop, el_conn *c);
    /* Waits up to timeout_ms (-1: forever) and dispatches completions;
     * returns how many it dispatched (events, completions). */
    int (*poll)(el_loop *loop, long long timeout_ms);
    int (*watch)(el_loop *loop, struct el_watch *w);
} el_backend;

/* A readable-fd watch (el_watch_readable). */
typedef struct el_watch {
    int fd;
    void (*fn)(void *ud);
    void *ud;
    struct el_watch *next;
} el_watch;

extern const el_backend el_uring_backend;
extern const el_backend el_epoll_backend;

#define EL_F_CLOSING 1u
#define EL_F_SENDING 2u
#define EL_F_READING 4u
#define EL_F_WANTOUT 8u

struct el_timer {
    long long id;
    int64_t when_ms;
    el_timer_fn *fn;
    void *ud;
};

struct el_loop {
    const el_backend *be;
    el_callbacks cb;
    void *ud;
    int stop;
    void *be_state;
    struct el_timer *timers;
    size_t ntimers, timers_cap;
    long long next_timer_id;
    long long live_conns; /* started and not yet released */
    int nesting;          /* > 0 inside el_poll_nested */
    el_watch *watches;
    int spin;             /* el_run: busy-poll before the next sleep */
};

/* Busy polling (config busy-poll-us): when the last events came sooner
 * than this many microseconds after el_run started to wait for them (or
 * were found by busy polling), el_run polls without blocking for up to
 * this long before it sleeps again. A sleeping loop is woken by whoever
 * sends it data, and that wake-up (an inter-processor interrupt, a VM exit
 * on a virtual machine) is paid by the sender: on loopback, by the
 * clients. Idle or lightly loaded, the loop sleeps as before. 0 turns it
 * off. */
extern long long el_busy_poll_us;

/* Backends call this when a closing connection has nothing in flight. */
void el_release(el_loop *loop, el_conn *c);

#endif

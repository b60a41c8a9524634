/* networking.c -- clients: accepting, reading and parsing requests,
 * queueing replies, sending them, closing.
 *
 * Replies are appended to a chain of reply blocks (16 KB, or bigger for a
 * single big reply). Bytes of a block are never moved once queued, so a
 * send in flight (io_uring reads them asynchronously) can cover blocks that
 * are still being appended to: the kernel only reads the ranges named in
 * the iovecs. A client with queued bytes sits on server.pending_write; the
 * loop's before_sleep (clients_flush_pending) starts one send per client
 * covering up to CLIENT_IOV_MAX blocks.
 *
 * Reading: the receive callback parses commands straight out of the loop's
 * receive buffer when the client has no partial request buffered (the
 * common case: whole pipelines arrive in one read), and copies only a
 * trailing partial request into the client's query buffer.
 *
 * Closing is deferred: client_close_async() puts the client on the close
 * list, processed at the end of the turn, so no command or callback ever
 * sees a freed client; the loop's released callback frees the memory once
 * the backend has nothing in flight for it.
 *
 * Output limits: client-output-buffer-limit (hard and soft with seconds)
 * closes a client whose queued replies grow too large; the query buffer is
 * capped by client-query-buffer-limit. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <unistd.h>

#include "blocked.h"
#include "persist.h"
#include "server.h"

#define REPLY_BLOCK_SIZE (16 * 1024)

/* ---------------- reply building ---------------- */

static reply_block *new_block(size_t need) {
    size_t size = need > REPLY_BLOCK_SIZE ? need : REPLY_BLOCK_SIZE;
    reply_block *b = zmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void check_output_limits(client *c, const long long *lim);

/* The output-buffer limits of c's class (pubsub for a subscribed client,
 * else normal): hard, soft, seconds. */
static inline const long long *obuf_limits_of(const client *c) {
    return server.obuf_limits[(c->flags & CLIENT_PUBSUB) ? 2 : 0];
}

static void mark_pending(client *c) {
    if (c->flags & (CLIENT_PENDING_WRITE | CLIENT_FAKE)) return;
    c->flags |= CLIENT_PENDING_WRITE;
    c->next_pending = server.pending_write;
    server.pending_write = c;
}

/* Bookkeeping after len bytes were appended to c's reply. */
static void reply_appended(client *c, size_t len) {
    c->reply_bytes += len;
    c->reply_turn = server.loop_turn;
    mark_pending(c);
    const long long *lim = obuf_limits_of(c);
    if (lim[0] | lim[1]) check_output_limits(c, lim); /* the default: no limit for normal clients */
}

void add_reply_raw(client *c, const char *p, size_t len) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    if (c->conn.fd < 0 && !(c->flags & CLIENT_FAKE)) return;
    reply_block *t = c->reply_tail;
    if (t && t->size - t->used >= len) {
        memcpy(t->buf + t->used, p, len);
        t->used += len;
    } else {
        if (t && t->size > t->used) { /* fill the tail, then a new block */
            size_t n = t->size - t->used;
            memcpy(t->buf + t->used, p, n);
            t->used += n;
            p += n;
            len -= n;
            c->reply_bytes += n;
        }
        reply_block *b = new_block(len);
        memcpy(b->buf, p, len);
        b->used = len;
        if (t) t->next = b;
        else c->reply_head = b;
        c->reply_tail = b;
    }
    reply_appended(c, len);
}

static void add_reply_cstr(client *c, const char *s) { add_reply_raw(c, s, strlen(s)); }

void add_reply_ok(client *c) { add_reply_raw(c, "+OK\r\n", 5); }

void add_reply_status(client *c, const char *s) {
    add_reply_raw(c, "+", 1);
    add_reply_cstr(c, s);
    add_reply_raw(c, "\r\n", 2);
}

/* Queues an error reply. As in Redis, msg gets the "ERR " code unless it
 * starts with '-' followed by its own code ("-WRONGTYPE Operation ...").
 * Newlines are replaced by spaces: they would break the protocol. */
void add_reply_error(client *c, const char *msg) {
    char buf[512];
    int has_code = msg[0] == '-';
    if (has_code) msg++;
    size_t n = strlen(msg);
    if (n > sizeof(buf) - 1) n = sizeof(buf) - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    buf[n] = '\0';
    add_reply_raw(c, "-", 1);
    if (!has_code) add_reply_raw(c, "ERR ", 4);
    add_reply_raw(c, buf, n);
    add_reply_raw(c, "\r\n", 2);
    server_count_error(has_code ? buf : "ERR");
}

void add_reply_errorf(client *c, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    add_reply_error(c, buf);
}

static void add_header(client *c, char prefix, long long n) {
    char buf[32];
    add_reply_raw(c, buf, (size_t)resp_fmt_header(buf, prefix, n));
}

void add_reply_long(client *c, long long v) {
    if (v == 0) add_reply_raw(c, ":0\r\n", 4);
    else if (v == 1) add_reply_raw(c, ":1\r\n", 4);
    else add_header(c, ':', v);
}

/* Bulk replies are most of what array replies (LRANGE, ZRANGE, HGETALL...)
 * are made of: when the tail block has room, header, payload and CRLF are
 * written in place with one round of bookkeeping instead of three. */
void add_reply_bulk(client *c, const char *p, size_t len) {
    reply_block *t = c->reply_tail;
    if (t && t->size - t->used >= len + 32 && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) &&
        (c->conn.fd >= 0 || (c->flags & CLIENT_FAKE))) {
        char *w = t->buf + t->used;
        size_t h = (size_t)resp_fmt_header(w, '$', (long long)len);
        memcpy(w + h, p, len);
        w[h + len] = '\r';
        w[h + len + 1] = '\n';
        t->used += h + len + 2;
        reply_appended(c, h + len + 2);
        return;
    }
    add_header(c, '$', (long long)len);
    add_reply_raw(c, p, len);
    add_reply_raw(c, "\r\n", 2);
}

void add_reply_bulk_cstr(client *c, const char *s) {
    if (!s) add_reply_null(c);
    else add_reply_bulk(c, s, strlen(s));
}

void add_reply_bulk_obj(client *c, const pobj *o) {
    char buf[32];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    add_reply_bulk(c, p, len);
}

void add_reply_bulk_long(client *c, long long v) {
    char buf[32];
    int n = util_ll2str(buf, sizeof(buf), v);
    add_reply_bulk(c, buf, (size_t)n);
}

void add_reply_null(client *c) {
    if (c->resp >= 3) add_reply_raw(c, "_\r\n", 3);
    else add_reply_raw(c, "$-1\r\n", 5);
}

void add_reply_null_array(client *c) {
    if (c->resp >= 3) add_reply_raw(c, "_\r\n", 3);
    else add_reply_raw(c, "*-1\r\n", 5);
}

void add_reply_array_len(client *c, long long n) { add_header(c, '*', n); }
void add_reply_map_len(client *c, long long n) {
    if (c->resp >= 3) add_header(c, '%', n);
    else add_header(c, '*', n * 2);
}
void add_reply_set_len(client *c, long long n) { add_header(c, c->resp >= 3 ? '~' : '*', n); }
void add_reply_push_len(client *c, long long n) { add_header(c, c->resp >= 3 ? '>' : '*', n); }

void add_reply_double(client *c, double d) {
    char buf[64];
    int n = util_d2str(buf, sizeof(buf), d);
    if (c->resp >= 3) {
        add_reply_raw(c, ",", 1);
        add_reply_raw(c, buf, (size_t)n);
        add_reply_raw(c, "\r\n", 2);
    } else {
        add_reply_bulk(c, buf, (size_t)n);
    }
}

void add_reply_long_double_bulk(client *c, long double v) {
    char buf[128];
    int n = util_ld2str(buf, sizeof(buf), v);
    add_reply_bulk(c, buf, (size_t)n);
}

void add_reply_bignum(client *c, const char *digits) {
    size_t n = strlen(digits);
    if (c->resp >= 3) {
        add_reply_raw(c, "(", 1);
        add_reply_raw(c, digits, n);
        add_reply_raw(c, "\r\n", 2);
    } else {
        add_reply_bulk(c, digits, n);
    }
}

void add_reply_bool(client *c, int b) {
    if (c->resp >= 3) add_reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
    else add_reply_long(c, b ? 1 : 0);
}

void add_reply_verbatim(client *c, const char *p, size_t len, const char *ext) {
    if (c->resp >= 3) {
        add_header(c, '=', (long long)len + 4);
        add_reply_raw(c, ext, 3);
        add_reply_raw(c, ":", 1);
        add_reply_raw(c, p, len);
        add_reply_raw(c, "\r\n", 2);
    } else {
        add_reply_bulk(c, p, len);
    }
}

void add_reply_help(client *c, const char **lines) {
    long long n = 0;
    while (lines[n]) n++;
    add_reply_array_len(c, n);
    for (long long i = 0; i < n; i++) add_reply_status(c, lines[i]);
}

/* A deferred length (an aggregate whose count is known only at the end)
 * reserves DEFER_SLOT bytes in the tail block; when the count is set, the
 * header is written there and the bytes queued after it in the same block
 * are moved back over the unused part of the slot. Replies that spilled
 * into later blocks stay where they are. No send can be in flight for
 * bytes after the slot: sends start only between commands. Handles are
 * indexes (plus one) into the client's slot table, which may grow. */
#define DEFER_SLOT 24 /* "*" + 20 digits + CRLF fits */

void *add_reply_deferred_len(client *c) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return NULL;
    if (c->conn.fd < 0 && !(c->flags & CLIENT_FAKE)) return NULL;
    reply_block *t = c->reply_tail;
    if (!t || t->size - t->used < DEFER_SLOT) {
        reply_block *b = new_block(DEFER_SLOT);
        if (t) t->next = b;
        else c->reply_head = b;
        c->reply_tail = t = b;
    }
    int i;
    for (i = 0; i < c->defer_cap && c->defer[i].block; i++) {}
    if (i == c->defer_cap) {
        c->defer_cap = c->defer_cap ? c->defer_cap * 2 : 4;
        c->defer = zrealloc(c->defer, sizeof(*c->defer) * (size_t)c->defer_cap);
        for (int k = i; k < c->defer_cap; k++) c->defer[k].block = NULL;
    }
    c->defer[i].block = t;
    c->defer[i].off = t->used;
    t->used += DEFER_SLOT;
    mark_pending(c);
    return (void *)(uintptr_t)(i + 1);
}

static void set_deferred(client *c, void *h, char prefix, long long n) {
    if (!h) return;
    int i = (int)((uintptr_t)h - 1);
    reply_block *b = c->defer[i].block;
    size_t off = c->defer[i].off;
    char hdr[32];
    size_t len = (size_t)resp_fmt_header(hdr, prefix, n);
    memmove(b->buf + off + len, b->buf + off + DEFER_SLOT, b->used - off - DEFER_SLOT);
    memcpy(b->buf + off, hdr, len);
    b->used -= DEFER_SLOT - len;
    c->reply_bytes += len;
    c->defer[i].block = NULL;
}

void set_deferred_array_len(client *c, void *h, long long n) { set_deferred(c, h, '*', n); }
void set_deferred_map_len(client *c, void *h, long long n) {
    if (c->resp >= 3) set_deferred(c, h, '%', n);
    else set_deferred(c, h, '*', n * 2);
}

void add_reply_err_arity(client *c) {
    add_reply_errorf(c, "wrong number of arguments for '%s' command", c->cmd ? c->cmd->name : "?");
}
void add_reply_err_syntax(client *c) { add_reply_error(c, "syntax error"); }
void add_reply_err_wrongtype(client *c) {
    add_reply_error(c, "-WRONGTYPE Operation against a key holding the wrong kind of value");
}
void add_reply_err_not_int(client *c) { add_reply_error(c, "value is not an integer or out of range"); }

int arg_long(client *c, int i, long long *out, const char *msg) {
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, out)) return 0;
    add_reply_error(c, msg ? msg : "value is not an integer or out of range");
    return -1;
}

int arg_long_range(client *c, int i, long long min, long long max, long long *out, const char *msg) {
    long long v;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &v) || v < min || v > max) {
        if (msg) add_reply_error(c, msg);
        else add_reply_errorf(c, "value is out of range, must be between %lld and %lld", min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---------------- output limits ---------------- */

/* Closes c once its output is over lim, its class's limits (obuf_limits_of;
 * one of them set). */
static void check_output_limits(client *c, const long long *lim) {
    if (c->flags & CLIENT_FAKE) return;
    long long hard = lim[0], soft = lim[1], secs = lim[2];
    size_t used = c->reply_bytes;
    int over = 0;
    if (hard && (long long)used >= hard) over = 1;
    if (!over && soft && (long long)used >= soft) {
        int64_t now = util_mstime();
        if (!c->obuf_soft_since_ms) c->obuf_soft_since_ms = now;
        else if (now - c->obuf_soft_since_ms >= secs * 1000) over = 1;
    } else if (soft && (long long)used < soft) {
        c->obuf_soft_since_ms = 0;
    }
    if (over) {
        server_log(LL_WARNING, "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                   (unsigned long long)c->id, c->addr);
        client_close_async(c);
    }
}

/* ---------------- client lifecycle ---------------- */

static void format_peer(int fd, char *addr, size_t alen, char *laddr, size_t llen) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];
    snprintf(addr, alen, "?:0");
    snprintf(laddr, llen, "?:0");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
            snprintf(addr, alen, "%s:%d", ip, ntohs(s->sin_port));
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
            snprintf(addr, alen, "%s:%d", ip, ntohs(s->sin6_port));
        }
    }
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
            snprintf(laddr, llen, "%s:%d", ip, ntohs(s->sin_port));
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
            snprintf(laddr, llen, "%s:%d", ip, ntohs(s->sin6_port));
        }
    }
}

client *client_create(int fd) {
    client *c = zcalloc(sizeof(*c));
    c->id = server.next_client_id++;
    c->resp = 2;
    c->db = &server.dbs[0];
    c->qbuf = ds_empty(0);
    resp_parser_init(&c->parser);
    c->parser.max_bulk_len = server.proto_max_bulk_len;
    c->ctime_ms = c->last_interaction_ms = util_mstime();
    if (!server.requirepass || !server.requirepass[0]) c->flags |= CLIENT_AUTHENTICATED;
    else c->parser.unauthenticated = 1;
    c->conn.fd = fd;
    if (fd >= 0) {
        format_peer(fd, c->addr, sizeof(c->addr), c->laddr, sizeof(c->laddr));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (server.tcpkeepalive > 0) {
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            int idle = server.tcpkeepalive, intvl = server.tcpkeepalive / 3 ? server.tcpkeepalive / 3 : 1, cnt = 3;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        }
    }
    c->next = server.clients_head;
    if (c->next) c->next->prev = c;
    server.clients_head = c;
    server.nclients++;
    return c;
}

client *client_by_id(uint64_t id) {
    for (client *c = server.clients_head; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static void free_replies(client *c) {
    reply_block *b = c->reply_head;
    while (b) {
        reply_block *n = b->next;
        zfree(b);
        b = n;
    }
    c->reply_head = c->reply_tail = NULL;
    c->reply_bytes = 0;
}

static void client_destroy(client *c) {
    multi_reset_client(c);
    pubsub_reset_client(c);
    free_replies(c);
    zfree(c->defer);
    ds_free(c->qbuf);
    ds_free(c->held_in);
    resp_parser_free(&c->parser);
    ds_free(c->name);
    ds_free(c->lib_name);
    ds_free(c->lib_ver);
    zfree(c);
}

client *client_create_fake(void) {
    client *c = zcalloc(sizeof(*c));
    c->id = UINT64_MAX;
    c->resp = 2;
    c->db = &server.dbs[0];
    c->qbuf = ds_empty(0);
    resp_parser_init(&c->parser);
    c->conn.fd = -1;
    c->flags = CLIENT_FAKE | CLIENT_AUTHENTICATED;
    snprintf(c->addr, sizeof(c->addr), "?:0");
    snprintf(c->laddr, sizeof(c->laddr), "?:0");
    return c;
}

void client_free_fake(client *c) { client_destroy(c); }

ds client_fake_take_reply(client *c) {
    ds out = ds_empty(c->reply_bytes);
    for (reply_block *b = c->reply_head; b; b = b->next) out = ds_cat(out, b->buf, b->used);
    free_replies(c);
    return out;
}

static int is_in_pending(client *c) { return (c->flags & CLIENT_PENDING_WRITE) != 0; }

/* Unlinks c from the client list and the pending list; asks the loop to
 * close the socket. Memory goes when the loop releases the connection. */
static void client_unlink(client *c) {
    if (c->prev) c->prev->next = c->next;
    else server.clients_head = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    server.nclients--;
    if (is_in_pending(c)) {
        client **pp = &server.pending_write;
        while (*pp && *pp != c) pp = &(*pp)->next_pending;
        if (*pp) *pp = c->next_pending;
        c->flags &= ~CLIENT_PENDING_WRITE;
    }
    if (server.current_client == c) server.current_client = NULL;
}

void client_close_async(client *c) {
    if (c->flags & CLIENT_IN_CLOSE_LIST) return;
    blocked_client_closing(c);
    c->flags |= CLIENT_CLOSE_ASAP | CLIENT_IN_CLOSE_LIST;
    c->next_close = server.close_list;
    server.close_list = c;
}

static void close_clients_in_list(void) {
    while (server.close_list) {
        client *c = server.close_list;
        server.close_list = c->next_close;
        client_unlink(c);
        if (c->conn.fd >= 0) el_conn_close(server.loop, &c->conn);
        else client_destroy(c);
    }
}

void client_free_all(void) {
    for (client *c = server.clients_head; c; c = c->next) client_close_async(c);
    close_clients_in_list();
}

/* ---------------- reading ---------------- */

static void run_parsed(client *c, const char *buf, size_t len, size_t *consumed);

/* Processes commands found in buf; returns bytes of buf consumed. Stops at
 * the first incomplete request, a protocol error or a paused client. */
static size_t process_input(client *c, const char *buf, size_t len) {
    size_t consumed = 0;
    run_parsed(c, buf, len, &consumed);
    return consumed;
}

static void protocol_error(client *c, const char *err) {
    server_log(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s", err,
               (unsigned long long)c->id, c->addr);
    add_reply_error(c, err);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* A command that blocks the client (CLIENT_BLOCKED) ends the loop: the
 * rest of the input waits in the query buffer until blocked.c unblocks it.
 * After each command, clients waiting for keys it made ready are served. */
static void run_parsed(client *c, const char *buf, size_t len, size_t *consumed) {
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED))) {
        if (server.paused && (c->flags & CLIENT_PAUSED_INPUT)) break;
        size_t start = c->parser.pos;
        const char *err = NULL;
        int r = resp_parse(&c->parser, buf, len, &err);
        if (r == RESP_INCOMPLETE) break;
        if (r == RESP_ERROR) {
            protocol_error(c, err);
            break;
        }
        c->argc = (int)c->parser.argc;
        c->argv = c->parser.argv;
        if (c->argc == 0) {
            resp_parser_next(&c->parser);
            *consumed = c->parser.pos;
            continue;
        }
        if (process_command(c) == 0) {
            /* not executed now (paused): rewind to the command's start */
            c->parser.pos = start;
            resp_parser_next(&c->parser);
            c->flags |= CLIENT_PAUSED_INPUT;
            c->argc = 0;
            break;
        }
        c->argc = 0;
        resp_parser_next(&c->parser);
        *consumed = c->parser.pos;
        if (blocked_ready_pending) blocked_handle_ready_keys();
    }
}

/* Runs the input held while c's own command was running (nested events):
 * it follows everything already in the query buffer. */
static void absorb_held_input(client *c) {
    while (c->held_in && ds_len(c->held_in) && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))) {
        c->qbuf = ds_cat(c->qbuf, c->held_in, ds_len(c->held_in));
        ds_setlen(c->held_in, 0);
        if (c->flags & (CLIENT_PAUSED_INPUT | CLIENT_BLOCKED)) return;
        size_t used = process_input(c, c->qbuf, ds_len(c->qbuf));
        if (used) {
            ds_consume(c->qbuf, used);
            resp_parser_shift(&c->parser, used);
        }
    }
}

static void received(el_conn *conn, const char *buf, size_t len) {
    client *c = (client *)conn;
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    c->net_in += (long long)len;
    server.stat_net_input_bytes += (long long)len;
    server.stat_io_reads++;
    c->last_interaction_ms = server.mstime = util_mstime();
    if (c->flags & CLIENT_EXECUTING) {
        /* its command is still running (we are inside nested events): the
         * argv it runs with may live in qbuf, so keep these bytes aside */
        if (!c->held_in) c->held_in = ds_empty(len);
        c->held_in = ds_cat(c->held_in, buf, len);
        return;
    }
    client *saved = server.current_client;
    server.current_client = c;
    if (ds_len(c->qbuf) == 0 && !(c->flags & CLIENT_PAUSED_INPUT)) {
        /* fast path: parse straight from the receive buffer */
        size_t used = process_input(c, buf, len);
        resp_parser_shift(&c->parser, used);
        if (used < len && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)))
            c->qbuf = ds_cat(c->qbuf, buf + used, len - used);
    } else {
        size_t hint = resp_parser_bulk_hint(&c->parser, ds_len(c->qbuf));
        c->qbuf = ds_make_room(c->qbuf, hint > len ? hint : len);
        c->qbuf = ds_cat(c->qbuf, buf, len);
        if (!(c->flags & CLIENT_PAUSED_INPUT) || !server.paused) {
            c->flags &= ~CLIENT_PAUSED_INPUT;
            size_t used = process_input(c, c->qbuf, ds_len(c->qbuf));
            if (used) {
                ds_consume(c->qbuf, used);
                resp_parser_shift(&c->parser, used);
            }
        }
    }
    absorb_held_input(c);
    server.current_client = saved;
    if ((long long)ds_len(c->qbuf) > server.client_max_querybuf_len) {
        server_log(LL_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s (qbuf initial bytes: \"%.32s\")",
                   (unsigned long long)c->id, c->addr, c->qbuf);
        client_close_async(c);
    }
}

void client_process_buffered(client *c) {
    if (c->flags & (CLIENT_BLOCKED | CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    client *saved = server.current_client;
    server.current_client = c;
    size_t used = process_input(c, c->qbuf, ds_len(c->qbuf));
    if (used) {
        ds_consume(c->qbuf, used);
        resp_parser_shift(&c->parser, used);
    }
    absorb_held_input(c);
    server.current_client = saved;
}

/* Runs the input that paused clients kept, once the pause is over. */
void clients_process_paused(void) {
    for (client *c = server.clients_head; c; c = c->next) {
        if (!(c->flags & CLIENT_PAUSED_INPUT)) continue;
        c->flags &= ~CLIENT_PAUSED_INPUT;
        server.current_client = c;
        size_t used = process_input(c, c->qbuf, ds_len(c->qbuf));
        if (used) {
            ds_consume(c->qbuf, used);
            resp_parser_shift(&c->parser, used);
        }
        absorb_held_input(c);
        server.current_client = NULL;
    }
}

static void read_ended(el_conn *conn, int err) {
    client *c = (client *)conn;
    c->flags |= CLIENT_READ_ENDED;
    if (err) server_log(LL_VERBOSE, "Reading from client: %s", strerror(-err));
    else server_log(LL_VERBOSE, "Client closed connection id=%llu addr=%s", (unsigned long long)c->id, c->addr);
    /* a half-closed client still gets the replies to what it sent */
    if (c->reply_bytes || c->inflight) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else client_close_async(c);
}

/* ---------------- writing ---------------- */

static void start_send(client *c) {
    int n = 0;
    size_t total = 0;
    reply_block *b = c->reply_head;
    size_t off = c->head_sent;
    while (b && n < CLIENT_IOV_MAX) {
        if (b->used > off) {
            c->iov[n].iov_base = b->buf + off;
            c->iov[n].iov_len = b->used - off;
            total += b->used - off;
            n++;
        }
        off = 0;
        b = b->next;
    }
    if (n == 0) return;
    c->inflight = total;
    int r = el_conn_send(server.loop, &c->conn, c->iov, n);
    if (r < 0) {
        c->inflight = 0;
        client_close_async(c);
    }
}

static void sent(el_conn *conn, ssize_t n) {
    client *c = (client *)conn;
    c->inflight = 0;
    if (n < 0) {
        server_log(LL_VERBOSE, "Error writing to client: %s", strerror((int)-n));
        client_close_async(c);
        return;
    }
    size_t done = (size_t)n;
    c->net_out += (long long)done;
    server.stat_net_output_bytes += (long long)done;
    server.stat_io_writes++;
    c->reply_bytes -= done;
    while (done && c->reply_head) {
        reply_block *b = c->reply_head;
        size_t avail = b->used - c->head_sent;
        if (done < avail) {
            c->head_sent += done;
            done = 0;
            break;
        }
        done -= avail;
        c->head_sent = 0;
        if (b == c->reply_tail && b->size > b->used) {
            /* keep the tail block for reuse: it is fully sent */
            b->used = 0;
            break;
        }
        c->reply_head = b->next;
        if (!c->reply_head) c->reply_tail = NULL;
        zfree(b);
    }
    if (c->reply_bytes) mark_pending(c);
    else if (c->flags & CLIENT_CLOSE_AFTER_REPLY) client_close_async(c);
}

void clients_flush_pending(void) {
    client *list = server.pending_write, *keep = NULL;
    int hold = wal_must_hold_replies();
    server.pending_write = NULL;
    while (list) {
        client *c = list;
        list = c->next_pending;
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (c->flags & CLIENT_CLOSE_ASAP) continue;
        if (c->flags & CLIENT_EXECUTING) {
            /* nested events: its reply is being built (deferred lengths
             * may still be patched), so it waits for the command's end */
            c->next_pending = keep;
            keep = c;
            continue;
        }
        if (hold) {
            /* appendfsync always: replies of this turn wait for this
             * turn's log records (written by wal_before_sleep) */
            if (c->reply_turn == server.loop_turn) c->wal_wait_seq = wal_pending_seq();
            if (!wal_is_durable(c->wal_wait_seq)) {
                c->next_pending = keep;
                keep = c;
                continue;
            }
        }
        if (c->conn.el_flags & EL_F_SENDING) continue; /* sent() re-marks it */
        if (c->reply_bytes == 0) {
            if (c->flags & CLIENT_CLOSE_AFTER_REPLY) client_close_async(c);
            continue;
        }
        start_send(c);
    }
    while (keep) {
        client *c = keep;
        keep = c->next_pending;
        mark_pending(c);
    }
    /* inside nested events a running command may still use any client */
    if (!server.in_nested_events) close_clients_in_list();
}

void server_process_events_while_blocked(void) {
    if (server.in_nested_events || !server.loop) return;
    server.in_nested_events = 1;
    /* a running script sees a frozen clock (keys do not expire under it, as
     * in Redis 7): the time other clients' input sets is undone after */
    int64_t frozen = server.mstime;
    server.mstime = util_mstime();
    el_poll_nested(server.loop);
    clients_flush_pending();
    if (server.in_script) server.mstime = frozen;
    server.in_nested_events = 0;
}

/* ---------------- loop callbacks ---------------- */

static void accepted(el_loop *loop, int fd) {
    server.stat_numconnections++;
    if ((long long)server.nclients >= server.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        ssize_t w = write(fd, msg, sizeof(msg) - 1);
        (void)w;
        close(fd);
        server.stat_rejected_conn++;
        return;
    }
    client *c = client_create(fd);
    if (server.protected_mode && (!server.requirepass || !server.requirepass[0]) &&
        strncmp(c->addr, "127.", 4) != 0 && strncmp(c->addr, "::1:", 4) != 0 &&
        strncmp(c->addr, "::ffff:127.", 11) != 0) {
        /* like Redis: refuse at once, before reading anything */
        static const char msg[] =
            "-DENIED Phenix is running in protected mode: no password is set for the default user, so only "
            "loopback clients are accepted. Set a password (requirepass), or run CONFIG SET protected-mode no "
            "from a loopback client, or start the server with --protected-mode no.\r\n";
        ssize_t w = write(fd, msg, sizeof(msg) - 1);
        (void)w;
        server.stat_rejected_conn++;
        c->conn.fd = -1;
        close(fd);
        client_close_async(c);
        return;
    }
    int r = el_conn_start(loop, &c->conn, fd);
    if (r < 0) {
        server_log(LL_WARNING, "Error registering fd event for the new client: %s", strerror(-r));
        close(fd);
        c->conn.fd = -1;
        client_close_async(c);
        return;
    }
    server_log(LL_VERBOSE, "Accepted %s", c->addr);
}

static void released(el_conn *conn) { client_destroy((client *)conn); }

static void before_sleep(el_loop *loop);

const el_callbacks server_loop_callbacks = {
    .accepted = accepted,
    .received = received,
    .read_ended = read_ended,
    .sent = sent,
    .released = released,
    .before_sleep = before_sleep,
};

void server_before_sleep(void);

static void before_sleep(el_loop *loop) {
    (void)loop;
    server_before_sleep();
    blocked_before_sleep();
    clients_flush_pending();
    server.loop_turn++;
}

/* Closes clients idle longer than `timeout`, and those protected-mode
 * refuses. */
void client_cron(void) {
    int64_t now = util_mstime();
    for (client *c = server.clients_head; c; c = c->next) {
        if (server.maxidletime && now - c->last_interaction_ms > (int64_t)server.maxidletime * 1000 &&
            !c->inflight && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_BLOCKED))) {
            server_log(LL_VERBOSE, "Closing idle client");
            client_close_async(c);
        }
        if (c->qbuf && ds_len(c->qbuf) == 0 && ds_avail(c->qbuf) > 64 * 1024 &&
            !(c->flags & CLIENT_PAUSED_INPUT)) {
            ds_free(c->qbuf);
            c->qbuf = ds_empty(0);
        }
    }
    blocked_cron();
}

ds client_info_string(ds s, client *c) {
    char flags[16];
    int f = 0;
    if (c->flags & CLIENT_BLOCKED) flags[f++] = 'b';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLIENT_CLOSE_ASAP) flags[f++] = 'A';
    if (c->flags & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (c->flags & CLIENT_PUBSUB) flags[f++] = 'P';
    if (!f) flags[f++] = 'N';
    flags[f] = '\0';
    int64_t now = util_mstime();
    size_t obl = c->reply_tail ? c->reply_tail->used : 0;
    long long oll = 0;
    for (reply_block *b = c->reply_head; b; b = b->next) oll++;
    long long sub, psub, ssub;
    pubsub_client_counts(c, &sub, &psub, &ssub);
    return ds_catfmt(s,
                     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%lld psub=%lld "
                     "ssub=%lld multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=%zu "
                     "oll=%lld omem=%zu tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d "
                     "lib-name=%s lib-ver=%s",
                     (unsigned long long)c->id, c->addr, c->laddr, c->conn.fd, c->name ? c->name : "",
                     (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_interaction_ms) / 1000),
                     flags, c->db->id, sub, psub, ssub, ds_len(c->qbuf), ds_avail(c->qbuf), ds_alloc_size(c->qbuf), obl, oll,
                     c->reply_bytes, sizeof(*c) + ds_alloc_size(c->qbuf) + c->reply_bytes,
                     c->lastcmd ? c->lastcmd->name : "NULL", c->resp, c->lib_name ? c->lib_name : "",
                     c->lib_ver ? c->lib_ver : "");
}

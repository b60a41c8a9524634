/* cmd_conn.c -- connection commands: PING ECHO QUIT HELLO AUTH RESET and
 * the CLIENT family. Replies and errors follow Redis 7's wording. */
#include <strings.h>

#include "server.h"

void pingCommand(client *c) {
    if (c->argc > 2) {
        add_reply_err_arity(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) { /* subscribed mode: a pubsub-shaped reply */
        add_reply_array_len(c, 2);
        add_reply_bulk_cstr(c, "pong");
        add_reply_bulk(c, c->argc == 2 ? c->argv[1].ptr : "", c->argc == 2 ? c->argv[1].len : 0);
        return;
    }
    if (c->argc == 1) add_reply_raw(c, "+PONG\r\n", 7);
    else add_reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

void echoCommand(client *c) { add_reply_bulk(c, c->argv[1].ptr, c->argv[1].len); }

void quitCommand(client *c) {
    add_reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Checks a password for the default user (the only user until ACLs). */
static int check_password(client *c, resp_arg *user, resp_arg *pass) {
    if (user && !util_eqi(user->ptr, user->len, "default")) return 0;
    const char *rp = server.requirepass;
    if (!rp || !rp[0]) return user != NULL; /* nopass default user accepts anything via 2-arg form */
    return strlen(rp) == pass->len && memcmp(rp, pass->ptr, pass->len) == 0;
}

static void set_authenticated(client *c) {
    c->flags |= CLIENT_AUTHENTICATED;
    c->parser.unauthenticated = 0;
}

void authCommand(client *c) {
    if (c->argc > 3) {
        add_reply_err_syntax(c);
        return;
    }
    resp_arg *user = c->argc == 3 ? &c->argv[1] : NULL;
    resp_arg *pass = &c->argv[c->argc - 1];
    if (!user && (!server.requirepass || !server.requirepass[0])) {
        add_reply_error(c, "AUTH <password> called without any password configured for the default user. "
                           "Are you sure your configuration is correct?");
        return;
    }
    if (!check_password(c, user, pass)) {
        add_reply_error(c, "-WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    set_authenticated(c);
    add_reply_ok(c);
}

static int valid_client_name(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] < '!' || p[i] > '~') return 0;
    return 1;
}

static int set_client_name(client *c, resp_arg *a) {
    if (!valid_client_name(a->ptr, a->len)) {
        add_reply_error(c, "Client names cannot contain spaces, newlines or special characters.");
        return -1;
    }
    ds_free(c->name);
    c->name = a->len ? ds_new(a->ptr, a->len) : NULL;
    return 0;
}

void helloCommand(client *c) {
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            add_reply_error(c, "Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            add_reply_error(c, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    resp_arg *user = NULL, *pass = NULL, *name = NULL;
    for (int i = next; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (arg_is(c, i, "auth") && left >= 2) {
            user = &c->argv[i + 1];
            pass = &c->argv[i + 2];
            i += 2;
        } else if (arg_is(c, i, "setname") && left >= 1) {
            name = &c->argv[i + 1];
            i++;
        } else {
            add_reply_errorf(c, "Syntax error in HELLO option '%.*s'", (int)c->argv[i].len, c->argv[i].ptr);
            return;
        }
    }
    if (user) {
        int ok = (!server.requirepass || !server.requirepass[0])
                     ? util_eqi(user->ptr, user->len, "default")
                     : check_password(c, user, pass);
        if (!ok) {
            add_reply_error(c, "-WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        set_authenticated(c);
    }
    if (!(c->flags & CLIENT_AUTHENTICATED)) {
        add_reply_error(c, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                           "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                           "select the RESP protocol version at the same time");
        return;
    }
    if (name && set_client_name(c, name) < 0) return;
    if (ver) c->resp = (int)ver;
    add_reply_map_len(c, 7);
    add_reply_bulk_cstr(c, "server");
    add_reply_bulk_cstr(c, "redis");
    add_reply_bulk_cstr(c, "version");
    add_reply_bulk_cstr(c, PHENIX_REDIS_COMPAT_VERSION);
    add_reply_bulk_cstr(c, "proto");
    add_reply_long(c, c->resp);
    add_reply_bulk_cstr(c, "id");
    add_reply_long(c, (long long)c->id);
    add_reply_bulk_cstr(c, "mode");
    add_reply_bulk_cstr(c, "standalone");
    add_reply_bulk_cstr(c, "role");
    add_reply_bulk_cstr(c, "master");
    add_reply_bulk_cstr(c, "modules");
    add_reply_array_len(c, 0);
}

void resetCommand(client *c) {
    multi_reset_client(c);
    pubsub_reset_client(c);
    c->resp = 2;
    c->db = &server.dbs[0];
    ds_free(c->name);
    c->name = NULL;
    c->flags &= ~CLIENT_NO_EVICT;
    if (server.requirepass && server.requirepass[0]) {
        c->flags &= ~CLIENT_AUTHENTICATED;
        c->parser.unauthenticated = 1;
    }
    add_reply_status(c, "RESET");
}

/* CLIENT KILL filters. */
typedef struct kill_filter {
    uint64_t id;
    int has_id;
    const char *addr, *laddr, *user;
    size_t addrlen, laddrlen, userlen;
    int skipme;
    int type; /* -1 any, 0 normal, 1 master, 2 replica, 3 pubsub */
} kill_filter;

static int filter_match(kill_filter *f, client *me, client *c) {
    if (f->skipme && c == me) return 0;
    if (f->has_id && c->id != f->id) return 0;
    if (f->addr && !(strlen(c->addr) == f->addrlen && !memcmp(c->addr, f->addr, f->addrlen))) return 0;
    if (f->laddr && !(strlen(c->laddr) == f->laddrlen && !memcmp(c->laddr, f->laddr, f->laddrlen))) return 0;
    if (f->user && !util_eqi(f->user, f->userlen, "default")) return 0;
    if (f->type == 1 || f->type == 2) return 0; /* no masters or replicas yet */
    if (f->type >= 0 && (f->type == 3) != ((c->flags & CLIENT_PUBSUB) != 0)) return 0;
    return 1;
}

static int parse_client_type(resp_arg *a) {
    if (util_eqi(a->ptr, a->len, "normal")) return 0;
    if (util_eqi(a->ptr, a->len, "master")) return 1;
    if (util_eqi(a->ptr, a->len, "replica") || util_eqi(a->ptr, a->len, "slave")) return 2;
    if (util_eqi(a->ptr, a->len, "pubsub")) return 3;
    return -2;
}

static void client_kill(client *c) {
    kill_filter f;
    memset(&f, 0, sizeof(f));
    f.type = -1;
    if (c->argc == 3) { /* old form: CLIENT KILL addr:port */
        f.addr = c->argv[2].ptr;
        f.addrlen = c->argv[2].len;
        for (client *x = server.clients_head; x; x = x->next) {
            if (filter_match(&f, c, x)) {
                if (x == c) {
                    add_reply_ok(c);
                    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
                } else {
                    client_close_async(x);
                    add_reply_ok(c);
                }
                return;
            }
        }
        add_reply_error(c, "No such client");
        return;
    }
    f.skipme = 1;
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            add_reply_err_syntax(c);
            return;
        }
        resp_arg *v = &c->argv[i + 1];
        if (arg_is(c, i, "id")) {
            long long id;
            if (!util_str2ll(v->ptr, v->len, &id) || id <= 0) {
                add_reply_error(c, "client-id should be greater than 0");
                return;
            }
            f.id = (uint64_t)id;
            f.has_id = 1;
        } else if (arg_is(c, i, "type")) {
            f.type = parse_client_type(v);
            if (f.type == -2) {
                add_reply_errorf(c, "Unknown client type '%.*s'", (int)v->len, v->ptr);
                return;
            }
        } else if (arg_is(c, i, "addr")) {
            f.addr = v->ptr;
            f.addrlen = v->len;
        } else if (arg_is(c, i, "laddr")) {
            f.laddr = v->ptr;
            f.laddrlen = v->len;
        } else if (arg_is(c, i, "user")) {
            if (!util_eqi(v->ptr, v->len, "default")) {
                add_reply_errorf(c, "No such user '%.*s'", (int)(v->len > 128 ? 128 : v->len), v->ptr);
                return;
            }
            f.user = v->ptr;
            f.userlen = v->len;
        } else if (arg_is(c, i, "skipme")) {
            if (util_eqi(v->ptr, v->len, "yes")) f.skipme = 1;
            else if (util_eqi(v->ptr, v->len, "no")) f.skipme = 0;
            else {
                add_reply_err_syntax(c);
                return;
            }
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    long long killed = 0;
    for (client *x = server.clients_head; x; x = x->next) {
        if (!filter_match(&f, c, x)) continue;
        killed++;
        if (x == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else client_close_async(x);
    }
    /* a client that killed itself still gets this reply: the flag only
     * stops replies queued after it was set, and this one comes first */
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
        c->flags &= ~CLIENT_CLOSE_AFTER_REPLY;
        add_reply_long(c, killed);
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    } else {
        add_reply_long(c, killed);
    }
}

static void client_list(client *c) {
    int type = -1;
    uint64_t *ids = NULL;
    int nids = 0;
    if (c->argc > 2) {
        if (arg_is(c, 2, "type") && c->argc == 4) {
            type = parse_client_type(&c->argv[3]);
            if (type == -2) {
                add_reply_errorf(c, "Unknown client type '%.*s'", (int)c->argv[3].len, c->argv[3].ptr);
                return;
            }
        } else if (arg_is(c, 2, "id") && c->argc >= 4) {
            ids = zmalloc(sizeof(uint64_t) * (size_t)(c->argc - 3));
            for (int i = 3; i < c->argc; i++) {
                long long id;
                if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &id) || id <= 0) {
                    add_reply_error(c, "Invalid client ID");
                    zfree(ids);
                    return;
                }
                ids[nids++] = (uint64_t)id;
            }
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    ds s = ds_empty(256);
    /* oldest first, like Redis */
    client *last = server.clients_head;
    while (last && last->next) last = last->next;
    for (client *x = last; x; x = x->prev) {
        if (type == 1 || type == 2) continue;
        if (type >= 0 && (type == 3) != ((x->flags & CLIENT_PUBSUB) != 0)) continue;
        if (nids) {
            int found = 0;
            for (int i = 0; i < nids; i++) found |= ids[i] == x->id;
            if (!found) continue;
        }
        s = client_info_string(s, x);
        s = ds_cat(s, "\n", 1);
    }
    add_reply_verbatim(c, s, ds_len(s), "txt");
    ds_free(s);
    zfree(ids);
}

void clientCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "id")) {
        add_reply_long(c, (long long)c->id);
    } else if (!strcmp(sub, "setname")) {
        if (set_client_name(c, &c->argv[2]) == 0) add_reply_ok(c);
    } else if (!strcmp(sub, "getname")) {
        if (c->name) add_reply_bulk(c, c->name, ds_len(c->name));
        else add_reply_null(c);
    } else if (!strcmp(sub, "list")) {
        client_list(c);
    } else if (!strcmp(sub, "info")) {
        ds s = client_info_string(ds_empty(256), c);
        s = ds_cat(s, "\n", 1);
        add_reply_verbatim(c, s, ds_len(s), "txt");
        ds_free(s);
    } else if (!strcmp(sub, "kill")) {
        client_kill(c);
    } else if (!strcmp(sub, "setinfo")) {
        resp_arg *v = &c->argv[3];
        if (!valid_client_name(v->ptr, v->len)) {
            add_reply_errorf(c, "%.*s cannot contain spaces, newlines or special characters.", (int)c->argv[2].len,
                             c->argv[2].ptr);
            return;
        }
        if (arg_is(c, 2, "lib-name")) {
            ds_free(c->lib_name);
            c->lib_name = v->len ? ds_new(v->ptr, v->len) : NULL;
        } else if (arg_is(c, 2, "lib-ver")) {
            ds_free(c->lib_ver);
            c->lib_ver = v->len ? ds_new(v->ptr, v->len) : NULL;
        } else {
            add_reply_errorf(c, "Unrecognized option '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
            return;
        }
        add_reply_ok(c);
    } else if (!strcmp(sub, "pause")) {
        long long ms;
        if (arg_long(c, 2, &ms, "timeout is not an integer or out of range") < 0) return;
        if (ms < 0) {
            add_reply_error(c, "timeout is negative");
            return;
        }
        int all = 1;
        if (c->argc == 4) {
            if (arg_is(c, 3, "write")) all = 0;
            else if (!arg_is(c, 3, "all")) {
                add_reply_error(c, "CLIENT PAUSE mode must be WRITE or ALL");
                return;
            }
        } else if (c->argc > 4) {
            add_reply_err_syntax(c);
            return;
        }
        int64_t end = util_mstime() + ms;
        if (!server.paused || end > server.pause_end_ms) server.pause_end_ms = end;
        server.pause_all = server.paused ? (server.pause_all || all) : all;
        server.paused = 1;
        add_reply_ok(c);
    } else if (!strcmp(sub, "unpause")) {
        server.pause_end_ms = 0; /* before_sleep ends the pause and runs held input */
        add_reply_ok(c);
    } else if (!strcmp(sub, "no-evict")) {
        if (arg_is(c, 2, "on")) c->flags |= CLIENT_NO_EVICT;
        else if (arg_is(c, 2, "off")) c->flags &= ~CLIENT_NO_EVICT;
        else {
            add_reply_err_syntax(c);
            return;
        }
        add_reply_ok(c);
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME", "    Return the name of the current connection.",
            "ID", "    Return the ID of the current connection.",
            "INFO", "    Return information about the current client connection.",
            "KILL <ip:port>", "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
            "LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
            "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
            "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "SETNAME <name>", "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "UNPAUSE", "    Stop the current client pause, resuming traffic.",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}

/* config.c -- configuration: the directive table, phenix.conf parsing
 * (redis.conf syntax), CONFIG GET/SET/RESETSTAT/REWRITE.
 *
 * One table describes every directive: its type, where its value lives,
 * its default, its bounds and whether it may change at run time. Loading,
 * CONFIG GET, CONFIG SET and CONFIG REWRITE all read that table, so a
 * directive added here is documented to every path at once.
 *
 * File syntax: one directive per line, arguments split like redis-cli
 * input (quotes and escapes), '#' comments, `include <path>`, sizes with
 * units (1k = 1000, 1kb = 1024, mb, gb), yes/no booleans; a directive given
 * twice takes the last value. The command line's --name value pairs are
 * applied after the file, as extra lines.
 *
 * CONFIG SET of several pairs is atomic: all values are validated first;
 * if one fails, nothing changes. */
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <unistd.h>

#include "el.h"
#include "persist.h"
#include "server.h"

enum { CT_BOOL, CT_INT, CT_LL, CT_MEM, CT_STR, CT_ENUM, CT_SPECIAL };
#define CF_IMMUTABLE 1
#define CF_SENSITIVE 2

typedef struct enum_val {
    const char *name;
    int val;
} enum_val;

typedef struct config_entry {
    const char *name;
    int type;
    int flags;
    void *ptr;
    long long min, max;
    const char *def;
    const enum_val *enums;
    /* CT_SPECIAL: set from args, and format the value */
    int (*set)(int argc, char **argv, ds *err);
    ds (*get)(ds s);
    /* called after a successful runtime set */
    void (*apply)(void);
} config_entry;

static const enum_val loglevel_enum[] = {
    {"debug", LL_DEBUG}, {"verbose", LL_VERBOSE}, {"notice", LL_NOTICE}, {"warning", LL_WARNING}, {NULL, 0}};

static const enum_val appendfsync_enum[] = {{"always", 0}, {"everysec", 1}, {"no", 2}, {NULL, 0}};
static const enum_val maxmemory_policy_enum[] = { /* Redis's order (its error message lists them so) */
    {"volatile-lru", MAXMEMORY_VOLATILE_LRU},       {"volatile-lfu", MAXMEMORY_VOLATILE_LFU},
    {"volatile-random", MAXMEMORY_VOLATILE_RANDOM}, {"volatile-ttl", MAXMEMORY_VOLATILE_TTL},
    {"allkeys-lru", MAXMEMORY_ALLKEYS_LRU},         {"allkeys-lfu", MAXMEMORY_ALLKEYS_LFU},
    {"allkeys-random", MAXMEMORY_ALLKEYS_RANDOM},   {"noeviction", MAXMEMORY_NOEVICTION},
    {NULL, 0}};

static int set_bind(int argc, char **argv, ds *err);
static ds get_bind(ds s);
static int set_obuf(int argc, char **argv, ds *err);
static ds get_obuf(ds s);
static int set_event_loop(int argc, char **argv, ds *err);
static ds get_event_loop(ds s);
static int set_save(int argc, char **argv, ds *err);
static ds get_save(ds s);
static int set_appendonly(int argc, char **argv, ds *err);
static ds get_appendonly(ds s);
static void apply_proto_max_bulk(void);
static void apply_requirepass(void);

static config_entry configs[] = {
    {"bind", CT_SPECIAL, CF_IMMUTABLE, NULL, 0, 0, "* -::*", NULL, set_bind, get_bind, NULL},
    {"port", CT_INT, CF_IMMUTABLE, &server.port, 0, 65535, "6379", NULL, NULL, NULL, NULL},
    {"protected-mode", CT_BOOL, 0, &server.protected_mode, 0, 1, "yes", NULL, NULL, NULL, NULL},
    {"tcp-backlog", CT_INT, CF_IMMUTABLE, &server.tcp_backlog, 0, INT_MAX, "511", NULL, NULL, NULL, NULL},
    {"timeout", CT_INT, 0, &server.maxidletime, 0, INT_MAX, "0", NULL, NULL, NULL, NULL},
    {"tcp-keepalive", CT_INT, 0, &server.tcpkeepalive, 0, INT_MAX, "300", NULL, NULL, NULL, NULL},
    {"daemonize", CT_BOOL, CF_IMMUTABLE, &server.daemonize, 0, 1, "no", NULL, NULL, NULL, NULL},
    {"pidfile", CT_STR, CF_IMMUTABLE, &server.pidfile, 0, 0, "", NULL, NULL, NULL, NULL},
    {"loglevel", CT_ENUM, 0, &server.verbosity, 0, 0, "notice", loglevel_enum, NULL, NULL, NULL},
    {"logfile", CT_STR, CF_IMMUTABLE, &server.logfile, 0, 0, "", NULL, NULL, NULL, NULL},
    {"databases", CT_INT, CF_IMMUTABLE, &server.dbnum, 1, INT_MAX, "16", NULL, NULL, NULL, NULL},
    {"dir", CT_STR, 0, &server.dir, 0, 0, "./", NULL, NULL, NULL, NULL},
    {"event-loop", CT_SPECIAL, CF_IMMUTABLE, NULL, 0, 0, "auto", NULL, set_event_loop, get_event_loop, NULL},
    {"maxclients", CT_LL, 0, &server.maxclients, 1, 4294967295LL, "10000", NULL, NULL, NULL, NULL},
    {"maxmemory", CT_MEM, 0, &server.maxmemory, 0, LLONG_MAX, "0", NULL, NULL, NULL, NULL},
    {"maxmemory-policy", CT_ENUM, 0, &server.maxmemory_policy, 0, 0, "noeviction", maxmemory_policy_enum, NULL, NULL, evict_pool_reset},
    {"maxmemory-samples", CT_INT, 0, &server.maxmemory_samples, 1, 64, "5", NULL, NULL, NULL, NULL},
    {"lfu-log-factor", CT_INT, 0, &server.lfu_log_factor, 0, INT_MAX, "10", NULL, NULL, NULL, NULL},
    {"lfu-decay-time", CT_INT, 0, &server.lfu_decay_time, 0, INT_MAX, "1", NULL, NULL, NULL, NULL},
    {"requirepass", CT_STR, CF_SENSITIVE, &server.requirepass, 0, 0, "", NULL, NULL, NULL, apply_requirepass},
    {"proto-max-bulk-len", CT_MEM, 0, &server.proto_max_bulk_len, 1024 * 1024, 0xFFFFFFF0LL, "512mb", NULL, NULL, NULL, apply_proto_max_bulk},
    {"client-query-buffer-limit", CT_MEM, 0, &server.client_max_querybuf_len, 1024 * 1024, 0xFFFFFFF0LL, "1gb", NULL, NULL, NULL, NULL},
    {"client-output-buffer-limit", CT_SPECIAL, 0, NULL, 0, 0, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", NULL, set_obuf, get_obuf, NULL},
    {"hz", CT_INT, 0, &server.hz, 1, 500, "10", NULL, NULL, NULL, NULL},
    {"slowlog-log-slower-than", CT_LL, 0, &server.slowlog_log_slower_than, -1, LLONG_MAX, "10000", NULL, NULL, NULL, NULL},
    {"slowlog-max-len", CT_LL, 0, &server.slowlog_max_len, 0, LONG_MAX, "128", NULL, NULL, NULL, NULL},
    {"latency-monitor-threshold", CT_LL, 0, &server.latency_monitor_threshold, 0, LLONG_MAX, "0", NULL, NULL, NULL, NULL},
    {"active-expire-effort", CT_INT, 0, &server.active_expire_effort, 1, 10, "1", NULL, NULL, NULL, NULL},
    {"save", CT_SPECIAL, 0, NULL, 0, 0, "", NULL, set_save, get_save, NULL},
    {"appendonly", CT_SPECIAL, 0, NULL, 0, 0, "no", NULL, set_appendonly, get_appendonly, NULL},
    {"appendfsync", CT_ENUM, 0, &server.aof_fsync, 0, 0, "everysec", appendfsync_enum, NULL, NULL, NULL},
    {"appenddirname", CT_STR, CF_IMMUTABLE, &server.aof_dirname, 0, 0, "appendonlydir", NULL, NULL, NULL, NULL},
    {"appendfilename", CT_STR, CF_IMMUTABLE, &server.aof_filename, 0, 0, "appendonly.aof", NULL, NULL, NULL, NULL},
    {"dbfilename", CT_STR, 0, &server.dbfilename, 0, 0, "dump.phx", NULL, NULL, NULL, NULL},
    {"aof-load-truncated", CT_BOOL, 0, &server.aof_load_truncated, 0, 1, "yes", NULL, NULL, NULL, NULL},
    {"auto-aof-rewrite-percentage", CT_INT, 0, &server.aof_rewrite_perc, 0, INT_MAX, "100", NULL, NULL, NULL, NULL},
    {"auto-aof-rewrite-min-size", CT_MEM, 0, &server.aof_rewrite_min_size, 0, LLONG_MAX, "64mb", NULL, NULL, NULL, NULL},
    {"key-load-delay", CT_INT, 0, &server.key_load_delay, 0, 1000000, "0", NULL, NULL, NULL, NULL},
    {"stop-writes-on-bgsave-error", CT_BOOL, 0, &server.stop_writes_on_bgsave_err, 0, 1, "yes", NULL, NULL, NULL, NULL},
    {"notify-keyspace-events", CT_SPECIAL, 0, NULL, 0, 0, "", NULL, notify_config_set, notify_config_get, NULL},
    {"busy-reply-threshold", CT_LL, 0, &server.busy_reply_threshold, 0, LLONG_MAX, "5000", NULL, NULL, NULL, NULL},
    {"lua-time-limit", CT_LL, 0, &server.busy_reply_threshold, 0, LLONG_MAX, "5000", NULL, NULL, NULL, NULL},
    {"acorn-entry-points", CT_LL, 0, &acorn_entry_points, 0, 64, "64", NULL, NULL, NULL, NULL},
    {"busy-poll-us", CT_LL, 0, &el_busy_poll_us, 0, 10000, "50", NULL, NULL, NULL, NULL},
    {"graph-max-traversal", CT_LL, 0, &graph_max_traversal, 1, 1000000000LL, "1000000", NULL, NULL, NULL, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

static config_entry *find_config(const char *name) {
    for (config_entry *c = configs; c->name; c++)
        if (strcasecmp(c->name, name) == 0) return c;
    return NULL;
}

/* ---- specials ---- */

static int set_bind(int argc, char **argv, ds *err) {
    ds s = ds_empty(32);
    for (int i = 0; i < argc; i++) {
        if (i) s = ds_cat(s, " ", 1);
        s = ds_cat(s, argv[i], strlen(argv[i]));
    }
    zfree(server.bind);
    server.bind = zstrdup(s);
    ds_free(s);
    (void)err;
    return 0;
}
static ds get_bind(ds s) { return ds_cat(s, server.bind, strlen(server.bind)); }

static int obuf_class(const char *name) {
    if (!strcasecmp(name, "normal")) return 0;
    if (!strcasecmp(name, "replica") || !strcasecmp(name, "slave")) return 1;
    if (!strcasecmp(name, "pubsub")) return 2;
    return -1;
}

static int set_obuf(int argc, char **argv, ds *err) {
    if (argc % 4 != 0) {
        *err = ds_from_cstr("Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    long long vals[3][3];
    memcpy(vals, server.obuf_limits, sizeof(vals));
    for (int i = 0; i < argc; i += 4) {
        int cls = obuf_class(argv[i]);
        long long hard, soft, secs;
        if (cls < 0) {
            *err = ds_from_cstr("Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (!util_parse_memory(argv[i + 1], &hard) || !util_parse_memory(argv[i + 2], &soft) ||
            !util_str2ll(argv[i + 3], strlen(argv[i + 3]), &secs) || secs < 0) {
            *err = ds_from_cstr("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        vals[cls][0] = hard;
        vals[cls][1] = soft;
        vals[cls][2] = secs;
    }
    memcpy(server.obuf_limits, vals, sizeof(vals));
    return 0;
}

static ds get_obuf(ds s) {
    static const char *names[3] = {"normal", "slave", "pubsub"};
    for (int i = 0; i < 3; i++)
        s = ds_catfmt(s, "%s%s %lld %lld %lld", i ? " " : "", names[i], server.obuf_limits[i][0],
                      server.obuf_limits[i][1], server.obuf_limits[i][2]);
    return s;
}

static int set_event_loop(int argc, char **argv, ds *err) {
    if (argc != 1 || (strcasecmp(argv[0], "auto") && strcasecmp(argv[0], "uring") && strcasecmp(argv[0], "epoll"))) {
        *err = ds_from_cstr("argument must be one of the following: auto, uring, epoll");
        return -1;
    }
    zfree(server.event_loop_mode);
    server.event_loop_mode = zstrdup(argv[0]);
    for (char *p = server.event_loop_mode; *p; p++) *p = (char)tolower((unsigned char)*p);
    return 0;
}
/* CONFIG GET event-loop reports the backend actually running. */
static ds get_event_loop(ds s) {
    const char *v = server.loop ? el_backend_name(server.loop) : server.event_loop_mode;
    return ds_cat(s, v, strlen(v));
}

/* `save <seconds> <changes> [<seconds> <changes> ...]`: save points (a
 * background snapshot when at least <changes> writes happened in the last
 * <seconds>); "" removes them all. One directive holds every point (a
 * second `save` line replaces the first, as every directive here). */
static int set_save(int argc, char **argv, ds *err) {
    if (argc == 1 && argv[0][0] == '\0') {
        server.nsave_points = 0;
        return 0;
    }
    struct save_point pts[16];
    int n = 0;
    ds all = ds_empty(32);
    for (int i = 0; i < argc; i++) {
        if (i) all = ds_cat(all, " ", 1);
        all = ds_cat(all, argv[i], strlen(argv[i]));
    }
    char *save = NULL;
    for (char *t = strtok_r(all, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *c = strtok_r(NULL, " ", &save);
        long long sec, ch;
        if (!c || !util_str2ll(t, strlen(t), &sec) || !util_str2ll(c, strlen(c), &ch) || sec < 1 || ch < 0 ||
            sec > INT_MAX || n == 16) {
            *err = ds_from_cstr("Invalid save parameters: expected pairs of <seconds> <changes> (at most 16)");
            ds_free(all);
            return -1;
        }
        pts[n].seconds = (int)sec;
        pts[n].changes = ch;
        n++;
    }
    ds_free(all);
    memcpy(server.save_points, pts, sizeof(pts[0]) * (size_t)n);
    server.nsave_points = n;
    return 0;
}

static ds get_save(ds s) {
    for (int i = 0; i < server.nsave_points; i++)
        s = ds_catfmt(s, "%s%d %lld", i ? " " : "", server.save_points[i].seconds, server.save_points[i].changes);
    return s;
}

/* `appendonly yes|no`: at run time, yes writes a base snapshot of what is
 * in memory and starts the log; no stops it. */
static int set_appendonly(int argc, char **argv, ds *err) {
    if (argc != 1 || (strcasecmp(argv[0], "no") && strcasecmp(argv[0], "yes"))) {
        *err = ds_from_cstr("argument must be 'yes' or 'no'");
        return -1;
    }
    return wal_set_enabled(!strcasecmp(argv[0], "yes"), err);
}
static ds get_appendonly(ds s) { return ds_cat(s, server.aof_enabled ? "yes" : "no", server.aof_enabled ? 3 : 2); }

static void apply_proto_max_bulk(void) {
    for (client *c = server.clients_head; c; c = c->next) c->parser.max_bulk_len = server.proto_max_bulk_len;
}

static void apply_requirepass(void) {
    /* like Redis: existing connections stay authenticated */
}

/* ---- generic set/get ---- */

static int parse_bool(const char *s) {
    if (!strcasecmp(s, "yes")) return 1;
    if (!strcasecmp(s, "no")) return 0;
    return -1;
}

/* Validates and stores; when dry is set only validates. */
static int config_set_entry(config_entry *ce, int argc, char **argv, ds *err, int dry) {
    if (ce->type == CT_SPECIAL) {
        if (dry) return 0;
        return ce->set(argc, argv, err);
    }
    if (argc != 1) {
        *err = ds_from_cstr("wrong number of arguments");
        return -1;
    }
    const char *v = argv[0];
    switch (ce->type) {
    case CT_BOOL: {
        int b = parse_bool(v);
        if (b < 0) {
            *err = ds_from_cstr("argument must be 'yes' or 'no'");
            return -1;
        }
        if (!dry) *(int *)ce->ptr = b;
        return 0;
    }
    case CT_INT:
    case CT_LL:
    case CT_MEM: {
        long long n;
        int ok = ce->type == CT_MEM ? util_parse_memory(v, &n) : util_str2ll(v, strlen(v), &n);
        if (!ok) {
            *err = ds_from_cstr(ce->type == CT_MEM ? "argument must be a memory value" : "argument couldn't be parsed into an integer");
            return -1;
        }
        if (n < ce->min || n > ce->max) {
            *err = ds_catfmt(ds_empty(64), "argument must be between %lld and %lld inclusive", ce->min, ce->max);
            return -1;
        }
        if (!dry) {
            if (ce->type == CT_INT) *(int *)ce->ptr = (int)n;
            else *(long long *)ce->ptr = n;
        }
        return 0;
    }
    case CT_STR:
        if (!dry) {
            zfree(*(char **)ce->ptr);
            *(char **)ce->ptr = zstrdup(v);
        }
        return 0;
    case CT_ENUM:
        for (const enum_val *e = ce->enums; e->name; e++) {
            if (!strcasecmp(e->name, v)) {
                if (!dry) *(int *)ce->ptr = e->val;
                return 0;
            }
        }
        *err = ds_from_cstr("argument(s) must be one of the following: ");
        for (const enum_val *e = ce->enums; e->name; e++)
            *err = ds_catfmt(*err, "%s%s", e == ce->enums ? "" : ", ", e->name);
        return -1;
    }
    return -1;
}

static ds config_get_value(config_entry *ce, ds s) {
    switch (ce->type) {
    case CT_BOOL: return ds_catfmt(s, "%s", *(int *)ce->ptr ? "yes" : "no");
    case CT_INT: return ds_catfmt(s, "%d", *(int *)ce->ptr);
    case CT_LL:
    case CT_MEM: return ds_catfmt(s, "%lld", *(long long *)ce->ptr);
    case CT_STR: {
        const char *v = *(char **)ce->ptr;
        return ds_cat(s, v ? v : "", v ? strlen(v) : 0);
    }
    case CT_ENUM:
        for (const enum_val *e = ce->enums; e->name; e++)
            if (e->val == *(int *)ce->ptr) return ds_cat(s, e->name, strlen(e->name));
        return s;
    case CT_SPECIAL: return ce->get(s);
    }
    return s;
}

int config_apply(const char *name, int argc, char **argv, ds *err) {
    if (!strcasecmp(name, "include")) {
        if (argc != 1) {
            *err = ds_from_cstr("include needs one path");
            return -1;
        }
        return config_load_file(argv[0], err);
    }
    config_entry *ce = find_config(name);
    if (!ce) {
        *err = ds_catfmt(ds_empty(64), "Bad directive or wrong number of arguments");
        return -1;
    }
    return config_set_entry(ce, argc, argv, err, 0);
}

void config_init_defaults(void) {
    for (config_entry *ce = configs; ce->name; ce++) {
        ds err = NULL;
        long argc;
        ds scratch = ds_empty(32);
        resp_arg *args = NULL;
        size_t cap = 0;
        argc = resp_split_inline(ce->def, strlen(ce->def), &scratch, &args, &cap);
        char **argv = zmalloc(sizeof(char *) * (size_t)(argc + 1));
        for (long i = 0; i < argc; i++) argv[i] = zmemdup(scratch + args[i].off, args[i].len);
        if (argc == 0 && ce->type != CT_SPECIAL) {
            argv[0] = zstrdup("");
            argc = 1;
        }
        if (config_set_entry(ce, (int)argc, argv, &err, 0) != 0) {
            fprintf(stderr, "bad default for %s: %s\n", ce->name, err);
            abort();
        }
        for (long i = 0; i < argc; i++) zfree(argv[i]);
        zfree(argv);
        zfree(args);
        ds_free(scratch);
    }
}

void config_free(void) {
    for (config_entry *ce = configs; ce->name; ce++)
        if (ce->type == CT_STR) {
            zfree(*(char **)ce->ptr);
            *(char **)ce->ptr = NULL;
        }
    zfree(server.bind);
    zfree(server.event_loop_mode);
    server.bind = server.event_loop_mode = NULL;
}

/* Loads config text; origin names it in error messages. */
int config_load_string(const char *text, const char *origin, ds *err) {
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        size_t s = 0;
        while (s < len && isspace((unsigned char)p[s])) s++;
        if (s < len && p[s] != '#') {
            ds scratch = ds_empty(64);
            resp_arg *args = NULL;
            size_t cap = 0;
            long argc = resp_split_inline(p + s, len - s, &scratch, &args, &cap);
            int rc = 0;
            ds e = NULL;
            if (argc < 0) {
                e = ds_from_cstr("Unbalanced quotes in configuration line");
                rc = -1;
            } else if (argc > 0) {
                char **argv = zmalloc(sizeof(char *) * (size_t)argc);
                for (long i = 0; i < argc; i++) argv[i] = zmemdup(scratch + args[i].off, args[i].len);
                rc = config_apply(argv[0], (int)argc - 1, argv + 1, &e);
                for (long i = 0; i < argc; i++) zfree(argv[i]);
                zfree(argv);
            }
            zfree(args);
            ds_free(scratch);
            if (rc != 0) {
                *err = ds_catfmt(ds_empty(128), "Reading the configuration file (%s), at line %d\n>>> '%.*s'\n%s",
                                 origin, lineno, (int)len, p, e ? e : "error");
                ds_free(e);
                return -1;
            }
        }
        p += len;
        if (*p == '\n') p++;
    }
    return 0;
}

int config_load_file(const char *path, ds *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        *err = ds_catfmt(ds_empty(64), "Fatal error, can't open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    ds text = ds_empty(4096);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text = ds_cat(text, buf, n);
    fclose(f);
    int rc = config_load_string(text, path, err);
    ds_free(text);
    return rc;
}

/* ---- CONFIG command ---- */

static void config_get(client *c) {
    dict *seen = dict_create(&ds_set_type);
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (int i = 2; i < c->argc; i++) {
        for (config_entry *ce = configs; ce->name; ce++) {
            if (!util_glob_match(c->argv[i].ptr, c->argv[i].len, ce->name, strlen(ce->name), 1)) continue;
            ds k = ds_from_cstr(ce->name);
            if (!dict_add(seen, k, NULL)) {
                ds_free(k);
                continue;
            }
            add_reply_bulk_cstr(c, ce->name);
            ds v = config_get_value(ce, ds_empty(32));
            add_reply_bulk(c, v, ds_len(v));
            ds_free(v);
            n++;
        }
    }
    set_deferred_map_len(c, h, n);
    dict_release(seen);
}

static void config_set(client *c) {
    if (c->argc < 4 || (c->argc - 2) % 2 != 0) {
        add_reply_err_arity(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    config_entry **ents = zcalloc(sizeof(*ents) * (size_t)npairs);
    char **vals = zcalloc(sizeof(char *) * (size_t)npairs);
    ds err = NULL;
    int failed = -1;
    for (int i = 0; i < npairs && failed < 0; i++) {
        resp_arg *k = &c->argv[2 + i * 2], *v = &c->argv[3 + i * 2];
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(k->len > 120 ? 120 : k->len), k->ptr);
        vals[i] = zmemdup(v->ptr, v->len);
        ents[i] = find_config(name);
        if (!ents[i]) {
            add_reply_errorf(c, "Unknown option or number of arguments for CONFIG SET - '%s'", name);
            failed = i;
            break;
        }
        for (int j = 0; j < i; j++)
            if (ents[j] == ents[i]) {
                add_reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", name);
                failed = i;
            }
        if (failed >= 0) break;
        if (ents[i]->flags & CF_IMMUTABLE) {
            add_reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", name);
            failed = i;
            break;
        }
        char *one[1] = {vals[i]};
        if (ents[i]->type != CT_SPECIAL && config_set_entry(ents[i], 1, one, &err, 1) != 0) {
            add_reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - %s", name, err);
            failed = i;
            break;
        }
    }
    if (failed < 0) {
        for (int i = 0; i < npairs && failed < 0; i++) {
            /* specials split their value into words, like the config file */
            ds scratch = ds_empty(32);
            resp_arg *args = NULL;
            size_t cap = 0;
            long argc = ents[i]->type == CT_SPECIAL ? resp_split_inline(vals[i], strlen(vals[i]), &scratch, &args, &cap) : 1;
            char **argv = zmalloc(sizeof(char *) * (size_t)(argc > 0 ? argc : 1));
            if (ents[i]->type == CT_SPECIAL)
                for (long j = 0; j < argc; j++) argv[j] = zmemdup(scratch + args[j].off, args[j].len);
            else
                argv[0] = zstrdup(vals[i]);
            if (argc < 0 || config_set_entry(ents[i], (int)argc, argv, &err, 0) != 0) {
                add_reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - %s", ents[i]->name,
                                 err ? err : "unbalanced quotes");
                failed = i;
            } else if (ents[i]->apply) {
                ents[i]->apply();
            }
            for (long j = 0; j < (argc > 0 ? argc : (ents[i]->type == CT_SPECIAL ? 0 : 1)); j++) zfree(argv[j]);
            zfree(argv);
            zfree(args);
            ds_free(scratch);
        }
        if (failed < 0) add_reply_ok(c);
    }
    for (int i = 0; i < npairs; i++) zfree(vals[i]);
    zfree(vals);
    zfree(ents);
    ds_free(err);
}

/* Formats a directive line the way CONFIG REWRITE writes it: memory sizes
 * in the largest exact unit (123mb), strings quoted with \\ and \" escaped,
 * everything else bare. */
static ds rewrite_line(ds out, config_entry *ce) {
    out = ds_catfmt(out, "%s ", ce->name);
    if (ce->type == CT_MEM) {
        long long v = *(long long *)ce->ptr;
        static const struct { long long mul; const char *unit; } units[] = {
            {1024LL * 1024 * 1024, "gb"}, {1024LL * 1024, "mb"}, {1024, "kb"}};
        for (size_t i = 0; i < 3; i++)
            if (v && v % units[i].mul == 0) return ds_catfmt(out, "%lld%s\n", v / units[i].mul, units[i].unit);
        return ds_catfmt(out, "%lld\n", v);
    }
    ds v = config_get_value(ce, ds_empty(32));
    if (ce->type == CT_STR || ce->type == CT_SPECIAL) {
        if (ce->type == CT_SPECIAL && strcmp(ce->name, "event-loop") == 0) {
            ds_free(v);
            v = ds_from_cstr(server.event_loop_mode);
        }
        int quote = ce->type == CT_STR || ds_len(v) == 0;
        if (quote) out = ds_cat(out, "\"", 1);
        for (size_t i = 0; i < ds_len(v); i++) {
            if (quote && (v[i] == '"' || v[i] == '\\')) out = ds_cat(out, "\\", 1);
            out = ds_cat(out, &v[i], 1);
        }
        if (quote) out = ds_cat(out, "\"", 1);
        out = ds_cat(out, "\n", 1);
    } else {
        out = ds_catfmt(out, "%s\n", v);
    }
    ds_free(v);
    return out;
}

/* Rewrites the config file: known directives are replaced in place by
 * their current value (first occurrence; later duplicates dropped),
 * comments and unknown lines kept, and non-default values not present
 * yet appended. Written to a temp file and renamed (atomic). */
static int config_rewrite(ds *err) {
    if (!server.config_file) {
        *err = ds_from_cstr("The server is running without a config file");
        return -1;
    }
    FILE *f = fopen(server.config_file, "r");
    ds out = ds_empty(4096);
    char *done = zcalloc(sizeof(configs) / sizeof(configs[0]));
    if (f) {
        char line[8192];
        while (fgets(line, sizeof(line), f)) {
            char name[128];
            if (sscanf(line, " %127s", name) == 1 && name[0] != '#') {
                config_entry *ce = find_config(name);
                if (ce) {
                    size_t idx = (size_t)(ce - configs);
                    if (!done[idx]) {
                        done[idx] = 1;
                        out = rewrite_line(out, ce);
                    }
                    continue;
                }
            }
            out = ds_cat(out, line, strlen(line));
        }
        fclose(f);
    }
    int header = 0;
    for (config_entry *ce = configs; ce->name; ce++) {
        size_t idx = (size_t)(ce - configs);
        if (done[idx]) continue;
        ds v = config_get_value(ce, ds_empty(32));
        int is_default = strcmp(v, ce->def) == 0;
        if (!is_default && ce->type == CT_MEM) {
            long long d;
            if (util_parse_memory(ce->def, &d)) is_default = *(long long *)ce->ptr == d;
        }
        if (!is_default && ce->type == CT_SPECIAL && strcmp(ce->name, "event-loop") == 0)
            is_default = strcmp(server.event_loop_mode, "auto") == 0;
        if (!is_default) {
            if (!header) out = ds_catfmt(out, "# Generated by CONFIG REWRITE\n");
            header = 1;
            out = rewrite_line(out, ce);
        }
        ds_free(v);
    }
    zfree(done);
    ds tmp = ds_catfmt(ds_empty(64), "%s.tmp-%d", server.config_file, (int)getpid());
    FILE *w = fopen(tmp, "w");
    int rc = 0;
    if (!w || fwrite(out, 1, ds_len(out), w) != ds_len(out) || fflush(w) != 0 || fsync(fileno(w)) != 0) {
        *err = ds_catfmt(ds_empty(64), "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (w) fclose(w);
    if (rc == 0 && rename(tmp, server.config_file) != 0) {
        *err = ds_catfmt(ds_empty(64), "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (rc != 0) unlink(tmp);
    ds_free(tmp);
    ds_free(out);
    return rc;
}

void configCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "get")) {
        config_get(c);
    } else if (!strcmp(sub, "set")) {
        config_set(c);
    } else if (!strcmp(sub, "resetstat")) {
        commands_reset_stats();
        server.stat_numcommands = server.stat_numconnections = server.stat_rejected_conn = 0;
        server.stat_expiredkeys = server.stat_evictedkeys = 0;
        server.stat_keyspace_hits = server.stat_keyspace_misses = 0;
        server.stat_net_input_bytes = server.stat_net_output_bytes = 0;
        server.stat_total_error_replies = server.stat_unexpected_error_replies = 0;
        server.stat_io_reads = server.stat_io_writes = 0;
        server.stat_peak_memory = (int64_t)zmalloc_used_memory();
        dict_clear(server.errors);
        add_reply_ok(c);
    } else if (!strcmp(sub, "rewrite")) {
        ds err = NULL;
        if (config_rewrite(&err) == 0) {
            server_log(LL_NOTICE, "CONFIG REWRITE executed with success.");
            add_reply_ok(c);
        } else {
            add_reply_error(c, err);
            ds_free(err);
        }
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
            "RESETSTAT", "    Reset statistics reported by the INFO command.",
            "REWRITE", "    Rewrite the configuration file.",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}

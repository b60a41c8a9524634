/* slowlog.c -- SLOWLOG and the LATENCY monitor.
 *
 * The slow log is a ring of the last slowlog-max-len commands that took
 * longer than slowlog-log-slower-than microseconds (newest first; up to 32
 * arguments of up to 128 bytes each are kept, as Redis does). The latency
 * monitor keeps, per event name, the latest sample, the maximum and a
 * history of the last 160 samples (one per second at most). */
#include "server.h"

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128
#define LATENCY_HISTORY 160

typedef struct slowlog_entry {
    long long id;
    int64_t time;
    int64_t duration;
    int argc;
    ds *argv;
    ds peer, name;
} slowlog_entry;

static slowlog_entry **slowlog;
static long long slowlog_len, slowlog_cap, slowlog_next_id;

typedef struct latency_sample {
    int32_t time;
    uint32_t latency;
} latency_sample;

typedef struct latency_event {
    char name[32];
    latency_sample hist[LATENCY_HISTORY];
    int idx;
    uint32_t max;
    struct latency_event *next;
} latency_event;

static latency_event *latency_events;

void slowlog_init(void) {
    slowlog = NULL;
    slowlog_len = slowlog_cap = 0;
}

static void free_entry(slowlog_entry *e) {
    for (int i = 0; i < e->argc; i++) ds_free(e->argv[i]);
    zfree(e->argv);
    ds_free(e->peer);
    ds_free(e->name);
    zfree(e);
}

static void slowlog_reset(void) {
    for (long long i = 0; i < slowlog_len; i++) free_entry(slowlog[i]);
    slowlog_len = 0;
}

void slowlog_free(void) {
    slowlog_reset();
    zfree(slowlog);
    slowlog = NULL;
    slowlog_cap = 0;
}

void slowlog_push(client *c, int64_t duration_us) {
    if (server.slowlog_log_slower_than < 0 || duration_us < server.slowlog_log_slower_than) return;
    if (server.slowlog_max_len == 0) return;
    slowlog_entry *e = zcalloc(sizeof(*e));
    e->id = slowlog_next_id++;
    e->time = util_mstime() / 1000;
    e->duration = duration_us;
    e->argc = c->argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : c->argc;
    e->argv = zmalloc(sizeof(ds) * (size_t)e->argc);
    for (int i = 0; i < e->argc; i++) {
        if (i == SLOWLOG_MAX_ARGC - 1 && c->argc > SLOWLOG_MAX_ARGC) {
            e->argv[i] = ds_catfmt(ds_empty(48), "... (%d more arguments)", c->argc - SLOWLOG_MAX_ARGC + 1);
        } else if (c->argv[i].len > SLOWLOG_MAX_ARGLEN) {
            e->argv[i] = ds_catfmt(ds_new(c->argv[i].ptr, SLOWLOG_MAX_ARGLEN), "... (%zu more bytes)",
                                   c->argv[i].len - SLOWLOG_MAX_ARGLEN);
        } else {
            e->argv[i] = ds_new(c->argv[i].ptr, c->argv[i].len);
        }
    }
    e->peer = ds_from_cstr(c->addr);
    e->name = ds_from_cstr(c->name ? c->name : "");
    if (slowlog_len == slowlog_cap) {
        slowlog_cap = slowlog_cap ? slowlog_cap * 2 : 16;
        slowlog = zrealloc(slowlog, sizeof(*slowlog) * (size_t)slowlog_cap);
    }
    memmove(slowlog + 1, slowlog, sizeof(*slowlog) * (size_t)slowlog_len);
    slowlog[0] = e;
    slowlog_len++;
    while (slowlog_len > server.slowlog_max_len) free_entry(slowlog[--slowlog_len]);
}

void slowlogCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "len")) {
        add_reply_long(c, slowlog_len);
    } else if (!strcmp(sub, "reset")) {
        slowlog_reset();
        add_reply_ok(c);
    } else if (!strcmp(sub, "get")) {
        long long count = 10;
        if (c->argc > 3) {
            add_reply_err_arity(c);
            return;
        }
        if (c->argc == 3) {
            if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1) {
                add_reply_error(c, "count should be greater than or equal to -1");
                return;
            }
            if (count == -1) count = slowlog_len;
        }
        if (count > slowlog_len) count = slowlog_len;
        add_reply_array_len(c, count);
        for (long long i = 0; i < count; i++) {
            slowlog_entry *e = slowlog[i];
            add_reply_array_len(c, 6);
            add_reply_long(c, e->id);
            add_reply_long(c, e->time);
            add_reply_long(c, e->duration);
            add_reply_array_len(c, e->argc);
            for (int j = 0; j < e->argc; j++) add_reply_bulk(c, e->argv[j], ds_len(e->argv[j]));
            add_reply_bulk(c, e->peer, ds_len(e->peer));
            add_reply_bulk(c, e->name, ds_len(e->name));
        }
    } else {
        static const char *help[] = {
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
            "    Reset the slowlog.", "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}

static latency_event *find_event(const char *name, int create) {
    for (latency_event *e = latency_events; e; e = e->next)
        if (!strcmp(e->name, name)) return e;
    if (!create) return NULL;
    latency_event *e = zcalloc(sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->next = latency_events;
    latency_events = e;
    return e;
}

void latency_add_sample(const char *event, int64_t ms) {
    latency_event *e = find_event(event, 1);
    int32_t now = (int32_t)(util_mstime() / 1000);
    int prev = (e->idx + LATENCY_HISTORY - 1) % LATENCY_HISTORY;
    if ((uint32_t)ms > e->max) e->max = (uint32_t)ms;
    if (e->hist[prev].time == now) {
        if ((uint32_t)ms > e->hist[prev].latency) e->hist[prev].latency = (uint32_t)ms;
        return;
    }
    e->hist[e->idx].time = now;
    e->hist[e->idx].latency = (uint32_t)ms;
    e->idx = (e->idx + 1) % LATENCY_HISTORY;
}

void latency_free(void) {
    while (latency_events) {
        latency_event *n = latency_events->next;
        zfree(latency_events);
        latency_events = n;
    }
}

static int reset_event(const char *name, size_t len) {
    latency_event **pp = &latency_events;
    while (*pp) {
        if (strlen((*pp)->name) == len && !memcmp((*pp)->name, name, len)) {
            latency_event *e = *pp;
            *pp = e->next;
            zfree(e);
            return 1;
        }
        pp = &(*pp)->next;
    }
    return 0;
}

void latencyCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "latest")) {
        long long n = 0;
        for (latency_event *e = latency_events; e; e = e->next) n++;
        add_reply_array_len(c, n);
        for (latency_event *e = latency_events; e; e = e->next) {
            int last = (e->idx + LATENCY_HISTORY - 1) % LATENCY_HISTORY;
            add_reply_array_len(c, 4);
            add_reply_bulk_cstr(c, e->name);
            add_reply_long(c, e->hist[last].time);
            add_reply_long(c, e->hist[last].latency);
            add_reply_long(c, e->max);
        }
    } else if (!strcmp(sub, "history")) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(c->argv[2].len > 60 ? 60 : c->argv[2].len), c->argv[2].ptr);
        latency_event *e = find_event(name, 0);
        if (!e) {
            add_reply_array_len(c, 0);
            return;
        }
        long long n = 0;
        for (int i = 0; i < LATENCY_HISTORY; i++) n += e->hist[i].time != 0;
        add_reply_array_len(c, n);
        for (int k = 0; k < LATENCY_HISTORY; k++) {
            int i = (e->idx + k) % LATENCY_HISTORY;
            if (!e->hist[i].time) continue;
            add_reply_array_len(c, 2);
            add_reply_long(c, e->hist[i].time);
            add_reply_long(c, e->hist[i].latency);
        }
    } else if (!strcmp(sub, "reset")) {
        long long n = 0;
        if (c->argc == 2) {
            while (latency_events) {
                latency_event *x = latency_events->next;
                zfree(latency_events);
                latency_events = x;
                n++;
            }
        } else {
            for (int i = 2; i < c->argc; i++) n += reset_event(c->argv[i].ptr, c->argv[i].len);
        }
        add_reply_long(c, n);
    } else {
        static const char *help[] = {
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "HISTORY <event>", "    Return time-latency samples for the <event> class.",
            "LATEST", "    Return the latest latency samples for all events.",
            "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)", "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}

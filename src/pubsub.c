/* pubsub.c -- publish/subscribe: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE
 * PUNSUBSCRIBE PUBLISH SSUBSCRIBE SUNSUBSCRIBE SPUBLISH and PUBSUB, with
 * Redis 7's replies and error wording.
 *
 * State. Three server-wide dicts map a name to the set of clients that
 * subscribed to it: channels, shard channels (SSUBSCRIBE: in standalone mode
 * a separate namespace with the same delivery) and patterns. Each subscribed
 * client keeps the mirror image, three sets of the names it subscribed to
 * (struct pubsub_state, allocated on the first subscription). Invariant:
 * client c is in server_side[kind][name] exactly when name is in
 * c->pubsub->names[kind]; an empty server-side set is removed at once, so
 * PUBSUB CHANNELS and NUMPAT count live names only.
 *
 * Delivery. PUBLISH looks the channel up (O(1)) and then matches the
 * message against every pattern (O(patterns), glob matching as KEYS does,
 * util_glob_match); each receiver gets a "message" or "pmessage" frame,
 * as a RESP3 push (>) or a RESP2 array (*). Receivers' output limits use
 * the pubsub class of client-output-buffer-limit (networking.c picks the
 * class from CLIENT_PUBSUB).
 *
 * Subscribed mode. A RESP2 client with at least one subscription may only
 * run (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING (answered ["pong", msg]),
 * QUIT and RESET; process_command asks pubsub_refuse_in_context. RESP3
 * clients run anything: pushes are told apart from replies by their type.
 *
 * Names: pubsub_* for the functions other files call, file-local helpers
 * without prefix; kinds are PS_CHANNEL, PS_SHARD, PS_PATTERN.
 *
 * Ideas from the Redis pub/sub documentation (message shapes, counts);
 * the code is this project's own. */
#include "server.h"

enum { PS_CHANNEL = 0, PS_SHARD = 1, PS_PATTERN = 2, PS_KINDS = 3 };

struct pubsub_state {
    dict *names[PS_KINDS]; /* ds set of what this client subscribed to */
};

static uint64_t ptr_hash(const void *k) { return dict_hash_bytes(&k, sizeof(k)); }
static int ptr_eq(const void *a, const void *b) { return a == b; }
static const dict_type client_set_type = {ptr_hash, ptr_eq, NULL, NULL};

static void client_set_free(void *v) { dict_release(v); }
static const dict_type name_to_clients_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, client_set_free};

static dict *server_side[PS_KINDS];

/* The verbs of each kind's replies, indexed by kind. */
static const char *const sub_verb[PS_KINDS] = {"subscribe", "ssubscribe", "psubscribe"};
static const char *const unsub_verb[PS_KINDS] = {"unsubscribe", "sunsubscribe", "punsubscribe"};

void pubsub_init(void) {
    for (int k = 0; k < PS_KINDS; k++) server_side[k] = dict_create(&name_to_clients_type);
}

void pubsub_free(void) {
    for (int k = 0; k < PS_KINDS; k++) {
        dict_release(server_side[k]);
        server_side[k] = NULL;
    }
}

static long long count_kind(client *c, int kind) {
    return c->pubsub && c->pubsub->names[kind] ? (long long)dict_size(c->pubsub->names[kind]) : 0;
}

/* The count a (un)subscribe reply carries: channels + patterns, or shard
 * channels for the S variants (as Redis counts them). */
static long long reply_count(client *c, int kind) {
    if (kind == PS_SHARD) return count_kind(c, PS_SHARD);
    return count_kind(c, PS_CHANNEL) + count_kind(c, PS_PATTERN);
}

static void update_flag(client *c) {
    if (count_kind(c, PS_CHANNEL) + count_kind(c, PS_SHARD) + count_kind(c, PS_PATTERN)) c->flags |= CLIENT_PUBSUB;
    else c->flags &= ~CLIENT_PUBSUB;
}

static void reply_sub_event(client *c, const char *verb, const char *name, size_t len, long long count) {
    add_reply_push_len(c, 3);
    add_reply_bulk_cstr(c, verb);
    if (name) add_reply_bulk(c, name, len);
    else add_reply_null(c);
    add_reply_long(c, count);
}

/* Subscribes c to name; returns 1 when it was not subscribed yet. */
static int subscribe(client *c, int kind, const char *name, size_t len) {
    if (!c->pubsub) c->pubsub = zcalloc(sizeof(*c->pubsub));
    if (!c->pubsub->names[kind]) c->pubsub->names[kind] = dict_create(&ds_set_type);
    if (ds_dict_find(c->pubsub->names[kind], name, len)) return 0;
    dict_add(c->pubsub->names[kind], ds_new(name, len), NULL);
    dict_entry *e = ds_dict_find(server_side[kind], name, len);
    if (!e) {
        e = dict_add_raw(server_side[kind], ds_new(name, len), NULL);
        dict_entry_set_val(e, dict_create(&client_set_type));
    }
    dict_add(dict_entry_val(e), c, NULL);
    update_flag(c);
    return 1;
}

/* Unsubscribes c from name; returns 1 when it was subscribed. */
static int unsubscribe(client *c, int kind, const char *name, size_t len) {
    if (!c->pubsub || !c->pubsub->names[kind]) return 0;
    dict_entry *mine = ds_dict_find(c->pubsub->names[kind], name, len);
    if (!mine) return 0;
    dict_entry *e = ds_dict_find(server_side[kind], name, len);
    if (e) {
        dict_delete(dict_entry_val(e), c);
        if (dict_size(dict_entry_val(e)) == 0) dict_delete(server_side[kind], dict_entry_key(e));
    }
    dict_delete(c->pubsub->names[kind], dict_entry_key(mine));
    update_flag(c);
    return 1;
}

/* Unsubscribes c from every name of kind; with notify, one reply per
 * name (or one with a null name when there was none). */
static void unsubscribe_all(client *c, int kind, int notify) {
    long long n = 0;
    dict *mine = c->pubsub ? c->pubsub->names[kind] : NULL;
    if (mine) {
        dict_iter it;
        dict_iter_init(&it, mine);
        for (dict_entry *e; (e = dict_iter_next(&it));) {
            ds name = ds_dup(dict_entry_key(e));
            unsubscribe(c, kind, name, ds_len(name));
            if (notify) reply_sub_event(c, unsub_verb[kind], name, ds_len(name), reply_count(c, kind));
            ds_free(name);
            n++;
        }
        dict_iter_release(&it);
    }
    if (notify && n == 0) reply_sub_event(c, unsub_verb[kind], NULL, 0, reply_count(c, kind));
}

void pubsub_reset_client(client *c) {
    if (!c->pubsub) return;
    for (int k = 0; k < PS_KINDS; k++) {
        unsubscribe_all(c, k, 0);
        dict_release(c->pubsub->names[k]);
        c->pubsub->names[k] = NULL;
    }
    zfree(c->pubsub);
    c->pubsub = NULL;
    c->flags &= ~CLIENT_PUBSUB;
}

void pubsub_client_counts(client *c, long long *sub, long long *psub, long long *ssub) {
    *sub = count_kind(c, PS_CHANNEL);
    *psub = count_kind(c, PS_PATTERN);
    *ssub = count_kind(c, PS_SHARD);
}

size_t pubsub_count_channels(void) { return dict_size(server_side[PS_CHANNEL]); }
size_t pubsub_count_patterns(void) { return dict_size(server_side[PS_PATTERN]); }
size_t pubsub_count_shard_channels(void) { return dict_size(server_side[PS_SHARD]); }

int pubsub_refuse_in_context(client *c, const command *cmd) {
    if (!(c->flags & CLIENT_PUBSUB) || c->resp > 2) return 0;
    command_proc *p = cmd->proc;
    if (p == subscribeCommand || p == unsubscribeCommand || p == psubscribeCommand || p == punsubscribeCommand ||
        p == ssubscribeCommand || p == sunsubscribeCommand || p == pingCommand || p == quitCommand ||
        p == resetCommand)
        return 0;
    add_reply_errorf(c, "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                        "allowed in this context", cmd->name);
    return 1;
}

/* ---------------- delivery ---------------- */

static void deliver(client *to, const char *kind_word, const char *pat, size_t plen, const char *ch, size_t chlen,
                    const char *msg, size_t msglen) {
    add_reply_push_len(to, pat ? 4 : 3);
    add_reply_bulk_cstr(to, kind_word);
    if (pat) add_reply_bulk(to, pat, plen);
    add_reply_bulk(to, ch, chlen);
    add_reply_bulk(to, msg, msglen);
}

static long long publish_kind(int kind, const char *ch, size_t chlen, const char *msg, size_t msglen) {
    long long receivers = 0;
    dict_entry *e = ds_dict_find(server_side[kind], ch, chlen);
    if (e) {
        dict_iter it;
        dict_iter_init(&it, dict_entry_val(e));
        for (dict_entry *ce; (ce = dict_iter_next(&it));) {
            deliver(dict_entry_key(ce), kind == PS_SHARD ? "smessage" : "message", NULL, 0, ch, chlen, msg, msglen);
            receivers++;
        }
        dict_iter_release(&it);
    }
    if (kind == PS_SHARD || dict_size(server_side[PS_PATTERN]) == 0) return receivers;
    dict_iter it;
    dict_iter_init(&it, server_side[PS_PATTERN]);
    for (dict_entry *pe; (pe = dict_iter_next(&it));) {
        ds pat = dict_entry_key(pe);
        if (!util_glob_match(pat, ds_len(pat), ch, chlen, 0)) continue;
        dict_iter cit;
        dict_iter_init(&cit, dict_entry_val(pe));
        for (dict_entry *ce; (ce = dict_iter_next(&cit));) {
            deliver(dict_entry_key(ce), "pmessage", pat, ds_len(pat), ch, chlen, msg, msglen);
            receivers++;
        }
        dict_iter_release(&cit);
    }
    dict_iter_release(&it);
    return receivers;
}

long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t msglen) {
    return publish_kind(PS_CHANNEL, ch, chlen, msg, msglen);
}

/* ---------------- commands ---------------- */

static void subscribe_generic(client *c, int kind) {
    for (int i = 1; i < c->argc; i++) {
        subscribe(c, kind, c->argv[i].ptr, c->argv[i].len);
        reply_sub_event(c, sub_verb[kind], c->argv[i].ptr, c->argv[i].len, reply_count(c, kind));
    }
}

static void unsubscribe_generic(client *c, int kind) {
    if (c->argc == 1) {
        unsubscribe_all(c, kind, 1);
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        unsubscribe(c, kind, c->argv[i].ptr, c->argv[i].len);
        reply_sub_event(c, unsub_verb[kind], c->argv[i].ptr, c->argv[i].len, reply_count(c, kind));
    }
}

void subscribeCommand(client *c) { subscribe_generic(c, PS_CHANNEL); }
void unsubscribeCommand(client *c) { unsubscribe_generic(c, PS_CHANNEL); }
void psubscribeCommand(client *c) { subscribe_generic(c, PS_PATTERN); }
void punsubscribeCommand(client *c) { unsubscribe_generic(c, PS_PATTERN); }
void ssubscribeCommand(client *c) { subscribe_generic(c, PS_SHARD); }
void sunsubscribeCommand(client *c) { unsubscribe_generic(c, PS_SHARD); }

void publishCommand(client *c) {
    add_reply_long(c, publish_kind(PS_CHANNEL, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len));
}

void spublishCommand(client *c) {
    add_reply_long(c, publish_kind(PS_SHARD, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len));
}

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active names matching. */
static void reply_names(client *c, int kind) {
    const resp_arg *pat = c->argc == 3 ? &c->argv[2] : NULL;
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    dict_iter it;
    dict_iter_init(&it, server_side[kind]);
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        ds name = dict_entry_key(e);
        if (pat && !util_glob_match(pat->ptr, pat->len, name, ds_len(name), 0)) continue;
        add_reply_bulk(c, name, ds_len(name));
        n++;
    }
    dict_iter_release(&it);
    set_deferred_array_len(c, h, n);
}

/* PUBSUB NUMSUB / SHARDNUMSUB ch...: each channel and its subscribers. */
static void reply_numsub(client *c, int kind) {
    add_reply_map_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        dict_entry *e = ds_dict_find(server_side[kind], c->argv[i].ptr, c->argv[i].len);
        add_reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
        add_reply_long(c, e ? (long long)dict_size(dict_entry_val(e)) : 0);
    }
}

void pubsubCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "channels")) {
        reply_names(c, PS_CHANNEL);
    } else if (!strcmp(sub, "shardchannels")) {
        reply_names(c, PS_SHARD);
    } else if (!strcmp(sub, "numsub")) {
        reply_numsub(c, PS_CHANNEL);
    } else if (!strcmp(sub, "shardnumsub")) {
        reply_numsub(c, PS_SHARD);
    } else if (!strcmp(sub, "numpat")) {
        add_reply_long(c, (long long)dict_size(server_side[PS_PATTERN]));
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Print this help.",
            NULL};
        add_reply_help(c, help);
    }
}

/* notify.c -- keyspace notifications: the notify-keyspace-events directive
 * and the publishing of key events over pub/sub, as Redis 7 does them.
 *
 * A write command that changes key k of database n with event e (for
 * example "lpush") calls notify_keyspace_event(NOTIFY_LIST, "lpush", k,
 * len, n). When notify-keyspace-events enables the event's class and K,
 * the server publishes e on "__keyspace@n__:k"; when it enables the class
 * and E, it publishes k on "__keyevent@n__:e". The call sites are one line
 * each, in db.c and the t_*.c files, after the change is made.
 *
 * Classes (the directive's letters): g generic (del, expire, rename...),
 * $ strings, l lists, s sets, h hashes, z sorted sets, x expired (when a
 * key is expired, lazily or by the active cycle), e evicted, t streams,
 * m key misses, d module events, n new keys; A is g$lshzxetd, as in Redis
 * (so that Redis configurations read back the same). Phenix adds p for
 * entities (ph.set, ph.patch), given explicitly: A does not include it,
 * nor does it include n or m. Without K
 * or E nothing is published, whatever the classes (as in Redis). Phenix
 * publishes no t or d events: it has no streams and no modules; the
 * letters are accepted so that configurations written for Redis load.
 * e "evicted" comes from evict.c, m "keymiss" from every read lookup that
 * finds no key (db_lookup_read).
 *
 * Costs: with the directive empty (the default) a call site costs one
 * test of notify_flags (notify_keyspace_event is a macro); otherwise two
 * channel names are formatted and pubsub_publish runs for each.
 *
 * Names: notify_* for what other files call. Ideas from the Redis keyspace
 * notification documentation; the code is this project's own. */
#include "server.h"

int notify_flags;

/* Letters in the order CONFIG GET prints them; A covers the first ten. */
static const struct {
    char letter;
    int flag;
} letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST}, {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},   {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},  {'d', NOTIFY_MODULE}, {'p', NOTIFY_ENTITY},  {'n', NOTIFY_NEW},
    {'K', NOTIFY_KEYSPACE},
    {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};
#define NOTIFY_ALL                                                                                          \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | \
     NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* Parses the directive's letters; -1 on an unknown one. */
static int parse_flags(const char *s) {
    int flags = 0;
    for (; *s; s++) {
        if (*s == 'A') {
            flags |= NOTIFY_ALL;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
            if (letters[i].letter == *s) break;
        if (i == sizeof(letters) / sizeof(letters[0])) return -1;
        flags |= letters[i].flag;
    }
    return flags;
}

int notify_config_set(int argc, char **argv, ds *err) {
    int flags = argc == 0 ? 0 : argc == 1 ? parse_flags(argv[0]) : -1;
    if (flags < 0) {
        *err = ds_from_cstr("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    notify_flags = flags;
    return 0;
}

ds notify_config_get(ds s) {
    int all = (notify_flags & NOTIFY_ALL) == NOTIFY_ALL;
    if (all) s = ds_cat(s, "A", 1);
    for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
        if (all && (letters[i].flag & NOTIFY_ALL)) continue;
        if (notify_flags & letters[i].flag) s = ds_cat(s, &letters[i].letter, 1);
    }
    return s;
}

void notify_publish(int type, const char *event, const char *key, size_t keylen, int dbid) {
    if (!(notify_flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return;
    size_t evlen = strlen(event);
    if (notify_flags & NOTIFY_KEYSPACE) {
        ds ch = ds_catfmt(ds_empty(32 + keylen), "__keyspace@%d__:", dbid);
        ch = ds_cat(ch, key, keylen);
        pubsub_publish(ch, ds_len(ch), event, evlen);
        ds_free(ch);
    }
    if (notify_flags & NOTIFY_KEYEVENT) {
        ds ch = ds_catfmt(ds_empty(32 + evlen), "__keyevent@%d__:%s", dbid, event);
        pubsub_publish(ch, ds_len(ch), key, keylen);
        ds_free(ch);
    }
}

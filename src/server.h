/* server.h -- the server's shared types and the functions the command
 * families call. Pure modules (resp, dict, buf, util, hnsw, vec_dist) never
 * include this header.
 *
 * Ownership model: the main thread owns every client, database and value.
 * A client's argv points into its query buffer (or the event loop's receive
 * buffer) and is valid only while its command runs: a command that keeps
 * an argument copies it. */
#ifndef PHENIX_SERVER_H
#define PHENIX_SERVER_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "buf.h"
#include "dict.h"
#include "el.h"
#include "resp.h"
#include "util.h"
#include "zmalloc.h"

#define PHENIX_VERSION "0.1.0"
/* What INFO's redis_version reports: clients gate features on it. */
#define PHENIX_REDIS_COMPAT_VERSION "7.2.0"

/* ---- logging (log.c) ---- */
enum { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING };
void server_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Async-signal-safe write of a raw message to the log. */
void server_log_raw_fd(const char *msg);
int log_fd(void);

/* ---- values (object.c) ---- */
enum { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_ENTITY = 5, OBJ_TYPE_MAX = 8 };
/* Encodings, named as OBJECT ENCODING reports them (Redis's names where
 * Redis has the same idea). */
enum {
    ENC_RAW = 0, ENC_INT = 1, ENC_HASHTABLE = 2, ENC_LINKEDLIST = 4, ENC_INTSET = 6, ENC_SKIPLIST = 7,
    ENC_EMBSTR = 8, ENC_QUICKLIST = 9, ENC_LISTPACK = 11, ENC_ENTITY = 12
};
#define EMBSTR_MAX 44

#define OBJ_LFU_INIT 5 /* a new key's LFU counter: not evicted before keys never read again */

/* maxmemory-policy values (evict.c). */
enum {
    MAXMEMORY_NOEVICTION = 0,
    MAXMEMORY_ALLKEYS_LRU,
    MAXMEMORY_VOLATILE_LRU,
    MAXMEMORY_ALLKEYS_LFU,
    MAXMEMORY_VOLATILE_LFU,
    MAXMEMORY_ALLKEYS_RANDOM,
    MAXMEMORY_VOLATILE_RANDOM,
    MAXMEMORY_VOLATILE_TTL
};

typedef struct pobj {
    uint8_t type;
    uint8_t enc;
    uint16_t lfu;  /* LFU access counter (evict.c), OBJ_LFU_INIT when new */
    uint32_t lru;  /* seconds clock of last access (OBJECT IDLETIME) */
    union {
        long long i; /* ENC_INT */
        ds s;        /* ENC_RAW / ENC_EMBSTR */
        void *p;
    } v;
} pobj;

/* New string object holding a copy of p[0..len); integers that round-trip
 * are stored as ENC_INT, short strings embedded in one allocation. */
/* Per-type operations of non-string values. Each t_<type>.c defines its
 * table (list_type_ops, hash_type_ops, set_type_ops, zset_type_ops,
 * entity_type_ops); object.c dispatches through them. They are weak
 * symbols so that a type not built in yet simply has no table. */
typedef struct obj_type_ops {
    const char *name;                    /* what TYPE replies */
    void (*free)(pobj *o);               /* frees o->v.p (not o) */
    void *(*dup)(const pobj *o);         /* deep copy of o->v.p (COPY) */
    size_t (*mem)(const pobj *o);        /* bytes of o->v.p (MEMORY USAGE) */
} obj_type_ops;
extern const obj_type_ops list_type_ops __attribute__((weak));
extern const obj_type_ops hash_type_ops __attribute__((weak));
extern const obj_type_ops set_type_ops __attribute__((weak));
extern const obj_type_ops zset_type_ops __attribute__((weak));
extern const obj_type_ops entity_type_ops __attribute__((weak));
/* New object of a non-string type holding ptr (ownership taken). */
pobj *obj_new(int type, int enc, void *ptr);

pobj *obj_new_string(const char *p, size_t len);
/* New string object that takes ownership of s. */
pobj *obj_new_string_ds(ds s);
pobj *obj_new_int(long long v);
void obj_free(pobj *o);
void obj_free_void(void *o);
pobj *obj_dup(const pobj *o);
/* Borrowed bytes of a string object: for ENC_INT the digits are written
 * into buf (>= 24 bytes). */
const char *obj_str(const pobj *o, char *buf, size_t *len);
/* Makes a string object's bytes modifiable (ENC_RAW) and returns its ds. */
ds obj_str_unshare(pobj *o);
/* Size in bytes of a value, approximately (MEMORY USAGE). */
size_t obj_mem_usage(const pobj *o);
const char *obj_type_name(const pobj *o);
const char *obj_enc_name(const pobj *o);
uint32_t lru_clock(void);

/* ---- keyspace (db.c) ---- */
typedef struct db {
    dict *keys;    /* ds -> pobj* */
    dict *expires; /* ds (shared with keys) -> int64 unix ms */
    int id;
    uint64_t expire_cursor;
    long long avg_ttl;
    dict *watched_keys;        /* key -> clients WATCHing it (multi.c), lazily */
    struct collection **colls; /* vector/entity collections of this db */
    int ncolls;
} db;

/* Dict helpers for ds keys (db.c): hash, equality, destructor, and a lookup
 * by bytes that allocates nothing for keys under 256 bytes (the key is
 * viewed as a ds on the stack). */
uint64_t ds_dict_hash(const void *k);
int ds_dict_eq(const void *a, const void *b);
void ds_dict_free(void *k);
dict_entry *ds_dict_find(dict *d, const char *p, size_t len);

extern const dict_type keyspace_dict_type;
extern const dict_type expires_dict_type;
extern const dict_type ds_set_type;     /* ds keys, no values, case-sensitive */
extern const dict_type command_dict_type; /* case-insensitive ds keys */

void db_init_all(void);
void db_free_all(void);
/* Looks a key up for reading/writing: expires it lazily; NULL if absent. */
pobj *db_lookup_read(db *d, const char *key, size_t len);
pobj *db_lookup_write(db *d, const char *key, size_t len);
/* Adds or replaces key's value (takes ownership of val). keep_ttl keeps an
 * existing expire. */
void db_set(db *d, const char *key, size_t len, pobj *val, int keep_ttl);
/* Adds key (which must be absent), taking ownership of val. Returns the
 * keyspace's own copy of the key (valid while the key exists). */
ds db_add(db *d, const char *key, size_t len, pobj *val);
int db_delete(db *d, const char *key, size_t len);
void db_set_expire(db *d, const char *key, size_t len, int64_t when_ms);
int db_remove_expire(db *d, const char *key, size_t len);
/* -1 when the key has no expire. */
int64_t db_get_expire(db *d, const char *key, size_t len);
long long db_flush(db *d);
void db_active_expire_cycle(int64_t budget_us);
int db_key_expired(db *d, const char *key, size_t len);

/* ---- clients and replies (networking.c) ---- */
typedef struct reply_block {
    struct reply_block *next;
    size_t size, used;
    char buf[];
} reply_block;

#define CLIENT_CLOSE_AFTER_REPLY (1u << 0)
#define CLIENT_CLOSE_ASAP (1u << 1)
#define CLIENT_PENDING_WRITE (1u << 2)
#define CLIENT_AUTHENTICATED (1u << 3)
#define CLIENT_READ_ENDED (1u << 4)
#define CLIENT_PAUSED_INPUT (1u << 5)
#define CLIENT_NO_EVICT (1u << 6)
#define CLIENT_IN_CLOSE_LIST (1u << 8)
#define CLIENT_BLOCKED (1u << 9)       /* waits in blocked.c (BLPOP ...): input held */
#define CLIENT_MULTI (1u << 11)      /* queueing commands for EXEC (multi.c) */
#define CLIENT_DIRTY_CAS (1u << 12)  /* a WATCHed key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC (1u << 13) /* a command was refused while queueing */
#define CLIENT_DENY_BLOCKING (1u << 10) /* MULTI/scripts: blocking commands answer as on timeout */
#define CLIENT_EXECUTING (1u << 14)  /* a command of this client is running (call_command) */
#define CLIENT_PUBSUB (1u << 22)     /* has a (P|S)SUBSCRIBE subscription (pubsub.c) */
#define CLIENT_FAKE (1u << 23)       /* no socket; replies are collected (script.c's caller client) */

#define CLIENT_IOV_MAX 64

struct command;

typedef struct client {
    el_conn conn; /* first member: the loop hands back this pointer */
    uint64_t id;
    uint32_t flags;
    int resp; /* 2 or 3 */
    db *db;
    ds qbuf;
    resp_parser parser;
    int argc;
    resp_arg *argv;
    struct command *cmd, *lastcmd;
    reply_block *reply_head, *reply_tail;
    size_t reply_bytes;  /* queued, not yet sent */
    size_t head_sent;    /* bytes of reply_head already sent */
    size_t inflight;     /* bytes in the send in flight */
    struct iovec iov[CLIENT_IOV_MAX];
    ds name, lib_name, lib_ver;
    int64_t ctime_ms, last_interaction_ms;
    int64_t obuf_soft_since_ms;
    char addr[64], laddr[64];
    struct client *prev, *next;       /* all clients */
    struct client *next_pending;      /* pending writes */
    struct client *next_close;        /* close list */
    long long net_in, net_out, commands;
    struct multi_state *mstate;   /* MULTI queue (multi.c), NULL outside MULTI */
    struct watched_key *watched;  /* WATCHed keys (multi.c) */
    int nwatched;
    struct {
        reply_block *block;
        size_t off;
    } *defer; /* deferred aggregate lengths being built (networking.c) */
    int defer_cap;
    struct blocking_state *bstate; /* blocked.c, set while CLIENT_BLOCKED */
    ds held_in; /* input that arrived while its own command ran (nested events), or NULL */
    unsigned long long reply_turn; /* loop turn of the last reply queued */
    uint64_t wal_wait_seq;  /* appendfsync always: log record its queued replies wait for */
    struct pubsub_state *pubsub; /* subscriptions (pubsub.c), NULL when none yet */
} client;

/* Reply helpers: queue RESP bytes to c; they degrade RESP3 types for RESP2
 * clients as Redis does. */
void add_reply_raw(client *c, const char *p, size_t len);
void add_reply_ok(client *c);
void add_reply_status(client *c, const char *s);
void add_reply_error(client *c, const char *msg);  /* msg without '-', may start with a code */
void add_reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void add_reply_long(client *c, long long v);
void add_reply_bulk(client *c, const char *p, size_t len);
void add_reply_bulk_cstr(client *c, const char *s);
void add_reply_bulk_obj(client *c, const pobj *o);
void add_reply_bulk_long(client *c, long long v);
void add_reply_null(client *c);
void add_reply_null_array(client *c);
void add_reply_array_len(client *c, long long n);
void add_reply_map_len(client *c, long long n);
void add_reply_set_len(client *c, long long n);
void add_reply_push_len(client *c, long long n);
void add_reply_double(client *c, double d);
void add_reply_bool(client *c, int b);
void add_reply_bignum(client *c, const char *digits);
void add_reply_verbatim(client *c, const char *p, size_t len, const char *ext);
void add_reply_help(client *c, const char **lines);
void add_reply_long_double_bulk(client *c, long double v);
/* Deferred aggregate length: returns a handle to fill in later. */
void *add_reply_deferred_len(client *c);
void set_deferred_array_len(client *c, void *h, long long n);
void set_deferred_map_len(client *c, void *h, long long n);

void add_reply_err_arity(client *c);
void add_reply_err_syntax(client *c);
void add_reply_err_wrongtype(client *c);
void add_reply_err_not_int(client *c);

/* Looks key up (for_write: no hit/miss counting) expecting a value of
 * type. Replies WRONGTYPE and returns -1 when it holds another type;
 * otherwise returns 0 with *out set (NULL when the key is absent). */
int db_lookup_typed(client *c, const resp_arg *k, int type, int for_write, pobj **out);

client *client_create(int fd);
/* Schedules c to be closed at the end of the current turn. */
void client_close_async(client *c);
void client_free_all(void);
void clients_flush_pending(void);
void clients_process_paused(void);
/* Runs the commands c has buffered (c was just unblocked); does nothing
 * for a blocked or closing client. */
void client_process_buffered(client *c);
void client_cron(void);
/* "id=.. addr=.. " line for CLIENT LIST/INFO. */
ds client_info_string(ds s, client *c);
client *client_by_id(uint64_t id);
/* A client without socket, outside the client list, whose replies are
 * collected (scripts run redis.call() on one): client_fake_take_reply
 * returns the queued reply bytes as a new ds and empties the queue. */
client *client_create_fake(void);
void client_free_fake(client *c);
ds client_fake_take_reply(client *c);

/* ---- commands (commands.c) ---- */
typedef void command_proc(client *c);

#define CMD_WRITE (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_ADMIN (1u << 3)
#define CMD_PUBSUB (1u << 4)
#define CMD_NOSCRIPT (1u << 5)
#define CMD_BLOCKING (1u << 6)
#define CMD_LOADING (1u << 7)
#define CMD_STALE (1u << 8)
#define CMD_SKIP_MONITOR (1u << 9)
#define CMD_SKIP_SLOWLOG (1u << 10)
#define CMD_FAST (1u << 11)
#define CMD_NO_AUTH (1u << 12)
#define CMD_MAY_REPLICATE (1u << 13)
#define CMD_SENTINEL (1u << 14)
#define CMD_ONLY_SENTINEL (1u << 15)
#define CMD_NO_MANDATORY_KEYS (1u << 16)
#define CMD_PROTECTED (1u << 17)
#define CMD_ALLOW_BUSY (1u << 18)
#define CMD_NO_MULTI (1u << 19)
#define CMD_MOVABLE_KEYS (1u << 20)

typedef struct command {
    const char *name;     /* lower case; "parent|sub" for subcommands */
    command_proc *proc;   /* NULL for containers of subcommands */
    int arity;
    const char *flags_str, *acl_str, *group, *since, *complexity, *summary, *syntax;
    int first_key, last_key, key_step;
    uint32_t flags;
    struct command *parent;
    dict *subcommands; /* ds(sub name) -> command* */
    const char *shortname; /* name after '|' */
    long long calls, usec, rejected_calls, failed_calls;
    void *latency_hist;
} command;

void commands_init(void);
void commands_free(void);
command *command_lookup(const char *name, size_t len);
/* Resolves argv to a command or subcommand; NULL if unknown. */
command *command_lookup_argv(resp_arg *argv, int argc);
void commands_reset_stats(void);
extern dict *server_commands;

/* ---- config (config.c) ---- */
int config_load_file(const char *path, ds *err);
int config_load_string(const char *text, const char *origin, ds *err);
/* Applies one directive (name + args); returns 0 or -1 with *err. */
int config_apply(const char *name, int argc, char **argv, ds *err);
void config_init_defaults(void);
void config_free(void);
void configCommand(client *c);

/* ---- slowlog and latency (slowlog.c) ---- */
void slowlog_init(void);
void slowlog_free(void);
void slowlog_push(client *c, int64_t duration_us);
void latency_add_sample(const char *event, int64_t ms);
void latency_free(void);

/* ---- server state (server.c) ---- */
struct server {
    pid_t pid;
    int64_t start_ms;
    char *config_file;      /* absolute path, or NULL */
    char *executable;
    el_loop *loop;
    int listen_fds[16];
    int nlisten;
    /* config */
    char *bind;
    int port;
    int protected_mode;
    int tcp_backlog;
    int maxidletime; /* seconds, timeout */
    int tcpkeepalive;
    int daemonize;
    char *pidfile;
    int verbosity;
    char *logfile;
    int dbnum;
    char *dir;
    char *event_loop_mode;
    long long maxclients;
    long long maxmemory;
    int maxmemory_policy;  /* MAXMEMORY_* (evict.c) */
    int maxmemory_samples; /* keys sampled per eviction round and database */
    int lfu_log_factor, lfu_decay_time;
    char *requirepass;
    long long proto_max_bulk_len;
    long long client_max_querybuf_len;
    long long obuf_limits[3][3]; /* normal, replica, pubsub x hard, soft, seconds */
    int hz;
    long long slowlog_log_slower_than;
    long long slowlog_max_len;
    long long latency_monitor_threshold;
    int active_expire_effort;
    /* runtime */
    db *dbs;
    client *clients_head;
    size_t nclients;
    client *pending_write;
    client *close_list;
    client *current_client;
    uint64_t next_client_id;
    int64_t pause_end_ms;
    int pause_all; /* 1 = ALL, 0 = WRITE */
    int paused;
    int shutdown_asap;
    int shutdown_nosave, shutdown_save, shutdown_force; /* SHUTDOWN NOSAVE|SAVE, FORCE */
    long long cron_loops;
    int64_t mstime; /* cached clock, see server_mstime() */
    /* stats */
    long long stat_numcommands, stat_numconnections, stat_rejected_conn;
    long long stat_expiredkeys, stat_evictedkeys, stat_keyspace_hits, stat_keyspace_misses;
    long long stat_net_input_bytes, stat_net_output_bytes;
    long long stat_total_error_replies, stat_unexpected_error_replies;
    long long stat_expired_time_cap_reached, stat_io_reads, stat_io_writes;
    dict *errors; /* error code -> count (errorstats) */
    long long dirty;
    int64_t stat_peak_memory;
    int64_t lastsave;
    int in_nested_events; /* inside server_process_events_while_blocked */
    /* persistence (persist.h has the rest) */
    int loading;          /* loading a snapshot or log: -LOADING for most commands */
    char *dbfilename;
    struct save_point {
        int seconds;
        long long changes;
    } save_points[16];
    int nsave_points;
    int stop_writes_on_bgsave_err;
    int aof_enabled;      /* appendonly (the log runs when wal.c says so) */
    int aof_fsync;        /* appendfsync: 0 always, 1 everysec, 2 no */
    char *aof_dirname, *aof_filename;
    int aof_load_truncated;
    int aof_rewrite_perc;
    long long aof_rewrite_min_size;
    int call_depth;       /* nesting of call_command (EXEC, scripts) */
    int key_load_delay;   /* microseconds to sleep per key loaded (tests of LOADING) */
    unsigned long long loop_turn; /* loop turns so far (replies of a turn wait for its log records) */
    /* scripting (script.c) */
    long long busy_reply_threshold; /* ms a script runs before others get -BUSY (lua-time-limit) */
    int in_script;   /* a script (EVAL/FCALL) is running: its redis.call()s run on script_client */
    int script_busy; /* the running script passed busy_reply_threshold: -BUSY for most commands */
    struct client *script_client; /* the fake client redis.call() runs commands on */
    struct client *script_caller; /* the client whose EVAL/FCALL is running, or NULL */
};

extern struct server server;

int64_t server_mstime(void);
/* Serves sockets once, without waiting, from inside a long operation
 * (loading a data set, a long script): accepts, reads and runs the commands
 * other clients sent (they see -LOADING or -BUSY unless their command is
 * allowed then) and sends replies. The client whose command is running gets
 * its new input held until that command ends, and no client is freed
 * meanwhile. Timers do not run. A no-op when already inside one. */
void server_process_events_while_blocked(void);
void server_shutdown_and_exit(int code);
int server_prepare_shutdown(void);
/* Bind/listen on configured addresses; returns 0 or -1 (logged). */
int server_listen(void);
void server_count_error(const char *msg);
void server_incr_dirty(long long n);

/* ---- command implementations ---- */
void call_command(client *c);
int process_command(client *c);

/* connection */
void pingCommand(client *c);
void echoCommand(client *c);
void quitCommand(client *c);
void helloCommand(client *c);
void authCommand(client *c);
void selectCommand(client *c);
void resetCommand(client *c);
void clientCommand(client *c);
/* server */
void infoCommand(client *c);
void dbsizeCommand(client *c);
void flushdbCommand(client *c);
void flushallCommand(client *c);
void timeCommand(client *c);
void shutdownCommand(client *c);
void slowlogCommand(client *c);
void latencyCommand(client *c);
void memoryCommand(client *c);
void debugCommand(client *c);
void commandCommand(client *c);
void lastsaveCommand(client *c);
void moduleCommand(client *c);
/* strings */
void setCommand(client *c);
void getCommand(client *c);
void getsetCommand(client *c);
void getdelCommand(client *c);
void getexCommand(client *c);
void mgetCommand(client *c);
void msetCommand(client *c);
void msetnxCommand(client *c);
void setnxCommand(client *c);
void setexCommand(client *c);
void psetexCommand(client *c);
void appendCommand(client *c);
void strlenCommand(client *c);
void incrCommand(client *c);
void decrCommand(client *c);
void incrbyCommand(client *c);
void decrbyCommand(client *c);
void incrbyfloatCommand(client *c);
void getrangeCommand(client *c);
void setrangeCommand(client *c);
void lcsCommand(client *c);
/* keys */
void delCommand(client *c);
void unlinkCommand(client *c);
void existsCommand(client *c);
void typeCommand(client *c);
void keysCommand(client *c);
void scanCommand(client *c);
void sortCommand(client *c);    /* t_sort.c */
void sort_roCommand(client *c); /* t_sort.c */
void randomkeyCommand(client *c);
void renameCommand(client *c);
void renamenxCommand(client *c);
void moveCommand(client *c);
void copyCommand(client *c);
void expireCommand(client *c);
void pexpireCommand(client *c);
void expireatCommand(client *c);
void pexpireatCommand(client *c);
void expiretimeCommand(client *c);
void pexpiretimeCommand(client *c);
void ttlCommand(client *c);
void pttlCommand(client *c);
void persistCommand(client *c);
void touchCommand(client *c);
void objectCommand(client *c);
/* persistence (snapshot.c, wal.c) */
void saveCommand(client *c);
void bgsaveCommand(client *c);
void bgrewriteaofCommand(client *c);
/* serialization (serial.c) */
void dumpCommand(client *c);
void restoreCommand(client *c);

/* lists (t_list.c) */
void lpushCommand(client *c);
void rpushCommand(client *c);
void lpushxCommand(client *c);
void rpushxCommand(client *c);
void lpopCommand(client *c);
void rpopCommand(client *c);
void llenCommand(client *c);
void lrangeCommand(client *c);
void lindexCommand(client *c);
void lsetCommand(client *c);
void linsertCommand(client *c);
void lremCommand(client *c);
void ltrimCommand(client *c);
void lposCommand(client *c);
void lmoveCommand(client *c);
void rpoplpushCommand(client *c);
void lmpopCommand(client *c);
void blpopCommand(client *c);
void brpopCommand(client *c);
void blmoveCommand(client *c);
void brpoplpushCommand(client *c);
void blmpopCommand(client *c);
/* Elements of a list value o in order, through fn (bytes valid only
 * during the call; o must not change meanwhile); a new empty list object
 * (the caller stores or frees it) and appending at its tail. */
size_t list_size(const pobj *o);
void list_foreach(const pobj *o, void (*fn)(void *priv, const char *p, size_t len), void *priv);
pobj *list_new_object(void);
void list_push_tail(pobj *o, const char *p, size_t len);
/* end of lists */

/* hashes (t_hash.c) */
void hsetCommand(client *c);
void hsetnxCommand(client *c);
void hgetCommand(client *c);
void hmgetCommand(client *c);
void hmsetCommand(client *c);
void hgetallCommand(client *c);
void hdelCommand(client *c);
void hexistsCommand(client *c);
void hlenCommand(client *c);
void hstrlenCommand(client *c);
void hkeysCommand(client *c);
void hvalsCommand(client *c);
void hincrbyCommand(client *c);
void hincrbyfloatCommand(client *c);
void hrandfieldCommand(client *c);
void hscanCommand(client *c);
/* Fields of a hash value o through fn (bytes valid only during the call;
 * o must not change meanwhile); a new empty hash object and setting a field
 * (returns 1 when the field is new; encodings convert as fields come). */
typedef void hash_visit_fn(void *priv, const char *f, size_t flen, const char *v, size_t vlen);
size_t hash_size(const pobj *o);
void hash_foreach(const pobj *o, hash_visit_fn *fn, void *priv);
pobj *hash_new_object(void);
int hash_set_field(pobj *o, const char *f, size_t flen, const char *v, size_t vlen);
/* Looks field f up: 1 with its value in *v, *vlen (borrowed until the hash
 * changes; an integer is formatted into numbuf, HASH_NUMBUF bytes), or 0. */
#define HASH_NUMBUF 32
int hash_get_field(const pobj *o, const char *f, size_t flen, const char **v, size_t *vlen, char *numbuf);
/* end of hashes */

/* sets (t_set.c) */
/* Members of a set value o (type OBJ_SET). set_foreach calls fn with each
 * member (bytes valid only during the call); o must not change meanwhile. */
typedef void set_visit_fn(void *priv, const char *p, size_t len);
size_t set_size(const pobj *o);
int set_is_member(const pobj *o, const char *p, size_t len);
void set_foreach(const pobj *o, set_visit_fn *fn, void *priv);
/* A new empty set object (the caller stores or frees it), and adding a
 * member to a set object (returns 1 if it was added, 0 if present);
 * encodings convert as members come. */
pobj *set_new_object(void);
int set_add_member(pobj *o, const char *p, size_t len);
/* A fast pseudo-random 64-bit number (xorshift64*, seeded once from the
 * system) for SPOP, SRANDMEMBER, ZRANDMEMBER: not for secrets. */
uint64_t set_rand64(void);
/* SSCAN/ZSCAN arguments from argv[first] (the cursor) on: parses the cursor
 * as Redis does (strtoul rules), COUNT (>= 1, default 10) and MATCH (*pat
 * NULL when absent or "*"). Replies the error and returns -1 when invalid. */
int set_scan_parse_args(client *c, int first, uint64_t *cursor, long long *count, const char **pat,
                        size_t *patlen);
/* Starts a SCAN-family reply: the 2-element array and the cursor; the
 * caller adds the array of elements. */
void set_scan_reply_cursor(client *c, uint64_t cursor);
void saddCommand(client *c);
void sremCommand(client *c);
void smembersCommand(client *c);
void sismemberCommand(client *c);
void smismemberCommand(client *c);
void scardCommand(client *c);
void spopCommand(client *c);
void srandmemberCommand(client *c);
void smoveCommand(client *c);
void sinterCommand(client *c);
void sintercardCommand(client *c);
void sinterstoreCommand(client *c);
void sunionCommand(client *c);
void sunionstoreCommand(client *c);
void sdiffCommand(client *c);
void sdiffstoreCommand(client *c);
void sscanCommand(client *c);
/* end of sets */

/* sorted sets (t_zset.c) */
/* Members of a sorted set value o (type OBJ_ZSET), in (score, member)
 * order. zset_foreach calls fn with each member (bytes valid only during the
 * call) and its score; o must not change meanwhile. */
typedef void zset_visit_fn(void *priv, const char *m, size_t len, double score);
size_t zset_size(const pobj *o);
/* 1 and *score when m is a member of o, else 0. */
int zset_score(const pobj *o, const char *m, size_t len, double *score);
void zset_foreach(const pobj *o, zset_visit_fn *fn, void *priv);
/* A new empty sorted set object (the caller stores or frees it), and
 * adding or updating a member (returns 1 if it was added, 0 if it existed
 * or score is NaN, which is refused); encodings convert as members come. */
pobj *zset_new_object(void);
int zset_add_member(pobj *o, const char *m, size_t len, double score);
void zaddCommand(client *c);
void zincrbyCommand(client *c);
void zremCommand(client *c);
void zcardCommand(client *c);
void zcountCommand(client *c);
void zlexcountCommand(client *c);
void zscoreCommand(client *c);
void zmscoreCommand(client *c);
void zrankCommand(client *c);
void zrevrankCommand(client *c);
void zrangeCommand(client *c);
void zrangestoreCommand(client *c);
void zrangebyscoreCommand(client *c);
void zrevrangebyscoreCommand(client *c);
void zrangebylexCommand(client *c);
void zrevrangebylexCommand(client *c);
void zrevrangeCommand(client *c);
void zremrangebyrankCommand(client *c);
void zremrangebyscoreCommand(client *c);
void zremrangebylexCommand(client *c);
void zpopminCommand(client *c);
void zpopmaxCommand(client *c);
void zmpopCommand(client *c);
void bzpopminCommand(client *c);
void bzpopmaxCommand(client *c);
void bzmpopCommand(client *c);
void zunionCommand(client *c);
void zinterCommand(client *c);
void zdiffCommand(client *c);
void zunionstoreCommand(client *c);
void zinterstoreCommand(client *c);
void zdiffstoreCommand(client *c);
void zintercardCommand(client *c);
void zrandmemberCommand(client *c);
void zscanCommand(client *c);
/* end of sorted sets */

/* entities and vector search (t_entity.c) */
void entity_init(void);
/* Keyspace hooks: keep collections consistent with key operations. */
void entity_flush_db(db *d);
void entity_free_db(db *d);
/* Checks that an entity may be renamed to newkey; NULL or an error text. */
const char *entity_rename_check(db *d, pobj *o, const char *newkey, size_t len);
/* Tells an entity the keyspace's string for its (new) key after RENAME/COPY. */
void entity_key_changed(pobj *o, ds key);
/* Copy of an entity for COPY into dst under key; NULL + *err on refusal. */
pobj *entity_copy(db *dst, pobj *o, const char *key, size_t len, const char **err);
void phCreateCommand(client *c);
void phDropCommand(client *c);
void phListCommand(client *c);
void phInfoCommand(client *c);
void phSetCommand(client *c);
void phGetCommand(client *c);
void phPatchCommand(client *c);
void phSearchCommand(client *c);
/* field indexes and the filtered-search planner (t_entity.c) */
void phAlterCommand(client *c);
void phExplainCommand(client *c);
/* end of entities */

/* graph (t_graph.c) */
struct graph_node;
struct json_t;
typedef struct graph_expand_opts graph_expand_opts;
/* Cap on the nodes one traversal records (config graph-max-traversal). */
extern long long graph_max_traversal;
/* Entry points of an ACORN walk, capped by the query's EF (config
 * acorn-entry-points, 0..HNSW_MAX_ENTRIES; t_entity.c). */
extern long long acorn_entry_points;
/* DEBUG PLANNER-FORCE: the strategy every filtered HNSW search takes when
 * the planner allows it (a planner_strategy), or -1 (the planner's own
 * choice). For tests of one strategy on data the planner would not use it
 * for. */
extern int planner_force;
/* Entity side, defined in t_entity.c: the slot holding the graph node of
 * entity e (o->v.p of an entity value; NULL slot content: no edges), its
 * keyspace name, and its metadata (NULL means {}). */
struct graph_node **entity_graph_slot(void *e);
ds entity_graph_key(const void *e);
const struct json_t *entity_graph_meta(const void *e);
/* Also in t_entity.c: the graph calls it when an edge leaving entity e is
 * added (+1) or removed (-1), so collections count their edges. */
void entity_graph_out_changed(void *e, int delta);
/* The number of edges leaving an entity's node (NULL: 0). */
size_t graph_entity_out_degree(const struct graph_node *n);
/* Removes every edge of an entity being freed, at both ends (n: the
 * entity's node, NULL when it has none). Called from entity_type_ops.free. */
void graph_entity_free(struct graph_node *n);
/* Bytes of an entity's edges (MEMORY USAGE). */
size_t graph_entity_memory(const struct graph_node *n);
/* Frees d's edge store (every entity of d is gone). */
void graph_free_db(db *d);
/* The INFO "graph" section, and one database's edge count and memory. */
ds graph_info(ds s);
void graph_db_stats(db *d, long long *edges, long long *memory);
/* PH.GET EDGES: every edge of the entity (out then in) as maps. */
void graph_reply_entity_edges(client *c, struct graph_node *n);
/* PH.SEARCH options EXPAND ..., RERANK, WITHPATHS at argv[*i]: returns 0
 * when argv[*i] is none of them, 1 after parsing one (*i on its last word;
 * *opts allocated on the first), -1 after replying an error. */
int graph_search_option(client *c, int *i, graph_expand_opts **opts);
/* Checks the parsed options (NULL: nothing to check) once all are known;
 * -1 after replying an error. */
int graph_search_validate(client *c, graph_expand_opts *o, int has_vectors_or_return);
void graph_expand_opts_free(graph_expand_opts *o);
/* The vector score of entity e for the search under way, NAN when e has no
 * vector comparable with the query. */
typedef double graph_score_fn(void *priv, void *e);
/* Replies PH.SEARCH ... EXPAND: hits (entities, best first, with their
 * scores), the entities the expansion reaches, reranked (docs/graph.md). */
void graph_search_reply(client *c, graph_expand_opts *o, void **hits, const double *scores, int nhits,
                        graph_score_fn *score, void *priv, int withmeta);
/* Durability. UNDIRECTED edges are two ordinary edges, so the outgoing
 * edges of every entity are the whole graph. */
typedef void graph_edge_visit_fn(void *priv, const char *to_key, size_t to_len, const char *type, size_t type_len,
                                 double weight, const char *meta_json, size_t meta_len);
/* Calls fn for every outgoing edge of entity value o (meta_json NULL/0 when none). */
void graph_foreach_out_edge(pobj *o, graph_edge_visit_fn *fn, void *priv);
/* The same for every incoming edge (the key passed is the edge's source):
 * DUMP carries both directions so that RESTORE reconnects both. */
void graph_foreach_in_edge(pobj *o, graph_edge_visit_fn *fn, void *priv);
/* Adds the edge from->to (both must be existing entity keys of d) as PH.EDGE ADD would, without a reply; returns 0,
 * or -1 with *err set to a static message. */
int graph_restore_edge(db *d, const char *from, size_t flen, const char *to, size_t tlen, const char *type, size_t tylen,
                       double weight, const char *meta_json, size_t mlen, const char **err);
void phEdgeCommand(client *c);
void phNeighborsCommand(client *c);
void phPathCommand(client *c);
/* end of graph */

/* pub/sub (pubsub.c) */
void pubsub_init(void);
void pubsub_free(void);
/* Sends msg to the subscribers of channel and of matching patterns;
 * returns how many clients received it. */
long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t msglen);
/* RESP2 subscribed mode: replies Redis's error and returns 1 when cmd may
 * not run now, else 0. */
int pubsub_refuse_in_context(client *c, const struct command *cmd);
/* Drops every subscription of c, without replies (RESET, close). */
void pubsub_reset_client(client *c);
void pubsub_client_counts(client *c, long long *sub, long long *psub, long long *ssub);
size_t pubsub_count_channels(void);
size_t pubsub_count_patterns(void);
size_t pubsub_count_shard_channels(void);
void subscribeCommand(client *c);
void unsubscribeCommand(client *c);
void psubscribeCommand(client *c);
void punsubscribeCommand(client *c);
void ssubscribeCommand(client *c);
void sunsubscribeCommand(client *c);
void publishCommand(client *c);
void spublishCommand(client *c);
void pubsubCommand(client *c);
/* end of pub/sub */

/* keyspace notifications (notify.c) */
#define NOTIFY_KEYSPACE (1 << 0) /* K */
#define NOTIFY_KEYEVENT (1 << 1) /* E */
#define NOTIFY_GENERIC (1 << 2)  /* g */
#define NOTIFY_STRING (1 << 3)   /* $ */
#define NOTIFY_LIST (1 << 4)     /* l */
#define NOTIFY_SET (1 << 5)      /* s */
#define NOTIFY_HASH (1 << 6)     /* h */
#define NOTIFY_ZSET (1 << 7)     /* z */
#define NOTIFY_EXPIRED (1 << 8)  /* x */
#define NOTIFY_EVICTED (1 << 9)  /* e */
#define NOTIFY_STREAM (1 << 10)  /* t */
#define NOTIFY_KEY_MISS (1 << 11) /* m */
#define NOTIFY_MODULE (1 << 12)  /* d */
#define NOTIFY_NEW (1 << 13)     /* n */
#define NOTIFY_ENTITY (1 << 14)  /* p: Phenix entities (ph.set, ph.patch) */
extern int notify_flags; /* notify-keyspace-events, parsed */
/* Publishes event about key of database dbid to __keyspace@<db>__:<key>
 * and __keyevent@<db>__:<event> when notify-keyspace-events enables type.
 * A macro so that the disabled case costs one test at the call site. */
#define notify_keyspace_event(type, event, key, keylen, dbid)                                                   \
    do {                                                                                                       \
        if (notify_flags & (type)) notify_publish((type), (event), (key), (keylen), (dbid));                   \
    } while (0)
void notify_publish(int type, const char *event, const char *key, size_t keylen, int dbid);
/* notify-keyspace-events config: parses flag letters / formats them. */
int notify_config_set(int argc, char **argv, ds *err);
ds notify_config_get(ds s);
/* end of keyspace notifications */

/* maxmemory eviction (evict.c) */
/* Evicts keys by maxmemory-policy while used memory is above maxmemory
 * (at most 25 ms per call). Returns 0 when memory fits (or maxmemory is
 * 0, or the server is loading or inside a command), 1 when it is still
 * above the limit but the time budget ran out (the cron goes on), -1 when
 * it is above the limit and no key can be evicted. */
int evict_to_fit(void);
/* Forgets the eviction candidates (after a policy change). */
void evict_pool_reset(void);
/* The config name of a MAXMEMORY_* policy. */
const char *evict_policy_name(int policy);
/* 1 when the policy is allkeys-lfu or volatile-lfu. */
int evict_lfu_enabled(void);
/* Counts an access to o in its LFU counter (decay first; o->lru must still
 * hold the previous access time). */
void evict_lfu_touch(pobj *o);
/* o's LFU counter decayed to now (OBJECT FREQ). */
long long evict_lfu_value(const pobj *o);
/* end of maxmemory eviction */

/* scripting (script.c, function.c) */
void script_init(void);
void script_free(void);
/* process_command's gate while a script is busy: replies -BUSY and
 * returns 1 when cmd may not run now. */
int script_refuse_busy(client *c, const struct command *cmd);
void evalCommand(client *c);
void evalRoCommand(client *c);
void evalShaCommand(client *c);
void evalShaRoCommand(client *c);
void scriptCommand(client *c);
void fcallCommand(client *c);
void fcallRoCommand(client *c);
void functionCommand(client *c);
/* Every function library as a FUNCTION DUMP payload (a new ds), and
 * loading one back replacing all libraries (0, or -1 with *err, a new ds):
 * for snapshots and log rewrites, which must keep the libraries. */
ds function_dump_payload(void);
int function_restore_payload(const char *p, size_t len, ds *err);
/* The keys of an EVAL / EVALSHA / FCALL command (and their _RO forms):
 * returns 1 with argv[*first .. *first + *count) the keys (count 0 when
 * numkeys is invalid), or 0 when cmd is not one of them. */
int script_command_keys(const struct command *cmd, const resp_arg *argv, int argc, int *first, int *count);
/* INFO memory's scripting fields (used_memory_lua, number_of_cached_scripts...). */
ds script_info_memory(ds s);
/* end of scripting */

/* transactions (multi.c) */
void multiCommand(client *c);
void execCommand(client *c);
void discardCommand(client *c);
void watchCommand(client *c);
void unwatchCommand(client *c);
void multi_queue_command(client *c);
void multi_flag_error(client *c);
int multi_runs_now(const command *cmd);
void multi_touch_key(db *d, const char *key, size_t len);
void multi_touch_db(db *d);
void multi_after_write(client *c);
void multi_unwatch_all(client *c);
void multi_reset_client(client *c);
void multi_free_db(db *d);

/* argv helpers */
static inline int arg_is(client *c, int i, const char *lit) {
    return util_eqi(c->argv[i].ptr, c->argv[i].len, lit);
}
/* Parses argv[i] as a long long; replies with an error and returns -1 on
 * failure (msg NULL: the default "value is not an integer" wording). */
int arg_long(client *c, int i, long long *out, const char *msg);
int arg_long_range(client *c, int i, long long min, long long max, long long *out, const char *msg);

#endif

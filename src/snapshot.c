/* snapshot.c -- point-in-time snapshots: SAVE, BGSAVE, save points, the
 * snapshot at shutdown, loading at start-up, and the loading progress
 * that INFO reports.
 *
 * File format (version 1), everything little-endian:
 *
 *   "PHXSNAP\0"  u32 format version  u32 value-encoding version (serial.h)
 *   blocks:      u8 kind  u32 length  payload  u64 checksum
 *
 * The checksum of block number i (from 0) is XXH3-64 over kind, length and
 * payload with seed i, so a block that is damaged, missing, duplicated or
 * moved fails its check. Blocks are at most ~1 MB when written (a large
 * value may make one bigger; readers accept up to 1 GB); kinds:
 *
 *   AUX         pairs of bytes (name, value): phenix version, ctime, ...
 *   DB          varint db id: the following blocks belong to it
 *   COLLECTION  the PH.CREATE arguments of one collection (varint n, n bytes)
 *   KEYS        key records: bytes key, varint (expire ms + 1, 0 = none),
 *               value (serial.c, snapshot mode)
 *   GRAPH       header of one collection's HNSW graph (t_entity.c), then
 *   GRAPH_NODES nodes in slot order, then
 *   GRAPH_END   (empty): the graph is validated and installed; a graph is
 *               stored as a graph, so loading never rebuilds an index
 *   EDGES       edge records: bytes from, bytes to, bytes type, f64
 *               weight, bytes meta ("" none)
 *   FUNCTIONS   the function libraries (a FUNCTION DUMP payload, function.c)
 *   END         u64 number of blocks before it, u64 number of keys
 *
 * A file without its END block is truncated and refused. Writing goes to
 * a temporary file in the same directory, fsynced, renamed over the
 * target, and the directory fsynced: a crash leaves the old or the new
 * file, never a mix.
 *
 * Background saves fork (copy-on-write gives the child a frozen image of
 * the keyspace); the child writes the file and exits, the cron reaps it.
 * This is the accepted stop-gap until MVCC gives fork-less snapshots: on a
 * write-heavy server the fork copies the pages that change meanwhile
 * (INFO reports the child's time).
 *
 * Loading at start-up runs with server.loading set: clients are served
 * every few megabytes (server_process_events_while_blocked) and get
 * -LOADING until it ends; INFO shows the loading_* fields and the log a
 * progress line every second. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "persist.h"
#include "serial.h"

#define SNAP_MAGIC "PHXSNAP"
#define SNAP_FORMAT 1
#define BLOCK_TARGET (1u << 20)
#define BLOCK_MAX (1u << 30)

enum { BLK_AUX = 1, BLK_DB = 2, BLK_COLL = 3, BLK_KEYS = 4, BLK_GRAPH = 5, BLK_GRAPH_NODES = 6, BLK_GRAPH_END = 7,
       BLK_EDGES = 8, BLK_FUNCTIONS = 9, BLK_END = 255 };

/* ---------------- writer ---------------- */

typedef struct snap_writer {
    int fd;
    ds out;          /* bytes not yet written */
    ds block;        /* payload of the block being built */
    uint64_t index;  /* blocks written */
    uint64_t keys;
    int err;         /* errno of the first failure */
} snap_writer;

static void w_flush(snap_writer *w, int force) {
    if (w->err || (!force && ds_len(w->out) < 4 * BLOCK_TARGET)) return;
    size_t off = 0, n = ds_len(w->out);
    while (off < n) {
        ssize_t k = write(w->fd, w->out + off, n - off);
        if (k < 0) {
            if (errno == EINTR) continue;
            w->err = errno;
            return;
        }
        off += (size_t)k;
    }
    ds_setlen(w->out, 0);
}

static void w_block(snap_writer *w, uint8_t kind) {
    unsigned char h[5] = {kind, 0, 0, 0, 0};
    uint32_t len = (uint32_t)ds_len(w->block);
    for (int i = 0; i < 4; i++) h[1 + i] = (unsigned char)(len >> (8 * i));
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset_withSeed(st, w->index);
    XXH3_64bits_update(st, h, 5);
    XXH3_64bits_update(st, w->block, len);
    uint64_t sum = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    w->out = ds_cat(w->out, h, 5);
    w->out = ds_cat(w->out, w->block, len);
    ser_put_u64(&w->out, sum);
    ds_setlen(w->block, 0);
    w->index++;
    w_flush(w, 0);
}

static void w_block_if_full(snap_writer *w, uint8_t kind) {
    if (ds_len(w->block) >= BLOCK_TARGET) w_block(w, kind);
}

typedef struct edge_ctx {
    snap_writer *w;
    const char *from;
    size_t flen;
} edge_ctx;

static void write_edge(void *priv, const char *to, size_t tl, const char *type, size_t tyl, double weight,
                       const char *meta, size_t ml) {
    edge_ctx *x = priv;
    ser_put_bytes(&x->w->block, x->from, x->flen);
    ser_put_bytes(&x->w->block, to, tl);
    ser_put_bytes(&x->w->block, type, tyl);
    ser_put_f64(&x->w->block, weight);
    ser_put_bytes(&x->w->block, meta ? meta : "", meta ? ml : 0);
    w_block_if_full(x->w, BLK_EDGES);
}

static void write_db(snap_writer *w, db *d) {
    int ncolls = entity_collection_count(d);
    if (dict_size(d->keys) == 0 && ncolls == 0) return;
    ser_put_varint(&w->block, (uint64_t)d->id);
    ser_put_varint(&w->block, dict_size(d->keys));
    ser_put_varint(&w->block, dict_size(d->expires));
    w_block(w, BLK_DB);
    for (int i = 0; i < ncolls; i++) {
        entity_collection_args(d, i, &w->block);
        w_block(w, BLK_COLL);
    }
    dict_iter it;
    dict_iter_init(&it, d->keys);
    dict_entry *e;
    int has_entities = 0;
    while ((e = dict_iter_next(&it))) {
        ds k = dict_entry_key(e);
        pobj *o = dict_entry_val(e);
        ser_put_bytes(&w->block, k, ds_len(k));
        int64_t when = dict_size(d->expires) ? db_get_expire(d, k, ds_len(k)) : -1;
        ser_put_varint(&w->block, when < 0 ? 0 : (uint64_t)when + 1);
        serial_encode_value(&w->block, o, SER_MODE_SNAPSHOT);
        if (o->type == OBJ_ENTITY) has_entities = 1;
        w->keys++;
        w_block_if_full(w, BLK_KEYS);
    }
    dict_iter_release(&it);
    if (ds_len(w->block)) w_block(w, BLK_KEYS);
    for (int i = 0; i < ncolls; i++) {
        long long count = entity_graph_export_begin(d, i, &w->block);
        if (count < 0) continue;
        w_block(w, BLK_GRAPH);
        uint32_t step = 256;
        for (uint32_t s = 0; s < (uint32_t)count; s += step) {
            uint32_t to = s + step > (uint32_t)count ? (uint32_t)count : s + step;
            entity_graph_export_nodes(d, i, s, to, &w->block);
            w_block_if_full(w, BLK_GRAPH_NODES);
        }
        if (ds_len(w->block)) w_block(w, BLK_GRAPH_NODES);
        w_block(w, BLK_GRAPH_END);
    }
    if (has_entities) {
        dict_iter_init(&it, d->keys);
        while ((e = dict_iter_next(&it))) {
            pobj *o = dict_entry_val(e);
            if (o->type != OBJ_ENTITY) continue;
            edge_ctx x = {w, dict_entry_key(e), ds_len(dict_entry_key(e))};
            graph_foreach_out_edge(o, write_edge, &x);
        }
        dict_iter_release(&it);
        if (ds_len(w->block)) w_block(w, BLK_EDGES);
    }
}

void persist_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int snapshot_write(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        server_log(LL_WARNING, "Failed opening the snapshot file %s for saving: %s", tmp, strerror(errno));
        return -1;
    }
    snap_writer w = {.fd = fd, .out = ds_empty(8 * BLOCK_TARGET), .block = ds_empty(2 * BLOCK_TARGET)};
    unsigned char hdr[16];
    memcpy(hdr, SNAP_MAGIC, 8);
    uint32_t v[2] = {SNAP_FORMAT, SERIAL_VERSION};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++) hdr[8 + 4 * k + i] = (unsigned char)(v[k] >> (8 * i));
    w.out = ds_cat(w.out, hdr, 16);
    const char *aux[][2] = {{"phenix-ver", PHENIX_VERSION}, {"redis-compat", PHENIX_REDIS_COMPAT_VERSION}};
    for (size_t i = 0; i < sizeof(aux) / sizeof(aux[0]); i++) {
        ser_put_bytes(&w.block, aux[i][0], strlen(aux[i][0]));
        ser_put_bytes(&w.block, aux[i][1], strlen(aux[i][1]));
    }
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)util_mstime());
    ser_put_bytes(&w.block, "ctime-ms", 8);
    ser_put_bytes(&w.block, num, strlen(num));
    snprintf(num, sizeof(num), "%zu", zmalloc_used_memory());
    ser_put_bytes(&w.block, "used-mem", 8);
    ser_put_bytes(&w.block, num, strlen(num));
    w_block(&w, BLK_AUX);
    ds fn = function_dump_payload();
    if (ds_len(fn) > 5) { /* more than the header: there are libraries */
        w.block = ds_cat(w.block, fn, ds_len(fn));
        w_block(&w, BLK_FUNCTIONS);
    }
    ds_free(fn);
    for (int i = 0; i < server.dbnum; i++) write_db(&w, &server.dbs[i]);
    ser_put_u64(&w.block, w.index);
    ser_put_u64(&w.block, w.keys);
    w_block(&w, BLK_END);
    w_flush(&w, 1);
    if (!w.err && fsync(fd) < 0) w.err = errno;
    if (close(fd) < 0 && !w.err) w.err = errno;
    ds_free(w.out);
    ds_free(w.block);
    if (!w.err && rename(tmp, path) < 0) w.err = errno;
    if (w.err) {
        server_log(LL_WARNING, "Write error saving the snapshot %s: %s", path, strerror(w.err));
        unlink(tmp);
        errno = w.err;
        return -1;
    }
    char *copy = zstrdup(path);
    persist_fsync_dir(dirname(copy));
    zfree(copy);
    return 0;
}

/* ---------------- loading progress ---------------- */

static struct {
    int64_t start_ms, last_log_ms, last_events_ms;
    long long total, loaded;
} loading;

void persist_loading_start(long long total_bytes) {
    server.loading = 1;
    loading.start_ms = loading.last_log_ms = loading.last_events_ms = util_mstime();
    loading.total = total_bytes;
    loading.loaded = 0;
}

void persist_loading_progress(long long loaded_bytes) {
    loading.loaded = loaded_bytes;
    int64_t now = util_mstime();
    if (now - loading.last_events_ms >= 2) {
        loading.last_events_ms = now;
        server_process_events_while_blocked();
    }
    if (now - loading.last_log_ms >= 1000) {
        loading.last_log_ms = now;
        server_log(LL_NOTICE, "Loading: %lld of %lld bytes (%.1f%%)", loading.loaded, loading.total,
                   loading.total ? 100.0 * (double)loading.loaded / (double)loading.total : 100.0);
    }
}

void persist_loading_end(void) { server.loading = 0; }

ds persist_loading_info(ds s) {
    if (!server.loading)
        return ds_catfmt(s, "loading_start_time:0\r\nloading_total_bytes:0\r\nloading_rdb_used_mem:0\r\n"
                            "loading_loaded_bytes:0\r\nloading_loaded_perc:0.00\r\nloading_eta_seconds:0\r\n");
    double perc = loading.total ? 100.0 * (double)loading.loaded / (double)loading.total : 0;
    int64_t elapsed = util_mstime() - loading.start_ms;
    long long eta = loading.loaded ? (long long)((double)elapsed / 1000.0 *
                                                 (double)(loading.total - loading.loaded) / (double)loading.loaded)
                                   : 1;
    return ds_catfmt(s,
                     "loading_start_time:%lld\r\nloading_total_bytes:%lld\r\nloading_rdb_used_mem:%zu\r\n"
                     "loading_loaded_bytes:%lld\r\nloading_loaded_perc:%.2f\r\nloading_eta_seconds:%lld\r\n",
                     (long long)(loading.start_ms / 1000), loading.total, zmalloc_used_memory(), loading.loaded,
                     perc, eta);
}

/* ---------------- reader ---------------- */

typedef struct snap_reader {
    int fd;
    const char *path;
    char *buf;
    size_t cap;
    uint64_t index, keys;
    long long off; /* file offset of the next block */
    db *d;
} snap_reader;

static int read_full(int fd, void *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)p + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

static int load_fail(snap_reader *r, const char *what) {
    server_log(LL_WARNING,
               "Snapshot %s: %s (block %llu at offset %lld). The file is damaged: restore it from a backup, or "
               "move it away to start empty.",
               r->path, what, (unsigned long long)r->index, r->off);
    return -1;
}

static int run_create(db *d, ser_reader *pr) {
    uint64_t n;
    if (!ser_get_varint(pr, &n) || n == 0 || n > 64) return -1;
    resp_arg *argv = zcalloc(sizeof(resp_arg) * (size_t)(n + 1));
    argv[0].ptr = "ph.create";
    argv[0].len = 9;
    for (uint64_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        if (!ser_get_bytes(pr, &p, &len)) {
            zfree(argv);
            return -1;
        }
        argv[i + 1].ptr = p;
        argv[i + 1].len = len;
    }
    int before = entity_collection_count(d);
    client *c = client_create_fake();
    c->db = d;
    c->argc = (int)n + 1;
    c->argv = argv;
    phCreateCommand(c);
    c->argc = 0;
    c->argv = NULL;
    client_free_fake(c);
    zfree(argv);
    return entity_collection_count(d) == before + 1 ? 0 : -1;
}

static int load_keys(snap_reader *r, ser_reader *pr) {
    while (ser_remaining(pr)) {
        const char *k;
        size_t kl;
        uint64_t exp;
        const char *err;
        ser_get_bytes(pr, &k, &kl);
        if (!ser_get_varint(pr, &exp)) return load_fail(r, "a key record is truncated");
        pobj *o = serial_decode_value(pr, r->d, k, kl, SER_MODE_SNAPSHOT, &err);
        if (!o) return load_fail(r, err);
        ds view = ds_new(k, kl);
        dict_entry *de = dict_add_raw(r->d->keys, view, NULL); /* copies the key */
        ds_free(view);
        if (!de) {
            obj_free(o);
            return load_fail(r, "a key appears twice");
        }
        ds key = dict_entry_key(de);
        dict_entry_set_val(de, o);
        if (o->type == OBJ_ENTITY) entity_key_changed(o, key);
        if (exp) {
            dict_entry *ee = dict_add_raw(r->d->expires, key, NULL);
            if (ee) dict_entry_set_s64(ee, (int64_t)(exp - 1));
        }
        r->keys++;
        if (server.key_load_delay) usleep((useconds_t)server.key_load_delay);
        if ((r->keys & 127) == 0) persist_loading_progress(r->off + 13 + (long long)(pr->p - (const unsigned char *)r->buf));
    }
    return 0;
}

static int load_edges(snap_reader *r, ser_reader *pr) {
    while (ser_remaining(pr)) {
        const char *f, *t, *ty, *m, *err = NULL;
        size_t fl, tl, tyl, ml;
        double wgt;
        ser_get_bytes(pr, &f, &fl);
        ser_get_bytes(pr, &t, &tl);
        ser_get_bytes(pr, &ty, &tyl);
        ser_get_f64(pr, &wgt);
        if (!ser_get_bytes(pr, &m, &ml)) return load_fail(r, "an edge record is truncated");
        if (graph_restore_edge(r->d, f, fl, t, tl, ty, tyl, wgt, ml ? m : NULL, ml, &err) != 0)
            return load_fail(r, err ? err : "an edge could not be restored");
    }
    return 0;
}

static int load_block(snap_reader *r, uint8_t kind, const char *p, size_t len, int *done) {
    ser_reader pr;
    ser_reader_init(&pr, p, len);
    const char *err = NULL;
    uint64_t v, n;
    switch (kind) {
    case BLK_AUX: return 0;
    case BLK_DB: {
        uint64_t nkeys, nexp;
        ser_get_varint(&pr, &v);
        ser_get_varint(&pr, &nkeys);
        if (!ser_get_varint(&pr, &nexp)) return load_fail(r, "bad database block");
        if (v >= (uint64_t)server.dbnum)
            return load_fail(r, "the snapshot names a database this server does not have (see `databases`)");
        r->d = &server.dbs[v];
        /* size the tables once (bounded: the counts are not trusted) */
        dict_expand(r->d->keys, nkeys < (1ULL << 32) ? (size_t)nkeys : 0);
        dict_expand(r->d->expires, nexp < (1ULL << 32) ? (size_t)nexp : 0);
        return 0;
    }
    case BLK_COLL:
        if (!r->d || run_create(r->d, &pr) != 0) return load_fail(r, "a collection could not be created");
        return 0;
    case BLK_KEYS:
        if (!r->d) return load_fail(r, "keys before any database");
        return load_keys(r, &pr);
    case BLK_GRAPH:
        if (!r->d || entity_graph_import_begin(r->d, &pr, &err) != 0) return load_fail(r, err ? err : "bad graph");
        return 0;
    case BLK_GRAPH_NODES:
        if (entity_graph_import_nodes(&pr, &err) != 0) return load_fail(r, err);
        return 0;
    case BLK_GRAPH_END:
        if (entity_graph_import_finish(&err) != 0) return load_fail(r, err);
        return 0;
    case BLK_EDGES:
        if (!r->d) return load_fail(r, "edges before any database");
        return load_edges(r, &pr);
    case BLK_FUNCTIONS: {
        ds ferr = NULL;
        if (function_restore_payload(p, len, &ferr) != 0) {
            server_log(LL_WARNING, "Snapshot %s: the function libraries could not be loaded: %s", r->path,
                       ferr ? ferr : "?");
            ds_free(ferr);
            return load_fail(r, "bad function libraries");
        }
        return 0;
    }
    case BLK_END:
        ser_get_u64(&pr, &v);
        if (!ser_get_u64(&pr, &n) || v != r->index || n != r->keys)
            return load_fail(r, "the end block does not match the blocks and keys read");
        *done = 1;
        return 0;
    default: return load_fail(r, "unknown block kind");
    }
}

int snapshot_load(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        server_log(LL_WARNING, "Failed opening the snapshot %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    snap_reader r = {.fd = fd, .path = path, .off = 16};
    unsigned char hdr[16];
    int rc = -1, done = 0, own_loading = !server.loading;
    if (own_loading) persist_loading_start((long long)st.st_size);
    if (read_full(fd, hdr, 16) != 0 || memcmp(hdr, SNAP_MAGIC, 8) != 0) {
        load_fail(&r, "not a Phenix snapshot (bad header)");
        goto out;
    }
    uint32_t fmt = hdr[8] | (uint32_t)hdr[9] << 8 | (uint32_t)hdr[10] << 16 | (uint32_t)hdr[11] << 24;
    uint32_t sv = hdr[12] | (uint32_t)hdr[13] << 8 | (uint32_t)hdr[14] << 16 | (uint32_t)hdr[15] << 24;
    if (fmt != SNAP_FORMAT || sv == 0 || sv > SERIAL_VERSION) {
        load_fail(&r, "unsupported snapshot version (written by a newer Phenix?)");
        goto out;
    }
    server_log(LL_NOTICE, "Loading the snapshot %s (%lld bytes)", path, (long long)st.st_size);
    int64_t start = util_mstime();
    while (!done) {
        unsigned char h[5];
        if (read_full(fd, h, 5) != 0) {
            load_fail(&r, "truncated: the file ends before its end block");
            goto out;
        }
        uint32_t len = h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
        if (len > BLOCK_MAX || (long long)len + 13 > (long long)st.st_size - r.off) {
            load_fail(&r, "truncated or damaged: a block is longer than what is left of the file");
            goto out;
        }
        if (len + 8 > r.cap) {
            r.cap = len + 8;
            zfree(r.buf);
            r.buf = zmalloc(r.cap);
        }
        if (read_full(fd, r.buf, len + 8) != 0) {
            load_fail(&r, "truncated inside a block");
            goto out;
        }
        uint64_t sum = 0;
        for (int i = 0; i < 8; i++) sum |= (uint64_t)(unsigned char)r.buf[len + i] << (8 * i);
        XXH3_state_t *xs = XXH3_createState();
        XXH3_64bits_reset_withSeed(xs, r.index);
        XXH3_64bits_update(xs, h, 5);
        XXH3_64bits_update(xs, r.buf, len);
        uint64_t want = XXH3_64bits_digest(xs);
        XXH3_freeState(xs);
        if (sum != want) {
            load_fail(&r, "checksum mismatch");
            goto out;
        }
        if (load_block(&r, h[0], r.buf, len, &done) != 0) goto out;
        r.index++;
        r.off += 13 + len;
        persist_loading_progress(r.off);
    }
    if (entity_load_finish() != 0) {
        load_fail(&r, "the graphs do not match the entities of their collections");
        goto out;
    }
    rc = 0;
    server_log(LL_NOTICE, "Done loading the snapshot: %llu keys in %.3f seconds", (unsigned long long)r.keys,
               (double)(util_mstime() - start) / 1000.0);
out:
    if (rc != 0) {
        entity_graph_import_abort();
        entity_load_abort();
    }
    zfree(r.buf);
    close(fd);
    if (own_loading) persist_loading_end();
    return rc;
}

int snapshot_debug_reload(void) {
    if (snapshot_write(server.dbfilename) != 0) return -1;
    for (int i = 0; i < server.dbnum; i++) {
        db_flush(&server.dbs[i]);
        entity_free_db(&server.dbs[i]);
    }
    return snapshot_load(server.dbfilename) == 0 ? 0 : -2;
}

/* ---------------- SAVE, BGSAVE, save points ---------------- */

static struct {
    pid_t child;
    int64_t child_start_ms;
    long long dirty_at_fork, dirty_at_save;
    int last_status_ok;
    int64_t last_bgsave_ms, last_try_ms;
    long long saves;
    int scheduled;
} snap = {.child = -1, .last_status_ok = 1, .last_bgsave_ms = -1};

static void save_done(int ok, long long dirty_at_start) {
    snap.last_status_ok = ok;
    if (ok) {
        snap.dirty_at_save = dirty_at_start;
        server.lastsave = util_mstime() / 1000;
        snap.saves++;
    }
}

int snapshot_child_running(void) { return snap.child > 0; }

void persist_child_init(void) {
    /* a child that outlives a killed parent must not keep its port busy */
    for (int i = 0; i < server.nlisten; i++) close(server.listen_fds[i]);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

static int do_save(void) {
    long long dirty = server.dirty;
    int64_t start = util_mstime();
    int rc = snapshot_write(server.dbfilename);
    save_done(rc == 0, dirty);
    if (rc == 0) server_log(LL_NOTICE, "DB saved on disk (%.3f s)", (double)(util_mstime() - start) / 1000.0);
    return rc;
}

int snapshot_bgsave(void) {
    if (snap.child > 0 || wal_rewrite_running()) return -1;
    snap.last_try_ms = util_mstime();
    snap.dirty_at_fork = server.dirty;
    pid_t pid = fork();
    if (pid < 0) {
        server_log(LL_WARNING, "Can't save in background: fork: %s", strerror(errno));
        snap.last_status_ok = 0;
        return -1;
    }
    if (pid == 0) {
        persist_child_init();
        _exit(snapshot_write(server.dbfilename) == 0 ? 0 : 1);
    }
    snap.child = pid;
    snap.child_start_ms = util_mstime();
    server_log(LL_NOTICE, "Background saving started by pid %d", (int)pid);
    return 0;
}

void snapshot_kill_child(void) {
    if (snap.child <= 0) return;
    kill(snap.child, SIGUSR1);
    waitpid(snap.child, NULL, 0);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", server.dbfilename, (int)snap.child);
    unlink(tmp);
    snap.child = -1;
}

static void reap_child(void) {
    int status;
    pid_t pid = waitpid(snap.child, &status, WNOHANG);
    if (pid != snap.child) return;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    snap.last_bgsave_ms = util_mstime() - snap.child_start_ms;
    snap.child = -1;
    save_done(ok, snap.dirty_at_fork);
    if (ok) server_log(LL_NOTICE, "Background saving terminated with success");
    else server_log(LL_WARNING, "Background saving error");
}

void snapshot_cron(void) {
    if (snap.child > 0) {
        reap_child();
        return;
    }
    if (snap.scheduled && !wal_rewrite_running()) {
        snap.scheduled = 0;
        snapshot_bgsave();
        return;
    }
    int64_t now = util_mstime();
    long long changes = server.dirty - snap.dirty_at_save;
    for (int i = 0; i < server.nsave_points; i++) {
        if (changes >= server.save_points[i].changes && now / 1000 - server.lastsave >= server.save_points[i].seconds &&
            (snap.last_status_ok || now - snap.last_try_ms > 5000)) {
            server_log(LL_NOTICE, "%lld changes in %d seconds. Saving...", changes, server.save_points[i].seconds);
            snapshot_bgsave();
            return;
        }
    }
}

int snapshot_shutdown_save(int force_save) {
    if (snap.child > 0) {
        server_log(LL_WARNING, "There is a child saving an .rdb. Killing it!");
        snapshot_kill_child();
    }
    if (!force_save && server.nsave_points == 0) return 0;
    server_log(LL_NOTICE, "Saving the final snapshot before exiting.");
    if (do_save() != 0) {
        server_log(LL_WARNING, "Error trying to save the DB, can't exit.");
        return -1;
    }
    return 0;
}

const char *snapshot_deny_write_reason(void) {
    if (!server.stop_writes_on_bgsave_err || server.nsave_points == 0 || snap.last_status_ok) return NULL;
    return "-MISCONF Errors writing the snapshot to disk: writes are refused until a save succeeds (see the log; "
           "`CONFIG SET stop-writes-on-bgsave-error no` lifts this).";
}

ds snapshot_info(ds s) {
    return ds_catfmt(s,
                     "rdb_changes_since_last_save:%lld\r\nrdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\n"
                     "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\n"
                     "rdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%lld\r\n",
                     server.dirty - snap.dirty_at_save, snap.child > 0, (long long)server.lastsave,
                     snap.last_status_ok ? "ok" : "err",
                     snap.last_bgsave_ms < 0 ? -1LL : (long long)(snap.last_bgsave_ms / 1000),
                     snap.child > 0 ? (long long)((util_mstime() - snap.child_start_ms) / 1000) : -1LL, snap.saves);
}

void saveCommand(client *c) {
    if (snap.child > 0) {
        add_reply_error(c, "Background save already in progress");
        return;
    }
    if (do_save() == 0) add_reply_ok(c);
    else add_reply_error(c, "-ERR the snapshot could not be written: see the server log");
}

void bgsaveCommand(client *c) {
    int schedule = 0;
    if (c->argc > 2 || (c->argc == 2 && !(schedule = arg_is(c, 1, "schedule")))) {
        add_reply_err_syntax(c);
        return;
    }
    if (snap.child > 0) {
        add_reply_error(c, "Background save already in progress");
        return;
    }
    if (wal_rewrite_running()) {
        if (schedule) {
            snap.scheduled = 1;
            add_reply_status(c, "Background saving scheduled");
        } else {
            add_reply_error(c, "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
                               "SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        return;
    }
    if (snapshot_bgsave() == 0) add_reply_status(c, "Background saving started");
    else add_reply_error(c, "-ERR could not start a background save: see the server log");
}

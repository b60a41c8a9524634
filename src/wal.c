/* wal.c -- the write-ahead log (appendonly): records, group commit,
 * propagation of commands, the manifest, rewrites and recovery.
 *
 * Files, in <dir>/<appenddirname>/:
 *   <appendfilename>.<n>.base.phx   a snapshot (snapshot.c format)
 *   <appendfilename>.<n>.incr.phx   log records written after that base
 *   <appendfilename>.manifest       which base and which incr files, in
 *                                   order, make the data set (text, with a
 *                                   checksum line); replaced atomically
 *                                   (temporary file, fsync, rename, fsync
 *                                   of the directory)
 *
 * A record is one top-level command's effects, applied atomically on
 * replay (a transaction or a script is one record; a torn one is dropped
 * whole):
 *   u32 magic "PHXR"  u32 payload length  u64 sequence number
 *   u64 XXH3-64 (seeded with the sequence number) of length + payload
 *   payload: varint db, varint n commands, n x (varint argc, argc x bytes)
 * Sequence numbers rise by one from record to record across the incr
 * files; a gap or a repeat is corruption.
 *
 * Determinism: what is logged is what happened, not what was asked.
 * Commands that set an expire are followed by PEXPIREAT with the absolute
 * time; keys that expire (lazily or actively) are logged as DEL; blocking
 * pops served later are logged as the pops they became; transactions and
 * scripts are logged as the commands they ran (propagate_*, called from
 * call_command: a command whose nested calls logged something is not
 * logged itself). HNSW insertion levels are reproduced because the level
 * generator's state is part of every snapshot and only advances on
 * successful inserts, which replay repeats in the same order. While
 * loading nothing expires: the log says when keys went.
 *
 * Group commit (appendfsync always): records accumulate in a buffer during
 * a loop turn; before sleeping the buffer is written (write(2) to the page
 * cache, on the loop thread) and one fdatasync covering everything written
 * so far is handed to the fsync thread. Every reply queued while the log
 * holds records that are not yet durable waits (client.wal_wait_seq) until
 * an fsync covering them completes; the thread then wakes the loop through
 * an eventfd. The loop never waits for the disk: it keeps reading, running
 * commands and answering clients whose replies depend on nothing unsynced.
 * Under everysec the thread fsyncs once a second; an fsync still running
 * after 2 s counts as aof_delayed_fsync and is logged. Under no, the kernel
 * decides.
 *
 * Failures: a failed or short write keeps the unwritten bytes and retries
 * every cron tick; a failed fsync makes the file untrustworthy (the kernel
 * may have dropped the dirty pages), so the log is rebuilt by a rewrite
 * from memory. Until the log is healthy again, write commands get -MISCONF
 * and replies that wait for durability stay held (under always they are
 * released by the rewrite, which makes everything in memory durable).
 *
 * Rewrite (BGREWRITEAOF, or automatic by growth): the parent switches to a
 * new incr file and records it in the manifest next to the old ones, then
 * forks; the child writes a new base snapshot; when it succeeded, the
 * manifest becomes {new base, new incr} and the old files are deleted. A
 * crash at any point leaves a manifest that names a complete set.
 *
 * Threads: the fsync thread only calls fdatasync on a descriptor it is
 * given and publishes (under a mutex) the sequence number it covered and
 * its errno; the main thread owns everything else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "persist.h"
#include "serial.h"
#include "walrec.h"


enum { FSYNC_ALWAYS = 0, FSYNC_EVERYSEC = 1, FSYNC_NO = 2 };

/* ---------------- state ---------------- */

static struct {
    int fd;               /* the incr file being appended, -1 when off */
    ds buf;               /* records not yet written */
    uint64_t last_seq;    /* last record appended to buf */
    uint64_t written_seq; /* last record written to the file */
    uint64_t synced_seq;  /* last record known durable */
    uint64_t submitted_seq; /* last record an fsync was asked for */
    long long incr_size, base_size;
    long long rewrite_base_size; /* size at the last rewrite, for growth */
    int base_no, incr_no;         /* numbers of the current files */
    char **incrs;                 /* manifest incr file names, in order */
    int nincrs;
    char *base;                   /* manifest base file name, or NULL */
    int write_error, fsync_error;
    int64_t last_write_err_log_ms;
    /* fsync thread */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int thread_started, job_fd, job_pending, job_running, stop;
    uint64_t job_seq, done_seq;
    int done_err;
    int efd;
    int64_t job_start_ms, last_fsync_ms;
    long long delayed_fsync;
    /* rewrite */
    pid_t child;
    int64_t child_start_ms, last_rewrite_ms;
    int rewrite_scheduled, last_rewrite_ok;
    long long rewrites;
    int new_base_no;
} wal = {.fd = -1, .efd = -1, .child = -1, .last_rewrite_ok = 1, .last_rewrite_ms = -1};

/* ---------------- propagation ---------------- */

typedef struct prop_cmd {
    int dbid;
    int argc;
    ds *argv;
} prop_cmd;

static prop_cmd *props;
static int nprops, props_cap;

static int logging_on(void) { return wal.fd >= 0 && !server.loading; }

void propagate_command(int dbid, int argc, const char **argv, const size_t *lens) {
    if (!logging_on()) return;
    if (nprops == props_cap) {
        props_cap = props_cap ? props_cap * 2 : 8;
        props = zrealloc(props, sizeof(*props) * (size_t)props_cap);
    }
    prop_cmd *p = &props[nprops++];
    p->dbid = dbid;
    p->argc = argc;
    p->argv = zmalloc(sizeof(ds) * (size_t)argc);
    for (int i = 0; i < argc; i++) p->argv[i] = ds_new(argv[i], lens[i]);
}

void propagate_argv(int dbid, int argc, const resp_arg *argv) {
    if (!logging_on()) return;
    const char *v[64];
    size_t l[64];
    const char **pv = argc <= 64 ? v : zmalloc(sizeof(char *) * (size_t)argc);
    size_t *pl = argc <= 64 ? l : zmalloc(sizeof(size_t) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        pv[i] = argv[i].ptr;
        pl[i] = argv[i].len;
    }
    propagate_command(dbid, argc, pv, pl);
    if (pv != v) zfree(pv);
    if (pl != l) zfree(pl);
}

int propagate_pending(void) { return nprops; }

/* Commands to log after the current command (PEXPIREAT of the expires it
 * set): they are added by db_set_expire while the command runs, before the
 * command itself is queued. */
static prop_cmd *posts;
static int nposts, posts_cap;

int propagate_post_mark(void) { return nposts; }

void propagate_expired(int dbid, const char *key, size_t len) {
    if (!logging_on()) return;
    const char *argv[2] = {"DEL", key};
    size_t lens[2] = {3, len};
    propagate_command(dbid, 2, argv, lens);
    if (server.call_depth == 0) propagate_flush();
}

void propagate_post_expire(int dbid, const char *key, size_t len, int64_t when_ms) {
    if (!logging_on() || server.call_depth == 0) return;
    if (nposts == posts_cap) {
        posts_cap = posts_cap ? posts_cap * 2 : 8;
        posts = zrealloc(posts, sizeof(*posts) * (size_t)posts_cap);
    }
    prop_cmd *p = &posts[nposts++];
    p->dbid = dbid;
    p->argc = 3;
    p->argv = zmalloc(sizeof(ds) * 3);
    p->argv[0] = ds_from_cstr("PEXPIREAT");
    p->argv[1] = ds_new(key, len);
    p->argv[2] = ds_catfmt(ds_empty(24), "%lld", (long long)when_ms);
}

void propagate_post_commit(int mark) {
    for (int i = mark; i < nposts; i++) {
        if (nprops == props_cap) {
            props_cap = props_cap ? props_cap * 2 : 8;
            props = zrealloc(props, sizeof(*props) * (size_t)props_cap);
        }
        props[nprops++] = posts[i];
    }
    if (nposts > mark) nposts = mark;
}

static void encode_record(void);

void propagate_flush(void) {
    if (nprops == 0) return;
    encode_record();
    for (int i = 0; i < nprops; i++) {
        for (int k = 0; k < props[i].argc; k++) ds_free(props[i].argv[k]);
        zfree(props[i].argv);
    }
    nprops = 0;
}

/* One record for all the queued commands. Commands of several databases
 * (MOVE, SWAPDB, a script that SELECTs) are each tagged with their db:
 * the payload is a sequence of (db, argc, argv). */
static void encode_record(void) {
    ds payload = ds_empty(256);
    ser_put_varint(&payload, (uint64_t)nprops);
    for (int i = 0; i < nprops; i++) {
        ser_put_varint(&payload, (uint64_t)props[i].dbid);
        ser_put_varint(&payload, (uint64_t)props[i].argc);
        for (int k = 0; k < props[i].argc; k++) ser_put_bytes(&payload, props[i].argv[k], ds_len(props[i].argv[k]));
    }
    walrec_append(&wal.buf, ++wal.last_seq, payload, (uint32_t)ds_len(payload));
    ds_free(payload);
}

/* ---------------- fsync thread ---------------- */

static int debug_fail_fsyncs; /* DEBUG WAL-FAIL-FSYNCS n (tests); read under wal.mu */

static void *fsync_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&wal.mu);
    for (;;) {
        while (!wal.job_pending && !wal.stop) pthread_cond_wait(&wal.cv, &wal.mu);
        if (wal.stop) break;
        int fd = wal.job_fd;
        uint64_t seq = wal.job_seq;
        wal.job_pending = 0;
        wal.job_running = 1;
        int fail = debug_fail_fsyncs > 0;
        if (fail) debug_fail_fsyncs--;
        pthread_mutex_unlock(&wal.mu);
        int err = fail ? EIO : fdatasync(fd) < 0 ? errno : 0;
        pthread_mutex_lock(&wal.mu);
        wal.job_running = 0;
        if (err) wal.done_err = err;
        else if (seq > wal.done_seq) wal.done_seq = seq;
        uint64_t one = 1;
        ssize_t w = write(wal.efd, &one, 8);
        (void)w;
    }
    pthread_mutex_unlock(&wal.mu);
    return NULL;
}

static void fsync_done(void *ud) {
    (void)ud;
    uint64_t v;
    ssize_t r = read(wal.efd, &v, 8);
    (void)r;
    pthread_mutex_lock(&wal.mu);
    uint64_t done = wal.done_seq;
    int err = wal.done_err;
    wal.done_err = 0;
    pthread_mutex_unlock(&wal.mu);
    if (err) {
        if (!wal.fsync_error)
            server_log(LL_WARNING, "Fsync of the append-only file failed: %s. Writes are refused until the log is "
                                   "rewritten from memory (starting now).", strerror(err));
        wal.fsync_error = 1;
        wal.rewrite_scheduled = 1;
    } else if (done > wal.synced_seq && !wal.fsync_error) {
        wal.synced_seq = done;
    }
    wal.last_fsync_ms = util_mstime();
}

static int fsync_thread_start(void) {
    if (wal.thread_started) return 0;
    wal.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wal.efd < 0) return -1;
    pthread_mutex_init(&wal.mu, NULL);
    pthread_cond_init(&wal.cv, NULL);
    if (pthread_create(&wal.thread, NULL, fsync_main, NULL) != 0) return -1;
    wal.thread_started = 1;
    return el_watch_readable(server.loop, wal.efd, fsync_done, NULL) < 0 ? -1 : 0;
}

/* Hands an fsync of everything written so far to the thread: a new job, or
 * the waiting one widened to cover it (one fsync for the whole batch).
 * Nothing when that much was already asked for. Returns 1 when asked. */
static int fsync_submit(void) {
    if (wal.fd < 0 || wal.written_seq <= wal.synced_seq || wal.written_seq <= wal.submitted_seq) return 0;
    pthread_mutex_lock(&wal.mu);
    if (!wal.job_pending) wal.job_start_ms = util_mstime();
    wal.job_fd = wal.fd;
    wal.job_seq = wal.written_seq;
    wal.job_pending = 1;
    pthread_cond_signal(&wal.cv);
    pthread_mutex_unlock(&wal.mu);
    wal.submitted_seq = wal.written_seq;
    return 1;
}

static int fsync_busy(void) {
    pthread_mutex_lock(&wal.mu);
    int busy = wal.job_pending || wal.job_running;
    pthread_mutex_unlock(&wal.mu);
    return busy;
}

/* Waits for the thread to finish what it has (rewrite switch, shutdown). */
static void fsync_drain(void) {
    if (!wal.thread_started) return;
    while (fsync_busy()) usleep(200);
    fsync_done(NULL);
}

/* ---------------- writing ---------------- */

static int debug_fail_writes; /* DEBUG WAL-FAIL-WRITES n: the next n writes fail (tests) */

static void write_buffer(void) {
    if (wal.fd < 0 || ds_len(wal.buf) == 0) return;
    size_t n = ds_len(wal.buf);
    ssize_t k;
    if (debug_fail_writes > 0) {
        debug_fail_writes--;
        k = -1;
        errno = ENOSPC;
    } else {
        do k = write(wal.fd, wal.buf, n);
        while (k < 0 && errno == EINTR);
    }
    if (k == (ssize_t)n) {
        ds_setlen(wal.buf, 0);
        wal.incr_size += (long long)n;
        wal.written_seq = wal.last_seq;
        if (wal.write_error) server_log(LL_WARNING, "The append-only file is writable again.");
        wal.write_error = 0;
        return;
    }
    if (k > 0) {
        /* a short write: drop what was written so the file ends on the
         * boundary of the last complete record */
        if (ftruncate(wal.fd, wal.incr_size) < 0) {
            ds_consume(wal.buf, (size_t)k);
            wal.incr_size += k;
        }
        errno = ENOSPC;
    }
    int64_t now = util_mstime();
    if (!wal.write_error || now - wal.last_write_err_log_ms > 30000) {
        server_log(LL_WARNING, "Error writing to the append-only file: %s. Writes are refused until it works again.",
                   strerror(errno));
        wal.last_write_err_log_ms = now;
    }
    wal.write_error = 1;
}

void wal_before_sleep(void) {
    if (wal.fd < 0) return;
    write_buffer();
    if (server.aof_fsync == FSYNC_ALWAYS && !wal.fsync_error) fsync_submit();
}

int wal_must_hold_replies(void) { return wal.fd >= 0 && server.aof_fsync == FSYNC_ALWAYS; }
uint64_t wal_pending_seq(void) { return wal.last_seq; }
int wal_is_durable(uint64_t seq) { return seq <= wal.synced_seq; }

const char *wal_deny_write_reason(void) {
    if (wal.fd < 0) return NULL;
    if (wal.write_error)
        return "-MISCONF Errors writing to the append-only file: writes are refused until it can be written "
               "again (see the server log)";
    if (wal.fsync_error)
        return "-MISCONF The append-only file could not be synced to disk: writes are refused until it is "
               "rewritten (see the server log)";
    return NULL;
}

/* ---------------- files and the manifest ---------------- */

static ds path_in_dir(const char *name) { return ds_catfmt(ds_empty(64), "%s/%s", server.aof_dirname, name); }

static ds manifest_path(void) {
    return ds_catfmt(ds_empty(64), "%s/%s.manifest", server.aof_dirname, server.aof_filename);
}

static int write_manifest(const char *base, char **incrs, int nincrs) {
    ds text = ds_from_cstr("phenix-manifest 1\n");
    if (base) text = ds_catfmt(text, "base %s\n", base);
    for (int i = 0; i < nincrs; i++) text = ds_catfmt(text, "incr %s\n", incrs[i]);
    text = ds_catfmt(text, "checksum %016llx\n", (unsigned long long)XXH3_64bits(text, ds_len(text)));
    ds path = manifest_path(), tmp = ds_catfmt(ds_dup(path), ".tmp");
    int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, text, ds_len(text));
        if (w == (ssize_t)ds_len(text) && fsync(fd) == 0) rc = 0;
        close(fd);
        if (rc == 0 && rename(tmp, path) < 0) rc = -1;
    }
    if (rc == 0) persist_fsync_dir(server.aof_dirname);
    else server_log(LL_WARNING, "Could not write the manifest %s: %s", path, strerror(errno));
    ds_free(text);
    ds_free(path);
    ds_free(tmp);
    return rc;
}

static void set_manifest(char *base, char **incrs, int nincrs) {
    zfree(wal.base);
    for (int i = 0; i < wal.nincrs; i++) zfree(wal.incrs[i]);
    zfree(wal.incrs);
    wal.base = base;
    wal.incrs = incrs;
    wal.nincrs = nincrs;
}

static char *file_name(int no, const char *kind) {
    ds s = ds_catfmt(ds_empty(64), "%s.%d.%s.phx", server.aof_filename, no, kind);
    char *r = zstrdup(s);
    ds_free(s);
    return r;
}

/* Reads the manifest: 1 absent, 0 read, -1 damaged (logged). */
static int read_manifest(void) {
    ds path = manifest_path();
    FILE *f = fopen(path, "r");
    if (!f) {
        int absent = errno == ENOENT;
        if (!absent) server_log(LL_WARNING, "Could not open the manifest %s: %s", path, strerror(errno));
        ds_free(path);
        return absent ? 1 : -1;
    }
    char line[1024];
    ds text = ds_empty(256);
    char *base = NULL, **incrs = NULL;
    int nincrs = 0, ok = 0, lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n') break;
        if (strncmp(line, "checksum ", 9) == 0) {
            unsigned long long want = strtoull(line + 9, NULL, 16);
            ok = want == (unsigned long long)XXH3_64bits(text, ds_len(text));
            break;
        }
        text = ds_cat(text, line, n);
        line[n - 1] = '\0';
        if (lineno == 1) {
            if (strcmp(line, "phenix-manifest 1") != 0) break;
        } else if (strncmp(line, "base ", 5) == 0 && !base && !strchr(line + 5, '/')) {
            base = zstrdup(line + 5);
        } else if (strncmp(line, "incr ", 5) == 0 && !strchr(line + 5, '/')) {
            incrs = zrealloc(incrs, sizeof(char *) * (size_t)(nincrs + 1));
            incrs[nincrs++] = zstrdup(line + 5);
        } else {
            break;
        }
    }
    fclose(f);
    ds_free(text);
    if (!ok || nincrs == 0) {
        server_log(LL_WARNING, "The manifest %s is damaged (bad format or checksum, or no incr file): restore it, "
                   "or rebuild it by hand from the files in the directory.", path);
        zfree(base);
        for (int i = 0; i < nincrs; i++) zfree(incrs[i]);
        zfree(incrs);
        ds_free(path);
        return -1;
    }
    ds_free(path);
    set_manifest(base, incrs, nincrs);
    return 0;
}

static int file_no(const char *name) {
    /* <appendfilename>.<n>.<kind>.phx */
    size_t pl = strlen(server.aof_filename);
    if (strncmp(name, server.aof_filename, pl) != 0 || name[pl] != '.') return 0;
    return atoi(name + pl + 1);
}

static int open_incr(const char *name, int create) {
    ds p = path_in_dir(name);
    int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
    if (fd < 0) server_log(LL_WARNING, "Could not open the append-only file %s: %s", p, strerror(errno));
    ds_free(p);
    if (fd >= 0 && create) persist_fsync_dir(server.aof_dirname);
    return fd;
}

/* ---------------- replay ---------------- */

static long long replay_total, replay_done;

/* Runs one record's commands. Returns 0 or -1 (message in *why). */
static int apply_record(client *fc, const unsigned char *p, size_t len, const char **why) {
    ser_reader r;
    ser_reader_init(&r, p, len);
    uint64_t ncmds;
    *why = "malformed record payload";
    if (!ser_get_varint(&r, &ncmds) || ncmds == 0 || ncmds > len) return -1;
    for (uint64_t i = 0; i < ncmds; i++) {
        uint64_t dbid, argc;
        ser_get_varint(&r, &dbid);
        if (!ser_get_varint(&r, &argc) || argc == 0 || argc > ser_remaining(&r) || dbid >= (uint64_t)server.dbnum)
            return -1;
        resp_arg *argv = zmalloc(sizeof(resp_arg) * (size_t)argc);
        for (uint64_t k = 0; k < argc; k++) {
            const char *a;
            size_t al;
            if (!ser_get_bytes(&r, &a, &al)) {
                zfree(argv);
                return -1;
            }
            argv[k].ptr = a;
            argv[k].len = al;
        }
        fc->db = &server.dbs[dbid];
        fc->argc = (int)argc;
        fc->argv = argv;
        command *cmd = command_lookup_argv(argv, (int)argc);
        if (!cmd || !cmd->proc || (cmd->arity > 0 && cmd->arity != (int)argc) || (int)argc < -cmd->arity) {
            zfree(argv);
            fc->argc = 0;
            fc->argv = NULL;
            *why = "unknown command or wrong arity in the log";
            return -1;
        }
        fc->cmd = cmd;
        call_command(fc);
        fc->argc = 0;
        fc->argv = NULL;
        zfree(argv);
        ds_free(client_fake_take_reply(fc));
    }
    if (ser_remaining(&r)) return -1;
    return 0;
}

/* Replays one incr file. last: torn tails may be truncated. Returns 0 or
 * -1 (logged). */
static int replay_file(const char *name, int last, uint64_t *seq) {
    ds path = path_in_dir(name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        server_log(LL_WARNING, "The manifest names %s, which cannot be opened: %s", path, strerror(errno));
        ds_free(path);
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    unsigned char *data = zmalloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, data + got, size - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    client *fc = client_create_fake();
    fc->flags |= CLIENT_DENY_BLOCKING; /* a replayed BLPOP answers as on timeout, never waits */
    size_t off = 0;
    long long records = 0;
    int rc = 0;
    while (off < got) {
        const char *why = NULL;
        walrec rec;
        walrec_status st = walrec_check(data, got, off, &rec);
        if (st != WALREC_OK) {
            int torn = st == WALREC_TORN;
            why = rec.why;
            if (torn && last && server.aof_load_truncated) {
                server_log(LL_WARNING,
                           "!!! Warning: the append-only file %s ends with a torn record (%s) at offset %zu: "
                           "truncating it there (%zu bytes dropped); %lld records were replayed. This is what an "
                           "interrupted write leaves; acknowledged writes are never in a torn record.",
                           path, why, off, got - off, records);
                if (ftruncate(fd, (off_t)off) < 0) {
                    server_log(LL_WARNING, "Could not truncate %s: %s", path, strerror(errno));
                    rc = -1;
                }
                break;
            }
            server_log(LL_WARNING,
                       "Bad record in the append-only file %s at offset %zu (record %lld after sequence %llu): %s. "
                       "%s Run `phenix-check-aof --fix %s` to see and cut what is damaged (it removes "
                       "everything from that record on), or restore the file from a backup.",
                       path, off, records + 1, (unsigned long long)*seq, why,
                       torn ? (last ? "aof-load-truncated is no, so the server will not truncate it."
                                    : "It is not the last file of the manifest.")
                            : "Valid data follows it, so this is corruption, not a torn write.",
                       path);
            rc = -1;
            break;
        }
        uint64_t rs = rec.seq;
        uint32_t len = rec.len;
        if (*seq && rs != *seq + 1) {
            server_log(LL_WARNING, "The append-only file %s jumps from sequence %llu to %llu at offset %zu: records "
                       "are missing or repeated. Restore the files from a backup.", path, (unsigned long long)*seq,
                       (unsigned long long)rs, off);
            rc = -1;
            break;
        }
        if (apply_record(fc, rec.payload, len, &why) != 0) {
            server_log(LL_WARNING, "Cannot replay the record at offset %zu of %s (sequence %llu): %s", off, path,
                       (unsigned long long)rs, why);
            rc = -1;
            break;
        }
        *seq = rs;
        records++;
        off += rec.size;
        replay_done += (long long)rec.size;
        persist_loading_progress(replay_done);
    }
    client_free_fake(fc);
    if (rc == 0) server_log(LL_NOTICE, "Replayed %lld records from %s", records, path);
    zfree(data);
    close(fd);
    ds_free(path);
    return rc;
}

static long long file_size(const char *name) {
    ds p = path_in_dir(name);
    struct stat st;
    long long n = stat(p, &st) == 0 ? (long long)st.st_size : 0;
    ds_free(p);
    return n;
}

/* ---------------- start-up ---------------- */

/* Starts a log set from what is in memory: base snapshot n, empty incr n. */
static int create_fresh_set(int n) {
    char *base = file_name(n, "base"), *incr = file_name(n, "incr");
    ds bp = path_in_dir(base);
    int rc = snapshot_write(bp);
    ds_free(bp);
    int fd = rc == 0 ? open_incr(incr, 1) : -1;
    char **incrs = zmalloc(sizeof(char *));
    incrs[0] = incr;
    if (fd < 0 || write_manifest(base, incrs, 1) != 0) {
        if (fd >= 0) close(fd);
        zfree(base);
        zfree(incr);
        zfree(incrs);
        return -1;
    }
    set_manifest(base, incrs, 1);
    wal.fd = fd;
    wal.base_no = wal.incr_no = n;
    wal.base_size = file_size(base);
    wal.rewrite_base_size = wal.base_size;
    wal.incr_size = 0;
    return 0;
}

/* Removes files of the log set that the manifest does not name: a base
 * or incr file left by a rewrite that a crash interrupted, temporary
 * files. They are never needed: the manifest names a complete set. */
static void remove_unreferenced(void) {
    DIR *dir = opendir(server.aof_dirname);
    if (!dir) return;
    size_t pl = strlen(server.aof_filename);
    struct dirent *de;
    while ((de = readdir(dir))) {
        const char *n = de->d_name;
        if (strncmp(n, server.aof_filename, pl) != 0 || n[pl] != '.') continue;
        if (!strstr(n, ".phx") && !strstr(n, ".manifest.tmp")) continue;
        int used = wal.base && !strcmp(n, wal.base);
        for (int i = 0; i < wal.nincrs && !used; i++) used = !strcmp(n, wal.incrs[i]);
        if (used) continue;
        server_log(LL_NOTICE, "Removing %s/%s: not part of the log set (left by an interrupted rewrite)",
                   server.aof_dirname, n);
        ds p = path_in_dir(n);
        unlink(p);
        ds_free(p);
    }
    closedir(dir);
}

static int start_logging(void) {
    if (!wal.buf) wal.buf = ds_empty(64 * 1024);
    return fsync_thread_start();
}

int wal_startup_load(void) {
    if (!server.aof_enabled) {
        int r = snapshot_load(server.dbfilename);
        return r < 0 ? -1 : 0;
    }
    if (mkdir(server.aof_dirname, 0755) < 0 && errno != EEXIST) {
        server_log(LL_WARNING, "Can't create the append-only directory %s: %s", server.aof_dirname, strerror(errno));
        return -1;
    }
    int m = read_manifest();
    if (m < 0) return -1;
    if (m == 1) {
        /* first start with appendonly: begin from the snapshot, if any */
        if (snapshot_load(server.dbfilename) < 0) return -1;
        server_log(LL_NOTICE, "Creating the append-only file set in %s", server.aof_dirname);
        if (create_fresh_set(1) != 0) return -1;
        return start_logging();
    }
    long long total = wal.base ? file_size(wal.base) : 0;
    for (int i = 0; i < wal.nincrs; i++) total += file_size(wal.incrs[i]);
    persist_loading_start(total);
    int rc = 0;
    replay_total = total;
    replay_done = 0;
    if (wal.base) {
        ds bp = path_in_dir(wal.base);
        int r = snapshot_load(bp);
        if (r == 1) server_log(LL_WARNING, "The manifest names the base %s, which does not exist", bp);
        ds_free(bp);
        if (r != 0) rc = -1;
        replay_done = file_size(wal.base);
    }
    uint64_t seq = 0;
    for (int i = 0; i < wal.nincrs && rc == 0; i++)
        if (replay_file(wal.incrs[i], i == wal.nincrs - 1, &seq) != 0) rc = -1;
    persist_loading_end();
    if (rc != 0) return -1;
    wal.last_seq = wal.written_seq = wal.synced_seq = seq;
    wal.base_no = wal.base ? file_no(wal.base) : 0;
    wal.incr_no = file_no(wal.incrs[wal.nincrs - 1]);
    wal.base_size = wal.base ? file_size(wal.base) : 0;
    wal.rewrite_base_size = wal.base_size;
    wal.incr_size = 0;
    for (int i = 0; i < wal.nincrs; i++) wal.incr_size += file_size(wal.incrs[i]);
    wal.fd = open_incr(wal.incrs[wal.nincrs - 1], 0);
    if (wal.fd < 0) return -1;
    remove_unreferenced();
    return start_logging();
}

/* ---------------- rewrite ---------------- */

int wal_rewrite_running(void) { return wal.child > 0; }

int wal_rewrite_start(void) {
    if (wal.fd < 0 || wal.child > 0 || snapshot_child_running()) return -1;
    /* everything so far goes to the current incr file, then a new one */
    write_buffer();
    if (wal.write_error) return -1;
    int n = (wal.incr_no > wal.base_no ? wal.incr_no : wal.base_no) + 1;
    char *incr = file_name(n, "incr");
    int fd = open_incr(incr, 1);
    if (fd < 0) {
        zfree(incr);
        return -1;
    }
    char **incrs = zmalloc(sizeof(char *) * (size_t)(wal.nincrs + 1));
    for (int i = 0; i < wal.nincrs; i++) incrs[i] = zstrdup(wal.incrs[i]);
    incrs[wal.nincrs] = incr;
    if (write_manifest(wal.base, incrs, wal.nincrs + 1) != 0) {
        close(fd);
        ds p = path_in_dir(incr);
        unlink(p);
        ds_free(p);
        for (int i = 0; i <= wal.nincrs; i++) zfree(incrs[i]);
        zfree(incrs);
        return -1;
    }
    /* the old file must be durable before the switch (always: a pending
     * group fsync may still cover it) */
    fsync_drain();
    if (fdatasync(wal.fd) == 0 && !wal.fsync_error) wal.synced_seq = wal.written_seq;
    close(wal.fd);
    wal.fd = fd;
    set_manifest(wal.base ? zstrdup(wal.base) : NULL, incrs, wal.nincrs + 1);
    wal.incr_no = n;
    wal.new_base_no = n;
    pid_t pid = fork();
    if (pid < 0) {
        server_log(LL_WARNING, "Can't rewrite the append-only file: fork: %s", strerror(errno));
        wal.last_rewrite_ok = 0;
        return -1;
    }
    if (pid == 0) {
        persist_child_init();
        char *base = file_name(n, "base");
        ds bp = path_in_dir(base);
        _exit(snapshot_write(bp) == 0 ? 0 : 1);
    }
    wal.child = pid;
    wal.child_start_ms = util_mstime();
    wal.rewrite_scheduled = 0;
    server_log(LL_NOTICE, "Background append only file rewriting started by pid %d", (int)pid);
    return 0;
}

static void delete_file(const char *name) {
    ds p = path_in_dir(name);
    unlink(p);
    ds_free(p);
}

static void rewrite_done(int ok) {
    wal.last_rewrite_ms = util_mstime() - wal.child_start_ms;
    wal.child = -1;
    wal.last_rewrite_ok = ok;
    char *base = file_name(wal.new_base_no, "base");
    if (!ok) {
        server_log(LL_WARNING, "Background append only file rewriting failed; the log goes on in its current files");
        delete_file(base);
        zfree(base);
        return;
    }
    char **incrs = zmalloc(sizeof(char *));
    incrs[0] = zstrdup(wal.incrs[wal.nincrs - 1]);
    if (write_manifest(base, incrs, 1) != 0) {
        wal.last_rewrite_ok = 0;
        delete_file(base);
        zfree(base);
        zfree(incrs[0]);
        zfree(incrs);
        return;
    }
    if (wal.base) delete_file(wal.base);
    for (int i = 0; i < wal.nincrs - 1; i++) delete_file(wal.incrs[i]);
    set_manifest(base, incrs, 1);
    wal.base_no = wal.new_base_no;
    wal.base_size = file_size(base);
    wal.rewrite_base_size = wal.base_size;
    wal.incr_size = file_size(incrs[0]) + (long long)ds_len(wal.buf);
    wal.rewrites++;
    if (wal.fsync_error) {
        /* the new base holds everything up to the fork, the new incr the
         * rest: make that durable and the log is healthy again */
        write_buffer();
        if (!wal.write_error && fdatasync(wal.fd) == 0) {
            wal.fsync_error = 0;
            wal.synced_seq = wal.written_seq;
            server_log(LL_WARNING, "The append-only file was rewritten and synced: writes are accepted again.");
        }
    }
    server_log(LL_NOTICE, "Background AOF rewrite finished successfully");
}

void wal_cron(void) {
    if (wal.child > 0) {
        int status;
        if (waitpid(wal.child, &status, WNOHANG) == wal.child) rewrite_done(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return;
    }
    if (wal.fd < 0) return;
    if (ds_len(wal.buf)) write_buffer();
    int64_t now = util_mstime();
    if (server.aof_fsync == FSYNC_EVERYSEC && now - wal.last_fsync_ms >= 1000 && wal.written_seq > wal.synced_seq) {
        if (fsync_busy()) {
            if (now - wal.job_start_ms > 2000) {
                wal.delayed_fsync++;
                server_log(LL_WARNING, "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF "
                                       "buffer without waiting for fsync to complete, this may slow down Phenix.");
                wal.job_start_ms = now;
            }
        } else {
            fsync_submit();
        }
    }
    if (server.aof_fsync == FSYNC_ALWAYS && !wal.fsync_error) fsync_submit();
    if (wal.rewrite_scheduled && !snapshot_child_running()) {
        wal_rewrite_start();
        return;
    }
    long long growth_base = wal.rewrite_base_size > 0 ? wal.rewrite_base_size : 1;
    if (server.aof_rewrite_perc && wal.incr_size >= server.aof_rewrite_min_size &&
        (wal.incr_size * 100) / growth_base >= server.aof_rewrite_perc && !snapshot_child_running()) {
        server_log(LL_NOTICE, "Starting automatic rewriting of AOF on %lld%% growth",
                   (wal.incr_size * 100) / growth_base);
        wal_rewrite_start();
    }
}

int wal_shutdown(void) {
    if (wal.child > 0) {
        kill(wal.child, SIGUSR1);
        waitpid(wal.child, NULL, 0);
        char *base = file_name(wal.new_base_no, "base");
        ds p = path_in_dir(base);
        ds tmp = ds_catfmt(ds_dup(p), ".tmp-%d", (int)wal.child);
        unlink(tmp);
        ds_free(tmp);
        ds_free(p);
        zfree(base);
        wal.child = -1;
    }
    if (wal.fd < 0) return 0;
    write_buffer();
    fsync_drain();
    int rc = wal.write_error || fdatasync(wal.fd) < 0 ? -1 : 0;
    if (rc != 0) server_log(LL_WARNING, "Error flushing the append-only file at shutdown");
    return rc;
}

int wal_set_enabled(int on, ds *err) {
    if (!server.loop) {
        server.aof_enabled = on;
        return 0;
    }
    if (on && wal.fd < 0) {
        if (mkdir(server.aof_dirname, 0755) < 0 && errno != EEXIST) {
            *err = ds_catfmt(ds_empty(64), "can't create %s: %s", server.aof_dirname, strerror(errno));
            return -1;
        }
        int n = wal.base_no > wal.incr_no ? wal.base_no : wal.incr_no;
        if (create_fresh_set(n + 1) != 0 || start_logging() != 0) {
            *err = ds_from_cstr("could not start the append-only file (see the log)");
            return -1;
        }
        /* sequence numbers go on rising: the fsync thread's done mark stays valid */
        server.aof_enabled = 1;
        server_log(LL_NOTICE, "Append-only file enabled");
    } else if (!on && wal.fd >= 0) {
        wal_shutdown();
        close(wal.fd);
        wal.fd = -1;
        wal.synced_seq = wal.written_seq = wal.last_seq;
        server.aof_enabled = 0;
        server_log(LL_NOTICE, "Append-only file disabled");
    }
    return 0;
}

ds wal_info(ds s) {
    return ds_catfmt(s,
                     "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
                     "aof_last_rewrite_time_sec:%lld\r\naof_current_rewrite_time_sec:%lld\r\n"
                     "aof_last_bgrewrite_status:%s\r\naof_rewrites:%lld\r\naof_rewrites_consecutive_failures:0\r\n"
                     "aof_last_write_status:%s\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
                     "module_fork_last_cow_size:0\r\naof_delayed_fsync:%lld\r\n",
                     wal.fd >= 0, wal.child > 0, wal.rewrite_scheduled,
                     wal.last_rewrite_ms < 0 ? -1LL : (long long)(wal.last_rewrite_ms / 1000),
                     wal.child > 0 ? (long long)((util_mstime() - wal.child_start_ms) / 1000) : -1LL,
                     wal.last_rewrite_ok ? "ok" : "err", wal.rewrites, wal.write_error ? "err" : "ok",
                  wal.delayed_fsync);
    if (wal.fd < 0) return s;
    return ds_catfmt(s,
                     "aof_current_size:%lld\r\naof_base_size:%lld\r\naof_pending_rewrite:%d\r\n"
                     "aof_buffer_length:%zu\r\naof_pending_bio_fsync:%d\r\n"
                     "aof_last_seq:%llu\r\naof_synced_seq:%llu\r\n",
                     wal.base_size + wal.incr_size, wal.base_size, wal.rewrite_scheduled, ds_len(wal.buf),
                     fsync_busy(), (unsigned long long)wal.last_seq,
                     (unsigned long long)wal.synced_seq);
}

void wal_debug_fail_writes(int n) { debug_fail_writes = n; }

void wal_debug_fail_fsyncs(int n) {
    if (!wal.thread_started) return;
    pthread_mutex_lock(&wal.mu);
    debug_fail_fsyncs = n;
    pthread_mutex_unlock(&wal.mu);
}

void bgrewriteaofCommand(client *c) {
    if (wal.child > 0) {
        add_reply_error(c, "Background append only file rewriting already in progress");
        return;
    }
    if (wal.fd < 0) {
        add_reply_error(c, "the append-only file is off (appendonly no): nothing to rewrite");
        return;
    }
    if (snapshot_child_running()) {
        wal.rewrite_scheduled = 1;
        add_reply_status(c, "Background append only file rewriting scheduled");
        return;
    }
    if (wal_rewrite_start() == 0) add_reply_status(c, "Background append only file rewriting started");
    else add_reply_error(c, "Can't execute an AOF background rewriting. Please check the server logs for more information.");
}

/* ---------------- phenix-check-aof ---------------- */

/* `phenix-server --check-aof [--fix] <incr file>`: walks the records,
 * prints what it finds and, with --fix, truncates the file before the
 * first bad record (after saying what it cuts). Exit status 0 when the file
 * is (now) valid. */
int wal_check_main(int argc, char **argv) {
    int fix = 0;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--fix")) fix = 1;
        else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "Usage: phenix-check-aof [--fix] <file.incr.phx>\n");
        return 1;
    }
    int fd = open(path, fix ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "Cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size, off = 0;
    unsigned char *data = malloc(size ? size : 1);
    if (!data || read(fd, data, size) != (ssize_t)size) {
        fprintf(stderr, "Cannot read %s\n", path);
        close(fd);
        free(data);
        return 1;
    }
    uint64_t prev = 0;
    long long records = 0;
    const char *why = NULL;
    int64_t last_progress = util_mstime();
    while (off < size) {
        walrec rec;
        if (walrec_check(data, size, off, &rec) != WALREC_OK) {
            why = rec.why;
            break;
        }
        uint64_t rs = rec.seq;
        if (prev && rs != prev + 1) {
            why = "sequence gap";
            break;
        }
        prev = rs;
        records++;
        off += rec.size;
        if (util_mstime() - last_progress > 500) {
            fprintf(stderr, "\rchecked %zu of %zu bytes (%.0f%%)", off, size, 100.0 * (double)off / (double)size);
            last_progress = util_mstime();
        }
    }
    int rc = 0;
    if (!why) {
        printf("%s: %lld records, last sequence %llu: OK\n", path, records, (unsigned long long)prev);
    } else {
        printf("%s: %lld valid records (last sequence %llu), then %s at offset %zu; %zu bytes from there to the "
               "end would be cut.\n", path, records, (unsigned long long)prev, why, off, size - off);
        if (fix) {
            if (ftruncate(fd, (off_t)off) == 0 && fsync(fd) == 0) printf("Truncated %s at offset %zu.\n", path, off);
            else rc = 1;
        } else {
            printf("Run again with --fix to truncate it there.\n");
            rc = 1;
        }
    }
    free(data);
    close(fd);
    return rc;
}

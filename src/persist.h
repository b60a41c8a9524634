/* persist.h -- durability: snapshots (snapshot.c) and the write-ahead log
 * (wal.c), and what the rest of the server calls of them. */
#ifndef PHENIX_PERSIST_H
#define PHENIX_PERSIST_H

#include "server.h"

/* ---- snapshots (snapshot.c) ---- */

/* Writes every database to path atomically (a temporary file, fsync,
 * rename, fsync of the directory). Returns 0, or -1 with errno set and the
 * reason logged. Safe in a forked child. */
int snapshot_write(const char *path);
/* Loads path into the (empty) keyspace. Returns 0; 1 when the file does
 * not exist; -1 when it is unreadable or fails validation (the reason,
 * with the block and offset, is logged; the keyspace is then partial and
 * the caller must not serve it). */
int snapshot_load(const char *path);
/* DEBUG RELOAD: save, empty every database, load. 0, -1 (save failed,
 * nothing changed) or -2 (load failed: the data set is partial). */
int snapshot_debug_reload(void);
/* Starts a background save (fork); 0 or -1 (logged). */
int snapshot_bgsave(void);
/* The cron: save points, reaping the child. */
void snapshot_cron(void);
/* Saving on shutdown when save points exist; 0 or -1. */
int snapshot_shutdown_save(int force_save);
int snapshot_child_running(void);
/* fsync of a directory, so that a rename or a new file in it is durable. */
void persist_fsync_dir(const char *dir);
/* First thing in a forked child (BGSAVE, rewrite): closes the listening
 * sockets, restores default signal handling. */
void persist_child_init(void);
/* INFO persistence fields of snapshots. */
ds snapshot_info(ds s);
/* Waits for and reaps a running child (shutdown). */
void snapshot_kill_child(void);
/* Loading progress shared by snapshot and log loading (INFO). */
void persist_loading_start(long long total_bytes);
void persist_loading_progress(long long loaded_bytes);
void persist_loading_end(void);
ds persist_loading_info(ds s);

/* ---- write-ahead log (wal.c) ---- */

/* Opens (or creates) the log set of appenddirname at start-up and loads
 * it: the base snapshot then the incremental logs. Returns 0 or -1 (the
 * server must not start). */
int wal_startup_load(void);
/* Before sleeping: write the buffered records, start a group fsync
 * (always) and release the clients whose records are durable. */
void wal_before_sleep(void);
void wal_cron(void);
/* 1 when the reply being built must wait for the log (always policy). */
int wal_must_hold_replies(void);
/* Sequence number the replies queued now depend on. */
uint64_t wal_pending_seq(void);
/* 1 when a client's replies up to seq may be sent. */
int wal_is_durable(uint64_t seq);
/* NULL, or the -MISCONF-style error refusing writes now. */
const char *wal_deny_write_reason(void);
int wal_rewrite_start(void);
int wal_rewrite_running(void);
ds wal_info(ds s);
/* On shutdown: final write and fsync; 0 or -1. */
int wal_shutdown(void);
/* CONFIG SET appendonly yes|no at run time. */
int wal_set_enabled(int on, ds *err);
void wal_debug_fail_writes(int n);
/* The next n fsyncs of the log report EIO (tests of the recovery by rewrite). */
void wal_debug_fail_fsyncs(int n);
/* The phenix-check-aof tool (server binary started with --check-aof). */
int wal_check_main(int argc, char **argv);
void bgrewriteaofCommand(client *c);
void saveCommand(client *c);
void bgsaveCommand(client *c);
const char *snapshot_deny_write_reason(void);

/* ---- propagation (server.c calls these around each command) ---- */

/* Queues one command (argv copied) of the current top-level call for the
 * log, in execution order; outside any call the caller flushes (active
 * expiry). Nothing is queued while loading or with the log off. */
void propagate_command(int dbid, int argc, const char **argv, const size_t *lens);
/* The same for a resp argv. */
void propagate_argv(int dbid, int argc, const resp_arg *argv);
/* Number of commands queued in the current call so far. */
int propagate_pending(void);
/* Ends a top-level call: the queued commands become one log record. */
void propagate_flush(void);
/* PEXPIREAT key when_ms, logged right after the running command (called
 * by db_set_expire); mark/commit bracket one command's post-commands. */
void propagate_post_expire(int dbid, const char *key, size_t len, int64_t when_ms);
int propagate_post_mark(void);
void propagate_post_commit(int mark);
/* DEL key after an expiry (lazy or active). */
void propagate_expired(int dbid, const char *key, size_t len);

#endif

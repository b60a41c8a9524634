/* server.c -- start-up, the server cron, command dispatch and shutdown.
 *
 * Start-up: defaults, then the config file, then --directive overrides
 * (last one wins), then logging, pid file, fd limit, listening sockets and
 * the event loop. The cron runs `hz` times a second: active expiry with a
 * CPU budget, incremental rehashing, client timeouts, stats sampling.
 *
 * Dispatch (process_command) follows Redis's order of checks: unknown
 * command, arity, authentication, protected mode, OOM for write commands
 * that may grow memory, client pause; then call_command times the call for
 * commandstats, the slow log and the latency monitor.
 *
 * Signals: SIGTERM/SIGINT ask for a clean shutdown at the next cron tick
 * (the loop is woken by the cron timer); SIGSEGV and friends print a
 * report with a backtrace and the command being run (debug.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"
#include "server.h"

struct server server;
extern const el_callbacks server_loop_callbacks;
void debug_install_crash_handlers(void);

/* The time commands see: refreshed when input arrives, each loop turn and
 * each cron run, so a command reads the clock once per batch instead of on
 * every expiry check (Redis's command time snapshot, per read). */
int64_t server_mstime(void) { return server.mstime; }

void server_incr_dirty(long long n) { server.dirty += n; }

/* Counts an error reply under its code (first word) for errorstats. */
void server_count_error(const char *msg) {
    server.stat_total_error_replies++;
    size_t n = strcspn(msg, " ");
    if (n > 64) n = 64;
    if (dict_size(server.errors) >= 128) {
        ds k = ds_new("ERRORSTATS_OVERFLOW", 19);
        dict_entry *e = dict_find(server.errors, k);
        if (e) dict_entry_set_s64(e, dict_entry_s64(e) + 1);
        ds_free(k);
        return;
    }
    ds k = ds_new(msg, n);
    dict_entry *existing;
    dict_entry *e = dict_add_raw(server.errors, k, &existing);
    if (e) dict_entry_set_s64(e, 1);
    else {
        dict_entry_set_s64(existing, dict_entry_s64(existing) + 1);
        ds_free(k);
    }
}

/* ---------------- dispatch ---------------- */

static void reply_unknown_command(client *c) {
    ds args = ds_empty(64);
    for (int i = 1; i < c->argc && ds_len(args) < 128; i++)
        args = ds_catfmt(args, "'%.*s' ", (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len), c->argv[i].ptr);
    add_reply_errorf(c, "unknown command '%.*s', with args beginning with: %s",
                     (int)(c->argv[0].len > 128 ? 128 : c->argv[0].len), c->argv[0].ptr, args);
    ds_free(args);
}

static int is_paused_for(command *cmd) {
    if (!server.paused) return 0;
    if (util_mstime() >= server.pause_end_ms) return 0;
    if (server.pause_all) return 1;
    return (cmd->flags & CMD_WRITE) != 0;
}

/* Returns 1 when the command ran (or was answered with an error) and 0
 * when it must wait (client pause): the caller keeps its bytes. */
int process_command(client *c) {
    command *cmd = command_lookup_argv(c->argv, c->argc);
    c->cmd = cmd;
    if (!cmd) {
        command *parent = command_lookup(c->argv[0].ptr, c->argv[0].len);
        if (parent && parent->subcommands && c->argc >= 2)
        {
            char up[64];
            size_t n = c->argv[0].len < sizeof(up) - 1 ? c->argv[0].len : sizeof(up) - 1;
            for (size_t i = 0; i < n; i++) up[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
            up[n] = '\0';
            add_reply_errorf(c, "unknown subcommand '%.*s'. Try %s HELP.",
                             (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr, up);
        }
        else if (parent && parent->subcommands)
            add_reply_errorf(c, "wrong number of arguments for '%s' command", parent->name);
        else
            reply_unknown_command(c);
        multi_flag_error(c);
        return 1;
    }
    if ((cmd->arity > 0 && cmd->arity != c->argc) || (c->argc < -cmd->arity)) {
        if (cmd->proc == execCommand) { /* as Redis: a refused EXEC aborts the transaction */
            add_reply_errorf(c, "-EXECABORT Transaction discarded because of: wrong number of arguments for '%s' command",
                             cmd->name);
            multi_reset_client(c);
            cmd->rejected_calls++;
            return 1;
        }
        add_reply_err_arity(c);
        goto rejected;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
        add_reply_error(c, "-NOAUTH Authentication required.");
        goto rejected;
    }
    if (server.loading && !(cmd->flags & CMD_LOADING)) {
        add_reply_error(c, "-LOADING Redis is loading the dataset in memory");
        goto rejected;
    }
    if (cmd->flags & CMD_WRITE) {
        const char *deny = wal_deny_write_reason();
        if (!deny) deny = snapshot_deny_write_reason();
        if (deny) {
            add_reply_error(c, deny);
            goto rejected;
        }
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        add_reply_error(c, "Command not allowed inside a transaction");
        goto rejected;
    }
    if (server.maxmemory && evict_to_fit() < 0 && (cmd->flags & CMD_DENYOOM)) {
        add_reply_error(c, "-OOM command not allowed when used memory > 'maxmemory'.");
        goto rejected;
    }
    if (pubsub_refuse_in_context(c, cmd)) goto rejected;
    if (script_refuse_busy(c, cmd)) goto rejected;
    if (is_paused_for(cmd)) return 0;
    c->lastcmd = cmd;
    if ((c->flags & CLIENT_MULTI) && !multi_runs_now(cmd)) multi_queue_command(c);
    else call_command(c);
    return 1;
rejected:
    cmd->rejected_calls++;
    multi_flag_error(c);
    return 1;
}

void call_command(client *c) {
    command *cmd = c->cmd;
    long long errors_before = server.stat_total_error_replies, dirty_before = server.dirty;
    uint64_t start = util_ticks();
    uint32_t was_executing = c->flags & CLIENT_EXECUTING;
    int prop_before = propagate_pending(), post_mark = propagate_post_mark();
    c->flags |= CLIENT_EXECUTING;
    server.call_depth++;
    cmd->proc(c);
    server.call_depth--;
    c->flags = (c->flags & ~CLIENT_EXECUTING) | was_executing;
    /* the log gets what happened: a command whose nested calls (EXEC, a
     * script) logged their own effects is not logged itself */
    if ((cmd->flags & CMD_WRITE) && server.dirty != dirty_before && propagate_pending() == prop_before)
        propagate_argv(c->db->id, c->argc, c->argv);
    propagate_post_commit(post_mark);
    if (server.call_depth == 0) propagate_flush();
    int64_t dur = util_ticks_to_us(util_ticks() - start);
    cmd->calls++;
    cmd->usec += dur;
    if (cmd->parent) cmd->parent->calls++;
    if (server.stat_total_error_replies != errors_before) cmd->failed_calls++;
    if ((cmd->flags & CMD_WRITE) && server.dirty != dirty_before) multi_after_write(c);
    c->commands++;
    server.stat_numcommands++;
    if (!(cmd->flags & CMD_SKIP_SLOWLOG)) slowlog_push(c, dur);
    if (server.latency_monitor_threshold && dur / 1000 >= server.latency_monitor_threshold)
        latency_add_sample((cmd->flags & CMD_FAST) ? "fast-command" : "command", dur / 1000);
}

/* ---------------- cron ---------------- */

static volatile sig_atomic_t shutdown_signal;

static int server_cron(el_loop *loop, long long id, void *ud) {
    (void)loop; (void)id; (void)ud;
    server.cron_loops++;
    server.mstime = util_mstime();
    if (server.shutdown_asap) {
        server.shutdown_asap = 0;
        if (shutdown_signal)
            server_log(LL_WARNING, "Received %s scheduling shutdown...",
                       shutdown_signal == SIGINT ? "SIGINT" : "SIGTERM");
        if (server_prepare_shutdown() == 0) el_stop(server.loop);
        return 1;
    }
    /* active expiry: 25% of a cron period at effort 1, more at higher effort */
    int64_t budget = 1000000 / server.hz * (20 + 5 * (server.active_expire_effort - 1)) / 100;
    db_active_expire_cycle(budget);
    evict_to_fit(); /* a lowered maxmemory is reached without traffic too */
    for (int i = 0; i < server.dbnum; i++) {
        db *d = &server.dbs[i];
        dict_maybe_shrink(d->keys);
        dict_maybe_shrink(d->expires);
        if (dict_is_rehashing(d->keys)) dict_rehash_ms(d->keys, 1);
        if (dict_is_rehashing(d->expires)) dict_rehash_ms(d->expires, 1);
    }
    client_cron();
    snapshot_cron();
    wal_cron();
    size_t used = zmalloc_used_memory();
    if ((int64_t)used > server.stat_peak_memory) server.stat_peak_memory = (int64_t)used;
    return 1000 / server.hz;
}

/* Ends an expired client pause and runs the input it held back. */
void server_before_sleep(void) {
    server.mstime = util_mstime();
    propagate_flush();
    wal_before_sleep();
    if (server.paused && util_mstime() >= server.pause_end_ms) {
        server.paused = 0;
        clients_process_paused();
    }
}

/* ---------------- networking set-up ---------------- */

static int listen_on(const char *addr, int port) {
    struct addrinfo hints, *res, *ai;
    char portstr[16];
    int optional = addr[0] == '-';
    if (optional) addr++;
    snprintf(portstr, sizeof(portstr), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (strcmp(addr, "*") == 0) addr = "0.0.0.0";
    if (strcmp(addr, "::*") == 0) addr = "::";
    int r = getaddrinfo(addr, portstr, &hints, &res);
    if (r != 0) {
        server_log(optional ? LL_NOTICE : LL_WARNING, "Could not resolve %s: %s", addr, gai_strerror(r));
        return optional ? 0 : -1;
    }
    int ok = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, server.tcp_backlog) < 0) {
            int e = errno;
            close(fd);
            if (optional && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT || e == EPROTONOSUPPORT)) {
                ok = 0;
                continue;
            }
            server_log(LL_WARNING, "Warning: Could not create server TCP listening socket %s:%d: %s", addr,
                       port, strerror(e));
            continue;
        }
        if (server.nlisten < 16) {
            server.listen_fds[server.nlisten++] = fd;
            ok = 0;
        } else {
            close(fd);
        }
    }
    freeaddrinfo(res);
    return ok;
}

int server_listen(void) {
    if (server.port == 0) return 0;
    char *copy = zstrdup(server.bind && server.bind[0] ? server.bind : "* -::*");
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (listen_on(tok, server.port) < 0) {
            rc = -1;
            break;
        }
    }
    zfree(copy);
    if (rc == 0 && server.nlisten == 0) rc = -1;
    return rc;
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    rlim_t want = (rlim_t)server.maxclients + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want) return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = want < rl.rlim_max || rl.rlim_max == RLIM_INFINITY ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want) {
        int allowed = (int)rl.rlim_cur - 32;
        if (allowed < 1) allowed = 1;
        server_log(LL_WARNING, "You requested maxclients of %lld requiring at least %llu max file descriptors. "
                   "Server can't set maximum open files to %llu because of OS error: the limit stays at %lu; "
                   "maxclients has been reduced to %d.", server.maxclients, (unsigned long long)want,
                   (unsigned long long)want,
                   (unsigned long)old, allowed);
        server.maxclients = allowed;
    }
}

/* ---------------- shutdown ---------------- */

static void sig_shutdown(int sig) {
    if (shutdown_signal) {
        /* second signal: exit now */
        static const char msg[] = "You insist... exiting now.\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)w;
        _exit(1);
    }
    shutdown_signal = sig;
    server.shutdown_asap = 1;
}

int server_prepare_shutdown(void) {
    server_log(LL_WARNING, "User requested shutdown...");
    if (wal_shutdown() != 0 && !server.shutdown_force) {
        server_log(LL_WARNING, "Errors trying to shut down the server: the append-only file could not be flushed.");
        return -1;
    }
    if (!server.shutdown_nosave && snapshot_shutdown_save(server.shutdown_save) != 0 && !server.shutdown_force)
        return -1;
    if (server.pidfile && server.pidfile[0]) unlink(server.pidfile);
    server_log(LL_WARNING, "Phenix is now ready to exit, bye bye...");
    return 0;
}

static void server_free_all(void) {
    client_free_all();
    for (int i = 0; i < server.nlisten; i++) close(server.listen_fds[i]);
    server.nlisten = 0;
    /* let the loop complete what is in flight and release the clients */
    if (server.loop) el_drain(server.loop, 2000);
    el_free(server.loop);
    server.loop = NULL;
    db_free_all();
    pubsub_free();
    script_free();
    dict_release(server.errors);
    slowlog_free();
    latency_free();
    commands_free();
    config_free();
    zfree(server.config_file);
    zfree(server.executable);
}

void server_shutdown_and_exit(int code) {
    server_free_all();
    exit(code);
}

/* ---------------- main ---------------- */

static void write_pidfile(void) {
    if (!server.pidfile || !server.pidfile[0]) return;
    FILE *f = fopen(server.pidfile, "w");
    if (!f) {
        server_log(LL_WARNING, "Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void usage(void) {
    fprintf(stderr,
            "Usage: ./phenix-server [/path/to/phenix.conf] [options] [-]\n"
            "       ./phenix-server - (read config from stdin)\n"
            "       ./phenix-server -v or --version\n"
            "       ./phenix-server -h or --help\n\n"
            "Examples:\n"
            "       ./phenix-server (run the server with default config)\n"
            "       ./phenix-server /etc/phenix/6379.conf\n"
            "       ./phenix-server --port 7777\n"
            "       ./phenix-server /etc/myphenix.conf --loglevel verbose\n");
}

/* Turns argv after the optional config file into config text: every
 * "--name" starts a new directive line, other words are its arguments. */
static ds options_from_argv(int argc, char **argv, int start) {
    ds s = ds_empty(64);
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            if (ds_len(s)) s = ds_cat(s, "\n", 1);
            s = ds_cat(s, a + 2, strlen(a + 2));
        } else {
            s = ds_cat(s, " \"", 2);
            for (const char *p = a; *p; p++) {
                if (*p == '"' || *p == '\\') s = ds_cat(s, "\\", 1);
                s = ds_cat(s, p, 1);
            }
            s = ds_cat(s, "\"", 1);
        }
    }
    return s;
}

int main(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("Phenix server v=%s redis_compat=%s malloc=%s bits=%d\n", PHENIX_VERSION,
               PHENIX_REDIS_COMPAT_VERSION, zmalloc_allocator_name(), (int)(sizeof(long) * 8));
        return 0;
    }
    {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (!strcmp(base, "phenix-check-aof")) return wal_check_main(argc - 1, argv + 1);
        if (argc >= 2 && !strcmp(argv[1], "--check-aof")) return wal_check_main(argc - 2, argv + 2);
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    uint8_t seed[16];
    util_random_bytes(seed, sizeof(seed));
    dict_set_seed(seed);
    server.pid = getpid();
    server.start_ms = server.mstime = util_mstime();
    util_ticks_init();
    server.executable = zstrdup(argv[0]);
    config_init_defaults();
    commands_init();
    entity_init();
    pubsub_init();
    script_init();
    server.errors = dict_create(&ds_set_type);
    server.next_client_id = 1;

    int optstart = 1;
    ds err = NULL;
    if (argc > 1 && argv[1][0] != '-') {
        char *abs = realpath(argv[1], NULL);
        server.config_file = zstrdup(abs ? abs : argv[1]);
        free(abs);
        optstart = 2;
        if (config_load_file(argv[1], &err) != 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Phenix %s) ***\n%s\n", PHENIX_VERSION, err);
            ds_free(err);
            goto fail;
        }
    }
    if (optstart < argc) {
        ds opts = options_from_argv(argc, argv, optstart);
        if (config_load_string(opts, "command line", &err) != 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Phenix %s) ***\n%s\n", PHENIX_VERSION, err);
            ds_free(opts);
            ds_free(err);
            goto fail;
        }
        ds_free(opts);
    }
    if (server.dir && chdir(server.dir) < 0) {
        fprintf(stderr, "Can't chdir to '%s': %s\n", server.dir, strerror(errno));
        goto fail;
    }
    if (server.daemonize && daemon(1, 0) < 0) {
        fprintf(stderr, "daemonize: %s\n", strerror(errno));
        goto fail;
    }
    server.pid = getpid();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_shutdown;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    debug_install_crash_handlers();

    server_log(LL_NOTICE, "oO0OoO0OoO0Oo Phenix is starting oO0OoO0OoO0Oo");
    server_log(LL_NOTICE, "Phenix version=%s, bits=%d, pid=%d, just started", PHENIX_VERSION,
               (int)(sizeof(long) * 8), (int)server.pid);
    if (server.config_file) server_log(LL_NOTICE, "Configuration loaded");
    else server_log(LL_WARNING, "Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/phenix.conf", argv[0]);
    raise_fd_limit();
    db_init_all();
    slowlog_init();

    char loop_err[256], note[512];
    server.loop = el_create(server.event_loop_mode, &server_loop_callbacks, NULL, loop_err, sizeof(loop_err),
                            note, sizeof(note));
    if (!server.loop) {
        server_log(LL_WARNING, "Failed creating the event loop: %s", loop_err);
        goto fail;
    }
    if (note[0]) server_log(LL_WARNING, "%s", note);
    server_log(LL_NOTICE, "Event loop: %s", el_backend_name(server.loop));
    if (server_listen() != 0) {
        server_log(LL_WARNING, "Failed listening on port %d (tcp), aborting.", server.port);
        goto fail;
    }
    for (int i = 0; i < server.nlisten; i++) el_listen(server.loop, server.listen_fds[i]);
    write_pidfile();
    {
        int64_t t0 = util_mstime();
        if (wal_startup_load() != 0) {
            server_log(LL_WARNING, "Fatal error loading the data set: see the messages above. Exiting.");
            goto fail;
        }
        long long keys = 0;
        for (int i = 0; i < server.dbnum; i++) keys += (long long)dict_size(server.dbs[i].keys);
        if (keys) server_log(LL_NOTICE, "DB loaded from disk: %lld keys in %.3f seconds", keys,
                             (double)(util_mstime() - t0) / 1000.0);
        server.lastsave = util_mstime() / 1000;
    }
    el_timer_add(server.loop, 1, server_cron, NULL);
    server_log(LL_NOTICE, "Server initialized");
    server_log(LL_NOTICE, "Ready to accept connections tcp");
    el_run(server.loop);
    server_free_all();
    return 0;
fail:
    server_free_all();
    return 1;
}

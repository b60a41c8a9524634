/* debug.c -- DEBUG subcommands and the crash report.
 *
 * On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the handler writes a report
 * to the log with async-signal-safe calls only (write, backtrace_symbols_fd):
 * the signal, a stack trace, and the command the current client was
 * running (name and first arguments), then re-raises the signal with the
 * default action so that a core dump or the sanitizer still happens. */
#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include "persist.h"
#include "planner.h"
#include "serial.h"
#include "server.h"

static void write_str(int fd, const char *s) {
    ssize_t w = write(fd, s, strlen(s));
    (void)w;
}

static void crash_handler(int sig, siginfo_t *info, void *uctx) {
    (void)info;
    (void)uctx;
    int fd = log_fd();
    if (fd < 0) fd = STDERR_FILENO;
    write_str(fd, "\n\n=== PHENIX BUG REPORT START: Cut & paste starting from here ===\n");
    write_str(fd, "Phenix crashed by signal: ");
    write_str(fd, strsignal(sig));
    write_str(fd, "\n\n------ STACK TRACE ------\n");
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, fd);
    client *c = server.current_client;
    if (c && c->argc > 0 && c->argv) {
        write_str(fd, "\n------ CURRENT CLIENT INFO ------\nclient addr=");
        write_str(fd, c->addr);
        write_str(fd, "\nargc and argv (first 8, up to 64 bytes each):\n");
        for (int i = 0; i < c->argc && i < 8; i++) {
            if (!c->argv[i].ptr) break;
            write_str(fd, "  argv: '");
            ssize_t w = write(fd, c->argv[i].ptr, c->argv[i].len > 64 ? 64 : c->argv[i].len);
            (void)w;
            write_str(fd, "'\n");
        }
    }
    write_str(fd, "\n=== PHENIX BUG REPORT END. Make sure to include from START to END. ===\n");
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) close(fd);
    signal(sig, SIG_DFL);
    raise(sig);
}

void debug_install_crash_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
}

/* DEBUG PROTOCOL <type>: one reply of each RESP3 type, to test clients. */
static void debug_protocol(client *c) {
    resp_arg *t = &c->argv[2];
    if (util_eqi(t->ptr, t->len, "string")) {
        add_reply_bulk_cstr(c, "Hello World");
    } else if (util_eqi(t->ptr, t->len, "integer")) {
        add_reply_long(c, 12345);
    } else if (util_eqi(t->ptr, t->len, "double")) {
        add_reply_double(c, 3.141);
    } else if (util_eqi(t->ptr, t->len, "bignum")) {
        add_reply_bignum(c, "1234567999999999999999999999999999999");
    } else if (util_eqi(t->ptr, t->len, "null")) {
        add_reply_null(c);
    } else if (util_eqi(t->ptr, t->len, "array") || util_eqi(t->ptr, t->len, "set")) {
        if (util_eqi(t->ptr, t->len, "set")) add_reply_set_len(c, 3);
        else add_reply_array_len(c, 3);
        for (int i = 0; i < 3; i++) add_reply_long(c, i);
    } else if (util_eqi(t->ptr, t->len, "map")) {
        add_reply_map_len(c, 3);
        for (int i = 0; i < 3; i++) {
            add_reply_long(c, i);
            add_reply_bool(c, i == 1);
        }
    } else if (util_eqi(t->ptr, t->len, "attrib")) {
        if (c->resp >= 3) {
            add_reply_raw(c, "|1\r\n", 4);
            add_reply_bulk_cstr(c, "key-popularity");
            add_reply_array_len(c, 2);
            add_reply_bulk_cstr(c, "key:123");
            add_reply_long(c, 90);
        }
        add_reply_bulk_cstr(c, "Some real reply following the attribute");
    } else if (util_eqi(t->ptr, t->len, "push")) {
        if (c->resp < 3) {
            add_reply_error(c, "RESP2 is not supported by this command");
            return;
        }
        add_reply_push_len(c, 2);
        add_reply_bulk_cstr(c, "server-cpu-usage");
        add_reply_long(c, 42);
        add_reply_bulk_cstr(c, "Some real reply following the push reply");
    } else if (util_eqi(t->ptr, t->len, "verbatim")) {
        const char *v = "This is a verbatim\nstring";
        add_reply_verbatim(c, v, strlen(v), "txt");
    } else if (util_eqi(t->ptr, t->len, "true") || util_eqi(t->ptr, t->len, "false")) {
        add_reply_bool(c, util_eqi(t->ptr, t->len, "true"));
    } else {
        add_reply_error(c, "Wrong protocol type name. Please use one of the following: "
                           "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
    }
}

void debugCommand(client *c) {
    if (arg_is(c, 1, "sleep") && c->argc == 3) {
        double secs;
        if (!util_str2d(c->argv[2].ptr, c->argv[2].len, &secs) || secs < 0) {
            add_reply_error(c, "value is not a valid float");
            return;
        }
        int64_t start = util_monotonic_us();
        usleep((useconds_t)(secs * 1e6));
        int64_t ms = (util_monotonic_us() - start) / 1000;
        if (server.latency_monitor_threshold && ms >= server.latency_monitor_threshold)
            latency_add_sample("command", ms);
        add_reply_ok(c);
    } else if (arg_is(c, 1, "object") && c->argc == 3) {
        pobj *o = db_lookup_write(c->db, c->argv[2].ptr, c->argv[2].len);
        if (!o) {
            add_reply_error(c, "no such key");
            return;
        }
        char buf[32];
        size_t len;
        obj_str(o, buf, &len);
        char out[256];
        snprintf(out, sizeof(out),
                 "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%u",
                 (void *)o, obj_enc_name(o), len, o->lru & 0xFFFFFF, lru_clock() - o->lru);
        add_reply_status(c, out);
    } else if (arg_is(c, 1, "segfault") && c->argc == 2) {
        /* Crashes on purpose, to test the crash report. */
        raise(SIGSEGV);
    } else if (arg_is(c, 1, "planner-force") && c->argc == 3) {
        int which = -2;
        if (arg_is(c, 2, "auto")) which = -1;
        for (int i = 0; i < PLAN_COUNT; i++)
            if (util_eqi(c->argv[2].ptr, c->argv[2].len, planner_strategy_name((planner_strategy)i))) which = i;
        if (which == -2) {
            add_reply_error(c, "unknown strategy: use index_scan, full_scan, acorn, postfilter or auto");
            return;
        }
        planner_force = which;
        add_reply_ok(c);
    } else if (arg_is(c, 1, "protocol") && c->argc == 3) {
        debug_protocol(c);
    } else if (arg_is(c, 1, "set-active-expire") && c->argc == 3) {
        add_reply_ok(c);
    } else if (arg_is(c, 1, "reload") && c->argc == 2) {
        int r = snapshot_debug_reload();
        if (r == 0) add_reply_ok(c);
        else if (r == -1) add_reply_error(c, "Error trying to save the snapshot (see the log)");
        else add_reply_error(c, "Error trying to load the snapshot (see the log): the data set may be partial");
    } else if (arg_is(c, 1, "set-skip-checksum-validation") && c->argc == 3) {
        long long on;
        if (arg_long_range(c, 2, 0, 1, &on, NULL) < 0) return;
        serial_set_skip_checksum((int)on);
        add_reply_ok(c);
    } else if (arg_is(c, 1, "wal-fail-fsyncs") && c->argc == 3) {
        long long n;
        if (arg_long_range(c, 2, 0, 1000000, &n, NULL) < 0) return;
        wal_debug_fail_fsyncs((int)n);
        add_reply_ok(c);
    } else if (arg_is(c, 1, "wal-fail-writes") && c->argc == 3) {
        long long n;
        if (arg_long_range(c, 2, 0, 1000000, &n, NULL) < 0) return;
        wal_debug_fail_writes((int)n);
        add_reply_ok(c);
    } else if (arg_is(c, 1, "help")) {
        static const char *help[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "OBJECT <key>", "    Show low level info about the value of <key>.",
            "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
            "PROTOCOL <type>", "    Reply with a test value of a RESP3 type.",
            "SEGFAULT", "    Crash the server with a segmentation fault (tests the crash report).",
            "RELOAD", "    Save the snapshot, empty every database and load the snapshot back.",
            "WAL-FAIL-WRITES <n>", "    Make the next <n> writes to the append-only file fail (tests).",
            "WAL-FAIL-FSYNCS <n>", "    Make the next <n> fsyncs of the append-only file fail (tests).",
            "PLANNER-FORCE <index_scan|full_scan|acorn|postfilter|auto>",
            "    Filtered searches take that strategy when allowed (tests); AUTO: the planner's choice.",
            "SET-SKIP-CHECKSUM-VALIDATION <0|1>", "    RESTORE accepts payloads whatever their checksum (fuzz tests).",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    } else {
        add_reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                         (int)(c->argv[1].len > 64 ? 64 : c->argv[1].len), c->argv[1].ptr);
    }
}

/* log.c -- Redis-style log lines:
 *   "<pid>:M 24 Nov 2026 01:41:55.123 * message"
 * with level marks '.' debug, '-' verbose, '*' notice, '#' warning.
 * The log goes to `logfile` (appended) or stdout when it is empty. The file
 * is opened once per line, as Redis does, so logrotate's move-and-create
 * works without a signal. server_log_raw_fd() is the async-signal-safe
 * path used by the crash handler. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

int log_fd(void) {
    if (!server.logfile || !server.logfile[0]) return STDOUT_FILENO;
    return open(server.logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void server_log(int level, const char *fmt, ...) {
    if (level < server.verbosity) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t off = strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(ts + off, sizeof(ts) - off, "%03d", (int)(tv.tv_usec / 1000));
    static const char marks[] = ".-*#";
    char line[4300];
    int n = snprintf(line, sizeof(line), "%d:M %s %c %s\n", (int)getpid(), ts, marks[level & 3], msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    int fd = log_fd();
    if (fd < 0) return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    if (fd != STDOUT_FILENO) close(fd);
}

void server_log_raw_fd(const char *msg) {
    int fd = log_fd();
    if (fd < 0) return;
    ssize_t w = write(fd, msg, strlen(msg));
    (void)w;
    if (fd != STDOUT_FILENO) close(fd);
}

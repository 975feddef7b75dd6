/* log.c — structured logs: one JSON object per line on stderr, or a text
 * line with --log-format text.  A line is formatted into a local buffer, so
 * lines from different threads never mix.
 *
 * DESIGN (docs/architecture.md, "Request cost")
 * - bb_log writes its line at once with one write(2), after any deferred
 *   lines, so the order on stderr is the order of the calls.
 * - bb_log_deferred (the access log: one line per HTTP request) appends the
 *   line to a shared buffer instead; a flusher thread, started on first
 *   use, writes the buffer with one write(2) every FLUSH_MS or as soon as
 *   it is half full.  That turns one system call per request into one per
 *   batch.  A full buffer is written by the caller itself (bounded memory).
 * - Locks: `mu` guards the buffer; `wmu` is held while anything is written
 *   to stderr, so a batch taken from the buffer reaches the file before any
 *   line logged after it.  Order: wmu, then mu.
 * - Exit: an atexit handler writes what is left.  After fork the child
 *   never writes the parent's pending lines (the owner's pid is checked).
 *   A process killed by SIGKILL loses at most the last FLUSH_MS of access
 *   lines; warnings and errors are never deferred. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define DEFER_CAP (64 * 1024)
#define FLUSH_MS 20

static atomic_int min_level = BB_LOG_INFO;
static atomic_int text_format = 0;

void bb_log_set_level(enum bb_log_level lvl) { atomic_store(&min_level, (int)lvl); }
void bb_log_set_text(int text) { atomic_store(&text_format, text); }

static const char *level_name(enum bb_log_level l)
{
    switch (l) {
    case BB_LOG_DEBUG: return "debug";
    case BB_LOG_INFO: return "info";
    case BB_LOG_WARN: return "warn";
    case BB_LOG_ERROR: return "error";
    }
    return "info";
}

/* Appends s JSON-escaped (without quotes) to buf at *pos, bounded. */
static void put_escaped(char *buf, size_t cap, size_t *pos, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p && *pos + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(buf + *pos, "\\u00", 4);
            buf[*pos + 4] = hex[c >> 4];
            buf[*pos + 5] = hex[c & 15];
            *pos += 6;
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

static void put_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    if (*pos + 1 >= cap)
        return;
    size_t n = strlen(s);
    if (*pos + n >= cap)
        n = cap - *pos - 1;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

/* put_raw for each string argument up to a NULL. */
static void put_raws(char *buf, size_t cap, size_t *pos, ...)
{
    va_list ap;
    va_start(ap, pos);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        put_raw(buf, cap, pos, s);
    va_end(ap);
}

/* "2026-12-04T01:02:03.456Z" into out (cap >= 32).  The part up to the
 * seconds is formatted once per second per thread. */
static void timestamp(char *out)
{
    static _Thread_local time_t sec = (time_t)-1;
    static _Thread_local char head[24];
    static _Thread_local size_t hl;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        hl = strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
        sec = ts.tv_sec;
    }
    memcpy(out, head, hl);
    int ms = (int)(ts.tv_nsec / 1000000) % 1000;
    out[hl] = '.';
    out[hl + 1] = (char)('0' + ms / 100);
    out[hl + 2] = (char)('0' + ms / 10 % 10);
    out[hl + 3] = (char)('0' + ms % 10);
    out[hl + 4] = 'Z';
    out[hl + 5] = '\0';
}

/* Formats one line (with its newline) into line; returns its length. */
static size_t format_line(char line[LINE_MAX_BYTES], enum bb_log_level lvl, const char *msg,
                          va_list ap)
{
    size_t pos = 0, cap = LINE_MAX_BYTES - 2;
    char when[32];
    timestamp(when);
    int text = atomic_load(&text_format);
    if (text) {
        put_raws(line, cap, &pos, when, " ", level_name(lvl), " ", msg, (char *)0);
    } else {
        put_raws(line, cap, &pos, "{\"time\":\"", when, "\",\"level\":\"", level_name(lvl),
                 "\",\"msg\":\"", (char *)0);
        put_escaped(line, cap, &pos, msg);
        put_raw(line, cap, &pos, "\"");
    }
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (!v)
            v = "";
        if (text) {
            put_raws(line, cap, &pos, " ", k, "=", v, (char *)0);
        } else {
            put_raw(line, cap, &pos, ",\"");
            put_escaped(line, cap, &pos, k);
            put_raw(line, cap, &pos, "\":\"");
            put_escaped(line, cap, &pos, v);
            put_raw(line, cap, &pos, "\"");
        }
    }
    if (!text)
        line[pos++] = '}';
    line[pos++] = '\n';
    return pos;
}

static void write_all(const char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, p + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

/* ---- deferred lines ------------------------------------------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   /* guards pend, npend */
static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;  /* held while writing */
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;   /* "half full" */
static char pend[DEFER_CAP];     /* guarded by mu */
static size_t npend;             /* guarded by mu */
static char wbuf[DEFER_CAP];     /* guarded by wmu: a batch on its way out */
static pid_t owner;              /* the flusher's process; written once, before flusher_ok */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool flusher_ok;

/* Writes the pending lines (caller holds wmu, not mu). */
static void flush_locked(void)
{
    pthread_mutex_lock(&mu);
    size_t n = npend;
    bool mine = owner == getpid();
    if (n)
        memcpy(wbuf, pend, n);
    npend = 0;
    pthread_mutex_unlock(&mu);
    if (n && mine)
        write_all(wbuf, n);
}

static void *flusher_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += FLUSH_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        while (npend < DEFER_CAP / 2) {
            if (pthread_cond_timedwait(&cond, &mu, &dl) != 0)
                break;
        }
        pthread_mutex_unlock(&mu);
        pthread_mutex_lock(&wmu);
        flush_locked();
        pthread_mutex_unlock(&wmu);
    }
    return NULL;
}

static void flush_at_exit(void)
{
    pthread_mutex_lock(&wmu);
    flush_locked();
    pthread_mutex_unlock(&wmu);
}

static void start_flusher(void)
{
    owner = getpid();
    pthread_attr_t at;
    pthread_t t;
    if (pthread_attr_init(&at) != 0)
        return;
    bool ok = pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
              pthread_attr_setstacksize(&at, 64 * 1024) == 0 &&
              pthread_create(&t, &at, flusher_main, NULL) == 0;
    pthread_attr_destroy(&at);
    if (ok && atexit(flush_at_exit) == 0)
        atomic_store(&flusher_ok, true);
}

/* Appends a formatted line to the pending batch; false when it must be
 * written directly (no flusher, the batch is full, or a forked child). */
static bool defer_line(const char *line, size_t n)
{
    if (pthread_once(&once, start_flusher) != 0 || !atomic_load(&flusher_ok))
        return false;
    pthread_mutex_lock(&mu);
    bool ok = npend + n <= DEFER_CAP && owner == getpid();
    if (ok) {
        memcpy(pend + npend, line, n);
        npend += n;
        if (npend >= DEFER_CAP / 2)
            pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

static void emit(enum bb_log_level lvl, bool deferred, const char *msg, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t n = format_line(line, lvl, msg, ap);
    if (deferred && defer_line(line, n))
        return;
    pthread_mutex_lock(&wmu);
    if (atomic_load(&flusher_ok))
        flush_locked();          /* the batch first: calls stay in order */
    write_all(line, n);
    pthread_mutex_unlock(&wmu);
}

void bb_log(enum bb_log_level lvl, const char *msg, ...)
{
    if ((int)lvl < atomic_load(&min_level))
        return;
    va_list ap;
    va_start(ap, msg);
    emit(lvl, false, msg, ap);
    va_end(ap);
}

void bb_log_deferred(enum bb_log_level lvl, const char *msg, ...)
{
    if ((int)lvl < atomic_load(&min_level))
        return;
    va_list ap;
    va_start(ap, msg);
    emit(lvl, true, msg, ap);
    va_end(ap);
}

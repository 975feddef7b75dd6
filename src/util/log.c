/* log.c — structured logs: one JSON object per line on stderr, or a text
 * line with --log-format text.  A line is formatted into a local buffer and
 * written with one write(2), so lines from different threads never mix. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

void bb_log(enum bb_log_level lvl, const char *msg, ...)
{
    if ((int)lvl < atomic_load(&min_level))
        return;
    char line[4096];
    size_t pos = 0, cap = sizeof line - 2;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[48];
    size_t wl = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wl, sizeof when - wl, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
    int text = atomic_load(&text_format);
    if (text) {
        put_raws(line, cap, &pos, when, " ", level_name(lvl), " ", msg, (char *)0);
    } else {
        put_raws(line, cap, &pos, "{\"time\":\"", when, "\",\"level\":\"", level_name(lvl),
                 "\",\"msg\":\"", (char *)0);
        put_escaped(line, cap, &pos, msg);
        put_raw(line, cap, &pos, "\"");
    }
    va_list ap;
    va_start(ap, msg);
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
    va_end(ap);
    if (!text)
        line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t off = 0;
    while (off < (ssize_t)pos) {
        ssize_t w = write(STDERR_FILENO, line + off, pos - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
}

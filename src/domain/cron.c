/* cron.c — five-field cron expressions: the parser and the next fire time
 * in a time zone (see cron.h and docs/scheduling.md).  Calendar days are
 * walked with plain civil-date arithmetic; only candidate wall times are
 * converted to instants, with mktime inside tz_with (util/tz.h). */
#include "domain/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/tz.h"

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
    const char *name;
    int lo, hi;                        /* accepted values (dow: 0-7) */
    const char *const *names;          /* names for lo.., or NULL */
    int nnames;
};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 12},
    {"day of week", 0, 7, dow_names, 7},
};

/* One value at *p (a number or a name), advancing *p; -1 if none. */
static int value(const struct field *f, const char **p)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        return v;
    }
    for (int i = 0; i < f->nnames; i++)
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            return f->names == month_names ? i + 1 : i;
        }
    return -1;
}

/* Parses one field [start, end) into *bits. */
static int parse_field(const struct field *f, const char *start, const char *end,
                       uint64_t *bits, char *err, size_t cap)
{
    char text[64];
    size_t len = (size_t)(end - start);
    if (len >= sizeof text) {
        snprintf(err, cap, "the %s field is too long", f->name);
        return -1;
    }
    memcpy(text, start, len);
    text[len] = '\0';
    *bits = 0;
    if (text[0] == ',' || (len && text[len - 1] == ',') || strstr(text, ",,")) {
        snprintf(err, cap, "%s: \"%s\" has an empty list item", f->name, text);
        return -1;
    }
    char *save = NULL;
    for (char *item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            p++;
        } else {
            if ((lo = value(f, &p)) < 0)
                goto bad;
            hi = lo;
            if (*p == '-') {
                p++;
                if ((hi = value(f, &p)) < 0)
                    goto bad;
            }
        }
        if (*p == '/') {
            p++;
            const char *q = p;
            if ((step = value(&fields[0], &q)) < 1 || q == p)
                goto bad;
            p = q;
            if (item[0] != '*' && !strchr(item, '-'))
                hi = f->hi == 7 ? 6 : f->hi;      /* "5/15": from 5 to the end */
        }
        if (*p != '\0')
            goto bad;
        if (lo < f->lo || hi > f->hi || lo > hi) {
            snprintf(err, cap, "%s: \"%s\" is outside %d-%d (or the range is reversed)",
                     f->name, item, f->lo, f->hi);
            return -1;
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << (f->hi == 7 && v == 7 ? 0 : v);
        continue;
bad:
        snprintf(err, cap, "%s: \"%s\" is not a value, range or step", f->name, item);
        return -1;
    }
    if (*bits == 0) {
        snprintf(err, cap, "the %s field is empty", f->name);
        return -1;
    }
    return 0;
}

static const struct { const char *name, *expr; } macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

int cron_parse(const char *expr, struct cron *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!expr) {
        snprintf(err, cap, "is required");
        return -1;
    }
    while (*expr == ' ' || *expr == '\t')
        expr++;
    if (*expr == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strcasecmp(expr, macros[i].name) == 0)
                return cron_parse(macros[i].expr, out, err, cap);
        snprintf(err, cap, "unknown shorthand \"%.20s\" (@hourly, @daily, @weekly, @monthly, "
                 "@yearly)", expr);
        return -1;
    }
    uint64_t bits[5];
    const char *p = expr;
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (p == start) {
            snprintf(err, cap, "needs 5 fields (minute hour day-of-month month day-of-week), "
                     "found %d", i);
            return -1;
        }
        if (parse_field(&fields[i], start, p, &bits[i], err, cap) != 0)
            return -1;
        if (i == 2)
            out->dom_star = *start == '*';
        if (i == 4)
            out->dow_star = *start == '*';
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) {
        snprintf(err, cap, "has more than 5 fields");
        return -1;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    return 0;
}

bool cron_day_matches(const struct cron *c, int month, int mday, int wday)
{
    if (!(c->month & (1u << month)))
        return false;
    bool d = (c->dom >> mday) & 1u, w = (c->dow >> wday) & 1u;
    return c->dom_star || c->dow_star ? d && w : d || w;
}

/* ---- next ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

struct next_arg {
    const struct cron *c;
    int64_t after;       /* seconds */
    int64_t result;      /* seconds; 0 = none */
};

static bool same_wall(const struct tm *a, int64_t y, int m, int d, int h, int mi)
{
    return a->tm_year + 1900 == y && a->tm_mon + 1 == m && a->tm_mday == d && a->tm_hour == h &&
           a->tm_min == mi;
}

/* The instant of wall time y-m-d h:mi after `after` (seconds), or 0.  Each
 * reading (standard and daylight time) that gives the wall time back is a
 * candidate; none does inside a gap, where the later reading is the first
 * instant after it. */
static int64_t wall_instant(int64_t y, int m, int d, int h, int mi, int64_t after)
{
    int64_t best = 0, gap = 0;
    bool exists = false;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = (int)(y - 1900), .tm_mon = m - 1, .tm_mday = d,
                        .tm_hour = h, .tm_min = mi, .tm_isdst = dst};
        time_t t = mktime(&tm);
        if (t == (time_t)-1)
            continue;
        struct tm back;
        if (!localtime_r(&t, &back))
            continue;
        if (same_wall(&back, y, m, d, h, mi)) {
            exists = true;
            if ((int64_t)t > after && (!best || (int64_t)t < best))
                best = (int64_t)t;
        } else if ((int64_t)t > gap) {
            gap = (int64_t)t;
        }
    }
    if (exists)
        return best;
    return gap > after ? gap : 0;
}

static int next_in_zone(void *ud)
{
    struct next_arg *a = ud;
    const struct cron *c = a->c;
    time_t t = (time_t)a->after;
    struct tm lt;
    if (!localtime_r(&t, &lt))
        return -1;
    int64_t day0 = days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
    for (int64_t k = 0; k < 366 * 9; k++) {
        int64_t y;
        int m, d;
        civil_from_days(day0 + k, &y, &m, &d);
        int wday = (int)(((day0 + k) % 7 + 11) % 7);   /* 1970-01-01 was a Thursday */
        if (!cron_day_matches(c, m, d, wday))
            continue;
        for (int h = k ? 0 : lt.tm_hour; h < 24; h++) {
            if (!((c->hour >> h) & 1u))
                continue;
            /* wall times after the one `after` reads as: a time that
             * happens twice fired at its first occurrence already */
            int mi0 = k == 0 && h == lt.tm_hour ? lt.tm_min + 1 : 0;
            for (int mi = mi0; mi < 60; mi++) {
                if (!((c->minute >> mi) & 1u))
                    continue;
                int64_t at = wall_instant(y, m, d, h, mi, a->after);
                if (at) {
                    a->result = at;
                    return 0;
                }
            }
        }
    }
    return 0;
}

int64_t cron_next(const struct cron *c, const char *tz, int64_t after_ms)
{
    int64_t s = after_ms >= 0 ? after_ms / 1000 : -((-after_ms + 999) / 1000);
    struct next_arg a = {.c = c, .after = s, .result = 0};
    if (tz_with(tz, next_in_zone, &a) != 0)
        return 0;
    return a.result * 1000;
}

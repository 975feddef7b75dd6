/* cron.h — five-field cron expressions (minute hour day-of-month month
 * day-of-week) and the next time one fires in a time zone
 * (docs/scheduling.md, "Cron expressions").  Parsing is pure; cron_next
 * converts wall-clock times through util/tz.h. */
#ifndef BB_CRON_H
#define BB_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cron {
    uint64_t minute;     /* bit m: minute m (0-59) */
    uint32_t hour;       /* bit h: hour h (0-23) */
    uint32_t dom;        /* bit d: day of month d (1-31) */
    uint16_t month;      /* bit m: month m (1-12) */
    uint8_t dow;         /* bit d: day of week d (0 = Sunday .. 6) */
    bool dom_star;       /* the field began with '*' (Vixie cron's OR rule) */
    bool dow_star;
};

/* Parses expr: five fields separated by blanks, each a list of "*", N,
 * N-M, with an optional /STEP; months and days of week also by English
 * name (JAN, mon); day of week 7 is Sunday.  Also @yearly, @annually,
 * @monthly, @weekly, @daily, @midnight, @hourly.  0, or -1 with why in
 * err (cap bytes). */
int cron_parse(const char *expr, struct cron *out, char *err, size_t cap);

/* Whether a calendar day matches: its day of month and day of week, both
 * restricted → either matches (Vixie cron); otherwise both must match. */
bool cron_day_matches(const struct cron *c, int month, int mday, int wday);

/* The first time after `after_ms` (ms since the epoch) at which c fires,
 * read as wall-clock times of zone `tz` (a tz_valid name): ms since the
 * epoch, whole minutes; 0 when none within nine years.  A wall time that
 * happens twice (clocks go back) fires once, at its first occurrence; one
 * that does not exist (clocks go forward) fires at the first instant after
 * the gap. */
int64_t cron_next(const struct cron *c, const char *tz, int64_t after_ms);

#endif

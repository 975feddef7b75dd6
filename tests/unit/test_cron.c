/* test_cron.c — unit tests for cron expressions and time zones
 * (src/domain/cron.c, src/util/tz.c; docs/scheduling.md): fields, lists,
 * ranges, steps, names, shorthands, errors; the day-of-month/day-of-week
 * OR rule; next fire times in UTC and across the DST changes of
 * Europe/Madrid and America/New_York (gap: first instant after it;
 * repeated hour: the first occurrence only); zone names; ISO-8601 runAt. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "domain/cron.h"
#include "service/scheduler.h"
#include "util/tz.h"
#include "util/util.h"

static char err[200];

/* ms of an ISO-8601 time with an offset (the tests' own inputs). */
static int64_t at(const char *iso)
{
    int64_t ms = -1;
    if (bb_parse_iso8601(iso, &ms) != 0)
        return -1;
    return ms;
}

/* The next fire time of expr in tz after `after`, as ISO-8601 UTC. */
static const char *next(const char *expr, const char *tz, const char *after)
{
    static char out[32];
    struct cron c;
    if (cron_parse(expr, &c, err, sizeof err) != 0)
        return err;
    int64_t ms = cron_next(&c, tz, at(after));
    if (!ms)
        return "none";
    bb_iso8601(ms, out);
    return out;
}

TEST(fields_lists_ranges_steps_and_names)
{
    struct cron c;
    CHECK_EQ_INT(cron_parse("*/15 9-17/4 1,15 JAN-mar mon-FRI", &c, err, sizeof err), 0);
    CHECK(c.minute == (1ull << 0 | 1ull << 15 | 1ull << 30 | 1ull << 45));
    CHECK(c.hour == (1u << 9 | 1u << 13 | 1u << 17));
    CHECK(c.dom == (1u << 1 | 1u << 15));
    CHECK(c.month == (1u << 1 | 1u << 2 | 1u << 3));
    CHECK(c.dow == 0x3e);
    CHECK(!c.dom_star && !c.dow_star);
    CHECK_EQ_INT(cron_parse("0 0 * * 7", &c, err, sizeof err), 0);
    CHECK(c.dow == 1u);                       /* 7 is Sunday */
    CHECK_EQ_INT(cron_parse("5/20 * * * *", &c, err, sizeof err), 0);
    CHECK(c.minute == (1ull << 5 | 1ull << 25 | 1ull << 45));
    CHECK_EQ_INT(cron_parse("  0   12 * * *  ", &c, err, sizeof err), 0);
    CHECK(c.dom_star && c.dow_star);
    CHECK_EQ_INT(cron_parse("@daily", &c, err, sizeof err), 0);
    CHECK(c.minute == 1ull && c.hour == 1u);
    CHECK_EQ_INT(cron_parse("@HOURLY", &c, err, sizeof err), 0);
    CHECK(c.hour == 0xffffffu);
}

TEST(bad_expressions_say_why)
{
    static const struct { const char *expr, *want; } bad[] = {
        {"", "needs 5 fields"},
        {"* * * *", "found 4"},
        {"* * * * * *", "more than 5 fields"},
        {"60 * * * *", "minute"},
        {"* 24 * * *", "hour"},
        {"* * 0 * *", "day of month"},
        {"* * 32 * *", "day of month"},
        {"* * * 13 *", "month"},
        {"* * * * 8", "day of week"},
        {"5-1 * * * *", "reversed"},
        {"*/0 * * * *", "minute"},
        {"a * * * *", "minute"},
        {"1,,2 * * * *", "minute"},
        {"* * * FOO *", "month"},
        {"* * * * MONDAY", "day of week"},
        {"@sometimes", "unknown shorthand"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cron c;
        err[0] = '\0';
        if (cron_parse(bad[i].expr, &c, err, sizeof err) != -1)
            FAIL("accepted \"%s\"", bad[i].expr);
        if (!strstr(err, bad[i].want))
            FAIL("\"%s\": \"%s\" does not say \"%s\"", bad[i].expr, err, bad[i].want);
    }
    struct cron c;
    CHECK_EQ_INT(cron_parse(NULL, &c, err, sizeof err), -1);
}

TEST(day_of_month_and_day_of_week_or_rule)
{
    struct cron c;
    /* both restricted: the 13th OR any Friday */
    CHECK_EQ_INT(cron_parse("0 0 13 * FRI", &c, err, sizeof err), 0);
    CHECK(cron_day_matches(&c, 6, 13, 2));    /* a Tuesday the 13th */
    CHECK(cron_day_matches(&c, 6, 9, 5));     /* a Friday the 9th */
    CHECK(!cron_day_matches(&c, 6, 10, 6));
    /* day of week starred: the 13th only (AND with "every day") */
    CHECK_EQ_INT(cron_parse("0 0 13 * *", &c, err, sizeof err), 0);
    CHECK(!cron_day_matches(&c, 6, 9, 5));
    /* a starred step counts as starred (Vixie cron): the 13th AND every other day */
    CHECK_EQ_INT(cron_parse("0 0 13 * */2", &c, err, sizeof err), 0);
    CHECK(cron_day_matches(&c, 6, 13, 2));
    CHECK(!cron_day_matches(&c, 6, 13, 3));
    CHECK(!cron_day_matches(&c, 6, 6, 2));
    CHECK_STR_EQ(next("0 0 13 * FRI", "UTC", "2026-11-01T00:00:00Z"), "2026-11-06T00:00:00.000Z");
    CHECK_STR_EQ(next("0 0 13 * FRI", "UTC", "2026-11-07T00:00:00Z"), "2026-11-13T00:00:00.000Z");
}

TEST(next_in_utc)
{
    CHECK_STR_EQ(next("*/15 * * * *", "UTC", "2026-12-04T10:07:30Z"),
                 "2026-12-04T10:15:00.000Z");
    /* strictly after: a time that matches exactly moves on */
    CHECK_STR_EQ(next("*/15 * * * *", "UTC", "2026-12-04T10:15:00Z"),
                 "2026-12-04T10:30:00.000Z");
    CHECK_STR_EQ(next("0 9 * * MON-FRI", "UTC", "2026-12-04T09:00:00Z"),   /* a Friday */
                 "2026-12-07T09:00:00.000Z");
    CHECK_STR_EQ(next("59 23 31 12 *", "UTC", "2026-12-04T00:00:00Z"),
                 "2026-12-31T23:59:00.000Z");
    /* leap day: the next 29 February */
    CHECK_STR_EQ(next("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00.000Z");
    /* offsets in the input are honoured */
    CHECK_STR_EQ(next("0 * * * *", "UTC", "2026-12-04T10:30:00+02:00"),
                 "2026-12-04T09:00:00.000Z");
    /* a date that never comes */
    CHECK_STR_EQ(next("0 0 31 2 *", "UTC", "2026-01-01T00:00:00Z"), "none");
}

TEST(madrid_spring_forward_gap)
{
    /* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist */
    CHECK_STR_EQ(next("30 2 * * *", "Europe/Madrid", "2026-03-28T02:00:00Z"),
                 "2026-03-29T01:30:00.000Z");          /* 03:30 CEST: just after the gap */
    CHECK_STR_EQ(next("30 2 * * *", "Europe/Madrid", "2026-03-29T01:30:00Z"),
                 "2026-03-30T00:30:00.000Z");          /* 02:30 CEST the next day */
    CHECK_STR_EQ(next("0 9 * * *", "Europe/Madrid", "2026-03-28T08:00:00Z"),
                 "2026-03-29T07:00:00.000Z");          /* 09:00 CEST */
    /* every 15 minutes across the gap: 01:45 CET, then 03:00 CEST */
    CHECK_STR_EQ(next("*/15 * * * *", "Europe/Madrid", "2026-03-29T00:45:00Z"),
                 "2026-03-29T01:00:00.000Z");
}

TEST(madrid_fall_back_repeated_hour)
{
    /* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice */
    CHECK_STR_EQ(next("30 2 * * *", "Europe/Madrid", "2026-10-24T12:00:00Z"),
                 "2026-10-25T00:30:00.000Z");          /* the first 02:30 (CEST) */
    CHECK_STR_EQ(next("30 2 * * *", "Europe/Madrid", "2026-10-25T00:30:00Z"),
                 "2026-10-26T01:30:00.000Z");          /* not again at 02:30 CET */
    /* created during the second 02:00-03:00: its times come (CET) */
    CHECK_STR_EQ(next("45 2 * * *", "Europe/Madrid", "2026-10-25T01:10:00Z"),
                 "2026-10-25T01:45:00.000Z");
}

TEST(new_york_dst_days)
{
    /* 2026-03-08: 02:00 EST becomes 03:00 EDT */
    CHECK_STR_EQ(next("0 9 * * *", "America/New_York", "2026-03-07T14:00:00Z"),
                 "2026-03-08T13:00:00.000Z");          /* 09:00 EDT */
    CHECK_STR_EQ(next("15 2 * * *", "America/New_York", "2026-03-07T08:00:00Z"),
                 "2026-03-08T07:15:00.000Z");          /* 03:15 EDT, after the gap */
    /* 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice */
    CHECK_STR_EQ(next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z"),
                 "2026-11-01T05:30:00.000Z");          /* 01:30 EDT */
    CHECK_STR_EQ(next("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z"),
                 "2026-11-02T06:30:00.000Z");          /* the next day, 01:30 EST */
    CHECK_STR_EQ(next("0 9 * * *", "America/New_York", "2026-11-01T14:00:00Z"),
                 "2026-11-02T14:00:00.000Z");          /* 09:00 EST */
}

TEST(zone_names_are_checked)
{
    CHECK(tz_valid("UTC"));
    CHECK(tz_valid("Europe/Madrid"));
    CHECK(tz_valid("America/New_York"));
    CHECK(!tz_valid("Mars/Olympus"));
    CHECK(!tz_valid("../../etc/passwd"));
    CHECK(!tz_valid("/etc/localtime"));
    CHECK(!tz_valid("Europe"));               /* a directory, not a TZif file */
    CHECK(!tz_valid("Europe/Madrid "));
    CHECK(!tz_valid(""));
    CHECK(!tz_valid(NULL));
}

TEST(process_zone_is_restored)
{
    /* conversions in another zone leave the process's own local time alone */
    time_t t = 1764892800;   /* 2025-12-05T00:00:00Z */
    struct tm before, after;
    localtime_r(&t, &before);
    CHECK(strcmp(next("0 9 * * *", "Asia/Tokyo", "2026-01-01T00:00:00Z"),
                 "2026-01-02T00:00:00.000Z") == 0);     /* 09:00 JST */
    localtime_r(&t, &after);
    CHECK_EQ_INT(before.tm_hour, after.tm_hour);
    CHECK_EQ_INT((int)before.tm_gmtoff, (int)after.tm_gmtoff);
}

TEST(iso8601_run_at)
{
    CHECK(at("2026-12-04T10:00:00Z") == 1796378400000LL);
    CHECK(at("2026-12-04T11:00:00+01:00") == 1796378400000LL);
    CHECK(at("2026-12-04T05:00:00-0500") == 1796378400000LL);
    CHECK(at("2026-12-04T10:00:00.250Z") == 1796378400250LL);
    CHECK(at("2026-12-04T10:00Z") == 1796378400000LL);
    static const char *const bad[] = {"2026-12-04T10:00:00", "2026-12-04", "tomorrow",
                                      "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                      "2026-12-04T24:00:00Z", "2026-12-04T10:00:00+2",
                                      "2026-12-04T10:00:00Zjunk", " 2026-12-04T10:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (at(bad[i]) != -1)
            FAIL("accepted \"%s\"", bad[i]);
}

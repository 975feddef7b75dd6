/* tz.h — local time in a named zone (Europe/Madrid) through the C library
 * and the system's zone database (/usr/share/zoneinfo), safely from any
 * thread.  The C library knows one zone per process (the TZ variable), so
 * tz_with runs a callback with TZ set to the zone under a process-wide
 * mutex, then puts the previous TZ back.  See docs/scheduling.md, "Time
 * zones". */
#ifndef BB_TZ_H
#define BB_TZ_H

#include <stdbool.h>

/* Makes sure TZ exists in the environment (":/etc/localtime", the C
 * library's default, when it was unset), so later changes replace the
 * value in place instead of growing environ under other threads.  Call
 * once before threads start; tz_with calls it too (once). */
void tz_init(void);

/* Whether name is a zone of the system's database: letters, digits and
 * "/_+-" only, no "..", and /usr/share/zoneinfo/NAME is a TZif file.
 * "UTC" is always valid. */
bool tz_valid(const char *name);

/* Runs fn(ud) with the C library's local time being zone `name` (already
 * checked with tz_valid): inside fn, localtime_r and mktime convert in
 * that zone.  Returns fn's result.  fn must not call tz_with. */
int tz_with(const char *name, int (*fn)(void *ud), void *ud);

#endif

/* clock.h — wall and monotonic clocks, ISO 8601 time stamps, sleeps that
 * a cancel flag can cut short.  Included through util/util.h. */
#ifndef BB_UTIL_CLOCK_H
#define BB_UTIL_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Wall clock in milliseconds since the epoch. */
int64_t bb_now_ms(void);
/* Monotonic clock in microseconds (for durations and deadlines). */
int64_t bb_mono_us(void);
/* The CLOCK_MONOTONIC time ms milliseconds from now, for
 * pthread_cond_timedwait on a condition variable set to that clock. */
struct timespec;
void bb_mono_deadline(long ms, struct timespec *out);
/* Formats ms since epoch as "2026-11-22T05:00:00.123Z" into out[32]. */
void bb_iso8601(int64_t ms, char out[32]);

/* Sleeps ms milliseconds (resumed after signals). */
void bb_sleep_ms(long ms);
/* Sleeps ms milliseconds, looking at *cancel (may be NULL) every slice_ms;
 * returns false as soon as it is set, true after the full sleep. */
bool bb_sleep_cancelable(long ms, const atomic_bool *cancel, long slice_ms);

#endif

/* clock.c — wall and monotonic clocks, ISO 8601 time stamps and sleeps
 * (see clock.h). */
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "util/text.h"

int64_t bb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bb_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bb_mono_deadline(long ms, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    out->tv_sec += ms / 1000;
    out->tv_nsec += (ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

void bb_iso8601(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n > 24) {
        bb_strlcpy(out, "1970-01-01T00:00:00.000Z", 32);
        return;
    }
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
}

void bb_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool bb_sleep_cancelable(long ms, const atomic_bool *cancel, long slice_ms)
{
    int64_t end = bb_mono_us() + (int64_t)ms * 1000;
    for (;;) {
        if (cancel && atomic_load(cancel))
            return false;
        int64_t left = (end - bb_mono_us()) / 1000;
        if (left <= 0)
            return true;
        bb_sleep_ms(left < slice_ms ? (long)left : slice_ms);
    }
}

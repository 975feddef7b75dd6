/* tz.c — conversions in a named time zone (see tz.h).
 *
 * Thread safety: the C library keeps one local zone per process, read from
 * the TZ variable by tzset().  tz_with holds `mu` while TZ names the
 * caller's zone, runs the callback (localtime_r/mktime in that zone), then
 * restores the previous value and calls tzset() again, so outside tz_with
 * the process's zone is what it was.  batchbox itself works in UTC
 * (gmtime_r) everywhere else.  tz_init makes TZ exist before threads start
 * so setenv only replaces the value in place; glibc keeps replaced values
 * alive, so a concurrent getenv (libcurl reading proxy variables) never
 * sees freed memory. */
#include "util/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZONEINFO "/usr/share/zoneinfo/"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char saved[256];   /* TZ as the process had it; under mu after init */

static void init_once(void)
{
    const char *tz = getenv("TZ");
    snprintf(saved, sizeof saved, "%s", tz ? tz : ":/etc/localtime");
    if (!tz)
        setenv("TZ", saved, 1);
    tzset();
}

void tz_init(void)
{
    pthread_once(&once, init_once);
}

bool tz_valid(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return false;
    if (strcmp(name, "UTC") == 0)
        return true;
    if (name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
            return false;
    char path[128];
    snprintf(path, sizeof path, ZONEINFO "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[4] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

int tz_with(const char *name, int (*fn)(void *ud), void *ud)
{
    tz_init();
    char value[96];
    /* a path: glibc and musl read exactly this file, never a POSIX rule */
    snprintf(value, sizeof value, ":%s%s", ZONEINFO, name);
    pthread_mutex_lock(&mu);
    setenv("TZ", strcmp(name, "UTC") == 0 ? "UTC0" : value, 1);
    tzset();
    int rc = fn(ud);
    setenv("TZ", saved, 1);
    tzset();
    pthread_mutex_unlock(&mu);
    return rc;
}

/* scheduler.c — delayed jobs, dependencies and the scheduler thread (see
 * scheduler.h and docs/scheduling.md).
 *
 * DESIGN
 * - One thread (sched_main) owns the timing.  Each pass it (1) promotes
 *   the scheduled jobs whose runAt has come (one writer operation moves
 *   them all to queued, with their events) and wakes the pool, (2) fires
 *   the schedules whose nextRunAt has come (service/schedules.c decides
 *   per overlap and catchUp and submits the job), (3) wakes the pool if a
 *   dependency released a job since the last pass, then (4) sleeps until
 *   the earliest runAt or nextRunAt, at most SCHED_IDLE_MS, or until
 *   sched_wake / the dependency hook signals it.  Both due times are read
 *   from partial indexes (jobs_scheduled, schedules_due), so a pass costs
 *   two index lookups when nothing is due.
 * - Dependencies are decided on the db writer thread, inside the operation
 *   that ended a job (infra/db/repo_deps.c); when one releases a job the
 *   repository's hook (sched_ready, writer thread) sets `ready` and
 *   signals the condition; this thread calls pool_wake.  The hook only
 *   takes `mu` briefly, so the writer never waits on this thread.
 * - State: `mu` guards `ready`, `woken` and `stop`; everything else is
 *   read from the database each pass (restarts lose nothing: the times
 *   are stored).  Shutdown: sched_stop sets `stop`, signals and joins,
 *   before the pool and the database close.
 * - Clocks: jobs' runAt is wall-clock time; schedules run by sched_now(),
 *   the wall clock unless the test knob BB_TEST_CLOCK speeds it up. */
#include "service/scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "infra/db/repo_deps.h"
#include "infra/workers/pool.h"
#include "service/schedules.h"
#include "util/log.h"
#include "util/text.h"
#include "util/util.h"

/* The longest sleep between two passes: a schedule changed through the API
 * or a clock step is noticed within this even without a wake-up. */
#define SCHED_IDLE_MS 1000

/* ---- the submit fields ------------------------------------------------------ */

/* n decimal digits at *p into *v, advancing *p; false when not. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return false;
        *v = *v * 10 + (ch - '0');
    }
    *p += n;
    return true;
}

int bb_parse_iso8601(const char *s, int64_t *ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, frac = 0;
    if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return -1;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            return -1;
        if (*p == '.' || *p == ',') {
            p++;
            int n = 0;
            for (; *p >= '0' && *p <= '9'; p++, n++)
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac *= 10;
        }
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (!digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    } else {
        return -1;   /* an offset is required: a bare local time is ambiguous */
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec > 59 ? 59 : sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;    /* 31 February */
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

/* A job id of dependsOn: a string of digits or a whole number; 0 if not. */
static int64_t dep_id(const cJSON *v)
{
    int64_t id = 0;
    if (cJSON_IsString(v) && bb_parse_i64(v->valuestring, &id) == 0 && id > 0)
        return id;
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 9e15 &&
        v->valuedouble == (double)(int64_t)v->valuedouble)
        return (int64_t)v->valuedouble;
    return 0;
}

static const cJSON *member(const cJSON *body, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* dependsOn into out->depends_on: ids of jobs who can see, no repeats. */
static void parse_deps(bb_app *app, const struct principal *who, const cJSON *deps,
                       struct sched_submit *out, bb_errctx *e)
{
    int n = cJSON_GetArraySize(deps);
    if (!cJSON_IsArray(deps) || n < 1 || n > DEPS_MAX) {
        bb_fail_field(e, "dependsOn", "must be an array of 1 to %d job ids", DEPS_MAX);
        return;
    }
    int64_t ids[DEPS_MAX];
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int64_t id = dep_id(cJSON_GetArrayItem(deps, i));
        if (!id) {
            bb_fail_field(e, "dependsOn", "item %d is not a job id", i);
            return;
        }
        for (int k = 0; k < i; k++)
            if (ids[k] == id) {
                bb_fail_field(e, "dependsOn", "job %lld appears twice", (long long)id);
                return;
            }
        ids[i] = id;
        /* only existing jobs can be named, so no cycle can form */
        int rc = repo_job_visible(app->db, id, principal_scope(who));
        if (rc == BB_ENOTFOUND) {
            bb_fail_field(e, "dependsOn", "no such job: %lld", (long long)id);
            return;
        }
        if (rc != BB_OK) {
            bb_fail(e, BB_EIO, "database error");
            return;
        }
        int w = snprintf(out->depends_on + used, sizeof out->depends_on - used, "%s%lld",
                         i ? "," : "", (long long)id);
        used += w > 0 ? (size_t)w : 0;
    }
}

int svc_sched_fields(bb_app *app, const struct principal *who, const cJSON *body,
                     struct sched_submit *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(body))
        return e->code;
    const cJSON *ra = member(body, "runAt"), *ds = member(body, "delaySec");
    const cJSON *deps = member(body, "dependsOn"), *rw = member(body, "runWhen");
    int64_t now = bb_now_ms();
    if (ra && ds) {
        bb_fail_field(e, "runAt", "give runAt or delaySec, not both");
    } else if (ra) {
        int64_t at = 0;
        if (!cJSON_IsString(ra) || bb_parse_iso8601(ra->valuestring, &at) != 0)
            bb_fail_field(e, "runAt", "must be an ISO-8601 time with an offset, e.g. "
                          "2026-12-04T10:00:00Z or 2026-12-04T11:00:00+01:00");
        else if (at > now + SCHED_MAX_DELAY_SEC * 1000)
            bb_fail_field(e, "runAt", "at most %lld days ahead",
                          SCHED_MAX_DELAY_SEC / 86400);
        else
            out->run_at = at;
    } else if (ds) {
        if (!cJSON_IsNumber(ds) || !(ds->valuedouble >= 0) ||
            ds->valuedouble > (double)SCHED_MAX_DELAY_SEC ||
            ds->valuedouble != (double)(int64_t)ds->valuedouble)
            bb_fail_field(e, "delaySec", "must be a whole number of seconds from 0 to %lld "
                          "(%lld days)", SCHED_MAX_DELAY_SEC, SCHED_MAX_DELAY_SEC / 86400);
        else
            out->run_at = now + (int64_t)ds->valuedouble * 1000;
    }
    if (deps)
        parse_deps(app, who, deps, out, e);
    if (rw) {
        static const char *const whens[] = {"success", "failure", "always"};
        for (size_t i = 0; cJSON_IsString(rw) && i < 3 && !out->run_when; i++)
            if (strcmp(rw->valuestring, whens[i]) == 0)
                out->run_when = whens[i];
        if (!out->run_when)
            bb_fail_field(e, "runWhen", "must be one of success, failure, always");
        else if (!deps)
            bb_fail_field(e, "runWhen", "needs dependsOn");
    } else if (deps) {
        out->run_when = "success";
    }
    return e->code;
}

int svc_sched_apply(const struct sched_submit *s, job *j)
{
    j->run_at = s->run_at;
    if (s->depends_on[0]) {
        j->state = JOB_WAITING;
        if (!(j->depends_on = strdup(s->depends_on)) || !(j->run_when = strdup(s->run_when)))
            return BB_EINTERNAL;
    } else if (s->run_at > bb_now_ms()) {
        j->state = JOB_SCHEDULED;
    }
    return BB_OK;
}

int svc_job_dependents(bb_app *app, const struct principal *who, int64_t id, job **out,
                       size_t *n, bb_errctx *e)
{
    *out = NULL;
    *n = 0;
    int64_t scope = principal_scope(who);
    int rc = repo_job_visible(app->db, id, scope);
    if (rc == BB_OK)
        rc = repo_deps_dependents(app->db, id, scope, out, n);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such job");
    return rc == BB_OK ? BB_OK : bb_fail(e, BB_EIO, "database error");
}

/* ---- the clock --------------------------------------------------------------- */

static int64_t clock_anchor, clock_rate = 1, clock_offset;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

static void clock_init(void)
{
    const char *v = getenv("BB_TEST_CLOCK");
    int64_t part[3] = {0, 1, 0};
    int n = 0;
    for (const char *p = v; p && *p && n < 3; n++) {
        size_t len = strcspn(p, ":");
        char num[32];
        if (len == 0 || len >= sizeof num)
            return;
        snprintf(num, sizeof num, "%.*s", (int)len, p);
        if (bb_parse_i64(num, &part[n]) != 0)
            return;
        p += len + (p[len] == ':');
    }
    if (n < 2 || part[1] < 1 || part[1] > 3600)
        return;
    clock_anchor = part[0];
    clock_rate = part[1];
    clock_offset = part[2];
    bb_warn("test knob: schedules run by another clock", "BB_TEST_CLOCK", v);
}

int64_t sched_now(void)
{
    pthread_once(&clock_once, clock_init);
    int64_t real = bb_now_ms();
    if (clock_rate == 1 && clock_offset == 0)
        return real;
    return clock_anchor + clock_offset + (real - clock_anchor) * clock_rate;
}

/* Real milliseconds until the schedule clock shows `at` (0 when due). */
static int64_t real_ms_until(int64_t at)
{
    int64_t d = at - sched_now();
    return d <= 0 ? 0 : (d + clock_rate - 1) / clock_rate;
}

/* ---- the thread ---------------------------------------------------------------- */

struct sched {
    bb_app *app;
    pthread_t thread;
    pthread_mutex_t mu;          /* guards ready, woken, stop */
    pthread_cond_t cond;         /* CLOCK_MONOTONIC */
    bool ready, woken, stop;
    struct repo_deps_hook hook;
};

/* repo_deps hook, on the writer thread: a job became queued. */
static void sched_ready(void *ud)
{
    sched *s = ud;
    pthread_mutex_lock(&s->mu);
    s->ready = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

void sched_wake(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->woken = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* One pass (steps 1-3 of the DESIGN); returns how long to sleep (ms). */
static int64_t pass(sched *s, bool ready)
{
    bb_app *app = s->app;
    int promoted = 0;
    int64_t at = 0;
    /* a read first: the writer sees an operation only when a job is due */
    if (repo_jobs_next_due(app->db, &at) == BB_OK && at && at <= bb_now_ms() &&
        repo_jobs_promote_due(app->db, bb_now_ms(), &promoted) != BB_OK)
        bb_warn("scheduler: promoting due jobs failed (database error)");
    int fired = svc_schedules_fire_due(app, sched_now());
    if ((promoted || fired || ready) && app->pool)
        pool_wake(app->pool);
    int64_t sleep = SCHED_IDLE_MS;
    if (promoted == 256)
        return 0;                 /* more are due */
    if (repo_jobs_next_due(app->db, &at) == BB_OK && at) {
        int64_t d = at - bb_now_ms();
        sleep = d < 0 ? 0 : d < sleep ? d : sleep;
    }
    if (repo_schedule_next_due(app->db, &at) == BB_OK && at) {
        int64_t d = real_ms_until(at);
        sleep = d < sleep ? d : sleep;
    }
    return sleep;
}

static void *sched_main(void *arg)
{
    sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        bool ready = s->ready;
        s->ready = s->woken = false;
        pthread_mutex_unlock(&s->mu);
        int64_t ms = pass(s, ready);
        pthread_mutex_lock(&s->mu);
        if (s->stop || s->ready || s->woken || ms <= 0)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && !s->ready && !s->woken &&
               pthread_cond_timedwait(&s->cond, &s->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

sched *sched_start(bb_app *app)
{
    sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->app = app;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->cond, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(s);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    s->hook = (struct repo_deps_hook){.ready = sched_ready, .ud = s};
    repo_deps_set_hook(&s->hook);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        repo_deps_set_hook(NULL);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void sched_stop(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    repo_deps_clear_hook(s->app->db);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

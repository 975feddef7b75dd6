/* schedules.c — recurring schedules (see schedules.h and
 * docs/scheduling.md): validation and storage of a schedule for its owner,
 * and the decision for each due run (overlap, catchUp) with the submit of
 * its job.  The timing lives in the scheduler thread (scheduler.c), which
 * calls svc_schedules_fire_due; the API handlers call the rest. */
#include "service/schedules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/cron.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "service/jobs.h"
#include "service/scheduler.h"
#include "util/log.h"
#include "util/tz.h"
#include "util/util.h"

static const cJSON *member(const cJSON *body, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* Copies the field errors of inner into e under "job.FIELD". */
static void job_errors(const bb_errctx *inner, bb_errctx *e)
{
    bool any = false;
    for (const cJSON *f = inner->fields ? inner->fields->child : NULL; f; f = f->next) {
        char name[96];
        snprintf(name, sizeof name, "job.%.80s", f->string ? f->string : "?");
        bb_fail_field(e, name, "%s", cJSON_IsString(f) ? f->valuestring : "is not valid");
        any = true;
    }
    if (!any && inner->code != BB_OK)
        bb_fail(e, inner->code, "%s", inner->message);
}

/* A schedule's job: a submit body that is not a batch and holds no
 * scheduling fields of its own (the schedule decides when it runs). */
static void check_job(bb_app *app, const struct principal *who, const cJSON *body,
                      bb_errctx *e)
{
    if (!cJSON_IsObject(body)) {
        bb_fail_field(e, "job", "must be an object: a job submit body");
        return;
    }
    static const char *const own[] = {"runAt", "delaySec", "dependsOn", "runWhen", "sweep"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (cJSON_GetObjectItemCaseSensitive(body, own[i])) {
            char name[32];
            snprintf(name, sizeof name, "job.%s", own[i]);
            bb_fail_field(e, name, "is not allowed in a schedule's job");
        }
    job j;
    bb_errctx inner = {0};
    if (svc_job_from_request(app, body, &j, &inner) == BB_OK) {
        svc_job_check_upload(app, who, &j, "md", &inner);
        job_clear(&j);
    }
    job_errors(&inner, e);
    bb_err_clear(&inner);
}

/* One of two words into *out (static), or a field error. */
static void pick(const cJSON *body, const char *key, const char *a, const char *b,
                 const char **out, bb_errctx *e)
{
    const cJSON *v = member(body, key);
    if (!v)
        return;
    if (cJSON_IsString(v) && strcmp(v->valuestring, a) == 0)
        *out = a;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, b) == 0)
        *out = b;
    else
        bb_fail_field(e, key, "must be \"%s\" or \"%s\"", a, b);
}

static bool set_str(char **dst, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return false;
    free(*dst);
    *dst = copy;
    return true;
}

/* Applies the members of body to s (a new or a stored schedule) and
 * checks the result; *timing says cron, timezone or enabled changed. */
static int apply_body(bb_app *app, const struct principal *who, const cJSON *body,
                      bool create, schedule_rec *s, bool *timing, bb_errctx *e)
{
    static const char *const known[] = {"name", "cron", "timezone", "job", "enabled",
                                        "overlap", "catchUp"};
    *timing = create;
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; it->string && i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(it->string, known[i]) == 0;
        if (!ok)
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
    }
    const char *name = bb_json_opt_string(body, "name", e);
    const char *cron = bb_json_opt_string(body, "cron", e);
    const char *tz = bb_json_opt_string(body, "timezone", e);
    const cJSON *jobv = member(body, "job");
    bool enabled = bb_json_opt_bool(body, "enabled", s->enabled, e);
    const char *overlap = NULL, *catch_up = NULL;
    pick(body, "overlap", "skip", "queue", &overlap, e);
    pick(body, "catchUp", "none", "one", &catch_up, e);
    if (create && !name)
        bb_fail_field(e, "name", "is required");
    if (name && (!*name || strlen(name) > 100))
        bb_fail_field(e, "name", "must be 1 to 100 characters");
    struct cron c;
    char why[160];
    if (create && !cron)
        bb_fail_field(e, "cron", "is required (5 fields: minute hour day-of-month month "
                      "day-of-week, e.g. \"*/15 * * * *\")");
    else if (cron && cron_parse(cron, &c, why, sizeof why) != 0)
        bb_fail_field(e, "cron", "%s", why);
    if (tz && !tz_valid(tz))
        bb_fail_field(e, "timezone", "unknown time zone \"%.64s\" (a name of the system's "
                      "zone database, e.g. Europe/Madrid, or UTC)", tz);
    if (create && !jobv)
        bb_fail_field(e, "job", "is required: a job submit body");
    else if (jobv)
        check_job(app, who, jobv, e);
    if (e->code != BB_OK)
        return e->code;

    char *job_text = jobv ? cJSON_PrintUnformatted(jobv) : NULL;
    /* a new schedule takes the defaults for what the body leaves out */
    if (create) {
        tz = tz ? tz : "UTC";
        overlap = overlap ? overlap : "skip";
        catch_up = catch_up ? catch_up : "none";
    }
    bool ok = (!jobv || job_text) && (!name || set_str(&s->name, name)) &&
              (!cron || set_str(&s->cron, cron)) && (!tz || set_str(&s->timezone, tz)) &&
              (!overlap || set_str(&s->overlap, overlap)) &&
              (!catch_up || set_str(&s->catch_up, catch_up));
    if (ok && job_text) {
        free(s->job);
        s->job = job_text;
        job_text = NULL;
    }
    free(job_text);
    if (!ok)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    *timing |= cron || tz || enabled != s->enabled;
    s->enabled = enabled;
    return BB_OK;
}

/* nextRunAt of s from now (schedule clock); 0 while paused. */
static int64_t next_run(const schedule_rec *s, int64_t now)
{
    struct cron c;
    char why[160];
    if (!s->enabled || cron_parse(s->cron, &c, why, sizeof why) != 0)
        return 0;
    return cron_next(&c, s->timezone, now);
}

static int store_error(bb_errctx *e, int rc)
{
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such schedule");
    return bb_fail(e, rc == BB_EUNAVAIL ? BB_EUNAVAIL : BB_EIO, "database error");
}

int svc_schedule_create(bb_app *app, const struct principal *who, const cJSON *body,
                        schedule_rec *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    out->enabled = true;
    out->owner_id = who ? who->user_id : 0;
    bool timing;
    if (apply_body(app, who, body, true, out, &timing, e) != BB_OK) {
        schedule_rec_clear(out);
        return e->code;
    }
    schedule_rec *mine = NULL;
    size_t n = 0;
    int rc = repo_schedule_list(app->db, out->owner_id, SCHEDULES_MAX, &mine, &n);
    for (size_t i = 0; i < n; i++)
        schedule_rec_clear(&mine[i]);
    free(mine);
    if (rc == BB_OK && n >= SCHEDULES_MAX && out->owner_id)
        rc = BB_ECONFLICT;
    out->next_run_at = next_run(out, sched_now());
    if (rc == BB_OK)
        rc = repo_schedule_insert(app->db, out);
    if (rc != BB_OK) {
        schedule_rec_clear(out);
        if (rc == BB_ECONFLICT)
            return bb_fail(e, BB_ECONFLICT, "at most %d schedules per user", SCHEDULES_MAX);
        return store_error(e, rc);
    }
    sched_wake(app->sched);
    return BB_OK;
}

int svc_schedule_get(bb_app *app, const struct principal *who, int64_t id, schedule_rec *out,
                     bb_errctx *e)
{
    int rc = repo_schedule_get(app->db, id, principal_scope(who), out);
    return rc == BB_OK ? BB_OK : store_error(e, rc);
}

int svc_schedule_patch(bb_app *app, const struct principal *who, int64_t id,
                       const cJSON *body, schedule_rec *out, bb_errctx *e)
{
    if (svc_schedule_get(app, who, id, out, e) != BB_OK)
        return e->code;
    bool timing;
    /* the job is checked for the schedule's owner, who submits it */
    struct principal owner = {.user_id = out->owner_id, .open = out->owner_id == 0};
    int rc = apply_body(app, &owner, body, false, out, &timing, e);
    if (rc == BB_OK && timing)
        out->next_run_at = next_run(out, sched_now());
    if (rc == BB_OK && (rc = repo_schedule_update(app->db, out)) != BB_OK)
        store_error(e, rc);
    if (e->code != BB_OK) {
        schedule_rec_clear(out);
        return e->code;
    }
    sched_wake(app->sched);
    return BB_OK;
}

int svc_schedule_list(bb_app *app, const struct principal *who, schedule_rec **out,
                      size_t *n, bb_errctx *e)
{
    int rc = repo_schedule_list(app->db, principal_scope(who), 0, out, n);
    return rc == BB_OK ? BB_OK : store_error(e, rc);
}

int svc_schedule_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    int rc = repo_schedule_delete(app->db, id, principal_scope(who));
    return rc == BB_OK ? BB_OK : store_error(e, rc);
}

/* Adds a time (ISO-8601) or null under key. */
static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char t[32];
    if (ms > 0) {
        bb_iso8601(ms, t);
        cJSON_AddStringToObject(o, key, t);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_id(cJSON *o, const char *key, int64_t id)
{
    char t[24];
    if (id > 0) {
        snprintf(t, sizeof t, "%lld", (long long)id);
        cJSON_AddStringToObject(o, key, t);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

cJSON *svc_schedule_dto(const schedule_rec *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_id(o, "scheduleId", s->id);
    cJSON_AddStringToObject(o, "name", s->name ? s->name : "");
    cJSON_AddStringToObject(o, "cron", s->cron ? s->cron : "");
    cJSON_AddStringToObject(o, "timezone", s->timezone ? s->timezone : "UTC");
    cJSON *body = s->job ? cJSON_Parse(s->job) : NULL;
    if (!body || !cJSON_AddItemToObject(o, "job", body)) {
        cJSON_Delete(body);
        cJSON_AddObjectToObject(o, "job");
    }
    cJSON_AddBoolToObject(o, "enabled", s->enabled);
    cJSON_AddStringToObject(o, "overlap", s->overlap ? s->overlap : "skip");
    cJSON_AddStringToObject(o, "catchUp", s->catch_up ? s->catch_up : "none");
    add_time(o, "nextRunAt", s->next_run_at);
    add_time(o, "lastRunAt", s->last_run_at);
    add_id(o, "lastJobId", s->last_job_id);
    if (s->last_error)
        cJSON_AddStringToObject(o, "lastError", s->last_error);
    else
        cJSON_AddNullToObject(o, "lastError");
    add_id(o, "ownerId", s->owner_id);
    add_time(o, "createdAt", s->created_at);
    add_time(o, "updatedAt", s->updated_at);
    return o;
}

/* ---- firing ------------------------------------------------------------------ */

/* Submits the job of schedule s for its owner (idempotent per due time, so
 * a crash between the submit and the schedule's update cannot run it
 * twice).  *id, or why not into err. */
static int submit_for(bb_app *app, const schedule_rec *s, int64_t *id, char *err, size_t cap)
{
    *id = 0;
    struct principal who = {.user_id = s->owner_id, .open = s->owner_id == 0};
    cJSON *body = cJSON_Parse(s->job ? s->job : "");
    job j;
    bb_errctx e = {0};
    if (svc_job_from_request(app, body, &j, &e) == BB_OK) {
        j.owner_id = s->owner_id;
        j.schedule_id = s->id;
        if (svc_job_quota_check(app, &who, &e) == BB_OK &&
            svc_job_check_upload(app, &who, &j, "md", &e) == BB_OK) {
            char key[64];
            snprintf(key, sizeof key, "bb-schedule:%lld:%lld", (long long)s->id,
                     (long long)s->next_run_at);
            bool existed = false;
            int rc = repo_job_submit(app->db, &j, key, "schedule", &existed);
            if (rc != BB_OK)
                bb_fail(&e, BB_EIO, "database error");
            *id = j.id;
        }
        job_clear(&j);
    }
    cJSON_Delete(body);
    if (e.code != BB_OK) {
        const cJSON *f = e.fields ? e.fields->child : NULL;
        if (f && cJSON_IsString(f))
            snprintf(err, cap, "the job was refused: %s: %s", f->string, f->valuestring);
        else
            snprintf(err, cap, "the job was refused: %s", e.message);
    }
    bb_err_clear(&e);
    return *id ? BB_OK : BB_EINVAL;
}

/* One due run of s at `now`; true when it submitted a job. */
static bool fire_one(bb_app *app, const schedule_rec *s, int64_t now)
{
    char err[300] = "", at[32];
    int64_t job_id = 0;
    bb_iso8601(s->next_run_at, at);
    bool missed = now - s->next_run_at > SCHEDULE_MISSED_MS;
    job last;
    if (missed && strcmp(s->catch_up, "none") == 0) {
        snprintf(err, sizeof err, "the run due at %s was missed (the server was down) and "
                 "catchUp is none", at);
    } else if (strcmp(s->overlap, "skip") == 0 && s->last_job_id &&
               repo_job_get(app->db, s->last_job_id, 0, &last) == BB_OK) {
        if (!job_state_terminal(last.state))
            snprintf(err, sizeof err, "the run due at %s was skipped: job %lld of an earlier "
                     "run is still %s (overlap skip)", at, (long long)last.id,
                     job_state_name(last.state));
        job_clear(&last);
    }
    if (!err[0])
        submit_for(app, s, &job_id, err, sizeof err);
    struct cron c;
    char why[160];
    int64_t next = cron_parse(s->cron, &c, why, sizeof why) == 0
                       ? cron_next(&c, s->timezone, now) : 0;
    int rc = repo_schedule_ran(app->db, s->id, s->next_run_at, next, now, job_id,
                               err[0] ? err : NULL);
    if (rc != BB_OK && rc != BB_ESTATE)
        bb_warn("scheduler: recording a schedule's run failed (database error)", "schedule",
                s->name);
    return job_id != 0;
}

int svc_schedules_fire_due(bb_app *app, int64_t now)
{
    schedule_rec *due = NULL;
    size_t n = 0;
    if (repo_schedule_due(app->db, now, 64, &due, &n) != BB_OK) {
        bb_warn("scheduler: reading due schedules failed (database error)");
        return 0;
    }
    int fired = 0;
    for (size_t i = 0; i < n; i++) {
        fired += fire_one(app, &due[i], now);
        schedule_rec_clear(&due[i]);
    }
    free(due);
    return fired;
}

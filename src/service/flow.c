/* flow.c — flow-control use cases (see flow.h; docs/scheduling.md): a
 * job's resource needs, the pools' usage, paused queues and the list
 * filters flow control adds.  Bulk actions live in bulk.c.  SQL stays in
 * infra/db (repo_flow.c); the pool is told about pauses
 * (pool_queue_reload). */

#include "service/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "infra/db/repo_flow.h"
#include "infra/workers/pool.h"
#include "service/jobs.h"
#include "util/util.h"

/* ---- needs ------------------------------------------------------------------ */

/* {"gpu": 1, ...} of the non-zero amounts, in pool order (caller frees),
 * NULL when all are zero; *oom on allocation failure. */
static char *needs_text(const bb_config *cfg, const int64_t *amounts, bool *oom)
{
    *oom = false;
    cJSON *o = NULL;
    for (size_t i = 0; i < cfg->npools; i++) {
        if (amounts[i] == 0)
            continue;
        if (!o && !(o = cJSON_CreateObject()))
            break;
        if (!cJSON_AddNumberToObject(o, cfg->pools[i].name, (double)amounts[i]))
            *oom = true;
    }
    char *text = o && !*oom ? cJSON_PrintUnformatted(o) : NULL;
    *oom = *oom || (o && !text);
    cJSON_Delete(o);
    return text;
}

int svc_job_needs(const bb_config *cfg, const bb_preset *p, const cJSON *needs, char **out,
                  bb_errctx *e)
{
    *out = NULL;
    int64_t amounts[BB_MAX_POOLS];
    char key[80], msg[160];
    bool oom = false;
    if (needs && !cJSON_IsNull(needs)) {
        if (!p->allow_job_needs)
            return bb_fail_field(e, "needs", "preset \"%s\" does not take a job's own needs "
                                 "(allowJobNeeds)", p->id);
        if (config_needs_check(cfg, needs, amounts, key, sizeof key, msg, sizeof msg) != 0) {
            char field[96];
            snprintf(field, sizeof field, key[0] ? "needs.%s" : "needs", key);
            return bb_fail_field(e, field, "%s", msg);
        }
        *out = needs_text(cfg, amounts, &oom);
    } else if (p->needs) {
        cJSON *pn = cJSON_Parse(p->needs);
        if (pn && config_needs_check(cfg, pn, amounts, key, sizeof key, msg, sizeof msg) == 0)
            *out = needs_text(cfg, amounts, &oom);
        oom = oom || !pn;
        cJSON_Delete(pn);
    }
    return oom ? bb_fail(e, BB_EINTERNAL, "out of memory") : BB_OK;
}

/* ---- pool usage ----------------------------------------------------------------- */

int svc_pool_usage(bb_app *app, struct pool_use *out, size_t *n, bb_errctx *e)
{
    const bb_config *cfg = app->cfg;
    int64_t used[BB_MAX_POOLS];
    *n = 0;
    if (cfg->npools == 0)
        return BB_OK;
    if (repo_pool_usage(app->db, cfg->pools, cfg->npools, used) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    for (size_t i = 0; i < cfg->npools && i < BB_MAX_POOLS; i++) {
        out[i] = (struct pool_use){.name = cfg->pools[i].name, .total = cfg->pools[i].total,
                                   .used = used[i], .counted = cfg->pools[i].counted};
        (*n)++;
    }
    return BB_OK;
}

cJSON *svc_pool_usage_json(const struct pool_use *u, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < n; i++) {
        cJSON *p = cJSON_AddObjectToObject(o, u[i].name);
        if (!p)
            continue;
        cJSON_AddNumberToObject(p, "total", (double)u[i].total);
        cJSON_AddNumberToObject(p, "used", (double)u[i].used);
        cJSON_AddNumberToObject(p, "free", (double)(u[i].total - u[i].used));
        cJSON_AddBoolToObject(p, "counted", u[i].counted);
    }
    return o;
}

/* ---- paused queues ----------------------------------------------------------------- */

int svc_queue_pause(bb_app *app, const struct principal *who, const cJSON *body, bool pause,
                    bb_errctx *e)
{
    const char *preset = "";
    if (body && !cJSON_IsNull(body)) {
        if (!cJSON_IsObject(body))
            return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
        for (const cJSON *it = body->child; it; it = it->next)
            if (!it->string || strcmp(it->string, "preset") != 0)
                bb_fail_field(e, it->string ? it->string : "?", "unknown field");
        const char *p = bb_json_opt_string(body, "preset", e);
        if (p && !config_preset(app->cfg, p))
            bb_fail_field(e, "preset", "unknown preset \"%.64s\"", p);
        if (e->code != BB_OK)
            return e->code;
        if (p)
            preset = p;
    }
    int rc;
    if (pause) {
        rc = repo_queue_pause(app->db, preset, who ? who->user_id : 0, bb_now_ms());
    } else {
        bool removed = false;
        rc = repo_queue_resume(app->db, preset, &removed);
    }
    if (rc != BB_OK)
        return svc_store_error(e, rc);
    if (app->pool && pool_queue_reload(app->pool) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

cJSON *svc_queue_status(bb_app *app, bb_errctx *e)
{
    struct queue_pause *ps = NULL;
    size_t n = 0;
    if (repo_queue_pauses(app->db, &ps, &n) != BB_OK) {
        bb_fail(e, BB_EIO, "database error");
        return NULL;
    }
    const bb_config *cfg = app->cfg;
    cJSON *o = cJSON_CreateObject();
    const struct queue_pause *all = NULL;
    for (size_t i = 0; i < n; i++)
        if (ps[i].preset[0] == '\0')
            all = &ps[i];
    char ts[32];
    cJSON_AddBoolToObject(o, "paused", all != NULL);
    if (all) {
        bb_iso8601(all->paused_at, ts);
        cJSON_AddStringToObject(o, "pausedAt", ts);
    } else {
        cJSON_AddNullToObject(o, "pausedAt");
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "presets");
    for (size_t k = 0; arr && k < cfg->npresets; k++) {
        const bb_preset *pr = &cfg->presets[k];
        const struct queue_pause *hit = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(ps[i].preset, pr->id) == 0)
                hit = &ps[i];
        cJSON *po = cJSON_CreateObject();
        if (!po || !cJSON_AddItemToArray(arr, po)) {
            cJSON_Delete(po);
            continue;
        }
        cJSON_AddStringToObject(po, "preset", pr->id);
        cJSON_AddBoolToObject(po, "paused", hit != NULL);
        if (hit) {
            bb_iso8601(hit->paused_at, ts);
            cJSON_AddStringToObject(po, "pausedAt", ts);
        } else {
            cJSON_AddNullToObject(po, "pausedAt");
        }
        if (pr->rate_jobs) {
            cJSON *rl = cJSON_AddObjectToObject(po, "rateLimit");
            cJSON_AddNumberToObject(rl, "jobs", pr->rate_jobs);
            cJSON_AddNumberToObject(rl, "perSec", pr->rate_per_sec);
        } else {
            cJSON_AddNullToObject(po, "rateLimit");
        }
    }
    free(ps);
    struct pool_use use[BB_MAX_POOLS];
    size_t nuse = 0;
    if (svc_pool_usage(app, use, &nuse, e) != BB_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON *res = svc_pool_usage_json(use, nuse);
    if (!res || !cJSON_AddItemToObject(o, "resources", res))
        cJSON_Delete(res);
    return o;
}

int svc_err_prefixed(bb_errctx *e, bb_errctx *src, const char *prefix)
{
    for (const cJSON *it = src->fields ? src->fields->child : NULL; it; it = it->next) {
        char field[128];
        snprintf(field, sizeof field, "%s.%.100s", prefix, it->string ? it->string : "?");
        bb_fail_field(e, field, "%s", cJSON_IsString(it) ? it->valuestring : "is invalid");
    }
    if (src->code != BB_OK && !src->fields)
        bb_fail(e, src->code, "%s", src->message);
    bb_err_clear(src);
    return e->code;
}

/* ---- list filters -------------------------------------------------------------------- */

/* ms since the epoch from "2026-12-04", "2026-12-04T01:02:03[.mmm](Z|+hh:mm)"
 * or a number of ms; -1 when it is none of these. */
static int64_t parse_time(const char *s)
{
    int64_t ms;
    if (bb_parse_i64(s, &ms) == 0)
        return ms >= 0 ? ms : -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) {
        memset(&tm, 0, sizeof tm);
        rest = strptime(s, "%Y-%m-%d", &tm);
        if (!rest || *rest)
            return -1;
    }
    int64_t frac = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*rest - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*rest == 'Z') {
        rest++;
    } else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
        int h = (rest[1] - '0') * 10 + (rest[2] - '0');
        int m = (rest[4] - '0') * 10 + (rest[5] - '0');
        if (h > 23 || m > 59)
            return -1;
        off = (int64_t)(h * 60 + m) * 60000 * (*rest == '+' ? 1 : -1);
        rest += 6;
    }
    if (*rest)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t * 1000 + frac - off;
}

int svc_filter_more(const struct principal *who, const char *after, const char *before,
                    const char *owner, const char *ooa, const char *prefix,
                    struct job_filter *f, bb_errctx *e)
{
    char field[64];
    if (after && *after && (f->created_after = parse_time(after)) < 0) {
        snprintf(field, sizeof field, "%screatedAfter", prefix);
        bb_fail_field(e, field, "must be an ISO-8601 time (2026-12-04T10:00:00Z) or a date");
        f->created_after = 0;
    }
    if (before && *before && (f->created_before = parse_time(before)) < 0) {
        snprintf(field, sizeof field, "%screatedBefore", prefix);
        bb_fail_field(e, field, "must be an ISO-8601 time (2026-12-04T10:00:00Z) or a date");
        f->created_before = 0;
    }
    if (owner && *owner) {
        int64_t id;
        snprintf(field, sizeof field, "%sowner", prefix);
        if (bb_parse_i64(owner, &id) != 0 || id < 1)
            bb_fail_field(e, field, "must be a user id");
        else if (who && !who->admin && !who->open && id != who->user_id)
            bb_fail_field(e, field, "only admins may name another owner");
        else
            f->owner_scope = id;
    }
    if (ooa && *ooa) {
        snprintf(field, sizeof field, "%soutOfAttempts", prefix);
        if (strcmp(ooa, "1") == 0 || strcmp(ooa, "true") == 0)
            f->out_of_attempts = true;
        else if (strcmp(ooa, "0") != 0 && strcmp(ooa, "false") != 0)
            bb_fail_field(e, field, "must be 1 or 0");
    }
    return e->code;
}

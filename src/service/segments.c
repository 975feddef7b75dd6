/* segments.c — review of translate jobs (see segments.h and
 * docs/translate.md, "Review"): the segments API and the rebuild action.
 * Runs on the calling request thread; all state is in the database (the
 * segments table, written through the db writer), so two tabs or two
 * users editing at once meet in one place: the writer's version check. */
#include "service/segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/translate.h"
#include "infra/db/repo_job.h"
#include "infra/db/repo_segment.h"
#include "infra/workers/pool.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/util.h"

#define ID_MAX 1000000000000LL   /* larger cursors and n are malformed */

/* Parses a positive decimal integer of at most 13 digits; false otherwise. */
static bool parse_pos(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 13)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0 || v >= ID_MAX)
        return false;
    *out = v;
    return true;
}

static bool is_rebuild(const job *j)
{
    return j->mode && strcmp(j->mode, "rebuild") == 0 && j->parent_job_id > 0;
}

/* The job whose segments j shows: a rebuild child shows its parent's. */
static int64_t segments_job(const job *j)
{
    return is_rebuild(j) ? j->parent_job_id : j->id;
}

/* The preset of j if it is a translate preset, else NULL with BB_ESTATE
 * recorded. */
static const bb_preset *translate_preset(const bb_app *app, const job *j, bb_errctx *e)
{
    const bb_preset *p = config_preset(app->cfg, j->preset);
    if (p && p->workflow == BB_WF_TRANSLATE)
        return p;
    bb_fail(e, BB_ESTATE, "job %lld ran preset \"%.64s\", not a translate preset: it has "
            "no segments", (long long)j->id, j->preset ? j->preset : "?");
    return NULL;
}

/* Loads job id for who and checks it is a translate job.  BB_OK with *j
 * (caller clears) and *p; otherwise the error is recorded in e. */
static int load_job(bb_app *app, const struct principal *who, int64_t id, job *j,
                    const bb_preset **p, bb_errctx *e)
{
    int rc = repo_job_get(app->db, id, principal_scope(who), j);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such job");
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not read the job");
    if (!(*p = translate_preset(app, j, e))) {
        job_clear(j);
        return e->code;
    }
    return BB_OK;
}

/* The DTO of one segment (caller frees); NULL on OOM. */
static cJSON *segment_dto(const seg_rec *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *flags = cJSON_Parse(s->flags ? s->flags : "[]");
    if (!cJSON_IsArray(flags)) {
        cJSON_Delete(flags);
        flags = cJSON_CreateArray();
    }
    bool ok = cJSON_AddNumberToObject(o, "n", (double)s->n) &&
              cJSON_AddStringToObject(o, "source", s->source ? s->source : "") &&
              cJSON_AddStringToObject(o, "target", s->target ? s->target : "") &&
              cJSON_AddStringToObject(o, "origin", s->origin ? s->origin : "mt") &&
              cJSON_AddStringToObject(o, "state", s->state ? s->state : "translated") &&
              flags && cJSON_AddItemToObject(o, "flags", flags) &&
              cJSON_AddNumberToObject(o, "version", (double)s->version);
    if (!ok) {
        if (flags && !cJSON_GetObjectItemCaseSensitive(o, "flags"))
            cJSON_Delete(flags);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool parse_flag(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || !*v)
        *out = false;
    else
        return false;
    return true;
}

static bool valid_state(const char *s)
{
    return strcmp(s, "translated") == 0 || strcmp(s, "reviewed") == 0;
}

/* Parses the query into pq; field errors in e. */
static int parse_query(const struct segments_query *q, struct seg_page_query *pq, bb_errctx *e)
{
    pq->limit = SEGMENTS_PAGE_DEFAULT;
    if (q->flagged && !parse_flag(q->flagged, &pq->flagged))
        bb_fail_field(e, "flagged", "must be 1 or 0");
    if (q->state && *q->state) {
        if (valid_state(q->state))
            pq->state = q->state;
        else
            bb_fail_field(e, "state", "must be translated or reviewed");
    }
    if (q->cursor && *q->cursor && !parse_pos(q->cursor, &pq->after))
        bb_fail_field(e, "cursor", "must be the nextCursor of an earlier page");
    int64_t lim;
    if (q->limit && *q->limit) {
        if (parse_pos(q->limit, &lim) && lim <= SEGMENTS_PAGE_MAX)
            pq->limit = (size_t)lim;
        else
            bb_fail_field(e, "limit", "must be an integer from 1 to %d", SEGMENTS_PAGE_MAX);
    }
    return e->code;
}

/* {items, nextCursor, total, reviewed, flagged} from a page (the records
 * are borrowed).  Caller frees; NULL on OOM. */
static cJSON *page_doc(const seg_rec *items, size_t n, bool more, int64_t total,
                       int64_t reviewed, int64_t flagged)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "items") : NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *s = segment_dto(&items[i]);
        ok = s && cJSON_AddItemToArray(arr, s);
        if (!ok)
            cJSON_Delete(s);
    }
    char cur[24];
    if (ok && more && n > 0) {
        snprintf(cur, sizeof cur, "%lld", (long long)items[n - 1].n);
        ok = cJSON_AddStringToObject(doc, "nextCursor", cur) != NULL;
    } else if (ok) {
        ok = cJSON_AddNullToObject(doc, "nextCursor") != NULL;
    }
    ok = ok && cJSON_AddNumberToObject(doc, "total", (double)total) &&
         cJSON_AddNumberToObject(doc, "reviewed", (double)reviewed) &&
         cJSON_AddNumberToObject(doc, "flagged", (double)flagged);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int svc_segments_page(bb_app *app, const struct principal *who, int64_t id,
                      const struct segments_query *q, cJSON **out, bb_errctx *e)
{
    *out = NULL;
    struct seg_page_query pq = {0};
    if (parse_query(q, &pq, e) != BB_OK)
        return e->code;
    job j;
    const bb_preset *p;
    if (load_job(app, who, id, &j, &p, e) != BB_OK)
        return e->code;
    pq.job_id = segments_job(&j);
    job_clear(&j);
    seg_rec *items = NULL;
    size_t n = 0;
    bool more = false;
    int64_t total = 0, reviewed = 0, flagged = 0;
    int rc = repo_segment_page(app->db, &pq, &items, &n, &more);
    if (rc == BB_OK)
        rc = repo_segment_counts(app->db, pq.job_id, &total, &reviewed, &flagged);
    if (rc == BB_OK && !(*out = page_doc(items, n, more, total, reviewed, flagged)))
        rc = BB_EINTERNAL;
    for (size_t i = 0; i < n; i++)
        seg_rec_clear(&items[i]);
    free(items);
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not read the segments");
    return BB_OK;
}

/* ---- PATCH ------------------------------------------------------------ */

struct patch_body {
    const char *target, *state;
    int64_t version;   /* 0 = not given */
};

static int parse_patch(const cJSON *body, struct patch_body *pb, bb_errctx *e)
{
    memset(pb, 0, sizeof *pb);
    if (!cJSON_IsObject(body))
        return bb_fail_field(e, "body", "must be a JSON object {target?, state?, version?}");
    for (const cJSON *it = body->child; it; it = it->next) {
        const char *k = it->string ? it->string : "?";
        if (strcmp(k, "target") != 0 && strcmp(k, "state") != 0 && strcmp(k, "version") != 0)
            bb_fail_field(e, k, "unknown field: give target, state and/or version");
    }
    pb->target = bb_json_opt_string(body, "target", e);
    pb->state = bb_json_opt_string(body, "state", e);
    if (pb->target && strlen(pb->target) > SEGMENT_TARGET_MAX)
        bb_fail_field(e, "target", "at most %d bytes", SEGMENT_TARGET_MAX);
    else if (pb->target && !bb_utf8_valid(pb->target, strlen(pb->target)))
        bb_fail_field(e, "target", "must be valid UTF-8");
    if (pb->state && !valid_state(pb->state))
        bb_fail_field(e, "state", "must be translated or reviewed");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");
    if (v && !cJSON_IsNull(v)) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
        if (!cJSON_IsNumber(v) || d < 1 || d >= (double)ID_MAX || d != (double)(int64_t)d)
            bb_fail_field(e, "version", "must be the segment's version (an integer >= 1)");
        else
            pb->version = (int64_t)d;
    }
    if (e->code == BB_OK && !pb->target && !pb->state)
        bb_fail_field(e, "target", "give target and/or state");
    return e->code;
}

/* QA of target against source with the preset's glossary (loaded per
 * call: a glossary is a small file, and an edit is one request).  Caller
 * frees; NULL on OOM. */
static char *run_qa(const bb_preset *p, const char *source, const char *target)
{
    struct tr_glossary g = {0};
    bool have = false;
    if (p->translate && p->translate->glossary) {
        char err[200];
        if (tr_glossary_load(p->translate->glossary, &g, err, sizeof err) == 0)
            have = true;
        else
            bb_warn("glossary not loaded: QA runs without it", "preset", p->id, "error", err);
    }
    char *flags = tr_qa_segment(source, target, have ? &g : NULL);
    if (have)
        tr_glossary_free(&g);
    return flags;
}

/* One attempt at the edit on top of cur (the stored segment).  Returns
 * the repository's answer; *stored filled on BB_ECONFLICT. */
static int patch_once(bb_app *app, const bb_preset *p, const seg_rec *cur,
                      const struct patch_body *pb, int64_t expect, seg_rec *upd,
                      seg_rec *stored)
{
    const char *target = pb->target ? pb->target : cur->target;
    bool edited = pb->target && strcmp(pb->target, cur->target ? cur->target : "") != 0;
    memset(upd, 0, sizeof *upd);
    upd->job_id = cur->job_id;
    upd->n = cur->n;
    upd->source = strdup(cur->source ? cur->source : "");
    upd->target = strdup(target ? target : "");
    upd->origin = strdup(edited ? "edited" : cur->origin ? cur->origin : "mt");
    upd->state = strdup(pb->state ? pb->state : cur->state ? cur->state : "translated");
    upd->flags = upd->source && upd->target ? run_qa(p, upd->source, upd->target) : NULL;
    if (!upd->source || !upd->target || !upd->origin || !upd->state || !upd->flags)
        return BB_EINTERNAL;
    return repo_segment_patch(app->db, upd, expect, stored);
}

int svc_segment_patch(bb_app *app, const struct principal *who, int64_t id, const char *n_text,
                      const cJSON *body, cJSON **out, bb_errctx *e)
{
    *out = NULL;
    int64_t n = 0;
    if (!parse_pos(n_text, &n))
        bb_fail_field(e, "n", "must be a segment number (1, 2, ...)");
    struct patch_body pb;
    parse_patch(body, &pb, e);
    if (e->code != BB_OK)
        return e->code;
    job j;
    const bb_preset *p;
    if (load_job(app, who, id, &j, &p, e) != BB_OK)
        return e->code;
    int64_t sid = segments_job(&j);
    job_clear(&j);
    seg_rec cur, upd = {0}, stored = {0};
    int rc = repo_segment_get(app->db, sid, n, &cur);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "job %lld has no segment %lld", (long long)id,
                       (long long)n);
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not read the segment");
    /* Without a version the edit is last-write-wins, but a field the
     * request did not give is never taken from a stale read: a concurrent
     * change is re-read and the edit applied on top (bounded). */
    for (int tries = 0; tries < 4; tries++) {
        rc = patch_once(app, p, &cur, &pb, pb.version ? pb.version : cur.version, &upd, &stored);
        if (rc != BB_ECONFLICT || pb.version)
            break;
        seg_rec_clear(&cur);
        cur = stored;
        memset(&stored, 0, sizeof stored);
        seg_rec_clear(&upd);
    }
    if (rc == BB_OK) {
        if (!(*out = segment_dto(&upd)))
            rc = bb_fail(e, BB_EINTERNAL, "out of memory");
    } else if (rc == BB_ECONFLICT && pb.version) {
        *out = segment_dto(&stored);
        bb_fail(e, BB_ECONFLICT, "segment %lld was changed by someone else (version %lld, "
                "not %lld): see current, then edit again", (long long)n,
                (long long)stored.version, (long long)pb.version);
    } else if (rc == BB_ENOTFOUND) {
        bb_fail(e, BB_ENOTFOUND, "job %lld has no segment %lld", (long long)id, (long long)n);
    } else {
        bb_fail(e, rc == BB_ECONFLICT ? BB_ECONFLICT : rc, "could not save the segment");
    }
    seg_rec_clear(&cur);
    seg_rec_clear(&upd);
    seg_rec_clear(&stored);
    return e->code;
}

/* ---- the rebuild action ------------------------------------------------ */

int svc_segments_rebuild_check(bb_app *app, const job *j, bb_errctx *e)
{
    if (!translate_preset(app, j, e))
        return e->code;
    if (j->state == JOB_QUEUED || j->state == JOB_RUNNING)
        return bb_fail(e, BB_ECONFLICT, "job %lld is %s: rebuild it once it has finished",
                       (long long)j->id, job_state_name(j->state));
    if (j->state != JOB_SUCCEEDED)
        return BB_OK;   /* the action's state step answers */
    int64_t total = 0;
    int rc = repo_segment_counts(app->db, segments_job(j), &total, NULL, NULL);
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not read the segments");
    if (total == 0)
        return bb_fail(e, BB_ESTATE, "job %lld has no segments to rebuild from",
                       (long long)j->id);
    return BB_OK;
}

int svc_segments_rebuild(bb_app *app, const job *j, int64_t *new_id, bb_errctx *e)
{
    *new_id = 0;
    job root;
    int rc = repo_job_get(app->db, segments_job(j), 0, &root);
    if (rc != BB_OK)
        return bb_fail(e, rc == BB_ENOTFOUND ? BB_ESTATE : rc,
                       "the reviewed job %lld is gone", (long long)segments_job(j));
    const bb_preset *p = config_preset(app->cfg, root.preset);
    job ch;
    memset(&ch, 0, sizeof ch);
    ch.owner_id = root.owner_id;
    ch.preset = bb_strdup_or_null(root.preset);
    ch.md = bb_strdup_or_null(root.md);
    ch.input_path = bb_strdup_or_null(root.input_path);
    ch.file_id = root.file_id;
    ch.upload = strdup(root.upload ? root.upload : "auto");
    ch.mode = strdup("rebuild");
    ch.priority = root.priority;
    ch.params = strdup(root.params ? root.params : "{}");
    ch.max_attempts = p ? p->max_attempts : 1;
    ch.parent_job_id = root.id;
    ch.state = JOB_QUEUED;
    job_clear(&root);
    if (!ch.preset || !ch.upload || !ch.mode || !ch.params) {
        job_clear(&ch);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    bool existed = false;
    rc = repo_job_submit(app->db, &ch, NULL, NULL, &existed);
    *new_id = ch.id;
    job_clear(&ch);
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not queue the rebuild");
    if (app->pool)
        pool_wake(app->pool);
    return BB_OK;
}

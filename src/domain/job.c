/* job.c — job state machine and DTO (see job.h). */
#include "domain/job.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/params.h"
#include "util/util.h"

static const char *const state_names[] = {
    [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running",
    [JOB_SUCCEEDED] = "succeeded", [JOB_FAILED] = "failed",
    [JOB_CANCELED] = "canceled", [JOB_SCHEDULED] = "scheduled",
    [JOB_WAITING] = "waiting",
};

const char *job_state_name(enum job_state s)
{
    if ((unsigned)s >= JOB_NSTATES)
        return "unknown";
    return state_names[s];
}

int job_state_parse(const char *name, enum job_state *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < JOB_NSTATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum job_state)i;
            return 0;
        }
    }
    return -1;
}

bool job_state_terminal(enum job_state s)
{
    return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELED;
}

bool job_transition_ok(enum job_state from, enum job_state to)
{
    switch (from) {
    case JOB_QUEUED:
        return to == JOB_RUNNING || to == JOB_CANCELED;
    case JOB_RUNNING:
        return to == JOB_SUCCEEDED || to == JOB_FAILED || to == JOB_CANCELED ||
               to == JOB_QUEUED;
    case JOB_FAILED:
    case JOB_CANCELED:
        return to == JOB_QUEUED;
    case JOB_SUCCEEDED:
        return false;
    case JOB_SCHEDULED:
        return to == JOB_QUEUED || to == JOB_CANCELED;
    case JOB_WAITING:
        return to == JOB_QUEUED || to == JOB_SCHEDULED || to == JOB_CANCELED;
    }
    return false;
}

bool job_state_in(job_state_set set, enum job_state s)
{
    return (unsigned)s < JOB_NSTATES && (set & JOB_STATE_BIT(s)) != 0;
}

void job_state_set_names(job_state_set set, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (int i = 0; i < JOB_NSTATES; i++) {
        if (!job_state_in(set, (enum job_state)i))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", state_names[i]);
        if (w < 0 || (size_t)w >= cap - n) {
            out[n] = '\0';          /* cut short after the last whole name */
            return;
        }
        n += (size_t)w;
    }
}

cJSON *job_state_set_json(job_state_set set)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < JOB_NSTATES; i++) {
        if (!job_state_in(set, (enum job_state)i))
            continue;
        cJSON *name = cJSON_CreateString(state_names[i]);
        if (!name || !cJSON_AddItemToArray(arr, name)) {
            cJSON_Delete(name);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The DTO of the HTTP contract as data: one row per key, in contract order
 * (docs/api.md, "The job DTO").  job_to_dto renders the rows; job_clear frees
 * the DTO_STR members (plus the two owned strings the DTO does not show). */
enum dto_kind {
    DTO_ID,        /* int64_t id, as a decimal string; null when 0 */
    DTO_STR,       /* char *, owned; null when NULL */
    DTO_BOOL,      /* bool */
    DTO_INT,       /* int */
    DTO_TIME,      /* int64_t ms since the epoch, ISO-8601; null when 0 */
    DTO_STATE,     /* enum job_state, by name */
    DTO_PARAMS,    /* char * JSON object text, as an object ({} when absent) */
    DTO_PROGRESS,  /* double, clamped to [0, 1] and rounded to 3 places */
    DTO_KIND,      /* char * "job" | "batch", owned; "job" when NULL */
    DTO_JSON,      /* char * JSON text, owned, as its value; null when NULL */
    DTO_BATCH,     /* the batch_* counts of a parent as an object; null otherwise */
    DTO_IDLIST,    /* char * "12,14", owned, as ["12","14"]; [] when NULL */
};

static const struct dto_field {
    const char *key;
    enum dto_kind kind;
    size_t off;
} dto_fields[] = {
    {"jobId", DTO_ID, offsetof(job, id)},
    {"state", DTO_STATE, offsetof(job, state)},
    {"md", DTO_STR, offsetof(job, md)},
    {"preset", DTO_STR, offsetof(job, preset)},
    {"withTts", DTO_BOOL, offsetof(job, with_tts)},
    {"upload", DTO_STR, offsetof(job, upload)},
    {"voiceAccent", DTO_STR, offsetof(job, voice_accent)},
    {"voiceId", DTO_STR, offsetof(job, voice_id)},
    {"forceTts", DTO_BOOL, offsetof(job, force_tts)},
    {"notionDatabase", DTO_STR, offsetof(job, notion_database)},
    {"mode", DTO_STR, offsetof(job, mode)},
    {"priority", DTO_INT, offsetof(job, priority)},
    {"params", DTO_PARAMS, offsetof(job, params)},
    {"progress", DTO_PROGRESS, offsetof(job, progress)},
    {"attempts", DTO_INT, offsetof(job, attempts)},
    {"maxAttempts", DTO_INT, offsetof(job, max_attempts)},
    {"parentJobId", DTO_ID, offsetof(job, parent_job_id)},
    {"kind", DTO_KIND, offsetof(job, kind)},
    {"batchId", DTO_ID, offsetof(job, batch_id)},
    {"batch", DTO_BATCH, offsetof(job, batch_total)},
    {"sweep", DTO_JSON, offsetof(job, sweep)},
    {"manifestPath", DTO_STR, offsetof(job, manifest_path)},
    {"notionUrl", DTO_STR, offsetof(job, notion_url)},
    {"pageUrl", DTO_STR, offsetof(job, page_url)},
    {"error", DTO_STR, offsetof(job, error)},
    {"waitingFor", DTO_STR, offsetof(job, waiting_for)},
    {"runAt", DTO_TIME, offsetof(job, run_at)},
    {"scheduleId", DTO_ID, offsetof(job, schedule_id)},
    {"dependsOn", DTO_IDLIST, offsetof(job, depends_on)},
    {"runWhen", DTO_STR, offsetof(job, run_when)},
    {"needs", DTO_JSON, offsetof(job, needs)},
    {"resources", DTO_JSON, offsetof(job, resources)},
    {"ownerId", DTO_ID, offsetof(job, owner_id)},
    {"createdAt", DTO_TIME, offsetof(job, created_at)},
    {"updatedAt", DTO_TIME, offsetof(job, updated_at)},
    {"startedAt", DTO_TIME, offsetof(job, started_at)},
    {"finishedAt", DTO_TIME, offsetof(job, finished_at)},
};
#define NFIELDS (sizeof dto_fields / sizeof dto_fields[0])

#define FIELD(j, f, type) (*(type *)(void *)((char *)(j) + (f)->off))

void job_clear(job *j)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (dto_fields[i].kind == DTO_STR || dto_fields[i].kind == DTO_PARAMS ||
            dto_fields[i].kind == DTO_KIND || dto_fields[i].kind == DTO_JSON ||
            dto_fields[i].kind == DTO_IDLIST)
            free(FIELD(j, &dto_fields[i], char *));
    free(j->input_path);
    free(j->notify);
    memset(j, 0, sizeof *j);
}

bool job_is_batch(const job *j)
{
    return j->kind && strcmp(j->kind, "batch") == 0;
}

enum job_state job_batch_state(const struct batch_counts *n, bool user_canceled)
{
    int finished = n->succeeded + n->failed + n->canceled;
    if (n->queued + n->running > 0 || n->total == 0)
        return n->running == 0 && finished == 0 ? JOB_QUEUED : JOB_RUNNING;
    if (user_canceled)
        return JOB_CANCELED;
    if (n->failed)
        return JOB_FAILED;
    return n->canceled ? JOB_CANCELED : JOB_SUCCEEDED;
}

/* {total, queued, running, succeeded, failed, canceled} of a batch parent
 * (a new item), or NULL on OOM. */
static cJSON *batch_counts(const job *j)
{
    const struct { const char *key; int v; } c[] = {
        {"total", j->batch_total},         {"queued", j->batch_queued},
        {"running", j->batch_running},     {"succeeded", j->batch_succeeded},
        {"failed", j->batch_failed},       {"canceled", j->batch_canceled},
    };
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < sizeof c / sizeof c[0]; i++)
        if (!cJSON_AddNumberToObject(o, c[i].key, c[i].v)) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

/* "12,14" as ["12","14"] (a new item; [] for NULL or ""), or NULL on OOM. */
static cJSON *id_list(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    for (const char *p = text; arr && p && *p;) {
        size_t n = strcspn(p, ",");
        char id[24];
        snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), p);
        cJSON *item = cJSON_CreateString(id);
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            cJSON_Delete(arr);
            return NULL;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return arr;
}

/* One DTO value of j (a new item), or NULL on OOM. */
static cJSON *dto_value(const job *j, const struct dto_field *f)
{
    char tmp[32];
    switch (f->kind) {
    case DTO_ID: {
        int64_t id = FIELD(j, f, const int64_t);
        if (id <= 0)
            return cJSON_CreateNull();
        snprintf(tmp, sizeof tmp, "%lld", (long long)id);
        return cJSON_CreateString(tmp);
    }
    case DTO_STR: {
        const char *v = FIELD(j, f, char *const);
        return v ? cJSON_CreateString(v) : cJSON_CreateNull();
    }
    case DTO_BOOL:
        return cJSON_CreateBool(FIELD(j, f, const bool));
    case DTO_INT:
        return cJSON_CreateNumber(FIELD(j, f, const int));
    case DTO_TIME: {
        int64_t ms = FIELD(j, f, const int64_t);
        if (ms <= 0)
            return cJSON_CreateNull();
        bb_iso8601(ms, tmp);
        return cJSON_CreateString(tmp);
    }
    case DTO_STATE:
        return cJSON_CreateString(job_state_name(FIELD(j, f, const enum job_state)));
    case DTO_PARAMS: {
        const char *text = FIELD(j, f, char *const);
        cJSON *params = text ? cJSON_Parse(text) : NULL;
        /* numbers exact: a seed of 2^53-1 is not shown rounded */
        if (params && !params_exact_numbers(params)) {
            cJSON_Delete(params);
            return NULL;
        }
        return params ? params : cJSON_CreateObject();
    }
    case DTO_PROGRESS: {
        double p = FIELD(j, f, const double);
        p = p < 0 ? 0 : p > 1 ? 1 : p;
        return cJSON_CreateNumber((double)(int)(p * 1000 + 0.5) / 1000.0);
    }
    case DTO_KIND:
        return cJSON_CreateString(job_is_batch(j) ? "batch" : "job");
    case DTO_JSON: {
        const char *text = FIELD(j, f, char *const);
        cJSON *v = text ? cJSON_Parse(text) : NULL;
        return v ? v : cJSON_CreateNull();
    }
    case DTO_BATCH:
        return job_is_batch(j) ? batch_counts(j) : cJSON_CreateNull();
    case DTO_IDLIST:
        return id_list(FIELD(j, f, char *const));
    }
    return NULL;
}

cJSON *job_to_dto(const job *j)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < NFIELDS; i++) {
        cJSON *v = dto_value(j, &dto_fields[i]);
        if (!v || !cJSON_AddItemToObject(o, dto_fields[i].key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

char *job_dto_json(const job *j)
{
    cJSON *o = job_to_dto(j);
    if (!o)
        return NULL;
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int64_t job_backoff_ms(int base_ms, int attempt, uint32_t rnd)
{
    const int64_t cap = 5 * 60 * 1000;
    if (base_ms <= 0)
        return 0;
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    int64_t half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

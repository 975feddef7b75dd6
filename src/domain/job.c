/* job.c — job state machine and DTO (see job.h). */
#include "domain/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/util.h"

static const char *const state_names[] = {
    [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running",
    [JOB_SUCCEEDED] = "succeeded", [JOB_FAILED] = "failed",
    [JOB_CANCELED] = "canceled",
};

const char *job_state_name(enum job_state s)
{
    if ((unsigned)s > JOB_CANCELED)
        return "unknown";
    return state_names[s];
}

int job_state_parse(const char *name, enum job_state *out)
{
    if (!name)
        return -1;
    for (int i = 0; i <= JOB_CANCELED; i++) {
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
    }
    return false;
}

void job_clear(job *j)
{
    free(j->md);
    free(j->input_path);
    free(j->preset);
    free(j->upload);
    free(j->voice_accent);
    free(j->voice_id);
    free(j->notion_database);
    free(j->mode);
    free(j->params);
    free(j->manifest_path);
    free(j->notion_url);
    free(j->page_url);
    free(j->error);
    memset(j, 0, sizeof *j);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_id(cJSON *o, const char *k, int64_t id)
{
    if (id > 0) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%lld", (long long)id);
        cJSON_AddStringToObject(o, k, tmp);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

static void add_time(cJSON *o, const char *k, int64_t ms)
{
    if (ms > 0) {
        char tmp[32];
        bb_iso8601(ms, tmp);
        cJSON_AddStringToObject(o, k, tmp);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

cJSON *job_to_dto(const job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_id(o, "jobId", j->id);
    cJSON_AddStringToObject(o, "state", job_state_name(j->state));
    add_str(o, "md", j->md);
    add_str(o, "preset", j->preset);
    cJSON_AddBoolToObject(o, "withTts", j->with_tts);
    add_str(o, "upload", j->upload);
    add_str(o, "voiceAccent", j->voice_accent);
    add_str(o, "voiceId", j->voice_id);
    cJSON_AddBoolToObject(o, "forceTts", j->force_tts);
    add_str(o, "notionDatabase", j->notion_database);
    add_str(o, "mode", j->mode);
    cJSON_AddNumberToObject(o, "priority", j->priority);
    cJSON *params = j->params ? cJSON_Parse(j->params) : NULL;
    if (!params)
        params = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "params", params);
    double p = j->progress < 0 ? 0 : j->progress > 1 ? 1 : j->progress;
    cJSON_AddNumberToObject(o, "progress", (double)(int)(p * 1000 + 0.5) / 1000.0);
    cJSON_AddNumberToObject(o, "attempts", j->attempts);
    cJSON_AddNumberToObject(o, "maxAttempts", j->max_attempts);
    add_id(o, "parentJobId", j->parent_job_id);
    add_str(o, "manifestPath", j->manifest_path);
    add_str(o, "notionUrl", j->notion_url);
    add_str(o, "pageUrl", j->page_url);
    add_str(o, "error", j->error);
    add_id(o, "ownerId", j->owner_id);
    add_time(o, "createdAt", j->created_at);
    add_time(o, "updatedAt", j->updated_at);
    add_time(o, "startedAt", j->started_at);
    add_time(o, "finishedAt", j->finished_at);
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

/* jobs.c — job use cases (see jobs.h).  Transport-independent: the HTTP
 * routes and the CLI call these; SQL stays in infra/db. */
#include "service/jobs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/db/repo_file.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "util/util.h"

int64_t principal_scope(const struct principal *p)
{
    if (!p || p->open || p->admin)
        return 0;
    return p->user_id;
}

static const char *const modes[] = {"auto", "dialogue", "monologue"};
static const char *const uploads[] = {"auto", "none"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Adds key: s, or key: null when s is NULL. */
static void add_str_or_null(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

char *svc_resolve_input(const bb_config *cfg, const char *md, bb_errctx *e)
{
    if (!*md) {
        bb_fail_field(e, "md", "must not be empty");
        return NULL;
    }
    if (strlen(md) >= PATH_MAX) {
        bb_fail_field(e, "md", "path is too long");
        return NULL;
    }
    char root[PATH_MAX];
    if (!realpath(cfg->input_root, root)) {
        bb_fail_field(e, "md", "the input root %s does not exist on the server",
                      cfg->input_root);
        return NULL;
    }
    char joined[PATH_MAX * 2];
    if (md[0] == '/')
        snprintf(joined, sizeof joined, "%s", md);
    else
        snprintf(joined, sizeof joined, "%s/%s", root, md);
    char real[PATH_MAX];
    if (!realpath(joined, real)) {
        bb_fail_field(e, "md", "no such file in the input root: %s", md);
        return NULL;
    }
    size_t rl = strlen(root);
    bool inside = strncmp(real, root, rl) == 0 && (real[rl] == '/' || rl == 1);
    if (!inside) {
        bb_fail_field(e, "md", "path resolves outside the input root");
        return NULL;
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        bb_fail_field(e, "md", "not a regular file: %s", md);
        return NULL;
    }
    return strdup(real);
}


static bool opt_bool(const cJSON *body, const char *key, bool dflt, bb_errctx *e)
{
    return bb_json_opt_bool(body, key, dflt, e);
}

static bool valid_param_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

int svc_job_from_request(const bb_app *app, const cJSON *body, job *out, bb_errctx *e)
{
    static const char *const known[] = {"md", "preset", "withTts", "upload", "voiceAccent",
                                        "forceTts", "notionDatabase", "mode", "priority",
                                        "params"};
    const bb_config *cfg = app->cfg;
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next) {
        if (!it->string || !in_list(it->string, known, sizeof known / sizeof known[0]))
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
        else if (cJSON_GetObjectItemCaseSensitive(body, it->string) != it)
            bb_fail_field(e, it->string, "appears more than once");
    }
    const cJSON *pobj = cJSON_GetObjectItemCaseSensitive(body, "params");
    for (const cJSON *it = cJSON_IsObject(pobj) ? pobj->child : NULL; it; it = it->next)
        if (it->string && cJSON_GetObjectItemCaseSensitive(pobj, it->string) != it)
            bb_fail_field(e, "params", "parameter \"%.64s\" appears more than once", it->string);

    const bb_preset *preset = NULL;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(body, "preset");
    if (!pv || cJSON_IsNull(pv))
        bb_fail_field(e, "preset", "is required");
    else if (!cJSON_IsString(pv))
        bb_fail_field(e, "preset", "must be a string");
    else if (!(preset = config_preset(cfg, pv->valuestring)))
        bb_fail_field(e, "preset", "unknown preset \"%.64s\"", pv->valuestring);

    const char *md = bb_json_opt_string(body, "md", e);
    if (md && strncmp(md, "upl_", 4) == 0) {
        /* an uploaded file: existence and ownership are checked at submit */
        int64_t fid;
        if (bb_parse_i64(md + 4, &fid) != 0 || fid < 1)
            bb_fail_field(e, "md", "\"%.40s\" is not an upload id", md);
        else
            out->file_id = fid;
    } else if (md && preset) {
        out->input_path = svc_resolve_input(cfg, md, e);
    } else if (md && !preset && cJSON_GetObjectItemCaseSensitive(body, "md")) {
        /* still check the path so every bad field is reported */
        char *p = svc_resolve_input(cfg, md, e);
        free(p);
    }
    if (!md && preset && preset->uses_input)
        bb_fail_field(e, "md", "is required by preset \"%s\"", preset->id);

    /* a lesson preset fills the options the request leaves out */
    bool lesson = preset && preset->workflow == BB_WF_LESSON;
    out->with_tts = opt_bool(body, "withTts", lesson && preset->defaults.with_tts, e);
    out->force_tts = opt_bool(body, "forceTts", false, e);

    const char *upload = bb_json_opt_string(body, "upload", e);
    if (!upload && lesson && strcmp(preset->defaults.upload, "s3") == 0 && app->s3_store)
        upload = "s3";
    if (upload && !in_list(upload, uploads, 2)) {
        if (strcmp(upload, "s3") != 0)
            bb_fail_field(e, "upload", "must be one of auto, none, s3");
        else if (!app->s3_store)
            bb_fail_field(e, "upload", "S3 storage is not configured on this server");
    }
    const char *accent = bb_json_opt_string(body, "voiceAccent", e);
    if (accent && !config_has_accent(cfg, accent))
        bb_fail_field(e, "voiceAccent", "unknown voice accent \"%.64s\"", accent);
    const char *notion = bb_json_opt_string(body, "notionDatabase", e);
    if (notion && !config_notion_db(cfg, notion))
        bb_fail_field(e, "notionDatabase", "unknown Notion database \"%.64s\"", notion);
    const char *mode = bb_json_opt_string(body, "mode", e);
    if (mode && !in_list(mode, modes, 3))
        bb_fail_field(e, "mode", "must be one of auto, dialogue, monologue");
    if (lesson) {
        if (!accent)
            accent = preset->defaults.voice_accent ? preset->defaults.voice_accent
                     : cfg->nvoices                 ? cfg->voices[0].accent
                                                    : NULL;
        if (!mode)
            mode = preset->defaults.mode;
        if (!notion && !cJSON_GetObjectItemCaseSensitive(body, "notionDatabase"))
            notion = preset->defaults.notion_database;
        if (out->with_tts && cfg->nvoices == 0)
            bb_fail_field(e, "withTts", "no voices are configured on this server");
    }

    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(body, "priority");
    int priority = 0;
    if (pr && !cJSON_IsNull(pr)) {
        /* range first: casting a double int cannot hold is undefined */
        if (!cJSON_IsNumber(pr) || !(pr->valuedouble >= -1000 && pr->valuedouble <= 1000) ||
            pr->valuedouble != (double)(int)pr->valuedouble)
            bb_fail_field(e, "priority", "must be an integer between -1000 and 1000");
        else
            priority = (int)pr->valuedouble;
    }

    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "params");
    char *params_text = NULL;
    if (params && !cJSON_IsNull(params)) {
        if (!cJSON_IsObject(params)) {
            bb_fail_field(e, "params", "must be an object of strings");
        } else {
            int n = 0;
            for (const cJSON *it = params->child; it; it = it->next, n++) {
                if (!valid_param_name(it->string)) {
                    bb_fail_field(e, "params", "parameter names are 1-64 of A-Z a-z 0-9 _ -");
                    break;
                }
                if (!cJSON_IsString(it)) {
                    bb_fail_field(e, "params", "parameter \"%s\" must be a string", it->string);
                    break;
                }
                if (strlen(it->valuestring) > 4096) {
                    bb_fail_field(e, "params", "parameter \"%s\" is longer than 4096 bytes",
                                  it->string);
                    break;
                }
            }
            if (n > 64)
                bb_fail_field(e, "params", "at most 64 parameters");
            params_text = cJSON_PrintUnformatted(params);
        }
    }

    if (e->code != BB_OK) {
        free(params_text);
        job_clear(out);
        return e->code;
    }
    int64_t file_id = out->file_id;
    out->state = JOB_QUEUED;
    out->preset = strdup(preset->id);
    out->md = bb_strdup_or_null(md);
    out->upload = strdup(upload ? upload : "auto");
    out->voice_accent = bb_strdup_or_null(accent);
    out->notion_database = bb_strdup_or_null(notion);
    out->mode = strdup(mode ? mode : "auto");
    out->priority = priority;
    out->params = params_text ? params_text : strdup("{}");
    out->max_attempts = preset->max_attempts;
    out->file_id = file_id;
    if (!out->preset || !out->upload || !out->mode || !out->params) {
        job_clear(out);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    return BB_OK;
}

static int store_error(bb_errctx *e, int rc, const char *what)
{
    switch (rc) {
    case BB_ENOTFOUND: return bb_fail(e, BB_ENOTFOUND, "no such job");
    case BB_ESTATE: return bb_fail(e, BB_ESTATE, "%s", what);
    case BB_EUNAVAIL: return bb_fail(e, BB_EUNAVAIL, "the server is shutting down");
    case BB_ECONFLICT: return bb_fail(e, BB_ECONFLICT, "%s", what);
    default: return bb_fail(e, rc ? (enum bb_err)rc : BB_EIO, "database error");
    }
}

int svc_job_submit(bb_app *app, const struct principal *who, const cJSON *body,
                   const char *idem_key, const char *raw, size_t raw_len, int64_t *id,
                   bool *existed, bb_errctx *e)
{
    *existed = false;
    if (idem_key) {
        size_t n = strlen(idem_key);
        bool ok = n > 0 && n <= 200;
        for (size_t i = 0; ok && i < n; i++)
            ok = idem_key[i] > 0x20 && idem_key[i] < 0x7f;
        if (!ok)
            return bb_fail_field(e, "Idempotency-Key", "must be 1-200 printable ASCII characters");
    }
    job j;
    int rc = svc_job_from_request(app, body, &j, e);
    if (rc != BB_OK)
        return rc;
    j.owner_id = who ? who->user_id : 0;
    if (j.file_id) {
        file_rec f;
        if (repo_file_get(app->db, j.file_id, principal_scope(who), &f) != BB_OK) {
            job_clear(&j);
            return bb_fail_field(e, "md", "no such upload: upl_%lld", (long long)j.file_id);
        }
        file_rec_clear(&f);
    }
    char hash_hex[crypto_hash_sha256_BYTES * 2 + 1] = "";
    if (idem_key) {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)(raw ? raw : ""), raw ? raw_len : 0);
        sodium_bin2hex(hash_hex, sizeof hash_hex, h, sizeof h);
    }
    rc = repo_job_submit(app->db, &j, idem_key, idem_key ? hash_hex : NULL, existed);
    *id = j.id;
    job_clear(&j);
    if (rc != BB_OK)
        return store_error(e, rc,
                           "this Idempotency-Key was already used with a different request body");
    if (!*existed && app->pool)
        pool_wake(app->pool);
    return BB_OK;
}

int svc_job_get(bb_app *app, const struct principal *who, int64_t id, job *out, bb_errctx *e)
{
    int rc = repo_job_get(app->db, id, principal_scope(who), out);
    return rc == BB_OK ? BB_OK : store_error(e, rc, "");
}

int svc_job_filter(const bb_app *app, const struct principal *who, const char *state,
                   const char *preset, const char *q, const char *limit, const char *cursor,
                   struct job_filter *f, bb_errctx *e)
{
    (void)app;
    memset(f, 0, sizeof *f);
    f->owner_scope = principal_scope(who);
    f->limit = 50;
    if (state && *state) {
        if (job_state_parse(state, &f->state) != 0)
            bb_fail_field(e, "state", "must be one of queued, running, succeeded, failed, canceled");
        f->has_state = true;
    }
    if (preset && *preset)
        f->preset = preset;
    if (q && *q) {
        if (strlen(q) > 200)
            bb_fail_field(e, "q", "at most 200 characters");
        f->q = q;
    }
    if (limit && *limit) {
        int64_t v;
        if (bb_parse_i64(limit, &v) != 0 || v < 1 || v > 200)
            bb_fail_field(e, "limit", "must be an integer from 1 to 200");
        else
            f->limit = (int)v;
    }
    if (cursor && *cursor) {
        int64_t v;
        if (bb_parse_i64(cursor, &v) != 0 || v < 1)
            bb_fail_field(e, "cursor", "is not a cursor this server issued");
        else
            f->before_id = v;
    }
    return e->code;
}

/* Rejects members of payload other than the allowed ones. */
static void check_payload_keys(const cJSON *payload, const char *const *allowed, size_t n,
                               bb_errctx *e)
{
    for (const cJSON *it = payload ? payload->child : NULL; it; it = it->next) {
        if (!it->string || !in_list(it->string, allowed, n)) {
            char field[96];
            snprintf(field, sizeof field, "payload.%.80s", it->string ? it->string : "?");
            bb_fail_field(e, field, "unknown field for this action");
        }
    }
}

static cJSON *action_reply(int64_t id, const char *type, const char *message, int64_t new_id)
{
    cJSON *r = cJSON_CreateObject();
    char idbuf[24], ts[32];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)(new_id ? new_id : id));
    bb_iso8601(bb_now_ms(), ts);
    cJSON_AddBoolToObject(r, "success", 1);
    cJSON_AddStringToObject(r, "message", message);
    cJSON_AddStringToObject(r, "jobId", idbuf);
    cJSON_AddStringToObject(r, "actionType", type);
    cJSON_AddStringToObject(r, "timestamp", ts);
    return r;
}

/* rerun_audio {voiceId?, voiceAccent?, forceTts?}: a new job with
 * parentJobId = parent that redoes the audio from the parent's saved
 * lesson (its lesson.md artifact); the parent is not touched.  The child
 * belongs to the parent's owner and publishes nothing to Notion (the
 * parent's page already exists).  *child gets the new id. */
static int rerun_audio(bb_app *app, const job *parent, const cJSON *payload, int64_t *child,
                       bb_errctx *e)
{
    static const char *const allowed[] = {"voiceId", "voiceAccent", "forceTts"};
    check_payload_keys(payload, allowed, 3, e);
    const char *voice_id = payload ? bb_json_opt_string(payload, "voiceId", e) : NULL;
    const char *accent = payload ? bb_json_opt_string(payload, "voiceAccent", e) : NULL;
    bool force = payload ? opt_bool(payload, "forceTts", false, e) : false;
    const bb_voice *voice = NULL;
    if (voice_id && !(voice = config_voice(app->cfg, voice_id)))
        bb_fail_field(e, "payload.voiceId", "unknown voice \"%.64s\"", voice_id);
    if (accent && !config_has_accent(app->cfg, accent))
        bb_fail_field(e, "payload.voiceAccent", "unknown voice accent \"%.64s\"", accent);
    if (voice && accent && strcmp(voice->accent, accent) != 0)
        bb_fail_field(e, "payload.voiceId", "voice \"%s\" has the accent \"%s\", not \"%s\"",
                      voice->id, voice->accent, accent);
    if (e->code != BB_OK)
        return e->code;
    const bb_preset *p = config_preset(app->cfg, parent->preset);
    if (!p || p->workflow != BB_WF_LESSON)
        return bb_fail(e, BB_ESTATE, "rerun_audio needs a lesson job; job %lld ran preset \"%s\"",
                       (long long)parent->id, parent->preset ? parent->preset : "?");
    if (parent->state != JOB_SUCCEEDED)
        return bb_fail(e, BB_ESTATE, "rerun_audio needs a finished lesson job; job %lld is %s",
                       (long long)parent->id, job_state_name(parent->state));
    struct artifact_rec saved;
    if (repo_artifact_get(app->db, parent->id, "lesson.md", &saved) != BB_OK)
        return bb_fail(e, BB_ESTATE, "job %lld kept no lesson.md to redo the audio from",
                       (long long)parent->id);
    repo_artifact_clear(&saved);

    job c;
    memset(&c, 0, sizeof c);
    c.owner_id = parent->owner_id;
    c.preset = strdup(parent->preset);
    c.md = bb_strdup_or_null(parent->md);
    c.input_path = bb_strdup_or_null(parent->input_path);
    c.file_id = parent->file_id;
    c.with_tts = true;
    c.force_tts = force;
    c.upload = strdup(parent->upload ? parent->upload : "auto");
    c.voice_accent = bb_strdup_or_null(voice ? voice->accent : accent ? accent
                                                                  : parent->voice_accent);
    c.voice_id = bb_strdup_or_null(voice_id);
    c.mode = strdup(parent->mode ? parent->mode : "auto");
    c.priority = parent->priority;
    c.params = strdup(parent->params ? parent->params : "{}");
    c.max_attempts = p->max_attempts;
    c.parent_job_id = parent->id;
    c.state = JOB_QUEUED;
    if (!c.preset || !c.upload || !c.mode || !c.params) {
        job_clear(&c);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    bool existed = false;
    int rc = repo_job_submit(app->db, &c, NULL, NULL, &existed);
    *child = c.id;
    job_clear(&c);
    if (rc != BB_OK)
        return store_error(e, rc, "");
    if (app->pool)
        pool_wake(app->pool);
    return BB_OK;
}

int svc_job_action(bb_app *app, const struct principal *who, int64_t id, const cJSON *body,
                   cJSON **reply, int *status, bb_errctx *e)
{
    *reply = NULL;
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "type") != 0 && strcmp(it->string, "payload") != 0))
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(body, "type");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(body, "payload");
    if (!tv || !cJSON_IsString(tv))
        bb_fail_field(e, "type", "is required: one of cancel, retry, edit_metadata, rerun_audio");
    if (payload && !cJSON_IsNull(payload) && !cJSON_IsObject(payload))
        bb_fail_field(e, "payload", "must be an object");
    if (e->code != BB_OK)
        return e->code;
    if (payload && cJSON_IsNull(payload))
        payload = NULL;
    const char *type = tv->valuestring;
    int64_t scope = principal_scope(who);

    /* The job must exist for the caller before anything else is said. */
    job j;
    int rc = repo_job_get(app->db, id, scope, &j);
    if (rc != BB_OK)
        return store_error(e, rc, "");

    if (strcmp(type, "cancel") == 0) {
        static const char *const allowed[] = {"reason"};
        check_payload_keys(payload, allowed, 1, e);
        const char *reason = payload ? bb_json_opt_string(payload, "reason", e) : NULL;
        if (reason && strlen(reason) > 200)
            bb_fail_field(e, "payload.reason", "at most 200 characters");
        if (e->code == BB_OK) {
            enum cancel_outcome oc;
            rc = repo_job_cancel(app->db, id, scope, reason, &oc);
            if (rc != BB_OK) {
                store_error(e, rc, "the job has already finished");
            } else {
                if (oc == CANCEL_REQUESTED && app->pool)
                    pool_cancel(app->pool, id);
                *reply = action_reply(id, type, oc == CANCEL_DONE
                                                     ? "job canceled"
                                                     : "cancel requested: the job is stopping",
                                      0);
                *status = 200;
            }
        }
    } else if (strcmp(type, "retry") == 0) {
        check_payload_keys(payload, NULL, 0, e);
        if (e->code == BB_OK) {
            const bb_preset *p = config_preset(app->cfg, j.preset);
            rc = repo_job_retry(app->db, id, scope, p ? p->max_attempts : 1);
            if (rc != BB_OK) {
                store_error(e, rc, "only failed or canceled jobs can be retried");
            } else {
                if (app->pool)
                    pool_wake(app->pool);
                *reply = action_reply(id, type, "job queued again", 0);
                *status = 202;
            }
        }
    } else if (strcmp(type, "edit_metadata") == 0) {
        static const char *const allowed[] = {"preset", "notionDatabase"};
        check_payload_keys(payload, allowed, 2, e);
        const char *preset = payload ? bb_json_opt_string(payload, "preset", e) : NULL;
        const cJSON *nv = payload ? cJSON_GetObjectItemCaseSensitive(payload, "notionDatabase") : NULL;
        const char *notion = NULL;
        const bb_preset *p = NULL;
        if (preset && !(p = config_preset(app->cfg, preset)))
            bb_fail_field(e, "payload.preset", "unknown preset \"%.64s\"", preset);
        if (p && p->uses_input && !j.input_path && !j.file_id)
            bb_fail_field(e, "payload.preset", "preset \"%s\" needs an input file and this job has none",
                          preset);
        if (nv && cJSON_IsNull(nv)) {
            notion = "";
        } else if (nv && !cJSON_IsString(nv)) {
            bb_fail_field(e, "payload.notionDatabase", "must be a string or null");
        } else if (nv) {
            notion = nv->valuestring;
            if (!config_notion_db(app->cfg, notion))
                bb_fail_field(e, "payload.notionDatabase", "unknown Notion database \"%.64s\"",
                              notion);
        }
        if (e->code == BB_OK && !preset && !nv)
            bb_fail_field(e, "payload", "give preset and/or notionDatabase");
        if (e->code == BB_OK) {
            rc = repo_job_edit(app->db, id, scope, preset, p ? p->max_attempts : 0, notion);
            if (rc != BB_OK) {
                store_error(e, rc, "a running job cannot be edited");
            } else {
                *reply = action_reply(id, type, "job updated", 0);
                *status = 200;
            }
        }
    } else if (strcmp(type, "rerun_audio") == 0) {
        int64_t child = 0;
        if (rerun_audio(app, &j, payload, &child, e) == BB_OK) {
            char msg[96];
            snprintf(msg, sizeof msg, "audio rerun queued as job %lld", (long long)child);
            *reply = action_reply(id, type, msg, child);
            *status = 202;
        }
    } else {
        bb_fail_field(e, "type", "unknown action \"%.64s\": one of cancel, retry, "
                                 "edit_metadata, rerun_audio", type);
    }
    job_clear(&j);
    return e->code;
}

static void add_action(cJSON *arr, const char *type, const char *label, const char *desc,
                       const char *const *fields, size_t nfields, bool implemented)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", type);
    cJSON_AddStringToObject(a, "label", label);
    cJSON_AddStringToObject(a, "description", desc);
    cJSON *f = cJSON_AddArrayToObject(a, "requiresFields");
    for (size_t i = 0; i < nfields; i++)
        cJSON_AddItemToArray(f, cJSON_CreateString(fields[i]));
    cJSON_AddBoolToObject(a, "implemented", implemented);
    cJSON_AddItemToArray(arr, a);
}

cJSON *svc_job_options(const bb_app *app)
{
    const bb_config *cfg = app->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON *presets = cJSON_AddArrayToObject(o, "presets");
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *p = &cfg->presets[i];
        cJSON *po = cJSON_CreateObject();
        cJSON_AddStringToObject(po, "id", p->id);
        cJSON_AddStringToObject(po, "label", p->label);
        cJSON_AddStringToObject(po, "workflow", config_workflow_name(p->workflow));
        cJSON_AddBoolToObject(po, "requiresInput", p->uses_input);
        cJSON_AddNumberToObject(po, "maxAttempts", p->max_attempts);
        cJSON_AddNumberToObject(po, "timeoutSec", p->timeout_sec);
        cJSON_AddNumberToObject(po, "concurrency", p->concurrency);
        cJSON *pn = cJSON_AddArrayToObject(po, "params");
        for (size_t k = 0; k < p->argc; k++) {
            for (const char *s = strstr(p->argv[k], "{param."); s; s = strstr(s + 1, "{param.")) {
                const char *end = strchr(s, '}');
                if (!end)
                    break;
                char name[72];
                snprintf(name, sizeof name, "%.*s", (int)(end - s - 7), s + 7);
                bool dup = false;
                for (const cJSON *it = pn->child; it; it = it->next)
                    dup |= strcmp(it->valuestring, name) == 0;
                if (!dup)
                    cJSON_AddItemToArray(pn, cJSON_CreateString(name));
            }
        }
        if (p->workflow == BB_WF_LESSON) {
            cJSON *d = cJSON_AddObjectToObject(po, "defaults");
            cJSON_AddBoolToObject(d, "withTts", p->defaults.with_tts);
            const char *acc = p->defaults.voice_accent ? p->defaults.voice_accent
                              : cfg->nvoices            ? cfg->voices[0].accent
                                                        : NULL;
            add_str_or_null(d, "voiceAccent", acc);
            cJSON_AddStringToObject(d, "mode", p->defaults.mode);
            cJSON_AddStringToObject(d, "upload", p->defaults.upload);
            add_str_or_null(d, "notionDatabase", p->defaults.notion_database);
            cJSON_AddNumberToObject(po, "gapMs", p->gap_ms);
        }
        cJSON_AddItemToArray(presets, po);
    }
    cJSON *voices = cJSON_AddArrayToObject(o, "voices");
    cJSON *accents = cJSON_AddArrayToObject(o, "voiceAccents");
    for (size_t i = 0; i < cfg->nvoices; i++) {
        const bb_voice *v = &cfg->voices[i];
        cJSON *vo = cJSON_CreateObject();
        cJSON_AddStringToObject(vo, "id", v->id);
        cJSON_AddStringToObject(vo, "label", v->label);
        cJSON_AddStringToObject(vo, "accent", v->accent);
        add_str_or_null(vo, "gender", v->gender);
        cJSON_AddStringToObject(vo, "provider", v->provider);
        cJSON_AddStringToObject(vo, "providerVoice", v->provider_voice);
        cJSON_AddItemToArray(voices, vo);
        bool dup = false;
        for (const cJSON *it = accents->child; it; it = it->next)
            dup |= strcmp(it->valuestring, v->accent) == 0;
        if (!dup)
            cJSON_AddItemToArray(accents, cJSON_CreateString(v->accent));
    }
    cJSON *dbs = cJSON_AddArrayToObject(o, "notionDatabases");
    for (size_t i = 0; i < cfg->nnotion_dbs; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", cfg->notion_dbs[i].id);
        cJSON_AddStringToObject(d, "name", cfg->notion_dbs[i].name);
        cJSON_AddItemToArray(dbs, d);
    }
    static const char *const with_s3[] = {"auto", "none", "s3"};
    cJSON_AddItemToObject(o, "uploadOptions",
                          cJSON_CreateStringArray(app->s3_store ? with_s3 : uploads,
                                                  app->s3_store ? 3 : 2));
    cJSON_AddStringToObject(o, "storage", app->s3_store ? "s3" : "fs");
    cJSON_AddItemToObject(o, "modes", cJSON_CreateStringArray(modes, 3));
    cJSON *acts = cJSON_AddArrayToObject(o, "supportedActions");
    static const char *const reason[] = {"reason"};
    static const char *const edit[] = {"preset", "notionDatabase"};
    static const char *const rerun[] = {"voiceId", "voiceAccent", "forceTts"};
    add_action(acts, "cancel", "Cancel", "Stop a queued or running job.", reason, 1, true);
    add_action(acts, "retry", "Retry", "Queue a failed or canceled job again.", NULL, 0, true);
    add_action(acts, "edit_metadata", "Edit metadata",
               "Change the preset or Notion database of a job that is not running.", edit, 2,
               true);
    add_action(acts, "rerun_audio", "Regenerate audio",
               "Redo the audio of a finished lesson job as a new job, with another voice or "
               "accent, or bypassing the TTS cache; the original job stays as it is.",
               rerun, 3, true);
    /* whether a job naming a database really publishes (else it logs a skip) */
    cJSON_AddBoolToObject(o, "notionConfigured", app->notion_token != NULL);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(lim, "maxUploadBytes", (double)cfg->limits.max_upload_bytes);
    cJSON_AddNumberToObject(lim, "maxBodyBytes", (double)cfg->limits.max_body_bytes);
    cJSON_AddNumberToObject(lim, "userQuotaBytes", (double)cfg->limits.user_quota_bytes);
    cJSON_AddNumberToObject(lim, "maxPriority", 1000);
    cJSON_AddNumberToObject(lim, "minPriority", -1000);
    return o;
}

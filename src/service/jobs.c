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
#include "domain/params.h"
#include "infra/db/repo_file.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "service/batches.h"
#include "util/bb_assert.h"
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
    /* A path that does not exist and one that resolves outside the root
     * get the same answer: it must not tell whether a file exists
     * elsewhere on the server. */
    char real[PATH_MAX];
    size_t rl = strlen(root);
    if (!realpath(joined, real) || strncmp(real, root, rl) != 0 ||
        (real[rl] != '/' && rl != 1)) {
        bb_fail_field(e, "md", "no such file in the input root: %s", md);
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

/* What a `file` param's check needs: the app, and the caller when known
 * (then an upload must be theirs). */
struct file_check {
    const bb_app *app;
    const struct principal *who;
};

/* params_env.check_file: an upload id the caller may read (when known),
 * or a regular file inside the input root (the same checks as md). */
static int check_param_file(void *ud, const char *value, char *msg, size_t msglen)
{
    const struct file_check *fc = ud;
    if (strncmp(value, "upl_", 4) == 0) {
        int64_t fid;
        if (bb_parse_i64(value + 4, &fid) != 0 || fid < 1) {
            snprintf(msg, msglen, "\"%.40s\" is not an upload id", value);
            return -1;
        }
        if (!fc->who)
            return 0;
        file_rec f;
        if (repo_file_get(fc->app->db, fid, principal_scope(fc->who), &f) != BB_OK) {
            snprintf(msg, msglen, "no such upload: %.40s", value);
            return -1;
        }
        file_rec_clear(&f);
        return 0;
    }
    bb_errctx pe = {0};
    char *real = svc_resolve_input(fc->app->cfg, value, &pe);
    free(real);
    if (real == NULL) {
        const cJSON *m = pe.fields ? cJSON_GetObjectItemCaseSensitive(pe.fields, "md") : NULL;
        snprintf(msg, msglen, "%s", cJSON_IsString(m) ? m->valuestring : pe.message);
        bb_err_clear(&pe);
        return -1;
    }
    bb_err_clear(&pe);
    return 0;
}

int svc_params_resolve(const bb_app *app, const struct principal *who, const bb_preset *p,
                       const cJSON *in, cJSON **out, bb_errctx *e)
{
    struct file_check fc = {.app = app, .who = who};
    params_env env = {.cfg = app->cfg, .check_file = check_param_file, .ud = &fc};
    return params_resolve(p, in, &env, out, e);
}

/* The uploads a job's `file` params name must be the caller's (checked
 * here, where the caller is known; md's upload is checked alike). */
static int check_param_uploads(const bb_app *app, const struct principal *who,
                               const job *j, bb_errctx *e)
{
    const bb_preset *p = config_preset(app->cfg, j->preset);
    cJSON *vals = p ? cJSON_Parse(j->params ? j->params : "{}") : NULL;
    struct file_check fc = {.app = app, .who = who};
    for (size_t i = 0; vals && i < p->nparams; i++) {
        const bb_param *prm = &p->params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(vals, prm->name);
        char msg[160];
        if (prm->type != BB_PT_FILE || !cJSON_IsString(v) ||
            strncmp(v->valuestring, "upl_", 4) != 0 ||
            check_param_file(&fc, v->valuestring, msg, sizeof msg) == 0)
            continue;
        char field[80];
        snprintf(field, sizeof field, "params.%s", prm->name);
        bb_fail_field(e, field, "%s", msg);
    }
    cJSON_Delete(vals);
    return e->code;
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

    /* typed params (docs/parameters.md): checked, defaults filled, random
     * seeds drawn; upload ownership is checked in svc_job_submit */
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "params");
    char *params_text = NULL;
    if (preset) {
        cJSON *resolved = NULL;
        if (svc_params_resolve(app, NULL, preset, params, &resolved, e) == BB_OK) {
            params_text = params_exact_numbers(resolved) ? cJSON_PrintUnformatted(resolved)
                                                         : NULL;
            cJSON_Delete(resolved);
            if (!params_text)
                bb_fail(e, BB_EINTERNAL, "out of memory");
        }
    } else if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) {
        bb_fail_field(e, "params", "must be an object");
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

/* Checks an Idempotency-Key and hashes the raw body it guards into hex
 * (65 bytes); without a key, hex is "". */
static int idem_hash(const char *idem_key, const char *raw, size_t raw_len, char *hex,
                     bb_errctx *e)
{
    hex[0] = '\0';
    if (!idem_key)
        return BB_OK;
    size_t n = strlen(idem_key);
    bool ok = n > 0 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = idem_key[i] > 0x20 && idem_key[i] < 0x7f;
    if (!ok)
        return bb_fail_field(e, "Idempotency-Key", "must be 1-200 printable ASCII characters");
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)(raw ? raw : ""), raw ? raw_len : 0);
    sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
    return BB_OK;
}

int svc_job_quota_check(bb_app *app, const struct principal *who, bb_errctx *e)
{
    /* Artifacts and logs count in the quota (docs/operations.md): a user
     * who has used it all up cannot start more work. */
    int64_t used = 0;
    if (who && who->user_id && repo_file_usage(app->db, who->user_id, &used) == BB_OK &&
        used >= app->cfg->limits.user_quota_bytes)
        return bb_fail(e, BB_ETOOLARGE,
                       "your storage quota of %lld bytes is used up (uploads, job artifacts "
                       "and logs count): delete uploads to make room",
                       (long long)app->cfg->limits.user_quota_bytes);
    return BB_OK;
}

int svc_job_check_upload(bb_app *app, const struct principal *who, const job *j,
                         const char *field, bb_errctx *e)
{
    if (j->file_id) {
        file_rec f;
        if (repo_file_get(app->db, j->file_id, principal_scope(who), &f) != BB_OK)
            return bb_fail_field(e, field, "no such upload: upl_%lld", (long long)j->file_id);
        file_rec_clear(&f);
    }
    return check_param_uploads(app, who, j, e);
}

int svc_job_submit(bb_app *app, const struct principal *who, const cJSON *body,
                   const char *idem_key, const char *raw, size_t raw_len, int64_t *id,
                   bool *existed, bb_errctx *e)
{
    *existed = false;
    char hash_hex[crypto_hash_sha256_BYTES * 2 + 1];
    if (idem_hash(idem_key, raw, raw_len, hash_hex, e) != BB_OK)
        return e->code;
    if (cJSON_IsObject(body) && cJSON_GetObjectItemCaseSensitive(body, "sweep"))
        return svc_batch_submit(app, who, body, idem_key, idem_key ? hash_hex : NULL, id,
                                existed, e);
    job j;
    int rc = svc_job_from_request(app, body, &j, e);
    if (rc != BB_OK)
        return rc;
    j.owner_id = who ? who->user_id : 0;
    if (svc_job_quota_check(app, who, e) != BB_OK ||
        svc_job_check_upload(app, who, &j, "md", e) != BB_OK) {
        job_clear(&j);
        return e->code;
    }
    rc = repo_job_submit(app->db, &j, idem_key, idem_key ? hash_hex : NULL, existed);
    *id = j.id;
    job_clear(&j);
    if (rc != BB_OK)
        return svc_store_error(e, rc);
    if (!*existed && app->pool)
        pool_wake(app->pool);
    return BB_OK;
}

int svc_store_error(bb_errctx *e, int rc)
{
    return store_error(e, rc, "this Idempotency-Key was already used with a different request "
                              "body");
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
            bb_fail_field(e, "state",
                          "must be one of queued, running, succeeded, failed, canceled");
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

/* ---- job actions ----------------------------------------------------------
 *
 * One table (job_actions[] below) says everything about an action: its
 * name, the label and description the UI shows, the payload members it
 * takes, the states it is allowed in, the state it moves the job to, and
 * its two steps.  svc_job_action runs a request through the row:
 *   1. the payload's members against fields (unknown ones are 400s);
 *   2. check: validate the payload (400 field errors) and what the row's
 *      state set cannot say (rerun_audio: a lesson job that kept lesson.md);
 *   3. the state: "action X is not allowed in state Y" (422) unless the
 *      job's state is in allowed; a state change is asserted against the
 *      domain state machine (job_transition_ok);
 *   4. apply: the one repository call (its transaction checks the state
 *      again, so a race still ends as the same 422) and the reply text.
 * svc_job_options lists the same rows as supportedActions. */

/* One action request on its way through the steps above.  Everything is
 * borrowed from svc_job_action's frame. */
struct action_call {
    bb_app *app;
    const struct principal *who;
    int64_t scope;                 /* principal_scope of the caller */
    const job *j;                  /* the job as loaded before the action */
    const cJSON *payload;          /* object or NULL */
    bb_errctx *e;
    /* parsed by check, used by apply */
    const char *reason;            /* cancel */
    const char *preset, *notion;   /* edit_metadata; notion "" = clear */
    const bb_preset *p;
    const char *voice_id, *accent; /* rerun_audio */
    const bb_voice *voice;
    bool force;
    /* set by apply */
    int status;                    /* 200 or 202 */
    char message[96];
    int64_t new_id;                /* the job the reply names, 0 = this one */
};

struct job_action {
    const char *type;              /* the request's "type" */
    const char *label;             /* button text */
    const char *description;       /* one sentence for the UI */
    const char *const *fields;     /* payload members, NULL-terminated */
    job_state_set allowed;         /* states of the job it is allowed in */
    int target;                    /* enum job_state it moves the job to, -1 = none */
    int (*check)(struct action_call *c);  /* NULL = nothing to check */
    int (*apply)(struct action_call *c);
};

/* Rejects members of the payload the action does not take. */
static void check_payload_keys(const cJSON *payload, const char *const *fields, bb_errctx *e)
{
    for (const cJSON *it = payload ? payload->child : NULL; it; it = it->next) {
        bool known = false;
        for (const char *const *f = fields; it->string && f && *f && !known; f++)
            known = strcmp(*f, it->string) == 0;
        if (!known) {
            char field[96];
            snprintf(field, sizeof field, "payload.%.80s", it->string ? it->string : "?");
            bb_fail_field(e, field, "unknown field for this action");
        }
    }
}

/* The 422 of an action asked for in a state it is not allowed in. */
static int state_refused(const struct job_action *a, enum job_state s, bb_errctx *e)
{
    char allowed[80];
    job_state_set_names(a->allowed, allowed, sizeof allowed);
    return bb_fail(e, BB_ESTATE, "action \"%s\" is not allowed in state %s (only in %s)",
                   a->type, job_state_name(s), allowed);
}

/* Maps the repository's answer to an action's change (when apply did not
 * say more itself): its BB_ESTATE (the
 * state moved since the job was loaded) becomes the message of
 * state_refused with the state the job is in now. */
static int apply_error(const struct action_call *c, const struct job_action *a, int rc)
{
    if (rc != BB_ESTATE)
        return store_error(c->e, rc, "");
    job now;
    enum job_state s = c->j->state;
    if (repo_job_get(c->app->db, c->j->id, c->scope, &now) == BB_OK) {
        s = now.state;
        job_clear(&now);
    }
    return state_refused(a, s, c->e);
}

static int cancel_check(struct action_call *c)
{
    c->reason = c->payload ? bb_json_opt_string(c->payload, "reason", c->e) : NULL;
    if (c->reason && strlen(c->reason) > 200)
        bb_fail_field(c->e, "payload.reason", "at most 200 characters");
    return c->e->code;
}

static int cancel_apply(struct action_call *c)
{
    c->status = 200;
    if (job_is_batch(c->j))
        return svc_batch_cancel(c->app, c->who, c->j->id, c->reason, c->message,
                                sizeof c->message, c->e);
    enum cancel_outcome oc;
    int rc = repo_job_cancel(c->app->db, c->j->id, c->scope, c->reason, &oc);
    if (rc != BB_OK)
        return rc;
    if (oc == CANCEL_REQUESTED && c->app->pool)
        pool_cancel(c->app->pool, c->j->id);
    snprintf(c->message, sizeof c->message, "%s",
             oc == CANCEL_DONE ? "job canceled" : "cancel requested: the job is stopping");
    c->status = 200;
    return BB_OK;
}

static int retry_apply(struct action_call *c)
{
    c->status = 202;
    if (job_is_batch(c->j))
        return svc_batch_retry(c->app, c->who, c->j, c->message, sizeof c->message, c->e);
    const bb_preset *p = config_preset(c->app->cfg, c->j->preset);
    int rc = repo_job_retry(c->app->db, c->j->id, c->scope, p ? p->max_attempts : 1);
    if (rc != BB_OK)
        return rc;
    if (c->app->pool)
        pool_wake(c->app->pool);
    snprintf(c->message, sizeof c->message, "job queued again");
    c->status = 202;
    return BB_OK;
}

static int edit_check(struct action_call *c)
{
    bb_errctx *e = c->e;
    const cJSON *nv = c->payload ? cJSON_GetObjectItemCaseSensitive(c->payload, "notionDatabase")
                                 : NULL;
    c->preset = c->payload ? bb_json_opt_string(c->payload, "preset", e) : NULL;
    if (c->preset && !(c->p = config_preset(c->app->cfg, c->preset)))
        bb_fail_field(e, "payload.preset", "unknown preset \"%.64s\"", c->preset);
    if (c->p && c->p->uses_input && !c->j->input_path && !c->j->file_id)
        bb_fail_field(e, "payload.preset",
                      "preset \"%s\" needs an input file and this job has none", c->preset);
    if (nv && cJSON_IsNull(nv)) {
        c->notion = "";
    } else if (nv && !cJSON_IsString(nv)) {
        bb_fail_field(e, "payload.notionDatabase", "must be a string or null");
    } else if (nv) {
        c->notion = nv->valuestring;
        if (!config_notion_db(c->app->cfg, c->notion))
            bb_fail_field(e, "payload.notionDatabase", "unknown Notion database \"%.64s\"",
                          c->notion);
    }
    if (e->code == BB_OK && !c->preset && !nv)
        bb_fail_field(e, "payload", "give preset and/or notionDatabase");
    return e->code;
}

static int edit_apply(struct action_call *c)
{
    int rc = repo_job_edit(c->app->db, c->j->id, c->scope, c->preset,
                           c->p ? c->p->max_attempts : 0, c->notion);
    if (rc != BB_OK)
        return rc;
    snprintf(c->message, sizeof c->message, "job updated");
    c->status = 200;
    return BB_OK;
}

/* rerun_audio {voiceId?, voiceAccent?, forceTts?}: the payload, then the
 * parent must be a lesson job that kept its lesson.md. */
static int rerun_check(struct action_call *c)
{
    bb_errctx *e = c->e;
    const job *parent = c->j;
    c->voice_id = c->payload ? bb_json_opt_string(c->payload, "voiceId", e) : NULL;
    c->accent = c->payload ? bb_json_opt_string(c->payload, "voiceAccent", e) : NULL;
    c->force = c->payload ? opt_bool(c->payload, "forceTts", false, e) : false;
    if (c->voice_id && !(c->voice = config_voice(c->app->cfg, c->voice_id)))
        bb_fail_field(e, "payload.voiceId", "unknown voice \"%.64s\"", c->voice_id);
    if (c->accent && !config_has_accent(c->app->cfg, c->accent))
        bb_fail_field(e, "payload.voiceAccent", "unknown voice accent \"%.64s\"", c->accent);
    if (c->voice && c->accent && strcmp(c->voice->accent, c->accent) != 0)
        bb_fail_field(e, "payload.voiceId", "voice \"%s\" has the accent \"%s\", not \"%s\"",
                      c->voice->id, c->voice->accent, c->accent);
    if (e->code != BB_OK)
        return e->code;
    const bb_preset *p = config_preset(c->app->cfg, parent->preset);
    if (!p || p->workflow != BB_WF_LESSON)
        return bb_fail(e, BB_ESTATE, "rerun_audio needs a lesson job; job %lld ran preset \"%s\"",
                       (long long)parent->id, parent->preset ? parent->preset : "?");
    if (parent->state != JOB_SUCCEEDED)
        return BB_OK;   /* the state step answers */
    struct artifact_rec saved;
    if (repo_artifact_get(c->app->db, parent->id, "lesson.md", &saved) != BB_OK)
        return bb_fail(e, BB_ESTATE, "job %lld kept no lesson.md to redo the audio from",
                       (long long)parent->id);
    repo_artifact_clear(&saved);
    return BB_OK;
}

/* A new job with parentJobId = the parent that redoes the audio from the
 * parent's saved lesson (its lesson.md artifact); the parent is not
 * touched.  The child belongs to the parent's owner and publishes nothing
 * to Notion (the parent's page already exists). */
static int rerun_apply(struct action_call *c)
{
    const job *parent = c->j;
    const bb_preset *p = config_preset(c->app->cfg, parent->preset);
    job ch;
    memset(&ch, 0, sizeof ch);
    ch.owner_id = parent->owner_id;
    ch.preset = strdup(parent->preset);
    ch.md = bb_strdup_or_null(parent->md);
    ch.input_path = bb_strdup_or_null(parent->input_path);
    ch.file_id = parent->file_id;
    ch.with_tts = true;
    ch.force_tts = c->force;
    ch.upload = strdup(parent->upload ? parent->upload : "auto");
    ch.voice_accent = bb_strdup_or_null(c->voice    ? c->voice->accent
                                        : c->accent ? c->accent
                                                    : parent->voice_accent);
    ch.voice_id = bb_strdup_or_null(c->voice_id);
    ch.mode = strdup(parent->mode ? parent->mode : "auto");
    ch.priority = parent->priority;
    ch.params = strdup(parent->params ? parent->params : "{}");
    ch.max_attempts = p ? p->max_attempts : 1;
    ch.parent_job_id = parent->id;
    ch.state = JOB_QUEUED;
    if (!ch.preset || !ch.upload || !ch.mode || !ch.params) {
        job_clear(&ch);
        return bb_fail(c->e, BB_EINTERNAL, "out of memory");
    }
    bool existed = false;
    int rc = repo_job_submit(c->app->db, &ch, NULL, NULL, &existed);
    c->new_id = ch.id;
    job_clear(&ch);
    if (rc != BB_OK)
        return rc;
    if (c->app->pool)
        pool_wake(c->app->pool);
    snprintf(c->message, sizeof c->message, "audio rerun queued as job %lld",
             (long long)c->new_id);
    c->status = 202;
    return BB_OK;
}

static const char *const cancel_fields[] = {"reason", NULL};
static const char *const retry_fields[] = {NULL};
static const char *const edit_fields[] = {"preset", "notionDatabase", NULL};
static const char *const rerun_fields[] = {"voiceId", "voiceAccent", "forceTts", NULL};

#define S(x) JOB_STATE_BIT(JOB_##x)
static const struct job_action job_actions[] = {
    {"cancel", "Cancel", "Stop a queued or running job.", cancel_fields,
     S(QUEUED) | S(RUNNING), JOB_CANCELED, cancel_check, cancel_apply},
    {"retry", "Retry", "Queue a failed or canceled job again.", retry_fields,
     S(FAILED) | S(CANCELED), JOB_QUEUED, NULL, retry_apply},
    {"edit_metadata", "Edit metadata",
     "Change the preset or Notion database of a job that is not running.", edit_fields,
     S(QUEUED) | S(SUCCEEDED) | S(FAILED) | S(CANCELED), -1, edit_check, edit_apply},
    {"rerun_audio", "Regenerate audio",
     "Redo the audio of a finished lesson job as a new job, with another voice or "
     "accent, or bypassing the TTS cache; the original job stays as it is.",
     rerun_fields, S(SUCCEEDED), -1, rerun_check, rerun_apply},
};
#undef S
static const size_t njob_actions = sizeof job_actions / sizeof job_actions[0];

/* "cancel, retry, edit_metadata, rerun_audio" into out. */
static void action_names(char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < njob_actions && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", job_actions[i].type);
        if (w < 0)
            return;
        n += (size_t)w;
    }
}

static const struct job_action *find_action(const char *type)
{
    for (size_t i = 0; i < njob_actions; i++)
        if (strcmp(job_actions[i].type, type) == 0)
            return &job_actions[i];
    return NULL;
}

bool svc_job_action_allowed(const char *type, enum job_state s)
{
    const struct job_action *a = find_action(type);
    return a && job_state_in(a->allowed, s);
}

int svc_job_action_target(const char *type)
{
    const struct job_action *a = find_action(type);
    return a ? a->target : -2;
}

const char *svc_job_action_name(size_t i)
{
    return i < njob_actions ? job_actions[i].type : NULL;
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

int svc_job_action(bb_app *app, const struct principal *who, int64_t id, const cJSON *body,
                   cJSON **reply, int *status, bb_errctx *e)
{
    *reply = NULL;
    char names[96];
    action_names(names, sizeof names);
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "type") != 0 && strcmp(it->string, "payload") != 0))
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(body, "type");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(body, "payload");
    if (!tv || !cJSON_IsString(tv))
        bb_fail_field(e, "type", "is required: one of %s", names);
    if (payload && !cJSON_IsNull(payload) && !cJSON_IsObject(payload))
        bb_fail_field(e, "payload", "must be an object");
    if (e->code != BB_OK)
        return e->code;
    if (payload && cJSON_IsNull(payload))
        payload = NULL;

    /* The job must exist for the caller before anything else is said. */
    job j;
    struct action_call c = {.app = app, .who = who, .scope = principal_scope(who), .j = &j,
                            .payload = payload, .e = e};
    int rc = repo_job_get(app->db, id, c.scope, &j);
    if (rc != BB_OK)
        return store_error(e, rc, "");
    const struct job_action *a = find_action(tv->valuestring);
    if (!a) {
        bb_fail_field(e, "type", "unknown action \"%.64s\": one of %s", tv->valuestring, names);
    } else if (job_is_batch(&j) && a->apply != cancel_apply && a->apply != retry_apply) {
        bb_fail(e, BB_ESTATE, "action \"%s\" is not available for a batch: use it on its "
                "children (a batch takes cancel and retry)", a->type);
    } else {
        check_payload_keys(payload, a->fields, e);
        if (e->code == BB_OK && a->check)
            a->check(&c);
        if (e->code == BB_OK && !job_state_in(a->allowed, j.state))
            state_refused(a, j.state, e);
        if (e->code == BB_OK) {
            BB_ASSERT(a->target < 0 || job_transition_ok(j.state, (enum job_state)a->target));
            rc = a->apply(&c);
            if (rc != BB_OK && e->code == BB_OK)
                apply_error(&c, a, rc);
        }
    }
    if (e->code == BB_OK) {
        *reply = action_reply(id, a->type, c.message, c.new_id);
        *status = c.status;
        if (!*reply)
            bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    job_clear(&j);
    return e->code;
}

/* Adds item under key (o takes it); false, with item freed, when it cannot. */
static bool put(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

/* The supportedActions list of job-options: one object per row of
 * job_actions (caller frees); NULL only on OOM. */
static cJSON *actions_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < njob_actions; i++) {
        const struct job_action *a = &job_actions[i];
        int nfields = 0;
        while (a->fields[nfields])
            nfields++;
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o);
        if (!ok)
            cJSON_Delete(o);
        ok = ok && put(o, "type", cJSON_CreateString(a->type)) &&
             put(o, "label", cJSON_CreateString(a->label)) &&
             put(o, "description", cJSON_CreateString(a->description)) &&
             put(o, "requiresFields", cJSON_CreateStringArray(a->fields, nfields)) &&
             put(o, "allowedStates", job_state_set_json(a->allowed)) &&
             put(o, "implemented", cJSON_CreateTrue());
    }
    if (!ok) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

/* A string item, or null for NULL (NULL only on OOM). */
static cJSON *str_or_null(const char *v)
{
    return v ? cJSON_CreateString(v) : cJSON_CreateNull();
}

/* Appends s to the array of strings arr unless it holds it already. */
static void add_unique(cJSON *arr, const char *s)
{
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next)
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return;
    cJSON *item = cJSON_CreateString(s);
    if (!cJSON_AddItemToArray(arr, item))
        cJSON_Delete(item);
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
        /* the full typed schema (docs/parameters.md), sources resolved now */
        cJSON *pn = params_schema_json(cfg, p);
        if (!pn || !cJSON_AddItemToObject(po, "params", pn))
            cJSON_Delete(pn);
        if (p->workflow == BB_WF_LESSON) {
            cJSON *d = cJSON_AddObjectToObject(po, "defaults");
            cJSON_AddBoolToObject(d, "withTts", p->defaults.with_tts);
            const char *acc = p->defaults.voice_accent ? p->defaults.voice_accent
                              : cfg->nvoices            ? cfg->voices[0].accent
                                                        : NULL;
            put(d, "voiceAccent", str_or_null(acc));
            cJSON_AddStringToObject(d, "mode", p->defaults.mode);
            cJSON_AddStringToObject(d, "upload", p->defaults.upload);
            put(d, "notionDatabase", str_or_null(p->defaults.notion_database));
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
        put(vo, "gender", str_or_null(v->gender));
        cJSON_AddStringToObject(vo, "provider", v->provider);
        cJSON_AddStringToObject(vo, "providerVoice", v->provider_voice);
        cJSON_AddItemToArray(voices, vo);
        add_unique(accents, v->accent);
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
    cJSON *acts = actions_json();
    if (!acts || !cJSON_AddItemToObject(o, "supportedActions", acts))
        cJSON_Delete(acts);
    /* whether a job naming a database really publishes (else it logs a skip) */
    cJSON_AddBoolToObject(o, "notionConfigured", app->notion_token != NULL);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(lim, "maxUploadBytes", (double)cfg->limits.max_upload_bytes);
    cJSON_AddNumberToObject(lim, "maxBodyBytes", (double)cfg->limits.max_body_bytes);
    cJSON_AddNumberToObject(lim, "userQuotaBytes", (double)cfg->limits.user_quota_bytes);
    cJSON_AddNumberToObject(lim, "maxPriority", 1000);
    cJSON_AddNumberToObject(lim, "minPriority", -1000);
    cJSON_AddNumberToObject(lim, "maxBatchSize", cfg->limits.max_batch_size);
    return o;
}

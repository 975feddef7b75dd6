/* attempt.c — runs one attempt of a claimed job for any workflow; see
 * attempt.h.  Called on a worker thread; everything allocated here
 * belongs to that call, except the result (struct attempt_out), which the
 * pool hands back to svc_attempt_result_free once recorded. */
#include "service/attempt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "domain/artifact.h"
#include "infra/db/repo_claim.h"
#include "infra/db/repo_file.h"
#include "infra/db/repo_job.h"
#include "infra/exec/workflow.h"
#include "infra/metrics.h"
#include "infra/storage/storage.h"
#include "service/comfy_pool.h"
#include "service/inputs.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/util.h"

#define LOG_BATCH 128
#define LOG_FLUSH_US 50000
#define MAX_LOG_LINES_PER_ATTEMPT 100000
#define MAX_RECORDS 8

/* What the finished job keeps of the values a workflow records
 * (exec_record): the key and the job column it fills.  A key not listed
 * here is ignored. */
static const struct {
    const char *key;
    size_t off;              /* offsetof(struct job_finish, ...) */
} RECORDED[] = {
    {"pageUrl", offsetof(struct job_finish, page_url)},
    {"manifestPath", offsetof(struct job_finish, manifest_path)},
    {"notionUrl", offsetof(struct job_finish, notion_url)},
};

/* The memory behind a pool_result's job_finish. */
struct attempt_out {
    char *error;
    struct artifact_rec *arts;
    size_t narts;
    char *keys[MAX_RECORDS], *values[MAX_RECORDS];
    size_t nrec;
};

void svc_attempt_result_free(void *owned)
{
    struct attempt_out *o = owned;
    if (!o)
        return;
    free(o->error);
    repo_artifacts_free(o->arts, o->narts);
    for (size_t i = 0; i < o->nrec; i++) {
        free(o->keys[i]);
        free(o->values[i]);
    }
    free(o);
}

/* ---- reporting: log lines, progress, records ------------------------------ */

struct run_ctx {
    bb_app *app;
    const job *j;
    struct attempt_out *out;
    struct log_line lines[LOG_BATCH];
    size_t nlines;
    int64_t first_pending_us;
    long total_lines;
    bool truncated;
    int64_t last_progress_us;
};

static void flush_logs(struct run_ctx *rc)
{
    if (!rc->nlines)
        return;
    int err = repo_job_append_logs_capped(rc->app->db, rc->j->id, rc->j->attempts, rc->lines,
                                          rc->nlines, rc->app->cfg->limits.max_log_bytes);
    if (err != BB_OK)
        bb_warn("could not store log lines", "error", bb_err_code((enum bb_err)err));
    for (size_t i = 0; i < rc->nlines; i++)
        free((char *)rc->lines[i].text);
    rc->nlines = 0;
}

static void add_log(struct run_ctx *rc, const char *stream, const char *line, size_t len)
{
    if (rc->total_lines >= MAX_LOG_LINES_PER_ATTEMPT) {
        if (rc->truncated)
            return;
        rc->truncated = true;
        stream = "system";
        line = "[batchbox: log truncated after 100000 lines]";
        len = strlen(line);
    }
    char *text = bb_utf8_sanitize(line, len);
    if (!text)
        return;
    rc->total_lines++;
    rc->lines[rc->nlines].stream = stream;
    rc->lines[rc->nlines].text = text;
    rc->lines[rc->nlines].ts = bb_now_ms();
    if (rc->nlines++ == 0)
        rc->first_pending_us = bb_mono_us();
    if (rc->nlines == LOG_BATCH || bb_mono_us() - rc->first_pending_us > LOG_FLUSH_US)
        flush_logs(rc);
}

/* A "[batchbox: ...]" line of the system stream. */
__attribute__((format(printf, 2, 3)))
static void system_log(struct run_ctx *rc, const char *fmt, ...)
{
    char msg[PATH_MAX + 700];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n > 0)
        add_log(rc, "system", msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

static void on_log_line(void *ud, const char *stream, const char *line, size_t len)
{
    add_log(ud, stream, line, len);
}

/* Records the attempt's process group so a restarted server can end it
 * (docs/operations.md, "Crash recovery").  A failure is logged: the
 * attempt still runs, only that protection is missing. */
static void on_spawned(void *ud, int64_t pgid)
{
    struct run_ctx *rc = ud;
    struct job_proc p = {.job_id = rc->j->id, .attempt = rc->j->attempts, .pgid = pgid};
    if (exec_proc_started(pgid, &p.started) != 0 || exec_boot_id(p.boot_id, sizeof p.boot_id) != 0)
        return;   /* already gone: nothing to record */
    int err = repo_job_proc_set(rc->app->db, &p);
    if (err != BB_OK)
        bb_warn("could not record the attempt's process group", "error",
                bb_err_code((enum bb_err)err));
}

static void on_tick(void *ud)
{
    struct run_ctx *rc = ud;
    if (rc->nlines && bb_mono_us() - rc->first_pending_us > LOG_FLUSH_US)
        flush_logs(rc);
}

static void on_progress(void *ud, double fraction)
{
    struct run_ctx *rc = ud;
    int64_t now = bb_mono_us();
    if (now - rc->last_progress_us < 200000 && fraction < 1.0)
        return;
    rc->last_progress_us = now;
    flush_logs(rc);
    repo_job_set_progress(rc->app->db, rc->j->id, fraction);
}

/* exec_record: keeps a copy of key = value (a repeated key replaces). */
static int on_record(void *ud, const char *key, const char *value)
{
    struct attempt_out *o = ((struct run_ctx *)ud)->out;
    size_t i = 0;
    while (i < o->nrec && strcmp(o->keys[i], key) != 0)
        i++;
    if (i == MAX_RECORDS)
        return -1;
    char *v = strdup(value);
    char *k = i < o->nrec ? o->keys[i] : strdup(key);
    if (!v || !k) {
        free(v);
        if (i == o->nrec)
            free(k);
        return -1;
    }
    if (i < o->nrec)
        free(o->values[i]);
    else
        o->nrec++;
    o->keys[i] = k;
    o->values[i] = v;
    return 0;
}

/* ---- artifacts --------------------------------------------------------- */

/* Lists the regular files at the top of outdir as artifacts (caller frees
 * with repo_artifacts_free).  Skips what cannot be an artifact name. */
static int scan_artifacts(const char *outdir, int64_t job_id, struct artifact_rec **out,
                          size_t *n, struct run_ctx *rc)
{
    *out = NULL;
    *n = 0;
    /* names first: files are renamed below, which must not feed readdir */
    char **names = NULL;
    size_t nnames = 0;
    if (bb_dir_names(outdir, false, SIZE_MAX, &names, &nnames) != 0)
        return errno == ENOENT ? 0 : -1;
    int ret = 0;
    size_t cap = 0;
    for (size_t i = 0; i < nnames && ret == 0; i++) {
        const char *name = names[i];
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", outdir, name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || !bb_utf8_valid(name, strlen(name))) {
            system_log(rc, "[batchbox: %s is not a regular file; not kept as an artifact]", name);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct artifact_rec *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                ret = -1;
                break;
            }
            *out = p;
        }
        struct artifact_rec *a = &(*out)[(*n)++];
        memset(a, 0, sizeof *a);
        char hex[65];
        if (bb_sha256_file(path, hex, &a->size) != 0) {
            ret = -1;
            break;
        }
        /* The storage key: the name made key-safe (no spaces, quotes...),
         * numbered when that changed it so "a b" and "a_b" cannot clash.
         * The file is renamed to match; the original name stays the
         * artifact's name in the database and the URL. */
        char safe[256], key[PATH_MAX];
        store_key_safe_name(name, safe, sizeof safe);
        if (strcmp(safe, name) != 0) {
            char numbered[300], to[PATH_MAX * 2];
            snprintf(numbered, sizeof numbered, "%zu_%s", i, safe);
            store_key_safe_name(numbered, safe, sizeof safe);
            snprintf(to, sizeof to, "%s/%s", outdir, safe);
            if (rename(path, to) != 0) {
                ret = -1;
                break;
            }
        }
        artifact_key(key, sizeof key, job_id, safe);
        a->name = strdup(name);
        a->sha256 = strdup(hex);
        a->content_type = strdup(bb_content_type_for(name));
        a->location = strdup(key);
        a->storage = strdup("fs");
        if (!a->name || !a->sha256 || !a->content_type || !a->location || !a->storage)
            ret = -1;
    }
    bb_strv_free(names, nnames);
    return ret;
}

/* Whether a job's artifacts go to S3: upload "s3", or "auto" when S3 is
 * configured. */
static bool wants_s3(const bb_app *app, const job *j)
{
    if (!app->s3_store || !j->upload)
        return false;
    return strcmp(j->upload, "s3") == 0 || strcmp(j->upload, "auto") == 0;
}

/* The URL of the job's artifact directory, ending in '/', as links in the
 * artifacts should give it: the S3 location, "" for `batchbox run` (files
 * side by side in --out), or this server's artifacts route. */
static void artifact_prefix(const bb_app *app, const job *j, bool s3, char *out, size_t cap)
{
    if (s3) {
        const bb_config *cfg = app->cfg;
        struct artifact_s3 loc = {.endpoint = cfg->storage.s3.endpoint,
                                  .bucket = cfg->storage.s3.bucket,
                                  .https = cfg->storage.s3.https,
                                  .path_style = cfg->storage.s3.path_style};
        char key[64];
        artifact_key(key, sizeof key, j->id, "");
        artifact_s3_url(out, cap, &loc, key);
    } else if (app->relative_urls) {
        out[0] = '\0';
    } else {
        artifact_local_prefix(out, cap, j->id);
    }
}

/* upload: s3 (or auto with S3 configured): copies every artifact to the
 * bucket; only a complete set is recorded as in S3.  EXEC_OK, or the
 * failure with error and *retryable set. */
static enum exec_result upload_artifacts(bb_app *app, struct attempt_out *o, const char *outdir,
                                         atomic_bool *cancel, struct run_ctx *rc, char *error,
                                         size_t errcap, bool *retryable)
{
    struct store_err se = {0};
    for (size_t i = 0; i < o->narts; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", app->data_dir, o->arts[i].location);
        if (store_put_file(app->s3_store, o->arts[i].location, path, o->arts[i].content_type,
                           cancel, &se) != 0) {
            *retryable = se.retryable;
            snprintf(error, errcap, "uploading %s to S3 failed: %s", o->arts[i].name,
                     se.message);
            return atomic_load(cancel) ? EXEC_CANCELED : EXEC_FAILED;
        }
    }
    for (size_t i = 0; i < o->narts; i++) {
        free(o->arts[i].storage);
        o->arts[i].storage = strdup("s3");
    }
    system_log(rc, "[batchbox: %zu artifact(s) uploaded to S3]", o->narts);
    bb_rmtree(outdir);
    return EXEC_OK;
}

/* ---- staging the input ------------------------------------------------ */

static int write_fd(void *ud, const void *data, size_t n)
{
    return bb_write_all(*(int *)ud, data, n) == 0 ? 0 : 1;
}

/* Copies the S3 object key into a new file at path.  false with a
 * message naming what (e.g. "the uploaded input"). */
static bool fetch_from_s3(bb_app *app, const char *key, const char *what, const char *path,
                          char *error, size_t errcap, bool *retryable)
{
    if (!app->s3_store) {
        snprintf(error, errcap, "%s is in S3, which is not configured now", what);
        *retryable = false;
        return false;
    }
    bool ok = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct store_err se = {0};
    if (fd < 0) {
        snprintf(error, errcap, "cannot create %s: %s", path, strerror(errno));
    } else if (store_get(app->s3_store, key, 0, -1, write_fd, &fd, &se) != 0) {
        snprintf(error, errcap, "cannot fetch %s from S3: %s", what, se.message);
        *retryable = se.retryable;
    } else {
        ok = true;
    }
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        snprintf(error, errcap, "cannot write %s: %s", path, strerror(errno));
    }
    return ok;
}

/* A child job's input: the artifact `name` of its parent (in the data
 * directory, or fetched from S3 into the work directory). */
static bool input_from_parent(bb_app *app, const job *j, const char *name, const char *workdir,
                              char *path, size_t cap, char *error, size_t errcap,
                              bool *retryable)
{
    struct artifact_rec a;
    if (repo_artifact_get(app->db, j->parent_job_id, name, &a) != BB_OK) {
        snprintf(error, errcap, "the parent job %lld has no %s any more",
                 (long long)j->parent_job_id, name);
        *retryable = false;
        return false;
    }
    bool ok;
    if (strcmp(a.storage, "s3") != 0) {
        snprintf(path, cap, "%s/%s", app->data_dir, a.location);
        ok = true;
    } else {
        char what[300];
        snprintf(what, sizeof what, "the parent's %s", name);
        snprintf(path, cap, "%s/%s", workdir, name);
        ok = fetch_from_s3(app, a.location, what, path, error, errcap, retryable);
    }
    repo_artifact_clear(&a);
    return ok;
}

/* The local path of upload file_id in dir: a link to the file itself with
 * the fs driver, a copy with S3.  false with a message. */
static bool stage_upload(bb_app *app, int64_t file_id, const char *dir, char *path,
                         size_t cap, char *error, size_t errcap, bool *retryable)
{
    const char *workdir = dir;
    file_rec f;
    if (repo_file_get(app->db, file_id, 0, &f) != BB_OK) {
        snprintf(error, errcap, "the uploaded input upl_%lld no longer exists",
                 (long long)file_id);
        *retryable = false;
        return false;
    }
    bool ok = false;
    if (strcmp(f.storage, "s3") != 0) {
        /* a link named like the upload, so tools that look at the
         * extension see the original name */
        char local[PATH_MAX];
        if (!store_local_path(app->fs_store, f.key, local, sizeof local)) {
            snprintf(error, errcap, "the uploaded input has an invalid storage key");
        } else {
            snprintf(path, cap, "%s/%s", workdir, f.filename);
            ok = symlink(local, path) == 0;
            if (!ok)
                snprintf(error, errcap, "cannot link the input into the work directory: %s",
                         strerror(errno));
        }
    } else {
        snprintf(path, cap, "%s/%s", workdir, f.filename);
        ok = fetch_from_s3(app, f.key, "the uploaded input", path, error, errcap, retryable);
    }
    file_rec_clear(&f);
    return ok;
}

/* Stages j's input into input[] (left "" when the job has none).  false
 * with error and *retryable set. */
static bool stage_input(bb_app *app, const job *j, const struct workflow *wf,
                        const char *workdir, char *input, size_t cap, char *error,
                        size_t errcap, bool *retryable)
{
    if (wf->parent_input && j->parent_job_id)
        return input_from_parent(app, j, wf->parent_input, workdir, input, cap, error, errcap,
                                 retryable);
    if (j->file_id)
        return stage_upload(app, j->file_id, workdir, input, cap, error, errcap, retryable);
    /* a path in the input root: checked again now, without following
     * links out of the root (docs/templates-and-inputs.md) */
    if (j->input_path)
        return svc_input_stage(app->cfg, j->input_path, workdir, input, cap, error, errcap,
                               retryable) == 0;
    return true;
}

/* Stages the uploads that j's `file` params name (docs/parameters.md), each
 * in its own folder "param-NAME" of the work directory, into *staged
 * (NAME -> path; caller frees; NULL when there are none).  Ownership was
 * checked at submit.  false with error and *retryable set. */
static bool stage_file_params(bb_app *app, const bb_preset *preset, const cJSON *params,
                              const char *workdir, cJSON **staged, char *error,
                              size_t errcap, bool *retryable)
{
    *staged = NULL;
    for (size_t i = 0; preset && i < preset->nparams; i++) {
        const bb_param *pm = &preset->params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, pm->name);
        int64_t fid;
        if (pm->type != BB_PT_FILE || !cJSON_IsString(v) ||
            strncmp(v->valuestring, "upl_", 4) != 0 ||
            bb_parse_i64(v->valuestring + 4, &fid) != 0)
            continue;
        char dir[PATH_MAX], path[PATH_MAX];
        if ((size_t)snprintf(dir, sizeof dir, "%s/param-%s", workdir, pm->name) >=
                sizeof dir ||
            bb_mkdirs(dir, false) != 0) {
            snprintf(error, errcap, "cannot prepare the folder of param \"%s\"", pm->name);
            *retryable = true;
            return false;
        }
        if (!stage_upload(app, fid, dir, path, sizeof path, error, errcap, retryable))
            return false;
        if (!*staged && !(*staged = cJSON_CreateObject())) {
            snprintf(error, errcap, "out of memory");
            *retryable = true;
            return false;
        }
        if (!cJSON_AddStringToObject(*staged, pm->name, path)) {
            snprintf(error, errcap, "out of memory");
            *retryable = true;
            return false;
        }
    }
    return true;
}

/* ---- one attempt ---------------------------------------------------------- */

/* The folders of j's current attempt: its output, under the artifacts
 * folder as ".attempt-JOB-N" (same file system, so promote can rename it;
 * no artifact key starts with a dot), its work folder "JOB-N", and the
 * job's artifacts folder the output becomes on success.  Each PATH_MAX. */
static void attempt_dirs(const bb_app *app, const job *j, char *outdir, char *workdir,
                         char *final_dir)
{
    snprintf(outdir, PATH_MAX, "%s/.attempt-%lld-%d", app->artifacts_dir, (long long)j->id,
             j->attempts);
    snprintf(workdir, PATH_MAX, "%s/%lld-%d", app->work_dir, (long long)j->id, j->attempts);
    snprintf(final_dir, PATH_MAX, "%s/%lld", app->artifacts_dir, (long long)j->id);
}

/* Makes a succeeded attempt's output the job's artifacts folder, if this
 * attempt is still the one the database records as running (a lease that
 * ran out may have handed the job to another attempt). */
static enum exec_result promote(bb_app *app, const job *j, const char *outdir,
                                const char *final_dir, char *error, size_t errcap,
                                bool *retryable)
{
    int rc = repo_job_attempt_current(app->db, j->id, j->attempts);
    if (rc != BB_OK) {
        snprintf(error, errcap, "%s", rc == BB_ESTATE
                                          ? "the attempt is no longer the job's current one"
                                          : "database error");
        *retryable = rc != BB_ESTATE;
        return EXEC_FAILED;
    }
    if (bb_rmtree(final_dir) != 0 || rename(outdir, final_dir) != 0) {
        snprintf(error, errcap, "cannot keep the job's output files: %s", strerror(errno));
        *retryable = true;
        return EXEC_FAILED;
    }
    return EXEC_OK;
}

int svc_attempt_end_orphans(bb_app *app)
{
    struct job_proc *procs = NULL;
    size_t n = 0;
    int rc = repo_job_procs_list(app->db, &procs, &n);
    if (rc != BB_OK)
        return rc;
    int ended = 0;
    for (size_t i = 0; i < n; i++)
        ended += exec_end_orphan_group(procs[i].pgid, procs[i].started, procs[i].boot_id);
    free(procs);
    if (n && (rc = repo_job_procs_clear(app->db)) != BB_OK)
        return rc;
    if (ended) {
        char num[16];
        snprintf(num, sizeof num, "%d", ended);
        bb_warn("ended process groups left running by the previous server", "groups", num);
    }
    /* attempt folders of the previous run: none of them is current now */
    const char *roots[] = {app->artifacts_dir, app->work_dir};
    for (size_t r = 0; r < 2; r++) {
        char **names = NULL;
        size_t nn = 0;
        if (bb_dir_names(roots[r], false, SIZE_MAX, &names, &nn) != 0)
            continue;
        for (size_t i = 0; i < nn; i++) {
            char path[PATH_MAX];
            bool ours = r == 1 || strncmp(names[i], ".attempt-", 9) == 0;
            if (ours && (size_t)snprintf(path, sizeof path, "%s/%s", roots[r], names[i]) <
                            sizeof path)
                bb_rmtree(path);
        }
        bb_strv_free(names, nn);
    }
    return BB_OK;
}

/* Runs the workflow in fresh directories (for workflows with files) and
 * returns its result with error and *retryable set on failure. */
static enum exec_result execute(bb_app *app, const job *j, const bb_preset *preset,
                                const struct workflow *wf, atomic_bool *cancel,
                                struct run_ctx *rc, const char *outdir, const char *workdir,
                                char *error, size_t errcap, bool *retryable)
{
    const char *secrets[] = {"NOTION_TOKEN", app->notion_token,
                             "ELEVENLABS_API_KEY", app->elevenlabs_key, NULL};
    exec_ctx ctx = {
        .job_id = j->id, .preset = preset, .input_path = j->input_path,
        .cancel = cancel, .kill_grace_ms = 3000,
        .log_line = on_log_line, .progress = on_progress, .tick = on_tick, .ud = rc,
        .job = j, .cfg = app->cfg, .db = app->db, .artifact_prefix = "", .secrets = secrets,
        .record = on_record, .spawned = on_spawned,
    };
    if (wf->flags & WF_NO_FILES) {
        enum exec_result res = wf->run(&ctx);
        *retryable = res == EXEC_FAILED && wf->retryable(&ctx);
        snprintf(error, errcap, "%s", ctx.error);
        return res;
    }
    /* Fresh directories of this attempt alone (attempt_dirs): only its
     * files become artifacts, and a child of an earlier attempt that
     * outlived its server cannot write into them. */
    char input[PATH_MAX] = "", prefix[1024];
    if (bb_rmtree(outdir) != 0 || bb_mkdirs(outdir, false) != 0 ||
        bb_rmtree(workdir) != 0 || bb_mkdirs(workdir, false) != 0) {
        snprintf(error, errcap, "cannot prepare job directories: %s", strerror(errno));
        *retryable = true;
        return EXEC_FAILED;
    }
    if (!stage_input(app, j, wf, workdir, input, sizeof input, error, errcap, retryable))
        return EXEC_FAILED;
    ctx.artifacts_s3 = wants_s3(app, j);
    artifact_prefix(app, j, ctx.artifacts_s3, prefix, sizeof prefix);
    cJSON *params = cJSON_Parse(j->params ? j->params : "{}");
    cJSON *staged = NULL;
    if (!stage_file_params(app, preset, params, workdir, &staged, error, errcap, retryable)) {
        cJSON_Delete(staged);
        cJSON_Delete(params);
        return EXEC_FAILED;
    }
    ctx.input_path = input[0] ? input : j->input_path;
    ctx.outdir = outdir;
    ctx.workdir = workdir;
    ctx.params = params;
    ctx.staged_files = staged;
    ctx.artifact_prefix = prefix;
    enum exec_result res = wf->run(&ctx);
    snprintf(error, errcap, "%s", ctx.error);
    *retryable = res == EXEC_FAILED && wf->retryable(&ctx);
    cJSON_Delete(staged);
    cJSON_Delete(params);
    bb_rmtree(workdir);
    return res;
}

/* The retry policy: how a failed or stopped attempt ends (retry with
 * backoff, requeue at shutdown, failed, canceled).  error may be
 * rewritten ("... (after 3 attempts)"); returns the error text the job
 * keeps (NULL on success; borrowed: error or a static string). */
static const char *decide(const job *j, const bb_preset *preset, enum exec_result res,
                          bool retryable, bool shutdown, struct run_ctx *rc, char *error,
                          size_t errcap, struct job_finish *f)
{
    const char *kept = error;
    switch (res) {
    case EXEC_OK:
        f->kind = FINISH_SUCCEEDED;
        return NULL;
    case EXEC_CANCELED:
        f->kind = shutdown ? FINISH_REQUEUE : FINISH_CANCELED;
        kept = "canceled";
        break;
    case EXEC_FAILED:
        if (retryable && j->attempts < j->max_attempts && !shutdown) {
            f->kind = FINISH_RETRY;
            int64_t delay = job_backoff_ms(preset ? preset->retry_delay_ms : 1000, j->attempts,
                                           randombytes_random());
            f->run_after = bb_now_ms() + delay;
            system_log(rc, "%s (attempt %d of %d; retrying in %.1f s)", error, j->attempts,
                       j->max_attempts, (double)delay / 1000.0);
        } else if (shutdown && retryable) {
            f->kind = FINISH_REQUEUE;
        } else {
            f->kind = FINISH_FAILED;
            if (retryable && j->max_attempts > 1) {
                char msg[600];
                snprintf(msg, sizeof msg, "%s (after %d attempts)", error, j->attempts);
                snprintf(error, errcap, "%s", msg);
            }
        }
        break;
    }
    if (f->kind == FINISH_FAILED || f->kind == FINISH_CANCELED)
        system_log(rc, "[batchbox: job %s: %s]", f->kind == FINISH_FAILED ? "failed" : "canceled",
                   error);
    return kept;
}

void svc_attempt_run(void *ud, const job *j, atomic_bool *cancel, const atomic_bool *shutdown,
                     struct pool_result *out)
{
    bb_app *app = ud;
    struct attempt_out *o = calloc(1, sizeof *o);
    struct run_ctx rc = {.app = app, .j = j, .out = o};
    const bb_preset *preset = config_preset(app->cfg, j->preset);
    const struct workflow *wf = preset ? workflow_of(preset->workflow) : NULL;
    enum exec_result res = EXEC_FAILED;
    char error[512] = "";
    bool retryable = false;
    char outdir[PATH_MAX], workdir[PATH_MAX], final_dir[PATH_MAX];
    attempt_dirs(app, j, outdir, workdir, final_dir);

    if (!o) {
        snprintf(error, sizeof error, "out of memory");
        retryable = true;
    } else if (!preset || !wf) {
        snprintf(error, sizeof error, "preset \"%s\" is no longer configured", j->preset);
    } else {
        res = execute(app, j, preset, wf, cancel, &rc, outdir, workdir, error, sizeof error,
                      &retryable);
    }
    if (res == EXEC_OK && !(wf->flags & WF_NO_FILES) &&
        scan_artifacts(outdir, j->id, &o->arts, &o->narts, &rc) != 0) {
        res = EXEC_FAILED;
        snprintf(error, sizeof error, "cannot read the job's output files: %s", strerror(errno));
        retryable = true;
    }
    /* promoted first: the S3 copy reads the files where their keys say */
    if (res == EXEC_OK && !(wf->flags & WF_NO_FILES))
        res = promote(app, j, outdir, final_dir, error, sizeof error, &retryable);
    if (res == EXEC_OK && o->narts > 0 && wants_s3(app, j))
        res = upload_artifacts(app, o, final_dir, cancel, &rc, error, sizeof error, &retryable);
    if (wf && !(wf->flags & WF_NO_FILES))
        bb_rmtree(outdir);   /* a failed attempt's files (gone when promoted) */

    struct job_finish *f = &out->f;
    memset(f, 0, sizeof *f);
    f->job_id = j->id;
    const char *kept = decide(j, preset, res, retryable, atomic_load(shutdown), &rc, error,
                              sizeof error, f);
    flush_logs(&rc);
    f->at = bb_now_ms();
    metrics_job_finished(j->preset, f->kind, f->at - j->started_at);
    out->owned = o;
    if (!o)
        return;
    if (kept)
        o->error = strdup(kept);
    f->error = o->error;
    f->artifacts = o->arts;
    f->nartifacts = o->narts;
    /* what the workflow recorded counts only when the attempt succeeded */
    for (size_t i = 0; f->kind == FINISH_SUCCEEDED && i < o->nrec; i++)
        for (size_t k = 0; k < sizeof RECORDED / sizeof RECORDED[0]; k++)
            if (strcmp(RECORDED[k].key, o->keys[i]) == 0)
                *(const char **)(void *)((char *)f + RECORDED[k].off) = o->values[i];
}

/* ---- wiring --------------------------------------------------------------- */

pool *svc_workers_start(bb_app *app, int n)
{
    /* ",p1,p2,": presets of batchable workflows without a concurrency
     * limit, whose jobs one claim can take many of */
    const bb_config *cfg = app->cfg;
    size_t cap = 2;
    for (size_t i = 0; i < cfg->npresets; i++)
        cap += strlen(cfg->presets[i].id) + 1;
    char *batchable = malloc(cap);
    if (!batchable)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        const struct workflow *wf = workflow_of(pr->workflow);
        if (!wf || !(wf->flags & WF_BATCHABLE) || pr->concurrency > 0)
            continue;
        len += (size_t)snprintf(batchable + len, cap - len, "%s%s,", len ? "" : ",", pr->id);
    }
    batchable[len] = '\0';
    struct pool_opts o = {
        .db = app->db, .cfg = cfg, .workers = n, .batchable = len ? batchable : NULL,
        .hooks = {.run = svc_attempt_run, .result_free = svc_attempt_result_free, .ud = app},
        .place = comfy_pool_claim_place, .place_ud = app,
    };
    pool *p = pool_start(&o);
    free(batchable);
    return p;
}

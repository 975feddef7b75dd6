/* pool.c — worker threads that run jobs, and the maintenance thread.
 *
 * DESIGN
 * - N worker threads (default: cores).  Each loops through explicit
 *   phases: claim (a db writer operation that picks the best queued job —
 *   priority, then age — marks it running with a lease and counts the
 *   attempt) → execute (the preset's workflow: noop or command, on this
 *   thread) → persist (one writer operation: succeeded with its artifacts,
 *   retry-with-backoff, failed, canceled or requeued) → publish (the writer
 *   publishes the transition's event after the commit; see db.c).
 * - State owned here, guarded by `mu`: each worker's current job id and
 *   preset (read by pool_cancel and the concurrency check), `stopping`,
 *   `wake_seq`.  A worker's `cancel` flag is atomic: set by HTTP threads
 *   (pool_cancel) or by pool_stop, read by the executor.  Claims are
 *   serialized by `claim_mu` so per-preset concurrency limits hold: the
 *   list of presets at their limit is computed and the claimed job
 *   registered under it.
 * - Idle workers sleep on `cond` until pool_wake (a submit, a retry, a
 *   finished job freeing a concurrency slot) or the next run_after of a
 *   delayed retry, at most 1 s.
 * - The maintenance thread renews the leases of running jobs every 10 s
 *   (lease 30 s), requeues jobs whose lease expired (a worker that died),
 *   and trims the event log to events.retainEvents.
 * - Shutdown (pool_stop): no new claims; running jobs get the grace period
 *   to finish; then their executors are told to stop (child processes get
 *   SIGTERM, then SIGKILL) and those jobs are requeued without counting
 *   the attempt; all threads are joined.
 * - Every worker uses the shared db (writer queue + reader pool); none
 *   holds its own SQLite connection.
 */
#include "infra/workers/pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/db/repo_file.h"
#include "infra/db/repo_job.h"
#include "infra/db/repo_user.h"
#include "infra/exec/exec.h"
#include "infra/metrics.h"
#include "infra/storage/storage.h"
#include "util/err.h"
#include "util/log.h"
#include "infra/exec/lesson_run.h"
#include "util/hash.h"
#include "util/util.h"

#define LOG_BATCH 128
#define LOG_FLUSH_US 50000
#define MAX_LOG_LINES_PER_ATTEMPT 100000
#define CLAIM_BATCH 32

struct worker {
    pool *p;
    pthread_t th;
    int idx;
    int64_t job_id;          /* guarded by p->mu; 0 = idle */
    char preset[72];         /* guarded by p->mu */
    atomic_bool cancel;
    atomic_bool shutdown;    /* the stop came from pool_stop: requeue */
};

struct pool {
    bb_app *app;
    pthread_mutex_t mu;
    pthread_cond_t cond;     /* CLOCK_MONOTONIC; workers idle + pool_stop */
    pthread_mutex_t claim_mu;
    bool stopping;
    uint64_t wake_seq;
    int n, busy;
    struct worker *w;
    pthread_t maint;
    bool maint_started;
    char *batchable;         /* read-only after start */
};

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Appends id to the ",a,b," list *list of length *len (a NULL list
 * starts as ","); false when out of memory (the list stays as it was). */
static bool id_list_add(char **list, size_t *len, const char *id)
{
    size_t n = strlen(id);
    char *nl = realloc(*list, *len + n + 3);
    if (!nl)
        return false;
    *list = nl;
    if (*len == 0)
        nl[(*len)++] = ',';
    memcpy(nl + *len, id, n);
    *len += n;
    nl[(*len)++] = ',';
    nl[*len] = '\0';
    return true;
}

/* ",a,b," list of presets at their concurrency limit, or NULL.  A worker's
 * slot stays occupied until the cycle that records its result commits, so
 * other workers never start a job of a limited preset before the previous
 * one is recorded finished; `self` is left out because its own result is
 * recorded in the same transaction as its next claim.  Caller holds p->mu;
 * result is malloc'd (caller frees). */
static char *blocked_presets(pool *p, const struct worker *self)
{
    const bb_config *cfg = p->app->cfg;
    char *list = NULL;
    size_t len = 0;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        if (pr->concurrency <= 0)
            continue;
        int running = 0;
        for (int k = 0; k < p->n; k++)
            if (&p->w[k] != self && p->w[k].job_id && strcmp(p->w[k].preset, pr->id) == 0)
                running++;
        if (running < pr->concurrency)
            continue;
        if (!id_list_add(&list, &len, pr->id))
            break;
    }
    return list;
}

/* ---- executing ---------------------------------------------------------- */

struct run_ctx {
    pool *p;
    job *j;
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
    int err = repo_job_append_logs(rc->p->app->db, rc->j->id, rc->j->attempts, rc->lines,
                                   rc->nlines);
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

static void on_log_line(void *ud, const char *stream, const char *line, size_t len)
{
    add_log(ud, stream, line, len);
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
    repo_job_set_progress(rc->p->app->db, rc->j->id, fraction);
}

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
            char msg[PATH_MAX + 64];
            snprintf(msg, sizeof msg, "[batchbox: %s is not a regular file; not kept as an artifact]",
                     name);
            add_log(rc, "system", msg, strlen(msg));
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
        snprintf(key, sizeof key, "artifacts/%lld/%s", (long long)job_id, safe);
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

/* A finished attempt waiting to be recorded by the next claim cycle; owns
 * its error text and artifact list. */
struct pending {
    struct job_finish f;
    char *error;
    struct artifact_rec *arts;
    size_t narts;
    char *page_url, *manifest_path, *notion_url;  /* lesson outputs (f points here) */
};

static void pending_clear(struct pending *p)
{
    free(p->error);
    free(p->page_url);
    free(p->manifest_path);
    free(p->notion_url);
    repo_artifacts_free(p->arts, p->narts);
    memset(p, 0, sizeof *p);
}

/* Whether a job's artifacts go to S3: upload "s3", or "auto" when S3 is
 * configured. */
static bool wants_s3(const bb_app *app, const job *j)
{
    if (!app->s3_store || !j->upload)
        return false;
    return strcmp(j->upload, "s3") == 0 || strcmp(j->upload, "auto") == 0;
}

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

/* A rerun_audio child's input: its parent's saved lesson.md (in the data
 * directory, or fetched from S3 into the work directory). */
static bool input_from_parent(bb_app *app, const job *j, const char *workdir, char *path,
                              size_t cap, char *error, size_t errcap, bool *retryable)
{
    struct artifact_rec a;
    if (repo_artifact_get(app->db, j->parent_job_id, "lesson.md", &a) != BB_OK) {
        snprintf(error, errcap, "the parent job %lld has no lesson.md any more",
                 (long long)j->parent_job_id);
        *retryable = false;
        return false;
    }
    bool ok;
    if (strcmp(a.storage, "s3") != 0) {
        snprintf(path, cap, "%s/%s", app->data_dir, a.location);
        ok = true;
    } else {
        snprintf(path, cap, "%s/lesson.md", workdir);
        ok = fetch_from_s3(app, a.location, "the parent's lesson.md", path, error, errcap,
                           retryable);
    }
    repo_artifact_clear(&a);
    return ok;
}

/* The local path of a job's uploaded input: the file itself with the fs
 * driver, a copy in the work directory with S3.  false with a message. */
static bool input_from_upload(bb_app *app, const job *j, const char *workdir, char *path,
                              size_t cap, char *error, size_t errcap, bool *retryable)
{
    file_rec f;
    if (repo_file_get(app->db, j->file_id, 0, &f) != BB_OK) {
        snprintf(error, errcap, "the uploaded input upl_%lld no longer exists", (long long)j->file_id);
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

/* The lesson workflow for j (exec_lesson), then the URLs the finished job
 * records: pageUrl (always served by batchbox), manifestPath (where the
 * manifest will be: this server, or the S3 location) and notionUrl, put
 * into out (owned by it).  The artifacts are scanned and uploaded
 * afterwards like any workflow's. */
static enum exec_result run_lesson(bb_app *app, const job *j, const bb_preset *preset,
                                   exec_ctx *ctx, struct pending *out)
{
    const bb_config *cfg = app->cfg;
    bool s3 = wants_s3(app, j);
    char prefix[1024], created[32];
    if (s3) {
        const char *scheme = cfg->storage.s3.https ? "https" : "http";
        if (cfg->storage.s3.path_style)
            snprintf(prefix, sizeof prefix, "%s://%s/%s/artifacts/%lld/", scheme,
                     cfg->storage.s3.endpoint, cfg->storage.s3.bucket, (long long)j->id);
        else
            snprintf(prefix, sizeof prefix, "%s://%s.%s/artifacts/%lld/", scheme,
                     cfg->storage.s3.bucket, cfg->storage.s3.endpoint, (long long)j->id);
    } else if (app->relative_urls) {
        prefix[0] = '\0';      /* batchbox run: files side by side in --out */
    } else {
        snprintf(prefix, sizeof prefix, "/api/v1/jobs/%lld/artifacts/", (long long)j->id);
    }
    bb_iso8601(j->created_at, created);
    char page[128], abs_page[700];
    snprintf(page, sizeof page, "/api/v1/jobs/%lld/artifacts/lesson.html", (long long)j->id);
    if (cfg->public_url)
        snprintf(abs_page, sizeof abs_page, "%s%s", cfg->public_url, page);
    struct lesson_job lj = {
        .cfg = cfg, .preset = preset, .input_path = ctx->input_path,
        .with_tts = j->with_tts, .force_tts = j->force_tts,
        .voice_accent = j->voice_accent, .voice_id = j->voice_id, .mode = j->mode,
        .notion_database = j->notion_database, .notion_token = app->notion_token,
        .elevenlabs_key = app->elevenlabs_key, .created_at = created, .upload = j->upload,
        .url_prefix = prefix, .storage_s3 = s3,
        .page_url = cfg->public_url ? abs_page : NULL,
    };
    struct lesson_run_out lo;
    enum exec_result res = exec_lesson(ctx, &lj, &lo);
    if (res != EXEC_OK)
        return res;
    size_t ml = strlen(prefix) + sizeof "manifest.json";
    out->page_url = strdup(page);
    out->manifest_path = malloc(ml);
    out->notion_url = lo.notion_url[0] ? strdup(lo.notion_url) : NULL;
    if (!out->page_url || !out->manifest_path || (lo.notion_url[0] && !out->notion_url)) {
        snprintf(ctx->error, sizeof ctx->error, "out of memory");
        ctx->retryable = true;
        return EXEC_FAILED;
    }
    snprintf(out->manifest_path, ml, "%smanifest.json", prefix);
    return EXEC_OK;
}

/* Runs one claimed job (execute phase) and describes its result in *out
 * for the persist phase. */
static void run_job(struct worker *w, job *j, struct pending *out)
{
    pool *p = w->p;
    bb_app *app = p->app;
    const bb_preset *preset = config_preset(app->cfg, j->preset);
    struct run_ctx rc = {.p = p, .j = j};
    enum exec_result res = EXEC_FAILED;
    char error[512] = "";
    bool retryable = false;
    char outdir[PATH_MAX], workdir[PATH_MAX], input[PATH_MAX] = "";
    snprintf(outdir, sizeof outdir, "%s/%lld", app->artifacts_dir, (long long)j->id);
    snprintf(workdir, sizeof workdir, "%s/%lld", app->work_dir, (long long)j->id);

    if (!preset) {
        snprintf(error, sizeof error, "preset \"%s\" is no longer configured", j->preset);
    } else if (preset->workflow == BB_WF_NOOP) {
        res = atomic_load(&w->cancel) ? EXEC_CANCELED : EXEC_OK;
    } else {
        /* A fresh output directory per attempt: only this attempt's files
         * become artifacts. */
        if (bb_rmtree(outdir) != 0 || bb_mkdirs(outdir, false) != 0 ||
            bb_rmtree(workdir) != 0 || bb_mkdirs(workdir, false) != 0) {
            snprintf(error, sizeof error, "cannot prepare job directories: %s", strerror(errno));
            retryable = true;
        } else if (preset->workflow == BB_WF_LESSON && j->parent_job_id
                       ? !input_from_parent(app, j, workdir, input, sizeof input, error,
                                            sizeof error, &retryable)
                       : j->file_id && !input_from_upload(app, j, workdir, input, sizeof input,
                                                          error, sizeof error, &retryable)) {
            /* error set */
        } else {
            cJSON *params = cJSON_Parse(j->params ? j->params : "{}");
            exec_ctx ctx = {
                .job_id = j->id, .preset = preset,
                .input_path = input[0] ? input : j->input_path,
                .outdir = outdir, .workdir = workdir, .params = params,
                .cancel = &w->cancel, .kill_grace_ms = 3000,
                .log_line = on_log_line, .progress = on_progress, .tick = on_tick,
                .ud = &rc,
            };
            if (preset->workflow == BB_WF_LESSON)
                res = run_lesson(app, j, preset, &ctx, out);
            else
                res = exec_command(&ctx);
            snprintf(error, sizeof error, "%s", ctx.error);
            retryable = ctx.retryable;
            cJSON_Delete(params);
            bb_rmtree(workdir);
        }
    }

    struct artifact_rec *arts = NULL;
    size_t narts = 0;
    if (res == EXEC_OK && preset && preset->workflow != BB_WF_NOOP &&
        scan_artifacts(outdir, j->id, &arts, &narts, &rc) != 0) {
        res = EXEC_FAILED;
        snprintf(error, sizeof error, "cannot read the job's output files: %s", strerror(errno));
        retryable = true;
    }

    if (res == EXEC_OK && narts > 0 && wants_s3(app, j)) {
        /* upload: s3 (or auto with S3 configured): copy every artifact to
         * the bucket; only a complete set is recorded as in S3 */
        struct store_err se = {0};
        for (size_t i = 0; i < narts && res == EXEC_OK; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", app->data_dir, arts[i].location);
            if (store_put_file(app->s3_store, arts[i].location, path, arts[i].content_type,
                               &w->cancel, &se) != 0) {
                res = atomic_load(&w->cancel) ? EXEC_CANCELED : EXEC_FAILED;
                retryable = se.retryable;
                snprintf(error, sizeof error, "uploading %s to S3 failed: %s", arts[i].name,
                         se.message);
            }
        }
        if (res == EXEC_OK) {
            for (size_t i = 0; i < narts; i++) {
                free(arts[i].storage);
                arts[i].storage = strdup("s3");
            }
            char msg[128];
            snprintf(msg, sizeof msg, "[batchbox: %zu artifact(s) uploaded to S3]", narts);
            add_log(&rc, "system", msg, strlen(msg));
            bb_rmtree(outdir);
        }
    }
    struct job_finish f = {.job_id = j->id, .artifacts = arts, .nartifacts = narts};
    char msg[600];
    switch (res) {
    case EXEC_OK:
        f.kind = FINISH_SUCCEEDED;
        break;
    case EXEC_CANCELED:
        f.kind = atomic_load(&w->shutdown) ? FINISH_REQUEUE : FINISH_CANCELED;
        f.error = "canceled";
        break;
    case EXEC_FAILED:
        if (retryable && j->attempts < j->max_attempts && !atomic_load(&w->shutdown)) {
            f.kind = FINISH_RETRY;
            int64_t delay = job_backoff_ms(preset ? preset->retry_delay_ms : 1000, j->attempts,
                                           randombytes_random());
            f.run_after = bb_now_ms() + delay;
            snprintf(msg, sizeof msg, "%s (attempt %d of %d; retrying in %.1f s)", error,
                     j->attempts, j->max_attempts, (double)delay / 1000.0);
            add_log(&rc, "system", msg, strlen(msg));
        } else if (atomic_load(&w->shutdown) && retryable) {
            f.kind = FINISH_REQUEUE;
        } else {
            f.kind = FINISH_FAILED;
            if (retryable && j->max_attempts > 1) {
                snprintf(msg, sizeof msg, "%s (after %d attempts)", error, j->attempts);
                snprintf(error, sizeof error, "%s", msg);
            }
        }
        f.error = error;
        break;
    }
    if (f.kind == FINISH_FAILED || f.kind == FINISH_CANCELED) {
        snprintf(msg, sizeof msg, "[batchbox: job %s: %s]",
                 f.kind == FINISH_FAILED ? "failed" : "canceled", error);
        add_log(&rc, "system", msg, strlen(msg));
    }
    flush_logs(&rc);
    if (f.kind != FINISH_SUCCEEDED) {
        free(out->page_url);
        free(out->manifest_path);
        free(out->notion_url);
        out->page_url = out->manifest_path = out->notion_url = NULL;
    }
    f.page_url = out->page_url;
    f.manifest_path = out->manifest_path;
    f.notion_url = out->notion_url;
    out->error = f.error ? strdup(f.error) : NULL;
    out->arts = arts;
    out->narts = narts;
    out->f = f;
    out->f.at = bb_now_ms();
    metrics_job_finished(j->preset, f.kind, out->f.at - j->started_at);
    out->f.error = out->error;
    out->f.artifacts = arts;
    out->f.nartifacts = narts;
}

/* ---- the worker loop ---------------------------------------------------- */

/* ",p1,p2," of presets whose jobs may be claimed in batches: noop presets
 * without a concurrency limit (they take microseconds each, so one claim
 * and one result round trip can carry many).  malloc'd; caller frees. */
static char *batchable_presets(const bb_config *cfg)
{
    char *list = NULL;
    size_t len = 0;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        if (pr->workflow != BB_WF_NOOP || pr->concurrency > 0)
            continue;
        if (!id_list_add(&list, &len, pr->id))
            break;
    }
    return list;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pool *p = w->p;
    job jobs[CLAIM_BATCH];
    struct pending pend[CLAIM_BATCH];
    size_t npend = 0;
    memset(pend, 0, sizeof pend);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stopping;
        uint64_t seq = p->wake_seq;
        pthread_mutex_unlock(&p->mu);
        if (stop && npend == 0)
            break;

        /* persist the previous results and claim the next jobs in one
         * writer round trip */
        struct job_finish fins[CLAIM_BATCH];
        for (size_t i = 0; i < npend; i++)
            fins[i] = pend[i].f;
        size_t n = 0;
        int64_t next_due = 0;
        pthread_mutex_lock(&p->claim_mu);
        pthread_mutex_lock(&p->mu);
        char *blocked = blocked_presets(p, w);
        pthread_mutex_unlock(&p->mu);
        struct claim_req req = {.now = bb_now_ms(), .lease_ms = POOL_LEASE_MS,
                                .blocked = blocked, .batchable = p->batchable,
                                .max = stop ? 0 : CLAIM_BATCH};
        int rc = repo_job_cycle(p->app->db, fins, npend, &req, jobs, &n, &next_due);
        free(blocked);
        pthread_mutex_lock(&p->mu);
        if (w->job_id && (rc == BB_OK || stop)) {
            /* the previous batch's results are recorded: free the slot */
            w->job_id = 0;
            w->preset[0] = '\0';
            p->busy--;
            p->wake_seq++;       /* a concurrency slot may have opened */
            pthread_cond_broadcast(&p->cond);
        }
        if (n > 0) {
            w->job_id = jobs[0].id;
            bb_strlcpy(w->preset, jobs[0].preset, sizeof w->preset);
            atomic_store(&w->cancel, false);
            atomic_store(&w->shutdown, false);
            p->busy++;
        }
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_unlock(&p->claim_mu);
        if (rc == BB_OK) {
            for (size_t i = 0; i < npend; i++)
                pending_clear(&pend[i]);
            npend = 0;
        } else {
            /* results stay pending and are offered again; if the database
             * is gone for good (shutdown), give up on them: the jobs are
             * still 'running' and start-up recovery requeues them */
            bb_warn("could not record job results or claim; retrying",
                    "error", bb_err_code((enum bb_err)rc));
            if (rc == BB_EUNAVAIL || stop) {
                for (size_t i = 0; i < npend; i++)
                    pending_clear(&pend[i]);
                npend = 0;
            }
        }

        if (n == 0) {
            if (stop)
                continue;
            int64_t wait_ms = 1000;
            if (rc != BB_OK)
                wait_ms = 200;
            else if (next_due) {
                int64_t until = next_due - bb_now_ms();
                if (until < wait_ms)
                    wait_ms = until < 1 ? 1 : until;
            }
            struct timespec ts;
            deadline_in(&ts, wait_ms);
            pthread_mutex_lock(&p->mu);
            while (!p->stopping && p->wake_seq == seq)
                if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT)
                    break;
            pthread_mutex_unlock(&p->mu);
            continue;
        }

        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                pthread_mutex_lock(&p->mu);
                w->job_id = jobs[i].id;
                bb_strlcpy(w->preset, jobs[i].preset, sizeof w->preset);
                atomic_store(&w->cancel, false);
                pthread_mutex_unlock(&p->mu);
            }
            run_job(w, &jobs[i], &pend[npend++]);
            job_clear(&jobs[i]);
        }
    }
    return NULL;
}

/* ---- maintenance ------------------------------------------------------- */

static void *maint_main(void *arg)
{
    pool *p = arg;
    bb_app *app = p->app;
    int64_t last_renew = bb_mono_us(), last_expire = last_renew, last_trim = 0;
    for (;;) {
        struct timespec ts;
        deadline_in(&ts, 1000);
        pthread_mutex_lock(&p->mu);
        if (!p->stopping)
            pthread_cond_timedwait(&p->cond, &p->mu, &ts);
        bool stop = p->stopping;
        int64_t ids[256];
        size_t nids = 0;
        for (int i = 0; i < p->n && nids < 256; i++)
            if (p->w[i].job_id)
                ids[nids++] = p->w[i].job_id;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        int64_t now = bb_mono_us();
        if (now - last_renew >= (int64_t)POOL_RENEW_MS * 1000) {
            last_renew = now;
            if (repo_job_renew_leases(app->db, ids, nids, bb_now_ms() + POOL_LEASE_MS) != BB_OK)
                bb_warn("lease renewal failed");
        }
        if (now - last_expire >= 5000000) {
            last_expire = now;
            int n = 0;
            if (repo_job_expire_leases(app->db, bb_now_ms(), &n) == BB_OK && n > 0) {
                char num[16];
                snprintf(num, sizeof num, "%d", n);
                bb_warn("requeued jobs whose worker lease expired", "count", num);
                pool_wake(p);
            }
        }
        if (now - last_trim >= 30000000) {
            last_trim = now;
            if (repo_tokens_prune(app->db, bb_now_ms()) != BB_OK)
                bb_warn("token pruning failed");
            int64_t deleted = 0;
            if (repo_events_trim(app->db, app->cfg->events.retain_events, &deleted) != BB_OK)
                bb_warn("event log trim failed");
        }
    }
    return NULL;
}

/* ---- public ------------------------------------------------------------ */

pool *pool_start(bb_app *app, int n)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    p->n = n < 1 ? 1 : n;
    p->batchable = batchable_presets(app->cfg);
    p->w = calloc((size_t)p->n, sizeof *p->w);
    if (!p->w) {
        free(p->batchable);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->claim_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    int started = 0;
    for (int i = 0; i < p->n; i++) {
        p->w[i].p = p;
        p->w[i].idx = i;
        atomic_init(&p->w[i].cancel, false);
        atomic_init(&p->w[i].shutdown, false);
        if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0)
            break;
        started++;
    }
    if (started == p->n && pthread_create(&p->maint, NULL, maint_main, p) == 0)
        p->maint_started = true;
    if (!p->maint_started) {
        p->n = started;
        pool_stop(p, 0);
        return NULL;
    }
    return p;
}

void pool_wake(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->wake_seq++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void pool_cancel(pool *p, int64_t job_id)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n; i++)
        if (p->w[i].job_id == job_id)
            atomic_store(&p->w[i].cancel, true);
    pthread_mutex_unlock(&p->mu);
}

void pool_stats(pool *p, int *busy, int *total)
{
    pthread_mutex_lock(&p->mu);
    *busy = p->busy;
    *total = p->n;
    pthread_mutex_unlock(&p->mu);
}

void pool_stop(pool *p, int grace_ms)
{
    if (!p)
        return;
    struct timespec ts;
    deadline_in(&ts, grace_ms);
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    while (p->busy > 0)
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT)
            break;
    if (p->busy > 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", p->busy);
        bb_warn("grace period over: stopping running jobs and requeueing them", "count", num);
        for (int i = 0; i < p->n; i++) {
            if (p->w[i].job_id) {
                atomic_store(&p->w[i].shutdown, true);
                atomic_store(&p->w[i].cancel, true);
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->w[i].th, NULL);
    if (p->maint_started)
        pthread_join(p->maint, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->claim_mu);
    pthread_cond_destroy(&p->cond);
    free(p->w);
    free(p->batchable);
    free(p);
}

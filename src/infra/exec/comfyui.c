/* comfyui.c — the `comfyui` workflow module (infra/exec/workflow.h;
 * docs/comfyui.md).  One attempt runs one prompt on the ComfyUI server
 * the placement chose (the job's resources {"comfyui": ID}):
 *
 *   1. earlier prompts of the job (comfyui_prompts) are asked about
 *      first: one that finished is collected, one still queued or running
 *      on the chosen server is watched to its end; nothing is posted
 *      twice, even across a batchbox restart;
 *   2. otherwise `file` params are uploaded to the server, the preset's
 *      graph gets the job's typed params, the prompt row is written in
 *      state 'posting' and the prompt is posted with the install's client
 *      id, its watch opened before the post;
 *   3. the socket's messages give progress and log lines
 *      (comfyui_track.c); /history is the truth, polled every
 *      comfyui.pollIntervalMs while the socket is down; a server
 *      unreachable for comfyui.lostAfterSec is reported lost and the
 *      attempt fails retryably (the next attempt is placed elsewhere);
 *   4. every output file is streamed through /view into outdir (each at
 *      most limits.maxArtifactBytes) and the history entry is kept as
 *      comfyui-history.json.
 *
 * Cancel interrupts a running prompt or deletes a pending one; the
 * preset's timeoutSec interrupts it and fails.  Runs on the calling
 * worker thread; everything allocated belongs to the attempt's struct
 * cf_run and is freed before run returns. */
#include "infra/exec/comfyui.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "domain/job.h"
#include "infra/comfyui/ws.h"
#include "infra/db/repo_comfy_prompt.h"
#include "infra/exec/workflow.h"
#include "util/files.h"
#include "util/log.h"
#include "util/util.h"

#define LOG_STREAM "comfyui"
#define HISTORY_FILE "comfyui-history.json"
#define WAIT_SLICE_MS 200
#define MAX_EARLIER 64
#define MAX_OUTPUTS 10000

/* Set once at start-up before any worker runs; read-only afterwards. */
static const struct cf_pool_ops *g_pool;

void comfyui_set_pool(const struct cf_pool_ops *ops)
{
    g_pool = ops;
}

static bool canceled(const struct cf_run *r)
{
    return r->ctx->cancel && atomic_load(r->ctx->cancel);
}

static int64_t elapsed_ms(const struct cf_run *r)
{
    return (bb_mono_us() - r->started_us) / 1000;
}

/* Ends the prompt's row and tells the pool how it went; returns res. */
static enum exec_result end_prompt(struct cf_run *r, enum exec_result res, const char *state,
                                   enum cf_outcome o)
{
    if (r->prompt_id[0] != '\0')
        cf_track_store(r, state, res == EXEC_OK ? NULL : r->ctx->error, true);
    if (r->leased && g_pool && g_pool->report)
        g_pool->report(r->lease.id, o, elapsed_ms(r));
    return res;
}

/* ---- outputs ----------------------------------------------------------- */

/* A file name for output (subfolder, filename) in outdir: the name
 * without directories, the subfolder's parts joined with '_' before it,
 * and "N-" before that when the name is taken.  0, or -1 when the
 * server's name is unusable ("", "..", a dot file). */
static int output_name(const struct cf_run *r, const char *subfolder, const char *filename,
                       char *out, size_t cap)
{
    if (filename[0] == '\0' || filename[0] == '.' || strchr(filename, '/') ||
        strchr(filename, '\\'))
        return -1;
    char base[512] = "";
    size_t used = 0;
    for (const char *s = subfolder; *s && used + 2 < sizeof base; s++)
        base[used++] = (*s == '/' || *s == '\\' || *s == '.') ? '_' : *s;
    if (used > 0)
        base[used++] = '_';
    base[used] = '\0';
    for (int i = 0; i < 1000; i++) {
        int n = i == 0 ? snprintf(out, cap, "%s/%s%s", r->ctx->outdir, base, filename)
                       : snprintf(out, cap, "%s/%d-%s%s", r->ctx->outdir, i, base, filename);
        if (n < 0 || (size_t)n >= cap)
            return -1;
        if (access(out, F_OK) != 0 && strcmp(out + strlen(r->ctx->outdir) + 1,
                                             HISTORY_FILE) != 0)
            return 0;
    }
    return -1;
}

/* Fetches one output item {filename, subfolder, type}; only type
 * "output" is an output (temp previews are not). */
static enum exec_result fetch_item(struct cf_run *r, const cJSON *item, int *count)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(item, "filename");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(item, "subfolder");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    if (!cJSON_IsString(fn) || !cJSON_IsString(type) || strcmp(type->valuestring, "output"))
        return EXEC_OK;
    const char *subfolder = cJSON_IsString(sub) ? sub->valuestring : "";
    if (++*count > MAX_OUTPUTS)
        return exec_fail(r->ctx, false, "prompt %s has over %d outputs", r->prompt_id,
                         MAX_OUTPUTS);
    char dest[4096];
    if (output_name(r, subfolder, fn->valuestring, dest, sizeof dest) != 0)
        return exec_fail(r->ctx, false, "server %s named an output \"%s\" batchbox cannot "
                         "store", r->lease.id, fn->valuestring);
    int64_t cap = r->ctx->cfg ? r->ctx->cfg->limits.max_artifact_bytes : 0;
    int64_t size = 0;
    char err[384];
    struct comfy_opts o = r->opts;
    o.timeout_ms = 0;     /* a big video: bounded by the client's idle timeout */
    enum comfy_rc rc = comfy_view_to_file(r->lease.url, fn->valuestring, subfolder, "output",
                                          dest, cap, &o, &size, err, sizeof err);
    switch (rc) {
    case COMFY_OK:
        exec_logf(r->ctx, LOG_STREAM, "output %s%s%s: %lld bytes", subfolder,
                  subfolder[0] ? "/" : "", fn->valuestring, (long long)size);
        return EXEC_OK;
    case COMFY_TOO_LARGE:
        return exec_fail(r->ctx, false, "output %s of prompt %s is larger than "
                         "limits.maxArtifactBytes (%lld bytes)", fn->valuestring,
                         r->prompt_id, (long long)cap);
    case COMFY_CANCELED:
        return EXEC_CANCELED;
    case COMFY_DOWN:
    case COMFY_GARBAGE:
        return exec_fail(r->ctx, true, "fetching output %s from %s: %s", fn->valuestring,
                         r->lease.id, err);
    default:
        return exec_fail(r->ctx, false, "fetching output %s from %s: %s", fn->valuestring,
                         r->lease.id, err);
    }
}

/* The message of a history entry whose status is "error": its
 * execution_error (node, class, exception) or a generic one. */
static void history_error(struct cf_run *r, const cJSON *status)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(status, "messages");
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *name = cJSON_GetArrayItem(m, 0);
        const cJSON *data = cJSON_GetArrayItem(m, 1);
        if (!cJSON_IsString(name) || !cJSON_IsObject(data))
            continue;
        if (strcmp(name->valuestring, "execution_error") == 0) {
            cJSON *wrap = cJSON_CreateObject();
            if (wrap && cJSON_AddStringToObject(wrap, "type", "execution_error") &&
                cJSON_AddItemReferenceToObject(wrap, "data", (cJSON *)data)) {
                char err[sizeof r->ctx->error];
                err[0] = '\0';
                cf_track_message(r, wrap, err, sizeof err);
                exec_fail(r->ctx, false, "%s", err);
            }
            cJSON_Delete(wrap);
            if (r->ctx->error[0])
                return;
        }
        if (strcmp(name->valuestring, "execution_interrupted") == 0) {
            exec_fail(r->ctx, false, "prompt %s was interrupted on server %s", r->prompt_id,
                      r->lease.id);
            return;
        }
    }
    exec_fail(r->ctx, false, "prompt %s failed on server %s", r->prompt_id, r->lease.id);
}

/* Collects a finished prompt from its history entry (borrowed). */
static enum exec_result collect(struct cf_run *r, const cJSON *entry)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(entry, "status");
    const cJSON *str = cJSON_GetObjectItemCaseSensitive(status, "status_str");
    if (cJSON_IsString(str) && strcmp(str->valuestring, "success") != 0) {
        history_error(r, status);
        return end_prompt(r, EXEC_FAILED, "failed", CF_DONE_FAILED);
    }
    cf_track_finish(r);
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(entry, "outputs");
    const cJSON *node, *list, *item;
    int count = 0;
    cJSON_ArrayForEach(node, outputs) {
        cJSON_ArrayForEach(list, node) {
            if (!cJSON_IsArray(list))
                continue;
            cJSON_ArrayForEach(item, list) {
                enum exec_result res = fetch_item(r, item, &count);
                if (res == EXEC_CANCELED)
                    return end_prompt(r, res, "succeeded", CF_DONE_OK);
                if (res != EXEC_OK)
                    return end_prompt(r, res, "succeeded", CF_DONE_OK);
            }
        }
    }
    char path[4096];
    char *text = cJSON_Print(entry);
    int n = snprintf(path, sizeof path, "%s/" HISTORY_FILE, r->ctx->outdir);
    int fd = text && n > 0 && (size_t)n < sizeof path ?
             open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    int wr = fd >= 0 ? bb_write_all(fd, text, strlen(text)) : -1;
    if (fd >= 0 && close(fd) != 0)
        wr = -1;
    cJSON_free(text);
    if (wr != 0)
        return end_prompt(r, exec_fail(r->ctx, true, "cannot write %s: %s", HISTORY_FILE,
                                       strerror(errno)), "succeeded", CF_DONE_OK);
    exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s: succeeded, %d output%s", r->prompt_id,
              r->lease.id, count, count == 1 ? "" : "s");
    return end_prompt(r, EXEC_OK, "succeeded", CF_DONE_OK);
}

/* ---- asking the server ------------------------------------------------- */

enum where { W_UNKNOWN, W_QUEUED, W_RUNNING, W_FINISHED };

/* Where prompt id is on the server: finished (*entry set, caller
 * deletes), running, queued or unknown.  COMFY_OK or the failing call's
 * rc with err. */
static enum comfy_rc locate(struct cf_run *r, const char *id, enum where *w, cJSON **entry,
                            char *err, size_t errlen)
{
    *w = W_UNKNOWN;
    *entry = NULL;
    for (int pass = 0; pass < 2; pass++) {
        enum comfy_rc rc = comfy_get_history(r->lease.url, id, &r->opts, entry, err, errlen);
        if (rc != COMFY_OK)
            return rc;
        if (*entry != NULL) {
            *w = W_FINISHED;
            return COMFY_OK;
        }
        bool running = false, pending = false;
        rc = comfy_queue_find(r->lease.url, id, &r->opts, &running, &pending, err, errlen);
        if (rc == COMFY_TOO_LARGE) {
            /* a queue too large to read (every pending graph, other
             * clients' too): the prompt may be in it; it counts as queued
             * until /history has it (or the job's timeout) */
            *w = W_QUEUED;
            return COMFY_OK;
        }
        if (rc != COMFY_OK)
            return rc;
        if (running || pending) {
            *w = running ? W_RUNNING : W_QUEUED;
            return COMFY_OK;
        }
        /* between the queue and the history: ask the history once more */
    }
    return COMFY_OK;
}

/* Stops the prompt on the server (cancel, timeout): interrupt when it
 * runs, delete when it waits.  Best effort: failures are logged. */
static void stop_prompt(struct cf_run *r)
{
    char err[256];
    const char *how = NULL;
    if (comfy_stop_prompt(r->lease.url, r->prompt_id, &r->quiet, &how, err, sizeof err) !=
        COMFY_OK)
        exec_logf(r->ctx, LOG_STREAM, "prompt %s: stopping it on %s failed: %s",
                  r->prompt_id, r->lease.id, err);
    else if (how)
        exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s: %s", r->prompt_id, r->lease.id, how);
}

static enum exec_result on_cancel(struct cf_run *r)
{
    stop_prompt(r);
    snprintf(r->ctx->error, sizeof r->ctx->error, "canceled");
    return end_prompt(r, EXEC_CANCELED, "interrupted", CF_DONE_FAILED);
}

/* ---- the watch loop ---------------------------------------------------- */

struct loop_state {
    int64_t next_poll_us;
    int64_t down_since_us;     /* 0: the server answered last time */
    int64_t deadline_us;       /* 0: no timeout */
    bool socket_down;
};

/* One /history look.  EXEC_OK with *done false: keep watching. */
static enum exec_result poll_once(struct cf_run *r, struct loop_state *s, bool *done)
{
    char err[384];
    enum where w;
    cJSON *entry = NULL;
    enum comfy_rc rc = locate(r, r->prompt_id, &w, &entry, err, sizeof err);
    if (rc == COMFY_CANCELED)
        return EXEC_OK;                   /* the loop sees the flag */
    if (rc == COMFY_DOWN || rc == COMFY_GARBAGE) {
        int64_t now = bb_mono_us();
        if (s->down_since_us == 0) {
            s->down_since_us = now;
            exec_logf(r->ctx, LOG_STREAM, "server %s: %s", r->lease.id, err);
        }
        int lost = r->ctx->cfg ? r->ctx->cfg->comfyui.lost_after_sec : 30;
        if (now - s->down_since_us < (int64_t)lost * 1000000)
            return EXEC_OK;
        *done = true;
        exec_fail(r->ctx, true, "server %s %s for %d s while running prompt %s: %s",
                  r->lease.id, rc == COMFY_DOWN ? "unreachable" : "answered garbage", lost,
                  r->prompt_id, err);
        return end_prompt(r, EXEC_FAILED, "lost", CF_SERVER_LOST);
    }
    s->down_since_us = 0;
    if (rc != COMFY_OK) {
        *done = true;
        exec_fail(r->ctx, false, "asking %s about prompt %s: %s", r->lease.id, r->prompt_id,
                  err);
        return end_prompt(r, EXEC_FAILED, "failed", CF_DONE_FAILED);
    }
    if (w == W_FINISHED) {
        *done = true;
        enum exec_result res = collect(r, entry);
        cJSON_Delete(entry);
        return res;
    }
    if (w == W_UNKNOWN) {
        *done = true;
        exec_fail(r->ctx, true, "server %s no longer knows prompt %s (restarted?)",
                  r->lease.id, r->prompt_id);
        return end_prompt(r, EXEC_FAILED, "lost", CF_SERVER_LOST);
    }
    if (w == W_RUNNING && strcmp(r->state, "queued") == 0)
        cf_track_store(r, "running", NULL, true);
    return EXEC_OK;
}

/* Follows the posted (or adopted) prompt to its end. */
static enum exec_result watch_loop(struct cf_run *r, comfy_watch *w)
{
    const bb_config *cfg = r->ctx->cfg;
    int poll_ms = cfg && cfg->comfyui.poll_interval_ms > 0 ? cfg->comfyui.poll_interval_ms
                                                           : 1000;
    int tmo = r->ctx->preset ? r->ctx->preset->timeout_sec : 0;
    struct loop_state s = {
        .deadline_us = tmo > 0 ? r->started_us + (int64_t)tmo * 1000000 : 0,
        .socket_down = w == NULL,
    };
    s.next_poll_us = bb_mono_us() + (int64_t)poll_ms * 1000;
    for (;;) {
        if (canceled(r))
            return on_cancel(r);
        int64_t now = bb_mono_us();
        if (s.deadline_us && now >= s.deadline_us) {
            stop_prompt(r);
            exec_fail(r->ctx, false, "timed out after %d s (the preset's timeoutSec); "
                      "prompt %s interrupted on %s", tmo, r->prompt_id, r->lease.id);
            return end_prompt(r, EXEC_FAILED, "interrupted", CF_DONE_FAILED);
        }
        bool poll = now >= s.next_poll_us;
        if (w != NULL) {
            cJSON *msg = NULL;
            enum comfy_watch_rc wr = comfy_watch_next(w, WAIT_SLICE_MS, &msg);
            if (wr == COMFY_WATCH_MSG) {
                char err[sizeof r->ctx->error] = "";
                enum cf_event ev = cf_track_message(r, msg, err, sizeof err);
                cJSON_Delete(msg);
                s.socket_down = false;
                if (ev == CF_FINISHED)
                    poll = true;
                if (ev == CF_EXEC_ERROR) {
                    exec_fail(r->ctx, false, "%s", err);
                    return end_prompt(r, EXEC_FAILED, "failed", CF_DONE_FAILED);
                }
                if (ev == CF_INTERRUPTED) {
                    if (canceled(r))
                        return on_cancel(r);
                    exec_fail(r->ctx, false, "prompt %s was interrupted on server %s",
                              r->prompt_id, r->lease.id);
                    return end_prompt(r, EXEC_FAILED, "interrupted", CF_DONE_FAILED);
                }
            } else if (wr == COMFY_WATCH_DOWN) {
                if (!s.socket_down)
                    exec_logf(r->ctx, LOG_STREAM, "server %s: socket down, polling /history",
                              r->lease.id);
                s.socket_down = true;
            }
        } else if (!bb_sleep_cancelable(WAIT_SLICE_MS, r->ctx->cancel, 50)) {
            continue;
        }
        cf_track_store(r, NULL, NULL, false);
        if (r->ctx->tick)
            r->ctx->tick(r->ctx->ud);
        if (!poll)
            continue;
        /* the socket's messages carry the progress; /history while it is
         * down, and now and then while it is up in case a message was lost */
        s.next_poll_us = bb_mono_us() + (int64_t)poll_ms * 1000 * (s.socket_down ? 1 : 5);
        bool done = false;
        enum exec_result res = poll_once(r, &s, &done);
        if (done)
            return res;
    }
}

/* ---- posting ------------------------------------------------------------ */

/* The local file of `file` param pm (a staged upload, or a path in the
 * input root, checked at submit and again here: it must still resolve
 * inside the root) into path; false when the job gives none. */
static bool param_file(const struct cf_run *r, const bb_param *pm, const cJSON *v,
                       char *path, size_t cap)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(r->ctx->staged_files, pm->name);
    if (cJSON_IsString(st))
        return (size_t)snprintf(path, cap, "%s", st->valuestring) < cap;
    const char *root = r->ctx->cfg ? r->ctx->cfg->input_root : NULL;
    char joined[4096], real[PATH_MAX], rroot[PATH_MAX];
    if (!cJSON_IsString(v) || root == NULL ||
        (size_t)snprintf(joined, sizeof joined, "%s/%s", root, v->valuestring) >= sizeof joined ||
        realpath(joined, real) == NULL || realpath(root, rroot) == NULL)
        return false;
    size_t n = strlen(rroot);
    if (strncmp(real, rroot, n) != 0 || real[n] != '/')
        return false;
    return (size_t)snprintf(path, cap, "%s", real) < cap;
}

/* The job's params with each `file` param uploaded to the server and
 * replaced by the name it got there.  A new object (caller deletes). */
static cJSON *upload_files(struct cf_run *r, enum exec_result *res)
{
    cJSON *params = r->ctx->params ? cJSON_Duplicate(r->ctx->params, true)
                                   : cJSON_CreateObject();
    if (params == NULL) {
        *res = exec_fail(r->ctx, true, "out of memory");
        return NULL;
    }
    const bb_preset *p = r->ctx->preset;
    for (size_t i = 0; p && i < p->nparams; i++) {
        const bb_param *pm = &p->params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, pm->name);
        if (pm->type != BB_PT_FILE || v == NULL)
            continue;
        char path[PATH_MAX];
        if (!param_file(r, pm, v, path, sizeof path)) {
            cJSON_Delete(params);
            *res = exec_fail(r->ctx, false, "param %s: the file is gone or outside the "
                             "input root", pm->name);
            return NULL;
        }
        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        char got[512], err[384];
        enum comfy_rc rc = comfy_upload(r->lease.url, path, name, &r->opts, got, sizeof got,
                                        err, sizeof err);
        if (rc != COMFY_OK) {
            cJSON_Delete(params);
            *res = rc == COMFY_CANCELED ? EXEC_CANCELED
                 : exec_fail(r->ctx, rc == COMFY_DOWN || rc == COMFY_GARBAGE,
                             "uploading param %s to %s: %s", pm->name, r->lease.id, err);
            return NULL;
        }
        cJSON *nv = cJSON_CreateString(got);
        if (nv == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(params, pm->name, nv)) {
            cJSON_Delete(nv);
            cJSON_Delete(params);
            *res = exec_fail(r->ctx, true, "out of memory");
            return NULL;
        }
        exec_logf(r->ctx, LOG_STREAM, "param %s uploaded to %s as %s", pm->name, r->lease.id,
                  got);
    }
    return params;
}

/* Builds the graph, stores the row and posts a new prompt; then watches
 * it.  w is the watch (opened here, closed by the caller through *wp). */
static enum exec_result post_new(struct cf_run *r, comfy_watch **wp)
{
    enum exec_result res = EXEC_FAILED;
    if (r->ctx->preset == NULL || r->ctx->preset->comfy_graph == NULL)
        return exec_fail(r->ctx, false, "preset has no graph");
    cJSON *params = upload_files(r, &res);
    if (params == NULL)
        return res;
    cJSON *tmpl = cJSON_Parse(r->ctx->preset->comfy_graph);
    char err[384] = "";
    r->graph = tmpl ? comfy_graph_substitute(tmpl, params, err, sizeof err) : NULL;
    cJSON_Delete(tmpl);
    cJSON_Delete(params);
    if (r->graph == NULL)
        return exec_fail(r->ctx, false, "graph of preset %s: %s", r->ctx->preset->id,
                         err[0] ? err : "out of memory");
    comfy_new_uuid(r->prompt_id);
    r->number = -1;
    if (cf_track_init(r) != 0)
        return exec_fail(r->ctx, true, "out of memory");
    comfy_prompt_rec row = {.prompt_id = r->prompt_id, .job_id = r->ctx->job_id,
                            .attempt = r->attempt, .server_id = r->lease.id,
                            .state = "posting"};
    r->state = "posting";
    if (r->ctx->db && repo_comfy_prompt_insert(r->ctx->db, &row) != 0)
        return exec_fail(r->ctx, true, "cannot store prompt %s", r->prompt_id);
    *wp = r->lease.ws ? comfy_watch_open(r->lease.ws, r->prompt_id) : NULL;
    cJSON *node_errors = NULL;
    enum comfy_rc rc = comfy_post_prompt(r->lease.url, r->graph, comfy_ws_client_id(),
                                         r->prompt_id, &r->opts, &r->number, &node_errors,
                                         err, sizeof err);
    cJSON_Delete(node_errors);
    if (rc == COMFY_REJECTED) {
        exec_fail(r->ctx, false, "server %s rejected the prompt: %s", r->lease.id, err);
        return end_prompt(r, EXEC_FAILED, "failed", CF_DONE_FAILED);
    }
    if (rc == COMFY_CANCELED || (rc == COMFY_OK && canceled(r)))
        return on_cancel(r);
    if (rc != COMFY_OK) {
        /* the post may have reached the server: 'lost' rows are asked about
         * again by the next attempt before it posts */
        exec_fail(r->ctx, rc == COMFY_DOWN || rc == COMFY_GARBAGE,
                  "posting the prompt to %s: %s", r->lease.id, err);
        bool maybe_queued = rc == COMFY_DOWN || rc == COMFY_GARBAGE;
        return end_prompt(r, EXEC_FAILED, maybe_queued ? "lost" : "failed",
                          rc == COMFY_DOWN ? CF_SERVER_LOST : CF_DONE_FAILED);
    }
    cJSON *num = cJSON_CreateNumber((double)r->number);
    if (num && !cJSON_ReplaceItemInObjectCaseSensitive(r->detail, "number", num))
        cJSON_Delete(num);
    r->detail_dirty = true;
    exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s: queued #%lld", r->prompt_id, r->lease.id,
              (long long)r->number);
    cf_track_store(r, "queued", NULL, true);
    return watch_loop(r, *wp);
}

/* ---- earlier prompts ---------------------------------------------------- */

/* Adopts earlier prompt rec (on the leased server): its graph is not kept
 * by batchbox, so the node classes come from the preset's template. */
static int adopt(struct cf_run *r, const comfy_prompt_rec *rec, const char *state)
{
    snprintf(r->prompt_id, sizeof r->prompt_id, "%s", rec->prompt_id);
    r->number = -1;
    cJSON_Delete(r->graph);
    r->graph = r->ctx->preset && r->ctx->preset->comfy_graph
               ? cJSON_Parse(r->ctx->preset->comfy_graph) : cJSON_CreateObject();
    if (r->graph == NULL || cf_track_init(r) != 0)
        return -1;
    r->state = state;
    return 0;
}

/* Looks at the job's earlier prompts on the chosen server, newest first.
 * *handled true: the attempt's result is in *res (collected, watched or
 * failed); false: post a new prompt. */
static void resume_earlier(struct cf_run *r, comfy_watch **wp, bool *handled,
                           enum exec_result *res)
{
    *handled = false;
    comfy_prompt_rec *recs = NULL;
    size_t n = 0;
    if (r->ctx->db == NULL ||
        repo_comfy_prompt_list(r->ctx->db, r->ctx->job_id, MAX_EARLIER, &recs, &n) != 0)
        return;
    for (size_t k = n; k-- > 0 && !*handled;) {
        comfy_prompt_rec *p = &recs[k];
        if (strcmp(p->server_id, r->lease.id) != 0 || strcmp(p->state, "failed") == 0 ||
            strcmp(p->state, "interrupted") == 0)
            continue;
        char err[384];
        enum where w;
        cJSON *entry = NULL;
        enum comfy_rc rc = locate(r, p->prompt_id, &w, &entry, err, sizeof err);
        if (rc != COMFY_OK) {
            *handled = true;
            *res = rc == COMFY_CANCELED ? EXEC_CANCELED
                 : exec_fail(r->ctx, rc == COMFY_DOWN || rc == COMFY_GARBAGE,
                             "asking %s about earlier prompt %s: %s", r->lease.id,
                             p->prompt_id, err);
            break;
        }
        if (w == W_UNKNOWN) {
            if (strcmp(p->state, "lost") != 0 && strcmp(p->state, "succeeded") != 0 &&
                repo_comfy_prompt_update(r->ctx->db, p->prompt_id, "lost",
                                         "the server no longer knows it", NULL) != 0)
                bb_warn("could not store a ComfyUI prompt's state", "prompt", p->prompt_id);
            continue;
        }
        *handled = true;
        if (adopt(r, p, w == W_QUEUED ? "queued" : "running") != 0) {
            cJSON_Delete(entry);
            *res = exec_fail(r->ctx, true, "out of memory");
            break;
        }
        if (w == W_FINISHED) {
            exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s finished earlier: collecting it",
                      r->prompt_id, r->lease.id);
            *res = collect(r, entry);
            cJSON_Delete(entry);
            break;
        }
        exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s still %s: watching it", r->prompt_id,
                  r->lease.id, w == W_QUEUED ? "queued" : "running");
        cf_track_store(r, r->state, NULL, true);
        *wp = r->lease.ws ? comfy_watch_open(r->lease.ws, r->prompt_id) : NULL;
        /* the prompt may have ended between locate and the watch's start */
        *res = watch_loop(r, *wp);
    }
    for (size_t k = 0; k < n; k++)
        comfy_prompt_clear(&recs[k]);
    free(recs);
}

/* ---- the attempt --------------------------------------------------------- */

/* The server the placement chose: resources {"comfyui": "ID"}. */
static int placed_server(const exec_ctx *ctx, char *out, size_t cap)
{
    const char *res = ctx->job ? ctx->job->resources : NULL;
    cJSON *o = res ? cJSON_Parse(res) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "comfyui");
    int rc = -1;
    if (cJSON_IsString(id) && strlen(id->valuestring) < cap) {
        snprintf(out, cap, "%s", id->valuestring);
        rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}

static enum exec_result comfyui_run(exec_ctx *ctx)
{
    struct cf_run r = {.ctx = ctx, .started_us = bb_mono_us(), .state = "posting"};
    long req_ms = ctx->cfg ? ctx->cfg->comfyui.request_timeout_ms : 0;
    r.opts = (struct comfy_opts){.timeout_ms = req_ms, .cancel = ctx->cancel};
    r.quiet = (struct comfy_opts){.timeout_ms = req_ms};
    r.attempt = ctx->job ? ctx->job->attempts : 1;
    char server[65];
    if (placed_server(ctx, server, sizeof server) != 0)
        return exec_fail(ctx, false, "the job was not placed on a ComfyUI server "
                         "(its resources name none)");
    if (g_pool == NULL)
        return exec_fail(ctx, false, "the ComfyUI server pool is not running");
    if (g_pool->acquire(server, &r.lease) != 0)
        return exec_fail(ctx, true, "ComfyUI server %s no longer exists", server);
    r.leased = true;
    comfy_watch *w = NULL;
    bool handled = false;
    enum exec_result res = EXEC_FAILED;
    resume_earlier(&r, &w, &handled, &res);
    if (!handled) {
        r.prompt_id[0] = '\0';
        res = canceled(&r) ? EXEC_CANCELED : post_new(&r, &w);
    }
    if (w != NULL)
        comfy_watch_close(w);
    g_pool->release(&r.lease);
    cJSON_Delete(r.graph);
    cJSON_Delete(r.detail);
    return res;
}

static const struct workflow_key comfyui_keys[] = {
    {"graph", true}, {"servers", false}, {NULL, false},
};

/* "comfyui:FOLDER": the models the enabled servers list in a catalogue
 * folder (service/comfy_pool.c keeps the catalogue). */
static const char *const comfyui_sources[] = {
    "comfyui:checkpoints", "comfyui:loras", "comfyui:vae", "comfyui:diffusion_models",
    "comfyui:text_encoders", "comfyui:controlnet", "comfyui:upscale_models",
    "comfyui:embeddings", NULL,
};

/* The choices of one of comfyui_sources (caller frees). */
static cJSON *comfyui_resolve_options(const bb_config *cfg, const char *source)
{
    (void)cfg;
    return g_pool && g_pool->choices ? g_pool->choices(source + strlen("comfyui:"))
                                     : cJSON_CreateArray();
}

/* The prompt's history is kept for the record, not shown as an output. */
static const char *const comfyui_records[] = {HISTORY_FILE, NULL};

const struct workflow workflow_comfyui = {
    .name = "comfyui",
    .id = BB_WF_COMFYUI,
    .flags = WF_LIVE_OPTIONS,
    .default_timeout_sec = 3600,
    .keys = comfyui_keys,
    .run = comfyui_run,
    .retryable = workflow_retryable_as_reported,
    .option_sources = comfyui_sources,
    .resolve_options = comfyui_resolve_options,
    .record_files = comfyui_records,
};

/* translate.c — the `translate` workflow module (infra/exec/workflow.h;
 * docs/translate.md).  One attempt: read the staged document, recognise
 * its format, parse it into segments (domain/translate.h), take exact
 * matches of reviewed segments from the translation memory
 * (infra/db/repo_tm.h), send the rest through the preset's engine
 * (tr_engine_translate), run QA on every segment, store the segments for
 * review (infra/db/repo_segment.h) and write the outputs: the translated
 * document in the input's format, bilingual.xlf, qa.json, report.html and
 * manifest.json.
 *
 * A job whose mode is "rebuild" (the review's rebuild action: a child of
 * the reviewed job, same input) calls no engine: it parses the same
 * document, takes every target from the parent's stored segments, writes
 * the same outputs and adds the reviewed segments to the memory.
 *
 * Runs on the calling worker thread; everything allocated here belongs to
 * the struct tr_run of one call and is freed before run returns.  The
 * database (ctx->db) is optional: without it (unit tests) there is no
 * memory and nothing is stored. */
#include "infra/exec/translate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/job.h"
#include "domain/translate.h"
#include "infra/db/repo_segment.h"
#include "infra/exec/workflow.h"
#include "util/err.h"
#include "util/files.h"

#define DOC_MAX_BYTES ((size_t)64 << 20)
#define MAX_SEGMENTS 200000

struct tr_run {
    exec_ctx *ctx;
    const bb_translate *cfg;
    const char *pair;
    bool rebuild;
    int64_t owner;             /* memory owner: the job's, 0 when shared */
    const char *input_name;    /* basename of the input (borrowed) */
    char *data;                /* the document */
    size_t len;
    struct tr_doc doc;
    struct tr_glossary gloss;
    size_t tm_hits, mt_count;
};

static void run_free(struct tr_run *r)
{
    free(r->data);
    tr_doc_free(&r->doc);
    tr_glossary_free(&r->gloss);
}

#define say(r, ...) exec_logf((r)->ctx, "translate", __VA_ARGS__)

/* ---- steps ----------------------------------------------------------------- */

static enum exec_result step_read(struct tr_run *r)
{
    exec_ctx *ctx = r->ctx;
    if (!ctx->input_path)
        return exec_fail(ctx, false, "the job has no document to translate (md)");
    const char *slash = strrchr(ctx->input_path, '/');
    r->input_name = slash ? slash + 1 : ctx->input_path;
    r->data = bb_read_file(ctx->input_path, DOC_MAX_BYTES, &r->len);
    if (!r->data)
        return exec_fail(ctx, false, "cannot read the document %s (missing, or over %zu MiB)",
                         r->input_name, DOC_MAX_BYTES >> 20);
    if (memchr(r->data, '\0', r->len))
        return exec_fail(ctx, false, "%s is not a text document (it holds NUL bytes)",
                         r->input_name);
    if (r->cfg->glossary &&
        tr_glossary_load(r->cfg->glossary, &r->gloss, ctx->error, sizeof ctx->error) != 0)
        return exec_fail(ctx, false, "translate.glossary: %s", ctx->error);
    return EXEC_OK;
}

static enum exec_result step_parse(struct tr_run *r, enum tr_format fmt)
{
    char why[400];
    if (tr_doc_parse(fmt, r->data, r->len, &r->doc, why, sizeof why) != 0)
        return exec_fail(r->ctx, false, "%s: %s", r->input_name, why);
    if (r->doc.nsegs > MAX_SEGMENTS)
        return exec_fail(r->ctx, false, "%s has %zu segments (at most %d)", r->input_name,
                         r->doc.nsegs, MAX_SEGMENTS);
    say(r, "%s: %s, %zu segments", r->input_name, tr_format_name(fmt), r->doc.nsegs);
    return EXEC_OK;
}

static void set_origin(struct tr_seg *s, const char *origin, const char *state)
{
    snprintf(s->origin, sizeof s->origin, "%s", origin);
    snprintf(s->state, sizeof s->state, "%s", state);
}

/* The memory first, then the engine for what it did not know. */
static enum exec_result step_translate(struct tr_run *r)
{
    exec_ctx *ctx = r->ctx;
    size_t n = r->doc.nsegs;
    struct tr_seg *segs = r->doc.segs;
    const char **src = calloc(n + 1, sizeof *src);
    char **got = calloc(n + 1, sizeof *got);
    size_t *idx = calloc(n + 1, sizeof *idx);
    enum exec_result res = EXEC_OK;
    if (!src || !got || !idx)
        res = exec_fail(ctx, true, "out of memory");
    for (size_t i = 0; res == EXEC_OK && i < n; i++)
        src[i] = segs[i].source;
    if (res == EXEC_OK && ctx->db && n) {
        if (repo_tm_lookup_many(ctx->db, r->owner, r->pair, src, n, got, &r->tm_hits) != BB_OK)
            res = exec_fail(ctx, true, "cannot read the translation memory");
    }
    size_t ask = 0;
    for (size_t i = 0; res == EXEC_OK && i < n; i++) {
        if (got[i]) {
            segs[i].target = got[i];
            got[i] = NULL;
            set_origin(&segs[i], "tm", "translated");
        } else {
            idx[ask] = i;
            src[ask++] = segs[i].source;
        }
    }
    if (res == EXEC_OK)
        say(r, "memory: %zu of %zu segments found (%s)", r->tm_hits, n,
            ctx->db ? (r->owner ? "the owner's entries" : "shared entries") : "no database");
    if (res == EXEC_OK && ask) {
        say(r, "engine %s (%s): %zu segments", r->cfg->provider, r->pair, ask);
        char err[512] = "";
        res = tr_engine_translate(r->cfg, r->pair, src, ask, got, ctx, err, sizeof err);
        if (res == EXEC_FAILED)
            snprintf(ctx->error, sizeof ctx->error, "%s", err);
        for (size_t k = 0; res == EXEC_OK && k < ask; k++) {
            segs[idx[k]].target = got[k];
            got[k] = NULL;
            set_origin(&segs[idx[k]], "mt", "translated");
        }
        r->mt_count = ask;
    }
    for (size_t i = 0; got && i < n; i++)
        free(got[i]);
    free(got);
    free(src);
    free(idx);
    return res;
}

/* Rebuild: every target from the parent's stored segments. */
static enum exec_result step_from_segments(struct tr_run *r)
{
    exec_ctx *ctx = r->ctx;
    const job *j = ctx->job;
    if (!ctx->db || !j || j->parent_job_id <= 0)
        return exec_fail(ctx, false, "a rebuild needs the reviewed job's segments");
    seg_rec *recs = NULL;
    size_t n = 0;
    if (repo_segment_load_all(ctx->db, j->parent_job_id, 0, &recs, &n) != BB_OK)
        return exec_fail(ctx, true, "cannot read the segments of job %lld",
                         (long long)j->parent_job_id);
    enum exec_result res = EXEC_OK;
    size_t used = 0;
    for (size_t i = 0; i < n && res == EXEC_OK; i++) {
        int64_t k = recs[i].n - 1;
        if (k < 0 || (size_t)k >= r->doc.nsegs ||
            strcmp(recs[i].source, r->doc.segs[k].source) != 0) {
            res = exec_fail(ctx, false, "segment %lld of job %lld does not match the document "
                            "(was the input changed?)", (long long)recs[i].n,
                            (long long)j->parent_job_id);
            break;
        }
        struct tr_seg *s = &r->doc.segs[k];
        if (recs[i].target && !(s->target = strdup(recs[i].target))) {
            res = exec_fail(ctx, true, "out of memory");
            break;
        }
        set_origin(s, recs[i].origin ? recs[i].origin : "mt",
                   recs[i].state ? recs[i].state : "translated");
        used++;
    }
    for (size_t i = 0; i < n; i++)
        seg_rec_clear(&recs[i]);
    free(recs);
    if (res == EXEC_OK)
        say(r, "rebuild: %zu stored segments of job %lld, no engine", used,
            (long long)j->parent_job_id);
    return res;
}

static enum exec_result step_qa(struct tr_run *r)
{
    size_t flagged = 0;
    for (size_t i = 0; i < r->doc.nsegs; i++) {
        struct tr_seg *s = &r->doc.segs[i];
        free(s->flags);
        s->flags = tr_qa_segment(s->source, s->target ? s->target : "",
                                 r->gloss.n ? &r->gloss : NULL);
        if (!s->flags)
            return exec_fail(r->ctx, true, "out of memory");
        flagged += strcmp(s->flags, "[]") != 0;
    }
    say(r, "qa: %zu of %zu segments flagged", flagged, r->doc.nsegs);
    return EXEC_OK;
}

/* Stores the segments for review (the first run; a rebuild keeps the
 * parent's), or adds the parent's reviewed ones to the memory (rebuild). */
static enum exec_result step_store(struct tr_run *r)
{
    exec_ctx *ctx = r->ctx;
    if (!ctx->db || !ctx->job)
        return EXEC_OK;
    if (r->rebuild) {
        size_t added = 0;
        bool shared = r->owner == 0;
        if (repo_tm_add_reviewed(ctx->db, ctx->job->parent_job_id, ctx->job->owner_id, shared,
                                 r->pair, &added) != BB_OK)
            return exec_fail(ctx, true, "cannot add the reviewed segments to the memory");
        say(r, "memory: %zu reviewed segments added%s", added, shared ? " (shared)" : "");
        return EXEC_OK;
    }
    size_t n = r->doc.nsegs;
    seg_rec *recs = calloc(n + 1, sizeof *recs);
    if (!recs)
        return exec_fail(ctx, true, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct tr_seg *s = &r->doc.segs[i];
        recs[i] = (seg_rec){.n = s->n, .source = s->source, .target = s->target,
                            .origin = (char *)s->origin, .state = (char *)s->state,
                            .flags = s->flags, .meta = s->meta};
    }
    int rc = repo_segment_replace(ctx->db, ctx->job->id, recs, n);
    free(recs);          /* the strings are the document's */
    if (rc != BB_OK)
        return exec_fail(ctx, true, "cannot store the segments");
    return EXEC_OK;
}

static enum exec_result write_out(struct tr_run *r, const char *name, const char *data,
                                  size_t len)
{
    exec_ctx *ctx = r->ctx;
    if (!data)
        return exec_fail(ctx, true, "out of memory writing %s", name);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", ctx->outdir, name) >= sizeof path)
        return exec_fail(ctx, false, "the output path of %s is too long", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return exec_fail(ctx, true, "cannot write %s: %s", name, strerror(errno));
    int rc = bb_write_all(fd, data, len);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0)
        return exec_fail(ctx, true, "cannot write %s: %s", name, strerror(errno));
    return EXEC_OK;
}

/* "doc.md" -> "doc.spa.md": the target language before the extension. */
static void output_name(const struct tr_run *r, char *out, size_t cap)
{
    const char *tgt = strchr(r->pair, '-') + 1;
    const char *dot = strrchr(r->input_name, '.');
    if (!dot || dot == r->input_name)
        snprintf(out, cap, "%s.%s", r->input_name, tgt);
    else
        snprintf(out, cap, "%.*s.%s%s", (int)(dot - r->input_name), r->input_name, tgt, dot);
    if (out[0] == '.')
        out[0] = '_';   /* no artifact name starts with a dot */
}

static enum exec_result step_outputs(struct tr_run *r)
{
    char name[512];
    output_name(r, name, sizeof name);
    struct tr_run_info ri = {r->cfg->provider, r->pair, r->input_name, r->doc.fmt, r->rebuild};
    size_t len = 0;
    char *doc = tr_doc_write(&r->doc, &len);
    enum exec_result res = write_out(r, name, doc, len);
    free(doc);
    const struct tr_seg *s = r->doc.segs;
    size_t n = r->doc.nsegs;
    struct { const char *name; char *text; } outs[] = {
        {"bilingual.xlf", res == EXEC_OK ? tr_write_bilingual(&ri, s, n) : NULL},
        {"qa.json", res == EXEC_OK ? tr_write_qa_json(s, n) : NULL},
        {"report.html", res == EXEC_OK ? tr_write_report_html(&ri, s, n) : NULL},
        {"manifest.json", res == EXEC_OK ? tr_write_manifest(&ri, s, n, name) : NULL},
    };
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        if (res == EXEC_OK)
            res = write_out(r, outs[i].name, outs[i].text,
                            outs[i].text ? strlen(outs[i].text) : 0);
        free(outs[i].text);
    }
    if (res == EXEC_OK)
        say(r, "wrote %s, bilingual.xlf, qa.json, report.html, manifest.json "
            "(memory hits: %zu, engine: %zu)", name, r->tm_hits, r->mt_count);
    return res;
}

/* ---- the module ---------------------------------------------------------------- */

static enum exec_result translate_run(exec_ctx *ctx)
{
    ctx->error[0] = '\0';
    ctx->retryable = false;
    struct tr_run r = {.ctx = ctx, .cfg = ctx->preset ? ctx->preset->translate : NULL};
    if (!r.cfg)
        return exec_fail(ctx, false, "the preset has no \"translate\" object");
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(ctx->params, "pair");
    r.pair = cJSON_IsString(pp) && strchr(pp->valuestring, '-') ? pp->valuestring
                                                                 : r.cfg->pair;
    r.rebuild = ctx->job && ctx->job->mode && strcmp(ctx->job->mode, "rebuild") == 0;
    bool shared = r.cfg->memory && strcmp(r.cfg->memory, "shared") == 0;
    r.owner = shared || !ctx->job ? 0 : ctx->job->owner_id;

    enum exec_result res = step_read(&r);
    if (res == EXEC_OK)
        res = step_parse(&r, tr_format_detect(r.input_name, r.data, r.len));
    if (res == EXEC_OK)
        res = r.rebuild ? step_from_segments(&r) : step_translate(&r);
    if (res == EXEC_OK)
        res = step_qa(&r);
    if (res == EXEC_OK)
        res = step_outputs(&r);
    if (res == EXEC_OK)
        res = step_store(&r);
    if (res == EXEC_OK && ctx->progress)
        ctx->progress(ctx->ud, 1.0);
    run_free(&r);
    return res;
}

static const struct workflow_key translate_keys[] = {{"translate", true}, {NULL, false}};
static const char *const translate_sources[] = {"translate:pairs", NULL};

/* translate:pairs: the pairs apertium has installed.  Caller frees. */
static cJSON *translate_resolve_options(const bb_config *cfg, const char *source)
{
    (void)cfg;
    return strcmp(source, translate_sources[0]) == 0 ? tr_apertium_pairs() : NULL;
}

const struct workflow workflow_translate = {
    .name = "translate",
    .id = BB_WF_TRANSLATE,
    .flags = WF_NEEDS_INPUT,
    .default_timeout_sec = 3600,
    .keys = translate_keys,
    .run = translate_run,
    .retryable = workflow_retryable_as_reported,
    .option_sources = translate_sources,
    .resolve_options = translate_resolve_options,
};

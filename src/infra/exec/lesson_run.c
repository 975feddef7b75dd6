/* lesson_run.c — the lesson workflow's executor; see lesson_run.h.
 *
 * Memory: everything allocated here is owned by the struct run of one call
 * and released by run_free() before exec_lesson returns. */
#include "infra/exec/lesson_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/artifact.h"
#include "domain/job.h"
#include "domain/lesson.h"
#include "domain/render.h"
#include "infra/exec/lesson_translate.h"
#include "infra/exec/tts.h"
#include "infra/exec/workflow.h"
#include "infra/net/notion.h"
#include "util/hash.h"
#include "util/util.h"
#include "util/wav.h"

#define MAX_ARTIFACTS 100000  /* files listed in one manifest */

/* Progress of each step's end (docs/lesson-workflow.md: every step
 * advances progress). */
#define P_PARSED 0.05
#define P_SPOKEN 0.80
#define P_JOINED 0.84
#define P_RENDERED 0.88
#define P_PUBLISHED 0.93
#define P_MANIFEST 0.97

struct run {
    exec_ctx *ctx;
    const struct lesson_job *lj;
    struct lesson_run_out *out;
    int64_t deadline_us;              /* 0: none (preset timeoutSec) */

    struct lesson lesson;
    enum lesson_mode mode;
    struct lesson_segment *segs;      /* nseg; malloc'd by lesson_segments */
    size_t nseg;
    const bb_voice **voices;          /* per segment, borrowed from cfg */
    char **seg_files;                 /* per segment: "seg-001.wav" */
    wav_span *spans;
    struct render_timing *timings;
    struct render_artifact *arts;     /* manifest entries; strings owned */
    size_t narts;
    struct lesson_tr tr;              /* translateTo: the lines' translations */
};

static void run_free(struct run *r)
{
    lesson_tr_free(&r->tr);
    lesson_free(&r->lesson);
    free(r->segs);
    free(r->voices);
    for (size_t i = 0; r->seg_files && i < r->nseg; i++)
        free(r->seg_files[i]);
    free(r->seg_files);
    free(r->spans);
    free(r->timings);
    for (size_t i = 0; i < r->narts; i++) {
        free((char *)r->arts[i].name);
        free((char *)r->arts[i].sha256);
        free((char *)r->arts[i].url);
    }
    free(r->arts);
}

/* ---- reporting ---------------------------------------------------------- */

/* Log lines go to the "lesson" stream; failures set ctx->error.  Both
 * through the calls every workflow uses (exec.h). */
#define say(r, ...) exec_logf((r)->ctx, "lesson", __VA_ARGS__)
#define fail(r, retry, ...) exec_fail((r)->ctx, (retry), __VA_ARGS__)

static void step_log(void *ud, const char *line)
{
    struct run *r = ud;
    say(r, "%s", line);
}

static void progress(struct run *r, double f)
{
    if (r->ctx->progress)
        r->ctx->progress(r->ctx->ud, f);
    if (r->ctx->tick)
        r->ctx->tick(r->ctx->ud);
}

/* Between steps and segments: canceled, or past the preset's timeout?
 * Returns EXEC_OK to go on. */
static enum exec_result checkpoint(struct run *r)
{
    if (r->ctx->cancel && atomic_load(r->ctx->cancel))
        return EXEC_CANCELED;
    if (r->deadline_us && bb_mono_us() > r->deadline_us)
        return fail(r, true, "the lesson took longer than the preset's timeoutSec (%d s)",
                    r->lj->preset->timeout_sec);
    return EXEC_OK;
}

/* ---- files --------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (bb_write_all(fd, data, len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

/* The manifest's artifact list: every regular file of outdir except the
 * manifest itself, sorted by name, with size, sha256, type and URL. */
static int list_artifacts(struct run *r)
{
    char **names = NULL;
    size_t n = 0;
    if (bb_dir_names(r->ctx->outdir, true, MAX_ARTIFACTS, &names, &n) != 0)
        return -1;
    int rc = 0;
    if (n > 0 && !(r->arts = calloc(n, sizeof *r->arts)))
        rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(names[i], "manifest.json") == 0)
            continue;
        char path[4096], hex[65];
        int64_t size = 0;
        snprintf(path, sizeof path, "%s/%s", r->ctx->outdir, names[i]);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (bb_sha256_file(path, hex, &size) != 0) {
            rc = -1;
            break;
        }
        size_t ul = strlen(r->lj->url_prefix) + strlen(names[i]) + 1;
        char *url = malloc(ul);
        struct render_artifact *a = &r->arts[r->narts];
        a->name = names[i];
        names[i] = NULL;             /* the artifact owns it now */
        a->sha256 = strdup(hex);
        a->url = url;
        r->narts++;
        if (!url || !a->sha256) {
            rc = -1;
            break;
        }
        snprintf(url, ul, "%s%s", r->lj->url_prefix, a->name);
        a->size = size;
        a->content_type = bb_content_type_for(a->name);
    }
    bb_strv_free(names, n);
    return rc;
}

/* ---- steps --------------------------------------------------------------- */

static enum exec_result step_parse(struct run *r)
{
    size_t len = 0;
    char *src = bb_read_file(r->lj->input_path, LESSON_MAX_BYTES, &len);
    if (!src) {
        if (errno == EFBIG)
            return fail(r, false, "the lesson is larger than %u bytes", LESSON_MAX_BYTES);
        return fail(r, errno == EIO, "cannot read the lesson: %s", strerror(errno));
    }
    if (write_file(r->ctx->outdir, "lesson.md", src, len) != 0) {
        free(src);
        return fail(r, true, "cannot write lesson.md: %s", strerror(errno));
    }
    struct lesson_error perr = {0};
    int rc = lesson_parse(src, len, &r->lesson, &perr);
    free(src);
    if (rc != 0)
        return fail(r, false, "the lesson is malformed: %s", perr.message);
    if (lesson_mode_parse(r->lj->mode ? r->lj->mode : "auto", &r->mode) != 0)
        r->mode = LESSON_MODE_AUTO;
    r->mode = lesson_mode_resolve(&r->lesson, r->mode);
    size_t nsec = r->lesson.nsections, nspk = r->lesson.nspeakers;
    say(r, "parse: \"%s\"%s%s: %zu section%s, %zu speaker%s, %s mode", r->lesson.title_plain,
        r->lesson.level ? ", level " : "", r->lesson.level ? r->lesson.level : "", nsec,
        nsec == 1 ? "" : "s", nspk, nspk == 1 ? "" : "s", lesson_mode_name(r->mode));
    progress(r, P_PARSED);
    return EXEC_OK;
}

/* translateTo: the dialogue lines and vocabulary terms, translated
 * through the memory and the preset's engine (lesson_translate.c). */
static enum exec_result step_translate(struct run *r)
{
    const bb_preset *p = r->lj->preset;
    enum exec_result res = lesson_translate(r->ctx, p, &r->lesson, &r->tr);
    if (res == EXEC_OK)
        say(r, "translate: %zu line%s into %s (%s), %d from the translation memory",
            r->tr.lines, r->tr.lines == 1 ? "" : "s", p->translate_to, r->tr.pair,
            r->tr.tm_hits);
    return res;
}

/* Every segment gets a voice: the job's voiceId for all, or one per
 * speaker chosen by accent (tts_assign_voices). */
static enum exec_result choose_voices(struct run *r)
{
    const bb_config *cfg = r->lj->cfg;
    if (!(r->voices = calloc(r->nseg, sizeof *r->voices)))
        return fail(r, true, "out of memory");
    if (r->lj->voice_id) {
        const bb_voice *v = config_voice(cfg, r->lj->voice_id);
        if (!v)
            return fail(r, false, "voice \"%s\" is no longer configured", r->lj->voice_id);
        for (size_t i = 0; i < r->nseg; i++)
            r->voices[i] = v;
        say(r, "voices: every line → %s (%s %s)", v->id, v->provider, v->provider_voice);
        return EXEC_OK;
    }
    const char **speakers = calloc(r->nseg, sizeof *speakers);
    if (!speakers)
        return fail(r, true, "out of memory");
    for (size_t i = 0; i < r->nseg; i++)
        speakers[i] = r->segs[i].speaker;
    char err[256] = "";
    int rc = tts_assign_voices(cfg, r->lj->voice_accent, speakers, r->nseg, r->voices, err,
                               sizeof err);
    free(speakers);
    if (rc != 0)
        return fail(r, false, "choosing voices: %s", err);
    /* one line naming each speaker's voice, in order of appearance */
    char line[900];
    size_t used = (size_t)snprintf(line, sizeof line, "voices (%s):",
                                   r->lj->voice_accent ? r->lj->voice_accent : "any accent");
    for (size_t i = 0; i < r->nseg && used < sizeof line; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = r->voices[k] == r->voices[i] &&
                   ((!r->segs[k].speaker && !r->segs[i].speaker) ||
                    (r->segs[k].speaker && r->segs[i].speaker &&
                     strcmp(r->segs[k].speaker, r->segs[i].speaker) == 0));
        if (seen)
            continue;
        int n = snprintf(line + used, sizeof line - used, " %s → %s;",
                         r->segs[i].speaker ? r->segs[i].speaker : "narrator", r->voices[i]->id);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    say(r, "%s", line);
    return EXEC_OK;
}

static enum exec_result step_tts(struct run *r)
{
    const struct lesson_job *lj = r->lj;
    const bb_config *cfg = lj->cfg;
    struct lesson_error perr = {0};
    if (lesson_segments(&r->lesson, r->mode, &r->segs, &r->nseg, &perr) != 0)
        return fail(r, false, "%s", perr.message);
    enum exec_result res = choose_voices(r);
    if (res != EXEC_OK)
        return res;
    if (!(r->seg_files = calloc(r->nseg, sizeof *r->seg_files)) ||
        !(r->spans = calloc(r->nseg, sizeof *r->spans)) ||
        !(r->timings = calloc(r->nseg, sizeof *r->timings)))
        return fail(r, true, "out of memory");

    struct tts_env env = {
        .cache_dir = cfg->tts.cache_dir,
        .force = lj->force_tts,
        .elevenlabs_base_url = cfg->tts.elevenlabs.base_url,
        .elevenlabs_api_key = lj->elevenlabs_key,
        .elevenlabs_model = cfg->tts.elevenlabs.model,
        .elevenlabs_sample_rate = (uint32_t)cfg->tts.elevenlabs.sample_rate,
        .connect_timeout_ms = cfg->tts.connect_timeout_ms,
        .request_timeout_ms = cfg->tts.request_timeout_ms,
        .max_attempts = cfg->tts.max_attempts,
        .retry_base_ms = cfg->tts.retry_base_ms,
        .retry_max_ms = cfg->tts.retry_max_ms,
        .espeak_program = cfg->tts.espeak_program,
        .command_argv = (const char *const *)cfg->tts.command_argv,
        .process_timeout_sec = cfg->tts.process_timeout_sec,
        .kill_grace_ms = 1000,
        .log = step_log,
        .log_ud = r,
    };
    say(r, "tts: %zu segment%s%s", r->nseg, r->nseg == 1 ? "" : "s",
        lj->force_tts ? " (forceTts: the cache is bypassed)" : "");
    for (size_t i = 0; i < r->nseg; i++) {
        if ((res = checkpoint(r)) != EXEC_OK)
            return res;
        char name[32], path[4096];
        snprintf(name, sizeof name, "seg-%03zu.wav", i + 1);
        snprintf(path, sizeof path, "%s/%s", r->ctx->outdir, name);
        if (!(r->seg_files[i] = strdup(name)))
            return fail(r, true, "out of memory");
        struct tts_result tr;
        memset(&tr, 0, sizeof tr);
        int st = tts_synthesize(&env, r->voices[i], r->segs[i].text, path, r->ctx->cancel, &tr);
        if (st == TTS_CANCELED)
            return EXEC_CANCELED;
        if (st != TTS_OK)
            return fail(r, tr.retryable, "tts: segment %zu of %zu (line %u, voice %s): %s", i + 1,
                        r->nseg, r->segs[i].line_no, r->voices[i]->id, tr.error);
        r->out->cache_hits += tr.cache_hit;
        say(r, "tts %zu/%zu: line %u, %s via %s (%.1f s)%s", i + 1, r->nseg,
            r->segs[i].line_no, r->segs[i].speaker ? r->segs[i].speaker : "narrator",
            r->voices[i]->id, (double)tr.duration_ms / 1000.0, tr.cache_hit ? " [cache]" : "");
        progress(r, P_PARSED + (P_SPOKEN - P_PARSED) * (double)(i + 1) / (double)r->nseg);
    }
    r->out->segments = (int)r->nseg;

    /* join: lesson.wav with the preset's gap between segments */
    char out[4096], err[256] = "";
    snprintf(out, sizeof out, "%s/lesson.wav", r->ctx->outdir);
    const char **inputs = calloc(r->nseg, sizeof *inputs);
    char (*paths)[4096] = calloc(r->nseg, sizeof *paths);
    if (!inputs || !paths) {
        free(inputs);
        free(paths);
        return fail(r, true, "out of memory");
    }
    for (size_t i = 0; i < r->nseg; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", r->ctx->outdir, r->seg_files[i]);
        inputs[i] = paths[i];
    }
    int jrc = wav_concat(inputs, r->nseg, out, NULL, lj->preset->gap_ms, r->spans, err,
                         sizeof err);
    free(inputs);
    free(paths);
    if (jrc != 0)
        return fail(r, true, "joining the audio: %s", err);
    wav_info info;
    if (wav_probe(out, &info, err, sizeof err) != 0)
        return fail(r, true, "checking lesson.wav: %s", err);
    r->out->audio_ms = wav_frames_to_ms(info.frames, info.fmt.sample_rate);
    for (size_t i = 0; i < r->nseg; i++)
        r->timings[i] = (struct render_timing){
            .section = r->segs[i].section, .item = r->segs[i].item,
            .start_ms = r->spans[i].start_ms, .end_ms = r->spans[i].end_ms,
            .speaker = r->segs[i].speaker,
        };
    say(r, "audio: lesson.wav, %.1f s, %zu segments (%d from the cache), %d ms between them",
        (double)r->out->audio_ms / 1000.0, r->nseg, r->out->cache_hits, lj->preset->gap_ms);
    progress(r, P_JOINED);
    return EXEC_OK;
}

static enum exec_result step_render(struct run *r)
{
    struct render_audio audio = {
        .wav_name = "lesson.wav", .timings = r->timings, .ntimings = r->timings ? r->nseg : 0,
    };
    size_t hl = 0, cl = 0, jl = 0;
    const bb_preset *p = r->lj->preset;
    struct render_translations tr = {
        .to = p->translate_to, .pair = r->tr.pair,
        .engine = p->translate ? p->translate->provider : NULL,
        .text = (const char *const *)r->tr.text, .n = r->tr.n, .tm_hits = r->tr.tm_hits,
    };
    char *html = render_lesson_html_tr(&r->lesson, r->lj->with_tts ? &audio : NULL,
                                       r->tr.text ? &tr : NULL, &hl);
    char *css = render_lesson_css(&cl);
    char *js = r->lj->with_tts ? render_lesson_js(&jl) : NULL;
    enum exec_result res = EXEC_OK;
    if (!html || !css || (r->lj->with_tts && !js))
        res = fail(r, false, "rendering the lesson page failed (out of memory, or the page "
                             "would exceed %u bytes)", RENDER_OUTPUT_MAX);
    else if (write_file(r->ctx->outdir, "lesson.html", html, hl) != 0 ||
             write_file(r->ctx->outdir, "lesson.css", css, cl) != 0 ||
             (js && write_file(r->ctx->outdir, "lesson.js", js, jl) != 0))
        res = fail(r, true, "writing the lesson page: %s", strerror(errno));
    else
        say(r, "render: lesson.html (%zu bytes) with lesson.css%s", hl,
            js ? " and lesson.js" : "");
    free(html);
    free(css);
    free(js);
    if (res == EXEC_OK)
        progress(r, P_RENDERED);
    return res;
}

static enum exec_result step_publish(struct run *r)
{
    const struct lesson_job *lj = r->lj;
    const bb_config *cfg = lj->cfg;
    if (!lj->notion_database) {
        say(r, "publish: no Notion database named; skipped");
        return EXEC_OK;
    }
    if (!lj->notion_token) {
        say(r, "publish: skipped: NOTION_TOKEN is not set on the server (database %s)",
            lj->notion_database);
        return EXEC_OK;
    }
    struct notion_env ne;
    notion_env_defaults(&ne);
    ne.base_url = cfg->notion.base_url;
    ne.token = lj->notion_token;
    ne.version = cfg->notion.version;
    ne.title_property = cfg->notion.title_property;
    ne.level_property = cfg->notion.level_property;
    ne.level_type = cfg->notion.level_type;
    ne.connect_timeout_ms = cfg->notion.connect_timeout_ms;
    ne.request_timeout_ms = cfg->notion.request_timeout_ms;
    ne.max_retries = cfg->notion.max_retries;
    ne.retry_delay_ms = cfg->notion.retry_delay_ms;
    ne.retry_max_ms = cfg->notion.retry_max_ms;
    ne.throttle_ms = cfg->notion.throttle_ms;
    ne.log = step_log;
    ne.ud = r;
    struct notion_result nr;
    memset(&nr, 0, sizeof nr);
    int rc = notion_publish_lesson(&ne, lj->notion_database, &r->lesson, lj->page_url,
                                   r->ctx->cancel, &nr);
    if (rc == NOTION_CANCELED)
        return EXEC_CANCELED;
    if (rc != NOTION_OK)
        return fail(r, nr.retryable, "publishing to Notion: %s", nr.error);
    bb_strlcpy(r->out->notion_url, nr.url, sizeof r->out->notion_url);
    say(r, "publish: Notion page %s (%d request%s)", nr.url, nr.requests,
        nr.requests == 1 ? "" : "s");
    progress(r, P_PUBLISHED);
    return EXEC_OK;
}

/* Adds what render_manifest_json does not know: how the audio was made
 * and where the artifacts are stored. */
static char *manifest_extras(struct run *r, char *json)
{
    cJSON *doc = cJSON_Parse(json);
    free(json);
    if (!doc)
        return NULL;
    const struct lesson_job *lj = r->lj;
    cJSON *t = cJSON_AddObjectToObject(doc, "tts");
    cJSON_AddBoolToObject(t, "enabled", lj->with_tts);
    cJSON_AddBoolToObject(t, "forced", lj->force_tts);
    cJSON_AddNumberToObject(t, "segments", r->out->segments);
    cJSON_AddNumberToObject(t, "cacheHits", r->out->cache_hits);
    cJSON_AddNumberToObject(t, "gapMs", lj->preset->gap_ms);
    cJSON_AddNumberToObject(t, "durationMs", (double)r->out->audio_ms);
    if (lj->with_tts)
        cJSON_AddStringToObject(t, "audio", "lesson.wav");
    else
        cJSON_AddNullToObject(t, "audio");
    cJSON *vs = cJSON_AddArrayToObject(t, "voices");
    for (size_t i = 0; r->voices && i < r->nseg; i++) {
        const char *spk = r->segs[i].speaker ? r->segs[i].speaker : "";
        bool dup = false;
        for (const cJSON *it = vs ? vs->child : NULL; it && !dup; it = it->next) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "speaker");
            dup = cJSON_IsString(s) && strcmp(s->valuestring, spk) == 0;
        }
        if (dup)
            continue;
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "speaker", spk);
        cJSON_AddStringToObject(v, "voiceId", r->voices[i]->id);
        cJSON_AddStringToObject(v, "provider", r->voices[i]->provider);
        cJSON_AddStringToObject(v, "providerVoice", r->voices[i]->provider_voice);
        cJSON_AddItemToArray(vs, v);
    }
    cJSON_AddStringToObject(doc, "page", "lesson.html");
    cJSON_AddStringToObject(doc, "storage", lj->storage_s3 ? "s3" : "local");
    cJSON_AddStringToObject(doc, "upload", lj->upload ? lj->upload : "auto");
    char *out = cJSON_Print(doc);
    cJSON_Delete(doc);
    return out;
}

static enum exec_result step_manifest(struct run *r)
{
    if (list_artifacts(r) != 0)
        return fail(r, true, "listing the artifacts for the manifest: %s", strerror(errno));
    struct render_manifest m = {
        .job_id = r->ctx->job_id,
        .preset = r->lj->preset->id,
        .mode = lesson_mode_name(r->mode),
        .voice_accent = r->lj->voice_accent,
        .created_at = r->lj->created_at,
        .artifacts = r->arts,
        .nartifacts = r->narts,
        .timings = r->timings,
        .ntimings = r->timings ? r->nseg : 0,
        .segment_files = (const char *const *)r->seg_files,
        .notion_url = r->out->notion_url[0] ? r->out->notion_url : NULL,
    };
    const bb_preset *p = r->lj->preset;
    struct render_translations tr = {
        .to = p->translate_to, .pair = r->tr.pair,
        .engine = p->translate ? p->translate->provider : NULL,
        .text = (const char *const *)r->tr.text, .n = r->tr.n, .tm_hits = r->tr.tm_hits,
    };
    if (r->tr.text)
        m.translations = &tr;
    char *json = render_manifest_json(&r->lesson, &m);
    if (json)
        json = manifest_extras(r, json);
    if (!json)
        return fail(r, true, "building manifest.json: out of memory");
    int rc = write_file(r->ctx->outdir, "manifest.json", json, strlen(json));
    free(json);
    if (rc != 0)
        return fail(r, true, "writing manifest.json: %s", strerror(errno));
    say(r, "manifest: manifest.json lists %zu artifacts and %zu segments", r->narts,
        r->timings ? r->nseg : (size_t)0);
    progress(r, P_MANIFEST);
    return EXEC_OK;
}

enum exec_result exec_lesson(exec_ctx *ctx, const struct lesson_job *lj,
                             struct lesson_run_out *out)
{
    memset(out, 0, sizeof *out);
    ctx->error[0] = '\0';
    ctx->retryable = false;
    struct run r = {.ctx = ctx, .lj = lj, .out = out};
    if (lj->preset->timeout_sec > 0)
        r.deadline_us = bb_mono_us() + (int64_t)lj->preset->timeout_sec * 1000000;
    if (!lj->input_path) {
        run_free(&r);
        return fail(&r, false, "the job has no lesson file (md)");
    }
    enum exec_result res = step_parse(&r);
    if (res == EXEC_OK && lj->preset->translate_to && (res = checkpoint(&r)) == EXEC_OK)
        res = step_translate(&r);
    if (res == EXEC_OK && lj->with_tts)
        res = step_tts(&r);
    else if (res == EXEC_OK)
        say(&r, "tts: off (withTts is false); the page has no audio");
    if (res == EXEC_OK && (res = checkpoint(&r)) == EXEC_OK)
        res = step_render(&r);
    if (res == EXEC_OK && (res = checkpoint(&r)) == EXEC_OK)
        res = step_publish(&r);
    if (res == EXEC_OK && (res = checkpoint(&r)) == EXEC_OK)
        res = step_manifest(&r);
    run_free(&r);
    return res;
}

/* ---- the workflow module ------------------------------------------------ */

/* One attempt of a lesson job: its options become a lesson_job, then the
 * values the finished job records: pageUrl (always served by batchbox),
 * manifestPath (where the manifest will be: this server, or the S3
 * location) and notionUrl. */
static enum exec_result lesson_wf_run(exec_ctx *ctx)
{
    const job *j = ctx->job;
    const bb_config *cfg = ctx->cfg;
    char created[32], page[700], abs_page[1400];
    bb_iso8601(j->created_at, created);
    artifact_local_url(page, sizeof page, j->id, "lesson.html");
    if (cfg->public_url)
        snprintf(abs_page, sizeof abs_page, "%s%s", cfg->public_url, page);
    struct lesson_job lj = {
        .cfg = cfg, .preset = ctx->preset, .input_path = ctx->input_path,
        .with_tts = j->with_tts, .force_tts = j->force_tts,
        .voice_accent = j->voice_accent, .voice_id = j->voice_id, .mode = j->mode,
        .notion_database = j->notion_database,
        .notion_token = exec_secret(ctx, "NOTION_TOKEN"),
        .elevenlabs_key = exec_secret(ctx, "ELEVENLABS_API_KEY"),
        .created_at = created, .upload = j->upload,
        .url_prefix = ctx->artifact_prefix, .storage_s3 = ctx->artifacts_s3,
        .page_url = cfg->public_url ? abs_page : NULL,
    };
    struct lesson_run_out lo;
    enum exec_result res = exec_lesson(ctx, &lj, &lo);
    if (res != EXEC_OK)
        return res;
    char *manifest = NULL;
    if (asprintf(&manifest, "%smanifest.json", ctx->artifact_prefix) < 0)
        manifest = NULL;
    bool ok = manifest && exec_record(ctx, "pageUrl", page) == 0 &&
              exec_record(ctx, "manifestPath", manifest) == 0 &&
              (!lo.notion_url[0] || exec_record(ctx, "notionUrl", lo.notion_url) == 0);
    free(manifest);
    return ok ? EXEC_OK : exec_fail(ctx, true, "out of memory");
}

/* A lesson that speaks needs voices. */
static int lesson_check_job(const bb_config *cfg, const bb_preset *p, const job *j,
                            const char **field, char *msg, size_t msglen)
{
    if (j->with_tts && cfg->nvoices == 0) {
        *field = "withTts";
        snprintf(msg, msglen, "no voices are configured on this server");
        return -1;
    }
    return 0;
}

static const struct workflow_key lesson_keys[] = {
    {"defaults", false}, {"gapMs", false}, {"translate", false}, {"translateTo", false},
    {NULL, false},
};
static const char *const lesson_options[] = {
    "withTts", "forceTts", "voiceAccent", "mode", "notionDatabase", "upload", NULL,
};

/* The enum optionsSources the lesson workflow provides
 * (docs/parameters.md): the configured voice accents (label: the first
 * voice's label with that accent) and Notion databases. */
static const char *const lesson_sources[] = {
    "lesson:voiceAccents", "lesson:notionDatabases", NULL,
};

/* Appends {"value", "label"} to arr; false when out of memory. */
static bool add_choice(cJSON *arr, const char *value, const char *label)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "value", value) ||
        !cJSON_AddStringToObject(o, "label", label) || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    return true;
}

/* Caller frees the array; NULL when out of memory or source unknown. */
static cJSON *lesson_resolve_options(const bb_config *cfg, const char *source)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    if (ok && strcmp(source, lesson_sources[0]) == 0) {
        for (size_t i = 0; ok && i < cfg->nvoices; i++) {
            bool seen = false;
            for (size_t k = 0; !seen && k < i; k++)
                seen = strcmp(cfg->voices[k].accent, cfg->voices[i].accent) == 0;
            if (!seen)
                ok = add_choice(arr, cfg->voices[i].accent, cfg->voices[i].label);
        }
    } else if (ok && strcmp(source, lesson_sources[1]) == 0) {
        for (size_t i = 0; ok && i < cfg->nnotion_dbs; i++)
            ok = add_choice(arr, cfg->notion_dbs[i].id, cfg->notion_dbs[i].name);
    } else {
        ok = false;
    }
    if (!ok) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

const struct workflow workflow_lesson = {
    .name = "lesson",
    .id = BB_WF_LESSON,
    .flags = WF_NEEDS_INPUT,
    .default_timeout_sec = 0,
    .keys = lesson_keys,
    .options = lesson_options,
    .parent_input = "lesson.md",
    .check_job = lesson_check_job,
    .run = lesson_wf_run,
    .retryable = workflow_retryable_as_reported,
    .option_sources = lesson_sources,
    .resolve_options = lesson_resolve_options,
};

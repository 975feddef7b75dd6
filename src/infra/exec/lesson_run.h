/* lesson_run.h — the lesson workflow's executor (docs/lesson-workflow.md):
 * one Markdown lesson in, in the job's output directory out:
 *
 *   lesson.md        the source as parsed (a rerun_audio child reads its
 *                    parent's copy)
 *   seg-001.wav ...  one WAV per speech segment (withTts)
 *   lesson.wav       the whole lesson, segments joined with gapMs silence
 *   lesson.html      the lesson page, with lesson.css and lesson.js
 *   manifest.json    lesson metadata, every other artifact (name, size,
 *                    sha256, url) and the segments with their timings
 *
 * Steps (each reported as progress and log lines): parse, tts, join,
 * render, publish (Notion), manifest.  Uploading is the attempt service's
 * (every artifact, the manifest too, as for any workflow); the manifest
 * already names the URLs the files will have, given by url_prefix.
 *
 * Runs on a worker thread; owns nothing beyond the call.  Thread-safe. */
#ifndef BB_LESSON_RUN_H
#define BB_LESSON_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "infra/config.h"
#include "infra/exec/exec.h"

/* The job's lesson settings; every pointer is borrowed for the call. */
struct lesson_job {
    const bb_config *cfg;
    const bb_preset *preset;      /* workflow lesson */
    const char *input_path;       /* the Markdown lesson */
    bool with_tts, force_tts;
    const char *voice_accent;     /* NULL: every voice is a candidate */
    const char *voice_id;         /* NULL, or one voice for every speaker */
    const char *mode;             /* "auto" | "dialogue" | "monologue" */
    const char *notion_database;  /* NULL: no Notion page */
    const char *notion_token;     /* NULL: publishing is skipped (logged) */
    const char *elevenlabs_key;   /* NULL: elevenlabs voices fail */
    const char *created_at;       /* ISO-8601, for the manifest */
    const char *upload;           /* the job's upload option, for the manifest */
    /* URL of the job's artifact directory as the manifest should give it,
     * ending in '/': "/api/v1/jobs/12/artifacts/" or the S3 location */
    const char *url_prefix;
    bool storage_s3;              /* the artifacts are going to S3 */
    const char *page_url;         /* absolute URL of lesson.html (publicUrl), or NULL */
};

struct lesson_run_out {
    char notion_url[512];         /* "" when nothing was published */
    int segments, cache_hits;
    long long audio_ms;           /* length of lesson.wav; 0 without TTS */
};

/* Runs the lesson workflow for ctx->job_id into ctx->outdir (exists,
 * empty).  Uses ctx->cancel (stops promptly: kills espeak-ng, aborts HTTP
 * transfers), ctx->log_line ("lesson" stream), ctx->progress and
 * ctx->tick.  A malformed lesson fails without retry, naming the line.
 * Returns EXEC_OK / EXEC_FAILED (ctx->error, ctx->retryable) /
 * EXEC_CANCELED; *out is filled in every case. */
enum exec_result exec_lesson(exec_ctx *ctx, const struct lesson_job *lj,
                             struct lesson_run_out *out);

#endif

/* exec.h — the context every workflow's attempt runs in.  An attempt runs
 * on a worker thread, owns nothing beyond the call, and reports through
 * the same calls whatever the workflow: log lines, progress, the cancel
 * flag, values to record on success, and the files it leaves in outdir
 * (the artifacts).  The attempt service (src/service/attempt.c) builds
 * the context and calls the preset's workflow (infra/exec/workflow.h). */
#ifndef BB_EXEC_H
#define BB_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"

struct cJSON;
struct job;
struct db;

enum exec_result {
    EXEC_OK,        /* succeeded */
    EXEC_FAILED,    /* failed; ctx->retryable says whether to retry */
    EXEC_CANCELED,  /* *ctx->cancel became true and the work was stopped */
};

typedef struct exec_ctx {
    int64_t job_id;
    const bb_preset *preset;       /* borrowed from the config */
    const char *input_path;        /* absolute path or NULL */
    const char *outdir;            /* exists, empty at start of the attempt */
    const char *workdir;           /* exists; the child's cwd */
    const struct cJSON *params;    /* job params object (borrowed), may be NULL */
    /* NAME -> absolute path of the copy or link of each `file` param that
     * names an upload, staged in the work directory by the attempt service
     * (borrowed), may be NULL */
    const struct cJSON *staged_files;
    atomic_bool *cancel;           /* set by another thread: stop soon */
    int kill_grace_ms;             /* SIGTERM → SIGKILL delay; default 5000 */
    /* Called for each complete output line (without the newline; lines
     * longer than 8 KiB are split).  stream is "stdout" or "stderr". */
    void (*log_line)(void *ud, const char *stream, const char *line, size_t len);
    void (*progress)(void *ud, double fraction);   /* may be NULL */
    /* Called at least every 50 ms while the command runs (may be NULL):
     * lets the caller flush batched log lines on time. */
    void (*tick)(void *ud);
    void *ud;
    /* Set by the attempt service; NULL/0 when an executor is called
     * directly (unit tests). */
    const struct job *job;         /* the claimed job (borrowed) */
    const bb_config *cfg;          /* borrowed */
    /* The database (borrowed; thread-safe): the translate workflow reads
     * the translation memory and stores segments through it.  NULL in unit
     * tests and when an executor is called directly. */
    struct db *db;
    /* URL of the job's artifact directory as links should give it,
     * ending in '/' ("/api/v1/jobs/12/artifacts/" or the S3 location),
     * or "" for files side by side (batchbox run) */
    const char *artifact_prefix;
    bool artifacts_s3;             /* the artifacts go to S3 after the attempt */
    /* "NAME", "value", ..., NULL: secrets read at start-up (values may
     * be NULL); see exec_secret */
    const char *const *secrets;
    /* Keeps key = value for the job if the attempt succeeds (exec_record);
     * 0, or -1 when out of memory.  May be NULL. */
    int (*record)(void *ud, const char *key, const char *value);
    /* Called right after a child process started, with its process group
     * (the child leads it), so the attempt can be recorded and a restarted
     * server can end it (docs/operations.md, "Crash recovery").  May be
     * NULL. */
    void (*spawned)(void *ud, int64_t pgid);
    /* out */
    char error[512];               /* failure message when not EXEC_OK */
    bool retryable;                /* EXEC_FAILED only */
} exec_ctx;

/* The calls every workflow reports through (infra/exec/workflows.c). */

/* A log line built like printf (cut at 1 KiB) on stream ("lesson",
 * "system"...), through ctx->log_line; nothing when that is NULL. */
__attribute__((format(printf, 3, 4)))
void exec_logf(exec_ctx *ctx, const char *stream, const char *fmt, ...);
/* Writes a failure: the message (printf-like, cut to fit) into err[cap]
 * and retryable into *flag; returns ret.  Shared by every step that
 * reports "error + retryable" (exec_fail, the TTS providers). */
__attribute__((format(printf, 6, 7)))
int exec_set_failure(char *err, size_t cap, bool *flag, bool retryable, int ret,
                     const char *fmt, ...);
/* Sets ctx->error (printf-like) and ctx->retryable; evaluates to
 * EXEC_FAILED so a workflow can `return exec_fail(...)`. */
#define exec_fail(ctx, retry, ...)                                                 \
    ((enum exec_result)exec_set_failure((ctx)->error, sizeof (ctx)->error,              \
                                        &(ctx)->retryable, (retry), EXEC_FAILED,        \
                                        __VA_ARGS__))
/* The value of secret name (borrowed), or NULL when unset. */
const char *exec_secret(const exec_ctx *ctx, const char *name);
/* Records key = value for the job when the attempt succeeds (the lesson
 * workflow's "pageUrl", "manifestPath", "notionUrl"): 0, or -1 when out of
 * memory; a no-op without ctx->record. */
int exec_record(exec_ctx *ctx, const char *key, const char *value);

/* Runs the command workflow (docs/configuration.md, presets).  No shell: argv placeholders are
 * substituted inside each argument; the child gets its own process group,
 * cwd = workdir, stdin = /dev/null; stdout/stderr become log lines; exit 0 =
 * EXEC_OK; timeout or cancel kills the process group (SIGTERM, then SIGKILL
 * after kill_grace_ms).  Non-zero exit and timeout are retryable.
 * A stdout line that is exactly "BATCHBOX_PROGRESS <number>" (e.g. 0.42)
 * also calls ctx->progress (if set) with the number clamped to 0..1; it is
 * still logged.  When the command ends, anything left in its process group
 * is killed; pipes held open by grandchildren are read for at most 2 s after
 * the main child exits.  Bad templates and programs that cannot be started
 * (not found, not executable) fail without retry.  Thread-safe. */
enum exec_result exec_command(exec_ctx *ctx);

/* A pipe whose ends are close-on-exec and numbered >= 3 (so a child's
 * dup2 onto 0..2 never collides with them): 0, or -1 with errno
 * (command.c; the translate engine's child processes use it too). */
int exec_pipe_high(int fds[2]);

/* The start time of process pid (clock ticks after boot, field 22 of
 * /proc/PID/stat) into *started: 0, or -1 when there is no such process. */
int exec_proc_started(int64_t pid, int64_t *started);
/* This boot's id (/proc/sys/kernel/random/boot_id) into out: 0 or -1. */
int exec_boot_id(char *out, size_t cap);
/* Ends (SIGKILL) a process group a previous server left running, if it is
 * really that group: same boot, and its leader either gone (a pgid is not
 * reused while any member lives) or still the process that started at
 * `started`.  Returns 1 when a group was signalled, 0 when nothing of it
 * is left or it is not ours. */
int exec_end_orphan_group(int64_t pgid, int64_t started, const char *boot_id);

/* Expands one argv template element.  Placeholders: {input} {outdir}
 * {jobId} {workdir} {param.NAME}.  Returns a malloc'd string (caller frees)
 * or NULL with a message in err (unknown placeholder, missing param, param
 * not a string, {input} with no input, or a result over 64 KiB). */
char *exec_expand_arg(const char *tmpl, const exec_ctx *ctx, char *err,
                      size_t errlen);

/* Checks a template at config load: every {...} is a known placeholder.
 * Returns 0, or -1 with a message in err.
 * Grammar (shared with exec_expand_arg): "{{" is a literal '{' and "}}" a
 * literal '}'; every other '{' opens a placeholder ending at the next '}'
 * and must name a known one; any other '}' is an error.  So a shell snippet
 * in argv writes "awk '{{print $1}}'" and "${{HOME}}".  NAME in
 * {param.NAME} is [A-Za-z0-9_-]{1,64}. */
int exec_check_template(const char *tmpl, char *err, size_t errlen);

#endif

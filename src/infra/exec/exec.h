/* exec.h — workflow executors.  An executor runs on a worker thread, owns
 * nothing beyond the call, and reports through the callbacks in its
 * context.  The worker pool (infra/workers/pool.c) builds the context,
 * calls the executor for the preset's workflow, then persists the result. */
#ifndef BB_EXEC_H
#define BB_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"

struct cJSON;

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
    /* out */
    char error[512];               /* failure message when not EXEC_OK */
    bool retryable;                /* EXEC_FAILED only */
} exec_ctx;

/* Runs the command workflow (SPEC §7).  No shell: argv placeholders are
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

/* workflow.h — the workflow interface: what a preset's "workflow" names.
 * One struct of function pointers and flags per workflow (the shape of
 * Redis bio.c's job types and h2o's handlers), every workflow registered
 * in ONE table (infra/exec/workflows.c).  The worker pool knows none of
 * them; the attempt service (src/service/attempt.c) stages a job's input,
 * calls `run`, and scans, stores and uploads what it left in outdir the
 * same way for all.  How to add one: docs/architecture.md, "Workflows". */
#ifndef BB_WORKFLOW_H
#define BB_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "infra/config.h"
#include "infra/exec/exec.h"

struct job;
struct cJSON;

/* A preset key only some workflows take (beyond the keys every preset
 * has: id, label, workflow, timeoutSec, maxAttempts, concurrency,
 * retryDelayMs).  The configuration loader parses it; a preset of another
 * workflow naming it is an error. */
struct workflow_key {
    const char *name;        /* "argv" */
    bool required;           /* the workflow's presets must give it */
};

enum {
    /* attempts take microseconds: claimed up to 32 at a time when the
     * preset has no concurrency limit */
    WF_BATCHABLE = 1 << 0,
    /* every job of the workflow needs an input (md) */
    WF_NEEDS_INPUT = 1 << 1,
    /* no work or output directory, no input staging, no artifacts */
    WF_NO_FILES = 1 << 2,
    /* its optionsSources list what running servers report (a model
     * catalogue): unknown at start-up, so a default is not checked against
     * them, and while a source has no values yet any string is accepted
     * (the job then waits until a server has it) */
    WF_LIVE_OPTIONS = 1 << 3,
};

struct workflow {
    const char *name;                    /* the preset's "workflow" value */
    enum bb_workflow id;
    unsigned flags;                      /* WF_* */
    int default_timeout_sec;             /* a preset's timeoutSec when absent */
    const struct workflow_key *keys;     /* its own preset keys; {NULL} ends */
    /* the job options (POST /jobs fields) it reads beyond md, params,
     * priority and preset; NULL-terminated */
    const char *const *options;
    /* a child job (parent_job_id) runs on this artifact of its parent
     * instead of md, or NULL */
    const char *parent_input;
    /* Checks a job's options against its preset before it is queued:
     * 0, or -1 with the offending option in *field (static) and a message
     * in msg.  NULL: nothing to check. */
    int (*check_job)(const bb_config *cfg, const bb_preset *p, const struct job *j,
                     const char **field, char *msg, size_t msglen);
    /* Runs one attempt in ctx (input staged, outdir empty, workdir the
     * cwd).  EXEC_OK / EXEC_FAILED (ctx->error) / EXEC_CANCELED. */
    enum exec_result (*run)(exec_ctx *ctx);
    /* Classifies a failed attempt: true = worth retrying (a transient
     * error), false = the same job would fail again. */
    bool (*retryable)(const exec_ctx *ctx);
    /* The enum optionsSources it provides ("lesson:voiceAccents"; each
     * "<workflow>:<name>"), NULL-terminated, or NULL: none. */
    const char *const *option_sources;
    /* Resolves one of them from the configuration: a new array of
     * {"value", "label"} objects (caller frees), or NULL when out of
     * memory.  NULL when option_sources is. */
    struct cJSON *(*resolve_options)(const bb_config *cfg, const char *source);
    /* Files an attempt writes for the record, not as outputs (kept as
     * artifacts, left out of the gallery; docs/gallery.md),
     * NULL-terminated, or NULL: none. */
    const char *const *record_files;
};

/* The registered workflows (static), by name or id; NULL when unknown. */
const struct workflow *workflow_find(const char *name);
const struct workflow *workflow_of(enum bb_workflow id);
/* The i-th registered workflow, NULL past the end. */
const struct workflow *workflow_at(size_t i);
/* "noop, command, lesson": every name, for messages (static). */
const char *workflow_names(void);
/* The workflow declaring preset key name, or NULL (a common key). */
const struct workflow *workflow_owning_key(const char *name);

/* Whether some workflow provides enum optionsSource `source`. */
bool workflow_has_source(const char *source);
/* Whether `source` belongs to a workflow with WF_LIVE_OPTIONS. */
bool workflow_source_is_live(const char *source);
/* The current choices of `source`: a new array of {"value", "label"}
 * (caller frees), or NULL when no workflow provides it or out of memory. */
struct cJSON *workflow_source_choices(const bb_config *cfg, const char *source);
/* "lesson:voiceAccents, ...": every source, for messages (static). */
const char *workflow_source_names(void);

/* The modules (one file each). */
extern const struct workflow workflow_noop;      /* infra/exec/noop.c */
extern const struct workflow workflow_command;   /* infra/exec/command.c */
extern const struct workflow workflow_lesson;    /* infra/exec/lesson_run.c */
extern const struct workflow workflow_comfyui;   /* infra/exec/comfyui.c */

/* The retryable hook of workflows that classify as they fail: returns
 * what the attempt set in ctx->retryable. */
bool workflow_retryable_as_reported(const exec_ctx *ctx);

#endif

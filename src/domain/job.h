/* job.h — the job record, its state machine and its JSON DTO.  Pure: no
 * I/O, no locks.  One function (job_to_dto) turns a record into the DTO
 * used by REST and SSE alike. */
#ifndef BB_JOB_H
#define BB_JOB_H

#include <stdbool.h>
#include <stdint.h>

struct cJSON;

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELED };

const char *job_state_name(enum job_state s);
/* 0 and *out on success, -1 for an unknown name. */
int job_state_parse(const char *name, enum job_state *out);
bool job_state_terminal(enum job_state s);
/* The transitions of SPEC §4.2:
 *   queued  → running (claim) | canceled (cancel)
 *   running → succeeded | failed | canceled | queued (retry backoff,
 *             lost worker, shutdown requeue)
 *   failed | canceled → queued (retry action) */
bool job_transition_ok(enum job_state from, enum job_state to);

/* A job record.  Strings are owned by the record (job_clear frees them);
 * NULL means absent.  Times are ms since the epoch, 0 = absent. */
typedef struct job {
    int64_t id;
    int64_t owner_id;          /* 0 = none (before accounts) */
    enum job_state state;
    char *md;                  /* as the client gave it */
    char *input_path;          /* resolved absolute path, internal */
    int64_t file_id;           /* uploaded input (md = "upl_<id>"), 0 = none */
    char *preset;
    bool with_tts;
    char *upload;              /* "none" | "s3" | "auto" */
    char *voice_accent;
    char *voice_id;            /* rerun_audio: one voice for every speaker */
    bool force_tts;
    char *notion_database;
    char *mode;
    int priority;
    char *params;              /* JSON object text, never NULL once loaded */
    double progress;
    int attempts, max_attempts;
    int64_t parent_job_id;     /* 0 = none */
    char *manifest_path, *notion_url, *page_url, *error;
    bool cancel_requested;
    int64_t run_after;
    int64_t created_at, updated_at, started_at, finished_at;
} job;

/* Frees the strings and zeroes the record. */
void job_clear(job *j);
/* Builds the DTO (caller frees with cJSON_Delete); NULL only on OOM. */
struct cJSON *job_to_dto(const job *j);
/* The DTO as compact JSON text (caller frees); NULL only on OOM. */
char *job_dto_json(const job *j);

/* Exponential backoff with jitter for the retry after `attempt` (1-based)
 * failed: base * 2^(attempt-1), capped at 5 minutes, then a random value
 * in [half, full].  rnd is a uniform random 32-bit value. */
int64_t job_backoff_ms(int base_ms, int attempt, uint32_t rnd);

#endif

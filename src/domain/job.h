/* job.h — the job record, its state machine and its JSON DTO.  Pure: no
 * I/O, no locks.  One function (job_to_dto) turns a record into the DTO
 * used by REST and SSE alike. */
#ifndef BB_JOB_H
#define BB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* The states of a job (docs/api.md, "States").  scheduled and waiting come
 * last so the values stored before them keep their numbers; neither is
 * claimable (docs/scheduling.md). */
enum job_state {
    JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELED,
    JOB_SCHEDULED,   /* runAt is in the future */
    JOB_WAITING,     /* the jobs it depends on have not ended as runWhen asks */
};
/* How many states there are: arrays indexed by enum job_state. */
#define JOB_NSTATES (JOB_WAITING + 1)

const char *job_state_name(enum job_state s);
/* 0 and *out on success, -1 for an unknown name. */
int job_state_parse(const char *name, enum job_state *out);
bool job_state_terminal(enum job_state s);
/* The transitions of the job lifecycle (docs/api.md, "States"):
 *   queued  → running (claim) | canceled (cancel)
 *   running → succeeded | failed | canceled | queued (retry backoff,
 *             lost worker, shutdown requeue)
 *   failed | canceled → queued (retry action)
 *   scheduled → queued (due) | canceled (cancel)
 *   waiting → queued | scheduled (dependencies met) | canceled (cancel,
 *             or the condition can no longer be met)
 * Every place that changes a job's state asserts it first:
 * BB_ASSERT(job_transition_ok(from, to)) (util/bb_assert.h). */
bool job_transition_ok(enum job_state from, enum job_state to);

/* A set of states, one bit per state: JOB_STATE_BIT(JOB_FAILED) |
 * JOB_STATE_BIT(JOB_CANCELED).  JOB_STATES_ALL holds all of them. */
typedef unsigned job_state_set;
#define JOB_STATE_BIT(s) (1u << (unsigned)(s))
#define JOB_STATES_ALL (JOB_STATE_BIT(JOB_NSTATES) - 1u)
bool job_state_in(job_state_set set, enum job_state s);
/* The names of the states in set, in lifecycle order, joined by ", " into
 * out (cap bytes, always terminated; cut short after the last whole name
 * when out is too small). */
void job_state_set_names(job_state_set set, char *out, size_t cap);
/* The names as a JSON array of strings (caller frees); NULL only on OOM. */
struct cJSON *job_state_set_json(job_state_set set);

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
    /* batches (docs/batches.md) */
    char *kind;                /* "job" | "batch"; NULL reads as "job" */
    int64_t batch_id;          /* a child: its batch parent; 0 = none */
    char *sweep;               /* a parent: the request's sweep (JSON text) */
    int batch_total, batch_queued, batch_running;   /* a parent: children by state */
    int batch_succeeded, batch_failed, batch_canceled;
    /* Why a job that is not running yet cannot start (docs/api.md, "The
     * job DTO"): e.g. the jobs it depends on, a busy resource pool or a
     * paused preset; NULL when nothing holds it. */
    char *waiting_for;
    /* scheduling (docs/scheduling.md) */
    int64_t run_at;            /* when a scheduled job becomes queued; 0 = none */
    int64_t schedule_id;       /* the schedule that created it; 0 = none */
    char *depends_on;          /* "12,14": the jobs it depends on; NULL = none */
    char *run_when;            /* "success" | "failure" | "always"; NULL = none */
    /* Resource pools (docs/scheduling.md, "Resources"): what the job needs
     * ({"gpu": 1}) and the units it holds while running ({"gpu": [0],
     * "vram": 12}); JSON texts, NULL = none. */
    char *needs, *resources;
    /* webhook targets the submit request gave (JSON text, with secrets;
     * docs/integrations.md): stored with the job, never in the DTO */
    char *notify;
} job;

/* Whether j is a batch parent (kind "batch"). */
bool job_is_batch(const job *j);

/* A batch's children by state. */
struct batch_counts {
    int total, queued, running, succeeded, failed, canceled;
};
/* The derived state of a batch parent (docs/batches.md): queued until a
 * child started, running while any child is queued or running, then
 * canceled when the user canceled the batch, failed if any child failed,
 * canceled if any child was canceled, else succeeded. */
enum job_state job_batch_state(const struct batch_counts *n, bool user_canceled);

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

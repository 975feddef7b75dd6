/* repo_claim.h — the workers' cycle with the database: claiming queued
 * jobs, recording the results of attempts, leases and the recovery of
 * attempts a lost worker or a stopped server left running.  Every
 * function is a write (an operation on the db writer thread) that logs
 * the state changes it makes in the same transaction. */
#ifndef BB_REPO_CLAIM_H
#define BB_REPO_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"
#include "infra/config.h"
#include "infra/db/repo_artifact.h"

/* Claims the next runnable job: queued, run_after <= now, preset not in
 * `blocked` (",p1,p2," or NULL), by priority desc then id.  Marks it
 * running with a lease until now+lease_ms, counts the attempt, logs
 * job_state_changed.  *found false when none; then *next_due is the
 * earliest future run_after of a queued job (0 if none). */
int repo_job_claim(db *d, int64_t now, int64_t lease_ms, const char *blocked,
                   job *out, bool *found, int64_t *next_due);

enum finish_kind {
    FINISH_SUCCEEDED,
    FINISH_FAILED,       /* terminal failure */
    FINISH_RETRY,        /* back to queued until run_after */
    FINISH_CANCELED,
    FINISH_REQUEUE,      /* shutdown: back to queued, attempt not counted */
};

struct job_finish {
    int64_t job_id;
    enum finish_kind kind;
    const char *error;             /* failed/retry/canceled */
    int64_t run_after;             /* retry */
    const struct artifact_rec *artifacts;   /* succeeded */
    size_t nartifacts;
    int64_t at;                    /* when the attempt ended (ms); 0 = now */
    /* succeeded: the lesson workflow's outputs (NULL = none); borrowed */
    const char *page_url, *manifest_path, *notion_url;
};

/* Ends a running attempt; logs job_state_changed.  BB_ESTATE if the job
 * is no longer running (e.g. recovered elsewhere). */
int repo_job_finish(db *d, const struct job_finish *f);

/* One worker round trip to the writer: records the results of finished
 * attempts (a finish whose job is no longer running is skipped), then
 * claims up to `max` jobs like repo_job_claim.  After the first claimed
 * job, further ones are taken only if the first one's preset is listed in
 * `batchable` (",noop," — presets cheap enough to run back to back) and
 * only from those presets.  out must hold max records; *nout receives how
 * many were claimed (caller clears each). */
/* Placement of a job whose preset runs on a server of a pool outside the
 * database (the ComfyUI servers, docs/comfyui.md "Placement"): the claim
 * derives how many running jobs each server holds from their resources
 * ({"comfyui": "ID"}) and asks the callback, on the writer thread, where
 * a candidate may run.  The callback must not use the database. */
#define CLAIM_SERVER_ID 65
struct claim_load {
    char id[CLAIM_SERVER_ID];
    int running;
};
struct claim_place {
    int64_t job_id;
    const char *preset, *params;      /* borrowed: the job's preset and params JSON */
    const char *prefer;               /* the server of its open prompt, or NULL */
    const struct claim_load *load;    /* running jobs per server (servers with none
                                         may be missing) */
    size_t nload;
};
/* 1: place it on server (written into server[CLAIM_SERVER_ID]); 0: it
 * cannot run now, why (waitingFor) written into why[whycap]. */
typedef int (*claim_place_fn)(void *ud, const struct claim_place *in,
                              char server[CLAIM_SERVER_ID], char *why, size_t whycap);

struct claim_req {
    int64_t now, lease_ms;
    const char *blocked;      /* ",p1,p2," or NULL */
    const char *batchable;    /* ",p1," or NULL */
    size_t max;               /* >= 1 */
    /* resource pools (docs/scheduling.md, "Resources"); none: npools 0.
     * With pools, one job is claimed per cycle: the first in claim order
     * whose needs fit (see repo_claim_res.c). */
    const bb_pool *pools;
    size_t npools;
    int64_t reserve_after_ms; /* a blocked job waiting this long reserves */
    /* placement (see claim_place): ",p1," the presets whose jobs need a
     * server, or NULL; a placed job is claimed alone, while a job of a
     * batchable preset still brings up to max - 1 more (without pools) */
    const char *placed;
    claim_place_fn place;
    void *place_ud;
};
int repo_job_cycle(db *d, const struct job_finish *fin, size_t nfin,
                   const struct claim_req *req, job *out, size_t *nout,
                   int64_t *next_due);

/* Start-up recovery: every job left running by a previous process is
 * requeued (its attempt stays counted) or, out of attempts, failed. */
int repo_job_recover_running(db *d, int *requeued, int *failed);
/* Jobs whose lease ran out (worker lost): same treatment. */
int repo_job_expire_leases(db *d, int64_t now, int *n);
/* Extends the leases of the given running jobs. */
int repo_job_renew_leases(db *d, const int64_t *ids, size_t n, int64_t until);

/* The process group of a running attempt (docs/operations.md, "Crash
 * recovery").  Finishing the attempt (repo_job_finish, repo_job_cycle)
 * forgets it in the same transaction. */
struct job_proc {
    int64_t job_id;
    int attempt;
    int64_t pgid;
    int64_t started;        /* the leader's start time (clock ticks after boot) */
    char boot_id[40];       /* the boot it started in */
};
/* Records p (replacing the job's earlier record). */
int repo_job_proc_set(db *d, const struct job_proc *p);
/* Every recorded group (caller frees *out); BB_OK or an error. */
int repo_job_procs_list(db *d, struct job_proc **out, size_t *n);
/* Forgets every record (start-up, after the groups were ended). */
int repo_job_procs_clear(db *d);
/* BB_OK if job id is running its attempt number `attempt` (the attempt
 * whose folder may become the artifacts), BB_ESTATE if not, or an error. */
int repo_job_attempt_current(db *d, int64_t id, int attempt);

#endif

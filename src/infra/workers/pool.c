/* pool.c — worker threads that run jobs, and the maintenance thread.
 *
 * DESIGN
 * - N worker threads (opts.workers).  Each loops through explicit phases:
 *   claim + persist (one db writer operation, repo_job_cycle: it records
 *   the results of the attempts this worker finished since its last
 *   round trip — succeeded with its artifacts, retry-with-backoff,
 *   failed, canceled or requeued — and, in the same transaction, claims
 *   the next job: the best queued one by priority, then age, marked
 *   running with a lease, its attempt counted) → execute (hooks.run on
 *   this thread: the attempt service, src/service/attempt.c, which runs
 *   the preset's workflow; the pool knows no workflow) → back to claim,
 *   carrying the result.  So a result rides with the worker's next claim:
 *   it is committed, and its event published by the writer (db.c), at the
 *   start of the next cycle, not when the attempt ends.  Presets listed in
 *   opts.batchable are claimed up to CLAIM_BATCH at a time, their results
 *   riding together with the next claim.
 * - State owned here, guarded by `mu`: each worker's current job id and
 *   preset (read by pool_cancel, the concurrency check and the maintenance
 *   thread), `busy`, `stopping`, `wake_seq`.  A worker's `cancel` flag is
 *   atomic: set by HTTP threads (pool_cancel) or by pool_stop, read by the
 *   attempt.  A worker's pending results (`pend`) are its own: no lock.
 *   Claims are serialized by `claim_mu` (taken before `mu`) so per-preset
 *   concurrency limits hold: the list of presets at their limit is
 *   computed and the claimed job registered under it.  A worker's slot
 *   (job_id) stays taken until the cycle that records its result commits.
 * - A round trip that fails (database error, full disk) is retried after a
 *   backoff that doubles from 200 ms to 10 s, reset by the next success.
 * - Idle workers sleep on `cond` until pool_wake (a submit, a retry, a
 *   finished job freeing a concurrency slot) or the next run_after of a
 *   delayed retry, at most 1 s.
 * - The maintenance thread (maint_main) does the housekeeping, each on its
 *   own period: renews the leases of running jobs every 10 s (lease 30 s);
 *   every 5 s requeues jobs whose lease expired (a wedged or dead worker)
 *   and wakes the workers; every 30 s prunes expired and revoked refresh
 *   tokens (repo_tokens_prune) and trims the event log to
 *   events.retainEvents (repo_events_trim); every 250 ms publishes the
 *   batch parent updates that coalescing held back (repo_batch_flush).
 * - Shutdown (pool_stop): no new claims; running jobs get the grace period
 *   to finish; then their attempts are told to stop (cancel + shutdown
 *   flags: child processes get SIGTERM, then SIGKILL) and those jobs are
 *   requeued without counting the attempt; each worker records its last
 *   results with a claim of at most 0 jobs; all threads are joined.
 * - Flow control (docs/scheduling.md).  Paused queues: `paused_all` and
 *   `paused` (",p1,p2,"), guarded by `mu`, loaded from the queue_pauses
 *   table at start and again by pool_queue_reload after every pause or
 *   resume (the table is the durable truth; these are its copy): a paused
 *   preset is in the blocked list, a global pause claims nothing (results
 *   are still recorded).  Rate limits: per preset a ring of its last
 *   `rateLimit.jobs` start times (`rates`, guarded by `mu`, filled by the
 *   claiming worker under claim_mu); a preset whose ring is full within
 *   the window is blocked.  Resource pools: the claim cycle itself derives
 *   the units held from the running jobs and picks a job that fits
 *   (repo_claim_res.c); presets with needs, rate limits or job needs are
 *   never batch-claimed.  Once a second the maintenance thread writes
 *   waitingFor ("queue paused", "rate limit: 10 per 60 s") on queued jobs
 *   of held presets (every one for a pause; the oldest 50 for a rate limit,
 *   which holds and releases with each window) and clears it from the
 *   others when a hold ends, at most 500 jobs per writer operation.
 * - Every thread uses the shared db (writer queue + reader pool); none
 *   holds its own SQLite connection.
 */
#include "infra/workers/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infra/db/repo_flow.h"
#include "infra/db/repo_user.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define CLAIM_BATCH 32
#define POOL_RETRY_MIN_MS 200
#define POOL_RETRY_MAX_MS 10000
#define EXPIRE_EVERY_US 5000000
#define HOUSEKEEP_EVERY_US 30000000
#define HOLDS_EVERY_US 1000000
#define HOLDS_BATCH 500
#define HOLDS_MAX_OPS 20         /* per preset and tick: 10,000 jobs a second */
#define RATE_MARKS 50            /* queued jobs a rate limit's waitingFor is written on */

/* A preset's rate limit: the start times of its last `cap` claims. */
struct rate {
    int64_t *starts;         /* ring of cap ms timestamps; NULL = no limit */
    int cap, head, n;
    int64_t window_ms;
};

struct worker {
    pool *p;
    pthread_t th;
    int64_t job_id;          /* guarded by p->mu; 0 = idle */
    char preset[72];         /* guarded by p->mu */
    atomic_bool cancel;
    atomic_bool shutdown;    /* the stop came from pool_stop: requeue */
};

struct pool {
    db *db;                  /* borrowed */
    const bb_config *cfg;    /* borrowed, read-only */
    struct pool_hooks hooks;
    pthread_mutex_t mu;
    pthread_cond_t cond;     /* CLOCK_MONOTONIC; workers idle + pool_stop */
    pthread_mutex_t claim_mu;
    bool stopping;
    uint64_t wake_seq;
    int n, busy;             /* busy = workers whose job_id != 0 */
    struct worker *w;
    pthread_t maint;
    bool maint_started;
    char *batchable;         /* read-only after start */
    char *placed;            /* ",p1,": presets needing placement; read-only after start */
    claim_place_fn place;
    void *place_ud;
    bool paused_all;         /* guarded by mu */
    char *paused;            /* ",p1,p2," or NULL; guarded by mu */
    struct rate *rates;      /* one per cfg preset; guarded by mu */
    char *held_marked;       /* maintenance thread only: ",p," it marked held */
};

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Appends id to the ",a,b," list *list of length *len (a NULL list
 * starts as ","); false when out of memory (the list stays as it was). */
static bool id_list_add(char **list, size_t *len, const char *id)
{
    size_t n = strlen(id);
    char *nl = realloc(*list, *len + n + 3);
    if (!nl)
        return false;
    *list = nl;
    if (*len == 0)
        nl[(*len)++] = ',';
    memcpy(nl + *len, id, n);
    *len += n;
    nl[(*len)++] = ',';
    nl[*len] = '\0';
    return true;
}

/* Counts the busy workers; the pool's accounting says it equals p->busy.
 * Caller holds p->mu. */
__attribute__((unused)) static int count_busy(const pool *p)
{
    int busy = 0;
    for (int k = 0; k < p->n; k++)
        busy += p->w[k].job_id != 0;
    return busy;
}

/* Whether preset i's rate limit holds it now.  Caller holds p->mu. */
static bool rate_blocked(const pool *p, size_t i, int64_t now)
{
    const struct rate *r = &p->rates[i];
    if (!r->starts || r->n < r->cap)
        return false;
    int64_t oldest = r->starts[r->head];   /* the ring is full: head is the oldest */
    return now - oldest < r->window_ms;
}

/* Records a start of preset id now.  Caller holds p->mu. */
static void rate_record(pool *p, const char *id, int64_t now)
{
    for (size_t i = 0; i < p->cfg->npresets; i++) {
        struct rate *r = &p->rates[i];
        if (!r->starts || strcmp(p->cfg->presets[i].id, id) != 0)
            continue;
        r->starts[r->head] = now;
        r->head = (r->head + 1) % r->cap;
        if (r->n < r->cap)
            r->n++;
        return;
    }
}

/* Adds the paused and rate-limited presets to the ",a,b," list (len
 * bytes; NULL = empty) and returns it.  Caller holds p->mu. */
static char *add_flow_holds(pool *p, char *list, size_t len)
{
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < p->cfg->npresets; i++) {
        const char *id = p->cfg->presets[i].id;
        char key[80];
        snprintf(key, sizeof key, ",%s,", id);
        bool held = rate_blocked(p, i, now) || (p->paused && strstr(p->paused, key));
        if (held && !(list && strstr(list, key)) && !id_list_add(&list, &len, id))
            break;
    }
    return list;
}

/* ",a,b," list of presets at their concurrency limit, or NULL.  A worker's
 * slot stays occupied until the cycle that records its result commits, so
 * other workers never start a job of a limited preset before the previous
 * one is recorded finished; `self` is left out because its own result is
 * recorded in the same transaction as its next claim.  Caller holds p->mu;
 * result is malloc'd (caller frees). */
static char *blocked_presets(pool *p, const struct worker *self)
{
    const bb_config *cfg = p->cfg;
    char *list = NULL;
    size_t len = 0;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        if (pr->concurrency <= 0)
            continue;
        int running = 0;
        for (int k = 0; k < p->n; k++)
            if (&p->w[k] != self && p->w[k].job_id && strcmp(p->w[k].preset, pr->id) == 0)
                running++;
        if (running < pr->concurrency)
            continue;
        if (!id_list_add(&list, &len, pr->id))
            break;
    }
    return add_flow_holds(p, list, len);
}

/* Marks w as running job j.  Caller holds p->mu. */
static void take_slot(struct worker *w, const job *j)
{
    BB_ASSERT(j->id > 0 && j->state == JOB_RUNNING);
    w->job_id = j->id;
    bb_strlcpy(w->preset, j->preset, sizeof w->preset);
    atomic_store(&w->cancel, false);
}

static void results_free(pool *p, struct pool_result *r, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        if (p->hooks.result_free)
            p->hooks.result_free(r[i].owned);
        memset(&r[i], 0, sizeof r[i]);
    }
    *n = 0;
}

/* ---- the worker loop ---------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pool *p = w->p;
    job jobs[CLAIM_BATCH];
    struct pool_result pend[CLAIM_BATCH];
    size_t npend = 0;
    int64_t backoff_ms = 0;   /* after failed round trips: 0, then 200 ms doubling to 10 s */
    memset(pend, 0, sizeof pend);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stopping;
        uint64_t seq = p->wake_seq;
        pthread_mutex_unlock(&p->mu);
        if (stop && npend == 0)
            break;

        /* persist the previous results and claim the next jobs in one
         * writer round trip */
        BB_ASSERT(npend <= CLAIM_BATCH);
        struct job_finish fins[CLAIM_BATCH];
        for (size_t i = 0; i < npend; i++)
            fins[i] = pend[i].f;
        size_t n = 0;
        int64_t next_due = 0;
        pthread_mutex_lock(&p->claim_mu);
        pthread_mutex_lock(&p->mu);
        char *blocked = blocked_presets(p, w);
        bool paused_all = p->paused_all;
        pthread_mutex_unlock(&p->mu);
        struct claim_req req = {.now = bb_now_ms(), .lease_ms = POOL_LEASE_MS,
                                .blocked = blocked, .batchable = p->batchable,
                                .max = stop || paused_all ? 0 : CLAIM_BATCH,
                                .pools = p->cfg->pools, .npools = p->cfg->npools,
                                .reserve_after_ms =
                                    (int64_t)p->cfg->queue.reserve_after_sec * 1000,
                                .placed = p->placed, .place = p->place,
                                .place_ud = p->place_ud};
        int rc = repo_job_cycle(p->db, fins, npend, &req, jobs, &n, &next_due);
        free(blocked);
        BB_ASSERT(n <= req.max && (rc == BB_OK || n == 0));
        pthread_mutex_lock(&p->mu);
        if (w->job_id && (rc == BB_OK || stop)) {
            /* the previous batch's results are recorded: free the slot */
            w->job_id = 0;
            w->preset[0] = '\0';
            p->busy--;
            p->wake_seq++;       /* a concurrency slot may have opened */
            pthread_cond_broadcast(&p->cond);
        }
        for (size_t i = 0; i < n; i++)
            rate_record(p, jobs[i].preset, req.now);
        if (n > 0) {
            BB_ASSERT(w->job_id == 0);
            take_slot(w, &jobs[0]);
            atomic_store(&w->shutdown, false);
            p->busy++;
        }
        BB_ASSERT(p->busy >= 0 && p->busy <= p->n && p->busy == count_busy(p));
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_unlock(&p->claim_mu);
        if (rc == BB_OK) {
            results_free(p, pend, &npend);
            if (backoff_ms)
                bb_info("job results and claims work again");
            backoff_ms = 0;
        } else {
            /* results stay pending and are offered again, after a wait
             * that doubles (a full disk would otherwise be retried, and
             * logged, many times a second); if the database is gone for
             * good (shutdown), give up on them: the jobs are still
             * 'running' and start-up recovery requeues them */
            backoff_ms = backoff_ms ? backoff_ms * 2 : POOL_RETRY_MIN_MS;
            if (backoff_ms > POOL_RETRY_MAX_MS)
                backoff_ms = POOL_RETRY_MAX_MS;
            char wait[24];
            snprintf(wait, sizeof wait, "%lld", (long long)backoff_ms);
            bb_warn("could not record job results or claim; retrying", "error",
                    bb_err_code((enum bb_err)rc), "retryInMs", wait);
            if (rc == BB_EUNAVAIL || stop)
                results_free(p, pend, &npend);
        }

        if (n == 0) {
            if (stop)
                continue;
            int64_t wait_ms = 1000;
            if (rc != BB_OK)
                wait_ms = backoff_ms;
            else if (next_due) {
                int64_t until = next_due - bb_now_ms();
                if (until < wait_ms)
                    wait_ms = until < 1 ? 1 : until;
            }
            struct timespec ts;
            deadline_in(&ts, wait_ms);
            pthread_mutex_lock(&p->mu);
            /* a failed round trip waits out its backoff whatever wakes */
            while (!p->stopping && (p->wake_seq == seq || rc != BB_OK))
                if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT)
                    break;
            pthread_mutex_unlock(&p->mu);
            continue;
        }

        /* execute; the results ride with the next cycle's claim */
        BB_ASSERT(npend == 0);
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                pthread_mutex_lock(&p->mu);
                take_slot(w, &jobs[i]);
                pthread_mutex_unlock(&p->mu);
            }
            struct pool_result *r = &pend[npend++];
            memset(r, 0, sizeof *r);
            p->hooks.run(p->hooks.ud, &jobs[i], &w->cancel, &w->shutdown, r);
            BB_ASSERT(r->f.job_id == jobs[i].id);
            job_clear(&jobs[i]);
        }
    }
    BB_ASSERT(npend == 0);
    return NULL;
}

/* ---- maintenance ------------------------------------------------------- */

/* The housekeeping named in the DESIGN comment, each on its period; `last`
 * holds the monotonic time of each task's last run. */
static void housekeeping(pool *p, const int64_t *ids, size_t nids, int64_t last[4])
{
    int64_t now = bb_mono_us();
    if (now - last[3] >= (int64_t)BATCH_COALESCE_MS * 1000) {
        last[3] = now;
        if (repo_batch_flush(p->db, bb_now_ms(), NULL) != BB_OK)
            bb_warn("publishing held-back batch updates failed");
    }
    if (now - last[0] >= (int64_t)POOL_RENEW_MS * 1000) {
        last[0] = now;
        if (repo_job_renew_leases(p->db, ids, nids, bb_now_ms() + POOL_LEASE_MS) != BB_OK)
            bb_warn("lease renewal failed");
    }
    if (now - last[1] >= EXPIRE_EVERY_US) {
        last[1] = now;
        int n = 0;
        if (repo_job_expire_leases(p->db, bb_now_ms(), &n) == BB_OK && n > 0) {
            char num[16];
            snprintf(num, sizeof num, "%d", n);
            bb_warn("requeued jobs whose worker lease expired", "count", num);
            pool_wake(p);
        }
    }
    if (now - last[2] >= HOUSEKEEP_EVERY_US) {
        last[2] = now;
        if (repo_tokens_prune(p->db, bb_now_ms()) != BB_OK)
            bb_warn("token pruning failed");
        int64_t deleted = 0;
        if (repo_events_trim(p->db, p->cfg->events.retain_events, &deleted) != BB_OK)
            bb_warn("event log trim failed");
    }
}

/* Writes text as waitingFor on the queued jobs of preset (NULL = all),
 * oldest first: up to ops batches of `batch` jobs. */
static void mark_held(pool *p, const char *preset, const char *text, int ops, int batch)
{
    for (int op = 0; op < ops; op++) {
        int n = 0;
        if (repo_wait_mark(p->db, preset, text, batch, &n) != BB_OK) {
            bb_warn("could not mark held jobs' waitingFor");
            return;
        }
        if (n < batch)
            return;
    }
}

/* The waitingFor pass (see DESIGN): marks the jobs of held presets and
 * clears the marks of presets no longer held.  Maintenance thread only. */
static void flow_holds(pool *p)
{
    const bb_config *cfg = p->cfg;
    char *held = NULL;
    size_t len = 0;
    pthread_mutex_lock(&p->mu);
    bool all = p->paused_all;
    int64_t now = bb_now_ms();
    struct { const char *id; char text[64]; } marks[64];
    size_t nmarks = 0;
    for (size_t i = 0; !all && i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        char key[80];
        snprintf(key, sizeof key, ",%s,", pr->id);
        bool paused = p->paused && strstr(p->paused, key);
        if (!paused && !rate_blocked(p, i, now))
            continue;
        if (!id_list_add(&held, &len, pr->id) || nmarks == 64)
            break;
        marks[nmarks].id = pr->id;
        if (paused)
            snprintf(marks[nmarks].text, sizeof marks[nmarks].text, "%s", WAIT_PAUSED);
        else
            snprintf(marks[nmarks].text, sizeof marks[nmarks].text, "%s%d per %d s",
                     WAIT_RATE_PREFIX, pr->rate_jobs, pr->rate_per_sec);
        nmarks++;
    }
    pthread_mutex_unlock(&p->mu);
    if (all) {
        mark_held(p, NULL, WAIT_PAUSED, HOLDS_MAX_OPS, HOLDS_BATCH);
        free(p->held_marked);
        p->held_marked = strdup(",*,");
        return;
    }
    /* a pause marks every queued job of the preset; a rate limit, which
     * comes and goes with each window, only the next RATE_MARKS of them */
    for (size_t i = 0; i < nmarks; i++) {
        bool paused = strcmp(marks[i].text, WAIT_PAUSED) == 0;
        mark_held(p, marks[i].id, marks[i].text, paused ? HOLDS_MAX_OPS : 1,
                  paused ? HOLDS_BATCH : RATE_MARKS);
    }
    /* clear only when a hold ended since the last pass (or after start) */
    bool changed = !p->held_marked || strcmp(p->held_marked, held ? held : ",") != 0;
    if (changed) {
        for (int op = 0; op < HOLDS_MAX_OPS; op++) {
            int n = 0;
            if (repo_wait_unmark(p->db, held, HOLDS_BATCH, &n) != BB_OK || n < HOLDS_BATCH)
                break;
        }
    }
    if (changed) {
        free(p->held_marked);
        p->held_marked = held ? held : strdup(",");
        held = NULL;
    }
    free(held);
}

static void *maint_main(void *arg)
{
    pool *p = arg;
    int64_t start = bb_mono_us();
    int64_t last[4] = {start, start, start - HOUSEKEEP_EVERY_US, start};
    int64_t last_holds = start - HOLDS_EVERY_US;
    for (;;) {
        struct timespec ts;
        deadline_in(&ts, 1000);
        pthread_mutex_lock(&p->mu);
        if (!p->stopping)
            pthread_cond_timedwait(&p->cond, &p->mu, &ts);
        bool stop = p->stopping;
        int64_t ids[256];
        size_t nids = 0;
        for (int i = 0; i < p->n && nids < 256; i++)
            if (p->w[i].job_id)
                ids[nids++] = p->w[i].job_id;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        housekeeping(p, ids, nids, last);
        if (bb_mono_us() - last_holds >= HOLDS_EVERY_US) {
            last_holds = bb_mono_us();
            flow_holds(p);
        }
    }
    return NULL;
}

/* ---- public ------------------------------------------------------------ */

int pool_queue_reload(pool *p)
{
    struct queue_pause *ps = NULL;
    size_t n = 0;
    int rc = repo_queue_pauses(p->db, &ps, &n);
    if (rc != BB_OK)
        return rc;
    bool all = false;
    char *list = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ps[i].preset[0] == '\0')
            all = true;
        else if (!id_list_add(&list, &len, ps[i].preset))
            rc = BB_EINTERNAL;
    }
    free(ps);
    if (rc != BB_OK) {
        free(list);
        return rc;
    }
    pthread_mutex_lock(&p->mu);
    free(p->paused);
    p->paused = list;
    p->paused_all = all;
    p->wake_seq++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return BB_OK;
}

/* The batchable list without the presets flow control must see one claim
 * at a time (needs, job needs, a rate limit); caller frees.  false on OOM. */
static bool flow_batchable(const bb_config *cfg, const char *in, char **out)
{
    *out = NULL;
    if (!in)
        return true;
    size_t len = 0;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        char key[80];
        snprintf(key, sizeof key, ",%s,", pr->id);
        if (!strstr(in, key) || pr->needs || pr->allow_job_needs || pr->rate_jobs ||
            pr->workflow == BB_WF_COMFYUI)
            continue;
        if (!id_list_add(out, &len, pr->id))
            return false;
    }
    return true;
}

/* The presets whose jobs need placement (",p1,"; NULL when none or no
 * callback); false on OOM. */
static bool placed_presets(pool *p)
{
    size_t len = 0;
    for (size_t i = 0; p->place && i < p->cfg->npresets; i++)
        if (p->cfg->presets[i].workflow == BB_WF_COMFYUI &&
            !id_list_add(&p->placed, &len, p->cfg->presets[i].id))
            return false;
    return true;
}

static bool rates_init(pool *p)
{
    const bb_config *cfg = p->cfg;
    p->rates = calloc(cfg->npresets ? cfg->npresets : 1, sizeof *p->rates);
    if (!p->rates)
        return false;
    for (size_t i = 0; i < cfg->npresets; i++) {
        const bb_preset *pr = &cfg->presets[i];
        if (pr->rate_jobs <= 0)
            continue;
        p->rates[i].cap = pr->rate_jobs;
        p->rates[i].window_ms = (int64_t)pr->rate_per_sec * 1000;
        if (!(p->rates[i].starts = calloc((size_t)pr->rate_jobs, sizeof(int64_t))))
            return false;
    }
    return true;
}

static void rates_free(pool *p)
{
    for (size_t i = 0; p->rates && i < p->cfg->npresets; i++)
        free(p->rates[i].starts);
    free(p->rates);
}

pool *pool_start(const struct pool_opts *o)
{
    BB_ASSERT(o->db && o->cfg && o->hooks.run);
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->db = o->db;
    p->cfg = o->cfg;
    p->hooks = o->hooks;
    p->n = o->workers < 1 ? 1 : o->workers;
    p->place = o->place;
    p->place_ud = o->place_ud;
    bool ok = flow_batchable(o->cfg, o->batchable, &p->batchable) && placed_presets(p);
    p->w = calloc((size_t)p->n, sizeof *p->w);
    if (!p->w || !ok || !rates_init(p)) {
        free(p->w);
        free(p->batchable);
        free(p->placed);
        rates_free(p);
        free(p);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->claim_mu, NULL);
    if (pool_queue_reload(p) != BB_OK)
        bb_warn("could not read the paused queues; starting unpaused");
    int started = 0;
    for (int i = 0; i < p->n; i++) {
        p->w[i].p = p;
        atomic_init(&p->w[i].cancel, false);
        atomic_init(&p->w[i].shutdown, false);
        if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0)
            break;
        started++;
    }
    if (started == p->n && pthread_create(&p->maint, NULL, maint_main, p) == 0)
        p->maint_started = true;
    if (!p->maint_started) {
        p->n = started;
        pool_stop(p, 0);
        return NULL;
    }
    return p;
}

void pool_wake(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->wake_seq++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void pool_cancel(pool *p, int64_t job_id)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n; i++)
        if (p->w[i].job_id == job_id)
            atomic_store(&p->w[i].cancel, true);
    pthread_mutex_unlock(&p->mu);
}

void pool_stats(pool *p, int *busy, int *total)
{
    pthread_mutex_lock(&p->mu);
    *busy = p->busy;
    *total = p->n;
    pthread_mutex_unlock(&p->mu);
}

void pool_stop(pool *p, int grace_ms)
{
    if (!p)
        return;
    struct timespec ts;
    deadline_in(&ts, grace_ms);
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    while (p->busy > 0)
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT)
            break;
    if (p->busy > 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", p->busy);
        bb_warn("grace period over: stopping running jobs and requeueing them", "count", num);
        for (int i = 0; i < p->n; i++) {
            if (p->w[i].job_id) {
                atomic_store(&p->w[i].shutdown, true);
                atomic_store(&p->w[i].cancel, true);
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->w[i].th, NULL);
    if (p->maint_started)
        pthread_join(p->maint, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->claim_mu);
    pthread_cond_destroy(&p->cond);
    free(p->w);
    free(p->batchable);
    free(p->placed);
    free(p->paused);
    free(p->held_marked);
    rates_free(p);
    free(p);
}

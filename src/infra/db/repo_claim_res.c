/* repo_claim_res.c — the resource-aware pick of the claim cycle
 * (docs/scheduling.md, "Resources"), used by repo_claim.c when resource
 * pools are configured.  Runs inside the worker cycle's writer operation:
 *
 *   1. the units held are derived from the running jobs' `resources`
 *      column (every transition out of running clears it, so a crash or a
 *      restart cannot leak a unit);
 *   2. the first CLAIM_SCAN queued candidates are read in claim order
 *      (priority, then age); the first whose needs fit what is free — less
 *      what a reserving job set aside — is picked, and the lowest free
 *      unit numbers of each counted pool are given to it;
 *   3. a candidate that does not fit gets waitingFor ("gpu: needs 1, 0 of
 *      2 free"), written only when the text changes; the first blocked
 *      candidate that has waited queue.reserveAfterSec since it was
 *      submitted reserves what it needs: the candidates after it may only
 *      use the rest, so small jobs cannot starve it forever.
 *
 * Placement (docs/comfyui.md, "Placement"): a candidate whose preset is in
 * the request's `placed` list also needs a server from the request's
 * callback, which gets the running jobs per server (read from the same
 * `resources`, {"comfyui": "ID"}) and the server of the job's open prompt
 * (comfyui_prompts) so that a restarted attempt goes back there; the
 * server chosen is added to the job's resources.
 *
 * repo_claim_pick_res runs on the writer thread (it takes the operation's
 * connection); repo_pool_usage (repo_flow.h) reads the same held units on
 * a borrowed read connection for the statistics. */
#include "infra/db/repo_claim_res.h"
#include "infra/db/repo_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/event.h"
#include "infra/db/repo_jobrow.h"
#include "util/bb_assert.h"
#include "util/err.h"

#define CLAIM_SCAN 32
#define MAX_LOAD 256

/* What each pool has: totals, and what running jobs and a reservation hold. */
struct res_state {
    size_t n;
    const bb_pool *pools;
    int64_t used[BB_MAX_POOLS];       /* held by running jobs */
    uint64_t mask[BB_MAX_POOLS];      /* counted pools: the unit numbers held */
    int64_t reserved[BB_MAX_POOLS];   /* set aside for the reserving job */
    int64_t reserver;                 /* its id, 0 = none yet */
    struct claim_load load[MAX_LOAD]; /* running jobs per placement server */
    size_t nload;
};

/* Counts one more running job on server id. */
static void load_add(struct res_state *s, const char *id)
{
    size_t i = 0;
    while (i < s->nload && strcmp(s->load[i].id, id) != 0)
        i++;
    if (i == s->nload) {
        if (s->nload == MAX_LOAD || strlen(id) >= CLAIM_SERVER_ID)
            return;
        snprintf(s->load[i].id, sizeof s->load[i].id, "%s", id);
        s->load[i].running = 0;
        s->nload++;
    }
    s->load[i].running++;
}

static const char SQL_HELD[] =
    "SELECT resources FROM jobs INDEXED BY jobs_state WHERE state = 'running' "
    "AND resources IS NOT NULL";

static int add_held(void *ud, db_q *q)
{
    struct res_state *s = ud;
    const char *text = db_col_text(q, 0);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *srv = cJSON_GetObjectItemCaseSensitive(o, "comfyui");
    if (cJSON_IsString(srv))
        load_add(s, srv->valuestring);
    for (size_t i = 0; o && i < s->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, s->pools[i].name);
        if (s->pools[i].counted && cJSON_IsArray(v)) {
            for (const cJSON *u = v->child; u; u = u->next)
                if (cJSON_IsNumber(u) && u->valuedouble >= 0 &&
                    u->valuedouble < BB_POOL_MAX_UNITS) {
                    uint64_t bit = 1ull << (unsigned)u->valuedouble;
                    if (!(s->mask[i] & bit)) {
                        s->mask[i] |= bit;
                        s->used[i]++;
                    }
                }
        } else if (!s->pools[i].counted && cJSON_IsNumber(v) && v->valuedouble > 0) {
            s->used[i] += (int64_t)v->valuedouble;
        }
    }
    cJSON_Delete(o);
    return BB_OK;
}

struct cand {
    int64_t id, created_at;
    char *needs, *waiting_for, *preset, *params;
};

static void fill_cand(db_q *q, void *rec)
{
    struct cand *c = rec;
    c->id = db_col_i64(q, 0);
    c->needs = db_col_strdup(q, 1);
    c->created_at = db_col_i64(q, 2);
    c->waiting_for = db_col_strdup(q, 3);
    c->preset = db_col_strdup(q, 4);
    c->params = db_col_strdup(q, 5);
}

static void clear_cand(void *rec)
{
    struct cand *c = rec;
    free(c->needs);
    free(c->waiting_for);
    free(c->preset);
    free(c->params);
}

static const char SQL_SCAN[] =
    "SELECT id, needs, created_at, waiting_for, preset, params FROM jobs INDEXED BY jobs_claim "
    "WHERE state = 'queued' AND kind = 'job' AND run_after <= :now "
    "AND (:blocked IS NULL OR instr(:blocked, ',' || preset || ',') = 0) "
    "ORDER BY priority DESC, id LIMIT :scan";
static const char SQL_PREFER[] =
    "SELECT server_id FROM comfyui_prompts WHERE job_id = :id "
    "AND state IN ('posting', 'queued', 'running') ORDER BY created_at DESC LIMIT 1";
static const char SQL_WAITING[] =
    "UPDATE jobs SET waiting_for = :w, updated_at = :now WHERE id = :id AND state = 'queued'";

/* Parses a needs text into amounts per pool; -1 (with why in msg) when it
 * names a pool that is not configured or more than the pool has. */
static int needs_amounts(const struct res_state *s, const char *text, int64_t *amt,
                         char *msg, size_t cap)
{
    memset(amt, 0, sizeof(int64_t) * BB_MAX_POOLS);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    int rc = 0;
    for (const cJSON *it = o ? o->child : NULL; it && rc == 0; it = it->next) {
        size_t i = 0;
        while (i < s->n && strcmp(s->pools[i].name, it->string ? it->string : "") != 0)
            i++;
        int64_t v = cJSON_IsNumber(it) && it->valuedouble > 0 ? (int64_t)it->valuedouble : 0;
        if (v == 0)
            continue;
        if (i == s->n) {
            snprintf(msg, cap, "needs resource pool \"%.40s\", which is not configured",
                     it->string ? it->string : "?");
            rc = -1;
        } else if (v > s->pools[i].total) {
            snprintf(msg, cap, "%s: needs %lld, the pool has %lld", s->pools[i].name,
                     (long long)v, (long long)s->pools[i].total);
            rc = -1;
        } else {
            amt[i] = v;
        }
    }
    cJSON_Delete(o);
    return rc;
}

/* Whether amt fits now; if not, the waitingFor text of the first pool it
 * does not fit in goes to msg. */
static bool fits(const struct res_state *s, const int64_t *amt, char *msg, size_t cap)
{
    for (size_t i = 0; i < s->n; i++) {
        int64_t free_now = s->pools[i].total - s->used[i];
        if (amt[i] <= free_now - s->reserved[i])
            continue;
        if (amt[i] <= free_now && s->reserver)
            snprintf(msg, cap, "%s: needs %lld, %lld of %lld free (%lld reserved for job %lld)",
                     s->pools[i].name, (long long)amt[i], (long long)free_now,
                     (long long)s->pools[i].total, (long long)s->reserved[i],
                     (long long)s->reserver);
        else
            snprintf(msg, cap, "%s: needs %lld, %lld of %lld free", s->pools[i].name,
                     (long long)amt[i], (long long)(free_now < 0 ? 0 : free_now),
                     (long long)s->pools[i].total);
        return false;
    }
    return true;
}

/* The units given for amt: {"gpu": [0, 1], "vram": 12} (caller frees), or
 * NULL when it needs nothing (or out of memory: *oom). */
static char *allocate(struct res_state *s, const int64_t *amt, bool *oom)
{
    cJSON *o = cJSON_CreateObject();
    bool any = false;
    *oom = o == NULL;
    for (size_t i = 0; o && i < s->n; i++) {
        if (amt[i] == 0)
            continue;
        any = true;
        if (!s->pools[i].counted) {
            if (!cJSON_AddNumberToObject(o, s->pools[i].name, (double)amt[i]))
                *oom = true;
            s->used[i] += amt[i];
            continue;
        }
        cJSON *arr = cJSON_AddArrayToObject(o, s->pools[i].name);
        int64_t got = 0;
        for (unsigned u = 0; arr && u < (unsigned)s->pools[i].total && got < amt[i]; u++) {
            if (s->mask[i] & (1ull << u))
                continue;
            cJSON *num = cJSON_CreateNumber(u);
            if (!num || !cJSON_AddItemToArray(arr, num)) {
                cJSON_Delete(num);
                *oom = true;
            }
            s->mask[i] |= 1ull << u;
            got++;
        }
        BB_ASSERT(got == amt[i]);
        *oom = *oom || !arr;
        s->used[i] += got;
    }
    char *text = any && o && !*oom ? cJSON_PrintUnformatted(o) : NULL;
    if (any && o && !*oom && !text)
        *oom = true;
    cJSON_Delete(o);
    return text;
}

/* Whether candidate c's preset needs placement. */
static bool needs_place(const struct claim_req *r, const struct cand *c)
{
    if (!r->placed || !r->place || !c->preset)
        return false;
    char key[80];
    snprintf(key, sizeof key, ",%s,", c->preset);
    return strstr(r->placed, key) != NULL;
}

/* Asks the request's callback where candidate c runs: BB_OK with *placed
 * and server, else why in msg; or a db error. */
static int place(db_conn *conn, const struct claim_req *r, struct res_state *s,
                 const struct cand *c, bool *placed, char server[CLAIM_SERVER_ID], char *msg,
                 size_t cap)
{
    db_q q;
    char prefer[CLAIM_SERVER_ID] = "";
    db_prepare(&q, conn, SQL_PREFER);
    db_bind_i64(&q, ":id", c->id);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        const char *v = db_col_text(&q, 0);
        snprintf(prefer, sizeof prefer, "%s", v ? v : "");
        rc = db_end(&q);
    } else if (rc == BB_ENOTFOUND) {
        rc = BB_OK;
    }
    if (rc != BB_OK)
        return rc;
    struct claim_place in = {.job_id = c->id, .preset = c->preset,
                             .params = c->params ? c->params : "{}",
                             .prefer = prefer[0] ? prefer : NULL, .load = s->load,
                             .nload = s->nload};
    server[0] = '\0';
    msg[0] = '\0';
    *placed = r->place(r->place_ud, &in, server, msg, cap) == 1 && server[0];
    if (!*placed && !msg[0])
        snprintf(msg, cap, "no ComfyUI server can run it now");
    return BB_OK;
}

/* held (JSON object text or NULL; freed) with "comfyui": server added; a
 * new text (caller frees) or NULL when out of memory. */
static char *with_server(char *held, const char *server)
{
    cJSON *o = held ? cJSON_Parse(held) : cJSON_CreateObject();
    free(held);
    if (!o || !cJSON_AddStringToObject(o, "comfyui", server)) {
        cJSON_Delete(o);
        return NULL;
    }
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

/* Sets waitingFor of queued job c to w (NULL clears) when it differs,
 * logging the job's new DTO. */
static int set_waiting(db_conn *conn, db_outbox *out, const struct cand *c, const char *w,
                       int64_t now)
{
    if ((!w && !c->waiting_for) || (w && c->waiting_for && strcmp(w, c->waiting_for) == 0))
        return BB_OK;
    db_q q;
    db_prepare(&q, conn, SQL_WAITING);
    db_bind_text(&q, ":w", w);
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":id", c->id);
    int rc = db_step_done(&q);
    return rc == BB_OK ? repo_emit_job(conn, out, EV_JOB_STATE_CHANGED, c->id) : rc;
}

int repo_claim_pick_res(db_conn *conn, const struct claim_req *r, db_outbox *out,
                        int64_t *id, char **held)
{
    *id = 0;
    *held = NULL;
    struct res_state s = {.n = r->npools < BB_MAX_POOLS ? r->npools : BB_MAX_POOLS,
                          .pools = r->pools};
    db_q q;
    db_prepare(&q, conn, SQL_HELD);
    int rc = db_each(&q, add_held, &s);
    if (rc != BB_OK)
        return rc;
    db_prepare(&q, conn, SQL_SCAN);
    db_bind_i64(&q, ":now", r->now);
    db_bind_text(&q, ":blocked", r->blocked);
    db_bind_i64(&q, ":scan", CLAIM_SCAN);
    void *items = NULL;
    size_t n = 0;
    if ((rc = db_collect(&q, sizeof(struct cand), CLAIM_SCAN, fill_cand, clear_cand, &items,
                         &n)) != BB_OK)
        return rc;
    struct cand *cs = items;
    for (size_t i = 0; i < n && rc == BB_OK && *id == 0; i++) {
        int64_t amt[BB_MAX_POOLS];
        char msg[200];
        if (needs_amounts(&s, cs[i].needs, amt, msg, sizeof msg) != 0) {
            rc = set_waiting(conn, out, &cs[i], msg, r->now);
            continue;
        }
        bool fit = fits(&s, amt, msg, sizeof msg), placed = true;
        char server[CLAIM_SERVER_ID] = "";
        if (fit && needs_place(r, &cs[i])) {
            if ((rc = place(conn, r, &s, &cs[i], &placed, server, msg, sizeof msg)) != BB_OK)
                break;
        }
        if (fit && placed) {
            bool oom = false;
            *held = allocate(&s, amt, &oom);
            if (!oom && server[0]) {
                *held = with_server(*held, server);
                oom = *held == NULL;
                load_add(&s, server);
            }
            if (oom)
                rc = BB_EINTERNAL;
            else
                *id = cs[i].id;
            continue;
        }
        if (fit) {          /* resources fit, no server: nothing to reserve */
            rc = set_waiting(conn, out, &cs[i], msg, r->now);
            continue;
        }
        if (!s.reserver && r->now - cs[i].created_at >= r->reserve_after_ms) {
            s.reserver = cs[i].id;
            for (size_t k = 0; k < s.n; k++) {
                int64_t free_now = s.pools[k].total - s.used[k];
                s.reserved[k] = amt[k] < free_now ? amt[k] : free_now < 0 ? 0 : free_now;
            }
        }
        rc = set_waiting(conn, out, &cs[i], msg, r->now);
    }
    for (size_t i = 0; i < n; i++)
        clear_cand(&cs[i]);
    free(cs);
    if (rc != BB_OK) {
        free(*held);
        *held = NULL;
        *id = 0;
    }
    return rc;
}

int repo_pool_usage(db *d, const bb_pool *pools, size_t npools, int64_t *used)
{
    struct res_state s = {.n = npools < BB_MAX_POOLS ? npools : BB_MAX_POOLS, .pools = pools};
    db_q q;
    db_prepare_read(&q, d, SQL_HELD);
    int rc = db_each(&q, add_held, &s);
    db_release(&q);
    for (size_t i = 0; i < npools; i++)
        used[i] = i < s.n ? s.used[i] : 0;
    return rc;
}

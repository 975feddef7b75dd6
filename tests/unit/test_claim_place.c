/* test_claim_place.c — placement in the claim (src/infra/db/repo_claim_res.c,
 * docs/comfyui.md "Placement") and the server repository
 * (src/infra/db/repo_comfy_server.c): a job of a placed preset is claimed
 * only where the callback puts it, with {"comfyui": ID} in its resources,
 * the callback sees the running jobs per server, a job it cannot place
 * gets its reason as waitingFor and the others are still claimed; the
 * configuration merge keeps an admin's changes. */
#define UNIT_MAIN
#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infra/db/db.h"
#include "infra/db/repo_claim.h"
#include "infra/db/repo_comfy_prompt.h"
#include "infra/db/repo_comfy_server.h"
#include "infra/db/repo_job.h"
#include "util/err.h"
#include "util/files.h"
#include "util/util.h"

struct tmp {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
};

static db *fresh(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/bb-claim-place-XXXXXX");
    if (!mkdtemp(t->dir))
        return NULL;
    snprintf(t->path, sizeof t->path, "%s/batchbox.db", t->dir);
    db *d = NULL;
    char err[256] = "";
    struct db_options o = {.readers = 2};
    return db_open(t->path, &o, &d, err, sizeof err) == 0 ? d : NULL;
}

/* Closes d and removes its folder (the end of every test). */
static void drop(db *d, struct tmp *t)
{
    db_close(d);
    bb_rmtree(t->dir);
}

static int64_t submit(db *d, const char *preset)
{
    job j;
    memset(&j, 0, sizeof j);
    j.state = JOB_QUEUED;
    j.preset = strdup(preset);
    j.max_attempts = 1;
    bool existed = false;
    int rc = repo_job_submit(d, &j, NULL, NULL, &existed);
    int64_t id = rc == BB_OK ? j.id : 0;
    job_clear(&j);
    return id;
}

/* One server "gpu1" with one slot; counts the calls and the load seen. */
struct fake_pool {
    int calls, last_running;
};

static int place(void *ud, const struct claim_place *in, char server[CLAIM_SERVER_ID],
                 char *why, size_t cap)
{
    struct fake_pool *f = ud;
    f->calls++;
    f->last_running = 0;
    for (size_t i = 0; i < in->nload; i++)
        if (strcmp(in->load[i].id, "gpu1") == 0)
            f->last_running = in->load[i].running;
    if (f->last_running >= 1) {
        snprintf(why, cap, "all ComfyUI servers busy (1 of 1 slots)");
        return 0;
    }
    snprintf(server, CLAIM_SERVER_ID, "gpu1");
    return 1;
}

static void cycle(db *d, struct fake_pool *f, job *out, size_t *got)
{
    struct claim_req r = {.now = bb_now_ms(), .lease_ms = 30000, .max = 1,
                          .placed = ",sd,", .place = place, .place_ud = f};
    int64_t due = 0;
    *got = 0;
    CHECK_EQ_INT(repo_job_cycle(d, NULL, 0, &r, out, got, &due), BB_OK);
}

TEST(placed_jobs_wait_for_a_slot_and_others_pass)
{
    struct tmp t;
    db *d = fresh(&t);
    CHECK(d != NULL);
    int64_t a = submit(d, "sd"), b = submit(d, "sd"), c = submit(d, "noop");
    CHECK(a && b && c);
    struct fake_pool f = {0};
    job out[1];
    size_t n = 0;
    cycle(d, &f, out, &n);
    CHECK_EQ_INT((int)n, 1);
    CHECK_EQ_INT((int)out[0].id, (int)a);
    CHECK_STR_EQ(out[0].resources, "{\"comfyui\":\"gpu1\"}");
    job_clear(&out[0]);
    /* the second sd job sees gpu1 busy: it waits, the noop job runs */
    cycle(d, &f, out, &n);
    CHECK_EQ_INT((int)n, 1);
    CHECK_EQ_INT((int)out[0].id, (int)c);
    CHECK(out[0].resources == NULL);
    CHECK_EQ_INT(f.last_running, 1);
    job_clear(&out[0]);
    job jb;
    CHECK_EQ_INT(repo_job_get(d, b, 0, &jb), BB_OK);
    CHECK_EQ_INT(jb.state, JOB_QUEUED);
    CHECK_STR_EQ(jb.waiting_for, "all ComfyUI servers busy (1 of 1 slots)");
    job_clear(&jb);
    /* a finishes: b is placed */
    struct job_finish fin = {.job_id = a, .kind = FINISH_SUCCEEDED};
    CHECK_EQ_INT(repo_job_finish(d, &fin), BB_OK);
    cycle(d, &f, out, &n);
    CHECK_EQ_INT((int)n, 1);
    CHECK_EQ_INT((int)out[0].id, (int)b);
    CHECK(out[0].waiting_for == NULL);
    job_clear(&out[0]);
    drop(d, &t);
}

/* With placement configured, a job of a batchable preset still brings
 * more of its kind in the same cycle (the placed ones never ride along). */
TEST(batchable_jobs_still_claimed_together_with_placement_on)
{
    struct tmp t;
    db *d = fresh(&t);
    CHECK(d != NULL);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        CHECK((ids[i] = submit(d, i == 2 ? "sd" : "noop")) != 0);
    struct fake_pool f = {0};
    struct claim_req r = {.now = bb_now_ms(), .lease_ms = 30000, .max = 8,
                          .batchable = ",noop,", .placed = ",sd,", .place = place,
                          .place_ud = &f};
    job out[8];
    size_t n = 0;
    int64_t due = 0;
    CHECK_EQ_INT(repo_job_cycle(d, NULL, 0, &r, out, &n, &due), BB_OK);
    CHECK_EQ_INT((int)n, 4);   /* the four noop jobs, in order; not the sd one */
    CHECK_EQ_INT((int)out[0].id, (int)ids[0]);
    CHECK_EQ_INT((int)out[1].id, (int)ids[1]);
    CHECK_EQ_INT((int)out[2].id, (int)ids[3]);
    CHECK_EQ_INT((int)out[3].id, (int)ids[4]);
    for (size_t i = 0; i < n; i++)
        job_clear(&out[i]);
    /* the next cycle places the sd job alone */
    CHECK_EQ_INT(repo_job_cycle(d, NULL, 0, &r, out, &n, &due), BB_OK);
    CHECK_EQ_INT((int)n, 1);
    CHECK_EQ_INT((int)out[0].id, (int)ids[2]);
    CHECK_STR_EQ(out[0].resources, "{\"comfyui\":\"gpu1\"}");
    job_clear(&out[0]);
    drop(d, &t);
}

/* A job retried past the list's limit still sees its newest prompts (the
 * open one is the newest), oldest first. */
TEST(prompt_list_keeps_the_newest)
{
    struct tmp t;
    db *d = fresh(&t);
    CHECK(d != NULL);
    int64_t jid = submit(d, "sd");
    CHECK(jid != 0);
    for (int i = 1; i <= 70; i++) {
        char id[40];
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        comfy_prompt_rec r = {.prompt_id = id, .job_id = jid, .attempt = i,
                              .server_id = "gpu1", .state = i == 70 ? "queued" : "lost"};
        CHECK_EQ_INT(repo_comfy_prompt_insert(d, &r), BB_OK);
    }
    comfy_prompt_rec *recs = NULL;
    size_t n = 0;
    CHECK_EQ_INT(repo_comfy_prompt_list(d, jid, 64, &recs, &n), BB_OK);
    CHECK_EQ_INT((int)n, 64);
    CHECK_EQ_INT(recs[0].attempt, 7);
    CHECK_EQ_INT(recs[63].attempt, 70);
    CHECK_STR_EQ(recs[63].state, "queued");
    for (size_t i = 0; i < n; i++)
        comfy_prompt_clear(&recs[i]);
    free(recs);
    drop(d, &t);
}

TEST(config_merge_keeps_admin_changes)
{
    struct tmp t;
    db *d = fresh(&t);
    CHECK(d != NULL);
    char *labels[] = {"sdxl", NULL};
    bb_comfy_server s = {.id = "gpu1", .url = "http://127.0.0.1:1", .slots = 1,
                         .labels = labels, .nlabels = 1};
    CHECK_EQ_INT(repo_comfy_server_merge_config(d, &s, 1), BB_OK);
    CHECK_EQ_INT(repo_comfy_server_update(d, "gpu1", true, false, true, 4, "[\"x\"]"), BB_OK);
    s.url = "http://127.0.0.1:2";
    CHECK_EQ_INT(repo_comfy_server_merge_config(d, &s, 1), BB_OK);
    comfy_server_rec r;
    CHECK_EQ_INT(repo_comfy_server_get(d, "gpu1", &r), BB_OK);
    CHECK_STR_EQ(r.url, "http://127.0.0.1:2");
    CHECK_STR_EQ(r.labels, "[\"x\"]");
    CHECK_EQ_INT(r.slots, 4);
    CHECK(!r.enabled);
    CHECK_STR_EQ(r.source, "config");
    comfy_server_rec_clear(&r);
    comfy_server_rec n = {.id = "gpu1", .url = "http://h", .slots = 1, .labels = "[]"};
    CHECK_EQ_INT(repo_comfy_server_insert(d, &n), BB_ECONFLICT);
    free(n.source);
    CHECK_EQ_INT(repo_comfy_server_delete(d, "nosuch"), BB_ENOTFOUND);
    char id1[37], id2[37];
    CHECK_EQ_INT(repo_comfy_client_id(d, "11111111-1111-4111-8111-111111111111", id1), BB_OK);
    CHECK_EQ_INT(repo_comfy_client_id(d, "22222222-2222-4222-8222-222222222222", id2), BB_OK);
    CHECK_STR_EQ(id1, "11111111-1111-4111-8111-111111111111");
    CHECK_STR_EQ(id2, id1);
    drop(d, &t);
}

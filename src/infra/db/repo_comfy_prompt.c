/* repo_comfy_prompt.c — SQL for comfyui_prompts (see repo_comfy_prompt.h).
 * Writes run on the db writer thread; reads borrow a read connection. */
#include "infra/db/repo_comfy_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define PROMPT_COLS \
    "prompt_id, job_id, attempt, server_id, state, error, detail, created_at, updated_at"

static const struct db_col PROMPT_MAP[] = {
    DB_COL(comfy_prompt_rec, prompt_id, STR),  DB_COL(comfy_prompt_rec, job_id, I64),
    DB_COL(comfy_prompt_rec, attempt, INT),    DB_COL(comfy_prompt_rec, server_id, STR),
    DB_COL(comfy_prompt_rec, state, STR),      DB_COL(comfy_prompt_rec, error, STR),
    DB_COL(comfy_prompt_rec, detail, STR),     DB_COL(comfy_prompt_rec, created_at, I64),
    DB_COL(comfy_prompt_rec, updated_at, I64),
};
#define PROMPT_NCOLS (sizeof PROMPT_MAP / sizeof PROMPT_MAP[0])

void comfy_prompt_clear(comfy_prompt_rec *r)
{
    db_row_free(r, PROMPT_MAP, PROMPT_NCOLS);
    memset(r, 0, sizeof *r);
}

static const char SQL_INSERT[] =
    "INSERT INTO comfyui_prompts (" PROMPT_COLS ") VALUES (:prompt_id, :job_id, :attempt, "
    ":server_id, :state, :error, :detail, :now, :now)";

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    const comfy_prompt_rec *r = arg;
    db_q q;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, r, PROMPT_MAP, PROMPT_NCOLS);
    db_bind_i64(&q, ":now", bb_now_ms());
    return db_step_done(&q);
}

int repo_comfy_prompt_insert(db *d, const comfy_prompt_rec *r)
{
    return db_write(d, op_insert, (void *)r);
}

static const char SQL_UPDATE[] =
    "UPDATE comfyui_prompts SET state = :state, error = coalesce(:error, error), "
    "detail = coalesce(:detail, detail), updated_at = :now WHERE prompt_id = :id";

struct update_arg {
    const char *id, *state, *error, *detail;
};

static int op_update(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct update_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_UPDATE);
    db_bind_text(&q, ":state", a->state);
    db_bind_text(&q, ":error", a->error);
    db_bind_text(&q, ":detail", a->detail);
    db_bind_i64(&q, ":now", bb_now_ms());
    db_bind_text(&q, ":id", a->id);
    return db_step_done(&q);
}

int repo_comfy_prompt_update(db *d, const char *prompt_id, const char *state,
                             const char *error, const char *detail)
{
    struct update_arg a = {.id = prompt_id, .state = state, .error = error, .detail = detail};
    return db_write(d, op_update, &a);
}

/* Runs read q (its :limit bound to max) and releases it: the rows in
 * *out (caller clears each and frees the array), *n. */
static int collect_read(db_q *q, size_t max, comfy_prompt_rec **out, size_t *n)
{
    db_bind_i64(q, ":limit", (int64_t)max);
    void *items;
    int rc = db_collect_map(q, sizeof **out, max, PROMPT_MAP, PROMPT_NCOLS, &items, n);
    db_release(q);
    *out = items;
    return rc;
}

/* the newest :limit, oldest first (a job retried many times keeps its open
 * prompt in view) */
static const char SQL_LIST[] =
    "SELECT " PROMPT_COLS " FROM (SELECT rowid AS rid, " PROMPT_COLS " FROM comfyui_prompts "
    "WHERE job_id = :job_id ORDER BY created_at DESC, rowid DESC LIMIT :limit) "
    "ORDER BY created_at, rid";

int repo_comfy_prompt_list(db *d, int64_t job_id, size_t max, comfy_prompt_rec **out,
                           size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_i64(&q, ":job_id", job_id);
    return collect_read(&q, max, out, n);
}

/* Open rows on a server whose job no longer follows them: the job ended,
 * or made a newer prompt and is not running on this server now (a running
 * attempt here may be adopting the row: resume_earlier in exec/comfyui.c). */
static const char SQL_ORPHANS[] =
    "SELECT p.prompt_id, p.job_id, p.attempt, p.server_id, p.state, p.error, p.detail, "
    "p.created_at, p.updated_at FROM comfyui_prompts p INDEXED BY comfyui_prompts_open "
    "JOIN jobs j ON j.id = p.job_id "
    "WHERE p.server_id = :server AND p.state IN ('posting', 'queued', 'running', 'lost') "
    "AND (j.state IN ('succeeded', 'failed', 'canceled') "
    "OR (EXISTS (SELECT 1 FROM comfyui_prompts n WHERE n.job_id = p.job_id "
    "AND n.created_at > p.created_at) "
    "AND NOT (j.state = 'running' AND json_extract(j.resources, '$.comfyui') IS :server))) "
    "ORDER BY p.created_at LIMIT :limit";

int repo_comfy_prompt_orphans(db *d, const char *server_id, size_t max, comfy_prompt_rec **out,
                              size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_ORPHANS);
    db_bind_text(&q, ":server", server_id);
    return collect_read(&q, max, out, n);
}

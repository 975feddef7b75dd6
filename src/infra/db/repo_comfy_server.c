/* repo_comfy_server.c — SQL for comfyui_servers and comfyui_meta (see
 * repo_comfy_server.h).  Writes run on the db writer thread; reads borrow
 * a read connection. */
#include "infra/db/repo_comfy_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/err.h"
#include "util/util.h"

#define SERVER_COLS "id, url, slots, labels, enabled, source, created_at, updated_at"

static const struct db_col SERVER_MAP[] = {
    DB_COL(comfy_server_rec, id, STR),       DB_COL(comfy_server_rec, url, STR),
    DB_COL(comfy_server_rec, slots, INT),    DB_COL(comfy_server_rec, labels, STR),
    DB_COL(comfy_server_rec, enabled, BOOL), DB_COL(comfy_server_rec, source, STR),
    DB_COL(comfy_server_rec, created_at, I64), DB_COL(comfy_server_rec, updated_at, I64),
};
#define SERVER_NCOLS (sizeof SERVER_MAP / sizeof SERVER_MAP[0])

void comfy_server_rec_clear(comfy_server_rec *r)
{
    db_row_free(r, SERVER_MAP, SERVER_NCOLS);
    memset(r, 0, sizeof *r);
}

static const char SQL_LIST[] = "SELECT " SERVER_COLS " FROM comfyui_servers ORDER BY id";

int repo_comfy_server_list(db *d, comfy_server_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    void *items;
    int rc = db_collect_map(&q, sizeof **out, 0, SERVER_MAP, SERVER_NCOLS, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static const char SQL_GET[] = "SELECT " SERVER_COLS " FROM comfyui_servers WHERE id = :id";

int repo_comfy_server_get(db *d, const char *id, comfy_server_rec *out)
{
    db_q q;
    db_prepare_read(&q, d, SQL_GET);
    db_bind_text(&q, ":id", id);
    int rc = db_read_map(&q, out, sizeof *out, SERVER_MAP, SERVER_NCOLS);
    db_release(&q);
    return rc;
}

static const char SQL_EXISTS[] = "SELECT count(*) FROM comfyui_servers WHERE id = :id";
static const char SQL_INSERT[] =
    "INSERT INTO comfyui_servers (" SERVER_COLS ") VALUES (:id, :url, :slots, :labels, "
    ":enabled, :source, :created_at, :updated_at)";

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    comfy_server_rec *r = arg;
    db_q q;
    int64_t n = 0;
    db_prepare(&q, c, SQL_EXISTS);
    db_bind_text(&q, ":id", r->id);
    int rc = db_one_i64(&q, &n);
    if (rc != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EIO : rc;
    if (n > 0)
        return BB_ECONFLICT;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, r, SERVER_MAP, SERVER_NCOLS);
    return db_step_done(&q);
}

int repo_comfy_server_insert(db *d, comfy_server_rec *r)
{
    if (r->created_at == 0)
        r->created_at = bb_now_ms();
    r->updated_at = r->created_at;
    if (r->source == NULL && (r->source = strdup("api")) == NULL)
        return BB_EINTERNAL;
    return db_write(d, op_insert, r);
}

static const char SQL_UPDATE[] =
    "UPDATE comfyui_servers SET "
    "enabled = CASE WHEN :has_enabled THEN :enabled ELSE enabled END, "
    "slots = CASE WHEN :has_slots THEN :slots ELSE slots END, "
    "labels = coalesce(:labels, labels), updated_at = :now WHERE id = :id";

struct upd_arg {
    const char *id, *labels;
    bool has_enabled, enabled, has_slots;
    int slots;
};

static int op_update(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct upd_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_UPDATE);
    db_bind_i64(&q, ":has_enabled", a->has_enabled);
    db_bind_i64(&q, ":enabled", a->enabled);
    db_bind_i64(&q, ":has_slots", a->has_slots);
    db_bind_i64(&q, ":slots", a->slots);
    db_bind_text(&q, ":labels", a->labels);
    db_bind_i64(&q, ":now", bb_now_ms());
    db_bind_text(&q, ":id", a->id);
    int rc = db_step_done(&q);
    if (rc == BB_OK && db_changes(&q) == 0)
        rc = BB_ENOTFOUND;
    return rc;
}

int repo_comfy_server_update(db *d, const char *id, bool has_enabled, bool enabled,
                             bool has_slots, int slots, const char *labels)
{
    struct upd_arg a = {.id = id, .labels = labels, .has_enabled = has_enabled,
                        .enabled = enabled, .has_slots = has_slots, .slots = slots};
    return db_write(d, op_update, &a);
}

static const char SQL_DELETE[] = "DELETE FROM comfyui_servers WHERE id = :id";

static int op_delete(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    db_q q;
    db_prepare(&q, c, SQL_DELETE);
    db_bind_text(&q, ":id", arg);
    int rc = db_step_done(&q);
    if (rc == BB_OK && db_changes(&q) == 0)
        rc = BB_ENOTFOUND;
    return rc;
}

int repo_comfy_server_delete(db *d, const char *id)
{
    return db_write(d, op_delete, (void *)id);
}

static const char SQL_MERGE[] =
    "INSERT INTO comfyui_servers (id, url, slots, labels, enabled, source, created_at, "
    "updated_at) VALUES (:id, :url, :slots, :labels, 1, 'config', :now, :now) "
    "ON CONFLICT (id) DO UPDATE SET url = excluded.url, source = 'config', "
    "updated_at = CASE WHEN url = excluded.url AND source = 'config' THEN updated_at "
    "ELSE excluded.updated_at END";

struct merge_arg {
    const bb_comfy_server *s;
    size_t n;
};

/* The labels of s as JSON array text (caller frees), or NULL. */
static char *labels_json(const bb_comfy_server *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < s->nlabels; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(s->labels[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    char *txt = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return txt;
}

static int op_merge(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct merge_arg *a = arg;
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < a->n; i++) {
        char *labels = labels_json(&a->s[i]);
        if (!labels)
            return BB_EINTERNAL;
        db_q q;
        db_prepare(&q, c, SQL_MERGE);
        db_bind_text(&q, ":id", a->s[i].id);
        db_bind_text(&q, ":url", a->s[i].url);
        db_bind_i64(&q, ":slots", a->s[i].slots);
        db_bind_text(&q, ":labels", labels);
        db_bind_i64(&q, ":now", now);
        int rc = db_step_done(&q);
        free(labels);
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

int repo_comfy_server_merge_config(db *d, const bb_comfy_server *s, size_t n)
{
    struct merge_arg a = {.s = s, .n = n};
    return n ? db_write(d, op_merge, &a) : BB_OK;
}

static const char SQL_META_PUT[] =
    "INSERT INTO comfyui_meta (key, value) VALUES ('client_id', :v) "
    "ON CONFLICT (key) DO NOTHING";
static const char SQL_META_GET[] = "SELECT value FROM comfyui_meta WHERE key = 'client_id'";

struct meta_arg {
    const char *fresh;
    char *out;
};

static int op_client_id(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct meta_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_META_PUT);
    db_bind_text(&q, ":v", a->fresh);
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    db_prepare(&q, c, SQL_META_GET);
    if ((rc = db_step_one(&q)) != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EIO : rc;
    const char *v = db_col_text(&q, 0);
    snprintf(a->out, 37, "%s", v ? v : "");
    return db_end(&q);
}

int repo_comfy_client_id(db *d, const char *fresh, char out[37])
{
    struct meta_arg a = {.fresh = fresh, .out = out};
    return db_write(d, op_client_id, &a);
}

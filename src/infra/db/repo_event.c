/* repo_event.c — SQL for the job event log (job_events: append, replay by
 * id range, retention) and for a job's output lines (job_logs), see
 * repo_event.h.  An event row and the bus event made from it carry the
 * same id, so an SSE client replays from the table exactly what it missed
 * on the bus.  Appends run on the db writer thread. */
#include "infra/db/repo_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/event.h"
#include "infra/bus/bus.h"
#include "infra/db/repo_jobrow.h"
#include "util/err.h"
#include "util/util.h"

static const char SQL_EVENT_INSERT[] =
    "INSERT INTO job_events (job_id, owner_id, type, payload, created_at) "
    "VALUES (:job, :owner, :type, :payload, :now)";

int repo_log_event(db_conn *c, db_outbox *out, enum ev_type type, int64_t job_id,
                   int64_t owner_id, const char *data)
{
    db_q q;
    db_prepare(&q, c, SQL_EVENT_INSERT);
    db_bind_i64(&q, ":job", job_id);
    db_bind_id(&q, ":owner", owner_id);
    db_bind_text(&q, ":type", ev_type_name(type));
    db_bind_text(&q, ":payload", data);
    db_bind_i64(&q, ":now", bb_now_ms());
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    bus_event *ev = bus_event_new(db_last_id(&q), job_id, owner_id, type, data);
    if (!ev || db_outbox_add(out, ev) != 0)
        return BB_EINTERNAL;
    return BB_OK;
}

/* ---- log lines --------------------------------------------------------- */

struct logs_arg {
    int64_t id;
    int attempt;
    const struct log_line *lines;
    size_t n;
    int64_t cap;             /* 0 = none */
};

static const char SQL_OWNER_OF[] = "SELECT ifnull(owner_id, 0) FROM jobs WHERE id = :id";
static const char SQL_LOG_BYTES[] = "SELECT log_bytes FROM jobs WHERE id = :id";
static const char SQL_LOG_BYTES_SET[] = "UPDATE jobs SET log_bytes = :bytes WHERE id = :id";
static const char SQL_LOG_INSERT[] =
    "INSERT INTO job_logs (job_id, attempt, stream, line, ts) "
    "VALUES (:job, :attempt, :stream, :line, :ts)";

/* The job_log event's payload for line l of job id (caller frees). */
static char *log_payload(int64_t id, const struct log_line *l)
{
    char idbuf[24], ts[32];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    bb_iso8601(l->ts, ts);
    const char *const kv[][2] = {
        {"jobId", idbuf}, {"stream", l->stream}, {"line", l->text}, {"ts", ts},
    };
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < sizeof kv / sizeof kv[0]; i++)
        cJSON_AddStringToObject(o, kv[i][0], kv[i][1]);
    char *data = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return data;
}

/* Stores line l of job a->id (its row and its job_log event). */
static int put_line(db_conn *c, db_outbox *out, const struct logs_arg *a, int64_t owner,
                    const struct log_line *l)
{
    db_q q;
    db_prepare(&q, c, SQL_LOG_INSERT);
    db_bind_i64(&q, ":job", a->id);
    db_bind_i64(&q, ":attempt", a->attempt);
    db_bind_text(&q, ":stream", l->stream);
    db_bind_text(&q, ":line", l->text);
    db_bind_i64(&q, ":ts", l->ts);
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    char *data = log_payload(a->id, l);
    rc = data ? repo_log_event(c, out, EV_JOB_LOG, a->id, owner, data) : BB_EINTERNAL;
    free(data);
    return rc;
}

static int op_logs(db_conn *c, void *arg, db_outbox *out)
{
    struct logs_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_OWNER_OF);
    db_bind_i64(&q, ":id", a->id);
    int64_t owner = 0, bytes = 0;
    int rc = db_one_i64(&q, &owner);
    if (rc != BB_OK)
        return rc;
    db_prepare(&q, c, SQL_LOG_BYTES);
    db_bind_i64(&q, ":id", a->id);
    if ((rc = db_one_i64(&q, &bytes)) != BB_OK)
        return rc;
    int64_t before = bytes;
    for (size_t i = 0; i < a->n; i++) {
        int64_t len = (int64_t)strlen(a->lines[i].text);
        if (a->cap > 0 && bytes > a->cap)
            break;                       /* truncated before: drop the rest */
        if (a->cap > 0 && bytes + len > a->cap) {
            char msg[160];
            snprintf(msg, sizeof msg, "[batchbox: log truncated: this job's log reached "
                     "limits.maxLogBytes (%lld bytes); later lines are not kept]",
                     (long long)a->cap);
            struct log_line t = {.stream = "system", .text = msg, .ts = a->lines[i].ts};
            if ((rc = put_line(c, out, a, owner, &t)) != BB_OK)
                return rc;
            bytes = a->cap + 1;          /* > cap marks the log as truncated */
            break;
        }
        if ((rc = put_line(c, out, a, owner, &a->lines[i])) != BB_OK)
            return rc;
        bytes += len;
    }
    if (bytes == before)
        return BB_OK;
    db_prepare(&q, c, SQL_LOG_BYTES_SET);
    db_bind_i64(&q, ":bytes", bytes);
    db_bind_i64(&q, ":id", a->id);
    return db_step_done(&q);
}

int repo_job_append_logs(db *d, int64_t id, int attempt, const struct log_line *lines,
                         size_t n)
{
    return repo_job_append_logs_capped(d, id, attempt, lines, n, 0);
}

int repo_job_append_logs_capped(db *d, int64_t id, int attempt, const struct log_line *lines,
                                size_t n, int64_t cap)
{
    struct logs_arg a = {.id = id, .attempt = attempt, .lines = lines, .n = n, .cap = cap};
    return n ? db_write(d, op_logs, &a) : BB_OK;
}

static const char SQL_LOGS[] =
    "SELECT id, stream, line FROM job_logs WHERE job_id = :job AND id > :after "
    "ORDER BY id LIMIT :limit";

struct logs_read {
    int (*fn)(void *, const char *, const char *);
    void *ud;
    int64_t *last;
};

static int give_line(void *ud, db_q *q)
{
    struct logs_read *r = ud;
    *r->last = db_col_i64(q, 0);
    return r->fn(r->ud, db_col_text(q, 1), db_col_text(q, 2)) != 0 ? DB_STOP : BB_OK;
}

int repo_job_logs(db *d, int64_t id, int64_t after, int limit,
                  int (*fn)(void *, const char *, const char *), void *ud, int64_t *last)
{
    *last = after;
    struct logs_read r = {.fn = fn, .ud = ud, .last = last};
    db_q q;
    db_prepare_read(&q, d, SQL_LOGS);
    db_bind_i64(&q, ":job", id);
    db_bind_i64(&q, ":after", after);
    db_bind_i64(&q, ":limit", limit);
    int rc = db_each(&q, give_line, &r);
    db_release(&q);
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

#define REPLAY_PAGE 500

static const char SQL_REPLAY[] =
    "SELECT id, type, payload FROM job_events WHERE id > :after AND id <= :upto "
    "AND (:owner = 0 OR owner_id = :owner) AND (:job = 0 OR job_id = :job) "
    "AND (:logs OR type <> 'job_log') ORDER BY id LIMIT 500";

struct ev_row {
    int64_t id;
    char *type, *payload;
};

static void fill_ev(db_q *q, void *rec)
{
    struct ev_row *r = rec;
    r->id = db_col_i64(q, 0);
    r->type = db_col_strdup(q, 1);
    r->payload = db_col_strdup(q, 2);
}

static void clear_ev(void *rec)
{
    struct ev_row *r = rec;
    free(r->type);
    free(r->payload);
}

int repo_events_replay(db *d, int64_t after_id, int64_t upto_id, int64_t owner_scope,
                       int64_t job_id, bool logs,
                       int (*fn)(void *, int64_t, const char *, const char *), void *ud)
{
    int64_t cursor = after_id;
    for (;;) {
        /* Page by page, giving the reader back in between so a long replay
         * to a slow client never pins a read connection. */
        db_q q;
        db_prepare_read(&q, d, SQL_REPLAY);
        db_bind_i64(&q, ":after", cursor);
        db_bind_i64(&q, ":upto", upto_id);
        db_bind_i64(&q, ":owner", owner_scope);
        db_bind_i64(&q, ":job", job_id);
        db_bind_i64(&q, ":logs", logs);
        void *items;
        size_t n;
        int rc = db_collect(&q, sizeof(struct ev_row), REPLAY_PAGE, fill_ev, clear_ev, &items, &n);
        db_release(&q);
        if (rc != BB_OK)
            return rc;
        struct ev_row *rows = items;
        int stop = 0;
        for (size_t i = 0; i < n; i++) {
            if (!stop && rows[i].type && rows[i].payload)
                stop = fn(ud, rows[i].id, rows[i].type, rows[i].payload);
            clear_ev(&rows[i]);
        }
        if (n)
            cursor = rows[n - 1].id;
        free(rows);
        if (stop || n < REPLAY_PAGE)
            return BB_OK;
    }
}

static const char SQL_EVENTS_MAX[] = "SELECT ifnull(max(id), 0) FROM job_events";

int repo_events_max_id(db *d, int64_t *id)
{
    *id = 0;
    db_q q;
    db_prepare_read(&q, d, SQL_EVENTS_MAX);
    int rc = db_one_i64(&q, id);
    db_release(&q);
    return rc == BB_ENOTFOUND ? BB_EIO : rc;
}

/* ---- id epochs (docs/operations.md, "Event ids across restores") --------- */

static const char SQL_SEQ_GET[] =
    "SELECT ifnull(max(seq), 0) FROM sqlite_sequence WHERE name = 'job_events'";
static const char SQL_SEQ_SET[] =
    "UPDATE sqlite_sequence SET seq = :floor WHERE name = 'job_events'";
static const char SQL_SEQ_ADD[] =
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'job_events', :floor "
    "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'job_events')";
static const char SQL_EPOCH_ADD[] =
    "INSERT OR IGNORE INTO event_epochs (floor, prev_max, at) VALUES (:floor, :prev, :now)";
static const char SQL_EPOCH_GAP[] =
    "SELECT count(*) FROM event_epochs WHERE :id > prev_max AND :id <= floor";

struct epoch_arg {
    int64_t hint, floor;
};

static int op_epoch(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct epoch_arg *a = arg;
    int64_t seq = 0, max = 0;
    db_q q;
    db_prepare(&q, c, SQL_SEQ_GET);
    int rc = db_one_i64(&q, &seq);
    if (rc == BB_OK && db_prepare(&q, c, SQL_EVENTS_MAX) == BB_OK)
        rc = db_one_i64(&q, &max);
    if (rc != BB_OK)
        return rc;
    a->floor = seq > max ? seq : max;
    if (a->hint <= a->floor)
        return BB_OK;   /* the clock is behind the ids: they only go on upwards */
    a->floor = a->hint;
    const char *steps[] = {SQL_SEQ_SET, SQL_SEQ_ADD, SQL_EPOCH_ADD};
    for (size_t i = 0; i < 3 && rc == BB_OK; i++) {
        db_prepare(&q, c, steps[i]);
        db_bind_i64(&q, ":floor", a->floor);
        if (steps[i] == SQL_EPOCH_ADD) {
            db_bind_i64(&q, ":prev", max);
            db_bind_i64(&q, ":now", bb_now_ms());
        }
        rc = db_step_done(&q);
    }
    return rc;
}

int repo_events_new_epoch(db *d, int64_t hint, int64_t *floor)
{
    struct epoch_arg a = {.hint = hint};
    int rc = db_write(d, op_epoch, &a);
    *floor = a.floor;
    return rc;
}

int repo_events_id_lost(db *d, int64_t id, bool *lost)
{
    *lost = false;
    int64_t n = 0;
    db_q q;
    db_prepare_read(&q, d, SQL_EPOCH_GAP);
    db_bind_i64(&q, ":id", id);
    int rc = db_one_i64(&q, &n);
    db_release(&q);
    *lost = rc == BB_OK && n > 0;
    return rc;
}

/* ---- retention ---------------------------------------------------------- */

#define TRIM_CHUNK 5000

struct trim_arg {
    int64_t retain, deleted;
};

/* Deletes in chunks so one maintenance transaction stays short.  Keeps the
 * newest :retain rows by count, not by id distance: ids jump at every start
 * (the event epochs, docs/operations.md), so "max(id) - retain" would drop
 * the whole log before a restart. */
static const char SQL_TRIM[] =
    "DELETE FROM job_events WHERE id IN (SELECT id FROM job_events WHERE id <= "
    "(SELECT id FROM job_events ORDER BY id DESC LIMIT 1 OFFSET :retain) "
    "ORDER BY id LIMIT 5000)";

static int op_trim(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct trim_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_TRIM);
    db_bind_i64(&q, ":retain", a->retain);
    int rc = db_step_done(&q);
    a->deleted = db_changes(&q);
    return rc;
}

int repo_events_trim(db *d, int64_t retain, int64_t *deleted)
{
    *deleted = 0;
    for (int i = 0; i < 100; i++) {
        struct trim_arg a = {.retain = retain};
        int rc = db_write(d, op_trim, &a);
        if (rc != BB_OK)
            return rc;
        *deleted += a.deleted;
        if (a.deleted < TRIM_CHUNK)
            break;
    }
    return BB_OK;
}

/* repo_segment.c — SQL for the segments of translate jobs (see
 * repo_segment.h).  Writes run on the db writer thread; reads borrow a
 * read connection.  Pages walk the primary key (job_id, n), flagged pages
 * the partial index segments_flagged. */
#include "infra/db/repo_segment.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/err.h"

#define SEG_COLS                                                               \
    "job_id, n, source, target, origin, state, flags, nflags, version, meta, updated_at"

/* The fields of SEG_COLS, in its order. */
static const struct db_col SEG_MAP[] = {
    DB_COL(seg_rec, job_id, I64),  DB_COL(seg_rec, n, I64),
    DB_COL(seg_rec, source, STR),  DB_COL(seg_rec, target, STR),
    DB_COL(seg_rec, origin, STR),  DB_COL(seg_rec, state, STR),
    DB_COL(seg_rec, flags, STR),   DB_COL(seg_rec, nflags, I64),
    DB_COL(seg_rec, version, I64), DB_COL(seg_rec, meta, STR),
    DB_COL(seg_rec, updated_at, I64),
};
#define SEG_NCOLS (sizeof SEG_MAP / sizeof SEG_MAP[0])

void seg_rec_clear(seg_rec *s)
{
    db_row_free(s, SEG_MAP, SEG_NCOLS);
    memset(s, 0, sizeof *s);
}

static void fill_seg(db_q *q, void *rec)
{
    memset(rec, 0, sizeof(seg_rec));
    db_row_read(q, rec, SEG_MAP, SEG_NCOLS);
}

static void clear_seg(void *rec) { seg_rec_clear(rec); }

static const char SQL_DELETE_ALL[] = "DELETE FROM segments WHERE job_id = :job_id";
/* nflags: the length of the flags array, counted here so no writer can
 * store a count that disagrees with its flags */
#define NFLAGS_OF_FLAGS "CASE WHEN json_valid(:flags) THEN json_array_length(:flags) ELSE 0 END"
static const char SQL_INSERT[] =
    "INSERT INTO segments (" SEG_COLS ") VALUES (:job_id, :n, :source, :target, :origin, "
    ":state, :flags, " NFLAGS_OF_FLAGS ", 1, :meta, :updated_at)";

struct replace_arg {
    int64_t job_id;
    const seg_rec *segs;
    size_t n;
};

static int op_replace(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    const struct replace_arg *a = arg;
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_DELETE_ALL);
    db_bind_i64(&q, ":job_id", a->job_id);
    int rc = db_step_done(&q);
    for (size_t i = 0; rc == BB_OK && i < a->n; i++) {
        const seg_rec *s = &a->segs[i];
        db_prepare(&q, c, SQL_INSERT);
        db_bind_i64(&q, ":job_id", a->job_id);
        db_bind_i64(&q, ":n", s->n);
        db_bind_text(&q, ":source", s->source ? s->source : "");
        db_bind_text(&q, ":target", s->target ? s->target : "");
        db_bind_text(&q, ":origin", s->origin ? s->origin : "mt");
        db_bind_text(&q, ":state", s->state ? s->state : "translated");
        db_bind_text(&q, ":flags", s->flags ? s->flags : "[]");
        db_bind_text(&q, ":meta", s->meta);
        db_bind_i64(&q, ":updated_at", now);
        rc = db_step_done(&q);
    }
    return rc;
}

int repo_segment_replace(db *d, int64_t job_id, const seg_rec *segs, size_t n)
{
    struct replace_arg a = {.job_id = job_id, .segs = segs, .n = n};
    return db_write(d, op_replace, &a);
}

static const char SQL_PAGE[] =
    "SELECT " SEG_COLS " FROM segments WHERE job_id = :job_id AND n > :after "
    "AND (:state IS NULL OR state = :state) ORDER BY n LIMIT :limit";
static const char SQL_PAGE_FLAGGED[] =
    "SELECT " SEG_COLS " FROM segments WHERE job_id = :job_id AND n > :after AND nflags > 0 "
    "AND (:state IS NULL OR state = :state) ORDER BY n LIMIT :limit";

int repo_segment_page(db *d, const struct seg_page_query *pq, seg_rec **out, size_t *n,
                      bool *more)
{
    *out = NULL;
    *n = 0;
    *more = false;
    if (pq->limit == 0 || pq->limit > 1000)
        return BB_EINVAL;
    db_q q;
    db_prepare_read(&q, d, pq->flagged ? SQL_PAGE_FLAGGED : SQL_PAGE);
    db_bind_i64(&q, ":job_id", pq->job_id);
    db_bind_i64(&q, ":after", pq->after);
    db_bind_text(&q, ":state", pq->state);
    db_bind_i64(&q, ":limit", (int64_t)pq->limit + 1);
    void *items;
    size_t got = 0;
    int rc = db_collect(&q, sizeof **out, pq->limit + 1, fill_seg, clear_seg, &items, &got);
    db_release(&q);
    if (rc != BB_OK)
        return rc;
    *out = items;
    if (got > pq->limit) {
        seg_rec_clear(&(*out)[pq->limit]);
        got = pq->limit;
        *more = true;
    }
    *n = got;
    return BB_OK;
}

static const char SQL_COUNTS[] =
    "SELECT count(*), ifnull(sum(state = 'reviewed'), 0), ifnull(sum(nflags > 0), 0) "
    "FROM segments WHERE job_id = :job_id";

int repo_segment_counts(db *d, int64_t job_id, int64_t *total, int64_t *reviewed,
                        int64_t *flagged)
{
    db_q q;
    db_prepare_read(&q, d, SQL_COUNTS);
    db_bind_i64(&q, ":job_id", job_id);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        if (total)
            *total = db_col_i64(&q, 0);
        if (reviewed)
            *reviewed = db_col_i64(&q, 1);
        if (flagged)
            *flagged = db_col_i64(&q, 2);
        rc = db_end(&q);
    }
    db_release(&q);
    return rc;
}

static const char SQL_GET[] =
    "SELECT " SEG_COLS " FROM segments WHERE job_id = :job_id AND n = :n";

int repo_segment_get(db *d, int64_t job_id, int64_t n, seg_rec *out)
{
    db_q q;
    db_prepare_read(&q, d, SQL_GET);
    db_bind_i64(&q, ":job_id", job_id);
    db_bind_i64(&q, ":n", n);
    int rc = db_read_record(&q, out, fill_seg, clear_seg);
    db_release(&q);
    return rc;
}

static const char SQL_PATCH[] =
    "UPDATE segments SET target = :target, origin = :origin, state = :state, flags = :flags, "
    "nflags = " NFLAGS_OF_FLAGS ", version = version + 1, updated_at = :updated_at "
    "WHERE job_id = :job_id AND n = :n AND (:expect = 0 OR version = :expect)";
static const char SQL_VERSION[] =
    "SELECT version, nflags FROM segments WHERE job_id = :job_id AND n = :n";

struct patch_arg {
    seg_rec *s;
    int64_t expect;
    seg_rec *current;
};

static int op_patch(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct patch_arg *a = arg;
    seg_rec *s = a->s;
    s->updated_at = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_PATCH);
    db_bind_text(&q, ":target", s->target ? s->target : "");
    db_bind_text(&q, ":origin", s->origin);
    db_bind_text(&q, ":state", s->state);
    db_bind_text(&q, ":flags", s->flags ? s->flags : "[]");
    db_bind_i64(&q, ":updated_at", s->updated_at);
    db_bind_i64(&q, ":job_id", s->job_id);
    db_bind_i64(&q, ":n", s->n);
    db_bind_i64(&q, ":expect", a->expect);
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    bool changed = db_changes(&q) > 0;
    s->nflags = 0;
    if (!changed) {
        /* Missing, or a stale version: read what is stored. */
        db_prepare(&q, c, SQL_GET);
        db_bind_i64(&q, ":job_id", s->job_id);
        db_bind_i64(&q, ":n", s->n);
        rc = db_read_record(&q, a->current, fill_seg, clear_seg);
        return rc == BB_OK ? BB_ECONFLICT : rc;
    }
    db_prepare(&q, c, SQL_VERSION);
    db_bind_i64(&q, ":job_id", s->job_id);
    db_bind_i64(&q, ":n", s->n);
    if (db_step_one(&q) != BB_OK)
        return q.rc != BB_OK ? q.rc : BB_EIO;
    s->version = db_col_i64(&q, 0);
    s->nflags = db_col_i64(&q, 1);
    return db_end(&q);
}

int repo_segment_patch(db *d, seg_rec *s, int64_t expect_version, seg_rec *current)
{
    memset(current, 0, sizeof *current);
    struct patch_arg a = {.s = s, .expect = expect_version, .current = current};
    return db_write(d, op_patch, &a);
}

static const char SQL_GALLERY_BATCH[] =
    "SELECT s.job_id, count(*), ifnull(sum(s.nflags > 0), 0), "
    "ifnull(sum(s.state = 'reviewed'), 0) FROM segments s JOIN jobs j ON j.id = s.job_id "
    "WHERE j.batch_id = :id GROUP BY s.job_id ORDER BY s.job_id";
static const char SQL_GALLERY_ONE[] =
    "SELECT job_id, count(*), ifnull(sum(nflags > 0), 0), ifnull(sum(state = 'reviewed'), 0) "
    "FROM segments WHERE job_id = :id GROUP BY job_id";

static void fill_counts(db_q *q, void *rec)
{
    struct seg_counts *c = rec;
    c->job_id = db_col_i64(q, 0);
    c->total = db_col_i64(q, 1);
    c->flagged = db_col_i64(q, 2);
    c->reviewed = db_col_i64(q, 3);
}

static void clear_counts(void *rec) { (void)rec; }

int repo_segment_gallery_counts(db *d, int64_t id, bool is_batch, struct seg_counts **out,
                                size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, is_batch ? SQL_GALLERY_BATCH : SQL_GALLERY_ONE);
    db_bind_i64(&q, ":id", id);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, fill_counts, clear_counts, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static const char SQL_ALL[] =
    "SELECT " SEG_COLS " FROM segments WHERE job_id = :job_id ORDER BY n LIMIT :limit";

int repo_segment_load_all(db *d, int64_t job_id, size_t max, seg_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_ALL);
    db_bind_i64(&q, ":job_id", job_id);
    db_bind_i64(&q, ":limit", max ? (int64_t)max : -1);
    void *items;
    int rc = db_collect(&q, sizeof **out, max, fill_seg, clear_seg, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

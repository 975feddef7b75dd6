/* repo_tm.c — SQL for the translation memory (see repo_tm.h).  Entries
 * are found through the unique index (owner_id, pair, source_hash); the
 * hash is a 128-bit BLAKE2b of the source (libsodium), and every lookup
 * compares the source text as well, so a collision can never return the
 * wrong target.  Writes run on the db writer thread. */
#include "infra/db/repo_tm.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/err.h"

#define TM_HASH_BYTES 16

/* hex[2 * TM_HASH_BYTES + 1] = hash of source. */
static void source_hash(const char *source, char hex[2 * TM_HASH_BYTES + 1])
{
    unsigned char h[TM_HASH_BYTES];
    /* BLAKE2b with a valid output length cannot fail. */
    (void)crypto_generichash(h, sizeof h, (const unsigned char *)source, strlen(source),
                             NULL, 0);
    sodium_bin2hex(hex, 2 * TM_HASH_BYTES + 1, h, sizeof h);
}

/* The owner's entry first, then the shared one. */
static const char SQL_LOOKUP[] =
    "SELECT target FROM tm_entries WHERE pair = :pair AND source_hash = :hash "
    "AND source = :source AND owner_id IN (:owner, 0) "
    "ORDER BY owner_id = :owner DESC LIMIT 1";

/* One lookup on q's connection (prepared with SQL_LOOKUP); BB_OK with
 * *target (caller frees), BB_ENOTFOUND or an error. */
static int lookup_one(db_q *q, int64_t owner, const char *pair, const char *source,
                      char **target)
{
    char hex[2 * TM_HASH_BYTES + 1];
    source_hash(source, hex);
    db_bind_text(q, ":pair", pair);
    db_bind_text(q, ":hash", hex);
    db_bind_text(q, ":source", source);
    db_bind_i64(q, ":owner", owner);
    int rc = db_step_one(q);
    if (rc != BB_OK)
        return rc;
    *target = db_col_strdup(q, 0);
    rc = db_end(q);
    if (rc == BB_OK && !*target)
        rc = BB_EINTERNAL;
    if (rc != BB_OK) {
        free(*target);
        *target = NULL;
    }
    return rc;
}

int repo_tm_lookup(db *d, int64_t owner, const char *pair, const char *source,
                   char **target)
{
    *target = NULL;
    db_q q;
    db_prepare_read(&q, d, SQL_LOOKUP);
    int rc = lookup_one(&q, owner, pair, source, target);
    db_release(&q);
    return rc;
}

int repo_tm_lookup_many(db *d, int64_t owner, const char *pair,
                        const char *const *sources, size_t n, char **targets, size_t *hits)
{
    *hits = 0;
    for (size_t i = 0; i < n; i++)
        targets[i] = NULL;
    if (n == 0)
        return BB_OK;
    db_q q;
    int rc = db_prepare_read(&q, d, SQL_LOOKUP);
    for (size_t i = 0; rc == BB_OK && i < n; i++) {
        if (i > 0)
            rc = db_prepare_next(&q, SQL_LOOKUP);
        if (rc != BB_OK)
            break;
        rc = lookup_one(&q, owner, pair, sources[i], &targets[i]);
        if (rc == BB_OK)
            (*hits)++;
        else if (rc == BB_ENOTFOUND)
            rc = BB_OK;
    }
    db_release(&q);
    if (rc != BB_OK) {
        for (size_t i = 0; i < n; i++) {
            free(targets[i]);
            targets[i] = NULL;
        }
        *hits = 0;
    }
    return rc;
}

static const char SQL_REVIEWED[] =
    "SELECT source, target FROM segments WHERE job_id = :job_id AND state = 'reviewed' "
    "AND target <> '' ORDER BY n";
static const char SQL_UPSERT[] =
    "INSERT INTO tm_entries (owner_id, pair, source_hash, source, target, job_id, updated_at) "
    "VALUES (:owner, :pair, :hash, :source, :target, :job_id, :now) "
    "ON CONFLICT (owner_id, pair, source_hash) DO UPDATE SET source = excluded.source, "
    "target = excluded.target, job_id = excluded.job_id, updated_at = excluded.updated_at";

struct add_arg {
    int64_t job_id, owner;
    const char *pair;
    size_t added;
};

/* Collected pairs of one job (the reviewed segments), freed by the op. */
struct pairs {
    char **src, **tgt;
    size_t n, cap;
};

static int collect_pair(void *ud, db_q *q)
{
    struct pairs *p = ud;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **s = realloc(p->src, cap * sizeof *s);
        if (!s)
            return BB_EINTERNAL;
        p->src = s;
        char **t = realloc(p->tgt, cap * sizeof *t);
        if (!t)
            return BB_EINTERNAL;
        p->tgt = t;
        p->cap = cap;
    }
    char *s = db_col_strdup(q, 0), *t = db_col_strdup(q, 1);
    if (!s || !t) {
        free(s);
        free(t);
        return BB_EINTERNAL;
    }
    p->src[p->n] = s;
    p->tgt[p->n] = t;
    p->n++;
    return BB_OK;
}

static int op_add(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct add_arg *a = arg;
    struct pairs p = {0};
    db_q q;
    db_prepare(&q, c, SQL_REVIEWED);
    db_bind_i64(&q, ":job_id", a->job_id);
    int rc = db_each(&q, collect_pair, &p);
    int64_t now = bb_now_ms();
    for (size_t i = 0; rc == BB_OK && i < p.n; i++) {
        char hex[2 * TM_HASH_BYTES + 1];
        source_hash(p.src[i], hex);
        db_prepare(&q, c, SQL_UPSERT);
        db_bind_i64(&q, ":owner", a->owner);
        db_bind_text(&q, ":pair", a->pair);
        db_bind_text(&q, ":hash", hex);
        db_bind_text(&q, ":source", p.src[i]);
        db_bind_text(&q, ":target", p.tgt[i]);
        db_bind_i64(&q, ":job_id", a->job_id);
        db_bind_i64(&q, ":now", now);
        rc = db_step_done(&q);
        if (rc == BB_OK)
            a->added++;
    }
    for (size_t i = 0; i < p.n; i++) {
        free(p.src[i]);
        free(p.tgt[i]);
    }
    free(p.src);
    free(p.tgt);
    return rc;
}

int repo_tm_add_reviewed(db *d, int64_t job_id, int64_t owner, bool shared, const char *pair,
                         size_t *added)
{
    struct add_arg a = {.job_id = job_id, .owner = shared ? 0 : owner, .pair = pair};
    int rc = db_write(d, op_add, &a);
    if (added)
        *added = rc == BB_OK ? a.added : 0;
    return rc;
}

static const char SQL_COUNT[] = "SELECT count(*) FROM tm_entries WHERE owner_id = :owner";

int repo_tm_count(db *d, int64_t owner, int64_t *count)
{
    db_q q;
    db_prepare_read(&q, d, SQL_COUNT);
    db_bind_i64(&q, ":owner", owner);
    int rc = db_one_i64(&q, count);
    db_release(&q);
    return rc;
}

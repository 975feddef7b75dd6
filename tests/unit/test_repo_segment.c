/* test_repo_segment.c — unit tests for src/infra/db/repo_segment.c and
 * repo_tm.c on a real SQLite file in a fresh temporary directory: a job's
 * segments replaced in one operation, keyset pages with the flagged and
 * state filters, counts, a versioned patch (stale → conflict with the
 * stored segment), the memory's reviewed entries per owner and pair with
 * the shared fallback, and the gallery's per-job counts. */
#define UNIT_MAIN
#include "unit.h"

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"
#include "infra/db/repo_job.h"
#include "infra/db/repo_segment.h"
#include "util/err.h"
#include "util/log.h"

__attribute__((constructor)) static void quiet_logs(void)
{
    bb_log_set_level(BB_LOG_ERROR);
}

static char dir[PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 ? 0 : -1;
}

static db *open_db(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bbseg.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return NULL;
    char path[PATH_MAX + 16], err[256];
    snprintf(path, sizeof path, "%s/b.db", dir);
    db *d = NULL;
    if (db_open(path, NULL, &d, err, sizeof err) != 0) {
        fprintf(stderr, "db_open: %s\n", err);
        return NULL;
    }
    return d;
}

static void close_db(db *d)
{
    db_close(d);
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int64_t submit(db *d, int64_t owner, int64_t batch_of)
{
    job j;
    memset(&j, 0, sizeof j);
    j.preset = strdup("tr");
    j.max_attempts = 1;
    j.owner_id = owner;
    j.batch_id = batch_of;
    int rc = repo_job_submit(d, &j, NULL, NULL, NULL);
    int64_t id = rc == BB_OK ? j.id : 0;
    job_clear(&j);
    return id;
}

/* Five segments: 2 and 4 flagged, 3 from the memory and reviewed. */
static int store_five(db *d, int64_t job_id)
{
    static char *src[] = {"One.", "Two 2.", "Three.", "Four {x}.", "Five."};
    static char *tgt[] = {"Uno.", "Dos 3.", "Tres.", "Cuatro.", "Cinco."};
    seg_rec s[5];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 5; i++) {
        s[i].n = i + 1;
        s[i].source = src[i];
        s[i].target = tgt[i];
        s[i].meta = i == 0 ? "{\"fmt\":\"txt\"}" : NULL;
    }
    s[1].flags = "[\"number\"]";
    s[3].flags = "[\"placeholder\"]";
    s[2].origin = "tm";
    s[2].state = "reviewed";
    return repo_segment_replace(d, job_id, s, 5);
}

static void free_recs(seg_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        seg_rec_clear(&r[i]);
    free(r);
}

TEST(replace_page_and_count)
{
    db *d = open_db();
    CHECK(d != NULL);
    int64_t jid = submit(d, 7, 0);
    CHECK(jid > 0);
    CHECK_EQ_INT(store_five(d, jid), BB_OK);
    CHECK_EQ_INT(store_five(d, jid), BB_OK);   /* replaced, not doubled */

    seg_rec *r = NULL;
    size_t n = 0;
    bool more = false;
    struct seg_page_query q = {.job_id = jid, .limit = 2};
    CHECK_EQ_INT(repo_segment_page(d, &q, &r, &n, &more), BB_OK);
    CHECK(n == 2 && more);
    CHECK(r[0].n == 1 && r[1].n == 2);
    CHECK_STR_EQ(r[0].origin, "mt");
    CHECK_STR_EQ(r[0].state, "translated");
    CHECK_STR_EQ(r[0].flags, "[]");
    CHECK_STR_EQ(r[0].meta, "{\"fmt\":\"txt\"}");
    CHECK(r[0].version == 1 && r[0].updated_at > 0 && r[0].job_id == jid);
    q.after = r[1].n;
    free_recs(r, n);
    q.limit = 3;
    CHECK_EQ_INT(repo_segment_page(d, &q, &r, &n, &more), BB_OK);
    CHECK(n == 3 && !more && r[0].n == 3 && r[2].n == 5);
    free_recs(r, n);

    struct seg_page_query f = {.job_id = jid, .limit = 10, .flagged = true};
    CHECK_EQ_INT(repo_segment_page(d, &f, &r, &n, &more), BB_OK);
    CHECK(n == 2 && r[0].n == 2 && r[1].n == 4 && !more);
    free_recs(r, n);
    struct seg_page_query st = {.job_id = jid, .limit = 10, .state = "reviewed"};
    CHECK_EQ_INT(repo_segment_page(d, &st, &r, &n, &more), BB_OK);
    CHECK(n == 1 && r[0].n == 3);
    CHECK_STR_EQ(r[0].origin, "tm");
    free_recs(r, n);
    struct seg_page_query bad = {.job_id = jid, .limit = 0};
    CHECK_EQ_INT(repo_segment_page(d, &bad, &r, &n, &more), BB_EINVAL);

    int64_t total = 0, reviewed = 0, flagged = 0;
    CHECK_EQ_INT(repo_segment_counts(d, jid, &total, &reviewed, &flagged), BB_OK);
    CHECK(total == 5 && reviewed == 1 && flagged == 2);
    CHECK_EQ_INT(repo_segment_counts(d, jid + 100, &total, NULL, NULL), BB_OK);
    CHECK(total == 0);

    CHECK_EQ_INT(repo_segment_load_all(d, jid, 0, &r, &n), BB_OK);
    CHECK(n == 5 && r[4].n == 5);
    CHECK_STR_EQ(r[4].target, "Cinco.");
    free_recs(r, n);
    CHECK_EQ_INT(repo_segment_load_all(d, jid, 2, &r, &n), BB_OK);
    CHECK(n == 2);
    free_recs(r, n);
    close_db(d);
}

TEST(patch_checks_the_version)
{
    db *d = open_db();
    CHECK(d != NULL);
    int64_t jid = submit(d, 7, 0);
    CHECK_EQ_INT(store_five(d, jid), BB_OK);
    seg_rec s = {.job_id = jid, .n = 2, .target = "Dos 2.", .origin = "edited",
                 .state = "reviewed", .flags = "[\"empty\", \"length\"]"};
    seg_rec cur;
    CHECK_EQ_INT(repo_segment_patch(d, &s, 1, &cur), BB_OK);
    CHECK(s.version == 2 && s.updated_at > 0 && s.nflags == 2);
    s.flags = "[]";
    seg_rec_clear(&cur);
    /* the same version again: a conflict, the stored segment comes back */
    s.target = "Dos dos.";
    CHECK_EQ_INT(repo_segment_patch(d, &s, 1, &cur), BB_ECONFLICT);
    CHECK(cur.version == 2);
    CHECK_STR_EQ(cur.target, "Dos 2.");
    CHECK_STR_EQ(cur.origin, "edited");
    seg_rec_clear(&cur);
    /* 0 = any version */
    CHECK_EQ_INT(repo_segment_patch(d, &s, 0, &cur), BB_OK);
    CHECK(s.version == 3);
    seg_rec_clear(&cur);
    seg_rec got;
    CHECK_EQ_INT(repo_segment_get(d, jid, 2, &got), BB_OK);
    CHECK_STR_EQ(got.target, "Dos dos.");
    CHECK_STR_EQ(got.state, "reviewed");
    CHECK(got.nflags == 0 && got.version == 3);
    seg_rec_clear(&got);
    int64_t flagged = -1;
    CHECK_EQ_INT(repo_segment_counts(d, jid, NULL, NULL, &flagged), BB_OK);
    CHECK(flagged == 1);
    /* a missing segment */
    s.n = 99;
    CHECK_EQ_INT(repo_segment_patch(d, &s, 0, &cur), BB_ENOTFOUND);
    seg_rec_clear(&cur);
    CHECK_EQ_INT(repo_segment_get(d, jid, 99, &got), BB_ENOTFOUND);
    close_db(d);
}

TEST(memory_per_owner_pair_and_shared)
{
    db *d = open_db();
    CHECK(d != NULL);
    int64_t jid = submit(d, 7, 0);
    CHECK_EQ_INT(store_five(d, jid), BB_OK);
    size_t added = 0;
    /* only reviewed segments with a target go in: segment 3 */
    CHECK_EQ_INT(repo_tm_add_reviewed(d, jid, 7, false, "eng-spa", &added), BB_OK);
    CHECK(added == 1);
    char *t = NULL;
    CHECK_EQ_INT(repo_tm_lookup(d, 7, "eng-spa", "Three.", &t), BB_OK);
    CHECK_STR_EQ(t, "Tres.");
    free(t);
    CHECK_EQ_INT(repo_tm_lookup(d, 8, "eng-spa", "Three.", &t), BB_ENOTFOUND);
    CHECK(t == NULL);
    CHECK_EQ_INT(repo_tm_lookup(d, 7, "eng-cat", "Three.", &t), BB_ENOTFOUND);
    CHECK_EQ_INT(repo_tm_lookup(d, 7, "eng-spa", "Three", &t), BB_ENOTFOUND);

    /* a second review replaces the entry; shared entries answer everybody */
    seg_rec s = {.job_id = jid, .n = 1, .target = "Uno!", .origin = "edited",
                 .state = "reviewed", .flags = "[]"};
    seg_rec cur;
    CHECK_EQ_INT(repo_segment_patch(d, &s, 0, &cur), BB_OK);
    seg_rec_clear(&cur);
    CHECK_EQ_INT(repo_tm_add_reviewed(d, jid, 7, false, "eng-spa", &added), BB_OK);
    CHECK(added == 2);
    int64_t count = 0;
    CHECK_EQ_INT(repo_tm_count(d, 7, &count), BB_OK);
    CHECK(count == 2);
    CHECK_EQ_INT(repo_tm_add_reviewed(d, jid, 7, true, "eng-spa", &added), BB_OK);
    CHECK_EQ_INT(repo_tm_count(d, 0, &count), BB_OK);
    CHECK(count == 2);
    CHECK_EQ_INT(repo_tm_lookup(d, 8, "eng-spa", "One.", &t), BB_OK);
    CHECK_STR_EQ(t, "Uno!");
    free(t);

    const char *srcs[] = {"One.", "Nope.", "Three."};
    char *out[3];
    size_t hits = 0;
    CHECK_EQ_INT(repo_tm_lookup_many(d, 7, "eng-spa", srcs, 3, out, &hits), BB_OK);
    CHECK(hits == 2 && out[1] == NULL);
    CHECK_STR_EQ(out[0], "Uno!");
    CHECK_STR_EQ(out[2], "Tres.");
    free(out[0]);
    free(out[2]);
    /* the owner's own entry wins over the shared one */
    s.target = "Uno (mine).";
    CHECK_EQ_INT(repo_segment_patch(d, &s, 0, &cur), BB_OK);
    seg_rec_clear(&cur);
    CHECK_EQ_INT(repo_tm_add_reviewed(d, jid, 7, false, "eng-spa", &added), BB_OK);
    CHECK_EQ_INT(repo_tm_lookup(d, 7, "eng-spa", "One.", &t), BB_OK);
    CHECK_STR_EQ(t, "Uno (mine).");
    free(t);
    CHECK_EQ_INT(repo_tm_lookup(d, 9, "eng-spa", "One.", &t), BB_OK);
    CHECK_STR_EQ(t, "Uno!");
    free(t);
    close_db(d);
}

TEST(gallery_counts_per_job)
{
    db *d = open_db();
    CHECK(d != NULL);
    int64_t parent = submit(d, 7, 0);
    int64_t a = submit(d, 7, parent), b = submit(d, 7, parent), c = submit(d, 7, parent);
    CHECK(a > 0 && b > 0 && c > 0);
    CHECK_EQ_INT(store_five(d, a), BB_OK);
    CHECK_EQ_INT(store_five(d, c), BB_OK);
    struct seg_counts *qa = NULL;
    size_t n = 0;
    CHECK_EQ_INT(repo_segment_gallery_counts(d, parent, true, &qa, &n), BB_OK);
    CHECK(n == 2 && qa[0].job_id == a && qa[1].job_id == c);
    CHECK(qa[0].total == 5 && qa[0].flagged == 2 && qa[0].reviewed == 1);
    free(qa);
    CHECK_EQ_INT(repo_segment_gallery_counts(d, b, false, &qa, &n), BB_OK);
    CHECK(n == 0);
    free(qa);
    CHECK_EQ_INT(repo_segment_gallery_counts(d, a, false, &qa, &n), BB_OK);
    CHECK(n == 1 && qa[0].total == 5);
    free(qa);
    close_db(d);
}

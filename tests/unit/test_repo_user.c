/* test_repo_user.c — unit tests for src/infra/db/repo_user.c and
 * repo_file.c on a real SQLite file in a fresh temporary directory: the
 * record maps read and bind every field, a taken email is a conflict
 * (through the statement layer's constraint mapping), the last admin
 * stays, refresh-token rotation and reuse detection, and files with
 * their quota, owner scope, list cap and delete. */
#define UNIT_MAIN
#include "unit.h"

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/user.h"
#include "infra/db/db.h"
#include "infra/db/repo_file.h"
#include "infra/db/repo_user.h"
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

/* Opens a database in a fresh temporary directory (NULL on failure). */
static db *open_db(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bbrepo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

static int64_t make_user(db *d, const char *email, const char *role)
{
    user u = {.email = (char *)email, .name = "N", .role = (char *)role,
              .password_hash = "h"};
    return repo_user_create(d, &u, false) == BB_OK ? u.id : 0;
}

TEST(user_round_trip_and_taken_email_is_a_conflict)
{
    db *d = open_db();
    CHECK(d != NULL);
    user first = {.email = "a@x", .name = NULL, .role = "admin", .password_hash = "ph"};
    CHECK_EQ_INT(repo_user_create(d, &first, true), BB_OK);
    CHECK(first.id > 0 && first.created_at > 0);
    user again = {.email = "b@x", .role = "user", .password_hash = "ph"};
    CHECK_EQ_INT(repo_user_create(d, &again, true), BB_ECONFLICT);   /* first only */
    user dup = {.email = "a@x", .role = "user", .password_hash = "ph"};
    CHECK_EQ_INT(repo_user_create(d, &dup, false), BB_ECONFLICT);    /* UNIQUE email */
    user got;
    CHECK_EQ_INT(repo_user_by_email(d, "a@x", &got), BB_OK);
    bool ok = got.id == first.id && got.name == NULL && strcmp(got.role, "admin") == 0 &&
              strcmp(got.password_hash, "ph") == 0 && !got.disabled &&
              got.created_at == first.created_at;
    user_clear(&got);
    CHECK(ok);
    CHECK_EQ_INT(repo_user_get(d, first.id + 100, &got), BB_ENOTFOUND);
    int64_t n = 0;
    CHECK_EQ_INT(repo_user_count(d, &n), BB_OK);
    CHECK_EQ_INT(n, 1);
    /* the last enabled admin cannot be demoted */
    struct user_change ch = {.role = "user", .disabled = -1};
    CHECK_EQ_INT(repo_user_update(d, first.id, &ch, NULL), BB_ECONFLICT);
    int64_t second = make_user(d, "c@x", "admin");
    CHECK(second > 0);
    struct user_change rename = {.name = "Zed", .disabled = 1};
    CHECK_EQ_INT(repo_user_update(d, first.id, &rename, &got), BB_OK);
    ok = strcmp(got.name, "Zed") == 0 && got.disabled;
    user_clear(&got);
    CHECK(ok);
    user *all = NULL;
    size_t nall = 0;
    CHECK_EQ_INT(repo_user_list(d, &all, &nall), BB_OK);
    CHECK_EQ_INT(nall, 2);
    ok = all[0].id == second && all[1].id == first.id;
    for (size_t i = 0; i < nall; i++)
        user_clear(&all[i]);
    free(all);
    CHECK(ok);
    close_db(d);
}

TEST(session_rotation_and_reuse_detection)
{
    db *d = open_db();
    CHECK(d != NULL);
    int64_t uid = make_user(d, "s@x", "user");
    CHECK(uid > 0);
    unsigned char a1[TOKEN_HASH_BYTES] = {1}, r1[TOKEN_HASH_BYTES] = {2};
    unsigned char a2[TOKEN_HASH_BYTES] = {3}, r2[TOKEN_HASH_BYTES] = {4};
    int64_t sid = 0;
    CHECK_EQ_INT(repo_session_create(d, uid, a1, 1000, r1, 2000, &sid), BB_OK);
    struct token_info ti;
    CHECK_EQ_INT(repo_token_check(d, a1, 500, &ti), BB_OK);
    CHECK(ti.user_id == uid && ti.session_id == sid && !ti.admin);
    CHECK_EQ_INT(repo_token_check(d, a1, 1500, &ti), BB_EAUTH);      /* expired */
    bool reused = false;
    CHECK_EQ_INT(repo_session_rotate(d, r1, 600, a2, 1600, r2, 2600, &ti, &reused), BB_OK);
    CHECK(!reused && ti.session_id == sid);
    int64_t of = 0;
    CHECK_EQ_INT(repo_session_of_refresh(d, r2, &of), BB_OK);
    CHECK_EQ_INT(of, sid);
    /* r1 again: reuse ends the session */
    CHECK_EQ_INT(repo_session_rotate(d, r1, 700, a1, 1700, r1, 2700, &ti, &reused), BB_EAUTH);
    CHECK(reused);
    CHECK_EQ_INT(repo_token_check(d, a2, 800, &ti), BB_EAUTH);
    CHECK_EQ_INT(repo_tokens_prune(d, 100000000), BB_OK);
    close_db(d);
}

static int64_t add_file(db *d, int64_t owner, const char *name, int64_t size, int64_t quota,
                        int *rc)
{
    file_rec f = {.owner_id = owner, .size = size, .filename = (char *)name,
                  .sha256 = "00", .content_type = "text/markdown", .storage = "fs",
                  .key = (char *)name};
    *rc = repo_file_insert(d, &f, quota);
    return f.id;
}

TEST(files_quota_scope_list_and_delete)
{
    db *d = open_db();
    CHECK(d != NULL);
    int rc;
    int64_t a = add_file(d, 0, "a.md", 60, 100, &rc);
    CHECK_EQ_INT(rc, BB_OK);
    add_file(d, 0, "b.md", 50, 100, &rc);
    CHECK_EQ_INT(rc, BB_ETOOLARGE);
    int64_t b = add_file(d, 0, "b.md", 40, 100, &rc);
    CHECK_EQ_INT(rc, BB_OK);
    int64_t used = 0;
    CHECK_EQ_INT(repo_file_usage(d, 0, &used), BB_OK);
    CHECK_EQ_INT(used, 100);
    file_rec f;
    CHECK_EQ_INT(repo_file_get(d, a, 7, &f), BB_ENOTFOUND);          /* not owner 7's */
    CHECK_EQ_INT(repo_file_get(d, a, 0, &f), BB_OK);
    bool ok = f.owner_id == 0 && f.size == 60 && strcmp(f.filename, "a.md") == 0 &&
              strcmp(f.storage, "fs") == 0 && strcmp(f.key, "a.md") == 0 && f.created_at > 0;
    file_rec_clear(&f);
    CHECK(ok && f.filename == NULL);
    file_rec *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(repo_file_list(d, 0, 1, &list, &n), BB_OK);
    CHECK_EQ_INT(n, 1);
    ok = list[0].id == b;
    file_rec_clear(&list[0]);
    free(list);
    CHECK(ok);
    CHECK_EQ_INT(repo_file_delete(d, a, 0, &f), BB_OK);
    ok = f.id == a;
    file_rec_clear(&f);
    CHECK(ok);
    CHECK_EQ_INT(repo_file_delete(d, a, 0, &f), BB_ENOTFOUND);
    close_db(d);
}

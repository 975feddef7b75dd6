/* test_uploads.c — the uploads service (src/service/uploads.c) on a real
 * database and fs store in a temporary directory (the runner's private
 * TMPDIR, removed afterwards): raw and multipart uploads are stored,
 * listed, opened and deleted; refusals say how far the body was read and
 * leave nothing behind. */
#define UNIT_MAIN
#include "unit.h"

#include "cJSON.h"
#include "infra/config.h"
#include "infra/storage/storage.h"
#include "service/auth.h"
#include "service/uploads.h"

struct fx {
    char dir[512];
    bb_config cfg;
    bb_app app;
    struct principal who;
};

static bool fx_open(struct fx *f)
{
    char err[512], path[600];
    memset(f, 0, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/bbup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir) || config_load_text(NULL, "/", &f->cfg, err, sizeof err) != 0)
        return false;
    f->cfg.limits.max_upload_bytes = 1000;
    f->cfg.limits.user_quota_bytes = 1500;
    f->app.cfg = &f->cfg;
    snprintf(path, sizeof path, "%s/batchbox.db", f->dir);
    if (db_open(path, NULL, &f->app.db, err, sizeof err) != 0)
        return false;
    struct store_err se = {0};
    f->app.fs_store = f->app.upload_store = store_fs_open(f->dir, &se);
    user u;
    bb_errctx e = {0};
    if (!f->app.fs_store ||
        auth_create_user(f->app.db, "a@example.com", "A", "user", "password-123", false, &u,
                         &e) != BB_OK)
        return false;
    f->who.user_id = u.id;
    user_clear(&u);
    return true;
}

static void fx_close(struct fx *f)
{
    if (f->app.fs_store)
        store_close(f->app.fs_store);
    if (f->app.db)
        db_close(f->app.db);
    config_free(&f->cfg);
}

/* A body held in memory, read in pieces of at most 7 bytes. */
struct mem {
    const char *data;
    size_t len, off;
};

static int mem_read(void *ud, void *dst, size_t cap)
{
    struct mem *m = ud;
    size_t n = m->len - m->off;
    if (n > cap)
        n = cap;
    if (n > 7)
        n = 7;
    memcpy(dst, m->data + m->off, n);
    m->off += n;
    return (int)n;
}

static int upload(struct fx *f, const char *ctype, const char *filename, const char *body,
                  size_t len, long long declared, file_rec *out, enum upload_stop *stop,
                  bb_errctx *e)
{
    struct mem m = {body, len, 0};
    struct upload_source src = {mem_read, &m, ctype, filename, declared};
    return svc_upload(&f->app, &f->who, &src, out, stop, e);
}

static size_t count_files(struct fx *f, int64_t *used)
{
    file_rec *items;
    size_t n;
    bb_errctx e = {0};
    if (svc_file_list(&f->app, &f->who, &items, &n, used, &e) != BB_OK)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        file_rec_clear(&items[i]);
    free(items);
    return n;
}

TEST(raw_upload_is_stored_listed_opened_and_deleted)
{
    struct fx f;
    CHECK(fx_open(&f));
    static const char body[] = "# Notes\n\nA small Markdown upload.\n";
    file_rec r;
    enum upload_stop stop;
    bb_errctx e = {0};
    CHECK_EQ_INT(upload(&f, "application/octet-stream", "notes.md", body, sizeof body - 1,
                        sizeof body - 1, &r, &stop, &e),
                 BB_OK);
    CHECK_EQ_INT((int)r.size, (int)(sizeof body - 1));
    CHECK_STR_EQ(r.filename, "notes.md");
    CHECK_EQ_INT((int)strlen(r.sha256), 64);
    int64_t used = 0;
    CHECK_EQ_INT((int)count_files(&f, &used), 1);
    CHECK_EQ_INT((int)used, (int)(sizeof body - 1));
    file_rec o;
    struct store *st = NULL;
    CHECK_EQ_INT(svc_file_open(&f.app, &f.who, r.id, &o, &st, &e), BB_OK);
    CHECK(st == f.app.fs_store);
    CHECK_STR_EQ(o.key, r.key);
    file_rec_clear(&o);
    struct principal other = {.user_id = f.who.user_id + 1};
    CHECK_EQ_INT(svc_file_open(&f.app, &other, r.id, &o, &st, &e), BB_ENOTFOUND);
    bb_err_clear(&e);
    CHECK_EQ_INT(svc_file_delete(&f.app, &f.who, r.id, &e), BB_OK);
    CHECK_EQ_INT((int)count_files(&f, &used), 0);
    CHECK_EQ_INT(svc_file_delete(&f.app, &f.who, r.id, &e), BB_ENOTFOUND);
    bb_err_clear(&e);
    file_rec_clear(&r);
    fx_close(&f);
}

TEST(multipart_upload_takes_the_file_part)
{
    struct fx f;
    CHECK(fx_open(&f));
    static const char body[] = "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                               "ignored\r\n"
                               "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"file\"; "
                               "filename=\"a.txt\"\r\n"
                               "Content-Type: text/plain\r\n\r\n"
                               "hello there\n\r\n"
                               "--XyZ--\r\n";
    file_rec r;
    enum upload_stop stop;
    bb_errctx e = {0};
    CHECK_EQ_INT(upload(&f, "multipart/form-data; boundary=XyZ", NULL, body, sizeof body - 1,
                        -1, &r, &stop, &e),
                 BB_OK);
    CHECK_STR_EQ(r.filename, "a.txt");
    CHECK_EQ_INT((int)r.size, 12);
    file_rec_clear(&r);
    fx_close(&f);
}

TEST(refusals_say_how_far_the_body_was_read_and_leave_nothing)
{
    struct fx f;
    CHECK(fx_open(&f));
    char big[2000];
    memset(big, 'a', sizeof big);
    file_rec r;
    enum upload_stop stop;
    bb_errctx e = {0};
    /* no file name for a raw body: refused before reading */
    CHECK_EQ_INT(upload(&f, "text/plain", NULL, "x", 1, 1, &r, &stop, &e), BB_EINVAL);
    CHECK_EQ_INT(stop, UPLOAD_STOP_EARLY);
    CHECK(e.fields && cJSON_GetObjectItemCaseSensitive(e.fields, "filename"));
    bb_err_clear(&e);
    /* the declared length passes the limit: refused before reading */
    CHECK_EQ_INT(upload(&f, NULL, "a.txt", big, sizeof big, sizeof big, &r, &stop, &e),
                 BB_ETOOLARGE);
    CHECK_EQ_INT(stop, UPLOAD_STOP_EARLY);
    bb_err_clear(&e);
    /* no declared length: refused while reading */
    CHECK_EQ_INT(upload(&f, NULL, "a.txt", big, sizeof big, -1, &r, &stop, &e), BB_ETOOLARGE);
    CHECK_EQ_INT(stop, UPLOAD_STOP_MIDWAY);
    bb_err_clear(&e);
    /* bytes of no accepted type */
    static const char bin[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    CHECK_EQ_INT(upload(&f, NULL, "a.bin", bin, sizeof bin - 1, sizeof bin - 1, &r, &stop, &e),
                 BB_EMEDIA);
    CHECK_EQ_INT(stop, UPLOAD_STOP_MIDWAY);
    bb_err_clear(&e);
    /* a bad multipart boundary */
    CHECK_EQ_INT(upload(&f, "multipart/form-data", NULL, "x", 1, 1, &r, &stop, &e), BB_EINVAL);
    CHECK_EQ_INT(stop, UPLOAD_STOP_EARLY);
    bb_err_clear(&e);
    int64_t used = -1;
    CHECK_EQ_INT((int)count_files(&f, &used), 0);
    CHECK_EQ_INT((int)used, 0);
    fx_close(&f);
}

TEST(store_for_names_the_driver)
{
    bb_app app;
    memset(&app, 0, sizeof app);
    app.fs_store = (struct store *)&app;   /* only compared, never used */
    CHECK(svc_store_for(&app, "fs") == app.fs_store);
    CHECK(svc_store_for(&app, NULL) == app.fs_store);
    CHECK(svc_store_for(&app, "s3") == NULL);
}

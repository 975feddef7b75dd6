/* uploads.c — the uploads service (see uploads.h).
 *
 * An upload is streamed: the body is read in 64 KiB pieces, parsed
 * (multipart) as it arrives, the first 64 KiB are held to decide the type
 * from the bytes, then everything goes to the storage driver while a
 * SHA-256 runs over it.  Memory stays flat whatever the size.  The object
 * becomes visible only at commit; a refused or broken upload leaves
 * nothing behind.  Limits: limits.maxUploadBytes (refused as soon as it is
 * passed) and limits.userQuotaBytes (with a message naming the quota).
 * Runs on the caller's thread; the store and the database are
 * thread-safe. */
#include "service/uploads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "domain/upload.h"
#include "http/multipart.h"
#include "infra/storage/storage.h"
#include "util/log.h"

#define CHUNK (64 * 1024)

struct upload {
    bb_app *app;
    int64_t max_bytes;            /* the smaller of the size limit and quota left */
    bool quota_bound;             /* max_bytes comes from the quota */
    char filename[UPLOAD_FILENAME_MAX + 1];
    char type[UPLOAD_TYPE_MAX];
    unsigned char *head;          /* first UPLOAD_SNIFF_MAX bytes (sniffing) */
    size_t head_len;
    bool sniffed;
    store_put *put;
    char key[96];
    crypto_hash_sha256_state sha;
    int64_t size;
    bool in_file_part, seen_file;
    bb_errctx *e;                 /* why the upload stopped (first error wins) */
};

static int fail(struct upload *u, enum bb_err code, const char *fmt, const char *arg)
{
    bb_fail(u->e, code, fmt, arg ? arg : "");
    return 1;
}

static int fail_too_large(struct upload *u)
{
    char lim[32];
    snprintf(lim, sizeof lim, "%" PRId64, u->max_bytes);
    return fail(u, BB_ETOOLARGE,
                u->quota_bound ? "the upload would pass your storage quota (%s bytes left)"
                               : "the upload is larger than %s bytes",
                lim);
}

/* Decides the type from the held head and opens the storage writer. */
static int start_store(struct upload *u)
{
    u->sniffed = true;
    if (!upload_sniff(u->head, u->head_len, u->filename, u->type, sizeof u->type))
        return fail(u, BB_EMEDIA,
                    "\"%s\": this content is not an accepted type (Markdown or text, JSON, "
                    "audio, video, images, PDF or ZIP, judged from the bytes)", u->filename);
    unsigned char rnd[12];
    char hex[25];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(u->key, sizeof u->key, "uploads/%s", hex);
    struct store_err se = {0};
    u->put = store_put_begin(u->app->upload_store, u->key, -1, u->type, &se);
    if (!u->put)
        return fail(u, BB_EIO, "cannot store the upload: %s", se.message);
    if (u->head_len) {
        crypto_hash_sha256_update(&u->sha, u->head, u->head_len);
        if (store_put_write(u->put, u->head, u->head_len, &se) != 0)
            return fail(u, BB_EIO, "cannot store the upload: %s", se.message);
    }
    return 0;
}

static int file_bytes(struct upload *u, const char *data, size_t len)
{
    u->size += (int64_t)len;
    if (u->size > u->max_bytes)
        return fail_too_large(u);
    if (!u->sniffed) {
        size_t take = len;
        if (u->head_len + take > UPLOAD_SNIFF_MAX)
            take = UPLOAD_SNIFF_MAX - u->head_len;
        memcpy(u->head + u->head_len, data, take);
        u->head_len += take;
        data += take;
        len -= take;
        if (u->head_len < UPLOAD_SNIFF_MAX)
            return 0;
        if (start_store(u) != 0)
            return 1;
    }
    if (len) {
        struct store_err se = {0};
        crypto_hash_sha256_update(&u->sha, (const unsigned char *)data, len);
        if (store_put_write(u->put, data, len, &se) != 0)
            return fail(u, BB_EIO, "cannot store the upload: %s", se.message);
    }
    return 0;
}

static int on_begin(void *ud, const struct mp_part_headers *h)
{
    struct upload *u = ud;
    if (strcmp(h->name, "file") != 0)
        return 0;                 /* other fields are ignored */
    if (u->seen_file)
        return fail(u, BB_EINVAL, "send one file per upload (a second \"file\" part came)", NULL);
    u->seen_file = u->in_file_part = true;
    upload_sanitize_filename(h->filename ? h->filename : "", u->filename, sizeof u->filename);
    return 0;
}

static int on_data(void *ud, const char *data, size_t len)
{
    struct upload *u = ud;
    return u->in_file_part ? file_bytes(u, data, len) : 0;
}

static int on_end(void *ud)
{
    struct upload *u = ud;
    u->in_file_part = false;
    return 0;
}

/* Checks what can be refused before reading the body: the quota left, the
 * framing (multipart boundary or ?filename=) and the declared length.
 * Sets up mp for a multipart body (caller frees).  BB_OK or an error. */
static int prepare(struct upload *u, const struct principal *who,
                   const struct upload_source *src, struct multipart **mp)
{
    const bb_config *cfg = u->app->cfg;
    int64_t used = 0;
    if (repo_file_usage(u->app->db, who->user_id, &used) != BB_OK)
        return bb_fail(u->e, BB_EIO, "database error");
    int64_t left = cfg->limits.user_quota_bytes - used;
    u->max_bytes = cfg->limits.max_upload_bytes;
    if (left < u->max_bytes) {
        u->max_bytes = left < 0 ? 0 : left;
        u->quota_bound = true;
    }
    const char *ct = src->content_type;
    bool multipart = ct && strncasecmp(ct, "multipart/", 10) == 0;
    if (!multipart && !src->filename)
        return bb_fail_field(u->e, "filename",
                             "send multipart/form-data with a \"file\" field, or the raw "
                             "bytes with ?filename=NAME");
    /* The declared length tells early when the body cannot fit.  Multipart
     * framing adds a little, so only the raw body is held to it exactly. */
    long long cl = src->content_length;
    if (cl > 0 && cl > u->max_bytes + (multipart ? 64 * 1024 : 0)) {
        fail_too_large(u);
        return u->e->code;
    }
    if (!multipart) {
        upload_sanitize_filename(src->filename, u->filename, sizeof u->filename);
        u->seen_file = u->in_file_part = true;
        return BB_OK;
    }
    char boundary[MP_BOUNDARY_MAX + 1];
    enum mp_status ms = multipart_boundary_from_content_type(ct, boundary, sizeof boundary);
    if (ms != MP_OK)
        return bb_fail(u->e, ms == MP_ERR_MEDIA_TYPE ? BB_EMEDIA : BB_EINVAL, "%s",
                       ms == MP_ERR_MEDIA_TYPE
                           ? "send multipart/form-data (or a raw body with ?filename=)"
                           : "the multipart boundary in Content-Type is missing or invalid");
    static const struct mp_callbacks cb = {on_begin, on_data, on_end};
    *mp = malloc(sizeof **mp);
    if (!*mp || multipart_init(*mp, boundary, &cb, u) != MP_OK)
        return bb_fail(u->e, BB_EINTERNAL, "out of memory");
    return BB_OK;
}

/* Reads the whole body through the parser (or as the file).  Afterwards
 * u->e says whether anything went wrong. */
static void consume(struct upload *u, const struct upload_source *src, struct multipart *mp,
                    char *chunk)
{
    bool read_error = false;
    enum mp_status ms = MP_OK;
    for (;;) {
        int n = src->read(src->ud, chunk, CHUNK);
        if (n <= 0) {
            read_error = n < 0;
            break;
        }
        if (mp) {
            ms = multipart_feed(mp, chunk, (size_t)n);
            if (ms != MP_OK)
                break;
        } else if (file_bytes(u, chunk, (size_t)n) != 0) {
            break;
        }
    }
    if (mp && ms == MP_OK && !read_error)
        ms = multipart_finish(mp);
    if (mp && ms != MP_OK && ms != MP_ERR_ABORTED)
        fail(u, BB_EINVAL, "malformed multipart body: %s", multipart_error_message(mp));
    if (read_error)
        fail(u, BB_EINVAL, "the request body ended early (%s)", "connection closed or timed out");
    if (!u->seen_file)
        fail(u, BB_EINVAL, "the multipart body has no \"file\" part", NULL);
    if (u->e->code == BB_OK && !u->sniffed)
        start_store(u);           /* a file shorter than the sniff window */
}

/* Commits the bytes and records the file; on failure nothing stays. */
static int commit(struct upload *u, const struct principal *who, file_rec *out)
{
    struct store_err se = {0};
    int crc = store_put_commit(u->put, NULL, &se);
    u->put = NULL;          /* committed, or consumed by the failed commit */
    if (crc != 0)
        return bb_fail(u->e, se.retryable ? BB_EUNAVAIL : BB_EIO, "cannot store the upload: %s",
                       se.message);
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    crypto_hash_sha256_final(&u->sha, digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    file_rec f = {.owner_id = who->user_id, .size = u->size};
    f.filename = strdup(u->filename[0] ? u->filename : "upload");
    f.sha256 = strdup(hex);
    f.content_type = strdup(u->type);
    f.storage = strdup(store_driver(u->app->upload_store));
    f.key = strdup(u->key);
    int64_t quota = u->app->cfg->limits.user_quota_bytes;
    int rc = !f.filename || !f.sha256 || !f.content_type || !f.storage || !f.key
                 ? BB_EINTERNAL
                 : repo_file_insert(u->app->db, &f, quota);
    if (rc != BB_OK) {
        store_delete(u->app->upload_store, u->key, &se);
        file_rec_clear(&f);
        if (rc == BB_ETOOLARGE)
            return bb_fail(u->e, BB_ETOOLARGE,
                           "the upload would pass your storage quota of %lld bytes",
                           (long long)quota);
        return bb_fail(u->e, BB_EIO, "database error");
    }
    *out = f;
    return BB_OK;
}

int svc_upload(bb_app *app, const struct principal *who, const struct upload_source *src,
               file_rec *out, enum upload_stop *stop, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    *stop = UPLOAD_STOP_NONE;
    struct upload *u = calloc(1, sizeof *u);
    char *chunk = malloc(CHUNK);
    struct multipart *mp = NULL;
    if (u)
        u->head = malloc(UPLOAD_SNIFF_MAX);
    if (!u || !chunk || !u->head) {
        bb_fail(e, BB_EINTERNAL, "out of memory");
        goto out;
    }
    u->app = app;
    u->e = e;
    crypto_hash_sha256_init(&u->sha);
    int rc = prepare(u, who, src, &mp);
    if (rc != BB_OK) {
        if (rc != BB_EIO && rc != BB_EINTERNAL)
            *stop = UPLOAD_STOP_EARLY;
        goto out;
    }
    consume(u, src, mp, chunk);
    if (e->code == BB_OK) {
        commit(u, who, out);
    } else if (e->code == BB_ETOOLARGE || e->code == BB_EMEDIA || e->code == BB_EINVAL) {
        *stop = UPLOAD_STOP_MIDWAY;
    }
out:
    if (u && u->put)
        store_put_abort(u->put);   /* nothing of a refused upload stays */
    if (u)
        free(u->head);
    free(u);
    free(mp);
    free(chunk);
    return e->code;
}

struct store *svc_store_for(const bb_app *app, const char *driver)
{
    if (driver && strcmp(driver, "s3") == 0)
        return app->s3_store;
    return app->fs_store;
}

/* The message for a repository error about a file. */
static int file_error(bb_errctx *e, int rc)
{
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such file");
    if (rc == BB_ECONFLICT)
        return bb_fail(e, BB_ECONFLICT, "a queued or running job uses this file");
    return bb_fail(e, BB_EIO, "database error");
}

int svc_file_open(bb_app *app, const struct principal *who, int64_t id, file_rec *out,
                  struct store **st, bb_errctx *e)
{
    int rc = repo_file_get(app->db, id, principal_scope(who), out);
    if (rc != BB_OK)
        return file_error(e, rc);
    *st = svc_store_for(app, out->storage);
    if (!*st) {
        file_rec_clear(out);
        return bb_fail(e, BB_EUNAVAIL, "the file is in S3 storage, which is not configured now");
    }
    return BB_OK;
}

int svc_file_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    file_rec f;
    int rc = repo_file_delete(app->db, id, principal_scope(who), &f);
    if (rc != BB_OK)
        return file_error(e, rc);
    struct store *st = svc_store_for(app, f.storage);
    struct store_err se = {0};
    if (st && store_delete(st, f.key, &se) != 0)
        bb_warn("could not delete an upload's bytes (the record is gone)", "key", f.key,
                "error", se.message);
    file_rec_clear(&f);
    return BB_OK;
}

int svc_file_list(bb_app *app, const struct principal *who, file_rec **items, size_t *n,
                  int64_t *used, bb_errctx *e)
{
    *items = NULL;
    *n = 0;
    *used = 0;
    if (repo_file_list(app->db, who->user_id, 200, items, n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    if (repo_file_usage(app->db, who->user_id, used) != BB_OK)
        *used = 0;
    return BB_OK;
}

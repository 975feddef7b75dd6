/* files.c — uploads: POST /uploads (multipart/form-data field "file", or a
 * raw body with ?filename=), GET/DELETE /files/:id, GET /user/files.
 *
 * An upload is streamed: the request body is read in 64 KiB pieces, parsed
 * (multipart) as it arrives, the first 64 KiB are held to decide the type
 * from the bytes, then everything goes to the storage driver while a
 * SHA-256 runs over it.  Memory stays flat whatever the size.  The object
 * becomes visible only at commit; a rejected or broken upload leaves
 * nothing behind.  Limits: limits.maxUploadBytes (413 as soon as it is
 * passed) and limits.userQuotaBytes (413 with a message naming the
 * quota). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "civetweb.h"
#include "cJSON.h"
#include "domain/upload.h"
#include "http/http.h"
#include "http/multipart.h"
#include "infra/db/repo_file.h"
#include "infra/storage/storage.h"
#include "service/app.h"
#include "util/log.h"
#include "util/util.h"

#define CHUNK (64 * 1024)

struct upload {
    http_req *r;
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
    bool in_file_part, seen_file, file_done;
    bb_errctx err;                /* why the upload stopped */
    int status;                   /* HTTP status for err (413/415/400/500) */
};

static int fail(struct upload *u, int status, enum bb_err code, const char *fmt, const char *arg)
{
    if (u->err.code == BB_OK) {
        u->status = status;
        u->err.code = code;
        snprintf(u->err.message, sizeof u->err.message, fmt, arg ? arg : "");
    }
    return 1;
}

/* Decides the type from the held head and opens the storage writer. */
static int start_store(struct upload *u)
{
    u->sniffed = true;
    if (!upload_sniff(u->head, u->head_len, u->filename, u->type, sizeof u->type))
        return fail(u, 415, BB_EMEDIA,
                    "\"%s\": this content is not an accepted type (Markdown or text, JSON, "
                    "audio, images, PDF or ZIP, judged from the bytes)", u->filename);
    unsigned char rnd[12];
    char hex[25];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(u->key, sizeof u->key, "uploads/%s", hex);
    struct store_err e = {0};
    u->put = store_put_begin(u->r->app->upload_store, u->key, -1, u->type, &e);
    if (!u->put)
        return fail(u, 500, BB_EIO, "cannot store the upload: %s", e.message);
    if (u->head_len) {
        crypto_hash_sha256_update(&u->sha, u->head, u->head_len);
        if (store_put_write(u->put, u->head, u->head_len, &e) != 0)
            return fail(u, 500, BB_EIO, "cannot store the upload: %s", e.message);
    }
    return 0;
}

static int file_bytes(struct upload *u, const char *data, size_t len)
{
    u->size += (int64_t)len;
    if (u->size > u->max_bytes) {
        char lim[32];
        snprintf(lim, sizeof lim, "%" PRId64, u->max_bytes);
        return fail(u, 413, BB_ETOOLARGE,
                    u->quota_bound ? "the upload would pass your storage quota (%s bytes left)"
                                   : "the upload is larger than %s bytes",
                    lim);
    }
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
        struct store_err e = {0};
        crypto_hash_sha256_update(&u->sha, (const unsigned char *)data, len);
        if (store_put_write(u->put, data, len, &e) != 0)
            return fail(u, 500, BB_EIO, "cannot store the upload: %s", e.message);
    }
    return 0;
}

static int on_begin(void *ud, const struct mp_part_headers *h)
{
    struct upload *u = ud;
    if (strcmp(h->name, "file") != 0)
        return 0;                 /* other fields are ignored */
    if (u->seen_file)
        return fail(u, 400, BB_EINVAL, "send one file per upload (a second \"file\" part came)", NULL);
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
    if (u->in_file_part) {
        u->in_file_part = false;
        u->file_done = true;
    }
    return 0;
}

/* Drains what is left of the body (bounded), so the client reads our
 * answer instead of a reset connection; then the connection closes. */
static void drain(http_req *r, long long budget)
{
    char sink[16384];
    while (budget > 0) {
        int n = mg_read(r->conn, sink, sizeof sink);
        if (n <= 0)
            break;
        budget -= n;
    }
    mg_disable_connection_keep_alive(r->conn);
}

void route_upload(http_req *r)
{
    bb_app *app = r->app;
    const bb_config *cfg = app->cfg;
    struct upload *u = calloc(1, sizeof *u);
    char *buf = malloc(CHUNK);
    if (u)
        u->head = malloc(UPLOAD_SNIFF_MAX);
    if (!u || !buf || !u->head) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        goto out;
    }
    u->r = r;
    crypto_hash_sha256_init(&u->sha);

    int64_t used = 0;
    if (repo_file_usage(app->db, r->who.user_id, &used) != BB_OK) {
        http_reply_error(r, BB_EIO, "database error");
        goto out;
    }
    int64_t left = cfg->limits.user_quota_bytes - used;
    u->max_bytes = cfg->limits.max_upload_bytes;
    if (left < u->max_bytes) {
        u->max_bytes = left < 0 ? 0 : left;
        u->quota_bound = true;
    }

    const char *ct = http_header(r, "Content-Type");
    bool multipart = ct && strncasecmp(ct, "multipart/", 10) == 0;
    char fname[1024];
    const char *qname = http_query(r, "filename", fname, sizeof fname);
    if (!multipart && !qname) {
        bb_errctx e = {0};
        bb_fail_field(&e, "filename", "send multipart/form-data with a \"file\" field, or the raw "
                                      "bytes with ?filename=NAME");
        http_reply_err(r, &e);
        bb_err_clear(&e);
        drain(r, 1 << 20);
        goto out;
    }
    /* The declared length tells early when the body cannot fit.  Multipart
     * framing adds a little, so only the raw body is held to it exactly. */
    long long cl = r->ri->content_length;
    if (cl > 0 && cl > u->max_bytes + (multipart ? 64 * 1024 : 0)) {
        char lim[32];
        snprintf(lim, sizeof lim, "%" PRId64, u->max_bytes);
        fail(u, 413, BB_ETOOLARGE,
             u->quota_bound ? "the upload would pass your storage quota (%s bytes left)"
                            : "the upload is larger than %s bytes", lim);
        http_reply_err(r, &u->err);
        drain(r, 1 << 20);
        goto out;
    }

    struct multipart *mp = NULL;
    if (multipart) {
        char boundary[MP_BOUNDARY_MAX + 1];
        enum mp_status ms = multipart_boundary_from_content_type(ct, boundary, sizeof boundary);
        if (ms != MP_OK) {
            http_reply_error(r, ms == MP_ERR_MEDIA_TYPE ? BB_EMEDIA : BB_EINVAL,
                             "%s", ms == MP_ERR_MEDIA_TYPE
                                       ? "send multipart/form-data (or a raw body with ?filename=)"
                                       : "the multipart boundary in Content-Type is missing or invalid");
            drain(r, 1 << 20);
            goto out;
        }
        mp = malloc(sizeof *mp);
        static const struct mp_callbacks cb = {on_begin, on_data, on_end};
        if (!mp || multipart_init(mp, boundary, &cb, u) != MP_OK) {
            free(mp);
            http_reply_error(r, BB_EINTERNAL, "out of memory");
            goto out;
        }
    } else {
        upload_sanitize_filename(qname, u->filename, sizeof u->filename);
        u->seen_file = u->in_file_part = true;
    }

    bool read_error = false;
    enum mp_status ms = MP_OK;
    for (;;) {
        int n = mg_read(r->conn, buf, CHUNK);
        if (n < 0) {
            read_error = true;
            break;
        }
        if (n == 0)
            break;
        if (multipart) {
            ms = multipart_feed(mp, buf, (size_t)n);
            if (ms != MP_OK)
                break;
        } else if (file_bytes(u, buf, (size_t)n) != 0) {
            break;
        }
    }
    if (multipart && ms == MP_OK && !read_error)
        ms = multipart_finish(mp);
    if (multipart && ms != MP_OK && ms != MP_ERR_ABORTED && u->err.code == BB_OK)
        fail(u, 400, BB_EINVAL, "malformed multipart body: %s", multipart_error_message(mp));
    free(mp);
    if (!multipart && !read_error)
        u->file_done = true;
    if (read_error && u->err.code == BB_OK)
        fail(u, 400, BB_EINVAL, "the request body ended early (%s)", "connection closed or timed out");
    if (u->err.code == BB_OK && !u->seen_file)
        fail(u, 400, BB_EINVAL, "the multipart body has no \"file\" part", NULL);
    if (u->err.code == BB_OK && !u->sniffed)
        start_store(u);           /* a file shorter than the sniff window */

    struct store_err se = {0};
    if (u->err.code == BB_OK) {
        int crc = store_put_commit(u->put, NULL, &se);
        u->put = NULL;          /* committed, or consumed by the failed commit */
        if (crc != 0)
            fail(u, se.retryable ? 503 : 500, se.retryable ? BB_EUNAVAIL : BB_EIO,
                 "cannot store the upload: %s", se.message);
    } else if (u->put) {
        store_put_abort(u->put);   /* nothing of a refused upload stays */
        u->put = NULL;
    }
    if (u->err.code != BB_OK) {
        if (u->status == 413 || u->status == 415 || u->status == 400)
            drain(r, 16 << 20);
        http_reply_err(r, &u->err);
        goto out;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    crypto_hash_sha256_final(&u->sha, digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    file_rec f = {.owner_id = r->who.user_id, .size = u->size};
    f.filename = strdup(u->filename[0] ? u->filename : "upload");
    f.sha256 = strdup(hex);
    f.content_type = strdup(u->type);
    f.storage = strdup(store_driver(app->upload_store));
    f.key = strdup(u->key);
    int irc = !f.filename || !f.sha256 || !f.content_type || !f.storage || !f.key
                  ? BB_EINTERNAL
                  : repo_file_insert(app->db, &f, cfg->limits.user_quota_bytes);
    if (irc != BB_OK) {
        store_delete(app->upload_store, u->key, &se);
        if (irc == BB_ETOOLARGE)
            http_reply_error(r, BB_ETOOLARGE, "the upload would pass your storage quota of %lld bytes",
                             (long long)cfg->limits.user_quota_bytes);
        else
            http_reply_error(r, BB_EIO, "database error");
        file_rec_clear(&f);
        goto out;
    }
    cJSON *doc = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "upl_%lld", (long long)f.id);
    cJSON_AddStringToObject(doc, "fileId", id);
    cJSON_AddStringToObject(doc, "filename", f.filename);
    cJSON_AddNumberToObject(doc, "size", (double)f.size);
    cJSON_AddStringToObject(doc, "sha256", f.sha256);
    cJSON_AddStringToObject(doc, "contentType", f.content_type);
    http_reply_json(r, 201, doc);
    cJSON_Delete(doc);
    file_rec_clear(&f);
out:
    if (u && u->put)
        store_put_abort(u->put);
    if (u)
        free(u->head);
    free(u);
    free(buf);
}

/* Parses :id ("upl_12" or "12"). */
static bool file_id_or_reply(http_req *r, int64_t *id)
{
    const char *s = http_param(r, "id");
    if (s && strncmp(s, "upl_", 4) == 0)
        s += 4;
    if (!s || bb_parse_i64(s, id) != 0 || *id < 1) {
        http_reply_error(r, BB_ENOTFOUND, "no such file");
        return false;
    }
    return true;
}

static cJSON *file_dto(const file_rec *f)
{
    cJSON *o = cJSON_CreateObject();
    char id[32], t[32];
    snprintf(id, sizeof id, "upl_%lld", (long long)f->id);
    bb_iso8601(f->created_at, t);
    cJSON_AddStringToObject(o, "fileId", id);
    cJSON_AddStringToObject(o, "filename", f->filename);
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    cJSON_AddStringToObject(o, "sha256", f->sha256);
    cJSON_AddStringToObject(o, "contentType", f->content_type);
    cJSON_AddStringToObject(o, "storage", f->storage);
    cJSON_AddStringToObject(o, "createdAt", t);
    char url[64];
    snprintf(url, sizeof url, "/api/v1/files/%s", id);
    cJSON_AddStringToObject(o, "url", url);
    return o;
}

static struct store *store_for(bb_app *app, const char *driver)
{
    if (driver && strcmp(driver, "s3") == 0)
        return app->s3_store;
    return app->fs_store;
}

void route_file_get(http_req *r)
{
    int64_t id;
    if (!file_id_or_reply(r, &id))
        return;
    file_rec f;
    int rc = repo_file_get(r->app->db, id, principal_scope(&r->who), &f);
    if (rc != BB_OK) {
        http_reply_error(r, rc == BB_ENOTFOUND ? BB_ENOTFOUND : BB_EIO,
                         rc == BB_ENOTFOUND ? "no such file" : "database error");
        return;
    }
    struct store *st = store_for(r->app, f.storage);
    if (!st)
        http_reply_error(r, BB_EUNAVAIL, "the file is in S3 storage, which is not configured now");
    else
        http_serve_object(r, st, f.key, f.size, f.sha256, f.content_type, f.filename);
    file_rec_clear(&f);
}

void route_file_delete(http_req *r)
{
    int64_t id;
    if (!file_id_or_reply(r, &id))
        return;
    file_rec f;
    int rc = repo_file_delete(r->app->db, id, principal_scope(&r->who), &f);
    if (rc == BB_ECONFLICT) {
        http_reply_error(r, BB_ECONFLICT, "a queued or running job uses this file");
        return;
    }
    if (rc != BB_OK) {
        http_reply_error(r, rc == BB_ENOTFOUND ? BB_ENOTFOUND : BB_EIO,
                         rc == BB_ENOTFOUND ? "no such file" : "database error");
        return;
    }
    struct store *st = store_for(r->app, f.storage);
    struct store_err e = {0};
    if (st && store_delete(st, f.key, &e) != 0)
        bb_warn("could not delete an upload's bytes (the record is gone)", "key", f.key,
                "error", e.message);
    file_rec_clear(&f);
    http_reply_bytes(r, 204, NULL, "", 0, NULL);
}

void route_user_files(http_req *r)
{
    file_rec *items = NULL;
    size_t n = 0;
    if (repo_file_list(r->app->db, r->who.user_id, 200, &items, &n) != BB_OK) {
        http_reply_error(r, BB_EIO, "database error");
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "items");
    int64_t used = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, file_dto(&items[i]));
        file_rec_clear(&items[i]);
    }
    free(items);
    repo_file_usage(r->app->db, r->who.user_id, &used);
    cJSON_AddNumberToObject(doc, "usedBytes", (double)used);
    cJSON_AddNumberToObject(doc, "quotaBytes", (double)r->app->cfg->limits.user_quota_bytes);
    http_reply_json(r, 200, doc);
    cJSON_Delete(doc);
}

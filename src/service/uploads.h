/* uploads.h — uploaded files: storing one from a streamed body (type judged
 * from the bytes, SHA-256, size limit and quota), reading, listing and
 * deleting them, and which store holds an object.  Transport-independent:
 * the HTTP routes feed the body through a read callback. */
#ifndef BB_SVC_UPLOADS_H
#define BB_SVC_UPLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/repo_file.h"
#include "service/app.h"
#include "util/err.h"

struct store;

/* Where an upload's bytes come from. */
struct upload_source {
    /* Reads up to cap bytes: >0 bytes, 0 at the end, <0 on error. */
    int (*read)(void *ud, void *dst, size_t cap);
    void *ud;
    const char *content_type;   /* the body's Content-Type, may be NULL */
    const char *filename;       /* the name for a raw body (?filename=), may be NULL */
    long long content_length;   /* declared length, <= 0 when unknown */
};

/* How far the body was read when an upload was refused. */
enum upload_stop {
    UPLOAD_STOP_NONE,    /* the body was read to its end (or the error is ours) */
    UPLOAD_STOP_EARLY,   /* refused before reading it: answer, then drain a little */
    UPLOAD_STOP_MIDWAY,  /* refused while reading: drain the rest, then answer */
};

/* Stores an upload for who: multipart/form-data (one part named "file")
 * or a raw body with src->filename.  Enforces limits.maxUploadBytes and
 * the user's quota, refuses types upload_sniff does not accept, and keeps
 * nothing of a refused upload.  BB_OK with *out filled (caller clears with
 * file_rec_clear), else an error in e and *stop saying how far the body
 * was read. */
int svc_upload(bb_app *app, const struct principal *who, const struct upload_source *src,
               file_rec *out, enum upload_stop *stop, bb_errctx *e);

/* The store holding an object recorded with driver name `driver` ("s3" or
 * "fs"); NULL when that driver is not configured now (borrowed). */
struct store *svc_store_for(const bb_app *app, const char *driver);

/* One upload the caller may see, and the store holding its bytes
 * (BB_ENOTFOUND; BB_EUNAVAIL when its store is not configured).  Caller
 * clears *out. */
int svc_file_open(bb_app *app, const struct principal *who, int64_t id, file_rec *out,
                  struct store **st, bb_errctx *e);
/* Deletes an upload (BB_ECONFLICT while a queued or running job uses it)
 * and then its bytes. */
int svc_file_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e);
/* The caller's uploads, newest first (at most 200; caller frees each with
 * file_rec_clear and the array) and the bytes they use. */
int svc_file_list(bb_app *app, const struct principal *who, file_rec **items, size_t *n,
                  int64_t *used, bb_errctx *e);

#endif

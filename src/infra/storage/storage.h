/* storage.h — where uploads and artifacts live: one small interface, two
 * drivers.  `fs` keeps objects under a directory (atomic: temp file +
 * rename, fsync); `s3` keeps them in an S3-compatible bucket via libs3.
 * Objects are addressed by a key such as "uploads/42" or
 * "artifacts/17/out.mp3" (no leading '/', no "..", no empty segments).
 * A store is safe to use from several threads at once.
 *
 * Keys (checked by every call; store_key_check says why one is refused):
 * 1..1024 bytes of segments separated by single '/'; a segment is 1..255
 * bytes of ASCII letters, digits, "-_.~+=,@" or valid UTF-8 beyond ASCII,
 * and does not start with '.' (so no "." or "..", and no clash with the
 * fs driver's ".bbtmp." temporary files).  Anything else -- spaces,
 * backslashes, control characters, quotes, "!*'()" that libs3 2.0 and S3
 * servers encode differently -- is refused; store_key_safe_name turns an
 * arbitrary file name into a valid segment.  docs/storage.md has more. */
#ifndef BB_STORAGE_H
#define BB_STORAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* Errors a driver reports; `retryable` says whether trying again later can
 * help (network, 5xx, timeouts) as opposed to credentials, a missing
 * bucket or a full disk. */
struct store_err {
    char message[256];
    bool retryable;
};

/* Writer for one object, fed in pieces.  Nothing is visible under the key
 * until store_put_commit succeeds; store_put_abort (or a failed commit)
 * leaves nothing behind.  Commit and abort both free the writer, whatever
 * the outcome; after a failed store_put_write, call store_put_abort. */
typedef struct store_put store_put;

struct store_stat {
    int64_t size;
    int64_t mtime_ms;
};

/* fs: root directory (created if missing). */
store *store_fs_open(const char *root, struct store_err *e);

struct store_s3_options {
    const char *endpoint;     /* "host:port" */
    const char *bucket;
    const char *region;       /* Signature V4 credential scope; NULL or
                                 "": us-east-1 (docs/storage.md) */
    const char *access_key;
    const char *secret_key;
    bool https;
    bool path_style;
    const char *ca_bundle;    /* PEM file of the CAs trusted for https;
                                 NULL: BATCHBOX_CA_BUNDLE or the system's
                                 bundle (infra/net/ca_bundle.h) */
    bool insecure_skip_verify; /* https without certificate checks (logged
                                  as a warning at open) */
    int timeout_ms;           /* per request; default 30000 (<= 0): a
                                 request that moves no byte for this long
                                 is abandoned (retryable) */
};
/* s3: checks nothing at open (no network); the first request does. */
store *store_s3_open(const struct store_s3_options *o, struct store_err *e);

void store_close(store *s);
/* "fs" or "s3" (borrowed). */
const char *store_driver(const store *s);

/* Starts writing key; size_hint may be -1 when unknown (the s3 driver
 * buffers to a temporary file and uploads at commit, so memory stays
 * flat and a failed upload can be retried; the fs driver reserves
 * size_hint bytes up front, so a full disk shows at once).  cancel (may be
 * NULL) aborts a transfer in progress.  Returns NULL with e filled. */
store_put *store_put_begin(store *s, const char *key, int64_t size_hint,
                           const char *content_type, struct store_err *e);
int store_put_write(store_put *p, const void *data, size_t len, struct store_err *e);
int store_put_commit(store_put *p, atomic_bool *cancel, struct store_err *e);
void store_put_abort(store_put *p);

/* Copies a local file into the store under key (uses the put API). */
int store_put_file(store *s, const char *key, const char *path, const char *content_type,
                   atomic_bool *cancel, struct store_err *e);

/* Reads bytes [offset, offset+len) of key (len -1 = to the end), calling
 * fn for each chunk; fn returns non-zero to stop early (not an error). */
int store_get(store *s, const char *key, int64_t offset, int64_t len,
              int (*fn)(void *ud, const void *data, size_t n), void *ud,
              struct store_err *e);
/* 0 and *st, or -1 (e->message "not found" and !retryable when missing). */
int store_stat(store *s, const char *key, struct store_stat *st, struct store_err *e);
/* Removes key; a missing key is not an error. */
int store_delete(store *s, const char *key, struct store_err *e);
/* A URL where the object can be reached, for manifests: fs → "" (served
 * by batchbox itself); s3 → the object's endpoint URL.  Writes into out. */
void store_url(store *s, const char *key, char *out, size_t cap);
/* Local path of key for the fs driver (NULL for s3): lets executors read
 * inputs without a copy.  Writes into out; returns out or NULL. */
const char *store_local_path(store *s, const char *key, char *out, size_t cap);

/* Additions (storage driver work, issue 4). */

/* 0 if key is a valid object key, else -1 with the reason in e (may be
 * NULL), not retryable. */
int store_key_check(const char *key, struct store_err *e);
/* Writes into out[cap] a valid key segment made from an arbitrary file
 * name: path parts dropped, refused bytes replaced by '_', a leading '.'
 * replaced by '_', cut to fit (at a UTF-8 boundary, at most 255 bytes);
 * "_" when nothing is left.  Returns out (cap must be at least 2). */
char *store_key_safe_name(const char *name, char *out, size_t cap);

#endif

/* s3.c — the `s3` storage driver: objects in an S3-compatible bucket
 * (MinIO, Ceph RGW, s3rver, AWS) through libs3 2.0, built from Debian's
 * source package with our patches (third_party/patches/libs3/).
 *
 * What libs3 is, and what this file adds on top:
 * - With our patches it signs with AWS Signature V4 in the configured
 *   region (storage.s3.region; uploads as UNSIGNED-PAYLOAD) and verifies
 *   TLS certificates against storage.s3.caBundle, else BATCHBOX_CA_BUNDLE
 *   or the system's bundle (infra/net/ca_bundle.h); insecureSkipVerify
 *   turns that off, with a warning at open.  docs/storage.md.
 * - It has no per-request timeout and no cancel.  Every request here runs
 *   in its own S3RequestContext driven by run() below (select on libs3's
 *   descriptors, at most 50 ms at a time), which abandons the request when
 *   the caller's cancel flag is set or when no byte has moved for
 *   timeout_ms, by destroying the context.
 * - It has no multipart upload: an object is one PUT, so at most 5 GiB.
 * - It maps "partial file" from curl to success: a GET checks the bytes it
 *   received against Content-Length and treats a short body as a dropped
 *   connection.
 * Puts are spooled to an unlinked temporary file under $TMPDIR (or /tmp)
 * and uploaded at commit with the known length, so memory stays flat
 * however large the object, and a failed upload can be sent again.  Every
 * request is tried up to 3 times (0.2 s and 0.8 s apart) when the failure
 * is one trying again can help (connection refused or dropped, stalled,
 * 5xx, SlowDown); a GET that fails after delivering bytes resumes from the
 * next byte, so the callback never sees a byte twice.
 *
 * Threads: the store is immutable after open; each call has its own
 * request context and callback state, so any number of threads may use
 * one store.  S3_initialize runs once per process (init_once below). */
#include "infra/storage/storage_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libs3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "infra/net/ca_bundle.h"
#include "util/log.h"
#include "util/util.h"

#define TRIES 3
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_OBJECT ((int64_t)5 * 1024 * 1024 * 1024)
#define CONTENT_TYPE_MAX 120    /* libs3 refuses longer ones */
#define DEFAULT_REGION "us-east-1"
#define REGION_MAX 64

struct s3_store {
    struct store base;
    char *endpoint;
    char *bucket;
    char *region;
    char *access_key;
    char *secret_key;
    char *ca_bundle;            /* NULL: libcurl's default */
    bool https;
    bool path_style;
    bool insecure;              /* no TLS verification */
    int timeout_ms;
    S3BucketContext bc;         /* points into the strings above */
};

struct s3_put {
    struct store_put base;
    int fd;                     /* the spool file (already unlinked) */
    int64_t size;
    bool failed;
    char content_type[CONTENT_TYPE_MAX + 1];
    char key[];
};

/* One request's state, shared with libs3's callbacks. */
struct xfer {
    struct s3_store *s;
    atomic_bool *cancel;
    /* outcome */
    bool done;
    S3Status status;
    bool cancelled;             /* the caller's flag stopped it */
    bool timed_out;             /* no byte moved for timeout_ms */
    bool refused_early;         /* libs3 failed it before sending it */
    char detail[128];           /* the server's error message, if any */
    int64_t moved;              /* bytes (and header blocks) moved */
    /* response properties */
    bool props_seen;
    uint64_t content_length;
    int64_t last_modified;
    /* put: the source */
    int src_fd;
    int64_t src_size;
    int64_t src_pos;
    int src_err;
    /* get: the sink */
    int (*fn)(void *ud, const void *data, size_t n);
    void *ud;
    bool stopped;               /* fn asked to stop: not an error */
    int64_t got;                /* bytes given to fn, this attempt */
};

/* ------------------------------------------------------ initialization */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t init_host_lock = PTHREAD_MUTEX_INITIALIZER;
static char init_host[S3_MAX_HOSTNAME_SIZE];
static S3Status init_status = S3StatusInternalError;

static void init_libs3(void)
{
    /* The default host only matters for requests without a host name,
     * and every request here names one; the first store's endpoint it is. */
    init_status = S3_initialize("batchbox", S3_INIT_ALL, init_host);
}

static int ensure_init(const char *endpoint, struct store_err *e)
{
    pthread_mutex_lock(&init_host_lock);
    if (init_host[0] == '\0')
        bb_strlcpy(init_host, endpoint, sizeof init_host);
    pthread_mutex_unlock(&init_host_lock);
    pthread_once(&init_once, init_libs3);
    if (init_status != S3StatusOK)
        return store_fail(e, false, "s3 storage: libs3 failed to initialize (%s)",
                          S3_get_status_name(init_status));
    return 0;
}

/* ----------------------------------------------------------- callbacks */

static bool cancel_set(const struct xfer *x)
{
    return x->cancel != NULL && atomic_load(x->cancel);
}

static S3Status on_props(const S3ResponseProperties *p, void *data)
{
    struct xfer *x = data;

    x->props_seen = true;
    x->content_length = p->contentLength;
    x->last_modified = p->lastModified;
    x->moved++;
    return cancel_set(x) ? S3StatusAbortedByCallback : S3StatusOK;
}

static void on_complete(S3Status status, const S3ErrorDetails *d, void *data)
{
    struct xfer *x = data;

    x->status = status;
    x->done = true;
    if (d != NULL && d->message != NULL)
        bb_strlcpy(x->detail, d->message, sizeof x->detail);
}

static int on_put_data(int size, char *buf, void *data)
{
    struct xfer *x = data;
    int64_t left = x->src_size - x->src_pos;
    size_t want;
    ssize_t n;

    if (cancel_set(x))
        return -1;
    if (left <= 0 || size <= 0)
        return 0;
    want = left < size ? (size_t)left : (size_t)size;
    do
        n = pread(x->src_fd, buf, want, (off_t)x->src_pos);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        x->src_err = n < 0 ? errno : EIO;   /* the source shrank */
        return -1;
    }
    x->src_pos += n;
    x->moved += n;
    return (int)n;
}

static S3Status on_get_data(int size, const char *buf, void *data)
{
    struct xfer *x = data;

    if (cancel_set(x))
        return S3StatusAbortedByCallback;
    x->moved += size;
    x->got += size;
    if (size > 0 && x->fn(x->ud, buf, (size_t)size) != 0) {
        x->stopped = true;
        return S3StatusAbortedByCallback;
    }
    return S3StatusOK;
}

static const S3ResponseHandler RESPONSE = {on_props, on_complete};
static const S3PutObjectHandler PUT = {{on_props, on_complete}, on_put_data};
static const S3GetObjectHandler GET = {{on_props, on_complete}, on_get_data};

/* ------------------------------------------------------- running a request */

enum op { OP_PUT, OP_GET, OP_HEAD, OP_DELETE };

struct req {
    enum op op;
    const char *key;
    const char *content_type;   /* OP_PUT, may be NULL */
    uint64_t start, count;      /* OP_GET: count 0 = to the end */
};

/* Runs one request to completion, cancel or stall; the outcome is in x. */
static void run(struct s3_store *s, const struct req *r, struct xfer *x)
{
    S3RequestContext *ctx = NULL;
    S3Status st;
    int64_t last_moved, last_change, stall_us = (int64_t)s->timeout_ms * 1000;

    x->done = false;
    x->status = S3StatusOK;
    x->detail[0] = '\0';
    st = S3_create_request_context(&ctx);
    if (st != S3StatusOK) {
        x->status = st;
        x->done = true;
        return;
    }
    switch (r->op) {
    case OP_PUT: {
        S3PutProperties props;

        memset(&props, 0, sizeof props);
        props.contentType = r->content_type;
        props.expires = -1;
        props.cannedAcl = S3CannedAclPrivate;
        S3_put_object(&s->bc, r->key, (uint64_t)x->src_size, &props, ctx, &PUT, x);
        break;
    }
    case OP_GET:
        S3_get_object(&s->bc, r->key, NULL, r->start, r->count, ctx, &GET, x);
        break;
    case OP_HEAD:
        S3_head_object(&s->bc, r->key, ctx, &RESPONSE, x);
        break;
    case OP_DELETE:
        S3_delete_object(&s->bc, r->key, ctx, &RESPONSE, x);
        break;
    }
    /* libs3 reports a request it could not even build (a bad argument,
     * no memory) through the completion callback, at once. */
    x->refused_early = x->done;
    last_moved = x->moved;
    last_change = bb_mono_us();
    while (!x->done) {
        int remaining = 0, maxfd = -1;
        int64_t wait_ms, now;
        fd_set rd, wr, ex;

        st = S3_runonce_request_context(ctx, &remaining);
        if (st != S3StatusOK) {
            x->status = st;     /* the destroy below may overwrite it */
            break;
        }
        if (x->done || remaining == 0)
            break;
        if (cancel_set(x)) {
            x->cancelled = true;
            break;
        }
        now = bb_mono_us();
        if (x->moved != last_moved) {
            last_moved = x->moved;
            last_change = now;
        } else if (now - last_change >= stall_us) {
            x->timed_out = true;
            break;
        }
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        if (S3_get_request_context_fdsets(ctx, &rd, &wr, &ex, &maxfd) != S3StatusOK)
            maxfd = -1;
        wait_ms = S3_get_request_context_timeout(ctx);
        if (wait_ms < 0 || wait_ms > 50)
            wait_ms = 50;
        if (maxfd < 0) {
            /* No descriptor yet (or only ones past FD_SETSIZE, which curl
             * leaves out): poll again shortly. */
            struct timespec ts = {0, (wait_ms < 1 ? 1 : wait_ms > 5 ? 5 : wait_ms) *
                                         1000000L};
            nanosleep(&ts, NULL);
        } else {
            struct timeval tv = {0, (suseconds_t)(wait_ms * 1000)};
            if (select(maxfd + 1, &rd, &wr, &ex, &tv) < 0 && errno != EINTR) {
                struct timespec ts = {0, 5000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
    /* Aborts whatever is still running (its completion callback then
     * reports S3StatusInterrupted) and frees the context. */
    S3_destroy_request_context(ctx);
    if (!x->done) {
        x->done = true;
        x->status = S3StatusInterrupted;
    }
}

/* -------------------------------------------------------------- errors */

/* libs3's name for a status without its "Error" prefix ("NoSuchKey"). */
static const char *status_name(S3Status st)
{
    const char *name = S3_get_status_name(st);

    return strncmp(name, "Error", 5) == 0 ? name + 5 : name;
}

/* e says that S3 at s's endpoint could not be reached (why: a few words;
 * detail: libcurl's words, may be empty); such failures are retryable.
 * Returns true (retryable). */
static bool unreachable(const struct s3_store *s, const char *why, const char *detail,
                        struct store_err *e)
{
    store_fail(e, true, "cannot reach S3 at %s (%s%s%.120s)", s->endpoint, why,
               detail[0] ? ": " : "", detail);
    return true;
}

/* Fills e from a failed x; returns whether trying again may help. */
static bool describe(struct s3_store *s, const struct xfer *x, const char *what,
                     const char *key, struct store_err *e)
{
    const char *name = status_name(x->status);

    if (x->cancelled || (x->status == S3StatusAbortedByCallback && cancel_set(x))) {
        store_fail(e, false, "cancelled");
        return false;
    }
    if (x->timed_out) {
        store_fail(e, true, "S3 at %s made no progress for %d ms (%s \"%.80s\")",
                   s->endpoint, s->timeout_ms, what, key);
        return true;
    }
    if (x->src_err != 0) {
        store_fail(e, false, "cannot read the data to upload for \"%.80s\": %s", key,
                   strerror(x->src_err));
        return false;
    }
    switch (x->status) {
    case S3StatusErrorSignatureDoesNotMatch:
    case S3StatusErrorInvalidAccessKeyId:
        store_fail(e, false, "S3 rejected the credentials (%s): check "
                   "storage.s3.accessKey and storage.s3.secretKey "
                   "(BATCHBOX_S3_ACCESS_KEY, BATCHBOX_S3_SECRET_KEY)", name);
        return false;
    case S3StatusErrorRequestTimeTooSkewed:
        store_fail(e, false, "S3 at %s refused the request: this machine's clock "
                   "is too far off (RequestTimeTooSkewed)", s->endpoint);
        return false;
    case S3StatusErrorAccessDenied:
    case S3StatusHttpErrorForbidden:
    case S3StatusErrorAccountProblem:
    case S3StatusErrorInvalidSecurity:
    case S3StatusErrorExpiredToken:
    case S3StatusErrorInvalidToken:
    case S3StatusErrorMissingSecurityHeader:
        store_fail(e, false, "S3 denied access to bucket \"%.60s\" (%s): check the "
                   "credentials and the bucket's policy", s->bucket,
                   x->status == S3StatusHttpErrorForbidden ? "HTTP 403" : name);
        return false;
    case S3StatusErrorNoSuchBucket:
        store_fail(e, false, "S3 bucket \"%.60s\" does not exist at %s (create it, "
                   "or fix storage.s3.bucket)", s->bucket, s->endpoint);
        return false;
    case S3StatusErrorNoSuchKey:
    case S3StatusHttpErrorNotFound:
        store_fail(e, false, "not found");
        return false;
    case S3StatusFailedToConnect:
        return unreachable(s, "connection refused", "", e);
    case S3StatusNameLookupError:
        return unreachable(s, "host name not found", "", e);
    case S3StatusConnectionFailed:
        return unreachable(s, "connection failed or dropped", x->detail, e);
    case S3StatusInternalError:
        /* During a transfer this is libs3's name for most curl errors:
         * the connection was reset or closed, nothing came back, ... */
        if (!x->refused_early)
            return unreachable(s, "connection failed during the transfer", x->detail, e);
        store_fail(e, false, "S3 request for \"%.80s\" could not be made (libs3 "
                   "internal error)", key);
        return false;
    case S3StatusServerFailedVerification:
        store_fail(e, false, "S3 at %s: TLS certificate verification failed (%.100s): "
                   "set storage.s3.caBundle (BATCHBOX_S3_CA_BUNDLE) to the PEM file "
                   "of the CA that issued the server's certificate",
                   s->endpoint, x->detail[0] ? x->detail : "certificate not trusted");
        return false;
    case S3StatusErrorUnknown:
    case S3StatusHttpErrorBadRequest:
        /* AWS and MinIO answer a wrong region with 400
         * AuthorizationHeaderMalformed, which libs3 does not know by name. */
        if (strstr(x->detail, "region") != NULL) {
            store_fail(e, false, "S3 at %s refused the region \"%s\" (%.100s): check "
                       "storage.s3.region (BATCHBOX_S3_REGION)", s->endpoint, s->region,
                       x->detail);
            return false;
        }
        store_fail(e, false, "S3 at %s failed to %s \"%.80s\" (%s%s%.80s)", s->endpoint,
                   what, key, name, x->detail[0] ? ": " : "", x->detail);
        return false;
    case S3StatusErrorPermanentRedirect:
    case S3StatusErrorTemporaryRedirect:
    case S3StatusErrorRedirect:
    case S3StatusHttpErrorMovedTemporarily:
        store_fail(e, false, "S3 at %s redirected the request (%s): check "
                   "storage.s3.endpoint and storage.s3.pathStyle", s->endpoint, name);
        return false;
    case S3StatusErrorEntityTooLarge:
        store_fail(e, false, "S3 refused \"%.80s\": too large for one upload", key);
        return false;
    case S3StatusErrorInternalError:
    case S3StatusErrorSlowDown:
    case S3StatusErrorRequestTimeout:
    case S3StatusErrorOperationAborted:
    case S3StatusErrorIncompleteBody:
    case S3StatusHttpErrorUnknown:  /* 5xx other than 500/501/503, and the odd 4xx */
        store_fail(e, true, "S3 at %s failed to %s \"%.80s\" (%s%s%.80s)",
                   s->endpoint, what, key, name, x->detail[0] ? ": " : "", x->detail);
        return true;
    default:
        store_fail(e, S3_status_is_retryable(x->status) != 0,
                   "S3 at %s failed to %s \"%.80s\" (%s%s%.80s)", s->endpoint, what,
                   key, name, x->detail[0] ? ": " : "", x->detail);
        return S3_status_is_retryable(x->status) != 0;
    }
}

/* Waits before try number `next` (2 or 3): 0.2 s, then 0.8 s; returns
 * false if the cancel flag was set meanwhile. */
static bool backoff(int next, atomic_bool *cancel)
{
    int total_ms = next <= 2 ? 200 : 800;

    for (int waited = 0; waited < total_ms; waited += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        if (cancel != NULL && atomic_load(cancel))
            return false;
        nanosleep(&ts, NULL);
    }
    return cancel == NULL || !atomic_load(cancel);
}

static void xfer_init(struct xfer *x, struct s3_store *s, atomic_bool *cancel)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    x->cancel = cancel;
    x->src_fd = -1;
}

/* Runs r with retries; 0 or -1 with e filled.  x carries the last try. */
static int run_with_retries(struct s3_store *s, const struct req *r, struct xfer *x,
                            const char *what, struct store_err *e)
{
    for (int attempt = 1;; attempt++) {
        bool again;

        x->cancelled = x->timed_out = false;
        x->src_pos = 0;
        x->src_err = 0;
        x->props_seen = false;
        run(s, r, x);
        if (x->status == S3StatusOK)
            return 0;
        again = describe(s, x, what, r->key, e);
        if (!again)
            return -1;
        if (attempt == TRIES) {
            size_t len = strlen(e->message);
            snprintf(e->message + len, sizeof e->message - len, " after %d tries",
                     TRIES);
            return -1;
        }
        if (!backoff(attempt + 1, x->cancel))
            return store_fail(e, false, "cancelled");
    }
}

/* --------------------------------------------------------------- puts */

static int upload(struct s3_store *s, const char *key, int fd, int64_t size,
                  const char *content_type, atomic_bool *cancel, struct store_err *e)
{
    struct req r = {OP_PUT, key, content_type, 0, 0};
    struct xfer x;

    if (size > MAX_OBJECT)
        return store_fail(e, false, "\"%.80s\" is larger than 5 GiB, the most one "
                          "S3 upload takes", key);
    if (cancel != NULL && atomic_load(cancel))
        return store_fail(e, false, "cancelled");
    xfer_init(&x, s, cancel);
    x.src_fd = fd;
    x.src_size = size;
    return run_with_retries(s, &r, &x, "upload", e);
}

static bool content_type_ok(const char *ct)
{
    size_t n = 0;

    for (; ct[n] != '\0'; n++)
        if ((unsigned char)ct[n] < 0x20 || (unsigned char)ct[n] > 0x7e)
            return false;
    return n <= CONTENT_TYPE_MAX;
}

static int open_spool(struct store_err *e)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    int fd;

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    if ((size_t)snprintf(path, sizeof path, "%s/batchbox-s3.XXXXXX", dir) >= sizeof path)
        return store_fail(e, false, "TMPDIR is too long");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return store_fail(e, false, "%scannot create a spool file in %.120s: %s",
                          err == ENOSPC || err == EDQUOT ? "disk full: " : "", dir,
                          strerror(err));
    }
    unlink(path);               /* gone when closed, whatever happens */
    return fd;
}

static store_put *s3_put_begin(store *st, const char *key, int64_t size_hint,
                               const char *content_type, struct store_err *e)
{
    struct s3_put *p;
    size_t klen = strlen(key);

    if (size_hint > MAX_OBJECT) {
        store_fail(e, false, "\"%.80s\" is larger than 5 GiB, the most one S3 "
                   "upload takes", key);
        return NULL;
    }
    if (content_type != NULL && !content_type_ok(content_type)) {
        store_fail(e, false, "invalid content type for \"%.80s\"", key);
        return NULL;
    }
    p = calloc(1, sizeof *p + klen + 1);
    if (p == NULL) {
        store_fail(e, false, "out of memory");
        return NULL;
    }
    p->base.s = st;
    memcpy(p->key, key, klen + 1);
    if (content_type != NULL)
        bb_strlcpy(p->content_type, content_type, sizeof p->content_type);
    p->fd = open_spool(e);
    if (p->fd < 0) {
        free(p);
        return NULL;
    }
    if (size_hint > 0 && fallocate(p->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size_hint) != 0 &&
        (errno == ENOSPC || errno == EDQUOT)) {
        store_fail(e, false, "disk full: cannot spool \"%.80s\" (%lld bytes) before "
                   "uploading it", key, (long long)size_hint);
        close(p->fd);
        free(p);
        return NULL;
    }
    return &p->base;
}

static int s3_put_write(store_put *pp, const void *data, size_t len, struct store_err *e)
{
    struct s3_put *p = (struct s3_put *)pp;

    if (p->failed)
        return store_fail(e, false, "an earlier write to \"%.80s\" failed", p->key);
    if ((int64_t)len > MAX_OBJECT - p->size) {
        p->failed = true;
        return store_fail(e, false, "\"%.80s\" is larger than 5 GiB, the most one "
                          "S3 upload takes", p->key);
    }
    if (bb_write_all(p->fd, data, len) != 0) {
        int err = errno;
        p->failed = true;
        /* Give the spooled bytes back now. */
        if (ftruncate(p->fd, 0) != 0) {
            /* the file is unlinked: closing it frees the space too */
        }
        return store_fail(e, false, "%scannot spool \"%.80s\" before uploading it: %s",
                          err == ENOSPC || err == EDQUOT ? "disk full: " : "",
                          p->key, strerror(err));
    }
    p->size += (int64_t)len;
    return 0;
}

static int s3_put_commit(store_put *pp, atomic_bool *cancel, struct store_err *e)
{
    struct s3_put *p = (struct s3_put *)pp;
    int rc;

    if (p->failed)
        rc = store_fail(e, false, "an earlier write to \"%.80s\" failed", p->key);
    else
        rc = upload((struct s3_store *)pp->s, p->key, p->fd, p->size,
                    p->content_type[0] ? p->content_type : NULL, cancel, e);
    close(p->fd);
    free(p);
    return rc;
}

static void s3_put_abort(store_put *pp)
{
    struct s3_put *p = (struct s3_put *)pp;

    close(p->fd);
    free(p);
}

static int s3_put_fd(store *st, const char *key, int fd, int64_t size,
                     const char *content_type, atomic_bool *cancel, struct store_err *e)
{
    if (content_type != NULL && !content_type_ok(content_type))
        return store_fail(e, false, "invalid content type for \"%.80s\"", key);
    return upload((struct s3_store *)st, key, fd, size, content_type, cancel, e);
}

/* --------------------------------------------------- get, stat, delete */

static int s3_stat(store *st, const char *key, struct store_stat *out,
                   struct store_err *e)
{
    struct s3_store *s = (struct s3_store *)st;
    struct req r = {OP_HEAD, key, NULL, 0, 0};
    struct xfer x;

    xfer_init(&x, s, NULL);
    if (run_with_retries(s, &r, &x, "look up", e) != 0)
        return -1;
    out->size = (int64_t)x.content_length;
    out->mtime_ms = x.last_modified >= 0 ? x.last_modified * 1000 : 0;
    return 0;
}

static int s3_get(store *st, const char *key, int64_t offset, int64_t len,
                  int (*fn)(void *ud, const void *data, size_t n), void *ud,
                  struct store_err *e)
{
    struct s3_store *s = (struct s3_store *)st;
    struct xfer x;
    int64_t done = 0;           /* bytes given to fn over all tries */
    int attempt;

    if (len == 0) {             /* nothing to read: only say if it exists */
        struct store_stat ss;
        return s3_stat(st, key, &ss, e);
    }
    xfer_init(&x, s, NULL);
    x.fn = fn;
    x.ud = ud;
    for (attempt = 1;; attempt++) {
        struct req r = {OP_GET, key, NULL, (uint64_t)(offset + done),
                        len < 0 ? 0 : (uint64_t)(len - done)};
        bool again;

        x.cancelled = x.timed_out = false;
        x.props_seen = false;
        x.got = 0;
        run(s, &r, &x);
        done += x.got;
        if (x.stopped)
            return 0;
        if (x.status == S3StatusOK && x.props_seen && x.content_length > 0 &&
            (uint64_t)x.got < x.content_length)
            x.status = S3StatusConnectionFailed;     /* a short body */
        if (x.status == S3StatusOK || (len >= 0 && done >= len))
            return 0;
        if (x.status == S3StatusErrorInvalidRange) {
            /* S3 says 416 for a range at or past the end; at the end is an
             * empty read, past it an error, as with the fs driver. */
            struct store_stat ss;
            if (s3_stat(st, key, &ss, e) != 0)
                return -1;
            if (offset + done == ss.size)
                return 0;
            return store_fail(e, false, "range starts past the end of \"%.80s\" "
                              "(offset %lld, size %lld)", key,
                              (long long)(offset + done), (long long)ss.size);
        }
        again = describe(s, &x, "download", key, e);
        if (!again)
            return -1;
        if (attempt == TRIES) {
            size_t n = strlen(e->message);
            snprintf(e->message + n, sizeof e->message - n, " after %d tries", TRIES);
            return -1;
        }
        if (!backoff(attempt + 1, NULL))
            return store_fail(e, false, "cancelled");
    }
}

static int s3_delete(store *st, const char *key, struct store_err *e)
{
    struct s3_store *s = (struct s3_store *)st;
    struct req r = {OP_DELETE, key, NULL, 0, 0};
    struct xfer x;

    xfer_init(&x, s, NULL);
    if (run_with_retries(s, &r, &x, "delete", e) == 0)
        return 0;
    if (x.status == S3StatusErrorNoSuchKey || x.status == S3StatusHttpErrorNotFound) {
        e->message[0] = '\0';
        e->retryable = false;
        return 0;
    }
    return -1;
}

/* -------------------------------------------------------- url, close */

static void s3_url(store *st, const char *key, char *out, size_t cap)
{
    struct s3_store *s = (struct s3_store *)st;
    size_t o;
    int n;

    if (s->path_style)
        n = snprintf(out, cap, "%s://%s/%s/", s->https ? "https" : "http", s->endpoint,
                     s->bucket);
    else
        n = snprintf(out, cap, "%s://%s.%s/", s->https ? "https" : "http", s->bucket,
                     s->endpoint);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return;
    }
    o = (size_t)n;
    /* the whole key or no URL at all */
    if (o + bb_url_escaped_len(key, true) >= cap) {
        out[0] = '\0';
        return;
    }
    bb_url_escape(out + o, cap - o, key, true);
}

static const char *s3_local_path(store *st, const char *key, char *out, size_t cap)
{
    (void)st;
    (void)key;
    (void)cap;
    out[0] = '\0';
    return NULL;
}

static void s3_close(store *st)
{
    struct s3_store *s = (struct s3_store *)st;

    free(s->endpoint);
    free(s->bucket);
    free(s->region);
    free(s->access_key);
    if (s->secret_key != NULL) {
        explicit_bzero(s->secret_key, strlen(s->secret_key));
        free(s->secret_key);
    }
    free(s->ca_bundle);
    free(s);
}

static const struct store_ops S3_OPS = {
    .name = "s3",
    .close = s3_close,
    .put_begin = s3_put_begin,
    .put_write = s3_put_write,
    .put_commit = s3_put_commit,
    .put_abort = s3_put_abort,
    .put_fd = s3_put_fd,
    .get = s3_get,
    .stat = s3_stat,
    .del = s3_delete,
    .url = s3_url,
    .local_path = s3_local_path,
};

/* An endpoint is "host" or "host:port", without scheme or path. */
static bool endpoint_ok(const char *ep)
{
    size_t n = strlen(ep);

    if (n == 0 || n >= S3_MAX_HOSTNAME_SIZE)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
              c == '[' || c == ']' || c == '_'))
            return false;
    }
    return true;
}

/* A region name: letters, digits and '-', 1..REGION_MAX bytes (it goes
 * into every request's signature scope). */
static bool region_ok(const char *r)
{
    size_t n = strlen(r);

    if (n == 0 || n > REGION_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') ||
              (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return false;
    return true;
}

static bool readable_file(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

/* The store owns copies of every string in o (caller keeps o's).  Caller
 * closes the store (store_close). */
store *store_s3_open(const struct store_s3_options *o, struct store_err *e)
{
    struct s3_store *s;
    const char *ca = NULL;
    S3Status st;

    if (e != NULL) {
        e->message[0] = '\0';
        e->retryable = false;
    }
    if (o == NULL || o->endpoint == NULL || !endpoint_ok(o->endpoint)) {
        store_fail(e, false, "s3 storage: storage.s3.endpoint must be \"host\" or "
                   "\"host:port\" (no scheme, no path)");
        return NULL;
    }
    if (o->bucket == NULL || o->bucket[0] == '\0') {
        store_fail(e, false, "s3 storage: storage.s3.bucket is empty");
        return NULL;
    }
    st = S3_validate_bucket_name(o->bucket, o->path_style ? S3UriStylePath
                                                          : S3UriStyleVirtualHost);
    if (st != S3StatusOK) {
        store_fail(e, false, "s3 storage: storage.s3.bucket \"%.64s\" is not a valid "
                   "bucket name (%s)", o->bucket, S3_get_status_name(st));
        return NULL;
    }
    if (!region_ok(o->region != NULL && o->region[0] ? o->region : DEFAULT_REGION)) {
        store_fail(e, false, "s3 storage: storage.s3.region must be a region name such "
                   "as \"us-east-1\" (letters, digits and '-', at most %d)", REGION_MAX);
        return NULL;
    }
    if (o->ca_bundle != NULL && !readable_file(o->ca_bundle)) {
        store_fail(e, false, "s3 storage: storage.s3.caBundle \"%.120s\" is not a "
                   "readable file", o->ca_bundle);
        return NULL;
    }
    if (o->access_key == NULL || o->access_key[0] == '\0' ||
        o->secret_key == NULL || o->secret_key[0] == '\0') {
        store_fail(e, false, "s3 storage: storage.s3.accessKey and "
                   "storage.s3.secretKey (BATCHBOX_S3_SECRET_KEY) are required");
        return NULL;
    }
    if (ensure_init(o->endpoint, e) != 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        store_fail(e, false, "out of memory");
        return NULL;
    }
    s->base.ops = &S3_OPS;
    s->endpoint = strdup(o->endpoint);
    s->bucket = strdup(o->bucket);
    s->region = strdup(o->region != NULL && o->region[0] ? o->region : DEFAULT_REGION);
    s->access_key = strdup(o->access_key);
    s->secret_key = strdup(o->secret_key);
    if (s->endpoint == NULL || s->bucket == NULL || s->region == NULL ||
        s->access_key == NULL || s->secret_key == NULL) {
        s3_close(&s->base);
        store_fail(e, false, "out of memory");
        return NULL;
    }
    if (o->ca_bundle != NULL)
        ca = o->ca_bundle;
    else if (!o->insecure_skip_verify)
        ca = bb_ca_bundle_path();   /* NULL: libcurl's own default */
    if (ca != NULL && (s->ca_bundle = strdup(ca)) == NULL) {
        s3_close(&s->base);
        store_fail(e, false, "out of memory");
        return NULL;
    }
    s->https = o->https;
    s->path_style = o->path_style;
    s->insecure = o->insecure_skip_verify;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->bc.hostName = s->endpoint;
    s->bc.bucketName = s->bucket;
    s->bc.protocol = s->https ? S3ProtocolHTTPS : S3ProtocolHTTP;
    s->bc.uriStyle = s->path_style ? S3UriStylePath : S3UriStyleVirtualHost;
    s->bc.accessKeyId = s->access_key;
    s->bc.secretAccessKey = s->secret_key;
    s->bc.authRegion = s->region;
    s->bc.caInfo = s->ca_bundle;
    s->bc.insecureSkipVerify = s->insecure;
    if (s->insecure)
        bb_warn("INSECURE: storage.s3.insecureSkipVerify is on, so the TLS certificate "
                "and host name of the S3 server are NOT verified; anyone on the network "
                "path can impersonate it (docs/storage.md)", "endpoint", s->endpoint,
                "https", s->https ? "true" : "false");
    else if (s->https && s->ca_bundle == NULL)
        bb_warn("S3 over https: no CA bundle found, libcurl's default is used",
                "reason", bb_ca_bundle_status());
    return &s->base;
}

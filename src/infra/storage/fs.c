/* fs.c — the `fs` storage driver: object KEY is the file ROOT/KEY.
 *
 * Writes are atomic and durable: a put writes a temporary file
 * ".bbtmp.PID.N" (O_EXCL, mode 0600) in the object's own directory, and
 * commit fsyncs it, renames it over ROOT/KEY and fsyncs the directory, so
 * a reader sees the old object or the whole new one, never a part.  Abort
 * and every failure unlink the temporary file.  Keys never start a segment
 * with '.', so temporary files cannot be named by a key; a crash can leave
 * one behind (harmless; docs/storage.md).
 *
 * Every path is resolved relative to a descriptor of ROOT opened once
 * (openat, mkdirat, renameat, unlinkat), so the store does not depend on
 * the working directory, and the store holds no mutable state: any number
 * of threads may use it at once. */
#include "infra/storage/storage_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

struct fs_store {
    struct store base;
    int root_fd;
    char *root;                 /* absolute, no trailing '/' */
};

struct fs_put {
    struct store_put base;
    int fd;                     /* the temporary file; -1 once it is gone */
    int dir_fd;                 /* the object's directory */
    int64_t written;
    int64_t reserved;           /* bytes fallocate()d beyond what is written */
    bool failed;                /* a write failed: commit refuses */
    char tmp[64];               /* temporary file name inside dir_fd */
    char name[256];             /* the object's file name inside dir_fd */
    char key[];                 /* for messages */
};

static atomic_uint_fast64_t tmp_counter;

static bool is_full(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

/* Message for a failed system call on key; a full disk says so first. */
static int io_fail(struct store_err *e, int err, const char *what, const char *key)
{
    if (is_full(err))
        return store_fail(e, false, "disk full: cannot %s \"%.120s\" (%s)", what,
                          key, strerror(err));
    return store_fail(e, false, "cannot %s \"%.120s\": %s", what, key,
                      strerror(err));
}

/* fsyncs the directory path[0..len) below the root (the root when len is
 * 0); 0 or -1 with errno set. */
static int sync_parent(struct fs_store *fs, const char *path, size_t len)
{
    char parent[1025];
    int fd, rc, err;

    if (len == 0)
        return fsync(fs->root_fd);
    if (len >= sizeof parent) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, path, len);
    parent[len] = '\0';
    fd = openat(fs->root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    err = errno;
    close(fd);
    errno = err;
    return rc;
}

/* Opens (creating as needed) the directory part of key, relative to the
 * root; returns a descriptor (caller closes) or -1 with e filled.  base
 * receives the last segment. */
static int open_parent(struct fs_store *fs, const char *key, bool create,
                       const char **base, struct store_err *e)
{
    char path[1025];
    const char *slash = strrchr(key, '/');
    size_t dlen;
    int fd;

    if (slash == NULL) {
        *base = key;
        fd = fcntl(fs->root_fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            return io_fail(e, errno, "open the directory of", key);
        return fd;
    }
    *base = slash + 1;
    dlen = (size_t)(slash - key);
    if (dlen >= sizeof path)
        return store_fail(e, false, "key too long");
    memcpy(path, key, dlen);
    path[dlen] = '\0';
    if (create) {
        /* mkdir each prefix in turn; an existing one is fine.  A new one
         * is made durable by syncing its parent, or a crash could lose
         * the directory and with it a committed object. */
        size_t parent_end = 0;          /* path[0..parent_end): the parent */

        for (size_t i = 0; i <= dlen; i++) {
            if (path[i] != '/' && path[i] != '\0')
                continue;
            char saved = path[i];
            path[i] = '\0';
            if (mkdirat(fs->root_fd, path, 0755) == 0) {
                if (sync_parent(fs, path, parent_end) != 0) {
                    int err = errno;
                    path[i] = saved;
                    return io_fail(e, err, "sync the directory of", key);
                }
            } else if (errno != EEXIST) {
                int err = errno;
                path[i] = saved;
                return io_fail(e, err, "create the directory of", key);
            }
            path[i] = saved;
            parent_end = i;
        }
    }
    fd = openat(fs->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (!create && (errno == ENOENT || errno == ENOTDIR))
            return store_fail(e, false, "not found");
        return io_fail(e, errno, "open the directory of", key);
    }
    return fd;
}

static void fs_close(store *s)
{
    struct fs_store *fs = (struct fs_store *)s;

    close(fs->root_fd);
    free(fs->root);
    free(fs);
}

static void put_free(struct fs_put *p)
{
    if (p->fd >= 0) {
        close(p->fd);
        unlinkat(p->dir_fd, p->tmp, 0);
    }
    close(p->dir_fd);
    free(p);
}

static store_put *fs_put_begin(store *s, const char *key, int64_t size_hint,
                               const char *content_type, struct store_err *e)
{
    struct fs_store *fs = (struct fs_store *)s;
    struct fs_put *p;
    const char *base;
    size_t klen = strlen(key);
    int tries;

    (void)content_type;         /* the fs driver stores bytes only */
    p = calloc(1, sizeof *p + klen + 1);
    if (p == NULL) {
        store_fail(e, false, "out of memory");
        return NULL;
    }
    p->base.s = s;
    p->fd = -1;
    memcpy(p->key, key, klen + 1);
    p->dir_fd = open_parent(fs, key, true, &base, e);
    if (p->dir_fd < 0) {
        free(p);
        return NULL;
    }
    bb_strlcpy(p->name, base, sizeof p->name);
    for (tries = 0; tries < 100 && p->fd < 0; tries++) {
        unsigned long long n = (unsigned long long)atomic_fetch_add(&tmp_counter, 1);
        snprintf(p->tmp, sizeof p->tmp, ".bbtmp.%ld.%llu", (long)getpid(), n);
        p->fd = openat(p->dir_fd, p->tmp,
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (p->fd < 0 && errno != EEXIST) {
            io_fail(e, errno, "create a temporary file for", key);
            put_free(p);
            return NULL;
        }
    }
    if (p->fd < 0) {
        store_fail(e, false, "cannot create a temporary file for \"%.120s\"", key);
        put_free(p);
        return NULL;
    }
    /* Reserve the space now so a full disk shows before any copying;
     * KEEP_SIZE: the file's length stays what is written. */
    if (size_hint > 0) {
        if (fallocate(p->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size_hint) == 0) {
            p->reserved = size_hint;
        } else if (is_full(errno)) {
            io_fail(e, errno, "reserve space for", key);
            put_free(p);
            return NULL;
        }
        /* EOPNOTSUPP and friends: the file system cannot reserve; fine. */
    }
    return &p->base;
}

static int fs_put_write(store_put *pp, const void *data, size_t len,
                        struct store_err *e)
{
    struct fs_put *p = (struct fs_put *)pp;

    if (p->failed)
        return store_fail(e, false, "an earlier write to \"%.120s\" failed", p->key);
    if (bb_write_all(p->fd, data, len) != 0) {
        int err = errno;
        /* Give the space back at once: nothing is left behind. */
        close(p->fd);
        unlinkat(p->dir_fd, p->tmp, 0);
        p->fd = -1;
        p->failed = true;
        return io_fail(e, err, "write", p->key);
    }
    p->written += (int64_t)len;
    return 0;
}

static int fs_put_commit(store_put *pp, atomic_bool *cancel, struct store_err *e)
{
    struct fs_put *p = (struct fs_put *)pp;
    int fd, err;

    if (p->failed) {
        store_fail(e, false, "an earlier write to \"%.120s\" failed", p->key);
        put_free(p);
        return -1;
    }
    if (cancel != NULL && atomic_load(cancel)) {
        put_free(p);
        return store_fail(e, false, "cancelled");
    }
    /* Blocks reserved past what was written are released. */
    if (p->reserved > p->written && ftruncate(p->fd, (off_t)p->written) != 0) {
        err = errno;
        io_fail(e, err, "truncate", p->key);
        put_free(p);
        return -1;
    }
    if (fsync(p->fd) != 0) {
        err = errno;
        io_fail(e, err, "sync", p->key);
        put_free(p);
        return -1;
    }
    fd = p->fd;
    p->fd = -1;
    if (close(fd) != 0) {
        err = errno;
        unlinkat(p->dir_fd, p->tmp, 0);
        io_fail(e, err, "close", p->key);
        put_free(p);
        return -1;
    }
    if (renameat(p->dir_fd, p->tmp, p->dir_fd, p->name) != 0) {
        err = errno;
        unlinkat(p->dir_fd, p->tmp, 0);
        io_fail(e, err, "rename into place", p->key);
        put_free(p);
        return -1;
    }
    if (fsync(p->dir_fd) != 0) {
        err = errno;
        /* The rename may not survive a crash: report it, and take the
         * object back so a failed commit leaves nothing. */
        unlinkat(p->dir_fd, p->name, 0);
        io_fail(e, err, "sync the directory of", p->key);
        put_free(p);
        return -1;
    }
    put_free(p);
    return 0;
}

static void fs_put_abort(store_put *pp)
{
    put_free((struct fs_put *)pp);
}

/* Opens key for reading; fd or -1 ("not found" when missing). */
static int open_object(struct fs_store *fs, const char *key, struct stat *st,
                       struct store_err *e)
{
    int fd = openat(fs->root_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return store_fail(e, false, "not found");
        return io_fail(e, errno, "open", key);
    }
    if (fstat(fd, st) != 0) {
        int err = errno;
        close(fd);
        return io_fail(e, err, "stat", key);
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return store_fail(e, false, "not found");
    }
    return fd;
}

static int fs_get(store *s, const char *key, int64_t offset, int64_t len,
                  int (*fn)(void *ud, const void *data, size_t n), void *ud,
                  struct store_err *e)
{
    struct fs_store *fs = (struct fs_store *)s;
    struct stat st;
    int64_t end, pos;
    char *buf;
    int fd, rc = 0;

    fd = open_object(fs, key, &st, e);
    if (fd < 0)
        return -1;
    if (offset > (int64_t)st.st_size) {
        close(fd);
        return store_fail(e, false, "range starts past the end of \"%.120s\" "
                          "(offset %lld, size %lld)", key, (long long)offset,
                          (long long)st.st_size);
    }
    end = (int64_t)st.st_size;
    if (len >= 0 && len < end - offset)
        end = offset + len;
    buf = malloc(STORE_CHUNK);
    if (buf == NULL) {
        close(fd);
        return store_fail(e, false, "out of memory");
    }
    for (pos = offset; pos < end;) {
        size_t want = end - pos < STORE_CHUNK ? (size_t)(end - pos) : STORE_CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)pos);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = io_fail(e, errno, "read", key);
            break;
        }
        if (n == 0) {           /* objects never shrink in place */
            rc = store_fail(e, false, "\"%.120s\" ended early at byte %lld", key,
                            (long long)pos);
            break;
        }
        pos += n;
        if (fn(ud, buf, (size_t)n) != 0)
            break;
    }
    free(buf);
    close(fd);
    return rc;
}

static int fs_stat(store *s, const char *key, struct store_stat *out,
                   struct store_err *e)
{
    struct fs_store *fs = (struct fs_store *)s;
    struct stat st;

    if (fstatat(fs->root_fd, key, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return store_fail(e, false, "not found");
        return io_fail(e, errno, "stat", key);
    }
    if (!S_ISREG(st.st_mode))
        return store_fail(e, false, "not found");
    out->size = (int64_t)st.st_size;
    out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return 0;
}

static int fs_delete(store *s, const char *key, struct store_err *e)
{
    struct fs_store *fs = (struct fs_store *)s;
    struct stat st;

    if (fstatat(fs->root_fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
        return 0;               /* a directory is not an object */
    if (unlinkat(fs->root_fd, key, 0) != 0 && errno != ENOENT && errno != ENOTDIR)
        return io_fail(e, errno, "delete", key);
    return 0;
}

static void fs_url(store *s, const char *key, char *out, size_t cap)
{
    (void)s;
    (void)key;
    out[0] = '\0';              /* served by batchbox itself */
    (void)cap;
}

static const char *fs_local_path(store *s, const char *key, char *out, size_t cap)
{
    struct fs_store *fs = (struct fs_store *)s;
    int n = snprintf(out, cap, "%s/%s", fs->root, key);

    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return NULL;
    }
    return out;
}

static const struct store_ops FS_OPS = {
    .name = "fs",
    .close = fs_close,
    .put_begin = fs_put_begin,
    .put_write = fs_put_write,
    .put_commit = fs_put_commit,
    .put_abort = fs_put_abort,
    .put_fd = NULL,
    .get = fs_get,
    .stat = fs_stat,
    .del = fs_delete,
    .url = fs_url,
    .local_path = fs_local_path,
};

store *store_fs_open(const char *root, struct store_err *e)
{
    struct fs_store *fs;
    char *abs;

    if (e != NULL) {
        e->message[0] = '\0';
        e->retryable = false;
    }
    if (root == NULL || root[0] == '\0') {
        store_fail(e, false, "fs storage: no root directory");
        return NULL;
    }
    if (bb_mkdirs(root, true) != 0) {
        int err = errno;
        store_fail(e, false, "%sfs storage: cannot create %.150s: %s",
                   is_full(err) ? "disk full: " : "", root, strerror(err));
        return NULL;
    }
    abs = realpath(root, NULL);
    if (abs == NULL) {
        store_fail(e, false, "fs storage: cannot resolve %.150s: %s", root,
                   strerror(errno));
        return NULL;
    }
    fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        free(abs);
        store_fail(e, false, "out of memory");
        return NULL;
    }
    fs->base.ops = &FS_OPS;
    fs->root = abs;
    fs->root_fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->root_fd < 0) {
        store_fail(e, false, "fs storage: cannot open %.150s: %s", abs,
                   strerror(errno));
        free(abs);
        free(fs);
        return NULL;
    }
    return &fs->base;
}

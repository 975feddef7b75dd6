/* inputs.c — the input browser (see inputs.h).  The directory is opened
 * beneath the input root (util/beneath.c), its entries read with the
 * directory descriptor, and a symlink among them is followed only through
 * beneath_open from the root again, so nothing outside the root is listed
 * or read.  Each listed file's first bytes go through the upload sniffer
 * (domain/upload.c). */
#include "service/inputs.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/beneath.h"
#include "util/util.h"

#define SCAN_MAX 50000        /* entries read from one directory at most */
#define HEAD_MAX 8192         /* bytes read of each listed file to judge its type */

/* One entry while scanning (name owned). */
struct scanned {
    char *name;
    bool dir, link;
    int64_t size, mtime_ms;
};

void inputs_listing_clear(struct input_listing *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* rel without "" and "." components ("./a//b/" → "a/b") into out[cap]. */
static void normalise(const char *rel, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (const char *c = rel; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n > 0 && !(n == 1 && c[0] == '.') && w + n + 2 < cap) {
            if (w)
                out[w++] = '/';
            memcpy(out + w, c, n);
            w += n;
            out[w] = '\0';
        }
        c += n;
        while (*c == '/')
            c++;
    }
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Opens entry name of the listed directory (dfd; dir = its path from the
 * root) for reading: a symlink only through the root, so it cannot lead
 * out.  O_NONBLOCK: a FIFO swapped in does not hang us.  -1 on failure. */
static int open_entry(int rootfd, int dfd, const char *dir, const char *name, bool link)
{
    if (!link)
        return openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    char rel[4096 + 256 + 2];
    snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", name);
    return beneath_open(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

/* Fills *s for entry name; false when it is not listed (hidden, not UTF-8,
 * neither file nor directory, or a link leading out of the root). */
static bool scan_entry(int rootfd, int dfd, const char *dir, const char *name,
                       struct scanned *s)
{
    size_t len = strlen(name);
    if (name[0] == '.' || len > 255 || !bb_utf8_valid(name, len))
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return false;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return false;
    s->link = S_ISLNK(st.st_mode);
    if (s->link) {
        int fd = open_entry(rootfd, dfd, dir, name, true);
        bool ok = fd >= 0 && fstat(fd, &st) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok)
            return false;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return false;
    s->dir = S_ISDIR(st.st_mode);
    s->size = s->dir ? 0 : (int64_t)st.st_size;
    s->mtime_ms = mtime_ms(&st);
    s->name = strdup(name);
    return s->name != NULL;
}

static int by_kind_then_name(const void *a, const void *b)
{
    const struct scanned *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The content type of a listed file, judged from its first bytes. */
static void sniff_entry(int fd, const char *name, char *type, size_t cap)
{
    /* on the stack: a thread-local buffer costs every thread of the
     * process its pages, whether it ever lists a directory or not */
    unsigned char head[HEAD_MAX];
    struct stat st;
    type[0] = '\0';
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    size_t k = 0;
    while (k < sizeof head) {
        ssize_t got = read(fd, head + k, sizeof head - k);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        k += (size_t)got;
    }
    if ((int64_t)k < (int64_t)st.st_size) {
        /* a UTF-8 sequence cut by our window is not the file's fault */
        for (size_t i = k; i > 0 && k - i < 4; i--) {
            unsigned char b = head[i - 1];
            if ((b & 0xC0) == 0x80)
                continue;
            size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (i - 1 + want > k)
                k = i - 1;
            break;
        }
    }
    upload_sniff(head, k, name, type, cap);
}

/* Reads the entries of dfd into *items and *n (caller frees each name and the
 * array); *more when the directory has more than SCAN_MAX.  0 or -1. */
static int scan_dir(int rootfd, int dfd, const char *dir, struct scanned **items, size_t *n,
                    bool *more)
{
    *items = NULL;
    *n = 0;
    *more = false;
    int fd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
    if (!d) {
        if (fd2 >= 0)
            close(fd2);
        return -1;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (*n == SCAN_MAX) {
            *more = true;
            break;
        }
        struct scanned s = {0};
        if (!scan_entry(rootfd, dfd, dir, de->d_name, &s))
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct scanned *g = realloc(*items, nc * sizeof *g);
            if (!g) {
                free(s.name);
                rc = -1;
                break;
            }
            *items = g;
            cap = nc;
        }
        (*items)[(*n)++] = s;
    }
    closedir(d);
    return rc;
}

static int open_failed(int err, bb_errctx *e)
{
    if (beneath_escaped(err))
        return bb_fail_field(e, "path", "leads outside the input root");
    if (err == ENOTDIR)
        return bb_fail_field(e, "path", "is not a directory");
    if (err == ENOENT)
        return bb_fail(e, BB_ENOTFOUND, "no such directory in the input root");
    if (err == EACCES)
        return bb_fail(e, BB_EFORBIDDEN, "the server may not read this directory");
    return bb_fail(e, BB_EIO, "cannot open the directory: %s", strerror(err));
}

int svc_inputs_list(const bb_app *app, const char *rel, struct input_listing *out,
                    bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (!rel)
        rel = "";
    const char *why = beneath_rel_problem(rel);
    if (why)
        return bb_fail_field(e, "path", "%s", why);
    normalise(rel, out->path, sizeof out->path);
    int rootfd = beneath_open_root(app->cfg->input_root);
    if (rootfd < 0)
        return bb_fail(e, BB_ENOTFOUND, "the input root does not exist on the server");
    int dfd = beneath_open(rootfd, out->path, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        int err = errno;
        close(rootfd);
        return open_failed(err, e);
    }
    struct scanned *all;
    size_t n;
    bool more;
    int rc = BB_OK;
    if (scan_dir(rootfd, dfd, out->path, &all, &n, &more) != 0) {
        rc = bb_fail(e, BB_EIO, "cannot read the directory: %s", strerror(errno));
    } else {
        qsort(all, n, sizeof *all, by_kind_then_name);
        out->truncated = more || n > INPUTS_LIST_MAX;
        out->n = n > INPUTS_LIST_MAX ? INPUTS_LIST_MAX : n;
        out->items = out->n ? calloc(out->n, sizeof *out->items) : NULL;
        if (out->n && !out->items)
            rc = bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; rc == BB_OK && i < out->n; i++) {
        struct input_entry *it = &out->items[i];
        bb_strlcpy(it->name, all[i].name, sizeof it->name);
        it->dir = all[i].dir;
        it->size = all[i].size;
        it->modified_ms = all[i].mtime_ms;
        if (it->dir)
            continue;
        int fd = open_entry(rootfd, dfd, out->path, it->name, all[i].link);
        if (fd >= 0) {
            sniff_entry(fd, it->name, it->type, sizeof it->type);
            close(fd);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(all[i].name);
    free(all);
    close(dfd);
    close(rootfd);
    if (rc != BB_OK)
        inputs_listing_clear(out);
    return rc;
}

/* Copies the open file fd into a new file at dest.  0 or -1 with errno. */
static int copy_fd(int fd, const char *dest)
{
    int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return -1;
    /* on the heap, freed below: a thread-local buffer would cost every
     * thread of the process 64 KiB of memory (idle RSS, docs/benchmarks.md) */
    enum { COPY_BUF = 64 * 1024 };
    char *buf = malloc(COPY_BUF);
    if (!buf) {
        close(out);
        unlink(dest);
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t got = read(fd, buf, COPY_BUF);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? -1 : 0;
            break;
        }
        if (bb_write_all(out, buf, (size_t)got) != 0) {
            rc = -1;
            break;
        }
    }
    int err = errno;
    free(buf);
    if (close(out) != 0 && rc == 0)
        rc = -1;
    else
        errno = err;
    if (rc != 0)
        unlink(dest);
    return rc;
}

int svc_input_stage(const bb_config *cfg, const char *abs_path, const char *workdir,
                    char *out, size_t cap, char *err, size_t errcap, bool *retryable)
{
    *retryable = false;
    char root[PATH_MAX];
    if (!realpath(cfg->input_root, root)) {
        snprintf(err, errcap, "the input root %s does not exist", cfg->input_root);
        return -1;
    }
    size_t rl = strlen(root);
    const char *rel = NULL;
    if (strcmp(root, "/") == 0 && abs_path[0] == '/')
        rel = abs_path + 1;
    else if (strncmp(abs_path, root, rl) == 0 && abs_path[rl] == '/')
        rel = abs_path + rl + 1;
    if (!rel || beneath_rel_problem(rel)) {
        snprintf(err, errcap, "the input %s is not inside the input root %s", abs_path, root);
        return -1;
    }
    int rootfd = beneath_open_root(root);
    int fd = rootfd >= 0 ? beneath_open(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY) : -1;
    int oe = errno;
    if (rootfd >= 0)
        close(rootfd);
    struct stat st;
    if (fd < 0) {
        if (beneath_escaped(oe))
            snprintf(err, errcap, "the input %s now leads outside the input root (a symlink "
                     "changed since the job was submitted); it was not read", rel);
        else if (oe == ENOENT)
            snprintf(err, errcap, "the input %s no longer exists", rel);
        else
            snprintf(err, errcap, "cannot open the input %s: %s", rel, strerror(oe));
        *retryable = !beneath_escaped(oe) && oe != ENOENT && oe != ENOTDIR;
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "the input %s is no longer a regular file", rel);
        close(fd);
        return -1;
    }
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    if ((size_t)snprintf(out, cap, "%s/%s", workdir, base) >= cap) {
        snprintf(err, errcap, "the work directory path is too long");
        close(fd);
        return -1;
    }
    /* a hard link to the very inode we opened (no second lookup of the
     * path); else a copy */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int rc = linkat(AT_FDCWD, self, AT_FDCWD, out, AT_SYMLINK_FOLLOW);
    if (rc != 0)
        rc = copy_fd(fd, out);
    if (rc != 0) {
        snprintf(err, errcap, "cannot stage the input %s in the work directory: %s", rel,
                 strerror(errno));
        *retryable = true;
    }
    close(fd);
    return rc;
}

/* beneath.c — opening a path without leaving a root directory (see
 * beneath.h).  openat2(2) with RESOLVE_BENEATH does it in the kernel; on a
 * kernel without it (ENOSYS, or EPERM from a seccomp filter that does not
 * know the call) the path is walked one component at a time with
 * O_NOFOLLOW, which refuses every symlink.  Stateless. */
#include "util/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437          /* the same number on every architecture */
#endif

/* struct open_how of <linux/openat2.h> (a stable kernel ABI), declared
 * here because musl builds may not have the kernel headers. */
struct how {
    uint64_t flags, mode, resolve;
};
#define HOW_RESOLVE_NO_MAGICLINKS 0x02
#define HOW_RESOLVE_BENEATH 0x08

#define REL_MAX 4095

const char *beneath_rel_problem(const char *rel)
{
    if (!rel)
        return "is required";
    if (rel[0] == '/')
        return "must be relative to the input root";
    if (strlen(rel) > REL_MAX)
        return "is longer than 4095 bytes";
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return "must not contain control characters";
    for (const char *c = rel; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return "must not contain \"..\"";
        c += n;
        while (*c == '/')
            c++;
    }
    return NULL;
}

int beneath_open_root(const char *root)
{
    return open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool beneath_escaped(int err)
{
    return err == EXDEV || err == ELOOP;
}

/* After an openat of name in dfd failed with err: ELOOP when name is a
 * symlink (O_NOFOLLOW with O_DIRECTORY may say ENOTDIR), else err. */
static int symlink_errno(int dfd, const char *name, int err)
{
    struct stat st;
    if ((err == ENOTDIR || err == ELOOP) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
        return ELOOP;
    return err;
}

int beneath_open_walk(int rootfd, const char *rel, int flags)
{
    char buf[REL_MAX + 1];
    size_t len = strlen(rel);
    if (len > REL_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, rel, len + 1);
    int dfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    /* every component but the last is a directory opened without
     * following a link; "" and "." are skipped */
    char *last = ".";
    char *p = buf;
    while (*p) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        char *comp = p;
        p = slash ? slash + 1 : p + strlen(p);
        if (!*comp || strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            close(dfd);
            errno = EXDEV;
            return -1;
        }
        /* is there another real component after this one? */
        const char *q = p;
        bool more = false;
        while (*q && !more) {
            const char *s = strchr(q, '/');
            size_t n = s ? (size_t)(s - q) : strlen(q);
            more = n > 0 && !(n == 1 && q[0] == '.');
            q += n;
            while (*q == '/')
                q++;
        }
        if (!more) {
            last = comp;
            break;
        }
        int next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            int err = symlink_errno(dfd, comp, errno);
            close(dfd);
            errno = err;
            return -1;
        }
        close(dfd);
        dfd = next;
    }
    int fd = openat(dfd, last, flags | O_NOFOLLOW | O_CLOEXEC);
    int err = fd < 0 ? symlink_errno(dfd, last, errno) : 0;
    close(dfd);
    errno = err;
    return fd;
}

int beneath_open(int rootfd, const char *rel, int flags)
{
    struct how how = {
        .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
        .resolve = HOW_RESOLVE_BENEATH | HOW_RESOLVE_NO_MAGICLINKS,
    };
    const char *path = *rel ? rel : ".";
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS && errno != EPERM)
        return -1;
    return beneath_open_walk(rootfd, rel, flags);
}

/* files.c — file and directory helpers: listing, whole writes and
 * reads, mkdir -p, rm -r, content types (see files.h). */
#include "util/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/text.h"

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bb_dir_names(const char *dir, bool skip_hidden, size_t max, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int rc = 0, saved = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if ((nm[0] == '.' && (skip_hidden || !nm[1] || (nm[1] == '.' && !nm[2]))))
            continue;
        if (len == max) {
            saved = E2BIG;
            rc = -1;
            break;
        }
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                saved = ENOMEM;
                rc = -1;
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[len] = strdup(nm))) {
            saved = ENOMEM;
            rc = -1;
            break;
        }
        len++;
    }
    closedir(d);
    if (rc != 0) {
        bb_strv_free(v, len);
        errno = saved;
        return -1;
    }
    if (len > 1)
        qsort(v, len, sizeof *v, cmp_name);
    *names = v;
    *n = len;
    return 0;
}

int bb_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

const char *bb_content_type_for(const char *name)
{
    static const struct { const char *ext, *type; } map[] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"}, {"log", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
        {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
        {"webp", "image/webp"}, {"ico", "image/x-icon"}, {"pdf", "application/pdf"},
        {"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"},
        {"flac", "audio/flac"}, {"m4a", "audio/mp4"}, {"mp4", "video/mp4"},
        {"webm", "video/webm"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
        {"woff2", "font/woff2"},
    };
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcasecmp(dot + 1, map[i].ext) == 0)
                return map[i].type;
    }
    return "application/octet-stream";
}

int bb_mkdirs(const char *path, bool private_leaf)
{
    char tmp[PATH_MAX];
    if (bb_strlcpy(tmp, path, sizeof tmp) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, private_leaf ? 0700 : 0755) != 0) {
        struct stat st;
        if (errno != EEXIST)
            return -1;
        if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

/* d_type may be DT_UNKNOWN on some filesystems: ask lstat then. */
static bool is_dir_entry(int dirfd, const struct dirent *e)
{
    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_DIR;
    struct stat st;
    return fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int rmtree_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOTDIR || errno == ELOOP ? unlinkat(dirfd, name, 0) : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (is_dir_entry(fd, e)) {
            if (rmtree_at(fd, e->d_name) != 0)
                rc = -1;
        } else if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT) {
            rc = -1;
        }
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

int bb_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return rmtree_at(AT_FDCWD, path);
}

char *bb_read_file(const char *path, size_t max, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    char *data = malloc((size_t)st.st_size + 1);
    if (!data) {
        close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    data[got] = '\0';
    if (len_out)
        *len_out = got;
    return data;
}

/* store.c — the storage interface's front door: key rules, argument
 * checks, dispatch to the driver's operation table (fs.c, s3.c), and
 * store_put_file, which feeds a local file through a driver.  Drivers see
 * only valid keys and a cleared error struct. */
#include "infra/storage/storage_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define KEY_MAX 1024
#define SEGMENT_MAX 255

int store_fail(struct store_err *e, bool retryable, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    if (vsnprintf(e->message, sizeof e->message, fmt, ap) < 0)
        bb_strlcpy(e->message, "storage error", sizeof e->message);
    va_end(ap);
    e->retryable = retryable;
    return -1;
}

static void clear(struct store_err *e)
{
    if (e != NULL) {
        e->message[0] = '\0';
        e->retryable = false;
    }
}

/* The start of every call on a key: clears e, then checks that there is a
 * store and that key is valid.  0, or -1 with e set. */
static int begin_call(store *s, const char *key, struct store_err *e)
{
    clear(e);
    if (s == NULL)
        return store_fail(e, false, "no store");
    return store_key_check(key, e) != 0 ? -1 : 0;
}

/* ASCII bytes a key may hold besides '/' (see storage.h for why these). */
static bool ascii_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("-_.~+=,@", c) != NULL;
}

/* Length of the valid UTF-8 sequence at s[0..n) that starts with a byte
 * >= 0x80, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;

    if (len == 0 || len > n || !bb_utf8_valid((const char *)s, len))
        return 0;
    return len;
}

int store_key_check(const char *key, struct store_err *e)
{
    const unsigned char *k = (const unsigned char *)key;
    size_t n, i, seg = 0;

    if (key == NULL || key[0] == '\0')
        return store_fail(e, false, "invalid key: empty");
    n = strlen(key);
    if (n > KEY_MAX)
        return store_fail(e, false, "invalid key: longer than %d bytes", KEY_MAX);
    if (k[0] == '/')
        return store_fail(e, false, "invalid key \"%.64s\": starts with '/'", key);
    for (i = 0; i < n;) {
        unsigned char c = k[i];

        if (c == '/') {
            if (seg == 0 || i + 1 == n)
                return store_fail(e, false, "invalid key \"%.64s\": empty segment",
                                  key);
            seg = 0;
            i++;
            continue;
        }
        if (seg == 0 && c == '.')
            return store_fail(e, false,
                              "invalid key \"%.64s\": a segment starts with '.'",
                              key);
        if (c < 0x80) {
            if (!ascii_ok(c)) {
                if (c < 0x20 || c == 0x7f)
                    return store_fail(e, false, "invalid key: control character "
                                      "0x%02x at byte %zu", c, i);
                return store_fail(e, false, "invalid key \"%.64s\": character "
                                  "'%c' is not allowed", key, c);
            }
            i++;
            seg++;
        } else {
            size_t len = utf8_seq(k + i, n - i);

            if (len == 0)
                return store_fail(e, false, "invalid key: bad UTF-8 at byte %zu",
                                  i);
            i += len;
            seg += len;
        }
        if (seg > SEGMENT_MAX)
            return store_fail(e, false, "invalid key \"%.64s\": a segment is "
                              "longer than %d bytes", key, SEGMENT_MAX);
    }
    return 0;
}

char *store_key_safe_name(const char *name, char *out, size_t cap)
{
    const unsigned char *s;
    size_t n, i, o = 0, limit;
    const char *slash;

    if (cap < 2) {
        if (cap == 1)
            out[0] = '\0';
        return out;
    }
    if (name == NULL)
        name = "";
    slash = strrchr(name, '/');
    if (slash != NULL)
        name = slash + 1;
    slash = strrchr(name, '\\');
    if (slash != NULL)
        name = slash + 1;
    s = (const unsigned char *)name;
    n = strlen(name);
    limit = cap - 1 < SEGMENT_MAX ? cap - 1 : SEGMENT_MAX;
    for (i = 0; i < n && o < limit;) {
        if (s[i] < 0x80) {
            out[o++] = ascii_ok(s[i]) ? (char)s[i] : '_';
            i++;
            continue;
        }
        size_t len = utf8_seq(s + i, n - i);
        if (len == 0) {
            out[o++] = '_';
            i++;
        } else if (o + len <= limit) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            break;                     /* would split a character */
        }
    }
    if (o == 0)
        out[o++] = '_';
    out[o] = '\0';
    if (out[0] == '.')
        out[0] = '_';
    return out;
}

/* ------------------------------------------------------------ dispatch */

void store_close(store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

const char *store_driver(const store *s)
{
    return s != NULL ? s->ops->name : "";
}

store_put *store_put_begin(store *s, const char *key, int64_t size_hint,
                           const char *content_type, struct store_err *e)
{
    if (begin_call(s, key, e) != 0)
        return NULL;
    if (size_hint < -1) {
        store_fail(e, false, "invalid size hint %lld", (long long)size_hint);
        return NULL;
    }
    return s->ops->put_begin(s, key, size_hint, content_type, e);
}

int store_put_write(store_put *p, const void *data, size_t len, struct store_err *e)
{
    clear(e);
    if (p == NULL)
        return store_fail(e, false, "no writer");
    if (len == 0)
        return 0;
    if (data == NULL)
        return store_fail(e, false, "no data");
    return p->s->ops->put_write(p, data, len, e);
}

int store_put_commit(store_put *p, atomic_bool *cancel, struct store_err *e)
{
    clear(e);
    if (p == NULL)
        return store_fail(e, false, "no writer");
    return p->s->ops->put_commit(p, cancel, e);
}

void store_put_abort(store_put *p)
{
    if (p != NULL)
        p->s->ops->put_abort(p);
}

/* The generic copy: read the file in chunks and feed the put API. */
static int copy_fd(store *s, const char *key, int fd, int64_t size_hint,
                   const char *content_type, atomic_bool *cancel,
                   struct store_err *e)
{
    store_put *p;
    char *buf;

    buf = malloc(STORE_CHUNK);
    if (buf == NULL)
        return store_fail(e, false, "out of memory");
    p = s->ops->put_begin(s, key, size_hint, content_type, e);
    if (p == NULL) {
        free(buf);
        return -1;
    }
    for (;;) {
        ssize_t n;

        if (cancel != NULL && atomic_load(cancel)) {
            s->ops->put_abort(p);
            free(buf);
            return store_fail(e, false, "cancelled");
        }
        n = read(fd, buf, STORE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            s->ops->put_abort(p);
            free(buf);
            return store_fail(e, false, "cannot read the source file: %s",
                              strerror(err));
        }
        if (n == 0)
            break;
        if (s->ops->put_write(p, buf, (size_t)n, e) != 0) {
            s->ops->put_abort(p);
            free(buf);
            return -1;
        }
    }
    free(buf);
    return s->ops->put_commit(p, cancel, e);
}

int store_put_file(store *s, const char *key, const char *path, const char *content_type,
                   atomic_bool *cancel, struct store_err *e)
{
    struct stat st;
    int fd, rc;

    if (begin_call(s, key, e) != 0)
        return -1;
    if (path == NULL)
        return store_fail(e, false, "no source file");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return store_fail(e, false, "cannot open %.150s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return store_fail(e, false, "cannot stat %.150s: %s", path, strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return store_fail(e, false, "%.150s is a directory", path);
    }
    if (S_ISREG(st.st_mode) && s->ops->put_fd != NULL)
        rc = s->ops->put_fd(s, key, fd, (int64_t)st.st_size, content_type, cancel, e);
    else
        rc = copy_fd(s, key, fd, S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1,
                     content_type, cancel, e);
    close(fd);
    return rc;
}

int store_get(store *s, const char *key, int64_t offset, int64_t len,
              int (*fn)(void *ud, const void *data, size_t n), void *ud,
              struct store_err *e)
{
    if (begin_call(s, key, e) != 0)
        return -1;
    if (offset < 0 || len < -1)
        return store_fail(e, false, "invalid range (offset %lld, length %lld)",
                          (long long)offset, (long long)len);
    if (fn == NULL)
        return store_fail(e, false, "no data callback");
    return s->ops->get(s, key, offset, len, fn, ud, e);
}

int store_stat(store *s, const char *key, struct store_stat *st, struct store_err *e)
{
    if (begin_call(s, key, e) != 0)
        return -1;
    if (st == NULL)
        return store_fail(e, false, "no stat result");
    return s->ops->stat(s, key, st, e);
}

int store_delete(store *s, const char *key, struct store_err *e)
{
    if (begin_call(s, key, e) != 0)
        return -1;
    return s->ops->del(s, key, e);
}

void store_url(store *s, const char *key, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    if (s == NULL || store_key_check(key, NULL) != 0)
        return;
    s->ops->url(s, key, out, cap);
}

const char *store_local_path(store *s, const char *key, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return NULL;
    out[0] = '\0';
    if (s == NULL || store_key_check(key, NULL) != 0)
        return NULL;
    return s->ops->local_path(s, key, out, cap);
}

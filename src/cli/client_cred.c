/* client_cred.c — the credentials file of `batchbox login`: where it
 * lives, its lock, reading it and replacing it atomically.  See client.h.
 *
 * `batchbox login` keeps one entry per server URL in
 * $XDG_CONFIG_HOME/batchbox/credentials.json (default
 * ~/.config/batchbox/credentials.json):
 *
 *   {"http://127.0.0.1:8080": {"server": ..., "email": ...,
 *     "accessToken": ..., "refreshToken": ..., "expiresAt": ISO}, ...}
 *
 * The directory is 0700.  The file is only ever replaced whole: the new
 * content goes to a fresh file opened O_CREAT|O_EXCL with mode 0600, which
 * is then renamed over the old one, so the file is never readable by
 * others, not even for a moment, nor seen half-written.  Every
 * read-modify-write (login, logout, refresh) holds an exclusive flock on
 * credentials.lock beside it: two batchbox processes neither lose each
 * other's entries nor both spend the same refresh token (the second finds
 * the pair the first stored and uses it; a spent refresh token presented
 * again would make the server revoke the whole session). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "util/util.h"

#define CRED_FILE_MAX (1024u * 1024u)
#define CRED_LOCK_WAIT_MS 20000L

/* Fills p from $XDG_CONFIG_HOME, else $HOME; 0, or -1 with the reason in
 * why. */
int cl_cred_paths_get(struct cl_cred_paths *p, char *why, size_t whylen)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;

    /* The XDG rule: a relative XDG_CONFIG_HOME is ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(p->dir, sizeof p->dir, "%s/batchbox", xdg);
    else if (home && home[0] == '/')
        n = snprintf(p->dir, sizeof p->dir, "%s/.config/batchbox", home);
    else {
        snprintf(why, whylen, "no config directory: neither XDG_CONFIG_HOME "
                              "nor HOME is set to an absolute path");
        return -1;
    }
    if (n < 0 || (size_t)n + sizeof "/credentials.json" > sizeof p->dir) {
        snprintf(why, whylen, "config directory path too long");
        return -1;
    }
    snprintf(p->file, sizeof p->file, "%s/credentials.json", p->dir);
    snprintf(p->lock, sizeof p->lock, "%s/credentials.lock", p->dir);
    return 0;
}

/* Creates the directory and its missing parents with mode 0700 (the XDG
 * rule); an existing batchbox directory open to others is closed to 0700.
 * 0 or -1 with why. */
static int cred_mkdir(const struct cl_cred_paths *p, char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    struct stat st;

    snprintf(tmp, sizeof tmp, "%s", p->dir);
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
            snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
            return -1;
        }
        *q = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (stat(p->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s is not a directory", p->dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "%s belongs to another user", p->dir);
        return -1;
    }
    if ((st.st_mode & 077) != 0 && chmod(p->dir, 0700) != 0) {
        snprintf(why, whylen, "cannot restrict %s to mode 0700: %s", p->dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Takes the exclusive lock of the credentials file, waiting up to
 * CRED_LOCK_WAIT_MS.  Returns the lock's descriptor (release it with
 * close) or -1 with why. */
int cl_cred_lock(const struct cl_cred_paths *p, char *why, size_t whylen)
{
    int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", p->lock, strerror(errno));
        return -1;
    }
    for (long waited = 0;; waited += 50) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, whylen, "cannot lock %s: %s", p->lock,
                     strerror(errno));
            break;
        }
        if (waited >= CRED_LOCK_WAIT_MS) {
            snprintf(why, whylen, "%s stayed locked by another batchbox "
                                  "process for %ld s", p->lock,
                     CRED_LOCK_WAIT_MS / 1000);
            break;
        }
        struct timespec ts = {0, 50L * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
    (void)close(fd);
    return -1;
}

/* Reads the credentials file.  Returns its top-level object (caller frees
 * with cJSON_Delete): empty when there is no file yet, or when it is not a
 * JSON object (a warning says so; the next write replaces it).  NULL with
 * why on a read error or out of memory. */
cJSON *cl_cred_read(const struct cl_cred_paths *p, char *why, size_t whylen)
{
    static atomic_int warned_mode, warned_json;
    struct stat st;
    size_t len = 0;
    char *text = bb_read_file(p->file, CRED_FILE_MAX, &len);
    cJSON *all;

    if (!text) {
        if (errno != ENOENT) {
            snprintf(why, whylen, "cannot read %s: %s", p->file,
                     strerror(errno));
            return NULL;
        }
        all = cJSON_CreateObject();
        if (!all)
            snprintf(why, whylen, "out of memory");
        return all;
    }
    if (stat(p->file, &st) == 0 && (st.st_mode & 077) != 0 &&
        atomic_exchange(&warned_mode, 1) == 0)
        fprintf(stderr, "batchbox: warning: %s can be read by other users; "
                        "run: chmod 600 %s\n", p->file, p->file);
    all = cJSON_ParseWithLength(text, len);
    explicit_bzero(text, len);
    free(text);
    if (!cJSON_IsObject(all)) {
        cJSON_Delete(all);
        if (atomic_exchange(&warned_json, 1) == 0)
            fprintf(stderr, "batchbox: warning: %s is not a JSON object; "
                            "ignoring it\n", p->file);
        all = cJSON_CreateObject();
        if (!all)
            snprintf(why, whylen, "out of memory");
    }
    return all;
}

/* Replaces the credentials file with all, atomically (a new 0600 file
 * renamed over the old one).  0 or -1 with why. */
int cl_cred_write(const struct cl_cred_paths *p, const cJSON *all, char *why,
                  size_t whylen)
{
    static atomic_uint seq;
    char tmp[PATH_MAX];
    char *text = cJSON_Print(all);
    size_t len;
    int fd = -1, rc = -1;

    if (!text) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    len = strlen(text);
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        snprintf(tmp, sizeof tmp, "%s/.credentials.json.%ld.%u", p->dir,
                 (long)getpid(), atomic_fetch_add(&seq, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a file in %s: %s", p->dir,
                 strerror(errno));
        goto out;
    }
    if (bb_write_all(fd, text, len) != 0 || bb_write_all(fd, "\n", 1) != 0 ||
        fsync(fd) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        (void)close(fd);
        (void)unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    if (rename(tmp, p->file) != 0) {
        snprintf(why, whylen, "cannot replace %s: %s", p->file,
                 strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    /* Make the rename itself durable. */
    int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        (void)close(dfd);
    }
    rc = 0;
out:
    explicit_bzero(text, len);
    free(text);
    return rc;
}

/* Unix seconds as "2026-11-22T05:00:00Z" into out[32]. */
static void iso_utc(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* "2026-11-22T05:00:00Z" (fraction allowed) → unix seconds; 0 if not
 * that shape. */
int64_t cl_parse_iso_utc(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi,
                     &sec) != 6)
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t;
}

/* A token we are willing to store and send: 1..MAX_TOKEN_LEN printable
 * ASCII characters, no spaces. */
bool cl_token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;

    if (n == 0 || n > MAX_TOKEN_LEN)
        return false;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)t[k] <= 0x20 || (unsigned char)t[k] >= 0x7f)
            return false;
    return true;
}

/* A new credentials entry, or NULL when out of memory (caller frees with
 * cJSON_Delete, or hands it to cl_cred_put). */
cJSON *cl_cred_entry_new(const char *server, const char *email,
                         const char *access_tok, const char *refresh_tok,
                         int64_t expires_at)
{
    cJSON *e = cJSON_CreateObject();
    char exp[32];

    iso_utc(expires_at, exp);
    if (!e || !cJSON_AddStringToObject(e, "server", server) ||
        !cJSON_AddStringToObject(e, "email", email ? email : "") ||
        !cJSON_AddStringToObject(e, "accessToken", access_tok) ||
        !cJSON_AddStringToObject(e, "refreshToken", refresh_tok) ||
        !cJSON_AddStringToObject(e, "expiresAt", exp)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/* Under the lock: stores entry as server's (takes ownership), or removes
 * server's entry when entry is NULL.  0 or -1 with why. */
int cl_cred_put(const char *server, cJSON *entry, char *why,
                size_t whylen)
{
    struct cl_cred_paths p;
    cJSON *all = NULL;
    int lfd = -1, rc = -1;

    if (cl_cred_paths_get(&p, why, whylen) != 0)
        goto out;
    if (entry && cred_mkdir(&p, why, whylen) != 0)
        goto out;
    if (!entry && access(p.file, F_OK) != 0) {
        rc = 0; /* no file: nothing to remove */
        goto out;
    }
    if ((lfd = cl_cred_lock(&p, why, whylen)) < 0)
        goto out;
    if (!(all = cl_cred_read(&p, why, whylen)))
        goto out;
    if (!entry && !cJSON_GetObjectItemCaseSensitive(all, server)) {
        rc = 0;
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(all, server);
    if (entry) {
        if (!cJSON_AddItemToObject(all, server, entry)) {
            snprintf(why, whylen, "out of memory");
            goto out;
        }
        entry = NULL; /* all owns it now */
    }
    rc = cl_cred_write(&p, all, why, whylen);
out:
    if (lfd >= 0)
        (void)close(lfd);
    cJSON_Delete(all);
    cJSON_Delete(entry);
    return rc;
}

/* command.c — the `command` workflow module (infra/exec/workflow.h) and
 * the argv placeholder language (docs/configuration.md, "Presets").
 *
 * A preset's argv template is expanded argument by argument (no shell), the
 * program is started with posix_spawnp in its own process group with
 * cwd = workdir, stdin = /dev/null and stdout/stderr on two pipes, and the
 * calling worker thread then multiplexes: it reads both pipes with poll()
 * (≤ 50 ms per wait), splits them into log lines, and watches the cancel
 * flag and the preset's timeout.  Cancel and timeout send SIGTERM to the
 * whole process group and SIGKILL after the grace period.
 *
 * Exit is observed with waitid(WNOWAIT): the main child stays a zombie until
 * the very end, so its pid — which is also the process-group id — cannot be
 * recycled while we may still signal the group.  It is reaped with waitpid
 * on that specific pid; nothing here relies on SIGCHLD, installs a signal
 * handler or keeps static mutable state, so any number of worker threads may
 * run commands at once. */
#include "infra/exec/exec.h"
#include "infra/exec/workflow.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/job.h"
#include "domain/params.h"

#define ARG_MAX_BYTES   65536   /* cap on one expanded argument */
#define LINE_MAX_BYTES  8192    /* longer output lines are split */
#define POLL_MS         50      /* longest wait before re-checking flags */
#define DRAIN_MS        2000    /* pipe reading after the main child exits */
#define DEFAULT_GRACE_MS 5000   /* SIGTERM → SIGKILL when ctx says 0 */
#define PARAM_NAME_MAX  64
#define PROGRESS_PREFIX "BATCHBOX_PROGRESS "

/* ---------------------------------------------------------------------
 * Placeholder language
 * ------------------------------------------------------------------- */

/* Output buffer of an expansion, capped at ARG_MAX_BYTES. */
typedef struct argbuf {
    char *p;
    size_t len, cap;
} argbuf;

static int argbuf_put(argbuf *b, const char *s, size_t n, char *err,
                      size_t errlen)
{
    if (n > ARG_MAX_BYTES - b->len) {
        snprintf(err, errlen, "argument longer than %d bytes after expansion",
                 ARG_MAX_BYTES);
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The placeholders that stand for a path of the context, and what to say
 * when the context has none. */
struct path_placeholder {
    const char *name;
    size_t off;              /* offsetof(exec_ctx, ...) of a const char * */
    const char *missing;
};
static const struct path_placeholder PATHS[] = {
    {"input", offsetof(exec_ctx, input_path), "{input} is used but the job has no input"},
    {"outdir", offsetof(exec_ctx, outdir), "{outdir} is used but no outdir was given"},
    {"workdir", offsetof(exec_ctx, workdir), "{workdir} is used but no workdir was given"},
};

static const struct path_placeholder *path_placeholder_named(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof PATHS / sizeof PATHS[0]; i++)
        if (strlen(PATHS[i].name) == n && memcmp(PATHS[i].name, name, n) == 0)
            return &PATHS[i];
    return NULL;
}

/* A `file` param's path value as the program gets it: the real path of a
 * regular file inside the input root, checked again now (a symlink
 * swapped in after submit does not lead out); an upload id becomes the
 * path the attempt staged it at (ctx->staged_files).  Calls without a
 * configuration (unit tests) keep the value.  Caller frees;
 * NULL with a message in err. */
static char *file_param_path(const exec_ctx *ctx, const char *key, const char *value,
                             char *err, size_t errlen)
{
    if (strncmp(value, "upl_", 4) == 0) {
        /* an upload: the file the attempt staged in the work directory */
        const cJSON *st = ctx->staged_files
                              ? cJSON_GetObjectItemCaseSensitive(ctx->staged_files, key)
                              : NULL;
        if (cJSON_IsString(st))
            return strdup(st->valuestring);
        if (!ctx->cfg)
            return strdup(value);   /* called directly (unit tests) */
        snprintf(err, errlen, "param \"%s\": the upload %.40s was not staged", key, value);
        return NULL;
    }
    if (!ctx->cfg)
        return strdup(value);
    char root[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(ctx->cfg->input_root, root)) {
        snprintf(err, errlen, "param \"%s\": the input root is missing", key);
        return NULL;
    }
    if (value[0] == '/')
        snprintf(joined, sizeof joined, "%s", value);
    else
        snprintf(joined, sizeof joined, "%s/%s", root, value);
    size_t rl = strlen(root);
    struct stat st;
    if (!realpath(joined, real) || strncmp(real, root, rl) != 0 ||
        (real[rl] != '/' && rl != 1) || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "param \"%s\": %.200s is no longer a file in the input root",
                 key, value);
        return NULL;
    }
    return strdup(real);
}

/* Handles one placeholder whose text between the braces is name[0..n).
 * With out == NULL only the syntax is checked; otherwise the value is
 * appended to out.  Returns 0 or -1 with a message in err. */
static int placeholder(const char *name, size_t n, const exec_ctx *ctx,
                       argbuf *out, char *err, size_t errlen)
{
    const char *val = NULL;
    char num[24];

    const struct path_placeholder *pp = path_placeholder_named(name, n);
    if (pp) {
        if (!out)
            return 0;
        val = *(const char *const *)(const void *)((const char *)ctx + pp->off);
        if (!val) {
            snprintf(err, errlen, "%s", pp->missing);
            return -1;
        }
    } else if (n == 5 && memcmp(name, "jobId", 5) == 0) {
        if (!out)
            return 0;
        snprintf(num, sizeof num, "%" PRId64, ctx->job_id);
        val = num;
    } else if (n > 6 && memcmp(name, "param.", 6) == 0) {
        const char *pn = name + 6;
        size_t pl = n - 6;
        bool ok = pl <= PARAM_NAME_MAX;
        for (size_t i = 0; ok && i < pl; i++)
            ok = is_name_char(pn[i]);
        if (!ok) {
            snprintf(err, errlen, "bad param name in \"{%.*s}\" (want "
                     "[A-Za-z0-9_-]{1,64})", (int)(n > 80 ? 80 : n), name);
            return -1;
        }
        if (!out)
            return 0;
        char key[PARAM_NAME_MAX + 1];
        memcpy(key, pn, pl);
        key[pl] = '\0';
        const cJSON *item = NULL;
        if (ctx->params && cJSON_IsObject(ctx->params))
            item = cJSON_GetObjectItemCaseSensitive(ctx->params, key);
        const bb_param *decl = config_param(ctx->preset, key);
        if (!item && decl && decl->declared && !decl->required) {
            return 0;   /* an optional param left out: the empty text */
        }
        if (!item) {
            snprintf(err, errlen, "missing param \"%s\"", key);
            return -1;
        }
        /* the canonical text of the typed value (docs/parameters.md) */
        char *text = decl && decl->type == BB_PT_FILE && cJSON_IsString(item)
                         ? file_param_path(ctx, key, item->valuestring, err, errlen)
                         : params_canonical_text(item);
        if (!text && decl && decl->type == BB_PT_FILE)
            return -1;
        if (!text) {
            snprintf(err, errlen, "param \"%s\" must be a string, number or boolean", key);
            return -1;
        }
        int rc = argbuf_put(out, text, strlen(text), err, errlen);
        free(text);
        return rc;
    } else {
        snprintf(err, errlen, "unknown placeholder \"{%.*s}\" (write {{ and }} "
                 "for literal braces)", (int)(n > 80 ? 80 : n), name);
        return -1;
    }
    return argbuf_put(out, val, strlen(val), err, errlen);
}

/* Walks a template.  Grammar: "{{" is a literal '{', "}}" a literal '}',
 * every other '{' opens a placeholder that ends at the next '}', and any
 * other '}' is an error.  out == NULL: check only. */
static int walk(const char *tmpl, const exec_ctx *ctx, argbuf *out, char *err,
                size_t errlen)
{
    const char *p = tmpl;
    while (*p) {
        const char *lit = p;
        while (*p && *p != '{' && *p != '}')
            p++;
        if (out && p > lit && argbuf_put(out, lit, (size_t)(p - lit), err,
                                         errlen) != 0)
            return -1;
        if (!*p)
            break;
        if (p[0] == p[1]) {                    /* "{{" or "}}" */
            if (out && argbuf_put(out, p, 1, err, errlen) != 0)
                return -1;
            p += 2;
            continue;
        }
        if (*p == '}') {
            snprintf(err, errlen, "unmatched \"}\" at offset %zu (write }} "
                     "for a literal brace)", (size_t)(p - tmpl));
            return -1;
        }
        const char *close = strchr(p + 1, '}');
        if (!close) {
            snprintf(err, errlen, "unterminated \"{\" at offset %zu (write {{ "
                     "for a literal brace)", (size_t)(p - tmpl));
            return -1;
        }
        if (placeholder(p + 1, (size_t)(close - p - 1), ctx, out, err,
                        errlen) != 0)
            return -1;
        p = close + 1;
    }
    return 0;
}

int exec_check_template(const char *tmpl, char *err, size_t errlen)
{
    if (!tmpl) {
        snprintf(err, errlen, "template is NULL");
        return -1;
    }
    return walk(tmpl, NULL, NULL, err, errlen);
}

char *exec_expand_arg(const char *tmpl, const exec_ctx *ctx, char *err,
                      size_t errlen)
{
    argbuf b = {0};
    if (!tmpl || !ctx) {
        snprintf(err, errlen, "template or context is NULL");
        return NULL;
    }
    if (walk(tmpl, ctx, &b, err, errlen) != 0) {
        free(b.p);
        return NULL;
    }
    if (!b.p)   /* empty result */
        b.p = strdup("");
    if (!b.p)
        snprintf(err, errlen, "out of memory");
    return b.p;
}

/* ---------------------------------------------------------------------
 * Output: line splitting and the progress convention
 * ------------------------------------------------------------------- */

/* One output stream.  buf holds the current partial line; one spare byte
 * keeps a '\r' that arrives when the line is exactly full (it may be the
 * first half of "\r\n"), one more is for the terminating NUL. */
typedef struct stream {
    const char *name;   /* "stdout" | "stderr" */
    bool is_stdout;     /* progress lines are recognised on stdout only */
    int fd;             /* read end, -1 once at EOF */
    size_t len;
    char buf[LINE_MAX_BYTES + 2];
} stream;

/* Parses "BATCHBOX_PROGRESS <number>" where number is
 * [+-]?digits[.digits] (locale-independent).  Returns true and *out. */
static bool parse_progress(const char *line, size_t len, double *out)
{
    size_t pl = sizeof PROGRESS_PREFIX - 1;
    if (len <= pl || memcmp(line, PROGRESS_PREFIX, pl) != 0)
        return false;
    const char *p = line + pl, *end = line + len;
    double sign = 1.0, v = 0.0, scale = 1.0;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1.0 : 1.0;
        p++;
    }
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 40) {
        v = v * 10.0 + (*p++ - '0');
        digits++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9' && digits < 40) {
            scale /= 10.0;
            v += (*p++ - '0') * scale;
            digits++;
        }
    }
    if (p != end || digits == 0)
        return false;
    v *= sign;
    *out = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    return true;
}

static void emit(exec_ctx *ctx, stream *s, size_t n)
{
    char saved = s->buf[n];
    s->buf[n] = '\0';
    if (ctx->log_line)
        ctx->log_line(ctx->ud, s->name, s->buf, n);
    double f;
    if (ctx->progress && s->is_stdout &&
        parse_progress(s->buf, n, &f))
        ctx->progress(ctx->ud, f);
    s->buf[n] = saved;
}

static void feed(exec_ctx *ctx, stream *s, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            size_t l = s->len;
            if (l > 0 && s->buf[l - 1] == '\r')
                l--;
            emit(ctx, s, l);
            s->len = 0;
            continue;
        }
        if (s->len == LINE_MAX_BYTES && c == '\r') {
            s->buf[s->len++] = c;     /* maybe "\r\n": hold it */
            continue;
        }
        if (s->len > LINE_MAX_BYTES) {            /* held '\r', no '\n' */
            emit(ctx, s, LINE_MAX_BYTES);
            s->buf[0] = '\r';
            s->len = 1;
        } else if (s->len == LINE_MAX_BYTES) {
            emit(ctx, s, LINE_MAX_BYTES);
            s->len = 0;
        }
        s->buf[s->len++] = c;
    }
}

/* At EOF: a final line without newline is still a line. */
static void flush_tail(exec_ctx *ctx, stream *s)
{
    if (s->len == 0)
        return;
    size_t l = s->len;
    if (s->buf[l - 1] == '\r')
        l--;
    emit(ctx, s, l);
    s->len = 0;
}

/* Reads what is available on s (non-blocking fd).  Closes it at EOF or on
 * a read error. */
static void drain(exec_ctx *ctx, stream *s)
{
    char chunk[16384];
    for (int rounds = 0; s->fd >= 0 && rounds < 16; rounds++) {
        ssize_t r = read(s->fd, chunk, sizeof chunk);
        if (r > 0) {
            feed(ctx, s, chunk, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        flush_tail(ctx, s);     /* EOF or error */
        close(s->fd);
        s->fd = -1;
    }
}

/* ---------------------------------------------------------------------
 * Process handling
 * ------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errstr(int e, char *buf, size_t n)
{
    return strerror_r(e, buf, n);   /* GNU variant: returns the message */
}

/* Resource shortages are worth retrying; anything else about starting the
 * program (not found, not executable, bad format) is not. */
static bool transient_errno(int e)
{
    return e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE;
}

/* A pipe whose ends are close-on-exec and numbered >= 3, so the file
 * actions' dup2 onto 0..2 never collide with them even when the server
 * runs with a standard descriptor closed. */
int exec_pipe_high(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 3)
            continue;
        int nfd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (nfd < 0) {
            int e = errno;
            close(fds[0]);
            close(fds[1]);
            errno = e;
            return -1;
        }
        close(fds[i]);
        fds[i] = nfd;
    }
    return 0;
}

/* "KEY=VALUE", malloc'd (caller frees), or NULL when out of memory. */
static char *env_entry(const char *key, const char *val)
{
    char *s = NULL;
    return asprintf(&s, "%s=%s", key, val) < 0 ? NULL : s;
}

static bool env_is_ours(const char *e)
{
    static const char *const ours[] = {"BATCHBOX_JOB_ID=", "BATCHBOX_OUTDIR=",
                                       "BATCHBOX_WORKDIR=", "BATCHBOX_RESOURCE_"};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strncmp(e, ours[i], strlen(ours[i])) == 0)
            return true;
    return false;
}

/* The units of the resource pools the job holds (docs/scheduling.md,
 * "Resources"): for each pool in resources ({"gpu": [0, 1], "vram": 12}),
 * BATCHBOX_RESOURCE_GPU=0,1 (the unit numbers of a counted pool, or the
 * amount of a quantity pool) and BATCHBOX_RESOURCE_GPU_COUNT=2, appended
 * to envp from *k on (room for 2 * BB_MAX_POOLS entries).  false on OOM. */
static bool resource_env(const char *resources, char **envp, size_t *k)
{
    cJSON *o = resources ? cJSON_Parse(resources) : NULL;
    bool ok = true;
    int npools = 0;
    for (const cJSON *it = o ? o->child : NULL; it && ok && npools < BB_MAX_POOLS;
         it = it->next, npools++) {
        char key[64], val[BB_POOL_MAX_UNITS * 4], count[24];
        size_t w = 0;
        int64_t held = 0;
        int kn = snprintf(key, sizeof key, "BATCHBOX_RESOURCE_%.32s", it->string);
        for (int i = 18; i < kn; i++)
            key[i] = (char)(key[i] >= 'a' && key[i] <= 'z' ? key[i] - 32 : key[i]);
        val[0] = '\0';
        if (cJSON_IsArray(it)) {
            for (const cJSON *u = it->child; u && w + 8 < sizeof val; u = u->next, held++)
                w += (size_t)snprintf(val + w, sizeof val - w, "%s%d", held ? "," : "",
                                      u->valueint);
        } else {
            held = (int64_t)it->valuedouble;
            snprintf(val, sizeof val, "%lld", (long long)held);
        }
        snprintf(count, sizeof count, "%lld", (long long)held);
        envp[*k] = env_entry(key, val);
        ok = envp[*k] != NULL;
        if (ok)
            (*k)++;
        if (ok) {
            char ckey[72];
            snprintf(ckey, sizeof ckey, "%s_COUNT", key);
            envp[*k] = env_entry(ckey, count);
            ok = envp[*k] != NULL;
            if (ok)
                (*k)++;
        }
    }
    cJSON_Delete(o);
    return ok;
}

/* The child's environment: the parent's, minus any stale BATCHBOX_JOB_ID /
 * OUTDIR / WORKDIR / RESOURCE_*, plus ours.  Returns a NULL-terminated
 * array (caller frees with free_envp, which frees only the entries it
 * allocated: those from index *ours_at on) or NULL when out of memory. */
static char **build_envp(const exec_ctx *ctx, size_t *ours_at)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **envp = calloc(n + 4 + 2 * BB_MAX_POOLS, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!env_is_ours(environ[i]))
            envp[k++] = environ[i];
    *ours_at = k;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, ctx->job_id);
    envp[k] = env_entry("BATCHBOX_JOB_ID", id);
    if (!envp[k])
        goto oom;
    k++;
    if (ctx->outdir) {
        envp[k] = env_entry("BATCHBOX_OUTDIR", ctx->outdir);
        if (!envp[k])
            goto oom;
        k++;
    }
    if (ctx->workdir) {
        envp[k] = env_entry("BATCHBOX_WORKDIR", ctx->workdir);
        if (!envp[k])
            goto oom;
        k++;
    }
    if (ctx->job && !resource_env(ctx->job->resources, envp, &k))
        goto oom;
    envp[k] = NULL;
    return envp;
oom:
    for (size_t i = *ours_at; i < k; i++)
        free(envp[i]);
    free(envp);
    return NULL;
}

static void free_envp(char **envp, size_t ours_at)
{
    if (!envp)
        return;
    for (size_t i = ours_at; envp[i]; i++)
        free(envp[i]);
    free(envp);
}

static void free_argv(char **argv, size_t argc)
{
    if (!argv)
        return;
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* Starts the program.  Returns the pid, or -1 with ctx->error and
 * ctx->retryable set.  rd[0]/rd[1] receive the stdout/stderr read ends. */
static pid_t spawn(exec_ctx *ctx, char **argv, char **envp, int rd[2])
{
    int out[2], errp[2];
    char eb[128];
    pid_t pid = -1;

    if (exec_pipe_high(out) != 0) {
        int e = errno;
        snprintf(ctx->error, sizeof ctx->error, "cannot create pipe: %s",
                 errstr(e, eb, sizeof eb));
        ctx->retryable = true;
        return -1;
    }
    if (exec_pipe_high(errp) != 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        snprintf(ctx->error, sizeof ctx->error, "cannot create pipe: %s",
                 errstr(e, eb, sizeof eb));
        ctx->retryable = true;
        return -1;
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    bool fa_ok = false, at_ok = false;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) {
        fa_ok = true;
        rc = posix_spawnattr_init(&at);
    }
    if (rc == 0) {
        at_ok = true;
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
                                              0);
    }
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* Nothing but 0..2 survives: no server sockets or database files. */
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (rc == 0 && ctx->workdir)
        rc = posix_spawn_file_actions_addchdir_np(&fa, ctx->workdir);

    sigset_t empty, defaults;
    if (rc == 0) {
        sigemptyset(&empty);
        sigemptyset(&defaults);
        static const int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGCHLD,
                                   SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaddset(&defaults, sigs[i]);
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    }
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&at, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &empty);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &defaults);
    if (rc != 0) {
        snprintf(ctx->error, sizeof ctx->error, "cannot prepare spawn: %s",
                 errstr(rc, eb, sizeof eb));
        ctx->retryable = transient_errno(rc);
    } else {
        /* glibc spawns with CLONE_VFORK, so exec (and file-action)
         * failures come back here as the return value. */
        rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
        if (rc != 0) {
            pid = -1;
            snprintf(ctx->error, sizeof ctx->error, "cannot run \"%.200s\": %s",
                     argv[0], errstr(rc, eb, sizeof eb));
            ctx->retryable = transient_errno(rc);
        }
    }
    if (at_ok)
        posix_spawnattr_destroy(&at);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);

    close(out[1]);
    close(errp[1]);
    if (pid < 0) {
        close(out[0]);
        close(errp[0]);
        return -1;
    }
    rd[0] = out[0];
    rd[1] = errp[0];
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(rd[i], F_GETFL);
        /* Failure here only means reads may block briefly; poll() still
         * says when data is there, so carry on. */
        if (fl >= 0)
            (void)fcntl(rd[i], F_SETFL, fl | O_NONBLOCK);
    }
    return pid;
}

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_TIMEOUT };

/* Observes the child's exit without reaping it (the zombie keeps the
 * pgid reserved).  Returns 1 when it has exited, 0 when not yet, -1 when
 * it is already gone (reaped elsewhere, e.g. SIGCHLD set to SIG_IGN). */
static int child_exited(pid_t pid)
{
    for (int tries = 0; tries < 100; tries++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid == pid ? 1 : 0;
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

static int reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r == pid)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static const char *signame(int sig, char *buf, size_t n)
{
    const char *abbr = sigabbrev_np(sig);
    if (abbr)
        snprintf(buf, n, "SIG%s", abbr);
    else
        snprintf(buf, n, "%d", sig);
    return buf;
}

/* Exit, output and cancel handling — see exec.h for the contract.
 *
 * Progress convention: a stdout line that is exactly
 * "BATCHBOX_PROGRESS <number>" (number: [+-]?digits[.digits], e.g. 0.42)
 * calls ctx->progress (when non-NULL) with the number clamped to 0..1; the
 * line is still passed to log_line like any other.
 *
 * After the main child exits, the pipes are read until EOF, but for at most
 * DRAIN_MS: a grandchild that inherited stdout/stderr could hold them open
 * forever.  When the command ends — for any reason — whatever is left in its
 * process group (background grandchildren, holders of the pipes) gets
 * SIGKILL, so a finished job leaves no processes behind. */
enum exec_result exec_command(exec_ctx *ctx)
{
    ctx->error[0] = '\0';
    ctx->retryable = false;
    const bb_preset *pr = ctx->preset;
    if (!pr || !pr->argv || pr->argc < 1 || !pr->argv[0]) {
        snprintf(ctx->error, sizeof ctx->error, "preset has no argv");
        return EXEC_FAILED;
    }
    if (ctx->cancel && atomic_load(ctx->cancel)) {
        snprintf(ctx->error, sizeof ctx->error, "canceled");
        return EXEC_CANCELED;
    }

    /* Expand the argv. */
    char **argv = calloc(pr->argc + 1, sizeof *argv);
    if (!argv) {
        snprintf(ctx->error, sizeof ctx->error, "out of memory");
        ctx->retryable = true;
        return EXEC_FAILED;
    }
    for (size_t i = 0; i < pr->argc; i++) {
        char msg[400];
        argv[i] = pr->argv[i] ? exec_expand_arg(pr->argv[i], ctx, msg,
                                                sizeof msg) : NULL;
        if (!pr->argv[i])
            snprintf(msg, sizeof msg, "is NULL");
        if (!argv[i]) {
            snprintf(ctx->error, sizeof ctx->error, "argv[%zu]: %s", i, msg);
            free_argv(argv, pr->argc);
            return EXEC_FAILED;
        }
    }
    if (argv[0][0] == '\0') {
        snprintf(ctx->error, sizeof ctx->error, "argv[0]: empty program name");
        free_argv(argv, pr->argc);
        return EXEC_FAILED;
    }

    /* A bad workdir would surface from posix_spawnp as if the program were
     * missing; name it properly instead. */
    if (ctx->workdir) {
        struct stat st;
        char eb[128];
        const char *why = NULL;
        if (stat(ctx->workdir, &st) != 0)
            why = errstr(errno, eb, sizeof eb);
        else if (!S_ISDIR(st.st_mode))
            why = "not a directory";
        if (why) {
            snprintf(ctx->error, sizeof ctx->error, "workdir \"%.300s\": %s",
                     ctx->workdir, why);
            free_argv(argv, pr->argc);
            return EXEC_FAILED;
        }
    }

    size_t ours_at = 0;
    char **envp = build_envp(ctx, &ours_at);
    if (!envp) {
        snprintf(ctx->error, sizeof ctx->error, "out of memory");
        ctx->retryable = true;
        free_argv(argv, pr->argc);
        return EXEC_FAILED;
    }

    int rd[2] = {-1, -1};
    pid_t pid = spawn(ctx, argv, envp, rd);
    free_envp(envp, ours_at);
    free_argv(argv, pr->argc);
    if (pid < 0)
        return EXEC_FAILED;
    if (ctx->spawned)
        ctx->spawned(ctx->ud, (int64_t)pid);

    stream ss[2] = {{.name = "stdout", .is_stdout = true, .fd = rd[0]},
                    {.name = "stderr", .fd = rd[1]}};
    int64_t start = mono_ms();
    int64_t deadline = pr->timeout_sec > 0 ?
                       start + (int64_t)pr->timeout_sec * 1000 : 0;
    int64_t grace = ctx->kill_grace_ms > 0 ? ctx->kill_grace_ms
                                           : DEFAULT_GRACE_MS;
    enum stop_reason reason = STOP_NONE;
    int64_t term_at = 0, exited_at = 0;
    bool exited = false, lost = false, killed = false;
    int eof_polls = 0;   /* waits for the exit after both pipes closed */

    for (;;) {
        if (!exited) {
            int x = child_exited(pid);
            if (x != 0) {
                exited = true;
                lost = x < 0;
                exited_at = mono_ms();
            }
        }
        int64_t now = mono_ms();
        bool canceled = ctx->cancel && atomic_load(ctx->cancel);
        if (!exited && reason == STOP_NONE) {
            if (canceled)
                reason = STOP_CANCEL;
            else if (deadline && now >= deadline)
                reason = STOP_TIMEOUT;
            if (reason != STOP_NONE) {
                (void)kill(-pid, SIGTERM);
                term_at = now;
            }
        }
        if (reason != STOP_NONE && !killed && !lost &&
            now - term_at >= grace) {
            (void)kill(-pid, SIGKILL);
            killed = true;
        }
        bool all_eof = ss[0].fd < 0 && ss[1].fd < 0;
        /* Once the main child is gone: stop at EOF, after DRAIN_MS, or when
         * a cancel arrives during the drain (the exit status stands). */
        if (exited && (all_eof || now - exited_at >= DRAIN_MS ||
                       (canceled && reason == STOP_NONE)))
            break;

        /* Wait for output, at most POLL_MS, and less when a deadline is
         * nearer.  With both pipes closed we only wait for the exit, which
         * usually follows within a millisecond: 1, 2, 4, 8, then 10 ms
         * (short commands like espeak-ng per segment are not held up). */
        int64_t wait = all_eof ? (eof_polls < 4 ? (1 << eof_polls) : 10) : POLL_MS;
        if (all_eof)
            eof_polls++;
        if (!exited && reason == STOP_NONE && deadline && deadline - now < wait)
            wait = deadline - now;
        if (reason != STOP_NONE && !killed && term_at + grace - now < wait)
            wait = term_at + grace - now;
        if (exited && exited_at + DRAIN_MS - now < wait)
            wait = exited_at + DRAIN_MS - now;
        if (wait < 0)
            wait = 0;
        struct pollfd pf[2];
        nfds_t np = 0;
        int which[2];
        for (int i = 0; i < 2; i++) {
            if (ss[i].fd >= 0) {
                pf[np].fd = ss[i].fd;
                pf[np].events = POLLIN;
                pf[np].revents = 0;
                which[np] = i;
                np++;
            }
        }
        int pr_rc = poll(np ? pf : NULL, np, (int)wait);
        if (ctx->tick)
            ctx->tick(ctx->ud);
        if (pr_rc < 0)
            continue;   /* EINTR; anything else is re-tried next round */
        for (nfds_t i = 0; i < np; i++)
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
                drain(ctx, &ss[which[i]]);
    }

    /* Whatever is still in the group (pipe holders, background jobs) goes.
     * Safe: the unreaped leader keeps the pgid from being reused. */
    if (!lost)
        (void)kill(-pid, SIGKILL);
    for (int i = 0; i < 2; i++) {
        if (ss[i].fd >= 0) {
            flush_tail(ctx, &ss[i]);
            close(ss[i].fd);
        }
    }
    int status = 0;
    if (!lost && reap(pid, &status) != 0)
        lost = true;

    if (reason == STOP_CANCEL) {
        snprintf(ctx->error, sizeof ctx->error, "canceled");
        return EXEC_CANCELED;
    }
    ctx->retryable = true;
    if (reason == STOP_TIMEOUT) {
        snprintf(ctx->error, sizeof ctx->error, "timed out after %d s",
                 pr->timeout_sec);
        return EXEC_FAILED;
    }
    if (lost) {
        snprintf(ctx->error, sizeof ctx->error, "exit status of pid %ld was "
                 "lost (reaped elsewhere; is SIGCHLD ignored?)", (long)pid);
        return EXEC_FAILED;
    }
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0) {
            ctx->retryable = false;
            return EXEC_OK;
        }
        snprintf(ctx->error, sizeof ctx->error, "exited with status %d",
                 WEXITSTATUS(status));
        return EXEC_FAILED;
    }
    char sb[32];
    snprintf(ctx->error, sizeof ctx->error, "killed by signal %s",
             signame(WIFSIGNALED(status) ? WTERMSIG(status) : 0, sb,
                     sizeof sb));
    return EXEC_FAILED;
}

/* ---- the workflow module ------------------------------------------------ */

static const struct workflow_key command_keys[] = {{"argv", true}, {NULL, false}};
static const char *const command_options[] = {NULL};

const struct workflow workflow_command = {
    .name = "command",
    .id = BB_WF_COMMAND,
    .flags = 0,
    .default_timeout_sec = 600,
    .keys = command_keys,
    .options = command_options,
    .run = exec_command,
    .retryable = workflow_retryable_as_reported,
};

/* ---- process groups left by a previous server ------------------------------ */

int exec_proc_started(int64_t pid, int64_t *started)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so fields
     * are counted after the last ')'; starttime is field 22. */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (!p)
        return -1;
    char *end = NULL;
    long long v = strtoll(p + 1, &end, 10);
    if (end == p + 1 || v < 0)
        return -1;
    *started = (int64_t)v;
    return 0;
}

int exec_boot_id(char *out, size_t cap)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return -1;
    char *got = fgets(out, (int)cap, f);
    fclose(f);
    if (!got)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

int exec_end_orphan_group(int64_t pgid, int64_t started, const char *boot_id)
{
    char now_boot[40];
    if (pgid <= 1 || exec_boot_id(now_boot, sizeof now_boot) != 0 ||
        strcmp(now_boot, boot_id) != 0)
        return 0;   /* another boot: every process of that run is gone */
    int64_t leader_started;
    if (exec_proc_started(pgid, &leader_started) == 0 && leader_started != started)
        return 0;   /* the pid now leads someone else's process */
    return kill(-(pid_t)pgid, SIGKILL) == 0 ? 1 : 0;
}

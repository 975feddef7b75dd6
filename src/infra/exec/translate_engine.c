/* translate_engine.c — tr_engine_translate and its providers (see
 * infra/exec/translate.h and docs/translate.md, "Providers").
 *
 * apertium and command run a child process the way the command workflow
 * does (command.c): posix_spawnp in its own process group, only 0..2
 * inherited, default signal dispositions; the calling worker thread feeds
 * stdin and reads stdout with poll() (<= 50 ms per wait), watches the
 * cancel flag and the provider's timeout, and on either sends SIGTERM to
 * the group and SIGKILL after the grace period.  Exit is observed with
 * waitid(WNOWAIT) so the pgid stays reserved until the group is killed.
 * libretranslate and deepl go through the libcurl client
 * (infra/net/http_client.c).  No state outlives a call; any number of
 * worker threads may translate at once. */
#include "infra/exec/translate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "domain/translate.h"
#include "infra/net/http_client.h"
#include "util/buf.h"
#include "util/clock.h"

#define POLL_MS 50
#define DRAIN_MS 2000      /* pipe reading after the engine exited */
#define OUT_CAP ((size_t)256 << 20)
#define APERTIUM_ESC "[]\\^$/@<>{}"
#define APERTIUM_MODES "/usr/share/apertium/modes"

extern char **environ;

/* ---- helpers ------------------------------------------------------------------ */

static bool canceled(const exec_ctx *ctx)
{
    return ctx->cancel && atomic_load(ctx->cancel);
}

/* Sleeps ms in POLL_MS steps; false when canceled meanwhile. */
static bool nap(const exec_ctx *ctx, long ms)
{
    while (ms > 0) {
        if (canceled(ctx))
            return false;
        long step = ms < POLL_MS ? ms : POLL_MS;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !canceled(ctx);
}

static enum exec_result failed(exec_ctx *ctx, char *err, size_t cap, bool retry,
                               const char *msg)
{
    snprintf(err, cap, "%s", msg);
    ctx->retryable = retry;
    return EXEC_FAILED;
}

/* ---- child processes ----------------------------------------------------------- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts argv with stdin/stdout on pipes (stderr: /dev/null) in its own
 * process group.  pid or -1 with a message. */
static pid_t start_child(exec_ctx *ctx, char *const *argv, int *in_w, int *out_r, char *err,
                         size_t cap)
{
    int in[2], out[2];
    if (exec_pipe_high(in) != 0)
        return snprintf(err, cap, "cannot create a pipe: %s", strerror(errno)), -1;
    if (exec_pipe_high(out) != 0) {
        close(in[0]);
        close(in[1]);
        return snprintf(err, cap, "cannot create a pipe: %s", strerror(errno)), -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0 && (rc = posix_spawnattr_init(&at)) != 0)
        posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return snprintf(err, cap, "cannot prepare the engine: %s", strerror(rc)), -1;
    }
    rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (rc == 0 && ctx->workdir)
        rc = posix_spawn_file_actions_addchdir_np(&fa, ctx->workdir);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    static const int SIGS[] = {SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof SIGS / sizeof SIGS[0]; i++)
        sigaddset(&defaults, SIGS[i]);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&at, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &empty);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &defaults);
    if (rc == 0)
        rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    if (rc != 0) {
        pid = -1;
        snprintf(err, cap, "cannot run \"%.100s\": %s", argv[0], strerror(rc));
    }
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    if (ctx->spawned)
        ctx->spawned(ctx->ud, (int64_t)pid);
    (void)fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    (void)fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    *in_w = in[1];
    *out_r = out[0];
    return pid;
}

static bool exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Ends the group (SIGTERM, SIGKILL after the grace) and reaps the leader. */
static int end_child(const exec_ctx *ctx, pid_t pid, bool force)
{
    if (force) {
        kill(-pid, SIGTERM);
        int64_t until = bb_now_ms() + (ctx->kill_grace_ms > 0 ? ctx->kill_grace_ms : 3000);
        while (!exited(pid) && bb_now_ms() < until) {
            struct timespec ts = {0, POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* Runs argv with input on stdin; its stdout into *out (caller frees).
 * EXEC_OK only when it exits 0. */
static enum exec_result run_filter(exec_ctx *ctx, char *const *argv, const char *input,
                                   size_t len, int timeout_sec, char **out, size_t *out_len,
                                   char *err, size_t cap)
{
    int in_w = -1, out_r = -1;
    pid_t pid = start_child(ctx, argv, &in_w, &out_r, err, cap);
    if (pid < 0) {
        ctx->retryable = false;
        return EXEC_FAILED;
    }
    buf o;
    buf_init(&o, OUT_CAP);
    size_t sent = 0;
    int64_t deadline = bb_now_ms() + (int64_t)timeout_sec * 1000, drain_until = 0;
    enum exec_result res = EXEC_OK;
    if (len == 0)
        close_fd(&in_w);
    while (out_r >= 0) {
        if (canceled(ctx)) {
            res = EXEC_CANCELED;
            break;
        }
        /* a grandchild may hold stdout open after the engine exited: read
         * for at most DRAIN_MS more */
        if (!drain_until && exited(pid))
            drain_until = bb_now_ms() + DRAIN_MS;
        if (drain_until && bb_now_ms() > drain_until)
            break;
        if (bb_now_ms() > deadline) {
            snprintf(err, cap, "the engine took longer than %d s", timeout_sec);
            ctx->retryable = true;
            res = EXEC_FAILED;
            break;
        }
        struct pollfd p[2] = {{out_r, POLLIN, 0}, {in_w, POLLOUT, 0}};
        int np = in_w >= 0 ? 2 : 1;
        if (poll(p, (nfds_t)np, POLL_MS) < 0 && errno != EINTR)
            break;
        if (ctx->tick)
            ctx->tick(ctx->ud);
        if (np == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in_w, input + sent, len - sent);
            if (w > 0)
                sent += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == len)
                close_fd(&in_w);
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char chunk[65536];
            ssize_t r = read(out_r, chunk, sizeof chunk);
            if (r > 0 && buf_append(&o, chunk, (size_t)r) != 0) {
                snprintf(err, cap, "the engine's output is over %zu bytes", OUT_CAP);
                ctx->retryable = false;
                res = EXEC_FAILED;
                break;
            }
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                close_fd(&out_r);
        }
    }
    close_fd(&in_w);
    close_fd(&out_r);
    int status = end_child(ctx, pid, res != EXEC_OK);
    if (res == EXEC_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        snprintf(err, cap, "\"%.100s\" %s %d", argv[0],
                 WIFEXITED(status) ? "exited with status" : "was killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        ctx->retryable = true;
        res = EXEC_FAILED;
    }
    *out_len = o.len;
    *out = res == EXEC_OK ? buf_take(&o) : NULL;
    buf_free(&o);
    if (res == EXEC_OK && !*out)
        return failed(ctx, err, cap, true, "out of memory");
    return res;
}

/* ---- apertium --------------------------------------------------------------- */

static const char *modes_dir(void)
{
    const char *d = getenv("BATCHBOX_APERTIUM_MODES");
    return d && *d ? d : APERTIUM_MODES;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cJSON *tr_apertium_pairs(void)
{
    cJSON *arr = cJSON_CreateArray();
    DIR *d = arr ? opendir(modes_dir()) : NULL;
    if (!d)
        return arr;
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 512) {
        size_t l = strlen(e->d_name);
        if (l > 5 && l < 70 && strcmp(e->d_name + l - 5, ".mode") == 0 &&
            strchr(e->d_name, '-'))
            names[n++] = strndup(e->d_name, l - 5);
        if (n && !names[n - 1])
            n--;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        const char *dash = strchr(names[i], '-');
        char label[160];
        snprintf(label, sizeof label, "%.*s \u2192 %s", (int)(dash - names[i]), names[i],
                 dash + 1);
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "value", names[i]) &&
            cJSON_AddStringToObject(o, "label", label))
            cJSON_AddItemToArray(arr, o);
        else
            cJSON_Delete(o);
        free(names[i]);
    }
    return arr;
}

/* Whether apertium has pair installed. */
static bool apertium_has(const char *pair)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.mode", modes_dir(), pair);
    return access(path, R_OK) == 0;
}

/* One run of apertium over masked texts m[0..n): null-flush mode, each text
 * ended by a NUL, protected runs as superblanks "[@i]". */
static enum exec_result apertium_batch(const bb_translate *cfg, const char *pair,
                                       struct tr_masked *m, size_t n, char **out, exec_ctx *ctx,
                                       char *err, size_t cap)
{
    buf in;
    buf_init(&in, OUT_CAP);
    for (size_t i = 0; i < n; i++) {
        char *r = tr_masked_render(&m[i], "[@", "]", APERTIUM_ESC);
        int rc = r ? buf_puts(&in, r) : -1;
        free(r);
        /* an empty superblank ends each text: without it apertium drops a
         * final full stop right before the NUL */
        if (rc != 0 || buf_append(&in, "[]", 3) != 0) {
            buf_free(&in);
            return failed(ctx, err, cap, false, "the batch is too large for one run");
        }
    }
    char *const argv[] = {"apertium", "-u", "-f", "none", "-z", (char *)pair, NULL};
    char *res = NULL;
    size_t rlen = 0;
    enum exec_result r = run_filter(ctx, argv, in.data, in.len, cfg->timeout_sec, &res, &rlen,
                                    err, cap);
    buf_free(&in);
    if (r != EXEC_OK)
        return r;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (at >= rlen) {
            free(res);
            return failed(ctx, err, cap, true, "apertium returned fewer texts than it got");
        }
        char *piece = res + at;            /* NUL-terminated: the separator */
        size_t pl = strlen(piece);
        at += pl + 1;
        while (pl && (piece[pl - 1] == ' ' || piece[pl - 1] == '\n'))
            pl--;
        if (pl >= 2 && piece[pl - 2] == '[' && piece[pl - 1] == ']')
            piece[pl - 2] = '\0';         /* the closing superblank */
        if (!(out[i] = tr_unmask(&m[i], piece, "[@", "]", APERTIUM_ESC))) {
            free(res);
            return failed(ctx, err, cap, true, "out of memory");
        }
    }
    free(res);
    return EXEC_OK;
}

/* ---- command --------------------------------------------------------------------- */

static enum exec_result command_one(const bb_translate *cfg, struct tr_masked *m, char **out,
                                    exec_ctx *ctx, char *err, size_t cap)
{
    size_t argc = 0;
    while (cfg->command_argv[argc])
        argc++;
    char **argv = calloc(argc + 1, sizeof *argv);
    if (!argv)
        return failed(ctx, err, cap, true, "out of memory");
    enum exec_result r = EXEC_OK;
    for (size_t i = 0; i < argc && r == EXEC_OK; i++) {
        char why[256] = "";
        if (!(argv[i] = exec_expand_arg(cfg->command_argv[i], ctx, why, sizeof why))) {
            snprintf(err, cap, "translate.commandArgv[%zu]: %s", i, why);
            ctx->retryable = false;
            r = EXEC_FAILED;
        }
    }
    char *input = r == EXEC_OK ? tr_masked_render(m, "[[", "]]", NULL) : NULL;
    char *res = NULL;
    size_t rlen = 0;
    if (r == EXEC_OK && !input)
        r = failed(ctx, err, cap, true, "out of memory");
    if (r == EXEC_OK)
        r = run_filter(ctx, argv, input, strlen(input), cfg->timeout_sec, &res, &rlen, err,
                       cap);
    if (r == EXEC_OK) {
        while (rlen && (res[rlen - 1] == '\n' || res[rlen - 1] == '\r'))
            res[--rlen] = '\0';
        if (!(*out = tr_unmask(m, res, "[[", "]]", NULL)))
            r = failed(ctx, err, cap, true, "out of memory");
    }
    free(res);
    free(input);
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    return r;
}

/* ---- HTTP services ------------------------------------------------------------- */

/* ISO 639-3 codes apertium uses, as the two-letter codes the services take. */
static void service_lang(const char *half, size_t len, bool upper, char *out, size_t cap)
{
    static const char *const MAP[][2] = {
        {"eng", "en"}, {"spa", "es"}, {"cat", "ca"}, {"fra", "fr"}, {"deu", "de"},
        {"ita", "it"}, {"por", "pt"}, {"nld", "nl"}, {"pol", "pl"}, {"rus", "ru"},
        {"jpn", "ja"}, {"zho", "zh"}, {"glg", "gl"}, {"eus", "eu"}, {"ron", "ro"},
    };
    snprintf(out, cap, "%.*s", (int)len, half);
    char *us = strchr(out, '_');
    if (us)
        *us = '\0';
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(out, MAP[i][0]) == 0)
            snprintf(out, cap, "%s", MAP[i][1]);
    for (char *p = out; upper && *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* s with & < > escaped outside the tokens (the services read HTML/XML). */
static char *xml_text(const char *s)
{
    buf b;
    buf_init(&b, OUT_CAP);
    int rc = 0;
    for (const char *p = s; *p && rc == 0; p++)
        rc = *p == '&' ? buf_puts(&b, "&amp;") : *p == '<' ? buf_puts(&b, "&lt;")
           : *p == '>' ? buf_puts(&b, "&gt;") : buf_append(&b, p, 1);
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    return r;
}

/* The service's answer text with the basic entities decoded (tokens
 * contain none), ready for tr_unmask. */
static char *xml_untext(const char *s)
{
    static const char *const ENT[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
        {"&apos;", "'"},
    };
    char *r = malloc(strlen(s) + 1), *w = r;
    if (!r)
        return NULL;
    for (const char *p = s; *p;) {
        size_t i = 0;
        for (; i < sizeof ENT / sizeof ENT[0]; i++)
            if (strncmp(p, ENT[i][0], strlen(ENT[i][0])) == 0)
                break;
        if (i < sizeof ENT / sizeof ENT[0]) {
            *w++ = ENT[i][1][0];
            p += strlen(ENT[i][0]);
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return r;
}

/* Replaces each occurrence of key in s with "***" (in place). */
static void redact(char *s, const char *key)
{
    size_t kl = key ? strlen(key) : 0;
    if (kl < 4)
        return;
    for (char *p = strstr(s, key); p; p = strstr(p + 3, key)) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + kl, strlen(p + kl) + 1);
    }
}

/* The key of cfg from the start-up secrets or the environment; NULL when
 * unset. */
static const char *service_key(const bb_translate *cfg, const exec_ctx *ctx)
{
    const char *k = exec_secret(ctx, cfg->key_env);
    if (!k)
        k = getenv(cfg->key_env);
    return k && *k ? k : NULL;
}

/* POSTs body to url with headers, retrying 429 (after Retry-After) and 5xx
 * and network failures with backoff; *resp holds the final 2xx answer. */
static enum exec_result post_json(const bb_translate *cfg, exec_ctx *ctx, const char *url,
                                  const char *const *headers, const char *body,
                                  const char *key, struct http_response *resp, char *err,
                                  size_t cap)
{
    long backoff = cfg->retry_base_ms;
    for (int attempt = 1;; attempt++) {
        struct http_request req = {
            .method = "POST", .url = url, .headers = headers, .body = body,
            .body_len = strlen(body), .connect_timeout_ms = 10000,
            .timeout_ms = (long)cfg->timeout_sec * 1000, .max_body = 64 << 20,
            .cancel_flag = ctx->cancel,
        };
        char why[256] = "";
        enum http_result hr = http_client_perform(&req, resp, why, sizeof why);
        if (hr == HTTP_RES_CANCELED || canceled(ctx))
            return EXEC_CANCELED;
        bool retry = hr == HTTP_RES_CONNECT || hr == HTTP_RES_TIMEOUT || hr == HTTP_RES_FAILED;
        long wait = backoff;
        if (hr == HTTP_RES_OK) {
            if (resp->status >= 200 && resp->status < 300)
                return EXEC_OK;
            retry = resp->status == 429 || resp->status >= 500;
            long ra = resp->status == 429 ? http_response_retry_after_ms(resp) : -1;
            if (ra >= 0)
                wait = ra;
            char line[200];
            http_response_error_line(resp, NULL, line, sizeof line);
            snprintf(why, sizeof why, "HTTP %ld: %s", resp->status, line);
        }
        redact(why, key);
        if (wait > cfg->retry_max_ms)
            wait = cfg->retry_max_ms;
        if (!retry || attempt >= cfg->max_attempts) {
            snprintf(err, cap, "%s: %s%s", cfg->provider, why,
                     retry ? " (gave up after retries)" : "");
            ctx->retryable = retry;
            return EXEC_FAILED;
        }
        exec_logf(ctx, "translate", "%s: %s; retrying in %ld ms (try %d of %d)", cfg->provider,
                  why, wait, attempt + 1, cfg->max_attempts);
        http_response_free(resp);
        if (!nap(ctx, wait))
            return EXEC_CANCELED;
        backoff = backoff * 2 > cfg->retry_max_ms ? cfg->retry_max_ms : backoff * 2;
    }
}

/* One request to LibreTranslate or DeepL for texts m[0..n). */
static enum exec_result http_batch(const bb_translate *cfg, const char *pair,
                                   struct tr_masked *m, size_t n, char **out, exec_ctx *ctx,
                                   char *err, size_t cap)
{
    bool deepl = strcmp(cfg->provider, "deepl") == 0;
    const char *key = service_key(cfg, ctx);
    if (deepl && !key) {
        snprintf(err, cap, "deepl: the environment variable %s (the API key) is not set",
                 cfg->key_env);
        ctx->retryable = false;
        return EXEC_FAILED;
    }
    const char *dash = strchr(pair, '-');
    char sl[16], tl[16];
    service_lang(pair, (size_t)(dash - pair), deepl, sl, sizeof sl);
    service_lang(dash + 1, strlen(dash + 1), deepl, tl, sizeof tl);
    cJSON *body = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    bool ok = body && arr;
    for (size_t i = 0; ok && i < n; i++) {
        char *esc = xml_text(m[i].text);
        struct tr_masked view = {esc, m[i].runs, m[i].nruns};
        char *r = esc ? tr_masked_render(&view, "<x id=\"", "\"/>", NULL) : NULL;
        cJSON *s = r ? cJSON_CreateString(r) : NULL;
        free(esc);
        free(r);
        ok = s != NULL;
        if (ok)
            cJSON_AddItemToArray(arr, s);
    }
    if (ok) {
        cJSON_AddItemToObject(body, deepl ? "text" : "q", arr);
        arr = NULL;
        ok = cJSON_AddStringToObject(body, deepl ? "source_lang" : "source", sl) &&
             cJSON_AddStringToObject(body, deepl ? "target_lang" : "target", tl);
        if (deepl)
            ok = ok && cJSON_AddStringToObject(body, "tag_handling", "xml") &&
                 cJSON_AddItemToObject(body, "ignore_tags",
                                       cJSON_CreateStringArray((const char *[]){"x"}, 1));
        else
            ok = ok && cJSON_AddStringToObject(body, "format", "html") &&
                 (!key || cJSON_AddStringToObject(body, "api_key", key));
    }
    char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    cJSON_Delete(arr);
    if (!text)
        return failed(ctx, err, cap, true, "out of memory");
    char url[1024], auth[600];
    size_t bl = strlen(cfg->base_url);
    while (bl && cfg->base_url[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s%s", (int)bl, cfg->base_url,
             deepl ? "/v2/translate" : "/translate");
    snprintf(auth, sizeof auth, "Authorization: DeepL-Auth-Key %s", key ? key : "");
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             deepl ? auth : NULL, NULL};
    struct http_response resp = {0};
    enum exec_result r = post_json(cfg, ctx, url, headers, text, key, &resp, err, cap);
    memset(auth, 0, sizeof auth);
    free(text);
    if (r != EXEC_OK) {
        http_response_free(&resp);
        return r;
    }
    cJSON *ans = cJSON_Parse(resp.body);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ans, deepl ? "translations"
                                                                     : "translatedText");
    size_t got = (size_t)cJSON_GetArraySize(list);
    r = cJSON_IsArray(list) && got == n ? EXEC_OK : EXEC_FAILED;
    if (r != EXEC_OK) {
        snprintf(err, cap, "%s: the answer has no list of %zu translations", cfg->provider, n);
        ctx->retryable = true;
    }
    size_t i = 0;
    for (const cJSON *e = list ? list->child : NULL; r == EXEC_OK && e; e = e->next, i++) {
        const cJSON *t = deepl ? cJSON_GetObjectItemCaseSensitive(e, "text") : e;
        char *plain = cJSON_IsString(t) ? xml_untext(t->valuestring) : NULL;
        out[i] = plain ? tr_unmask(&m[i], plain, "<x id=\"", "\"/>", NULL) : NULL;
        free(plain);
        if (!out[i]) {
            snprintf(err, cap, "%s: translation %zu is not a string", cfg->provider, i + 1);
            ctx->retryable = true;
            r = EXEC_FAILED;
        }
    }
    cJSON_Delete(ans);
    http_response_free(&resp);
    return r;
}

/* ---- the one call ------------------------------------------------------------------ */

enum exec_result tr_engine_translate(const bb_translate *cfg, const char *pair,
                                     const char *const *texts, size_t n, char **out,
                                     exec_ctx *ctx, char *err, size_t cap)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (!cfg || !pair || !strchr(pair, '-'))
        return failed(ctx, err, cap, false, "no language pair (\"eng-spa\")");
    bool apertium = strcmp(cfg->provider, "apertium") == 0;
    bool command = strcmp(cfg->provider, "command") == 0;
    if (apertium && !apertium_has(pair)) {
        snprintf(err, cap, "apertium has no pair \"%.64s\" installed (see %s)", pair,
                 modes_dir());
        ctx->retryable = false;
        return EXEC_FAILED;
    }
    struct tr_masked *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        return failed(ctx, err, cap, true, "out of memory");
    enum exec_result r = EXEC_OK;
    for (size_t i = 0; i < n && r == EXEC_OK; i++)
        if (tr_mask(texts[i], NULL, 0, &m[i]) != 0)
            r = failed(ctx, err, cap, true, "out of memory");
    size_t batch = command ? 1 : (size_t)cfg->batch_size;
    for (size_t at = 0; at < n && r == EXEC_OK;) {
        size_t k = 0, chars = 0;
        while (at + k < n && k < batch && (k == 0 || chars + strlen(m[at + k].text) <=
                                                          (size_t)cfg->max_chars))
            chars += strlen(m[at + k++].text);
        if (canceled(ctx)) {
            r = EXEC_CANCELED;
            break;
        }
        if (apertium)
            r = apertium_batch(cfg, pair, m + at, k, out + at, ctx, err, cap);
        else if (command)
            r = command_one(cfg, m + at, out + at, ctx, err, cap);
        else
            r = http_batch(cfg, pair, m + at, k, out + at, ctx, err, cap);
        at += k;
        if (ctx->progress)
            ctx->progress(ctx->ud, (double)at / (double)n);
    }
    for (size_t i = 0; i < n; i++)
        tr_masked_free(&m[i]);
    free(m);
    if (r != EXEC_OK)
        for (size_t i = 0; i < n; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return r;
}

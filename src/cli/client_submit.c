/* client_submit.c — `batchbox submit`: uploads FILE, submits the job and,
 * with --wait, follows it to the end over the event stream (a helper
 * thread reads the job once the stream is connected; see client.h).  A
 * folder FILE or --sweep makes a batch (docs/batches.md). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/client.h"
#include "cli/verbs.h"
#include "util/util.h"

#define MAX_CLI_UPLOAD (256 * 1024 * 1024) /* bytes submit reads into memory */

/* Turns the FILE argument into the job's "md" value.  By default FILE is
 * read here and uploaded (POST /uploads?filename=NAME, the server sniffs
 * its type), so it may live anywhere on this machine and the server may be
 * remote; md is then the upload's id ("upl_7").  With --server-path, FILE
 * is sent as written: a path the server resolves inside its inputRoot.
 * On success *md_out is malloc'd (caller frees); else returns the exit
 * code (message printed). */
static int resolve_input(struct ctx *c, const char *file, bool server_path, char **md_out)
{
    if (server_path) {
        if (!(*md_out = strdup(file))) {
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
        return CLI_EXIT_OK;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        errorf(c, "%s: %s", file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        errorf(c, "%s: not a regular file", file);
        return CLI_EXIT_USAGE;
    }
    size_t len = 0;
    char *data = bb_read_file(file, MAX_CLI_UPLOAD, &len);
    if (!data) {
        if (errno == EFBIG)
            errorf(c, "%s: larger than %d MiB; upload it with curl (POST /api/v1/uploads)",
                   file, MAX_CLI_UPLOAD >> 20);
        else
            errorf(c, "%s: %s", file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *name = http_client_escape(base);
    char *path = NULL, *url = NULL;
    int code = CLI_EXIT_FAILED;
    if (name && asprintf(&path, "/uploads?filename=%s", name) >= 0)
        url = cl_api_url(c, path);
    if (!url) {
        errorf(c, "out of memory");
    } else {
        struct cl_req o = {.content_type = bb_content_type_for(base), .body_len = len,
                             .timeout_ms = 600000};
        cJSON *answer = len ? cl_api_json(c, "POST", url, data, &o, &code, NULL) : NULL;
        const char *id = answer ? cl_jstr(answer, "fileId") : NULL;
        if (!len) {
            errorf(c, "%s: the file is empty", file);
            code = CLI_EXIT_USAGE;
        } else if (answer && !id) {
            errorf(c, "unexpected answer from the server: no fileId");
            code = CLI_EXIT_FAILED;
        } else if (id && !(*md_out = strdup(id))) {
            errorf(c, "out of memory");
            code = CLI_EXIT_FAILED;
        } else if (id) {
            if (!c->json)
                printf("uploaded %s as %s (%zu bytes)\n", base, id, len);
            code = CLI_EXIT_OK;
        }
        cJSON_Delete(answer);
    }
    free(data);
    free(name);
    free(path);
    free(url);
    return code;
}

/* The preset `submit FILE` uses without --preset: the first lesson preset
 * of the server's job options.  malloc'd id, or NULL (message printed). */
static char *default_lesson_preset(struct ctx *c, int *code)
{
    char *url = cl_api_url(c, "/config/job-options");
    cJSON *opts = url ? cl_api_json(c, "GET", url, NULL, NULL, code, NULL) : NULL;
    free(url);
    char *id = NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(opts, "presets")) {
        const char *wf = cl_jstr(p, "workflow"), *pid = cl_jstr(p, "id");
        if (wf && pid && strcmp(wf, "lesson") == 0) {
            id = strdup(pid);
            break;
        }
    }
    if (opts && !id) {
        usage_error(c, "--preset is required (the server has no lesson preset)");
        *code = CLI_EXIT_USAGE;
    }
    cJSON_Delete(opts);
    return id;
}

/* State of `submit --wait` (one job). */
struct waiter {
    struct ctx *c;
    char job_id[32];
    pthread_mutex_t mu;      /* guards final and the printing state */
    cJSON *final;            /* terminal DTO (owned) */
    bool checker_running;    /* main thread only */
    pthread_t checker;
    /* What was printed last. */
    char last_updated[40];   /* updatedAt of the newest DTO shown */
    char last_state[32];
    int last_attempts;
    int last_pct;
};

/* Keeps dto as the final one unless one is already known; takes
 * ownership of dto. */
static void waiter_offer_final(struct waiter *w, cJSON *dto)
{
    pthread_mutex_lock(&w->mu);
    if (!w->final) {
        w->final = dto;
        dto = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    cJSON_Delete(dto);
}

/* Prints the job's state or progress when it changed (text mode).  While
 * the checker thread may run, the caller holds w->mu. */
static void waiter_show(struct waiter *w, const cJSON *dto)
{
    const char *state = cl_jstr(dto, "state");
    const char *updated = cl_jstr(dto, "updatedAt");
    int attempts = cl_jint(dto, "attempts", 0);
    int max_attempts = cl_jint(dto, "maxAttempts", 0);
    int pct = cl_jpercent(dto);
    bool running;

    if (w->c->json || !state)
        return;
    /* The checker's snapshot may be older than an event already shown
     * (same-format ISO-8601 UTC times compare as strings). */
    if (updated && strcmp(updated, w->last_updated) < 0)
        return;
    if (updated)
        snprintf(w->last_updated, sizeof w->last_updated, "%s", updated);
    running = strcmp(state, "running") == 0;
    if (strcmp(state, w->last_state) != 0 || attempts != w->last_attempts) {
        printf("job %s: ", w->job_id);
        cl_put_clean(stdout, state);
        if (running && max_attempts > 1)
            printf(" (attempt %d of %d)", attempts, max_attempts);
        if (running && pct > 0)
            printf(" %d%%", pct);
        fputc('\n', stdout);
    } else if (running && pct >= 0 && pct != w->last_pct) {
        printf("job %s: running %d%%\n", w->job_id, pct);
    }
    fflush(stdout);
    snprintf(w->last_state, sizeof w->last_state, "%s", state);
    w->last_attempts = attempts;
    w->last_pct = pct;
}

/* Prints the outcome of a finished job; returns the exit code. */
static int waiter_finish(struct waiter *w, const cJSON *dto)
{
    const char *state = cl_jstr(dto, "state");
    const char *error = cl_jstr(dto, "error");

    if (w->c->json)
        cl_print_json(dto);
    else
        waiter_show(w, dto);
    if (!w->c->json && cl_jstr(dto, "kind") && strcmp(cl_jstr(dto, "kind"), "batch") == 0) {
        /* a finished batch: where its gallery is (docs/batches.md) */
        fputs("gallery: ", stdout);
        cl_put_clean(stdout, w->c->server);
        printf("/#/batches/%s\n", w->job_id);
        fflush(stdout);
    }
    if (state && strcmp(state, "succeeded") == 0) {
        /* a finished lesson: where to open it */
        const char *page = cl_jstr(dto, "pageUrl"), *notion = cl_jstr(dto, "notionUrl");
        if (!w->c->json && page && page[0] == '/') {
            fputs("lesson page: ", stdout);
            cl_put_clean(stdout, w->c->server);
            cl_put_clean(stdout, page);
            fputc('\n', stdout);
        }
        if (!w->c->json && notion) {
            fputs("notion page: ", stdout);
            cl_put_clean(stdout, notion);
            fputc('\n', stdout);
        }
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "batchbox %s: job %s ", w->c->call->name, w->job_id);
    cl_put_clean(stderr, state ? state : "ended");
    if (error) {
        fputs(": ", stderr);
        cl_put_clean(stderr, error);
    }
    fputc('\n', stderr);
    return CLI_EXIT_FAILED;
}


/* Helper thread: looks at the job once the stream is connected, to catch
 * a job that finished before the subscription started. */
static void *checker_main(void *arg)
{
    struct waiter *w = arg;
    struct http_response resp;
    char err[512];
    char *url = cl_api_url(w->c, "/jobs/%s", w->job_id);
    struct cl_req o = {.timeout_ms = CHECK_TIMEOUT_MS};

    if (!url)
        return NULL;
    if (cl_api_do(w->c, "GET", url, NULL, &o, &resp, err, sizeof err) ==
            HTTP_RES_OK &&
        resp.status == 200) {
        cJSON *dto = cJSON_ParseWithLength(resp.body, resp.body_len);
        if (cl_state_terminal(cl_jstr(dto, "state"))) {
            waiter_offer_final(w, dto);
            atomic_store(&cl_cancel, 1); /* end the stream */
        } else {
            /* Shows a change the stream did not report (e.g. it happened
             * while reconnecting without a Last-Event-ID). */
            pthread_mutex_lock(&w->mu);
            waiter_show(w, dto);
            pthread_mutex_unlock(&w->mu);
            cJSON_Delete(dto);
        }
    }
    /* Failures are not fatal: the stream still reports the outcome. */
    http_response_free(&resp);
    free(url);
    return NULL;
}

static void wait_on_connect(struct cl_stream *s)
{
    struct waiter *w = s->owner;

    if (w->checker_running)
        return;
    if (pthread_create(&w->checker, NULL, checker_main, w) == 0)
        w->checker_running = true;
}

static int wait_on_event(struct cl_stream *s, const struct sse_event *ev)
{
    struct waiter *w = s->owner;
    char idbuf[32];
    cJSON *dto;
    const char *jid;

    if (strcmp(ev->type, "job_log") == 0)
        return 0;
    dto = cJSON_ParseWithLength(ev->data, ev->data_len);
    jid = cl_jtext(dto, "jobId", idbuf, sizeof idbuf);
    if (!jid || strcmp(jid, w->job_id) != 0) {
        cJSON_Delete(dto);
        return 0;
    }
    if (cl_state_terminal(cl_jstr(dto, "state"))) {
        waiter_offer_final(w, dto);
        return 1; /* end this connection; wait_after() finishes */
    }
    pthread_mutex_lock(&w->mu);
    waiter_show(w, dto);
    pthread_mutex_unlock(&w->mu);
    cJSON_Delete(dto);
    return 0;
}

static void wait_after(struct cl_stream *s)
{
    struct waiter *w = s->owner;
    cJSON *final;

    if (w->checker_running) {
        (void)pthread_join(w->checker, NULL);
        w->checker_running = false;
    }
    pthread_mutex_lock(&w->mu);
    final = w->final;
    w->final = NULL;
    pthread_mutex_unlock(&w->mu);
    if (final) {
        s->stop_code = waiter_finish(w, final);
        cJSON_Delete(final);
    }
}

/* Follows job_id until it is terminal: GET it, then stream its events
 * (re-checking it with GET after every (re)connection).  Returns 0 if the
 * job succeeded, 1 if it failed or was canceled (or on interruption). */
static int wait_for_job(struct ctx *c, const char *job_id)
{
    struct waiter w;
    struct cl_stream s;
    struct cl_sigsave sig;
    char query[64];
    int code;
    cJSON *dto;

    memset(&w, 0, sizeof w);
    w.c = c;
    w.last_attempts = -1;
    w.last_pct = -1;
    snprintf(w.job_id, sizeof w.job_id, "%s", job_id);
    if (pthread_mutex_init(&w.mu, NULL) != 0) {
        errorf(c, "cannot create a mutex");
        return CLI_EXIT_FAILED;
    }

    dto = cl_fetch_job(c, job_id, 0, &code);
    if (!dto) {
        pthread_mutex_destroy(&w.mu);
        return code;
    }
    if (cl_state_terminal(cl_jstr(dto, "state"))) {
        code = waiter_finish(&w, dto);
        cJSON_Delete(dto);
        pthread_mutex_destroy(&w.mu);
        return code;
    }
    waiter_show(&w, dto);
    cJSON_Delete(dto);

    memset(&s, 0, sizeof s);
    s.c = c;
    s.owner = &w;
    s.on_event = wait_on_event;
    s.on_connect = wait_on_connect;
    s.after = wait_after;
    s.signal_code = CLI_EXIT_FAILED;
    s.must_connect_first = false;
    sse_parser_init(&s.parser, SSE_MAX_LINE, SSE_MAX_DATA, &s);
    snprintf(query, sizeof query, "?jobId=%s", job_id);

    cl_signals_catch(&sig);
    code = cl_run_stream(&s, query);
    cl_signals_restore(&sig);
    if (cl_signaled && s.stop_code < 0)
        errorf(c, "interrupted; job %s keeps running on the server", job_id);

    sse_parser_free(&s.parser);
    cJSON_Delete(w.final);
    pthread_mutex_destroy(&w.mu);
    return code;
}

/* Request fields that come straight from an option: a flag sets true, an
 * option with a value copies it. */
static const struct {
    const char *opt, *field;
    bool flag;
} submit_fields[] = {
    {"tts", "withTts", true},         {"force-tts", "forceTts", true},
    {"upload", "upload", false},      {"voice-accent", "voiceAccent", false},
    {"mode", "mode", false},          {"notion-db", "notionDatabase", false},
};

/* Checks --priority, --param and --idempotency-key; fills *priority and
 * params.  0, or the exit code (message printed). */
static int submit_check(const struct cli_call *a, struct ctx *c,
                        long long *priority, cJSON *params)
{
    const char *prio = cli_str(a, "priority");
    const char *idem = cli_str(a, "idempotency-key");
    const char *val;
    int it = 0;

    if (prio) {
        char *end;
        errno = 0;
        *priority = strtoll(prio, &end, 10);
        if (errno || end == prio || *end || *priority < INT_MIN ||
            *priority > INT_MAX)
            return usage_error(c, "--priority: '%s' is not an integer", prio);
    }
    while ((val = cli_next(a, "param", &it)) != NULL) {
        const char *eq = strchr(val, '=');
        char name[128];
        if (!eq || eq == val || (size_t)(eq - val) >= sizeof name)
            return usage_error(c, "--param: expected NAME=VALUE, got '%s'",
                               val);
        snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
        if (cJSON_GetObjectItemCaseSensitive(params, name))
            return usage_error(c, "--param: '%s' given twice", name);
        if (!cJSON_AddStringToObject(params, name, eq + 1)) {
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
    }
    if (idem) {
        size_t n = strlen(idem);
        bool ok = n > 0 && n <= MAX_IDEM_KEY_LEN;
        for (size_t q = 0; ok && q < n; q++)
            ok = (unsigned char)idem[q] > 0x20 && (unsigned char)idem[q] < 0x7f;
        if (!ok)
            return usage_error(c, "--idempotency-key: 1 to %u printable "
                                  "characters without spaces",
                               MAX_IDEM_KEY_LEN);
    }
    return 0;
}

/* ---- sweeps (docs/batches.md) ------------------------------------------- */

#define MAX_SWEEP_FILE (4 * 1024 * 1024) /* bytes of an @FILE list of values */

/* A whole number of a seed spec ("count:4"); false if v is none. */
static bool spec_number(const char *v, size_t len, double *out)
{
    char num[32];
    if (len == 0 || len >= sizeof num)
        return false;
    memcpy(num, v, len);
    num[len] = '\0';
    char *end;
    errno = 0;
    long long n = strtoll(num, &end, 10);
    if (errno || *end || n < 0)
        return false;
    *out = (double)n;
    return true;
}

/* The value of one --sweep NAME=SPEC (caller frees): {"count": N} or
 * {"start": S, "count": N} for "count:N" / "start:S,count:N"; the lines of
 * FILE for "@FILE"; else the comma-separated values.  NULL with a message
 * printed (*code set). */
static cJSON *sweep_spec(struct ctx *c, const char *name, const char *spec, int *code)
{
    *code = CLI_EXIT_USAGE;
    if (strncmp(spec, "count:", 6) == 0 || strncmp(spec, "start:", 6) == 0) {
        cJSON *o = cJSON_CreateObject();
        const char *p = spec;
        while (o && *p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            double v;
            const char *key = strncmp(p, "count:", 6) == 0   ? "count"
                              : strncmp(p, "start:", 6) == 0 ? "start"
                                                             : NULL;
            if (!key || cJSON_GetObjectItemCaseSensitive(o, key) ||
                !spec_number(p + 6, len - 6, &v)) {
                usage_error(c, "--sweep %s: expected count:N or start:S,count:N, got '%s'",
                            name, spec);
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddNumberToObject(o, key, v);
            p += len + (comma ? 1 : 0);
        }
        if (o && !cJSON_GetObjectItemCaseSensitive(o, "count")) {
            usage_error(c, "--sweep %s: count:N is required, got '%s'", name, spec);
            cJSON_Delete(o);
            return NULL;
        }
        return o;
    }
    cJSON *arr = cJSON_CreateArray();
    char *text = NULL;
    size_t len = 0;
    if (spec[0] == '@') {
        if (!(text = bb_read_file(spec + 1, MAX_SWEEP_FILE, &len))) {
            errorf(c, "--sweep %s: %s: %s", name, spec + 1, strerror(errno));
            cJSON_Delete(arr);
            return NULL;
        }
    } else if (!(text = strdup(spec))) {
        errorf(c, "out of memory");
        *code = CLI_EXIT_FAILED;
        cJSON_Delete(arr);
        return NULL;
    }
    const char *sep = spec[0] == '@' ? "\n" : ",";
    char *save = NULL;
    for (char *tok = strtok_r(text, sep, &save); arr && tok; tok = strtok_r(NULL, sep, &save)) {
        size_t n = strlen(tok);
        if (n && tok[n - 1] == '\r')
            tok[--n] = '\0';
        if (n && !cJSON_AddItemToArray(arr, cJSON_CreateString(tok))) {
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    free(text);
    if (arr && cJSON_GetArraySize(arr) == 0) {
        usage_error(c, "--sweep %s: no values in '%s'", name, spec);
        cJSON_Delete(arr);
        return NULL;
    }
    if (!arr) {
        errorf(c, "out of memory");
        *code = CLI_EXIT_FAILED;
    }
    return arr;
}

/* The request's sweep from the --sweep options and, when FILE is a
 * folder, the folder sweep of md.  *sweep stays NULL without either.
 * 0, or the exit code (message printed). */
static int build_sweep(const struct cli_call *a, struct ctx *c, const char *dir, cJSON **sweep)
{
    const char *val;
    int it = 0, code = 0;
    *sweep = NULL;
    if (!dir && (cli_flag(a, "glob") || cli_flag(a, "recursive")))
        return usage_error(c, "--glob and --recursive need a folder as FILE");
    if (!dir && !cli_next(a, "sweep", &it))
        return 0;
    it = 0;
    if (!(*sweep = cJSON_CreateObject())) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    while ((val = cli_next(a, "sweep", &it)) != NULL) {
        const char *eq = strchr(val, '=');
        char name[72];
        if (!eq || eq == val || (size_t)(eq - val) >= sizeof name)
            return usage_error(c, "--sweep: expected NAME=VALUES, got '%s'", val);
        snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
        if (cJSON_GetObjectItemCaseSensitive(*sweep, name) || (dir && !strcmp(name, "md")))
            return usage_error(c, "--sweep: '%s' given twice", name);
        cJSON *v = sweep_spec(c, name, eq + 1, &code);
        if (!v)
            return code;
        cJSON_AddItemToObject(*sweep, name, v);
    }
    if (dir) {
        cJSON *md = cJSON_AddObjectToObject(*sweep, "md");
        if (!md || !cJSON_AddStringToObject(md, "dir", dir) ||
            (cli_str(a, "glob") && !cJSON_AddStringToObject(md, "glob", cli_str(a, "glob"))) ||
            (cli_flag(a, "recursive") && !cJSON_AddTrueToObject(md, "recursive"))) {
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
    }
    return 0;
}

/* The folder FILE names, for a folder sweep: a local folder by its real
 * path (the server must see the same path inside its inputRoot), or a
 * FILE ending in '/' as written (a folder of the server's inputRoot).
 * NULL when FILE is no folder; *code set on failure. */
static char *folder_arg(struct ctx *c, const char *file, int *code)
{
    struct stat st;
    size_t n = file ? strlen(file) : 0;
    *code = 0;
    if (!n)
        return NULL;
    if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *real = realpath(file, NULL);
        if (!real) {
            errorf(c, "%s: %s", file, strerror(errno));
            *code = CLI_EXIT_USAGE;
        }
        return real;
    }
    if (file[n - 1] != '/')
        return NULL;
    char *dir = strndup(file, n > 1 ? n - 1 : n);
    if (!dir) {
        errorf(c, "out of memory");
        *code = CLI_EXIT_FAILED;
    }
    return dir;
}

/* Prints the batch the server created: "submitted batch ID (N jobs)". */
static void print_batch(const cJSON *answer, const char *job_id)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(answer, "batch");
    int n = cl_jint(b, "total", 0);
    printf("submitted batch %s (%d job%s)\n", job_id, n, n == 1 ? "" : "s");
}

int cl_submit(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *file = cli_pos(a, 0), *preset = cli_str(a, "preset");
    char *preset_owned = NULL;
    long long priority = 0;
    cJSON *params = cJSON_CreateObject(), *body = NULL, *answer = NULL, *sweep = NULL;
    char *md = NULL, *json = NULL, *url = NULL, *dir = NULL;
    int code = CLI_EXIT_USAGE;

    if (!params) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    if ((code = submit_check(a, c, &priority, params)) != 0)
        goto out;
    if ((preset && !*preset) || (!preset && !file)) {
        code = usage_error(c, "--preset is required");
        goto out;
    }
    if (!preset && !(preset = preset_owned = default_lesson_preset(c, &code)))
        goto out;
    dir = folder_arg(c, file, &code);
    if (code != 0 || (code = build_sweep(a, c, dir, &sweep)) != 0)
        goto out;
    if (file && !dir && (code = resolve_input(c, file, cli_flag(a, "server-path"), &md)) != 0)
        goto out;

    code = CLI_EXIT_FAILED;
    body = cJSON_CreateObject();
    if (!body || (md && !cJSON_AddStringToObject(body, "md", md)) ||
        !cJSON_AddStringToObject(body, "preset", preset) ||
        (cli_flag(a, "priority") &&
         !cJSON_AddNumberToObject(body, "priority", (double)priority))) {
        errorf(c, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < sizeof submit_fields / sizeof submit_fields[0];
         k++) {
        const char *v = cli_str(a, submit_fields[k].opt), *f = submit_fields[k].field;
        if (v && !(submit_fields[k].flag ? cJSON_AddTrueToObject(body, f)
                                         : cJSON_AddStringToObject(body, f, v))) {
            errorf(c, "out of memory");
            goto out;
        }
    }
    if ((code = cl_sched_submit_fields(a, c, body)) != 0)
        goto out;
    code = CLI_EXIT_FAILED;
    if (cJSON_GetArraySize(params) > 0) {
        if (!cJSON_AddItemToObject(body, "params", params)) {
            errorf(c, "out of memory");
            goto out;
        }
        params = NULL; /* body owns it now */
    }
    if (sweep) {
        if (!cJSON_AddItemToObject(body, "sweep", sweep)) {
            errorf(c, "out of memory");
            goto out;
        }
        sweep = NULL; /* body owns it now */
    }
    json = cJSON_PrintUnformatted(body);
    url = cl_api_url(c, "/jobs");
    if (!json || !url) {
        errorf(c, "out of memory");
        goto out;
    }

    struct cl_req o = {.idempotency_key = cli_str(a, "idempotency-key")};
    struct http_response resp;
    answer = cl_api_json(c, "POST", url, json, &o, &code, &resp);
    if (!answer)
        goto out;
    char idbuf[32];
    const char *job_id = cl_jtext(answer, "jobId", idbuf, sizeof idbuf);
    if (!job_id || !cl_valid_job_id(job_id)) {
        errorf(c, "unexpected answer from the server: no jobId");
        http_response_free(&resp);
        code = CLI_EXIT_FAILED;
        goto out;
    }
    if (c->json)
        cl_print_raw(&resp);
    else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(answer, "batch")))
        print_batch(answer, job_id);
    else
        printf("submitted job %s\n", job_id);
    fflush(stdout);
    http_response_free(&resp);
    code = cli_flag(a, "wait") ? wait_for_job(c, job_id) : CLI_EXIT_OK;

out:
    free(preset_owned);
    free(dir);
    cJSON_Delete(sweep);
    cJSON_Delete(params);
    cJSON_Delete(body);
    cJSON_Delete(answer);
    free(md);
    free(json);
    free(url);
    return code;
}

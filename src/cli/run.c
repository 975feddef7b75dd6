/* run.c — `batchbox run FILE --preset P`: executes one job in this process
 * without a server, through the same submit service, worker pool and
 * executors the server uses, on a private temporary data directory.  Log
 * lines are printed as the job writes them; artifacts are copied to --out.
 *
 * Threads: the main thread submits the job and sleeps on an event-bus
 * subscription for it (woken by every committed event of the job, then it
 * reads the job's state); log lines are printed by the on_events observer
 * on the db writer thread. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "civetweb.h"
#include "cli/verbs.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "service/appctl.h"
#include "service/jobs.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

/* Prints job_log lines as they are committed (writer thread). */
static void print_logs(void *ud, bus_event **evs, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        if (evs[i]->type != EV_JOB_LOG)
            continue;
        cJSON *o = cJSON_ParseWithLength(evs[i]->data, evs[i]->data_len);
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");
        const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");
        if (cJSON_IsString(line)) {
            FILE *to = cJSON_IsString(stream) && strcmp(stream->valuestring, "stdout") == 0
                           ? stdout
                           : stderr;
            fprintf(to, "%s\n", line->valuestring);
            fflush(to);
        }
        cJSON_Delete(o);
    }
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        if (fwrite(chunk, 1, n, out) != n) {
            rc = -1;
            break;
        }
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    return rc;
}

/* How long one bus wait lasts before the job's state is read anyway. */
#define WAIT_SLICE_MS 1000
#define WAIT_BUF_CAP (1024u * 1024u)
#define WAIT_MAX_BYTES (64u * 1024u)

/* Waits until job id is finished: subscribes to its events on the bus,
 * then reads its state after every wake-up (an event, or WAIT_SLICE_MS
 * without one).  0 with *j filled (caller frees with job_clear), or -1
 * (message printed). */
static int wait_job(const struct cli_call *a, bb_app *app, int64_t id, job *j)
{
    struct bus_filter f = {.owner_id = 0, .job_id = id, .logs = false};
    int64_t last = 0;
    bus_sub *sub = bus_subscribe(app->bus, &f, &last);
    buf frames;
    int rc = -1;

    buf_init(&frames, WAIT_BUF_CAP);
    while (sub) {
        /* Subscribed first, read second: an event that lands in between
         * still wakes the next bus_wait. */
        if (repo_job_get(app->db, id, 0, j) != BB_OK) {
            cli_errorf(a, "the job disappeared");
            break;
        }
        if (job_state_terminal(j->state)) {
            rc = 0;
            break;
        }
        job_clear(j);
        enum bus_wait_result r = bus_wait(app->bus, sub, WAIT_SLICE_MS, &frames,
                                          WAIT_MAX_BYTES);
        buf_reset(&frames);
        if (r == BUS_CLOSED) {
            cli_errorf(a, "the event bus closed while the job ran");
            break;
        }
        if (r == BUS_OVERFLOW) { /* fell behind: start over, then re-read */
            bus_unsubscribe(app->bus, sub);
            sub = bus_subscribe(app->bus, &f, &last);
        }
    }
    if (!sub)
        cli_errorf(a, "cannot subscribe to the job's events (out of memory)");
    else
        bus_unsubscribe(app->bus, sub);
    buf_free(&frames);
    return rc;
}

/* Copies job id's artifacts to outdir, printing one line each; the exit
 * code. */
static int copy_artifacts(const struct cli_call *a, bb_app *app, int64_t id,
                          const char *outdir)
{
    struct artifact_rec *arts = NULL;
    size_t n = 0;
    int code = CLI_EXIT_OK;

    if (repo_artifacts_list(app->db, id, &arts, &n) != BB_OK || n == 0) {
        repo_artifacts_free(arts, n);
        return CLI_EXIT_OK;
    }
    if (bb_mkdirs(outdir, false) != 0) {
        cli_errorf(a, "cannot create %s: %s", outdir, strerror(errno));
        code = CLI_EXIT_UNREACHABLE;
    }
    for (size_t i = 0; i < n && code == CLI_EXIT_OK; i++) {
        char to[PATH_MAX];
        snprintf(to, sizeof to, "%s/%s", outdir, arts[i].name);
        char from[PATH_MAX * 2];
        snprintf(from, sizeof from, "%s/%s", app->data_dir, arts[i].location);
        if (copy_file(from, to) != 0) {
            cli_errorf(a, "cannot write %s: %s", to, strerror(errno));
            code = CLI_EXIT_UNREACHABLE;
        } else {
            printf("artifact %s (%lld bytes, sha256 %s)\n", to, (long long)arts[i].size,
                   arts[i].sha256);
        }
    }
    repo_artifacts_free(arts, n);
    return code;
}

/* Submits body in app, waits for the job and copies its artifacts; the
 * exit code. */
static int run_job(const struct cli_call *a, bb_app *app, cJSON *body)
{
    const char *outdir = cli_str(a, "out") ? cli_str(a, "out") : "./batchbox-out";
    struct principal who = {.open = true};
    bb_errctx e = {0};
    int64_t id = 0;
    bool existed;
    job j = {0};
    int code;

    if (svc_job_submit(app, &who, body, NULL, NULL, 0, &id, &existed, &e) != BB_OK) {
        cli_errorf(a, "%s", e.message);
        for (const cJSON *f = e.fields ? e.fields->child : NULL; f; f = f->next)
            fprintf(stderr, "  %s: %s\n", f->string, f->valuestring);
        bb_err_clear(&e);
        return CLI_EXIT_USAGE;
    }
    if (wait_job(a, app, id, &j) != 0)
        return CLI_EXIT_FAILED;
    code = j.state == JOB_SUCCEEDED ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    fprintf(stderr, "job %s%s%s\n", job_state_name(j.state), j.error ? ": " : "",
            j.error ? j.error : "");
    job_clear(&j);
    if (code == CLI_EXIT_OK)
        code = copy_artifacts(a, app, id, outdir);
    return code;
}

/* The job's request from the options and FILE (into body); its input
 * directory (the job's input root) into input_dir.  0 or the exit code. */
static int build_request(const struct cli_call *a, cJSON *body,
                         char input_dir[PATH_MAX])
{
    const char *prio = cli_str(a, "priority"), *file = cli_pos(a, 0), *val;
    cJSON *params = cJSON_AddObjectToObject(body, "params");
    int it = 0;

    if (!cli_str(a, "preset"))
        return cli_usage_error(a, "--preset is required");
    if (!params || !cJSON_AddStringToObject(body, "preset", cli_str(a, "preset")))
        goto oom;
    while ((val = cli_next(a, "param", &it)) != NULL) {
        const char *eq = strchr(val, '=');
        char name[80];
        if (!eq || eq == val)
            return cli_usage_error(a, "--param takes NAME=VALUE");
        snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
        if (!cJSON_AddStringToObject(params, name, eq + 1))
            goto oom;
    }
    if (prio) {
        int64_t v;
        if (bb_parse_i64(prio, &v) != 0)
            return cli_usage_error(a, "--priority must be an integer");
        if (!cJSON_AddNumberToObject(body, "priority", (double)v))
            goto oom;
    }
    input_dir[0] = '\0';
    if (file) {
        char real[PATH_MAX];
        if (!realpath(file, real)) {
            cli_errorf(a, "%s: %s", file, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        if (!cJSON_AddStringToObject(body, "md", real))
            goto oom;
        bb_strlcpy(input_dir, real, PATH_MAX);
        bb_strlcpy(input_dir, dirname(input_dir), PATH_MAX);
    }
    return 0;
oom:
    cli_errorf(a, "out of memory");
    return CLI_EXIT_FAILED;
}

int cli_run(const struct cli_call *a)
{
    char input_dir[PATH_MAX], tmpl[] = "/tmp/batchbox-run-XXXXXX", err[512];
    cJSON *body = cJSON_CreateObject();
    int code = body ? build_request(a, body, input_dir) : CLI_EXIT_FAILED;
    bb_app app;

    if (!body)
        cli_errorf(a, "out of memory");
    if (code != 0)
        goto out;
    if (!mkdtemp(tmpl)) {
        cli_errorf(a, "cannot create a temporary directory: %s", strerror(errno));
        code = CLI_EXIT_UNREACHABLE;
        goto out;
    }
    bb_log_set_level(BB_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    struct app_options o = {.data_dir = tmpl, .config_path = cli_str(a, "config"),
                            .workers = 1, .input_root = input_dir[0] ? input_dir : NULL,
                            .on_events = print_logs, .relative_urls = true};
    mg_init_library(0);     /* the ComfyUI sockets are civetweb clients */
    if (app_open(&app, &o, err, sizeof err) != 0) {
        cli_errorf(a, "%s", err);
        code = CLI_EXIT_UNREACHABLE;
    } else {
        code = run_job(a, &app, body);
        app_close(&app, 0);
    }
    mg_exit_library();
    bb_rmtree(tmpl);
out:
    cJSON_Delete(body);
    return code;
}

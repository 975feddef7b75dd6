/* run.c — `batchbox run FILE --preset P`: executes one job in this process
 * without a server, through the same submit service, worker pool and
 * executors the server uses, on a private temporary data directory.  Log
 * lines are printed as the job writes them; artifacts are copied to --out. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cJSON.h"
#include "cli/local.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "service/appctl.h"
#include "service/jobs.h"
#include "util/log.h"
#include "util/util.h"

int cli_apply_log_options(const char *level, const char *format);

static void usage(FILE *out)
{
    fprintf(out,
            "usage: batchbox run [FILE] --preset P [--param NAME=VALUE]... [--out DIR]\n"
            "                    [--config FILE] [--priority N]\n"
            "\n"
            "Runs one job in this process (no server needed) with the same code the\n"
            "server uses.  FILE is the job's input (required when the preset uses\n"
            "{input}).  Artifacts are copied to DIR (default ./batchbox-out).\n"
            "Exit status: 0 succeeded, 1 failed or canceled, 2 usage error.\n");
}

/* Prints job_log lines as they are committed (writer thread). */
static void print_logs(void *ud, bus_event **evs, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        if (evs[i]->type != EV_JOB_LOG)
            continue;
        const char *data = strstr(evs[i]->frame, "\ndata: ");
        if (!data)
            continue;
        cJSON *o = cJSON_ParseWithLength(data + 7, strcspn(data + 7, "\n"));
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
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
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

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'p'}, {"param", required_argument, 0, 'P'},
        {"out", required_argument, 0, 'o'},    {"config", required_argument, 0, 'c'},
        {"priority", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *preset = NULL, *outdir = "./batchbox-out", *config = NULL;
    cJSON *body = cJSON_CreateObject();
    cJSON *params = cJSON_CreateObject();
    int code = 2;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': preset = optarg; break;
        case 'o': outdir = optarg; break;
        case 'c': config = optarg; break;
        case 'P': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "batchbox run: --param takes NAME=VALUE\n");
                goto out;
            }
            char name[80];
            snprintf(name, sizeof name, "%.*s", (int)(eq - optarg), optarg);
            cJSON_AddStringToObject(params, name, eq + 1);
            break;
        }
        case 'r': {
            int64_t v;
            if (bb_parse_i64(optarg, &v) != 0) {
                fprintf(stderr, "batchbox run: --priority must be an integer\n");
                goto out;
            }
            cJSON_AddNumberToObject(body, "priority", (double)v);
            break;
        }
        case 'h':
            usage(stdout);
            code = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (!preset || argc - optind > 1) {
        usage(stderr);
        goto out;
    }
    cJSON_AddStringToObject(body, "preset", preset);
    char input_dir[PATH_MAX] = "";
    if (optind < argc) {
        char real[PATH_MAX];
        if (!realpath(argv[optind], real)) {
            fprintf(stderr, "batchbox run: %s: %s\n", argv[optind], strerror(errno));
            goto out;
        }
        cJSON_AddStringToObject(body, "md", real);
        bb_strlcpy(input_dir, real, sizeof input_dir);
        bb_strlcpy(input_dir, dirname(input_dir), sizeof input_dir);
    }
    cJSON_AddItemToObject(body, "params", params);
    params = NULL;

    char tmpl[] = "/tmp/batchbox-run-XXXXXX";
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "batchbox run: cannot create a temporary directory: %s\n", strerror(errno));
        code = 3;
        goto out;
    }
    bb_log_set_level(BB_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    struct app_options o = {.data_dir = tmpl, .config_path = config, .workers = 1,
                            .input_root = input_dir[0] ? input_dir : NULL,
                            .on_events = print_logs, .relative_urls = true};
    bb_app app;
    char err[512];
    if (app_open(&app, &o, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox run: %s\n", err);
        bb_rmtree(tmpl);
        code = 3;
        goto out;
    }
    struct principal who = {.open = true};
    bb_errctx e = {0};
    int64_t id = 0;
    bool existed;
    if (svc_job_submit(&app, &who, body, NULL, NULL, 0, &id, &existed, &e) != BB_OK) {
        fprintf(stderr, "batchbox run: %s\n", e.message);
        for (const cJSON *f = e.fields ? e.fields->child : NULL; f; f = f->next)
            fprintf(stderr, "  %s: %s\n", f->string, f->valuestring);
        bb_err_clear(&e);
        app_close(&app, 0);
        bb_rmtree(tmpl);
        goto out;
    }
    job j = {0};
    for (;;) {
        if (repo_job_get(app.db, id, 0, &j) != BB_OK) {
            fprintf(stderr, "batchbox run: the job disappeared\n");
            break;
        }
        if (job_state_terminal(j.state))
            break;
        job_clear(&j);
        usleep(20000);
    }
    code = j.state == JOB_SUCCEEDED ? 0 : 1;
    fprintf(stderr, "job %s%s%s\n", job_state_name(j.state), j.error ? ": " : "",
            j.error ? j.error : "");
    job_clear(&j);
    struct artifact_rec *arts = NULL;
    size_t n = 0;
    if (code == 0 && repo_artifacts_list(app.db, id, &arts, &n) == BB_OK && n > 0) {
        if (bb_mkdirs(outdir, false) != 0) {
            fprintf(stderr, "batchbox run: cannot create %s: %s\n", outdir, strerror(errno));
            code = 3;
        }
        for (size_t i = 0; i < n && code == 0; i++) {
            char to[PATH_MAX];
            snprintf(to, sizeof to, "%s/%s", outdir, arts[i].name);
            char from[PATH_MAX * 2];
            snprintf(from, sizeof from, "%s/%s", app.data_dir, arts[i].location);
            if (copy_file(from, to) != 0) {
                fprintf(stderr, "batchbox run: cannot write %s: %s\n", to, strerror(errno));
                code = 3;
            } else {
                printf("artifact %s (%lld bytes, sha256 %s)\n", to, (long long)arts[i].size,
                       arts[i].sha256);
            }
        }
    }
    repo_artifacts_free(arts, n);
    app_close(&app, 0);
    bb_rmtree(tmpl);
out:
    cJSON_Delete(params);
    cJSON_Delete(body);
    return code;
}

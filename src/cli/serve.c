/* serve.c — `batchbox serve`: runs the appliance until SIGTERM/SIGINT.
 *
 * Signals: the main thread blocks SIGTERM, SIGINT and SIGHUP before any
 * other thread exists (every thread inherits the mask) and waits for them
 * with sigwait(); SIGPIPE is ignored (a client that hangs up shows up as a
 * failed write).  Child processes get a clean mask from the executor.
 * Shutdown order: stop accepting events and close SSE streams (bus), stop
 * HTTP (civetweb joins its threads), give running jobs the grace period and
 * requeue the rest (pool), close the database (checkpoint). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "cli/local.h"
#include "http/http.h"
#include "service/appctl.h"
#include "service/auth.h"
#include "util/log.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: batchbox serve [--data DIR] [--listen ADDR:PORT] [--workers N]\n"
            "                      [--config FILE] [--grace SEC] [--log-level LEVEL]\n"
            "                      [--log-format json|text]\n"
            "\n"
            "Runs the appliance: web UI, JSON API, live events and job workers.\n"
            "  --data DIR        data directory (default ./data): batchbox.db, artifacts/\n"
            "  --listen A:P      listen address (default from config: 127.0.0.1:8080)\n"
            "  --workers N       worker threads (default from config: number of cores)\n"
            "  --config FILE     configuration file (default DATA/batchbox.json if present)\n"
            "  --grace SEC       on SIGTERM, how long running jobs may finish (default 20)\n"
            "  --log-level L     debug, info, warn or error (default info)\n"
            "  --log-format F    json (default) or text\n");
}

/* Shared by serve and run: applies --log-level/--log-format values. */
int cli_apply_log_options(const char *level, const char *format);

int cli_apply_log_options(const char *level, const char *format)
{
    if (level) {
        if (strcmp(level, "debug") == 0) bb_log_set_level(BB_LOG_DEBUG);
        else if (strcmp(level, "info") == 0) bb_log_set_level(BB_LOG_INFO);
        else if (strcmp(level, "warn") == 0) bb_log_set_level(BB_LOG_WARN);
        else if (strcmp(level, "error") == 0) bb_log_set_level(BB_LOG_ERROR);
        else {
            fprintf(stderr, "batchbox: --log-level must be debug, info, warn or error\n");
            return -1;
        }
    }
    if (format) {
        if (strcmp(format, "json") == 0) bb_log_set_text(0);
        else if (strcmp(format, "text") == 0) bb_log_set_text(1);
        else {
            fprintf(stderr, "batchbox: --log-format must be json or text\n");
            return -1;
        }
    }
    return 0;
}

int cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},   {"listen", required_argument, 0, 'l'},
        {"workers", required_argument, 0, 'w'}, {"config", required_argument, 0, 'c'},
        {"grace", required_argument, 0, 'g'},  {"log-level", required_argument, 0, 'L'},
        {"log-format", required_argument, 0, 'F'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct app_options o = {.data_dir = "./data"};
    const char *level = NULL, *format = NULL;
    int64_t grace = 20;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int64_t v;
        switch (c) {
        case 'd': o.data_dir = optarg; break;
        case 'l': o.listen = optarg; break;
        case 'c': o.config_path = optarg; break;
        case 'L': level = optarg; break;
        case 'F': format = optarg; break;
        case 'w':
            if (bb_parse_i64(optarg, &v) != 0 || v < 1 || v > 256) {
                fprintf(stderr, "batchbox serve: --workers must be 1..256\n");
                return 2;
            }
            o.workers = (int)v;
            break;
        case 'g':
            if (bb_parse_i64(optarg, &grace) != 0 || grace < 0 || grace > 3600) {
                fprintf(stderr, "batchbox serve: --grace must be 0..3600 seconds\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "batchbox serve: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (cli_apply_log_options(level, format) != 0)
        return 2;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int64_t t0 = bb_mono_us();
    bb_app app;
    char err[512];
    if (app_open(&app, &o, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox serve: %s\n", err);
        return 3;
    }
    char setup[64];
    if (auth_first_run(&app, setup, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox serve: %s\n", err);
        app_close(&app, 0);
        return 3;
    }
    mg_init_library(0);
    http_server *srv = http_start(&app, app.cfg->listen, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "batchbox serve: %s\n", err);
        app_close(&app, 0);
        mg_exit_library();
        return 3;
    }
    char host[256];
    bb_strlcpy(host, app.cfg->listen, sizeof host);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    char url[320], ms[32];
    snprintf(url, sizeof url, "http://%s:%d", host, http_port(srv));
    snprintf(ms, sizeof ms, "%.1f", (double)(bb_mono_us() - t0) / 1000.0);
    bb_info("serving", "url", url, "data", app.data_dir, "startupMs", ms, "version", BB_VERSION);
    printf("batchbox listening on %s\n", url);
    if (setup[0]) {
        /* the one-time setup token goes to stdout only, never to the log */
        printf("batchbox setup token: %s\n"
               "No account exists yet. Create the first (admin) account at %s/#/setup?token=%s\n"
               "or: curl -X POST -H 'Content-Type: application/json' -d "
               "'{\"email\":\"you@example.com\",\"password\":\"...\",\"setupToken\":\"%s\"}' "
               "%s/api/v1/auth/register\n",
               setup, url, setup, setup, url);
    }
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    bb_info("stopping", "signal", sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM");
    atomic_store(&app.stopping, true);
    bus_close(app.bus);
    http_stop(srv);
    app_close(&app, (int)grace * 1000);
    mg_exit_library();
    bb_info("stopped");
    return 0;
}

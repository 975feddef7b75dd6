/* serve.c — `batchbox serve`: runs the appliance until SIGTERM/SIGINT;
 * SIGHUP reloads the configuration.
 *
 * Signals: the main thread blocks SIGTERM, SIGINT and SIGHUP before any
 * other thread exists (every thread inherits the mask) and waits for them
 * with sigwait(); SIGPIPE is ignored (a client that hangs up shows up as a
 * failed write).  Child processes get a clean mask from the executor.
 * Shutdown order: stop accepting events and close SSE streams (bus), stop
 * HTTP (civetweb joins its threads), give running jobs the grace period and
 * requeue the rest (pool), close the database (checkpoint). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "civetweb.h"
#include "cli/verbs.h"
#include "http/http.h"
#include "service/appctl.h"
#include "service/auth.h"
#include "service/reload.h"
#include "util/log.h"
#include "util/util.h"

/* Applies --log-level and --log-format; 0 or the usage exit code. */
static int apply_log_options(const struct cli_call *a)
{
    static const struct {
        const char *name;
        enum bb_log_level level;
    } levels[] = {{"debug", BB_LOG_DEBUG}, {"info", BB_LOG_INFO},
                  {"warn", BB_LOG_WARN},   {"error", BB_LOG_ERROR}};
    const char *level = cli_str(a, "log-level");
    const char *format = cli_str(a, "log-format");
    size_t k = 0;

    while (level && k < sizeof levels / sizeof levels[0] &&
           strcmp(level, levels[k].name) != 0)
        k++;
    if (level && k == sizeof levels / sizeof levels[0])
        return cli_usage_error(a, "--log-level must be debug, info, warn or error");
    if (format && strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
        return cli_usage_error(a, "--log-format must be json or text");
    if (level)
        bb_log_set_level(levels[k].level);
    if (format)
        bb_log_set_text(strcmp(format, "text") == 0);
    return 0;
}

/* SIGHUP: reload the configuration file; the outcome goes to the log. */
static void reload_on_signal(bb_app *app)
{
    cJSON *report = NULL;
    bb_errctx e = {0};
    if (svc_reload(app, &report, &e) == BB_OK) {
        char *text = cJSON_PrintUnformatted(report);
        bb_info("SIGHUP: configuration reloaded", "report", text ? text : "{}");
        free(text);
    } else {
        bb_warn("SIGHUP: configuration not reloaded", "error", e.message);
    }
    cJSON_Delete(report);
    bb_err_clear(&e);
}

int cli_serve(const struct cli_call *a)
{
    struct app_options o = {.data_dir = "./data", .integrations = true};
    const char *workers = cli_str(a, "workers"), *grace_s = cli_str(a, "grace");
    int64_t grace = 20, v;

    if (cli_str(a, "data"))
        o.data_dir = cli_str(a, "data");
    o.listen = cli_str(a, "listen");
    o.config_path = cli_str(a, "config");
    if (workers) {
        if (bb_parse_i64(workers, &v) != 0 || v < 1 || v > 256)
            return cli_usage_error(a, "--workers must be 1..256");
        o.workers = (int)v;
    }
    if (grace_s && (bb_parse_i64(grace_s, &grace) != 0 || grace < 0 || grace > 3600))
        return cli_usage_error(a, "--grace must be 0..3600 seconds");
    int code = apply_log_options(a);
    if (code != 0)
        return code;

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
    mg_init_library(0);     /* before app_open: the ComfyUI sockets are civetweb clients */
    if (app_open(&app, &o, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox serve: %s\n", err);
        mg_exit_library();
        return 3;
    }
    char setup[64];
    if (auth_first_run(&app, setup, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox serve: %s\n", err);
        app_close(&app, 0);
        mg_exit_library();
        return 3;
    }
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

    /* SIGHUP reloads the configuration (docs/integrations.md); a bad file
     * is logged and the running configuration stays */
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        reload_on_signal(&app);
    bb_info("stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&app.stopping, true);
    bus_close(app.bus);
    http_stop(srv);
    app_close(&app, (int)grace * 1000);
    mg_exit_library();
    bb_info("stopped");
    return 0;
}

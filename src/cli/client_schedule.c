/* client_schedule.c — the scheduling options of `batchbox submit`
 * (--run-at, --delay, --depends-on, --run-when) and the `batchbox
 * schedule` family: add, list, pause, resume, rm (docs/scheduling.md).
 * See client.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/verbs.h"

int cl_sched_submit_fields(const struct cli_call *a, struct ctx *c, cJSON *body)
{
    const char *run_at = cli_str(a, "run-at"), *delay = cli_str(a, "delay");
    const char *deps = cli_str(a, "depends-on"), *when = cli_str(a, "run-when");
    if (run_at && delay)
        return usage_error(c, "give --run-at or --delay, not both");
    if (when && !deps)
        return usage_error(c, "--run-when needs --depends-on");
    bool ok = true;
    if (run_at)
        ok = cJSON_AddStringToObject(body, "runAt", run_at) != NULL;
    if (delay) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(delay, &end, 10);
        if (errno || end == delay || *end || v < 0)
            return usage_error(c, "--delay: '%s' is not a number of seconds", delay);
        ok = ok && cJSON_AddNumberToObject(body, "delaySec", (double)v) != NULL;
    }
    if (deps) {
        cJSON *arr = cJSON_AddArrayToObject(body, "dependsOn");
        for (const char *p = deps; ok && arr && *p;) {
            size_t n = strcspn(p, ",");
            char id[32];
            if (n == 0 || n >= sizeof id)
                return usage_error(c, "--depends-on: expected job ids separated by commas, "
                                   "got '%s'", deps);
            snprintf(id, sizeof id, "%.*s", (int)n, p);
            if (!cl_valid_job_id(id))
                return usage_error(c, "--depends-on: '%s' is not a job id", id);
            cJSON *item = cJSON_CreateString(id);
            ok = item && cJSON_AddItemToArray(arr, item);
            p += n + (p[n] == ',');
        }
        ok = ok && arr;
    }
    if (when)
        ok = ok && cJSON_AddStringToObject(body, "runWhen", when) != NULL;
    if (!ok) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    return 0;
}

/* Server text on stdout, control characters shown as '?'; "" for NULL. */
static void put(const char *s)
{
    cl_put_clean(stdout, s ? s : "");
}

/* Sends method url with body (may be NULL) and prints the answer: --json
 * raw, else one line per schedule of the answer (an object or a list). */
static int call(struct ctx *c, const char *method, char *url, const char *body,
                const char *done)
{
    int code = CLI_EXIT_FAILED;
    if (!url) {
        errorf(c, "out of memory");
        return code;
    }
    struct http_response resp;
    cJSON *answer = cl_api_json(c, method, url, body, NULL, &code, &resp);
    free(url);
    if (!answer)
        return code;
    if (c->json) {
        cl_print_raw(&resp);
    } else {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(answer, "schedules");
        const cJSON *one = cJSON_IsArray(list) ? list->child : answer;
        if (cJSON_IsArray(list) && !one)
            printf("no schedules\n");
        for (; one; one = cJSON_IsArray(list) ? one->next : NULL) {
            char b1[32], b2[40], b3[32];
            const char *err = cl_jstr(one, "lastError");
            const char *id = cl_jtext(one, "scheduleId", b1, sizeof b1);
            const char *next = cl_jtext(one, "nextRunAt", b2, sizeof b2);
            const char *last = cl_jtext(one, "lastJobId", b3, sizeof b3);
            printf("%s", done ? done : "");
            put(id ? id : "?");
            printf("  ");
            put(cl_jstr(one, "name"));
            printf("  \"");
            put(cl_jstr(one, "cron"));
            printf("\" ");
            put(cl_jstr(one, "timezone"));
            printf("  next ");
            put(next ? next : "(paused)");
            printf("  last job ");
            put(last ? last : "-");
            printf("%s", err ? "  (" : "");
            if (err) {
                put(err);
                fputc(')', stdout);
            }
            fputc('\n', stdout);
        }
        fflush(stdout);
    }
    http_response_free(&resp);
    cJSON_Delete(answer);
    return CLI_EXIT_OK;
}

int cl_schedule_add(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *name = cli_pos(a, 0), *cron = cli_str(a, "cron");
    const char *preset = cli_str(a, "preset");
    if (!cron || !preset)
        return usage_error(c, "--cron and --preset are required");
    cJSON *body = cJSON_CreateObject();
    cJSON *job = body ? cJSON_AddObjectToObject(body, "job") : NULL;
    cJSON *params = job ? cJSON_CreateObject() : NULL;
    bool ok = params && cJSON_AddStringToObject(body, "name", name) &&
              cJSON_AddStringToObject(body, "cron", cron) &&
              cJSON_AddStringToObject(job, "preset", preset);
    static const struct { const char *opt, *field; } opts[] = {
        {"timezone", "timezone"}, {"overlap", "overlap"}, {"catch-up", "catchUp"}};
    for (size_t i = 0; ok && i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = cli_str(a, opts[i].opt);
        ok = !v || cJSON_AddStringToObject(body, opts[i].field, v);
    }
    if (ok && cli_flag(a, "paused"))
        ok = cJSON_AddFalseToObject(body, "enabled") != NULL;
    if (ok && cli_flag(a, "input"))
        ok = cJSON_AddStringToObject(job, "md", cli_str(a, "input")) != NULL;
    int it = 0;
    for (const char *p; ok && (p = cli_next(a, "param", &it));) {
        const char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            cJSON_Delete(params);
            cJSON_Delete(body);
            return usage_error(c, "--param: expected NAME=VALUE, got '%s'", p);
        }
        char pname[128];
        snprintf(pname, sizeof pname, "%.*s", (int)(eq - p), p);
        ok = cJSON_AddStringToObject(params, pname, eq + 1) != NULL;
    }
    if (ok && cJSON_GetArraySize(params) > 0) {
        ok = cJSON_AddItemToObject(job, "params", params);
        if (ok)
            params = NULL;
    }
    cJSON_Delete(params);
    char *json = ok ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!json) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    int code = call(c, "POST", cl_api_url(c, "/schedules"), json, "created schedule ");
    free(json);
    return code;
}

int cl_schedule_list(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    return call(c, "GET", cl_api_url(c, "/schedules"), NULL, NULL);
}

/* The ID argument: decimal digits. */
static const char *schedule_id(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *id = cli_pos(a, 0);
    if (!id || !cl_valid_job_id(id)) {
        usage_error(c, "'%s' is not a schedule id", id ? id : "");
        return NULL;
    }
    return id;
}

static int set_enabled(const struct cli_call *a, bool enabled)
{
    struct ctx *c = a->ctx;
    const char *id = schedule_id(a);
    if (!id)
        return CLI_EXIT_USAGE;
    return call(c, "PATCH", cl_api_url(c, "/schedules/%s", id),
                enabled ? "{\"enabled\":true}" : "{\"enabled\":false}",
                enabled ? "resumed " : "paused ");
}

int cl_schedule_pause(const struct cli_call *a)
{
    return set_enabled(a, false);
}

int cl_schedule_resume(const struct cli_call *a)
{
    return set_enabled(a, true);
}

int cl_schedule_rm(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *id = schedule_id(a);
    if (!id)
        return CLI_EXIT_USAGE;
    char *url = cl_api_url(c, "/schedules/%s", id);
    if (!url) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    struct http_response resp;
    char err[256] = "";
    enum http_result r = cl_api_do(c, "DELETE", url, NULL, NULL, &resp, err, sizeof err);
    free(url);
    int code = CLI_EXIT_OK;
    if (r != HTTP_RES_OK || !cl_is_2xx(resp.status))
        code = cl_report_failure(c, r, &resp, err);
    else if (!c->json)
        printf("deleted schedule %s\n", id);
    http_response_free(&resp);
    return code;
}

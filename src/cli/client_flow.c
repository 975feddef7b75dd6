/* client_flow.c — `batchbox pause`, `resume` and `bulk`: flow control
 * from the command line (docs/cli.md, docs/scheduling.md).  One POST each
 * to /admin/queue/pause|resume or /jobs/bulk.  See client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/verbs.h"

/* POSTs body (taken; may be NULL: no body) to path and returns the answer
 * (caller frees), or NULL with *code set (message printed). */
static cJSON *post(struct ctx *c, const char *path, cJSON *body, int *code,
                   struct http_response *resp)
{
    char *url = cl_api_url(c, "%s", path);
    char *json = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON *answer = NULL;
    *code = CLI_EXIT_FAILED;
    if (!url || (body && !json))
        errorf(c, "out of memory");
    else
        answer = cl_api_json(c, "POST", url, json, NULL, code, resp);
    cJSON_Delete(body);
    free(json);
    free(url);
    return answer;
}

static int pause_or_resume(const struct cli_call *a, bool pause)
{
    struct ctx *c = a->ctx;
    const char *preset = cli_str(a, "preset");
    cJSON *body = NULL;
    if (preset && (!(body = cJSON_CreateObject()) ||
                   !cJSON_AddStringToObject(body, "preset", preset))) {
        cJSON_Delete(body);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    int code;
    struct http_response resp;
    cJSON *ans = post(c, pause ? "/admin/queue/pause" : "/admin/queue/resume", body, &code,
                      &resp);
    if (!ans)
        return code;
    if (c->json) {
        cl_print_raw(&resp);
    } else {
        const cJSON *presets = cJSON_GetObjectItemCaseSensitive(ans, "presets");
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(ans, "paused");
        printf("%s %s\n", preset ? preset : "all queues", pause ? "paused" : "resumed");
        printf("global pause: %s\n", cJSON_IsTrue(all) ? "on" : "off");
        for (const cJSON *p = presets ? presets->child : NULL; p; p = p->next)
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "paused"))) {
                fputs("paused: ", stdout);
                cl_put_clean(stdout, cl_jstr(p, "preset"));
                fputc('\n', stdout);
            }
        fflush(stdout);
    }
    http_response_free(&resp);
    cJSON_Delete(ans);
    return CLI_EXIT_OK;
}

int cl_pause(const struct cli_call *a)
{
    return pause_or_resume(a, true);
}

int cl_resume(const struct cli_call *a)
{
    return pause_or_resume(a, false);
}

int cl_bulk(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    static const struct { const char *opt, *key; } F[] = {
        {"state", "state"}, {"preset", "preset"}, {"q", "q"}, {"owner", "owner"},
        {"created-after", "createdAfter"}, {"created-before", "createdBefore"},
    };
    const char *action = cli_pos(a, 0);
    if (!action || (strcmp(action, "cancel") != 0 && strcmp(action, "retry") != 0)) {
        errorf(c, "the action is cancel or retry");
        return CLI_EXIT_USAGE;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON *filter = body ? cJSON_AddObjectToObject(body, "filter") : NULL;
    bool ok = filter && cJSON_AddStringToObject(body, "action", action);
    for (size_t i = 0; ok && i < sizeof F / sizeof F[0]; i++) {
        const char *v = cli_str(a, F[i].opt);
        if (v)
            ok = cJSON_AddStringToObject(filter, F[i].key, v) != NULL;
    }
    if (ok && cli_flag(a, "out-of-attempts"))
        ok = cJSON_AddTrueToObject(filter, "outOfAttempts") != NULL;
    if (ok && cli_flag(a, "dry-run"))
        ok = cJSON_AddTrueToObject(body, "dryRun") != NULL;
    if (ok && cli_str(a, "reason"))
        ok = cJSON_AddStringToObject(body, "reason", cli_str(a, "reason")) != NULL;
    if (!ok) {
        cJSON_Delete(body);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    int code;
    struct http_response resp;
    cJSON *ans = post(c, "/jobs/bulk", body, &code, &resp);
    if (!ans)
        return code;
    if (c->json) {
        cl_print_raw(&resp);
    } else if (cli_flag(a, "dry-run")) {
        printf("%d job%s match (dry run: nothing changed)\n", cl_jint(ans, "matched", 0),
               cl_jint(ans, "matched", 0) == 1 ? "" : "s");
    } else {
        printf("%s: %d matched, %d done, %d skipped\n", action, cl_jint(ans, "matched", 0),
               cl_jint(ans, "done", 0), cl_jint(ans, "skipped", 0));
    }
    fflush(stdout);
    http_response_free(&resp);
    cJSON_Delete(ans);
    return CLI_EXIT_OK;
}

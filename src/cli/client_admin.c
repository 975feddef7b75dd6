/* client_admin.c — `batchbox gc [--dry-run]` (POST /admin/gc: retention
 * now, docs/operations.md "Retention") and `batchbox reload` (POST
 * /admin/config/reload, docs/integrations.md).  Admin accounts (or an
 * admin-scope API key).  See client.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/client.h"
#include "cli/verbs.h"

/* Sends method path with body (may be NULL) and prints the answer through
 * show (or raw with --json).  Returns the exit code.  (client.h) */
int cl_call_and_show(struct ctx *c, const char *method, const char *path, const char *body,
                     void (*show)(const cJSON *answer))
{
    char *url = cl_api_url(c, "%s", path);
    int code = CLI_EXIT_FAILED;
    if (!url) {
        errorf(c, "out of memory");
        return code;
    }
    struct http_response resp;
    cJSON *answer = cl_api_json(c, method, url, body, NULL, &code, &resp);
    if (answer) {
        if (c->json)
            cl_print_raw(&resp);
        else
            show(answer);
        fflush(stdout);
        http_response_free(&resp);
        cJSON_Delete(answer);
    }
    free(url);
    return code;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void show_gc(const cJSON *a)
{
    bool dry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "dryRun"));
    printf("%s %.0f job(s), %.0f bytes (%.0f of logs, %.0f of artifacts)\n",
           dry ? "would delete" : "deleted", num(a, "jobs"), num(a, "bytesFreed"),
           num(a, "logBytes"), num(a, "artifactBytes"));
    if (num(a, "objectsFailed") > 0)
        printf("warning: %.0f artifact file(s) or object(s) could not be removed (see the "
               "server log)\n", num(a, "objectsFailed"));
}

int cl_gc(const struct cli_call *a)
{
    return cl_call_and_show(a->ctx, "POST", "/admin/gc",
                         cli_flag(a, "dry-run") ? "{\"dryRun\":true}" : "{\"dryRun\":false}",
                         show_gc);
}

static void print_list(const cJSON *a, const char *key, const char *label)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(a, key), *it;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return;
    printf("%s:", label);
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) {
        fputc(' ', stdout);
        cl_put_clean(stdout, it->valuestring);
    }
    fputc('\n', stdout);
}

static void show_reload(const cJSON *a)
{
    printf("configuration reloaded\n");
    print_list(a, "presetsAdded", "presets added");
    print_list(a, "presetsRemoved", "presets removed");
    print_list(a, "needsRestart", "changed, but only a restart applies them");
    if (num(a, "jobsCanceled") > 0)
        printf("queued jobs of removed presets canceled: %.0f\n", num(a, "jobsCanceled"));
}

int cl_reload(const struct cli_call *a)
{
    return cl_call_and_show(a->ctx, "POST", "/admin/config/reload", NULL, show_reload);
}

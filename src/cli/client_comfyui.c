/* client_comfyui.c — `batchbox comfyui servers` (GET /comfyui/servers) and
 * `batchbox comfyui models` (GET /comfyui/models): the ComfyUI pool as a
 * table, or the server's JSON with --json (docs/cli.md, docs/comfyui.md
 * "Servers").  See client.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/client.h"
#include "cli/verbs.h"

static const char *str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The strings of array o[key] joined by "," (or "-"), sanitized. */
static void put_list(const cJSON *o, const char *key)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    int n = 0;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) {
        if (n++)
            fputc(',', stdout);
        cl_put_clean(stdout, it->valuestring);
    }
    if (!n)
        fputc('-', stdout);
}

static void show_servers(const cJSON *a)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(a, "servers"), *s;
    if (cJSON_GetArraySize(arr) == 0) {
        printf("no ComfyUI servers\n");
        return;
    }
    printf("%-16s %-8s %-8s %-9s %-6s %-20s %s\n", "ID", "STATUS", "ENABLED", "RUNNING",
           "MODELS", "LABELS", "URL / LAST ERROR");
    cJSON_ArrayForEach(s, arr) {
        cl_put_clean(stdout, str(s, "id", "?"));
        printf(" %-8s %-8s %3.0f of %-2.0f %-6.0f ", str(s, "status", "?"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "enabled")) ? "yes" : "no",
               num(s, "running"), num(s, "slots"), num(s, "models"));
        put_list(s, "labels");
        fputc(' ', stdout);
        cl_put_clean(stdout, str(s, "url", ""));
        const char *err = str(s, "lastError", NULL);
        if (err) {
            fputs(" (", stdout);
            cl_put_clean(stdout, err);
            fputc(')', stdout);
        }
        fputc('\n', stdout);
    }
}

static void show_models(const cJSON *a)
{
    const cJSON *folder, *m;
    int n = 0;
    cJSON_ArrayForEach(folder, a) cJSON_ArrayForEach(m, folder) {
        cl_put_clean(stdout, folder->string ? folder->string : "?");
        fputc('/', stdout);
        cl_put_clean(stdout, str(m, "name", "?"));
        fputs("  ", stdout);
        put_list(m, "servers");
        fputc('\n', stdout);
        n++;
    }
    if (!n)
        printf("no models (no enabled ComfyUI server listed any)\n");
}

int cl_comfyui_servers(const struct cli_call *a)
{
    return cl_call_and_show(a->ctx, "GET", "/comfyui/servers", NULL, show_servers);
}

int cl_comfyui_models(const struct cli_call *a)
{
    return cl_call_and_show(a->ctx, "GET", "/comfyui/models", NULL, show_models);
}

/* config_comfyui.c — the configuration's "comfyui" object
 * (docs/configuration.md, docs/comfyui.md "Servers"): the servers of the
 * file and the pool's intervals.  An object merges key by key over the
 * built-in defaults like every object; "servers" replaces the list.  Also
 * the checks of a server's id, URL and labels, shared with the routes that
 * add servers at run time.  Parsing runs at start-up on one thread; the
 * checks are pure and thread-safe. */
#include "infra/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_SERVERS, K_HEALTH, K_LOST, K_POLL, K_TIMEOUT, K_N };
static const char *const KEYS[] = {
    "servers", "healthIntervalSec", "lostAfterSec", "pollIntervalMs", "requestTimeoutMs", NULL,
};
enum { S_ID, S_URL, S_SLOTS, S_LABELS, S_N };
static const char *const SKEYS[] = {"id", "url", "slots", "labels", NULL};

bool config_comfy_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

bool config_comfy_url_ok(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    const char *host = NULL;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    if (!host || !*host || n > 500 || s[n - 1] == '/')
        return false;
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '@' || *p == '\\' ||
            (unsigned char)*p >= 0x7f)
            return false;
    return *host != '/' && *host != ':';
}

bool config_comfy_label_ok(const char *s)
{
    return config_comfy_id_ok(s);
}

static void free_servers(bb_comfy_server *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        free(v[i].url);
        cfg_free_strv(v[i].labels);
    }
    free(v);
}

void cfg_free_comfyui(bb_config *c)
{
    free_servers(c->comfyui.servers, c->comfyui.nservers);
    c->comfyui.servers = NULL;
    c->comfyui.nservers = 0;
}

static int parse_labels(load_ctx *x, const cJSON *arr, const char *path, bb_comfy_server *s)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, "labels");
    size_t n = 0;
    if (arr && !cJSON_IsArray(arr))
        return cfg_fail(x, "\"%s\" must be an array of labels", kp);
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next)
        n++;
    if (n > 32)
        return cfg_fail(x, "\"%s\" may hold at most 32 labels", kp);
    if (!(s->labels = calloc(n + 1, sizeof *s->labels)))
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++) {
        if (!cJSON_IsString(e) || !config_comfy_label_ok(e->valuestring))
            return cfg_fail(x, "\"%s[%zu]\" must be 1 to 64 characters from A-Z a-z 0-9 . _ -",
                            kp, i);
        if (!(s->labels[i] = strdup(e->valuestring)))
            return cfg_fail_oom(x);
        s->nlabels++;
    }
    return 0;
}

static int parse_server(load_ctx *x, const cJSON *e, const char *path, bb_comfy_server *s)
{
    const cJSON *f[S_N + 1] = {0};
    if (!cJSON_IsObject(e))
        return cfg_fail(x, "\"%s\" must be an object {\"id\", \"url\", \"slots\", \"labels\"}",
                        path);
    if (cfg_collect(x, e, path, SKEYS, f) != 0 ||
        cfg_get_string(x, f[S_ID], path, "id", true, &s->id) != 0 ||
        cfg_get_string(x, f[S_URL], path, "url", true, &s->url) != 0 ||
        cfg_get_int(x, f[S_SLOTS], path, "slots", 1, 64, 1, &s->slots) != 0)
        return -1;
    char kp[KEY_PATH_MAX];
    if (!config_comfy_id_ok(s->id)) {
        cfg_key_path(kp, sizeof kp, path, "id");
        return cfg_fail(x, "\"%s\" must be 1 to 64 characters from A-Z a-z 0-9 . _ -", kp);
    }
    if (!config_comfy_url_ok(s->url)) {
        cfg_key_path(kp, sizeof kp, path, "url");
        return cfg_fail(x, "\"%s\" must be an http:// or https:// URL without a trailing '/' "
                           "(\"http://127.0.0.1:8188\")", kp);
    }
    return parse_labels(x, f[S_LABELS], path, s);
}

static int parse_servers(load_ctx *x, bb_config *c, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return cfg_fail(x, "\"comfyui.servers\" must be an array of servers");
    size_t n = 0;
    for (const cJSON *e = arr->child; e; e = e->next)
        n++;
    if (n > 256)
        return cfg_fail(x, "\"comfyui.servers\" may list at most 256 servers");
    bb_comfy_server *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char path[KEY_PATH_MAX];
        snprintf(path, sizeof path, "comfyui.servers[%zu]", i);
        if (parse_server(x, e, path, &v[i]) != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j].id, v[i].id) == 0) {
                cfg_fail(x, "\"%s.id\": \"%s\" is listed twice", path, v[i].id);
                goto fail;
            }
    }
    cfg_free_comfyui(c);
    c->comfyui.servers = v;
    c->comfyui.nservers = n;
    return 0;
fail:
    free_servers(v, n);
    return -1;
}

int cfg_parse_comfyui(load_ctx *x, bb_config *c, const cJSON *obj)
{
    const cJSON *f[K_N + 1] = {0};
    if (!cJSON_IsObject(obj))
        return cfg_fail(x, "\"comfyui\" must be an object");
    if (cfg_collect(x, obj, "comfyui", KEYS, f) != 0)
        return -1;
    struct { int k; int min, max; int *slot; } ints[] = {
        {K_HEALTH, 1, 86400, &c->comfyui.health_interval_sec},
        {K_LOST, 1, 86400, &c->comfyui.lost_after_sec},
        {K_POLL, 10, 600000, &c->comfyui.poll_interval_ms},
        {K_TIMEOUT, 100, 3600000, &c->comfyui.request_timeout_ms},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (cfg_get_int(x, f[ints[i].k], "comfyui", KEYS[ints[i].k], ints[i].min, ints[i].max,
                        *ints[i].slot, ints[i].slot) != 0)
            return -1;
    if (f[K_SERVERS] && parse_servers(x, c, f[K_SERVERS]) != 0)
        return -1;
    return 0;
}

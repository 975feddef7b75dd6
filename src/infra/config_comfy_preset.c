/* config_comfy_preset.c — the preset keys of the comfyui workflow
 * (docs/comfyui.md, "Presets"): "graph", the path of an API-format graph
 * file (relative to the configuration file's folder), and "servers":
 * {"labels": [...]}, the labels a server must carry to run the preset's
 * jobs.  The graph is read, parsed and checked against the preset's
 * params (comfy_graph_check) once every preset is parsed
 * (cfg_check_comfy).  Runs at start-up only. */
#include "infra/config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "util/files.h"

#define GRAPH_MAX_BYTES ((size_t)16 << 20)
#define MAX_LABELS 32

void cfg_free_comfy_preset(bb_preset *p)
{
    free(p->comfy_graph);
    free(p->comfy_graph_path);
    cfg_free_strv(p->comfy_labels);
    p->comfy_graph = NULL;
    p->comfy_graph_path = NULL;
    p->comfy_labels = NULL;
    p->ncomfy_labels = 0;
}

int cfg_parse_comfy_graph(load_ctx *x, const cJSON *it, const char *path, bb_preset *p)
{
    return cfg_get_string(x, it, path, "graph", true, &p->comfy_graph_path);
}

int cfg_parse_comfy_servers(load_ctx *x, const cJSON *it, const char *path, bb_preset *p)
{
    char sp[KEY_PATH_MAX], lp[KEY_PATH_MAX];
    cfg_key_path(sp, sizeof sp, path, "servers");
    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it))
        return cfg_fail(x, "\"%s\" must be an object like {\"labels\": [\"sdxl\"]}", sp);
    static const char *const KEYS[] = {"labels", NULL};
    const cJSON *f[1] = {0};
    if (cfg_collect(x, it, sp, KEYS, f) != 0)
        return -1;
    cfg_key_path(lp, sizeof lp, sp, "labels");
    if (f[0] == NULL)
        return 0;
    if (!cJSON_IsArray(f[0]))
        return cfg_fail(x, "\"%s\" must be an array of labels", lp);
    int n = cJSON_GetArraySize(f[0]);
    if (n > MAX_LABELS)
        return cfg_fail(x, "\"%s\" may list at most %d labels", lp, MAX_LABELS);
    p->comfy_labels = calloc((size_t)n + 1, sizeof *p->comfy_labels);
    if (p->comfy_labels == NULL)
        return cfg_fail_oom(x);
    int i = 0;
    for (const cJSON *l = f[0]->child; l; l = l->next, i++) {
        if (!cJSON_IsString(l) || !config_comfy_label_ok(l->valuestring))
            return cfg_fail(x, "\"%s[%d]\" must be a label ([A-Za-z0-9._-], 1 to 64)", lp, i);
        for (int j = 0; j < i; j++)
            if (strcmp(p->comfy_labels[j], l->valuestring) == 0)
                return cfg_fail(x, "\"%s[%d]\": \"%s\" is listed twice", lp, i,
                                l->valuestring);
        if (cfg_set_str(x, &p->comfy_labels[i], l->valuestring) != 0)
            return -1;
        p->ncomfy_labels++;
    }
    return 0;
}

/* Reads and checks the graph of comfyui preset i (its path resolved
 * against base_dir); the graph's text (unformatted) in p->comfy_graph. */
static int check_one(load_ctx *x, bb_preset *p, size_t i, const char *base_dir,
                     char *(*resolve)(load_ctx *, const char *, const char *))
{
    char *abs = resolve(x, base_dir, p->comfy_graph_path);
    if (abs == NULL)
        return -1;
    free(p->comfy_graph_path);
    p->comfy_graph_path = abs;
    size_t len = 0;
    char *text = bb_read_file(abs, GRAPH_MAX_BYTES, &len);
    if (text == NULL)
        return cfg_fail(x, "\"presets[%zu].graph\": cannot read %s: %s", i, abs,
                        errno == EFBIG ? "over 16 MiB" : strerror(errno));
    cJSON *g = cJSON_ParseWithLength(text, len);
    free(text);
    if (g == NULL)
        return cfg_fail(x, "\"presets[%zu].graph\": %s is not JSON (export the graph with "
                        "\"Export (API)\")", i, abs);
    char why[384];
    int rc = comfy_graph_check(g, p, why, sizeof why);
    if (rc != 0) {
        cJSON_Delete(g);
        return cfg_fail(x, "\"presets[%zu].graph\" (%s): %s", i, abs, why);
    }
    p->comfy_graph = cJSON_PrintUnformatted(g);
    cJSON_Delete(g);
    return p->comfy_graph ? 0 : cfg_fail_oom(x);
}

int cfg_check_comfy(load_ctx *x, bb_config *c, const char *base_dir,
                    char *(*resolve)(load_ctx *, const char *, const char *))
{
    for (size_t i = 0; i < c->npresets; i++) {
        bb_preset *p = &c->presets[i];
        if (p->workflow != BB_WF_COMFYUI || p->comfy_graph_path == NULL)
            continue;
        if (check_one(x, p, i, base_dir, resolve) != 0)
            return -1;
    }
    return 0;
}

/* fuzz_comfy_graph.c — libFuzzer target for ComfyUI graphs and their
 * {{param}} placeholders (src/domain/comfy_graph.c; docs/comfyui.md,
 * "Graphs and placeholders").  Build and run with tests/fuzz/run.sh; seeds
 * in tests/fuzz/corpus/comfy_graph/.
 *
 * The input is two JSON texts separated by the first newline: a job's
 * params object, then the graph.  Both go through comfy_graph_check
 * (against a preset declaring the params' names, and with no preset),
 * comfy_graph_substitute and comfy_graph_models.
 *
 * Besides the sanitizers it checks: a node whose strings break the brace
 * rule (found by a plain reference scanner here) fails both the check and
 * the substitution; the check against a preset is never looser than the
 * syntax check; a graph accepted against the
 * preset substitutes whenever every param has a scalar value; a
 * substituted graph keeps its nodes (same ids, same order) and the input
 * graph is left untouched; models are always an object of arrays of
 * strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "infra/config.h"

#define TEXT_MAX (64 * 1024)
#define PARAMS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether every value of params is a string, number or bool. */
static bool all_scalar(const cJSON *params)
{
    for (const cJSON *v = params->child; v != NULL; v = v->next)
        if (!cJSON_IsString(v) && !cJSON_IsNumber(v) && !cJSON_IsBool(v))
            return false;
    return true;
}

/* Reference for the brace rule: whether s has a "{{" that is neither
 * "{{{{" nor "{{" NAME "}}" (NAME: 1-64 of A-Za-z0-9_-). */
static bool bad_braces(const char *s)
{
    size_t i = 0;
    while (s[i] != '\0') {
        if (strncmp(s + i, "{{{{", 4) == 0) {
            i += 4;
        } else if (strncmp(s + i, "{{", 2) == 0) {
            size_t n = strspn(s + i + 2, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
            if (n == 0 || n > 64 || strncmp(s + i + 2 + n, "}}", 2) != 0)
                return true;
            i += 2 + n + 2;
        } else {
            i++;
        }
    }
    return false;
}

/* Whether any string value under v breaks the brace rule. */
static bool any_bad_braces(const cJSON *v)
{
    if (cJSON_IsString(v))
        return bad_braces(v->valuestring);
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        if (any_bad_braces(c))
            return true;
    return false;
}

static void check_models(const cJSON *g)
{
    cJSON *m = comfy_graph_models(g);
    if (m == NULL || !cJSON_IsObject(m))
        abort();
    for (const cJSON *f = m->child; f != NULL; f = f->next) {
        if (!cJSON_IsArray(f) || f->child == NULL)
            abort();
        for (const cJSON *n = f->child; n != NULL; n = n->next)
            if (!cJSON_IsString(n) || n->valuestring[0] == '\0')
                abort();
    }
    cJSON_Delete(m);
}

static void run(const cJSON *params, const cJSON *graph)
{
    char err[512];
    bb_param ps[PARAMS_MAX];
    size_t n = 0;
    memset(ps, 0, sizeof ps);
    for (const cJSON *v = params->child; v != NULL && n < PARAMS_MAX; v = v->next) {
        ps[n].name = v->string;
        ps[n].type = BB_PT_STRING;
        ps[n].declared = true;
        n++;
    }
    bb_preset p = {.id = "fz", .params = ps, .nparams = n};
    bool complete = n == (size_t)cJSON_GetArraySize(params);

    char *before = cJSON_PrintUnformatted(graph);
    int syntax = comfy_graph_check(graph, NULL, err, sizeof err);
    bool braces = false;      /* a node object with a string breaking the rule */
    for (const cJSON *node = cJSON_IsObject(graph) ? graph->child : NULL; node != NULL;
         node = node->next)
        braces |= cJSON_IsObject(node) && any_bad_braces(node);
    if (braces && syntax == 0)
        abort();
    int against = comfy_graph_check(graph, &p, err, sizeof err);
    if (syntax != 0 && against == 0)
        abort();   /* the preset check is the stricter one */

    cJSON *out = comfy_graph_substitute(graph, params, err, sizeof err);
    if (out == NULL && err[0] == '\0')
        abort();
    if (braces && out != NULL)
        abort();
    if (against == 0 && complete && all_scalar(params) && out == NULL &&
        strstr(err, "out of memory") == NULL && strstr(err, "grows over") == NULL)
        abort();
    if (out != NULL) {
        const cJSON *a = graph->child, *b = out->child;
        for (; a != NULL && b != NULL; a = a->next, b = b->next)
            if (strcmp(a->string, b->string) != 0)
                abort();
        if (a != NULL || b != NULL)
            abort();
        check_models(out);
        cJSON_Delete(out);
    }
    check_models(graph);
    char *after = cJSON_PrintUnformatted(graph);
    if ((before == NULL) != (after == NULL) || (before && strcmp(before, after) != 0))
        abort();
    free(before);
    free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TEXT_MAX)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = strchr(text, '\n');
    if (nl != NULL) {
        *nl = '\0';
        cJSON *params = cJSON_Parse(text), *graph = cJSON_Parse(nl + 1);
        if (cJSON_IsObject(params) && graph != NULL)
            run(params, graph);
        cJSON_Delete(params);
        cJSON_Delete(graph);
    }
    free(text);
    return 0;
}

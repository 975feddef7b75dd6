/* comfy_graph.c — checks ComfyUI API-format graphs, replaces their
 * {{param}} placeholders with a job's typed values and lists the models a
 * graph loads (docs/comfyui.md, "Graphs and placeholders").  Pure
 * functions over cJSON: no I/O, no shared state, safe from any thread.
 *
 * Placeholder grammar, inside any JSON string value of the graph (never
 * in member names):
 *   "{{{{"            a literal "{{"
 *   "{{" NAME "}}"    NAME is a param name ([A-Za-z0-9_-]{1,64})
 *   any other "{{"    an error, so "{{ seed }}" or "{{promt" is caught at
 *                     load instead of reaching ComfyUI as text. */
#include "domain/comfy_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/params.h"
#include "infra/config.h"
#include "util/buf.h"

/* One substituted string may grow to this many bytes (a param's text is
 * at most 4 KiB, so only a graph naming hundreds of them gets near). */
#define GRAPH_STRING_CAP (1u << 20)

/* ---- the placeholder scanner ----------------------------------------------- */

enum piece { PIECE_END, PIECE_TEXT, PIECE_NAME, PIECE_BAD };

/* The next piece of the string at *s: literal text, or a placeholder's
 * name, as [*p, *p + *n) (borrowed from the string); advances *s past it.
 * PIECE_BAD: a "{{" that starts no placeholder (*s is left on it). */
static enum piece next_piece(const char **s, const char **p, size_t *n)
{
    const char *c = *s;
    if (*c == '\0')
        return PIECE_END;
    if (strncmp(c, "{{{{", 4) == 0) {
        *p = c;
        *n = 2;
        *s = c + 4;
        return PIECE_TEXT;
    }
    if (strncmp(c, "{{", 2) == 0) {
        const char *name = c + 2;
        size_t len = 0;
        while (name[len] != '\0' && len <= 64 && params_name_ok(name + len, 1))
            len++;
        if (len == 0 || len > 64 || strncmp(name + len, "}}", 2) != 0)
            return PIECE_BAD;
        *p = name;
        *n = len;
        *s = name + len + 2;
        return PIECE_NAME;
    }
    const char *next = strstr(c, "{{");
    *p = c;
    *n = next ? (size_t)(next - c) : strlen(c);
    *s = c + *n;
    return PIECE_TEXT;
}

/* Whether s is exactly one placeholder; its name then in name[65]. */
static bool whole_placeholder(const char *s, char name[65])
{
    const char *p = NULL;
    size_t n = 0;
    if (next_piece(&s, &p, &n) != PIECE_NAME || *s != '\0')
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    return true;
}

static const char BAD_BRACES[] = "'{{' starts no {{name}} (write {{{{ for a literal {{)";

/* ---- check ----------------------------------------------------------------- */

/* Checks every placeholder in the strings under v against preset p (NULL:
 * only the syntax).  where: "node 6 input text", for messages. */
static int check_strings(const cJSON *v, const bb_preset *p, const char *where, char *err,
                         size_t errlen)
{
    if (cJSON_IsString(v) && v->valuestring != NULL) {
        const char *s = v->valuestring, *name = NULL;
        size_t n = 0;
        enum piece k;
        while ((k = next_piece(&s, &name, &n)) != PIECE_END) {
            if (k == PIECE_BAD) {
                snprintf(err, errlen, "%s: %s", where, BAD_BRACES);
                return -1;
            }
            if (k != PIECE_NAME || p == NULL)
                continue;
            char nm[65];
            memcpy(nm, name, n);
            nm[n] = '\0';
            if (config_param(p, nm) == NULL) {
                snprintf(err, errlen, "%s: {{%s}} is not a param of preset %s", where, nm,
                         p->id ? p->id : "?");
                return -1;
            }
        }
        return 0;
    }
    for (const cJSON *c = v ? v->child : NULL; c != NULL; c = c->next)
        if (check_strings(c, p, where, err, errlen) != 0)
            return -1;
    return 0;
}

/* A link input [node id, output index]: the id must be a node of graph. */
static int check_link(const cJSON *graph, const char *node, const cJSON *in, char *err,
                      size_t errlen)
{
    const cJSON *id = cJSON_GetArrayItem(in, 0), *slot = cJSON_GetArrayItem(in, 1);
    if (cJSON_GetArraySize(in) != 2 || !cJSON_IsString(id) || !cJSON_IsNumber(slot) ||
        slot->valuedouble < 0 || slot->valuedouble != floor(slot->valuedouble) ||
        slot->valuedouble > 1e6) {
        snprintf(err, errlen,
                 "node %s input %s: a link is [\"node id\", output index >= 0]", node,
                 in->string);
        return -1;
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(graph, id->valuestring))) {
        snprintf(err, errlen, "node %s input %s: links to node %s, which the graph lacks",
                 node, in->string, id->valuestring);
        return -1;
    }
    return 0;
}

static int check_node(const cJSON *graph, const cJSON *node, const bb_preset *p, char *err,
                      size_t errlen)
{
    const char *id = node->string;
    char where[256];
    if (!cJSON_IsObject(node)) {
        snprintf(err, errlen, "node %s is not an object", id);
        return -1;
    }
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(node, "class_type");
    if (!cJSON_IsString(cls) || cls->valuestring == NULL || cls->valuestring[0] == '\0') {
        snprintf(err, errlen, "node %s has no class_type (is this the API format? "
                 "docs/comfyui.md, \"Exporting a graph in API format\")", id);
        return -1;
    }
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(node, "inputs");
    if (!cJSON_IsObject(inputs)) {
        snprintf(err, errlen, "node %s (%s) has no inputs object", id, cls->valuestring);
        return -1;
    }
    for (const cJSON *in = inputs->child; in != NULL; in = in->next) {
        if (cJSON_IsArray(in) && check_link(graph, id, in, err, errlen) != 0)
            return -1;
        snprintf(where, sizeof where, "node %s input %s", id, in->string);
        if (check_strings(in, p, where, err, errlen) != 0)
            return -1;
    }
    for (const cJSON *m = node->child; m != NULL; m = m->next) {
        if (m == inputs)
            continue;
        snprintf(where, sizeof where, "node %s %s", id, m->string);
        if (check_strings(m, p, where, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int comfy_graph_check(const cJSON *graph, const bb_preset *p, char *err, size_t errlen)
{
    if (!cJSON_IsObject(graph)) {
        snprintf(err, errlen, "the graph is not a JSON object of nodes");
        return -1;
    }
    if (graph->child == NULL) {
        snprintf(err, errlen, "the graph has no nodes");
        return -1;
    }
    for (const cJSON *node = graph->child; node != NULL; node = node->next)
        if (check_node(graph, node, p, err, errlen) != 0)
            return -1;
    return 0;
}

/* ---- substitute ------------------------------------------------------------ */

/* The value of param name in params, or NULL (also for JSON null). */
static const cJSON *param_value(const cJSON *params, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return (v == NULL || cJSON_IsNull(v)) ? NULL : v;
}

/* The text of v inside a longer string (caller frees); NULL when v is no
 * scalar or out of memory.  A raw node (params_exact_numbers) is its
 * text already. */
static char *value_text(const cJSON *v)
{
    if (cJSON_IsRaw(v) && v->valuestring)
        return strdup(v->valuestring);
    return params_canonical_text(v);
}

/* s with every placeholder replaced by its value's text (caller frees),
 * or NULL with err set. */
static char *replace_in_text(const char *s, const cJSON *params, const char *where, char *err,
                             size_t errlen)
{
    buf b;
    buf_init(&b, GRAPH_STRING_CAP);
    const char *p = NULL;
    size_t n = 0;
    enum piece k;
    while ((k = next_piece(&s, &p, &n)) != PIECE_END) {
        int rc = 0;
        if (k == PIECE_BAD) {
            snprintf(err, errlen, "%s: %s", where, BAD_BRACES);
            buf_free(&b);
            return NULL;
        }
        if (k == PIECE_TEXT) {
            rc = buf_append(&b, p, n);
        } else {
            char nm[65];
            memcpy(nm, p, n);
            nm[n] = '\0';
            const cJSON *v = param_value(params, nm);
            char *t = v ? value_text(v) : NULL;
            if (t == NULL) {
                snprintf(err, errlen, v ? "%s: {{%s}} is not a text, number or bool"
                                        : "%s: {{%s}} has no value", where, nm);
                buf_free(&b);
                return NULL;
            }
            rc = buf_puts(&b, t);
            free(t);
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s: the text grows over %u bytes", where, GRAPH_STRING_CAP);
            buf_free(&b);
            return NULL;
        }
    }
    char *out = buf_take(&b);
    if (out == NULL)
        snprintf(err, errlen, "out of memory");
    return out;
}

static int substitute_in(cJSON *v, const cJSON *params, const char *where, char *err,
                         size_t errlen);

/* Replaces the placeholders of child c of container parent: a string is
 * replaced (an exact placeholder by a copy of the typed value), a
 * container walked.  0, or -1 with err set. */
static int substitute_child(cJSON *parent, cJSON *c, const cJSON *params, const char *where,
                            char *err, size_t errlen)
{
    if (!cJSON_IsString(c) || c->valuestring == NULL)
        return c->child ? substitute_in(c, params, where, err, errlen) : 0;
    if (strstr(c->valuestring, "{{") == NULL)
        return 0;
    char name[65];
    cJSON *repl = NULL;
    if (whole_placeholder(c->valuestring, name)) {
        const cJSON *val = param_value(params, name);
        if (val == NULL) {
            snprintf(err, errlen, "%s: {{%s}} has no value", where, name);
            return -1;
        }
        repl = cJSON_Duplicate(val, true);
    } else {
        char *t = replace_in_text(c->valuestring, params, where, err, errlen);
        if (t == NULL)
            return -1;
        repl = cJSON_CreateString(t);
        free(t);
    }
    /* the replacement takes c's member name (cJSON_ReplaceItemViaPointer
     * keeps the replacement's own; batchbox sets no cJSON hooks, so keys
     * are malloc'd and cJSON frees them with free) */
    if (repl != NULL) {
        char *key = c->string ? strdup(c->string) : NULL;
        if (c->string != NULL && key == NULL) {
            cJSON_Delete(repl);
            repl = NULL;
        } else {
            if (!(repl->type & cJSON_StringIsConst))
                cJSON_free(repl->string);
            repl->string = key;
            repl->type &= ~cJSON_StringIsConst;
        }
    }
    if (repl == NULL || !cJSON_ReplaceItemViaPointer(parent, c, repl)) {
        cJSON_Delete(repl);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Replaces the placeholders in the strings under container v, in place. */
static int substitute_in(cJSON *v, const cJSON *params, const char *where, char *err,
                         size_t errlen)
{
    cJSON *c = v->child;
    while (c != NULL) {
        cJSON *next = c->next;   /* c may be replaced and freed */
        if (substitute_child(v, c, params, where, err, errlen) != 0)
            return -1;
        c = next;
    }
    return 0;
}

cJSON *comfy_graph_substitute(const cJSON *graph, const cJSON *params, char *err,
                              size_t errlen)
{
    if (!cJSON_IsObject(graph)) {
        snprintf(err, errlen, "the graph is not a JSON object of nodes");
        return NULL;
    }
    cJSON *g = cJSON_Duplicate(graph, true);
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char where[256];
    for (cJSON *node = g->child; node != NULL; node = node->next) {
        cJSON *m = node->child;
        while (m != NULL) {
            cJSON *next = m->next;
            int rc = 0;
            if (strcmp(m->string ? m->string : "", "inputs") == 0 && cJSON_IsObject(m)) {
                cJSON *in = m->child;
                while (in != NULL && rc == 0) {     /* one input at a time: messages name it */
                    cJSON *in_next = in->next;
                    snprintf(where, sizeof where, "node %s input %s", node->string,
                             in->string);
                    rc = substitute_child(m, in, params, where, err, errlen);
                    in = in_next;
                }
            } else {
                snprintf(where, sizeof where, "node %s %s", node->string,
                         m->string ? m->string : "");
                rc = substitute_child(node, m, params, where, err, errlen);
            }
            if (rc != 0) {
                cJSON_Delete(g);
                return NULL;
            }
            m = next;
        }
    }
    return g;
}

/* ---- models ---------------------------------------------------------------- */

/* The loader inputs ComfyUI's model loaders take, and the catalogue
 * folder (GET /models/FOLDER) each names a file of. */
static const struct {
    const char *input, *folder;
} LOADER_INPUTS[] = {
    {"ckpt_name", "checkpoints"},
    {"lora_name", "loras"},
    {"vae_name", "vae"},
    {"unet_name", "diffusion_models"},
    {"clip_name", "text_encoders"},
    {"control_net_name", "controlnet"},
    {"upscale_model_name", "upscale_models"},
};

const char *comfy_model_folder(const char *class_type, const char *input)
{
    /* CLIPVisionLoader's clip_name lists clip_vision, not text encoders */
    if (class_type && strcmp(class_type, "CLIPVisionLoader") == 0 &&
        strcmp(input, "clip_name") == 0)
        return "clip_vision";
    for (size_t i = 0; i < sizeof LOADER_INPUTS / sizeof LOADER_INPUTS[0]; i++)
        if (strcmp(input, LOADER_INPUTS[i].input) == 0)
            return LOADER_INPUTS[i].folder;
    return NULL;
}

/* Whether value of a loader input names a file of its folder: VAELoader
 * also offers built-in decoders ("taesd", "pixel_space") that are no file. */
static bool is_model_file(const char *folder, const char *value)
{
    return strcmp(folder, "vae") != 0 || strchr(value, '.') != NULL;
}

/* Adds name to out[folder] unless there.  false when out of memory. */
static bool add_model(cJSON *out, const char *folder, const char *name)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive(out, folder);
    if (list == NULL) {
        list = cJSON_AddArrayToObject(out, folder);
        if (list == NULL)
            return false;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
        if (strcmp(it->valuestring, name) == 0)
            return true;
    cJSON *s = cJSON_CreateString(name);
    if (s == NULL || !cJSON_AddItemToArray(list, s)) {
        cJSON_Delete(s);
        return false;
    }
    return true;
}

cJSON *comfy_graph_models(const cJSON *graph)
{
    cJSON *out = cJSON_CreateObject();
    if (out == NULL || !cJSON_IsObject(graph))
        return out;
    for (const cJSON *node = graph->child; node != NULL; node = node->next) {
        const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(node, "inputs");
        if (!cJSON_IsObject(inputs))
            continue;
        const char *cls =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "class_type"));
        for (const cJSON *v = inputs->child; v != NULL; v = v->next) {
            const char *folder = v->string ? comfy_model_folder(cls, v->string) : NULL;
            if (!folder || !cJSON_IsString(v) || v->valuestring == NULL ||
                v->valuestring[0] == '\0' || !is_model_file(folder, v->valuestring))
                continue;
            if (!add_model(out, folder, v->valuestring)) {
                cJSON_Delete(out);
                return NULL;
            }
        }
    }
    return out;
}

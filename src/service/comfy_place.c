/* comfy_place.c — where a ComfyUI job runs (docs/comfyui.md, "Placement")
 * and what the model catalogue offers (comfy_pool_choices, GET
 * /comfyui/models).
 *
 * Placement is the claim's callback (infra/db/repo_claim.h): a job runs on
 * an enabled, up server whose labels include every label of its preset,
 * that lists every model the job's substituted graph loads, with a free
 * slot (slots less the running jobs the claim counted), the least busy
 * (running / slots) first.  A job with an open prompt on a server that is
 * up or not yet checked waits for that server alone (place_back), so the
 * prompt is asked about there instead of posted again elsewhere.
 * Otherwise the reason becomes the job's waitingFor.
 *
 * Threads: placement runs on the db writer thread, the rest on request
 * threads; the registry is read under cpool.mu, and the caches below (the
 * parsed graph of each preset, the models of each job) are guarded by
 * cpool.mu too.  A job's models are worked out only when some server could
 * take it, and once per job (a queued job's params do not change). */
#include "service/comfy_pool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "infra/db/repo_claim.h"
#include "service/app.h"

#define GRAPH_CACHE 32
#define MODEL_CACHE 1024

static struct {
    const char *text;        /* the preset's comfy_graph (borrowed key) */
    cJSON *graph;            /* owned */
} graphs[GRAPH_CACHE];
static size_t ngraphs;

static struct {
    int64_t job_id;          /* 0 = empty */
    cJSON *models;           /* owned: comfy_graph_models of the job */
} job_models[MODEL_CACHE];

void comfy_place_cache_clear(void)
{
    pthread_mutex_lock(&cpool.mu);
    for (size_t i = 0; i < ngraphs; i++)
        cJSON_Delete(graphs[i].graph);
    ngraphs = 0;
    for (size_t i = 0; i < MODEL_CACHE; i++) {
        cJSON_Delete(job_models[i].models);
        job_models[i].models = NULL;
        job_models[i].job_id = 0;
    }
    pthread_mutex_unlock(&cpool.mu);
}

/* The parsed graph of text (borrowed from the cache; cpool.mu held), or NULL. */
static const cJSON *graph_of(const char *text)
{
    for (size_t i = 0; i < ngraphs; i++)
        if (graphs[i].text == text)
            return graphs[i].graph;
    cJSON *g = cJSON_Parse(text);
    if (!g)
        return NULL;
    size_t slot = ngraphs < GRAPH_CACHE ? ngraphs++ : 0;
    cJSON_Delete(graphs[slot].graph);
    graphs[slot].text = text;
    graphs[slot].graph = g;
    return g;
}

/* The models job in loads (borrowed from the cache; cpool.mu held): an object
 * {FOLDER: [names]}, or NULL when it names none (or its substitution
 * fails: the attempt reports that). */
static const cJSON *models_of(const struct claim_place *in, const bb_preset *p)
{
    size_t k = (size_t)in->job_id % MODEL_CACHE;
    if (job_models[k].job_id == in->job_id)
        return job_models[k].models;
    const cJSON *graph = p->comfy_graph ? graph_of(p->comfy_graph) : NULL;
    cJSON *params = cJSON_Parse(in->params);
    char err[256];
    cJSON *sub = graph && params ? comfy_graph_substitute(graph, params, err, sizeof err) : NULL;
    cJSON *models = sub ? comfy_graph_models(sub) : NULL;
    cJSON_Delete(sub);
    cJSON_Delete(params);
    cJSON_Delete(job_models[k].models);
    job_models[k].job_id = in->job_id;
    job_models[k].models = models;
    return models;
}

static bool has_label(const struct srv *s, const char *label)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i], label) == 0)
            return true;
    return false;
}

static bool labels_ok(const struct srv *s, const bb_preset *p)
{
    for (size_t i = 0; i < p->ncomfy_labels; i++)
        if (!has_label(s, p->comfy_labels[i]))
            return false;
    return true;
}

static bool lists_model(const struct srv *s, const char *folder, const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(s->models, folder);
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next)
        if (cJSON_IsString(e) && strcmp(e->valuestring, name) == 0)
            return true;
    return false;
}

/* Whether s lists every model; else the first it lacks into miss. */
static bool models_ok(const struct srv *s, const cJSON *models, char *miss, size_t cap)
{
    for (const cJSON *f = models ? models->child : NULL; f; f = f->next)
        for (const cJSON *e = f->child; e; e = e->next)
            if (cJSON_IsString(e) && !lists_model(s, f->string, e->valuestring)) {
                snprintf(miss, cap, "%s/%s", f->string, e->valuestring);
                return false;
            }
    return true;
}

static int running_on(const struct claim_place *in, const char *id)
{
    for (size_t i = 0; i < in->nload; i++)
        if (strcmp(in->load[i].id, id) == 0)
            return in->load[i].running;
    return 0;
}

/* "a, b, c" of the labels of p into out. */
static void join_labels(const bb_preset *p, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->ncomfy_labels && len < cap; i++) {
        int n = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", p->comfy_labels[i]);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/* Appends ", id" (or "id") to out. */
static void append_id(char *out, size_t cap, const char *id)
{
    size_t len = strlen(out);
    if (len + 1 < cap)
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", id);
}

/* A job with an open prompt on a server (in->prefer) goes back there while
 * that server may still hold it: up (when a slot is free) or not checked
 * yet since batchbox started — placing it elsewhere would post the prompt
 * a second time.  1: placed there; 0: it waits (why); -1: that server is
 * down, disabled or gone, the job may go anywhere (cpool.mu held). */
static int place_back(const struct claim_place *in, const bb_preset *p, char server[65],
                      char *why, size_t cap)
{
    const struct srv *s = in->prefer ? comfy_srv_find(in->prefer) : NULL;
    if (!s || !s->enabled || !labels_ok(s, p) || (s->checked && !s->up))
        return -1;
    if (!s->checked) {
        snprintf(why, cap, "waiting for ComfyUI server %s (it has this job's prompt) to be "
                 "checked", s->id);
        return 0;
    }
    if (running_on(in, s->id) >= s->slots) {
        snprintf(why, cap, "waiting for a free slot on ComfyUI server %s (it has this job's "
                 "prompt)", s->id);
        return 0;
    }
    snprintf(server, 65, "%s", s->id);
    return 1;
}

/* The placement over the registry (cpool.mu held). */
static int place_locked(const struct claim_place *in, const bb_preset *p, char server[65],
                        char *why, size_t cap)
{
    int back = place_back(in, p, server, why, cap);
    if (back >= 0)
        return back;
    int nlabel = 0, nup = 0, run_sum = 0, slot_sum = 0;
    char down[160] = "";
    /* pass 1, cheap: labels, health and slots */
    bool any_free = false;
    for (const struct srv *s = cpool.list; s; s = s->next) {
        if (!s->enabled || !labels_ok(s, p))
            continue;
        nlabel++;
        if (!s->up) {
            append_id(down, sizeof down, s->id);
            continue;
        }
        nup++;
        any_free = any_free || running_on(in, s->id) < s->slots;
    }
    if (nlabel == 0) {
        char l[160];
        join_labels(p, l, sizeof l);
        if (l[0])
            snprintf(why, cap, "no enabled ComfyUI server with labels %s", l);
        else
            snprintf(why, cap, "no enabled ComfyUI server");
        return 0;
    }
    if (nup == 0) {
        snprintf(why, cap, "ComfyUI servers down: %s", down);
        return 0;
    }
    /* pass 2: models; the job's models are worked out only now */
    const cJSON *models = NULL;
    if (any_free)
        models = models_of(in, p);
    const struct srv *best = NULL;
    double best_load = 0;
    int nmodel = 0;
    char miss[200] = "";
    for (const struct srv *s = cpool.list; s; s = s->next) {
        if (!s->enabled || !s->up || !labels_ok(s, p))
            continue;
        char m[200];
        if (any_free && !models_ok(s, models, m, sizeof m)) {
            if (!miss[0])
                snprintf(miss, sizeof miss, "%s", m);
            continue;
        }
        nmodel++;
        int run = running_on(in, s->id);
        run_sum += run;
        slot_sum += s->slots;
        if (run >= s->slots)
            continue;
        double load = (double)run / s->slots;
        if (!best || load < best_load) {
            best = s;
            best_load = load;
        }
    }
    if (best) {
        snprintf(server, 65, "%s", best->id);
        return 1;
    }
    if (nmodel == 0 && down[0])
        snprintf(why, cap, "no ComfyUI server has %s (servers down: %s)", miss, down);
    else if (nmodel == 0)
        snprintf(why, cap, "no ComfyUI server has %s", miss);
    else
        snprintf(why, cap, "all ComfyUI servers busy (%d of %d slots)", run_sum, slot_sum);
    return 0;
}

int comfy_pool_claim_place(void *ud, const struct claim_place *in, char server[65], char *why,
                           size_t whycap)
{
    bb_app *app = ud;
    const bb_config *cfg = app->cfg;
    const bb_preset *p = config_preset(cfg, in->preset);
    if (!p) {
        snprintf(why, whycap, "preset %s is no longer configured", in->preset);
        return 0;
    }
    pthread_mutex_lock(&cpool.mu);
    int rc = place_locked(in, p, server, why, whycap);
    pthread_mutex_unlock(&cpool.mu);
    return rc;
}

/* ---- the catalogue ------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every distinct name of folder over the enabled servers, sorted (a new
 * array of borrowed strings, caller frees; cpool.mu held), NULL when none. */
static const char **names_in(const char *folder, size_t *n)
{
    size_t cap = 0, k = 0;
    const char **v = NULL;
    for (const struct srv *s = cpool.list; s; s = s->next) {
        const cJSON *arr = s->enabled ? cJSON_GetObjectItemCaseSensitive(s->models, folder)
                                      : NULL;
        for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) {
            if (!cJSON_IsString(e))
                continue;
            bool dup = false;
            for (size_t i = 0; i < k && !dup; i++)
                dup = strcmp(v[i], e->valuestring) == 0;
            if (dup)
                continue;
            if (k == cap) {
                size_t nc = cap ? cap * 2 : 16;
                const char **nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    free(v);
                    *n = 0;
                    return NULL;
                }
                v = nv;
                cap = nc;
            }
            v[k++] = e->valuestring;
        }
    }
    if (k)
        qsort(v, k, sizeof *v, cmp_str);
    *n = k;
    return v;
}

cJSON *comfy_pool_choices(const char *folder)
{
    cJSON *out = cJSON_CreateArray();
    pthread_mutex_lock(&cpool.mu);
    size_t n = 0;
    const char **names = out ? names_in(folder, &n) : NULL;
    for (size_t i = 0; out && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddItemToArray(out, o)) {
            cJSON_Delete(o);
            o = NULL;
        }
        if (!o || !cJSON_AddStringToObject(o, "value", names[i]) ||
            !cJSON_AddStringToObject(o, "label", names[i])) {
            cJSON_Delete(out);      /* o with it */
            out = NULL;
        }
    }
    pthread_mutex_unlock(&cpool.mu);
    free(names);
    return out;
}

/* Adds folder's entries {name, servers} to arr (cpool.mu held); false on OOM. */
static bool folder_json(cJSON *arr, const char *folder)
{
    size_t n = 0;
    const char **names = names_in(folder, &n);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "name", names[i]);
        cJSON *ids = ok ? cJSON_AddArrayToObject(o, "servers") : NULL;
        ok = ok && ids;
        for (const struct srv *s = cpool.list; ok && s; s = s->next)
            if (s->enabled && lists_model(s, folder, names[i]))
                ok = cJSON_AddItemToArray(ids, cJSON_CreateString(s->id));
    }
    free(names);
    return ok;
}

cJSON *comfy_pool_models_json(void)
{
    cJSON *out = cJSON_CreateObject();
    pthread_mutex_lock(&cpool.mu);
    for (const struct srv *s = cpool.list; out && s; s = s->next) {
        if (!s->enabled)
            continue;
        for (const cJSON *f = s->models ? s->models->child : NULL; out && f; f = f->next) {
            if (!f->string || cJSON_GetObjectItemCaseSensitive(out, f->string))
                continue;
            cJSON *arr = cJSON_AddArrayToObject(out, f->string);
            if (!arr || !folder_json(arr, f->string)) {
                cJSON_Delete(out);
                out = NULL;
            }
        }
    }
    pthread_mutex_unlock(&cpool.mu);
    return out;
}

/* comfy_pool.c — the pool of ComfyUI servers (comfy_pool.h; docs/comfyui.md,
 * "Servers" and "The model catalogue"): the registry, the health threads,
 * the sockets, the leases, the admin operations and their JSON, the
 * metrics.  Placement and the catalogue's choices are in comfy_place.c.
 *
 * Threads and state: the registry (cpool.list and every field of a struct srv)
 * is guarded by cpool.mu.  COMFY_HEALTH_THREADS health threads check each
 * enabled server every comfyui.healthIntervalSec, and at once when an admin
 * adds, enables or refreshes one (cpool.cond); a thread marks the server it
 * takes (`checking`) so no other takes it meanwhile, and one server that
 * hangs until the timeout does not delay the others' checks.  A server
 * that came up is then swept by a health thread (sweep_due): the prompts
 * batchbox left there and no longer follows are taken off it
 * (svc_comfy_sweep_orphans).  Their HTTP calls run without the mutex held,
 * and their results are stored under it.
 * An entry an admin removes leaves the list at once but is freed (its
 * socket stopped) only when the last lease on it is released. */
#include "service/comfy_pool_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "infra/comfyui/client.h"
#include "infra/comfyui/ws.h"
#include "infra/db/repo_comfy_server.h"
#include "infra/metrics.h"
#include "infra/workers/pool.h"
#include "service/comfy_prompts.h"
#include "util/bb_assert.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

struct comfy_pool_state cpool = {.mu = PTHREAD_MUTEX_INITIALIZER};

#define MAX_FOLDERS 64
#define HEALTH_TIMEOUT_MS 5000

/* ---- entries ---------------------------------------------------------- */

static void srv_free(struct srv *s)
{
    if (!s)
        return;
    if (s->ws)
        comfy_ws_stop(s->ws);
    for (size_t i = 0; i < s->nlabels; i++)
        free(s->labels[i]);
    free(s->labels);
    cJSON_Delete(s->devices);
    cJSON_Delete(s->models);
    free(s);
}

/* Replaces s's labels by the JSON array text (or the list); false on OOM. */
static bool set_labels_json(struct srv *s, const char *text)
{
    cJSON *a = text ? cJSON_Parse(text) : NULL;
    size_t n = 0;
    for (const cJSON *e = a ? a->child : NULL; e; e = e->next)
        n += cJSON_IsString(e);
    char **v = calloc(n + 1, sizeof *v);
    bool ok = v != NULL;
    size_t k = 0;
    for (const cJSON *e = a ? a->child : NULL; ok && e; e = e->next)
        if (cJSON_IsString(e))
            ok = (v[k++] = strdup(e->valuestring)) != NULL;
    cJSON_Delete(a);
    if (!ok) {
        for (size_t i = 0; v && i < k; i++)
            free(v[i]);
        free(v);
        return false;
    }
    for (size_t i = 0; i < s->nlabels; i++)
        free(s->labels[i]);
    free(s->labels);
    s->labels = v;
    s->nlabels = k;
    return true;
}

/* The entry of id in the list (cpool.mu held), or NULL. */
struct srv *comfy_srv_find(const char *id)
{
    for (struct srv *s = cpool.list; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static void ws_status(void *ud, int queue_remaining)
{
    struct srv *s = ud;
    pthread_mutex_lock(&cpool.mu);
    if (queue_remaining >= 0)
        s->queue_remaining = queue_remaining;
    pthread_mutex_unlock(&cpool.mu);
}

/* Starts or detaches s's socket to match enabled (cpool.mu held).  A socket
 * of a disabled server stays while leases hold it.  Returns a detached
 * socket the caller stops once cpool.mu is released (its reader thread takes
 * cpool.mu in ws_status), or NULL. */
static comfy_ws *sync_ws(struct srv *s)
{
    if (s->enabled && !s->ws && cpool.started) {
        s->ws = comfy_ws_start(s->id, s->url, ws_status, s);
        if (!s->ws)
            bb_warn("cannot start the ComfyUI socket", "server", s->id);
    } else if (!s->enabled && s->ws && s->leases == 0) {
        comfy_ws *ws = s->ws;
        s->ws = NULL;
        return ws;
    }
    return NULL;
}

static void ws_stop_maybe(comfy_ws *ws)
{
    if (ws)
        comfy_ws_stop(ws);
}

/* A new entry from a row (caller owns), NULL when out of memory. */
static struct srv *srv_from_rec(const comfy_server_rec *r)
{
    struct srv *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof s->id, "%s", r->id);
    snprintf(s->url, sizeof s->url, "%s", r->url);
    s->slots = r->slots;
    s->enabled = r->enabled;
    s->from_config = r->source && strcmp(r->source, "config") == 0;
    s->queue_remaining = -1;
    s->check_now = true;
    if (!set_labels_json(s, r->labels)) {
        free(s);
        return NULL;
    }
    return s;
}

/* Appends s to the list (cpool.mu held). */
static void list_add(struct srv *s)
{
    struct srv **pp = &cpool.list;
    while (*pp && strcmp((*pp)->id, s->id) < 0)
        pp = &(*pp)->next;
    s->next = *pp;
    *pp = s;
}

static void wake_workers(void)
{
    if (cpool.workers)
        pool_wake(cpool.workers);
}

/* ---- health ----------------------------------------------------------- */

/* What one check found (filled without the mutex). */
struct probe {
    bool up, catalogue;
    char error[256];
    char version[64];
    cJSON *devices;      /* owned */
    cJSON *models;       /* owned; NULL when not read */
    int queue;           /* -1 unknown */
};

static void probe_clear(struct probe *p)
{
    cJSON_Delete(p->devices);
    cJSON_Delete(p->models);
}

/* Adds the string choices of an /object_info input spec ([[...], {}] or
 * ["COMBO", {"options": [...]}]) to models[folder]. */
static void add_choices(cJSON *models, const char *folder, const cJSON *spec)
{
    const cJSON *list = cJSON_GetArrayItem(spec, 0);
    if (cJSON_IsString(list)) {
        const cJSON *opt = cJSON_GetArrayItem(spec, 1);
        list = cJSON_GetObjectItemCaseSensitive(opt, "options");
    }
    if (!cJSON_IsArray(list))
        return;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(models, folder);
    if (!arr)
        arr = cJSON_AddArrayToObject(models, folder);
    for (const cJSON *e = list->child; arr && e; e = e->next) {
        if (!cJSON_IsString(e))
            continue;
        bool dup = false;
        for (const cJSON *o = arr->child; o && !dup; o = o->next)
            dup = strcmp(o->valuestring, e->valuestring) == 0;
        if (!dup)
            cJSON_AddItemToArray(arr, cJSON_CreateString(e->valuestring));
    }
}

/* The catalogue from /object_info: the choices of the loader nodes'
 * inputs.  A new object (caller deletes) or NULL. */
static cJSON *catalogue_object_info(const char *url, const struct comfy_opts *o, char *err,
                                    size_t errlen)
{
    cJSON *info = NULL;
    if (comfy_get_json(url, "/object_info", 64u << 20, o, &info, err, errlen) != COMFY_OK)
        return NULL;
    cJSON *models = cJSON_CreateObject();
    for (const cJSON *node = info ? info->child : NULL; models && node; node = node->next) {
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(node, "input");
        const char *groups[] = {"required", "optional"};
        for (size_t g = 0; g < 2; g++) {
            const cJSON *grp = cJSON_GetObjectItemCaseSensitive(input, groups[g]);
            for (const cJSON *in = grp ? grp->child : NULL; in; in = in->next) {
                /* the loader inputs whose choices are catalogue folders
                 * (domain/comfy_graph.c); node->string is the class */
                const char *folder = in->string ? comfy_model_folder(node->string, in->string)
                                                : NULL;
                if (folder)
                    add_choices(models, folder, in);
            }
        }
    }
    cJSON_Delete(info);
    return models;
}

/* What is left of a read that must end by deadline_us (monotonic) in o's
 * timeout; false (with err) once it has passed. */
static bool within(int64_t deadline_us, struct comfy_opts *o, char *err, size_t errlen)
{
    int64_t left_ms = (deadline_us - bb_mono_us()) / 1000;
    if (left_ms <= 0) {
        snprintf(err, errlen, "the model catalogue took over comfyui.requestTimeoutMs");
        return false;
    }
    o->timeout_ms = (long)left_ms;
    if (o->connect_timeout_ms > o->timeout_ms)
        o->connect_timeout_ms = o->timeout_ms;
    return true;
}

/* The catalogue from /models and /models/FOLDER, else /object_info; every
 * call together within o->timeout_ms (a server that answers the health
 * check and then stalls holds a health thread that long at most). */
static cJSON *catalogue(const char *url, const struct comfy_opts *whole, char *err,
                        size_t errlen)
{
    int64_t deadline_us = bb_mono_us() + (int64_t)whole->timeout_ms * 1000;
    struct comfy_opts o = *whole;
    cJSON *folders = NULL;
    if (comfy_get_json(url, "/models", 0, &o, &folders, err, errlen) != COMFY_OK ||
        !cJSON_IsArray(folders)) {
        cJSON_Delete(folders);
        return within(deadline_us, &o, err, errlen)
                   ? catalogue_object_info(url, &o, err, errlen) : NULL;
    }
    cJSON *models = cJSON_CreateObject();
    int n = 0;
    for (const cJSON *f = folders->child; models && f && n < MAX_FOLDERS; f = f->next, n++) {
        if (!cJSON_IsString(f) || !config_comfy_id_ok(f->valuestring))
            continue;
        char path[128];
        snprintf(path, sizeof path, "/models/%s", f->valuestring);
        cJSON *names = NULL;
        if (!within(deadline_us, &o, err, errlen) ||
            comfy_get_json(url, path, 0, &o, &names, err, errlen) != COMFY_OK ||
            !cJSON_IsArray(names)) {
            cJSON_Delete(names);
            cJSON_Delete(models);
            models = NULL;
            break;
        }
        cJSON *arr = cJSON_AddArrayToObject(models, f->valuestring);
        for (const cJSON *e = names->child; arr && e; e = e->next)
            if (cJSON_IsString(e))
                cJSON_AddItemToArray(arr, cJSON_CreateString(e->valuestring));
        cJSON_Delete(names);
    }
    cJSON_Delete(folders);
    return models;
}

/* The devices of /system_stats as [{name, type, vramTotal, vramFree}]. */
static cJSON *devices_of(const cJSON *stats)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(stats, "devices");
    for (const cJSON *d = cJSON_IsArray(devs) ? devs->child : NULL; out && d; d = d->next) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(out, o)) {
            cJSON_Delete(o);
            break;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(d, "vram_total");
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(d, "vram_free");
        cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddStringToObject(o, "type", cJSON_IsString(type) ? type->valuestring : "");
        cJSON_AddNumberToObject(o, "vramTotal", cJSON_IsNumber(total) ? total->valuedouble : 0);
        cJSON_AddNumberToObject(o, "vramFree", cJSON_IsNumber(fr) ? fr->valuedouble : 0);
    }
    return out;
}

/* How long one health call may take: HEALTH_TIMEOUT_MS, or
 * comfyui.requestTimeoutMs when shorter. */
static long health_timeout_ms(void)
{
    return cpool.timeout_ms < HEALTH_TIMEOUT_MS ? cpool.timeout_ms : HEALTH_TIMEOUT_MS;
}

/* Checks url: /system_stats, /queue and (when want_catalogue) the models. */
static void probe_run(const char *url, bool want_catalogue, struct probe *p)
{
    memset(p, 0, sizeof *p);
    p->queue = -1;
    long t = health_timeout_ms();
    struct comfy_opts o = {.connect_timeout_ms = t, .timeout_ms = t};
    cJSON *stats = NULL;
    if (comfy_get_json(url, "/system_stats", 0, &o, &stats, p->error, sizeof p->error) !=
        COMFY_OK)
        return;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(stats, "system");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(sys, "comfyui_version");
    if (!cJSON_IsObject(stats) || !cJSON_IsObject(sys)) {
        snprintf(p->error, sizeof p->error, "/system_stats: not ComfyUI's reply (no system)");
        cJSON_Delete(stats);
        return;
    }
    p->up = true;
    snprintf(p->version, sizeof p->version, "%s", cJSON_IsString(ver) ? ver->valuestring : "");
    p->devices = devices_of(stats);
    cJSON_Delete(stats);
    cJSON *q = NULL;
    char err[256];
    if (comfy_get_json(url, "/queue", 0, &o, &q, err, sizeof err) == COMFY_OK) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(q, "queue_running");
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(q, "queue_pending");
        if (cJSON_IsArray(r) && cJSON_IsArray(pe))
            p->queue = cJSON_GetArraySize(r) + cJSON_GetArraySize(pe);
    }
    cJSON_Delete(q);
    if (want_catalogue) {
        struct comfy_opts co = {.connect_timeout_ms = t, .timeout_ms = cpool.timeout_ms};
        p->models = catalogue(url, &co, err, sizeof err);
        p->catalogue = true;
        if (!p->models)
            bb_warn("cannot read the ComfyUI model catalogue", "url", url, "error", err);
    }
}

/* Stores what a check of s found (cpool.mu held).  true when s came up. */
static bool probe_store(struct srv *s, struct probe *p, int64_t now)
{
    bool was_up = s->up;
    s->checked = true;
    s->checked_at = now;
    s->up = p->up;
    if (p->up) {
        s->last_seen_at = now;
        s->last_error[0] = '\0';
        snprintf(s->version, sizeof s->version, "%s", p->version);
        cJSON_Delete(s->devices);
        s->devices = p->devices;
        p->devices = NULL;
        if (p->queue >= 0)
            s->queue_remaining = p->queue;
        if (p->models) {
            cJSON_Delete(s->models);
            s->models = p->models;
            p->models = NULL;
            s->catalogue_at = now;
        }
    } else {
        snprintf(s->last_error, sizeof s->last_error, "%s", p->error);
    }
    return p->up && !was_up;
}

/* Checks server id now (no lock held on entry).  BB_ENOTFOUND when gone. */
static int check_one(const char *id, bool force_catalogue)
{
    char url[512];
    bool want_cat;
    int64_t now = bb_now_ms();
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    if (!s) {
        pthread_mutex_unlock(&cpool.mu);
        return BB_ENOTFOUND;
    }
    snprintf(url, sizeof url, "%s", s->url);
    want_cat = force_catalogue || !s->up || !s->models ||
               now - s->catalogue_at >= 6000LL * cpool.interval_sec;
    s->check_now = false;
    s->checking++;
    pthread_mutex_unlock(&cpool.mu);
    struct probe p;
    probe_run(url, want_cat, &p);
    bool came_up = false;
    pthread_mutex_lock(&cpool.mu);
    s = comfy_srv_find(id);
    if (s && s->checking > 0)   /* 0: a new entry under the same id */
        s->checking--;
    if (s && strcmp(s->url, url) == 0)
        came_up = probe_store(s, &p, bb_now_ms());
    if (came_up) {              /* a health thread sweeps it (sweep_one) */
        s->sweep_due = true;
        pthread_cond_broadcast(&cpool.cond);
    }
    pthread_mutex_unlock(&cpool.mu);
    probe_clear(&p);
    if (came_up) {
        bb_info("ComfyUI server is up", "server", id);
        wake_workers();
    }
    return s ? BB_OK : BB_ENOTFOUND;
}

/* Takes off server id the prompts batchbox left there (health thread; no
 * lock held on entry). */
static void sweep_one(const char *id)
{
    char url[512];
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    if (s) {
        s->sweep_due = false;
        s->checking++;
        snprintf(url, sizeof url, "%s", s->url);
    }
    pthread_mutex_unlock(&cpool.mu);
    if (!s)
        return;
    long t = health_timeout_ms();
    svc_comfy_sweep_orphans(cpool.db, id, url, t);
    pthread_mutex_lock(&cpool.mu);
    if ((s = comfy_srv_find(id)) != NULL && s->checking > 0)
        s->checking--;
    pthread_mutex_unlock(&cpool.mu);
}

static void *health_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cpool.mu);
    while (!cpool.stop) {
        int64_t now = bb_now_ms(), next = now + 1000LL * cpool.interval_sec;
        char due[65] = "";
        bool sweep = false;
        for (struct srv *s = cpool.list; s && !due[0]; s = s->next) {
            if (!s->enabled || s->checking > 0)
                continue;
            int64_t at = s->check_now || s->sweep_due
                             ? now : s->checked_at + 1000LL * cpool.interval_sec;
            if (at <= now) {
                snprintf(due, sizeof due, "%s", s->id);
                sweep = s->sweep_due && !s->check_now;
            } else if (at < next) {
                next = at;
            }
        }
        if (due[0]) {
            pthread_mutex_unlock(&cpool.mu);
            if (sweep)
                sweep_one(due);
            else
                check_one(due, false);
            pthread_mutex_lock(&cpool.mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = next - now;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cpool.cond, &cpool.mu, &ts);
    }
    pthread_mutex_unlock(&cpool.mu);
    return NULL;
}

/* ---- start and stop --------------------------------------------------- */

int comfy_pool_start(struct db *d, const bb_config *cfg, char *err, size_t errlen)
{
    BB_ASSERT(!cpool.started);
    cpool.db = d;
    cpool.interval_sec = cfg->comfyui.health_interval_sec;     /* >= 1 (config_comfyui.c) */
    cpool.timeout_ms = cfg->comfyui.request_timeout_ms;
    if (repo_comfy_server_merge_config(d, cfg->comfyui.servers, cfg->comfyui.nservers) != BB_OK) {
        snprintf(err, errlen, "cannot store the configured ComfyUI servers (database error)");
        return -1;
    }
    char fresh[37], id[37];
    comfy_new_uuid(fresh);
    if (repo_comfy_client_id(d, fresh, id) != BB_OK || !id[0]) {
        snprintf(err, errlen, "cannot read the ComfyUI client id (database error)");
        return -1;
    }
    comfy_ws_set_client_id(id);
    comfy_server_rec *rows = NULL;
    size_t n = 0;
    if (repo_comfy_server_list(d, &rows, &n) != BB_OK) {
        snprintf(err, errlen, "cannot read the ComfyUI servers (database error)");
        return -1;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&cpool.cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    pthread_mutex_lock(&cpool.mu);
    cpool.started = true;
    cpool.stop = false;
    for (size_t i = 0; i < n; i++) {
        struct srv *s = rc == 0 ? srv_from_rec(&rows[i]) : NULL;
        if (rc == 0 && !s)
            rc = -1;
        if (s) {
            list_add(s);
            (void)sync_ws(s);       /* starts only: nothing to stop */
        }
        comfy_server_rec_clear(&rows[i]);
    }
    free(rows);
    pthread_mutex_unlock(&cpool.mu);
    for (int i = 0; rc == 0 && i < COMFY_HEALTH_THREADS; i++) {
        if (pthread_create(&cpool.health[i], NULL, health_main, NULL) != 0)
            rc = -1;
        else
            cpool.nhealth++;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the ComfyUI pool (out of memory or threads)");
        comfy_pool_stop();
    }
    return rc;
}

void comfy_pool_stop(void)
{
    pthread_mutex_lock(&cpool.mu);
    if (!cpool.started) {
        pthread_mutex_unlock(&cpool.mu);
        return;
    }
    cpool.stop = true;
    pthread_cond_broadcast(&cpool.cond);
    pthread_mutex_unlock(&cpool.mu);
    for (int i = 0; i < cpool.nhealth; i++)
        pthread_join(cpool.health[i], NULL);
    cpool.nhealth = 0;
    pthread_mutex_lock(&cpool.mu);
    struct srv *list = cpool.list, *gone = cpool.gone;
    cpool.list = cpool.gone = NULL;
    cpool.started = false;
    cpool.workers = NULL;
    cpool.db = NULL;
    pthread_mutex_unlock(&cpool.mu);
    for (struct srv *s = list, *nx; s; s = nx) {
        nx = s->next;
        srv_free(s);
    }
    for (struct srv *s = gone, *nx; s; s = nx) {
        nx = s->next;
        srv_free(s);
    }
    comfy_place_cache_clear();
    pthread_cond_destroy(&cpool.cond);
}

void comfy_pool_set_workers(struct pool *p)
{
    pthread_mutex_lock(&cpool.mu);
    cpool.workers = p;
    pthread_mutex_unlock(&cpool.mu);
}

/* ---- leases, health questions, reports ---------------------------------- */

int comfy_pool_acquire(const char *id, struct comfy_lease *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    if (s) {
        if (!s->ws)
            s->ws = cpool.started ? comfy_ws_start(s->id, s->url, ws_status, s) : NULL;
        s->leases++;
        s->running++;
        snprintf(l->id, sizeof l->id, "%s", s->id);
        snprintf(l->url, sizeof l->url, "%s", s->url);
        l->ws = s->ws;
        l->entry_ = s;
    }
    pthread_mutex_unlock(&cpool.mu);
    return s ? 0 : -1;
}

void comfy_pool_release(struct comfy_lease *l)
{
    struct srv *s = l->entry_, *free_it = NULL;
    comfy_ws *stop = NULL;
    if (!s)
        return;
    pthread_mutex_lock(&cpool.mu);
    BB_ASSERT(s->leases > 0);
    s->leases--;
    s->running--;
    if (s->removed && s->leases == 0) {
        for (struct srv **pp = &cpool.gone; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        free_it = s;
    } else if (!s->removed) {
        stop = sync_ws(s);
    }
    pthread_mutex_unlock(&cpool.mu);
    ws_stop_maybe(stop);
    srv_free(free_it);
    l->entry_ = NULL;
    l->ws = NULL;
    wake_workers();
}

bool comfy_pool_is_up(const char *id)
{
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    bool up = s && s->enabled && s->up;
    pthread_mutex_unlock(&cpool.mu);
    return up;
}

void comfy_pool_report(const char *id, enum comfy_outcome o, int64_t busy_ms)
{
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    if (s) {
        s->busy_ms += busy_ms > 0 ? busy_ms : 0;
        if (o == COMFY_DONE_OK)
            s->done++;
        else
            s->failed++;
        if (o == COMFY_SERVER_LOST) {
            s->up = false;
            snprintf(s->last_error, sizeof s->last_error, "lost while running a prompt");
            s->check_now = true;
            pthread_cond_broadcast(&cpool.cond);
        }
    }
    pthread_mutex_unlock(&cpool.mu);
}

/* ---- admin operations ------------------------------------------------- */

/* in's labels as JSON array text (caller frees), NULL when out of memory. */
static char *labels_text(const struct comfy_server_in *in)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < in->nlabels; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(in->labels[i]));
    char *t = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return t;
}

int comfy_pool_add(const struct comfy_server_in *in, bb_errctx *e)
{
    if (!cpool.db)
        return bb_fail(e, BB_EUNAVAIL, "the ComfyUI pool is not running");
    char *labels = labels_text(in);
    if (!labels)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    comfy_server_rec r = {.id = (char *)in->id, .url = (char *)in->url,
                          .slots = in->has_slots ? in->slots : 1, .labels = labels,
                          .enabled = in->has_enabled ? in->enabled : true};
    int rc = repo_comfy_server_insert(cpool.db, &r);
    free(r.source);
    if (rc == BB_ECONFLICT) {
        free(labels);
        return bb_fail(e, BB_ECONFLICT, "server \"%s\" exists", in->id);
    }
    if (rc != BB_OK) {
        free(labels);
        return bb_fail(e, rc, "cannot store the server");
    }
    r.source = "api";
    struct srv *s = srv_from_rec(&r);
    free(labels);
    if (!s)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    pthread_mutex_lock(&cpool.mu);
    list_add(s);
    comfy_ws *stop = sync_ws(s);
    pthread_cond_broadcast(&cpool.cond);
    pthread_mutex_unlock(&cpool.mu);
    ws_stop_maybe(stop);
    return BB_OK;
}

int comfy_pool_update(const char *id, const struct comfy_server_in *in, bb_errctx *e)
{
    if (!cpool.db)
        return bb_fail(e, BB_EUNAVAIL, "the ComfyUI pool is not running");
    char *labels = in->has_labels ? labels_text(in) : NULL;
    if (in->has_labels && !labels)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    int rc = repo_comfy_server_update(cpool.db, id, in->has_enabled, in->enabled, in->has_slots,
                                      in->slots, labels);
    if (rc != BB_OK) {
        free(labels);
        return rc == BB_ENOTFOUND ? bb_fail(e, rc, "no ComfyUI server \"%s\"", id)
                                  : bb_fail(e, rc, "cannot store the server");
    }
    bool wake = false;
    comfy_ws *stop = NULL;
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    if (s) {
        if (in->has_enabled) {
            wake = in->enabled && !s->enabled;
            s->check_now = s->check_now || wake;
            s->enabled = in->enabled;
        }
        if (in->has_slots) {
            wake = wake || in->slots > s->slots;
            s->slots = in->slots;
        }
        if (labels && !set_labels_json(s, labels))
            rc = bb_fail(e, BB_EINTERNAL, "out of memory");
        wake = wake || labels;
        stop = sync_ws(s);
        pthread_cond_broadcast(&cpool.cond);
    }
    pthread_mutex_unlock(&cpool.mu);
    ws_stop_maybe(stop);
    free(labels);
    if (wake)
        wake_workers();
    return rc;
}

int comfy_pool_remove(const char *id, bb_errctx *e)
{
    if (!cpool.db)
        return bb_fail(e, BB_EUNAVAIL, "the ComfyUI pool is not running");
    pthread_mutex_lock(&cpool.mu);
    struct srv *s = comfy_srv_find(id);
    bool cfg = s && s->from_config;
    pthread_mutex_unlock(&cpool.mu);
    if (!s)
        return bb_fail(e, BB_ENOTFOUND, "no ComfyUI server \"%s\"", id);
    if (cfg)
        return bb_fail(e, BB_ECONFLICT, "server \"%s\" is in the configuration file; "
                       "disable it (PATCH enabled false) or remove it from the file", id);
    int rc = repo_comfy_server_delete(cpool.db, id);
    if (rc != BB_OK && rc != BB_ENOTFOUND)
        return bb_fail(e, rc, "cannot delete the server");
    struct srv *free_it = NULL;
    pthread_mutex_lock(&cpool.mu);
    for (struct srv **pp = &cpool.list; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            s = *pp;
            *pp = s->next;
            s->removed = true;
            if (s->leases == 0) {
                free_it = s;
            } else {
                s->next = cpool.gone;
                cpool.gone = s;
            }
            break;
        }
    pthread_mutex_unlock(&cpool.mu);
    srv_free(free_it);
    return BB_OK;
}

int comfy_pool_refresh(const char *id)
{
    return check_one(id, true);
}

/* ---- JSON and metrics --------------------------------------------------- */

/* The catalogue's model count of s (cpool.mu held). */
static int models_count(const struct srv *s)
{
    int n = 0;
    for (const cJSON *f = s->models ? s->models->child : NULL; f; f = f->next)
        n += cJSON_GetArraySize(f);
    return n;
}

static cJSON *srv_json(const struct srv *s, bool with_urls)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", s->id);
    if (with_urls)
        cJSON_AddStringToObject(o, "url", s->url);
    cJSON_AddNumberToObject(o, "slots", s->slots);
    cJSON *labels = cJSON_AddArrayToObject(o, "labels");
    for (size_t i = 0; labels && i < s->nlabels; i++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(s->labels[i]));
    cJSON_AddBoolToObject(o, "enabled", s->enabled);
    cJSON_AddStringToObject(o, "source", s->from_config ? "config" : "api");
    cJSON_AddStringToObject(o, "status", !s->checked ? "unknown" : s->up ? "up" : "down");
    char iso[32];
    if (s->last_seen_at) {
        bb_iso8601(s->last_seen_at, iso);
        cJSON_AddStringToObject(o, "lastSeenAt", iso);
    } else
        cJSON_AddNullToObject(o, "lastSeenAt");
    if (s->last_error[0])
        cJSON_AddStringToObject(o, "lastError", s->last_error);
    else
        cJSON_AddNullToObject(o, "lastError");
    cJSON_AddNumberToObject(o, "running", s->running);
    if (s->queue_remaining >= 0)
        cJSON_AddNumberToObject(o, "queueRemaining", s->queue_remaining);
    else
        cJSON_AddNullToObject(o, "queueRemaining");
    cJSON *devs = s->devices ? cJSON_Duplicate(s->devices, 1) : cJSON_CreateArray();
    if (!devs || !cJSON_AddItemToObject(o, "devices", devs))
        cJSON_Delete(devs);
    if (s->version[0])
        cJSON_AddStringToObject(o, "comfyuiVersion", s->version);
    else
        cJSON_AddNullToObject(o, "comfyuiVersion");
    cJSON_AddNumberToObject(o, "models", models_count(s));
    cJSON_AddNumberToObject(o, "promptsDone", (double)s->done);
    cJSON_AddNumberToObject(o, "promptsFailed", (double)s->failed);
    return o;
}

cJSON *comfy_pool_servers_json(bool with_urls)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&cpool.mu);
    for (const struct srv *s = cpool.list; a && s; s = s->next) {
        cJSON *o = srv_json(s, with_urls);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    pthread_mutex_unlock(&cpool.mu);
    return a;
}

cJSON *comfy_pool_server_json(const char *id, bool with_urls)
{
    pthread_mutex_lock(&cpool.mu);
    const struct srv *s = comfy_srv_find(id);
    cJSON *o = s ? srv_json(s, with_urls) : NULL;
    pthread_mutex_unlock(&cpool.mu);
    return o;
}

/* One metric family: a sample per server of value(s). */
struct family {
    const char *name, *type, *help;
    double (*value)(const struct srv *);
};

static double v_up(const struct srv *s) { return s->enabled && s->up ? 1 : 0; }
static double v_running(const struct srv *s) { return s->running; }
static double v_done(const struct srv *s) { return (double)s->done; }
static double v_failed(const struct srv *s) { return (double)s->failed; }
static double v_busy(const struct srv *s) { return (double)s->busy_ms / 1000.0; }

/* The families of GET /metrics, in their order (docs/comfyui.md). */
static const struct family FAMILIES[] = {
    {"batchbox_comfyui_up", "gauge",
     "1 when the ComfyUI server is enabled and its last check succeeded", v_up},
    {"batchbox_comfyui_running", "gauge", "prompts running on the ComfyUI server", v_running},
    {"batchbox_comfyui_prompts_done_total", "counter",
     "prompts that succeeded on the ComfyUI server", v_done},
    {"batchbox_comfyui_prompts_failed_total", "counter",
     "prompts that failed or were lost on the ComfyUI server", v_failed},
    {"batchbox_comfyui_busy_seconds_total", "counter",
     "seconds prompts ran on the ComfyUI server", v_busy},
};

/* One family: HELP, TYPE and a sample per server. */
static int put_family(buf *out, const struct family *f)
{
    if (buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                   f->type) != 0)
        return -1;
    for (const struct srv *s = cpool.list; s; s = s->next)
        if (buf_printf(out, "%s{server=\"", f->name) != 0 ||
            metrics_put_label_value(out, s->id) != 0 ||
            buf_printf(out, "\"} %.17g\n", f->value(s)) != 0)
            return -1;
    return 0;
}

int comfy_pool_metrics(buf *out)
{
    pthread_mutex_lock(&cpool.mu);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof FAMILIES / sizeof FAMILIES[0]; i++)
        rc = put_family(out, &FAMILIES[i]);
    pthread_mutex_unlock(&cpool.mu);
    return rc;
}

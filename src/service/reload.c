/* reload.c — configuration reload (reload.h, docs/integrations.md
 * "Configuration reload").
 *
 * Threads: a reload runs on the thread that asked (the serve loop for
 * SIGHUP, a civetweb thread for the route), serialized by a mutex.
 * Readers never lock: app->cfg is an atomic pointer (service/app.h) and
 * a published configuration is never changed or freed before app_close,
 * so a reader holding an old pointer keeps a valid, consistent
 * configuration.  Retired versions are kept in a list (a reload is a rare
 * operator action; each version is a few kilobytes). */
#include "service/reload.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cJSON.h"
#include "infra/db/repo_job.h"
#include "util/log.h"
#include "util/util.h"

struct reload {
    pthread_mutex_t mu;
    char *path;                 /* NULL = defaults (then DATA/batchbox.json if present) */
    char *listen, *input_root;  /* command-line overrides, NULL = none */
    int workers;                /* command-line override, 0 = none */
    bb_config **retired;        /* every configuration replaced so far */
    size_t nretired, cap;
};

int svc_reload_init(bb_app *app, const char *path, const char *listen, int workers,
                    const char *input_root)
{
    struct reload *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    pthread_mutex_init(&r->mu, NULL);
    app->reload = r;
    r->workers = workers > 0 ? workers : 0;
    if ((path && !(r->path = strdup(path))) || (listen && !(r->listen = strdup(listen))) ||
        (input_root && !(r->input_root = strdup(input_root)))) {
        svc_reload_free(app);
        return -1;
    }
    return 0;
}

void svc_reload_free(bb_app *app)
{
    struct reload *r = app->reload;
    if (!r)
        return;
    for (size_t i = 0; i < r->nretired; i++) {
        config_free(r->retired[i]);
        free(r->retired[i]);
    }
    free(r->retired);
    free(r->path);
    free(r->listen);
    free(r->input_root);
    pthread_mutex_destroy(&r->mu);
    free(r);
    app->reload = NULL;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Keeps the running value of a string setting that needs a restart,
 * naming it in arr when the file asked for another.  false on OOM. */
static bool keep_str(cJSON *arr, const char *key, char **slot, const char *running)
{
    if (same(*slot, running))
        return true;
    if (!cJSON_AddItemToArray(arr, cJSON_CreateString(key)))
        return false;
    free(*slot);
    *slot = running ? strdup(running) : NULL;
    return !running || *slot;
}

static bool keep_flag(cJSON *arr, const char *key, bool *slot, bool running)
{
    if (*slot == running)
        return true;
    *slot = running;
    return cJSON_AddItemToArray(arr, cJSON_CreateString(key));
}

/* The settings read once at start-up (listen address, workers, input
 * root, storage): the new configuration keeps the running values; the
 * ones the file changed go into arr ("needs a restart"). */
static bool keep_restart_only(const bb_config *old, bb_config *c, cJSON *arr)
{
    bool ok = keep_str(arr, "listen", &c->listen, old->listen) &&
              keep_str(arr, "inputRoot", &c->input_root, old->input_root) &&
              keep_str(arr, "storage.driver", &c->storage.driver, old->storage.driver) &&
              keep_str(arr, "storage.s3.endpoint", &c->storage.s3.endpoint,
                       old->storage.s3.endpoint) &&
              keep_str(arr, "storage.s3.bucket", &c->storage.s3.bucket, old->storage.s3.bucket) &&
              keep_str(arr, "storage.s3.region", &c->storage.s3.region, old->storage.s3.region) &&
              keep_str(arr, "storage.s3.accessKey", &c->storage.s3.access_key,
                       old->storage.s3.access_key) &&
              keep_str(arr, "storage.s3.secretKey", &c->storage.s3.secret_key,
                       old->storage.s3.secret_key) &&
              keep_str(arr, "storage.s3.caBundle", &c->storage.s3.ca_bundle,
                       old->storage.s3.ca_bundle) &&
              keep_flag(arr, "storage.s3.https", &c->storage.s3.https, old->storage.s3.https) &&
              keep_flag(arr, "storage.s3.pathStyle", &c->storage.s3.path_style,
                        old->storage.s3.path_style) &&
              keep_flag(arr, "storage.s3.insecureSkipVerify", &c->storage.s3.insecure_skip_verify,
                        old->storage.s3.insecure_skip_verify);
    if (ok && c->workers != old->workers) {
        c->workers = old->workers;
        ok = cJSON_AddItemToArray(arr, cJSON_CreateString("workers"));
    }
    return ok;
}

/* Cancels the queued jobs of preset id (removed by the reload), a page at
 * a time; returns how many. */
static int cancel_queued_of(bb_app *app, const char *id)
{
    char reason[200];
    snprintf(reason, sizeof reason, "preset %.64s was removed by a configuration reload", id);
    int total = 0;
    for (int round = 0; round < 10000; round++) {
        struct job_filter f = {.has_state = true, .state = JOB_QUEUED, .preset = id,
                               .children = true, .limit = 200};
        job *items = NULL;
        size_t n = 0;
        if (repo_job_list(app->db, &f, &items, &n) != BB_OK)
            break;
        int done = 0;
        for (size_t i = 0; i < n; i++) {
            enum cancel_outcome oc;
            if (repo_job_cancel(app->db, items[i].id, 0, reason, &oc) == BB_OK)
                done++;
            job_clear(&items[i]);
        }
        free(items);
        total += done;
        if (n == 0 || done == 0)
            break;
    }
    return total;
}

/* Adds to arr the ids of a's presets that b does not have. */
static bool presets_missing(const bb_config *a, const bb_config *b, cJSON *arr)
{
    for (size_t i = 0; i < a->npresets; i++)
        if (!config_preset(b, a->presets[i].id) &&
            !cJSON_AddItemToArray(arr, cJSON_CreateString(a->presets[i].id)))
            return false;
    return true;
}

static int reload_locked(bb_app *app, struct reload *st, cJSON **report, bb_errctx *e)
{
    char *implicit = NULL;
    const char *path = st->path;
    if (!path) {
        size_t n = strlen(app->data_dir) + 16;
        implicit = malloc(n);
        if (implicit)
            snprintf(implicit, n, "%s/batchbox.json", app->data_dir);
        if (implicit && access(implicit, F_OK) == 0)
            path = implicit;
    }
    bb_config *c = calloc(1, sizeof *c);
    char err[512];
    int rc = c ? config_load(path, app->data_dir, c, err, sizeof err) : -1;
    if (rc != 0) {
        if (!c)
            snprintf(err, sizeof err, "out of memory");
        free(c);
        free(implicit);
        bb_warn("configuration reload refused: the running configuration stays", "error", err);
        bb_fail(e, BB_EINVAL, "the configuration was not reloaded: %s", err);
        bb_fail_field(e, "config", "%s", err);
        return BB_EINVAL;
    }
    /* the command line wins over the file, as at start-up */
    bool oom = false;
    if (st->listen) {
        free(c->listen);
        oom |= !(c->listen = strdup(st->listen));
    }
    if (st->input_root) {
        free(c->input_root);
        oom |= !(c->input_root = strdup(st->input_root));
    }
    if (st->workers > 0)
        c->workers = st->workers;
    bb_config *old = app->cfg;
    cJSON *doc = cJSON_CreateObject();
    cJSON *restart = doc ? cJSON_AddArrayToObject(doc, "needsRestart") : NULL;
    cJSON *added = doc ? cJSON_AddArrayToObject(doc, "presetsAdded") : NULL;
    cJSON *removed = doc ? cJSON_AddArrayToObject(doc, "presetsRemoved") : NULL;
    bool ok = !oom && removed && keep_restart_only(old, c, restart) &&
              presets_missing(c, old, added) && presets_missing(old, c, removed);
    if (ok && st->nretired == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        bb_config **v = realloc(st->retired, cap * sizeof *v);
        ok = v != NULL;
        if (v) {
            st->retired = v;
            st->cap = cap;
        }
    }
    if (!ok) {
        cJSON_Delete(doc);
        config_free(c);
        free(c);
        free(implicit);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    app->cfg = c;                       /* atomic publish (app.h) */
    st->retired[st->nretired++] = old;
    int canceled = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, removed) canceled += cancel_queued_of(app, it->valuestring);
    cJSON_AddBoolToObject(doc, "reloaded", true);
    if (path)
        cJSON_AddStringToObject(doc, "path", path);
    else
        cJSON_AddNullToObject(doc, "path");
    cJSON_AddNumberToObject(doc, "jobsCanceled", canceled);
    char nc[16];
    snprintf(nc, sizeof nc, "%d", canceled);
    bb_info("configuration reloaded", "path", path ? path : "(defaults)", "jobsCanceled", nc);
    free(implicit);
    *report = doc;
    return BB_OK;
}

int svc_reload(bb_app *app, cJSON **report, bb_errctx *e)
{
    *report = NULL;
    struct reload *st = app->reload;
    if (!st)
        return bb_fail(e, BB_EUNAVAIL, "configuration reload is not available here");
    pthread_mutex_lock(&st->mu);
    int rc = reload_locked(app, st, report, e);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

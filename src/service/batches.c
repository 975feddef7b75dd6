/* batches.c — batch use cases (see batches.h and docs/batches.md).
 *
 * A submit with `sweep` runs these steps on the request's thread:
 *   1. each member of the sweep becomes a dimension: a list of values
 *      (an array; a seed's {count} or {start, count}; md's array of upload
 *      ids and paths, or {dir, glob, recursive} listed in the input root);
 *   2. the product of the dimensions' sizes is checked against
 *      limits.maxBatchSize before any child is built;
 *   3. each combination (the last dimension varying fastest) becomes a
 *      submit body of its own — the request without `sweep`, with the
 *      swept params and md set — validated by svc_job_from_request like
 *      any submit; its field errors are renamed sweep.NAME;
 *   4. the parent and every child are inserted in one transaction
 *      (repo_batch_create): all or none.
 * Nothing here keeps state between calls. */
#include "service/batches.h"
#include "service/scheduler.h"

#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "service/flow.h"
#include "service/job_reads.h"
#include "service/jobs.h"
#include "util/util.h"

#define SEED_MAX 9007199254740991.0       /* 2^53 - 1 */
#define MAX_DIMS 16
#define LIST_CAP 100000                   /* files a folder sweep looks at */
#define DIR_DEPTH 16

/* One swept member: its values as a JSON array of strings (owned). */
struct dim {
    const char *name;     /* borrowed from the body; "md" for inputs */
    bool md;
    cJSON *values;
    int n;
};

/* The canonical text of a scalar sweep value (caller frees): strings as
 * they are, true/false, integers without a fraction.  NULL: not a scalar
 * (or out of memory). */
static char *value_text(const cJSON *v)
{
    char tmp[40];
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return NULL;
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) <= SEED_MAX)
        snprintf(tmp, sizeof tmp, "%.0f", d);
    else
        snprintf(tmp, sizeof tmp, "%.17g", d);
    return strdup(tmp);
}

/* Appends the string s to arr; false on OOM. */
static bool push(cJSON *arr, const char *s)
{
    cJSON *it = cJSON_CreateString(s);
    if (it && cJSON_AddItemToArray(arr, it))
        return true;
    cJSON_Delete(it);
    return false;
}

/* A seed dimension {count} (random seeds) or {start, count}. */
static int seed_values(const struct dim *d, const cJSON *spec, int max, bb_errctx *e)
{
    char field[80];
    snprintf(field, sizeof field, "sweep.%s", d->name);
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(spec, "count");
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(spec, "start");
    for (const cJSON *it = spec->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "count") != 0 && strcmp(it->string, "start")))
            return bb_fail_field(e, field, "takes only count and start");
    if (!cJSON_IsNumber(count) || count->valuedouble != floor(count->valuedouble) ||
        count->valuedouble < 1)
        return bb_fail_field(e, field, "count must be a whole number of at least 1");
    if (count->valuedouble > max)
        return bb_fail_field(e, "sweep", "%s makes %.0f jobs; the limit is %d "
                             "(limits.maxBatchSize)", field, count->valuedouble, max);
    int n = (int)count->valuedouble;
    double s0 = 0;
    if (start) {
        if (!cJSON_IsNumber(start) || start->valuedouble != floor(start->valuedouble) ||
            start->valuedouble < 0 || start->valuedouble + n - 1 > SEED_MAX)
            return bb_fail_field(e, field, "start must be a whole number from 0 and start + "
                                 "count - 1 at most 2^53 - 1");
        s0 = start->valuedouble;
    }
    for (int i = 0; i < n; i++) {
        char tmp[32];
        uint64_t r = 0;
        if (!start) {
            randombytes_buf(&r, sizeof r);
            r &= (UINT64_C(1) << 53) - 1;
        }
        snprintf(tmp, sizeof tmp, "%.0f", start ? s0 + i : (double)r);
        if (!push(d->values, tmp))
            return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    return BB_OK;
}

/* ---- folder sweeps -------------------------------------------------------- */

struct listing {
    const char *root;     /* real path of the input root */
    size_t root_len;
    const char *glob;
    bool recursive;
    char **paths;         /* relative to the root, owned */
    size_t n, cap;
    bool truncated;
};

static bool inside_root(const struct listing *l, const char *real)
{
    return strncmp(real, l->root, l->root_len) == 0 &&
           (real[l->root_len] == '/' || l->root_len == 1);
}

static int add_path(struct listing *l, const char *rel)
{
    if (l->n == LIST_CAP) {
        l->truncated = true;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p)
            return -1;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(rel)))
        return -1;
    l->n++;
    return 0;
}

/* Lists the files matching l->glob in the directory rel (relative to the
 * root; "" = the root), descending into subdirectories when recursive.  A
 * symbolic link counts only when it resolves to a regular file inside
 * the root; linked directories are not entered.  -1 on OOM. */
static int list_dir(struct listing *l, const char *rel, int depth)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s%s", l->root, *rel ? "/" : "", rel) >= (int)sizeof path)
        return 0;
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && !l->truncated && (de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;                       /* ".", "..", hidden files */
        char sub[PATH_MAX], full[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
                (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", l->root, sub) >= (int)sizeof full)
            continue;
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (l->recursive && depth < DIR_DEPTH)
                rc = list_dir(l, sub, depth + 1);
            continue;
        }
        if (fnmatch(l->glob, de->d_name, FNM_PERIOD) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char real[PATH_MAX];
            if (!realpath(full, real) || !inside_root(l, real) || stat(real, &st) != 0 ||
                !S_ISREG(st.st_mode))
                continue;
        } else if (!S_ISREG(st.st_mode)) {
            continue;
        }
        rc = add_path(l, sub);
    }
    closedir(dir);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* md: {dir, glob, recursive}: the matching files of a folder of the input
 * root, in name order, as paths relative to the root. */
static int folder_values(const bb_app *app, struct dim *d, const cJSON *spec, bb_errctx *e)
{
    for (const cJSON *it = spec->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "dir") && strcmp(it->string, "glob") &&
                            strcmp(it->string, "recursive")))
            return bb_fail_field(e, "sweep.md", "unknown member \"%.40s\": dir, glob, recursive",
                                 it->string ? it->string : "?");
    const char *dir = bb_json_opt_string(spec, "dir", e);
    const char *glob = bb_json_opt_string(spec, "glob", e);
    bool recursive = bb_json_opt_bool(spec, "recursive", false, e);
    if (e->code != BB_OK)
        return e->code;
    if (!dir)
        dir = "";
    if (!glob || !*glob)
        glob = "*";
    if (strlen(dir) >= PATH_MAX / 2 || strlen(glob) > 256)
        return bb_fail_field(e, "sweep.md", "dir or glob is too long");
    char root[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(app->cfg->input_root, root))
        return bb_fail_field(e, "sweep.md", "the input root %s does not exist on the server",
                             app->cfg->input_root);
    /* relative to the input root, or an absolute path inside it */
    snprintf(joined, sizeof joined, "%s%s%s", dir[0] == '/' ? "" : root, dir[0] == '/' ? "" : "/",
             dir);
    struct listing l = {.root = root, .root_len = strlen(root), .glob = glob,
                        .recursive = recursive};
    struct stat st;
    if (!realpath(joined, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
        return bb_fail_field(e, "sweep.md", "no such folder in the input root: %.200s", dir);
    bool is_root = strcmp(real, root) == 0;
    if (!is_root && !inside_root(&l, real))
        return bb_fail_field(e, "sweep.md", "dir resolves outside the input root");
    int rc = list_dir(&l, is_root ? "" : real + l.root_len + 1, 0);
    if (rc == 0 && l.n)
        qsort(l.paths, l.n, sizeof *l.paths, cmp_str);
    for (size_t i = 0; i < l.n; i++) {
        if (rc == 0 && !push(d->values, l.paths[i]))
            rc = -1;
        free(l.paths[i]);
    }
    free(l.paths);
    if (rc != 0)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    if (l.truncated)
        return bb_fail_field(e, "sweep", "the folder %.200s holds more than %d matching files; "
                             "the limit is %d (limits.maxBatchSize)", *dir ? dir : ".",
                             LIST_CAP, app->cfg->limits.max_batch_size);
    if (l.n == 0)
        return bb_fail_field(e, "sweep.md", "no file in %.200s matches \"%.100s\"",
                             *dir ? dir : "the input root", glob);
    return BB_OK;
}

/* ---- parsing the sweep ---------------------------------------------------- */

/* Fills d from the sweep member spec (d->name set). */
static int parse_dim(const bb_app *app, const bb_preset *preset, const cJSON *body,
                     struct dim *d, const cJSON *spec, bb_errctx *e)
{
    char field[80];
    snprintf(field, sizeof field, "sweep.%s", d->name);
    int max = app->cfg->limits.max_batch_size;
    if (!(d->values = cJSON_CreateArray()))
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    if (d->md) {
        if (cJSON_GetObjectItemCaseSensitive(body, "md"))
            return bb_fail_field(e, "sweep.md", "give md or sweep.md, not both");
    } else {
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "params");
        if (strlen(d->name) > 64)
            return bb_fail_field(e, "sweep", "parameter names are at most 64 characters");
        if (cJSON_IsObject(params) && cJSON_GetObjectItemCaseSensitive(params, d->name))
            return bb_fail_field(e, field, "is also given in params: give it in one place");
    }
    if (cJSON_IsArray(spec)) {
        int n = cJSON_GetArraySize(spec);
        if (n == 0)
            return bb_fail_field(e, field, "must list at least one value");
        if (n > max)
            return bb_fail_field(e, "sweep", "%s lists %d values; the limit is %d "
                                 "(limits.maxBatchSize)", field, n, max);
        for (const cJSON *v = spec->child; v; v = v->next) {
            char *text = value_text(v);
            if (!text || (d->md && !cJSON_IsString(v))) {
                free(text);
                return bb_fail_field(e, field, d->md ? "values must be upload ids or paths"
                                                     : "values must be strings, numbers or "
                                                       "booleans");
            }
            bool ok = push(d->values, text);
            free(text);
            if (!ok)
                return bb_fail(e, BB_EINTERNAL, "out of memory");
        }
    } else if (cJSON_IsObject(spec) && d->md) {
        if (folder_values(app, d, spec, e) != BB_OK)
            return e->code;
    } else if (cJSON_IsObject(spec)) {
        const bb_param *p = preset ? config_param(preset, d->name) : NULL;
        if (p && p->type != BB_PT_SEED)
            return bb_fail_field(e, field, "{count} and {start, count} are for seed parameters; "
                                 "list the values instead");
        if (seed_values(d, spec, max, e) != BB_OK)
            return e->code;
    } else {
        return bb_fail_field(e, field, d->md ? "must be an array of upload ids or paths, or "
                                               "{dir, glob, recursive}"
                                             : "must be an array of values, or {count} / "
                                               "{start, count} for a seed");
    }
    d->n = cJSON_GetArraySize(d->values);
    return BB_OK;
}

/* Parses the sweep into dims (cleared by the caller) and the product of
 * their sizes into *total. */
static int parse_sweep(const bb_app *app, const cJSON *body, struct dim *dims, int *ndims,
                       size_t *total, bb_errctx *e)
{
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(body, "sweep");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(body, "preset");
    const bb_preset *preset = cJSON_IsString(pv) ? config_preset(app->cfg, pv->valuestring)
                                                 : NULL;
    *ndims = 0;
    if (!cJSON_IsObject(sweep) || !sweep->child)
        return bb_fail_field(e, "sweep", "must be an object naming at least one parameter or md");
    for (const cJSON *it = sweep->child; it; it = it->next) {
        if (!it->string || cJSON_GetObjectItemCaseSensitive(sweep, it->string) != it)
            return bb_fail_field(e, "sweep", "names \"%.64s\" more than once",
                                 it->string ? it->string : "?");
        if (*ndims == MAX_DIMS)
            return bb_fail_field(e, "sweep", "at most %d swept names", MAX_DIMS);
        struct dim *d = &dims[(*ndims)++];
        d->name = it->string;
        d->md = strcmp(it->string, "md") == 0;
        if (parse_dim(app, preset, body, d, it, e) != BB_OK)
            return e->code;
    }
    /* the product, saturating well above any limit */
    uint64_t n = 1;
    for (int i = 0; i < *ndims; i++)
        n = n > UINT64_C(1) << 40 ? n : n * (uint64_t)dims[i].n;
    int max = app->cfg->limits.max_batch_size;
    if (n > (uint64_t)max)
        return bb_fail_field(e, "sweep", "the sweep makes %llu jobs; the limit is %d "
                             "(limits.maxBatchSize)", (unsigned long long)n, max);
    *total = (size_t)n;
    return BB_OK;
}

/* ---- building the children ------------------------------------------------ */

/* Copies the field errors of a child (ce) into e, renaming the swept ones:
 * params.NAME → sweep.NAME, md → sweep.md. */
static void child_errors(const struct dim *dims, int ndims, const char *combo, bb_errctx *ce,
                         bb_errctx *e)
{
    for (const cJSON *f = ce->fields ? ce->fields->child : NULL; f; f = f->next) {
        const char *name = f->string ? f->string : "?";
        char renamed[96];
        snprintf(renamed, sizeof renamed, "%s", name);
        for (int i = 0; i < ndims; i++) {
            bool hit = dims[i].md ? strcmp(name, "md") == 0
                                  : strncmp(name, "params.", 7) == 0 &&
                                        strcmp(name + 7, dims[i].name) == 0;
            if (hit)
                snprintf(renamed, sizeof renamed, "sweep.%s", dims[i].name);
        }
        bb_fail_field(e, renamed, "%s (in the job for %s)",
                      cJSON_IsString(f) ? f->valuestring : "is invalid", combo);
    }
    if (!ce->fields)
        bb_fail(e, ce->code, "%s (in the job for %s)", ce->message, combo);
}

/* Sets key of obj to the string v (replacing it); false on OOM. */
static bool set_string(cJSON *obj, const char *key, const char *v)
{
    cJSON *s = cJSON_CreateString(v);
    if (!s)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, s);
    if (cJSON_AddItemToObject(obj, key, s))
        return true;
    cJSON_Delete(s);
    return false;
}

/* Builds child `index` of the product: base with the combination's values
 * set, validated as a submit body. */
static int build_child(bb_app *app, const struct principal *who, const cJSON *base,
                       const struct dim *dims, int ndims, size_t index, job *out, bb_errctx *e)
{
    cJSON *body = cJSON_Duplicate(base, 1);
    cJSON *params = body ? cJSON_GetObjectItemCaseSensitive(body, "params") : NULL;
    if (body && !cJSON_IsObject(params) && !cJSON_GetObjectItemCaseSensitive(body, "params"))
        params = cJSON_AddObjectToObject(body, "params");
    char combo[200] = "";
    size_t used = 0;
    bool ok = body != NULL;
    size_t rest = index;
    for (int i = ndims - 1; ok && i >= 0; i--) {
        size_t k = rest % (size_t)dims[i].n;
        rest /= (size_t)dims[i].n;
        const char *v = cJSON_GetArrayItem(dims[i].values, (int)k)->valuestring;
        if (dims[i].md)
            ok = set_string(body, "md", v);
        else if (cJSON_IsObject(params))
            ok = set_string(params, dims[i].name, v);
        if (used < sizeof combo) {
            int w = snprintf(combo + used, sizeof combo - used, "%s%s=%.40s",
                             used ? ", " : "", dims[i].name, v);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (!ok) {
        cJSON_Delete(body);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    bb_errctx ce = {0};
    if (svc_job_from_request(app, body, out, &ce) == BB_OK) {
        out->owner_id = who ? who->user_id : 0;
        svc_job_check_upload(app, who, out, "md", &ce);
    }
    cJSON_Delete(body);
    if (ce.code != BB_OK) {
        job_clear(out);   /* filled when only the upload check failed */
        child_errors(dims, ndims, combo, &ce, e);
        bb_err_clear(&ce);
        return e->code;
    }
    return BB_OK;
}

/* The parent of the batch: the request's common settings (from the first
 * child), kind "batch", the unswept params as given, the sweep as given. */
static int build_parent(const cJSON *body, const job *first, const struct dim *dims,
                        int ndims, size_t total, job *p)
{
    memset(p, 0, sizeof *p);
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(body, "sweep");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "params");
    bool md_swept = false;
    for (int i = 0; i < ndims; i++)
        md_swept |= dims[i].md;
    const cJSON *folder = md_swept ? cJSON_GetObjectItemCaseSensitive(sweep, "md") : NULL;
    const cJSON *dir = cJSON_IsObject(folder) ? cJSON_GetObjectItemCaseSensitive(folder, "dir")
                                              : NULL;
    p->kind = strdup("batch");
    p->owner_id = first->owner_id;
    p->preset = strdup(first->preset);
    if (!md_swept)
        p->md = bb_strdup_or_null(first->md);
    else if (cJSON_IsString(dir))
        p->md = strdup(dir->valuestring);
    p->with_tts = first->with_tts;
    p->force_tts = first->force_tts;
    p->upload = bb_strdup_or_null(first->upload);
    p->voice_accent = bb_strdup_or_null(first->voice_accent);
    p->notion_database = bb_strdup_or_null(first->notion_database);
    p->mode = bb_strdup_or_null(first->mode);
    p->priority = first->priority;
    p->params = cJSON_IsObject(params) ? cJSON_PrintUnformatted(params) : strdup("{}");
    p->sweep = cJSON_PrintUnformatted(sweep);
    p->max_attempts = first->max_attempts;
    p->batch_total = p->batch_queued = (int)total;
    p->state = JOB_QUEUED;
    return p->kind && p->preset && p->params && p->sweep ? BB_OK : BB_EINTERNAL;
}

int svc_batch_submit(bb_app *app, const struct principal *who, const cJSON *body,
                     const char *idem_key, const char *idem_hash, int64_t *id, bool *existed,
                     bb_errctx *e)
{
    *existed = false;
    struct dim dims[MAX_DIMS];
    memset(dims, 0, sizeof dims);
    int ndims = 0;
    size_t total = 0;
    job *children = NULL;
    size_t built = 0;
    cJSON *base = NULL;
    job parent;
    memset(&parent, 0, sizeof parent);
    struct sched_submit when;
    /* the children wait together: runAt, dependsOn (docs/scheduling.md) */
    if (svc_job_quota_check(app, who, e) != BB_OK ||
        svc_sched_fields(app, who, body, &when, e) != BB_OK ||
        parse_sweep(app, body, dims, &ndims, &total, e) != BB_OK)
        goto done;
    base = cJSON_Duplicate(body, 1);
    children = calloc(total, sizeof *children);
    if (!base || !children) {
        bb_fail(e, BB_EINTERNAL, "out of memory");
        goto done;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(base, "sweep");
    for (; built < total; built++)
        if (build_child(app, who, base, dims, ndims, built, &children[built], e) != BB_OK)
            goto done;
    for (size_t i = 0; i < total; i++)
        if (svc_sched_apply(&when, &children[i]) != BB_OK) {
            bb_fail(e, BB_EINTERNAL, "out of memory");
            goto done;
        }
    if (build_parent(body, &children[0], dims, ndims, total, &parent) != BB_OK) {
        bb_fail(e, BB_EINTERNAL, "out of memory");
        goto done;
    }
    parent.run_at = when.run_at;
    int rc = repo_batch_create(app->db, &parent, children, total, idem_key, idem_hash, existed);
    *id = parent.id;
    if (rc != BB_OK)
        svc_store_error(e, rc);
    else if (!*existed && app->pool)
        pool_wake(app->pool);
done:
    for (size_t i = 0; i < built; i++)
        job_clear(&children[i]);
    free(children);
    job_clear(&parent);
    cJSON_Delete(base);
    for (int i = 0; i < ndims; i++)
        cJSON_Delete(dims[i].values);
    return e->code;
}

/* ---- lists ----------------------------------------------------------------- */

int svc_jobs_page(bb_app *app, const struct principal *who, const struct job_query *q,
                  int64_t batch_of, struct job_page *out, bb_errctx *e)
{
    struct job_filter f;
    memset(out, 0, sizeof *out);
    if (svc_job_filter(app, who, q->state, q->preset, q->q, q->limit, q->cursor, &f, e) !=
            BB_OK ||
        svc_filter_more(who, q->created_after, q->created_before, q->owner, q->out_of_attempts,
                        "", &f, e) != BB_OK)
        return e->code;
    if (q->children && *q->children) {
        if (strcmp(q->children, "1") == 0 || strcmp(q->children, "true") == 0)
            f.children = true;
        else if (strcmp(q->children, "0") != 0 && strcmp(q->children, "false") != 0)
            return bb_fail_field(e, "children", "must be 1 or 0");
    }
    int64_t batch = batch_of;
    if (!batch && q->batch && *q->batch && (bb_parse_i64(q->batch, &batch) != 0 || batch < 1))
        return bb_fail_field(e, "batch", "must be a job id");
    if (batch) {
        job p;
        if (svc_job_get(app, who, batch, &p, e) != BB_OK)
            return e->code;
        bool is_batch = job_is_batch(&p);
        job_clear(&p);
        if (!is_batch)
            return batch_of ? bb_fail(e, BB_ESTATE, "job %lld is not a batch", (long long)batch)
                            : bb_fail_field(e, "batch", "job %lld is not a batch",
                                            (long long)batch);
        f.batch_id = batch;
    }
    return svc_job_page_fill(app, &f, out, e);
}

/* ---- actions --------------------------------------------------------------- */

int svc_batch_cancel(bb_app *app, const struct principal *who, int64_t id, const char *reason,
                     char *message, size_t cap, bb_errctx *e)
{
    int canceled = 0;
    int64_t *running = NULL;
    size_t nrunning = 0;
    int rc = repo_batch_cancel(app->db, id, principal_scope(who), reason, &canceled, &running,
                               &nrunning);
    if (rc != BB_OK)
        return rc;
    for (size_t i = 0; app->pool && i < nrunning; i++)
        pool_cancel(app->pool, running[i]);
    free(running);
    snprintf(message, cap, "batch canceled: %d queued job%s canceled, %zu running stopping",
             canceled, canceled == 1 ? "" : "s", nrunning);
    return BB_OK;
}

int svc_batch_retry(bb_app *app, const struct principal *who, const job *parent,
                    char *message, size_t cap, bb_errctx *e)
{
    (void)e;
    const bb_preset *p = config_preset(app->cfg, parent->preset);
    int n = 0;
    int rc = repo_batch_retry(app->db, parent->id, principal_scope(who),
                              p ? p->max_attempts : 1, &n);
    if (rc != BB_OK)
        return rc;
    if (app->pool)
        pool_wake(app->pool);
    snprintf(message, cap, "%d job%s of the batch queued again", n, n == 1 ? "" : "s");
    return BB_OK;
}

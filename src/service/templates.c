/* templates.c — template use cases (see templates.h).  A template keeps
 * form values as the user gave them: their shape is checked here (every
 * key names a param the preset declares or uses in argv, values are
 * scalars, a sweep entry is a list or a seed/folder form), their values
 * are checked again when a job is submitted from them, since the preset
 * may have changed in between. */
#include "service/templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/util.h"

#define VALUE_MAX 4096      /* bytes of one string value (as for params) */
#define KEYS_MAX 64         /* params of one template (as for jobs) */
#define SWEEP_VALUES_MAX 1000

/* The template owner who stands for: nobody (0) in open mode. */
static int64_t owner_of(const struct principal *who)
{
    return who->open ? 0 : who->user_id;
}

static bool may_share(const struct principal *who)
{
    return who->open || who->admin;
}

static const bb_preset *preset_or_fail(const bb_app *app, const char *id, bb_errctx *e)
{
    const bb_preset *p = id ? config_preset(app->cfg, id) : NULL;
    if (!p)
        bb_fail(e, BB_ENOTFOUND, "no such preset \"%.64s\"", id ? id : "");
    return p;
}

/* True when preset p declares param name, or uses it in argv as
 * {param.NAME} (the argv-only names configurations list before they are
 * declared). */
static bool preset_has_param(const bb_preset *p, const char *name)
{
    if (config_param(p, name))
        return true;
    char needle[80];
    if (snprintf(needle, sizeof needle, "{param.%s}", name) >= (int)sizeof needle)
        return false;
    for (size_t i = 0; i < p->argc; i++)
        if (strstr(p->argv[i], needle))
            return true;
    return false;
}

/* A template value: a string (at most VALUE_MAX bytes), a number or a
 * boolean.  Records field `field` otherwise. */
static bool scalar_ok(const cJSON *v, const char *field, bb_errctx *e)
{
    if (cJSON_IsString(v)) {
        if (strlen(v->valuestring) > VALUE_MAX) {
            bb_fail_field(e, field, "is longer than %d bytes", VALUE_MAX);
            return false;
        }
        return true;
    }
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        return true;
    bb_fail_field(e, field, "must be a string, a number or a boolean");
    return false;
}

/* An object's members must have distinct names (cJSON keeps duplicates). */
static bool unique_keys(const cJSON *o, const char *field, bb_errctx *e)
{
    for (const cJSON *it = o->child; it; it = it->next)
        if (cJSON_GetObjectItemCaseSensitive(o, it->string) != it) {
            bb_fail_field(e, field, "\"%.64s\" appears more than once", it->string);
            return false;
        }
    return true;
}

/* params and sweep: an object of at most KEYS_MAX distinct names, else
 * the field error `want` on field. */
static bool keyed_object(const cJSON *o, const char *field, const char *want, bb_errctx *e)
{
    if (!cJSON_IsObject(o)) {
        bb_fail_field(e, field, "%s", want);
        return false;
    }
    if (!unique_keys(o, field, e))
        return false;
    if (cJSON_GetArraySize(o) > KEYS_MAX) {
        bb_fail_field(e, field, "at most %d names", KEYS_MAX);
        return false;
    }
    return true;
}

static void check_params(const bb_preset *p, const cJSON *params, bb_errctx *e)
{
    if (!keyed_object(params, "params", "must be an object of param values", e))
        return;
    for (const cJSON *it = params->child; it; it = it->next) {
        char field[96];
        snprintf(field, sizeof field, "params.%.64s", it->string);
        if (!preset_has_param(p, it->string))
            bb_fail_field(e, field, "preset \"%s\" has no such param", p->id);
        else
            scalar_ok(it, field, e);
    }
}

/* An integer-valued JSON number in [lo, hi]. */
static bool int_in(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == (double)(long long)v->valuedouble;
}

/* Only the members listed in `allowed` (NULL-terminated). */
static bool only_members(const cJSON *o, const char *const *allowed, const char *field,
                         bb_errctx *e)
{
    for (const cJSON *it = o->child; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(it->string, allowed[i]) == 0;
        if (!known) {
            bb_fail_field(e, field, "unknown member \"%.64s\"", it->string);
            return false;
        }
    }
    return true;
}

/* sweep.md: a list of upload ids/paths, or {dir, glob?, recursive?}. */
static void check_sweep_md(const cJSON *v, const char *field, bb_errctx *e)
{
    static const char *const members[] = {"dir", "glob", "recursive", NULL};
    if (cJSON_IsObject(v)) {
        if (!unique_keys(v, field, e) || !only_members(v, members, field, e))
            return;
        const cJSON *dir = cJSON_GetObjectItemCaseSensitive(v, "dir");
        const cJSON *glob = cJSON_GetObjectItemCaseSensitive(v, "glob");
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(v, "recursive");
        if (!cJSON_IsString(dir) || strlen(dir->valuestring) > VALUE_MAX)
            bb_fail_field(e, field, "dir must be a path in the input root");
        else if (glob && (!cJSON_IsString(glob) || strlen(glob->valuestring) > 256))
            bb_fail_field(e, field, "glob must be a pattern of at most 256 bytes");
        else if (rec && !cJSON_IsBool(rec))
            bb_fail_field(e, field, "recursive must be true or false");
        return;
    }
    if (!cJSON_IsArray(v)) {
        bb_fail_field(e, field, "must be a list of inputs or {\"dir\": ..., \"glob\": ...}");
        return;
    }
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > SWEEP_VALUES_MAX) {
        bb_fail_field(e, field, "must list 1 to %d inputs", SWEEP_VALUES_MAX);
        return;
    }
    for (const cJSON *it = v->child; it; it = it->next)
        if (!cJSON_IsString(it) || !it->valuestring[0] ||
            strlen(it->valuestring) > VALUE_MAX) {
            bb_fail_field(e, field, "every input must be an upload id or a path");
            return;
        }
}

/* sweep.NAME of a param: a list of values, or for a seed param
 * {"count": N} / {"start": S, "count": N}. */
static void check_sweep_param(const bb_param *pp, const cJSON *v, const char *field,
                              bb_errctx *e)
{
    static const char *const members[] = {"start", "count", NULL};
    if (cJSON_IsObject(v)) {
        if (!pp || pp->type != BB_PT_SEED) {
            bb_fail_field(e, field, "{\"count\": N} is only for seed params; give a list");
            return;
        }
        if (!unique_keys(v, field, e) || !only_members(v, members, field, e))
            return;
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(v, "start");
        if (!int_in(cJSON_GetObjectItemCaseSensitive(v, "count"), 1, SWEEP_VALUES_MAX))
            bb_fail_field(e, field, "count must be an integer from 1 to %d", SWEEP_VALUES_MAX);
        else if (start && !int_in(start, 0, 9007199254740991.0))
            bb_fail_field(e, field, "start must be an integer from 0 to 2^53-1");
        return;
    }
    if (!cJSON_IsArray(v)) {
        bb_fail_field(e, field, "must be a list of values");
        return;
    }
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > SWEEP_VALUES_MAX) {
        bb_fail_field(e, field, "must list 1 to %d values", SWEEP_VALUES_MAX);
        return;
    }
    for (const cJSON *it = v->child; it; it = it->next)
        if (!scalar_ok(it, field, e))
            return;
}

static void check_sweep(const bb_preset *p, const cJSON *sweep, bb_errctx *e)
{
    if (!keyed_object(sweep, "sweep", "must be an object (param name → values)", e))
        return;
    for (const cJSON *it = sweep->child; it; it = it->next) {
        char field[96];
        snprintf(field, sizeof field, "sweep.%.64s", it->string);
        if (strcmp(it->string, "md") == 0)
            check_sweep_md(it, field, e);
        else if (!preset_has_param(p, it->string))
            bb_fail_field(e, field, "preset \"%s\" has no such param", p->id);
        else
            check_sweep_param(config_param(p, it->string), it, field, e);
    }
}

/* A name: 1 to TEMPLATE_NAME_MAX characters of valid UTF-8, not blank,
 * no control characters. */
static void check_name(const cJSON *v, bb_errctx *e)
{
    if (!v || cJSON_IsNull(v)) {
        bb_fail_field(e, "name", "is required");
        return;
    }
    if (!cJSON_IsString(v)) {
        bb_fail_field(e, "name", "must be a string");
        return;
    }
    const char *s = v->valuestring;
    size_t len = strlen(s), chars = 0;
    bool blank = true;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7F) {
            bb_fail_field(e, "name", "must not contain control characters");
            return;
        }
        if ((*c & 0xC0) != 0x80)
            chars++;
        if (*c != ' ')
            blank = false;
    }
    if (!bb_utf8_valid(s, len))
        bb_fail_field(e, "name", "must be valid UTF-8");
    else if (blank)
        bb_fail_field(e, "name", "must not be empty");
    else if (chars > TEMPLATE_NAME_MAX)
        bb_fail_field(e, "name", "must be at most %d characters", TEMPLATE_NAME_MAX);
}

int svc_template_list(bb_app *app, const struct principal *who, const char *preset,
                      template_rec **out, size_t *n, bb_errctx *e)
{
    *out = NULL;
    *n = 0;
    const bb_preset *p = preset_or_fail(app, preset, e);
    if (!p)
        return e->code;
    int rc = repo_template_list(app->db, p->id, owner_of(who), TEMPLATES_LIST_MAX, out, n);
    if (rc != BB_OK)
        return bb_fail(e, (enum bb_err)rc, "cannot list templates");
    return BB_OK;
}

int svc_template_save(bb_app *app, const struct principal *who, const char *preset,
                      const cJSON *body, template_rec *out, bool *replaced, bb_errctx *e)
{
    static const char *const known[] = {"name", "params", "sweep", "shared", NULL};
    memset(out, 0, sizeof *out);
    *replaced = false;
    const bb_preset *p = preset_or_fail(app, preset, e);
    if (!p)
        return e->code;
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(it->string, known[i]) == 0;
        if (!ok)
            bb_fail_field(e, it->string, "unknown field");
        else if (cJSON_GetObjectItemCaseSensitive(body, it->string) != it)
            bb_fail_field(e, it->string, "appears more than once");
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "params");
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(body, "sweep");
    check_name(name, e);
    if (!params || cJSON_IsNull(params))
        bb_fail_field(e, "params", "is required (an object; {} for none)");
    else
        check_params(p, params, e);
    if (sweep && !cJSON_IsNull(sweep))
        check_sweep(p, sweep, e);
    bool shared = bb_json_opt_bool(body, "shared", false, e);
    if (e->code != BB_OK)
        return e->code;
    if (shared && !may_share(who))
        return bb_fail(e, BB_EFORBIDDEN, "only an admin may share a template");

    out->owner_id = owner_of(who);
    out->preset = strdup(p->id);
    out->name = strdup(name->valuestring);
    out->params = cJSON_PrintUnformatted(params);
    out->sweep = sweep && !cJSON_IsNull(sweep) ? cJSON_PrintUnformatted(sweep) : NULL;
    out->shared = shared;
    if (!out->preset || !out->name || !out->params || (sweep && !cJSON_IsNull(sweep) &&
                                                       !out->sweep)) {
        template_rec_clear(out);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    int rc = repo_template_save(app->db, out, TEMPLATES_PER_USER, replaced);
    if (rc == BB_ECONFLICT)
        bb_fail(e, BB_ECONFLICT, "you already have %d templates (the most one user may keep); "
                "delete one first", TEMPLATES_PER_USER);
    else if (rc != BB_OK)
        bb_fail(e, (enum bb_err)rc, "cannot save the template");
    if (rc != BB_OK)
        template_rec_clear(out);
    return rc;
}

int svc_template_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    template_rec t;
    int rc = repo_template_get(app->db, id, &t);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such template");
    if (rc != BB_OK)
        return bb_fail(e, (enum bb_err)rc, "cannot read the template");
    bool own = t.owner_id == owner_of(who);
    bool visible = own || t.shared || may_share(who);
    bool shared = t.shared;
    template_rec_clear(&t);
    if (!visible)
        return bb_fail(e, BB_ENOTFOUND, "no such template");
    if (!own && !may_share(who))
        return bb_fail(e, BB_EFORBIDDEN, "%s template can be deleted only by its owner or an "
                       "admin", shared ? "a shared" : "this");
    rc = repo_template_delete(app->db, id, owner_of(who), may_share(who));
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such template");
    if (rc != BB_OK)
        return bb_fail(e, (enum bb_err)rc, "cannot delete the template");
    return BB_OK;
}

/* A stored JSON text as a value (NULL text → null; unparsable → null). */
static cJSON *stored_json(const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    return v ? v : cJSON_CreateNull();
}

cJSON *svc_template_dto(const template_rec *t)
{
    char id[32], owner[32], created[32], updated[32];
    snprintf(id, sizeof id, "tpl_%lld", (long long)t->id);
    snprintf(owner, sizeof owner, "%lld", (long long)t->owner_id);
    bb_iso8601(t->created_at, created);
    bb_iso8601(t->updated_at, updated);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "preset", t->preset);
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddItemToObject(o, "params", stored_json(t->params));
    cJSON_AddItemToObject(o, "sweep", stored_json(t->sweep));
    cJSON_AddBoolToObject(o, "shared", t->shared);
    if (t->owner_id > 0)
        cJSON_AddStringToObject(o, "ownerId", owner);
    else
        cJSON_AddNullToObject(o, "ownerId");
    cJSON_AddStringToObject(o, "createdAt", created);
    cJSON_AddStringToObject(o, "updatedAt", updated);
    if (!cJSON_GetObjectItemCaseSensitive(o, "updatedAt")) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

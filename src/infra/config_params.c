/* config_params.c — a preset's "params" list (docs/parameters.md): each
 * element parsed into a bb_param and checked (a bad schema stops start-up
 * with a message naming the key, "presets[2].params[1].min: ..."), then
 * the names argv mentions but the list does not declare added as string
 * params (declared = false).  Defaults are checked against their own
 * schema with the same code that checks a job's values at submit
 * (domain/params.c); an enum's optionsSource, and defaults drawn from it,
 * are checked once the whole file is known (cfg_check_params).  Runs at
 * start-up only, on one thread. */
#include "infra/config_int.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/params.h"
#include "infra/exec/workflow.h"

enum { K_NAME, K_TYPE, K_LABEL, K_HELP, K_DEFAULT, K_REQUIRED, K_MIN, K_MAX, K_STEP,
       K_MAXLEN, K_PATTERN, K_CHOICES, K_SOURCE, K_DASH, K_NKEYS };
static const char *const PARAM_KEYS[] = {
    "name", "type", "label", "help", "default", "required", "min", "max", "step",
    "maxLength", "pattern", "choices", "optionsSource", "allowDash", NULL,
};

static void free_param(bb_param *p)
{
    free(p->name);
    free(p->label);
    free(p->help);
    free(p->pattern);
    for (size_t i = 0; i < p->nchoices; i++) {
        free(p->choices[i].value);
        free(p->choices[i].label);
    }
    free(p->choices);
    free(p->options_source);
    free(p->default_json);
}

void cfg_free_params(bb_preset *p)
{
    for (size_t i = 0; p->params && i < p->nparams; i++)
        free_param(&p->params[i]);
    free(p->params);
    p->params = NULL;
    p->nparams = 0;
}

static bool is_number_type(enum bb_param_type t)
{
    return t == BB_PT_INT || t == BB_PT_FLOAT;
}

/* min / max / step of a number param: finite; integers for int. */
static int get_bound(load_ctx *x, const cJSON *it, const char *path, const char *key,
                     enum bb_param_type t, bool *has, double *out)
{
    if (it == NULL)
        return 0;
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, key);
    if (!is_number_type(t))
        return cfg_fail(x, "\"%s\" is only for params of type int or float", kp);
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return cfg_fail(x, "\"%s\" must be a number", kp);
    if (t == BB_PT_INT) {
        int64_t v;
        if (!cfg_json_int(it, -CONFIG_INT_MAX, CONFIG_INT_MAX, &v))
            return cfg_fail(x, "\"%s\" must be an integer (the param is of type int)", kp);
    }
    *has = true;
    *out = it->valuedouble;
    return 0;
}

/* "choices": strings, or {"value", "label"} objects; values unique. */
static int parse_choices(load_ctx *x, const cJSON *arr, const char *path, bb_param *p)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, "choices");
    size_t n = 0;
    for (const cJSON *e = cJSON_IsArray(arr) ? arr->child : NULL; e; e = e->next)
        n++;
    if (!cJSON_IsArray(arr) || n == 0 || n > 1000)
        return cfg_fail(x, "\"%s\" must be an array of 1 to 1000 strings or "
                        "{\"value\", \"label\"} objects", kp);
    p->choices = calloc(n, sizeof *p->choices);
    if (p->choices == NULL)
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char ep[KEY_PATH_MAX];
        snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
        const cJSON *v = e, *l = NULL;
        if (cJSON_IsObject(e)) {
            static const char *const CHOICE_KEYS[] = {"value", "label", NULL};
            const cJSON *f[2] = {0};
            if (cfg_collect(x, e, ep, CHOICE_KEYS, f) != 0)
                return -1;
            v = f[0];
            l = f[1];
            if (l != NULL && (!cJSON_IsString(l) || l->valuestring[0] == '\0')) {
                char lp[KEY_PATH_MAX];
                cfg_key_path(lp, sizeof lp, ep, "label");
                return cfg_fail(x, "\"%s\" must be a non-empty string", lp);
            }
        }
        if (v == NULL || !cJSON_IsString(v) || v->valuestring[0] == '\0' ||
            strlen(v->valuestring) > PARAMS_MAX_TEXT)
            return cfg_fail(x, "\"%s\" must be a non-empty string (or an object with one as "
                            "\"value\") of at most %d bytes", ep, PARAMS_MAX_TEXT);
        for (size_t k = 0; k < i; k++)
            if (strcmp(p->choices[k].value, v->valuestring) == 0)
                return cfg_fail(x, "\"%s\": the value \"%.64s\" is listed twice", ep,
                                v->valuestring);
        p->nchoices = i + 1;
        p->choices[i].value = strdup(v->valuestring);
        p->choices[i].label = strdup(l ? l->valuestring : v->valuestring);
        if (p->choices[i].value == NULL || p->choices[i].label == NULL)
            return cfg_fail_oom(x);
    }
    return 0;
}

/* The keys only some types take, and the type's own rules. */
static int parse_type_keys(load_ctx *x, const cJSON *const *f, const char *path, bb_param *p)
{
    char kp[KEY_PATH_MAX];
    if (get_bound(x, f[K_MIN], path, "min", p->type, &p->has_min, &p->min) != 0 ||
        get_bound(x, f[K_MAX], path, "max", p->type, &p->has_max, &p->max) != 0 ||
        get_bound(x, f[K_STEP], path, "step", p->type, &p->has_step, &p->step) != 0)
        return -1;
    if (p->has_min && p->has_max && p->min > p->max) {
        cfg_key_path(kp, sizeof kp, path, "min");
        return cfg_fail(x, "\"%s\" is greater than max", kp);
    }
    if (p->has_step && !(p->step > 0)) {
        cfg_key_path(kp, sizeof kp, path, "step");
        return cfg_fail(x, "\"%s\" must be greater than 0", kp);
    }
    bool textual = p->type == BB_PT_STRING || p->type == BB_PT_TEXT;
    if (f[K_MAXLEN] != NULL) {
        cfg_key_path(kp, sizeof kp, path, "maxLength");
        if (!textual)
            return cfg_fail(x, "\"%s\" is only for params of type string or text", kp);
        if (cfg_get_int(x, f[K_MAXLEN], path, "maxLength", 1, PARAMS_MAX_TEXT, 0,
                        &p->max_length) != 0)
            return -1;
    }
    if (f[K_PATTERN] != NULL) {
        cfg_key_path(kp, sizeof kp, path, "pattern");
        if (p->type != BB_PT_STRING)
            return cfg_fail(x, "\"%s\" is only for params of type string", kp);
        if (cfg_get_string(x, f[K_PATTERN], path, "pattern", true, &p->pattern) != 0)
            return -1;
        regex_t re;
        int rc = regcomp(&re, p->pattern, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &re, why, sizeof why);
            return cfg_fail(x, "\"%s\" is not a POSIX extended regular expression: %s", kp,
                            why);
        }
        regfree(&re);
    }
    if (p->type != BB_PT_ENUM && (f[K_CHOICES] != NULL || f[K_SOURCE] != NULL)) {
        cfg_key_path(kp, sizeof kp, path, f[K_CHOICES] ? "choices" : "optionsSource");
        return cfg_fail(x, "\"%s\" is only for params of type enum", kp);
    }
    if (p->type == BB_PT_ENUM) {
        if ((f[K_CHOICES] == NULL) == (f[K_SOURCE] == NULL)) {
            cfg_key_path(kp, sizeof kp, path, "choices");
            return cfg_fail(x, "\"%s\": an enum param needs either \"choices\" or "
                            "\"optionsSource\" (not both)", kp);
        }
        if (f[K_CHOICES] != NULL && parse_choices(x, f[K_CHOICES], path, p) != 0)
            return -1;
        if (f[K_SOURCE] != NULL) {
            if (cfg_get_string(x, f[K_SOURCE], path, "optionsSource", true,
                               &p->options_source) != 0)
                return -1;
            if (!workflow_has_source(p->options_source)) {
                cfg_key_path(kp, sizeof kp, path, "optionsSource");
                return cfg_fail(x, "\"%s\": unknown source \"%.64s\" (this build provides: "
                                "%s)", kp, p->options_source, workflow_source_names());
            }
        }
    }
    return 0;
}

static int parse_bool_key(load_ctx *x, const cJSON *it, const char *path, const char *key,
                          bool *out)
{
    if (it == NULL)
        return 0;
    if (!cJSON_IsBool(it)) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, key);
        return cfg_fail(x, "\"%s\" must be true or false", kp);
    }
    *out = cJSON_IsTrue(it);
    return 0;
}

/* Checks a default against the param's own schema (an optionsSource
 * enum's later, in cfg_check_params). */
static int check_default(load_ctx *x, const char *path, const bb_param *p, bool command,
                         const bb_config *cfg)
{
    if (p->default_json == NULL)
        return 0;
    cJSON *d = cJSON_Parse(p->default_json);
    if (d == NULL)
        return cfg_fail_oom(x);
    params_env env = {.cfg = cfg, .check_file = NULL, .ud = NULL};
    cJSON *res = NULL;
    char msg[256] = "";
    int rc = params_check_value(p, command, d, &env, &res, msg, sizeof msg);
    cJSON_Delete(d);
    cJSON_Delete(res);
    if (rc != 0) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, "default");
        return cfg_fail(x, "\"%s\" %s", kp, msg);
    }
    return 0;
}

static int parse_param(load_ctx *x, const cJSON *e, const char *path, bool command,
                       bb_param *p)
{
    char kp[KEY_PATH_MAX];
    const cJSON *f[K_NKEYS] = {0};
    if (!cJSON_IsObject(e))
        return cfg_fail(x, "\"%s\" must be an object", path);
    if (cfg_collect(x, e, path, PARAM_KEYS, f) != 0)
        return -1;
    p->declared = true;
    if (cfg_get_string(x, f[K_NAME], path, "name", true, &p->name) != 0)
        return -1;
    if (!params_name_ok(p->name, strlen(p->name))) {
        cfg_key_path(kp, sizeof kp, path, "name");
        return cfg_fail(x, "\"%s\" must be 1 to 64 characters from A-Z a-z 0-9 _ -", kp);
    }
    cfg_key_path(kp, sizeof kp, path, "type");
    const cJSON *t = f[K_TYPE];
    int type = t && cJSON_IsString(t) ? params_type_parse(t->valuestring) : -1;
    if (type < 0)
        return cfg_fail(x, "\"%s\" must be one of \"string\", \"text\", \"int\", \"float\", "
                        "\"bool\", \"enum\", \"seed\", \"file\"", kp);
    p->type = (enum bb_param_type)type;
    if (cfg_get_string(x, f[K_LABEL], path, "label", false, &p->label) != 0 ||
        cfg_get_string(x, f[K_HELP], path, "help", false, &p->help) != 0 ||
        parse_bool_key(x, f[K_REQUIRED], path, "required", &p->required) != 0 ||
        parse_bool_key(x, f[K_DASH], path, "allowDash", &p->allow_dash) != 0)
        return -1;
    if (p->label == NULL && cfg_set_str(x, &p->label, p->name) != 0)
        return -1;
    if (parse_type_keys(x, f, path, p) != 0)
        return -1;
    if (f[K_DEFAULT] != NULL && !cJSON_IsNull(f[K_DEFAULT])) {
        p->default_json = cJSON_PrintUnformatted(f[K_DEFAULT]);
        if (p->default_json == NULL)
            return cfg_fail_oom(x);
        if (p->options_source == NULL && check_default(x, path, p, command, NULL) != 0)
            return -1;
    }
    return 0;
}

/* Appends an undeclared string param `name` (argv mentions it). */
static int add_undeclared(load_ctx *x, bb_preset *pr, const char *name, size_t n)
{
    for (size_t i = 0; i < pr->nparams; i++)
        if (strlen(pr->params[i].name) == n && memcmp(pr->params[i].name, name, n) == 0)
            return 0;
    bb_param *grown = realloc(pr->params, (pr->nparams + 1) * sizeof *grown);
    if (grown == NULL)
        return cfg_fail_oom(x);
    pr->params = grown;
    bb_param *p = &pr->params[pr->nparams];
    memset(p, 0, sizeof *p);
    pr->nparams++;
    p->name = strndup(name, n);
    p->label = strndup(name, n);
    if (p->name == NULL || p->label == NULL)
        return cfg_fail_oom(x);
    p->type = BB_PT_STRING;
    p->declared = false;
    p->required = true;     /* the command cannot run without it */
    return 0;
}

/* The {param.NAME} placeholders of argv (already checked by
 * exec_check_template) not in the list become undeclared params. */
static int add_argv_names(load_ctx *x, bb_preset *pr)
{
    for (size_t k = 0; k < pr->argc; k++) {
        const char *t = pr->argv[k];
        while (*t != '\0') {
            if ((t[0] == '{' || t[0] == '}') && t[1] == t[0]) {
                t += 2;
                continue;
            }
            if (t[0] != '{') {
                t++;
                continue;
            }
            const char *close = strchr(t + 1, '}');
            if (close == NULL)
                break;
            if (close - t > 7 && memcmp(t + 1, "param.", 6) == 0 &&
                add_undeclared(x, pr, t + 7, (size_t)(close - t - 7)) != 0)
                return -1;
            t = close + 1;
        }
    }
    return 0;
}

int cfg_parse_params(load_ctx *x, const cJSON *arr, const char *path, bb_preset *pr)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, "params");
    size_t n = 0;
    if (arr != NULL) {
        for (const cJSON *e = cJSON_IsArray(arr) ? arr->child : NULL; e; e = e->next)
            n++;
        if (!cJSON_IsArray(arr) || n > PARAMS_MAX_COUNT)
            return cfg_fail(x, "\"%s\" must be an array of at most %d param objects", kp,
                            PARAMS_MAX_COUNT);
    }
    if (n > 0 && (pr->params = calloc(n, sizeof *pr->params)) == NULL)
        return cfg_fail_oom(x);
    bool command = pr->workflow == BB_WF_COMMAND;
    size_t i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++) {
        char ep[KEY_PATH_MAX];
        snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
        pr->nparams = i + 1;
        if (parse_param(x, e, ep, command, &pr->params[i]) != 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(pr->params[k].name, pr->params[i].name) == 0) {
                char np[KEY_PATH_MAX];
                cfg_key_path(np, sizeof np, ep, "name");
                return cfg_fail(x, "\"%s\": \"%s\" is already declared by %s[%zu]", np,
                                pr->params[i].name, kp, k);
            }
    }
    if (add_argv_names(x, pr) != 0)
        return -1;
    if (pr->nparams > PARAMS_MAX_COUNT)
        return cfg_fail(x, "\"%s\": at most %d params (declared and in argv)", kp,
                        PARAMS_MAX_COUNT);
    return 0;
}

int cfg_check_params(load_ctx *x, const bb_config *c)
{
    for (size_t i = 0; i < c->npresets; i++) {
        const bb_preset *pr = &c->presets[i];
        for (size_t k = 0; k < pr->nparams; k++) {
            const bb_param *p = &pr->params[k];
            if (p->options_source == NULL || p->default_json == NULL ||
                workflow_source_is_live(p->options_source))
                continue; /* a catalogue's values are known once servers answer */
            char path[KEY_PATH_MAX];
            snprintf(path, sizeof path, "presets[%zu].params[%zu]", i, k);
            if (check_default(x, path, p, pr->workflow == BB_WF_COMMAND, c) != 0)
                return -1;
        }
    }
    return 0;
}

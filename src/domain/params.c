/* params.c — typed parameters at submit (see params.h and
 * docs/parameters.md): one value checked against its bb_param, a job's
 * params object resolved against its preset (defaults filled, random
 * seeds drawn), canonical text for command substitution, and the schema
 * as /config/job-options shows it.  Reads the configuration only, so
 * any thread may call it. */
#include "domain/params.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/exec/workflow.h"
#include "util/text.h"
#include "util/utf8.h"

#define INT_LIMIT 9007199254740992.0    /* 2^53: every integer below is exact */

static const char *const TYPE_NAMES[] = {
    [BB_PT_STRING] = "string", [BB_PT_TEXT] = "text", [BB_PT_INT] = "int",
    [BB_PT_FLOAT] = "float",   [BB_PT_BOOL] = "bool", [BB_PT_ENUM] = "enum",
    [BB_PT_SEED] = "seed",     [BB_PT_FILE] = "file",
};
#define NTYPES (sizeof TYPE_NAMES / sizeof TYPE_NAMES[0])

const char *params_type_name(enum bb_param_type t)
{
    return (size_t)t < NTYPES ? TYPE_NAMES[t] : "?";
}

int params_type_parse(const char *s)
{
    for (size_t i = 0; s && i < NTYPES; i++)
        if (strcmp(TYPE_NAMES[i], s) == 0)
            return (int)i;
    return -1;
}

int64_t params_random_seed(void)
{
    uint64_t r;
    randombytes_buf(&r, sizeof r);
    return (int64_t)(r & ((UINT64_C(1) << 53) - 1));
}

/* ---- canonical text ------------------------------------------------------ */

/* The shortest decimal text of d that reads back as d, without an
 * exponent.  Caller frees. */
static char *number_text(double d)
{
    char buf[400];
    if (d == floor(d) && fabs(d) < INT_LIMIT) {
        snprintf(buf, sizeof buf, "%lld", (long long)d);
        return strdup(buf);
    }
    int prec = 17;
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) {
            prec = p;
            break;
        }
    }
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    const char *ex = strchr(buf, 'e');
    if (ex != NULL) {
        long e10 = strtol(ex + 1, NULL, 10);
        long decimals = prec - 1 - e10;
        if (decimals < 0)
            decimals = 0;
        if (decimals > 340)
            decimals = 340;
        snprintf(buf, sizeof buf, "%.*f", (int)decimals, d);
        if (strchr(buf, '.') != NULL) {
            size_t n = strlen(buf);
            while (n > 0 && buf[n - 1] == '0')
                buf[--n] = '\0';
            if (n > 0 && buf[n - 1] == '.')
                buf[--n] = '\0';
        }
    }
    return strdup(buf);
}

char *params_canonical_text(const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
        return number_text(v->valuedouble);
    return NULL;
}

/* Turns number node c into a raw node of its canonical text. */
static bool number_to_raw(cJSON *c)
{
    char *t = number_text(c->valuedouble);
    if (t == NULL)
        return false;
    c->type = cJSON_Raw;
    c->valuestring = t;
    return true;
}

bool params_exact_numbers(cJSON *v)
{
    if (v == NULL)
        return true;
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble) ? number_to_raw(v) : true;
    bool ok = true;
    for (cJSON *c = v->child; c != NULL; c = c->next)
        ok &= params_exact_numbers(c);
    return ok;
}

/* ---- one value ------------------------------------------------------------- */

/* A number from a JSON number or a string that is one decimal number in
 * full (old clients and the CLI send strings).  false when neither. */
static bool number_of(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return isfinite(*out);
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return false;
    const char *s = v->valuestring;
    if (*s == '\0' || strlen(s) > 64)
        return false;
    for (const char *c = s; *c; c++)      /* no inf, nan, hex or spaces */
        if (!strchr("0123456789+-.eE", *c))
            return false;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* Whether d lies on the param's step grid (from min, or from 0). */
static bool on_step(const bb_param *p, double d)
{
    if (!p->has_step)
        return true;
    double k = (d - (p->has_min ? p->min : 0)) / p->step;
    double tol = 1e-9 * (fabs(k) > 1 ? fabs(k) : 1);
    return fabs(k - nearbyint(k)) <= tol;
}

/* The range and step of an int or float; 0 or -1 with msg. */
static int check_range(const bb_param *p, double d, char *msg, size_t msglen)
{
    char a[64] = "", b[64] = "";
    char *ta = p->has_min ? number_text(p->min) : NULL;
    char *tb = p->has_max ? number_text(p->max) : NULL;
    snprintf(a, sizeof a, "%s", ta ? ta : "");
    snprintf(b, sizeof b, "%s", tb ? tb : "");
    free(ta);
    free(tb);
    if ((p->has_min && d < p->min) || (p->has_max && d > p->max)) {
        if (p->has_min && p->has_max)
            snprintf(msg, msglen, "must be between %s and %s", a, b);
        else if (p->has_min)
            snprintf(msg, msglen, "must be at least %s", a);
        else
            snprintf(msg, msglen, "must be at most %s", b);
        return -1;
    }
    if (!on_step(p, d)) {
        char *ts = number_text(p->step);
        snprintf(msg, msglen, "must be a multiple of %s%s%s", ts ? ts : "?",
                 p->has_min ? " from " : "", p->has_min ? a : "");
        free(ts);
        return -1;
    }
    return 0;
}

/* Whether the whole of s matches the param's pattern; -1 when the pattern
 * does not compile (it did at load, so: out of memory). */
static int pattern_matches(const char *pattern, const char *s)
{
    size_t n = strlen(pattern) + 5;
    char *anchored = malloc(n);
    if (anchored == NULL)
        return -1;
    snprintf(anchored, n, "^(%s)$", pattern);
    regex_t re;
    int rc = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0)
        return -1;
    rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return rc == 0 ? 1 : 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* string, text, file: checks common to every text value. */
static int check_text(const bb_param *p, const cJSON *v, char *msg, size_t msglen)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        snprintf(msg, msglen, "must be a string");
        return -1;
    }
    const char *s = v->valuestring;
    size_t bytes = strlen(s);
    if (bytes > PARAMS_MAX_TEXT || !bb_utf8_valid(s, bytes)) {
        snprintf(msg, msglen, "must be valid UTF-8 of at most %d bytes", PARAMS_MAX_TEXT);
        return -1;
    }
    if (p->max_length > 0 && utf8_chars(s) > (size_t)p->max_length) {
        snprintf(msg, msglen, "must be at most %d characters long", p->max_length);
        return -1;
    }
    if (p->declared && p->type != BB_PT_TEXT && strpbrk(s, "\r\n") != NULL) {
        snprintf(msg, msglen, "must be one line (no line breaks)");
        return -1;
    }
    if (p->pattern != NULL) {
        int m = pattern_matches(p->pattern, s);
        if (m <= 0) {
            snprintf(msg, msglen, m < 0 ? "could not be checked (out of memory)"
                                        : "must match the pattern %.160s", p->pattern);
            return -1;
        }
    }
    return 0;
}

/* enum: one of the static choices, or of the source's current values. */
static int check_enum(const bb_param *p, const cJSON *v, const params_env *env, char *msg,
                      size_t msglen)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        snprintf(msg, msglen, "must be a string (one of the choices)");
        return -1;
    }
    const char *s = v->valuestring;
    for (size_t i = 0; i < p->nchoices; i++)
        if (strcmp(p->choices[i].value, s) == 0)
            return 0;
    bool found = false;
    if (p->options_source != NULL) {
        cJSON *arr = workflow_source_choices(env ? env->cfg : NULL, p->options_source);
        /* a live catalogue nobody has reported yet: the job waits for a
         * server that has the value (placement says so in waitingFor) */
        bool unknown = arr != NULL && arr->child == NULL &&
                       workflow_source_is_live(p->options_source);
        found = unknown;
        for (const cJSON *c = arr ? arr->child : NULL; c && !found; c = c->next) {
            const cJSON *cv = cJSON_GetObjectItemCaseSensitive(c, "value");
            found = cJSON_IsString(cv) && strcmp(cv->valuestring, s) == 0;
        }
        cJSON_Delete(arr);
        if (found)
            return 0;
        snprintf(msg, msglen, "\"%.64s\" is not one of the current values of %s", s,
                 p->options_source);
        return -1;
    }
    size_t used = (size_t)snprintf(msg, msglen, "must be one of");
    for (size_t i = 0; i < p->nchoices && used < msglen; i++)
        used += (size_t)snprintf(msg + used, msglen - used, "%s \"%.40s\"", i ? "," : "",
                                 p->choices[i].value);
    return -1;
}

/* file: an upload id "upl_N", or a path the caller's check accepts. */
static int check_file(const cJSON *v, const params_env *env, char *msg, size_t msglen)
{
    const char *s = v->valuestring;
    if (*s == '\0') {
        snprintf(msg, msglen, "must name an upload (upl_N) or a file in the input root");
        return -1;
    }
    if (strncmp(s, "upl_", 4) == 0) {
        int64_t id;
        if (bb_parse_i64(s + 4, &id) != 0 || id < 1) {
            snprintf(msg, msglen, "\"%.40s\" is not an upload id", s);
            return -1;
        }
    }
    if (env && env->check_file && env->check_file(env->ud, s, msg, msglen) != 0)
        return -1;
    return 0;
}

/* The typed value of v for p in *out (new node), or -1 with msg. */
static int typed_value(const bb_param *p, const cJSON *v, const params_env *env, cJSON **out,
                       char *msg, size_t msglen)
{
    double d;
    switch (p->type) {
    case BB_PT_STRING:
    case BB_PT_TEXT:
        if (check_text(p, v, msg, msglen) != 0)
            return -1;
        *out = cJSON_CreateString(v->valuestring);
        return 0;
    case BB_PT_FILE:
        if (check_text(p, v, msg, msglen) != 0 || check_file(v, env, msg, msglen) != 0)
            return -1;
        *out = cJSON_CreateString(v->valuestring);
        return 0;
    case BB_PT_ENUM:
        if (check_enum(p, v, env, msg, msglen) != 0)
            return -1;
        *out = cJSON_CreateString(v->valuestring);
        return 0;
    case BB_PT_BOOL:
        if (cJSON_IsBool(v)) {
            *out = cJSON_CreateBool(cJSON_IsTrue(v));
            return 0;
        }
        if (cJSON_IsString(v) && v->valuestring &&
            (strcmp(v->valuestring, "true") == 0 || strcmp(v->valuestring, "false") == 0)) {
            *out = cJSON_CreateBool(strcmp(v->valuestring, "true") == 0);
            return 0;
        }
        snprintf(msg, msglen, "must be true or false");
        return -1;
    case BB_PT_INT:
        if (!number_of(v, &d) || d != floor(d) || fabs(d) >= INT_LIMIT) {
            snprintf(msg, msglen, "must be an integer");
            return -1;
        }
        if (check_range(p, d, msg, msglen) != 0)
            return -1;
        *out = cJSON_CreateNumber(d);
        return 0;
    case BB_PT_FLOAT:
        if (!number_of(v, &d)) {
            snprintf(msg, msglen, "must be a number");
            return -1;
        }
        if (check_range(p, d, msg, msglen) != 0)
            return -1;
        *out = cJSON_CreateNumber(d);
        return 0;
    case BB_PT_SEED:
        if (cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, "random") == 0) {
            *out = cJSON_CreateNumber((double)params_random_seed());
            return 0;
        }
        if (!number_of(v, &d) || d != floor(d) || d < 0 || d > PARAMS_SEED_MAX) {
            snprintf(msg, msglen, "must be \"random\" or an integer from 0 to "
                     "9007199254740991");
            return -1;
        }
        *out = cJSON_CreateNumber(d);
        return 0;
    }
    snprintf(msg, msglen, "has an unknown type");
    return -1;
}

int params_check_value(const bb_param *p, bool command, const cJSON *v,
                       const params_env *env, cJSON **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        snprintf(msg, msglen, "must not be null");
        return -1;
    }
    cJSON *res = NULL;
    if (typed_value(p, v, env, &res, msg, msglen) != 0)
        return -1;
    if (res == NULL) {
        snprintf(msg, msglen, "could not be stored (out of memory)");
        return -1;
    }
    /* The dash rule: a command's argument starting with '-' would become
     * an option of its program.  An enum's values are the config's own. */
    if (command && !p->allow_dash && p->type != BB_PT_ENUM) {
        char *t = params_canonical_text(res);
        bool dash = t != NULL && t[0] == '-';
        free(t);
        if (dash) {
            cJSON_Delete(res);
            snprintf(msg, msglen, "must not start with \"-\" (it would become an option of "
                     "the preset's program; the preset may set \"allowDash\")");
            return -1;
        }
    }
    *out = res;
    return 0;
}

/* ---- a job's params object ------------------------------------------------ */

bool params_name_ok(const char *s, size_t n)
{
    if (s == NULL || n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Whether the preset declares any param (then unknown names are errors;
 * a preset without declarations takes any name as a string, as before
 * typed params existed). */
static bool declares_any(const bb_preset *pr)
{
    for (size_t i = 0; i < pr->nparams; i++)
        if (pr->params[i].declared)
            return true;
    return false;
}

/* Checks v for p and adds the typed value to out under p's name; false
 * with a field error on "params.NAME" otherwise. */
static bool resolve_one(const bb_param *p, bool command, const cJSON *v,
                        const params_env *env, cJSON *out, bb_errctx *e)
{
    char msg[256] = "", field[80];
    snprintf(field, sizeof field, "params.%s", p->name);
    cJSON *res = NULL;
    if (params_check_value(p, command, v, env, &res, msg, sizeof msg) != 0) {
        bb_fail_field(e, field, "%s", msg);
        return false;
    }
    if (!cJSON_AddItemToObject(out, p->name, res)) {
        cJSON_Delete(res);
        bb_fail(e, BB_EINTERNAL, "out of memory");
        return false;
    }
    return true;
}

int params_resolve(const bb_preset *pr, const cJSON *in, const params_env *env, cJSON **out,
                   bb_errctx *e)
{
    *out = NULL;
    if (in != NULL && !cJSON_IsNull(in) && !cJSON_IsObject(in))
        return bb_fail_field(e, "params", "must be an object");
    const cJSON *obj = cJSON_IsObject(in) ? in : NULL;
    bool command = pr->workflow == BB_WF_COMMAND;
    bool strict = declares_any(pr);
    int n = 0;
    bool bad = false;
    for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next, n++) {
        if (!it->string || !params_name_ok(it->string, strlen(it->string))) {
            bad = true;
            bb_fail_field(e, "params", "parameter names are 1-64 of A-Z a-z 0-9 _ -");
        } else if (strict && config_param(pr, it->string) == NULL) {
            char field[80];
            snprintf(field, sizeof field, "params.%s", it->string);
            bad = true;
            bb_fail_field(e, field, "unknown parameter of preset \"%s\"", pr->id);
        }
    }
    if (n > PARAMS_MAX_COUNT) {
        bad = true;
        bb_fail_field(e, "params", "at most %d parameters", PARAMS_MAX_COUNT);
    }
    if (bad)
        return BB_EINVAL;

    cJSON *res = cJSON_CreateObject();
    if (res == NULL)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    for (size_t i = 0; i < pr->nparams; i++) {
        const bb_param *p = &pr->params[i];
        const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, p->name) : NULL;
        if (v != NULL && !cJSON_IsNull(v)) {
            bad |= !resolve_one(p, command, v, env, res, e);
        } else if (p->default_json != NULL) {
            cJSON *d = cJSON_Parse(p->default_json);
            if (d == NULL) {
                bad = true;
                bb_fail(e, BB_EINTERNAL, "out of memory");
            } else {
                bad |= !resolve_one(p, command, d, env, res, e);
            }
            cJSON_Delete(d);
        } else if (p->required) {
            char field[80];
            snprintf(field, sizeof field, "params.%s", p->name);
            bad = true;
            bb_fail_field(e, field, "is required");
        }
    }
    /* names of a preset without declarations: strings, as they always were */
    for (const cJSON *it = obj && !strict ? obj->child : NULL; it; it = it->next) {
        if (config_param(pr, it->string) != NULL)
            continue;
        bb_param loose = {.name = it->string, .label = it->string, .type = BB_PT_STRING};
        bad |= !resolve_one(&loose, false, it, env, res, e);
    }
    if (bad) {
        cJSON_Delete(res);
        return e->code != BB_OK ? e->code : BB_EINVAL;
    }
    *out = res;
    return BB_OK;
}

/* ---- the schema for /config/job-options ---------------------------------- */

/* Adds key: value to o; false when out of memory (value freed). */
static bool put(cJSON *o, const char *key, cJSON *value)
{
    if (value != NULL && cJSON_AddItemToObject(o, key, value))
        return true;
    cJSON_Delete(value);
    return false;
}

static cJSON *choices_json(const bb_config *cfg, const bb_param *p)
{
    if (p->options_source != NULL) {
        cJSON *arr = workflow_source_choices(cfg, p->options_source);
        return arr ? arr : cJSON_CreateArray();
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < p->nchoices; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!put(c, "value", cJSON_CreateString(p->choices[i].value)) ||
            !put(c, "label", cJSON_CreateString(p->choices[i].label)) ||
            !cJSON_AddItemToArray(arr, c)) {
            cJSON_Delete(c);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static cJSON *param_json(const bb_config *cfg, const bb_param *p)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && put(o, "name", cJSON_CreateString(p->name)) &&
              put(o, "type", cJSON_CreateString(params_type_name(p->type))) &&
              put(o, "label", cJSON_CreateString(p->label ? p->label : p->name)) &&
              put(o, "required", cJSON_CreateBool(p->required)) &&
              put(o, "declared", cJSON_CreateBool(p->declared));
    if (ok && p->help)
        ok = put(o, "help", cJSON_CreateString(p->help));
    if (ok && p->default_json)
        ok = put(o, "default", cJSON_Parse(p->default_json));
    if (ok && p->has_min)
        ok = put(o, "min", cJSON_CreateNumber(p->min));
    if (ok && p->has_max)
        ok = put(o, "max", cJSON_CreateNumber(p->max));
    if (ok && p->has_step)
        ok = put(o, "step", cJSON_CreateNumber(p->step));
    if (ok && p->max_length > 0)
        ok = put(o, "maxLength", cJSON_CreateNumber(p->max_length));
    if (ok && p->pattern)
        ok = put(o, "pattern", cJSON_CreateString(p->pattern));
    if (ok && p->type == BB_PT_ENUM)
        ok = put(o, "choices", choices_json(cfg, p));
    if (ok && p->options_source)
        ok = put(o, "optionsSource", cJSON_CreateString(p->options_source));
    if (ok && p->allow_dash)
        ok = put(o, "allowDash", cJSON_CreateTrue());
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *params_schema_json(const bb_config *cfg, const bb_preset *pr)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < pr->nparams; i++) {
        cJSON *o = param_json(cfg, &pr->params[i]);
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

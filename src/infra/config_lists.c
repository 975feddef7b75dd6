/* config_lists.c — the arrays of batchbox.json: presets, voices and
 * notionDatabases through one generic array parser (a table row per
 * array: element size, element parser, where the array lives in
 * bb_config), and tts.commandArgv.  A preset's workflow-specific keys are
 * the ones its workflow declares (struct workflow.keys in
 * infra/exec/workflow.h).  An array in a file replaces the defaults' as a
 * whole.  Runs at start-up only. */
#include "infra/config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infra/exec/exec.h"
#include "infra/exec/tts.h"
#include "infra/exec/workflow.h"

/* ---- freeing -------------------------------------------------------------- */

/* The strings each element owns, by offset; a preset's argv (a string
 * vector) and its params are freed by free_preset_more. */
static const size_t PRESET_STRS[] = {
    offsetof(bb_preset, id), offsetof(bb_preset, label),
    offsetof(bb_preset, defaults.voice_accent), offsetof(bb_preset, defaults.mode),
    offsetof(bb_preset, defaults.upload), offsetof(bb_preset, defaults.notion_database),
    offsetof(bb_preset, translate_to),
    offsetof(bb_preset, needs),
};
static const size_t VOICE_STRS[] = {
    offsetof(bb_voice, id), offsetof(bb_voice, label), offsetof(bb_voice, accent),
    offsetof(bb_voice, gender), offsetof(bb_voice, provider), offsetof(bb_voice, provider_voice),
};
static const size_t NOTION_STRS[] = {offsetof(bb_notion_db, id), offsetof(bb_notion_db, name)};

static void free_preset_more(void *elem)
{
    cfg_free_strv(((bb_preset *)elem)->argv);
    cfg_free_params(elem);
    cfg_free_translate(((bb_preset *)elem)->translate);
    notify_free_list(((bb_preset *)elem)->notify, ((bb_preset *)elem)->nnotify);
    cfg_free_comfy_preset(elem);
}

/* ---- array elements ------------------------------------------------- */

/* Sorts (id, index) pairs to find a repeated id in O(n log n); reports
 * the repeat that comes first in the file. */
typedef struct id_ref {
    const char *id;
    size_t idx;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int r = strcmp(x->id, y->id);
    if (r != 0)
        return r;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* ids[i] is element i's id.  Returns 0 when all differ, 1 with *first and
 * *dup set (dup > first, dup smallest), -1 out of memory. */
static int find_dup(const char *const *ids, size_t n, size_t *first,
                    size_t *dup)
{
    if (n < 2)
        return 0;
    id_ref *r = calloc(n, sizeof *r);
    if (r == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        r[i].id = ids[i];
        r[i].idx = i;
    }
    qsort(r, n, sizeof *r, cmp_id_ref);
    int found = 0;
    for (size_t i = 1; i < n; i++) {
        /* r[i-1] is the first of its run only if it starts the run. */
        if (strcmp(r[i].id, r[i - 1].id) != 0)
            continue;
        if (i >= 2 && strcmp(r[i - 2].id, r[i].id) == 0)
            continue;
        if (!found || r[i].idx < *dup) {
            *first = r[i - 1].idx;
            *dup = r[i].idx;
            found = 1;
        }
    }
    free(r);
    return found;
}

/* [A-Za-z0-9._-]{1,64} */
static bool preset_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (!(ch < 0x80 && isalnum(ch)) && ch != '.' && ch != '_' && ch != '-')
            return false;
    }
    return n >= 1 && n <= 64;
}

/* [a-z0-9_]{1,64} */
static bool accent_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return n >= 1 && n <= 64;
}

enum { P_ID, P_LABEL, P_WORKFLOW, P_ARGV, P_TIMEOUT, P_ATTEMPTS, P_CONC,
       P_DELAY, P_DEFAULTS, P_GAP, P_PARAMS, P_TRANSLATE, P_TRANSLATE_TO, P_NEEDS,
       P_ALLOW_NEEDS, P_RATE, P_RETENTION, P_NOTIFY, P_GRAPH, P_SERVERS, P_NKEYS };
static const char *const PRESET_KEYS[] = {
    "id", "label", "workflow", "argv", "timeoutSec", "maxAttempts",
    "concurrency", "retryDelayMs", "defaults", "gapMs", "params", "translate", "translateTo",
    "needs", "allowJobNeeds", "rateLimit", "retention", "notify", "graph", "servers", NULL,
};
enum { D_TTS, D_ACCENT, D_MODE, D_UPLOAD, D_NOTION, D_NKEYS };
static const char *const DEFAULT_KEYS[] = {
    "withTts", "voiceAccent", "mode", "upload", "notionDatabase", NULL,
};
static const char *const MODES[] = {"auto", "dialogue", "monologue", NULL};
static const char *const UPLOADS[] = {"auto", "none", "s3", NULL};

const char *config_workflow_name(enum bb_workflow w)
{
    const struct workflow *wf = workflow_of(w);
    return wf ? wf->name : "?";
}

/* True when a template (already checked) has an {input} placeholder;
 * "{{input}}" is the literal text "{input}", not a placeholder. */
static bool mentions_input(const char *t)
{
    while (*t != '\0') {
        if ((t[0] == '{' || t[0] == '}') && t[1] == t[0]) {
            t += 2;
        } else if (t[0] == '{') {
            const char *close = strchr(t + 1, '}');
            if (close == NULL)
                return false;
            if (close - t == 6 && memcmp(t + 1, "input", 5) == 0)
                return true;
            t = close + 1;
        } else {
            t++;
        }
    }
    return false;
}

static int parse_argv(load_ctx *x, const cJSON *arr, const char *path,
                      bb_preset *p)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, "argv");
    if (!cJSON_IsArray(arr) || arr->child == NULL)
        return cfg_fail(x, "\"%s\" must be a non-empty array of non-empty strings",
                    kp);
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next)
        n++;
    p->argv = calloc(n + 1, sizeof *p->argv);
    if (p->argv == NULL)
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char ep[KEY_PATH_MAX + 24];
        snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
        if (!cJSON_IsString(e) || e->valuestring == NULL ||
            e->valuestring[0] == '\0')
            return cfg_fail(x, "\"%s\" must be a non-empty string", ep);
        char why[256] = "";
        if (exec_check_template(e->valuestring, why, sizeof why) != 0)
            return cfg_fail(x, "\"%s\": %s", ep,
                        why[0] ? why : "invalid argument template");
        p->argv[i] = strdup(e->valuestring);
        if (p->argv[i] == NULL)
            return cfg_fail_oom(x);
        p->argc = i + 1;
        if (mentions_input(e->valuestring))
            p->uses_input = true;
    }
    return 0;
}

/* A lesson preset's "defaults" object (may be NULL: all built-in).  The
 * accent and Notion database are checked against the voices and databases
 * in finish(), once every key of the file is known. */
static int parse_lesson_defaults(load_ctx *x, const cJSON *obj, const char *path,
                                 bb_preset *p)
{
    char dp[KEY_PATH_MAX], kp[KEY_PATH_MAX];
    cfg_key_path(dp, sizeof dp, path, "defaults");
    p->defaults.with_tts = true;
    const cJSON *f[D_NKEYS] = {0};
    if (obj != NULL) {
        if (!cJSON_IsObject(obj))
            return cfg_fail(x, "\"%s\" must be an object", dp);
        if (cfg_collect(x, obj, dp, DEFAULT_KEYS, f) != 0)
            return -1;
    }
    if (f[D_TTS] != NULL) {
        if (!cJSON_IsBool(f[D_TTS])) {
            cfg_key_path(kp, sizeof kp, dp, "withTts");
            return cfg_fail(x, "\"%s\" must be true or false", kp);
        }
        p->defaults.with_tts = cJSON_IsTrue(f[D_TTS]);
    }
    if (cfg_get_string(x, f[D_ACCENT], dp, "voiceAccent", false, &p->defaults.voice_accent) != 0 ||
        cfg_get_string(x, f[D_MODE], dp, "mode", false, &p->defaults.mode) != 0 ||
        cfg_get_string(x, f[D_UPLOAD], dp, "upload", false, &p->defaults.upload) != 0 ||
        cfg_get_string(x, f[D_NOTION], dp, "notionDatabase", false,
                   &p->defaults.notion_database) != 0)
        return -1;
    if (p->defaults.mode != NULL && !cfg_in_list(p->defaults.mode, MODES)) {
        cfg_key_path(kp, sizeof kp, dp, "mode");
        return cfg_fail(x, "\"%s\" must be one of \"auto\", \"dialogue\", \"monologue\"", kp);
    }
    if (p->defaults.upload != NULL && !cfg_in_list(p->defaults.upload, UPLOADS)) {
        cfg_key_path(kp, sizeof kp, dp, "upload");
        return cfg_fail(x, "\"%s\" must be one of \"auto\", \"none\", \"s3\"", kp);
    }
    if ((p->defaults.mode == NULL && cfg_set_str(x, &p->defaults.mode, "auto") != 0) ||
        (p->defaults.upload == NULL && cfg_set_str(x, &p->defaults.upload, "auto") != 0))
        return -1;
    return 0;
}

static int parse_gap(load_ctx *x, const cJSON *it, const char *path, bb_preset *p)
{
    return cfg_get_int(x, it, path, "gapMs", 0, 5000, 300, &p->gap_ms);
}

/* translateTo (lesson presets, docs/lesson-workflow.md "Translations"):
 * the language the lesson's lines are translated into, a tag of 2 to 35
 * letters, digits and '-' starting with a letter ("es", "pt-BR"). */
static int parse_translate_to(load_ctx *x, const cJSON *it, const char *path, bb_preset *p)
{
    if (cfg_get_string(x, it, path, "translateTo", false, &p->translate_to) != 0)
        return -1;
    const char *s = p->translate_to;
    size_t n = s ? strlen(s) : 0;
    bool ok = s == NULL || (n >= 2 && n <= 35 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'));
    for (size_t i = 0; ok && s && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
    if (!ok) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, "translateTo");
        return cfg_fail(x, "\"%s\" must be a language tag such as \"es\" or \"pt-BR\"", kp);
    }
    /* "translate" comes before "translateTo" in PRESET_KEYS: parsed by now */
    if (p->translate_to && !p->translate) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, "translateTo");
        return cfg_fail(x, "\"%s\" needs the preset's \"translate\" object (provider and pair)",
                        kp);
    }
    return 0;
}

/* The parsers of the preset keys that workflows declare (struct
 * workflow.keys); each runs for a preset of a workflow declaring the key,
 * with the key's value or NULL when absent. */
static const struct {
    const char *key;
    int (*parse)(load_ctx *x, const cJSON *it, const char *path, bb_preset *p);
} WORKFLOW_KEYS[] = {
    {"argv", parse_argv},
    {"defaults", parse_lesson_defaults},
    {"gapMs", parse_gap},
    {"translate", cfg_parse_translate},
    {"translateTo", parse_translate_to},
    {"graph", cfg_parse_comfy_graph},
    {"servers", cfg_parse_comfy_servers},
};

/* w's declaration of preset key name, or NULL. */
static const struct workflow_key *declared(const struct workflow *w, const char *name)
{
    for (const struct workflow_key *k = w->keys; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* The keys only some workflows take: each is parsed for a workflow that
 * declares it, and refused for another ("not allowed" when its owner
 * requires it, else "only for workflow ..."). */
static int parse_workflow_keys(load_ctx *x, const struct workflow *w, const cJSON *const *f,
                               const char *path, bb_preset *p)
{
    char kp[KEY_PATH_MAX];
    for (size_t k = 0; PRESET_KEYS[k] != NULL; k++) {
        const struct workflow *owner = workflow_owning_key(PRESET_KEYS[k]);
        if (owner == NULL)
            continue;               /* a key of every preset */
        cfg_key_path(kp, sizeof kp, path, PRESET_KEYS[k]);
        const struct workflow_key *mine = declared(w, PRESET_KEYS[k]);
        if (mine == NULL) {
            if (f[k] == NULL)
                continue;
            if (declared(owner, PRESET_KEYS[k])->required)
                return cfg_fail(x, "\"%s\" is not allowed for workflow \"%s\"", kp, w->name);
            /* a key several workflows take ("translate": lesson and
             * translate) names them all */
            char names[128] = "";
            size_t used = 0;
            for (size_t i = 0; workflow_at(i) && used < sizeof names; i++)
                if (declared(workflow_at(i), PRESET_KEYS[k])) {
                    int wn = snprintf(names + used, sizeof names - used, "%s\"%s\"",
                                      used ? " or " : "", workflow_at(i)->name);
                    used += wn > 0 ? (size_t)wn : 0;
                }
            return cfg_fail(x, "\"%s\" is only for workflow %s", kp, names);
        }
        if (mine->required && f[k] == NULL)
            return cfg_fail(x, "\"%s\" is required for workflow \"%s\"", kp, w->name);
        for (size_t i = 0; i < sizeof WORKFLOW_KEYS / sizeof WORKFLOW_KEYS[0]; i++)
            if (strcmp(WORKFLOW_KEYS[i].key, PRESET_KEYS[k]) == 0 &&
                WORKFLOW_KEYS[i].parse(x, f[k], path, p) != 0)
                return -1;
    }
    return 0;
}

static int parse_preset(load_ctx *x, const cJSON *const *f, const char *path, void *elem)
{
    bb_preset *p = elem;
    char kp[KEY_PATH_MAX];

    if (cfg_get_string(x, f[P_ID], path, "id", true, &p->id) != 0)
        return -1;
    if (!preset_id_ok(p->id)) {
        cfg_key_path(kp, sizeof kp, path, "id");
        return cfg_fail(x, "\"%s\" must be 1 to 64 characters from A-Z a-z 0-9 . _ -",
                    kp);
    }
    if (cfg_get_string(x, f[P_LABEL], path, "label", false, &p->label) != 0)
        return -1;
    if (p->label == NULL && cfg_set_str(x, &p->label, p->id) != 0)
        return -1;

    cfg_key_path(kp, sizeof kp, path, "workflow");
    const cJSON *wv = f[P_WORKFLOW];
    if (wv == NULL)
        return cfg_fail(x, "\"%s\" is required (this build runs: %s)", kp, workflow_names());
    if (!cJSON_IsString(wv) || wv->valuestring == NULL)
        return cfg_fail(x, "\"%s\" must be a string (this build runs: %s)", kp,
                        workflow_names());
    const struct workflow *w = workflow_find(wv->valuestring);
    if (w == NULL) {
        char shown[KEY_PATH_MAX];
        cfg_key_path(shown, 64, NULL, wv->valuestring);
        return cfg_fail(x, "%s: unknown workflow \"%s\" (this build runs: %s)", kp, shown,
                        workflow_names());
    }
    p->workflow = w->id;
    p->uses_input = (w->flags & WF_NEEDS_INPUT) != 0;
    p->gap_ms = 300;
    if (parse_workflow_keys(x, w, f, path, p) != 0 ||
        cfg_parse_params(x, f[P_PARAMS], path, p) != 0)
        return -1;

    if (cfg_get_int(x, f[P_TIMEOUT], path, "timeoutSec", 0, 604800, w->default_timeout_sec,
                &p->timeout_sec) != 0 ||
        cfg_get_int(x, f[P_ATTEMPTS], path, "maxAttempts", 1, 100, 3,
                &p->max_attempts) != 0 ||
        cfg_get_int(x, f[P_CONC], path, "concurrency", 0, 1024, 0,
                &p->concurrency) != 0 ||
        cfg_get_int(x, f[P_DELAY], path, "retryDelayMs", 0, 3600000, 1000,
                &p->retry_delay_ms) != 0 ||
        cfg_parse_flow(x, f[P_NEEDS], f[P_ALLOW_NEEDS], f[P_RATE], path, p) != 0)
        return -1;
    return cfg_parse_integrations(x, f[P_RETENTION], f[P_NOTIFY], path, p);
}

enum { V_ID, V_LABEL, V_ACCENT, V_GENDER, V_PROVIDER, V_PVOICE, V_NKEYS };
static const char *const VOICE_KEYS[] = {
    "id", "label", "accent", "gender", "provider", "providerVoice", NULL,
};
static const char *const GENDERS[] = {"male", "female", "neutral", NULL};
static const char *const PROVIDERS[] = {"espeak", "elevenlabs", "command", NULL};

static int parse_voice(load_ctx *x, const cJSON *const *f, const char *path, void *elem)
{
    bb_voice *v = elem;
    char kp[KEY_PATH_MAX];
    if (cfg_get_string(x, f[V_ID], path, "id", true, &v->id) != 0 ||
        cfg_get_string(x, f[V_LABEL], path, "label", false, &v->label) != 0)
        return -1;
    if (v->label == NULL && cfg_set_str(x, &v->label, v->id) != 0)
        return -1;
    if (cfg_get_string(x, f[V_ACCENT], path, "accent", true, &v->accent) != 0)
        return -1;
    if (!accent_ok(v->accent)) {
        cfg_key_path(kp, sizeof kp, path, "accent");
        return cfg_fail(x, "\"%s\" must be 1 to 64 characters from a-z 0-9 _", kp);
    }
    if (cfg_get_string(x, f[V_GENDER], path, "gender", false, &v->gender) != 0)
        return -1;
    if (v->gender != NULL && !cfg_in_list(v->gender, GENDERS)) {
        cfg_key_path(kp, sizeof kp, path, "gender");
        return cfg_fail(x, "\"%s\" must be one of \"male\", \"female\", "
                    "\"neutral\"", kp);
    }
    if (cfg_get_string(x, f[V_PROVIDER], path, "provider", false, &v->provider) != 0)
        return -1;
    if (v->provider == NULL && cfg_set_str(x, &v->provider, "espeak") != 0)
        return -1;
    if (!cfg_in_list(v->provider, PROVIDERS)) {
        cfg_key_path(kp, sizeof kp, path, "provider");
        return cfg_fail(x, "\"%s\" must be one of \"espeak\", \"elevenlabs\", "
                    "\"command\"", kp);
    }
    return cfg_get_string(x, f[V_PVOICE], path, "providerVoice", true,
                      &v->provider_voice);
}

enum { N_ID, N_NAME, N_NKEYS };
static const char *const NOTION_KEYS[] = {"id", "name", NULL};

static int parse_notion(load_ctx *x, const cJSON *const *f, const char *path, void *elem)
{
    bb_notion_db *d = elem;
    if (cfg_get_string(x, f[N_ID], path, "id", true, &d->id) != 0)
        return -1;
    return cfg_get_string(x, f[N_NAME], path, "name", true, &d->name);
}

/* ---- arrays --------------------------------------------------------------- */

static size_t array_len(const cJSON *arr)
{
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next)
        n++;
    return n;
}

/* Reports the first repeated id among n elements of array `name`. */
static int check_unique(load_ctx *x, const char *name, const char *const *ids,
                        size_t n)
{
    size_t first = 0, dup = 0;
    int r = find_dup(ids, n, &first, &dup);
    if (r < 0)
        return cfg_fail_oom(x);
    if (r == 0)
        return 0;
    char shown[80];
    cfg_key_path(shown, sizeof shown, NULL, ids[dup]);
    return cfg_fail(x, "\"%s[%zu].id\": duplicate id \"%s\" (already used by "
                "%s[%zu])", name, dup, shown, name, first);
}

/* tts.commandArgv: the argv template of "command" voices (docs/tts.md). */
static int parse_tts_command(load_ctx *x, bb_config *c, const cJSON *arr)
{
    size_t n = array_len(arr);
    if (!cJSON_IsArray(arr) || n == 0 || n > 256)
        return cfg_fail(x, "\"tts.commandArgv\" must be an array of 1 to 256 strings");
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL)
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        if (!cJSON_IsString(e) || e->valuestring == NULL) {
            cfg_free_strv(v);
            return cfg_fail(x, "\"tts.commandArgv[%zu]\" must be a string", i);
        }
        if ((v[i] = strdup(e->valuestring)) == NULL) {
            cfg_free_strv(v);
            return cfg_fail_oom(x);
        }
    }
    char why[256] = "";
    if (tts_check_command((const char *const *)v, why, sizeof why) != 0) {
        cfg_free_strv(v);
        return cfg_fail(x, "\"tts.commandArgv\": %s", why[0] ? why : "invalid template");
    }
    cfg_free_strv(c->tts.command_argv);
    c->tts.command_argv = v;
    return 0;
}

/* ---- the generic array parser --------------------------------------------- */

/* One array of objects with unique ids, stored in bb_config as a pointer
 * and a count. */
struct list_spec {
    const char *key;          /* "presets" */
    const char *not_array;    /* the message when it is no array */
    const char *empty;        /* the message when it is empty, or NULL: may be */
    size_t elem_size;
    size_t id_off;            /* offsetof(element, id): a char * */
    size_t arr_off, n_off;    /* offsetof(bb_config, presets / npresets) */
    const char *const *keys;  /* an element's keys, NULL-terminated */
    /* f[i] is the element's value of keys[i], or NULL when absent */
    int (*parse)(load_ctx *x, const cJSON *const *f, const char *path, void *elem);
    const size_t *strs;       /* offsets of the strings an element owns */
    size_t nstrs;
    void (*free_more)(void *elem);   /* what else an element owns, or NULL */
};
#define STRS(a) a, sizeof a / sizeof a[0]

static const struct list_spec LISTS[] = {
    {"presets", "\"presets\" must be an array of preset objects",
     "\"presets\" must list at least one preset", sizeof(bb_preset), offsetof(bb_preset, id),
     offsetof(bb_config, presets), offsetof(bb_config, npresets), PRESET_KEYS, parse_preset,
     STRS(PRESET_STRS), free_preset_more},
    {"voices", "\"voices\" must be an array of voice objects", NULL, sizeof(bb_voice),
     offsetof(bb_voice, id), offsetof(bb_config, voices), offsetof(bb_config, nvoices),
     VOICE_KEYS, parse_voice, STRS(VOICE_STRS), NULL},
    {"notionDatabases", "\"notionDatabases\" must be an array of {\"id\", \"name\"} objects",
     NULL, sizeof(bb_notion_db), offsetof(bb_notion_db, id), offsetof(bb_config, notion_dbs),
     offsetof(bb_config, nnotion_dbs), NOTION_KEYS, parse_notion, STRS(NOTION_STRS), NULL},
};
#define NLISTS (sizeof LISTS / sizeof LISTS[0])
#define MAX_ELEM_KEYS 24          /* the most keys an element kind has */
_Static_assert(P_NKEYS <= MAX_ELEM_KEYS && V_NKEYS <= MAX_ELEM_KEYS && N_NKEYS <= MAX_ELEM_KEYS,
               "an element kind has more keys than parse_list holds");

static void **list_arr(bb_config *c, const struct list_spec *ls)
{
    return (void **)(void *)((char *)c + ls->arr_off);
}

static size_t *list_n(bb_config *c, const struct list_spec *ls)
{
    return (size_t *)(void *)((char *)c + ls->n_off);
}

/* Frees n elements of ls's kind and the array; arr may be NULL. */
static void free_list(const struct list_spec *ls, void *arr, size_t n)
{
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char *elem = (char *)arr + i * ls->elem_size;
        for (size_t k = 0; k < ls->nstrs; k++)
            free(*(char **)(void *)(elem + ls->strs[k]));
        if (ls->free_more)
            ls->free_more(elem);
    }
    free(arr);
}

/* Parses every element of arr into a new array, checks the ids are
 * unique, then replaces c's array with it. */
static int parse_list(load_ctx *x, bb_config *c, const struct list_spec *ls, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return cfg_fail(x, "%s", ls->not_array);
    size_t n = array_len(arr);
    if (n == 0 && ls->empty)
        return cfg_fail(x, "%s", ls->empty);
    char *elems = n ? calloc(n, ls->elem_size) : NULL;
    const char **ids = n ? calloc(n, sizeof *ids) : NULL;
    int rc = -1;
    if (n > 0 && (elems == NULL || ids == NULL)) {
        cfg_fail_oom(x);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char path[KEY_PATH_MAX];
        snprintf(path, sizeof path, "%s[%zu]", ls->key, i);
        void *elem = elems + i * ls->elem_size;
        const cJSON *f[MAX_ELEM_KEYS] = {0};
        if (!cJSON_IsObject(e)) {
            cfg_fail(x, "\"%s\" must be an object", path);
            goto out;
        }
        if (cfg_collect(x, e, path, ls->keys, f) != 0 || ls->parse(x, f, path, elem) != 0)
            goto out;
        ids[i] = *(const char *const *)(const void *)((const char *)elem + ls->id_off);
    }
    if (check_unique(x, ls->key, ids, n) != 0)
        goto out;
    free_list(ls, *list_arr(c, ls), *list_n(c, ls));
    *list_arr(c, ls) = elems;
    *list_n(c, ls) = n;
    elems = NULL;
    rc = 0;
out:
    free_list(ls, elems, n);
    free(ids);
    return rc;
}

int cfg_apply_list(load_ctx *x, bb_config *c, const char *path, const cJSON *it)
{
    for (size_t i = 0; i < NLISTS; i++)
        if (strcmp(LISTS[i].key, path) == 0)
            return parse_list(x, c, &LISTS[i], it) != 0 ? -1 : 0;
    if (strcmp(path, "tts.commandArgv") == 0)
        return parse_tts_command(x, c, it) != 0 ? -1 : 0;
    if (strcmp(path, "resources") == 0)
        return cfg_parse_resources(x, c, it) != 0 ? -1 : 0;
    if (strcmp(path, "comfyui") == 0)
        return cfg_parse_comfyui(x, c, it) != 0 ? -1 : 0;
    return 1;
}

void cfg_free_lists(bb_config *c)
{
    for (size_t i = 0; i < NLISTS; i++) {
        free_list(&LISTS[i], *list_arr(c, &LISTS[i]), *list_n(c, &LISTS[i]));
        *list_arr(c, &LISTS[i]) = NULL;
        *list_n(c, &LISTS[i]) = 0;
    }
    cfg_free_strv(c->tts.command_argv);
    c->tts.command_argv = NULL;
    cfg_free_pools(c);
    cfg_free_comfyui(c);
}

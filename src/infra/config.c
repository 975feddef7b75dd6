/* config.c — loads batchbox.json (docs/configuration.md) into a
 * bb_config.
 *
 * Order of application, each step validated the same way:
 *   1. the built-in configuration, config_defaults.json embedded in the
 *      binary (src/tools/embedgen.c), parsed by the same code as a user's
 *      file (so the defaults cannot drift out of range);
 *   2. the user's file or text: objects merge key by key over the
 *      defaults, arrays (presets, voices, notionDatabases) replace them
 *      (config_lists.c);
 *   3. BATCHBOX_* environment variables for scalars (the SCALARS table of
 *      config_scalars.c, shared with the file parser and exported for the
 *      docs check);
 *   4. finishing touches: default worker count, inputRoot made absolute,
 *      the keys storage.driver "s3" needs.
 * Every error names the key path ("limits.maxBodyBytes",
 * "presets[2].argv") and says what was expected; the first error stops
 * the load.  Runs once at start-up, so the getenv()/getcwd() it uses are
 * fine. */
#include "infra/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"
#include "infra/config_int.h"
#include "util/assets.h"

#define CONFIG_MAX_FILE   (1024 * 1024)       /* bytes of batchbox.json */
#define CONFIG_MAX_PATH   4096                /* resolved inputRoot */

/* The built-in configuration: what runs when there is no file, and the
 * base a file's keys are merged over.  docs/configuration.md shows it
 * (a unit test compares the two). */
#define DEFAULTS_ASSET "src/infra/config_defaults.json"

/* ---- errors ---------------------------------------------------------- */

/* Writes "config: [VAR: ]<message>" into the caller's buffer; returns -1
 * so callers can `return cfg_fail(...)`. */
__attribute__((format(printf, 2, 3)))
int cfg_fail(load_ctx *x, const char *fmt, ...)
{
    if (x->err == NULL || x->errlen == 0)
        return -1;
    int n = snprintf(x->err, x->errlen, "config: %s%s", x->env ? x->env : "",
                     x->env ? ": " : "");
    if (n < 0 || (size_t)n >= x->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int cfg_fail_oom(load_ctx *x)
{
    return cfg_fail(x, "out of memory");
}

/* "prefix.key" (or "key" at the top), with bytes that would garble a
 * message (controls, quotes, backslashes) shown as '?'.  A path longer
 * than the buffer is cut and ends in "..." — it can never equal a known
 * key, so it is reported as unknown. */
void cfg_key_path(char *buf, size_t n, const char *prefix, const char *key)
{
    size_t i = 0;
    if (prefix != NULL && prefix[0] != '\0') {
        size_t pl = strlen(prefix);
        if (pl > n - 2)
            pl = n - 2;
        memcpy(buf, prefix, pl);
        i = pl;
        buf[i++] = '.';
    }
    for (const char *k = key ? key : ""; *k != '\0'; k++) {
        if (i + 1 >= n) {
            if (n > 4)
                memcpy(buf + n - 4, "...", 3);
            i = n - 1;
            break;
        }
        unsigned char ch = (unsigned char)*k;
        buf[i++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
                       ? '?' : (char)ch;
    }
    buf[i] = '\0';
}

/* ---- value helpers ---------------------------------------------------- */

/* Replaces *slot with a copy of v. */
int cfg_set_str(load_ctx *x, char **slot, const char *v)
{
    char *dup = strdup(v);
    if (dup == NULL)
        return cfg_fail_oom(x);
    free(*slot);
    *slot = dup;
    return 0;
}

/* A JSON number holding an integral value within min..max. */
bool cfg_json_int(const cJSON *it, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(it))
        return false;
    double d = it->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
        return false;
    *out = (int64_t)d;
    return true;
}

/* Looks up each child of obj in keys[] (NULL-terminated) and stores it in
 * found[] at the same index; unknown and repeated keys are errors. */
int cfg_collect(load_ctx *x, const cJSON *obj, const char *path,
                   const char *const *keys, const cJSON **found)
{
    for (const cJSON *ch = obj->child; ch != NULL; ch = ch->next) {
        size_t i = 0;
        while (keys[i] != NULL &&
               (ch->string == NULL || strcmp(keys[i], ch->string) != 0))
            i++;
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, ch->string);
        if (keys[i] == NULL)
            return cfg_fail(x, "unknown key \"%s\"", kp);
        if (found[i] != NULL)
            return cfg_fail(x, "duplicate key \"%s\"", kp);
        found[i] = ch;
    }
    return 0;
}

/* Optional or required non-empty string at path.key: copies it into
 * *out (caller owns), leaves *out NULL when absent and optional. */
int cfg_get_string(load_ctx *x, const cJSON *it, const char *path,
                      const char *key, bool required, char **out)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, key);
    if (it == NULL) {
        if (required)
            return cfg_fail(x, "\"%s\" is required", kp);
        return 0;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL ||
        it->valuestring[0] == '\0')
        return cfg_fail(x, "\"%s\" must be a non-empty string", kp);
    return cfg_set_str(x, out, it->valuestring);
}

int cfg_get_int(load_ctx *x, const cJSON *it, const char *path,
                   const char *key, int min, int max, int dflt, int *out)
{
    if (it == NULL) {
        *out = dflt;
        return 0;
    }
    int64_t v;
    if (!cfg_json_int(it, min, max, &v)) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, path, key);
        return cfg_fail(x, "\"%s\" must be an integer between %d and %d", kp, min,
                    max);
    }
    *out = (int)v;
    return 0;
}

bool cfg_in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

/* A NULL-terminated array of strings and the strings; v may be NULL. */
void cfg_free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* ---- freeing ---------------------------------------------------------- */

void config_free(bb_config *c)
{
    if (c == NULL)
        return;
    free(c->public_url);
    free(c->tts.cache_dir);
    free(c->tts.espeak_program);
    free(c->tts.elevenlabs.base_url);
    free(c->tts.elevenlabs.model);
    free(c->notion.base_url);
    free(c->notion.version);
    free(c->notion.title_property);
    free(c->notion.level_property);
    free(c->notion.level_type);
    free(c->listen);
    free(c->input_root);
    free(c->auth.registration);
    free(c->storage.driver);
    free(c->storage.s3.endpoint);
    free(c->storage.s3.bucket);
    free(c->storage.s3.region);
    free(c->storage.s3.access_key);
    free(c->storage.s3.secret_key);
    free(c->storage.s3.ca_bundle);
    free(c->metrics.token);
    free(c->http.trusted_proxies);
    free(c->http.cors_origins);
    cfg_free_lists(c);
    memset(c, 0, sizeof *c);
}


/* ---- objects and whole texts ---------------------------------------- */

static int apply_object(load_ctx *x, bb_config *c, const cJSON *obj,
                        const char *prefix)
{
    for (const cJSON *ch = obj->child; ch != NULL; ch = ch->next) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, prefix, ch->string);
        for (const cJSON *prev = obj->child; prev != ch; prev = prev->next)
            if (prev->string && ch->string &&
                strcmp(prev->string, ch->string) == 0)
                return cfg_fail(x, "duplicate key \"%s\"", kp);
        int rc = cfg_apply_scalar(x, c, kp, ch);
        if (rc == 1 && cfg_is_object(kp)) {
            if (!cJSON_IsObject(ch))
                return cfg_fail(x, "\"%s\" must be an object", kp);
            rc = apply_object(x, c, ch, kp);
        } else if (rc == 1) {
            rc = cfg_apply_list(x, c, kp, ch);
        }
        if (rc < 0)
            return -1;
        if (rc == 1) {
            return cfg_fail(x, "unknown key \"%s\"", kp);
        }
    }
    return 0;
}

/* Parses one JSON text and merges it into c.  origin names the text in
 * syntax errors (a file path), or NULL. */
static int apply_text(load_ctx *x, bb_config *c, const char *text,
                      const char *origin)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (root == NULL) {
        size_t line = 1, col = 1;
        size_t len = strlen(text);
        size_t pos = (end != NULL && end >= text && end <= text + len)
                         ? (size_t)(end - text) : len;
        for (size_t i = 0; i < pos; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return cfg_fail(x, "%s%sinvalid JSON near line %zu, column %zu",
                    origin ? origin : "", origin ? ": " : "", line, col);
    }
    int rc;
    if (!cJSON_IsObject(root))
        rc = cfg_fail(x, "%s%sthe top level must be a JSON object",
                  origin ? origin : "", origin ? ": " : "");
    else
        rc = apply_object(x, c, root, NULL);
    cJSON_Delete(root);
    return rc;
}

/* Joins base_dir (or the working directory) and p unless p is absolute,
 * then removes "", "." and ".." components lexically (the directory need
 * not exist; symlinks are not resolved).  Caller frees. */
static char *resolve_path(load_ctx *x, const char *base_dir, const char *p)
{
    char cwd[CONFIG_MAX_PATH];
    const char *parts[3] = {NULL, NULL, NULL};
    if (p[0] == '/') {
        parts[0] = p;
    } else {
        if (base_dir == NULL || base_dir[0] != '/') {
            if (getcwd(cwd, sizeof cwd) == NULL) {
                cfg_fail(x, "\"inputRoot\": cannot determine the working "
                     "directory: %s", strerror(errno));
                return NULL;
            }
            parts[0] = cwd;
            parts[1] = base_dir;
        } else {
            parts[0] = base_dir;
        }
        parts[parts[1] ? 2 : 1] = p;
    }
    size_t total = 2;
    for (size_t i = 0; i < 3 && parts[i]; i++)
        total += strlen(parts[i]) + 1;
    char *out = malloc(total);
    if (out == NULL) {
        cfg_fail_oom(x);
        return NULL;
    }
    size_t len = 0;
    for (size_t i = 0; i < 3 && parts[i]; i++) {
        const char *s = parts[i];
        while (*s != '\0') {
            while (*s == '/')
                s++;
            const char *e = s;
            while (*e != '\0' && *e != '/')
                e++;
            size_t n = (size_t)(e - s);
            if (n == 0 || (n == 1 && s[0] == '.')) {
                /* skip */
            } else if (n == 2 && s[0] == '.' && s[1] == '.') {
                while (len > 0 && out[len - 1] != '/')
                    len--;
                if (len > 0)
                    len--;          /* drop the '/' too */
            } else {
                out[len++] = '/';
                memcpy(out + len, s, n);
                len += n;
            }
            s = e;
        }
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    if (len >= CONFIG_MAX_PATH) {
        free(out);
        cfg_fail(x, "\"inputRoot\" resolves to a path longer than %d bytes",
             CONFIG_MAX_PATH - 1);
        return NULL;
    }
    return out;
}

/* Lesson presets' defaults name things the whole file defines: a voice
 * accent some voice has, a listed Notion database, s3 only with S3. */
static int check_lesson_presets(load_ctx *x, const bb_config *c)
{
    bool any_voice_needed = false;
    for (size_t i = 0; i < c->npresets; i++) {
        const bb_preset *p = &c->presets[i];
        if (p->workflow != BB_WF_LESSON)
            continue;
        any_voice_needed |= p->defaults.with_tts;
        if (p->defaults.voice_accent && !config_has_accent(c, p->defaults.voice_accent))
            return cfg_fail(x, "\"presets[%zu].defaults.voiceAccent\": no voice has the accent "
                        "\"%.64s\" (see \"voices\")", i, p->defaults.voice_accent);
        if (p->defaults.notion_database && !config_notion_db(c, p->defaults.notion_database))
            return cfg_fail(x, "\"presets[%zu].defaults.notionDatabase\": \"%.64s\" is not in "
                        "\"notionDatabases\"", i, p->defaults.notion_database);
        if (strcmp(p->defaults.upload, "s3") == 0 && strcmp(c->storage.driver, "s3") != 0)
            return cfg_fail(x, "\"presets[%zu].defaults.upload\" is \"s3\" but storage.driver "
                        "is not \"s3\"", i);
    }
    for (size_t i = 0; i < c->nvoices; i++)
        if (strcmp(c->voices[i].provider, "command") == 0 && c->tts.command_argv == NULL)
            return cfg_fail(x, "\"voices[%zu]\" uses provider \"command\", which needs "
                        "\"tts.commandArgv\"", i);
    if (any_voice_needed && c->nvoices == 0)
        return cfg_fail(x, "a lesson preset speaks its lessons (defaults.withTts) but "
                    "\"voices\" is empty");
    return 0;
}

static int finish(load_ctx *x, bb_config *c, const char *base_dir)
{
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
    }
    char *abs = resolve_path(x, base_dir, c->input_root);
    if (abs == NULL)
        return -1;
    free(c->input_root);
    c->input_root = abs;

    if (cfg_check_s3(x, c) != 0)
        return -1;
    if (c->npresets == 0)       /* defaults and files both forbid this */
        return cfg_fail(x, "\"presets\" must list at least one preset");
    abs = resolve_path(x, base_dir, c->tts.cache_dir);
    if (abs == NULL)
        return -1;
    free(c->tts.cache_dir);
    c->tts.cache_dir = abs;
    if (cfg_check_params(x, c) != 0 || cfg_check_translate(x, c, base_dir, resolve_path) != 0 ||
        cfg_check_comfy(x, c, base_dir, resolve_path) != 0 || cfg_check_needs(x, c) != 0)
        return -1;
    return check_lesson_presets(x, c);
}

/* On failure *out is freed and zeroed (config_free on it is harmless);
 * on entry *out is overwritten, not freed. */
static int load(const char *json, const char *origin, const char *base_dir,
                bb_config *out, char *err, size_t errlen)
{
    load_ctx x = {.err = err, .errlen = errlen, .env = NULL};
    memset(out, 0, sizeof *out);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    const struct bb_asset *dflt = bb_asset_find(DEFAULTS_ASSET);
    if (dflt == NULL) {
        cfg_fail(&x, "%s is not embedded in this binary", DEFAULTS_ASSET);
        goto fail;
    }
    if (apply_text(&x, out, (const char *)dflt->data, "built-in defaults") != 0)
        goto fail;
    if (json != NULL && apply_text(&x, out, json, origin) != 0)
        goto fail;
    if (cfg_apply_env(&x, out) != 0 || finish(&x, out, base_dir) != 0)
        goto fail;
    return 0;
fail:
    config_free(out);
    return -1;
}

/* json NULL = built-in defaults (plus the environment).  Like
 * config_load(): on failure *out is left freed and zeroed. */
int config_load_text(const char *json, const char *base_dir, bb_config *out,
                     char *err, size_t errlen)
{
    return load(json, NULL, base_dir, out, err, errlen);
}

/* Reads at most CONFIG_MAX_FILE bytes of path into a NUL-terminated
 * buffer.  Caller frees. */
static char *read_file(load_ctx *x, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cfg_fail(x, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        cfg_fail(x, "%s is not a regular file", path);
        fclose(f);
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX_FILE + 2);
    if (buf == NULL) {
        cfg_fail_oom(x);
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        cfg_fail(x, "cannot read %s", path);
        free(buf);
        return NULL;
    }
    if (n > CONFIG_MAX_FILE) {
        cfg_fail(x, "%s is larger than 1 MiB", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    const char *nul = memchr(buf, '\0', n);
    if (nul != NULL) {
        size_t line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        cfg_fail(x, "%s: invalid JSON: NUL byte on line %zu", path, line);
        free(buf);
        return NULL;
    }
    return buf;
}

/* On failure *out is left freed and zeroed, so calling config_free() on
 * it again is harmless but not needed. */
int config_load(const char *path, const char *base_dir, bb_config *out,
                char *err, size_t errlen)
{
    if (path == NULL)
        return load(NULL, NULL, base_dir, out, err, errlen);
    load_ctx x = {.err = err, .errlen = errlen, .env = NULL};
    memset(out, 0, sizeof *out);
    char *text = read_file(&x, path);
    if (text == NULL)
        return -1;
    int rc = load(text, path, base_dir, out, err, errlen);
    free(text);
    return rc;
}

/* ---- lookups ---------------------------------------------------------- */

/* The element of arr[n] (each `size` bytes, its id the first member)
 * whose id is id, or NULL. */
static const void *find_by_id(const void *arr, size_t n, size_t size, const char *id)
{
    for (size_t i = 0; id != NULL && i < n; i++) {
        const char *elem = (const char *)arr + i * size;
        if (strcmp(*(const char *const *)(const void *)elem, id) == 0)
            return elem;
    }
    return NULL;
}

_Static_assert(offsetof(bb_preset, id) == 0 && offsetof(bb_voice, id) == 0 &&
                   offsetof(bb_notion_db, id) == 0,
               "find_by_id expects the id first");

const bb_param *config_param(const bb_preset *p, const char *name)
{
    for (size_t i = 0; p && name && i < p->nparams; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return &p->params[i];
    return NULL;
}

const bb_preset *config_preset(const bb_config *c, const char *id)
{
    return c ? find_by_id(c->presets, c->npresets, sizeof *c->presets, id) : NULL;
}

const bb_notion_db *config_notion_db(const bb_config *c, const char *id)
{
    return c ? find_by_id(c->notion_dbs, c->nnotion_dbs, sizeof *c->notion_dbs, id) : NULL;
}

const bb_voice *config_voice(const bb_config *c, const char *id)
{
    return find_by_id(c->voices, c->nvoices, sizeof *c->voices, id);
}

bool config_has_accent(const bb_config *c, const char *accent)
{
    if (c == NULL || accent == NULL)
        return false;
    for (size_t i = 0; i < c->nvoices; i++)
        if (strcmp(c->voices[i].accent, accent) == 0)
            return true;
    return false;
}

/* config_translate.c — a preset's "translate" object (docs/translate.md,
 * "Providers"; docs/configuration.md): which engine, which pair, the
 * glossary, the provider's settings and limits.  Each bad key stops start-up
 * with a message naming it ("presets[2].translate.provider: ...").  Runs at
 * start-up only, on one thread. */
#include "infra/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/translate.h"
#include "infra/exec/exec.h"

enum { T_PROVIDER, T_PAIR, T_GLOSSARY, T_ARGV, T_URL, T_KEYENV, T_MEMORY, T_BATCH, T_CHARS,
       T_TIMEOUT, T_ATTEMPTS, T_RBASE, T_RMAX, T_NKEYS };
static const char *const KEYS[] = {
    "provider", "pair", "glossary", "commandArgv", "baseUrl", "keyEnv", "memory",
    "batchSize", "maxChars", "timeoutSec", "maxAttempts", "retryBaseMs", "retryMaxMs", NULL,
};
static const char *const PROVIDERS[] = {"apertium", "libretranslate", "deepl", "command", NULL};
static const char *const MEMORY[] = {"owner", "shared", NULL};

void cfg_free_translate(bb_translate *t)
{
    if (!t)
        return;
    free(t->provider);
    free(t->pair);
    free(t->glossary);
    cfg_free_strv(t->command_argv);
    free(t->base_url);
    free(t->key_env);
    free(t->memory);
    free(t);
}

/* A pair "src-tgt": two halves of [A-Za-z0-9_] (apertium modes may carry a
 * variant after the target: "eng-cat_valencia"). */
static bool pair_ok(const char *s)
{
    const char *dash = strchr(s, '-');
    if (!dash || dash == s || !dash[1] || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!(p == dash || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return strchr(dash + 1, '-') == NULL;
}

static int parse_argv(load_ctx *x, const cJSON *arr, const char *path, bb_translate *t)
{
    char kp[KEY_PATH_MAX];
    cfg_key_path(kp, sizeof kp, path, "commandArgv");
    if (!cJSON_IsArray(arr) || !arr->child)
        return cfg_fail(x, "\"%s\" must be a non-empty array of non-empty strings", kp);
    size_t n = 0;
    for (const cJSON *e = arr->child; e; e = e->next)
        n++;
    if (!(t->command_argv = calloc(n + 1, sizeof *t->command_argv)))
        return cfg_fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char why[256] = "";
        if (!cJSON_IsString(e) || !e->valuestring || !e->valuestring[0])
            return cfg_fail(x, "\"%s[%zu]\" must be a non-empty string", kp, i);
        if (exec_check_template(e->valuestring, why, sizeof why) != 0)
            return cfg_fail(x, "\"%s[%zu]\": %s", kp, i, why);
        if (!(t->command_argv[i] = strdup(e->valuestring)))
            return cfg_fail_oom(x);
    }
    return 0;
}

int cfg_parse_translate(load_ctx *x, const cJSON *it, const char *path, bb_preset *p)
{
    char tp[KEY_PATH_MAX], kp[KEY_PATH_MAX];
    cfg_key_path(tp, sizeof tp, path, "translate");
    if (it == NULL)
        return 0;                  /* optional for the workflows that allow it */
    if (!cJSON_IsObject(it))
        return cfg_fail(x, "\"%s\" must be an object", tp);
    const cJSON *f[T_NKEYS] = {0};
    if (cfg_collect(x, it, tp, KEYS, f) != 0)
        return -1;
    bb_translate *t = calloc(1, sizeof *t);
    if (!t)
        return cfg_fail_oom(x);
    p->translate = t;
    if (cfg_get_string(x, f[T_PROVIDER], tp, "provider", true, &t->provider) != 0 ||
        cfg_get_string(x, f[T_PAIR], tp, "pair", true, &t->pair) != 0 ||
        cfg_get_string(x, f[T_GLOSSARY], tp, "glossary", false, &t->glossary) != 0 ||
        cfg_get_string(x, f[T_URL], tp, "baseUrl", false, &t->base_url) != 0 ||
        cfg_get_string(x, f[T_KEYENV], tp, "keyEnv", false, &t->key_env) != 0 ||
        cfg_get_string(x, f[T_MEMORY], tp, "memory", false, &t->memory) != 0)
        return -1;
    if (!cfg_in_list(t->provider, PROVIDERS)) {
        cfg_key_path(kp, sizeof kp, tp, "provider");
        return cfg_fail(x, "\"%s\" must be one of \"apertium\", \"libretranslate\", "
                        "\"deepl\", \"command\"", kp);
    }
    if (!pair_ok(t->pair)) {
        cfg_key_path(kp, sizeof kp, tp, "pair");
        return cfg_fail(x, "\"%s\" must be \"source-target\" (e.g. \"eng-spa\")", kp);
    }
    if (t->memory && !cfg_in_list(t->memory, MEMORY)) {
        cfg_key_path(kp, sizeof kp, tp, "memory");
        return cfg_fail(x, "\"%s\" must be \"owner\" or \"shared\"", kp);
    }
    if (!t->memory && cfg_set_str(x, &t->memory, "owner") != 0)
        return -1;
    bool command = strcmp(t->provider, "command") == 0;
    bool http = strcmp(t->provider, "libretranslate") == 0 || strcmp(t->provider, "deepl") == 0;
    bool deepl = strcmp(t->provider, "deepl") == 0;
    if (command && !f[T_ARGV]) {
        cfg_key_path(kp, sizeof kp, tp, "commandArgv");
        return cfg_fail(x, "\"%s\" is required for provider \"command\"", kp);
    }
    if (!command && f[T_ARGV]) {
        cfg_key_path(kp, sizeof kp, tp, "commandArgv");
        return cfg_fail(x, "\"%s\" is only for provider \"command\"", kp);
    }
    if (command && parse_argv(x, f[T_ARGV], tp, t) != 0)
        return -1;
    if (!http && (t->base_url || t->key_env)) {
        cfg_key_path(kp, sizeof kp, tp, t->base_url ? "baseUrl" : "keyEnv");
        return cfg_fail(x, "\"%s\" is only for providers \"libretranslate\" and \"deepl\"", kp);
    }
    if (t->base_url && strncmp(t->base_url, "http://", 7) != 0 &&
        strncmp(t->base_url, "https://", 8) != 0) {
        cfg_key_path(kp, sizeof kp, tp, "baseUrl");
        return cfg_fail(x, "\"%s\" must start with http:// or https://", kp);
    }
    if (http && !t->base_url &&
        cfg_set_str(x, &t->base_url, deepl ? "https://api-free.deepl.com"
                                           : "http://127.0.0.1:5000") != 0)
        return -1;
    if (http && !t->key_env &&
        cfg_set_str(x, &t->key_env, deepl ? "DEEPL_AUTH_KEY" : "LIBRETRANSLATE_API_KEY") != 0)
        return -1;
    /* DeepL takes up to 50 texts and 128 KiB per request; LibreTranslate's
     * limits are the server's (its char limit: 5000 by default). */
    int max_batch = deepl ? 50 : http ? 100 : 100000;
    int dflt_batch = deepl ? 50 : http ? 25 : command ? 1 : 2000;
    int dflt_chars = deepl ? 100000 : http ? 5000 : 1 << 20;
    if (cfg_get_int(x, f[T_BATCH], tp, "batchSize", 1, max_batch, dflt_batch,
                    &t->batch_size) != 0 ||
        cfg_get_int(x, f[T_CHARS], tp, "maxChars", 100, deepl ? 120000 : 1 << 24, dflt_chars,
                    &t->max_chars) != 0 ||
        cfg_get_int(x, f[T_TIMEOUT], tp, "timeoutSec", 1, 86400, 120, &t->timeout_sec) != 0 ||
        cfg_get_int(x, f[T_ATTEMPTS], tp, "maxAttempts", 1, 20, 4, &t->max_attempts) != 0 ||
        cfg_get_int(x, f[T_RBASE], tp, "retryBaseMs", 0, 600000, 500, &t->retry_base_ms) != 0 ||
        cfg_get_int(x, f[T_RMAX], tp, "retryMaxMs", 0, 3600000, 30000, &t->retry_max_ms) != 0)
        return -1;
    return 0;
}

int cfg_check_translate(load_ctx *x, bb_config *c, const char *base_dir,
                        char *(*resolve)(load_ctx *, const char *, const char *))
{
    for (size_t i = 0; i < c->npresets; i++) {
        bb_translate *t = c->presets[i].translate;
        if (!t || !t->glossary)
            continue;
        char *abs = resolve(x, base_dir, t->glossary);
        if (!abs)
            return -1;
        free(t->glossary);
        t->glossary = abs;
        struct tr_glossary g;
        char why[256];
        if (tr_glossary_load(abs, &g, why, sizeof why) != 0)
            return cfg_fail(x, "\"presets[%zu].translate.glossary\": %s", i, why);
        tr_glossary_free(&g);
    }
    return 0;
}

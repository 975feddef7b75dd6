/* config_int.h — what the files of the configuration loader share:
 * config.c (texts, objects, finishing touches, lookups), config_scalars.c
 * (the SCALARS table: file keys and environment variables) and
 * config_lists.c (the arrays: presets, voices, notionDatabases,
 * tts.commandArgv).  Not for other modules: they use config.h.  Runs once
 * at start-up, on one thread. */
#ifndef BB_CONFIG_INT_H
#define BB_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "infra/config.h"

#define CONFIG_INT_MAX    9007199254740992LL  /* 2^53: exact in a double */
#define KEY_PATH_MAX      160                 /* "presets[12].argv[3]" */
#define MAX_WORKERS       256

typedef struct load_ctx {
    char *err;
    size_t errlen;
    const char *env;        /* variable being applied, for messages */
} load_ctx;

/* ---- config.c: errors and value helpers -------------------------------- */

/* Writes "config: [VAR: ]<message>" into the caller's buffer; returns -1
 * so callers can `return cfg_fail(...)`. */
__attribute__((format(printf, 2, 3)))
int cfg_fail(load_ctx *x, const char *fmt, ...);
int cfg_fail_oom(load_ctx *x);
/* "prefix.key" (or "key" at the top) into buf[n], made safe to print. */
void cfg_key_path(char *buf, size_t n, const char *prefix, const char *key);
/* Replaces *slot with a copy of v (the old value is freed). */
int cfg_set_str(load_ctx *x, char **slot, const char *v);
/* A JSON number holding an integral value within min..max. */
bool cfg_json_int(const cJSON *it, int64_t min, int64_t max, int64_t *out);
/* Looks up each child of obj in keys[] (NULL-terminated) and stores it in
 * found[] at the same index; unknown and repeated keys are errors. */
int cfg_collect(load_ctx *x, const cJSON *obj, const char *path, const char *const *keys,
                const cJSON **found);
/* Optional or required non-empty string at path.key: a copy in *out
 * (caller owns); *out stays NULL when absent and optional. */
int cfg_get_string(load_ctx *x, const cJSON *it, const char *path, const char *key,
                   bool required, char **out);
/* Optional integer min..max at path.key; dflt when absent. */
int cfg_get_int(load_ctx *x, const cJSON *it, const char *path, const char *key, int min,
                int max, int dflt, int *out);
bool cfg_in_list(const char *v, const char *const *list);
/* Frees a NULL-terminated array of strings and the strings; v may be NULL. */
void cfg_free_strv(char **v);

/* ---- config_scalars.c ---------------------------------------------------- */

/* Whether path names a nested object of scalars ("storage.s3"). */
bool cfg_is_object(const char *path);
/* Applies the file's value it to the scalar at path: 1 when path is no
 * scalar (nothing done), 0 when applied, -1 on an error (message set). */
int cfg_apply_scalar(load_ctx *x, bb_config *c, const char *path, const cJSON *it);
/* Applies every BATCHBOX_* variable that is set and not empty. */
int cfg_apply_env(load_ctx *x, bb_config *c);
/* storage.driver "s3" needs every storage.s3 string key. */
int cfg_check_s3(load_ctx *x, const bb_config *c);

/* ---- config_lists.c ------------------------------------------------------ */

/* Applies the array at path (presets, voices, notionDatabases,
 * tts.commandArgv), replacing the current one: 1 when path is no such
 * array, 0 when applied, -1 on an error. */
int cfg_apply_list(load_ctx *x, bb_config *c, const char *path, const cJSON *it);
/* Frees every array of c and zeroes their counts. */
void cfg_free_lists(bb_config *c);

/* ---- config_translate.c -------------------------------------------------- */

/* Parses a preset's "translate" object (it; NULL when absent) into
 * p->translate. */
int cfg_parse_translate(load_ctx *x, const cJSON *it, const char *path, bb_preset *p);
/* Resolves each preset's glossary path against base_dir like inputRoot
 * (resolve: caller frees its result) and checks that the file parses. */
int cfg_check_translate(load_ctx *x, bb_config *c, const char *base_dir,
                        char *(*resolve)(load_ctx *, const char *, const char *));
void cfg_free_translate(bb_translate *t);
/* ---- config_integ.c ------------------------------------------------------ */

/* A preset's "retention" ({"days": N} or {"afterSec": N}) and "notify"
 * (webhook targets) members at path; either may be NULL (absent). */
int cfg_parse_integrations(load_ctx *x, const cJSON *retention, const cJSON *notify,
                           const char *path, bb_preset *p);

/* ---- config_params.c ----------------------------------------------------- */

/* Parses preset pr's "params" (arr; NULL when absent) at path
 * ("presets[2]") into pr->params, then adds the names pr->argv mentions
 * but the list does not declare.  pr->workflow and pr->argv must be set. */
int cfg_parse_params(load_ctx *x, const cJSON *arr, const char *path, bb_preset *pr);
/* Frees pr->params (and its strings) and zeroes the count. */
void cfg_free_params(bb_preset *pr);
/* What needs the whole file: defaults of enums with an optionsSource. */
int cfg_check_params(load_ctx *x, const bb_config *c);

/* ---- config_resources.c: resource pools, needs and rate limits ---------- */

/* "resources": {"gpu": 2, "vram": {"amount": 48}} into c->pools. */
int cfg_parse_resources(load_ctx *x, bb_config *c, const cJSON *obj);
/* A preset's "needs" (shape only; pools are checked by cfg_check_needs),
 * "allowJobNeeds" and "rateLimit" (each may be NULL when absent). */
int cfg_parse_flow(load_ctx *x, const cJSON *needs, const cJSON *allow, const cJSON *rate,
                   const char *path, bb_preset *p);
/* Every preset's needs name configured pools, within their totals. */
int cfg_check_needs(load_ctx *x, const bb_config *c);
void cfg_free_pools(bb_config *c);

/* ---- config_comfyui.c ---------------------------------------------------- */

/* The "comfyui" object (servers and intervals) merged into c->comfyui. */
int cfg_parse_comfyui(load_ctx *x, bb_config *c, const cJSON *obj);
void cfg_free_comfyui(bb_config *c);

/* ---- config_comfy_preset.c ------------------------------------------------ */

/* A comfyui preset's "graph" (the path) and "servers" ({"labels"}). */
int cfg_parse_comfy_graph(load_ctx *x, const cJSON *it, const char *path, bb_preset *p);
int cfg_parse_comfy_servers(load_ctx *x, const cJSON *it, const char *path, bb_preset *p);
/* Resolves, reads, parses and checks every comfyui preset's graph. */
int cfg_check_comfy(load_ctx *x, bb_config *c, const char *base_dir,
                    char *(*resolve)(load_ctx *, const char *, const char *));
void cfg_free_comfy_preset(bb_preset *p);

#endif

/* params.h — a preset's typed parameters at submit (docs/parameters.md):
 * checks a job's `params` object against the preset's schema (bb_param,
 * parsed at config load by infra/config_params.c), fills defaults,
 * resolves `"random"` seeds, and gives every value its canonical text
 * (what a command preset substitutes).  No I/O of its own: a `file`
 * value is checked through the caller's callback (the service resolves
 * paths in the input root and upload ownership).  Any thread may call
 * these; they only read the configuration. */
#ifndef BB_DOMAIN_PARAMS_H
#define BB_DOMAIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"
#include "util/err.h"

struct cJSON;

#define PARAMS_MAX_COUNT     64                    /* params in one request */
#define PARAMS_MAX_TEXT      4096                  /* bytes of one value */
#define PARAMS_SEED_MAX      9007199254740991.0    /* 2^53 - 1 */

/* What checking a value needs beyond the schema (borrowed pointers).
 * cfg: the configuration an enum's optionsSource is resolved from (NULL:
 * such an enum accepts no value).  check_file: how a `file` value is
 * checked (the service supplies it): value is an upload id "upl_N" or a
 * path in the input root; returns 0 when usable, else -1 with a message
 * in msg.  NULL check_file: only the syntax is checked.  ud: for it. */
typedef struct params_env {
    const bb_config *cfg;
    int (*check_file)(void *ud, const char *value, char *msg, size_t msglen);
    void *ud;
} params_env;

/* Checks one value v (JSON: typed, or a string that parses, for old
 * clients and the CLI) against p.  command: the preset is a command
 * preset, so the dash rule applies.  On success *out is the resolved
 * typed value (a new cJSON node, caller frees with cJSON_Delete; a seed
 * "random" becomes a number) and 0 is returned; else -1 with a message
 * (without the field name) in msg.  env may be NULL. */
int params_check_value(const bb_param *p, bool command, const struct cJSON *v,
                       const params_env *env, struct cJSON **out, char *msg,
                       size_t msglen);

/* Validates a job's params object `in` (NULL or JSON null = {}) against
 * preset pr: unknown names, types, ranges, choices, patterns, required
 * ones, the dash rule; fills defaults; resolves random seeds.  On success
 * *out is a new object of the resolved typed values in schema order
 * (caller frees with cJSON_Delete) and BB_OK is returned; otherwise field
 * errors named "params.NAME" (or "params") are recorded in e, *out is
 * NULL and e->code is returned.  env may be NULL. */
int params_resolve(const bb_preset *pr, const struct cJSON *in, const params_env *env,
                   struct cJSON **out, bb_errctx *e);

/* The canonical text of a resolved value: strings as they are, true /
 * false, integers as integers, other numbers in the shortest decimal form
 * that reads back the same (no trailing zeros, no exponent below 1e21).
 * Caller frees; NULL when out of memory or v is no scalar. */
char *params_canonical_text(const struct cJSON *v);

/* cJSON prints numbers with 15 significant digits when that reads back
 * within an epsilon, so 9007199254740991 would come out as
 * 9.00719925474099e+15.  This turns every number node under v into a raw
 * node holding its canonical text, so printing v is exact.  Call it just
 * before printing params (to store them, or in a DTO); afterwards the
 * nodes are no longer cJSON numbers.  Returns false when out of memory
 * (v is then partly converted, still valid). */
bool params_exact_numbers(struct cJSON *v);

/* A random seed 0..2^53-1 (libsodium randombytes). */
int64_t params_random_seed(void);

/* Whether s[0..n) is a param name: [A-Za-z0-9_-]{1,64}. */
bool params_name_ok(const char *s, size_t n);

/* The name of a type ("int") and back (-1 when unknown). */
const char *params_type_name(enum bb_param_type t);
int params_type_parse(const char *s);

/* The preset's schema as /config/job-options shows it: an array of
 * {name, type, label, help?, default?, required, min?, ...} (docs/api.md).
 * An optionsSource's current values (from cfg, through the workflow
 * that provides it) appear in `choices`.  Caller frees; NULL when out of
 * memory. */
struct cJSON *params_schema_json(const bb_config *cfg, const bb_preset *pr);

#endif

/* config_resources.c — the flow-control keys of the configuration
 * (docs/configuration.md, docs/scheduling.md): the resource pools
 * ("resources"), a preset's "needs", "allowJobNeeds" and "rateLimit", and
 * the check of needs against the pools, shared by the loader (a preset's
 * needs) and the submit path (a job's own needs).  Loading runs on one
 * thread at start-up; config_needs_check is read-only and thread-safe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "infra/config_int.h"

static bool pool_name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return n >= 1 && n <= 32;
}

void cfg_free_pools(bb_config *c)
{
    for (size_t i = 0; i < c->npools; i++)
        free(c->pools[i].name);
    free(c->pools);
    c->pools = NULL;
    c->npools = 0;
}

int cfg_parse_resources(load_ctx *x, bb_config *c, const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return cfg_fail(x, "\"resources\" must be an object of pools: {\"gpu\": 2, "
                           "\"vram\": {\"amount\": 48}}");
    size_t n = 0;
    for (const cJSON *it = obj->child; it; it = it->next)
        n++;
    if (n > BB_MAX_POOLS)
        return cfg_fail(x, "\"resources\" may name at most %d pools", BB_MAX_POOLS);
    bb_pool *pools = n ? calloc(n, sizeof *pools) : NULL;
    if (n && !pools)
        return cfg_fail_oom(x);
    size_t k = 0;
    int rc = 0;
    for (const cJSON *it = obj->child; it && rc == 0; it = it->next) {
        char kp[KEY_PATH_MAX];
        cfg_key_path(kp, sizeof kp, "resources", it->string);
        bb_pool *p = &pools[k];
        int64_t v = 0;
        if (!it->string || !pool_name_ok(it->string)) {
            rc = cfg_fail(x, "\"%s\": a pool name is 1 to 32 characters from a-z 0-9 _", kp);
        } else if (cJSON_IsNumber(it)) {
            p->counted = true;
            if (!cfg_json_int(it, 1, BB_POOL_MAX_UNITS, &v))
                rc = cfg_fail(x, "\"%s\" must be an integer between 1 and %d (units numbered "
                                 "from 0; a quantity is {\"amount\": N})", kp, BB_POOL_MAX_UNITS);
        } else if (cJSON_IsObject(it)) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "amount");
            if (!it->child || it->child->next || a != it->child ||
                !cfg_json_int(a, 1, 1000000000, &v))
                rc = cfg_fail(x, "\"%s\" must be {\"amount\": N} with N between 1 and "
                                 "1000000000", kp);
        } else {
            rc = cfg_fail(x, "\"%s\" must be a number of units or {\"amount\": N}", kp);
        }
        for (size_t j = 0; rc == 0 && j < k; j++)
            if (strcmp(pools[j].name, it->string) == 0)
                rc = cfg_fail(x, "duplicate key \"%s\"", kp);
        if (rc == 0) {
            p->total = v;
            if (!(p->name = strdup(it->string)))
                rc = cfg_fail_oom(x);
            else
                k++;
        }
    }
    if (rc != 0) {
        for (size_t j = 0; j < k; j++)
            free(pools[j].name);
        free(pools);
        return -1;
    }
    cfg_free_pools(c);
    c->pools = pools;
    c->npools = k;
    return 0;
}

int cfg_parse_flow(load_ctx *x, const cJSON *needs, const cJSON *allow, const cJSON *rate,
                   const char *path, bb_preset *p)
{
    char kp[KEY_PATH_MAX];
    if (needs && !cJSON_IsNull(needs)) {
        cfg_key_path(kp, sizeof kp, path, "needs");
        if (!cJSON_IsObject(needs))
            return cfg_fail(x, "\"%s\" must be an object: {\"gpu\": 1, \"vram\": 12}", kp);
        for (const cJSON *it = needs->child; it; it = it->next) {
            int64_t v;
            if (!cfg_json_int(it, 0, 1000000000, &v))
                return cfg_fail(x, "\"%s.%s\" must be an integer of at least 0", kp,
                                it->string ? it->string : "?");
        }
        char *text = cJSON_PrintUnformatted(needs);
        if (!text)
            return cfg_fail_oom(x);
        free(p->needs);
        p->needs = text;
    }
    if (allow) {
        cfg_key_path(kp, sizeof kp, path, "allowJobNeeds");
        if (!cJSON_IsBool(allow))
            return cfg_fail(x, "\"%s\" must be true or false", kp);
        p->allow_job_needs = cJSON_IsTrue(allow);
    }
    if (rate && !cJSON_IsNull(rate)) {
        cfg_key_path(kp, sizeof kp, path, "rateLimit");
        const cJSON *j = cJSON_IsObject(rate) ? cJSON_GetObjectItemCaseSensitive(rate, "jobs")
                                               : NULL;
        const cJSON *s = cJSON_IsObject(rate) ? cJSON_GetObjectItemCaseSensitive(rate, "perSec")
                                               : NULL;
        int64_t nj, ns;
        int members = 0;
        for (const cJSON *it = cJSON_IsObject(rate) ? rate->child : NULL; it; it = it->next)
            members++;
        if (members != 2 || !cfg_json_int(j, 1, 100000, &nj) ||
            !cfg_json_int(s, 1, 86400, &ns))
            return cfg_fail(x, "\"%s\" must be {\"jobs\": 1..100000, \"perSec\": 1..86400}",
                            kp);
        p->rate_jobs = (int)nj;
        p->rate_per_sec = (int)ns;
    }
    return 0;
}

int config_pool_index(const bb_config *c, const char *name)
{
    for (size_t i = 0; i < c->npools; i++)
        if (strcmp(c->pools[i].name, name) == 0)
            return (int)i;
    return -1;
}

int config_needs_check(const bb_config *c, const cJSON *needs, int64_t *amounts,
                       char *key, size_t keycap, char *msg, size_t msgcap)
{
    for (size_t i = 0; i < c->npools; i++)
        amounts[i] = 0;
    key[0] = '\0';
    if (!cJSON_IsObject(needs)) {
        snprintf(msg, msgcap, "must be an object of pool: units");
        return -1;
    }
    for (const cJSON *it = needs->child; it; it = it->next) {
        const char *name = it->string ? it->string : "?";
        snprintf(key, keycap, "%.64s", name);
        int pi = config_pool_index(c, name);
        int64_t v;
        if (pi < 0) {
            snprintf(msg, msgcap, "unknown resource pool \"%.64s\"%s", name,
                     c->npools ? "" : " (no pools are configured)");
            return -1;
        }
        if (cJSON_GetObjectItemCaseSensitive(needs, name) != it) {
            snprintf(msg, msgcap, "appears more than once");
            return -1;
        }
        if (!cfg_json_int(it, 0, 1000000000, &v)) {
            snprintf(msg, msgcap, "must be an integer of at least 0");
            return -1;
        }
        if (v > c->pools[pi].total) {
            snprintf(msg, msgcap, "needs %lld but the pool has %lld", (long long)v,
                     (long long)c->pools[pi].total);
            return -1;
        }
        amounts[pi] = v;
    }
    return 0;
}

int cfg_check_needs(load_ctx *x, const bb_config *c)
{
    for (size_t i = 0; i < c->npresets; i++) {
        const bb_preset *p = &c->presets[i];
        if (!p->needs)
            continue;
        cJSON *n = cJSON_Parse(p->needs);
        int64_t amounts[BB_MAX_POOLS];
        char key[80], msg[160];
        int rc = n ? config_needs_check(c, n, amounts, key, sizeof key, msg, sizeof msg) : -1;
        cJSON_Delete(n);
        if (!n)
            return cfg_fail_oom(x);
        if (rc != 0)
            return cfg_fail(x, "\"presets[%zu].needs.%s\": %s", i, key, msg);
    }
    return 0;
}

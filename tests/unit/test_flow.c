/* test_flow.c — unit tests for the flow-control keys of the configuration
 * (src/infra/config_resources.c; docs/configuration.md "resources",
 * "queue", a preset's needs, allowJobNeeds and rateLimit): the pools,
 * every error naming its key, and the needs check the submit path uses. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <stdint.h>

#include "cJSON.h"
#include "infra/config.h"

static char err[1024];

__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

static int load(const char *json, bb_config *c)
{
    err[0] = '\0';
    return config_load_text(json, "/srv/data", c, err, sizeof err);
}

#define PRESET "{\"id\": \"p\", \"workflow\": \"noop\""

TEST(pools_counted_and_quantity)
{
    bb_config c;
    CHECK(load("{\"resources\": {\"gpu\": 2, \"vram\": {\"amount\": 48}}, \"queue\": "
               "{\"reserveAfterSec\": 5}, \"presets\": [" PRESET ", \"needs\": {\"gpu\": 1, "
               "\"vram\": 12}, \"rateLimit\": {\"jobs\": 10, \"perSec\": 60}}]}", &c) == 0);
    CHECK_EQ_INT(c.npools, 2);
    CHECK_STR_EQ(c.pools[0].name, "gpu");
    CHECK(c.pools[0].counted && c.pools[0].total == 2);
    CHECK(!c.pools[1].counted && c.pools[1].total == 48);
    CHECK_EQ_INT(c.queue.reserve_after_sec, 5);
    CHECK_STR_EQ(c.presets[0].needs, "{\"gpu\":1,\"vram\":12}");
    CHECK_EQ_INT(c.presets[0].rate_jobs, 10);
    CHECK_EQ_INT(c.presets[0].rate_per_sec, 60);
    CHECK(!c.presets[0].allow_job_needs);
    CHECK_EQ_INT(config_pool_index(&c, "vram"), 1);
    CHECK_EQ_INT(config_pool_index(&c, "tpu"), -1);
    config_free(&c);
    /* the defaults: no pools, a 60 s reservation bound */
    CHECK(load("{}", &c) == 0);
    CHECK_EQ_INT(c.npools, 0);
    CHECK_EQ_INT(c.queue.reserve_after_sec, 60);
    config_free(&c);
}

TEST(bad_flow_keys_name_the_key)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"resources\": {\"gpu\": 0}}", "\"resources.gpu\""},
        {"{\"resources\": {\"gpu\": 65}}", "\"resources.gpu\""},
        {"{\"resources\": {\"GPU\": 1}}", "\"resources.GPU\""},
        {"{\"resources\": {\"vram\": {\"amount\": 0}}}", "\"resources.vram\""},
        {"{\"resources\": {\"vram\": {\"size\": 4}}}", "\"resources.vram\""},
        {"{\"resources\": [1]}", "\"resources\""},
        {"{\"resources\": {\"gpu\": 1}, \"presets\": [" PRESET ", \"needs\": {\"gpu\": 2}}]}",
         "presets[0].needs.gpu"},
        {"{\"presets\": [" PRESET ", \"needs\": {\"gpu\": 1}}]}", "presets[0].needs.gpu"},
        {"{\"presets\": [" PRESET ", \"needs\": {\"gpu\": -1}}]}", "presets[0].needs.gpu"},
        {"{\"presets\": [" PRESET ", \"needs\": 3}]}", "presets[0].needs"},
        {"{\"presets\": [" PRESET ", \"allowJobNeeds\": 1}]}", "presets[0].allowJobNeeds"},
        {"{\"presets\": [" PRESET ", \"rateLimit\": {\"jobs\": 0, \"perSec\": 1}}]}",
         "presets[0].rateLimit"},
        {"{\"presets\": [" PRESET ", \"rateLimit\": {\"jobs\": 1}}]}", "presets[0].rateLimit"},
        {"{\"queue\": {\"reserveAfterSec\": -1}}", "queue.reserveAfterSec"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bb_config c;
        if (load(cases[i].json, &c) == 0)
            FAIL("accepted: %s", cases[i].json);
        if (!strstr(err, cases[i].want))
            FAIL("%s: message \"%s\" does not name %s", cases[i].json, err, cases[i].want);
        config_free(&c);
    }
}

TEST(needs_check_names_the_member)
{
    bb_config c;
    CHECK(load("{\"resources\": {\"gpu\": 2, \"vram\": {\"amount\": 24}}}", &c) == 0);
    static const struct {
        const char *needs, *key;
        int ok;
    } cases[] = {
        {"{\"gpu\": 1, \"vram\": 24}", "", 1},
        {"{}", "", 1},
        {"{\"gpu\": 3}", "gpu", 0},
        {"{\"tpu\": 1}", "tpu", 0},
        {"{\"vram\": -2}", "vram", 0},
        {"{\"vram\": 1.5}", "vram", 0},
        {"[1]", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *n = cJSON_Parse(cases[i].needs);
        CHECK(n != NULL);
        int64_t amt[BB_MAX_POOLS];
        char key[80], msg[160];
        int rc = config_needs_check(&c, n, amt, key, sizeof key, msg, sizeof msg);
        cJSON_Delete(n);
        if ((rc == 0) != cases[i].ok)
            FAIL("%s: rc %d", cases[i].needs, rc);
        if (!cases[i].ok && strcmp(key, cases[i].key) != 0)
            FAIL("%s: key \"%s\", want \"%s\"", cases[i].needs, key, cases[i].key);
        if (i == 0)
            CHECK(amt[0] == 1 && amt[1] == 24);
    }
    config_free(&c);
}

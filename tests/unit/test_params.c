/* test_params.c — unit tests for typed parameters (src/domain/params.c,
 * src/infra/config_params.c; docs/parameters.md): every type's good, bad
 * and edge values, schema errors at config load (each naming the key),
 * defaults filled and checked, random seeds, the dash rule, unknown names,
 * optionsSource enums and the canonical text command presets substitute. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <stdint.h>

#include "cJSON.h"
#include "domain/params.h"
#include "infra/config.h"
#include "util/err.h"

static char err[1024];

__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

/* A config with one command preset "p" whose params are `params` (JSON
 * array text) and argv ["echo", extra...]. */
static int load_preset(const char *params, const char *argv, bb_config *c)
{
    char json[8192];
    snprintf(json, sizeof json,
             "{\"notionDatabases\": [{\"id\": \"db1\", \"name\": \"Lessons\"}],"
             " \"presets\": [{\"id\": \"p\", \"workflow\": \"command\", \"argv\": %s,"
             " \"params\": %s}]}",
             argv ? argv : "[\"echo\"]", params);
    err[0] = '\0';
    return config_load_text(json, "/tmp", c, err, sizeof err);
}

/* The load must fail with a message containing want. */
static void expect_schema_error_(const char *file, int line, const char *params,
                                 const char *want)
{
    bb_config c;
    if (load_preset(params, NULL, &c) == 0) {
        config_free(&c);
        unit_fail_(file, line, "loaded but should fail: %s", params);
        return;
    }
    if (strstr(err, want) == NULL)
        unit_fail_(file, line, "message %s lacks %s", err, want);
}
#define EXPECT_SCHEMA_ERROR(params, want) \
    expect_schema_error_(__FILE__, __LINE__, params, want)

/* Resolves `in` (JSON text) against preset "p" of c: BB_OK and *out, or
 * the field errors in e. */
static int resolve(const bb_config *c, const char *in, cJSON **out, bb_errctx *e)
{
    cJSON *j = in ? cJSON_Parse(in) : NULL;
    params_env env = {.cfg = c, .check_file = NULL, .ud = NULL};
    int rc = params_resolve(config_preset(c, "p"), j, &env, out, e);
    cJSON_Delete(j);
    return rc;
}

/* `in` must be refused with a field error on `field`. */
static void expect_refused_(const char *file, int line, const bb_config *c, const char *in,
                            const char *field)
{
    bb_errctx e = {0};
    cJSON *out = NULL;
    int rc = resolve(c, in, &out, &e);
    const cJSON *f = e.fields ? cJSON_GetObjectItemCaseSensitive(e.fields, field) : NULL;
    if (rc != BB_EINVAL || out != NULL || f == NULL) {
        char *fs = e.fields ? cJSON_PrintUnformatted(e.fields) : NULL;
        unit_fail_(file, line, "%s: rc %d, fields %s (want %s)", in, rc, fs ? fs : "none",
                   field);
        free(fs);
    }
    cJSON_Delete(out);
    bb_err_clear(&e);
}
#define EXPECT_REFUSED(c, in, field) expect_refused_(__FILE__, __LINE__, c, in, field)

/* `in` must resolve to exactly `want` (JSON text, compared unformatted). */
static void expect_resolved_(const char *file, int line, const bb_config *c, const char *in,
                             const char *want)
{
    bb_errctx e = {0};
    cJSON *out = NULL;
    int rc = resolve(c, in, &out, &e);
    char *got = out && params_exact_numbers(out) ? cJSON_PrintUnformatted(out) : NULL;
    if (rc != BB_OK || got == NULL || strcmp(got, want) != 0) {
        char *fs = e.fields ? cJSON_PrintUnformatted(e.fields) : NULL;
        unit_fail_(file, line, "%s: rc %d, got %s, fields %s (want %s)", in, rc,
                   got ? got : "NULL", fs ? fs : "none", want);
        free(fs);
    }
    free(got);
    cJSON_Delete(out);
    bb_err_clear(&e);
}
#define EXPECT_RESOLVED(c, in, want) expect_resolved_(__FILE__, __LINE__, c, in, want)

TEST(int_good_bad_edge)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"size\", \"type\": \"int\", \"min\": 16, "
                             "\"max\": 4096, \"step\": 16, \"default\": 256}]", NULL, &c), 0);
    EXPECT_RESOLVED(&c, "{\"size\": 16}", "{\"size\":16}");
    EXPECT_RESOLVED(&c, "{\"size\": 4096}", "{\"size\":4096}");
    EXPECT_RESOLVED(&c, "{\"size\": \"512\"}", "{\"size\":512}");    /* old clients */
    EXPECT_RESOLVED(&c, "{}", "{\"size\":256}");                      /* default */
    EXPECT_RESOLVED(&c, NULL, "{\"size\":256}");
    EXPECT_RESOLVED(&c, "{\"size\": null}", "{\"size\":256}");
    EXPECT_REFUSED(&c, "{\"size\": 0}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": 4112}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": 17}", "params.size");              /* off the step */
    EXPECT_REFUSED(&c, "{\"size\": 16.5}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": \"12abc\"}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": \"0x10\"}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": true}", "params.size");
    EXPECT_REFUSED(&c, "{\"size\": [1]}", "params.size");
    EXPECT_REFUSED(&c, "{\"other\": 1}", "params.other");             /* unknown name */
    EXPECT_REFUSED(&c, "[1]", "params");
    config_free(&c);
}

TEST(float_good_bad_edge)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"cfg\", \"type\": \"float\", \"min\": 0.5, "
                             "\"max\": 2, \"step\": 0.25, \"allowDash\": true}]", NULL, &c), 0);
    EXPECT_RESOLVED(&c, "{\"cfg\": 0.75}", "{\"cfg\":0.75}");
    EXPECT_RESOLVED(&c, "{\"cfg\": \"1.5\"}", "{\"cfg\":1.5}");
    EXPECT_RESOLVED(&c, "{\"cfg\": 2}", "{\"cfg\":2}");
    EXPECT_RESOLVED(&c, "{}", "{}");                                  /* optional, no default */
    EXPECT_REFUSED(&c, "{\"cfg\": 0.6}", "params.cfg");
    EXPECT_REFUSED(&c, "{\"cfg\": 2.25}", "params.cfg");
    EXPECT_REFUSED(&c, "{\"cfg\": \"nan\"}", "params.cfg");
    EXPECT_REFUSED(&c, "{\"cfg\": \"inf\"}", "params.cfg");
    EXPECT_REFUSED(&c, "{\"cfg\": \"\"}", "params.cfg");
    config_free(&c);
}

TEST(bool_string_text_values)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"hq\", \"type\": \"bool\", \"default\": false},"
                             " {\"name\": \"tag\", \"type\": \"string\", \"maxLength\": 5,"
                             "  \"pattern\": \"[a-z]+\"},"
                             " {\"name\": \"note\", \"type\": \"text\"}]", NULL, &c), 0);
    EXPECT_RESOLVED(&c, "{\"hq\": true}", "{\"hq\":true}");
    EXPECT_RESOLVED(&c, "{\"hq\": \"true\"}", "{\"hq\":true}");
    EXPECT_RESOLVED(&c, "{}", "{\"hq\":false}");
    EXPECT_REFUSED(&c, "{\"hq\": 1}", "params.hq");
    EXPECT_REFUSED(&c, "{\"hq\": \"yes\"}", "params.hq");
    EXPECT_RESOLVED(&c, "{\"tag\": \"abcde\"}", "{\"hq\":false,\"tag\":\"abcde\"}");
    EXPECT_REFUSED(&c, "{\"tag\": \"abcdef\"}", "params.tag");        /* maxLength */
    EXPECT_REFUSED(&c, "{\"tag\": \"ab1\"}", "params.tag");           /* whole-value pattern */
    EXPECT_REFUSED(&c, "{\"tag\": \"ab\\ncd\"}", "params.tag");       /* one line */
    EXPECT_REFUSED(&c, "{\"tag\": 5}", "params.tag");
    EXPECT_RESOLVED(&c, "{\"note\": \"two\\nlines\"}", "{\"hq\":false,\"note\":\"two\\nlines\"}");
    config_free(&c);
}

TEST(enum_static_and_source)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"fmt\", \"type\": \"enum\", \"default\": \"png\","
                             "  \"choices\": [\"png\", {\"value\": \"jpg\", \"label\": \"JPEG\"}]},"
                             " {\"name\": \"db\", \"type\": \"enum\","
                             "  \"optionsSource\": \"lesson:notionDatabases\"},"
                             " {\"name\": \"acc\", \"type\": \"enum\","
                             "  \"optionsSource\": \"lesson:voiceAccents\"}]", NULL, &c), 0);
    EXPECT_RESOLVED(&c, "{\"fmt\": \"jpg\"}", "{\"fmt\":\"jpg\"}");
    EXPECT_REFUSED(&c, "{\"fmt\": \"gif\"}", "params.fmt");
    EXPECT_REFUSED(&c, "{\"fmt\": \"JPEG\"}", "params.fmt");          /* a label, not a value */
    EXPECT_RESOLVED(&c, "{\"db\": \"db1\"}", "{\"fmt\":\"png\",\"db\":\"db1\"}");
    EXPECT_REFUSED(&c, "{\"db\": \"db2\"}", "params.db");
    EXPECT_RESOLVED(&c, "{\"acc\": \"british_male\"}", "{\"fmt\":\"png\",\"acc\":\"british_male\"}");
    EXPECT_REFUSED(&c, "{\"acc\": \"martian\"}", "params.acc");
    /* the schema shows the source's current values as choices */
    cJSON *s = params_schema_json(&c, config_preset(&c, "p"));
    CHECK(s != NULL);
    char *t = cJSON_PrintUnformatted(s);
    CHECK(t != NULL && strstr(t, "{\"value\":\"db1\",\"label\":\"Lessons\"}") != NULL);
    CHECK(t != NULL && strstr(t, "\"optionsSource\":\"lesson:voiceAccents\"") != NULL);
    CHECK(t != NULL && strstr(t, "{\"value\":\"jpg\",\"label\":\"JPEG\"}") != NULL);
    free(t);
    cJSON_Delete(s);
    config_free(&c);
}

TEST(seed_values_and_random)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"seed\", \"type\": \"seed\", "
                             "\"default\": \"random\"}]", NULL, &c), 0);
    EXPECT_RESOLVED(&c, "{\"seed\": 0}", "{\"seed\":0}");
    EXPECT_RESOLVED(&c, "{\"seed\": 9007199254740991}", "{\"seed\":9007199254740991}");
    EXPECT_RESOLVED(&c, "{\"seed\": \"42\"}", "{\"seed\":42}");
    EXPECT_REFUSED(&c, "{\"seed\": -1}", "params.seed");
    EXPECT_REFUSED(&c, "{\"seed\": 9007199254740992}", "params.seed");
    EXPECT_REFUSED(&c, "{\"seed\": 1.5}", "params.seed");
    EXPECT_REFUSED(&c, "{\"seed\": \"randomly\"}", "params.seed");
    /* "random" (given or the default) is drawn and stored as a number */
    bool differ = false;
    double first = -1;
    for (int i = 0; i < 8; i++) {
        bb_errctx e = {0};
        cJSON *out = NULL;
        CHECK_EQ_INT(resolve(&c, i % 2 ? "{\"seed\": \"random\"}" : "{}", &out, &e), BB_OK);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(out, "seed");
        CHECK(cJSON_IsNumber(v));
        CHECK(v->valuedouble >= 0 && v->valuedouble <= PARAMS_SEED_MAX);
        CHECK(v->valuedouble == (double)(int64_t)v->valuedouble);
        if (i == 0)
            first = v->valuedouble;
        else if (v->valuedouble != first)
            differ = true;
        cJSON_Delete(out);
    }
    CHECK(differ);
    config_free(&c);
}

/* A file param: the syntax of upload ids here; the caller's check
 * decides about paths and ownership. */
static int reject_secret(void *ud, const char *value, char *msg, size_t msglen)
{
    (void)ud;
    if (strstr(value, "secret") != NULL) {
        snprintf(msg, msglen, "path resolves outside the input root");
        return -1;
    }
    return 0;
}

TEST(file_values)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"mask\", \"type\": \"file\"}]", NULL, &c), 0);
    const bb_param *p = config_param(config_preset(&c, "p"), "mask");
    CHECK(p != NULL);
    params_env env = {.cfg = &c, .check_file = reject_secret, .ud = NULL};
    const char *good[] = {"\"upl_3\"", "\"a/b.png\""};
    const char *bad[] = {"\"upl_x\"", "\"upl_0\"", "\"\"", "\"../secret\"", "3"};
    char msg[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cJSON *v = cJSON_Parse(good[i]), *out = NULL;
        CHECK_EQ_INT(params_check_value(p, true, v, &env, &out, msg, sizeof msg), 0);
        cJSON_Delete(out);
        cJSON_Delete(v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *v = cJSON_Parse(bad[i]), *out = NULL;
        CHECK_EQ_INT(params_check_value(p, true, v, &env, &out, msg, sizeof msg), -1);
        CHECK(out == NULL);
        cJSON_Delete(v);
    }
    config_free(&c);
}

TEST(dash_rule_for_command_presets)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"a\", \"type\": \"string\"},"
                             " {\"name\": \"b\", \"type\": \"string\", \"allowDash\": true},"
                             " {\"name\": \"n\", \"type\": \"int\"},"
                             " {\"name\": \"e\", \"type\": \"enum\", \"choices\": [\"-v\"]}]",
                             "[\"echo\", \"{param.a}\"]", &c), 0);
    EXPECT_REFUSED(&c, "{\"a\": \"-x\"}", "params.a");
    EXPECT_REFUSED(&c, "{\"a\": \"--rm\"}", "params.a");
    EXPECT_REFUSED(&c, "{\"n\": -3}", "params.n");
    EXPECT_RESOLVED(&c, "{\"a\": \"x-y\"}", "{\"a\":\"x-y\"}");
    EXPECT_RESOLVED(&c, "{\"a\": \"x\", \"b\": \"-x\"}", "{\"a\":\"x\",\"b\":\"-x\"}");
    EXPECT_RESOLVED(&c, "{\"a\": \"x\", \"e\": \"-v\"}", "{\"a\":\"x\",\"e\":\"-v\"}");
    config_free(&c);
    /* a noop preset's values go to no program: no dash rule */
    const char *noop = "{\"presets\": [{\"id\": \"p\", \"workflow\": \"noop\","
                       " \"params\": [{\"name\": \"a\", \"type\": \"string\"}]}]}";
    CHECK_EQ_INT(config_load_text(noop, "/tmp", &c, err, sizeof err), 0);
    EXPECT_RESOLVED(&c, "{\"a\": \"-x\"}", "{\"a\":\"-x\"}");
    config_free(&c);
}

TEST(argv_names_become_undeclared_strings)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[{\"name\": \"size\", \"type\": \"int\", \"default\": 8}]",
                             "[\"echo\", \"{param.size}x{param.name}\", \"{{param.lit}}\"]",
                             &c), 0);
    const bb_preset *p = config_preset(&c, "p");
    CHECK_EQ_INT(p->nparams, 2);
    CHECK_STR_EQ(p->params[0].name, "size");
    CHECK(p->params[0].declared);
    CHECK_STR_EQ(p->params[1].name, "name");
    CHECK(!p->params[1].declared);
    CHECK(p->params[1].required);
    CHECK(p->params[1].type == BB_PT_STRING);
    CHECK(config_param(p, "lit") == NULL);                /* "{{" is a literal brace */
    EXPECT_REFUSED(&c, "{}", "params.name");
    EXPECT_RESOLVED(&c, "{\"name\": \"a\\nb\"}", "{\"size\":8,\"name\":\"a\\nb\"}");
    config_free(&c);
    /* a preset declaring nothing takes any name as a string, as before */
    const char *legacy = "{\"presets\": [{\"id\": \"p\", \"workflow\": \"noop\"}]}";
    CHECK_EQ_INT(config_load_text(legacy, "/tmp", &c, err, sizeof err), 0);
    EXPECT_RESOLVED(&c, "{\"anything\": \"x\"}", "{\"anything\":\"x\"}");
    EXPECT_REFUSED(&c, "{\"anything\": 1}", "params.anything");
    EXPECT_REFUSED(&c, "{\"bad name\": \"x\"}", "params");
    config_free(&c);
}

TEST(schema_errors_name_the_key)
{
    EXPECT_SCHEMA_ERROR("{}", "presets[0].params");
    EXPECT_SCHEMA_ERROR("[{\"type\": \"int\"}]", "presets[0].params[0].name");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a b\", \"type\": \"int\"}]", "presets[0].params[0].name");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\"}]", "presets[0].params[0].type");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"integer\"}]",
                        "presets[0].params[0].type");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"colour\": 1}]",
                        "presets[0].params[0].colour");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\"}, {\"name\": \"a\", "
                        "\"type\": \"int\"}]", "presets[0].params[1].name");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"min\": 5, \"max\": 1}]",
                        "presets[0].params[0].min");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"min\": 1.5}]",
                        "presets[0].params[0].min");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"float\", \"step\": 0}]",
                        "presets[0].params[0].step");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"string\", \"min\": 1}]",
                        "presets[0].params[0].min");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"maxLength\": 3}]",
                        "presets[0].params[0].maxLength");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"string\", \"maxLength\": 0}]",
                        "presets[0].params[0].maxLength");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"string\", \"pattern\": \"(\"}]",
                        "presets[0].params[0].pattern");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"text\", \"pattern\": \"x\"}]",
                        "presets[0].params[0].pattern");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\"}]", "presets[0].params[0].choices");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"choices\": []}]",
                        "presets[0].params[0].choices");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"choices\": [\"x\", \"x\"]}]",
                        "presets[0].params[0].choices[1]");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"choices\": [{\"label\": "
                        "\"x\"}]}]", "presets[0].params[0].choices[0]");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"optionsSource\": "
                        "\"comfyui:nothing\"}]", "presets[0].params[0].optionsSource");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"choices\": [\"1\"]}]",
                        "presets[0].params[0].choices");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"bool\", \"required\": \"yes\"}]",
                        "presets[0].params[0].required");
    /* defaults must satisfy their own schema */
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"int\", \"max\": 3, \"default\": 4}]",
                        "presets[0].params[0].default");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"choices\": [\"x\"], "
                        "\"default\": \"y\"}]", "presets[0].params[0].default");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"string\", \"default\": \"-v\"}]",
                        "presets[0].params[0].default");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"enum\", \"optionsSource\": "
                        "\"lesson:notionDatabases\", \"default\": \"nope\"}]",
                        "presets[0].params[0].default");
    EXPECT_SCHEMA_ERROR("[{\"name\": \"a\", \"type\": \"seed\", \"default\": -1}]",
                        "presets[0].params[0].default");
}

TEST(canonical_text)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"\"a b\"", "a b"}, {"true", "true"}, {"false", "false"}, {"0", "0"},
        {"-3", "-3"}, {"256", "256"}, {"2.0", "2"}, {"0.1", "0.1"}, {"1.50", "1.5"},
        {"-0.25", "-0.25"}, {"9007199254740991", "9007199254740991"},
        {"1e-7", "0.0000001"}, {"1.5e-7", "0.00000015"}, {"1e22", "10000000000000000000000"},
        {"3.14159", "3.14159"}, {"0.30000000000000004", "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_Parse(cases[i].json);
        CHECK(v != NULL);
        char *t = params_canonical_text(v);
        CHECK(t != NULL);
        if (t)
            CHECK_STR_EQ(t, cases[i].want);
        free(t);
        cJSON_Delete(v);
    }
    cJSON *arr = cJSON_Parse("[1]");
    CHECK(params_canonical_text(arr) == NULL);
    cJSON_Delete(arr);
}

TEST(type_names_round_trip)
{
    for (int t = BB_PT_STRING; t <= BB_PT_FILE; t++)
        CHECK_EQ_INT(params_type_parse(params_type_name((enum bb_param_type)t)), t);
    CHECK_EQ_INT(params_type_parse("number"), -1);
    CHECK_EQ_INT(params_type_parse(NULL), -1);
}

TEST(too_many_params_refused)
{
    bb_config c;
    CHECK_EQ_INT(load_preset("[]", NULL, &c), 0);
    char in[4096] = "{";
    size_t used = 1;
    for (int i = 0; i < PARAMS_MAX_COUNT + 1; i++)
        used += (size_t)snprintf(in + used, sizeof in - used, "%s\"p%d\":\"x\"", i ? "," : "",
                                 i);
    snprintf(in + used, sizeof in - used, "}");
    EXPECT_REFUSED(&c, in, "params");
    config_free(&c);
}

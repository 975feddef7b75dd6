/* test_config.c — unit tests for the configuration loader
 * (src/infra/config*.c; batchbox.json, docs/configuration.md): the
 * built-in defaults, the documented example, every class of error
 * (each message must name the key path), environment overrides, inputRoot
 * resolution, file loading, and docs/configuration.md against the
 * environment table.  Run from the repository root (tests/unit/run.sh
 * does) so the docs can be found. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <stdint.h>

#include "infra/config.h"
#include "util/assets.h"

#define BASE "/srv/data"

static char err[1024];

/* Tests must not see BATCHBOX_* variables from whoever runs them. */
__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

static int load(const char *json, bb_config *c)
{
    err[0] = '\0';
    return config_load_text(json, BASE, c, err, sizeof err);
}

static bool is_zeroed(const bb_config *c)
{
    static const bb_config zero;
    return memcmp(c, &zero, sizeof zero) == 0;
}

/* The load must fail, leave *c zeroed, and the message must contain
 * every one of the wanted fragments (NULL-terminated list). */
static void expect_error_(const char *file, int line, const char *json, ...)
{
    bb_config c;
    memset(&c, 0xA5, sizeof c);     /* load must not depend on *out */
    if (load(json, &c) != -1) {
        config_free(&c);
        unit_fail_(file, line, "loaded but should fail: %.300s", json);
        return;
    }
    if (!is_zeroed(&c)) {
        unit_fail_(file, line, "failed load left *out non-zero");
        return;
    }
    if (strncmp(err, "config: ", 8) != 0) {
        unit_fail_(file, line, "message lacks \"config: \": %s", err);
        return;
    }
    va_list ap;
    va_start(ap, json);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL;) {
        if (strstr(err, want) == NULL) {
            unit_fail_(file, line, "message \"%s\" lacks \"%s\"", err, want);
            break;
        }
    }
    va_end(ap);
}
#define EXPECT_ERROR(json, ...) \
    expect_error_(__FILE__, __LINE__, json, __VA_ARGS__, (const char *)NULL)

/* A preset list with one command preset whose fields are `extra`. */
#define ONE_PRESET(extra) \
    "{\"presets\": [{\"id\": \"p\", \"workflow\": \"command\", " extra "}]}"

/* ---- defaults and successful loads -------------------------------- */

TEST(defaults_load)
{
    bb_config c;
    CHECK_EQ_INT(config_load(NULL, BASE, &c, err, sizeof err), 0);
    CHECK_STR_EQ(c.listen, "127.0.0.1:8080");
    CHECK(c.workers >= 1 && c.workers <= 256);
    CHECK_STR_EQ(c.input_root, "/srv/data/inputs");
    CHECK_STR_EQ(c.auth.registration, "closed");
    CHECK_EQ_INT(c.auth.access_ttl_sec, 900);
    CHECK_EQ_INT(c.auth.refresh_ttl_sec, 2592000);
    CHECK_EQ_INT(c.limits.max_upload_bytes, 104857600);
    CHECK_EQ_INT(c.limits.max_body_bytes, 1048576);
    CHECK_EQ_INT(c.limits.user_quota_bytes, 10737418240LL);
    CHECK_EQ_INT(c.events.heartbeat_sec, 25);
    CHECK_EQ_INT(c.events.retain_events, 100000);
    CHECK_EQ_INT(c.events.max_subscribers, 10000);
    CHECK_EQ_INT(c.events.max_per_user, 64);
    CHECK_EQ_INT(c.events.ring_events, 8192);
    CHECK_STR_EQ(c.storage.driver, "fs");
    CHECK_STR_EQ(c.storage.s3.region, "us-east-1");
    CHECK(c.storage.s3.endpoint == NULL && c.storage.s3.bucket == NULL);
    CHECK(c.storage.s3.access_key == NULL && c.storage.s3.secret_key == NULL);
    CHECK(!c.storage.s3.https && c.storage.s3.path_style);
    CHECK_EQ_INT(c.nnotion_dbs, 0);
    config_free(&c);
    CHECK(is_zeroed(&c));
}

TEST(default_presets_and_voices)
{
    bb_config c;
    CHECK_EQ_INT(load(NULL, &c), 0);
    CHECK_EQ_INT(c.npresets, 5);
    static const char *const lessons[] = {"b1-default", "a2-basic", "b2-advanced"};
    for (size_t i = 0; i < 3; i++) {
        const bb_preset *l = config_preset(&c, lessons[i]);
        CHECK(l != NULL && l == &c.presets[i]);
        CHECK_EQ_INT(l->workflow, BB_WF_LESSON);
        CHECK(l->uses_input && l->argv == NULL);
        CHECK(l->defaults.with_tts);
        CHECK(config_has_accent(&c, l->defaults.voice_accent));
        CHECK(l->defaults.notion_database == NULL);
        CHECK_STR_EQ(l->defaults.upload, "auto");
    }
    CHECK_STR_EQ(config_preset(&c, "a2-basic")->defaults.mode, "dialogue");
    CHECK_STR_EQ(config_preset(&c, "a2-basic")->defaults.voice_accent, "american_female");
    CHECK_EQ_INT(config_preset(&c, "a2-basic")->gap_ms, 600);
    CHECK_EQ_INT(config_preset(&c, "b1-default")->gap_ms, 300);
    CHECK_STR_EQ(config_workflow_name(BB_WF_LESSON), "lesson");
    CHECK_STR_EQ(c.tts.cache_dir, BASE "/tts-cache");
    CHECK_STR_EQ(c.tts.espeak_program, "espeak-ng");
    CHECK(c.tts.command_argv == NULL);
    CHECK_STR_EQ(c.tts.elevenlabs.base_url, "https://api.elevenlabs.io");
    CHECK_EQ_INT(c.tts.elevenlabs.sample_rate, 22050);
    CHECK_EQ_INT(c.tts.max_attempts, 4);
    CHECK_STR_EQ(c.notion.base_url, "https://api.notion.com");
    CHECK_STR_EQ(c.notion.version, "2022-06-28");
    CHECK_STR_EQ(c.notion.level_type, "select");
    CHECK_EQ_INT(c.notion.max_retries, 5);
    CHECK_EQ_INT(c.notion.throttle_ms, 350);
    const bb_preset *n = config_preset(&c, "noop");
    CHECK(n != NULL);
    CHECK_STR_EQ(n->label, "No-op (testing)");
    CHECK_EQ_INT(n->workflow, BB_WF_NOOP);
    CHECK(n->argv == NULL && n->argc == 0 && !n->uses_input);
    CHECK_EQ_INT(n->timeout_sec, 0);
    CHECK_EQ_INT(n->max_attempts, 1);
    const bb_preset *w = config_preset(&c, "wordcount");
    CHECK(w != NULL);
    CHECK_EQ_INT(w->workflow, BB_WF_COMMAND);
    CHECK_EQ_INT(w->argc, 3);
    CHECK_STR_EQ(w->argv[0], "wc");
    CHECK_STR_EQ(w->argv[1], "-w");
    CHECK_STR_EQ(w->argv[2], "{input}");
    CHECK(w->argv[3] == NULL);
    CHECK(w->uses_input);
    CHECK_EQ_INT(w->timeout_sec, 60);
    CHECK_EQ_INT(w->max_attempts, 2);
    CHECK_EQ_INT(w->concurrency, 0);
    CHECK_EQ_INT(w->retry_delay_ms, 1000);
    CHECK(config_preset(&c, "lesson") == NULL);
    CHECK(config_preset(&c, NULL) == NULL);

    CHECK_EQ_INT(c.nvoices, 4);
    CHECK_STR_EQ(c.voices[0].id, "en-gb-m1");
    CHECK_STR_EQ(c.voices[0].accent, "british_male");
    CHECK_STR_EQ(c.voices[0].gender, "male");
    CHECK_STR_EQ(c.voices[2].provider, "espeak");
    CHECK_STR_EQ(c.voices[2].provider_voice, "en-us+f3");
    CHECK(config_voice(&c, "en-us-f2") == &c.voices[3]);
    CHECK(config_voice(&c, "nope") == NULL);
    CHECK(config_has_accent(&c, "american_female"));
    CHECK(!config_has_accent(&c, "scottish"));
    config_free(&c);
}

TEST(empty_object_equals_defaults)
{
    bb_config c;
    CHECK_EQ_INT(load("{}", &c), 0);
    CHECK_EQ_INT(c.npresets, 5);
    CHECK_EQ_INT(c.nvoices, 4);
    CHECK_EQ_INT(c.limits.max_body_bytes, 1048576);
    config_free(&c);
}

/* The example configuration of docs/configuration.md, without its lesson
 * preset. */
static const char SPEC_EXAMPLE[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:8080\",\n"
    "  \"workers\": 2,\n"
    "  \"inputRoot\": \"./inputs\",\n"
    "  \"auth\": {\"registration\": \"closed\", \"accessTokenTtlSec\": 900,"
    " \"refreshTokenTtlSec\": 2592000},\n"
    "  \"limits\": {\"maxUploadBytes\": 104857600, \"maxBodyBytes\": 1048576,"
    " \"userQuotaBytes\": 10737418240},\n"
    "  \"events\": {\"heartbeatSec\": 25, \"retainEvents\": 100000},\n"
    "  \"storage\": {\"driver\": \"fs\", \"s3\": {\"endpoint\": \"127.0.0.1:9000\","
    " \"bucket\": \"batchbox\",\n"
    "              \"region\": \"us-east-1\", \"accessKey\": \"...\","
    " \"https\": false, \"pathStyle\": true}},\n"
    "  \"presets\": [\n"
    "    {\"id\": \"transcode\", \"label\": \"To MP3\", \"workflow\": \"command\",\n"
    "     \"argv\": [\"ffmpeg\", \"-i\", \"{input}\", \"{outdir}/out.mp3\"],"
    " \"timeoutSec\": 600,\n"
    "     \"maxAttempts\": 2, \"concurrency\": 1},\n"
    "    {\"id\": \"noop\", \"label\": \"No-op (testing)\", \"workflow\": \"noop\"}\n"
    "  ],\n"
    "  \"voices\": [{\"id\": \"en-gb-m1\", \"label\": \"British male\","
    " \"accent\": \"british_male\",\n"
    "              \"provider\": \"espeak\", \"providerVoice\": \"en-gb\"}],\n"
    "  \"notionDatabases\": [{\"id\": \"uuid1\", \"name\": \"B1 Lessons\"}]\n"
    "}\n";

TEST(spec_example_loads)
{
    bb_config c;
    if (load(SPEC_EXAMPLE, &c) != 0)
        FAIL("load failed: %s", err);
    CHECK_EQ_INT(c.workers, 2);
    CHECK_STR_EQ(c.storage.s3.endpoint, "127.0.0.1:9000");
    CHECK_STR_EQ(c.storage.s3.bucket, "batchbox");
    CHECK_STR_EQ(c.storage.s3.access_key, "...");
    CHECK(c.storage.s3.secret_key == NULL);
    CHECK_EQ_INT(c.npresets, 2);
    const bb_preset *t = config_preset(&c, "transcode");
    CHECK(t != NULL);
    CHECK_EQ_INT(t->argc, 4);
    CHECK_STR_EQ(t->argv[3], "{outdir}/out.mp3");
    CHECK(t->uses_input);
    CHECK_EQ_INT(t->concurrency, 1);
    CHECK_EQ_INT(t->max_attempts, 2);
    const bb_preset *n = config_preset(&c, "noop");
    CHECK(n != NULL);
    CHECK_EQ_INT(n->max_attempts, 3);           /* preset default, not 1 */
    CHECK(config_preset(&c, "wordcount") == NULL);   /* arrays replace */
    CHECK_EQ_INT(c.nvoices, 1);
    CHECK(c.voices[0].gender == NULL);
    CHECK(config_has_accent(&c, "british_male"));
    CHECK(!config_has_accent(&c, "american_female"));
    const bb_notion_db *d = config_notion_db(&c, "uuid1");
    CHECK(d != NULL);
    CHECK_STR_EQ(d->name, "B1 Lessons");
    CHECK(config_notion_db(&c, "uuid2") == NULL);
    config_free(&c);
}

TEST(objects_merge_over_defaults)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"auth\": {\"registration\": \"open\"},"
                      " \"storage\": {\"s3\": {\"https\": true}}}", &c), 0);
    CHECK_STR_EQ(c.auth.registration, "open");
    CHECK_EQ_INT(c.auth.access_ttl_sec, 900);
    CHECK(c.storage.s3.https);
    CHECK(c.storage.s3.path_style);
    CHECK_STR_EQ(c.storage.s3.region, "us-east-1");
    config_free(&c);
}

TEST(preset_field_defaults)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"presets\": ["
                      "{\"id\": \"a\", \"workflow\": \"command\", \"argv\": [\"true\"]},"
                      "{\"id\": \"b\", \"workflow\": \"noop\"},"
                      "{\"id\": \"c\", \"workflow\": \"command\","
                      " \"argv\": [\"echo\", \"{{input}}\", \"--in={input}x\"]},"
                      "{\"id\": \"d\", \"workflow\": \"command\","
                      " \"argv\": [\"echo\", \"{{input}}\", \"{jobId}\"],"
                      " \"timeoutSec\": 0, \"maxAttempts\": 100,"
                      " \"concurrency\": 1024, \"retryDelayMs\": 3600000}]}", &c), 0);
    CHECK_EQ_INT(c.npresets, 4);
    const bb_preset *a = &c.presets[0], *b = &c.presets[1];
    CHECK_STR_EQ(a->label, "a");
    CHECK_EQ_INT(a->timeout_sec, 600);
    CHECK_EQ_INT(a->max_attempts, 3);
    CHECK_EQ_INT(a->concurrency, 0);
    CHECK_EQ_INT(a->retry_delay_ms, 1000);
    CHECK(!a->uses_input);
    CHECK_EQ_INT(b->timeout_sec, 0);
    CHECK(c.presets[2].uses_input);
    CHECK(!c.presets[3].uses_input);    /* "{{input}}" is literal text */
    CHECK_EQ_INT(c.presets[3].timeout_sec, 0);
    CHECK_EQ_INT(c.presets[3].max_attempts, 100);
    CHECK_EQ_INT(c.presets[3].concurrency, 1024);
    CHECK_EQ_INT(c.presets[3].retry_delay_ms, 3600000);
    config_free(&c);
}

TEST(voices_and_notion_arrays)
{
    bb_config c;
    /* the default lesson presets name accents the replaced voices lack */
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a_1\", \"providerVoice\": \"x\"}]}",
                 "\"presets[0].defaults.voiceAccent\": no voice has the accent \"british_male\"");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"l\", \"workflow\": \"lesson\"}], \"voices\": []}",
                 "\"voices\" is empty");
    CHECK_EQ_INT(load("{\"voices\": [{\"id\": \"v\", \"accent\": \"a_1\","
                      " \"providerVoice\": \"x\"}],"
                      " \"presets\": [{\"id\": \"l\", \"workflow\": \"lesson\"}],"
                      " \"notionDatabases\": []}", &c), 0);
    CHECK_STR_EQ(c.voices[0].label, "v");
    CHECK_STR_EQ(c.voices[0].provider, "espeak");
    CHECK(c.voices[0].gender == NULL);
    config_free(&c);
    CHECK_EQ_INT(load("{\"voices\": [], \"presets\": [{\"id\": \"n\", \"workflow\": \"noop\"}]}",
                      &c), 0);
    CHECK_EQ_INT(c.nvoices, 0);
    CHECK(!config_has_accent(&c, "british_male"));
    config_free(&c);
}

TEST(integers_accept_integral_numbers)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"workers\": 3.0, \"events\": {\"heartbeatSec\": 1e3},"
                      " \"limits\": {\"maxUploadBytes\": 1099511627776,"
                      " \"userQuotaBytes\": 0}}", &c), 0);
    CHECK_EQ_INT(c.workers, 3);
    CHECK_EQ_INT(c.events.heartbeat_sec, 1000);
    CHECK_EQ_INT(c.limits.max_upload_bytes, 1099511627776LL);
    CHECK_EQ_INT(c.limits.user_quota_bytes, 0);
    config_free(&c);
}

/* ---- errors --------------------------------------------------------- */

TEST(unknown_key_top_level)
{
    EXPECT_ERROR("{\"listn\": \"127.0.0.1:1\"}", "config: unknown key \"listn\"");
}

TEST(unknown_key_second_level)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"limits\": {\"maxBodyByte\": 2048}}", &c), -1);
    CHECK_STR_EQ(err, "config: unknown key \"limits.maxBodyByte\"");
}

TEST(unknown_key_third_level)
{
    EXPECT_ERROR("{\"storage\": {\"s3\": {\"secret\": \"x\"}}}",
                 "unknown key \"storage.s3.secret\"");
}

TEST(unknown_key_in_array_elements)
{
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a\", \"workflow\": \"noop\"},"
                 " {\"id\": \"b\", \"workflow\": \"noop\", \"timeout\": 5}]}",
                 "unknown key \"presets[1].timeout\"");
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a\","
                 " \"providerVoice\": \"x\", \"pitch\": 2}]}",
                 "unknown key \"voices[0].pitch\"");
    EXPECT_ERROR("{\"notionDatabases\": [{\"id\": \"d\", \"name\": \"n\","
                 " \"url\": \"u\"}]}",
                 "unknown key \"notionDatabases[0].url\"");
    /* Odd bytes in a key are shown as '?', never raw. */
    EXPECT_ERROR("{\"a\\\"b\\n\": 1}", "unknown key \"a?b?\"");
}

TEST(duplicate_keys)
{
    EXPECT_ERROR("{\"workers\": 2, \"workers\": 3}", "duplicate key \"workers\"");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a\", \"id\": \"b\","
                 " \"workflow\": \"noop\"}]}", "duplicate key \"presets[0].id\"");
}

TEST(wrong_types)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"workers\": \"4\"}", &c), -1);
    CHECK_STR_EQ(err, "config: \"workers\" must be an integer between 1 and 256");
    EXPECT_ERROR("{\"workers\": 1.5}", "\"workers\" must be an integer");
    EXPECT_ERROR("{\"listen\": 8080}", "\"listen\" must be");
    EXPECT_ERROR("{\"auth\": []}", "\"auth\" must be an object");
    EXPECT_ERROR("{\"storage\": {\"s3\": 5}}", "\"storage.s3\" must be an object");
    EXPECT_ERROR("{\"storage\": {\"s3\": {\"https\": \"yes\"}}}",
                 "\"storage.s3.https\" must be true or false");
    EXPECT_ERROR("{\"auth\": {\"registration\": \"maybe\"}}",
                 "\"auth.registration\" must be one of \"open\", \"closed\"");
    EXPECT_ERROR("{\"storage\": {\"driver\": \"gcs\"}}", "\"storage.driver\"");
    EXPECT_ERROR("{\"inputRoot\": \"\"}", "\"inputRoot\" must be a non-empty string");
    EXPECT_ERROR("{\"presets\": {}}", "\"presets\" must be an array");
    EXPECT_ERROR("{\"presets\": [1]}", "\"presets[0]\" must be an object");
    EXPECT_ERROR("{\"voices\": \"x\"}", "\"voices\" must be an array");
    EXPECT_ERROR("{\"notionDatabases\": [null]}",
                 "\"notionDatabases[0]\" must be an object");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"x\"], \"maxAttempts\": \"2\""),
                 "\"presets[0].maxAttempts\" must be an integer between 1 and 100");
}

TEST(out_of_range)
{
    EXPECT_ERROR("{\"workers\": 0}", "\"workers\" must be an integer between 1 and 256");
    EXPECT_ERROR("{\"workers\": 257}", "\"workers\"");
    EXPECT_ERROR("{\"limits\": {\"maxBodyBytes\": 1023}}",
                 "\"limits.maxBodyBytes\" must be an integer between 1024 and 67108864");
    EXPECT_ERROR("{\"limits\": {\"maxUploadBytes\": 1099511627777}}",
                 "\"limits.maxUploadBytes\"");
    EXPECT_ERROR("{\"limits\": {\"userQuotaBytes\": -1}}", "\"limits.userQuotaBytes\"");
    EXPECT_ERROR("{\"limits\": {\"userQuotaBytes\": 1e300}}", "\"limits.userQuotaBytes\"");
    EXPECT_ERROR("{\"auth\": {\"accessTokenTtlSec\": 59}}", "\"auth.accessTokenTtlSec\"");
    EXPECT_ERROR("{\"auth\": {\"refreshTokenTtlSec\": 31536001}}",
                 "\"auth.refreshTokenTtlSec\"");
    EXPECT_ERROR("{\"events\": {\"heartbeatSec\": 3601}}", "\"events.heartbeatSec\"");
    EXPECT_ERROR("{\"events\": {\"retainEvents\": 999}}", "\"events.retainEvents\"");
    EXPECT_ERROR("{\"events\": {\"maxSubscribers\": 1000001}}", "\"events.maxSubscribers\"");
    EXPECT_ERROR("{\"events\": {\"maxPerUser\": 0}}", "\"events.maxPerUser\"");
    EXPECT_ERROR("{\"events\": {\"ringEvents\": 15}}", "\"events.ringEvents\"");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"x\"], \"timeoutSec\": 604801"),
                 "\"presets[0].timeoutSec\"");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"x\"], \"maxAttempts\": 0"),
                 "\"presets[0].maxAttempts\"");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"x\"], \"concurrency\": 1025"),
                 "\"presets[0].concurrency\"");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"x\"], \"retryDelayMs\": -1"),
                 "\"presets[0].retryDelayMs\"");
}

TEST(listen_forms)
{
    static const char *const good[] = {
        "127.0.0.1:8080", "[::1]:8080", "localhost:0", "0.0.0.0:65535",
    };
    static const char *const bad[] = {
        "8080", ":8080", "host:", "host:65536", "ho st:80", "::1:8080",
        "[::1]8080", "host:8a", "[]:80", "host:123456", "h\\tx:1",
    };
    char json[128];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        bb_config c;
        snprintf(json, sizeof json, "{\"listen\": \"%s\"}", good[i]);
        if (load(json, &c) != 0)
            FAIL("%s rejected: %s", good[i], err);
        CHECK_STR_EQ(c.listen, good[i]);
        config_free(&c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "{\"listen\": \"%s\"}", bad[i]);
        EXPECT_ERROR(json, "\"listen\" must be \"HOST:PORT\"");
    }
}

TEST(duplicate_preset_id)
{
    EXPECT_ERROR("{\"presets\": [{\"id\": \"x\", \"workflow\": \"noop\"},"
                 " {\"id\": \"noop\", \"workflow\": \"noop\"},"
                 " {\"id\": \"y\", \"workflow\": \"noop\"},"
                 " {\"id\": \"noop\", \"workflow\": \"noop\"},"
                 " {\"id\": \"x\", \"workflow\": \"noop\"}]}",
                 "\"presets[3].id\": duplicate id \"noop\"", "presets[1]");
}

TEST(duplicate_voice_and_database_ids)
{
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a\", \"providerVoice\": \"x\"},"
                 " {\"id\": \"v\", \"accent\": \"b\", \"providerVoice\": \"y\"}]}",
                 "\"voices[1].id\": duplicate id \"v\"");
    EXPECT_ERROR("{\"notionDatabases\": [{\"id\": \"d\", \"name\": \"n\"},"
                 " {\"id\": \"d\", \"name\": \"m\"}]}",
                 "\"notionDatabases[1].id\": duplicate id \"d\"");
}

TEST(preset_id_rules)
{
    EXPECT_ERROR("{\"presets\": [{\"workflow\": \"noop\"}]}",
                 "\"presets[0].id\" is required");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a b\", \"workflow\": \"noop\"}]}",
                 "\"presets[0].id\" must be 1 to 64 characters");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaa\", \"workflow\": \"noop\"}]}",
                 "\"presets[0].id\"");
    EXPECT_ERROR("{\"presets\": []}", "\"presets\" must list at least one preset");
}

TEST(command_without_argv)
{
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a\", \"workflow\": \"noop\"},"
                 " {\"id\": \"b\", \"workflow\": \"command\"}]}",
                 "\"presets[1].argv\" is required for workflow \"command\"");
    EXPECT_ERROR(ONE_PRESET("\"argv\": []"), "\"presets[0].argv\" must be a non-empty array");
    EXPECT_ERROR(ONE_PRESET("\"argv\": \"ls\""), "\"presets[0].argv\" must be a non-empty array");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"ls\", 3]"),
                 "\"presets[0].argv[1]\" must be a non-empty string");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"ls\", \"\"]"),
                 "\"presets[0].argv[1]\" must be a non-empty string");
}

TEST(noop_with_argv_is_rejected)
{
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a\", \"workflow\": \"noop\", \"argv\": [\"x\"]}]}",
                 "\"presets[0].argv\" is not allowed for workflow \"noop\"");
}

TEST(unknown_placeholder)
{
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"cat\", \"{outdir}/{inptu}\"]"),
                 "\"presets[0].argv[1]\"", "inptu");
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"cat\", \"{input\"]"), "\"presets[0].argv[1]\"");
}

TEST(unknown_workflow)
{
    bb_config c;
    CHECK_EQ_INT(load("{\"presets\": [{\"id\": \"b1\", \"workflow\": \"comfy\"}]}", &c), -1);
    CHECK_STR_EQ(err, "config: presets[0].workflow: unknown workflow \"comfy\""
                      " (this build runs: noop, command, lesson, translate, comfyui)");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"b1\"}]}", "\"presets[0].workflow\" is required");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"b1\", \"workflow\": 1}]}",
                 "\"presets[0].workflow\" must be a string");
}

TEST(voice_field_errors)
{
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"providerVoice\": \"x\"}]}",
                 "\"voices[0].accent\" is required");
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"British\", \"providerVoice\": \"x\"}]}",
                 "\"voices[0].accent\" must be");
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a\", \"gender\": \"m\","
                 " \"providerVoice\": \"x\"}]}", "\"voices[0].gender\"");
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a\", \"provider\": \"polly\","
                 " \"providerVoice\": \"x\"}]}", "\"voices[0].provider\"");
    EXPECT_ERROR("{\"voices\": [{\"id\": \"v\", \"accent\": \"a\"}]}",
                 "\"voices[0].providerVoice\" is required");
    EXPECT_ERROR("{\"voices\": [{\"accent\": \"a\", \"providerVoice\": \"x\"}]}",
                 "\"voices[0].id\" is required");
    EXPECT_ERROR("{\"notionDatabases\": [{\"id\": \"d\"}]}",
                 "\"notionDatabases[0].name\" is required");
}

TEST(s3_without_bucket)
{
    EXPECT_ERROR("{\"storage\": {\"driver\": \"s3\", \"s3\": {\"endpoint\": \"127.0.0.1:9000\","
                 " \"accessKey\": \"k\", \"secretKey\": \"s\"}}}",
                 "\"storage.s3.bucket\" is required when storage.driver is \"s3\"",
                 "BATCHBOX_S3_BUCKET");
    EXPECT_ERROR("{\"storage\": {\"driver\": \"s3\", \"s3\": {\"endpoint\": \"e:1\","
                 " \"bucket\": \"b\", \"accessKey\": \"k\"}}}",
                 "\"storage.s3.secretKey\" is required", "BATCHBOX_S3_SECRET_KEY");
    /* The driver chosen by the environment needs the same keys. */
    CHECK_EQ_INT(setenv("BATCHBOX_STORAGE_DRIVER", "s3", 1), 0);
    EXPECT_ERROR("{}", "\"storage.s3.endpoint\" is required", "BATCHBOX_S3_ENDPOINT");
    unsetenv("BATCHBOX_STORAGE_DRIVER");
}

TEST(s3_complete_with_secret_from_env)
{
    bb_config c;
    CHECK_EQ_INT(setenv("BATCHBOX_S3_SECRET_KEY", "hunter2", 1), 0);
    int rc = load("{\"storage\": {\"driver\": \"s3\", \"s3\": {\"endpoint\": \"e:1\","
                  " \"bucket\": \"b\", \"accessKey\": \"k\"}}}", &c);
    unsetenv("BATCHBOX_S3_SECRET_KEY");
    if (rc != 0)
        FAIL("load failed: %s", err);
    CHECK_STR_EQ(c.storage.driver, "s3");
    CHECK_STR_EQ(c.storage.s3.secret_key, "hunter2");
    config_free(&c);
}

TEST(invalid_json_names_the_line)
{
    EXPECT_ERROR("{\n  \"workers\": 2,\n  oops\n}", "invalid JSON near line 3");
    EXPECT_ERROR("{} trailing", "invalid JSON near line 1");
    EXPECT_ERROR("", "invalid JSON");
    EXPECT_ERROR("[1, 2]", "the top level must be a JSON object");
}

/* ---- environment ---------------------------------------------------- */

TEST(env_overrides_file)
{
    bb_config c;
    CHECK_EQ_INT(setenv("BATCHBOX_WORKERS", "7", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_AUTH_REGISTRATION", "open", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_S3_HTTPS", "YES", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_S3_PATH_STYLE", "0", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_LIMITS_USER_QUOTA_BYTES", "0", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_LISTEN", "[::1]:9", 1), 0);
    CHECK_EQ_INT(setenv("BATCHBOX_EVENTS_HEARTBEAT_SEC", "", 1), 0);  /* unset */
    int rc = load("{\"workers\": 2, \"events\": {\"heartbeatSec\": 5}}", &c);
    clear_env();
    if (rc != 0)
        FAIL("load failed: %s", err);
    CHECK_EQ_INT(c.workers, 7);
    CHECK_STR_EQ(c.auth.registration, "open");
    CHECK(c.storage.s3.https);
    CHECK(!c.storage.s3.path_style);
    CHECK_EQ_INT(c.limits.user_quota_bytes, 0);
    CHECK_STR_EQ(c.listen, "[::1]:9");
    CHECK_EQ_INT(c.events.heartbeat_sec, 5);
    config_free(&c);
}

/* http.trustedProxies: an array or a comma-separated string, checked
 * entry by entry; [] and unset mean none; the variable takes the string. */
TEST(trusted_proxies_list)
{
    bb_config c;
    int rc = load("{}", &c);
    if (rc != 0)
        FAIL("load failed: %s", err);
    CHECK(c.http.trusted_proxies == NULL);
    CHECK_EQ_INT(c.limits.max_log_bytes, 16777216);
    config_free(&c);
    rc = load("{\"http\": {\"trustedProxies\": [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]}}",
              &c);
    if (rc != 0)
        FAIL("load failed: %s", err);
    CHECK_STR_EQ(c.http.trusted_proxies, "127.0.0.1,10.0.0.0/8,::1");
    config_free(&c);
    rc = load("{\"http\": {\"trustedProxies\": []}}", &c);
    CHECK_EQ_INT(rc, 0);
    CHECK(c.http.trusted_proxies == NULL);
    config_free(&c);
    CHECK_EQ_INT(load("{\"http\": {\"trustedProxies\": [\"10.0.0.0/33\"]}}", &c), -1);
    CHECK(strstr(err, "\"http.trustedProxies\"") != NULL);
    CHECK(strstr(err, "10.0.0.0/33") != NULL);
    CHECK_EQ_INT(load("{\"http\": {\"trustedProxies\": [\"proxy.local\"]}}", &c), -1);
    CHECK_EQ_INT(load("{\"http\": {\"trustedProxies\": [1]}}", &c), -1);
    CHECK_EQ_INT(load("{\"http\": {\"trustedProxies\": [\"1.2.3.4,5.6.7.8\"]}}", &c), -1);
    CHECK_EQ_INT(setenv("BATCHBOX_HTTP_TRUSTED_PROXIES", "192.168.1.0/24, fd00::/8", 1), 0);
    rc = load("{}", &c);
    clear_env();
    if (rc != 0)
        FAIL("load failed: %s", err);
    CHECK_STR_EQ(c.http.trusted_proxies, "192.168.1.0/24, fd00::/8");
    config_free(&c);
}

static void expect_env_error_(const char *file, int line, const char *var,
                              const char *val, const char *want)
{
    if (setenv(var, val, 1) != 0) {
        unit_fail_(file, line, "setenv failed");
        return;
    }
    bb_config c;
    int rc = load(NULL, &c);
    unsetenv(var);
    if (rc != -1) {
        config_free(&c);
        unit_fail_(file, line, "%s=%s accepted", var, val);
        return;
    }
    char prefix[128];
    snprintf(prefix, sizeof prefix, "config: %s: ", var);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL)
        unit_fail_(file, line, "%s=%s: message \"%s\" lacks \"%s\"", var, val,
                   err, want);
}
#define EXPECT_ENV_ERROR(var, val, want) \
    expect_env_error_(__FILE__, __LINE__, var, val, want)

TEST(env_bad_values_name_the_variable)
{
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", "abc", "\"workers\" must be an integer between 1 and 256");
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", "0", "\"workers\"");
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", "257", "\"workers\"");
    EXPECT_ENV_ERROR("BATCHBOX_EVENTS_RETAIN_EVENTS", "100000001", "\"events.retainEvents\"");
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", " 4", "\"workers\"");
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", "4 ", "\"workers\"");
    EXPECT_ENV_ERROR("BATCHBOX_WORKERS", "99999999999999999999999", "\"workers\"");
    EXPECT_ENV_ERROR("BATCHBOX_LIMITS_MAX_BODY_BYTES", "64", "\"limits.maxBodyBytes\"");
    EXPECT_ENV_ERROR("BATCHBOX_S3_HTTPS", "maybe", "\"storage.s3.https\" must be true or false");
    EXPECT_ENV_ERROR("BATCHBOX_STORAGE_DRIVER", "gcs", "\"storage.driver\"");
    EXPECT_ENV_ERROR("BATCHBOX_LISTEN", "8080", "\"listen\"");
}

TEST(env_table_is_complete_and_distinct)
{
    static const char *const expected[] = {
        "BATCHBOX_LISTEN", "BATCHBOX_WORKERS", "BATCHBOX_INPUT_ROOT",
        "BATCHBOX_AUTH_REGISTRATION", "BATCHBOX_AUTH_ACCESS_TOKEN_TTL_SEC",
        "BATCHBOX_AUTH_REFRESH_TOKEN_TTL_SEC", "BATCHBOX_LIMITS_MAX_UPLOAD_BYTES",
        "BATCHBOX_LIMITS_MAX_BODY_BYTES", "BATCHBOX_LIMITS_USER_QUOTA_BYTES",
        "BATCHBOX_LIMITS_MAX_ARTIFACT_BYTES",
        "BATCHBOX_LIMITS_MAX_BATCH_SIZE", "BATCHBOX_EVENTS_HEARTBEAT_SEC", "BATCHBOX_EVENTS_RETAIN_EVENTS",
        "BATCHBOX_EVENTS_MAX_SUBSCRIBERS", "BATCHBOX_EVENTS_MAX_PER_USER",
        "BATCHBOX_EVENTS_RING_EVENTS", "BATCHBOX_STORAGE_DRIVER",
        "BATCHBOX_S3_ENDPOINT", "BATCHBOX_S3_BUCKET", "BATCHBOX_S3_REGION",
        "BATCHBOX_S3_ACCESS_KEY", "BATCHBOX_S3_SECRET_KEY", "BATCHBOX_S3_HTTPS",
        "BATCHBOX_S3_PATH_STYLE", "BATCHBOX_S3_CA_BUNDLE", "BATCHBOX_S3_INSECURE_SKIP_VERIFY",
        "BATCHBOX_METRICS_TOKEN",
        "BATCHBOX_TTS_CACHE_DIR", "BATCHBOX_TTS_ESPEAK_PROGRAM",
        "BATCHBOX_TTS_PROCESS_TIMEOUT_SEC", "BATCHBOX_TTS_CONNECT_TIMEOUT_MS",
        "BATCHBOX_TTS_REQUEST_TIMEOUT_MS", "BATCHBOX_TTS_MAX_ATTEMPTS",
        "BATCHBOX_TTS_RETRY_BASE_MS", "BATCHBOX_TTS_RETRY_MAX_MS",
        "BATCHBOX_ELEVENLABS_BASE_URL", "BATCHBOX_ELEVENLABS_MODEL",
        "BATCHBOX_ELEVENLABS_SAMPLE_RATE", "BATCHBOX_NOTION_BASE_URL",
        "BATCHBOX_NOTION_VERSION", "BATCHBOX_NOTION_TITLE_PROPERTY",
        "BATCHBOX_NOTION_LEVEL_PROPERTY", "BATCHBOX_NOTION_LEVEL_TYPE",
        "BATCHBOX_NOTION_CONNECT_TIMEOUT_MS", "BATCHBOX_NOTION_REQUEST_TIMEOUT_MS",
        "BATCHBOX_NOTION_MAX_RETRIES", "BATCHBOX_NOTION_RETRY_DELAY_MS",
        "BATCHBOX_NOTION_RETRY_MAX_MS", "BATCHBOX_NOTION_THROTTLE_MS", "BATCHBOX_PUBLIC_URL",
        "BATCHBOX_HTTP_TRUSTED_PROXIES", "BATCHBOX_HTTP_HEADER_TIMEOUT_MS",
        "BATCHBOX_HTTP_BODY_TIMEOUT_MS", "BATCHBOX_HTTP_UPLOAD_MIN_BYTES_PER_SEC",
        "BATCHBOX_HTTP_UPLOAD_RATE_WINDOW_MS", "BATCHBOX_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        "BATCHBOX_LIMITS_MAX_LOG_BYTES", "BATCHBOX_QUEUE_RESERVE_AFTER_SEC",
        "BATCHBOX_HTTP_CORS_ORIGINS", "BATCHBOX_HTTP_RATE_LIMIT_PER_SEC",
        "BATCHBOX_HTTP_RATE_LIMIT_BURST", "BATCHBOX_RETENTION_DAYS",
        "BATCHBOX_RETENTION_AFTER_SEC", "BATCHBOX_RETENTION_INTERVAL_SEC",
        "BATCHBOX_RETENTION_BATCH_SIZE", "BATCHBOX_WEBHOOKS_TIMEOUT_MS",
        "BATCHBOX_WEBHOOKS_MAX_ATTEMPTS", "BATCHBOX_WEBHOOKS_RETRY_BASE_MS",
        "BATCHBOX_WEBHOOKS_QUEUE_SIZE",
    };
    size_t n = 0;
    const char *e, *k;
    while (config_env_override(n, &e, &k))
        n++;
    CHECK_EQ_INT(n, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK(config_env_override(i, &e, &k));
        CHECK_STR_EQ(e, expected[i]);
        /* Every variable really sets its key: a bad value names it. */
        char want[96];
        snprintf(want, sizeof want, "\"%s\"", k);
        bool free_text = strcmp(e, "BATCHBOX_INPUT_ROOT") == 0 ||
                         strncmp(e, "BATCHBOX_S3_", 12) == 0 ||
                         strcmp(e, "BATCHBOX_METRICS_TOKEN") == 0 ||
                         strcmp(e, "BATCHBOX_TTS_CACHE_DIR") == 0 ||
                         strcmp(e, "BATCHBOX_TTS_ESPEAK_PROGRAM") == 0 ||
                         strcmp(e, "BATCHBOX_ELEVENLABS_MODEL") == 0 ||
                         strcmp(e, "BATCHBOX_NOTION_VERSION") == 0 ||
                         strcmp(e, "BATCHBOX_NOTION_TITLE_PROPERTY") == 0 ||
                         strcmp(e, "BATCHBOX_NOTION_LEVEL_PROPERTY") == 0;
        if (!free_text)
            EXPECT_ENV_ERROR(e, "\x01", want);
    }
}

/* docs/configuration.md lists exactly the variables of the table, each
 * with its key: a row "| `VAR` | `key` |". */
TEST(docs_list_every_env_var)
{
    FILE *f = fopen("docs/configuration.md", "r");
    if (f == NULL)
        FAIL("cannot open docs/configuration.md (run from the repo root)");
    char line[512];
    size_t rows = 0;
    bool bad = false;
    char badrow[512] = "";
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "| `BATCHBOX_", 12) != 0)
            continue;
        rows++;
        const char *e, *k;
        bool found = false;
        for (size_t i = 0; config_env_override(i, &e, &k); i++) {
            char row[256];
            snprintf(row, sizeof row, "| `%s` | `%s` |", e, k);
            if (strncmp(line, row, strlen(row)) == 0)
                found = true;
        }
        if (!found && !bad) {
            bad = true;
            snprintf(badrow, sizeof badrow, "%s", line);
        }
    }
    fclose(f);
    if (bad)
        FAIL("docs row not in the table: %s", badrow);
    size_t n = 0;
    while (config_env_override(n, NULL, NULL))
        n++;
    CHECK_EQ_INT(rows, n);
}

/* docs/configuration.md shows the built-in defaults: its ```json block
 * under "## Built-in defaults" is the embedded config_defaults.json, byte
 * for byte. */
TEST(docs_show_the_embedded_defaults)
{
    const struct bb_asset *a = bb_asset_find("src/infra/config_defaults.json");
    CHECK(a != NULL);
    FILE *f = fopen("docs/configuration.md", "r");
    if (f == NULL)
        FAIL("cannot open docs/configuration.md (run from the repo root)");
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *sec = strstr(doc, "## Built-in defaults");
    CHECK(sec != NULL);
    const char *open = strstr(sec, "```json\n");
    CHECK(open != NULL);
    open += strlen("```json\n");
    const char *close = strstr(open, "```");
    CHECK(close != NULL);
    CHECK_EQ_INT((int)(close - open), (int)a->len);
    CHECK(memcmp(open, a->data, a->len) == 0);
}

/* Keys a workflow declares (infra/exec/workflow.h) are refused on the
 * presets of other workflows, with the owner named. */
TEST(workflow_keys_belong_to_their_workflow)
{
    EXPECT_ERROR(ONE_PRESET("\"argv\": [\"ls\"], \"gapMs\": 100"),
                 "\"presets[0].gapMs\" is only for workflow \"lesson\"");
    EXPECT_ERROR("{\"presets\": [{\"id\": \"a\", \"workflow\": \"noop\", \"defaults\": {}}]}",
                 "\"presets[0].defaults\" is only for workflow \"lesson\"");
    bb_config c;
    CHECK_EQ_INT(load(ONE_PRESET("\"argv\": [\"ls\"]"), &c), 0);
    CHECK_EQ_INT(c.presets[0].timeout_sec, 600);      /* the command workflow's default */
    CHECK_STR_EQ(config_workflow_name(c.presets[0].workflow), "command");
    config_free(&c);
}

/* ---- inputRoot ------------------------------------------------------ */

static void expect_root_(const char *file, int line, const char *base,
                         const char *root, const char *want)
{
    char json[512];
    bb_config c;
    snprintf(json, sizeof json, "{\"inputRoot\": \"%s\"}", root);
    err[0] = '\0';
    if (config_load_text(json, base, &c, err, sizeof err) != 0) {
        unit_fail_(file, line, "inputRoot %s: %s", root, err);
        return;
    }
    if (strcmp(c.input_root, want) != 0)
        unit_fail_(file, line, "inputRoot %s (base %s) -> %s, want %s", root,
                   base ? base : "NULL", c.input_root, want);
    config_free(&c);
}
#define EXPECT_ROOT(base, root, want) \
    expect_root_(__FILE__, __LINE__, base, root, want)

TEST(input_root_resolves_against_base_dir)
{
    EXPECT_ROOT("/srv/data", "./inputs", "/srv/data/inputs");
    EXPECT_ROOT("/srv/data/", "lessons//b1/", "/srv/data/lessons/b1");
    EXPECT_ROOT("/srv/data", "../shared/./in", "/srv/shared/in");
    EXPECT_ROOT("/srv/data", "../../../../..", "/");
    EXPECT_ROOT("/srv/data", "/abs/../x/.", "/x");
    EXPECT_ROOT("/srv/data", "/", "/");
    EXPECT_ROOT("/srv/./data/..", "in", "/srv/in");

    char cwd[4096], want[4200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s/inputs", strcmp(cwd, "/") ? cwd : "");
    EXPECT_ROOT(NULL, "inputs", want);
    snprintf(want, sizeof want, "%s/rel/inputs", strcmp(cwd, "/") ? cwd : "");
    EXPECT_ROOT("rel", "./inputs", want);

    bb_config c;
    CHECK_EQ_INT(setenv("BATCHBOX_INPUT_ROOT", "from-env", 1), 0);
    int rc = load("{\"inputRoot\": \"/ignored\"}", &c);
    unsetenv("BATCHBOX_INPUT_ROOT");
    CHECK_EQ_INT(rc, 0);
    CHECK_STR_EQ(c.input_root, "/srv/data/from-env");
    config_free(&c);
}

/* ---- files and the failure contract --------------------------------- */

/* Writes len bytes to a new temp file; returns its path (static). */
static const char *temp_file(const char *data, size_t len)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/bbcfgXXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) {
            close(fd);
            return NULL;
        }
        off += (size_t)n;
    }
    close(fd);
    return path;
}

TEST(load_from_file)
{
    const char *json = "{\"workers\": 3}";
    const char *p = temp_file(json, strlen(json));
    CHECK(p != NULL);
    bb_config c;
    CHECK_EQ_INT(config_load(p, BASE, &c, err, sizeof err), 0);
    CHECK_EQ_INT(c.workers, 3);
    config_free(&c);
    unlink(p);

    json = "{\n\n  \"workers\": 3,,\n}";
    p = temp_file(json, strlen(json));
    CHECK(p != NULL);
    CHECK_EQ_INT(config_load(p, BASE, &c, err, sizeof err), -1);
    CHECK(strstr(err, p) != NULL);
    CHECK(strstr(err, "invalid JSON near line 3") != NULL);
    CHECK(is_zeroed(&c));
    unlink(p);

    p = temp_file("{\"workers\":\0 3}", 15);
    CHECK(p != NULL);
    CHECK_EQ_INT(config_load(p, BASE, &c, err, sizeof err), -1);
    CHECK(strstr(err, "NUL") != NULL);
    unlink(p);
}

TEST(file_errors)
{
    bb_config c;
    CHECK_EQ_INT(config_load("/nonexistent/batchbox.json", BASE, &c, err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/batchbox.json") != NULL);
    CHECK(is_zeroed(&c));
    CHECK_EQ_INT(config_load("/", BASE, &c, err, sizeof err), -1);
    CHECK(strstr(err, "not a regular file") != NULL);

    /* 1 MiB + 1 of valid JSON (spaces) is still too big. */
    size_t len = 1024 * 1024 + 1;
    char *big = malloc(len);
    CHECK(big != NULL);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    const char *p = temp_file(big, len);
    free(big);
    CHECK(p != NULL);
    CHECK_EQ_INT(config_load(p, BASE, &c, err, sizeof err), -1);
    CHECK(strstr(err, "larger than 1 MiB") != NULL);
    unlink(p);
}

TEST(free_is_safe_and_err_buffer_optional)
{
    bb_config c;
    memset(&c, 0, sizeof c);
    config_free(&c);
    config_free(&c);
    config_free(NULL);
    /* No error buffer at all, and a tiny one: no crash, truncated text. */
    CHECK_EQ_INT(config_load_text("{\"x\": 1}", BASE, &c, NULL, 0), -1);
    char small[12];
    CHECK_EQ_INT(config_load_text("{\"x\": 1}", BASE, &c, small, sizeof small), -1);
    CHECK_STR_EQ(small, "config: unk");
    CHECK(is_zeroed(&c));
    /* A failure after the presets were replaced frees them too (ASan). */
    CHECK_EQ_INT(load("{\"presets\": [{\"id\": \"a\", \"workflow\": \"noop\"}],"
                      " \"workers\": 0}", &c), -1);
    CHECK(is_zeroed(&c));
    CHECK(config_preset(NULL, "noop") == NULL);
    CHECK(config_notion_db(NULL, "x") == NULL);
    CHECK(!config_has_accent(NULL, "x"));
}

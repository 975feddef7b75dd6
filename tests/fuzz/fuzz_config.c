/* fuzz_config.c — libFuzzer target for the configuration loader
 * (config_load_text in src/infra/config.c): the same code that reads
 * batchbox.json at start-up.  Build and run with tests/fuzz/run.sh
 * (./build.sh fuzz); seeds in tests/fuzz/corpus/config/.
 *
 * The input is the file's text (cut at the first NUL, as a C string; the
 * loader gets it NUL-terminated exactly like a file read into memory).
 * BATCHBOX_* variables are cleared first so only the text decides.
 *
 * Besides the sanitizers it checks: a failure leaves a non-empty message
 * and a zeroed config; a success gives a config within the documented
 * ranges (docs/configuration.md) whose presets have unique valid ids that
 * config_preset() finds, command presets a NULL-terminated argv, and an
 * absolute inputRoot; loading the same text twice gives the same result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infra/config.h"

#define TEXT_MAX (256 * 1024) /* inputs beyond this are skipped */

static char base_dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *env;
    for (size_t i = 0; config_env_override(i, &env, NULL); i++)
        unsetenv(env);
    const char *tmp = getenv("TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/bbfz-config-XXXXXX",
             tmp && *tmp && strlen(tmp) < 30 ? tmp : "/tmp");
    if (!mkdtemp(base_dir)) {
        perror("fuzz_config: mkdtemp");
        abort();
    }
    return 0;
}

static int valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void check_config(const bb_config *c)
{
    if (!c->listen || !c->input_root || c->input_root[0] != '/')
        abort();
    if (c->workers < 1)
        abort();
    if (!c->auth.registration || (strcmp(c->auth.registration, "open") != 0 &&
                                  strcmp(c->auth.registration, "closed") != 0))
        abort();
    if (c->auth.access_ttl_sec < 60 || c->auth.access_ttl_sec > 86400 ||
        c->auth.refresh_ttl_sec < 3600)
        abort();
    if (c->limits.max_upload_bytes < 1 || c->limits.max_body_bytes < 1024 ||
        c->limits.user_quota_bytes < 0)
        abort();
    if (c->events.heartbeat_sec < 1 || c->events.heartbeat_sec > 3600 ||
        c->events.retain_events < 1000 || c->events.max_subscribers < 1 ||
        c->events.max_subscribers > 10000)
        abort();
    if (!c->storage.driver ||
        (strcmp(c->storage.driver, "fs") != 0 && strcmp(c->storage.driver, "s3") != 0))
        abort();
    if (c->npresets < 1 || !c->presets)
        abort();
    for (size_t i = 0; i < c->npresets; i++) {
        const bb_preset *p = &c->presets[i];
        if (!valid_id(p->id) || !p->label || p->max_attempts < 1 || p->concurrency < 0 ||
            p->timeout_sec < 0)
            abort();
        if (config_preset(c, p->id) != p)   /* unique ids: the first one is p */
            abort();
        if (p->workflow == BB_WF_COMMAND) {
            if (p->argc < 1 || !p->argv || p->argv[p->argc] != NULL)
                abort();
            for (size_t k = 0; k < p->argc; k++)
                if (!p->argv[k])
                    abort();
        }
    }
    for (size_t i = 0; i < c->nvoices; i++)
        if (!c->voices[i].id)
            abort();
    for (size_t i = 0; i < c->nnotion_dbs; i++)
        if (!c->notion_dbs[i].id || config_notion_db(c, c->notion_dbs[i].id) == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TEXT_MAX)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    bb_config c, c2;
    char err[512], err2[512];
    int rc = config_load_text(text, base_dir, &c, err, sizeof err);
    if (rc == 0) {
        check_config(&c);
    } else {
        if (rc != -1 || err[0] == '\0' || strlen(err) >= sizeof err)
            abort();
        if (c.presets != NULL || c.listen != NULL || c.input_root != NULL)
            abort();
    }
    /* deterministic: the same text loads the same way */
    int rc2 = config_load_text(text, base_dir, &c2, err2, sizeof err2);
    if (rc2 != rc)
        abort();
    if (rc == 0) {
        if (c2.npresets != c.npresets || strcmp(c2.input_root, c.input_root) != 0)
            abort();
        config_free(&c2);
        config_free(&c);
        config_free(&c);   /* it zeroes *c: a second call must be harmless */
    } else if (strcmp(err, err2) != 0) {
        abort();
    }
    free(text);
    return 0;
}

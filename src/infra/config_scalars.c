/* config_scalars.c — the SCALARS table: every scalar setting once, with
 * its key in batchbox.json, its BATCHBOX_* environment variable, its kind
 * and its range.  It serves the file parser, the environment overrides
 * and the docs check (config_env_override; docs/configuration.md).  New
 * settings are rows, not code.  Runs at start-up only. */
#include "infra/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the scalar table (file keys and environment variables) ----------- */

enum kind {
    K_STR,      /* non-empty string */
    K_LISTEN,   /* "HOST:PORT" */
    K_PATH,     /* non-empty string; made absolute at the end */
    K_CHOICE,   /* one of choices[] */
    K_INT,      /* int field, min..max */
    K_I64,      /* int64_t field, min..max */
    K_BOOL,     /* bool field */
    K_URL,      /* "http://..." or "https://...", no trailing slash kept */
    K_CHOICE_INT, /* int field, one of SAMPLE_RATES */
};

typedef struct scalar {
    const char *key;        /* dotted path in the file */
    const char *env;        /* BATCHBOX_* override */
    enum kind kind;
    size_t off;             /* offsetof(bb_config, ...) */
    int64_t min, max;       /* K_INT, K_I64 */
    const char *const *choices;   /* K_CHOICE, NULL-terminated */
} scalar;

static const char *const REGISTRATIONS[] = {"open", "closed", NULL};
static const char *const DRIVERS[] = {"fs", "s3", NULL};
static const char *const LEVEL_TYPES[] = {"select", "rich_text", NULL};
/* ElevenLabs pcm_<rate> output formats */
static const int64_t SAMPLE_RATES[] = {8000, 16000, 22050, 24000, 44100, 48000};

#define OFF(m) offsetof(bb_config, m)
#define TIB (1024LL * 1024 * 1024 * 1024)
#define MIB (1024LL * 1024)

static const scalar SCALARS[] = {
    {"listen", "BATCHBOX_LISTEN", K_LISTEN, OFF(listen), 0, 0, NULL},
    {"workers", "BATCHBOX_WORKERS", K_INT, OFF(workers), 1, MAX_WORKERS, NULL},
    {"inputRoot", "BATCHBOX_INPUT_ROOT", K_PATH, OFF(input_root), 0, 0, NULL},
    {"auth.registration", "BATCHBOX_AUTH_REGISTRATION", K_CHOICE,
     OFF(auth.registration), 0, 0, REGISTRATIONS},
    {"auth.accessTokenTtlSec", "BATCHBOX_AUTH_ACCESS_TOKEN_TTL_SEC", K_I64,
     OFF(auth.access_ttl_sec), 60, 86400, NULL},
    {"auth.refreshTokenTtlSec", "BATCHBOX_AUTH_REFRESH_TOKEN_TTL_SEC", K_I64,
     OFF(auth.refresh_ttl_sec), 3600, 31536000, NULL},
    {"limits.maxUploadBytes", "BATCHBOX_LIMITS_MAX_UPLOAD_BYTES", K_I64,
     OFF(limits.max_upload_bytes), 1, TIB, NULL},
    {"limits.maxBodyBytes", "BATCHBOX_LIMITS_MAX_BODY_BYTES", K_I64,
     OFF(limits.max_body_bytes), 1024, 64 * MIB, NULL},
    {"limits.userQuotaBytes", "BATCHBOX_LIMITS_USER_QUOTA_BYTES", K_I64,
     OFF(limits.user_quota_bytes), 0, CONFIG_INT_MAX, NULL},
    {"events.heartbeatSec", "BATCHBOX_EVENTS_HEARTBEAT_SEC", K_INT,
     OFF(events.heartbeat_sec), 1, 3600, NULL},
    {"events.retainEvents", "BATCHBOX_EVENTS_RETAIN_EVENTS", K_I64,
     OFF(events.retain_events), 1000, 100000000, NULL},
    {"events.maxSubscribers", "BATCHBOX_EVENTS_MAX_SUBSCRIBERS", K_INT,
     OFF(events.max_subscribers), 1, 10000, NULL},
    {"storage.driver", "BATCHBOX_STORAGE_DRIVER", K_CHOICE, OFF(storage.driver),
     0, 0, DRIVERS},
    {"storage.s3.endpoint", "BATCHBOX_S3_ENDPOINT", K_STR,
     OFF(storage.s3.endpoint), 0, 0, NULL},
    {"storage.s3.bucket", "BATCHBOX_S3_BUCKET", K_STR, OFF(storage.s3.bucket),
     0, 0, NULL},
    {"storage.s3.region", "BATCHBOX_S3_REGION", K_STR, OFF(storage.s3.region),
     0, 0, NULL},
    {"storage.s3.accessKey", "BATCHBOX_S3_ACCESS_KEY", K_STR,
     OFF(storage.s3.access_key), 0, 0, NULL},
    {"storage.s3.secretKey", "BATCHBOX_S3_SECRET_KEY", K_STR,
     OFF(storage.s3.secret_key), 0, 0, NULL},
    {"storage.s3.https", "BATCHBOX_S3_HTTPS", K_BOOL, OFF(storage.s3.https),
     0, 0, NULL},
    {"storage.s3.pathStyle", "BATCHBOX_S3_PATH_STYLE", K_BOOL,
     OFF(storage.s3.path_style), 0, 0, NULL},
    {"metrics.token", "BATCHBOX_METRICS_TOKEN", K_STR, OFF(metrics.token), 0, 0, NULL},
    {"tts.cacheDir", "BATCHBOX_TTS_CACHE_DIR", K_PATH, OFF(tts.cache_dir), 0, 0, NULL},
    {"tts.espeakProgram", "BATCHBOX_TTS_ESPEAK_PROGRAM", K_STR, OFF(tts.espeak_program),
     0, 0, NULL},
    {"tts.processTimeoutSec", "BATCHBOX_TTS_PROCESS_TIMEOUT_SEC", K_INT,
     OFF(tts.process_timeout_sec), 1, 86400, NULL},
    {"tts.connectTimeoutMs", "BATCHBOX_TTS_CONNECT_TIMEOUT_MS", K_INT,
     OFF(tts.connect_timeout_ms), 100, 600000, NULL},
    {"tts.requestTimeoutMs", "BATCHBOX_TTS_REQUEST_TIMEOUT_MS", K_INT,
     OFF(tts.request_timeout_ms), 100, 3600000, NULL},
    {"tts.maxAttempts", "BATCHBOX_TTS_MAX_ATTEMPTS", K_INT, OFF(tts.max_attempts), 1, 20, NULL},
    {"tts.retryBaseMs", "BATCHBOX_TTS_RETRY_BASE_MS", K_INT, OFF(tts.retry_base_ms), 1,
     600000, NULL},
    {"tts.retryMaxMs", "BATCHBOX_TTS_RETRY_MAX_MS", K_INT, OFF(tts.retry_max_ms), 1, 3600000,
     NULL},
    {"tts.elevenlabs.baseUrl", "BATCHBOX_ELEVENLABS_BASE_URL", K_URL,
     OFF(tts.elevenlabs.base_url), 0, 0, NULL},
    {"tts.elevenlabs.model", "BATCHBOX_ELEVENLABS_MODEL", K_STR, OFF(tts.elevenlabs.model),
     0, 0, NULL},
    {"tts.elevenlabs.sampleRate", "BATCHBOX_ELEVENLABS_SAMPLE_RATE", K_CHOICE_INT,
     OFF(tts.elevenlabs.sample_rate), 0, 0, NULL},
    {"notion.baseUrl", "BATCHBOX_NOTION_BASE_URL", K_URL, OFF(notion.base_url), 0, 0, NULL},
    {"notion.version", "BATCHBOX_NOTION_VERSION", K_STR, OFF(notion.version), 0, 0, NULL},
    {"notion.titleProperty", "BATCHBOX_NOTION_TITLE_PROPERTY", K_STR,
     OFF(notion.title_property), 0, 0, NULL},
    {"notion.levelProperty", "BATCHBOX_NOTION_LEVEL_PROPERTY", K_STR,
     OFF(notion.level_property), 0, 0, NULL},
    {"notion.levelType", "BATCHBOX_NOTION_LEVEL_TYPE", K_CHOICE, OFF(notion.level_type), 0, 0,
     LEVEL_TYPES},
    {"notion.connectTimeoutMs", "BATCHBOX_NOTION_CONNECT_TIMEOUT_MS", K_INT,
     OFF(notion.connect_timeout_ms), 100, 600000, NULL},
    {"notion.requestTimeoutMs", "BATCHBOX_NOTION_REQUEST_TIMEOUT_MS", K_INT,
     OFF(notion.request_timeout_ms), 100, 3600000, NULL},
    {"notion.maxRetries", "BATCHBOX_NOTION_MAX_RETRIES", K_INT, OFF(notion.max_retries), 0, 20,
     NULL},
    {"notion.retryDelayMs", "BATCHBOX_NOTION_RETRY_DELAY_MS", K_INT, OFF(notion.retry_delay_ms),
     1, 600000, NULL},
    {"notion.retryMaxMs", "BATCHBOX_NOTION_RETRY_MAX_MS", K_INT, OFF(notion.retry_max_ms), 1,
     3600000, NULL},
    {"notion.throttleMs", "BATCHBOX_NOTION_THROTTLE_MS", K_INT, OFF(notion.throttle_ms), 0,
     60000, NULL},
    {"publicUrl", "BATCHBOX_PUBLIC_URL", K_URL, OFF(public_url), 0, 0, NULL},
};
#define NSCALARS (sizeof SCALARS / sizeof SCALARS[0])

/* Nested objects whose keys are scalars (or further objects). */
static const char *const OBJECTS[] = {
    "auth", "limits", "events", "storage", "storage.s3", "metrics", "tts",
    "tts.elevenlabs", "notion", NULL,
};

bool config_env_override(size_t i, const char **env, const char **key)
{
    if (i >= NSCALARS)
        return false;
    if (env != NULL)
        *env = SCALARS[i].env;
    if (key != NULL)
        *key = SCALARS[i].key;
    return true;
}

static const scalar *find_scalar(const char *path)
{
    for (size_t i = 0; i < NSCALARS; i++)
        if (strcmp(SCALARS[i].key, path) == 0)
            return &SCALARS[i];
    return NULL;
}

bool cfg_is_object(const char *path)
{
    for (size_t i = 0; OBJECTS[i] != NULL; i++)
        if (strcmp(OBJECTS[i], path) == 0)
            return true;
    return false;
}

static char **str_field(bb_config *c, const scalar *s)
{
    return (char **)(void *)((char *)c + s->off);
}

/* "HOST:PORT": host non-empty, printable ASCII without spaces, IPv6 in
 * brackets; port 0..65535 (0 = any free port). */
static bool listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return false;
    const char *h = s, *hend = colon;
    if (*h == '[') {
        if (hend - h < 3 || hend[-1] != ']')
            return false;
        h++;
        hend--;
    }
    for (const char *p = h; p < hend; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x80 || !isgraph(ch) || ch == '[' || ch == ']' || ch == '/')
            return false;
        if (ch == ':' && h == s)        /* bare IPv6 needs brackets */
            return false;
    }
    const char *port = colon + 1;
    size_t plen = strlen(port);
    if (plen == 0 || plen > 5)
        return false;
    long v = 0;
    for (const char *p = port; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    return v <= 65535;
}

static int expect_msg(load_ctx *x, const scalar *s)
{
    switch (s->kind) {
    case K_STR:
    case K_PATH:
        return cfg_fail(x, "\"%s\" must be a non-empty string", s->key);
    case K_LISTEN:
        return cfg_fail(x, "\"%s\" must be \"HOST:PORT\" with a port between 0 "
                    "and 65535 (e.g. \"127.0.0.1:8080\" or \"[::1]:8080\")",
                    s->key);
    case K_CHOICE: {
        char list[128] = "";
        size_t used = 0;
        for (size_t i = 0; s->choices[i] != NULL; i++) {
            int n = snprintf(list + used, sizeof list - used, "%s\"%s\"",
                             i ? ", " : "", s->choices[i]);
            if (n < 0 || (size_t)n >= sizeof list - used)
                break;
            used += (size_t)n;
        }
        return cfg_fail(x, "\"%s\" must be one of %s", s->key, list);
    }
    case K_INT:
    case K_I64:
        return cfg_fail(x, "\"%s\" must be an integer between %lld and %lld",
                    s->key, (long long)s->min, (long long)s->max);
    case K_URL:
        return cfg_fail(x, "\"%s\" must be an http:// or https:// URL (e.g. "
                    "\"http://127.0.0.1:9000\")", s->key);
    case K_CHOICE_INT:
        return cfg_fail(x, "\"%s\" must be one of 8000, 16000, 22050, 24000, 44100, "
                    "48000", s->key);
    case K_BOOL:
        if (x->env != NULL)
            return cfg_fail(x, "\"%s\" must be true or false (the variable "
                        "takes true/false/1/0/yes/no)", s->key);
        return cfg_fail(x, "\"%s\" must be true or false", s->key);
    }
    return cfg_fail(x, "\"%s\" has an unsupported type", s->key);
}

/* Validates and stores a string-kind scalar (from the file or env). */
static int apply_str(load_ctx *x, bb_config *c, const scalar *s, const char *v)
{
    if (v[0] == '\0')
        return expect_msg(x, s);
    if (s->kind == K_LISTEN && !listen_ok(v))
        return expect_msg(x, s);
    if (s->kind == K_URL) {
        /* scheme, a host, nothing after the path; trailing '/' dropped */
        size_t skip = strncmp(v, "http://", 7) == 0 ? 7 : strncmp(v, "https://", 8) == 0 ? 8 : 0;
        size_t n = strlen(v);
        while (n > skip && v[n - 1] == '/')
            n--;
        if (skip == 0 || n == skip || n > 512 || v[skip] == '/' || strpbrk(v, " ?#\\\"") != NULL)
            return expect_msg(x, s);
        char *copy = strndup(v, n);
        if (copy == NULL)
            return cfg_fail_oom(x);
        char **slot = str_field(c, s);
        free(*slot);
        *slot = copy;
        return 0;
    }
    if (s->kind == K_CHOICE) {
        size_t i = 0;
        while (s->choices[i] != NULL && strcmp(s->choices[i], v) != 0)
            i++;
        if (s->choices[i] == NULL)
            return expect_msg(x, s);
    }
    return cfg_set_str(x, str_field(c, s), v);
}

static int apply_int(load_ctx *x, bb_config *c, const scalar *s, int64_t v)
{
    if (s->kind == K_CHOICE_INT) {
        bool ok = false;
        for (size_t i = 0; i < sizeof SAMPLE_RATES / sizeof SAMPLE_RATES[0]; i++)
            ok |= SAMPLE_RATES[i] == v;
        if (!ok)
            return expect_msg(x, s);
        *(int *)(void *)((char *)c + s->off) = (int)v;
        return 0;
    }
    if (v < s->min || v > s->max)
        return expect_msg(x, s);
    if (s->kind == K_INT)
        *(int *)(void *)((char *)c + s->off) = (int)v;
    else
        *(int64_t *)(void *)((char *)c + s->off) = v;
    return 0;
}

static int apply_scalar_json(load_ctx *x, bb_config *c, const scalar *s,
                             const cJSON *it)
{
    switch (s->kind) {
    case K_STR:
    case K_LISTEN:
    case K_PATH:
    case K_CHOICE:
    case K_URL:
        if (!cJSON_IsString(it) || it->valuestring == NULL)
            return expect_msg(x, s);
        return apply_str(x, c, s, it->valuestring);
    case K_INT:
    case K_I64:
    case K_CHOICE_INT: {
        int64_t v;
        if (!cfg_json_int(it, s->kind == K_CHOICE_INT ? 0 : s->min,
                      s->kind == K_CHOICE_INT ? 1000000 : s->max, &v))
            return expect_msg(x, s);
        return apply_int(x, c, s, v);
    }
    case K_BOOL:
        if (!cJSON_IsBool(it))
            return expect_msg(x, s);
        *(bool *)(void *)((char *)c + s->off) = cJSON_IsTrue(it);
        return 0;
    }
    return expect_msg(x, s);
}

static int apply_scalar_env(load_ctx *x, bb_config *c, const scalar *s,
                            const char *v)
{
    switch (s->kind) {
    case K_STR:
    case K_LISTEN:
    case K_PATH:
    case K_CHOICE:
    case K_URL:
        return apply_str(x, c, s, v);
    case K_INT:
    case K_I64:
    case K_CHOICE_INT: {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || isspace((unsigned char)v[0]))
            return expect_msg(x, s);
        return apply_int(x, c, s, (int64_t)n);
    }
    case K_BOOL: {
        bool b;
        if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"))
            b = true;
        else if (!strcasecmp(v, "false") || !strcmp(v, "0") ||
                 !strcasecmp(v, "no"))
            b = false;
        else
            return expect_msg(x, s);
        *(bool *)(void *)((char *)c + s->off) = b;
        return 0;
    }
    }
    return expect_msg(x, s);
}

int cfg_apply_env(load_ctx *x, bb_config *c)
{
    for (size_t i = 0; i < NSCALARS; i++) {
        const char *v = getenv(SCALARS[i].env);
        if (v == NULL || v[0] == '\0')      /* empty counts as unset */
            continue;
        x->env = SCALARS[i].env;
        int rc = apply_scalar_env(x, c, &SCALARS[i], v);
        x->env = NULL;
        if (rc != 0)
            return -1;
    }
    return 0;
}


int cfg_apply_scalar(load_ctx *x, bb_config *c, const char *path, const cJSON *it)
{
    const scalar *s = find_scalar(path);
    if (s == NULL)
        return 1;
    return apply_scalar_json(x, c, s, it);
}

int cfg_check_s3(load_ctx *x, const bb_config *c)
{
    if (strcmp(c->storage.driver, "s3") != 0)
        return 0;
    for (size_t i = 0; i < NSCALARS; i++) {
        const scalar *s = &SCALARS[i];
        if (strncmp(s->key, "storage.s3.", 11) != 0 || s->kind != K_STR)
            continue;
        if (*(char *const *)(const void *)((const char *)c + s->off) == NULL)
            return cfg_fail(x, "\"%s\" is required when storage.driver is "
                            "\"s3\" (set it in the file or in %s)",
                            s->key, s->env);
    }
    return 0;
}

/* config.c — loads batchbox.json (SPEC §3.1) into a bb_config.
 *
 * Order of application, each step validated the same way:
 *   1. DEFAULTS_JSON below, the built-in configuration, parsed by the same
 *      code as a user's file (so the defaults cannot drift out of range);
 *   2. the user's file or text: objects merge key by key over the
 *      defaults, arrays (presets, voices, notionDatabases) replace them;
 *   3. BATCHBOX_* environment variables for scalars (SCALARS, one table
 *      shared with the file parser and exported for the docs check);
 *   4. finishing touches: default worker count, inputRoot made absolute,
 *      the keys storage.driver "s3" needs.
 * Every error names the key path ("limits.maxBodyBytes",
 * "presets[2].argv") and says what was expected; the first error stops
 * the load.  Runs once at start-up, so the getenv()/getcwd() it uses are
 * fine. */
#include "infra/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"
#include "infra/exec/exec.h"
#include "infra/exec/tts.h"

#define CONFIG_MAX_FILE   (1024 * 1024)       /* bytes of batchbox.json */
#define CONFIG_MAX_PATH   4096                /* resolved inputRoot */
#define CONFIG_INT_MAX    9007199254740992LL  /* 2^53: exact in a double */
#define KEY_PATH_MAX      160                 /* "presets[12].argv[3]" */
#define MAX_WORKERS       256

/* The built-in configuration: what runs when there is no file, and the
 * base a file's keys are merged over.  docs/configuration.md shows it. */
static const char DEFAULTS_JSON[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:8080\",\n"
    "  \"inputRoot\": \"./inputs\",\n"
    "  \"auth\": {\"registration\": \"closed\", \"accessTokenTtlSec\": 900,\n"
    "           \"refreshTokenTtlSec\": 2592000},\n"
    "  \"limits\": {\"maxUploadBytes\": 104857600, \"maxBodyBytes\": 1048576,\n"
    "             \"userQuotaBytes\": 10737418240},\n"
    "  \"events\": {\"heartbeatSec\": 25, \"retainEvents\": 100000,\n"
    "             \"maxSubscribers\": 256},\n"
    "  \"storage\": {\"driver\": \"fs\",\n"
    "              \"s3\": {\"region\": \"us-east-1\", \"https\": false,\n"
    "                     \"pathStyle\": true}},\n"
    "  \"tts\": {\"cacheDir\": \"tts-cache\", \"espeakProgram\": \"espeak-ng\",\n"
    "          \"processTimeoutSec\": 300, \"connectTimeoutMs\": 10000,\n"
    "          \"requestTimeoutMs\": 120000, \"maxAttempts\": 4,\n"
    "          \"retryBaseMs\": 1000, \"retryMaxMs\": 30000,\n"
    "          \"elevenlabs\": {\"baseUrl\": \"https://api.elevenlabs.io\",\n"
    "                         \"model\": \"eleven_multilingual_v2\",\n"
    "                         \"sampleRate\": 22050}},\n"
    "  \"notion\": {\"baseUrl\": \"https://api.notion.com\", \"version\": \"2022-06-28\",\n"
    "             \"titleProperty\": \"Name\", \"levelProperty\": \"Level\",\n"
    "             \"levelType\": \"select\", \"connectTimeoutMs\": 10000,\n"
    "             \"requestTimeoutMs\": 30000, \"maxRetries\": 5,\n"
    "             \"retryDelayMs\": 1000, \"retryMaxMs\": 30000, \"throttleMs\": 350},\n"
    "  \"presets\": [\n"
    "    {\"id\": \"b1-default\", \"label\": \"B1 lesson (narrated, British)\",\n"
    "     \"workflow\": \"lesson\", \"maxAttempts\": 2,\n"
    "     \"defaults\": {\"withTts\": true, \"voiceAccent\": \"british_male\",\n"
    "                  \"mode\": \"auto\"}},\n"
    "    {\"id\": \"a2-basic\", \"label\": \"A2 lesson (dialogue, American, slow gaps)\",\n"
    "     \"workflow\": \"lesson\", \"maxAttempts\": 2, \"gapMs\": 600,\n"
    "     \"defaults\": {\"withTts\": true, \"voiceAccent\": \"american_female\",\n"
    "                  \"mode\": \"dialogue\"}},\n"
    "    {\"id\": \"b2-advanced\", \"label\": \"B2 lesson (auto mode, short gaps)\",\n"
    "     \"workflow\": \"lesson\", \"maxAttempts\": 2, \"gapMs\": 150,\n"
    "     \"defaults\": {\"withTts\": true, \"voiceAccent\": \"british_male\",\n"
    "                  \"mode\": \"auto\"}},\n"
    "    {\"id\": \"noop\", \"label\": \"No-op (testing)\", \"workflow\": \"noop\",\n"
    "     \"maxAttempts\": 1},\n"
    "    {\"id\": \"wordcount\", \"label\": \"Word count (wc)\",\n"
    "     \"workflow\": \"command\", \"argv\": [\"wc\", \"-w\", \"{input}\"],\n"
    "     \"timeoutSec\": 60, \"maxAttempts\": 2}\n"
    "  ],\n"
    "  \"voices\": [\n"
    "    {\"id\": \"en-gb-m1\", \"label\": \"British male\",\n"
    "     \"accent\": \"british_male\", \"gender\": \"male\",\n"
    "     \"provider\": \"espeak\", \"providerVoice\": \"en-gb\"},\n"
    "    {\"id\": \"en-gb-m2\", \"label\": \"British male (deeper)\",\n"
    "     \"accent\": \"british_male\", \"gender\": \"male\",\n"
    "     \"provider\": \"espeak\", \"providerVoice\": \"en-gb+m3\"},\n"
    "    {\"id\": \"en-us-f1\", \"label\": \"American female\",\n"
    "     \"accent\": \"american_female\", \"gender\": \"female\",\n"
    "     \"provider\": \"espeak\", \"providerVoice\": \"en-us+f3\"},\n"
    "    {\"id\": \"en-us-f2\", \"label\": \"American female (lighter)\",\n"
    "     \"accent\": \"american_female\", \"gender\": \"female\",\n"
    "     \"provider\": \"espeak\", \"providerVoice\": \"en-us+f4\"}\n"
    "  ],\n"
    "  \"notionDatabases\": []\n"
    "}\n";

/* ---- errors ---------------------------------------------------------- */

typedef struct load_ctx {
    char *err;
    size_t errlen;
    const char *env;        /* variable being applied, for messages */
} load_ctx;

/* Writes "config: [VAR: ]<message>" into the caller's buffer; returns -1
 * so callers can `return fail(...)`. */
__attribute__((format(printf, 2, 3)))
static int fail(load_ctx *x, const char *fmt, ...)
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

static int fail_oom(load_ctx *x)
{
    return fail(x, "out of memory");
}

/* "prefix.key" (or "key" at the top), with bytes that would garble a
 * message (controls, quotes, backslashes) shown as '?'.  A path longer
 * than the buffer is cut and ends in "..." — it can never equal a known
 * key, so it is reported as unknown. */
static void key_path(char *buf, size_t n, const char *prefix, const char *key)
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

static bool is_object_key(const char *path)
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

/* Replaces *slot with a copy of v. */
static int set_str(load_ctx *x, char **slot, const char *v)
{
    char *dup = strdup(v);
    if (dup == NULL)
        return fail_oom(x);
    free(*slot);
    *slot = dup;
    return 0;
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
        return fail(x, "\"%s\" must be a non-empty string", s->key);
    case K_LISTEN:
        return fail(x, "\"%s\" must be \"HOST:PORT\" with a port between 0 "
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
        return fail(x, "\"%s\" must be one of %s", s->key, list);
    }
    case K_INT:
    case K_I64:
        return fail(x, "\"%s\" must be an integer between %lld and %lld",
                    s->key, (long long)s->min, (long long)s->max);
    case K_URL:
        return fail(x, "\"%s\" must be an http:// or https:// URL (e.g. "
                    "\"http://127.0.0.1:9000\")", s->key);
    case K_CHOICE_INT:
        return fail(x, "\"%s\" must be one of 8000, 16000, 22050, 24000, 44100, "
                    "48000", s->key);
    case K_BOOL:
        if (x->env != NULL)
            return fail(x, "\"%s\" must be true or false (the variable "
                        "takes true/false/1/0/yes/no)", s->key);
        return fail(x, "\"%s\" must be true or false", s->key);
    }
    return fail(x, "\"%s\" has an unsupported type", s->key);
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
            return fail_oom(x);
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
    return set_str(x, str_field(c, s), v);
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

/* A JSON number holding an integral value within min..max. */
static bool json_int(const cJSON *it, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(it))
        return false;
    double d = it->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
        return false;
    *out = (int64_t)d;
    return true;
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
        if (!json_int(it, s->kind == K_CHOICE_INT ? 0 : s->min,
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

/* ---- freeing ---------------------------------------------------------- */

/* A NULL-terminated array of strings and the strings; v may be NULL. */
static void free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void free_presets(bb_preset *p, size_t n)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].id);
        free(p[i].label);
        free_strv(p[i].argv);
        free(p[i].defaults.voice_accent);
        free(p[i].defaults.mode);
        free(p[i].defaults.upload);
        free(p[i].defaults.notion_database);
    }
    free(p);
}

static void free_voices(bb_voice *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].label);
        free(v[i].accent);
        free(v[i].gender);
        free(v[i].provider);
        free(v[i].provider_voice);
    }
    free(v);
}

static void free_notion(bb_notion_db *d, size_t n)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].id);
        free(d[i].name);
    }
    free(d);
}

void config_free(bb_config *c)
{
    if (c == NULL)
        return;
    free(c->public_url);
    free(c->tts.cache_dir);
    free(c->tts.espeak_program);
    free_strv(c->tts.command_argv);
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
    free(c->metrics.token);
    free_presets(c->presets, c->npresets);
    free_voices(c->voices, c->nvoices);
    free_notion(c->notion_dbs, c->nnotion_dbs);
    memset(c, 0, sizeof *c);
}

/* ---- array elements ------------------------------------------------- */

/* Sorts (id, index) pairs to find a repeated id in O(n log n); reports
 * the repeat that comes first in the file. */
typedef struct id_ref {
    const char *id;
    size_t idx;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int r = strcmp(x->id, y->id);
    if (r != 0)
        return r;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* ids[i] is element i's id.  Returns 0 when all differ, 1 with *first and
 * *dup set (dup > first, dup smallest), -1 out of memory. */
static int find_dup(const char *const *ids, size_t n, size_t *first,
                    size_t *dup)
{
    if (n < 2)
        return 0;
    id_ref *r = calloc(n, sizeof *r);
    if (r == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        r[i].id = ids[i];
        r[i].idx = i;
    }
    qsort(r, n, sizeof *r, cmp_id_ref);
    int found = 0;
    for (size_t i = 1; i < n; i++) {
        /* r[i-1] is the first of its run only if it starts the run. */
        if (strcmp(r[i].id, r[i - 1].id) != 0)
            continue;
        if (i >= 2 && strcmp(r[i - 2].id, r[i].id) == 0)
            continue;
        if (!found || r[i].idx < *dup) {
            *first = r[i - 1].idx;
            *dup = r[i].idx;
            found = 1;
        }
    }
    free(r);
    return found;
}

/* Looks up each child of obj in keys[] (NULL-terminated) and stores it in
 * found[] at the same index; unknown and repeated keys are errors. */
static int collect(load_ctx *x, const cJSON *obj, const char *path,
                   const char *const *keys, const cJSON **found)
{
    for (const cJSON *ch = obj->child; ch != NULL; ch = ch->next) {
        size_t i = 0;
        while (keys[i] != NULL &&
               (ch->string == NULL || strcmp(keys[i], ch->string) != 0))
            i++;
        char kp[KEY_PATH_MAX];
        key_path(kp, sizeof kp, path, ch->string);
        if (keys[i] == NULL)
            return fail(x, "unknown key \"%s\"", kp);
        if (found[i] != NULL)
            return fail(x, "duplicate key \"%s\"", kp);
        found[i] = ch;
    }
    return 0;
}

/* Optional or required non-empty string at path.key: copies it into
 * *out (caller owns), leaves *out NULL when absent and optional. */
static int get_string(load_ctx *x, const cJSON *it, const char *path,
                      const char *key, bool required, char **out)
{
    char kp[KEY_PATH_MAX];
    key_path(kp, sizeof kp, path, key);
    if (it == NULL) {
        if (required)
            return fail(x, "\"%s\" is required", kp);
        return 0;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL ||
        it->valuestring[0] == '\0')
        return fail(x, "\"%s\" must be a non-empty string", kp);
    return set_str(x, out, it->valuestring);
}

static int get_int(load_ctx *x, const cJSON *it, const char *path,
                   const char *key, int min, int max, int dflt, int *out)
{
    if (it == NULL) {
        *out = dflt;
        return 0;
    }
    int64_t v;
    if (!json_int(it, min, max, &v)) {
        char kp[KEY_PATH_MAX];
        key_path(kp, sizeof kp, path, key);
        return fail(x, "\"%s\" must be an integer between %d and %d", kp, min,
                    max);
    }
    *out = (int)v;
    return 0;
}

/* [A-Za-z0-9._-]{1,64} */
static bool preset_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (!(ch < 0x80 && isalnum(ch)) && ch != '.' && ch != '_' && ch != '-')
            return false;
    }
    return n >= 1 && n <= 64;
}

/* [a-z0-9_]{1,64} */
static bool accent_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return n >= 1 && n <= 64;
}

static bool in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

enum { P_ID, P_LABEL, P_WORKFLOW, P_ARGV, P_TIMEOUT, P_ATTEMPTS, P_CONC,
       P_DELAY, P_DEFAULTS, P_GAP, P_NKEYS };
static const char *const PRESET_KEYS[] = {
    "id", "label", "workflow", "argv", "timeoutSec", "maxAttempts",
    "concurrency", "retryDelayMs", "defaults", "gapMs", NULL,
};
enum { D_TTS, D_ACCENT, D_MODE, D_UPLOAD, D_NOTION, D_NKEYS };
static const char *const DEFAULT_KEYS[] = {
    "withTts", "voiceAccent", "mode", "upload", "notionDatabase", NULL,
};
static const char *const MODES[] = {"auto", "dialogue", "monologue", NULL};
static const char *const UPLOADS[] = {"auto", "none", "s3", NULL};

const char *config_workflow_name(enum bb_workflow w)
{
    switch (w) {
    case BB_WF_NOOP: return "noop";
    case BB_WF_COMMAND: return "command";
    case BB_WF_LESSON: return "lesson";
    }
    return "?";
}

/* True when a template (already checked) has an {input} placeholder;
 * "{{input}}" is the literal text "{input}", not a placeholder. */
static bool mentions_input(const char *t)
{
    while (*t != '\0') {
        if ((t[0] == '{' || t[0] == '}') && t[1] == t[0]) {
            t += 2;
        } else if (t[0] == '{') {
            const char *close = strchr(t + 1, '}');
            if (close == NULL)
                return false;
            if (close - t == 6 && memcmp(t + 1, "input", 5) == 0)
                return true;
            t = close + 1;
        } else {
            t++;
        }
    }
    return false;
}

static int parse_argv(load_ctx *x, const cJSON *arr, const char *path,
                      bb_preset *p)
{
    char kp[KEY_PATH_MAX];
    key_path(kp, sizeof kp, path, "argv");
    if (!cJSON_IsArray(arr) || arr->child == NULL)
        return fail(x, "\"%s\" must be a non-empty array of non-empty strings",
                    kp);
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next)
        n++;
    p->argv = calloc(n + 1, sizeof *p->argv);
    if (p->argv == NULL)
        return fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char ep[KEY_PATH_MAX + 24];
        snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
        if (!cJSON_IsString(e) || e->valuestring == NULL ||
            e->valuestring[0] == '\0')
            return fail(x, "\"%s\" must be a non-empty string", ep);
        char why[256] = "";
        if (exec_check_template(e->valuestring, why, sizeof why) != 0)
            return fail(x, "\"%s\": %s", ep,
                        why[0] ? why : "invalid argument template");
        p->argv[i] = strdup(e->valuestring);
        if (p->argv[i] == NULL)
            return fail_oom(x);
        p->argc = i + 1;
        if (mentions_input(e->valuestring))
            p->uses_input = true;
    }
    return 0;
}

/* A lesson preset's "defaults" object (may be NULL: all built-in).  The
 * accent and Notion database are checked against the voices and databases
 * in finish(), once every key of the file is known. */
static int parse_lesson_defaults(load_ctx *x, const cJSON *obj, const char *path,
                                 bb_preset *p)
{
    char dp[KEY_PATH_MAX], kp[KEY_PATH_MAX];
    key_path(dp, sizeof dp, path, "defaults");
    p->defaults.with_tts = true;
    const cJSON *f[D_NKEYS] = {0};
    if (obj != NULL) {
        if (!cJSON_IsObject(obj))
            return fail(x, "\"%s\" must be an object", dp);
        if (collect(x, obj, dp, DEFAULT_KEYS, f) != 0)
            return -1;
    }
    if (f[D_TTS] != NULL) {
        if (!cJSON_IsBool(f[D_TTS])) {
            key_path(kp, sizeof kp, dp, "withTts");
            return fail(x, "\"%s\" must be true or false", kp);
        }
        p->defaults.with_tts = cJSON_IsTrue(f[D_TTS]);
    }
    if (get_string(x, f[D_ACCENT], dp, "voiceAccent", false, &p->defaults.voice_accent) != 0 ||
        get_string(x, f[D_MODE], dp, "mode", false, &p->defaults.mode) != 0 ||
        get_string(x, f[D_UPLOAD], dp, "upload", false, &p->defaults.upload) != 0 ||
        get_string(x, f[D_NOTION], dp, "notionDatabase", false,
                   &p->defaults.notion_database) != 0)
        return -1;
    if (p->defaults.mode != NULL && !in_list(p->defaults.mode, MODES)) {
        key_path(kp, sizeof kp, dp, "mode");
        return fail(x, "\"%s\" must be one of \"auto\", \"dialogue\", \"monologue\"", kp);
    }
    if (p->defaults.upload != NULL && !in_list(p->defaults.upload, UPLOADS)) {
        key_path(kp, sizeof kp, dp, "upload");
        return fail(x, "\"%s\" must be one of \"auto\", \"none\", \"s3\"", kp);
    }
    if ((p->defaults.mode == NULL && set_str(x, &p->defaults.mode, "auto") != 0) ||
        (p->defaults.upload == NULL && set_str(x, &p->defaults.upload, "auto") != 0))
        return -1;
    return 0;
}

static int parse_preset(load_ctx *x, const cJSON *obj, const char *path,
                        bb_preset *p)
{
    if (!cJSON_IsObject(obj))
        return fail(x, "\"%s\" must be an object", path);
    const cJSON *f[P_NKEYS] = {0};
    if (collect(x, obj, path, PRESET_KEYS, f) != 0)
        return -1;
    char kp[KEY_PATH_MAX];

    if (get_string(x, f[P_ID], path, "id", true, &p->id) != 0)
        return -1;
    if (!preset_id_ok(p->id)) {
        key_path(kp, sizeof kp, path, "id");
        return fail(x, "\"%s\" must be 1 to 64 characters from A-Z a-z 0-9 . _ -",
                    kp);
    }
    if (get_string(x, f[P_LABEL], path, "label", false, &p->label) != 0)
        return -1;
    if (p->label == NULL && set_str(x, &p->label, p->id) != 0)
        return -1;

    key_path(kp, sizeof kp, path, "workflow");
    const cJSON *wf = f[P_WORKFLOW];
    if (wf == NULL)
        return fail(x, "\"%s\" is required (this build runs: noop, command, "
                    "lesson)", kp);
    if (!cJSON_IsString(wf) || wf->valuestring == NULL)
        return fail(x, "\"%s\" must be a string (this build runs: noop, "
                    "command, lesson)", kp);
    if (strcmp(wf->valuestring, "noop") == 0) {
        p->workflow = BB_WF_NOOP;
    } else if (strcmp(wf->valuestring, "command") == 0) {
        p->workflow = BB_WF_COMMAND;
    } else if (strcmp(wf->valuestring, "lesson") == 0) {
        p->workflow = BB_WF_LESSON;
        p->uses_input = true;
    } else {
        char shown[KEY_PATH_MAX];
        key_path(shown, 64, NULL, wf->valuestring);
        return fail(x, "%s: unknown workflow \"%s\" (this build runs: noop, "
                    "command, lesson)", kp, shown);
    }
    if (p->workflow != BB_WF_LESSON && (f[P_DEFAULTS] != NULL || f[P_GAP] != NULL)) {
        key_path(kp, sizeof kp, path, f[P_DEFAULTS] ? "defaults" : "gapMs");
        return fail(x, "\"%s\" is only for workflow \"lesson\"", kp);
    }
    if (p->workflow == BB_WF_LESSON && parse_lesson_defaults(x, f[P_DEFAULTS], path, p) != 0)
        return -1;
    if (get_int(x, f[P_GAP], path, "gapMs", 0, 5000, 300, &p->gap_ms) != 0)
        return -1;

    if (p->workflow == BB_WF_COMMAND) {
        if (f[P_ARGV] == NULL) {
            key_path(kp, sizeof kp, path, "argv");
            return fail(x, "\"%s\" is required for workflow \"command\"", kp);
        }
        if (parse_argv(x, f[P_ARGV], path, p) != 0)
            return -1;
    } else if (f[P_ARGV] != NULL) {
        key_path(kp, sizeof kp, path, "argv");
        return fail(x, "\"%s\" is not allowed for workflow \"%s\"", kp,
                    config_workflow_name(p->workflow));
    }

    int dflt_timeout = p->workflow == BB_WF_COMMAND ? 600 : 0;
    if (get_int(x, f[P_TIMEOUT], path, "timeoutSec", 0, 604800, dflt_timeout,
                &p->timeout_sec) != 0 ||
        get_int(x, f[P_ATTEMPTS], path, "maxAttempts", 1, 100, 3,
                &p->max_attempts) != 0 ||
        get_int(x, f[P_CONC], path, "concurrency", 0, 1024, 0,
                &p->concurrency) != 0 ||
        get_int(x, f[P_DELAY], path, "retryDelayMs", 0, 3600000, 1000,
                &p->retry_delay_ms) != 0)
        return -1;
    return 0;
}

enum { V_ID, V_LABEL, V_ACCENT, V_GENDER, V_PROVIDER, V_PVOICE, V_NKEYS };
static const char *const VOICE_KEYS[] = {
    "id", "label", "accent", "gender", "provider", "providerVoice", NULL,
};
static const char *const GENDERS[] = {"male", "female", "neutral", NULL};
static const char *const PROVIDERS[] = {"espeak", "elevenlabs", "command", NULL};

static int parse_voice(load_ctx *x, const cJSON *obj, const char *path,
                       bb_voice *v)
{
    if (!cJSON_IsObject(obj))
        return fail(x, "\"%s\" must be an object", path);
    const cJSON *f[V_NKEYS] = {0};
    if (collect(x, obj, path, VOICE_KEYS, f) != 0)
        return -1;
    char kp[KEY_PATH_MAX];
    if (get_string(x, f[V_ID], path, "id", true, &v->id) != 0 ||
        get_string(x, f[V_LABEL], path, "label", false, &v->label) != 0)
        return -1;
    if (v->label == NULL && set_str(x, &v->label, v->id) != 0)
        return -1;
    if (get_string(x, f[V_ACCENT], path, "accent", true, &v->accent) != 0)
        return -1;
    if (!accent_ok(v->accent)) {
        key_path(kp, sizeof kp, path, "accent");
        return fail(x, "\"%s\" must be 1 to 64 characters from a-z 0-9 _", kp);
    }
    if (get_string(x, f[V_GENDER], path, "gender", false, &v->gender) != 0)
        return -1;
    if (v->gender != NULL && !in_list(v->gender, GENDERS)) {
        key_path(kp, sizeof kp, path, "gender");
        return fail(x, "\"%s\" must be one of \"male\", \"female\", "
                    "\"neutral\"", kp);
    }
    if (get_string(x, f[V_PROVIDER], path, "provider", false, &v->provider) != 0)
        return -1;
    if (v->provider == NULL && set_str(x, &v->provider, "espeak") != 0)
        return -1;
    if (!in_list(v->provider, PROVIDERS)) {
        key_path(kp, sizeof kp, path, "provider");
        return fail(x, "\"%s\" must be one of \"espeak\", \"elevenlabs\", "
                    "\"command\"", kp);
    }
    return get_string(x, f[V_PVOICE], path, "providerVoice", true,
                      &v->provider_voice);
}

enum { N_ID, N_NAME, N_NKEYS };
static const char *const NOTION_KEYS[] = {"id", "name", NULL};

static int parse_notion(load_ctx *x, const cJSON *obj, const char *path,
                        bb_notion_db *d)
{
    if (!cJSON_IsObject(obj))
        return fail(x, "\"%s\" must be an object", path);
    const cJSON *f[N_NKEYS] = {0};
    if (collect(x, obj, path, NOTION_KEYS, f) != 0)
        return -1;
    if (get_string(x, f[N_ID], path, "id", true, &d->id) != 0)
        return -1;
    return get_string(x, f[N_NAME], path, "name", true, &d->name);
}

/* ---- arrays ----------------------------------------------------------- */

static size_t array_len(const cJSON *arr)
{
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next)
        n++;
    return n;
}

/* Reports the first repeated id among n elements of array `name`. */
static int check_unique(load_ctx *x, const char *name, const char *const *ids,
                        size_t n)
{
    size_t first = 0, dup = 0;
    int r = find_dup(ids, n, &first, &dup);
    if (r < 0)
        return fail_oom(x);
    if (r == 0)
        return 0;
    char shown[80];
    key_path(shown, sizeof shown, NULL, ids[dup]);
    return fail(x, "\"%s[%zu].id\": duplicate id \"%s\" (already used by "
                "%s[%zu])", name, dup, shown, name, first);
}

static int parse_presets(load_ctx *x, bb_config *c, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return fail(x, "\"presets\" must be an array of preset objects");
    size_t n = array_len(arr);
    if (n == 0)
        return fail(x, "\"presets\" must list at least one preset");
    bb_preset *p = calloc(n, sizeof *p);
    const char **ids = calloc(n, sizeof *ids);
    int rc = -1;
    if (p == NULL || ids == NULL) {
        fail_oom(x);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char path[KEY_PATH_MAX];
        snprintf(path, sizeof path, "presets[%zu]", i);
        if (parse_preset(x, e, path, &p[i]) != 0)
            goto out;
        ids[i] = p[i].id;
    }
    if (check_unique(x, "presets", ids, n) != 0)
        goto out;
    free_presets(c->presets, c->npresets);
    c->presets = p;
    c->npresets = n;
    p = NULL;
    rc = 0;
out:
    free_presets(p, n);
    free(ids);
    return rc;
}

static int parse_voices(load_ctx *x, bb_config *c, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return fail(x, "\"voices\" must be an array of voice objects");
    size_t n = array_len(arr);
    bb_voice *v = n ? calloc(n, sizeof *v) : NULL;
    const char **ids = n ? calloc(n, sizeof *ids) : NULL;
    int rc = -1;
    if (n > 0 && (v == NULL || ids == NULL)) {
        fail_oom(x);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char path[KEY_PATH_MAX];
        snprintf(path, sizeof path, "voices[%zu]", i);
        if (parse_voice(x, e, path, &v[i]) != 0)
            goto out;
        ids[i] = v[i].id;
    }
    if (check_unique(x, "voices", ids, n) != 0)
        goto out;
    free_voices(c->voices, c->nvoices);
    c->voices = v;
    c->nvoices = n;
    v = NULL;
    rc = 0;
out:
    free_voices(v, n);
    free(ids);
    return rc;
}

static int parse_notion_dbs(load_ctx *x, bb_config *c, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return fail(x, "\"notionDatabases\" must be an array of "
                    "{\"id\", \"name\"} objects");
    size_t n = array_len(arr);
    bb_notion_db *d = n ? calloc(n, sizeof *d) : NULL;
    const char **ids = n ? calloc(n, sizeof *ids) : NULL;
    int rc = -1;
    if (n > 0 && (d == NULL || ids == NULL)) {
        fail_oom(x);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        char path[KEY_PATH_MAX];
        snprintf(path, sizeof path, "notionDatabases[%zu]", i);
        if (parse_notion(x, e, path, &d[i]) != 0)
            goto out;
        ids[i] = d[i].id;
    }
    if (check_unique(x, "notionDatabases", ids, n) != 0)
        goto out;
    free_notion(c->notion_dbs, c->nnotion_dbs);
    c->notion_dbs = d;
    c->nnotion_dbs = n;
    d = NULL;
    rc = 0;
out:
    free_notion(d, n);
    free(ids);
    return rc;
}

/* ---- objects and whole texts ---------------------------------------- */

/* tts.commandArgv: the argv template of "command" voices (docs/tts.md). */
static int parse_tts_command(load_ctx *x, bb_config *c, const cJSON *arr)
{
    size_t n = array_len(arr);
    if (!cJSON_IsArray(arr) || n == 0 || n > 256)
        return fail(x, "\"tts.commandArgv\" must be an array of 1 to 256 strings");
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL)
        return fail_oom(x);
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        if (!cJSON_IsString(e) || e->valuestring == NULL) {
            free_strv(v);
            return fail(x, "\"tts.commandArgv[%zu]\" must be a string", i);
        }
        if ((v[i] = strdup(e->valuestring)) == NULL) {
            free_strv(v);
            return fail_oom(x);
        }
    }
    char why[256] = "";
    if (tts_check_command((const char *const *)v, why, sizeof why) != 0) {
        free_strv(v);
        return fail(x, "\"tts.commandArgv\": %s", why[0] ? why : "invalid template");
    }
    free_strv(c->tts.command_argv);
    c->tts.command_argv = v;
    return 0;
}

static int apply_object(load_ctx *x, bb_config *c, const cJSON *obj,
                        const char *prefix)
{
    for (const cJSON *ch = obj->child; ch != NULL; ch = ch->next) {
        char kp[KEY_PATH_MAX];
        key_path(kp, sizeof kp, prefix, ch->string);
        for (const cJSON *prev = obj->child; prev != ch; prev = prev->next)
            if (prev->string && ch->string &&
                strcmp(prev->string, ch->string) == 0)
                return fail(x, "duplicate key \"%s\"", kp);
        const scalar *s = find_scalar(kp);
        if (s != NULL) {
            if (apply_scalar_json(x, c, s, ch) != 0)
                return -1;
        } else if (is_object_key(kp)) {
            if (!cJSON_IsObject(ch))
                return fail(x, "\"%s\" must be an object", kp);
            if (apply_object(x, c, ch, kp) != 0)
                return -1;
        } else if (strcmp(kp, "presets") == 0) {
            if (parse_presets(x, c, ch) != 0)
                return -1;
        } else if (strcmp(kp, "voices") == 0) {
            if (parse_voices(x, c, ch) != 0)
                return -1;
        } else if (strcmp(kp, "notionDatabases") == 0) {
            if (parse_notion_dbs(x, c, ch) != 0)
                return -1;
        } else if (strcmp(kp, "tts.commandArgv") == 0) {
            if (parse_tts_command(x, c, ch) != 0)
                return -1;
        } else {
            return fail(x, "unknown key \"%s\"", kp);
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
        return fail(x, "%s%sinvalid JSON near line %zu, column %zu",
                    origin ? origin : "", origin ? ": " : "", line, col);
    }
    int rc;
    if (!cJSON_IsObject(root))
        rc = fail(x, "%s%sthe top level must be a JSON object",
                  origin ? origin : "", origin ? ": " : "");
    else
        rc = apply_object(x, c, root, NULL);
    cJSON_Delete(root);
    return rc;
}

static int apply_env(load_ctx *x, bb_config *c)
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
                fail(x, "\"inputRoot\": cannot determine the working "
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
        fail_oom(x);
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
        fail(x, "\"inputRoot\" resolves to a path longer than %d bytes",
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
            return fail(x, "\"presets[%zu].defaults.voiceAccent\": no voice has the accent "
                        "\"%.64s\" (see \"voices\")", i, p->defaults.voice_accent);
        if (p->defaults.notion_database && !config_notion_db(c, p->defaults.notion_database))
            return fail(x, "\"presets[%zu].defaults.notionDatabase\": \"%.64s\" is not in "
                        "\"notionDatabases\"", i, p->defaults.notion_database);
        if (strcmp(p->defaults.upload, "s3") == 0 && strcmp(c->storage.driver, "s3") != 0)
            return fail(x, "\"presets[%zu].defaults.upload\" is \"s3\" but storage.driver "
                        "is not \"s3\"", i);
    }
    for (size_t i = 0; i < c->nvoices; i++)
        if (strcmp(c->voices[i].provider, "command") == 0 && c->tts.command_argv == NULL)
            return fail(x, "\"voices[%zu]\" uses provider \"command\", which needs "
                        "\"tts.commandArgv\"", i);
    if (any_voice_needed && c->nvoices == 0)
        return fail(x, "a lesson preset speaks its lessons (defaults.withTts) but "
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

    if (strcmp(c->storage.driver, "s3") == 0) {
        for (size_t i = 0; i < NSCALARS; i++) {
            const scalar *s = &SCALARS[i];
            if (strncmp(s->key, "storage.s3.", 11) != 0 || s->kind != K_STR)
                continue;
            if (*str_field(c, s) == NULL)
                return fail(x, "\"%s\" is required when storage.driver is "
                            "\"s3\" (set it in the file or in %s)",
                            s->key, s->env);
        }
    }
    if (c->npresets == 0)       /* defaults and files both forbid this */
        return fail(x, "\"presets\" must list at least one preset");
    abs = resolve_path(x, base_dir, c->tts.cache_dir);
    if (abs == NULL)
        return -1;
    free(c->tts.cache_dir);
    c->tts.cache_dir = abs;
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
    if (apply_text(&x, out, DEFAULTS_JSON, "built-in defaults") != 0)
        goto fail;
    if (json != NULL && apply_text(&x, out, json, origin) != 0)
        goto fail;
    if (apply_env(&x, out) != 0 || finish(&x, out, base_dir) != 0)
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
        fail(x, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(x, "%s is not a regular file", path);
        fclose(f);
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX_FILE + 2);
    if (buf == NULL) {
        fail_oom(x);
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        fail(x, "cannot read %s", path);
        free(buf);
        return NULL;
    }
    if (n > CONFIG_MAX_FILE) {
        fail(x, "%s is larger than 1 MiB", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    const char *nul = memchr(buf, '\0', n);
    if (nul != NULL) {
        size_t line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        fail(x, "%s: invalid JSON: NUL byte on line %zu", path, line);
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

const bb_preset *config_preset(const bb_config *c, const char *id)
{
    if (c == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < c->npresets; i++)
        if (strcmp(c->presets[i].id, id) == 0)
            return &c->presets[i];
    return NULL;
}

const bb_notion_db *config_notion_db(const bb_config *c, const char *id)
{
    if (c == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < c->nnotion_dbs; i++)
        if (strcmp(c->notion_dbs[i].id, id) == 0)
            return &c->notion_dbs[i];
    return NULL;
}

const bb_voice *config_voice(const bb_config *c, const char *id)
{
    for (size_t i = 0; id != NULL && i < c->nvoices; i++)
        if (strcmp(c->voices[i].id, id) == 0)
            return &c->voices[i];
    return NULL;
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

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

#include "util/netaddr.h"

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
    K_ADDRS,    /* IP addresses/CIDR ranges: a JSON array of strings or one
                   comma-separated string; stored comma-joined */
    K_ORIGINS,  /* web origins "https://host[:port]": a JSON array of strings or
                   one comma-separated string; stored comma-joined */
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

/* One row per setting: ROW(kind, key, env, field) for kinds without a
 * range, INT and I64 (key, env, field, min, max) for integers, ONE_OF
 * (key, env, field, list) for the strings of a list. */
#define ROW(kind, key, env, field) {key, env, kind, OFF(field), 0, 0, NULL}
#define INT(key, env, field, lo, hi) {key, env, K_INT, OFF(field), lo, hi, NULL}
#define I64(key, env, field, lo, hi) {key, env, K_I64, OFF(field), lo, hi, NULL}
/* The two timeouts every HTTP integration (tts, notion) has, in the
 * object obj: connectTimeoutMs (100 ms..10 min), requestTimeoutMs
 * (100 ms..1 h). */
#define HTTP_TIMEOUTS(obj, envp, field)                                                    \
    INT(obj ".connectTimeoutMs", envp "_CONNECT_TIMEOUT_MS", field.connect_timeout_ms, 100,  \
        600000),                                                                           \
    INT(obj ".requestTimeoutMs", envp "_REQUEST_TIMEOUT_MS", field.request_timeout_ms, 100,  \
        3600000)
#define ONE_OF(key, env, field, list) {key, env, K_CHOICE, OFF(field), 0, 0, list}

static const scalar SCALARS[] = {
    ROW(K_LISTEN, "listen", "BATCHBOX_LISTEN", listen),
    INT("workers", "BATCHBOX_WORKERS", workers, 1, MAX_WORKERS),
    ROW(K_PATH, "inputRoot", "BATCHBOX_INPUT_ROOT", input_root),
    ONE_OF("auth.registration", "BATCHBOX_AUTH_REGISTRATION", auth.registration, REGISTRATIONS),
    I64("auth.accessTokenTtlSec", "BATCHBOX_AUTH_ACCESS_TOKEN_TTL_SEC", auth.access_ttl_sec,
        60, 86400),
    I64("auth.refreshTokenTtlSec", "BATCHBOX_AUTH_REFRESH_TOKEN_TTL_SEC", auth.refresh_ttl_sec,
        3600, 31536000),
    I64("limits.maxUploadBytes", "BATCHBOX_LIMITS_MAX_UPLOAD_BYTES", limits.max_upload_bytes,
        1, TIB),
    I64("limits.maxBodyBytes", "BATCHBOX_LIMITS_MAX_BODY_BYTES", limits.max_body_bytes,
        1024, 64 * MIB),
    I64("limits.userQuotaBytes", "BATCHBOX_LIMITS_USER_QUOTA_BYTES", limits.user_quota_bytes,
        0, CONFIG_INT_MAX),
    I64("limits.maxArtifactBytes", "BATCHBOX_LIMITS_MAX_ARTIFACT_BYTES",
        limits.max_artifact_bytes, 1, TIB),
    INT("limits.maxBatchSize", "BATCHBOX_LIMITS_MAX_BATCH_SIZE", limits.max_batch_size, 1,
        100000),
    INT("events.heartbeatSec", "BATCHBOX_EVENTS_HEARTBEAT_SEC", events.heartbeat_sec, 1, 3600),
    I64("events.retainEvents", "BATCHBOX_EVENTS_RETAIN_EVENTS", events.retain_events,
        1000, 100000000),
    INT("events.maxSubscribers", "BATCHBOX_EVENTS_MAX_SUBSCRIBERS", events.max_subscribers,
        1, 1000000),
    INT("events.maxPerUser", "BATCHBOX_EVENTS_MAX_PER_USER", events.max_per_user, 1, 100000),
    INT("events.ringEvents", "BATCHBOX_EVENTS_RING_EVENTS", events.ring_events, 16, 1000000),
    ONE_OF("storage.driver", "BATCHBOX_STORAGE_DRIVER", storage.driver, DRIVERS),
    ROW(K_STR, "storage.s3.endpoint", "BATCHBOX_S3_ENDPOINT", storage.s3.endpoint),
    ROW(K_STR, "storage.s3.bucket", "BATCHBOX_S3_BUCKET", storage.s3.bucket),
    ROW(K_STR, "storage.s3.region", "BATCHBOX_S3_REGION", storage.s3.region),
    ROW(K_STR, "storage.s3.accessKey", "BATCHBOX_S3_ACCESS_KEY", storage.s3.access_key),
    ROW(K_STR, "storage.s3.secretKey", "BATCHBOX_S3_SECRET_KEY", storage.s3.secret_key),
    ROW(K_BOOL, "storage.s3.https", "BATCHBOX_S3_HTTPS", storage.s3.https),
    ROW(K_BOOL, "storage.s3.pathStyle", "BATCHBOX_S3_PATH_STYLE", storage.s3.path_style),
    ROW(K_PATH, "storage.s3.caBundle", "BATCHBOX_S3_CA_BUNDLE", storage.s3.ca_bundle),
    ROW(K_BOOL, "storage.s3.insecureSkipVerify", "BATCHBOX_S3_INSECURE_SKIP_VERIFY",
        storage.s3.insecure_skip_verify),
    ROW(K_STR, "metrics.token", "BATCHBOX_METRICS_TOKEN", metrics.token),
    ROW(K_PATH, "tts.cacheDir", "BATCHBOX_TTS_CACHE_DIR", tts.cache_dir),
    ROW(K_STR, "tts.espeakProgram", "BATCHBOX_TTS_ESPEAK_PROGRAM", tts.espeak_program),
    INT("tts.processTimeoutSec", "BATCHBOX_TTS_PROCESS_TIMEOUT_SEC", tts.process_timeout_sec,
        1, 86400),
    HTTP_TIMEOUTS("tts", "BATCHBOX_TTS", tts),
    INT("tts.maxAttempts", "BATCHBOX_TTS_MAX_ATTEMPTS", tts.max_attempts, 1, 20),
    INT("tts.retryBaseMs", "BATCHBOX_TTS_RETRY_BASE_MS", tts.retry_base_ms, 1, 600000),
    INT("tts.retryMaxMs", "BATCHBOX_TTS_RETRY_MAX_MS", tts.retry_max_ms, 1, 3600000),
    ROW(K_URL, "tts.elevenlabs.baseUrl", "BATCHBOX_ELEVENLABS_BASE_URL", tts.elevenlabs.base_url),
    ROW(K_STR, "tts.elevenlabs.model", "BATCHBOX_ELEVENLABS_MODEL", tts.elevenlabs.model),
    ROW(K_CHOICE_INT, "tts.elevenlabs.sampleRate", "BATCHBOX_ELEVENLABS_SAMPLE_RATE",
        tts.elevenlabs.sample_rate),
    ROW(K_URL, "notion.baseUrl", "BATCHBOX_NOTION_BASE_URL", notion.base_url),
    ROW(K_STR, "notion.version", "BATCHBOX_NOTION_VERSION", notion.version),
    ROW(K_STR, "notion.titleProperty", "BATCHBOX_NOTION_TITLE_PROPERTY", notion.title_property),
    ROW(K_STR, "notion.levelProperty", "BATCHBOX_NOTION_LEVEL_PROPERTY", notion.level_property),
    ONE_OF("notion.levelType", "BATCHBOX_NOTION_LEVEL_TYPE", notion.level_type, LEVEL_TYPES),
    HTTP_TIMEOUTS("notion", "BATCHBOX_NOTION", notion),
    INT("notion.maxRetries", "BATCHBOX_NOTION_MAX_RETRIES", notion.max_retries, 0, 20),
    INT("notion.retryDelayMs", "BATCHBOX_NOTION_RETRY_DELAY_MS", notion.retry_delay_ms, 1, 600000),
    INT("notion.retryMaxMs", "BATCHBOX_NOTION_RETRY_MAX_MS", notion.retry_max_ms, 1, 3600000),
    INT("notion.throttleMs", "BATCHBOX_NOTION_THROTTLE_MS", notion.throttle_ms, 0, 60000),
    ROW(K_URL, "publicUrl", "BATCHBOX_PUBLIC_URL", public_url),
    ROW(K_ADDRS, "http.trustedProxies", "BATCHBOX_HTTP_TRUSTED_PROXIES", http.trusted_proxies),
    INT("http.headerTimeoutMs", "BATCHBOX_HTTP_HEADER_TIMEOUT_MS", http.header_timeout_ms,
        100, 600000),
    INT("http.bodyTimeoutMs", "BATCHBOX_HTTP_BODY_TIMEOUT_MS", http.body_timeout_ms, 100, 600000),
    INT("http.uploadMinBytesPerSec", "BATCHBOX_HTTP_UPLOAD_MIN_BYTES_PER_SEC",
        http.upload_min_bytes_per_sec, 0, 1073741824),
    INT("http.uploadRateWindowMs", "BATCHBOX_HTTP_UPLOAD_RATE_WINDOW_MS",
        http.upload_rate_window_ms, 100, 600000),
    INT("http.maxConnectionsPerAddress", "BATCHBOX_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        http.max_connections_per_address, 1, 100000),
    I64("limits.maxLogBytes", "BATCHBOX_LIMITS_MAX_LOG_BYTES", limits.max_log_bytes,
        4096, TIB),
    INT("queue.reserveAfterSec", "BATCHBOX_QUEUE_RESERVE_AFTER_SEC", queue.reserve_after_sec,
        0, 86400),
    /* docs/integrations.md and docs/operations.md ("Retention") */
    ROW(K_ORIGINS, "http.corsOrigins", "BATCHBOX_HTTP_CORS_ORIGINS", http.cors_origins),
    INT("http.rateLimit.perSec", "BATCHBOX_HTTP_RATE_LIMIT_PER_SEC", http.rate_per_sec, 0,
        1000000),
    INT("http.rateLimit.burst", "BATCHBOX_HTTP_RATE_LIMIT_BURST", http.rate_burst, 0, 10000000),
    INT("retention.days", "BATCHBOX_RETENTION_DAYS", retention.days, 0, 36500),
    I64("retention.afterSec", "BATCHBOX_RETENTION_AFTER_SEC", retention.after_sec, 0,
        3153600000LL),
    INT("retention.intervalSec", "BATCHBOX_RETENTION_INTERVAL_SEC", retention.interval_sec, 1,
        86400),
    INT("retention.batchSize", "BATCHBOX_RETENTION_BATCH_SIZE", retention.batch_size, 1, 10000),
    INT("webhooks.timeoutMs", "BATCHBOX_WEBHOOKS_TIMEOUT_MS", webhooks.timeout_ms, 100, 600000),
    INT("webhooks.maxAttempts", "BATCHBOX_WEBHOOKS_MAX_ATTEMPTS", webhooks.max_attempts, 1, 20),
    INT("webhooks.retryBaseMs", "BATCHBOX_WEBHOOKS_RETRY_BASE_MS", webhooks.retry_base_ms, 1,
        3600000),
    INT("webhooks.queueSize", "BATCHBOX_WEBHOOKS_QUEUE_SIZE", webhooks.queue_size, 1, 1000000),
};
#define NSCALARS (sizeof SCALARS / sizeof SCALARS[0])

/* Nested objects whose keys are scalars (or further objects). */
static const char *const OBJECTS[] = {
    "auth", "limits", "events", "storage", "storage.s3", "metrics", "tts",
    "tts.elevenlabs", "notion", "http", "queue", "http.rateLimit", "retention", "webhooks",
    NULL,
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
    case K_ADDRS:
        return cfg_fail(x, "\"%s\" must be a list of IP addresses or CIDR ranges (e.g. "
                    "[\"10.0.0.1\", \"192.168.0.0/16\"])", s->key);
    case K_ORIGINS:
        return cfg_fail(x, "\"%s\" must be a list of web origins (e.g. "
                    "[\"https://app.example\", \"http://127.0.0.1:3000\"])", s->key);
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

/* One web origin: http:// or https://, a host of letters, digits, '.',
 * '-', or a bracketed IPv6 address, an optional :port, nothing else (no
 * path, no '*': browsers send exactly this in the Origin header). */
static bool origin_ok(const char *o, size_t n)
{
    size_t skip = n > 7 && strncmp(o, "http://", 7) == 0    ? 7
                  : n > 8 && strncmp(o, "https://", 8) == 0 ? 8
                                                            : 0;
    if (skip == 0 || n > 256)
        return false;
    for (size_t i = skip; i < n; i++) {
        unsigned char ch = (unsigned char)o[i];
        if (!isalnum(ch) && !strchr(".-:[]", ch))
            return false;
    }
    return true;
}

/* A comma-separated list of origins (docs/integrations.md, "CORS"). */
static bool origins_ok(const char *v)
{
    while (*v) {
        size_t n = strcspn(v, ",");
        if (!origin_ok(v, n))
            return false;
        v += n;
        if (*v == ',')
            v++;
    }
    return true;
}

/* Validates and stores a string-kind scalar (from the file or env). */
static int apply_str(load_ctx *x, bb_config *c, const scalar *s, const char *v)
{
    if (v[0] == '\0')
        return expect_msg(x, s);
    if (s->kind == K_LISTEN && !listen_ok(v))
        return expect_msg(x, s);
    char why[160];
    if (s->kind == K_ADDRS && !bb_addr_list_valid(v, why, sizeof why))
        return cfg_fail(x, "\"%s\": %s", s->key, why);
    if (s->kind == K_ORIGINS && !origins_ok(v))
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

/* A scalar's new value from the file or the environment, converted to
 * the type its kind stores; ok false when it has the wrong type. */
struct value {
    bool ok;
    const char *str;        /* string kinds */
    int64_t num;            /* integer kinds */
    bool b;                 /* K_BOOL */
};

enum vclass { V_STRING, V_NUMBER, V_BOOL };

static enum vclass class_of(enum kind k)
{
    return k == K_INT || k == K_I64 || k == K_CHOICE_INT ? V_NUMBER
           : k == K_BOOL                                  ? V_BOOL
                                                          : V_STRING;
}

static struct value from_json(const scalar *s, const cJSON *it)
{
    struct value v = {0};
    switch (class_of(s->kind)) {
    case V_STRING:
        v.ok = cJSON_IsString(it) && it->valuestring != NULL;
        v.str = v.ok ? it->valuestring : NULL;
        break;
    case V_NUMBER:
        v.ok = cfg_json_int(it, s->kind == K_CHOICE_INT ? 0 : s->min,
                            s->kind == K_CHOICE_INT ? 1000000 : s->max, &v.num);
        break;
    case V_BOOL:
        v.ok = cJSON_IsBool(it);
        v.b = cJSON_IsTrue(it);
        break;
    }
    return v;
}

/* The variable's text: integers in decimal, booleans as
 * true/false/1/0/yes/no (any case). */
static struct value from_env(const scalar *s, const char *t)
{
    struct value v = {.str = t};
    switch (class_of(s->kind)) {
    case V_STRING:
        v.ok = true;
        break;
    case V_NUMBER: {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(t, &end, 10);
        v.ok = errno == 0 && end != t && *end == '\0' && !isspace((unsigned char)t[0]);
        v.num = (int64_t)n;
        break;
    }
    case V_BOOL:
        v.b = !strcasecmp(t, "true") || !strcmp(t, "1") || !strcasecmp(t, "yes");
        v.ok = v.b || !strcasecmp(t, "false") || !strcmp(t, "0") || !strcasecmp(t, "no");
        break;
    }
    return v;
}

/* Validates and stores a converted value (from the file or env). */
static int apply_value(load_ctx *x, bb_config *c, const scalar *s, struct value v)
{
    if (!v.ok)
        return expect_msg(x, s);
    switch (class_of(s->kind)) {
    case V_STRING:
        return apply_str(x, c, s, v.str);
    case V_NUMBER:
        return apply_int(x, c, s, v.num);
    case V_BOOL:
        *(bool *)(void *)((char *)c + s->off) = v.b;
        return 0;
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
        int rc = apply_value(x, c, &SCALARS[i], from_env(&SCALARS[i], v));
        x->env = NULL;
        if (rc != 0)
            return -1;
    }
    return 0;
}


/* K_ADDRS given as a JSON array of strings: joined with ',' and checked
 * like the string form; [] means none (the default). */
static int apply_addr_array(load_ctx *x, bb_config *c, const scalar *s, const cJSON *arr)
{
    char joined[4096];
    size_t used = 0;
    joined[0] = '\0';
    const cJSON *el;
    cJSON_ArrayForEach(el, arr) {
        if (!cJSON_IsString(el) || strchr(el->valuestring, ',') ||
            used + strlen(el->valuestring) + 2 > sizeof joined)
            return expect_msg(x, s);
        used += (size_t)snprintf(joined + used, sizeof joined - used, "%s%s", used ? "," : "",
                                 el->valuestring);
    }
    if (used == 0) {
        char **slot = str_field(c, s);
        free(*slot);
        *slot = NULL;
        return 0;
    }
    return apply_str(x, c, s, joined);
}

int cfg_apply_scalar(load_ctx *x, bb_config *c, const char *path, const cJSON *it)
{
    const scalar *s = find_scalar(path);
    if (s == NULL)
        return 1;
    if ((s->kind == K_ADDRS || s->kind == K_ORIGINS) && cJSON_IsArray(it))
        return apply_addr_array(x, c, s, it);
    return apply_value(x, c, s, from_json(s, it));
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

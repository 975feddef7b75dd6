/* config.h — batchbox.json (docs/configuration.md): the single source of truth that the
 * HTTP layer (/config/job-options, submit validation) and the workers run
 * from.  Loaded once at start-up; read-only afterwards, so any thread may
 * read it without locking.  All strings are owned by the bb_config and
 * freed by config_free(). */
#ifndef BB_CONFIG_H
#define BB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/notify.h"

/* Workflows this build can run: each has a module and a row in the one
 * table of infra/exec/workflows.c (docs/architecture.md, "Workflows").  A
 * preset naming any other workflow is a configuration error. */
enum bb_workflow { BB_WF_NOOP, BB_WF_COMMAND, BB_WF_LESSON, BB_WF_TRANSLATE, BB_WF_COMFYUI };

/* The workflow's name from that table: "noop", "command", "lesson"
 * (static). */
const char *config_workflow_name(enum bb_workflow w);

/* A preset's typed parameter (docs/parameters.md).  A name used in argv
 * but not declared is a string param with declared = false. */
enum bb_param_type {
    BB_PT_STRING, BB_PT_TEXT, BB_PT_INT, BB_PT_FLOAT, BB_PT_BOOL, BB_PT_ENUM, BB_PT_SEED,
    BB_PT_FILE
};

typedef struct bb_param_choice {
    char *value, *label;        /* label defaults to value */
} bb_param_choice;

typedef struct bb_param {
    char *name;                 /* [A-Za-z0-9_-]{1,64}, unique in the preset */
    char *label, *help;         /* label defaults to name; help may be NULL */
    enum bb_param_type type;
    bool declared;              /* false: only mentioned in argv */
    bool required;
    bool allow_dash;            /* command: a value may start with '-' */
    bool has_min, has_max, has_step;
    double min, max, step;      /* int, float (seed: 0..2^53-1 always) */
    int max_length;             /* string/text: 0 = the global 4096 */
    char *pattern;              /* string: POSIX extended regex, or NULL */
    bb_param_choice *choices;   /* enum: static choices, or NULL */
    size_t nchoices;
    char *options_source;       /* enum: "module:name" resolved at run time, or NULL */
    char *default_json;         /* the default as JSON text, or NULL = none */
} bb_param;

/* A preset's "translate" object (docs/translate.md, "Providers"): which
 * engine translates and how.  Parsed by infra/config_translate.c. */
typedef struct bb_translate {
    char *provider;       /* "apertium" | "libretranslate" | "deepl" | "command" */
    char *pair;           /* "eng-spa": source-target; a job's "pair" param wins */
    char *glossary;       /* absolute path of the TSV glossary, or NULL */
    char **command_argv;  /* provider command: NULL-terminated template */
    char *base_url;       /* libretranslate / deepl: the service's base URL */
    char *key_env;        /* the environment variable holding the key, or NULL */
    char *memory;         /* "owner" (default) | "shared" (one memory for all) */
    int batch_size;       /* segments per request / run (deepl <= 50) */
    int max_chars;        /* characters per request (libretranslate, deepl) */
    int timeout_sec;      /* one engine run or request; default 120 */
    int max_attempts;     /* tries of a request on 429/5xx; default 4 */
    int retry_base_ms, retry_max_ms;   /* backoff without Retry-After */
} bb_translate;

typedef struct bb_preset {
    char *id;             /* unique, [A-Za-z0-9._-]{1,64} */
    char *label;          /* defaults to id */
    enum bb_workflow workflow;
    char **argv;          /* command: NULL-terminated template, argc >= 1 */
    size_t argc;
    int timeout_sec;      /* command: 0 = none; default 600 */
    int max_attempts;     /* >= 1; default 3 */
    int concurrency;      /* 0 = unlimited; else max running at once */
    int retry_delay_ms;   /* base of the exponential backoff; default 1000 */
    bool uses_input;      /* argv mentions {input}, or workflow lesson (a job
                             must then give md) */
    /* lesson: what a job gets for the fields it leaves out ("defaults") */
    struct {
        bool with_tts;            /* default true */
        char *voice_accent;       /* NULL: the first configured voice's accent */
        char *mode;               /* "auto" | "dialogue" | "monologue"; default "auto" */
        char *upload;             /* "auto" | "none" | "s3"; default "auto" */
        char *notion_database;    /* NULL: no Notion page */
    } defaults;
    int gap_ms;           /* lesson: silence between segments, 0..5000, default 300 */
    char *translate_to;   /* lesson: translate lines into this language, or NULL */
    bb_translate *translate; /* translate: the engine settings, or NULL; owned */
    bb_param *params;     /* declared params, then argv-only names; owned */
    size_t nparams;
    /* flow control (docs/scheduling.md) */
    char *needs;          /* {"gpu": 1, "vram": 12} as JSON text (canonical), or NULL */
    bool allow_job_needs; /* a job may give its own needs */
    int rate_jobs;        /* rateLimit.jobs: at most this many starts ... */
    int rate_per_sec;     /* ... per this many seconds; 0 = no limit */
    /* retention {"days": N} or {"afterSec": N} (docs/operations.md,
     * "Retention"): finished jobs are deleted this many seconds after they
     * ended; 0 = kept forever; -1 = the global retention setting */
    int64_t retention_sec;
    bb_notify *notify;    /* webhook targets (docs/integrations.md); owned */
    size_t nnotify;
    /* comfyui (docs/comfyui.md): the API-format graph read from "graph" at
     * load and checked against params (JSON text, owned), and
     * "servers": {"labels": [...]} (owned strings) */
    char *comfy_graph;
    char *comfy_graph_path;   /* absolute, for messages */
    char **comfy_labels;      /* NULL-terminated, or NULL = any server */
    size_t ncomfy_labels;
} bb_preset;

/* A ComfyUI server named in the configuration's "comfyui.servers"
 * (docs/comfyui.md, "Servers"); admins add more at run time (stored in
 * the database, service/comfy_pool.c). */
typedef struct bb_comfy_server {
    char *id;             /* [A-Za-z0-9._-]{1,64} */
    char *url;            /* http(s)://host:port, no trailing '/' */
    int slots;            /* prompts run at once, 1..64, default 1 */
    char **labels;        /* NULL-terminated (may be empty) */
    size_t nlabels;
} bb_comfy_server;
/* The checks of a server's id ([A-Za-z0-9._-]{1,64}), URL (http:// or
 * https://, no trailing '/') and label (like an id), shared by the file
 * and the routes that add servers (infra/config_comfyui.c). */
bool config_comfy_id_ok(const char *s);
bool config_comfy_url_ok(const char *s);
bool config_comfy_label_ok(const char *s);
/* A resource pool (docs/scheduling.md, "Resources"): "gpu": 2 is a counted
 * pool of numbered units 0..total-1 (at most 64); "vram": {"amount": 48}
 * a quantity pool whose holders get an amount. */
typedef struct bb_pool {
    char *name;           /* [a-z0-9_]{1,32} */
    int64_t total;
    bool counted;
} bb_pool;
#define BB_POOL_MAX_UNITS 64
#define BB_MAX_POOLS 16

typedef struct bb_voice {
    char *id, *label, *accent, *gender, *provider, *provider_voice;
} bb_voice;

typedef struct bb_notion_db {
    char *id, *name;
} bb_notion_db;

typedef struct bb_config {
    char *listen;               /* "127.0.0.1:8080" */
    int workers;                /* >= 1; default: number of online cores */
    char *input_root;           /* absolute path (resolved at load) */
    char *public_url;           /* how users reach the server ("https://bb.example"),
                                   for links in Notion pages; NULL = unknown */
    struct {
        char *registration;     /* "open" | "closed" */
        int64_t access_ttl_sec, refresh_ttl_sec;
    } auth;
    struct {
        int64_t max_upload_bytes, max_body_bytes, user_quota_bytes;
        int max_batch_size;     /* children of one batch, 1..100000, default 1000 */
        int64_t max_log_bytes;  /* a job's log, over its attempts (default 16 MiB) */
        int64_t max_artifact_bytes;  /* one output a workflow fetches (comfyui /view),
                                        default 2 GiB */
    } limits;
    struct {
        char *trusted_proxies;  /* comma-joined IPs/CIDRs whose X-Forwarded-For is
                                   believed; NULL = none (docs/configuration.md) */
        char *cors_origins;     /* comma-joined origins allowed to call the API from a
                                   browser; NULL = none (docs/integrations.md) */
        int rate_per_sec;       /* requests per second per user/key/address; 0 = off */
        int rate_burst;         /* bucket size; 0 = 2 x rate_per_sec */
        /* slow clients (docs/operations.md, "Slow clients and connection
           limits"): overall deadlines and the per-address connection cap */
        int header_timeout_ms;      /* a connection's first request headers */
        int body_timeout_ms;        /* a JSON (or unread) request body, overall */
        int upload_min_bytes_per_sec;   /* an upload's least average rate ... */
        int upload_rate_window_ms;      /* ... over each window this long */
        int max_connections_per_address;    /* open sockets per client address */
    } http;
    struct {                    /* docs/operations.md, "Retention" */
        int days;               /* finished jobs kept this long; 0 = forever */
        int64_t after_sec;      /* when > 0, replaces days (seconds) */
        int interval_sec;       /* how often the collector runs (default 3600) */
        int batch_size;         /* jobs deleted per write transaction (default 200) */
    } retention;
    struct {                    /* docs/integrations.md, "Webhooks" */
        int timeout_ms;         /* one delivery's whole request */
        int max_attempts;       /* tries per delivery, with backoff */
        int retry_base_ms;      /* first backoff; doubles per try */
        int queue_size;         /* deliveries waiting; more are recorded as dropped */
    } webhooks;
    struct {
        int heartbeat_sec;      /* 1..3600, default 25 */
        int64_t retain_events;  /* >= 1000, default 100000 */
        int max_subscribers;    /* live streams (hub), 1..1000000, default 10000 */
        int max_per_user;       /* live streams per user, 1..100000, default 64 */
        int ring_events;        /* events the bus ring keeps, 16..1000000, default 8192 */
    } events;
    struct {
        char *driver;           /* "fs" (only driver in this build) */
        struct {
            char *endpoint, *bucket, *region, *access_key, *secret_key;
            bool https, path_style;
            char *ca_bundle;            /* PEM file of CAs for https; NULL: default */
            bool insecure_skip_verify;  /* no TLS verification (warned at start) */
        } s3;
    } storage;
    struct {
        char *token;            /* Bearer token for GET /metrics; NULL = admins only */
    } metrics;
    struct {                    /* the lesson workflow's TTS step (docs/tts.md) */
        char *cache_dir;        /* absolute; default DATA/tts-cache */
        char *espeak_program;   /* default "espeak-ng" */
        char **command_argv;    /* provider "command": NULL-terminated, or NULL */
        int process_timeout_sec;
        int connect_timeout_ms, request_timeout_ms;
        int max_attempts, retry_base_ms, retry_max_ms;
        struct {
            char *base_url, *model;
            int sample_rate;
        } elevenlabs;
    } tts;
    struct {                    /* the lesson workflow's publish step (docs/notion.md) */
        char *base_url, *version, *title_property, *level_property, *level_type;
        int connect_timeout_ms, request_timeout_ms;
        int max_retries, retry_delay_ms, retry_max_ms, throttle_ms;
    } notion;
    bb_preset *presets; size_t npresets;
    bb_voice *voices; size_t nvoices;
    bb_notion_db *notion_dbs; size_t nnotion_dbs;
    bb_pool *pools; size_t npools;     /* "resources" */
    struct {
        int reserve_after_sec;  /* a blocked job reserves what it needs after this */
    } queue;
    struct {                    /* docs/comfyui.md */
        bb_comfy_server *servers; size_t nservers;
        int health_interval_sec;    /* /system_stats + catalogue, default 10 */
        int lost_after_sec;         /* a running prompt's server unreachable this long:
                                       the attempt fails (retryable), default 30 */
        int poll_interval_ms;       /* /history while the socket is down, default 1000 */
        int request_timeout_ms;     /* one API call (not /view), default 30000 */
    } comfyui;
} bb_config;

/* Loads configuration.  path: explicit file (must exist), or NULL to use
 * defaults only.  Environment overrides (BATCHBOX_*) are applied after the
 * file.  base_dir resolves relative paths (inputRoot).  On failure returns
 * -1 and writes a message naming the offending key into err.
 * On success *out owns everything; free with config_free(). */
int config_load(const char *path, const char *base_dir, bb_config *out,
                char *err, size_t errlen);
/* Same, from a JSON text already in memory (used by tests and fuzzing). */
int config_load_text(const char *json, const char *base_dir, bb_config *out,
                     char *err, size_t errlen);
void config_free(bb_config *c);

/* Lookups; return borrowed pointers or NULL. */
const bb_preset *config_preset(const bb_config *c, const char *id);
const bb_param *config_param(const bb_preset *p, const char *name);
const bb_notion_db *config_notion_db(const bb_config *c, const char *id);
const bb_voice *config_voice(const bb_config *c, const char *id);
bool config_has_accent(const bb_config *c, const char *accent);
struct cJSON;
/* The index of pool `name`, or -1. */
int config_pool_index(const bb_config *c, const char *name);
/* Checks a needs object against c's pools: an object of integers 0..the
 * pool's total naming configured pools.  On success fills amounts[npools]
 * (0 where absent) and returns 0; else -1 with the offending member in
 * key ("gpu", or "" for the object itself) and why in msg. */
int config_needs_check(const bb_config *c, const struct cJSON *needs, int64_t *amounts,
                       char *key, size_t keycap, char *msg, size_t msgcap);
/* How long finished jobs of preset id are kept, in seconds (the preset's
 * override, else the global setting); 0 = forever. */
int64_t config_retention_sec(const bb_config *c, const char *preset_id);

/* The environment overrides, one table (docs and --help list them from
 * here): the i-th variable ("BATCHBOX_WORKERS") and the key it sets
 * ("workers").  Returns false past the end.  Strings are static. */
bool config_env_override(size_t i, const char **env, const char **key);

#endif

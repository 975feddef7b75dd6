/* app.h — the running appliance: configuration, database, event bus and
 * worker pool, wired together once at start-up (cli/serve.c, cli/run.c)
 * and shared read-only by every thread afterwards.  Each member documents
 * its own thread-safety. */
#ifndef BB_APP_H
#define BB_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "infra/bus/bus.h"
#include "infra/config.h"
#include "infra/db/db.h"

struct pool;
struct sched;
struct store;
struct hub;
struct ratelimit;
struct webhooks;
struct retention;
struct reload;

typedef struct bb_app {
    /* The running configuration, immutable once published.  A reload
     * (service/reload.c, docs/integrations.md "Configuration reload")
     * publishes a new one with an atomic store; every version stays alive
     * until app_close, so a pointer read once is good for the whole
     * request or attempt.  Reading the member is an atomic load. */
    bb_config *_Atomic cfg;
    db *db;                  /* thread-safe (writer queue + reader pool) */
    bus *bus;                /* thread-safe */
    struct pool *pool;       /* thread-safe */
    bool comfy_started;      /* the ComfyUI pool (comfy_pool.h) runs; start/stop thread */
    struct sched *sched;     /* thread-safe; NULL without workers (docs/scheduling.md) */
    struct store *fs_store;  /* the data directory (artifacts, fs uploads) */
    struct store *s3_store;  /* NULL unless storage.driver is "s3" */
    struct hub *hub;         /* the stream hub (http/hub.c): set by http_start
                                before civetweb starts, NULL without a server */
    struct store *upload_store; /* where new uploads go: s3 if set, else fs */
    char *data_dir;          /* absolute */
    char *artifacts_dir;     /* DATA/artifacts */
    char *work_dir;          /* DATA/work */
    int64_t started_ms;
    /* secrets of the lesson workflow's integrations, read from the
     * environment once at start-up (NOTION_TOKEN, ELEVENLABS_API_KEY);
     * NULL when unset or empty.  Borrowed from environ: never freed. */
    const char *notion_token, *elevenlabs_key;
    bool relative_urls;      /* see app_options.relative_urls */
    atomic_int sse_clients;  /* open SSE streams (cap: cfg->events.max_subscribers) */
    atomic_bool stopping;
    /* first run: while no user exists, /auth/register needs the one-time
     * setup token printed by `serve` (only its hash is kept) */
    unsigned char setup_hash[32];
    atomic_bool setup_open;
    /* optional observer of committed events, called on the writer thread
     * before they are published (used by `batchbox run` to print logs) */
    void (*on_events)(void *ud, bus_event **evs, size_t n);
    void *on_events_ud;
    /* integrations (docs/integrations.md); each thread-safe, NULL when not
     * started (the local `run` verb starts none of them) */
    struct ratelimit *ratelimit;   /* per-user/key/address request buckets */
    struct webhooks *webhooks;     /* the delivery thread and its queue */
    struct retention *retention;   /* the collector thread (docs/operations.md) */
    struct reload *reload;         /* the configuration file and the old versions */
} bb_app;

/* Who is asking: the router fills user_id/admin from the access token
 * (http/authn.c); `batchbox run` works in-process as `open`, seeing
 * everything. */
struct principal {
    int64_t user_id;         /* 0 = none */
    bool admin;
    bool open;               /* no access control (the local `run` verb) */
};

/* The owner filter for repository calls: 0 (= everyone) for admins and in
 * open mode, else the user's id. */
int64_t principal_scope(const struct principal *p);

#define BB_VERSION "0.1.0"

#endif

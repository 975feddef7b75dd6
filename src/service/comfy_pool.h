/* comfy_pool.h — the pool of ComfyUI servers (docs/comfyui.md, "Servers"):
 * the servers of the configuration and those admins added at run time
 * (table comfyui_servers), each with its health (GET /system_stats every
 * comfyui.healthIntervalSec), its model catalogue (GET /models and
 * /models/FOLDER, falling back to /object_info), its WebSocket
 * (infra/comfyui/ws.h) and its counters for /metrics.
 *
 * Placement: the worker cycle's claim (infra/db/repo_claim_res.c) asks
 * comfy_pool_place for each queued comfyui job; the server it gets is
 * recorded in the job's resources as {"comfyui": "ID"}, so the slots in
 * use are derived from the running jobs like every resource (nothing
 * leaks across a crash).  The attempt (infra/exec/comfyui.c) reads that
 * id and takes a lease on the server for the attempt's duration.
 *
 * Threads: COMFY_HEALTH_THREADS health threads; state guarded by the pool's
 * mutex; every function is safe from any thread.  The pool is a process
 * singleton started by the app (service/app.c) before the workers. */
#ifndef BB_COMFY_POOL_H
#define BB_COMFY_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"

struct db;
struct cJSON;
typedef struct comfy_ws comfy_ws;

/* Starts the pool: merges the configured servers into the table, loads
 * the table, the client id, starts the sockets and the health threads.
 * 0, or -1 with a message in err. */
int comfy_pool_start(struct db *d, const bb_config *cfg, char *err, size_t errlen);
/* Stops the health thread and every socket (after the workers stopped). */
void comfy_pool_stop(void);

/* A server held by an attempt: its URL and socket stay valid until
 * comfy_pool_release even if an admin removes the server meanwhile. */
struct comfy_lease {
    char id[65];
    char url[512];
    comfy_ws *ws;           /* reference held by the lease */
    void *entry_;           /* the pool's */
};
/* 0 with *l filled, or -1 when no server id exists. */
int comfy_pool_acquire(const char *id, struct comfy_lease *l);
void comfy_pool_release(struct comfy_lease *l);
/* Whether server id is enabled and its last health check succeeded. */
bool comfy_pool_is_up(const char *id);

/* What an attempt tells the pool when it ends a prompt there, for the
 * metrics and the health: busy_ms is how long the prompt ran there. */
enum comfy_outcome { COMFY_DONE_OK, COMFY_DONE_FAILED, COMFY_SERVER_LOST };
void comfy_pool_report(const char *id, enum comfy_outcome o, int64_t busy_ms);

/* The choices of optionsSource "comfyui:FOLDER": a new array of
 * {"value", "label"} of every model any enabled server lists in FOLDER
 * (caller deletes), or NULL when out of memory. */
struct cJSON *comfy_pool_choices(const char *folder);

/* ---- wiring and the admin operations (docs/comfyui.md, "Servers") ---- */

struct pool;
struct buf;
struct bb_errctx;
struct claim_place;
/* The worker pool to wake when a server comes up, is added, enabled or
 * given more slots (borrowed; NULL: none). */
void comfy_pool_set_workers(struct pool *p);

/* A server as an admin gives it (strings borrowed). */
struct comfy_server_in {
    const char *id, *url;
    bool has_slots, has_labels, has_enabled;
    int slots;
    const char *const *labels;
    size_t nlabels;
    bool enabled;
};
/* Adds a server (source "api"), stored, checked at once.  BB_OK,
 * BB_ECONFLICT (id taken) or a db error, with the message in e. */
int comfy_pool_add(const struct comfy_server_in *in, struct bb_errctx *e);
/* Changes enabled, slots and labels of server id.  BB_ENOTFOUND. */
int comfy_pool_update(const char *id, const struct comfy_server_in *in, struct bb_errctx *e);
/* Removes server id added at run time; a server of the configuration is
 * BB_ECONFLICT (disable it instead).  Attempts holding it keep their
 * lease until they end. */
int comfy_pool_remove(const char *id, struct bb_errctx *e);
/* Reads server id's health, queue and catalogue now (on the calling
 * thread).  BB_OK or BB_ENOTFOUND. */
int comfy_pool_refresh(const char *id);

/* The servers as GET /comfyui/servers shows them (a new array, caller
 * deletes; urls only when with_urls); one server (NULL when unknown). */
struct cJSON *comfy_pool_servers_json(bool with_urls);
struct cJSON *comfy_pool_server_json(const char *id, bool with_urls);
/* {FOLDER: [{name, servers: [ids]}]} over the enabled servers (caller
 * deletes), NULL when out of memory. */
struct cJSON *comfy_pool_models_json(void);
/* Appends the per-server families of /metrics.  0, or -1 when full. */
int comfy_pool_metrics(struct buf *out);

/* The claim's placement callback (infra/db/repo_claim.h claim_place_fn);
 * ud is the app (service/app.h) whose configuration names the preset.
 * Runs on the db writer thread; never touches the database. */
int comfy_pool_claim_place(void *ud, const struct claim_place *in, char server[65],
                           char *why, size_t whycap);

#endif

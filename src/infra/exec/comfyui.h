/* comfyui.h — the pieces the comfyui workflow module (comfyui.c) shares
 * with its second file (comfyui_track.c): the state of one attempt's
 * prompt, and the tracking of its progress from the socket's messages
 * (docs/comfyui.md, "Progress and the socket").  Everything here belongs
 * to the worker thread running the attempt. */
#ifndef BB_EXEC_COMFYUI_H
#define BB_EXEC_COMFYUI_H

#include <stdbool.h>
#include <stdint.h>

#include "infra/comfyui/client.h"
#include "infra/exec/exec.h"

struct cJSON;
struct comfy_ws;

/* ---- the server pool as the module sees it -------------------------------
 * The pool lives in the service layer (service/comfy_pool.c), which infra
 * does not include: service/comfy_prompts.c hands the module these calls
 * once at start-up (comfyui_set_pool), before any worker runs. */

/* A server held for one attempt (the pool's lease behind `pool_`). */
struct cf_lease {
    char id[65];
    char url[512];
    struct comfy_ws *ws;      /* NULL: no socket (poll /history) */
    void *pool_;              /* the pool's */
};
enum cf_outcome { CF_DONE_OK, CF_DONE_FAILED, CF_SERVER_LOST };
struct cf_pool_ops {
    /* 0 with *l filled, or -1 when server id does not exist */
    int (*acquire)(const char *id, struct cf_lease *l);
    void (*release)(struct cf_lease *l);
    /* how a prompt ended there, busy_ms its time on the server */
    void (*report)(const char *id, enum cf_outcome o, int64_t busy_ms);
    /* the choices of optionsSource "comfyui:FOLDER" (caller deletes) */
    struct cJSON *(*choices)(const char *folder);
};
/* ops is static storage; called once before the workers start. */
void comfyui_set_pool(const struct cf_pool_ops *ops);

/* One attempt of a comfyui job.  Owned by comfyui_run's frame; every
 * pointer member is freed by cf_run_free. */
struct cf_run {
    exec_ctx *ctx;
    struct cf_lease lease;
    bool leased;
    struct comfy_opts opts;        /* API calls: request timeout, cancel flag */
    struct comfy_opts quiet;       /* cleanup calls: no cancel flag */
    char prompt_id[40];
    int64_t number;                /* the server's queue number, -1 unknown */
    int attempt;
    struct cJSON *graph;           /* the substituted graph (owned) */
    /* progress (comfyui_track.c) */
    struct cJSON *detail;          /* {"nodes": [...], "current": {...}|null, "number"} */
    int nnodes;                    /* nodes in the graph */
    int done;                      /* nodes finished or cached */
    int last_decile;               /* of the current node's value/max */
    int64_t detail_written_us;     /* bb_mono_us of the last detail write */
    bool detail_dirty;
    const char *state;             /* the prompt row's state (static) */
    int64_t started_us;
};

/* What one socket message meant for the attempt. */
enum cf_event {
    CF_NOTHING,         /* progress or bookkeeping only */
    CF_FINISHED,        /* execution_success / executing null: read /history */
    CF_EXEC_ERROR,      /* execution_error: message in err */
    CF_INTERRUPTED,     /* execution_interrupted */
};

/* Prepares the tracking of r's prompt (r->graph set): 0 or -1 (memory). */
int cf_track_init(struct cf_run *r);
/* Applies one socket message {type, data} (borrowed) of r's prompt:
 * progress, log lines, the detail row.  err gets the node, class and
 * exception of an execution_error. */
enum cf_event cf_track_message(struct cf_run *r, const struct cJSON *msg, char *err,
                               size_t errlen);
/* Moves the prompt row to state (static string; NULL keeps it) with error
 * (NULL: kept), writing the detail when dirty or force. */
void cf_track_store(struct cf_run *r, const char *state, const char *error, bool force);
/* Marks every node done (the prompt finished) and reports progress 1. */
void cf_track_finish(struct cf_run *r);
/* The class_type of node id in r's graph (borrowed), or "?". */
const char *cf_node_class(const struct cf_run *r, const char *id);

#endif

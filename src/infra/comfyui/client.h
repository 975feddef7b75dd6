/* client.h — the HTTP calls batchbox makes to one ComfyUI server
 * (docs/comfyui.md, "How batchbox talks to ComfyUI").  Every call is one
 * blocking request through infra/net/http_client.h on the calling thread;
 * safe from any thread.  base_url is the server's URL without a trailing
 * '/' ("http://127.0.0.1:8188").  Routes are called without the /api
 * prefix (ComfyUI serves both).
 *
 * Every call returns a comfy_rc and, unless COMFY_OK, a one-line reason in
 * err (which never holds request headers).  A reply that is not the JSON
 * shape ComfyUI documents is COMFY_GARBAGE, never a crash. */
#ifndef BB_COMFY_CLIENT_H
#define BB_COMFY_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum comfy_rc {
    COMFY_OK = 0,
    COMFY_REJECTED,   /* 4xx with a reason (node_errors, bad file): the same
                         request would fail again on any server */
    COMFY_DOWN,       /* connect error, timeout, reset, 5xx: the server is
                         unusable now; worth trying another */
    COMFY_GARBAGE,    /* 2xx whose body is not the documented JSON shape */
    COMFY_TOO_LARGE,  /* a body or file over the caller's cap */
    COMFY_CANCELED,   /* *cancel became true */
    COMFY_LOCAL,      /* a local failure (file, memory) */
};

/* Timeouts of one call, in ms (0: the default of the call). */
struct comfy_opts {
    long connect_timeout_ms;      /* default 5000 */
    long timeout_ms;              /* whole call; default 30000 (view: none,
                                     bounded by idle_timeout_sec) */
    const atomic_bool *cancel;    /* optional: a job's cancel flag */
};

/* GET base_url + path ("/system_stats", "/models/checkpoints",
 * "/object_info", "/queue", "/history/ID") parsed as JSON into *out (caller
 * cJSON_Deletes), body capped at max_body (0: 8 MiB). */
enum comfy_rc comfy_get_json(const char *base_url, const char *path, size_t max_body,
                             const struct comfy_opts *o, struct cJSON **out, char *err,
                             size_t errlen);

/* POST /prompt {prompt, client_id, prompt_id}.  graph is the substituted
 * API-format graph (borrowed).  COMFY_OK: accepted (the reply's number,
 * when wanted, in *number).  COMFY_REJECTED: 400; *node_errors (caller
 * deletes; may be NULL when the body had none) holds the reply's
 * node_errors object and err a message naming the first node's id, class
 * and message ("node 4 (CheckpointLoaderSimple): Value not in list:
 * ckpt_name: 'x.safetensors' not in [...]"), or the reply's error.message. */
enum comfy_rc comfy_post_prompt(const char *base_url, const struct cJSON *graph,
                                const char *client_id, const char *prompt_id,
                                const struct comfy_opts *o, int64_t *number,
                                struct cJSON **node_errors, char *err, size_t errlen);

/* GET /history/PROMPT_ID: *entry is NULL when the server does not know it
 * (ComfyUI answers {} until the prompt finished), else that prompt's
 * entry ({prompt, outputs, status: {status_str, completed, messages}}),
 * detached (caller deletes). */
enum comfy_rc comfy_get_history(const char *base_url, const char *prompt_id,
                                const struct comfy_opts *o, struct cJSON **entry,
                                char *err, size_t errlen);

/* Where a prompt is on the server's queue: GET /queue, then *running /
 * *pending (false, false: not queued there). */
enum comfy_rc comfy_queue_find(const char *base_url, const char *prompt_id,
                               const struct comfy_opts *o, bool *running, bool *pending,
                               char *err, size_t errlen);

/* POST /interrupt {"prompt_id": id} (id NULL: whatever runs). */
enum comfy_rc comfy_interrupt(const char *base_url, const char *prompt_id,
                              const struct comfy_opts *o, char *err, size_t errlen);

/* POST /queue {"delete": [id]}: removes it if still pending. */
enum comfy_rc comfy_queue_delete(const char *base_url, const char *prompt_id,
                                 const struct comfy_opts *o, char *err, size_t errlen);

/* Takes prompt_id off the server: interrupted when it runs, deleted when
 * it waits (comfy_queue_find, then one of the two).  *how (may be NULL):
 * what was done, "interrupted", "deleted from the queue", or NULL when it
 * was neither queued nor running (static strings). */
enum comfy_rc comfy_stop_prompt(const char *base_url, const char *prompt_id,
                                const struct comfy_opts *o, const char **how, char *err,
                                size_t errlen);

/* POST /upload/image (multipart: image=FILE, type=input, overwrite=false)
 * of local file path under the name `name`; the name ComfyUI stored it
 * under (it renames on collision: "x (1).png"), with its subfolder as
 * "sub/name" when not empty, into got[gotlen]. */
enum comfy_rc comfy_upload(const char *base_url, const char *path, const char *name,
                           const struct comfy_opts *o, char *got, size_t gotlen,
                           char *err, size_t errlen);

/* GET /view?filename=&subfolder=&type= streamed into file dest (created
 * 0644, replaced); never held whole in memory.  Over max_bytes (0: no
 * cap): the transfer stops, dest is removed, COMFY_TOO_LARGE.  *size gets
 * the bytes written. */
enum comfy_rc comfy_view_to_file(const char *base_url, const char *filename,
                                 const char *subfolder, const char *type, const char *dest,
                                 int64_t max_bytes, const struct comfy_opts *o, int64_t *size,
                                 char *err, size_t errlen);

/* A new random prompt id: a lowercase hyphenated UUID v4 (37 bytes with
 * the NUL) from libsodium. */
void comfy_new_uuid(char out[37]);

#endif

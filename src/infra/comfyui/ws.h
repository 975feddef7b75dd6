/* ws.h — one WebSocket per ComfyUI server (GET /ws?clientId=ID through
 * civetweb's WebSocket client), reconnecting with backoff while the
 * server is registered, and the per-prompt watches that receive its
 * messages (docs/comfyui.md, "Progress and the socket").
 *
 * ComfyUI sends a prompt's messages only to the client id that submitted
 * it, so every POST /prompt batchbox makes carries the install's client id
 * (comfy_ws_client_id), which is also the one the sockets connect with: a
 * restarted batchbox reconnects as the same client and keeps receiving
 * the messages of prompts it submitted before.
 *
 * Threads: civetweb runs one reader thread per open socket (the data
 * handler below routes each text message to the watch of its prompt_id);
 * one supervisor thread per comfy_ws reconnects.  A comfy_ws is owned by
 * the pool's server entry (service/comfy_pool.c) that started it; a watch
 * by the attempt that opened it.  Everything here is guarded by the
 * comfy_ws's own mutex. */
#ifndef BB_COMFY_WS_H
#define BB_COMFY_WS_H

#include <stdbool.h>
#include <stdint.h>

struct cJSON;

typedef struct comfy_ws comfy_ws;
typedef struct comfy_watch comfy_watch;

/* Called on the reader thread with each "status" message's
 * exec_info.queue_remaining, and with -1 when the socket closes. */
typedef void (*comfy_ws_status_fn)(void *ud, int queue_remaining);

/* The install's client id: a UUID made once and kept in the database
 * (comfyui_meta 'client_id'), set at start-up before any socket opens;
 * static storage. */
void comfy_ws_set_client_id(const char *id);
const char *comfy_ws_client_id(void);

/* Starts the socket of server base_url (copied) and its supervisor; NULL
 * when out of memory or a thread could not start.  The first connection
 * is attempted in the background. */
comfy_ws *comfy_ws_start(const char *server_id, const char *base_url, comfy_ws_status_fn fn,
                         void *ud);
/* Closes the socket, joins the supervisor, wakes every open watch (their
 * next call returns COMFY_WATCH_DOWN) and frees the comfy_ws once the
 * last watch closed (reference counted). */
void comfy_ws_stop(comfy_ws *ws);
/* Whether the socket is open now. */
bool comfy_ws_connected(comfy_ws *ws);

/* Opens a watch for prompt_id (copied) BEFORE the prompt is posted, so no
 * message is missed.  NULL when out of memory. */
comfy_watch *comfy_watch_open(comfy_ws *ws, const char *prompt_id);

enum comfy_watch_rc {
    COMFY_WATCH_MSG = 1,      /* *msg: one message {type, data} (caller deletes) */
    COMFY_WATCH_TIMEOUT = 0,  /* nothing within timeout_ms */
    COMFY_WATCH_DOWN = -1,    /* the socket is closed, or was closed at some
                                 time since the last call: messages may have
                                 been lost; read /history (the truth) */
};
/* Waits up to timeout_ms for the next message of the watch's prompt.
 * Messages queue in arrival order (at most 4096 per watch; older progress
 * messages are dropped first beyond that). */
enum comfy_watch_rc comfy_watch_next(comfy_watch *w, int timeout_ms, struct cJSON **msg);
/* Closes the watch (messages still queued are freed). */
void comfy_watch_close(comfy_watch *w);

#endif

/* ws.c — one WebSocket per ComfyUI server and the per-prompt watches fed
 * from it (see ws.h; docs/comfyui.md, "Progress and the socket").
 *
 * DESIGN
 *
 * Threads.  A comfy_ws has two kinds of thread:
 *   - its supervisor (started by comfy_ws_start, joined by comfy_ws_stop)
 *     owns the civetweb connection: it probes the server over HTTP, opens
 *     the socket (GET /ws?clientId=ID through mg_connect_websocket_client),
 *     waits until the socket closes or stop is asked, closes it with
 *     mg_close_connection (which joins the reader) and tries again after a
 *     backoff of 250 ms doubling to 5 s (back to 250 ms after a socket that
 *     opened);
 *   - civetweb's reader thread of the open socket (one at a time) runs
 *     on_data for each frame and on_close when the socket ends.  It parses
 *     text messages, hands "status" messages to the status callback and
 *     queues every message carrying a data.prompt_id on the watches of that
 *     prompt.  Binary frames (ComfyUI's previews) are ignored.
 *
 * Callbacks.  The status callback runs on the reader thread, which
 * comfy_ws_stop joins: the owner must not hold a lock the callback takes
 * while it calls comfy_ws_stop.  A close that stop itself causes is not
 * reported to the callback.
 *
 * State.  Everything shared — connected/closed/stopping, the watch list,
 * every watch's queue and flags, the reference count — is guarded by
 * ws->mu.  The reader's frame-assembly buffer (frag) is the reader's
 * alone; readers are sequential (each is joined before the next socket
 * opens).  The status callback is called without ws->mu held.
 *
 * Lost messages.  A socket that closes sets `lost` on every open watch;
 * the next comfy_watch_next returns COMFY_WATCH_DOWN once the messages
 * queued before the close are read.  While the socket is closed (or the
 * comfy_ws stopped) a call still waits its timeout (a message may arrive
 * after a reconnect) and then returns COMFY_WATCH_DOWN, so a caller
 * alternating comfy_watch_next and GET /history polls at its own pace and
 * never spins.
 *
 * Lifetime.  The owner holds one reference, every open watch one more.
 * comfy_ws_stop sets stopping, wakes the supervisor (out of its backoff
 * or its wait on the socket), joins it — the supervisor closes the socket,
 * which joins the reader — marks every watch lost, and drops the owner's
 * reference; the last comfy_watch_close frees what is left.
 *
 * Limits.  A connection attempt starts with an HTTP probe (any answer
 * within 3 s) so a server that accepts connections but never answers does
 * not hold the supervisor — and comfy_ws_stop — in civetweb's handshake,
 * which has no timeout of its own below 30 s.  https:// servers get no
 * socket (civetweb is built without TLS): their watches report
 * COMFY_WATCH_DOWN and callers follow /history.  civetweb's globals must
 * be initialised before the first socket opens (cli/serve.c calls
 * mg_init_library at start-up; a test's mg_start does too). */
#include "infra/comfyui/ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "civetweb.h"
#include "infra/comfyui/client.h"
#include "infra/net/http_client.h"
#include "util/bb_assert.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

#define WATCH_QUEUE_MAX 4096
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 5000
#define FRAME_CAP (16u << 20)       /* one assembled text message */
#define PROBE_TIMEOUT_MS 3000L

struct comfy_watch {
    comfy_ws *ws;
    char *prompt_id;
    comfy_watch *next;          /* in ws->watches */
    pthread_cond_t cond;        /* a message, a loss or stop */
    cJSON **q;                  /* ring of queued messages (owned) */
    size_t head, count, cap;
    bool lost;                  /* the socket closed since the last call */
};

struct comfy_ws {
    pthread_mutex_t mu;
    pthread_cond_t cond;        /* the supervisor's: closed or stopping */
    char *server_id, *base_url;
    char host[256], path[512];
    int port;
    bool usable;                /* base_url is http://host[:port][/prefix] */
    comfy_ws_status_fn fn;
    void *ud;
    pthread_t sup;
    atomic_bool stop_flag;      /* cuts the HTTP probe short */
    bool stopping, connected, closed;
    int refs;
    comfy_watch *watches;
    /* the reader thread's alone */
    buf frag;
    int frag_op;                /* opcode of the message being assembled, 0: none */
};

/* ---- the install's client id ------------------------------------------------ */

static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;
static char client_id[64];

void comfy_ws_set_client_id(const char *id)
{
    pthread_mutex_lock(&id_mu);
    bb_strlcpy(client_id, id ? id : "", sizeof client_id);
    pthread_mutex_unlock(&id_mu);
}

const char *comfy_ws_client_id(void)
{
    pthread_mutex_lock(&id_mu);
    if (client_id[0] == '\0') {
        /* not set at start-up (tools, tests): a fresh id for this process */
        char id[37];
        comfy_new_uuid(id);
        bb_strlcpy(client_id, id, sizeof client_id);
    }
    pthread_mutex_unlock(&id_mu);
    return client_id;
}

/* ---- helpers ---------------------------------------------------------------- */

/* An absolute CLOCK_MONOTONIC time ms from now. */
static struct timespec deadline_in(long ms)
{
    struct timespec ts;
    bb_mono_deadline(ms, &ts);
    return ts;
}

static bool past(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* A condition variable timed on CLOCK_MONOTONIC; 0 or an errno. */
static int cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

/* Splits base_url into host, port and the ws path (prefix + /ws?clientId=). */
static bool parse_base(comfy_ws *ws)
{
    const char *u = ws->base_url;
    if (strncmp(u, "http://", 7) != 0)
        return false;
    u += 7;
    const char *host_end, *rest;
    if (*u == '[') {                       /* [::1]:8188 */
        host_end = strchr(u, ']');
        if (host_end == NULL)
            return false;
        u++;
        rest = host_end + 1;
    } else {
        host_end = u + strcspn(u, ":/");
        rest = host_end;
    }
    size_t hl = (size_t)(host_end - u);
    if (hl == 0 || hl >= sizeof ws->host)
        return false;
    memcpy(ws->host, u, hl);
    ws->host[hl] = '\0';
    ws->port = 80;
    if (*rest == ':') {
        char *end = NULL;
        long p = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || p < 1 || p > 65535)
            return false;
        ws->port = (int)p;
        rest = end;
    }
    if (*rest != '\0' && *rest != '/')
        return false;
    int n = snprintf(ws->path, sizeof ws->path, "%s/ws?clientId=%s", rest,
                     comfy_ws_client_id());
    return n > 0 && (size_t)n < sizeof ws->path;
}

/* ---- watches' queues (ws->mu held) ----------------------------------------- */

static bool is_progress(const cJSON *m)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    return t != NULL && (strcmp(t, "progress") == 0 || strcmp(t, "progress_state") == 0);
}

/* Removes the i-th queued message (0 = oldest) and deletes it. */
static void queue_remove(comfy_watch *w, size_t i)
{
    size_t at = (w->head + i) % w->cap;
    cJSON_Delete(w->q[at]);
    for (size_t k = i; k + 1 < w->count; k++)
        w->q[(w->head + k) % w->cap] = w->q[(w->head + k + 1) % w->cap];
    w->count--;
}

/* Queues m on w (takes ownership).  Full: the oldest progress message
 * goes; without one the oldest message goes and the watch counts as lost. */
static void queue_push(comfy_watch *w, cJSON *m)
{
    if (w->count == w->cap) {
        if (w->cap < WATCH_QUEUE_MAX) {
            size_t cap = w->cap ? w->cap * 2 : 16;
            cJSON **q = malloc(cap * sizeof *q);
            if (q != NULL) {
                for (size_t k = 0; k < w->count; k++)
                    q[k] = w->q[(w->head + k) % w->cap];
                free(w->q);
                w->q = q;
                w->head = 0;
                w->cap = cap;
            }
        }
        if (w->count == w->cap) {
            size_t drop = 0;
            while (drop < w->count && !is_progress(w->q[(w->head + drop) % w->cap]))
                drop++;
            if (drop == w->count) {
                drop = 0;
                w->lost = true;
            }
            if (w->count == 0) {        /* no room at all (out of memory) */
                cJSON_Delete(m);
                w->lost = true;
                pthread_cond_signal(&w->cond);
                return;
            }
            queue_remove(w, drop);
        }
    }
    w->q[(w->head + w->count) % w->cap] = m;
    w->count++;
    pthread_cond_signal(&w->cond);
}

/* Marks every watch lost and wakes it. */
static void watches_lost(comfy_ws *ws)
{
    for (comfy_watch *w = ws->watches; w != NULL; w = w->next) {
        w->lost = true;
        pthread_cond_signal(&w->cond);
    }
}

/* ---- the reader thread ------------------------------------------------------ */

/* One complete text message. */
static void on_message(comfy_ws *ws, const char *text, size_t len)
{
    cJSON *m = cJSON_ParseWithLength(text, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(m, "data");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    if (m == NULL || type == NULL) {
        cJSON_Delete(m);
        return;
    }
    if (strcmp(type, "status") == 0) {
        const cJSON *qr = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(data, "status"), "exec_info"),
            "queue_remaining");
        if (cJSON_IsNumber(qr) && ws->fn != NULL)
            ws->fn(ws->ud, qr->valuedouble < 0 ? 0 : (int)qr->valuedouble);
        cJSON_Delete(m);
        return;
    }
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "prompt_id"));
    if (pid == NULL) {
        cJSON_Delete(m);
        return;
    }
    pthread_mutex_lock(&ws->mu);
    comfy_watch *first = NULL;
    for (comfy_watch *w = ws->watches; w != NULL; w = w->next) {
        if (strcmp(w->prompt_id, pid) != 0)
            continue;
        if (first == NULL) {
            first = w;
            continue;
        }
        cJSON *copy = cJSON_Duplicate(m, true);   /* a second watch of the prompt */
        if (copy != NULL)
            queue_push(w, copy);
        else
            w->lost = true;
    }
    if (first != NULL)
        queue_push(first, m);
    else
        cJSON_Delete(m);
    pthread_mutex_unlock(&ws->mu);
}

/* civetweb's data handler: 1 keeps the socket open. */
static int on_data(struct mg_connection *conn, int flags, char *data, size_t len, void *ud)
{
    comfy_ws *ws = ud;
    int op = flags & 0x0f;
    bool fin = (flags & 0x80) != 0;
    if (op == MG_WEBSOCKET_OPCODE_PING) {
        /* civetweb's client answers no pings itself */
        if (mg_websocket_client_write(conn, MG_WEBSOCKET_OPCODE_PONG, data, len) < 0)
            return 0;
        return 1;
    }
    if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (op == MG_WEBSOCKET_OPCODE_TEXT || op == MG_WEBSOCKET_OPCODE_BINARY) {
        buf_reset(&ws->frag);
        ws->frag_op = op;
    } else if (op != MG_WEBSOCKET_OPCODE_CONTINUATION || ws->frag_op == 0) {
        return 1;                                /* pong, or a stray continuation */
    }
    if (ws->frag_op == MG_WEBSOCKET_OPCODE_TEXT) {
        if (fin && ws->frag.len == 0) {
            on_message(ws, data, len);           /* the usual single frame */
        } else if (buf_append(&ws->frag, data, len) != 0) {
            bb_warn("comfyui socket: a message over the cap was dropped", "server",
                    ws->server_id);
            ws->frag_op = 0;
            buf_reset(&ws->frag);
            pthread_mutex_lock(&ws->mu);
            watches_lost(ws);
            pthread_mutex_unlock(&ws->mu);
            return 1;
        } else if (fin) {
            on_message(ws, ws->frag.data, ws->frag.len);
        }
    }
    if (fin) {
        ws->frag_op = 0;
        buf_reset(&ws->frag);
    }
    return 1;
}

static void on_close(const struct mg_connection *conn, void *ud)
{
    comfy_ws *ws = ud;
    (void)conn;
    pthread_mutex_lock(&ws->mu);
    ws->closed = true;
    ws->connected = false;
    bool stopping = ws->stopping;
    watches_lost(ws);
    pthread_cond_broadcast(&ws->cond);
    pthread_mutex_unlock(&ws->mu);
    if (ws->fn != NULL && !stopping)    /* the owner is stopping us: it knows */
        ws->fn(ws->ud, -1);
}

/* ---- the supervisor --------------------------------------------------------- */

/* Whether the server answers HTTP at all (any status) within 3 s. */
static bool probe(comfy_ws *ws)
{
    char url[1024];
    int n = snprintf(url, sizeof url, "%s/prompt", ws->base_url);
    if (n < 0 || (size_t)n >= sizeof url)
        return false;
    struct http_request r = {.method = "GET", .url = url, .connect_timeout_ms = 2000,
                             .timeout_ms = PROBE_TIMEOUT_MS, .max_body = 64 * 1024,
                             .cancel_flag = &ws->stop_flag};
    struct http_response resp;
    enum http_result res = http_client_perform(&r, &resp, NULL, 0);
    http_response_free(&resp);
    return res == HTTP_RES_OK;
}

/* Waits ms or until stop (ws->mu held); true when stopping. */
static bool wait_or_stop(comfy_ws *ws, long ms)
{
    struct timespec until = deadline_in(ms);
    while (!ws->stopping && !past(&until)) {
        int rc = pthread_cond_timedwait(&ws->cond, &ws->mu, &until);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
    }
    return ws->stopping;
}

static void *supervise(void *arg)
{
    comfy_ws *ws = arg;
    long backoff = BACKOFF_FIRST_MS;
    char ebuf[256];

    pthread_mutex_lock(&ws->mu);
    while (!ws->stopping) {
        struct mg_connection *conn = NULL;
        ws->closed = false;
        pthread_mutex_unlock(&ws->mu);
        if (ws->usable && probe(ws)) {
            ebuf[0] = '\0';
            buf_reset(&ws->frag);
            ws->frag_op = 0;
            conn = mg_connect_websocket_client(ws->host, ws->port, 0, ebuf, sizeof ebuf,
                                               ws->path, NULL, on_data, on_close, ws);
        }
        pthread_mutex_lock(&ws->mu);
        if (conn == NULL) {
            if (wait_or_stop(ws, backoff))
                break;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_FIRST_MS;
        ws->connected = !ws->closed;
        bb_info("comfyui socket open", "server", ws->server_id);
        while (!ws->closed && !ws->stopping)
            pthread_cond_wait(&ws->cond, &ws->mu);
        pthread_mutex_unlock(&ws->mu);
        mg_close_connection(conn);       /* joins the reader (on_close has run) */
        pthread_mutex_lock(&ws->mu);
        ws->connected = false;
        if (!ws->stopping)
            bb_info("comfyui socket closed; reconnecting", "server", ws->server_id);
        if (!ws->stopping && wait_or_stop(ws, BACKOFF_FIRST_MS))
            break;
    }
    ws->connected = false;
    pthread_mutex_unlock(&ws->mu);
    return NULL;
}

/* ---- the socket's life ------------------------------------------------------ */

static void ws_free(comfy_ws *ws)
{
    BB_ASSERT(ws->refs == 0 && ws->watches == NULL);
    buf_free(&ws->frag);
    pthread_cond_destroy(&ws->cond);
    pthread_mutex_destroy(&ws->mu);
    free(ws->server_id);
    free(ws->base_url);
    free(ws);
}

comfy_ws *comfy_ws_start(const char *server_id, const char *base_url, comfy_ws_status_fn fn,
                         void *ud)
{
    comfy_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->server_id = strdup(server_id ? server_id : "");
    ws->base_url = strdup(base_url ? base_url : "");
    if (ws->server_id == NULL || ws->base_url == NULL) {
        free(ws->server_id);
        free(ws->base_url);
        free(ws);
        return NULL;
    }
    ws->fn = fn;
    ws->ud = ud;
    ws->refs = 1;
    atomic_init(&ws->stop_flag, false);
    buf_init(&ws->frag, FRAME_CAP);
    ws->usable = parse_base(ws);
    if (!ws->usable)
        bb_warn("comfyui socket: no WebSocket for this URL (http://host:port only); "
                "progress comes from polling", "server", ws->server_id);
    if (pthread_mutex_init(&ws->mu, NULL) != 0) {
        free(ws->server_id);
        free(ws->base_url);
        free(ws);
        return NULL;
    }
    if (cond_init_mono(&ws->cond) != 0) {
        pthread_mutex_destroy(&ws->mu);
        free(ws->server_id);
        free(ws->base_url);
        free(ws);
        return NULL;
    }
    if (pthread_create(&ws->sup, NULL, supervise, ws) != 0) {
        ws->refs = 0;
        ws_free(ws);
        return NULL;
    }
    return ws;
}

void comfy_ws_stop(comfy_ws *ws)
{
    if (ws == NULL)
        return;
    atomic_store(&ws->stop_flag, true);
    pthread_mutex_lock(&ws->mu);
    ws->stopping = true;
    pthread_cond_broadcast(&ws->cond);
    pthread_mutex_unlock(&ws->mu);
    int rc = pthread_join(ws->sup, NULL);
    BB_ASSERT(rc == 0);
    (void)rc;
    pthread_mutex_lock(&ws->mu);
    watches_lost(ws);
    bool last = --ws->refs == 0;
    pthread_mutex_unlock(&ws->mu);
    if (last)
        ws_free(ws);
}

bool comfy_ws_connected(comfy_ws *ws)
{
    pthread_mutex_lock(&ws->mu);
    bool c = ws->connected;
    pthread_mutex_unlock(&ws->mu);
    return c;
}

/* ---- watches ---------------------------------------------------------------- */

comfy_watch *comfy_watch_open(comfy_ws *ws, const char *prompt_id)
{
    comfy_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->prompt_id = strdup(prompt_id ? prompt_id : "");
    if (w->prompt_id == NULL || cond_init_mono(&w->cond) != 0) {
        free(w->prompt_id);
        free(w);
        return NULL;
    }
    w->ws = ws;
    pthread_mutex_lock(&ws->mu);
    w->lost = ws->stopping;
    w->next = ws->watches;
    ws->watches = w;
    ws->refs++;
    pthread_mutex_unlock(&ws->mu);
    return w;
}

enum comfy_watch_rc comfy_watch_next(comfy_watch *w, int timeout_ms, cJSON **msg)
{
    comfy_ws *ws = w->ws;
    struct timespec until = deadline_in(timeout_ms > 0 ? timeout_ms : 0);
    enum comfy_watch_rc rc;
    *msg = NULL;
    pthread_mutex_lock(&ws->mu);
    for (;;) {
        if (w->count > 0) {
            *msg = w->q[w->head];
            w->head = (w->head + 1) % w->cap;
            w->count--;
            rc = COMFY_WATCH_MSG;
            break;
        }
        if (w->lost) {
            w->lost = false;
            rc = COMFY_WATCH_DOWN;
            break;
        }
        if (past(&until)) {
            rc = (ws->connected && !ws->stopping) ? COMFY_WATCH_TIMEOUT : COMFY_WATCH_DOWN;
            break;
        }
        int e = pthread_cond_timedwait(&w->cond, &ws->mu, &until);
        if (e != 0 && e != ETIMEDOUT && e != EINTR) {
            rc = COMFY_WATCH_DOWN;
            break;
        }
    }
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

void comfy_watch_close(comfy_watch *w)
{
    if (w == NULL)
        return;
    comfy_ws *ws = w->ws;
    pthread_mutex_lock(&ws->mu);
    for (comfy_watch **p = &ws->watches; *p != NULL; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    bool last = --ws->refs == 0;
    pthread_mutex_unlock(&ws->mu);
    for (size_t k = 0; k < w->count; k++)
        cJSON_Delete(w->q[(w->head + k) % w->cap]);
    free(w->q);
    pthread_cond_destroy(&w->cond);
    free(w->prompt_id);
    free(w);
    if (last)
        ws_free(ws);
}

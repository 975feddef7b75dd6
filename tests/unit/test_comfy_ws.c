/* test_comfy_ws.c — unit tests for the ComfyUI socket and its watches
 * (src/infra/comfyui/ws.c; docs/comfyui.md, "Progress and the socket")
 * against a WebSocket stand-in served by civetweb in the test process:
 * the client id in the URL, messages routed to the watch of their
 * prompt_id, status messages to the callback, binary previews ignored,
 * COMFY_WATCH_DOWN when the server goes away, the reconnect once it is
 * back, stop with open watches and while reconnecting, the bounded queue
 * dropping progress first, fragmented messages and pings.  Waits are bounded loops, never timing
 * assertions. */
#define UNIT_MAIN
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "civetweb.h"
#include "infra/comfyui/ws.h"

static struct mg_context *srv;
static int port;
static char base[64];
static atomic_int connections;
static atomic_int last_status = -100;
static atomic_int down_calls;
static char seen_query[256];

/* The server side of the one open socket (guarded by srv_mu). */
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mg_connection *srv_conn;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int ws_connect(const struct mg_connection *c, void *ud)
{
    (void)ud;
    const char *q = mg_get_request_info(c)->query_string;
    pthread_mutex_lock(&srv_mu);
    snprintf(seen_query, sizeof seen_query, "%s", q ? q : "");
    pthread_mutex_unlock(&srv_mu);
    return 0;
}

static void ws_ready(struct mg_connection *c, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&srv_mu);
    srv_conn = c;
    pthread_mutex_unlock(&srv_mu);
    atomic_fetch_add(&connections, 1);
}

static atomic_bool got_pong;

static int ws_data(struct mg_connection *c, int flags, char *data, size_t len, void *ud)
{
    (void)c;
    (void)ud;
    if ((flags & 0x0f) == MG_WEBSOCKET_OPCODE_PONG && len == 4 && memcmp(data, "abcd", 4) == 0)
        atomic_store(&got_pong, true);
    return 1;
}

static void ws_close(const struct mg_connection *c, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&srv_mu);
    if (srv_conn == c)
        srv_conn = NULL;
    pthread_mutex_unlock(&srv_mu);
}

/* Starts the stand-in on port p (0: any; the port then in `port`). */
static bool start_server(int p)
{
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p);
    const char *opts[] = {"listening_ports", listen, "num_threads", "4", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    srv = mg_start(&cb, NULL, opts);
    if (srv == NULL)
        return false;
    mg_set_websocket_handler(srv, "/ws", ws_connect, ws_ready, ws_data, ws_close, NULL);
    struct mg_server_port ports[1];
    if (mg_get_server_ports(srv, 1, ports) != 1)
        return false;
    port = ports[0].port;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    return true;
}

static void stop_server(void)
{
    mg_stop(srv);
    srv = NULL;
}

/* Sends text (or a binary frame) from the server; false when no socket. */
static bool send_frame(int opcode, const char *text)
{
    pthread_mutex_lock(&srv_mu);
    int n = srv_conn ? mg_websocket_write(srv_conn, opcode, text, strlen(text)) : -1;
    pthread_mutex_unlock(&srv_mu);
    return n > 0;
}

/* Writes one raw frame (header byte0, a payload under 126 bytes, no
 * mask: server to client) from the server. */
static bool send_raw(unsigned char byte0, const char *payload)
{
    unsigned char frame[130];
    size_t n = strlen(payload);
    if (n >= 126)
        return false;
    frame[0] = byte0;
    frame[1] = (unsigned char)n;
    memcpy(frame + 2, payload, n);
    pthread_mutex_lock(&srv_mu);
    int w = -1;
    if (srv_conn) {
        mg_lock_connection(srv_conn);
        w = mg_write(srv_conn, frame, n + 2);
        mg_unlock_connection(srv_conn);
    }
    pthread_mutex_unlock(&srv_mu);
    return w == (int)(n + 2);
}

static bool send_text(const char *text)
{
    return send_frame(MG_WEBSOCKET_OPCODE_TEXT, text);
}

static void on_status(void *ud, int queue_remaining)
{
    (void)ud;
    atomic_store(&last_status, queue_remaining);
    if (queue_remaining < 0)
        atomic_fetch_add(&down_calls, 1);
}

/* Waits (at most ~10 s) until ws is connected and the server side is ready. */
static bool wait_connected(comfy_ws *ws, int want_connections)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&srv_mu);
        bool ready = srv_conn != NULL;
        pthread_mutex_unlock(&srv_mu);
        if (comfy_ws_connected(ws) && ready && atomic_load(&connections) >= want_connections)
            return true;
        pause_ms(10);
    }
    return false;
}

/* A test's stand-in, socket and watches. */
struct fixture {
    comfy_ws *ws;
    comfy_watch *w;      /* the watch of "p1" */
    comfy_watch *w2;     /* the watch of `second`, or NULL */
};

/* Starts the stand-in, a socket to it ("gpu1", status messages to fn) and
 * a watch of "p1" (and one of `second` unless NULL), then waits until the
 * socket is connected.  false when a step failed; teardown() frees what
 * started either way. */
static bool setup(struct fixture *f, comfy_ws_status_fn fn, const char *second)
{
    memset(f, 0, sizeof *f);
    if (!start_server(0))
        return false;
    f->ws = comfy_ws_start("gpu1", base, fn, NULL);
    if (f->ws == NULL)
        return false;
    f->w = comfy_watch_open(f->ws, "p1");
    if (second != NULL && (f->w2 = comfy_watch_open(f->ws, second)) == NULL)
        return false;
    return f->w != NULL && wait_connected(f->ws, 1);
}

/* Closes the watches, stops the socket (both may be NULL) and the stand-in. */
static void teardown(struct fixture *f)
{
    comfy_watch_close(f->w);
    comfy_watch_close(f->w2);
    comfy_ws_stop(f->ws);
    stop_server();
}

/* The next message of w within ~5 s, or NULL; its type in *type. */
static cJSON *next_msg(comfy_watch *w, const char **type)
{
    cJSON *m = NULL;
    enum comfy_watch_rc rc = comfy_watch_next(w, 5000, &m);
    *type = rc == COMFY_WATCH_MSG
                ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"))
                : NULL;
    return m;
}

/* Whether the next message of w within ~5 s has type want (any type when
 * want is NULL); the message is deleted. */
static bool next_is(comfy_watch *w, const char *want)
{
    const char *type = NULL;
    cJSON *m = next_msg(w, &type);
    bool ok = type != NULL && (want == NULL || strcmp(type, want) == 0);
    cJSON_Delete(m);
    return ok;
}

TEST(routes_messages_by_prompt_id)
{
    comfy_ws_set_client_id("0b7c7d4e-1111-4222-8333-444455556666");
    CHECK_STR_EQ(comfy_ws_client_id(), "0b7c7d4e-1111-4222-8333-444455556666");
    struct fixture f;
    CHECK(setup(&f, on_status, "p2"));
    pthread_mutex_lock(&srv_mu);
    bool query_ok = strcmp(seen_query, "clientId=0b7c7d4e-1111-4222-8333-444455556666") == 0;
    pthread_mutex_unlock(&srv_mu);
    CHECK(query_ok);

    CHECK(send_text("{\"type\": \"status\", \"data\": {\"status\": {\"exec_info\":"
                    " {\"queue_remaining\": 3}}, \"sid\": \"x\"}}"));
    CHECK(send_frame(MG_WEBSOCKET_OPCODE_BINARY, "\x00\x00\x00\x01PNGpreview"));
    CHECK(send_text("{\"type\": \"progress\", \"data\": {\"value\": 1, \"max\": 4,"
                    " \"prompt_id\": \"p1\", \"node\": \"3\"}}"));
    CHECK(send_text("{\"type\": \"executing\", \"data\": {\"node\": null,"
                    " \"prompt_id\": \"p2\"}}"));
    CHECK(send_text("not json at all"));
    CHECK(send_text("{\"type\": \"crystools.monitor\", \"data\": {\"cpu\": 3}}"));
    CHECK(send_text("{\"type\": \"executed\", \"data\": {\"node\": \"9\", \"output\": {},"
                    " \"prompt_id\": \"p1\"}}"));

    CHECK(next_is(f.w, "progress"));
    CHECK(next_is(f.w, "executed"));
    CHECK(next_is(f.w2, "executing"));
    /* the status message reached the callback, before the messages after it */
    CHECK_EQ_INT(atomic_load(&last_status), 3);
    cJSON *m = NULL;
    CHECK_EQ_INT(comfy_watch_next(f.w, 50, &m), COMFY_WATCH_TIMEOUT);
    CHECK(m == NULL);
    teardown(&f);
}

TEST(down_when_server_goes_then_reconnects)
{
    struct fixture f;
    CHECK(setup(&f, on_status, NULL));
    CHECK(send_text("{\"type\": \"execution_start\", \"data\": {\"prompt_id\": \"p1\"}}"));
    int p = port;
    stop_server();                   /* like a crashed ComfyUI */

    /* the message queued before the drop comes first, then DOWN */
    CHECK(next_is(f.w, "execution_start"));
    cJSON *m = NULL;
    CHECK_EQ_INT(comfy_watch_next(f.w, 5000, &m), COMFY_WATCH_DOWN);
    CHECK(atomic_load(&down_calls) >= 1);
    /* while it stays down, every call (after its wait) says so */
    CHECK_EQ_INT(comfy_watch_next(f.w, 20, &m), COMFY_WATCH_DOWN);
    CHECK(!comfy_ws_connected(f.ws));

    CHECK(start_server(p));          /* back on the same port */
    CHECK(wait_connected(f.ws, 2));
    /* drain a DOWN that a retry during the gap may have left */
    while (comfy_watch_next(f.w, 0, &m) == COMFY_WATCH_DOWN)
        ;
    cJSON_Delete(m);
    CHECK(send_text("{\"type\": \"executing\", \"data\": {\"node\": \"3\","
                    " \"prompt_id\": \"p1\"}}"));
    CHECK(next_is(f.w, "executing"));
    teardown(&f);
}

TEST(stop_wakes_watches_and_frees_after_last_close)
{
    struct fixture f;
    CHECK(setup(&f, NULL, NULL));
    CHECK(send_text("{\"type\": \"progress\", \"data\": {\"value\": 1, \"max\": 2,"
                    " \"prompt_id\": \"p1\"}}"));
    CHECK(next_is(f.w, NULL));
    comfy_ws_stop(f.ws);             /* the watch keeps the memory alive */
    cJSON *m = NULL;
    CHECK_EQ_INT(comfy_watch_next(f.w, 5000, &m), COMFY_WATCH_DOWN);   /* at once */
    CHECK_EQ_INT(comfy_watch_next(f.w, 20, &m), COMFY_WATCH_DOWN);     /* after its wait */
    comfy_watch *late = comfy_watch_open(f.ws, "p2");   /* opened after stop: down */
    CHECK(late != NULL);
    CHECK_EQ_INT(comfy_watch_next(late, 5000, &m), COMFY_WATCH_DOWN);
    comfy_watch_close(late);
    comfy_watch_close(f.w);          /* frees the comfy_ws (ASan checks) */
    stop_server();
}

TEST(stop_while_server_unreachable)
{
    CHECK(start_server(0));
    char dead[64];
    snprintf(dead, sizeof dead, "%s", base);
    stop_server();
    comfy_ws *ws = comfy_ws_start("gpu1", dead, NULL, NULL);
    CHECK(ws != NULL);
    comfy_watch *w = comfy_watch_open(ws, "p1");
    cJSON *m = NULL;
    CHECK_EQ_INT(comfy_watch_next(w, 300, &m), COMFY_WATCH_DOWN);   /* never connected */
    CHECK(!comfy_ws_connected(ws));
    comfy_watch_close(w);
    comfy_ws_stop(ws);               /* cuts the backoff short; joins the supervisor */
    /* a URL without a socket (https) starts too, and stops */
    ws = comfy_ws_start("gpu2", "https://127.0.0.1:1", NULL, NULL);
    CHECK(ws != NULL);
    comfy_ws_stop(ws);
}

TEST(full_queue_drops_progress_first)
{
    struct fixture f;
    CHECK(setup(&f, NULL, "p2"));    /* p2's watch marks the end of p1's messages */
    CHECK(send_text("{\"type\": \"execution_start\", \"data\": {\"prompt_id\": \"p1\"}}"));
    char msg[160];
    for (int i = 0; i < 5000; i++) {
        snprintf(msg, sizeof msg, "{\"type\": \"progress\", \"data\": {\"value\": %d,"
                                  " \"max\": 5000, \"prompt_id\": \"p1\"}}", i);
        CHECK(send_text(msg));
    }
    CHECK(send_text("{\"type\": \"execution_success\", \"data\": {\"prompt_id\": \"p1\"}}"));
    CHECK(send_text("{\"type\": \"execution_start\", \"data\": {\"prompt_id\": \"p2\"}}"));
    /* frames are handled in order: once p2's arrived, all of p1's are queued */
    CHECK(next_is(f.w2, NULL));
    /* 5002 messages into 4096 places: progress went, the first and last stay */
    int n = 0, last_value = -1;
    bool in_order = true;
    const char *first = NULL, *last = NULL, *type;
    cJSON *m = NULL;
    for (;;) {
        enum comfy_watch_rc rc = comfy_watch_next(f.w, 0, &m);
        if (rc != COMFY_WATCH_MSG)
            break;
        type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
        if (n == 0)
            first = strcmp(type, "execution_start") == 0 ? "start" : "other";
        last = strcmp(type, "execution_success") == 0 ? "success" : "other";
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "data"), "value");
        if (cJSON_IsNumber(v)) {
            in_order &= v->valueint > last_value;
            last_value = v->valueint;
        }
        n++;
        cJSON_Delete(m);
    }
    CHECK_EQ_INT(n, 4096);
    CHECK(first != NULL && strcmp(first, "start") == 0);
    CHECK(last != NULL && strcmp(last, "success") == 0);
    CHECK(in_order);
    CHECK_EQ_INT(last_value, 4999);      /* the newest progress survives */
    teardown(&f);
}

TEST(fragments_are_joined_and_pings_answered)
{
    struct fixture f;
    CHECK(setup(&f, NULL, NULL));
    /* a text message in two frames with a ping between them (RFC 6455 5.4) */
    CHECK(send_raw(0x01, "{\"type\": \"executing\", \"data\": "));
    CHECK(send_raw(0x89, "abcd"));
    CHECK(send_raw(0x80, "{\"node\": \"3\", \"prompt_id\": \"p1\"}}"));
    /* a binary message in two frames is skipped whole */
    CHECK(send_raw(0x02, "{\"type\": \"x\", "));
    CHECK(send_raw(0x80, "\"data\": {\"prompt_id\": \"p1\"}}"));
    CHECK(send_text("{\"type\": \"executed\", \"data\": {\"prompt_id\": \"p1\"}}"));
    const char *type = NULL;
    cJSON *m = next_msg(f.w, &type);
    CHECK(type != NULL && strcmp(type, "executing") == 0);
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m, "data"), "node");
    CHECK(cJSON_IsString(node) && strcmp(node->valuestring, "3") == 0);
    cJSON_Delete(m);
    CHECK(next_is(f.w, "executed"));
    for (int i = 0; i < 500 && !atomic_load(&got_pong); i++)
        pause_ms(10);
    CHECK(atomic_load(&got_pong));
    teardown(&f);
}

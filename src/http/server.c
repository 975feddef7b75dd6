/* server.c — civetweb start and stop, and its callbacks: each request is
 * handed to the router (router.c), civetweb's own errors (bad request
 * line, headers too large, ...) get the same JSON error shape, its log
 * lines go to ours.
 *
 * Threads: civetweb runs one thread per open connection (idle keep-alive
 * sockets and connections still sending their headers included) from a
 * pool created at start.  Live streams do not hold one: their routes hand
 * the socket to the stream hub (hub.c) once the head and replay are
 * written.  Slow clients cannot keep them (docs/operations.md, "Slow
 * clients and connection limits"): the headers of a connection's first
 * request have an overall deadline (http.headerTimeoutMs, civetweb patched
 * for it: third_party/patches/civetweb/), bodies too (request.c),
 * kept-alive sockets are released after 2 s idle, and conn_guard caps the
 * connections of one address when they are accepted, before a thread is
 * spent on them.  Sizing (docs/architecture.md): num_threads =
 * http.maxConnectionsPerAddress + API_HEADROOM, so one address holding all
 * the connections it may still leaves API_HEADROOM threads to everyone
 * else. */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "http/conn_guard.h"
#include "http/http_int.h"
#include "http/hub.h"
#include "util/log.h"

/* Threads beyond what one client address may hold: what every other
 * client shares while one address is at its cap. */
#define API_HEADROOM 32

struct http_server {
    struct mg_context *ctx;
    bb_app *app;
    hub *hub;
    int port;
};

static int begin_request(struct mg_connection *conn)
{
    http_req r;
    conn_guard_request_begin();
    http_req_begin(&r, conn);
    http_dispatch(&r);
    http_req_end(&r);
    conn_guard_request_end();
    return r.status;
}

/* civetweb's master thread, for each accepted socket (patch 0001). */
static int accept_cb(int sock, const char *remote_addr, void *user_data)
{
    (void)user_data;
    return conn_guard_accept(sock, remote_addr) ? 1 : 0;
}

/* Every socket accept_cb kept ends here, once. */
static void connection_closed_cb(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    conn_guard_closed(ri ? ri->remote_addr : "");
}

/* civetweb's own errors get the same JSON error shape as ours; the
 * connection closes after them. */
static int http_error_cb(struct mg_connection *conn, int status, const char *msg)
{
    http_req r;
    http_req_begin(&r, conn);
    bb_errctx e = {.code = status == 413 || status == 431 ? BB_ETOOLARGE
                           : status == 404              ? BB_ENOTFOUND
                           : status == 408              ? BB_ETIMEOUT
                           : status >= 500              ? BB_EINTERNAL
                                                        : BB_EINVAL};
    if (status == 408) {
        /* the headers missed http.headerTimeoutMs (civetweb patch 0001) */
        snprintf(e.message, sizeof e.message, "the request headers did not arrive within %d ms "
                 "(http.headerTimeoutMs)", r.app ? r.app->cfg->http.header_timeout_ms : 0);
        conn_guard_timed_out(r.ri ? r.ri->remote_addr : NULL, true);
    } else {
        snprintf(e.message, sizeof e.message, "%s",
                 msg && *msg ? msg : http_reason_phrase(status));
    }
    e.message[strcspn(e.message, "\r\n")] = '\0';
    http_reply_err_status(&r, status, &e, true);
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    bb_log(BB_LOG_INFO, "request rejected by the HTTP parser", "requestId", r.request_id,
           "status", st, "reason", e.message, (char *)0);
    http_req_end(&r);
    return 0;
}

static int log_message_cb(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    bb_log(BB_LOG_WARN, "civetweb", "detail", message, (char *)0);
    return 1;
}

http_server *http_start(bb_app *app, const char *listen, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->app = app;
    s->hub = hub_start(app, err, errlen);
    if (!s->hub) {
        free(s);
        return NULL;
    }
    app->hub = s->hub;
    int nthreads = app->cfg->http.max_connections_per_address + API_HEADROOM;
    char threads[16], header_ms[16];
    snprintf(threads, sizeof threads, "%d", nthreads);
    snprintf(header_ms, sizeof header_ms, "%d", app->cfg->http.header_timeout_ms);
    if (conn_guard_init(app->cfg, nthreads) != 0) {
        snprintf(err, errlen, "out of memory");
        app->hub = NULL;
        hub_stop(s->hub);
        free(s);
        return NULL;
    }
    /* Tests shorten civetweb's request timeout (a stalled client's body
     * then ends early within the test's time); digits only, else 30 s. */
    const char *rt = getenv("BB_TEST_REQUEST_TIMEOUT_MS");
    if (!rt || !*rt || strspn(rt, "0123456789") != strlen(rt) || strlen(rt) > 6)
        rt = "30000";
    const char *options[] = {
        "listening_ports", listen,
        "num_threads", threads,
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", HTTP_STR(HTTP_KEEP_ALIVE_SEC) "000",
        "request_timeout_ms", rt,
        "request_header_timeout_ms", header_ms,
        "max_request_size", "16384",
        "connection_queue", "512",
        "listen_backlog", "1024",
        "tcp_nodelay", "1",
        "decode_url", "no",
        NULL, NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.begin_request = begin_request;
    cb.http_error = http_error_cb;
    cb.log_message = log_message_cb;
    cb.accept_connection = accept_cb;
    cb.connection_closed = connection_closed_cb;
    struct mg_init_data init = {.callbacks = &cb, .user_data = app,
                                .configuration_options = options};
    struct mg_error_data ed;
    char ebuf[256] = "";
    memset(&ed, 0, sizeof ed);
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    s->ctx = mg_start2(&init, &ed);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, ebuf[0] ? ebuf : "unknown error");
        app->hub = NULL;
        hub_stop(s->hub);
        conn_guard_free();
        free(s);
        return NULL;
    }
    struct mg_server_port ports[4];
    memset(ports, 0, sizeof ports);
    int n = mg_get_server_ports(s->ctx, 4, ports);
    s->port = n > 0 ? ports[0].port : 0;
    return s;
}

int http_port(http_server *s) { return s->port; }

void http_stop(http_server *s)
{
    if (!s)
        return;
    mg_stop(s->ctx);
    s->app->hub = NULL;
    hub_stop(s->hub);
    conn_guard_free();
    free(s);
}

/* sse.c — GET /jobs/events: Server-Sent Events (docs/api.md, docs/architecture.md).
 *
 * The route runs on its civetweb thread only until the stream is live:
 *   1. admission: a slot in the stream hub (events.maxSubscribers in all:
 *      503 + Retry-After; events.maxPerUser per user: 429);
 *   2. subscribe to the bus first, remembering the newest published id L;
 *   3. with Last-Event-ID N: replay the event log (N, L] from SQLite;
 *   4. hand the socket to the stream hub (hub.c), which writes the live
 *      events (all > L, no gap, no duplicate) and heartbeats without a
 *      thread of its own, notices the client leaving at once, drops it when
 *      it falls a ring behind (it resumes by Last-Event-ID) and closes it
 *      when its session ends.
 * HEAD answers the head only and holds nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/hub.h"
#include "service/job_reads.h"
#include "service/jobs.h"
#include "util/buf.h"
#include "util/util.h"

#define SSE_RETRY_MS 2000
#define SSE_MAX_WRITE (256 * 1024)

struct replay_ctx {
    http_req *r;
    buf b;
    bool failed;
};

static int replay_one(void *ud, int64_t id, const char *type, const char *payload)
{
    struct replay_ctx *c = ud;
    enum ev_type t;
    if (ev_type_parse(type, &t) != 0)
        return 0;
    size_t len;
    char *frame = sse_frame(id, t, payload, &len);
    if (!frame)
        return 1;
    int rc = buf_append(&c->b, frame, len);
    free(frame);
    if (rc != 0 || c->b.len >= SSE_MAX_WRITE) {
        if (http_write(c->r, c->b.data, c->b.len) != 0) {
            c->failed = true;
            return 1;
        }
        buf_reset(&c->b);
        if (rc != 0)
            return 1;
    }
    return 0;
}

void route_events(http_req *r)
{
    bb_app *app = r->app;
    char tmp[64];
    int64_t last_id = -1;
    const char *hdr = http_header(r, "Last-Event-ID");
    const char *q = http_query(r, "lastEventId", tmp, sizeof tmp);
    const char *leid = hdr ? hdr : q;
    if (leid && *leid && sse_parse_last_event_id(leid, &last_id) != 0) {
        http_reply_error(r, BB_EINVAL, "Last-Event-ID must be a non-negative event id");
        return;
    }
    struct bus_filter f = {.owner_id = principal_scope(&r->who)};
    const char *jid = http_query(r, "jobId", tmp, sizeof tmp);
    if (jid && (bb_parse_i64(jid, &f.job_id) != 0 || f.job_id < 1)) {
        http_reply_error(r, BB_EINVAL, "jobId must be a job id");
        return;
    }
    const char *logs = http_query(r, "logs", tmp, sizeof tmp);
    f.logs = logs && (strcmp(logs, "1") == 0 || strcmp(logs, "true") == 0);

    static const char stream_headers[] = "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    if (strcmp(r->method, "HEAD") == 0) {
        (void)http_begin_stream(r, 200, "text/event-stream; charset=utf-8", stream_headers);
        return;
    }
    if (hub_admit(app->hub, r->who.user_id, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    int64_t published = 0;
    bus_sub *sub = bus_subscribe(app->bus, &f, &published);
    if (!sub) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        goto fail;
    }
    if (http_begin_stream(r, 200, "text/event-stream; charset=utf-8", stream_headers) != 0)
        goto fail;
    char head[32];
    int hl = snprintf(head, sizeof head, "retry: %d\n\n", SSE_RETRY_MS);
    if (http_write(r, head, (size_t)hl) != 0)
        goto fail;

    /* an id from a lost timeline (a restored backup): nothing can be
     * replayed against it; the client must reload (docs/api.md) */
    if (last_id > 0 && svc_events_id_lost(app, last_id, published)) {
        static const char reload[] =
            "event: reload\ndata: {\"reason\":\"Last-Event-ID is not in this server's "
            "event log (a backup was restored): load everything again\"}\n\n";
        if (http_write(r, reload, sizeof reload - 1) != 0)
            goto fail;
        last_id = -1;
    }
    if (last_id >= 0 && last_id < published) {
        struct replay_ctx c = {.r = r};
        buf_init(&c.b, SSE_MAX_WRITE + (1u << 20));
        int rc = svc_events_replay(app, last_id, published, &f, replay_one, &c);
        if (!c.failed && rc == BB_OK && c.b.len)
            c.failed = http_write(r, c.b.data, c.b.len) != 0;
        buf_free(&c.b);
        if (c.failed || rc != BB_OK)
            goto fail;
    }
    const struct hub_stream st = {
        .kind = HUB_EVENTS, .f = f, .user_id = r->who.user_id, .admin = r->who.admin,
        .session_id = r->session_id, .expires_ms = r->access_expires_ms,
    };
    (void)hub_adopt(app->hub, r, &st, sub);   /* takes sub and the slot either way */
    return;
fail:
    bus_unsubscribe(app->bus, sub);
    hub_release(app->hub, r->who.user_id);
}

/* hub.h — the stream hub: the long-lived responses (GET /jobs/events and
 * GET /jobs/:id/logs?follow=1) after their civetweb thread has written the
 * head and the replay.  The route takes the connection's socket from
 * civetweb (mg_hijack_socket, glue/civetweb_glue.c) and hands
 * it here; two epoll threads then write to every subscriber without
 * blocking.  DESIGN comment in hub.c; docs/architecture.md ("Threads",
 * "The stream hub and civetweb"); docs/operations.md ("Live streams"). */
#ifndef BB_HUB_H
#define BB_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/bus/bus.h"
#include "service/app.h"
#include "util/err.h"

struct mg_connection;
struct buf;
struct http_req;

/* ---- the civetweb glue (glue/civetweb_glue.c) ------------- */

/* Takes the socket of conn away from civetweb: returns the descriptor,
 * now owned by the caller (civetweb finishes the request without reading,
 * writing or closing it), or -1.  On the request's own thread only. */
int mg_hijack_socket(struct mg_connection *conn);
/* The civetweb version the glue was written against ("1.15"). */
const char *mg_glue_pinned_version(void);

/* ---- the hub ---------------------------------------------------------- */

typedef struct hub hub;

enum hub_kind {
    HUB_EVENTS,              /* text/event-stream of bus frames, heartbeats */
    HUB_LOGS,                /* a job's log lines as text, until it ends */
};

/* What a route hands over with a socket. */
struct hub_stream {
    enum hub_kind kind;
    struct bus_filter f;     /* what the bus subscription passes */
    int64_t user_id;         /* the caller (per-user limit, role changes) */
    bool admin;              /* the caller's role when the stream opened */
    int64_t session_id;      /* the session it was opened with, 0 = none */
    int64_t expires_ms;      /* the access token's expiry (wall clock), 0 = none */
    int64_t job_owner;       /* HUB_LOGS: the job's owner */
    int64_t log_last;        /* HUB_LOGS: id of the last log line already sent */
};

/* Starts the hub's threads for app (raises RLIMIT_NOFILE to its hard limit
 * and warns when that is below events.maxSubscribers needs).  NULL with a
 * message on error.  Caller frees with hub_stop. */
hub *hub_start(bb_app *app, char *err, size_t cap);
/* Closes every stream and joins the threads.  NULL is a no-op. */
void hub_stop(hub *h);

/* Reserves a stream slot for user_id before the route writes anything:
 * BB_OK, or BB_EUNAVAIL (events.maxSubscribers reached, or stopping) /
 * BB_ERATE (events.maxPerUser reached) with e set.  A reserved slot goes
 * to hub_adopt or back with hub_release. */
int hub_admit(hub *h, int64_t user_id, bb_errctx *e);
void hub_release(hub *h, int64_t user_id);

/* Hands the request's connection to the hub after the head (and replay)
 * were written.  Takes ownership of sub and of the slot reserved for
 * st->user_id, whatever it returns; 0, or -1 when the socket could not be
 * taken (the stream then ends with this request). */
int hub_adopt(hub *h, struct http_req *r, const struct hub_stream *st, bus_sub *sub);
/* The same with a socket already taken (fd < 0: fails as above); auth_us
 * is when the caller was authenticated (monotonic, bb_mono_us), so
 * session-ending notices since then apply.  hub_adopt calls it; so do the
 * unit tests, with one end of a socketpair. */
int hub_adopt_fd(hub *h, int fd, const struct hub_stream *st, bus_sub *sub, int64_t auth_us);

/* One log line as a log reply shows it: "[job] " before a job's line that
 * begins like batchbox's own "[batchbox" lines (docs/api.md), then "\n".
 * 0, or -1 when b is full. */
int hub_log_line(struct buf *b, const char *stream, const char *line);

/* Figures for /metrics (src/http/routes/ops.c). */
struct hub_stats {
    size_t subscribers;      /* streams the hub holds now */
    uint64_t adopted;        /* streams handed over since start */
    uint64_t drops;          /* dropped for falling a ring behind */
    uint64_t hangups;        /* closed because the client went */
    uint64_t ended;          /* closed by a session ending or token expiry */
};
void hub_get_stats(hub *h, struct hub_stats *out);

#endif

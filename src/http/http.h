/* http.h — the HTTP transport: civetweb glue, the route table, the request
 * context and reply helpers.  Handlers are thin: parse → authorize → call
 * a service → render JSON. */
#ifndef BB_HTTP_H
#define BB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/app.h"
#include "util/err.h"

struct mg_connection;
struct mg_request_info;
struct cJSON;

#define HTTP_MAX_PARAMS 4

/* Who may call a route: anyone (with or without credentials), a signed-in
 * user, or an admin.  The router checks it before the handler runs
 * (authn.c). */
enum http_perm { PERM_PUBLIC, PERM_USER, PERM_ADMIN };

/* What the router reads of a request body before the handler runs
 * (router.c), each up to the route's body_max. */
enum http_body {
    HTTP_BODY_NONE,          /* not read; with body_max > 0 a body up to it is
                                read and dropped (so keep-alive survives),
                                else the connection closes after the reply */
    HTTP_BODY_JSON,          /* a JSON document, parsed into r->json (415/400/413) */
    HTTP_BODY_JSON_OPTIONAL, /* the same, or no body at all (r->json NULL) */
    HTTP_BODY_UPLOAD,        /* streamed by the handler (uploads service) */
};

/* A path parameter: its name in the pattern (not NUL-terminated: name_len
 * bytes) and its value (points into http_req.param_buf). */
struct http_param {
    const char *name;
    size_t name_len;
    const char *value;
};

/* One request, from civetweb's begin_request until the reply is sent.
 * It owns what handlers would otherwise free one by one (h2o's
 * per-request pool): the body, the parsed JSON and the error context are
 * released by the router when the request ends (http_req_end). */
typedef struct http_req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    bb_app *app;
    const char *method;
    char path[1024];                 /* decoded, without /api/v1 */
    const struct http_route *rt;     /* the matched route, NULL = none */
    const char *route;               /* its pattern (access log, metrics) */
    struct http_param params[HTTP_MAX_PARAMS];
    int nparams;
    char param_buf[1024];            /* the values, NUL-separated */
    char request_id[24];
    int64_t t0_us;
    int status;                      /* status sent (for the access log) */
    struct principal who;
    int64_t session_id;              /* the caller's session, 0 = none */
    int64_t access_expires_ms;       /* its access token's expiry, 0 = none */
    bool cookie_auth;                /* authenticated by the bb_access cookie */
    int64_t api_key_id;              /* authenticated by this API key, 0 = none */
    char cors[320];                  /* CORS header lines for the answer, "" = none */
    char *body;                      /* owned; the raw body once read */
    size_t body_len;
    struct cJSON *json;              /* owned; the parsed body (HTTP_BODY_JSON*) */
    bb_errctx err;                   /* owned; a handler's error context */
    int64_t job_id;                  /* for the access log, 0 = none */
    long long body_read;             /* body bytes read so far (http_read) */
    bool body_broken;                /* the body ended short of its length or
                                        chunk framing: nothing more to read */
    bool body_timed_out;             /* ... because it missed its deadline or the
                                        upload rate (request.c): answered 408 */
    int64_t rate_window_us;          /* upload rate: start of the window ... */
    long long rate_window_bytes;     /* ... and body_read at its start */
    int serve_policy;                /* enum http_serve_policy for http_serve_object */
} http_req;

/* How http_serve_object lets a browser treat a stored object (reply.c,
 * docs/api.md "Serving files and artifacts").  Every object is served with
 * X-Content-Type-Options: nosniff. */
enum http_serve_policy {
    HTTP_SERVE_SANDBOX = 0,      /* inline under `Content-Security-Policy: sandbox`:
                                    no script runs, the page has no origin */
    HTTP_SERVE_ATTACHMENT,       /* the same, and Content-Disposition: attachment
                                    (active types batchbox did not render) */
    HTTP_SERVE_LESSON_PAGE,      /* the lesson page batchbox rendered itself: its
                                    own policy (its script and audio, nothing else) */
    HTTP_SERVE_LESSON_ASSET,     /* the page's lesson.js/lesson.css: loaded by the
                                    page, a download when opened directly */
};

typedef void (*http_handler)(http_req *r);

struct http_route {
    const char *method;              /* "GET", "POST", ... */
    const char *pattern;             /* "/jobs/:id/artifacts/:name"; any :word names a
                                        parameter; the fallback (below) has a star */
    http_handler handler;
    enum http_perm perm;
    const char *summary;             /* one line for docs/api.md */
    /* What GET /openapi.json says about the route (openapi.c); NULL/0
     * fields take the defaults noted. */
    const char *tag;                 /* group; default: the first path segment */
    const char *query;               /* query parameters "state,preset,limit" (names
                                        openapi.c knows) */
    const char *request;             /* request body: a components schema name,
                                        or "upload" (multipart or raw bytes) */
    int ok;                          /* success status (default 200) */
    const char *response;            /* success body: a components schema name,
                                        "text", "sse", "binary", "metrics"; NULL = none */
    const char *errors;              /* other statuses it answers, "400,404,422" (401
                                        and 403 follow from perm) */
    const char *auth;                /* NULL: from perm; "metrics": admin or the
                                        metrics token (checked by the handler) */
    /* What the router does with the body (router.c). */
    enum http_body body;
    size_t body_max;                 /* bytes; 0 = limits.maxBodyBytes (JSON) or
                                        limits.maxUploadBytes (upload) */
    bool fallback;                   /* answers any path outside /api/ that no other
                                        route matches (the web UI's assets); not
                                        part of the API (OpenAPI leaves it out) */
};

/* The route table (routes.c). */
extern const struct http_route http_routes[];
extern const size_t http_nroutes;

/* ---- server ---------------------------------------------------------- */

typedef struct http_server http_server;

/* Starts civetweb on listen ("HOST:PORT").  NULL with a message on error. */
http_server *http_start(bb_app *app, const char *listen, char *err, size_t errlen);
/* The port actually bound (for --listen HOST:0). */
int http_port(http_server *s);
/* Stops accepting and joins every connection thread. */
void http_stop(http_server *s);

/* ---- request helpers ------------------------------------------------- */

/* Value of a :name path parameter (borrowed) or NULL. */
const char *http_param(http_req *r, const char *name);
/* Decoded query parameter into dst; returns dst, or NULL if absent or too
 * long (then *too_long is set when given). */
const char *http_query(http_req *r, const char *name, char *dst, size_t cap);
/* Request header (borrowed) or NULL. */
const char *http_header(http_req *r, const char *name);
/* Reads the whole body up to max bytes into r->body.  Replies 413/400 and
 * returns false on failure. */
bool http_read_body_or_reply(http_req *r, size_t max);
/* Reads and parses a JSON body (Content-Type must be JSON: 415 otherwise;
 * 400 if malformed) into r->json (owned by the request).  Returns r->json
 * (borrowed), or NULL after replying. */
struct cJSON *http_parse_json_or_reply(http_req *r, size_t max);
/* For handlers that free the body themselves: the body the router parsed
 * (r->json), handed over (caller frees; r->json becomes NULL), or, on a
 * route the router did not parse, read and parsed now.  NULL after
 * replying.  New handlers use r->json and free nothing. */
struct cJSON *http_json_body_or_reply(http_req *r);
/* The same with a body cap. */
struct cJSON *http_json_body_limited_or_reply(http_req *r, size_t max);
/* Reads and drops what is left of the body, at most budget bytes, then
 * marks the connection to close (the client reads our answer instead of
 * a reset). */
void http_drain(http_req *r, long long budget);
/* Reads up to cap bytes of the body: >0 bytes, 0 at its end, <0 on error. */
int http_read(http_req *r, void *dst, size_t cap);
/* CSRF check: X-CSRF-Token equals the bb_csrf cookie and is the value of
 * the bb_refresh cookie's session (auth_csrf_value); with session_id (the
 * access cookie's session, 0 = none) that refresh token must be of that
 * session.  Constant-time compares. */
bool http_csrf_ok(http_req *r, int64_t session_id);
/* The client's address into out (cap >= 64; returns out): the peer's
 * address, or, when the peer is a trusted proxy (http.trustedProxies), the
 * rightmost X-Forwarded-For hop that is not a trusted proxy itself
 * (client_addr.c).  Sign-in limits and the event stream use this one. */
const char *http_client_addr(http_req *r, char *out, size_t cap);
/* Value of a cookie into dst (cap); NULL if absent. */
const char *http_cookie(http_req *r, const char *name, char *dst, size_t cap);
/* Parses :id as a job id; replies 404 and returns false if malformed. */
bool http_job_id_or_reply(http_req *r, int64_t *id);
/* Parses :id as a positive id after an optional prefix ("upl_"); replies
 * 404 with "no such WHAT" and returns false if malformed. */
bool http_id_or_reply(http_req *r, const char *prefix, const char *what, int64_t *id);

/* ---- replies --------------------------------------------------------- */

/* Sends a JSON document (takes no ownership); Cache-Control: no-store. */
void http_reply_json(http_req *r, int status, const struct cJSON *doc);
/* The same, taking ownership of doc (frees it; NULL = out of memory,
 * answered 500), with extra header lines (NULL = Cache-Control: no-store). */
void http_reply_doc(http_req *r, int status, struct cJSON *doc, const char *extra_headers);
/* Sends raw bytes with a content type; extra_headers may be NULL or
 * "Name: value\r\n" lines. */
void http_reply_bytes(http_req *r, int status, const char *content_type, const void *data,
                      size_t len, const char *extra_headers);
/* Sends the error carried by e: status, name and extra header from the
 * error table (util/err.c), JSON body {error, message, details: {fields?,
 * retryAfterSec?, requestId}}. */
void http_reply_err(http_req *r, const bb_errctx *e);
/* Sends r->err (the request's own error context). */
void http_reply_failed(http_req *r);
/* Sends an error built from code + message. */
void http_reply_error(http_req *r, enum bb_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts a streamed response (no Content-Length; the connection closes
 * at the end).  Returns 0 on success. */
int http_begin_stream(http_req *r, int status, const char *content_type,
                      const char *extra_headers);
/* Writes to a stream; 0 ok, -1 when the client is gone. */
int http_write(http_req *r, const void *data, size_t len);

/* Range header → 0 with start/len (206), 1 = ignore it (send all, 200),
 * -1 = unsatisfiable (416).  Single ranges only; several → 1. */
int http_parse_range(const char *h, int64_t size, int64_t *start, int64_t *len);
struct store;
/* Serves an object of `size` bytes with ETag = sha256, If-None-Match,
 * Range and HEAD, streaming from the store, under r->serve_policy. */
void http_serve_object(http_req *r, struct store *st, const char *key, int64_t size,
                       const char *sha256, const char *content_type, const char *filename);

/* The Content-Security-Policy and Content-Disposition lines (each ending
 * in CRLF) for a stored object served under r->serve_policy, into out
 * (cap >= 1200).  filename (may be NULL; at most 200 bytes used) goes into
 * Content-Disposition as an ASCII fallback and RFC 6266 filename*. */
void http_object_headers(const http_req *r, const char *filename, char *out, size_t cap);

/* HTTP status for an error code (from the error table, util/err.c). */
int http_status_for(enum bb_err code);

/* ---- router (router.c) ------------------------------------------------ */

/* Matches path against a route pattern; on a match fills params (values
 * copied NUL-separated into buf, cap bytes) and *nparams.  0 on match, -1
 * otherwise (also when a value does not fit buf or there are more than
 * HTTP_MAX_PARAMS).  params/buf may be NULL to test only. */
int http_route_match(const char *pattern, const char *path, struct http_param *params,
                     int *nparams, char *buf, size_t cap);
/* The route for method + path (HEAD finds GET routes); api says the
 * request came under /api/ (no fallback then).  NULL when none: then
 * allow (cap bytes) lists the methods the path has, "" if unknown. */
const struct http_route *http_route_find(const char *method, const char *path, bool api,
                                         char *allow, size_t cap);

/* The OpenAPI 3.1 document of the route table (openapi.c).  Caller frees
 * (cJSON_Delete); NULL when out of memory. */
struct cJSON *http_openapi_doc(void);

/* ---- handlers (files under routes/, and sse.c) ------------------------- */

void route_health(http_req *r);
void route_job_options(http_req *r);
void route_jobs_submit(http_req *r);
void route_jobs_list(http_req *r);
void route_job_children(http_req *r);
void route_job_get(http_req *r);
void route_job_logs(http_req *r);
void route_job_artifacts(http_req *r);
void route_job_artifact(http_req *r);
void route_job_action(http_req *r);
void route_job_rerun_audio(http_req *r);
void route_job_gallery(http_req *r);
void route_job_gallery_zip(http_req *r);
void route_artifact_pick(http_req *r);
void route_artifact_unpick(http_req *r);
void route_events(http_req *r);
void route_static(http_req *r);
void route_auth_register(http_req *r);
void route_auth_login(http_req *r);
void route_auth_refresh(http_req *r);
void route_auth_logout(http_req *r);
void route_auth_me(http_req *r);
void route_profile_get(http_req *r);
void route_profile_patch(http_req *r);
void route_user_jobs(http_req *r);
void route_admin_users(http_req *r);
void route_admin_user_patch(http_req *r);
void route_admin_jobs(http_req *r);
void route_admin_stats(http_req *r);
void route_admin_queue(http_req *r);
void route_admin_queue_pause(http_req *r);
void route_admin_queue_resume(http_req *r);
void route_jobs_bulk(http_req *r);
void route_admin_backup(http_req *r);
void route_upload(http_req *r);
void route_file_get(http_req *r);
void route_file_delete(http_req *r);
void route_user_files(http_req *r);
void route_metrics(http_req *r);
void route_openapi(http_req *r);
void route_schedules_create(http_req *r);
void route_schedules_list(http_req *r);
void route_schedule_get(http_req *r);
void route_schedule_patch(http_req *r);
void route_schedule_delete(http_req *r);
void route_job_dependents(http_req *r);
void route_comfyui_servers(http_req *r);
void route_comfyui_server_add(http_req *r);
void route_comfyui_server_patch(http_req *r);
void route_comfyui_server_delete(http_req *r);
void route_comfyui_server_refresh(http_req *r);
void route_comfyui_models(http_req *r);
void route_templates_list(http_req *r);
void route_templates_save(http_req *r);
void route_template_delete(http_req *r);
/* integrations (docs/integrations.md) */
void route_apikeys_list(http_req *r);
void route_apikeys_create(http_req *r);
void route_apikeys_revoke(http_req *r);
void route_job_deliveries(http_req *r);
void route_admin_config_reload(http_req *r);
void route_admin_gc(http_req *r);
/* Adds {retention, webhooks} counters to the admin statistics doc (takes
 * and returns it; NULL stays NULL). */
struct cJSON *http_integ_stats(bb_app *app, struct cJSON *doc);
/* The same counters as Prometheus series into out (a util/buf.h buf);
 * 0, or -1 when out of memory. */
struct buf;
int http_integ_metrics(bb_app *app, struct buf *out);
void route_inputs_list(http_req *r);
void route_job_segments(http_req *r);
void route_job_comfyui(http_req *r);      /* routes/comfyui_job.c */
void route_job_segment_patch(http_req *r);

#endif

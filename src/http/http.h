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

/* Who may call a route.  The accounts issue makes PERM_USER/PERM_ADMIN
 * require credentials; today every principal is `open`. */
enum http_perm { PERM_PUBLIC, PERM_USER, PERM_ADMIN };

typedef struct http_req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    bb_app *app;
    const char *method;
    char path[1024];                 /* decoded, without /api/v1 */
    const char *route;               /* the matched route pattern */
    const char *param_names[HTTP_MAX_PARAMS];
    char *param_values[HTTP_MAX_PARAMS];   /* owned, freed after the request */
    int nparams;
    char request_id[24];
    int64_t t0_us;
    int status;                      /* status sent (for the access log) */
    struct principal who;
    int64_t session_id;              /* the caller's session, 0 = none */
    bool cookie_auth;                /* authenticated by the bb_access cookie */
    char *body;                      /* owned after http_read_body */
    size_t body_len;
    int64_t job_id;                  /* for the access log, 0 = none */
} http_req;

typedef void (*http_handler)(http_req *r);

struct http_route {
    const char *method;              /* "GET", "POST", ... */
    const char *pattern;             /* "/jobs/:id/artifacts/:name" */
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
 * 400 if malformed).  Caller frees the result.  NULL after replying. */
struct cJSON *http_json_body_or_reply(http_req *r);
/* Same with a smaller body cap (auth routes). */
struct cJSON *http_json_body_limited_or_reply(http_req *r, size_t max);
/* Double-submit CSRF check: X-CSRF-Token equals the bb_csrf cookie
 * (constant-time compare). */
bool http_csrf_ok(http_req *r);
/* Value of a cookie into dst (cap); NULL if absent. */
const char *http_cookie(http_req *r, const char *name, char *dst, size_t cap);
/* Parses :id as a job id; replies 404 and returns false if malformed. */
bool http_job_id_or_reply(http_req *r, int64_t *id);

/* ---- replies --------------------------------------------------------- */

/* Sends a JSON document (takes no ownership). */
void http_reply_json(http_req *r, int status, const struct cJSON *doc);
/* Sends raw bytes with a content type; extra_headers may be NULL or
 * "Name: value\r\n" lines. */
void http_reply_bytes(http_req *r, int status, const char *content_type, const void *data,
                      size_t len, const char *extra_headers);
/* Sends the error carried by e (status from its code, JSON body with
 * details.fields). */
void http_reply_err(http_req *r, const bb_errctx *e);
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
 * Range and HEAD, streaming from the store. */
void http_serve_object(http_req *r, struct store *st, const char *key, int64_t size,
                       const char *sha256, const char *content_type, const char *filename);

/* HTTP status for an error code (the one place the mapping lives). */
int http_status_for(enum bb_err code);

/* The OpenAPI 3.1 document of the route table (openapi.c).  Caller frees
 * (cJSON_Delete); NULL when out of memory. */
struct cJSON *http_openapi_doc(void);

/* ---- handlers (files under routes/, and sse.c) ------------------------- */

void route_health(http_req *r);
void route_job_options(http_req *r);
void route_jobs_submit(http_req *r);
void route_jobs_list(http_req *r);
void route_job_get(http_req *r);
void route_job_logs(http_req *r);
void route_job_artifacts(http_req *r);
void route_job_artifact(http_req *r);
void route_job_action(http_req *r);
void route_job_rerun_audio(http_req *r);
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
void route_admin_backup(http_req *r);
void route_upload(http_req *r);
void route_file_get(http_req *r);
void route_file_delete(http_req *r);
void route_user_files(http_req *r);
void route_metrics(http_req *r);
void route_openapi(http_req *r);

#endif

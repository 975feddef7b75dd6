/* http_int.h — what the files of src/http/ share among themselves and
 * nothing else uses: the common headers, error documents, the request's
 * life cycle, authentication and dispatch.  Handlers include http.h only. */
#ifndef BB_HTTP_INT_H
#define BB_HTTP_INT_H

#include <stdbool.h>

#include "http/http.h"

/* How long civetweb keeps an idle connection open for the next request.
 * Responses advertise it ("Keep-Alive: timeout=2") so clients stop reusing
 * a connection before the server closes it; without the hint a client that
 * keeps connections longer (Node's fetch keeps 4 s) can send a request just
 * as the server closes the socket, and that request fails. */
#define HTTP_KEEP_ALIVE_SEC 2
#define HTTP_STR_(x) #x
#define HTTP_STR(x) HTTP_STR_(x)

/* reply.c */
/* The headers every response carries (security policy). */
extern const char *const http_common_headers;
/* "OK", "Not Found", ... ("Unknown" for a status civetweb does not know). */
const char *http_reason_phrase(int status);
/* The JSON error document {error, message, details} for e (name from the
 * error table).  Caller frees; NULL when out of memory. */
char *http_error_text(const char *request_id, const bb_errctx *e, const char *message);
/* Sends e with an explicit status (civetweb's own errors), closing the
 * connection when must_close. */
void http_reply_err_status(http_req *r, int status, const bb_errctx *e, bool must_close);

/* request.c */
/* Fills r for a new request on conn: request id, clock, method. */
void http_req_begin(http_req *r, struct mg_connection *conn);
/* Releases what the request owns (body, parsed JSON, error context). */
void http_req_end(http_req *r);
/* Replaces r->err with the 408 of a body that missed its deadline
 * (r->body_timed_out). */
void http_body_timeout_err(http_req *r);

/* authn.c */
/* Decides who is calling (Bearer token or cookie + CSRF) and whether they
 * may use the route; answers 401/403 (or the sign-in redirect) and returns
 * false when not. */
bool http_authenticate_or_reply(http_req *r, const struct http_route *route);

/* guard.c (docs/integrations.md) */
/* CORS: notes the allowed origin's headers in r->cors (sent with the
 * answer) and answers a preflight OPTIONS itself (204 allowed, 403 not);
 * false after replying. */
bool http_cors_or_reply(http_req *r);
/* The caller's request rate limit: false after answering 429.  The router
 * calls it before authentication (acts on requests without credentials:
 * by address) and after (the others: by user or API key). */
bool http_rate_limit_or_reply(http_req *r, bool before_auth);

/* router.c */
/* Decodes the path, finds the route, authenticates, reads the body the
 * route declares and runs the handler; always answers. */
void http_dispatch(http_req *r);

#endif

/* http_client.h — a small blocking HTTP client over libcurl, for the CLI's
 * client verbs and for outbound integrations (TTS, Notion, webhooks).
 *
 * One call = one request on a fresh easy handle; safe from any thread
 * (curl_global_init runs once, under pthread_once).  Two ways to receive
 * the body:
 *   - buffered: the whole body lands in resp->body, capped at max_body;
 *   - streaming: set on_chunk; every piece of a 2xx body is handed to it as
 *     it arrives (SSE, `logs -f`).  Non-2xx bodies are still buffered into
 *     resp->body so the caller can read the JSON error.
 * Redirects are never followed (an Authorization header must not travel to
 * another host).  Only http:// and https:// URLs are accepted.
 *
 * Error strings never contain request headers, the URL's user:password
 * part or its query string (tokens travel there in some APIs). */
#ifndef BB_HTTP_CLIENT_H
#define BB_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Streaming callback: len > 0 bytes of a 2xx body.  Return 0 to go on,
 * non-zero to abort the transfer (the call then returns HTTP_RES_ABORTED). */
typedef int (*http_chunk_fn)(void *user, const char *data, size_t len);

/* One part of a multipart/form-data body (built with curl's mime API). */
struct http_form_part {
    const char *name;            /* the form field */
    const char *value;           /* a text part, or NULL for a file part */
    const char *file_path;       /* a file part: the local file, streamed */
    const char *file_name;       /* a file part: the name sent (NULL: the
                                    file's base name) */
};

struct http_request {
    const char *method;          /* "GET", "POST", ...; NULL: GET, or POST
                                    when body is set */
    const char *url;
    const char *const *headers;  /* "Name: value" strings, NULL-terminated;
                                    may be NULL */
    const char *body;            /* request body or NULL */
    size_t body_len;
    long connect_timeout_ms;     /* 0: 10 s */
    long timeout_ms;             /* whole transfer; 0: no limit (streams) */
    long idle_timeout_sec;       /* abort when under 1 byte/s for this many
                                    seconds; 0: off */
    size_t max_body;             /* cap of a buffered body; 0: 1 MiB */
    http_chunk_fn on_chunk;      /* streaming mode when set */
    void *user;                  /* passed to on_chunk */
    const atomic_int *cancel;    /* optional: abort soon after it becomes
                                    non-zero (checked about once a second
                                    while idle, more often while data
                                    flows); may be set from a signal
                                    handler */
    const atomic_bool *cancel_flag; /* optional: the same for a job's
                                    cancel flag (a worker's atomic_bool) */
    const struct http_form_part *form; /* nform > 0: a multipart/form-data
                                    POST of these parts (body unused) */
    size_t nform;
};

struct http_response {
    long status;        /* HTTP status; 0 when no response arrived */
    char *body;         /* buffered body, NUL-terminated; never NULL after
                           http_client_perform (owned; see _free) */
    size_t body_len;
    char *headers;      /* raw header block of the final response (owned) */
    size_t headers_len;
};

enum http_result {
    HTTP_RES_OK = 0,     /* a complete response arrived (any status) */
    HTTP_RES_CONNECT,    /* name resolution or connection failed */
    HTTP_RES_TIMEOUT,    /* connect, total or idle timeout */
    HTTP_RES_CANCELED,   /* the cancel flag was set */
    HTTP_RES_ABORTED,    /* on_chunk asked to stop */
    HTTP_RES_TOO_LARGE,  /* buffered body over max_body */
    HTTP_RES_FAILED,     /* other transfer failure (reset, TLS, truncated) */
    HTTP_RES_INVALID,    /* bad request arguments or URL, or no memory */
};

/* Initialises libcurl once for the process (idempotent, thread-safe).
 * Returns 0, or -1 if curl_global_init failed.  Called implicitly by
 * http_client_perform(); call it early from main() to fail fast. */
int http_client_init(void);

/* Performs req.  Always initialises *resp (free it with
 * http_response_free(), whatever the result).  On a result other than
 * HTTP_RES_OK, a one-line reason is written to err (may be NULL); resp
 * may still hold the status and the part of the body that arrived. */
enum http_result http_client_perform(const struct http_request *req,
                                     struct http_response *resp,
                                     char *err, size_t errlen);

/* Releases resp's buffers; resp may be reused afterwards. */
void http_response_free(struct http_response *resp);

/* Copies the value of the first response header called name (any case),
 * trimmed, into out[outlen].  Returns true if the header was present (a
 * value too long for out is truncated). */
bool http_response_header(const struct http_response *resp, const char *name,
                          char *out, size_t outlen);

/* Retry-After of resp given as delay-seconds ("2", or "1.5" as some APIs
 * send), in ms; -1 when absent or not such a number (an HTTP date: the
 * caller falls back to its own backoff). */
long http_response_retry_after_ms(const struct http_response *resp);

/* The human part of an error answer as one line into out[outlen]: text
 * (a message the caller found in the parsed body) when non-NULL, else the
 * first 160 bytes of the body, or "empty answer" when there is none.
 * Control characters become spaces (bb_one_line). */
void http_response_error_line(const struct http_response *resp,
                              const char *text, char *out, size_t outlen);

/* Short name of a result ("connect", "timeout", ...); static string. */
const char *http_result_name(enum http_result r);

/* Percent-encodes s for use in a URL query or path segment (RFC 3986
 * unreserved characters are kept).  Returns a malloc'd string (caller
 * frees) or NULL when out of memory. */
char *http_client_escape(const char *s);

#endif

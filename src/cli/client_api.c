/* client_api.c — the client verbs' context and requests: resolving
 * --server, the common headers and timeouts of every request, one token
 * refresh and retry on a 401 (cl_api_do), and the one place that turns a
 * failed call into a message on stderr and an exit code
 * (cl_report_failure).  See client.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"

#define USER_AGENT_HEADER "User-Agent: batchbox-cli"
#define CONNECT_TIMEOUT_MS 5000L
#define REQUEST_TIMEOUT_MS 30000L
#define MAX_JSON_BODY (16u * 1024u * 1024u)

/* ------------------------------------------------------------ context */

/* Resolves the server URL (s: --server, else $BATCHBOX_SERVER, else the
 * default) into c->server and c->shown; 0 or the usage exit code (message
 * printed). */
static int setup_server(struct ctx *c, const char *s)
{

    if (!s || !*s)
        s = getenv("BATCHBOX_SERVER");
    if (!s || !*s)
        s = DEFAULT_SERVER;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return usage_error(c, "server '%s' is not an http:// or https:// URL",
                           s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return usage_error(c, "server URL must not contain spaces, "
                                  "control characters, '?' or '#'");
    if (strlen(s) >= sizeof c->server)
        return usage_error(c, "server URL is too long");
    size_t n = strlen(s);
    memcpy(c->server, s, n + 1);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    if (n >= strlen(API_PREFIX) &&
        strcmp(c->server + n - strlen(API_PREFIX), API_PREFIX) == 0) {
        n -= strlen(API_PREFIX);
        c->server[n] = '\0';
        while (n > 0 && c->server[n - 1] == '/')
            c->server[--n] = '\0';
    }

    /* The display copy drops "user:password@". */
    const char *host = strstr(c->server, "://") + 3;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        snprintf(c->shown, sizeof c->shown, "%.*s%s",
                 (int)(host - c->server), c->server, at + 1);
    else
        snprintf(c->shown, sizeof c->shown, "%s", c->server);
    return 0;
}


/* --------------------------------------------------------- requests */

/* Builds "<server>/api/v1<path>" from a printf format.  Returns a malloc'd
 * string (caller frees) or NULL when too long or out of memory. */
char *cl_api_url(const struct ctx *c, const char *fmt, ...)
{
    char path[URL_CAP];
    va_list ap;
    int n;
    buf b;

    va_start(ap, fmt);
    n = vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    buf_init(&b, URL_CAP + sizeof c->server);
    if (buf_puts(&b, c->server) != 0 || buf_puts(&b, API_PREFIX) != 0 ||
        buf_puts(&b, path) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* Appends "?name=value" or "&name=value" (value percent-encoded) to q;
 * 0 or -1. */
int cl_query_add(buf *q, const char *name, const char *value)
{
    char *esc = http_client_escape(value);
    int rc;

    if (!esc)
        return -1;
    rc = buf_printf(q, "%c%s=%s", q->len ? '&' : '?', name, esc);
    free(esc);
    return rc;
}

/* Frees a string that held a secret, wiping it first.  s may be NULL. */
void cl_free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Releases a response whose body may hold tokens, wiping the body. */
void cl_response_free_secret(struct http_response *resp)
{
    if (resp->body)
        explicit_bzero(resp->body, resp->body_len);
    http_response_free(resp);
}

/* Sends one request with the common headers and auth (a complete
 * "Authorization: ..." line, or NULL).  resp is always initialised
 * (caller frees it with http_response_free). */
enum http_result cl_api_send(const char *method, const char *url,
                             const char *body, const struct cl_req *o,
                             const char *auth, struct http_response *resp,
                             char *err, size_t errlen)
{
    char accept[96], idem[MAX_IDEM_KEY_LEN + 32], leid[160], ctype[160];
    const char *hdrs[8];
    size_t n = 0;

    snprintf(accept, sizeof accept, "Accept: %s",
             o->accept ? o->accept : "application/json");
    hdrs[n++] = accept;
    hdrs[n++] = USER_AGENT_HEADER;
    if (body) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s",
                 o->content_type ? o->content_type : "application/json");
        hdrs[n++] = ctype;
    }
    if (auth)
        hdrs[n++] = auth;
    if (o->idempotency_key) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->idempotency_key);
        hdrs[n++] = idem;
    }
    if (o->last_event_id && *o->last_event_id &&
        (size_t)snprintf(leid, sizeof leid, "Last-Event-ID: %s",
                         o->last_event_id) < sizeof leid)
        hdrs[n++] = leid;
    hdrs[n] = NULL;

    struct http_request r = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = !body ? 0 : o->body_len ? o->body_len : strlen(body),
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = o->on_chunk ? 0
                      : o->timeout_ms ? o->timeout_ms
                                      : REQUEST_TIMEOUT_MS,
        .idle_timeout_sec = o->on_chunk ? o->idle_sec : 0,
        .max_body = MAX_JSON_BODY,
        .on_chunk = o->on_chunk,
        .user = o->user,
        .cancel = o->cancelable ? &cl_cancel : NULL,
    };
    return http_client_perform(&r, resp, err, errlen);
}


/* Sends one API request with the common headers and the credentials
 * (unless o->no_auth).  A 401 answered to stored credentials is followed
 * by one token refresh and one retry; when the refresh is refused the 401
 * stays (the user was told the session expired), when the server cannot
 * be asked the refresh's failure is returned instead.  resp is always
 * initialised (caller frees it with http_response_free). */
enum http_result cl_api_do(const struct ctx *c, const char *method,
                           const char *url, const char *body,
                           const struct cl_req *o,
                           struct http_response *resp, char *err,
                           size_t errlen)
{
    static const struct cl_req none;
    unsigned gen = 0;
    bool refreshable = false;
    char *auth;
    enum http_result res;
    struct cl_refresh_fail f;

    if (!o)
        o = &none;
    auth = o->no_auth ? NULL : cl_sess_header(c, &gen, &refreshable);
    res = cl_api_send(method, url, body, o, auth, resp, err, errlen);
    cl_free_secret(auth);
    if (res != HTTP_RES_OK || resp->status != 401 || !refreshable)
        return res;

    memset(&f, 0, sizeof f);
    switch (cl_sess_refresh(c, gen, &f)) {
    case CL_REFRESH_OK:
        http_response_free(resp);
        auth = cl_sess_header(c, &gen, &refreshable);
        res = cl_api_send(method, url, body, o, auth, resp, err, errlen);
        cl_free_secret(auth);
        break;
    case CL_REFRESH_FAILED:
        if (f.set) {
            http_response_free(resp);
            *resp = f.resp;
            if (err && errlen)
                snprintf(err, errlen, "%s", f.err);
            res = f.res;
        }
        break;
    default:
        break; /* expired: keep the 401 */
    }
    return res;
}

bool cl_is_2xx(long status) { return status >= 200 && status < 300; }

/* The exit code for an HTTP error status. */
static int exit_for_status(long status)
{
    if (status == 400 || status == 413)
        return CLI_EXIT_USAGE;
    if (status == 429 || (status >= 500 && status != 501))
        return CLI_EXIT_UNREACHABLE;
    return CLI_EXIT_FAILED;
}

/* Explains a failed call (transport failure or non-2xx status) on stderr
 * — the server's message, each details.fields entry, Retry-After and the
 * request id of a server error — and returns its exit code.  With --json
 * the server's JSON error body is also echoed on stdout. */
int cl_report_failure(const struct ctx *c, enum http_result r,
                      const struct http_response *resp, const char *err)
{
    /* A refused refresh has already said "session expired". */
    if (r == HTTP_RES_OK && resp->status == 401 && cl_sess_expired())
        return CLI_EXIT_FAILED;
    if (r != HTTP_RES_OK) {
        switch (r) {
        case HTTP_RES_CONNECT:
        case HTTP_RES_TIMEOUT:
        case HTTP_RES_FAILED:
            errorf(c, "cannot reach the server: %s", err);
            return CLI_EXIT_UNREACHABLE;
        case HTTP_RES_INVALID:
            errorf(c, "%s", err);
            return CLI_EXIT_USAGE;
        case HTTP_RES_CANCELED:
            errorf(c, "interrupted");
            return CLI_EXIT_FAILED;
        default:
            errorf(c, "%s", err);
            return CLI_EXIT_FAILED;
        }
    }

    cJSON *j = resp->body_len ? cJSON_ParseWithLength(resp->body,
                                                      resp->body_len)
                              : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error");
    char retry_after[32], request_id[80];
    bool have_ra = http_response_header(resp, "Retry-After", retry_after,
                                        sizeof retry_after);
    bool have_rid = http_response_header(resp, "X-Request-Id", request_id,
                                         sizeof request_id);

    if (c->json && cJSON_IsObject(j)) {
        fwrite(resp->body, 1, resp->body_len, stdout);
        if (resp->body[resp->body_len - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
    }
    fprintf(stderr, "batchbox %s: ", c->call->name);
    if (resp->status >= 500 && resp->status != 501)
        fputs("server error: ", stderr);
    if (cJSON_IsString(msg) && msg->valuestring[0]) {
        cl_put_clean(stderr, msg->valuestring);
    } else if (!j && resp->body_len) {
        /* Not JSON: show the start of the body. */
        char head[201];
        snprintf(head, sizeof head, "%s", resp->body);
        cl_put_clean(stderr, head);
    } else {
        fputs("request refused", stderr);
    }
    fprintf(stderr, " (%s%sHTTP %ld",
            cJSON_IsString(code) ? code->valuestring : "",
            cJSON_IsString(code) ? ", " : "", resp->status);
    if (have_ra) {
        fputs("; retry after ", stderr);
        cl_put_clean(stderr, retry_after);
        fputs(" s", stderr);
    }
    if (have_rid && resp->status >= 500) {
        fputs("; request id ", stderr);
        cl_put_clean(stderr, request_id);
    }
    fputs(")\n", stderr);

    const cJSON *details = cJSON_GetObjectItemCaseSensitive(j, "details");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(details, "fields");
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        fputs("  ", stderr);
        cl_put_clean(stderr, f->string ? f->string : "?");
        fputs(": ", stderr);
        if (cJSON_IsString(f)) {
            cl_put_clean(stderr, f->valuestring);
        } else {
            char *s = cJSON_PrintUnformatted(f);
            cl_put_clean(stderr, s ? s : "?");
            free(s);
        }
        fputc('\n', stderr);
    }
    cJSON_Delete(j);
    if (resp->status == 401 && !c->auth_verb &&
        !cl_sess_has_credentials(c->server))
        fputs("  not signed in: run 'batchbox login' (or set "
              "BATCHBOX_TOKEN)\n", stderr);
    return exit_for_status(resp->status);
}

/* Parses a 2xx JSON body; on failure prints why and returns NULL.
 * Returns a cJSON tree the caller frees with cJSON_Delete. */
static cJSON *parse_body(const struct ctx *c, const struct http_response *resp)
{
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);

    if (!j)
        errorf(c, "unexpected answer from the server (HTTP %ld): not JSON",
               resp->status);
    return j;
}

/* Performs a buffered JSON call and parses the 2xx answer.  Returns the
 * tree (caller frees) and sets *code to CLI_EXIT_OK, or returns NULL with
 * *code set (message printed).  If raw is non-NULL, *raw receives the
 * response (caller frees it with http_response_free) on success. */
cJSON *cl_api_json(const struct ctx *c, const char *method,
                   const char *url, const char *body,
                   const struct cl_req *o, int *code,
                   struct http_response *raw)
{
    struct http_response resp;
    char err[512];
    enum http_result r = cl_api_do(c, method, url, body, o, &resp, err,
                                   sizeof err);
    cJSON *j = NULL;

    if (r != HTTP_RES_OK || !cl_is_2xx(resp.status)) {
        *code = cl_report_failure(c, r, &resp, err);
    } else if (!(j = parse_body(c, &resp))) {
        *code = CLI_EXIT_FAILED;
    } else {
        *code = CLI_EXIT_OK;
    }
    if (j && raw)
        *raw = resp;
    else
        http_response_free(&resp);
    return j;
}

/* GET /jobs/ID (timeout_ms 0: the default); returns the DTO (caller
 * frees), or NULL with *code set and the reason printed. */
cJSON *cl_fetch_job(struct ctx *c, const char *id, long timeout_ms,
                    int *code)
{
    struct cl_req o = {.timeout_ms = timeout_ms};
    char *url = cl_api_url(c, "/jobs/%s", id);
    cJSON *dto;

    if (!url) {
        *code = CLI_EXIT_FAILED;
        return NULL;
    }
    dto = cl_api_json(c, "GET", url, NULL, &o, code, NULL);
    free(url);
    return dto;
}

int cl_enter(struct cli_call *call)
{
    struct ctx *c = calloc(1, sizeof *c);
    int code;

    if (!c) {
        cli_errorf(call, "out of memory");
        return CLI_EXIT_FAILED;
    }
    c->call = call;
    c->json = cli_flag(call, "json");
    call->ctx = c;
    code = setup_server(c, cli_str(call, "server"));
    if (code == 0 && http_client_init() != 0) {
        errorf(c, "cannot initialise libcurl");
        code = CLI_EXIT_FAILED;
    }
    if (code != 0) {
        free(c);
        call->ctx = NULL;
    }
    return code;
}

void cl_leave(struct cli_call *call)
{
    cl_sess_clear();
    free(call->ctx);
    call->ctx = NULL;
}

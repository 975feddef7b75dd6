/* client.c — the HTTP calls batchbox makes to one ComfyUI server (see
 * client.h; docs/comfyui.md, "How batchbox talks to ComfyUI").  Each call
 * is one blocking request through infra/net/http_client.h on the calling
 * thread; nothing here keeps state between calls, so any thread may call.
 *
 * Every answer is classified the same way (classify_transport,
 * classify_status): no answer (connect error, timeout, reset) or a 5xx is
 * COMFY_DOWN — the server, not the request, is the problem; a 4xx is
 * COMFY_REJECTED; a 2xx whose body is not the JSON shape ComfyUI documents
 * is COMFY_GARBAGE. */
#include "infra/comfyui/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "domain/params.h"
#include "infra/net/http_client.h"
#include "util/bb_assert.h"
#include "util/buf.h"
#include "util/files.h"
#include "util/log.h"
#include "util/text.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_JSON_CAP (8u << 20)
#define HISTORY_CAP (32u << 20)          /* one entry holds the whole prompt */
#define ERROR_BODY_CAP (1u << 20)        /* a 4xx/5xx body we read for its reason */
#define VIEW_IDLE_SEC 60L                /* /view: no byte for this long = down */
#define URL_MAX 4096

static const char *const JSON_HEADERS[] = {"Content-Type: application/json", NULL};

/* ---- one request ----------------------------------------------------------- */

/* The request's URL base_url + path into url[URL_MAX]; false when too long. */
static bool make_url(char *url, const char *base_url, const char *path, char *err,
                     size_t errlen)
{
    int n = snprintf(url, URL_MAX, "%s%s", base_url, path);
    if (n < 0 || n >= URL_MAX) {
        snprintf(err, errlen, "the URL of %s is too long", path);
        return false;
    }
    return true;
}

/* Fills the timeouts and cancel flag of r from o (NULL: the defaults). */
static void apply_opts(struct http_request *r, const struct comfy_opts *o)
{
    r->connect_timeout_ms = (o && o->connect_timeout_ms > 0) ? o->connect_timeout_ms
                                                             : DEFAULT_CONNECT_MS;
    r->timeout_ms = (o && o->timeout_ms > 0) ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->cancel_flag = o ? o->cancel : NULL;
}

/* Our code for a transfer that did not complete (res != HTTP_RES_OK). */
static enum comfy_rc classify_transport(enum http_result res)
{
    switch (res) {
    case HTTP_RES_OK:
        return COMFY_OK;
    case HTTP_RES_CANCELED:
        return COMFY_CANCELED;
    case HTTP_RES_TOO_LARGE:
        return COMFY_TOO_LARGE;
    case HTTP_RES_INVALID:
        return COMFY_LOCAL;
    case HTTP_RES_CONNECT:
    case HTTP_RES_TIMEOUT:
    case HTTP_RES_ABORTED:
    case HTTP_RES_FAILED:
        return COMFY_DOWN;
    }
    return COMFY_DOWN;
}

/* Our code for a complete answer of status resp->status; unless COMFY_OK,
 * the reason ("POST /prompt: HTTP 500: ...") in err. */
static enum comfy_rc classify_status(const char *what, const struct http_response *resp,
                                     char *err, size_t errlen)
{
    if (resp->status >= 200 && resp->status < 300)
        return COMFY_OK;
    char line[256];
    http_response_error_line(resp, NULL, line, sizeof line);
    snprintf(err, errlen, "%s: HTTP %ld: %s", what, resp->status, line);
    return (resp->status >= 400 && resp->status < 500) ? COMFY_REJECTED : COMFY_DOWN;
}

/* Performs r (its URL, method and body set by the caller) and classifies
 * the result; *resp always needs http_response_free. */
/* in (a transport error naming url) into out without the server's address:
 * "http://host:port" dropped, any other mention of host (and curl's "port
 * N" after it) made "the server".
 * A server's URL is for admins only (it may name internal hosts), while
 * these texts reach job owners and the server list. */
static void scrub_address(const char *url, const char *in, char *out, size_t cap)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t auth = strcspn(h, "/?#");            /* host[:port] */
    const char *at = memchr(h, '@', auth);       /* user:pass@ (redacted anyway) */
    const char *host = at ? at + 1 : h;
    size_t hostlen = (size_t)(h + auth - host);
    const char *colon = host[0] == '[' ? memchr(host, ']', hostlen) : memchr(host, ':', hostlen);
    if (colon && host[0] == '[')
        colon++;                                 /* keep "[::1]" whole */
    if (colon && colon < host + hostlen)
        hostlen = (size_t)(colon - host);
    size_t prefix = (size_t)(h + auth - url);    /* "http://host:port" */
    size_t o = 0;
    if (cap == 0)
        return;
    for (const char *p = in; *p && o + 1 < cap;) {
        if (strncmp(p, url, prefix) == 0) {
            p += prefix;
        } else if (hostlen > 0 && strncmp(p, host, hostlen) == 0) {
            int n = snprintf(out + o, cap - o, "the server");
            o = n < 0 ? o : o + (size_t)n < cap ? o + (size_t)n : cap - 1;
            p += hostlen;
            if (strncmp(p, " port ", 6) == 0 && p[6] >= '0' && p[6] <= '9') {
                p += 6;                          /* curl's "host port N" */
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        } else {
            out[o++] = *p++;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static enum comfy_rc perform(const char *what, const struct http_request *r,
                             struct http_response *resp, char *err, size_t errlen)
{
    char why[512];
    enum http_result res = http_client_perform(r, resp, why, sizeof why);
    if (res != HTTP_RES_OK) {
        scrub_address(r->url, why, err, errlen);
        return classify_transport(res);
    }
    return classify_status(what, resp, err, errlen);
}

/* The 2xx body of resp as JSON (caller deletes), or NULL with err set. */
static cJSON *parse_body(const char *what, const struct http_response *resp, char *err,
                         size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
    if (j == NULL) {
        char line[128];
        http_response_error_line(resp, NULL, line, sizeof line);
        snprintf(err, errlen, "%s: the answer is not JSON: %s", what, line);
    }
    return j;
}

/* A JSON POST of body (borrowed) to base_url + path; the 2xx answer parsed
 * into *out when out is not NULL (caller deletes). */
static enum comfy_rc post_json(const char *base_url, const char *path, const cJSON *body,
                               const struct comfy_opts *o, cJSON **out, char *err,
                               size_t errlen)
{
    char url[URL_MAX], what[128];
    if (out)
        *out = NULL;
    if (!make_url(url, base_url, path, err, errlen))
        return COMFY_LOCAL;
    char *text = cJSON_PrintUnformatted(body);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return COMFY_LOCAL;
    }
    snprintf(what, sizeof what, "POST %s", path);
    struct http_request r = {.method = "POST", .url = url, .headers = JSON_HEADERS,
                             .body = text, .body_len = strlen(text),
                             .max_body = DEFAULT_JSON_CAP};
    apply_opts(&r, o);
    struct http_response resp;
    enum comfy_rc rc = perform(what, &r, &resp, err, errlen);
    free(text);
    if (rc == COMFY_OK && out != NULL && (*out = parse_body(what, &resp, err, errlen)) == NULL)
        rc = COMFY_GARBAGE;
    http_response_free(&resp);
    return rc;
}

/* ---- reads ----------------------------------------------------------------- */

enum comfy_rc comfy_get_json(const char *base_url, const char *path, size_t max_body,
                             const struct comfy_opts *o, cJSON **out, char *err,
                             size_t errlen)
{
    char url[URL_MAX], what[128];
    *out = NULL;
    if (!make_url(url, base_url, path, err, errlen))
        return COMFY_LOCAL;
    snprintf(what, sizeof what, "GET %s", path);
    struct http_request r = {.method = "GET", .url = url,
                             .max_body = max_body ? max_body : DEFAULT_JSON_CAP};
    apply_opts(&r, o);
    struct http_response resp;
    enum comfy_rc rc = perform(what, &r, &resp, err, errlen);
    if (rc == COMFY_OK && (*out = parse_body(what, &resp, err, errlen)) == NULL)
        rc = COMFY_GARBAGE;
    http_response_free(&resp);
    return rc;
}

enum comfy_rc comfy_get_history(const char *base_url, const char *prompt_id,
                                const struct comfy_opts *o, cJSON **entry, char *err,
                                size_t errlen)
{
    char path[256];
    cJSON *all = NULL;
    *entry = NULL;
    char *id = http_client_escape(prompt_id);
    if (id == NULL) {
        snprintf(err, errlen, "out of memory");
        return COMFY_LOCAL;
    }
    snprintf(path, sizeof path, "/history/%s", id);
    free(id);
    enum comfy_rc rc = comfy_get_json(base_url, path, HISTORY_CAP, o, &all, err, errlen);
    if (rc != COMFY_OK)
        return rc;
    if (!cJSON_IsObject(all)) {
        snprintf(err, errlen, "GET /history: the answer is not an object");
        cJSON_Delete(all);
        return COMFY_GARBAGE;
    }
    cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(all, prompt_id);
    cJSON_Delete(all);
    if (e != NULL && !cJSON_IsObject(e)) {
        snprintf(err, errlen, "GET /history: the entry of %s is not an object", prompt_id);
        cJSON_Delete(e);
        return COMFY_GARBAGE;
    }
    *entry = e;
    return COMFY_OK;
}

/* Whether queue list (queue_running or queue_pending: [[number, id, ...]])
 * holds id; -1 when it is not that shape. */
static int queue_has(const cJSON *list, const char *id)
{
    if (!cJSON_IsArray(list))
        return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        const cJSON *pid = cJSON_GetArrayItem(item, 1);
        if (!cJSON_IsArray(item) || !cJSON_IsString(pid))
            return -1;
        if (strcmp(pid->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

enum comfy_rc comfy_queue_find(const char *base_url, const char *prompt_id,
                               const struct comfy_opts *o, bool *running, bool *pending,
                               char *err, size_t errlen)
{
    cJSON *q = NULL;
    *running = *pending = false;
    enum comfy_rc rc = comfy_get_json(base_url, "/queue", HISTORY_CAP, o, &q, err, errlen);
    if (rc != COMFY_OK)
        return rc;
    int r = queue_has(cJSON_GetObjectItemCaseSensitive(q, "queue_running"), prompt_id);
    int p = queue_has(cJSON_GetObjectItemCaseSensitive(q, "queue_pending"), prompt_id);
    cJSON_Delete(q);
    if (r < 0 || p < 0) {
        snprintf(err, errlen, "GET /queue: the answer lacks queue_running / queue_pending");
        return COMFY_GARBAGE;
    }
    *running = r == 1;
    *pending = p == 1;
    return COMFY_OK;
}

/* ---- POST /prompt ---------------------------------------------------------- */

/* The reason of a 400 from POST /prompt into err: the first node error
 * ("node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: ..."),
 * else error.message (+ details).  *node_errors: the reply's non-empty
 * node_errors object, detached (caller deletes), or NULL. */
static void prompt_rejection(cJSON *reply, cJSON **node_errors, char *err, size_t errlen)
{
    char text[1024];
    cJSON *ne = cJSON_GetObjectItemCaseSensitive(reply, "node_errors");
    const cJSON *first = cJSON_IsObject(ne) ? ne->child : NULL;
    if (first != NULL) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(first, "class_type");
        const cJSON *e0 = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(first, "errors"), 0);
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "message"));
        const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "details"));
        int more = cJSON_GetArraySize(ne) - 1;
        snprintf(text, sizeof text, "node %s (%s): %s%s%s%s", first->string,
                 cJSON_IsString(cls) ? cls->valuestring : "?", msg ? msg : "invalid",
                 det && *det ? ": " : "", det ? det : "",
                 more > 0 ? " (and more nodes)" : "");
        *node_errors = cJSON_DetachItemViaPointer(reply, ne);
    } else {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
        const char *msg = cJSON_IsString(e) ? e->valuestring
                          : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "details"));
        snprintf(text, sizeof text, "%s%s%s", msg ? msg : "the prompt was refused",
                 det && *det ? ": " : "", det ? det : "");
    }
    bb_one_line(err, errlen, text, strlen(text));
}

/* The body {prompt, client_id, prompt_id} as text (caller frees), numbers
 * printed exactly (a 2^53-1 seed must not become 9.00719925474099e+15). */
static char *prompt_body(const cJSON *graph, const char *client_id, const char *prompt_id)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *g = cJSON_Duplicate(graph, true);
    char *text = NULL;
    if (b == NULL || g == NULL || !cJSON_AddItemToObject(b, "prompt", g)) {
        cJSON_Delete(g);
        goto out;
    }
    if (cJSON_AddStringToObject(b, "client_id", client_id) == NULL ||
        cJSON_AddStringToObject(b, "prompt_id", prompt_id) == NULL || !params_exact_numbers(g))
        goto out;
    text = cJSON_PrintUnformatted(b);
out:
    cJSON_Delete(b);
    return text;
}

enum comfy_rc comfy_post_prompt(const char *base_url, const cJSON *graph, const char *client_id,
                                const char *prompt_id, const struct comfy_opts *o,
                                int64_t *number, cJSON **node_errors, char *err, size_t errlen)
{
    char url[URL_MAX];
    if (node_errors)
        *node_errors = NULL;
    if (!make_url(url, base_url, "/prompt", err, errlen))
        return COMFY_LOCAL;
    char *text = prompt_body(graph, client_id, prompt_id);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return COMFY_LOCAL;
    }
    struct http_request r = {.method = "POST", .url = url, .headers = JSON_HEADERS,
                             .body = text, .body_len = strlen(text),
                             .max_body = ERROR_BODY_CAP};
    apply_opts(&r, o);
    struct http_response resp;
    enum comfy_rc rc = perform("POST /prompt", &r, &resp, err, errlen);
    free(text);
    cJSON *reply = NULL;
    if (rc == COMFY_REJECTED && resp.status == 400 &&
        (reply = cJSON_ParseWithLength(resp.body, resp.body_len)) != NULL) {
        cJSON *ne = NULL;
        prompt_rejection(reply, &ne, err, errlen);
        if (node_errors)
            *node_errors = ne;
        else
            cJSON_Delete(ne);
    } else if (rc == COMFY_OK) {
        reply = parse_body("POST /prompt", &resp, err, errlen);
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(reply, "prompt_id");
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(reply, "number");
        if (!cJSON_IsString(pid)) {
            if (reply != NULL)
                snprintf(err, errlen, "POST /prompt: the answer has no prompt_id");
            rc = COMFY_GARBAGE;
        } else if (strcmp(pid->valuestring, prompt_id) != 0) {
            /* a ComfyUI too old to take our prompt_id queued it under its
             * own: take it back off the queue, it cannot be followed */
            char why[256];
            enum comfy_rc drc = comfy_queue_delete(base_url, pid->valuestring, o, why,
                                                   sizeof why);
            snprintf(err, errlen, "POST /prompt: the server ran our prompt under its own id "
                     "%.40s (a ComfyUI without prompt_id support, before 2025?)%s",
                     pid->valuestring, drc == COMFY_OK ? "" : "; removing it failed");
            rc = COMFY_GARBAGE;
        } else if (number != NULL) {
            *number = cJSON_IsNumber(num) ? (int64_t)num->valuedouble : -1;
        }
    }
    cJSON_Delete(reply);
    http_response_free(&resp);
    return rc;
}

/* ---- queue control --------------------------------------------------------- */

enum comfy_rc comfy_interrupt(const char *base_url, const char *prompt_id,
                              const struct comfy_opts *o, char *err, size_t errlen)
{
    cJSON *b = cJSON_CreateObject();
    if (b == NULL || (prompt_id && !cJSON_AddStringToObject(b, "prompt_id", prompt_id))) {
        cJSON_Delete(b);
        snprintf(err, errlen, "out of memory");
        return COMFY_LOCAL;
    }
    enum comfy_rc rc = post_json(base_url, "/interrupt", b, o, NULL, err, errlen);
    cJSON_Delete(b);
    return rc;
}

enum comfy_rc comfy_queue_delete(const char *base_url, const char *prompt_id,
                                 const struct comfy_opts *o, char *err, size_t errlen)
{
    cJSON *b = cJSON_CreateObject(), *list = b ? cJSON_AddArrayToObject(b, "delete") : NULL;
    cJSON *id = cJSON_CreateString(prompt_id);
    if (list == NULL || id == NULL || !cJSON_AddItemToArray(list, id)) {
        cJSON_Delete(id);
        cJSON_Delete(b);
        snprintf(err, errlen, "out of memory");
        return COMFY_LOCAL;
    }
    enum comfy_rc rc = post_json(base_url, "/queue", b, o, NULL, err, errlen);
    cJSON_Delete(b);
    return rc;
}

/* ---- files ----------------------------------------------------------------- */

enum comfy_rc comfy_stop_prompt(const char *base_url, const char *prompt_id,
                                const struct comfy_opts *o, const char **how, char *err,
                                size_t errlen)
{
    bool running = false, pending = false;
    const char *done = NULL;
    enum comfy_rc rc = comfy_queue_find(base_url, prompt_id, o, &running, &pending, err,
                                        errlen);
    if (rc == COMFY_OK && running) {
        rc = comfy_interrupt(base_url, prompt_id, o, err, errlen);
        done = "interrupted";
    } else if (rc == COMFY_OK && pending) {
        rc = comfy_queue_delete(base_url, prompt_id, o, err, errlen);
        done = "deleted from the queue";
    }
    if (how)
        *how = rc == COMFY_OK ? done : NULL;
    return rc;
}

enum comfy_rc comfy_upload(const char *base_url, const char *path, const char *name,
                           const struct comfy_opts *o, char *got, size_t gotlen, char *err,
                           size_t errlen)
{
    char url[URL_MAX];
    if (gotlen)
        got[0] = '\0';
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return COMFY_LOCAL;
    }
    if (!make_url(url, base_url, "/upload/image", err, errlen))
        return COMFY_LOCAL;
    const struct http_form_part parts[] = {
        {.name = "image", .file_path = path, .file_name = name},
        {.name = "type", .value = "input"},
        {.name = "overwrite", .value = "false"},
    };
    struct http_request r = {.method = "POST", .url = url, .form = parts,
                             .nform = sizeof parts / sizeof parts[0],
                             .max_body = ERROR_BODY_CAP};
    apply_opts(&r, o);
    r.timeout_ms = 0;                   /* a large file may take long ... */
    r.idle_timeout_sec = VIEW_IDLE_SEC; /* ... as long as bytes flow */
    struct http_response resp;
    enum comfy_rc rc = perform("POST /upload/image", &r, &resp, err, errlen);
    if (rc == COMFY_OK) {
        cJSON *j = parse_body("POST /upload/image", &resp, err, errlen);
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
        const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "subfolder"));
        int w = -1;
        if (n != NULL && *n != '\0')
            w = sub && *sub ? snprintf(got, gotlen, "%s/%s", sub, n)
                            : snprintf(got, gotlen, "%s", n);
        if (j != NULL && (w < 0 || (size_t)w >= gotlen)) {
            snprintf(err, errlen, n && *n ? "POST /upload/image: the stored name is too long"
                                          : "POST /upload/image: the answer has no name");
        }
        if (w < 0 || (size_t)w >= gotlen) {
            rc = COMFY_GARBAGE;
            if (gotlen)
                got[0] = '\0';
        }
        cJSON_Delete(j);
    }
    http_response_free(&resp);
    return rc;
}

/* The state of one /view download into a file. */
struct sink {
    int fd;
    int64_t written, max;
    bool over;          /* went over max */
    int write_errno;    /* a write failed */
};

static int sink_chunk(void *user, const char *data, size_t len)
{
    struct sink *s = user;
    if (s->max > 0 && s->written + (int64_t)len > s->max) {
        s->over = true;
        return 1;
    }
    if (bb_write_all(s->fd, data, len) != 0) {
        s->write_errno = errno ? errno : EIO;
        return 1;
    }
    s->written += (int64_t)len;
    return 0;
}

/* Removes path if it exists; a failure is logged (nothing else to do). */
static void remove_file(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        bb_warn("comfyui: cannot remove a download", "path", path, "error", strerror(errno));
}

/* The query "?filename=..&subfolder=..&type=.." of /view (caller frees). */
static char *view_query(const char *filename, const char *subfolder, const char *type)
{
    const char *keys[3] = {"filename", "subfolder", "type"};
    const char *vals[3] = {filename, subfolder ? subfolder : "", type ? type : "output"};
    buf b;
    buf_init(&b, URL_MAX);
    for (int k = 0; k < 3; k++) {
        char *e = http_client_escape(vals[k]);
        int rc = e ? buf_printf(&b, "%s%s=%s", k ? "&" : "/view?", keys[k], e) : -1;
        free(e);
        if (rc != 0) {
            buf_free(&b);
            return NULL;
        }
    }
    return buf_take(&b);
}

enum comfy_rc comfy_view_to_file(const char *base_url, const char *filename,
                                 const char *subfolder, const char *type, const char *dest,
                                 int64_t max_bytes, const struct comfy_opts *o, int64_t *size,
                                 char *err, size_t errlen)
{
    char url[URL_MAX], tmp[URL_MAX];
    *size = 0;
    char *q = view_query(filename, subfolder, type);
    if (q == NULL || !make_url(url, base_url, q, err, errlen)) {
        if (q == NULL)
            snprintf(err, errlen, "GET /view: the file name is too long");
        free(q);
        return COMFY_LOCAL;
    }
    free(q);
    int n = snprintf(tmp, sizeof tmp, "%s.partXXXXXX", dest);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, errlen, "the path %s is too long", dest);
        return COMFY_LOCAL;
    }
    struct sink s = {.fd = mkstemp(tmp), .max = max_bytes};
    if (s.fd < 0 || fchmod(s.fd, 0644) != 0) {
        snprintf(err, errlen, "cannot create a file next to %s: %s", dest, strerror(errno));
        if (s.fd >= 0) {
            close(s.fd);
            remove_file(tmp);
        }
        return COMFY_LOCAL;
    }
    struct http_request r = {.method = "GET", .url = url, .on_chunk = sink_chunk, .user = &s,
                             .max_body = ERROR_BODY_CAP};
    apply_opts(&r, o);
    r.timeout_ms = (o && o->timeout_ms > 0) ? o->timeout_ms : 0;
    r.idle_timeout_sec = VIEW_IDLE_SEC;
    struct http_response resp;
    enum comfy_rc rc = perform("GET /view", &r, &resp, err, errlen);
    http_response_free(&resp);
    if (s.over) {
        snprintf(err, errlen, "GET /view: %s is larger than %lld bytes", filename,
                 (long long)max_bytes);
        rc = COMFY_TOO_LARGE;
    } else if (s.write_errno != 0) {
        snprintf(err, errlen, "writing %s: %s", dest, strerror(s.write_errno));
        rc = COMFY_LOCAL;
    }
    if (close(s.fd) != 0 && rc == COMFY_OK) {
        snprintf(err, errlen, "writing %s: %s", dest, strerror(errno));
        rc = COMFY_LOCAL;
    }
    if (rc == COMFY_OK && rename(tmp, dest) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", dest, strerror(errno));
        rc = COMFY_LOCAL;
    }
    if (rc != COMFY_OK) {
        /* nothing half-written stays, and no stale dest from before */
        remove_file(tmp);
        remove_file(dest);
        return rc;
    }
    *size = s.written;
    return COMFY_OK;
}

/* ---- ids ------------------------------------------------------------------- */

void comfy_new_uuid(char out[37])
{
    unsigned char b[16];
    static const char hex[] = "0123456789abcdef";
    int init = sodium_init();   /* 0 or 1 (already done); main checked it */
    BB_ASSERT(init >= 0);
    (void)init;
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

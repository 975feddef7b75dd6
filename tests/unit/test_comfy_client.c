/* test_comfy_client.c — unit tests for the ComfyUI HTTP client
 * (src/infra/comfyui/client.c; docs/comfyui.md, "How batchbox talks to
 * ComfyUI") against a small ComfyUI stand-in served by civetweb in the
 * test process: POST /prompt (accepted, node_errors, garbage, an old
 * server ignoring our prompt_id), /history, /queue, interrupt and delete,
 * the multipart upload, /view streamed into a file with its cap, and the
 * classification of refused connections, timeouts, 5xx and cancels. */
#define UNIT_MAIN
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cJSON.h"
#include "civetweb.h"
#include "infra/comfyui/client.h"

static char err[1024];
static char base[64];
static struct mg_context *ctx;

/* The last request body the stand-in received (its handler threads write,
 * the test reads after the call returned). */
static char last_body[65536];
static char last_type[256];
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;

static void reply(struct mg_connection *c, int status, const char *type, const char *body,
                  size_t len)
{
    mg_printf(c, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n", status, type, len);
    if (len > 0)
        mg_write(c, body, len);
}

static void reply_json(struct mg_connection *c, int status, const char *body)
{
    reply(c, status, "application/json", body, strlen(body));
}

static void read_body(struct mg_connection *c)
{
    char tmp[65536];
    size_t len = 0;
    int n;
    while (len + 1 < sizeof tmp && (n = mg_read(c, tmp + len, sizeof tmp - 1 - len)) > 0)
        len += (size_t)n;
    tmp[len] = '\0';
    const char *ct = mg_get_header(c, "Content-Type");
    pthread_mutex_lock(&last_mu);
    memcpy(last_body, tmp, len + 1);
    snprintf(last_type, sizeof last_type, "%s", ct ? ct : "");
    pthread_mutex_unlock(&last_mu);
}

/* Copies of last_body / last_type taken under the lock, for the test
 * thread (the handler thread wrote them). */
static char body_copy[sizeof last_body], type_copy[sizeof last_type];
static const char *body_now(void)
{
    pthread_mutex_lock(&last_mu);
    memcpy(body_copy, last_body, sizeof body_copy);
    pthread_mutex_unlock(&last_mu);
    return body_copy;
}
static const char *type_now(void)
{
    pthread_mutex_lock(&last_mu);
    memcpy(type_copy, last_type, sizeof type_copy);
    pthread_mutex_unlock(&last_mu);
    return type_copy;
}

static int on_prompt(struct mg_connection *c, void *ud)
{
    (void)ud;
    char mine[sizeof last_body];
    read_body(c);
    pthread_mutex_lock(&last_mu);
    memcpy(mine, last_body, sizeof mine);
    pthread_mutex_unlock(&last_mu);
    const char *body = mine;
    cJSON *b = cJSON_Parse(body);
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(b, "prompt_id"));
    char out[1024];
    if (strstr(body, "bad_ckpt")) {
        reply_json(c, 400,
                   "{\"error\": {\"type\": \"prompt_outputs_failed_validation\","
                   " \"message\": \"Prompt outputs failed validation\", \"details\": \"\","
                   " \"extra_info\": {}}, \"node_errors\": {\"4\": {\"errors\": [{\"type\":"
                   " \"value_not_in_list\", \"message\": \"Value not in list\", \"details\":"
                   " \"ckpt_name: 'bad_ckpt' not in ['a.safetensors']\", \"extra_info\": {}}],"
                   " \"dependent_outputs\": [\"9\"], \"class_type\": \"CheckpointLoaderSimple\"}}}");
    } else if (strstr(body, "no_outputs")) {
        reply_json(c, 400, "{\"error\": {\"type\": \"prompt_no_outputs\", \"message\":"
                           " \"Prompt has no outputs\", \"details\": \"\", \"extra_info\": {}},"
                           " \"node_errors\": []}");
    } else if (strstr(body, "garbage")) {
        reply(c, 200, "text/html", "<html>oops</html>", 17);
    } else if (strstr(body, "old_server")) {
        reply_json(c, 200, "{\"prompt_id\": \"their-own-id\", \"number\": 1,"
                           " \"node_errors\": {}}");
    } else if (strstr(body, "crash")) {
        reply(c, 500, "text/plain", "Internal Server Error", 21);
    } else {
        snprintf(out, sizeof out, "{\"prompt_id\": \"%s\", \"number\": 7, \"node_errors\": {}}",
                 pid ? pid : "");
        reply_json(c, 200, out);
    }
    cJSON_Delete(b);
    return 1;
}

static int on_history(struct mg_connection *c, void *ud)
{
    (void)ud;
    const char *uri = mg_get_request_info(c)->local_uri;
    if (strcmp(uri, "/history/p1") == 0)
        reply_json(c, 200, "{\"p1\": {\"prompt\": [], \"outputs\": {\"9\": {\"images\":"
                           " [{\"filename\": \"a.png\", \"subfolder\": \"\", \"type\":"
                           " \"output\"}]}}, \"status\": {\"status_str\": \"success\","
                           " \"completed\": true, \"messages\": []}}}");
    else if (strcmp(uri, "/history/bad") == 0)
        reply_json(c, 200, "[1]");
    else
        reply_json(c, 200, "{}");
    return 1;
}

static int on_queue(struct mg_connection *c, void *ud)
{
    (void)ud;
    if (strcmp(mg_get_request_info(c)->request_method, "POST") == 0) {
        read_body(c);
        reply_json(c, 200, "{}");
        return 1;
    }
    reply_json(c, 200, "{\"queue_running\": [[3, \"run1\", {}, {}, []]],"
                       " \"queue_pending\": [[4, \"pend1\", {}, {}, []],"
                       " [5, \"pend2\", {}, {}, []]]}");
    return 1;
}

static int on_interrupt(struct mg_connection *c, void *ud)
{
    (void)ud;
    read_body(c);
    reply(c, 200, "text/plain", "", 0);
    return 1;
}

static int on_upload(struct mg_connection *c, void *ud)
{
    (void)ud;
    read_body(c);
    reply_json(c, 200, "{\"name\": \"cat (1).png\", \"subfolder\": \"batchbox\","
                       " \"type\": \"input\"}");
    return 1;
}

/* /view?filename=sizeN sends N bytes in 64 KiB writes; other names 404. */
static int on_view(struct mg_connection *c, void *ud)
{
    (void)ud;
    char name[64];
    const char *q = mg_get_request_info(c)->query_string;
    if (q == NULL || mg_get_var(q, strlen(q), "filename", name, sizeof name) <= 0 ||
        strncmp(name, "size", 4) != 0) {
        reply_json(c, 404, "{\"error\": \"not found\"}");
        return 1;
    }
    long n = strtol(name + 4, NULL, 10);
    mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %ld\r\n"
                 "Connection: close\r\n\r\n", n);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    while (n > 0) {
        long k = n < (long)sizeof chunk ? n : (long)sizeof chunk;
        if (mg_write(c, chunk, (size_t)k) <= 0)
            break;
        n -= k;
    }
    return 1;
}

/* Answers after 1.5 s. */
static int on_slow(struct mg_connection *c, void *ud)
{
    (void)ud;
    struct timespec ts = {1, 500000000L};
    nanosleep(&ts, NULL);
    reply_json(c, 200, "{}");
    return 1;
}

static int on_stats(struct mg_connection *c, void *ud)
{
    (void)ud;
    reply_json(c, 200, "{\"system\": {\"comfyui_version\": \"0.3.40\"}, \"devices\": []}");
    return 1;
}

static int on_broken(struct mg_connection *c, void *ud)
{
    (void)ud;
    reply(c, 502, "text/plain", "Bad Gateway", 11);
    return 1;
}

/* Starts the stand-in (ctx; the caller stops it with mg_stop) and sets
 * base to its URL; false when it could not start. */
static bool start_server(void)
{
    const char *opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "4", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    ctx = mg_start(&cb, NULL, opts);
    if (ctx == NULL)
        return false;
    mg_set_request_handler(ctx, "/prompt$", on_prompt, NULL);
    mg_set_request_handler(ctx, "/history", on_history, NULL);
    mg_set_request_handler(ctx, "/queue$", on_queue, NULL);
    mg_set_request_handler(ctx, "/interrupt$", on_interrupt, NULL);
    mg_set_request_handler(ctx, "/upload/image$", on_upload, NULL);
    mg_set_request_handler(ctx, "/view$", on_view, NULL);
    mg_set_request_handler(ctx, "/slow$", on_slow, NULL);
    mg_set_request_handler(ctx, "/system_stats$", on_stats, NULL);
    mg_set_request_handler(ctx, "/broken$", on_broken, NULL);
    struct mg_server_port ports[1];
    if (mg_get_server_ports(ctx, 1, ports) != 1)
        return false;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ports[0].port);
    return true;
}

/* A graph with one node whose input text is `text`. */
static cJSON *graph_with(const char *text)
{
    cJSON *g = cJSON_CreateObject(), *n = cJSON_AddObjectToObject(g, "4");
    cJSON_AddStringToObject(n, "class_type", "CheckpointLoaderSimple");
    cJSON *in = cJSON_AddObjectToObject(n, "inputs");
    cJSON_AddStringToObject(in, "ckpt_name", text);
    cJSON_AddNumberToObject(in, "seed", 9007199254740991.0);
    return g;
}

/* Posts graph_with(text) as prompt pid of client to the stand-in; number
 * and ne as comfy_post_prompt's (*ne: caller deletes). */
static enum comfy_rc post_graph(const char *text, const char *client, const char *pid,
                                int64_t *number, cJSON **ne)
{
    cJSON *g = graph_with(text);
    enum comfy_rc rc = comfy_post_prompt(base, g, client, pid, NULL, number, ne, err, sizeof err);
    cJSON_Delete(g);
    return rc;
}

/* path = $TMPDIR/name (or /tmp/name). */
static void tmp_path(char *path, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/%s", tmp ? tmp : "/tmp", name);
}

TEST(post_prompt_accepted_with_exact_numbers)
{
    CHECK(start_server());
    int64_t number = 0;
    cJSON *ne = NULL;
    CHECK_EQ_INT(post_graph("a.safetensors", "client-1", "pid-1", &number, &ne), COMFY_OK);
    CHECK(number == 7);
    CHECK(ne == NULL);
    CHECK(strstr(body_now(), "\"seed\":9007199254740991") != NULL);
    CHECK(strstr(body_now(), "\"client_id\":\"client-1\"") != NULL);
    CHECK(strstr(body_now(), "\"prompt_id\":\"pid-1\"") != NULL);
    CHECK(strstr(type_now(), "application/json") != NULL);
    mg_stop(ctx);
}

TEST(post_prompt_node_errors_rejected)
{
    CHECK(start_server());
    cJSON *ne = NULL;
    CHECK_EQ_INT(post_graph("bad_ckpt", "c", "pid-2", NULL, &ne), COMFY_REJECTED);
    CHECK(strstr(err, "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: "
                      "'bad_ckpt' not in") != NULL);
    CHECK(ne != NULL && cJSON_GetObjectItem(ne, "4") != NULL);
    cJSON_Delete(ne);
    CHECK_EQ_INT(post_graph("no_outputs", "c", "pid-3", NULL, &ne), COMFY_REJECTED);
    CHECK(ne == NULL);
    CHECK_STR_EQ(err, "Prompt has no outputs");
    mg_stop(ctx);
}

TEST(post_prompt_garbage_500_and_old_server)
{
    CHECK(start_server());
    CHECK_EQ_INT(post_graph("garbage", "c", "p", NULL, NULL), COMFY_GARBAGE);
    CHECK(strstr(err, "not JSON") != NULL);
    CHECK_EQ_INT(post_graph("crash", "c", "p", NULL, NULL), COMFY_DOWN);
    CHECK(strstr(err, "HTTP 500") != NULL);
    CHECK_EQ_INT(post_graph("old_server", "c", "p", NULL, NULL), COMFY_GARBAGE);
    CHECK(strstr(err, "their-own-id") != NULL);
    /* and it took the stray prompt back off the queue */
    CHECK(strstr(body_now(), "{\"delete\":[\"their-own-id\"]}") != NULL);
    mg_stop(ctx);
}

TEST(history_entry_or_null)
{
    CHECK(start_server());
    cJSON *e = NULL;
    CHECK_EQ_INT(comfy_get_history(base, "p1", NULL, &e, err, sizeof err), COMFY_OK);
    CHECK(e != NULL && cJSON_GetObjectItem(e, "outputs") != NULL);
    cJSON_Delete(e);
    CHECK_EQ_INT(comfy_get_history(base, "unknown", NULL, &e, err, sizeof err), COMFY_OK);
    CHECK(e == NULL);
    CHECK_EQ_INT(comfy_get_history(base, "bad", NULL, &e, err, sizeof err), COMFY_GARBAGE);
    CHECK(e == NULL);
    mg_stop(ctx);
}

TEST(queue_find_interrupt_delete)
{
    CHECK(start_server());
    bool running = false, pending = false;
    CHECK_EQ_INT(comfy_queue_find(base, "run1", NULL, &running, &pending, err, sizeof err),
                 COMFY_OK);
    CHECK(running && !pending);
    CHECK_EQ_INT(comfy_queue_find(base, "pend2", NULL, &running, &pending, err, sizeof err),
                 COMFY_OK);
    CHECK(!running && pending);
    CHECK_EQ_INT(comfy_queue_find(base, "gone", NULL, &running, &pending, err, sizeof err),
                 COMFY_OK);
    CHECK(!running && !pending);
    CHECK_EQ_INT(comfy_interrupt(base, "run1", NULL, err, sizeof err), COMFY_OK);
    CHECK_STR_EQ(body_now(), "{\"prompt_id\":\"run1\"}");
    CHECK_EQ_INT(comfy_interrupt(base, NULL, NULL, err, sizeof err), COMFY_OK);
    CHECK_STR_EQ(body_now(), "{}");
    CHECK_EQ_INT(comfy_queue_delete(base, "pend1", NULL, err, sizeof err), COMFY_OK);
    CHECK_STR_EQ(body_now(), "{\"delete\":[\"pend1\"]}");
    mg_stop(ctx);
}

TEST(get_json_classifies)
{
    CHECK(start_server());
    cJSON *j = NULL;
    CHECK_EQ_INT(comfy_get_json(base, "/system_stats", 0, NULL, &j, err, sizeof err), COMFY_OK);
    CHECK(cJSON_GetObjectItem(j, "system") != NULL);
    cJSON_Delete(j);
    CHECK_EQ_INT(comfy_get_json(base, "/system_stats", 10, NULL, &j, err, sizeof err),
                 COMFY_TOO_LARGE);
    CHECK_EQ_INT(comfy_get_json(base, "/broken", 0, NULL, &j, err, sizeof err), COMFY_DOWN);
    CHECK(strstr(err, "HTTP 502") != NULL);
    CHECK_EQ_INT(comfy_get_json(base, "/nothing-here", 0, NULL, &j, err, sizeof err),
                 COMFY_REJECTED);
    struct comfy_opts quick = {.timeout_ms = 300};
    CHECK_EQ_INT(comfy_get_json(base, "/slow", 0, &quick, &j, err, sizeof err), COMFY_DOWN);
    CHECK(j == NULL);
    atomic_bool cancel = true;
    struct comfy_opts canceled = {.cancel = &cancel};
    CHECK_EQ_INT(comfy_get_json(base, "/slow", 0, &canceled, &j, err, sizeof err),
                 COMFY_CANCELED);
    mg_stop(ctx);
}

TEST(refused_connection_is_down)
{
    CHECK(start_server());
    char dead[64];
    snprintf(dead, sizeof dead, "%s", base);
    mg_stop(ctx);      /* nothing listens on the port now */
    cJSON *j = NULL;
    CHECK_EQ_INT(comfy_get_json(dead, "/system_stats", 0, NULL, &j, err, sizeof err),
                 COMFY_DOWN);
    /* the path stays, the address does not (it is for admins only) */
    CHECK(strstr(err, "GET /system_stats") != NULL);
    CHECK(strstr(err, "127.0.0.1") == NULL);
}

TEST(upload_is_multipart_and_returns_stored_name)
{
    CHECK(start_server());
    char path[256], got[256];
    tmp_path(path, sizeof path, "in.png");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("PNGDATA-0123", f);
    fclose(f);
    CHECK_EQ_INT(comfy_upload(base, path, "cat.png", NULL, got, sizeof got, err, sizeof err),
                 COMFY_OK);
    CHECK_STR_EQ(got, "batchbox/cat (1).png");
    CHECK(strstr(type_now(), "multipart/form-data; boundary=") != NULL);
    CHECK(strstr(body_now(), "name=\"image\"; filename=\"cat.png\"") != NULL);
    CHECK(strstr(body_now(), "PNGDATA-0123") != NULL);
    CHECK(strstr(body_now(), "name=\"type\"\r\n\r\ninput") != NULL);
    CHECK(strstr(body_now(), "name=\"overwrite\"\r\n\r\nfalse") != NULL);
    CHECK_EQ_INT(comfy_upload(base, "/nonexistent/x.png", "x.png", NULL, got, sizeof got, err,
                              sizeof err),
                 COMFY_LOCAL);
    unlink(path);
    mg_stop(ctx);
}

TEST(view_streams_into_file_under_cap)
{
    CHECK(start_server());
    char dest[256];
    tmp_path(dest, sizeof dest, "out.png");
    int64_t size = -1;
    CHECK_EQ_INT(comfy_view_to_file(base, "size300000", "", "output", dest, 1000000, NULL,
                                    &size, err, sizeof err),
                 COMFY_OK);
    CHECK(size == 300000);
    struct stat st;
    CHECK(stat(dest, &st) == 0 && st.st_size == 300000);
    CHECK_EQ_INT(st.st_mode & 0777, 0644);
    unlink(dest);
    mg_stop(ctx);
}

TEST(view_over_cap_stops_and_removes_file)
{
    CHECK(start_server());
    char dest[256];
    tmp_path(dest, sizeof dest, "big.png");
    FILE *f = fopen(dest, "w");     /* a stale file from before goes too */
    CHECK(f != NULL);
    fclose(f);
    int64_t size = -1;
    CHECK_EQ_INT(comfy_view_to_file(base, "size5000000", "", "output", dest, 100000, NULL,
                                    &size, err, sizeof err),
                 COMFY_TOO_LARGE);
    CHECK(size == 0);
    CHECK(strstr(err, "larger than 100000 bytes") != NULL);
    struct stat st;
    CHECK(stat(dest, &st) != 0);
    /* no partial file next to it either */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s.part* >/dev/null 2>&1", dest);
    CHECK(system(cmd) != 0);
    /* a missing output is refused, and leaves nothing */
    CHECK_EQ_INT(comfy_view_to_file(base, "missing.png", "sub", "output", dest, 0, NULL, &size,
                                    err, sizeof err),
                 COMFY_REJECTED);
    CHECK(stat(dest, &st) != 0);
    mg_stop(ctx);
}

TEST(uuid_v4_shape)
{
    char a[37], b[37];
    comfy_new_uuid(a);
    comfy_new_uuid(b);
    CHECK(strlen(a) == 36);
    CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    CHECK(a[14] == '4');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK(strcmp(a, b) != 0);
    for (int i = 0; i < 36; i++)
        CHECK(strchr("0123456789abcdef-", a[i]) != NULL);
}

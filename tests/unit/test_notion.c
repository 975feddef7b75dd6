/* test_notion.c — unit tests for src/infra/net/notion.c against a fake
 * Notion API in this file (127.0.0.1, ephemeral port, scripted answers).
 * The fake checks every request's shape (method, path, Authorization,
 * Notion-Version, Content-Type, the JSON body's parent, properties and
 * children) and keeps the bodies for the tests to inspect.  Covered: the
 * documented page shape from a sample lesson, 429 + Retry-After, 500 then
 * 200, a dropped connection retried, 401/403/404/400 not retried with
 * their messages, >100 blocks as one POST plus ordered PATCH appends with
 * throttling, the 2000-character split on UTF-8 boundaries, the token
 * masked in messages and logs, cancel during a Retry-After wait, a
 * missing token, archiving after a failed append, the level property
 * variants.  Bounded: the slowest test waits one Retry-After second. */
#define UNIT_MAIN
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/lesson.h"
#include "infra/net/http_client.h"
#include "infra/net/notion.h"
#include "util/util.h"

#define TOKEN "secret_T0k3nF0rTests0123456789abcdef"
#define DBID "8e2c2b7a-4c1d-4f3e-9a55-0c6b1e2f3a4d"
#define PAGE_ID "59833787-2cf9-4fdf-8782-e53db20768a5"
#define PAGE_URL "https://www.notion.so/At-the-Coffee-Shop-598337872cf94fdf8782e53db20768a5"
#define PAGE_JSON "{\"object\":\"page\",\"id\":\"" PAGE_ID "\",\"url\":\"" PAGE_URL "\"}"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    return bb_mono_us() / 1000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Log lines collected from env->log. */
typedef struct logbuf {
    char text[16384];
    size_t len;
} logbuf;

static void collect_log(void *ud, const char *line)
{
    logbuf *l = ud;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof l->text - l->len)
        l->len += (size_t)n;
}

/* Sets *flag after ms milliseconds, recording when. */
typedef struct canceler {
    atomic_bool *flag;
    long ms;
    int64_t at_ms;
    pthread_t th;
} canceler;

static void *canceler_main(void *arg)
{
    canceler *c = arg;
    nap_ms(c->ms);
    c->at_ms = now_ms();
    atomic_store(c->flag, true);
    return NULL;
}

/* Parses a lesson from tests/unit/lessons/<name> or from src when name is
 * NULL.  Returns 0 or -1. */
static int load_lesson(const char *name, const char *src, struct lesson *l)
{
    char path[256];
    size_t len = 0;
    char *text = NULL;
    struct lesson_error e;
    if (name) {
        snprintf(path, sizeof path, "tests/unit/lessons/%s", name);
        text = bb_read_file(path, 1u << 20, &len);
        if (!text)
            return -1;
        src = text;
    } else {
        len = strlen(src);
    }
    int rc = lesson_parse(src, len, l, &e);
    if (rc != 0)
        fprintf(stderr, "lesson_parse: %s\n", e.message);
    free(text);
    return rc;
}

/* Length of s in UTF-16 units (what Notion counts). */
static size_t units16(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            n += (*p >= 0xF0) ? 2 : 1;
    }
    return n;
}

/* ---------------------------------------------------------------------
 * Fake Notion
 * ------------------------------------------------------------------- */

#define FAKE_MAX 16
#define FAKE_BODY_MAX (8u << 20)

typedef struct fake_resp {
    int status;
    const char *extra;     /* more header lines, each ending in \r\n */
    const char *body;      /* NULL: PAGE_JSON */
    bool drop;             /* read the request, close without answering */
    bool echo_auth;        /* 400 whose message repeats the Authorization value */
    bool hang;             /* read the request, then never answer */
} fake_resp;

typedef struct fake_req {
    char method[16];
    char path[256];
    char *body;            /* malloc'd, NUL-terminated */
    int64_t at_ms;
    int64_t vclock_us;     /* the virtual clock (fake.vclock_us) on arrival */
} fake_req;

typedef struct fake {
    int lfd, port;
    pthread_t th;
    atomic_bool stop;
    fake_resp script[FAKE_MAX];
    int nscript;
    atomic_int nreq;
    fake_req reqs[FAKE_MAX];
    char check_err[400];   /* first request-shape problem */
    /* A virtual clock for the client (vclock_env): it advances only when
     * the client sleeps, so a request's arrival time on it is its start
     * time after the throttle, free of scheduling noise. */
    atomic_llong vclock_us;
    atomic_int vsleeps;    /* sleeps the client made on it */
} fake;

static void fake_note(fake *f, const char *fmt, const char *a)
{
    if (!f->check_err[0])
        snprintf(f->check_err, sizeof f->check_err, fmt, a);
}

/* Case-insensitive header lookup in the request head; copies the value. */
static bool req_header(const char *head, const char *name, char *out,
                       size_t outlen)
{
    size_t nl = strlen(name);
    const char *end = strstr(head, "\r\n\r\n");
    for (const char *p = strstr(head, "\r\n"); p && p < end;
         p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, outlen, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

static const char *kTypes[] = {"paragraph", "heading_2", "heading_3",
                               "bulleted_list_item"};

/* Checks one rich text array (or title array): 1..100 text objects with
 * non-empty content of at most 2000 units.  Returns a problem or NULL. */
static const char *check_rich(const cJSON *rt)
{
    int n = cJSON_GetArraySize(rt);
    if (!cJSON_IsArray(rt) || n < 1 || n > 100)
        return "rich_text is not an array of 1..100 objects";
    const cJSON *o;
    cJSON_ArrayForEach(o, rt) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "content");
        if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "text") != 0)
            return "text object without type text";
        if (!cJSON_IsString(c) || !c->valuestring[0])
            return "text object without content";
        if (units16(c->valuestring) > 2000)
            return "text content over 2000 characters";
        if (!bb_utf8_valid(c->valuestring, strlen(c->valuestring)))
            return "text content is not valid UTF-8";
    }
    return NULL;
}

/* Checks a children array: 1..100 documented blocks.  Returns a problem
 * or NULL. */
static const char *check_children(const cJSON *ch)
{
    int n = cJSON_GetArraySize(ch);
    if (!cJSON_IsArray(ch) || n < 1 || n > 100)
        return "children is not an array of 1..100 blocks";
    const cJSON *b;
    cJSON_ArrayForEach(b, ch) {
        const cJSON *ob = cJSON_GetObjectItemCaseSensitive(b, "object");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(b, "type");
        if (!cJSON_IsString(ob) || strcmp(ob->valuestring, "block") != 0)
            return "block without object: block";
        if (!cJSON_IsString(ty))
            return "block without type";
        bool known = false;
        for (size_t i = 0; i < sizeof kTypes / sizeof kTypes[0]; i++)
            known |= strcmp(ty->valuestring, kTypes[i]) == 0;
        if (!known)
            return "block of an unexpected type";
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, ty->valuestring);
        const char *bad = check_rich(
            cJSON_GetObjectItemCaseSensitive(in, "rich_text"));
        if (bad)
            return bad;
    }
    return NULL;
}

static void fake_check(fake *f, const fake_req *r, const char *head)
{
    char v[600];
    if (!req_header(head, "Authorization", v, sizeof v) ||
        strcmp(v, "Bearer " TOKEN) != 0)
        fake_note(f, "bad or missing Authorization header%s", "");
    v[0] = '\0';
    if (!req_header(head, "Notion-Version", v, sizeof v) ||
        strcmp(v, "2022-06-28") != 0)
        fake_note(f, "bad Notion-Version: %s", v);
    v[0] = '\0';
    if (!req_header(head, "Content-Type", v, sizeof v) ||
        strcmp(v, "application/json") != 0)
        fake_note(f, "bad Content-Type: %s", v);

    cJSON *j = cJSON_Parse(r->body);
    const char *bad = NULL;
    if (!cJSON_IsObject(j)) {
        bad = "body is not a JSON object";
    } else if (strcmp(r->method, "POST") == 0 &&
               strcmp(r->path, "/v1/pages") == 0) {
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(j, "parent");
        const cJSON *db = cJSON_GetObjectItemCaseSensitive(par, "database_id");
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(props, "Name");
        if (!cJSON_IsString(db) || strcmp(db->valuestring, DBID) != 0)
            bad = "parent.database_id wrong";
        else if (!cJSON_IsObject(props))
            bad = "properties is not an object";
        else if ((bad = check_rich(
                      cJSON_GetObjectItemCaseSensitive(name, "title"))))
            ;
        else if (cJSON_GetObjectItemCaseSensitive(j, "children"))
            bad = check_children(
                cJSON_GetObjectItemCaseSensitive(j, "children"));
    } else if (strcmp(r->method, "PATCH") == 0 &&
               strcmp(r->path, "/v1/blocks/" PAGE_ID "/children") == 0) {
        bad = check_children(cJSON_GetObjectItemCaseSensitive(j, "children"));
        if (!bad && cJSON_GetArraySize(j) != 1)
            bad = "append body has more than children";
    } else if (strcmp(r->method, "PATCH") == 0 &&
               strcmp(r->path, "/v1/pages/" PAGE_ID) == 0) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "archived")))
            bad = "archive body without archived: true";
    } else {
        bad = "unexpected method or path";
    }
    if (bad)
        fake_note(f, "%s", bad);
    cJSON_Delete(j);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static const char *reason(int st)
{
    switch (st) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

/* Reads one request into a malloc'd buffer (*out, NUL-terminated);
 * returns the head length or 0 on failure. */
static size_t read_request(int cfd, char **out, size_t *total)
{
    size_t cap = 65536, len = 0;
    char *req = malloc(cap + 1), *end = NULL;
    *out = NULL;
    if (!req)
        return 0;
    while (!end) {
        if (len == cap) {
            free(req);
            return 0;
        }
        ssize_t r = recv(cfd, req + len, cap - len, 0);
        if (r <= 0) {
            free(req);
            return 0;
        }
        len += (size_t)r;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - req);
    char cl[32] = "0";
    (void)req_header(req, "Content-Length", cl, sizeof cl);
    size_t want = head + (size_t)atol(cl);
    if (want > FAKE_BODY_MAX) {
        free(req);
        return 0;
    }
    if (want > cap) {
        char *n = realloc(req, want + 1);
        if (!n) {
            free(req);
            return 0;
        }
        req = n;
        cap = want;
    }
    while (len < want) {
        ssize_t r = recv(cfd, req + len, want - len, 0);
        if (r <= 0) {
            free(req);
            return 0;
        }
        len += (size_t)r;
    }
    req[len] = '\0';
    *out = req;
    *total = len;
    return head;
}

static void fake_serve(fake *f, int cfd)
{
    struct timeval tv = {2, 0};
    (void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *req = NULL;
    size_t total = 0;
    size_t head = read_request(cfd, &req, &total);
    if (!head)
        return;
    int k = atomic_load(&f->nreq);
    if (k >= FAKE_MAX) {
        fake_note(f, "more requests than the fake keeps%s", "");
        free(req);
        return;
    }
    fake_req *r = &f->reqs[k];
    r->at_ms = now_ms();
    r->vclock_us = atomic_load(&f->vclock_us);
    if (sscanf(req, "%15s %255s", r->method, r->path) != 2)
        fake_note(f, "bad request line%s", "");
    r->body = strdup(req + head);
    if (r->body)
        fake_check(f, r, req);
    char auth[600] = "";
    (void)req_header(req, "Authorization", auth, sizeof auth);
    free(req);
    const fake_resp *s = &f->script[k < f->nscript ? k : f->nscript - 1];
    atomic_store(&f->nreq, k + 1);
    if (s->drop)
        return;
    if (s->hang) {
        while (!atomic_load(&f->stop))
            nap_ms(20);
        return;
    }
    char echo[800];
    const char *body = s->body ? s->body : PAGE_JSON;
    if (s->echo_auth) {
        snprintf(echo, sizeof echo,
                 "{\"object\":\"error\",\"status\":400,\"code\":"
                 "\"validation_error\",\"message\":\"bad header %s\"}", auth);
        body = echo;
    }
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     s->status, reason(s->status), strlen(body),
                     s->extra ? s->extra : "");
    send_all(cfd, hdr, (size_t)n);
    send_all(cfd, body, strlen(body));
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pf = {.fd = f->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int cfd = accept(f->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        fake_serve(f, cfd);
        close(cfd);
    }
    return NULL;
}

/* Starts a server on 127.0.0.1:<free port> answering script[0..n) in
 * order (the last entry repeats).  Returns NULL on failure. */
static fake *fake_start(const fake_resp *script, int n)
{
    fake *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    for (int i = 0; i < n && i < FAKE_MAX; i++)
        f->script[i] = script[i];
    f->nscript = n;
    atomic_init(&f->stop, false);
    atomic_init(&f->nreq, 0);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &al) != 0) {
        if (f->lfd >= 0)
            close(f->lfd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    if (pthread_create(&f->th, NULL, fake_main, f) != 0) {
        close(f->lfd);
        free(f);
        return NULL;
    }
    return f;
}

/* Stops the server thread; the recorded requests stay readable until
 * fake_free. */
static void fake_stop(fake *f)
{
    if (!f || atomic_load(&f->stop))
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static void fake_free(fake *f)
{
    if (!f)
        return;
    fake_stop(f);
    for (int i = 0; i < FAKE_MAX; i++)
        free(f->reqs[i].body);
    free(f);
}

/* An env pointing at the fake, with fast retries and no throttle. */
static struct notion_env fake_env(fake *f, char *url, size_t un)
{
    struct notion_env env;
    notion_env_defaults(&env);
    snprintf(url, un, "http://127.0.0.1:%d/", f->port);   /* trailing '/' */
    env.base_url = url;
    env.token = TOKEN;
    env.retry_delay_ms = 30;
    env.throttle_ms = 0;
    env.request_timeout_ms = 5000;
    return env;
}

static int64_t vclock_now_us(void *ud)
{
    fake *f = ud;
    return atomic_load(&f->vclock_us);
}

static bool vclock_sleep_ms(void *ud, long ms, atomic_bool *cancel)
{
    fake *f = ud;
    atomic_fetch_add(&f->vsleeps, 1);
    atomic_fetch_add(&f->vclock_us, (long long)ms * 1000);
    return !(cancel && atomic_load(cancel));
}

/* Points env at f's virtual clock (starting at 1 s; 0 means "no previous
 * request" to the throttle).  vc must outlive the publish. */
static void vclock_env(fake *f, struct notion_env *env,
                       struct notion_clock *vc)
{
    atomic_store(&f->vclock_us, 1000000);
    vc->now_us = vclock_now_us;
    vc->sleep_ms = vclock_sleep_ms;
    vc->ud = f;
    env->clock = vc;
}

/* The children of recorded request k (parsed; caller deletes). */
static cJSON *req_json(fake *f, int k)
{
    return f->reqs[k].body ? cJSON_Parse(f->reqs[k].body) : NULL;
}

/* Concatenated contents of a block's rich text into out. */
static void block_text(const cJSON *b, char *out, size_t outlen)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(b, "type");
    const cJSON *in = cJSON_IsString(ty)
        ? cJSON_GetObjectItemCaseSensitive(b, ty->valuestring) : NULL;
    const cJSON *o;
    size_t k = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(in, "rich_text")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "text"), "content");
        if (cJSON_IsString(c)) {
            int n = snprintf(out + k, outlen - k, "%s", c->valuestring);
            if (n < 0 || (size_t)n >= outlen - k)
                return;
            k += (size_t)n;
        }
    }
}

static const char *btype(const cJSON *b)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(b, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

/* Rich text object i of block b. */
static const cJSON *rich(const cJSON *b, int i)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, btype(b));
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(in, "rich_text"),
                              i);
}

static bool annotated(const cJSON *t, const char *what)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(t, "annotations"), what));
}

/* ---------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------- */

TEST(publishes_the_documented_page_shape)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("b1-coffee-shop.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l,
                                   "http://127.0.0.1:8080/files/42/lesson.html",
                                   NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(f->check_err, "");
    CHECK_EQ_INT(atomic_load(&f->nreq), 1);
    CHECK_EQ_INT(res.requests, 1);
    CHECK_STR_EQ(res.url, PAGE_URL);
    CHECK_STR_EQ(res.page_id, PAGE_ID);
    CHECK_STR_EQ(res.error, "");
    CHECK_STR_EQ(f->reqs[0].method, "POST");
    CHECK_STR_EQ(f->reqs[0].path, "/v1/pages");

    cJSON *j = req_json(f, 0);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
    const cJSON *title = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(props, "Name"), "title"), 0);
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(title, "text"), "content");
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(props, "Level"), "select"),
        "name");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "children");
    char t[600], probs[300] = "";
    /* topic, Dialogue + 7 lines, Vocabulary + 3, Exercises + 3, link */
    struct { const char *type, *text; } want[] = {
        {"paragraph", "Topic: Ordering food and drink"},
        {"heading_2", "Dialogue"},
        {"paragraph", "Barista: Good morning! What can I get for you today?"},
        {"paragraph", "Maya: Hi. Could I have a large latte with oat milk, please?"},
        {"paragraph", NULL}, {"paragraph", NULL}, {"paragraph", NULL},
        {"paragraph", NULL}, {"paragraph", NULL},
        {"heading_2", "Vocabulary"},
        {"bulleted_list_item", "oat milk \xE2\x80\x94 a milk made from oats, "
                               "often used instead of cow's milk"},
        {"bulleted_list_item", "altogether \xE2\x80\x94 in total"},
        {"bulleted_list_item", NULL},
        {"heading_2", "Exercises"},
        {"paragraph", "1. What size latte does Maya order?"},
        {"paragraph", NULL}, {"paragraph", NULL},
        {"paragraph", "Lesson page and audio: "
                      "http://127.0.0.1:8080/files/42/lesson.html"},
    };
    int nwant = (int)(sizeof want / sizeof want[0]);
    if (cJSON_GetArraySize(ch) != nwant)
        snprintf(probs, sizeof probs, "%d blocks, want %d",
                 cJSON_GetArraySize(ch), nwant);
    for (int i = 0; i < nwant && !probs[0]; i++) {
        const cJSON *b = cJSON_GetArrayItem(ch, i);
        block_text(b, t, sizeof t);
        if (strcmp(btype(b), want[i].type) != 0 ||
            (want[i].text && strcmp(t, want[i].text) != 0))
            snprintf(probs, sizeof probs, "block %d: %s \"%.200s\"", i,
                     btype(b), t);
    }
    const cJSON *speech = cJSON_GetArrayItem(ch, 2);
    const cJSON *vocab = cJSON_GetArrayItem(ch, 10);
    const cJSON *link = cJSON_GetArrayItem(ch, nwant - 1);
    const cJSON *lurl = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(rich(link, 1), "text"), "link"),
        "url");
    bool speaker_bold = annotated(rich(speech, 0), "bold") &&
                        !annotated(rich(speech, 1), "bold");
    bool term_bold = annotated(rich(vocab, 0), "bold") &&
                     !annotated(rich(vocab, 1), "bold");
    bool link_ok = cJSON_IsString(lurl) &&
        strcmp(lurl->valuestring,
               "http://127.0.0.1:8080/files/42/lesson.html") == 0;
    bool title_ok = cJSON_IsString(tc) &&
                    strcmp(tc->valuestring, "At the Coffee Shop") == 0;
    bool level_ok = cJSON_IsString(lv) && strcmp(lv->valuestring, "B1") == 0;
    cJSON_Delete(j);
    fake_free(f);
    CHECK_STR_EQ(probs, "");
    CHECK(title_ok);
    CHECK(level_ok);
    CHECK(speaker_bold);
    CHECK(term_bold);
    CHECK(link_ok);
}

TEST(directions_italic_headings_and_no_link_for_relative_url)
{
    const char *md =
        "---\ntitle: Small\n---\n# Small\n\n## Dialogue\n\n"
        "(Anna walks in.)\n**Anna:** Hello *there*.\n\n### Part two\n\n"
        "Ben: Bye.\n\n## Notes\n\nfirst\n\nsecond\n";
    struct lesson l;
    CHECK_EQ_INT(load_lesson(NULL, md, &l), 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, "/files/1/lesson.html",
                                   NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(f->check_err, "");
    cJSON *j = req_json(f, 0);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "children");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
    char got[2048] = "", t[300];
    const cJSON *b;
    cJSON_ArrayForEach(b, ch) {
        block_text(b, t, sizeof t);
        size_t k = strlen(got);
        snprintf(got + k, sizeof got - k, "%s:%s|", btype(b), t);
    }
    bool dir_italic = annotated(rich(cJSON_GetArrayItem(ch, 1), 0), "italic");
    bool has_level = cJSON_GetObjectItemCaseSensitive(props, "Level") != NULL;
    cJSON_Delete(j);
    fake_free(f);
    /* no topic, no level, blank lines skipped, no link for a relative URL */
    CHECK_STR_EQ(got, "heading_2:Dialogue|paragraph:(Anna walks in.)|"
                      "paragraph:Anna: Hello there.|heading_3:Part two|"
                      "paragraph:Ben: Bye.|heading_2:Notes|paragraph:first|"
                      "paragraph:second|");
    CHECK(dir_italic);
    CHECK(!has_level);
}

TEST(level_as_rich_text_or_left_out)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("b2-remote-work.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    env.level_property = "CEFR";
    env.level_type = "rich_text";
    env.title_property = NULL;          /* zero: the default "Name" */
    struct notion_result res;
    int rc1 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    env.level_property = "";
    int rc2 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    env.level_type = "multi_select";
    env.level_property = "Level";
    int rc3 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    char err3[512];
    snprintf(err3, sizeof err3, "%s", res.error);
    fake_stop(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_INT(rc2, 0);
    CHECK_EQ_INT(rc3, -1);
    CHECK(strstr(err3, "multi_select") != NULL);
    CHECK_STR_EQ(f->check_err, "");
    CHECK_EQ_INT(atomic_load(&f->nreq), 2);
    cJSON *a = req_json(f, 0), *b = req_json(f, 1);
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(a, "properties");
    const cJSON *pb = cJSON_GetObjectItemCaseSensitive(b, "properties");
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(pa, "CEFR"), "rich_text"), 0),
        "text");
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(lv, "content");
    bool ok_a = cJSON_IsString(lc) && strcmp(lc->valuestring, "B2") == 0;
    int nb = cJSON_GetArraySize(pb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    fake_free(f);
    CHECK(ok_a);
    CHECK_EQ_INT(nb, 1);                /* only the title */
}

TEST(retry_after_429_is_honoured_and_logged)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {
        {.status = 429, .extra = "Retry-After: 1\r\n",
         .body = "{\"object\":\"error\",\"status\":429,\"code\":"
                 "\"rate_limited\",\"message\":\"You have been rate limited."
                 " Please try again in a few minutes.\"}"},
        {.status = 200},
    };
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    logbuf lb = {.len = 0};
    env.log = collect_log;
    env.ud = &lb;
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    int nreq = atomic_load(&f->nreq);
    int64_t gap = f->reqs[1].at_ms - f->reqs[0].at_ms;
    char shape[400];
    snprintf(shape, sizeof shape, "%s", f->check_err);
    fake_free(f);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(shape, "");
    CHECK_EQ_INT(nreq, 2);
    CHECK_EQ_INT(res.requests, 2);
    CHECK_STR_EQ(res.url, PAGE_URL);
    if (gap < 950 || gap > 3000)
        FAIL("retry came %lld ms after the 429 (want ~1000)", (long long)gap);
    if (!strstr(lb.text, "HTTP 429") || !strstr(lb.text, "rate_limited") ||
        !strstr(lb.text, "retrying in 1000 ms"))
        FAIL("log: %s", lb.text);
    CHECK(strstr(lb.text, TOKEN) == NULL);
}

TEST(server_error_then_success)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {
        {.status = 500, .body = "{\"object\":\"error\",\"status\":500,"
                                "\"code\":\"internal_server_error\","
                                "\"message\":\"Unexpected error.\"}"},
        {.status = 409, .body = "{\"object\":\"error\",\"status\":409,"
                                "\"code\":\"conflict_error\",\"message\":"
                                "\"Conflict occurred while saving.\"}"},
        {.status = 200},
    };
    fake *f = fake_start(s, 3);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    int nreq = atomic_load(&f->nreq);
    int64_t gap1 = f->reqs[1].at_ms - f->reqs[0].at_ms;
    int64_t gap2 = f->reqs[2].at_ms - f->reqs[1].at_ms;
    fake_free(f);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_EQ_INT(nreq, 3);
    CHECK_EQ_INT(res.requests, 3);
    CHECK(gap1 >= 28);      /* base 30 ms */
    CHECK(gap2 >= 58);      /* doubled */
}

TEST(dropped_connection_is_retried)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.drop = true}, {.status = 200}};
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    logbuf lb = {.len = 0};
    env.log = collect_log;
    env.ud = &lb;
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    fake_free(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_EQ_INT(res.requests, 2);
    CHECK(strstr(lb.text, "retrying") != NULL);
}

TEST(retries_exhausted_are_retryable)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 503, .body = "{\"object\":\"error\",\"status\":"
                      "503,\"code\":\"service_unavailable\",\"message\":"
                      "\"Notion is unavailable.\"}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    env.max_retries = 2;
    env.retry_delay_ms = 10;
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 3);
    CHECK(res.retryable);
    if (!strstr(res.error, "HTTP 503 service_unavailable after 3 attempts") ||
        !strstr(res.error, "Notion is unavailable."))
        FAIL("message: %s", res.error);
}

TEST(unauthorized_is_not_retried)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 401, .body = "{\"object\":\"error\",\"status\":"
                      "401,\"code\":\"unauthorized\",\"message\":"
                      "\"API token is invalid.\"}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 1);
    CHECK(!res.retryable);
    CHECK_STR_EQ(res.error,
                 "Notion rejected the token (HTTP 401: API token is invalid.)");
    CHECK_STR_EQ(res.url, "");
}

TEST(forbidden_and_not_found_have_their_own_messages)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {
        {.status = 403, .body = "{\"object\":\"error\",\"status\":403,\"code\":"
                                "\"restricted_resource\",\"message\":"
                                "\"Insufficient permissions for this "
                                "endpoint.\"}"},
        {.status = 404, .body = "{\"object\":\"error\",\"status\":404,\"code\":"
                                "\"object_not_found\",\"message\":\"Could not "
                                "find database with ID: 8e2c.\"}"},
    };
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char url[100], e403[512];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc1 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    snprintf(e403, sizeof e403, "%s", res.error);
    int rc2 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc1, -1);
    CHECK_EQ_INT(rc2, -1);
    CHECK_EQ_INT(nreq, 2);
    CHECK(!res.retryable);
    if (!strstr(e403, "Notion refused access (HTTP 403 restricted_resource: "
                      "Insufficient permissions for this endpoint.)"))
        FAIL("403 message: %s", e403);
    if (!strstr(res.error, "database " DBID " was not found or is not shared "
                           "with the integration") ||
        !strstr(res.error, "Could not find database"))
        FAIL("404 message: %s", res.error);
}

TEST(validation_error_gives_notions_message)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 400, .body = "{\"object\":\"error\",\"status\":"
                      "400,\"code\":\"validation_error\",\"message\":\"Name is "
                      "not a property that exists.\"}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 1);
    CHECK(!res.retryable);
    CHECK_STR_EQ(res.error, "Notion: HTTP 400 validation_error: Name is not a "
                            "property that exists.");
}

/* A lesson with n reading paragraphs "Line 0001." ... */
static char *many_lines(int n)
{
    size_t cap = 64 + (size_t)n * 16;
    char *md = malloc(cap);
    if (!md)
        return NULL;
    size_t k = (size_t)snprintf(md, cap, "# Many\n\n## Reading\n\n");
    for (int i = 1; i <= n; i++)
        k += (size_t)snprintf(md + k, cap - k, "Line %04d.\n\n", i);
    return md;
}

/* The HTTP client's helpers that Notion (and TTS) read errors with. */
TEST(http_client_retry_after_and_error_line)
{
    struct http_response r = {0};
    char hdr[200], out[200];
    static const struct { const char *value; long ms; } cases[] = {
        {"2", 2000}, {"0", 0}, {"1.5", 1500}, {"0.25", 250}, {"", -1},
        {"soon", -1}, {"-1", -1}, {"1.2.3", -1},
        {"Wed, 21 Oct 2026 07:28:00 GMT", -1}, {"99999999999", -1},
    };
    CHECK_EQ_INT(http_response_retry_after_ms(&r), -1);   /* no headers */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(hdr, sizeof hdr, "HTTP/1.1 429 Too Many\r\nRetry-After: %s\r\n"
                 "\r\n", cases[i].value);
        r.headers = hdr;
        r.headers_len = strlen(hdr);
        long got = http_response_retry_after_ms(&r);
        if (got != cases[i].ms)
            FAIL("Retry-After \"%s\": %ld ms, want %ld", cases[i].value, got,
                 cases[i].ms);
    }

    struct http_response e = {0};
    http_response_error_line(&e, NULL, out, sizeof out);
    CHECK_STR_EQ(out, "empty answer");
    http_response_error_line(&e, "bad\ntoken", out, sizeof out);
    CHECK_STR_EQ(out, "bad token");
    char body[300];
    memset(body, 'x', sizeof body);
    body[0] = '<';
    body[1] = '\n';
    body[299] = '\0';
    e.body = body;
    e.body_len = 299;
    http_response_error_line(&e, NULL, out, sizeof out);
    CHECK_EQ_INT((int)strlen(out), 160);       /* the start of the body */
    CHECK(strncmp(out, "< xxx", 5) == 0);
}

TEST(over_100_blocks_are_appended_in_order_with_throttle)
{
    char *md = many_lines(240);
    CHECK(md != NULL);
    struct lesson l;
    int prc = load_lesson(NULL, md, &l);
    free(md);
    CHECK_EQ_INT(prc, 0);
    fake_resp s[] = {{.status = 200},
                     {.status = 200, .body = "{\"object\":\"list\"}"}};
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    env.throttle_ms = 150;
    struct notion_clock vc;
    vclock_env(f, &env, &vc);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l,
                                   "https://lessons.example.org/l/many.html",
                                   NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(f->check_err, "");
    /* heading + 240 paragraphs + link = 242 blocks: 100 + 100 + 42 */
    CHECK_EQ_INT(atomic_load(&f->nreq), 3);
    CHECK_EQ_INT(res.requests, 3);
    CHECK_STR_EQ(res.error, "");
    CHECK_STR_EQ(res.url, PAGE_URL);
    CHECK_STR_EQ(f->reqs[0].method, "POST");
    CHECK_STR_EQ(f->reqs[1].method, "PATCH");
    CHECK_STR_EQ(f->reqs[1].path, "/v1/blocks/" PAGE_ID "/children");
    CHECK_STR_EQ(f->reqs[2].path, "/v1/blocks/" PAGE_ID "/children");
    /* Starts on the virtual clock: each request waited out the throttle
     * (one sleep each for the two appends) and no more. */
    int64_t g1 = f->reqs[1].vclock_us - f->reqs[0].vclock_us;
    int64_t g2 = f->reqs[2].vclock_us - f->reqs[1].vclock_us;
    int sleeps = atomic_load(&f->vsleeps);
    int counts[3], total = 0, next = 1;
    char t[200], order[200] = "";
    for (int r = 0; r < 3; r++) {
        cJSON *j = req_json(f, r);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "children");
        counts[r] = cJSON_GetArraySize(ch);
        const cJSON *b;
        cJSON_ArrayForEach(b, ch) {
            total++;
            block_text(b, t, sizeof t);
            if (strncmp(t, "Line ", 5) != 0)
                continue;
            if (atoi(t + 5) != next && !order[0])
                snprintf(order, sizeof order, "got \"%s\", want line %d", t,
                         next);
            next++;
        }
        cJSON_Delete(j);
    }
    fake_free(f);
    CHECK_EQ_INT(counts[0], 100);
    CHECK_EQ_INT(counts[1], 100);
    CHECK_EQ_INT(counts[2], 42);
    CHECK_EQ_INT(total, 242);
    CHECK_EQ_INT(next, 241);
    CHECK_STR_EQ(order, "");
    CHECK_EQ_INT(sleeps, 2);
    if (g1 != 150000 || g2 != 150000)
        FAIL("requests %lld and %lld us apart on the virtual clock "
             "(throttle 150 ms)", (long long)g1, (long long)g2);
}

TEST(long_line_is_split_on_utf8_boundaries)
{
    /* 2500 ASCII characters; then 1999 'b' + U+1F600 (2 units) + "é" */
    size_t cap = 8192;
    char *md = malloc(cap);
    CHECK(md != NULL);
    size_t k = (size_t)snprintf(md, cap, "# Long\n\n## Reading\n\n");
    for (int i = 0; i < 2500; i++)
        md[k++] = (char)('a' + i % 26);
    memcpy(md + k, "\n\n", 2);
    k += 2;
    for (int i = 0; i < 1999; i++)
        md[k++] = 'b';
    k += (size_t)snprintf(md + k, cap - k, "\xF0\x9F\x98\x80\xC3\xA9\n");
    struct lesson l;
    int prc = load_lesson(NULL, md, &l);
    free(md);
    CHECK_EQ_INT(prc, 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(f->check_err, "");
    cJSON *j = req_json(f, 0);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "children");
    const cJSON *p1 = cJSON_GetArrayItem(ch, 1), *p2 = cJSON_GetArrayItem(ch, 2);
    const cJSON *in1 = cJSON_GetObjectItemCaseSensitive(p1, "paragraph");
    const cJSON *in2 = cJSON_GetObjectItemCaseSensitive(p2, "paragraph");
    int n1 = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(in1, "rich_text"));
    int n2 = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(in2, "rich_text"));
    const cJSON *a0 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rich(p1, 0), "text"), "content");
    const cJSON *a1 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rich(p1, 1), "text"), "content");
    const cJSON *b0 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rich(p2, 0), "text"), "content");
    const cJSON *b1 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rich(p2, 1), "text"), "content");
    size_t la0 = cJSON_IsString(a0) ? strlen(a0->valuestring) : 0;
    size_t la1 = cJSON_IsString(a1) ? strlen(a1->valuestring) : 0;
    size_t lb0 = cJSON_IsString(b0) ? strlen(b0->valuestring) : 0;
    bool tail_ok = cJSON_IsString(b1) &&
                   strcmp(b1->valuestring, "\xF0\x9F\x98\x80\xC3\xA9") == 0;
    bool joined_ok = cJSON_IsString(a0) && cJSON_IsString(a1) &&
                     a0->valuestring[0] == 'a' && a0->valuestring[1999] == 'x' &&
                     a1->valuestring[0] == 'y';
    cJSON_Delete(j);
    fake_free(f);
    CHECK_EQ_INT(n1, 2);
    CHECK_EQ_INT(la0, 2000);
    CHECK_EQ_INT(la1, 500);
    CHECK(joined_ok);
    CHECK_EQ_INT(n2, 2);
    CHECK_EQ_INT(lb0, 1999);     /* the emoji would make 2001 units */
    CHECK(tail_ok);
}

TEST(token_never_appears_in_errors_or_logs)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {
        {.status = 500, .echo_auth = true},
        {.status = 400, .echo_auth = true},
    };
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    logbuf lb = {.len = 0};
    env.log = collect_log;
    env.ud = &lb;
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 2);
    /* the server did echo it: the messages are there, masked */
    if (!strstr(res.error, "bad header Bearer ****") ||
        !strstr(lb.text, "bad header Bearer ****"))
        FAIL("error: %s / log: %s", res.error, lb.text);
    CHECK(strstr(res.error, TOKEN) == NULL);
    CHECK(strstr(lb.text, TOKEN) == NULL);
    CHECK(strstr(res.error, "T0k3n") == NULL);
    CHECK(strstr(lb.text, "T0k3n") == NULL);
}

TEST(cancel_during_retry_after_wait_returns_promptly)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 429, .extra = "Retry-After: 10\r\n",
                      .body = "{\"object\":\"error\",\"status\":429,\"code\":"
                              "\"rate_limited\",\"message\":\"slow down\"}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    atomic_bool cancel;
    atomic_init(&cancel, false);
    canceler c = {.flag = &cancel, .ms = 300};
    CHECK_EQ_INT(pthread_create(&c.th, NULL, canceler_main, &c), 0);
    int64_t t0 = now_ms();
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, &cancel, &res);
    int64_t done = now_ms();
    pthread_join(c.th, NULL);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -2);
    CHECK_EQ_INT(nreq, 1);
    CHECK_STR_EQ(res.error, "canceled");
    if (done - c.at_ms > 500 || done - t0 > 2000)
        FAIL("returned %lld ms after the cancel", (long long)(done - c.at_ms));
}

TEST(missing_token_fails_before_any_request)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result r1, r2, r3;
    env.token = "";
    int rc1 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &r1);
    env.token = NULL;
    int rc2 = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &r2);
    env.token = TOKEN;
    int rc3 = notion_publish_lesson(&env, "", &l, NULL, NULL, &r3);
    nap_ms(50);
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc1, -1);
    CHECK_EQ_INT(rc2, -1);
    CHECK_EQ_INT(rc3, -1);
    CHECK_EQ_INT(nreq, 0);
    CHECK_EQ_INT(r1.requests, 0);
    CHECK(!r1.retryable);
    CHECK(strstr(r1.error, "NOTION_TOKEN") != NULL);
    CHECK(strstr(r2.error, "NOTION_TOKEN") != NULL);
    CHECK(strstr(r3.error, "database") != NULL);
}

TEST(failed_append_archives_the_incomplete_page)
{
    char *md = many_lines(120);
    CHECK(md != NULL);
    struct lesson l;
    int prc = load_lesson(NULL, md, &l);
    free(md);
    CHECK_EQ_INT(prc, 0);
    fake_resp s[] = {
        {.status = 200},
        {.status = 400, .body = "{\"object\":\"error\",\"status\":400,\"code\":"
                                "\"validation_error\",\"message\":\"body "
                                "failed validation.\"}"},
        {.status = 200, .body = "{\"object\":\"page\",\"archived\":true}"},
    };
    fake *f = fake_start(s, 3);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    int nreq = atomic_load(&f->nreq);
    char shape[400], m2[16], p2[256];
    snprintf(shape, sizeof shape, "%s", f->check_err);
    snprintf(m2, sizeof m2, "%s", f->reqs[2].method);
    snprintf(p2, sizeof p2, "%s", f->reqs[2].path);
    fake_free(f);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 3);
    CHECK_STR_EQ(shape, "");
    CHECK_STR_EQ(m2, "PATCH");
    CHECK_STR_EQ(p2, "/v1/pages/" PAGE_ID);
    CHECK(!res.retryable);
    if (!strstr(res.error, "HTTP 400 validation_error: body failed "
                           "validation.") ||
        !strstr(res.error, "the incomplete page was archived"))
        FAIL("message: %s", res.error);
    CHECK_STR_EQ(res.page_id, PAGE_ID);
}

TEST(title_only_lesson_sends_no_children)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson(NULL, "# Just a title\n", &l), 0);
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    struct notion_result res;
    int rc = notion_publish_lesson(&env, DBID, &l, "ftp://x/y", NULL, &res);
    fake_stop(f);
    lesson_free(&l);
    if (rc != 0)
        FAIL("publish: %s", res.error);
    CHECK_STR_EQ(f->check_err, "");
    cJSON *j = req_json(f, 0);
    bool no_children = j && !cJSON_GetObjectItemCaseSensitive(j, "children");
    cJSON_Delete(j);
    fake_free(f);
    CHECK(no_children);
    CHECK_STR_EQ(res.url, PAGE_URL);
}

TEST(silent_server_times_out_retryably)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.hang = true}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    env.request_timeout_ms = 500;
    struct notion_result res;
    int64_t t0 = now_ms();
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, NULL, &res);
    int64_t took = now_ms() - t0;
    int nreq = atomic_load(&f->nreq);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(nreq, 1);
    CHECK(res.retryable);
    if (!strstr(res.error, "timed out"))
        FAIL("message: %s", res.error);
    if (took < 400 || took > 3000)
        FAIL("took %lld ms (timeout 500)", (long long)took);
}

TEST(cancel_aborts_a_running_transfer)
{
    struct lesson l;
    CHECK_EQ_INT(load_lesson("a2-directions.md", NULL, &l), 0);
    fake_resp s[] = {{.hang = true}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char url[100];
    struct notion_env env = fake_env(f, url, sizeof url);
    env.request_timeout_ms = 20000;
    struct notion_result res;
    atomic_bool cancel;
    atomic_init(&cancel, false);
    canceler c = {.flag = &cancel, .ms = 300};
    CHECK_EQ_INT(pthread_create(&c.th, NULL, canceler_main, &c), 0);
    int rc = notion_publish_lesson(&env, DBID, &l, NULL, &cancel, &res);
    int64_t done = now_ms();
    pthread_join(c.th, NULL);
    fake_free(f);
    lesson_free(&l);
    CHECK_EQ_INT(rc, -2);
    CHECK_EQ_INT(res.requests, 1);
    if (done - c.at_ms > 1500)
        FAIL("returned %lld ms after the cancel", (long long)(done - c.at_ms));
}

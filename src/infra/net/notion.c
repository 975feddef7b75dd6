/* notion.c — publishes a parsed lesson as a Notion page (see notion.h for
 * the contract and docs/notion.md for what is sent).
 *
 * One call of notion_publish_lesson:
 *   1. settings are resolved (zeroes take the defaults) and checked, the
 *      token above all: nothing is sent without one;
 *   2. the lesson becomes one cJSON array of blocks (build_blocks), text
 *      split into text objects of at most 2000 UTF-16 units on UTF-8
 *      boundaries, at most 100 per block;
 *   3. POST /v1/pages carries the properties and the first batch (100
 *      blocks, ~400 KB at most); PATCH /v1/blocks/{page}/children carries
 *      each further batch, in order;
 *   4. if an append fails, the incomplete page is archived (best effort).
 *
 * Every request goes through call(): throttle (start-to-start spacing of
 * throttle_ms), then up to 1 + max_retries attempts.  429/409/5xx and
 * connection failures are retried after Retry-After (capped) or an
 * exponential backoff with 0-25 % jitter; other statuses end the call
 * with a message built from Notion's JSON error body {code, message}.
 *
 * Cancel: http_client polls the caller's flag from libcurl's progress
 * callback (cancel_flag); waits (backoff, throttle) poll it every 20 ms.
 *
 * The token lives in one malloc'd header line, zeroed before it is freed;
 * every log line and error message is passed through mask_token() in case
 * a server echoes it. */
#include "infra/net/notion.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/net/http_client.h"
#include "util/buf.h"
#include "util/util.h"

#define DEF_TITLE_PROP     "Name"
#define DEF_LEVEL_PROP     "Level"
#define DEF_LEVEL_TYPE     "select"
#define DEF_CONNECT_MS     10000L
#define DEF_REQUEST_MS     30000L
#define DEF_RETRIES        5
#define MAX_RETRIES        20
#define DEF_RETRY_DELAY_MS 1000
#define DEF_RETRY_MAX_MS   30000
#define DEF_THROTTLE_MS    350
#define RESP_MAX           (1u << 20)   /* buffered answer */
#define URL_MAX            4096u        /* request URL */
#define BASE_MAX           2000u        /* base URL */
#define DBID_MAX           128u         /* database id as given */
#define TOKEN_MAX          1024u
#define BLOCK_TEXT_BYTES   150000u      /* content bytes in one block */
#define BATCH_BYTES        400000u      /* serialized children per request */
#define BODY_MAX           (4u << 20)   /* serialized request body */
#define LINK_MAX           2000u        /* Notion's limit on a link URL */
#define SELECT_NAME_MAX    100u         /* characters in a select option */
#define POLL_SLICE_MS      20

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

void notion_env_defaults(struct notion_env *env)
{
    memset(env, 0, sizeof *env);
    env->base_url = NOTION_DEFAULT_BASE_URL;
    env->token = NULL;
    env->version = NOTION_DEFAULT_VERSION;
    env->title_property = DEF_TITLE_PROP;
    env->level_property = DEF_LEVEL_PROP;
    env->level_type = DEF_LEVEL_TYPE;
    env->connect_timeout_ms = DEF_CONNECT_MS;
    env->request_timeout_ms = DEF_REQUEST_MS;
    env->max_retries = DEF_RETRIES;
    env->retry_delay_ms = DEF_RETRY_DELAY_MS;
    env->retry_max_ms = DEF_RETRY_MAX_MS;
    env->throttle_ms = DEF_THROTTLE_MS;
    env->log = NULL;
    env->ud = NULL;
}

static bool is_canceled(atomic_bool *cancel)
{
    return cancel && atomic_load(cancel);
}

/* The publish's clock: env->clock when a test injected one, else the
 * monotonic clock. */
static int64_t clock_now_us(const struct notion_env *env)
{
    return env->clock ? env->clock->now_us(env->clock->ud) : bb_mono_us();
}

/* Sleeps ms on the publish's clock; the real one wakes every POLL_SLICE_MS
 * to look at cancel.  Returns false when canceled. */
static bool clock_sleep_ms(const struct notion_env *env, long ms,
                           atomic_bool *cancel)
{
    if (env->clock)
        return env->clock->sleep_ms(env->clock->ud, ms, cancel);
    return bb_sleep_cancelable(ms, cancel, POLL_SLICE_MS);
}

/* Overwrites every occurrence of token in s with '*'. */
static void mask_token(char *s, const char *token)
{
    size_t tl = token ? strlen(token) : 0;
    if (tl == 0)
        return;
    for (char *p = strstr(s, token); p; p = strstr(p + tl, token))
        memset(p, '*', tl);
}

/* Bytes of the longest prefix of s[0..len) that holds at most max_units
 * UTF-16 code units and ends on a UTF-8 character boundary (a 4-byte
 * sequence counts two units, as Notion counts).  Always > 0 when len > 0
 * and max_units >= 2. */
static size_t utf8_prefix(const char *s, size_t len, size_t max_units)
{
    size_t i = 0, units = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4 : 1;
        size_t u = n == 4 ? 2 : 1;
        if (n > len - i)
            n = len - i;
        if (units + u > max_units)
            break;
        units += u;
        i += n;
    }
    return i;
}

/* An absolute http(s) URL without spaces or control characters, short
 * enough for a Notion link. */
static bool is_http_url(const char *u)
{
    size_t skip;
    if (!u)
        return false;
    if (strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (!u[skip] || u[skip] == '/' || strlen(u) > LINK_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return false;
    return true;
}

/* a followed by b, malloc'd (caller frees); NULL when out of memory. */
static char *cat2(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* ---------------------------------------------------------------------
 * Settings and the publish context
 * ------------------------------------------------------------------- */

typedef struct pub {
    const struct notion_env *env;   /* for log */
    const char *token;
    const char *base;
    size_t base_len;                /* without trailing slashes */
    const char *version, *title_prop, *level_prop, *level_type;
    long connect_ms, request_ms;
    int retries, delay_ms, max_ms, throttle_ms;
    const char *dbid;

    char *auth_hdr;                 /* "Authorization: Bearer ..." (zeroed, freed) */
    char *version_hdr;
    const char *headers[4];
    atomic_bool *cancel;
    int64_t last_start_us;          /* start of the previous request; 0: none */
    uint64_t seed;                  /* jitter */
    struct notion_result *res;
} pub;

static void plog(const pub *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void plog(const pub *p, const char *fmt, ...)
{
    char line[768];
    if (!p->env->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mask_token(line, p->token);
    p->env->log(p->env->ud, line);
}

static int fail(pub *p, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(pub *p, bool retryable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->res->error, sizeof p->res->error, fmt, ap);
    va_end(ap);
    mask_token(p->res->error, p->token);
    p->res->retryable = retryable;
    return NOTION_FAILED;
}

static int canceled(pub *p)
{
    snprintf(p->res->error, sizeof p->res->error, "canceled");
    p->res->retryable = false;
    return NOTION_CANCELED;
}

static const char *str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* Resolves env into p and checks everything that needs no request.
 * Returns 0 or NOTION_FAILED (p->res filled). */
static int resolve(pub *p, const struct notion_env *env, const char *dbid)
{
    p->env = env;
    p->token = env->token;
    if (!env->token || !*env->token)
        return fail(p, false, "Notion token is not set (NOTION_TOKEN)");
    if (strlen(env->token) > TOKEN_MAX)
        return fail(p, false, "Notion token is too long");
    for (const char *c = env->token; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7F)
            return fail(p, false, "Notion token contains spaces or control "
                        "characters");

    p->base = str_or(env->base_url, NOTION_DEFAULT_BASE_URL);
    if ((strncmp(p->base, "http://", 7) != 0 &&
         strncmp(p->base, "https://", 8) != 0) ||
        strlen(p->base) > BASE_MAX)
        return fail(p, false, "Notion base URL must start with http:// or "
                    "https://");
    p->base_len = strlen(p->base);
    while (p->base_len > 0 && p->base[p->base_len - 1] == '/')
        p->base_len--;

    p->version = str_or(env->version, NOTION_DEFAULT_VERSION);
    p->title_prop = str_or(env->title_property, DEF_TITLE_PROP);
    p->level_prop = env->level_property && *env->level_property
                        ? env->level_property : NULL;
    p->level_type = str_or(env->level_type, DEF_LEVEL_TYPE);
    for (const char *c = p->version; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F)
            return fail(p, false, "Notion version contains control "
                        "characters");
    if (strcmp(p->level_type, "select") != 0 &&
        strcmp(p->level_type, "rich_text") != 0)
        return fail(p, false, "Notion level type \"%.40s\" is not \"select\" "
                    "or \"rich_text\"", p->level_type);
    if (p->level_prop && strcmp(p->level_prop, p->title_prop) == 0)
        return fail(p, false, "Notion title and level properties are both "
                    "\"%.80s\"", p->title_prop);

    p->connect_ms = env->connect_timeout_ms > 0 ? env->connect_timeout_ms
                                                : DEF_CONNECT_MS;
    p->request_ms = env->request_timeout_ms > 0 ? env->request_timeout_ms
                                                : DEF_REQUEST_MS;
    p->retries = env->max_retries >= 0 ? env->max_retries : DEF_RETRIES;
    if (p->retries > MAX_RETRIES)
        p->retries = MAX_RETRIES;
    p->delay_ms = env->retry_delay_ms > 0 ? env->retry_delay_ms
                                          : DEF_RETRY_DELAY_MS;
    p->max_ms = env->retry_max_ms > 0 ? env->retry_max_ms : DEF_RETRY_MAX_MS;
    p->throttle_ms = env->throttle_ms >= 0 ? env->throttle_ms
                                           : DEF_THROTTLE_MS;

    if (!dbid || !*dbid)
        return fail(p, false, "no Notion database given");
    if (strlen(dbid) > DBID_MAX)
        return fail(p, false, "Notion database id is too long");
    for (const char *c = dbid; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7F)
            return fail(p, false, "Notion database id contains spaces or "
                        "control characters");
    p->dbid = dbid;
    return 0;
}

/* ---------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------- */

/* One run of text with its annotations; s is NUL-terminated. */
typedef struct span {
    const char *s;
    bool bold, italic;
    const char *link;   /* or NULL */
} span;

/* Appends one text object for s[0..len) to arr.  Returns 0 or -1 (no
 * memory). */
static int add_text(cJSON *arr, const char *s, size_t len, const span *sp)
{
    char *piece = strndup(s, len);
    cJSON *o = cJSON_CreateObject();
    cJSON *t = o ? cJSON_AddObjectToObject(o, "text") : NULL;
    int rc = -1;
    if (!piece || !t || !cJSON_AddStringToObject(o, "type", "text") ||
        !cJSON_AddStringToObject(t, "content", piece))
        goto out;
    if (sp->link) {
        cJSON *lk = cJSON_AddObjectToObject(t, "link");
        if (!lk || !cJSON_AddStringToObject(lk, "url", sp->link))
            goto out;
    }
    if (sp->bold || sp->italic) {
        cJSON *an = cJSON_AddObjectToObject(o, "annotations");
        if (!an || (sp->bold && !cJSON_AddTrueToObject(an, "bold")) ||
            (sp->italic && !cJSON_AddTrueToObject(an, "italic")))
            goto out;
    }
    if (!cJSON_AddItemToArray(arr, o))
        goto out;
    o = NULL;
    rc = 0;
out:
    cJSON_Delete(o);
    free(piece);
    return rc;
}

/* Appends {"object":"block","type":type,type:{"rich_text":[]}} to blocks;
 * *rt gets its rich_text array.  Returns 0 or -1. */
static int new_block(cJSON *blocks, const char *type, cJSON **rt)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *inner;
    if (!b || !cJSON_AddStringToObject(b, "object", "block") ||
        !cJSON_AddStringToObject(b, "type", type) ||
        !(inner = cJSON_AddObjectToObject(b, type)) ||
        !(*rt = cJSON_AddArrayToObject(inner, "rich_text")) ||
        !cJSON_AddItemToArray(blocks, b)) {
        cJSON_Delete(b);
        return -1;
    }
    return 0;
}

/* Appends the spans as one block of type (more when the text needs more
 * than NOTION_RICH_TEXT_MAX text objects or BLOCK_TEXT_BYTES): each span
 * becomes text objects of at most NOTION_TEXT_MAX units.  Spans that are
 * all empty add nothing.  Returns 0 or -1 (no memory). */
static int add_block(cJSON *blocks, const char *type, const span *sp,
                     size_t n)
{
    cJSON *rt = NULL;
    size_t nobj = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = sp[i].s;
        size_t len = s ? strlen(s) : 0, off = 0;
        while (off < len) {
            size_t piece = utf8_prefix(s + off, len - off, NOTION_TEXT_MAX);
            if (!rt || nobj == NOTION_RICH_TEXT_MAX ||
                bytes + piece > BLOCK_TEXT_BYTES) {
                if (new_block(blocks, type, &rt) != 0)
                    return -1;
                nobj = 0;
                bytes = 0;
            }
            if (add_text(rt, s + off, piece, &sp[i]) != 0)
                return -1;
            nobj++;
            bytes += piece;
            off += piece;
        }
    }
    return 0;
}

/* One block from one plain string with the given annotations. */
static int add_simple(cJSON *blocks, const char *type, const char *s,
                      bool bold, bool italic)
{
    span sp = {.s = s, .bold = bold, .italic = italic};
    return add_block(blocks, type, &sp, 1);
}

static int add_item(cJSON *blocks, const struct lesson_item *it)
{
    char who[LESSON_SPEAKER_MAX + 8];
    char *rest = NULL;
    int rc;
    switch (it->kind) {
    case LESSON_ITEM_SPEECH: {
        snprintf(who, sizeof who, "%s:", it->speaker ? it->speaker : "");
        if (!(rest = cat2(" ", it->plain)))
            return -1;
        span sp[2] = {{.s = who, .bold = true}, {.s = rest}};
        rc = add_block(blocks, "paragraph", sp, 2);
        break;
    }
    case LESSON_ITEM_DIRECTION:
        return add_simple(blocks, "paragraph", it->plain, false, true);
    case LESSON_ITEM_PARAGRAPH:
    case LESSON_ITEM_RAW:
        return add_simple(blocks, "paragraph", it->plain, false, false);
    case LESSON_ITEM_HEADING:
        return add_simple(blocks, "heading_3", it->plain, false, false);
    case LESSON_ITEM_VOCAB: {
        const char *term = it->term ? it->term : "";
        if (it->plain[0] && !(rest = cat2(" \xE2\x80\x94 ", it->plain)))
            return -1;
        span sp[2] = {{.s = term, .bold = true}, {.s = rest}};
        rc = add_block(blocks, "bulleted_list_item", sp, 2);
        break;
    }
    default:
        return 0;
    }
    free(rest);
    return rc;
}

/* The page content of l as an array of blocks (caller deletes), or NULL
 * when out of memory. */
static cJSON *build_blocks(const struct lesson *l, const char *page_url)
{
    cJSON *blocks = cJSON_CreateArray();
    if (!blocks)
        return NULL;
    if (l->topic && *l->topic) {
        span sp[2] = {{.s = "Topic: ", .bold = true}, {.s = l->topic}};
        if (add_block(blocks, "paragraph", sp, 2) != 0)
            goto oom;
    }
    for (size_t i = 0; i < l->nsections; i++) {
        const struct lesson_section *sec = &l->sections[i];
        if (sec->name && *sec->name) {
            char *name = lesson_plain(sec->name, strlen(sec->name));
            int rc = name ? add_simple(blocks, "heading_2", name, false, false)
                          : -1;
            free(name);
            if (rc != 0)
                goto oom;
        }
        for (size_t k = 0; k < sec->nitems; k++)
            if (add_item(blocks, &sec->items[k]) != 0)
                goto oom;
    }
    if (is_http_url(page_url)) {
        span sp[2] = {{.s = "Lesson page and audio: "},
                      {.s = page_url, .link = page_url}};
        if (add_block(blocks, "paragraph", sp, 2) != 0)
            goto oom;
    }
    return blocks;
oom:
    cJSON_Delete(blocks);
    return NULL;
}

/* Moves the first blocks of all (at most NOTION_CHILDREN_MAX, at most
 * BATCH_BYTES serialized; always at least one) into a new array.  Returns
 * it (caller deletes) or NULL when out of memory. */
static cJSON *take_batch(cJSON *all)
{
    cJSON *batch = cJSON_CreateArray();
    size_t n = 0, bytes = 0;
    if (!batch)
        return NULL;
    while (all->child && n < NOTION_CHILDREN_MAX) {
        char *s = cJSON_PrintUnformatted(all->child);
        if (!s) {
            cJSON_Delete(batch);
            return NULL;
        }
        size_t bl = strlen(s) + 1;
        free(s);
        if (n > 0 && bytes + bl > BATCH_BYTES)
            break;
        cJSON *it = cJSON_DetachItemViaPointer(all, all->child);
        if (!cJSON_AddItemToArray(batch, it)) {
            cJSON_Delete(it);
            cJSON_Delete(batch);
            return NULL;
        }
        n++;
        bytes += bl;
    }
    return batch;
}

/* The page properties: title, and level when set.  NULL when out of
 * memory (caller deletes the result). */
static cJSON *build_properties(const pub *p, const struct lesson *l)
{
    cJSON *props = cJSON_CreateObject();
    cJSON *tp = props ? cJSON_AddObjectToObject(props, p->title_prop) : NULL;
    cJSON *title = tp ? cJSON_AddArrayToObject(tp, "title") : NULL;
    const char *t = l->title_plain && *l->title_plain ? l->title_plain
                    : l->title ? l->title : "";
    size_t len = strlen(t), off = 0;
    span plain = {.s = t};
    if (!title)
        goto oom;
    for (int k = 0; off < len && k < NOTION_RICH_TEXT_MAX; k++) {
        size_t piece = utf8_prefix(t + off, len - off, NOTION_TEXT_MAX);
        if (add_text(title, t + off, piece, &plain) != 0)
            goto oom;
        off += piece;
    }
    if (p->level_prop && l->level && *l->level) {
        cJSON *lp = cJSON_AddObjectToObject(props, p->level_prop);
        if (!lp)
            goto oom;
        if (strcmp(p->level_type, "select") == 0) {
            /* option names: no commas, at most 100 characters */
            size_t n = utf8_prefix(l->level, strlen(l->level),
                                   SELECT_NAME_MAX);
            char *name = strndup(l->level, n);
            if (!name)
                goto oom;
            for (char *c = name; *c; c++)
                if (*c == ',')
                    *c = ' ';
            cJSON *sel = cJSON_AddObjectToObject(lp, "select");
            bool ok = sel && cJSON_AddStringToObject(sel, "name", name);
            free(name);
            if (!ok)
                goto oom;
        } else {
            cJSON *rt = cJSON_AddArrayToObject(lp, "rich_text");
            span lv = {.s = l->level};
            size_t ll = strlen(l->level),
                   n = utf8_prefix(l->level, ll, NOTION_TEXT_MAX);
            if (!rt || add_text(rt, l->level, n, &lv) != 0)
                goto oom;
        }
    }
    return props;
oom:
    cJSON_Delete(props);
    return NULL;
}

/* ---------------------------------------------------------------------
 * HTTP with retries
 * ------------------------------------------------------------------- */

/* Notion's error answer {"object":"error","code":...,"message":...}:
 * code into code[] ("" when absent), the message (or the start of a body
 * that is not such JSON) into msg[]. */
static void api_error(const struct http_response *resp, char *code,
                      size_t codelen, char *msg, size_t msglen)
{
    code[0] = '\0';
    cJSON *doc = resp->body_len ? cJSON_ParseWithLength(resp->body,
                                                        resp->body_len)
                                : NULL;
    const cJSON *c = doc ? cJSON_GetObjectItemCaseSensitive(doc, "code")
                         : NULL;
    const cJSON *m = doc ? cJSON_GetObjectItemCaseSensitive(doc, "message")
                         : NULL;
    if (cJSON_IsString(c) && c->valuestring)
        bb_one_line(code, codelen, c->valuestring, strlen(c->valuestring));
    http_response_error_line(resp, cJSON_IsString(m) ? m->valuestring : NULL,
                             msg, msglen);
    cJSON_Delete(doc);
}

/* The wait before retry number `retry` (1-based): delay * 2^(retry-1)
 * plus 0-25 % jitter, capped at max_ms. */
static long backoff_ms(pub *p, int retry)
{
    long w = p->delay_ms;
    for (int i = 1; i < retry && w < p->max_ms; i++)
        w *= 2;
    p->seed ^= p->seed << 13;
    p->seed ^= p->seed >> 7;
    p->seed ^= p->seed << 17;
    w += (long)(p->seed % (uint64_t)(w / 4 + 1));
    return w < p->max_ms ? w : p->max_ms;
}

/* Waits until throttle_ms after the previous request's start, then
 * records this start.  Returns false when canceled. */
static bool throttle(pub *p)
{
    if (p->last_start_us && p->throttle_ms > 0) {
        int64_t due = p->last_start_us + (int64_t)p->throttle_ms * 1000;
        int64_t now = clock_now_us(p->env);
        if (due > now &&
            !clock_sleep_ms(p->env, (long)((due - now + 999) / 1000),
                            p->cancel))
            return false;
    }
    p->last_start_us = clock_now_us(p->env);
    return true;
}

enum call_kind { CALL_CREATE, CALL_APPEND, CALL_ARCHIVE };

/* Sends body to base+path with method, retrying as described at the top.
 * On a 2xx answer returns NOTION_OK with *answer (when answer is
 * non-NULL) the parsed JSON (caller deletes; NULL if the body is not
 * JSON).  Otherwise NOTION_FAILED or NOTION_CANCELED with p->res set. */
static int call(pub *p, enum call_kind kind, const char *method,
                const char *path, const char *body, cJSON **answer)
{
    char url[URL_MAX], msg[256], code[64], detail[256];
    int max = p->retries + 1;
    int rc = NOTION_FAILED;

    if (answer)
        *answer = NULL;
    if ((size_t)snprintf(url, sizeof url, "%.*s%s", (int)p->base_len,
                         p->base, path) >= sizeof url)
        return fail(p, false, "Notion URL too long");

    for (int attempt = 1; attempt <= max; attempt++) {
        struct http_request req = {
            .method = method,
            .url = url,
            .headers = p->headers,
            .body = body,
            .body_len = strlen(body),
            .connect_timeout_ms = p->connect_ms,
            .timeout_ms = p->request_ms,
            .max_body = RESP_MAX,
            .cancel_flag = p->cancel,
        };
        struct http_response resp;
        bool retry = false;
        long wait = 0;

        if (is_canceled(p->cancel) || !throttle(p))
            return canceled(p);
        p->res->requests++;
        enum http_result hr = http_client_perform(&req, &resp, msg,
                                                  sizeof msg);
        if (hr == HTTP_RES_CANCELED || is_canceled(p->cancel)) {
            http_response_free(&resp);
            return canceled(p);
        }
        long st = resp.status;
        if (hr == HTTP_RES_OK && st >= 200 && st < 300) {
            if (answer)
                *answer = cJSON_ParseWithLength(resp.body, resp.body_len);
            http_response_free(&resp);
            return NOTION_OK;
        }
        if ((hr == HTTP_RES_OK || hr == HTTP_RES_TOO_LARGE) && st >= 300) {
            api_error(&resp, code, sizeof code, detail, sizeof detail);
            if (st == 429 || st == 409 || st >= 500) {
                if (attempt < max) {
                    long ra = http_response_retry_after_ms(&resp);
                    wait = ra >= 0 ? (ra < p->max_ms ? ra : p->max_ms)
                                   : backoff_ms(p, attempt);
                    plog(p, "Notion: HTTP %ld (%s%s%s), retrying in %ld ms "
                         "(attempt %d of %d)", st, code, code[0] ? ": " : "",
                         detail, wait, attempt + 1, max);
                    retry = true;
                } else {
                    rc = fail(p, true, "Notion: HTTP %ld %s after %d "
                              "attempts: %s", st, code[0] ? code : "error",
                              attempt, detail);
                }
            } else if (st == 401) {
                rc = fail(p, false, "Notion rejected the token (HTTP 401: "
                          "%s)", detail);
            } else if (st == 403) {
                rc = fail(p, false, "Notion refused access (HTTP 403%s%s: "
                          "%s); check the integration's capabilities "
                          "(read, update and insert content)",
                          code[0] ? " " : "", code, detail);
            } else if (st == 404 && kind == CALL_CREATE) {
                rc = fail(p, false, "Notion: database %s was not found or "
                          "is not shared with the integration (HTTP 404: "
                          "%s)", p->dbid, detail);
            } else if (st == 404) {
                rc = fail(p, false, "Notion: page %s was not found (HTTP "
                          "404: %s)", p->res->page_id, detail);
            } else {
                rc = fail(p, false, "Notion: HTTP %ld %s: %s", st,
                          code[0] ? code : "error", detail);
            }
        } else if (hr == HTTP_RES_TOO_LARGE) {
            rc = fail(p, false, "Notion's answer (HTTP %ld) is over %u bytes",
                      st, RESP_MAX);
        } else if (hr == HTTP_RES_OK) {
            rc = fail(p, false, "Notion: unexpected HTTP %ld", st);
        } else if (hr == HTTP_RES_TIMEOUT) {
            rc = fail(p, true, "Notion request timed out: %s", msg);
        } else if (hr == HTTP_RES_CONNECT || hr == HTTP_RES_FAILED) {
            if (attempt < max) {
                wait = backoff_ms(p, attempt);
                plog(p, "Notion: %s; retrying in %ld ms (attempt %d of %d)",
                     msg, wait, attempt + 1, max);
                retry = true;
            } else {
                rc = fail(p, true, "Notion: %s (after %d attempts)", msg,
                          attempt);
            }
        } else {
            rc = fail(p, false, "Notion: %s", msg);
        }
        http_response_free(&resp);
        if (!retry)
            return rc;
        if (!clock_sleep_ms(p->env, wait, p->cancel))
            return canceled(p);
    }
    return rc;
}

/* Takes the page id and url from the create answer.  Returns 0 or
 * NOTION_FAILED. */
static int take_page(pub *p, const cJSON *page)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(page, "id");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(page, "url");
    if (!cJSON_IsString(id) || !id->valuestring || !id->valuestring[0] ||
        strlen(id->valuestring) >= sizeof p->res->page_id ||
        strspn(id->valuestring, "0123456789abcdefABCDEF-") !=
            strlen(id->valuestring))
        return fail(p, false, "Notion created the page but its answer has "
                    "no usable page id");
    snprintf(p->res->page_id, sizeof p->res->page_id, "%s", id->valuestring);
    if (cJSON_IsString(u) && u->valuestring &&
        strlen(u->valuestring) < sizeof p->res->url &&
        is_http_url(u->valuestring)) {
        snprintf(p->res->url, sizeof p->res->url, "%s", u->valuestring);
    } else {
        /* Notion's own form: the id without dashes */
        size_t k = (size_t)snprintf(p->res->url, sizeof p->res->url,
                                    "https://www.notion.so/");
        for (const char *c = p->res->page_id; *c && k + 1 < sizeof p->res->url;
             c++)
            if (*c != '-')
                p->res->url[k++] = *c;
        p->res->url[k] = '\0';
        plog(p, "Notion: the answer has no page url; using %s", p->res->url);
    }
    return 0;
}

/* Archives the incomplete page after a failed append (best effort) and
 * adds the outcome to the error message kept in p->res. */
static void archive_incomplete(pub *p)
{
    char saved[sizeof p->res->error], path[128];
    bool retryable = p->res->retryable;
    snprintf(saved, sizeof saved, "%s", p->res->error);
    snprintf(path, sizeof path, "/v1/pages/%s", p->res->page_id);
    plog(p, "Notion: archiving the incomplete page %s", p->res->url);
    int rc = call(p, CALL_ARCHIVE, "PATCH", path, "{\"archived\":true}",
                  NULL);
    if (rc == NOTION_OK)
        snprintf(p->res->error, sizeof p->res->error, "%s (the incomplete "
                 "page was archived)", saved);
    else
        snprintf(p->res->error, sizeof p->res->error, "%s (the incomplete "
                 "page %s could not be archived)", saved, p->res->url);
    mask_token(p->res->error, p->token);
    p->res->retryable = retryable;
}

/* ---------------------------------------------------------------------
 * Publish
 * ------------------------------------------------------------------- */

/* Builds the header lines.  Returns 0 or -1 (no memory). */
static int make_headers(pub *p)
{
    buf b;
    buf_init(&b, TOKEN_MAX + 64);
    if (buf_printf(&b, "Authorization: Bearer %s", p->token) != 0 ||
        !(p->auth_hdr = buf_take(&b))) {
        buf_free(&b);
        return -1;
    }
    buf_init(&b, 1024);
    if (buf_printf(&b, "Notion-Version: %s", p->version) != 0 ||
        !(p->version_hdr = buf_take(&b))) {
        buf_free(&b);
        return -1;
    }
    p->headers[0] = p->auth_hdr;
    p->headers[1] = p->version_hdr;
    p->headers[2] = "Content-Type: application/json";
    p->headers[3] = NULL;
    return 0;
}

/* Serializes o into *out (caller frees) within BODY_MAX.  Returns
 * NOTION_OK, or NOTION_FAILED with *out NULL. */
static int print_body(pub *p, const cJSON *o, char **out)
{
    *out = cJSON_PrintUnformatted(o);
    if (!*out)
        return fail(p, true, "out of memory");
    if (strlen(*out) > BODY_MAX) {
        free(*out);
        *out = NULL;
        return fail(p, false, "Notion request body is over %u bytes",
                    BODY_MAX);
    }
    return NOTION_OK;
}

static int publish(pub *p, const struct lesson *l, const char *page_url)
{
    cJSON *blocks = build_blocks(l, page_url);
    cJSON *first = NULL, *body = NULL, *page = NULL;
    char *json = NULL;
    int rc;

    if (!blocks)
        return fail(p, true, "out of memory");
    int total = cJSON_GetArraySize(blocks);
    if (page_url && *page_url && !is_http_url(page_url))
        plog(p, "Notion: the lesson page link is left out (not an absolute "
             "http(s) URL)");

    cJSON *parent;
    if (!(first = take_batch(blocks)) || !(body = cJSON_CreateObject()) ||
        !(parent = cJSON_AddObjectToObject(body, "parent")) ||
        !cJSON_AddStringToObject(parent, "database_id", p->dbid)) {
        rc = fail(p, true, "out of memory");
        goto out;
    }
    cJSON *props = build_properties(p, l);
    if (!props || !cJSON_AddItemToObject(body, "properties", props)) {
        cJSON_Delete(props);
        rc = fail(p, true, "out of memory");
        goto out;
    }
    int sent = cJSON_GetArraySize(first);
    if (sent == 0) {            /* a lesson with nothing but a title */
        cJSON_Delete(first);
        first = NULL;
    } else if (!cJSON_AddItemToObject(body, "children", first)) {
        rc = fail(p, true, "out of memory");
        goto out;
    } else {
        first = NULL;           /* owned by body now */
    }
    if ((rc = print_body(p, body, &json)) != NOTION_OK)
        goto out;
    cJSON_Delete(body);
    body = NULL;

    plog(p, "Notion: creating the page \"%.200s\" (%d blocks)",
         l->title_plain ? l->title_plain : "", total);
    rc = call(p, CALL_CREATE, "POST", "/v1/pages", json, &page);
    free(json);
    json = NULL;
    if (rc != NOTION_OK)
        goto out;
    if ((rc = take_page(p, page)) != NOTION_OK)
        goto out;
    plog(p, "Notion: page created: %s", p->res->url);

    char path[128];
    snprintf(path, sizeof path, "/v1/blocks/%s/children", p->res->page_id);
    while (blocks->child) {
        cJSON *batch = take_batch(blocks);
        int n = batch ? cJSON_GetArraySize(batch) : 0;
        if (batch && (body = cJSON_CreateObject()) &&
            cJSON_AddItemToObject(body, "children", batch)) {
            batch = NULL;
            rc = print_body(p, body, &json);
        } else {
            rc = fail(p, true, "out of memory");
        }
        cJSON_Delete(batch);
        cJSON_Delete(body);
        body = NULL;
        if (rc != NOTION_OK) {
            archive_incomplete(p);
            goto out;
        }
        plog(p, "Notion: appending blocks %d-%d of %d", sent + 1, sent + n,
             total);
        rc = call(p, CALL_APPEND, "PATCH", path, json, NULL);
        free(json);
        json = NULL;
        if (rc == NOTION_CANCELED) {
            plog(p, "Notion: canceled; the page %s is incomplete",
                 p->res->url);
            goto out;
        }
        if (rc != NOTION_OK) {
            archive_incomplete(p);
            goto out;
        }
        sent += n;
    }
    plog(p, "Notion: published %d blocks in %d requests", sent,
         p->res->requests);
    rc = NOTION_OK;
out:
    free(json);
    cJSON_Delete(page);
    cJSON_Delete(body);
    cJSON_Delete(first);
    cJSON_Delete(blocks);
    return rc;
}

int notion_publish_lesson(const struct notion_env *env, const char *database_id,
                          const struct lesson *l, const char *page_url,
                          atomic_bool *cancel, struct notion_result *res)
{
    pub p;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&p, 0, sizeof p);
    p.res = res;
    if (!env) {
        snprintf(res->error, sizeof res->error, "notion_publish_lesson: "
                 "missing settings");
        return NOTION_FAILED;
    }
    if ((rc = resolve(&p, env, database_id)) != 0)
        return rc;
    if (!l || !l->title)
        return fail(&p, false, "notion_publish_lesson: no lesson");
    if (is_canceled(cancel))
        return canceled(&p);
    p.cancel = cancel;
    p.seed = (uint64_t)bb_mono_us() | 1u;
    if (make_headers(&p) != 0) {
        rc = fail(&p, true, "out of memory");
    } else {
        rc = publish(&p, l, page_url);
    }
    if (p.auth_hdr) {
        sodium_memzero(p.auth_hdr, strlen(p.auth_hdr));
        free(p.auth_hdr);
    }
    free(p.version_hdr);
    return rc;
}

/* notion.h — the Notion publishing client of the lesson workflow
 * (docs/lesson-workflow.md, step 4): turns a parsed lesson into a page of a Notion database through
 * the public REST API (POST /v1/pages, then PATCH /v1/blocks/{id}/children
 * for content past the first 100 blocks), over the project's libcurl
 * client (http_client.h).  What is sent is described in docs/notion.md.
 *
 * Retries: 429 (Retry-After honoured, capped), 409, 5xx and connection
 * failures are retried with exponential backoff and jitter; 400, 401, 403
 * and 404 are not.  Requests of one publish are spaced by throttle_ms.
 * The token is sent only in the Authorization header and never appears in
 * a log line, an error message or a result (any echo of it by the server
 * is masked).
 *
 * Thread-safe: no shared mutable state; any number of workers may publish
 * at once (each spacing only its own requests). */
#ifndef BB_NOTION_H
#define BB_NOTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/lesson.h"

#define NOTION_DEFAULT_BASE_URL "https://api.notion.com"
#define NOTION_DEFAULT_VERSION "2022-06-28"
#define NOTION_TEXT_MAX 2000        /* characters (UTF-16 units) in one text object */
#define NOTION_RICH_TEXT_MAX 100    /* text objects in one block */
#define NOTION_CHILDREN_MAX 100     /* blocks in one request */

enum notion_status {
    NOTION_OK = 0,
    NOTION_FAILED = -1,    /* res->error says why, res->retryable whether
                              a later attempt may succeed */
    NOTION_CANCELED = -2,  /* *cancel became true */
};

/* Settings of one publish; strings are borrowed for the call.  Fill with
 * notion_env_defaults() first.  notion_publish_lesson() also accepts
 * zeroes: NULL/"" strings (except level_property) and timeouts, delays
 * and caps <= 0 take the defaults below; max_retries and throttle_ms < 0
 * take theirs (0 means no retry / no spacing). */
/* The clock behind the throttle and the retry waits.  NULL in notion_env
 * (the default) means the monotonic clock (bb_mono_us) and a sleep that
 * polls the cancel flag every 20 ms; tests inject a virtual clock to check
 * the spacing of requests without measuring wall-clock gaps. */
struct notion_clock {
    int64_t (*now_us)(void *ud);                                /* > 0 */
    bool (*sleep_ms)(void *ud, long ms, atomic_bool *cancel);   /* false: canceled */
    void *ud;
};

struct notion_env {
    const char *base_url;        /* default "https://api.notion.com"; tests point it at 127.0.0.1 */
    /* integration secret (from env NOTION_TOKEN, read by the caller);
     * NULL/"" -> error before any request */
    const char *token;
    const char *version;         /* Notion-Version header, default "2022-06-28" */
    const char *title_property;  /* database title property name, default "Name" */
    const char *level_property;  /* default "Level"; NULL or "" = don't set it */
    const char *level_type;      /* "select" (default) or "rich_text" */
    long connect_timeout_ms;     /* default 10000 */
    long request_timeout_ms;     /* per HTTP attempt, default 30000 */
    /* retries after the first attempt on 429/5xx/409/connection errors;
     * default 5 (like NOTION_COLORIZER_MAX_RETRIES); at most 20 */
    int max_retries;
    /* backoff base, doubled per retry, +0-25% jitter; default 1000
     * (NOTION_COLORIZER_RETRY_DELAY_MS) */
    int retry_delay_ms;
    int retry_max_ms;            /* caps the wait, Retry-After included; default 30000 */
    /* minimum gap between the starts of consecutive requests of one
     * publish; default 350 (NOTION_COLORIZER_THROTTLE_MS; Notion allows
     * ~3 req/s) */
    int throttle_ms;
    void (*log)(void *ud, const char *line);  /* progress/retry lines, may be NULL */
    void *ud;
    const struct notion_clock *clock;  /* borrowed; NULL = the real clock */
};

struct notion_result {
    char url[512];       /* the page's "url" from Notion's answer */
    char page_id[64];    /* the page's id as Notion returned it */
    int requests;        /* HTTP requests started (retries included) */
    bool retryable;      /* NOTION_FAILED only */
    char error[512];     /* NOTION_FAILED / NOTION_CANCELED: one line */
};

/* Creates a page in database_id for lesson l: properties = title (the
 * lesson's plain title) and level (when l->level and level_property are
 * set); children = the content: topic line, then per section a heading_2
 * and its items (dialogue lines as paragraphs with the speaker in bold,
 * directions in italic, reading paragraphs, vocabulary as
 * bulleted_list_item "term — meaning" with the term bold, ### headings as
 * heading_3, raw lines as paragraphs, blank RAW lines skipped), and, when
 * page_url is an absolute http(s) URL, a final paragraph "Lesson page and
 * audio: <link>".  Texts are the items' plain forms.  Text over 2000
 * characters is split into several text objects on UTF-8 boundaries, at
 * most 100 per block (longer text continues in a block of the same kind).
 * The create request carries the first 100 blocks; the rest are appended
 * in batches of 100 (each request body also stays under ~400 KB).
 *
 * database_id is sent as given (with or without dashes).  cancel may be
 * NULL.  Returns NOTION_OK with res->url and res->page_id;
 * NOTION_FAILED with res->error (e.g. "Notion rejected the token (HTTP
 * 401: API token is invalid.)") and res->retryable; NOTION_CANCELED when
 * *cancel became true (a transfer is aborted within about a second, waits
 * are cut short).  When appending fails after the page was created, the
 * incomplete page is archived (best effort, logged) so that a retry does
 * not leave a half page behind; on cancel it is left as it is and
 * res->url/page_id name it.  *res is always filled. */
int notion_publish_lesson(const struct notion_env *env, const char *database_id,
                          const struct lesson *l, const char *page_url,
                          atomic_bool *cancel, struct notion_result *res);

/* Fills env with the defaults above (all pointers to static strings,
 * token NULL, log NULL). */
void notion_env_defaults(struct notion_env *env);

#endif

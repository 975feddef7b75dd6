/* jobs.c — job routes: submit, list, get, logs, artifacts, actions.  Each
 * parses the request, calls a job service (service/jobs.c,
 * service/job_reads.c) and renders the result. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civetweb.h"
#include "cJSON.h"
#include "domain/artifact.h"
#include "http/http.h"
#include "http/hub.h"
#include "service/batches.h"
#include "service/job_reads.h"
#include "service/jobs.h"
#include "util/buf.h"
#include "util/util.h"

void route_jobs_submit(http_req *r)
{
    int64_t id = 0;
    bool existed = false;
    const char *key = http_header(r, "Idempotency-Key");
    if (svc_job_submit(r->app, &r->who, r->json, key, r->body, r->body_len, &id, &existed,
                       &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "Location: /api/v1/jobs/%lld\r\n%s", (long long)id,
             existed ? "Idempotent-Replayed: true\r\n" : "");
    r->job_id = id;
    if (cJSON_GetObjectItemCaseSensitive(r->json, "sweep")) {
        /* a batch: 201 with the parent's DTO (docs/batches.md) */
        job parent;
        if (svc_job_get(r->app, &r->who, id, &parent, &r->err) != BB_OK) {
            http_reply_failed(r);
            return;
        }
        cJSON *dto = job_to_dto(&parent);
        job_clear(&parent);
        if (!dto) {
            http_reply_error(r, BB_EINTERNAL, "out of memory");
            return;
        }
        http_reply_doc(r, 201, dto, loc);
        return;
    }
    char out[64];
    int n = snprintf(out, sizeof out, "{\"jobId\":\"%lld\"}", (long long)id);
    http_reply_bytes(r, 202, "application/json", out, (size_t)n, loc);
}

/* A page of jobs (GET /jobs, /jobs/:id/children with batch_of = :id):
 * the query values, each reported when too long for its buffer. */
static void jobs_page(http_req *r, int64_t batch_of)
{
    static const char *const names[] = {"state", "preset", "q", "limit", "cursor", "children",
                                        "batch", "createdAfter", "createdBefore", "owner",
                                        "outOfAttempts"};
    static const size_t caps[] = {32, 128, 256, 16, 32, 8, 32, 40, 40, 24, 8};
    enum { NQ = sizeof names / sizeof names[0] };
    char vals[NQ][256];
    const char *got[NQ];
    /* a value too long for its buffer is reported, not truncated */
    const char *qs = r->ri->query_string;
    for (size_t i = 0; i < NQ; i++) {
        got[i] = http_query(r, names[i], vals[i], caps[i]);
        char probe[2];
        if (!got[i] && qs && mg_get_var(qs, strlen(qs), names[i], probe, sizeof probe) == -2)
            bb_fail_field(&r->err, names[i], "value is too long");
    }
    struct job_query q = {.state = got[0], .preset = got[1], .q = got[2], .limit = got[3],
                          .cursor = got[4], .children = got[5], .batch = got[6],
                          .created_after = got[7], .created_before = got[8], .owner = got[9],
                          .out_of_attempts = got[10]};
    struct job_page page;
    if (r->err.code != BB_OK || svc_jobs_page(r->app, &r->who, &q, batch_of, &page,
                                              &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(arr, job_to_dto(&page.items[i]));
    if (page.next_cursor[0])
        cJSON_AddStringToObject(doc, "nextCursor", page.next_cursor);
    else
        cJSON_AddNullToObject(doc, "nextCursor");
    job_page_clear(&page);
    http_reply_doc(r, 200, doc, NULL);
}

void route_jobs_list(http_req *r)
{
    jobs_page(r, 0);
}

void route_job_children(http_req *r)
{
    int64_t id;
    if (http_job_id_or_reply(r, &id))
        jobs_page(r, id);
}

/* Parses :id and checks the caller may see that job (404 otherwise).
 * With out, the job is returned (caller clears it). */
static bool visible_job_or_reply(http_req *r, int64_t *id, job *out)
{
    if (!http_job_id_or_reply(r, id))
        return false;
    job j;
    if (svc_job_get(r->app, &r->who, *id, &j, &r->err) != BB_OK) {
        http_reply_failed(r);
        return false;
    }
    if (out)
        *out = j;
    else
        job_clear(&j);
    return true;
}

void route_job_get(http_req *r)
{
    int64_t id;
    job j;
    if (!visible_job_or_reply(r, &id, &j))
        return;
    char *text = job_dto_json(&j);
    job_clear(&j);
    if (!text) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        return;
    }
    http_reply_bytes(r, 200, "application/json", text, strlen(text), "Cache-Control: no-store\r\n");
    free(text);
}

/* A log reply is written in pieces of about LOG_PIECE bytes: the buffer
 * never holds more than one piece and one line (lines are at most 8 KiB,
 * docs/api.md), however long the log. */
#define LOG_PIECE (64 * 1024)
#define LOG_BUF_CAP (LOG_PIECE + 64 * 1024)
#define LOG_PAGE_LINES 1000

struct logs_out {
    buf b;
    http_req *r;
    bool stream;             /* the head is sent: write pieces as they fill */
    bool failed;             /* a write failed (the client left) */
};

/* Appends one line; a job's line that begins like a system line gets
 * "[job] " before it, so only batchbox's own lines start with
 * "[batchbox" (docs/api.md). */
static int collect_line(void *ud, const char *stream, const char *line)
{
    struct logs_out *o = ud;
    if (hub_log_line(&o->b, stream, line) != 0) {
        o->failed = true;        /* out of memory: this line would be lost */
        return 1;
    }
    if (o->b.len < LOG_PIECE)
        return 0;
    if (!o->stream)
        return 1;                /* a piece is ready before the head: stop here */
    if (http_write(o->r, o->b.data, o->b.len) != 0) {
        o->failed = true;
        return 1;
    }
    buf_reset(&o->b);
    return 0;
}

/* Sends every log line of job id after *last, page by page; before the
 * head is sent (!o->stream) the lines stay in o->b.  *last advances to
 * the newest line read.  -1 when the database fails or a write does (the
 * client left). */
static int send_lines(http_req *r, int64_t id, struct logs_out *o, int64_t *last)
{
    for (;;) {
        int64_t before = *last;
        if (repo_job_logs(r->app->db, id, *last, LOG_PAGE_LINES, collect_line, o, last) !=
                BB_OK ||
            o->failed)
            return -1;
        if (o->stream) {
            if (o->b.len && http_write(r, o->b.data, o->b.len) != 0)
                return -1;
            buf_reset(&o->b);
        }
        if (*last == before || !o->stream)
            return 0;
    }
}

/* Whether the job has ended, from the database (a job that vanished or
 * cannot be read counts as ended). */
static bool job_ended(http_req *r, int64_t id)
{
    job cur;
    bb_errctx e = {0};
    if (svc_job_get(r->app, &r->who, id, &cur, &e) != BB_OK) {
        bb_err_clear(&e);
        return true;
    }
    bool ended = job_state_terminal(cur.state);
    job_clear(&cur);
    return ended;
}

/* GET /jobs/:id/logs?follow=1 on this request's civetweb thread until the
 * stream is live:
 *   1. a slot in the stream hub (per-user and total limits, as events);
 *   2. subscribe to the bus for this job's events, logs included, before
 *      anything is read, so nothing committed later is missed;
 *   3. send the lines in the log so far; if the job has already ended,
 *      that was all (its lines commit before its final state);
 *   4. hand the socket to the stream hub (hub.c), which reads the new
 *      lines from the database whenever the bus says there are some, ends
 *      the reply after the job's terminal state, and closes it at once when
 *      the client goes or its session ends. */
static void follow_logs(http_req *r, int64_t id, int64_t owner, struct logs_out *o)
{
    if (hub_admit(r->app->hub, r->who.user_id, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    const struct bus_filter f = {.job_id = id, .logs = true};
    int64_t published, last = 0;
    bus_sub *sub = bus_subscribe(r->app->bus, &f, &published);
    if (!sub) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
    } else if (http_begin_stream(r, 200, "text/plain; charset=utf-8",
                                 "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n") == 0) {
        bool ended = job_ended(r, id);
        if (send_lines(r, id, o, &last) == 0 && !ended) {
            const struct hub_stream st = {
                .kind = HUB_LOGS, .f = f, .user_id = r->who.user_id, .admin = r->who.admin,
                .session_id = r->session_id, .expires_ms = r->access_expires_ms,
                .job_owner = owner, .log_last = last,
            };
            (void)hub_adopt(r->app->hub, r, &st, sub);   /* takes sub and the slot */
            return;
        }
    }
    bus_unsubscribe(r->app->bus, sub);
    hub_release(r->app->hub, r->who.user_id);
}

/* GET /jobs/:id/logs: the first page is read before the head, so a
 * database error is still a 500; then the head (no Content-Length: the
 * reply ends when the connection closes) and the rest in pieces. */
void route_job_logs(http_req *r)
{
    int64_t id;
    job j;
    if (!visible_job_or_reply(r, &id, &j))
        return;
    int64_t owner = j.owner_id;
    job_clear(&j);
    char fv[8];
    const char *follow = http_query(r, "follow", fv, sizeof fv);
    bool stream = follow && (strcmp(follow, "1") == 0 || strcmp(follow, "true") == 0);
    struct logs_out o = {.r = r};
    buf_init(&o.b, LOG_BUF_CAP);
    if (!stream) {
        int64_t last = 0;
        if (send_lines(r, id, &o, &last) != 0) {
            http_reply_error(r, BB_EIO, "database error");
        } else if (http_begin_stream(r, 200, "text/plain; charset=utf-8",
                                     "Cache-Control: no-store\r\n") == 0 &&
                   strcmp(r->method, "HEAD") != 0) {
            o.stream = true;
            if (o.b.len == 0 || http_write(r, o.b.data, o.b.len) == 0) {
                buf_reset(&o.b);
                (void)send_lines(r, id, &o, &last);
            }
        }
        buf_free(&o.b);
        return;
    }
    o.stream = true;
    if (strcmp(r->method, "HEAD") == 0)
        (void)http_begin_stream(r, 200, "text/plain; charset=utf-8",
                                "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n");
    else
        follow_logs(r, id, owner, &o);
    buf_free(&o.b);
}

void route_job_artifacts(http_req *r)
{
    int64_t id;
    struct artifact_rec *arts;
    size_t n;
    if (!http_job_id_or_reply(r, &id))
        return;
    if (svc_job_artifacts(r->app, &r->who, id, &arts, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < n; i++) {
        cJSON *a = cJSON_CreateObject();
        char url[1024];
        artifact_local_url(url, sizeof url, id, arts[i].name);
        cJSON_AddStringToObject(a, "name", arts[i].name);
        cJSON_AddNumberToObject(a, "size", (double)arts[i].size);
        cJSON_AddStringToObject(a, "contentType", arts[i].content_type);
        cJSON_AddStringToObject(a, "sha256", arts[i].sha256);
        cJSON_AddStringToObject(a, "url", url);
        cJSON_AddItemToArray(items, a);
    }
    repo_artifacts_free(arts, n);
    http_reply_doc(r, 200, doc, NULL);
}

void route_job_artifact(http_req *r)
{
    int64_t id;
    struct artifact_rec a;
    struct store *st;
    if (!http_job_id_or_reply(r, &id))
        return;
    struct artifact_serving how;
    if (svc_job_artifact_open_serving(r->app, &r->who, id, http_param(r, "name"), &a, &st, &how,
                                      &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    static const int policy[] = {
        [ARTIFACT_PASSIVE] = HTTP_SERVE_SANDBOX, [ARTIFACT_ACTIVE] = HTTP_SERVE_ATTACHMENT,
        [ARTIFACT_LESSON_PAGE] = HTTP_SERVE_LESSON_PAGE,
        [ARTIFACT_LESSON_ASSET] = HTTP_SERVE_LESSON_ASSET,
    };
    r->serve_policy = policy[how.trust];
    http_serve_object(r, st, a.location, a.size, a.sha256, how.content_type, a.name);
    repo_artifact_clear(&a);
}

/* Runs the action body {type, payload} on job id and answers. */
static void reply_action(http_req *r, int64_t id, const cJSON *body)
{
    bb_errctx e = {0};
    cJSON *reply = NULL;
    int status = 200;
    if (svc_job_action(r->app, &r->who, id, body, &reply, &status, &e) != BB_OK)
        http_reply_err(r, &e);
    else
        http_reply_json(r, status, reply);
    cJSON_Delete(reply);
    bb_err_clear(&e);
}

/* POST /jobs/:id/rerun/audio {voiceId?, voiceAccent?, forceTts?} — the
 * rerun_audio action under its own path; an empty body means no changes. */
void route_job_rerun_audio(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    cJSON *payload = NULL;
    bool empty = r->ri->content_length <= 0 && !http_header(r, "Transfer-Encoding");
    if (!empty && !(payload = http_json_body_or_reply(r)))
        return;
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "type", "rerun_audio")) {
        cJSON_Delete(body);
        cJSON_Delete(payload);
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        return;
    }
    if (payload)
        cJSON_AddItemToObject(body, "payload", payload); /* body owns it now */
    reply_action(r, id, body);
    cJSON_Delete(body);
}

void route_job_action(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    cJSON *body = http_json_body_or_reply(r);
    if (!body)
        return;
    reply_action(r, id, body);
    cJSON_Delete(body);
}

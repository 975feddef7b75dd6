/* job_reads.c — reading jobs for a caller (see job_reads.h).  Runs on the
 * caller's thread with the database's read connections. */
#include "service/job_reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/upload.h"
#include "infra/storage/storage.h"
#include "service/jobs.h"
#include "service/uploads.h"
#include "util/util.h"

int svc_job_page_fill(bb_app *app, const struct job_filter *f, struct job_page *out,
                      bb_errctx *e)
{
    if (repo_job_list(app->db, f, &out->items, &out->n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    if (out->n == (size_t)f->limit && out->n > 0)
        snprintf(out->next_cursor, sizeof out->next_cursor, "%lld",
                 (long long)out->items[out->n - 1].id);
    return BB_OK;
}

void job_page_clear(struct job_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        job_clear(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

int svc_job_visible(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    job j;
    if (svc_job_get(app, who, id, &j, e) != BB_OK)
        return e->code;
    job_clear(&j);
    return BB_OK;
}

int svc_job_artifacts(bb_app *app, const struct principal *who, int64_t id,
                      struct artifact_rec **out, size_t *n, bb_errctx *e)
{
    *out = NULL;
    *n = 0;
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    if (repo_artifacts_list(app->db, id, out, n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

int svc_job_artifact_open(bb_app *app, const struct principal *who, int64_t id,
                          const char *name, struct artifact_rec *out, struct store **st,
                          bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return bb_fail(e, BB_ENOTFOUND, "no such artifact");
    int rc = repo_artifact_get(app->db, id, name, out);
    if (rc != BB_OK)
        return bb_fail(e, rc == BB_ENOTFOUND ? BB_ENOTFOUND : BB_EIO, "%s",
                       rc == BB_ENOTFOUND ? "no such artifact" : "database error");
    *st = svc_store_for(app, out->storage);
    if (!*st) {
        repo_artifact_clear(out);
        return bb_fail(e, BB_EUNAVAIL,
                       "the artifact is in S3 storage, which is not configured now");
    }
    return BB_OK;
}

/* ---- serving an artifact ---------------------------------------------- */

/* Types named by a file name that a browser would run or render as a
 * document of the server's origin. */
static bool active_type(const char *type)
{
    static const char *const active[] = {
        "text/html", "image/svg+xml", "application/xml", "text/xml", "text/javascript",
        "application/javascript", "application/xhtml+xml", "text/css",
    };
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++)
        if (strncmp(type, active[i], strlen(active[i])) == 0)
            return true;
    return false;
}

/* Binary types whose name-given type is kept when the content sniffer
 * does not know the format (video, fonts, gzip): passive, so harmless
 * under nosniff. */
static bool passive_binary(const char *type)
{
    return strncmp(type, "video/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
           strncmp(type, "font/", 5) == 0 || strcmp(type, "application/gzip") == 0 ||
           strcmp(type, "image/png") == 0 || strcmp(type, "image/jpeg") == 0 ||
           strcmp(type, "image/gif") == 0 || strcmp(type, "image/webp") == 0;
}

struct head {
    unsigned char *data;     /* borrowed, UPLOAD_SNIFF_MAX bytes */
    size_t len;
};

static int keep_head(void *ud, const void *data, size_t n)
{
    struct head *h = ud;
    size_t take = n < UPLOAD_SNIFF_MAX - h->len ? n : UPLOAD_SNIFF_MAX - h->len;
    memcpy(h->data + h->len, data, take);
    h->len += take;
    return h->len >= UPLOAD_SNIFF_MAX;
}

/* The type of a's content from its first bytes (read from st); "" when
 * they cannot be read. */
static void sniff_artifact(struct store *st, const struct artifact_rec *a, char *type,
                           size_t cap)
{
    type[0] = '\0';
    unsigned char *buf = malloc(UPLOAD_SNIFF_MAX);
    if (!buf)
        return;
    struct head h = {.data = buf};
    struct store_err se = {0};
    int64_t want = a->size < UPLOAD_SNIFF_MAX ? a->size : UPLOAD_SNIFF_MAX;
    if (want == 0 || store_get(st, a->location, 0, want, keep_head, &h, &se) == 0) {
        char t[UPLOAD_TYPE_MAX];
        const char *named = bb_content_type_for(a->name);
        if (upload_sniff(buf, h.len, a->name, t, sizeof t))
            bb_strlcpy(type, t, cap);
        else
            bb_strlcpy(type, passive_binary(named) ? named : "application/octet-stream", cap);
    }
    free(buf);
}

int svc_job_artifact_open_serving(bb_app *app, const struct principal *who, int64_t id,
                                  const char *name, struct artifact_rec *out,
                                  struct store **st, struct artifact_serving *how,
                                  bb_errctx *e)
{
    memset(how, 0, sizeof *how);
    job j;
    if (svc_job_get(app, who, id, &j, e) != BB_OK)
        return e->code;
    const bb_preset *p = config_preset(app->cfg, j.preset);
    bool lesson = p && p->workflow == BB_WF_LESSON;
    job_clear(&j);
    if (svc_job_artifact_open(app, who, id, name, out, st, e) != BB_OK)
        return e->code;
    const char *named = bb_content_type_for(out->name);
    if (lesson && strcmp(out->name, "lesson.html") == 0) {
        how->trust = ARTIFACT_LESSON_PAGE;
        bb_strlcpy(how->content_type, named, sizeof how->content_type);
        return BB_OK;
    }
    if (lesson && (strcmp(out->name, "lesson.js") == 0 || strcmp(out->name, "lesson.css") == 0)) {
        how->trust = ARTIFACT_LESSON_ASSET;
        bb_strlcpy(how->content_type, named, sizeof how->content_type);
        return BB_OK;
    }
    how->trust = active_type(named) ? ARTIFACT_ACTIVE : ARTIFACT_PASSIVE;
    sniff_artifact(*st, out, how->content_type, sizeof how->content_type);
    if (!how->content_type[0]) {
        repo_artifact_clear(out);
        return bb_fail(e, BB_EIO, "the artifact cannot be read from storage");
    }
    return BB_OK;
}

int svc_job_logs(bb_app *app, int64_t id, int64_t after, int limit,
                 int (*fn)(void *ud, const char *stream, const char *line), void *ud,
                 int64_t *last, bb_errctx *e)
{
    if (repo_job_logs(app->db, id, after, limit, fn, ud, last) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

bool svc_events_id_lost(bb_app *app, int64_t id, int64_t newest)
{
    bool lost = false;
    if (id > newest)
        return true;
    return repo_events_id_lost(app->db, id, &lost) == BB_OK && lost;
}

int svc_events_replay(bb_app *app, int64_t after, int64_t upto, const struct bus_filter *f,
                      int (*fn)(void *ud, int64_t id, const char *type, const char *payload),
                      void *ud)
{
    return repo_events_replay(app->db, after, upto, f->owner_id, f->job_id, f->logs, fn, ud);
}

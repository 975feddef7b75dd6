/* gallery.c — the gallery of a batch or job, picks, and the streamed ZIP
 * of its outputs (see gallery.h and docs/gallery.md).
 *
 * The ZIP, step by step, all on the calling (civetweb connection) thread:
 *   1. the gallery's rows are read (jobs and artifacts: metadata only) and
 *      every artifact's store is resolved, so a missing job, an empty
 *      selection or an unconfigured store is answered with a JSON error
 *      before any byte of the archive;
 *   2. begin() lets the route send the response head;
 *   3. libarchive writes the ZIP into its one block buffer
 *      (GALLERY_ZIP_BLOCK), handing each full block to the sink; each
 *      artifact is read from its store (fs or s3) chunk by chunk and fed
 *      to archive_write_data, so at no point is an artifact or the archive
 *      held in memory;
 *   4. on any failure after begin (the client left, a store error, an
 *      object whose size differs from its row) the sink is closed to
 *      further bytes before libarchive is freed, so the central directory
 *      is never written and the client holds a visibly broken archive, not
 *      a complete-looking one missing data. */
#include "service/gallery.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"
#include "infra/config.h"
#include "infra/exec/workflow.h"
#include "infra/storage/storage.h"
#include "service/job_reads.h"
#include "service/uploads.h"
#include "util/bb_assert.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/util.h"

void gallery_clear(struct gallery *g)
{
    free(g->sweep);
    repo_gallery_jobs_free(g->jobs, g->njobs);
    repo_artifacts_free(g->arts, g->narts);
    free(g->items);
    free(g->qa);
    memset(g, 0, sizeof *g);
}

/* Whether name is one of records (NULL-terminated, may be NULL). */
static bool is_record_file(const char *const *records, const char *name)
{
    for (const char *const *f = records; f && *f; f++) {
        if (name && strcmp(name, *f) == 0)
            return true;
    }
    return false;
}

/* Moves the outputs of arts[0..n) to its front (in their order, the
 * files the workflow of preset_id keeps for the record after them —
 * workflow.record_files: not outputs, so not in the gallery — still owned
 * by the array) and returns their count. */
static size_t keep_outputs(const bb_config *cfg, const char *preset_id,
                           struct artifact_rec *arts, size_t n)
{
    const bb_preset *p = n > 0 && preset_id ? config_preset(cfg, preset_id) : NULL;
    const struct workflow *wf = p ? workflow_of(p->workflow) : NULL;
    const char *const *records = wf ? wf->record_files : NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_record_file(records, arts[i].name))
            continue;
        if (i != kept) {
            struct artifact_rec t = arts[kept];
            arts[kept] = arts[i];
            arts[i] = t;
        }
        kept++;
    }
    return kept;
}

/* Pairs each job with its run of artifacts (both lists are in job id
 * order), outputs only; with picked_only, jobs without an artifact are
 * left out. */
static int build_items(const bb_config *cfg, struct gallery *g, bool picked_only)
{
    g->items = calloc(g->njobs ? g->njobs : 1, sizeof *g->items);
    if (!g->items)
        return -1;
    size_t a = 0, q = 0;
    for (size_t i = 0; i < g->njobs; i++) {
        const struct gallery_job_rec *j = &g->jobs[i];
        while (a < g->narts && g->arts[a].job_id < j->id)
            a++;   /* an artifact of no listed job: cannot happen, skipped */
        size_t first = a;
        while (a < g->narts && g->arts[a].job_id == j->id)
            a++;
        while (q < g->nqa && g->qa[q].job_id < j->id)
            q++;
        size_t kept = keep_outputs(cfg, j->preset, g->arts + first, a - first);
        if (picked_only && kept == 0)
            continue;
        g->items[g->nitems++] = (struct gallery_item){
            .job = j, .arts = kept > 0 ? &g->arts[first] : NULL, .narts = kept,
            .qa = q < g->nqa && g->qa[q].job_id == j->id ? &g->qa[q] : NULL};
    }
    return 0;
}

int svc_gallery_get(bb_app *app, const struct principal *who, int64_t id, bool picked_only,
                    struct gallery *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    out->job_id = id;
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    int rc = repo_gallery_head(app->db, id, &out->is_batch, &out->sweep);
    if (rc == BB_OK)
        rc = repo_gallery_jobs(app->db, id, out->is_batch, &out->jobs, &out->njobs);
    if (rc == BB_OK)
        rc = repo_gallery_artifacts(app->db, id, out->is_batch, picked_only, &out->arts,
                                    &out->narts);
    if (rc == BB_OK)
        rc = repo_segment_gallery_counts(app->db, id, out->is_batch, &out->qa, &out->nqa);
    if (rc == BB_OK && build_items(app->cfg, out, picked_only) != 0)
        rc = BB_EINTERNAL;
    if (rc != BB_OK) {
        gallery_clear(out);
        if (rc == BB_ENOTFOUND)
            return bb_fail(e, BB_ENOTFOUND, "no such job");
        return bb_fail(e, rc == BB_EINTERNAL ? BB_EINTERNAL : BB_EIO, "%s",
                       rc == BB_EINTERNAL ? "out of memory" : "database error");
    }
    return BB_OK;
}

cJSON *gallery_swept_names(const char *sweep)
{
    cJSON *names = cJSON_CreateArray();
    cJSON *doc = sweep ? cJSON_Parse(sweep) : NULL;
    if (names && cJSON_IsObject(doc)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, doc)
        {
            if (it->string)
                cJSON_AddItemToArray(names, cJSON_CreateString(it->string));
        }
    }
    cJSON_Delete(doc);
    return names;
}

/* The rule of svc_job_artifact_open: an artifact name is one path
 * segment, never "." or "..". */
static bool artifact_name_ok(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

int svc_artifact_pick(bb_app *app, const struct principal *who, int64_t id, const char *name,
                      bool picked, bb_errctx *e)
{
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    if (!artifact_name_ok(name))
        return bb_fail(e, BB_ENOTFOUND, "no such artifact");
    int rc = repo_artifact_set_picked(app->db, id, name, picked);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such artifact");
    if (rc == BB_EUNAVAIL)
        return bb_fail(e, BB_EUNAVAIL, "shutting down");
    if (rc != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

/* ---- the ZIP --------------------------------------------------------- */

bool gallery_zip_stored(const char *content_type)
{
    static const char *const packed[] = {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
        "audio/mpeg", "audio/ogg", "audio/flac", "audio/mp4", "audio/aac", "audio/opus",
        "audio/webm", "video/", "application/zip", "application/gzip", "application/pdf",
        "application/x-xz", "application/zstd", "application/x-bzip2", "font/woff2",
    };
    if (!content_type)
        return false;
    size_t len = strcspn(content_type, "; ");
    for (size_t i = 0; i < sizeof packed / sizeof packed[0]; i++) {
        size_t n = strlen(packed[i]);
        bool prefix = packed[i][n - 1] == '/';
        if ((prefix ? len >= n : len == n) && strncasecmp(content_type, packed[i], n) == 0)
            return true;
    }
    return false;
}

/* One ZIP being written: the sink, whether it still takes bytes, and the
 * bytes of the current entry fed so far. */
struct zip_run {
    const struct zip_sink *sink;
    struct archive *a;
    bool closed;         /* no byte more goes to the sink */
    bool sink_failed;    /* the sink refused a block (client gone) */
    int64_t fed;
    char *err;
    size_t errlen;
};

static la_ssize_t zip_out(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct zip_run *z = ud;
    if (z->closed) {
        archive_set_error(a, ECANCELED, "the archive was abandoned");
        return -1;
    }
    if (z->sink->write(z->sink->ud, buf, n) != 0) {
        z->sink_failed = true;
        z->closed = true;
        archive_set_error(a, EPIPE, "the client stopped reading");
        return -1;
    }
    return (la_ssize_t)n;
}

/* store_get's chunk callback: everything into the current entry. */
static int feed(void *ud, const void *data, size_t n)
{
    struct zip_run *z = ud;
    const char *p = data;
    while (n > 0) {
        la_ssize_t w = archive_write_data(z->a, p, n);
        if (w <= 0) {
            snprintf(z->err, z->errlen, "%s", z->sink_failed ? "the client stopped reading"
                                                             : archive_error_string(z->a));
            return 1;
        }
        z->fed += w;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes one entry: header, then its bytes from the store.  0 or -1 with
 * z->err set. */
static int write_entry(struct zip_run *z, struct archive_entry *en, const struct zip_entry *ze)
{
    archive_entry_clear(en);
    archive_entry_set_pathname_utf8(en, ze->path);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, ze->size);
    int64_t ms = ze->mtime_ms > 0 ? ze->mtime_ms : bb_now_ms();
    archive_entry_set_mtime(en, (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L);
    int rc = gallery_zip_stored(ze->content_type) ? archive_write_zip_set_compression_store(z->a)
                                                  : archive_write_zip_set_compression_deflate(z->a);
    if (rc == ARCHIVE_OK)
        rc = archive_write_header(z->a, en);
    if (rc < ARCHIVE_WARN) {
        snprintf(z->err, z->errlen, "%s: %s", ze->path,
                 z->sink_failed ? "the client stopped reading" : archive_error_string(z->a));
        return -1;
    }
    z->fed = 0;
    struct store_err se = {0};
    z->err[0] = '\0';
    if (store_get(ze->st, ze->key, 0, -1, feed, z, &se) != 0) {
        snprintf(z->err, z->errlen, "%s: %s", ze->path, se.message);
        return -1;
    }
    if (z->err[0])
        return -1;
    if (z->fed != ze->size) {
        snprintf(z->err, z->errlen, "%s: the store holds %" PRId64 " bytes, not %" PRId64,
                 ze->path, z->fed, ze->size);
        return -1;
    }
    if (archive_write_finish_entry(z->a) < ARCHIVE_WARN) {
        snprintf(z->err, z->errlen, "%s: %s", ze->path, archive_error_string(z->a));
        return -1;
    }
    return 0;
}

/* libarchive takes the names' character set from the thread's locale
 * (nl_langinfo(CODESET)).  The server runs in the "C" locale, where a
 * UTF-8 name cannot be converted (and the static release build has no
 * iconv to try), so the writer runs under a thread-local C.UTF-8 LC_CTYPE:
 * names pass through unchanged and carry ZIP's UTF-8 flag.  Other
 * categories, and other threads, keep "C".  Returns the locale to restore
 * (use_utf8_end), or 0 when C.UTF-8 is not available. */
static locale_t use_utf8_begin(locale_t *mine)
{
    *mine = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return *mine ? uselocale(*mine) : (locale_t)0;
}

static void use_utf8_end(locale_t old, locale_t mine)
{
    if (mine) {
        uselocale(old);
        freelocale(mine);
    }
}

static int zip_write_all(const struct zip_entry *ents, size_t n, const struct zip_sink *sink,
                         char *err, size_t errlen);

int gallery_zip_write(const struct zip_entry *ents, size_t n, const struct zip_sink *sink,
                      char *err, size_t errlen)
{
    locale_t mine;
    locale_t old = use_utf8_begin(&mine);
    int rc = zip_write_all(ents, n, sink, err, errlen);
    use_utf8_end(old, mine);
    return rc;
}

static int zip_write_all(const struct zip_entry *ents, size_t n, const struct zip_sink *sink,
                         char *err, size_t errlen)
{
    struct zip_run z = {.sink = sink, .err = err, .errlen = errlen};
    err[0] = '\0';
    z.a = archive_write_new();
    struct archive_entry *en = archive_entry_new();
    int rc = z.a && en ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    /* one block buffer, flushed to the sink when full; the last one is not
     * padded (a ZIP ends with its central directory) */
    if (rc == 0 && (archive_write_set_format_zip(z.a) != ARCHIVE_OK ||
                    archive_write_set_bytes_per_block(z.a, GALLERY_ZIP_BLOCK) != ARCHIVE_OK ||
                    archive_write_set_bytes_in_last_block(z.a, 1) != ARCHIVE_OK ||
                    archive_write_open2(z.a, &z, NULL, zip_out, NULL, NULL) != ARCHIVE_OK)) {
        snprintf(err, errlen, "libarchive: %s", archive_error_string(z.a));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = write_entry(&z, en, &ents[i]);
    if (rc == 0 && archive_write_close(z.a) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", z.sink_failed ? "the client stopped reading"
                                                  : archive_error_string(z.a));
        rc = -1;
    }
    /* after a failure nothing more reaches the sink: archive_write_free
     * would otherwise close the archive with a central directory */
    z.closed = true;
    archive_entry_free(en);
    if (z.a)
        archive_write_free(z.a);
    return rc;
}

/* The file name the download is saved as: batch-17.zip, batch-17-picked.zip,
 * job-18.zip. */
static void zip_filename(const struct gallery *g, bool picked_only, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%" PRId64 "%s.zip", g->is_batch ? "batch" : "job", g->job_id,
             picked_only ? "-picked" : "");
}

/* The ZIP entries of g (paths in one buffer).  Caller frees both
 * *ents and *paths. */
static int zip_entries(bb_app *app, const struct gallery *g, struct zip_entry **ents,
                       char **paths, size_t *n, bb_errctx *e)
{
    *ents = NULL;
    *paths = NULL;
    *n = 0;
    size_t total = 0;
    for (size_t i = 0; i < g->narts; i++)
        total += strlen(g->arts[i].name) + 32;
    *ents = calloc(g->narts ? g->narts : 1, sizeof **ents);
    *paths = malloc(total ? total : 1);
    if (!*ents || !*paths)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    size_t used = 0;
    for (size_t k = 0; k < g->nitems; k++) {
        const struct gallery_item *it = &g->items[k];
        for (size_t i = 0; i < it->narts; i++) {
            const struct artifact_rec *a = &it->arts[i];
            struct store *st = svc_store_for(app, a->storage);
            if (!st)
                return bb_fail(e, BB_EUNAVAIL,
                               "artifact %s of job %" PRId64
                               " is in S3 storage, which is not configured now",
                               a->name, a->job_id);
            char *p = *paths + used;
            int len = snprintf(p, total - used, "job-%" PRId64 "/%s", a->job_id, a->name);
            BB_ASSERT(len > 0 && (size_t)len < total - used);
            used += (size_t)len + 1;
            (*ents)[(*n)++] = (struct zip_entry){
                .path = p, .st = st, .key = a->location, .size = a->size,
                .content_type = a->content_type, .mtime_ms = it->job->finished_at};
        }
    }
    return BB_OK;
}

int svc_gallery_zip(bb_app *app, const struct principal *who, int64_t id, bool picked_only,
                    int (*begin)(void *ud, const char *filename, bool *head_only),
                    const struct zip_sink *sink, bool *started, bb_errctx *e)
{
    *started = false;
    struct gallery g;
    if (svc_gallery_get(app, who, id, picked_only, &g, e) != BB_OK)
        return e->code;
    struct zip_entry *ents = NULL;
    char *paths = NULL;
    size_t n = 0;
    int rc = BB_OK;
    size_t outputs = 0;
    for (size_t k = 0; k < g.nitems; k++)
        outputs += g.items[k].narts;
    if (outputs == 0)
        rc = bb_fail(e, BB_ENOTFOUND, "%s %" PRId64 " has no %sartifacts to download",
                     g.is_batch ? "batch" : "job", id, picked_only ? "picked " : "");
    else
        rc = zip_entries(app, &g, &ents, &paths, &n, e);
    if (rc == BB_OK) {
        char name[64];
        bool head_only = false;
        zip_filename(&g, picked_only, name, sizeof name);
        *started = true;
        if (begin(sink->ud, name, &head_only) != 0) {
            rc = bb_fail(e, BB_EIO, "the client left before the archive started");
        } else if (!head_only) {
            char err[512];
            if (gallery_zip_write(ents, n, sink, err, sizeof err) != 0) {
                char idtext[24];
                snprintf(idtext, sizeof idtext, "%" PRId64, id);
                bb_warn("gallery ZIP cut short", "job", idtext, "error", err);
                rc = bb_fail(e, BB_EIO, "%s", err);
            }
        }
    }
    free(ents);
    free(paths);
    gallery_clear(&g);
    return rc;
}

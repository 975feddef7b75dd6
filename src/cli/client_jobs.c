/* client_jobs.c — `batchbox jobs` (the list, page by page), `show` (a job
 * and its artifacts) and `logs` (a job's log, -f to follow it).  See
 * client.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/verbs.h"

#define MAX_PAGES 100000
#define LOGS_IDLE_SEC 60L

static void print_job_header(void)
{
    printf("%-7s %-9s %-14s %-8s %-5s %-19s  %s\n", "ID", "STATE", "PRESET",
           "ATTEMPTS", "PROG", "CREATED", "INPUT");
}

static void print_job_row(const cJSON *dto)
{
    char idbuf[32], att[32], prog[16], created[24];
    const char *id = cl_jtext(dto, "jobId", idbuf, sizeof idbuf);
    const char *state = cl_jstr(dto, "state");
    const char *preset = cl_jstr(dto, "preset");
    int pct = cl_jpercent(dto);
    char line[1024];

    snprintf(att, sizeof att, "%d/%d", cl_jint(dto, "attempts", 0),
             cl_jint(dto, "maxAttempts", 0));
    if (pct >= 0)
        snprintf(prog, sizeof prog, "%d%%", pct);
    else
        snprintf(prog, sizeof prog, "-");
    snprintf(line, sizeof line, "%-7s %-9s %-14s %-8s %-5s %-19s  %s",
             id ? id : "?", state ? state : "?", preset ? preset : "-", att,
             prog, cl_short_time(cl_jstr(dto, "createdAt"), created),
             cl_base_name(cl_jstr(dto, "md")));
    cl_put_clean(stdout, line);
    fputc('\n', stdout);
}

/* Appends the filters --state, --preset, --q and --limit to qs; 0 or -1. */
static int jobs_query(const struct cli_call *a, buf *qs)
{
    static const char *const names[] = {"state", "preset", "q", "limit"};

    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *v = cli_str(a, names[k]);
        if (v && cl_query_add(qs, names[k], v) != 0)
            return -1;
    }
    return 0;
}

int cl_jobs(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *limit = cli_str(a, "limit");
    const char *start_cursor = cli_str(a, "cursor");
    bool all = cli_flag(a, "all");
    int code = CLI_EXIT_OK;
    char *cursor = NULL;
    cJSON *acc = NULL;
    long printed = 0;

    if (limit) {
        char *end;
        long n = strtol(limit, &end, 10);
        if (end == limit || *end || n < 1 || n > 200)
            return usage_error(c, "--limit: expected 1..200, got '%s'", limit);
    }
    if (start_cursor && !(cursor = strdup(start_cursor))) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    if (c->json && all && !(acc = cJSON_CreateArray())) {
        free(cursor);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }

    for (int page = 0; page < MAX_PAGES; page++) {
        buf qs;
        buf_init(&qs, URL_CAP);
        if (jobs_query(a, &qs) != 0 ||
            (cursor && cl_query_add(&qs, "cursor", cursor) != 0)) {
            buf_free(&qs);
            errorf(c, "request URL too long");
            code = CLI_EXIT_USAGE;
            break;
        }
        char *url = cl_api_url(c, "/jobs%s", qs.data ? qs.data : "");
        buf_free(&qs);
        if (!url) {
            errorf(c, "request URL too long");
            code = CLI_EXIT_USAGE;
            break;
        }
        struct http_response resp;
        cJSON *j = cl_api_json(c, "GET", url, NULL, NULL, &code, &resp);
        free(url);
        if (!j)
            break;

        cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
        const char *next = cl_jstr(j, "nextCursor");
        if (!cJSON_IsArray(items)) {
            errorf(c, "unexpected answer from the server: no items");
            code = CLI_EXIT_FAILED;
        } else if (c->json && !all) {
            cl_print_raw(&resp);
        } else if (c->json) {
            cJSON *it;
            while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
                if (!cJSON_AddItemToArray(acc, it)) {
                    cJSON_Delete(it);
                    errorf(c, "out of memory");
                    code = CLI_EXIT_FAILED;
                    break;
                }
            }
        } else {
            const cJSON *it;
            cJSON_ArrayForEach(it, items)
            {
                if (printed++ == 0)
                    print_job_header();
                print_job_row(it);
            }
            fflush(stdout);
        }
        http_response_free(&resp);
        bool more = next && *next && code == CLI_EXIT_OK;
        if (more && cursor && strcmp(next, cursor) == 0) {
            errorf(c, "the server repeated cursor %s; stopping", next);
            code = CLI_EXIT_FAILED;
            more = false;
        }
        if (more && !all && !c->json)
            fprintf(stderr, "more jobs: add --all, or --cursor %s\n", next);
        char *next_copy = more && all ? strdup(next) : NULL;
        cJSON_Delete(j);
        free(cursor);
        cursor = next_copy;
        if (!cursor)
            break;
    }
    if (code == CLI_EXIT_OK && !c->json && printed == 0)
        printf("no jobs\n");
    if (code == CLI_EXIT_OK && acc) {
        cJSON *out = cJSON_CreateObject();
        bool added = out && cJSON_AddItemToObject(out, "items", acc);
        if (added)
            acc = NULL; /* out owns it now */
        if (added && cJSON_AddNullToObject(out, "nextCursor")) {
            cl_print_json(out);
        } else {
            errorf(c, "out of memory");
            code = CLI_EXIT_FAILED;
        }
        cJSON_Delete(out);
    }
    cJSON_Delete(acc);
    free(cursor);
    return code;
}

static void print_kv(const char *key, int width, const cJSON *v)
{
    printf("%-*s ", width, key);
    if (!v || cJSON_IsNull(v)) {
        fputs("-", stdout);
    } else if (cJSON_IsString(v)) {
        cl_put_clean(stdout, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "yes" : "no", stdout);
    } else if (cJSON_IsNumber(v) && strcmp(key, "progress:") == 0) {
        printf("%.0f%%", v->valuedouble * 100.0);
    } else if (cJSON_IsNumber(v) && cl_whole_number(v->valuedouble)) {
        printf("%lld", (long long)v->valuedouble);
    } else if (cJSON_IsNumber(v)) {
        printf("%g", v->valuedouble);
    } else {
        char *s = cJSON_PrintUnformatted(v);
        cl_put_clean(stdout, s ? s : "?");
        free(s);
    }
    fputc('\n', stdout);
}

/* The batch summary `show` prints for a batch parent (docs/batches.md):
 * its counts, the swept names with their number of values, and the first
 * page of its children with their params. */
static void show_batch(struct ctx *c, const char *job_id, const cJSON *dto)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(dto, "batch");
    int ok = cl_jint(b, "succeeded", 0), failed = cl_jint(b, "failed", 0);
    int canceled = cl_jint(b, "canceled", 0), total = cl_jint(b, "total", 0);
    printf("batch summary:\n  %d job%s: %d queued, %d running, %d succeeded, %d failed, "
           "%d canceled (%d%% done)\n", total, total == 1 ? "" : "s", cl_jint(b, "queued", 0),
           cl_jint(b, "running", 0), ok, failed, canceled,
           total ? (ok + failed + canceled) * 100 / total : 0);
    const cJSON *sw;
    fputs("  swept:", stdout);
    cJSON_ArrayForEach(sw, cJSON_GetObjectItemCaseSensitive(dto, "sweep"))
    {
        fputc(' ', stdout);
        cl_put_clean(stdout, sw->string ? sw->string : "?");
        if (cJSON_IsArray(sw))
            printf(" (%d values)", cJSON_GetArraySize(sw));
        else if (cJSON_GetObjectItemCaseSensitive(sw, "dir"))
            fputs(" (a folder)", stdout);
        else
            printf(" (%d seeds)", cl_jint(sw, "count", 0));
    }
    fputc('\n', stdout);
    int code = CLI_EXIT_FAILED;
    char *url = cl_api_url(c, "/jobs/%s/children?limit=50", job_id);
    cJSON *page = url ? cl_api_json(c, "GET", url, NULL, NULL, &code, NULL) : NULL;
    free(url);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items"), *it;
    if (cJSON_GetArraySize(items) > 0)
        printf("children (newest first%s):\n", total > 50 ? ", the first 50" : "");
    cJSON_ArrayForEach(it, items)
    {
        char idbuf[32];
        const char *id = cl_jtext(it, "jobId", idbuf, sizeof idbuf);
        const char *state = cl_jstr(it, "state");
        printf("  %-8s %-10s ", id && cl_valid_job_id(id) ? id : "?", state ? state : "-");
        char *params = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it, "params"));
        cl_put_clean(stdout, params ? params : "{}");
        free(params);
        const char *md = cl_jstr(it, "md");
        if (md) {
            fputs("  ", stdout);
            cl_put_clean(stdout, md);
        }
        fputc('\n', stdout);
    }
    cJSON_Delete(page);
}

int cl_show(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cl_job_id_arg(c);
    int code;

    if (!job_id)
        return CLI_EXIT_USAGE;
    cJSON *dto = cl_fetch_job(c, job_id, 0, &code);
    if (!dto)
        return code;
    char *url = cl_api_url(c, "/jobs/%s/artifacts", job_id);
    int acode = CLI_EXIT_FAILED;
    cJSON *arts = url ? cl_api_json(c, "GET", url, NULL, NULL, &acode, NULL)
                      : NULL;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(arts, "items");
    if (!url)
        errorf(c, "out of memory");
    free(url);
    if (arts && !cJSON_IsArray(items)) {
        errorf(c, "unexpected answer from the server: no artifact items");
        acode = CLI_EXIT_FAILED;
    }

    if (c->json) {
        if (cJSON_IsArray(items)) {
            cJSON_DetachItemViaPointer(arts, items);
            cJSON_DeleteItemFromObjectCaseSensitive(dto, "artifacts");
            if (!cJSON_AddItemToObject(dto, "artifacts", items)) {
                cJSON_Delete(items);
                items = NULL;
                errorf(c, "out of memory");
                acode = CLI_EXIT_FAILED;
            }
        }
        cl_print_json(dto);
    } else {
        const cJSON *f;
        int width = 0;
        cJSON_ArrayForEach(f, dto)
        {
            int n = f->string ? (int)strlen(f->string) : 0;
            if (n > width && n < 40)
                width = n;
        }
        cJSON_ArrayForEach(f, dto)
        {
            char key[64];
            snprintf(key, sizeof key, "%s:", f->string ? f->string : "?");
            print_kv(key, width + 1, f);
        }
        if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
            printf("artifacts:\n");
            const cJSON *it;
            cJSON_ArrayForEach(it, items)
            {
                const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
                const char *u = cl_jstr(it, "url");
                char sz[32];
                cl_human_size(cJSON_IsNumber(size) ? size->valuedouble : 0, sz,
                              sizeof sz);
                fputs("  ", stdout);
                cl_put_clean(stdout, cl_jstr(it, "name") ? cl_jstr(it, "name") : "?");
                printf("  %s  ", sz);
                cl_put_clean(stdout, cl_jstr(it, "contentType")
                                      ? cl_jstr(it, "contentType")
                                      : "-");
                if (u) {
                    fputs("  ", stdout);
                    if (u[0] == '/')
                        cl_put_clean(stdout, c->shown);
                    cl_put_clean(stdout, u);
                }
                fputc('\n', stdout);
            }
        } else if (cJSON_IsArray(items)) {
            printf("artifacts: none\n");
        }
        const char *kind = cl_jstr(dto, "kind");
        if (kind && strcmp(kind, "batch") == 0)
            show_batch(c, job_id, dto);
        fflush(stdout);
    }
    cJSON_Delete(arts);
    cJSON_Delete(dto);
    return acode;
}

struct log_sink {
    bool write_failed;
    int write_errno;
};

static int logs_chunk(void *user, const char *data, size_t len)
{
    struct log_sink *sink = user;

    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
        sink->write_failed = true;
        sink->write_errno = errno;
        return 1;
    }
    return 0;
}

int cl_logs(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cl_job_id_arg(c);
    bool follow = cli_flag(a, "follow");
    int code;

    if (!job_id)
        return CLI_EXIT_USAGE;
    char *url = cl_api_url(c, "/jobs/%s/logs%s", job_id, follow ? "?follow=1" : "");
    if (!url) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    struct log_sink sink = {false, 0};
    struct cl_req o = {
        .accept = "text/plain",
        .on_chunk = logs_chunk,
        .user = &sink,
        .idle_sec = follow ? 0 : LOGS_IDLE_SEC,
        .cancelable = follow,
    };
    struct cl_sigsave sig;
    struct http_response resp;
    char err[512];

    if (follow)
        cl_signals_catch(&sig);
    enum http_result r = cl_api_do(c, "GET", url, NULL, &o, &resp, err,
                                   sizeof err);
    if (follow)
        cl_signals_restore(&sig);
    free(url);

    if (sink.write_failed) {
        /* A closed pipe (`logs ID | head`) is a normal way to stop. */
        code = sink.write_errno == EPIPE ? CLI_EXIT_OK : CLI_EXIT_FAILED;
        if (code != CLI_EXIT_OK)
            errorf(c, "cannot write the log: %s", strerror(sink.write_errno));
    } else if (r == HTTP_RES_CANCELED && cl_signaled) {
        code = CLI_EXIT_OK;
    } else if (r == HTTP_RES_OK && cl_is_2xx(resp.status)) {
        code = CLI_EXIT_OK;
    } else {
        code = cl_report_failure(c, r, &resp, err);
    }
    http_response_free(&resp);
    return code;
}

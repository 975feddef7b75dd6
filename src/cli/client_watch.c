/* client_watch.c — `batchbox watch`: prints live job events (and, with
 * --logs, log lines) until interrupted, resuming a dropped stream where it
 * stopped; a batch parent's events show its progress, a child's its
 * batch.  See client.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/verbs.h"

/* A batch parent's progress (docs/batches.md): " done=F/T succeeded=S
 * failed=X canceled=C running=R". */
static void print_batch_counts(const cJSON *b)
{
    int ok = cl_jint(b, "succeeded", 0), failed = cl_jint(b, "failed", 0);
    int canceled = cl_jint(b, "canceled", 0);
    printf(" done=%d/%d succeeded=%d failed=%d canceled=%d running=%d",
           ok + failed + canceled, cl_jint(b, "total", 0), ok, failed, canceled,
           cl_jint(b, "running", 0));
}

static int watch_event(struct cl_stream *s, const struct sse_event *ev)
{
    struct ctx *c = s->c;
    cJSON *data = cJSON_ParseWithLength(ev->data, ev->data_len);
    char idbuf[32];
    const char *job = cl_jtext(data, "jobId", idbuf, sizeof idbuf);

    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", ev->id) ||
            !cJSON_AddStringToObject(o, "event", ev->type)) {
            cJSON_Delete(o);
            cJSON_Delete(data);
            errorf(c, "out of memory");
            s->stop_code = CLI_EXIT_FAILED;
            return 1;
        }
        bool ok;
        if (data) {
            ok = cJSON_AddItemToObject(o, "data", data);
            if (ok)
                data = NULL; /* o owns it now */
        } else {
            ok = cJSON_AddStringToObject(o, "data", ev->data) != NULL;
        }
        if (ok)
            cl_print_json(o);
        else
            errorf(c, "out of memory; event #%s not shown", ev->id);
        cJSON_Delete(o);
    } else if (strcmp(ev->type, "job_log") == 0) {
        const char *line = cl_jstr(data, "line");
        printf("job %s | %s\n", job ? job : "?", line ? line : ev->data);
    } else if (job) {
        const char *state = cl_jstr(data, "state");
        const char *error = cl_jstr(data, "error");
        int pct = cl_jpercent(data);
        char head[256];

        snprintf(head, sizeof head, "#%s %s job=%s state=%s", ev->id, ev->type,
                 job, state ? state : "-");
        cl_put_clean(stdout, head);
        if (pct >= 0)
            printf(" progress=%d%%", pct);
        else
            fputs(" progress=-", stdout);
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(data, "batch");
        char parent[32];
        if (cJSON_IsObject(batch))
            print_batch_counts(batch);
        else
            printf(" attempts=%d/%d", cl_jint(data, "attempts", 0),
                   cl_jint(data, "maxAttempts", 0));
        const char *in = cl_jtext(data, "batchId", parent, sizeof parent);
        if (in) {
            fputs(" batch=", stdout);
            cl_put_clean(stdout, in);
        }
        if (error) {
            fputs(" error=\"", stdout);
            cl_put_clean(stdout, error);
            fputc('"', stdout);
        }
        fputc('\n', stdout);
    } else {
        printf("#");
        cl_put_clean(stdout, ev->id);
        fputc(' ', stdout);
        cl_put_clean(stdout, ev->type);
        fputc(' ', stdout);
        cl_put_clean(stdout, ev->data);
        fputc('\n', stdout);
    }
    cJSON_Delete(data);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A closed pipe (`watch | head`) ends watching normally. */
        s->stop_code = errno == EPIPE ? CLI_EXIT_OK : CLI_EXIT_FAILED;
        return 1;
    }
    return 0;
}

int cl_watch(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cli_str(a, "job"), *since = cli_str(a, "since");
    bool logs = cli_flag(a, "logs");
    int code;

    if (job_id && !cl_valid_job_id(job_id))
        return usage_error(c, "--job: '%s' is not a job id", job_id);
    if (since && !cl_valid_job_id(since))
        return usage_error(c, "--since: '%s' is not an event id", since);

    char query[96];
    snprintf(query, sizeof query, "%s%s%s%s", job_id ? "?jobId=" : "",
             job_id ? job_id : "", logs ? (job_id ? "&" : "?") : "",
             logs ? "logs=1" : "");

    struct cl_stream s;
    struct cl_sigsave sig;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.on_event = watch_event;
    s.signal_code = CLI_EXIT_OK;
    s.must_connect_first = true;
    sse_parser_init(&s.parser, SSE_MAX_LINE, SSE_MAX_DATA, &s);
    if (since) {
        /* Resume as if event #since had been received. */
        char line[64];
        int n = snprintf(line, sizeof line, "id: %s\n\n", since);
        if (sse_parser_feed(&s.parser, line, (size_t)n, NULL) != 0) {
            sse_parser_free(&s.parser);
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
    }
    cl_signals_catch(&sig);
    code = cl_run_stream(&s, query);
    cl_signals_restore(&sig);
    sse_parser_free(&s.parser);
    return code;
}

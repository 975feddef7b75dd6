/* client_actions.c — `batchbox cancel`, `retry` and `rerun`: one POST to
 * /jobs/ID/actions each.  See client.h. */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/verbs.h"

/* POSTs {"type": type, "payload": payload} to /jobs/ID/actions and prints
 * the server's message.  Takes ownership of payload. */
static int do_action(struct ctx *c, const char *job_id, const char *type,
                     cJSON *payload)
{
    cJSON *body = cJSON_CreateObject();
    char *json = NULL, *url = cl_api_url(c, "/jobs/%s/actions", job_id);
    int code = CLI_EXIT_FAILED;

    if (!body || !payload || !url ||
        !cJSON_AddStringToObject(body, "type", type) ||
        !cJSON_AddItemToObject(body, "payload", payload)) {
        cJSON_Delete(payload); /* never attached to body */
        errorf(c, "out of memory");
        goto out;
    }
    json = cJSON_PrintUnformatted(body);
    if (!json) {
        errorf(c, "out of memory");
        goto out;
    }

    struct http_response resp;
    cJSON *answer = cl_api_json(c, "POST", url, json, NULL, &code, &resp);
    if (answer) {
        char idbuf[32];
        const char *msg = cl_jstr(answer, "message");
        const char *new_id = cl_jtext(answer, "jobId", idbuf, sizeof idbuf);
        if (c->json) {
            cl_print_raw(&resp);
        } else {
            cl_put_clean(stdout, msg && *msg ? msg : "done");
            fputc('\n', stdout);
            if (new_id && strcmp(new_id, job_id) != 0)
                printf("new job: %s\n", new_id);
            fflush(stdout);
        }
        http_response_free(&resp);
        cJSON_Delete(answer);
    }
out:
    cJSON_Delete(body);
    free(json);
    free(url);
    return code;
}

int cl_cancel_job(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cl_job_id_arg(c), *reason = cli_str(a, "reason");
    cJSON *payload;

    if (!job_id)
        return CLI_EXIT_USAGE;
    payload = cJSON_CreateObject();
    if (payload && reason && !cJSON_AddStringToObject(payload, "reason", reason)) {
        cJSON_Delete(payload);
        payload = NULL;
    }
    return do_action(c, job_id, "cancel", payload);
}

int cl_retry(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cl_job_id_arg(c);

    if (!job_id)
        return CLI_EXIT_USAGE;
    return do_action(c, job_id, "retry", cJSON_CreateObject());
}

int cl_rerun(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *job_id = cl_job_id_arg(c);
    const char *accent = cli_str(a, "voice-accent");
    cJSON *payload;

    if (!job_id)
        return CLI_EXIT_USAGE;
    payload = cJSON_CreateObject();
    if (payload &&
        ((accent && !cJSON_AddStringToObject(payload, "voiceAccent", accent)) ||
         (cli_flag(a, "force-tts") &&
          !cJSON_AddTrueToObject(payload, "forceTts")))) {
        cJSON_Delete(payload);
        payload = NULL;
    }
    return do_action(c, job_id, "rerun_audio", payload);
}

/* test_workflows.c — unit tests for the workflow table and the calls
 * every workflow reports through (src/infra/exec/workflows.c), the noop
 * module, and the lesson module's job check. */
#define UNIT_MAIN
#include "unit.h"

#include <stdatomic.h>

#include "domain/job.h"
#include "infra/config.h"
#include "infra/exec/workflow.h"

TEST(table_lists_every_workflow_once)
{
    CHECK_STR_EQ(workflow_names(), "noop, command, lesson, translate, comfyui");
    size_t n = 0;
    for (const struct workflow *w; (w = workflow_at(n)) != NULL; n++) {
        CHECK(workflow_find(w->name) == w);
        CHECK(workflow_of(w->id) == w);
        CHECK(w->run != NULL && w->retryable != NULL && w->keys != NULL);
        CHECK_STR_EQ(config_workflow_name(w->id), w->name);
    }
    CHECK_EQ_INT((int)n, 5);
    CHECK(workflow_find("comfy") == NULL);
    CHECK(workflow_find(NULL) == NULL);
}

TEST(preset_keys_have_one_owner)
{
    CHECK(workflow_owning_key("argv") == &workflow_command);
    CHECK(workflow_owning_key("gapMs") == &workflow_lesson);
    CHECK(workflow_owning_key("defaults") == &workflow_lesson);
    CHECK(workflow_owning_key("maxAttempts") == NULL);
    CHECK(workflow_noop.flags & WF_BATCHABLE);
    CHECK(workflow_noop.flags & WF_NO_FILES);
    CHECK(workflow_lesson.flags & WF_NEEDS_INPUT);
    CHECK(!(workflow_command.flags & (WF_BATCHABLE | WF_NO_FILES)));
}

TEST(noop_succeeds_unless_canceled)
{
    atomic_bool cancel = false;
    exec_ctx ctx = {.cancel = &cancel};
    CHECK_EQ_INT(workflow_noop.run(&ctx), EXEC_OK);
    atomic_store(&cancel, true);
    CHECK_EQ_INT(workflow_noop.run(&ctx), EXEC_CANCELED);
}

struct seen {
    char line[2048];
    char stream[16];
    char rec[128];
};

static void on_line(void *ud, const char *stream, const char *line, size_t len)
{
    struct seen *s = ud;
    snprintf(s->stream, sizeof s->stream, "%s", stream);
    snprintf(s->line, sizeof s->line, "%.*s", (int)len, line);
}

static int on_record(void *ud, const char *key, const char *value)
{
    struct seen *s = ud;
    snprintf(s->rec, sizeof s->rec, "%s=%s", key, value);
    return 0;
}

TEST(reporting_calls)
{
    struct seen s = {0};
    const char *secrets[] = {"A", "1", "B", NULL, NULL};
    exec_ctx ctx = {.log_line = on_line, .record = on_record, .ud = &s, .secrets = secrets};
    exec_logf(&ctx, "lesson", "step %d of %s", 2, "5");
    CHECK_STR_EQ(s.stream, "lesson");
    CHECK_STR_EQ(s.line, "step 2 of 5");
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    exec_logf(&ctx, "lesson", "%s", big);
    CHECK_EQ_INT((int)strlen(s.line), 1023);            /* cut at 1 KiB */
    CHECK_EQ_INT(exec_fail(&ctx, true, "bad %s", "thing"), EXEC_FAILED);
    CHECK_STR_EQ(ctx.error, "bad thing");
    CHECK(ctx.retryable);
    CHECK(workflow_retryable_as_reported(&ctx));
    CHECK_STR_EQ(exec_secret(&ctx, "A"), "1");
    CHECK(exec_secret(&ctx, "B") == NULL);
    CHECK(exec_secret(&ctx, "C") == NULL);
    CHECK_EQ_INT(exec_record(&ctx, "pageUrl", "/x"), 0);
    CHECK_STR_EQ(s.rec, "pageUrl=/x");
    exec_ctx bare = {0};
    exec_logf(&bare, "system", "nowhere");                 /* no callback: nothing */
    CHECK_EQ_INT(exec_record(&bare, "k", "v"), 0);
}

TEST(lesson_job_check_needs_voices_to_speak)
{
    bb_config cfg = {0};
    bb_preset p = {0};
    job j = {0};
    const char *field = NULL;
    char msg[128] = "";
    j.with_tts = true;
    CHECK_EQ_INT(workflow_lesson.check_job(&cfg, &p, &j, &field, msg, sizeof msg), -1);
    CHECK_STR_EQ(field, "withTts");
    CHECK_STR_EQ(msg, "no voices are configured on this server");
    j.with_tts = false;
    CHECK_EQ_INT(workflow_lesson.check_job(&cfg, &p, &j, &field, msg, sizeof msg), 0);
}

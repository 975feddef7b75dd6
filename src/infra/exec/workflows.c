/* workflows.c — the table of workflows this build runs (the one place a
 * workflow is registered; see workflow.h and docs/architecture.md,
 * "Workflows"), and the calls every workflow reports through (exec.h). */
#include "infra/exec/workflow.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "infra/exec/translate.h"

/* Every workflow; a new one is a module file plus a row here. */
static const struct workflow *const WORKFLOWS[] = {
    &workflow_noop,
    &workflow_command,
    &workflow_lesson,
    &workflow_translate,
    &workflow_comfyui,
};
#define NWORKFLOWS (sizeof WORKFLOWS / sizeof WORKFLOWS[0])

const struct workflow *workflow_at(size_t i)
{
    return i < NWORKFLOWS ? WORKFLOWS[i] : NULL;
}

const struct workflow *workflow_find(const char *name)
{
    for (size_t i = 0; name && i < NWORKFLOWS; i++)
        if (strcmp(WORKFLOWS[i]->name, name) == 0)
            return WORKFLOWS[i];
    return NULL;
}

const struct workflow *workflow_of(enum bb_workflow id)
{
    for (size_t i = 0; i < NWORKFLOWS; i++)
        if (WORKFLOWS[i]->id == id)
            return WORKFLOWS[i];
    return NULL;
}

const char *workflow_names(void)
{
    /* built once from the table; the table is constant, so a race
     * between two first callers writes the same bytes (start-up only) */
    static char names[256];
    if (names[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < NWORKFLOWS; i++) {
            int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                             WORKFLOWS[i]->name);
            if (n < 0 || (size_t)n >= sizeof names - used)
                break;
            used += (size_t)n;
        }
    }
    return names;
}

const struct workflow *workflow_owning_key(const char *name)
{
    for (size_t i = 0; name && i < NWORKFLOWS; i++)
        for (const struct workflow_key *k = WORKFLOWS[i]->keys; k && k->name; k++)
            if (strcmp(k->name, name) == 0)
                return WORKFLOWS[i];
    return NULL;
}

/* ---- enum optionsSources (docs/parameters.md) ------------------------------ */

/* The workflow providing source, or NULL. */
static const struct workflow *source_owner(const char *source)
{
    for (size_t i = 0; source && i < NWORKFLOWS; i++)
        for (const char *const *s = WORKFLOWS[i]->option_sources; s && *s; s++)
            if (strcmp(*s, source) == 0)
                return WORKFLOWS[i];
    return NULL;
}

bool workflow_has_source(const char *source)
{
    return source_owner(source) != NULL;
}

bool workflow_source_is_live(const char *source)
{
    const struct workflow *w = source_owner(source);
    return w != NULL && (w->flags & WF_LIVE_OPTIONS) != 0;
}

cJSON *workflow_source_choices(const bb_config *cfg, const char *source)
{
    const struct workflow *w = source_owner(source);
    if (w == NULL || w->resolve_options == NULL || cfg == NULL)
        return NULL;
    return w->resolve_options(cfg, source);
}

const char *workflow_source_names(void)
{
    /* built once from the constant table, like workflow_names() */
    static char names[512];
    if (names[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < NWORKFLOWS; i++)
            for (const char *const *s = WORKFLOWS[i]->option_sources; s && *s; s++) {
                int n = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                 *s);
                if (n < 0 || (size_t)n >= sizeof names - used)
                    return names;
                used += (size_t)n;
            }
        if (used == 0)
            snprintf(names, sizeof names, "none");
    }
    return names;
}

bool workflow_retryable_as_reported(const exec_ctx *ctx)
{
    return ctx->retryable;
}

/* ---- the calls every workflow reports through --------------------------- */

void exec_logf(exec_ctx *ctx, const char *stream, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || !ctx->log_line)
        return;
    ctx->log_line(ctx->ud, stream, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int exec_set_failure(char *err, size_t cap, bool *flag, bool retryable, int ret,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    *flag = retryable;
    return ret;
}

const char *exec_secret(const exec_ctx *ctx, const char *name)
{
    for (const char *const *s = ctx->secrets; s && s[0]; s += 2)
        if (strcmp(s[0], name) == 0)
            return s[1];
    return NULL;
}

int exec_record(exec_ctx *ctx, const char *key, const char *value)
{
    return ctx->record ? ctx->record(ctx->ud, key, value) : 0;
}

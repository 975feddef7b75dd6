/* lesson_translate.c — translations for a lesson's lines (see
 * lesson_translate.h).  Memory first (one read connection for all lines),
 * then one engine call for the lines the memory did not know. */
#include "infra/exec/lesson_translate.h"

#include <stdlib.h>
#include <string.h>

#include "domain/job.h"
#include "domain/render.h"
#include "infra/db/repo_tm.h"
#include "infra/exec/translate.h"
#include "util/err.h"

const char *lesson_tr_pair(const bb_preset *p)
{
    return p->translate && p->translate->pair && *p->translate->pair ? p->translate->pair
                                                                      : NULL;
}

void lesson_tr_free(struct lesson_tr *t)
{
    for (size_t i = 0; t->text && i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    memset(t, 0, sizeof *t);
}

/* The text of item it to translate, or NULL: a speech line's plain text,
 * a vocabulary entry's term. */
static const char *line_of(const struct lesson_section *sec, const struct lesson_item *it)
{
    const char *s = NULL;
    if (sec->kind == LESSON_SECTION_DIALOGUE && it->kind == LESSON_ITEM_SPEECH)
        s = it->plain;
    else if (sec->kind == LESSON_SECTION_VOCABULARY && it->kind == LESSON_ITEM_VOCAB)
        s = it->term;
    return s && *s ? s : NULL;
}

enum exec_result lesson_translate(exec_ctx *ctx, const bb_preset *p, const struct lesson *l,
                                  struct lesson_tr *out)
{
    memset(out, 0, sizeof *out);
    out->pair = lesson_tr_pair(p);
    if (!p->translate || !out->pair)
        return exec_fail(ctx, false, "preset \"%s\" sets translateTo but no translate.pair",
                         p->id);
    for (size_t s = 0; s < l->nsections; s++)
        out->n += l->sections[s].nitems;
    size_t cap = out->n ? out->n : 1;
    out->text = calloc(cap, sizeof *out->text);
    const char **src = calloc(cap, sizeof *src);     /* per item: borrowed line or NULL */
    const char **ask = calloc(cap, sizeof *ask);     /* lines for the memory/engine */
    size_t *at = calloc(cap, sizeof *at);            /* ask[i] is item at[i] */
    char **got = calloc(cap, sizeof *got);
    enum exec_result res = EXEC_OK;
    if (!out->text || !src || !ask || !at || !got) {
        res = exec_fail(ctx, true, "out of memory");
        goto done;
    }
    size_t nask = 0;
    for (size_t s = 0, k = 0; s < l->nsections; s++)
        for (size_t i = 0; i < l->sections[s].nitems; i++, k++)
            if ((src[k] = line_of(&l->sections[s], &l->sections[s].items[i]))) {
                ask[nask] = src[k];
                at[nask++] = k;
            }
    out->lines = nask;
    /* the memory: exact reviewed matches of the owner (or shared) */
    size_t hits = 0;
    if (ctx->db && nask > 0) {
        bool shared = p->translate->memory && strcmp(p->translate->memory, "shared") == 0;
        int64_t owner = shared || !ctx->job ? 0 : ctx->job->owner_id;
        if (repo_tm_lookup_many(ctx->db, owner, out->pair, ask, nask, got, &hits) != BB_OK) {
            res = exec_fail(ctx, true, "reading the translation memory failed");
            goto done;
        }
    }
    out->tm_hits = (int)hits;
    /* the engine: the lines the memory did not answer, in one call */
    size_t nmiss = 0;
    for (size_t i = 0; i < nask; i++) {
        if (got[i]) {
            out->text[at[i]] = got[i];
            got[i] = NULL;
        } else {
            ask[nmiss] = ask[i];
            at[nmiss++] = at[i];
        }
    }
    if (nmiss > 0) {
        /* the engine's progress would run 0..1 over the lines; the lesson
         * reports its own steps, so the engine runs without it */
        exec_ctx sub = *ctx;
        sub.progress = NULL;
        res = tr_engine_translate(p->translate, out->pair, ask, nmiss, got, &sub, sub.error,
                                  sizeof sub.error);
        memcpy(ctx->error, sub.error, sizeof ctx->error);
        ctx->retryable = sub.retryable;
        for (size_t i = 0; res == EXEC_OK && i < nmiss; i++) {
            out->text[at[i]] = got[i];
            got[i] = NULL;
        }
    }
done:
    for (size_t i = 0; got && i < cap; i++)
        free(got[i]);
    free(got);
    free(at);
    free(ask);
    free(src);
    if (res != EXEC_OK)
        lesson_tr_free(out);
    return res;
}

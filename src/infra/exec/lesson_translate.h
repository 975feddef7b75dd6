/* lesson_translate.h — translations for a lesson (a lesson preset's
 * translateTo, docs/lesson-workflow.md "Translations"): every dialogue
 * speech line and vocabulary term of a parsed lesson goes through the
 * translation memory and then the preset's translate engine, the same
 * provider code and memory as the translate workflow (infra/exec/
 * translate.h, infra/db/repo_tm.h).  Runs on the calling worker thread;
 * owns nothing beyond its result. */
#ifndef BB_LESSON_TRANSLATE_H
#define BB_LESSON_TRANSLATE_H

#include <stddef.h>

#include "domain/lesson.h"
#include "infra/config.h"
#include "infra/exec/exec.h"

/* The translations of one lesson: text[k] for the k-th item in lesson
 * order (render_item_index), NULL for items without one.  Owned;
 * lesson_tr_free. */
struct lesson_tr {
    char **text;
    size_t n;          /* items in the lesson */
    size_t lines;      /* items translated */
    int tm_hits;       /* of those, answered by the memory */
    const char *pair;  /* borrowed from the preset */
};

/* The language pair a lesson preset translates with: translate.pair, or
 * NULL when the preset sets none (a configuration error the submit check
 * reports).  Borrowed. */
const char *lesson_tr_pair(const bb_preset *p);

/* Translates l's lines for preset p (p->translate_to and p->translate set)
 * into *out.  The memory is read through ctx->db when it is set (the
 * job's owner, or the shared entries when translate.memory is "shared").
 * EXEC_OK; EXEC_FAILED (ctx->error, ctx->retryable); EXEC_CANCELED. */
enum exec_result lesson_translate(exec_ctx *ctx, const bb_preset *p, const struct lesson *l,
                                  struct lesson_tr *out);

void lesson_tr_free(struct lesson_tr *t);

#endif

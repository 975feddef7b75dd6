/* translate.h — the translate workflow's engine and module
 * (docs/translate.md).  tr_engine_translate is the one call every user of a
 * translation engine goes through: the translate workflow (translate.c) and
 * the lesson workflow's translateTo.  Providers: apertium (a child process,
 * the command runner's hygiene: own process group, cancel, timeout),
 * libretranslate and deepl (libcurl: 429 with Retry-After and 5xx retried
 * with backoff, cancel honoured, segments batched within each service's
 * limits, the key from the environment only), command (an argv template,
 * the text on stdin, the translation on stdout).  Runs on the calling
 * worker thread; keeps no state between calls. */
#ifndef BB_TRANSLATE_ENGINE_H
#define BB_TRANSLATE_ENGINE_H

#include <stddef.h>

#include "cJSON.h"
#include "infra/config.h"
#include "infra/exec/exec.h"

/* Translates texts[0..n) with the engine cfg names into out[0..n) (each a new
 * string; caller frees each).  pair is "src-tgt" (apertium's mode name, e.g.
 * "eng-spa"; the HTTP services get the two halves as language codes).  Each
 * text is masked (domain/translate.h: tr_mask) so code, URLs, tags and
 * placeholders never reach the engine, and restored byte for byte after.
 * Progress, when ctx->progress is set, goes from 0 to 1 over the texts.
 * Returns EXEC_OK; EXEC_FAILED with the message in err and ctx->retryable
 * set (out all NULL); EXEC_CANCELED when *ctx->cancel became true.  Never
 * logs a key. */
enum exec_result tr_engine_translate(const bb_translate *cfg, const char *pair,
                                     const char *const *texts, size_t n, char **out,
                                     exec_ctx *ctx, char *err, size_t cap);

/* The language pairs apertium has installed (its modes directory, or
 * BATCHBOX_APERTIUM_MODES when set): a new array of {"value", "label"}
 * ("eng-spa", "eng → spa"), sorted; caller frees; NULL when out of memory. */
cJSON *tr_apertium_pairs(void);

/* The module (registered in workflows.c). */
extern const struct workflow workflow_translate;

#endif

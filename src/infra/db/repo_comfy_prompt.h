/* repo_comfy_prompt.h — SQL for comfyui_prompts: every prompt the comfyui
 * workflow made for a job (docs/comfyui.md, "Failure handling").  A row
 * is written in state 'posting' BEFORE POST /prompt, so a restarted
 * batchbox asks the server about it instead of posting it again; the
 * attempt moves it through queued, running and one of succeeded, failed,
 * interrupted, lost.  Writes run on the db writer thread; reads borrow a
 * read connection. */
#ifndef BB_REPO_COMFY_PROMPT_H
#define BB_REPO_COMFY_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* One prompt.  Strings owned by the record (comfy_prompt_clear). */
typedef struct comfy_prompt_rec {
    char *prompt_id;
    int64_t job_id;
    int attempt;
    char *server_id;
    char *state;          /* posting|queued|running|succeeded|failed|interrupted|lost */
    char *error;          /* or NULL */
    char *detail;         /* JSON text (nodes, current, number) or NULL */
    int64_t created_at, updated_at;   /* ms since the epoch */
} comfy_prompt_rec;

void comfy_prompt_clear(comfy_prompt_rec *r);

/* Inserts r (borrowed) in r->state; created_at/updated_at are now. */
int repo_comfy_prompt_insert(db *d, const comfy_prompt_rec *r);

/* Sets state, error (NULL: kept) and detail (NULL: kept) of prompt_id. */
int repo_comfy_prompt_update(db *d, const char *prompt_id, const char *state,
                             const char *error, const char *detail);

/* The prompts of job_id, the newest max of them, oldest first: *out (caller clears
 * each record and frees the array), *n. */
int repo_comfy_prompt_list(db *d, int64_t job_id, size_t max, comfy_prompt_rec **out,
                           size_t *n);

/* The open prompts (posting, queued, running, lost) on server_id that no
 * attempt follows any more: their job ended, or made a newer prompt and is
 * not running on that server now; oldest first, at most max (*out: caller
 * clears each record and frees the array).  The pool removes them from a
 * server that comes back (docs/comfyui.md, "Failure handling"). */
int repo_comfy_prompt_orphans(db *d, const char *server_id, size_t max, comfy_prompt_rec **out,
                              size_t *n);

#endif

/* repo_template.h — SQL for templates: named, saved form values (params
 * and sweep) of a preset, owned by a user and optionally shared with
 * everybody (docs/templates-and-inputs.md). */
#ifndef BB_REPO_TEMPLATE_H
#define BB_REPO_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* One template.  Strings owned by the record (template_rec_clear). */
typedef struct template_rec {
    int64_t id, owner_id;           /* owner 0 = none (the local `run` verb) */
    char *preset, *name;
    char *params;                   /* JSON object text */
    char *sweep;                    /* JSON object text, or NULL */
    bool shared;
    int64_t created_at, updated_at; /* ms since the epoch */
} template_rec;

void template_rec_clear(template_rec *t);

/* Saves t for t->owner_id: replaces the owner's template of the same
 * preset and name (keeping its id and created_at; *replaced = true), else
 * inserts one unless the owner already has `cap` templates (BB_ECONFLICT;
 * *replaced = false).  On BB_OK t->id, created_at and updated_at are
 * filled in.  One transaction, so concurrent saves cannot pass the cap. */
int repo_template_save(db *d, template_rec *t, int64_t cap, bool *replaced);

/* The templates of preset that user `owner` sees: their own and the
 * shared ones, by name then id (caller clears each record and frees the
 * array).  At most `max`. */
int repo_template_list(db *d, const char *preset, int64_t owner, size_t max,
                       template_rec **out, size_t *n);

/* One template by id (caller clears *out); BB_ENOTFOUND. */
int repo_template_get(db *d, int64_t id, template_rec *out);

/* Deletes template id if its owner is still `owner` (any when owner_any);
 * BB_ENOTFOUND otherwise (a concurrent delete, or it changed hands). */
int repo_template_delete(db *d, int64_t id, int64_t owner, bool owner_any);

#endif

/* repo_tm.h — SQL for the translation memory: reviewed targets keyed by
 * owner, language pair and exact source text (docs/translate.md,
 * "Memory").  Owner 0 holds the entries an admin shared with everybody.
 * Writes run on the db writer thread; reads borrow a read connection. */
#ifndef BB_REPO_TM_H
#define BB_REPO_TM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* The target stored for the exact source of owner and pair, else the
 * shared one (owner 0).  BB_OK with *target (caller frees), or
 * BB_ENOTFOUND (*target = NULL). */
int repo_tm_lookup(db *d, int64_t owner, const char *pair, const char *source,
                   char **target);

/* repo_tm_lookup for sources[0..n) on one read connection: targets[i]
 * (caller frees each; NULL = no entry).  *hits = how many were found.
 * BB_OK, or an error (every targets[i] NULL). */
int repo_tm_lookup_many(db *d, int64_t owner, const char *pair,
                        const char *const *sources, size_t n, char **targets, size_t *hits);

/* Adds (or replaces) an entry for every reviewed segment of job_id with a
 * non-empty target, under owner (0 when shared) and pair.  One writer
 * operation.  *added (may be NULL) = entries written. */
int repo_tm_add_reviewed(db *d, int64_t job_id, int64_t owner, bool shared, const char *pair,
                         size_t *added);

/* Entries of owner (without the shared ones); for stats and tests. */
int repo_tm_count(db *d, int64_t owner, int64_t *count);

#endif

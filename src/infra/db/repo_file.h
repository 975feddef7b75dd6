/* repo_file.h — SQL for uploaded files. */
#ifndef BB_REPO_FILE_H
#define BB_REPO_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* An uploaded file.  Strings owned by the record (file_rec_clear). */
typedef struct file_rec {
    int64_t id, owner_id, size, created_at;
    char *filename, *sha256, *content_type, *storage, *key;
} file_rec;

void file_rec_clear(file_rec *f);

/* Inserts (f->id and created_at filled in) if the owner's stored bytes
 * plus f->size stay within quota (checked in the same transaction, so
 * concurrent uploads cannot pass it together); else BB_ETOOLARGE. */
int repo_file_insert(db *d, file_rec *f, int64_t quota);
/* BB_ENOTFOUND if missing or owner_scope (0 = any) differs. */
int repo_file_get(db *d, int64_t id, int64_t owner_scope, file_rec *out);
/* Newest first, at most limit (caller frees each and the array). */
int repo_file_list(db *d, int64_t owner_id, int limit, file_rec **out, size_t *n);
/* Bytes stored for an owner (quota). */
int repo_file_usage(db *d, int64_t owner_id, int64_t *bytes);
/* Deletes the row unless a queued or running job uses the file
 * (BB_ECONFLICT); BB_ENOTFOUND if missing or not the owner's.  *out gets
 * the deleted record (to remove its bytes). */
int repo_file_delete(db *d, int64_t id, int64_t owner_scope, file_rec *out);

#endif

/* inputs.h — the input browser (docs/templates-and-inputs.md, "Inputs"):
 * lists one directory of the configured input root, never anything
 * outside it (util/beneath.h), with each file's type judged from its bytes
 * like an upload's.  Transport-independent (http/routes/inputs.c, tests).
 * Stateless: any thread may call it. */
#ifndef BB_SVC_INPUTS_H
#define BB_SVC_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/upload.h"
#include "service/app.h"
#include "util/err.h"

#define INPUTS_LIST_MAX 1000     /* entries one listing returns */

struct input_entry {
    char name[256];              /* one path component, valid UTF-8 */
    bool dir;                    /* else a regular file */
    int64_t size;                /* bytes (files; 0 for directories) */
    int64_t modified_ms;         /* mtime, ms since the epoch */
    char type[UPLOAD_TYPE_MAX];  /* files: the sniffed content type, "" when
                                    not an accepted type; "" for directories */
};

struct input_listing {
    char path[4096];             /* the directory, normalised ("" = the root) */
    struct input_entry *items;   /* owned; free with inputs_listing_clear */
    size_t n;
    bool truncated;              /* more entries than INPUTS_LIST_MAX */
};

/* Lists directory rel of the input root: directories first, then files,
 * each group by name (bytewise); hidden names (a leading '.'), names that
 * are not valid UTF-8, entries that are neither regular files nor
 * directories, and symlinks that lead out of the root (or nowhere) are
 * left out.  BB_OK with *out filled (caller clears); BB_EINVAL naming
 * "path" for an absolute path, "..", a file, or a directory that leads
 * out of the root; BB_ENOTFOUND when it does not exist. */
int svc_inputs_list(const bb_app *app, const char *rel, struct input_listing *out,
                    bb_errctx *e);

void inputs_listing_clear(struct input_listing *l);

/* Stages a job's input path for an attempt (the worker thread calls it):
 * abs_path, the real path svc_resolve_input stored at submit, is opened
 * again beneath the input root without following anything out of it (a
 * symlink swapped in since the submit is refused, never read), then
 * hard-linked into workdir under its own name, or copied there when a
 * link is not possible (another filesystem), so the workflow reads exactly
 * the file that was checked.  out[cap] receives the staged path.  0, or -1
 * with a sentence in err[errcap] and *retryable (false when the input
 * escapes, is gone or is not a regular file). */
int svc_input_stage(const bb_config *cfg, const char *abs_path, const char *workdir,
                    char *out, size_t cap, char *err, size_t errcap, bool *retryable);

#endif

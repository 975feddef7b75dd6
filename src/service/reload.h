/* reload.h — configuration reload on SIGHUP and POST /admin/config/reload
 * (docs/integrations.md, "Configuration reload"). */
#ifndef BB_RELOAD_H
#define BB_RELOAD_H

#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* Remembers where the configuration came from: path (the --config file,
 * or DATA/batchbox.json when it existed; NULL = built-in defaults only,
 * then a reload reads DATA/batchbox.json if it appeared) and the command
 * line's overrides (listen, workers > 0, input_root; NULL/0 = none), which
 * a reload applies again.  0, or -1 on OOM.  Called by app_open after the
 * first load. */
int svc_reload_init(bb_app *app, const char *path, const char *listen, int workers,
                    const char *input_root);

/* Loads the file again and, when it is valid, publishes it as the running
 * configuration (atomically; the old version stays alive until
 * app_close).  Settings that cannot change at run time keep their running
 * values and are listed in the answer's needsRestart.  Queued jobs of a
 * preset the new file no longer has end canceled, their error naming the
 * reload.  BB_OK with *report ({reloaded, path, needsRestart,
 * presetsAdded, presetsRemoved, jobsCanceled}; caller frees), or BB_EINVAL
 * with the configuration error (the running configuration is kept).
 * Reloads are serialized; any thread. */
int svc_reload(bb_app *app, struct cJSON **report, bb_errctx *e);

/* Frees every retired configuration and the reload state (app_close, when
 * no thread reads the configuration any more). */
void svc_reload_free(bb_app *app);

#endif

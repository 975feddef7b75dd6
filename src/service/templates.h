/* templates.h — template use cases (docs/templates-and-inputs.md): save,
 * list and delete named form values (params and sweep) of a preset.
 * Owner-scoped; an admin may share one with everybody.  Transport-
 * independent: the HTTP routes (http/routes/templates.c) call these. */
#ifndef BB_SVC_TEMPLATES_H
#define BB_SVC_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/repo_template.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

#define TEMPLATES_PER_USER 200   /* templates one user may keep (all presets) */
#define TEMPLATE_NAME_MAX 100    /* characters (code points) of a name */
#define TEMPLATES_LIST_MAX 1000  /* most a listing returns */

/* The templates of preset `preset` who sees: their own and the shared
 * ones, by name (caller clears each with template_rec_clear and frees the
 * array).  BB_ENOTFOUND for an unknown preset. */
int svc_template_list(bb_app *app, const struct principal *who, const char *preset,
                      template_rec **out, size_t *n, bb_errctx *e);

/* Validates a body {name, params, sweep?, shared?} against preset and
 * saves it for who, replacing their template of the same name.  BB_OK with
 * *out filled (caller clears) and *replaced set; BB_ENOTFOUND unknown
 * preset; BB_EINVAL with each bad field named; BB_EFORBIDDEN shared by a
 * non-admin; BB_ECONFLICT over TEMPLATES_PER_USER. */
int svc_template_save(bb_app *app, const struct principal *who, const char *preset,
                      const struct cJSON *body, template_rec *out, bool *replaced,
                      bb_errctx *e);

/* Deletes template id: its owner or an admin.  BB_ENOTFOUND when it does
 * not exist or who cannot see it; BB_EFORBIDDEN for a shared template who
 * sees but does not own. */
int svc_template_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e);

/* The JSON of a template (docs/api.md, "Templates").  Caller frees; NULL
 * when out of memory. */
struct cJSON *svc_template_dto(const template_rec *t);

#endif

/* stats.h — the admin statistics document (GET /admin/stats). */
#ifndef BB_STATS_H
#define BB_STATS_H

#include "service/app.h"

struct cJSON;

/* Builds the document (caller frees); NULL on a database error. */
struct cJSON *svc_admin_stats(bb_app *app);

#endif

/* backup.c — POST /admin/backup: an online copy of the live database into
 * DATA/backups/ (service/backup.c).  Answers 201 {path, bytes, integrity:
 * "ok", createdAt}; any failure is a 500 JSON error and leaves no file
 * behind.  No body is expected; the route table lets a small one through
 * (dropped) so keep-alive survives. */
#include "cJSON.h"
#include "http/http.h"
#include "service/backup.h"
#include "util/util.h"

void route_admin_backup(http_req *r)
{
    struct backup_result b;
    if (svc_backup(r->app, &b, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    char created[32];
    bb_iso8601(b.created_ms, created);
    cJSON *doc = cJSON_CreateObject();
    if (!doc || !cJSON_AddStringToObject(doc, "path", b.path) ||
        !cJSON_AddNumberToObject(doc, "bytes", (double)b.bytes) ||
        !cJSON_AddStringToObject(doc, "integrity", "ok") ||
        !cJSON_AddStringToObject(doc, "createdAt", created)) {
        cJSON_Delete(doc);
        doc = NULL;      /* answered 500 by http_reply_doc */
    }
    http_reply_doc(r, 201, doc, NULL);
}

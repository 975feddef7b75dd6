/* admin.c — user administration, everyone's jobs, statistics, and the
 * caller's own job list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "infra/db/repo_user.h"
#include "service/auth.h"
#include "service/stats.h"
#include "util/util.h"

void route_admin_users(http_req *r)
{
    user *users = NULL;
    size_t n = 0;
    if (repo_user_list(r->app->db, &users, &n) != BB_OK) {
        http_reply_error(r, BB_EIO, "database error");
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(items, user_to_dto(&users[i]));
        user_clear(&users[i]);
    }
    free(users);
    http_reply_json(r, 200, doc);
    cJSON_Delete(doc);
}

void route_admin_user_patch(http_req *r)
{
    const char *ids = http_param(r, "id");
    int64_t id;
    if (!ids || bb_parse_i64(ids, &id) != 0 || id < 1) {
        http_reply_error(r, BB_ENOTFOUND, "no such user");
        return;
    }
    cJSON *body = http_json_body_limited_or_reply(r, 16384);
    if (!body)
        return;
    bb_errctx e = {0};
    user u;
    if (auth_admin_update(r->app, id, body, &u, &e) == BB_OK) {
        cJSON *doc = user_to_dto(&u);
        http_reply_json(r, 200, doc);
        cJSON_Delete(doc);
    } else {
        http_reply_err(r, &e);
    }
    user_clear(&u);
    bb_err_clear(&e);
    cJSON_Delete(body);
}

void route_admin_jobs(http_req *r)
{
    /* everyone's jobs: same handler as /jobs, the caller being an admin */
    route_jobs_list(r);
}

void route_user_jobs(http_req *r)
{
    /* only the caller's own jobs, even for an admin */
    r->who.admin = false;
    route_jobs_list(r);
}

void route_admin_stats(http_req *r)
{
    cJSON *doc = svc_admin_stats(r->app);
    if (!doc) {
        http_reply_error(r, BB_EIO, "database error");
        return;
    }
    http_reply_json(r, 200, doc);
    cJSON_Delete(doc);
}

/* user.c — user record and DTO (see user.h). */
#include "domain/user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/util.h"

void user_clear(user *u)
{
    free(u->email);
    free(u->name);
    free(u->role);
    free(u->password_hash);
    memset(u, 0, sizeof *u);
}

bool user_role_valid(const char *role)
{
    return role && (strcmp(role, "admin") == 0 || strcmp(role, "user") == 0);
}

cJSON *user_to_dto(const user *u)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char id[24], t[32];
    snprintf(id, sizeof id, "%lld", (long long)u->id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "email", u->email ? u->email : "");
    if (u->name)
        cJSON_AddStringToObject(o, "name", u->name);
    else
        cJSON_AddNullToObject(o, "name");
    cJSON_AddStringToObject(o, "role", u->role ? u->role : "user");
    cJSON_AddBoolToObject(o, "disabled", u->disabled);
    bb_iso8601(u->created_at, t);
    cJSON_AddStringToObject(o, "createdAt", t);
    bb_iso8601(u->updated_at, t);
    cJSON_AddStringToObject(o, "updatedAt", t);
    return o;
}

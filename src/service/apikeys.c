/* apikeys.c — API keys (apikeys.h, docs/integrations.md "API keys").
 *
 * A key is "bbk_" and 32 random bytes (libsodium randombytes_buf) in
 * base64url.  Only its SHA-256 is stored: with 256 random bits there is
 * no dictionary to try, so a slow password hash (argon2) would only add a
 * cost to every request without making a stolen table any easier to
 * reverse.  Lookups are by that hash, so timing tells nothing about the
 * key.  Stateless apart from the database; any thread. */
#include "service/apikeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cJSON.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/util.h"

static const char *const SCOPES[] = {"read", "submit", "admin", NULL};

/* Routes a submit-scope key may call besides GETs (route patterns). */
static const char *const SUBMIT_ROUTES[] = {
    "POST /jobs", "POST /jobs/:id/actions", "POST /jobs/:id/rerun/audio", "POST /uploads",
    NULL,
};

static void key_hash(const char *key, unsigned char out[APIKEY_HASH_BYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)key, strlen(key));
}

/* "2026-12-31T23:59:59Z" or with milliseconds ".123Z" → ms; -1 if not. */
static int64_t parse_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    int64_t ms = 0;
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*end - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(end, "Z") != 0)
        return -1;
    time_t t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

int svc_apikey_create(bb_app *app, const struct principal *who, const cJSON *body,
                      apikey_rec *out, char key[APIKEY_MAX], bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    key[0] = '\0';
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the body must be a JSON object {name, scope, expiresAt?}");
    for (const cJSON *ch = body->child; ch; ch = ch->next)
        if (strcmp(ch->string, "name") && strcmp(ch->string, "scope") &&
            strcmp(ch->string, "expiresAt"))
            bb_fail_field(e, ch->string, "unknown field (name, scope, expiresAt)");
    const char *name = bb_json_opt_string(body, "name", e);
    const char *scope = bb_json_opt_string(body, "scope", e);
    const char *exp = bb_json_opt_string(body, "expiresAt", e);
    if (!name || !*name || strlen(name) > 100)
        bb_fail_field(e, "name", "required: 1 to 100 characters");
    bool known = false;
    for (size_t i = 0; scope && SCOPES[i]; i++)
        known |= strcmp(scope, SCOPES[i]) == 0;
    if (!known)
        bb_fail_field(e, "scope", "must be \"read\", \"submit\" or \"admin\"");
    int64_t expires = 0;
    if (exp) {
        expires = parse_iso(exp);
        if (expires < 0)
            bb_fail_field(e, "expiresAt", "must be an ISO 8601 UTC time "
                                          "(2026-12-31T23:59:59Z)");
        else if (expires <= bb_now_ms())
            bb_fail_field(e, "expiresAt", "must be in the future");
    }
    if (e->code != BB_OK)
        return e->code;
    if (known && strcmp(scope, "admin") == 0 && !who->admin)
        return bb_fail(e, BB_EFORBIDDEN, "scope \"admin\" is for admin accounts (use "
                                         "\"submit\" for a key that acts as you)");
    unsigned char raw[32], hash[APIKEY_HASH_BYTES];
    randombytes_buf(raw, sizeof raw);
    memcpy(key, APIKEY_PREFIX, 4);
    sodium_bin2base64(key + 4, APIKEY_MAX - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    key_hash(key, hash);
    char prefix[16];
    bb_strlcpy(prefix, key, 13);                  /* "bbk_" + 8 characters */
    out->user_id = who->user_id;
    out->name = strdup(name);
    out->scope = strdup(scope);
    out->prefix = strdup(prefix);
    out->expires_at = expires;
    int rc = out->name && out->scope && out->prefix ? BB_OK : BB_EINTERNAL;
    if (rc == BB_OK)
        rc = repo_apikey_insert(app->db, out, hash, APIKEY_MAX_PER_USER);
    if (rc != BB_OK) {
        apikey_rec_clear(out);
        sodium_memzero(key, APIKEY_MAX);
        if (rc == BB_ECONFLICT)
            return bb_fail(e, BB_ECONFLICT, "you already have %d live API keys: revoke one first",
                           APIKEY_MAX_PER_USER);
        return bb_fail(e, rc, "cannot store the API key");
    }
    return BB_OK;
}

int svc_apikey_list(bb_app *app, const struct principal *who, apikey_rec **out, size_t *n,
                    bb_errctx *e)
{
    int rc = repo_apikey_list(app->db, who->user_id, 1000, out, n);
    return rc == BB_OK ? BB_OK : bb_fail(e, rc, "cannot read the API keys");
}

int svc_apikey_revoke(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    int rc = repo_apikey_revoke(app->db, id, who->user_id, bb_now_ms());
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, rc, "no such live API key");
    return rc == BB_OK ? BB_OK : bb_fail(e, rc, "cannot revoke the API key");
}

/* ms → ISO text in o[key], or null when 0. */
static bool add_time(cJSON *o, const char *key, int64_t ms)
{
    if (ms == 0)
        return cJSON_AddNullToObject(o, key) != NULL;
    char iso[32];
    bb_iso8601(ms, iso);
    return cJSON_AddStringToObject(o, key, iso) != NULL;
}

cJSON *svc_apikey_dto(const apikey_rec *k)
{
    cJSON *o = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "key_%lld", (long long)k->id);
    if (!o || !cJSON_AddStringToObject(o, "id", id) ||
        !cJSON_AddStringToObject(o, "name", k->name) ||
        !cJSON_AddStringToObject(o, "scope", k->scope) ||
        !cJSON_AddStringToObject(o, "prefix", k->prefix) ||
        !add_time(o, "createdAt", k->created_at) ||
        !add_time(o, "expiresAt", k->expires_at) || !add_time(o, "lastUsedAt", k->last_used_at) ||
        !add_time(o, "revokedAt", k->revoked_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int svc_apikey_check(bb_app *app, const char *key, struct apikey_auth *out)
{
    if (!key || strncmp(key, APIKEY_PREFIX, 4) != 0 || strlen(key) >= APIKEY_MAX)
        return BB_EAUTH;
    unsigned char h[APIKEY_HASH_BYTES];
    key_hash(key, h);
    int64_t now = bb_now_ms();
    int rc = repo_apikey_check(app->db, h, now, out);
    if (rc != BB_OK)
        return rc == BB_EAUTH ? BB_EAUTH : rc;
    /* coalesced: one small write per key and minute, not one per request */
    if (now - out->last_used_at >= APIKEY_TOUCH_MS &&
        repo_apikey_touch(app->db, out->key_id, now) != BB_OK)
        bb_warn("cannot record an API key's last use");
    return BB_OK;
}

bool svc_apikey_allows(const char *scope, const char *method, const char *pattern,
                       const char **need)
{
    *need = NULL;
    if (strcmp(scope, "admin") == 0)
        return true;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
        strcmp(method, "OPTIONS") == 0)
        return true;
    char key[160];
    snprintf(key, sizeof key, "%s %s", method, pattern);
    for (size_t i = 0; SUBMIT_ROUTES[i]; i++)
        if (strcmp(key, SUBMIT_ROUTES[i]) == 0) {
            if (strcmp(scope, "submit") == 0)
                return true;
            *need = "submit";
            return false;
        }
    *need = "admin";
    return false;
}

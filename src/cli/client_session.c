/* client_session.c — the process's credentials for the chosen server:
 * BATCHBOX_TOKEN, or the tokens `batchbox login` stored (client_cred.c),
 * refreshed before they expire and once on a 401.  See client.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"

/* Refresh before a request when the access token expires this soon. */
#define REFRESH_MARGIN_SEC 30

/* The process's credentials for the chosen server, loaded on first use
 * and shared by the main thread and the `submit --wait` checker thread
 * (everything under mu).  gen counts token changes: of two threads that
 * both got a 401 with generation g, the first refreshes and the second
 * finds gen != g and just retries with the new token. */
static struct {
    pthread_mutex_t mu;
    bool loaded;
    char server[1024];
    bool env_set;          /* BATCHBOX_TOKEN is set: it wins, no refresh */
    char *env_header;      /* its header line; NULL when unusable */
    char *access, *refresh, *email; /* from the credentials file */
    int64_t expires_at;    /* unix seconds; 0 unknown */
    unsigned gen;
    unsigned early_tried;  /* gen + 1 of the last refresh-before-expiry */
    bool expired;          /* refresh refused: entry removed, user told */
} g_sess = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* "Authorization: Bearer <tok>" (malloc'd; caller frees with
 * cl_free_secret), or NULL when out of memory. */
char *cl_bearer(const char *tok)
{
    size_t n = strlen(tok) + sizeof "Authorization: Bearer ";
    char *h = malloc(n);

    if (h)
        snprintf(h, n, "Authorization: Bearer %s", tok);
    return h;
}

/* Header line for BATCHBOX_TOKEN, or NULL when it is unusable (a warning
 * says so, once).  Caller frees with cl_free_secret. */
static char *env_token_header(const char *tok)
{
    static atomic_int warned;

    if (!cl_token_ok(tok)) {
        if (atomic_exchange(&warned, 1) == 0)
            fputs(strlen(tok) > MAX_TOKEN_LEN
                      ? "batchbox: BATCHBOX_TOKEN is too long; not sent\n"
                      : "batchbox: BATCHBOX_TOKEN contains spaces or control "
                        "characters; not sent\n",
                  stderr);
        return NULL;
    }
    return cl_bearer(tok);
}

static void sess_forget_locked(void)
{
    cl_free_secret(g_sess.access);
    cl_free_secret(g_sess.refresh);
    free(g_sess.email);
    g_sess.access = g_sess.refresh = g_sess.email = NULL;
    g_sess.expires_at = 0;
}

/* Takes the tokens of a credentials entry; 0, or -1 when the entry is
 * malformed (the session is then left empty). */
static int sess_adopt_locked(const cJSON *entry)
{
    const char *acc = cl_jstr(entry, "accessToken");
    const char *ref = cl_jstr(entry, "refreshToken");
    const char *email = cl_jstr(entry, "email");

    sess_forget_locked();
    if (!cl_token_ok(acc) || (ref && !cl_token_ok(ref)))
        return -1;
    g_sess.access = strdup(acc);
    g_sess.refresh = ref ? strdup(ref) : NULL;
    g_sess.email = strdup(email ? email : "");
    if (!g_sess.access || (ref && !g_sess.refresh) || !g_sess.email) {
        sess_forget_locked();
        return -1;
    }
    g_sess.expires_at = cl_parse_iso_utc(cl_jstr(entry, "expiresAt"));
    return 0;
}

/* Loads the credentials for server (once per server). */
static void sess_load_locked(const char *server)
{
    struct cl_cred_paths p;
    char why[512];
    const char *env = getenv("BATCHBOX_TOKEN");

    /* an API key (docs/integrations.md) is sent like a fixed token */
    if (!env || !*env)
        env = getenv("BATCHBOX_API_KEY");
    if (g_sess.loaded && strcmp(g_sess.server, server) == 0)
        return;
    sess_forget_locked();
    cl_free_secret(g_sess.env_header);
    g_sess.env_header = NULL;
    g_sess.loaded = true;
    g_sess.expired = false;
    g_sess.gen++;
    snprintf(g_sess.server, sizeof g_sess.server, "%s", server);
    g_sess.env_set = env && *env;
    if (g_sess.env_set) {
        g_sess.env_header = env_token_header(env);
        return;
    }
    if (cl_cred_paths_get(&p, why, sizeof why) != 0)
        return; /* no config directory: not signed in */
    cJSON *all = cl_cred_read(&p, why, sizeof why);
    if (!all) {
        fprintf(stderr, "batchbox: %s; continuing without stored "
                        "credentials\n", why);
        return;
    }
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(all, server);
    if (entry && sess_adopt_locked(entry) != 0)
        fprintf(stderr, "batchbox: ignoring the malformed credentials "
                        "stored for %s in %s\n", server, p.file);
    cJSON_Delete(all);
}

/* Frees the session (end of a verb). */
void cl_sess_clear(void)
{
    pthread_mutex_lock(&g_sess.mu);
    sess_forget_locked();
    cl_free_secret(g_sess.env_header);
    g_sess.env_header = NULL;
    g_sess.loaded = false;
    pthread_mutex_unlock(&g_sess.mu);
}

/* The Authorization line of the loaded session (caller frees with
 * cl_free_secret), or NULL.  Under g_sess.mu. */
static char *header_locked(void)
{
    if (g_sess.env_set)
        return g_sess.env_header ? strdup(g_sess.env_header) : NULL;
    return g_sess.access ? cl_bearer(g_sess.access) : NULL;
}

char *client_auth_header(const char *server)
{
    char *h;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(server);
    h = header_locked();
    pthread_mutex_unlock(&g_sess.mu);
    return h;
}

/* True when credentials of any kind will be sent. */
bool cl_sess_has_credentials(const char *server)
{
    bool have;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(server);
    have = g_sess.env_set ? g_sess.env_header != NULL : g_sess.access != NULL;
    pthread_mutex_unlock(&g_sess.mu);
    return have;
}

/* True once a refresh was refused (the user has been told). */
bool cl_sess_expired(void)
{
    bool e;

    pthread_mutex_lock(&g_sess.mu);
    e = g_sess.expired;
    pthread_mutex_unlock(&g_sess.mu);
    return e;
}

/* The session ended on the server: forget it here and in the file. */
static void sess_expire_locked(const struct ctx *c, cJSON *all,
                               const struct cl_cred_paths *p)
{
    char why[512];

    if (all && cJSON_GetObjectItemCaseSensitive(all, g_sess.server)) {
        cJSON_DeleteItemFromObjectCaseSensitive(all, g_sess.server);
        if (cl_cred_write(p, all, why, sizeof why) != 0)
            errorf(c, "cannot remove the expired credentials: %s", why);
    }
    sess_forget_locked();
    g_sess.expired = true;
    g_sess.gen++;
    if (strcmp(g_sess.server, DEFAULT_SERVER) == 0)
        errorf(c, "session expired: run batchbox login");
    else
        errorf(c, "session expired: run batchbox login --server %s", c->shown);
}

/* Gets a new token pair with the stored refresh token (POST
 * /auth/refresh), unless the tokens changed since generation used_gen
 * (another thread, or another batchbox process that stored a new pair in
 * the file, refreshed already).  The new pair is stored in the file.
 * CL_REFRESH_OK: retry with the current token.  CL_REFRESH_EXPIRED: the server
 * refused (the entry is removed, "session expired" printed).
 * CL_REFRESH_FAILED: the server could not be asked; when f is non-NULL it
 * receives the failed call (caller frees f->resp). */
int cl_sess_refresh(const struct ctx *c, unsigned used_gen,
                    struct cl_refresh_fail *f)
{
    struct cl_cred_paths p;
    struct http_response resp;
    char why[512], err[512];
    cJSON *all = NULL, *answer = NULL, *body = NULL;
    char *json = NULL, *url = NULL;
    int lfd = -1, rc = CL_REFRESH_FAILED;
    bool have_paths;
    enum http_result res;

    memset(&resp, 0, sizeof resp);
    pthread_mutex_lock(&g_sess.mu);
    if (g_sess.gen != used_gen) {
        rc = g_sess.access ? CL_REFRESH_OK : CL_REFRESH_EXPIRED;
        goto unlock;
    }
    if (g_sess.expired || g_sess.env_set || !g_sess.refresh) {
        rc = CL_REFRESH_EXPIRED;
        goto unlock;
    }

    have_paths = cl_cred_paths_get(&p, why, sizeof why) == 0;
    if (have_paths && (lfd = cl_cred_lock(&p, why, sizeof why)) < 0)
        errorf(c, "warning: %s", why);
    if (have_paths && !(all = cl_cred_read(&p, why, sizeof why)))
        errorf(c, "warning: %s", why);
    if (all) {
        const cJSON *entry = cJSON_GetObjectItemCaseSensitive(all,
                                                              g_sess.server);
        const char *facc = cl_jstr(entry, "accessToken");
        if (!entry) {
            /* `batchbox logout` ran meanwhile. */
            sess_expire_locked(c, all, &p);
            rc = CL_REFRESH_EXPIRED;
            goto unlock;
        }
        if (facc && strcmp(facc, g_sess.access) != 0 &&
            sess_adopt_locked(entry) == 0) {
            g_sess.gen++;
            rc = CL_REFRESH_OK;
            goto unlock;
        }
    }

    body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "refreshToken", g_sess.refresh) ||
        !(json = cJSON_PrintUnformatted(body)) ||
        !(url = cl_api_url(c, "/auth/refresh"))) {
        errorf(c, "out of memory");
        goto unlock;
    }
    struct cl_req o = {.no_auth = true};
    res = cl_api_send("POST", url, json, &o, NULL, &resp, err, sizeof err);

    if (res == HTTP_RES_OK && resp.status == 200) {
        answer = cJSON_ParseWithLength(resp.body, resp.body_len);
        const char *acc = cl_jstr(answer, "accessToken");
        const char *ref = cl_jstr(answer, "refreshToken");
        int ttl = cl_jint(answer, "expiresIn", 0);
        char *nacc = cl_token_ok(acc) ? strdup(acc) : NULL;
        char *nref = cl_token_ok(ref) ? strdup(ref) : NULL;
        if (!nacc || !nref) {
            cl_free_secret(nacc);
            cl_free_secret(nref);
            errorf(c, "unexpected answer from the server to a token refresh");
            sess_expire_locked(c, all, have_paths ? &p : NULL);
            rc = CL_REFRESH_EXPIRED;
            goto unlock;
        }
        cl_free_secret(g_sess.access);
        cl_free_secret(g_sess.refresh);
        g_sess.access = nacc;
        g_sess.refresh = nref;
        g_sess.expires_at = ttl > 0 ? (int64_t)time(NULL) + ttl : 0;
        g_sess.gen++;
        rc = CL_REFRESH_OK;
        if (all) {
            cJSON *entry = cl_cred_entry_new(g_sess.server, g_sess.email, nacc,
                                             nref, g_sess.expires_at);
            cJSON_DeleteItemFromObjectCaseSensitive(all, g_sess.server);
            if (!entry || !cJSON_AddItemToObject(all, g_sess.server, entry)) {
                cJSON_Delete(entry);
                snprintf(why, sizeof why, "out of memory");
            } else if (cl_cred_write(&p, all, why, sizeof why) == 0) {
                goto unlock;
            }
        }
        errorf(c, "warning: cannot save the refreshed tokens (%s); the next "
                  "command will have to sign in again", why);
    } else if (res == HTTP_RES_OK && resp.status >= 400 && resp.status < 500 &&
               resp.status != 429) {
        /* 400/401/403: the refresh token is spent, expired or revoked. */
        sess_expire_locked(c, all, have_paths ? &p : NULL);
        rc = CL_REFRESH_EXPIRED;
    } else {
        rc = CL_REFRESH_FAILED;
        if (f) {
            f->res = res;
            f->resp = resp;
            memset(&resp, 0, sizeof resp);
            snprintf(f->err, sizeof f->err, "%s", err);
            f->set = true;
        }
    }

unlock:
    pthread_mutex_unlock(&g_sess.mu);
    if (lfd >= 0)
        (void)close(lfd);
    cJSON_Delete(all);
    cJSON_Delete(answer);
    cJSON_Delete(body);
    cl_free_secret(json);
    free(url);
    cl_response_free_secret(&resp);
    return rc;
}

/* The Authorization line for a request to c's server (caller frees with
 * cl_free_secret; NULL: none).  *gen receives the tokens' generation and
 * *refreshable whether a 401 may be answered by refreshing.  A stored
 * access token that expires within REFRESH_MARGIN_SEC is refreshed first
 * (once per token; a failure leaves the old token in use). */
char *cl_sess_header(const struct ctx *c, unsigned *gen,
                     bool *refreshable)
{
    char *h = NULL;
    bool early;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(c->server);
    early = !g_sess.env_set && g_sess.access && g_sess.refresh &&
            g_sess.expires_at > 0 &&
            (int64_t)time(NULL) >= g_sess.expires_at - REFRESH_MARGIN_SEC &&
            g_sess.early_tried != g_sess.gen + 1;
    if (early) {
        unsigned g = g_sess.gen;
        g_sess.early_tried = g + 1;
        pthread_mutex_unlock(&g_sess.mu);
        (void)cl_sess_refresh(c, g, NULL);
        pthread_mutex_lock(&g_sess.mu);
    }
    *gen = g_sess.gen;
    *refreshable = !g_sess.env_set && g_sess.refresh != NULL;
    h = header_locked();
    pthread_mutex_unlock(&g_sess.mu);
    return h;
}

/* client_account.c — `batchbox login` (sign in, store the tokens),
 * `logout` (end the session on the server, forget it here) and `whoami`.
 * See client.h; the credentials file is client_cred.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/users.h"
#include "cli/verbs.h"

/* The server accepts passwords up to 1024 bytes. */
#define LOGIN_PASSWORD_CAP 1100u

/* The server's USER object printed as "email:/name:/role:" lines. */
static void print_user(const cJSON *u)
{
    const char *name = cl_jstr(u, "name");

    fputs("email: ", stdout);
    cl_put_clean(stdout, cl_jstr(u, "email") ? cl_jstr(u, "email") : "-");
    fputs("\nname:  ", stdout);
    cl_put_clean(stdout, name && *name ? name : "-");
    fputs("\nrole:  ", stdout);
    cl_put_clean(stdout, cl_jstr(u, "role") ? cl_jstr(u, "role") : "-");
    fputc('\n', stdout);
    fflush(stdout);
}

/* Explains a cli_read_secret() failure; returns the exit code. */
static int secret_failure(const struct ctx *c, enum cli_secret_result r,
                          const char *what, bool from_stdin)
{
    switch (r) {
    case CLI_SECRET_EOF:
        return usage_error(c, "no %s %s", what,
                           from_stdin ? "on stdin" : "given");
    case CLI_SECRET_TOO_LONG:
        return usage_error(c, "%s too long", what);
    case CLI_SECRET_INTERRUPTED:
        errorf(c, "interrupted");
        return CLI_EXIT_FAILED;
    default:
        errorf(c, "cannot read the %s: %s", what,
               errno ? strerror(errno) : "no terminal");
        return CLI_EXIT_FAILED;
    }
}

int cl_login(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    const char *email_opt = cli_str(a, "email");
    bool pw_stdin = cli_flag(a, "password-stdin");
    char email[320], pw[LOGIN_PASSWORD_CAP], why[512];
    int code;
    enum cli_secret_result sr;

    c->auth_verb = true;
    if (email_opt) {
        if (!*email_opt || strlen(email_opt) >= sizeof email)
            return usage_error(c, "--email: expected an e-mail address");
        snprintf(email, sizeof email, "%s", email_opt);
    } else if (pw_stdin || !isatty(STDIN_FILENO)) {
        return usage_error(c, "--email E is needed when %s",
                           pw_stdin ? "the password comes from stdin"
                                    : "stdin is not a terminal");
    } else {
        fprintf(stderr, "signing in to %s\n", c->shown);
        if ((sr = cli_read_secret("email: ", false, email, sizeof email)) !=
            CLI_SECRET_OK)
            return secret_failure(c, sr, "e-mail address", false);
        if (!*email)
            return usage_error(c, "no e-mail address given");
    }
    if (!pw_stdin && !isatty(STDIN_FILENO))
        return usage_error(c, "stdin is not a terminal: give the password "
                              "with --password-stdin");
    sr = cli_read_secret(pw_stdin ? NULL : "password: ", true, pw, sizeof pw);
    if (sr != CLI_SECRET_OK)
        return secret_failure(c, sr, "password", pw_stdin);
    if (!*pw)
        return usage_error(c, "the password is empty");

    cJSON *body = cJSON_CreateObject();
    char *json = NULL, *url = cl_api_url(c, "/auth/login");
    if (body && cJSON_AddStringToObject(body, "email", email) &&
        cJSON_AddStringToObject(body, "password", pw))
        json = cJSON_PrintUnformatted(body);
    explicit_bzero(pw, sizeof pw);
    /* The tree holds the password too. */
    cJSON *pwi = cJSON_GetObjectItemCaseSensitive(body, "password");
    if (cJSON_IsString(pwi))
        explicit_bzero(pwi->valuestring, strlen(pwi->valuestring));
    cJSON_Delete(body);
    if (!json || !url) {
        cl_free_secret(json);
        free(url);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }

    struct cl_req o = {.no_auth = true};
    struct http_response resp;
    char err[512];
    enum http_result r = cl_api_do(c, "POST", url, json, &o, &resp, err,
                                   sizeof err);
    cl_free_secret(json);
    free(url);
    if (r != HTTP_RES_OK || !cl_is_2xx(resp.status)) {
        code = cl_report_failure(c, r, &resp, err);
        /* Wrong credentials and too many attempts are refusals, not an
         * unreachable server. */
        if (r == HTTP_RES_OK && resp.status == 429)
            code = CLI_EXIT_FAILED;
        cl_response_free_secret(&resp);
        return code;
    }

    cJSON *answer = cJSON_ParseWithLength(resp.body, resp.body_len);
    cl_response_free_secret(&resp);
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(answer, "user");
    const char *acc = cl_jstr(answer, "accessToken");
    const char *ref = cl_jstr(answer, "refreshToken");
    const char *who = cl_jstr(user, "email");
    int ttl = cl_jint(answer, "expiresIn", 0);
    if (!cl_token_ok(acc) || !cl_token_ok(ref)) {
        cJSON_Delete(answer);
        errorf(c, "unexpected answer from the server: no usable tokens");
        return CLI_EXIT_FAILED;
    }
    struct cl_cred_paths p;
    cJSON *entry = cl_cred_entry_new(c->server, who ? who : email, acc, ref,
                                     ttl > 0 ? (int64_t)time(NULL) + ttl : 0);
    if (!entry) {
        cJSON_Delete(answer);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    if (cl_cred_put(c->server, entry, why, sizeof why) != 0 ||
        cl_cred_paths_get(&p, why, sizeof why) != 0) {
        cJSON_Delete(answer);
        errorf(c, "signed in, but cannot store the credentials: %s", why);
        return CLI_EXIT_FAILED;
    }
    if (c->json) {
        cl_print_json(user);
    } else {
        printf("signed in to %s as ", c->shown);
        cl_put_clean(stdout, who ? who : email);
        if (cl_jstr(user, "role")) {
            fputs(" (", stdout);
            cl_put_clean(stdout, cl_jstr(user, "role"));
            fputc(')', stdout);
        }
        printf("\ncredentials saved in %s\n", p.file);
        fflush(stdout);
    }
    const char *env = getenv("BATCHBOX_TOKEN");
    if (env && *env)
        errorf(c, "note: BATCHBOX_TOKEN is set and is used instead of the "
                  "stored credentials until you unset it");
    cJSON_Delete(answer);
    return CLI_EXIT_OK;
}

int cl_logout(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    char why[512], err[512];
    char *auth = NULL, *json = NULL, *url = NULL;

    c->auth_verb = true;
    /* The stored session, whatever BATCHBOX_TOKEN says. */
    struct cl_cred_paths p;
    cJSON *all = NULL, *body = NULL;
    const cJSON *entry = NULL;
    if (cl_cred_paths_get(&p, why, sizeof why) == 0 &&
        (all = cl_cred_read(&p, why, sizeof why)) != NULL)
        entry = cJSON_GetObjectItemCaseSensitive(all, c->server);
    const char *acc = cl_jstr(entry, "accessToken");
    const char *ref = cl_jstr(entry, "refreshToken");
    if (!entry) {
        cJSON_Delete(all);
        printf("not signed in to %s\n", c->shown);
        return CLI_EXIT_OK;
    }

    /* Revoke the session on the server (it answers 204 even for an
     * unknown session), then forget it here in any case. */
    bool revoked = false;
    body = cJSON_CreateObject();
    if (body && cl_token_ok(ref))
        (void)cJSON_AddStringToObject(body, "refreshToken", ref);
    json = body ? cJSON_PrintUnformatted(body) : NULL;
    url = cl_api_url(c, "/auth/logout");
    auth = cl_token_ok(acc) ? cl_bearer(acc) : NULL;
    if (json && url) {
        struct cl_req o = {.timeout_ms = CHECK_TIMEOUT_MS};
        struct http_response resp;
        enum http_result r = cl_api_send("POST", url, json, &o, auth, &resp,
                                         err, sizeof err);
        if (r == HTTP_RES_OK && cl_is_2xx(resp.status)) {
            revoked = true;
        } else if (r == HTTP_RES_OK) {
            snprintf(why, sizeof why, "the server answered HTTP %ld",
                     resp.status);
        } else {
            snprintf(why, sizeof why, "%s", err);
        }
        cl_response_free_secret(&resp);
    } else {
        snprintf(why, sizeof why, "out of memory");
    }
    cl_free_secret(auth);
    cl_free_secret(json);
    free(url);
    cJSON_Delete(body);
    cJSON_Delete(all);

    if (cl_cred_put(c->server, NULL, err, sizeof err) != 0) {
        errorf(c, "cannot remove the stored credentials: %s", err);
        return CLI_EXIT_FAILED;
    }
    if (!revoked)
        errorf(c, "could not sign out on the server (%s); the session stays "
                  "valid there until it expires", why);
    printf("signed out of %s\n", c->shown);
    fflush(stdout);
    return CLI_EXIT_OK;
}

int cl_whoami(const struct cli_call *a)
{
    struct ctx *c = a->ctx;
    int code;

    if (!cl_sess_has_credentials(c->server)) {
        errorf(c, "not signed in to %s: run batchbox login%s%s", c->shown,
               strcmp(c->server, DEFAULT_SERVER) == 0 ? "" : " --server ",
               strcmp(c->server, DEFAULT_SERVER) == 0 ? "" : c->shown);
        return CLI_EXIT_FAILED;
    }

    char *url = cl_api_url(c, "/auth/me");
    struct http_response resp;
    cJSON *u;
    if (!url) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    u = cl_api_json(c, "GET", url, NULL, NULL, &code, &resp);
    free(url);
    if (!u)
        return code;
    if (c->json)
        cl_print_raw(&resp);
    else
        print_user(u);
    http_response_free(&resp);
    cJSON_Delete(u);
    return CLI_EXIT_OK;
}

/* users.c — `batchbox user add|list|passwd|role|disable|enable`: account
 * administration for the machine's operator, straight on DIR/batchbox.db
 * (no server needed; a running server sees the changes within a second: it
 * reads users and sessions from the same database, and keeps a verified
 * access token for at most TOKEN_CACHE_TTL_MS, infra/db/token_cache.h).
 * Also cli_read_secret(), the CLI's password prompt, shared with
 * `batchbox login` (client_account.c).  User documentation: docs/cli.md.
 *
 * Every change goes through the service and repository functions the
 * server uses (auth_create_user, repo_user_update), so the rules are the
 * same: argon2id hashes, e-mail validation, "the last admin cannot be
 * demoted or disabled", sessions revoked on a password change or when an
 * account is disabled. */
#include "cli/users.h"
#include "cli/verbs.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/user.h"
#include "infra/db/db.h"
#include "infra/db/repo_user.h"
#include "service/auth.h"
#include "util/err.h"
#include "util/log.h"

#define DEFAULT_DATA_DIR "./data"
/* The server accepts passwords up to 1024 bytes; a longer line is refused
 * here without being cut. */
#define PASSWORD_CAP 1100u
#define USERS_MAX_LIST 1000000u

enum {
    EXIT_OK = 0,
    EXIT_REFUSED = 1,
    EXIT_USAGE = 2,
    EXIT_DATABASE = 3,
};

/* ------------------------------------------------------ secret prompt */

static volatile sig_atomic_t secret_signaled;

static void secret_on_signal(int sig)
{
    (void)sig;
    secret_signaled = 1;
}

enum cli_secret_result cli_read_secret(const char *prompt, bool hide,
                                       char *out, size_t cap)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa, old[sizeof sigs / sizeof sigs[0]];
    bool have_old[sizeof sigs / sizeof sigs[0]] = {false};
    struct termios saved, quiet;
    bool echo_off = false, any = false;
    enum cli_secret_result res;
    size_t n = 0;

    if (cap == 0)
        return CLI_SECRET_TOO_LONG;
    out[0] = '\0';
    if (prompt && !isatty(STDIN_FILENO))
        return CLI_SECRET_IO;

    /* While prompting, a signal must not leave the terminal silent: catch
     * it (no SA_RESTART, so read() returns), restore, then report it. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = secret_on_signal;
    sigemptyset(&sa.sa_mask);
    secret_signaled = 0;
    if (prompt)
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
            have_old[k] = sigaction(sigs[k], &sa, &old[k]) == 0;

    if (prompt) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (hide && tcgetattr(STDIN_FILENO, &saved) == 0) {
            quiet = saved;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
        if (hide && !echo_off) {
            res = CLI_SECRET_IO; /* never show a password being typed */
            goto done;
        }
    }

    /* One byte at a time, so nothing after the first line is consumed. */
    for (;;) {
        char ch;
        ssize_t r;

        if (secret_signaled) {
            res = CLI_SECRET_INTERRUPTED;
            break;
        }
        r = read(STDIN_FILENO, &ch, 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            res = CLI_SECRET_IO;
            break;
        }
        if (r == 0) {
            res = any ? CLI_SECRET_OK : CLI_SECRET_EOF;
            break;
        }
        any = true;
        if (ch == '\n') {
            res = CLI_SECRET_OK;
            break;
        }
        if (n + 1 >= cap) {
            res = CLI_SECRET_TOO_LONG;
            break;
        }
        out[n++] = ch;
    }
    if (res == CLI_SECRET_OK && n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    if (res != CLI_SECRET_OK) {
        explicit_bzero(out, cap);
        out[0] = '\0';
    }

done:
    if (echo_off) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr); /* the Enter the terminal did not echo */
    }
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        if (have_old[k])
            (void)sigaction(sigs[k], &old[k], NULL);
    return res;
}

/* -------------------------------------------------------- subcommands */

/* --data DIR, or the default. */
static const char *user_data(const struct cli_call *a)
{
    const char *d = cli_str(a, "data");
    return d ? d : DEFAULT_DATA_DIR;
}

int cli_users_enter(struct cli_call *a)
{
    if (!*user_data(a))
        return cli_usage_error(a, "--data: empty directory name");
    /* A command-line tool: the database's info lines ("database migrated")
     * are noise here; warnings and errors still show. */
    bb_log_set_level(BB_LOG_WARN);
    return 0;
}

/* Prints e's message and its field messages; returns the exit code for
 * its error code. */
static int report_err(const struct cli_call *a, int code, const bb_errctx *e)
{
    const cJSON *f;

    /* One line per bad field ("password: must be at least 8 ..."), else
     * the message. */
    if (cJSON_GetArraySize(e->fields) > 0) {
        cJSON_ArrayForEach(f, e->fields)
        {
            cli_errorf(a, "%s: %s", f->string ? f->string : "?",
                       cJSON_IsString(f) ? f->valuestring : "invalid");
        }
    } else {
        cli_errorf(a, "%s", e->message[0] ? e->message : bb_err_code(code));
    }
    switch (code) {
    case BB_EINVAL:
        return EXIT_USAGE;
    case BB_EIO:
    case BB_EUNAVAIL:
        return EXIT_DATABASE;
    default:
        return EXIT_REFUSED;
    }
}

/* Opens DIR/batchbox.db.  Only `add` may create the database (in an
 * existing directory); the others need it to exist, so a mistyped --data
 * does not leave an empty database behind.  0 or the exit code (message
 * printed). */
static int open_db(const struct cli_call *a, const char *dir, bool may_create,
                   db **out)
{
    char path[PATH_MAX], err[512];
    struct stat st;
    struct db_options o = {.readers = 1};

    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/batchbox.db", dir) >=
        sizeof path) {
        cli_errorf(a, "--data: path too long");
        return EXIT_USAGE;
    }
    if (stat(dir, &st) != 0) {
        cli_errorf(a, "no data directory %s (%s); use --data DIR", dir,
                   strerror(errno));
        return EXIT_DATABASE;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_errorf(a, "%s is not a directory; use --data DIR", dir);
        return EXIT_DATABASE;
    }
    if (!may_create && stat(path, &st) != 0) {
        cli_errorf(a, "no database at %s (%s); use --data DIR", path,
                   strerror(errno));
        return EXIT_DATABASE;
    }
    if (db_open(path, &o, out, err, sizeof err) != 0) {
        cli_errorf(a, "cannot open the database %s: %s", path, err);
        *out = NULL;
        return EXIT_DATABASE;
    }
    return EXIT_OK;
}

/* Looks EMAIL up; 0 with *u filled (caller frees with user_clear), or the
 * exit code (message printed). */
static int find_user(const struct cli_call *a, db *d, const char *email_arg,
                     user *u)
{
    char email[256];
    bb_errctx e = {0};
    int rc;

    memset(u, 0, sizeof *u);
    if (!auth_normalize_email(email_arg, email, "email", &e)) {
        rc = report_err(a, BB_EINVAL, &e);
        bb_err_clear(&e);
        return rc;
    }
    rc = repo_user_by_email(d, email, u);
    if (rc == BB_ENOTFOUND) {
        cli_errorf(a, "no such user: %s", email);
        return EXIT_REFUSED;
    }
    if (rc != BB_OK) {
        cli_errorf(a, "cannot read the database (%s)", bb_err_code(rc));
        return EXIT_DATABASE;
    }
    return EXIT_OK;
}

/* Reads a new password: the first line of stdin with --password-stdin,
 * else typed twice on the terminal.  0 or the exit code (message
 * printed). */
static int read_new_password(const struct cli_call *a, bool from_stdin, char *pw,
                             size_t cap)
{
    enum cli_secret_result r;

    if (from_stdin) {
        r = cli_read_secret(NULL, false, pw, cap);
    } else if (!isatty(STDIN_FILENO)) {
        cli_errorf(a, "stdin is not a terminal: give the password with "
                     "--password-stdin");
        return EXIT_USAGE;
    } else {
        r = cli_read_secret("password: ", true, pw, cap);
        if (r == CLI_SECRET_OK) {
            char again[PASSWORD_CAP];
            r = cli_read_secret("again: ", true, again, sizeof again);
            bool same = r == CLI_SECRET_OK && strcmp(pw, again) == 0;
            explicit_bzero(again, sizeof again);
            if (r == CLI_SECRET_OK && !same) {
                explicit_bzero(pw, cap);
                cli_errorf(a, "the passwords do not match");
                return EXIT_USAGE;
            }
        }
    }
    switch (r) {
    case CLI_SECRET_OK:
        break;
    case CLI_SECRET_EOF:
        cli_errorf(a, from_stdin ? "no password on stdin" : "no password given");
        return EXIT_USAGE;
    case CLI_SECRET_TOO_LONG:
        cli_errorf(a, "password too long (at most 1024 bytes)");
        return EXIT_USAGE;
    case CLI_SECRET_INTERRUPTED:
        cli_errorf(a, "interrupted");
        return EXIT_REFUSED;
    default:
        cli_errorf(a, "cannot read the password: %s",
                   errno ? strerror(errno) : "no terminal");
        return EXIT_REFUSED;
    }
    if (pw[0] == '\0') {
        cli_errorf(a, "the password is empty");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cli_user_add(const struct cli_call *a)
{
    char email[256], pw[PASSWORD_CAP];
    const char *role = cli_str(a, "role") ? cli_str(a, "role") : "user";
    bb_errctx e = {0};
    int64_t nusers = -1;
    user u;
    db *d;
    int rc;

    memset(&u, 0, sizeof u);
    /* Check what can be checked before asking for a password. */
    if (!user_role_valid(role)) {
        cli_errorf(a, "--role must be admin or user, not '%s'", role);
        return EXIT_USAGE;
    }
    if (!auth_normalize_email(cli_pos(a, 0), email, "email", &e)) {
        rc = report_err(a, BB_EINVAL, &e);
        bb_err_clear(&e);
        return rc;
    }
    if ((rc = open_db(a, user_data(a), true, &d)) != 0)
        return rc;
    if (repo_user_by_email(d, email, &u) == BB_OK) {
        user_clear(&u);
        db_close(d);
        cli_errorf(a, "a user with e-mail %s already exists", email);
        return EXIT_REFUSED;
    }
    user_clear(&u);
    /* As with registration, the first account ever is an admin (else
     * nobody could administer the server) unless --role says otherwise. */
    if (!cli_str(a, "role") && repo_user_count(d, &nusers) == BB_OK && nusers == 0)
        role = "admin";

    if ((rc = read_new_password(a, cli_flag(a, "password-stdin"), pw, sizeof pw)) != 0) {
        db_close(d);
        return rc;
    }
    rc = auth_create_user(d, email, cli_str(a, "name"), role, pw, false, &u, &e);
    explicit_bzero(pw, sizeof pw);
    if (rc != BB_OK) {
        if (rc == BB_ECONFLICT && !e.message[0]) {
            cli_errorf(a, "a user with e-mail %s already exists", email);
            rc = EXIT_REFUSED;
        } else {
            rc = report_err(a, rc, &e);
        }
        bb_err_clear(&e);
        db_close(d);
        return rc;
    }
    printf("created user %lld %s (%s%s)\n", (long long)u.id, u.email,
           u.role ? u.role : role,
           nusers == 0 && !cli_str(a, "role") ? ": the first account is an admin" : "");
    user_clear(&u);
    bb_err_clear(&e);
    db_close(d);
    return EXIT_OK;
}

/* "2026-11-22T05:00:00.123Z" → "2026-11-22 05:00:00". */
static void short_time(const char *iso, char out[24])
{
    if (iso && strlen(iso) >= 19 && iso[10] == 'T')
        snprintf(out, 24, "%.10s %.8s", iso, iso + 11);
    else
        snprintf(out, 24, "%s", iso ? iso : "-");
}

static const char *dto_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int cli_user_list(const struct cli_call *a)
{
    user *us = NULL;
    size_t n = 0;
    db *d;
    int rc, code = EXIT_OK;
    cJSON *items = NULL;

    if ((rc = open_db(a, user_data(a), false, &d)) != 0)
        return rc;
    rc = repo_user_list(d, &us, &n);
    db_close(d);
    if (rc != BB_OK) {
        cli_errorf(a, "cannot read the database (%s)", bb_err_code(rc));
        return EXIT_DATABASE;
    }
    if (!(items = cJSON_CreateArray())) {
        code = EXIT_REFUSED;
        goto oom;
    }
    for (size_t k = 0; k < n && k < USERS_MAX_LIST; k++) {
        cJSON *dto = user_to_dto(&us[k]);
        if (!dto || !cJSON_AddItemToArray(items, dto)) {
            cJSON_Delete(dto);
            code = EXIT_REFUSED;
            goto oom;
        }
    }

    if (cli_flag(a, "json")) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL;
        if (o && cJSON_AddItemToObject(o, "items", items)) {
            items = NULL; /* o owns it now */
            text = cJSON_PrintUnformatted(o);
        }
        cJSON_Delete(o);
        if (!text) {
            code = EXIT_REFUSED;
            goto oom;
        }
        printf("%s\n", text);
        free(text);
    } else if (n == 0) {
        printf("no users\n");
    } else {
        const cJSON *it;
        printf("%-6s %-32s %-20s %-6s %-8s %s\n", "ID", "EMAIL", "NAME",
               "ROLE", "STATUS", "CREATED");
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *dis = cJSON_GetObjectItemCaseSensitive(it, "disabled");
            const char *name = dto_str(it, "name");
            char created[24];
            short_time(dto_str(it, "createdAt"), created);
            printf("%-6s %-32s %-20s %-6s %-8s %s\n", dto_str(it, "id"),
                   dto_str(it, "email"), name && *name ? name : "-",
                   dto_str(it, "role"),
                   cJSON_IsTrue(dis) ? "disabled" : "active", created);
        }
    }
    if (fflush(stdout) != 0) {
        cli_errorf(a, "cannot write: %s", strerror(errno));
        code = EXIT_REFUSED;
    }
    goto out;
oom:
    cli_errorf(a, "out of memory");
out:
    cJSON_Delete(items);
    for (size_t k = 0; k < n; k++)
        user_clear(&us[k]);
    free(us);
    return code;
}

/* Applies ch to EMAIL's account; 0 or the exit code (message printed).
 * On success *after holds the updated user (caller frees with
 * user_clear).  conflict_msg explains BB_ECONFLICT. */
static int update_user(const struct cli_call *a,
                       struct user_change *ch, const char *conflict_msg,
                       user *after)
{
    user u;
    db *d;
    int rc;

    memset(after, 0, sizeof *after);
    if ((rc = open_db(a, user_data(a), false, &d)) != 0)
        return rc;
    if ((rc = find_user(a, d, cli_pos(a, 0), &u)) != 0) {
        db_close(d);
        return rc;
    }
    rc = repo_user_update(d, u.id, ch, after);
    user_clear(&u);
    db_close(d);
    switch (rc) {
    case BB_OK:
        return EXIT_OK;
    case BB_ECONFLICT:
        cli_errorf(a, "%s", conflict_msg);
        return EXIT_REFUSED;
    case BB_ENOTFOUND:
        cli_errorf(a, "no such user: %s", cli_pos(a, 0));
        return EXIT_REFUSED;
    default:
        cli_errorf(a, "cannot update the database (%s)", bb_err_code(rc));
        return rc == BB_EINVAL ? EXIT_USAGE : EXIT_DATABASE;
    }
}

int cli_user_passwd(const struct cli_call *a)
{
    char pw[PASSWORD_CAP], hash[AUTH_HASH_MAX];
    bb_errctx e = {0};
    user u;
    db *d;
    int rc;

    /* The account must exist before a password is asked for. */
    if ((rc = open_db(a, user_data(a), false, &d)) != 0)
        return rc;
    rc = find_user(a, d, cli_pos(a, 0), &u);
    user_clear(&u);
    db_close(d);
    if (rc != 0)
        return rc;

    if ((rc = read_new_password(a, cli_flag(a, "password-stdin"), pw, sizeof pw)) != 0)
        return rc;
    if (!auth_check_password(pw, "password", &e)) {
        explicit_bzero(pw, sizeof pw);
        rc = report_err(a, BB_EINVAL, &e);
        bb_err_clear(&e);
        return rc;
    }
    rc = auth_hash_password(pw, hash);
    explicit_bzero(pw, sizeof pw);
    if (rc != 0) {
        cli_errorf(a, "cannot hash the password (out of memory)");
        return EXIT_REFUSED;
    }
    struct user_change ch = {
        .password_hash = hash, .disabled = -1, .revoke_sessions = true,
    };
    rc = update_user(a, &ch, "the account changed meanwhile; try again", &u);
    explicit_bzero(hash, sizeof hash);
    if (rc == 0)
        printf("changed the password of %s; their sessions were signed out\n",
               u.email);
    user_clear(&u);
    return rc;
}

int cli_user_role(const struct cli_call *a)
{
    const char *role = cli_pos(a, 1);
    user u;
    int rc;

    if (!user_role_valid(role)) {
        cli_errorf(a, "the role must be admin or user, not '%s'", role);
        return EXIT_USAGE;
    }
    struct user_change ch = {.role = role, .disabled = -1};
    rc = update_user(a, &ch,
                     "cannot demote the last admin: make another user admin "
                     "first",
                     &u);
    if (rc == 0)
        printf("%s is now %s\n", u.email, u.role ? u.role : role);
    user_clear(&u);
    return rc;
}

int cli_user_disable(const struct cli_call *a)
{
    struct user_change ch = {.disabled = 1, .revoke_sessions = true};
    user u;
    int rc = update_user(a, &ch,
                         "cannot disable the last admin: make another user "
                         "admin first",
                         &u);

    if (rc == 0)
        printf("disabled %s; their sessions were signed out\n", u.email);
    user_clear(&u);
    return rc;
}

int cli_user_enable(const struct cli_call *a)
{
    struct user_change ch = {.disabled = 0};
    user u;
    int rc = update_user(a, &ch, "the account changed meanwhile; try again",
                         &u);

    if (rc == 0)
        printf("enabled %s\n", u.email);
    user_clear(&u);
    return rc;
}

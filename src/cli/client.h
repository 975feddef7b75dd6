/* client.h — the client verbs of the batchbox CLI (submit, jobs, show,
 * logs, watch, cancel, retry, rerun, login, logout, whoami): they talk to
 * a running server over its HTTP API (/api/v1) with libcurl.  User
 * documentation: docs/cli.md. */
#ifndef BB_CLI_CLIENT_H
#define BB_CLI_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of every client verb (documented in docs/cli.md). */
enum cli_client_exit {
    CLI_EXIT_OK = 0,          /* done; with --wait: the job succeeded */
    CLI_EXIT_FAILED = 1,      /* job failed/canceled (--wait), not found,
                                 wrong state, not implemented, refused,
                                 not signed in / session expired */
    CLI_EXIT_USAGE = 2,       /* bad arguments, or the server answered 400 */
    CLI_EXIT_UNREACHABLE = 3, /* connection refused, timeout, 5xx */
};

/* Runs a client verb ("submit", "jobs", "show", "logs", "watch", "cancel",
 * "rerun", "retry", "login", "logout", "whoami").  argv[0] is the verb.
 * Returns the process exit code: 0 ok, 1 job failed/canceled (submit
 * --wait) or refused (not signed in, wrong password, ...), 2 usage error,
 * 3 cannot reach the server (connection refused, timeout, 5xx). */
int cli_client_main(int argc, char **argv);

/* True if verb is one of the client verbs. */
bool cli_client_is_verb(const char *verb);

/* Prints the one-line summaries of the client verbs (for `batchbox
 * --help`). */
void cli_client_usage(FILE *out);

/* The Authorization header line ("Authorization: Bearer <token>") that
 * requests to server (a base URL as given by --server, normalised: no
 * trailing "/" or "/api/v1") carry, or NULL when there are no usable
 * credentials.  BATCHBOX_TOKEN wins when set (NULL, with a warning, when
 * it contains spaces or control characters or is too long); otherwise the
 * access token `batchbox login` stored for server in
 * $XDG_CONFIG_HOME/batchbox/credentials.json.  No network: refreshing an
 * expired token happens inside the verbs' request path.
 * Returns a malloc'd string; caller frees (it holds a secret: wipe it). */
char *client_auth_header(const char *server);

#endif

/* client.h — the client verbs of the batchbox CLI (submit, jobs, show,
 * logs, watch, cancel, retry, rerun): they talk to a running server over
 * its HTTP API (/api/v1) with libcurl.  User documentation: docs/cli.md. */
#ifndef BB_CLI_CLIENT_H
#define BB_CLI_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of every client verb (documented in docs/cli.md). */
enum cli_client_exit {
    CLI_EXIT_OK = 0,          /* done; with --wait: the job succeeded */
    CLI_EXIT_FAILED = 1,      /* job failed/canceled (--wait), not found,
                                 wrong state, not implemented, refused */
    CLI_EXIT_USAGE = 2,       /* bad arguments, or the server answered 400 */
    CLI_EXIT_UNREACHABLE = 3, /* connection refused, timeout, 5xx */
};

/* Runs a client verb ("submit", "jobs", "show", "logs", "watch", "cancel",
 * "rerun", "retry").  argv[0] is the verb.  Returns the process exit code:
 * 0 ok, 1 job failed/canceled (submit --wait), 2 usage error, 3 cannot
 * reach the server (connection refused, timeout, 5xx). */
int cli_client_main(int argc, char **argv);

/* True if verb is one of the client verbs. */
bool cli_client_is_verb(const char *verb);

/* Prints the one-line summaries of the client verbs (for `batchbox
 * --help`). */
void cli_client_usage(FILE *out);

/* The authentication seam: returns the "Authorization: Bearer <token>"
 * header line to send with every request, or NULL when no token is
 * configured (or it is unusable; a warning then goes to stderr).
 * Today the token comes from the environment variable BATCHBOX_TOKEN; the
 * accounts issue adds the token stored by `batchbox login` in the user's
 * config directory as the fallback, here and only here.
 * Returns a malloc'd string; caller frees. */
char *client_auth_header(void);

#endif

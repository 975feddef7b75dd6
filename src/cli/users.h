/* users.h — `batchbox user ...`: the machine operator's account commands
 * (add, list, passwd, role, disable, enable).  They work directly on
 * DIR/batchbox.db, with no server involved.  Also the CLI's one secret
 * prompt (no echo on a terminal, or the first line of stdin), shared with
 * `batchbox login` in client.c.  User documentation: docs/cli.md. */
#ifndef BB_CLI_USERS_H
#define BB_CLI_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Runs `batchbox user SUBCOMMAND ...`; argv[0] is "user".  Returns the
 * process exit code: 0 ok; 1 refused (no such user, email taken, the last
 * admin); 2 usage error or invalid value; 3 the database cannot be opened
 * or written. */
int cli_users_main(int argc, char **argv);

/* Prints the synopsis of every `user` subcommand. */
void cli_users_usage(FILE *out);

/* How cli_read_secret() ended. */
enum cli_secret_result {
    CLI_SECRET_OK = 0,
    CLI_SECRET_EOF,         /* nothing to read (stdin empty / closed) */
    CLI_SECRET_TOO_LONG,    /* longer than cap - 1 bytes */
    CLI_SECRET_INTERRUPTED, /* Ctrl-C or SIGTERM while prompting */
    CLI_SECRET_IO,          /* read error, or no terminal to prompt on */
};

/* Reads one line into out[cap] without its line ending ("\n" or "\r\n").
 * When prompt is non-NULL, stdin must be a terminal: prompt goes to
 * stderr and, with hide set, the terminal does not echo what is typed
 * (restored afterwards, also when interrupted).  With prompt NULL the
 * first line of stdin is read as is (--password-stdin).  out is always
 * NUL-terminated; the caller wipes it (explicit_bzero) after use. */
enum cli_secret_result cli_read_secret(const char *prompt, bool hide,
                                       char *out, size_t cap);

#endif

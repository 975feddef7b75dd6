/* users.h — the CLI's one secret prompt (no echo on a terminal, or the
 * first line of stdin), shared by `batchbox user add|passwd` (users.c) and
 * `batchbox login` (client_account.c).  The user verbs themselves are rows
 * of the verb table (verbs.c, handlers in verbs.h).  User documentation:
 * docs/cli.md. */
#ifndef BB_CLI_USERS_H
#define BB_CLI_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

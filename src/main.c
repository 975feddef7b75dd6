/* main.c — process set-up, then argv → a verb of the CLI's verb table
 * (src/cli/verbs.c): local verbs (serve, run, backup, user, version) run in
 * this process; client verbs talk to a running server. */
#include <signal.h>
#include <stdio.h>

#include <sodium.h>

#include "cli/verbs.h"

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "batchbox: libsodium failed to initialize\n");
        return 3;
    }
    /* a reader that goes away (batchbox watch | head) shows up as a failed
     * write, not a signal */
    signal(SIGPIPE, SIG_IGN);
    return cli_main(argc, argv);
}

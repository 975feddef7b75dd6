/* main.c — argv → a CLI verb: local verbs (serve, run, backup, user, version)
 * run in this process; client verbs talk to a running server. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli/client.h"
#include "cli/local.h"
#include "cli/users.h"
#include "service/app.h"

static void usage(FILE *out)
{
    fprintf(out,
            "batchbox %s — a batch-processing appliance in one binary\n"
            "\n"
            "usage: batchbox <command> [options]   (batchbox <command> --help for details)\n"
            "\n"
            "Local commands:\n"
            "  serve      run the server (web UI, JSON API, live events, workers)\n"
            "  run        run one job in this process, without a server\n"
            "  backup     online copy of a live database\n"
            "  user       manage accounts in the database: add, list, passwd, role,\n"
            "             disable, enable (no server needed)\n"
            "  version    print the version\n"
            "\n"
            "Client commands (talk to a running server; --server URL):\n",
            BB_VERSION);
    cli_client_usage(out);
    fprintf(out, "\nExit status: 0 ok, 1 job failed, 2 usage error, 3 cannot reach server or database.\n");
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "batchbox: libsodium failed to initialize\n");
        return 3;
    }
    /* a reader that goes away (batchbox watch | head) shows up as a failed
     * write, not a signal */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0) {
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            printf("usage: batchbox version\n\nPrints the version of this binary.\n");
            return 0;
        }
        printf("batchbox %s\n", BB_VERSION);
        return 0;
    }
    if (strcmp(verb, "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(verb, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(verb, "backup") == 0)
        return cli_backup(argc - 1, argv + 1);
    if (strcmp(verb, "user") == 0)
        return cli_users_main(argc - 1, argv + 1);
    if (cli_client_is_verb(verb))
        return cli_client_main(argc - 1, argv + 1);
    fprintf(stderr, "batchbox: unknown command \"%s\"\n\n", verb);
    usage(stderr);
    return 2;
}

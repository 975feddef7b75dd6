/* local.h — CLI verbs that run inside this process: serve, run, backup. */
#ifndef BB_CLI_LOCAL_H
#define BB_CLI_LOCAL_H

/* Each takes argv with argv[0] = the verb; returns the exit code
 * (0 ok, 1 job failed, 2 usage error, 3 cannot open the database). */
int cli_serve(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_backup(int argc, char **argv);

#endif

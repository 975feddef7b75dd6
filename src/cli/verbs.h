/* verbs.h — the handlers named in the verb table (verbs.c) and the CLI's
 * entry point.  Each handler gets the parsed call (args.h) and returns the
 * process exit code; a client verb finds its struct ctx in call->ctx. */
#ifndef BB_CLI_VERBS_H
#define BB_CLI_VERBS_H

#include "cli/args.h"

/* The whole command line: batchbox VERB ...  Returns the exit code. */
int cli_main(int argc, char **argv);

/* The top of the verb table (a family whose subs are every verb). */
extern const struct cli_verb cli_root;

/* Local verbs (serve.c, run.c, backup.c, verbs.c). */
int cli_serve(const struct cli_call *call);
int cli_run(const struct cli_call *call);
int cli_backup(const struct cli_call *call);

/* `batchbox user ...` (users.c); cli_users_enter is their group's enter. */
int cli_users_enter(struct cli_call *call);
int cli_user_add(const struct cli_call *call);
int cli_user_list(const struct cli_call *call);
int cli_user_passwd(const struct cli_call *call);
int cli_user_role(const struct cli_call *call);
int cli_user_disable(const struct cli_call *call);
int cli_user_enable(const struct cli_call *call);

/* Client verbs (client_*.c; see client.h). */
int cl_submit(const struct cli_call *call);
int cl_jobs(const struct cli_call *call);
int cl_show(const struct cli_call *call);
int cl_logs(const struct cli_call *call);
int cl_watch(const struct cli_call *call);
int cl_cancel_job(const struct cli_call *call);
int cl_retry(const struct cli_call *call);
int cl_pause(const struct cli_call *call);
int cl_resume(const struct cli_call *call);
int cl_bulk(const struct cli_call *call);
int cl_rerun(const struct cli_call *call);
/* client_admin.c */
int cl_gc(const struct cli_call *call);
int cl_comfyui_servers(const struct cli_call *call);
int cl_comfyui_models(const struct cli_call *call);
int cl_reload(const struct cli_call *call);
int cl_login(const struct cli_call *call);
int cl_logout(const struct cli_call *call);
int cl_whoami(const struct cli_call *call);
int cl_schedule_add(const struct cli_call *call);
int cl_schedule_list(const struct cli_call *call);
int cl_schedule_pause(const struct cli_call *call);
int cl_schedule_resume(const struct cli_call *call);
int cl_schedule_rm(const struct cli_call *call);

#endif

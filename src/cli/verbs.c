/* verbs.c — the verb table: every verb of the batchbox CLI, local and
 * client, with its synopsis, summary, help and options, declared once.
 * `batchbox --help`, each verb's --help, the argument checks and the
 * dispatch from main() all come from these rows (args.c).  A new verb is
 * a handler (verbs.h) and a row here.  User documentation: docs/cli.md. */
#include "cli/verbs.h"

#include <stdio.h>

#include "cli/client.h"
#include "service/app.h"

#define DEFAULT_DATA_DIR "./data"

/* ------------------------------------------------------------- groups */

static const struct cli_group local_group = {
    .title = "Local commands:",
};

static const struct cli_opt client_opts[] = {
    {"server", 0, "URL", "server to talk to (default: $BATCHBOX_SERVER,\n"
                         "else " DEFAULT_SERVER ")"},
    {"json", 0, NULL, "print the server's JSON instead of text"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_group client_group = {
    .title = "Client commands (talk to a running server; --server URL):",
    .options_title = "Common options:",
    .opts = client_opts,
    .footer =
        "Credentials: the token stored by `batchbox login` for the server\n"
        "(renewed automatically when it expires); BATCHBOX_TOKEN, when set, is\n"
        "sent instead ('Authorization: Bearer <token>').\n"
        "Environment: BATCHBOX_SERVER (default server), BATCHBOX_TOKEN.\n"
        "Exit codes: 0 ok; 1 job failed or canceled (--wait), not signed in,\n"
        "not allowed, not found, wrong state or not implemented; 2 usage error\n"
        "or invalid request (HTTP 400); 3 server unreachable, timed out or\n"
        "failing (5xx).\n",
    .list_width = 46,
    .enter = cl_enter,
    .leave = cl_leave,
};

static const struct cli_opt user_opts[] = {
    {"data", 0, "DIR", "data directory holding batchbox.db (default "
                       DEFAULT_DATA_DIR ")"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_group user_group = {
    .opts = user_opts,
    .usage_suffix = " [--data DIR]",
    .footer =
        "Works on the database directly; the server may be running.\n"
        "Exit codes: 0 ok; 1 refused (no such user, e-mail taken, last admin);\n"
        "2 usage error or invalid value; 3 database cannot be opened or written.\n",
    .list_prefix = "user ",
    .list_width = 62,
    .list_note = "  (every user command takes --data DIR, default "
                 DEFAULT_DATA_DIR ")",
    .enter = cli_users_enter,
};

/* ------------------------------------------------------------ options */

static const struct cli_opt serve_opts[] = {
    {"data", 0, "DIR", "data directory (default ./data): batchbox.db, artifacts/"},
    {"listen", 0, "A:P", "listen address (default from config: 127.0.0.1:8080)"},
    {"workers", 0, "N", "worker threads (default from config: number of cores)"},
    {"config", 0, "FILE", "configuration file (default DATA/batchbox.json if\n"
                          "present)"},
    {"grace", 0, "SEC", "on SIGTERM, how long running jobs may finish\n"
                        "(default 20)"},
    {"log-level", 0, "L", "debug, info, warn or error (default info)"},
    {"log-format", 0, "F", "json (default) or text"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt run_opts[] = {
    {"preset", 0, "P", "preset id (required)"},
    {"param", 0, "NAME=VALUE", "fills {param.NAME} in the preset; repeatable"},
    {"out", 0, "DIR", "where the artifacts are copied (default\n"
                      "./batchbox-out)"},
    {"config", 0, "FILE", "configuration file (default: the built-in one)"},
    {"priority", 0, "N", "integer; higher runs first (default 0)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt backup_opts[] = {
    {"data", 0, "DIR", "data directory holding batchbox.db (default ./data)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt submit_opts[] = {
    {"preset", 0, "P", "preset id (default with FILE: the server's\n"
                       "first lesson preset)"},
    {"server-path", 0, NULL, "send FILE as a path inside the server's\n"
                             "inputRoot instead of uploading it"},
    {"tts", 0, NULL, "generate narration (withTts)"},
    {"force-tts", 0, NULL, "bypass the TTS cache (forceTts)"},
    {"upload", 0, "none|s3|auto", "where artifacts are stored"},
    {"voice-accent", 0, "A", "voice accent for the narration"},
    {"mode", 0, "M", "auto, dialogue or monologue"},
    {"priority", 0, "N", "integer; higher runs first (default 0)"},
    {"notion-db", 0, "ID", "Notion database to publish to"},
    {"param", 0, "NAME=VALUE", "fills {param.NAME} in the preset; repeatable"},
    {"idempotency-key", 0, "K", "a repeat with the same key and options gives\n"
                                "back the same job instead of a new one"},
    {"wait", 0, NULL, "follow the job until it ends: exit 0 if it\n"
                      "succeeded, 1 if it failed or was canceled"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt jobs_opts[] = {
    {"state", 0, "S", "queued, running, succeeded, failed or canceled"},
    {"preset", 0, "P", "only this preset"},
    {"q", 0, "TEXT", "input path contains TEXT"},
    {"limit", 0, "N", "jobs per page, 1..200 (server default 50)"},
    {"cursor", 0, "C", "start at this page (from a previous listing)"},
    {"all", 0, NULL, "follow the pages to the end"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt logs_opts[] = {
    {"follow", 'f', NULL, "keep printing new lines until the job ends\n"
                          "(Ctrl-C stops, exit 0)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt watch_opts[] = {
    {"job", 0, "ID", "only this job's events"},
    {"logs", 0, NULL, "include the jobs' log lines"},
    {"since", 0, "EVENT", "first replay the retained events after EVENT"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt cancel_opts[] = {
    {"reason", 0, "TEXT", "recorded with the cancellation"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt rerun_opts[] = {
    {"voice-accent", 0, "A", "use this accent this time"},
    {"force-tts", 0, NULL, "do not reuse cached audio"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt login_opts[] = {
    {"email", 0, "E", "the account's e-mail address"},
    {"password-stdin", 0, NULL, "read the password from the first line of\n"
                                "stdin (needs --email)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt user_add_opts[] = {
    {"name", 0, "N", "display name"},
    {"role", 0, "admin|user", "role (default: user; admin for the first one)"},
    {"password-stdin", 0, NULL, "read the password from the first line of stdin"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt user_list_opts[] = {
    {"json", 0, NULL, "print {\"items\": [USER, ...]} as the API does"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt user_passwd_opts[] = {
    {"password-stdin", 0, NULL, "read the password from the first line of stdin"},
    {NULL, 0, NULL, NULL},
};

/* -------------------------------------------------------------- verbs */

#define MISSING_ID {"missing job ID", NULL}

static const struct cli_verb user_verbs[] = {
    {"add", cli_user_add, &user_group,
     "add EMAIL [--name N] [--role admin|user] [--password-stdin]",
     "create an account",
     "Creates an account: role user unless --role admin (the first account\n"
     "of a database is an admin by default).  The password is typed twice\n"
     "on the terminal, or read from the first line of stdin with\n"
     "--password-stdin; at least 8 characters.  Creates the database in DIR\n"
     "if there is none yet.\n",
     user_add_opts, NULL, 1, 1, {"missing EMAIL", NULL}, NULL, NULL, 0},
    {"list", cli_user_list, &user_group, "list [--json]",
     "list the accounts, newest first",
     "Lists every account: id, e-mail, name, role, status, creation time\n"
     "(UTC).\n",
     user_list_opts, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"passwd", cli_user_passwd, &user_group, "passwd EMAIL [--password-stdin]",
     "set an account's password",
     "Sets a new password (typed twice, or the first line of stdin with\n"
     "--password-stdin) and signs the account out everywhere.\n",
     user_passwd_opts, NULL, 1, 1, {"missing EMAIL", NULL}, NULL, NULL, 0},
    {"role", cli_user_role, &user_group, "role EMAIL admin|user",
     "make an account admin or user",
     "Changes the account's role.  The last enabled admin cannot be\n"
     "demoted (exit 1).\n",
     NULL, NULL, 2, 2, {"missing EMAIL", "missing the role"}, NULL, NULL, 0},
    {"disable", cli_user_disable, &user_group, "disable EMAIL",
     "disable an account and sign it out",
     "Disables the account: it cannot sign in, and its sessions end at\n"
     "once.  The last enabled admin cannot be disabled (exit 1).\n",
     NULL, NULL, 1, 1, {"missing EMAIL", NULL}, NULL, NULL, 0},
    {"enable", cli_user_enable, &user_group, "enable EMAIL",
     "enable a disabled account", "Lets a disabled account sign in again.\n",
     NULL, NULL, 1, 1, {"missing EMAIL", NULL}, NULL, NULL, 0},
};

static const struct cli_verb verbs[] = {
    /* local: in this process */
    {"serve", cli_serve, &local_group,
     "serve [--data DIR] [--listen ADDR:PORT] [--workers N]\n"
     "                      [--config FILE] [--grace SEC] [--log-level LEVEL]\n"
     "                      [--log-format json|text]",
     "run the server (web UI, JSON API, live events, workers)",
     "Runs the appliance: web UI, JSON API, live events and job workers.\n",
     serve_opts, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"run", cli_run, &local_group,
     "run [FILE] --preset P [--param NAME=VALUE]... [--out DIR]\n"
     "                    [--config FILE] [--priority N]",
     "run one job in this process, without a server",
     "Runs one job in this process (no server needed) with the same code the\n"
     "server uses.  FILE is the job's input (required when the preset uses\n"
     "{input}).  Artifacts are copied to DIR (default ./batchbox-out).\n"
     "Exit status: 0 succeeded, 1 failed or canceled, 2 usage error.\n",
     run_opts, NULL, 0, 1, {NULL, NULL}, NULL, NULL, 0},
    {"backup", cli_backup, &local_group, "backup FILE [--data DIR]",
     "online copy of a live database",
     "Copies DIR/batchbox.db (default ./data) to FILE while the server may be\n"
     "running, then checks the copy with PRAGMA integrity_check.\n"
     "Restore: stop the server, replace DIR/batchbox.db with the copy (remove\n"
     "batchbox.db-wal and batchbox.db-shm), start the server.\n",
     backup_opts, NULL, 1, 1, {"missing FILE", NULL}, NULL, NULL, 0},
    {"user", NULL, &local_group, "user <command> [options] [--data DIR]",
     "manage accounts in the database: add, list, passwd, role,\n"
     "disable, enable (no server needed)",
     "Manages accounts directly in DIR/batchbox.db (no server needed):\n",
     NULL, "\nbatchbox user <command> --help shows a command's options.\n", 0,
     0, {NULL, NULL}, NULL, user_verbs,
     sizeof user_verbs / sizeof user_verbs[0]},
    {"version", cli_version, &local_group, "version", "print the version",
     "Prints the version of this binary.\n", NULL, NULL, 0, 0, {NULL, NULL},
     "--version", NULL, 0},

    /* client: over HTTP */
    {"submit", cl_submit, &client_group, "submit [FILE] [--preset P] [options]",
     "submit a job (--wait: follow it to the end)",
     "Submits a job to a preset and prints its id.  FILE is uploaded to the\n"
     "server first (POST /uploads) and the job reads the upload; it may be\n"
     "left out when the preset does not use {input}.\n",
     submit_opts, NULL, 0, 1, {NULL, NULL}, NULL, NULL, 0},
    {"jobs", cl_jobs, &client_group,
     "jobs [--state S] [--preset P] [--q T] [--all]",
     "list jobs, newest first",
     "Lists jobs, newest first: id, state, preset, attempts, progress,\n"
     "creation time (UTC) and input file name.\n",
     jobs_opts, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"show", cl_show, &client_group, "show ID", "show a job and its artifacts",
     "Shows every field of a job and the list of its artifacts.  With\n"
     "--json: the job object with an added \"artifacts\" array.\n",
     NULL, NULL, 1, 1, MISSING_ID, NULL, NULL, 0},
    {"logs", cl_logs, &client_group, "logs ID [-f]",
     "print a job's log (-f: follow it)", "Prints the job's log lines.\n",
     logs_opts, "The log is text: --json changes nothing here.\n", 1, 1,
     MISSING_ID, NULL, NULL, 0},
    {"watch", cl_watch, &client_group,
     "watch [--job ID] [--logs] [--since EVENT]", "print live job events",
     "Prints one line per job event until interrupted (Ctrl-C, exit 0):\n"
     "  #ID EVENT job=JOB state=STATE progress=P% attempts=N/M [error=\"...\"]\n"
     "and, with --logs, each log line as 'job JOB | LINE'.  A dropped\n"
     "connection is resumed where it stopped (Last-Event-ID), retrying after\n"
     "0.5 s, then up to every 5 s; after 5 minutes without a connection it\n"
     "gives up (exit 3).  With --json: one {\"id\",\"event\",\"data\"} object\n"
     "per line.\n",
     watch_opts, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"cancel", cl_cancel_job, &client_group, "cancel ID [--reason TEXT]",
     "cancel a queued or running job",
     "Cancels a job: a queued one at once, a running one by stopping its\n"
     "process.  A job that already ended cannot be canceled (exit 1).\n",
     cancel_opts, NULL, 1, 1, MISSING_ID, NULL, NULL, 0},
    {"retry", cl_retry, &client_group, "retry ID",
     "queue a failed or canceled job again",
     "Queues a failed or canceled job again as a new attempt.\n", NULL, NULL,
     1, 1, MISSING_ID, NULL, NULL, 0},
    {"rerun", cl_rerun, &client_group,
     "rerun ID [--voice-accent A] [--force-tts]",
     "redo the audio of a lesson job as a new job",
     "Creates a new job that redoes the narration of a finished lesson job\n"
     "(the original stays as it was) and prints the new job's id.\n",
     rerun_opts, NULL, 1, 1, MISSING_ID, NULL, NULL, 0},
    {"login", cl_login, &client_group, "login [--email E] [--password-stdin]",
     "sign in and store the token for the other commands",
     "Signs in to the server and stores the session's tokens in\n"
     "$XDG_CONFIG_HOME/batchbox/credentials.json (default\n"
     "~/.config/batchbox/credentials.json; directory 0700, file 0600), one\n"
     "entry per server URL.  The other commands send the stored access\n"
     "token and renew it with the refresh token when it expires.  Without\n"
     "options the e-mail and password are asked for on the terminal (the\n"
     "password without echo).  Wrong credentials, a disabled account or too\n"
     "many attempts (HTTP 429): exit 1.\n",
     login_opts, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"logout", cl_logout, &client_group, "logout",
     "sign out and forget the stored token",
     "Ends the stored session on the server (its tokens stop working) and\n"
     "removes it from the credentials file.  When the server cannot be\n"
     "reached the local entry is removed anyway, with a warning (exit 0).\n",
     NULL, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
    {"whoami", cl_whoami, &client_group, "whoami", "show the signed-in account",
     "Prints the e-mail, name and role of the account the credentials\n"
     "belong to (BATCHBOX_TOKEN, else the stored ones).  Not signed in or\n"
     "the session ended: exit 1.  With --json: the server's user object.\n",
     NULL, NULL, 0, 0, {NULL, NULL}, NULL, NULL, 0},
};

const struct cli_verb cli_root = {
    .name = "batchbox",
    .synopsis = "<command> [options]   (batchbox <command> --help for details)",
    .summary = "batchbox " BB_VERSION " — a batch-processing appliance in one "
               "binary",
    .notes = "\nExit status: 0 ok, 1 job failed, 2 usage error, 3 cannot reach "
             "server or database.\n",
    .subs = verbs,
    .nsubs = sizeof verbs / sizeof verbs[0],
};

int cli_version(const struct cli_call *call)
{
    (void)call;
    printf("batchbox %s\n", BB_VERSION);
    return CLI_EXIT_OK;
}

int cli_main(int argc, char **argv)
{
    return cli_dispatch(&cli_root, "", argc, argv);
}

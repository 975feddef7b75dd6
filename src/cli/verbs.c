/* verbs.c — the verb table: every verb of the batchbox CLI, local and
 * client, with its synopsis, summary, help and options, declared once.
 * `batchbox --help`, each verb's --help, the argument checks and the
 * dispatch from main() all come from these rows (args.c).  A new verb is
 * a handler (verbs.h) and a row here.  User documentation: docs/cli.md. */
#include "cli/verbs.h"

#include <stdio.h>

#include "cli/client.h"
#include "cli/version.h"
#include "service/app.h"

#define DEFAULT_DATA_DIR "./data"

/* ------------------------------------------------------------- groups */

static const struct cli_group local_group = {
    .title = "Local commands:",
};

static const char client_opts[] =
    "--server URL          server to talk to (default: $BATCHBOX_SERVER,\n"
    "                      else " DEFAULT_SERVER ")\n"
    "--json                print the server's JSON instead of text\n";

static const struct cli_group client_group = {
    .title = "Client commands (talk to a running server; --server URL):",
    .options_title = "Common options:",
    .opts = client_opts,
    .footer =
        "Credentials: the token stored by `batchbox login` for the server\n"
        "(renewed automatically when it expires); BATCHBOX_TOKEN, when set, is\n"
        "sent instead ('Authorization: Bearer <token>').\n"
        "Environment: BATCHBOX_SERVER (default server), BATCHBOX_TOKEN,\n"
        "BATCHBOX_API_KEY (an API key bbk_..., used when BATCHBOX_TOKEN is unset).\n"
        "Exit codes: 0 ok; 1 job failed or canceled (--wait), not signed in,\n"
        "not allowed, not found, wrong state or not implemented; 2 usage error\n"
        "or invalid request (HTTP 400); 3 server unreachable, timed out or\n"
        "failing (5xx).\n",
    .list_width = 46,
    .enter = cl_enter,
    .leave = cl_leave,
};

static const char user_opts[] =
    "--data DIR            data directory holding batchbox.db (default "
    DEFAULT_DATA_DIR ")\n";

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

/* -------------------------------------------------------------- verbs */

#define MISSING_ID {"missing job ID", NULL}
#define MISSING_EMAIL {"missing EMAIL", NULL}
#define PASSWORD_STDIN \
    "--password-stdin      read the password from the first line of stdin\n"

static const struct cli_verb user_verbs[] = {
    {.name = "add", .summary = "create an account",
     .run = cli_user_add, .group = &user_group,
     .synopsis = "add EMAIL [--name N] [--role admin|user] [--password-stdin]",
     .help = "Creates an account: role user unless --role admin (the first account\n"
             "of a database is an admin by default).  The password is typed twice\n"
             "on the terminal, or read from the first line of stdin with\n"
             "--password-stdin; at least 8 characters.  Creates the database in DIR\n"
             "if there is none yet.\n",
     .opts = "--name N              display name\n"
             "--role admin|user     role (default: user; admin for the first one)\n"
             PASSWORD_STDIN,
     .min_pos = 1, .max_pos = 1, .missing = MISSING_EMAIL},
    {.name = "list", .run = cli_user_list, .group = &user_group,
     .synopsis = "list [--json]", .summary = "list the accounts, newest first",
     .help = "Lists every account: id, e-mail, name, role, status, creation time\n"
             "(UTC).\n",
     .opts = "--json                print {\"items\": [USER, ...]} as the API does\n"},
    {.name = "passwd", .run = cli_user_passwd, .group = &user_group,
     .synopsis = "passwd EMAIL [--password-stdin]",
     .summary = "set an account's password", .opts = PASSWORD_STDIN,
     .help = "Sets a new password (typed twice, or the first line of stdin with\n"
             "--password-stdin) and signs the account out everywhere.\n",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_EMAIL},
    {.name = "role", .run = cli_user_role, .group = &user_group,
     .min_pos = 2, .max_pos = 2, .missing = {"missing EMAIL", "missing the role"},
     .synopsis = "role EMAIL admin|user", .summary = "make an account admin or user",
     .help = "Changes the account's role.  The last enabled admin cannot be\n"
             "demoted (exit 1).\n"},
    {.name = "disable", .run = cli_user_disable, .group = &user_group,
     .synopsis = "disable EMAIL", .summary = "disable an account and sign it out",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_EMAIL,
     .help = "Disables the account: it cannot sign in, and its sessions end at\n"
             "once.  The last enabled admin cannot be disabled (exit 1).\n"},
    {.name = "enable", .run = cli_user_enable, .group = &user_group,
     .synopsis = "enable EMAIL", .summary = "enable a disabled account",
     .help = "Lets a disabled account sign in again.\n",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_EMAIL},
};

static const struct cli_verb comfyui_verbs[] = {
    {.name = "servers", .run = cl_comfyui_servers, .group = &client_group,
     .synopsis = "servers", .summary = "the ComfyUI servers, their health and load",
     .help = "Lists the ComfyUI servers of the pool: status (up, down, unknown), enabled,\n"
             "prompts running of slots, models in the catalogue, labels, and the URL\n"
             "(admins) with the last error.  --json prints the server's answer.\n"},
    {.name = "models", .run = cl_comfyui_models, .group = &client_group,
     .synopsis = "models", .summary = "the model catalogue of the enabled servers",
     .help = "Lists every model the enabled ComfyUI servers have, one FOLDER/NAME a\n"
             "line with the servers that have it.  --json prints the server's answer.\n"},
};

static const struct cli_verb schedule_verbs[] = {
    {.name = "add", .run = cl_schedule_add, .group = &client_group,
     .min_pos = 1, .max_pos = 1, .missing = {"missing NAME", NULL},
     .synopsis = "add NAME --cron EXPR --preset P [options]",
     .summary = "create a recurring schedule",
     .help = "Creates a schedule that submits a job to preset P each time the cron\n"
             "expression EXPR (minute hour day-of-month month day-of-week) comes\n"
             "round in the time zone.  Prints the schedule with its next run.\n",
     .opts = "--cron EXPR           five fields, e.g. '30 2 * * *' or '*/15 * * * *'\n"
             "--preset P            the job's preset\n"
             "--param NAME=VALUE    the job's params; repeatable\n"
             "--input PATH          the job's md (an upload id or a path in\n"
             "                      the server's inputRoot)\n"
             "--timezone TZ         e.g. Europe/Madrid (default UTC)\n"
             "--overlap skip|queue  skip (default): no new job while the last runs\n"
             "--catch-up none|one   after downtime: none (default) or one job\n"
             "--paused              create it paused\n"},
    {.name = "list", .run = cl_schedule_list, .group = &client_group,
     .synopsis = "list", .summary = "list your schedules",
     .help = "Lists the schedules: id, name, cron, time zone, next run, last job.\n"},
    {.name = "pause", .run = cl_schedule_pause, .group = &client_group,
     .min_pos = 1, .max_pos = 1, .missing = {"missing schedule ID", NULL},
     .synopsis = "pause ID", .summary = "stop a schedule from firing",
     .help = "Pauses the schedule: no job is created until it is resumed.\n"},
    {.name = "resume", .run = cl_schedule_resume, .group = &client_group,
     .min_pos = 1, .max_pos = 1, .missing = {"missing schedule ID", NULL},
     .synopsis = "resume ID", .summary = "let a paused schedule fire again",
     .help = "Resumes the schedule from now (runs missed while paused are not made).\n"},
    {.name = "rm", .run = cl_schedule_rm, .group = &client_group,
     .min_pos = 1, .max_pos = 1, .missing = {"missing schedule ID", NULL},
     .synopsis = "rm ID", .summary = "delete a schedule",
     .help = "Deletes the schedule; the jobs it created stay.\n"},
};

static const struct cli_verb verbs[] = {
    /* local: in this process */
    {.name = "serve", .run = cli_serve, .group = &local_group,
     .synopsis = "serve [--data DIR] [--listen ADDR:PORT] [--workers N]\n"
                 "                      [--config FILE] [--grace SEC] [--log-level LEVEL]\n"
                 "                      [--log-format json|text]",
     .summary = "run the server (web UI, JSON API, live events, workers)",
     .help = "Runs the appliance: web UI, JSON API, live events and job workers.\n",
     .opts = "--data DIR            data directory (default ./data): batchbox.db,\n"
             "                      artifacts/\n"
             "--listen A:P          listen address (default from config:\n"
             "                      127.0.0.1:8080)\n"
             "--workers N           worker threads (default from config: number of\n"
             "                      cores)\n"
             "--config FILE         configuration file (default DATA/batchbox.json if\n"
             "                      present)\n"
             "--grace SEC           on SIGTERM, how long running jobs may finish\n"
             "                      (default 20)\n"
             "--log-level L         debug, info, warn or error (default info)\n"
             "--log-format F        json (default) or text\n"},
    {.name = "run", .run = cli_run, .group = &local_group, .max_pos = 1,
     .synopsis = "run [FILE] --preset P [--param NAME=VALUE]... [--out DIR]\n"
                 "                    [--config FILE] [--priority N]",
     .summary = "run one job in this process, without a server",
     .help = "Runs one job in this process (no server needed) with the same code the\n"
             "server uses.  FILE is the job's input (required when the preset uses\n"
             "{input}).  Artifacts are copied to DIR (default ./batchbox-out).\n"
             "Exit status: 0 succeeded, 1 failed or canceled, 2 usage error.\n",
     .opts = "--preset P            preset id (required)\n"
             "--param NAME=VALUE    fills {param.NAME} in the preset; repeatable\n"
             "--out DIR             where the artifacts are copied (default\n"
             "                      ./batchbox-out)\n"
             "--config FILE         configuration file (default: the built-in one)\n"
             "--priority N          integer; higher runs first (default 0)\n"},
    {.name = "backup", .run = cli_backup, .group = &local_group,
     .min_pos = 1, .max_pos = 1, .missing = {"missing FILE", NULL},
     .synopsis = "backup FILE [--data DIR]", .summary = "online copy of a live database",
     .help = "Copies DIR/batchbox.db (default ./data) to FILE while the server may be\n"
             "running, then checks the copy with PRAGMA integrity_check.\n"
             "Restore: stop the server, replace DIR/batchbox.db with the copy (remove\n"
             "batchbox.db-wal and batchbox.db-shm), start the server.\n",
     .opts = "--data DIR            data directory holding batchbox.db (default\n"
             "                      ./data)\n"},
    {.name = "user", .group = &local_group,
     .subs = user_verbs, .nsubs = sizeof user_verbs / sizeof user_verbs[0],
     .synopsis = "user <command> [options] [--data DIR]",
     .summary = "manage accounts in the database: add, list, passwd, role,\n"
                "disable, enable (no server needed)",
     .help = "Manages accounts directly in DIR/batchbox.db (no server needed):\n",
     .notes = "\nbatchbox user <command> --help shows a command's options.\n"},
    {.name = "version", .alias = "--version", .run = cli_version,
     .group = &local_group, .synopsis = "version [--verbose] [--check-url URL]",
     .summary = "print the version (--verbose: commit, build and bundled libraries)",
     .help = "Prints the version of this binary.\n",
     .opts = "-v, --verbose         also the commit, the build, the CA bundle and every\n"
             "                      bundled library with its version and licence\n"
             "--check-url URL       GET URL once through the built-in HTTP/TLS client\n"
             "                      and print the status (exit 1 if it fails)\n"},

    /* client: over HTTP */
    {.name = "submit", .run = cl_submit, .group = &client_group, .max_pos = 1,
     .synopsis = "submit [FILE|DIR] [--preset P] [--sweep NAME=VALUES] [options]",
     .summary = "submit a job or a batch (--wait: follow it to the end)",
     .help = "Submits a job to a preset and prints its id.  FILE is uploaded to the\n"
             "server first (POST /uploads) and the job reads the upload; it may be\n"
             "left out when the preset does not use {input}.  A folder (DIR, or a\n"
             "path ending in '/': a folder of the server's inputRoot) or --sweep\n"
             "submits a batch: one job per file and combination of swept values.\n",
     .opts = "--preset P            preset id (default with FILE: the server's\n"
             "                      first lesson preset)\n"
             "--server-path         send FILE as a path inside the server's\n"
             "                      inputRoot instead of uploading it\n"
             "--tts                 generate narration (withTts)\n"
             "--force-tts           bypass the TTS cache (forceTts)\n"
             "--upload none|s3|auto\n"
             "                      where artifacts are stored\n"
             "--voice-accent A      voice accent for the narration\n"
             "--mode M              auto, dialogue or monologue\n"
             "--priority N          integer; higher runs first (default 0)\n"
             "--notion-db ID        Notion database to publish to\n"
             "--param NAME=VALUE    fills {param.NAME} in the preset; repeatable\n"
             "--sweep NAME=VALUES   a batch over the values of NAME: a,b,c; @FILE\n"
             "                      (one value per line); count:N (N random\n"
             "                      seeds); start:S,count:N (seeds S..S+N-1);\n"
             "                      repeatable (every combination runs)\n"
             "--glob PATTERN        with DIR: only files matching (e.g. '*.png')\n"
             "--recursive           with DIR: include its subfolders\n"
             "--idempotency-key K   a repeat with the same key and options gives\n"
             "                      back the same job instead of a new one\n"
             "--run-at TIME         start at TIME (ISO-8601 with an offset, e.g.\n"
             "                      2026-12-04T10:00:00Z): scheduled until then\n"
             "--delay SEC           start SEC seconds from now\n"
             "--depends-on IDS      wait for these jobs (ids separated by commas)\n"
             "--run-when W          with --depends-on: success (default), failure\n"
             "                      or always\n"
             "--wait                follow the job until it ends: exit 0 if it\n"
             "                      succeeded, 1 if it failed or was canceled\n"},
    {.name = "jobs", .run = cl_jobs, .group = &client_group,
     .synopsis = "jobs [--state S] [--preset P] [--q T] [--all]",
     .summary = "list jobs, newest first",
     .opts = "--state S             queued, running, succeeded, failed or canceled\n"
             "--preset P            only this preset\n"
             "--q TEXT              input path contains TEXT\n"
             "--limit N             jobs per page, 1..200 (server default 50)\n"
             "--cursor C            start at this page (from a previous listing)\n"
             "--all                 follow the pages to the end\n",
     .help = "Lists jobs, newest first: id, state, preset, attempts, progress,\n"
             "creation time (UTC) and input file name.\n"},
    {.name = "show", .run = cl_show, .group = &client_group,
     .help = "Shows every field of a job and the list of its artifacts; for a batch\n"
             "also a summary (counts, swept names) and its children.  With\n"
             "--json: the job object with an added \"artifacts\" array.\n",
     .synopsis = "show ID", .summary = "show a job and its artifacts",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_ID},
    {.name = "logs", .run = cl_logs, .group = &client_group,
     .synopsis = "logs ID [-f]", .summary = "print a job's log (-f: follow it)",
     .help = "Prints the job's log lines.\n",
     .opts = "-f, --follow          keep printing new lines until the job ends\n"
             "                      (Ctrl-C stops, exit 0)\n",
     .notes = "The log is text: --json changes nothing here.\n",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_ID},
    {.name = "watch", .run = cl_watch, .group = &client_group,
     .synopsis = "watch [--job ID] [--logs] [--since EVENT]",
     .summary = "print live job events",
     .opts = "--job ID              only this job's events\n"
             "--logs                include the jobs' log lines\n"
             "--since EVENT         first replay the retained events after EVENT\n",
     .help = "Prints one line per job event until interrupted (Ctrl-C, exit 0):\n"
             "  #ID EVENT job=JOB state=STATE progress=P% attempts=N/M [error=\"...\"]\n"
             "(a batch shows done=F/T succeeded= failed= canceled= running= instead\n"
             "of attempts; a batch's job adds batch=ID)\n"
             "and, with --logs, each log line as 'job JOB | LINE'.  A dropped\n"
             "connection is resumed where it stopped (Last-Event-ID), retrying after\n"
             "0.5 s, then up to every 5 s; after 5 minutes without a connection it\n"
             "gives up (exit 3).  With --json: one {\"id\",\"event\",\"data\"} object\n"
             "per line.\n"},
    {.name = "cancel", .run = cl_cancel_job, .group = &client_group,
     .min_pos = 1, .max_pos = 1, .missing = MISSING_ID,
     .synopsis = "cancel ID [--reason TEXT]", .summary = "cancel a queued or running job",
     .help = "Cancels a job: a queued one at once, a running one by stopping its\n"
             "process.  A job that already ended cannot be canceled (exit 1).\n",
     .opts = "--reason TEXT         recorded with the cancellation\n"},
    {.name = "retry", .run = cl_retry, .group = &client_group,
     .synopsis = "retry ID", .summary = "queue a failed or canceled job again",
     .help = "Queues a failed or canceled job again as a new attempt.\n",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_ID},
    {.name = "pause", .run = cl_pause, .group = &client_group,
     .synopsis = "pause [--preset P]", .summary = "pause a preset's queue, or every queue",
     .help = "Stops jobs from starting (admins): those of preset P, or of every preset.\n"
             "Running jobs finish; queued ones wait (waitingFor \"queue paused\").  The\n"
             "pause is stored and survives a restart.  See docs/scheduling.md.\n",
     .opts = "--preset P            only this preset's queue\n"},
    {.name = "resume", .run = cl_resume, .group = &client_group,
     .synopsis = "resume [--preset P]", .summary = "resume a paused queue",
     .help = "Lets the jobs of preset P start again, or, without --preset, lifts the\n"
             "global pause (admins).\n",
     .opts = "--preset P            only this preset's queue\n"},
    {.name = "bulk", .run = cl_bulk, .group = &client_group,
     .synopsis = "bulk cancel|retry [filters] [--dry-run]",
     .summary = "cancel or retry every job a filter matches",
     .min_pos = 1, .max_pos = 1, .missing = {"missing the action (cancel or retry)", NULL},
     .help = "Cancels or retries every job the filters match (your own; an admin's:\n"
             "everyone's) and prints how many matched, were done and skipped.  Use\n"
             "--dry-run first: it only counts.  See docs/scheduling.md.\n",
     .opts = "--state S             only jobs in state S\n"
             "--preset P            only jobs of preset P\n"
             "--q TEXT              only jobs whose input name contains TEXT\n"
             "--owner ID            only this user's jobs (admins)\n"
             "--created-after T     created at or after T (ISO-8601 or a date)\n"
             "--created-before T    created before T\n"
             "--out-of-attempts     failed jobs with no attempts left\n"
             "--reason TEXT         recorded with a cancellation\n"
             "--dry-run             only count the matching jobs\n"},
    {.name = "rerun", .run = cl_rerun, .group = &client_group,
     .synopsis = "rerun ID [--voice-accent A] [--force-tts]",
     .summary = "redo the audio of a lesson job as a new job",
     .min_pos = 1, .max_pos = 1, .missing = MISSING_ID,
     .help = "Creates a new job that redoes the narration of a finished lesson job\n"
             "(the original stays as it was) and prints the new job's id.\n",
     .opts = "--voice-accent A      use this accent this time\n"
             "--force-tts           do not reuse cached audio\n"},
    {.name = "schedule", .group = &client_group,
     .subs = schedule_verbs, .nsubs = sizeof schedule_verbs / sizeof schedule_verbs[0],
     .synopsis = "schedule <command> [options]",
     .summary = "recurring schedules: add, list, pause, resume, rm",
     .help = "Manages recurring schedules on the server (docs/scheduling.md):\n",
     .notes = "\nbatchbox schedule <command> --help shows a command's options.\n"},
    {.name = "comfyui", .group = &client_group,
     .subs = comfyui_verbs, .nsubs = sizeof comfyui_verbs / sizeof comfyui_verbs[0],
     .synopsis = "comfyui servers|models", .summary = "the ComfyUI server pool and its models",
     .help = "Shows the ComfyUI server pool (docs/comfyui.md):\n",
     .notes = "\nbatchbox comfyui <command> --help shows a command's options.\n"},
    {.name = "gc", .run = cl_gc, .group = &client_group,
     .synopsis = "gc [--dry-run]", .summary = "delete finished jobs past their retention now",
     .help = "Runs retention at once (admin): finished jobs older than their preset's\n"
             "retention (else retention.days) are deleted with their events, logs and\n"
             "artifacts.  Prints how many jobs and bytes.\n",
     .opts = "--dry-run             only count what would be deleted\n"},
    {.name = "reload", .run = cl_reload, .group = &client_group,
     .synopsis = "reload", .summary = "make the server read its configuration file again",
     .help = "Asks the server to reload its configuration (admin; like SIGHUP).  A bad\n"
             "file is refused and the server keeps running with the old one (exit 2).\n"},
    {.name = "login", .run = cl_login, .group = &client_group,
     .synopsis = "login [--email E] [--password-stdin]",
     .opts = "--email E             the account's e-mail address\n"
             "--password-stdin      read the password from the first line of\n"
             "                      stdin (needs --email)\n",
     .summary = "sign in and store the token for the other commands",
     .help = "Signs in to the server and stores the session's tokens in\n"
             "$XDG_CONFIG_HOME/batchbox/credentials.json (default\n"
             "~/.config/batchbox/credentials.json; directory 0700, file 0600), one\n"
             "entry per server URL.  The other commands send the stored access\n"
             "token and renew it with the refresh token when it expires.  Without\n"
             "options the e-mail and password are asked for on the terminal (the\n"
             "password without echo).  Wrong credentials, a disabled account or too\n"
             "many attempts (HTTP 429): exit 1.\n"},
    {.name = "logout", .run = cl_logout, .group = &client_group,
     .synopsis = "logout", .summary = "sign out and forget the stored token",
     .help = "Ends the stored session on the server (its tokens stop working) and\n"
             "removes it from the credentials file.  When the server cannot be\n"
             "reached the local entry is removed anyway, with a warning (exit 0).\n"},
    {.name = "whoami", .run = cl_whoami, .group = &client_group,
     .help = "Prints the e-mail, name and role of the account the credentials\n"
             "belong to (BATCHBOX_TOKEN, else the stored ones).  Not signed in or\n"
             "the session ended: exit 1.  With --json: the server's user object.\n",
     .synopsis = "whoami", .summary = "show the signed-in account"},
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

int cli_main(int argc, char **argv)
{
    return cli_dispatch(&cli_root, "", argc, argv);
}

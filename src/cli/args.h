/* args.h — the CLI grammar: one table of verbs (src/cli/verbs.c), each
 * with its options declared once together with their help text, and the
 * one argument parser, help generator and dispatcher every verb goes
 * through.  User documentation: docs/cli.md.
 *
 * Grammar (every verb): long options as "--opt value" or "--opt=value",
 * short options alone ("-f", "-h"), options before or after positional
 * arguments, "--" ends the options, a lone "-" is a positional argument.
 * "-h"/"--help" anywhere prints the verb's help on stdout (exit 0).
 * Unknown options, missing values and extra or missing positional
 * arguments print "batchbox VERB: message", the usage line and a hint on
 * stderr (exit 2).  A verb reads its options by name (cli_str, cli_flag,
 * cli_next) after the parse; it never loops over argv itself.
 *
 * Threads: everything here runs on the main thread before and after a
 * verb; the parsed call is read-only while the verb runs. */
#ifndef BB_CLI_ARGS_H
#define BB_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes of every verb (documented in docs/cli.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,          /* done; with --wait: the job succeeded */
    CLI_EXIT_FAILED = 1,      /* job failed/canceled, refused, not found,
                                 wrong state, not signed in */
    CLI_EXIT_USAGE = 2,       /* bad arguments, or the server answered 400 */
    CLI_EXIT_UNREACHABLE = 3, /* no server (connection, timeout, 5xx) or
                                 no database */
};

/* Options are declared by their help text (an "option spec"): one line
 * per option, as --help shows it without the two-space indent,
 *
 *     "--preset P            preset id (default with FILE: the server's\n"
 *     "                      first lesson preset)\n"
 *     "-f, --follow          keep printing new lines until the job ends\n"
 *
 * A line that starts with "-" declares an option: an optional short form
 * ("-f, "), the long name, and a value placeholder after one space ("P")
 * when the option takes a value; two or more spaces start its help, and
 * lines that start with spaces continue it.  The parser reads the same
 * text the user reads, so an option cannot exist undocumented. */

struct cli_call;

/* What the verbs of one kind share: common options, the help footer, the
 * heading they are listed under, and set-up/tear-down around the verb. */
struct cli_group {
    const char *title;          /* heading in the parent's listing */
    const char *options_title;  /* heading of opts in a verb's help */
    const char *opts;           /* common options: an option spec */
    const char *usage_suffix;   /* appended to every usage line, or NULL */
    const char *footer;         /* the end of every verb's help, or NULL */
    const char *list_prefix;    /* before a synopsis in the listing */
    int list_width;             /* 0: list names; else synopses padded */
    const char *list_note;      /* a line after the listed verbs */
    /* Before the verb runs (may set call->ctx): 0 to go on, else the exit
     * code (message printed).  After a 0, leave runs when the verb ends. */
    int (*enter)(struct cli_call *call);
    void (*leave)(struct cli_call *call);
};

/* One verb.  A verb with subs is a family ("user"): its first argument
 * names one of the sub-verbs. */
struct cli_verb {
    const char *name;
    int (*run)(const struct cli_call *call); /* returns the exit code */
    const struct cli_group *group;
    const char *synopsis;       /* the usage line after "batchbox " */
    const char *summary;        /* the line in the parent's listing */
    const char *help;           /* what --help says before the options */
    const char *opts;           /* the verb's options (an option spec),
                                   or NULL */
    const char *notes;          /* printed after the options, or NULL */
    int min_pos, max_pos;       /* how many positional arguments */
    const char *missing[2];     /* message when positional 1 / 2 lacks */
    const char *alias;          /* another name ("--version"), or NULL */
    const struct cli_verb *subs; /* a family's verbs, or NULL */
    size_t nsubs;
};

/* Returned by cli_parse when the verb should run. */
#define CLI_GO (-1)

/* A parsed command line.  Owned by the caller of cli_parse (cli_call_free);
 * the strings are borrowed from argv. */
struct cli_call {
    const struct cli_verb *verb;
    const char *prefix; /* the family's words ("", "user"); borrowed */
    char name[64];    /* "submit", "user add": the verb in messages */
    int argc;
    char **argv;      /* argv[0] is the verb */
    struct cli_seen {
        int opt;          /* index (verb options, then group options, in
                             spec order); -1: a positional argument */
        const char *val;  /* the value; "" for a flag */
    } *seen;          /* in command-line order; malloc'd */
    int nseen;
    int npos;
    void *ctx;        /* the group's per-call state (enter/leave) */
};

/* Runs a verb family: argv[0] is the family's name (or the program),
 * argv[1] the verb.  prefix is the family's words in messages ("" for the
 * top level, "user" for user).  Prints the family's listing for no verb
 * (stderr, exit 2), "help"/"-h"/"--help" (stdout, exit 0) or an unknown
 * verb (stderr, exit 2).  Returns the exit code. */
int cli_dispatch(const struct cli_verb *family, const char *prefix, int argc,
                 char **argv);

/* Parses argv (argv[0] = the verb) for v into *call.  Returns CLI_GO, or
 * the exit code when help was printed (0) or the command line is wrong
 * (2, message printed).  call is always initialised: cli_call_free it. */
int cli_parse(struct cli_call *call, const struct cli_verb *v,
              const char *name, int argc, char **argv);
void cli_call_free(struct cli_call *call);

/* The last value given for option name (verb or group option), "" for a
 * flag that was given, NULL when absent.  name must be declared for the
 * verb (checked by BB_ASSERT).  Borrowed from argv. */
const char *cli_str(const struct cli_call *call, const char *name);
/* True when the option was given. */
bool cli_flag(const struct cli_call *call, const char *name);
/* Iterates the values of a repeatable option in command-line order: start
 * with *it = 0; returns NULL at the end. */
const char *cli_next(const struct cli_call *call, const char *name, int *it);
/* Positional argument k (0-based), or NULL. */
const char *cli_pos(const struct cli_call *call, int k);

/* Checks an option spec: 0 when every line is an option line (as above)
 * or a continuation, else -1 with the offending line in why.  For tests
 * of the verb table. */
int cli_spec_check(const char *spec, char *why, size_t whylen);

/* Prints v's help (usage line, description, options, group options and
 * footer); prefix as for cli_dispatch. */
void cli_help(const struct cli_verb *v, const char *prefix, FILE *out);
/* Prints a family's usage: its synopsis, help, listing and notes. */
void cli_family_usage(const struct cli_verb *family, FILE *out);
/* Prints the listing of a family's verbs, grouped under their titles. */
void cli_list(const struct cli_verb *family, FILE *out);

/* "batchbox VERB: message" on stderr. */
__attribute__((format(printf, 2, 3))) void
cli_errorf(const struct cli_call *call, const char *fmt, ...);
/* "batchbox VERB: message", the usage line and a hint on stderr; returns
 * CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int
cli_usage_error(const struct cli_call *call, const char *fmt, ...);

#endif

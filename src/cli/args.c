/* args.c — the CLI grammar's one argument parser, help generator and
 * dispatcher (see args.h; the verb table is in verbs.c). */
#include "cli/args.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/bb_assert.h"

/* Column where option help text starts. */
#define HELP_COL 24

/* -h/--help: known to every verb, handled here. */
static const struct cli_opt help_opt = {"help", 'h', NULL, "show this help"};
#define HELP_INDEX (-2)

static size_t count_opts(const struct cli_opt *o)
{
    size_t n = 0;

    while (o && o[n].name)
        n++;
    return n;
}

/* Option k of the call's verb: the verb's own first, then its group's. */
static const struct cli_opt *opt_at(const struct cli_verb *v, int k)
{
    size_t nv = count_opts(v->opts);

    if (k == HELP_INDEX)
        return &help_opt;
    if ((size_t)k < nv)
        return &v->opts[k];
    return &v->group->opts[(size_t)k - nv];
}

/* Finds an option by long name (name, nlen) or by short_name; returns its
 * index, HELP_INDEX or -1. */
static int find_opt(const struct cli_verb *v, const char *name, size_t nlen,
                    char short_name)
{
    size_t nv = count_opts(v->opts);
    size_t ng = v->group ? count_opts(v->group->opts) : 0;

    for (size_t k = 0; k < nv + ng; k++) {
        const struct cli_opt *o = opt_at(v, (int)k);
        if (short_name ? o->short_name == short_name
                       : strlen(o->name) == nlen &&
                             strncmp(o->name, name, nlen) == 0)
            return (int)k;
    }
    if (short_name ? short_name == help_opt.short_name
                   : nlen == strlen(help_opt.name) &&
                         strncmp(name, help_opt.name, nlen) == 0)
        return HELP_INDEX;
    return -1;
}

static void vmessage(const struct cli_call *call, const char *fmt, va_list ap)
{
    fprintf(stderr, "batchbox %s: ", call->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_errorf(const struct cli_call *call, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage(call, fmt, ap);
    va_end(ap);
}

static const char *sep(const char *prefix) { return *prefix ? " " : ""; }

int cli_usage_error(const struct cli_call *call, const char *fmt, ...)
{
    const struct cli_verb *v = call->verb;
    const char *suffix = v->group && v->group->usage_suffix
                             ? v->group->usage_suffix
                             : "";
    va_list ap;

    va_start(ap, fmt);
    vmessage(call, fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: batchbox %s%s%s%s\nTry 'batchbox %s --help' for "
                    "more.\n",
            call->prefix, sep(call->prefix), v->synopsis, suffix, call->name);
    return CLI_EXIT_USAGE;
}

int cli_parse(struct cli_call *call, const struct cli_verb *v,
              const char *prefix, int argc, char **argv)
{
    bool opts_done = false;

    memset(call, 0, sizeof *call);
    call->verb = v;
    call->prefix = prefix;
    snprintf(call->name, sizeof call->name, "%s%s%s", prefix, sep(prefix),
             v->name);
    call->argc = argc;
    call->argv = argv;
    call->seen = calloc(argc > 0 ? (size_t)argc : 1u, sizeof *call->seen);
    if (!call->seen) {
        cli_errorf(call, "out of memory");
        return CLI_EXIT_FAILED;
    }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *inline_val = NULL, *val = "";
        int k;

        if (opts_done || s[0] != '-' || s[1] == '\0') {
            if (call->npos >= v->max_pos)
                return cli_usage_error(call, "unexpected argument '%s'", s);
            call->seen[call->nseen++] = (struct cli_seen){-1, s};
            call->npos++;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (s[1] == '-') {
            const char *name = s + 2, *eq = strchr(name, '=');
            k = find_opt(v, name, eq ? (size_t)(eq - name) : strlen(name), 0);
            if (eq)
                inline_val = eq + 1;
        } else {
            k = s[2] == '\0' ? find_opt(v, NULL, 0, s[1]) : -1;
        }
        if (k == -1)
            return cli_usage_error(call, "unknown option '%s'", s);
        const struct cli_opt *o = opt_at(v, k);
        if (o->arg) {
            if (inline_val)
                val = inline_val;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_usage_error(call, "option '--%s' needs a value",
                                       o->name);
        } else if (inline_val) {
            return cli_usage_error(call, "option '--%s' takes no value",
                                   o->name);
        }
        if (k == HELP_INDEX) {
            cli_help(v, prefix, stdout);
            return CLI_EXIT_OK;
        }
        call->seen[call->nseen++] = (struct cli_seen){k, val};
    }
    if (call->npos < v->min_pos) {
        const char *m = v->missing[call->npos < 2 ? call->npos : 1];
        return cli_usage_error(call, "%s", m ? m : "missing argument");
    }
    return CLI_GO;
}

void cli_call_free(struct cli_call *call)
{
    free(call->seen);
    call->seen = NULL;
    call->nseen = 0;
}

/* The index of option name; asserts that the verb declares it. */
static int opt_index(const struct cli_call *call, const char *name)
{
    int k = find_opt(call->verb, name, strlen(name), 0);

    BB_ASSERT(k >= 0);
    return k;
}

const char *cli_str(const struct cli_call *call, const char *name)
{
    int k = opt_index(call, name);

    for (int i = call->nseen - 1; i >= 0; i--)
        if (call->seen[i].opt == k)
            return call->seen[i].val;
    return NULL;
}

bool cli_flag(const struct cli_call *call, const char *name)
{
    return cli_str(call, name) != NULL;
}

const char *cli_next(const struct cli_call *call, const char *name, int *it)
{
    int k = opt_index(call, name);

    for (; *it < call->nseen; (*it)++)
        if (call->seen[*it].opt == k)
            return call->seen[(*it)++].val;
    return NULL;
}

const char *cli_pos(const struct cli_call *call, int k)
{
    for (int i = 0; i < call->nseen; i++)
        if (call->seen[i].opt == -1 && k-- == 0)
            return call->seen[i].val;
    return NULL;
}

/* ---------------------------------------------------------------- help */

/* Writes text, indenting every line after the first by indent spaces. */
static void put_indented(const char *text, int indent, FILE *out)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (p != text)
            fprintf(out, "%*s", indent, "");
        fprintf(out, "%.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static void put_opt(const struct cli_opt *o, FILE *out)
{
    char left[96];
    int n;

    if (o->short_name)
        n = snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name,
                     o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    else
        n = snprintf(left, sizeof left, "--%s%s%s", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    if (n + 3 > HELP_COL)
        fprintf(out, "  %s\n%*s", left, HELP_COL, "");
    else
        fprintf(out, "  %-*s", HELP_COL - 2, left);
    put_indented(o->help, HELP_COL, out);
}

static void put_opts(const struct cli_opt *o, FILE *out)
{
    for (; o && o->name; o++)
        put_opt(o, out);
}

void cli_help(const struct cli_verb *v, const char *prefix, FILE *out)
{
    const struct cli_group *g = v->group;

    fprintf(out, "usage: batchbox %s%s%s%s\n\n", prefix, sep(prefix),
            v->synopsis, g && g->usage_suffix ? g->usage_suffix : "");
    if (v->help)
        fputs(v->help, out);
    if (count_opts(v->opts) > 0) {
        fputc('\n', out);
        put_opts(v->opts, out);
    }
    if (v->notes)
        fputs(v->notes, out);
    fputc('\n', out);
    if (g && g->options_title)
        fprintf(out, "%s\n", g->options_title);
    if (g)
        put_opts(g->opts, out);
    put_opt(&help_opt, out);
    if (g && g->footer) {
        fputc('\n', out);
        fputs(g->footer, out);
    }
}

void cli_list(const struct cli_verb *family, FILE *out)
{
    const struct cli_group *cur = NULL;

    for (size_t k = 0; k < family->nsubs; k++) {
        const struct cli_verb *v = &family->subs[k];
        const struct cli_group *g = v->group;
        if (g != cur && g->title)
            fprintf(out, "%s%s\n", cur ? "\n" : "", g->title);
        cur = g;
        if (g->list_width > 0) {
            char syn[160];
            snprintf(syn, sizeof syn, "%s%s",
                     g->list_prefix ? g->list_prefix : "", v->synopsis);
            fprintf(out, "  %-*s ", g->list_width, syn);
            put_indented(v->summary, g->list_width + 3, out);
        } else {
            fprintf(out, "  %-10s ", v->name);
            put_indented(v->summary, 13, out);
        }
        if (g->list_note &&
            (k + 1 == family->nsubs || family->subs[k + 1].group != g))
            fprintf(out, "%s\n", g->list_note);
    }
}

void cli_family_usage(const struct cli_verb *family, FILE *out)
{
    fprintf(out, "usage: batchbox %s\n\n", family->synopsis);
    if (family->help)
        fputs(family->help, out);
    cli_list(family, out);
    if (family->notes)
        fputs(family->notes, out);
}

/* ------------------------------------------------------------ dispatch */

static const struct cli_verb *find_verb(const struct cli_verb *family,
                                        const char *name)
{
    for (size_t k = 0; k < family->nsubs; k++) {
        const struct cli_verb *v = &family->subs[k];
        if (strcmp(v->name, name) == 0 || (v->alias && strcmp(v->alias, name) == 0))
            return v;
    }
    return NULL;
}

/* Prints the family's usage; at the top level (prefix "") its summary
 * line comes first. */
static void family_usage(const struct cli_verb *family, const char *prefix,
                         FILE *out)
{
    if (!*prefix && family->summary)
        fprintf(out, "%s\n\n", family->summary);
    cli_family_usage(family, out);
}

int cli_dispatch(const struct cli_verb *family, const char *prefix, int argc,
                 char **argv)
{
    const struct cli_verb *v;
    struct cli_call call;
    int code;

    if (argc < 2) {
        family_usage(family, prefix, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        family_usage(family, prefix, stdout);
        return CLI_EXIT_OK;
    }
    if (!(v = find_verb(family, argv[1]))) {
        fprintf(stderr, "batchbox%s%s: unknown command '%s'\n\n", sep(prefix),
                prefix, argv[1]);
        family_usage(family, prefix, stderr);
        return CLI_EXIT_USAGE;
    }
    if (v->subs)
        return cli_dispatch(v, v->name, argc - 1, argv + 1);

    code = cli_parse(&call, v, prefix, argc - 1, argv + 1);
    if (code == CLI_GO) {
        const struct cli_group *g = v->group;
        code = g && g->enter ? g->enter(&call) : 0;
        if (code == 0) {
            code = v->run(&call);
            if (g && g->leave)
                g->leave(&call);
        }
    }
    cli_call_free(&call);
    return code;
}

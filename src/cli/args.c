/* args.c — the CLI grammar's one argument parser, help generator and
 * dispatcher (see args.h; the verb table is in verbs.c). */
#include "cli/args.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/bb_assert.h"

/* Column where option help text starts in the spec (the help adds two
 * spaces before every line). */
#define SPEC_HELP_COL 22

/* -h/--help: known to every verb, handled here. */
static const char help_spec[] = "-h, --help            show this help\n";
#define HELP_INDEX (-2)

/* One option line of a spec, parsed. */
struct opt {
    char short_name;  /* 0: none */
    const char *name; /* the long name (not NUL-terminated) */
    size_t nlen;
    bool has_arg;
};

/* Reads the line at *p of a spec and moves *p past it.  True when it
 * declares an option (then *o describes it). */
static bool spec_line(const char **p, struct opt *o)
{
    const char *s = *p, *nl = strchr(s, '\n');
    const char *end = nl ? nl : s + strlen(s);

    *p = nl ? nl + 1 : end;
    memset(o, 0, sizeof *o);
    if (s[0] != '-')
        return false;
    if (s[1] != '-') {
        if (end - s < 6 || strncmp(s + 2, ", ", 2) != 0)
            return false;
        o->short_name = s[1];
        s += 4;
    }
    if (strncmp(s, "--", 2) != 0)
        return false;
    o->name = s += 2;
    while (s < end && *s != ' ')
        s++;
    o->nlen = (size_t)(s - o->name);
    o->has_arg = end - s >= 2 && s[1] != ' ';
    return o->nlen > 0;
}

/* Finds an option of v by long name (name, nlen) or by short_name, in
 * the verb's spec, then the group's, then -h/--help.  Returns its index
 * (*o filled), HELP_INDEX or -1. */
static int find_opt(const struct cli_verb *v, const char *name, size_t nlen,
                    char short_name, struct opt *o)
{
    const char *specs[] = {v->opts, v->group ? v->group->opts : NULL,
                           help_spec};
    int k = 0;

    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        for (const char *p = specs[i]; p && *p;) {
            if (!spec_line(&p, o))
                continue;
            if (short_name ? o->short_name == short_name
                           : o->nlen == nlen &&
                                 strncmp(o->name, name, nlen) == 0)
                return i == 2 ? HELP_INDEX : k;
            k++;
        }
    }
    return -1;
}

int cli_spec_check(const char *spec, char *why, size_t whylen)
{
    struct opt o;

    for (const char *p = spec; p && *p;) {
        const char *line = p;
        size_t n = strcspn(line, "\n");
        size_t lead = strspn(line, " ");
        bool ok;

        if (spec_line(&p, &o)) {
            /* the declaration, then the help at SPEC_HELP_COL (or on the
             * next line when the declaration is that long) */
            const char *gap = strstr(line, "  ");
            size_t decl = gap && (size_t)(gap - line) < n ? (size_t)(gap - line) : n;
            size_t spaces = 0;
            for (size_t k = 0; k < decl; k++)
                spaces += line[k] == ' ';
            ok = spaces == (o.has_arg ? 1u : 0u) + (o.short_name ? 1u : 0u) &&
                 (decl == n || (decl < SPEC_HELP_COL && n > SPEC_HELP_COL &&
                                strspn(line + decl, " ") == SPEC_HELP_COL - decl));
        } else {
            ok = lead == SPEC_HELP_COL && n > lead;
        }
        if (!ok) {
            snprintf(why, whylen, "%.*s", (int)n, line);
            return -1;
        }
    }
    return 0;
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
        struct opt o;
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
            k = find_opt(v, name, eq ? (size_t)(eq - name) : strlen(name), 0,
                         &o);
            if (eq)
                inline_val = eq + 1;
        } else {
            k = s[2] == '\0' ? find_opt(v, NULL, 0, s[1], &o) : -1;
        }
        if (k == -1)
            return cli_usage_error(call, "unknown option '%s'", s);
        if (o.has_arg) {
            if (inline_val)
                val = inline_val;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_usage_error(call, "option '--%.*s' needs a value",
                                       (int)o.nlen, o.name);
        } else if (inline_val) {
            return cli_usage_error(call, "option '--%.*s' takes no value",
                                   (int)o.nlen, o.name);
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
    struct opt o;
    int k = find_opt(call->verb, name, strlen(name), 0, &o);

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

/* Prints an option spec, each line indented by two spaces. */
static void put_spec(const char *spec, FILE *out)
{
    for (const char *p = spec; p && *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(out, "  %.*s\n", (int)n, p);
        p += n + (p[n] ? 1 : 0);
    }
}

void cli_help(const struct cli_verb *v, const char *prefix, FILE *out)
{
    const struct cli_group *g = v->group;

    fprintf(out, "usage: batchbox %s%s%s%s\n\n", prefix, sep(prefix),
            v->synopsis, g && g->usage_suffix ? g->usage_suffix : "");
    if (v->help)
        fputs(v->help, out);
    if (v->opts && *v->opts) {
        fputc('\n', out);
        put_spec(v->opts, out);
    }
    if (v->notes)
        fputs(v->notes, out);
    fputc('\n', out);
    if (g && g->options_title)
        fprintf(out, "%s\n", g->options_title);
    if (g)
        put_spec(g->opts, out);
    put_spec(help_spec, out);
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

/* test_cli_args.c — unit tests for src/cli/args.c (the one argument parser
 * and help generator) and src/cli/verbs.c (the verb table): every row is
 * complete, every option spec is well formed and reachable by the parser,
 * and the grammar's rules (--opt=value, --, positional counts, unknown
 * options, help) hold. */
#define UNIT_MAIN
#include "unit.h"

#include "cli/args.h"
#include "cli/verbs.h"

static int run_nothing(const struct cli_call *call)
{
    (void)call;
    return 0;
}

static const struct cli_group test_group = {
    .title = "Test commands:",
    .options_title = "Common options:",
    .opts = "--server URL          where\n"
            "--json                JSON out\n",
};

static const struct cli_verb test_verb = {
    .name = "frob", .run = run_nothing, .group = &test_group,
    .synopsis = "frob ID [options]", .summary = "frobs",
    .help = "Frobs a thing.\n",
    .opts = "--level N             how much\n"
            "-f, --force           do it\n"
            "--param NAME=VALUE    repeatable\n"
            "                      (continued)\n",
    .min_pos = 1, .max_pos = 2, .missing = {"missing ID", NULL},
};

/* Parses the NULL-terminated words (argv[0] = "frob") into *call. */
static int parse(struct cli_call *call, const char **words)
{
    int n = 0;

    while (words[n])
        n++;
    return cli_parse(call, &test_verb, "", n, (char **)words);
}

TEST(long_options_take_values_both_ways_and_flags_none)
{
    const char *w[] = {"frob", "7", "--level", "3", "--param=a=1", "-f",
                       "--json", "--param", "b=2", "--server=http://x", NULL};
    struct cli_call c;
    int it = 0;

    CHECK_EQ_INT(parse(&c, w), CLI_GO);
    CHECK_STR_EQ(cli_str(&c, "level"), "3");
    CHECK(cli_flag(&c, "force"));
    CHECK(cli_flag(&c, "json"));
    CHECK_STR_EQ(cli_str(&c, "server"), "http://x");
    CHECK_STR_EQ(cli_next(&c, "param", &it), "a=1");
    CHECK_STR_EQ(cli_next(&c, "param", &it), "b=2");
    CHECK(cli_next(&c, "param", &it) == NULL);
    CHECK_STR_EQ(cli_str(&c, "param"), "b=2"); /* the last one */
    CHECK_STR_EQ(cli_pos(&c, 0), "7");
    CHECK(cli_pos(&c, 1) == NULL);
    CHECK_STR_EQ(c.name, "frob");
    cli_call_free(&c);
}

TEST(double_dash_ends_options_and_lone_dash_is_positional)
{
    const char *w[] = {"frob", "-", "--", "--level", NULL};
    struct cli_call c;

    CHECK_EQ_INT(parse(&c, w), CLI_GO);
    CHECK_EQ_INT(c.npos, 2);
    CHECK_STR_EQ(cli_pos(&c, 0), "-");
    CHECK_STR_EQ(cli_pos(&c, 1), "--level");
    CHECK(!cli_flag(&c, "level"));
    cli_call_free(&c);
}

TEST(usage_errors_exit_2)
{
    const char *unknown[] = {"frob", "1", "--bogus", NULL};
    const char *no_value[] = {"frob", "1", "--level", NULL};
    const char *flag_value[] = {"frob", "1", "--force=yes", NULL};
    const char *too_many[] = {"frob", "1", "2", "3", NULL};
    const char *missing[] = {"frob", "--force", NULL};
    const char *bundled[] = {"frob", "1", "-fh", NULL};
    const char **cases[] = {unknown, no_value, flag_value, too_many, missing,
                            bundled};
    struct cli_call c;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK_EQ_INT(parse(&c, cases[k]), CLI_EXIT_USAGE);
        cli_call_free(&c);
    }
}

TEST(help_anywhere_prints_help_and_exits_0)
{
    const char *w[] = {"frob", "-h", "--bogus", NULL};
    const char *w2[] = {"frob", "1", "--help", NULL};
    struct cli_call c;

    CHECK_EQ_INT(parse(&c, w), CLI_EXIT_OK);
    cli_call_free(&c);
    CHECK_EQ_INT(parse(&c, w2), CLI_EXIT_OK);
    cli_call_free(&c);
}

TEST(help_shows_the_spec_lines_and_group_options)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    cli_help(&test_verb, "", f);
    CHECK_EQ_INT(fclose(f), 0);
    CHECK(strstr(text, "usage: batchbox frob ID [options]\n") == text);
    CHECK(strstr(text, "\n  -f, --force           do it\n") != NULL);
    CHECK(strstr(text, "\n                        (continued)\n") != NULL);
    CHECK(strstr(text, "Common options:\n  --server URL          where\n") != NULL);
    CHECK(strstr(text, "\n  -h, --help            show this help\n") != NULL);
    free(text);
}

TEST(spec_check_rejects_misaligned_lines)
{
    char why[128];

    CHECK_EQ_INT(cli_spec_check(test_verb.opts, why, sizeof why), 0);
    CHECK_EQ_INT(cli_spec_check("--level N  how much\n", why, sizeof why), -1);
    CHECK_EQ_INT(cli_spec_check("--force x y           z\n", why, sizeof why), -1);
    CHECK_EQ_INT(cli_spec_check("   stray\n", why, sizeof why), -1);
    CHECK_STR_EQ(why, "   stray");
}

/* Every option line of spec, as "--name" (and its value placeholder). */
static void check_options_parse(const struct cli_verb *v, const char *prefix,
                                const char *spec)
{
    for (const char *p = spec; p && *p; p += strcspn(p, "\n") + 1) {
        char name[64], arg[64] = "";
        const char *s = p;
        if (*s != '-')
            continue;
        if (s[1] != '-')
            s += 4; /* "-f, " */
        CHECK(sscanf(s, "%63[^ \n] %63[^ \n]", name, arg) >= 1);
        bool has_arg = s[strlen(name)] == ' ' && s[strlen(name) + 1] != ' ';

        char *argv[6];
        struct cli_call c;
        int n = 0;
        argv[n++] = (char *)v->name;
        argv[n++] = name;
        if (has_arg)
            argv[n++] = (char *)"v";
        /* the positional arguments the verb needs */
        for (int k = 0; k < v->min_pos; k++)
            argv[n++] = (char *)"1";
        CHECK_EQ_INT(cli_parse(&c, v, prefix, n, argv), CLI_GO);
        CHECK_STR_EQ(cli_str(&c, name + 2), has_arg ? "v" : "");
        cli_call_free(&c);
    }
}

static void check_verb(const struct cli_verb *v, const char *prefix)
{
    char why[256] = "";

    CHECK(v->name && v->synopsis && v->summary && v->help && v->group);
    CHECK((v->run != NULL) != (v->subs != NULL));
    CHECK(v->min_pos <= v->max_pos);
    for (int k = 0; k < v->min_pos && k < 2; k++)
        CHECK(v->missing[k] != NULL);
    if (cli_spec_check(v->opts, why, sizeof why) != 0 ||
        cli_spec_check(v->group->opts, why, sizeof why) != 0)
        fprintf(stderr, "%s %s: bad option line: %s\n", prefix, v->name, why);
    CHECK(why[0] == '\0');
    if (v->run) {
        check_options_parse(v, prefix, v->opts);
        check_options_parse(v, prefix, v->group->opts);
    }
}

TEST(every_row_of_the_verb_table_is_complete_and_parses)
{
    for (size_t k = 0; k < cli_root.nsubs; k++) {
        const struct cli_verb *v = &cli_root.subs[k];
        check_verb(v, "");
        for (size_t j = 0; j < k; j++)
            CHECK(strcmp(cli_root.subs[j].name, v->name) != 0);
        for (size_t s = 0; s < v->nsubs; s++)
            check_verb(&v->subs[s], v->name);
    }
}

TEST(listing_names_every_verb)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    cli_family_usage(&cli_root, f);
    CHECK_EQ_INT(fclose(f), 0);
    for (size_t k = 0; k < cli_root.nsubs; k++) {
        char want[64];
        snprintf(want, sizeof want, "\n  %s", cli_root.subs[k].name);
        CHECK(strstr(text, want) != NULL);
    }
    CHECK(strstr(text, "Local commands:\n") != NULL);
    CHECK(strstr(text, "\n\nClient commands") != NULL);
    free(text);
}

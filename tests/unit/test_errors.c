/* test_errors.c — the error table (src/util/err.c) is complete and in enum
 * order, and docs/errors.md lists exactly its rows: enum, code name,
 * status and extra header.  Runs from the repository root. */
#define UNIT_MAIN
#include "unit.h"

#include "util/err.h"
#include "util/util.h"

static const char *const enum_names[] = {
    "BB_OK", "BB_EINVAL", "BB_EAUTH", "BB_EFORBIDDEN", "BB_ENOTFOUND", "BB_ECONFLICT",
    "BB_ETOOLARGE", "BB_EMEDIA", "BB_ESTATE", "BB_ERATE", "BB_EINTERNAL", "BB_ENOTIMPL",
    "BB_EUNAVAIL", "BB_EIO", "BB_EMETHOD", "BB_ERANGE", "BB_EFULL",
    "BB_ETIMEOUT",
};

TEST(table_has_one_row_per_value_in_order)
{
    CHECK_EQ_INT((int)bb_err_count, (int)(sizeof enum_names / sizeof enum_names[0]));
    for (size_t i = 0; i < bb_err_count; i++) {
        CHECK_EQ_INT((int)bb_err_table[i].code, (int)i);
        CHECK(bb_err_table[i].name && bb_err_table[i].meaning);
        /* a header without a default must be given per error */
        CHECK(!bb_err_table[i].header_value || bb_err_table[i].header);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(bb_err_table[k].name, bb_err_table[i].name) != 0);
    }
    CHECK_STR_EQ(bb_err_code(BB_ENOTFOUND), "not_found");
    CHECK_EQ_INT(bb_err_info((enum bb_err)999)->http_status, 500);
}

/* The row of docs/errors.md for one enum name, or NULL. */
static const char *doc_row(const char *doc, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\n| `%s` |", name);
    const char *p = strstr(doc, key);
    return p ? p + 1 : NULL;
}

TEST(docs_errors_md_lists_the_table)
{
    char *doc = bb_read_file("docs/errors.md", 1 << 20, NULL);
    CHECK(doc != NULL);
    int rows = 0;
    for (const char *p = strstr(doc, "\n| `BB_"); p; p = strstr(p + 1, "\n| `BB_"))
        rows++;
    /* every value but BB_OK has a row */
    CHECK_EQ_INT(rows, (int)bb_err_count - 1);
    for (size_t i = 1; i < bb_err_count; i++) {
        const struct bb_err_info *e = &bb_err_table[i];
        const char *row = doc_row(doc, enum_names[i]);
        CHECK(row != NULL);
        char name[64], header[128];
        int status = 0;
        int got = sscanf(row, "| `%*[A-Z_]` | `%63[a-z_]` | %d | %127[^|]|", name, &status,
                         header);
        CHECK_EQ_INT(got, 3);
        CHECK_STR_EQ(name, e->name);
        CHECK_EQ_INT(status, e->http_status);
        if (!e->header) {
            CHECK(strncmp(header, "—", strlen("—")) == 0);
        } else {
            char want[96];
            snprintf(want, sizeof want, "`%s", e->header);
            CHECK(strncmp(header, want, strlen(want)) == 0);
            if (e->header_value) {
                snprintf(want, sizeof want, "`%s: %s`", e->header, e->header_value);
                /* a default value is shown, except Retry-After's per-error seconds */
                CHECK(strstr(header, want) != NULL || strstr(header, "(seconds)") != NULL);
            }
        }
    }
    free(doc);
}

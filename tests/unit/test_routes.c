/* test_routes.c — the route table (src/http/routes.c) and docs/api.md agree:
 * every route is documented as "| `METHOD` | `/path` |", and every route the
 * document lists exists.  Runs from the repository root. */
#define UNIT_MAIN
#include "unit.h"

#include "http/http.h"
#include "util/util.h"

static char *api_doc(void)
{
    return bb_read_file("docs/api.md", 1 << 20, NULL);
}

TEST(every_route_is_documented)
{
    char *doc = api_doc();
    CHECK(doc != NULL);
    for (size_t i = 0; i < http_nroutes; i++) {
        char row[256];
        snprintf(row, sizeof row, "| `%s` | `%s` |", http_routes[i].method, http_routes[i].pattern);
        if (!strstr(doc, row)) {
            free(doc);
            CHECK(!"a route is missing from docs/api.md");
        }
    }
    free(doc);
}

TEST(every_documented_route_exists)
{
    char *doc = api_doc();
    CHECK(doc != NULL);
    int rows = 0;
    for (char *p = strstr(doc, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
        char method[16], path[200];
        if (sscanf(p, "\n| `%15[A-Z]` | `%199[^`]` |", method, path) != 2)
            continue;
        rows++;
        bool found = false;
        for (size_t i = 0; i < http_nroutes; i++)
            found |= strcmp(http_routes[i].method, method) == 0 &&
                     strcmp(http_routes[i].pattern, path) == 0;
        if (!found) {
            free(doc);
            CHECK(!"docs/api.md lists a route that does not exist");
        }
    }
    free(doc);
    CHECK_EQ_INT(rows, (int)http_nroutes);
}

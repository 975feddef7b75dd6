/* test_routes.c — the route table (src/http/routes.c) and docs/api.md agree:
 * every route is documented as "| `METHOD` | `/path` |", and every route the
 * document lists exists; the router's matching (src/http/router.c): any
 * :word parameter, 405 candidates, the fallback; and the table's body
 * declarations agree with what OpenAPI says.  Runs from the repository
 * root. */
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
        if (http_routes[i].fallback)
            continue;   /* the web UI, not an API route */
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
            found |= !http_routes[i].fallback && strcmp(http_routes[i].method, method) == 0 &&
                     strcmp(http_routes[i].pattern, path) == 0;
        if (!found) {
            free(doc);
            CHECK(!"docs/api.md lists a route that does not exist");
        }
    }
    free(doc);
    int api_routes = 0;
    for (size_t i = 0; i < http_nroutes; i++)
        api_routes += !http_routes[i].fallback;
    CHECK_EQ_INT(rows, api_routes);
}

TEST(any_word_names_a_parameter)
{
    struct http_param p[HTTP_MAX_PARAMS];
    char buf[256];
    int n = -1;
    CHECK_EQ_INT(http_route_match("/things/:thingId/parts/:part_name", "/things/t-7/parts/a b",
                                  p, &n, buf, sizeof buf),
                 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT((int)p[0].name_len, 7);
    CHECK(strncmp(p[0].name, "thingId", 7) == 0);
    CHECK_STR_EQ(p[0].value, "t-7");
    CHECK_EQ_INT((int)p[1].name_len, 9);
    CHECK(strncmp(p[1].name, "part_name", 9) == 0);
    CHECK_STR_EQ(p[1].value, "a b");
}

TEST(matching_refuses_what_does_not_fit)
{
    struct http_param p[HTTP_MAX_PARAMS];
    char buf[8];
    int n;
    CHECK(http_route_match("/jobs/:id", "/jobs/", p, &n, buf, sizeof buf) != 0);  /* empty */
    CHECK(http_route_match("/jobs/:id", "/jobs/1/x", p, &n, buf, sizeof buf) != 0);
    CHECK(http_route_match("/jobs/:id", "/job/1", p, &n, buf, sizeof buf) != 0);
    CHECK(http_route_match("/jobs/:id", "/jobs/123456789", p, &n, buf, sizeof buf) != 0);
    CHECK(http_route_match("/a/:b/:c/:d/:e/:f", "/a/1/2/3/4/5", p, &n, buf, sizeof buf) != 0);
    CHECK_EQ_INT(http_route_match("/jobs/:id", "/jobs/1234567", NULL, NULL, NULL, 0), 0);
}

TEST(router_finds_routes_methods_and_the_fallback)
{
    char allow[128];
    const struct http_route *rt = http_route_find("GET", "/jobs/12/artifacts/a.mp3", true,
                                                  allow, sizeof allow);
    CHECK(rt != NULL);
    CHECK_STR_EQ(rt->pattern, "/jobs/:id/artifacts/:name");
    rt = http_route_find("HEAD", "/files/upl_3", true, allow, sizeof allow);
    CHECK(rt != NULL && strcmp(rt->method, "GET") == 0);
    rt = http_route_find("PUT", "/files/upl_3", true, allow, sizeof allow);
    CHECK(rt == NULL);
    CHECK_STR_EQ(allow, "GET, DELETE");
    rt = http_route_find("GET", "/app.js", false, allow, sizeof allow);
    CHECK(rt != NULL && rt->fallback);
    CHECK_STR_EQ(allow, "");
    CHECK(http_route_find("GET", "/nothing", true, allow, sizeof allow) == NULL);
    CHECK(http_route_find("POST", "/nothing", false, allow, sizeof allow) == NULL);
    CHECK_STR_EQ(allow, "");
}

TEST(body_declarations_agree_with_openapi)
{
    for (size_t i = 0; i < http_nroutes; i++) {
        const struct http_route *rt = &http_routes[i];
        bool upload = rt->request && strcmp(rt->request, "upload") == 0;
        bool json = rt->body == HTTP_BODY_JSON || rt->body == HTTP_BODY_JSON_OPTIONAL;
        CHECK(upload == (rt->body == HTTP_BODY_UPLOAD));
        /* a JSON schema in OpenAPI means the router parses JSON (logout's
         * optional body has no schema) */
        if (rt->request && !upload)
            CHECK(json);
        if (rt->fallback)
            CHECK(strchr(rt->pattern, '*') != NULL && rt->perm == PERM_PUBLIC);
    }
}

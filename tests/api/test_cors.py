"""CORS allow-list (docs/integrations.md, "CORS"): http.corsOrigins names the web origins
whose pages may call the API. A preflight OPTIONS from an allowed origin gets 204 with the
allowed methods and headers; from any other origin 403 naming the Origin header. Answers
to allowed origins echo the origin (never "*") and carry no credentials permission, so
cookies never cross origins; other origins get no CORS headers at all.
"""

from harness import Server, assert_error

GOOD = "http://127.0.0.1:3000"
BAD = "http://evil.example"


def preflight(s, origin, method="POST"):
    return s.req("OPTIONS", "/api/v1/jobs", auth=False,
                 headers={"Origin": origin, "Access-Control-Request-Method": method,
                          "Access-Control-Request-Headers": "authorization, content-type"})


def test_preflight_allowed_and_denied():
    s = Server(env={"BATCHBOX_HTTP_CORS_ORIGINS": GOOD + ",https://app.example"})
    r = preflight(s, GOOD)
    assert r.status == 204, r.describe()
    assert r.headers["Access-Control-Allow-Origin"] == GOOD, r.headers
    assert "POST" in r.headers["Access-Control-Allow-Methods"], r.headers
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"], r.headers
    assert "Access-Control-Allow-Credentials" not in r.headers, r.headers
    assert r.headers.get("Vary") == "Origin", r.headers
    assert_error(preflight(s, BAD), 403, "forbidden", field="Origin")
    # the real request from the allowed origin carries the header; another origin none
    r = s.req("GET", "/api/v1/jobs", headers={"Origin": GOOD})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == GOOD, r.headers
    r = s.req("GET", "/api/v1/jobs", headers={"Origin": BAD})
    assert "Access-Control-Allow-Origin" not in r.headers, r.headers
    # errors carry it too, so a page can read them
    r = s.req("GET", "/api/v1/jobs", auth=False, headers={"Origin": GOOD})
    assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == GOOD, r.headers
    # OPTIONS without a preflight is not a route
    assert s.req("OPTIONS", "/api/v1/jobs", auth=False).status == 405


def test_no_origins_by_default_and_bad_values_refused():
    s = Server()
    assert_error(preflight(s, GOOD), 403, "forbidden", field="Origin")
    s.stop()
    for bad in ("*", "http://x/path", "ftp://x", "http://a b"):
        s.env["BATCHBOX_HTTP_CORS_ORIGINS"] = bad
        assert s.start(expect_fail=True) != 0
        assert "http.corsOrigins" in s.stderr_text()

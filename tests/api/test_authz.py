"""Authorization: who may call which route, whose jobs they see, and event-stream isolation.

The matrix below has one row per request and an expected status for each caller
(anonymous, user A, user B, admin). Its routes are checked against the route table
in docs/api.md (which a unit test keeps equal to src/http/routes.c): a documented
route without a row, or a row for an undocumented route, fails the suite, so a new
route cannot be added without deciding who may call it.
"""

import http.client
import json
import os
import re
import time

from harness import HttpResult, SSEClient, Server, scaled

HERE = os.path.dirname(os.path.abspath(__file__))
API_DOC = os.path.join(HERE, "..", "..", "docs", "api.md")
ROUTE_ROW = re.compile(r"^\|\s*`([A-Z]+)`\s*\|\s*`(/[^`]*)`\s*\|")

ACTORS = ("anon", "A", "B", "admin")
PW = {"A": "alice-password-1", "B": "bob-password-22"}
EMAIL = {"A": "alice@example.com", "B": "bob@example.com"}


def documented_routes():
    """{(METHOD, pattern)} from the route table of docs/api.md."""
    routes = set()
    with open(API_DOC, encoding="utf-8") as f:
        for line in f:
            m = ROUTE_ROW.match(line.strip())
            if m:
                routes.add((m.group(1), m.group(2)))
    assert len(routes) >= 20, f"parsed only {len(routes)} routes from {API_DOC}: {routes}"
    return routes


def _row(method, route, path, body, anon, a, b, admin, last=False, ctype=None):
    """One request of the matrix. path and body may use {AJOB}, {BJOB} (the jobs of A and
    B), {AFILE}, {BFILE} (their uploads), {ADEL}, {BDEL} (an upload of A / of B made for
    this caller alone, so a delete by one caller does not decide the next caller's answer),
    {BID} (B's user id), {ACTOR} (the caller's name) and {SPARE} (a refresh token of a
    spare session of the caller). body: JSON, or bytes sent with Content-Type ctype.
    last: the request ends the caller's session, so it runs after every other row."""
    return {"method": method, "route": route, "path": path, "body": body, "ctype": ctype,
            "expect": {"anon": anon, "A": a, "B": b, "admin": admin}, "last": last}


EDIT = {"type": "edit_metadata", "payload": {"preset": "cat"}}
NOTES = b"# Notes\n\nA small Markdown upload.\n"
CANCEL = {"type": "cancel"}

#        method   route (as documented)           concrete path                      body
#                                                                       anon   A    B   admin
MATRIX = [
    _row("GET", "/health", "/health", None,                             200, 200, 200, 200),
    _row("GET", "/config/job-options", "/config/job-options", None,     401, 200, 200, 200),
    _row("POST", "/jobs", "/jobs", {"preset": "noop"},                  401, 202, 202, 202),
    _row("GET", "/jobs", "/jobs", None,                                 401, 200, 200, 200),
    _row("GET", "/jobs/events", "/jobs/events", None,                   401, 200, 200, 200),
    _row("GET", "/jobs/:id", "/jobs/{AJOB}", None,                      401, 200, 404, 200),
    _row("GET", "/jobs/:id", "/jobs/{BJOB}", None,                      401, 404, 200, 200),
    _row("GET", "/jobs/:id/children", "/jobs/{AJOB}/children", None,    401, 422, 404, 422),
    _row("GET", "/jobs/:id/children", "/jobs/{BJOB}/children", None,    401, 404, 422, 422),
    _row("GET", "/jobs/:id/dependents", "/jobs/{AJOB}/dependents", None, 401, 200, 404, 200),
    # review (docs/translate.md): A's job is not a translate job, so its owner and admins get
    # 422; another user gets 404 as for any job he cannot see
    _row("GET", "/jobs/:id/segments", "/jobs/{AJOB}/segments", None, 401, 422, 404, 422),
    _row("GET", "/jobs/:id/comfyui", "/jobs/{AJOB}/comfyui", None,      401, 200, 404, 200),
    _row("PATCH", "/jobs/:id/segments/:n", "/jobs/{AJOB}/segments/1", {"target": "x"},
         401, 422, 404, 422),
    _row("POST", "/schedules", "/schedules",
         {"name": "m", "cron": "0 0 1 1 *", "job": {"preset": "noop"}}, 401, 201, 201, 201),
    _row("GET", "/schedules", "/schedules", None,                       401, 200, 200, 200),
    _row("GET", "/schedules/:id", "/schedules/999999", None,            401, 404, 404, 404),
    _row("PATCH", "/schedules/:id", "/schedules/999999", {"enabled": False},
         401, 404, 404, 404),
    _row("DELETE", "/schedules/:id", "/schedules/999999", None,         401, 404, 404, 404),
    _row("GET", "/jobs/:id/logs", "/jobs/{AJOB}/logs", None,            401, 200, 404, 200),
    _row("GET", "/jobs/:id/logs", "/jobs/{BJOB}/logs", None,            401, 404, 200, 200),
    _row("GET", "/jobs/:id/artifacts", "/jobs/{AJOB}/artifacts", None,  401, 200, 404, 200),
    _row("GET", "/jobs/:id/artifacts", "/jobs/{BJOB}/artifacts", None,  401, 404, 200, 200),
    _row("GET", "/jobs/:id/artifacts/:name", "/jobs/{AJOB}/artifacts/copy.txt", None,
                                                                        401, 200, 404, 200),
    _row("GET", "/jobs/:id/artifacts/:name", "/jobs/{BJOB}/artifacts/copy.txt", None,
                                                                        401, 404, 200, 200),
    _row("GET", "/jobs/:id/gallery", "/jobs/{AJOB}/gallery", None,      401, 200, 404, 200),
    _row("GET", "/jobs/:id/gallery", "/jobs/{BJOB}/gallery", None,      401, 404, 200, 200),
    _row("GET", "/jobs/:id/gallery.zip", "/jobs/{AJOB}/gallery.zip", None,
                                                                        401, 200, 404, 200),
    _row("GET", "/jobs/:id/gallery.zip", "/jobs/{BJOB}/gallery.zip", None,
                                                                        401, 404, 200, 200),
    _row("POST", "/jobs/:id/artifacts/:name/pick", "/jobs/{AJOB}/artifacts/copy.txt/pick",
         None,                                                          401, 200, 404, 200),
    _row("POST", "/jobs/:id/artifacts/:name/pick", "/jobs/{BJOB}/artifacts/copy.txt/pick",
         None,                                                          401, 404, 200, 200),
    _row("DELETE", "/jobs/:id/artifacts/:name/pick", "/jobs/{AJOB}/artifacts/copy.txt/pick",
         None,                                                          401, 200, 404, 200),
    _row("DELETE", "/jobs/:id/artifacts/:name/pick", "/jobs/{BJOB}/artifacts/copy.txt/pick",
         None,                                                          401, 404, 200, 200),
    _row("POST", "/jobs/:id/actions", "/jobs/{AJOB}/actions", EDIT,     401, 200, 404, 200),
    _row("POST", "/jobs/:id/actions", "/jobs/{BJOB}/actions", EDIT,     401, 404, 200, 200),
    # cancelling a finished job is 422 for whoever may see it, 404 for anyone else
    _row("POST", "/jobs/:id/actions", "/jobs/{AJOB}/actions", CANCEL,   401, 422, 404, 422),
    _row("POST", "/jobs/:id/actions", "/jobs/{BJOB}/actions", CANCEL,   401, 404, 422, 422),
    # A's and B's jobs are command jobs: rerunning their audio is 422 for whoever sees them
    _row("POST", "/jobs/:id/rerun/audio", "/jobs/{AJOB}/rerun/audio", {},
                                                                        401, 422, 404, 422),
    _row("POST", "/jobs/:id/rerun/audio", "/jobs/{BJOB}/rerun/audio", {},
                                                                        401, 404, 422, 422),
    _row("POST", "/uploads", "/uploads?filename=notes-{ACTOR}.md", NOTES,
                                                                        401, 201, 201, 201,
         ctype="text/markdown"),
    _row("GET", "/files/:id", "/files/{AFILE}", None,                   401, 200, 404, 200),
    _row("GET", "/files/:id", "/files/{BFILE}", None,                   401, 404, 200, 200),
    _row("DELETE", "/files/:id", "/files/{ADEL}", None,                 401, 204, 404, 204),
    _row("DELETE", "/files/:id", "/files/{BDEL}", None,                 401, 404, 204, 204),
    _row("GET", "/user/files", "/user/files", None,                     401, 200, 200, 200),
    _row("POST", "/auth/register", "/auth/register",
         {"email": "new-{ACTOR}@example.com", "password": "password-of-{ACTOR}"},
                                                                        201, 201, 201, 201),
    _row("POST", "/auth/login", "/auth/login",
         {"email": EMAIL["A"], "password": PW["A"]},                    200, 200, 200, 200),
    _row("POST", "/auth/refresh", "/auth/refresh", {"refreshToken": "{SPARE}"},
                                                                        200, 200, 200, 200),
    _row("POST", "/auth/logout", "/auth/logout", None,                  204, 204, 204, 204,
         last=True),
    _row("GET", "/auth/me", "/auth/me", None,                           401, 200, 200, 200),
    _row("GET", "/user/profile", "/user/profile", None,                 401, 200, 200, 200),
    _row("PATCH", "/user/profile", "/user/profile", {"name": "Name {ACTOR}"},
                                                                        401, 200, 200, 200),
    _row("GET", "/user/jobs", "/user/jobs", None,                       401, 200, 200, 200),
    _row("GET", "/admin/users", "/admin/users", None,                   401, 403, 403, 200),
    _row("PATCH", "/admin/users/:id", "/admin/users/{BID}", {"role": "user"},
                                                                        401, 403, 403, 200),
    _row("GET", "/admin/jobs", "/admin/jobs", None,                     401, 403, 403, 200),
    _row("GET", "/admin/stats", "/admin/stats", None,                   401, 403, 403, 200),
    _row("POST", "/admin/backup", "/admin/backup", None,                401, 403, 403, 201),
    _row("GET", "/admin/queue", "/admin/queue", None,                   401, 403, 403, 200),
    _row("POST", "/admin/queue/pause", "/admin/queue/pause", {"preset": "noop"},
                                                                        401, 403, 403, 200),
    _row("POST", "/admin/queue/resume", "/admin/queue/resume", {"preset": "noop"},
                                                                        401, 403, 403, 200),
    # bulk actions are owner-scoped (tests/api/test_bulk.py); a dry run changes nothing
    _row("POST", "/jobs/bulk", "/jobs/bulk", {"action": "cancel", "dryRun": True},
                                                                        401, 200, 200, 200),
    # the ComfyUI pool (tests/api/test_comfyui_pool.py): reads for users, writes for admins
    _row("GET", "/comfyui/servers", "/comfyui/servers", None,           401, 200, 200, 200),
    _row("POST", "/comfyui/servers", "/comfyui/servers", {"id": "bad id"},
                                                                        401, 403, 403, 400),
    _row("PATCH", "/comfyui/servers/:id", "/comfyui/servers/nosuch", {"slots": 2},
                                                                        401, 403, 403, 404),
    _row("DELETE", "/comfyui/servers/:id", "/comfyui/servers/nosuch", None,
                                                                        401, 403, 403, 404),
    _row("POST", "/comfyui/servers/:id/refresh", "/comfyui/servers/nosuch/refresh", None,
                                                                        401, 403, 403, 404),
    _row("GET", "/comfyui/models", "/comfyui/models", None,             401, 200, 200, 200),
    # templates are owner-scoped (tests/api/test_templates.py covers sharing and deletes)
    _row("GET", "/presets/:id/templates", "/presets/noop/templates", None,
                                                                        401, 200, 200, 200),
    _row("POST", "/presets/:id/templates", "/presets/noop/templates",
         {"name": "t-{ACTOR}", "params": {}},                           401, 201, 201, 201),
    _row("DELETE", "/templates/:id", "/templates/tpl_999999", None,     401, 404, 404, 404),
    _row("GET", "/inputs", "/inputs", None,                             401, 200, 200, 200),
    # admin only (or the metrics token: tests/api/test_ops.py); the OpenAPI document is public
    _row("GET", "/metrics", "/metrics", None,                           401, 403, 403, 200),
    _row("GET", "/openapi.json", "/openapi.json", None,                 200, 200, 200, 200),
    # integrations (docs/integrations.md): keys are the caller's own, deliveries the job's
    _row("GET", "/user/api-keys", "/user/api-keys", None,               401, 200, 200, 200),
    _row("POST", "/user/api-keys", "/user/api-keys", {"name": "k-{ACTOR}", "scope": "read"},
                                                                        401, 201, 201, 201),
    _row("DELETE", "/user/api-keys/:id", "/user/api-keys/key_999999", None,
                                                                        401, 404, 404, 404),
    _row("GET", "/jobs/:id/deliveries", "/jobs/{AJOB}/deliveries", None, 401, 200, 404, 200),
    _row("GET", "/jobs/:id/deliveries", "/jobs/{BJOB}/deliveries", None, 401, 404, 200, 200),
    _row("POST", "/admin/config/reload", "/admin/config/reload", None,  401, 403, 403, 200),
    _row("POST", "/admin/gc", "/admin/gc", {"dryRun": True},            401, 403, 403, 200),
]

PUBLIC = {("GET", "/health"), ("POST", "/auth/register"), ("POST", "/auth/login"),
          ("POST", "/auth/refresh"), ("POST", "/auth/logout"), ("GET", "/openapi.json")}


def _pattern_regex(route):
    return re.compile("^" + re.sub(r":[a-z]+", "[^/]+", route) + "$")


def _check_matrix_against_docs():
    doc = documented_routes()
    rows = {(r["method"], r["route"]) for r in MATRIX}
    missing = sorted(doc - rows)
    extra = sorted(rows - doc)
    assert not missing, ("documented routes without a row in the authorization matrix of "
                         f"tests/api/test_authz.py (decide who may call them): {missing}")
    assert not extra, f"matrix rows for routes that docs/api.md does not list: {extra}"
    for r in MATRIX:
        assert _pattern_regex(r["route"]).match(r["path"].split("?")[0]), \
            f"matrix row path {r['path']!r} does not fit its route {r['route']!r}"
        assert set(r["expect"]) == set(ACTORS), r
        # the rules of the contract, so a row cannot quietly contradict them
        if (r["method"], r["route"]) in PUBLIC:
            assert r["expect"]["anon"] != 401, f"public route expects 401: {r}"
        else:
            assert r["expect"]["anon"] == 401, f"anonymous must get 401: {r}"
        if r["route"].startswith("/admin/"):
            assert r["expect"]["A"] == r["expect"]["B"] == 403, f"/admin/* must be 403: {r}"


def test_matrix_covers_every_documented_route():
    _check_matrix_against_docs()


# ---- the world: an admin, two users, a job each ---------------------------------------------

def _me(s, token):
    return s.call("GET", "/api/v1/auth/me", token=token)


def _world(s):
    """Registers A and B on s (open registration); returns a dict of tokens and ids."""
    w = {"token": {"anon": None, "admin": s.token}, "id": {}}
    for who in ("A", "B"):
        r = s.register(EMAIL[who], PW[who], name=who)
        assert r.body["user"]["role"] == "user", r.describe()
        w["token"][who] = r.body["accessToken"]
        w["id"][who] = r.body["user"]["id"]
    w["id"]["admin"] = _me(s, s.token)["id"]
    assert len(set(w["id"].values())) == 3, w["id"]
    return w


def _submit(s, token, **body):
    r = s.req("POST", "/api/v1/jobs", body, token=token)
    assert r.status == 202, r.describe()
    return r.body["jobId"]


def _ids(body):
    return {it["jobId"] for it in body["items"]}


def _send(port, method, path, body, token, ctype=None):
    """One request; an event stream's body is not read (its status and headers answer).
    body: JSON, or bytes sent with Content-Type ctype."""
    hdrs = {}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if isinstance(body, bytes):
        data = body
        hdrs["Content-Type"] = ctype or "application/octet-stream"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(10))
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        ctype = resp.getheader("Content-Type", "") or ""
        raw = b"" if ctype.startswith("text/event-stream") else resp.read()
    finally:
        conn.close()
    parsed = None
    if "json" in ctype:
        parsed = json.loads(raw.decode("utf-8"))
    return HttpResult(method, path, resp.status, resp.headers, raw, parsed)


def _upload(s, token, name, data=NOTES):
    r = s.req("POST", f"/api/v1/uploads?filename={name}", data,
              headers={"Content-Type": "text/markdown"}, token=token)
    assert r.status == 201, r.describe()
    assert isinstance(r.body.get("fileId"), str) and r.body["fileId"], r.describe()
    return r.body["fileId"]


def _subst(value, ctx):
    if isinstance(value, str):
        for k, v in ctx.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: _subst(v, ctx) for k, v in value.items()}
    return value


def _check_status(r, want, who):
    assert r.status == want, f"{who}: expected {want}: {r.describe()}"
    if want == 401:
        assert (r.headers.get("WWW-Authenticate") or "").startswith("Bearer"), \
            f"{who}: 401 without WWW-Authenticate: Bearer: {r.describe()} {dict(r.headers)}"
        assert isinstance(r.body, dict) and r.body.get("error") == "unauthorized", \
            f"{who}: {r.describe()}"
    elif want == 403:
        assert isinstance(r.body, dict) and r.body.get("error") == "forbidden", \
            f"{who}: {r.describe()}"
    elif want == 404:
        assert isinstance(r.body, dict) and r.body.get("error") == "not_found", \
            f"{who}: {r.describe()}"


def test_authorization_matrix():
    _check_matrix_against_docs()
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    w = _world(s)
    tok = w["token"]
    ja = _submit(s, tok["A"], preset="cat", md="a.md")
    jb = _submit(s, tok["B"], preset="cat", md="b.md")
    jadm = _submit(s, tok["admin"], preset="noop")
    for j in (ja, jb, jadm):
        assert s.wait_terminal(j)["state"] == "succeeded", s.job(j)
    assert s.job(ja)["ownerId"] == w["id"]["A"], s.job(ja)
    assert s.job(jb)["ownerId"] == w["id"]["B"], s.job(jb)
    fa = _upload(s, tok["A"], "a-notes.md")
    fb = _upload(s, tok["B"], "b-notes.md")
    # one file per caller for each delete row (see _row)
    dels = {who: {"ADEL": _upload(s, tok["A"], f"a-del-{who}.md"),
                  "BDEL": _upload(s, tok["B"], f"b-del-{who}.md")} for who in ACTORS}

    # Lists: /jobs is the caller's own (everyone's for an admin), /user/jobs always the
    # caller's own, /admin/jobs everyone's; a filter cannot reach another user's jobs.
    assert _ids(s.call("GET", "/api/v1/jobs", token=tok["A"])) == {ja}
    assert _ids(s.call("GET", "/api/v1/jobs", token=tok["B"])) == {jb}
    assert _ids(s.call("GET", "/api/v1/jobs?q=b.md", token=tok["A"])) == set()
    assert _ids(s.call("GET", "/api/v1/jobs?state=succeeded&preset=cat", token=tok["A"])) == {ja}
    assert _ids(s.call("GET", "/api/v1/jobs", token=tok["admin"])) == {ja, jb, jadm}
    assert _ids(s.call("GET", "/api/v1/user/jobs", token=tok["A"])) == {ja}
    assert _ids(s.call("GET", "/api/v1/user/jobs", token=tok["admin"])) == {jadm}
    assert _ids(s.call("GET", "/api/v1/admin/jobs", token=tok["admin"])) == {ja, jb, jadm}
    for it in s.call("GET", "/api/v1/jobs", token=tok["A"])["items"]:
        assert it["ownerId"] == w["id"]["A"], it

    def file_ids(token):
        return {f["fileId"] for f in s.call("GET", "/api/v1/user/files", token=token)["items"]}
    a_files = {fa} | {d["ADEL"] for d in dels.values()}
    b_files = {fb} | {d["BDEL"] for d in dels.values()}
    assert file_ids(tok["A"]) == a_files, file_ids(tok["A"])
    assert file_ids(tok["B"]) == b_files, file_ids(tok["B"])
    assert file_ids(tok["admin"]) == set()      # the caller's own, even for an admin

    # Another user's job answers exactly like a job that does not exist.
    def shape(r):
        b = dict(r.body)
        b["details"] = {k: v for k, v in (b.get("details") or {}).items() if k != "requestId"}
        return r.status, b
    pairs = [(f"/jobs/{jb}{x}", f"/jobs/987654{x}")
             for x in ("", "/logs", "/artifacts", "/artifacts/copy.txt")]
    pairs.append((f"/files/{fb}", "/files/upl_987654"))
    for path, missing in pairs:
        theirs = s.req("GET", "/api/v1" + path, token=tok["A"])
        nobody = s.req("GET", "/api/v1" + missing, token=tok["A"])
        assert shape(theirs) == shape(nobody), \
            f"B's job and a missing job answer differently: {theirs.describe()} vs " \
            f"{nobody.describe()}"

    # A spare session per caller for the refresh row (anonymous uses one of A's).
    spare = {"anon": s.session(EMAIL["A"], PW["A"])["refreshToken"],
             "A": s.session(EMAIL["A"], PW["A"])["refreshToken"],
             "B": s.session(EMAIL["B"], PW["B"])["refreshToken"]}
    adm = s.session(s.env["BATCHBOX_ADMIN_EMAIL"], s.env["BATCHBOX_ADMIN_PASSWORD"])
    spare["admin"] = adm["refreshToken"]
    tok = dict(tok, admin=adm["accessToken"])   # keep s.token alive past the logout row

    rows = [r for r in MATRIX if not r["last"]] + [r for r in MATRIX if r["last"]]
    failures = []
    for row in rows:
        for who in ACTORS:
            ctx = {"AJOB": ja, "BJOB": jb, "AFILE": fa, "BFILE": fb, "BID": w["id"]["B"],
                   "ACTOR": who.lower(), "SPARE": spare[who], **dels[who]}
            path = "/api/v1" + _subst(row["path"], ctx)
            r = _send(s.port, row["method"], path, _subst(row["body"], ctx), tok[who],
                      row["ctype"])
            try:
                _check_status(r, row["expect"][who], who)
            except AssertionError as e:
                failures.append(f"{row['method']} {row['path']}: {e}")
    assert not failures, "authorization matrix mismatches:\n  " + "\n  ".join(failures)

    # The refused deletes deleted nothing: the files anonymous and the other user tried
    # to delete are still there for their owners (new sessions: the old ones logged out).
    left_b = file_ids(s.session(EMAIL["B"], PW["B"])["accessToken"])
    left_a = file_ids(s.session(EMAIL["A"], PW["A"])["accessToken"])
    assert left_b >= {fb, dels["anon"]["BDEL"], dels["A"]["BDEL"]}, left_b
    assert left_b.isdisjoint({dels["B"]["BDEL"], dels["admin"]["BDEL"]}), left_b
    assert left_a >= {fa, dels["anon"]["ADEL"], dels["B"]["ADEL"]}, left_a
    assert left_a.isdisjoint({dels["A"]["ADEL"], dels["admin"]["ADEL"]}), left_a

    # The logout row ended every caller's session.
    for who in ("A", "B", "admin"):
        _check_status(s.req("GET", "/api/v1/auth/me", token=tok[who]), 401, f"{who} after logout")


def test_unprefixed_paths_bad_tokens_and_the_page():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    w = _world(s)
    jb = _submit(s, w["token"]["B"], preset="noop")
    # the same rules without the /api/v1 prefix
    _check_status(s.req("GET", "/jobs", auth=False), 401, "anon")
    _check_status(s.req("GET", f"/jobs/{jb}", token=w["token"]["A"]), 404, "A")
    _check_status(s.req("GET", "/admin/users", token=w["token"]["A"]), 403, "A")
    _check_status(s.req("GET", "/health", auth=False), 200, "anon")
    # credentials that are not a valid access token
    refresh = s.session(EMAIL["A"], PW["A"])["refreshToken"]
    for bad in ({"Authorization": "Bearer bba_" + "A" * 43},
                {"Authorization": "Bearer " + refresh},            # a refresh token
                {"Authorization": "Bearer "},
                {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
                {"Authorization": "Bearer " + w["token"]["A"] + "x"},
                {"Cookie": "bb_access=bba_nope"}):
        r = s.req("GET", "/api/v1/auth/me", headers=bad, auth=False)
        _check_status(r, 401, f"headers {bad}")
    # the web page and its assets are public
    r = s.req("GET", "/", auth=False, raw=True)
    assert r.status == 200, r.describe()
    assert "text/html" in (r.headers.get("Content-Type") or ""), dict(r.headers)


# ---- event streams --------------------------------------------------------------------------

def _stream(s, token, path="/api/v1/jobs/events", headers=None):
    hdrs = {"Authorization": f"Bearer {token}"}
    hdrs.update(headers or {})
    c = SSEClient(s.port, path, hdrs).start()
    st = c.wait_headers()
    assert st == 200, f"GET {path}: {st} {c.body_if_error[:300]!r}"
    c.wait_for(lambda _evs: c.items, 5, what="the first line (retry:)")
    return c


def _job_ids(events):
    return {e.job_id for e in events if e.job_id is not None}


def test_event_streams_carry_only_the_callers_jobs():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    w = _world(s)
    tok = w["token"]
    anon = SSEClient(s.port, "/api/v1/jobs/events", {}).start()
    assert anon.wait_headers() == 401, anon.status
    anon.wait_closed(5)
    anon.close()

    sa = _stream(s, tok["A"], "/api/v1/jobs/events?logs=1")
    sb = _stream(s, tok["B"], "/api/v1/jobs/events?logs=1")
    sadm = _stream(s, tok["admin"], "/api/v1/jobs/events?logs=1")
    ja1 = _submit(s, tok["A"], preset="noop")
    jb1 = _submit(s, tok["B"], preset="echo")        # writes log lines
    ja2 = _submit(s, tok["A"], preset="noop")
    jb2 = _submit(s, tok["B"], preset="sleep")       # stays running until canceled
    for j in (ja1, jb1, ja2):
        sadm.wait_job_state(j, "succeeded")
    sadm.wait_job_state(jb2, "running")
    sa.wait_job_state(ja1, "succeeded")
    sa.wait_job_state(ja2, "succeeded")
    sb.wait_job_state(jb1, "succeeded")
    sb.wait_job_state(jb2, "running")
    assert [e for e in sb.snapshot() if e.event == "job_log" and e.job_id == jb1], \
        "B's stream with logs=1 has no job_log of B's echo job"
    assert [e for e in sadm.snapshot() if e.event == "job_log" and e.job_id == jb1], \
        "the admin's stream with logs=1 has no job_log of B's echo job"

    # A watches B's running job by id (live and replayed): nothing, and no error either.
    spy = _stream(s, tok["A"], f"/api/v1/jobs/events?jobId={jb2}&logs=1",
                  {"Last-Event-ID": "0"})
    watch = _stream(s, tok["admin"], f"/api/v1/jobs/events?jobId={jb2}")
    s.call("POST", f"/api/v1/jobs/{jb2}/actions", {"type": "cancel"}, token=tok["B"])
    watch.wait_job_state(jb2, "canceled")
    sb.wait_job_state(jb2, "canceled")
    sadm.wait_job_state(jb2, "canceled")
    time.sleep(scaled(0.3))                          # room for a late leak to show up
    assert spy.snapshot() == [], f"A's stream filtered on B's job carried {spy.snapshot()[:5]}"
    assert not spy.closed and spy.status == 200, (spy.status, spy.closed)

    assert _job_ids(sa.snapshot()) == {ja1, ja2}, f"A's stream: {_job_ids(sa.snapshot())}"
    assert _job_ids(sb.snapshot()) == {jb1, jb2}, f"B's stream: {_job_ids(sb.snapshot())}"
    assert _job_ids(sadm.snapshot()) == {ja1, ja2, jb1, jb2}, _job_ids(sadm.snapshot())

    # A reconnects from the start: the replay holds A's events only.
    again = _stream(s, tok["A"], "/api/v1/jobs/events?logs=1", {"Last-Event-ID": "0"})
    again.wait_job_state(ja2, "succeeded")
    time.sleep(scaled(0.2))
    ev = again.snapshot()
    assert _job_ids(ev) == {ja1, ja2}, f"A's replay from 0 carried {_job_ids(ev)}: {ev[:8]}"
    assert [e.event for e in ev if e.job_id == ja1][0] == "job_created", ev[:4]
    for c in (sa, sb, sadm, spy, watch, again):
        c.close()

"""Operations: GET /metrics (Prometheus text format) and GET /api/v1/openapi.json.

/metrics is checked by promtool (Debian's prometheus package; its `check metrics` parses
the exposition with Prometheus' own parser and lints it), before and after a workload, and
the counters must move by exactly what the workload did. The OpenAPI document is validated
by the pinned @apidevtools/swagger-parser (tests/openapi), must describe exactly the routes
of docs/api.md, and every documented route must answer something other than 404 there.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import DTO_KEYS, SSEClient, Server, scaled, wait_until
from test_authz import documented_routes

HERE = os.path.dirname(os.path.abspath(__file__))
VALIDATOR = os.path.join(HERE, "..", "openapi", "validate.js")
METRICS_TOKEN = "metrics-secret-0123456789"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def promtool_check(text):
    """`promtool check metrics` must accept the exposition (exit 0: parsed, no lint)."""
    tool = shutil.which("promtool")
    assert tool, "promtool is not installed (./build.sh test installs Debian's prometheus)"
    p = subprocess.run([tool, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=scaled(30))
    assert p.returncode == 0, \
        f"promtool check metrics: exit {p.returncode}: {p.stdout!r} {p.stderr!r}"


def parse(text):
    """{(name, frozenset(labels)): value}, strictly: every line is a comment or a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = {}
        if m.group(3):
            rest = m.group(3)
            pos = 0
            while pos < len(rest):
                lm = LABEL.match(rest, pos)
                assert lm, f"bad labels in {line!r}"
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        key = (m.group(1), frozenset(labels.items()))
        assert key not in out, f"duplicate series {line!r}"
        out[key] = float(m.group(4))
    return out


def val(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


def scrape(s, **kw):
    r = s.req("GET", "/api/v1/metrics", raw=True, **kw)
    assert r.status == 200, r.describe()
    assert r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), \
        dict(r.headers)
    text = r.body.decode("utf-8")
    promtool_check(text)
    return text, parse(text)


def check_histograms(m):
    """Every histogram series: buckets cumulative, +Inf == _count."""
    buckets = {}
    for (name, labels), v in m.items():
        if name.endswith("_bucket"):
            d = dict(labels)
            le = d.pop("le")
            base = (name[:-len("_bucket")], frozenset(d.items()))
            buckets.setdefault(base, []).append((float(le), v))
    assert buckets, "no histogram in /metrics"
    for (base, labels), bs in buckets.items():
        bs.sort()
        counts = [v for _, v in bs]
        assert counts == sorted(counts), f"{base}{dict(labels)}: buckets not cumulative {bs}"
        assert bs[-1][0] == float("inf"), f"{base}: no +Inf bucket"
        assert m[(base + "_count", labels)] == bs[-1][1], f"{base}{dict(labels)}: count != +Inf"


def test_metrics_after_a_workload():
    s = Server(env={"BATCHBOX_METRICS_TOKEN": METRICS_TOKEN,
                    "BATCHBOX_AUTH_REGISTRATION": "open"}, workers=2)
    user = s.register("user@example.com", "user-password-1").body["accessToken"]

    # who may read it
    r = s.req("GET", "/api/v1/metrics", auth=False)
    assert r.status == 401 and r.body["error"] == "unauthorized", r.describe()
    assert (r.headers.get("WWW-Authenticate") or "").startswith("Bearer"), dict(r.headers)
    for bad in ("wrong", METRICS_TOKEN + "x", METRICS_TOKEN[:-1], ""):
        r = s.req("GET", "/api/v1/metrics", token=bad or None, auth=False,
                  headers={"Authorization": f"Bearer {bad}"})
        assert r.status == 401, f"token {bad!r}: {r.describe()}"
    r = s.req("GET", "/api/v1/metrics", token=user)
    assert r.status == 403 and r.body["error"] == "forbidden", r.describe()
    scrape(s)                                          # the admin
    scrape(s, auth=False, token=METRICS_TOKEN)         # the metrics token
    r = s.req("GET", "/metrics", auth=False, headers={"Authorization": f"bearer {METRICS_TOKEN}"},
              raw=True)
    assert r.status == 200, r.describe()               # unprefixed, scheme case-insensitive

    _, before = scrape(s, auth=False, token=METRICS_TOKEN)
    check_histograms(before)

    # the workload: N noop jobs and one command job, 404s on a route and on no route
    n = 7
    jobs = [s.submit(preset="noop") for _ in range(n)] + [s.submit(preset="echo")]
    for j in jobs:
        assert s.wait_terminal(j)["state"] == "succeeded", s.job(j)
    for _ in range(3):
        assert s.req("GET", "/api/v1/jobs/987654").status == 404
    for _ in range(2):
        assert s.req("GET", "/api/v1/no-such-thing").status == 404
    assert s.req("POST", "/api/v1/jobs", {"preset": "nope"}).status == 400
    stream = SSEClient(s.port, "/api/v1/jobs/events",
                       {"Authorization": f"Bearer {s.token}"}).start()
    try:
        assert stream.wait_headers() == 200
        wait_until(lambda: val(scrape(s)[1], "batchbox_sse_subscribers") == 1, 5,
                   what="batchbox_sse_subscribers == 1")
    finally:
        stream.close()
    wait_until(lambda: val(scrape(s)[1], "batchbox_sse_subscribers") == 0, 5,
               what="batchbox_sse_subscribers back to 0")

    text, after = scrape(s, auth=False, token=METRICS_TOKEN)
    check_histograms(after)

    def grew(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)

    req = "batchbox_http_requests_total"
    assert grew(req, route="/jobs", method="POST", status="202") == n + 1, text
    assert grew(req, route="/jobs", method="POST", status="400") == 1, text
    assert grew(req, route="/jobs/:id", method="GET", status="404") == 3, text
    assert grew(req, route="unmatched", method="GET", status="404") == 2, text
    assert grew("batchbox_http_request_duration_seconds_count", route="/jobs",
                method="POST") == n + 2, text
    # the scrape before is counted once it answered; this one is not yet
    assert grew(req, route="/metrics", method="GET", status="200") >= 1, text
    jd = "batchbox_job_duration_seconds_count"
    assert grew(jd, preset="noop", outcome="succeeded") == n, text
    assert grew(jd, preset="echo", outcome="succeeded") == 1, text
    assert grew("batchbox_jobs", state="succeeded") == n + 1, text
    assert val(after, "batchbox_jobs", state="queued") == 0, text
    assert val(after, "batchbox_queue_depth") == 0, text
    assert grew("batchbox_event_bus_published_total") >= 2 * (n + 1), text
    assert val(after, "batchbox_event_bus_drops_total") == 0, text
    assert val(after, "batchbox_worker_threads", state="busy") + \
        val(after, "batchbox_worker_threads", state="idle") == 2, text
    assert val(after, "process_resident_memory_bytes") > 1 << 20, text
    assert val(after, "process_open_fds") >= 3, text
    assert ("batchbox_sqlite_checkpoints_total", frozenset()) in after, text
    wal = os.path.join(s.data, "batchbox.db-wal")
    if os.path.exists(wal):
        assert val(after, "batchbox_sqlite_wal_bytes") > 0, text
    assert val(after, "batchbox_build_info", version=s.call("GET", "/api/v1/health")["version"]) == 1


def test_wal_checkpoints_are_counted():
    """Enough writes to pass SQLite's 1000-page auto-checkpoint: the counter moves."""
    s = Server()
    _, before = scrape(s)
    pad = "x" * 3000
    for i in range(0, 400):
        s.submit(preset="noop", params={"pad": pad, "i": str(i)})
    wait_until(lambda: val(scrape(s)[1], "batchbox_jobs", state="succeeded") == 400, 60,
               interval=0.2, what="400 jobs succeeded")
    _, after = scrape(s)
    assert after[("batchbox_sqlite_checkpoints_total", frozenset())] > \
        before[("batchbox_sqlite_checkpoints_total", frozenset())], after
    assert val(after, "batchbox_sqlite_checkpoint_errors_total") == 0


def test_metrics_without_a_token_are_admin_only():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    user = s.register("user@example.com", "user-password-1").body["accessToken"]
    scrape(s)
    assert s.req("GET", "/api/v1/metrics", token=user).status == 403
    for hdr in ("Bearer ", "Bearer x", "Basic YTpi"):
        r = s.req("GET", "/api/v1/metrics", auth=False, headers={"Authorization": hdr})
        assert r.status == 401, f"{hdr!r}: {r.describe()}"


# ---- OpenAPI --------------------------------------------------------------------------------

def _validate_with_node(doc):
    node = shutil.which("node")
    assert node, "node is not installed (./build.sh test installs it)"
    assert os.path.isdir(os.path.join(HERE, "..", "openapi", "node_modules")), \
        "tests/openapi/node_modules is missing: run ./build.sh test (npm ci --prefix tests/openapi)"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        path = f.name
    try:
        p = subprocess.run([node, VALIDATOR, path], capture_output=True, timeout=scaled(60))
    finally:
        os.unlink(path)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def _doc_routes(doc):
    routes = set()
    for path, item in doc["paths"].items():
        for method in item:
            routes.add((method.upper(), re.sub(r"\{([a-zA-Z]+)\}", r":\1", path)))
    return routes


def test_openapi_document_is_valid_and_matches_the_route_table():
    s = Server()
    r = s.req("GET", "/api/v1/openapi.json", auth=False)
    assert r.status == 200, r.describe()
    doc = r.body
    assert doc["openapi"].startswith("3.1"), doc.get("openapi")
    rc, out = _validate_with_node(doc)
    assert rc == 0, f"the OpenAPI validator refused the document: {out}"
    assert "valid OpenAPI 3.1" in out, out
    # the validator really validates: a broken copy is refused
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/jobs"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"]["$ref"] = "#/components/schemas/NoSuchSchema"
    rc, out = _validate_with_node(broken)
    assert rc != 0, f"a dangling $ref passed validation: {out}"

    documented = documented_routes()
    described = _doc_routes(doc)
    assert described == documented, \
        (f"OpenAPI vs docs/api.md: only in OpenAPI {sorted(described - documented)}, "
         f"only in docs {sorted(documented - described)}")
    schemas = doc["components"]["schemas"]
    assert schemas["Job"]["required"] == DTO_KEYS
    assert set(schemas["Job"]["properties"]) == set(DTO_KEYS)
    assert set(doc["components"]["securitySchemes"]) >= {"bearerAuth", "cookieAuth",
                                                         "metricsToken"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("operationId"), where
            assert "500" in op["responses"], where
            for name in re.findall(r"\{([a-zA-Z]+)\}", path):
                assert any(p["in"] == "path" and p["name"] == name and p["required"]
                           for p in op.get("parameters", [])), f"{where}: no parameter {name}"
            if op["security"] != []:
                assert "401" in op["responses"], where
    assert doc["paths"]["/metrics"]["get"]["security"] == \
        [{"bearerAuth": []}, {"cookieAuth": []}, {"metricsToken": []}]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    assert doc["paths"]["/auth/login"]["post"]["security"] == []
    assert "403" in doc["paths"]["/admin/users"]["get"]["responses"]
    # the unprefixed path answers too, with the same document
    assert s.call("GET", "/openapi.json", auth=False) == doc


def _send(port, method, path, body, token, ctype=None):
    """One request; an event stream's body is not read. Returns the status."""
    hdrs = {"Authorization": f"Bearer {token}"}
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
        if not (resp.getheader("Content-Type") or "").startswith("text/event-stream"):
            resp.read()
        return resp.status
    finally:
        conn.close()


def test_every_documented_route_answers_at_its_documented_path():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    doc = s.call("GET", "/api/v1/openapi.json")
    job = s.submit(preset="cat", md="a.md")
    assert s.wait_terminal(job)["state"] == "succeeded"
    other = s.register("someone@example.com", "someone-password-1").body["user"]["id"]
    up = s.req("POST", "/api/v1/uploads?filename=n.md", b"# n\n",
               headers={"Content-Type": "text/markdown"})
    assert up.status == 201, up.describe()
    tpl = s.call("POST", "/api/v1/presets/cat/templates", {"name": "t", "params": {}},
                 expect=201)["id"]
    sched = s.call("POST", "/api/v1/schedules",
                   {"name": "s", "cron": "0 0 1 1 *", "job": {"preset": "noop"}},
                   expect=201)["scheduleId"]
    key = s.call("POST", "/api/v1/user/api-keys", {"name": "k", "scope": "read"},
                 expect=201)["id"]
    # a ComfyUI server nothing listens for (a check of it fails fast: status down)
    s.call("POST", "/api/v1/comfyui/servers", {"id": "docs", "url": "http://127.0.0.1:9"},
           expect=201)
    ids = {"/comfyui/servers/": "docs",
           "/jobs/": job, "/files/": up.body["fileId"], "/admin/users/": other,
           "/presets/": "cat", "/templates/": tpl, "/schedules/": sched, "/user/api-keys/": key}
    bodies = {
        ("POST", "/jobs"): {"preset": "noop"},
        ("POST", "/jobs/:id/actions"): {"type": "edit_metadata", "payload": {"preset": "cat"}},
        ("POST", "/auth/register"): {"email": "new@example.com", "password": "new-password-1"},
        ("POST", "/auth/login"): {"email": "someone@example.com",
                                  "password": "someone-password-1"},
        ("POST", "/auth/refresh"): {"refreshToken": s.session(
            "someone@example.com", "someone-password-1")["refreshToken"]},
        ("PATCH", "/user/profile"): {"name": "Admin"},
        ("PATCH", "/admin/users/:id"): {"disabled": False},
        ("POST", "/uploads"): b"# another\n",
        ("POST", "/presets/:id/templates"): {"name": "u", "params": {}},
        ("POST", "/schedules"): {"name": "t", "cron": "0 0 1 1 *", "job": {"preset": "noop"}},
        ("PATCH", "/schedules/:id"): {"enabled": False},
        ("POST", "/user/api-keys"): {"name": "k2", "scope": "read"},
        ("POST", "/comfyui/servers"): {"id": "docs2", "url": "http://127.0.0.1:9"},
        ("PATCH", "/comfyui/servers/:id"): {"slots": 2},
    }
    base = doc["servers"][0]["url"]
    ops = [(m.upper(), p) for p, item in doc["paths"].items() for m in item]
    # what ends the session or deletes goes last
    ops.sort(key=lambda mp: (mp[1] == "/auth/logout", mp[0] == "DELETE"))
    failures = []
    for method, path in ops:
        concrete = path
        for prefix, value in ids.items():
            if path.startswith(prefix):
                concrete = path.replace("{id}", value, 1)
        concrete = concrete.replace("{name}", "copy.txt").replace("{n}", "1")
        assert "{" not in concrete, f"no value for a parameter of {path}"
        pattern = re.sub(r"\{([a-zA-Z]+)\}", r":\1", path)
        body = bodies.get((method, pattern))
        query = "?filename=another.md" if pattern == "/uploads" else ""
        status = _send(s.port, method, base + concrete + query, body, s.token,
                       "text/markdown" if isinstance(body, bytes) else None)
        if status in (404, 405) or status >= 500:
            failures.append(f"{method} {base}{concrete}: {status}")
    assert not failures, "documented routes that do not answer:\n  " + "\n  ".join(failures)

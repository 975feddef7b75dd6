"""Basic routing, health, request ids, start-up and /config/job-options."""

import json
import os
import socket
import time

from harness import Server, assert_error, default_presets


def test_health_both_prefixes():
    s = Server()
    for path in ("/api/v1/health", "/health"):
        r = s.req("GET", path)
        assert r.status == 200, r.describe()
        assert "application/json" in r.headers.get("Content-Type", ""), r.describe()
        assert r.body.get("status") == "ok", r.describe()
        assert r.body.get("db") == "ok", r.describe()
        assert isinstance(r.body.get("version"), str) and r.body["version"], r.describe()


def test_start_creates_data_layout_and_reads_config_flag():
    s = Server(config_via_flag=True, start=False)
    # The data directory does not exist yet: the server must create it.
    os.rmdir(s.data)
    s.start()
    assert os.path.isfile(os.path.join(s.data, "batchbox.db")), "no DATA/batchbox.db"
    assert os.path.isdir(os.path.join(s.data, "artifacts")), "no DATA/artifacts/"
    # --config FILE was used: the echo preset from it is known.
    opts = s.call("GET", "/api/v1/config/job-options")
    assert "echo" in [p.get("id") for p in opts["presets"]], opts["presets"]


def test_default_config_without_file():
    s = Server(config=None)
    opts = s.call("GET", "/api/v1/config/job-options")
    ids = [p.get("id") for p in opts["presets"]]
    assert "noop" in ids and "wordcount" in ids, f"default presets: {ids}"
    jid = s.submit(preset="noop")
    assert s.wait_terminal(jid)["state"] == "succeeded"


def test_config_unknown_key_refuses_to_start():
    s = Server(start=False)
    cfg = s.default_config(bogusKey=1)
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    rc = s.start(expect_fail=True)
    assert rc != 0, "server started with an unknown config key"
    assert "bogusKey" in s.stderr_text() + s.stdout_since_start(), \
        "start-up error does not name the unknown key:\n" + s.stderr_tail()


def test_config_bad_value_refuses_to_start():
    bad = default_presets()
    bad[0] = {"id": "noop", "workflow": "teleport"}
    s = Server(start=False)
    with open(s.config_path, "w") as f:
        json.dump(s.default_config(presets=bad), f)
    rc = s.start(expect_fail=True)
    assert rc != 0, "server started with workflow \"teleport\""
    out = s.stderr_text() + s.stdout_since_start()
    assert "workflow" in out, "start-up error does not name the bad key:\n" + s.stderr_tail()


def test_request_id_on_every_response():
    s = Server()
    seen = set()
    cases = [("GET", "/api/v1/health", None, {}, 200),
             ("GET", "/api/v1/nope", None, {}, 404),
             ("DELETE", "/api/v1/health", None, {}, 405),
             ("POST", "/api/v1/jobs", "{not json", {}, 400),
             ("POST", "/api/v1/jobs", {"preset": "noop"}, {}, 202),
             ("GET", "/api/v1/jobs/999999", None, {}, 404),
             ("POST", "/api/v1/jobs", "x", {"Content-Type": "text/plain"}, 415),
             ("GET", "/api/v1/config/job-options", None, {}, 200)]
    for method, path, body, hdrs, want in cases:
        r = s.req(method, path, body, hdrs)
        assert r.status == want, f"expected {want}: {r.describe()}"
        rid = r.headers.get("X-Request-Id")
        assert rid, f"no X-Request-Id: {r.describe()} headers={dict(r.headers)}"
        assert rid not in seen, f"X-Request-Id {rid!r} repeated"
        seen.add(rid)


def test_unprefixed_paths_are_the_same_api():
    s = Server()
    jid = s.call("POST", "/jobs", {"preset": "noop"}, expect=202)["jobId"]
    a = s.wait_terminal(jid)
    b = s.call("GET", f"/jobs/{jid}")
    assert a["jobId"] == b["jobId"] == jid and b["state"] == "succeeded", (a, b)
    lst = s.call("GET", "/jobs?limit=5")
    assert jid in [i["jobId"] for i in lst["items"]], lst
    opts = s.call("GET", "/config/job-options")
    assert opts["presets"], opts
    s.call("GET", f"/jobs/{jid}/logs")
    s.call("GET", f"/jobs/{jid}/artifacts")


def test_unknown_route_is_404_json():
    s = Server()
    for path in ("/api/v1/nope", "/api/v1/jobs/1/nope", "/api/v2/jobs", "/api/v1/jobs/1/2/3",
                 "/nope/nope"):
        r = s.req("GET", path)
        assert_error(r, 404, "not_found")


def test_wrong_method_is_405_json():
    s = Server()
    jid = s.submit(preset="noop")
    for method, path in (("DELETE", "/api/v1/health"), ("PUT", "/api/v1/jobs"),
                         ("POST", "/api/v1/health"), ("DELETE", f"/api/v1/jobs/{jid}"),
                         ("GET", f"/api/v1/jobs/{jid}/actions"),
                         ("POST", "/api/v1/config/job-options"), ("PATCH", "/jobs")):
        body = {} if method in ("PUT", "POST", "PATCH") else None
        r = s.req(method, path, body)
        assert_error(r, 405, "method_not_allowed")


def test_405_carries_allow_header():
    # RFC 9110 15.5.6: a 405 response MUST include Allow.
    s = Server()
    r = s.req("DELETE", "/api/v1/jobs")
    assert r.status == 405, r.describe()
    allow = r.headers.get("Allow", "")
    assert "GET" in allow and "POST" in allow, f"Allow header {allow!r} on {r.describe()}"


def _ids(items):
    return [i["id"] if isinstance(i, dict) else i for i in items]


def test_job_options():
    s = Server()
    r = s.req("GET", "/api/v1/config/job-options")
    assert r.status == 200, r.describe()
    assert r.headers.get("Cache-Control", "").replace(" ", "") == "private,max-age=60", \
        f"Cache-Control: {r.headers.get('Cache-Control')!r}"
    b = r.body
    for k in ("presets", "voices", "voiceAccents", "notionDatabases", "uploadOptions", "modes",
              "supportedActions", "limits"):
        assert k in b, f"job-options lacks {k!r}: {list(b)}"
    ids = [p.get("id") for p in b["presets"]]
    assert ids == [p["id"] for p in default_presets()], f"preset ids {ids}"
    for p in b["presets"]:
        assert isinstance(p.get("label"), str) and p["label"], f"preset without label: {p}"
        assert p.get("workflow") in ("noop", "command", "lesson"), f"preset workflow: {p}"
    assert {"auto", "none"} <= set(_ids(b["uploadOptions"])), b["uploadOptions"]
    assert {"auto", "dialogue", "monologue"} <= set(_ids(b["modes"])), b["modes"]
    acts = {a.get("type"): a for a in b["supportedActions"]}
    assert set(acts) == {"rerun_audio", "cancel", "edit_metadata", "retry", "rebuild",
                         "move-to-front"}, list(acts)
    for t, a in acts.items():
        for k in ("type", "label", "description", "requiresFields", "implemented"):
            assert k in a, f"action {t} lacks {k!r}: {a}"
        assert isinstance(a["implemented"], bool), a
        assert isinstance(a["requiresFields"], list), a
    assert acts["cancel"]["implemented"] is True
    assert acts["retry"]["implemented"] is True
    assert acts["edit_metadata"]["implemented"] is True
    # every action is implemented (tests/api/test_lesson.py drives rerun_audio)
    assert acts["rerun_audio"]["implemented"] is True, acts["rerun_audio"]
    assert isinstance(b["limits"], dict), b["limits"]
    lim = json.dumps(b["limits"])
    assert "65536" in lim, f"limits should reflect maxBodyBytes 65536: {lim}"


def test_job_options_reflect_voices_and_databases():
    s = Server(start=False)
    cfg = s.default_config(
        voices=[{"id": "en-gb-m1", "label": "British male", "accent": "british_male",
                 "provider": "espeak", "providerVoice": "en-gb"}],
        notionDatabases=[{"id": "db-1", "name": "B1 Lessons"}])
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    b = s.call("GET", "/api/v1/config/job-options")
    assert "en-gb-m1" in json.dumps(b["voices"]), b["voices"]
    assert "british_male" in json.dumps(b["voiceAccents"]), b["voiceAccents"]
    assert "db-1" in json.dumps(b["notionDatabases"]), b["notionDatabases"]
    # Accepted on submit now, and echoed in the DTO.
    jid = s.submit(preset="noop", voiceAccent="british_male", notionDatabase="db-1")
    dto = s.wait_terminal(jid)
    assert dto["voiceAccent"] == "british_male" and dto["notionDatabase"] == "db-1", dto
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "noop", "voiceAccent": "martian"}),
                 400, "invalid", "voiceAccent")
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "noop", "notionDatabase": "db-2"}),
                 400, "invalid", "notionDatabase")


def test_rerun_audio_needs_a_lesson_job():
    s = Server()
    jid = s.submit(preset="noop")
    s.wait_terminal(jid)
    r = s.req("POST", f"/api/v1/jobs/{jid}/actions", {"type": "rerun_audio", "payload": {}})
    assert_error(r, 422, "invalid_state")
    assert "lesson" in r.body["message"], r.body


def test_security_headers_everywhere():
    s = Server()
    jid = s.submit(preset="echo")
    s.wait_terminal(jid)
    for method, path, body in (("GET", "/api/v1/health", None), ("GET", "/api/v1/nope", None),
                               ("POST", "/api/v1/jobs", "{x"), ("GET", f"/api/v1/jobs/{jid}", None),
                               ("GET", f"/api/v1/jobs/{jid}/logs", None),
                               ("DELETE", "/api/v1/health", None)):
        r = s.req(method, path, body)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", \
            f"{method} {path}: X-Content-Type-Options {r.headers.get('X-Content-Type-Options')!r}"
        assert r.headers.get("Referrer-Policy"), f"{method} {path}: no Referrer-Policy"
        fo = (r.headers.get("X-Frame-Options") or "").upper()
        csp = r.headers.get("Content-Security-Policy") or ""
        assert fo == "DENY" or "frame-ancestors 'none'" in csp, \
            f"{method} {path}: no frame denial ({fo!r}, {csp!r})"
    c = s.sse()
    assert c.wait_headers() == 200
    assert c.resp_headers.get("x-content-type-options") == "nosniff", c.resp_headers
    c.close()


def _raw_get(port, version, timeout=5.0):
    """One GET /api/v1/health over a raw socket; returns (socket, head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(f"GET /api/v1/health HTTP/{version}\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before the head: {data!r}"
        data += chunk
    return sock, data.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def test_keep_alive_timeout_is_advertised_and_kept():
    # A client that reuses an idle connection longer than the server keeps
    # it sends its next request into a closing socket; the header tells it
    # when to stop, and the server must really keep the connection that long.
    s = Server()
    sock, head = _raw_get(s.port, "1.1")
    lines = [h.lower() for h in head.split("\r\n")[1:]]
    assert "keep-alive: timeout=2" in lines, head
    time.sleep(1.0)  # well inside the advertised idle time: still usable
    sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(64).startswith(b"HTTP/1.1 200"), "connection not usable within the advertised time"
    # and the server closes it after the advertised time (bounded wait)
    sock.settimeout(10.0)
    rest = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
    except socket.timeout:
        raise AssertionError("idle connection still open 10 s after the advertised 2 s")
    sock.close()
    # HTTP/1.0 without keep-alive is closed after the reply: no hint
    sock, head = _raw_get(s.port, "1.0")
    sock.close()
    assert "keep-alive:" not in head.lower(), head

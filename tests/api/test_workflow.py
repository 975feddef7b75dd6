"""The command workflow: logs, artifacts, placeholders, streaming logs."""

import hashlib
import http.client
import json
import os

from harness import Server, assert_error, scaled, wait_until


def test_echo_logs_stdout_and_stderr():
    s = Server()
    jid = s.submit(preset="echo")
    dto = s.wait_terminal(jid)
    assert dto["state"] == "succeeded", dto
    r = s.req("GET", f"/api/v1/jobs/{jid}/logs")
    assert r.status == 200, r.describe()
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    lines = r.raw.decode().splitlines()
    assert "hello" in lines, f"stdout line missing: {lines}"
    assert jid in lines, f"stderr line with the jobId missing: {lines}"
    assert r.headers.get("X-Request-Id")


def test_cat_artifact_listed_and_downloadable():
    s = Server()
    src = os.path.join(s.inputs, "bin.dat")
    data = open(src, "rb").read()
    jid = s.submit(preset="cat", md="bin.dat")
    dto = s.wait_terminal(jid)
    assert dto["state"] == "succeeded", dto
    body = s.call("GET", f"/api/v1/jobs/{jid}/artifacts")
    items = {i["name"]: i for i in body["items"]}
    assert "copy.txt" in items, f"artifacts: {body}"
    a = items["copy.txt"]
    for k in ("name", "size", "contentType", "sha256", "url"):
        assert k in a, f"artifact lacks {k}: {a}"
    assert a["size"] == len(data), a
    assert a["sha256"] == hashlib.sha256(data).hexdigest(), a
    assert a["url"] == f"/api/v1/jobs/{jid}/artifacts/copy.txt", a
    assert a["contentType"].startswith("text/plain"), a
    r = s.req("GET", a["url"], raw=True)
    assert r.status == 200, r.describe()
    assert r.body == data, f"downloaded {len(r.body)} bytes differ from the source"
    # served with the type of its bytes (issue 17): copy.txt holds binary data
    assert r.headers.get("Content-Type", "") == "application/octet-stream", dict(r.headers)
    etag = r.headers.get("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"'), f"ETag: {etag!r}"
    assert s.req("GET", a["url"], raw=True).headers.get("ETag") == etag, "ETag not stable"
    # Unprefixed path too.
    r2 = s.req("GET", f"/jobs/{jid}/artifacts/copy.txt", raw=True)
    assert r2.status == 200 and r2.body == data, r2.describe()


def test_cat_absolute_and_nested_md():
    s = Server()
    for md, name in ((os.path.join(s.inputs, "a.md"), "a.md"), ("sub/c.md", "sub/c.md"),
                     ("./sub/../a.md", "a.md")):
        jid = s.submit(preset="cat", md=md)
        dto = s.wait_terminal(jid)
        assert dto["state"] == "succeeded", (md, dto)
        got = s.call("GET", f"/api/v1/jobs/{jid}/artifacts/copy.txt", raw=True)
        assert got == open(os.path.join(s.inputs, name), "rb").read(), md


def test_artifact_bad_names_404():
    s = Server()
    jid = s.submit(preset="cat", md="a.md")
    s.wait_terminal(jid)
    for name in ("nope.txt", "..", "..%2Fbatchbox.db", "%2e%2e%2f%2e%2e%2fbatchbox.db",
                 "a%2Fb", "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "copy.txt%00", "%2Fetc%2Fpasswd"):
        r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/{name}", raw=True)
        assert r.status == 404, f"artifact name {name!r}: {r.status} {r.raw[:100]!r}"
    # Another job's artifact is not reachable through this job.
    other = s.submit(preset="noop")
    s.wait_terminal(other)
    r = s.req("GET", f"/api/v1/jobs/{other}/artifacts/copy.txt")
    assert r.status == 404, r.describe()
    assert s.call("GET", f"/api/v1/jobs/{other}/artifacts") == {"items": []}


def test_param_substitution_without_shell():
    s = Server()
    tricky = "world; echo INJECTED $(id) `id` {jobId}"
    jid = s.submit(preset="param", params={"name": tricky})
    dto = s.wait_terminal(jid)
    assert dto["state"] == "succeeded", dto
    lines = s.logs(jid).splitlines()
    assert lines == [tricky], f"echo {{param.name}} printed {lines}"


def test_md_required_for_input_preset():
    s = Server()
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "cat"}), 400, "invalid", "md")


def test_logs_follow_streams_until_terminal():
    s = Server(start=False)
    cfg = s.default_config()
    cfg["presets"].append({"id": "drip", "workflow": "command", "maxAttempts": 1,
                           "argv": ["sh", "-c", "echo one; sleep 1.5; echo two"]})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    jid = s.submit(preset="drip")
    s.wait_state(jid, "running")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=scaled(15))
    conn.request("GET", f"/api/v1/jobs/{jid}/logs?follow=1", headers=s.auth_headers())
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    first = resp.readline()
    logs_at_first = s.logs(jid)
    rest = resp.read()
    conn.close()
    assert first == b"one\n", f"first streamed line {first!r}"
    assert "two" not in logs_at_first, \
        "the first line arrived only after the second was printed: not streamed"
    assert rest.decode().split() == ["two"], f"rest of the stream: {rest!r}"
    assert s.job(jid)["state"] == "succeeded"
    # follow=1 on a finished job returns everything and ends.
    r = s.req("GET", f"/api/v1/jobs/{jid}/logs?follow=1", timeout=5)
    assert r.status == 200 and r.raw.decode().split() == ["one", "two"], r.describe()


def test_lone_log_line_visible_while_running():
    """A single output line followed by silence must show up while the command runs: in
    /logs, in job_log events and in ?follow=1 (docs/api.md: streamed live)."""
    s = Server(presets_extra=[{"id": "lone", "workflow": "command", "maxAttempts": 1,
                               "argv": ["sh", "-c", "echo only-line; exec sleep 30"]}])
    ev = s.sse("/api/v1/jobs/events?logs=1")
    assert ev.wait_headers() == 200
    jid = s.submit(preset="lone")
    s.wait_state(jid, "running")
    try:
        ev.wait_for(lambda evs: [e for e in evs if e.event == "job_log" and e.job_id == jid],
                    3, what="the job_log event of a lone line while the job runs")
        wait_until(lambda: "only-line" in s.logs(jid), 3, what="the lone line in /logs")
        assert s.job(jid)["state"] == "running"
    finally:
        s.action(jid, "cancel")
        s.wait_state(jid, "canceled")
        ev.close()


def test_log_lines_exact():
    s = Server(start=False)
    cfg = s.default_config()
    cfg["presets"].append({"id": "lines", "workflow": "command", "maxAttempts": 1,
                           "argv": ["sh", "-c",
                                    "printf 'a\\n\\nb b\\n'; printf 'tab\\there\\n' >&2; "
                                    "printf 'no newline at end'"]})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    jid = s.submit(preset="lines")
    assert s.wait_terminal(jid)["state"] == "succeeded"
    lines = s.logs(jid).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for want in ("a", "b b", "tab\there", "no newline at end"):
        assert want in lines, f"log line {want!r} missing from {lines}"


def test_command_not_found_fails_cleanly():
    s = Server(start=False)
    cfg = s.default_config()
    cfg["presets"].append({"id": "missing", "workflow": "command", "maxAttempts": 1,
                           "argv": ["/nonexistent/bin/tool", "{jobId}"]})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    jid = s.submit(preset="missing")
    dto = s.wait_terminal(jid)
    assert dto["state"] == "failed" and dto["error"], dto
    # The server keeps working.
    assert s.wait_terminal(s.submit(preset="noop"))["state"] == "succeeded"

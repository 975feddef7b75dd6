"""What makes a request cheap must not change what it does (docs/architecture.md,
"Request cost"). The per-thread cache of verified access tokens: a token checked on a
keep-alive connection is answered from the cache afterwards, yet every change made through
the server (logout, refresh-token reuse, password change, disable, demotion) is refused on
that very connection at once, and a change made by the offline CLI on the same database
within the cache's bound (one second). The batched access log: every request still gets
its line, in order with the other lines, and none is lost when the server stops."""

import json
import subprocess

import harness
from harness import Client, Server, assert_error, wait_until

OPEN = {"BATCHBOX_AUTH_REGISTRATION": "open"}


def _warm(client, n=5):
    """n requests on one keep-alive connection, so its thread has the token cached."""
    for _ in range(n):
        r = client.req("GET", "/api/v1/auth/me")
        assert r.status == 200, r.describe()
    return r.body


def _keepalive(s, token):
    return Client(s.port, token=token)


def test_revocations_through_the_server_apply_at_once_on_a_warm_connection():
    s = Server(env=OPEN)
    email, pw = "dora@example.com", "dora-password-1"
    s.register(email, pw)

    # logout from another connection
    tok = s.session(email, pw)["accessToken"]
    c = _keepalive(s, tok)
    _warm(c)
    assert s.req("POST", "/api/v1/auth/logout", token=tok).status == 204
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.close()

    # refresh-token reuse revokes the session, and its access token dies at once
    sess = s.session(email, pw)
    c = _keepalive(s, sess["accessToken"])
    _warm(c)
    r = s.req("POST", "/api/v1/auth/refresh", {"refreshToken": sess["refreshToken"]}, auth=False)
    assert r.status == 200, r.describe()
    r = s.req("POST", "/api/v1/auth/refresh", {"refreshToken": sess["refreshToken"]}, auth=False)
    assert_error(r, 401, "unauthorized")
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.close()

    # a password change ends the other sessions
    tok = s.session(email, pw)["accessToken"]
    other = s.session(email, pw)["accessToken"]
    c = _keepalive(s, tok)
    _warm(c)
    r = s.req("PATCH", "/api/v1/user/profile",
              {"password": "dora-password-2", "currentPassword": pw}, token=other)
    assert r.status == 200, r.describe()
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.close()
    pw = "dora-password-2"

    # disable by an admin
    tok = s.session(email, pw)["accessToken"]
    c = _keepalive(s, tok)
    uid = _warm(c)["id"]
    r = s.req("PATCH", f"/api/v1/admin/users/{uid}", {"disabled": True})
    assert r.status == 200, r.describe()
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.close()
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"disabled": False}).status == 200

    # promotion and demotion change what a warm token may do at once
    tok = s.session(email, pw)["accessToken"]
    c = _keepalive(s, tok)
    _warm(c)
    assert_error(c.req("GET", "/api/v1/admin/users"), 403, "forbidden")
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"role": "admin"}).status == 200
    assert c.req("GET", "/api/v1/admin/users").status == 200
    assert c.req("GET", "/api/v1/admin/users").status == 200
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"role": "user"}).status == 200
    assert_error(c.req("GET", "/api/v1/admin/users"), 403, "forbidden")
    c.close()

    # a junk token on a warm connection is still refused, and the right token still works
    c = _keepalive(s, s.token)
    _warm(c)
    c.token = s.token[:-2] + ("AA" if not s.token.endswith("AA") else "BB")
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.token = s.token
    assert c.req("GET", "/api/v1/auth/me").status == 200
    c.close()


def test_a_cli_disable_on_the_same_database_is_seen_within_the_bound():
    s = Server(env=OPEN)
    email, pw = "eve@example.com", "eve-password-1"
    s.register(email, pw)
    tok = s.session(email, pw)["accessToken"]
    c = _keepalive(s, tok)
    _warm(c)
    p = subprocess.run([harness.BIN, "user", "disable", email, "--data", s.data],
                       capture_output=True, text=True, timeout=harness.scaled(20))
    assert p.returncode == 0, p.stderr
    # another process wrote the change: the cache may answer for at most one second
    wait_until(lambda: c.req("GET", "/api/v1/auth/me").status == 401, timeout=5,
               interval=0.05, what="the CLI's disable to reach a warm keep-alive connection")
    assert_error(c.req("GET", "/api/v1/auth/me"), 401, "unauthorized")
    c.close()


def _request_lines(s):
    out = {}
    for line in s.stderr_text().splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("msg") == "request":
            out[o["requestId"]] = o
    return out


def test_every_request_has_its_access_line_even_right_before_a_stop():
    s = Server()
    c = s.client()
    ids = []
    for i in range(40):
        r = c.req("GET", "/api/v1/jobs/987654" if i % 2 else "/api/v1/auth/me")
        assert r.status in (200, 404), r.describe()
        ids.append((r.headers["X-Request-Id"], r.status))
    wait_until(lambda: all(rid in _request_lines(s) for rid, _ in ids), timeout=10,
               what="an access line for each request")
    lines = _request_lines(s)
    for rid, status in ids:
        o = lines[rid]
        assert o["status"] == str(status) and o["method"] == "GET", o
        assert o["level"] == "info" and float(o["durationMs"]) >= 0, o
        ms = o["durationMs"].split(".")
        assert len(ms) == 2 and len(ms[1]) == 3 and ms[0].isdigit(), o
        assert o["route"] in ("/jobs/:id", "/auth/me") and o["userId"].isdigit(), o
    # the last requests before SIGTERM are written by the exit path, not lost
    last = []
    for _ in range(5):
        r = c.req("GET", "/api/v1/auth/me")
        last.append(r.headers["X-Request-Id"])
    c.close()
    s.stop()
    lines = _request_lines(s)
    missing = [rid for rid in last if rid not in lines]
    assert not missing, f"access lines lost at stop: {missing}\n{s.stderr_tail()}"
    # order: the access lines come before the shutdown's own lines
    text = s.stderr_text().splitlines()
    pos = max(i for i, line in enumerate(text) if last[-1] in line)
    later = [json.loads(x).get("msg") for x in text[pos + 1:] if x.startswith("{")]
    assert later, "the server logged nothing after the last request line"


def test_submit_sees_an_upload_that_fills_the_quota_at_once():
    """The quota pre-check of a submit sees an upload that fills the quota at once, and
    the room a deleted upload gives back (the pre-check is on the request path: it must
    stay exact whatever makes it cheaper)."""
    quota = 100000
    s = Server(start=False)
    cfg = s.default_config()
    cfg["limits"]["userQuotaBytes"] = quota
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    for _ in range(3):                       # far below the quota
        s.submit(preset="noop")
    data = b"q" * (quota - 1) + b"\n"
    r = s.req("POST", "/api/v1/uploads?filename=fill.md", data,
              headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status == 201, r.describe()
    file_id = r.body["fileId"]
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"})
    assert_error(r, 413, "too_large")
    assert "quota" in r.body["message"], r.describe()
    # deleting the upload gives the room back at once too
    s.call("DELETE", f"/api/v1/files/{file_id}", expect=204)
    s.submit(preset="noop")

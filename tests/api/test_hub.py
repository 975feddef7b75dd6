"""The stream hub (docs/operations.md, "Live streams"): event streams and log follows are
held by the hub's epoll thread, not by civetweb threads.  Lifecycle (replay, live,
heartbeat, more streams than server threads), hang-ups free the slot at once, the per-user
limit, a stalled reader is dropped a ring behind and resumes, log follows stop when the
client goes, every session-ending event closes (or re-filters) its streams, HEAD holds
nothing.  Counts come from the server's own /metrics, never from long sleeps."""

import re
import socket

from harness import SSEClient, Server, assert_error, scaled, wait_until

OPEN = {"BATCHBOX_AUTH_REGISTRATION": "open"}
SLOW_LINES = {"id": "slowlines", "workflow": "command", "maxAttempts": 1,
              "argv": ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done"]}
FLOOD = {"id": "flood", "workflow": "command", "maxAttempts": 1, "timeoutSec": 120,
         "argv": ["sh", "-c", "yes \"$(printf '%03000d' 0)\" | head -n {param.n}"]}


def metric(s, name):
    r = s.req("GET", "/api/v1/metrics", raw=True)
    assert r.status == 200, r.describe()
    m = re.search(rf"^{name} (\S+)$", r.body.decode(), re.M)
    assert m, f"{name} missing from /metrics"
    return float(m.group(1))


def wait_metric(s, name, pred, timeout=5.0):
    wait_until(lambda: pred(metric(s, name)), scaled(timeout), interval=0.05,
               what=f"{name} to change")


def open_stream(s, path="/api/v1/jobs/events", token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    c = s.sse(path, headers, **kw)
    st = c.wait_headers()
    assert st == 200, f"GET {path}: {st} {c.body_if_error[:300]!r}"
    c.wait_for(lambda _e: c.items, 5, what="the retry: line")
    return c


def raw_get(s, path, token, method="GET"):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=scaled(5))
    sock.sendall((f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    return sock


def read_until(sock, pred, what):
    data = b""
    for _ in range(2000):
        if pred(data):
            return data
        b = sock.recv(65536)
        if not b:
            break
        data += b
    assert pred(data), f"{what}: got {data[-500:]!r}"
    return data


def read_to_eof(sock):
    data = b""
    for _ in range(10000):
        b = sock.recv(65536)
        if not b:
            return data
        data += b
    raise AssertionError("the stream did not end")


def user(s, email, password="password-of-" + "x" * 4):
    r = s.register(email, password)
    return r.body["user"]["id"], r.body["accessToken"], r.body["refreshToken"], password


def test_more_streams_than_server_threads_all_live_and_api_answers():
    # civetweb has 64 threads: 100 streams would have starved it before the hub
    s = Server(env={"BATCHBOX_EVENTS_MAX_PER_USER": "200",
                    "BATCHBOX_EVENTS_MAX_SUBSCRIBERS": "10000"})
    cs = [open_stream(s) for _ in range(100)]
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 100)
    assert s.req("GET", "/api/v1/health").status == 200
    jid = s.submit(preset="noop")
    for c in cs:
        c.wait_job_state(jid, "succeeded", timeout=15)
    assert metric(s, "batchbox_hub_streams_total") == 100
    for c in cs:
        c.close()
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 0)


def test_replay_then_live_then_heartbeat_through_the_hub():
    s = Server()
    first = s.submit(preset="noop")
    s.wait_terminal(first)
    c = s.sse(headers={"Last-Event-ID": "0"})
    assert c.wait_headers() == 200
    c.wait_job_state(first, "succeeded")            # replayed from the log
    second = s.submit(preset="noop")
    c.wait_job_state(second, "succeeded")           # live, written by the hub
    ids = [int(e.id) for e in c.snapshot()]
    assert ids == sorted(set(ids)), f"replay and live overlap or reorder: {ids}"
    n = len(c.comments)
    c.wait_for(lambda _e: len([x for x in c.comments[n:] if x.strip() == "hb"]) >= 1, 4,
               what="a heartbeat from the hub (heartbeatSec=1)")
    c.close()


def test_hangup_frees_the_slot_at_once():
    s = Server(env={"BATCHBOX_EVENTS_MAX_SUBSCRIBERS": "1"})
    c = open_stream(s)
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 1)
    extra = s.sse()
    assert extra.wait_headers() == 503
    extra.close()
    before = metric(s, "batchbox_hub_hangups_total")
    c.close()
    # noticed by EPOLLRDHUP, not by a heartbeat that fails later
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 0, timeout=2)
    assert metric(s, "batchbox_hub_hangups_total") == before + 1
    open_stream(s).close()


def test_per_user_limit_429_names_the_limit():
    s = Server(env=dict(OPEN, BATCHBOX_EVENTS_MAX_PER_USER="2"))
    _, tok, _, _ = user(s, "a@example.com")
    a = [open_stream(s, token=tok) for _ in range(2)]
    third = s.sse(headers={"Authorization": f"Bearer {tok}"})
    assert third.wait_headers() == 429, third.status
    third.wait_closed(5)
    assert b"events.maxPerUser" in third.body_if_error, third.body_if_error[-300:]
    third.close()
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"}, token=tok)
    assert r.status == 202, r.describe()
    r = s.req("GET", f"/api/v1/jobs/{r.body['jobId']}/logs?follow=1", token=tok)
    assert_error(r, 429)                            # log follows count too
    # other users are not affected
    other = open_stream(s)
    a[0].close()
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 2)
    a[0] = open_stream(s, token=tok)
    for c in a + [other]:
        c.close()


def test_stalled_reader_dropped_a_ring_behind_then_resumes():
    s = Server(presets_extra=[FLOOD], env={"BATCHBOX_EVENTS_RING_EVENTS": "256"})
    stalled = SSEClient(s.port, "/api/v1/jobs/events?logs=1", s.auth_headers(),
                        rcvbuf=2048, paused=True)
    stalled.start()
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 1)
    jobs = []
    for _round in range(6):
        jobs.append(s.submit(preset="flood", params={"n": "2000"}))
        s.wait_terminal(jobs[-1], timeout=60)
        if metric(s, "batchbox_hub_drops_total") >= 1:
            break
    assert metric(s, "batchbox_hub_drops_total") == 1, "the stalled reader was never dropped"
    assert metric(s, "batchbox_hub_subscribers") == 0
    stalled.resume()
    assert stalled.wait_closed(20), "dropped stream did not end for the client"
    got = stalled.snapshot()
    last = stalled.last_event_id or "0"
    r = s.sse(headers={"Last-Event-ID": last})
    assert r.wait_headers() == 200
    r.wait_job_state(jobs[-1], "succeeded", timeout=15)
    resumed = r.snapshot()
    assert resumed and int(resumed[0].id) > int(last), (last, resumed[:1])
    assert not got or int(got[-1].id) <= int(last)
    r.close()
    stalled.close()


def test_log_follow_streams_new_lines_and_ends_with_the_job():
    s = Server(presets_extra=[SLOW_LINES])
    jid = s.submit(preset="slowlines")
    sock = raw_get(s, f"/api/v1/jobs/{jid}/logs?follow=1", s.token)
    body = read_to_eof(sock).split(b"\r\n\r\n", 1)[1]
    sock.close()
    text = re.sub(rb"\r\n[0-9a-f]+\r\n", b"", body) if b"line1" not in body[:8] else body
    lines = [ln for ln in text.decode().splitlines() if ln.startswith("line")]
    assert lines == [f"line{i}" for i in range(1, 6)], text[-400:]
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 0)


def test_log_follow_stops_when_the_client_goes():
    s = Server()
    jid = s.submit(preset="sleep")
    s.wait_state(jid, "running")
    sock = raw_get(s, f"/api/v1/jobs/{jid}/logs?follow=1", s.token)
    read_until(sock, lambda d: b"pid=" in d, "the first line")
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 1)
    before = metric(s, "batchbox_hub_hangups_total")
    sock.close()
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 0, timeout=2)
    assert metric(s, "batchbox_hub_hangups_total") == before + 1
    s.action(jid, "cancel")


def test_head_on_stream_routes_answers_headers_and_holds_nothing():
    s = Server()
    jid = s.submit(preset="sleep")
    for path in ("/api/v1/jobs/events", f"/api/v1/jobs/{jid}/logs?follow=1"):
        sock = raw_get(s, path, s.token, method="HEAD")
        data = read_until(sock, lambda d: b"\r\n\r\n" in d, "the head")
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        assert data.endswith(b"\r\n\r\n"), f"HEAD {path} sent a body: {data[-200:]!r}"
        sock.close()
    assert metric(s, "batchbox_hub_streams_total") == 0
    assert metric(s, "batchbox_hub_subscribers") == 0
    s.action(jid, "cancel")


def _closed_soon(c):
    assert c.wait_closed(3), "the stream outlived the end of its session"


def test_logout_refresh_reuse_password_and_disable_close_streams():
    s = Server(env=OPEN)
    uid, tok, ref, pw = user(s, "a@example.com")
    ended0 = metric(s, "batchbox_hub_session_ends_total")
    # logout ends the session's streams (events and log follows)
    c = open_stream(s, token=tok)
    s.call("POST", "/api/v1/auth/logout", {}, token=tok, expect=204)
    _closed_soon(c)
    # refresh-token reuse ends the session
    b = s.session("a@example.com", pw)
    c = open_stream(s, token=b["accessToken"])
    assert s.req("POST", "/api/v1/auth/refresh", {"refreshToken": b["refreshToken"]},
                 auth=False).status == 200
    assert_error(s.req("POST", "/api/v1/auth/refresh", {"refreshToken": b["refreshToken"]},
                       auth=False), 401)
    _closed_soon(c)
    # a password change ends every session of the user
    b = s.session("a@example.com", pw)
    c = open_stream(s, token=b["accessToken"])
    r = s.req("PATCH", "/api/v1/user/profile",
              {"password": "another-password-1", "currentPassword": pw},
              token=b["accessToken"])
    assert r.status == 200, r.describe()
    _closed_soon(c)
    # disabling the user ends its streams
    b = s.session("a@example.com", "another-password-1")
    c = open_stream(s, token=b["accessToken"])
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"disabled": True}).status == 200
    _closed_soon(c)
    assert metric(s, "batchbox_hub_session_ends_total") == ended0 + 4
    wait_metric(s, "batchbox_hub_subscribers", lambda v: v == 0)


def test_demoted_admin_stops_seeing_other_users_events():
    s = Server(env=OPEN)
    uid, tok, _, _ = user(s, "b@example.com")
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"role": "admin"}).status == 200
    others = s.submit(preset="sleep")
    s.wait_state(others, "running")
    c = open_stream(s, token=tok)
    follow = raw_get(s, f"/api/v1/jobs/{others}/logs?follow=1", tok)
    read_until(follow, lambda d: b"pid=" in d, "the followed job's first line")
    seen = s.submit(preset="noop")
    c.wait_job_state(seen, "succeeded")             # an admin sees everyone's jobs
    assert s.req("PATCH", f"/api/v1/admin/users/{uid}", {"role": "user"}).status == 200
    # the follow of another user's job ends; the event stream stays, re-filtered
    follow.settimeout(scaled(3))
    read_to_eof(follow)
    follow.close()
    hidden = s.submit(preset="noop")
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"}, token=tok)
    assert r.status == 202, r.describe()
    own = r.body["jobId"]
    c.wait_job_state(own, "succeeded")
    s.wait_terminal(hidden)
    assert not [e for e in c.snapshot() if e.job_id == hidden], "demoted admin saw others' job"
    assert not c.closed
    c.close()
    s.action(others, "cancel")

"""Job actions (cancel, retry, edit_metadata), retries with backoff, priority and concurrency."""

import os
import re
import time

from harness import (ISO_RE, Server, assert_dto, assert_error, scaled, state_trail,
                     wait_until)


EXTRA = [
    {"id": "gate", "workflow": "command", "concurrency": 1, "maxAttempts": 1,
     "argv": ["sh", "-c", "echo $$ > RUNS/{jobId}.pid; exec sleep {param.t}"]},
    {"id": "stubborn", "workflow": "command", "maxAttempts": 1,
     "argv": ["sh", "-c", "trap '' TERM; echo $$ > RUNS/{jobId}.pid; "
                          "while :; do sleep 0.05; done"]},
    {"id": "tree", "workflow": "command", "maxAttempts": 1,
     "argv": ["sh", "-c", "sleep 30 & echo $! > RUNS/{jobId}.child; echo $$ > RUNS/{jobId}.pid; "
                          "wait"]},
    {"id": "slow", "workflow": "command", "maxAttempts": 1, "timeoutSec": 1,
     "argv": ["sh", "-c", "echo $$ > RUNS/{jobId}.pid; exec sleep 30"]},
]


def _server(**kw):
    return Server(presets_extra=EXTRA, **kw)


def _pid_from_logs(s, jid, name="pid"):
    m = wait_until(lambda: re.search(rf"^{name}=(\d+)$", s.logs(jid), re.M), 10,
                   what=f"'{name}=N' in the logs of job {jid}")
    return int(m.group(1))


def _proc_state(pid):
    """(state letter, ppid) from /proc, or None when the pid does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    rest = st[st.rindex(")") + 2:].split()
    return rest[0], int(rest[1])


def _assert_gone(s, pid, timeout=10):
    """The process is gone. A zombie counts as gone unless the server is its parent (the
    server must reap its own children)."""
    server_pid = s.proc.pid

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        st = _proc_state(pid)
        if st is None:
            return True
        return st[0] == "Z" and st[1] != server_pid
    wait_until(gone, timeout, interval=0.05,
               what=f"process {pid} to be gone (state {_proc_state(pid)})")


def _assert_alive(pid):
    os.kill(pid, 0)  # raises if it does not exist
    st = _proc_state(pid)
    assert st and st[0] != "Z", f"process {pid} should be running, state {st}"


def _check_action_body(body, jid, type_):
    assert body.get("success") is True, body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert body.get("jobId") == jid, body
    assert body.get("actionType") == type_, body
    assert isinstance(body.get("timestamp"), str) and ISO_RE.match(body["timestamp"]), body


def test_cancel_queued_job():
    s = _server()
    ev = s.sse()
    blocker = s.submit(preset="gate", params={"t": "30"})
    s.wait_state(blocker, "running")
    q = s.submit(preset="gate", params={"t": "0"})
    time.sleep(0.3)
    assert s.job(q)["state"] == "queued", "gate has concurrency 1: second job should wait"
    body = s.action(q, "cancel", {"reason": "changed my mind"})
    _check_action_body(body, q, "cancel")
    dto = s.job(q)
    assert dto["state"] == "canceled", f"queued job not canceled at once: {dto}"
    assert dto["startedAt"] is None and dto["finishedAt"], dto
    assert_dto(dto, q)
    ev.wait_job_state(q, "canceled")
    assert state_trail(ev.snapshot(), q) == [("job_created", "queued"),
                                             ("job_state_changed", "canceled")]
    # Terminal now: a second cancel is refused.
    assert_error(s.req("POST", f"/api/v1/jobs/{q}/actions", {"type": "cancel"}), 422,
                 "invalid_state")
    # The blocker still runs and can be canceled.
    pid = s.pid_file(f"{blocker}.pid")
    _assert_alive(pid)
    s.action(blocker, "cancel")
    s.wait_state(blocker, "canceled", timeout=10)
    _assert_gone(s, pid)
    ev.close()


def test_cancel_running_kills_child():
    s = _server()
    jid = s.submit(preset="sleep")
    s.wait_state(jid, "running")
    pid = _pid_from_logs(s, jid)
    _assert_alive(pid)
    t0 = time.monotonic()
    body = s.action(jid, "cancel", {})
    _check_action_body(body, jid, "cancel")
    dto = s.wait_state(jid, "canceled", timeout=10)
    assert time.monotonic() - t0 < scaled(5), "SIGTERM should end `sleep` quickly"
    assert_dto(dto, jid)
    assert dto["finishedAt"], dto
    _assert_gone(s, pid)
    # Stays canceled (the exit of the killed child must not turn it into failed).
    time.sleep(0.3)
    assert s.job(jid)["state"] == "canceled"
    assert_error(s.req("POST", f"/api/v1/jobs/{jid}/actions", {"type": "cancel"}), 422,
                 "invalid_state")


def test_cancel_kills_whole_process_group():
    s = _server()
    jid = s.submit(preset="tree")
    s.wait_state(jid, "running")
    pid = s.pid_file(f"{jid}.pid")
    child = s.pid_file(f"{jid}.child")
    _assert_alive(child)
    s.action(jid, "cancel")
    s.wait_state(jid, "canceled", timeout=10)
    _assert_gone(s, pid)
    _assert_gone(s, child)


def test_cancel_sigterm_ignoring_child_gets_sigkill():
    s = _server()
    jid = s.submit(preset="stubborn")
    s.wait_state(jid, "running")
    pid = s.pid_file(f"{jid}.pid")
    s.action(jid, "cancel")
    s.wait_state(jid, "canceled", timeout=30)
    _assert_gone(s, pid, timeout=5)


def test_timeout_kills_and_fails():
    s = _server()
    jid = s.submit(preset="slow")
    s.wait_state(jid, "running")
    pid = s.pid_file(f"{jid}.pid")
    dto = s.wait_terminal(jid, timeout=15)
    assert dto["state"] == "failed", f"timeoutSec 1 job: {dto}"
    assert dto["error"] and "time" in dto["error"].lower(), \
        f"error should say it timed out: {dto['error']!r}"
    _assert_gone(s, pid)


def test_failing_command_retries_then_fails():
    s = _server()
    ev = s.sse()
    jid = s.submit(preset="fail")
    ev.wait_job_state(jid, "failed", timeout=20)
    trail = state_trail(ev.snapshot(), jid)
    assert trail == [("job_created", "queued"),
                     ("job_state_changed", "running"), ("job_state_changed", "queued"),
                     ("job_state_changed", "running"), ("job_state_changed", "queued"),
                     ("job_state_changed", "running"), ("job_state_changed", "failed")], trail
    running = [e.json["attempts"] for e in ev.snapshot()
               if e.job_id == jid and e.state == "running"]
    assert running == [1, 2, 3], f"attempts on the running events: {running}"
    dto = s.job(jid)
    assert_dto(dto, jid)
    assert dto["state"] == "failed" and dto["attempts"] == 3 and dto["maxAttempts"] == 3, dto
    assert dto["error"] and "status 3" in dto["error"], f"error: {dto['error']!r}"
    assert "boom" in s.logs(jid), s.logs(jid)
    # Retry a failed job: 202, then it runs again (and fails again).
    r = s.req("POST", f"/api/v1/jobs/{jid}/actions", {"type": "retry", "payload": {}})
    assert r.status == 202, r.describe()
    _check_action_body(r.body, jid, "retry")
    n_before = len(trail)

    def reran():
        t = state_trail(ev.snapshot(), jid)
        return len(t) > n_before + 2 and t[-1] == ("job_state_changed", "failed") and t
    t2 = wait_until(reran, 20, what="the retried job to run and fail again")
    assert t2[n_before] == ("job_state_changed", "queued"), t2
    assert ("job_state_changed", "running") in t2[n_before:], t2
    dto2 = s.job(jid)
    assert dto2["state"] == "failed" and dto2["attempts"] > 3, dto2
    ev.close()


def test_retry_rules():
    s = _server()
    ok = s.submit(preset="noop")
    s.wait_terminal(ok)
    assert_error(s.req("POST", f"/api/v1/jobs/{ok}/actions", {"type": "retry"}), 422,
                 "invalid_state")
    blocker = s.submit(preset="gate", params={"t": "30"})
    s.wait_state(blocker, "running")
    assert_error(s.req("POST", f"/api/v1/jobs/{blocker}/actions", {"type": "retry"}), 422,
                 "invalid_state")
    q = s.submit(preset="gate", params={"t": "0"})
    assert_error(s.req("POST", f"/api/v1/jobs/{q}/actions", {"type": "retry"}), 422,
                 "invalid_state")
    s.action(q, "cancel")
    s.action(blocker, "cancel")
    s.wait_state(blocker, "canceled")
    # A canceled job can be retried and then succeeds.
    r = s.req("POST", f"/api/v1/jobs/{q}/actions", {"type": "retry", "payload": {}})
    assert r.status == 202, r.describe()
    dto = s.wait_state(q, "succeeded", timeout=10)
    assert dto["finishedAt"] and dto["error"] is None, dto


def test_priority_then_age_order():
    s = _server()
    ev = s.sse()
    blocker = s.submit(preset="gate", params={"t": "30"})
    s.wait_state(blocker, "running")
    low1 = s.submit(preset="gate", params={"t": "0"}, priority=0)
    low2 = s.submit(preset="gate", params={"t": "0"}, priority=0)
    high = s.submit(preset="gate", params={"t": "0"}, priority=10)
    mid = s.submit(preset="gate", params={"t": "0"}, priority=5)
    s.action(blocker, "cancel")
    for j in (low1, low2, high, mid):
        ev.wait_job_state(j, "succeeded", timeout=15)
    order = [e.job_id for e in ev.snapshot()
             if e.state == "running" and e.job_id in (low1, low2, high, mid)]
    assert order == [high, mid, low1, low2], \
        f"run order {order}, want high {high}, mid {mid}, low1 {low1}, low2 {low2}"
    dtos = [s.job(j) for j in (high, mid, low1, low2)]
    starts = [d["startedAt"] for d in dtos]
    assert starts == sorted(starts), f"startedAt order {starts}"
    ev.close()


def test_preset_concurrency_limit():
    s = _server(workers=4)
    ev = s.sse()
    ids = [s.submit(preset="limited") for _ in range(5)]
    for j in ids:
        ev.wait_job_state(j, "succeeded", timeout=15)
    spans = sorted((s.job(j)["startedAt"], s.job(j)["finishedAt"]) for j in ids)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert b0 >= a1, f"overlapping runs (startedAt, finishedAt): {spans}"
    # The event log (commit order) must never show two of them running at once either.
    running = []
    for e in ev.snapshot():
        if e.job_id not in ids or e.event != "job_state_changed":
            continue
        if e.state == "running":
            running.append(e.job_id)
        elif e.job_id in running:
            running.remove(e.job_id)
        assert len(running) <= 1, \
            f"event {e.id}: job {running[1]} became running before job {running[0]} left " \
            f"running (concurrency 1): {[(x.id, x.job_id, x.state) for x in ev.snapshot()]}"
    ev.close()


def test_edit_metadata():
    s = _server()
    blocker = s.submit(preset="gate", params={"t": "30"})
    s.wait_state(blocker, "running")
    q = s.submit(preset="gate", params={"t": "0"})
    # Validated like submit (while still queued behind the blocker).
    assert_error(s.req("POST", f"/api/v1/jobs/{q}/actions",
                       {"type": "edit_metadata", "payload": {"preset": "nope"}}),
                 400, "invalid", "preset")
    assert_error(s.req("POST", f"/api/v1/jobs/{q}/actions",
                       {"type": "edit_metadata", "payload": {"preset": 5}}),
                 400, "invalid", "preset")
    assert_error(s.req("POST", f"/api/v1/jobs/{q}/actions",
                       {"type": "edit_metadata", "payload": {"notionDatabase": "zzz"}}),
                 400, "invalid", "notionDatabase")
    r = s.req("POST", f"/api/v1/jobs/{q}/actions",
              {"type": "edit_metadata", "payload": {"preset": "cat"}})
    assert r.status == 400, f"preset cat needs md, the job has none: {r.describe()}"
    assert s.job(q)["preset"] == "gate" and s.job(q)["state"] == "queued", \
        f"a rejected edit changed the job: {s.job(q)}"
    # Queued: allowed and visible.
    body = s.action(q, "edit_metadata", {"preset": "noop"})
    _check_action_body(body, q, "edit_metadata")
    assert s.job(q)["preset"] == "noop", s.job(q)
    # Running: refused.
    assert_error(s.req("POST", f"/api/v1/jobs/{blocker}/actions",
                       {"type": "edit_metadata", "payload": {"preset": "noop"}}),
                 422, "invalid_state")
    # The edited job runs as noop (gate's concurrency no longer holds it back).
    s.wait_state(q, "succeeded", timeout=10)
    # Terminal: allowed.
    body = s.action(q, "edit_metadata", {"preset": "echo"})
    assert s.job(q)["preset"] == "echo" and s.job(q)["state"] == "succeeded", s.job(q)
    s.action(blocker, "cancel")
    s.wait_state(blocker, "canceled")


def test_bad_actions():
    s = _server()
    jid = s.submit(preset="noop")
    s.wait_terminal(jid)
    p = f"/api/v1/jobs/{jid}/actions"
    for body in ({"type": "explode"}, {}, {"type": 5},
                 {"type": "edit_metadata", "payload": []}, [], "null"):
        assert_error(s.req("POST", p, body), 400, "invalid")
    assert_error(s.req("POST", p, "{broken"), 400, "invalid")
    assert_error(s.req("POST", p, "x", {"Content-Type": "text/plain"}), 415,
                 "unsupported_media_type")
    assert_error(s.req("POST", "/api/v1/jobs/abc/actions", {"type": "cancel"}), 404,
                 "not_found")
    assert s.job(jid)["state"] == "succeeded"


def test_supported_actions_say_their_allowed_states():
    s = _server()
    opts = s.call("GET", "/api/v1/config/job-options")
    acts = {a["type"]: a for a in opts["supportedActions"]}
    assert [a["type"] for a in opts["supportedActions"]] == \
        ["cancel", "retry", "edit_metadata", "rerun_audio", "move-to-front"], \
        opts["supportedActions"]
    want = {"cancel": ["queued", "running"],
            "retry": ["failed", "canceled"],
            "edit_metadata": ["queued", "succeeded", "failed", "canceled"],
            "rerun_audio": ["succeeded"],
            "move-to-front": ["queued"]}
    for t, states in want.items():
        assert acts[t]["allowedStates"] == states, acts[t]
    assert acts["cancel"]["requiresFields"] == ["reason"], acts["cancel"]
    assert acts["retry"]["requiresFields"] == [], acts["retry"]
    assert acts["edit_metadata"]["requiresFields"] == ["preset", "notionDatabase", "priority",
                                                       "params"], acts["edit_metadata"]
    assert acts["move-to-front"]["requiresFields"] == [], acts["move-to-front"]


def test_refused_action_names_the_action_and_the_state():
    s = _server()
    jid = s.submit(preset="noop")
    s.wait_terminal(jid)
    opts = s.call("GET", "/api/v1/config/job-options")
    allowed = {a["type"]: a["allowedStates"] for a in opts["supportedActions"]}
    # The server refuses exactly what allowedStates leaves out (the UI relies on it).
    for t in ("cancel", "retry"):
        assert "succeeded" not in allowed[t], allowed
        r = s.req("POST", f"/api/v1/jobs/{jid}/actions", {"type": t})
        assert_error(r, 422, "invalid_state")
        msg = r.body["message"]
        assert f'"{t}"' in msg and "state succeeded" in msg, msg
        assert ", ".join(allowed[t]) in msg, f"the message should list {allowed[t]}: {msg}"
    # A bad payload is still reported as such (400) before the state (422).
    assert_error(s.req("POST", f"/api/v1/jobs/{jid}/actions",
                       {"type": "cancel", "payload": {"nope": 1}}), 400, "invalid", "payload")
    assert s.job(jid)["state"] == "succeeded"


def _follow(s, jid, timeout=15):
    """Opens GET /jobs/:id/logs?follow=1; returns (connection, response)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=scaled(timeout))
    conn.request("GET", f"/api/v1/jobs/{jid}/logs?follow=1", headers=s.auth_headers())
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    return conn, resp


def test_logs_follow_rides_through_retries_and_ends_with_the_job():
    s = _server()
    jid = s.submit(preset="fail")            # 3 attempts, 200 ms apart, "boom" each time
    conn, resp = _follow(s, jid)
    body = resp.read().decode()              # returns when the server ends the stream
    conn.close()
    assert s.job(jid)["state"] == "failed", "follow ended before the job did"
    assert body.count("boom") == 3, f"every attempt's line, once each: {body!r}"
    assert body == s.logs(jid), "the followed text differs from the whole log"


def test_logs_follow_ends_when_the_job_is_canceled():
    s = _server()
    jid = s.submit(preset="sleep")
    s.wait_state(jid, "running")
    conn, resp = _follow(s, jid)
    first = resp.readline()
    assert first.startswith(b"pid="), first
    s.action(jid, "cancel")
    rest = resp.read().decode()
    conn.close()
    assert s.job(jid)["state"] == "canceled"
    assert "canceled" in rest, f"the cancel note should end the stream: {rest!r}"


def test_logs_follow_of_a_client_that_left_and_a_stopping_server():
    s = _server()
    jid = s.submit(preset="sleep")
    s.wait_state(jid, "running")
    gone, resp = _follow(s, jid)
    resp.readline()
    gone.close()                             # the client leaves while the job runs
    conn, resp = _follow(s, jid)
    resp.readline()
    t0 = time.monotonic()
    s.stop()                                 # a stop ends the open stream (bus closed)
    resp.read()
    conn.close()
    assert time.monotonic() - t0 < scaled(20)

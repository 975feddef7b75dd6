"""Queue control (docs/scheduling.md): pause and resume per preset and globally (durable
across a restart, running jobs finish, queued ones say why), editing a queued job's
priority and params, move-to-front, per-preset rate limits, bad inputs."""

from harness import Server, assert_error, wait_until

EXTRA = [
    {"id": "hold", "workflow": "command", "maxAttempts": 1,
     "params": [{"name": "t", "type": "float", "default": 0, "min": 0, "max": 5}],
     "argv": ["sh", "-c", "echo {jobId} >> RUNS/order; sleep {param.t}"]},
    {"id": "paced", "workflow": "command", "maxAttempts": 1,
     "rateLimit": {"jobs": 2, "perSec": 1},
     "argv": ["sh", "-c", "true"]},
    {"id": "slowpace", "workflow": "command", "maxAttempts": 1,
     "rateLimit": {"jobs": 1, "perSec": 2}, "argv": ["sh", "-c", "true"]},
]


def _server(**kw):
    return Server(presets_extra=EXTRA, **kw)


def _waiting(s, jid, text):
    return wait_until(lambda: s.job(jid)["waitingFor"] == text, 10,
                      what=f"waitingFor {text!r} on job {jid}")


def test_pause_preset_survives_restart_and_resume_runs():
    s = _server(workers=2)
    running = s.submit(preset="hold", params={"t": 1})
    s.wait_state(running, "running")
    q = s.call("POST", "/api/v1/admin/queue/pause", {"preset": "hold"})
    assert [p for p in q["presets"] if p["preset"] == "hold"][0]["paused"] is True, q
    assert q["paused"] is False
    held = s.submit(preset="hold")
    other = s.submit(preset="noop")
    assert s.wait_terminal(other)["state"] == "succeeded"
    assert s.wait_terminal(running)["state"] == "succeeded"   # running jobs finish
    _waiting(s, held, "queue paused")
    s.stop()
    s.restart()
    q = s.call("GET", "/api/v1/admin/queue")
    assert [p for p in q["presets"] if p["preset"] == "hold"][0]["paused"] is True, q
    assert s.job(held)["state"] == "queued"
    s.call("POST", "/api/v1/admin/queue/resume", {"preset": "hold"})
    dto = s.wait_terminal(held)
    assert dto["state"] == "succeeded" and dto["waitingFor"] is None, dto


def test_global_pause_holds_every_preset():
    s = _server()
    q = s.call("POST", "/api/v1/admin/queue/pause")
    assert q["paused"] is True and q["pausedAt"], q
    jid = s.submit(preset="noop")
    _waiting(s, jid, "queue paused")
    assert s.job(jid)["state"] == "queued"
    s.stop()
    s.restart()
    assert s.call("GET", "/api/v1/admin/queue")["paused"] is True
    assert s.job(jid)["state"] == "queued"
    s.call("POST", "/api/v1/admin/queue/resume")
    assert s.wait_terminal(jid)["state"] == "succeeded"


def test_edit_queued_priority_params_and_move_to_front():
    s = _server(workers=1)
    s.call("POST", "/api/v1/admin/queue/pause", {"preset": "hold"})
    a, b, c = (s.submit(preset="hold") for _ in range(3))
    r = s.action(c, "move-to-front")
    assert "front" in r["message"], r
    assert s.job(c)["priority"] == 1
    s.action(b, "edit_metadata", {"priority": 5, "params": {"t": 0.1}})
    dto = s.job(b)
    assert dto["priority"] == 5 and dto["params"] == {"t": 0.1}, dto
    r = s.req("POST", f"/api/v1/jobs/{a}/actions",
              {"type": "edit_metadata", "payload": {"params": {"t": 99}}})
    assert_error(r, 400, field="payload.params.t")
    r = s.req("POST", f"/api/v1/jobs/{a}/actions",
              {"type": "edit_metadata", "payload": {"priority": 5000}})
    assert_error(r, 400, field="payload.priority")
    s.call("POST", "/api/v1/admin/queue/resume", {"preset": "hold"})
    for jid in (a, b, c):
        assert s.wait_terminal(jid)["state"] == "succeeded"
    with open(f"{s.runs}/order") as f:
        order = f.read().split()
    assert order == [b, c, a], order
    # neither works once the job has finished
    r = s.req("POST", f"/api/v1/jobs/{a}/actions", {"type": "move-to-front"})
    assert_error(r, 422)
    r = s.req("POST", f"/api/v1/jobs/{a}/actions",
              {"type": "edit_metadata", "payload": {"priority": 1}})
    assert_error(r, 422)


def test_rate_limit_spaces_starts():
    s = _server(workers=4)
    ids = [s.submit(preset="paced") for _ in range(5)]
    dtos = [s.wait_terminal(j, timeout=20) for j in ids]
    assert all(d["state"] == "succeeded" for d in dtos), dtos
    from datetime import datetime

    def t(d):
        return datetime.fromisoformat(d["startedAt"].replace("Z", "+00:00")).timestamp()
    starts = sorted(t(d) for d in dtos)
    # at most 2 starts in any 1-second window
    for i in range(2, len(starts)):
        assert starts[i] - starts[i - 2] >= 0.999, starts
    q = s.call("GET", "/api/v1/admin/queue")
    lim = [p for p in q["presets"] if p["preset"] == "paced"][0]
    assert lim["rateLimit"] == {"jobs": 2, "perSec": 1}, lim


def test_rate_limited_job_says_why():
    s = _server(workers=2)
    s.call("POST", "/api/v1/admin/queue/pause", {"preset": "slowpace"})
    ids = [s.submit(preset="slowpace") for _ in range(3)]
    s.call("POST", "/api/v1/admin/queue/resume", {"preset": "slowpace"})
    wait_until(lambda: s.job(ids[-1])["waitingFor"] == "rate limit: 1 per 2 s", 10,
               what="the last job held by the rate limit")
    for j in ids:
        assert s.wait_terminal(j, timeout=30)["state"] == "succeeded"


def test_queue_control_bad_inputs():
    s = _server()
    assert_error(s.req("POST", "/api/v1/admin/queue/pause", {"preset": "nope"}), 400,
                 field="preset")
    assert_error(s.req("POST", "/api/v1/admin/queue/pause", {"presets": "x"}), 400,
                 field="presets")
    assert_error(s.req("POST", "/api/v1/admin/queue/resume", {"preset": 3}), 400,
                 field="preset")


def _cli(s, *args):
    import os
    import subprocess

    import harness
    env = {k: v for k, v in os.environ.items() if k not in ("BATCHBOX_SERVER",)}
    env.update(BATCHBOX_TOKEN=s.token, HOME=s.base, XDG_CONFIG_HOME=s.base)
    p = subprocess.run([harness.BIN, *args, "--server", f"http://127.0.0.1:{s.port}"],
                       capture_output=True, text=True, env=env, timeout=harness.scaled(30))
    assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def test_cli_pause_bulk_resume():
    s = _server()
    out = _cli(s, "pause", "--preset", "noop")
    assert "noop paused" in out and "paused: noop" in out, out
    ids = [s.submit(preset="noop") for _ in range(3)]
    out = _cli(s, "bulk", "cancel", "--preset", "noop", "--state", "queued", "--dry-run")
    assert out.strip() == "3 jobs match (dry run: nothing changed)", out
    out = _cli(s, "bulk", "cancel", "--preset", "noop", "--reason", "cli")
    assert out.strip() == "cancel: 3 matched, 3 done, 0 skipped", out
    assert all(s.job(j)["state"] == "canceled" for j in ids)
    out = _cli(s, "resume", "--preset", "noop")
    assert "noop resumed" in out and "paused:" not in out, out
    assert s.call("GET", "/api/v1/admin/queue")["paused"] is False

"""Delayed jobs and recurring schedules (docs/scheduling.md): runAt / delaySec and the
scheduled state (listed, canceled, promoted on time, also across a restart); schedules
firing with the test clock (BB_TEST_CLOCK runs schedules 60x faster: a minute per second),
catch-up after downtime per policy, overlap skip, pause/resume, validation."""

import datetime
import json
import os
import time

from harness import Server, assert_dto, assert_error, scaled, wait_until

SCHED_PRESETS = [
    {"id": "ok", "workflow": "command", "argv": ["sh", "-c", "echo ok"], "maxAttempts": 1},
    {"id": "hold", "workflow": "command",
     "argv": ["sh", "-c", "while [ ! -e RUNS/go ]; do sleep 0.05; done"], "maxAttempts": 1},
]


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()


def test_delayed_job_runs_on_time_also_across_a_restart():
    s = Server(presets_extra=SCHED_PRESETS)
    due = time.time() + 2
    a = s.submit(preset="ok", runAt=iso(due))
    b = s.submit(preset="ok", delaySec=2)
    for j in (a, b):
        dto = s.job(j)
        assert_dto(dto, j)
        assert dto["state"] == "scheduled" and dto["runAt"], dto
    assert abs(parse_iso(s.job(a)["runAt"]) - due) < 0.01
    listed = s.call("GET", "/api/v1/jobs?state=scheduled")["items"]
    assert {j["jobId"] for j in listed} == {a, b}, listed
    # across a restart: stop now, start again before the time; it still runs then
    s.stop()
    s.restart()
    done = s.wait_state(a, "succeeded", timeout=scaled(10))
    # promoted within a second of its time (the timing figure itself is the benchmark's)
    started = parse_iso(done["startedAt"])
    assert started >= due - 0.01, done
    assert started - due < 1.0 * max(1, scaled(1)), done
    s.wait_state(b, "succeeded", timeout=scaled(10))


def test_scheduled_job_can_be_canceled_and_past_run_at_queues_at_once():
    s = Server(presets_extra=SCHED_PRESETS)
    j = s.submit(preset="ok", delaySec=3600)
    assert s.job(j)["state"] == "scheduled"
    r = s.action(j, "cancel")
    assert r["success"], r
    dto = s.job(j)
    assert dto["state"] == "canceled" and dto["finishedAt"], dto
    past = s.submit(preset="ok", runAt="2020-01-01T00:00:00+01:00")
    s.wait_state(past, "succeeded")


def test_bad_run_at_and_delay_name_the_field():
    s = Server(presets_extra=SCHED_PRESETS)
    far = iso(time.time() + 400 * 86400)
    for body, field in [
        ({"runAt": "tomorrow"}, "runAt"),
        ({"runAt": "2026-12-04T10:00:00"}, "runAt"),        # no offset
        ({"runAt": "2026-02-30T10:00:00Z"}, "runAt"),
        ({"runAt": 12}, "runAt"),
        ({"runAt": far}, "runAt"),
        ({"runAt": iso(time.time() + 60), "delaySec": 5}, "runAt"),
        ({"delaySec": -1}, "delaySec"),
        ({"delaySec": 1.5}, "delaySec"),
        ({"delaySec": "10"}, "delaySec"),
        ({"delaySec": 10 ** 9}, "delaySec"),
    ]:
        r = s.req("POST", "/api/v1/jobs", dict(preset="ok", **body))
        assert_error(r, 400, "invalid", field)


def clock_env():
    # schedules run 60x faster from now: one schedule minute per real second
    return {"BB_TEST_CLOCK": f"{int(time.time() * 1000)}:60"}


def schedule_jobs(s, sid):
    items = s.call("GET", "/api/v1/jobs?limit=200")["items"]
    return [j for j in items if j["scheduleId"] == sid]


def test_schedule_fires_every_minute_and_links_its_jobs():
    s = Server(presets_extra=SCHED_PRESETS, env=clock_env())
    r = s.req("POST", "/api/v1/schedules",
              {"name": "every minute", "cron": "* * * * *", "timezone": "Europe/Madrid",
               "job": {"preset": "ok"}, "overlap": "queue"})
    assert r.status == 201, r.describe()
    sc = r.body
    sid = sc["scheduleId"]
    assert sc["enabled"] is True and sc["nextRunAt"] and sc["lastJobId"] is None, sc
    assert sc["overlap"] == "queue" and sc["catchUp"] == "none", sc
    wait_until(lambda: len(schedule_jobs(s, sid)) >= 3, scaled(10), what="three runs")
    now = s.call("GET", f"/api/v1/schedules/{sid}")
    jobs = schedule_jobs(s, sid)
    assert now["lastJobId"] in {j["jobId"] for j in jobs}, (now, jobs)
    assert now["lastError"] is None, now
    for j in jobs:
        assert_dto(j)
        s.wait_state(j["jobId"], "succeeded")
    # paused: no more jobs, nextRunAt null; resumed: runs again
    p = s.call("PATCH", f"/api/v1/schedules/{sid}", {"enabled": False})
    assert p["enabled"] is False and p["nextRunAt"] is None, p
    count = len(schedule_jobs(s, sid))
    time.sleep(1.5)
    assert len(schedule_jobs(s, sid)) == count
    p = s.call("PATCH", f"/api/v1/schedules/{sid}", {"enabled": True})
    assert p["nextRunAt"], p
    wait_until(lambda: len(schedule_jobs(s, sid)) > count, scaled(10), what="resumed run")
    lst = s.call("GET", "/api/v1/schedules")["schedules"]
    assert [x["scheduleId"] for x in lst] == [sid], lst
    r = s.req("DELETE", f"/api/v1/schedules/{sid}")
    assert r.status == 204, r.describe()
    assert_error(s.req("GET", f"/api/v1/schedules/{sid}"), 404, "not_found")


def test_overlap_skip_waits_for_the_last_job():
    s = Server(presets_extra=SCHED_PRESETS, env=clock_env())
    sc = s.call("POST", "/api/v1/schedules",
                {"name": "held", "cron": "* * * * *", "job": {"preset": "hold"}},
                expect=201)
    sid = sc["scheduleId"]
    assert sc["overlap"] == "skip", sc
    wait_until(lambda: len(schedule_jobs(s, sid)) == 1, scaled(10), what="first run")
    # the first job holds: later runs are skipped, with the reason
    wait_until(lambda: (s.call("GET", f"/api/v1/schedules/{sid}")["lastError"] or "")
               .find("overlap skip") >= 0, scaled(10), what="a skipped run")
    assert len(schedule_jobs(s, sid)) == 1
    open(os.path.join(s.runs, "go"), "w").close()
    wait_until(lambda: len(schedule_jobs(s, sid)) >= 2, scaled(10), what="run after the hold")


def catch_up_server(policy):
    """An hourly schedule; the server comes back (test clock) half an hour after the third
    run it missed while down."""
    s = Server(presets_extra=SCHED_PRESETS)
    sc = s.call("POST", "/api/v1/schedules",
                {"name": "hourly", "cron": "0 * * * *", "job": {"preset": "ok"},
                 "catchUp": policy, "overlap": "queue"}, expect=201)
    sid = sc["scheduleId"]
    first_ms = int(parse_iso(sc["nextRunAt"]) * 1000)
    s.stop()
    now_ms = int(time.time() * 1000)
    target = first_ms + 2 * 3600000 + 1800000
    s.env["BB_TEST_CLOCK"] = f"{now_ms}:1:{target - now_ms}"
    s.restart()
    return s, sid


def test_catch_up_one_runs_once_after_downtime():
    s, sid = catch_up_server("one")
    wait_until(lambda: len(schedule_jobs(s, sid)) == 1, 10, what="the catch-up run")
    sc = s.call("GET", f"/api/v1/schedules/{sid}")
    assert sc["lastError"] is None and sc["lastJobId"] == schedule_jobs(s, sid)[0]["jobId"], sc
    assert parse_iso(sc["nextRunAt"]) > parse_iso(sc["lastRunAt"]), sc
    s.wait_state(sc["lastJobId"], "succeeded")
    assert len(schedule_jobs(s, sid)) == 1      # one for the three missed runs


def test_catch_up_none_skips_missed_runs():
    s, sid = catch_up_server("none")
    sc = wait_until(lambda: (lambda x: x if x["lastError"] else None)(
        s.call("GET", f"/api/v1/schedules/{sid}")), 10, what="the missed run")
    assert "missed" in sc["lastError"] and "catchUp is none" in sc["lastError"], sc
    assert parse_iso(sc["nextRunAt"]) > parse_iso(sc["lastRunAt"]), sc
    assert sc["lastJobId"] is None, sc
    assert schedule_jobs(s, sid) == []


def test_schedule_validation_names_the_field():
    s = Server(presets_extra=SCHED_PRESETS)
    good = {"name": "n", "cron": "0 9 * * MON-FRI", "job": {"preset": "ok"}}
    for change, field in [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"cron": None}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"job": {"preset": "nope"}}, "job.preset"),
        ({"job": {"preset": "ok", "delaySec": 5}}, "job.delaySec"),
        ({"job": "ok"}, "job"),
        ({"overlap": "maybe"}, "overlap"),
        ({"catchUp": "all"}, "catchUp"),
        ({"name": ""}, "name"),
        ({"color": "red"}, "color"),
    ]:
        body = dict(good)
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        assert_error(s.req("POST", "/api/v1/schedules", body), 400, "invalid", field)
    sc = s.call("POST", "/api/v1/schedules", dict(good, timezone="America/New_York"),
                expect=201)
    # 09:00 New York time is 13:00 or 14:00 UTC
    assert datetime.datetime.fromisoformat(sc["nextRunAt"].replace("Z", "+00:00")).hour \
        in (13, 14), sc
    assert_error(s.req("PATCH", f"/api/v1/schedules/{sc['scheduleId']}", {"cron": "x"}),
                 400, "invalid", "cron")
    assert_error(s.req("GET", "/api/v1/schedules/999"), 404, "not_found")


def test_cli_submit_run_at_depends_on_and_schedule_verbs():
    from test_cli import Cli
    s = Server(presets_extra=SCHED_PRESETS)
    cli = Cli(s)
    env = {"BATCHBOX_TOKEN": s.token}
    try:
        p = cli.ok(cli.client("submit", "--preset", "ok", "--delay", "3600", env=env))
        delayed = p.stdout.split("submitted job ", 1)[1].split()[0]
        assert s.job(delayed)["state"] == "scheduled"
        p = cli.ok(cli.client("submit", "--preset", "ok", "--depends-on", delayed,
                              "--run-when", "always", env=env))
        waiting = p.stdout.split("submitted job ", 1)[1].split()[0]
        dto = s.job(waiting)
        assert dto["state"] == "waiting" and dto["dependsOn"] == [delayed], dto
        assert dto["runWhen"] == "always", dto
        p = cli.ok(cli.client("jobs", "--state", "waiting", "--json", env=env))
        assert [j["jobId"] for j in json.loads(p.stdout)["items"]] == [waiting], p.stdout
        cli.ok(cli.client("submit", "--preset", "ok", "--run-at", "soon", env=env), 2)
        cli.ok(cli.client("submit", "--preset", "ok", "--run-when", "always", env=env), 2)
        cli.ok(cli.client("cancel", delayed, env=env))
        assert s.wait_terminal(waiting)["state"] == "succeeded"    # runWhen always

        p = cli.ok(cli.client("schedule", "add", "nightly", "--cron", "30 2 * * *",
                              "--preset", "ok", "--timezone", "Europe/Madrid",
                              "--catch-up", "one", env=env))
        assert p.stdout.startswith("created schedule "), p.stdout
        sid = p.stdout.split()[2]
        p = cli.ok(cli.client("schedule", "list", env=env))
        assert "nightly" in p.stdout and "Europe/Madrid" in p.stdout, p.stdout
        cli.ok(cli.client("schedule", "pause", sid, env=env))
        assert s.call("GET", f"/api/v1/schedules/{sid}")["enabled"] is False
        p = cli.ok(cli.client("schedule", "list", env=env))
        assert "(paused)" in p.stdout, p.stdout
        cli.ok(cli.client("schedule", "resume", sid, env=env))
        assert s.call("GET", f"/api/v1/schedules/{sid}")["nextRunAt"]
        cli.ok(cli.client("schedule", "add", "bad", "--cron", "99 * * * *", "--preset", "ok",
                          env=env), 2)
        cli.ok(cli.client("schedule", "rm", sid, env=env))
        cli.ok(cli.client("schedule", "rm", sid, env=env), 1)
        p = cli.ok(cli.client("schedule", "list", env=env))
        assert "no schedules" in p.stdout, p.stdout
    finally:
        cli.close()

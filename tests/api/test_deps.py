"""Dependencies (docs/scheduling.md): dependsOn + runWhen, the waiting state and its
waitingFor, cancel when the condition can no longer be met, a diamond with one failure and
each runWhen, a batch parent as a dependency (fan-in), validation and the dependents route."""

import os

from harness import Server, assert_dto, assert_error, scaled, wait_until

DEP_PRESETS = [
    # waits for RUNS/go-<v>, then succeeds unless v is "bad"
    {"id": "gate", "workflow": "command",
     "argv": ["sh", "-c", "while [ ! -e RUNS/go-{param.v} ]; do sleep 0.05; done; "
              "test {param.v} != bad"], "maxAttempts": 1},
    {"id": "ok", "workflow": "command", "argv": ["sh", "-c", "echo ok"], "maxAttempts": 1},
]


def dep_server(**kw):
    return Server(presets_extra=DEP_PRESETS, **kw)


def go(s, v):
    open(os.path.join(s.runs, f"go-{v}"), "w").close()


def test_waiting_names_what_it_waits_for_then_runs():
    s = dep_server()
    a = s.submit(preset="gate", params={"v": "a"})
    b = s.submit(preset="gate", params={"v": "b"})
    c = s.submit(preset="ok", dependsOn=[a, b])
    dto = s.job(c)
    assert_dto(dto, c)
    assert dto["state"] == "waiting", dto
    assert dto["dependsOn"] == [a, b] and dto["runWhen"] == "success", dto
    assert dto["waitingFor"] == f"jobs {a}, {b} (runWhen success)", dto
    go(s, "a")
    s.wait_state(a, "succeeded")
    wait_until(lambda: s.job(c)["waitingFor"] == f"job {b} (runWhen success)", scaled(5),
               what="waitingFor to drop the finished job")
    assert s.job(c)["state"] == "waiting"
    go(s, "b")
    done = s.wait_state(c, "succeeded")
    assert done["waitingFor"] is None, done
    # the waiting list is filterable, the dependents route lists downstream jobs
    deps = s.call("GET", f"/api/v1/jobs/{a}/dependents")["items"]
    assert [d["jobId"] for d in deps] == [c], deps
    assert s.call("GET", f"/api/v1/jobs/{c}/dependents")["items"] == []


def test_diamond_with_one_failure_and_each_run_when():
    """a → (b ok, x fails) → success / failure / always dependents of both."""
    s = dep_server()
    a = s.submit(preset="gate", params={"v": "top"})
    b = s.submit(preset="gate", params={"v": "left"}, dependsOn=[a])
    x = s.submit(preset="gate", params={"v": "bad"}, dependsOn=[a])
    on_success = s.submit(preset="ok", dependsOn=[b, x], runWhen="success")
    on_failure = s.submit(preset="ok", dependsOn=[b, x], runWhen="failure")
    always = s.submit(preset="ok", dependsOn=[b, x], runWhen="always")
    listed = s.call("GET", "/api/v1/jobs?state=waiting&limit=200")["items"]
    assert {j["jobId"] for j in listed} == {b, x, on_success, on_failure, always}, listed
    go(s, "top")
    go(s, "left")
    go(s, "bad")
    assert s.wait_terminal(x)["state"] == "failed"
    # success can no longer be met as soon as x failed: canceled with the reason
    dead = s.wait_state(on_success, "canceled")
    assert dead["error"] == f"canceled: job {x} it depends on ended failed (runWhen success)", \
        dead
    assert dead["finishedAt"] is not None
    assert s.wait_terminal(b)["state"] == "succeeded"
    assert s.wait_terminal(on_failure)["state"] == "succeeded"
    assert s.wait_terminal(always)["state"] == "succeeded"


def test_failure_dependent_is_canceled_when_everything_succeeded():
    s = dep_server()
    a = s.submit(preset="ok")
    s.wait_state(a, "succeeded")
    # dependencies that ended already decide at submit time
    f = s.submit(preset="ok", dependsOn=[a], runWhen="failure")
    dto = s.wait_state(f, "canceled")
    assert "every job it depends on succeeded" in dto["error"], dto
    ok = s.submit(preset="ok", dependsOn=[a])
    s.wait_state(ok, "succeeded")


def test_cancel_a_waiting_job_and_chain_cancel():
    s = dep_server()
    a = s.submit(preset="gate", params={"v": "slow"})
    b = s.submit(preset="ok", dependsOn=[a])
    c = s.submit(preset="ok", dependsOn=[b])
    r = s.action(b, "cancel", {"reason": "not needed"})
    assert r["success"], r
    assert s.job(b)["state"] == "canceled"
    # c depended on b succeeding: canceled in the same transaction
    dto = s.wait_state(c, "canceled")
    assert f"job {b}" in dto["error"], dto
    go(s, "slow")
    s.wait_state(a, "succeeded")


def test_batch_parent_is_a_dependency():
    s = dep_server()
    r = s.req("POST", "/api/v1/jobs",
              {"preset": "gate", "sweep": {"v": ["p1", "p2", "p3"]}})
    assert r.status == 201, r.describe()
    parent = r.body["jobId"]
    after = s.submit(preset="ok", dependsOn=[parent])
    assert s.job(after)["state"] == "waiting"
    go(s, "p1")
    go(s, "p2")
    wait_until(lambda: s.job(parent)["batch"]["succeeded"] == 2, scaled(10), what="2 children")
    assert s.job(after)["state"] == "waiting"
    go(s, "p3")
    assert s.wait_terminal(parent)["state"] == "succeeded"
    s.wait_state(after, "succeeded")


def test_batch_children_wait_together():
    s = dep_server()
    a = s.submit(preset="gate", params={"v": "first"})
    r = s.req("POST", "/api/v1/jobs",
              {"preset": "ok", "sweep": {"n": ["1", "2"]}, "dependsOn": [a]})
    assert r.status == 201, r.describe()
    parent = r.body["jobId"]
    kids = s.call("GET", f"/api/v1/jobs/{parent}/children")["items"]
    assert len(kids) == 2 and all(k["state"] == "waiting" for k in kids), kids
    assert s.job(parent)["state"] == "queued"
    go(s, "first")
    assert s.wait_terminal(parent)["state"] == "succeeded"


def test_bad_dependencies_name_the_field():
    s = dep_server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    mine = s.submit(preset="ok")
    for body, field in [
        ({"dependsOn": ["999999"]}, "dependsOn"),
        ({"dependsOn": []}, "dependsOn"),
        ({"dependsOn": "1"}, "dependsOn"),
        ({"dependsOn": ["x"]}, "dependsOn"),
        ({"dependsOn": [mine, mine]}, "dependsOn"),
        ({"dependsOn": [str(i) for i in range(65)]}, "dependsOn"),
        ({"runWhen": "success"}, "runWhen"),
        ({"dependsOn": [mine], "runWhen": "sometimes"}, "runWhen"),
    ]:
        r = s.req("POST", "/api/v1/jobs", dict(preset="ok", **body))
        assert_error(r, 400, "invalid", field)
    # another user's job is not visible: the same 400 as a missing one
    s.register("dep-user@example.com", "dep-user-password-1")
    tok = s.session("dep-user@example.com", "dep-user-password-1")["accessToken"]
    r = s.req("POST", "/api/v1/jobs", {"preset": "ok", "dependsOn": [mine]},
              headers={"Authorization": f"Bearer {tok}"}, auth=False)
    assert_error(r, 400, "invalid", "dependsOn")
    r = s.req("GET", f"/api/v1/jobs/{mine}/dependents",
              headers={"Authorization": f"Bearer {tok}"}, auth=False)
    assert_error(r, 404, "not_found")

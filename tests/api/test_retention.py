"""Retention (docs/operations.md, "Retention"): finished jobs past their preset's (or the
global) retention are deleted with their events, logs, artifacts on disk and in S3, and
webhook deliveries; a batch parent goes with its children; jobs still inside their time,
unfinished jobs and presets kept forever stay. POST /admin/gc {dryRun} counts first; the
freed bytes show in GET /admin/stats and /metrics. A preset with retention {"afterSec": 1}
makes jobs due a second after they end, so the test needs no clock knob.
"""

import os
import subprocess

import harness
from harness import Server, assert_error

SHORT = {"id": "short", "workflow": "command", "maxAttempts": 1,
         "argv": ["sh", "-c", "echo some log; echo artifact > \"$1/out.txt\"", "{param.tag}",
                  "{outdir}"],
         "retention": {"afterSec": 1}}
KEEP = {"id": "keep", "workflow": "command", "maxAttempts": 1,
        "argv": ["sh", "-c", "echo kept > \"$0/out.txt\"", "{outdir}"]}


def gc(s, dry):
    return s.call("POST", "/api/v1/admin/gc", {"dryRun": dry})


def art_dir(s, jid):
    return os.path.join(s.data, "artifacts", str(jid))


def test_deletes_exactly_what_is_due():
    s = Server(presets_extra=[SHORT, KEEP])
    a = s.submit(preset="short", params={"tag": "a"})
    k = s.submit(preset="keep")
    batch = s.call("POST", "/api/v1/jobs", {"preset": "short", "sweep": {"tag": ["p", "q"]}},
                   expect=201)
    parent = batch["jobId"]
    for j in (a, k):
        assert s.wait_terminal(j)["state"] == "succeeded"
    s.wait_terminal(parent)
    children = [c["jobId"] for c in s.call("GET", f"/api/v1/jobs/{parent}/children")["items"]]
    assert len(children) == 2
    assert os.path.isdir(art_dir(s, a)) and os.path.isdir(art_dir(s, k))
    # a job that has not finished is never due
    sleeper = s.submit(preset="sleep")
    s.wait_state(sleeper, ("running",))
    # the dry run counts a (1) + the batch (parent + 2 children) once they are a second old
    r = harness.wait_until(lambda: (lambda d: d if d["jobs"] == 4 else None)(gc(s, True)),
                           harness.scaled(10), what="4 due jobs")
    assert r["dryRun"] is True and r["artifactBytes"] > 0 and r["logBytes"] > 0, r
    # the dry run deleted nothing
    s.job(a)
    r = gc(s, False)
    assert r["jobs"] == 4 and r["events"] > 0 and r["bytesFreed"] >= r["artifactBytes"] > 0, r
    for gone in [a, parent] + children:
        assert_error(s.req("GET", f"/api/v1/jobs/{gone}"), 404, "not_found")
        assert not os.path.exists(art_dir(s, gone)), gone
    assert_error(s.req("GET", f"/api/v1/jobs/{a}/logs"), 404, "not_found")
    # what is kept forever, and what is still running, stays
    assert s.job(k)["state"] == "succeeded" and os.path.isdir(art_dir(s, k))
    assert s.job(sleeper)["state"] == "running"
    assert gc(s, True)["jobs"] == 0
    st = s.call("GET", "/api/v1/admin/stats")
    assert st["retention"]["jobsDeleted"] == 4 and st["retention"]["bytesFreed"] > 0, st
    metrics = s.call("GET", "/api/v1/metrics", raw=True).decode()
    assert "batchbox_retention_jobs_deleted_total 4" in metrics, metrics[-800:]
    s.action(sleeper, "cancel")


def test_gc_is_admin_only_and_validates():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    user = s.register("u@example.com", "password-of-u").body["accessToken"]
    assert_error(s.req("POST", "/api/v1/admin/gc", {}, token=user), 403, "forbidden")
    assert_error(s.req("POST", "/api/v1/admin/gc", {"dryRun": "yes"}), 400, "invalid",
                 field="dryRun")
    assert_error(s.req("POST", "/api/v1/admin/gc", {"now": 1}), 400, "invalid", field="now")
    assert s.call("POST", "/api/v1/admin/gc")["dryRun"] is False
    # the CLI: `batchbox gc --dry-run` with the admin's token
    env = dict(os.environ, BATCHBOX_TOKEN=s.token)
    out = subprocess.run([harness.BIN, "gc", "--dry-run", "--server", s.url("")], env=env,
                         capture_output=True, text=True, timeout=harness.scaled(30))
    assert out.returncode == 0 and "would delete 0 job(s)" in out.stdout, (out.stdout,
                                                                           out.stderr)
    env = dict(os.environ, BATCHBOX_TOKEN=user)
    out = subprocess.run([harness.BIN, "gc", "--server", s.url("")], env=env,
                         capture_output=True, text=True, timeout=harness.scaled(30))
    assert out.returncode == 1, (out.stdout, out.stderr)


def test_global_retention_and_the_collector_thread():
    # the global setting (afterSec) and the background collector every second
    s = Server(env={"BATCHBOX_RETENTION_AFTER_SEC": "1", "BATCHBOX_RETENTION_INTERVAL_SEC": "1"})
    jid = s.submit(preset="noop")
    s.wait_terminal(jid)
    harness.wait_until(lambda: s.req("GET", f"/api/v1/jobs/{jid}").status == 404,
                       harness.scaled(10), what="the collector deleting the job")
    assert s.call("GET", "/api/v1/admin/stats")["retention"]["jobsDeleted"] >= 1


def test_s3_artifacts_are_deleted_from_the_bucket():
    from test_files import start_server
    from test_s3 import S3rver, SECRET_KEY, s3_config
    with S3rver() as s3:
        s = start_server(env={"BATCHBOX_S3_SECRET_KEY": SECRET_KEY}, presets=[SHORT, KEEP],
                         extra=s3_config(s3.endpoint))
        a = s.submit(preset="short", params={"tag": "a"}, upload="s3")
        k = s.submit(preset="keep", upload="s3")
        for j in (a, k):
            dto = s.wait_terminal(j, timeout=30)
            assert dto["state"] == "succeeded", (dto, s.logs(j))
        keys = s3.keys()
        mine = [x for x in keys if f"/{a}/" in x]
        kept = [x for x in keys if f"/{k}/" in x]
        assert mine and kept, keys
        harness.wait_until(lambda: gc(s, True)["jobs"] == 1, harness.scaled(10),
                           what="the S3 job due")
        r = gc(s, False)
        assert r["jobs"] == 1 and r["objectsFailed"] == 0, r
        left = s3.keys()
        assert not [x for x in left if f"/{a}/" in x], left
        assert sorted(x for x in left if f"/{k}/" in x) == sorted(kept), left


def test_a_dependency_of_a_waiting_job_is_kept():
    # W waits for A (finished, past its retention) and for S (scheduled far ahead): A's
    # outcome is part of W's decision, so retention keeps A until W is decided
    s = Server(presets_extra=[SHORT])
    a = s.submit(preset="short", params={"tag": "a"})
    assert s.wait_terminal(a)["state"] == "succeeded"
    sch = s.call("POST", "/api/v1/jobs", {"preset": "noop", "delaySec": 3600},
                 expect=202)["jobId"]
    w = s.call("POST", "/api/v1/jobs", {"preset": "noop", "dependsOn": [a, sch],
                                        "runWhen": "always"}, expect=202)["jobId"]
    assert s.job(w)["state"] == "waiting"
    other = s.submit(preset="short", params={"tag": "b"})
    assert s.wait_terminal(other)["state"] == "succeeded"
    harness.wait_until(lambda: gc(s, False)["jobs"] == 1 or None, harness.scaled(10),
                       what="the unrelated job to be deleted")
    assert_error(s.req("GET", f"/api/v1/jobs/{other}"), 404, "not_found")
    assert s.job(a)["state"] == "succeeded"
    assert gc(s, True)["jobs"] == 0
    # once W is decided (S canceled: runWhen always still runs it), A is due again
    s.action(sch, "cancel", {})
    assert s.wait_terminal(w)["state"] == "succeeded"
    harness.wait_until(lambda: gc(s, False)["jobs"] >= 1 or None, harness.scaled(10),
                       what="A to be deleted once W ran")
    assert_error(s.req("GET", f"/api/v1/jobs/{a}"), 404, "not_found")

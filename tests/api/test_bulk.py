"""Bulk actions by filter (docs/scheduling.md, "Bulk actions") and the job-list filters
flow control adds (createdAfter, createdBefore, owner, outOfAttempts)."""

from harness import Server, assert_error, urlquote

EXTRA = [{"id": "dead", "workflow": "command", "maxAttempts": 1,
          "argv": ["sh", "-c", "exit 2"]}]


def _server(**kw):
    return Server(presets_extra=EXTRA, env={"BATCHBOX_AUTH_REGISTRATION": "open"}, **kw)


def _bulk(s, body, expect=200, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    r = s.req("POST", "/api/v1/jobs/bulk", body, headers)
    assert r.status == expect, r.describe()
    return r.body


def test_bulk_cancel_dry_run_matches_the_count():
    s = _server()
    s.call("POST", "/api/v1/admin/queue/pause")
    mine = [s.submit(preset="noop") for _ in range(7)]
    others = [s.submit(preset="echo") for _ in range(3)]
    flt = {"preset": "noop", "state": "queued"}
    r = _bulk(s, {"action": "cancel", "filter": flt, "dryRun": True})
    assert r == {"action": "cancel", "dryRun": True, "matched": 7}, r
    assert all(s.job(j)["state"] == "queued" for j in mine)   # a dry run changes nothing
    r = _bulk(s, {"action": "cancel", "filter": flt, "reason": "bulk test"})
    assert r["matched"] == 7 and r["done"] == 7 and r["skipped"] == 0, r
    for j in mine:
        dto = s.job(j)
        assert dto["state"] == "canceled" and "bulk test" in dto["error"], dto
    assert all(s.job(j)["state"] == "queued" for j in others)
    assert _bulk(s, {"action": "cancel", "filter": flt, "dryRun": True})["matched"] == 0
    # everything else, by an empty filter
    r = _bulk(s, {"action": "cancel", "dryRun": True})
    assert r["matched"] == 3, r
    s.call("POST", "/api/v1/admin/queue/resume")


def test_dead_letters_and_bulk_retry():
    s = _server()
    ids = [s.submit(preset="dead") for _ in range(3)]
    for j in ids:
        assert s.wait_terminal(j)["state"] == "failed"
    ok = s.submit(preset="noop")
    s.wait_terminal(ok)
    page = s.call("GET", "/api/v1/jobs?outOfAttempts=1")
    assert sorted(d["jobId"] for d in page["items"]) == sorted(ids), page
    r = _bulk(s, {"action": "retry", "filter": {"outOfAttempts": True}, "dryRun": True})
    assert r["matched"] == 3, r
    r = _bulk(s, {"action": "retry", "filter": {"outOfAttempts": True}})
    assert r["done"] == 3, r
    for j in ids:
        dto = s.wait_terminal(j)
        assert dto["state"] == "failed" and dto["attempts"] == 2, dto


def test_users_act_on_their_own_jobs_only():
    s = _server()
    s.call("POST", "/api/v1/admin/queue/pause")
    admin_job = s.submit(preset="noop")
    s.register("bulk-user@example.com", "bulk-password-1")
    tok = s.session("bulk-user@example.com", "bulk-password-1")["accessToken"]
    h = {"Authorization": f"Bearer {tok}"}
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"}, h)
    assert r.status == 202, r.describe()
    user_job = r.body["jobId"]
    uid = s.req("GET", "/api/v1/auth/me", headers=h).body["id"]
    assert _bulk(s, {"action": "cancel", "dryRun": True}, token=tok)["matched"] == 1
    assert_error(s.req("POST", "/api/v1/jobs/bulk", {"action": "cancel", "filter":
                                                      {"owner": "1"}}, h), 400,
                 field="filter.owner")
    assert _bulk(s, {"action": "cancel", "filter": {"owner": str(uid)}, "dryRun": True}
                 )["matched"] == 1
    assert _bulk(s, {"action": "cancel"}, token=tok)["done"] == 1
    assert s.job(user_job)["state"] == "canceled"
    assert s.job(admin_job)["state"] == "queued"
    # the owner filter on lists: admins may name anyone
    page = s.call("GET", f"/api/v1/jobs?owner={uid}")
    assert [d["jobId"] for d in page["items"]] == [user_job], page
    s.call("POST", "/api/v1/admin/queue/resume")


def test_date_filters_on_lists_and_bulk():
    s = _server()
    s.call("POST", "/api/v1/admin/queue/pause")
    a = s.submit(preset="noop")
    t = s.job(a)["createdAt"]
    import time
    time.sleep(0.01)
    b = s.submit(preset="noop")
    tb = s.job(b)["createdAt"]
    page = s.call("GET", f"/api/v1/jobs?createdBefore={urlquote(tb)}")
    assert [d["jobId"] for d in page["items"]] == [a], page
    page = s.call("GET", f"/api/v1/jobs?createdAfter={urlquote(tb)}")
    assert [d["jobId"] for d in page["items"]] == [b], page
    page = s.call("GET", f"/api/v1/jobs?createdAfter={urlquote(t)}&createdBefore=2999-01-01")
    assert len(page["items"]) == 2, page
    r = _bulk(s, {"action": "cancel", "filter": {"createdAfter": tb}, "dryRun": True})
    assert r["matched"] == 1, r
    s.call("POST", "/api/v1/admin/queue/resume")


def test_bad_bulk_and_filter_inputs():
    s = _server()
    cases = [
        ({"action": "explode"}, "action"),
        ({}, "action"),
        ({"action": "cancel", "filter": {"createdAfter": "yesterday"}}, "filter.createdAfter"),
        ({"action": "cancel", "filter": {"createdBefore": "2026-13-40"}}, "filter.createdBefore"),
        ({"action": "cancel", "filter": {"color": "red"}}, "filter.color"),
        ({"action": "cancel", "filter": {"state": "sleeping"}}, "filter.state"),
        ({"action": "cancel", "filter": "queued"}, "filter"),
        ({"action": "retry", "dryRun": "yes"}, "dryRun"),
        ({"action": "cancel", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        assert_error(s.req("POST", "/api/v1/jobs/bulk", body), 400, field=field)
    for q, field in [("createdAfter=soon", "createdAfter"), ("createdBefore=1.5", "createdBefore"),
                     ("owner=abc", "owner"), ("outOfAttempts=maybe", "outOfAttempts")]:
        assert_error(s.req("GET", f"/api/v1/jobs?{q}"), 400, field=field)

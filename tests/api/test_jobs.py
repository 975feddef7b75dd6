"""Job submission, the job DTO, listing with keyset pagination, idempotency."""

import threading

from harness import (Server, TERMINAL, assert_dto, assert_error, scaled, urlquote,
                     wait_until)


def test_noop_dto_has_every_key():
    s = Server()
    jid = s.submit(preset="noop")
    dto = s.wait_terminal(jid)
    assert_dto(dto, jid)
    assert dto["state"] == "succeeded", dto
    assert dto["preset"] == "noop", dto
    for k in ("md", "parentJobId", "manifestPath", "notionUrl", "pageUrl", "error",
              "voiceAccent", "notionDatabase"):
        assert dto[k] is None, f"{k} should be null for a plain noop job: {dto!r}"
    assert dto["withTts"] is False and dto["forceTts"] is False, dto
    assert dto["priority"] == 0, dto
    assert dto["attempts"] == 1 and dto["maxAttempts"] == 1, dto
    assert dto["startedAt"] and dto["finishedAt"], dto
    assert dto["createdAt"] <= dto["startedAt"] <= dto["finishedAt"], dto
    assert dto["updatedAt"] >= dto["createdAt"], dto
    if dto["progress"] is not None:
        assert dto["progress"] == 1, f"succeeded job progress {dto['progress']}"


def test_submit_fields_are_echoed():
    s = Server()
    body = {"md": "a.md", "preset": "noop", "withTts": True, "upload": "none",
            "forceTts": True, "mode": "dialogue", "priority": 7, "params": {"name": "x y"}}
    jid = s.submit(body)
    dto = s.wait_terminal(jid)
    assert_dto(dto, jid)
    assert dto["md"] and dto["md"].endswith("a.md"), dto
    assert dto["withTts"] is True and dto["forceTts"] is True, dto
    assert dto["upload"] == "none" and dto["mode"] == "dialogue", dto
    assert dto["priority"] == 7, dto
    assert dto["params"] == {"name": "x y"}, dto


def test_submit_accepts_json_with_charset():
    s = Server()
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"},
              {"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 202, r.describe()


def test_get_unknown_job_404():
    s = Server()
    for path in ("/api/v1/jobs/424242", "/api/v1/jobs/424242/logs",
                 "/api/v1/jobs/424242/artifacts"):
        assert_error(s.req("GET", path), 404, "not_found")
    r = s.req("POST", "/api/v1/jobs/424242/actions", {"type": "cancel"})
    assert_error(r, 404, "not_found")


def _submit_many(s, n, threads, preset="noop"):
    ids = []
    errors = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker():
        c = s.client()
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                try:
                    r = c.req("POST", "/api/v1/jobs", {"preset": preset, "priority": i % 3})
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append(f"request {i}: {e!r}")
                    continue
                with lock:
                    if r.status == 202:
                        ids.append(r.body["jobId"])
                    else:
                        errors.append(r.describe())
        finally:
            c.close()

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(scaled(60))
    assert not any(t.is_alive() for t in ts), "submit threads hung"
    assert not errors, f"{len(errors)} submits failed, first: {errors[:3]}"
    return ids


def test_concurrent_submits_and_pagination():
    s = Server()
    ids = _submit_many(s, 200, 16)
    assert len(ids) == 200, len(ids)
    assert len(set(ids)) == 200, f"duplicate jobIds among {len(ids)}"

    def all_done():
        body = s.call("GET", "/api/v1/jobs?state=succeeded&limit=200")
        return len(body["items"]) == 200
    wait_until(all_done, 30, interval=0.1, what="200 jobs to succeed")

    items, pages = s.list_all(limit=37)
    got = [i["jobId"] for i in items]
    assert len(got) == len(set(got)), "duplicates across pages"
    assert set(got) == set(ids), f"pages list {len(got)} jobs; missing " \
                                 f"{sorted(set(ids) - set(got))[:5]} extra {sorted(set(got) - set(ids))[:5]}"
    assert pages == 6, f"200 jobs with limit 37 should be 6 pages, got {pages}"
    for it in items:
        assert_dto(it)
        assert it["state"] == "succeeded", it
    # Newest first: by id, or by (createdAt, id).
    by_id = [int(x) for x in got]
    keys = [(i["createdAt"], int(i["jobId"])) for i in items]
    assert by_id == sorted(by_id, reverse=True) or keys == sorted(keys, reverse=True), \
        f"not newest first: {got[:10]}..."
    # The default page is 50 and the max page 200.
    assert len(s.call("GET", "/api/v1/jobs")["items"]) == 50
    assert len(s.call("GET", "/api/v1/jobs?limit=200")["items"]) == 200
    # A cursor keeps working while new jobs arrive: nothing repeats, nothing is skipped.
    first = s.call("GET", "/api/v1/jobs?limit=10")
    newer = s.submit(preset="noop")
    rest, _ = _walk_from(s, first["nextCursor"], 50)
    walked = [i["jobId"] for i in first["items"]] + [i["jobId"] for i in rest]
    assert newer not in walked, "a job created after the first page showed up on later pages"
    assert sorted(walked) == sorted(ids), "walking with a cursor lost or repeated jobs"


def _walk_from(s, cursor, limit):
    items = []
    for _ in range(100):
        if cursor is None:
            return items, None
        body = s.call("GET", f"/api/v1/jobs?limit={limit}&cursor={urlquote(cursor)}")
        items += body["items"]
        cursor = body["nextCursor"]
    raise AssertionError("cursor walk did not end")


def test_list_filters():
    s = Server()
    a = s.submit(preset="noop", md="a.md")
    b = s.submit(preset="noop", md="sub/c.md")
    e = s.submit(preset="echo")
    f = s.submit(preset="fail")
    for j in (a, b, e):
        assert s.wait_terminal(j)["state"] == "succeeded"
    assert s.wait_terminal(f, timeout=20)["state"] == "failed"

    def ids(q):
        return [i["jobId"] for i in s.call("GET", f"/api/v1/jobs?{q}")["items"]]
    assert ids("state=failed") == [f], ids("state=failed")
    assert sorted(ids("state=succeeded")) == sorted([a, b, e])
    assert ids("preset=echo") == [e]
    assert sorted(ids("preset=noop")) == sorted([a, b])
    assert ids("q=c.md") == [b], ids("q=c.md")
    assert ids("q=sub") == [b]
    assert ids("q=zzqzz") == []
    assert ids("state=succeeded&preset=noop&q=a.md") == [a]
    assert ids("state=queued") == [] and ids("state=running") == []
    for st in ("canceled",):
        assert ids(f"state={st}") == []


def test_list_bad_query_params():
    s = Server()
    for q in ("state=bogus", "limit=0", "limit=201", "limit=abc", "limit=-5", "limit=1.5",
              "cursor=%21%21not-a-cursor", "limit=99999999999999999999"):
        assert_error(s.req("GET", f"/api/v1/jobs?{q}"), 400, "invalid")


def test_idempotency_key():
    s = Server()
    body = {"preset": "noop", "priority": 1}
    h = {"Idempotency-Key": "key-123"}
    r1 = s.req("POST", "/api/v1/jobs", body, h)
    assert r1.status == 202, r1.describe()
    r2 = s.req("POST", "/api/v1/jobs", body, h)
    assert r2.status == 202, r2.describe()
    assert r1.body["jobId"] == r2.body["jobId"], (r1.body, r2.body)
    # Same body, different key (or no key): a new job.
    r3 = s.req("POST", "/api/v1/jobs", body, {"Idempotency-Key": "key-456"})
    assert r3.status == 202 and r3.body["jobId"] != r1.body["jobId"], r3.describe()
    r4 = s.req("POST", "/api/v1/jobs", body)
    assert r4.status == 202 and r4.body["jobId"] not in (r1.body["jobId"], r3.body["jobId"])
    # Same key, different body: conflict, and no job is created for it.
    before = len(s.list_all()[0])
    r5 = s.req("POST", "/api/v1/jobs", {"preset": "noop", "priority": 2}, h)
    assert_error(r5, 409, "conflict")
    assert len(s.list_all()[0]) == before
    # Still the same answer after the job finished.
    s.wait_terminal(r1.body["jobId"])
    r6 = s.req("POST", "/api/v1/jobs", body, h)
    assert r6.status == 202 and r6.body["jobId"] == r1.body["jobId"], r6.describe()


def test_idempotency_key_concurrent_same_key():
    s = Server()
    body = {"preset": "noop"}
    results = []
    lock = threading.Lock()

    def go():
        r = s.req("POST", "/api/v1/jobs", body, {"Idempotency-Key": "race"})
        with lock:
            results.append(r)
    ts = [threading.Thread(target=go, daemon=True) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(scaled(20))
    assert len(results) == 8
    assert all(r.status == 202 for r in results), [r.describe() for r in results]
    assert len({r.body["jobId"] for r in results}) == 1, \
        f"one key raced into several jobs: {[r.body for r in results]}"
    assert len(s.list_all()[0]) == 1


def test_jobs_survive_restart():
    s = Server()
    ids = [s.submit(preset="noop") for _ in range(5)]
    for j in ids:
        s.wait_terminal(j)
    before = {j: s.job(j) for j in ids}
    s.stop()
    s.restart()
    for j in ids:
        after = s.job(j)
        assert after == before[j], f"job {j} changed across a restart: {before[j]} -> {after}"
    nxt = s.submit(preset="noop")
    assert int(nxt) > max(int(j) for j in ids), f"job id reused after restart: {nxt}"
    assert s.wait_terminal(nxt)["state"] == "succeeded"
    assert all(i["state"] in TERMINAL for i in s.list_all()[0])

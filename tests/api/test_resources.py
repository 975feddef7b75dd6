"""Resource pools (docs/scheduling.md, "Resources"): jobs never over-commit a pool (checked
from the children's own records of the units they held), a large job is not starved by
small ones, children see their units, bad needs are 400s naming the field, usage in stats
and metrics, units are not leaked across a crash."""

import os

from harness import Server, assert_error, wait_until

# Each child writes RUNS/<jobId>.rec: "start NS GPU VRAM" then "end NS".
REC = ("echo start $(date +%s%N) ${{BATCHBOX_RESOURCE_GPU:-none}} "
       "${{BATCHBOX_RESOURCE_VRAM:-0}} ${{BATCHBOX_RESOURCE_GPU_COUNT:-0}} > RUNS/{jobId}.rec; "
       "sleep {param.t}; "
       "echo end $(date +%s%N) >> RUNS/{jobId}.rec")
T = {"name": "t", "type": "float", "default": 0.3, "min": 0, "max": 5}


def _preset(pid, needs, allow=False):
    p = {"id": pid, "workflow": "command", "maxAttempts": 1, "needs": needs,
         "params": [T], "argv": ["sh", "-c", REC]}
    if allow:
        p["allowJobNeeds"] = True
    return p


PRESETS = [
    _preset("g1", {"gpu": 1, "vram": 8}),
    _preset("g2", {"gpu": 2, "vram": 16}),
    _preset("v12", {"vram": 12}),
    _preset("any", {"gpu": 1}, allow=True),
]


def _server(reserve=60, workers=4, **kw):
    s = Server(config=None, start=False, workers=workers, **kw)
    cfg = s.default_config(resources={"gpu": 2, "vram": {"amount": 24}},
                           queue={"reserveAfterSec": reserve})
    cfg["presets"] += [dict(p, argv=[a.replace("RUNS", s.runs) for a in p["argv"]])
                       for p in PRESETS]
    s.write_config(cfg)
    s.start()
    return s


def _records(s, ids):
    """{jobId: (start_ns, end_ns, gpu_units, vram, count)} from the children's files."""
    out = {}
    for jid in ids:
        with open(os.path.join(s.runs, f"{jid}.rec")) as f:
            lines = f.read().split("\n")
        st = lines[0].split()
        en = lines[1].split()
        gpus = [] if st[2] == "none" else [int(u) for u in st[2].split(",")]
        out[jid] = (int(st[1]), int(en[1]), gpus, int(st[3]), int(st[4]))
    return out


def test_pools_never_overcommit():
    s = _server()
    ids = []
    for preset in ["g1", "g2", "v12", "g1", "v12", "g2", "g1", "v12", "g1"]:
        ids.append(s.submit(preset=preset, params={"t": 0.2}))
    for jid in ids:
        dto = s.wait_terminal(jid, timeout=30)
        assert dto["state"] == "succeeded", dto
        assert dto["resources"] is None, dto
    assert s.job(ids[0])["needs"] == {"gpu": 1, "vram": 8}
    recs = _records(s, ids)
    # what each child saw matches its preset's needs
    for jid, preset in zip(ids, ["g1", "g2", "v12", "g1", "v12", "g2", "g1", "v12", "g1"]):
        _, _, gpus, vram, count = recs[jid]
        want = {"g1": (1, 8), "g2": (2, 16), "v12": (0, 12)}[preset]
        assert (len(gpus), vram) == want and count == len(gpus), (preset, recs[jid])
        assert all(0 <= u < 2 for u in gpus), recs[jid]
    # at every start, the jobs running then hold distinct units and at most the pools
    for jid, (start, _, _, _, _) in recs.items():
        live = [r for r in recs.values() if r[0] <= start < r[1]]
        units = [u for r in live for u in r[2]]
        assert len(units) == len(set(units)) and len(units) <= 2, (jid, live)
        assert sum(r[3] for r in live) <= 24, (jid, live)
    st = s.call("GET", "/api/v1/admin/stats")
    assert st["resources"]["gpu"] == {"total": 2, "used": 0, "free": 2, "counted": True}, st
    assert st["resources"]["vram"]["total"] == 24 and st["resources"]["vram"]["used"] == 0
    m = s.req("GET", "/metrics")
    assert 'batchbox_resource_units{pool="gpu",state="free"} 2' in m.raw.decode(), m.raw[:300]


def test_running_job_shows_units_and_waiting_job_says_why():
    s = _server()
    a = s.submit(preset="g2", params={"t": 3})
    dto = s.wait_state(a, "running")
    assert dto["resources"] == {"gpu": [0, 1], "vram": 16}, dto
    b = s.submit(preset="g1", params={"t": 0})
    w = wait_until(lambda: s.job(b)["waitingFor"], 10, what="waitingFor of the blocked job")
    assert w == "gpu: needs 1, 0 of 2 free", w
    assert s.job(b)["state"] == "queued"
    q = s.call("GET", "/api/v1/admin/queue")
    assert q["resources"]["gpu"]["used"] == 2, q
    s.action(a, "cancel")
    dto = s.wait_terminal(b, timeout=15)
    assert dto["state"] == "succeeded" and dto["waitingFor"] is None, dto


def test_large_job_is_not_starved():
    s = _server(reserve=0)
    first = [s.submit(preset="g1", params={"t": 0.6}), s.submit(preset="v12", params={"t": 0.6})]
    s.wait_state(first[0], "running")
    big = s.submit(preset="g2", params={"t": 0})
    small = [s.submit(preset="g1", params={"t": 0.4}) for _ in range(5)]
    for jid in first + [big] + small:
        assert s.wait_terminal(jid, timeout=30)["state"] == "succeeded"
    recs = _records(s, [big] + small)
    # every small job submitted after the big one started after it
    assert all(recs[big][0] < recs[j][0] for j in small), recs


def test_job_needs_are_validated():
    s = _server()
    cases = [({"gpu": 3}, "needs.gpu"), ({"tpu": 1}, "needs.tpu"), ({"gpu": -1}, "needs.gpu"),
             ({"gpu": 1.5}, "needs.gpu"), ("x", "needs")]
    for needs, field in cases:
        r = s.req("POST", "/api/v1/jobs", {"preset": "any", "needs": needs})
        assert_error(r, 400, field=field)
    r = s.req("POST", "/api/v1/jobs", {"preset": "g1", "needs": {"gpu": 1}})
    assert_error(r, 400, field="needs")
    jid = s.submit(preset="any", needs={"gpu": 2, "vram": 4}, params={"t": 0})
    assert s.job(jid)["needs"] == {"gpu": 2, "vram": 4}
    assert s.wait_terminal(jid)["state"] == "succeeded"
    assert _records(s, [jid])[jid][2:4] == ([0, 1], 4)


def test_bad_pool_config_is_refused():
    s = Server(config=None, start=False)
    cfg = s.default_config(resources={"gpu": 2})
    cfg["presets"].append({"id": "x", "workflow": "noop", "needs": {"gpu": 3}})
    import json
    s.config_path = os.path.join(s.data, "batchbox.json")
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    assert s.start(expect_fail=True) != 0
    assert "needs.gpu" in s.stderr_text(), s.stderr_tail()


def test_units_are_not_leaked_by_a_crash():
    s = _server()
    a = s.submit(preset="g2", params={"t": 5})
    s.wait_state(a, "running")
    s.kill9()
    s.start()
    # the requeued job holds the units again, and nothing more
    dto = s.wait_state(a, "running", timeout=15)
    assert dto["resources"] == {"gpu": [0, 1], "vram": 16}, dto
    s.action(a, "cancel")
    s.wait_terminal(a)
    b = s.submit(preset="g2", params={"t": 0})
    assert s.wait_terminal(b)["state"] == "succeeded"
    st = s.call("GET", "/api/v1/admin/stats")
    assert st["resources"]["gpu"]["used"] == 0, st

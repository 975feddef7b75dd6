"""The comfyui workflow (docs/comfyui.md) against the fake ComfyUI (tests/api/comfy.py): one
prompt end to end (typed substitution, progress, artifacts with the fake's bytes,
comfyui-history.json, GET /jobs/:id/comfyui), a sweep over two servers, a server killed
mid-run, a batchbox restart while prompts run (nothing posted twice), a prompt finished
while the socket was away, node and execution errors, cancel of running and pending
prompts, timeout, garbage, a hanging server, an output over limits.maxArtifactBytes, and the
preset keys' configuration errors."""

import json
import os
import shutil

from comfy import FakeComfy
from harness import Server, assert_error, default_presets, wait_until

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "comfyui",
                       "sdxl.json")
PARAMS = [
    {"name": "prompt", "type": "text", "default": "a cat"},
    {"name": "seed", "type": "seed", "default": "random"},
    {"name": "steps", "type": "int", "default": 4, "min": 1, "max": 100},
    {"name": "ckpt", "type": "string", "default": "sd_xl_base_1.0.safetensors"},
]


def _preset(**extra):
    p = {"id": "sdxl", "workflow": "comfyui", "graph": "sdxl.json", "params": PARAMS,
         "maxAttempts": 1}
    p.update(extra)
    return p


def _server(fakes, preset=None, comfy=None, extra=None, start=True, presets=()):
    """A batchbox whose configuration lists fakes {id: FakeComfy} (1 slot each) and the
    sdxl preset, its graph copied beside the configuration file."""
    s = Server(config=None, start=False)
    section = {"servers": [{"id": sid, "url": fc.url, "slots": 1}
                           for sid, fc in fakes.items()],
               "healthIntervalSec": 1, "requestTimeoutMs": 2000, "pollIntervalMs": 100,
               "lostAfterSec": 2}
    section.update(comfy or {})
    cfg = s.default_config(comfyui=section)
    cfg["presets"] = cfg["presets"] + [preset or _preset()] + list(presets)
    cfg.update(extra or {})
    s.config = cfg
    s.config_path = os.path.join(s.data, "batchbox.json")
    for name in ("sdxl.json", "upload.json"):
        shutil.copy(os.path.join(os.path.dirname(FIXTURE), name), os.path.join(s.data, name))
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    if start:
        s.start()
        for sid in fakes:
            wait_until(lambda sid=sid: _status(s, sid) == "up", 15, interval=0.1,
                       what=f"{sid} up")
    return s


def _status(s, sid):
    for x in s.call("GET", "/api/v1/comfyui/servers")["servers"]:
        if x["id"] == sid:
            return x["status"]
    return None


def _prompts(s, job_id):
    return s.call("GET", f"/api/v1/jobs/{job_id}/comfyui")["prompts"]


def _artifacts(s, job_id):
    return {a["name"]: a for a in s.call("GET", f"/api/v1/jobs/{job_id}/artifacts")["items"]}


def test_one_prompt_end_to_end():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=10, steps=4)
        s = _server({"gpu1": fc})
        ev = s.sse()
        try:
            jid = s.submit(preset="sdxl", params={"prompt": "a red fox", "seed": 42,
                                                  "steps": "6"})
            dto = s.wait_terminal(jid)
            assert dto["state"] == "succeeded", dto
            ev.wait_job_state(jid, "succeeded")
            progress = [e for e in ev.events if e.job_id == jid and e.event == "job_progress"]
        finally:
            ev.close()
        got = fc.prompts()
        assert len(got) == 1, got
        g = got[0]["prompt"]
        # typed substitution: numbers stay numbers, the seed is the stored one
        assert g["3"]["inputs"]["seed"] == 42 and g["3"]["inputs"]["steps"] == 6, g["3"]
        assert g["6"]["inputs"]["text"] == "a red fox", g["6"]
        assert g["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
        assert g["3"]["inputs"]["model"] == ["4", 0]
        assert progress, "no progress events"

        arts = _artifacts(s, jid)
        assert "comfyui-history.json" in arts, arts
        pngs = [n for n in arts if n.endswith(".png")]
        assert len(pngs) == 1, arts
        body = s.call("GET", f"/api/v1/jobs/{jid}/artifacts/{pngs[0]}", raw=True)
        with open(os.path.join(fc.root, "output", pngs[0]), "rb") as f:
            assert body == f.read()
        hist = json.loads(s.call("GET", f"/api/v1/jobs/{jid}/artifacts/comfyui-history.json",
                                 raw=True))
        assert hist["status"]["status_str"] == "success", hist

        ps = _prompts(s, jid)
        assert len(ps) == 1 and ps[0]["promptId"] == got[0]["prompt_id"], ps
        p = ps[0]
        assert p["server"] == "gpu1" and p["state"] == "succeeded" and p["attempt"] == 1, p
        assert p["error"] is None and p["current"] is None, p
        classes = {n["class"] for n in p["nodes"]}
        assert "KSampler" in classes and "SaveImage" in classes, p["nodes"]
        assert all(n["state"] in ("done", "cached") for n in p["nodes"]), p["nodes"]
        log = s.call("GET", f"/api/v1/jobs/{jid}/logs", raw=True)
        log = log.decode() if isinstance(log, bytes) else log
        assert "queued #" in log and "KSampler" in log, log

        # a random seed is resolved at submit and the fake gets that number
        jid2 = s.submit(preset="sdxl", params={"seed": "random"})
        dto2 = s.wait_terminal(jid2)
        assert dto2["state"] == "succeeded", dto2
        seed = dto2["params"]["seed"]
        assert isinstance(seed, int)
        assert fc.prompts()[1]["prompt"]["3"]["inputs"]["seed"] == seed

        # another user's job is not found; an unknown job neither
        assert_error(s.req("GET", "/api/v1/jobs/999999/comfyui"), 404)
        s.stop()


def _log(s, jid):
    log = s.call("GET", f"/api/v1/jobs/{jid}/logs", raw=True)
    return log.decode() if isinstance(log, bytes) else log


def _wait_prompt_state(s, jid, states, timeout=15):
    def check():
        ps = _prompts(s, jid)
        return ps[-1] if ps and ps[-1]["state"] in states else None
    return wait_until(check, timeout, interval=0.05, what=f"job {jid} prompt {states}")


def _paths(fc, method):
    return [r["path"].replace("/api/", "/") for r in fc.requests() if r["method"] == method]


def _batch(s, sweep):
    r = s.req("POST", "/api/v1/jobs", {"preset": "sdxl", "sweep": sweep})
    assert r.status == 201, r.describe()
    return r.body["jobId"]


def test_sweep_over_two_servers_and_one_killed():
    with FakeComfy(name="gpu1") as f1, FakeComfy(name="gpu2") as f2:
        for f in (f1, f2):
            f.config(step_ms=5, steps=2)
        s = _server({"gpu1": f1, "gpu2": f2},
                    preset=_preset(maxAttempts=3, retryDelayMs=50))
        bid = _batch(s, {"prompt": ["a cat", "a dog", "a fox"],
                         "seed": {"start": 7, "count": 4}})
        dto = s.wait_terminal(bid, timeout=60)
        assert dto["state"] == "succeeded" and dto["batch"]["succeeded"] == 12, dto
        # the gallery shows outputs only: the PNGs, not the history kept for the record
        items = s.call("GET", f"/api/v1/jobs/{bid}/gallery")["items"]
        assert len(items) == 12, items
        for it in items:
            names = [a["name"] for a in it["artifacts"]]
            assert names and all(n.endswith(".png") for n in names), names
            assert "comfyui-history.json" in _artifacts(s, it["id"]), it["id"]
        n1, n2 = len(f1.prompts()), len(f2.prompts())
        assert n1 + n2 == 12 and n1 > 0 and n2 > 0, (n1, n2)
        seeds = sorted(p["prompt"]["3"]["inputs"]["seed"] for p in f1.prompts() + f2.prompts())
        assert seeds == sorted([7, 8, 9, 10] * 3), seeds

        # gpu2 dies mid-prompt: its prompt is lost and re-run on gpu1, the batch succeeds
        f1.config(step_ms=20, steps=4)
        f2.config(step_ms=300, steps=20)
        bid = _batch(s, {"prompt": ["x", "y"], "seed": [1, 2]})
        wait_until(lambda: f2.prompts(), 20, interval=0.05, what="a prompt on gpu2")
        f2.kill()
        dto = s.wait_terminal(bid, timeout=60)
        assert dto["state"] == "succeeded" and dto["batch"]["succeeded"] == 4, dto
        kids = s.call("GET", f"/api/v1/jobs/{bid}/gallery")["items"]
        moved = [k for k in kids if any(p["server"] == "gpu2" and p["state"] == "lost"
                                        for p in _prompts(s, k["id"]))]
        assert moved, [(_prompts(s, k["id"])) for k in kids]
        for k in moved:
            ps = _prompts(s, k["id"])
            assert ps[-1]["server"] == "gpu1" and ps[-1]["state"] == "succeeded", ps
            assert s.job(k["id"])["attempts"] == 2
        s.stop()


def test_restart_while_prompts_run_posts_nothing_twice():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=5, steps=2, hold=True)
        s = _server({"gpu1": fc}, preset=_preset(maxAttempts=3, retryDelayMs=50))
        jids = [s.submit(preset="sdxl", params={"seed": i}) for i in range(3)]
        wait_until(lambda: fc.prompts(), 15, interval=0.05, what="a held prompt")
        s.kill9()
        fc.release()           # the held prompt finishes while batchbox is down
        wait_until(lambda: fc.finished(), 15, interval=0.05, what="the prompt finished")
        s.restart()
        for j in jids:
            assert s.wait_terminal(j, timeout=30)["state"] == "succeeded", s.job(j)
        ids = [p["prompt_id"] for p in fc.prompts() if p.get("status", 200) == 200]
        assert len(ids) == 3 and len(set(ids)) == 3, fc.prompts()
        for j in jids:
            arts = _artifacts(s, j)
            assert any(n.endswith(".png") for n in arts), arts
        s.stop()


def test_after_a_restart_a_job_waits_for_the_server_that_has_its_prompt():
    # the server holding the job's queued prompt answers its first check only
    # after the other server is up: the job waits for it (not posted again on
    # the other), then is asked about there and collected
    with FakeComfy(name="gpu1") as f1, FakeComfy(name="gpu2") as f2:
        for f in (f1, f2):
            f.config(step_ms=5, steps=2, hold=True)
        s = _server({"gpu1": f1, "gpu2": f2}, comfy={"requestTimeoutMs": 5000},
                    preset=_preset(maxAttempts=3, retryDelayMs=50))
        jid = s.submit(preset="sdxl", params={"seed": 9})
        wait_until(lambda: f1.prompts() or f2.prompts(), 15, interval=0.05, what="a prompt")
        holder, other = (f1, f2) if f1.prompts() else (f2, f1)
        s.kill9()
        holder.config(hang=True)
        s.restart()
        wait_until(lambda: "to be checked" in (s.job(jid).get("waitingFor") or ""), 15,
                   interval=0.05, what="waitingFor the holder's first check")
        assert _status(s, other.name) == "up" and not other.prompts(), other.prompts()
        holder.config(hang=False)
        holder.release()
        assert s.wait_terminal(jid, timeout=30)["state"] == "succeeded", s.job(jid)
        assert not other.prompts() and len(holder.prompts()) == 1, (other.prompts(),
                                                                     holder.prompts())
        s.stop()


def test_prompt_finished_while_socket_away_is_collected():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=5, steps=2, drop_socket=True, drop_socket_ms=1500)
        s = _server({"gpu1": fc})
        jid = s.submit(preset="sdxl", params={"seed": 5})
        assert s.wait_terminal(jid, timeout=30)["state"] == "succeeded", s.job(jid)
        assert len(fc.prompts()) == 1
        assert "socket down" in _log(s, jid)
        assert any(n.endswith(".png") for n in _artifacts(s, jid))
        s.stop()


def test_node_and_execution_errors_fail_at_once():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=5, steps=2, node_error={"node": "4", "message": "no such ckpt"})
        s = _server({"gpu1": fc}, preset=_preset(maxAttempts=3, retryDelayMs=50))
        jid = s.submit(preset="sdxl", params={"seed": 1})
        dto = s.wait_terminal(jid)
        assert dto["state"] == "failed" and dto["attempts"] == 1, dto
        assert "node 4" in dto["error"] and "CheckpointLoaderSimple" in dto["error"], dto
        assert _prompts(s, jid)[0]["state"] == "failed"

        fc.config(node_error=None, exec_error={"node": "3", "message": "CUDA out of memory"})
        jid = s.submit(preset="sdxl", params={"seed": 2})
        dto = s.wait_terminal(jid)
        assert dto["state"] == "failed" and dto["attempts"] == 1, dto
        assert "node 3 (KSampler)" in dto["error"], dto
        assert "CUDA out of memory" in dto["error"], dto
        p = _prompts(s, jid)[0]
        assert p["state"] == "failed" and "CUDA" in p["error"], p
        assert any(n["id"] == "3" and n["state"] == "error" for n in p["nodes"]), p
        s.stop()


def test_cancel_running_and_pending_prompts_and_timeout():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=200, steps=50)
        short = _preset(id="short", timeoutSec=1)
        s = _server({"gpu1": fc}, presets=[short])
        jid = s.submit(preset="sdxl", params={"seed": 1})
        _wait_prompt_state(s, jid, ("running",))
        s.call("POST", f"/api/v1/jobs/{jid}/actions", {"type": "cancel"})
        assert s.wait_terminal(jid)["state"] == "canceled"
        assert "/interrupt" in _paths(fc, "POST")
        assert _prompts(s, jid)[0]["state"] == "interrupted"

        # pending: an outside prompt holds the server
        fc.config(hold=True, step_ms=5, steps=2)
        wait_until(lambda: not fc.queue()["queue_running"], 15, interval=0.05,
                   what="the interrupted prompt gone")
        with open(FIXTURE) as f:
            g = json.load(f)
        g["3"]["inputs"].update(seed=1, steps=2)
        g["4"]["inputs"]["ckpt_name"] = "sd_xl_base_1.0.safetensors"
        g["6"]["inputs"]["text"] = "outside"
        assert fc.submit(g)[0] == 200
        jid = s.submit(preset="sdxl", params={"seed": 2})
        _wait_prompt_state(s, jid, ("queued",))
        s.call("POST", f"/api/v1/jobs/{jid}/actions", {"type": "cancel"})
        assert s.wait_terminal(jid)["state"] == "canceled"
        assert "/queue" in _paths(fc, "POST")
        mine = _prompts(s, jid)[0]["promptId"]
        q = fc.queue()
        assert all(mine not in json.dumps(x) for x in q["queue_pending"]), q
        fc.release()

        # timeout: interrupted, then failed
        fc.config(step_ms=200, steps=50)
        jid = s.submit(preset="short", params={"seed": 3})
        dto = s.wait_terminal(jid, timeout=20)
        assert dto["state"] == "failed" and "timed out" in dto["error"], dto
        assert _paths(fc, "POST").count("/interrupt") >= 2
        s.stop()


def test_garbage_hang_and_output_over_the_cap():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=100, steps=40)
        s = _server({"gpu1": fc}, extra={"limits": {"maxBodyBytes": 65536,
                                                    "maxArtifactBytes": 20000}})
        jid = s.submit(preset="sdxl", params={"seed": 1})
        _wait_prompt_state(s, jid, ("running",))
        fc.config(garbage=True)
        dto = s.wait_terminal(jid, timeout=20)
        assert dto["state"] == "failed" and "garbage" in dto["error"], dto
        assert _prompts(s, jid)[0]["state"] == "lost"
        fc.config(garbage=False, step_ms=100, steps=40)
        wait_until(lambda: _status(s, "gpu1") == "up", 15, interval=0.1, what="gpu1 up")

        jid = s.submit(preset="sdxl", params={"seed": 2})
        _wait_prompt_state(s, jid, ("running",))
        fc.config(hang=True)
        dto = s.wait_terminal(jid, timeout=30)
        assert dto["state"] == "failed" and "unreachable" in dto["error"], dto
        fc.config(hang=False, step_ms=5, steps=2, output_bytes=50000)
        wait_until(lambda: _status(s, "gpu1") == "up", 15, interval=0.1, what="gpu1 up")

        jid = s.submit(preset="sdxl", params={"seed": 3})
        dto = s.wait_terminal(jid, timeout=20)
        assert dto["state"] == "failed", dto
        assert "limits.maxArtifactBytes" in dto["error"], dto
        s.stop()


def test_a_prompt_left_on_a_server_is_taken_off_when_it_comes_back():
    # gpu1 stops answering (hang) while its prompt runs on: the attempt gives
    # it up as lost and the job moves to gpu2 and succeeds.  When gpu1 answers
    # again, the prompt nobody follows is interrupted there, not left to run.
    with FakeComfy(name="gpu1") as f1, FakeComfy(name="gpu2") as f2:
        f1.config(step_ms=300, steps=100)          # 30 s unless interrupted
        f2.config(step_ms=5, steps=2)
        s = _server({"gpu1": f1}, preset=_preset(maxAttempts=2, retryDelayMs=50))
        jid = s.submit(preset="sdxl", params={"seed": 5})
        first = _wait_prompt_state(s, jid, ("running",))
        f1.config(hang=True)
        s.call("POST", "/api/v1/comfyui/servers", {"id": "gpu2", "url": f2.url}, expect=201)
        dto = s.wait_terminal(jid, timeout=30)
        assert dto["state"] == "succeeded" and dto["attempts"] == 2, dto
        f1.config(hang=False)
        gone = wait_until(lambda: [p for p in _prompts(s, jid) if p["state"] == "interrupted"],
                          15, interval=0.1, what="the left prompt taken off gpu1")
        assert gone[0]["promptId"] == first["promptId"] and gone[0]["server"] == "gpu1", gone
        assert "no longer follows it: interrupted on gpu1" in gone[0]["error"], gone
        assert "/interrupt" in _paths(f1, "POST"), f1.requests()
        # gpu1's worker is free again: a new prompt there runs now, not in 20 s
        f1.config(step_ms=5, steps=2)
        s.call("PATCH", "/api/v1/comfyui/servers/gpu2", {"enabled": False})
        j2 = s.submit(preset="sdxl", params={"seed": 6})
        assert s.wait_terminal(j2, timeout=15)["state"] == "succeeded", s.job(j2)
        assert _prompts(s, j2)[-1]["server"] == "gpu1"
        s.stop()


def test_preset_configuration_errors():
    i = len(default_presets())
    cases = [
        (_preset(graph="missing.json"), f"presets[{i}].graph"),
        (_preset(params=PARAMS[1:]), "{{prompt}}"),
        (_preset(servers={"labels": ["bad label"]}), f"presets[{i}].servers.labels[0]"),
        (_preset(servers=[]), f"presets[{i}].servers"),
        ({"id": "x", "workflow": "comfyui", "params": PARAMS}, f"presets[{i}].graph"),
        ({"id": "x", "workflow": "noop", "graph": "sdxl.json"}, f"presets[{i}].graph"),
    ]
    for preset, needle in cases:
        s = _server({}, preset=preset, start=False)
        try:
            assert s.start(expect_fail=True) != 0, preset
            assert needle in s.stderr_text(), (needle, s.stderr_tail())
        finally:
            s.cleanup()


def test_file_param_is_uploaded_to_the_server():
    with FakeComfy(name="gpu1") as fc:
        fc.config(step_ms=5, steps=2)
        up = _preset(id="up", graph="upload.json",
                     params=[{"name": "photo", "type": "file", "required": True}])
        s = _server({"gpu1": fc}, presets=[up], start=False)
        data = b"\x89PNG\r\n\x1a\n not really a png, but bytes to compare"
        os.makedirs(os.path.join(fc.root, "input"), exist_ok=True)
        with open(os.path.join(fc.root, "input", "pic.png"), "wb") as f:
            f.write(b"taken")            # the server renames the upload
        with open(os.path.join(s.inputs, "pic.png"), "wb") as f:
            f.write(data)
        s.start()
        wait_until(lambda: _status(s, "gpu1") == "up", 15, interval=0.1, what="gpu1 up")
        jid = s.submit(preset="up", params={"photo": "pic.png"})
        dto = s.wait_terminal(jid, timeout=20)
        assert dto["state"] == "succeeded", dto
        name = fc.prompts()[0]["prompt"]["1"]["inputs"]["image"]
        assert name != "pic.png" and name.endswith(".png"), name
        with open(os.path.join(fc.root, "input", name), "rb") as f:
            assert f.read() == data
        assert "uploaded to gpu1 as" in _log(s, jid)
        s.stop()

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
from harness import Server, assert_error, wait_until

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


def _server(fakes, preset=None, comfy=None, extra=None, start=True):
    """A batchbox whose configuration lists fakes {id: FakeComfy} (1 slot each) and the
    sdxl preset, its graph copied beside the configuration file."""
    s = Server(config=None, start=False)
    section = {"servers": [{"id": sid, "url": fc.url, "slots": 1}
                           for sid, fc in fakes.items()],
               "healthIntervalSec": 1, "requestTimeoutMs": 2000, "pollIntervalMs": 100,
               "lostAfterSec": 2}
    section.update(comfy or {})
    cfg = s.default_config(comfyui=section)
    cfg["presets"] = cfg["presets"] + [preset or _preset()]
    cfg.update(extra or {})
    s.config = cfg
    s.config_path = os.path.join(s.data, "batchbox.json")
    shutil.copy(FIXTURE, os.path.join(s.data, "sdxl.json"))
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

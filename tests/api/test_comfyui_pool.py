"""The ComfyUI server pool (docs/comfyui.md, "Servers", "The model catalogue"): servers of
the configuration and of admins, health from /system_stats (up, down with lastError, up
again), devices and version, the catalogue from /models and the /object_info fallback,
GET /comfyui/models, the admin routes' bad inputs (400 naming the field, 404, 409, 403 for
users), persistence across a restart, the metrics per server and the CLI."""

import json
import os
import shutil
import subprocess

import harness
from comfy import FakeComfy
from harness import Server, assert_error, wait_until

API = "/api/v1/comfyui"


def _server(fakes, extra=None, env=None, **comfy):
    """A batchbox whose configuration lists fakes {id: (FakeComfy, labels)}."""
    s = Server(config=None, start=False, env=dict(env or {}, BATCHBOX_AUTH_REGISTRATION="open"))
    section = {"servers": [{"id": sid, "url": fc.url, "slots": 1, "labels": labels}
                           for sid, (fc, labels) in fakes.items()],
               "healthIntervalSec": 1, "requestTimeoutMs": 2000}
    section.update(comfy)
    cfg = s.default_config(comfyui=section)
    cfg.update(extra or {})
    s.write_config(cfg)
    s.start()
    return s


def _servers(s, token=None):
    return {x["id"]: x for x in s.call("GET", f"{API}/servers", token=token)["servers"]}


def _wait_status(s, sid, status, timeout=15):
    def check():
        x = _servers(s).get(sid)
        return x if x and x["status"] == status else None
    return wait_until(check, timeout, interval=0.1, what=f"{sid} {status}")


def _user(s, email="user@example.com"):
    return s.register(email, "password-of-user").body["accessToken"]


def test_config_server_health_devices_catalogue_and_metrics():
    with FakeComfy(name="gpu1", models={"loras": ["a.safetensors"]}, version="0.3.41") as fc:
        s = _server({"gpu1": (fc, ["sdxl"])})
        x = _wait_status(s, "gpu1", "up")
        assert x["url"] == fc.url and x["source"] == "config" and x["enabled"] is True, x
        assert x["labels"] == ["sdxl"] and x["slots"] == 1 and x["lastError"] is None, x
        assert x["comfyuiVersion"] == "0.3.41" and x["lastSeenAt"], x
        assert len(x["devices"]) == 1 and x["devices"][0]["type"] == "cuda", x
        assert x["devices"][0]["vramTotal"] == 24 * 1024 ** 3, x
        assert x["devices"][0]["vramFree"] == 22 * 1024 ** 3, x
        assert x["queueRemaining"] == 0 and x["running"] == 0, x
        wait_until(lambda: _servers(s)["gpu1"]["models"] >= 4, 10, what="catalogue read")
        models = s.call("GET", f"{API}/models")
        assert {"name": "sd_xl_base_1.0.safetensors", "servers": ["gpu1"]} in \
            models["checkpoints"], models
        assert models["loras"] == [{"name": "a.safetensors", "servers": ["gpu1"]}], models
        assert models["vae"] == [{"name": "sdxl_vae.safetensors", "servers": ["gpu1"]}]
        paths = [r["path"] for r in fc.requests()]
        assert "/system_stats" in paths and "/models/checkpoints" in paths, paths

        # a user sees the servers without their URLs, and the models
        tok = _user(s)
        ux = _servers(s, token=tok)["gpu1"]
        assert "url" not in ux and ux["status"] == "up", ux
        assert s.call("GET", f"{API}/models", token=tok)["loras"][0]["name"] == "a.safetensors"

        text = s.call("GET", "/api/v1/metrics", raw=True)
        text = text.decode() if isinstance(text, bytes) else text
        for line in ('batchbox_comfyui_up{server="gpu1"} 1',
                     'batchbox_comfyui_running{server="gpu1"} 0',
                     'batchbox_comfyui_prompts_done_total{server="gpu1"} 0',
                     'batchbox_comfyui_prompts_failed_total{server="gpu1"} 0',
                     'batchbox_comfyui_busy_seconds_total{server="gpu1"} 0'):
            assert line in text, f"{line!r} not in the metrics"

        # a crash: down with the reason; back: up again
        fc.kill()
        x = _wait_status(s, "gpu1", "down")
        assert x["lastError"], x
        # the reason never names the address (the URL is for admins only)
        port = fc.url.rsplit(":", 1)[1]
        for who in (None, tok):
            err = _servers(s, token=who)["gpu1"]["lastError"]
            assert "127.0.0.1" not in err and port not in err and "the server" in err, err
        text = s.call("GET", "/api/v1/metrics", raw=True)
        text = text.decode() if isinstance(text, bytes) else text
        assert 'batchbox_comfyui_up{server="gpu1"} 0' in text
        fc.restart()
        x = _wait_status(s, "gpu1", "up")
        assert x["lastError"] is None, x


def test_object_info_fallback_and_refresh():
    with FakeComfy(name="old", models={"loras": ["b.safetensors"]}) as fc:
        fc.config(no_models_route=True)
        s = _server({}, healthIntervalSec=3600)
        x = s.call("POST", f"{API}/servers", {"id": "old", "url": fc.url, "slots": 2},
                   expect=201)
        assert x["status"] == "up" and x["source"] == "api" and x["slots"] == 2, x
        models = s.call("GET", f"{API}/models")
        assert models["loras"] == [{"name": "b.safetensors", "servers": ["old"]}], models
        assert any(m["name"] == "sd_xl_base_1.0.safetensors" for m in models["checkpoints"])
        paths = [r["path"] for r in fc.requests()]
        assert "/object_info" in paths, paths
        # refresh reads it now: a server that went away is down at once
        fc.kill()
        x = s.call("POST", f"{API}/servers/old/refresh", expect=200)
        assert x["status"] == "down" and x["lastError"], x
        fc.restart()
        fc.config(no_models_route=True)
        assert s.call("POST", f"{API}/servers/old/refresh")["status"] == "up"


def test_admin_routes_reject_bad_input_and_persist():
    with FakeComfy(name="gpu1") as fc:
        s = _server({"gpu1": (fc, [])})
        add = f"{API}/servers"
        assert_error(s.req("POST", add, {"id": "bad id", "url": fc.url}), 400, field="id")
        assert_error(s.req("POST", add, {"url": fc.url}), 400, field="id")
        assert_error(s.req("POST", add, {"id": "x", "url": "ftp://127.0.0.1:1"}), 400,
                     field="url")
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url + "/"}), 400, field="url")
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url, "slots": 0}), 400,
                     field="slots")
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url, "slots": 1.5}), 400,
                     field="slots")
        for huge in (1e10, -1e10, 1e300):      # out of int's range: no undefined cast
            assert_error(s.req("POST", add, {"id": "x", "url": fc.url, "slots": huge}), 400,
                         field="slots")
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url, "labels": ["a b"]}), 400,
                     field="labels")
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url, "color": 1}), 400,
                     field="color")
        assert_error(s.req("POST", add, {"id": "gpu1", "url": fc.url}), 409)
        tok = _user(s)
        assert_error(s.req("POST", add, {"id": "x", "url": fc.url}, token=tok), 403)
        assert_error(s.req("PATCH", f"{add}/gpu1", {"slots": 2}, token=tok), 403)
        assert_error(s.req("DELETE", f"{add}/gpu1", token=tok), 403)

        x = s.call("POST", add, {"id": "gpu2", "url": fc.url, "slots": 2,
                                 "labels": ["sdxl", "video"]}, expect=201)
        assert x["labels"] == ["sdxl", "video"] and x["enabled"] is True, x
        assert_error(s.req("PATCH", f"{add}/nosuch", {"slots": 2}), 404)
        assert_error(s.req("PATCH", f"{add}/gpu2", {"slots": 65}), 400, field="slots")
        assert_error(s.req("PATCH", f"{add}/gpu2", {"enabled": "no"}), 400, field="enabled")
        assert_error(s.req("PATCH", f"{add}/gpu2", {"url": "http://x"}), 400, field="url")
        x = s.call("PATCH", f"{add}/gpu1", {"enabled": False, "slots": 3, "labels": ["a"]})
        assert x["enabled"] is False and x["slots"] == 3 and x["labels"] == ["a"], x
        assert_error(s.req("DELETE", f"{add}/gpu1"), 409)
        assert_error(s.req("DELETE", f"{add}/nosuch"), 404)
        assert_error(s.req("POST", f"{add}/nosuch/refresh"), 404)
        s.call("POST", add, {"id": "gone", "url": fc.url}, expect=201)
        s.call("DELETE", f"{add}/gone", expect=204)

        # the admin's changes and servers survive a restart; the file's url wins
        with FakeComfy(name="moved") as fc2:
            s.config["comfyui"]["servers"][0]["url"] = fc2.url
            s.write_config(s.config)
            s.stop()
            s.restart()
            got = _servers(s)
            assert sorted(got) == ["gpu1", "gpu2"], got
            assert got["gpu1"]["url"] == fc2.url and got["gpu1"]["enabled"] is False, got
            assert got["gpu1"]["slots"] == 3 and got["gpu1"]["labels"] == ["a"], got
            assert got["gpu2"]["slots"] == 2 and got["gpu2"]["source"] == "api", got
            # a disabled server is not checked: it stays as it was, and lists no models
            assert got["gpu1"]["status"] == "unknown", got


def test_bad_comfyui_config_names_the_key():
    for section, key in (({"servers": [{"id": "a", "url": "ftp://x"}]}, "comfyui.servers[0].url"),
                         ({"servers": [{"id": "a b", "url": "http://x"}]},
                          "comfyui.servers[0].id"),
                         ({"servers": [{"id": "a", "url": "http://x", "slots": 0}]},
                          "comfyui.servers[0].slots"),
                         ({"healthIntervalSec": 0}, "comfyui.healthIntervalSec"),
                         ({"servers": [{"id": "a", "url": "http://x"},
                                       {"id": "a", "url": "http://y"}]},
                          "comfyui.servers[1].id"),
                         ({"colour": 1}, "comfyui.colour")):
        s = Server(config=None, start=False)
        s.write_config(s.default_config(comfyui=section))
        assert s.start(expect_fail=True) != 0
        assert key in s.stderr_text(), (key, s.stderr_tail())


def test_cli_lists_servers_and_models():
    with FakeComfy(name="gpu1", models={"loras": ["a.safetensors"]}) as fc:
        s = _server({"gpu1": (fc, ["sdxl"])})
        _wait_status(s, "gpu1", "up")
        wait_until(lambda: _servers(s)["gpu1"]["models"] >= 4, 10, what="catalogue read")
        env = dict(os.environ, BATCHBOX_SERVER=f"http://127.0.0.1:{s.port}",
                   BATCHBOX_TOKEN=s.token, HOME=s.base, XDG_CONFIG_HOME=s.base)

        def cli(*args):
            p = subprocess.run([harness.BIN, "comfyui"] + list(args), capture_output=True,
                               text=True, env=env, timeout=harness.scaled(20))
            assert p.returncode == 0, (args, p.stdout, p.stderr)
            return p.stdout
        out = cli("servers")
        assert "gpu1" in out and "up" in out and "sdxl" in out, out
        doc = json.loads(cli("servers", "--json"))
        assert doc["servers"][0]["id"] == "gpu1", doc
        out = cli("models")
        assert "loras/a.safetensors" in out and "gpu1" in out, out
        assert json.loads(cli("models", "--json"))["loras"][0]["servers"] == ["gpu1"]


# ---- placement (needs the comfyui workflow: src/infra/exec/comfyui.c) ---------------------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "comfyui")
LORA_PARAMS = [{"name": "prompt", "type": "text", "default": "a cat"},
               {"name": "seed", "type": "seed", "default": 1},
               {"name": "steps", "type": "int", "default": 1, "min": 1, "max": 10},
               {"name": "ckpt", "type": "enum", "optionsSource": "comfyui:checkpoints",
                "required": True},
               {"name": "lora", "type": "string", "default": "a.safetensors"}]


CKPT = "sd_xl_base_1.0.safetensors"


def _lora_server(fakes, presets):
    """A started batchbox with fakes {id: (FakeComfy, labels)} and presets on lora.json."""
    s = Server(config=None, start=False)
    cfg = s.default_config(comfyui={
        "servers": [{"id": sid, "url": fc.url, "slots": 1, "labels": lab}
                    for sid, (fc, lab) in fakes.items()],
        "healthIntervalSec": 1, "requestTimeoutMs": 2000, "pollIntervalMs": 100})
    cfg["presets"] = cfg["presets"] + [dict(p, workflow="comfyui", graph="lora.json",
                                            maxAttempts=1) for p in presets]
    shutil.copy(os.path.join(FIXTURES, "lora.json"), os.path.join(s.data, "lora.json"))
    s.write_config(cfg)
    s.start()
    return s


def _placement_server(fakes, labels=("sdxl",)):
    s = _lora_server(fakes, [
        {"id": "lora", "params": LORA_PARAMS, "servers": {"labels": list(labels)}},
        {"id": "nolabel", "params": LORA_PARAMS, "servers": {"labels": ["nosuch"]}}])
    for sid in fakes:
        _wait_status(s, sid, "up")
        wait_until(lambda sid=sid: _servers(s)[sid]["models"] >= 3, 10, what="catalogue")
    return s


def _ran_on(s, job_id):
    return [p["server"] for p in s.call("GET", f"/api/v1/jobs/{job_id}/comfyui")["prompts"]]


def _waiting(s, job_id, text):
    def check():
        j = s.job(job_id)
        return j if j["state"] == "queued" and text in (j.get("waitingFor") or "") else None
    return wait_until(check, 10, interval=0.05, what=f"waitingFor {text!r}")


def test_placement_by_model_label_and_enabled():
    with FakeComfy(name="gpu1", models={"loras": ["a.safetensors"]}) as f1, \
            FakeComfy(name="gpu2", models={"loras": ["b.safetensors"]}) as f2:
        for f in (f1, f2):
            f.config(step_ms=0, steps=1)
        s = _placement_server({"gpu1": (f1, ["sdxl"]), "gpu2": (f2, ["sdxl", "video"])})
        # the catalogue feeds optionsSource comfyui:checkpoints
        opts = s.call("GET", "/api/v1/config/job-options")
        preset = [p for p in opts["presets"] if p["id"] == "lora"][0]
        ckpt = [p for p in preset["params"] if p["name"] == "ckpt"][0]
        assert ckpt["optionsSource"] == "comfyui:checkpoints", ckpt
        assert "sd_xl_base_1.0.safetensors" in [c["value"] for c in ckpt["choices"]], ckpt

        # a LoRA only one server has goes there, whichever is less busy
        a = s.submit(preset="lora", params={"ckpt": CKPT, "lora": "a.safetensors"})
        b = s.submit(preset="lora", params={"ckpt": CKPT, "lora": "b.safetensors"})
        for jid, where in ((a, "gpu1"), (b, "gpu2")):
            assert s.wait_terminal(jid)["state"] == "succeeded", s.job(jid)
            assert _ran_on(s, jid) == [where], (jid, _ran_on(s, jid))
        # one nobody has waits, saying which
        z = s.submit(preset="lora", params={"ckpt": CKPT, "lora": "zzz.safetensors"})
        _waiting(s, z, "no ComfyUI server has loras/zzz.safetensors")
        # no server with the preset's labels
        n = s.submit(preset="nolabel", params={"ckpt": CKPT})
        _waiting(s, n, "no enabled ComfyUI server with labels nosuch")
        for jid in (z, n):
            s.call("POST", f"/api/v1/jobs/{jid}/actions", {"type": "cancel"})

        # a disabled server gets nothing; enabled again, the waiting job runs there
        s.call("PATCH", f"{API}/servers/gpu2", {"enabled": False})
        before = len(f2.prompts())
        c = s.submit(preset="lora", params={"ckpt": CKPT, "lora": "b.safetensors"})
        _waiting(s, c, "no ComfyUI server has loras/b.safetensors")
        assert len(f2.prompts()) == before
        s.call("PATCH", f"{API}/servers/gpu2", {"enabled": True})
        assert s.wait_terminal(c)["state"] == "succeeded", s.job(c)
        assert _ran_on(s, c) == ["gpu2"]

        # a server that is down: its jobs wait, naming it
        f2.kill()
        _wait_status(s, "gpu2", "down")
        d = s.submit(preset="lora", params={"ckpt": CKPT, "lora": "b.safetensors"})
        _waiting(s, d, "no ComfyUI server has loras/b.safetensors (servers down: gpu2)")
        done = s.call("GET", f"{API}/servers")["servers"]
        assert {x["id"]: x["promptsDone"] for x in done} == {"gpu1": 1, "gpu2": 2}, done
        s.call("POST", f"/api/v1/jobs/{d}/actions", {"type": "cancel"})


def test_catalogue_enum_default_before_any_server_answers():
    # optionsSource "comfyui:…" lists what servers report, so nothing is known
    # at start-up: a default naming a model must not stop the start, a job may
    # be queued while the catalogue is empty (it waits for a server with the
    # model), and once servers answer a value outside the catalogue is refused.
    params = [dict(p) for p in LORA_PARAMS]
    for p in params:
        if p["name"] == "ckpt":
            p.pop("required")
            p["default"] = CKPT
    s = _lora_server({}, [{"id": "ckdef", "params": params}])
    jid = s.submit(preset="ckdef")
    _waiting(s, jid, "ComfyUI server")
    with FakeComfy(name="gpu1", models={"loras": ["a.safetensors"]}) as fc:
        fc.config(step_ms=0, steps=1)
        s.call("POST", f"{API}/servers", {"id": "gpu1", "url": fc.url, "slots": 1}, expect=201)
        assert s.wait_terminal(jid)["state"] == "succeeded", s.job(jid)
        got = fc.prompts()[-1]["prompt"]
        assert CKPT in json.dumps(got), got
        wait_until(lambda: _servers(s)["gpu1"]["models"] >= 3, 10, what="catalogue")
        r = s.req("POST", "/api/v1/jobs", json.dumps(
            {"preset": "ckdef", "params": {"ckpt": "typo.safetensors"}}))
        assert_error(r, 400, field="params.ckpt")
        assert "typo.safetensors" in r.body["message"], r.body


def test_a_hanging_server_does_not_hold_up_the_others_checks():
    # gpu1 (first in the list) answers nothing until released; its check waits
    # out the 5 s timeout on one health thread while gpu2 is checked on another
    with FakeComfy(name="gpu1") as f1, FakeComfy(name="gpu2") as f2:
        f1.config(hang=True)
        s = _server({"gpu1": (f1, []), "gpu2": (f2, [])}, requestTimeoutMs=5000)
        _wait_status(s, "gpu2", "up")
        assert _servers(s)["gpu1"]["status"] == "unknown", _servers(s)["gpu1"]
        assert any(r["path"] == "/system_stats" for r in f1.requests()), "gpu1 never asked"
        f1.config(hang=False)
        _wait_status(s, "gpu1", "up")

"""Configuration reload (docs/integrations.md, "Configuration reload"): POST
/admin/config/reload and SIGHUP read the file again; a good file is published at once (new
presets usable), settings that need a restart keep their running values and are named; a
bad file keeps the running configuration and the answer (400) says why; queued jobs of a
removed preset end canceled saying so, a running one is left to finish.
"""

import json
import os
import signal
import subprocess

import harness
from harness import Server, assert_error

RELOAD = "/api/v1/admin/config/reload"
SLOWQ = {"id": "slowq", "workflow": "command", "argv": ["sleep", "30"], "concurrency": 1,
         "maxAttempts": 1}


def write(s, cfg):
    with open(s.config_path, "w") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))


def presets(s):
    return [p["id"] for p in s.call("GET", "/api/v1/config/job-options")["presets"]]


def test_good_and_bad_files():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    r = s.call("POST", RELOAD)
    assert r["reloaded"] is True and r["needsRestart"] == [] and r["jobsCanceled"] == 0, r
    assert r["presetsAdded"] == [] and r["presetsRemoved"] == [] and r["path"], r
    cfg = dict(s.config)
    cfg["presets"] = cfg["presets"] + [{"id": "extra", "workflow": "noop"}]
    cfg["listen"] = "127.0.0.1:1"      # --listen on the command line wins: not reported
    cfg["inputRoot"] = s.runs
    cfg["workers"] = 7
    cfg["limits"] = dict(cfg["limits"], maxBatchSize=3)
    write(s, cfg)
    r = s.call("POST", RELOAD)
    assert r["presetsAdded"] == ["extra"], r
    assert sorted(r["needsRestart"]) == ["inputRoot", "workers"], r
    assert "extra" in presets(s)
    s.wait_terminal(s.submit(preset="extra"))
    # the reloaded limit applies at once
    r = s.req("POST", "/api/v1/jobs", {"preset": "param", "sweep": {"name": ["a", "b", "c", "d"]}})
    assert r.status == 400, r.describe()
    # a bad file: 400 naming the problem, the running configuration stays
    write(s, dict(cfg, colour="red"))
    r = s.req("POST", RELOAD)
    assert_error(r, 400, "invalid", field="config")
    assert "colour" in r.body["message"], r.describe()
    write(s, "{not json")
    assert_error(s.req("POST", RELOAD), 400, "invalid", field="config")
    bad = dict(cfg, presets=[{"id": "x", "workflow": "teleport"}])
    write(s, bad)
    r = s.req("POST", RELOAD)
    assert_error(r, 400, "invalid", field="config")
    assert "teleport" in r.body["message"], r.describe()
    assert "extra" in presets(s)
    s.wait_terminal(s.submit(preset="extra"))
    # admins only
    user = s.register("u@example.com", "password-of-u").body["accessToken"]
    assert_error(s.req("POST", RELOAD, token=user), 403, "forbidden")


def test_removed_preset_cancels_its_queued_jobs():
    s = Server(presets_extra=[SLOWQ])
    running = s.submit(preset="slowq")
    s.wait_state(running, ("running",))
    queued = [s.submit(preset="slowq") for _ in range(2)]
    cfg = dict(s.config)
    cfg["presets"] = [p for p in cfg["presets"] if p["id"] != "slowq"]
    write(s, cfg)
    r = s.call("POST", RELOAD)
    assert r["presetsRemoved"] == ["slowq"] and r["jobsCanceled"] == 2, r
    for j in queued:
        dto = s.job(j)
        assert dto["state"] == "canceled", dto
        assert "slowq was removed by a configuration reload" in dto["error"], dto
    assert s.job(running)["state"] == "running"
    s.action(running, "cancel")
    s.wait_terminal(running)
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "slowq"}), 400, "invalid",
                 field="preset")


def test_sighup_reloads_and_a_bad_file_is_logged():
    s = Server()
    cfg = dict(s.config)
    cfg["presets"] = cfg["presets"] + [{"id": "viahup", "workflow": "noop"}]
    write(s, cfg)
    s.proc.send_signal(signal.SIGHUP)
    harness.wait_until(lambda: "viahup" in presets(s), harness.scaled(10), what="SIGHUP reload")
    write(s, "[]")
    s.proc.send_signal(signal.SIGHUP)
    harness.wait_until(lambda: "configuration not reloaded" in s.stderr_text(),
                       harness.scaled(10), what="the refusal in the log")
    assert s.alive() and "viahup" in presets(s)
    # `batchbox reload` says why the file is refused (exit 2, like any HTTP 400)
    out = subprocess.run([harness.BIN, "reload", "--server", s.url("")],
                         env=dict(os.environ, BATCHBOX_TOKEN=s.token), capture_output=True,
                         text=True, timeout=harness.scaled(30))
    assert out.returncode == 2 and "config" in out.stderr, (out.stdout, out.stderr)
    write(s, s.config)
    out = subprocess.run([harness.BIN, "reload", "--server", s.url("")],
                         env=dict(os.environ, BATCHBOX_TOKEN=s.token), capture_output=True,
                         text=True, timeout=harness.scaled(30))
    assert out.returncode == 0 and "presets removed: viahup" in out.stdout, (out.stdout,
                                                                              out.stderr)

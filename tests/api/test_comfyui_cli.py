"""The CLI in front of ComfyUI (docs/comfyui.md, docs/cli.md): `batchbox submit --preset sdxl
--sweep prompt=@prompts.txt --sweep seed=count:N --wait` makes one batch of every prompt line
times N seeds, each run a prompt on the fake ComfyUI (tests/api/comfy.py), waits for the last
one and says where the gallery is; a checkpoint the catalogue does not have is refused at its
field."""

import json
import os
import subprocess

import harness
from comfy import FakeComfy
from harness import Server, scaled, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
GRAPH = os.path.join(HERE, "fixtures", "comfyui", "sdxl.json")


def sdxl_server(fake_url):
    """A server (started) with the sdxl preset and gpu1 at fake_url."""
    s = Server(start=False)
    cfg = s.default_config()
    cfg["presets"].append({
        "id": "sdxl", "label": "SDXL text to image", "workflow": "comfyui", "graph": GRAPH,
        "timeoutSec": 60, "maxAttempts": 1,
        "params": [{"name": "prompt", "type": "text", "required": True},
                   {"name": "seed", "type": "seed", "default": "random"},
                   {"name": "steps", "type": "int", "default": 4, "min": 1, "max": 50},
                   {"name": "ckpt", "type": "enum", "optionsSource": "comfyui:checkpoints"}]})
    cfg["comfyui"] = {"servers": [{"id": "gpu1", "url": fake_url, "slots": 2}],
                      "healthIntervalSec": 1}
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    return s


def run_cli(s, home, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHBOX_")}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "config"),
               BATCHBOX_SERVER=f"http://127.0.0.1:{s.port}", BATCHBOX_TOKEN=s.token)
    p = subprocess.run([harness.BIN] + [str(a) for a in args], capture_output=True, text=True,
                       env=env, timeout=scaled(timeout), cwd=home)
    for m in harness.SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    return p


def test_cli_submit_a_prompt_file_times_seeds_to_comfyui_and_wait():
    with FakeComfy(name="gpu1") as fake:
        fake.config(step_ms=5, steps=2)
        s = sdxl_server(fake.url)
        home = os.path.join(s.base, "clihome")
        os.makedirs(home)
        prompts = os.path.join(home, "prompts.txt")
        with open(prompts, "w") as f:
            f.write("a red fox in the snow\r\n\na lighthouse at dusk\n")
        wait_until(lambda: any(
            m["name"] == "sd_xl_base_1.0.safetensors"
            for m in s.call("GET", "/api/v1/comfyui/models").get("checkpoints", [])),
            10, what="the catalogue of gpu1")

        p = run_cli(s, home, "submit", "--preset", "sdxl", "--sweep", f"prompt=@{prompts}",
                    "--sweep", "seed=count:2", "--param", "ckpt=sd_xl_base_1.0.safetensors",
                    "--wait")
        assert p.returncode == 0, (p.stdout, p.stderr)
        lines = p.stdout.splitlines()
        assert lines[0].startswith("submitted batch ") and lines[0].endswith("(4 jobs)"), p.stdout
        pid = lines[0].split()[2]
        assert f"job {pid}: succeeded" in lines, p.stdout
        assert lines[-1] == f"gallery: http://127.0.0.1:{s.port}/#/batches/{pid}", p.stdout

        gal = s.call("GET", f"/api/v1/jobs/{pid}/gallery")
        runs = gal["items"]
        assert len(runs) == 4 and all(r["state"] == "succeeded" for r in runs), runs
        combos = {(r["params"]["prompt"], r["params"]["seed"]) for r in runs}
        assert {c[0] for c in combos} == {"a red fox in the snow", "a lighthouse at dusk"}, combos
        assert len(combos) == 4 and all(isinstance(c[1], int) for c in combos), combos
        for r in runs:
            assert any(a["contentType"] == "image/png" for a in r["artifacts"]), r

        # what the fake received: the same four prompts, seeds and checkpoint, typed
        sent = fake.prompts()
        assert len(sent) == 4, sent
        texts = json.dumps([x["prompt"] for x in sent])
        for prompt, seed in combos:
            assert prompt in texts, (prompt, texts)
        assert texts.count("sd_xl_base_1.0.safetensors") >= 4, texts

        # a checkpoint the catalogue does not list: refused, naming the field (exit 2)
        p = run_cli(s, home, "submit", "--preset", "sdxl", "--param", "prompt=x",
                    "--param", "ckpt=nope.safetensors")
        assert p.returncode == 2 and "ckpt" in p.stderr, (p.returncode, p.stdout, p.stderr)
        s.stop()


def test_gallery_says_why_a_run_waits():
    """A batch's runs held back (here by a paused queue; for ComfyUI, a busy or missing
    server) carry the job's waitingFor in the gallery; finished runs carry null."""
    s = Server()
    s.call("POST", "/api/v1/admin/queue/pause", {"preset": "noop"})
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop", "sweep": {"x": ["1", "2"]}})
    assert r.status == 201, r.describe()
    pid = r.body["jobId"]

    def held():
        items = s.call("GET", f"/api/v1/jobs/{pid}/gallery")["items"]
        return len(items) == 2 and all(i["waitingFor"] == "queue paused" for i in items)
    wait_until(held, 10, what="both runs to say why they wait")
    s.call("POST", "/api/v1/admin/queue/resume", {"preset": "noop"})

    def done():
        items = s.call("GET", f"/api/v1/jobs/{pid}/gallery")["items"]
        return all(i["state"] == "succeeded" and i["waitingFor"] is None for i in items)
    wait_until(done, 20, what="both runs to succeed with no waitingFor")
    s.stop()


def test_gallery_prints_big_seeds_exactly():
    """A seed such as 3161430237891780 (which reads back from 15 digits) is an exact integer
    in the gallery, as in the job, not 3.16143023789178e+15."""
    s = Server(presets_extra=[{"id": "seeded", "workflow": "command", "maxAttempts": 1,
                               "argv": ["true", "{param.seed}"],
                               "params": [{"name": "seed", "type": "seed"}]}])
    r = s.req("POST", "/api/v1/jobs", {"preset": "seeded",
                                       "sweep": {"seed": {"start": 3161430237891780, "count": 2}}})
    assert r.status == 201, r.describe()
    raw = s.call("GET", f"/api/v1/jobs/{r.body['jobId']}/gallery", raw=True).decode()
    assert "3161430237891780" in raw and "e+15" not in raw, raw
    seeds = sorted(i["params"]["seed"] for i in json.loads(raw)["items"])
    assert seeds == [3161430237891780, 3161430237891781], seeds
    assert all(isinstance(x, int) for x in seeds), seeds
    s.stop()

#!/usr/bin/env python3
"""comfybench.py — the ComfyUI workflow's benchmark (docs/benchmarks.md, "ComfyUI"): prompts per
second through the whole path against fake ComfyUI servers that finish at once, and the delay
from a server's execution_success to the job's end.

Starts --servers fake ComfyUI processes (tests/api/fake_comfyui.py, switched to steps 0 and
step_ms 0, so a prompt's run costs the fake only its bookkeeping and one small PNG) and one
batchbox (tests/api/harness.py) with an "sdxl" preset on tests/api/fixtures/comfyui/sdxl.json
and the fakes as its pool (--slots each), then submits --prompts prompts as sweeps of at most
1,000 (ten prompt texts times N seeds).  Every prompt goes the whole way: placement, POST
/prompt, the socket's messages, /history, the PNG through /view into the job's artifacts.

- prompts/s: --prompts / (last child finished - first submit), from the clock of this script
  (polling every 50 ms adds at most that to the span);
- delay: per child, its finishedAt (ms) minus the fake's execution_success time for its
  prompt (GET /__fake/finished; the prompt id of a job from GET /jobs/:id/comfyui); p50 and
  p99.  Both clocks are this machine's.
The run fails (exit 2) when a child does not succeed, a prompt ran twice, or a server got
nothing.

usage: comfybench.py --bin build/batchbox [--prompts 2000] [--servers 4] [--slots 4]
                     [--workers 32] [--timeout 600]"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.path.join(HERE, "..", "tests", "api")
sys.path.insert(0, API)

import harness  # noqa: E402
from comfy import FakeComfy  # noqa: E402
from harness import Server  # noqa: E402

GRAPH = os.path.join(API, "fixtures", "comfyui", "sdxl.json")
TEXTS = ["a red fox in the snow", "a lighthouse at dusk", "a bowl of ramen, studio light",
         "an old tram in Lisbon", "a koi pond from above", "a paper boat on a puddle",
         "a robot watering plants", "mountains at blue hour", "a cat asleep on a keyboard",
         "a market stall of lemons"]


def ms(iso):
    """"2026-12-04T01:55:26.981Z" -> ms since the epoch (UTC)."""
    import calendar
    t = calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))
    frac = int(iso[20:23]) if len(iso) >= 23 else 0
    return t * 1000 + frac


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def children(s, parent):
    out, cursor = [], None
    for _ in range(1000):
        q = f"/api/v1/jobs/{parent}/children?limit=200" + (f"&cursor={cursor}" if cursor else "")
        page = s.call("GET", q)
        out += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return out
    raise SystemExit("comfybench: too many pages of children")


def cpu_s(pid):
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {model}, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--prompts", type=int, default=2000)
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    harness.BIN = os.path.abspath(a.bin)
    per_batch = 1000
    if a.prompts % len(TEXTS):
        raise SystemExit("comfybench: --prompts must be a multiple of 10")

    fakes = []
    s = None
    try:
        for i in range(a.servers):
            fc = FakeComfy(name=f"gpu{i + 1}").start()
            fc.config(step_ms=0, steps=0)
            fakes.append(fc)
        s = Server(start=False, workers=a.workers)
        cfg = s.default_config()
        cfg["limits"]["maxBatchSize"] = per_batch
        cfg["presets"].append({
            "id": "sdxl", "workflow": "comfyui", "graph": GRAPH, "timeoutSec": 300,
            "maxAttempts": 1,
            "params": [{"name": "prompt", "type": "text", "required": True},
                       {"name": "seed", "type": "seed", "default": "random"},
                       {"name": "steps", "type": "int", "default": 1, "min": 1, "max": 50},
                       {"name": "ckpt", "type": "enum", "optionsSource": "comfyui:checkpoints",
                        "required": True}]})
        cfg["comfyui"] = {"servers": [{"id": fc.name, "url": fc.url, "slots": a.slots}
                                      for fc in fakes], "healthIntervalSec": 1}
        with open(s.config_path, "w") as f:
            json.dump(cfg, f)
        s.start(timeout=30)

        def catalogue_ready():
            ms_ = s.call("GET", "/api/v1/comfyui/models").get("checkpoints", [])
            names = [m for m in ms_ if m["name"] == "sd_xl_base_1.0.safetensors"]
            return names and len(names[0]["servers"]) == a.servers
        harness.wait_until(catalogue_ready, 30, what="every server's catalogue")

        load_before = os.getloadavg()
        cpu0 = {"batchbox": cpu_s(s.proc.pid), "fakes": sum(cpu_s(fc.proc.pid) for fc in fakes),
                "bench": sum(os.times()[:2])}
        parents = []
        left = a.prompts
        t0 = time.time()
        seed = 1
        while left > 0:
            n = min(per_batch, left)
            r = s.req("POST", "/api/v1/jobs", {
                "preset": "sdxl", "params": {"ckpt": "sd_xl_base_1.0.safetensors"},
                "sweep": {"prompt": TEXTS, "seed": {"start": seed, "count": n // len(TEXTS)}}})
            if r.status != 201:
                raise SystemExit(f"comfybench: submit: {r.describe()}")
            parents.append(r.body["jobId"])
            seed += n // len(TEXTS)
            left -= n
        t_submitted = time.time()

        deadline = time.monotonic() + a.timeout
        while True:
            dtos = [s.job(p) for p in parents]
            if all(d["state"] in harness.TERMINAL for d in dtos):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"comfybench: not done in {a.timeout}s: "
                                 f"{[d['batch'] for d in dtos]}")
            time.sleep(0.05)
        t_end = time.time()
        load_after = os.getloadavg()
        cpu1 = {"batchbox": cpu_s(s.proc.pid), "fakes": sum(cpu_s(fc.proc.pid) for fc in fakes),
                "bench": sum(os.times()[:2])}

        kids = [c for p in parents for c in children(s, p)]
        bad = [c for c in kids if c["state"] != "succeeded"]
        if len(kids) != a.prompts or bad:
            raise SystemExit(f"comfybench: {len(kids)} children, {len(bad)} not succeeded: "
                             f"{bad[:3]}")
        finished = {}
        per_server = {}
        sent = 0
        for fc in fakes:
            f = fc.finished()
            finished.update(f)
            per_server[fc.name] = len(f)
            sent += sum(1 for p in fc.prompts() if p["status"] == 200)
        if sent != a.prompts or any(v == 0 for v in per_server.values()):
            raise SystemExit(f"comfybench: {sent} prompts accepted for {a.prompts} jobs; "
                             f"per server {per_server}")
        delays = []
        for c in kids:
            info = s.call("GET", f"/api/v1/jobs/{c['jobId']}/comfyui")
            pid = info["prompts"][-1]["promptId"]
            if pid in finished:
                delays.append(ms(c["finishedAt"]) - finished[pid])
        span = t_end - t0
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(), "loadavg_before": " ".join(f"{x:.2f}" for x in load_before),
            "loadavg_after": " ".join(f"{x:.2f}" for x in load_after),
            "prompts": a.prompts, "servers": a.servers, "slots": a.slots,
            "workers": a.workers, "submit_s": round(t_submitted - t0, 3),
            "span_s": round(span, 3), "prompts_per_s": round(a.prompts / span, 1),
            "per_server": per_server,
            "cpu_s": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
            "delay_ms": {"p50": pct(delays, 50), "p99": pct(delays, 99),
                         "max": max(delays) if delays else None,
                         "mean": round(statistics.mean(delays), 1) if delays else None,
                         "n": len(delays)},
        }
        print(json.dumps(result, indent=1))
        print(f"comfyui: {a.prompts} prompts on {a.servers} fake servers x {a.slots} slots: "
              f"{result['prompts_per_s']} prompts/s (span {span:.2f} s); execution_success -> "
              f"succeeded p50 {result['delay_ms']['p50']} ms, p99 {result['delay_ms']['p99']} ms")
        s.stop()
        return 0
    finally:
        if s is not None:
            s.cleanup(keep=False)
        for fc in fakes:
            fc.stop()


if __name__ == "__main__":
    sys.exit(main())

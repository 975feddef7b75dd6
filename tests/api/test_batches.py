"""Batches (docs/batches.md): sweeps fan one submission out into a parent job and its
children; the parent's derived state, counts, cancel and retry; listing children; folder
sweeps; limits; scoping; SSE; kill -9 during creation; the CLI; the ImageMagick example."""

import json
import os
import shutil
import socket
import subprocess
import time

import harness
from harness import SSEClient, Server, assert_dto, assert_error, scaled, wait_until

BATCH_PRESETS = [
    {"id": "show", "workflow": "command",
     "argv": ["sh", "-c", "echo size={param.size} seed={param.seed}"], "maxAttempts": 1,
     "params": [{"name": "seed", "type": "seed"}]},
    {"id": "pick", "workflow": "command",
     "argv": ["sh", "-c", "test {param.v} != bad", "{param.v}"], "maxAttempts": 1},
    {"id": "hold", "workflow": "command",
     "argv": ["sh", "-c", "while [ ! -e RUNS/go ]; do sleep 0.05; done; echo {param.v}"],
     "maxAttempts": 1},
]


class User:
    """Requests as another signed-in user."""

    def __init__(self, s, email, password):
        self.s = s
        self.token = s.session(email, password)["accessToken"]

    def req(self, method, path, body=None):
        return self.s.req(method, path, body, headers={"Authorization": f"Bearer {self.token}"},
                          auth=False)


def batch_server(**kw):
    return Server(presets_extra=BATCH_PRESETS, **kw)


def submit_batch(s, body, expect=201):
    r = s.req("POST", "/api/v1/jobs", body)
    assert r.status == expect, r.describe()
    return r.body


def children(s, pid, query=""):
    out, cursor = [], None
    for _ in range(100):
        q = query + (f"&cursor={cursor}" if cursor else "")
        page = s.call("GET", f"/api/v1/jobs/{pid}/children?limit=200{q}")
        out += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return out
    raise AssertionError("children listing did not end")


def wait_parent(s, pid, states, timeout=30.0):
    return wait_until(lambda: (lambda d: d if d["state"] in states else None)(s.job(pid)),
                      timeout, interval=0.05, what=f"batch {pid} in {states}")


def test_three_by_four_sweep_makes_one_parent_and_twelve_children():
    s = batch_server()
    p = submit_batch(s, {"preset": "show",
                         "sweep": {"size": [256, 512, 1024], "seed": {"start": 7, "count": 4}}})
    assert_dto(p)
    assert p["kind"] == "batch" and p["batchId"] is None, p
    assert p["batch"]["total"] == 12, p
    assert p["sweep"] == {"size": [256, 512, 1024], "seed": {"start": 7, "count": 4}}, p
    pid = p["jobId"]
    done = wait_parent(s, pid, ("succeeded",))
    assert done["batch"] == {"total": 12, "queued": 0, "running": 0, "succeeded": 12,
                             "failed": 0, "canceled": 0}, done
    assert done["progress"] == 1, done
    kids = children(s, pid)
    assert len(kids) == 12, kids
    combos = sorted((str(k["params"]["size"]), str(k["params"]["seed"])) for k in kids)
    want = sorted((str(a), str(b)) for a in (256, 512, 1024) for b in range(7, 11))
    assert combos == want, combos
    for k in kids:
        assert_dto(k)
        assert k["kind"] == "job" and k["batchId"] == pid and k["batch"] is None, k
        assert k["state"] == "succeeded", k
        assert f"size={k['params']['size']} seed={k['params']['seed']}" in s.logs(k["jobId"])
    # top-level listing shows the parent only; ?children=1 and ?batch= show the children
    top = s.call("GET", "/api/v1/jobs?limit=200")["items"]
    assert [j["jobId"] for j in top] == [pid], top
    allj = s.call("GET", "/api/v1/jobs?limit=200&children=1")["items"]
    assert len(allj) == 13, len(allj)
    only = s.call("GET", f"/api/v1/jobs?limit=200&batch={pid}")["items"]
    assert sorted(j["jobId"] for j in only) == sorted(k["jobId"] for k in kids)


def test_random_seed_count_resolved_and_distinct():
    s = batch_server()
    p = submit_batch(s, {"preset": "show", "params": {"size": "1"},
                         "sweep": {"seed": {"count": 5}}})
    kids = children(s, p["jobId"])
    seeds = [int(k["params"]["seed"]) for k in kids]
    assert len(seeds) == 5 and all(0 <= v < 2 ** 53 for v in seeds), seeds
    assert len(set(seeds)) == 5, f"random seeds repeat: {seeds}"


def test_sweep_errors_name_the_field():
    s = batch_server()
    cases = [
        ({"preset": "show", "sweep": []}, "sweep"),
        ({"preset": "show", "sweep": {}}, "sweep"),
        ({"preset": "show", "sweep": {"size": []}}, "sweep.size"),
        ({"preset": "show", "sweep": {"size": "big"}}, "sweep.size"),
        ({"preset": "show", "sweep": {"size": [{"a": 1}]}}, "sweep.size"),
        ({"preset": "show", "sweep": {"seed": {"count": 0}}}, "sweep.seed"),
        ({"preset": "show", "sweep": {"size": {"count": 2}}}, "sweep.size"),
        ({"preset": "show", "sweep": {"seed": ["x"]}}, "sweep.seed"),
        ({"preset": "show", "sweep": {"seed": {"count": 2, "start": -1}}}, "sweep.seed"),
        ({"preset": "show", "sweep": {"seed": {"count": 2, "step": 1}}}, "sweep.seed"),
        ({"preset": "show", "params": {"size": "1"}, "sweep": {"size": ["2"]}}, "sweep.size"),
        ({"preset": "cat", "md": "a.md", "sweep": {"md": ["b.md"]}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": ["a.md", "nope.md"]}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": ["link.md"]}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": ["upl_999"]}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": {"dir": "../"}}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": {"dir": "nope"}}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": {"dir": "sub", "glob": "*.png"}}}, "sweep.md"),
        ({"preset": "cat", "sweep": {"md": {"dir": "sub", "depth": 1}}}, "sweep.md"),
        ({"preset": "nope", "sweep": {"size": ["1"]}}, "preset"),
    ]
    for body, field in cases:
        r = s.req("POST", "/api/v1/jobs", body)
        assert_error(r, 400, "invalid", field)
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "show", "sweep": {"bad name": ["1"]}}),
                 400, "invalid")
    assert s.call("GET", "/api/v1/jobs?children=1")["items"] == [], "a refused batch left jobs"


def test_the_1001st_child_is_refused():
    s = batch_server()
    r = s.req("POST", "/api/v1/jobs", {"preset": "show",
                                       "sweep": {"size": list(range(143)), "seed": list(range(7))}})
    assert_error(r, 400, "invalid", "sweep")
    msg = r.body["details"]["fields"]["sweep"]
    assert "1001" in msg and "1000" in msg, msg
    r = s.req("POST", "/api/v1/jobs", {"preset": "show", "sweep": {"seed": {"count": 1001}}})
    assert_error(r, 400, "invalid", "sweep")
    assert s.call("GET", "/api/v1/jobs?children=1")["items"] == []
    # exactly the limit is accepted
    p = submit_batch(s, {"preset": "noop", "sweep": {"size": list(range(200)),
                                                     "seed": list(range(5))}})
    assert p["batch"]["total"] == 1000, p
    done = wait_parent(s, p["jobId"], ("succeeded",), timeout=60)
    assert done["batch"]["succeeded"] == 1000, done


def test_max_batch_size_is_configurable():
    s = batch_server(env={"BATCHBOX_LIMITS_MAX_BATCH_SIZE": "3"})
    assert s.call("GET", "/api/v1/config/job-options")["limits"]["maxBatchSize"] == 3
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "noop", "sweep": {"a": [1, 2, 3, 4]}}),
                 400, "invalid", "sweep")
    submit_batch(s, {"preset": "noop", "sweep": {"a": [1, 2, 3]}})


def test_partial_failure_then_retry_of_the_failed_children():
    s = batch_server()
    p = submit_batch(s, {"preset": "pick", "sweep": {"v": ["a", "bad", "c", "bad2"]}})
    pid = p["jobId"]
    done = wait_parent(s, pid, ("failed", "succeeded", "canceled"))
    assert done["state"] == "failed", done
    assert done["batch"]["failed"] == 1 and done["batch"]["succeeded"] == 3, done
    failed = children(s, pid, "&state=failed")
    assert [k["params"]["v"] for k in failed] == ["bad"], failed
    # edit_metadata is for single jobs; retry acts on the failed children only
    r = s.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "edit_metadata",
                                                      "payload": {"preset": "noop"}})
    assert_error(r, 422)
    r = s.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "retry"})
    assert r.status == 202, r.describe()
    again = wait_parent(s, pid, ("failed", "succeeded"))
    assert again["state"] == "failed", again
    bad = s.job(failed[0]["jobId"])
    assert bad["attempts"] == 2, bad
    others = [k for k in children(s, pid) if k["params"]["v"] != "bad"]
    assert all(k["attempts"] == 1 for k in others), others
    # a succeeded or running batch cannot be retried
    ok = submit_batch(s, {"preset": "pick", "sweep": {"v": ["x", "y"]}})
    assert wait_parent(s, ok["jobId"], ("succeeded", "failed"))["state"] == "succeeded"
    assert_error(s.req("POST", f"/api/v1/jobs/{ok['jobId']}/actions", {"type": "retry"}), 422)


def test_derived_state_queued_running_and_cancel():
    s = batch_server(workers=2)
    p = submit_batch(s, {"preset": "hold", "sweep": {"v": [str(i) for i in range(6)]}})
    pid = p["jobId"]
    # the answer is read after the children exist, and a worker may already
    # have started one: queued exactly while every child is queued
    b = p["batch"]
    assert p["state"] == ("queued" if b["queued"] == b["total"] else "running"), p
    running = wait_parent(s, pid, ("running",))
    wait_until(lambda: s.job(pid)["batch"]["running"] == 2, 10, what="two children running")
    r = s.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "cancel",
                                                      "payload": {"reason": "enough"}})
    assert r.status == 200, r.describe()
    done = wait_parent(s, pid, ("canceled",))
    assert done["batch"]["canceled"] == 6 and done["batch"]["total"] == 6, done
    for k in children(s, pid):
        assert k["state"] == "canceled", k
    assert running["startedAt"] is not None
    assert_error(s.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "cancel"}), 422)
    # retry brings the canceled children back; releasing them lets the batch succeed
    open(os.path.join(s.runs, "go"), "w").close()
    r = s.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "retry"})
    assert r.status == 202, r.describe()
    fin = wait_parent(s, pid, ("succeeded",))
    assert fin["batch"]["succeeded"] == 6 and fin["error"] is None, fin


def test_children_paging_and_filters():
    s = batch_server()
    p = submit_batch(s, {"preset": "pick", "sweep": {"v": [f"v{i}" for i in range(25)] + ["bad"]}})
    pid = p["jobId"]
    wait_parent(s, pid, ("failed",))
    seen, cursor = [], None
    for _ in range(10):
        q = f"/api/v1/jobs/{pid}/children?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = s.call("GET", q)
        assert len(page["items"]) <= 10
        seen += [k["jobId"] for k in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 26 and len(set(seen)) == 26, seen
    assert seen == sorted(seen, key=int, reverse=True), "children not newest first"
    assert len(children(s, pid, "&state=succeeded")) == 25
    assert_error(s.req("GET", f"/api/v1/jobs/{pid}/children?state=nope"), 400, "invalid", "state")
    single = s.submit(preset="noop")
    assert_error(s.req("GET", f"/api/v1/jobs/{single}/children"), 422)
    assert_error(s.req("GET", f"/api/v1/jobs?batch={single}"), 400, "invalid", "batch")
    assert_error(s.req("GET", "/api/v1/jobs/99999/children"), 404)
    assert_error(s.req("GET", "/api/v1/jobs?children=maybe"), 400, "invalid", "children")


def test_folder_sweep_with_glob_and_recursion():
    files = {"imgs/a.png": b"1", "imgs/b.png": b"22", "imgs/c.txt": b"333",
             "imgs/.hidden.png": b"4", "imgs/deep/d.png": b"55555", "other.png": b"6"}
    s = batch_server(inputs=files)
    os.symlink(s.outside, os.path.join(s.inputs, "imgs", "evil.png"))
    os.symlink(os.path.join(s.inputs, "other.png"), os.path.join(s.inputs, "imgs", "ok.png"))
    p = submit_batch(s, {"preset": "cat", "sweep": {"md": {"dir": "imgs", "glob": "*.png"}}})
    kids = children(s, p["jobId"])
    assert sorted(k["md"] for k in kids) == ["imgs/a.png", "imgs/b.png", "imgs/ok.png"], kids
    assert p["md"] == "imgs", p
    rec = submit_batch(s, {"preset": "cat",
                           "sweep": {"md": {"dir": "imgs", "glob": "*.png", "recursive": True}}})
    kids = children(s, rec["jobId"])
    assert sorted(k["md"] for k in kids) == ["imgs/a.png", "imgs/b.png", "imgs/deep/d.png",
                                             "imgs/ok.png"], kids
    done = wait_parent(s, rec["jobId"], ("succeeded", "failed"))
    assert done["state"] == "succeeded", done
    for k in kids:
        data = s.req("GET", f"/api/v1/jobs/{k['jobId']}/artifacts/copy.txt", raw=True).body
        assert data == open(os.path.join(s.inputs, k["md"]), "rb").read(), k
    # a list of uploads and paths
    up = s.req("POST", "/api/v1/uploads?filename=x.md", b"# Up\n",
               headers={"Content-Type": "application/octet-stream"})
    assert up.status == 201, up.describe()
    mixed = submit_batch(s, {"preset": "cat", "sweep": {"md": [up.body["fileId"], "other.png"]}})
    assert sorted(k["md"] for k in children(s, mixed["jobId"])) == sorted(
        [up.body["fileId"], "other.png"])


def test_scoping_another_user_sees_nothing_of_the_batch():
    s = batch_server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    s.register("alice@example.com", "alice-password")
    s.register("bob@example.com", "bob-password")
    alice = User(s, "alice@example.com", "alice-password")
    bob = User(s, "bob@example.com", "bob-password")
    r = alice.req("POST", "/api/v1/jobs", {"preset": "noop", "sweep": {"x": ["1", "2"]}})
    assert r.status == 201, r.describe()
    pid = r.body["jobId"]
    wait_until(lambda: alice.req("GET", f"/api/v1/jobs/{pid}").body["state"] == "succeeded", 20,
               what="alice's batch to succeed")
    kid = alice.req("GET", f"/api/v1/jobs/{pid}/children").body["items"][0]["jobId"]
    for path in (f"/api/v1/jobs/{pid}", f"/api/v1/jobs/{pid}/children", f"/api/v1/jobs/{kid}",
                 f"/api/v1/jobs?batch={pid}"):
        assert_error(bob.req("GET", path), 404)
    assert_error(bob.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "retry"}), 404)
    assert_error(bob.req("POST", f"/api/v1/jobs/{pid}/actions", {"type": "cancel"}), 404)
    assert bob.req("GET", "/api/v1/jobs?children=1").body["items"] == []
    assert len(alice.req("GET", "/api/v1/jobs?children=1").body["items"]) == 3
    assert len(s.call("GET", "/api/v1/admin/jobs?children=1")["items"]) == 3


def test_sse_carries_child_events_and_coalesced_parent_updates():
    s = batch_server()
    c = s.sse()
    assert c.wait_headers() == 200
    c.wait_for(lambda _evs: c.items, 5, what="retry line")
    p = submit_batch(s, {"preset": "noop", "sweep": {"x": [str(i) for i in range(300)]}})
    pid = p["jobId"]

    def parent_done(evs):
        return any(e.json and e.json.get("jobId") == pid and e.json.get("state") == "succeeded"
                   for e in evs if e.event == "job_state_changed")
    c.wait_for(parent_done, 60, what="the parent's succeeded event")
    evs = c.snapshot()
    kid_events = [e for e in evs if e.json and e.json.get("batchId") == pid]
    assert len([e for e in kid_events if e.event == "job_created"]) == 300
    assert len([e for e in kid_events if e.json.get("state") == "succeeded"]) == 300
    parent = [e for e in evs if e.json and e.json.get("jobId") == pid]
    assert parent[0].event == "job_created" and parent[0].json["kind"] == "batch"
    # coalesced: far fewer parent updates than child changes (600)
    assert len(parent) < 100, f"{len(parent)} parent events for 600 child changes"
    last = parent[-1].json
    assert last["state"] == "succeeded" and last["batch"]["succeeded"] == 300, last
    c.close()


def test_kill9_during_creation_leaves_all_or_none():
    """The server is killed at various moments after a 1,000-child batch was sent: after the
    restart each batch that exists has all its children, and no child lacks its parent."""
    s = batch_server(workers=1)
    body = json.dumps({"preset": "hold", "sweep": {"v": [str(i) for i in range(1000)]}}).encode()
    created = 0
    for attempt in range(4):
        sock = socket.create_connection(("127.0.0.1", s.port))
        head = (f"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n").encode() + s.auth_line() + b"\r\n"
        sock.sendall(head + body)
        time.sleep(0.005 + 0.01 * attempt)
        s.kill9()
        sock.close()
        s.start()
        jobs, _ = s.list_all("children=1", limit=200, max_pages=100)
        parents = {j["jobId"]: j for j in jobs if j["kind"] == "batch"}
        for pid, par in parents.items():
            kids = [j for j in jobs if j["batchId"] == pid]
            assert len(kids) == 1000 and par["batch"]["total"] == 1000, \
                f"batch {pid} has {len(kids)} children after kill -9"
        orphans = [j["jobId"] for j in jobs if j["batchId"] and j["batchId"] not in parents]
        assert not orphans, f"children without a parent: {orphans[:10]}"
        assert len(jobs) == 1001 * len(parents), len(jobs)
        created = len(parents)
    assert created <= 4


def test_openapi_and_job_options_know_batches():
    s = batch_server()
    doc = s.call("GET", "/api/v1/openapi.json")
    assert "/api/v1/jobs/{id}/children" in doc["paths"] or "/jobs/{id}/children" in str(doc)
    assert "BatchCounts" in doc["components"]["schemas"]
    assert s.call("GET", "/api/v1/config/job-options")["limits"]["maxBatchSize"] == 1000


def _real_imagemagick():
    """The ImageMagick convert and identify programs (build.sh installs imagemagick); a
    stand-in named convert earlier in PATH is passed over."""
    for conv, ident in (("convert-im6.q16", "identify-im6.q16"), ("magick", "magick"),
                        ("/usr/bin/convert", "/usr/bin/identify")):
        c, i = shutil.which(conv), shutil.which(ident)
        if not c or not i:
            continue
        out = subprocess.run([c, "-version"], capture_output=True, text=True, timeout=30)
        if "ImageMagick" in out.stdout:
            return c, ([i] if ident != "magick" else [i, "identify"])
    raise AssertionError("ImageMagick is not installed (build.sh installs imagemagick)")


def test_worked_example_resizes_a_folder_of_images_at_two_sizes():
    """docs/batches.md: a command preset that resizes images with ImageMagick, over a folder,
    swept over two sizes; every output image has the size asked for."""
    convert, identify = _real_imagemagick()
    preset = {"id": "resize", "workflow": "command",
              "argv": [convert, "{input}", "-resize", "{param.size}x{param.size}",
                       "{outdir}/resized.png"], "timeoutSec": 60, "maxAttempts": 1}
    s = Server(presets_extra=[preset], inputs={"keep.txt": b"x"})
    os.makedirs(os.path.join(s.inputs, "photos"))
    for name, geom in (("wide.png", "400x200"), ("tall.png", "150x300"), ("square.png", "90x90")):
        subprocess.run([convert, "-size", geom, "xc:steelblue", os.path.join(s.inputs, "photos",
                                                                          name)],
                       check=True, timeout=30)
    p = submit_batch(s, {"preset": "resize", "sweep": {"md": {"dir": "photos", "glob": "*.png"},
                                                       "size": [64, 128]}})
    assert p["batch"]["total"] == 6, p
    done = wait_parent(s, p["jobId"], ("succeeded", "failed"), timeout=60)
    assert done["state"] == "succeeded", (done, [s.logs(k["jobId"])
                                                 for k in children(s, p["jobId"])])
    src = {"photos/wide.png": (400, 200), "photos/tall.png": (150, 300),
           "photos/square.png": (90, 90)}
    seen = set()
    for k in children(s, p["jobId"]):
        size = int(k["params"]["size"])
        data = s.req("GET", f"/api/v1/jobs/{k['jobId']}/artifacts/resized.png", raw=True)
        assert data.status == 200, data.describe()
        out = os.path.join(s.base, f"out-{k['jobId']}.png")
        with open(out, "wb") as f:
            f.write(data.body)
        got = subprocess.run(identify + ["-format", "%w %h", out], capture_output=True,
                             text=True, timeout=30, check=True).stdout.split()
        w, h = int(got[0]), int(got[1])
        sw, sh = src[k["md"]]
        scale = min(size / sw, size / sh)
        assert max(w, h) == size and abs(w - round(sw * scale)) <= 1 and \
            abs(h - round(sh * scale)) <= 1, (k["md"], size, w, h)
        seen.add((k["md"], size))
    assert seen == {(m, z) for m in src for z in (64, 128)}, seen


class _CliEnv:
    """Runs the batchbox CLI against s with its admin's token."""

    def __init__(self, s):
        self.s = s
        self.home = os.path.join(s.base, "clihome")
        os.makedirs(self.home, exist_ok=True)

    def run(self, *args, timeout=60):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHBOX_")}
        env.update(HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                   BATCHBOX_SERVER=f"http://127.0.0.1:{self.s.port}",
                   BATCHBOX_TOKEN=self.s.token)
        p = subprocess.run([harness.BIN] + [str(a) for a in args], capture_output=True,
                           text=True, env=env, timeout=scaled(timeout), cwd=self.home)
        for m in harness.SANITIZER_MARKERS:
            assert m not in p.stderr, p.stderr
        return p


def test_cli_submit_sweep_show_and_watch():
    s = batch_server()
    cli = _CliEnv(s)
    prompts = os.path.join(cli.home, "prompts.txt")
    with open(prompts, "w") as f:
        f.write("a red fox\r\nblue sky\n\n")
    p = cli.run("submit", "--preset", "show", "--sweep", "seed=count:4",
                "--sweep", f"size=@{prompts}", "--wait")
    assert p.returncode == 0, (p.stdout, p.stderr)
    first = p.stdout.splitlines()[0]
    assert first.startswith("submitted batch ") and first.endswith("(8 jobs)"), p.stdout
    pid = first.split()[2]
    dto = s.job(pid)
    assert dto["state"] == "succeeded" and dto["batch"]["succeeded"] == 8, dto
    assert dto["sweep"] == {"seed": {"count": 4}, "size": ["a red fox", "blue sky"]}, dto
    assert sorted({k["params"]["size"] for k in children(s, pid)}) == ["a red fox", "blue sky"]
    # start:S,count:N and a,b,c lists
    p = cli.run("submit", "--preset", "show", "--sweep", "seed=start:5,count:2",
                "--sweep", "size=1,2,3", "--json")
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body["kind"] == "batch" and body["batch"]["total"] == 6, body
    seeds = sorted({str(k["params"]["seed"]) for k in children(s, body["jobId"])})
    assert seeds == ["5", "6"], seeds
    # show summarises the batch
    p = cli.run("show", pid)
    assert p.returncode == 0, p.stderr
    assert "batch summary:" in p.stdout and "8 jobs: 0 queued, 0 running, 8 succeeded" in p.stdout
    assert "swept: seed (4 seeds) size (2 values)" in p.stdout, p.stdout
    rows = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("  ")
            and len(ln.split()) >= 3 and ln.split()[1] == "succeeded"]
    assert sorted(r[0] for r in rows) == sorted(k["jobId"] for k in children(s, pid)), p.stdout
    # a folder of the input root (trailing /) with --glob
    p = cli.run("submit", "sub/", "--preset", "cat", "--glob", "*.md", "--wait")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "(1 job)" in p.stdout, p.stdout
    # a local folder inside the input root, by its real path
    p = cli.run("submit", s.inputs, "--preset", "cat", "--glob", "*.md")
    assert p.returncode == 0 and "(2 jobs)" in p.stdout, (p.stdout, p.stderr)
    # usage errors
    for bad in (["--sweep", "seed"], ["--sweep", "seed=count:x"], ["--sweep", "seed=start:1"],
                ["--glob", "*.md"], ["--sweep", "a=1", "--sweep", "a=2"]):
        p = cli.run("submit", "--preset", "show", *bad)
        assert p.returncode == 2, (bad, p.stdout, p.stderr)
    # the server's refusal names the field
    p = cli.run("submit", "--preset", "show", "--sweep", "seed=count:1001")
    assert p.returncode != 0 and "sweep" in p.stderr, p.stderr


def test_cli_watch_shows_batch_progress():
    s = batch_server()
    cli = _CliEnv(s)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHBOX_")}
    env.update(HOME=cli.home, BATCHBOX_SERVER=f"http://127.0.0.1:{s.port}",
               BATCHBOX_TOKEN=s.token)
    w = subprocess.Popen([harness.BIN, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        def listening():
            return any(c for c in s.call("GET", "/metrics", raw=True).decode().splitlines()
                       if c.startswith("batchbox_sse_subscribers") and not c.endswith(" 0"))
        wait_until(listening, 10, what="watch to subscribe")
        p = submit_batch(s, {"preset": "noop", "sweep": {"x": ["1", "2", "3"]}})
        wait_parent(s, p["jobId"], ("succeeded",))
        time.sleep(scaled(0.5))
    finally:
        w.send_signal(2)
        out, err = w.communicate(timeout=scaled(20))
    lines = out.splitlines()
    pid = p["jobId"]
    done = [ln for ln in lines if f"job={pid} state=succeeded" in ln]
    assert done and "done=3/3 succeeded=3 failed=0 canceled=0" in done[-1], out
    kids = [ln for ln in lines if f"batch={pid}" in ln]
    assert len(kids) >= 9, out

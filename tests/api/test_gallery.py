"""Gallery, picks and the streamed ZIP (docs/gallery.md): GET /jobs/:id/gallery,
POST/DELETE /jobs/:id/artifacts/:name/pick and GET /jobs/:id/gallery.zip.

A batch is made with POST /jobs {"sweep": ...} when the server supports sweeps; a server
without them gets the same shape by hand: the children run as plain jobs, then (server
stopped) one more job becomes their parent in the database (kind 'batch', its sweep, the
children's batch_id), which is all the gallery reads. Every ZIP is opened with Python's
zipfile and each entry compared with the bytes the job wrote.
"""

import io
import json
import os
import sqlite3
import tempfile
import threading
import zipfile

import harness
from harness import Server, scaled, wait_until

# Writes out.txt ("size=N\n"), img.png (N*100 bytes of "pxN\n" repeated: a made-up
# "image", stored uncompressed in the ZIP by its type) and a file with a non-ASCII name.
GEN = {"id": "gen", "workflow": "command", "maxAttempts": 1,
       "argv": ["sh", "-c",
                "printf 'size=%s\\n' \"$1\" > \"$0/out.txt\" && "
                "yes \"px$1\" | head -c $(($1 * 100)) > \"$0/img.png\" && "
                "printf '\\303\\274' > \"$0/\u00fcn\u00ef.txt\"",
                "{outdir}", "{param.size}"]}
# One large artifact of $1 zero bytes (video/mp4 by its name: stored, not deflated).
BIG = {"id": "big", "workflow": "command", "maxAttempts": 1,
       "argv": ["sh", "-c", "head -c \"$1\" /dev/zero > \"$0/big.mp4\"",
                "{outdir}", "{param.bytes}"]}
UNI = "\u00fcn\u00ef.txt"


def expected_files(size):
    size = int(size)
    img = (f"px{size}\n".encode() * (size * 100))[:size * 100]
    return {"out.txt": f"size={size}\n".encode(), "img.png": img, UNI: "\u00fc".encode()}


def start(env=None):
    return Server(presets_extra=[GEN, BIG], env=env)


def _wait_all_terminal(s, ids):
    for j in ids:
        s.wait_terminal(j, timeout=30)


def make_batch(s, preset, name, values):
    """A batch of preset over params[name] = each of values; returns (parentId, childIds)
    once every child has ended."""
    r = s.req("POST", "/api/v1/jobs", {"preset": preset, "sweep": {name: values}})
    if r.status in (201, 202) and isinstance(r.body, dict) and r.body.get("kind") == "batch":
        parent = r.body["jobId"]

        def children():
            items = s.call("GET", f"/api/v1/jobs/{parent}/gallery")["items"]
            if len(items) == len(values) and all(
                    i["state"] in harness.TERMINAL for i in items):
                return [i["id"] for i in items]
            return None
        return parent, wait_until(children, 60, interval=0.1, what="the batch's children")
    assert r.status == 400, f"a server without sweeps refuses the field: {r.describe()}"
    kids = [s.submit(preset=preset, params={name: v}) for v in values]
    parent = s.submit(preset="noop")
    _wait_all_terminal(s, kids + [parent])
    s.stop()
    db = sqlite3.connect(os.path.join(s.data, "batchbox.db"))
    try:
        with db:
            db.execute("UPDATE jobs SET kind = 'batch', sweep = ? WHERE id = ?",
                       (json.dumps({name: values}), int(parent)))
            db.executemany("UPDATE jobs SET batch_id = ? WHERE id = ?",
                           [(int(parent), int(k)) for k in kids])
    finally:
        db.close()
    s.start()
    return parent, kids


def get_zip(s, path, token=None):
    r = s.req("GET", path, raw=True, token=token, timeout=60)
    assert r.status == 200, r.describe()
    assert r.headers["Content-Type"] == "application/zip", r.headers
    return r, zipfile.ZipFile(io.BytesIO(r.raw))


def test_batch_gallery_shape_picks_and_zip():
    s = start()
    parent, kids = make_batch(s, "gen", "size", ["16", "32", "48"])
    g = s.call("GET", f"/api/v1/jobs/{parent}/gallery")
    assert g["jobId"] == parent and g["kind"] == "batch", g
    assert g["swept"] == ["size"], g
    assert [i["id"] for i in g["items"]] == kids, g
    for item, size in zip(g["items"], ("16", "32", "48")):
        assert set(item) == {"id", "state", "params", "md", "error", "waitingFor", "artifacts"}, item
        assert item["state"] == "succeeded" and item["error"] is None, item
        assert str(item["params"]["size"]) == size, item
        want = expected_files(size)
        assert [a["name"] for a in item["artifacts"]] == sorted(want), item
        for a in item["artifacts"]:
            assert set(a) == {"name", "contentType", "size", "url", "picked"}, a
            assert a["picked"] is False and a["size"] == len(want[a["name"]]), a
            body = s.call("GET", a["url"], raw=True)
            assert body == want[a["name"]], a
        types = {a["name"]: a["contentType"] for a in item["artifacts"]}
        assert types["img.png"] == "image/png" and types["out.txt"].startswith("text/plain")

    # picks: idempotent both ways, answered {name, picked}
    c0, c1, c2 = kids
    for _ in range(2):
        assert s.call("POST", f"/api/v1/jobs/{c0}/artifacts/img.png/pick") == \
            {"name": "img.png", "picked": True}
    assert s.call("POST", f"/api/v1/jobs/{c2}/artifacts/out.txt/pick")["picked"] is True
    assert s.call("POST", f"/api/v1/jobs/{c2}/artifacts/img.png/pick")["picked"] is True
    for _ in range(2):
        assert s.call("DELETE", f"/api/v1/jobs/{c2}/artifacts/img.png/pick") == \
            {"name": "img.png", "picked": False}
    g = s.call("GET", f"/api/v1/jobs/{parent}/gallery")
    picked = {(i["id"], a["name"]) for i in g["items"] for a in i["artifacts"] if a["picked"]}
    assert picked == {(c0, "img.png"), (c2, "out.txt")}, g
    gp = s.call("GET", f"/api/v1/jobs/{parent}/gallery?picked=1")
    assert [(i["id"], [a["name"] for a in i["artifacts"]]) for i in gp["items"]] == \
        [(c0, ["img.png"]), (c2, ["out.txt"])], gp
    assert s.call("GET", f"/api/v1/jobs/{parent}/gallery?picked=0") == g

    # the whole ZIP: every artifact of every child, right bytes
    r, z = get_zip(s, f"/api/v1/jobs/{parent}/gallery.zip")
    assert f'filename="batch-{parent}.zip"' in r.headers["Content-Disposition"], r.headers
    assert r.headers["Content-Disposition"].startswith("attachment"), r.headers
    assert z.testzip() is None
    want = {}
    for k, size in zip(kids, ("16", "32", "48")):
        for name, data in expected_files(size).items():
            want[f"job-{k}/{name}"] = data
    assert sorted(z.namelist()) == sorted(want), z.namelist()
    for name, data in want.items():
        assert z.read(name) == data, name
    infos = {i.filename: i for i in z.infolist()}
    assert infos[f"job-{c0}/img.png"].compress_type == zipfile.ZIP_STORED
    assert infos[f"job-{c0}/out.txt"].compress_type == zipfile.ZIP_DEFLATED

    # only the picks
    r, z = get_zip(s, f"/api/v1/jobs/{parent}/gallery.zip?picked=1")
    assert f'filename="batch-{parent}-picked.zip"' in r.headers["Content-Disposition"]
    assert sorted(z.namelist()) == sorted([f"job-{c0}/img.png", f"job-{c2}/out.txt"])
    assert z.read(f"job-{c0}/img.png") == expected_files("16")["img.png"]
    assert z.read(f"job-{c2}/out.txt") == b"size=48\n"

    # HEAD: the head alone
    r = s.req("HEAD", f"/api/v1/jobs/{parent}/gallery.zip", raw=True)
    assert r.status == 200 and r.raw == b"", r.describe()
    assert r.headers["Content-Type"] == "application/zip"

    # nothing picked: the picked ZIP is a 404 naming why, not an empty archive
    s.call("DELETE", f"/api/v1/jobs/{c0}/artifacts/img.png/pick")
    s.call("DELETE", f"/api/v1/jobs/{c2}/artifacts/out.txt/pick")
    assert s.call("GET", f"/api/v1/jobs/{parent}/gallery?picked=1")["items"] == []
    r = s.req("GET", f"/api/v1/jobs/{parent}/gallery.zip?picked=1")
    assert r.status == 404 and r.body["error"] == "not_found", r.describe()
    assert "no picked artifacts" in r.body["message"], r.body


def test_plain_job_gallery_has_one_item():
    s = start()
    jid = s.submit(preset="gen", params={"size": "8"})
    assert s.wait_terminal(jid)["state"] == "succeeded"
    g = s.call("GET", f"/api/v1/jobs/{jid}/gallery")
    assert g["jobId"] == jid and g["kind"] == "job" and g["swept"] == [], g
    assert len(g["items"]) == 1 and g["items"][0]["id"] == jid, g
    r, z = get_zip(s, f"/api/v1/jobs/{jid}/gallery.zip")
    assert f'filename="job-{jid}.zip"' in r.headers["Content-Disposition"]
    assert {n: z.read(n) for n in z.namelist()} == \
        {f"job-{jid}/{k}": v for k, v in expected_files("8").items()}

    # a job that wrote nothing: an empty gallery item, and no ZIP
    nid = s.submit(preset="noop")
    s.wait_terminal(nid)
    g = s.call("GET", f"/api/v1/jobs/{nid}/gallery")
    assert [i["artifacts"] for i in g["items"]] == [[]], g
    r = s.req("GET", f"/api/v1/jobs/{nid}/gallery.zip")
    assert r.status == 404 and r.body["error"] == "not_found", r.describe()

    # a failed job shows its error
    fid = s.submit(preset="fail")
    assert s.wait_terminal(fid, timeout=30)["state"] == "failed"
    item = s.call("GET", f"/api/v1/jobs/{fid}/gallery")["items"][0]
    assert item["state"] == "failed" and item["error"], item


def test_other_users_see_nothing_of_a_batch():
    s = start(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    parent, kids = make_batch(s, "gen", "size", ["4", "5"])
    bob = s.register("bob@example.com", "bob-password-22").body["accessToken"]
    for method, path in (
            ("GET", f"/api/v1/jobs/{parent}/gallery"),
            ("GET", f"/api/v1/jobs/{parent}/gallery?picked=1"),
            ("GET", f"/api/v1/jobs/{parent}/gallery.zip"),
            ("HEAD", f"/api/v1/jobs/{parent}/gallery.zip"),
            ("GET", f"/api/v1/jobs/{kids[0]}/gallery"),
            ("GET", f"/api/v1/jobs/{kids[0]}/gallery.zip"),
            ("POST", f"/api/v1/jobs/{kids[0]}/artifacts/img.png/pick"),
            ("DELETE", f"/api/v1/jobs/{kids[0]}/artifacts/img.png/pick")):
        r = s.req(method, path, token=bob, raw=True)
        assert r.status == 404, f"bob: {method} {path}: {r.status} {r.raw[:200]!r}"
        if method != "HEAD":
            assert json.loads(r.raw)["error"] == "not_found", r.raw
    # bob's attempt changed nothing; the owner (here the admin) still sees it all
    g = s.call("GET", f"/api/v1/jobs/{parent}/gallery")
    assert not any(a["picked"] for i in g["items"] for a in i["artifacts"]), g
    # an admin may pick another user's output
    bjob = s.req("POST", "/api/v1/jobs", {"preset": "gen", "params": {"size": "3"}},
                 token=bob).body["jobId"]
    s.wait_terminal(bjob)
    assert s.call("POST", f"/api/v1/jobs/{bjob}/artifacts/out.txt/pick")["picked"] is True
    r = s.req("GET", f"/api/v1/jobs/{bjob}/gallery?picked=1", token=bob)
    assert [a["name"] for a in r.body["items"][0]["artifacts"]] == ["out.txt"], r.describe()


def test_bad_names_ids_and_queries():
    s = start()
    jid = s.submit(preset="gen", params={"size": "2"})
    s.wait_terminal(jid)
    for method in ("POST", "DELETE"):
        for name in ("nope.txt", "..", ".", "OUT.TXT", "%2e%2e", "img.png%00"):
            r = s.req(method, f"/api/v1/jobs/{jid}/artifacts/{name}/pick")
            assert r.status in (400, 404), f"{method} {name}: {r.describe()}"
            if r.status == 404:
                assert r.body["error"] == "not_found", r.describe()
    for path in ("/api/v1/jobs/999999/gallery", "/api/v1/jobs/abc/gallery",
                 "/api/v1/jobs/999999/gallery.zip", "/api/v1/jobs/0/gallery.zip",
                 "/api/v1/jobs/999999/artifacts/out.txt/pick"):
        method = "POST" if path.endswith("/pick") else "GET"
        r = s.req(method, path)
        assert r.status == 404 and r.body["error"] == "not_found", r.describe()
    for q in ("picked=2", "picked=yes", "picked=" + "1" * 40):
        for suffix in ("gallery", "gallery.zip"):
            r = s.req("GET", f"/api/v1/jobs/{jid}/{suffix}?{q}")
            assert r.status == 400, r.describe()
            assert "picked" in r.body["details"]["fields"], r.body
    # nothing was picked by any of that
    g = s.call("GET", f"/api/v1/jobs/{jid}/gallery")
    assert not any(a["picked"] for a in g["items"][0]["artifacts"]), g


def _vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def test_large_artifact_zip_streams_in_flat_memory():
    """A 256 MiB artifact (64 MiB when BB_SLOW says the machine is slow) goes out in a ZIP
    while the server's RSS stays within 32 MiB of what it was before: the archive is
    written as it is sent, never held."""
    total = (64 if harness.SLOW > 1 else 256) * 1024 * 1024
    s = start()
    jid = s.submit(preset="big", params={"bytes": str(total)})
    assert s.wait_terminal(jid, timeout=120)["state"] == "succeeded"
    small = s.submit(preset="gen", params={"size": "1"})
    s.wait_terminal(small)
    get_zip(s, f"/api/v1/jobs/{small}/gallery.zip")   # warm the ZIP path up once
    pid = s.proc.pid
    idle = max(_vmrss_kib(pid) for _ in range(5))

    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                samples.append(_vmrss_kib(pid))
            except OSError:
                return
            stop.wait(0.05)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    tmp = tempfile.NamedTemporaryFile(prefix="bbzip-", suffix=".zip", delete=False)
    try:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=scaled(120))
        try:
            conn.request("GET", f"/api/v1/jobs/{jid}/gallery.zip",
                         headers={"Authorization": f"Bearer {s.token}"})
            resp = conn.getresponse()
            assert resp.status == 200, resp.status
            assert resp.getheader("Content-Length") is None, "a streamed ZIP has no length"
            got = 0
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                tmp.write(chunk)
                got += len(chunk)
        finally:
            conn.close()
            stop.set()
            th.join(5)
        tmp.close()
        samples.append(_vmrss_kib(pid))
        peak = max(samples)
        print(f"  ZIP of {total >> 20} MiB ({got} bytes): idle VmRSS {idle / 1024:.1f} MiB, "
              f"peak {peak / 1024:.1f} MiB (+{(peak - idle) / 1024:.1f} MiB, "
              f"{len(samples)} samples)")
        assert got > total, f"the archive ({got} bytes) is smaller than its member"
        with zipfile.ZipFile(tmp.name) as z:
            info = z.getinfo(f"job-{jid}/big.mp4")
            assert info.file_size == total and info.compress_type == zipfile.ZIP_STORED
            with z.open(info) as f:
                n = 0
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    assert b.count(0) == len(b)
                    n += len(b)
            assert n == total
        assert len(samples) >= 3, f"only {len(samples)} RSS samples"
        assert peak - idle < 32 * 1024, \
            f"peak RSS {peak} KiB is {(peak - idle) / 1024:.1f} MiB above idle {idle} KiB " \
            f"while streaming a {total >> 20} MiB ZIP (limit 32 MiB)"
    finally:
        os.unlink(tmp.name)


def test_zip_streams_artifacts_from_s3():
    """Artifacts copied to S3 (upload "s3") go into the ZIP from the bucket; the local copy
    is removed first, so the bytes can only have come from S3. Then, with S3 no longer
    configured, the ZIP is a 503 answered before any byte."""
    from test_s3 import S3rver, SECRET_KEY, s3_config
    with S3rver() as s3:
        s = Server(start=False, env={"BATCHBOX_S3_SECRET_KEY": SECRET_KEY})
        cfg = s.default_config()
        cfg["presets"] += [GEN]
        cfg.update(s3_config(s3.endpoint))
        with open(s.config_path, "w") as f:
            json.dump(cfg, f)
        s.start()
        jid = s.submit(preset="gen", params={"size": "20"}, upload="s3")
        assert s.wait_terminal(jid, timeout=30)["state"] == "succeeded", s.logs(jid)
        assert set(s3.keys(f"artifacts/{jid}/")) >= {f"artifacts/{jid}/out.txt",
                                                      f"artifacts/{jid}/img.png"}
        local = os.path.join(s.data, "artifacts", jid)
        if os.path.isdir(local):
            for name in os.listdir(local):
                os.unlink(os.path.join(local, name))
        s.call("POST", f"/api/v1/jobs/{jid}/artifacts/img.png/pick")
        _, z = get_zip(s, f"/api/v1/jobs/{jid}/gallery.zip")
        assert {n: z.read(n) for n in z.namelist()} == \
            {f"job-{jid}/{k}": v for k, v in expected_files("20").items()}
        _, z = get_zip(s, f"/api/v1/jobs/{jid}/gallery.zip?picked=1")
        assert z.namelist() == [f"job-{jid}/img.png"]

        s.stop()
        del cfg["storage"]
        with open(s.config_path, "w") as f:
            json.dump(cfg, f)
        s.start()
        r = s.req("GET", f"/api/v1/jobs/{jid}/gallery.zip")
        assert r.status == 503 and r.body["error"] == "unavailable", r.describe()
        assert "S3" in r.body["message"], r.body

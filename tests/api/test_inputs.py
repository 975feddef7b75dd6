"""The input browser and the input root at run time (docs/templates-and-inputs.md).

GET /inputs?path= against the real binary: the listing's shape and order (directories
first, then files, by name), contentType judged from the bytes, hidden and special
entries left out, symlinks leading out of the root neither listed nor followed, `..` and
absolute paths 400 naming `path`, files and missing directories, the 1,000-entry cap with
`truncated`, sign-in required. Then the run-time check: a job whose input path is swapped
for a symlink (or whose directory is) after submit fails with a clear error and reads
nothing outside the root; an untouched path input still runs.
"""

import json
import os
import time
from urllib.parse import quote

import harness
from harness import Server, assert_error

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
       b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
       b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

# Waits (bounded: 30 s) until the test creates RUNS/go; one at a time, so a job queued
# behind it is claimed only after the test has changed the input root.
GATE = {"id": "gate", "workflow": "command",
        "argv": ["sh", "-c", "i=0; while [ ! -e RUNS/go ] && [ $i -lt 600 ]; do sleep 0.05; "
                 "i=$((i+1)); done"],
        "maxAttempts": 1, "timeoutSec": 60}


def ls(s, path=None, token=None, expect=200):
    q = "" if path is None else "?path=" + quote(path, safe="")
    return s.call("GET", "/api/v1/inputs" + q, expect=expect, token=token)


def entry_names(listing):
    return [e["name"] for e in listing["entries"]]


def test_lists_the_root_and_a_subdirectory():
    s = Server(inputs={"a.md": b"# A\n", "b.json": b'{"x": 1}', "pic.png": PNG,
                       "bin.dat": bytes(range(256)) * 4, "notes.txt": b"plain text\n",
                       "sub/c.md": b"# C\n", "sub/deeper/d.md": b"# D\n",
                       "zdir/x.md": b"x", ".hidden": b"h", ".git/config": b"c"})
    root = ls(s)
    assert root["path"] == "" and root["truncated"] is False, root
    # directories first, then files, each by name; link.md (out of the root) and hidden
    # entries are left out
    assert entry_names(root) == ["sub", "zdir", "a.md", "b.json", "bin.dat", "notes.txt",
                                 "pic.png"], root
    by = {e["name"]: e for e in root["entries"]}
    assert by["sub"] == {"name": "sub", "type": "dir", "size": None,
                         "modifiedAt": by["sub"]["modifiedAt"], "contentType": None}, by
    assert by["a.md"]["type"] == "file" and by["a.md"]["size"] == 4, by
    assert by["a.md"]["contentType"] == "text/markdown; charset=utf-8", by
    assert by["b.json"]["contentType"] == "application/json", by
    assert by["pic.png"]["contentType"] == "image/png", by
    assert by["notes.txt"]["contentType"] == "text/plain; charset=utf-8", by
    assert by["bin.dat"]["contentType"] is None, by   # no upload would accept it
    for e in root["entries"]:
        assert set(e) == {"name", "type", "size", "modifiedAt", "contentType"}, e
        assert harness.ISO_RE.match(e["modifiedAt"]), e
    mt = os.stat(os.path.join(s.inputs, "a.md")).st_mtime
    assert by["a.md"]["modifiedAt"][:19] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mt))
    sub = ls(s, "sub")
    assert sub["path"] == "sub" and entry_names(sub) == ["deeper", "c.md"], sub
    # spellings of the same directory are normalised
    for p in ("./sub/", "sub//", "sub/.", "./sub"):
        assert ls(s, p)["path"] == "sub", p
    assert ls(s, "sub/deeper")["entries"][0]["name"] == "d.md"
    for p in ("", ".", "./"):
        assert ls(s, p)["path"] == "", p
    # another signed-in user sees the same root (same rule as md); no token → 401
    assert_error(s.req("GET", "/api/v1/inputs", auth=False), 401, "unauthorized")


def test_bad_paths_are_400_naming_path_and_missing_is_404():
    s = Server()
    for p in ("..", "../", "../outside.md", "sub/../..", "sub/..", "/", "/etc",
              s.inputs, "a\x01b"):
        assert_error(s.req("GET", "/api/v1/inputs?path=" + quote(p, safe="")), 400,
                     "invalid", field="path")
    assert_error(s.req("GET", "/api/v1/inputs?path=a.md"), 400, "invalid", field="path")
    assert_error(s.req("GET", "/api/v1/inputs?path=nope"), 404, "not_found")
    assert_error(s.req("GET", "/api/v1/inputs?path=sub/nope"), 404, "not_found")
    assert_error(s.req("GET", "/api/v1/inputs?path=" + "x" * 5000), 400, "invalid",
                 field="path")


def test_symlinks_out_of_the_root_are_not_listed_or_followed():
    s = Server(inputs={"in/a.md": b"a", "real/r.md": b"r"})
    secret_dir = os.path.join(s.base, "secret")
    os.makedirs(secret_dir)
    with open(os.path.join(secret_dir, "key.md"), "w") as f:
        f.write("secret")
    os.symlink(secret_dir, os.path.join(s.inputs, "abs_dir"))           # absolute, out
    os.symlink("../secret", os.path.join(s.inputs, "rel_dir"))          # relative, out
    os.symlink("../../secret/key.md", os.path.join(s.inputs, "in", "up.md"))
    os.symlink("/etc/passwd", os.path.join(s.inputs, "passwd"))
    os.symlink("nowhere", os.path.join(s.inputs, "dangling"))
    os.symlink("real", os.path.join(s.inputs, "inside_dir"))            # stays inside
    os.symlink("real/r.md", os.path.join(s.inputs, "inside.md"))
    os.mkfifo(os.path.join(s.inputs, "fifo"))
    root = ls(s)
    names = entry_names(root)
    for out in ("abs_dir", "rel_dir", "passwd", "dangling", "link.md", "fifo"):
        assert out not in names, (out, root)
    # links that stay inside the root are listed as what they lead to (Linux 5.6+)
    by = {e["name"]: e for e in root["entries"]}
    assert by["inside_dir"]["type"] == "dir" and by["inside.md"]["type"] == "file", root
    assert by["inside.md"]["contentType"] == "text/markdown; charset=utf-8", root
    assert ls(s, "inside_dir")["entries"][0]["name"] == "r.md"
    assert entry_names(ls(s, "in")) == ["a.md"]
    for p in ("abs_dir", "rel_dir", "abs_dir/", "rel_dir/sub", "passwd"):
        r = s.req("GET", "/api/v1/inputs?path=" + quote(p, safe=""))
        assert r.status in (400, 404), r.describe()
        assert "key.md" not in json.dumps(r.body) and "root:" not in json.dumps(r.body)
        if r.status == 400:
            assert_error(r, 400, "invalid", field="path")


def test_at_most_1000_entries_with_truncated():
    s = Server(inputs={})
    big = os.path.join(s.inputs, "big")
    os.makedirs(big)
    for i in range(3):
        os.makedirs(os.path.join(big, f"dir{i}"))
    for i in range(1002):
        with open(os.path.join(big, f"f{i:04d}.txt"), "w") as f:
            f.write("t")
    r = ls(s, "big")
    assert r["truncated"] is True and len(r["entries"]) == 1000, (r["truncated"],
                                                                   len(r["entries"]))
    assert entry_names(r)[:4] == ["dir0", "dir1", "dir2", "f0000.txt"], entry_names(r)[:4]
    assert entry_names(r)[-1] == "f0996.txt"
    # exactly 1,000 is not truncated
    for i in range(997, 1002):
        os.remove(os.path.join(big, f"f{i:04d}.txt"))
    r = ls(s, "big")
    assert r["truncated"] is False and len(r["entries"]) == 1000, len(r["entries"])


def test_names_that_are_not_utf8_are_left_out():
    s = Server(inputs={"ok é.md": b"# ok\n"})
    with open(os.path.join(s.inputs.encode(), b"bad\xff.md"), "wb") as f:
        f.write(b"x")
    with open(os.path.join(s.inputs.encode(), b"ctl\x01.md"), "wb") as f:
        f.write(b"x")
    names = entry_names(ls(s))
    assert "ok é.md" in names and not any(n.startswith(("bad", "ctl")) for n in names), names


def _gated_server(extra_inputs):
    s = Server(start=False, workers=1, inputs=extra_inputs)
    cfg = s.default_config()
    cfg["presets"].append(json.loads(json.dumps(GATE).replace("RUNS", s.runs)))
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.config = cfg
    s.start()
    return s


def test_an_input_swapped_for_a_symlink_after_submit_fails_the_job():
    s = _gated_server({"victim.md": b"# victim\n", "dir/x.md": b"# x\n",
                       "keep.md": b"# keep me\n"})
    secret_dir = os.path.join(s.base, "secretdir")
    os.makedirs(secret_dir)
    with open(os.path.join(secret_dir, "x.md"), "w") as f:
        f.write("# secret x\n")
    gate = s.submit(preset="gate")
    s.wait_state(gate, "running")
    victim = s.submit(preset="cat", md="victim.md")
    dirjob = s.submit(preset="cat", md="dir/x.md")
    kept = s.submit(preset="cat", md="keep.md")
    # swap: the file for a link to the outside file, the directory for a link outside
    os.remove(os.path.join(s.inputs, "victim.md"))
    os.symlink(s.outside, os.path.join(s.inputs, "victim.md"))
    os.rename(os.path.join(s.inputs, "dir"), os.path.join(s.inputs, "dir.old"))
    os.symlink(secret_dir, os.path.join(s.inputs, "dir"))
    open(os.path.join(s.runs, "go"), "w").close()
    for jid in (victim, dirjob):
        dto = s.wait_terminal(jid, timeout=30)
        assert dto["state"] == "failed", dto
        assert "outside the input root" in (dto["error"] or ""), dto
        assert s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"] == [], dto
        assert "secret" not in s.logs(jid)
    dto = s.wait_terminal(kept, timeout=30)
    assert dto["state"] == "succeeded", dto
    got = s.call("GET", f"/api/v1/jobs/{kept}/artifacts/copy.txt", raw=True)
    assert got == b"# keep me\n", got
    # the input root is unchanged by staging (a link or a copy went to the work dir)
    with open(os.path.join(s.inputs, "keep.md"), "rb") as f:
        assert f.read() == b"# keep me\n"


def test_an_input_removed_after_submit_fails_clearly():
    s = _gated_server({"gone.md": b"# soon gone\n"})
    gate = s.submit(preset="gate")
    s.wait_state(gate, "running")
    jid = s.submit(preset="cat", md="gone.md")
    os.remove(os.path.join(s.inputs, "gone.md"))
    open(os.path.join(s.runs, "go"), "w").close()
    dto = s.wait_terminal(jid, timeout=30)
    assert dto["state"] == "failed" and "no longer exists" in dto["error"], dto


# ---- media recognised by content ------------------------------------------------------

# name -> (ffmpeg arguments, the content type uploads and the listing report). Small real
# files made at test time by ffmpeg (build.sh installs it).
VIDEO = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=0.4"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.3"]
MEDIA = {
    "clip.mp4": (VIDEO + ["-pix_fmt", "yuv420p", "-c:v", "libx264"], "video/mp4"),
    "clip.mov": (VIDEO + ["-c:v", "mpeg4"], "video/quicktime"),
    "clip.webm": (VIDEO + ["-c:v", "libvpx"], "video/webm"),
    "clip.mkv": (VIDEO + ["-c:v", "mpeg4"], "video/x-matroska"),
    "clip.avi": (VIDEO + ["-c:v", "mpeg4"], "video/x-msvideo"),
    "tone.m4a": (AUDIO + ["-c:a", "aac"], "audio/mp4"),
    "tone.aac": (AUDIO + ["-c:a", "aac"], "audio/aac"),
    "tone.opus": (AUDIO + ["-c:a", "libopus"], "audio/ogg; codecs=opus"),
}


def _make_media(directory):
    import shutil
    import subprocess
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing (build.sh installs it with the other packages)"
    out = {}
    for name, (args, _) in MEDIA.items():
        path = os.path.join(directory, name)
        subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y"] + args + [path],
                       check=True, timeout=harness.scaled(60))
        with open(path, "rb") as f:
            out[name] = f.read()
        assert 0 < len(out[name]) < 200_000, (name, len(out[name]))
    return out


def test_video_and_audio_uploads_are_recognised_by_content():
    s = Server(inputs={})
    media = _make_media(s.inputs)
    for name, data in media.items():
        want = MEDIA[name][1]
        # the bytes decide: the same content under a misleading name gets the same type
        for fname in (name, "renamed.bin"):
            r = s.req("POST", "/api/v1/uploads?filename=" + quote(fname, safe=""), data,
                      headers={"Content-Type": "application/octet-stream"})
            assert r.status == 201, r.describe()
            assert r.body["contentType"] == want, (name, fname, r.body)
        got = s.call("GET", f"/api/v1/files/{r.body['fileId']}", raw=True)
        assert got == data, name
    # the input browser judges the same files the same way
    by = {e["name"]: e for e in ls(s)["entries"]}
    for name, (_, want) in MEDIA.items():
        assert by[name]["contentType"] == want, (name, by[name])
        assert by[name]["size"] == len(media[name]), by[name]
    # a truncated header is still refused (415), whatever the name
    r = s.req("POST", "/api/v1/uploads?filename=clip.mp4", media["clip.mp4"][:10],
              headers={"Content-Type": "application/octet-stream"})
    assert_error(r, 415, "unsupported_media_type")

"""The lesson workflow end to end (docs/lesson-workflow.md) with the real
binary and real espeak-ng: Markdown lesson in, narrated WAV, lesson page and manifest out.

Covered: every example lesson (tests/unit/lessons/, copies of ../shared/examples) submitted
with TTS succeeds; its WAV is valid, its length is the sum of its segments plus the preset's
gaps, every dialogue line has a segment, the page and manifest are served and agree with the
artifacts; preset defaults; HTML in a lesson shows as text; malformed and silent lessons
fail naming the problem; bad options are 400s; rerun_audio (child job, other accent gives
other audio, unchanged settings hit the cache, the parent is untouched, wrong states 422);
edit_metadata 422 while running; cancel during TTS kills espeak-ng; Notion publishing and
ElevenLabs against fake servers written here that check each request's shape (429 with
Retry-After, a 500 then success, a rejected token); artifacts uploaded to s3rver.
"""

import hashlib
import io
import json
import os
import re
import struct
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, assert_error, default_presets, scaled, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
LESSONS = os.path.normpath(os.path.join(HERE, "..", "unit", "lessons"))
EXAMPLES = ("a2-directions.md", "b1-coffee-shop.md", "b2-remote-work.md")

LESSON_PRESETS = [
    {"id": "lesson", "workflow": "lesson", "maxAttempts": 2, "retryDelayMs": 100,
     "gapMs": 250, "defaults": {"withTts": True, "voiceAccent": "british_male", "mode": "auto"}},
    {"id": "lesson-us", "workflow": "lesson", "maxAttempts": 1, "gapMs": 0,
     "defaults": {"voiceAccent": "american_female", "mode": "dialogue"}},
    {"id": "lesson-notts", "workflow": "lesson", "maxAttempts": 1,
     "defaults": {"withTts": False}},
]

DIALOGUE_LINE = re.compile(r"^\s*(?:\*\*[^*]+:\*\*|[^:#*\-\s][^:]{0,63}:)\s+\S")


def read_lesson(name):
    with open(os.path.join(LESSONS, name), "rb") as f:
        return f.read()


def lesson_server(extra=None, env=None, presets=LESSON_PRESETS, workers=None):
    """A server with the test presets plus the lesson presets above (built-in voices)."""
    s = Server(start=False, env=env, workers=workers)
    cfg = s.default_config()
    cfg["presets"] = default_presets() + json.loads(json.dumps(list(presets)))
    cfg.update(extra or {})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f, indent=1)
    s.config = cfg
    s.start()
    return s


def upload(s, name, data):
    r = s.req("POST", "/api/v1/uploads?filename=" + name, data,
              headers={"Content-Type": "text/markdown"})
    assert r.status == 201, r.describe()
    return r.body["fileId"]


def artifact(s, job_id, name):
    r = s.req("GET", f"/api/v1/jobs/{job_id}/artifacts/{name}", raw=True, timeout=30)
    assert r.status == 200, f"artifact {name}: {r.describe()}"
    return r.raw


def artifacts(s, job_id):
    return {a["name"]: a for a in s.call("GET", f"/api/v1/jobs/{job_id}/artifacts")["items"]}


def wav_frames(data):
    """(rate, channels, frames) of a WAV, read by Python's own wave module."""
    with wave.open(io.BytesIO(data), "rb") as w:
        assert w.getsampwidth() == 2, "16-bit PCM expected"
        return w.getframerate(), w.getnchannels(), w.getnframes()


def run_lesson(s, name, data=None, timeout=60, **fields):
    fid = upload(s, name, data if data is not None else read_lesson(name))
    body = {"md": fid, "preset": "lesson", "withTts": True}
    body.update(fields)
    jid = s.submit(body)
    return jid, s.wait_terminal(jid, timeout=timeout)


def espeak_pids(marker):
    """pids of live espeak-ng processes whose command line mentions marker."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"espeak" in cmd and marker.encode() in cmd and state != "Z":
            out.append(int(pid))
    return out


# ---- the examples --------------------------------------------------------------------------

def test_lesson_examples_narrated_with_espeak():
    s = lesson_server()
    opts = s.call("GET", "/api/v1/config/job-options")
    lp = {p["id"]: p for p in opts["presets"]}["lesson"]
    assert lp["workflow"] == "lesson" and lp["requiresInput"] is True, lp
    assert lp["defaults"] == {"withTts": True, "voiceAccent": "british_male", "mode": "auto",
                              "upload": "auto", "notionDatabase": None}, lp
    assert lp["gapMs"] == 250, lp
    acts = {a["type"]: a for a in opts["supportedActions"]}
    assert set(acts) == {"cancel", "retry", "edit_metadata", "rerun_audio", "rebuild"}, acts
    assert all(a["implemented"] is True for a in acts.values()), acts
    assert acts["rerun_audio"]["requiresFields"] == ["voiceId", "voiceAccent", "forceTts"]

    for name in EXAMPLES:
        src = read_lesson(name)
        jid, dto = run_lesson(s, name, src)
        assert dto["state"] == "succeeded", f"{name}: {dto}\n{s.logs(jid)}"
        assert dto["progress"] == 1 and dto["pageUrl"] == \
            f"/api/v1/jobs/{jid}/artifacts/lesson.html", dto
        assert dto["manifestPath"] == f"/api/v1/jobs/{jid}/artifacts/manifest.json", dto
        arts = artifacts(s, jid)
        for n in ("lesson.md", "lesson.wav", "lesson.html", "lesson.css", "lesson.js",
                  "manifest.json"):
            assert n in arts, f"{name}: no {n} in {sorted(arts)}"
        assert artifact(s, jid, "lesson.md") == src

        man = json.loads(artifact(s, jid, "manifest.json"))
        segs = man["segments"]
        assert segs and [g["index"] for g in segs] == list(range(len(segs))), segs
        assert man["job"]["preset"] == "lesson" and man["tts"]["segments"] == len(segs)
        assert man["job"]["jobId"] == jid and man["job"]["createdAt"] == dto["createdAt"], man["job"]
        # every artifact listed with the size and sha256 of what is served
        listed = {a["name"]: a for a in man["artifacts"]}
        assert set(listed) == set(arts) - {"manifest.json"}, (sorted(listed), sorted(arts))
        for n, a in listed.items():
            body = artifact(s, jid, n)
            assert a["size"] == len(body) and a["sha256"] == hashlib.sha256(body).hexdigest(), n
            assert a["url"] == f"/api/v1/jobs/{jid}/artifacts/{n}", a
            assert arts[n]["sha256"] == a["sha256"], n

        # the WAV: valid, and exactly its segments plus the gaps between them
        rate, ch, frames = wav_frames(artifact(s, jid, "lesson.wav"))
        assert rate == 22050 and ch == 1, (rate, ch)
        seg_frames = []
        for g in segs:
            r2, c2, f2 = wav_frames(artifact(s, jid, g["file"]))
            assert (r2, c2) == (rate, ch) and f2 > 0, g
            seg_frames.append(f2)
        gap = rate * 250 // 1000
        assert frames == sum(seg_frames) + gap * (len(segs) - 1), \
            (name, frames, sum(seg_frames), len(segs))
        ms = frames * 1000 / rate
        assert abs(segs[-1]["endMs"] - ms) <= 1 and segs[0]["startMs"] == 0, (segs[-1], ms)
        for a, b in zip(segs, segs[1:]):
            assert a["startMs"] < a["endMs"] <= b["startMs"], (a, b)

        # every dialogue line of the Markdown has its segment, in order, with its speaker
        text = src.decode("utf-8").replace("\r\n", "\n")
        section = None
        lines = []
        for ln in text.split("\n"):
            if ln.startswith("## "):
                section = ln[3:].strip().lower()
            elif section == "dialogue" and DIALOGUE_LINE.match(ln):
                lines.append(ln)
        if lines:
            assert len(segs) == len(lines), (name, len(segs), lines)
            for g, ln in zip(segs, lines):
                assert g["speaker"] and g["speaker"] in ln, (g, ln)
        # the page: title, one play button per segment, audio, its CSS and JS beside it
        page = artifact(s, jid, "lesson.html").decode()
        assert man["lesson"]["title"] in page.replace("&#39;", "'").replace("&amp;", "&")
        assert page.count('class="play"') == len(segs), page
        assert 'src="lesson.wav"' in page and 'href="lesson.css"' in page \
            and 'src="lesson.js"' in page and "<script>" not in page
        log = s.logs(jid)
        for step in ("parse:", "tts:", "audio:", "render:", "publish:", "manifest:"):
            assert step in log, f"{name}: no {step!r} line in the log:\n{log}"

    # the audio streams with Range (the page's seek)
    r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/lesson.wav",
              headers={"Range": "bytes=44-1043"}, raw=True)
    assert r.status == 206 and len(r.raw) == 1000, r.describe()


def test_lesson_defaults_escaping_and_bad_input():
    s = lesson_server()
    # preset defaults fill what the request leaves out
    fid = upload(s, "a2.md", read_lesson("a2-directions.md"))
    jid = s.submit(md=fid, preset="lesson-us")
    dto = s.wait_terminal(jid, timeout=60)
    assert dto["state"] == "succeeded", s.logs(jid)
    assert dto["withTts"] is True and dto["voiceAccent"] == "american_female" \
        and dto["mode"] == "dialogue", dto
    assert "voices (american_female)" in s.logs(jid)

    # HTML in a lesson is shown as text, never run
    evil = (b"# Tricky <script>alert(1)</script>\n\n## Dialogue\n\n"
            b"Ann: Hello <img src=x onerror=alert(2)> & welcome.\n"
            b"Bob: Bye <b>now</b>.\n")
    jid, dto = run_lesson(s, "evil.md", evil)
    assert dto["state"] == "succeeded", s.logs(jid)
    page = artifact(s, jid, "lesson.html").decode()
    assert "<script>alert" not in page and "<img" not in page, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x" in page, page

    # without TTS: a page without audio, no segments
    jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"), preset="lesson-notts",
                          withTts=False)
    assert dto["state"] == "succeeded", s.logs(jid)
    names = set(artifacts(s, jid))
    assert "lesson.wav" not in names and "lesson.html" in names, names
    assert json.loads(artifact(s, jid, "manifest.json"))["segments"] == []

    # a malformed lesson fails at once, naming the line
    bad = b"---\ntitle: Broken\nlevel B1\n---\n# Broken\n"
    jid, dto = run_lesson(s, "bad.md", bad)
    assert dto["state"] == "failed" and dto["attempts"] == 1, dto
    assert "line 3" in dto["error"] and "malformed" in dto["error"], dto["error"]
    # nothing to speak
    jid, dto = run_lesson(s, "silent.md", b"# Only a title\n\n## Vocabulary\n\n- **a** - b\n",
                          mode="dialogue")
    assert dto["state"] == "failed" and "nothing to speak" in dto["error"], dto

    # bad options are 400s naming the field; the server stays up
    for body, field in (({"preset": "lesson"}, "md"),
                        ({"preset": "lesson", "md": fid, "mode": "sung"}, "mode"),
                        ({"preset": "lesson", "md": fid, "voiceAccent": "klingon"}, "voiceAccent"),
                        ({"preset": "lesson", "md": fid, "notionDatabase": "nope"},
                         "notionDatabase"),
                        ({"preset": "lesson", "md": fid, "upload": "s3"}, "upload"),
                        ({"preset": "lesson", "md": fid, "withTts": "yes"}, "withTts")):
        assert_error(s.req("POST", "/api/v1/jobs", body), 400, field=field)
    assert s.call("GET", "/api/v1/health")["status"] == "ok"


# ---- actions -------------------------------------------------------------------------------

def test_lesson_rerun_audio():
    s = lesson_server()
    parent, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"))
    assert dto["state"] == "succeeded", s.logs(parent)
    before = s.job(parent)
    parent_wav = artifact(s, parent, "lesson.wav")

    # another accent: a child with other audio; the parent stays as it was
    r = s.call("POST", f"/api/v1/jobs/{parent}/rerun/audio",
               {"voiceAccent": "american_female"}, expect=202)
    child = r["jobId"]
    assert r["success"] is True and r["actionType"] == "rerun_audio" and child != parent, r
    cdto = s.wait_terminal(child, timeout=60)
    assert cdto["state"] == "succeeded", s.logs(child)
    assert cdto["parentJobId"] == parent and cdto["voiceAccent"] == "american_female", cdto
    assert cdto["md"] == dto["md"] and cdto["notionDatabase"] is None, cdto
    child_wav = artifact(s, child, "lesson.wav")
    assert hashlib.sha256(child_wav).digest() != hashlib.sha256(parent_wav).digest()
    assert s.job(parent) == before, "the parent job changed"
    assert artifact(s, parent, "lesson.wav") == parent_wav

    # nothing changed: every segment comes from the cache, same audio as the parent
    again = s.action(parent, "rerun_audio", {}, expect=202)["jobId"]
    assert s.wait_terminal(again, timeout=60)["state"] == "succeeded", s.logs(again)
    man = json.loads(artifact(s, again, "manifest.json"))
    assert man["tts"]["cacheHits"] == man["tts"]["segments"] > 0, man["tts"]
    assert artifact(s, again, "lesson.wav") == parent_wav
    assert "[cache]" in s.logs(again)
    # forceTts bypasses the cache; one voice for every speaker with voiceId
    forced = s.action(parent, "rerun_audio", {"forceTts": True, "voiceId": "en-gb-m2"},
                      expect=202)["jobId"]
    fdto = s.wait_terminal(forced, timeout=60)
    assert fdto["state"] == "succeeded" and fdto["forceTts"] is True \
        and fdto["voiceId"] == "en-gb-m2", fdto
    fman = json.loads(artifact(s, forced, "manifest.json"))
    assert fman["tts"]["cacheHits"] == 0, fman["tts"]
    assert {v["voiceId"] for v in fman["tts"]["voices"]} == {"en-gb-m2"}, fman["tts"]

    # wrong payloads and states
    assert_error(s.req("POST", f"/api/v1/jobs/{parent}/actions",
                       {"type": "rerun_audio", "payload": {"voiceId": "nobody"}}), 400,
                 field="payload.voiceId")
    assert_error(s.req("POST", f"/api/v1/jobs/{parent}/actions",
                       {"type": "rerun_audio", "payload": {"voiceAccent": "klingon"}}), 400,
                 field="payload.voiceAccent")
    assert_error(s.req("POST", f"/api/v1/jobs/{parent}/actions",
                       {"type": "rerun_audio", "payload": {"speed": 2}}), 400,
                 field="payload.speed")
    cmd = s.submit(preset="echo")
    assert s.wait_terminal(cmd)["state"] == "succeeded"
    assert_error(s.req("POST", f"/api/v1/jobs/{cmd}/rerun/audio", {}), 422)
    bad, bdto = run_lesson(s, "bad.md", b"no title here\n")
    assert bdto["state"] == "failed"
    assert_error(s.req("POST", f"/api/v1/jobs/{bad}/rerun/audio"), 422)
    assert_error(s.req("POST", "/api/v1/jobs/999999/rerun/audio"), 404)
    assert_error(s.req("POST", f"/api/v1/jobs/{parent}/rerun/audio", b"[1]",
                       headers={"Content-Type": "application/json"}), 400)


def big_monologue(paragraphs=6):
    """A lesson whose reading paragraphs (each just under the 60,000-byte segment limit)
    take espeak-ng seconds each."""
    line = " ".join(["The quick brown fox jumps over the lazy dog near the river."] * 900)
    return ("# Slow reading\n\n## Reading\n\n" + "\n\n".join([line] * paragraphs)
            + "\n").encode()


def test_lesson_cancel_during_tts_kills_espeak_and_edit_is_422():
    s = lesson_server()
    fid = upload(s, "slow.md", big_monologue())
    jid = s.submit(md=fid, preset="lesson", forceTts=True)
    s.wait_state(jid, "running")
    # espeak-ng is running for this server (its output path is under the data dir)
    wait_until(lambda: espeak_pids(s.data), scaled(20), what="espeak-ng to start")
    # editing a running job is refused
    assert_error(s.req("POST", f"/api/v1/jobs/{jid}/actions",
                       {"type": "edit_metadata", "payload": {"preset": "lesson-us"}}), 422)
    t0 = time.monotonic()
    s.action(jid, "cancel", {"reason": "too slow"})
    dto = s.wait_terminal(jid, timeout=20)
    assert dto["state"] == "canceled", dto
    assert time.monotonic() - t0 < scaled(8), "cancel took too long"
    wait_until(lambda: not espeak_pids(s.data), scaled(5), what="espeak-ng to be gone")
    # nothing half-written is left in the cache
    cache = os.path.join(s.data, "tts-cache")
    leftovers = [n for n in os.listdir(cache) if n.startswith(".tmp")] \
        if os.path.isdir(cache) else []
    assert not leftovers, leftovers
    # a finished job can be edited
    s.action(jid, "edit_metadata", {"preset": "lesson-us"})
    assert s.job(jid)["preset"] == "lesson-us"


# ---- fake paid APIs ------------------------------------------------------------------------

class FakeAPI:
    """A scripted HTTP server on 127.0.0.1 for a paid API. script: list of (status,
    headers, body) answered in order (the last one repeats). check(handler, body) returns
    a list of problems with a request; every request and problem is recorded."""

    def __init__(self, script, check):
        self.script = list(script)
        self.check = check
        self.requests = []
        self.problems = []
        self.lock = threading.Lock()
        api = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with api.lock:
                    k = len(api.requests)
                    api.requests.append((self.command, self.path, dict(self.headers), body))
                    api.problems += [f"request {k + 1}: {p}" for p in api.check(self, body)]
                    status, hdrs, out = api.script[min(k, len(api.script) - 1)]
                self.send_response(status)
                for h, v in hdrs.items():
                    self.send_header(h, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_PATCH = do_GET = _serve

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


NOTION_TOKEN = "secret_notion_token_9f8e7d"
NOTION_PAGE = {"object": "page", "id": "0c3b7a1e-1111-2222-3333-444455556666",
               "url": "https://www.notion.so/Asking-for-Directions-0c3b7a1e111122223333444455556666"}


def notion_check(h, body):
    bad = []
    if h.command != "POST" or h.path != "/v1/pages":
        bad.append(f"{h.command} {h.path}, want POST /v1/pages")
    if h.headers.get("Authorization") != f"Bearer {NOTION_TOKEN}":
        bad.append(f"Authorization {h.headers.get('Authorization')!r}")
    if h.headers.get("Notion-Version") != "2022-06-28":
        bad.append(f"Notion-Version {h.headers.get('Notion-Version')!r}")
    if not (h.headers.get("Content-Type") or "").startswith("application/json"):
        bad.append(f"Content-Type {h.headers.get('Content-Type')!r}")
    try:
        doc = json.loads(body)
    except ValueError:
        return bad + [f"body is not JSON: {body[:100]!r}"]
    if doc.get("parent") != {"database_id": "db-b1-lessons"}:
        bad.append(f"parent {doc.get('parent')!r}")
    title = doc.get("properties", {}).get("Name", {}).get("title", [])
    if not title or title[0].get("text", {}).get("content") != "Asking for Directions":
        bad.append(f"title property {title!r}")
    kids = doc.get("children", [])
    if not kids or any(k.get("object") != "block" or k.get("type") not in k for k in kids):
        bad.append("children are not Notion blocks")
    texts = json.dumps(kids)
    if "Excuse me" not in texts or "heading_2" not in texts:
        bad.append("the dialogue is missing from the blocks")
    return bad


def test_lesson_publishes_to_notion_with_retries():
    api = FakeAPI([(429, {"Retry-After": "1", "Content-Type": "application/json"},
                    b'{"object":"error","status":429,"code":"rate_limited",'
                    b'"message":"You have been rate limited."}'),
                   (500, {"Content-Type": "application/json"},
                    b'{"object":"error","status":500,"code":"internal_server_error",'
                    b'"message":"Unexpected error."}'),
                   (200, {"Content-Type": "application/json"},
                    json.dumps(NOTION_PAGE).encode())], notion_check)
    try:
        s = lesson_server(
            extra={"notion": {"baseUrl": api.url, "retryDelayMs": 50, "throttleMs": 0},
                   "publicUrl": "https://bb.example.test/",
                   "notionDatabases": [{"id": "db-b1-lessons", "name": "B1 Lessons"}]},
            env={"NOTION_TOKEN": NOTION_TOKEN})
        opts = s.call("GET", "/api/v1/config/job-options")
        assert opts["notionDatabases"] == [{"id": "db-b1-lessons", "name": "B1 Lessons"}]
        assert opts["notionConfigured"] is True
        t0 = time.monotonic()
        jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"),
                              notionDatabase="db-b1-lessons")
        assert dto["state"] == "succeeded", f"{dto}\n{s.logs(jid)}"
        assert time.monotonic() - t0 >= 0.9, "Retry-After: 1 was not honoured"
        assert not api.problems, api.problems
        assert len(api.requests) == 3, [r[:2] for r in api.requests]
        assert dto["notionUrl"] == NOTION_PAGE["url"], dto
        # with publicUrl the Notion page links back to the lesson page
        link = f"https://bb.example.test/api/v1/jobs/{jid}/artifacts/lesson.html"
        assert link in api.requests[-1][3].decode(), api.requests[-1][3][-600:]
        man = json.loads(artifact(s, jid, "manifest.json"))
        assert man["notionUrl"] == NOTION_PAGE["url"]
        log = s.logs(jid)
        assert "429" in log and NOTION_PAGE["url"] in log, log
        assert NOTION_TOKEN not in log and NOTION_TOKEN not in s.stderr_text()
        # a rerun publishes nothing
        child = s.action(jid, "rerun_audio", {}, expect=202)["jobId"]
        assert s.wait_terminal(child, timeout=60)["state"] == "succeeded"
        assert len(api.requests) == 3 and s.job(child)["notionUrl"] is None
    finally:
        api.close()

    # a rejected token: failed at once with a clear message, no retry
    api = FakeAPI([(401, {"Content-Type": "application/json"},
                    b'{"object":"error","status":401,"code":"unauthorized",'
                    b'"message":"API token is invalid."}')], notion_check)
    try:
        s = lesson_server(
            extra={"notion": {"baseUrl": api.url, "retryDelayMs": 50},
                   "notionDatabases": [{"id": "db-b1-lessons", "name": "B1 Lessons"}]},
            env={"NOTION_TOKEN": NOTION_TOKEN})
        jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"),
                              notionDatabase="db-b1-lessons")
        assert dto["state"] == "failed" and dto["attempts"] == 1, dto
        assert "token" in dto["error"] and "401" in dto["error"], dto["error"]
        assert NOTION_TOKEN not in dto["error"]
        assert len(api.requests) == 1, len(api.requests)
    finally:
        api.close()

    # no token configured: the step is skipped with a log line, the job succeeds
    s = lesson_server(extra={"notionDatabases": [{"id": "db-b1-lessons", "name": "B1"}]})
    jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"),
                          notionDatabase="db-b1-lessons")
    assert dto["state"] == "succeeded" and dto["notionUrl"] is None, dto
    assert "NOTION_TOKEN is not set" in s.logs(jid)


EL_KEY = "el-key-1234567890abcdef"


def pcm_tone(ms, rate=22050):
    n = rate * ms // 1000
    return b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(n))


def elevenlabs_check(h, body):
    bad = []
    m = re.match(r"^/v1/text-to-speech/(voice-[ab])\?output_format=pcm_22050$", h.path)
    if h.command != "POST" or not m:
        bad.append(f"{h.command} {h.path}")
    if h.headers.get("xi-api-key") != EL_KEY:
        bad.append(f"xi-api-key {h.headers.get('xi-api-key')!r}")
    if h.headers.get("Authorization"):
        bad.append("an Authorization header was sent")
    try:
        doc = json.loads(body)
    except ValueError:
        return bad + ["body is not JSON"]
    if not isinstance(doc.get("text"), str) or not doc["text"].strip():
        bad.append(f"text {doc.get('text')!r}")
    if doc.get("model_id") != "eleven_multilingual_v2":
        bad.append(f"model_id {doc.get('model_id')!r}")
    return bad


def test_lesson_elevenlabs_voices_with_retries():
    tone = pcm_tone(400)
    api = FakeAPI([(429, {"Retry-After": "1", "Content-Type": "application/json"},
                    b'{"detail":{"status":"too_many_concurrent_requests",'
                    b'"message":"Too many concurrent requests"}}'),
                   (500, {"Content-Type": "application/json"}, b'{"detail":"server error"}')]
                  + [(200, {"Content-Type": "application/octet-stream"}, tone)],
                  elevenlabs_check)
    try:
        voices = [{"id": "el-a", "accent": "studio", "gender": "female",
                   "provider": "elevenlabs", "providerVoice": "voice-a"},
                  {"id": "el-b", "accent": "studio", "gender": "male",
                   "provider": "elevenlabs", "providerVoice": "voice-b"}]
        presets = [{"id": "lesson", "workflow": "lesson", "gapMs": 100,
                    "defaults": {"voiceAccent": "studio"}}]
        s = lesson_server(extra={"voices": voices,
                                 "tts": {"elevenlabs": {"baseUrl": api.url},
                                         "retryBaseMs": 50}},
                          env={"ELEVENLABS_API_KEY": EL_KEY}, presets=presets)
        jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"))
        assert dto["state"] == "succeeded", f"{dto}\n{s.logs(jid)}"
        assert not api.problems, api.problems
        man = json.loads(artifact(s, jid, "manifest.json"))
        n = len(man["segments"])
        assert len(api.requests) == n + 2, (len(api.requests), n)
        used = {re.search(r"voice-[ab]", r[1]).group(0) for r in api.requests}
        assert used == {"voice-a", "voice-b"}, used
        rate, ch, frames = wav_frames(artifact(s, jid, "lesson.wav"))
        assert (rate, ch) == (22050, 1) and frames == n * len(tone) // 2 + (n - 1) * 2205, \
            (frames, n)
        log = s.logs(jid)
        assert "429" in log and EL_KEY not in log and EL_KEY not in s.stderr_text()
    finally:
        api.close()


# ---- storage -------------------------------------------------------------------------------

def test_lesson_artifacts_uploaded_to_s3():
    from test_s3 import S3rver, s3_config, SECRET_KEY, BUCKET
    with S3rver() as s3:
        s = lesson_server(extra=s3_config(s3.endpoint),
                          env={"BATCHBOX_S3_SECRET_KEY": SECRET_KEY})
        jid, dto = run_lesson(s, "b1.md", read_lesson("b1-coffee-shop.md"), upload="s3")
        assert dto["state"] == "succeeded", f"{dto}\n{s.logs(jid)}"
        prefix = f"http://{s3.endpoint}/{BUCKET}/artifacts/{jid}/"
        assert dto["manifestPath"] == prefix + "manifest.json", dto
        keys = s3.keys(f"artifacts/{jid}/")
        for n in ("lesson.wav", "lesson.html", "lesson.css", "lesson.js", "lesson.md",
                  "manifest.json", "seg-001.wav"):
            assert f"artifacts/{jid}/{n}" in keys, (n, sorted(keys))
        man = json.loads(artifact(s, jid, "manifest.json"))
        assert man["storage"] == "s3"
        for a in man["artifacts"]:
            assert a["url"] == prefix + a["name"], a
            st, body = s3.get(f"artifacts/{jid}/{a['name']}")
            assert st == 200 and hashlib.sha256(body).hexdigest() == a["sha256"], a["name"]
        # batchbox still serves the page and the audio from the bucket
        assert b"lesson.wav" in artifact(s, jid, "lesson.html")
        r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/lesson.wav",
                  headers={"Range": "bytes=0-11"}, raw=True)
        assert r.status == 206 and r.raw[:4] == b"RIFF" and r.raw[8:12] == b"WAVE", r.describe()
        # a rerun reads the parent's lesson.md back from the bucket
        child = s.call("POST", f"/api/v1/jobs/{jid}/rerun/audio", {}, expect=202)["jobId"]
        assert s.wait_terminal(child, timeout=60)["state"] == "succeeded", s.logs(child)


# ---- the command line ----------------------------------------------------------------------

def test_cli_submit_lesson_file_with_tts_and_wait():
    """The issue's "done when": sign in, `batchbox submit a2-directions.md --tts --wait`
    (the file is uploaded; the server's first lesson preset is used), then the page opens."""
    from test_cli import Cli
    from harness import ADMIN_EMAIL, ADMIN_PASSWORD
    s = lesson_server()
    cli = Cli(s)
    try:
        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        path = os.path.join(cli.home, "a2-directions.md")
        with open(path, "wb") as f:
            f.write(read_lesson("a2-directions.md"))
        p = cli.ok(cli.client("submit", path, "--tts", "--wait", timeout=90))
        out = p.stdout
        assert re.search(r"uploaded a2-directions\.md as upl_\d+", out), out
        assert "succeeded" in out, out
        m = re.search(r"lesson page: (http://127\.0\.0\.1:\d+)(/api/v1/jobs/(\d+)/artifacts/"
                      r"lesson\.html)", out)
        assert m, out
        jid = m.group(3)
        dto = s.job(jid)
        assert dto["preset"] == "lesson" and dto["withTts"] is True \
            and dto["md"].startswith("upl_"), dto
        page = s.req("GET", m.group(2), raw=True)
        assert page.status == 200 and b'class="play"' in page.raw, page.describe()
        # a missing file and an unknown preset are usage errors, nothing is submitted
        p = cli.client("submit", os.path.join(cli.home, "nope.md"), "--tts")
        assert p.returncode == 2 and "nope.md" in p.stderr, (p.returncode, p.stderr)
        p = cli.client("submit", path, "--preset", "missing")
        assert p.returncode == 2 and "preset" in p.stderr, (p.returncode, p.stderr)
        assert len(s.call("GET", "/api/v1/jobs")["items"]) == 1
    finally:
        cli.close()


def test_search_finds_jobs_by_uploaded_file_name():
    """GET /jobs?q= matches the name of an uploaded input, not only md ("upl_N")."""
    s = lesson_server()
    a = upload(s, "Coffee-Shop_B1.md", read_lesson("b1-coffee-shop.md"))
    b = upload(s, "directions.md", read_lesson("a2-directions.md"))
    ja = s.submit(md=a, preset="lesson-notts", withTts=False)
    jb = s.submit(md=b, preset="lesson-notts", withTts=False)
    jc = s.submit(md="a.md", preset="cat")
    for j in (ja, jb, jc):
        s.wait_terminal(j, timeout=30)
    ids = lambda q: [d["jobId"] for d in s.call("GET", "/api/v1/jobs?q=" + q)["items"]]
    assert ids("coffee") == [ja], ids("coffee")
    assert ids("shop_b") == [ja], "LIKE wildcards must match literally"
    assert ids("upl_") == [jb, ja], ids("upl_")
    assert ids("a.md") == [jc], ids("a.md")
    assert ids("nothing-like-this") == []
    assert [d["jobId"] for d in
            s.call("GET", "/api/v1/jobs?state=succeeded&q=DIRECTIONS")["items"]] == [jb]


def test_run_lesson_without_a_server():
    """`batchbox run FILE --preset a2-basic` (built-in presets, no server): the lesson's
    files land side by side in --out, and the manifest names them relative to it."""
    import subprocess
    import tempfile
    from harness import BIN
    d = tempfile.mkdtemp(prefix="bbrun-")
    src = os.path.join(d, "a2.md")
    with open(src, "wb") as f:
        f.write(read_lesson("a2-directions.md"))
    out = os.path.join(d, "out")
    p = subprocess.run([BIN, "run", src, "--preset", "a2-basic", "--out", out],
                       capture_output=True, text=True, timeout=scaled(60), cwd=d)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    man = json.load(open(os.path.join(out, "manifest.json")))
    for a in man["artifacts"]:
        assert a["url"] == a["name"], a
        with open(os.path.join(out, a["name"]), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == a["sha256"], a["name"]
    with open(os.path.join(out, "lesson.wav"), "rb") as f:
        rate, ch, frames = wav_frames(f.read())
    assert (rate, ch) == (22050, 1) and frames > rate, (rate, ch, frames)
    assert man["job"]["mode"] == "dialogue" and man["job"]["voiceAccent"] == "american_female"


def test_browser_without_session_is_sent_to_sign_in_for_the_lesson_page():
    s = lesson_server()
    jid, dto = run_lesson(s, "a2.md", read_lesson("a2-directions.md"), withTts=False,
                          preset="lesson-notts")
    assert dto["state"] == "succeeded"
    page = dto["pageUrl"]
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = s.req("GET", page, headers=html, auth=False)
    assert r.status == 303, r.describe()
    assert r.headers["Location"] == \
        f"/#/signin?next=%2Fapi%2Fv1%2Fjobs%2F{jid}%2Fartifacts%2Flesson.html", r.headers
    # an expired or bogus cookie is the same
    r = s.req("GET", page, headers=html, auth=False, cookies={"bb_access": "bba_bogus"})
    assert r.status == 303, r.describe()
    # API clients and other routes keep the JSON 401
    assert_error(s.req("GET", page, auth=False), 401)
    assert_error(s.req("GET", f"/api/v1/jobs/{jid}", headers=html, auth=False), 401)
    r = s.req("GET", page, headers=html)
    assert r.status == 200 and "text/html" in r.headers["Content-Type"], r.describe()

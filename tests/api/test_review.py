"""Review of translate jobs (docs/translate.md, "Review" and "Memory"; docs/api.md "Review"):
GET /jobs/:id/segments (keyset pages, flagged and state filters, counts), PATCH
/jobs/:id/segments/:n (QA again, origin "edited", a stale version is 409 with the current
segment), the rebuild action (a child job that rewrites the outputs from the segments
without the engine, the rebuilt document holds the edits, 409 while the job runs), the
translation memory (a second job on the same text makes no engine call for reviewed
segments), owner scoping (another user gets 404), bad inputs (400 naming the field), a
lesson preset's translateTo with real apertium (eng-spa), and a batch over a folder of
documents whose gallery shows each document's QA counts.

The engine of most tests is a `command` provider: a shell line that appends what it is
given to RUNS/stdin.log (so a test sees exactly which texts reached the engine) and answers
the text upper-cased.
"""

import json
import os
import re

import harness
from harness import Server, assert_error

UPPER = {"id": "tr-up", "workflow": "translate", "maxAttempts": 1,
         "translate": {"provider": "command", "pair": "eng-spa",
                       "commandArgv": ["sh", "-c", "tee -a RUNS/stdin.log | tr a-z A-Z"]}}
SLOW = {"id": "tr-slow", "workflow": "translate", "maxAttempts": 1,
        "translate": {"provider": "command", "pair": "eng-spa",
                      "commandArgv": ["sh", "-c", "sleep 20; cat"]}}
BROKEN = {"id": "tr-broken", "workflow": "translate", "maxAttempts": 1,
          "translate": {"provider": "command", "pair": "eng-spa",
                        "commandArgv": ["sh", "-c", "exit 7"]}}
LESSON_ES = {"id": "lesson-es", "workflow": "lesson", "maxAttempts": 1,
             "defaults": {"withTts": False}, "translateTo": "es",
             "translate": {"provider": "apertium", "pair": "eng-spa"}}

DOC = (b"Hello world. This is a small test.\n\n"
       b"The cat sleeps on the mat.\n\n"
       b"Send 3 apples to {name} today.\n")

LESSON = b"""# At the market

## Dialogue

Ana: Good morning.
Ben: The cat is black.

## Vocabulary

- **apple** \xe2\x80\x94 a round fruit
- **house**: a building to live in
"""


def start(**kw):
    env = {"BATCHBOX_AUTH_REGISTRATION": "open"}
    inputs = {"doc.txt": DOC, "lesson.md": LESSON, "gm.txt": b"Good morning.\n",
              "docs/one.txt": b"The dog runs. The sun is hot.\n",
              "docs/two.txt": b"I like green tea.\n",
              "docs/skip.png": b"\x89PNG\r\n\x1a\n"}
    return Server(env=env, inputs=inputs, presets_extra=[UPPER, SLOW, BROKEN, LESSON_ES], **kw)


def stdin_log(s):
    p = os.path.join(s.runs, "stdin.log")
    if not os.path.exists(p):
        return ""
    with open(p, encoding="utf-8") as f:
        return f.read()


def segments(s, jid, query="", token=None, expect=200):
    return s.call("GET", f"/api/v1/jobs/{jid}/segments{query}", token=token, expect=expect)


def all_segments(s, jid):
    items, cursor = [], None
    for _ in range(100):
        page = segments(s, jid, "?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items
    raise AssertionError("segments never ended")


def patch(s, jid, n, body, expect=200, token=None):
    return s.req("PATCH", f"/api/v1/jobs/{jid}/segments/{n}", body, token=token) \
        if expect is None else \
        s.call("PATCH", f"/api/v1/jobs/{jid}/segments/{n}", body, expect=expect, token=token)


def translated_job(s, md="doc.txt", preset="tr-up"):
    jid = s.submit(md=md, preset=preset)
    dto = s.wait_terminal(jid, timeout=60)
    assert dto["state"] == "succeeded", dto
    return jid


def artifact_texts(s, jid):
    """name -> text of each artifact of job jid."""
    out = {}
    for a in s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"]:
        r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/{harness.urlquote(a['name'])}", raw=True)
        assert r.status == 200, r.describe()
        out[a["name"]] = r.raw.decode("utf-8", "replace")
    return out


def test_segments_pages_patch_conflict_and_rebuild():
    s = start()
    jid = translated_job(s)
    items = all_segments(s, jid)
    assert len(items) >= 3, items
    for i, it in enumerate(items):
        assert set(it) == {"n", "source", "target", "origin", "state", "flags", "version"}, it
        assert it["n"] == i + 1 and it["origin"] == "mt" and it["state"] == "translated", it
        assert it["version"] == 1 and isinstance(it["flags"], list), it
        # upper-cased by the engine; the placeholder {name} was kept out of its input
        assert it["target"] == it["source"].upper().replace("{NAME}", "{name}"), it
    first = items[0]
    assert first["source"] == "Hello world.", items

    # keyset pages and counts
    page = segments(s, jid, "?limit=1")
    assert [x["n"] for x in page["items"]] == [1] and page["nextCursor"] == "1", page
    assert page["total"] == len(items) and page["reviewed"] == 0, page
    page2 = segments(s, jid, f"?limit=2&cursor={page['nextCursor']}")
    assert [x["n"] for x in page2["items"]] == [2, 3], page2
    last = segments(s, jid, f"?cursor={len(items) - 1}")
    assert [x["n"] for x in last["items"]] == [len(items)] and last["nextCursor"] is None, last

    # an edit: origin edited, reviewed, version 2, QA ran again (an empty target is flagged)
    seg = patch(s, jid, 1, {"target": "Hola mundo.", "state": "reviewed", "version": 1})
    assert seg["target"] == "Hola mundo." and seg["origin"] == "edited", seg
    assert seg["state"] == "reviewed" and seg["version"] == 2, seg
    assert seg["source"] == "Hello world." and seg["flags"] == [], seg
    blank = patch(s, jid, 2, {"target": ""})
    assert "empty" in blank["flags"] and blank["state"] == "translated", blank
    flagged = segments(s, jid, "?flagged=1")
    assert 2 in [x["n"] for x in flagged["items"]], flagged
    assert all(x["flags"] for x in flagged["items"]), flagged
    fixed = patch(s, jid, 2, {"target": "Esto es una prueba pequeña.", "state": "reviewed"})
    assert fixed["flags"] == [] and fixed["version"] == 3, fixed
    assert 2 not in [x["n"] for x in segments(s, jid, "?flagged=1")["items"]]
    reviewed = segments(s, jid, "?state=reviewed")
    assert [x["n"] for x in reviewed["items"]] == [1, 2] and reviewed["reviewed"] == 2, reviewed
    # state alone keeps the target and the origin
    only = patch(s, jid, 3, {"state": "reviewed"})
    assert only["target"] == items[2]["target"] and only["origin"] == "mt", only
    assert only["state"] == "reviewed", only

    # a stale version (a second tab) is refused with the stored segment
    r = patch(s, jid, 1, {"target": "Hola, mundo.", "version": 1}, expect=None)
    assert_error(r, 409, "conflict")
    assert r.body["current"]["version"] == 2, r.body
    assert r.body["current"]["target"] == "Hola mundo.", r.body
    assert segments(s, jid, "?limit=1")["items"][0]["target"] == "Hola mundo."

    # rebuild: a child job writes the outputs from the segments, without the engine
    calls_before = stdin_log(s)
    res = s.action(jid, "rebuild", expect=202)
    child = res["jobId"]
    assert child != jid and res["actionType"] == "rebuild", res
    dto = s.wait_terminal(child, timeout=60)
    assert dto["state"] == "succeeded", dto
    assert dto["parentJobId"] == jid and dto["mode"] == "rebuild", dto
    assert stdin_log(s) == calls_before, "the rebuild called the engine"
    texts = artifact_texts(s, child)
    docs = [n for n, t in texts.items() if "Hola mundo." in t and n.endswith(".txt")]
    assert docs, f"no rebuilt document holds the edit: {sorted(texts)}"
    assert "Esto es una prueba pequeña." in texts[docs[0]], texts[docs[0]]
    assert "HELLO WORLD." not in texts[docs[0]], texts[docs[0]]
    # the child shows its parent's segments; rebuilding the child rebuilds the parent
    assert segments(s, child, "?limit=1")["items"][0]["target"] == "Hola mundo."
    again = s.action(child, "rebuild", expect=202)
    assert s.job(again["jobId"])["parentJobId"] == jid


def test_memory_skips_the_engine_for_reviewed_segments():
    s = start()
    jid = translated_job(s)
    patch(s, jid, 1, {"target": "Hola mundo.", "state": "reviewed", "version": 1})
    patch(s, jid, 3, {"state": "reviewed"})
    before = stdin_log(s)
    child = s.action(jid, "rebuild", expect=202)["jobId"]
    assert s.wait_terminal(child, timeout=60)["state"] == "succeeded"
    assert stdin_log(s) == before

    second = translated_job(s)
    sent = stdin_log(s)[len(before):]
    items = all_segments(s, second)
    by_n = {x["n"]: x for x in items}
    assert by_n[1]["origin"] == "tm" and by_n[1]["target"] == "Hola mundo.", by_n[1]
    assert by_n[3]["origin"] == "tm", by_n[3]
    assert by_n[2]["origin"] == "mt", by_n[2]
    assert "Hello world." not in sent, sent
    assert by_n[3]["source"] not in sent, sent
    assert by_n[2]["source"] in sent, sent
    # the hits are counted in the manifest and the log
    texts = artifact_texts(s, second)
    manifest = json.loads(texts["manifest.json"])
    assert manifest["tmHits"] == 2 and manifest["origins"]["tm"] == 2, manifest
    assert re.search(r"memory: 2 of \d+ segments found", s.logs(second)), s.logs(second)

    # another user's memory is theirs: the same text makes engine calls for them
    tok = s.register("eve@example.com", "eve-password-1").body["accessToken"]
    r = s.req("POST", "/api/v1/jobs", {"md": "doc.txt", "preset": "tr-up"}, token=tok)
    assert r.status == 202, r.describe()
    eve_job = r.body["jobId"]
    assert s.wait_terminal(eve_job, timeout=60)["state"] == "succeeded"
    eve_items = s.call("GET", f"/api/v1/jobs/{eve_job}/segments", token=tok)["items"]
    assert all(x["origin"] == "mt" for x in eve_items), eve_items


def test_other_users_bad_inputs_and_states():
    s = start()
    jid = translated_job(s)
    bob = s.register("bob@example.com", "bob-password-22").body["accessToken"]
    for method, path, body in (
            ("GET", f"/api/v1/jobs/{jid}/segments", None),
            ("PATCH", f"/api/v1/jobs/{jid}/segments/1", {"target": "x"}),
            ("POST", f"/api/v1/jobs/{jid}/actions", {"type": "rebuild"})):
        assert_error(s.req(method, path, body, token=bob), 404, "not_found")
    assert segments(s, jid, "?limit=1")["items"][0]["version"] == 1

    for query, field in (("?limit=0", "limit"), ("?limit=201", "limit"), ("?limit=x", "limit"),
                         ("?cursor=abc", "cursor"), ("?cursor=-1", "cursor"),
                         ("?flagged=2", "flagged"), ("?state=done", "state")):
        assert_error(s.req("GET", f"/api/v1/jobs/{jid}/segments{query}"), 400, field=field)
    for n in ("0", "abc", "-1", "1.5", "99999999999999"):
        assert_error(patch(s, jid, n, {"target": "x"}, expect=None), 400, field="n")
    for body, field in (({}, "target"), ({"target": 5}, "target"), ({"state": "done"}, "state"),
                        ({"state": 1}, "state"), ({"target": "x", "version": 0}, "version"),
                        ({"target": "x", "version": "1"}, "version"),
                        ({"target": "x", "version": 1.5}, "version"),
                        ({"target": "x", "extra": 1}, "extra"),
                        ({"target": "x" * 70000}, "target")):
        assert_error(patch(s, jid, 1, body, expect=None), 400, field=field)
    assert_error(s.req("PATCH", f"/api/v1/jobs/{jid}/segments/1", [1, 2]), 400)
    assert_error(patch(s, jid, 999, {"target": "x"}, expect=None), 404, "not_found")
    assert_error(s.req("GET", "/api/v1/jobs/99999/segments"), 404, "not_found")

    # not a translate job: no segments, no rebuild
    nid = s.submit(preset="noop")
    s.wait_terminal(nid)
    assert_error(s.req("GET", f"/api/v1/jobs/{nid}/segments"), 422)
    assert_error(s.req("POST", f"/api/v1/jobs/{nid}/actions", {"type": "rebuild"}), 422)
    # a failed translate job cannot be rebuilt; a running one is 409 until it finished
    fid = s.submit(md="doc.txt", preset="tr-broken")
    assert s.wait_terminal(fid, timeout=60)["state"] == "failed"
    assert_error(s.req("POST", f"/api/v1/jobs/{fid}/actions", {"type": "rebuild"}), 422)
    sid = s.submit(md="doc.txt", preset="tr-slow")
    r = s.req("POST", f"/api/v1/jobs/{sid}/actions", {"type": "rebuild"})
    assert_error(r, 409, "conflict")
    assert "finished" in r.body["message"], r.body
    s.action(sid, "cancel")
    s.wait_terminal(sid, timeout=30)
    # the action is listed with the states it is allowed in
    acts = {a["type"]: a for a in s.call("GET", "/api/v1/config/job-options")["supportedActions"]}
    assert acts["rebuild"]["allowedStates"] == ["succeeded"], acts["rebuild"]


def test_lesson_translate_to_with_apertium():
    s = start()
    jid = s.submit(md="lesson.md", preset="lesson-es")
    dto = s.wait_terminal(jid, timeout=60)
    assert dto["state"] == "succeeded", (dto, s.logs(jid))
    texts = artifact_texts(s, jid)
    page = texts["lesson.html"]
    assert 'id="tr-toggle"' in page and 'type="checkbox"' in page, page
    assert 'class="tr" lang="es">El gato es negro.<' in page, page
    assert "casa" in page.lower() and "manzana" in page.lower(), page
    man = json.loads(texts["manifest.json"])
    tr = man["translations"]
    assert tr["to"] == "es" and tr["pair"] == "eng-spa" and tr["engine"] == "apertium", tr
    by_text = {x["text"]: x["translation"] for x in tr["items"]}
    assert by_text["The cat is black."] == "El gato es negro.", by_text
    assert set(by_text) == {"Good morning.", "The cat is black.", "apple", "house"}, by_text
    assert tr["memoryHits"] == 0, tr
    assert "translate: 4 lines into es" in s.logs(jid), s.logs(jid)

    # the same memory: a reviewed segment answers the lesson's identical line
    tid = translated_job(s, md="gm.txt")
    seg = all_segments(s, tid)[0]
    assert seg["source"] == "Good morning.", seg
    patch(s, tid, 1, {"target": "¡Muy buenos días!", "state": "reviewed"})
    child = s.action(tid, "rebuild", expect=202)["jobId"]
    assert s.wait_terminal(child, timeout=60)["state"] == "succeeded"
    jid2 = s.submit(md="lesson.md", preset="lesson-es")
    assert s.wait_terminal(jid2, timeout=60)["state"] == "succeeded"
    texts = artifact_texts(s, jid2)
    tr = json.loads(texts["manifest.json"])["translations"]
    assert tr["memoryHits"] == 1, tr
    assert {x["text"]: x["translation"] for x in tr["items"]}["Good morning."] == \
        "¡Muy buenos días!", tr
    assert "¡Muy buenos días!" in texts["lesson.html"]


def test_translate_to_needs_a_translate_object():
    bad = Server(start=False, presets_extra=[
        {"id": "x", "workflow": "lesson", "translateTo": "es"}])
    assert bad.start(expect_fail=True) != 0
    assert "translate" in bad.stderr_text(), bad.stderr_tail()
    tag = Server(start=False, presets_extra=[
        {"id": "x", "workflow": "lesson", "translateTo": "e s",
         "translate": {"provider": "apertium", "pair": "eng-spa"}}])
    assert tag.start(expect_fail=True) != 0
    assert "translateTo" in tag.stderr_text(), tag.stderr_tail()


def test_batch_over_a_folder_of_documents():
    s = start()
    r = s.req("POST", "/api/v1/jobs", {"preset": "tr-up",
                                       "sweep": {"md": {"dir": "docs", "glob": "*.txt"}}})
    assert r.status == 201, r.describe()
    parent = r.body["jobId"]
    dto = s.wait_terminal(parent, timeout=90)
    assert dto["state"] == "succeeded", dto
    g = s.call("GET", f"/api/v1/jobs/{parent}/gallery")
    assert g["kind"] == "batch" and g["swept"] == ["md"], g
    assert len(g["items"]) == 2, g
    for item in g["items"]:
        assert item["state"] == "succeeded", item
        names = {a["name"] for a in item["artifacts"]}
        assert {"manifest.json", "qa.json", "report.html", "bilingual.xlf"} <= names, names
        qa = item["qa"]
        assert qa["segments"] >= 1 and qa["flagged"] >= 0 and qa["reviewed"] == 0, qa
        assert qa["segments"] == len(all_segments(s, item["id"])), qa
    one = [i for i in g["items"] if i["md"].endswith("one.txt")][0]
    assert one["qa"]["segments"] == 2, one
    patch(s, one["id"], 1, {"state": "reviewed"})
    g = s.call("GET", f"/api/v1/jobs/{parent}/gallery")
    assert [i["qa"]["reviewed"] for i in g["items"] if i["id"] == one["id"]] == [1], g

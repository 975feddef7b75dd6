"""The translate workflow's engine (docs/translate.md): real apertium (eng-spa) on Markdown,
SubRip, WebVTT, gettext PO and XLIFF 2.0/1.2 documents (protected parts restored byte for
byte, code untranslated, timings and numbering identical, plural forms and the fuzzy flag,
valid XML with every target filled); QA planted by a `command` provider that mistranslates
on purpose (flagged, and nothing else); LibreTranslate and DeepL through fake servers
(tests/api/fake_translate.py: method, path, auth, body shape; 429 with Retry-After, then
500, then success; a 403 fails without retry; the key never appears in logs); the installed
pairs as an optionsSource; configuration errors naming the key."""

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import harness
from fake_translate import FakeService
from harness import Server

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "translate")
XLIFF2 = "{urn:oasis:names:tc:xliff:document:2.0}"
XLIFF1 = "{urn:oasis:names:tc:xliff:document:1.2}"

APERTIUM = {"id": "tr-es", "workflow": "translate", "maxAttempts": 1,
            "translate": {"provider": "apertium", "pair": "eng-spa"},
            "params": [{"name": "pair", "type": "enum", "optionsSource": "translate:pairs",
                        "default": "eng-spa"}]}


def has_markdown():
    """Whether this binary parses Markdown (the static release has no md4c)."""
    out = subprocess.run([harness.BIN, "version", "--verbose"], capture_output=True,
                         text=True, timeout=30).stdout
    return "build:    development" in out


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def inputs():
    return {name: fixture(name) for name in os.listdir(FIX)}


def artifacts(s, jid):
    out = {}
    for a in s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"]:
        r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/{harness.urlquote(a['name'])}", raw=True)
        assert r.status == 200, r.describe()
        out[a["name"]] = r.raw.decode("utf-8")
    return out


def run_job(s, md, preset="tr-es", state="succeeded"):
    jid = s.submit(md=md, preset=preset)
    dto = s.wait_terminal(jid, timeout=90)
    assert dto["state"] == state, (dto, s.logs(jid))
    return jid, dto


def check_reports(texts, name, fmt, nsegs=None):
    """The four reports exist and agree with each other."""
    man = json.loads(texts["manifest.json"])
    assert man["format"] == fmt and man["engine"] and man["pair"], man
    assert man["outputs"][0] == name and name in texts, (man, sorted(texts))
    if nsegs is not None:
        assert man["segments"] == nsegs, man
    qa = json.loads(texts["qa.json"])
    assert qa["segments"] == man["segments"] and qa["flagged"] == man["qa"]["flagged"], (qa, man)
    root = ET.fromstring(texts["bilingual.xlf"])
    units = root.findall(f".//{XLIFF2}segment")
    assert len(units) == man["segments"], len(units)
    assert all(u.get("state") == "translated" for u in units)
    assert all((u.find(f"{XLIFF2}target").text or "").strip() for u in units)
    html = texts["report.html"]
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    return man


def test_apertium_markdown_keeps_code_links_and_placeholders():
    s = Server(inputs=inputs(), presets_extra=[APERTIUM])
    if not has_markdown():
        jid, dto = run_job(s, "guide.md", state="failed")
        assert "Markdown documents need md4c" in dto["error"], dto
        return
    jid, _ = run_job(s, "guide.md")
    texts = artifacts(s, jid)
    src = fixture("guide.md").decode()
    out = texts["guide.spa.md"]
    # the fenced code block, byte for byte
    fence = src[src.index("```sh"):src.index("```\n", src.index("```sh") + 5) + 4]
    assert fence in out, out
    # inline code, the link's URL, bare URL, tags, placeholders
    for kept in ("`make install`", "](https://example.com/docs?a=1&b=2)",
                 "https://www.example.org/page", "<b>", "</b>", "{name}", "%s", "%1$d",
                 "{{user}}", "|------|-------------|"):
        assert kept in out, (kept, out)
    # translated text, Markdown structure kept
    assert "El coche rojo" in out and "# Empezando" in out, out
    assert "> El hombre viejo lee un libro." in out, out
    assert "The red car" not in out and "reads a book" not in out, out
    assert out.count("\n") == src.count("\n"), out
    man = check_reports(texts, "guide.spa.md", "md")
    assert man["origins"]["mt"] == man["segments"] and man["tmHits"] == 0, man
    # the segments are stored for review, sentences split inside blocks
    segs = s.call("GET", f"/api/v1/jobs/{jid}/segments?limit=200")["items"]
    sources = [x["source"] for x in segs]
    assert "The red car is fast." in sources, sources
    assert not any("This code is not translated" in x for x in sources), sources
    assert "engine apertium (eng-spa)" in s.logs(jid)


def test_apertium_subtitles_keep_timings_and_numbering():
    s = Server(inputs=inputs(), presets_extra=[APERTIUM])
    for name, out_name, fmt in (("talk.srt", "talk.spa.srt", "srt"),
                                ("talk.vtt", "talk.spa.vtt", "vtt")):
        jid, _ = run_job(s, name)
        texts = artifacts(s, jid)
        src = fixture(name).decode().splitlines()
        out = texts[out_name].splitlines()
        timing = [x for x in src if "-->" in x]
        assert [x for x in out if "-->" in x] == timing, out
        numbers = [x for x in src if x.strip().isdigit()]
        assert [x for x in out if x.strip().isdigit()] == numbers, out
        assert "El gato es negro." in out, out
        assert not any("The cat" in x or "The dog" in x for x in out), out
        assert all(len(x) <= 50 for x in out), out
        if fmt == "vtt":
            assert out[0] == "WEBVTT" and "NOTE This note is kept as it is." in out, out
            assert "intro" in out, out
        else:
            assert any(x.startswith("<i>") and "</i>" in x for x in out), out
        check_reports(texts, out_name, fmt)


def test_apertium_po_plurals_fuzzy_header_obsolete():
    s = Server(inputs=inputs(), presets_extra=[APERTIUM])
    jid, _ = run_job(s, "app.po")
    texts = artifacts(s, jid)
    out = texts["app.spa.po"]
    src = fixture("app.po").decode()
    header = src[:src.index("#: src/main.c:10")]
    assert out.startswith(header), out
    assert 'msgid "The house is big."\nmsgstr "La casa es grande."' in out, out
    assert 'msgid_plural "%d files were deleted."' in out, out
    plural = out[out.index("msgstr[0]"):]
    f0 = plural.split("\n")[0]
    f1 = plural.split("\n")[1]
    assert f0.startswith('msgstr[0] "') and len(f0) > 14, out
    assert f1.startswith('msgstr[1] "%d ') and len(f1) > 16, out
    assert '#, fuzzy\nmsgid "The dog sleeps."\nmsgstr "' in out, out
    assert "El gato duerme." not in out, out
    assert '#~ msgid "Obsolete text."\n#~ msgstr "Texto obsoleto."' in out, out
    assert "en el jardín" in out, out
    assert out.count("msgid ") == src.count("msgid "), out
    man = check_reports(texts, "app.spa.po", "po")
    assert man["segments"] == 5, man    # 3 msgids + msgid and msgid_plural


def test_apertium_xliff_targets_filled_and_valid():
    s = Server(inputs=inputs(), presets_extra=[APERTIUM])
    jid, _ = run_job(s, "strings.xlf")
    texts = artifacts(s, jid)
    root = ET.fromstring(texts["strings.spa.xlf"].encode())
    for unit in root.iter(f"{XLIFF2}unit"):
        seg = unit.find(f"{XLIFF2}segment")
        tgt = seg.find(f"{XLIFF2}target")
        if unit.get("translate") == "no":
            assert tgt is None, ET.tostring(unit)
            continue
        assert tgt is not None and "".join(tgt.itertext()).strip(), ET.tostring(unit)
        assert seg.get("state") == "translated"
    u2 = root.find(f".//{XLIFF2}unit[@id='u2']/{XLIFF2}segment/{XLIFF2}target")
    assert u2.find(f"{XLIFF2}pc").get("id") == "1" and "&" in "".join(u2.itertext())
    u4 = root.find(f".//{XLIFF2}unit[@id='u4']/{XLIFF2}segment/{XLIFF2}target")
    assert u4.find(f"{XLIFF2}ph") is not None and "Old target" not in "".join(u4.itertext())
    check_reports(texts, "strings.spa.xlf", "xliff", nsegs=3)
    # XLIFF 1.2: trans-unit targets with a state
    jid, _ = run_job(s, "strings12.xlf")
    root = ET.fromstring(artifacts(s, jid)["strings12.spa.xlf"].encode())
    tgts = list(root.iter(f"{XLIFF1}target"))
    assert len(tgts) == 2 and all(t.get("state") == "translated" for t in tgts)
    assert tgts[1].find(f"{XLIFF1}g") is not None and "x" != "".join(tgts[1].itertext())


# The command engine mistranslates on purpose: a changed number, a lost placeholder
# (its token [[0]] dropped), an untranslated line, a glossary term missed; the last
# sentence is translated cleanly.
PLANTED = ("sed -e 's/I have 3 apples/TENGO 4 MANZANAS/' "
           "-e 's/Send it to \\[\\[0\\]\\] now/ENVIALO AHORA/' "
           "-e 's/Open the dashboard/ABRE EL TABLERO/' "
           "-e 's/The cat is black/EL GATO ES NEGRO/'")
QA_DOC = (b"I have 3 apples.\n\nSend it to {name} now.\n\nKeep this line.\n\n"
          b"Open the dashboard.\n\nThe cat is black.\n")


def test_qa_flags_the_planted_mistakes_and_nothing_else():
    preset = {"id": "tr-bad", "workflow": "translate", "maxAttempts": 1,
              "translate": {"provider": "command", "pair": "eng-spa",
                            "glossary": "RUNS/glossary.tsv",
                            "commandArgv": ["sh", "-c", PLANTED]}}
    s = Server(start=False, inputs={"qa.txt": QA_DOC}, presets_extra=[preset])
    with open(os.path.join(s.runs, "glossary.tsv"), "w") as f:
        f.write("# term\ttranslation\ndashboard\tpanel\ncat\tgato\n")
    s.start()
    jid, _ = run_job(s, "qa.txt", preset="tr-bad")
    segs = s.call("GET", f"/api/v1/jobs/{jid}/segments?limit=50")["items"]
    flags = {x["source"]: x["flags"] for x in segs}
    assert flags == {"I have 3 apples.": ["number"],
                     "Send it to {name} now.": ["placeholder"],
                     "Keep this line.": ["untranslated"],
                     "Open the dashboard.": ["glossary"],
                     "The cat is black.": []}, flags
    texts = artifacts(s, jid)
    qa = json.loads(texts["qa.json"])
    assert qa["flagged"] == 4 and qa["counts"] == {
        "empty": 0, "untranslated": 1, "number": 1, "placeholder": 1, "tag": 0, "url": 0,
        "length": 0, "glossary": 1}, qa
    assert sorted(i["n"] for i in qa["items"]) == [1, 2, 3, 4], qa
    html = texts["report.html"]
    assert html.count('class="flagged"') == 4 and '<span class="flag">number</span>' in html
    assert "{name}" in html and "<script" not in html
    assert "qa: 4 of 5 segments flagged" in s.logs(jid)


def http_preset(kind, url, script_attempts=4):
    return {"id": f"tr-{kind}", "workflow": "translate", "maxAttempts": 1,
            "translate": {"provider": kind, "pair": "eng-spa", "baseUrl": url,
                          "maxAttempts": script_attempts, "retryBaseMs": 50,
                          "retryMaxMs": 2000}}


HTTP_DOC = b"Send the file to {name} today. The cat & the dog.\n\nGood <b>morning</b>.\n"


def run_http_provider(kind, env_name):
    key = f"{kind}-secret-key-7f3a9c"
    ok = FakeService(kind, key, script=[429, 500])
    bad = FakeService(kind, key, script=[403])
    try:
        presets = [http_preset(kind, ok.url)]
        p2 = http_preset(kind, bad.url)
        p2["id"] = f"tr-{kind}-403"
        s = Server(env={env_name: key}, inputs={"doc.txt": HTTP_DOC}, presets_extra=presets + [p2])
        jid, _ = run_job(s, "doc.txt", preset=f"tr-{kind}")
        assert not ok.problems, ok.problems
        assert len(ok.requests) == 3, ok.requests
        assert all(r["method"] == "POST" for r in ok.requests)
        out = artifacts(s, jid)["doc.spa.txt"]
        assert out == ("SEND THE FILE TO {name} TODAY. THE CAT & THE DOG.\n\n"
                       "GOOD <b>MORNING</b>.\n"), out
        texts = ok.requests[-1]["body"]["text" if kind == "deepl" else "q"]
        assert "{name}" not in json.dumps(texts) and '<x id=\\"0\\"/>' in json.dumps(texts)
        logs = s.logs(jid)
        assert "HTTP 429" in logs and "HTTP 500" in logs and "retrying" in logs, logs
        # a 403 fails at once: no retry
        jid2, dto = run_job(s, "doc.txt", preset=f"tr-{kind}-403", state="failed")
        assert len(bad.requests) == 1, bad.requests
        assert "403" in dto["error"], dto
        for text in (logs, s.logs(jid2), json.dumps(dto), s.stderr_text(), s.stdout_since_start()):
            assert key not in text
    finally:
        ok.close()
        bad.close()


def test_deepl_retries_then_translates_and_keeps_the_key_secret():
    run_http_provider("deepl", "DEEPL_AUTH_KEY")


def test_libretranslate_retries_then_translates_and_keeps_the_key_secret():
    run_http_provider("libretranslate", "LIBRETRANSLATE_API_KEY")


def test_pairs_are_discovered_and_bad_configuration_names_the_key():
    s = Server(inputs=inputs(), presets_extra=[APERTIUM])
    opts = s.call("GET", "/api/v1/config/job-options")
    text = json.dumps(opts)
    assert '"eng-spa"' in text and '"eng-cat"' in text, text[:2000]
    # a pair apertium does not have fails the job without retry
    jid = s.submit(md="talk.srt", preset="tr-es", params={"pair": "eng-spa"})
    assert s.wait_terminal(jid, timeout=60)["state"] == "succeeded"
    bad_cases = [
        ({"provider": "babelfish", "pair": "eng-spa"}, "translate.provider"),
        ({"provider": "apertium", "pair": "english"}, "translate.pair"),
        ({"provider": "command", "pair": "eng-spa"}, "translate.commandArgv"),
        ({"provider": "apertium", "pair": "eng-spa", "baseUrl": "http://x"},
         "translate.baseUrl"),
        ({"provider": "deepl", "pair": "eng-spa", "batchSize": 51}, "translate.batchSize"),
        ({"provider": "apertium", "pair": "eng-spa", "glossary": "/nonexistent/g.tsv"},
         "translate.glossary"),
    ]
    for tr, key in bad_cases:
        b = Server(start=False, presets_extra=[{"id": "x", "workflow": "translate",
                                                "translate": tr}])
        assert b.start(expect_fail=True) != 0
        assert key in b.stderr_text(), (key, b.stderr_tail())
    missing = Server(start=False, presets_extra=[{"id": "x", "workflow": "translate"}])
    assert missing.start(expect_fail=True) != 0
    assert "translate" in missing.stderr_text(), missing.stderr_tail()

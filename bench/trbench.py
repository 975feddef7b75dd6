#!/usr/bin/env python3
"""trbench.py — the translate workflow's benchmark (docs/benchmarks.md, "Translate"):
segments per second through apertium (eng-spa) for a 2,000-segment document, cold (every
segment through the engine) and with everything in the translation memory (every segment an
exact match of a reviewed one: no engine call).

Drives the real binary through the API test harness (tests/api/harness.py): a server on a
temporary data directory, the document as an input file, a translate preset with provider
apertium.  Cold: one job; then every segment is marked reviewed (PATCH) and a rebuild adds
them to the memory; warm: the same document again.  Each figure is the job's own duration
(startedAt -> finishedAt, so queueing and polling are left out), the median of --runs jobs.
The warm jobs' manifests must show every segment as a memory hit, else exit 2.

usage: trbench.py --bin build/batchbox [--segments 2000] [--runs 3]"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))

import harness  # noqa: E402
from harness import Server  # noqa: E402

SUBJECTS = ["The red car", "The old man", "The small dog", "The new house", "My friend",
            "The teacher", "The green tree", "The black cat", "Our neighbour", "The child"]
VERBS = ["is near the station", "reads a book", "sleeps in the garden", "likes the music",
         "waits for the bus", "walks to the market", "opens the door", "eats an apple",
         "writes a letter", "finds the key"]
WHEN = ["today", "every morning", "in the evening", "on Sunday", "after lunch",
        "before the meeting", "at night", "in summer", "with a smile", "again"]


def document(n):
    """n distinct sentences, ten to a paragraph."""
    lines, para = [], []
    for i in range(n):
        s, v, w = SUBJECTS[i % 10], VERBS[(i // 10) % 10], WHEN[(i // 100) % 10]
        para.append(f"{s} {v} {w}, number {i}.")
        if len(para) == 10:
            lines.append(" ".join(para))
            para = []
    if para:
        lines.append(" ".join(para))
    return ("\n\n".join(lines) + "\n").encode()


def ms(iso):
    # "2026-12-04T01:55:26.981Z"
    t = time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")
    frac = float("0." + iso[20:23]) if len(iso) > 20 else 0.0
    return (time.mktime(t) + frac) * 1000.0


def run_job(s, preset):
    jid = s.submit(md="doc.txt", preset=preset)
    dto = s.wait_terminal(jid, timeout=900)
    if dto["state"] != "succeeded":
        raise SystemExit(f"trbench: job {jid} {dto['state']}: {dto.get('error')}")
    return jid, (ms(dto["finishedAt"]) - ms(dto["startedAt"])) / 1000.0


def manifest(s, jid):
    r = s.req("GET", f"/api/v1/jobs/{jid}/artifacts/manifest.json", raw=True)
    return json.loads(r.raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    harness.BIN = os.path.abspath(a.bin)
    preset = {"id": "tr-bench", "workflow": "translate", "maxAttempts": 1,
              "translate": {"provider": "apertium", "pair": "eng-spa"}}
    s = Server(inputs={"doc.txt": document(a.segments)}, presets_extra=[preset], workers=1)
    try:
        cold = []
        for _ in range(a.runs):
            jid, sec = run_job(s, "tr-bench")
            cold.append(sec)
        n = manifest(s, jid)["segments"]
        # review everything, rebuild: the memory holds every segment
        cursor = None
        for _ in range(100000):
            q = "?limit=200" + (f"&cursor={cursor}" if cursor else "")
            page = s.call("GET", f"/api/v1/jobs/{jid}/segments{q}")
            for it in page["items"]:
                s.call("PATCH", f"/api/v1/jobs/{jid}/segments/{it['n']}",
                       {"state": "reviewed", "version": it["version"]})
            cursor = page["nextCursor"]
            if not cursor:
                break
        child = s.action(jid, "rebuild", expect=202)["jobId"]
        if s.wait_terminal(child, timeout=600)["state"] != "succeeded":
            raise SystemExit("trbench: the rebuild failed")
        warm = []
        for _ in range(a.runs):
            wid, sec = run_job(s, "tr-bench")
            warm.append(sec)
            hits = manifest(s, wid)["tmHits"]
            if hits != n:
                print(f"trbench: warm job {wid}: {hits} memory hits of {n}", file=sys.stderr)
                sys.exit(2)
    finally:
        s.stop(check=False)
        s.cleanup()
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"translate: {n} segments, apertium eng-spa, --workers 1, median of {a.runs} jobs")
    print(f"  cold (engine)      {c:8.2f} s  {n / c:10.0f} segments/s   (runs: "
          + ", ".join(f"{x:.2f}" for x in cold) + ")")
    print(f"  warm (memory)      {w:8.2f} s  {n / w:10.0f} segments/s   (runs: "
          + ", ".join(f"{x:.2f}" for x in warm) + ")")


if __name__ == "__main__":
    main()

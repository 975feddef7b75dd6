"""Local commands against the real binary: `batchbox run` (one job in-process, no server)
and `batchbox backup` (online copy of a live database while jobs run)."""

import json
import os
import sqlite3
import subprocess
import tempfile
import threading

import harness
from harness import Server, scaled


def _bin():
    return harness.BIN


def test_run_executes_one_job_without_a_server():
    with tempfile.TemporaryDirectory(prefix="bbrun-") as d:
        src = os.path.join(d, "words.txt")
        with open(src, "w") as f:
            f.write("one two three four\n")
        cfg = os.path.join(d, "cfg.json")
        with open(cfg, "w") as f:
            json.dump({"presets": [
                {"id": "count", "workflow": "command",
                 "argv": ["sh", "-c", "wc -w < \"$0\" > \"$1/count.txt\"; echo counted",
                          "{input}", "{outdir}"], "maxAttempts": 1},
                {"id": "boom", "workflow": "command", "argv": ["sh", "-c", "echo bad >&2; exit 4"],
                 "maxAttempts": 1}]}, f)
        out = os.path.join(d, "out")
        p = subprocess.run([_bin(), "run", src, "--preset", "count", "--config", cfg, "--out", out],
                           capture_output=True, text=True, timeout=scaled(30))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "counted" in p.stdout, p.stdout
        with open(os.path.join(out, "count.txt")) as f:
            assert f.read().strip() == "4"
        assert "succeeded" in p.stderr, p.stderr
        # a failing job: exit 1 and the error on stderr
        p = subprocess.run([_bin(), "run", "--preset", "boom", "--config", cfg, "--out", out],
                           capture_output=True, text=True, timeout=scaled(30))
        assert p.returncode == 1, p.stdout + p.stderr
        assert "bad" in p.stderr and "status 4" in p.stderr, p.stderr
        # usage errors: unknown preset is reported with the field, exit 2
        p = subprocess.run([_bin(), "run", src, "--preset", "nope", "--config", cfg],
                           capture_output=True, text=True, timeout=scaled(30))
        assert p.returncode == 2 and "preset" in p.stderr, p.stderr
        p = subprocess.run([_bin(), "run"], capture_output=True, text=True, timeout=scaled(10))
        assert p.returncode == 2


def test_backup_of_a_live_database_while_jobs_run():
    s = Server()
    stop = threading.Event()
    submitted = []

    def load():
        while not stop.is_set() and len(submitted) < 2000:
            submitted.append(s.submit(preset="noop"))

    t = threading.Thread(target=load)
    t.start()
    try:
        harness.wait_until(lambda: len(submitted) >= 50, scaled(10), what="some jobs")
        dest = os.path.join(s.base, "copy.db")
        p = subprocess.run([_bin(), "backup", dest, "--data", s.data], capture_output=True,
                           text=True, timeout=scaled(60))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "integrity check: ok" in p.stdout, p.stdout
    finally:
        stop.set()
        t.join()
    con = sqlite3.connect(dest)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = con.execute("SELECT count(*) FROM jobs").fetchone()[0]
        assert n >= 50, n
    finally:
        con.close()
    # refusing to overwrite, and a missing database
    p = subprocess.run([_bin(), "backup", dest, "--data", s.data], capture_output=True, text=True,
                       timeout=scaled(30))
    assert p.returncode == 2 and "exists" in p.stderr, p.stderr
    p = subprocess.run([_bin(), "backup", dest + "2", "--data", os.path.join(s.base, "nothing")],
                       capture_output=True, text=True, timeout=scaled(30))
    assert p.returncode == 3, p.stderr
    # the copy serves: start a server on a data dir holding it
    s.stop()
    s2 = Server(start=False)
    os.replace(dest, os.path.join(s2.data, "batchbox.db"))
    s2.start()
    body = s2.call("GET", "/api/v1/jobs?limit=1")
    assert body["items"], body

"""POST /admin/backup: an online copy of the live database taken while jobs are being written,
checked with PRAGMA integrity_check, and restored the way docs/operations.md says (stop, put
the copy in place as DATA/batchbox.db without -wal/-shm, start)."""

import os
import re
import shutil
import sqlite3
import stat
import threading

from harness import Server, scaled, wait_until

NAME = re.compile(r"^batchbox-\d{8}T\d{6}\.\d{3}Z(-\d)?\.db$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _job_ids(path):
    """Job ids in a database file, read through a read-only connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path
        return {str(r[0]) for r in conn.execute("SELECT id FROM jobs")}
    finally:
        conn.close()


class _Load:
    """Threads that submit noop jobs until stopped; remembers every accepted job id."""

    def __init__(self, s, threads=3):
        self.s = s
        self.stop_flag = threading.Event()
        self.ids = set()
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        c = self.s.client()
        try:
            n = 0
            while not self.stop_flag.is_set() and n < 5000:
                n += 1
                r = c.req("POST", "/api/v1/jobs", {"preset": "noop", "priority": n % 7})
                if r.status != 202:
                    with self.lock:
                        self.errors.append(r.describe())
                    return
                with self.lock:
                    self.ids.add(r.body["jobId"])
        except Exception as e:  # noqa: BLE001 - reported by the test
            with self.lock:
                self.errors.append(repr(e))
        finally:
            c.close()

    def count(self):
        with self.lock:
            return len(self.ids)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(scaled(20))
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"
        assert not self.errors, f"submits failed during the backup: {self.errors[:3]}"


def _backup(s, **kw):
    r = s.req("POST", "/api/v1/admin/backup", timeout=60, **kw)
    assert r.status == 201, r.describe()
    b = r.body
    assert set(b) == {"path", "bytes", "integrity", "createdAt"}, b
    assert b["integrity"] == "ok", b
    assert ISO.match(b["createdAt"]), b
    path = b["path"]
    assert os.path.dirname(path) == os.path.realpath(os.path.join(s.data, "backups")) or \
        os.path.dirname(path) == os.path.join(s.data, "backups"), path
    assert NAME.match(os.path.basename(path)), path
    assert os.path.isfile(path), path
    assert b["bytes"] == os.path.getsize(path) > 0, (b, os.path.getsize(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
    return path


def test_backup_under_write_load_then_restore():
    s = Server()
    before = {s.submit(preset="noop") for _ in range(5)}
    before.add(s.submit(preset="cat", md="a.md"))
    for j in before:
        s.wait_terminal(j)

    load = _Load(s).start()
    try:
        wait_until(lambda: load.count() >= 20, scaled(20), what="jobs submitted by the load")
        first = _backup(s)
        second = _backup(s)                 # another name, same moment or not
        seen_during = load.count()
    finally:
        load.finish()
    assert first != second, (first, second)
    assert load.count() >= seen_during >= 20

    # Both copies open, pass the integrity check and hold every job that finished before.
    in_first = _job_ids(first)
    in_second = _job_ids(second)
    assert before <= in_first, sorted(before - in_first)
    assert before <= in_second, sorted(before - in_second)
    assert in_first <= in_second, "the later copy lost jobs the earlier one had"
    # A consistent snapshot: the accepted load jobs it holds are a prefix of time, and it
    # holds only jobs that really exist.
    assert in_second <= before | load.ids, sorted(in_second - before - load.ids)[:5]
    assert len(in_first - before) > 0, "the copy taken under load holds none of the load jobs"

    # Jobs written after the copy are not in it; after a restore they are gone and the
    # copied ones are back.
    after = s.submit(preset="noop")
    s.wait_terminal(after)
    assert after not in in_second
    s.stop()
    db = os.path.join(s.data, "batchbox.db")
    for side in ("-wal", "-shm"):
        if os.path.exists(db + side):
            os.remove(db + side)
    shutil.copyfile(second, db)
    s.restart()
    assert s.call("GET", "/api/v1/health")["db"] == "ok"
    for j in sorted(before)[:3] + sorted(in_second - before)[:5]:
        assert s.job(j)["jobId"] == j
    r = s.req("GET", f"/api/v1/jobs/{after}")
    assert r.status == 404, f"a job written after the backup survived the restore: {r.describe()}"
    listed = {it["jobId"] for it in s.list_all()[0]}
    assert listed == in_second, (len(listed), len(in_second))
    # the restored database keeps working
    j = s.submit(preset="noop")
    assert s.wait_terminal(j)["state"] == "succeeded"


def test_backup_needs_an_admin():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    r = s.register("user@example.com", "user-password-1")
    tok = r.body["accessToken"]
    r = s.req("POST", "/api/v1/admin/backup", token=tok)
    assert r.status == 403 and r.body.get("error") == "forbidden", r.describe()
    r = s.req("POST", "/api/v1/admin/backup", auth=False)
    assert r.status == 401, r.describe()
    r = s.req("POST", "/admin/backup", token=tok)      # unprefixed path, same rule
    assert r.status == 403, r.describe()
    assert not os.path.exists(os.path.join(s.data, "backups")) or \
        os.listdir(os.path.join(s.data, "backups")) == [], "a refused request wrote a backup"
    # the admin may, and gets no -wal/-shm leftovers beside the copy
    path = _backup(s)
    left = sorted(os.listdir(os.path.dirname(path)))
    assert left == [os.path.basename(path)], left

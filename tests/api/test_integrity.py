"""Data integrity (issue 17, items 1-6): short request bodies, orphaned children after
kill -9, an honest /health, unusable databases at start-up, a full disk, SSE ids across a
backup restore."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

from harness import Server, assert_error, scaled, wait_until


# ---- 1. request bodies shorter than declared ---------------------------------------------

STALL_ENV = {"BB_TEST_REQUEST_TIMEOUT_MS": "700"}


def _raw(s, head, body, stall=False):
    """Sends head (str, no final CRLF) and body (bytes) on a fresh socket, then either
    half-closes it (the client sent all it will) or, with stall, keeps it open and silent
    so the server's request timeout ends the body; returns (status, parsed JSON or None)."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=scaled(15))
    try:
        sock.sendall(head.encode() + s.auth_line() + b"\r\n" + body)
        if not stall:
            sock.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            got += part
            if stall and b"\r\n\r\n" in got:
                h = got.split(b"\r\n\r\n", 1)[0].lower()
                n = [l for l in h.split(b"\r\n") if l.startswith(b"content-length:")]
                if n and len(got.split(b"\r\n\r\n", 1)[1]) >= int(n[0].split(b":")[1]):
                    break
    finally:
        sock.close()
    headers, _, payload = got.partition(b"\r\n\r\n")
    status = int(headers.split(b" ", 2)[1])
    try:
        return status, json.loads(payload.decode())
    except ValueError:
        return status, None


def _stored_files(s):
    """Every regular file under the data directory's upload store."""
    out = []
    for root, _, files in os.walk(os.path.join(s.data, "uploads")):
        out += [os.path.join(root, f) for f in files]
    return out


def test_short_raw_upload_is_400_and_leaves_nothing():
    s = Server(env=STALL_ENV)
    before = _stored_files(s)
    head = ("POST /api/v1/uploads?filename=cut.txt HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: text/plain\r\nContent-Length: 100000\r\n")
    for stall in (True, False):   # the client stops sending / closes its side
        status, body = _raw(s, head, b"a" * 40000, stall=stall)
        assert status == 400, (stall, status, body)
        assert "ended early" in body["message"], body
        listing = s.call("GET", "/api/v1/user/files")
        assert listing["items"] == [] and listing["usedBytes"] == 0, listing
        assert _stored_files(s) == before
    # The whole body still works.
    status, body = _raw(s, head.replace("100000", "40000"), b"a" * 40000)
    assert status == 201 and body["size"] == 40000, (status, body)


def test_short_multipart_upload_is_400():
    s = Server(env=STALL_ENV)
    part = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\n" + b"b" * 3000 + b"\r\n--XyZ--\r\n")
    head = ("POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: multipart/form-data; boundary=XyZ\r\n"
            f"Content-Length: {len(part) + 500}\r\n")
    status, body = _raw(s, head, part, stall=True)
    assert status == 400, (status, body)
    assert s.call("GET", "/api/v1/user/files")["items"] == []


def test_chunked_upload_without_last_chunk_is_400():
    s = Server(env=STALL_ENV)
    head = ("POST /api/v1/uploads?filename=c.txt HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
    for stall in (True, False):
        status, body = _raw(s, head, b"10\r\n0123456789abcdef\r\n10\r\n01234", stall=stall)
        assert status == 400, (stall, status, body)
    assert s.call("GET", "/api/v1/user/files")["items"] == []
    status, body = _raw(s, head, b"10\r\n0123456789abcdef\r\n0\r\n\r\n")
    assert status == 201 and body["size"] == 16, (status, body)


def test_short_json_body_is_400_and_submits_nothing():
    s = Server(env=STALL_ENV)
    doc = json.dumps({"preset": "noop", "params": {}}).encode()
    head = ("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(doc) + 20}\r\n")
    for stall in (True, False):
        status, body = _raw(s, head, doc, stall=stall)
        assert status == 400, (stall, status, body)
        assert "ended early" in body["message"], body
    assert s.call("GET", "/api/v1/jobs")["items"] == []


# ---- 2. the children of a killed server ---------------------------------------------------

def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


ORPHAN_PRESET = {
    "id": "orphan", "workflow": "command", "maxAttempts": 2,
    # The first attempt keeps writing into its output folder until it is killed; the
    # second writes its own file and ends.
    "argv": ["sh", "-c",
             "n=$(cat RUNS/{jobId}.n 2>/dev/null || echo 0); n=$((n+1)); echo $n > RUNS/{jobId}.n;"
             " if [ $n = 1 ]; then echo $$ > RUNS/{jobId}.pid;"
             " while :; do echo first > {outdir}/first.txt; sleep 0.05; done; fi;"
             " sleep 0.5; echo second > {outdir}/second.txt"]}


def test_kill9_ends_orphan_group_and_keeps_only_the_rerun_output():
    s = Server(presets_extra=[ORPHAN_PRESET])
    jid = s.submit(preset="orphan")
    s.wait_state(jid, "running")
    pid = s.pid_file(f"{jid}.pid")
    try:
        s.kill9()
        assert not _gone(pid), "the child should outlive a kill -9 of its server"
        s.restart()
        # The restart ended the old group before requeueing the job.
        wait_until(lambda: _gone(pid), 5, what=f"the orphaned child {pid} to be ended")
        assert "ended process groups left running" in s.stderr_text()
        dto = s.wait_terminal(jid, timeout=20)
        assert dto["state"] == "succeeded" and dto["attempts"] == 2, dto
        names = sorted(a["name"] for a in s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"])
        assert names == ["second.txt"], names
        folder = os.path.join(s.data, "artifacts", jid)
        assert sorted(os.listdir(folder)) == ["second.txt"], os.listdir(folder)
        # no attempt folders are left behind
        assert [n for n in os.listdir(os.path.join(s.data, "artifacts"))
                if n.startswith(".attempt-")] == []
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---- 3 and 5. a full disk: 507, an honest /health and /metrics, recovery -----------------

def _full(r):
    assert_error(r, 507, "insufficient_storage")
    assert "disk is full" in r.body["message"], r.describe()


def _fill(what, attempt, limit=400):
    """Calls attempt() until it answers 507; returns the successful results' bodies."""
    done = []
    for _ in range(limit):
        r = attempt()
        if r.status == 507:
            _full(r)
            return done
        assert r.status in (200, 201, 202), f"{what}: {r.describe()}"
        done.append(r.body)
    raise AssertionError(f"{what} never met the full database after {limit} writes")


def test_disk_full_is_507_health_503_and_recovers_without_restart():
    # The database may grow by 8 pages: SQLite's own SQLITE_FULL, in the real writer.
    # A job that runs until the database is full and only then ends: recording its result
    # meets the full disk, so the worker's retry waits double (without it, whether a worker
    # has anything to record when the disk fills is a matter of timing).
    go = os.path.join(tempfile.mkdtemp(prefix="bb-go-"), "go")
    waiter = {"id": "waiter", "workflow": "command", "maxAttempts": 1, "timeoutSec": 120,
              "argv": ["sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.05; done", go]}
    s = Server(env={"BB_TEST_DB_SPARE_PAGES": "8"}, presets_extra=[waiter])
    waiting = s.submit(preset="waiter")
    s.wait_state(waiting, ("running",))
    refresh = [s.session("admin@example.com", "admin-password-1")["refreshToken"]]
    h = s.call("GET", "/api/v1/health")
    assert h["writes"] == "ok" and h["diskFull"] is False and h["lastWriteError"] is None, h
    assert h["diskFreeBytes"] > 0, h
    name = "n" * 200
    files = _fill("uploads", lambda: s.req("POST", f"/api/v1/uploads?filename={name}.txt",
                                          b"x" * 100, headers={"Content-Type": "text/plain"}))
    assert files, "no upload fitted before the database was full"
    # Every other write meets the full disk too (after what still fits in half-used pages).
    _fill("submits", lambda: s.req("POST", "/api/v1/jobs", {"preset": "noop",
                                                           "params": {"pad": "p" * 300}}))

    def rotate():
        r = s.req("POST", "/api/v1/auth/refresh", {"refreshToken": refresh[0]}, auth=False)
        if r.status == 200:
            refresh[0] = r.body["refreshToken"]
        return r
    _fill("token refreshes", rotate)
    # A sign-in writes a session and tokens: it meets the full database too (a few tries:
    # a token may still land in a page with room).
    for _ in range(8):
        r = s.login_as("admin@example.com", "admin-password-1")
        if r.status != 200:
            break
    _full(r)
    r = s.req("GET", "/api/v1/health", auth=False)
    assert r.status == 503, r.describe()
    assert r.body["writes"] == "failing" and r.body["diskFull"] is True, r.body
    assert "disk is full" in r.body["reason"], r.body
    assert "full" in r.body["lastWriteError"]["message"], r.body
    metrics = s.call("GET", "/api/v1/metrics", raw=True).decode()
    assert "batchbox_disk_full 1" in metrics and "batchbox_db_writable 0" in metrics
    # The workers that cannot record or claim back off instead of retrying many times a
    # second: their retry waits double.
    with open(go, "w"):
        pass
    wait_until(lambda: '"retryInMs":"1600"' in s.stderr_text(), 20,
               what="a worker retry wait of 1.6 s in the log")
    # Free space without a restart: deleting the uploads frees their pages.
    for f in files:
        r = s.req("DELETE", f"/api/v1/files/{f['fileId']}")
        assert r.status == 204, r.describe()
    wait_until(lambda: s.req("GET", "/api/v1/health", auth=False).status == 200, 10,
               what="/health to say ok again")
    m = s.call("GET", "/api/v1/metrics", raw=True).decode()
    assert "batchbox_disk_full 0" in m and "batchbox_db_writable 1" in m
    assert s.login_as("admin@example.com", "admin-password-1").status == 200
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"})
    assert r.status == 202, r.describe()
    assert s.wait_terminal(r.body["jobId"], timeout=30)["state"] == "succeeded"
    # the result that met the full disk was kept and recorded once there was room
    assert s.wait_terminal(waiting, timeout=30)["state"] == "succeeded"


# ---- 4. databases the server cannot use ---------------------------------------------------

def _db(s):
    return os.path.join(s.data, "batchbox.db")


def test_start_refuses_damaged_database():
    s = Server()
    for _ in range(30):
        s.submit(preset="noop", params={"pad": "p" * 500})
    s.stop()
    size = os.path.getsize(_db(s))
    page = 4096
    assert size >= 8 * page, size
    with open(_db(s), "r+b") as f:      # page 1 (the header and schema) stays intact
        for n in range(3, size // page):
            f.seek(n * page)
            f.write(b"\xa5" * page)
    rc = s.start(expect_fail=True)
    assert rc == 3, (rc, s.stderr_tail())
    err = s.stderr_text()
    assert "damaged" in err or "malformed" in err, s.stderr_tail()


def test_start_refuses_read_only_database():
    s = Server()
    s.stop()
    os.chmod(_db(s), 0o444)
    if os.geteuid() == 0:
        # root writes through file modes: run this start as nobody, who can write the
        # folder but not the file
        for root, dirs, names in os.walk(s.base):
            for n in dirs + names:
                os.chown(os.path.join(root, n), 65534, 65534)
        os.chown(s.base, 65534, 65534)
        args = s.args
        s.args = lambda: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + args()
    rc = s.start(expect_fail=True)
    assert rc == 3, (rc, s.stderr_tail())
    assert "read-only" in s.stderr_text(), s.stderr_tail()


def test_empty_database_file_starts_as_new_and_says_so():
    s = Server(start=False)
    open(_db(s), "wb").close()
    s.start()
    assert "the database file is empty (0 bytes)" in s.stderr_text(), s.stderr_tail()
    assert s.call("GET", "/api/v1/health")["writes"] == "ok"


# ---- 6. SSE ids across a backup restore ---------------------------------------------------

def _events_of(s, headers, jobs):
    """Opens a stream, waits until each job's terminal state event arrived, closes it;
    returns the events (with ids)."""
    c = s.sse(headers=headers)
    try:
        c.wait_for(lambda evs: all(any(e.job_id == j and e.state == "succeeded" for e in evs)
                                   for j in jobs), 15, what="the jobs' events")
        return c.snapshot()
    finally:
        c.close()


def test_sse_ids_go_on_upwards_across_a_backup_restore():
    s = Server()
    first = s.submit(preset="noop")
    s.wait_terminal(first)
    r = s.req("POST", "/api/v1/admin/backup", timeout=60)
    assert r.status == 201, r.describe()
    copy = r.body["path"]
    later = [s.submit(preset="noop") for _ in range(3)]
    for j in later:
        s.wait_terminal(j)
    evs = _events_of(s, {"Last-Event-ID": "0"}, [first] + later)
    newest = max(int(e.id) for e in evs if e.id)
    s.stop()
    db = os.path.join(s.data, "batchbox.db")
    for side in ("-wal", "-shm"):
        if os.path.exists(db + side):
            os.remove(db + side)
    with open(copy, "rb") as src, open(db, "wb") as dst:   # docs/operations.md, "Restoring"
        dst.write(src.read())
    s.restart()
    # A browser still holding the newest id of the lost timeline is told to reload ...
    c = s.sse(headers={"Last-Event-ID": str(newest)})
    try:
        c.wait_for(lambda evs: any(e.event == "reload" for e in evs), 10, what="a reload event")
        # ... and the events after the restore carry larger ids than any it saw.
        j = s.submit(preset="noop")
        got = c.wait_for(lambda evs: [e for e in evs if e.job_id == j and e.state == "succeeded"],
                         15, what="the new job's events")
        ids = [int(e.id) for e in c.snapshot() if e.id and e.job_id == j]
        assert ids and min(ids) > newest, (newest, ids, got)
    finally:
        c.close()
    # A client of the restored timeline still resumes normally: replay from an old id.
    evs = _events_of(s, {"Last-Event-ID": "0"}, [first, j])
    assert not any(e.event == "reload" for e in evs)
    ids = [int(e.id) for e in evs if e.id]
    assert ids == sorted(ids), ids

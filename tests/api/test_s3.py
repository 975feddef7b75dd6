"""The s3 storage driver against a real S3 implementation (docs/storage.md).

Each test starts s3rver (the npm package pinned in tests/s3/package.json) through
tests/s3/server.js, which checks AWS Signature V4 in front of it (s3rver itself checks only
V2) and logs the signature scheme of every request, on a free 127.0.0.1 port with a
temporary data directory and the bucket "batchbox", and stops it at the end. The bucket is
inspected independently of batchbox with a small S3 client written here on the standard
library (signature V2, HMAC-SHA1 over "x-amz-date", which s3rver verifies): objects are
fetched through the S3 API and compared by sha256.

Covered: uploads stored in the bucket; jobs that read an upload from S3 and whose
artifacts go to S3 for upload "s3" and "auto" (and stay local for "none"), served back by
batchbox with Range/ETag; deleting an upload removes its object; wrong credentials (an
upload refused with a message naming the credentials, a job failing at once without
retries, nothing recorded, the secret never echoed); S3 unreachable (a job retried, then
failed saying it cannot reach S3); every request batchbox makes is AWS Signature V4 in the
configured region, checked by the server, and a wrong region or secret is refused with a
clear error; HTTPS with a test CA made by the openssl CLI at test time: trusted through
storage.s3.caBundle (works), untrusted (fails saying the certificate was not verified and
naming storage.s3.caBundle), storage.s3.insecureSkipVerify (works, with a warning at
start-up).

s3rver must be installed under tests/s3/node_modules (build.sh's test step runs
`npm ci --prefix tests/s3`); when it is missing the tests try `npm ci` themselves and
fail with a clear message if node or npm is missing or the install fails.
"""

import atexit
import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

from harness import assert_error, free_port, scaled
from test_files import (NOTES, _vmrss_kib, check_object_semantics, part, sha, start_server,
                        upload_mp, upload_raw, user_files)

HERE = os.path.dirname(os.path.abspath(__file__))
S3_DIR = os.path.normpath(os.path.join(HERE, "..", "s3"))
S3RVER_JS = os.path.join(S3_DIR, "node_modules", "s3rver", "bin", "s3rver.js")
SERVER_JS = os.path.join(S3_DIR, "server.js")     # s3rver + Signature V4 checks
BUCKET = "batchbox"
ACCESS_KEY = "S3RVER"     # s3rver's built-in account
SECRET_KEY = "S3RVER"
WRONG_SECRET = "wrong-secret-d41d8cd98f"

PRESETS = [
    {"id": "copymd", "workflow": "command", "argv": ["cp", "{input}", "{outdir}/copy.md"],
     "maxAttempts": 1, "timeoutSec": 30},
    # two artifacts: the input, and 300 kB of random bytes
    {"id": "twoarts", "workflow": "command",
     "argv": ["sh", "-c", "cp \"$0\" \"$1/copy.md\" && head -c 300000 /dev/urandom "
                          "> \"$1/noise.bin\"", "{input}", "{outdir}"],
     "maxAttempts": 1, "timeoutSec": 30},
    # artifact names that are not valid S3 keys as they are
    {"id": "names", "workflow": "command",
     "argv": ["sh", "-c", "for n in 'my file.md' 'Zoë (1).md' \"a'b!c*.md\"; do "
                          "cp \"$0\" \"$1/$n\"; done", "{input}", "{outdir}"],
     "maxAttempts": 1, "timeoutSec": 30},
    # retried on retryable failures
    {"id": "s3copy", "workflow": "command", "argv": ["cp", "{input}", "{outdir}/copy.md"],
     "maxAttempts": 2, "retryDelayMs": 100, "timeoutSec": 30},
]


# ---- s3rver ------------------------------------------------------------------------------

_install_lock = threading.Lock()
_running = []


def ensure_s3rver():
    """Makes sure tests/s3/node_modules holds the pinned s3rver (npm ci when it does not);
    AssertionError with the reason otherwise."""
    with _install_lock:
        if shutil.which("node") is None:
            raise AssertionError("node is not installed: the S3 tests need Node.js and npm "
                                 "(apt-get install nodejs npm) to run s3rver")
        if os.path.isfile(S3RVER_JS):
            return
        if shutil.which("npm") is None:
            raise AssertionError(f"{S3RVER_JS} is missing and npm is not installed "
                                 "(apt-get install npm; then npm ci --prefix tests/s3)")
        try:
            p = subprocess.run(["npm", "ci", "--prefix", S3_DIR, "--no-audit", "--no-fund",
                                "--loglevel=error"], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise AssertionError("npm ci --prefix tests/s3 did not finish within 300 s")
        if p.returncode != 0 or not os.path.isfile(S3RVER_JS):
            out = (p.stdout + p.stderr).decode("utf-8", "replace")[-2000:]
            raise AssertionError(f"npm ci --prefix tests/s3 failed (exit {p.returncode}); "
                                 f"s3rver is needed for the S3 tests:\n{out}")


def _kill_leftovers():
    for srv in list(_running):
        srv.stop()


atexit.register(_kill_leftovers)


class S3rver:
    """s3rver on 127.0.0.1 (a port it picks) with a temporary data directory and the bucket
    "batchbox", behind tests/s3/server.js (Signature V4 checked for `region`, every
    request's scheme in auth_log()); with tls=(key, cert, ca) it serves HTTPS with that key
    and certificate, and our own client trusts ca. Use as a context manager so it is
    stopped whatever happens."""

    def __init__(self, timeout=20.0, region="us-east-1", tls=None):
        ensure_s3rver()
        self.dir = tempfile.mkdtemp(prefix="bbs3-")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.log_path = os.path.join(self.dir, "s3rver.log")
        self.auth_log_path = os.path.join(self.dir, "auth.log")
        self.port = None
        self.ssl_ctx = None
        argv = ["node", SERVER_JS, "-d", self.data, "-a", "127.0.0.1", "-p", "0",
                "--region", region, "--auth-log", self.auth_log_path,
                "--configure-bucket", BUCKET]
        if tls is not None:
            key, cert, ca = tls
            argv += ["--key", key, "--cert", cert]
            self.ssl_ctx = ssl.create_default_context(cafile=ca)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        _running.append(self)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + scaled(timeout)
        while self.port is None:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self._log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"s3rver exited with {self.proc.returncode} during "
                                     f"start-up:\n{self._log()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"s3rver did not listen within {scaled(timeout):.0f}s:"
                                     f"\n{self._log()[-2000:]}")
            time.sleep(0.05)
        while True:   # the bucket answers a signed listing
            try:
                if self.request("GET", f"/{BUCKET}")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"s3rver on port {self.port} does not list bucket "
                                     f"{BUCKET}:\n{self._log()[-2000:]}")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if self in _running:
            _running.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def auth_log(self):
        """The requests the server saw so far: a list of dicts (method, path, scheme,
        verified, region, ua, error), see tests/s3/server.js."""
        try:
            with open(self.auth_log_path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def libs3_requests(self):
        """The auth_log() entries of batchbox's requests (libs3's User-Agent)."""
        return [e for e in self.auth_log() if "libs3" in e["ua"]]

    def _conn(self, timeout):
        if self.ssl_ctx is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    # -- an S3 client of our own: signature V2 with x-amz-date

    def request(self, method, path, query="", secret=SECRET_KEY, body=None):
        """One signed request; path is "/bucket[/key]" (segments already encoded).
        Returns (status, body bytes)."""
        date = email.utils.formatdate(usegmt=True)
        to_sign = f"{method}\n\n\n\nx-amz-date:{date}\n{path}"
        sig = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(),
                                        hashlib.sha1).digest()).decode()
        conn = self._conn(scaled(20))
        try:
            conn.request(method, path + ("?" + query if query else ""), body=body,
                         headers={"x-amz-date": date,
                                  "Authorization": f"AWS {ACCESS_KEY}:{sig}"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def sha256_of(self, key):
        """(status, size, sha256 hex) of an object, read in pieces."""
        date = email.utils.formatdate(usegmt=True)
        path = f"/{BUCKET}/" + quote(key, safe="/-._~")
        to_sign = f"GET\n\n\n\nx-amz-date:{date}\n{path}"
        sig = base64.b64encode(hmac.new(SECRET_KEY.encode(), to_sign.encode(),
                                        hashlib.sha1).digest()).decode()
        conn = self._conn(scaled(60))
        try:
            conn.request("GET", path, headers={"x-amz-date": date,
                                               "Authorization": f"AWS {ACCESS_KEY}:{sig}"})
            r = conn.getresponse()
            h = hashlib.sha256()
            n = 0
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            return r.status, n, h.hexdigest()
        finally:
            conn.close()

    def get(self, key, secret=SECRET_KEY):
        return self.request("GET", f"/{BUCKET}/" + quote(key, safe="/-._~"), secret=secret)

    def keys(self, prefix=""):
        """{key: size} of the bucket's objects under prefix (one page is plenty here)."""
        st, body = self.request("GET", f"/{BUCKET}", "prefix=" + quote(prefix, safe=""))
        assert st == 200, f"S3 list {prefix!r}: {st} {body[:300]!r}"
        out = {}
        for c in ET.fromstring(body):
            if c.tag.endswith("Contents"):
                k = [e.text for e in c if e.tag.endswith("Key")][0]
                size = [e.text for e in c if e.tag.endswith("Size")][0]
                out[k] = int(size)
        return out


def s3_config(endpoint, **more):
    s3 = {"endpoint": endpoint, "bucket": BUCKET, "region": "us-east-1",
          "accessKey": ACCESS_KEY, "https": False, "pathStyle": True}
    s3.update(more)
    return {"storage": {"driver": "s3", "s3": s3}}


def s3_server(endpoint, secret=SECRET_KEY, env=None, **more):
    return start_server(env={"BATCHBOX_S3_SECRET_KEY": secret, **(env or {})},
                        presets=PRESETS, extra=s3_config(endpoint, **more))


def assert_all_v4(s3, region="us-east-1"):
    """Every request batchbox (libs3) sent was signed with AWS Signature V4 in region, and
    the server's own V4 check accepted it; returns how many there were."""
    reqs = s3.libs3_requests()
    assert reqs, f"the S3 server saw no request from batchbox: {s3.auth_log()[-5:]}"
    bad = [e for e in reqs if e["scheme"] != "AWS4-HMAC-SHA256" or e["verified"] is not True
           or e["region"] != region]
    assert not bad, f"requests not signed with a valid V4 signature for {region}: {bad[:3]}"
    return len(reqs)


def assert_in_bucket(s3, key, data):
    st, body = s3.get(key)
    assert st == 200, f"S3 GET {key}: {st} {body[:300]!r}"
    assert sha(body) == sha(data) and len(body) == len(data), \
        f"S3 object {key}: {len(body)} bytes sha256 {sha(body)}, want {len(data)} {sha(data)}"


# ---- tests -------------------------------------------------------------------------------

def test_s3_uploads_and_artifacts_round_trip():
    with S3rver() as s3:
        # our client's signatures are checked: a wrong secret is refused by s3rver itself
        st, body = s3.request("GET", f"/{BUCKET}", secret="not-the-secret")
        assert st == 403 and b"SignatureDoesNotMatch" in body, (st, body[:200])

        s = s3_server(s3.endpoint)
        opts = s.call("GET", "/api/v1/config/job-options")
        assert "s3" in opts["uploadOptions"] and "auto" in opts["uploadOptions"] \
            and "none" in opts["uploadOptions"], opts["uploadOptions"]
        assert s3.keys() == {}, "the bucket should start empty"

        # an upload lands in the bucket, nowhere else
        data = NOTES * 40
        r = upload_mp(s, [part("file", data, "lesson.md")])
        assert r.status == 201, r.describe()
        info = r.body
        fid = info["fileId"]
        assert info["sha256"] == sha(data) and info["size"] == len(data), info
        keys = s3.keys("uploads/")
        assert len(keys) == 1 and list(keys.values()) == [len(data)], keys
        ukey = next(iter(keys))
        assert_in_bucket(s3, ukey, data)
        items = user_files(s)["items"]
        assert [(it["fileId"], it["storage"]) for it in items] == [(fid, "s3")], items
        local = [f for _, _, fs in os.walk(os.path.join(s.data, "uploads")) for f in fs] \
            if os.path.isdir(os.path.join(s.data, "uploads")) else []
        assert local == [], f"an S3 upload left local files: {local}"
        # served back from S3 with ETag/Range/HEAD
        check_object_semantics(s, f"/api/v1/files/{fid}", data,
                               "text/markdown; charset=utf-8")

        # a job reading the upload (fetched from S3), artifacts to S3
        jid = s.submit(md=fid, preset="twoarts", upload="s3")
        dto = s.wait_terminal(jid, timeout=30)
        assert dto["state"] == "succeeded", f"{dto}\nlogs:\n{s.logs(jid)}"
        assert dto["upload"] == "s3", dto
        assert "uploaded to S3" in s.logs(jid), s.logs(jid)
        arts = {a["name"]: a for a in s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"]}
        assert set(arts) == {"copy.md", "noise.bin"}, arts
        assert arts["copy.md"]["sha256"] == sha(data) and arts["copy.md"]["size"] == len(data)
        assert arts["noise.bin"]["size"] == 300000, arts["noise.bin"]
        in_bucket = s3.keys(f"artifacts/{jid}/")
        assert set(in_bucket) == {f"artifacts/{jid}/copy.md", f"artifacts/{jid}/noise.bin"}, \
            in_bucket
        for name, a in arts.items():
            r = s.req("GET", a["url"], raw=True)
            assert r.status == 200, r.describe()
            assert sha(r.body) == a["sha256"] and len(r.body) == a["size"], \
                f"{name}: downloaded {len(r.body)} bytes sha256 {sha(r.body)}; listed {a}"
            assert r.headers.get("ETag") == f'"{a["sha256"]}"', r.headers
            assert_in_bucket(s3, f"artifacts/{jid}/{name}", r.body)
            if name == "noise.bin":
                noise = r.body
        check_object_semantics(s, arts["copy.md"]["url"], data)
        r = s.req("GET", arts["noise.bin"]["url"], raw=True,
                  headers={"Range": "bytes=123456-199999"})
        assert r.status == 206 and r.body == noise[123456:200000], r.describe()

        # upload "none" keeps artifacts local; "auto" with S3 configured uses S3; a path
        # input with upload "s3" too
        j_none = s.submit(md=fid, preset="copymd", upload="none")
        j_auto = s.submit(md=fid, preset="copymd", upload="auto")
        j_path = s.submit(md="a.md", preset="copymd", upload="s3")
        for j in (j_none, j_auto, j_path):
            dto = s.wait_terminal(j, timeout=30)
            assert dto["state"] == "succeeded", f"{dto}\nlogs:\n{s.logs(j)}"
        assert s3.keys(f"artifacts/{j_none}/") == {}, "upload none sent artifacts to S3"
        assert_in_bucket(s3, f"artifacts/{j_auto}/copy.md", data)
        with open(os.path.join(s.inputs, "a.md"), "rb") as f:
            a_md = f.read()
        assert_in_bucket(s3, f"artifacts/{j_path}/copy.md", a_md)
        for j, want in ((j_none, data), (j_auto, data), (j_path, a_md)):
            r = s.req("GET", f"/api/v1/jobs/{j}/artifacts/copy.md", raw=True)
            assert r.status == 200 and r.body == want, r.describe()

        # artifact names with spaces, quotes and non-ASCII letters: stored under keys S3
        # accepts, served back under their own names
        jn = s.submit(md="a.md", preset="names", upload="s3")
        dto = s.wait_terminal(jn, timeout=30)
        assert dto["state"] == "succeeded", f"{dto}\nlogs:\n{s.logs(jn)}"
        arts = s.call("GET", f"/api/v1/jobs/{jn}/artifacts")["items"]
        assert sorted(a["name"] for a in arts) == sorted(["my file.md", "Zoë (1).md",
                                                          "a'b!c*.md"]), arts
        for a in arts:
            r = s.req("GET", a["url"], raw=True)
            assert r.status == 200 and r.body == a_md, f"{a['name']}: {r.describe()}"
        nkeys = s3.keys(f"artifacts/{jn}/")
        assert len(nkeys) == 3, nkeys
        for k in nkeys:
            assert_in_bucket(s3, k, a_md)

        # a larger upload (spooled, then sent in one PUT) arrives intact
        big = base64.b64encode(os.urandom(15 * 1024 * 1024))        # 20 MiB of text
        r = upload_raw(s, "big.txt", big)
        assert r.body["sha256"] == sha(big) and r.body["size"] == len(big), r.body
        bkeys = set(s3.keys("uploads/")) - {ukey}
        assert len(bkeys) == 1, bkeys
        assert_in_bucket(s3, bkeys.pop(), big)
        rr = s.req("GET", f"/api/v1/files/{r.body['fileId']}", raw=True, timeout=60)
        assert rr.status == 200 and sha(rr.body) == sha(big), rr.status
        s.call("DELETE", f"/api/v1/files/{r.body['fileId']}", expect=204)

        # deleting the upload removes its object
        s.call("DELETE", f"/api/v1/files/{fid}", expect=204)
        assert s3.keys("uploads/") == {}, s3.keys("uploads/")
        assert_error(s.req("GET", f"/api/v1/files/{fid}"), 404, "not_found")
        s.stop()

        # everything above went over Signature V4, checked by the server
        n = assert_all_v4(s3)
        methods = {e["method"] for e in s3.libs3_requests()}
        assert {"PUT", "GET", "DELETE"} <= methods, methods
        print(f"  {n} requests from batchbox, all AWS4-HMAC-SHA256 and verified")


def test_s3_not_offered_without_s3_storage():
    s = start_server(presets=PRESETS)
    opts = s.call("GET", "/api/v1/config/job-options")
    assert "s3" not in opts["uploadOptions"], opts["uploadOptions"]
    r = s.req("POST", "/api/v1/jobs", {"md": "a.md", "preset": "copymd", "upload": "s3"})
    assert_error(r, 400, "invalid", field="upload")


def test_s3_wrong_credentials_fail_cleanly():
    with S3rver() as s3:
        s = s3_server(s3.endpoint, secret=WRONG_SECRET)
        r = upload_raw(s, "notes.md", NOTES, expect=None)
        assert 400 <= r.status < 600 and r.status not in (413, 415), r.describe()
        assert isinstance(r.body, dict) and isinstance(r.body.get("error"), str), r.describe()
        msg = r.body.get("message", "")
        assert "S3" in msg and "credential" in msg.lower(), \
            f"the upload error should say S3 refused the credentials: {r.describe()}"
        assert WRONG_SECRET not in r.raw.decode("utf-8", "replace"), "the secret was echoed"
        assert user_files(s)["items"] == [], "a failed upload was recorded"
        # the server saw a V4 signature and found it wrong
        reqs = s3.libs3_requests()
        assert reqs and all(e["scheme"] == "AWS4-HMAC-SHA256" and e["verified"] is False
                            and e["error"] == "SignatureDoesNotMatch" for e in reqs), reqs

        # a job whose artifacts go to S3 fails at once: trying again cannot fix credentials
        jid = s.submit(md="a.md", preset="s3copy", upload="s3")
        dto = s.wait_terminal(jid, timeout=30)
        logs = s.logs(jid)
        assert dto["state"] == "failed", f"{dto}\nlogs:\n{logs}"
        err = dto["error"] or ""
        assert "S3" in err and "credential" in err.lower(), f"job error: {err!r}"
        assert dto["attempts"] == 1, f"a credentials error should not be retried: {dto}"
        assert s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"] == [], \
            "a job whose artifacts did not reach S3 lists artifacts"
        assert_error(s.req("GET", f"/api/v1/jobs/{jid}/artifacts/copy.md"), 404, "not_found")
        for text in (err, logs, s.stderr_text()):
            assert WRONG_SECRET not in text, "the secret key appears in an error or a log"
        assert s3.keys() == {}, f"objects reached the bucket: {s3.keys()}"
        # a job that keeps its artifacts local still works
        jid = s.submit(md="a.md", preset="copymd", upload="none")
        assert s.wait_terminal(jid, timeout=30)["state"] == "succeeded"
        s.stop()


def test_s3_unreachable_retries_then_fails():
    port = free_port()          # nothing listens there
    s = s3_server(f"127.0.0.1:{port}")
    r = upload_raw(s, "notes.md", NOTES, expect=None)
    assert 500 <= r.status < 600, f"an upload with S3 unreachable: {r.describe()}"
    assert isinstance(r.body, dict) and "reach S3" in r.body.get("message", ""), r.describe()
    assert user_files(s)["items"] == []

    t0 = time.monotonic()
    jid = s.submit(md="a.md", preset="s3copy", upload="s3")
    dto = s.wait_terminal(jid, timeout=45)
    logs = s.logs(jid)
    assert dto["state"] == "failed", f"{dto}\nlogs:\n{logs}"
    assert dto["attempts"] == 2 and dto["maxAttempts"] == 2, \
        f"S3 unreachable is retryable: both attempts should run: {dto}"
    assert "cannot reach S3" in (dto["error"] or ""), f"job error: {dto['error']!r}"
    assert "retrying" in logs, f"the first attempt should log its retry:\n{logs}"
    assert s.call("GET", f"/api/v1/jobs/{jid}/artifacts")["items"] == []
    print(f"  unreachable S3: job failed after {dto['attempts']} attempts in "
          f"{time.monotonic() - t0:.1f}s")


def test_s3_large_upload_streams_in_flat_memory():
    """256 MiB uploaded to S3 storage (spooled to a temporary file, then one PUT): the
    server's peak VmRSS stays within 16 MiB of idle, and the object in the bucket has the
    bytes sent."""
    total = 256 * 1024 * 1024
    with S3rver() as s3:
        s = start_server(env={"BATCHBOX_S3_SECRET_KEY": SECRET_KEY}, presets=PRESETS,
                         extra=s3_config(s3.endpoint),
                         limits={"maxUploadBytes": 2 * 1024 * 1024 * 1024})
        pid = s.proc.pid
        line = b"Text line for the S3 streaming upload, repeated to one MiB.\n"
        block = (line * (1024 * 1024 // len(line) + 1))[:1024 * 1024]
        assert upload_raw(s, "warm.txt", block).status == 201     # warm the path up
        time.sleep(0.2)
        idle = max(_vmrss_kib(pid) for _ in range(3))
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
        h = hashlib.sha256()
        t0 = time.monotonic()
        try:
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=scaled(120))
            try:
                sock.sendall((f"POST /api/v1/uploads?filename=big.txt HTTP/1.1\r\n"
                              f"Host: 127.0.0.1\r\nAuthorization: Bearer {s.token}\r\n"
                              f"Content-Type: application/octet-stream\r\n"
                              f"Content-Length: {total}\r\nConnection: close\r\n\r\n")
                             .encode())
                for _ in range(total // len(block)):
                    sock.sendall(block)
                    h.update(block)
                resp = http.client.HTTPResponse(sock, method="POST")
                resp.begin()
                raw = resp.read()
                status = resp.status
            finally:
                sock.close()
        finally:
            stop.set()
            th.join(5)
        dt = time.monotonic() - t0
        peak = max(samples + [_vmrss_kib(pid)])
        print(f"  S3 upload 256 MiB in {dt:.1f}s: idle VmRSS {idle / 1024:.1f} MiB, peak "
              f"{peak / 1024:.1f} MiB (+{(peak - idle) / 1024:.1f} MiB)")
        assert status == 201, f"{status} {raw[:300]!r}"
        body = json.loads(raw)
        assert body["size"] == total and body["sha256"] == h.hexdigest(), body
        assert peak - idle < 16 * 1024, \
            f"peak RSS {peak} KiB is {(peak - idle) / 1024:.1f} MiB above idle {idle} KiB"
        keys = [k for k, size in s3.keys("uploads/").items() if size == total]
        assert len(keys) == 1, s3.keys("uploads/")
        st, n, digest = s3.sha256_of(keys[0])
        assert (st, n, digest) == (200, total, h.hexdigest()), (st, n, digest)
        s.stop()


def test_s3_v4_signs_the_configured_region():
    """A server in eu-central-1: batchbox configured for it signs every request for that
    region (verified by the server); configured for us-east-1 it is refused, and the error
    names storage.s3.region."""
    with S3rver(region="eu-central-1") as s3:
        s = s3_server(s3.endpoint, region="eu-central-1")
        r = upload_raw(s, "notes.md", NOTES)
        assert_in_bucket(s3, next(iter(s3.keys("uploads/"))), NOTES)
        rr = s.req("GET", f"/api/v1/files/{r.body['fileId']}", raw=True)
        assert rr.status == 200 and rr.body == NOTES, rr.describe()
        assert_all_v4(s3, "eu-central-1")
        s.stop()

        before = len(s3.libs3_requests())
        s = s3_server(s3.endpoint, region="us-east-1")
        r = upload_raw(s, "notes.md", NOTES, expect=None)
        msg = r.body.get("message", "") if isinstance(r.body, dict) else ""
        assert 400 <= r.status < 600 and "storage.s3.region" in msg, r.describe()
        wrong = s3.libs3_requests()[before:]
        assert wrong and all(e["region"] == "us-east-1" and e["verified"] is False and
                             e["error"] == "AuthorizationHeaderMalformed" for e in wrong), wrong
        assert user_files(s)["items"] == []
        s.stop()


def make_test_pki(d):
    """A CA, a server certificate it signs for localhost and 127.0.0.1, and a second CA
    that signed nothing, made with the openssl CLI in d; returns (key, cert, ca, other_ca)
    paths. batchbox is pointed at "localhost" (which /etc/hosts maps to 127.0.0.1): the
    release binary's mbedTLS 2.28 matches DNS names only (docs/release.md)."""
    if shutil.which("openssl") is None:
        raise AssertionError("the openssl CLI is needed for the HTTPS S3 tests "
                             "(apt-get install openssl)")
    j = lambda n: os.path.join(d, n)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*argv):
        p = subprocess.run(["openssl", *argv], capture_output=True, timeout=60)
        assert p.returncode == 0, f"openssl {argv[0]}: {p.stderr.decode()[-500:]}"

    for name in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-keyout", j(name + ".key"), "-out", j(name + ".pem"),
            "-days", "2", "-subj", f"/CN=batchbox test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", j("server.key"), "-out", j("server.csr"),
        "-subj", "/CN=localhost")
    with open(j("ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", j("server.csr"), "-CA", j("ca.pem"), "-CAkey", j("ca.key"),
        "-CAcreateserial", "-out", j("server.pem"), "-days", "2", "-extfile", j("ext.cnf"))
    return j("server.key"), j("server.pem"), j("ca.pem"), j("other-ca.pem")


def test_s3_https_verifies_the_server_certificate():
    """S3 over HTTPS with a test CA: trusted through storage.s3.caBundle it works (V4
    signed); an untrusted certificate (another CA in BATCHBOX_S3_CA_BUNDLE, or the system's
    bundle) fails at once with an error saying the certificate was not verified and naming
    storage.s3.caBundle; storage.s3.insecureSkipVerify works and warns at start-up."""
    pki = tempfile.mkdtemp(prefix="bbpki-")
    try:
        key, cert, ca, other_ca = make_test_pki(pki)
        with S3rver(tls=(key, cert, ca)) as s3:
            endpoint = f"localhost:{s3.port}"
            # trusted
            s = s3_server(endpoint, https=True, caBundle=ca)
            r = upload_raw(s, "notes.md", NOTES)
            assert_in_bucket(s3, next(iter(s3.keys("uploads/"))), NOTES)
            rr = s.req("GET", f"/api/v1/files/{r.body['fileId']}", raw=True)
            assert rr.status == 200 and rr.body == NOTES, rr.describe()
            jid = s.submit(md=r.body["fileId"], preset="copymd", upload="s3")
            dto = s.wait_terminal(jid, timeout=30)
            assert dto["state"] == "succeeded", f"{dto}\nlogs:\n{s.logs(jid)}"
            assert "INSECURE" not in s.stderr_text()
            s.stop()
            assert_all_v4(s3)

            # untrusted: another CA (the environment variable), then the system's bundle
            for env in ({"BATCHBOX_S3_CA_BUNDLE": other_ca}, {}):
                before = len(s3.libs3_requests())
                s = s3_server(endpoint, env=env, https=True)
                r = upload_raw(s, "notes.md", NOTES, expect=None)
                msg = r.body.get("message", "") if isinstance(r.body, dict) else ""
                assert 500 <= r.status < 600 and "TLS certificate verification failed" in msg \
                    and "storage.s3.caBundle" in msg, f"{env}: {r.describe()}"
                assert user_files(s)["items"] == []
                jid = s.submit(md="a.md", preset="s3copy", upload="s3")
                dto = s.wait_terminal(jid, timeout=30)
                assert dto["state"] == "failed" and dto["attempts"] == 1, \
                    f"a certificate error is not retried: {dto}"
                assert "TLS certificate verification failed" in (dto["error"] or ""), dto
                s.stop()
                assert len(s3.libs3_requests()) == before, \
                    "a request reached the server over an unverified connection"

            # the explicit opt-out
            s = s3_server(endpoint, https=True, insecureSkipVerify=True)
            r = upload_raw(s, "other.md", NOTES)
            assert r.status == 201
            err = s.stderr_text()
            assert "INSECURE" in err and "insecureSkipVerify" in err, err[-2000:]
            s.stop()
    finally:
        shutil.rmtree(pki, ignore_errors=True)

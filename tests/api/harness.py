"""Test harness for the batchbox black-box API tests.

Starts the real binary on a temporary data directory and a free 127.0.0.1 port, gives
tests small HTTP and SSE clients, and lets the runner (run.py) check after every test
that each server is still healthy, stops with exit code 0 and printed no sanitizer report.
Standard library only; every wait here is bounded.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

# Set by run.py: path of the binary under test.
BIN = None
# Multiplier for timeouts (the ASan build is slower); set by run.py from BB_SLOW.
SLOW = 1.0

ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

DTO_KEYS = ["jobId", "state", "md", "preset", "withTts", "upload", "voiceAccent", "voiceId",
            "forceTts",
            "notionDatabase", "mode", "priority", "params", "progress", "attempts",
            "maxAttempts", "parentJobId", "kind", "batchId", "batch", "sweep", "manifestPath", "notionUrl", "pageUrl", "error", "waitingFor",
            "runAt", "scheduleId", "dependsOn", "runWhen", "needs", "resources",
            "ownerId", "createdAt", "updatedAt", "startedAt", "finishedAt"]
TERMINAL = ("succeeded", "failed", "canceled")
# The first admin every test server creates from the environment (issue 3 brought sign-in);
# requests carry its Bearer token unless a test asks for an anonymous request.
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                     "runtime error:", "UndefinedBehaviorSanitizer")

# Servers started by the test that is currently running; the runner inspects and clears it.
_registry_lock = threading.Lock()
_registry = []


def registered_servers():
    """Servers started during the current test (a copy)."""
    with _registry_lock:
        return list(_registry)


def clear_registry():
    with _registry_lock:
        _registry.clear()


def scaled(seconds):
    """A timeout scaled for slow (sanitizer) builds."""
    return seconds * SLOW


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it returns a truthy value; return it. AssertionError on timeout."""
    deadline = time.monotonic() + scaled(timeout)
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, http.client.HTTPException) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {scaled(timeout):.1f}s waiting for {what}{extra}")
        time.sleep(interval)


def read_text(path, offset=0):
    """The text of a (log) file from byte offset on, undecodable bytes replaced; "" when it
    cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


_PORT_LOCK = threading.Lock()
_PORT_NEXT = [None]


def free_port():
    """A free loopback port.  When run.py runs test files in parallel it gives each runner
    its own slice of ports below the kernel's ephemeral range (BB_PORT_RANGE="LO-HI"), so
    two runners never pick the same port between the probe and the server's bind."""
    rng = os.environ.get("BB_PORT_RANGE")
    if rng:
        lo, hi = (int(x) for x in rng.split("-"))
        with _PORT_LOCK:
            for _ in range(hi - lo + 1):
                # each runner process starts at its own place in the slice, so the next
                # file's runner does not reuse the ports the last one just closed
                p = _PORT_NEXT[0] if _PORT_NEXT[0] is not None else lo + os.getpid() % (hi - lo)
                _PORT_NEXT[0] = lo if p >= hi else p + 1
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind(("127.0.0.1", p))
                    return p
                except OSError:
                    continue
                finally:
                    s.close()
        raise AssertionError(f"no free port in BB_PORT_RANGE {rng}")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def default_presets():
    """The preset list of the contract's test configuration."""
    return [
        {"id": "noop", "workflow": "noop", "maxAttempts": 1},
        {"id": "echo", "workflow": "command",
         "argv": ["sh", "-c", "echo hello; echo $0 >&2", "{jobId}"], "timeoutSec": 30,
         "maxAttempts": 1},
        {"id": "cat", "workflow": "command", "argv": ["cp", "{input}", "{outdir}/copy.txt"],
         "maxAttempts": 1},
        {"id": "sleep", "workflow": "command", "argv": ["sh", "-c", "echo pid=$$; exec sleep 30"],
         "maxAttempts": 1},
        {"id": "fail", "workflow": "command", "argv": ["sh", "-c", "echo boom >&2; exit 3"],
         "maxAttempts": 3, "retryDelayMs": 200},
        {"id": "param", "workflow": "command", "argv": ["echo", "{param.name}"],
         "maxAttempts": 1},
        {"id": "limited", "workflow": "command", "argv": ["sleep", "0.3"], "concurrency": 1},
    ]


class HttpResult:
    """One HTTP response: status, headers (case-insensitive), body (parsed JSON, text or bytes)."""

    def __init__(self, method, path, status, headers, raw, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.raw = raw
        self.body = body

    def __iter__(self):  # allows: status, headers, body = s.req(...)
        return iter((self.status, self.headers, self.body))

    def describe(self):
        text = self.raw[:600].decode("utf-8", "replace")
        return f"{self.method} {self.path} -> {self.status} {text!r}"


def _encode_body(body, headers):
    if body is None:
        return None
    if isinstance(body, (dict, list)) or body is True or body is False:
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(body).encode()
    if isinstance(body, str):
        headers.setdefault("Content-Type", "application/json")
        return body.encode()
    if isinstance(body, (bytes, bytearray)):
        headers.setdefault("Content-Type", "application/json")
        return bytes(body)
    raise TypeError(f"cannot send body of type {type(body)}")


def _decode(method, path, resp, raw, want_raw):
    ctype = resp.getheader("Content-Type", "") or ""
    if want_raw:
        return raw
    if "json" in ctype.lower():
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError(f"{method} {path}: Content-Type {ctype!r} but body is not JSON "
                                 f"({e}): {raw[:300]!r}")
    return raw.decode("utf-8", "replace")


class Client:
    """A keep-alive HTTP client bound to one server; reconnects when the connection drops."""

    def __init__(self, port, timeout=10.0, token=None):
        self.port = port
        self.timeout = scaled(timeout)
        self.token = token
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def req(self, method, path, body=None, headers=None, raw=False, timeout=None):
        hdrs = dict(headers or {})
        if self.token and "Authorization" not in hdrs:
            hdrs["Authorization"] = f"Bearer {self.token}"
        data = _encode_body(body, hdrs)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=timeout or self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A server may close an idle keep-alive connection: retry once on a fresh one,
                # but only idempotent requests (a POST might have been processed).
                self.close()
                if attempt == 2 or method not in ("GET", "HEAD"):
                    raise
                continue
            if resp.will_close:
                self.close()
            return HttpResult(method, path, resp.status, resp.headers, payload,
                              _decode(method, path, resp, payload, raw))
        raise AssertionError("unreachable")


class Server:
    """One batchbox server process on a temporary data directory."""

    def __init__(self, config="default", env=None, workers=None, extra_args=None,
                 start=True, inputs=None, config_via_flag=False, presets_extra=(), grace=5,
                 auth=True):
        """config: dict written as DATA/batchbox.json, "default" for the contract's test
        configuration, or None for no config file. env: extra environment variables.
        inputs: dict relpath -> bytes for the input root (defaults to a few small files).
        presets_extra: presets appended to the default configuration; the token RUNS in
        them is replaced by self.runs, a scratch directory commands may write markers to.
        grace: --grace SEC for shutdown (None: the server's default).
        auth: create the first admin from the environment and sign in after every start, so
        req()/call()/client()/sse() send its Bearer token (self.token)."""
        self.base = tempfile.mkdtemp(prefix="bbtest-")
        self.data = os.path.join(self.base, "data")
        self.inputs = os.path.join(self.base, "inputs")
        self.runs = os.path.join(self.base, "runs")
        os.makedirs(self.data)
        os.makedirs(self.inputs)
        os.makedirs(self.runs)
        self._write_inputs(inputs)
        if config == "default":
            config = self.default_config()
            for p in presets_extra:
                config["presets"].append(json.loads(json.dumps(p).replace("RUNS", self.runs)))
        self.config_via_flag = config_via_flag
        self.config = None
        self.config_path = None
        if config is not None:
            self.write_config(config)
        self.env = {}
        self.auth = auth
        if auth:
            self.env.update(BATCHBOX_ADMIN_EMAIL=ADMIN_EMAIL, BATCHBOX_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.env.update(env or {})
        self.token = None
        self.login_result = None
        self.workers = workers
        self.extra_args = list(extra_args or [])
        if grace is not None and "--grace" not in self.extra_args:
            self.extra_args += ["--grace", str(grace)]
        self.port = None
        self.proc = None
        self.generation = 0
        self.exit_codes = []
        self.killed = False
        self.stopped = True
        self._client = None
        self.stdout_path = os.path.join(self.base, "stdout.log")
        self.stderr_path = os.path.join(self.base, "stderr.log")
        with _registry_lock:
            _registry.append(self)
        if start:
            self.start()

    # ---- set-up -------------------------------------------------------------------------

    def _write_inputs(self, inputs):
        if inputs is None:
            inputs = {
                "a.md": b"# Lesson A\n\nHello world.\n",
                "b.md": b"# Lesson B\n\nSecond file with a longer body.\n" * 3,
                "sub/c.md": b"# Nested C\n",
                "bin.dat": bytes(range(256)) * 8,
            }
        for rel, content in inputs.items():
            p = os.path.join(self.inputs, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(content)
        # A file outside the input root and a symlink inside it pointing there.
        self.outside = os.path.join(self.base, "outside.md")
        with open(self.outside, "wb") as f:
            f.write(b"# secret outside the input root\n")
        os.symlink(self.outside, os.path.join(self.inputs, "link.md"))

    def write_config(self, config):
        """Keep config (a dict) as self.config and write it to self.config_path, where the
        server reads it at its next start: DATA/batchbox.json, or BASE/config.json passed
        with --config when config_via_flag."""
        self.config = config
        if self.config_via_flag:
            self.config_path = os.path.join(self.base, "config.json")
        else:
            self.config_path = os.path.join(self.data, "batchbox.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=1)

    def default_config(self, **overrides):
        cfg = {"inputRoot": self.inputs,
               "limits": {"maxBodyBytes": 65536},
               "events": {"heartbeatSec": 1},
               "presets": default_presets()}
        cfg.update(overrides)
        return cfg

    def args(self):
        a = [BIN, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}"]
        if self.workers is not None:
            a += ["--workers", str(self.workers)]
        if self.config_via_flag and self.config_path:
            a += ["--config", self.config_path]
        return a + self.extra_args

    def start(self, timeout=10.0, expect_fail=False):
        """Start the process and wait until it prints its listening line and /health answers.
        With expect_fail, wait for it to exit instead and return its exit code.  A port that
        another process took between the probe and the server's bind is not the server's
        fault: that start is tried again on another port (at most twice)."""
        for _ in range(2):
            try:
                return self._start_once(timeout, expect_fail)
            except AssertionError as e:
                if "Address already in use" not in str(e):
                    raise
        return self._start_once(timeout, expect_fail)

    def _start_once(self, timeout, expect_fail):
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.port = free_port()
        self.generation += 1
        env = dict(os.environ)
        env.update(self.env)
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        marker = f"--- start #{self.generation} port {self.port} ---\n".encode()
        out.write(marker)
        err.write(marker)
        out.flush()
        err.flush()
        self._stdout_offset = out.tell()
        self.proc = subprocess.Popen(self.args(), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        out.close()
        err.close()
        self.killed = False
        self.stopped = False
        self.token = None
        if self._client:
            self._client.close()
        self._client = Client(self.port)
        if expect_fail:
            self.expected_exit = True
            try:
                rc = self.proc.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError("server was expected to refuse to start but kept running")
            self.stopped = True
            self.exit_codes.append(rc)
            return rc
        deadline = time.monotonic() + scaled(timeout)
        want = f"batchbox listening on http://127.0.0.1:{self.port}"
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.stopped = True
                self.exit_codes.append(rc)
                raise AssertionError(f"server exited with code {rc} during start-up\n"
                                     + self.stderr_tail())
            if want in self.stdout_since_start():
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not print {want!r} within {scaled(timeout):.0f}s;"
                                     f" stdout={self.stdout_since_start()[-300:]!r}\n"
                                     + self.stderr_tail())
            time.sleep(0.01)
        # The line promises the server is ready: /health must answer right away.
        r = self.req("GET", "/api/v1/health", timeout=5, auth=False)
        assert r.status == 200, f"/health right after the listening line: {r.describe()}"
        if self.auth:
            self.login()
        return 0

    def login(self):
        """Sign in as the environment's admin; keeps the access token in self.token. When that
        fails (a server without accounts, or a test that created other users before the first
        start so no admin came from the environment) self.token stays None and
        self.login_result says why; requests then go out anonymous."""
        email = self.env.get("BATCHBOX_ADMIN_EMAIL", ADMIN_EMAIL)
        password = self.env.get("BATCHBOX_ADMIN_PASSWORD", ADMIN_PASSWORD)
        r = self.req("POST", "/api/v1/auth/login", {"email": email, "password": password},
                     auth=False)
        self.login_result = r.describe()
        if not (r.status == 200 and isinstance(r.body, dict) and r.body.get("accessToken")):
            self.token = None
            return None
        self.token = r.body["accessToken"]
        self._client = Client(self.port, token=self.token)
        return self.token

    def auth_headers(self):
        """{"Authorization": "Bearer ..."} when signed in, else {}."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def auth_line(self):
        """The Authorization header line (bytes, with CRLF) for raw requests, or b""."""
        return f"Authorization: Bearer {self.token}\r\n".encode() if self.token else b""

    def stdout_since_start(self):
        return read_text(self.stdout_path, self._stdout_offset)

    # ---- process control ----------------------------------------------------------------

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig, timeout=20.0):
        """Send sig and wait (bounded) for exit; return the exit code."""
        assert self.alive(), "signal(): server is not running"
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"server did not exit within {scaled(timeout):.0f}s of "
                                 f"signal {sig}")
        self.stopped = True
        self.exit_codes.append(rc)
        if self._client:
            self._client.close()
        return rc

    def stop(self, timeout=20.0, check=True):
        """SIGTERM, bounded wait, exit code 0 required when check."""
        rc = self.signal(signal.SIGTERM, timeout)
        if check:
            assert rc == 0, f"server exited with code {rc} after SIGTERM (expected 0)\n" \
                            + self.stderr_tail()
        return rc

    def kill9(self):
        if self.alive():
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.killed = True
        self.stopped = True
        if self._client:
            self._client.close()

    def restart(self, timeout=10.0):
        """Start again on the same data directory (new port). The old process must be gone."""
        assert not self.alive(), "restart(): stop or kill the server first"
        return self.start(timeout=timeout)

    def cleanup(self, keep=False):
        if self.alive():
            self.kill9()
        if self._client:
            self._client.close()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)

    # ---- diagnostics --------------------------------------------------------------------

    def stderr_text(self):
        return read_text(self.stderr_path)

    def stderr_tail(self, n=40):
        lines = self.stderr_text().splitlines()[-n:]
        return f"--- server stderr tail ({self.stderr_path}) ---\n" + "\n".join(lines)

    def sanitizer_lines(self):
        return [l for l in self.stderr_text().splitlines()
                if any(m in l for m in SANITIZER_MARKERS)]

    # ---- HTTP -----------------------------------------------------------------------------

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def req(self, method, path, body=None, headers=None, raw=False, timeout=10.0, auth=True,
            token=None, cookies=None, source_address=None):
        """One request on a fresh connection. Returns HttpResult (unpacks to status, headers,
        body). body: dict/list → JSON; str/bytes sent as is (Content-Type application/json
        unless headers say otherwise). auth=False: no Authorization header.
        token: send this Bearer token instead of self.token. cookies: a dict name -> value
        sent as the Cookie header (pass auth=False for a cookie-only request).
        source_address: the client's local IP (e.g. "127.0.0.2": another loopback address,
        so the server sees another client address)."""
        hdrs = dict(headers or {})
        if "Authorization" not in hdrs:
            if token:
                hdrs["Authorization"] = f"Bearer {token}"
            elif auth and self.token:
                hdrs["Authorization"] = f"Bearer {self.token}"
        if cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        data = _encode_body(body, hdrs)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=scaled(timeout),
                                          source_address=(source_address, 0)
                                          if source_address else None)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        return HttpResult(method, path, resp.status, resp.headers, payload,
                          _decode(method, path, resp, payload, raw))

    def call(self, method, path, body=None, headers=None, expect=200, raw=False, timeout=10.0,
             auth=True, **kw):
        """req() that asserts the status; returns the body. kw: token, cookies,
        source_address as for req()."""
        r = self.req(method, path, body, headers, raw=raw, timeout=timeout, auth=auth, **kw)
        exp = expect if isinstance(expect, (tuple, list, set)) else (expect,)
        assert r.status in exp, f"expected {expect}: {r.describe()}"
        return r.body

    def client(self, timeout=10.0):
        return Client(self.port, timeout=timeout, token=self.token)

    # ---- account helpers ------------------------------------------------------------------

    def login_as(self, email, password, source_address=None):
        """POST /auth/login anonymously; returns the HttpResult (any status)."""
        return self.req("POST", "/api/v1/auth/login", {"email": email, "password": password},
                        auth=False, source_address=source_address)

    def session(self, email, password):
        """Sign in (asserting 200); returns the body {user, accessToken, refreshToken, ...}."""
        r = self.login_as(email, password)
        assert r.status == 200 and isinstance(r.body, dict) and r.body.get("accessToken"), \
            f"sign-in as {email}: {r.describe()}"
        return r.body

    def register(self, email, password, name=None, expect=201, **extra):
        """POST /auth/register anonymously (the server must allow it: the setup token, or
        BATCHBOX_AUTH_REGISTRATION=open); asserts expect; returns the HttpResult."""
        body = {"email": email, "password": password}
        if name is not None:
            body["name"] = name
        body.update(extra)
        r = self.req("POST", "/api/v1/auth/register", body, auth=False)
        exp = expect if isinstance(expect, (tuple, list, set)) else (expect,)
        assert r.status in exp, f"register {email}: expected {expect}: {r.describe()}"
        return r

    # ---- job helpers ----------------------------------------------------------------------

    def submit(self, body=None, headers=None, **fields):
        """POST /api/v1/jobs, assert 202 with a decimal jobId; return the jobId."""
        b = dict(body or {})
        b.update(fields)
        r = self.req("POST", "/api/v1/jobs", b, headers)
        assert r.status == 202, f"submit {b}: {r.describe()}"
        assert isinstance(r.body, dict) and isinstance(r.body.get("jobId"), str) \
            and r.body["jobId"].isdigit(), f"submit: bad jobId in {r.body!r}"
        return r.body["jobId"]

    def job(self, job_id):
        return self.call("GET", f"/api/v1/jobs/{job_id}")

    def wait_state(self, job_id, states, timeout=15.0):
        """Poll GET /jobs/:id until state is in states; return the DTO."""
        if isinstance(states, str):
            states = (states,)
        seen = {}

        def check():
            dto = self.job(job_id)
            seen["last"] = dto
            return dto if dto["state"] in states else None
        try:
            return wait_until(check, timeout, what=f"job {job_id} to reach {states}")
        except AssertionError as e:
            raise AssertionError(f"{e}; last DTO: {seen.get('last')!r}")

    def wait_terminal(self, job_id, timeout=15.0):
        return self.wait_state(job_id, TERMINAL, timeout)

    def pid_file(self, name, timeout=10.0):
        """Wait for RUNS/<name> to hold a pid written by a job's command; return it."""
        path = os.path.join(self.runs, name)

        def read():
            try:
                with open(path) as f:
                    t = f.read()
            except FileNotFoundError:
                return None
            return int(t) if t.endswith("\n") and t.strip().isdigit() else None
        return wait_until(read, timeout, what=f"pid file {path}")

    def logs(self, job_id):
        r = self.req("GET", f"/api/v1/jobs/{job_id}/logs")
        assert r.status == 200, r.describe()
        return r.body if isinstance(r.body, str) else r.raw.decode("utf-8", "replace")

    def action(self, job_id, type_, payload=None, expect=200):
        body = {"type": type_}
        if payload is not None:
            body["payload"] = payload
        return self.call("POST", f"/api/v1/jobs/{job_id}/actions", body, expect=expect)

    def list_all(self, query="", limit=50, max_pages=200):
        """Walk GET /jobs pages; returns (items, pages). Asserts nextCursor shape."""
        items = []
        pages = 0
        cursor = None
        while True:
            q = f"limit={limit}"
            if query:
                q += "&" + query
            if cursor is not None:
                q += "&cursor=" + urlquote(cursor)
            body = self.call("GET", f"/api/v1/jobs?{q}")
            assert set(body.keys()) >= {"items", "nextCursor"}, f"list body keys: {list(body)}"
            assert isinstance(body["items"], list)
            assert len(body["items"]) <= limit, f"page has {len(body['items'])} > limit {limit}"
            items.extend(body["items"])
            pages += 1
            cursor = body["nextCursor"]
            if cursor is None:
                break
            assert isinstance(cursor, str) and cursor, f"nextCursor must be null or a " \
                                                       f"non-empty string: {cursor!r}"
            assert pages < max_pages, "too many pages"
        return items, pages

    def sse(self, path="/api/v1/jobs/events", headers=None, **kw):
        hdrs = dict(self.auth_headers())
        hdrs.update(headers or {})
        c = SSEClient(self.port, path, hdrs, **kw)
        c.start()
        # The server subscribes to the bus before it sends the response
        # headers: once they are here, every event published from now on
        # reaches this stream.  Without this wait a submit right after sse()
        # could publish job_created before the subscription exists (a
        # flaky "first event missing" under load).  A stalled (paused)
        # client reads nothing, so it cannot wait.
        if not kw.get("paused"):
            c._headers_ready.wait(scaled(10.0))
        return c


def set_cookies(result):
    """The Set-Cookie headers of an HttpResult as {name: (value, {attr_lower: value_or_True})}."""
    out = {}
    for line in result.headers.get_all("Set-Cookie") or []:
        parts = [p.strip() for p in line.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            if not p:
                continue
            k, eq, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip() if eq else True
        out[name.strip()] = (value.strip(), attrs)
    return out


def urlquote(s):
    from urllib.parse import quote
    return quote(s, safe="")


# ---- assertions ---------------------------------------------------------------------------

def assert_error(r, status, code=None, field=None):
    """r: HttpResult. Checks status, the JSON error shape, the code and details.fields[field]
    (field may name a prefix, e.g. "params" matches "params.a")."""
    assert r.status == status, f"expected {status}: {r.describe()}"
    b = r.body
    assert isinstance(b, dict), f"error body is not a JSON object: {r.describe()}"
    assert isinstance(b.get("error"), str) and b["error"], f"no error code: {r.describe()}"
    assert isinstance(b.get("message"), str) and b["message"], f"no message: {r.describe()}"
    if "details" in b:
        assert b["details"] is None or isinstance(b["details"], dict), \
            f"details must be an object: {r.describe()}"
    if code is not None:
        assert b["error"] == code, f"expected error code {code!r}: {r.describe()}"
    if field is not None:
        fields = ((b.get("details") or {}).get("fields")) or {}
        assert isinstance(fields, dict), f"details.fields must be an object: {r.describe()}"
        hit = [k for k in fields if k == field or k.startswith(field + ".")
               or k.startswith(field + "[") or k.endswith("." + field)]
        assert hit, f"details.fields should name {field!r}: {r.describe()}"
        assert all(isinstance(fields[k], str) and fields[k] for k in hit), \
            f"details.fields[{field!r}] must be a message: {r.describe()}"
    assert r.headers.get("X-Request-Id"), f"no X-Request-Id on {r.describe()}"


def assert_dto(dto, job_id=None):
    assert isinstance(dto, dict), f"DTO is not an object: {dto!r}"
    missing = [k for k in DTO_KEYS if k not in dto]
    assert not missing, f"DTO misses keys {missing}: {dto!r}"
    if job_id is not None:
        assert dto["jobId"] == str(job_id), f"jobId {dto['jobId']!r} != {job_id!r}"
    assert isinstance(dto["jobId"], str) and dto["jobId"].isdigit(), f"jobId: {dto['jobId']!r}"
    assert dto["state"] in ("queued", "running", "scheduled", "waiting") + TERMINAL, \
        f"state: {dto['state']!r}"
    for k in ("createdAt", "updatedAt", "startedAt", "finishedAt"):
        v = dto[k]
        assert v is None or (isinstance(v, str) and ISO_RE.match(v)), \
            f"{k} must be null or ISO-8601 UTC with ms: {v!r}"
    assert dto["createdAt"] is not None and dto["updatedAt"] is not None, \
        f"createdAt/updatedAt must be set: {dto!r}"
    for k in ("withTts", "forceTts"):
        assert isinstance(dto[k], bool), f"{k} must be a boolean: {dto[k]!r}"
    for k in ("attempts", "maxAttempts", "priority"):
        assert isinstance(dto[k], int) and not isinstance(dto[k], bool), \
            f"{k} must be an integer: {dto[k]!r}"
    assert dto["progress"] is None or (isinstance(dto["progress"], (int, float))
                                       and 0 <= dto["progress"] <= 1), \
        f"progress must be null or 0..1: {dto['progress']!r}"
    assert dto["params"] is None or isinstance(dto["params"], dict), \
        f"params must be null or an object: {dto['params']!r}"
    for k in ("md", "upload", "voiceAccent", "notionDatabase", "mode", "manifestPath",
              "notionUrl", "pageUrl", "error", "parentJobId"):
        assert dto[k] is None or isinstance(dto[k], str), f"{k} must be null or a string: " \
                                                          f"{dto[k]!r}"
    if dto["state"] in TERMINAL:
        assert dto["finishedAt"] is not None, f"terminal job without finishedAt: {dto!r}"
    if dto["state"] == "queued":
        assert dto["finishedAt"] is None, f"queued job with finishedAt: {dto!r}"


# ---- SSE ------------------------------------------------------------------------------------

class SSEEvent:
    def __init__(self, id_, event, data, last_id):
        self.id = id_            # the id: field of this event block (None if absent)
        self.event = event       # event type ("message" when absent)
        self.data = data         # the data buffer (str)
        self.last_id = last_id   # the stream's last event id after this event
        try:
            self.json = json.loads(data)
        except ValueError:
            self.json = None

    @property
    def job_id(self):
        return self.json.get("jobId") if isinstance(self.json, dict) else None

    @property
    def state(self):
        return self.json.get("state") if isinstance(self.json, dict) else None

    def key(self):
        """What two clients must agree on for the same event."""
        j = self.json if isinstance(self.json, dict) else {}
        return (self.id, self.event, j.get("jobId"), j.get("state"), j.get("attempts"),
                j.get("line"))

    def __repr__(self):
        return f"<{self.id} {self.event} {self.data[:120]}>"


class SSEClient:
    """Reads an event stream on a raw socket in a thread and parses WHATWG SSE framing.

    Handles both chunked and close-delimited bodies. Collects events in self.events,
    comments in self.comments and retry values in self.retries; self.items keeps the
    order of everything ("event", "comment", "retry")."""

    def __init__(self, port, path="/api/v1/jobs/events", headers=None, rcvbuf=None,
                 connect_timeout=10.0, paused=False):
        """rcvbuf: SO_RCVBUF set before connecting. paused: send the request but do not read
        anything until resume() (a stalled client)."""
        self.port = port
        self.path = path
        self.headers = dict(headers or {})
        self.rcvbuf = rcvbuf
        self.connect_timeout = connect_timeout
        self.status = None
        self.resp_headers = {}
        self.body_if_error = b""
        self.events = []
        self.comments = []
        self.retries = []
        self.items = []
        self.closed = False          # the server ended the stream
        self.error = None
        self.cond = threading.Condition()
        self.sock = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._headers_ready = threading.Event()
        self._go = threading.Event()
        if not paused:
            self._go.set()
        self.last_event_id = ""
        # parser state
        self._data = []
        self._etype = ""
        self._block_id = None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.sock.settimeout(scaled(self.connect_timeout))
        self.sock.connect(("127.0.0.1", self.port))
        lines = [f"GET {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                 "Accept: text/event-stream"]
        for k, v in self.headers.items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.sock.settimeout(0.5)
        self._thread.start()
        return self

    def resume(self):
        self._go.set()

    def wait_headers(self, timeout=10.0):
        if not self._headers_ready.wait(scaled(timeout)):
            raise AssertionError(f"SSE {self.path}: no response headers within {timeout}s")
        return self.status

    def close(self):
        self._stop = True
        self._go.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self._thread.join(timeout=5)

    # -- reading

    def _recv(self):
        while not self._stop:
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                if not self._stop:
                    self.error = e
                return b""
            return b
        return b""

    def _run(self):
        buf = b""
        while not self._go.wait(0.2):
            if self._stop:
                return
        try:
            while b"\r\n\r\n" not in buf:
                b = self._recv()
                if not b:
                    self._finish()
                    self._headers_ready.set()
                    return
                buf += b
                if len(buf) > 1 << 20:
                    raise AssertionError("SSE response headers too large")
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            self.status = int(parts[1])
            for l in lines[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    self.resp_headers[k.strip().lower()] = v.strip()
            self._headers_ready.set()
            chunked = "chunked" in self.resp_headers.get("transfer-encoding", "").lower()
            if self.status != 200:
                self.body_if_error = rest
                # Read a bounded error body.
                while len(self.body_if_error) < 65536:
                    b = self._recv()
                    if not b:
                        break
                    self.body_if_error += b
                    if "content-length" in self.resp_headers and \
                            len(self.body_if_error) >= int(self.resp_headers["content-length"]):
                        break
                self._finish()
                return
            if chunked:
                self._read_chunked(rest)
            else:
                pending = rest
                while True:
                    if pending:
                        self._feed(pending)
                    pending = self._recv()
                    if not pending:
                        break
        except Exception as e:  # recorded for the test to report
            self.error = e
        self._finish()

    def _read_chunked(self, buf):
        while True:
            while b"\r\n" not in buf:
                b = self._recv()
                if not b:
                    return
                buf += b
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            while len(buf) < size + 2:
                b = self._recv()
                if not b:
                    self._feed(buf[:size])
                    return
                buf += b
            self._feed(buf[:size])
            buf = buf[size + 2:]

    def _finish(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # -- WHATWG parsing

    _pending_text = ""

    def _feed(self, data):
        text = self._pending_text + data.decode("utf-8", "replace")
        pos = 0
        n = len(text)
        while pos < n:
            i_n = text.find("\n", pos)
            i_r = text.find("\r", pos)
            if i_n < 0 and i_r < 0:
                break
            if i_r >= 0 and (i_n < 0 or i_r < i_n):
                if i_r == n - 1:
                    break  # a CR at the end may be the first half of CRLF: wait for more
                line = text[pos:i_r]
                pos = i_r + 2 if text[i_r + 1] == "\n" else i_r + 1
            else:
                line = text[pos:i_n]
                pos = i_n + 1
            self._line(line)
        self._pending_text = text[pos:]
        if len(self._pending_text) > (4 << 20):
            raise AssertionError("SSE line longer than 4 MiB")

    def _line(self, line):
        if line == "":
            self._dispatch()
            return
        if line.startswith(":"):
            with self.cond:
                self.comments.append(line[1:].lstrip(" "))
                self.items.append(("comment", line[1:].lstrip(" ")))
                self.cond.notify_all()
            return
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._etype = value
        elif field == "id":
            if "\0" not in value:
                self.last_event_id = value
                self._block_id = value
        elif field == "retry":
            if value.isdigit():
                with self.cond:
                    self.retries.append(int(value))
                    self.items.append(("retry", int(value)))
                    self.cond.notify_all()

    def _dispatch(self):
        if not self._data:
            self._etype = ""
            self._block_id = None
            return
        ev = SSEEvent(self._block_id, self._etype or "message", "\n".join(self._data),
                      self.last_event_id)
        self._data = []
        self._etype = ""
        self._block_id = None
        with self.cond:
            self.events.append(ev)
            self.items.append(("event", ev))
            self.cond.notify_all()

    # -- waiting

    def snapshot(self):
        with self.cond:
            return list(self.events)

    def wait_for(self, pred, timeout=10.0, what="events"):
        """Wait until pred(list_of_events) is truthy; return its value."""
        deadline = time.monotonic() + scaled(timeout)
        with self.cond:
            while True:
                v = pred(list(self.events))
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or (self.closed and not v):
                    tail = self.events[-5:]
                    why = "stream closed" if self.closed else "timed out"
                    raise AssertionError(
                        f"SSE {self.path}: {why} waiting for {what} after "
                        f"{scaled(timeout):.1f}s; got {len(self.events)} events, last {tail}; "
                        f"status={self.status} error={self.error!r}")
                self.cond.wait(min(left, 0.2))

    def wait_job_state(self, job_id, state, timeout=10.0):
        """Wait for a job_state_changed/job_created event with this job and state."""
        return self.wait_for(
            lambda evs: [e for e in evs if e.job_id == str(job_id) and e.state == state
                         and e.event in ("job_created", "job_state_changed")],
            timeout, what=f"job {job_id} state {state}")

    def wait_closed(self, timeout=10.0):
        deadline = time.monotonic() + scaled(timeout)
        with self.cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))
        return True


def job_events(events, job_id):
    return [e for e in events if e.job_id == str(job_id)]


def state_trail(events, job_id):
    """The sequence of (event, state) of job lifecycle events for one job."""
    return [(e.event, e.state) for e in events
            if e.job_id == str(job_id) and e.event in ("job_created", "job_state_changed")]

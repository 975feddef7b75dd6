"""Test kit for the fake ComfyUI server (tests/api/fake_comfyui.py; docs/comfyui.md, "The fake").

FakeComfy starts the fake as its own process on a free 127.0.0.1 port (the harness's
BB_PORT_RANGE slice), waits (bounded) for its "READY <port>" line, and talks to its control
routes (/__fake/...) with the standard library only, so tests running under any python3 can
use it.  The fake itself needs aiohttp: python_for_fake() names an interpreter that has it.

    with FakeComfy(name="gpu1", models={"loras": ["a.safetensors"]}) as fc:
        fc.config(step_ms=0, steps=1)
        ... point batchbox at fc.url ...
        assert fc.prompts()[0]["prompt"]["3"]["inputs"]["seed"] == 7
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_comfyui.py")
_PY = [None]


def python_for_fake():
    """sys.executable when it can import aiohttp, else Debian's /usr/bin/python3."""
    if _PY[0] is None:
        ok = subprocess.run([sys.executable, "-c", "import aiohttp"], capture_output=True,
                            timeout=60).returncode == 0
        _PY[0] = sys.executable if ok else "/usr/bin/python3"
    return _PY[0]


class FakeComfy:
    """One fake ComfyUI process.  start() / stop() / kill() / restart(); the output, input and
    temp folders live in a temporary directory kept across restart() and removed by stop()."""

    def __init__(self, port=None, name="gpu1", models=None, version="0.3.40"):
        self.fixed_port = port
        self.port = port
        self.name = name
        self.models = models
        self.version = version
        self.proc = None
        self.base = tempfile.mkdtemp(prefix=f"fakecomfy-{name}-")
        self.log_path = os.path.join(self.base, "fake.log")
        self.out_path = os.path.join(self.base, "fake.out")

    # ---- life cycle -------------------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def root(self):
        """The fake's folder holding output/, input/ and temp/."""
        return os.path.join(self.base, "root")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=20.0):
        """Start the process and wait for READY.  A port taken between the probe and the
        bind is tried again on another one (only when no port was given)."""
        for attempt in range(3):
            if self.fixed_port is None and (self.port is None or attempt > 0):
                self.port = harness.free_port()
            if self._start_once(timeout, retry=self.fixed_port is None and attempt < 2):
                return self
        raise AssertionError("fake ComfyUI did not start")

    def _start_once(self, timeout, retry):
        """True once READY; False when the port was taken and retry allows another."""
        assert not self.alive(), "fake ComfyUI already running"
        os.makedirs(self.root, exist_ok=True)
        args = [python_for_fake(), FAKE, "--port", str(self.port), "--name", self.name,
                "--version", self.version, "--dir", self.root]
        if self.models is not None:
            args += ["--models", json.dumps(self.models)]
        with open(self.out_path, "wb") as out, open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        want = f"READY {self.port}"
        deadline = time.monotonic() + harness.scaled(timeout)
        while True:
            if want in self._stdout():
                return True
            rc = self.proc.poll()
            if rc is not None:
                tail = self.log_tail()
                if "address already in use" in tail.lower() and retry:
                    return False
                raise AssertionError(f"fake ComfyUI exited with {rc} during start-up\n{tail}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"fake ComfyUI printed no READY within {timeout}s\n"
                                     + self.log_tail())
            time.sleep(0.02)

    def _stdout(self):
        return harness.read_text(self.out_path)

    def log_tail(self, n=2000):
        return harness.read_text(self.log_path)[-n:]

    def _reap(self, sig, timeout):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self):
        """SIGKILL, like a crash; memory and queue are lost, files stay."""
        return self._reap(signal.SIGKILL, 10)

    def restart(self, timeout=20.0):
        """A fresh process on the same port with empty memory (queue, history, cache)."""
        self._reap(signal.SIGTERM, 10)
        keep = self.fixed_port
        self.fixed_port = self.port
        try:
            self.start(timeout)
        finally:
            self.fixed_port = keep
        return self

    def stop(self):
        """SIGTERM (SIGKILL after 10 s), reap, and remove the fake's folders."""
        rc = self._reap(signal.SIGTERM, 10)
        shutil.rmtree(self.base, ignore_errors=True)
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- HTTP -------------------------------------------------------------------------

    def request(self, method, path, body=None, timeout=10.0, headers=None):
        """(status, headers dict, raw bytes).  body: dict/list (sent as JSON) or bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=harness.scaled(timeout))
        try:
            hdrs = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, expect=200):
        status, _h, raw = self.request(method, path, body)
        assert status == expect, f"{method} {path}: {status} {raw[:300]!r}"
        return json.loads(raw) if raw else None

    def config(self, **switches):
        """Set switches (see fake_comfyui.DEFAULT_CONFIG); returns the whole configuration."""
        return self.json("POST", "/__fake/config", switches)

    def prompts(self):
        """What POST /prompt received: [{prompt_id, client_id, prompt, number, at, status}]."""
        return self.json("GET", "/__fake/prompts")

    def requests(self):
        """Every request but the control routes: [{method, path, query, content_type, at}]."""
        return self.json("GET", "/__fake/requests")

    def finished(self):
        """{prompt_id: ms epoch of its execution_success}."""
        return self.json("GET", "/__fake/finished")

    def release(self):
        """Held prompts run (hold is switched off)."""
        return self.json("POST", "/__fake/release", {})

    def history(self, prompt_id=None):
        return self.json("GET", "/history" + (f"/{prompt_id}" if prompt_id else ""))

    def queue(self):
        return self.json("GET", "/queue")

    def submit(self, graph, client_id=None, **extra):
        """POST /prompt directly (for tests of the fake itself): (status, body)."""
        body = dict(extra, prompt=graph)
        if client_id is not None:
            body["client_id"] = client_id
        status, _h, raw = self.request("POST", "/prompt", body)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

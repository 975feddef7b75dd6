"""Webhooks (docs/integrations.md, "Webhooks"): a preset's notify targets receive the job's
events as JSON with X-Batchbox-Signature = sha256=HMAC-SHA256(secret, body); a receiver
answering 500 sees the delivery again (backoff), and the job's delivery log
(GET /jobs/:id/deliveries) shows each try. Bad notify lists are configuration errors naming
the key. The receiver is a Python HTTP server on 127.0.0.1 inside the test.
"""

import hashlib
import hmac
import http.server
import json
import threading

import harness
from harness import Server, assert_error

SECRET = "a-secret-of-sixteen-bytes-or-more"


class Receiver:
    """Records every POST; answers the first `fail_first` with 500."""

    def __init__(self, fail_first=0):
        self.got = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.got.append((dict(self.headers), body))
                    fail = len(outer.got) <= outer.fail_first
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self):
        with self.lock:
            return len(self.got)


def signed_ok(headers, body, secret=SECRET):
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Batchbox-Signature", ""), want)


def test_signed_delivery_retried_after_500():
    rcv = Receiver(fail_first=1)
    try:
        preset = {"id": "hooked", "workflow": "noop", "maxAttempts": 1,
                  "notify": [{"url": rcv.url, "events": ["job.succeeded"], "secret": SECRET}]}
        s = Server(presets_extra=[preset], env={"BATCHBOX_WEBHOOKS_RETRY_BASE_MS": "100"})
        jid = s.submit(preset="hooked")
        s.wait_terminal(jid)
        harness.wait_until(lambda: rcv.count() >= 2, harness.scaled(15), what="two tries")
        for headers, body in rcv.got[:2]:
            assert signed_ok(headers, body), headers
            doc = json.loads(body)
            assert doc["event"] == "job.succeeded" and doc["job"]["jobId"] == jid, doc
            assert doc["job"]["state"] == "succeeded", doc
            assert headers.get("X-Batchbox-Event") == "job.succeeded", headers
        # the same delivery both times (the receiver can de-duplicate on it)
        ids = {json.loads(b)["deliveryId"] for _, b in rcv.got[:2]}
        assert len(ids) == 1, ids

        def delivered():
            items = s.call("GET", f"/api/v1/jobs/{jid}/deliveries")["items"]
            return items if items and items[0]["state"] == "delivered" else None
        items = harness.wait_until(delivered, harness.scaled(10), what="delivered")
        assert len(items) == 1, items
        d = items[0]
        assert d["attempts"] == 2 and d["lastStatus"] == 204 and d["event"] == "job.succeeded", d
        assert d["url"] == rcv.url and d["lastError"] is None, d
        # only the asked-for event: nothing for created/running
        assert rcv.count() == 2
        # the log is the owner's: another user gets 404
        s2 = s.register("eve@example.com", "password-of-eve", expect=(201, 403))
        if s2.status == 201:
            r = s.req("GET", f"/api/v1/jobs/{jid}/deliveries", token=s2.body["accessToken"])
            assert_error(r, 404, "not_found")
    finally:
        rcv.close()


def test_gives_up_after_max_attempts_without_blocking_workers():
    rcv = Receiver(fail_first=100)
    try:
        preset = {"id": "hooked", "workflow": "noop", "maxAttempts": 1,
                  "notify": [{"url": rcv.url, "events": ["job.finished"]}]}
        s = Server(presets_extra=[preset], env={"BATCHBOX_WEBHOOKS_RETRY_BASE_MS": "50",
                                                "BATCHBOX_WEBHOOKS_MAX_ATTEMPTS": "3"})
        jobs = [s.submit(preset="hooked") for _ in range(3)]
        for j in jobs:
            s.wait_terminal(j)

        def failed():
            st = [s.call("GET", f"/api/v1/jobs/{j}/deliveries")["items"] for j in jobs]
            return all(x and x[0]["state"] == "failed" for x in st) and st
        st = harness.wait_until(failed, harness.scaled(15), what="deliveries failed")
        for items in st:
            assert items[0]["attempts"] == 3 and items[0]["lastStatus"] == 500, items
            assert "500" in items[0]["lastError"], items
        # unsigned without a secret
        assert all("X-Batchbox-Signature" not in h for h, _ in rcv.got)
    finally:
        rcv.close()


def test_bad_notify_is_a_config_error():
    for notify, key in [([{"url": "ftp://x", "events": ["job.failed"]}], "notify[0].url"),
                        ([{"url": "http://127.0.0.1:1/", "events": ["job.exploded"]}],
                         "notify[0].events"),
                        ([{"url": "http://127.0.0.1:1/", "events": []}], "notify[0].events"),
                        ([{"url": "http://127.0.0.1:1/", "events": ["job.failed"],
                           "secret": "short"}], "notify[0].secret"),
                        ({"url": "http://127.0.0.1:1/"}, "notify")]:
        preset = {"id": "bad", "workflow": "noop", "notify": notify}
        s = Server(presets_extra=[preset], start=False)
        rc = s.start(expect_fail=True)
        assert rc != 0
        assert key in s.stderr_text(), (key, s.stderr_tail())


def test_per_job_notify():
    rcv = Receiver()
    try:
        s = Server()
        r = s.req("POST", "/api/v1/jobs", {"preset": "noop",
                                           "notify": [{"url": "gopher://x", "events": ["x"]}]})
        assert_error(r, 400, "invalid", field="notify[0].url")
        r = s.req("POST", "/api/v1/jobs", {"preset": "noop",
                                           "notify": [{"url": rcv.url, "events": ["job.done"]}]})
        assert_error(r, 400, "invalid", field="notify[0].events")
        assert_error(s.req("POST", "/api/v1/jobs", {"preset": "noop", "notify": "x"}), 400,
                     "invalid", field="notify")
        jid = s.submit(preset="noop", notify=[{"url": rcv.url, "secret": SECRET,
                                               "events": ["job.created", "job.succeeded"]}])
        s.wait_terminal(jid)
        harness.wait_until(lambda: rcv.count() >= 2, harness.scaled(10), what="two events")
        events = sorted(json.loads(b)["event"] for _, b in rcv.got)
        assert events == ["job.created", "job.succeeded"], events
        assert all(signed_ok(h, b) for h, b in rcv.got)
        # the secret never shows in the DTO
        assert "notify" not in s.job(jid) and SECRET not in json.dumps(s.job(jid))
        # a job without notify gets no deliveries
        other = s.submit(preset="noop")
        s.wait_terminal(other)
        assert s.call("GET", f"/api/v1/jobs/{other}/deliveries")["items"] == []
    finally:
        rcv.close()


def test_burst_over_the_queue_is_logged_dropped():
    rcv = Receiver(fail_first=1000)
    try:
        preset = {"id": "hooked", "workflow": "noop", "maxAttempts": 1,
                  "notify": [{"url": rcv.url, "events": ["job.succeeded"]}]}
        s = Server(presets_extra=[preset], env={"BATCHBOX_WEBHOOKS_QUEUE_SIZE": "1",
                                                "BATCHBOX_WEBHOOKS_RETRY_BASE_MS": "600000"})
        first = s.submit(preset="hooked")
        harness.wait_until(lambda: rcv.count() >= 1, harness.scaled(10), what="first try")
        second = s.submit(preset="hooked")
        s.wait_terminal(second)

        def dropped():
            items = s.call("GET", f"/api/v1/jobs/{second}/deliveries")["items"]
            return items if items and items[0]["state"] == "dropped" else None
        items = harness.wait_until(dropped, harness.scaled(10), what="dropped delivery")
        assert items[0]["attempts"] == 0 and "queue" in items[0]["lastError"], items
        pending = s.call("GET", f"/api/v1/jobs/{first}/deliveries")["items"]
        assert pending[0]["state"] == "pending" and pending[0]["attempts"] == 1, pending
    finally:
        rcv.close()

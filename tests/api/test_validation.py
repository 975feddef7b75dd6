"""Input validation and abuse: bad JSON, bad types, bad paths, limits, slow and huge requests.
A bad request must never crash or wedge the server or touch existing jobs."""

import os
import socket
import threading
import time

from harness import Server, assert_error, scaled, wait_until

JOBS = "/api/v1/jobs"


def raw_exchange(port, data, timeout=10.0, send_timeout=5.0):
    """Send raw bytes on a new connection and read the reply until the server closes or a full
    Content-Length body arrived. Returns (status or None, raw reply bytes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(send_timeout))
    reply = b""
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        sock.settimeout(scaled(timeout))
        while True:
            try:
                b = sock.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not b:
                break
            reply += b
            if b"\r\n\r\n" in reply:
                head, body = reply.split(b"\r\n\r\n", 1)
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length" and len(body) >= int(v):
                        return _status(reply), reply
    finally:
        sock.close()
    return _status(reply), reply


def _status(reply):
    if not reply.startswith(b"HTTP/1."):
        return None
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def _post(s, body, ctype="application/json"):
    return s.req("POST", JOBS, body, {"Content-Type": ctype})


def test_malformed_json_400():
    s = Server()
    for body in (b"{not json", b"", b'{"preset": "noop"', b'{"preset":"noop"} trailing',
                 b"\xff\xfe{}", b"[]", b"null", b"42", b'"noop"', b'{"preset":"noop",}',
                 b"{'preset':'noop'}", b'{"preset":"noop"}{"preset":"noop"}'):
        r = _post(s, body)
        assert_error(r, 400, "invalid")
    assert s.list_all()[0] == [], "a malformed body created a job"


def test_invalid_utf8_and_nul_rejected():
    """Invalid UTF-8 and NUL characters are refused (400), never silently truncated: a C
    string cut at \\u0000 would store a different md/preset/param than the client sent."""
    s = Server()
    for body in (b'{"preset":"noop","md":"a\xff.md"}',
                 b'{"preset":"noop","md":"a.md\\u0000../../x"}',
                 b'{"preset":"no\\u0000op"}',
                 b'{"preset":"noop","params":{"na\\u0000me":"x"}}',
                 b'{"preset":"noop","params":{"name":"x\\u0000y"}}'):
        assert_error(_post(s, body), 400, "invalid")
    assert s.list_all()[0] == [], "a body with NUL characters or bad UTF-8 created a job"


def test_deeply_nested_json_400():
    s = Server()
    body = b'{"preset":"noop","params":' + b"[" * 30000 + b"]" * 30000 + b"}"
    assert len(body) < 65536
    assert_error(_post(s, body), 400, "invalid")
    assert s.req("GET", "/api/v1/health").status == 200


def test_wrong_types_name_the_field():
    s = Server()
    cases = [({"preset": 5}, "preset"), ({"preset": None}, "preset"), ({}, "preset"),
             ({"preset": "noop", "priority": "x"}, "priority"),
             ({"preset": "noop", "priority": 1.5}, "priority"),
             ({"preset": "noop", "priority": True}, "priority"),
             ({"preset": "noop", "withTts": "yes"}, "withTts"),
             ({"preset": "noop", "withTts": 1}, "withTts"),
             ({"preset": "noop", "forceTts": "no"}, "forceTts"),
             ({"preset": "noop", "params": []}, "params"),
             ({"preset": "noop", "params": "a=b"}, "params"),
             ({"preset": "noop", "params": {"a": 1}}, "params"),
             ({"preset": "noop", "params": {"a": {"b": "c"}}}, "params"),
             ({"preset": "noop", "md": 5}, "md"),
             ({"preset": "noop", "upload": 1}, "upload"),
             ({"preset": "noop", "mode": False}, "mode"),
             ({"preset": "noop", "voiceAccent": 3}, "voiceAccent"),
             ({"preset": "noop", "notionDatabase": []}, "notionDatabase")]
    for body, field in cases:
        assert_error(_post(s, body), 400, "invalid", field)
    # Several bad fields are all listed.
    r = _post(s, {"preset": "noop", "priority": "x", "withTts": "yes"})
    assert_error(r, 400, "invalid", "priority")
    assert_error(r, 400, "invalid", "withTts")
    assert s.list_all()[0] == [], "an invalid body created a job"


def test_unknown_values_name_the_field():
    s = Server()
    for body, field in (({"preset": "nope"}, "preset"),
                        ({"preset": "noop", "mode": "karaoke"}, "mode"),
                        ({"preset": "noop", "upload": "ftp"}, "upload"),
                        ({"preset": "noop", "notionDatabase": "db-x"}, "notionDatabase"),
                        ({"preset": "noop", "voiceAccent": "pirate"}, "voiceAccent")):
        r = _post(s, body)
        assert_error(r, 400, "invalid", field)
    r = _post(s, {"preset": "nope"})
    assert "nope" in r.body["details"]["fields"]["preset"], r.describe()
    # The valid values are accepted.
    for mode in ("auto", "dialogue", "monologue"):
        s.submit(preset="noop", mode=mode)
    for up in ("auto", "none"):
        s.submit(preset="noop", upload=up)


def test_md_outside_input_root_rejected():
    s = Server()
    rel_out = os.path.relpath(s.outside, s.inputs)  # "../outside.md"
    for md in (rel_out, "../../../../../../etc/passwd", "sub/../../outside.md", s.outside,
               "/etc/passwd", "link.md", "nonexistent.md", "sub", "sub/", "", ".", "/",
               os.path.join(s.inputs, "..", "outside.md")):
        for preset in ("cat", "noop"):
            r = _post(s, {"preset": preset, "md": md})
            assert_error(r, 400, "invalid", "md")
    assert s.list_all()[0] == []
    # A symlink inside the root pointing inside the root is fine.
    os.symlink(os.path.join(s.inputs, "a.md"), os.path.join(s.inputs, "alias.md"))
    jid = s.submit(preset="cat", md="alias.md")
    assert s.wait_terminal(jid)["state"] == "succeeded"


def test_md_symlinked_dir_escape_rejected():
    s = Server()
    os.symlink(s.base, os.path.join(s.inputs, "up"))
    assert_error(_post(s, {"preset": "cat", "md": "up/outside.md"}), 400, "invalid", "md")


def test_body_too_large_413():
    s = Server()
    big = '{"preset":"noop","md":"' + "a" * 70000 + '"}'
    assert_error(_post(s, big), 413, "too_large")
    # Exactly at the limit is not "too large" (it is invalid for other reasons or fine).
    shell = '{"preset":"noop","params":{"name":""}}'
    at = shell[:-3] + "b" * (65536 - len(shell)) + shell[-3:]
    assert len(at) == 65536
    r = _post(s, at)
    assert r.status in (202, 400), r.describe()
    assert s.req("GET", "/api/v1/health").status == 200


def test_body_too_large_chunked():
    s = Server()
    chunk = b"a" * 8192
    parts = [b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             + s.auth_line() + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"]
    parts.append(b'17\r\n{"preset":"noop","md":"\r\n')
    for _ in range(40):
        parts.append(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    parts.append(b'2\r\n"}\r\n0\r\n\r\n')
    st, reply = raw_exchange(s.port, b"".join(parts))
    assert st in (411, 413), f"chunked 320 KB body: {reply[:300]!r}"
    assert s.req("GET", "/api/v1/health").status == 200


def test_content_length_lies():
    s = Server()
    # Claims far more than the limit: refused without reading.
    st, reply = raw_exchange(s.port, b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + s.auth_line()
                             + b"Content-Type: application/json\r\n"
                             b"Content-Length: 99999999999\r\n\r\n{}", timeout=5)
    assert st == 413, f"huge Content-Length: {reply[:300]!r}"
    st, reply = raw_exchange(s.port, b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + s.auth_line()
                             + b"Content-Type: application/json\r\n"
                             b"Content-Length: -5\r\n\r\n{}", timeout=5)
    assert st is None or 400 <= st < 500, f"negative Content-Length: {reply[:300]!r}"
    assert s.req("GET", "/api/v1/health").status == 200


def test_wrong_content_type_415():
    s = Server()
    for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
               "application/jsonx", "text/json-ish"):
        assert_error(_post(s, b'{"preset":"noop"}', ct), 415, "unsupported_media_type")
    r = s.req("POST", JOBS, b'{"preset":"noop"}', {"Content-Type": ""})
    assert r.status in (400, 415), f"empty Content-Type: {r.describe()}"
    assert s.list_all()[0] == []


def test_non_numeric_job_ids_404():
    s = Server()
    jid = s.submit(preset="noop")
    s.wait_terminal(jid)
    for bad in ("abc", f"{jid}abc", "-1", "0", "1.0", "99999999999999999999999", "%20" + jid,
                "0x1", "+1", f"{jid}%00"):
        for suffix in ("", "/logs", "/artifacts"):
            r = s.req("GET", f"/api/v1/jobs/{bad}{suffix}")
            assert_error(r, 404, "not_found")
        r = s.req("POST", f"/api/v1/jobs/{bad}/actions", {"type": "cancel"})
        assert_error(r, 404, "not_found")
    assert s.job(jid)["state"] == "succeeded"


def test_oversized_header():
    s = Server()
    req = (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
           b"\r\nConnection: close\r\n\r\n")
    st, reply = raw_exchange(s.port, req)
    assert st is not None and 400 <= st < 500, \
        f"64 KB header: expected a 4xx reply (431/413), got {reply[:200]!r}"
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
    st, reply = raw_exchange(s.port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + many +
                             b"Connection: close\r\n\r\n")
    assert st is not None and 400 <= st < 500, f"2000 headers: {reply[:200]!r}"
    long_url = b"GET /api/v1/jobs?q=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    st, reply = raw_exchange(s.port, long_url)
    assert st is not None and 400 <= st < 500, f"70 KB URL: {reply[:200]!r}"
    assert s.req("GET", "/api/v1/health").status == 200


def test_slow_clients_do_not_block_others():
    s = Server()
    socks = []
    try:
        for i in range(12):
            k = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            if i % 3 == 0:
                k.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            elif i % 3 == 1:
                k.sendall(b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pre")
            socks.append(k)  # i % 3 == 2: connected, sends nothing at all
        t0 = time.monotonic()
        for _ in range(5):
            r = s.req("GET", "/api/v1/health", timeout=5)
            assert r.status == 200, r.describe()
        jid = s.submit(preset="noop")
        assert s.wait_terminal(jid, timeout=5)["state"] == "succeeded"
        assert time.monotonic() - t0 < scaled(3), \
            f"requests took {time.monotonic() - t0:.1f}s while 12 slow clients were connected"
    finally:
        for k in socks:
            k.close()


def test_keepalive_connection_survives_errors():
    s = Server()
    c = s.client()
    try:
        for body, want in (("{bad", 400), ({"preset": "nope"}, 400), ({"preset": "noop"}, 202),
                           ({"preset": 1}, 400), ({"preset": "noop"}, 202)):
            r = c.req("POST", JOBS, body)
            assert r.status == want, r.describe()
        assert c.req("GET", "/api/v1/nope").status == 404
        assert c.req("GET", "/api/v1/health").status == 200
    finally:
        c.close()


def test_garbage_requests_do_not_wedge():
    s = Server()
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"BREW /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                 b"GET /api/v1/health?" + b"%" * 100 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
                 b"GET /api/v1/jobs?limit=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /api/v1/jobs/%00 HTTP/1.1\r\nHost: x\r\n\r\n"):
        st, reply = raw_exchange(s.port, junk, timeout=3)
        ok = st is None or st == 200 or 400 <= st < 500 or st in (501, 505)
        assert ok, f"{junk[:40]!r} -> {reply[:200]!r}"
        assert s.req("GET", "/api/v1/health").status == 200, f"unhealthy after {junk[:40]!r}"


def test_abuse_sequence_keeps_jobs_intact():
    s = Server()
    ids = [s.submit(preset="noop", md="a.md"), s.submit(preset="echo"),
           s.submit(preset="cat", md="b.md")]
    for j in ids:
        s.wait_terminal(j)
    before = {j: s.job(j) for j in ids}
    arts = s.call("GET", f"/api/v1/jobs/{ids[2]}/artifacts")
    # Abusive requests against this one server while another client keeps reading a job.
    stop = threading.Event()
    errors = []

    def hammer():
        c = s.client()
        try:
            while not stop.is_set():
                r = c.req("GET", f"/api/v1/jobs/{ids[0]}")
                if r.status != 200:
                    errors.append(r.describe())
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            c.close()
    t = threading.Thread(target=hammer, daemon=True)
    t.start()
    try:
        for body in (b"{x", b"\xff", b'{"preset":5}', b'{"preset":"noop","md":"../outside.md"}',
                     b"[" * 5000):
            assert _post(s, body).status == 400
        assert _post(s, "a" * 70000).status == 413
        assert _post(s, b"{}", "text/plain").status == 415
        raw_exchange(s.port, b"GET /api/v1/health HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
        raw_exchange(s.port, b"\x00" * 1000, timeout=2)
        for bad in ("abc", "-1"):
            assert s.req("GET", f"/api/v1/jobs/{bad}").status == 404
    finally:
        stop.set()
        t.join(10)
    assert not errors, f"concurrent reads failed during the abuse: {errors[:3]}"
    for j in ids:
        assert s.job(j) == before[j], f"job {j} changed"
    assert s.call("GET", f"/api/v1/jobs/{ids[2]}/artifacts") == arts
    assert sorted(i["jobId"] for i in s.list_all()[0]) == sorted(ids), "job list changed"
    wait_until(lambda: s.req("GET", "/api/v1/health").status == 200, 5, what="health")


def test_repeated_json_keys_rejected():
    """A body that names a field twice is ambiguous: 400 naming the field, not first-wins."""
    s = Server()
    r = s.req("POST", "/api/v1/jobs", b'{"preset":"noop","preset":"echo"}',
              {"Content-Type": "application/json"})
    assert_error(r, 400, "invalid", "preset")
    r = s.req("POST", "/api/v1/jobs", b'{"preset":"param","params":{"name":"a","name":"b"}}',
              {"Content-Type": "application/json"})
    assert_error(r, 400, "invalid", "params")
    assert s.submit(preset="noop")

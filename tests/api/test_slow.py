"""Slow clients cannot starve the server (issue 16, item 3; docs/operations.md, "Slow clients
and connection limits"): overall deadlines for headers, JSON bodies and uploads, the cap on
connections per client address (counted at accept), the refusal log and counters, and
request-smuggling hygiene (Content-Length with Transfer-Encoding, repeated or malformed
lengths, folded or excess header lines).

Floods come from 127.0.0.2 (client sockets bound there) while 127.0.0.1 must still be
answered. Deadlines are short in the test configuration; every wait is a bounded poll of the
server's own counters, never a long sleep."""

import json
import re
import select
import socket
import time

from harness import Server, scaled, wait_until

FLOOD = "127.0.0.2"


def _server(**http):
    """A server whose configuration has these http settings (short deadlines by default)."""
    cfg = {"headerTimeoutMs": 1500, "bodyTimeoutMs": 1500}
    cfg.update(http)
    s = Server(start=False)
    s.config["http"] = cfg
    with open(s.config_path, "w") as f:
        json.dump(s.config, f)
    s.start()
    return s


def _trickle(socks, rounds, piece, done, s):
    """Each round (0.1 s apart, at most `rounds`): every socket that has no answer yet
    sends piece(i) (round i), and 127.0.0.1 must still be answered; stops once done(m)
    holds for the server's metrics m.  Returns the answers read so far, one per socket."""
    answers = [b""] * len(socks)
    for i in range(rounds):
        for k, x in enumerate(socks):
            if answers[k]:
                continue
            r, _, _ = select.select([x], [], [], 0)
            if r:
                answers[k] = _read_all(x) or b"(closed)"
                continue
            try:
                x.sendall(piece(i))
            except OSError:
                answers[k] = b"(reset)"
        _health_from_localhost(s)
        if done(_metrics(s)):
            break
        time.sleep(0.1)
    for k, x in enumerate(socks):
        if not answers[k]:
            answers[k] = _read_all(x)
    return answers


def _metrics(s):
    """The slow-client series of /metrics as {name: value}."""
    text = s.call("GET", "/metrics", raw=True)
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(batchbox_http_[a-z_]+) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def _connect(s, source=FLOOD):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(scaled(10))
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", s.port))
    return sock


def _read_all(sock, limit=65536):
    """What the server sends until it closes (or the socket's timeout)."""
    got = b""
    try:
        while len(got) < limit:
            part = sock.recv(65536)
            if not part:
                break
            got += part
    except (socket.timeout, ConnectionResetError):
        pass
    return got


def _status(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


def _health_from_localhost(s):
    r = s.req("GET", "/health", auth=False, timeout=5)
    assert r.status == 200, r.describe()


def _raw_request(s, text, source="127.0.0.1"):
    """Sends text (bytes) on a fresh socket, half-closes, returns (status, raw answer)."""
    sock = _connect(s, source)
    try:
        sock.sendall(text)
        sock.shutdown(socket.SHUT_WR)
        raw = _read_all(sock)
    finally:
        sock.close()
    return _status(raw), raw


# ---- connection cap and idle sockets ---------------------------------------------------------

def test_idle_socket_flood_from_one_address_does_not_stop_another():
    s = _server(headerTimeoutMs=2000)
    cap = 64   # the default http.maxConnectionsPerAddress
    socks = []
    try:
        for _ in range(320):
            socks.append(_connect(s))
        # every connection has been accepted or refused by the server
        wait_until(lambda: _metrics(s)["batchbox_http_connections_refused_total"] >= 320 - cap,
                   scaled(10), what="the refusals past the cap")
        m = _metrics(s)
        assert m["batchbox_http_connections_refused_total"] == 320 - cap, m
        # 127.0.0.1 is still answered while 127.0.0.2 holds all it may
        _health_from_localhost(s)
        s.call("GET", "/api/v1/jobs")
        # a refused socket got a 503 before it was closed
        refused = [x for x in socks[cap:cap + 5]]
        for x in refused:
            raw = _read_all(x)
            assert _status(raw) == 503 and b"maxConnectionsPerAddress" in raw, raw[:300]
        # the refusal log is rate-limited: some lines, far fewer than refusals
        lines = [l for l in s.stderr_text().splitlines() if "connection refused" in l]
        assert 1 <= len(lines) < 320 - cap, len(lines)
        assert FLOOD in lines[0] and "too many connections" in lines[0], lines[0]
        # the header deadline closes the idle ones (408), freeing the address
        wait_until(lambda: _metrics(s)["batchbox_http_header_timeouts_total"] >= cap,
                   scaled(15), what="the header deadline to close the idle sockets")
        assert _status(_read_all(socks[0])) == 408
        r = s.req("GET", "/health", auth=False, source_address=FLOOD)
        assert r.status == 200, r.describe()
    finally:
        for x in socks:
            x.close()


def test_trusted_proxy_is_not_capped_by_its_own_address():
    s = _server(maxConnectionsPerAddress=4, trustedProxies=["127.0.0.4"])
    socks = []
    try:
        for _ in range(10):
            socks.append(_connect(s, "127.0.0.4"))
        for _ in range(6):
            socks.append(_connect(s, "127.0.0.5"))
        wait_until(lambda: _metrics(s)["batchbox_http_connections_refused_total"] >= 2,
                   scaled(10), what="refusals of 127.0.0.5")
        m = _metrics(s)
        assert m["batchbox_http_connections_refused_total"] == 2, m
        # the proxy's ten connections are all open (and waiting for their headers)
        assert m["batchbox_http_connections_waiting_for_headers"] >= 14, m
    finally:
        for x in socks:
            x.close()


# ---- header deadline ---------------------------------------------------------------------

def test_trickled_headers_meet_an_overall_deadline():
    s = _server(headerTimeoutMs=1000)
    socks = [_connect(s) for _ in range(40)]
    try:
        # each sends part of a request line, then a byte now and then: before the patch
        # every byte bought the client another timeout
        for x in socks:
            x.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
        answers = _trickle(socks, int(scaled(60)), lambda i: b"a",
                           lambda m: m["batchbox_http_header_timeouts_total"] >= len(socks), s)
        assert _metrics(s)["batchbox_http_header_timeouts_total"] >= len(socks)
        raw = answers[0]
        assert _status(raw) == 408 and b"request_timeout" in raw and b"headerTimeoutMs" in raw, \
            raw[:400]
    finally:
        for x in socks:
            x.close()


# ---- body deadlines ------------------------------------------------------------------------

def test_slow_json_bodies_are_closed_by_their_deadline():
    s = _server(bodyTimeoutMs=800)
    body = b'{"email": "a@example.com", "password": "xxxxxxxxxxxxxxxx"}'
    socks = [_connect(s) for _ in range(50)]
    try:
        for x in socks:
            x.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body[:5])
        answers = _trickle(socks, int(scaled(60)), lambda i: body[5 + i:6 + i] or b" ",
                           lambda m: m["batchbox_http_body_timeouts_total"] >= len(socks), s)
        m = _metrics(s)
        assert m["batchbox_http_body_timeouts_total"] >= len(socks), m
        raw = answers[0]
        assert _status(raw) == 408 and b"bodyTimeoutMs" in raw, raw[:400]
    finally:
        for x in socks:
            x.close()


def test_upload_slower_than_the_minimum_rate_is_408():
    s = _server(uploadMinBytesPerSec=20000, uploadRateWindowMs=300)
    sock = _connect(s, "127.0.0.1")
    try:
        sock.sendall(b"POST /api/v1/uploads?filename=slow.txt HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: 1000000\r\n" + s.auth_line()
                     + b"\r\n" + b"a" * 1000)
        raw = b""
        for _ in range(int(scaled(50))):          # 100 bytes every 0.1 s: 1 kB/s
            try:
                sock.sendall(b"a" * 100)
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                part = sock.recv(65536)
                if not part:
                    break
                raw += part
                if b"\r\n\r\n" in raw:
                    break
            except socket.timeout:
                pass
        sock.settimeout(scaled(5))
        raw += _read_all(sock)
        assert _status(raw) == 408 and b"uploadMinBytesPerSec" in raw, raw[:400]
    finally:
        sock.close()
    assert _metrics(s)["batchbox_http_body_timeouts_total"] >= 1
    # a normal upload is unaffected
    r = s.req("POST", "/api/v1/uploads?filename=ok.txt", b"b" * 200000,
              headers={"Content-Type": "text/plain"})
    assert r.status == 201, r.describe()
    assert s.call("GET", "/api/v1/user/files")["items"][0]["filename"] == "ok.txt"


# ---- long-held requests --------------------------------------------------------------------

def test_long_held_requests_are_counted():
    # An upload trickled just above the minimum rate holds its civetweb thread (event streams
    # no longer do: the stream hub takes them), so it counts as long-held.
    s = Server(env={"BB_TEST_LONG_HELD_MS": "300", "BATCHBOX_HTTP_UPLOAD_MIN_BYTES_PER_SEC": "1"})
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n"
            b"Content-Type: text/markdown\r\n\r\n" + b"x" * 200 + b"\r\n--b--\r\n")
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=scaled(10))
    try:
        sock.sendall(b"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + s.token.encode() + b"\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:20])
        sent = 20

        def held():
            nonlocal sent
            if sent < len(body) - 10:
                sock.sendall(body[sent:sent + 1])
                sent += 1
            return _metrics(s)["batchbox_http_requests_long_held"] >= 1
        wait_until(held, scaled(10), what="the trickled upload to count as long-held")
        m = _metrics(s)
        assert m["batchbox_http_requests_in_flight"] >= 2, m    # the upload and /metrics
    finally:
        sock.close()


# ---- request smuggling hygiene -------------------------------------------------------------

LOGIN = b'{"email":"a@example.com","password":"wrong"}'


def _login_with(headers):
    return (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + headers + b"\r\n")


def test_content_length_with_transfer_encoding_is_400():
    s = Server()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(LOGIN), LOGIN)
    status, raw = _raw_request(s, _login_with(
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(chunked)) + chunked)
    assert status == 400 and b"Content-Length and Transfer-Encoding" in raw, raw[:400]
    # the same in the other order, and either alone is fine
    status, raw = _raw_request(s, _login_with(
        b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(chunked)) + chunked)
    assert status == 400, raw[:400]
    status, raw = _raw_request(s, _login_with(b"Transfer-Encoding: chunked\r\n") + chunked)
    assert status == 401, raw[:400]
    status, raw = _raw_request(s, _login_with(b"Content-Length: %d\r\n" % len(LOGIN)) + LOGIN)
    assert status == 401, raw[:400]


def test_repeated_or_malformed_lengths_are_400():
    s = Server()
    n = len(LOGIN)
    for headers in (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (n, n),
                    b"Content-Length: %d\r\nContent-Length: 0\r\n" % n,
                    b"Content-Length: %dabc\r\n" % n,
                    b"Content-Length: +%d\r\n" % n,
                    b"Content-Length: %d, %d\r\n" % (n, n),
                    b"Content-Length: -1\r\n",
                    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                    b"Transfer-Encoding: gzip\r\n"):
        status, raw = _raw_request(s, _login_with(headers) + LOGIN)
        assert status == 400, (headers, raw[:300])
        assert b'"error":"invalid"' in raw, raw[:300]


def test_folded_spaced_or_excess_header_lines_are_400():
    s = Server()
    n = len(LOGIN)
    cases = [
        # obsolete line folding used to end the headers there: the Content-Length after it
        # was ignored and the body became the next request
        b"X-A: one\r\n two\r\nContent-Length: %d\r\n" % n,
        b"X-A: one\r\n\ttwo\r\nContent-Length: %d\r\n" % n,
        b"Content-Length : %d\r\n" % n,                       # space before the colon
        b"".join(b"X-H%d: v\r\n" % i for i in range(70)) + b"Content-Length: %d\r\n" % n,
    ]
    for headers in cases:
        status, raw = _raw_request(s, _login_with(headers) + LOGIN)
        assert status == 400, (headers[:60], raw[:300])
    # 60 headers are still fine
    status, raw = _raw_request(s, _login_with(
        b"".join(b"X-H%d: v\r\n" % i for i in range(55)) + b"Content-Length: %d\r\n" % n) + LOGIN)
    assert status == 401, raw[:300]

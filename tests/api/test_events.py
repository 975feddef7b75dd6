"""Server-Sent Events: framing, ordering, resume, filters, heartbeats, caps, slow clients."""

import json
import time

from harness import (SSEClient, Server, assert_dto, scaled, state_trail,
                     wait_until)

LIFECYCLE = ("job_created", "job_state_changed")


def _open(s, path="/api/v1/jobs/events", headers=None, **kw):
    c = s.sse(path, headers, **kw)
    st = c.wait_headers()
    assert st == 200, f"GET {path}: status {st}, body {c.body_if_error[:300]!r}"
    # The stream starts with retry: before anything else; waiting for it also means the
    # subscription is registered.
    c.wait_for(lambda _evs: c.items, 5, what="the first line (retry:)")
    return c


def _int_ids(events):
    out = []
    for e in events:
        assert e.id is not None, f"event without id: {e!r}"
        assert e.id.isdigit(), f"non-numeric event id {e.id!r}"
        out.append(int(e.id))
    return out


def _assert_increasing(events):
    ids = _int_ids(events)
    for a, b in zip(ids, ids[1:]):
        assert b > a, f"event ids not strictly increasing: ... {a}, {b} ... in {ids[:50]}"


def test_sse_headers_retry_and_lifecycle_order():
    s = Server()
    c = _open(s)
    h = c.resp_headers
    assert h.get("content-type", "").startswith("text/event-stream"), h
    assert h.get("cache-control", "").lower() == "no-cache", h
    assert h.get("x-accel-buffering", "").lower() == "no", h
    assert h.get("x-request-id"), f"SSE response without X-Request-Id: {h}"
    assert c.items[0] == ("retry", 2000), f"stream must start with retry: 2000, got {c.items[:3]}"
    jid = s.submit(preset="noop")
    c.wait_job_state(jid, "succeeded")
    trail = state_trail(c.snapshot(), jid)
    assert trail == [("job_created", "queued"), ("job_state_changed", "running"),
                     ("job_state_changed", "succeeded")], trail
    evs = c.snapshot()
    _assert_increasing(evs)
    for e in evs:
        assert e.event in ("job_created", "job_state_changed", "job_progress"), e
        assert "\n" not in e.data, f"data must be one line: {e.data!r}"
        assert_dto(e.json, jid)
    c.close()


def test_sse_unprefixed_path():
    s = Server()
    c = _open(s, "/jobs/events")
    jid = s.submit(preset="noop")
    c.wait_job_state(jid, "succeeded")
    c.close()


def _keys(events):
    return [e.key() for e in events]


def test_sse_resume_with_last_event_id():
    s = Server()
    witness = _open(s)           # stays connected the whole time
    b = _open(s)
    first = [s.submit(preset="noop") for _ in range(3)]
    for j in first:
        b.wait_job_state(j, "succeeded")
        witness.wait_job_state(j, "succeeded")
    last = b.last_event_id
    assert last and last.isdigit(), f"no usable last event id: {last!r}"
    b.close()
    missed = [s.submit(preset="noop") for _ in range(5)]
    missed.append(s.submit(preset="echo"))
    for j in missed:
        witness.wait_job_state(j, "succeeded")
    expected = [e for e in witness.snapshot() if int(e.id) > int(last)]
    assert len(expected) >= 3 * len(missed), f"witness saw too few events: {expected}"

    for how in ("header", "query"):
        if how == "header":
            r = _open(s, headers={"Last-Event-ID": last})
        else:
            r = _open(s, f"/api/v1/jobs/events?lastEventId={last}")
        r.wait_for(lambda evs: len(evs) >= len(expected), 10,
                   what=f"{len(expected)} replayed events ({how})")
        time.sleep(0.2)  # anything extra (a duplicate) would arrive right behind them
        got = r.snapshot()
        assert _keys(got[:len(expected)]) == _keys(expected), \
            f"replay via {how} differs from what a connected client saw:\n got " \
            f"{got[:len(expected)]}\n want {expected}"
        assert len(got) == len(expected), f"extra events after replay ({how}): " \
                                          f"{got[len(expected):]}"
        # Then live events follow on the same stream.
        live = s.submit(preset="noop")
        r.wait_job_state(live, "succeeded")
        witness.wait_job_state(live, "succeeded")
        _assert_increasing(r.snapshot())
        expected = [e for e in witness.snapshot() if int(e.id) > int(last)]
        assert _keys(r.snapshot()) == _keys(expected), "live events after replay differ"
        r.close()
    witness.close()


def test_sse_resume_from_zero_replays_everything_retained():
    s = Server()
    witness = _open(s)
    ids = [s.submit(preset="noop") for _ in range(4)]
    for j in ids:
        witness.wait_job_state(j, "succeeded")
    all_events = witness.snapshot()
    r = _open(s, headers={"Last-Event-ID": "0"})
    r.wait_for(lambda evs: len(evs) >= len(all_events), 10, what="full replay")
    assert _keys(r.snapshot()[:len(all_events)]) == _keys(all_events)
    r.close()
    witness.close()


def test_sse_resume_survives_restart():
    s = Server()
    c = _open(s)
    ids = [s.submit(preset="noop") for _ in range(3)]
    for j in ids:
        c.wait_job_state(j, "succeeded")
    before = c.snapshot()
    c.close()
    s.stop()
    s.restart()
    mid = before[2].id
    r = _open(s, headers={"Last-Event-ID": mid})
    want = [e for e in before if int(e.id) > int(mid)]
    r.wait_for(lambda evs: len(evs) >= len(want), 10, what="replay after restart")
    assert _keys(r.snapshot()[:len(want)]) == _keys(want)
    # New events continue the sequence.
    j = s.submit(preset="noop")
    r.wait_job_state(j, "succeeded")
    _assert_increasing(r.snapshot())
    r.close()


def test_sse_bad_last_event_id_does_not_break_the_server():
    s = Server()
    for v in ("abc", "-1", "99999999999999999999999999", "1;DROP", " "):
        c = s.sse(headers={"Last-Event-ID": v})
        st = c.wait_headers()
        assert st in (200, 400), f"Last-Event-ID {v!r}: status {st}"
        c.close()
        c = s.sse(f"/api/v1/jobs/events?lastEventId={v.strip() or 'x'}")
        st = c.wait_headers()
        assert st in (200, 400), f"lastEventId={v!r}: status {st}"
        c.close()
    assert s.req("GET", "/api/v1/health").status == 200


def test_sse_job_filter():
    s = Server()
    a = s.submit(preset="noop")
    s.wait_terminal(a)
    f = _open(s, f"/api/v1/jobs/events?jobId={a}&lastEventId=0")
    allc = _open(s)
    b = s.submit(preset="noop")
    c = s.submit(preset="noop")
    allc.wait_job_state(c, "succeeded")
    allc.wait_job_state(b, "succeeded")
    time.sleep(0.2)
    evs = f.snapshot()
    assert evs, "filtered stream got nothing (replay of job a expected)"
    assert {e.job_id for e in evs} == {a}, f"?jobId={a} leaked other jobs: {evs}"
    f.close()
    g = _open(s, f"/api/v1/jobs/events?jobId={c}")
    d = s.submit(preset="noop")
    allc.wait_job_state(d, "succeeded")
    time.sleep(0.2)
    assert g.snapshot() == [], f"?jobId={c} (finished) got events: {g.snapshot()}"
    g.close()
    allc.close()


def test_sse_logs_only_with_logs_param():
    s = Server()
    plain = _open(s)
    logs = _open(s, "/api/v1/jobs/events?logs=1")
    jid = s.submit(preset="echo")
    logs.wait_job_state(jid, "succeeded")
    plain.wait_job_state(jid, "succeeded")
    got = logs.wait_for(lambda evs: [e for e in evs if e.event == "job_log"
                                     and e.job_id == jid], 5, what="job_log events")
    lines = [e.json.get("line") for e in got]
    assert "hello" in lines and jid in lines, f"job_log lines {lines}"
    for e in got:
        assert set(e.json) >= {"jobId", "line", "ts"}, e.json
        assert e.id and e.id.isdigit(), e
    _assert_increasing(logs.snapshot())
    # Log lines come between running and the terminal state.
    order = [(e.event, e.state) for e in logs.snapshot() if e.job_id == jid]
    i_run = order.index(("job_state_changed", "running"))
    i_end = order.index(("job_state_changed", "succeeded"))
    i_logs = [i for i, o in enumerate(order) if o[0] == "job_log"]
    assert all(i_run < i < i_end for i in i_logs), f"job_log outside running..end: {order}"
    assert not [e for e in plain.snapshot() if e.event == "job_log"], \
        "job_log events delivered without ?logs=1"
    plain.close()
    logs.close()


def test_sse_heartbeat_comments():
    s = Server()
    c = _open(s)
    c.wait_for(lambda _e: len([x for x in c.comments if x.strip() == "hb"]) >= 2, 4,
               what="two ': hb' comments with heartbeatSec=1")
    c.close()


def test_sse_heartbeat_env_override():
    s = Server(start=False, env={"BATCHBOX_EVENTS_HEARTBEAT_SEC": "1"})
    cfg = s.default_config(events={"heartbeatSec": 60})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    c = _open(s)
    c.wait_for(lambda _e: any(x.strip() == "hb" for x in c.comments), 3.5,
               what="a heartbeat: BATCHBOX_EVENTS_HEARTBEAT_SEC=1 should override 60")
    c.close()


def test_sse_many_subscribers_all_receive():
    s = Server()
    cs = [_open(s) for _ in range(40)]
    jid = s.submit(preset="noop")
    for c in cs:
        c.wait_job_state(jid, "succeeded", timeout=10)
    ref = _keys(cs[0].snapshot())
    for c in cs[1:]:
        assert _keys(c.snapshot()) == ref, "subscribers saw different streams"
    for c in cs:
        c.close()


def test_sse_subscriber_cap():
    s = Server(env={"BATCHBOX_EVENTS_MAX_SUBSCRIBERS": "3"})
    cs = [_open(s) for _ in range(3)]
    extra = s.sse()
    st = extra.wait_headers()
    assert st == 503, f"4th subscriber with a cap of 3: status {st}"
    ra = extra.resp_headers.get("retry-after", "")
    assert ra.strip().isdigit(), f"503 without a numeric Retry-After: {extra.resp_headers}"
    extra.wait_closed(5)
    body = extra.body_if_error.split(b"\r\n\r\n")[-1]
    assert b"unavailable" in extra.body_if_error, f"503 body should be the JSON error: {body!r}"
    extra.close()
    # Ordinary requests still answer and the three subscribers still get events.
    assert s.req("GET", "/api/v1/health").status == 200
    jid = s.submit(preset="noop")
    for c in cs:
        c.wait_job_state(jid, "succeeded")
    # A freed slot can be used again once the server noticed the disconnect.
    cs[0].close()

    def slot_free():
        c = s.sse()
        st = c.wait_headers()
        if st == 200:
            cs[0] = c
            return True
        c.close()
        return False
    wait_until(slot_free, 10, interval=0.3, what="a subscriber slot to free up after a close")
    for c in cs:
        c.close()


def test_sse_stalled_client_is_dropped_and_others_unaffected():
    s = Server(start=False)
    cfg = s.default_config()
    cfg["presets"].append({
        "id": "flood", "workflow": "command", "maxAttempts": 1, "timeoutSec": 120,
        "argv": ["sh", "-c", "yes \"$(printf '%03000d' 0)\" | head -n {param.n}"]})
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    s.start()
    good = _open(s, "/api/v1/jobs/events?logs=1")
    # Opens the stream with a tiny receive buffer and does not read until resumed.
    stalled = SSEClient(s.port, "/api/v1/jobs/events?logs=1", s.auth_headers(),
                       rcvbuf=2048, paused=True)
    stalled.start()
    time.sleep(0.2)
    total_lines = 0
    t_start = time.monotonic()
    for _round in range(3):
        jid = s.submit(preset="flood", params={"n": "4000"})
        total_lines += 4000
        good.wait_job_state(jid, "succeeded", timeout=60)
        # Other clients stay prompt: a fresh job's events arrive quickly.
        probe = s.submit(preset="noop")
        # (a stalled reader that blocked the others would hold them until it
        # is dropped; 10 s tells that apart from a busy machine's delay)
        good.wait_job_state(probe, "succeeded", timeout=10)
    good_logs = [e for e in good.snapshot() if e.event == "job_log"]
    assert len(good_logs) == total_lines, \
        f"the reading client lost log events: {len(good_logs)} of {total_lines}"
    # Now read the stalled stream: the server must have dropped it (EOF after its backlog).
    stalled.resume()
    closed = stalled.wait_closed(20)
    assert closed, (f"stalled subscriber was never disconnected after "
                    f"{total_lines} x 1.5 KB log events "
                    f"({time.monotonic() - t_start:.1f}s); it got {len(stalled.events)} events")
    got = stalled.snapshot()
    ref = good.snapshot()
    assert len(got) < len(ref), "stalled client got every event: was it really dropped?"
    # What it did get is a gap-free prefix of the stream.
    assert _keys(got) == _keys(ref[:len(got)]), "stalled client's events are not a prefix"
    # It can resume by Last-Event-ID and catch up the lifecycle events.
    r = _open(s, headers={"Last-Event-ID": stalled.last_event_id or "0"})
    want = [e for e in ref if e.event in LIFECYCLE
            and (not got or int(e.id) > int(got[-1].id))]
    r.wait_for(lambda evs: len([e for e in evs if e.event in LIFECYCLE]) >= len(want), 15,
               what="lifecycle events after resume")
    have = [e for e in r.snapshot() if e.event in LIFECYCLE]
    assert _keys(have[:len(want)]) == _keys(want)
    r.close()
    good.close()
    stalled.close()

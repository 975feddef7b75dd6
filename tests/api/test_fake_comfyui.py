"""The fake ComfyUI (tests/api/fake_comfyui.py) checked against ComfyUI's own behaviour, so the
batchbox tests that use it test against something ComfyUI-shaped: the prompt_id UUID rule,
validate_prompt's error and node_errors shapes, history {} until done, queue delete removing
only pending prompts, interrupt with and without prompt_id, /view's 400/403/404 rules, the
upload rename, the models routes and their fallback, the WebSocket message order and messages
going only to the submitting client.  Plain HTTP and a small stdlib WebSocket client."""

import base64
import copy
import json
import os
import socket
import struct
import time
import uuid
import zlib

import harness
from comfy import FakeComfy

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "comfyui")


def graph(name="sdxl.json", **values):
    """A fixture graph with its "{{x}}" placeholders replaced by values (typed)."""
    with open(os.path.join(FIX, name)) as f:
        g = json.load(f)
    vals = {"prompt": "a red fox", "seed": 1, "steps": 20,
            "ckpt": "sd_xl_base_1.0.safetensors", "lora": "a.safetensors"}
    vals.update(values)
    for node in g.values():
        for k, v in node["inputs"].items():
            if isinstance(v, str) and v.startswith("{{") and v.endswith("}}"):
                node["inputs"][k] = vals[v[2:-2]]
    return g


class WS:
    """A minimal RFC 6455 client: connect, read text frames as JSON, close."""

    def __init__(self, port, client_id=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=harness.scaled(5))
        key = base64.b64encode(os.urandom(16)).decode()
        path = "/ws" + (f"?clientId={client_id}" if client_id else "")
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "socket closed during the handshake"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.messages = []

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("socket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message as JSON (None when the server closed)."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)
            op = b0 & 0x0f
            if op == 8:
                return None
            if op == 1:
                m = json.loads(data)
                self.messages.append(m)
                return m

    def until(self, pred, limit=500):
        """Messages up to and including the first one pred accepts (bounded)."""
        out = []
        for _ in range(limit):
            m = self.recv()
            assert m is not None, f"socket closed; got {out}"
            out.append(m)
            if pred(m):
                return out
        raise AssertionError(f"no matching message in {limit}: {out[-5:]}")

    def close(self):
        try:
            self.sock.sendall(b"\x88\x82" + os.urandom(4) + b"\x00\x00")
        except OSError:
            pass
        self.sock.close()


def png_pixels(data):
    """The decoded scanlines of an 8-bit RGB PNG, every chunk's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 4:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(body), kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[4:12])
        elif kind == b"IDAT":
            idat += body[4:]
        pos += 12 + n
    raw = zlib.decompress(idat)
    assert len(raw) == size[1] * (1 + 3 * size[0]), (len(raw), size)
    return raw


def wait_history(fc, pid, timeout=10):
    return harness.wait_until(lambda: fc.history(pid), timeout, what=f"history of {pid}")[pid]


def test_prompt_validation_like_comfyui():
    with FakeComfy() as fc:
        fc.config(hold=True)
        # a given prompt_id must be a lowercase hyphenated UUID
        st, body = fc.submit(graph(), prompt_id="not-a-uuid")
        assert st == 400 and body["error"]["type"] == "invalid_prompt_id", body
        assert body["node_errors"] == {}
        st, body = fc.submit(graph(), prompt_id=str(uuid.uuid4()).upper())
        assert st == 400, body
        pid = str(uuid.uuid4())
        st, body = fc.submit(graph(), prompt_id=pid)
        assert st == 200 and body["prompt_id"] == pid and body["node_errors"] == {}, body
        assert isinstance(body["number"], (int, float))
        # the /api/ twin answers the same way
        st, _h, raw = fc.request("POST", "/api/prompt", {"prompt": graph()})
        assert st == 200 and "prompt_id" in json.loads(raw)
        # no prompt, unknown class, missing class_type, no output node
        st, body = fc.submit(None)          # ComfyUI iterates the graph: a 500
        assert st == 500
        st, _h, raw = fc.request("POST", "/prompt", {"client_id": "x"})
        assert st == 400 and json.loads(raw)["error"]["type"] == "no_prompt"
        g = graph()
        g["9"]["class_type"] = "NoSuchNode"
        st, body = fc.submit(g)
        assert st == 400 and body["error"]["type"] == "missing_node_type", body
        assert body["error"]["extra_info"]["class_type"] == "NoSuchNode"
        del g["9"]["class_type"]
        st, body = fc.submit(g)
        assert st == 400 and body["error"]["type"] == "invalid_prompt", body
        g = graph()
        del g["9"]
        st, body = fc.submit(g)
        assert st == 400 and body["error"]["type"] == "prompt_no_outputs", body
        # per-node errors carry class_type, errors[] and dependent_outputs
        g = graph(ckpt="missing.safetensors")
        del g["3"]["inputs"]["cfg"]
        st, body = fc.submit(g)
        assert st == 400, body
        assert body["error"]["type"] == "prompt_outputs_failed_validation", body
        ne = body["node_errors"]
        assert ne["4"]["class_type"] == "CheckpointLoaderSimple"
        assert ne["4"]["errors"][0]["type"] == "value_not_in_list"
        assert ne["4"]["errors"][0]["extra_info"]["input_name"] == "ckpt_name"
        assert ne["4"]["dependent_outputs"] == ["9"]
        assert ne["3"]["errors"][0]["type"] == "required_input_missing"
        assert ne["3"]["errors"][0]["extra_info"] == {"input_name": "cfg"}
        g = graph(steps=0)
        st, body = fc.submit(g)
        assert body["node_errors"]["3"]["errors"][0]["type"] == "value_smaller_than_min"
        # the node_error switch fails validation on the named node
        fc.config(node_error={"node": "6", "message": "bad prompt"})
        st, body = fc.submit(graph())
        assert st == 400 and body["node_errors"]["6"]["class_type"] == "CLIPTextEncode"
        # older servers ignore a given prompt_id and mint their own
        fc.config(node_error=None, ignore_prompt_id=True)
        st, body = fc.submit(graph(), prompt_id=str(uuid.uuid4()))
        assert st == 200 and body["prompt_id"] != pid
        recorded = fc.prompts()
        assert [p["status"] for p in recorded].count(200) == 3
        assert recorded[2]["prompt_id"] == pid


def test_history_queue_and_interrupt():
    with FakeComfy() as fc:
        fc.config(hold=True, step_ms=30, steps=200)
        a = fc.submit(graph(seed=1))[1]["prompt_id"]
        b = fc.submit(graph(seed=2))[1]["prompt_id"]
        c = fc.submit(graph(seed=3))[1]["prompt_id"]
        q = fc.queue()
        assert q["queue_running"] == [] and [x[1] for x in q["queue_pending"]] == [a, b, c]
        assert fc.history(a) == {}
        fc.release()
        harness.wait_until(lambda: [x[1] for x in fc.queue()["queue_running"]] == [a], 10,
                           what="a running")
        # deleting from the queue only removes pending prompts
        fc.json("POST", "/queue", {"delete": [a, b]})
        q = fc.queue()
        assert [x[1] for x in q["queue_running"]] == [a]
        assert [x[1] for x in q["queue_pending"]] == [c]
        running = q["queue_running"][0]
        assert len(running) == 5 and running[2]["3"]["inputs"]["seed"] == 1
        # an interrupt naming a prompt that is not running does nothing
        fc.json("POST", "/interrupt", {"prompt_id": c})
        assert fc.history(a) == {}
        fc.json("POST", "/interrupt", {"prompt_id": a})
        ha = wait_history(fc, a)
        assert ha["status"]["status_str"] == "error" and ha["status"]["completed"] is False
        assert ha["status"]["messages"][-1][0] == "execution_interrupted"
        assert ha["prompt"][1] == a and ha["prompt"][0] == 0
        # the global interrupt (no body) stops whatever runs: c
        harness.wait_until(lambda: [x[1] for x in fc.queue()["queue_running"]] == [c], 10,
                           what="c running")
        st, _h, _r = fc.request("POST", "/api/interrupt", b"")
        assert st == 200
        hc = wait_history(fc, c)
        assert hc["status"]["messages"][-1][0] == "execution_interrupted"
        assert fc.history(b) == {}
        fc.json("POST", "/history", {"delete": [a]})
        assert fc.history(a) == {} and list(fc.history()) == [c]


def test_socket_messages_only_to_the_submitter():
    with FakeComfy() as fc:
        fc.config(step_ms=0, steps=3)
        w1, w2 = WS(fc.port, "client-one"), WS(fc.port, "client-two")
        try:
            first = w1.recv()
            assert first["type"] == "status" and first["data"]["sid"] == "client-one"
            assert w2.recv()["data"]["sid"] == "client-two"
            pid = fc.submit(graph(seed=5), client_id="client-one")[1]["prompt_id"]
            msgs = w1.until(lambda m: m["type"] == "executing" and m["data"]["node"] is None)
            kinds = [m["type"] for m in msgs if m["type"] != "status"]
            assert kinds[0] == "execution_start" and kinds[1] == "execution_cached", kinds
            assert kinds[-2:] == ["execution_success", "executing"], kinds
            prog = [m["data"] for m in msgs if m["type"] == "progress"]
            assert [p["value"] for p in prog] == [1, 2, 3] and prog[0]["max"] == 3
            assert prog[0]["node"] == "3" and prog[0]["prompt_id"] == pid
            executing = [m["data"]["node"] for m in msgs if m["type"] == "executing"]
            assert executing.index("4") < executing.index("3") < executing.index("9")
            done = [m["data"] for m in msgs if m["type"] == "executed"]
            assert done[0]["node"] == "9" and done[0]["output"]["images"][0]["type"] == "output"
            h = fc.history(pid)[pid]
            assert h["outputs"]["9"] == done[0]["output"] and h["status"]["completed"] is True
            assert pid in fc.finished()
            # same loader and texts, new seed: those nodes come from the cache
            fc.submit(graph(seed=6), client_id="client-one")
            msgs = w1.until(lambda m: m["type"] == "executing" and m["data"]["node"] is None)
            cached = [m for m in msgs if m["type"] == "execution_cached"][0]["data"]["nodes"]
            assert sorted(cached) == ["4", "5", "6", "7"], cached
            # an execution error reaches the submitter with ComfyUI's fields
            fc.config(exec_error={"node": "8", "message": "CUDA out of memory"})
            pid = fc.submit(graph(seed=7), client_id="client-one")[1]["prompt_id"]
            msgs = w1.until(lambda m: m["type"] == "executing" and m["data"]["node"] is None)
            err = [m["data"] for m in msgs if m["type"] == "execution_error"][0]
            assert err["node_id"] == "8" and err["node_type"] == "VAEDecode"
            assert err["exception_message"] == "CUDA out of memory"
            for k in ("exception_type", "traceback", "current_inputs", "current_outputs"):
                assert k in err, k
            assert fc.history(pid)[pid]["status"]["status_str"] == "error"
            # the other client saw queue status only
            w2.sock.settimeout(0.3)
            others = []
            try:
                while True:
                    m = w2.recv()
                    if m is None:
                        break
                    others.append(m["type"])
            except socket.timeout:
                pass
            assert set(others) <= {"status"} and others, others
        finally:
            w1.close()
            w2.close()


def test_view_upload_models_and_stats():
    models = {"loras": ["a.safetensors", "b.safetensors"]}
    with FakeComfy(models=models, version="0.3.41") as fc:
        fc.config(step_ms=0, steps=1)
        pid = fc.submit(graph())[1]["prompt_id"]
        img = wait_history(fc, pid)["outputs"]["9"]["images"][0]
        st, hdr, raw = fc.request("GET", f"/view?filename={img['filename']}&type=output"
                                  "&subfolder=")
        assert st == 200 and raw.startswith(b"\x89PNG\r\n\x1a\n"), (st, raw[:20])
        assert hdr["content-type"] == "image/png"
        # the pixels depend on the seed; output_bytes pads the file
        fc.config(output_bytes=50000)
        pid2 = fc.submit(graph(seed=2))[1]["prompt_id"]
        img2 = wait_history(fc, pid2)["outputs"]["9"]["images"][0]
        assert img2["filename"] != img["filename"]
        _st, _h, raw2 = fc.request("GET", f"/view?filename={img2['filename']}")
        assert len(raw2) >= 50000 and png_pixels(raw2) != png_pixels(raw)
        fc.config(output_bytes=0)
        assert fc.request("GET", "/view?filename=../x.png")[0] == 400
        assert fc.request("GET", "/view?filename=/etc/passwd")[0] == 400
        assert fc.request("GET", f"/view?filename={img['filename']}&type=bogus")[0] == 400
        assert fc.request("GET", f"/view?filename={img['filename']}&subfolder=../..")[0] == 403
        assert fc.request("GET", "/view?filename=none.png")[0] == 404
        assert fc.request("GET", "/view")[0] == 404
        # uploads: a new name on collision, the same name for the same bytes
        names = [upload(fc, "in.png", b"one"), upload(fc, "in.png", b"two"),
                 upload(fc, "in.png", b"one"), upload(fc, "in.png", b"three", overwrite="true")]
        assert [n["name"] for n in names] == ["in.png", "in (1).png", "in.png", "in.png"], names
        assert names[0] == {"name": "in.png", "subfolder": "", "type": "input"}
        assert upload(fc, "x.png", b"1", subfolder="../..", status=400) is None
        st, _h, raw = fc.request("GET", "/view?filename=in (1).png&type=input".replace(" ", "%20"))
        assert st == 200 and raw == b"two"
        # models
        assert "checkpoints" in fc.json("GET", "/models")
        assert fc.json("GET", "/api/models/loras") == ["a.safetensors", "b.safetensors"]
        assert "sd_xl_base_1.0.safetensors" in fc.json("GET", "/models/checkpoints")
        assert fc.request("GET", "/models/nonsense")[0] == 404
        fc.config(no_models_route=True)
        assert fc.request("GET", "/models/checkpoints")[0] == 404
        info = fc.json("GET", "/object_info/CheckpointLoaderSimple")
        assert "sd_xl_base_1.0.safetensors" in \
            info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
        assert fc.json("GET", "/object_info/Nope") == {}
        stats = fc.json("GET", "/system_stats")
        assert stats["system"]["comfyui_version"] == "0.3.41"
        dev = stats["devices"][0]
        for k in ("name", "type", "index", "vram_total", "vram_free", "torch_vram_total",
                  "torch_vram_free"):
            assert k in dev, k
        # switches: garbage bodies, then a crash mid-prompt and a restart with empty memory
        fc.config(garbage=True)
        st, _h, raw = fc.request("GET", "/queue")
        assert st == 200 and raw.startswith(b"<html>")
        fc.config(garbage=False, die_mid_prompt=True)
        fc.submit(graph(seed=99))
        harness.wait_until(lambda: not fc.alive(), 10, what="the fake to die")
        fc.restart()
        assert fc.history() == {} and fc.queue()["queue_pending"] == []
        assert fc.request("GET", "/view?filename=" + img["filename"])[0] == 200
        reqs = fc.requests()
        assert reqs and all(set(r) >= {"method", "path", "query", "content_type"} for r in reqs)


def upload(fc, name, data, status=200, **fields):
    boundary = "fakeboundary" + uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                     f"{v}\r\n".encode())
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                 f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n".encode() + data
                 + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    st, _h, raw = fc.request("POST", "/upload/image", body,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert st == status, (st, raw)
    return json.loads(raw) if st == 200 else None


def test_video_and_hang():
    with FakeComfy() as fc:
        fc.config(step_ms=0, steps=1)
        pid = fc.submit(graph("video.json"))[1]["prompt_id"]
        out = wait_history(fc, pid, timeout=30)["outputs"]["12"]["gifs"][0]
        assert out["format"] == "video/h264-mp4" and out["filename"].endswith(".mp4")
        st, _h, raw = fc.request("GET", f"/view?filename={out['filename']}&type=output")
        assert st == 200 and raw[4:8] == b"ftyp", raw[:12]
        assert pid.encode() in raw       # each prompt's file differs (its metadata tag)
        lora = graph("lora.json")
        st, body = fc.submit(lora)
        assert st == 400 and body["node_errors"]["10"]["errors"][0]["type"] == \
            "value_not_in_list"
        fc.config(hang=True)
        try:
            fc.request("GET", "/queue", timeout=0.3)
            raise AssertionError("a hanging fake answered")
        except socket.timeout:
            pass
        fc.config(hang=False)
        assert fc.queue()["queue_pending"] == []
        g = copy.deepcopy(graph())
        assert fc.submit(g, number=-5)[1]["number"] == -5


def test_drop_socket_and_catch_up():
    with FakeComfy() as fc:
        fc.config(step_ms=20, steps=50, drop_socket=True, drop_socket_ms=5000)
        w = WS(fc.port, "c1")
        try:
            assert w.recv()["type"] == "status"
            pid = fc.submit(graph(), client_id="c1")[1]["prompt_id"]
            # the socket is closed when the prompt starts, new ones are refused a while
            msgs = []
            for _ in range(100):
                m = w.recv()
                if m is None:
                    break
                msgs.append(m["type"])
            assert "execution_start" not in msgs, msgs
        finally:
            w.close()
        try:
            WS(fc.port, "c1").close()
            refused = False
        except AssertionError as e:
            refused = "503" in str(e)
        assert refused
        fc.config(drop_socket=False)      # switching it off accepts sockets again
        w = WS(fc.port, "c1")
        try:
            first = w.recv()
            assert first["type"] == "status" and first["data"]["sid"] == "c1"
            # the prompt ran on meanwhile: its client, reconnected, gets its messages again
            msgs = w.until(lambda m: m["type"] == "executing" and m["data"]["node"] is None)
            assert msgs[0]["type"] == "executing" and msgs[0]["data"]["node"] == "3", msgs[0]
            kinds = [m["type"] for m in msgs if m["type"] != "status"]
            assert kinds[-2] == "execution_success", kinds
            assert wait_history(fc, pid)["status"]["completed"] is True
        finally:
            w.close()

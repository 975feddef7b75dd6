"""Fake LibreTranslate and DeepL servers for tests/api/test_translate.py (127.0.0.1 only).

Each checks what a real service would: the method, the path, the auth (DeepL's
"Authorization: DeepL-Auth-Key KEY" header, LibreTranslate's api_key in the body), the body's
shape (a JSON object with a list of texts, source and target languages, the tag handling).
A script of status codes answers the first requests ("429" with Retry-After: 1, "500",
"403"); after the script every well-formed request gets a translation: each text upper-cased
outside the <x id="N"/> tokens and entities, which come back unchanged.  Everything received is kept in
`requests` (method, path, headers, body) so the test can assert on it."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = re.compile(r'(<x id="\d+"/>|&#?\w+;)')


def upper_outside_tokens(text):
    return "".join(p if TOKEN.fullmatch(p) else p.upper() for p in TOKEN.split(text))


class FakeService:
    def __init__(self, kind, key, script=()):
        """kind: "deepl" or "libretranslate"; key: the API key the service accepts;
        script: statuses answered to the first requests, in order."""
        self.kind = kind
        self.key = key
        self.script = list(script)
        self.requests = []
        self.problems = []
        self.lock = threading.Lock()
        svc = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                svc.handle(self, raw)

            def do_GET(self):
                svc.problems.append(f"GET {self.path}")
                self.send_response(405)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, h, status, body, headers=()):
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _check(self, h, body):
        """What is wrong with the request, or None."""
        if h.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return "content type is not application/json"
        if not isinstance(body, dict):
            return "the body is not a JSON object"
        if self.kind == "deepl":
            if h.path != "/v2/translate":
                return f"path {h.path}"
            if h.headers.get("Authorization") != f"DeepL-Auth-Key {self.key}":
                return "bad or missing Authorization header"
            texts = body.get("text")
            if not isinstance(texts, list) or not texts or len(texts) > 50:
                return "text must be a list of 1..50 strings"
            if body.get("target_lang") != "ES" or body.get("source_lang") != "EN":
                return f"languages {body.get('source_lang')} -> {body.get('target_lang')}"
            if body.get("tag_handling") != "xml" or body.get("ignore_tags") != ["x"]:
                return "tag handling is not xml with ignore_tags [x]"
        else:
            if h.path != "/translate":
                return f"path {h.path}"
            if body.get("api_key") != self.key:
                return "bad or missing api_key"
            texts = body.get("q")
            if not isinstance(texts, list) or not texts:
                return "q must be a non-empty list"
            if body.get("source") != "en" or body.get("target") != "es":
                return f"languages {body.get('source')} -> {body.get('target')}"
            if body.get("format") != "html":
                return "format is not html"
        if not all(isinstance(t, str) for t in texts):
            return "texts must be strings"
        return None

    def handle(self, h, raw):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self.lock:
            self.requests.append({"method": h.command, "path": h.path,
                                  "headers": dict(h.headers), "body": body})
            step = self.script.pop(0) if self.script else None
        problem = self._check(h, body)
        if problem:
            self.problems.append(problem)
            return self._answer(h, 400, {"error": problem})
        if step == 429:
            return self._answer(h, 429, {"message": "Too many requests"}, [("Retry-After", "1")])
        if step == 500:
            return self._answer(h, 500, {"message": "Internal error"})
        if step == 403:
            return self._answer(h, 403, {"message": "Wrong key"})
        if self.kind == "deepl":
            out = {"translations": [{"detected_source_language": "EN",
                                     "text": upper_outside_tokens(t)} for t in body["text"]]}
        else:
            out = {"translatedText": [upper_outside_tokens(t) for t in body["q"]]}
        return self._answer(h, 200, out)

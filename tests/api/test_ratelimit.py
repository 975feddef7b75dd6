"""Per-caller request rate limits (docs/integrations.md, "Rate limits"): a token bucket per
signed-in user, per API key and per client address for anonymous requests; over it, 429
with Retry-After and a JSON body; other callers are not affected. The rate is tiny (1 per
second, burst 3) so the bucket empties in a few requests, whatever the machine's speed.
"""

from harness import Server, assert_error

ENV = {"BATCHBOX_HTTP_RATE_LIMIT_PER_SEC": "1", "BATCHBOX_HTTP_RATE_LIMIT_BURST": "3",
       "BATCHBOX_AUTH_REGISTRATION": "open"}


def until_429(s, n=20, **kw):
    for i in range(n):
        r = s.req("GET", "/api/v1/jobs", **kw)
        if r.status == 429:
            return i, r
        assert r.status in (200, 401), r.describe()
    raise AssertionError("never limited")


def test_user_key_and_address_buckets():
    s = Server(env=ENV)
    key = s.call("POST", "/api/v1/user/api-keys", {"name": "k", "scope": "read"},
                 expect=201)
    # the admin's own bucket: a few pass, then 429 with Retry-After and a JSON body
    n, r = until_429(s)
    assert n >= 1, n
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1, r.headers
    assert r.body["details"]["retryAfterSec"] >= 1, r.body
    # another user (its own bucket) is not limited
    other = s.register("o@example.com", "password-of-o").body["accessToken"]
    assert s.req("GET", "/api/v1/jobs", token=other).status == 200
    # an API key of the limited user has its own bucket
    assert s.req("GET", "/api/v1/jobs", token=key["key"]).status == 200
    # anonymous requests are counted per address; /health is never limited
    until_429(s, auth=False, source_address="127.0.0.3")
    assert s.req("GET", "/api/v1/jobs", auth=False, source_address="127.0.0.4").status == 401
    for _ in range(6):
        assert s.req("GET", "/api/v1/health", auth=False,
                     source_address="127.0.0.3").status == 200


def test_off_by_default():
    s = Server()
    for _ in range(30):
        assert s.req("GET", "/api/v1/jobs").status == 200

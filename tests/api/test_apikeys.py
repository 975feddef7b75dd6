"""API keys (docs/integrations.md, "API keys"): created in the profile with a scope, shown
once, listed without the key and with lastUsedAt, revocable; `Authorization: Bearer bbk_...`
works for curl and the CLI (BATCHBOX_API_KEY); a read key cannot submit (403 naming the
scope), a submit key acts on its owner's jobs only, an admin key needs an admin account.
"""

import os
import subprocess

import harness
from harness import Server, assert_error

KEYS = "/api/v1/user/api-keys"


def make_key(s, scope, token=None, name="script", expect=201, **extra):
    body = {"name": name, "scope": scope}
    body.update(extra)
    return s.call("POST", KEYS, body, expect=expect, token=token)


def test_key_lifecycle_and_scopes():
    s = Server(env={"BATCHBOX_AUTH_REGISTRATION": "open"})
    read = make_key(s, "read", name="reader")
    assert read["key"].startswith("bbk_") and len(read["key"]) >= 40, read
    assert read["scope"] == "read" and read["prefix"] == read["key"][:12], read
    assert read["lastUsedAt"] is None and read["revokedAt"] is None, read
    # the key works for reads, like an access token
    jobs = s.call("GET", "/api/v1/jobs", token=read["key"])
    assert "items" in jobs
    # a read key cannot submit: 403 naming the scope
    r = s.req("POST", "/api/v1/jobs", {"preset": "noop"}, token=read["key"])
    assert_error(r, 403, "forbidden", field="scope")
    assert "read" in r.body["message"] and "submit" in r.body["message"], r.describe()
    # listed without the key, with its last use recorded
    items = s.call("GET", KEYS)["items"]
    mine = [k for k in items if k["id"] == read["id"]]
    assert mine and "key" not in mine[0], items
    assert mine[0]["lastUsedAt"] is not None, mine
    # a submit key submits and cancels its owner's jobs, but cannot reach admin routes
    sub = make_key(s, "submit", name="ci")
    jid = s.submit(preset="noop", headers={"Authorization": "Bearer " + sub["key"]})
    s.wait_terminal(jid)
    r = s.req("GET", "/api/v1/admin/stats", token=sub["key"])
    assert_error(r, 403, "forbidden")
    r = s.req("POST", KEYS, {"name": "x", "scope": "read"}, token=sub["key"])
    assert_error(r, 403, "forbidden", field="scope")
    # an admin key of the admin account acts as the admin
    adm = make_key(s, "admin", name="ops")
    s.call("GET", "/api/v1/admin/stats", token=adm["key"])
    s.call("GET", "/api/v1/admin/users", token=adm["key"])
    # revoke: the key stops working at once; revoking again is 404
    s.call("DELETE", f"{KEYS}/{read['id']}", expect=204)
    r = s.req("GET", "/api/v1/jobs", token=read["key"])
    assert_error(r, 401, "unauthorized")
    assert_error(s.req("DELETE", f"{KEYS}/{read['id']}"), 404, "not_found")
    revoked = [k for k in s.call("GET", KEYS)["items"] if k["id"] == read["id"]]
    assert revoked[0]["revokedAt"] is not None, revoked
    # another user neither sees nor revokes these keys; a user cannot make an admin key
    other = s.register("bob@example.com", "password-of-bob").body["accessToken"]
    assert s.call("GET", KEYS, token=other)["items"] == []
    assert_error(s.req("DELETE", f"{KEYS}/{sub['id']}", token=other), 404, "not_found")
    r = s.req("POST", KEYS, {"name": "x", "scope": "admin"}, token=other)
    assert_error(r, 403, "forbidden")
    # bob's submit key does not see the admin's jobs
    bob_key = make_key(s, "submit", token=other)["key"]
    assert_error(s.req("GET", f"/api/v1/jobs/{jid}", token=bob_key), 404, "not_found")
    assert_error(s.req("POST", f"/api/v1/jobs/{jid}/actions", {"type": "retry"}, token=bob_key),
                 404, "not_found")


def test_bad_requests_name_the_field():
    s = Server()
    cases = [({"scope": "read"}, "name"), ({"name": "x"}, "scope"),
             ({"name": "x", "scope": "write"}, "scope"), ({"name": "", "scope": "read"}, "name"),
             ({"name": "x", "scope": "read", "expiresAt": "tomorrow"}, "expiresAt"),
             ({"name": "x", "scope": "read", "expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
             ({"name": "x", "scope": "read", "colour": "red"}, "colour"),
             ({"name": 3, "scope": "read"}, "name")]
    for body, field in cases:
        assert_error(s.req("POST", KEYS, body), 400, "invalid", field=field)
    assert_error(s.req("POST", KEYS, "[1]"), 400, "invalid")
    assert_error(s.req("DELETE", f"{KEYS}/key_nope"), 404, "not_found")
    # an unknown key is 401; on a public route it is simply anonymous
    assert_error(s.req("GET", "/api/v1/jobs", token="bbk_" + "A" * 43), 401, "unauthorized")
    assert s.req("GET", "/api/v1/health", token="bbk_nope").status == 200
    # an expiry in the future is kept and shown
    k = make_key(s, "read", expiresAt="2999-01-02T03:04:05Z")
    assert k["expiresAt"] == "2999-01-02T03:04:05.000Z", k


def test_keys_survive_restart_and_the_cli_uses_them():
    s = Server()
    key = make_key(s, "submit")["key"]
    s.stop()
    s.restart()
    assert "items" in s.call("GET", "/api/v1/jobs", auth=False, token=key)
    env = dict(os.environ, BATCHBOX_API_KEY=key, BATCHBOX_URL=s.url(""))
    env.pop("BATCHBOX_TOKEN", None)
    out = subprocess.run([harness.BIN, "submit", "--server", s.url(""), "--preset", "noop"],
                         env=env, capture_output=True, text=True, timeout=harness.scaled(30),
                         cwd=s.base)
    assert out.returncode == 0, (out.stdout, out.stderr)

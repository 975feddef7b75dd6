"""Templates (docs/templates-and-inputs.md, docs/api.md "Templates"): saved form values of a
preset. GET/POST /presets/:id/templates and DELETE /templates/:id against the real binary:
every field's good and bad values (400 naming the field), unknown presets (404), the same
name replacing the owner's own template, owner scoping (another user sees nothing and
deleting answers 404), sharing by an admin (a non-admin asking for it gets 403), the
per-user cap (409), and templates surviving a restart.
"""

import harness
from harness import Server, assert_error

# A command preset using three params in its argv and a seed-like one the params helper
# may declare; "md" is always sweepable.
RESIZE = {"id": "resize", "workflow": "command",
          "argv": ["echo", "{param.size}", "{param.mode}", "{param.seed}", "{input}"],
          "maxAttempts": 1}


def start(env=None):
    env = dict(env or {})
    env.setdefault("BATCHBOX_AUTH_REGISTRATION", "open")
    return Server(env=env, presets_extra=[RESIZE])


def path(preset="resize"):
    return f"/api/v1/presets/{preset}/templates"


def save(s, body, token=None, expect=201):
    return s.call("POST", path(), body, expect=expect, token=token)


def names(s, token=None, preset="resize"):
    return [t["name"] for t in s.call("GET", path(preset), token=token)["templates"]]


def user(s, email):
    r = s.register(email, "password-of-" + email.split("@")[0])
    return r.body["accessToken"], r.body["user"]["id"]


def test_save_list_and_delete_a_template():
    s = start()
    t = save(s, {"name": "small", "params": {"size": 128, "mode": "fit"},
                 "sweep": {"md": {"dir": "sub", "glob": "*.md"}, "size": [64, 128]}})
    assert t["id"].startswith("tpl_"), t
    assert t["preset"] == "resize" and t["name"] == "small", t
    assert t["params"] == {"size": 128, "mode": "fit"}, t
    assert t["sweep"] == {"md": {"dir": "sub", "glob": "*.md"}, "size": [64, 128]}, t
    assert t["shared"] is False and t["ownerId"] is not None, t
    for k in ("createdAt", "updatedAt"):
        assert harness.ISO_RE.match(t[k]), t
    lst = s.call("GET", path())["templates"]
    assert lst == [t], lst
    # without a sweep, sweep is null; params may be empty
    t2 = save(s, {"name": "empty", "params": {}})
    assert t2["sweep"] is None and t2["params"] == {}, t2
    assert names(s) == ["empty", "small"]
    # another preset has its own list
    assert names(s, preset="noop") == []
    s.call("DELETE", f"/api/v1/templates/{t['id']}", expect=204)
    assert names(s) == ["empty"]
    # gone: a second delete is 404; a bare number works as the id too
    assert_error(s.req("DELETE", f"/api/v1/templates/{t['id']}"), 404, "not_found")
    s.call("DELETE", f"/api/v1/templates/{t2['id'][4:]}", expect=204)
    assert names(s) == []
    for bad in ("tpl_x", "0", "tpl_-1", "999999"):
        assert_error(s.req("DELETE", f"/api/v1/templates/{bad}"), 404, "not_found")


def test_same_name_replaces_the_owners_template():
    s = start()
    a = save(s, {"name": "mine", "params": {"size": 1}})
    b = save(s, {"name": "mine", "params": {"size": 2}, "sweep": {"mode": ["a", "b"]}})
    assert b["id"] == a["id"] and b["createdAt"] == a["createdAt"], (a, b)
    assert b["params"] == {"size": 2} and b["sweep"] == {"mode": ["a", "b"]}, b
    lst = s.call("GET", path())["templates"]
    assert len(lst) == 1 and lst[0]["params"] == {"size": 2}, lst
    # the name is exact: another case is another template
    save(s, {"name": "Mine", "params": {}})
    assert names(s) == ["Mine", "mine"]


def test_unknown_preset_is_404():
    s = start()
    assert_error(s.req("GET", path("nope")), 404, "not_found")
    assert_error(s.req("POST", path("nope"), {"name": "x", "params": {}}), 404, "not_found")


def test_bad_bodies_name_the_field():
    s = start()
    cases = [
        ({"params": {}}, "name"),
        ({"name": "", "params": {}}, "name"),
        ({"name": "   ", "params": {}}, "name"),
        ({"name": "x" * 101, "params": {}}, "name"),
        ({"name": 7, "params": {}}, "name"),
        ({"name": "a\tb", "params": {}}, "name"),
        ({"name": "x"}, "params"),
        ({"name": "x", "params": []}, "params"),
        ({"name": "x", "params": "size=1"}, "params"),
        ({"name": "x", "params": {"nope": 1}}, "params.nope"),
        ({"name": "x", "params": {"size": {"a": 1}}}, "params.size"),
        ({"name": "x", "params": {"size": [1]}}, "params.size"),
        ({"name": "x", "params": {"size": None}}, "params.size"),
        ({"name": "x", "params": {"mode": "y" * 4097}}, "params.mode"),
        ({"name": "x", "params": {}, "sweep": []}, "sweep"),
        ({"name": "x", "params": {}, "sweep": {"nope": [1]}}, "sweep.nope"),
        ({"name": "x", "params": {}, "sweep": {"size": []}}, "sweep.size"),
        ({"name": "x", "params": {}, "sweep": {"size": 5}}, "sweep.size"),
        ({"name": "x", "params": {}, "sweep": {"size": [[1]]}}, "sweep.size"),
        ({"name": "x", "params": {}, "sweep": {"size": list(range(1001))}}, "sweep.size"),
        # {count} is only for seed params; undeclared argv names are strings
        ({"name": "x", "params": {}, "sweep": {"size": {"count": 3}}}, "sweep.size"),
        ({"name": "x", "params": {}, "sweep": {"md": []}}, "sweep.md"),
        ({"name": "x", "params": {}, "sweep": {"md": [""]}}, "sweep.md"),
        ({"name": "x", "params": {}, "sweep": {"md": [3]}}, "sweep.md"),
        ({"name": "x", "params": {}, "sweep": {"md": {"glob": "*"}}}, "sweep.md"),
        ({"name": "x", "params": {}, "sweep": {"md": {"dir": "a", "depth": 2}}}, "sweep.md"),
        ({"name": "x", "params": {}, "sweep": {"md": {"dir": "a", "recursive": "yes"}}},
         "sweep.md"),
        ({"name": "x", "params": {}, "shared": "yes"}, "shared"),
        ({"name": "x", "params": {}, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        assert_error(s.req("POST", path(), body), 400, "invalid", field=field)
    # duplicate keys are refused, not silently merged
    raw = b'{"name": "x", "params": {"size": 1, "size": 2}}'
    assert_error(s.req("POST", path(), raw), 400, "invalid", field="params")
    raw = b'{"name": "x", "name": "y", "params": {}}'
    assert_error(s.req("POST", path(), raw), 400, "invalid", field="name")
    # not JSON / not an object
    assert_error(s.req("POST", path(), b"[1]"), 400, "invalid")
    assert_error(s.req("POST", path(), b"{", headers={"Content-Type": "application/json"}), 400)
    assert_error(s.req("POST", path(), b"name=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    # nothing was stored by any of them
    assert names(s) == []
    # edge values that are fine: 100 characters (multi-byte), null sweep, md lists
    ok = save(s, {"name": "é" * 100, "params": {"size": "1", "mode": True},
                  "sweep": None})
    assert ok["sweep"] is None, ok
    save(s, {"name": "md list", "params": {}, "sweep": {"md": ["upl_1", "a.md"]}})
    save(s, {"name": "md dir", "params": {},
             "sweep": {"md": {"dir": "", "glob": "*.md", "recursive": True}}})
    assert len(names(s)) == 3


def test_scoping_and_sharing():
    s = start()
    alice, alice_id = user(s, "alice@example.com")
    bob, _ = user(s, "bob@example.com")
    a = save(s, {"name": "alice's", "params": {"size": 1}}, token=alice)
    assert a["ownerId"] == str(alice_id), a
    # bob sees nothing of alice's and cannot delete it (404: not his to know about)
    assert names(s, token=bob) == []
    assert_error(s.req("DELETE", f"/api/v1/templates/{a['id']}", token=bob), 404, "not_found")
    # the same name for bob is his own template, not a replacement of alice's
    b = save(s, {"name": "alice's", "params": {"size": 2}}, token=bob)
    assert b["id"] != a["id"]
    assert [t["params"] for t in s.call("GET", path(), token=alice)["templates"]] == \
        [{"size": 1}]
    # a non-admin may not share
    assert_error(s.req("POST", path(), {"name": "pub", "params": {}, "shared": True},
                       token=alice), 403, "forbidden")
    assert names(s, token=alice) == ["alice's"]
    # the admin (harness default token) shares one: everybody sees it
    shared = save(s, {"name": "house style", "params": {"mode": "fit"}, "shared": True})
    assert shared["shared"] is True, shared
    assert names(s, token=alice) == ["alice's", "house style"]
    assert names(s, token=bob) == ["alice's", "house style"]
    # ... but only the admin may delete it (visible, so 403 rather than 404)
    assert_error(s.req("DELETE", f"/api/v1/templates/{shared['id']}", token=bob), 403,
                 "forbidden")
    # the admin lists own + shared, not everyone's, yet may delete anyone's
    assert names(s) == ["house style"]
    s.call("DELETE", f"/api/v1/templates/{a['id']}", expect=204)
    assert names(s, token=alice) == ["house style"]
    s.call("DELETE", f"/api/v1/templates/{shared['id']}", expect=204)
    assert names(s, token=bob) == ["alice's"]
    # unsharing by saving again without shared
    again = save(s, {"name": "house style", "params": {}, "shared": True})
    save(s, {"name": "house style", "params": {}})
    assert names(s, token=bob) == ["alice's"], again


def test_per_user_cap_is_409():
    s = start()
    tok, _ = user(s, "many@example.com")
    for i in range(200):
        save(s, {"name": f"t{i:03d}", "params": {}}, token=tok)
    r = s.req("POST", path(), {"name": "one too many", "params": {}}, token=tok)
    assert_error(r, 409, "conflict")
    assert "200" in r.body["message"], r.describe()
    # replacing an existing one still works at the cap; the cap is per user
    save(s, {"name": "t000", "params": {"size": 5}}, token=tok)
    save(s, {"name": "someone else's", "params": {}})
    lst = s.call("GET", path(), token=tok)["templates"]
    assert len(lst) == 200 and lst[0]["params"] == {"size": 5}, len(lst)
    # deleting one makes room
    s.call("DELETE", f"/api/v1/templates/{lst[1]['id']}", token=tok, expect=204)
    save(s, {"name": "one too many", "params": {}}, token=tok)


def test_templates_survive_a_restart_and_need_sign_in():
    s = start()
    t = save(s, {"name": "keep", "params": {"size": 3}, "sweep": {"seed": ["1", "2"]}})
    s.stop()
    s.restart()
    assert s.call("GET", path())["templates"] == [t]
    assert_error(s.req("GET", path(), auth=False), 401, "unauthorized")
    assert_error(s.req("POST", path(), {"name": "x", "params": {}}, auth=False), 401)
    assert_error(s.req("DELETE", f"/api/v1/templates/{t['id']}", auth=False), 401)

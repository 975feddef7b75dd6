"""Typed parameters (docs/parameters.md) through the real binary: each type's 400 names
params.NAME, a bad schema refuses to start naming the key, defaults are filled and shown in
the DTO, a random seed is resolved once and stored, "-x" is refused unless allowDash, a
command preset receives the canonical text, and /config/job-options shows the schema."""

import json
import os

from harness import Server, assert_error

TYPED = {
    "id": "typed", "workflow": "command", "maxAttempts": 1,
    "argv": ["printf", "%s\\n", "size={param.size}", "ratio={param.ratio}", "hq={param.hq}",
             "fmt={param.fmt}", "seed={param.seed}", "tag={param.tag}", "opt={param.opt}",
             "mask={param.mask}", "{param.flag}"],
    "params": [
        {"name": "size", "type": "int", "label": "Size (px)", "help": "Longest side",
         "default": 256, "min": 16, "max": 4096, "step": 16},
        {"name": "ratio", "type": "float", "default": 1.5, "min": 0.25, "max": 4},
        {"name": "hq", "type": "bool", "default": False},
        {"name": "fmt", "type": "enum", "default": "png",
         "choices": ["png", {"value": "jpg", "label": "JPEG"}]},
        {"name": "seed", "type": "seed", "default": "random"},
        {"name": "tag", "type": "string", "default": "x", "maxLength": 8,
         "pattern": "[a-z0-9_]+"},
        {"name": "opt", "type": "string"},
        {"name": "flag", "type": "string", "default": "--verbose", "allowDash": True},
        {"name": "note", "type": "text", "maxLength": 20},
        {"name": "mask", "type": "file"},
        {"name": "must", "type": "int", "required": False},
    ],
}
LESSONISH = {"id": "choose", "workflow": "noop", "maxAttempts": 1,
             "params": [{"name": "accent", "type": "enum",
                         "optionsSource": "lesson:voiceAccents"},
                        {"name": "req", "type": "bool", "required": True}]}


# reads a file param's bytes: an upload id reaches the program as a path
READFILE = {"id": "readfile", "workflow": "command", "maxAttempts": 1,
            "argv": ["wc", "-c", "{param.f}"], "params": [{"name": "f", "type": "file"}]}


def _server():
    return Server(presets_extra=[TYPED, LESSONISH, READFILE])


def _post(s, params, preset="typed", **extra):
    body = {"preset": preset, "params": params}
    body.update(extra)
    return s.req("POST", "/api/v1/jobs", body)


def _lines(s, jid):
    dto = s.wait_terminal(jid)
    assert dto["state"] == "succeeded", dto
    return s.logs(jid).splitlines()


def test_each_type_refuses_bad_values_naming_the_field():
    s = _server()
    bad = [
        ({"size": 17}, "params.size"),            # off the step
        ({"size": 8192}, "params.size"),          # over max
        ({"size": "big"}, "params.size"),
        ({"size": 16.5}, "params.size"),
        ({"ratio": 0.1}, "params.ratio"),
        ({"ratio": "1,5"}, "params.ratio"),
        ({"hq": "yes"}, "params.hq"),
        ({"hq": 1}, "params.hq"),
        ({"fmt": "gif"}, "params.fmt"),
        ({"fmt": "JPEG"}, "params.fmt"),          # a label is not a value
        ({"seed": -1}, "params.seed"),
        ({"seed": 2 ** 53}, "params.seed"),
        ({"seed": "lucky"}, "params.seed"),
        ({"tag": "UPPER"}, "params.tag"),         # pattern
        ({"tag": "abcdefghi"}, "params.tag"),     # maxLength
        ({"tag": "a\nb"}, "params.tag"),          # one line
        ({"note": "x" * 21}, "params.note"),
        ({"mask": "upl_999"}, "params.mask"),     # no such upload
        ({"mask": "link.md"}, "params.mask"),     # resolves outside the input root
        ({"mask": "../outside.md"}, "params.mask"),
        ({"mask": "nope.md"}, "params.mask"),
        ({"unknown": "1"}, "params.unknown"),
        ({"opt": ["a"]}, "params.opt"),
    ]
    for params, field in bad:
        r = _post(s, params)
        assert_error(r, 400, "invalid", field)
        fields = r.body["details"]["fields"]
        assert field in fields, f"{params}: {fields}"
    # several bad values are reported together
    r = _post(s, {"size": 1, "hq": "no"})
    assert_error(r, 400, "invalid")
    assert {"params.size", "params.hq"} <= set(r.body["details"]["fields"]), r.describe()
    # a required param left out
    assert_error(_post(s, {}, preset="choose"), 400, "invalid", "params.req")
    assert_error(_post(s, {"req": True, "accent": "martian"}, preset="choose"), 400, "invalid",
                 "params.accent")
    jid = s.submit(preset="choose", params={"req": "true", "accent": "british_male"})
    assert s.job(jid)["params"] == {"accent": "british_male", "req": True}


def test_defaults_filled_and_shown_and_canonical_text_substituted():
    s = _server()
    jid = s.submit(preset="typed", params={"opt": "o"})
    dto = s.job(jid)
    p = dto["params"]
    seed = p.pop("seed")
    assert p == {"size": 256, "ratio": 1.5, "hq": False, "fmt": "png", "tag": "x", "opt": "o",
                 "flag": "--verbose"}, dto
    assert isinstance(seed, int) and 0 <= seed < 2 ** 53, seed
    lines = _lines(s, jid)
    assert lines == ["size=256", "ratio=1.5", "hq=false", "fmt=png", f"seed={seed}", "tag=x",
                     "opt=o", "mask=", "--verbose"], lines
    # strings from old clients and the CLI become typed values; text is canonical
    jid = s.submit(preset="typed", params={"size": "0512", "ratio": "2.50", "hq": "true",
                                           "seed": "9007199254740991", "fmt": "jpg"})
    p = s.job(jid)["params"]
    assert p["size"] == 512 and p["ratio"] == 2.5 and p["hq"] is True, p
    assert p["seed"] == 9007199254740991, p
    lines = _lines(s, jid)
    assert lines[:5] == ["size=512", "ratio=2.5", "hq=true", "fmt=jpg",
                         "seed=9007199254740991"], lines
    assert lines[6] == "opt=", lines              # an optional param left out: empty text


def test_random_seed_resolved_once_and_stored():
    s = _server()
    seeds = set()
    for _ in range(3):
        jid = s.submit(preset="typed", params={"seed": "random"})
        first = s.job(jid)["params"]["seed"]
        assert isinstance(first, int) and 0 <= first < 2 ** 53, first
        lines = _lines(s, jid)
        assert f"seed={first}" in lines, lines    # the command got the stored seed
        assert s.job(jid)["params"]["seed"] == first
        seeds.add(first)
    assert len(seeds) == 3, seeds
    s.stop()
    s.start()
    assert s.job(jid)["params"]["seed"] == first  # stored, not drawn again


def test_dash_refused_unless_allowed():
    s = _server()
    for v in ("-x", "--rm", "-"):
        r = _post(s, {"opt": v})
        assert_error(r, 400, "invalid", "params.opt")
        assert "-" in r.body["details"]["fields"]["params.opt"]
    # allowDash: the value goes through as it is
    jid = s.submit(preset="typed", params={"flag": "-n"})
    assert _lines(s, jid)[-1] == "-n"
    # an undeclared argv param (preset "param") keeps the rule too
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "param", "params": {"name": "-e"}}),
                 400, "invalid", "params.name")
    # a preset that runs no program takes it
    jid = s.submit(preset="noop", params={"anything": "-x"})
    assert s.job(jid)["params"] == {"anything": "-x"}


def test_file_param_takes_own_upload_or_input_path():
    s = _server()
    r = s.req("POST", "/api/v1/uploads?filename=mask.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64,
              {"Content-Type": "application/octet-stream"})
    assert r.status == 201, r.describe()
    upl = r.body["fileId"]
    jid = s.submit(preset="typed", params={"mask": upl})
    assert s.job(jid)["params"]["mask"] == upl
    # the program gets a path to the upload's bytes, staged in its work directory
    staged = [ln[5:] for ln in _lines(s, jid) if ln.startswith("mask=")]
    assert len(staged) == 1 and staged[0].endswith("/param-mask/mask.png"), staged
    jid = s.submit(preset="readfile", params={"f": upl})
    assert any(ln.startswith("72 ") and ln.endswith("/param-f/mask.png")
               for ln in _lines(s, jid)), _lines(s, jid)
    jid = s.submit(preset="typed", params={"mask": "sub/c.md"})
    assert s.job(jid)["params"]["mask"] == "sub/c.md"
    # the program gets the real path inside the input root, checked again at run time
    real = os.path.realpath(os.path.join(s.inputs, "sub/c.md"))
    assert "mask=" + real in _lines(s, jid)


def test_job_options_show_the_schema():
    s = _server()
    opts = s.call("GET", "/api/v1/config/job-options")
    assert opts["limits"]["maxBatchSize"] == 1000, opts["limits"]
    presets = {p["id"]: p for p in opts["presets"]}
    typed = presets["typed"]["params"]
    size = typed[0]
    assert size == {"name": "size", "type": "int", "label": "Size (px)", "help": "Longest side",
                    "default": 256, "min": 16, "max": 4096, "step": 16, "required": False,
                    "declared": True}, size
    byname = {p["name"]: p for p in typed}
    assert byname["fmt"]["choices"] == [{"value": "png", "label": "png"},
                                        {"value": "jpg", "label": "JPEG"}]
    assert byname["seed"]["default"] == "random"
    assert byname["tag"]["pattern"] == "[a-z0-9_]+" and byname["tag"]["maxLength"] == 8
    assert byname["flag"]["allowDash"] is True
    assert "allowDash" not in byname["opt"]
    # an argv-only name is an undeclared, required string
    assert presets["param"]["params"] == [{"name": "name", "type": "string", "label": "name",
                                           "required": True, "declared": False}]
    # an optionsSource shows its current values
    accent = presets["choose"]["params"][0]
    assert accent["optionsSource"] == "lesson:voiceAccents"
    values = [c["value"] for c in accent["choices"]]
    assert values and set(values) == set(opts["voiceAccents"]), accent


def test_limit_from_the_environment():
    s = Server(env={"BATCHBOX_LIMITS_MAX_BATCH_SIZE": "12"})
    assert s.call("GET", "/api/v1/config/job-options")["limits"]["maxBatchSize"] == 12


def _refuses(params, want, workflow="command"):
    s = Server(start=False)
    cfg = s.default_config()
    preset = {"id": "bad", "workflow": workflow, "params": params}
    if workflow == "command":
        preset["argv"] = ["true"]
    cfg["presets"].append(preset)
    with open(s.config_path, "w") as f:
        json.dump(cfg, f)
    rc = s.start(expect_fail=True)
    assert rc != 0, f"server started with params {params}"
    out = s.stderr_text() + s.stdout_since_start()
    assert want in out, f"start-up error does not name {want}:\n" + s.stderr_tail()


def test_bad_schema_refuses_to_start_naming_the_key():
    n = len(Server(start=False).default_config()["presets"])
    at = f"presets[{n}].params"
    _refuses([{"name": "a", "type": "int", "min": 5, "max": 1}], at + "[0].min")
    _refuses([{"name": "a", "type": "int"}, {"name": "b", "type": "enum"}], at + "[1].choices")
    _refuses([{"name": "a", "type": "float", "default": "x"}], at + "[0].default")
    _refuses([{"name": "a", "type": "string", "pattern": "(["}], at + "[0].pattern")
    _refuses([{"name": "a", "type": "enum", "optionsSource": "nobody:things"}],
             at + "[0].optionsSource")
    _refuses([{"name": "a", "type": "string", "default": "-v"}], at + "[0].default")
    _refuses([{"name": "a", "type": "colour"}], at + "[0].type", workflow="noop")


def test_legacy_string_params_keep_working():
    s = _server()
    assert os.path.exists(os.path.join(s.inputs, "a.md"))
    jid = s.submit(preset="param", params={"name": "two words"})
    assert _lines(s, jid) == ["two words"]
    assert s.job(jid)["params"] == {"name": "two words"}
    assert_error(s.req("POST", "/api/v1/jobs", {"preset": "param", "params": {}}), 400,
                 "invalid", "params.name")

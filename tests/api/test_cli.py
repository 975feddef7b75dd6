"""The CLI's account commands against the real server: `batchbox login / logout / whoami`
(the stored credentials file, its modes, token refresh on a 401, sign-out), client verbs
using the stored token, and the operator's `batchbox user ...` commands on the database.

Every CLI run gets HOME and XDG_CONFIG_HOME in a private temporary directory, no
BATCHBOX_TOKEN/BATCHBOX_SERVER from the environment, a bounded timeout, and its stderr is
checked for sanitizer reports (the suite also runs against the ASan build).
"""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import harness
from harness import SANITIZER_MARKERS, Server, scaled

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"


def _server(**kw):
    """A server whose first admin comes from the environment."""
    env = {"BATCHBOX_ADMIN_EMAIL": ADMIN_EMAIL, "BATCHBOX_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.update(kw.pop("env", {}))
    return Server(env=env, **kw)


class Cli:
    """Runs the batchbox binary as one user of one machine: a private HOME and config dir."""

    def __init__(self, server, home=None):
        """home: share another Cli's home (the same user talking to another server)."""
        self.server = server
        self.owns_home = home is None
        self.home = home or tempfile.mkdtemp(prefix="bbcli-")
        self.config = os.path.join(self.home, "config")
        self.cred_dir = os.path.join(self.config, "batchbox")
        self.cred_file = os.path.join(self.cred_dir, "credentials.json")

    def close(self):
        if self.owns_home:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.port}"

    def run(self, *args, stdin=None, env=None, timeout=30):
        """Runs `batchbox ARGS`; returns the CompletedProcess (text mode)."""
        e = {k: v for k, v in os.environ.items()
             if k not in ("BATCHBOX_TOKEN", "BATCHBOX_SERVER", "XDG_CONFIG_HOME")}
        e.update(HOME=self.home, XDG_CONFIG_HOME=self.config)
        e.update(env or {})
        try:
            p = subprocess.run([harness.BIN] + [str(a) for a in args], input=stdin or "",
                               capture_output=True, text=True, env=e,
                               timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"batchbox {' '.join(map(str, args))}: no exit within "
                                 f"{scaled(timeout):.0f}s")
        san = [l for l in p.stderr.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
        assert not san, f"sanitizer report from batchbox {args}:\n{p.stderr[-3000:]}"
        return p

    def client(self, verb, *args, **kw):
        """A client verb against this CLI's server."""
        return self.run(verb, *args, "--server", self.url, **kw)

    def user(self, *args, **kw):
        """`batchbox user ...` on the server's database."""
        return self.run("user", *args, "--data", self.server.data, **kw)

    def ok(self, p, code=0):
        assert p.returncode == code, (f"{p.args[1:]} exited {p.returncode}, expected {code}\n"
                                      f"stdout: {p.stdout[-1500:]}\nstderr: {p.stderr[-1500:]}")
        return p

    def login(self, email, password, code=0):
        return self.ok(self.client("login", "--email", email, "--password-stdin",
                                   stdin=password + "\n"), code)

    def creds(self):
        """The whole credentials file (a dict), {} when it does not exist."""
        try:
            with open(self.cred_file) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def entry(self):
        return self.creds().get(self.url)

    def edit_entry(self, **fields):
        """Changes fields of this server's entry in place (the file keeps its mode)."""
        all_ = self.creds()
        all_[self.url].update(fields)
        with open(self.cred_file, "w") as f:
            json.dump(all_, f)


def _me(s, token):
    return s.req("GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_cli_login_stores_private_credentials_and_whoami():
    s = _server()
    cli = Cli(s)
    try:
        cli.ok(cli.user("add", "bob@example.com", "--name", "Bob", "--password-stdin",
                        stdin="bob-password\n"))
        p = cli.login("bob@example.com", "bob-password")
        assert "bob@example.com" in p.stdout, p.stdout

        st_dir = os.stat(cli.cred_dir)
        st_file = os.stat(cli.cred_file)
        assert stat.S_IMODE(st_dir.st_mode) == 0o700, oct(st_dir.st_mode)
        assert stat.S_IMODE(st_file.st_mode) == 0o600, oct(st_file.st_mode)
        assert stat.S_IMODE(os.stat(cli.config).st_mode) == 0o700, "created parent not 0700"
        # Written atomically: no temporary file left beside it.
        assert sorted(os.listdir(cli.cred_dir)) == ["credentials.json", "credentials.lock"], \
            os.listdir(cli.cred_dir)

        e = cli.entry()
        assert e is not None, cli.creds()
        assert e["server"] == cli.url and e["email"] == "bob@example.com", e
        assert e["accessToken"].startswith("bba_") and e["refreshToken"].startswith("bbr_"), e
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["expiresAt"]), e
        assert _me(s, e["accessToken"]).status == 200

        p = cli.ok(cli.client("whoami"))
        assert "bob@example.com" in p.stdout and "Bob" in p.stdout and "user" in p.stdout, \
            p.stdout
        p = cli.ok(cli.client("whoami", "--json"))
        me = json.loads(p.stdout)
        assert me["email"] == "bob@example.com" and me["role"] == "user", me
        assert "accessToken" not in p.stdout and "password" not in p.stdout

        # The default location is ~/.config when XDG_CONFIG_HOME is unset.
        p = cli.ok(cli.client("login", "--email", ADMIN_EMAIL, "--password-stdin",
                              stdin=ADMIN_PASSWORD + "\n", env={"XDG_CONFIG_HOME": ""}))
        home_file = os.path.join(cli.home, ".config", "batchbox", "credentials.json")
        assert stat.S_IMODE(os.stat(home_file).st_mode) == 0o600
        with open(home_file) as f:
            assert json.load(f)[cli.url]["email"] == ADMIN_EMAIL
        # ... and the XDG one still holds bob's session.
        assert cli.entry()["email"] == "bob@example.com"
    finally:
        cli.close()


def test_cli_not_signed_in_and_env_token():
    s = _server()
    cli = Cli(s)
    try:
        p = cli.ok(cli.client("whoami"), 1)
        assert "not signed in" in p.stderr, p.stderr
        p = cli.ok(cli.client("jobs"), 1)
        assert "401" in p.stderr and "batchbox login" in p.stderr, p.stderr

        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        before = cli.entry()
        # BATCHBOX_TOKEN wins over the stored token, and is never "refreshed".
        p = cli.ok(cli.client("whoami", env={"BATCHBOX_TOKEN": "bba_not_a_real_token"}), 1)
        assert "401" in p.stderr, p.stderr
        assert cli.entry() == before, "a BATCHBOX_TOKEN failure touched the stored session"
        p = cli.ok(cli.client("whoami", env={"BATCHBOX_TOKEN": before["accessToken"]}))
        assert ADMIN_EMAIL in p.stdout
    finally:
        cli.close()


def test_cli_submit_wait_and_logs_with_stored_token():
    s = _server()
    cli = Cli(s)
    try:
        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        p = cli.ok(cli.client("submit", "--preset", "echo", "--wait"))
        assert "submitted job" in p.stdout and "succeeded" in p.stdout, p.stdout
        jid = p.stdout.split("submitted job ", 1)[1].split()[0]
        p = cli.ok(cli.client("logs", jid))
        assert "hello" in p.stdout, p.stdout
        p = cli.ok(cli.client("jobs", "--json"))
        assert [j["jobId"] for j in json.loads(p.stdout)["items"]] == [jid], p.stdout
    finally:
        cli.close()


def test_cli_wrong_password_and_rate_limit():
    s = _server()
    cli = Cli(s)
    try:
        p = cli.login(ADMIN_EMAIL, "not-the-password", code=1)
        assert "wrong email or password" in p.stderr, p.stderr
        assert cli.entry() is None
        p = cli.login("nobody@example.com", "whatever-password", code=1)
        assert "wrong email or password" in p.stderr, p.stderr
        # Five failures for one e-mail, then 429 with Retry-After: still exit 1.
        for _ in range(4):
            cli.login(ADMIN_EMAIL, "not-the-password", code=1)
        p = cli.login(ADMIN_EMAIL, "not-the-password", code=1)
        assert "HTTP 429" in p.stderr and "retry after" in p.stderr, p.stderr
        assert cli.entry() is None
        # Usage errors.
        cli.ok(cli.client("login", "--password-stdin", stdin="x\n"), 2)
        cli.ok(cli.client("login", "--email", ADMIN_EMAIL, stdin=""), 2)
        cli.ok(cli.client("login", "--email", ADMIN_EMAIL, "--password-stdin", stdin=""), 2)
    finally:
        cli.close()


def test_cli_refreshes_on_401_and_expires_when_refused():
    s = _server()
    cli = Cli(s)
    try:
        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        first = cli.entry()

        # A stale access token: the server answers 401, the CLI refreshes, stores the new
        # pair (still 0600) and the command succeeds.
        cli.edit_entry(accessToken="bba_stale")
        p = cli.ok(cli.client("jobs"))
        second = cli.entry()
        assert second["accessToken"] not in ("bba_stale", first["accessToken"]), second
        assert second["refreshToken"] != first["refreshToken"], second
        assert stat.S_IMODE(os.stat(cli.cred_file).st_mode) == 0o600
        assert sorted(os.listdir(cli.cred_dir)) == ["credentials.json", "credentials.lock"]
        assert _me(s, second["accessToken"]).status == 200

        # The same on a streaming request (logs -f of a finished job).
        jid = cli.ok(cli.client("submit", "--preset", "echo", "--wait")).stdout.split()[2]
        cli.edit_entry(accessToken="bba_stale")
        p = cli.ok(cli.client("logs", jid, "-f"))
        assert "hello" in p.stdout, p.stdout
        third = cli.entry()
        assert third["refreshToken"] not in (first["refreshToken"], second["refreshToken"])

        # Several commands at once with a stale token: one refresh, all succeed (a second
        # refresh with the same token would revoke the session).
        cli.edit_entry(accessToken="bba_stale")
        env = {k: v for k, v in os.environ.items()
               if k not in ("BATCHBOX_TOKEN", "BATCHBOX_SERVER")}
        env.update(HOME=cli.home, XDG_CONFIG_HOME=cli.config)
        procs = [subprocess.Popen([harness.BIN, "jobs", "--server", cli.url],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, env=env, text=True)
                 for _ in range(4)]
        for pr in procs:
            try:
                _, err = pr.communicate(timeout=scaled(30))
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                raise AssertionError("parallel `batchbox jobs` did not finish")
            assert pr.returncode == 0, err
        fourth = cli.entry()
        assert _me(s, fourth["accessToken"]).status == 200
        cli.ok(cli.client("whoami"))

        # A spent refresh token presented again revokes the whole session: the CLI's
        # refresh is refused, it says so, exits 1 and forgets the entry.
        r = s.req("POST", "/api/v1/auth/refresh", {"refreshToken": first["refreshToken"]})
        assert r.status == 401, r.describe()
        assert _me(s, fourth["accessToken"]).status == 401
        p = cli.ok(cli.client("jobs"), 1)
        assert "session expired: run batchbox login" in p.stderr, p.stderr
        assert cli.entry() is None, cli.creds()
        cli.ok(cli.client("whoami"), 1)
    finally:
        cli.close()


def test_cli_logout():
    s = _server()
    other = _server()
    cli = Cli(s)
    cli2 = Cli(other, home=cli.home)  # the same user, a second server
    try:
        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        cli2.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert set(cli.creds()) == {cli.url, cli2.url}, cli.creds()
        old = cli.entry()

        p = cli.ok(cli.client("logout"))
        assert "signed out" in p.stdout, p.stdout
        assert cli.entry() is None and cli2.entry() is not None, cli.creds()
        assert _me(s, old["accessToken"]).status == 401
        r = s.req("POST", "/api/v1/auth/refresh", {"refreshToken": old["refreshToken"]})
        assert r.status == 401, r.describe()
        p = cli.ok(cli.client("whoami"), 1)
        assert "not signed in" in p.stderr, p.stderr
        p = cli.ok(cli.client("logout"))
        assert "not signed in" in p.stdout, p.stdout
        cli2.ok(cli2.client("whoami"))

        # Server gone: the entry is still removed, with a warning.
        other.stop()
        p = cli2.ok(cli2.client("logout"))
        assert "could not sign out" in p.stderr, p.stderr
        assert cli2.entry() is None
    finally:
        cli.close()


def test_cli_user_role_last_admin():
    s = _server()
    cli = Cli(s)
    try:
        p = cli.ok(cli.user("role", ADMIN_EMAIL, "user"), 1)
        assert "last admin" in p.stderr, p.stderr
        p = cli.ok(cli.user("disable", ADMIN_EMAIL), 1)
        assert "last admin" in p.stderr, p.stderr
        users = json.loads(cli.ok(cli.user("list", "--json")).stdout)["items"]
        assert [(u["email"], u["role"], u["disabled"]) for u in users] == \
            [(ADMIN_EMAIL, "admin", False)], users

        cli.ok(cli.user("add", "boss@example.com", "--role", "admin", "--password-stdin",
                        stdin="boss-password\n"))
        cli.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        token = cli.entry()["accessToken"]
        auth = {"Authorization": f"Bearer {token}"}
        assert s.req("GET", "/api/v1/admin/users", headers=auth).status == 200
        p = cli.ok(cli.user("role", ADMIN_EMAIL, "user"))
        assert "now user" in p.stdout, p.stdout
        # The running server sees the change at once, for the tokens already issued.
        r = s.req("GET", "/api/v1/admin/users", headers=auth)
        assert r.status == 403, r.describe()
        p = cli.ok(cli.client("whoami", "--json"))
        assert json.loads(p.stdout)["role"] == "user"

        p = cli.ok(cli.user("list"))
        assert "boss@example.com" in p.stdout and ADMIN_EMAIL in p.stdout, p.stdout
        p = cli.ok(cli.user("role", "boss@example.com", "user"), 1)
        assert "last admin" in p.stderr, p.stderr
    finally:
        cli.close()


def test_cli_user_disable_passwd_and_login():
    s = _server()
    cli = Cli(s)
    try:
        cli.ok(cli.user("add", "carol@example.com", "--password-stdin",
                        stdin="carol-password\n"))
        cli.login("carol@example.com", "carol-password")
        token = cli.entry()["accessToken"]

        p = cli.ok(cli.user("disable", "carol@example.com"))
        assert "disabled" in p.stdout, p.stdout
        assert _me(s, token).status == 401, "disabling did not end the sessions"
        p = cli.ok(cli.client("whoami"), 1)
        assert "session expired" in p.stderr, p.stderr
        assert cli.entry() is None
        cli.login("carol@example.com", "carol-password", code=1)
        users = json.loads(cli.ok(cli.user("list", "--json")).stdout)["items"]
        assert [u["disabled"] for u in users if u["email"] == "carol@example.com"] == [True]

        cli.ok(cli.user("enable", "carol@example.com"))
        cli.login("carol@example.com", "carol-password")
        token = cli.entry()["accessToken"]

        # A new password ends the sessions; only the new password signs in.
        cli.ok(cli.user("passwd", "carol@example.com", "--password-stdin",
                        stdin="carol-new-password\n"))
        assert _me(s, token).status == 401, "a password change did not end the sessions"
        cli.login("carol@example.com", "carol-password", code=1)
        cli.login("carol@example.com", "carol-new-password")
        cli.ok(cli.client("whoami"))
    finally:
        cli.close()


def test_cli_user_errors():
    s = _server()
    cli = Cli(s)
    try:
        p = cli.ok(cli.user("passwd", "nobody@example.com", "--password-stdin",
                            stdin="long-enough-1\n"), 1)
        assert "no such user" in p.stderr, p.stderr
        cli.ok(cli.user("disable", "nobody@example.com"), 1)
        cli.ok(cli.user("add", ADMIN_EMAIL.upper(), "--password-stdin",
                        stdin="long-enough-1\n"), 1)  # e-mails are case-insensitive
        cli.ok(cli.user("add", "not-an-email", "--password-stdin", stdin="long-enough-1\n"), 2)
        p = cli.ok(cli.user("add", "dave@example.com", "--password-stdin", stdin="short\n"), 2)
        assert "password" in p.stderr, p.stderr
        cli.ok(cli.user("add", "dave@example.com", "--password-stdin", stdin=""), 2)
        cli.ok(cli.user("add", "dave@example.com", "--role", "root", "--password-stdin",
                        stdin="long-enough-1\n"), 2)
        # Without a terminal the password must come with --password-stdin.
        cli.ok(cli.user("add", "dave@example.com", stdin="long-enough-1\n"), 2)
        cli.ok(cli.user("role", ADMIN_EMAIL, "root"), 2)
        cli.ok(cli.user("list", "--bogus"), 2)
        cli.ok(cli.user("list", "--name", "x"), 2)
        cli.ok(cli.user("frob"), 2)
        cli.ok(cli.run("user"), 2)
        cli.ok(cli.run("user", "--help"))
        cli.ok(cli.run("user", "add", "--help"))
        # No database there: exit 3, and nothing is created.
        empty = os.path.join(cli.home, "empty")
        os.makedirs(empty)
        cli.ok(cli.run("user", "list", "--data", empty), 3)
        assert os.listdir(empty) == []
        cli.ok(cli.run("user", "list", "--data", os.path.join(cli.home, "missing")), 3)
        users = json.loads(cli.ok(cli.user("list", "--json")).stdout)["items"]
        assert [u["email"] for u in users] == [ADMIN_EMAIL], users
    finally:
        cli.close()


def test_cli_user_add_before_first_start():
    """The operator may create accounts before the server ever ran: the database is created,
    the first account is an admin, and the server then needs no setup token."""
    s = Server(start=False)
    cli = Cli(s)
    try:
        p = cli.ok(cli.user("add", "first@example.com", "--password-stdin",
                            stdin="first-password\n"))
        assert "admin" in p.stdout, p.stdout
        cli.ok(cli.user("add", "second@example.com", "--password-stdin",
                        stdin="second-password\n"))
        users = json.loads(cli.ok(cli.user("list", "--json")).stdout)["items"]
        assert [(u["email"], u["role"]) for u in users] == \
            [("second@example.com", "user"), ("first@example.com", "admin")], users
        s.start()
        assert "setup token" not in s.stdout_since_start()
        cli.login("first@example.com", "first-password")
        assert json.loads(cli.ok(cli.client("whoami", "--json")).stdout)["role"] == "admin"
    finally:
        cli.close()


def _verbs_listed(text, prefix=""):
    """The verb names of a `batchbox --help` / `batchbox user --help` listing."""
    names = []
    for line in text.splitlines():
        m = re.match(r"^  (" + re.escape(prefix) + r")?([a-z][a-z-]*)\b", line)
        if m and not line.startswith("   "):
            names.append(m.group(2))
    return names


def test_cli_every_verb_help_and_unknown_option_come_from_the_table():
    """Every verb listed by `batchbox --help` (and `batchbox user --help`) answers --help
    with its usage line, options and -h; an unknown option is a usage error (exit 2) that
    names the option and repeats the usage line.  No server is needed for any of this."""
    cli = Cli(Server(start=False))
    try:
        top = cli.ok(cli.run("--help")).stdout
        verbs = _verbs_listed(top)
        assert {"serve", "run", "backup", "user", "version", "submit", "jobs", "show", "logs",
                "watch", "cancel", "retry", "rerun", "login", "logout", "whoami"} <= set(verbs), \
            verbs
        assert cli.ok(cli.run("help")).stdout == top
        p = cli.ok(cli.run(), 2)
        assert p.stderr == top and p.stdout == "", p.stderr
        subs = _verbs_listed(cli.ok(cli.run("user", "--help")).stdout, "user ")
        assert subs == ["add", "list", "passwd", "role", "disable", "enable"], subs
        ssubs = _verbs_listed(cli.ok(cli.run("schedule", "--help")).stdout)
        assert ssubs == ["add", "list", "pause", "resume", "rm"], ssubs
        csubs = _verbs_listed(cli.ok(cli.run("comfyui", "--help")).stdout)
        assert csubs == ["servers", "models"], csubs
        commands = [[v] for v in verbs if v not in ("user", "schedule", "comfyui")] + \
            [["user", s] for s in subs] + [["schedule", s] for s in ssubs] + \
            [["comfyui", s] for s in csubs]
        for words in commands:
            p = cli.ok(cli.run(*words, "--help"))
            assert p.stdout.startswith(f"usage: batchbox {' '.join(words)}"), (words, p.stdout)
            assert "  -h, --help            show this help\n" in p.stdout, (words, p.stdout)
            assert cli.ok(cli.run(*words, "-h")).stdout == p.stdout, words
            p = cli.ok(cli.run(*words, "--no-such-option"), 2)
            assert f"batchbox {' '.join(words)}: unknown option '--no-such-option'" in p.stderr, \
                (words, p.stderr)
            assert f"usage: batchbox {' '.join(words)}" in p.stderr, (words, p.stderr)
            assert p.stdout == "", (words, p.stdout)
        # Options a verb declares show in its help; those of another verb are unknown to it.
        p = cli.ok(cli.run("logs", "--help"))
        assert "  -f, --follow " in p.stdout and "  --server URL " in p.stdout, p.stdout
        p = cli.ok(cli.run("show", "1", "--follow"), 2)
        assert "unknown option '--follow'" in p.stderr, p.stderr
        p = cli.ok(cli.run("submit", "--preset"), 2)
        assert "option '--preset' needs a value" in p.stderr, p.stderr
        p = cli.ok(cli.run("jobs", "--all=yes"), 2)
        assert "option '--all' takes no value" in p.stderr, p.stderr
        p = cli.ok(cli.run("show"), 2)
        assert "missing job ID" in p.stderr, p.stderr
        p = cli.ok(cli.run("show", "1", "2"), 2)
        assert "unexpected argument '2'" in p.stderr, p.stderr
        p = cli.ok(cli.run("frob"), 2)
        assert "unknown command 'frob'" in p.stderr and "Local commands:" in p.stderr, p.stderr
        assert cli.ok(cli.run("version")).stdout == cli.ok(cli.run("--version")).stdout
    finally:
        cli.close()

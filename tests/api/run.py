#!/usr/bin/env python3
"""Runner for the batchbox black-box API tests.

Usage: tests/api/run.py --bin build/batchbox [-k FILTER] [-v] [--timeout SEC] [--jobs N]

Discovers tests/api/test_*.py, runs every test_* function in its own thread with a per-test
timeout, then checks every server the test started: still healthy, stops with exit code 0
on SIGTERM, and no sanitizer report on its stderr. Prints "ok - file::name (0.42s)" or
"FAIL - ..." with the reason, and ends with the line "N passed, N failed". Exit 1 on any
failure. Env: BB_KEEP=1 keeps data dirs of failed tests; BB_SLOW=F multiplies timeouts.

--jobs N (default: BB_API_JOBS, else 1) runs N test files at a time, each file in its own
runner process with its own slice of loopback ports (harness.free_port); a file's tests still
run one after another, and each file's output is printed whole when it ends.
"""

import argparse
import importlib.util
import inspect
import os
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def discover(filter_, only_file=None):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        if only_file and fn != only_file:
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        funcs = [(name, f) for name, f in vars(mod).items()
                 if name.startswith("test_") and inspect.isfunction(f)
                 and f.__module__ == mod.__name__]
        funcs.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for name, f in funcs:
            full = f"{fn}::{name}"
            if filter_ and not any(k in full for k in filter_):
                continue
            tests.append((full, f))
    return tests


def run_one(func, timeout):
    """Run func in a thread; returns (error_text or None, timed_out)."""
    result = {}

    def target():
        try:
            func()
        except BaseException:  # noqa: B902 - report everything the test raised
            result["err"] = traceback.format_exc()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return f"test exceeded its {timeout:.0f}s timeout (watchdog)", True
    return result.get("err"), False


def health_checks(servers, timed_out):
    """Right after the test: every server still running answers /health."""
    problems = []
    for s in servers:
        if timed_out:
            s.kill9()
        elif s.alive():
            try:
                r = s.req("GET", "/api/v1/health", timeout=5)
                if r.status != 200:
                    problems.append(f"server unhealthy after the test: {r.describe()}")
            except Exception as e:  # noqa: BLE001
                problems.append(f"server not answering /health after the test: {e!r}")
    return problems


def stop_checks(servers):
    """Clean SIGTERM exit (code 0) and a sanitizer scan for every server of the test."""
    problems = []
    for s in servers:
        if s.alive():
            try:
                rc = s.stop(timeout=30, check=False)
                if rc != 0:
                    problems.append(f"server exited with code {rc} on SIGTERM after the test "
                                    "(expected 0)")
            except AssertionError as e:
                problems.append(str(e))
        elif (not s.killed and s.proc is not None and s.exit_codes and s.exit_codes[-1] != 0
              and not getattr(s, "expected_exit", False)):
            problems.append(f"server exited by itself with code {s.exit_codes[-1]}")
        san = s.sanitizer_lines()
        if san:
            problems.append("sanitizer report in server stderr:\n  " + "\n  ".join(san[:20]))
    return problems


class Finisher:
    """Stops a finished test's servers in the background (a stop can take a while) while the
    next test runs; report() waits for it and prints the test's result."""

    def __init__(self, full, servers, err, problems, dt):
        self.full, self.servers, self.err, self.problems, self.dt = full, servers, err, problems, dt
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.problems += stop_checks(self.servers)
        except Exception as e:  # noqa: BLE001
            self.problems.append(f"post-check crashed: {e!r}")

    def report(self, verbose, keep):
        self.thread.join(120)
        if self.thread.is_alive():
            self.problems.append("post-checks did not finish within 120s")
        failed = bool(self.err or self.problems)
        if failed:
            print(f"FAIL - {self.full} ({self.dt:.2f}s)")
            if self.err:
                print("  " + self.err.rstrip().replace("\n", "\n  "))
            for p in self.problems:
                print("  post-check: " + p.replace("\n", "\n  "))
            for s in self.servers:
                print("  " + s.stderr_tail(25).replace("\n", "\n  "))
                if keep:
                    print(f"  (kept {s.base})")
        else:
            print(f"ok - {self.full} ({self.dt:.2f}s)")
            if verbose:
                for s in self.servers:
                    print("  " + s.stderr_tail(10).replace("\n", "\n  "))
        sys.stdout.flush()
        for s in self.servers:
            s.cleanup(keep=keep and failed)
        return not failed


def run_parallel(args, binpath):
    """Runs each selected test file in a child runner (--jobs 1), args.jobs at a time, the
    biggest files first; prints each child's output when it ends; sums the counts."""
    files = sorted({full.split("::")[0] for full, _ in discover(args.k)},
                   key=lambda f: -os.path.getsize(os.path.join(HERE, f)))
    queue = list(files)
    lock = threading.Lock()
    totals = {"passed": 0, "failed": 0, "failures": []}
    t_all = time.monotonic()

    def worker(slot):
        lo = 20000 + slot * 1500  # below the kernel's ephemeral range (32768-)
        while True:
            with lock:
                if not queue:
                    return
                fn = queue.pop(0)
            cmd = [sys.executable, os.path.abspath(__file__), "--bin", binpath, "--jobs", "1",
                   "--timeout", str(args.timeout), "--file", fn]
            for k in args.k:
                cmd += ["-k", k]
            if args.v:
                cmd.append("-v")
            env = dict(os.environ, BB_PORT_RANGE=f"{lo}-{lo + 1499}")
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
            out = p.stdout.decode("utf-8", "replace")
            n_ok = n_bad = 0
            for line in out.splitlines():
                if line.startswith("ok - "):
                    n_ok += 1
                elif line.startswith("FAIL - "):
                    n_bad += 1
            if p.returncode != 0 and n_bad == 0:
                n_bad = 1  # the child runner itself failed
            with lock:
                sys.stdout.write(f"--- {fn}\n" + "".join(
                    line + "\n" for line in out.splitlines()
                    if not line.startswith(("total time", "failed: "))
                    and not (line.endswith(" failed") and " passed, " in line)))
                sys.stdout.flush()
                totals["passed"] += n_ok
                totals["failed"] += n_bad
                if n_bad:
                    totals["failures"].append(fn)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if totals["failures"]:
        print("failed: " + " ".join(totals["failures"]))
    print(f"total time {time.monotonic() - t_all:.1f}s ({args.jobs} at a time)")
    print(f"{totals['passed']} passed, {totals['failed']} failed")
    return 1 if totals["failed"] else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-k", action="append", default=[], help="substring of file::name")
    ap.add_argument("-v", action="store_true", help="print server stderr tails for passing "
                                                    "tests too")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--file", help="only this test file (used by --jobs)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("BB_API_JOBS", "1") or 1))
    args = ap.parse_args()

    binpath = os.path.abspath(args.bin)
    if not os.access(binpath, os.X_OK):
        print(f"not executable: {binpath}", file=sys.stderr)
        return 2
    harness.BIN = binpath
    harness.SLOW = float(os.environ.get("BB_SLOW", "1") or 1)
    keep = os.environ.get("BB_KEEP") == "1"
    timeout = args.timeout * harness.SLOW

    if args.jobs > 1:
        return run_parallel(args, binpath)
    tests = discover(args.k, args.file)
    passed = failed = 0
    failures = []
    t_all = time.monotonic()
    pending = None

    def settle(f):
        nonlocal passed, failed
        if f.report(args.v, keep):
            passed += 1
        else:
            failed += 1
            failures.append(f.full)

    for full, func in tests:
        harness.clear_registry()
        t0 = time.monotonic()
        err, timed_out = run_one(func, timeout)
        servers = harness.registered_servers()
        problems = health_checks(servers, timed_out)
        dt = time.monotonic() - t0
        f = Finisher(full, servers, err, problems, dt)
        if pending is not None:
            settle(pending)
        pending = f
    if pending is not None:
        settle(pending)
    harness.clear_registry()
    if failures:
        print("failed: " + " ".join(failures))
    print(f"total time {time.monotonic() - t_all:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

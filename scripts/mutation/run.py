"""Running one mutant: a copy of the rtl/ snapshot with one line changed, compiled by iverilog, then the
benches of the DUTs that contain the file (tb/runner.py with FLEXBLOCK_RTL_DIR / FLEXBLOCK_BUILD_DIR), one
simulation at a time, until a test fails.

result: 'invalid' (iverilog does not compile it, or a DUT build fails), 'killed' (a test failed: by which),
'timeout' (a run went past its time limit without a test failing: NOT a kill, since a mutant that only
slows the design down must be caught by a test that checks cycle counts), 'survived' (every test passed).

Time limits (`run_limits`): every run of a mutant gets TIMEOUT_FACTOR x the wall-clock time of the same run
on the unmutated RTL (the baseline) + TIMEOUT_SLACK_S, at most --timeout. With one simulation per test, that
is per test: the baseline's start-up (compile included) plus that test's own time, read from the baseline's
results XML. A test the baseline skipped on this simulator (e.g. pe_array LayerTiles on Icarus) is not run for
the mutants either: naming it would make cocotb run it anyway (a named test ignores its skip), untimed.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .operators import Mutant
from .targets import OUT, ROOT, RTL


@dataclass
class Result:
    id: str
    file: str
    line: int
    op: str
    kind: str
    before: str
    after: str
    original: str
    mutated: str
    duts: list
    result: str = "pending"           # killed / survived / invalid / timeout
    killed_by: list = field(default_factory=list)
    runs: list = field(default_factory=list)   # {dut, params, status, seconds, failed, log}
    rtl_assertions: list = field(default_factory=list)  # RTL assertion messages seen ($error / $fatal)
    detail: str = ""
    seconds: float = 0.0
    diff: str = ""


def sources(rtl: Path) -> list[str]:
    files = sorted(rtl.glob("*.sv"))
    return [str(f) for f in sorted(files, key=lambda f: not f.stem.endswith("_pkg"))]


def compile_check(rtl: Path, duts: tuple[str, ...], cwd: Path) -> str | None:
    """None if iverilog elaborates every DUT top, else its first error lines."""
    cmd = ["iverilog", "-g2012", "-t", "null", *sum((["-s", d] for d in duts), []), *sources(rtl)]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if p.returncode == 0:
        return None
    lines = [ln for ln in (p.stderr + p.stdout).splitlines() if ln.strip()]
    return "\n".join(lines[:6]) or f"iverilog exit {p.returncode}"


TIMEOUT_FACTOR = 3      # a mutant's run may take this many times the unmutated run ...
TIMEOUT_SLACK_S = 60    # ... plus this (a loaded machine, compile-time noise)


def run_limits(baseline: dict, cap: float) -> dict:
    """Wall-clock limits of a mutant's runs from the unmutated whole-bench run of the same DUT and parameters
    (run_dut's record): {None: the whole bench, test: that test alone}. A test alone costs the run's start-up
    (the build and the simulator start: the run's time less its tests' times) plus its own time. Tests the
    baseline skipped get no entry."""
    tests = baseline.get("tests") or {}
    startup = max(0.0, baseline["seconds"] - sum(t["seconds"] for t in tests.values()))
    limit = lambda seconds: round(min(cap, TIMEOUT_FACTOR * seconds + TIMEOUT_SLACK_S), 1)
    return {None: limit(baseline["seconds"]),
            **{name: limit(startup + t["seconds"]) for name, t in tests.items() if t["status"] != "skipped"}}


ASSERTION = re.compile(r"(?:ERROR|FATAL): [^\s]*\.sv:\d+: .*")  # $error / $fatal of an RTL assertion


def run_dut(dut: str, params: dict, rtl: Path, build: Path, seed: int, timeout: float, log: Path,
            test: str | None = None, tree: Path = ROOT) -> dict:
    """One `tb/runner.py <dut> [--testcase test]` simulation of the RTL in `rtl` (all of the DUT's tests, or
    the one named), judged by the benches and models of `tree` (the run's snapshot, `snapshot_tree`).
    status: pass / fail / timeout / build-error."""
    cmd = [sys.executable, str(tree / "tb" / "runner.py"), dut, "--sim", "icarus", "--seed", str(seed)]
    if test:
        cmd += ["--testcase", f"^{bench_module(dut)}\\.{test}$"]
    for k, v in params.items():
        cmd += ["-P", f"{k}={v}"]
    env = dict(os.environ, FLEXBLOCK_RTL_DIR=str(rtl), FLEXBLOCK_BUILD_DIR=str(build))
    for var in ("SIM", "FLEXBLOCK_TESTCASE", "COCOTB_TEST_FILTER", "TESTCASE", "WAVES", "FLEXBLOCK_SCALE"):
        env.pop(var, None)
    for stale in build.rglob("*results.xml"):   # an earlier test's results in the same build directory
        stale.unlink()
    t0 = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            status = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)   # our own process group: the runner and its vvp
            proc.wait()
            rc, status = None, "timeout"
    seconds = time.monotonic() - t0
    text = log.read_text(errors="replace")
    failed, passed, tests = [], [], {}
    for xml in build.rglob("*results.xml"):
        try:
            tree = ET.parse(xml)
        except ET.ParseError:
            continue
        for tc in tree.iter("testcase"):
            name = tc.get("name") or "?"
            bad = tc.find("failure") is not None or tc.find("error") is not None
            skipped = tc.find("skipped") is not None
            tests[name] = {"status": "fail" if bad else "skipped" if skipped else "pass",
                           "seconds": round(float(tc.get("time") or 0), 2)}
            if not skipped:
                (failed if bad else passed).append(name)
    if status is None:
        if rc == 0:
            status = "pass"
        elif not list(build.rglob("*.vvp")):
            status = "build-error"          # the cocotb build (iverilog with these parameters) failed
        else:
            status = "fail"
            if not failed:
                failed = ["<simulation ended abnormally: " + last_error(text) + ">"]
    return {"dut": dut, "params": params, "status": status, "seconds": round(seconds, 1), "failed": failed,
            "passed": len(passed), "tests": tests, "test": test, "limit_s": timeout,
            "log": str(log.relative_to(ROOT)),
            "assertions": sorted(set(ASSERTION.findall(text)))[:5]}


def bench_module(dut: str) -> str:
    sys.path.insert(0, str(ROOT / "tb"))
    import runner
    return runner.DUTS[dut]


def bench_tests(dut: str, tree: Path = ROOT) -> list[str]:
    """The DUT's cocotb tests in the bench's order (read from its test module in `tree`)."""
    sys.path.insert(0, str(ROOT / "tb"))
    import runner
    return runner.test_names(dut, tree / "tb")


def last_error(text: str) -> str:
    for ln in reversed(text.splitlines()):
        if "Error" in ln or "ERROR" in ln or "FAILED" in ln:
            return ln.strip()[:160]
    return "no results"


def apply(snapshot: Path, m: Mutant, dest: Path) -> str:
    """Copy the snapshot to dest with the mutant's line replaced; returns the unified diff."""
    shutil.copytree(snapshot, dest)
    path = dest / m.file
    lines = path.read_text().splitlines(keepends=True)
    old = lines[m.line - 1]
    indent = old[: len(old) - len(old.lstrip())]
    lines[m.line - 1] = indent + m.mutated + ("\n" if old.endswith("\n") else "")
    path.write_text("".join(lines))
    original = (snapshot / m.file).read_text().splitlines(keepends=True)
    return "".join(difflib.unified_diff(original, lines, f"a/rtl/{m.file}", f"b/rtl/{m.file}", n=1))


def config_name(dut: str, params: dict) -> str:
    return dut + "".join(f"[{k}={v}]" for k, v in params.items())


def run_mutant(m: Mutant, snapshot: Path, configs: dict[str, list[dict]], args, tag: str,
               limits: dict[str, dict] | None = None) -> Result:
    """Run one mutant through every parameter set of its DUTs (configs), stopping at the first failing test
    (unless args.keep_going). limits: config_name -> run_limits of its baseline (the time limit of the whole
    bench and of each test; tests without one were skipped by the baseline and are not run); a config without
    a baseline runs every test with args.timeout."""
    r = Result(m.id, m.file, m.line, m.op, m.kind, m.before, m.after, m.original, m.mutated, list(m.duts))
    tree = judges_of(snapshot)
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="flexblock-mutant-", dir=args.workdir))
    try:
        rtl = work / "rtl"
        r.diff = apply(snapshot, m, rtl)
        err = compile_check(rtl, m.duts, work)
        if err:
            r.result, r.detail = "invalid", err
            return r
        # one test per simulation (args.per_test): a mutant is usually killed by one of the first tests and
        # the rest of the bench need not run; else the whole bench in one simulation
        def tests(dut: str, name: str) -> list:
            if not args.per_test:
                return [None]
            known = (limits or {}).get(name, {})
            return [t for t in bench_tests(dut, tree) if len(known) <= 1 or t in known]

        plan = [(dut, i, params, test) for dut in m.duts for i, params in enumerate(configs.get(dut) or [{}])
                for test in tests(dut, config_name(dut, params))]
        for dut, i, params, test in plan:
            name = config_name(dut, params)
            known = (limits or {}).get(name, {})
            limit = known.get(test, known.get(None, args.timeout))
            log = OUT / "logs" / (f"{tag}-{dut}{''.join(f'-{k}{v}' for k, v in params.items())}"
                                  + (f"-{test}" if test else "") + ".log")
            run = run_dut(dut, params, rtl, work / f"build-{dut}{i}", args.sim_seed, limit, log, test, tree=tree)
            r.runs.append(run)
            r.rtl_assertions.extend(a for a in run["assertions"] if a not in r.rtl_assertions)
            if run["status"] == "build-error":
                r.result, r.detail = "invalid", f"the {name} build fails: {last_error(log.read_text())}"
                return r
            if run["status"] == "timeout":
                r.result, r.detail = "timeout", (
                    f"{name}{':' + test if test else ''} ran past its {limit:.0f} s limit with no test failed ("
                    + (f"{TIMEOUT_FACTOR}x the unmutated run + {TIMEOUT_SLACK_S} s" if known
                       else "no baseline: --timeout") + ")")
                return r
            if run["status"] == "fail":
                r.result = "killed"
                r.killed_by += [f"{name}:{t}" for t in run["failed"]]
                if not args.keep_going:
                    return r
        if r.result == "pending":
            r.result = "survived"
        return r
    finally:
        r.seconds = round(time.monotonic() - t0, 1)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)


JUDGES = ("tb", "models")   # what judges a mutant: the benches and the reference model


def snapshot_tree(dest: Path) -> dict:
    """rtl/ and what judges it (tb/, models/) copied to dest/rtl, dest/tb, dest/models. A run takes hours: every
    mutant is made from this rtl/ and judged by these benches and models, whatever is edited or merged in the
    checkout meanwhile (a bench or model ahead of the RTL snapshot would kill mutants for the wrong reason)."""
    meta = snapshot_rtl(dest / "rtl")
    digest = hashlib.sha1()
    for d in JUDGES:
        shutil.copytree(ROOT / d, dest / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for f in sorted(p for p in (dest / d).rglob("*") if p.is_file()):
            digest.update(str(f.relative_to(dest)).encode() + f.read_bytes())
    return {**meta, "judges_sha1": digest.hexdigest()[:12]}


def judges_of(snapshot: Path) -> Path:
    """The tree whose benches judge the mutants of an rtl snapshot: its own (snapshot_tree), else the checkout."""
    return snapshot.parent if (snapshot.parent / "tb" / "runner.py").is_file() else ROOT


def snapshot_rtl(dest: Path) -> dict:
    """Copy rtl/ to dest (every mutant is made from this copy) and describe what was copied."""
    shutil.copytree(RTL, dest)
    digest = hashlib.sha1()
    for f in sorted(dest.glob("*.sv")):
        digest.update(f.name.encode() + f.read_bytes())
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rtl"], cwd=ROOT, capture_output=True,
                               text=True).stdout.split("\n")
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        dirty, head = [], "?"
    return {"rtl_sha1": digest.hexdigest()[:12], "git_head": head,
            "rtl_uncommitted": [ln[3:] for ln in dirty if ln.strip()]}

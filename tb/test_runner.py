"""tb/runner.py without a simulator: a TESTCASE that selects no test fails (cocotb alone would run nothing and
exit 0), naming the DUT's tests; the test names are read from the test modules' decorators."""
from __future__ import annotations

import subprocess
import sys

import pytest

import runner


def test_test_names_are_the_decorated_tests():
    names = runner.test_names("fp2bfp")
    assert {"RandomBlocks", "CornerBlocks", "ResetMidStream", "ScoreboardCatchesWrongModel"} <= set(names)
    assert "Fp2BfpBase" not in names and "_WrongTieScoreboard" not in names  # not tests
    for dut in runner.DUTS:
        assert "ScoreboardCatchesWrongModel" in runner.test_names(dut)


def test_testcase_is_a_regex_like_cocotbs():
    assert runner.select_tests("fp32_acc", "BackPressure") == ["BackPressure", "HeavyBackPressure"]
    assert runner.select_tests("fp32_acc", "^fp32_acc_tests.BackPressure$") == ["BackPressure"]
    assert runner.select_tests("pe_array", "TrainingReplay|ModeSwitches") == ["TrainingReplay", "ModeSwitches"]


@pytest.mark.parametrize("testcase", ["RandomBlokcs", "Random[", "BackPressure$x"])
def test_misspelled_testcase_fails_with_the_test_names(testcase):
    """As `make sim TOPLEVEL=fp2bfp TESTCASE=...` runs it: exit status 1 before anything is built."""
    p = subprocess.run([sys.executable, str(runner.TB / "runner.py"), "fp2bfp", "--testcase", testcase],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"TESTCASE '{testcase}'" in p.stderr
    assert "fp2bfp's tests" in p.stderr or "its tests" in p.stderr
    assert ", ".join(runner.test_names("fp2bfp")) in p.stderr
    assert "Running command" not in p.stdout + p.stderr  # failed before building


def test_objcache_compiles_verilators_runtime_once(tmp_path):
    """tb/objcache.py: a compile of a source in Verilator's include directory is stored, then copied from
    the cache (here: the cached object is replaced by a marker, which the second compile must return);
    any other compile runs the compiler every time."""
    import shutil
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    include = tmp_path / "verilator" / "include"
    include.mkdir(parents=True)
    (include / "verilated_x.cpp").write_text("int verilated_x() { return 1; }\n")
    cache = tmp_path / "cache"
    objcache = [sys.executable, str(runner.TB / "objcache.py"), str(cache)]
    cmd = ["g++", "-MMD", "-c", "-o", "verilated_x.o", str(include / "verilated_x.cpp")]
    subprocess.run(objcache + cmd, cwd=tmp_path, check=True)
    (cached,) = cache.glob("*.o")
    assert cached.read_bytes() == (tmp_path / "verilated_x.o").read_bytes()
    cached.write_bytes(b"marker")
    subprocess.run(objcache + cmd, cwd=tmp_path, check=True)
    assert (tmp_path / "verilated_x.o").read_bytes() == b"marker"
    (tmp_path / "design.cpp").write_text("int design() { return 2; }\n")
    subprocess.run(objcache + ["g++", "-c", "-o", "design.o", "design.cpp"], cwd=tmp_path, check=True)
    assert len(list(cache.glob("*.o"))) == 1 and (tmp_path / "design.o").stat().st_size > 100


def test_test_times_before_make_test_says_what_to_run(tmp_path):
    """scripts/test_times.py (README: 'after make test') on a fresh clone: a one-line hint, not a traceback."""
    p = subprocess.run([sys.executable, str(runner.ROOT / "scripts/test_times.py"), "--junit", str(tmp_path / "junit.xml")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "run `make test` first" in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_waves_save_files_name_the_top_as_both_simulators_write_it():
    """`make waves` opens tb/waves/<dut>.gtkw as shipped: Icarus and Verilator 5.052 both write the top's scope
    as `<dut>.` (checked against both FSTs of pe_array from a fresh clone, 48 of 48 signals, 2026-11-28), so
    the Makefile must not rewrite the save file (it once prefixed `TOP.`: 0 of 41 signals matched)."""
    make = (runner.ROOT / "Makefile").read_text()
    waves = make[make.index("\nwaves:"):].split("\n\n", 1)[0]
    assert "sed" not in waves and "TOP." not in waves and "save=tb/waves/$(TOPLEVEL).gtkw" in waves
    for save in sorted((runner.TB / "waves").glob("*.gtkw")):
        signals = [line for line in save.read_text().splitlines() if line and line[0] not in "[@-*"]
        assert signals and all(s.startswith(f"{save.stem}.") for s in signals), save


def test_train_py_with_a_python_without_numpy_says_to_use_the_venv(tmp_path):
    """`python scripts/train.py --quick` with a Python that lacks the packages (the system one): a one-line hint
    to the venv, not a traceback. Simulated with -S -I (no site-packages) so it holds on any machine."""
    p = subprocess.run([sys.executable, "-S", "-I", str(runner.ROOT / "scripts/train.py"), "--quick"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 1 and ".venv/bin/python scripts/train.py" in p.stderr and "Traceback" not in p.stderr, p.stderr

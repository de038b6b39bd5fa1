"""`make merge-shards` (scripts/merge_shards.py): a selection of the regression run in two shards, each in its
own directory as two CI jobs would, and merged, gives the same tests, counts and coverage as one unsharded
run of the same selection and seed. Cheap: two DUT configurations, one short test each (COCOTB_TEST_FILTER).
The Verilator code-coverage variant compiles a coverage build (about 50 s of CPU): `make regress` only."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import runner

sys.path.insert(0, str(runner.ROOT / "scripts"))
import merge_shards  # noqa: E402

SELECTION = ["tb/test_rtl.py", "-k", "fp32_acc or fp2bfp-K4"]
TESTS = "SingleTermReductions|CornerBlocks"   # one short test of each of the two DUTs


def run_shard(build: Path, dest: Path, sim: str, shard: str | None, code_coverage: bool) -> None:
    """One pytest run of the selection (as a CI shard job runs `make test SHARD=...`), its results copied to
    dest as the job would upload them; the simulator builds are shared (build)."""
    env = dict(os.environ, FLEXBLOCK_BUILD_DIR=str(build), COCOTB_TEST_FILTER=TESTS)
    env.pop("FLEXBLOCK_STATS_DIR", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    if code_coverage:
        env["FLEXBLOCK_CODE_COVERAGE"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *SELECTION,
           "--sims", sim, "--seed", "4242", f"--junitxml={dest / 'junit.xml'}"] + (["--shard", shard] if shard else [])
    p = subprocess.run(cmd, cwd=runner.ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for sub in ("coverage", "code_coverage"):
        if (build / sub).is_dir():
            shutil.move(str(build / sub), str(dest / sub))


def check_shards_equal_one_run(tmp_path: Path, sim: str, code_coverage: bool) -> None:
    build = tmp_path / "build"
    run_shard(build, tmp_path / "whole" / "all", sim, None, code_coverage)
    for i in (1, 2):
        run_shard(build, tmp_path / "sharded" / f"shard{i}", sim, f"{i}/2", code_coverage)
    whole = merge_shards.merge(tmp_path / "whole")
    merged = merge_shards.merge(tmp_path / "sharded")

    # the shards really split the work: each ran one of the two tests
    assert [len(list((tmp_path / "sharded" / f"shard{i}" / "coverage").glob("*.yml"))) for i in (1, 2)] == [1, 1]
    wj, mj = whole["junit"], merged["junit"]
    assert wj["tests"] == 2 and wj["passed"] == 2
    for key in ("tests", "passed", "failures", "errors", "skipped", "test_ids"):
        assert mj[key] == wj[key], key
    wf, mf = whole["functional"], merged["functional"]
    assert wf["bins_hit"] > 0
    assert (mf["bins_hit"], mf["bins"], mf["runs"]) == (wf["bins_hit"], wf["bins"], wf["runs"])
    assert mf["points"] == wf["points"]      # every bin's hit count
    if code_coverage:
        wc, mc = whole["code"], merged["code"]
        assert wc["covered"] > 0
        for key in ("covered", "points", "hits_total", "per_file"):
            assert mc[key] == wc[key], key
    else:
        assert whole["code"] is None and merged["code"] is None
    # the merged JUnit file is one document with both shards' suites
    text = (tmp_path / "sharded" / "merged" / "junit.xml").read_text()
    assert 'tests="2"' in text and "shard1/" in text and "shard2/" in text


@pytest.mark.sim
def test_two_shards_merged_equal_one_run_icarus(tmp_path):
    check_shards_equal_one_run(tmp_path, "icarus", code_coverage=False)


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("FLEXBLOCK_SCALE"), reason="a Verilator coverage build (~50 s CPU): "
                    "make regress only (it sets FLEXBLOCK_SCALE)")
def test_two_shards_merged_equal_one_run_verilator_code_coverage(tmp_path):
    check_shards_equal_one_run(tmp_path, "verilator", code_coverage=True)


def test_overlapping_shards_are_an_error(tmp_path):
    xml = ('<testsuites><testsuite name="pytest" tests="1"><testcase classname="tb.test_rtl" name="t[a]"/>'
           '</testsuite></testsuites>')
    for s in ("s1", "s2"):
        (tmp_path / s).mkdir()
        (tmp_path / s / "junit.xml").write_text(xml)
    with pytest.raises(SystemExit, match="the shards overlap"):
        merge_shards.merge(tmp_path)


def test_failures_are_counted_and_fail_the_merge(tmp_path):
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest"><testcase classname="c" name="ok"/>'
        '<testcase classname="c" name="bad"><failure message="x"/></testcase>'
        '<testcase classname="c" name="skip"><skipped/></testcase></testsuite></testsuites>')
    summary = merge_shards.merge(tmp_path)
    assert {k: summary["junit"][k] for k in ("tests", "passed", "failures", "skipped")} == \
        {"tests": 3, "passed": 1, "failures": 1, "skipped": 1}
    assert summary["junit"]["failed"] == ["c::bad"]
    assert merge_shards.main([str(tmp_path)]) == 1

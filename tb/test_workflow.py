"""The CI workflow (.github/workflows/regress.yml) parses and its job graph is the one the README describes:
lint/model job -> sharded simulation matrix over every simulator -> merge job (always, even after a failing
shard) that downloads every shard's artifact and runs the same `make merge-shards` as a user; every shard
runs with the one seed; every make target, script and test path it names exists. (actionlint is not on
PyPI as a wheel here, so this test is the workflow's checker; the merge itself is tested in test_shards.py.)"""
from __future__ import annotations

import fnmatch
import itertools
import re
import shlex

import pytest
import yaml

import runner

WORKFLOW = runner.ROOT / ".github" / "workflows" / "regress.yml"


@pytest.fixture(scope="module")
def wf() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps_run(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_triggers_and_jobs(wf):
    on = wf.get("on", wf.get(True))        # YAML 1.1 reads a bare `on` key as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(on)
    assert set(wf["jobs"]) == {"lint-model", "sim", "merge"}
    for name, job in wf["jobs"].items():
        assert job["runs-on"] and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)


def test_job_graph(wf):
    jobs = wf["jobs"]
    needs = {name: set([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []))
             for name, job in jobs.items()}
    assert needs == {"lint-model": set(), "sim": {"lint-model"}, "merge": {"lint-model", "sim"}}
    assert jobs["merge"]["if"] == "always()"              # a failing shard still gets its merged report
    assert jobs["sim"]["strategy"]["fail-fast"] is False   # and does not cancel the other shards


def test_matrix_covers_every_simulator_and_shard(wf):
    sim = wf["jobs"]["sim"]
    matrix = sim["strategy"]["matrix"]
    default_sims = runner.ROOT.joinpath("conftest.py").read_text()
    assert f'default="{",".join(matrix["sim"])}"' in default_sims      # the regression's simulators, all
    shards = matrix["shard"]
    n = len(shards)
    assert shards == list(range(1, n + 1)) and n >= 2
    cmd = steps_run(sim)
    assert f"--shard ${{{{ matrix.shard }}}}/{n}" in cmd and "--sims ${{ matrix.sim }}" in cmd
    assert "tb/test_rtl.py" in cmd and "--junitxml=sim_build/junit.xml" in cmd
    # one seed for all shards, chosen once
    assert "--seed ${{ needs.lint-model.outputs.seed }}" in cmd
    assert wf["jobs"]["lint-model"]["outputs"]["seed"] == "${{ steps.seed.outputs.seed }}"
    assert any(s.get("id") == "seed" for s in wf["jobs"]["lint-model"]["steps"])
    # Verilator shards collect code coverage
    env = next(s for s in sim["steps"] if "run" in s and "pytest" in s["run"])["env"]
    assert "matrix.sim == 'verilator'" in env["FLEXBLOCK_CODE_COVERAGE"]


def test_artifacts_flow_into_the_merge(wf):
    sim, merge = wf["jobs"]["sim"], wf["jobs"]["merge"]
    upload = next(s for s in sim["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert paths == ["sim_build/junit.xml", "sim_build/coverage/", "sim_build/code_coverage/*.dat"]
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    matrix = sim["strategy"]["matrix"]
    for s, i in itertools.product(matrix["sim"], matrix["shard"]):
        name = upload["with"]["name"].replace("${{ matrix.sim }}", s).replace("${{ matrix.shard }}", str(i))
        assert fnmatch.fnmatch(name, download["with"]["pattern"]), name
    # each artifact lands in DIR/<artifact name>/ with sim_build/ stripped: the layout merge_shards.py reads
    assert f"make merge-shards DIR={download['with']['path']}" in steps_run(merge)
    report = next(s for s in merge["steps"] if s.get("with", {}).get("name") == "regression-report")
    assert report["with"]["path"].rstrip("/") == f"{download['with']['path']}/merged" and report["if"] == "always()"


def test_named_targets_scripts_and_paths_exist(wf):
    makefile = (runner.ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    text = "\n".join(steps_run(job) for job in wf["jobs"].values())
    for target in re.findall(r"\bmake ([\w-]+)", text):
        assert target in targets, f"make {target}: no such Makefile target"
    for path in re.findall(r"\b((?:scripts|tb|models)/[\w./-]+)", text):
        assert (runner.ROOT / path).exists(), path
    for line in text.splitlines():
        if "pytest" in line:
            for word in shlex.split(line.replace("${{", "'${{").replace("}}", "}}'")):
                if word.startswith("--ignore="):
                    assert (runner.ROOT / word.split("=", 1)[1]).exists(), word

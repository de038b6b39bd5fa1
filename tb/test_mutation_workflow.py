"""The full mutation check's CI workflow (.github/workflows/mutation.yml) parses and does what issue 11 asks:
a matrix of shards that together run every candidate (`make mutate MUTANTS=all SHARD=i/n`, one seed for all),
each within a GitHub job's time limit at the measured cost per mutant, and a merge job (always, even after a
failing or timed-out shard) that downloads every shard's report into one directory and runs the same
`make mutate-merge` as a user. (The merge itself is tested in test_mutation.py.)"""
from __future__ import annotations

import fnmatch
import re
import sys

import pytest
import yaml

import runner

sys.path.insert(0, str(runner.ROOT / "scripts"))
from mutation import operators, report  # noqa: E402

WORKFLOW = runner.ROOT / ".github" / "workflows" / "mutation.yml"
# Seconds per mutant, measured: docs/results/mutation.md (about 110 s per mutant on the loaded 2-core machine).
SECONDS_PER_MUTANT = 110


@pytest.fixture(scope="module")
def wf() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps_run(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_triggers_and_job_graph(wf):
    on = wf.get("on", wf.get(True))        # YAML 1.1 reads a bare `on` key as true
    assert "workflow_dispatch" in on and "schedule" in on and "push" not in on   # ~230 core-hours: not per push
    jobs = wf["jobs"]
    assert set(jobs) == {"mutate", "merge"}
    assert jobs["merge"]["needs"] == "mutate" and jobs["merge"]["if"] == "always()"
    assert jobs["mutate"]["strategy"]["fail-fast"] is False
    for name, job in jobs.items():
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)


def test_shards_cover_every_candidate_within_the_job_limit(wf):
    job = wf["jobs"]["mutate"]
    shards = job["strategy"]["matrix"]["shard"]
    n = len(shards)
    assert shards == list(range(1, n + 1))
    assert wf["env"]["SHARDS"] == str(n) and f"/{n}" in job["name"]
    cmd = steps_run(job)
    assert "make mutate MUTANTS=all SHARD=${{ matrix.shard }}/${{ env.SHARDS }}" in cmd
    assert "SEED=${{ inputs.seed || '1' }}" in cmd          # one seed for every shard: the merge needs it
    # the budget: every shard's share of the candidates at the measured cost fits the job's time limit
    candidates = len(operators.all_mutants(runner.RTL))
    per_shard_min = -(-candidates // n) * SECONDS_PER_MUTANT / 60
    assert job["timeout-minutes"] <= 360                     # GitHub's limit for a hosted job
    assert per_shard_min <= job["timeout-minutes"] - 30, (
        f"{candidates} candidates in {n} shards: {per_shard_min:.0f} min per shard; add shards")


def test_reports_flow_into_the_merge(wf):
    mutate, merge = wf["jobs"]["mutate"], wf["jobs"]["merge"]
    upload = next(s for s in mutate["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"                        # a timed-out shard keeps the mutants it finished
    assert "sim_build/mutation/shard-*.json" in upload["with"]["path"].split()
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["merge-multiple"] is True        # mutate.py --merge reads DIR/shard-*.json
    for i in mutate["strategy"]["matrix"]["shard"]:
        assert fnmatch.fnmatch(upload["with"]["name"].replace("${{ matrix.shard }}", str(i)),
                               download["with"]["pattern"])
    assert f"make mutate-merge DIR={download['with']['path']}" in steps_run(merge)
    report = next(s for s in merge["steps"] if s.get("with", {}).get("name") == "mutation-report")
    assert f"{download['with']['path']}/report.md" in report["with"]["path"].split() and report["if"] == "always()"


def test_make_targets_and_shard_file_names_exist(wf):
    makefile = (runner.ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    text = "\n".join(steps_run(job) for job in wf["jobs"].values())
    for target in re.findall(r"\bmake ([\w-]+)", text):
        assert target in targets, f"make {target}: no such Makefile target"
    for var in ("MUTANTS", "SHARD", "SEED"):
        assert f"$({var})" in makefile.split("\nmutate:")[1].split("\n\n")[0], var
    # mutate.py names a shard's report (report.report_name) in sim_build/mutation: what the upload globs
    upload = wf["jobs"]["mutate"]["steps"]
    globs = [g for st in upload if "upload-artifact" in st.get("uses", "") for g in st["with"]["path"].split()]
    name = "sim_build/mutation/" + report.report_name("3/64", [])
    assert any(fnmatch.fnmatch(name, g) for g in globs), (name, globs)
    # a whole-file run is named apart, so a merge of the directory's shards never mixes it in
    assert not any(fnmatch.fnmatch("sim_build/mutation/" + report.report_name(s, ["pe_array.sv"]), g)
                   for g in globs for s in (None, "1/4"))

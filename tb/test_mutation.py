"""The mutation check's parts (scripts/mutation/) without simulating: every rtl/ file is a target with the
benches that contain it, the sample is stratified by file, shards partition it, the control operators make
the mutants they promise, and shard reports merge into per-file kill rates where only a failing test kills."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import pytest

import runner

sys.path.insert(0, str(runner.ROOT / "scripts"))
from mutation import operators, report, sample, targets  # noqa: E402


@pytest.fixture(scope="module")
def candidates():
    return operators.all_mutants(runner.RTL)


def test_every_rtl_file_is_a_target_with_its_benches():
    t = targets.targets()
    files = {p.name for p in runner.RTL.glob("*.sv")}
    assert set(t) | set(targets.EXCLUDED) == files and not set(t) & set(targets.EXCLUDED)
    assert set(targets.BENCH_ORDER) == set(runner.DUTS)
    for file, duts in t.items():
        assert duts, f"{file}: no bench contains it"
        assert list(duts) == sorted(duts, key=targets.BENCH_ORDER.index)
    # the hierarchy, spot-checked: the array's files are judged by the array and core benches
    assert t["pe.sv"] == ("pe_array", "flexblock_core")
    assert t["op_ram.sv"] == ("dw_unit", "flexblock_core")
    assert "bm_mac" in t["bm_pkg.sv"] and "fp2bfp" in t["sr_lfsr.sv"]


def test_sample_is_stratified_by_file(candidates):
    per_file = Counter(m.file for m in candidates)
    n = 200
    chosen = sample.sample(candidates, n, seed=1)
    assert len(chosen) == n and len({m.id for m in chosen}) == n
    got = Counter(m.file for m in chosen)
    assert set(got) == set(per_file)                      # every file
    for f, c in per_file.items():                          # in proportion (largest remainder, floor of one)
        assert abs(got[f] - n * c / len(candidates)) <= 1 + 1, (f, got[f], n * c / len(candidates))
    assert [m.id for m in sample.sample(candidates, n, seed=1)] == [m.id for m in chosen]   # reproducible
    assert [m.id for m in sample.sample(candidates, n, seed=2)] != [m.id for m in chosen]


def test_allocate_is_exactly_proportional_when_it_divides():
    assert sample.allocate(10, {"a": 50, "b": 30, "c": 20}) == {"a": 5, "b": 3, "c": 2}
    assert sample.allocate(3, {"a": 1000, "b": 1, "c": 1}) == {"a": 1, "b": 1, "c": 1}   # floor of one
    assert sample.allocate(99, {"a": 2, "b": 3}) == {"a": 2, "b": 3}                       # everything


def test_shards_partition_the_selection(candidates):
    chosen = sample.sample(candidates, 120, seed=1)
    parts = [sample.shard(chosen, i, 4) for i in range(1, 5)]
    ids = [m.id for p in parts for m in p]
    assert sorted(ids) == sorted(m.id for m in chosen) and len(set(ids)) == len(ids)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(SystemExit, match="I must be in 1..N"):
        sample.parse_shard("5/4")


def test_every_operator_class_has_candidates_in_the_rtl(candidates):
    kinds = Counter(m.kind for m in candidates)
    assert {"arith", "rel", "eq", "logic", "bit", "cond", "drop", "const", "index", "stmt", "stuck", "swap"} <= set(kinds)
    ops = {m.op for m in candidates}
    assert {"delete-stmt", "stuck-at-0", "stuck-at-1", "drive-0", "drive-1", "swap-valid-ready", "swap-stream"} <= ops
    # the example: pe_array's cfg_ready line is mutated by the control classes
    cfg_ready = [m for m in candidates if m.file == "pe_array.sv" and "cfg_ready" in m.original
                 and m.kind in ("stuck", "swap", "stmt")]
    assert cfg_ready


def test_control_signals_are_signals_not_constants():
    assert operators.is_control("cfg_ready") and operators.is_control("busy_q") and operators.is_control("a_valid")
    assert not operators.is_control("S_IDLE")    # a state constant: 'stuck at 0' of it is no fault model
    assert not operators.is_control("kdim") and not operators.is_control("begin")


SNIPPET = """module m (input logic clk, input logic a_valid, output logic a_ready, input logic b_valid,
  output logic b_ready, output logic [3:0] q);
  logic busy_q;
  assign a_ready = !busy_q;
  always_ff @(posedge clk) begin
    if (a_valid && a_ready) busy_q <= 1'b1;
    q <= {a_valid, 3'd0};
  end
endmodule
"""


def test_control_operators_on_a_snippet():
    ms = operators.mutants_of("m.sv", SNIPPET, ("m",))
    got = {(m.line, m.op, m.mutated) for m in ms}
    assert (6, "delete-stmt", "if (a_valid && a_ready) ;") in got
    assert (6, "stuck-at-1", "if (a_valid && '1) busy_q <= 1'b1;") in got
    assert (6, "stuck-at-0", "if ('0 && a_ready) busy_q <= 1'b1;") in got
    assert (6, "drive-0", "if (a_valid && a_ready) busy_q <= '0;") in got
    assert (4, "drive-1", "assign a_ready = '1;") in got
    assert (4, "stuck-at-0", "assign a_ready = !'0;") in got
    assert (6, "swap-valid-ready", "if (a_ready && a_ready) busy_q <= 1'b1;") in got
    assert (6, "swap-valid-ready", "if (a_valid && a_valid) busy_q <= 1'b1;") in got
    assert (6, "swap-stream", "if (b_valid && a_ready) busy_q <= 1'b1;") in got
    assert (6, "swap-stream", "if (a_valid && b_ready) busy_q <= 1'b1;") in got
    # never: declarations, assignment targets, reads inside a concatenation (the width would change)
    assert not [m for m in ms if m.line in (1, 2, 3)]
    assert not [m for m in ms if m.kind in ("stuck", "swap") and m.before in ("busy_q", "a_ready") and
                m.mutated.startswith(("'", "b_", "a_valid ="))]
    assert not [m for m in ms if m.line == 7 and m.kind in ("stuck", "swap")]
    assert (4, "delete-stmt") not in {(m.line, m.op) for m in ms}   # a continuous assignment is not deleted


def _result(file, res, n):
    return {"id": f"{file}:{n}:op@0", "file": file, "line": n, "op": "op", "kind": "stmt", "before": "a",
            "after": "b", "original": "", "mutated": "", "duts": ["d"], "result": res, "killed_by": [],
            "runs": [], "rtl_assertions": [], "detail": "", "seconds": 1.0, "diff": ""}


def test_shard_reports_merge_into_per_file_kill_rates(tmp_path):
    meta = {"seed": 1, "rtl_sha1": "abc", "configs": "default", "selection": "stratified sample of 6",
            "candidates": 10}
    shards = {1: [_result("x.sv", "killed", 1), _result("x.sv", "timeout", 2), _result("y.sv", "invalid", 3)],
              2: [_result("x.sv", "killed", 4), _result("y.sv", "survived", 5), _result("y.sv", "killed", 6)]}
    for i, results in shards.items():
        report.write_report(results, dict(meta, shard=f"{i}/2"), tmp_path / f"shard-{i}-of-2.json", None)
    p = subprocess.run([sys.executable, str(runner.ROOT / "scripts" / "mutate.py"), "--merge", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    merged = json.loads((tmp_path / "report.json").read_text())
    assert merged["summary"] == {"total": 6, "killed": 3, "timeout": 1, "survived": 1, "invalid": 1, "valid": 5,
                                 "kill_rate": 0.6}                 # a timeout is not a kill
    assert merged["per_file"]["x.sv"]["kill_rate"] == round(2 / 3, 4)
    assert merged["per_file"]["y.sv"]["kill_rate"] == 0.5
    md = (tmp_path / "report.md").read_text()
    assert "## Per file" in md and "| x.sv |" in md and "merged from shards 1/2, 2/2" in md
    # shards of different runs do not merge
    report.write_report([_result("z.sv", "killed", 9)], dict(meta, seed=2, shard="3/3"), tmp_path / "shard-3-of-3.json", None)
    with pytest.raises(SystemExit, match="not shards of one run"):
        report.merge(sorted(tmp_path.glob("shard-*.json")))


def test_cli_lists_a_shard_of_the_sample():
    p = subprocess.run([sys.executable, str(runner.ROOT / "scripts" / "mutate.py"), "--list", "--max", "60",
                        "--shard", "2/3"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "20 mutants (" in p.stdout and "per class:" in p.stdout


def test_cli_selects_every_candidate_of_a_file(candidates):
    """`--file` (make mutate FILES=...) runs a file's full candidate set, and names a file it has none of."""
    mutate = [sys.executable, str(runner.ROOT / "scripts" / "mutate.py"), "--list"]
    p = subprocess.run(mutate + ["--file", "credit_fifo.sv", "--file", "op_ram"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    want = Counter(m.file for m in candidates if m.file in ("credit_fifo.sv", "op_ram.sv"))
    assert f"{sum(want.values())} mutants (" in p.stdout and all(f"{f} {n}" in p.stdout for f, n in want.items())
    p = subprocess.run(mutate + ["--file", "no_such.sv"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "no candidates in no_such.sv" in p.stderr


def test_run_stops_at_the_first_failing_test(tmp_path, monkeypatch):
    """One simulation per test; the mutant is killed by the first failing one and nothing after it runs."""
    from mutation import run
    calls, trees = [], set()

    def fake_run_dut(dut, params, rtl, build, seed, timeout, log, test=None, tree=None):
        calls.append(test)
        trees.add(tree)
        return {"dut": dut, "params": params, "status": "fail" if test == "B" else "pass", "seconds": 1,
                "failed": [test] if test == "B" else [], "passed": 1, "log": "", "assertions": []}
    monkeypatch.setattr(run, "run_dut", fake_run_dut)
    monkeypatch.setattr(run, "bench_tests", lambda dut, tree=None: ["A", "B", "C"])
    monkeypatch.setattr(run, "compile_check", lambda rtl, duts, cwd: None)
    m = [x for x in operators.all_mutants(runner.RTL) if x.file == "fp32_acc.sv"][0]
    meta = run.snapshot_tree(tmp_path / "tree")
    snapshot = tmp_path / "tree" / "rtl"
    args = SimpleNamespace(workdir=str(tmp_path), sim_seed=1, timeout=10, keep_going=False, keep_work=False,
                           per_test=True)
    r = run.run_mutant(m, snapshot, {}, args, "t")
    assert r.result == "killed" and r.killed_by == [f"{m.duts[0]}:B"] and calls == ["A", "B"]
    # judged by the run's snapshot of the benches and models, not by the checkout (which may change meanwhile)
    assert trees == {tmp_path / "tree"} and (tmp_path / "tree" / "models" / "core.py").is_file()
    assert len(meta["judges_sha1"]) == 12 and run.judges_of(runner.RTL) == runner.ROOT


def test_limits_are_per_test_and_proportional_to_the_unmutated_run(tmp_path, monkeypatch):
    """Each test of a mutant gets 3x the unmutated run of that test (its time plus the run's start-up) + 60 s;
    a test the unmutated bench skipped on this simulator (pe_array LayerTiles on Icarus) is not run (named,
    cocotb would run it, untimed: the 874 s 'timeout' of docs/results/mutation.md); a run past its limit is
    a timeout, never a kill, and says which test and which limit."""
    from mutation import run
    baseline = {"seconds": 30.0, "tests": {"A": {"status": "pass", "seconds": 5.0},
                                           "Slow": {"status": "skipped", "seconds": 0.0},
                                           "B": {"status": "pass", "seconds": 15.0}}}
    lim = run.run_limits(baseline, cap=1200)
    assert lim == {None: 3 * 30 + 60, "A": 3 * (10 + 5) + 60, "B": 3 * (10 + 15) + 60}   # start-up 30 - 20 = 10 s
    assert run.run_limits(baseline, cap=100)["B"] == 100                                 # at most --timeout
    calls = []

    def fake_run_dut(dut, params, rtl, build, seed, timeout, log, test=None, tree=None):
        calls.append((test, timeout))
        status = "timeout" if test == "B" else "pass"
        return {"dut": dut, "params": params, "status": status, "seconds": timeout, "failed": [], "passed": 0,
                "log": "", "assertions": []}
    monkeypatch.setattr(run, "run_dut", fake_run_dut)
    monkeypatch.setattr(run, "bench_tests", lambda dut, tree=None: ["A", "Slow", "B", "C"])
    monkeypatch.setattr(run, "compile_check", lambda rtl, duts, cwd: None)
    m = [x for x in operators.all_mutants(runner.RTL) if x.file == "fp32_acc.sv"][0]
    import shutil
    shutil.copytree(runner.RTL, tmp_path / "rtl")
    args = SimpleNamespace(workdir=str(tmp_path), sim_seed=1, timeout=1200, keep_going=False, keep_work=False,
                           per_test=True)
    r = run.run_mutant(m, tmp_path / "rtl", {}, args, "t", {m.duts[0]: lim})
    assert calls == [("A", lim["A"]), ("B", lim["B"])]       # Slow not run; C never reached
    assert r.result == "timeout" and not r.killed_by
    assert r.detail.startswith(f"{m.duts[0]}:B ran past its {lim['B']:.0f} s limit") and "3x the unmutated" in r.detail


def test_a_module_name_is_not_a_control_signal():
    """`credit_fifo #(...) u_out_fifo (` instantiates a module: stuck-at on its name would not compile (32 such
    invalid candidates before this check)."""
    text = """module m (input logic clk, input logic in_valid, output logic in_ready);
  credit_fifo #(.WIDTH(8), .DEPTH(2)) u_fifo (.clk, .can_accept(in_ready), .accept(in_valid));
  credit_fifo u_fifo2 (.clk, .can_accept(), .accept(in_valid));
endmodule
"""
    ms = operators.mutants_of("m.sv", text, ("m",))
    assert not [x for x in ms if x.before == "credit_fifo"]
    assert not [x for x in operators.all_mutants(runner.RTL) if x.before == "credit_fifo"]

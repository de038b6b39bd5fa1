#!/usr/bin/env python3
"""Hand-made bugs, one per class of control, protocol and arithmetic bug the regression must catch: each is
applied to a temporary copy of rtl/ (a design bug) or of tb/ (a bench bug, e.g. a monitor of tb/fbuvm that
publishes what it should not: the bench must notice it is lying), the test named for it is run on Icarus, and
the test must FAIL, with a failure message that says why (a regex). Writes the results table to
docs/results/known_bugs.md.

    .venv/bin/python scripts/known_bugs.py [--only NAME ...] [--seed N] [--out docs/results/known_bugs.md]
    make known-bugs

A bug that the named test does not catch, or catches for another reason (another message: a lock-up, a
crash), makes the command exit 1. The clean RTL passes the same tests in `make test`.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Bug:
    name: str
    kind: str       # the class of issue 11 it stands for
    file: str       # in rtl/ (or in tb/ for tree="tb", e.g. "fbuvm/bfm.py")
    old: str        # exact text, once in the file
    new: str
    dut: str
    test: str       # cocotb test (TESTCASE regex: the exact name)
    expect: str     # regex the failure output must contain
    what: str       # the bug in words
    more: tuple = ()  # further (old, new) edits of the same file the bug needs
    tree: str = "rtl"  # the copied tree the bug goes into: "rtl" (the design) or "tb" (the bench)


BUGS = [
    Bug("idle_between_pairs", "throughput", "pe_array.sv",
        "assign pair_load = a_q_valid && b_q_valid && (!active || (step_last && advance));",
        "assign pair_load = a_q_valid && b_q_valid && !active;",
        "pe_array", "TrainingPasses", r"took \d+ cycles, the cycle model says \d+|pe_array schedule: .*lost cycles",
        "the next block pair loads only once the array is idle: one idle cycle between block pairs "
        "(FB12 x FB12 at half speed)"),
    Bug("idle_between_pairs_bp", "throughput under back-pressure", "pe_array.sv",
        "assign pair_load = a_q_valid && b_q_valid && (!active || (step_last && advance));",
        "assign pair_load = a_q_valid && b_q_valid && !active;",
        "pe_array", "HeavyBackPressure", r"pe_array schedule: .*lost cycles",
        "the same bug, in a test whose jobs run under back-pressure (no cycle count asserted): the step "
        "schedule catches it"),
    Bug("stall_every_step", "stall rule", "pe_array.sv",
        "assign stall     = active && step_last && tile_last && !acc_ready;",
        "assign stall     = active && !acc_ready;",
        "pe_array", "StallRule", r"pe_array schedule: .*lost cycles",
        "the array stalls at any step while every result entry is reserved, not only at a tile's last step"),
    Bug("no_stall_results_full", "stall rule (the 874 s mutation 'timeout')", "pe_array.sv",
        "assign stall     = active && step_last && tile_last && !acc_ready;",
        "assign stall     = '0;",
        "pe_array", "StallRule", r"credit_fifo: beat accepted without a credit",
        "the array never waits: a tile's last step enters the PEs with all 5 result entries reserved (the "
        "mutant of docs/results/mutation.md that ran LayerTiles, which has no back-pressure, past its limit)"),
    Bug("lockup_at_tile_end", "lock-up", "pe_array.sv",
        "assign stall     = active && step_last && tile_last && !acc_ready;",
        "assign stall     = active && step_last && tile_last;",
        "pe_array", "TrainingPasses",
        r"pe_array schedule: at cycle \d+ .* the spec has tile #0's result .* the DUT offers none.*"
        r"a_ready low since cycle \d+",
        "acc_ready stuck at 0: the array waits for a result entry forever at the first tile's last step; the step "
        "schedule, checked every 256 cycles, names the missing result and the refused operand streams (not the "
        "10,000-cycle lock-up watchdog)"),
    Bug("cfg_mid_tile", "configuration protocol", "pe_array.sv",
        "assign cfg_ready = !active && !a_q_valid && !b_q_valid && block_idx == '0;",
        "assign cfg_ready = !a_q_valid && !b_q_valid;",
        "pe_array", "ConfigWhileBusy", r"pe_array schedule: cfg beat taken at .* cfg_ready is low",
        "a configuration is taken while a tile runs (its operands no longer queued)"),
    Bug("kblocks_zero", "configuration protocol", "pe_array.sv",
        "kblocks <= (cfg_kblocks == '0) ? 16'd1 : cfg_kblocks;",
        "kblocks <= cfg_kblocks;",
        "pe_array", "ConfigCorners", r"job kblocks_0",
        "cfg_kblocks = 0 is taken as 0 (a tile of 65536 blocks), not as 1"),
    Bug("reserved_mode_b", "configuration protocol", "flexblock_pkg.sv",
        "b = (mode_b == 2'd3) ? 2'd0 : mode_b;",
        "b = mode_b;",
        "pe_array", "ConfigCorners", r"mismatch on output #\d+",
        "the reserved mode code 3 on B is not decoded as FB24 in the PEs' mode pair (the step count still is)"),
    Bug("fp2bfp_no_sticky", "rounding boundary", "fp2bfp.sv",
        "assign above_half = half && ((frac[FRAC_BITS-2:0] != '0) || sticky);",
        "assign above_half = half && (frac[FRAC_BITS-2:0] != '0);",
        "fp2bfp", "RoundingBoundaries", r"mismatch on output #\d+",
        "nearest-even rounding ignores the sticky bits past the 16 kept fraction bits"),
    Bug("acc_align_no_sticky", "rounding boundary (accumulator)", "fp32_accumulator.sv",
        "assign lesser_al   = (lesser_sig >> align) | 27'(acc_greater ? sticky_t : sticky_a);",
        "assign lesser_al   = (lesser_sig >> align);",
        "fp32_acc", "RoundingBoundaries", r"mismatch on output #\d+",
        "the sum's alignment drops the bits shifted out instead of jamming them into a sticky bit"),
    Bug("dropped_result", "silent drop", "fp32_acc.sv",
        ".push(res_valid),",
        ".push(res_valid && res_result[31:23] != 9'h0ff),",
        "fp32_acc", "OverflowAndNaN", r"mismatch on output #\d+|expected outputs never came",
        "a reduction whose result is -Inf or negative NaN is never pushed: its result is dropped"),
    Bug("spurious_result", "silent drop (a spurious beat)", "fp32_acc.sv",
        ".push(res_valid),",
        ".push(res_valid || dup_q),",
        "fp32_acc", "RandomReductions", r"mismatch on output #\d+|outputs with no expected transaction",
        "every result is pushed twice (the second a cycle later): a spurious beat after each reduction",
        [("  logic [1:0]  res_flags;\n",
          "  logic [1:0]  res_flags;\n  logic dup_q;\n  always_ff @(posedge clk) dup_q <= res_valid;\n")]),
    # bench bugs (a copy of tb/): monitors that are not monitors
    Bug("monitor_ignores_ready", "monitor (a bench bug)", "fbuvm/bfm.py",
        "if self.clock.in_reset or not (self.valid.value and self.ready.value):",
        "if self.clock.in_reset or not self.valid.value:",
        "pe_array", "HeavyBackPressure",
        r"pe_array schedule: (a|b) beat taken at .*, where the spec's (a|b)_ready is low"
        r"|pe_array schedule: a result offered on out at .*, before the spec has one",
        "every stream's monitor publishes a beat whenever valid is high, taken or not (ready ignored): what the "
        "driver offered, not what the DUT took. The step schedule sees handshakes the DUT never made: an "
        "operand taken while its ready is low, or a result popped while out_ready is low (the spec's result "
        "FIFO then empties early, and the DUT's next result looks early)", tree="tb"),
    Bug("monitor_wrong_edge", "monitor (a bench bug)", "fbuvm/bfm.py",
        "            for party in parties:\n                party.tick()\n            for party in parties:\n"
        "                party.sample()\n",
        "            for party in parties:\n                party.sample()\n            for party in parties:\n"
        "                party.tick()\n",
        "pe_array", "HeavyBackPressure", r"pe_array schedule: ",
        "the monitors sample at the falling edge before the drivers move: the beat the last rising edge saw, "
        "paired with the ready of the next one (ready sampled at the wrong edge); the step schedule sees "
        "handshakes at edges where the DUT made none", tree="tb"),
    Bug("monitor_ignores_ready_acc", "monitor (a bench bug)", "fbuvm/bfm.py",
        "if self.clock.in_reset or not (self.valid.value and self.ready.value):",
        "if self.clock.in_reset or not self.valid.value:",
        "fp32_acc", "HeavyBackPressure", r"mismatch on output #\d+|outputs with no expected transaction",
        "the same bench bug on a bench without a timing reference: the scoreboard sees the refused output beats "
        "as extra results", tree="tb"),
]


def run_bug(bug: Bug, seed: int, work: Path) -> tuple[bool, str]:
    """Apply the bug to a copy of rtl/ (or tb/) and run its test; (caught for the stated reason, evidence)."""
    tree = work / bug.name / bug.tree
    shutil.copytree(ROOT / bug.tree, tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / bug.file
    text = path.read_text()
    if text.count(bug.old) != 1:
        return False, f"the bug no longer applies: '{bug.old}' is not exactly once in {bug.tree}/{bug.file}"
    text = text.replace(bug.old, bug.new)
    for old, new in bug.more:
        if text.count(old) != 1:
            return False, f"the bug no longer applies: '{old}' is not exactly once in {bug.tree}/{bug.file}"
        text = text.replace(old, new)
    path.write_text(text)
    env = {**os.environ, f"FLEXBLOCK_{bug.tree.upper()}_DIR": str(tree),
           "FLEXBLOCK_BUILD_DIR": str(work / bug.name / "build"),
           "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("FLEXBLOCK_SCALE", None)
    cmd = [sys.executable, str(ROOT / "tb" / "runner.py"), bug.dut, "--sim", "icarus",
           "--testcase", f"\\.{bug.test}$", "--seed", str(seed)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    (work / bug.name / "sim.log").write_text(out)
    if proc.returncode == 0:
        return False, "the test PASSED on the bug"
    m = re.search(bug.expect, out)
    if not m:
        errors = [l for l in out.splitlines() if "Error" in l or "ERROR" in l]
        return False, "failed for another reason: " + (errors[0].strip() if errors else out[-300:])
    line = next((l for l in out.splitlines() if m.group(0) in l), m.group(0))
    return True, re.sub(r"^.*?(uvm_test_top\.env\.scoreboard: )+", "", line.strip())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="bug names (default: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "known_bugs.md"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary RTL copies and logs")
    args = ap.parse_args(argv)
    bugs = [b for b in BUGS if not args.only or b.name in args.only]
    work = Path(tempfile.mkdtemp(prefix="known_bugs_"))
    rows, ok = [], True
    for bug in bugs:
        caught, evidence = run_bug(bug, args.seed, work)
        ok &= caught
        print(f"{'CAUGHT' if caught else 'MISSED'} {bug.name}: {bug.dut}.{bug.test}: {evidence}", flush=True)
        rows.append((bug, caught, evidence))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs and RTL copies in {work}")
    if not args.only:
        lines = ["# Hand-made bugs and the tests that catch them", "",
                 f"`make known-bugs` (scripts/known_bugs.py, seed {args.seed}, Icarus), "
                 f"{datetime.date.today().isoformat()}: each bug is applied to a copy of `rtl/` (or of `tb/`: a bench "
                 "bug) and the named test "
                 "must fail with the stated reason (the regex in scripts/known_bugs.py).", "",
                 "| bug | class | change | test | result | failure message |", "|---|---|---|---|---|---|"]
        for bug, caught, evidence in rows:
            code = " ".join(f"`{o.strip()}` -> `{n.strip()}`".replace("\n", " ") for o, n in ((bug.old, bug.new), *bug.more))
            change = f"`{bug.tree}/{bug.file}`: {bug.what}: {code}".replace("|", "\\|")
            msg = evidence.replace("|", "\\|")
            if len(msg) > 300:
                msg = msg[:300] + " ..."
            lines.append(f"| {bug.name} | {bug.kind} | {change} | {bug.dut} `{bug.test}` | "
                         f"{'caught' if caught else '**missed**'} | {msg} |")
        Path(args.out).write_text("\n".join(lines) + "\n")
        print(f"table: {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

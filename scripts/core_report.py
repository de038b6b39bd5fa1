"""Figures of the accelerator core (docs/spec.md section 6). Writes docs/results/core.md.

    .venv/bin/python scripts/core_report.py [--out docs/results/core.md] [--stats FILE] [--model-only]

Tables: core utilization per layer (models.core.LAYERS: a ResNet-18 conv layer, a Transformer FC layer) x
pass x mode pair, measured on the RTL (Verilator, the bench's LayerUtilization test with
FLEXBLOCK_CORE_LAYERS=full: two jobs back to back per cell, the steady-state cycles per job) beside the
cycle model's prediction (models.core.core_period); the operand bandwidth each mode pair needs at full rate
(dense and in 16-bit slots) against the core's read widths; the first training step of `make train`
(FB12LG16, batch 32) through the 4 x 4 core (cycle model, which TrainingStep asserts on the RTL).
--stats FILE reuses a stats file of an earlier run instead of simulating (about 10 minutes on Verilator).
--dw-only writes docs/results/core_depthwise.md instead: the depthwise vector unit inside the core (job_dw,
DepthwiseUnitUtilization with FLEXBLOCK_DW_REPORT=full, DEPTH 4096: every map and pass, cycles asserted equal to
models.core.dw_cycles / dw_period) and the PE-array mapping as the comparison (DepthwiseUtilization);
--dw-unit-only re-runs only the first and keeps the file's mapping section; --dw-stats / --dw-unit-stats reuse
stats files of earlier runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from models import ARRAY_FILL, gemm_schedule  # noqa: E402
from models.bfp import MODE_NAMES, block_words, cycles_per_block, dense_word_bits  # noqa: E402
from models.core import (BWD, CORE_CFG, CORE_CHECK, CORE_CONV_FILL, CORE_READ, FWD, LAYERS, PASS_NAMES, WG,  # noqa: E402
                         back_cycles, bank_bits, block_bits,
                         convert_cycles, core_cycles, core_period, core_utilization, fetch_cycles, front_cycles,
                         layer_job, load_cycles, operand_bits_per_cycle, read_bits_per_cycle)

REPORT_PARAMS = {"ROWS": 4, "COLS": 4, "DEPTH": 1536, "BDEPTH": 384}  # buffers that hold every layer job

ROWS = COLS = 4
K = 16


ARRAYS = ((4, 4), (2, 2))  # the bench's two parameter sets


def bandwidth_table() -> list[str]:
    """Per mode pair: the array's cycles per block pair, the banks' fetch cycles (max(wa, wb) words), and the
    operand bits per cycle the array consumes at full rate, dense (what the banks now store and read) and in
    16-bit slots (before dense packing), for 4 x 4 and 2 x 2."""
    head = "| A x B | words per block (A, B) | cycles per block pair | fetch cycles f |"
    rule = "|---|---|---:|---:|"
    for r, c in ARRAYS:
        head += f" {r}x{c} dense bits/cycle | {r}x{c} 16-bit-slot bits/cycle |"
        rule += "---:|---:|"
    lines = [head, rule]
    for a in (2, 1, 0):
        for b in (2, 1, 0):
            row = (f"| {MODE_NAMES[a]} x {MODE_NAMES[b]} | {block_words(a, K)}, {block_words(b, K)} | "
                   f"{cycles_per_block(a, b, K)} | {fetch_cycles(a, b, K)} |")
            for r, c in ARRAYS:
                row += (f" {operand_bits_per_cycle(a, b, r, c, K):g} | "
                        f"{operand_bits_per_cycle(a, b, r, c, K, dense=False):g} |")
            lines.append(row)
    lines += ["", "| array | BFP banks' read width, dense (was: 16-bit slots) | needed at most (FB12 x FB12) "
              f"| bank storage, BDEPTH = 128 (both sets, all banks) |", "|---|---:|---:|---:|"]
    for r, c in ARRAYS:
        lines.append(f"| {r}x{c} | {read_bits_per_cycle(r, c, K)} ({read_bits_per_cycle(r, c, K, dense=False)}) | "
                     f"{operand_bits_per_cycle(2, 2, r, c, K):g} | {bank_bits(128, r, c, K):,} bits (unchanged) |")
    return lines


def training_table() -> list[str]:
    from models.training import training_gemms
    lines = ["| GEMM | A x B | M x Kdim x N | load (ld beats) | convert | array (schedule + fill) | job cycles "
             "| utilization (job) | utilization (array part) |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    totals = [0, 0, 0, 0, 0.0, 0.0]
    for item in training_gemms(1):
        m, kdim = item.a.shape
        n = item.b.shape[1]
        pass_ = {"fp": FWD, "bp": BWD, "wg": WG}[item.name.split(".")[1]]
        stored = {FWD: [(m, kdim), (kdim, n)], BWD: [(m, kdim), (n, kdim)], WG: [(kdim, m), (kdim, n)]}[pass_]
        load = sum(load_cycles(r, c, K) for r, c in stored)
        conv = convert_cycles(m, kdim, n, K)
        sched = gemm_schedule(m, kdim, n, item.mode_a, item.mode_b, ROWS, COLS, K)
        job = core_cycles(m, kdim, n, item.mode_a, item.mode_b, ROWS, COLS, K)
        useful = m * n * kdim * ((16 >> item.mode_a) // 4) * ((16 >> item.mode_b) // 4) / (16 * ROWS * COLS)
        lines.append(f"| {item.name} | {MODE_NAMES[item.mode_a]} x {MODE_NAMES[item.mode_b]} | {m}x{kdim}x{n} | {load} "
                     f"| {conv} | {sched} + {ARRAY_FILL} | {job} | {useful / job:.1%} | {useful / (sched + ARRAY_FILL):.1%} |")
        for i, v in enumerate((load, conv, sched + ARRAY_FILL, job, useful)):
            totals[i] += v
    lines.append(f"| step | | | {totals[0]} | {totals[1]} | {totals[2]} | {totals[3]} | {totals[4] / totals[3]:.1%} "
                 f"| {totals[4] / totals[2]:.1%} |")
    return lines


def run_stats(testcase: str, parameters: dict, env: dict) -> Path:
    """Run one flexblock_core test (full size) on Verilator; returns the stats file it writes."""
    import tempfile
    sys.path.insert(0, str(ROOT / "tb"))
    import runner
    out = Path(tempfile.mkdtemp(prefix=f"core_report_{testcase}_"))
    runner.run("flexblock_core", "verilator", testcase=testcase, parameters=parameters,
               extra_env={"FLEXBLOCK_STATS_DIR": str(out), **env})
    files = sorted(out.glob(f"flexblock_core-{testcase}-*.json"))
    if not files:
        raise SystemExit(f"no stats file in {out}")
    return files[-1]


def run_layers() -> Path:
    """LayerUtilization (full) on Verilator."""
    return run_stats("LayerUtilization", REPORT_PARAMS, {"FLEXBLOCK_CORE_LAYERS": "full"})


def stored_beats(pass_: int, m: int, kdim: int, n: int, conv: bool) -> int:
    """ld beats to load a job's two tensors (conv FWD: X pixels x C, W 9C x N; conv BWD: dY pixels x Cout,
    W 9N x Cout; conv WG: X pixels x C (M = 9C), dY pixels x N)."""
    if conv and pass_ == WG:
        return load_cycles(kdim, m // 9, K) + load_cycles(kdim, n, K)
    if conv:
        w_rows, w_cols = (kdim, n) if pass_ == FWD else (9 * n, kdim // 9)
        return load_cycles(m, kdim // 9, K) + load_cycles(w_rows, w_cols, K)
    shapes = {FWD: [(m, kdim), (kdim, n)], BWD: [(m, kdim), (n, kdim)], WG: [(kdim, m), (kdim, n)]}[pass_]
    return sum(load_cycles(r, c, K) for r, c in shapes)


def layer_table(records: list[dict]) -> list[str]:
    lines = ["| layer | pass | job M x Kdim x N | jobs / layer | A x B | first job (RTL) | cycles / job (RTL) "
             "| cycles / job (model) | utilization (RTL) | utilization (model) | with loads (model) |",
             "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    got = {(r["layer"], r["pass"], tuple(r["modes"])): r for r in records}
    worst = {}
    for kind in LAYERS:
        for pass_ in (FWD, BWD, WG):
            job = layer_job(kind, pass_)
            m, kdim, n = job["m"], job["kdim"], job["n"]
            how = (" (im2col address generator)" if job["conv"] and pass_ == FWD else
                   " (address generator, flipped W)" if job["conv"] and pass_ == BWD else
                   " (im2col^T address generator, lane masks)" if job["conv"] else "")
            for a in range(3):
                for b in range(3):
                    model = core_period(m, kdim, n, a, b, ROWS, COLS, K)
                    um = core_utilization(m, kdim, n, a, b, model, ROWS, COLS)
                    loads = stored_beats(pass_, m, kdim, n, bool(job["conv"]))
                    with_loads = max(loads + front_cycles(m, kdim, n, K), back_cycles(m, kdim, n, a, b, ROWS, COLS, K) + 1)
                    uw = core_utilization(m, kdim, n, a, b, with_loads, ROWS, COLS)
                    r = got.get((kind, pass_, (a, b)))
                    rtl = (f"{r['first_job']} | {r['period']} | {model} | {r['utilization']:.1%}" if r
                           else f"— | — | {model} | —")
                    if r:
                        worst[kind] = min(worst.get(kind, 1.0), r["utilization"])
                    lines.append(f"| {kind} | {PASS_NAMES[pass_]}{how} | {m}x{kdim}x{n} | {job['jobs']} "
                                 f"| {MODE_NAMES[a]} x {MODE_NAMES[b]} | {rtl} | {um:.1%} | {uw:.1%} |")
    lines.append("")
    lines.append("Lowest measured utilization: " + ", ".join(f"{k} {v:.1%}" for k, v in worst.items()) + ".")
    return lines


def compact_table(records: list[dict]) -> list[str]:
    """layer x pass rows, mode-pair columns: RTL utilization (model's in parentheses)."""
    pairs = [(a, b) for a in range(3) for b in range(3)]
    lines = ["| layer | pass | " + " | ".join(f"{MODE_NAMES[a]} x {MODE_NAMES[b]}" for a, b in pairs) + " |",
             "|---|---|" + "---:|" * len(pairs)]
    got = {(r["layer"], r["pass"], tuple(r["modes"])): r for r in records}
    for kind in LAYERS:
        for pass_ in (FWD, BWD, WG):
            job = layer_job(kind, pass_)
            cells = []
            for a, b in pairs:
                model = core_utilization(job["m"], job["kdim"], job["n"], a, b,
                                         core_period(job["m"], job["kdim"], job["n"], a, b, ROWS, COLS, K), ROWS, COLS)
                r = got.get((kind, pass_, (a, b)))
                cells.append(f"{r['utilization']:.1%} ({model:.1%})" if r else f"— ({model:.1%})")
            lines.append(f"| {kind} | {PASS_NAMES[pass_]} | " + " | ".join(cells) + " |")
    return lines


# --- depthwise (models.depthwise; spec section 6, "Depthwise conv") -------------------------------------------
DW_PARAMS = {"ROWS": 4, "COLS": 4, "DEPTH": 4096, "BDEPTH": 256}  # buffers that hold every depthwise job


def run_dw() -> Path:
    """DepthwiseUtilization (full) on Verilator."""
    return run_stats("DepthwiseUtilization", DW_PARAMS, {"FLEXBLOCK_CORE_DW": "full"})


def dw_baseline(name: str, pass_, a: int, b: int) -> float:
    """The mapping of models/workloads.py (one channel as a GEMM with N = 1: pixels x 9 x 1 for FWD / BWD,
    9 x pixels x 1 for WG) on the same patch, cycle model, tensors resident."""
    from models import depthwise as dw
    j = dw.layer_job(name, WG if pass_ == "WGsplit" else pass_)
    px = j["h"] * j["w"]
    m, kdim, n = (px, 9, 1) if pass_ in (FWD, BWD) else (9, px, 1)
    return dw.utilization(j["useful"], a, b, core_period(m, kdim, n, a, b, ROWS, COLS, K), ROWS, COLS)


DW_PASSES = (FWD, BWD, WG, "WGsplit")
DW_PASS_NAMES = {FWD: "FWD (windows)", BWD: "BWD (windows)", WG: "WG (shifted, BWD-coded)",
                 "WGsplit": "WG split (4 classes, 3 jobs)"}


def dw_table(records: list[dict]) -> list[str]:
    """layer x pass rows, mode-pair columns: RTL utilization (model's in parentheses), the array bound, the model
    with each job's tensors loaded before it, and the N = 1 mapping."""
    from models import depthwise as dw
    pairs = [(a, b) for a in range(3) for b in range(3)]
    got = {(r["layer"], r["pass"], tuple(r["modes"])): r for r in records}
    three = ((0, 0), (1, 1), (2, 2))
    lines = ["| layer | pass | job(s) M x Kdim x N | bound | " +
             " | ".join(f"{MODE_NAMES[a]} x {MODE_NAMES[b]}" for a, b in pairs) +
             " | with loads: RTL (model) | N = 1 mapping (model) |",
             "|---|---|---|---:|" + "---:|" * len(pairs) + "---|---|"]
    for name, (size, chans, _) in dw.LAYERS.items():
        for pass_ in DW_PASSES:
            if pass_ == "WGsplit":
                sj = dw.split_layer_jobs(name)
                shape = ", ".join(f"{m}x{k}x{n}" for m, k, n in sj["shapes"])
                bound = dw.split_bound(sj["h"], sj["w"])
            else:
                j = dw.layer_job(name, pass_)
                shape, bound = f"{j['m']}x{j['kdim']}x{j['n']}", dw.bound(pass_, j["h"], j["w"])
            cells = []
            for a, b in pairs:
                if pass_ == "WGsplit":
                    model = dw.utilization(sj["useful"], a, b, dw.split_period(name, a, b, ROWS, COLS), ROWS, COLS)
                else:
                    model = dw.utilization(j["useful"], a, b, dw.layer_period(name, pass_, a, b, ROWS, COLS), ROWS, COLS)
                r = got.get((name, pass_, (a, b)))
                if r and pass_ == "WGsplit":  # its three jobs measured alone (each = core_cycles); the stream is the model's
                    alone = dw.utilization(sj["useful"], a, b, sum(r["job_cycles"]), ROWS, COLS)
                    cells.append(f"{model:.1%} [{alone:.1%} alone]")
                else:
                    cells.append(f"{r['utilization']:.1%} ({model:.1%})" if r else f"— ({model:.1%})")
            loads = " / ".join(
                (f"{got[(name, f'{pass_}+loads', (a, b))]['utilization']:.1%} "
                 if (name, f"{pass_}+loads", (a, b)) in got else "— ")
                + f"({dw.layer_with_loads(name, pass_, a, b, ROWS, COLS):.1%})" for a, b in three)
            base = " / ".join(f"{dw_baseline(name, pass_, a, b):.1%}" for a, b in three)
            lines.append(f"| {name} ({size}x{size}, C={chans}) | {DW_PASS_NAMES[pass_]} | {shape} | {bound:.1%} | "
                         + " | ".join(cells) + f" | {loads} | {base} |")
    return lines


# --- the depthwise vector unit inside the core (job_dw; spec section 6, "Depthwise jobs in the core") ---------
DW_UNIT_MAPS = ((16, 112), (56, 56), (28, 28), (14, 14), (7, 7))  # MobileNetV2's stride-1 maps, 112 on 16 rows
MAPPING_HEAD = "## The PE-array mapping (the comparison: depthwise as ordinary GEMM jobs)"


def run_dw_unit() -> Path:
    """DepthwiseUnitUtilization (full: every map) on Verilator."""
    return run_stats("DepthwiseUnitUtilization", DW_PARAMS, {"FLEXBLOCK_DW_REPORT": "full"})


def dw_unit_section(records: list[dict], source: str) -> list[str]:
    """Map x pass rows: cycles alone and per job in a stream on the RTL (asserted equal to models.core.dw_cycles /
    dw_period here as in the bench), lane utilization through the core beside the unit alone (models.dw_unit)."""
    from models import dw_unit as du
    from models.core import dw_cycles, dw_period
    from models.depthwise import LAYERS as DW_LAYERS
    got = {(r["h"], r["w"], r["pass"]): r for r in records}
    chans = {size: [c for s, c, _ in DW_LAYERS.values() if s == size] for size, _, _ in DW_LAYERS.values()}
    lines = ["| map (C of MobileNetV2's layers) | measured rows | pass | products / lane | RTL: cycles alone / per job "
             "in a stream (model) | lanes, stream: core (RTL) | lanes, stream: dw_unit alone (model) | "
             "sub-mult. FB24 / FB16 / FB12 (core, stream) | whole map, core stream (model) |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for h, w in DW_UNIT_MAPS:
        for p in (du.FWD, du.BWD, du.WG):
            alone, per = dw_cycles(p, h, w, ROWS, COLS, K), dw_period(p, h, w, ROWS, COLS, K)
            r = got.get((h, w, p))
            if r is not None:
                assert (r["cycles"], r["period"]) == (alone, per), f"{h}x{w} {du.PASS_NAMES[p]}: RTL {r}, model {alone}, {per}"
            taps = du.valid_taps(h, w)
            rtl = f"{r['cycles']:,} / {r['period']:,}" if r else "—"
            lanes = f"{taps / r['period']:.1%}" if r else "—"
            sub = " / ".join(f"{du.submultiplier_utilization(p, h, w, m, m, per):.1%}" for m in (0, 1, 2))
            whole = du.valid_taps(w, w) / dw_period(p, w, w, ROWS, COLS, K)
            lines.append(f"| {w} x {w} (C = {', '.join(map(str, chans[w]))}) | {h} | {du.PASS_NAMES[p]} | {taps:,} | "
                         f"{rtl} ({alone:,} / {per:,}) | {lanes} | {taps / du.stream_period(p, h, w):.1%} | {sub} | "
                         f"{whole:.1%} |")
    return [f"RTL: {source}. One job = one group of 16 channels of one map (`job_dw`; X, dY stored H*W x C, the kernel "
            "9 x C), read from the FP32 buffer along the stored rows, converted by the core's fp2bfp and computed by "
            "dw_unit (lanes = channels, taps in time); binary32 results on `out`. Per map and pass two jobs back to back "
            "on resident tensors, results taken at once: *cycles alone* from the job's take to its last out beat, *per "
            "job in a stream* from one job's last beat to the next one's (the core takes the next job the cycle after "
            "a depthwise job's last beat); the bench and this script assert both equal `models.core.dw_cycles` / "
            "`dw_period` (in parentheses). *lanes* = products / (16 lanes x cycles per job), products = the taps "
            "inside the map ((3H - 2)(3W - 2) per channel; padding taps are skipped). Beside it the unit alone with "
            "its streams fed in parallel (`models.dw_unit.stream_period`, docs/results/dw_unit.md): the core feeds "
            "the kernel and the map through one converter, one after the other, and overlaps nothing with the "
            "previous job, so each job pays the conversion pipeline, the 9 kernel blocks before the map's window and "
            "the drain. *sub-mult.*: the lanes' 16 x 16 multipliers in FB24 / FB16 / FB12 on both operands (a product "
            "of Wa x Wb magnitude bits uses (Wa/4)(Wb/4) of a lane's 16 4x4-equivalents). Cycles do not depend on the modes (the cells ran FWD in FB24, BWD in FB16, WG in FB12). "
            "Last column: the model on the whole map (the 112 x 112 map needs DEPTH >= 12,544 words per region).", "",
            *lines]


def dw_main(args) -> int:
    import json
    out = Path(args.out) if args.out != str(ROOT / "docs/results/core.md") else ROOT / "docs/results/core_depthwise.md"
    unit_records, unit_source = [], "not run (--model-only)"
    if not args.model_only:
        stats = Path(args.dw_unit_stats) if args.dw_unit_stats else run_dw_unit()
        data = json.loads(stats.read_text())
        unit_records, unit_source = data["dw_core_unit"], f"Verilator, seed {data['seed']}, parameters {data['params']}"
    if args.dw_unit_only:  # keep the mapping's section of the existing file (it says its own run)
        old = out.read_text()
        mapping = old[old.index(MAPPING_HEAD) + len(MAPPING_HEAD):] if MAPPING_HEAD in old else \
            old[old.index("RTL: "):]
        mapping = mapping.strip("\n").splitlines()
    else:
        records, source = [], "not run (--model-only)"
        if not args.model_only:
            stats = Path(args.dw_stats) if args.dw_stats else run_dw()
            data = json.loads(stats.read_text())
            records, source = data["dw_layers"], f"Verilator, seed {data['seed']}, parameters {data['params']}"
        mapping = dw_section(records, source)
    text = [f"# Depthwise 3x3 conv on the accelerator core ({ROWS}x{COLS}, K={K})", "",
            "Generated by `scripts/core_report.py --dw-only` (2-core hdl machine, 2026-11-28; `--dw-unit-only` "
            "re-runs the first section and keeps the second). The core runs a depthwise job (`job_dw`) on its "
            "depthwise vector unit (docs/spec.md section 6, \"Depthwise jobs in the core\"); the PE-array mapping "
            "below is the comparison (its 9/16 bound: section 6, \"Depthwise 3x3 conv\").", "",
            "## The depthwise vector unit in the core (`job_dw`)", "",
            *dw_unit_section(unit_records, unit_source), "",
            MAPPING_HEAD, "", *mapping]
    out.write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


def dw_section(records: list[dict], source: str) -> list[str]:
    return [
        f"RTL: {source}. MobileNetV2's stride-1 depthwise layers (models.depthwise.LAYERS), one channel per job, "
        "operands stored by the host in the mapping's layout (spec section 6, \"Depthwise 3x3 conv\"): FWD / BWD read "
        "the 4x4 input windows of a 16 x 16 patch's 2x2 output tiles against the kernel at the tile's four offsets "
        "(M windows x 16 x 4); WG the map shifted by a row against dY shifted by a column over up to 4096 grid "
        "points (3 x Kdim x 3, stored transposed and run as a BWD-coded job); the WG split the same reduction cut "
        "into 4 column classes, three 4 x Kdim x 4 jobs whose 36 useful results are the (tap, class) shares of dW, "
        "added outside the core. Utilization = 9 useful products per output (x (Wa/4)(Wb/4) sub-multiplier "
        f"operations) / (16 x {ROWS * COLS} x cycles). `bound`: the array fed at full rate (9 of 16 lanes for FWD / "
        "BWD, 9 of 16 PEs for WG, 36 of 48 for the split, and the blocks' padding).", "",
        "Cells: FWD / BWD / WG: two jobs back to back on resident tensors, the steady-state cycles per job measured "
        "on the RTL (the cycle model `models.core.core_period` in parentheses; the bench asserts they are equal). "
        "WG split: its three jobs need different tensors, which the core's regions cannot hold at once, so the "
        "cell is the cycle model's stream (`core_stream`, tensors resident) with, in brackets, the three jobs run "
        "alone on the RTL (each measured equal to `core_cycles`). `with loads`: every job loads its own tensors over "
        "ld first (a new channel or patch each job; the loads of job t + 1 go in while job t computes), measured on "
        "the RTL (3 jobs, or 2 slices of the split, back to back: the last job's or slice's cycles) beside "
        "`models.depthwise.with_loads_period` (the bench asserts they are equal), for FB24 x FB24 / FB16 x FB16 / "
        "FB12 x FB12. Last column: the mapping of models/workloads.py (one channel as an "
        "N = 1 GEMM), cycle model, resident tensors, same three pairs. Below 4 cycles per block pair (WG: 6, the "
        "split: 8) a job is conversion-bound: one converter makes one block per cycle, and a window block feeds "
        "only the 4 outputs of its tile (a WG block pair one tile).", "",
        *dw_table(records)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs/results/core.md"))
    ap.add_argument("--stats", help="a LayerUtilization stats file from an earlier run (skips the simulation)")
    ap.add_argument("--model-only", action="store_true", help="no RTL run: the layer table's RTL columns stay empty")
    ap.add_argument("--dw-stats", help="a DepthwiseUtilization stats file from an earlier run (skips that simulation)")
    ap.add_argument("--dw-only", action="store_true",
                    help="only the depthwise tables, to docs/results/core_depthwise.md (or --out)")
    ap.add_argument("--dw-unit-stats", help="a DepthwiseUnitUtilization stats file from an earlier run")
    ap.add_argument("--dw-unit-only", action="store_true",
                    help="with --dw-only: re-run only the depthwise unit's section, keep the file's mapping section")
    args = ap.parse_args(argv)
    if args.dw_only:
        return dw_main(args)
    import json
    records = []
    if not args.model_only:
        stats = Path(args.stats) if args.stats else run_layers()
        data = json.loads(stats.read_text())
        records = data["layers"]
        source = f"Verilator, seed {data['seed']}, parameters {data['params']}"
    else:
        source = "not run (--model-only)"
    dw_records, dw_source = [], "not run (--model-only)"
    if not args.model_only:
        dw_stats = Path(args.dw_stats) if args.dw_stats else run_dw()
        dw_data = json.loads(dw_stats.read_text())
        dw_records = dw_data["dw_layers"]
        dw_source = f"Verilator, seed {dw_data['seed']}, parameters {dw_data['params']}"
    text = [
        f"# The accelerator core ({ROWS}x{COLS}, K={K})", "",
        "Generated by `scripts/core_report.py` (2-core hdl machine, 2026-11-28). Cycle model: `models.core` "
        "(`core_cycles` for a job alone, `core_stream` / `core_period` for jobs back to back), which the "
        "flexblock_core bench asserts equal to the RTL's cycles (tb/flexblock_core_tests.py: CycleModel, JobStream, "
        "LayerUtilization, TrainingStep).", "",
        "## Utilization per layer, pass and mode pair", "",
        f"RTL: {source}. Each layer pass runs as a stream of equal jobs, one {ROWS * 8} x {COLS * 8} block of C each "
        "with the whole reduction (models.core.layer_job; a conv FWD / BWD job is a 4 x 8 pixel tile of the map read as an "
        "image, i.e. without its halo, through the address generator; a conv WG job is the 36 rows of dW of 4 input channels "
        "reduced over a 16 x 16 pixel tile read as an image, im2col(X)^T read from X by the WG address generator with its "
        "per-lane padding mask; an FC WG job reduces over a 256-token slice of the batch). The core converts job i + 1 while it computes job i, so "
        "a job costs max(front, back + 1) cycles (spec section 6, Cycles); the RTL columns are measured on two jobs "
        "back to back per cell on the tensors loaded once: `first job` from its take to its last tile, `cycles / "
        "job` the second job's last tile minus the first's. Utilization = useful sub-multiplier operations / "
        f"(16 x {ROWS * COLS} sub-multipliers x cycles per job). `with loads`: the model's figure when each job's two "
        "tensors are loaded over `ld` (one beat of K elements per cycle) before the front converts them (loads "
        "overlap the back's compute but not the front's conversion).", "",
        "Summary: utilization measured on the RTL (the cycle model's in parentheses):", "",
        *compact_table(records), "",
        *(layer_table(records) if records or args.model_only else []), "",
        "## Depthwise 3x3 conv (window mapping, models.depthwise)", "",
        *dw_section(dw_records, dw_source), "",
        "## Operand bandwidth at full rate (dense packing)", "",
        f"One A beat ({ROWS} blocks) and one B beat ({COLS} blocks) per block pair. Dense (docs/spec.md section 6, "
        f"\"Operand word packing\"; models.bfp.pack_dense): each element at its mode's width (sign + W bits; block = 8 + "
        f"2 + K(W+1) bits: {block_bits(0)} / {block_bits(1)} / {block_bits(2)} for FB24 / FB16 / FB12), stored in "
        f"words of DW = {dense_word_bits(K)} bits, 3 / 2 / 1 per block; the core's BFP banks store and read that, one "
        f"word per bank per cycle, and unpack a block pair read over f = max(wa, wb) cycles into pe_array's 16-bit "
        f"slots ({block_bits(0, dense=False)} bits per block in every mode: what the banks stored and read before, "
        f"{read_bits_per_cycle(ROWS, COLS, K, dense=False)} bits per cycle on {ROWS}x{COLS}). f never exceeds the "
        "array's cycles per block pair, so the banks keep the array fed in every pair (the utilizations above are "
        "measured with them); the read width covers every pair's dense need. The FP32 buffer reads "
        f"{32 * K} bits (one block of {K} binary32 elements) per cycle into the converter.", "",
        *bandwidth_table(), "",
        "## The first training step of `make train` through the core", "",
        "FB12LG16, RTZ, batch 32, layers 64-32-32-10 (models.training.training_gemms(1)). Load: ld beats to store the "
        "job's two tensors (one per cycle when ld_valid stays high; a tensor shared with the previous job need not be "
        "reloaded). Job cycles: from the edge that takes the job to the one that takes its last tile, = "
        f"{CORE_CHECK} (check) + convert + {CORE_CONV_FILL} (conversion pipeline) + {CORE_CFG} (array configuration) + "
        f"{CORE_READ} (BFP bank read) + f - 1 (the first block "
        "pair's further bank words: 2 with an FB24 operand, 1 with FB16 the widest) + the array's schedule + "
        f"{ARRAY_FILL}. Utilization: useful sub-multiplier operations / (16 x {ROWS * COLS} PEs' sub-multipliers x cycles).", "",
        *training_table(), "",
    ]
    Path(args.out).write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())

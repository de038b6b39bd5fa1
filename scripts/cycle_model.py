"""Cycle model of pe_array, validated against the RTL, and its predictions for real training layers.

    .venv/bin/python scripts/cycle_model.py                 # runs `make sim TOPLEVEL=pe_array SIM=verilator
                                                  #   TESTCASE='TrainingPasses|LayerTiles'` to validate,
                                                  #   then predicts
    .venv/bin/python scripts/cycle_model.py --log sim.log   # validate against a saved log of that run instead
    .venv/bin/python scripts/cycle_model.py --no-validate

Model (docs/spec.md section 4): a GEMM job (M x Kdim) x (Kdim x N) on a ROWS x COLS array with K-element
blocks takes
    cycles = ceil(M/ROWS) * ceil(N/COLS) * ceil(Kdim/K) * (Wa/4)(Wb/4)K/16  +  FILL
because the sequencers start the next block pair in the cycle the last step of the current one runs
(no bubble between block pairs or tiles, operand streams assumed full). The job's cycles are counted from
the rising edge that takes its configuration beat to the one that takes its last result (the bench's
handshake times, tb/pe_array_env.py: run_job), and FILL = models.ARRAY_FILL = 6 is what that adds to the
steps when the operand beats follow the configuration at once: the first beats enter the credit FIFOs one
edge after the configuration and the sequencers load them on the next; after the last step, the PE
pipeline registers the multiplier's sum, the block dot product and the rounded term, the sum stage pushes
the result, and the bench takes it on the next edge. (It was 3 with the single-cycle PE, 5 before the
bench measured from handshakes.) The formula itself lives in models/pe_array.py (gemm_cycles), shared
with the pe_array bench, which asserts it on every job run without idle gaps or back-pressure.
"""
from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models import ARRAY_FILL as FILL, cycles_per_block, gemm_schedule, mag_bits  # noqa: E402  (the array's schedule: one definition)

ROOT = Path(__file__).resolve().parent.parent

MODES = ("FB24", "FB16", "FB12")
PAIRS = [(a, b) for a in MODES for b in MODES]

# a row of the table, after any log prefix ("INFO cocotb: ..."); more columns (e.g. busy) may follow util
ROW_RE = re.compile(r"(\S+)\s+(FB\d+)\s+(FB\d+)\s+(\w+)\s+(\d+)x(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)%")


def parse_cycle_table(log: str, rows: int = 4, cols: int = 4, k: int = 16) -> list[dict]:
    """The 'cycles and utilization' table(s) of a pe_array test log (job, A, B, rnd, M x K, N, cycles,
    ideal, util), with the element products of each job (padded = as computed and checked)."""
    jobs = []
    for line in log.splitlines():
        m = ROW_RE.search(line)
        if not m:
            continue
        name, ma, mb, rnd, mm, kd, n, cyc, ideal, util = m.groups()
        mm, kd, n = int(mm), int(kd), int(n)
        jobs.append({"job": name, "mode_a": ma, "mode_b": mb, "rnd": rnd, "M": mm, "Kdim": kd, "N": n,
                     "cycles": int(cyc), "ideal": int(ideal), "util": float(util) / 100,
                     "useful_macs": mm * kd * n,
                     "padded_macs": math.ceil(mm / rows) * rows * math.ceil(n / cols) * cols
                     * math.ceil(kd / k) * k})
    return jobs


def gemm_cycles(m, kdim, n, ma, mb, rows=4, cols=4, k=16, fill=FILL) -> int:
    return gemm_schedule(m, kdim, n, ma, mb, rows, cols, k) + fill


def utilization(m, kdim, n, ma, mb, cycles, rows=4, cols=4) -> float:
    return m * n * kdim * (mag_bits(ma) // 4) * (mag_bits(mb) // 4) / (16 * rows * cols * cycles)


# --- real layers: the three GEMMs of training (im2col, as tb/pe_array_env.py conv_layer_gemms) ---------
def conv_gemms(batch, cin, cout, hw, ksz=3):
    """3x3 stride-1 'same' conv: fwd X_col (NHW x Cin*9) W_col (Cin*9 x Cout); bwd (data gradient)
    dY (NHW x Cout) W_col^T (Cout x Cin*9), then col2im; weight gradient X_col^T (Cin*9 x NHW) dY."""
    p, r = batch * hw * hw, cin * ksz * ksz
    return {"fwd": (p, r, cout), "bwd": (p, cout, r), "wg": (r, p, cout)}


def fc_gemms(tokens, fin, fout):
    return {"fwd": (tokens, fin, fout), "bwd": (tokens, fout, fin), "wg": (fin, tokens, fout)}


LAYERS = {
    "ResNet18 conv2_x 64->64 56x56 b1": conv_gemms(1, 64, 64, 56),
    "ResNet18 conv3_x 128->128 28x28 b1": conv_gemms(1, 128, 128, 28),
    "ResNet18 conv5_x 512->512 7x7 b1": conv_gemms(1, 512, 512, 7),
    "ResNet18 conv5_x 512->512 7x7 b8": conv_gemms(8, 512, 512, 7),
    "Transformer FC 512->2048, 128 tok": fc_gemms(128, 512, 2048),
}


# --- a whole training step per mode schedule ----------------------------------------------------------
# The BFP convs of ResNet-18 on 224x224 images (the first conv, the 1x1 shortcuts and the last FC stay FP32,
# as in the authors' configurations): (Cin, Cout, output size, how many).
RESNET18_CONVS = [(64, 64, 56, 4), (64, 128, 28, 1), (128, 128, 28, 3), (128, 256, 14, 1), (256, 256, 14, 3),
                  (256, 512, 7, 1), (512, 512, 7, 3)]
# Operand modes per pass (A, B): FP = activation x weight, BP = error x weight^T, WG = activation^T x error.
SCHEDULES = {
    "FB24": {"fwd": ("FB24", "FB24"), "bwd": ("FB24", "FB24"), "wg": ("FB24", "FB24")},
    "FB16": {"fwd": ("FB16", "FB16"), "bwd": ("FB16", "FB16"), "wg": ("FB16", "FB16")},
    "FB12": {"fwd": ("FB12", "FB12"), "bwd": ("FB12", "FB12"), "wg": ("FB12", "FB12")},
    "FB12LG16": {"fwd": ("FB12", "FB12"), "bwd": ("FB16", "FB16"), "wg": ("FB12", "FB12")},
    "FB12LG24": {"fwd": ("FB12", "FB12"), "bwd": ("FB24", "FB24"), "wg": ("FB12", "FB12")},
}


def training_step_cycles(schedule: dict, batch: int) -> int:
    """pe_array cycles of every BFP GEMM of one ResNet-18 training step (fwd, bwd, wg of each conv)."""
    total = 0
    for cin, cout, hw, count in RESNET18_CONVS:
        for pass_, (m, kdim, n) in conv_gemms(batch, cin, cout, hw).items():
            total += count * gemm_cycles(m, kdim, n, *schedule[pass_])
    return total


def training_table(batches=(1, 8, 32)) -> list[str]:
    lines = ["| schedule | " + " | ".join(f"batch {b}: cycles (speed-up)" for b in batches) + " |",
             "|---|" + "---:|" * len(batches)]
    base = {b: training_step_cycles(SCHEDULES["FB24"], b) for b in batches}
    for name, schedule in SCHEDULES.items():
        cells = []
        for b in batches:
            c = training_step_cycles(schedule, b)
            cells.append(f"{c:,} ({base[b] / c:.2f}x)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


# --- the compared designs on the same GEMMs (each on a 4 x 4 array of its own units) ------------------------
def compared_designs() -> dict:
    """name -> (cycles(pass_, m, kdim, n), products per cycle at peak). Each formula is asserted on its array
    RTL by that array's bench (tb/bm_array_tests.py, bf16_array_tests.py, neuroflix_array_tests.py:
    CycleModel); FlexBlock's by pe_array's."""
    from models import bf16_mac as bf16
    from models import block_minifloat as bm
    from models import neuroflix as nf
    nf_modes = {"FX8/FP16": {"fwd": (1, nf.FX8), "bwd": (1, nf.FP16), "wg": (1, nf.FP16)},
                "FX4/E5M2": {"fwd": (0, nf.FX4), "bwd": (0, nf.E5M2), "wg": (0, nf.E5M2)}}
    designs = {
        "FlexBlock pe_array FB24 x FB24": (lambda p, m, k, n: gemm_cycles(m, k, n, "FB24", "FB24"), 16),
        "FlexBlock pe_array FB12 x FB12": (lambda p, m, k, n: gemm_cycles(m, k, n, "FB12", "FB12"), 256),
        "Block Minifloat bm_array (K = 16)": (lambda p, m, k, n: bm.array_cycles(m, k, n, 4, 4, 16), 256),
        "Block Minifloat bm_array (K = 48)": (lambda p, m, k, n: bm.array_cycles(m, k, n, 4, 4, 48), 768),
        "bfloat16 bf16_array (N = 4)": (lambda p, m, k, n: bf16.gemm_cycles(m, k, n, 4, 4, 4), 64),
    }
    for name, modes in nf_modes.items():
        designs[f"NeuroFlix neuroflix_array (G = 8) {name}"] = (
            lambda p, m, k, n, modes=modes: nf.gemm_cycles(m, k, n, *modes[p], rows=4, cols=4, group=8),
            f"{int(nf.products_per_cycle(*modes['fwd']) * 16)} fwd / "
            f"{int(nf.products_per_cycle(*modes['bwd']) * 16)} bwd, wg")
    return designs


def compared_table(batch: int = 8) -> list[str]:
    designs = compared_designs()
    layers = list(LAYERS)
    lines = ["| design (4 x 4 array of its units) | peak products/cycle | "
             + " | ".join(f"{l}: products/cycle" for l in layers)
             + f" | ResNet-18 training step, batch {batch}: cycles | vs FlexBlock FB24 x FB24 |",
             "|---|---:|" + "---:|" * len(layers) + "---:|---:|"]
    base = None
    for name, (cyc, peak) in designs.items():
        cells = []
        for layer in layers:
            gemms = LAYERS[layer]
            total = sum(cyc(p, *g) for p, g in gemms.items())
            cells.append(f"{sum(m * k * n for m, k, n in gemms.values()) / total:.1f}")
        step = sum(count * cyc(p, m, k, n) for cin, cout, hw, count in RESNET18_CONVS
                   for p, (m, k, n) in conv_gemms(batch, cin, cout, hw).items())
        base = base or step
        lines.append(f"| {name} | {peak} | " + " | ".join(cells) + f" | {step:,} | {base / step:.2f}x |")
    return lines


def validate(log: str) -> tuple[list[str], float]:
    jobs = parse_cycle_table(log)
    if not jobs:
        raise SystemExit("no 'cycles and utilization' table in the log")
    lines = ["| job | A | B | M x Kdim x N | RTL cycles | model | rel. error |", "|---|---|---|---|---:|---:|---:|"]
    worst = 0.0
    for j in jobs:
        pred = gemm_cycles(j["M"], j["Kdim"], j["N"], j["mode_a"], j["mode_b"])
        err = (pred - j["cycles"]) / j["cycles"]
        worst = max(worst, abs(err))
        lines.append(f"| {j['job']} | {j['mode_a']} | {j['mode_b']} | {j['M']}x{j['Kdim']}x{j['N']} "
                     f"| {j['cycles']} | {pred} | {err:+.2%} |")
    return lines, worst, len(jobs)


LAYER_JOB_RE = re.compile(r"^(conv3_x|xfmr_fc)_(fwd|bwd|wg)$")  # the LayerTiles test's jobs


def rtl_layer_table(log: str) -> list[str]:
    """Measured in RTL (LayerTiles: two output tiles of each real GEMM at its full Kdim): utilization per
    GEMM and element products per cycle over all six, with the speed-up over FB24 x FB24."""
    jobs = [j for j in parse_cycle_table(log) if LAYER_JOB_RE.match(j["job"])]
    if not jobs:
        return []
    names = list(dict.fromkeys(j["job"] for j in jobs))
    kdims = {j["job"]: j["Kdim"] for j in jobs}
    lines = ["| A x B | " + " | ".join(f"{n} (Kdim {kdims[n]})" for n in names)
             + " | products/cycle (all six) | vs FB24 x FB24 |", "|---|" + "---:|" * (len(names) + 2)]
    base = None
    for a, b in PAIRS:
        pair = [j for j in jobs if (j["mode_a"], j["mode_b"]) == (a, b)]
        ppc = sum(j["M"] * j["N"] * j["Kdim"] for j in pair) / sum(j["cycles"] for j in pair)
        base = base or ppc
        util = {j["job"]: j["util"] for j in pair}
        lines.append(f"| {a} x {b} | " + " | ".join(f"{util[n]:.1%}" for n in names)
                     + f" | {ppc:.1f} | {ppc / base:.2f}x |")
    return lines


SMALL_JOB_RE = re.compile(r"^(conv|fc)_(fwd|bwd|wg)$")  # the TrainingPasses test's jobs


def small_gemm_table(log: str) -> list[str]:
    """Measured in RTL (TrainingPasses: a tiny conv layer and an FC layer): utilization / busy per GEMM and
    mode pair; busy = cycles the padded schedule needs / cycles taken."""
    jobs = [j for j in parse_cycle_table(log) if SMALL_JOB_RE.match(j["job"]) and j["rnd"] == "RTZ"]
    if not jobs:
        return []
    names = list(dict.fromkeys(j["job"] for j in jobs))
    lines = ["| A x B | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for a, b in PAIRS:
        cell = {j["job"]: f"{j['util']:.0%} / {j['ideal'] / j['cycles']:.0%}" for j in jobs
                if (j["mode_a"], j["mode_b"]) == (a, b)}
        lines.append(f"| {a} x {b} | " + " | ".join(cell.get(n, "") for n in names) + " |")
    return lines


def operand_bits_per_cycle(ma, mb, rows=4, cols=4, k=16) -> float:
    """Operand bandwidth the schedule needs: one A beat (ROWS blocks) and one B beat (COLS blocks) of
    8 + K + 16K + 2 bits each per block pair."""
    return (rows + cols) * (8 + k + 16 * k + 2) / cycles_per_block(ma, mb, k)


def predict() -> tuple[list[str], dict]:
    """One row per GEMM: utilization (FB24xFB24 / FB12xFB12: only padding and the fill differ) and element
    products per cycle for every mode pair, with the speed-up over FB24 x FB24."""
    hdr_pairs = " | ".join(f"{a}x{b}" for a, b in PAIRS)
    table = [f"| layer | GEMM | M x Kdim x N | cycles FB24xFB24 | util FB24xFB24 / FB12xFB12 | {hdr_pairs} |",
             "|---|---|---|---:|---:|" + "---:|" * len(PAIRS)]
    per_layer = {}
    for layer, gemms in LAYERS.items():
        tot = {p: 0 for p in PAIRS}
        macs = 0
        for g, (m, kd, n) in gemms.items():
            cyc = {p: gemm_cycles(m, kd, n, *p) for p in PAIRS}
            for p in PAIRS:
                tot[p] += cyc[p]
            macs += m * kd * n
            base = cyc[("FB24", "FB24")]
            u24 = utilization(m, kd, n, "FB24", "FB24", base)
            u12 = utilization(m, kd, n, "FB12", "FB12", cyc[("FB12", "FB12")])
            table.append(f"| {layer} | {g} | {m}x{kd}x{n} | {base:,} | {u24:.1%} / {u12:.1%} | "
                         + " | ".join(f"{m * kd * n / cyc[p]:.1f} ({base / cyc[p]:.2f}x)" for p in PAIRS) + " |")
        per_layer[layer] = {p: macs / tot[p] for p in PAIRS}
    bw = ["| operand bandwidth needed (bits/cycle, 4x4, K=16) | "
          + " | ".join(f"{operand_bits_per_cycle(*p):.0f}" for p in PAIRS) + " |",
          "|---|" + "---:|" * len(PAIRS)]
    return table, bw, per_layer


def plot(per_layer: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(11, 4.8))
    x = np.arange(len(PAIRS))
    w = 0.8 / len(per_layer)
    for i, (layer, v) in enumerate(per_layer.items()):
        ax.bar(x + (i - (len(per_layer) - 1) / 2) * w, [v[p] for p in PAIRS], w, label=layer)
    ax.set_xticks(x, [f"{a} x {b}" for a, b in PAIRS])
    ax.set_yscale("log", base=2)
    ax.set_ylabel("element products / cycle (fwd+bwd+wg)")
    ax.set_title("pe_array 4x4, K=16: predicted products per cycle by mode pair (cycle model)")
    ax.axhline(16, color="gray", lw=0.5, ls=":")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", help="saved log of the TrainingPasses + LayerTiles run (default: run it)")
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "docs/results/cycle_model.md"))
    ap.add_argument("--png", default=str(ROOT / "docs/results/products_per_cycle.png"))
    ap.add_argument("--compared", metavar="OUT", help="only write the compared designs' table (every design on "
                    "the same GEMMs, its own 4 x 4 array) to OUT, e.g. docs/results/cycle_model_compared.md")
    args = ap.parse_args(argv)
    if args.compared:
        lines = compared_table()
        print("\n".join(lines))
        Path(args.compared).write_text("\n".join([
            "# The compared designs' cycle models on FlexBlock's GEMMs\n",
            "Generated by `scripts/cycle_model.py --compared docs/results/cycle_model_compared.md`. Each design on a "
            "4 x 4 array *of its own units* (not iso-area), output-stationary, operands broadcast along rows and "
            "columns, no memory stalls: `block_minifloat.array_cycles`, `bf16_mac.gemm_cycles`, "
            "`neuroflix.gemm_cycles` (NeuroFlix: forward fixed x fixed, backward and weight gradient fixed x float), "
            "each asserted on its array RTL by the array's bench (`CycleModel`), FlexBlock's `pe_array` schedule as "
            "in cycle_model.md. Layers as in cycle_model.md (fwd + bwd + wg, element products / cycles); the "
            "training step: the 16 BFP 3x3 convs of ResNet-18 at 224x224, fwd + bwd + wg.\n",
            *lines, ""]) + "\n")
        print(f"wrote {args.compared}")
        return 0

    text = ["# pe_array cycle model (4x4, K=16)\n",
            "Generated by `scripts/cycle_model.py`. cycles = ceil(M/4) ceil(N/4) ceil(Kdim/16) "
            f"(Wa/4)(Wb/4) + {FILL} (from the edge that takes the configuration to the one that takes the last "
            "result: FIFO, sequencer load, the PE pipeline's multiply, block, term and sum stages, the result "
            "handshake; see the script). "
            "Assumes both operand streams keep up (in FB12 x FB12 that is one A and one B block beat per "
            "cycle) and no result back-pressure. Utilization = M N Kdim (Wa/4)(Wb/4) / (256 cycles).\n"]
    if not args.no_validate:
        if args.log:
            log = Path(args.log).read_text()
        else:
            cmd = ["make", "-C", str(ROOT), "sim", "TOPLEVEL=pe_array", "SIM=verilator",
                   "TESTCASE=TrainingPasses|LayerTiles"]
            print("running:", " ".join(cmd), flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            log = proc.stdout + proc.stderr
            if proc.returncode != 0:
                sys.stderr.write(log[-3000:])
                raise SystemExit("TrainingPasses or LayerTiles failed")
        lines, worst, n = validate(log)
        print("\n".join(lines))
        print(f"validation: {n} jobs, max |relative error| {worst:.2%} (target 2%)")
        layers = rtl_layer_table(log)
        print("\n".join(layers))
        small = small_gemm_table(log)
        print("\n".join(small))
        text += ["## Measured in RTL: real layers, every mode pair (LayerTiles, Verilator)\n",
                 "Output tiles (M = 4, N = 4 x tiles) of the forward, backward and weight-gradient GEMMs of "
                 "ResNet-18 conv3_x (128 -> 128 channels, 28x28, im2col) and a Transformer FC layer (512 -> 2048, "
                 "128 tokens), each at its full reduction length Kdim (a tile's work depends only on Kdim), with "
                 "enough tiles for 256 block pairs per job. Cell: utilization (useful sub-multiplier operations / "
                 f"(16 x PEs x cycles), the job's {FILL} fill cycles included). Products/cycle: element products "
                 "over all six GEMMs / their cycles.\n",
                 *layers, "",
                 "## Measured in RTL: tiny GEMMs (TrainingPasses, Verilator)\n",
                 "A 3x3 conv layer (4 -> 8 channels, 4x4 image, im2col: forward 16x36 . 36x8, backward 16x8 . "
                 "8x36, weight gradient 36x16 . 16x8) and an FC layer (batch 8, 40 -> 12). Cell: utilization / "
                 "busy (cycles the padded schedule needs / cycles taken). Utilization below busy is padding "
                 "(Kdim to whole blocks of 16, M and N to whole tiles of 4); busy below 100% is the fill, which "
                 "matters only because these jobs are tiny.\n",
                 *small, "",
                 f"## Validation against RTL (TrainingPasses + LayerTiles, Verilator): {n} jobs, max |rel. error| "
                 f"{worst:.2%}\n", *lines, ""]
    table, bw, per_layer = predict()
    print("\n".join(table))
    print("\n".join(bw))
    text += ["## Predicted per GEMM: element products per cycle (speed-up over FB24 x FB24) by mode pair A x B\n",
             *table, "", "Peak: 16 products/cycle in FB24 x FB24, 256 in FB12 x FB12 (16 PEs x 16/(na nb)).", "",
             "| | " + " | ".join(f"{a}x{b}" for a, b in PAIRS) + " |", *bw[1:2], *bw[:1], "",
             "## Per layer (fwd + bwd + wg), element products per cycle\n",
             "| layer | " + " | ".join(f"{a}x{b}" for a, b in PAIRS) + " |", "|---|" + "---:|" * len(PAIRS)]
    text += [f"| {layer} | " + " | ".join(f"{v[p]:.1f}" for p in PAIRS) + " |" for layer, v in per_layer.items()]
    text += ["", f"![products per cycle]({Path(args.png).name})", ""]
    steps = training_table()
    print("\n".join(steps))
    text += ["## A whole training step per mode schedule (ResNet-18, 224x224, one 4x4 array)\n",
             "GEMM cycles of the forward, backward and weight-gradient passes of the 16 BFP 3x3 convs (first "
             "conv, shortcuts and last FC in FP32 and not counted; no memory stalls, no non-GEMM work). "
             "Speed-up over all-FB24 on the same array. The paper's 1.5-5.3x is measured against *other* "
             "accelerators with whole-system effects, so it is not the same ratio; this one isolates what the "
             "modes buy on the array alone.\n", *steps, ""]
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(text) + "\n")
        print(f"wrote {args.out}")
    if args.png:
        plot(per_layer, Path(args.png))
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

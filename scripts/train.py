#!/usr/bin/env python3
"""Train a small MLP on scikit-learn's handwritten digits with every GEMM through the bit-exact FlexBlock
model (the arithmetic: docs/spec.md; the training scheme: the paper's and its authors' simulator's, below).

    .venv/bin/python scripts/train.py                 # make train: every configuration x rounding x 3 seeds
    .venv/bin/python scripts/train.py --quick         # make train QUICK=1: 1 seed, 10 epochs (~30 s of CPU)
    .venv/bin/python scripts/train.py --configs FB24 DYN --roundings RTZ --seeds 5 --epochs 40

What runs through the model. The network is an MLP (default 64-32-32-10, ReLU, softmax cross-entropy), SGD
with momentum on FP32 master weights. Each layer's three GEMMs take BFP operands, each operand in its own
mode, blocks of K (16) along that product's own reduction axis, quantized from the FP32 tensors by the
model's conversion unit (`models.Fp2Bfp`, one per GEMM, A first, then B^T) and multiplied by
`models.bfp_gemm` (exact block dot products, binary32 accumulation): the binary32 result is exactly what
`pe_array` returns, i.e. `models.gemm`.
    forward       Z  = H  x W      operands fp.act (H), fp.w (W)
    back-prop     dH = dZ x W^T    operands bp.err (dZ), bp.w (W^T)   (not run for the first layer)
    weight grad.  dW = H^T x dZ    operands wg.act (H^T), wg.err (dZ)
Bias, ReLU, softmax / loss, momentum and the weight update stay FP32 (as in the authors' simulator).
Layers listed in --fp32-layers run their GEMMs in plain FP32 (the authors keep the first conv and the last
FC in FP32 in their ResNets). Default: none -- with only three layers, keeping the first and the last in
FP32 would leave a single BFP layer, so every layer is quantized here (--fp32-layers 0 2 gives the paper's
policy).

Configurations (the paper's, as in the authors' conf_net files): FB24, FB16, FB12 (one mode everywhere),
FB12LG16 / FB12LG24 (FB12 for the forward and weight-gradient operands, FB16 / FB24 for both operands of
the error back-propagation, as in BFPsim's bio_bit/biw_bit), FP32 (no BFP at all) and DYN: dynamic
precision control per layer and per GEMM operand (six per layer). DYN starts every operand at --dyn-start,
measures each operand's zero-setting error (ZSE: fraction of its nonzero FP32 inputs that the conversion,
in the operand's current mode, flushes to 0) at every training step, averages it over a window
(--dyn-window steps, default one epoch), then steps the operand one mode down (less precision) if the
mean ZSE < --zse-lo, up if > --zse-hi. Group shapes never change.

Rounding: RTZ (FlexBlock's truncation), RNE and SR (the model's LFSR stochastic rounding). Each BFP GEMM's
quantizer is seeded with a fresh 16-bit seed from the run's seed (recorded for replay).

Speed estimate: an analytic cycle count, not a simulation. A GEMM M x Kdim x N on the default 4 x 4 array
takes ceil(M/4) * ceil(N/4) tiles of ceil(Kdim/16) block pairs, each block pair (Wa/4)*(Wb/4)*K/16 PE cycles
(models.cycles_per_block); pipeline fill, operand feed and everything that is not a GEMM are ignored. Summed
over every training step's GEMMs (FP + BP + WG, not the evaluation passes) and divided by the same sum with
every operand in FB24. FP32 layers are counted as FB24 x FB24 (the array has no FP32 mode).

Other arithmetics: `--arith NAME ...` trains with another registered training arithmetic (an object with
`gemm(a, b, pass_, layer, step, seed)` / `cycles(...)`, models/training/arithmetics.py; default flexblock):
one more row per arithmetic (and policy) in the table, its cycles from its own cycle model, relative to the
same GEMMs in FlexBlock FB24 x FB24. --fp32-layers apply to every arithmetic.

The library: models/training (engine, network, precision control, report). Replay through the RTL:
`from models.training import training_gemms` returns the GEMMs the first training steps executed.
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # small matrices: one thread
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
try:
    import numpy  # noqa: E402, F401
except ImportError:  # the system Python: the packages live in the project's venv (make setup)
    sys.exit("scripts/train.py needs the project's venv: run it as `.venv/bin/python scripts/train.py ...` "
             "(or `make train [QUICK=1]`, which also creates the venv on first use)")
from models.bfp import MODE_BY_NAME  # noqa: E402
from models.training import ALL_CONFIGS, ROUNDINGS, TrainConfig, arithmetics, run  # noqa: E402
from models.training.data import digits  # noqa: E402
from models.training.report import build_report, plot, save_json  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 10 epochs, output in sim_build/")
    ap.add_argument("--arith", nargs="+", default=["flexblock"], choices=arithmetics.names(),
                    help="training arithmetics (models/training/arithmetics.py; default flexblock)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 3, quick 1)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 30, quick 10)")
    ap.add_argument("--configs", nargs="+", default=list(ALL_CONFIGS), choices=ALL_CONFIGS,
                    help="FlexBlock configurations (default all)")
    ap.add_argument("--roundings", nargs="+", default=list(ROUNDINGS), choices=("RTZ", "RNE", "RNA", "SR"))
    ap.add_argument("--fp32-layers", nargs="*", type=int, default=[],
                    help="layers whose GEMMs stay FP32 (paper's policy: 0 and the last); default none")
    ap.add_argument("--dyn-start", default="FB16", choices=("FB24", "FB16", "FB12"))
    ap.add_argument("--zse-lo", type=float, default=TrainConfig.zse_lo, help="DYN: step down below this ZSE")
    ap.add_argument("--zse-hi", type=float, default=TrainConfig.zse_hi, help="DYN: step up above this ZSE")
    ap.add_argument("--dyn-window", type=int, default=0, help="DYN: steps per ZSE window (0 = one epoch)")
    ap.add_argument("--batch", type=int, default=TrainConfig.batch)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--out", default=None,
                    help="output prefix for .md, .png, .json (default docs/results/training; quick: sim_build/training_quick)")
    args = ap.parse_args(argv)

    n_seeds = args.seeds or (1 if args.quick else 3)
    epochs = args.epochs or (10 if args.quick else TrainConfig.epochs)
    out = args.out or ("sim_build/training_quick" if args.quick else "docs/results/training")
    if args.zse_lo >= args.zse_hi:
        ap.error("--zse-lo must be below --zse-hi")
    cfg = TrainConfig(epochs=epochs, batch=args.batch, lr=args.lr, fp32_layers=tuple(args.fp32_layers),
                      dyn_start=MODE_BY_NAME[args.dyn_start], zse_lo=args.zse_lo, zse_hi=args.zse_hi,
                      dyn_window=args.dyn_window)
    roundings = list(dict.fromkeys(args.roundings))
    seeds = list(range(n_seeds))
    jobs, rows = [], []  # (arithmetic, policy, row label, rounding or "-", seed)
    for name in dict.fromkeys(args.arith):
        policies = arithmetics.REGISTRY[name].policies
        if name == "flexblock":
            policies = [c for c in policies if c in args.configs]
        for policy in policies:
            label = arithmetics.row_label(name, policy)
            rows.append(label)
            rds = roundings if arithmetics.takes_rounding(name, policy) else ["-"]
            jobs += [(name, policy, label, rd, s) for rd in rds for s in seeds]

    from tqdm import tqdm
    data = digits()
    t0 = time.perf_counter()
    results = []
    with tqdm(total=len(jobs) * cfg.epochs, unit="epoch", dynamic_ncols=True) as bar:
        for name, policy, label, rd, s in jobs:
            bar.set_description(f"{label:8s} {rd:3s} seed {s}")
            r = run(policy, rd, s, cfg, data=data, progress=bar, arith=name)
            r["config"], r["rounding"] = label, rd
            results.append(r)
    wall = time.perf_counter() - t0

    argv_s = "scripts/train.py" + ("" if argv is None and len(sys.argv) == 1 else
                                    " " + " ".join(sys.argv[1:] if argv is None else argv))
    report = build_report(results, cfg, rows, roundings, seeds, wall, argv_s)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".md", "w") as f:
        f.write(report + f"\n![test accuracy curves]({os.path.basename(out)}.png)\n")
    plot(results, rows, roundings, out + ".png", cfg)
    save_json(results, cfg, out + ".json")
    print(report)
    print(f"wall time {wall:.1f} s; wrote {out}.md, {out}.png and {out}.json")


if __name__ == "__main__":
    main()

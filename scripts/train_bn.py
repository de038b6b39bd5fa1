"""Train the small batch-norm CNN (models/training/bn_cnn.py) on the digits with FP32 BN, range BN and
LightNorm, over seeds; write docs/results/training_bn.{json,md,png}.

    .venv/bin/python scripts/train_bn.py [--seeds 0 1 2] [--epochs 4] [--lr 0.2] [--policy FB16]
    .venv/bin/python scripts/train_bn.py --quick   # smoke run (make test): seed 0, 2 epochs of 384 training
                                                   # images in batches of 16, output sim_build/training_bn_quick.*
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # small matrices: one thread
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.training import bn_cnn  # noqa: E402

OUT = ROOT / "docs/results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: seed 0, 2 epochs, 384 training images, "
                    "batch 16, output in sim_build/training_bn_quick")
    ap.add_argument("--batch", type=int, default=None, help="default 32 (quick: 16)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)")
    ap.add_argument("--epochs", type=int, default=None, help="default 20 (quick: 2)")
    ap.add_argument("--train-subset", type=int, default=None, help="train on this many images (quick: 384)")
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--policy", default="FB16", help="FlexBlock configuration of the GEMMs")
    ap.add_argument("--rounding", default="RTZ")
    ap.add_argument("--out", default=None, help="output prefix (default docs/results/training_bn; quick: "
                    "sim_build/training_bn_quick)")
    args = ap.parse_args(argv)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    args.epochs = args.epochs or (2 if args.quick else 20)
    args.train_subset = args.train_subset or (384 if args.quick else None)
    args.batch = args.batch or (16 if args.quick else 32)
    args.out = args.out or str(ROOT / "sim_build/training_bn_quick" if args.quick else OUT / "training_bn")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    runs = []
    t0 = time.time()
    for kind in bn_cnn.BN_KINDS:
        for seed in args.seeds:
            r = bn_cnn.run(kind, seed, args.epochs, args.policy, args.rounding, lr=args.lr, n_train=args.train_subset,
                           batch=args.batch)
            runs.append(r)
            print(f"{kind:10s} seed {seed}: acc {r['acc'][-1]:.4f} ({time.time() - t0:.0f} s)", flush=True)
    meta = {"epochs": args.epochs, "lr": args.lr, "policy": args.policy, "rounding": args.rounding,
            "train_subset": args.train_subset, "batch": args.batch,
            "seeds": args.seeds, "machine": platform.node(), "date": time.strftime("%Y-%m-%d"),
            "seconds": round(time.time() - t0)}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    lines = [f"# Batch-norm variants: small CNN on the digits (GEMMs in FlexBlock {args.policy}, {args.rounding})",
             "", f"`scripts/train_bn.py --epochs {args.epochs} --lr {args.lr} --seeds "
             f"{' '.join(map(str, args.seeds))}"
             + (f" --batch {args.batch}" if args.batch != 32 else "")
             + (f" --train-subset {args.train_subset}" if args.train_subset else "")
             + f"`; {len(args.seeds)} seeds; test accuracy after the last epoch, "
             "mean +- sample std (min..max).", "",
             "| BN | final test accuracy | min .. max | final training loss |", "|---|---|---|---|"]
    for kind in bn_cnn.BN_KINDS:
        a = np.array([r["acc"][-1] for r in runs if r["bn"] == kind])
        lo = np.array([r["loss"][-1] for r in runs if r["bn"] == kind])
        sd = a.std(ddof=1) if len(a) > 1 else 0.0
        lines.append(f"| {kind} | {a.mean():.4f} +- {sd:.4f} | {a.min():.4f} .. {a.max():.4f} | {lo.mean():.4f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for kind, col in zip(bn_cnn.BN_KINDS, ("C0", "C1", "C2")):
            acc = np.array([r["acc"] for r in runs if r["bn"] == kind])
            ep = np.arange(acc.shape[1])
            ax.plot(ep, acc.mean(axis=0), color=col, label=kind)
            ax.fill_between(ep, acc.min(axis=0), acc.max(axis=0), color=col, alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.set_title("BN CNN on digits: FP32 BN vs range BN vs LightNorm")
        ax.legend()
        fig.savefig(args.out + ".png", dpi=100, bbox_inches="tight")
    except ImportError:
        print("matplotlib missing: no curve")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Off-chip traffic of one batch-norm layer's forward pass, LightNorm (range_bn) vs the FP32 BN baseline
(bn_fp32): passes x bytes, from models.lightnorm.traffic_bytes (docs/spec.md "LightNorm", LN.4).

    .venv/bin/python scripts/bn_traffic.py [--batch 128] [--mode-bits 8] [--out docs/results/bn_traffic.md]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.lightnorm import range_bn_cycles, traffic_bytes  # noqa: E402

# (name, H, W, C): the BN layers of a CIFAR ResNet-20 stage each, and of a MobileNet-style 56x56 layer
LAYERS = [("ResNet-20 stage 1 (32x32x16)", 32, 32, 16), ("ResNet-20 stage 2 (16x16x32)", 16, 16, 32),
          ("ResNet-20 stage 3 (8x8x64)", 8, 8, 64), ("MobileNet-style (56x56x128)", 56, 56, 128)]


def table(batch: int, mode_bits: int) -> str:
    rows = ["| layer | n = B*H*W | FP32 BN: passes (MB) | FP32 BN total (MB) | LightNorm: passes (MB) | "
            "LightNorm total (MB) | ratio | range_bn cycles |", "|---|---:|---|---:|---|---:|---:|---:|"]
    for name, h, w, c in LAYERS:
        n = batch * h * w
        f, g = traffic_bytes(n, c, "fp32"), traffic_bytes(n, c, "lightnorm", mode_bits)
        fmt = lambda d: " + ".join(f"{v / 1e6:.2f}" for k, v in d.items() if k != "total")  # noqa: E731
        rows.append(f"| {name} | {n} | {fmt(f)} | {f['total'] / 1e6:.2f} | {fmt(g)} | {g['total'] / 1e6:.2f} | "
                    f"{f['total'] / g['total']:.2f}x | {range_bn_cycles(n, c)} |")
    return "\n".join(rows)


IN_FORMATS = [("fp10", "fp10", 8), ("FP32", "fp32", 8), ("BFP FB24", "bfp", 16), ("BFP FB16", "bfp", 8),
              ("BFP FB12", "bfp", 4)]


def table_formats(batch: int, mode_bits: int) -> str:
    """LightNorm's total per input format (docs/spec.md LN.4a: read twice in the stored format, converted
    to fp10 in the unit) against FP32 BN."""
    rows = ["| layer | FP32 BN (MB) | " + " | ".join(f"LightNorm, {name} in (MB)" for name, _, _ in IN_FORMATS)
            + " |", "|---|---:|" + "---:|" * len(IN_FORMATS)]
    for name, h, w, c in LAYERS:
        n = batch * h * w
        f = traffic_bytes(n, c, "fp32")["total"]
        cells = [traffic_bytes(n, c, "lightnorm", mode_bits, fmt, wi)["total"] for _, fmt, wi in IN_FORMATS]
        rows.append(f"| {name} | {f / 1e6:.2f} | " + " | ".join(f"{g / 1e6:.2f} ({f / g:.2f}x)" for g in cells) + " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--mode-bits", type=int, default=8, help="BFP magnitude bits of the output (16/8/4)")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    text = (f"# BN layer off-chip traffic, forward pass (batch {args.batch}, LightNorm output in BFP with "
            f"{args.mode_bits}-bit magnitudes)\n\nPasses: stats (read x) + normalize (read x) + normalize "
            f"(write y). FP32 BN: binary32 in and out; LightNorm: fp10 in, BFP out (8 channels per group).\n\n"
            + table(args.batch, args.mode_bits) + "\n\n## By input format\n\nrange_bn reads its input in the format the "
            "producer stored (cfg_fmt, docs/spec.md LN.4a) in both passes and converts it to fp10 on entry: bytes "
            "per element read per pass fp10 1.25, FP32 4, BFP (8 + 8 (1 + W)) / 64 = 2.25 / 1.25 / 0.75 "
            "(FB24 / FB16 / FB12). Total per layer (ratio: FP32 BN / LightNorm):\n\n"
            + table_formats(args.batch, args.mode_bits) + "\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

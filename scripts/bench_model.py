#!/usr/bin/env python3
"""Throughput of the numpy reference model (models/): FP32 -> BFP conversion, BFP GEMM, and the speed-up of
the vectorized conversion over a straightforward per-element pure-Python one.

    .venv/bin/python scripts/bench_model.py            # 1M-value conversions, 256^3 GEMMs
    .venv/bin/python scripts/bench_model.py --quick    # smaller sizes, fewer repeats

Prints best-of-N wall times; asserts nothing about time (only that the pure-Python baseline computes the
same bits as the model, so the speed-up compares like with like).
"""
from __future__ import annotations

import argparse
import os
import platform
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import models as fb  # noqa: E402
from models.bfp import MODE_NAMES  # noqa: E402
from models.fp2bfp import ROUNDING_NAMES  # noqa: E402


def best_of(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def quantize_pure_python(values, w: int, rounding: int, block: int):
    """A straightforward per-element conversion (RTZ / RNE / RNA) from the spec's integer recipe: for each
    block find E, then shift and round each element's significand. Returns (exps, signs, mags) lists."""
    exps, signs, mags = [], [], []
    top = (1 << w) - 1
    values = list(values) + [0.0] * (-len(values) % block)  # zero-padded to whole blocks, like the model
    for j in range(0, len(values), block):
        chunk = values[j:j + block]
        fields = []
        e_max = 0
        for v in chunk:
            b = struct.unpack("<I", struct.pack("<f", v))[0]
            s, e, f = b >> 31, (b >> 23) & 0xFF, b & 0x7FFFFF
            if e == 255:
                kind, e_eff = ("nan", 0) if f else ("inf", 254)
            elif e == 0:
                kind, e_eff = "fin", (1 if f else 0)
            else:
                kind, e_eff = "fin", e
            if kind != "nan":
                e_max = max(e_max, e_eff)
            fields.append((kind, s, e_eff, f if e == 0 else f | (1 << 23)))
        exps.append(e_max)
        for kind, s, e_eff, sig in fields:
            if kind == "nan":
                q, s = 0, 0
            elif kind == "inf":
                q = top
            else:
                sh = e_max - e_eff + 24 - w
                q = sig >> sh
                rem = sig - (q << sh)
                half = 1 << (sh - 1)
                if rounding == fb.RNE and (rem > half or (rem == half and q & 1)):
                    q += 1
                elif rounding == fb.RNA and rem >= half:
                    q += 1
                q = min(q, top)
            signs.append(s if q else 0)
            mags.append(q)
    return exps, signs, mags


def fmt_rate(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:7.2f} {unit}"
    return f"{x:7.2f}  "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (best is kept)")
    ap.add_argument("--block", type=int, default=16, help="block size K (default 16, the RTL default)")
    args = ap.parse_args()

    n_quant = 100_000 if args.quick else 1_000_000
    n_py = 5_000 if args.quick else 20_000
    dim = 64 if args.quick else 256
    repeats = args.repeats or (3 if args.quick else 5)
    k = args.block

    rng = np.random.default_rng(2023)
    # training-like data: N(0, 1) with a per-block scale spread, so blocks have mixed exponents
    x = (rng.standard_normal(n_quant) * 2.0 ** rng.integers(-8, 8, n_quant)).astype(np.float32)

    print(f"FlexBlock model benchmark  (numpy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, K={k}, best of {repeats})")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (times vary with load)")
    print()
    print(f"FP32 -> BFP quantize, {n_quant:,} values")
    print(f"  {'mode':5s} {'round':5s} {'time ms':>9s} {'values/s':>10s}")
    results = {}
    for mode in (fb.FB24, fb.FB16, fb.FB12):
        for rounding in (fb.RTZ, fb.RNE, fb.RNA, fb.SR):
            t = best_of(lambda: fb.quantize(x, mode, rounding, k), repeats)
            results[(mode, rounding)] = t
            print(f"  {MODE_NAMES[mode]:5s} {ROUNDING_NAMES[rounding]:5s} {t * 1e3:9.2f} {fmt_rate(n_quant / t)}/s")
    q16 = fb.quantize(x, fb.FB16, fb.RNE, k)
    t = best_of(lambda: q16.to_float32(), repeats)
    print(f"  FB16  decode {t * 1e3:9.2f} {fmt_rate(n_quant / t)}/s  (BFPTensor.to_float32)")
    t = best_of(lambda: fb.requantize(fb.quantize(x, fb.FB24, fb.RTZ, k), fb.FB12, merge=2), repeats)
    print(f"  FB24->FB12 quantize+requantize(merge=2) {t * 1e3:9.2f} ms")

    print()
    print(f"Vectorized vs per-element pure Python, FB16 RNE, {n_py:,} values")
    xs = x[:n_py]
    xs_list = xs.tolist()
    t_py = best_of(lambda: quantize_pure_python(xs_list, 8, fb.RNE, k), max(1, repeats // 2))
    t_np = best_of(lambda: fb.quantize(xs, fb.FB16, fb.RNE, k), repeats)
    e, s, m = quantize_pure_python(xs_list, 8, fb.RNE, k)
    q = fb.quantize(xs, fb.FB16, fb.RNE, k)
    same = (q.exp.tolist() == e and q.sign.reshape(-1).tolist() == s and q.mag.reshape(-1).tolist() == m)
    if not same:
        raise SystemExit("pure-Python baseline disagrees with the model: the comparison is meaningless")
    t_1m = results[(fb.FB16, fb.RNE)]
    print(f"  pure Python {t_py * 1e3:9.2f} ms  {fmt_rate(n_py / t_py)}/s  (same bits as the model: yes)")
    print(f"  numpy model {t_np * 1e3:9.2f} ms  {fmt_rate(n_py / t_np)}/s  -> speed-up x{t_py / t_np:,.0f} "
          f"at {n_py:,} values, x{(t_py / n_py) / (t_1m / n_quant):,.0f} at {n_quant:,}")

    print()
    print(f"BFP GEMM {dim}x{dim}x{dim} (blocks along the {dim}-long reduction axis)")
    print(f"  {'A x B':11s} {'bfp_gemm ms':>11s} {'MAC/s':>10s} {'gemm ms':>9s} {'MAC/s':>10s}  (gemm = quantize both + bfp_gemm)")
    a = rng.standard_normal((dim, dim)).astype(np.float32)
    b = rng.standard_normal((dim, dim)).astype(np.float32)
    macs = dim ** 3
    for ma, mb in ((fb.FB24, fb.FB24), (fb.FB16, fb.FB16), (fb.FB12, fb.FB12), (fb.FB16, fb.FB12),
                   (fb.FB24, fb.FB12)):
        qa = fb.quantize(a, ma, fb.RNE, k)
        qb = fb.quantize(b.T, mb, fb.RNE, k)
        t_b = best_of(lambda: fb.bfp_gemm(qa, qb), repeats)
        t_g = best_of(lambda: fb.gemm(a, b, ma, mb, fb.RNE, k), repeats)
        print(f"  {MODE_NAMES[ma]}x{MODE_NAMES[mb]:6s} {t_b * 1e3:11.2f} {fmt_rate(macs / t_b)}/s "
              f"{t_g * 1e3:9.2f} {fmt_rate(macs / t_g)}/s")
    t = best_of(lambda: a @ b, repeats)
    print(f"  (float32 numpy a @ b for scale: {t * 1e3:.3f} ms, {fmt_rate(macs / t)}MAC/s)")


if __name__ == "__main__":
    main()

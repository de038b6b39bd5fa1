"""models.fp_mac (the FP8 / FP32 MAC that Block Minifloat's area claim is measured against) against the
oracle: operand values exact as Fractions from their bits, products exact, every binary32 rounding by
oracle.round_f32 / oracle.accumulate (Python ints and Fractions, never numpy)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from models import fp_mac
from models.bfp import FLAG_INVALID, FLAG_OVERFLOW

from . import oracle


def o_operand(bits: int, e: int, m: int) -> tuple[str, Fraction]:
    s, field, frac = bits >> (e + m) & 1, (bits >> m) & ((1 << e) - 1), bits & ((1 << m) - 1)
    if field == (1 << e) - 1:
        return ("nan" if frac else "inf"), Fraction(0)
    bias = (1 << (e - 1)) - 1
    v = Fraction(frac) * oracle.pow2(1 - bias - m) if field == 0 else \
        Fraction((1 << m) + frac) * oracle.pow2(field - bias - m)
    return ("zero" if v == 0 else "finite"), (-v if s else v)


def o_mac(a: list[int], b: list[int], e: int, m: int) -> tuple[int, int]:
    terms, flags = [], 0
    for x, y in zip(a, b):
        (kx, vx), (ky, vy) = o_operand(x, e, m), o_operand(y, e, m)
        if "nan" in (kx, ky) or (kx == "inf" and ky == "zero") or (ky == "inf" and kx == "zero"):
            flags |= FLAG_INVALID
        elif "inf" in (kx, ky):
            flags |= FLAG_OVERFLOW
        else:
            p = vx * vy
            terms.append(0 if p == 0 else oracle.round_f32(p))
            continue
        terms.append(0)
    return oracle.accumulate(terms, flags)


@pytest.mark.parametrize("fmt", [fp_mac.FP8_E4M3, fp_mac.FP32, (5, 2)], ids=["e4m3", "fp32", "e5m2"])
def test_mac_matches_oracle(fmt, rng):
    e, m = fmt
    w = 1 + e + m
    for _ in range(300):
        t = int(rng.integers(1, 9))
        kind = rng.random()
        if kind < 0.5:  # any bit pattern: every class (zero, subnormal, normal, Inf, NaN)
            a, b = rng.integers(0, 1 << w, t), rng.integers(0, 1 << w, t)
        elif kind < 0.75:  # subnormal operands only
            a = rng.integers(0, 1 << m, t) | (rng.integers(0, 2, t) << (w - 1))
            b = rng.integers(0, 1 << w, t)
        else:  # exponents near the top: products beyond binary32 for FP32 operands, sums overflowing
            top = (1 << e) - 2
            a = (rng.integers(0, 2, t) << (w - 1)) | (top << m) | rng.integers(0, 1 << m, t)
            b = (rng.integers(0, 2, t) << (w - 1)) | (rng.integers(max(1, top - 2), top + 1, t) << m)
        a, b = a.astype(np.int64), b.astype(np.int64)
        assert fp_mac.mac(a, b, e, m) == o_mac([int(x) for x in a], [int(y) for y in b], e, m), (a, b)


def test_fp32_tiny_products_round_once(rng):
    """FP32 products below binary32's normal range are rounded once (to a subnormal or zero)."""
    e, m = fp_mac.FP32
    a = np.array([0x1F80_0001, 0x0080_0000, 0x0000_0001], np.int64)  # 2^-64 (1 + 2^-23), 2^-126, 2^-149
    b = np.array([0x1F00_0003, 0x3F00_0000, 0x3F00_0000], np.int64)  # 2^-65 (1 + 3 * 2^-23), 0.5, 0.5
    for i in range(3):
        assert fp_mac.mac(a[i:i + 1], b[i:i + 1], e, m) == o_mac([int(a[i])], [int(b[i])], e, m)
